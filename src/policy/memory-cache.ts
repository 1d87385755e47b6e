import { invalidOption } from '../errors.ts'
import { quoteOutside } from '../outside-text.ts'
import type { PolicyCache } from './cache.ts'
import { compactEntry, entryTableStats, INTERN_MAX_BYTES, releaseEntry, validateEntry, type PolicyEntry } from './entry.ts'
import type { InternTableStats } from './intern-table.ts'
import { IntermediateShelf } from '../certs/stored-intermediates.ts'
import { packEntry, releasePacked, templateTableStats } from './packed-entry.ts'

export interface MemoryPolicyCacheOptions {
  /** How many origins to remember; the least recently used is dropped first. Default: 10,000. */
  max?: number
  /** How long a learned policy lasts, in milliseconds; then the strict stack is tried again. Default: 6 hours. */
  ttl?: number
}

export const DEFAULT_CACHE_MAX = 10_000
export const DEFAULT_TTL = 6 * 60 * 60 * 1000

export function checkPositiveInteger (path: string, value: unknown, max = Number.MAX_SAFE_INTEGER): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw invalidOption(path, `must be a whole number from 1 to ${max}, got ${describe(value)}`)
  }
}

/** What kind of value was given, without the value: for options that may hold a secret (a key, a passphrase, a URL with a password). */
export function kind (value: unknown): string {
  if (value === null || value === undefined) return String(value)
  if (Array.isArray(value)) return 'an array'
  return `a ${typeof value}`
}

export function describe (value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value)
  if (Array.isArray(value)) return 'an array'
  return `a ${typeof value}`
}

/** Gives back the shared values an entry took when it was kept (see compactEntry and packEntry). */
function release (entry: PolicyEntry): void {
  releasePacked(entry)
  releaseEntry(entry)
}

/** A cache dropped without deleting its entries gives their shared values back once it is collected. */
const dropped = new FinalizationRegistry<Map<string, PolicyEntry>>((entries) => {
  for (const entry of entries.values()) release(entry)
})

export interface InternStats {
  tables: Record<'strings' | 'records' | 'evidences' | 'templates', InternTableStats>
  /** Bytes held by every table together. */
  bytes: number
  /** The most they may hold together. */
  maxBytes: number
}

/**
 * What the interning tables shared by every cache of the process hold (internal: for tests and the
 * bench). Each table holds at most INTERN_MAX_BYTES, and only values some kept entry uses.
 */
export function internStats (): InternStats {
  const tables = { ...entryTableStats(), templates: templateTableStats() }
  const list = Object.values(tables)
  return { tables, bytes: list.reduce((sum, t) => sum + t.bytes, 0), maxBytes: list.length * INTERN_MAX_BYTES }
}

/** The default store: in memory, bounded (least recently used first out), entries expire after `ttl`. */
export class MemoryPolicyCache implements PolicyCache {
  readonly ttl: number
  readonly max: number
  readonly #entries = new Map<string, PolicyEntry>()
  #last: string | undefined
  #intermediates: IntermediateShelf | undefined

  constructor (options: MemoryPolicyCacheOptions = {}) {
    if (options === null || typeof options !== 'object') throw invalidOption('MemoryPolicyCache options', `must be an object, got ${kind(options)}`)
    for (const key of Object.keys(options)) {
      if (key !== 'max' && key !== 'ttl') throw invalidOption(`MemoryPolicyCache.${key}`, 'is not an option (known: max, ttl)')
    }
    const max = options.max === undefined ? DEFAULT_CACHE_MAX : options.max
    const ttl = options.ttl === undefined ? DEFAULT_TTL : options.ttl
    checkPositiveInteger('MemoryPolicyCache.max', max)
    checkPositiveInteger('MemoryPolicyCache.ttl', ttl)
    this.max = max
    this.ttl = ttl
    dropped.register(this, this.#entries)
  }

  get size (): number {
    return this.#entries.size
  }

  get (origin: string): PolicyEntry | undefined {
    const entry = this.#entries.get(origin)
    if (entry === undefined) return undefined
    if (entry.expiresAt <= Date.now()) {
      this.#entries.delete(origin)
      release(entry)
      return undefined
    }
    // Most recently used last (nothing to move when it already is).
    if (origin !== this.#last) {
      this.#entries.delete(origin)
      this.#entries.set(origin, entry)
      this.#last = origin
    }
    return entry
  }

  /**
   * Keeps a copy of the entry, validated, with `learnedAt` capped at now and `expiresAt` at
   * `learnedAt + ttl`; returns that copy. Throws a TypeError for a malformed entry.
   */
  set (origin: string, entry: PolicyEntry): PolicyEntry {
    const checked = validateEntry(entry, origin, { ttl: this.ttl })
    if (typeof checked === 'string') throw new TypeError(`MemoryPolicyCache.set(${quoteOutside(origin)}): ${checked}`)
    // Shared evidence where it is equal; past the sharing bound, evidence packed into the entry.
    const compact = packEntry(compactEntry(checked))
    this.delete(origin)
    // The key is the entry's own flat origin string (see flat()).
    this.#entries.set(compact.origin, compact)
    this.#last = origin
    while (this.#entries.size > this.max) {
      const [oldest, evicted] = this.#entries.entries().next().value as [string, PolicyEntry]
      this.#entries.delete(oldest)
      release(evicted)
    }
    return compact
  }

  delete (origin: string): void {
    const entry = this.#entries.get(origin)
    if (entry === undefined) return
    this.#entries.delete(origin)
    release(entry)
  }

  entries (): PolicyEntry[] {
    const now = Date.now()
    const list: PolicyEntry[] = []
    for (const [origin, entry] of this.#entries) {
      if (entry.expiresAt <= now) {
        this.#entries.delete(origin)
        release(entry)
      } else list.push(entry)
    }
    return list
  }

  /** Holds no file or connection: releases nothing, and what was learned stays readable. */
  async close (): Promise<void> {}

  /** Intermediates fetched by agents sharing this store (validated by the agent when it uses them). */
  async loadIntermediates (key: string): Promise<string | undefined> {
    return await Promise.resolve(this.#intermediates?.get(key))
  }

  saveIntermediates (key: string, pem: string, expiresAt: number): void {
    this.#intermediates ??= new IntermediateShelf(this.ttl)
    this.#intermediates.set(key, pem, expiresAt)
  }
}
