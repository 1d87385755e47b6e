import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import type { TlsFallbackAgent, TlsFallbackAgentOptions } from '../src/index.ts'
import { clientCert, makeAgent, memoryLogger, record, send, type Reply } from './helpers.ts'
import { startApache, type ApacheServer } from './servers/apache.ts'
import { startIisLike, type TestServer } from './servers/iis.ts'
import { startModern, type ModernServer } from './servers/modern.ts'

// Issue 31 through the agent: real Apache on Debian's default protocols (TLS 1.3 with
// post-handshake auth, then the fallback to TLS 1.2), the IIS-like server with IIS's
// uploadReadAheadSize (49152), and a hostile server whose 413 tries to get a POST sent twice.

const MB = 1_000_000
const payload = randomBytes(MB)
const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex')

function stream (data: Buffer = payload): Readable {
  return Readable.from((function * () { for (let i = 0; i < data.length; i += 16_384) yield data.subarray(i, i + 16_384) })())
}

async function post (agent: TlsFallbackAgent, url: string, body: 'buffer' | 'stream', data: Buffer = payload): Promise<Reply> {
  return await send(agent, url, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: body === 'buffer' ? data : stream(data) })
}

describe('Apache on Debian\'s default protocols (TLS 1.3, post-handshake auth) and the default SSLRenegBufferSize', () => {
  let apache: ApacheServer
  let origin: string
  let agentWith: (options?: TlsFallbackAgentOptions) => TlsFallbackAgent
  before(async () => {
    apache = await startApache({ protocols: 'all -SSLv3', uploads: true })
    origin = `https://localhost:${apache.port}`
    agentWith = (options = {}) => makeAgent({ ...options, hosts: { [`localhost:${apache.port}`]: { clientCert } } })
  })
  after(async () => { await apache.close() })

  test('first request, 1 MB buffered then streamed: the 403 of TLS 1.3 moves the origin to TLS 1.2, where the uploads go primed, each processed once', async (t) => {
    const agent = agentWith()
    const events = record(origin)
    t.after(async () => { events.stop(); await agent.close() })
    const start = apache.uploadCounts().length
    const buffered = await post(agent, `${origin}/upload/count`, 'buffer')
    assert.equal(buffered.status, 200)
    assert.equal(buffered.text, `counted ${MB} bytes\n`)
    assert.equal(agent.policy(origin)?.fingerprint, 'post-handshake-auth-required')
    const streamed = await post(agent, `${origin}/upload/count`, 'stream')
    assert.equal(streamed.status, 200)
    assert.equal(streamed.text, `counted ${MB} bytes\n`)
    const lines = apache.uploadCounts().slice(start)
    assert.deepEqual(lines.filter((line) => line.startsWith('POST')), [`POST /upload/count ${MB} ${MB}`, `POST /upload/count - ${MB}`])
    assert.equal(lines[0], 'HEAD /upload/count - 0')
    assert.deepEqual(events.attempts.slice(0, 2).map((a) => [a.stack, a.primed]), [['strict', true], ['renegotiation', true]])
    assert.deepEqual(events.diagnoses.map((d) => d.fingerprint), ['post-handshake-auth-required'])
    assert.match(await apache.waitForAccessLog(/"POST \/upload\/count HTTP\/1.1" 200 .* TLSv1.2 /, 2), /TLSv1.2/)
  })

  test('first request, a 1 MB stream that cannot be replayed (maxReplayBodySize 0): the OPTIONS probe on TLS 1.3 meets the 403 before the body goes, the stream is sent once on TLS 1.2', async (t) => {
    const agent = agentWith({ maxReplayBodySize: 0 })
    const events = record(origin)
    t.after(async () => { events.stop(); await agent.close() })
    const start = apache.uploadCounts().length
    const reply = await post(agent, `${origin}/upload/count`, 'stream')
    assert.equal(reply.status, 200)
    assert.equal(reply.text, `counted ${MB} bytes\n`)
    assert.deepEqual(apache.uploadCounts().slice(start), ['HEAD /upload/count - 0', `POST /upload/count - ${MB}`])
    assert.deepEqual(events.attempts.map((a) => [a.stack, a.reason]), [['strict', 'initial'], ['renegotiation', 'fallback']])
    assert.match(await apache.waitForAccessLog(/"OPTIONS \/upload\/count HTTP\/1.1" 403 .* TLSv1.3 /), /TLSv1.3/)
  })

  test('before (uploadPriming: false): the same buffered POST ends in 413 after the fallback to TLS 1.2, and the CGI never runs', async (t) => {
    const agent = agentWith({ uploadPriming: false })
    t.after(() => agent.close())
    const start = apache.uploadCounts().length
    const reply = await post(agent, `${origin}/upload/count`, 'buffer')
    assert.equal(reply.status, 413)
    assert.deepEqual(apache.uploadCounts().slice(start), [])
  })
})

describe('the IIS-like server with uploadReadAheadSize 49152', () => {
  let iis: TestServer
  let origin: string
  let agentWith: (options?: TlsFallbackAgentOptions) => TlsFallbackAgent
  before(async () => {
    iis = await startIisLike({ uploadReadAheadSize: 49_152 })
    origin = `https://localhost:${iis.port}`
    agentWith = (options = {}) => makeAgent({ ...options, hosts: { [`localhost:${iis.port}`]: { clientCert } } })
  })
  after(async () => { await iis.close() })

  test('before (uploadPriming: false): first request and learned policy both get 413, nothing acted on', async (t) => {
    const agent = agentWith({ uploadPriming: false })
    t.after(() => agent.close())
    const effects = iis.stats.effects.length
    const tooLarge = iis.stats.tooLarge
    // First request: the 413 comes before any renegotiation, so the strict stack never learns a thing.
    assert.equal((await post(agent, `${origin}/secure/upload`, 'buffer')).status, 413)
    assert.equal((await send(agent, `${origin}/secure/landing`)).status, 200)
    assert.equal(agent.policy(origin)?.stack, 'renegotiation')
    assert.equal((await post(agent, `${origin}/secure/upload`, 'buffer')).status, 413)
    assert.equal(iis.stats.tooLarge - tooLarge, 2)
    assert.deepEqual(iis.stats.effects.slice(effects), ['GET /secure/landing'])
  })

  test('first request, 1 MB buffered, then streamed with the learned policy: each received once, in the caller\'s order', async (t) => {
    const agent = agentWith()
    const events = record(origin)
    t.after(async () => { events.stop(); await agent.close() })
    const bodies = iis.stats.bodies.length
    const effects = iis.stats.effects.length
    const tooLarge = iis.stats.tooLarge
    const first = await post(agent, `${origin}/secure/upload`, 'buffer')
    const second = await post(agent, `${origin}/secure/upload`, 'stream')
    for (const reply of [first, second]) {
      assert.equal(reply.status, 200)
      assert.equal(reply.json().bodySha256, sha(payload))
      assert.equal(reply.json().renegotiated, true)
    }
    assert.deepEqual(iis.stats.effects.slice(effects).filter((e) => e.startsWith('POST')), ['POST /secure/upload', 'POST /secure/upload'])
    assert.deepEqual(iis.stats.bodies.slice(bodies).filter((b) => b === sha(payload)).length, 2)
    assert.equal(iis.stats.tooLarge, tooLarge)
    assert.equal(agent.policy(origin)?.stack, 'renegotiation')
    assert.deepEqual(events.diagnoses.map((d) => d.fingerprint), ['renegotiation-refused'])
  })

  test('three concurrent first uploads (buffered, streamed, buffered): one response each, each body received once, no 413', async (t) => {
    const agent = agentWith()
    t.after(() => agent.close())
    const bodies = iis.stats.bodies.length
    const tooLarge = iis.stats.tooLarge
    const parts = [payload.subarray(0, 300_000), payload.subarray(300_000, 700_000), payload.subarray(700_000)]
    const replies = await Promise.all([
      post(agent, `${origin}/secure/a`, 'buffer', parts[0]),
      post(agent, `${origin}/secure/b`, 'stream', parts[1]),
      post(agent, `${origin}/secure/c`, 'buffer', parts[2])
    ])
    assert.deepEqual(replies.map((r) => [r.status, r.json().path, r.json().bodySha256]), [
      [200, '/secure/a', sha(parts[0] as Buffer)], [200, '/secure/b', sha(parts[1] as Buffer)], [200, '/secure/c', sha(parts[2] as Buffer)]
    ])
    const received = iis.stats.bodies.slice(bodies)
    for (const part of parts) assert.equal(received.filter((b) => b === sha(part)).length, 1)
    assert.equal(iis.stats.tooLarge, tooLarge)
  })

  test('a buffer 413 (a host limit above uploadReadAheadSize): one priming, one resend, received once; pino says why at debug', async (t) => {
    const { logger, lines } = memoryLogger()
    const agent = makeAgent({ logger, hosts: { [`localhost:${iis.port}`]: { clientCert, uploadPriming: { limit: 4 * MB } } } })
    const events = record(origin)
    t.after(async () => { events.stop(); await agent.close() })
    assert.equal((await send(agent, `${origin}/secure/landing`)).status, 200)
    const bodies = iis.stats.bodies.length
    const tooLarge = iis.stats.tooLarge
    const before = events.attempts.length
    const body = payload.subarray(0, 100_000)
    const reply = await post(agent, `${origin}/secure/upload`, 'buffer', body)
    assert.equal(reply.status, 200)
    assert.equal(reply.json().bodySha256, sha(body))
    assert.equal(iis.stats.tooLarge - tooLarge, 1)
    assert.equal(iis.stats.bodies.slice(bodies).filter((b) => b === sha(body)).length, 1)
    assert.deepEqual(events.attempts.slice(before).map((a) => [a.reason, a.primed]), [['initial', undefined], ['upload-resend', true]])
    const priming = lines.find((line) => line.level === 'debug' && /connection primed for an upload/.test(line.msg ?? ''))
    assert.deepEqual([priming?.obj.outcome, priming?.obj.path, priming?.obj.stack], ['renegotiated', '/secure/upload', 'renegotiation'])
    assert.ok(lines.some((line) => line.level === 'debug' && /a 413 on a connection that had not renegotiated: once more/.test(line.msg ?? '')))
  })
})

describe('a hostile server whose 413 tries to get a POST processed twice', () => {
  let server: ModernServer
  let origin: string
  const processed: string[] = []
  before(async () => {
    // TLS 1.2, never renegotiates; it acts on every POST, then answers 413 with a short page (as a
    // renegotiation buffer's would look).
    server = await startModern({
      maxVersion: 'TLSv1.2',
      handle: (req, res) => {
        const chunks: Buffer[] = []
        req.on('data', (c: Buffer) => chunks.push(c))
        req.on('end', () => {
          const response = res as ServerResponse
          if ((req as IncomingMessage).method === 'POST') processed.push(sha(Buffer.concat(chunks)))
          const status = (req as IncomingMessage).method === 'POST' ? 413 : 200
          const text = status === 413 ? '<title>413 Request Entity Too Large</title>' : ''
          response.writeHead(status, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(text) })
          response.end(text)
        })
      }
    })
    origin = `https://localhost:${server.port}`
  })
  after(async () => { await server.close() })

  test('a small POST (not primed) answered 413 on a connection that did not renegotiate: the resend\'s priming does not renegotiate, so the 413 is delivered and the POST was processed once', async (t) => {
    const agent = makeAgent({ hosts: { [`localhost:${server.port}`]: { clientCert, uploadPriming: { limit: MB } } } })
    const events = record(origin)
    t.after(async () => { events.stop(); await agent.close() })
    const body = payload.subarray(0, 10_000)
    const start = processed.length
    const reply = await post(agent, `${origin}/upload`, 'buffer', body)
    assert.equal(reply.status, 413)
    assert.equal(reply.text, '<title>413 Request Entity Too Large</title>')
    assert.deepEqual(processed.slice(start), [sha(body)])
    // The only request the resend sent was the priming HEAD.
    assert.deepEqual(server.requests.slice(-2).map((r) => r.method), ['POST', 'HEAD'])
    assert.deepEqual(events.attempts.map((a) => a.reason), ['initial', 'upload-resend'])
    assert.equal(agent.policy(origin), undefined)
  })

  test('a 1 MB POST on a primed connection that did not renegotiate, answered 413: delivered at once, processed once, no resend', async (t) => {
    const agent = makeAgent({ hosts: { [`localhost:${server.port}`]: { clientCert } } })
    const events = record(origin)
    t.after(async () => { events.stop(); await agent.close() })
    const start = processed.length
    const reply = await post(agent, `${origin}/upload`, 'stream')
    assert.equal(reply.status, 413)
    assert.deepEqual(processed.slice(start), [sha(payload)])
    assert.deepEqual(events.attempts.map((a) => [a.reason, a.primed]), [['initial', true]])
  })
})
