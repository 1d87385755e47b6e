import type { Dispatcher } from 'undici'
import { ErrorCodes, type AttemptSummary } from './errors.ts'
import type { ConnectionSnapshot, Diagnosis, Http2StreamFacts } from './fingerprint.ts'
import {
  decideCandidateFailed, decideDiagnosed, decideFollow, decideHttp11Required, decidePostHandshakeAuth, decideUndiagnosed,
  decideAuthFailure, decideProxyFailure, fallbackAllowing, giveUp, routeFailure, stackCannotWork, type NotReplayableStep
} from './decide.ts'
import {
  bodyNotReplayableError, clientCertificateError, exhaustedError, notAllowedError, notReplayedError, postHandshakeAuthNotice,
  type FailureContext
} from './failures.ts'
import { diagnose, isConnectionClosedError, postHandshakeAuthDiagnosis } from './fingerprint.ts'
import { requestIsIdempotent } from './replay-policy.ts'
import type { HeldResponse } from './response-hold.ts'
import type { FallbackStack } from './stacks.ts'
import type { FallbackRequest, RequestServices } from './request.ts'

type Headers = Parameters<NonNullable<Dispatcher.DispatchHandler['onResponseStart']>>[2]

/** A Recovery's candidates until a diagnosis names some: shared, never written to (shift() on an empty array writes nothing). */
const NO_CANDIDATES: FallbackStack[] = []

/**
 * The recovery ladder of one request: what it keeps once one of its attempts failed (the failures
 * for error reports, the diagnosis, the ladder's candidates and errors) and the steps that follow
 * each failure, as src/decide.ts decides them. A request that succeeds at its first attempt (almost
 * every request) never makes one.
 */
export class Recovery {
  readonly attempts: AttemptSummary[] = []
  /** Same-stack retries left for a connection closed before any response byte. */
  #retriesLeft: number
  diagnosis: Diagnosis | undefined = undefined
  #firstError: Error | undefined = undefined
  #candidates: FallbackStack[] = NO_CANDIDATES
  /** Ends the ladder this request runs for its origin (see LadderGate#begin). */
  #endLadder: (() => void) | undefined = undefined
  #lastError: Error | undefined = undefined
  /** Whether the request may be sent twice, read once (see #isIdempotent). */
  #idempotent: boolean | undefined = undefined
  readonly #request: FallbackRequest
  readonly #services: RequestServices

  constructor (request: FallbackRequest, services: RequestServices) {
    this.#request = request
    this.#services = services
    this.#retriesLeft = services.limits.resetRetries
  }

  /** A ladder begins (or is followed): the diagnosis it answers, the error that started it, the stacks left to try. */
  #begin (diagnosis: Diagnosis, error: Error, candidates: FallbackStack[]): void {
    this.diagnosis = diagnosis
    this.#firstError = error
    this.#candidates = candidates
  }

  /** This request's ladder is over (it ran one): requests that waited for it go on. */
  stopLadder (): void {
    const end = this.#endLadder
    if (end === undefined) return
    this.#endLadder = undefined
    end()
  }

  /** Lists a failed attempt for error reports. */
  recordAttempt (code: string | undefined, fingerprint: string | undefined): void {
    const request = this.#request
    this.attempts.push({ stack: request.stack, http1Only: request.http1Only, code, fingerprint })
  }

  /** What an error message says about this request (see src/failures.ts). */
  #context (): FailureContext {
    const r = this.#request
    return { origin: r.origin, url: r.url, rule: r.rule, stack: r.stack, method: r.method, attempts: this.attempts, maxReplayBodySize: this.#services.limits.maxReplayBodySize }
  }

  /** The diagnosis event of this attempt, with the request it belongs to (OpenTelemetry links them by it). */
  #publishDiagnosis (diagnosis: Diagnosis, error: Error & { code?: string }): void {
    const request = this.#request
    this.#services.telemetry.diagnosis({
      origin: request.origin,
      method: request.method,
      stack: request.stack,
      fingerprint: diagnosis.fingerprint,
      evidence: diagnosis.evidence,
      error: { code: error.code, message: error.message },
      request: request.info
    })
  }

  #settleAndFail (error: Error): void {
    this.#services.gate.settled(this.#request, false)
    this.#request.fail(error)
  }

  /** An attempt failed before any response byte reached the caller: the next step, as decide.ts routes it. */
  attemptFailed (error: Error & { code?: string }, http2: Http2StreamFacts | undefined): void {
    const request = this.#request
    if (decideProxyFailure(error.code) !== undefined || decideAuthFailure(error.code) !== undefined) {
      // The proxy failed, not the origin (or the authentication did, not TLS): never a fingerprint, no other stack, no retry, no policy moves.
      this.recordAttempt(error.code, undefined)
      this.#settleAndFail(error)
      return
    }
    const { transport } = this.#services
    const connection = transport.snapshotFor(error)
    const diagnosis = request.pinned
      ? undefined
      : diagnose({ error, stack: request.stack, connection, hasClientCert: request.rule.clientCert !== undefined, http2: transport.http2FailureFor(error) ?? http2 })
    // Attempts are listed for error reports; one that got a response needs no entry.
    this.recordAttempt(error.code ?? error.name, diagnosis?.fingerprint)
    if (diagnosis !== undefined) this.#publishDiagnosis(diagnosis, error)

    // No detection on a pinned host; a bare reset of an idempotent request still gets its retry.
    switch (routeFailure(diagnosis?.fingerprint, request.http1Only, request.pinned, this.diagnosis !== undefined)) {
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
    const request = this.#request
    const step = decideHttp11Required({
      diagnosis,
      stack: request.stack,
      pinned: request.pinned,
      inLadder: this.diagnosis !== undefined,
      idempotent: this.#isIdempotent(),
      replayNonIdempotent: request.rule.replayNonIdempotent,
      bodyReplayable: request.replayable
    })
    if (step.learn !== undefined) this.#services.book.learn(request.origin, request.rule, step.learn.stack, step.learn.http1Only, diagnosis, false)
    const next = step.learn !== undefined ? 'The next request goes over HTTP/1.1.' : 'No policy was learned.'
    if (step.kind === 'fail') {
      this.#settleAndFail(step.error === 'NOT_REPLAYED'
        ? notReplayedError(this.#context(), diagnosis, error, next)
        : bodyNotReplayableError(this.#context(), diagnosis, error, 'the server requires HTTP/1.1', next))
      return
    }
    request.send(step.reason, request.stack, step.http1Only, request.fromPolicy)
  }

  /** No fingerprint: the error reaches the caller unchanged, after at most a same-stack retry. */
  #onUndiagnosed (error: Error & { code?: string }, connection: ConnectionSnapshot | undefined): void {
    const request = this.#request
    const step = decideUndiagnosed({
      fromPolicy: request.fromPolicy,
      stack: request.stack,
      http1Only: request.http1Only,
      ruleHttp1Only: request.rule.http1Only,
      handshakeComplete: connection?.handshakeComplete,
      plainRead: connection?.plainRead,
      cannotWork: stackCannotWork(error),
      connectionClosed: isConnectionClosedError(error),
      retriesLeft: this.#retriesLeft,
      idempotent: this.#isIdempotent(),
      bodyReplayable: request.replayable
    })
    if (step.kind === 'fail') {
      this.#settleAndFail(error)
      return
    }
    let fromPolicy = request.fromPolicy
    if (step.reason === 'revalidate') {
      // The learned stack no longer completes a handshake: the server changed. Start again from strict.
      this.#services.book.unlearn(request.origin, `the ${request.stack} stack failed its handshake (${error.code ?? error.message})`)
      fromPolicy = false
    } else {
      this.#retriesLeft -= 1
      const { telemetry } = this.#services
      telemetry.debug({ origin: request.origin, stack: request.stack, ...telemetry.errorField(error) },
        'connection closed before any response byte, no fingerprint: sending the idempotent request once more on the same stack')
    }
    request.send(step.reason, step.stack, step.http1Only, fromPolicy)
  }

  #onDiagnosed (diagnosis: Diagnosis, error: Error & { code?: string }, connection: ConnectionSnapshot | undefined): void {
    const request = this.#request
    const { gate } = this.#services
    const running = gate.running(request.origin)
    const step = decideDiagnosed({
      diagnosis,
      fallback: request.rule.fallback,
      connection,
      ladderRunning: running !== undefined,
      http1Only: request.http1Only,
      idempotent: this.#isIdempotent(),
      replayNonIdempotent: request.rule.replayNonIdempotent,
      bodyReplayable: request.replayable
    })
    if (step.kind === 'follow-ladder') {
      // Another request is already finding the right stack for this origin: follow its result.
      const follow = (): void => { this.#followLadder(diagnosis, error, connection) }
      running?.then(follow, follow)
      return
    }
    if (step.kind === 'fail' && step.error === 'CLIENT_CERTIFICATE_REQUIRED') {
      this.#settleAndFail(clientCertificateError(this.#context(), diagnosis, error))
      return
    }
    this.#begin(diagnosis, error, step.candidates)
    if (step.kind === 'fail') {
      if (step.error === 'NOT_ALLOWED' || step.error === 'EXHAUSTED') this.#giveUp(error)
      else this.#notReplayable(diagnosis, error, step)
      return
    }
    this.#endLadder = gate.begin(request.origin)
    if (step.confirmLegacy) {
      // One refused hello is forgeable (a box on the path strips renegotiation_info): the policy is
      // learned only if an authenticated handshake confirms it. The request goes on either way.
      this.#services.transport.confirmLegacy(request.origin, request.url, diagnosis).then((confirmed) => {
        if (confirmed !== undefined && this.diagnosis === diagnosis) this.diagnosis = confirmed
        this.#next()
      }, () => { this.#next() })
      return
    }
    this.#next()
  }

  #followLadder (diagnosis: Diagnosis, error: Error & { code?: string }, connection: ConnectionSnapshot | undefined): void {
    const request = this.#request
    if (request.ended) return
    const step = decideFollow({
      diagnosis,
      policy: this.#services.book.read(request.origin, request.rule),
      stack: request.stack,
      ruleHttp1Only: request.rule.http1Only,
      candidates: this.#candidates,
      http1Only: request.http1Only,
      idempotent: this.#isIdempotent(),
      replayNonIdempotent: request.rule.replayNonIdempotent,
      bodyReplayable: request.replayable
    })
    if (step.kind === 'diagnose') {
      this.#onDiagnosed(diagnosis, error, connection)
      return
    }
    if (step.kind === 'fail') {
      this.#notReplayable(diagnosis, error, step)
      return
    }
    this.#begin(diagnosis, error, [])
    request.send(step.reason, step.stack, step.http1Only, true)
  }

  /** Whether the request says it may be sent twice (method, undici's `idempotent`, `Idempotency-Key`); read once. */
  #isIdempotent (): boolean {
    const opts = this.#request.opts
    this.#idempotent ??= requestIsIdempotent(this.#request.method, opts.idempotent, opts.headers)
    return this.#idempotent
  }

  /** A request that may not go again after a diagnosis (see `notReplayable` in src/decide.ts). */
  #notReplayable (diagnosis: Diagnosis, error: Error & { code?: string }, step: NotReplayableStep): void {
    const request = this.#request
    const target = step.learn
    if (target !== undefined) {
      // The evidence is authenticated, so the next request can go straight to the stack that works.
      this.#services.book.learn(request.origin, request.rule, target.stack, target.http1Only, diagnosis, false)
    }
    const learned = target !== undefined
      ? `The ${target.stack} stack was learned for this origin: the next request goes straight to it.`
      : 'No policy was learned.'
    // 'original': a non-idempotent request on evidence an attacker could have forged: not sent twice.
    this.#settleAndFail(step.error === 'NOT_REPLAYED'
      ? notReplayedError(this.#context(), diagnosis, error, learned)
      : step.error === 'original'
        ? error
        : bodyNotReplayableError(this.#context(), diagnosis, error, `${diagnosis.fingerprint} on the ${request.stack} stack`, learned))
  }

  /** The next stack of the ladder, or the error that says why none is left. */
  #next (): void {
    const next = this.#candidates.shift()
    if (next === undefined) {
      this.#giveUp(this.#lastError ?? this.#firstError as Error)
      return
    }
    this.#request.send('fallback', next, this.#request.http1Only, false)
  }

  #onCandidateFailed (diagnosis: Diagnosis | undefined, error: Error & { code?: string }): void {
    this.#lastError = error
    const step = decideCandidateFailed(diagnosis?.fingerprint, stackCannotWork(error))
    if (step.kind === 'next') {
      this.#next()
      return
    }
    // Not about the stack (refused connection, certificate, timeout, abort): the caller gets it as it is.
    this.#settleAndFail(step.error === 'CLIENT_CERTIFICATE_REQUIRED' ? clientCertificateError(this.#context(), diagnosis as Diagnosis, error) : error)
  }

  /** No stack left to try: either the stack that would work is not allowed, or every allowed one failed. */
  #giveUp (error: Error): void {
    this.#services.gate.settled(this.#request, false)
    const diagnosis = this.diagnosis as Diagnosis
    const fallback = this.#request.rule.fallback
    const verdict = giveUp(diagnosis.fingerprint, fallback)
    this.#request.fail(verdict.error === 'NOT_ALLOWED'
      ? notAllowedError(this.#context(), diagnosis, verdict.needed, fallbackAllowing(fallback, verdict.needed), this.#firstError ?? error)
      : exhaustedError(this.#context(), diagnosis, error))
  }

  /**
   * The server answered 403 because it cannot perform post-handshake authentication. The remedy is
   * TLS 1.2, where it renegotiates for the client certificate: the `renegotiation` stack, with the
   * host's certificate. The server refused the request in its access check, before any handler
   * ran, so any method may go again. Without a remedy the caller gets the 403 as it came.
   */
  postHandshakeAuth (held: HeldResponse, trailers: Headers): void {
    const request = this.#request
    const diagnosis = postHandshakeAuthDiagnosis(held.connection, held.size)
    const error = new Error(`${request.origin}: HTTP 403 on the ${request.stack} stack: ${diagnosis.evidence.summary}`)
    this.recordAttempt('HTTP_403', diagnosis.fingerprint)
    this.#publishDiagnosis(diagnosis, error)

    const inLadder = this.diagnosis !== undefined
    // A stack of the ladder got the same answer: the next one, else the 403 as it came.
    if (inLadder) this.#lastError = error
    const step = decidePostHandshakeAuth({
      inLadder,
      candidatesLeft: this.#candidates.length,
      hasClientCert: request.rule.clientCert !== undefined,
      fallback: request.rule.fallback,
      bodyReplayable: request.replayable
    })
    if (step.kind === 'next') {
      this.#next()
      return
    }
    if (step.kind === 'diagnose') {
      this.#onDiagnosed(diagnosis, error, undefined)
      return
    }
    const message = postHandshakeAuthNotice(this.#context(), step.notice, diagnosis)
    this.#services.book.noticeOnce(request.origin, `pha:${step.notice}`,
      { origin: request.origin, stack: request.stack, fingerprint: 'post-handshake-auth-required' }, message, ErrorCodes[step.code])
    // No policy moves: a ladder that got this answer again has learned nothing.
    request.deliver(held, trailers, !inLadder)
  }
}
