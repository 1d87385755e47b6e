import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { startOnPath } from './servers/onpath.ts'
import { failure, makeAgent, memoryLogger, record, send } from './helpers.ts'

describe('an on-path box between the client and a modern TLS 1.2 server', () => {
  test('a bare RST after the handshake matches no fingerprint: the GET is retried once on the strict stack, then the caller gets ECONNRESET', async () => {
    const box = await startOnPath('rst')
    const origin = `https://localhost:${box.port}`
    const events = record(origin)
    const agent = makeAgent()
    try {
      const error = await failure(() => send(agent, `${origin}/`))
      assert.equal(error.code, 'ECONNRESET')
      assert.equal(error.name, 'Error', 'the original error, not a TlsFallbackError')
      assert.deepEqual(events.attempts.map((a) => [a.stack, a.reason]), [['strict', 'initial'], ['strict', 'retry']])
      assert.equal(events.diagnoses.length, 0)
      assert.equal(agent.policy(origin), undefined)
      assert.equal(box.attacked, 2)
    } finally {
      events.stop()
      await agent.close()
      await box.close()
    }
  })

  test('a POST whose connection is reset is never sent twice', async () => {
    const box = await startOnPath('rst')
    const origin = `https://localhost:${box.port}`
    const agent = makeAgent()
    try {
      const error = await failure(() => send(agent, `${origin}/pay`, { method: 'POST', body: 'once' }))
      assert.equal(error.code, 'ECONNRESET')
      assert.equal(box.server.requests.filter((r) => r.path === '/pay').length, 1, 'the server saw the POST exactly once')
    } finally {
      await agent.close()
      await box.close()
    }
  })

  test('a forged HelloRequest-sized record followed by an RST moves no policy', async () => {
    const box = await startOnPath('forged-record')
    const origin = `https://localhost:${box.port}`
    const events = record(origin)
    const agent = makeAgent()
    try {
      for (let i = 0; i < 5; i++) {
        const error = await failure(() => send(agent, `${origin}/`))
        assert.ok(['ECONNRESET', 'ERR_SSL_CIPHER_OPERATION_FAILED'].includes(error.code ?? ''), String(error.code))
      }
      assert.equal(events.fallbacks.length, 0)
      assert.equal(events.diagnoses.length, 0)
      assert.equal(agent.policy(origin), undefined)
      assert.ok(events.attempts.every((a) => a.stack === 'strict'))
    } finally {
      events.stop()
      await agent.close()
      await box.close()
    }
  })

  test('junk bytes after the handshake move no policy and reach the caller with their own code', async () => {
    const box = await startOnPath('junk')
    const origin = `https://localhost:${box.port}`
    const events = record(origin)
    const agent = makeAgent()
    try {
      const error = await failure(() => send(agent, `${origin}/`))
      assert.notEqual(error.code, undefined)
      assert.ok(!String(error.code).startsWith('TLS_FALLBACK_'))
      assert.equal(events.fallbacks.length, 0)
      assert.equal(agent.policy(origin), undefined)
    } finally {
      events.stop()
      await agent.close()
      await box.close()
    }
  })

  test('100 connections reset after the handshake: 0 policy transitions', async () => {
    const box = await startOnPath('rst')
    const origin = `https://localhost:${box.port}`
    const events = record(origin)
    const agent = makeAgent({ resetRetries: 0, logger: memoryLogger().logger })
    try {
      const results = await Promise.allSettled(Array.from({ length: 100 }, (_, i) => send(agent, `${origin}/${i}`)))
      assert.equal(results.filter((r) => r.status === 'rejected').length, 100)
      assert.ok(results.every((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'ECONNRESET'))
      assert.equal(box.attacked, 100)
      assert.equal(events.fallbacks.length, 0)
      assert.equal(events.diagnoses.length, 0)
      assert.equal(agent.policies().length, 0)
    } finally {
      events.stop()
      await agent.close()
      await box.close()
    }
  })
})
