import type { Dispatcher } from 'undici'

type Controller = Dispatcher.DispatchController

/** Who hears of the caller's abort (the request: an object, not a closure made per request). */
export interface AbortListener {
  callerAborted: (reason: Error) => void
}

/** The listener of a controller whose request ended: an abort then has nothing left to stop. */
const ENDED: AbortListener = Object.freeze({ callerAborted: () => {} })

type Raw = Controller['rawHeaders']

/**
 * A copy of undici's raw header list (the same Buffers, in an array of ours). Keeping undici's own
 * array past the request's end made V8 allocate every response's array in the old generation
 * (allocation-site pretenuring), where each one kept its Buffers through scavenges until the next
 * full collection: see bench/NOTES.md, "What survives a scavenge".
 */
function copyOf (raw: Raw): Raw {
  return Array.isArray(raw) ? raw.slice() : raw
}

/**
 * What the last attempt's controller answered when the request ended, kept in its place: the
 * getters answer as before, and pause, resume and abort reach no connection (the request is over).
 */
class EndedAttempt implements Controller {
  readonly aborted: boolean
  readonly paused = false
  readonly reason: Error | null
  readonly rawHeaders: Raw
  readonly rawTrailers: Raw

  constructor (target: Controller) {
    this.aborted = target.aborted
    this.reason = target.reason
    this.rawHeaders = copyOf(target.rawHeaders)
    this.rawTrailers = copyOf(target.rawTrailers)
  }

  abort (): void {}
  pause (): void {}
  resume (): void {}
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
  #listener: AbortListener

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

  /**
   * The request ended (the caller's handler got its last callback): the controller lets go of the
   * request and of the attempt's controller, and keeps only what its getters answer. A caller's
   * handler may keep its controller long after the end (undici's request() does, in a closure): it
   * then keeps a few bytes alive, not the whole request (its options, handlers, the connection's
   * request). Measured: see bench/NOTES.md, "What survives a scavenge".
   */
  detach (): void {
    if (this.#target !== undefined) this.#target = new EndedAttempt(this.#target)
    this.#listener = ENDED
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
