import { after, before, beforeEach, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FilePolicyCache, MemoryPolicyCache, RedisPolicyCache } from '../src/index.ts'
import { INTERMEDIATE_CHANNEL, type IntermediateFetchEvent } from '../src/certs/aia.ts'
import { acceptStored, intermediateKey, MAX_STORED_BYTES } from '../src/certs/stored-intermediates.ts'
import { failure, memoryLogger, send } from './helpers.ts'
import { AIA_QUERY, allowLoopback, startAiaWorld, using, type AiaWorld } from './helpers/aia.ts'
import { eventually, policyEntry } from './helpers/stores.ts'
import { startRedis, type RedisServer } from './servers/redis.ts'

/**
 * Fetched intermediates kept in the policy stores (issue 33), so that another process or replica
 * does not fetch them again; and what a poisoned store cannot do: make an untrusted chain verify, or
 * break the origin for good. Each agent here has its own connector, whose memory starts empty: what
 * it does not fetch, it read from the store.
 */

let world: AiaWorld
let redis: RedisServer
let dir: string
let events: IntermediateFetchEvent[] = []
const onEvent = (m: unknown): void => { events.push(m as IntermediateFetchEvent) }

before(async () => {
  [world, redis] = await Promise.all([startAiaWorld(), startRedis()])
  dir = mkdtempSync(join(tmpdir(), 'utf-aia-stores-'))
  subscribe(INTERMEDIATE_CHANNEL, onEvent)
})

after(async () => {
  unsubscribe(INTERMEDIATE_CHANNEL, onEvent)
  await Promise.all([world.close(), redis.close()])
  rmSync(dir, { recursive: true, force: true })
})

beforeEach(() => {
  events = []
  world.aia.requests.length = 0
  world.aia.mode = { body: world.i1.raw }
})

const leaf1 = (): X509Certificate => new X509Certificate(world.pki.read('l1.crt'))
const url1 = (): string => `http://127.0.0.1:${world.aia.port}/i1.cer?${AIA_QUERY}`
let files = 0
const freshFile = (): string => join(dir, `policies-${++files}.json`)

async function get (url: string, cache: object, logger?: object): Promise<number> {
  return await using(world.agent({ cache: cache as never, fetchIntermediates: allowLoopback, ...(logger === undefined ? {} : { logger: logger as never }) }),
    async (a) => (await send(a, url)).status)
}

describe('kept in the stores', () => {
  test('memory store shared by two agents: the second agent does not fetch', async () => {
    const cache = new MemoryPolicyCache()
    assert.equal(await get(`https://127.0.0.1:${world.server.port}/`, cache), 200)
    assert.equal(await get(`https://127.0.0.1:${world.server.port}/`, cache), 200)
    assert.equal(world.aia.requests.length, 1)
    assert.deepEqual(events.map((e) => e.outcome), ['fetched', 'stored'])
  })

  test('file store: a new process (a new store on the same file) reads the intermediate back and does not fetch; the file stays version 1', async () => {
    const path = freshFile()
    const first = new FilePolicyCache({ path, writeDelay: 0 })
    assert.equal(await get(`https://127.0.0.1:${world.server.port}/`, first), 200)
    await first.close()
    const data = JSON.parse(readFileSync(path, 'utf8'))
    assert.equal(data.version, 1)
    assert.deepEqual(Object.keys(data.intermediates), [intermediateKey(leaf1(), url1())])
    const second = new FilePolicyCache({ path })
    assert.equal(await get(`https://127.0.0.1:${world.server.port}/`, second), 200)
    await second.close()
    assert.equal(world.aia.requests.length, 1, 'fetched once, by the first process')
    assert.deepEqual(events.map((e) => e.outcome), ['fetched', 'stored'])
  })

  test('file store: a file with intermediates keeps its policies readable, and a write by the store keeps both', async () => {
    const path = freshFile()
    const first = new FilePolicyCache({ path, writeDelay: 0 })
    await get(`https://127.0.0.1:${world.server.port}/`, first)
    await first.close()
    const second = new FilePolicyCache({ path, writeDelay: 0 })
    second.set('https://a.example', policyEntry('https://a.example'))
    await second.close()
    const data = JSON.parse(readFileSync(path, 'utf8'))
    assert.deepEqual(Object.keys(data.entries), ['https://a.example'])
    assert.equal(Object.keys(data.intermediates).length, 1)
  })

  test('Redis: another replica reads the intermediate back and does not fetch; the key expires with the store\'s TTL', async () => {
    const a = new RedisPolicyCache({ url: redis.url, keyPrefix: 'aia1:' })
    const b = new RedisPolicyCache({ url: redis.url, keyPrefix: 'aia1:', ttl: 60_000 })
    await Promise.all([a.ready, b.ready])
    const raw = await import('ioredis')
    const client = new raw.Redis(redis.url)
    try {
      assert.equal(await get(`https://127.0.0.1:${world.server.port}/`, a), 200)
      const key = `aia1:intermediates:${intermediateKey(leaf1(), url1())}`
      await eventually(async () => (await client.get(key)) !== null, 'the intermediate in Redis')
      const ttl = await client.pttl(key)
      assert.ok(ttl > 0 && ttl <= 6 * 60 * 60 * 1000, `expires with the store's TTL (${ttl} ms)`)
      assert.equal(await get(`https://127.0.0.1:${world.server.port}/`, b), 200)
      assert.equal(world.aia.requests.length, 1)
      assert.deepEqual(events.map((e) => e.outcome), ['fetched', 'stored'])
    } finally {
      await Promise.all([a.close(), b.close(), client.quit()])
    }
  })
})

describe('a poisoned store', () => {
  /** Values an attacker who can write to the store might leave for i1's key. */
  const poisons = (): Array<[string, string]> => [
    ['garbage', 'not a certificate at all'],
    ['an intermediate of another root (did not issue the leaf)', world.i2.toString()],
    ['i1 cross-signed by the untrusted root (issued the leaf, chains to r2)', world.i1ByR2.toString()],
    ['a huge value', `${world.i1.toString()}${'A'.repeat(MAX_STORED_BYTES)}`],
    ['the leaf itself (not a CA)', world.pki.read('l1.crt').toString()]
  ]

  test('acceptStored refuses each value that is not the leaf\'s issuer as a CA, bounded', () => {
    const verdicts = Object.fromEntries(poisons().map(([name, value]) => [name, acceptStored(value, leaf1())]))
    assert.deepEqual(verdicts, {
      garbage: 'no certificate',
      'an intermediate of another root (did not issue the leaf)': 'its first certificate did not issue the leaf',
      // Same subject and key as i1: it passes here, and the handshake is what refuses it (next tests).
      'i1 cross-signed by the untrusted root (issued the leaf, chains to r2)': verdicts['i1 cross-signed by the untrusted root (issued the leaf, chains to r2)'],
      'a huge value': `larger than ${MAX_STORED_BYTES} bytes`,
      'the leaf itself (not a CA)': 'a certificate that is not a CA'
    })
    assert.equal(typeof verdicts['i1 cross-signed by the untrusted root (issued the leaf, chains to r2)'], 'object')
    assert.equal(typeof acceptStored(world.i1.toString(), leaf1()), 'object')
  })

  test('acceptStored refuses a value of 9 CA certificates (more than 8), rather than cutting it to 8', () => {
    const nine = Array.from({ length: 9 }, () => world.i1.toString()).join('\n')
    assert.equal(acceptStored(nine, leaf1()), 'more than 8 certificates')
    const eight = acceptStored(Array.from({ length: 8 }, () => world.i1.toString()).join('\n'), leaf1())
    assert.equal(typeof eight === 'object' ? eight.pem.length : eight, 8)
  })

  test('acceptStored on 64 KiB of PEM markers (a poisoned store): refused in linear time', () => {
    const cases = ['-----BEGIN A-----', '-----BEGIN CERTIFICATE-----', '-----BEGIN CERTIFICATE-----!-----END CERTIFICATE-----']
    for (const unit of cases) {
      const text = unit.repeat(Math.floor(MAX_STORED_BYTES / unit.length))
      const started = performance.now()
      assert.equal(acceptStored(text, leaf1()), 'no certificate', unit)
      const elapsed = performance.now() - started
      assert.ok(elapsed < 50, `${unit}: ${elapsed.toFixed(1)} ms (on main: about 380 ms for the first)`)
    }
  })

  for (const index of [0, 1, 2, 3, 4]) {
    test(`file store holding ${['garbage', 'another root\'s intermediate', 'i1 cross-signed by the untrusted root', 'a huge value', 'the leaf'][index]}: the handshake verifies strictly after a fresh fetch, and the file gets the real intermediate`, async () => {
      const [name, value] = poisons()[index] as [string, string]
      const path = freshFile()
      const key = intermediateKey(leaf1(), url1())
      writeFileSync(path, JSON.stringify({ version: 1, entries: {}, intermediates: { [key]: { pem: value, expiresAt: Date.now() + 60_000 } } }))
      const cache = new FilePolicyCache({ path, writeDelay: 0, logger: memoryLogger().logger })
      const { logger, lines } = memoryLogger()
      assert.equal(await get(`https://127.0.0.1:${world.server.port}/`, cache, logger), 200, name)
      await cache.close()
      assert.equal(world.aia.requests.length, 1, 'fetched afresh')
      const stored = JSON.parse(readFileSync(path, 'utf8')).intermediates[key].pem as string
      assert.equal(new X509Certificate(stored).fingerprint256, world.i1.fingerprint256, 'the bad value was replaced')
      const outcomes = events.map((e) => e.outcome)
      // What the file refused at read never reaches the agent; what it kept, the agent refused or the handshake did.
      assert.equal(outcomes.at(-1), 'fetched', outcomes.join())
      if (index === 2) assert.deepEqual(outcomes, ['stored', 'fetched'])
      if (index === 0 || index === 1 || index === 4) assert.ok(lines.some((l) => l.level === 'warn' && l.obj.event === 'intermediate-store'), 'the refusal is logged')
      // A second agent on the repaired file: no fetch.
      world.aia.requests.length = 0
      const again = new FilePolicyCache({ path })
      assert.equal(await get(`https://127.0.0.1:${world.server.port}/`, again), 200)
      await again.close()
      assert.equal(world.aia.requests.length, 0)
    })
  }

  test('Redis holding i1 cross-signed by the untrusted root, then a huge value: verified after a fresh fetch each time, and the key replaced', async () => {
    const raw = await import('ioredis')
    const client = new raw.Redis(redis.url)
    const key = `aia2:intermediates:${intermediateKey(leaf1(), url1())}`
    try {
      for (const value of [world.i1ByR2.toString(), 'B'.repeat(4 * 1024 * 1024)]) {
        events = []
        world.aia.requests.length = 0
        await client.set(key, value, 'PX', 60_000)
        const cache = new RedisPolicyCache({ url: redis.url, keyPrefix: 'aia2:' })
        await cache.ready
        try {
          assert.equal(await get(`https://127.0.0.1:${world.server.port}/`, cache), 200)
        } finally {
          await cache.close()
        }
        assert.equal(world.aia.requests.length, 1)
        assert.equal(events.at(-1)?.outcome, 'fetched')
        await eventually(async () => (await client.get(key)) === world.i1.toString(), 'the key replaced by the fetched intermediate')
      }
    } finally {
      await client.quit()
    }
  })

  test('a store cannot make an untrusted chain verify: i2 stored for a leaf under the untrusted root still fails, as fetched', async () => {
    const path = freshFile()
    const leaf2 = new X509Certificate(world.pki.read('l2.crt'))
    const url2 = `http://127.0.0.1:${world.aia.port}/i2.cer`
    writeFileSync(path, JSON.stringify({ version: 1, entries: {}, intermediates: { [intermediateKey(leaf2, url2)]: { pem: world.i2.toString(), expiresAt: Date.now() + 60_000 } } }))
    world.aia.mode = { body: world.i2.raw }
    const cache = new FilePolicyCache({ path, writeDelay: 0 })
    const error = await using(world.agent({ cache, fetchIntermediates: allowLoopback }), async (a) => await failure(async () => await send(a, `https://127.0.0.1:${world.foreign.port}/`)))
    await cache.close()
    assert.equal(error.code, 'UNABLE_TO_GET_ISSUER_CERT')
    assert.deepEqual(events.map((e) => e.outcome), ['stored', 'fetched'], 'the stored value failed, a fresh fetch was tried once, then the error')
  })

  test('a custom store that never answers, or throws, or returns an object: the fetch goes on after the fetch timeout at most, and the handshake verifies', async () => {
    const stores = [
      { ttl: 60_000, get: () => undefined, set: () => {}, delete: () => {}, entries: () => [], loadIntermediates: async () => await new Promise<string>(() => {}), saveIntermediates: () => { throw new Error('full') } },
      { ttl: 60_000, get: () => undefined, set: () => {}, delete: () => {}, entries: () => [], loadIntermediates: async () => { throw new Error('down') }, saveIntermediates: () => {} },
      { ttl: 60_000, get: () => undefined, set: () => {}, delete: () => {}, entries: () => [], loadIntermediates: async () => ({ toString: () => world.i1.toString() }) as never, saveIntermediates: () => {} }
    ]
    for (const cache of stores) {
      events = []
      world.aia.requests.length = 0
      const status = await using(world.agent({ cache: cache as never, fetchIntermediates: { ...allowLoopback, timeout: 500 } }),
        async (a) => (await send(a, `https://127.0.0.1:${world.server.port}/`)).status)
      assert.equal(status, 200)
      assert.deepEqual(events.map((e) => e.outcome), ['fetched'])
    }
  })
})
