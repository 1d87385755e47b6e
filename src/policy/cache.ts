import type { PolicyEntry } from './entry.ts'
import type { IntermediateStore } from '../certs/stored-intermediates.ts'

/**
 * Where an agent keeps what it learned, per origin. `get` is synchronous and answers from memory:
 * the request path never waits on a disk or a network for an origin the process already knows.
 * Stores that share entries with other processes add `load` (a bounded look-up for an origin the
 * process has never seen) and `subscribe` (changes made elsewhere).
 *
 * A store is a hint: the agent validates every entry against its own configuration before use.
 */
export interface PolicyCache {
  /** Entries learned by the agent expire this many milliseconds after they were learned. */
  readonly ttl: number
  /** The entry for an origin, or undefined when there is none or it expired. */
  get: (origin: string) => PolicyEntry | undefined
  set: (origin: string, entry: PolicyEntry) => void
  delete: (origin: string) => void
  /** Every entry that has not expired. */
  entries: () => PolicyEntry[]
  /** Optional: look an unknown origin up in a shared store, giving up when `signal` aborts. */
  load?: (origin: string, signal: AbortSignal) => Promise<PolicyEntry | undefined>
  /** Optional: be told of entries set or deleted by other processes. Returns a function that unsubscribes. */
  subscribe?: (listener: (origin: string, entry: PolicyEntry | undefined) => void) => () => void
  /**
   * Releases files and connections. What the store holds stays readable afterwards (`get`, `entries`):
   * `agent.policy()` and `agent.policies()` keep answering after the agent and its store are closed.
   */
  close?: () => Promise<void>
  /**
   * Optional: intermediates fetched for servers that do not send theirs (`fetchIntermediates`), per
   * issuer. What it gives back is validated and only ever used as an untrusted intermediate
   * (src/certs/stored-intermediates.ts).
   */
  loadIntermediates?: IntermediateStore['loadIntermediates']
  saveIntermediates?: IntermediateStore['saveIntermediates']
}
