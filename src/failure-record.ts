import type { Dispatcher } from 'undici'
import type { AttemptSummary } from './errors.ts'
import type { FailureContext } from './failures.ts'
import type { Diagnosis } from './fingerprint.ts'
import type { GatedRequest } from './ladder-gate.ts'
import type { HostRule } from './options.ts'
import { requestIsIdempotent } from './replay-policy.ts'
import type { RequestServices } from './request-services.ts'
import type { StackName } from './stacks.ts'
import type { AttemptReason, RequestInfo } from './telemetry.ts'

/** What a request's recovery reads of it and asks of it (a FallbackRequest, src/request.ts). */
export interface RecoveringRequest extends GatedRequest {
  readonly url: URL
  readonly rule: HostRule
  readonly opts: Dispatcher.DispatchOptions
  readonly method: string
  readonly stack: StackName
  readonly http1Only: boolean
  readonly replayable: boolean
  readonly info: RequestInfo | undefined
  readonly ended: boolean
  send: (reason: AttemptReason, stack: StackName, http1Only: boolean, fromPolicy: boolean) => void
  fail: (error: Error) => void
}

/**
 * What a request keeps once one of its attempts failed, shared by its Recovery (src/recovery.ts)
 * and its Ladder (src/ladder.ts): the failed attempts for error reports, what an error message says
 * about the request, and the ways a failure is reported.
 */
export class FailureRecord {
  readonly attempts: AttemptSummary[] = []
  readonly request: RecoveringRequest
  readonly services: RequestServices
  /** Whether the request may be sent twice, read once (see isIdempotent). */
  #idempotent: boolean | undefined = undefined

  constructor (request: RecoveringRequest, services: RequestServices) {
    this.request = request
    this.services = services
  }

  /** Lists a failed attempt for error reports. */
  recordAttempt (code: string | undefined, fingerprint: string | undefined): void {
    const request = this.request
    this.attempts.push({ stack: request.stack, http1Only: request.http1Only, code, fingerprint })
  }

  /** What an error message says about this request (see src/failures.ts). */
  context (): FailureContext {
    const r = this.request
    return { origin: r.origin, url: r.url, rule: r.rule, stack: r.stack, method: r.method, attempts: this.attempts, maxReplayBodySize: this.services.limits.maxReplayBodySize }
  }

  /** The diagnosis event of this attempt, with the request it belongs to (OpenTelemetry links them by it). */
  publishDiagnosis (diagnosis: Diagnosis, error: Error & { code?: string }): void {
    const request = this.request
    this.services.telemetry.diagnosis({
      origin: request.origin,
      method: request.method,
      stack: request.stack,
      fingerprint: diagnosis.fingerprint,
      evidence: diagnosis.evidence,
      error: { code: error.code, message: error.message },
      request: request.info
    })
  }

  /** Ends the request with this error; requests that waited for its outcome go on. */
  settleAndFail (error: Error): void {
    this.services.gate.settled(this.request, false)
    this.request.fail(error)
  }

  /** Whether the request says it may be sent twice (method, undici's `idempotent`, `Idempotency-Key`); read once. */
  isIdempotent (): boolean {
    const opts = this.request.opts
    this.#idempotent ??= requestIsIdempotent(this.request.method, opts.idempotent, opts.headers)
    return this.#idempotent
  }
}
