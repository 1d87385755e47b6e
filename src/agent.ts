import { Agent, Client, Dispatcher, Dispatcher1Wrapper, ProxyAgent, errors } from 'undici'
import { ConnectionTracker, http2FailureFor, type ResolvedTls } from './connector.ts'
import { mayLearn } from './decide.ts'
import { invalidOption } from './errors.ts'
import type { Diagnosis } from './fingerprint.ts'
import { escapeOutside, quoteOutside } from './outside-text.ts'
import { resolveOptions, type AgentConfig, type HostRule, type TlsFallbackAgentOptions } from './options.ts'
import type { PolicyCache } from './policy/cache.ts'
import { validateEntry, type PolicyEntry } from './policy/entry.ts'
import { FilePolicyCache } from './policy/file-cache.ts'
import { MemoryPolicyCache } from './policy/memory-cache.ts'
import { RedisPolicyCache } from './policy/redis-cache.ts'
import { normalizeHostname } from './policy/hosts.ts'
import { hostAndPort, originOf } from './policy/origin.ts'
import { openTunnel } from './proxy/open.ts'
import type { Proxy } from './proxy/options.ts'
import { FallbackRequest, type RequestHost } from './request.ts'
import { checkRfc5746, type Rfc5746Check } from './rfc5746.ts'
import { stackTlsOptions, type StackName } from './stacks.ts'
import { Telemetry } from './telemetry.ts'

type Handler = Dispatcher.DispatchHandler
type DispatchOptions = Dispatcher.DispatchOptions

/** A dispatch's origin, parsed once: its URL, origin key and host rule. */
interface Target {
  url: URL
  origin: string
  rule: HostRule
}

interface Gate {
  leader: FallbackRequest
  waiters: FallbackRequest[]
  timer: NodeJS.Timeout | undefined
}

const MAX_WARM_ORIGINS = 10_000
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
const TCP_KEYS = ['lookup', 'family', 'hints', 'autoSelectFamily', 'autoSelectFamilyAttemptTimeout'] as const

/**
 * An undici 8 dispatcher that speaks strict TLS to every host and falls back, per host and only on
 * evidence, to a stack that works: TLS 1.3 only, secure renegotiation (with the host's client
 * certificate), or legacy server connect where the host's config consents to it.
 */
export class TlsFallbackAgent extends Dispatcher {
  readonly #config: AgentConfig
  readonly #cache: PolicyCache
  readonly #ownsCache: boolean
  readonly #telemetry: Telemetry
  readonly #tracker: ConnectionTracker
  readonly #agents = new Map<string, Agent>()
  /** undici ProxyAgents for plain http:// origins behind an HTTP(S) proxy, one per proxy. */
  readonly #proxyAgents = new Map<Proxy, ProxyAgent>()
  /** Where plain http:// origins go, memoized by origin string. */
  readonly #plainRoutes = new Map<string, Dispatcher>()
  /** The same Agents by stack, one map per HTTP variant: found per request without building a key string. */
  readonly #agentsH1 = new Map<StackName, Agent>()
  readonly #agentsH2 = new Map<StackName, Agent>()
  readonly #tls = new Map<HostRule, Map<StackName, ResolvedTls>>()
  /**
   * Requests in flight, in an array with swap-remove (each request knows its slot). A Set churned
   * by every request kept dead requests reachable across scavenges and multiplied GC work.
   */
  readonly #inflight: FallbackRequest[] = []
  #drained: (() => void) | undefined
  readonly #targets = new Map<string, Target>()
  /** Validated plain copies of the entries a custom store handed out, by the store's object. */
  readonly #copies = new WeakMap<object, PolicyEntry>()
  /** The store is one of ours: its entries already are validated, capped plain copies. */
  readonly #trustedCache: boolean
  /** The store's TTL, read once (a store's getter cannot change it later). */
  readonly #ttl: number
  /** The last origin string looked up and its target: a run of requests to one origin skips the Map. */
  #lastKey: string | undefined
  #lastTarget: Target | undefined
  readonly #gates = new Map<string, Gate>()
  readonly #warm = new Set<string>()
  readonly #ladders = new Map<string, Promise<void>>()
  readonly #ignoredWarned = new Set<string>()
  /** RFC 5746 checks in flight, per origin (concurrent requests share one). */
  readonly #legacyChecks = new Map<string, Promise<Rfc5746Check>>()
  readonly #tcp: Record<string, unknown>
  readonly #requestHost: RequestHost
  readonly #lifetime = new AbortController()
  readonly #unsubscribe: (() => void) | undefined
  #closed = false
  #destroyed = false
  /** Callbacks waiting for close() or destroy() to finish; null once it has. */
  #onClosed: Callback[] | null = null
  #onDestroyed: Callback[] | null = null
  /** The strict stack's Agent: undici's WebSocket and EventSource read their limits from it. */
  readonly #primary: Agent

  constructor (options?: TlsFallbackAgentOptions) {
    const config = resolveOptions(options)
    super()
    this.#config = config
    this.#ownsCache = config.cache === undefined
    this.#cache = config.cache ?? new MemoryPolicyCache()
    this.#trustedCache = isOwnStore(this.#cache)
    this.#ttl = this.#cache.ttl
    this.#telemetry = new Telemetry(config.logger, config.hooks)
    const tcp: Record<string, unknown> = {}
    for (const key of TCP_KEYS) {
      const value = (config.connect as Record<string, unknown>)[key] ?? (config.undici as Record<string, unknown>)[key]
      if (value !== undefined) tcp[key] = value
    }
    this.#tcp = tcp
    this.#tracker = new ConnectionTracker({
      resolve: (stack, hostname, port) => this.#resolveTls(stack, hostname, port),
      timeout: config.connect.timeout ?? config.undici.connectTimeout,
      maxCachedSessions: config.connect.maxCachedSessions ?? config.undici.maxCachedSessions,
      keepAlive: config.connect.keepAlive,
      keepAliveInitialDelay: config.connect.keepAliveInitialDelay,
      useH2c: config.undici.h2Options?.useH2c ?? config.undici.useH2c,
      tcp: tcp as Record<string, never>,
      proxy: (protocol, hostname, port) => {
        const proxy = this.#proxyFor(protocol, hostname, port)
        // Plain http:// origins behind an HTTP(S) proxy are forwarded by undici's ProxyAgent instead.
        return proxy !== undefined && (protocol === 'https:' || proxy.protocol === 'socks5:') ? proxy : undefined
      }
    })
    // undici checks most options only when it creates a Client: build one now (it connects to
    // nothing) and the strict stack's Agent, so that bad options fail at construction.
    try {
      const { connections: _c, clientTtl: _t, maxOrigins: _m, factory: _f, ...clientOptions } = config.undici as Record<string, unknown>
      new Client('https://options.invalid', { ...clientOptions, connect: () => undefined }).destroy().catch(() => {})
      this.#primary = this.#agentFor('strict', !config.allowH2)
    } catch (error) {
      const message = (error as Error).message
      const option = Object.keys(config.undici).find((key) => message.toLowerCase().includes(key.toLowerCase())) ?? 'options'
      throw invalidOption(option, `was refused by undici: ${message}`, error)
    }
    this.#requestHost = this.#makeRequestHost()
    for (const name of BOUND_METHODS) {
      Object.defineProperty(this, name, { value: (this[name] as (...args: unknown[]) => unknown).bind(this), writable: true, configurable: true })
    }
    this.#unsubscribe = this.#cache.subscribe?.((origin, entry) => {
      // What a store says changed is outside text (a custom store calls this with anything): read once, shown escaped.
      let stack: unknown = null
      let http1Only: unknown
      try {
        if (entry !== undefined) ({ stack, http1Only } = entry)
      } catch {}
      const shown = escapeOutside(stack, 64)
      this.#telemetry.debug({ origin: escapeOutside(origin), stack: stack === null ? null : shown }, entry === undefined
        ? `${quoteOutside(origin)}: its policy was deleted elsewhere`
        : `${quoteOutside(origin)}: learned elsewhere: the ${shown} stack${http1Only === true ? ' over HTTP/1.1' : ''}`)
    })
  }

  /** The learned policy of an origin (`https://host[:port]`, or any URL of it), if it has one. */
  policy (origin: string | URL): PolicyEntry | undefined {
    return this.#cache.get(originOf(origin))
  }

  /** Every learned policy that has not expired. */
  policies (): PolicyEntry[] {
    return this.#cache.entries()
  }

  /** Forgets what was learned about an origin: its next request starts on the strict stack again. */
  forget (origin: string | URL): void {
    const key = originOf(origin)
    this.#cache.delete(key)
    this.#tracker.forget(key)
    this.#warm.delete(key)
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
      const target = this.#target(opts.origin)
      if (target === undefined) {
        // No TLS, nothing to fall back from: plain HTTP goes through the strict stack's Agent, or
        // undici's ProxyAgent (absolute-form requests) behind an HTTP(S) proxy.
        return this.#plainRoute(opts.origin).dispatch(opts, handler)
      }
      const request = new FallbackRequest(this.#requestHost, target.origin, target.url, target.rule, opts, handler)
      request.slot = this.#inflight.length
      this.#inflight.push(request)
      // A request its handler aborted in onRequestStart has ended: it must not become a gate's leader.
      if (request.open()) this.#admit(request)
      return true
    } catch (error) {
      if (typeof handler.onResponseError !== 'function') throw error
      handler.onResponseError(null as unknown as Dispatcher.DispatchController, error as Error)
      return true
    }
  }

  /** The parsed origin and host rule of a dispatch, memoized by the origin string. Undefined for plain HTTP. */
  #target (origin: string | URL): Target | undefined {
    const key = typeof origin === 'string' ? origin : origin.href
    // undici hands each request a fresh origin string (URL#origin): comparing it with the last one
    // costs less than hashing it for the Map.
    if (key === this.#lastKey) return this.#lastTarget
    let target = this.#targets.get(key)
    if (target !== undefined) {
      this.#lastKey = key
      this.#lastTarget = target
      return target
    }
    let url: URL
    try {
      url = typeof origin === 'string' ? new URL(origin) : origin
    } catch {
      throw new errors.InvalidArgumentError(`invalid origin: ${String(origin)}`)
    }
    if (url.protocol !== 'https:') return undefined
    // undici's rule for an origin (its parseOrigin): the attempts carry url.origin, which would hide a path.
    if (url.pathname !== '/' || url.search !== '' || url.hash !== '') throw new errors.InvalidArgumentError('invalid url')
    const { hostname, port } = hostAndPort(url)
    target = { url, origin: url.origin, rule: this.#config.hosts.match(hostname, port) ?? this.#config.defaults }
    if (this.#targets.size >= MAX_WARM_ORIGINS) this.#targets.clear()
    this.#targets.set(key, target)
    this.#lastKey = key
    this.#lastTarget = target
    return target
  }

  #plainRoute (origin: string | URL): Dispatcher {
    const key = typeof origin === 'string' ? origin : origin.href
    let route = this.#plainRoutes.get(key)
    if (route !== undefined) return route
    const url = typeof origin === 'string' ? new URL(origin) : origin
    const { hostname, port } = hostAndPort(url)
    const proxy = this.#proxyFor(url.protocol, hostname, port)
    if (proxy !== undefined && proxy.protocol !== 'socks5:') {
      let agent = this.#proxyAgents.get(proxy)
      if (agent === undefined) {
        const { factory: _factory, ...undici } = this.#config.undici
        agent = new ProxyAgent({ ...undici, ...proxy.agentOptions })
        this.#forwardEvents(agent)
        this.#proxyAgents.set(proxy, agent)
      }
      route = agent
    } else {
      // The strict stack's Agent: undici's own Agent then applies a per-request allowH2 and useH2c.
      route = this.#primary
    }
    if (this.#plainRoutes.size >= MAX_WARM_ORIGINS) this.#plainRoutes.clear()
    this.#plainRoutes.set(key, route)
    return route
  }

  /**
   * The proxy for a connection to this host: the host's own (`hosts[...].proxy`, `false` for
   * direct), else the agent's (`'env'`: `NO_PROXY` first, then `HTTPS_PROXY` or `HTTP_PROXY`).
   */
  #proxyFor (protocol: string, hostname: string, port: number): Proxy | undefined {
    const rule = this.#config.hosts.match(hostname, port) ?? this.#config.defaults
    if (rule.proxy === false) return undefined
    if (rule.proxy !== undefined) return rule.proxy
    const choice = this.#config.proxy
    if (choice.kind === 'none') return undefined
    if (choice.kind === 'fixed') return choice.proxy
    if (choice.noProxy.bypasses(normalizeHostname(hostname), port)) return undefined
    return protocol === 'https:' ? choice.https : choice.http
  }

  #finished (request: FallbackRequest): void {
    if (request.leader) {
      // However a leader ended, the requests behind it must not wait for the gate's timeout.
      request.leader = false
      this.#openGate(request.origin)
    }
    const slot = request.slot
    if (slot < 0 || this.#inflight[slot] !== request) return
    const last = this.#inflight.pop() as FallbackRequest
    if (last !== request) {
      this.#inflight[slot] = last
      last.slot = slot
    }
    request.slot = -1
    if (this.#inflight.length === 0) this.#drained?.()
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
      if (this.#onClosed !== null) this.#onClosed.push(callback)
      else queueMicrotask(() => { callback(null, null) })
      return
    }
    this.#closed = true
    this.#onClosed = [callback]
    this.#close().catch(() => {}).then(async () => { await this.destroy() }).then(() => {
      queueMicrotask(() => {
        const callbacks = this.#onClosed ?? []
        this.#onClosed = null
        for (const done of callbacks) done(null, null)
      })
    }, () => {})
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
      if (this.#onDestroyed !== null) this.#onDestroyed.push(callback)
      else queueMicrotask(() => { callback(null, null) })
      return
    }
    this.#destroyed = true
    this.#onDestroyed = [callback]
    this.#destroy(error).then(() => {
      queueMicrotask(() => {
        const callbacks = this.#onDestroyed ?? []
        this.#onDestroyed = null
        for (const done of callbacks) done(null, null)
      })
    }, () => {})
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
    for (const agent of [...this.#agents.values(), ...this.#proxyAgents.values()]) {
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
    if (this.#inflight.length > 0) {
      await new Promise<void>((resolve) => { this.#drained = resolve })
      this.#drained = undefined
    }
    await Promise.all([...this.#agents.values(), ...this.#proxyAgents.values()].map(async (agent) => await agent.close()))
  }

  async #destroy (error: Error | null): Promise<void> {
    this.#closed = true
    const reason = error ?? new errors.ClientDestroyedError()
    this.#lifetime.abort(reason)
    this.#unsubscribe?.()
    for (const gate of this.#gates.values()) clearTimeout(gate.timer)
    this.#gates.clear()
    for (const request of [...this.#inflight]) request.abort(reason)
    await Promise.all([...this.#agents.values(), ...this.#proxyAgents.values()].map(async (agent) => await agent.destroy(reason)))
    if (this.#ownsCache) await this.#cache.close?.()
  }

  #agentFor (stack: StackName, http1Only: boolean): Agent {
    const byStack = http1Only ? this.#agentsH1 : this.#agentsH2
    const known = byStack.get(stack)
    if (known !== undefined) return known
    const key = `${stack}/${http1Only ? 'h1' : 'h2'}`
    let agent = this.#agents.get(key)
    if (agent === undefined) {
      const allowH2 = !http1Only
      agent = new Agent({
        ...this.#config.undici,
        allowH2,
        connect: this.#tracker.connectFunction(stack, allowH2)
      })
      // Forwarded only while someone listens. Calling emit() on this agent (an emitter no stream
      // resembles) changes how V8 optimizes EventEmitter.prototype.emit for every emitter in the
      // process: stream emits then allocated their arguments, 180 bytes more per chunk of a
      // response body (issue 14).
      this.#forwardEvents(agent)
      this.#agents.set(key, agent)
    }
    byStack.set(stack, agent)
    return agent
  }

  #forwardEvents (agent: Dispatcher): void {
    const emitter = this as unknown as NodeJS.EventEmitter
    for (const event of FORWARDED_EVENTS) {
      ;(agent as unknown as NodeJS.EventEmitter).on(event, (...args: unknown[]) => {
        if (emitter.listenerCount(event) > 0) emitter.emit(event, ...args)
      })
    }
  }

  #resolveTls (stack: StackName, hostname: string, port: number): ResolvedTls {
    const rule = this.#config.hosts.match(hostname, port) ?? this.#config.defaults
    let byStack = this.#tls.get(rule)
    if (byStack === undefined) {
      byStack = new Map()
      this.#tls.set(rule, byStack)
    }
    let resolved = byStack.get(stack)
    if (resolved === undefined) {
      const { connect } = this.#config
      const { timeout: _t, maxCachedSessions: _m, keepAlive: _k, keepAliveInitialDelay: _d, ...tlsOptions } = connect
      resolved = { key: rule, options: stackTlsOptions(stack, tlsOptions, rule.clientCert) }
      byStack.set(stack, resolved)
    }
    return resolved
  }

  /** Cold-start gate: while the first request to an origin with no policy is in flight, the others wait for its outcome. */
  #admit (request: FallbackRequest): void {
    const origin = request.origin
    const timeout = this.#config.coldStartTimeout
    if (request.pinned) {
      request.start(undefined)
      return
    }
    // The policy is read once per request: known origins go at once, with what was read.
    const entry = this.#policyFor(origin, request.rule)
    if (entry !== undefined || this.#warm.has(origin) || this.#cache.get(origin) !== undefined) {
      request.start(entry)
      return
    }
    if (timeout === 0) {
      this.#loadThenStart(request)
      return
    }
    const gate = this.#gates.get(origin)
    if (gate !== undefined) {
      gate.waiters.push(request)
      return
    }
    const timer = setTimeout(() => this.#openGate(origin), timeout)
    timer.unref()
    request.leader = true
    this.#gates.set(origin, { leader: request, waiters: [], timer })
    this.#loadThenStart(request)
  }

  /** An origin this process has never seen: a shared store may know it (the store bounds the wait). */
  #loadThenStart (request: FallbackRequest): void {
    const load = this.#cache.load
    if (load === undefined) {
      request.start(this.#policyFor(request.origin, request.rule))
      return
    }
    let loading: Promise<unknown>
    try {
      loading = load.call(this.#cache, request.origin, this.#lifetime.signal)
    } catch (error) {
      loading = Promise.reject(error instanceof Error ? error : new Error(String(error)))
    }
    loading.then(() => request.start(this.#policyFor(request.origin, request.rule)), (error: unknown) => {
      this.#telemetry.warn({ origin: request.origin, ...this.#telemetry.errorField(error) }, 'the policy store failed to look the origin up; going on as unknown')
      request.start(undefined)
    })
  }

  #openGate (origin: string): void {
    const gate = this.#gates.get(origin)
    if (gate === undefined) return
    this.#gates.delete(origin)
    clearTimeout(gate.timer)
    for (const waiter of gate.waiters) waiter.start(this.#policyFor(origin, waiter.rule))
  }

  #markWarm (origin: string): void {
    if (this.#warm.size >= MAX_WARM_ORIGINS) this.#warm.clear()
    this.#warm.add(origin)
  }

  #policyFor (origin: string, rule: HostRule): PolicyEntry | undefined {
    let entry: PolicyEntry | undefined
    try {
      entry = this.#cache.get(origin)
    } catch (error) {
      this.#telemetry.warn({ origin, ...this.#telemetry.errorField(error) }, 'the policy cache failed; using the strict stack')
      return undefined
    }
    if (entry === undefined) return undefined
    if (!this.#trustedCache) {
      // A custom store's object is read once, into a plain copy the agent uses from then on: an
      // accessor cannot pass the check with one value and name another stack afterwards.
      let copy = this.#copies.get(entry)
      if (copy === undefined) {
        const checked = validateEntry(entry, origin, { ttl: this.#ttl })
        if (typeof checked === 'string') {
          this.#warnIgnored(origin, `malformed:${checked}`, { origin, problem: checked }, `ignoring a malformed policy entry for ${origin}: ${checked}`)
          return undefined
        }
        copy = checked
        this.#copies.set(entry, copy)
      }
      if (copy.expiresAt <= Date.now()) return undefined
      entry = copy
    }
    if (entry.stack !== 'strict' && !rule.fallback.includes(entry.stack)) {
      this.#warnIgnored(origin, `stack:${entry.stack}`, { origin, stack: entry.stack, allowed: rule.fallback },
        `ignoring the cached policy for ${origin}: it names the ${entry.stack} stack, which ${rule.fallbackPath} does not allow for this host`)
      return undefined
    }
    return entry
  }

  #warnIgnored (origin: string, kind: string, fields: object, message: string): void {
    this.#noticeOnce(origin, kind, fields, message, 'TLS_FALLBACK_POLICY_IGNORED')
  }

  /** A notice shown once per origin and kind (bounded: the set is cleared when it grows too large). */
  #noticeOnce (origin: string, kind: string, fields: object, message: string, code: string): void {
    const key = `${origin} ${kind}`
    if (this.#ignoredWarned.has(key)) return
    if (this.#ignoredWarned.size >= MAX_WARM_ORIGINS) this.#ignoredWarned.clear()
    this.#ignoredWarned.add(key)
    this.#telemetry.notice(fields, message, code)
  }

  /**
   * Whether a completed handshake shows that the server really lacks RFC 5746: the strict failure
   * alone can be forged by stripping renegotiation_info from one hello. Returns the diagnosis with
   * verified evidence when it does.
   */
  async #confirmLegacy (origin: string, url: URL, diagnosis: Diagnosis): Promise<Diagnosis | undefined> {
    let check = this.#legacyChecks.get(origin)
    if (check === undefined) {
      const { hostname, port } = hostAndPort(url)
      const timeout = this.#config.connect.timeout ?? this.#config.undici.connectTimeout ?? 10_000
      // The check takes the same way as the host's requests: through its proxy, when it has one.
      const proxy = this.#proxyFor('https:', hostname, port)
      const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname
      check = checkRfc5746({
        host: hostname,
        port,
        tls: this.#resolveTls('legacy-server-connect', hostname, port).options,
        tcp: this.#tcp as Record<string, never>,
        tunnel: proxy === undefined
          ? undefined
          : (done) => { openTunnel(proxy, { host, port, tcp: this.#tcp, timeout, origin }, done) },
        timeout,
        signal: this.#lifetime.signal
      }).finally(() => { this.#legacyChecks.delete(origin) })
      this.#legacyChecks.set(origin, check)
    }
    const result = await check
    if (result.verdict === 'lacks-rfc5746') {
      return {
        fingerprint: diagnosis.fingerprint,
        evidence: {
          ...diagnosis.evidence,
          tlsVersion: diagnosis.evidence.tlsVersion ?? result.tlsVersion,
          verified: true,
          summary: `${diagnosis.evidence.summary}; a completed handshake confirmed it: ${result.summary}`
        }
      }
    }
    if (result.verdict === 'supports-rfc5746') {
      this.#telemetry.warn({ origin, fingerprint: diagnosis.fingerprint, check: result.summary },
        `${origin}: a strict handshake was refused for lack of RFC 5746, but ${result.summary}: ` +
        'that hello was altered on the way (or the server is inconsistent); nothing is learned')
    } else {
      this.#telemetry.info({ origin, fingerprint: diagnosis.fingerprint, check: result.summary },
        `${origin}: could not confirm that the server lacks RFC 5746 (${result.summary}); nothing is learned`)
    }
    return undefined
  }

  /**
   * Records a transition. A move to `renegotiation` needs authenticated evidence: the failed
   * connection's client answered a real HelloRequest, or a connection on the new stack took part in
   * a renegotiation the server started. `tls13` is stronger than strict: learned once it worked.
   * `legacy-server-connect` is only tried for hosts that consent to it, and learned only on evidence
   * a completed handshake verified (see #confirmLegacy), never because it worked once.
   */
  #learn (origin: string, rule: HostRule, to: StackName, http1Only: boolean, diagnosis: Diagnosis, worked: boolean): boolean {
    const renegotiated = to === 'renegotiation' && this.#tracker.renegotiated(origin)
    if (!mayLearn({ to, verified: diagnosis.evidence.verified, worked, renegotiated })) {
      this.#telemetry.info({ origin, stack: to, fingerprint: diagnosis.fingerprint },
        `${origin}: the ${to} stack answered, but nothing proved the ${diagnosis.fingerprint} diagnosis; the policy stays as it was`)
      return false
    }
    const current = this.#policyFor(origin, rule)
    if (current !== undefined && current.stack === to && (current.http1Only === true) === http1Only) return false
    const learnedAt = Date.now()
    const entry: PolicyEntry = {
      origin,
      stack: to,
      ...(http1Only ? { http1Only: true } : {}),
      fingerprint: diagnosis.fingerprint,
      evidence: diagnosis.evidence,
      learnedAt,
      expiresAt: learnedAt + this.#ttl
    }
    try {
      this.#cache.set(origin, entry)
    } catch (error) {
      this.#telemetry.warn({ origin, ...this.#telemetry.errorField(error) }, 'the policy cache failed to store an entry')
    }
    this.#telemetry.fallback({
      origin,
      from: current?.stack ?? 'strict',
      to,
      fingerprint: diagnosis.fingerprint,
      evidence: diagnosis.evidence,
      http1Only,
      expiresAt: entry.expiresAt
    })
    return true
  }

  #makeRequestHost (): RequestHost {
    return {
      telemetry: this.#telemetry,
      resetRetries: this.#config.resetRetries,
      maxReplayBodySize: this.#config.maxReplayBodySize,
      send: (stack, http1Only, opts, handler) => {
        // A per-request allowH2 wins over the agent's, as in undici's Agent.
        const agent = this.#agentFor(stack, http1Only || ((opts as { allowH2?: boolean }).allowH2 ?? this.#config.allowH2) === false)
        agent.dispatch(opts, handler)
      },
      snapshotFor: (error) => this.#tracker.snapshotFor(error),
      http2FailureFor,
      policyFor: (origin, rule) => this.#policyFor(origin, rule),
      confirmLegacy: async (origin, url, diagnosis) => await this.#confirmLegacy(origin, url, diagnosis),
      learn: (origin, rule, to, http1Only, diagnosis, worked) => this.#learn(origin, rule, to, http1Only, diagnosis, worked),
      noticeOnce: (origin, kind, fields, message, code) => { this.#noticeOnce(origin, kind, fields, message, code) },
      unlearn: (origin, reason) => {
        this.#telemetry.warn({ origin, reason }, `${origin}: dropping its learned policy: ${reason}`)
        this.#cache.delete(origin)
      },
      ladderInProgress: (origin) => this.#ladders.get(origin),
      ladderStarted: (origin) => {
        let end!: () => void
        const promise = new Promise<void>((resolve) => { end = resolve })
        this.#ladders.set(origin, promise)
        return () => {
          if (this.#ladders.get(origin) === promise) this.#ladders.delete(origin)
          end()
        }
      },
      finished: (request) => { this.#finished(request) },
      settled: (request, ok) => {
        if (ok && request.rule.stack === undefined && !request.fromPolicy && !this.#warm.has(request.origin) && this.#cache.get(request.origin) === undefined) {
          this.#markWarm(request.origin)
        }
        if (request.leader) {
          request.leader = false
          this.#openGate(request.origin)
        }
      }
    }
  }
}

/** A handler in undici's legacy shape (Node's bundled undici on Node 22 and 24 sends these). */
function isLegacyHandler (handler: object): boolean {
  const h = handler as Record<string, unknown>
  return typeof h.onConnect === 'function' || typeof h.onHeaders === 'function' || typeof h.onError === 'function' ||
    typeof h.onComplete === 'function' || typeof h.onData === 'function' || typeof h.onUpgrade === 'function'
}

/**
 * The stores of this package keep validated, capped plain copies (see MemoryPolicyCache#set and
 * StoreSupport#accept). A subclass or an instance with its own `get` is a custom store.
 */
function isOwnStore (cache: PolicyCache): boolean {
  const proto: unknown = Object.getPrototypeOf(cache)
  return (proto === MemoryPolicyCache.prototype || proto === FilePolicyCache.prototype || proto === RedisPolicyCache.prototype) &&
    !Object.hasOwn(cache, 'get')
}
