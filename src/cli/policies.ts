// undici-tls-fallback policies: what a policy store holds, and forgetting an origin everywhere.
// Exit codes: 0 done (invalid entries are listed, not fatal), 1 the store cannot be read or written,
// 2 usage error, 130 interrupted.
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { parseArgs } from 'node:util'
import { validateEntry, type PolicyEntry } from '../policy/entry.ts'
import { FilePolicyCache } from '../policy/file-cache.ts'
import { originOf } from '../policy/origin.ts'
import { changeMessage, changesChannel, policyKey, type RedisClient } from '../policy/redis-cache.ts'
import { escapeIfUnsafe, escapeOutside, quoteOutside } from '../outside-text.ts'
import type { Logger } from '../telemetry.ts'
import { redactArg, scrubArgs, shownArg } from './redact.ts'
import { jsonLine } from './render.ts'

export const POLICIES_HELP = `Usage: undici-tls-fallback policies (--file PATH | --redis URL [--prefix P]) [options]

Lists the policies a store holds (origin, stack, fingerprint, verified, learned, expires), or
forgets one origin's policy everywhere: the next request of every process sharing the store starts
on the strict stack again.

Options:
  --file PATH        a FilePolicyCache's JSON file
  --redis URL        a RedisPolicyCache's Redis (redis:// or rediss://); needs the ioredis package
  --prefix P         the RedisPolicyCache's keyPrefix (default 'undici-tls-fallback:')
  --forget ORIGIN    remove ORIGIN's policy (https://host[:port], or any URL of it). File: processes
                     watching the file drop it. Redis: every process is told through pub/sub.
  --timeout MS       give up on Redis after this long (default 5000)
  --json             print one JSON object instead of the table
  -h, --help         this help

Entries that cannot be listed (malformed, not JSON, a date out of range) are shown after the
table as invalid, with the reason; they do not change the exit code.

Exit codes: 0 done, 1 the store cannot be read or written (missing file, not a policy file,
Redis unreachable), 2 usage error, 130 interrupted. A URL's user name, password, query values
and fragment are never printed (ioredis reads ?password= as the password).
`

const DEFAULT_PREFIX = 'undici-tls-fallback:'

export class UsageError extends Error {}
/** The store is missing, malformed or unreachable. */
class StoreError extends Error {}

interface Parsed {
  store: { kind: 'file', path: string } | { kind: 'redis', url: string, prefix: string }
  forget: string | undefined
  timeout: number
  json: boolean
}

/** An entry the store holds that cannot be listed, and why: shown, never a reason to stop. */
interface Invalid {
  /** The origin it is stored under (from the store: outside text). */
  key: string
  reason: string
}

interface Listing {
  /** Valid, unexpired entries, sorted by origin. */
  entries: PolicyEntry[]
  /** Sorted by key. */
  invalid: Invalid[]
}

function parse (argv: string[]): Parsed | 'help' {
  let values: Record<string, string | boolean | undefined>
  let positionals: string[]
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        file: { type: 'string' },
        redis: { type: 'string' },
        prefix: { type: 'string' },
        forget: { type: 'string' },
        timeout: { type: 'string', default: '5000' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false }
      }
    }))
  } catch (error) {
    // parseArgs echoes the offending argument: a URL's credentials and query values must not come back.
    throw new UsageError(escapeOutside(scrubArgs((error as Error).message, argv), 1_000))
  }
  if (values.help === true) return 'help'
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${shownArg(positionals[0] as string)}`)
  const file = values.file as string | undefined
  const redis = values.redis as string | undefined
  if ((file === undefined) === (redis === undefined)) throw new UsageError('give exactly one store: --file PATH or --redis URL')
  if (values.prefix !== undefined && redis === undefined) throw new UsageError('--prefix goes with --redis')
  const timeout = Number(values.timeout)
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > 600_000) throw new UsageError('--timeout must be a whole number of milliseconds from 1 to 600000')
  let forget: string | undefined
  if (values.forget !== undefined) {
    const raw = String(values.forget)
    try {
      forget = originOf(raw)
    } catch {
      throw new UsageError(`--forget: not a URL: ${shownArg(raw)}`)
    }
    if (!forget.startsWith('https://')) throw new UsageError(`--forget: policies are kept for https:// origins, got ${shownArg(raw)}`)
  }
  let store: Parsed['store']
  if (redis !== undefined) {
    let url: URL
    try {
      url = new URL(redis)
    } catch {
      throw new UsageError('--redis: not a URL')
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new UsageError(`--redis: must be a redis:// or rediss:// URL, got ${url.protocol}`)
    store = { kind: 'redis', url: redis, prefix: values.prefix === undefined ? DEFAULT_PREFIX : String(values.prefix) }
  } else {
    store = { kind: 'file', path: file as string }
  }
  return { store, forget, timeout, json: values.json === true }
}

// Every value the user gave (store URL, path, prefix, origin) is shown through shownArg() (src/cli/redact.ts):
// a URL without its userinfo, query values and fragment (ioredis reads `?password=` too), escaped.
// Messages of others that may quote an argument (parseArgs, ioredis, Redis, the file system) go
// through scrubArgs() and are escaped as outside text.

function describeStore (store: Parsed['store']): string {
  return store.kind === 'file' ? `file ${shownArg(store.path)}` : `redis ${shownArg(store.url)} (prefix ${shownArg(store.prefix)})`
}

/** A message written by another component (ioredis, Redis, the file system), as it may be printed. */
function outsideMessage (text: string, argv: readonly string[]): string {
  return escapeOutside(scrubArgs(text, argv))
}

// ---- file store -------------------------------------------------------------------------------

async function listFile (path: string): Promise<Listing> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const code = (error as { code?: string }).code
    throw new StoreError(code === 'ENOENT' ? `no such file: ${shownArg(path)}` : `cannot read ${shownArg(path)} (${outsideMessage(code ?? (error as Error).message, [path])})`)
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    throw new StoreError(`${shownArg(path)} is not JSON: not a policy file`)
  }
  const shape = data as { version?: unknown, entries?: unknown } | null
  if (shape === null || typeof shape !== 'object' || shape.version !== 1 || shape.entries === null || typeof shape.entries !== 'object' || Array.isArray(shape.entries)) {
    throw new StoreError(`${shownArg(path)} is not a policy file (expected { "version": 1, "entries": { ... } })`)
  }
  return collect(Object.entries(shape.entries as Record<string, unknown>))
}

/**
 * Sorts what a store holds into valid, unexpired entries and invalid ones with their reason. Whatever
 * an entry holds, the listing goes on: the operators' view survives what the agents survive.
 */
function collect (pairs: Iterable<[string, unknown]>): Listing {
  const entries: PolicyEntry[] = []
  const invalid: Invalid[] = []
  const now = Date.now()
  for (const [key, raw] of pairs) {
    const entry = check(key, raw)
    if (typeof entry === 'string') invalid.push({ key, reason: cut(entry, MAX_REASON) })
    else if (entry.expiresAt > now) entries.push(entry)
  }
  entries.sort((a, b) => compare(a.origin, b.origin))
  invalid.sort((a, b) => compare(a.key, b.key))
  return { entries, invalid }
}

/** JavaScript dates span ±8.64e15 ms from the epoch (ECMA-262 21.4.1.1). */
const MAX_DATE = 8.64e15
/** Characters of a reason kept (it may quote the entry: a 2 MB stack name, say). */
const MAX_REASON = 200

/** validateEntry() (the agents' check), then what the listing needs besides: dates it can print. */
function check (key: string, raw: unknown): PolicyEntry | string {
  let value = raw
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw)
    } catch {
      return 'not JSON'
    }
  }
  const entry = validateEntry(value, key)
  if (typeof entry === 'string') return entry
  // validateEntry() accepts any finite number: agents cap expiresAt at learnedAt + their ttl.
  if (Math.abs(entry.learnedAt) > MAX_DATE) return `learnedAt ${entry.learnedAt} is not a date (dates lie within 8.64e15 ms of 1970); agents treat the entry as expired`
  if (Math.abs(entry.expiresAt) > MAX_DATE) return `expiresAt ${entry.expiresAt} is not a date (dates lie within 8.64e15 ms of 1970); agents cap it at learnedAt + their ttl`
  return entry
}

function compare (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function cut (text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…(+${text.length - max} chars)` : text
}

/** Deletes through FilePolicyCache: the write is locked, atomic and merged with what is on disk. */
async function forgetInFile (path: string, origin: string): Promise<void> {
  // The write drops the entries the listing showed as invalid (every writer of the file does).
  const quiet = (): void => {}
  const logger: Logger = { debug: quiet, info: quiet, warn: quiet, error: quiet }
  // The file's entries were written by agents with their own ttl: this write must not cap them at
  // the default 6 hours, so its ttl is the longest a date allows.
  const cache = new FilePolicyCache({ path, writeDelay: 0, logger, ttl: MAX_DATE })
  cache.delete(origin)
  try {
    await cache.close()
  } catch (error) {
    throw new StoreError(`cannot write ${shownArg(path)} (${outsideMessage((error as { code?: string }).code ?? (error as Error).message, [path])})`)
  }
}

// ---- Redis store ------------------------------------------------------------------------------

interface CliRedis extends RedisClient {
  connect: () => Promise<void>
  mget: (...keys: string[]) => Promise<Array<string | null>>
  /** The last connection error ioredis emitted (its promises often only say "Connection is closed."). */
  lastError?: Error & { code?: string }
}

function openRedis (url: string, timeout: number): CliRedis {
  let Redis: new (url: string, options: object) => CliRedis
  try {
    Redis = (createRequire(import.meta.url)('ioredis') as { Redis: typeof Redis }).Redis
  } catch {
    throw new StoreError('--redis needs the ioredis package: npm install ioredis')
  }
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeout,
    // One try, no reconnection, no queue: an unreachable Redis is an answer, not a wait.
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false
  })
  client.on('error', (error: Error) => { client.lastError = error })
  return client
}

async function withRedis<T> (parsed: Parsed & { store: { kind: 'redis' } }, signal: AbortSignal, work: (client: CliRedis) => Promise<T>): Promise<T> {
  const { url } = parsed.store
  const client = openRedis(url, parsed.timeout)
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new StoreError(`Redis at ${shownArg(url)} did not answer within ${parsed.timeout} ms`)), parsed.timeout)
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true })
  })
  deadline.catch(() => {})
  try {
    try {
      await Promise.race([client.connect(), deadline])
    } catch (error) {
      if (error instanceof StoreError || signal.aborted) throw error
      const cause = client.lastError ?? error as Error & { code?: string }
      throw new StoreError(`cannot reach Redis at ${shownArg(url)} (${outsideMessage(cause.code ?? cause.message, [url])})`)
    }
    try {
      return await Promise.race([work(client), deadline])
    } catch (error) {
      if (error instanceof StoreError || signal.aborted) throw error
      throw new StoreError(`Redis at ${shownArg(url)} failed: ${outsideMessage((error as Error).message, [url])}`)
    }
  } finally {
    clearTimeout(timer)
    client.disconnect()
  }
}

async function listRedis (client: CliRedis, prefix: string): Promise<Listing> {
  const pairs: Array<[string, unknown]> = []
  const head = policyKey(prefix, '')
  let cursor = '0'
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${escapeGlob(prefix)}policy:*`, 'COUNT', 500)
    cursor = next
    if (keys.length === 0) continue
    const values = await client.mget(...keys)
    keys.forEach((key, i) => {
      const value = values[i]
      if (value !== null && value !== undefined) pairs.push([key.slice(head.length), value])
    })
  } while (cursor !== '0')
  return collect(pairs)
}

function escapeGlob (text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&')
}

/** Deletes the key and publishes the deletion, as RedisPolicyCache.delete does: every store drops the origin. */
async function forgetInRedis (client: CliRedis, prefix: string, origin: string): Promise<void> {
  await client.del(policyKey(prefix, origin))
  await client.publish(changesChannel(prefix), changeMessage(`cli-${randomBytes(8).toString('hex')}`, origin, null))
}

// ---- output -----------------------------------------------------------------------------------

function when (ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z')
}

function remaining (ms: number): string {
  const minutes = Math.max(0, Math.round((ms - Date.now()) / 60_000))
  return minutes >= 60 ? `in ${Math.floor(minutes / 60)}h ${minutes % 60}m` : `in ${minutes}m`
}

function table (rows: string[][]): string {
  // A loop, not Math.max(...column): a store may hold more rows than a call takes arguments.
  const widths: number[] = []
  for (const row of rows) row.forEach((cell, i) => { widths[i] = Math.max(widths[i] ?? 0, cell.length) })
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n')
}

/** Every cell is escaped: origins and keys come from the store, and so does every other field. */
function render (store: Parsed['store'], listing: Listing): string {
  const lines = [`store: ${describeStore(store)}`, '']
  if (listing.entries.length === 0) {
    lines.push('no policies stored')
  } else {
    const rows = [['origin', 'stack', 'fingerprint', 'verified', 'learned', 'expires']]
    for (const e of listing.entries) {
      rows.push([e.origin, `${e.stack}${e.http1Only === true ? ' (HTTP/1.1)' : ''}`, e.fingerprint, e.evidence.verified ? 'yes' : 'no', when(e.learnedAt), `${when(e.expiresAt)} (${remaining(e.expiresAt)})`].map((cell) => escapeOutside(cell)))
    }
    lines.push(table(rows), '', `${listing.entries.length} ${listing.entries.length === 1 ? 'policy' : 'policies'}`)
  }
  const { invalid } = listing
  if (invalid.length > 0) {
    lines.push('', `${invalid.length} invalid ${invalid.length === 1 ? 'entry' : 'entries'}, not listed above (agents ignore ${invalid.length === 1 ? 'it' : 'them'} unless the reason says otherwise):`)
    lines.push(table([['key', 'reason'], ...invalid.map(({ key, reason }) => [quoteOutside(key), escapeIfUnsafe(reason, 2 * MAX_REASON)])]))
  }
  return lines.join('\n') + '\n'
}

function storeJson (store: Parsed['store']): object {
  return store.kind === 'file' ? { kind: 'file', path: redactArg(store.path) } : { kind: 'redis', url: redactArg(store.url), prefix: store.prefix }
}

// ---- command ----------------------------------------------------------------------------------

export async function policies (argv: string[]): Promise<number> {
  let parsed: Parsed | 'help'
  try {
    parsed = parse(argv)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    process.stderr.write(`undici-tls-fallback policies: ${error.message}\n\n${POLICIES_HELP}`)
    return 2
  }
  if (parsed === 'help') {
    process.stdout.write(POLICIES_HELP)
    return 0
  }
  const controller = new AbortController()
  const onSignal = (): void => { controller.abort(new Error('interrupted')) }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    const output = await run(parsed, controller.signal)
    process.stdout.write(output)
    return 0
  } catch (error) {
    if (controller.signal.aborted) {
      process.stderr.write('undici-tls-fallback policies: interrupted\n')
      return 130
    }
    if (!(error instanceof StoreError)) throw error
    process.stderr.write(`undici-tls-fallback policies: ${error.message}\n`)
    return 1
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

async function run (parsed: Parsed, signal: AbortSignal): Promise<string> {
  const { store, forget, json } = parsed
  let listing: Listing
  if (store.kind === 'file') {
    listing = await listFile(store.path)
    if (forget !== undefined) await forgetInFile(store.path, forget)
  } else {
    listing = await withRedis({ ...parsed, store }, signal, async (client) => {
      const found = await listRedis(client, store.prefix)
      // Published even when the key is gone already: processes may still hold the entry in memory.
      if (forget !== undefined) await forgetInRedis(client, store.prefix, forget)
      return found
    })
  }
  if (forget === undefined) {
    return json ? jsonLine({ store: storeJson(store), policies: listing.entries, ignored: listing.invalid.length, invalid: listing.invalid }) : render(store, listing)
  }
  const entry = listing.entries.find((e) => e.origin === forget)
  // An invalid entry under that origin is gone too (deleted, or dropped by the file's rewrite).
  const bad = listing.invalid.find((i) => i.key === forget)
  if (json) return jsonLine({ store: storeJson(store), forgot: forget, found: entry !== undefined || bad !== undefined, policy: entry ?? null, ...(bad === undefined ? {} : { invalid: bad.reason }) })
  const who = store.kind === 'file' ? 'processes watching the file drop it' : 'every process sharing the store was told through pub/sub'
  if (entry !== undefined) return `forgot ${shownArg(forget)} (it used the ${entry.stack} stack${entry.http1Only === true ? ' over HTTP/1.1' : ''}); ${who}. Its next request starts on the strict stack.\n`
  if (bad !== undefined) return `forgot ${shownArg(forget)} (its entry was invalid: ${escapeIfUnsafe(bad.reason, 2 * MAX_REASON)}); ${who}.\n`
  return `no policy stored for ${shownArg(forget)}: nothing to forget\n`
}
