import type { Dispatcher } from 'undici'

type Controller = Dispatcher.DispatchController

/** Who hears of the caller's abort (the request: an object, not a closure made per request). */
export interface AbortListener {
  callerAborted: (reason: Error) => void
}

/**
 * The one controller the caller's handler sees for the whole request. Each attempt has its own
 * undici controller; this one forwards to the current attempt's, carries pause state across
 * attempts, and remembers an abort so that no further attempt starts after it.
 */
export class StableController implements Controller {
  #target: Controller | undefined
  #paused = false
  #aborted = false
  #reason: Error | null = null
  readonly #listener: AbortListener

  constructor (listener: AbortListener) {
    this.#listener = listener
  }

  /** Points the controller at a new attempt. */
  attach (target: Controller): void {
    this.#target = target
    if (this.#aborted) {
      target.abort(this.#reason as Error)
    } else if (this.#paused) {
      target.pause()
    }
  }

  /** True once the caller aborted the request (not when an attempt failed on its own). */
  get abortedByCaller (): boolean {
    return this.#aborted
  }

  get aborted (): boolean {
    return this.#aborted || (this.#target?.aborted ?? false)
  }

  get paused (): boolean {
    return this.#paused
  }

  get reason (): Error | null {
    return this.#reason ?? this.#target?.reason ?? null
  }

  get rawHeaders (): Controller['rawHeaders'] {
    return this.#target?.rawHeaders ?? null
  }

  get rawTrailers (): Controller['rawTrailers'] {
    return this.#target?.rawTrailers ?? null
  }

  abort (reason: Error): void {
    if (this.#aborted) return
    this.#aborted = true
    this.#reason = reason
    this.#target?.abort(reason)
    this.#listener.callerAborted(reason)
  }

  pause (): void {
    this.#paused = true
    this.#target?.pause()
  }

  resume (): void {
    this.#paused = false
    this.#target?.resume()
  }
}
