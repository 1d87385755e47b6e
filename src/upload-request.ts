import type { Dispatcher } from 'undici'
import type { ConnectionFacts } from './connector.ts'
import { decideTooLarge } from './decide.ts'
import type { FingerprintId } from './fingerprint.ts'
import type { HostRule } from './options.ts'
import type { PolicyEntry } from './policy/entry.ts'
import { primingTarget } from './priming.ts'
import type { RequestServices } from './request-services.ts'
import { HeldResponse, type HoldOwner } from './response-hold.ts'
import type { StackName } from './stacks.ts'
import type { Telemetry } from './telemetry.ts'
import { primingPathFor, requestBodyLength } from './uploads.ts'

type Headers = Parameters<NonNullable<Dispatcher.DispatchHandler['onResponseStart']>>[2]

/**
 * What one request with a body knows for its uploads (issue 31): the body's length, whether its
 * origin's policy came from a post-handshake-auth 403, which path its attempts prime, and the one
 * resend after a renegotiation buffer's 413 (the held 413 until that resend shows whether it goes).
 * A request without a body has none (`RequestUpload.of` returns undefined): it pays nothing.
 */
export class RequestUpload {
  readonly #origin: string
  readonly #rule: HostRule
  readonly #path: string
  /** The body's size when known before sending; undefined: unknown (a stream). */
  readonly #bodyLength: number | undefined
  #phaFallback = false
  #resent = false
  /** The 413 held while the resend goes (see `resend`). */
  #tooLarge: { held: HeldResponse, trailers: Headers } | undefined

  private constructor (origin: string, rule: HostRule, path: string, bodyLength: number | undefined) {
    this.#origin = origin
    this.#rule = rule
    this.#path = path
    this.#bodyLength = bodyLength
  }

  /** Undefined for a request without a body, or on a host with `uploadPriming: false`. */
  static of (origin: string, rule: HostRule, opts: Dispatcher.DispatchOptions): RequestUpload | undefined {
    if (opts.body == null || rule.uploadPriming === false) return undefined
    const length = requestBodyLength(opts.body, opts.headers)
    return length === 0 ? undefined : new RequestUpload(origin, rule, opts.path, length ?? undefined)
  }

  /** The policy the request starts with: a post-handshake-auth policy means the origin may renegotiate. */
  started (entry: PolicyEntry | undefined): void {
    if (entry?.fingerprint === 'post-handshake-auth-required') this.#phaFallback = true
  }

  /** The path to prime for an attempt on this stack (`fingerprint`: the diagnosis of the request's ladder), if its body needs it. */
  primePath (stack: StackName, fingerprint: FingerprintId | undefined): string | undefined {
    const limit = this.#rule.uploadPriming
    if (limit === false) return undefined
    const phaFallback = this.#phaFallback || fingerprint === 'post-handshake-auth-required'
    return primingPathFor(stack, { limit, hasClientCert: this.#rule.clientCert !== undefined, phaFallback }, this.#bodyLength, this.#path)
  }

  /**
   * Whether this 413 may be the renegotiation buffer's (`decideTooLarge`): then the request holds it
   * back for one resend. Any other 413 is delivered as it came.
   */
  holdsTooLarge (stack: StackName, connection: ConnectionFacts | undefined, primed: boolean, bodyReplayable: boolean, telemetry: Telemetry): boolean {
    const limit = this.#rule.uploadPriming
    const step = decideTooLarge({
      origin: { stack, phaFallback: this.#phaFallback, hasClientCert: this.#rule.clientCert !== undefined, limit },
      renegotiationsBefore: connection === undefined ? 0 : Math.max(0, connection.handshakes - 1),
      protocol: connection?.protocol ?? null,
      alpn: connection?.alpn ?? null,
      bodyReplayable,
      primed,
      resent: this.#resent
    })
    if (step.kind === 'deliver') {
      if (step.reason !== 'origin-does-not-renegotiate') telemetry.debug({ origin: this.#origin, stack, reason: step.reason }, 'a 413 is delivered as it came')
      return false
    }
    if (this.#rule.auth !== undefined) {
      // The resend's connection (src/primed-pools.ts) carries no credentials: it would get a 401.
      telemetry.debug({ origin: this.#origin, stack, reason: 'host-with-auth' }, 'a 413 is delivered as it came')
      return false
    }
    return primingTarget(this.#path) !== undefined
  }

  /**
   * A 413 that may be the renegotiation buffer's (`holdsTooLarge`), held back while its body
   * arrives; undefined when it goes to the caller as it comes.
   */
  holdTooLarge (owner: HoldOwner, headers: Headers, statusMessage: string | undefined, attempt: { connection: ConnectionFacts | undefined, primed: boolean },
    stack: StackName, bodyReplayable: boolean, telemetry: Telemetry): HeldResponse | undefined {
    if (!HeldResponse.fits(headers) || !this.holdsTooLarge(stack, attempt.connection, attempt.primed, bodyReplayable, telemetry)) return undefined
    return new HeldResponse(owner, 413, headers, statusMessage, attempt.connection)
  }

  /** The held 413 ended: the path of the one resend (on a new connection that must renegotiate). */
  resend (held: HeldResponse, trailers: Headers, telemetry: Telemetry, stack: StackName): string {
    this.#resent = true
    this.#tooLarge = { held, trailers }
    telemetry.debug({ origin: this.#origin, stack }, 'a 413 on a connection that had not renegotiated: once more on a new connection, if its priming renegotiates')
    return primingTarget(this.#path) as string
  }

  /**
   * An attempt failed. If it is the resend and it failed in its priming (the path did not
   * renegotiate, or the priming failed), the 413 was not the buffer's, or cannot be shown to be: the
   * caller gets the held 413 as it came (the request was sent once). Returns whether it did.
   */
  resendFailed (error: Error, responded: boolean, services: RequestServices, stack: StackName): boolean {
    const tooLarge = this.#tooLarge
    this.#tooLarge = undefined
    if (tooLarge === undefined || responded || !services.transport.primingFailed(error)) return false
    const { telemetry } = services
    telemetry.debug({ origin: this.#origin, stack, ...telemetry.errorField(error) }, 'the priming for the resend after a 413 did not renegotiate: the 413 is delivered as it came')
    tooLarge.held.deliver(tooLarge.trailers, true)
    return true
  }
}
