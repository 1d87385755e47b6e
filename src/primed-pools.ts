import { Agent, Client, type Dispatcher } from 'undici'
import { composePrepare, type ConnectionTracker, type Prepare } from './connector.ts'
import type { StackName } from './stacks.ts'
import type { Telemetry } from './telemetry.ts'
import { primingPrepare } from './uploads.ts'

/**
 * Pools of primed connections (uploads, issue 31): one undici Agent per stack and primed path, so
 * per origin, stack and path (an Agent keeps one pool per origin). By path, because a server asks
 * for the certificate per location (Apache `<Location>`, IIS per application): a connection primed
 * for one path may meet a renegotiation on another. Bounded: past this many, the least recently
 * used is closed (its requests in flight finish first).
 */
export const MAX_PRIMED_POOLS = 32

export interface PrimedPoolsOptions {
  /** The agent's undici options, for each pool's Agent (HTTP/1.1 always). */
  undici: Record<string, unknown>
  /** The connector's connect function for a stack, with this prepare step. */
  connect: (stack: StackName, prepare: Prepare) => ReturnType<ConnectionTracker['connectFunction']>
  telemetry: Telemetry
  /** Called with each Agent or Client made (the agent forwards its events). */
  made: (dispatcher: Dispatcher) => void
}

export class PrimedPools {
  readonly #options: PrimedPoolsOptions
  /** Agents whose new connections are primed for a path, least recently used first. */
  readonly #agents = new Map<string, Agent>()
  /** One-connection Clients of resends after a renegotiation buffer's 413, until they close. */
  readonly #resends = new Set<Client>()

  constructor (options: PrimedPoolsOptions) {
    this.#options = options
  }

  /** Sends an attempt on a connection primed for `path` (HTTP/1.1: the priming is an HTTP/1.1 exchange, and HTTP/2 cannot renegotiate). */
  dispatch (stack: StackName, path: string, opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): void {
    this.#agentFor(stack, path).dispatch(opts, handler)
  }

  /**
   * The one resend after a renegotiation buffer's 413: on a connection of its own, primed for the
   * path, that carries the request only if the priming renegotiated (see `resendAfterPriming`);
   * otherwise the attempt fails with a priming failure and nothing is sent.
   */
  resend (stack: StackName, path: string, opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): void {
    const { connections: _c, clientTtl: _t, maxOrigins: _m, factory: _f, ...clientOptions } = this.#options.undici
    const client = new Client(opts.origin as string, { ...clientOptions, allowH2: false, pipelining: 1, connect: this.#options.connect(stack, this.#prepareFor(path, true)) })
    this.#resends.add(client)
    client.dispatch(opts, handler)
    client.close().catch(() => {}).finally(() => { this.#resends.delete(client) })
  }

  /** Every Agent and Client open now. */
  dispatchers (): Dispatcher[] {
    return [...this.#agents.values(), ...this.#resends]
  }

  #agentFor (stack: StackName, path: string): Agent {
    const key = `${stack} ${path}`
    let agent = this.#agents.get(key)
    if (agent !== undefined) {
      // Most recently used last.
      this.#agents.delete(key)
      this.#agents.set(key, agent)
      return agent
    }
    if (this.#agents.size >= MAX_PRIMED_POOLS) {
      const [oldestKey, oldest] = this.#agents.entries().next().value as [string, Agent]
      this.#agents.delete(oldestKey)
      oldest.close().catch(() => {})
    }
    agent = new Agent({ ...this.#options.undici, allowH2: false, connect: this.#options.connect(stack, this.#prepareFor(path, false)) })
    this.#options.made(agent)
    this.#agents.set(key, agent)
    return agent
  }

  /** The prepare steps of a primed connection (one today; composable with others on the same seam). */
  #prepareFor (path: string, requireRenegotiation: boolean): Prepare {
    return composePrepare(primingPrepare(path, this.#options.telemetry, requireRenegotiation)) as Prepare
  }
}

/**
 * Hosts with `auth` keep their primed connections in auth pools keyed `stack origin path` (src/routes.ts):
 * bounded the same way, the least recently used closed first when `MAX_PRIMED_POOLS` of them are open.
 */
export function evictPrimedAuthPool (pools: Map<string, { close: () => Promise<void> }>): void {
  const primed = [...pools.keys()].filter((key) => key.split(' ').length === 3)
  if (primed.length < MAX_PRIMED_POOLS) return
  const oldest = primed[0] as string
  pools.get(oldest)?.close().catch(() => {})
  pools.delete(oldest)
}
