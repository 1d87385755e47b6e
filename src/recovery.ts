import type { Dispatcher } from 'undici'
import type { AttemptSummary } from './errors.ts'
import type { ConnectionSnapshot, Diagnosis, Http2StreamFacts } from './fingerprint.ts'
import { decideAuthFailure, decideHttp11Required, decideUndiagnosed, decideProxyFailure, learnsOnSuccess, routeFailure, stackCannotWork } from './decide.ts'
import { FailureRecord, type RecoveringRequest } from './failure-record.ts'
import { bodyNotReplayableError, notReplayedError } from './failures.ts'
import { diagnose, isConnectionClosedError } from './fingerprint.ts'
import { Ladder } from './ladder.ts'
import type { RequestServices } from './request-services.ts'
import { escapeIfUnsafe } from './outside-text.ts'
import type { HeldResponse } from './response-hold.ts'

type Headers = Parameters<NonNullable<Dispatcher.DispatchHandler['onResponseStart']>>[2]

/**
 * What one request keeps once one of its attempts failed, and the first steps after each failure:
 * a proxy's failure, HTTP/1.1 required, a failure without a fingerprint (at most a same-stack retry),
 * as src/decide.ts routes them. A diagnosed failure, and the failures of the stacks tried after it,
 * go to the request's Ladder (src/ladder.ts). A request that succeeds at its first attempt (almost
 * every request) never makes one.
 */
export class Recovery {
  /** Same-stack retries left for a connection closed before any response byte. */
  #retriesLeft: number
  readonly #record: FailureRecord
  readonly #ladder: Ladder

  constructor (request: RecoveringRequest, services: RequestServices) {
    this.#record = new FailureRecord(request, services)
    this.#ladder = new Ladder(this.#record)
    this.#retriesLeft = services.limits.resetRetries
  }

  /** The failed attempts, for error reports and telemetry. */
  get attempts (): AttemptSummary[] {
    return this.#record.attempts
  }

  /** The diagnosis the request's ladder answers; undefined while none began. */
  get diagnosis (): Diagnosis | undefined {
    return this.#ladder.diagnosis
  }

  /** This request's ladder is over (it ran one): requests that waited for it go on. */
  stopLadder (): void {
    this.#ladder.stop()
  }

  /** The request got its answer on its current stack: a diagnosed origin learns it, and the ladder ends. */
  succeeded (): void {
    const diagnosis = this.#ladder.diagnosis
    const { request, services } = this.#record
    if (diagnosis !== undefined && learnsOnSuccess(request.stack, request.http1Only)) {
      services.book.learn(request.origin, request.rule, request.stack, request.http1Only, diagnosis, true)
    }
    this.#ladder.stop()
  }

  /** An attempt failed before any response byte reached the caller: the next step, as decide.ts routes it. */
  attemptFailed (error: Error & { code?: string }, http2: Http2StreamFacts | undefined): void {
    const record = this.#record
    const { request, services } = record
    if (decideProxyFailure(error.code) !== undefined || decideAuthFailure(error.code) !== undefined) {
      // The proxy failed, not the origin (or the authentication did, not TLS): never a fingerprint, no other stack, no retry, no policy moves.
      record.recordAttempt(error.code, undefined)
      record.settleAndFail(error)
      return
    }
    const { transport } = services
    const connection = transport.snapshotFor(error)
    const diagnosis = request.pinned
      ? undefined
      : diagnose({ error, stack: request.stack, connection, hasClientCert: request.rule.clientCert !== undefined, http2: transport.http2FailureFor(error) ?? http2 })
    // Attempts are listed for error reports; one that got a response needs no entry.
    record.recordAttempt(error.code ?? error.name, diagnosis?.fingerprint)
    if (diagnosis !== undefined) record.publishDiagnosis(diagnosis, error)

    // No detection on a pinned host; a bare reset of an idempotent request still gets its retry.
    switch (routeFailure(diagnosis?.fingerprint, request.http1Only, request.pinned, this.#ladder.diagnosis !== undefined)) {
      case 'http11-required':
        this.#onHttp11Required(diagnosis as Diagnosis, error)
        break
      case 'undiagnosed':
        this.#onUndiagnosed(error, connection)
        break
      case 'diagnosed':
        this.#ladder.diagnosed(diagnosis as Diagnosis, error, connection)
        break
      case 'candidate':
        this.#ladder.candidateFailed(diagnosis, error)
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
    const record = this.#record
    const request = record.request
    const step = decideHttp11Required({
      diagnosis,
      stack: request.stack,
      pinned: request.pinned,
      inLadder: this.#ladder.diagnosis !== undefined,
      idempotent: record.isIdempotent(),
      replayNonIdempotent: request.rule.replayNonIdempotent,
      bodyReplayable: request.replayable
    })
    if (step.learn !== undefined) record.services.book.learn(request.origin, request.rule, step.learn.stack, step.learn.http1Only, diagnosis, false)
    const next = step.learn !== undefined ? 'The next request goes over HTTP/1.1.' : 'No policy was learned.'
    if (step.kind === 'fail') {
      record.settleAndFail(step.error === 'NOT_REPLAYED'
        ? notReplayedError(record.context(), diagnosis, error, next)
        : bodyNotReplayableError(record.context(), diagnosis, error, 'the server requires HTTP/1.1', next))
      return
    }
    request.send(step.reason, request.stack, step.http1Only, request.fromPolicy)
  }

  /** No fingerprint: the error reaches the caller unchanged, after at most a same-stack retry. */
  #onUndiagnosed (error: Error & { code?: string }, connection: ConnectionSnapshot | undefined): void {
    const record = this.#record
    const { request, services } = record
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
      idempotent: record.isIdempotent(),
      bodyReplayable: request.replayable
    })
    if (step.kind === 'fail') {
      record.settleAndFail(error)
      return
    }
    let fromPolicy = request.fromPolicy
    if (step.reason === 'revalidate') {
      // The learned stack no longer completes a handshake: the server changed. Start again from strict.
      services.book.unlearn(request.origin, `the ${request.stack} stack failed its handshake (${error.code ?? escapeIfUnsafe(error.message)})`)
      fromPolicy = false
    } else {
      this.#retriesLeft -= 1
      const { telemetry } = services
      telemetry.debug({ origin: request.origin, stack: request.stack, ...telemetry.errorField(error) },
        'connection closed before any response byte, no fingerprint: sending the idempotent request once more on the same stack')
    }
    request.send(step.reason, step.stack, step.http1Only, fromPolicy)
  }

  /** A held 403 was Apache's post-handshake-auth page (see src/response-hold.ts): the ladder answers it. */
  postHandshakeAuth (held: HeldResponse, trailers: Headers): void {
    this.#ladder.postHandshakeAuth(held, trailers)
  }
}
