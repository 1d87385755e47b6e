import type { Dispatcher } from 'undici'
import type { Prepare } from './connector.ts'
import { DEFAULT_PRIMING_BODY_LIMIT, needsPriming } from './decide.ts'
import { ErrorCodes, invalidOption, TlsFallbackError } from './errors.ts'
import { isPlainObject } from './plain-object.ts'
import { describe } from './policy/memory-cache.ts'
import { isApachePostHandshakeAuth } from './fingerprint.ts'
import { primeConnection, primingTarget, type PrimingResult } from './priming.ts'
import type { StackName } from './stacks.ts'
import type { Telemetry } from './telemetry.ts'

/**
 * Large uploads to servers that ask for the client certificate after the request (issue 31): which
 * requests go on a primed connection, and the `Prepare` step that primes one (src/priming.ts). The
 * decisions are in src/decide.ts (`needsPriming`, `decideTooLarge`, `resendAfterPriming`);
 * src/primed-pools.ts keeps the pools of primed connections, src/upload-request.ts a request's part.
 */

/** `uploadPriming`, top level or per host. */
export type UploadPrimingOptions = boolean | {
  /** A body larger than this many bytes (or of unknown length) goes on a primed connection. Default: 49,152 (IIS's `uploadReadAheadSize`). */
  limit?: number
}

const PRIMING_KEYS = new Set(['limit'])
/** The largest limit accepted: 1 GiB (Apache's `SSLRenegBufferSize` has no practical use above this). */
const MAX_LIMIT = 1024 * 1024 * 1024

/** Validates `uploadPriming` at `path`: the limit in bytes, or false when off. Undefined: the inherited value. */
export function checkUploadPriming (path: string, value: unknown, inherited: number | false): number | false {
  if (value === undefined) return inherited
  if (value === false) return false
  if (value === true) return DEFAULT_PRIMING_BODY_LIMIT
  if (!isPlainObject(value)) throw invalidOption(path, `must be a boolean or { limit }, got ${describe(value)}`)
  for (const key of Object.keys(value)) {
    if (!PRIMING_KEYS.has(key)) throw invalidOption(`${path}.${key}`, 'is not an option (known: limit)')
  }
  const limit = (value as { limit?: unknown }).limit
  if (limit === undefined) return DEFAULT_PRIMING_BODY_LIMIT
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0 || limit > MAX_LIMIT) {
    throw invalidOption(`${path}.limit`, `must be an integer number of bytes from 0 to ${MAX_LIMIT}, got ${describe(limit)}`)
  }
  return limit
}

/** A `Content-Length` header of the request (object, flat array or iterable of pairs), if it has one that is a number. */
function contentLength (headers: Dispatcher.DispatchOptions['headers']): number | undefined {
  if (headers == null || typeof headers !== 'object') return undefined
  let value: unknown
  const named = (name: unknown): boolean => typeof name === 'string' && name.length === 14 && name.toLowerCase() === 'content-length'
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length; i += 2) if (named(headers[i])) value = headers[i + 1]
  } else if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const pair of headers as Iterable<unknown>) if (Array.isArray(pair) && named(pair[0])) value = pair[1]
  } else {
    for (const name of Object.keys(headers)) if (named(name)) value = (headers as Record<string, unknown>)[name]
  }
  const text: unknown = Array.isArray(value) ? (value as unknown[])[0] : value
  return (typeof text === 'string' || typeof text === 'number') && /^\d{1,15}$/.test(String(text)) ? Number(text) : undefined
}

/**
 * The request body's size in bytes when it is known before sending: a string, bytes, a Blob, or
 * any body with a `Content-Length`; `undefined` when it is not (a stream, an iterable, FormData:
 * counted as large); `null` without a body.
 */
export function requestBodyLength (body: unknown, headers: Dispatcher.DispatchOptions['headers']): number | null | undefined {
  if (body == null) return null
  if (typeof body === 'string') return Buffer.byteLength(body)
  if (ArrayBuffer.isView(body)) return body.byteLength
  if (body instanceof ArrayBuffer) return body.byteLength
  if (typeof Blob === 'function' && body instanceof Blob) return body.size
  return contentLength(headers)
}

/** What the request knows of its origin when it picks a connection for an attempt. */
export interface UploadContext {
  /** The host's `uploadPriming` limit, or false. */
  limit: number | false
  hasClientCert: boolean
  phaFallback: boolean
}

/**
 * The path to prime for this attempt, or undefined when it goes on an ordinary connection: no body,
 * priming off, a small body, an origin that does not renegotiate (`needsPriming`), or a path that
 * cannot be sent as a priming request line.
 */
export function primingPathFor (stack: StackName, context: UploadContext, bodyLength: number | null | undefined, path: string): string | undefined {
  if (!needsPriming(bodyLength, { stack, phaFallback: context.phaFallback, hasClientCert: context.hasClientCert, limit: context.limit })) return undefined
  return primingTarget(path)
}

/** Errors of a priming (the connection's, or `TLS_FALLBACK_PRIMING_FAILED`): the request on that connection never left. */
const primingFailures = new WeakSet<object>()

/** Priming failures that were Apache's post-handshake-auth 403 to the TLS 1.3 probe: what the connection was. */
const postHandshakeAnswers = new WeakMap<object, { connection: { protocol: string | null, cipher: string | null }, bodyBytes: number }>()

/** When the TLS 1.3 probe got Apache's post-handshake-auth 403 (`isApachePostHandshakeAuth`): its connection and body size. */
export function primingAnswer (error: unknown): { connection: { protocol: string | null, cipher: string | null }, bodyBytes: number } | undefined {
  return typeof error === 'object' && error !== null ? postHandshakeAnswers.get(error) : undefined
}

/** Whether this error came from the priming of a new connection: the request it failed was not sent. */
export function isPrimingFailure (error: unknown): boolean {
  return typeof error === 'object' && error !== null && primingFailures.has(error)
}

/**
 * The `Prepare` that primes each new connection of a pool for `path`. `requireRenegotiation`: the
 * connection is for the one resend after a renegotiation buffer's 413, which goes only on a
 * connection whose priming renegotiated (`resendAfterPriming`); otherwise the connect fails with
 * `TLS_FALLBACK_PRIMING_FAILED` (reason `not-renegotiated`) and nothing is sent.
 */
export function primingPrepare (path: string, telemetry: Telemetry, requireRenegotiation = false): Prepare {
  return (socket, connection, done) => {
    const started = performance.now()
    const publish = (result: PrimingResult | undefined, error: (Error & { code?: string }) | undefined): void => {
      telemetry.priming({
        origin: connection.origin,
        stack: connection.stack,
        path,
        outcome: result?.outcome ?? 'failed',
        status: result?.status,
        renegotiations: result?.renegotiations ?? 0,
        durationMs: Math.round((performance.now() - started) * 1000) / 1000,
        ...(error === undefined ? {} : { error: { code: error.code, message: error.message } })
      })
    }
    const fail = (error: Error & { code?: string }, result?: PrimingResult): void => {
      primingFailures.add(error)
      publish(result, error)
      done(error)
    }
    primeConnection(socket, { host: connection.host, path, timeout: connection.timeout, handshakes: connection.handshakes, tls13Probe: true }).then((result) => {
      const answer = result.answer
      if (answer !== undefined && isApachePostHandshakeAuth({ ...answer, alpn: socket.alpnProtocol })) {
        // The server asks for the certificate after the request on TLS 1.3, which Node cannot give:
        // the request goes up the ladder (src/recovery.ts) before its body went anywhere.
        const error = new TlsFallbackError(ErrorCodes.PRIMING_FAILED, `priming request failed: the server answered 403, it cannot perform post-handshake authentication (on ${socket.getProtocol() ?? 'TLS'})`)
        postHandshakeAnswers.set(error, { connection: { protocol: socket.getProtocol(), cipher: socket.getCipher()?.standardName ?? null }, bodyBytes: answer.body.length })
        fail(error, result)
      } else if (!result.reusable) {
        fail(new TlsFallbackError(ErrorCodes.PRIMING_FAILED, 'priming request failed: the server closes the connection after its response'), result)
      } else if (requireRenegotiation && result.outcome !== 'renegotiated') {
        fail(Object.assign(new TlsFallbackError(ErrorCodes.PRIMING_FAILED, `priming request failed: the path did not renegotiate (${result.outcome})`), { reason: 'not-renegotiated' }), result)
      } else {
        publish(result, undefined)
        done(null)
      }
    }, (error: Error) => { fail(error) })
  }
}
