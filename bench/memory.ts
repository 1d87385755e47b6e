// Scenario 6: bytes of heap per cached policy entry, for 1,000 and 100,000 entries.
import type { PolicyEntry } from '../src/index.ts'
import { log, summarize, type Summary } from './harness.ts'
import { startWorker } from './ipc.ts'

export interface MemoryConfig {
  sizes: number[]
  repeats: number
}

/** Evidence variety: typical (request sizes spread over 1,000 values), or every entry different. */
export const VARIETIES = [
  { name: 'typical', label: 'request sizes 150–1,149 bytes: 1,000 distinct evidence values', distinct: (_n: number) => 1_000 },
  { name: 'distinct', label: 'worst case: every entry\'s evidence different', distinct: (n: number) => n }
] as const

export interface MemoryRow {
  variety: 'typical' | 'distinct'
  label: string
  entries: number
  /** heapUsed growth for the whole cache, bytes, per repeat. */
  bytes: Summary
  bytesPerEntry: number
  /** The origin strings in a Map alone: what any cache keyed by origin costs. */
  keysOnlyPerEntry: number
}

export interface MemoryResult {
  rows: MemoryRow[]
  sample: PolicyEntry
  settings: string
}

const SETTINGS = 'entries built as the agent learns them: evidence from diagnose() on a verified refused ' +
  'renegotiation (AEAD suite: decoded records; cipher and protocol strings of their own per entry, as Node hands ' +
  'them out per connection; the failed request\'s size, so the byte counts, varying by origin), the entry literal ' +
  'of TlsFallbackAgent#learn, stored with MemoryPolicyCache#set; origins like https://app-000042.corp.example.com:8443 ' +
  '(URL#origin, as the agent keys them); heapUsed after four full collections, before and after filling the cache; ' +
  'every measurement in a fresh process'

/**
 * Every measurement in a fresh process: the library shares equal evidence and interns strings in
 * module-level tables, which a second measurement in the same process would find already filled.
 */
async function measureOnce (n: number, distinct: number): Promise<{ bytes: number, keysOnlyBytes: number }> {
  const child = await startWorker(new URL('./memory-child.ts', import.meta.url), { execArgv: ['--expose-gc'] })
  try {
    return await child.call('measure', { n, distinct })
  } finally {
    await child.stop()
  }
}

export async function runMemory (config: MemoryConfig): Promise<MemoryResult> {
  log(`memory: MemoryPolicyCache with ${config.sizes.join(' and ')} entries, ${config.repeats} repeats, each in a fresh --expose-gc process`)
  const rows: MemoryRow[] = []
  for (const variety of VARIETIES) {
    for (const n of config.sizes) {
      const samples: Array<{ bytes: number, keysOnlyBytes: number }> = []
      for (let r = 0; r < config.repeats; r++) samples.push(await measureOnce(n, variety.distinct(n)))
      const bytes = summarize(samples.map((s) => s.bytes))
      rows.push({
        variety: variety.name,
        label: variety.label,
        entries: n,
        bytes,
        bytesPerEntry: bytes.median / n,
        keysOnlyPerEntry: summarize(samples.map((s) => s.keysOnlyBytes)).median / n
      })
    }
  }
  const child = await startWorker(new URL('./memory-child.ts', import.meta.url), { execArgv: ['--expose-gc'] })
  let sample: PolicyEntry
  try {
    sample = await child.call<PolicyEntry>('sample')
  } finally {
    await child.stop()
  }
  return {
    rows,
    sample,
    settings: SETTINGS
  }
}
