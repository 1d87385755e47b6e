import assert from 'node:assert/strict'
import net from 'node:net'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { FilePolicyCache, MemoryPolicyCache, RedisPolicyCache, type PolicyCache } from '../src/index.ts'
import { startIisLike, type TestServer } from './servers/iis.ts'
import { freePort } from './servers/ports.ts'
import { startRedis, type RedisServer } from './servers/redis.ts'
import { failure, makeAgent, memoryLogger, record, send } from './helpers.ts'
import { eventually, policyEntry as entry, startReplica } from './helpers/stores.ts'

describe('FilePolicyCache', () => {
  let iis: TestServer
  let dir: string
  before(async () => {
    iis = await startIisLike()
    dir = await mkdtemp(join(tmpdir(), 'tls-fallback-file-'))
  })
  after(async () => {
    await iis.close()
    await rm(dir, { recursive: true, force: true })
  })

  test('a path in a folder that does not exist: TLS_FALLBACK_INVALID_OPTION at construction, naming the option and the folder', async () => {
    const missing = join(dir, 'no-such-folder', 'policies.json')
    const error = await failure(async () => new FilePolicyCache({ path: missing }))
    assert.equal(error.code, 'TLS_FALLBACK_INVALID_OPTION')
    assert.equal(error.option, 'FilePolicyCache.path')
    assert.equal(error.message, `TlsFallbackAgent: FilePolicyCache.path is in a folder that does not exist ("${join(dir, 'no-such-folder')}"): create it first; the file itself is created on the first write`)
    // A missing file in a folder that exists is fine: it is created on the first write.
    const cache = new FilePolicyCache({ path: join(dir, 'new.json') })
    await cache.close()
  })

  test('survives a restart: the next process\'s first request uses the learned stack, with no failed attempt', async () => {
    const path = join(dir, 'restart.json')
    const url = `https://localhost:${iis.port}/secure`
    const first = await startReplica({ store: 'file', path })
    const learned = await first.send({ cmd: 'request', url })
    assert.equal(learned.status, 200)
    assert.deepEqual(learned.attempts, [['strict', 'initial'], ['renegotiation', 'fallback']])
    await first.close()
    const onDisk = JSON.parse(await readFile(path, 'utf8'))
    assert.equal(onDisk.entries[`https://localhost:${iis.port}`].stack, 'renegotiation')

    const second = await startReplica({ store: 'file', path })
    const reply = await second.send({ cmd: 'request', url })
    assert.equal(reply.status, 200)
    assert.deepEqual(reply.attempts, [['renegotiation', 'initial']])
    await second.close()
  })

  test('two processes writing the same file keep each other\'s entries and never corrupt it', async () => {
    const path = join(dir, 'shared.json')
    const a = new FilePolicyCache({ path, writeDelay: 0 })
    const replica = await startReplica({ store: 'file', path })
    const writes: Array<Promise<unknown>> = []
    for (let i = 0; i < 40; i++) {
      a.set(`https://a${i}.example.test`, entry(`https://a${i}.example.test`))
      writes.push(a.flush())
    }
    // The replica learns a real policy meanwhile, and writes it too.
    assert.equal((await replica.send({ cmd: 'request', url: `https://localhost:${iis.port}/secure` })).status, 200)
    await Promise.all(writes)
    await replica.close()
    await a.close()
    const data = JSON.parse(await readFile(path, 'utf8'))
    assert.equal(Object.keys(data.entries).length, 41)
    assert.equal(data.entries[`https://localhost:${iis.port}`].stack, 'renegotiation')
  })

  test('a change made by another process reaches a running one without a request', async () => {
    const path = join(dir, 'watch.json')
    const local = new FilePolicyCache({ path })
    const heard: string[] = []
    local.subscribe((origin) => { heard.push(origin) })
    const other = new FilePolicyCache({ path, writeDelay: 0 })
    other.set('https://learned.example.test', entry('https://learned.example.test'))
    await other.flush()
    await eventually(async () => local.get('https://learned.example.test') !== undefined)
    assert.deepEqual(heard, ['https://learned.example.test'])
    other.delete('https://learned.example.test')
    await other.flush()
    await eventually(async () => local.get('https://learned.example.test') === undefined)
    await other.close()
    await local.close()
  })

  test('a malformed file is ignored with a warning, and a poisoned entry is never used', async (t) => {
    const path = join(dir, 'poisoned.json')
    await writeFile(path, '{ not json')
    const { logger, lines } = memoryLogger()
    const broken = new FilePolicyCache({ path, logger })
    assert.equal(broken.entries().length, 0)
    assert.ok(lines.some((l) => l.level === 'warn' && /not JSON/.test(l.msg ?? '')))
    await broken.close()

    const origin = `https://localhost:${iis.port}`
    await writeFile(path, JSON.stringify({
      version: 1,
      entries: {
        [origin]: { ...entry(origin), stack: 'legacy-server-connect', fingerprint: 'unsafe-legacy-renegotiation' },
        'https://bad.example.test': { origin: 'https://bad.example.test', stack: 'no-such-stack' }
      }
    }))
    const warned = memoryLogger()
    const cache = new FilePolicyCache({ path, logger: warned.logger })
    assert.ok(warned.lines.some((l) => /unknown stack/.test(l.msg ?? '')), 'the malformed entry is reported')
    const events = record(origin)
    const agent = makeAgent({ cache, logger: warned.logger })
    t.after(async () => { events.stop(); await agent.close(); await cache.close() })
    const reply = await send(agent, `${origin}/secure`)
    assert.equal(reply.status, 200)
    assert.deepEqual(events.attempts.map((a) => a.stack), ['strict', 'renegotiation'], 'the legacy entry was not used')
    assert.ok(warned.lines.some((l) => /ignoring the cached policy/.test(l.msg ?? '')))
  })
})

describe('what an agent learned stays readable after close() and destroy(), in every store', () => {
  let iis: TestServer
  let redis: RedisServer
  let dir: string
  before(async () => {
    iis = await startIisLike()
    redis = await startRedis()
    dir = await mkdtemp(join(tmpdir(), 'tls-fallback-closed-'))
  })
  after(async () => {
    await iis.close()
    await redis.close()
    await rm(dir, { recursive: true, force: true })
  })

  const stores: Array<[string, (name: string) => Promise<PolicyCache>]> = [
    ['MemoryPolicyCache', async () => new MemoryPolicyCache()],
    ['FilePolicyCache', async (name) => new FilePolicyCache({ path: join(dir, `${name}.json`), writeDelay: 0 })],
    ['RedisPolicyCache', async (name) => {
      const store = new RedisPolicyCache({ url: redis.url, keyPrefix: `${name}:` })
      await store.ready
      return store
    }]
  ]
  for (const [kind, make] of stores) {
    for (const end of ['close', 'destroy'] as const) {
      test(`${kind}: learn, ${end}() the agent, close the store, read the policy back`, async () => {
        const store = await make(`${kind}-${end}`)
        const origin = `https://localhost:${iis.port}`
        const agent = makeAgent({ cache: store })
        try {
          assert.equal((await send(agent, `${origin}/secure`)).status, 200)
          const learned = agent.policy(origin)
          assert.equal(learned?.stack, 'renegotiation')
          await agent[end]()
          await store.close?.()
          assert.deepEqual(agent.policy(origin), learned)
          assert.deepEqual(agent.policies(), [learned])
          assert.deepEqual(store.entries(), [learned])
          const error = await failure(() => send(agent, `${origin}/secure`))
          assert.equal(error.code, 'UND_ERR_DESTROYED', 'only dispatch is refused')
        } finally {
          if (!agent.destroyed) await agent.destroy()
          await store.close?.()
        }
      })
    }
  }
})

describe('TTL works the same in every store', () => {
  test('an entry past its expiresAt is gone from the memory, file and Redis stores alike', async () => {
    const redis = await startRedis()
    const dir = await mkdtemp(join(tmpdir(), 'tls-fallback-ttl-'))
    const stores = [
      new MemoryPolicyCache({ ttl: 50 }),
      new FilePolicyCache({ path: join(dir, 'ttl.json'), ttl: 50 }),
      new RedisPolicyCache({ url: redis.url, keyPrefix: 'ttl:', ttl: 50 })
    ]
    try {
      for (const store of stores) {
        const now = Date.now()
        store.set('https://ttl.example.test', { ...entry('https://ttl.example.test'), learnedAt: now, expiresAt: now + store.ttl })
        assert.equal(store.get('https://ttl.example.test')?.stack, 'renegotiation', store.constructor.name)
      }
      await sleep(80)
      for (const store of stores) {
        assert.equal(store.get('https://ttl.example.test'), undefined, store.constructor.name)
        assert.equal(store.entries().length, 0, store.constructor.name)
      }
      // Redis expired the key too (PX), so a process that never saw it cannot load it.
      const fresh = new RedisPolicyCache({ url: redis.url, keyPrefix: 'ttl:' })
      assert.equal(await fresh.load('https://ttl.example.test'), undefined)
      await fresh.close()
    } finally {
      for (const store of stores) await store.close?.()
      await redis.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('RedisPolicyCache with a real redis-server', () => {
  let iis: TestServer
  let redis: RedisServer
  before(async () => {
    iis = await startIisLike()
    redis = await startRedis()
  })
  after(async () => {
    await iis.close()
    await redis.close()
  })

  test('three processes: one learns, the others\' first requests need no failed attempt (pub/sub and load on connect)', async () => {
    const url = `https://localhost:${iis.port}/secure`
    const config = { store: 'redis', url: redis.url, keyPrefix: undefined }
    const [a, b] = await Promise.all([startReplica(config), startReplica(config)])
    try {
      const learned = await a.send({ cmd: 'request', url })
      assert.deepEqual(learned.attempts, [['strict', 'initial'], ['renegotiation', 'fallback']])
      // b was already running: the policy arrives by pub/sub, within a second, without a request.
      const origin = `https://localhost:${iis.port}`
      const started = Date.now()
      await eventually(async () => (await b.send({ cmd: 'policy', origin })).policy !== null, 'condition', 1_000)
      assert.ok(Date.now() - started < 1_000)
      const fromB = await b.send({ cmd: 'request', url })
      assert.equal(fromB.status, 200)
      assert.deepEqual(fromB.attempts, [['renegotiation', 'initial']])
      // c starts after the fact: it loads the entries when it connects.
      const c = await startReplica(config)
      const fromC = await c.send({ cmd: 'request', url })
      assert.equal(fromC.status, 200)
      assert.deepEqual(fromC.attempts, [['renegotiation', 'initial']])
      // forget() on one replica removes it everywhere.
      await c.send({ cmd: 'forget', origin })
      await eventually(async () => (await a.send({ cmd: 'policy', origin })).policy === null)
      await eventually(async () => (await b.send({ cmd: 'policy', origin })).policy === null)
      await c.close()
    } finally {
      await a.close()
      await b.close()
    }
  })

  test('a replica that sends its first request while its store is still connecting gets the fleet\'s policy: the server sees one request from it, and no outage is logged', async (t) => {
    const origin = `https://localhost:${iis.port}`
    const config = { store: 'redis', url: redis.url, keyPrefix: 'fresh:' }
    const raw = await import('ioredis')
    const client = new raw.Redis(redis.url)
    const a = await startReplica(config)
    try {
      const learned = await a.send({ cmd: 'request', url: `${origin}/secure/learn` })
      assert.deepEqual(learned.attempts, [['strict', 'initial'], ['renegotiation', 'fallback']])
      await eventually(async () => (await client.get(`fresh:policy:${origin}`)) !== null)

      // A new process: its first request is dispatched in the tick that constructed the store. The
      // bound is generous so that a loaded machine cannot turn this into a timing test; the default
      // (250 ms) bounds the same wait.
      const path = '/secure/first-request-of-a-new-replica'
      const b = await startReplica({ ...config, loadTimeout: 10_000, first: `${origin}${path}` })
      try {
        const first = b.started.first
        t.diagnostic(`the first request waited ${String(first.waitedMs)} ms for the store`)
        assert.equal(first.status, 200)
        assert.deepEqual(first.attempts, [['renegotiation', 'initial']], 'it went straight to the learned stack')
        assert.deepEqual(iis.stats.requests.filter((r) => r === `GET ${path}`), [`GET ${path}`], 'exactly one request reached the server')
        const { warnings } = await b.send({ cmd: 'warnings' })
        assert.deepEqual(warnings, [], 'a store that is connecting is not unreachable')
      } finally {
        await b.close()
      }
    } finally {
      client.disconnect()
      await a.close()
    }
  })

  test('a policy learned before the connection is ready is written once it is, with no outage warning', async (t) => {
    const { logger, lines } = memoryLogger()
    const store = new RedisPolicyCache({ url: redis.url, keyPrefix: 'early:', logger })
    const origin = 'https://early.example.test'
    store.set(origin, entry(origin))
    const other = new RedisPolicyCache({ url: redis.url, keyPrefix: 'early:' })
    t.after(async () => { await other.close(); await store.close() })
    await eventually(async () => (await other.load(origin)) !== undefined)
    assert.equal(other.get(origin)?.stack, 'renegotiation')
    assert.deepEqual(lines.filter((l) => l.level === 'warn'), [])
  })

  test('a store that never finishes connecting holds the first request at most loadTimeout, then it goes on as unknown', async () => {
    // A TCP server that accepts and never answers: ioredis stays connecting (its ready check waits).
    const sockets = new Set<net.Socket>()
    const silent = net.createServer((s) => { sockets.add(s) })
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const { logger, lines } = memoryLogger()
    const store = new RedisPolicyCache({ url: `redis://127.0.0.1:${(silent.address() as net.AddressInfo).port}`, loadTimeout: 100, logger })
    const origin = `https://localhost:${iis.port}`
    const events = record(origin)
    const agent = makeAgent({ cache: store, logger })
    try {
      assert.equal(await store.load('https://unknown.example.test'), undefined)
      const reply = await send(agent, `${origin}/secure`)
      assert.equal(reply.status, 200)
      assert.deepEqual(events.attempts.map((a) => a.stack), ['strict', 'renegotiation'], 'unknown: the strict stack first')
      assert.equal(agent.policy(origin)?.stack, 'renegotiation', 'learned in memory')
      assert.ok(!lines.some((l) => /unreachable/.test(l.msg ?? '')), 'still connecting, not unreachable')
    } finally {
      events.stop()
      await agent.close()
      await store.close()
      for (const s of sockets) s.destroy()
      silent.close()
    }
  })

  test('a Redis that refuses the connection at start is unreachable: a warning, and the first request does not wait for loadTimeout', async (t) => {
    const { logger, lines } = memoryLogger()
    const port = await freePort()
    const store = new RedisPolicyCache({ url: `redis://127.0.0.1:${port}`, loadTimeout: 60_000, logger })
    t.after(async () => { await store.close() })
    // With a 60 s bound, only the outage can end this wait before the 30 s guard.
    const loaded = store.load('https://unknown.example.test')
    const guard = sleep(30_000, 'still waiting', { ref: false })
    assert.equal(await Promise.race([loaded, guard]), undefined)
    assert.ok(lines.some((l) => l.level === 'warn' && /unreachable/.test(l.msg ?? '')))
  })

  test('a poisoned value in Redis is ignored with a warning', async () => {
    const origin = 'https://poisoned.example.test'
    const writer = new RedisPolicyCache({ url: redis.url, keyPrefix: 'poison:' })
    await writer.ready
    // Bypass validation: a value that claims a stack nobody allowed, and one that is not JSON.
    const raw = await import('ioredis')
    const client = new raw.Redis(redis.url)
    await client.set('poison:policy:' + origin, JSON.stringify({ ...entry(origin), stack: 'chaos' }))
    await client.set('poison:policy:https://junk.example.test', '{{{')
    const { logger, lines } = memoryLogger()
    const reader = new RedisPolicyCache({ url: redis.url, keyPrefix: 'poison:', logger })
    await reader.ready
    assert.equal(reader.get(origin), undefined)
    assert.equal(await reader.load('https://junk.example.test'), undefined)
    assert.ok(lines.filter((l) => l.level === 'warn').length >= 2)
    client.disconnect()
    await writer.close()
    await reader.close()
  })

  test('Redis killed mid-run: requests keep working on memory, a warning is logged, and the store catches up when Redis returns', async () => {
    const { logger, lines } = memoryLogger()
    const store = new RedisPolicyCache({ url: redis.url, keyPrefix: 'crash:', logger })
    await store.ready
    const agent = makeAgent({ cache: store, logger })
    const origin = `https://localhost:${iis.port}`
    try {
      assert.equal((await send(agent, `${origin}/`)).status, 200)
      await redis.kill()
      const learned = await send(agent, `${origin}/secure`)
      assert.equal(learned.status, 200)
      assert.equal(agent.policy(origin)?.stack, 'renegotiation', 'learned in memory while Redis is down')
      const events = record(origin)
      assert.equal((await send(agent, `${origin}/secure`)).status, 200)
      assert.deepEqual(events.attempts.map((a) => a.stack), ['renegotiation'])
      events.stop()
      await eventually(async () => lines.some((l) => l.level === 'warn' && /unreachable/.test(l.msg ?? '')))

      await redis.restart()
      const other = new RedisPolicyCache({ url: redis.url, keyPrefix: 'crash:' })
      await other.ready
      // The entry learned during the outage reaches Redis after the reconnection.
      await eventually(async () => (await other.load(origin)) !== undefined, 'condition', 8_000)
      assert.equal(other.get(origin)?.stack, 'renegotiation')
      await other.close()
    } finally {
      await agent.close()
      await store.close()
    }
  })
})
