import assert from 'node:assert/strict'
import http from 'node:http'
import http2 from 'node:http2'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { Agent, EventSource, MockAgent, Pool, errors, interceptors, request, type Dispatcher } from 'undici'
import { ErrorCodes, TlsFallbackAgent } from '../src/index.ts'
import { startIisLike, type TestServer } from './servers/iis.ts'
import { startModern, type ModernServer } from './servers/modern.ts'
import { certs, makeAgent, memoryLogger, record } from './helpers.ts'

/**
 * TlsFallbackAgent where an undici Agent was: the behaviours undici's own tests found different
 * (issue 28), each against a real server, most of them side by side with a plain undici Agent.
 */

/** What undici's DispatcherBase has and its Agent type does not declare. */
interface Limits {
  webSocketOptions: { maxPayloadSize: number, maxFragments: number }
  eventSourceOptions: { maxEventSize: number }
}

async function listen (server: http.Server | http2.Http2Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as AddressInfo).port
}

async function closeServer (server: http.Server | http2.Http2Server): Promise<void> {
  ;(server as http.Server).closeAllConnections?.()
  await new Promise<void>((resolve) => server.close(() => resolve()))
}

describe('a drop-in for undici\'s Agent', () => {
  let modern: ModernServer
  let plain: http.Server
  let plainPort: number
  before(async () => {
    modern = await startModern()
    plain = http.createServer((req, res) => {
      setTimeout(() => res.end(`plain ${req.url ?? ''}`), req.url === '/slow' ? 20 : 0)
    })
    plainPort = await listen(plain)
  })
  after(async () => {
    await modern.close()
    await closeServer(plain)
  })

  test('close() and destroy() work on a compose()d agent (no "Receiver must be an instance of class")', async () => {
    const origin = `https://localhost:${modern.port}`
    for (const end of ['close', 'destroy'] as const) {
      const agent = makeAgent()
      const composed = agent.compose(interceptors.dns(), interceptors.redirect({ maxRedirections: 1 })) as unknown as TlsFallbackAgent
      const r = await request(`${origin}/composed`, { dispatcher: composed })
      assert.equal(r.statusCode, 200)
      await r.body.text()
      assert.deepEqual(composed.policies(), [], 'the other public methods work through the Proxy too')
      await composed[end]()
      assert.equal(agent.destroyed, true, end)
      assert.equal(composed.destroyed, true, end)
    }
  })

  test('webSocketOptions and eventSourceOptions come from the options, as undici\'s Agent reports them', async () => {
    const options = { webSocket: { maxPayloadSize: 1234, maxFragments: 7 }, eventSource: { maxEventSize: 99 } }
    const ours = makeAgent(options)
    const theirs = new Agent(options) as Agent & Limits
    try {
      assert.deepEqual(ours.webSocketOptions, theirs.webSocketOptions)
      assert.deepEqual(ours.eventSourceOptions, theirs.eventSourceOptions)
      assert.equal(ours.webSocketOptions.maxPayloadSize, 1234)
      const defaults = makeAgent()
      const plainAgent = new Agent() as Agent & Limits
      assert.deepEqual(defaults.webSocketOptions, plainAgent.webSocketOptions)
      assert.deepEqual(defaults.eventSourceOptions, plainAgent.eventSourceOptions)
      await plainAgent.close()
      await defaults.close()
    } finally {
      await ours.close()
      await theirs.close()
    }
  })

  test('an EventSource through the agent stops at the agent\'s eventSource.maxEventSize', async () => {
    const big = 'x'.repeat(300)
    const sse = await startModern({
      handle: (_req, res) => {
        ;(res as http.ServerResponse).writeHead(200, { 'content-type': 'text/event-stream' })
        ;(res as http.ServerResponse).write(`data: ${big}\n\n`)
      }
    })
    const outcome = async (dispatcher: Dispatcher): Promise<string> => await new Promise((resolve) => {
      const source = new EventSource(`https://localhost:${sse.port}/events`, { dispatcher })
      source.onmessage = (event) => { source.close(); resolve(`message of ${String(event.data).length}`) }
      source.onerror = () => { source.close(); resolve('error') }
    })
    const ours = makeAgent({ eventSource: { maxEventSize: 100 } })
    const theirs = new Agent({ eventSource: { maxEventSize: 100 }, connect: { ca: certs.ca } })
    const unlimited = makeAgent()
    try {
      assert.equal(await outcome(theirs), 'error', 'undici\'s Agent refuses the 300-byte event')
      assert.equal(await outcome(ours), 'error')
      assert.equal(await outcome(unlimited), `message of ${big.length}`)
    } finally {
      await Promise.all([ours.destroy(), theirs.destroy(), unlimited.destroy()])
      await sse.close()
    }
  })

  test('useH2c is accepted and speaks HTTP/2 over cleartext to an h2c server', async () => {
    const server = http2.createServer((req, res) => res.end(`h2c ${req.httpVersion}`))
    const port = await listen(server)
    const agent = makeAgent({ useH2c: true })
    try {
      const r = await request(`http://127.0.0.1:${port}/`, { dispatcher: agent })
      assert.equal(await r.body.text(), 'h2c 2.0')
    } finally {
      await agent.destroy()
      await closeServer(server)
    }
  })

  test('an https origin written as an IPv6 literal (https://[::1]:port) works as on undici\'s Agent', async () => {
    const server = await startModern({ host: '::1' })
    const ours = makeAgent()
    const theirs = new Agent({ connect: { ca: certs.ca } })
    const outcome = async (dispatcher: Dispatcher): Promise<string> => {
      try {
        const r = await request(`https://[::1]:${server.port}/v6`, { dispatcher })
        return `${r.statusCode} ${((await r.body.json()) as { path: string }).path}`
      } catch (error) {
        return (error as { code?: string }).code ?? String(error)
      }
    }
    try {
      const expected = await outcome(theirs)
      // Node 24 accepts the test certificate's IP SAN 0:0:0:0:0:0:0:1 for ::1; Node 22 refuses it
      // (ERR_TLS_CERT_ALTNAME_INVALID) for undici's Agent too. Before the fix: ERR_INVALID_URL.
      if (Number(process.versions.node.split('.')[0]) >= 24) assert.equal(expected, '200 /v6')
      assert.equal(await outcome(ours), expected)
    } finally {
      await ours.close()
      await theirs.close()
      await server.close()
    }
  })

  test('a per-request allowH2: false is honoured (HTTP/1.1 to an h2 server), and the default still uses h2', async () => {
    const server = await startModern({ h2: true })
    const agent = makeAgent()
    try {
      const origin = `https://localhost:${server.port}`
      const h2 = await request(`${origin}/default`, { dispatcher: agent })
      assert.equal(((await h2.body.json()) as { httpVersion: string }).httpVersion, '2.0')
      const h1 = await agent.request({ origin, path: '/h1', method: 'GET', allowH2: false } as Dispatcher.RequestOptions)
      assert.equal(((await h1.body.json()) as { httpVersion: string }).httpVersion, '1.1')
    } finally {
      await agent.close()
      await server.close()
    }
  })

  test('autoSelectFamily: false and a lookup reach the TCP connect of http: and https: origins', async () => {
    const seen: Array<{ hostname: string, all: boolean }> = []
    const lookup = ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
      seen.push({ hostname, all: options.all === true })
      if (options.all === true) callback(null, [{ address: '127.0.0.1', family: 4 }])
      else callback(null, '127.0.0.1', 4)
    }) as never
    const agent = makeAgent({ autoSelectFamily: false, connect: { lookup } })
    try {
      const r = await request(`http://plain.test:${plainPort}/tcp`, { dispatcher: agent })
      assert.equal(await r.body.text(), 'plain /tcp')
      const s = await request(`https://localhost:${modern.port}/tcp`, { dispatcher: agent })
      await s.body.text()
      assert.deepEqual(seen, [{ hostname: 'plain.test', all: false }, { hostname: 'localhost', all: false }])
    } finally {
      await agent.close()
    }
  })

  test('\'drain\' is forwarded for http: origins, as undici\'s Agent emits it', async () => {
    const origin = `http://127.0.0.1:${plainPort}`
    // Three dispatches at once on one connection: the second finds it busy (dispatch returns
    // false), and 'drain' says when it can take more.
    const drains = async (dispatcher: Dispatcher): Promise<{ returned: boolean[], drained: string[] }> => {
      const drained: string[] = []
      dispatcher.on('drain', (o: URL | string) => { drained.push(String(o)) })
      let ended = 0
      let allEnded!: () => void
      const done = new Promise<void>((resolve) => { allEnded = resolve })
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart () {},
        onResponseStart () {},
        onResponseData () {},
        onResponseEnd () { if (++ended === 3) allEnded() },
        onResponseError (_c, error) { throw error }
      }
      const returned = [1, 2, 3].map((i) => dispatcher.dispatch({ origin, path: `/slow?${i}`, method: 'GET' }, handler))
      await done
      await new Promise((resolve) => setImmediate(resolve))
      return { returned, drained }
    }
    const ours = makeAgent({ connections: 1 })
    const theirs = new Agent({ connections: 1 })
    try {
      const expected = await drains(theirs)
      assert.ok(expected.drained.length > 0, 'undici\'s Agent emitted drain')
      assert.deepEqual(await drains(ours), expected)
    } finally {
      await ours.close()
      await theirs.close()
    }
  })

  test('agent.stats lists each origin\'s client stats, as undici\'s Agent does', async () => {
    const ours = makeAgent()
    const theirs = new Agent({ connect: { ca: certs.ca } })
    try {
      const httpsOrigin = `https://localhost:${modern.port}`
      const httpOrigin = `http://127.0.0.1:${plainPort}`
      for (const dispatcher of [ours, theirs]) {
        for (const origin of [httpsOrigin, httpOrigin]) {
          const r = await request(`${origin}/stats`, { dispatcher })
          await r.body.text()
        }
      }
      assert.deepEqual(Object.keys(ours.stats).sort(), Object.keys(theirs.stats).sort())
      assert.deepEqual(Object.keys(ours.stats).sort(), [httpOrigin, httpsOrigin].sort())
      for (const origin of [httpsOrigin, httpOrigin]) {
        // The same kind of stats (PoolStats) with the same fields; free/busy depend on timing.
        assert.equal(ours.stats[origin]?.constructor, theirs.stats[origin]?.constructor, origin)
        assert.deepEqual(Object.keys({ ...ours.stats[origin] }).sort(), Object.keys({ ...theirs.stats[origin] }).sort(), origin)
        assert.equal(ours.stats[origin]?.connected, 1, origin)
      }
    } finally {
      await ours.close()
      await theirs.close()
    }
  })

  test('after close(): destroyed, ClientDestroyedError, and close({})/destroy(err, {}) throw InvalidArgumentError as undici', async () => {
    const origin = `https://localhost:${modern.port}`
    const ours = makeAgent()
    const theirs = new Agent({ connect: { ca: certs.ca } })
    for (const dispatcher of [ours, theirs]) {
      const name = dispatcher === ours ? 'ours' : 'undici'
      await (await request(`${origin}/x`, { dispatcher })).body.text()
      assert.throws(() => dispatcher.close({} as never), errors.InvalidArgumentError, name)
      assert.throws(() => dispatcher.destroy(null, {} as never), errors.InvalidArgumentError, name)
      await dispatcher.close()
      assert.equal(dispatcher.closed, true, name)
      assert.equal(dispatcher.destroyed, true, name)
      await assert.rejects(request(`${origin}/after`, { dispatcher }), errors.ClientDestroyedError, name)
      await assert.rejects(dispatcher.close(), errors.ClientDestroyedError, name)
      const [error, data] = await new Promise<unknown[]>((resolve) => { dispatcher.destroy((...args: unknown[]) => resolve(args)) })
      assert.deepEqual([error, data], [null, null], `${name}: destroy's callback gets (null, null)`)
    }
  })

  test('factory builds each stack\'s pools with the agent\'s connector: an IIS-like host still falls back, on verified evidence', async () => {
    const iis = await startIisLike()
    const origin = `https://localhost:${iis.port}`
    const made: Array<{ origin: string, connect: string, allowH2: unknown }> = []
    const agent = makeAgent({
      factory: (o: string | URL, options: Pool.Options) => {
        made.push({ origin: String(o), connect: typeof options.connect, allowH2: options.allowH2 })
        return new Pool(o, options)
      }
    })
    try {
      const r = await request(`${origin}/secure/factory`, { dispatcher: agent })
      assert.equal(r.statusCode, 200)
      assert.equal(((await r.body.json()) as { renegotiated: boolean }).renegotiated, true)
      const entry = agent.policy(origin)
      assert.equal(entry?.stack, 'renegotiation')
      assert.equal(entry?.evidence.verified, true, 'the evidence came from the agent\'s connector')
      assert.ok(made.length >= 2, 'one pool per stack')
      for (const m of made) assert.deepEqual([m.origin.replace(/\/$/, ''), m.connect], [origin, 'function'])
    } finally {
      await agent.close()
      await iis.close()
    }
  })

  test('MockAgent({ agent }) mocks http: and https: origins through the agent, as with undici\'s Agent', async () => {
    const origins = [`http://127.0.0.1:${plainPort}`, `https://localhost:${modern.port}`]
    for (const agent of [makeAgent(), new Agent({ connect: { ca: certs.ca } })]) {
      const name = agent instanceof TlsFallbackAgent ? 'ours' : 'undici'
      const mockAgent = new MockAgent({ agent })
      try {
        for (const origin of origins) {
          mockAgent.get(origin).intercept({ path: '/mocked' }).reply(200, `mocked ${origin}`)
          const r = await request(`${origin}/mocked`, { dispatcher: mockAgent })
          assert.deepEqual([r.statusCode, await r.body.text()], [200, `mocked ${origin}`], `${name}: the mock answered, not the server`)
        }
        mockAgent.assertNoPendingInterceptors()
      } finally {
        await mockAgent.close()
      }
      assert.equal(agent.destroyed, true, `${name}: closing the MockAgent closes the agent`)
    }
  })

  test('an invalid option is an undici InvalidArgumentError and keeps TLS_FALLBACK_INVALID_OPTION', () => {
    assert.throws(() => new TlsFallbackAgent({ resetRetries: -1 }), (error: Error & { code?: string, option?: string }) => {
      assert.ok(error instanceof Error)
      assert.ok((error as unknown) instanceof errors.InvalidArgumentError)
      assert.ok((error as unknown) instanceof errors.UndiciError)
      assert.equal(error.code, ErrorCodes.INVALID_OPTION)
      assert.equal(error.option, 'resetRetries')
      return true
    })
    assert.throws(() => new TlsFallbackAgent({ fallback: ['nope'] as never }), errors.InvalidArgumentError)
    // A value undici itself refuses (its Client's check), reported as ours.
    assert.throws(() => new TlsFallbackAgent({ maxHeaderSize: 'big' as never }), (error: Error & { code?: string }) =>
      (error as unknown) instanceof errors.InvalidArgumentError && error.code === ErrorCodes.INVALID_OPTION)
  })
})

describe('Node\'s built-in fetch with the agent as a per-call dispatcher (legacy handlers)', () => {
  let iis: TestServer
  before(async () => { iis = await startIisLike() })
  after(async () => { await iis.close() })

  test(`falls back, learns and answers (Node ${process.versions.node})`, async () => {
    const origin = `https://localhost:${iis.port}`
    const agent = makeAgent({ logger: memoryLogger().logger })
    const events = record(origin)
    try {
      const response = await globalThis.fetch(`${origin}/secure/builtin`, { dispatcher: agent } as RequestInit)
      assert.equal(response.status, 200)
      const body = await response.json() as { path: string, renegotiated: boolean }
      assert.equal(body.path, '/secure/builtin')
      assert.equal(body.renegotiated, true)
      assert.equal(events.fallbacks.length, 1)
      assert.equal(agent.policy(origin)?.stack, 'renegotiation')
    } finally {
      events.stop()
      await agent.close()
    }
  })

  test('replays a POST with an Idempotency-Key once, and refuses one without (TLS_FALLBACK_NOT_REPLAYED)', async () => {
    const origin = `https://localhost:${iis.port}`
    const replayed = makeAgent({ logger: memoryLogger().logger })
    const refused = makeAgent({ logger: memoryLogger().logger })
    try {
      const ok = await globalThis.fetch(`${origin}/secure/post-key`, {
        dispatcher: replayed, method: 'POST', body: 'fetched', headers: { 'Idempotency-Key': 'builtin-1' }
      } as RequestInit)
      assert.equal(ok.status, 200)
      assert.equal(((await ok.json()) as { bodyLength: number }).bodyLength, 7)
      const error = await globalThis.fetch(`${origin}/secure/post-nokey`, { dispatcher: refused, method: 'POST', body: 'once' } as RequestInit)
        .then(() => undefined, (e: unknown) => e as Error & { cause?: { code?: string } })
      assert.ok(error instanceof TypeError, 'fetch rejects with a TypeError')
      assert.equal(error.cause?.code, ErrorCodes.NOT_REPLAYED)
      assert.equal(refused.policy(origin)?.stack, 'renegotiation', 'learned all the same')
      assert.equal(iis.stats.effects.filter((e) => e === 'POST /secure/post-key').length, 1)
    } finally {
      await replayed.close()
      await refused.close()
    }
  })

  test('a refused connection rejects the fetch with the connection error as its cause', async () => {
    const server = http.createServer()
    const port = await listen(server)
    await closeServer(server)
    const agent = makeAgent()
    try {
      const error = await globalThis.fetch(`https://127.0.0.1:${port}/`, { dispatcher: agent } as RequestInit)
        .then(() => undefined, (e: unknown) => e as Error & { cause?: { code?: string } })
      assert.ok(error instanceof TypeError)
      assert.equal(error.cause?.code, 'ECONNREFUSED')
    } finally {
      await agent.close()
    }
  })
})
