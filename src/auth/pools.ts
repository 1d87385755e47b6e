import type { Client, Dispatcher } from 'undici'
import type { Prepare } from '../connector.ts'
import { normalizeHostname } from '../policy/hosts.ts'
import { AuthPool, type AuthHandshakeEvent } from './pool.ts'
import type { ResolvedAuth } from './options.ts'
import type { StackName } from '../stacks.ts'

/** Connections per origin and stack for a host with `auth` when undici's `connections` sets none. */
const DEFAULT_AUTH_CONNECTIONS = 16

export interface AuthPoolsOptions {
  /** undici's options as the user gave them (its `connections` bounds each pool). */
  undici: Record<string, unknown>
  /** The connect function of a stack, with this step after the default `prepare` (the connection's authentication). */
  connect: (stack: StackName, prepare: Prepare) => NonNullable<Client.Options['connect']>
  /** Called with each undici Client made (the agent forwards its events). */
  made: (client: Client) => void
  /** Told the outcome of each connection handshake. */
  handshake: (event: AuthHandshakeEvent) => void
}

/** The origin a request with `auth` goes to, and its host's `auth`. */
export interface AuthTarget {
  origin: string
  url: URL
  auth: ResolvedAuth
}

/**
 * Hosts with `auth`: their own pools of authenticated HTTP/1.1 connections, one `AuthPool` per
 * stack and origin (src/auth/pool.ts). `Routes#send` hands their requests here.
 */
export class AuthPools {
  readonly #options: AuthPoolsOptions
  readonly #pools = new Map<string, AuthPool>()

  constructor (options: AuthPoolsOptions) {
    this.#options = options
  }

  dispatch (stack: StackName, target: AuthTarget, opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): void {
    this.#poolFor(stack, target).dispatch(opts, handler)
  }

  #poolFor (stack: StackName, target: AuthTarget): AuthPool {
    const key = `${stack} ${target.origin}`
    let pool = this.#pools.get(key)
    if (pool === undefined) {
      const { connections, clientTtl: _t, maxOrigins: _m, factory: _f, ...client } = this.#options.undici
      pool = new AuthPool({
        origin: target.origin,
        hostname: normalizeHostname(target.url.hostname),
        stack,
        auth: target.auth,
        connect: (prepare) => this.#options.connect(stack, prepare),
        client,
        maxConnections: typeof connections === 'number' && connections > 0 ? connections : DEFAULT_AUTH_CONNECTIONS,
        made: (c) => this.#options.made(c),
        handshake: (event) => this.#options.handshake(event)
      })
      this.#pools.set(key, pool)
    }
    return pool
  }

  /** Every pool made so far. */
  dispatchers (): Dispatcher[] {
    return [...this.#pools.values()] as unknown[] as Dispatcher[]
  }
}
