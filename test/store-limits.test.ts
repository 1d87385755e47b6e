// Issue 27, items 5 and 6, and a policy file others can replace: what a peer that can write to a
// store (or publish on its channel) can make a process hold, log or believe.
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { FilePolicyCache, MemoryPolicyCache, RedisPolicyCache, TlsFallbackAgent, validateEntry, type PolicyEntry, type RedisClient } from '../src/index.ts'
import { MAX_ENTRY_BYTES, MAX_NAME_CHARS, MAX_ORIGIN_CHARS, MAX_SUMMARY_CHARS } from '../src/policy/entry.ts'
import { internStats } from '../src/policy/memory-cache.ts'
import { StoreSupport, STORE_WARNINGS_PER_INTERVAL } from '../src/policy/store-support.ts'
import { failure, memoryLogger, warnings } from './helpers.ts'
import { eventually as eventuallyWithin, policyEntry, redisForSuite } from './helpers/stores.ts'

const TTL = 60_000
const MiB = 1024 * 1024
/** A newline that forges a log line, an OSC that retitles a terminal, a CSI that colours it. */
const HOSTILE = 'https://x.example\n{"level":50,"msg":"forged line"}\u001b]0;pwned\u0007\u001b[31m\u009b2J'
const RAW_CONTROL = /[\n\r\u001b\u0007\u009b]/ // eslint-disable-line no-control-regex

function entry (origin: string, overrides: Partial<PolicyEntry> = {}, evidence: Partial<PolicyEntry['evidence']> = {}): PolicyEntry {
  return policyEntry(origin, overrides, { cipher: 'ECDHE-RSA-AES128-GCM-SHA256', ...evidence }, TTL)
}

async function eventually (check: () => boolean, what: string, ms = 20_000): Promise<void> {
  await eventuallyWithin(check, what, ms)
}

describe('entry bounds: every string kept is bounded', () => {
  test('a summary longer than MAX_SUMMARY_CHARS is cut; an origin, error code, protocol or cipher longer than its bound is refused', () => {
    const origin = 'https://bounds.example'
    const long = validateEntry(entry(origin, {}, { summary: 'x'.repeat(2 * MiB) }), origin)
    assert.ok(typeof long !== 'string', String(long))
    assert.equal(long.evidence.summary.length, MAX_SUMMARY_CHARS)
    assert.ok(long.evidence.summary.endsWith('…'))
    const host = `${'a'.repeat(63)}.`.repeat(5) + 'example'
    assert.equal(validateEntry(entry(`https://${host}`)), `origin is longer than ${MAX_ORIGIN_CHARS} characters`)
    for (const field of ['errorCode', 'tlsVersion', 'cipher'] as const) {
      assert.equal(validateEntry(entry(origin, {}, { [field]: 'E'.repeat(MAX_NAME_CHARS + 1) }), origin), `evidence.${field} is longer than ${MAX_NAME_CHARS} characters`)
    }
  })
})

describe('RedisPolicyCache with a real redis-server: a peer that can publish or write keys', () => {
  const redis = redisForSuite()

  test('64 entries of 2 MiB published on the channel are refused before they are parsed; nothing of them is kept', async (t) => {
    const { logger, lines } = memoryLogger()
    const store = new RedisPolicyCache({ url: redis.url, keyPrefix: 'big:', ttl: TTL, logger })
    t.after(async () => { await store.close() })
    await store.ready
    const before = internStats().bytes
    for (let i = 0; i < 64; i++) {
      const origin = `https://big${i}.example`
      await redis.raw.publish('big:changes', JSON.stringify({ id: 'peer', origin, entry: entry(origin, {}, { summary: `${i}`.padEnd(2 * MiB, 'x') }) }))
    }
    await redis.raw.publish('big:changes', JSON.stringify({ id: 'peer', origin: 'https://sentinel.example', entry: entry('https://sentinel.example') }))
    await eventually(() => store.get('https://sentinel.example') !== undefined, 'the sentinel after the 64 messages')
    for (let i = 0; i < 64; i++) assert.equal(store.get(`https://big${i}.example`), undefined, `entry ${i} refused`)
    assert.ok(internStats().bytes - before < 4_096, `interning grew by ${internStats().bytes - before} bytes`)
    const refused = lines.filter((l) => /larger than/.test(l.msg ?? ''))
    assert.ok(refused.length >= 1 && refused.length <= STORE_WARNINGS_PER_INTERVAL, `${refused.length} warnings`)
  })

  test('a Redis value of 2 MiB is refused before it is parsed, at start (SCAN) and by load(origin)', async (t) => {
    const early = 'https://early-big.example'
    const late = 'https://late-big.example'
    const big = (origin: string): string => JSON.stringify(entry(origin, {}, { summary: 'y'.repeat(2 * MiB) }))
    await redis.raw.set(`bigkey:policy:${early}`, big(early))
    const { logger, lines } = memoryLogger()
    const store = new RedisPolicyCache({ url: redis.url, keyPrefix: 'bigkey:', ttl: TTL, logger })
    t.after(async () => { await store.close() })
    await store.ready
    assert.equal(store.get(early), undefined)
    await redis.raw.set(`bigkey:policy:${late}`, big(late))
    assert.equal(await store.load(late), undefined)
    assert.equal(lines.filter((l) => new RegExp(`larger than ${MAX_ENTRY_BYTES} bytes`).test(l.msg ?? '')).length, 2)
  })

  test('4,000 distinct valid entries with long summaries: the interning tables stay under their bound, and let go once the entries are deleted', async (t) => {
    const store = new RedisPolicyCache({ url: redis.url, keyPrefix: 'many:', ttl: TTL, logger: memoryLogger().logger })
    const count = 4_000
    t.after(async () => { await store.close() })
    await store.ready
    const baseline = internStats().bytes
    let peak = 0
    for (let i = 0; i < count; i++) {
      const origin = `https://many${i}.example`
      // Each differs in its summary (500 characters) and its byte counts: nothing can be shared.
      const e = entry(origin, {}, { bytesSent: i, summary: `${i} `.padEnd(500, 'z') })
      await redis.raw.publish('many:changes', JSON.stringify({ id: 'peer', origin, entry: e }))
      if (i % 500 === 499) peak = Math.max(peak, internStats().bytes)
    }
    await eventually(() => store.get(`https://many${count - 1}.example`) !== undefined, 'the last entry')
    assert.equal(store.entries().length, count, 'every entry is valid and kept')
    const full = internStats()
    peak = Math.max(peak, full.bytes)
    assert.ok(peak <= full.maxBytes, `${peak} bytes held, bound ${full.maxBytes}`)
    for (const [name, table] of Object.entries(full.tables)) assert.ok(table.bytes <= table.maxBytes, `${name}: ${table.bytes} > ${table.maxBytes}`)
    assert.ok(full.tables.evidences.bytes > MiB, `the bound was reached: evidences hold ${full.tables.evidences.bytes} bytes`)
    for (let i = 0; i < count; i++) await redis.raw.publish('many:changes', JSON.stringify({ id: 'peer', origin: `https://many${i}.example`, entry: null }))
    await eventually(() => store.entries().length === 0, 'every entry deleted')
    const after = internStats()
    assert.ok(after.bytes - baseline <= 1_024, `after the deletions the tables hold ${after.bytes} bytes (${baseline} before)`)
  })

  test('2,001 junk messages with newlines and ESC in origin: a bounded number of warnings (logger), none with a raw control character', async (t) => {
    const { logger, lines } = memoryLogger()
    const store = new RedisPolicyCache({ url: redis.url, keyPrefix: 'junk:', ttl: TTL, logger })
    t.after(async () => { await store.close() })
    await store.ready
    for (let i = 0; i < 2_001; i++) {
      // Alternately: an entry for another origin under a hostile key, and a hostile origin alone.
      const message = i % 2 === 0
        ? { id: 'peer', origin: `${HOSTILE}${i}`, entry: entry('https://a.example') }
        : { id: 'peer', origin: `${HOSTILE}${i}`, entry: null }
      await redis.raw.publish('junk:changes', JSON.stringify(message))
    }
    await redis.raw.publish('junk:changes', JSON.stringify({ id: 'peer', origin: 'https://sentinel.example', entry: entry('https://sentinel.example') }))
    await eventually(() => store.get('https://sentinel.example') !== undefined, 'the sentinel after the junk')
    const warned = lines.filter((l) => l.level === 'warn')
    assert.ok(warned.length >= 1 && warned.length <= STORE_WARNINGS_PER_INTERVAL, `${warned.length} warnings for 2,001 messages`)
    for (const line of warned) {
      assert.doesNotMatch(line.msg ?? '', RAW_CONTROL, line.msg)
      for (const value of Object.values(line.obj as Record<string, unknown>)) {
        if (typeof value === 'string') assert.doesNotMatch(value, RAW_CONTROL, value)
      }
    }
    assert.ok(warned.some((l) => (l.msg ?? '').includes('\\n{\\"level\\":50')), 'the origin is shown escaped')
  })

  test('2,001 junk messages without a logger: a bounded number of process warnings, none with a raw control character; keys from SCAN are quoted too', async () => {
    await redis.raw.set(`junkw:policy:${HOSTILE}`, 'not json')
    let store: RedisPolicyCache | undefined
    const { warnings: list } = await warnings(async () => {
      store = new RedisPolicyCache({ url: redis.url, keyPrefix: 'junkw:', ttl: TTL })
      await store.ready
      for (let i = 0; i < 2_001; i++) {
        await redis.raw.publish('junkw:changes', JSON.stringify({ id: 'peer', origin: `${HOSTILE}${i}`, entry: entry('https://a.example') }))
      }
      await redis.raw.publish('junkw:changes', JSON.stringify({ id: 'peer', origin: 'https://sentinel.example', entry: entry('https://sentinel.example') }))
      await eventually(() => store?.get('https://sentinel.example') !== undefined, 'the sentinel after the junk')
    })
    try {
      const ours = list.filter((w) => w.code === 'TLS_FALLBACK_STORE')
      assert.ok(ours.length >= 2 && ours.length <= STORE_WARNINGS_PER_INTERVAL, `${ours.length} process warnings for 2,002 bad values`)
      for (const w of ours) assert.doesNotMatch(w.message, RAW_CONTROL, w.message)
      assert.ok(ours.some((w) => w.message.includes('redis key "junkw:policy:https://x.example\\n')), ours.map((w) => w.message).join('\n'))
    } finally {
      await store?.close()
    }
  })
})

describe('store warnings are rate-limited per interval, then summed up', () => {
  test('past STORE_WARNINGS_PER_INTERVAL, one line says how many were left out', async () => {
    const { logger, lines } = memoryLogger()
    const support = new StoreSupport('TestStore', logger, TTL, 50)
    for (let i = 0; i < 20; i++) support.warn({}, `junk ${i}`, 'data')
    support.warn({}, 'an outage', 'store')
    assert.deepEqual(lines.map((l) => l.msg), [0, 1, 2, 3, 4].map((i) => `TestStore: junk ${i}`).concat('TestStore: an outage'),
      'the first of each kind; the operations\' warning is not drowned by junk')
    await eventually(() => lines.length === 7, 'the summary line', 5_000)
    assert.match(lines[6]?.msg ?? '', /^TestStore: 15 more warnings of this store \(refused entries or messages\) left out/)
    support.warn({}, 'next interval', 'data')
    assert.equal(lines.at(-1)?.msg, 'TestStore: next interval', 'a new interval shows warnings again')
  })
})

describe('FilePolicyCache: the file\'s size, kind and name', () => {
  let dir: string
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'tls-fallback-limits-')) })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  test('a file larger than its bound is not read: its entries are not kept, one warning says why', async (t) => {
    const path = join(dir, 'huge.json')
    const origin = 'https://huge.example'
    // max 10: the bound is MIN_FILE_BYTES (1 MiB); this file is valid JSON of 2 MiB.
    await writeFile(path, JSON.stringify({ version: 1, entries: { [origin]: entry(origin) }, padding: 'p'.repeat(2 * MiB) }))
    const { logger, lines } = memoryLogger()
    const cache = new FilePolicyCache({ path, max: 10, ttl: TTL, logger })
    t.after(async () => { await cache.close() })
    assert.equal(cache.get(origin), undefined)
    assert.equal(lines.filter((l) => /is larger than 1048576 bytes/.test(l.msg ?? '')).length, 1)
  })

  test('a FIFO in the file\'s place is refused at construction instead of blocking the process', async () => {
    const path = join(dir, 'fifo.json')
    execFileSync('mkfifo', [path])
    const script = `import { FilePolicyCache } from ${JSON.stringify(new URL('../src/index.ts', import.meta.url).href)}
      try { new FilePolicyCache({ path: ${JSON.stringify(path)} }); console.log('constructed') } catch (e) { console.log(e.code, e.message) }`
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => { out += d })
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
    const code = await new Promise((resolve) => child.on('exit', (c, signal) => resolve(c ?? signal)))
    clearTimeout(timer)
    assert.equal(code, 0, `the process ended by itself (${String(code)})`)
    assert.match(out, /^TLS_FALLBACK_INVALID_OPTION TlsFallbackAgent: FilePolicyCache.path is not a regular file/)
  })

  test('a file name with a newline and ESC is quoted in the warnings', async (t) => {
    const path = join(dir, 'evil\n[fake] line\u001b]0;t\u0007.json')
    await writeFile(path, 'not json')
    const { logger, lines } = memoryLogger()
    const cache = new FilePolicyCache({ path, ttl: TTL, logger })
    t.after(async () => { await cache.close() })
    const line = lines.find((l) => /is not JSON/.test(l.msg ?? ''))
    assert.ok(line !== undefined)
    assert.doesNotMatch(line.msg ?? '', RAW_CONTROL, line.msg)
    assert.doesNotMatch(String(line.obj.path), RAW_CONTROL)
    assert.ok((line.msg ?? '').includes('evil\\n[fake] line\\u001b]0;t\\u0007.json"'), line.msg)
  })
})

describe('FilePolicyCache in a folder others can write to', { skip: process.platform === 'win32' }, () => {
  let dir: string
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'tls-fallback-perms-')) })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  async function folder (name: string, mode: number, gid?: number): Promise<string> {
    const path = join(dir, name)
    await mkdir(path)
    if (gid !== undefined) await chown(path, process.getuid?.() ?? 0, gid)
    await chmod(path, mode)
    return path
  }

  test('a folder every local user can write to, without the sticky bit: refused at construction, naming the option', async () => {
    const open = await folder('open', 0o777)
    const error = await failure(async () => new FilePolicyCache({ path: join(open, 'p.json') }))
    assert.equal(error.code, 'TLS_FALLBACK_INVALID_OPTION')
    assert.equal(error.option, 'FilePolicyCache.path')
    assert.match(error.message, /which every local user can write to without the sticky bit/)
  })

  test('the same folder with the sticky bit (like /tmp) is accepted; a file in it that another user owns is refused', async () => {
    const sticky = await folder('sticky', 0o1777)
    const cache = new FilePolicyCache({ path: join(sticky, 'mine.json') })
    await cache.close()
    const planted = join(sticky, 'planted.json')
    await writeFile(planted, JSON.stringify({ version: 1, entries: {} }), { mode: 0o644 })
    await chown(planted, 65534, 65534)
    const error = await failure(async () => new FilePolicyCache({ path: planted }))
    assert.equal(error.code, 'TLS_FALLBACK_INVALID_OPTION')
    assert.match(error.message, /belongs to user 65534, in a folder where every user may create files/)
  })

  test('a group-writable folder: accepted for a group of this process, refused for another group', { skip: process.getuid?.() !== 0 ? 'needs root to chown' : false }, async () => {
    const own = await folder('group-own', 0o770, process.getegid?.())
    const cache = new FilePolicyCache({ path: join(own, 'p.json') })
    await cache.close()
    const foreign = await folder('group-foreign', 0o770, 65534)
    const error = await failure(async () => new FilePolicyCache({ path: join(foreign, 'p.json') }))
    assert.equal(error.code, 'TLS_FALLBACK_INVALID_OPTION')
    assert.match(error.message, /the members of group 65534, which this process is not in/)
  })

  test('a policy file every local user can write to is refused', async () => {
    const path = join(dir, 'writable.json')
    await writeFile(path, JSON.stringify({ version: 1, entries: {} }))
    await chmod(path, 0o666)
    const error = await failure(async () => new FilePolicyCache({ path }))
    assert.equal(error.code, 'TLS_FALLBACK_INVALID_OPTION')
    assert.match(error.message, /can be written by every local user/)
  })
})

describe('MemoryPolicyCache gives back what it shared', () => {
  test('entries evicted, replaced or deleted release their interned values', async () => {
    const baseline = internStats().bytes
    const cache = new MemoryPolicyCache({ max: 100, ttl: TTL })
    for (let i = 0; i < 300; i++) cache.set(`https://m${i}.example`, entry(`https://m${i}.example`, {}, { bytesSent: i, summary: `s${i}` }))
    assert.equal(cache.size, 100)
    const held = internStats().bytes - baseline
    for (let i = 200; i < 250; i++) cache.set(`https://m${i}.example`, entry(`https://m${i}.example`, {}, { bytesSent: i + 1, summary: `t${i}` }))
    assert.ok(internStats().bytes - baseline <= held + 1_024, 'replacing an entry releases the old one\'s values')
    for (const e of cache.entries()) cache.delete(e.origin)
    assert.ok(internStats().bytes - baseline <= 1_024, `${internStats().bytes - baseline} bytes left`)
  })
})

describe('the agent shows what a store says changed, escaped', () => {
  test('a custom store reports changes with a newline and ESC in origin and stack, and an entry whose getter throws: escaped debug lines, nothing thrown into the store', async (t) => {
    let listener: ((origin: string, entry: PolicyEntry | undefined) => void) | undefined
    const store = {
      ttl: TTL,
      get: () => undefined,
      set: () => {},
      delete: () => {},
      entries: () => [],
      subscribe: (l: (origin: string, entry: PolicyEntry | undefined) => void) => { listener = l; return () => {} }
    }
    const { logger, lines } = memoryLogger()
    const agent = new TlsFallbackAgent({ cache: store, logger })
    t.after(async () => { await agent.close() })
    assert.ok(listener !== undefined)
    listener(HOSTILE, { ...entry('https://a.example'), stack: HOSTILE as never })
    listener(HOSTILE, undefined)
    listener('https://b.example', Object.defineProperty({}, 'stack', { get: () => { throw new Error('boom') } }) as PolicyEntry)
    const shown = lines.filter((l) => /elsewhere/.test(l.msg ?? ''))
    assert.equal(shown.length, 3)
    for (const line of shown) {
      assert.doesNotMatch(line.msg ?? '', RAW_CONTROL, line.msg)
      for (const value of Object.values(line.obj as Record<string, unknown>)) {
        if (typeof value === 'string') assert.doesNotMatch(value, RAW_CONTROL, value)
      }
    }
  })
})

describe('RedisPolicyCache: ready means loaded and listening', () => {
  const redis = redisForSuite()

  test('an entry published as soon as ready resolves is heard, even when the subscriber connection is slower than the load', async (t) => {
    const client = new Redis(redis.url)
    const duplicate = client.duplicate.bind(client)
    // A real subscriber connection whose SUBSCRIBE goes out 300 ms late (a slow or distant link).
    client.duplicate = ((options?: object) => {
      const subscriber = duplicate(options)
      const subscribe = subscriber.subscribe.bind(subscriber) as (channel: string) => Promise<unknown>
      subscriber.subscribe = (async (channel: string) => { await sleep(300); return await subscribe(channel) }) as typeof subscriber.subscribe
      return subscriber
    }) as typeof client.duplicate
    const store = new RedisPolicyCache({ client: client as unknown as RedisClient, keyPrefix: 'ready:', ttl: TTL, loadTimeout: 2_000, logger: memoryLogger().logger })
    t.after(async () => { await store.close(); client.disconnect() })
    await store.ready
    const origin = 'https://ready.example'
    await redis.raw.publish('ready:changes', JSON.stringify({ id: 'peer', origin, entry: entry(origin) }))
    await redis.raw.publish('ready:changes', JSON.stringify({ id: 'peer', origin: 'https://sentinel.example', entry: entry('https://sentinel.example') }))
    const deadline = Date.now() + 3_000
    while (store.get('https://sentinel.example') === undefined && Date.now() < deadline) await sleep(10)
    assert.ok(store.get(origin) !== undefined, 'the change published right after ready was heard')
  })
})
