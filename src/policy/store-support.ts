import type { Logger } from '../telemetry.ts'
import { validateEntry, type PolicyEntry } from './entry.ts'

export type ChangeListener = (origin: string, entry: PolicyEntry | undefined) => void

/** What shared stores have in common: change listeners, and warnings through a logger or the process. */
export class StoreSupport {
  readonly #listeners = new Set<ChangeListener>()
  readonly #log: Logger | undefined
  readonly #name: string
  readonly #ttl: number

  constructor (name: string, logger: Logger | undefined, ttl: number) {
    this.#name = name
    this.#ttl = ttl
    this.#log = logger === undefined ? undefined : (logger.child?.({ lib: 'undici-tls-fallback', store: name }) ?? logger)
  }

  subscribe (listener: ChangeListener): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  notify (origin: string, entry: PolicyEntry | undefined): void {
    for (const listener of this.#listeners) {
      try {
        listener(origin, entry)
      } catch (error) {
        this.warn({ err: summary(error) }, 'a policy change listener threw')
      }
    }
  }

  warn (obj: object, message: string): void {
    if (this.#log !== undefined) this.#log.warn(obj, `${this.#name}: ${message}`)
    else process.emitWarning(`undici-tls-fallback ${this.#name}: ${message}`, { type: 'TlsFallbackWarning', code: 'TLS_FALLBACK_STORE' })
  }

  info (obj: object, message: string): void {
    this.#log?.info(obj, `${this.#name}: ${message}`)
  }

  /**
   * Parses and validates an entry that came from outside; returns a plain copy, capped to this
   * store's TTL (see validateEntry), or warns and returns undefined when it is bad.
   */
  accept (raw: unknown, origin: string | undefined, where: string): PolicyEntry | undefined {
    let value = raw
    if (typeof raw === 'string') {
      try {
        value = JSON.parse(raw)
      } catch {
        this.warn({ origin, where }, `ignoring an entry that is not JSON (${where})`)
        return undefined
      }
    }
    const checked = validateEntry(value, origin, { ttl: this.#ttl })
    if (typeof checked === 'string') {
      this.warn({ origin, where, problem: checked }, `ignoring a malformed entry (${where}): ${checked}`)
      return undefined
    }
    return checked
  }
}

export function summary (error: unknown): { type: string, code: string | undefined, message: string } {
  const e = error as { name?: string, code?: string, message?: string } | undefined
  return { type: e?.name ?? typeof error, code: e?.code, message: String(e?.message ?? error) }
}
