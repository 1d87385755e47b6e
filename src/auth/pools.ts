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

/**
 * The most per-origin auth pools kept (one per stack and origin; the primed ones are bounded apart
 * by `MAX_PRIMED_POOLS`). A wildcard `hosts` rule with `auth` matches endless subdomains, and a
 * hostile server can redirect a caller that follows redirects to a new one each time: past this
 * bound the least recently used idle pool is closed (its next request authenticates a new
 * connection). Compare `MAX_PRIMED_POOLS` and `MAX_WARM_ORIGINS`.
 */
export const MAX_AUTH_POOLS = 128

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
 * stack and origin (src/auth/pool.ts; at most `MAX_AUTH_POOLS`, the least recently used idle one
 * closed first), and for large uploads one per stack, origin and path whose connections are primed
 * for that path after their handshake (at most `MAX_PRIMED_POOLS`, the least recently used closed
 * first). `Routes#send` hands their requests here.
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
    if (pool !== undefined) {
      // Most recently used last.
      this.#pools.delete(key)
      this.#pools.set(key, pool)
    } else {
      if (primePath !== undefined) evictPrimedAuthPool(this.#pools)
      else this.#evictIdle()
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

  /** At `MAX_AUTH_POOLS` per-origin pools, closes the least recently used idle one (a busy pool is never cut). */
  #evictIdle (): void {
    let count = 0
    let oldestIdle: string | undefined
    for (const [key, pool] of this.#pools) {
      if (key.split(' ').length !== 2) continue
      count++
      if (oldestIdle === undefined && pool.idle) oldestIdle = key
    }
    if (count < MAX_AUTH_POOLS || oldestIdle === undefined) return
    this.#pools.get(oldestIdle)?.close().catch(() => {})
    this.#pools.delete(oldestIdle)
  }

  /** Every pool made so far. */
  dispatchers (): Dispatcher[] {
    return [...this.#pools.values()] as unknown[] as Dispatcher[]
  }
}
