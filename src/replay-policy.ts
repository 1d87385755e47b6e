import type { Dispatcher } from 'undici'
import type { Diagnosis } from './fingerprint.ts'
import { isIdempotent } from './replay.ts'

/**
 * Whether a request may be sent again after a diagnosed failure: the one place that decides it.
 * The body's own limit (a stream past `maxReplayBodySize`) is checked separately.
 *
 * - `replay`: send it again on the next stack.
 * - `not-idempotent`: the evidence is authenticated, so the policy may be learned, but the server may
 *   have acted on the request and it is not idempotent: the caller gets `TLS_FALLBACK_NOT_REPLAYED`.
 * - `unverified`: the evidence could have been forged and the request is not idempotent: the caller
 *   gets the original error and nothing is learned from it.
 */
export type ReplayVerdict = 'replay' | 'not-idempotent' | 'unverified'

/**
 * Whether the diagnosis proves that the server did not act on the request. Every fingerprint takes
 * a side here (the switch is exhaustive: a new fingerprint does not compile until it does).
 */
export function refusedBeforeProcessing (diagnosis: Diagnosis): boolean {
  switch (diagnosis.fingerprint) {
    case 'unsafe-legacy-renegotiation':
      // The handshake failed: the request never left.
      return true
    case 'http11-required':
      // Only a stream above a GOAWAY's last-stream-id (RFC 9113 section 8.7); not RST_STREAM(0xd).
      return diagnosis.requestUnprocessed === true
    case 'renegotiation-refused':
      // IIS's and Apache's access check renegotiate before the handler runs; ASP.NET's late client
      // certificate renegotiates after it acted. From the wire the two cannot be told apart.
      return false
    case 'client-certificate-required':
      return false
    case 'post-handshake-auth-required':
      // Apache refused the request in its access check (a 403 on TLS 1.3), before any handler ran.
      return true
  }
}

/** Whether the request says it may be sent twice: an idempotent method, undici's `idempotent`, or an `Idempotency-Key` header. */
export function requestIsIdempotent (method: string, idempotent: boolean | undefined, headers: Dispatcher.DispatchOptions['headers']): boolean {
  return isIdempotent(method, idempotent) || (idempotent === undefined && hasIdempotencyKey(headers))
}

function isKey (name: unknown): boolean {
  return typeof name === 'string' ? name.toLowerCase() === 'idempotency-key' : Buffer.isBuffer(name) && name.toString('latin1').toLowerCase() === 'idempotency-key'
}

/** Whether the headers (undici's object, flat array or iterable of pairs forms) carry an `Idempotency-Key`. */
export function hasIdempotencyKey (headers: Dispatcher.DispatchOptions['headers']): boolean {
  if (headers == null || typeof headers !== 'object') return false
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length; i += 2) if (isKey(headers[i])) return true
    return false
  }
  if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const pair of headers as Iterable<unknown>) {
      if (Array.isArray(pair) && isKey(pair[0])) return true
    }
    return false
  }
  for (const name of Object.keys(headers)) if (isKey(name)) return true
  return false
}

export function replayVerdict (diagnosis: Diagnosis, idempotent: boolean, replayNonIdempotent: boolean): ReplayVerdict {
  if (refusedBeforeProcessing(diagnosis) || idempotent) return 'replay'
  if (!diagnosis.evidence.verified) return 'unverified'
  return replayNonIdempotent ? 'replay' : 'not-idempotent'
}
