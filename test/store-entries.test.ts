import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import util from 'node:util'
import { FilePolicyCache, MemoryPolicyCache, RedisPolicyCache, validateEntry, type PolicyCache, type PolicyEntry } from '../src/index.ts'
import { startModern, type ModernServer } from './servers/modern.ts'
import { makeAgent, memoryLogger, record, send } from './helpers.ts'
import { policyEntry as entry, redisForSuite } from './helpers/stores.ts'

const TTL = 60_000
/** The largest time a Date can hold: 13 September 275760. */
const YEAR_275760 = 8.64e15
/** 1 January 2100. */
const YEAR_2100 = 4_102_444_800_000

/** A custom store that hands out whatever object it is given, as a buggy or hostile store would. */
function customStore (objects: Map<string, unknown>): PolicyCache {
  return {
    ttl: TTL,
    get: (origin) => objects.get(origin) as PolicyEntry | undefined,
    set: () => {},
    delete: () => {},
    entries: () => []
  }
}

describe('a store entry is copied, validated and capped once', () => {
  let server: ModernServer
  before(async () => { server = await startModern() })
  after(async () => { await server.close() })

  test('a custom store\'s entry whose stack is an accessor passes the host check once, then names legacy-server-connect: the agent only uses its copy', async (t) => {
    const origin = `https://localhost:${server.port}`
    let reads = 0
    const hostile = { ...entry(origin) } as Record<string, unknown>
    // The first reads (the checks) see an allowed stack; every later read names a stack this host never consented to.
    Object.defineProperty(hostile, 'stack', { enumerable: true, get: () => ++reads <= 3 ? 'renegotiation' : 'legacy-server-connect' })
    const events = record(origin)
    const agent = makeAgent({ cache: customStore(new Map([[origin, hostile]])), logger: memoryLogger().logger })
    t.after(async () => { events.stop(); await agent.close() })
    assert.equal((await send(agent, `${origin}/`)).status, 200)
    assert.equal((await send(agent, `${origin}/`)).status, 200)
    assert.deepEqual(events.attempts.map((a) => a.stack), ['renegotiation', 'renegotiation'], 'never the legacy-server-connect stack')
    assert.equal(reads, 1, 'the store\'s object was read once, into a copy')
  })

  test('a custom store\'s entry that expires in the year 275760 lasts no longer than learnedAt + ttl', async (t) => {
    const origin = `https://localhost:${server.port}`
    const now = Date.now()
    const stale = entry(origin, { learnedAt: now - TTL - 1_000, expiresAt: YEAR_275760 })
    const events = record(origin)
    const agent = makeAgent({ cache: customStore(new Map([[origin, stale]])), logger: memoryLogger().logger })
    t.after(async () => { events.stop(); await agent.close() })
    assert.equal((await send(agent, `${origin}/`)).status, 200)
    assert.deepEqual(events.attempts.map((a) => a.stack), ['strict'], 'the entry had expired: learned more than ttl ago')
  })

  test('validateEntry reads each property of a Proxy once, and a throwing getter is a reason, not a crash', () => {
    const reads = new Map<PropertyKey, number>()
    const counting = (target: object): object => new Proxy(target, {
      get: (t, key, receiver) => {
        reads.set(key, (reads.get(key) ?? 0) + 1)
        const value = Reflect.get(t, key, receiver)
        return value !== null && typeof value === 'object' ? counting(value) : value
      }
    })
    const copy = validateEntry(counting(entry('https://proxy.example.test')), 'https://proxy.example.test', { ttl: TTL })
    assert.ok(typeof copy !== 'string')
    assert.ok([...reads.values()].every((n) => n === 1), JSON.stringify(Object.fromEntries([...reads].map(([k, n]) => [String(k), n]))))
    assert.equal(util.types.isProxy(copy), false)
    assert.equal(util.types.isProxy(copy.evidence), false)
    const throwing = Object.defineProperty({ ...entry('https://proxy.example.test') }, 'stack', { get: () => { throw new Error('boom') } })
    assert.equal(validateEntry(throwing), 'cannot be read')
  })

  test('MemoryPolicyCache keeps a plain, capped copy and refuses a future learnedAt', () => {
    const cache = new MemoryPolicyCache({ ttl: TTL })
    const origin = 'https://memory.example.test'
    let reads = 0
    const hostile = { ...entry(origin), expiresAt: YEAR_275760 } as Record<string, unknown>
    Object.defineProperty(hostile, 'stack', { enumerable: true, get: () => ++reads === 1 ? 'renegotiation' : 'legacy-server-connect' })
    cache.set(origin, hostile as unknown as PolicyEntry)
    const kept = cache.get(origin) as PolicyEntry
    assert.equal(kept.stack, 'renegotiation')
    assert.equal(kept.stack, 'renegotiation')
    assert.equal(Object.getOwnPropertyDescriptor(kept, 'stack')?.value, 'renegotiation', 'a data property, not the accessor')
    assert.ok(Object.isFrozen(kept), 'and no accessor can be put into it later')
    assert.ok(kept.expiresAt <= kept.learnedAt + TTL)
    assert.throws(() => cache.set(origin, entry(origin, { learnedAt: YEAR_2100, expiresAt: YEAR_2100 + TTL })), /learnedAt is in the future/)
  })
})

describe('FilePolicyCache: entries from the file are capped', () => {
  let dir: string
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'tls-fallback-entries-')) })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  test('an entry that expires in the year 275760 is capped at learnedAt + ttl', async (t) => {
    const path = join(dir, 'forever.json')
    const origin = 'https://forever.example.test'
    const learned = entry(origin, { expiresAt: YEAR_275760 })
    await writeFile(path, JSON.stringify({ version: 1, entries: { [origin]: learned } }))
    const cache = new FilePolicyCache({ path, ttl: TTL, logger: memoryLogger().logger })
    t.after(async () => { await cache.close() })
    assert.equal(cache.get(origin)?.expiresAt, learned.learnedAt + TTL)
  })

  test('an entry learned "in the year 2100" is refused, and loses the merge against a change of ours', async (t) => {
    const path = join(dir, 'future.json')
    const origin = 'https://future.example.test'
    await writeFile(path, JSON.stringify({ version: 1, entries: { [origin]: entry(origin, { learnedAt: YEAR_2100, expiresAt: YEAR_2100 + TTL }) } }))
    const { logger, lines } = memoryLogger()
    const cache = new FilePolicyCache({ path, ttl: TTL, writeDelay: 0, logger })
    t.after(async () => { await cache.close() })
    assert.equal(cache.get(origin), undefined)
    assert.ok(lines.some((l) => l.level === 'warn' && /learnedAt is in the future/.test(l.msg ?? '')))
    cache.set(origin, entry(origin, { stack: 'tls13' }))
    await cache.flush()
    const onDisk = JSON.parse(await readFile(path, 'utf8'))
    assert.equal(onDisk.entries[origin].stack, 'tls13', 'our newer entry is on disk')
    assert.ok(onDisk.entries[origin].learnedAt <= Date.now())
  })
})

describe('RedisPolicyCache with a real redis-server: entries from Redis are capped', () => {
  const redis = redisForSuite()

  test('an entry that expires in the year 275760 is capped at learnedAt + ttl, on load at start and on load(origin)', async (t) => {
    const early = 'https://early.example.test'
    const late = 'https://late.example.test'
    await redis.raw.set(`caps:policy:${early}`, JSON.stringify(entry(early, { expiresAt: YEAR_275760 })))
    const store = new RedisPolicyCache({ url: redis.url, keyPrefix: 'caps:', ttl: TTL, logger: memoryLogger().logger })
    t.after(async () => { await store.close() })
    await store.ready
    const loaded = store.get(early) as PolicyEntry
    assert.equal(loaded.expiresAt, loaded.learnedAt + TTL)
    await redis.raw.set(`caps:policy:${late}`, JSON.stringify(entry(late, { expiresAt: YEAR_275760 })))
    const looked = await store.load(late) as PolicyEntry
    assert.equal(looked.expiresAt, looked.learnedAt + TTL)
  })

  test('an entry learned "in the year 2100" is refused, by key and by pub/sub', async (t) => {
    const origin = 'https://future.example.test'
    const poisoned = entry(origin, { learnedAt: YEAR_2100, expiresAt: YEAR_2100 + TTL })
    await redis.raw.set(`future:policy:${origin}`, JSON.stringify(poisoned))
    const { logger, lines } = memoryLogger()
    const store = new RedisPolicyCache({ url: redis.url, keyPrefix: 'future:', ttl: TTL, logger })
    t.after(async () => { await store.close() })
    await store.ready
    assert.equal(store.get(origin), undefined)
    await redis.raw.publish('future:changes', JSON.stringify({ id: 'someone-else', origin, entry: poisoned }))
    const deadline = Date.now() + 3_000
    while (lines.filter((l) => /learnedAt is in the future/.test(l.msg ?? '')).length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    assert.equal(lines.filter((l) => /learnedAt is in the future/.test(l.msg ?? '')).length, 2)
    assert.equal(store.get(origin), undefined)
  })
})
