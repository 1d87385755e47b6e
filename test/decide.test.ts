import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import {
  decideAuthFailure, decideCandidateFailed, decideDiagnosed, decideProxyFailure, decideFollow, decideHttp11Required, decidePostHandshakeAuth, decideUndiagnosed,
  decideMissingIntermediate, decideStoredIntermediatesFailed, giveUp, learnsOnSuccess, mayHoldBack, mayLearn, notReplayable, routeFailure, stackCannotWork,
  decideTooLarge, DEFAULT_PRIMING_BODY_LIMIT, needsPriming, originMayRenegotiate, resendAfterPriming,
  type DiagnosedInput, type DiagnosedStep, type FollowInput, type Http11Input, type LearnInput, type PostHandshakeAuthInput,
  type TooLargeInput, type UndiagnosedInput, type UploadOrigin
} from '../src/decide.ts'
import { diagnose, postHandshakeAuthDiagnosis, type ConnectionSnapshot, type Diagnosis, type FingerprintId } from '../src/fingerprint.ts'
import { replayVerdict, requestIsIdempotent } from '../src/replay-policy.ts'
import { DEFAULT_FALLBACK, type FallbackStack, type StackName } from '../src/stacks.ts'
import { iisSnapshot } from './helpers/snapshots.ts'

// The decisions of src/decide.ts, table by table, without a socket. Each row names the row of the
// security table (docs/security.md) it stands for; the last test checks that every row of that table is
// either covered here or named as one that is not a decision (I/O), with the test that covers it.

const ROW = {
  forgeable: 'No downgrade on forgeable evidence.',
  window: 'Evidence only from one request\'s byte window, measured at one layer.',
  messages: 'Evidence comes from codes and structured fields, never from message text.',
  declined: 'A declined renegotiation is the server\'s own request; the reset after it is not evidence of anything.',
  http2: 'HTTP/2: only an unprocessed stream goes again whatever its method.',
  acted: 'A renegotiation asked for after the handler acted is not answered with a replay.',
  consent: 'Legacy server connect needs consent per host, whatever the cache says.',
  certificates: 'Certificate verification is identical on every stack.',
  hidden: 'Real errors are never hidden.',
  duplicated: 'Nothing lost, nothing duplicated.',
  hello: 'One forged hello teaches nothing.',
  pha: 'A 403 moves nothing unless it is the server\'s own post-handshake-auth answer over TLS 1.3.',
  others: 'Detection leaves other responses alone.',
  proxy: 'A proxy\'s failure is never a fingerprint.',
  aia: 'A fetched intermediate is never trusted, and is fetched only when asked.',
  uploads: 'A priming request sends nothing the caller did not, and a 413 moves nothing.',
  resend: 'A 413 sends a request again only when a renegotiation shows it was the buffer\'s.',
  storedAia: 'An intermediate read back from a store is outside text: checked, bounded, and fetched over when it fails.',
  auth: 'An authentication failure is never a fingerprint.'
} as const

/** Rows that guard I/O, not a decision: where they are tested instead. */
const NOT_A_DECISION: Record<string, string> = {
  'The cold-start gate is never held by a request that already ended.': 'test/lifecycle.test.ts',
  'No secrets in telemetry.': 'test/telemetry.test.ts, test/cli.test.ts',
  'OpenTelemetry exports no secret and stays bounded.': 'test/opentelemetry.test.ts',
  'The policies command never prints a credential the user gave.': 'test/policies-cli.test.ts',
  'The CLI survives what the agents survive, and escapes what it shows.': 'test/policies-cli.test.ts, test/cli-render.test.ts',
  'A store is a hint.': 'test/stores.test.ts, test/fuzz.test.ts',
  'A store entry is data, read once and capped.': 'test/store-entries.test.ts',
  'A store cannot make a process hold what it sends.': 'test/store-limits.test.ts',
  'Store warnings cannot forge log lines or flood.': 'test/store-limits.test.ts',
  'A policy file only its user can change.': 'test/store-limits.test.ts',
  'No secrets in errors or in the probe\'s output.': 'test/options.test.ts, test/cli.test.ts',
  'An AIA fetch takes the user\'s http: proxy rules, and gives a proxy only its own credentials.': 'test/certs-aia-proxy.test.ts',
  'Bad input fails at construction': 'test/options.test.ts',
  'Credentials go only where they were configured.': 'test/auth-origin-ntlm.test.ts, test/auth-options.test.ts, test/auth-origin-kerberos.test.ts',
  'Clean lifecycle.': 'test/lifecycle.test.ts',
  'Closing releases connections, not knowledge.': 'test/lifecycle.test.ts, test/stores.test.ts',
  'A new replica uses the fleet\'s policy from its first request.': 'test/stores.test.ts',
  'Evidence through a tunnel is the origin\'s only.': 'test/proxy.test.ts',
  'Proxy credentials are never shown.': 'test/proxy-options.test.ts, test/proxy.test.ts, test/proxy-cli.test.ts',
  'Proxy authentication (`proxy.auth`) stays with its proxy, ends, and moves nothing.': 'test/proxy-auth-ntlm.test.ts, test/proxy-auth-kerberos.test.ts, test/proxy-auth-hostile.test.ts, test/proxy-auth-options.test.ts',
  'Authentication pools are bounded.': 'test/auth-pools-bound.test.ts',
  'A SOCKS5 request goes where it says, or nowhere.': 'test/socks5-fields.test.ts',
  'Every TLS client verifies the identity the user named.': 'test/ip-identity.test.ts',
  'An authentication challenge is hostile input': 'test/auth-ntlm.test.ts, test/auth-challenge.test.ts',
  'NTLM is NTLMv2 only, bound to its messages and its TLS channel.': 'test/auth-ntlm.test.ts',
  'Kerberos: single-use tokens and mutual authentication.': 'test/auth-negotiate.test.ts',
  'A legacy PKCS#12 changes nothing process-wide, and its passphrase is never echoed.': 'test/certs-pkcs12.test.ts'
}

const covered = new Map<string, number>()
function row (name: string, title: string): string {
  covered.set(name, (covered.get(name) ?? 0) + 1)
  return `${name} — ${title}`
}

function dx (fingerprint: FingerprintId, verified: boolean, requestUnprocessed?: boolean): Diagnosis {
  return {
    fingerprint,
    ...(requestUnprocessed === undefined ? {} : { requestUnprocessed }),
    evidence: {
      errorCode: 'ECONNRESET',
      tlsVersion: 'TLSv1.2',
      cipher: null,
      bytesReceived: 0,
      bytesSent: 0,
      plaintextReceived: 0,
      verified,
      summary: 'test'
    }
  }
}

function failure (code: string, message = 'failed'): Error & { code?: string } {
  return Object.assign(new Error(message), { code })
}

const WITH_LEGACY: FallbackStack[] = ['tls13', 'renegotiation', 'legacy-server-connect']

function diagnosed (overrides: Partial<DiagnosedInput> & { diagnosis: Diagnosis }): DiagnosedStep {
  return decideDiagnosed({
    fallback: DEFAULT_FALLBACK,
    connection: { offeredTls13: true, protocol: 'TLSv1.2' },
    ladderRunning: false,
    http1Only: false,
    idempotent: false,
    replayNonIdempotent: false,
    bodyReplayable: true,
    ...overrides
  })
}

describe('the first diagnosis: ladder, give up, or not replayed', () => {
  const cases: Array<{ title: string, input: Partial<DiagnosedInput> & { diagnosis: Diagnosis }, expect: DiagnosedStep }> = [
    {
      title: row(ROW.acted, 'a POST after a verified renegotiation-refused is not replayed; the policy is learned'),
      input: { diagnosis: dx('renegotiation-refused', true) },
      expect: { kind: 'fail', error: 'NOT_REPLAYED', learn: { stack: 'renegotiation', http1Only: false }, candidates: ['renegotiation'] }
    },
    {
      title: row(ROW.acted, 'a POST with replayNonIdempotent goes up the ladder after verified evidence'),
      input: { diagnosis: dx('renegotiation-refused', true), replayNonIdempotent: true },
      expect: { kind: 'ladder', candidates: ['renegotiation'], confirmLegacy: false }
    },
    {
      title: row(ROW.acted, 'an idempotent request (GET, idempotent: true or Idempotency-Key) goes up the ladder'),
      input: { diagnosis: dx('renegotiation-refused', true), idempotent: true },
      expect: { kind: 'ladder', candidates: ['renegotiation'], confirmLegacy: false }
    },
    {
      title: row(ROW.acted, 'a POST whose handshake failed (the request never left) goes to the consented stack'),
      input: { diagnosis: dx('unsafe-legacy-renegotiation', false, true), fallback: WITH_LEGACY },
      expect: { kind: 'ladder', candidates: ['legacy-server-connect'], confirmLegacy: true }
    },
    {
      title: row(ROW.window, 'a POST on unverified evidence is never replayed, even with replayNonIdempotent, and nothing is learned'),
      input: { diagnosis: dx('renegotiation-refused', false), replayNonIdempotent: true },
      expect: { kind: 'fail', error: 'original', learn: undefined, candidates: ['renegotiation'] }
    },
    {
      title: row(ROW.forgeable, 'an idempotent request on unverified evidence is replayed, but the ladder learns only on proof (see mayLearn)'),
      input: { diagnosis: dx('renegotiation-refused', false), idempotent: true },
      expect: { kind: 'ladder', candidates: ['renegotiation'], confirmLegacy: false }
    },
    {
      title: row(ROW.forgeable, 'tls13 is tried first when the failed connection did not offer TLS 1.3'),
      input: { diagnosis: dx('renegotiation-refused', true), idempotent: true, connection: { offeredTls13: false, protocol: 'TLSv1.2' } },
      expect: { kind: 'ladder', candidates: ['tls13', 'renegotiation'], confirmLegacy: false }
    },
    {
      title: row(ROW.consent, 'unsafe-legacy-renegotiation on a host that does not list legacy-server-connect: NOT_ALLOWED'),
      input: { diagnosis: dx('unsafe-legacy-renegotiation', false, true), idempotent: true },
      expect: { kind: 'fail', error: 'NOT_ALLOWED', candidates: [] }
    },
    {
      title: row(ROW.consent, 'renegotiation-refused on a host whose fallback is [tls13] and a hello that offered 1.3: NOT_ALLOWED'),
      input: { diagnosis: dx('renegotiation-refused', true), idempotent: true, fallback: ['tls13'] },
      expect: { kind: 'fail', error: 'NOT_ALLOWED', candidates: [] }
    },
    {
      title: row(ROW.hello, 'a strict refusal without RFC 5746 asks for a completed handshake before anything is learned'),
      input: { diagnosis: dx('unsafe-legacy-renegotiation', false, true), fallback: WITH_LEGACY, idempotent: true },
      expect: { kind: 'ladder', candidates: ['legacy-server-connect'], confirmLegacy: true }
    },
    {
      title: row(ROW.duplicated, 'a body that cannot be sent again fails with BODY_NOT_REPLAYABLE; verified evidence still teaches the stack'),
      input: { diagnosis: dx('renegotiation-refused', true), idempotent: true, bodyReplayable: false },
      expect: { kind: 'fail', error: 'BODY_NOT_REPLAYABLE', learn: { stack: 'renegotiation', http1Only: false }, candidates: ['renegotiation'] }
    },
    {
      title: row(ROW.duplicated, 'a body that cannot be sent again after unverified evidence: BODY_NOT_REPLAYABLE, nothing learned'),
      input: { diagnosis: dx('renegotiation-refused', false), idempotent: true, bodyReplayable: false },
      expect: { kind: 'fail', error: 'BODY_NOT_REPLAYABLE', learn: undefined, candidates: ['renegotiation'] }
    },
    {
      title: 'a learned policy keeps the request\'s HTTP/1.1 flag',
      input: { diagnosis: dx('renegotiation-refused', true), http1Only: true },
      expect: { kind: 'fail', error: 'NOT_REPLAYED', learn: { stack: 'renegotiation', http1Only: true }, candidates: ['renegotiation'] }
    },
    {
      title: 'a renegotiation for a client certificate the host lacks is the caller\'s to fix, ladder or not',
      input: { diagnosis: dx('client-certificate-required', true), ladderRunning: true },
      expect: { kind: 'fail', error: 'CLIENT_CERTIFICATE_REQUIRED' }
    },
    {
      title: 'another request\'s ladder for the origin is followed instead of starting a second one',
      input: { diagnosis: dx('renegotiation-refused', true), ladderRunning: true },
      expect: { kind: 'follow-ladder' }
    },
    {
      title: row(ROW.pha, 'post-handshake-auth-required goes to renegotiation (TLS 1.2) for any method'),
      input: { diagnosis: postHandshakeAuthDiagnosis({ protocol: 'TLSv1.3', cipher: null }, 60) },
      expect: { kind: 'ladder', candidates: ['renegotiation'], confirmLegacy: false }
    }
  ]
  for (const { title, input, expect } of cases) {
    test(title, () => {
      assert.deepEqual(diagnosed(input), expect)
    })
  }
})

describe('HTTP/2 refused for the request (http11-required)', () => {
  const base: Http11Input = {
    diagnosis: dx('http11-required', true, false),
    stack: 'strict',
    pinned: false,
    inLadder: false,
    idempotent: false,
    replayNonIdempotent: false,
    bodyReplayable: true
  }
  const learned = { stack: 'strict', http1Only: true } as const
  const cases: Array<{ title: string, input: Partial<Http11Input>, expect: ReturnType<typeof decideHttp11Required> }> = [
    {
      title: row(ROW.http2, 'a POST above a GOAWAY\'s last-stream-id goes again over HTTP/1.1'),
      input: { diagnosis: dx('http11-required', true, true) },
      expect: { kind: 'replay', stack: 'strict', http1Only: true, reason: 'fallback', learn: learned }
    },
    {
      title: row(ROW.http2, 'a POST a GOAWAY\'s last-stream-id covers is not sent again; the origin learns HTTP/1.1'),
      input: {},
      expect: { kind: 'fail', error: 'NOT_REPLAYED', learn: learned }
    },
    {
      title: row(ROW.http2, 'a POST refused by RST_STREAM(HTTP_1_1_REQUIRED) is not sent again'),
      input: { diagnosis: dx('http11-required', true) },
      expect: { kind: 'fail', error: 'NOT_REPLAYED', learn: learned }
    },
    {
      title: row(ROW.http2, 'a POST with an Idempotency-Key refused by RST_STREAM goes again over HTTP/1.1'),
      input: { diagnosis: dx('http11-required', true), idempotent: requestIsIdempotent('POST', undefined, { 'Idempotency-Key': 'k' }) },
      expect: { kind: 'replay', stack: 'strict', http1Only: true, reason: 'fallback', learn: learned }
    },
    {
      title: row(ROW.duplicated, 'a GET whose stream body cannot be sent again: BODY_NOT_REPLAYABLE, HTTP/1.1 still learned'),
      input: { idempotent: true, bodyReplayable: false },
      expect: { kind: 'fail', error: 'BODY_NOT_REPLAYABLE', learn: learned }
    },
    {
      title: 'inside a ladder the request goes over HTTP/1.1 on the ladder\'s stack and nothing is learned yet',
      input: { stack: 'renegotiation', inLadder: true, idempotent: true },
      expect: { kind: 'replay', stack: 'renegotiation', http1Only: true, reason: 'fallback', learn: undefined }
    },
    {
      title: 'a pinned host learns nothing',
      input: { pinned: true, idempotent: true },
      expect: { kind: 'replay', stack: 'strict', http1Only: true, reason: 'fallback', learn: undefined }
    }
  ]
  for (const { title, input, expect } of cases) {
    test(title, () => {
      assert.deepEqual(decideHttp11Required({ ...base, ...input }), expect)
    })
  }
})

describe('no fingerprint: the original error, after at most a same-stack retry', () => {
  const base: UndiagnosedInput = {
    fromPolicy: false,
    stack: 'strict',
    http1Only: false,
    ruleHttp1Only: false,
    handshakeComplete: true,
    plainRead: 0,
    cannotWork: true,
    connectionClosed: true,
    retriesLeft: 1,
    idempotent: true,
    bodyReplayable: true
  }
  const retry = { kind: 'replay', stack: 'strict', http1Only: false, reason: 'retry' } as const
  const original = { kind: 'fail', error: 'original' } as const
  const cases: Array<{ title: string, input: Partial<UndiagnosedInput>, expect: ReturnType<typeof decideUndiagnosed> }> = [
    { title: row(ROW.forgeable, 'a bare reset of a GET: one retry on the same stack, never another stack'), input: {}, expect: retry },
    { title: row(ROW.forgeable, 'a bare reset once the retry is spent: the original error'), input: { retriesLeft: 0 }, expect: original },
    { title: row(ROW.duplicated, 'a reset POST is not sent again'), input: { idempotent: false }, expect: original },
    { title: row(ROW.duplicated, 'a reset after response bytes arrived is not sent again'), input: { plainRead: 12 }, expect: original },
    { title: row(ROW.duplicated, 'a reset GET whose stream body cannot be sent again is not retried'), input: { bodyReplayable: false }, expect: original },
    {
      title: row(ROW.hidden, 'a refused connection reaches the caller as it is'),
      input: { handshakeComplete: undefined, plainRead: undefined, cannotWork: false, connectionClosed: false },
      expect: original
    },
    {
      title: row(ROW.hidden, 'a connect timeout on strict reaches the caller as it is'),
      input: { handshakeComplete: false, cannotWork: true, connectionClosed: false },
      expect: original
    },
    {
      title: row(ROW.certificates, 'a certificate error on a learned stack neither retries nor drops the policy'),
      input: { fromPolicy: true, stack: 'renegotiation', handshakeComplete: false, cannotWork: false, connectionClosed: false },
      expect: original
    },
    {
      title: 'a learned stack whose handshake fails (the server changed) is dropped: the request starts again from strict',
      input: { fromPolicy: true, stack: 'renegotiation', http1Only: true, ruleHttp1Only: false, handshakeComplete: false, connectionClosed: false },
      expect: { kind: 'replay', stack: 'strict', http1Only: false, reason: 'revalidate' }
    },
    {
      title: row(ROW.forgeable, 'a reset on a learned stack is not taken as a changed server (a reset is forgeable)'),
      input: { fromPolicy: true, stack: 'renegotiation', handshakeComplete: false, plainRead: 0 },
      expect: { kind: 'replay', stack: 'renegotiation', http1Only: false, reason: 'retry' }
    }
  ]
  for (const { title, input, expect } of cases) {
    test(title, () => {
      assert.deepEqual(decideUndiagnosed({ ...base, ...input }), expect)
    })
  }
})

describe('a stack of the ladder failed', () => {
  const cases: Array<{ title: string, fingerprint: FingerprintId | undefined, error: Error & { code?: string }, expect: ReturnType<typeof decideCandidateFailed> }> = [
    { title: row(ROW.certificates, 'an unknown CA is not a reason to try another stack'), fingerprint: undefined, error: failure('UNABLE_TO_GET_ISSUER_CERT_LOCALLY'), expect: { kind: 'fail', error: 'original' } },
    { title: row(ROW.certificates, 'a wrong host name is not a reason to try another stack'), fingerprint: undefined, error: failure('ERR_TLS_CERT_ALTNAME_INVALID'), expect: { kind: 'fail', error: 'original' } },
    { title: row(ROW.certificates, 'an expired certificate is not a reason to try another stack'), fingerprint: undefined, error: failure('CERT_HAS_EXPIRED'), expect: { kind: 'fail', error: 'original' } },
    { title: row(ROW.hidden, 'a refused connection on a fallback stack reaches the caller as it is'), fingerprint: undefined, error: failure('ECONNREFUSED'), expect: { kind: 'fail', error: 'original' } },
    { title: row(ROW.hidden, 'an unresolvable name reaches the caller as it is'), fingerprint: undefined, error: failure('ENOTFOUND'), expect: { kind: 'fail', error: 'original' } },
    { title: 'a reset on a fallback stack moves to the next stack', fingerprint: undefined, error: failure('ECONNRESET'), expect: { kind: 'next' } },
    { title: 'a TLS error of the stack itself moves to the next stack', fingerprint: undefined, error: failure('ERR_SSL_UNSUPPORTED_PROTOCOL'), expect: { kind: 'next' } },
    { title: 'a connect timeout on a fallback stack moves to the next stack', fingerprint: undefined, error: failure('UND_ERR_CONNECT_TIMEOUT'), expect: { kind: 'next' } },
    { title: 'the renegotiation stack meets a request for a client certificate the host lacks', fingerprint: 'client-certificate-required', error: failure('ECONNRESET'), expect: { kind: 'fail', error: 'CLIENT_CERTIFICATE_REQUIRED' } }
  ]
  for (const { title, fingerprint, error, expect } of cases) {
    test(title, () => {
      assert.deepEqual(decideCandidateFailed(fingerprint, stackCannotWork(error)), expect)
    })
  }
})

describe('where a failed attempt is handled', () => {
  const cases: Array<[string, FingerprintId | undefined, boolean, boolean, boolean, ReturnType<typeof routeFailure>]> = [
    ['an HTTP/2 refusal comes first', 'http11-required', false, false, true, 'http11-required'],
    ['an HTTP/2 refusal over HTTP/1.1 already is a stack failure of the ladder', 'http11-required', true, false, true, 'candidate'],
    ['a pinned host detects nothing', undefined, false, true, false, 'undiagnosed'],
    ['no fingerprint outside a ladder', undefined, false, false, false, 'undiagnosed'],
    ['a fingerprint outside a ladder starts one', 'renegotiation-refused', false, false, false, 'diagnosed'],
    ['inside a ladder, any failure is the stack\'s', undefined, false, false, true, 'candidate']
  ]
  for (const [title, fingerprint, http1Only, pinned, inLadder, expect] of cases) {
    test(title, () => {
      assert.equal(routeFailure(fingerprint, http1Only, pinned, inLadder), expect)
    })
  }
})

describe('following the ladder another request ran', () => {
  const base: FollowInput = {
    diagnosis: dx('renegotiation-refused', true),
    policy: { stack: 'renegotiation' },
    stack: 'strict',
    ruleHttp1Only: false,
    candidates: [],
    http1Only: false,
    idempotent: true,
    replayNonIdempotent: false,
    bodyReplayable: true
  }
  const cases: Array<{ title: string, input: Partial<FollowInput>, expect: ReturnType<typeof decideFollow> }> = [
    { title: 'the learned stack is used at once', input: {}, expect: { kind: 'replay', stack: 'renegotiation', http1Only: false, reason: 'fallback' } },
    { title: 'the learned HTTP/1.1 flag comes along', input: { policy: { stack: 'renegotiation', http1Only: true } }, expect: { kind: 'replay', stack: 'renegotiation', http1Only: true, reason: 'fallback' } },
    { title: 'no policy learned: the request decides on its own diagnosis', input: { policy: undefined }, expect: { kind: 'diagnose' } },
    { title: 'a policy naming the stack that failed: the request decides on its own diagnosis', input: { policy: { stack: 'strict' } }, expect: { kind: 'diagnose' } },
    { title: row(ROW.acted, 'a POST that followed a ladder is not sent again either'), input: { idempotent: false }, expect: { kind: 'fail', error: 'NOT_REPLAYED', learn: undefined } },
    { title: row(ROW.window, 'a POST on unverified evidence that followed a ladder: the original error'), input: { idempotent: false, diagnosis: dx('renegotiation-refused', false) }, expect: { kind: 'fail', error: 'original', learn: undefined } }
  ]
  for (const { title, input, expect } of cases) {
    test(title, () => {
      assert.deepEqual(decideFollow({ ...base, ...input }), expect)
    })
  }
})

describe('post-handshake authentication (a held-back 403)', () => {
  const base: PostHandshakeAuthInput = { inLadder: false, candidatesLeft: 0, hasClientCert: true, fallback: DEFAULT_FALLBACK, bodyReplayable: true }
  const cases: Array<{ title: string, input: Partial<PostHandshakeAuthInput>, expect: ReturnType<typeof decidePostHandshakeAuth> }> = [
    { title: row(ROW.pha, 'with a client certificate and renegotiation allowed, the request goes through the ladder'), input: {}, expect: { kind: 'diagnose' } },
    { title: row(ROW.pha, 'a server that repeats the 403 over TLS 1.2 moves nothing: the 403 as it came'), input: { inLadder: true }, expect: { kind: 'deliver', notice: 'same-answer', code: 'EXHAUSTED' } },
    { title: 'the same 403 on a stack of the ladder with stacks left: the next one', input: { inLadder: true, candidatesLeft: 1 }, expect: { kind: 'next' } },
    { title: row(ROW.others, 'without clientCert Apache\'s 403 arrives as it came'), input: { hasClientCert: false }, expect: { kind: 'deliver', notice: 'client-cert', code: 'CLIENT_CERTIFICATE_REQUIRED' } },
    { title: 'a host whose fallback does not list renegotiation gets the 403 as it came', input: { fallback: ['tls13'] }, expect: { kind: 'deliver', notice: 'not-allowed', code: 'NOT_ALLOWED' } },
    { title: row(ROW.duplicated, 'a body that cannot be sent again: the 403 as it came, not a truncated replay'), input: { bodyReplayable: false }, expect: { kind: 'deliver', notice: 'body', code: 'BODY_NOT_REPLAYABLE' } }
  ]
  for (const { title, input, expect } of cases) {
    test(title, () => {
      assert.deepEqual(decidePostHandshakeAuth({ ...base, ...input }), expect)
    })
  }

  const holds: Array<[string, boolean, boolean, string | null | undefined, FingerprintId | undefined, boolean]> = [
    [row(ROW.pha, 'a 403 over TLS 1.3 is held back to be read'), false, false, 'TLSv1.3', undefined, true],
    [row(ROW.pha, 'a 403 over TLS 1.2 outside the post-handshake-auth ladder is not read'), false, false, 'TLSv1.2', undefined, false],
    [row(ROW.pha, 'the 403 of the TLS 1.2 stack tried after the fingerprint is read (it decides whether the policy moves)'), false, false, 'TLSv1.2', 'post-handshake-auth-required', true],
    [row(ROW.others, 'a pinned host holds nothing back'), false, true, 'TLSv1.3', undefined, false],
    [row(ROW.others, 'nothing is held back once the caller got a response'), true, false, 'TLSv1.3', undefined, false],
    [row(ROW.others, 'an attempt on no known connection over another ladder holds nothing back'), false, false, undefined, 'renegotiation-refused', false]
  ]
  for (const [title, responded, pinned, protocol, fingerprint, expect] of holds) {
    test(title, () => {
      assert.equal(mayHoldBack(responded, pinned, protocol, fingerprint), expect)
    })
  }
})

describe('whether the policy may move', () => {
  const cases: Array<{ title: string, input: LearnInput, expect: boolean }> = [
    { title: row(ROW.forgeable, 'renegotiation on verified evidence'), input: { to: 'renegotiation', verified: true, worked: false, renegotiated: false }, expect: true },
    { title: row(ROW.forgeable, 'renegotiation that worked on unverified evidence, no renegotiation seen: no move'), input: { to: 'renegotiation', verified: false, worked: true, renegotiated: false }, expect: false },
    { title: row(ROW.forgeable, 'renegotiation that worked and saw the server renegotiate'), input: { to: 'renegotiation', verified: false, worked: true, renegotiated: true }, expect: true },
    { title: row(ROW.window, 'unverified evidence that did not work yet: no move'), input: { to: 'renegotiation', verified: false, worked: false, renegotiated: true }, expect: false },
    { title: 'tls13 (stronger than strict) once it worked', input: { to: 'tls13', verified: false, worked: true, renegotiated: false }, expect: true },
    { title: 'strict over HTTP/1.1 once it worked', input: { to: 'strict', verified: false, worked: true, renegotiated: false }, expect: true },
    { title: row(ROW.hello, 'legacy-server-connect that worked on a refused hello alone: no move'), input: { to: 'legacy-server-connect', verified: false, worked: true, renegotiated: true }, expect: false },
    { title: row(ROW.hello, 'legacy-server-connect once a completed handshake verified the missing RFC 5746'), input: { to: 'legacy-server-connect', verified: true, worked: true, renegotiated: false }, expect: true }
  ]
  for (const { title, input, expect } of cases) {
    test(title, () => {
      assert.equal(mayLearn(input), expect)
    })
  }

  test('a response after a diagnosis teaches only a stack other than strict, or HTTP/1.1', () => {
    assert.equal(learnsOnSuccess('strict', false), false)
    assert.equal(learnsOnSuccess('strict', true), true)
    assert.equal(learnsOnSuccess('tls13', false), true)
    assert.equal(learnsOnSuccess('renegotiation', false), true)
  })
})

describe('giving up and not replaying', () => {
  test(row(ROW.consent, 'the stack that would work is named when the host does not allow it'), () => {
    assert.deepEqual(giveUp('unsafe-legacy-renegotiation', DEFAULT_FALLBACK), { error: 'NOT_ALLOWED', needed: 'legacy-server-connect' })
    assert.deepEqual(giveUp('renegotiation-refused', ['tls13']), { error: 'NOT_ALLOWED', needed: 'renegotiation' })
    assert.deepEqual(giveUp('unsafe-legacy-renegotiation', WITH_LEGACY), { error: 'EXHAUSTED', needed: 'legacy-server-connect' })
    assert.deepEqual(giveUp('renegotiation-refused', DEFAULT_FALLBACK), { error: 'EXHAUSTED', needed: 'renegotiation' })
  })

  test('a request that may not go again learns renegotiation when the ladder lists it, else its first stack', () => {
    assert.deepEqual(notReplayable(dx('renegotiation-refused', true), 'not-idempotent', ['tls13', 'renegotiation'], false).learn,
      { stack: 'renegotiation', http1Only: false })
    assert.deepEqual(notReplayable(dx('unsafe-legacy-renegotiation', true), 'replay', ['legacy-server-connect'], false),
      { kind: 'fail', error: 'BODY_NOT_REPLAYABLE', learn: { stack: 'legacy-server-connect', http1Only: false } })
    assert.deepEqual(notReplayable(dx('renegotiation-refused', true), 'not-idempotent', [], false),
      { kind: 'fail', error: 'NOT_REPLAYED', learn: undefined })
  })
})

describe('from a snapshot to a step, without a socket', () => {
  /** A POST (with replayNonIdempotent, the most permissive host) whose strict connection failed as the snapshot says. */
  function stepFor (connection: ConnectionSnapshot, replayNonIdempotent = true): ReturnType<typeof decideUndiagnosed> | DiagnosedStep {
    const error = failure('ECONNRESET')
    const found = diagnose({ error, stack: 'strict', connection, hasClientCert: false })
    if (found === undefined) {
      return decideUndiagnosed({
        fromPolicy: false,
        stack: 'strict',
        http1Only: false,
        ruleHttp1Only: false,
        handshakeComplete: connection.handshakeComplete,
        plainRead: connection.plainRead,
        cannotWork: stackCannotWork(error),
        connectionClosed: true,
        retriesLeft: 1,
        idempotent: false,
        bodyReplayable: true
      })
    }
    return decideDiagnosed({
      diagnosis: found,
      fallback: DEFAULT_FALLBACK,
      connection,
      ladderRunning: false,
      http1Only: false,
      idempotent: false,
      replayNonIdempotent,
      bodyReplayable: true
    })
  }

  test(row(ROW.forgeable, 'a bare reset after the handshake: the original error, no ladder, no policy'), () => {
    assert.deepEqual(stepFor(iisSnapshot({ rawRead: 0 })), { kind: 'fail', error: 'original' })
  })

  test(row(ROW.forgeable, 'a forged HelloRequest-sized record the client never answered: the original error'), () => {
    assert.deepEqual(stepFor(iisSnapshot({ rawRead: 33, rawWritten: 100, plainWritten: 71 })), { kind: 'fail', error: 'original' })
  })

  test(row(ROW.forgeable, 'junk after the handshake (a record that failed authentication): the original error'), () => {
    assert.deepEqual(stepFor(iisSnapshot({ tlsErrors: ['ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC'] })), { kind: 'fail', error: 'original' })
  })

  test(row(ROW.window, 'a window shared by pipelined requests: a POST is not replayed, nothing is learned'), () => {
    const step = stepFor(iisSnapshot({ windowDecodable: false }))
    assert.equal(step.kind, 'fail')
    assert.equal((step as { error: string }).error, 'original')
    assert.equal((step as { learn?: unknown }).learn, undefined)
  })

  test(row(ROW.declined, 'a declined HelloRequest, then a bare reset (IIS, or an on-path reset of a server that would have answered): verified for the policy, a POST is not sent again by default'), () => {
    const connection = iisSnapshot()
    const found = diagnose({ error: failure('ECONNRESET'), stack: 'strict', connection, hasClientCert: false })
    assert.equal(found?.evidence.verified, true)
    assert.equal(found?.requestUnprocessed, undefined, 'not proof that the request was not processed')
    assert.equal(replayVerdict(found as Diagnosis, false, false), 'not-idempotent')
    assert.deepEqual(stepFor(connection, false),
      { kind: 'fail', error: 'NOT_REPLAYED', learn: { stack: 'renegotiation', http1Only: false }, candidates: ['renegotiation'] })
  })

  test(row(ROW.messages, 'a certificate error whose message quotes a name "HTTP_1_1_REQUIRED" is no fingerprint: the original error, no policy'), () => {
    const message = 'Hostname/IP does not match certificate\'s altnames: Host: localhost. is not in the cert\'s altnames: DNS:HTTP_1_1_REQUIRED.example'
    const error = failure('ERR_TLS_CERT_ALTNAME_INVALID', message)
    assert.equal(diagnose({ error, stack: 'strict', connection: undefined, hasClientCert: false }), undefined)
    assert.equal(routeFailure(undefined, false, false, false), 'undiagnosed')
    const input: UndiagnosedInput = {
      fromPolicy: false,
      stack: 'strict',
      http1Only: false,
      ruleHttp1Only: false,
      handshakeComplete: false,
      plainRead: undefined,
      cannotWork: stackCannotWork(error),
      connectionClosed: false,
      retriesLeft: 1,
      idempotent: false,
      bodyReplayable: true
    }
    assert.deepEqual(decideUndiagnosed(input), { kind: 'fail', error: 'original' })
  })

  test(row(ROW.messages, 'an EPROTO whose message names an unsafe legacy renegotiation is no fingerprint; the code is'), () => {
    const message = 'write EPROTO 00F8:error:0A000152:SSL routines:final_renegotiate:unsafe legacy renegotiation disabled:'
    const before = iisSnapshot({ handshakeComplete: false, protocol: null, cipher: null, rawRead: 0, rawWritten: 0, plainWritten: 0 })
    assert.equal(diagnose({ error: failure('EPROTO', message), stack: 'strict', connection: before, hasClientCert: false }), undefined)
    assert.equal(diagnose({ error: failure('ERR_SSL_UNSAFE_LEGACY_RENEGOTIATION_DISABLED'), stack: 'strict', connection: before, hasClientCert: false })?.fingerprint,
      'unsafe-legacy-renegotiation')
  })

  test(row(ROW.acted, 'the IIS-like connection (a HelloRequest answered with an alert) is verified: a POST goes again only with replayNonIdempotent'), () => {
    assert.deepEqual(stepFor(iisSnapshot()), { kind: 'ladder', candidates: ['renegotiation'], confirmLegacy: false })
    assert.deepEqual(stepFor(iisSnapshot(), false),
      { kind: 'fail', error: 'NOT_REPLAYED', learn: { stack: 'renegotiation', http1Only: false }, candidates: ['renegotiation'] })
  })
})

describe('a failure of the proxy itself', () => {
  test(row(ROW.proxy, 'TLS_FALLBACK_PROXY_ERROR: the caller gets it as it is, nothing learned, no retry, no other stack'), () => {
    assert.deepEqual(decideProxyFailure('TLS_FALLBACK_PROXY_ERROR'), { kind: 'fail', error: 'original' })
    assert.equal((decideProxyFailure('TLS_FALLBACK_PROXY_ERROR') as { learn?: unknown }).learn, undefined)
  })

  test(row(ROW.proxy, 'any other failure is not the proxy\'s: it goes on to the fingerprints'), () => {
    for (const code of ['ECONNRESET', 'UND_ERR_SOCKET', 'ECONNREFUSED', 'ERR_SSL_UNSAFE_LEGACY_RENEGOTIATION_DISABLED', undefined]) {
      assert.equal(decideProxyFailure(code), undefined, String(code))
    }
  })
})

describe('a failure of Windows authentication', () => {
  test(row(ROW.auth, 'TLS_FALLBACK_AUTH_*: the caller gets it as it is, nothing learned, no retry, no other stack'), () => {
    for (const code of ['TLS_FALLBACK_AUTH_FAILED', 'TLS_FALLBACK_AUTH_INVALID_CHALLENGE', 'TLS_FALLBACK_AUTH_UNAVAILABLE']) {
      assert.deepEqual(decideAuthFailure(code), { kind: 'fail', error: 'original' }, code)
    }
    for (const code of ['ECONNRESET', 'ERR_SSL_UNSAFE_LEGACY_RENEGOTIATION_DISABLED', 'TLS_FALLBACK_PROXY_ERROR', 'TLS_FALLBACK_AUTHX', undefined]) {
      assert.equal(decideAuthFailure(code), undefined, String(code))
    }
  })
})

describe('decideMissingIntermediate', () => {
  const url = 'http://pki.corp.example/issuing.cer'
  test(row(ROW.aia, 'only a leaf whose issuer is unknown, with an http: caIssuers URL: fetched when asked, else explained; never twice'), () => {
    assert.deepEqual(decideMissingIntermediate('UNABLE_TO_VERIFY_LEAF_SIGNATURE', [url], false, false), { kind: 'explain', url })
    assert.deepEqual(decideMissingIntermediate('UNABLE_TO_VERIFY_LEAF_SIGNATURE', [url], true, false), { kind: 'fetch', url })
    assert.deepEqual(decideMissingIntermediate('UNABLE_TO_VERIFY_LEAF_SIGNATURE', ['ldap://dc/ca', url], true, false), { kind: 'fetch', url })
    assert.deepEqual(decideMissingIntermediate('UNABLE_TO_VERIFY_LEAF_SIGNATURE', [url], true, true), { kind: 'pass' })
    assert.deepEqual(decideMissingIntermediate('UNABLE_TO_VERIFY_LEAF_SIGNATURE', ['https://pki.corp.example/i.cer', 'ldap://dc/ca'], true, false), { kind: 'pass' })
    assert.deepEqual(decideMissingIntermediate('UNABLE_TO_VERIFY_LEAF_SIGNATURE', [], true, false), { kind: 'pass' })
    for (const code of ['SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'DEPTH_ZERO_SELF_SIGNED_CERT', undefined]) {
      assert.deepEqual(decideMissingIntermediate(code, [url], true, false), { kind: 'pass' }, String(code))
    }
  })
})

const uploadOrigin = (over: Partial<UploadOrigin> = {}): UploadOrigin =>
  ({ stack: 'strict', phaFallback: false, hasClientCert: false, limit: DEFAULT_PRIMING_BODY_LIMIT, ...over })

describe('which origins may ask for the certificate after the request', () => {
  const rows: Array<[string, Partial<UploadOrigin>, boolean]> = [
    ['strict, nothing known', {}, false],
    ['tls13, nothing known', { stack: 'tls13' }, false],
    ['legacy-server-connect without a client certificate', { stack: 'legacy-server-connect' }, false],
    ['a learned or configured renegotiation stack', { stack: 'renegotiation' }, true],
    ['a post-handshake-auth fallback', { phaFallback: true }, true],
    ['a host with a clientCert, still on strict (the priming finds the stack)', { hasClientCert: true }, true],
    ['legacy-server-connect with a client certificate', { stack: 'legacy-server-connect', hasClientCert: true }, true]
  ]
  for (const [name, over, expected] of rows) {
    test(row(ROW.uploads, `${name}: ${expected ? 'may' : 'does not'}`), () => {
      assert.equal(originMayRenegotiate(uploadOrigin(over)), expected)
    })
  }
})

describe('which requests need a primed connection', () => {
  const renegotiating = uploadOrigin({ stack: 'renegotiation' })
  const rows: Array<[string, number | null | undefined, UploadOrigin, boolean]> = [
    ['no body', null, renegotiating, false],
    ['an empty body', 0, renegotiating, false],
    ['1 byte', 1, renegotiating, false],
    ['exactly the default limit (IIS uploadReadAheadSize, 49152)', 49_152, renegotiating, false],
    ['one byte over the default limit', 49_153, renegotiating, true],
    ['1 MB', 1_000_000, renegotiating, true],
    ['a body of unknown length (a stream) counts as large', undefined, renegotiating, true],
    ['1 MB to an origin that does not renegotiate', 1_000_000, uploadOrigin(), false],
    ['a stream to an origin that does not renegotiate', undefined, uploadOrigin(), false],
    ['1 MB with priming off for the host', 1_000_000, uploadOrigin({ stack: 'renegotiation', limit: false }), false],
    ['a stream with priming off for the host', undefined, uploadOrigin({ hasClientCert: true, limit: false }), false],
    ['200 kB under a host limit of 1 MiB', 200_000, uploadOrigin({ stack: 'renegotiation', limit: 1_048_576 }), false],
    ['2 kB over a host limit of 1 kB (a server with a smaller buffer)', 2_048, uploadOrigin({ phaFallback: true, limit: 1_024 }), true],
    ['a host limit of 0: every body', 1, uploadOrigin({ hasClientCert: true, limit: 0 }), true]
  ]
  for (const [name, length, o, expected] of rows) {
    test(row(ROW.uploads, `${name}: ${expected ? 'primed' : 'not primed'}`), () => {
      assert.equal(needsPriming(length, o), expected)
    })
  }
})

describe('which 413 is a renegotiation buffer\'s (one priming, one resend) and which the application\'s (delivered as it came)', () => {
  const base: TooLargeInput = {
    origin: uploadOrigin({ stack: 'renegotiation' }),
    renegotiationsBefore: 0,
    protocol: 'TLSv1.2',
    bodyReplayable: true,
    primed: false,
    resent: false
  }
  const rows: Array<[string, Partial<TooLargeInput>, ReturnType<typeof decideTooLarge>]> = [
    ['unprimed, not renegotiated, TLS 1.2, renegotiating origin, replayable body', {}, { kind: 'prime-and-resend' }],
    ['a host with a clientCert still on strict (Apache answers 413 before it renegotiates)', { origin: uploadOrigin({ hasClientCert: true }) }, { kind: 'prime-and-resend' }],
    ['TLS 1.1 (renegotiation exists)', { protocol: 'TLSv1.1' }, { kind: 'prime-and-resend' }],
    ['already sent again once: never twice', { resent: true }, { kind: 'deliver', reason: 'already-resent' }],
    ['the connection had renegotiated: the server asked nothing more', { renegotiationsBefore: 1 }, { kind: 'deliver', reason: 'renegotiated' }],
    ['a primed connection that did not renegotiate: the path asks for nothing', { primed: true }, { kind: 'deliver', reason: 'primed' }],
    ['TLS 1.3: no renegotiation, no buffer for one', { protocol: 'TLSv1.3' }, { kind: 'deliver', reason: 'tls13' }],
    ['HTTP/2 over TLS 1.2 (ALPN h2): renegotiation is forbidden, so no buffer for one', { alpn: 'h2' }, { kind: 'deliver', reason: 'h2' }],
    ['HTTP/1.1 over TLS 1.2 (ALPN http/1.1): may be the buffer', { alpn: 'http/1.1' }, { kind: 'prime-and-resend' }],
    ['an origin that does not renegotiate', { origin: uploadOrigin() }, { kind: 'deliver', reason: 'origin-does-not-renegotiate' }],
    ['priming off for the host', { origin: uploadOrigin({ stack: 'renegotiation', limit: false }) }, { kind: 'deliver', reason: 'priming-off' }],
    ['a body that cannot be sent again (a stream)', { bodyReplayable: false }, { kind: 'deliver', reason: 'body-not-replayable' }]
  ]
  for (const [name, over, expected] of rows) {
    test(row(ROW.resend, `${name}: ${expected.kind === 'deliver' ? `delivered (${expected.reason})` : 'prime and send again'}`), () => {
      assert.deepEqual(decideTooLarge({ ...base, ...over }), expected)
    })
  }

  test(row(ROW.uploads, 'a 413 never moves a stack: the decision names no stack to learn or to try'), () => {
    for (const stack of ['strict', 'tls13', 'renegotiation', 'legacy-server-connect'] as StackName[]) {
      const step = decideTooLarge({ ...base, origin: uploadOrigin({ stack, hasClientCert: true }) })
      assert.deepEqual(Object.keys(step).sort(), step.kind === 'deliver' ? ['kind', 'reason'] : ['kind'])
    }
  })
})

describe('after a buffer 413 and a new priming: send again only on a renegotiation', () => {
  const rows: Array<[Parameters<typeof resendAfterPriming>[0], boolean]> = [
    ['renegotiated', true],
    // The path asks for no certificate: its 413 was the application's, which may have acted.
    ['not-renegotiated', false],
    ['not-applicable', false],
    ['failed', false]
  ]
  for (const [outcome, expected] of rows) {
    test(row(ROW.resend, `a priming that ${outcome === 'failed' ? 'failed' : `was ${outcome}`}: ${expected ? 'sent once more' : 'the 413 is delivered, nothing is sent again'}`), () => {
      assert.equal(resendAfterPriming(outcome), expected)
    })
  }
})

describe('a failure of the priming itself: the upload never left', () => {
  test(row(ROW.uploads, 'a POST whose priming met a verified renegotiation-refused goes up the ladder (not NOT_REPLAYED): nothing was sent'), () => {
    assert.deepEqual(diagnosed({ diagnosis: dx('renegotiation-refused', true), unsent: true }), { kind: 'ladder', candidates: ['renegotiation'], confirmLegacy: false })
  })
  test(row(ROW.uploads, 'unverified evidence from a priming: the POST may go up the ladder (it never left), the policy still moves only on proof (mayLearn)'), () => {
    assert.deepEqual(diagnosed({ diagnosis: dx('renegotiation-refused', false), unsent: true }), { kind: 'ladder', candidates: ['renegotiation'], confirmLegacy: false })
  })
  test(row(ROW.uploads, 'the same POST when the upload itself was on the connection: not replayed'), () => {
    assert.equal(diagnosed({ diagnosis: dx('renegotiation-refused', true), unsent: false }).kind, 'fail')
  })
})

describe('decideStoredIntermediatesFailed', () => {
  const url = 'http://pki.corp.example/issuing.cer'
  test(row(ROW.storedAia, 'a handshake with a store\'s intermediates that failed verification fetches afresh once, whatever the code; never without an http: URL or with fetching off'), () => {
    assert.deepEqual(decideStoredIntermediatesFailed([url], true), { kind: 'fetch', url })
    assert.deepEqual(decideStoredIntermediatesFailed(['ldap://dc/ca', url], true), { kind: 'fetch', url })
    assert.deepEqual(decideStoredIntermediatesFailed([url], false), { kind: 'pass' })
    assert.deepEqual(decideStoredIntermediatesFailed(['https://pki.corp.example/i.cer'], true), { kind: 'pass' })
    assert.deepEqual(decideStoredIntermediatesFailed([], true), { kind: 'pass' })
  })
})

describe('the security table (docs/security.md)', () => {
  test('every row is covered by a decision above, or named as I/O with the test that covers it', () => {
    const section = readFileSync(new URL('../docs/security.md', import.meta.url), 'utf8')
    const titles = [...section.matchAll(/^\| \*\*(.+?)\*\*/gm)].map((m) => m[1] as string)
    assert.ok(titles.length >= 20, `the security table has its rows (found ${titles.length})`)
    for (const title of titles) {
      const here = covered.get(title) ?? 0
      assert.ok(here > 0 || title in NOT_A_DECISION, `the security row "${title}" is neither covered in test/decide.test.ts nor listed as I/O`)
      assert.ok(!(here > 0 && title in NOT_A_DECISION), `the security row "${title}" is listed twice`)
    }
    for (const title of [...Object.values(ROW), ...Object.keys(NOT_A_DECISION)]) {
      assert.ok(titles.includes(title), `"${title}" is a row of the security table`)
    }
  })
})
