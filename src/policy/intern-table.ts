/**
 * A table of values shared between cache entries (interning), bounded in values and in bytes, that
 * lets go of a value once no kept entry uses it. Each cache entry that takes a value takes one
 * reference (`acquire`); the cache gives it back when it drops the entry (`release`). When the table
 * is full the caller keeps its own value: nothing is shared, and nothing more is held here.
 *
 * Releasing is by key and value, and forgiving: a release for a value the entry never took (the
 * table was full then, and another entry added the same value later) only makes that value leave the
 * table early, which costs sharing, never correctness (shared values are immutable). A value is never
 * held longer than the entries that took it.
 */
export interface InternTableStats {
  /** Values held. */
  count: number
  /** Estimated bytes held (keys, values and bookkeeping). */
  bytes: number
  maxCount: number
  maxBytes: number
}

/** The bookkeeping bytes counted for each value held: the Map's slot and the record below. */
export const INTERN_SLOT_BYTES = 96

interface Slot<V> {
  value: V
  refs: number
  bytes: number
}

/** What one character of `text` takes in V8: one byte when every character is Latin-1, else two. */
export function stringBytes (text: string): number {
  // eslint-disable-next-line no-control-regex
  return /[^\u0000-\u00ff]/.test(text) ? text.length * 2 : text.length
}

export class InternTable<V> {
  readonly #slots = new Map<string, Slot<V>>()
  readonly #maxCount: number
  readonly #maxBytes: number
  #bytes = 0

  constructor (maxCount: number, maxBytes: number) {
    this.#maxCount = maxCount
    this.#maxBytes = maxBytes
  }

  /**
   * The shared value for `key`, with one more reference; `make()` builds it when the table has room
   * (`bytes`: what the value costs beyond its key). Undefined when the table is full.
   */
  acquire (key: string, make: () => V, bytes = 0): V | undefined {
    const slot = this.#slots.get(key)
    if (slot !== undefined) {
      slot.refs += 1
      return slot.value
    }
    const cost = stringBytes(key) + bytes + INTERN_SLOT_BYTES
    if (this.#slots.size >= this.#maxCount || this.#bytes + cost > this.#maxBytes) return undefined
    const value = make()
    this.#slots.set(key, { value, refs: 1, bytes: cost })
    this.#bytes += cost
    return value
  }

  /** Whether the table holds `value` under `key` (strings compare by content, objects by identity). */
  holds (key: string, value: V): boolean {
    return this.#slots.get(key)?.value === value
  }

  /** Gives back one reference on `key` if the table holds `value` there; the last one frees it. */
  release (key: string, value: V): void {
    const slot = this.#slots.get(key)
    if (slot === undefined || slot.value !== value) return
    slot.refs -= 1
    if (slot.refs > 0) return
    this.#slots.delete(key)
    this.#bytes -= slot.bytes
  }

  /** Gives back one reference on `key`, whatever value the caller kept (for values equal by content). */
  releaseKey (key: string): void {
    const slot = this.#slots.get(key)
    if (slot !== undefined) this.release(key, slot.value)
  }

  stats (): InternTableStats {
    return { count: this.#slots.size, bytes: this.#bytes, maxCount: this.#maxCount, maxBytes: this.#maxBytes }
  }
}
