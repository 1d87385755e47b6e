import type { Dispatcher } from 'undici'
import { AsyncResource } from 'node:async_hooks'
import type { Duplex } from 'node:stream'
import type { AttemptHandler } from './attempt.ts'
import { sendAttempt, type SendingRequest } from './attempt-send.ts'
import { StableController } from './controller.ts'
import type { RecoveringRequest } from './failure-record.ts'
import type { Http2StreamFacts } from './fingerprint.ts'
import type { HostRule } from './options.ts'
import type { PolicyEntry } from './policy/entry.ts'
import { Recovery } from './recovery.ts'
import { ReplayableBody } from './replay.ts'
import { holdPostHandshakeAuth, type HeldResponse, type HoldOwner } from './response-hold.ts'
import type { StackName } from './stacks.ts'
import type { RequestServices } from './request-services.ts'
import { requestEnded, requestStarted } from './request-telemetry.ts'
import type { AttemptReason, RequestInfo } from './telemetry.ts'
import { RequestUpload } from './upload-request.ts'

type Handler = Dispatcher.DispatchHandler
type Controller = Dispatcher.DispatchController
type Headers = Parameters<NonNullable<Handler['onResponseStart']>>[2]

export type { RequestServices, Transport } from './request-services.ts'

const NO_CONTEXT = Object.freeze({})

/**
 * One request through the agent, as a relay: which attempt is live, the caller's handler and its
 * one controller, and how the request ends. The caller's handler sees one onRequestStart, one
 * controller and at most one response. A failed attempt goes to the request's Recovery
 * (src/recovery.ts, and its Ladder, src/ladder.ts), which decides with src/decide.ts and sends the
 * next attempt here.
 */
export class FallbackRequest implements SendingRequest, RecoveringRequest, HoldOwner {
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
  /** Uploads (src/upload-request.ts): undefined without a body. */
  readonly #upload: RequestUpload | undefined
  #stack: StackName = 'strict'
  #http1Only = false
  #fromPolicy = false
  #attempt = 0
  /** The attempt whose callbacks count; 0 while a held-back response routes its attempt's callbacks. */
  #live = 0
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
    this.#upload = RequestUpload.of(origin, rule, opts)
    this.#controller = new StableController(this)
    const telemetry = services.telemetry
    this.#info = requestStarted(telemetry, origin, this.method, opts.path)
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
    this.#upload?.started(entry)
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
    // Uploads (issue 31): the path to prime, when the body needs a primed connection.
    const primePath = resendPath ?? this.#upload?.primePath(stack, this.#recovery?.diagnosis?.fingerprint)
    sendAttempt(this, this.#services, body, reason, stack, http1Only, attempt, primePath, resendPath, this.#callerScope)
  }

  /** The caller's handler: the callbacks that carry no controller (onResponseStarted, onBodySent, onRequestSent) go to it as they are. */
  get caller (): Handler {
    return this.#handler
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

  onAttemptHeaders (statusCode: number, headers: Headers, statusMessage: string | undefined, attempt: AttemptHandler): void {
    // The one check every response pays: only a 403 or a 413 may be held back (see #holds).
    if ((statusCode === 403 || statusCode === 413) && this.#holds(statusCode, headers, statusMessage, attempt)) return
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
    if (this.#upload?.resendFailed(error, this.#responded, this.#services, this.#stack) === true) return
    if (this.#responded || this.#controller.abortedByCaller) {
      this.fail(this.#controller.abortedByCaller ? (this.#controller.reason ?? error) : error)
      return
    }
    this.#recover().attemptFailed(error, http2)
  }

  /**
   * A 403 that may be Apache's post-handshake-auth page (src/response-hold.ts), or a 413 that may be
   * the renegotiation buffer's (src/upload-request.ts), is held back while its body arrives.
   */
  #holds (statusCode: number, headers: Headers, statusMessage: string | undefined, attempt: AttemptHandler): boolean {
    const held = statusCode === 403
      ? holdPostHandshakeAuth(this, this.#responded, this.pinned, this.#recovery?.diagnosis?.fingerprint, headers, statusMessage, attempt.connection)
      : this.#responded ? undefined : this.#upload?.holdTooLarge(this, headers, statusMessage, attempt, this.#stack, this.#body.replayable, this.#services.telemetry)
    if (held === undefined) return false
    attempt.hold = held
    this.#live = 0
    return true
  }

  heldTooLarge (held: HeldResponse, trailers: Headers): void {
    this.#inFlight = false
    this.send('upload-resend', this.#stack, this.#http1Only, this.#fromPolicy, (this.#upload as RequestUpload).resend(held, trailers, this.#services.telemetry, this.#stack))
  }

  get abortedByCaller (): boolean {
    return this.#controller.abortedByCaller
  }

  answered (held: HeldResponse, success: boolean): void {
    this.#responded = true
    if (success) {
      this.#onSuccess()
    } else {
      this.#recovery?.stopLadder()
      this.#services.gate.settled(this, false)
    }
    this.#handler.onResponseStart?.(this.#controller, held.statusCode, held.headers, held.statusMessage)
  }

  heldPostHandshakeAuth (held: HeldResponse, trailers: Headers): void {
    this.#inFlight = false
    this.#recover().postHandshakeAuth(held, trailers)
  }

  /** The request's failure state, made at its first failure. */
  #recover (): Recovery {
    this.#recovery ??= new Recovery(this, this.#services)
    return this.#recovery
  }

  #onSuccess (): void {
    // A request that never failed has no diagnosis to learn from and no ladder to end.
    this.#recovery?.succeeded()
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
      this.#ended(error)
    }
  }

  #finish (): void {
    if (this.#done) return
    this.#done = true
    this.#body.dispose()
    this.#ended(undefined)
  }

  /** What follows the caller's last callback: telemetry's request:end, and the gate forgets the request. */
  #ended (error: Error | undefined): void {
    if (this.#info !== undefined) {
      const outcome = { stack: this.#stack, http1Only: this.#http1Only, attempts: this.#attempt, failures: this.#recovery?.attempts, responded: this.#responded }
      requestEnded(this.#services.telemetry, this.#info, outcome, error)
    }
    this.#controller.detach()
    this.#services.gate.finished(this)
  }
}
