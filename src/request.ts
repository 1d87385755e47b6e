import type { Dispatcher } from 'undici'
import { AsyncResource } from 'node:async_hooks'
import type { Duplex } from 'node:stream'
import { AttemptHandler } from './attempt.ts'
import { StableController } from './controller.ts'
import type { AttemptSummary } from './errors.ts'
import { decideTooLarge, learnsOnSuccess, mayHoldBack } from './decide.ts'
import { isApachePostHandshakeAuth, type ConnectionSnapshot, type Diagnosis, type Http2StreamFacts } from './fingerprint.ts'
import type { LadderGate } from './ladder-gate.ts'
import type { HostRule } from './options.ts'
import type { PolicyBook } from './policy/book.ts'
import type { PolicyEntry } from './policy/entry.ts'
import { Recovery } from './recovery.ts'
import { ReplayableBody } from './replay.ts'
import { HeldResponse, type HoldOwner } from './response-hold.ts'
import type { StackName } from './stacks.ts'
import type { AttemptReason, RequestInfo, Telemetry } from './telemetry.ts'
import { primingPathFor, requestBodyLength } from './uploads.ts'
import { primingTarget } from './priming.ts'

type Handler = Dispatcher.DispatchHandler
type Controller = Dispatcher.DispatchController
type Headers = Parameters<NonNullable<Handler['onResponseStart']>>[2]

/** Where a request's attempts go, and what the agent knows about the connections they failed on. */
export interface Transport {
  /** `primePath`: on a connection primed for that path (uploads, src/uploads.ts). */
  send: (stack: StackName, http1Only: boolean, opts: Dispatcher.DispatchOptions, handler: Handler, primePath?: string) => void
  /** The one resend after a renegotiation buffer's 413: on a new connection, only if its priming renegotiates. */
  resendPrimed: (stack: StackName, primePath: string, opts: Dispatcher.DispatchOptions, handler: Handler) => void
  /** Whether the attempt failed in the priming of its connection (the request never left). */
  primingFailed: (error: unknown) => boolean
  /** When the TLS 1.3 probe of a primed connection got Apache's post-handshake-auth 403: its connection and body size. */
  primingAnswer: (error: unknown) => { connection: { protocol: string | null, cipher: string | null }, bodyBytes: number } | undefined
  snapshotFor: (error: unknown) => ConnectionSnapshot | undefined
  /** What Node reported about the HTTP/2 stream that failed with this error. */
  http2FailureFor: (error: unknown) => Http2StreamFacts | undefined
  /**
   * After a strict hello without RFC 5746: whether a completed (authenticated) handshake confirms
   * that the server lacks it. Resolves to verified evidence, or undefined; never rejects.
   */
  confirmLegacy: (origin: string, url: URL, diagnosis: Diagnosis) => Promise<Diagnosis | undefined>
}

/** A request's collaborators: the agent's telemetry, transport, policy book and gate, and two limits. */
export interface RequestServices {
  readonly telemetry: Telemetry
  readonly transport: Transport
  readonly book: PolicyBook
  readonly gate: LadderGate
  readonly limits: { readonly resetRetries: number, readonly maxReplayBodySize: number }
}

const NO_CONTEXT = Object.freeze({})
/** The failures of every request that has none (telemetry's `failures`); frozen, so that nothing can push into it by mistake. */
const NO_ATTEMPTS: AttemptSummary[] = Object.freeze([]) as unknown as AttemptSummary[]

function pathOf (path: string): string {
  const q = path.indexOf('?')
  return q === -1 ? path : path.slice(0, q)
}

/**
 * One request through the agent, as a relay: which attempt is live, the caller's handler and its
 * one controller, and how the request ends. The caller's handler sees one onRequestStart, one
 * controller and at most one response. A failed attempt goes to the request's Recovery (the
 * ladder, src/recovery.ts), which decides with src/decide.ts and sends the next attempt here.
 */
export class FallbackRequest implements HoldOwner {
  readonly origin: string
  readonly url: URL
  readonly rule: HostRule
  /** The caller's options, with the agent's own origin string. */
  readonly opts: Dispatcher.DispatchOptions
  readonly method: string
  readonly #services: RequestServices
  readonly #handler: Handler
  readonly #controller: StableController
  readonly #body: ReplayableBody
  #stack: StackName = 'strict'
  #http1Only = false
  #fromPolicy = false
  #attempt = 0
  /** The attempt whose callbacks count; 0 while a held-back response routes its attempt's callbacks. */
  #live = 0
  /** The body's size when known before sending; null without a body; undefined: unknown (uploads). */
  readonly #bodyLength: number | null | undefined
  /** The origin's policy came from a post-handshake-auth 403 (uploads: it may renegotiate). */
  #phaFallback = false
  /** A renegotiation buffer's 413, held while the one resend goes (see #holdsTooLarge). */
  #tooLarge: { held: HeldResponse, trailers: Headers } | undefined
  #resent = false
  #started = false
  #responded = false
  #done = false
  /** What the request keeps once an attempt failed (see Recovery): undefined until then. */
  #recovery: Recovery | undefined
  /** An attempt holds a connection: a caller's abort reaches it through its controller. */
  #inFlight = false
  /** Set only while telemetry listens to requests (see Telemetry.wantsRequests). */
  readonly #info: RequestInfo | undefined
  /** The caller's async context, kept only for tracers (see Telemetry.wantsCallerContext). */
  readonly #callerScope: AsyncResource | undefined
  /** Where the request sits in the gate's list of requests in flight (written by that list only, see LadderGate#track). */
  slot = -1

  constructor (services: RequestServices, origin: string, url: URL, rule: HostRule, opts: Dispatcher.DispatchOptions, handler: Handler) {
    this.#services = services
    this.origin = origin
    this.url = url
    this.rule = rule
    // undici's Agent keys its pools by `opts.origin`. The string undici's request() passes (built by
    // URL#origin) is a new cons string for every request, which the Agent's Map hashed again each
    // time: 556 instructions per request (callgrind; 1,735 in a plain Agent's process). The attempts
    // carry the agent's own string for this origin instead, the same object every time and already
    // hashed: 46.
    this.opts = { ...opts, origin }
    this.#handler = handler
    // 'GET' (most requests) as it is: toUpperCase() costs tens of nanoseconds even when nothing changes.
    this.method = opts.method === 'GET' ? 'GET' : String(opts.method ?? 'GET').toUpperCase()
    this.#body = ReplayableBody.of(opts.body, services.limits.maxReplayBodySize)
    this.#bodyLength = opts.body == null ? null : requestBodyLength(opts.body, opts.headers)
    this.#controller = new StableController(this)
    const telemetry = services.telemetry
    if (telemetry.wantsRequests) {
      this.#info = { origin, method: this.method, path: pathOf(opts.path) }
      telemetry.requestStart({ request: this.#info })
    }
    if (telemetry.wantsCallerContext) this.#callerScope = new AsyncResource('undici-tls-fallback:request')
  }

  get pinned (): boolean {
    return this.rule.stack !== undefined
  }

  /** The stack of the current (or last) attempt. */
  get stack (): StackName {
    return this.#stack
  }

  get http1Only (): boolean {
    return this.#http1Only
  }

  /** Whether the current attempt follows a learned policy. */
  get fromPolicy (): boolean {
    return this.#fromPolicy
  }

  /** Whether the request's body can be sent again. */
  get replayable (): boolean {
    return this.#body.replayable
  }

  /** The request as telemetry names it; undefined while no one listens to requests. */
  get info (): RequestInfo | undefined {
    return this.#info
  }

  /** Whether the caller's handler got its last callback. */
  get ended (): boolean {
    return this.#done
  }

  /**
   * Hands the caller its controller right away, before the request may wait (at a cold-start gate,
   * for a ladder another request runs, for a policy store): an abort then takes effect at once.
   * Returns whether the request is still going (the handler may have aborted it in onRequestStart).
   */
  open (): boolean {
    if (!this.#started && !this.#done) {
      this.#started = true
      this.#handler.onRequestStart?.(this.#controller, NO_CONTEXT)
    }
    return !this.#done
  }

  /** First attempt: the pinned stack, else the learned policy (as the agent read it), else strict. */
  start (entry: PolicyEntry | undefined): void {
    if (this.pinned) entry = undefined
    if (entry?.fingerprint === 'post-handshake-auth-required') this.#phaFallback = true
    this.send('initial', this.rule.stack ?? entry?.stack ?? 'strict', this.rule.http1Only || entry?.http1Only === true, entry !== undefined)
  }

  /** Fails the request (the agent is being destroyed): at once when it waits, through its attempt otherwise. */
  abort (error: Error): void {
    if (this.#done) return
    this.#controller.abort(error)
  }

  /** Sends an attempt on this stack; the attempts before it no longer count. `resendPath`: the one resend after a buffer 413. */
  send (reason: AttemptReason, stack: StackName, http1Only: boolean, fromPolicy: boolean, resendPath?: string): void {
    this.#stack = stack
    this.#http1Only = http1Only
    this.#fromPolicy = fromPolicy
    if (this.#done) return
    if (this.#controller.abortedByCaller) {
      this.fail(this.#controller.reason ?? new Error('aborted'))
      return
    }
    this.#attempt += 1
    const attempt = this.#attempt
    this.#live = attempt
    let body: unknown
    try {
      body = this.#body.nextBody()
    } catch (error) {
      this.fail(error as Error)
      return
    }
    const { telemetry, transport } = this.#services
    // Uploads (issue 31): nothing to decide for a request without a body (most requests).
    const primePath = resendPath ?? (this.#bodyLength === null ? undefined : this.#primePath(stack))
    if (telemetry.wantsAttempts) {
      telemetry.attempt({
        origin: this.origin, method: this.method, path: pathOf(this.opts.path), stack, http1Only, attempt, reason, ...(primePath === undefined ? {} : { primed: true }), request: this.#info
      })
    }
    // The request's options (the caller's, with the agent's origin string) go as they are unless the body must be replaced (a stream, teed).
    const opts = body === this.opts.body ? this.opts : { ...this.opts, body } as Dispatcher.DispatchOptions
    const handler = new AttemptHandler(this, attempt)
    handler.primed = primePath !== undefined
    if (resendPath !== undefined) {
      transport.resendPrimed(stack, resendPath, opts, handler)
      return
    }
    if (this.#callerScope === undefined) transport.send(stack, http1Only, opts, handler, primePath)
    else this.#callerScope.runInAsyncScope(transport.send, transport, stack, http1Only, opts, handler, primePath)
  }

  /** The path to prime for an attempt on this stack, if its body needs a primed connection. */
  #primePath (stack: StackName): string | undefined {
    const limit = this.rule.uploadPriming
    if (limit === false) return undefined
    const phaFallback = this.#phaFallback || this.#recovery?.diagnosis?.fingerprint === 'post-handshake-auth-required'
    return primingPathFor(stack, { limit, hasClientCert: this.rule.clientCert !== undefined, phaFallback }, this.#bodyLength, this.opts.path)
  }

  /** Whether callbacks of this attempt still count (a later attempt replaced it, or the request ended). */
  isCurrent (attempt: number): boolean {
    return attempt === this.#live && !this.#done
  }

  onAttemptStart (controller: Controller, context: unknown): void {
    this.#inFlight = true
    this.#controller.attach(controller)
    if (!this.#started) {
      this.#started = true
      this.#handler.onRequestStart?.(this.#controller, context)
    }
  }

  /** A request that ended (the caller aborted) while its attempt waited for a connection. */
  onStaleStart (controller: Controller): void {
    if (this.#done) controller.abort(this.#controller.reason ?? new Error('aborted'))
  }

  onAttemptUpgrade (statusCode: number, headers: Headers, socket: Duplex): void {
    this.#responded = true
    this.#onSuccess()
    this.#handler.onRequestUpgrade?.(this.#controller, statusCode, headers, socket)
    this.#finish()
  }

  onAttemptResponseStarted (): void {
    this.#handler.onResponseStarted?.()
  }

  onAttemptHeaders (statusCode: number, headers: Headers, statusMessage: string | undefined, attempt: AttemptHandler): void {
    // The one check every response pays: only a 403 may be held back (see #holdsBack).
    if (statusCode === 403 && this.#holdsBack(headers, statusMessage, attempt)) return
    if (statusCode === 413 && this.#holdsTooLarge(headers, statusMessage, attempt)) return
    if (statusCode >= 200 && !this.#responded) {
      this.#responded = true
      this.#onSuccess()
    }
    this.#handler.onResponseStart?.(this.#controller, statusCode, headers, statusMessage)
  }

  onAttemptData (chunk: Buffer): void {
    this.#handler.onResponseData?.(this.#controller, chunk)
  }

  onAttemptEnd (trailers: Headers): void {
    this.#handler.onResponseEnd?.(this.#controller, trailers)
    this.#finish()
  }

  /** `http2`: what Node reported about the attempt's HTTP/2 stream, if it had one. */
  onAttemptFailed (error: Error & { code?: string }, http2?: Http2StreamFacts): void {
    this.#inFlight = false
    const tooLarge = this.#tooLarge
    if (tooLarge !== undefined) {
      this.#tooLarge = undefined
      if (!this.#responded && this.#services.transport.primingFailed(error)) {
        // The resend's priming did not renegotiate (or failed): the 413 was not the buffer's, or
        // cannot be shown to be. The caller gets it as it came; the request was sent once.
        const { telemetry } = this.#services
        telemetry.debug({ origin: this.origin, stack: this.#stack, ...telemetry.errorField(error) }, 'a 413 on a connection that had not renegotiated: the priming for the resend did not renegotiate, the 413 is delivered as it came')
        this.deliver(tooLarge.held, tooLarge.trailers, true)
        return
      }
    }
    if (this.#responded || this.#controller.abortedByCaller) {
      this.fail(this.#controller.abortedByCaller ? (this.#controller.reason ?? error) : error)
      return
    }
    this.#recover().attemptFailed(error, http2)
  }

  onAttemptBodySent (chunk: Buffer): void {
    this.#handler.onBodySent?.(chunk)
  }

  onAttemptRequestSent (): void {
    this.#handler.onRequestSent?.()
  }

  /**
   * A 403 that may say "cannot perform post-handshake authentication" is held back while its body
   * (at most HOLD_LIMIT bytes) arrives: on a TLS 1.3 connection, or on the stack tried after that
   * fingerprint (so that the policy moves only once that stack got another answer). Any other
   * response, and a 403 with a longer body, streams through untouched.
   */
  #holdsBack (headers: Headers, statusMessage: string | undefined, attempt: AttemptHandler): boolean {
    const connection = attempt.connection
    if (!mayHoldBack(this.#responded, this.pinned, connection?.protocol, this.#recovery?.diagnosis?.fingerprint)) return false
    if (!HeldResponse.fits(headers)) return false
    attempt.hold = new HeldResponse(this, 403, headers, statusMessage, connection)
    this.#live = 0
    return true
  }

  /**
   * A 413 that may be the renegotiation buffer's (see `decideTooLarge`) is held back while its body
   * (at most HOLD_LIMIT bytes) arrives, then the request goes once more on a new connection primed
   * for its path, which carries it only if that priming renegotiates (`resendAfterPriming`).
   */
  #holdsTooLarge (headers: Headers, statusMessage: string | undefined, attempt: AttemptHandler): boolean {
    if (this.#responded) return false
    const connection = attempt.connection
    const limit = this.rule.uploadPriming
    const step = decideTooLarge({
      origin: { stack: this.#stack, phaFallback: this.#phaFallback, hasClientCert: this.rule.clientCert !== undefined, limit },
      renegotiationsBefore: connection === undefined ? 0 : Math.max(0, connection.handshakes - 1),
      protocol: connection?.protocol ?? null,
      bodyReplayable: this.#body.replayable,
      primed: attempt.primed,
      resent: this.#resent
    })
    const path = primingTarget(this.opts.path)
    if (step.kind === 'deliver' || path === undefined || !HeldResponse.fits(headers)) {
      if (step.kind === 'deliver' && step.reason !== 'origin-does-not-renegotiate') {
        this.#services.telemetry.debug({ origin: this.origin, stack: this.#stack, reason: step.reason }, 'a 413 is delivered as it came')
      }
      return false
    }
    attempt.hold = new HeldResponse(this, 413, headers, statusMessage, connection)
    this.#live = 0
    return true
  }

  #resendTooLarge (held: HeldResponse, trailers: Headers): void {
    this.#resent = true
    this.#tooLarge = { held, trailers }
    this.#services.telemetry.debug({ origin: this.origin, stack: this.#stack }, 'a 413 on a connection that had not renegotiated: once more on a new connection, if its priming renegotiates')
    this.send('upload-resend', this.#stack, this.#http1Only, this.#fromPolicy, primingTarget(this.opts.path))
  }

  heldOverflowed (held: HeldResponse): void {
    if (this.#done) return
    this.#release(held, true)
  }

  heldFailed (held: HeldResponse, error: Error): void {
    if (this.#done) return
    // The caller sees what it would have seen without the hold: the response so far, then the error.
    if (!this.#controller.abortedByCaller) this.#release(held, true)
    this.onAttemptFailed(error)
  }

  heldEnded (held: HeldResponse, trailers: Headers): void {
    if (this.#done) return
    if (held.statusCode === 413) {
      this.#resendTooLarge(held, trailers)
      return
    }
    const answer = { statusCode: held.statusCode, statusMessage: held.statusMessage, headers: held.headers, body: held.body(), alpn: held.connection?.alpn }
    if (!isApachePostHandshakeAuth(answer)) {
      this.deliver(held, trailers, true)
      return
    }
    this.#inFlight = false
    this.#recover().postHandshakeAuth(held, trailers)
  }

  /** Hands the caller a held response whole; `success`: whether it counts as the request's answer (a policy may be learned). */
  deliver (held: HeldResponse, trailers: Headers, success: boolean): void {
    this.#release(held, success)
    if (!this.#done) this.onAttemptEnd(trailers)
  }

  /** Hands the caller a held response's status, headers and body so far, as they came. */
  #release (held: HeldResponse, success: boolean): void {
    this.#responded = true
    if (success) {
      this.#onSuccess()
    } else {
      this.#recovery?.stopLadder()
      this.#services.gate.settled(this, false)
    }
    this.#handler.onResponseStart?.(this.#controller, held.statusCode, held.headers, held.statusMessage)
    for (const chunk of held.take()) {
      if (this.#done || this.#controller.abortedByCaller) return
      this.#handler.onResponseData?.(this.#controller, chunk)
    }
  }

  /** The request's failure state, made at its first failure. */
  #recover (): Recovery {
    this.#recovery ??= new Recovery(this, this.#services)
    return this.#recovery
  }

  #onSuccess (): void {
    // A request that never failed has no diagnosis to learn from and no ladder to end.
    const recovery = this.#recovery
    if (recovery !== undefined) {
      const diagnosis = recovery.diagnosis
      if (diagnosis !== undefined && learnsOnSuccess(this.#stack, this.#http1Only)) {
        this.#services.book.learn(this.origin, this.rule, this.#stack, this.#http1Only, diagnosis, true)
      }
      recovery.stopLadder()
    }
    this.#services.gate.settled(this, true)
  }

  /**
   * The caller aborted (called by the request's StableController). With no attempt on a connection
   * (waiting, between attempts), the request ends now.
   */
  callerAborted (reason: Error): void {
    if (this.#done || this.#inFlight) return
    this.#services.gate.settled(this, false)
    this.fail(reason)
  }

  /** Ends the request with this error (the caller's onResponseError). */
  fail (error: Error): void {
    if (this.#done) return
    this.#recovery?.stopLadder()
    this.#done = true
    this.#body.dispose()
    try {
      this.#handler.onResponseError?.(this.#controller, error)
    } finally {
      if (this.#info !== undefined) this.#publishEnd(error)
      this.#controller.detach()
      this.#services.gate.finished(this)
    }
  }

  #finish (): void {
    if (this.#done) return
    this.#done = true
    this.#body.dispose()
    if (this.#info !== undefined) this.#publishEnd(undefined)
    this.#controller.detach()
    this.#services.gate.finished(this)
  }

  #publishEnd (error: (Error & { code?: string }) | undefined): void {
    this.#services.telemetry.requestEnd({
      request: this.#info as RequestInfo,
      stack: this.#stack,
      http1Only: this.#http1Only,
      attempts: this.#attempt,
      failures: this.#recovery?.attempts ?? NO_ATTEMPTS,
      responded: this.#responded,
      error: error === undefined ? undefined : { code: error.code, message: String(error.message) }
    })
  }
}
