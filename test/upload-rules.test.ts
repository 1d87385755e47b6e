import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { StackName } from '../src/stacks.ts'
import {
  decideTooLarge, DEFAULT_PRIMING_BODY_LIMIT, needsPriming, originMayRenegotiate, type TooLargeInput, type UploadOrigin
} from '../src/upload-rules.ts'

// The upload rules of issue 31 (src/upload-rules.ts), table by table, without a socket.

const origin = (over: Partial<UploadOrigin> = {}): UploadOrigin =>
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
    test(`${name}: ${expected ? 'may' : 'does not'}`, () => {
      assert.equal(originMayRenegotiate(origin(over)), expected)
    })
  }
})

describe('which requests need a primed connection', () => {
  const renegotiating = origin({ stack: 'renegotiation' })
  const rows: Array<[string, number | null | undefined, UploadOrigin, boolean]> = [
    ['no body', null, renegotiating, false],
    ['an empty body', 0, renegotiating, false],
    ['1 byte', 1, renegotiating, false],
    ['exactly the default limit (IIS uploadReadAheadSize, 49152)', 49_152, renegotiating, false],
    ['one byte over the default limit', 49_153, renegotiating, true],
    ['1 MB', 1_000_000, renegotiating, true],
    ['a body of unknown length (a stream) counts as large', undefined, renegotiating, true],
    ['1 MB to an origin that does not renegotiate', 1_000_000, origin(), false],
    ['a stream to an origin that does not renegotiate', undefined, origin(), false],
    ['1 MB with priming off for the host', 1_000_000, origin({ stack: 'renegotiation', limit: false }), false],
    ['a stream with priming off for the host', undefined, origin({ hasClientCert: true, limit: false }), false],
    ['200 kB under a host limit of 1 MiB', 200_000, origin({ stack: 'renegotiation', limit: 1_048_576 }), false],
    ['2 kB over a host limit of 1 kB (a server with a smaller buffer)', 2_048, origin({ phaFallback: true, limit: 1_024 }), true],
    ['a host limit of 0: every body', 1, origin({ hasClientCert: true, limit: 0 }), true]
  ]
  for (const [name, length, o, expected] of rows) {
    test(`${name}: ${expected ? 'primed' : 'not primed'}`, () => {
      assert.equal(needsPriming(length, o), expected)
    })
  }
})

describe('which 413 is a renegotiation buffer\'s (one priming, one resend) and which the application\'s (delivered as it came)', () => {
  const base: TooLargeInput = {
    origin: origin({ stack: 'renegotiation' }),
    renegotiationsBefore: 0,
    protocol: 'TLSv1.2',
    bodyReplayable: true,
    primed: false,
    resent: false
  }
  const rows: Array<[string, Partial<TooLargeInput>, ReturnType<typeof decideTooLarge>]> = [
    ['unprimed, not renegotiated, TLS 1.2, renegotiating origin, replayable body', {}, { kind: 'prime-and-resend' }],
    ['a host with a clientCert still on strict (Apache answers 413 before it renegotiates)', { origin: origin({ hasClientCert: true }) }, { kind: 'prime-and-resend' }],
    ['TLS 1.1 (renegotiation exists)', { protocol: 'TLSv1.1' }, { kind: 'prime-and-resend' }],
    ['already sent again once: never twice', { resent: true }, { kind: 'deliver', reason: 'already-resent' }],
    ['the connection had renegotiated: the server asked nothing more', { renegotiationsBefore: 1 }, { kind: 'deliver', reason: 'renegotiated' }],
    ['a primed connection that did not renegotiate: the path asks for nothing', { primed: true }, { kind: 'deliver', reason: 'primed' }],
    ['TLS 1.3: no renegotiation, no buffer for one', { protocol: 'TLSv1.3' }, { kind: 'deliver', reason: 'tls13' }],
    ['an origin that does not renegotiate', { origin: origin() }, { kind: 'deliver', reason: 'origin-does-not-renegotiate' }],
    ['priming off for the host', { origin: origin({ stack: 'renegotiation', limit: false }) }, { kind: 'deliver', reason: 'priming-off' }],
    ['a body that cannot be sent again (a stream)', { bodyReplayable: false }, { kind: 'deliver', reason: 'body-not-replayable' }]
  ]
  for (const [name, over, expected] of rows) {
    test(`${name}: ${expected.kind === 'deliver' ? `delivered (${expected.reason})` : 'prime and send again'}`, () => {
      assert.deepEqual(decideTooLarge({ ...base, ...over }), expected)
    })
  }

  test('a 413 never moves a stack: the decision names no stack to learn or to try', () => {
    for (const stack of ['strict', 'tls13', 'renegotiation', 'legacy-server-connect'] as StackName[]) {
      const step = decideTooLarge({ ...base, origin: origin({ stack, hasClientCert: true }) })
      assert.deepEqual(Object.keys(step).sort(), step.kind === 'deliver' ? ['kind', 'reason'] : ['kind'])
    }
  })
})
