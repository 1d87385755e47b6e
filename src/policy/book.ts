import { mayLearn } from '../decide.ts'
import type { Diagnosis } from '../fingerprint.ts'
import type { HostRule } from '../options.ts'
import { escapeOutside, quoteOutside } from '../outside-text.ts'
import type { StackName } from '../stacks.ts'
import type { Telemetry } from '../telemetry.ts'
import type { PolicyCache } from './cache.ts'
import { validateEntry, type PolicyEntry } from './entry.ts'
import { FilePolicyCache } from './file-cache.ts'
import { MemoryPolicyCache } from './memory-cache.ts'
import { RedisPolicyCache } from './redis-cache.ts'

/** How many origins the warm set and the notices keep before they start again (each is cleared when full). */
export const MAX_WARM_ORIGINS = 10_000

/**
 * The agent's policy book: it reads an origin's policy from the store (a custom store's entries
 * through validated plain copies), learns a transition when the evidence allows it (see `mayLearn`),
 * drops a policy that no longer works, remembers the origins that need none (the warm set), and
 * shows each notice once per origin and kind.
 */
export class PolicyBook {
  readonly cache: PolicyCache
  readonly #ownsCache: boolean
  /** The store is one of ours: its entries already are validated, capped plain copies. */
  readonly #trustedCache: boolean
  /** The store's TTL, read once (a store's getter cannot change it later). */
  readonly #ttl: number
  /** Validated plain copies of the entries a custom store handed out, by the store's object. */
  readonly #copies = new WeakMap<object, PolicyEntry>()
  /** Origins whose requests worked on strict with no policy: they pass the cold-start gate at once. */
  readonly #warm = new Set<string>()
  readonly #noticed = new Set<string>()
  readonly #telemetry: Telemetry
  /** Whether a connection of the origin took part in a renegotiation the server started. */
  readonly #renegotiated: (origin: string) => boolean

  constructor (cache: PolicyCache | undefined, telemetry: Telemetry, renegotiated: (origin: string) => boolean) {
    this.#ownsCache = cache === undefined
    this.cache = cache ?? new MemoryPolicyCache()
    this.#trustedCache = isOwnStore(this.cache)
    this.#ttl = this.cache.ttl
    this.#telemetry = telemetry
    this.#renegotiated = renegotiated
  }

  /** Logs (debug) what the store says changed elsewhere; returns the store's unsubscribe, if it has one. */
  subscribe (): (() => void) | undefined {
    return this.cache.subscribe?.((origin, entry) => {
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

  /** Whether the origin needs no cold-start gate: it has a policy, or worked with none. */
  known (origin: string): boolean {
    return this.#warm.has(origin) || this.cache.get(origin) !== undefined
  }

  /** A request that followed no policy worked: the origin's next requests need not wait at a gate. */
  worked (origin: string): void {
    if (this.known(origin)) return
    if (this.#warm.size >= MAX_WARM_ORIGINS) this.#warm.clear()
    this.#warm.add(origin)
  }

  forget (origin: string): void {
    this.cache.delete(origin)
    this.#warm.delete(origin)
  }

  /** The validated policy of an origin, if any, and if the host's rule allows its stack. */
  read (origin: string, rule: HostRule): PolicyEntry | undefined {
    let entry: PolicyEntry | undefined
    try {
      entry = this.cache.get(origin)
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

  /** An origin this process has never seen: a shared store may know it (the store bounds the wait). Undefined: nothing to load. */
  load (origin: string, signal: AbortSignal): Promise<unknown> | undefined {
    const load = this.cache.load
    if (load === undefined) return undefined
    try {
      return load.call(this.cache, origin, signal)
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)))
    }
  }

  /**
   * Records a transition. A move to `renegotiation` needs authenticated evidence: the failed
   * connection's client answered a real HelloRequest, or a connection on the new stack took part in
   * a renegotiation the server started. `tls13` is stronger than strict: learned once it worked.
   * `legacy-server-connect` is only tried for hosts that consent to it, and learned only on evidence
   * a completed handshake verified (see LegacyChecks), never because it worked once. Returns whether
   * the policy moved.
   */
  learn (origin: string, rule: HostRule, to: StackName, http1Only: boolean, diagnosis: Diagnosis, worked: boolean): boolean {
    const renegotiated = to === 'renegotiation' && this.#renegotiated(origin)
    if (!mayLearn({ to, verified: diagnosis.evidence.verified, worked, renegotiated })) {
      this.#telemetry.info({ origin, stack: to, fingerprint: diagnosis.fingerprint },
        `${origin}: the ${to} stack answered, but nothing proved the ${diagnosis.fingerprint} diagnosis; the policy stays as it was`)
      return false
    }
    const current = this.read(origin, rule)
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
      this.cache.set(origin, entry)
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

  /** Drops an origin's policy (it named a stack that no longer connects). */
  unlearn (origin: string, reason: string): void {
    this.#telemetry.warn({ origin, reason }, `${origin}: dropping its learned policy: ${reason}`)
    this.cache.delete(origin)
  }

  #warnIgnored (origin: string, kind: string, fields: object, message: string): void {
    this.noticeOnce(origin, kind, fields, message, 'TLS_FALLBACK_POLICY_IGNORED')
  }

  /** A notice (warn line, or process warning without a logger) shown once per origin and kind (bounded: cleared when it grows too large). */
  noticeOnce (origin: string, kind: string, fields: object, message: string, code: string): void {
    const key = `${origin} ${kind}`
    if (this.#noticed.has(key)) return
    if (this.#noticed.size >= MAX_WARM_ORIGINS) this.#noticed.clear()
    this.#noticed.add(key)
    this.#telemetry.notice(fields, message, code)
  }

  /** Closes the store when the agent made it. */
  async close (): Promise<void> {
    if (this.#ownsCache) await this.cache.close?.()
  }
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
