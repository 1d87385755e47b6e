import assert from 'node:assert/strict'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import type { TlsFallbackAgent, TlsFallbackAgentOptions } from '../src/index.ts'
import type { PrimingEvent } from '../src/telemetry.ts'
import { clientCert, makeAgent, record, send, type Reply } from './helpers.ts'
import { startApache, type ApacheServer } from './servers/apache.ts'

// Issue 31 through the agent, against real Apache with Debian's default SSLRenegBufferSize (131072)
// and a client certificate asked for under /upload/ (TLS 1.2 only here; TLS 1.3 with post-handshake
// auth and the IIS-like server in test/uploads-pha-iis.test.ts). The counting CGI says how many
// times each upload was processed.

const MB = 1_000_000
const payload = randomBytes(MB)

function stream (data: Buffer = payload): Readable {
  return Readable.from((function * () { for (let i = 0; i < data.length; i += 16_384) yield data.subarray(i, i + 16_384) })())
}

async function post (agent: TlsFallbackAgent, url: string, body: 'buffer' | 'stream', data: Buffer = payload): Promise<Reply> {
  return await send(agent, url, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: body === 'buffer' ? data : stream(data) })
}

/** Records the priming events (one per primed connection). */
function primings (): { events: PrimingEvent[], stop: () => void } {
  const events: PrimingEvent[] = []
  const listener = (message: unknown): void => { events.push(message as PrimingEvent) }
  subscribe('undici-tls-fallback:priming', listener)
  return { events, stop: () => { unsubscribe('undici-tls-fallback:priming', listener) } }
}

describe('Apache (TLS 1.2, default SSLRenegBufferSize) through the agent', () => {
  let apache: ApacheServer
  let origin: string
  let host: string
  before(async () => {
    apache = await startApache({ uploads: true })
    origin = `https://localhost:${apache.port}`
    host = `localhost:${apache.port}`
  })
  after(async () => { await apache.close() })

  const agentWith = (options: TlsFallbackAgentOptions = {}, hostOptions: Record<string, unknown> = {}): TlsFallbackAgent =>
    makeAgent({ ...options, hosts: { [host]: { clientCert, ...hostOptions } } })

  test('before (uploadPriming: false): a 1 MB POST gets the buffer\'s 413 on the first request and with the learned policy, and the CGI never runs', async (t) => {
    const agent = agentWith({}, { uploadPriming: false })
    t.after(() => agent.close())
    // The origin learns its stack from a GET first (the renegotiation a small request needs).
    assert.equal((await send(agent, `${origin}/upload/count`)).status, 200)
    assert.equal(agent.policy(origin)?.stack, 'renegotiation')
    const start = apache.uploadCounts().length
    const reply = await post(agent, `${origin}/upload/count`, 'buffer')
    assert.equal(reply.status, 413)
    assert.deepEqual(apache.uploadCounts().slice(start), [])
  })

  test('first request, 1 MB buffered: the priming HEAD on the strict stack finds the renegotiation stack, the upload goes once on a primed connection, the policy is learned', async (t) => {
    const agent = agentWith()
    const events = record(origin)
    const primed = primings()
    t.after(async () => { events.stop(); primed.stop(); await agent.close() })
    const start = apache.uploadCounts().length
    const reply = await post(agent, `${origin}/upload/count`, 'buffer')
    assert.equal(reply.status, 200)
    assert.equal(reply.text, `counted ${MB} bytes\n`)
    assert.equal(reply.headers['x-client-verify'], 'SUCCESS')
    assert.deepEqual(apache.uploadCounts().slice(start), ['HEAD /upload/count - 0', `POST /upload/count ${MB} ${MB}`])
    assert.deepEqual(events.attempts.map((a) => [a.stack, a.reason, a.primed]), [['strict', 'initial', true], ['renegotiation', 'fallback', true]])
    assert.deepEqual(events.diagnoses.map((d) => d.fingerprint), ['renegotiation-refused'])
    assert.deepEqual(primed.events.map((e) => [e.stack, e.path, e.outcome]), [['strict', '/upload/count', 'failed'], ['renegotiation', '/upload/count', 'renegotiated']])
    assert.equal(agent.policy(origin)?.stack, 'renegotiation')
  })

  test('first request, 1 MB streamed (no length, cannot be replayed past maxReplayBodySize): processed once', async (t) => {
    // maxReplayBodySize 0: the stream could not be sent again once read; the priming means it never had to be.
    const agent = agentWith({ maxReplayBodySize: 0 })
    t.after(() => agent.close())
    const start = apache.uploadCounts().length
    const reply = await post(agent, `${origin}/upload/count`, 'stream')
    assert.equal(reply.status, 200)
    assert.equal(reply.text, `counted ${MB} bytes\n`)
    assert.deepEqual(apache.uploadCounts().slice(start), ['HEAD /upload/count - 0', `POST /upload/count - ${MB}`])
  })

  test('learned policy: buffered and streamed 1 MB POSTs, one priming for the connection, each processed once, in order, one response each', async (t) => {
    const agent = agentWith()
    const events = record(origin)
    const primed = primings()
    t.after(async () => { events.stop(); primed.stop(); await agent.close() })
    assert.equal((await send(agent, `${origin}/upload/count`)).status, 200)
    const start = apache.uploadCounts().length
    const buffered = await post(agent, `${origin}/upload/count`, 'buffer')
    const streamed = await post(agent, `${origin}/upload/count`, 'stream')
    const again = await post(agent, `${origin}/upload/count`, 'buffer')
    assert.deepEqual([buffered.status, streamed.status, again.status], [200, 200, 200])
    const lines = apache.uploadCounts().slice(start)
    assert.deepEqual(lines.filter((line) => line.startsWith('POST')), [`POST /upload/count ${MB} ${MB}`, `POST /upload/count - ${MB}`, `POST /upload/count ${MB} ${MB}`])
    // One HEAD per new connection, never per request: undici's pool may open a second connection
    // for back-to-back POSTs (a plain Agent does too: 2 connections for 5 sequential 1 MB POSTs).
    const heads = lines.filter((line) => line.startsWith('HEAD'))
    assert.equal(heads.length, primed.events.length)
    assert.ok(heads.length <= 2, `${heads.length} primings for 3 uploads`)
    assert.ok(primed.events.every((e) => e.outcome === 'renegotiated'))
    assert.equal(lines[0], 'HEAD /upload/count - 0')
    assert.deepEqual(events.attempts.slice(-3).map((a) => [a.stack, a.primed]), [['renegotiation', true], ['renegotiation', true], ['renegotiation', true]])
  })

  test('small bodies and GETs are untouched: no priming, no primed attempt', async (t) => {
    const agent = agentWith()
    const events = record(origin)
    const primed = primings()
    t.after(async () => { events.stop(); primed.stop(); await agent.close() })
    assert.equal((await send(agent, `${origin}/upload/count`)).status, 200)
    const small = await post(agent, `${origin}/upload/count`, 'buffer', payload.subarray(0, 40_000))
    assert.equal(small.text, 'counted 40000 bytes\n')
    assert.deepEqual(primed.events, [])
    assert.ok(events.attempts.every((a) => a.primed === undefined))
  })

  test('an application limit (LimitRequestBody) on the primed connection: its 413 reaches the caller once, nothing is sent again, nothing runs', async (t) => {
    const agent = agentWith()
    const events = record(origin)
    t.after(async () => { events.stop(); await agent.close() })
    assert.equal((await send(agent, `${origin}/upload/count`)).status, 200)
    const before = events.attempts.length
    const start = apache.uploadCounts().length
    const reply = await post(agent, `${origin}/upload/limited/count`, 'buffer')
    assert.equal(reply.status, 413)
    assert.deepEqual(apache.uploadCounts().slice(start), ['HEAD /upload/limited/count - 0'])
    assert.deepEqual(events.attempts.slice(before).map((a) => a.reason), ['initial'])
    assert.equal(agent.policy(origin)?.stack, 'renegotiation')
  })

  test('a buffer 413 on a connection that had not renegotiated (a limit above the server\'s buffer): one priming that renegotiates, one resend, processed once', async (t) => {
    const agent = agentWith({}, { uploadPriming: { limit: 4 * MB } })
    const events = record(origin)
    const primed = primings()
    t.after(async () => { events.stop(); primed.stop(); await agent.close() })
    assert.equal((await send(agent, `${origin}/upload/count`)).status, 200)
    const before = events.attempts.length
    const start = apache.uploadCounts().length
    const reply = await post(agent, `${origin}/upload/count`, 'buffer', payload.subarray(0, 200_000))
    assert.equal(reply.status, 200)
    assert.equal(reply.text, 'counted 200000 bytes\n')
    assert.deepEqual(apache.uploadCounts().slice(start), ['HEAD /upload/count - 0', 'POST /upload/count 200000 200000'])
    assert.deepEqual(events.attempts.slice(before).map((a) => [a.reason, a.primed]), [['initial', undefined], ['upload-resend', true]])
    assert.deepEqual(primed.events.map((e) => e.outcome), ['renegotiated'])
  })
})
