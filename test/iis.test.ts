import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import { startIisLike, type TestServer } from './servers/iis.ts'
import { clientCert, failure, makeAgent, memoryLogger, record, send } from './helpers.ts'

const EMPTY_SHA256 = createHash('sha256').update(Buffer.alloc(0)).digest('hex')

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

  test('with replayNonIdempotent (this server checks before it acts), replays a POST with a string body and a stream body after a refused renegotiation, each exactly once', async (t) => {
    const origin = `https://localhost:${iis.port}`
    const agent = makeAgent({ replayNonIdempotent: true, logger: memoryLogger().logger })
    t.after(async () => { await agent.close() })
    const before = iis.stats.bodies.length
    const buffered = await send(agent, `${origin}/secure/upload`, { method: 'POST', body: 'a buffered body' })
    assert.equal(buffered.status, 200)
    assert.equal(buffered.json().bodyLength, 'a buffered body'.length)
    agent.forget(origin)
    const streamed = await send(agent, `${origin}/secure/upload`, { method: 'POST', body: Readable.from([Buffer.from('chunk one,'), Buffer.from('chunk two')]) })
    assert.equal(streamed.status, 200)
    assert.equal(streamed.json().bodyLength, 'chunk one,chunk two'.length)
    // Each body was answered once: the refused attempts never produced a response. (The stream, of
    // unknown length, went on the renegotiation stack on a connection primed by HEAD, whose empty body is left out.)
    assert.equal(iis.stats.bodies.slice(before).filter((digest) => digest !== EMPTY_SHA256).length, 2)
  })

  test('a stream body larger than maxReplayBodySize fails with TLS_FALLBACK_BODY_NOT_REPLAYABLE (where the POST may be replayed), yet the policy is learned', async (t) => {
    const origin = `https://localhost:${iis.port}`
    const events = record(origin)
    const agent = makeAgent({ replayNonIdempotent: true, maxReplayBodySize: 1024, logger: memoryLogger().logger })
    t.after(async () => { events.stop(); await agent.close() })
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
  })

  test('fallback: [] never falls back and names the config that would allow it', async (t) => {
    const origin = `https://localhost:${iis.port}`
    const agent = makeAgent({ hosts: { localhost: { fallback: [] } } })
    t.after(async () => { await agent.close() })
    const error = await failure(() => send(agent, `${origin}/secure`))
    assert.equal(error.code, 'TLS_FALLBACK_NOT_ALLOWED')
    assert.match(error.message, /renegotiation-refused/)
    assert.match(error.message, /hosts\['localhost'\]\.fallback does not allow it for localhost/)
    assert.match(error.message, /hosts: \{ 'localhost': \{ fallback: \['renegotiation'\] \} \}/)
    assert.equal(error.cause?.code, 'ECONNRESET')
    assert.equal(agent.policy(origin), undefined)
  })

  test('a host pinned to the renegotiation stack never makes a strict attempt', async (t) => {
    const origin = `https://localhost:${iis.port}`
    const events = record(origin)
    const agent = makeAgent({ hosts: { [`localhost:${iis.port}`]: { stack: 'renegotiation', clientCert } } })
    t.after(async () => { events.stop(); await agent.close() })
    const reply = await send(agent, `${origin}/secure`)
    assert.equal(reply.status, 200)
    assert.deepEqual(events.attempts.map((a) => a.stack), ['renegotiation'])
    assert.equal(agent.policy(origin), undefined, 'a pinned host needs no policy entry')
  })

  test('a cold burst of 50 concurrent requests gives one diagnosis, one transition and 50 answers', async (t) => {
    const origin = `https://localhost:${iis.port}`
    const events = record(origin)
    const agent = makeAgent({ logger: memoryLogger().logger })
    t.after(async () => { events.stop(); await agent.close() })
    const before = iis.stats.refused
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => send(agent, `${origin}/secure/burst/${i}`)))
    assert.equal(replies.filter((r) => r.status === 200).length, 50)
    assert.equal(events.diagnoses.length, 1)
    assert.equal(events.fallbacks.length, 1)
    assert.equal(iis.stats.refused - before, 1, 'one strict attempt was refused')
    assert.equal(events.attempts.filter((a) => a.stack === 'strict').length, 1)
  })
})

describe('an Apache-like server that closes when its renegotiation is refused', () => {
  let server: TestServer
  before(async () => { server = await startIisLike({ onRefused: 'close' }) })
  after(async () => { await server.close() })

  test('"other side closed" after a HelloRequest is diagnosed and the request is answered on the renegotiation stack', async (t) => {
    const origin = `https://localhost:${server.port}`
    const events = record(origin)
    const agent = makeAgent({ logger: memoryLogger().logger })
    t.after(async () => { events.stop(); await agent.close() })
    const reply = await send(agent, `${origin}/secure`)
    assert.equal(reply.status, 200)
    assert.equal(events.diagnoses[0]?.error.code, 'UND_ERR_SOCKET')
    assert.equal(events.diagnoses[0]?.evidence.verified, true)
    assert.equal(agent.policy(origin)?.stack, 'renegotiation')
  })
})

describe('a cipher suite whose record lengths cannot be decoded (CBC)', () => {
  let server: TestServer
  before(async () => { server = await startIisLike({ ciphers: 'ECDHE-RSA-AES128-SHA' }) })
  after(async () => { await server.close() })

  test('unverified evidence: a POST is not replayed, an idempotent GET is, and the policy moves only once a renegotiation is seen', async (t) => {
    const origin = `https://localhost:${server.port}`
    const events = record(origin)
    const agent = makeAgent({ logger: memoryLogger().logger })
    t.after(async () => { events.stop(); await agent.close() })
    const error = await failure(() => send(agent, `${origin}/secure`, { method: 'POST', body: 'x' }))
    assert.equal(error.code, 'ECONNRESET', 'the original error, untouched')
    assert.equal(agent.policy(origin), undefined)
    assert.equal(events.diagnoses[0]?.evidence.verified, false)

    const reply = await send(agent, `${origin}/secure`)
    assert.equal(reply.status, 200)
    assert.equal(agent.policy(origin)?.stack, 'renegotiation')
    assert.equal(events.fallbacks.length, 1)
  })
})

describe('a server that still refuses after renegotiating', () => {
  test('with a client certificate: TLS_FALLBACK_EXHAUSTED lists every attempt; without one: TLS_FALLBACK_CLIENT_CERTIFICATE_REQUIRED', async (t) => {
    const server = await startIisLike({ refuseAfterRenegotiation: true })
    const origin = `https://localhost:${server.port}`
    const withCert = makeAgent({ hosts: { localhost: { clientCert } }, logger: memoryLogger().logger })
    const withoutCert = makeAgent({ logger: memoryLogger().logger })
    t.after(async () => { await withCert.close(); await withoutCert.close(); await server.close() })
    const exhausted = await failure(() => send(withCert, `${origin}/secure`))
    assert.equal(exhausted.code, 'TLS_FALLBACK_EXHAUSTED')
    assert.equal(exhausted.fingerprint, 'renegotiation-refused')
    assert.deepEqual(exhausted.attempts.map((a: { stack: string, code: string }) => [a.stack, a.code]), [['strict', 'ECONNRESET'], ['renegotiation', 'ECONNRESET']])
    assert.match(exhausted.message, /every stack allowed for this host that could address it failed \(strict: ECONNRESET \(renegotiation-refused\); renegotiation: ECONNRESET\)/)
    assert.equal(withCert.policy(origin), undefined, 'nothing worked: nothing learned')

    const required = await failure(() => send(withoutCert, `${origin}/secure`))
    assert.equal(required.code, 'TLS_FALLBACK_CLIENT_CERTIFICATE_REQUIRED')
    assert.equal(withoutCert.policy(origin), undefined)
  })
})

describe('a server that acts on the request, then renegotiates (ASP.NET\'s delayed client certificate)', () => {
  // Attack: the refusal is verified, yet the server already acted: a replay acts twice. From the
  // wire this looks exactly like IIS's access check, so a non-idempotent request is not sent again
  // unless the caller says the server checks before it acts, or the request is idempotent.
  let server: TestServer
  before(async () => { server = await startIisLike({ actsBeforeRenegotiation: true }) })
  after(async () => { await server.close() })

  const effectsOf = (path: string): number => server.stats.effects.filter((e) => e.endsWith(` ${path}`)).length

  test('by default a POST is not sent again: TLS_FALLBACK_NOT_REPLAYED, the policy is learned, the next POST goes straight to it; one side effect per call', async (t) => {
    const origin = `https://localhost:${server.port}`
    const events = record(origin)
    const agent = makeAgent({ logger: memoryLogger().logger })
    t.after(async () => { events.stop(); await agent.close() })
    const error = await failure(() => send(agent, `${origin}/secure/pay-1`, { method: 'POST', body: 'pay 10' }))
    assert.equal(error.code, 'TLS_FALLBACK_NOT_REPLAYED')
    assert.equal(error.name, 'TlsFallbackError')
    assert.equal(error.fingerprint, 'renegotiation-refused')
    assert.equal(error.cause?.code, 'ECONNRESET')
    assert.match(error.message, /not sent again/)
    assert.match(error.message, /The renegotiation stack was learned for this origin: the next request goes straight to it\./)
    assert.match(error.message, /replayNonIdempotent/)
    assert.deepEqual(error.attempts.map((a: { stack: string }) => a.stack), ['strict'])
    assert.equal(effectsOf('/secure/pay-1'), 1, 'the server acted once, and the POST was not sent again')
    assert.equal(agent.policy(origin)?.stack, 'renegotiation')
    assert.equal(agent.policy(origin)?.evidence.verified, true)

    const next = await send(agent, `${origin}/secure/pay-2`, { method: 'POST', body: 'pay 20' })
    assert.equal(next.status, 200)
    assert.equal(effectsOf('/secure/pay-2'), 1)
    assert.deepEqual(events.attempts.map((a) => [a.path, a.stack, a.reason]), [
      ['/secure/pay-1', 'strict', 'initial'],
      ['/secure/pay-2', 'renegotiation', 'initial']
    ])
  })

  test('PATCH is not sent again either; GET and PUT (idempotent methods) are', async () => {
    const origin = `https://localhost:${server.port}`
    for (const [method, replayed] of [['PATCH', false], ['GET', true], ['PUT', true]] as const) {
      const agent = makeAgent({ logger: memoryLogger().logger })
      const path = `/secure/method-${method}`
      try {
        if (replayed) {
          assert.equal((await send(agent, `${origin}${path}`, { method, ...(method === 'GET' ? {} : { body: 'x' }) })).status, 200, method)
          assert.equal(effectsOf(path), 2, `${method}: idempotent, replayed (the server acted on both)`)
        } else {
          assert.equal((await failure(() => send(agent, `${origin}${path}`, { method, body: 'x' }))).code, 'TLS_FALLBACK_NOT_REPLAYED', method)
          assert.equal(effectsOf(path), 1, method)
        }
        assert.equal(agent.policy(origin)?.stack, 'renegotiation', method)
      } finally {
        await agent.close()
      }
    }
  })

  test('a POST with an Idempotency-Key header, or undici\'s idempotent: true, counts as idempotent and is replayed', async () => {
    const origin = `https://localhost:${server.port}`
    const cases: Array<[string, Record<string, unknown>]> = [
      ['/secure/key-object', { headers: { 'Idempotency-Key': 'a1b2' } }],
      ['/secure/key-array', { headers: ['idempotency-key', 'c3d4'] }],
      ['/secure/flag', { idempotent: true }]
    ]
    for (const [path, extra] of cases) {
      const agent = makeAgent({ logger: memoryLogger().logger })
      try {
        const reply = await send(agent, `${origin}${path}`, { method: 'POST', body: 'once, by key', ...extra })
        assert.equal(reply.status, 200, path)
        assert.equal(reply.json().renegotiated, true, path)
      } finally {
        await agent.close()
      }
    }
  })

  test('replayNonIdempotent: true (agent or hosts[...]) restores the replay, and the server acts twice: the documented risk', async () => {
    const origin = `https://localhost:${server.port}`
    const agents = [
      ['agent', makeAgent({ replayNonIdempotent: true, logger: memoryLogger().logger })],
      ['host', makeAgent({ hosts: { localhost: { replayNonIdempotent: true } }, logger: memoryLogger().logger })]
    ] as const
    try {
      for (const [where, agent] of agents) {
        const path = `/secure/opt-in-${where}`
        const reply = await send(agent, `${origin}${path}`, { method: 'POST', body: 'twice' })
        assert.equal(reply.status, 200, where)
        assert.equal(effectsOf(path), 2, `${where}: replayed, so the server acted twice`)
      }
    } finally {
      for (const [, agent] of agents) await agent.close()
    }
  })

  test('hosts[...].replayNonIdempotent: false wins over the agent\'s true', async (t) => {
    const origin = `https://localhost:${server.port}`
    const agent = makeAgent({ replayNonIdempotent: true, hosts: { localhost: { replayNonIdempotent: false } }, logger: memoryLogger().logger })
    t.after(async () => { await agent.close() })
    const error = await failure(() => send(agent, `${origin}/secure/host-says-no`, { method: 'POST', body: 'x' }))
    assert.equal(error.code, 'TLS_FALLBACK_NOT_REPLAYED')
    assert.equal(effectsOf('/secure/host-says-no'), 1)
  })
})
