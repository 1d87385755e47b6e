import { Agent, Client, type Dispatcher, ProxyAgent, errors } from 'undici'
import { AuthPools } from './auth/pools.ts'
import { ConnectionTracker, http2FailureFor, type ResolvedTls } from './connector.ts'
import { invalidOption } from './errors.ts'
import type { ConnectionSnapshot, Diagnosis, Http2StreamFacts } from './fingerprint.ts'
import { LegacyChecks } from './legacy-check.ts'
import type { AgentConfig, HostRule } from './options.ts'
import { MAX_WARM_ORIGINS } from './policy/book.ts'
import { normalizeHostname } from './policy/hosts.ts'
import { hostAndPort } from './policy/origin.ts'
import type { Proxy } from './proxy/options.ts'
import type { PolicyCache } from './policy/cache.ts'
import type { IntermediateStore } from './certs/stored-intermediates.ts'
import type { Transport } from './request.ts'
import { stackTlsOptions, type StackName } from './stacks.ts'
import type { Telemetry } from './telemetry.ts'
import { PrimedPools } from './primed-pools.ts'
import { isPrimingFailure, primingAnswer, primingPrepare } from './uploads.ts'

/** A dispatch's origin, parsed once: its URL, origin key and host rule. */
export interface Target {
  url: URL
  origin: string
  rule: HostRule
}

const TCP_KEYS = ['lookup', 'family', 'hints', 'autoSelectFamily', 'autoSelectFamilyAttemptTimeout'] as const

/**
 * Where a request goes: the host rule of an origin, its proxy, the undici Agent of each stack (one
 * per stack and HTTP variant), undici's ProxyAgent for plain http:// behind an HTTP(S) proxy, and
 * each host's TLS options per stack. As the agent's Transport it sends attempts and tells what the
 * connector saw of a failed connection.
 */
export class Routes implements Transport {
  readonly #config: AgentConfig
  readonly tracker: ConnectionTracker
  /** TCP options for `net.connect` (lookup, family, ...), from `connect` or undici's options. */
  readonly tcp: Record<string, unknown>
  /** Called with each undici Agent or ProxyAgent made (the agent forwards its events). */
  readonly #made: (agent: Dispatcher) => void
  readonly #agents = new Map<string, Agent>()
  /** undici ProxyAgents for plain http:// origins behind an HTTP(S) proxy, one per proxy. */
  readonly #proxyAgents = new Map<Proxy, ProxyAgent>()
  /** Where plain http:// origins go, memoized by origin string. */
  readonly #plainRoutes = new Map<string, Dispatcher>()
  /** The same Agents by stack, one map per HTTP variant: found per request without building a key string. */
  readonly #agentsH1 = new Map<StackName, Agent>()
  readonly #agentsH2 = new Map<StackName, Agent>()
  readonly #tls = new Map<HostRule, Map<StackName, ResolvedTls>>()
  readonly #targets = new Map<string, Target>()
  /** The last origin string looked up and its target: a run of requests to one origin skips the Map. */
  #lastKey: string | undefined
  #lastTarget: Target | undefined
  readonly #legacy: LegacyChecks
  /** Uploads: the pools of connections primed for a path (src/primed-pools.ts). */
  readonly #primed: PrimedPools
  /** Hosts with `auth`: their own pools of authenticated HTTP/1.1 connections, by stack and origin (src/auth/pool.ts). */
  readonly #authPools: AuthPools
  /** The strict stack's Agent: undici's WebSocket and EventSource read their limits from it. */
  readonly primary: Agent

  constructor (config: AgentConfig, telemetry: Telemetry, signal: AbortSignal, made: (agent: Dispatcher) => void) {
    this.#config = config
    this.#made = made
    this.#primed = new PrimedPools({
      undici: config.undici as Record<string, unknown>,
      connect: (stack, prepare) => this.tracker.connectFunction(stack, false, prepare),
      telemetry,
      made
    })
    this.#authPools = new AuthPools({
      undici: config.undici as Record<string, unknown>,
      connect: (stack, prepare) => this.tracker.connectFunctionThen(stack, false, prepare),
      made,
      handshake: (event) => { telemetry.authHandshake(event) },
      prime: (path) => primingPrepare(path, telemetry)
    })
    const tcp: Record<string, unknown> = {}
    for (const key of TCP_KEYS) {
      const value = (config.connect as Record<string, unknown>)[key] ?? (config.undici as Record<string, unknown>)[key]
      if (value !== undefined) tcp[key] = value
    }
    this.tcp = tcp
    this.tracker = new ConnectionTracker({
      resolve: (stack, hostname, port) => this.resolveTls(stack, hostname, port),
      timeout: config.connect.timeout ?? config.undici.connectTimeout,
      maxCachedSessions: config.connect.maxCachedSessions ?? config.undici.maxCachedSessions,
      keepAlive: config.connect.keepAlive,
      keepAliveInitialDelay: config.connect.keepAliveInitialDelay,
      useH2c: config.undici.h2Options?.useH2c ?? config.undici.useH2c,
      tcp: tcp as Record<string, never>,
      proxy: (protocol, hostname, port) => {
        const proxy = this.proxyFor(protocol, hostname, port)
        // Plain http:// origins behind an HTTP(S) proxy are forwarded by undici's ProxyAgent instead,
        // except behind a proxy with `auth`: a CONNECT tunnel then, whose 407 legs we answer.
        return proxy !== undefined && (protocol === 'https:' || proxy.protocol === 'socks5:' || proxy.auth !== undefined) ? proxy : undefined
      },
      onProxyAuth: (event) => {
        telemetry.debug({ ...event, event: 'proxy-auth' }, `proxy ${event.proxy}: ${event.scheme} ${event.outcome} after ${event.legs} leg${event.legs === 1 ? '' : 's'}`)
      },
      // AIA fetches are plain http: and take the user's http: proxy rules as they are.
      httpProxy: (hostname, port) => this.proxyFor('http:', hostname, port),
      intermediateStore: intermediateStoreOf(config.cache)
    })
    this.#legacy = new LegacyChecks(this, telemetry, config.connect.timeout ?? config.undici.connectTimeout ?? 10_000, signal)
    // undici checks most options only when it creates a Client: build one now (it connects to
    // nothing) and the strict stack's Agent, so that bad options fail at construction.
    try {
      const { connections: _c, clientTtl: _t, maxOrigins: _m, factory: _f, ...clientOptions } = config.undici as Record<string, unknown>
      new Client('https://options.invalid', { ...clientOptions, connect: () => undefined }).destroy().catch(() => {})
      this.primary = this.#agentFor('strict', !config.allowH2)
    } catch (error) {
      const message = (error as Error).message
      const option = Object.keys(config.undici).find((key) => message.toLowerCase().includes(key.toLowerCase())) ?? 'options'
      throw invalidOption(option, `was refused by undici: ${message}`, error)
    }
  }

  /** The parsed origin and host rule of a dispatch, memoized by the origin string. Undefined for plain HTTP. */
  target (origin: string | URL): Target | undefined {
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

  /**
   * Where a plain http:// origin goes: the strict stack's Agent (direct, SOCKS5, or a CONNECT tunnel
   * through an HTTP(S) proxy with `auth`), or undici's ProxyAgent behind any other HTTP(S) proxy.
   */
  plainRoute (origin: string | URL): Dispatcher {
    const key = typeof origin === 'string' ? origin : origin.href
    let route = this.#plainRoutes.get(key)
    if (route !== undefined) return route
    const url = typeof origin === 'string' ? new URL(origin) : origin
    const { hostname, port } = hostAndPort(url)
    const proxy = this.proxyFor(url.protocol, hostname, port)
    // undici's ProxyAgent cannot answer a 407 (UND_ERR_ABORTED): a proxy with `auth` gets CONNECT tunnels.
    if (proxy !== undefined && proxy.protocol !== 'socks5:' && proxy.auth === undefined) {
      let agent = this.#proxyAgents.get(proxy)
      if (agent === undefined) {
        const { factory: _factory, ...undici } = this.#config.undici
        agent = new ProxyAgent({ ...undici, ...proxy.agentOptions })
        this.#made(agent)
        this.#proxyAgents.set(proxy, agent)
      }
      route = agent
    } else {
      // The strict stack's Agent: undici's own Agent then applies a per-request allowH2 and useH2c.
      route = this.primary
    }
    if (this.#plainRoutes.size >= MAX_WARM_ORIGINS) this.#plainRoutes.clear()
    this.#plainRoutes.set(key, route)
    return route
  }

  /**
   * The proxy for a connection to this host: the host's own (`hosts[...].proxy`, `false` for
   * direct), else the agent's (`'env'`: `NO_PROXY` first, then `HTTPS_PROXY` or `HTTP_PROXY`).
   */
  proxyFor (protocol: string, hostname: string, port: number): Proxy | undefined {
    const rule = this.#config.hosts.match(hostname, port) ?? this.#config.defaults
    if (rule.proxy === false) return undefined
    if (rule.proxy !== undefined) return rule.proxy
    const choice = this.#config.proxy
    if (choice.kind === 'none') return undefined
    if (choice.kind === 'fixed') return choice.proxy
    if (choice.noProxy.bypasses(normalizeHostname(hostname), port)) return undefined
    return protocol === 'https:' ? choice.https : choice.http
  }

  /**
   * Sends an attempt through its stack's Agent; a per-request allowH2 wins over the agent's, as in
   * undici's Agent. A host with `auth` has its own pools (their `HEAD` legs to the path come before
   * the request, as a priming would). With `primePath`, through the stack's Agent of connections
   * primed for that path (HTTP/1.1: the priming is an HTTP/1.1 exchange, and an HTTP/2 server
   * cannot renegotiate).
   */
  send (stack: StackName, http1Only: boolean, opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler, primePath?: string): void {
    if (this.#config.hasAuth) {
      const target = this.target(opts.origin as string | URL)
      if (target?.rule.auth !== undefined) {
        // A large upload goes on connections authenticated (and primed) for its path: see AuthPoolOptions.prime.
        this.#authPools.dispatch(stack, { origin: target.origin, url: target.url, auth: target.rule.auth }, opts, handler, primePath)
        return
      }
    }
    if (primePath !== undefined) {
      this.#primed.dispatch(stack, primePath, opts, handler)
      return
    }
    const agent = this.#agentFor(stack, http1Only || ((opts as { allowH2?: boolean }).allowH2 ?? this.#config.allowH2) === false)
    agent.dispatch(opts, handler)
  }

  /**
   * The one resend after a renegotiation buffer's 413: on a connection of its own, primed for the
   * path, that carries the request only if the priming renegotiated (see `resendAfterPriming`);
   * otherwise the attempt fails with a priming failure and nothing is sent.
   */
  resendPrimed (stack: StackName, primePath: string, opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): void {
    this.#primed.resend(stack, primePath, opts, handler)
  }

  /** Whether the attempt failed in the priming of its connection, before its request left. */
  primingFailed (error: unknown): boolean {
    return isPrimingFailure(error)
  }

  primingAnswer (error: unknown): ReturnType<typeof primingAnswer> {
    return primingAnswer(error)
  }

  snapshotFor (error: unknown): ConnectionSnapshot | undefined {
    return this.tracker.snapshotFor(error)
  }

  http2FailureFor (error: unknown): Http2StreamFacts | undefined {
    return http2FailureFor(error)
  }

  async confirmLegacy (origin: string, url: URL, diagnosis: Diagnosis): Promise<Diagnosis | undefined> {
    return await this.#legacy.confirm(origin, url, diagnosis)
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
        connect: this.tracker.connectFunction(stack, allowH2)
      })
      this.#made(agent)
      this.#agents.set(key, agent)
    }
    byStack.set(stack, agent)
    return agent
  }

  resolveTls (stack: StackName, hostname: string, port: number): ResolvedTls {
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

  /** Every undici Agent and ProxyAgent made so far. */
  dispatchers (): Dispatcher[] {
    return [...this.#agents.values(), ...this.#proxyAgents.values(), ...this.#primed.dispatchers(), ...this.#authPools.dispatchers()]
  }
}

/** The store's intermediates methods, when it has both (a store without them: the agent's memory only). */
function intermediateStoreOf (cache: PolicyCache | undefined): IntermediateStore | undefined {
  const load = cache?.loadIntermediates
  const save = cache?.saveIntermediates
  if (cache === undefined || typeof load !== 'function' || typeof save !== 'function') return undefined
  return { loadIntermediates: load.bind(cache), saveIntermediates: save.bind(cache) }
}
