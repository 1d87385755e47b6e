import assert from 'node:assert/strict'
import { Writable, Readable } from 'node:stream'
import { pipeline as pipelineCb } from 'node:stream'
import { promisify } from 'node:util'
import { after, before, describe, test } from 'node:test'
import { fetch as undiciFetch, interceptors, pipeline, request, setGlobalDispatcher, getGlobalDispatcher, stream } from 'undici'
import { startIisLike, type TestServer } from './servers/iis.ts'
import { makeAgent, memoryLogger, record } from './helpers.ts'

const pump = promisify(pipelineCb)

describe('works with the undici APIs, interceptors and Node\'s built-in fetch', () => {
  let iis: TestServer
  before(async () => { iis = await startIisLike() })
  after(async () => { await iis.close() })

  test('undici.request, stream and pipeline each get one answer after a fallback', async () => {
    const origin = `https://localhost:${iis.port}`
    for (const api of ['request', 'stream', 'pipeline'] as const) {
      const agent = makeAgent({ logger: memoryLogger().logger })
      const events = record(origin)
      try {
        let text = ''
        if (api === 'request') {
          const r = await request(`${origin}/secure/${api}`, { dispatcher: agent })
          text = await r.body.text()
        } else if (api === 'stream') {
          const chunks: Buffer[] = []
          await stream(`${origin}/secure/${api}`, { dispatcher: agent, method: 'GET' }, () => new Writable({
            write (chunk, _enc, cb) { chunks.push(chunk); cb() }
          }))
          text = Buffer.concat(chunks).toString()
        } else {
          const chunks: Buffer[] = []
          await pump(
            Readable.from([]),
            pipeline(`${origin}/secure/${api}`, { dispatcher: agent, method: 'GET' }, ({ body }) => body),
            new Writable({ write (chunk, _enc, cb) { chunks.push(chunk); cb() } })
          )
          text = Buffer.concat(chunks).toString()
        }
        assert.equal(JSON.parse(text).path, `/secure/${api}`, api)
        assert.equal(events.fallbacks.length, 1, api)
      } finally {
        events.stop()
        await agent.close()
      }
    }
  })

  test('undici fetch with the agent as dispatcher (a POST with an Idempotency-Key header, so it may be replayed)', async (t) => {
    const origin = `https://localhost:${iis.port}`
    const agent = makeAgent({ logger: memoryLogger().logger })
    t.after(async () => { await agent.close() })
    const response = await undiciFetch(`${origin}/secure/fetch`, { dispatcher: agent, method: 'POST', body: 'fetched', headers: { 'Idempotency-Key': 'fetch-1' } })
    assert.equal(response.status, 200)
    const json = await response.json() as { bodyLength: number }
    assert.equal(json.bodyLength, 7)
    assert.equal(agent.policy(origin)?.stack, 'renegotiation')
  })

  test('setGlobalDispatcher makes Node\'s built-in fetch go through the agent', async () => {
    const origin = `https://localhost:${iis.port}`
    const agent = makeAgent({ logger: memoryLogger().logger })
    const previous = getGlobalDispatcher()
    setGlobalDispatcher(agent)
    try {
      const response = await globalThis.fetch(`${origin}/secure/global`)
      assert.equal(response.status, 200)
      assert.equal(((await response.json()) as { renegotiated: boolean }).renegotiated, true)
      assert.equal(agent.policy(origin)?.stack, 'renegotiation')
    } finally {
      setGlobalDispatcher(previous)
      await agent.close()
    }
  })

  test('composed with undici\'s redirect and retry interceptors', async (t) => {
    const origin = `https://localhost:${iis.port}`
    const agent = makeAgent({ logger: memoryLogger().logger })
    const composed = agent.compose(interceptors.redirect({ maxRedirections: 3 }), interceptors.retry({ maxRetries: 1 }))
    const events = record(origin)
    t.after(async () => { events.stop(); await agent.close() })
    const r = await request(`${origin}/redirect`, { dispatcher: composed })
    assert.equal(r.statusCode, 200)
    assert.equal(((await r.body.json()) as { path: string }).path, '/secure/landing')
    assert.equal(events.fallbacks.length, 1)
  })

  test('plain http:// origins go through untouched', async (t) => {
    const http = await import('node:http')
    const server = http.createServer((req, res) => res.end('plain'))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const agent = makeAgent()
    const events = record()
    t.after(async () => { events.stop(); await agent.close(); server.close() })
    const port = (server.address() as import('node:net').AddressInfo).port
    const r = await request(`http://127.0.0.1:${port}/`, { dispatcher: agent })
    assert.equal(await r.body.text(), 'plain')
    assert.equal(events.attempts.length, 0, 'no TLS, no attempt events')
  })
})
