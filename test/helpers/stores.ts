import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { after, before } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import type { PolicyEntry } from '../../src/index.ts'
import { startRedis, type RedisServer } from '../servers/redis.ts'

/**
 * A policy entry as the agent learns it from the IIS-like server: renegotiation refused, verified.
 * Each file's tests override what they need (the entry's fields, or the evidence's).
 */
export function policyEntry (origin: string, overrides: Partial<PolicyEntry> = {}, evidence: Partial<PolicyEntry['evidence']> = {}, ttl = 60_000): PolicyEntry {
  const now = Date.now()
  // In the order the agent writes the fields (a test compares JSON): verified and summary last.
  const { verified = true, summary = 'test', ...rest } = evidence
  return {
    origin,
    stack: 'renegotiation',
    fingerprint: 'renegotiation-refused',
    evidence: { errorCode: 'ECONNRESET', tlsVersion: 'TLSv1.2', cipher: null, bytesReceived: 33, bytesSent: 131, plaintextReceived: 0, ...rest, verified, summary },
    learnedAt: now,
    expiresAt: now + ttl,
    ...overrides
  }
}

/** Waits until check() holds, polling every 20 ms; fails after ms with what was awaited. */
export async function eventually (check: () => boolean | Promise<boolean>, what = 'condition', ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not in time: ${what}`)
    await sleep(20)
  }
}

export interface Replica {
  /** The ready line: with `first` in the config, the outcome of the request sent at start. */
  started: any
  send: (command: object) => Promise<any>
  close: () => Promise<void>
}

/** A separate process with its own agent and store (test/fixtures/store-worker.ts). */
export async function startReplica (config: object): Promise<Replica> {
  const child = spawn(process.execPath, [new URL('../fixtures/store-worker.ts', import.meta.url).pathname, JSON.stringify(config)], {
    stdio: ['pipe', 'pipe', 'inherit']
  })
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  const next = async (): Promise<any> => {
    const line = await lines.next()
    if (line.done === true) throw new Error('the replica exited')
    return JSON.parse(line.value)
  }
  const started = await next()
  assert.equal(started.ready, true)
  return {
    started,
    send: async (command) => {
      child.stdin.write(JSON.stringify(command) + '\n')
      return await next()
    },
    close: async () => {
      if (child.exitCode === null) {
        child.stdin.write(JSON.stringify({ cmd: 'close' }) + '\n')
        await next().catch(() => {})
        await new Promise((resolve) => child.once('exit', resolve))
      }
    }
  }
}

/** A suite's real redis-server: its URL, and a client of the test's own that writes keys and publishes as a peer would. */
export interface SuiteRedis {
  url: string
  raw: Redis
}

/** Starts a redis-server before the tests of the suite it is called in, and stops it after them. */
export function redisForSuite (): SuiteRedis {
  let server: RedisServer | undefined
  const redis = { url: '', raw: undefined as unknown as Redis }
  before(async () => {
    server = await startRedis()
    redis.url = server.url
    redis.raw = new Redis(server.url)
  })
  after(async () => {
    redis.raw?.disconnect()
    await server?.close()
  })
  return redis
}
