import type { Dispatcher } from 'undici'
import type { AsyncResource } from 'node:async_hooks'
import { AttemptHandler, type AttemptOwner } from './attempt.ts'
import type { RequestServices } from './request-services.ts'
import { pathOf } from './request-telemetry.ts'
import type { StackName } from './stacks.ts'
import type { AttemptReason, RequestInfo } from './telemetry.ts'

/** The request an attempt belongs to, as sending the attempt reads it. */
export interface SendingRequest extends AttemptOwner {
  readonly origin: string
  readonly method: string
  /** The caller's options, with the agent's own origin string. */
  readonly opts: Dispatcher.DispatchOptions
  readonly info: RequestInfo | undefined
}

/**
 * Sends attempt number `attempt` of a request with this body: telemetry's `attempt` event, then
 * the transport: on a connection primed for `primePath` (uploads), the one resend after a buffer
 * 413 on a connection of its own (`resendPath`), or as it is; in the caller's async context when
 * tracers want it (`callerScope`). Positional arguments: no object per attempt on the hot path.
 */
export function sendAttempt (request: SendingRequest, services: RequestServices, body: unknown, reason: AttemptReason, stack: StackName,
  http1Only: boolean, attempt: number, primePath: string | undefined, resendPath: string | undefined, callerScope: AsyncResource | undefined): void {
  const { telemetry, transport } = services
  if (telemetry.wantsAttempts) {
    telemetry.attempt({
      origin: request.origin, method: request.method, path: pathOf(request.opts.path), stack, http1Only, attempt, reason, ...(primePath === undefined ? {} : { primed: true }), request: request.info
    })
  }
  // The request's options (the caller's, with the agent's origin string) go as they are unless the body must be replaced (a stream, teed).
  const opts = body === request.opts.body ? request.opts : { ...request.opts, body } as Dispatcher.DispatchOptions
  const handler = new AttemptHandler(request, attempt)
  if (primePath !== undefined) {
    handler.primed = true
    if (resendPath !== undefined) {
      transport.resendPrimed(stack, resendPath, opts, handler)
      return
    }
  }
  if (callerScope === undefined) transport.send(stack, http1Only, opts, handler, primePath)
  else callerScope.runInAsyncScope(transport.send, transport, stack, http1Only, opts, handler, primePath)
}
