/**
 * Reading callgrind's output, pure: one part of a dump (`--dump-instr=no --dump-line=no
 * --compress-strings=no`), its instruction total, and each function's self cost sorted into where
 * the instructions went. JavaScript has no symbols in the binary: V8's perf map (`--perf-basic-prof`,
 * one `start size name` line per compiled function) names the addresses callgrind reports for it.
 */

/** Where instructions went, by the function that executed them (self cost, callees excluded). */
export const CATEGORIES = ['library', 'undici', 'node', 'otherJs', 'builtins', 'gc', 'compiler', 'native'] as const
export type Category = typeof CATEGORIES[number]

/** Column headings. */
export const CATEGORY_HEADINGS: Record<Category, string> = {
  library: 'the library',
  undici: 'undici',
  node: 'Node',
  otherJs: 'other JavaScript',
  builtins: 'V8 builtins',
  gc: 'GC',
  compiler: 'compilation',
  native: 'native'
}

/** What each heading covers. */
export const CATEGORY_LABELS: Record<Category, string> = {
  library: 'JavaScript from the library\'s src/',
  undici: 'JavaScript from node_modules/undici',
  node: 'Node\'s own JavaScript (node: modules)',
  otherJs: 'the bench\'s loop, pino, and code V8 did not name',
  builtins: 'property-access ICs, Map, Promise and the other builtins',
  gc: 'scavenges, marking, sweeping, write barriers',
  compiler: 'Sparkplug, Maglev, TurboFan',
  native: 'OpenSSL, libuv, Node\'s C++, V8\'s runtime, libc'
}

export interface Part {
  /** The `totals:` line: every instruction executed in this part. */
  total: number
  /** Self cost per function name, as callgrind wrote it (addresses for code without a symbol). */
  self: Map<string, number>
}

/**
 * Parses one part of a callgrind dump. Cost lines after `calls=` are the call's inclusive cost
 * (already counted in the callee's own lines) and are skipped; every other cost line is the current
 * function's self cost. The costs are summed per function and checked against `totals:`.
 */
export function parsePart (text: string): Part {
  const self = new Map<string, number>()
  let fn = ''
  let callCost = false
  let total: number | undefined
  for (const line of text.split('\n')) {
    if (line.startsWith('fn=')) {
      fn = line.slice(3)
      callCost = false
    } else if (line.startsWith('calls=')) {
      callCost = true
    } else if (line.startsWith('totals:')) {
      total = Number(line.slice(7).trim().split(/\s+/)[0])
    } else if (/^[0-9+*-]/.test(line)) {
      if (callCost) {
        callCost = false
        continue
      }
      const cost = Number(line.trim().split(/\s+/)[1] ?? 0)
      if (Number.isFinite(cost)) self.set(fn, (self.get(fn) ?? 0) + cost)
    }
  }
  if (total === undefined || !Number.isFinite(total)) throw new Error('callgrind part without a totals: line')
  return { total, self }
}

export interface PerfMap {
  /** The name of the compiled function whose code holds this address, if any. */
  lookup: (address: number) => string | undefined
}

/** Parses V8's perf map (`/tmp/perf-<pid>.map`): `start size name`, hexadecimal. */
export function parsePerfMap (text: string): PerfMap {
  const entries: Array<{ start: number, end: number, name: string }> = []
  for (const line of text.split('\n')) {
    const match = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/i.exec(line)
    if (match === null) continue
    const start = Number.parseInt(match[1] as string, 16)
    entries.push({ start, end: start + Number.parseInt(match[2] as string, 16), name: match[3] as string })
  }
  entries.sort((a, b) => a.start - b.start)
  return {
    lookup: (address) => {
      // The last entry starting at or below the address (V8 reuses code space: later entries win ties).
      let lo = 0
      let hi = entries.length - 1
      let found = -1
      while (lo <= hi) {
        const mid = (lo + hi) >> 1
        if ((entries[mid] as { start: number }).start <= address) {
          found = mid
          lo = mid + 1
        } else {
          hi = mid - 1
        }
      }
      const entry = entries[found]
      return entry !== undefined && address < entry.end ? entry.name : undefined
    }
  }
}

const GC = /Scaveng|MarkCompact|Sweeper|Marking|Evacuat|heap::base|cppgc|MinorMS|v8::internal::Heap::|RememberedSet|SlotSet|IteratePointers|FreeList|Builtins_RecordWrite/
const COMPILER = /v8::internal::(compiler|maglev|baseline)::|v8::internal::Compiler::|v8::internal::(OptimizingCompileDispatcher|TurbofanCompilationJob)/

/** The perf-map name of a function callgrind reports by address (`0x...`, maybe with a `'2` suffix), if any. */
function jsName (fn: string, perfMap: PerfMap | undefined): string | undefined {
  return perfMap?.lookup(Number.parseInt(fn.split('\'')[0] as string, 16))
}

/** Whose JavaScript a perf-map name is. `library` is a `src/` folder outside node_modules. */
function jsCategory (name: string | undefined): Category {
  if (name === undefined) return 'otherJs'
  if (name.includes('/node_modules/undici/')) return 'undici'
  if (/ node:/.test(name)) return 'node'
  if (/\/src\/[^ ]*\.[cm]?[jt]s:/.test(name) && !name.includes('/node_modules/')) return 'library'
  return 'otherJs'
}

/** Where a function's instructions belong. `library` is JavaScript from a `src/` folder outside node_modules. */
export function categorize (fn: string, perfMap: PerfMap | undefined): Category {
  if (fn.startsWith('0x')) return jsCategory(jsName(fn, perfMap))
  if (GC.test(fn)) return 'gc'
  if (COMPILER.test(fn)) return 'compiler'
  if (fn.startsWith('Builtins_')) return 'builtins'
  return 'native'
}

/** A part's self costs summed by category. */
export function categories (part: Part, perfMap: PerfMap | undefined): Record<Category, number> {
  const out = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>
  for (const [fn, cost] of part.self) out[categorize(fn, perfMap)] += cost
  return out
}

/** The library's own JavaScript functions, by self cost, highest first (perf-map names). */
export function libraryFunctions (part: Part, perfMap: PerfMap | undefined): Array<{ name: string, instructions: number }> {
  const byName = new Map<string, number>()
  for (const [fn, cost] of part.self) {
    if (!fn.startsWith('0x')) continue
    const name = jsName(fn, perfMap)
    if (name === undefined || jsCategory(name) !== 'library') continue
    const short = shortName(name)
    byName.set(short, (byName.get(short) ?? 0) + cost)
  }
  return [...byName].map(([name, instructions]) => ({ name, instructions })).sort((a, b) => b.instructions - a.instructions)
}

/**
 * A perf-map name without V8's tier marker and the checkout's path: `JS:*'onAttemptHeaders
 * file:///x/src/request.ts:249:20` becomes `onAttemptHeaders src/request.ts:249`, so that a
 * function's code from every tier adds up under one name.
 */
export function shortName (name: string): string {
  return name
    .replace(/^JS:[*+^~]?'?/, '')
    .replace(/(?:file:\/\/)?\/[^ ]*?\/(src\/[^ ]*)/, '$1')
    .replace(/:(\d+):\d+$/, ':$1')
    .trim()
}
