import type { Client, Dispatcher } from 'undici'
import type { Prepare } from '../connector.ts'
import { normalizeHostname } from '../policy/hosts.ts'
import { evictPrimedAuthPool } from '../primed-pools.ts'
import type { AuthHandshakeEvent } from '../telemetry.ts'
import { AuthPool } from './pool.ts'
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
  /** The priming step for connections that carry large uploads to a path (src/uploads.ts), run after the handshake. */
  prime: (path: string) => Prepare
}

/** The origin a request with `auth` goes to, and its host's `auth`. */
export interface AuthTarget {
  origin: string
  url: URL
  auth: ResolvedAuth
}

/**
 * Hosts with `auth`: their own pools of authenticated HTTP/1.1 connections, one `AuthPool` per
 * stack and origin (src/auth/pool.ts), and for large uploads one per stack, origin and path whose
 * connections are primed for that path after their handshake (at most `MAX_PRIMED_POOLS`, the
 * oldest closed first). `Routes#send` hands their requests here.
 */
export class AuthPools {
  readonly #options: AuthPoolsOptions
  readonly #pools = new Map<string, AuthPool>()

  constructor (options: AuthPoolsOptions) {
    this.#options = options
  }

  /** `primePath`: a large upload, on connections authenticated and primed for that path. */
  dispatch (stack: StackName, target: AuthTarget, opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler, primePath?: string): void {
    this.#poolFor(stack, target, primePath).dispatch(opts, handler)
  }

  #poolFor (stack: StackName, target: AuthTarget, primePath: string | undefined): AuthPool {
    const key = primePath === undefined ? `${stack} ${target.origin}` : `${stack} ${target.origin} ${primePath}`
    let pool = this.#pools.get(key)
    if (pool === undefined) {
      if (primePath !== undefined) evictPrimedAuthPool(this.#pools)
      const { connections, clientTtl: _t, maxOrigins: _m, factory: _f, ...client } = this.#options.undici
      pool = new AuthPool({
        origin: target.origin,
        hostname: normalizeHostname(target.url.hostname),
        stack,
        auth: target.auth,
        prime: primePath === undefined ? undefined : this.#options.prime(primePath),
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
