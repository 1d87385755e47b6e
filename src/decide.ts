import { ErrorCodes } from './errors.ts'
import { isConnectionClosedError, type Diagnosis, type FingerprintId } from './fingerprint.ts'
import { replayVerdict, type ReplayVerdict } from './replay-policy.ts'
import { ladderFor, stackFor, tlsVersionRank, type FallbackStack, type StackName } from './stacks.ts'

/**
 * The decisions of a request after a failure, as pure functions: what they are given is data
 * (the diagnosis, the host's rule, the stack tried, whether the body can go again, the method's
 * idempotency), what they return is the next step. `Recovery` (src/recovery.ts) and its `Ladder`
 * (src/ladder.ts) follow the steps: they send through the request (src/request.ts), learn through
 * the `PolicyBook`, and say why through src/failures.ts.
 */

/** What the caller gets when the request ends with an error: a `TLS_FALLBACK_*` code, or the attempt's own error. */
export type FailError = 'NOT_ALLOWED' | 'EXHAUSTED' | 'NOT_REPLAYED' | 'BODY_NOT_REPLAYABLE' | 'CLIENT_CERTIFICATE_REQUIRED' | 'original'

/** A policy to record for the origin now (the agent still checks the evidence, see `mayLearn`). */
export interface Learn {
  stack: StackName
  http1Only: boolean
}

/** Send the request again: `fallback` on another stack or over HTTP/1.1, `retry` on the same stack, `revalidate` from strict after dropping the policy. */
export interface ReplayStep {
  kind: 'replay'
  stack: StackName
  http1Only: boolean
  reason: 'fallback' | 'retry' | 'revalidate'
  learn?: Learn
}

/** End the request with this error. */
export interface FailStep {
  kind: 'fail'
  error: FailError
  learn?: Learn
}

/** Which handler a failed attempt goes to. */
export type FailureRoute = 'http11-required' | 'undiagnosed' | 'diagnosed' | 'candidate'

/**
 * Where a failed attempt (before any response) is handled: an HTTP/2 refusal first (unless the
 * request already goes over HTTP/1.1), no detection at all on a pinned host, a first diagnosis,
 * or the failure of a stack of a running ladder.
 */
export function routeFailure (fingerprint: FingerprintId | undefined, http1Only: boolean, pinned: boolean, inLadder: boolean): FailureRoute {
  if (fingerprint === 'http11-required' && !http1Only) return 'http11-required'
  if (pinned) return 'undiagnosed'
  if (!inLadder) return fingerprint === undefined ? 'undiagnosed' : 'diagnosed'
  return 'candidate'
}

const PROXY_FAILURE: FailStep = Object.freeze({ kind: 'fail', error: 'original' })

/**
 * A failure of the proxy itself (`TLS_FALLBACK_PROXY_ERROR`: 407, a refused CONNECT, 502/503, a
 * refused or reset connection to the proxy): never a fingerprint, no retry, no other stack, nothing
 * learned; the caller gets the error as it is. Undefined for any other failure.
 */
export function decideProxyFailure (code: string | undefined): FailStep | undefined {
  return code === ErrorCodes.PROXY_ERROR ? PROXY_FAILURE : undefined
}

/**
 * A failure of Windows authentication on a connection that completed its TLS handshake
 * (`TLS_FALLBACK_AUTH_*`: a hostile or malformed challenge, mutual authentication that does not
 * verify, no ticket): never a fingerprint, no retry, no other stack; the caller gets it as it is.
 */
export function decideAuthFailure (code: string | undefined): FailStep | undefined {
  return code === ErrorCodes.AUTH_FAILED || code === ErrorCodes.AUTH_INVALID_CHALLENGE || code === ErrorCodes.AUTH_UNAVAILABLE ? PROXY_FAILURE : undefined
}

const CERTIFICATE_CODE = /CERT|_ISSUER|SELF_SIGNED|ALTNAME|HOSTNAME|VERIFY/

/** A failure of a fallback stack that means "this stack does not work here", as opposed to a network or certificate problem. */
export function stackCannotWork (error: Error & { code?: string }): boolean {
  const code = error.code ?? ''
  if (CERTIFICATE_CODE.test(code)) return false
  return isConnectionClosedError(error) || code.startsWith('ERR_SSL_') || code === 'UND_ERR_CONNECT_TIMEOUT'
}

/** What decides the step after a failure that matched no fingerprint (or any failure on a pinned host). */
export interface UndiagnosedInput {
  /** The attempt followed a learned policy. */
  fromPolicy: boolean
  stack: StackName
  http1Only: boolean
  /** The host's own `http1Only` (where a revalidation starts again). */
  ruleHttp1Only: boolean
  /** The failed connection completed its handshake (undefined: no connection was seen). */
  handshakeComplete: boolean | undefined
  /** Plaintext bytes read on the failed connection (undefined: no connection was seen). */
  plainRead: number | undefined
  /** See `stackCannotWork`. */
  cannotWork: boolean
  /** The connection was closed or reset (see `isConnectionClosedError`). */
  connectionClosed: boolean
  retriesLeft: number
  idempotent: boolean
  bodyReplayable: boolean
}

/**
 * No fingerprint: the error reaches the caller unchanged, after at most one same-stack retry of an
 * idempotent request whose connection closed before any response byte. A learned stack that no
 * longer completes a handshake (the server changed) is dropped and the request starts again from strict.
 */
export function decideUndiagnosed (input: UndiagnosedInput): ReplayStep | FailStep {
  if (input.fromPolicy && input.stack !== 'strict' && input.handshakeComplete !== true && input.cannotWork && !input.connectionClosed) {
    return { kind: 'replay', stack: 'strict', http1Only: input.ruleHttp1Only, reason: 'revalidate' }
  }
  if (input.retriesLeft > 0 && input.connectionClosed && (input.plainRead === undefined || input.plainRead === 0) &&
    input.idempotent && input.bodyReplayable) {
    return { kind: 'replay', stack: input.stack, http1Only: input.http1Only, reason: 'retry' }
  }
  return { kind: 'fail', error: 'original' }
}

/** What decides the step after the server refused HTTP/2 for the request (`http11-required`). */
export interface Http11Input {
  diagnosis: Diagnosis
  stack: StackName
  pinned: boolean
  /** A ladder already runs for this request (its first diagnosis was another fingerprint). */
  inLadder: boolean
  idempotent: boolean
  replayNonIdempotent: boolean
  bodyReplayable: boolean
}

/**
 * The request goes again over HTTP/1.1 on the same stack when that is safe. Outside a ladder (and
 * on a host that is not pinned) the origin learns `http1Only` at once, whatever happens to this
 * request: the evidence is an authenticated HTTP/2 frame.
 */
export function decideHttp11Required (input: Http11Input): ReplayStep | FailStep {
  const learn = !input.inLadder && !input.pinned ? { stack: input.stack, http1Only: true } : undefined
  if (replayVerdict(input.diagnosis, input.idempotent, input.replayNonIdempotent) !== 'replay') {
    return { kind: 'fail', error: 'NOT_REPLAYED', learn }
  }
  if (!input.bodyReplayable) return { kind: 'fail', error: 'BODY_NOT_REPLAYABLE', learn }
  return { kind: 'replay', stack: input.stack, http1Only: true, reason: 'fallback', learn }
}

/** Whether the request may go again after this diagnosis: the verdict allows it and the body can be sent again. */
export function mayReplay (verdict: ReplayVerdict, bodyReplayable: boolean): boolean {
  return bodyReplayable && verdict === 'replay'
}

/**
 * A request that may not go again after a diagnosis. With authenticated evidence the origin still
 * learns the stack that addresses it (`renegotiation` when the ladder lists it, else its first
 * stack), so the next request goes straight there. The error says why: not idempotent
 * (`NOT_REPLAYED`), forgeable evidence and not idempotent (the original error, nothing learned),
 * or a body that cannot be sent again (`BODY_NOT_REPLAYABLE`).
 */
export function notReplayable (diagnosis: Diagnosis, verdict: ReplayVerdict, candidates: readonly FallbackStack[], http1Only: boolean): NotReplayableStep {
  const target = candidates.includes('renegotiation') ? 'renegotiation' : candidates[0]
  const learn = target !== undefined && diagnosis.evidence.verified ? { stack: target, http1Only } : undefined
  const error = verdict === 'not-idempotent' ? 'NOT_REPLAYED' : verdict === 'unverified' ? 'original' : 'BODY_NOT_REPLAYABLE'
  return { kind: 'fail', error, learn }
}

/** A request that may not go again (see `notReplayable`). */
export interface NotReplayableStep extends FailStep {
  error: 'NOT_REPLAYED' | 'BODY_NOT_REPLAYABLE' | 'original'
}

/** Why no stack is left: the one that would address the fingerprint is not allowed for the host, or every allowed one failed. */
export type GiveUp = { error: 'NOT_ALLOWED', needed: FallbackStack } | { error: 'EXHAUSTED', needed: FallbackStack | undefined }

export function giveUp (fingerprint: FingerprintId, fallback: readonly FallbackStack[]): GiveUp {
  const needed = stackFor(fingerprint)
  if (needed !== undefined && !fallback.includes(needed)) return { error: 'NOT_ALLOWED', needed }
  return { error: 'EXHAUSTED', needed }
}

/**
 * The host's `fallback` with the needed stack added, as a NOT_ALLOWED error suggests it:
 * `legacy-server-connect` last (it is the one to consent to), any other stack before it.
 */
export function fallbackAllowing (fallback: readonly FallbackStack[], needed: FallbackStack): FallbackStack[] {
  return needed === 'legacy-server-connect'
    ? [...fallback, needed]
    : [...fallback.filter((s) => s !== 'legacy-server-connect'), needed, ...fallback.filter((s) => s === 'legacy-server-connect')]
}

/** What decides the step after a first diagnosis (outside a ladder, on a host that is not pinned). */
export interface DiagnosedInput {
  diagnosis: Diagnosis
  /** The host's `fallback`. */
  fallback: readonly FallbackStack[]
  /** The failed connection's hello and protocol (see `ladderFor`); undefined when none was seen. */
  connection: { offeredTls13: boolean, protocol: string | null } | undefined
  /** Another request already runs a ladder for this origin. */
  ladderRunning: boolean
  http1Only: boolean
  idempotent: boolean
  replayNonIdempotent: boolean
  bodyReplayable: boolean
  /**
   * The failure came before the request left: the priming of its connection (src/priming.ts) met
   * it, so the server cannot have acted on the request, whatever its method (issue 31).
   */
  unsent?: boolean
}

/** Start a ladder: the stacks to try in order, and whether a completed handshake must first confirm a missing RFC 5746. */
export interface LadderStep {
  kind: 'ladder'
  candidates: FallbackStack[]
  confirmLegacy: boolean
}

/** The renegotiation asked for a client certificate the host lacks: the caller's to fix; no ladder starts. */
export interface ClientCertificateStep {
  kind: 'fail'
  error: 'CLIENT_CERTIFICATE_REQUIRED'
}

/** A ladder that ends at once: no stack is left (`NOT_ALLOWED`, `EXHAUSTED`), or the request may not go again. */
export type LadderFailStep = { kind: 'fail', error: 'NOT_ALLOWED', candidates: FallbackStack[] } |
  { kind: 'fail', error: 'EXHAUSTED', candidates: FallbackStack[] } | (NotReplayableStep & { candidates: FallbackStack[] })

/**
 * The step after a first diagnosis, told apart by `kind` and, for a failure, by `error`: a
 * `ClientCertificateStep` starts no ladder; a `LadderFailStep` starts this request's ladder with its
 * `candidates` and ends it at once.
 */
export type DiagnosedStep = { kind: 'follow-ladder' } | ClientCertificateStep | LadderFailStep | LadderStep

/**
 * After a first diagnosis: a renegotiation for a client certificate the host lacks is the caller's
 * to fix; a ladder another request runs for the origin is followed; otherwise the stacks the host
 * allows for the fingerprint are tried in order, when the request may go again.
 */
export function decideDiagnosed (input: DiagnosedInput): DiagnosedStep {
  const { diagnosis } = input
  if (diagnosis.fingerprint === 'client-certificate-required') return { kind: 'fail', error: 'CLIENT_CERTIFICATE_REQUIRED' }
  if (input.ladderRunning) return { kind: 'follow-ladder' }
  const candidates = ladderFor(diagnosis.fingerprint, input.fallback, input.connection)
  if (candidates.length === 0) return { kind: 'fail', error: giveUp(diagnosis.fingerprint, input.fallback).error, candidates }
  const verdict = input.unsent === true ? 'replay' : replayVerdict(diagnosis, input.idempotent, input.replayNonIdempotent)
  if (!mayReplay(verdict, input.bodyReplayable)) return { ...notReplayable(diagnosis, verdict, candidates, input.http1Only), candidates }
  return { kind: 'ladder', candidates, confirmLegacy: diagnosis.fingerprint === 'unsafe-legacy-renegotiation' }
}

/** What decides the step once the ladder another request ran for the origin has ended. */
export interface FollowInput {
  diagnosis: Diagnosis
  /** The stack and HTTP/1.1 flag of the origin's policy now, if any. */
  policy: { stack: StackName, http1Only?: boolean } | undefined
  stack: StackName
  ruleHttp1Only: boolean
  /** This request's ladder so far (empty unless it started one). */
  candidates: readonly FallbackStack[]
  http1Only: boolean
  idempotent: boolean
  replayNonIdempotent: boolean
  bodyReplayable: boolean
  /** As in `DiagnosedInput`: the request never left. */
  unsent?: boolean
}

/**
 * The other ladder taught the origin another stack: the request goes there (when it may go again).
 * Otherwise the request decides on its own diagnosis (`diagnose`: see `decideDiagnosed`).
 */
export function decideFollow (input: FollowInput): ReplayStep | NotReplayableStep | { kind: 'diagnose' } {
  const { policy } = input
  if (policy === undefined || policy.stack === input.stack) return { kind: 'diagnose' }
  const verdict = input.unsent === true ? 'replay' : replayVerdict(input.diagnosis, input.idempotent, input.replayNonIdempotent)
  if (!mayReplay(verdict, input.bodyReplayable)) return notReplayable(input.diagnosis, verdict, input.candidates, input.http1Only)
  return { kind: 'replay', stack: policy.stack, http1Only: input.ruleHttp1Only || policy.http1Only === true, reason: 'fallback' }
}

/**
 * A stack of the ladder failed: a renegotiation for a missing client certificate is the caller's to
 * fix; a failure that means "this stack does not work here" moves to the next stack (`next`);
 * anything else (refused connection, certificate, abort) reaches the caller as it is.
 */
export function decideCandidateFailed (fingerprint: FingerprintId | undefined, cannotWork: boolean): FailStep | { kind: 'next' } {
  if (fingerprint === 'client-certificate-required') return { kind: 'fail', error: 'CLIENT_CERTIFICATE_REQUIRED' }
  if (cannotWork) return { kind: 'next' }
  return { kind: 'fail', error: 'original' }
}

/** What decides the step after a 403 that says the server cannot perform post-handshake authentication. */
export interface PostHandshakeAuthInput {
  /** A ladder already runs for this request (the 403 came on a stack it tried). */
  inLadder: boolean
  /** Stacks the ladder has not tried yet. */
  candidatesLeft: number
  hasClientCert: boolean
  fallback: readonly FallbackStack[]
  bodyReplayable: boolean
}

/** Why the 403 is passed on as it came, and the code of the notice that says so. */
export type PostHandshakeAuthUnremedied =
  | { kind: 'deliver', notice: 'same-answer', code: 'EXHAUSTED' }
  | { kind: 'deliver', notice: 'client-cert', code: 'CLIENT_CERTIFICATE_REQUIRED' }
  | { kind: 'deliver', notice: 'not-allowed', code: 'NOT_ALLOWED' }
  | { kind: 'deliver', notice: 'body', code: 'BODY_NOT_REPLAYABLE' }

/**
 * The remedy is TLS 1.2, where the server renegotiates for the client certificate: the
 * `renegotiation` stack with the host's certificate (`diagnose`: the request goes through
 * `decideDiagnosed`, any method may go again). A stack of a ladder that got the same answer moves
 * to the next one; without a remedy the caller gets the 403 as it came, and no policy moves.
 */
export function decidePostHandshakeAuth (input: PostHandshakeAuthInput): PostHandshakeAuthUnremedied | { kind: 'next' } | { kind: 'diagnose' } {
  if (input.inLadder) return input.candidatesLeft > 0 ? { kind: 'next' } : { kind: 'deliver', notice: 'same-answer', code: 'EXHAUSTED' }
  if (!input.hasClientCert) return { kind: 'deliver', notice: 'client-cert', code: 'CLIENT_CERTIFICATE_REQUIRED' }
  if (ladderFor('post-handshake-auth-required', input.fallback, undefined).length === 0) {
    return { kind: 'deliver', notice: 'not-allowed', code: 'NOT_ALLOWED' }
  }
  if (!input.bodyReplayable) return { kind: 'deliver', notice: 'body', code: 'BODY_NOT_REPLAYABLE' }
  return { kind: 'diagnose' }
}

/**
 * Whether a 403 may be held back to read whether it says "cannot perform post-handshake
 * authentication": only the first response of a host that is not pinned, on a TLS 1.3 connection
 * or on the stack tried after that fingerprint (whose answer decides whether the policy moves).
 * The body's size is checked apart (`HeldResponse.fits`).
 */
export function mayHoldBack (responded: boolean, pinned: boolean, protocol: string | null | undefined, fingerprint: FingerprintId | undefined): boolean {
  if (responded || pinned) return false
  return protocol === 'TLSv1.3' || fingerprint === 'post-handshake-auth-required'
}

/** Whether a response after a diagnosis is the stack's proof: it worked on another stack, or over HTTP/1.1. */
export function learnsOnSuccess (stack: StackName, http1Only: boolean): boolean {
  return stack !== 'strict' || http1Only
}

/** What the agent knows when it is asked to record a transition. */
export interface LearnInput {
  to: StackName
  /** The diagnosis's evidence is authenticated (an on-path attacker could not produce it). */
  verified: boolean
  /** The new stack answered the request. */
  worked: boolean
  /** A connection of the origin took part in a renegotiation the server started. */
  renegotiated: boolean
}

/**
 * Whether the policy may move: on verified evidence; or once the new stack worked, when that stack
 * is `tls13` or `strict` (no weaker than strict), or `renegotiation` and a renegotiation the server
 * started was seen. `legacy-server-connect` moves only on verified evidence (a completed handshake
 * confirmed the missing RFC 5746), never because it worked once.
 */
export function mayLearn (input: LearnInput): boolean {
  if (input.verified) return true
  if (!input.worked) return false
  return input.to === 'tls13' || input.to === 'strict' || (input.to === 'renegotiation' && input.renegotiated)
}

/** What to do about a handshake that failed verification, given what the server's leaf says (issue 33). */
export type IntermediateStep =
  /** Not a missing intermediate the leaf points at (or already retried once): the error as it came. */
  | { kind: 'pass' }
  /** Off: the error keeps its code; its message names the URL, the option and the server fix. */
  | { kind: 'explain', url: string }
  /** Fetch the URL, and retry once with what issued the leaf as an untrusted intermediate. */
  | { kind: 'fetch', url: string }

/**
 * Only `UNABLE_TO_VERIFY_LEAF_SIGNATURE` (the leaf's issuer is unknown: any other certificate error,
 * an untrusted root, an expired or misnamed certificate, is no missing intermediate), only an
 * `http:` caIssuers URL (as AIA is; the first such), only when the host asked for fetching, and
 * never a second time for one connection.
 */
export function decideMissingIntermediate (code: string | undefined, caIssuers: readonly string[], fetchConfigured: boolean, retried: boolean): IntermediateStep {
  if (code !== 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' || retried) return { kind: 'pass' }
  const url = caIssuers.find((u) => u.startsWith('http:'))
  if (url === undefined) return { kind: 'pass' }
  return fetchConfigured ? { kind: 'fetch', url } : { kind: 'explain', url }
}

/*
 * Large uploads to servers that ask for the client certificate after the request (issue 31). Why: a server that renegotiates for a certificate after reading the request (IIS conditional
 * client certificates, Apache `SSLVerifyClient` in a `<Location>`) must hold the request body while
 * it renegotiates, and refuses past a small buffer with 413 before renegotiating: Apache's
 * `SSLRenegBufferSize` (131072 bytes by default), IIS's `uploadReadAheadSize` (49152 bytes by
 * default). On a connection that has already renegotiated, the server asks for nothing and reads the
 * body as it comes. So a large upload goes on a connection primed by a safe request first
 * (src/priming.ts), once per connection (src/uploads.ts routes it).
 */

/** The default body size above which a request to a renegotiating origin needs a primed connection: IIS's `uploadReadAheadSize`. */
export const DEFAULT_PRIMING_BODY_LIMIT = 49_152

/** What the agent knows about the origin of a request, for the upload rules. */
export interface UploadOrigin {
  /** The stack the request goes on: the origin's learned policy or the host's configured stack. */
  stack: StackName
  /** The origin's policy came from a post-handshake-auth 403 (TLS 1.3), remedied on TLS 1.2 renegotiation. */
  phaFallback: boolean
  /** The host has a `clientCert`: a server may ask for it after the request. */
  hasClientCert: boolean
  /**
   * The host's limit in bytes: a body larger than this needs a primed connection; `false` turns
   * priming off for the host. Default `DEFAULT_PRIMING_BODY_LIMIT`.
   */
  limit: number | false
}

/**
 * Whether the origin may ask for a client certificate after the request: a learned or configured
 * `renegotiation` stack, a post-handshake-auth fallback, or a host with a `clientCert` (then the
 * priming request is also what finds the stack, on the first request to a new origin).
 */
export function originMayRenegotiate (origin: Omit<UploadOrigin, 'limit'>): boolean {
  return origin.stack === 'renegotiation' || origin.phaFallback || origin.hasClientCert
}

/**
 * Whether a request needs a connection that has already renegotiated. `bodyLength` is the body's
 * size in bytes when known before sending (Content-Length, a string or Buffer), `undefined` when it
 * is not (a stream without Content-Length): a body of unknown length counts as large, since it may
 * be larger than any buffer and cannot be sent again after a 413. `null` or 0: no body.
 */
export function needsPriming (bodyLength: number | null | undefined, origin: UploadOrigin): boolean {
  if (origin.limit === false) return false
  if (bodyLength === null || bodyLength === 0) return false
  if (bodyLength !== undefined && bodyLength <= origin.limit) return false
  return originMayRenegotiate(origin)
}

/** What is known when a response with status 413 arrives. */
export interface TooLargeInput {
  origin: UploadOrigin
  /**
   * Renegotiations on the request's connection before its response (handshakes after the first):
   * from the connection's own count (src/connector.ts), which an on-path attacker cannot raise.
   */
  renegotiationsBefore: number
  /** The connection's TLS version. */
  protocol: string | null
  /** The connection's ALPN protocol (`'h2'`: HTTP/2 forbids renegotiation, RFC 9113 section 9.2.1). */
  alpn?: string | false | null
  /** The body can be sent again (a string, a Buffer, an iterable the caller can restart). */
  bodyReplayable: boolean
  /**
   * The connection was primed (src/priming.ts), whatever the outcome: a path whose priming did not
   * renegotiate asks for nothing after the request, so a 413 there is not a renegotiation buffer's.
   */
  primed: boolean
  /** The request was already sent again after a 413 once: never twice. */
  resent: boolean
}

/** Why a 413 reaches the caller as it came. */
export type TooLargeDelivery =
  | 'already-resent'
  | 'renegotiated'
  | 'primed'
  | 'tls13'
  | 'h2'
  | 'origin-does-not-renegotiate'
  | 'priming-off'
  | 'body-not-replayable'

/**
 * A 413 is the server's renegotiation buffer only on a connection that had not renegotiated nor been primed, over
 * TLS 1.2 or older and not HTTP/2 (which forbids renegotiation), to an origin that may renegotiate, with priming on: then the request goes once
 * more on a primed connection (RFC 9110 section 15.5.14: the server refused to process it), when
 * its body can be sent again. Any other 413 is the application's and reaches the caller as it is.
 *
 * A 413 moves no policy: it only chooses a connection of the same stack. Measured on Apache 2.4.71:
 * the buffer's 413 (`Content-Length: 356`, `Connection: close`) and a `LimitRequestBody` 413 (no
 * Content-Length, `Connection: close`) differ only in framing, which a rule must not read; a
 * `LimitRequestBody` smaller than the body on an unprimed connection therefore costs one priming and
 * one resend before its 413 (on the primed connection) reaches the caller. Nothing runs twice: the
 * server processed neither.
 */
export function decideTooLarge (input: TooLargeInput): { kind: 'prime-and-resend' } | { kind: 'deliver', reason: TooLargeDelivery } {
  if (input.resent) return { kind: 'deliver', reason: 'already-resent' }
  if (input.renegotiationsBefore > 0) return { kind: 'deliver', reason: 'renegotiated' }
  if (input.primed) return { kind: 'deliver', reason: 'primed' }
  if (tlsVersionRank(input.protocol) >= tlsVersionRank('TLSv1.3')) return { kind: 'deliver', reason: 'tls13' }
  if (input.alpn === 'h2') return { kind: 'deliver', reason: 'h2' }
  if (!originMayRenegotiate(input.origin)) return { kind: 'deliver', reason: 'origin-does-not-renegotiate' }
  if (input.origin.limit === false) return { kind: 'deliver', reason: 'priming-off' }
  if (!input.bodyReplayable) return { kind: 'deliver', reason: 'body-not-replayable' }
  return { kind: 'prime-and-resend' }
}

/**
 * After `prime-and-resend`: the request goes again only if the priming of its path on a new
 * connection renegotiated. That handshake is what tells the buffer's 413 from the application's
 * (what cannot be forged: the client took part in it after authenticating the server's
 * HelloRequest; a status or a header is the server's text). A path whose priming does not
 * renegotiate asks for no certificate, so its 413 was the application's (it may have acted): the
 * 413 is delivered as it came, and the request is not sent again. A priming that failed (reset,
 * timeout) delivers the 413 too: nothing is sent twice on a guess.
 */
export function resendAfterPriming (outcome: 'renegotiated' | 'not-renegotiated' | 'not-applicable' | 'failed'): boolean {
  return outcome === 'renegotiated'
}

/**
 * A handshake that used intermediates read back from a policy store (outside text: whoever can write
 * to the file or to Redis) failed to verify its chain, whatever the code: the store is not believed.
 * The intermediate is fetched afresh, once, and the handshake retried with that (it replaces the
 * stored value); without an `http:` caIssuers URL, or with fetching off, the error as it came.
 */
export function decideStoredIntermediatesFailed (caIssuers: readonly string[], fetchConfigured: boolean): IntermediateStep {
  const url = caIssuers.find((u) => u.startsWith('http:'))
  return url === undefined || !fetchConfigured ? { kind: 'pass' } : { kind: 'fetch', url }
}
