import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { startIisLike } from './servers/iis.ts'
import { startModern } from './servers/modern.ts'
import { makeAgent, memoryLogger, record, send } from './helpers.ts'

for (const refusal of ['rst', 'goaway'] as const) {
  describe(`an h2 server that refuses /secure with HTTP_1_1_REQUIRED by ${refusal === 'rst' ? 'RST_STREAM' : 'GOAWAY'}, then renegotiates over HTTP/1.1`, () => {
    test('one call, one answer: h2 refused, HTTP/1.1 strict refused, HTTP/1.1 on the renegotiation stack; both transitions reported', async () => {
      const server = await startIisLike({ h2: refusal })
      const origin = `https://localhost:${server.port}`
      const events = record(origin)
      const agent = makeAgent({ logger: memoryLogger().logger })
      try {
        const home = await send(agent, `${origin}/`)
        assert.equal(home.json().httpVersion, '2.0', 'the origin speaks HTTP/2 where it can')

        const reply = await send(agent, `${origin}/secure/report`, { method: 'POST', body: 'payload' })
        assert.equal(reply.status, 200)
        assert.equal(reply.json().httpVersion, '1.1')
        assert.equal(reply.json().renegotiated, true)
        assert.equal(reply.json().bodyLength, 7)

        assert.deepEqual(events.attempts.map((a) => [a.path, a.stack, a.http1Only]), [
          ['/', 'strict', false],
          ['/secure/report', 'strict', false],
          ['/secure/report', 'strict', true],
          ['/secure/report', 'renegotiation', true]
        ])
        assert.deepEqual(events.diagnoses.map((d) => d.fingerprint), ['http11-required', 'renegotiation-refused'])
        assert.deepEqual(events.fallbacks.map((f) => [f.fingerprint, f.from, f.to, f.http1Only]), [
          ['http11-required', 'strict', 'strict', true],
          ['renegotiation-refused', 'strict', 'renegotiation', true]
        ])
        const entry = agent.policy(origin)
        assert.equal(entry?.stack, 'renegotiation')
        assert.equal(entry?.http1Only, true)

        // The origin moved whole: every later request goes straight to HTTP/1.1 on that stack.
        const later = record(origin)
        const again = await send(agent, `${origin}/`)
        assert.equal(again.json().httpVersion, '1.1')
        assert.deepEqual(later.attempts.map((a) => [a.stack, a.http1Only, a.reason]), [['renegotiation', true, 'initial']])
        later.stop()
        assert.equal(server.stats.requests.filter((r) => r.startsWith('POST /secure/report')).length, 3, 'h2 refused, h1 strict refused, h1 answered')
      } finally {
        events.stop()
        await agent.close()
        await server.close()
      }
    })
  })
}

describe('HTTP/2 settings', () => {
  test('an origin that works over h2 stays on h2: no diagnosis, no policy', async () => {
    const server = await startModern({ h2: true })
    const origin = `https://localhost:${server.port}`
    const events = record(origin)
    const agent = makeAgent()
    try {
      for (let i = 0; i < 5; i++) {
        const reply = await send(agent, `${origin}/secure/${i}`)
        assert.equal(reply.json().httpVersion, '2.0')
      }
      assert.equal(events.diagnoses.length, 0)
      assert.equal(agent.policy(origin), undefined)
      assert.ok(server.requests.every((r) => r.httpVersion === '2.0'))
    } finally {
      events.stop()
      await agent.close()
      await server.close()
    }
  })

  test('a host pinned with http1Only never offers h2', async () => {
    const server = await startModern({ h2: true })
    const origin = `https://localhost:${server.port}`
    const agent = makeAgent({ hosts: { localhost: { http1Only: true } } })
    try {
      const reply = await send(agent, `${origin}/`)
      assert.equal(reply.json().httpVersion, '1.1')
    } finally {
      await agent.close()
      await server.close()
    }
  })

  test('allowH2: false turns all of this off: HTTP/1.1 from the start, no http11-required', async () => {
    const server = await startIisLike({ h2: 'rst' })
    const origin = `https://localhost:${server.port}`
    const events = record(origin)
    const agent = makeAgent({ allowH2: false, logger: memoryLogger().logger })
    try {
      const reply = await send(agent, `${origin}/secure`)
      assert.equal(reply.json().httpVersion, '1.1')
      assert.deepEqual(events.diagnoses.map((d) => d.fingerprint), ['renegotiation-refused'])
      assert.equal(agent.policy(origin)?.http1Only, undefined)
    } finally {
      events.stop()
      await agent.close()
      await server.close()
    }
  })
})
