import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import { startIisLike, type TestServer } from './servers/iis.ts'
import { clientCert, failure, makeAgent, memoryLogger, record, send } from './helpers.ts'

describe('an IIS-like server that resets when its renegotiation is refused', () => {
  let iis: TestServer
  before(async () => { iis = await startIisLike({ onRefused: 'reset' }) })
  after(async () => { await iis.close() })

  test('moves the origin to the renegotiation stack with verified evidence and answers the same call', async () => {
    const origin = `https://localhost:${iis.port}`
    const events = record(origin)
    const { logger } = memoryLogger()
    const agent = makeAgent({ logger })
    const before = iis.stats.requests.length
    try {
      const home = await send(agent, `${origin}/`)
      assert.equal(home.status, 200)
      assert.equal(agent.policy(origin), undefined, 'a path that does not renegotiate moves nothing')

      const reply = await send(agent, `${origin}/secure/report`)
      assert.equal(reply.status, 200)
      assert.equal(reply.json().renegotiated, true)

      const entry = agent.policy(origin)
      assert.ok(entry)
      assert.equal(entry.stack, 'renegotiation')
      assert.equal(entry.fingerprint, 'renegotiation-refused')
      assert.equal(entry.evidence.verified, true)
      assert.equal(entry.evidence.errorCode, 'ECONNRESET')
      assert.equal(entry.evidence.plaintextReceived, 0)
      assert.deepEqual(entry.evidence.records, { helloRequests: 1, serverAlerts: 0, clientAlerts: 1 })
      assert.ok(entry.expiresAt > entry.learnedAt)

      assert.deepEqual(events.attempts.map((a) => [a.path, a.stack, a.reason]), [
        ['/', 'strict', 'initial'],
        ['/secure/report', 'strict', 'initial'],
        ['/secure/report', 'renegotiation', 'fallback']
      ])
      assert.equal(events.diagnoses.length, 1)
      assert.equal(events.diagnoses[0]?.fingerprint, 'renegotiation-refused')
      assert.equal(events.fallbacks.length, 1)
      assert.deepEqual(
        [events.fallbacks[0]?.from, events.fallbacks[0]?.to, events.fallbacks[0]?.fingerprint],
        ['strict', 'renegotiation', 'renegotiation-refused'])
      // The server saw the failed request once and the replay once.
      assert.deepEqual(iis.stats.requests.slice(before), ['GET /', 'GET /secure/report', 'GET /secure/report'])

      // Later requests go straight to the learned stack: no failed attempt.
      const later = record(origin)
      const again = await send(agent, `${origin}/secure/again`)
      assert.equal(again.status, 200)
      assert.deepEqual(later.attempts.map((a) => [a.stack, a.reason]), [['renegotiation', 'initial']])
      assert.equal(later.diagnoses.length, 0)
      later.stop()
    } finally {
      events.stop()
      await agent.close()
    }
  })

  test('replays a POST with a string body and a stream body after a refused renegotiation, each exactly once', async () => {
    const origin = `https://localhost:${iis.port}`
    const agent = makeAgent({ logger: memoryLogger().logger })
    try {
      const before = iis.stats.bodies.length
      const buffered = await send(agent, `${origin}/secure/upload`, { method: 'POST', body: 'a buffered body' })
      assert.equal(buffered.status, 200)
      assert.equal(buffered.json().bodyLength, 'a buffered body'.length)
      agent.forget(origin)
      const streamed = await send(agent, `${origin}/secure/upload`, { method: 'POST', body: Readable.from([Buffer.from('chunk one,'), Buffer.from('chunk two')]) })
      assert.equal(streamed.status, 200)
      assert.equal(streamed.json().bodyLength, 'chunk one,chunk two'.length)
      // Each body was answered once: the refused attempts never produced a response.
      assert.equal(iis.stats.bodies.length - before, 2)
    } finally {
      await agent.close()
    }
  })

  test('a stream body larger than maxReplayBodySize fails with TLS_FALLBACK_BODY_NOT_REPLAYABLE, yet the policy is learned', async () => {
    const origin = `https://localhost:${iis.port}`
    const events = record(origin)
    const agent = makeAgent({ maxReplayBodySize: 1024, logger: memoryLogger().logger })
    try {
      const big = Readable.from([Buffer.alloc(800, 1), Buffer.alloc(800, 2)])
      const error = await failure(() => send(agent, `${origin}/secure/big`, { method: 'POST', body: big }))
      assert.equal(error.code, 'TLS_FALLBACK_BODY_NOT_REPLAYABLE')
      assert.equal(error.cause?.code, 'ECONNRESET')
      assert.equal(agent.policy(origin)?.stack, 'renegotiation')
      assert.equal(events.fallbacks.length, 1)

      const next = await send(agent, `${origin}/secure/big`, { method: 'POST', body: Readable.from([Buffer.alloc(800, 1), Buffer.alloc(800, 2)]) })
      assert.equal(next.status, 200)
      assert.equal(next.json().bodyLength, 1600)
      assert.deepEqual(events.attempts.slice(-1).map((a) => [a.stack, a.attempt]), [['renegotiation', 1]])
    } finally {
      events.stop()
      await agent.close()
    }
  })

  test('fallback: [] never falls back and names the config that would allow it', async () => {
    const origin = `https://localhost:${iis.port}`
    const agent = makeAgent({ hosts: { localhost: { fallback: [] } } })
    try {
      const error = await failure(() => send(agent, `${origin}/secure`))
      assert.equal(error.code, 'TLS_FALLBACK_NOT_ALLOWED')
      assert.match(error.message, /renegotiation-refused/)
      assert.match(error.message, /hosts\['localhost'\]\.fallback does not allow it for localhost/)
      assert.match(error.message, /hosts: \{ 'localhost': \{ fallback: \['renegotiation'\] \} \}/)
      assert.equal(error.cause?.code, 'ECONNRESET')
      assert.equal(agent.policy(origin), undefined)
    } finally {
      await agent.close()
    }
  })

  test('a host pinned to the renegotiation stack never makes a strict attempt', async () => {
    const origin = `https://localhost:${iis.port}`
    const events = record(origin)
    const agent = makeAgent({ hosts: { [`localhost:${iis.port}`]: { stack: 'renegotiation', clientCert } } })
    try {
      const reply = await send(agent, `${origin}/secure`)
      assert.equal(reply.status, 200)
      assert.deepEqual(events.attempts.map((a) => a.stack), ['renegotiation'])
      assert.equal(agent.policy(origin), undefined, 'a pinned host needs no policy entry')
    } finally {
      events.stop()
      await agent.close()
    }
  })

  test('a cold burst of 50 concurrent requests gives one diagnosis, one transition and 50 answers', async () => {
    const origin = `https://localhost:${iis.port}`
    const events = record(origin)
    const agent = makeAgent({ logger: memoryLogger().logger })
    try {
      const before = iis.stats.refused
      const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => send(agent, `${origin}/secure/burst/${i}`)))
      assert.equal(replies.filter((r) => r.status === 200).length, 50)
      assert.equal(events.diagnoses.length, 1)
      assert.equal(events.fallbacks.length, 1)
      assert.equal(iis.stats.refused - before, 1, 'one strict attempt was refused')
      assert.equal(events.attempts.filter((a) => a.stack === 'strict').length, 1)
    } finally {
      events.stop()
      await agent.close()
    }
  })
})

describe('an Apache-like server that closes when its renegotiation is refused', () => {
  let server: TestServer
  before(async () => { server = await startIisLike({ onRefused: 'close' }) })
  after(async () => { await server.close() })

  test('"other side closed" after a HelloRequest is diagnosed and the request is answered on the renegotiation stack', async () => {
    const origin = `https://localhost:${server.port}`
    const events = record(origin)
    const agent = makeAgent({ logger: memoryLogger().logger })
    try {
      const reply = await send(agent, `${origin}/secure`)
      assert.equal(reply.status, 200)
      assert.equal(events.diagnoses[0]?.error.code, 'UND_ERR_SOCKET')
      assert.equal(events.diagnoses[0]?.evidence.verified, true)
      assert.equal(agent.policy(origin)?.stack, 'renegotiation')
    } finally {
      events.stop()
      await agent.close()
    }
  })
})

describe('a cipher suite whose record lengths cannot be decoded (CBC)', () => {
  let server: TestServer
  before(async () => { server = await startIisLike({ ciphers: 'ECDHE-RSA-AES128-SHA' }) })
  after(async () => { await server.close() })

  test('unverified evidence: a POST is not replayed, an idempotent GET is, and the policy moves only once a renegotiation is seen', async () => {
    const origin = `https://localhost:${server.port}`
    const events = record(origin)
    const agent = makeAgent({ logger: memoryLogger().logger })
    try {
      const error = await failure(() => send(agent, `${origin}/secure`, { method: 'POST', body: 'x' }))
      assert.equal(error.code, 'ECONNRESET', 'the original error, untouched')
      assert.equal(agent.policy(origin), undefined)
      assert.equal(events.diagnoses[0]?.evidence.verified, false)

      const reply = await send(agent, `${origin}/secure`)
      assert.equal(reply.status, 200)
      assert.equal(agent.policy(origin)?.stack, 'renegotiation')
      assert.equal(events.fallbacks.length, 1)
    } finally {
      events.stop()
      await agent.close()
    }
  })
})

describe('a server that still refuses after renegotiating', () => {
  test('with a client certificate: TLS_FALLBACK_EXHAUSTED lists every attempt; without one: TLS_FALLBACK_CLIENT_CERTIFICATE_REQUIRED', async () => {
    const server = await startIisLike({ refuseAfterRenegotiation: true })
    const origin = `https://localhost:${server.port}`
    const withCert = makeAgent({ hosts: { localhost: { clientCert } }, logger: memoryLogger().logger })
    const withoutCert = makeAgent({ logger: memoryLogger().logger })
    try {
      const exhausted = await failure(() => send(withCert, `${origin}/secure`))
      assert.equal(exhausted.code, 'TLS_FALLBACK_EXHAUSTED')
      assert.equal(exhausted.fingerprint, 'renegotiation-refused')
      assert.deepEqual(exhausted.attempts.map((a: { stack: string, code: string }) => [a.stack, a.code]), [['strict', 'ECONNRESET'], ['renegotiation', 'ECONNRESET']])
      assert.match(exhausted.message, /every stack allowed for this host that could address it failed \(strict: ECONNRESET \(renegotiation-refused\); renegotiation: ECONNRESET\)/)
      assert.equal(withCert.policy(origin), undefined, 'nothing worked: nothing learned')

      const required = await failure(() => send(withoutCert, `${origin}/secure`))
      assert.equal(required.code, 'TLS_FALLBACK_CLIENT_CERTIFICATE_REQUIRED')
      assert.equal(withoutCert.policy(origin), undefined)
    } finally {
      await withCert.close()
      await withoutCert.close()
      await server.close()
    }
  })
})
