import assert from 'node:assert/strict'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { describe, test } from 'node:test'
import { startOnPath } from './servers/onpath.ts'
import { failure, makeAgent, memoryLogger, record, send } from './helpers.ts'

describe('an on-path box between the client and a modern TLS 1.2 server', () => {
  test('a bare RST after the handshake matches no fingerprint: the GET is retried once on the strict stack, then the caller gets ECONNRESET', async (t) => {
    const box = await startOnPath('rst')
    const origin = `https://localhost:${box.port}`
    const events = record(origin)
    const agent = makeAgent()
    t.after(async () => { events.stop(); await agent.close(); await box.close() })
    const error = await failure(() => send(agent, `${origin}/`))
    assert.equal(error.code, 'ECONNRESET')
    assert.equal(error.name, 'Error', 'the original error, not a TlsFallbackError')
    assert.deepEqual(events.attempts.map((a) => [a.stack, a.reason]), [['strict', 'initial'], ['strict', 'retry']])
    assert.equal(events.diagnoses.length, 0)
    assert.equal(agent.policy(origin), undefined)
    assert.equal(box.attacked, 2)
  })

  test('a POST whose connection is reset is never sent twice', async (t) => {
    const box = await startOnPath('rst')
    const origin = `https://localhost:${box.port}`
    const agent = makeAgent()
    t.after(async () => { await agent.close(); await box.close() })
    const error = await failure(() => send(agent, `${origin}/pay`, { method: 'POST', body: 'once' }))
    assert.equal(error.code, 'ECONNRESET')
    assert.equal(box.server.requests.filter((r) => r.path === '/pay').length, 1, 'the server saw the POST exactly once')
  })

  test('a forged HelloRequest-sized record followed by an RST moves no policy', async (t) => {
    const box = await startOnPath('forged-record')
    const origin = `https://localhost:${box.port}`
    const events = record(origin)
    const agent = makeAgent()
    t.after(async () => { events.stop(); await agent.close(); await box.close() })
    for (let i = 0; i < 5; i++) {
      const error = await failure(() => send(agent, `${origin}/`))
      assert.ok(['ECONNRESET', 'ERR_SSL_CIPHER_OPERATION_FAILED'].includes(error.code ?? ''), String(error.code))
    }
    assert.equal(events.fallbacks.length, 0)
    assert.equal(events.diagnoses.length, 0)
    assert.equal(agent.policy(origin), undefined)
    assert.ok(events.attempts.every((a) => a.stack === 'strict'))
  })

  test('junk bytes after the handshake move no policy and reach the caller with their own code', async (t) => {
    const box = await startOnPath('junk')
    const origin = `https://localhost:${box.port}`
    const events = record(origin)
    const agent = makeAgent()
    t.after(async () => { events.stop(); await agent.close(); await box.close() })
    const error = await failure(() => send(agent, `${origin}/`))
    assert.notEqual(error.code, undefined)
    assert.ok(!String(error.code).startsWith('TLS_FALLBACK_'))
    assert.equal(events.fallbacks.length, 0)
    assert.equal(agent.policy(origin), undefined)
  })

  test('100 connections reset after the handshake: 0 policy transitions', async (t) => {
    const box = await startOnPath('rst')
    const origin = `https://localhost:${box.port}`
    const events = record(origin)
    const agent = makeAgent({ resetRetries: 0, logger: memoryLogger().logger })
    t.after(async () => { events.stop(); await agent.close(); await box.close() })
    const results = await Promise.allSettled(Array.from({ length: 100 }, (_, i) => send(agent, `${origin}/${i}`)))
    assert.equal(results.filter((r) => r.status === 'rejected').length, 100)
    assert.ok(results.every((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'ECONNRESET'))
    assert.equal(box.attacked, 100)
    assert.equal(events.fallbacks.length, 0)
    assert.equal(events.diagnoses.length, 0)
    assert.equal(agent.policies().length, 0)
  })
})

describe('an on-path box against HTTP/1.1 pipelining (pipelining: 10, connections: 1, blocking: false)', () => {
  // Attack: a POST with two GETs pipelined behind it. The box forwards the requests, drops the
  // answers, injects 33 bytes (a record header announcing 1000 bytes and filler: the client's TLS
  // waits for the rest, no error), then resets. The POST's byte window used to be the last GET's, with
  // an earlier request's ciphertext in it and not its plaintext: the residue decoded as a client
  // alert, the evidence was "verified", the origin moved to renegotiation and the POST was replayed.
  test('no verified evidence from a window shared by pipelined requests: no policy moves, and the POST reaches the server once even with replayNonIdempotent', async () => {
    const box = await startOnPath('truncated-record', { delayMs: 50, maxAttacks: 1 })
    const origin = `https://localhost:${box.port}`
    const events = record(origin)
    const sockets: Array<[string, object]> = []
    const onHeaders = (message: unknown): void => {
      const { request, socket } = message as { request: { method: string, path: string }, socket: object }
      sockets.push([`${request.method} ${request.path}`, socket])
    }
    subscribe('undici:client:sendHeaders', onHeaders)
    const agent = makeAgent({ pipelining: 10, connections: 1, coldStartTimeout: 0, replayNonIdempotent: true, logger: memoryLogger().logger })
    try {
      const [post] = await Promise.allSettled([
        send(agent, `${origin}/pay`, { method: 'POST', body: 'pay 10', blocking: false }),
        send(agent, `${origin}/a`, { blocking: false }),
        send(agent, `${origin}/b`, { blocking: false })
      ])
      // The precondition of the attack: the three requests went pipelined on one connection.
      assert.deepEqual(sockets.slice(0, 3).map(([name]) => name), ['POST /pay', 'GET /a', 'GET /b'])
      assert.ok(sockets.slice(0, 3).every(([, socket]) => socket === sockets[0]?.[1]), 'pipelined on one socket')
      assert.equal(box.attacked, 1)

      assert.equal(post.status, 'rejected')
      assert.equal((post as PromiseRejectedResult).reason.code, 'ECONNRESET', 'the original error: nothing to learn from')
      const postDiagnoses = events.diagnoses.filter((d) => d.method === 'POST')
      assert.ok(postDiagnoses.every((d) => !d.evidence.verified), JSON.stringify(postDiagnoses.map((d) => d.evidence)))
      assert.ok(events.diagnoses.every((d) => !d.evidence.verified), 'no verified evidence at all')
      assert.equal(events.fallbacks.length, 0)
      assert.equal(agent.policy(origin), undefined)
      assert.equal(box.server.requests.filter((r) => r.method === 'POST').length, 1, 'the POST reached the server once')
    } finally {
      unsubscribe('undici:client:sendHeaders', onHeaders)
      events.stop()
      await agent.close()
      await box.close()
    }
  })
})
