import type { Dispatcher } from 'undici'
import { ErrorCodes } from './errors.ts'
import {
  decideCandidateFailed, decideDiagnosed, decideFollow, decidePostHandshakeAuth, fallbackAllowing, giveUp, stackCannotWork,
  type NotReplayableStep
} from './decide.ts'
import type { FailureRecord } from './failure-record.ts'
import { bodyNotReplayableError, clientCertificateError, exhaustedError, notAllowedError, notReplayedError, postHandshakeAuthNotice } from './failures.ts'
import { postHandshakeAuthDiagnosis, type ConnectionSnapshot, type Diagnosis } from './fingerprint.ts'
import type { HeldResponse } from './response-hold.ts'
import type { FallbackStack } from './stacks.ts'

type Headers = Parameters<NonNullable<Dispatcher.DispatchHandler['onResponseStart']>>[2]

/** A Ladder's candidates until a diagnosis names some: shared, never written to (shift() on an empty array writes nothing). */
const NO_CANDIDATES: FallbackStack[] = []

/**
 * The ladder of one request once a failure was diagnosed: the diagnosis it answers, the stacks left
 * to try and the errors they ended with, and the steps that follow each failure on the way, as
 * src/decide.ts decides them. The request's Recovery (src/recovery.ts) hands it the failures that
 * carry a diagnosis, and those of the stacks it tries.
 */
export class Ladder {
  diagnosis: Diagnosis | undefined = undefined
  #firstError: Error | undefined = undefined
  #candidates: FallbackStack[] = NO_CANDIDATES
  /** Ends the ladder this request runs for its origin (see LadderGate#begin). */
  #endLadder: (() => void) | undefined = undefined
  #lastError: Error | undefined = undefined
  readonly #record: FailureRecord

  constructor (record: FailureRecord) {
    this.#record = record
  }

  /** A ladder begins (or is followed): the diagnosis it answers, the error that started it, the stacks left to try. */
  #begin (diagnosis: Diagnosis, error: Error, candidates: FallbackStack[]): void {
    this.diagnosis = diagnosis
    this.#firstError = error
    this.#candidates = candidates
  }

  /** This request's ladder is over (it ran one): requests that waited for it go on. */
  stop (): void {
    const end = this.#endLadder
    if (end === undefined) return
    this.#endLadder = undefined
    end()
  }

  diagnosed (diagnosis: Diagnosis, error: Error & { code?: string }, connection: ConnectionSnapshot | undefined): void {
    const record = this.#record
    const { request, services } = record
    const running = services.gate.running(request.origin)
    const step = decideDiagnosed({
      diagnosis,
      fallback: request.rule.fallback,
      connection,
      ladderRunning: running !== undefined,
      http1Only: request.http1Only,
      idempotent: record.isIdempotent(),
      replayNonIdempotent: request.rule.replayNonIdempotent,
      bodyReplayable: request.replayable
    })
    if (step.kind === 'follow-ladder') {
      // Another request is already finding the right stack for this origin: follow its result.
      const follow = (): void => { this.#follow(diagnosis, error, connection) }
      running?.then(follow, follow)
      return
    }
    if (step.kind === 'fail' && step.error === 'CLIENT_CERTIFICATE_REQUIRED') {
      record.settleAndFail(clientCertificateError(record.context(), diagnosis, error))
      return
    }
    this.#begin(diagnosis, error, step.candidates)
    if (step.kind === 'fail') {
      if (step.error === 'NOT_ALLOWED' || step.error === 'EXHAUSTED') this.#giveUp(error)
      else this.#notReplayable(diagnosis, error, step)
      return
    }
    this.#endLadder = services.gate.begin(request.origin)
    if (step.confirmLegacy) {
      // One refused hello is forgeable (a box on the path strips renegotiation_info): the policy is
      // learned only if an authenticated handshake confirms it. The request goes on either way.
      services.transport.confirmLegacy(request.origin, request.url, diagnosis).then((confirmed) => {
        if (confirmed !== undefined && this.diagnosis === diagnosis) this.diagnosis = confirmed
        this.#next()
      }, () => { this.#next() })
      return
    }
    this.#next()
  }

  #follow (diagnosis: Diagnosis, error: Error & { code?: string }, connection: ConnectionSnapshot | undefined): void {
    const record = this.#record
    const request = record.request
    if (request.ended) return
    const step = decideFollow({
      diagnosis,
      policy: record.services.book.read(request.origin, request.rule),
      stack: request.stack,
      ruleHttp1Only: request.rule.http1Only,
      candidates: this.#candidates,
      http1Only: request.http1Only,
      idempotent: record.isIdempotent(),
      replayNonIdempotent: request.rule.replayNonIdempotent,
      bodyReplayable: request.replayable
    })
    if (step.kind === 'diagnose') {
      this.diagnosed(diagnosis, error, connection)
      return
    }
    if (step.kind === 'fail') {
      this.#notReplayable(diagnosis, error, step)
      return
    }
    this.#begin(diagnosis, error, [])
    request.send(step.reason, step.stack, step.http1Only, true)
  }

  /** A request that may not go again after a diagnosis (see `notReplayable` in src/decide.ts). */
  #notReplayable (diagnosis: Diagnosis, error: Error & { code?: string }, step: NotReplayableStep): void {
    const record = this.#record
    const request = record.request
    const target = step.learn
    if (target !== undefined) {
      // The evidence is authenticated, so the next request can go straight to the stack that works.
      record.services.book.learn(request.origin, request.rule, target.stack, target.http1Only, diagnosis, false)
    }
    const learned = target !== undefined
      ? `The ${target.stack} stack was learned for this origin: the next request goes straight to it.`
      : 'No policy was learned.'
    // 'original': a non-idempotent request on evidence an attacker could have forged: not sent twice.
    record.settleAndFail(step.error === 'NOT_REPLAYED'
      ? notReplayedError(record.context(), diagnosis, error, learned)
      : step.error === 'original'
        ? error
        : bodyNotReplayableError(record.context(), diagnosis, error, `${diagnosis.fingerprint} on the ${request.stack} stack`, learned))
  }

  /** The next stack of the ladder, or the error that says why none is left. */
  #next (): void {
    const next = this.#candidates.shift()
    if (next === undefined) {
      this.#giveUp(this.#lastError ?? this.#firstError as Error)
      return
    }
    const request = this.#record.request
    request.send('fallback', next, request.http1Only, false)
  }

  /** A stack of the ladder failed. */
  candidateFailed (diagnosis: Diagnosis | undefined, error: Error & { code?: string }): void {
    this.#lastError = error
    const step = decideCandidateFailed(diagnosis?.fingerprint, stackCannotWork(error))
    if (step.kind === 'next') {
      this.#next()
      return
    }
    // Not about the stack (refused connection, certificate, timeout, abort): the caller gets it as it is.
    const record = this.#record
    record.settleAndFail(step.error === 'CLIENT_CERTIFICATE_REQUIRED' ? clientCertificateError(record.context(), diagnosis as Diagnosis, error) : error)
  }

  /** No stack left to try: either the stack that would work is not allowed, or every allowed one failed. */
  #giveUp (error: Error): void {
    const record = this.#record
    record.services.gate.settled(record.request, false)
    const diagnosis = this.diagnosis as Diagnosis
    const fallback = record.request.rule.fallback
    const verdict = giveUp(diagnosis.fingerprint, fallback)
    record.request.fail(verdict.error === 'NOT_ALLOWED'
      ? notAllowedError(record.context(), diagnosis, verdict.needed, fallbackAllowing(fallback, verdict.needed), this.#firstError ?? error)
      : exhaustedError(record.context(), diagnosis, error))
  }

  /**
   * The server answered 403 because it cannot perform post-handshake authentication. The remedy is
   * TLS 1.2, where it renegotiates for the client certificate: the `renegotiation` stack, with the
   * host's certificate. The server refused the request in its access check, before any handler
   * ran, so any method may go again. Without a remedy the caller gets the 403 as it came.
   */
  postHandshakeAuth (held: HeldResponse, trailers: Headers): void {
    const record = this.#record
    const { request, services } = record
    const diagnosis = postHandshakeAuthDiagnosis(held.connection, held.size)
    const error = new Error(`${request.origin}: HTTP 403 on the ${request.stack} stack: ${diagnosis.evidence.summary}`)
    record.recordAttempt('HTTP_403', diagnosis.fingerprint)
    record.publishDiagnosis(diagnosis, error)

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
      this.diagnosed(diagnosis, error, undefined)
      return
    }
    const message = postHandshakeAuthNotice(record.context(), step.notice, diagnosis)
    services.book.noticeOnce(request.origin, `pha:${step.notice}`,
      { origin: request.origin, stack: request.stack, fingerprint: 'post-handshake-auth-required' }, message, ErrorCodes[step.code])
    // No policy moves: a ladder that got this answer again has learned nothing.
    held.deliver(trailers, !inLadder)
  }
}
