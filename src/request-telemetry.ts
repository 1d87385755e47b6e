import type { AttemptSummary } from './errors.ts'
import type { StackName } from './stacks.ts'
import type { RequestInfo, Telemetry } from './telemetry.ts'

/** The failures of every request that has none (telemetry's `failures`); frozen, so that nothing can push into it by mistake. */
const NO_ATTEMPTS: readonly AttemptSummary[] = Object.freeze([])

/** A request's path as telemetry shows it: without its query (query values are never logged). */
export function pathOf (path: string): string {
  const q = path.indexOf('?')
  return q === -1 ? path : path.slice(0, q)
}

/** The request as telemetry names it, announced on `request:start`; undefined while no one listens to requests. */
export function requestStarted (telemetry: Telemetry, origin: string, method: string, path: string): RequestInfo | undefined {
  if (!telemetry.wantsRequests) return undefined
  const request = { origin, method, path: pathOf(path) }
  telemetry.requestStart({ request })
  return request
}

/** How a request ended, as `request:end` says it: its last stack, its attempts and failures, and the error if it failed. */
export interface RequestOutcome {
  readonly stack: StackName
  readonly http1Only: boolean
  readonly attempts: number
  readonly failures: readonly AttemptSummary[] | undefined
  readonly responded: boolean
}

export function requestEnded (telemetry: Telemetry, request: RequestInfo, outcome: RequestOutcome, error: (Error & { code?: string }) | undefined): void {
  telemetry.requestEnd({
    request,
    stack: outcome.stack,
    http1Only: outcome.http1Only,
    attempts: outcome.attempts,
    failures: outcome.failures ?? NO_ATTEMPTS,
    responded: outcome.responded,
    error: error === undefined ? undefined : { code: error.code, message: String(error.message) }
  })
}
