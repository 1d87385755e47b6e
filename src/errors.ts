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
  CLIENT_CERTIFICATE_REQUIRED: 'TLS_FALLBACK_CLIENT_CERTIFICATE_REQUIRED'
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

  constructor (code: ErrorCode, message: string, details: TlsFallbackErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.code = code
    this.origin = details.origin
    this.fingerprint = details.fingerprint
    this.attempts = details.attempts ?? []
    this.option = details.option
  }
}

/** Shorthand for the constructor's validation errors. */
export function invalidOption (option: string, problem: string, cause?: unknown): TlsFallbackError {
  return new TlsFallbackError(ErrorCodes.INVALID_OPTION, `TlsFallbackAgent: ${option} ${problem}`, { option, cause })
}
