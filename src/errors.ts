/**
 * Every error this library creates is a `TlsFallbackError` with a stable `code`. Match on `code`,
 * not on `instanceof` (two copies of the package in one process make `instanceof` unreliable).
 * Errors that are not ours (a refused connection, a certificate error, an abort) reach the caller
 * unchanged, with their original code.
 */
export const ErrorCodes = {
  /** A constructor option is wrong; the message names the option's path. */
  INVALID_OPTION: 'TLS_FALLBACK_INVALID_OPTION',
  /** A fingerprint matched, but the host's policy does not allow the stack that would work. */
  NOT_ALLOWED: 'TLS_FALLBACK_NOT_ALLOWED',
  /** A fallback was needed but the request body cannot be sent again. The policy was still learned when the evidence allowed it. */
  BODY_NOT_REPLAYABLE: 'TLS_FALLBACK_BODY_NOT_REPLAYABLE',
  /**
   * A verified refusal came after the request was sent (the server may have acted on it), and the
   * request is not idempotent, so it was not sent again. The policy was learned: the next request
   * goes straight to the stack that works. `replayNonIdempotent: true` replays instead.
   */
  NOT_REPLAYED: 'TLS_FALLBACK_NOT_REPLAYED',
  /** Every stack the host allows that could address the failure was tried, and each failed. */
  EXHAUSTED: 'TLS_FALLBACK_EXHAUSTED',
  /** The server renegotiated to ask for a client certificate and the host has no `clientCert`. */
  CLIENT_CERTIFICATE_REQUIRED: 'TLS_FALLBACK_CLIENT_CERTIFICATE_REQUIRED',
  /**
   * The proxy failed: it refused the connection or the tunnel (407, 403, 502, 503, a SOCKS5 refusal),
   * reset it, or timed out before the tunnel was up; or the tunnel could not be asked for as it is (a
   * SOCKS5 host name, username or password longer than 255 bytes: refused before connecting to the
   * proxy). Never a fingerprint: no policy moves, no other stack is tried. `proxy` is the proxy's URL
   * without credentials, `statusCode` its HTTP status.
   */
  PROXY_ERROR: 'TLS_FALLBACK_PROXY_ERROR',
  /**
   * Windows Integrated Authentication cannot run here: `negotiate` without credentials needs the
   * optional peer dependency `kerberos` (and the system's GSSAPI library), which could not be loaded.
   */
  AUTH_UNAVAILABLE: 'TLS_FALLBACK_AUTH_UNAVAILABLE',
  /**
   * The server's or proxy's authentication challenge cannot be used: not valid Base64, an NTLM
   * challenge that is truncated, whose lengths or offsets point outside it, or that lacks what NTLMv2
   * needs. Nothing was sent in answer to it.
   */
  AUTH_INVALID_CHALLENGE: 'TLS_FALLBACK_AUTH_INVALID_CHALLENGE',
  /**
   * The authentication exchange failed on this side: GSSAPI found no usable ticket or service
   * principal, or the server's final Negotiate token did not prove its identity (mutual
   * authentication failed). The message never holds a credential or a token.
   */
  AUTH_FAILED: 'TLS_FALLBACK_AUTH_FAILED',
  /**
   * The priming request on a new connection (a `HEAD` sent before a large upload, so that a server
   * that asks for the client certificate after the request renegotiates first) got no usable
   * response: the server closed the connection, the head was malformed or too large, bytes followed
   * it, or the connect timeout ran out. `reason` says which. A socket error is passed on as it is.
   */
  PRIMING_FAILED: 'TLS_FALLBACK_PRIMING_FAILED'
} as const

export type ErrorCode = typeof ErrorCodes[keyof typeof ErrorCodes]

/** One attempt of a request, as reported in `TlsFallbackError.attempts`. */
export interface AttemptSummary {
  stack: string
  http1Only: boolean
  /** The error code the attempt failed with, or `undefined` if it got a response. */
  code: string | undefined
  /** The fingerprint matched on this attempt's failure, if any. */
  fingerprint: string | undefined
}

export interface TlsFallbackErrorDetails {
  cause?: unknown
  origin?: string | undefined
  fingerprint?: string | undefined
  attempts?: AttemptSummary[] | undefined
  /** For `TLS_FALLBACK_INVALID_OPTION`: the option's path, such as `hosts['a.example'].fallback[1]`. */
  option?: string | undefined
  /** For `TLS_FALLBACK_PROXY_ERROR`: the proxy's URL, credentials removed. */
  proxy?: string | undefined
  /** For `TLS_FALLBACK_PROXY_ERROR`: the proxy's HTTP status (CONNECT answer), when it answered one. */
  statusCode?: number | undefined
}

export class TlsFallbackError extends Error {
  override name = 'TlsFallbackError'
  readonly code: ErrorCode
  /** The origin (`https://host[:port]`) the request went to, when the error is about a request. */
  readonly origin: string | undefined
  /** The fingerprint that matched, when there was one. */
  readonly fingerprint: string | undefined
  /** Every attempt made for the request, in order. */
  readonly attempts: AttemptSummary[]
  /** For `TLS_FALLBACK_INVALID_OPTION`: the path of the offending option. */
  readonly option: string | undefined
  /** For `TLS_FALLBACK_PROXY_ERROR`: the proxy's URL, credentials removed (`http://***@proxy:3128`). */
  readonly proxy: string | undefined
  /** For `TLS_FALLBACK_PROXY_ERROR`: the proxy's HTTP status, when it answered the CONNECT. */
  readonly statusCode: number | undefined

  constructor (code: ErrorCode, message: string, details: TlsFallbackErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.code = code
    this.origin = details.origin
    this.fingerprint = details.fingerprint
    this.attempts = details.attempts ?? []
    this.option = details.option
    this.proxy = details.proxy
    this.statusCode = details.statusCode
  }
}

/**
 * undici's error classes answer `instanceof` by these registered symbols (its `Symbol.hasInstance`),
 * so that two copies of undici recognise each other's errors.
 */
const UNDICI_ERROR = Symbol.for('undici.error.UND_ERR')
const UNDICI_INVALID_ARGUMENT = Symbol.for('undici.error.UND_ERR_INVALID_ARG')

/**
 * Shorthand for the constructor's validation errors. Also `instanceof` undici's
 * `errors.InvalidArgumentError` (and `UndiciError`), as undici's Agent throws for a bad option,
 * while `code` stays `TLS_FALLBACK_INVALID_OPTION`.
 */
export function invalidOption (option: string, problem: string, cause?: unknown): TlsFallbackError {
  const error = new TlsFallbackError(ErrorCodes.INVALID_OPTION, `TlsFallbackAgent: ${option} ${problem}`, { option, cause })
  Object.defineProperty(error, UNDICI_ERROR, { value: true })
  Object.defineProperty(error, UNDICI_INVALID_ARGUMENT, { value: true })
  return error
}

/** A failure of the proxy itself (never of the origin): `TLS_FALLBACK_PROXY_ERROR`, naming the proxy without credentials. */
export function proxyError (proxy: string, problem: string, details: { statusCode?: number, cause?: unknown, origin?: string } = {}): TlsFallbackError {
  return new TlsFallbackError(ErrorCodes.PROXY_ERROR, `proxy ${proxy} ${problem}`, {
    proxy,
    statusCode: details.statusCode,
    cause: details.cause,
    origin: details.origin
  })
}

/** A failure of Windows Integrated Authentication (`TLS_FALLBACK_AUTH_*`): the message holds no credential or token. */
export function authError (code: typeof ErrorCodes.AUTH_UNAVAILABLE | typeof ErrorCodes.AUTH_INVALID_CHALLENGE | typeof ErrorCodes.AUTH_FAILED, problem: string, details: { cause?: unknown, origin?: string } = {}): TlsFallbackError {
  return new TlsFallbackError(code, problem, { cause: details.cause, origin: details.origin })
}
