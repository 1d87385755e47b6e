// undici-tls-fallback policies: what a policy store holds, and forgetting an origin everywhere.
// Exit codes: 0 done, 1 the store cannot be read or written, 2 usage error, 130 interrupted.
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { parseArgs } from 'node:util'
import { validateEntry, type PolicyEntry } from '../policy/entry.ts'
import { FilePolicyCache } from '../policy/file-cache.ts'
import { originOf } from '../policy/origin.ts'
import { changeMessage, changesChannel, policyKey, type RedisClient } from '../policy/redis-cache.ts'
import { escapeOutside } from '../outside-text.ts'
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

interface Listing {
  entries: PolicyEntry[]
  /** Entries the store holds that are malformed (they are never used). */
  ignored: number
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

/** Validated, unexpired entries, sorted by origin. */
function collect (pairs: Iterable<[string, unknown]>): Listing {
  const entries: PolicyEntry[] = []
  let ignored = 0
  const now = Date.now()
  for (const [origin, raw] of pairs) {
    let value = raw
    if (typeof raw === 'string') {
      try {
        value = JSON.parse(raw)
      } catch {
        ignored += 1
        continue
      }
    }
    const entry = validateEntry(value, origin)
    if (typeof entry === 'string') ignored += 1
    else if (entry.expiresAt > now) entries.push(entry)
  }
  entries.sort((a, b) => a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0)
  return { entries, ignored }
}

/** Deletes through FilePolicyCache: the write is locked, atomic and merged with what is on disk. */
async function forgetInFile (path: string, origin: string): Promise<void> {
  // Malformed entries were counted by the listing; the write below keeps them as they are.
  const quiet = (): void => {}
  const logger: Logger = { debug: quiet, info: quiet, warn: quiet, error: quiet }
  const cache = new FilePolicyCache({ path, writeDelay: 0, logger })
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
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? []
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n')
}

function render (store: Parsed['store'], listing: Listing): string {
  const lines = [`store: ${describeStore(store)}`, '']
  if (listing.entries.length === 0) {
    lines.push('no policies stored')
  } else {
    const rows = [['origin', 'stack', 'fingerprint', 'verified', 'learned', 'expires']]
    for (const e of listing.entries) {
      rows.push([e.origin, `${e.stack}${e.http1Only === true ? ' (HTTP/1.1)' : ''}`, e.fingerprint, e.evidence.verified ? 'yes' : 'no', when(e.learnedAt), `${when(e.expiresAt)} (${remaining(e.expiresAt)})`])
    }
    lines.push(table(rows), '', `${listing.entries.length} ${listing.entries.length === 1 ? 'policy' : 'policies'}`)
  }
  if (listing.ignored > 0) lines.push(`${listing.ignored} malformed ${listing.ignored === 1 ? 'entry' : 'entries'} ignored (agents never use them)`)
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
    return json ? jsonLine({ store: storeJson(store), policies: listing.entries, ignored: listing.ignored }) : render(store, listing)
  }
  const entry = listing.entries.find((e) => e.origin === forget)
  if (json) return jsonLine({ store: storeJson(store), forgot: forget, found: entry !== undefined, policy: entry ?? null })
  if (entry === undefined) return `no policy stored for ${shownArg(forget)}: nothing to forget\n`
  const who = store.kind === 'file' ? 'processes watching the file drop it' : 'every process sharing the store was told through pub/sub'
  return `forgot ${shownArg(forget)} (it used the ${entry.stack} stack${entry.http1Only === true ? ' over HTTP/1.1' : ''}); ${who}. Its next request starts on the strict stack.\n`
}
