import { Agent, Dispatcher, Dispatcher1Wrapper, errors } from 'undici'
import { LadderGate } from './ladder-gate.ts'
import { resolveOptions, type TlsFallbackAgentOptions } from './options.ts'
import { PolicyBook } from './policy/book.ts'
import type { PolicyEntry } from './policy/entry.ts'
import { originOf } from './policy/origin.ts'
import { FallbackRequest, type RequestServices } from './request.ts'
import { Routes } from './routes.ts'
import { Telemetry } from './telemetry.ts'

type Handler = Dispatcher.DispatchHandler
type DispatchOptions = Dispatcher.DispatchOptions

/** Events of the inner Agents that undici's Agent emits too, forwarded to the caller's listeners. */
const FORWARDED_EVENTS = ['connect', 'disconnect', 'connectionError', 'drain'] as const
/** Public methods that read private fields: bound to the agent, so they also work through compose()'s Proxy. */
const BOUND_METHODS = ['close', 'destroy', 'policy', 'policies', 'forget'] as const
type Callback = (error: Error | null, data: null) => void
/**
 * undici's own adapter from a legacy handler (onConnect, onHeaders, onData, onComplete, onError,
 * onUpgrade) to an undici 8 handler; Node's bundled undici (Node 22, 24) hands a per-call
 * dispatcher such handlers.
 */
const wrapLegacyHandler = (Dispatcher1Wrapper as unknown as { wrapHandler: (handler: object) => Handler }).wrapHandler

/**
 * An undici 8 dispatcher that speaks strict TLS to every host and falls back, per host and only on
 * evidence, to a stack that works: TLS 1.3 only, secure renegotiation (with the host's client
 * certificate), or legacy server connect where the host's config consents to it.
 *
 * The agent is a router: Routes (src/routes.ts) finds an origin's rule, proxy and stack Agents;
 * the PolicyBook (src/policy/book.ts) reads and learns policies; the LadderGate
 * (src/ladder-gate.ts) holds cold-start gates, ladders and the requests in flight; each request
 * (src/request.ts) relays its attempts and recovers from their failures (src/recovery.ts).
 */
export class TlsFallbackAgent extends Dispatcher {
  readonly #routes: Routes
  readonly #book: PolicyBook
  readonly #gate: LadderGate
  readonly #services: RequestServices
  readonly #lifetime = new AbortController()
  readonly #unsubscribe: (() => void) | undefined
  #closed = false
  #destroyed = false
  /** Callbacks waiting for close() or destroy() to finish. */
  readonly #onClosed = new Waiters()
  readonly #onDestroyed = new Waiters()
  /** The strict stack's Agent: undici's WebSocket and EventSource read their limits from it. */
  readonly #primary: Agent

  constructor (options?: TlsFallbackAgentOptions) {
    const config = resolveOptions(options)
    super()
    const telemetry = new Telemetry(config.logger, config.hooks)
    const book = new PolicyBook(config.cache, telemetry, (origin) => this.#routes.tracker.renegotiated(origin))
    this.#book = book
    this.#routes = new Routes(config, telemetry, this.#lifetime.signal, (agent) => { this.#forwardEvents(agent) })
    this.#primary = this.#routes.primary
    // undici's MockAgent({ agent }) keeps its mocks in the agent's client map (undici's private
    // kClients): the strict stack's, where every request starts.
    const clients = Object.getOwnPropertySymbols(this.#primary).find((symbol) => symbol.description === 'clients')
    if (clients !== undefined) Object.defineProperty(this, clients, { value: (this.#primary as unknown as Record<symbol, unknown>)[clients] })
    this.#gate = new LadderGate(book, telemetry, config.coldStartTimeout, this.#lifetime.signal)
    this.#services = {
      telemetry,
      transport: this.#routes,
      book,
      gate: this.#gate,
      limits: { resetRetries: config.resetRetries, maxReplayBodySize: config.maxReplayBodySize }
    }
    for (const name of BOUND_METHODS) {
      Object.defineProperty(this, name, { value: (this[name] as (...args: unknown[]) => unknown).bind(this), writable: true, configurable: true })
    }
    this.#unsubscribe = book.subscribe()
  }

  /** The learned policy of an origin (`https://host[:port]`, or any URL of it), if it has one. */
  policy (origin: string | URL): PolicyEntry | undefined {
    return this.#book.cache.get(originOf(origin))
  }

  /** Every learned policy that has not expired. */
  policies (): PolicyEntry[] {
    return this.#book.cache.entries()
  }

  /** Forgets what was learned about an origin: its next request starts on the strict stack again. */
  forget (origin: string | URL): void {
    const key = originOf(origin)
    this.#book.forget(key)
    this.#routes.tracker.forget(key)
  }

  override dispatch (opts: DispatchOptions, handler: Handler): boolean {
    if (handler === null || typeof handler !== 'object') {
      throw new errors.InvalidArgumentError('handler must be an object')
    }
    if (typeof handler.onRequestStart !== 'function' && isLegacyHandler(handler)) {
      // Legacy handlers do not take HTTP/2 (undici's Dispatcher1Wrapper forces HTTP/1.1 too: undici#4989).
      handler = wrapLegacyHandler(handler)
      if (opts !== null && typeof opts === 'object' && (opts as { allowH2?: boolean }).allowH2 !== false) opts = { ...opts, allowH2: false } as DispatchOptions
    }
    try {
      if (opts === null || typeof opts !== 'object') throw new errors.InvalidArgumentError('opts must be an object.')
      if (this.#destroyed) throw new errors.ClientDestroyedError()
      if (this.#closed) throw new errors.ClientClosedError()
      if (opts.origin === undefined || opts.origin === null) throw new errors.InvalidArgumentError('opts.origin is required')
      const target = this.#routes.target(opts.origin)
      if (target === undefined) {
        // No TLS, nothing to fall back from: plain HTTP goes through the strict stack's Agent, or
        // undici's ProxyAgent (absolute-form requests) behind an HTTP(S) proxy.
        return this.#routes.plainRoute(opts.origin).dispatch(opts, handler)
      }
      const request = new FallbackRequest(this.#services, target.origin, target.url, target.rule, opts, handler)
      this.#gate.track(request)
      // A request its handler aborted in onRequestStart has ended: it must not become a gate's leader.
      if (request.open()) this.#gate.admit(request)
      return true
    } catch (error) {
      if (typeof handler.onResponseError !== 'function') throw error
      handler.onResponseError(null as unknown as Dispatcher.DispatchController, error as Error)
      return true
    }
  }

  override close (): Promise<void>
  override close (callback: Callback): void
  override close (callback?: Callback): Promise<void> | void {
    if (callback === undefined) {
      return new Promise((resolve, reject) => {
        this.close((error) => { if (error === null) resolve(); else reject(error) })
      })
    }
    // As undici's DispatcherBase#close: the same errors, callbacks called with (error, null).
    if (typeof callback !== 'function') throw new errors.InvalidArgumentError('invalid callback')
    if (this.#destroyed) {
      const error = new errors.ClientDestroyedError()
      queueMicrotask(() => { callback(error, null) })
      return
    }
    if (this.#closed) {
      this.#onClosed.add(callback)
      return
    }
    this.#closed = true
    this.#onClosed.start(callback)
    this.#close().catch(() => {}).then(async () => { await this.destroy() }).then(() => { this.#onClosed.finish() }, () => {})
  }

  override destroy (): Promise<void>
  override destroy (error: Error | null): Promise<void>
  override destroy (callback: Callback): void
  override destroy (error: Error | null, callback: Callback): void
  override destroy (errorOrCallback?: Error | null | Callback, callback?: Callback): Promise<void> | void {
    if (typeof errorOrCallback === 'function') {
      callback = errorOrCallback
      errorOrCallback = null
    }
    const error = errorOrCallback ?? null
    if (callback === undefined) {
      return new Promise((resolve) => { this.destroy(error, () => { resolve() }) })
    }
    if (typeof callback !== 'function') throw new errors.InvalidArgumentError('invalid callback')
    if (this.#destroyed) {
      this.#onDestroyed.add(callback)
      return
    }
    this.#destroyed = true
    this.#onDestroyed.start(callback)
    this.#destroy(error).then(() => { this.#onDestroyed.finish() }, () => {})
  }

  get closed (): boolean {
    return this.#closed
  }

  get destroyed (): boolean {
    return this.#destroyed
  }

  /** The agent's WebSocket limits (`webSocket` option), read by undici's WebSocket as from its Agent. */
  get webSocketOptions (): { maxFragments: number, maxPayloadSize: number } {
    return (this.#primary as unknown as { webSocketOptions: { maxFragments: number, maxPayloadSize: number } }).webSocketOptions
  }

  /** The agent's EventSource limits (`eventSource` option), read by undici's EventSource as from its Agent. */
  get eventSourceOptions (): { maxEventSize: number } {
    return (this.#primary as unknown as { eventSourceOptions: { maxEventSize: number } }).eventSourceOptions
  }

  /**
   * Per origin, its connections' stats, as undici's `Agent#stats`. An origin served by several
   * stacks' Agents (a fallback) gets the sums of their numbers.
   */
  get stats (): Record<string, Agent['stats'][string]> {
    const all: Record<string, Agent['stats'][string]> = {}
    for (const agent of this.#routes.dispatchers()) {
      const stats = (agent as { stats?: Agent['stats'] }).stats
      if (stats === undefined) continue
      for (const [origin, entry] of Object.entries(stats)) {
        const known = all[origin]
        if (known === undefined) {
          all[origin] = entry
          continue
        }
        const sum: Record<string, number> = { ...(known as unknown as Record<string, number>) }
        for (const [field, value] of Object.entries(entry as unknown as Record<string, number>)) {
          if (typeof value === 'number') sum[field] = (sum[field] ?? 0) + value
        }
        all[origin] = sum as unknown as Agent['stats'][string]
      }
    }
    return all
  }

  /** Waits for in-flight requests (fallbacks and replays included), then closes every stack's connections. */
  async #close (): Promise<void> {
    const drained = this.#gate.drained()
    if (drained !== undefined) await drained
    await Promise.all(this.#routes.dispatchers().map(async (agent) => await agent.close()))
  }

  async #destroy (error: Error | null): Promise<void> {
    this.#closed = true
    const reason = error ?? new errors.ClientDestroyedError()
    this.#lifetime.abort(reason)
    this.#unsubscribe?.()
    this.#gate.destroy(reason)
    await Promise.all(this.#routes.dispatchers().map(async (agent) => await agent.destroy(reason)))
    await this.#book.close()
  }

  #forwardEvents (agent: Dispatcher): void {
    // Forwarded only while someone listens. Calling emit() on this agent (an emitter no stream
    // resembles) changes how V8 optimizes EventEmitter.prototype.emit for every emitter in the
    // process: stream emits then allocated their arguments, 180 bytes more per chunk of a
    // response body (issue 14).
    const emitter = this as unknown as NodeJS.EventEmitter
    for (const event of FORWARDED_EVENTS) {
      ;(agent as unknown as NodeJS.EventEmitter).on(event, (...args: unknown[]) => {
        if (emitter.listenerCount(event) > 0) emitter.emit(event, ...args)
      })
    }
  }
}

/** Callbacks waiting for close() or destroy() to finish, called with (null, null) as undici's DispatcherBase does. */
class Waiters {
  /** Undefined before the work starts and once it has finished. */
  #pending: Callback[] | undefined

  start (callback: Callback): void {
    this.#pending = [callback]
  }

  /** Waits with the others, or is called at once (in a microtask) when the work has finished. */
  add (callback: Callback): void {
    if (this.#pending !== undefined) this.#pending.push(callback)
    else queueMicrotask(() => { callback(null, null) })
  }

  finish (): void {
    queueMicrotask(() => {
      const callbacks = this.#pending ?? []
      this.#pending = undefined
      for (const done of callbacks) done(null, null)
    })
  }
}

/** A handler in undici's legacy shape (Node's bundled undici on Node 22 and 24 sends these). */
function isLegacyHandler (handler: object): boolean {
  const h = handler as Record<string, unknown>
  return typeof h.onConnect === 'function' || typeof h.onHeaders === 'function' || typeof h.onError === 'function' ||
    typeof h.onComplete === 'function' || typeof h.onData === 'function' || typeof h.onUpgrade === 'function'
}
