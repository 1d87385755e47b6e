import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { describe, test } from 'node:test'
import { promisify } from 'node:util'
import { startIisLike } from './servers/iis.ts'
import { startModern } from './servers/modern.ts'
import { Readable } from 'node:stream'
import { failure, makeAgent, memoryLogger, record, send } from './helpers.ts'

const execFileAsync = promisify(execFile)

for (const refusal of ['rst', 'goaway'] as const) {
  describe(`an h2 server that refuses /secure with HTTP_1_1_REQUIRED by ${refusal === 'rst' ? 'RST_STREAM' : 'GOAWAY'}, then renegotiates over HTTP/1.1`, () => {
    test('with replayNonIdempotent (this server checks before it acts), one call, one answer: h2 refused, HTTP/1.1 strict refused, HTTP/1.1 on the renegotiation stack; both transitions reported', async () => {
      const server = await startIisLike({ h2: refusal })
      const origin = `https://localhost:${server.port}`
      const events = record(origin)
      const agent = makeAgent({ replayNonIdempotent: true, logger: memoryLogger().logger })
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
        // With GOAWAY, undici itself sends the unprocessed stream once more on a new HTTP/2 connection
        // (RFC 9113 section 8.7 allows it), where the server's GOAWAY then covers it.
        assert.equal(server.stats.requests.filter((r) => r.startsWith('POST /secure/report')).length, refusal === 'goaway' ? 4 : 3,
          'h2 refused, h1 strict refused, h1 answered')
      } finally {
        events.stop()
        await agent.close()
        await server.close()
      }
    })
  })
}

describe('HTTP_1_1_REQUIRED and the RFC 9113 section 8.7 rule: only a stream the server did not process goes again whatever its method', () => {
  test('GOAWAY(HTTP_1_1_REQUIRED) whose last-stream-id covers a POST the server acted on: not sent again over HTTP/1.1 (TLS_FALLBACK_NOT_REPLAYED), http1Only learned', async (t) => {
    // Attack: the server processed the POST, then sent GOAWAY(0xd, last-stream-id = its stream).
    // The agent used to send the POST again over HTTP/1.1, and the server acted twice.
    const server = await startIisLike({ h2: 'goaway-after-acting' })
    const origin = `https://localhost:${server.port}`
    const events = record(origin)
    const agent = makeAgent({ logger: memoryLogger().logger })
    t.after(async () => { events.stop(); await agent.close(); await server.close() })
    assert.equal((await send(agent, `${origin}/`)).json().httpVersion, '2.0')
    const error = await failure(() => send(agent, `${origin}/secure/pay`, { method: 'POST', body: 'pay 10' }))
    assert.equal(error.code, 'TLS_FALLBACK_NOT_REPLAYED')
    assert.equal(error.fingerprint, 'http11-required')
    assert.match(error.message, /last-stream-id \(3\) covers the request's stream \(3\)/)
    assert.match(error.message, /The next request goes over HTTP\/1\.1\./)
    assert.deepEqual(server.stats.effects.filter((e) => e.startsWith('POST')), ['POST /secure/pay'], 'the server acted once')
    assert.deepEqual(server.stats.requests.filter((r) => r.startsWith('POST')), ['POST /secure/pay h2'], 'and saw the POST once')
    assert.deepEqual(events.attempts.map((a) => [a.path, a.http1Only]), [['/', false], ['/secure/pay', false]])
    assert.equal(agent.policy(origin)?.http1Only, true, 'the authenticated refusal still teaches HTTP/1.1')
  })

  test('the same GOAWAY for a GET, or a POST with an Idempotency-Key: sent again over HTTP/1.1 and answered', async () => {
    const server = await startIisLike({ h2: 'goaway-after-acting' })
    const origin = `https://localhost:${server.port}`
    try {
      const cases = [['GET', '/secure/get', {}], ['POST', '/secure/keyed', { body: 'x', headers: { 'idempotency-key': 'k-1' } }]] as const
      for (const [method, path, extra] of cases) {
        const agent = makeAgent({ logger: memoryLogger().logger })
        try {
          await send(agent, `${origin}/`)
          const reply = await send(agent, `${origin}${path}`, { method, ...extra })
          assert.equal(reply.status, 200, method)
          assert.equal(reply.json().httpVersion, '1.1', method)
        } finally {
          await agent.close()
        }
        // Refused over h2 (after acting), then over HTTP/1.1: strict (renegotiation refused), renegotiation (answered).
        assert.deepEqual(server.stats.requests.filter((r) => r.startsWith(`${method} ${path}`)),
          [`${method} ${path} h2`, `${method} ${path}`, `${method} ${path}`], method)
      }
    } finally {
      await server.close()
    }
  })

  test('GOAWAY(HTTP_1_1_REQUIRED) whose last-stream-id is below the stream: the request was not processed, so a POST goes again over HTTP/1.1', async (t) => {
    const server = await startIisLike({ h2: 'goaway' })
    const origin = `https://localhost:${server.port}`
    const events = record(origin)
    const agent = makeAgent({ logger: memoryLogger().logger })
    t.after(async () => { events.stop(); await agent.close(); await server.close() })
    await send(agent, `${origin}/`)
    // A stream body: undici cannot replay it itself, so the GOAWAY reaches the agent.
    const error = await failure(() => send(agent, `${origin}/secure/upload`, { method: 'POST', body: Readable.from([Buffer.from('streamed')]) }))
    assert.deepEqual(events.diagnoses.map((d) => d.fingerprint), ['http11-required', 'renegotiation-refused'])
    // From the GOAWAY frame Node reported and the stream's id, not from undici's message (issue 27, item 4).
    assert.match(events.diagnoses[0]?.evidence.summary ?? '', /GOAWAY with HTTP_1_1_REQUIRED, and its last-stream-id \(1\) is below the request's stream \(3\): the request was not processed/)
    assert.deepEqual(events.attempts.map((a) => [a.path, a.http1Only, a.reason]), [
      ['/', false, 'initial'], ['/secure/upload', false, 'initial'], ['/secure/upload', true, 'fallback']
    ], 'the POST went again over HTTP/1.1')
    // Over HTTP/1.1 the server then renegotiated after reading it: that one is not sent a third time.
    assert.equal(error.code, 'TLS_FALLBACK_NOT_REPLAYED')
    assert.equal(error.fingerprint, 'renegotiation-refused')
  })

  test('RST_STREAM(HTTP_1_1_REQUIRED) is taken as "the server may have acted": a POST is not sent again by default, a GET is', async (t) => {
    const server = await startIisLike({ h2: 'rst' })
    const origin = `https://localhost:${server.port}`
    const agent = makeAgent({ logger: memoryLogger().logger })
    t.after(async () => { await agent.close(); await server.close() })
    const error = await failure(() => send(agent, `${origin}/secure/form`, { method: 'POST', body: 'x' }))
    assert.equal(error.code, 'TLS_FALLBACK_NOT_REPLAYED')
    assert.equal(error.fingerprint, 'http11-required')
    assert.equal(error.cause?.code, 'ERR_HTTP2_STREAM_ERROR')
    assert.equal(agent.policy(origin)?.http1Only, true)
    assert.deepEqual(server.stats.requests.filter((r) => r.startsWith('POST')), ['POST /secure/form h2'])
    agent.forget(origin)
    const reply = await send(agent, `${origin}/secure/page`)
    assert.equal(reply.status, 200)
    assert.equal(reply.json().httpVersion, '1.1')
  })
})

describe('HTTP/2 settings', () => {
  test('an origin that works over h2 stays on h2: no diagnosis, no policy', async (t) => {
    const server = await startModern({ h2: true })
    const origin = `https://localhost:${server.port}`
    const events = record(origin)
    const agent = makeAgent()
    t.after(async () => { events.stop(); await agent.close(); await server.close() })
    for (let i = 0; i < 5; i++) {
      const reply = await send(agent, `${origin}/secure/${i}`)
      assert.equal(reply.json().httpVersion, '2.0')
    }
    assert.equal(events.diagnoses.length, 0)
    assert.equal(agent.policy(origin), undefined)
    assert.ok(server.requests.every((r) => r.httpVersion === '2.0'))
  })

  test('a host pinned with http1Only never offers h2', async (t) => {
    const server = await startModern({ h2: true })
    const origin = `https://localhost:${server.port}`
    const agent = makeAgent({ hosts: { localhost: { http1Only: true } } })
    t.after(async () => { await agent.close(); await server.close() })
    const reply = await send(agent, `${origin}/`)
    assert.equal(reply.json().httpVersion, '1.1')
  })

  test('allowH2: false turns all of this off: HTTP/1.1 from the start, no http11-required', async (t) => {
    const server = await startIisLike({ h2: 'rst' })
    const origin = `https://localhost:${server.port}`
    const events = record(origin)
    const agent = makeAgent({ allowH2: false, logger: memoryLogger().logger })
    t.after(async () => { events.stop(); await agent.close(); await server.close() })
    const reply = await send(agent, `${origin}/secure`)
    assert.equal(reply.json().httpVersion, '1.1')
    assert.deepEqual(events.diagnoses.map((d) => d.fingerprint), ['renegotiation-refused'])
    assert.equal(agent.policy(origin)?.http1Only, undefined)
  })
})

/**
 * A CA of the test's own and a server certificate it signs for the names given (openssl, in a
 * temporary folder): trusted by the agent (`connect.ca`), but not for the host the request names.
 */
async function misnamedCertificate (names: string[]): Promise<{ ca: Buffer, cert: Buffer, key: Buffer }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'undici-tls-fallback-certs-'))
  const run = async (args: string[]): Promise<void> => { await execFileAsync('openssl', args, { cwd: dir }) }
  try {
    await run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=evidence test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
    await run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', `/CN=${names[0] ?? 'x'}`])
    await writeFile(path.join(dir, 'server.ext'), `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`)
    await run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'server.ext'])
    const read = async (name: string): Promise<Buffer> => await readFile(path.join(dir, name))
    return { ca: await read('ca.crt'), cert: await read('server.crt'), key: await read('server.key') }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

describe('attack: error messages read as evidence (issue 27, item 4)', () => {
  test('a trusted certificate for other names, one of them "HTTP_1_1_REQUIRED": the caller gets ERR_TLS_CERT_ALTNAME_INVALID, one attempt, no diagnosis, no policy, no request reached', async () => {
    const pki = await misnamedCertificate(['HTTP_1_1_REQUIRED.example', 'HTTP_1_1_REQUIRED'])
    for (const h2 of [true, false]) {
      const server = await startModern({ h2, cert: pki.cert, key: pki.key })
      const origin = `https://localhost:${server.port}`
      const events = record(origin)
      const agent = makeAgent({ connect: { ca: pki.ca }, logger: memoryLogger().logger })
      try {
        const error = await failure(() => send(agent, `${origin}/`, { method: 'POST', body: 'x' }))
        assert.equal(error.code, 'ERR_TLS_CERT_ALTNAME_INVALID', `h2 ${String(h2)}`)
        assert.match(error.message, /HTTP_1_1_REQUIRED/, 'the message quotes the certificate\'s names')
        assert.equal(events.diagnoses.length, 0)
        assert.deepEqual(events.attempts.map((a) => [a.stack, a.http1Only]), [['strict', false]])
        assert.equal(agent.policy(origin), undefined)
        assert.equal(server.requests.length, 0)
      } finally {
        events.stop()
        await agent.close()
        await server.close()
      }
    }
  })
})
