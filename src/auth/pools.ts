import type { AuthPool } from './pool.ts'

/**
 * The most auth pools kept (one per stack and origin). A wildcard `hosts` rule with `auth` matches
 * endless subdomains, and a hostile server can redirect a caller that follows redirects to a new one
 * each time: past this bound the least recently used idle pool is closed (its next request makes a
 * new pool and authenticates a new connection). Compare `MAX_PRIMED_POOLS` and `MAX_WARM_ORIGINS`.
 */
export const MAX_AUTH_POOLS = 128

/** The auth pools by key, most recently used last, bounded by `MAX_AUTH_POOLS` (busy pools are never closed). */
export class AuthPools {
  readonly #pools = new Map<string, AuthPool>()

  /** The pool under `key`, now the most recently used. */
  get (key: string): AuthPool | undefined {
    const pool = this.#pools.get(key)
    if (pool !== undefined) {
      this.#pools.delete(key)
      this.#pools.set(key, pool)
    }
    return pool
  }

  /** Adds a new pool; at the bound, first closes the least recently used idle one. */
  set (key: string, pool: AuthPool): void {
    if (this.#pools.size >= MAX_AUTH_POOLS) {
      for (const [oldKey, old] of this.#pools) {
        if (!old.idle) continue
        this.#pools.delete(oldKey)
        old.close().catch(() => {})
        break
      }
    }
    this.#pools.set(key, pool)
  }

  get size (): number { return this.#pools.size }

  values (): IterableIterator<AuthPool> { return this.#pools.values() }
}
