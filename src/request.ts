import type { Dispatcher } from 'undici'
import { AsyncResource } from 'node:async_hooks'
import type { Duplex } from 'node:stream'
import { StableController } from './controller.ts'
import { ErrorCodes, type AttemptSummary } from './errors.ts'
import {
  bodyNotReplayableError, clientCertificateError, exhaustedError, notAllowedError, notReplayedError, postHandshakeAuthNotice,
  type FailureContext
} from './failures.ts'
import { expectConnection, http2FactsFor, type ConnectionFacts, type ConnectionSink } from './connector.ts'
import {
  decideCandidateFailed, decideDiagnosed, decideFollow, decideHttp11Required, decidePostHandshakeAuth, decideUndiagnosed,
  decideProxyFailure, fallbackAllowing, giveUp, learnsOnSuccess, mayHoldBack, routeFailure, stackCannotWork, type NotReplayableStep
} from './decide.ts'
import {
  diagnose, isApachePostHandshakeAuth, isConnectionClosedError, postHandshakeAuthDiagnosis,
  type ConnectionSnapshot, type Diagnosis, type Http2StreamFacts
} from './fingerprint.ts'
import type { HostRule } from './options.ts'
import type { PolicyEntry } from './policy/entry.ts'
import { ReplayableBody } from './replay.ts'
import { requestIsIdempotent } from './replay-policy.ts'
import { HeldResponse, type HoldOwner } from './response-hold.ts'
import type { FallbackStack, StackName } from './stacks.ts'
import type { AttemptReason, RequestInfo, Telemetry } from './telemetry.ts'

type Handler = Dispatcher.DispatchHandler
type Controller = Dispatcher.DispatchController
type Headers = Parameters<NonNullable<Handler['onResponseStart']>>[2]

/** What a request needs from its agent. */
export interface RequestHost {
  readonly telemetry: Telemetry
  readonly resetRetries: number
  readonly maxReplayBodySize: number
  send: (stack: StackName, http1Only: boolean, opts: Dispatcher.DispatchOptions, handler: Handler) => void
  snapshotFor: (error: unknown) => ConnectionSnapshot | undefined
  /** What Node reported about the HTTP/2 stream that failed with this error. */
  http2FailureFor: (error: unknown) => Http2StreamFacts | undefined
  /** The validated policy of an origin, if any. */
  policyFor: (origin: string, rule: HostRule) => PolicyEntry | undefined
  /** Records a transition once the evidence allows it; returns whether the policy moved. */
  learn: (origin: string, rule: HostRule, to: StackName, http1Only: boolean, diagnosis: Diagnosis, proven: boolean) => boolean
  /**
   * After a strict hello without RFC 5746: whether a completed (authenticated) handshake confirms
   * that the server lacks it. Resolves to verified evidence, or undefined; never rejects.
   */
  confirmLegacy: (origin: string, url: URL, diagnosis: Diagnosis) => Promise<Diagnosis | undefined>
  /** A notice (warn line, or process warning without a logger) shown once per origin and kind. */
  noticeOnce: (origin: string, kind: string, fields: object, message: string, code: string) => void
  /** Drops an origin's policy (it named a stack that no longer connects). */
  unlearn: (origin: string, reason: string) => void
  /** A ladder already running for this origin, to wait for instead of starting another. */
  ladderInProgress: (origin: string) => Promise<void> | undefined
  ladderStarted: (origin: string) => () => void
  /** The request got a response, or gave up: an origin's cold-start gate may open. */
  settled: (request: FallbackRequest, ok: boolean) => void
  /** The caller's handler got its last callback. */
  finished: (request: FallbackRequest) => void
}

const NO_CONTEXT = Object.freeze({})
/** The failures of every request that has none (telemetry's `failures`); frozen, so that nothing can push into it by mistake. */
const NO_ATTEMPTS: AttemptSummary[] = Object.freeze([]) as unknown as AttemptSummary[]
/** A Recovery's candidates until a diagnosis names some: shared, never written to (shift() on an empty array writes nothing). */
const NO_CANDIDATES: FallbackStack[] = []

/**
 * What a request keeps once one of its attempts failed: the failures for error reports, the
 * diagnosis, the ladder's candidates and errors. A request that succeeds at its first attempt (almost
 * every request) never allocates it, and carries one field instead of eight.
 */
class Recovery {
  readonly attempts: AttemptSummary[] = []
  /** Same-stack retries left for a connection closed before any response byte. */
  retriesLeft: number
  diagnosis: Diagnosis | undefined = undefined
  firstError: Error | undefined = undefined
  candidates: FallbackStack[] = NO_CANDIDATES
  /** Ends the ladder this request runs for its origin (see RequestHost.ladderStarted). */
  endLadder: (() => void) | undefined = undefined
  lastError: Error | undefined = undefined
  /** Whether the request may be sent twice, read once (see FallbackRequest#isIdempotent). */
  idempotent: boolean | undefined = undefined

  constructor (retries: number) {
    this.retriesLeft = retries
  }

  /** A ladder begins (or is followed): the diagnosis it answers, the error that started it, the stacks left to try. */
  begin (diagnosis: Diagnosis, error: Error, candidates: FallbackStack[]): void {
    this.diagnosis = diagnosis
    this.firstError = error
    this.candidates = candidates
  }
}

function pathOf (path: string): string {
  const q = path.indexOf('?')
  return q === -1 ? path : path.slice(0, q)
}

/**
 * One request through the agent: it makes attempts on stacks, matches failures against
 * fingerprints, and replays the request on the next stack when that is safe. The caller's handler
 * sees one onRequestStart, one controller and at most one response.
 */
export class FallbackRequest implements HoldOwner {
  readonly origin: string
  readonly url: URL
  readonly rule: HostRule
  readonly #host: RequestHost
  readonly #opts: Dispatcher.DispatchOptions
  readonly #handler: Handler
  readonly #controller: StableController
  readonly #body: ReplayableBody
  readonly #method: string
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
  /** Set by the agent while the request waits at a cold-start gate. */
  leader = false
  /** The agent's bookkeeping: where the request sits in its list of requests in flight. */
  slot = -1

  constructor (host: RequestHost, origin: string, url: URL, rule: HostRule, opts: Dispatcher.DispatchOptions, handler: Handler) {
    this.#host = host
    this.origin = origin
    this.url = url
    this.rule = rule
    // undici's Agent keys its pools by `opts.origin`. The string undici's request() passes (built by
    // URL#origin) is a new cons string for every request, which the Agent's Map hashed again each
    // time: 556 instructions per request (callgrind; 1,735 in a plain Agent's process). The attempts
    // carry the agent's own string for this origin instead, the same object every time and already
    // hashed: 46.
    this.#opts = { ...opts, origin }
    this.#handler = handler
    // 'GET' (most requests) as it is: toUpperCase() costs tens of nanoseconds even when nothing changes.
    this.#method = opts.method === 'GET' ? 'GET' : String(opts.method ?? 'GET').toUpperCase()
    this.#body = ReplayableBody.of(opts.body, host.maxReplayBodySize)
    this.#controller = new StableController(this)
    const telemetry = host.telemetry
    if (telemetry.wantsRequests) {
      this.#info = { origin, method: this.#method, path: pathOf(opts.path) }
      telemetry.requestStart({ request: this.#info })
    }
    if (telemetry.wantsCallerContext) this.#callerScope = new AsyncResource('undici-tls-fallback:request')
  }

  get pinned (): boolean {
    return this.rule.stack !== undefined
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

  /** Whether the first attempt followed a learned policy. */
  get fromPolicy (): boolean {
    return this.#fromPolicy
  }

  /** First attempt: the pinned stack, else the learned policy (as the agent read it), else strict. */
  start (entry: PolicyEntry | undefined): void {
    if (this.pinned) entry = undefined
    this.#fromPolicy = entry !== undefined
    this.#stack = this.rule.stack ?? entry?.stack ?? 'strict'
    this.#http1Only = this.rule.http1Only || entry?.http1Only === true
    this.#send('initial')
  }

  /** Fails the request (the agent is being destroyed): at once when it waits, through its attempt otherwise. */
  abort (error: Error): void {
    if (this.#done) return
    this.#controller.abort(error)
  }

  #send (reason: AttemptReason): void {
    if (this.#done) return
    if (this.#controller.abortedByCaller) {
      this.#fail(this.#controller.reason ?? new Error('aborted'))
      return
    }
    this.#attempt += 1
    const attempt = this.#attempt
    this.#live = attempt
    let body: unknown
    try {
      body = this.#body.nextBody()
    } catch (error) {
      this.#fail(error as Error)
      return
    }
    const telemetry = this.#host.telemetry
    if (telemetry.wantsAttempts) {
      telemetry.attempt({
        origin: this.origin,
        method: this.#method,
        path: pathOf(this.#opts.path),
        stack: this.#stack,
        http1Only: this.#http1Only,
        attempt,
        reason,
        request: this.#info
      })
    }
    // The request's options (the caller's, with the agent's origin string) go as they are unless the body must be replaced (a stream, teed).
    const opts = body === this.#opts.body ? this.#opts : { ...this.#opts, body } as Dispatcher.DispatchOptions
    const handler = new AttemptHandler(this, attempt)
    if (this.#callerScope === undefined) this.#host.send(this.#stack, this.#http1Only, opts, handler)
    else this.#callerScope.runInAsyncScope(this.#host.send, this.#host, this.#stack, this.#http1Only, opts, handler)
  }

  /** Whether callbacks of this attempt still count (a later attempt replaced it, or the request ended). */
  isCurrent (attempt: number): boolean {
    return attempt === this.#live && !this.#done
  }

  /** Whether the caller's handler got its last callback. */
  get ended (): boolean {
    return this.#done
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
  onAttemptFailed (error: Error, http2?: Http2StreamFacts): void {
    this.#inFlight = false
    this.#onAttemptError(error, http2)
  }

  onAttemptBodySent (chunk: Buffer): void {
    this.#handler.onBodySent?.(chunk)
  }

  onAttemptRequestSent (): void {
    this.#handler.onRequestSent?.()
  }

  // ---- A 403 held back: post-handshake authentication (src/response-hold.ts holds the bytes) ----

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
    const answer = { statusCode: held.statusCode, statusMessage: held.statusMessage, headers: held.headers, body: held.body(), alpn: held.connection?.alpn }
    if (!isApachePostHandshakeAuth(answer)) {
      this.#release(held, true)
      if (!this.#done) this.onAttemptEnd(trailers)
      return
    }
    this.#onPostHandshakeAuth(held, trailers)
  }

  /** Hands the caller a held response's status, headers and body so far, as they came. */
  #release (held: HeldResponse, success: boolean): void {
    this.#responded = true
    if (success) {
      this.#onSuccess()
    } else {
      this.#stopLadder()
      this.#host.settled(this, false)
    }
    this.#handler.onResponseStart?.(this.#controller, held.statusCode, held.headers, held.statusMessage)
    for (const chunk of held.take()) {
      if (this.#done || this.#controller.abortedByCaller) return
      this.#handler.onResponseData?.(this.#controller, chunk)
    }
  }

  /**
   * The server answered 403 because it cannot perform post-handshake authentication. The remedy is
   * TLS 1.2, where it renegotiates for the client certificate: the `renegotiation` stack, with the
   * host's certificate. The server refused the request in its access check, before any handler
   * ran, so any method may go again. Without a remedy the caller gets the 403 as it came.
   */
  #onPostHandshakeAuth (held: HeldResponse, trailers: Headers): void {
    this.#inFlight = false
    const diagnosis = postHandshakeAuthDiagnosis(held.connection, held.size)
    const error = new Error(`${this.origin}: HTTP 403 on the ${this.#stack} stack: ${diagnosis.evidence.summary}`)
    this.#recordAttempt('HTTP_403', diagnosis.fingerprint)
    this.#publishDiagnosis(diagnosis, error)

    const recovery = this.#recover()
    const inLadder = recovery.diagnosis !== undefined
    // A stack of the ladder got the same answer: the next one, else the 403 as it came.
    if (inLadder) recovery.lastError = error
    const step = decidePostHandshakeAuth({
      inLadder,
      candidatesLeft: recovery.candidates.length,
      hasClientCert: this.rule.clientCert !== undefined,
      fallback: this.rule.fallback,
      bodyReplayable: this.#body.replayable
    })
    if (step.kind === 'next') {
      this.#next()
      return
    }
    if (step.kind === 'diagnose') {
      this.#onDiagnosed(diagnosis, error, undefined)
      return
    }
    const message = postHandshakeAuthNotice(this.#failureContext(), step.notice, diagnosis)
    this.#deliverUnremedied(held, trailers, step.notice, message, ErrorCodes[step.code])
  }

  #deliverUnremedied (held: HeldResponse, trailers: Headers, kind: string, message: string, code: string): void {
    this.#host.noticeOnce(this.origin, `pha:${kind}`, { origin: this.origin, stack: this.#stack, fingerprint: 'post-handshake-auth-required' }, message, code)
    // No policy moves: a ladder that got this answer again has learned nothing.
    this.#release(held, this.#recovery?.diagnosis === undefined)
    if (!this.#done) this.onAttemptEnd(trailers)
  }

  // ---- end of the held-back 403 ----

  /** The diagnosis event of this attempt, with the request it belongs to (OpenTelemetry links them by it). */
  #publishDiagnosis (diagnosis: Diagnosis, error: Error & { code?: string }): void {
    this.#host.telemetry.diagnosis({
      origin: this.origin,
      method: this.#method,
      stack: this.#stack,
      fingerprint: diagnosis.fingerprint,
      evidence: diagnosis.evidence,
      error: { code: error.code, message: error.message },
      request: this.#info
    })
  }

  /** The request's failure state, made at its first failure. */
  #recover (): Recovery {
    this.#recovery ??= new Recovery(this.#host.resetRetries)
    return this.#recovery
  }

  /** Failed attempts so far, for error reports and telemetry. */
  get #attempts (): AttemptSummary[] {
    return this.#recovery?.attempts ?? NO_ATTEMPTS
  }

  /** Lists a failed attempt for error reports. */
  #recordAttempt (code: string | undefined, fingerprint: string | undefined): void {
    this.#recover().attempts.push({ stack: this.#stack, http1Only: this.#http1Only, code, fingerprint })
  }

  #onSuccess (): void {
    // A request that never failed has no diagnosis to learn from and no ladder to end.
    const diagnosis = this.#recovery?.diagnosis
    if (diagnosis !== undefined && learnsOnSuccess(this.#stack, this.#http1Only)) {
      this.#host.learn(this.origin, this.rule, this.#stack, this.#http1Only, diagnosis, true)
    }
    this.#stopLadder()
    this.#host.settled(this, true)
  }

  /** This request's ladder is over (it ran one): requests that waited for it go on. */
  #stopLadder (): void {
    const recovery = this.#recovery
    if (recovery?.endLadder === undefined) return
    recovery.endLadder()
    recovery.endLadder = undefined
  }

  #onAttemptError (error: Error & { code?: string }, http2: Http2StreamFacts | undefined): void {
    if (this.#responded || this.#controller.abortedByCaller) {
      this.#fail(this.#controller.abortedByCaller ? (this.#controller.reason ?? error) : error)
      return
    }
    if (decideProxyFailure(error.code) !== undefined) {
      // The proxy failed, not the origin: never a fingerprint, no other stack, no retry, no policy moves.
      this.#recordAttempt(error.code, undefined)
      this.#host.settled(this, false)
      this.#fail(error)
      return
    }
    const connection = this.#host.snapshotFor(error)
    const diagnosis = this.pinned
      ? undefined
      : diagnose({ error, stack: this.#stack, connection, hasClientCert: this.rule.clientCert !== undefined, http2: this.#host.http2FailureFor(error) ?? http2 })
    // Attempts are listed for error reports; one that got a response needs no entry.
    this.#recordAttempt(error.code ?? error.name, diagnosis?.fingerprint)
    if (diagnosis !== undefined) this.#publishDiagnosis(diagnosis, error)

    // No detection on a pinned host; a bare reset of an idempotent request still gets its retry.
    switch (routeFailure(diagnosis?.fingerprint, this.#http1Only, this.pinned, this.#recovery?.diagnosis !== undefined)) {
      case 'http11-required':
        this.#onHttp11Required(diagnosis as Diagnosis, error)
        break
      case 'undiagnosed':
        this.#onUndiagnosed(error, connection)
        break
      case 'diagnosed':
        this.#onDiagnosed(diagnosis as Diagnosis, error, connection)
        break
      case 'candidate':
        this.#onCandidateFailed(diagnosis, error)
        break
    }
  }

  /**
   * The server refused HTTP/2 for this request: the request goes again over HTTP/1.1 on the same
   * stack when that is safe (see `replayVerdict`: any method when a GOAWAY proved the stream
   * unprocessed). Outside a ladder the origin learns `http1Only` at once: the evidence is an
   * authenticated HTTP/2 frame. If HTTP/1.1 then meets a renegotiation, the ladder goes on from
   * there with the same request.
   */
  #onHttp11Required (diagnosis: Diagnosis, error: Error & { code?: string }): void {
    const step = decideHttp11Required({
      diagnosis,
      stack: this.#stack,
      pinned: this.pinned,
      inLadder: this.#recovery?.diagnosis !== undefined,
      idempotent: this.#isIdempotent(),
      replayNonIdempotent: this.rule.replayNonIdempotent,
      bodyReplayable: this.#body.replayable
    })
    if (step.learn !== undefined) this.#host.learn(this.origin, this.rule, step.learn.stack, step.learn.http1Only, diagnosis, false)
    const next = step.learn !== undefined ? 'The next request goes over HTTP/1.1.' : 'No policy was learned.'
    if (step.kind === 'fail') {
      this.#host.settled(this, false)
      if (step.error === 'NOT_REPLAYED') this.#failNotReplayed(diagnosis, error, next)
      else this.#failNotReplayable(diagnosis, error, 'the server requires HTTP/1.1', next)
      return
    }
    this.#http1Only = step.http1Only
    this.#send(step.reason)
  }

  /** No fingerprint: the error reaches the caller unchanged, after at most a same-stack retry. */
  #onUndiagnosed (error: Error & { code?: string }, connection: ConnectionSnapshot | undefined): void {
    const step = decideUndiagnosed({
      fromPolicy: this.#fromPolicy,
      stack: this.#stack,
      http1Only: this.#http1Only,
      ruleHttp1Only: this.rule.http1Only,
      handshakeComplete: connection?.handshakeComplete,
      plainRead: connection?.plainRead,
      cannotWork: stackCannotWork(error),
      connectionClosed: isConnectionClosedError(error),
      retriesLeft: this.#recover().retriesLeft,
      idempotent: this.#isIdempotent(),
      bodyReplayable: this.#body.replayable
    })
    if (step.kind === 'fail') {
      this.#host.settled(this, false)
      this.#fail(error)
      return
    }
    if (step.reason === 'revalidate') {
      // The learned stack no longer completes a handshake: the server changed. Start again from strict.
      this.#host.unlearn(this.origin, `the ${this.#stack} stack failed its handshake (${error.code ?? error.message})`)
      this.#fromPolicy = false
    } else {
      this.#recover().retriesLeft -= 1
      this.#host.telemetry.debug({ origin: this.origin, stack: this.#stack, ...this.#host.telemetry.errorField(error) },
        'connection closed before any response byte, no fingerprint: sending the idempotent request once more on the same stack')
    }
    this.#stack = step.stack
    this.#http1Only = step.http1Only
    this.#send(step.reason)
  }

  #onDiagnosed (diagnosis: Diagnosis, error: Error & { code?: string }, connection: ConnectionSnapshot | undefined): void {
    const running = this.#host.ladderInProgress(this.origin)
    const step = decideDiagnosed({
      diagnosis,
      fallback: this.rule.fallback,
      connection,
      ladderRunning: running !== undefined,
      http1Only: this.#http1Only,
      idempotent: this.#isIdempotent(),
      replayNonIdempotent: this.rule.replayNonIdempotent,
      bodyReplayable: this.#body.replayable
    })
    if (step.kind === 'follow-ladder') {
      // Another request is already finding the right stack for this origin: follow its result.
      const follow = (): void => { this.#followLadder(diagnosis, error, connection) }
      running?.then(follow, follow)
      return
    }
    if (step.kind === 'fail' && step.error === 'CLIENT_CERTIFICATE_REQUIRED') {
      this.#failClientCertificate(diagnosis, error)
      return
    }
    const recovery = this.#recover()
    recovery.begin(diagnosis, error, step.candidates)
    if (step.kind === 'fail') {
      if (step.error === 'NOT_ALLOWED' || step.error === 'EXHAUSTED') this.#giveUp(error)
      else this.#notReplayable(diagnosis, error, step)
      return
    }
    recovery.endLadder = this.#host.ladderStarted(this.origin)
    if (step.confirmLegacy) {
      // One refused hello is forgeable (a box on the path strips renegotiation_info): the policy is
      // learned only if an authenticated handshake confirms it. The request goes on either way.
      this.#host.confirmLegacy(this.origin, this.url, diagnosis).then((confirmed) => {
        if (confirmed !== undefined && recovery.diagnosis === diagnosis) recovery.diagnosis = confirmed
        this.#next()
      }, () => { this.#next() })
      return
    }
    this.#next()
  }

  #followLadder (diagnosis: Diagnosis, error: Error & { code?: string }, connection: ConnectionSnapshot | undefined): void {
    if (this.#done) return
    const step = decideFollow({
      diagnosis,
      policy: this.#host.policyFor(this.origin, this.rule),
      stack: this.#stack,
      ruleHttp1Only: this.rule.http1Only,
      candidates: this.#recover().candidates,
      http1Only: this.#http1Only,
      idempotent: this.#isIdempotent(),
      replayNonIdempotent: this.rule.replayNonIdempotent,
      bodyReplayable: this.#body.replayable
    })
    if (step.kind === 'diagnose') {
      this.#onDiagnosed(diagnosis, error, connection)
      return
    }
    if (step.kind === 'fail') {
      this.#notReplayable(diagnosis, error, step)
      return
    }
    this.#recover().begin(diagnosis, error, [])
    this.#fromPolicy = true
    this.#stack = step.stack
    this.#http1Only = step.http1Only
    this.#send(step.reason)
  }

  /** Whether the request says it may be sent twice (method, undici's `idempotent`, `Idempotency-Key`); read once. */
  #isIdempotent (): boolean {
    const recovery = this.#recover()
    recovery.idempotent ??= requestIsIdempotent(this.#method, this.#opts.idempotent, this.#opts.headers)
    return recovery.idempotent
  }

  /** A request that may not go again after a diagnosis (see `notReplayable` in src/decide.ts). */
  #notReplayable (diagnosis: Diagnosis, error: Error & { code?: string }, step: NotReplayableStep): void {
    const target = step.learn
    if (target !== undefined) {
      // The evidence is authenticated, so the next request can go straight to the stack that works.
      this.#host.learn(this.origin, this.rule, target.stack, target.http1Only, diagnosis, false)
    }
    this.#host.settled(this, false)
    const learned = target !== undefined
      ? `The ${target.stack} stack was learned for this origin: the next request goes straight to it.`
      : 'No policy was learned.'
    if (step.error === 'NOT_REPLAYED') {
      this.#failNotReplayed(diagnosis, error, learned)
    } else if (step.error === 'original') {
      // A non-idempotent request on evidence an attacker could have forged: not sent twice.
      this.#fail(error)
    } else {
      this.#failNotReplayable(diagnosis, error, `${diagnosis.fingerprint} on the ${this.#stack} stack`, learned)
    }
  }

  #failNotReplayed (diagnosis: Diagnosis, error: Error, next: string): void {
    this.#fail(notReplayedError(this.#failureContext(), diagnosis, error, next))
  }

  #failNotReplayable (diagnosis: Diagnosis, error: Error, what: string, next: string): void {
    this.#fail(bodyNotReplayableError(this.#failureContext(), diagnosis, error, what, next))
  }

  /** What an error message says about this request (see src/failures.ts). */
  #failureContext (): FailureContext {
    return { origin: this.origin, url: this.url, rule: this.rule, stack: this.#stack, method: this.#method, attempts: this.#attempts, maxReplayBodySize: this.#host.maxReplayBodySize }
  }

  #next (): void {
    const recovery = this.#recover()
    const next = recovery.candidates.shift()
    if (next === undefined) {
      this.#giveUp(recovery.lastError ?? recovery.firstError as Error)
      return
    }
    this.#stack = next
    this.#fromPolicy = false
    this.#send('fallback')
  }

  #onCandidateFailed (diagnosis: Diagnosis | undefined, error: Error & { code?: string }): void {
    this.#recover().lastError = error
    const step = decideCandidateFailed(diagnosis?.fingerprint, stackCannotWork(error))
    if (step.kind === 'next') {
      this.#next()
      return
    }
    if (step.error === 'CLIENT_CERTIFICATE_REQUIRED') {
      this.#failClientCertificate(diagnosis as Diagnosis, error)
      return
    }
    // Not about the stack (refused connection, certificate, timeout, abort): the caller gets it as it is.
    this.#host.settled(this, false)
    this.#fail(error)
  }

  /**
   * The caller aborted (called by the request's StableController). With no attempt on a connection
   * (waiting, between attempts), the request ends now.
   */
  callerAborted (reason: Error): void {
    if (this.#done || this.#inFlight) return
    this.#host.settled(this, false)
    this.#fail(reason)
  }

  #failClientCertificate (diagnosis: Diagnosis, error: Error): void {
    this.#host.settled(this, false)
    this.#fail(clientCertificateError(this.#failureContext(), diagnosis, error))
  }

  /** No stack left to try: either the stack that would work is not allowed, or every allowed one failed. */
  #giveUp (error: Error): void {
    this.#host.settled(this, false)
    const recovery = this.#recover()
    const diagnosis = recovery.diagnosis as Diagnosis
    const verdict = giveUp(diagnosis.fingerprint, this.rule.fallback)
    this.#fail(verdict.error === 'NOT_ALLOWED'
      ? notAllowedError(this.#failureContext(), diagnosis, verdict.needed, fallbackAllowing(this.rule.fallback, verdict.needed), recovery.firstError ?? error)
      : exhaustedError(this.#failureContext(), diagnosis, error))
  }

  #fail (error: Error): void {
    if (this.#done) return
    this.#stopLadder()
    this.#done = true
    this.#body.dispose()
    try {
      this.#handler.onResponseError?.(this.#controller, error)
    } finally {
      if (this.#info !== undefined) this.#publishEnd(error)
      this.#controller.detach()
      this.#host.finished(this)
    }
  }

  #finish (): void {
    if (this.#done) return
    this.#done = true
    this.#body.dispose()
    if (this.#info !== undefined) this.#publishEnd(undefined)
    this.#controller.detach()
    this.#host.finished(this)
  }

  #publishEnd (error: (Error & { code?: string }) | undefined): void {
    this.#host.telemetry.requestEnd({
      request: this.#info as RequestInfo,
      stack: this.#stack,
      http1Only: this.#http1Only,
      attempts: this.#attempt,
      failures: this.#attempts,
      responded: this.#responded,
      error: error === undefined ? undefined : { code: error.code, message: String(error.message) }
    })
  }
}

/**
 * The handler of one attempt: it forwards to its request while the attempt is the current one.
 * A class (methods on the prototype), not an object of closures: one small object per attempt.
 */
class AttemptHandler implements Handler, ConnectionSink {
  readonly #request: FallbackRequest
  readonly #attempt: number
  /** The connection this attempt's request went out on (set by the connector, see expectConnection). */
  connection: ConnectionFacts | undefined = undefined
  /** Set while the request holds this attempt's response back: its callbacks go there. */
  hold: HeldResponse | undefined = undefined
  /** The HTTP/2 stream of this attempt's request (set by the connector). */
  http2Stream: object | undefined = undefined

  constructor (request: FallbackRequest, attempt: number) {
    this.#request = request
    this.#attempt = attempt
  }

  onRequestStart (controller: Controller, context: unknown): void {
    if (this.#request.isCurrent(this.#attempt)) {
      expectConnection(this)
      this.#request.onAttemptStart(controller, context)
    } else {
      this.#request.onStaleStart(controller)
    }
  }

  onRequestUpgrade (_controller: Controller, statusCode: number, headers: Headers, socket: Duplex): void {
    this.connection?.release(this)
    if (this.#request.isCurrent(this.#attempt)) this.#request.onAttemptUpgrade(statusCode, headers, socket)
  }

  onResponseStarted (): void {
    if (this.#request.isCurrent(this.#attempt)) this.#request.onAttemptResponseStarted()
  }

  onResponseStart (_controller: Controller, statusCode: number, headers: Headers, statusMessage?: string): void {
    if (this.#request.isCurrent(this.#attempt)) this.#request.onAttemptHeaders(statusCode, headers, statusMessage, this)
  }

  onResponseData (_controller: Controller, chunk: Buffer): void {
    if (this.#request.isCurrent(this.#attempt)) this.#request.onAttemptData(chunk)
    else if (this.hold !== undefined && !this.#request.ended) this.hold.data(chunk)
  }

  onResponseEnd (_controller: Controller, trailers: Headers): void {
    this.connection?.release(this)
    if (this.#request.isCurrent(this.#attempt)) this.#request.onAttemptEnd(trailers)
    else if (this.hold !== undefined && !this.#request.ended) this.hold.end(trailers)
  }

  onResponseError (_controller: Controller | null, error: Error): void {
    this.connection?.release(this)
    if (this.#request.isCurrent(this.#attempt)) this.#request.onAttemptFailed(error, http2FactsFor(this))
    else if (this.hold !== undefined && !this.#request.ended) this.hold.error(error)
  }

  onBodySent (chunk: Buffer): void {
    if (this.#request.isCurrent(this.#attempt)) this.#request.onAttemptBodySent(chunk)
  }

  onRequestSent (): void {
    if (this.#request.isCurrent(this.#attempt)) this.#request.onAttemptRequestSent()
  }
}
