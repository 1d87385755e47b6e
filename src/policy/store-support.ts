import { escapeOutside } from '../outside-text.ts'
import type { Logger } from '../telemetry.ts'
import { MAX_ENTRY_BYTES, validateEntry, type PolicyEntry } from './entry.ts'

export type ChangeListener = (origin: string, entry: PolicyEntry | undefined) => void

/** Warnings of one kind a store shows per interval; past them, one line says how many more were left out. */
export const STORE_WARNINGS_PER_INTERVAL = 5
export const STORE_WARNING_INTERVAL_MS = 60_000

/**
 * What a store warns about. `data`: something that came from outside was refused (a malformed entry,
 * a junk pub/sub message): whoever can write to the store or publish on its channel decides how many
 * of those there are. `store`: the store's own operations (an outage, a failed write).
 */
export type WarningKind = 'data' | 'store'

interface Window {
  shown: number
  suppressed: number
  timer: NodeJS.Timeout | undefined
}

/**
 * Whether text fits in `max` UTF-8 bytes, measured without copying it (a string of n characters
 * takes at least n bytes, so a longer one is refused before any byte is counted).
 */
export function fitsBytes (text: string, max: number): boolean {
  return text.length <= max && Buffer.byteLength(text, 'utf8') <= max
}

/**
 * What shared stores have in common: change listeners, and warnings through a logger or the process,
 * at most STORE_WARNINGS_PER_INTERVAL of a kind per interval (then one line with the count left out).
 */
export class StoreSupport {
  readonly #listeners = new Set<ChangeListener>()
  readonly #log: Logger | undefined
  readonly #name: string
  readonly #ttl: number
  readonly #interval: number
  readonly #windows = new Map<WarningKind, Window>()

  constructor (name: string, logger: Logger | undefined, ttl: number, interval = STORE_WARNING_INTERVAL_MS) {
    this.#name = name
    this.#ttl = ttl
    this.#interval = interval
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

  /**
   * A warning, rate-limited per kind. Text that came from outside must already be quoted
   * (quoteOutside) in `message` and escaped (escapeOutside) in `obj`.
   */
  warn (obj: object, message: string, kind: WarningKind = 'store'): void {
    let window = this.#windows.get(kind)
    if (window === undefined) {
      window = { shown: 0, suppressed: 0, timer: undefined }
      this.#windows.set(kind, window)
    }
    if (window.shown >= STORE_WARNINGS_PER_INTERVAL) {
      window.suppressed += 1
      return
    }
    window.shown += 1
    if (window.timer === undefined) {
      const open = window
      open.timer = setTimeout(() => { this.#close(kind, open) }, this.#interval)
      open.timer.unref()
    }
    this.#emit(obj, message)
  }

  /** The end of an interval: says how many warnings were left out, and opens the next one. */
  #close (kind: WarningKind, window: Window): void {
    this.#windows.delete(kind)
    if (window.suppressed === 0) return
    const seconds = Math.round(this.#interval / 1000)
    this.#emit({ suppressed: window.suppressed, kind }, `${window.suppressed} more warning${window.suppressed === 1 ? '' : 's'} of this store (${kind === 'data' ? 'refused entries or messages' : 'its operations'}) left out in the last ${seconds} s`)
  }

  #emit (obj: object, message: string): void {
    if (this.#log !== undefined) this.#log.warn(obj, `${this.#name}: ${message}`)
    else process.emitWarning(`undici-tls-fallback ${this.#name}: ${message}`, { type: 'TlsFallbackWarning', code: 'TLS_FALLBACK_STORE' })
  }

  info (obj: object, message: string): void {
    this.#log?.info(obj, `${this.#name}: ${message}`)
  }

  /**
   * Parses and validates an entry that came from outside; returns a plain copy, capped to this
   * store's TTL (see validateEntry), or warns and returns undefined when it is bad. Text longer than
   * MAX_ENTRY_BYTES is refused before it is parsed. `where` is already quoted where it names a key or a file.
   */
  accept (raw: unknown, origin: string | undefined, where: string): PolicyEntry | undefined {
    let value = raw
    const fields = { origin: origin === undefined ? undefined : escapeOutside(origin), where }
    if (typeof raw === 'string') {
      if (!fitsBytes(raw, MAX_ENTRY_BYTES)) {
        this.warn({ ...fields, limit: MAX_ENTRY_BYTES }, `ignoring an entry larger than ${MAX_ENTRY_BYTES} bytes (${where})`, 'data')
        return undefined
      }
      try {
        value = JSON.parse(raw)
      } catch {
        this.warn(fields, `ignoring an entry that is not JSON (${where})`, 'data')
        return undefined
      }
    }
    const checked = validateEntry(value, origin, { ttl: this.#ttl })
    if (typeof checked === 'string') {
      this.warn({ ...fields, problem: checked }, `ignoring a malformed entry (${where}): ${checked}`, 'data')
      return undefined
    }
    return checked
  }
}

/** An error's type, code and message, escaped: a message can quote a server, a proxy or a file name. */
export function summary (error: unknown): { type: string, code: string | undefined, message: string } {
  const e = error as { name?: string, code?: string, message?: string } | undefined
  return {
    type: escapeOutside(e?.name ?? typeof error, 64),
    code: typeof e?.code === 'string' ? escapeOutside(e.code, 64) : undefined,
    message: escapeOutside(String(e?.message ?? error))
  }
}
