import type { HostRule } from './options.ts'
import type { PolicyBook } from './policy/book.ts'
import type { PolicyEntry } from './policy/entry.ts'
import type { Telemetry } from './telemetry.ts'

/** What the gate sees of a request (a FallbackRequest, src/request.ts). */
export interface GatedRequest {
  readonly origin: string
  readonly rule: HostRule
  readonly pinned: boolean
  readonly fromPolicy: boolean
  /** Where the request sits in the list of requests in flight: written by this list only. */
  slot: number
  start: (entry: PolicyEntry | undefined) => void
  abort: (error: Error) => void
}

interface Gate {
  waiters: GatedRequest[]
  timer: NodeJS.Timeout | undefined
}

/**
 * Where requests wait for one another, per origin: the cold-start gate (while the first request to
 * an origin with no policy is in flight, the others wait for its outcome, at most
 * `coldStartTimeout`), the ladder a request runs for its origin (a request whose attempt fails the
 * same way follows it instead of starting another), and the list of requests in flight that
 * close() waits for and destroy() aborts.
 */
export class LadderGate {
  readonly #book: PolicyBook
  readonly #telemetry: Telemetry
  readonly #coldStartTimeout: number
  readonly #signal: AbortSignal
  readonly #gates = new Map<string, Gate>()
  /** The requests that opened a gate and have not settled yet: when one settles, its origin's gate opens. */
  readonly #leaders = new Set<GatedRequest>()
  readonly #ladders = new Map<string, Promise<void>>()
  /**
   * Requests in flight, in an array with swap-remove (each request knows its slot). A Set churned
   * by every request kept dead requests reachable across scavenges and multiplied GC work.
   */
  readonly #inflight: GatedRequest[] = []
  #drained: (() => void) | undefined

  constructor (book: PolicyBook, telemetry: Telemetry, coldStartTimeout: number, signal: AbortSignal) {
    this.#book = book
    this.#telemetry = telemetry
    this.#coldStartTimeout = coldStartTimeout
    this.#signal = signal
  }

  /** Lists a new request as in flight. */
  track (request: GatedRequest): void {
    request.slot = this.#inflight.length
    this.#inflight.push(request)
  }

  /** Cold-start gate: while the first request to an origin with no policy is in flight, the others wait for its outcome. */
  admit (request: GatedRequest): void {
    const origin = request.origin
    if (request.pinned) {
      request.start(undefined)
      return
    }
    // The policy is read once per request: known origins go at once, with what was read.
    const entry = this.#book.read(origin, request.rule)
    if (entry !== undefined || this.#book.known(origin)) {
      request.start(entry)
      return
    }
    if (this.#coldStartTimeout === 0) {
      this.#loadThenStart(request)
      return
    }
    const gate = this.#gates.get(origin)
    if (gate !== undefined) {
      gate.waiters.push(request)
      return
    }
    const timer = setTimeout(() => { this.#open(origin) }, this.#coldStartTimeout)
    timer.unref()
    this.#leaders.add(request)
    this.#gates.set(origin, { waiters: [], timer })
    this.#loadThenStart(request)
  }

  /** An origin this process has never seen: a shared store may know it (the store bounds the wait). */
  #loadThenStart (request: GatedRequest): void {
    const loading = this.#book.load(request.origin, this.#signal)
    if (loading === undefined) {
      request.start(this.#book.read(request.origin, request.rule))
      return
    }
    loading.then(() => { request.start(this.#book.read(request.origin, request.rule)) }, (error: unknown) => {
      this.#telemetry.warn({ origin: request.origin, ...this.#telemetry.errorField(error) }, 'the policy store failed to look the origin up; going on as unknown')
      request.start(undefined)
    })
  }

  #open (origin: string): void {
    const gate = this.#gates.get(origin)
    if (gate === undefined) return
    this.#gates.delete(origin)
    clearTimeout(gate.timer)
    for (const waiter of gate.waiters) waiter.start(this.#book.read(origin, waiter.rule))
  }

  /** However a leader ended, the requests behind it must not wait for the gate's timeout. */
  #leaderDone (request: GatedRequest): void {
    if (this.#leaders.size !== 0 && this.#leaders.delete(request)) this.#open(request.origin)
  }

  /** The request got a response (`ok`), or gave up: its origin may become warm, its gate opens. */
  settled (request: GatedRequest, ok: boolean): void {
    if (ok && request.rule.stack === undefined && !request.fromPolicy) this.#book.worked(request.origin)
    this.#leaderDone(request)
  }

  /** The caller's handler got its last callback. */
  finished (request: GatedRequest): void {
    this.#leaderDone(request)
    const slot = request.slot
    if (slot < 0 || this.#inflight[slot] !== request) return
    const last = this.#inflight.pop() as GatedRequest
    if (last !== request) {
      this.#inflight[slot] = last
      last.slot = slot
    }
    request.slot = -1
    if (this.#inflight.length === 0) this.#drained?.()
  }

  /** A ladder already running for this origin, to wait for instead of starting another. */
  running (origin: string): Promise<void> | undefined {
    return this.#ladders.get(origin)
  }

  /** A request starts a ladder for its origin; the function returned ends it. */
  begin (origin: string): () => void {
    let end!: () => void
    const promise = new Promise<void>((resolve) => { end = resolve })
    this.#ladders.set(origin, promise)
    return () => {
      if (this.#ladders.get(origin) === promise) this.#ladders.delete(origin)
      end()
    }
  }

  /** A promise that resolves once no request is in flight; undefined when none is. */
  drained (): Promise<void> | undefined {
    if (this.#inflight.length === 0) return undefined
    return new Promise<void>((resolve) => {
      this.#drained = () => {
        this.#drained = undefined
        resolve()
      }
    })
  }

  /** The agent is being destroyed: no gate opens any more, and every request in flight fails with `reason`. */
  destroy (reason: Error): void {
    for (const gate of this.#gates.values()) clearTimeout(gate.timer)
    this.#gates.clear()
    for (const request of [...this.#inflight]) request.abort(reason)
  }
}
