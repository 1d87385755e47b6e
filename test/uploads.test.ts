import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import { Client } from 'undici'
import { ConnectionTracker, type ResolvedTls } from '../src/connector.ts'
import { primeConnection, type PrimingResult } from '../src/priming.ts'
import { parseProxy } from '../src/proxy/options.ts'
import { stackTlsOptions, type StackName } from '../src/stacks.ts'
import { decideTooLarge, DEFAULT_PRIMING_BODY_LIMIT, needsPriming, type UploadOrigin } from '../src/decide.ts'
import { startApache, type ApacheServer } from './servers/apache.ts'
import { certs } from './servers/certs.ts'
import { startIisLike, type TestServer } from './servers/iis.ts'
import { startSquid, type SquidProxy } from './servers/squid.ts'

// Issue 31, the mechanism without the agent: an undici Client (one connection, HTTP/1.1) whose
// `connect` is the library's connector (ConnectionTracker) with, or without, the priming as its
// `prepare` hook, against a real Apache with Debian's default SSLRenegBufferSize and the IIS-like
// server with uploadReadAheadSize. 1 MB bodies, buffered and streamed.

const MB = 1_000_000
const payload = randomBytes(MB)
const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex')
const clientCert = { cert: certs.clientCert, key: certs.clientKey }

interface Rig {
  client: Client
  tracker: ConnectionTracker
  primings: PrimingResult[]
  primingErrors: Error[]
  close: () => Promise<void>
}

/** A Client to `origin` on `stack`, with the host's client certificate; primes `prime` on each new connection when given. */
function rig (origin: string, stack: StackName, prime?: string, userConnect: Record<string, unknown> = {}, proxy?: string): Rig {
  const primings: PrimingResult[] = []
  const primingErrors: Error[] = []
  const resolved = new Map<StackName, ResolvedTls>()
  const tracker = new ConnectionTracker({
    resolve: (s) => {
      let r = resolved.get(s)
      if (r === undefined) {
        r = { key: {}, options: stackTlsOptions(s, { ca: certs.ca, ...userConnect }, clientCert) }
        resolved.set(s, r)
      }
      return r
    },
    timeout: 10_000,
    // No TLS session resumption between connections: each connection starts from a full handshake.
    maxCachedSessions: 0,
    keepAlive: undefined,
    keepAliveInitialDelay: undefined,
    tcp: {},
    ...(proxy === undefined ? {} : { proxy: () => parseProxy('proxy', proxy) }),
    ...(prime === undefined
      ? {}
      : {
          prepare: (socket, connection, done) => {
            primeConnection(socket, { host: connection.host, path: prime, timeout: connection.timeout, handshakes: connection.handshakes })
              .then((result) => { primings.push(result); done(null) }, (error: Error) => { primingErrors.push(error); done(error) })
          }
        })
  })
  const client = new Client(origin, { connect: tracker.connectFunction(stack, false), allowH2: false, pipelining: 1 })
  return { client, tracker, primings, primingErrors, close: () => client.close() }
}

async function post (client: Client, path: string, body: 'buffer' | 'stream', data: Buffer = payload) {
  const response = await client.request({
    path,
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    // A stream has no length: undici sends it chunked, and it cannot be sent again.
    body: body === 'buffer' ? data : Readable.from((function * () { for (let i = 0; i < data.length; i += 16_384) yield data.subarray(i, i + 16_384) })())
  })
  const text = await response.body.text()
  return { status: response.statusCode, headers: response.headers, text }
}

const apacheOrigin: UploadOrigin = { stack: 'renegotiation', phaFallback: false, hasClientCert: true, limit: DEFAULT_PRIMING_BODY_LIMIT }

describe('Apache with Debian\'s default SSLRenegBufferSize (131072), TLS 1.2, a client certificate under /upload/', () => {
  let apache: ApacheServer
  let origin: string
  before(async () => {
    apache = await startApache({ uploads: true })
    origin = `https://localhost:${apache.port}`
  })
  after(async () => { await apache.close() })

  test('before: a 1 MB POST on a fresh renegotiation-stack connection gets the buffer\'s 413 (Content-Length 356, Connection: close) and the CGI never runs', async () => {
    const { client, close } = rig(origin, 'renegotiation')
    try {
      const start = apache.uploadCounts().length
      const reply = await post(client, '/upload/count', 'buffer')
      assert.equal(reply.status, 413)
      assert.equal(reply.headers.connection, 'close')
      assert.equal(reply.headers['content-length'], '356')
      assert.equal(reply.headers['x-client-verify'], 'NONE')
      assert.match(reply.text, /<title>413 Request Entity Too Large<\/title>/)
      assert.deepEqual(apache.uploadCounts().slice(start), [])
      assert.match(apache.errorLog(), /AH02018: request body exceeds maximum size \(131072\) for SSL buffer/)
      // The rule: not renegotiated, not primed, TLS 1.2, an origin with a client certificate: prime and send again.
      assert.deepEqual(decideTooLarge({ origin: apacheOrigin, renegotiationsBefore: 0, protocol: 'TLSv1.2', bodyReplayable: true, primed: false, resent: false }), { kind: 'prime-and-resend' })
    } finally {
      await close()
    }
  })

  test('before, streamed: a chunked 1 MB POST gets the same 413 and the CGI never runs', async () => {
    const { client, close } = rig(origin, 'renegotiation')
    try {
      const start = apache.uploadCounts().length
      const reply = await post(client, '/upload/count', 'stream')
      assert.equal(reply.status, 413)
      assert.equal(reply.headers.connection, 'close')
      assert.deepEqual(apache.uploadCounts().slice(start), [])
    } finally {
      await close()
    }
  })

  test('primed: HEAD renegotiates and presents the certificate, then a 1 MB buffered and a 1 MB streamed POST on the same connection are each counted once', async () => {
    const { client, primings, close } = rig(origin, 'renegotiation', '/upload/count?token=not-sent')
    try {
      const start = apache.uploadCounts().length
      const buffered = await post(client, '/upload/count', 'buffer')
      assert.equal(buffered.status, 200)
      assert.equal(buffered.text, `counted ${MB} bytes\n`)
      assert.equal(buffered.headers['x-client-verify'], 'SUCCESS')
      assert.equal(buffered.headers['x-client-subject'], 'CN=test client')
      const streamed = await post(client, '/upload/count', 'stream')
      assert.equal(streamed.status, 200)
      assert.equal(streamed.text, `counted ${MB} bytes\n`)
      // One connection, primed once: one extra round trip for two uploads, and the query stayed out of it.
      assert.deepEqual(primings, [{ outcome: 'renegotiated', status: 200, renegotiations: 1, reusable: true }])
      assert.deepEqual(apache.uploadCounts().slice(start), [
        'HEAD /upload/count - 0',
        `POST /upload/count ${MB} ${MB}`,
        `POST /upload/count - ${MB}`
      ])
      assert.doesNotMatch(apache.accessLog(), /token=not-sent/)
    } finally {
      await close()
    }
  })

  test('a buffer 413 on an unprimed connection, then one priming and one resend of the same Buffer: processed exactly once', async () => {
    const first = rig(origin, 'renegotiation')
    const second = rig(origin, 'renegotiation', '/upload/count')
    try {
      const start = apache.uploadCounts().length
      const refused = await post(first.client, '/upload/count', 'buffer')
      assert.equal(refused.status, 413)
      const step = decideTooLarge({ origin: apacheOrigin, renegotiationsBefore: 0, protocol: 'TLSv1.2', bodyReplayable: true, primed: false, resent: false })
      assert.deepEqual(step, { kind: 'prime-and-resend' })
      const resent = await post(second.client, '/upload/count', 'buffer')
      assert.equal(resent.status, 200)
      assert.equal(resent.text, `counted ${MB} bytes\n`)
      assert.deepEqual(apache.uploadCounts().slice(start), ['HEAD /upload/count - 0', `POST /upload/count ${MB} ${MB}`])
      // A second 413 would be delivered: never a third send.
      assert.deepEqual(decideTooLarge({ origin: apacheOrigin, renegotiationsBefore: 0, protocol: 'TLSv1.2', bodyReplayable: true, primed: false, resent: true }),
        { kind: 'deliver', reason: 'already-resent' })
    } finally {
      await first.close()
      await second.close()
    }
  })

  test('an application limit (LimitRequestBody 262144) on a primed connection: its 413 (no Content-Length) is delivered, nothing runs', async () => {
    const { client, primings, close } = rig(origin, 'renegotiation', '/upload/limited/count')
    try {
      const start = apache.uploadCounts().length
      const reply = await post(client, '/upload/limited/count', 'buffer')
      assert.equal(reply.status, 413)
      assert.equal(reply.headers['content-length'], undefined)
      assert.equal(reply.headers.connection, 'close')
      assert.equal(primings[0]?.outcome, 'renegotiated')
      assert.deepEqual(apache.uploadCounts().slice(start), ['HEAD /upload/limited/count - 0'])
      assert.deepEqual(decideTooLarge({ origin: apacheOrigin, renegotiationsBefore: primings[0]?.renegotiations ?? 0, protocol: 'TLSv1.2', bodyReplayable: true, primed: true, resent: false }),
        { kind: 'deliver', reason: 'renegotiated' })
    } finally {
      await close()
    }
  })

  test('a location without a client certificate: priming answers without renegotiating; its LimitRequestBody 413 is delivered', async () => {
    const { client, primings, close } = rig(origin, 'renegotiation', '/limited/count')
    try {
      const start = apache.uploadCounts().length
      const reply = await post(client, '/limited/count', 'buffer', payload.subarray(0, 100_000))
      assert.equal(reply.status, 413)
      assert.deepEqual(primings, [{ outcome: 'not-renegotiated', status: 200, renegotiations: 0, reusable: true }])
      assert.deepEqual(apache.uploadCounts().slice(start), ['HEAD /limited/count - 0'])
      assert.deepEqual(decideTooLarge({ origin: apacheOrigin, renegotiationsBefore: 0, protocol: 'TLSv1.2', bodyReplayable: true, primed: true, resent: false }),
        { kind: 'deliver', reason: 'primed' })
    } finally {
      await close()
    }
  })

  test('a 404 under the location still renegotiates: priming counts the handshake, not the status', async () => {
    const { client, primings, close } = rig(origin, 'renegotiation', '/upload/missing')
    try {
      const reply = await post(client, '/upload/count', 'buffer')
      assert.equal(reply.status, 200)
      assert.equal(reply.text, `counted ${MB} bytes\n`)
      assert.deepEqual(primings, [{ outcome: 'renegotiated', status: 404, renegotiations: 1, reusable: true }])
    } finally {
      await close()
    }
  })

  test('on the strict stack the priming HEAD meets the refused renegotiation: the connect fails, the connector saw the server\'s bytes, and no upload is sent', async () => {
    const { client, tracker, primingErrors, close } = rig(origin, 'strict', '/upload/count')
    try {
      const start = apache.uploadCounts().length
      await assert.rejects(post(client, '/upload/count', 'buffer'))
      assert.equal(primingErrors.length, 1)
      const snapshot = tracker.snapshotFor(primingErrors[0])
      assert.equal(snapshot?.handshakeComplete, true)
      assert.equal(snapshot?.plainRead, 0)
      assert.ok((snapshot?.rawRead ?? 0) > 0, 'the HelloRequest (and the alert or close_notify) was read')
      assert.deepEqual(apache.uploadCounts().slice(start).filter((line) => line.startsWith('POST')), [])
    } finally {
      await close()
    }
  })
})

describe('through a real Squid tunnel to Apache (default SSLRenegBufferSize)', () => {
  let apache: ApacheServer
  let squid: SquidProxy
  before(async () => {
    apache = await startApache({ uploads: true })
    squid = await startSquid()
  })
  after(async () => {
    await squid.close()
    await apache.close()
  })

  test('the priming runs over the tunnel like over TCP: without it 413, with it a 1 MB streamed POST counted once, one CONNECT per connection', async () => {
    const origin = `https://localhost:${apache.port}`
    const proxy = `http://127.0.0.1:${squid.open}`
    const before = rig(origin, 'renegotiation', undefined, {}, proxy)
    const primed = rig(origin, 'renegotiation', '/upload/count', {}, proxy)
    try {
      const start = apache.uploadCounts().length
      assert.equal((await post(before.client, '/upload/count', 'stream')).status, 413)
      const reply = await post(primed.client, '/upload/count', 'stream')
      assert.equal(reply.status, 200)
      assert.equal(reply.text, `counted ${MB} bytes\n`)
      assert.deepEqual(primed.primings, [{ outcome: 'renegotiated', status: 200, renegotiations: 1, reusable: true }])
      assert.deepEqual(apache.uploadCounts().slice(start), ['HEAD /upload/count - 0', `POST /upload/count - ${MB}`])
    } finally {
      await before.close()
      await primed.close()
    }
    const tunnels = await squid.waitForLog(new RegExp(`TCP_TUNNEL/200 .*CONNECT localhost:${apache.port}`), 2)
    assert.equal(tunnels.filter((line) => line.includes(`CONNECT localhost:${apache.port}`)).length, 2)
  })
})

describe('Apache with Debian\'s default protocols (TLS 1.3 on) and the default SSLRenegBufferSize', () => {
  let apache: ApacheServer
  let origin: string
  before(async () => {
    apache = await startApache({ protocols: 'all -SSLv3', uploads: true })
    origin = `https://localhost:${apache.port}`
  })
  after(async () => { await apache.close() })

  test('a TLS 1.3 connection is not primed (no request sent): post-handshake auth is the renegotiation stack\'s, on TLS 1.2', async () => {
    const { client, primings, close } = rig(origin, 'strict', '/upload/count')
    try {
      const start = apache.uploadCounts().length
      const reply = await post(client, '/upload/count', 'buffer', payload.subarray(0, 1000))
      assert.equal(reply.status, 403)
      assert.match(reply.text, /Cannot perform Post-Handshake Authentication/)
      assert.deepEqual(primings, [{ outcome: 'not-applicable', status: undefined, renegotiations: 0, reusable: true }])
      assert.deepEqual(apache.uploadCounts().slice(start), [])
    } finally {
      await close()
    }
  })

  test('the renegotiation stack (at most TLS 1.2): without priming 413, with priming 1 MB buffered and streamed POSTs counted once', async () => {
    const before = rig(origin, 'renegotiation')
    const primed = rig(origin, 'renegotiation', '/upload/count')
    try {
      const start = apache.uploadCounts().length
      const refused = await post(before.client, '/upload/count', 'buffer')
      assert.equal(refused.status, 413)
      const buffered = await post(primed.client, '/upload/count', 'buffer')
      const streamed = await post(primed.client, '/upload/count', 'stream')
      assert.deepEqual([buffered.status, streamed.status], [200, 200])
      assert.deepEqual([buffered.text, streamed.text], [`counted ${MB} bytes\n`, `counted ${MB} bytes\n`])
      assert.equal(buffered.headers['x-client-verify'], 'SUCCESS')
      assert.deepEqual(primed.primings, [{ outcome: 'renegotiated', status: 200, renegotiations: 1, reusable: true }])
      assert.deepEqual(apache.uploadCounts().slice(start), ['HEAD /upload/count - 0', `POST /upload/count ${MB} ${MB}`, `POST /upload/count - ${MB}`])
      assert.match(await apache.waitForAccessLog(/"POST \/upload\/count HTTP\/1.1" 200 .* TLSv1.2 /, 2), /TLSv1.2/)
    } finally {
      await before.close()
      await primed.close()
    }
  })
})

describe('the IIS-like server with uploadReadAheadSize 49152', () => {
  let iis: TestServer
  let origin: string
  before(async () => {
    iis = await startIisLike({ uploadReadAheadSize: 49_152 })
    origin = `https://localhost:${iis.port}`
  })
  after(async () => { await iis.close() })

  test('before: a 1 MB POST to /secure gets 413 before any renegotiation, and nothing is acted on', async () => {
    const { client, close } = rig(origin, 'renegotiation')
    try {
      const effects = iis.stats.effects.length
      const reply = await post(client, '/secure/upload', 'buffer')
      assert.equal(reply.status, 413)
      assert.equal(reply.headers.connection, 'close')
      assert.equal(iis.stats.tooLarge, 1)
      assert.equal(iis.stats.renegotiations, 0)
      assert.deepEqual(iis.stats.effects.slice(effects), [])
    } finally {
      await close()
    }
  })

  test('a body at the default limit (48 KiB) is held across the renegotiation without priming: the rule leaves it alone', async () => {
    const { client, close } = rig(origin, 'renegotiation')
    try {
      const body = payload.subarray(0, DEFAULT_PRIMING_BODY_LIMIT)
      assert.equal(needsPriming(body.length, apacheOrigin), false)
      const reply = await post(client, '/secure/small', 'buffer', body)
      assert.equal(reply.status, 200)
      assert.equal(JSON.parse(reply.text).bodySha256, sha(body))
      assert.equal(JSON.parse(reply.text).renegotiated, true)
    } finally {
      await close()
    }
  })

  test('on the strict stack the priming HEAD is reset after the refused HelloRequest: ECONNRESET, with the server\'s record counted, and nothing is acted on', async () => {
    const { client, tracker, primingErrors, close } = rig(origin, 'strict', '/secure/upload')
    try {
      const effects = iis.stats.effects.length
      await assert.rejects(post(client, '/secure/upload', 'buffer'))
      assert.equal((primingErrors[0] as Error & { code?: string } | undefined)?.code, 'ECONNRESET')
      const snapshot = tracker.snapshotFor(primingErrors[0])
      assert.equal(snapshot?.handshakeComplete, true)
      assert.equal(snapshot?.plainRead, 0)
      assert.ok((snapshot?.rawRead ?? 0) > 0, 'the encrypted HelloRequest was read')
      assert.deepEqual(iis.stats.effects.slice(effects), [])
    } finally {
      await close()
    }
  })

  test('a handshake that fails (a CA that does not sign the server) reaches undici with its own error: nothing is primed or sent', async () => {
    const { client, primings, primingErrors, close } = rig(origin, 'renegotiation', '/secure/upload', { ca: certs.localhostCa })
    try {
      const requests = iis.stats.requests.length
      await assert.rejects(post(client, '/secure/upload', 'buffer'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' })
      assert.deepEqual([primings, primingErrors], [[], []])
      assert.deepEqual(iis.stats.requests.slice(requests), [])
    } finally {
      await close()
    }
  })

  test('primed: 1 MB buffered and streamed POSTs on the renegotiated connection are each received once', async () => {
    const { client, primings, close } = rig(origin, 'renegotiation', '/secure/upload')
    try {
      const bodies = iis.stats.bodies.length
      const refusedBefore = iis.stats.tooLarge
      assert.equal(needsPriming(MB, apacheOrigin), true)
      assert.equal(needsPriming(undefined, apacheOrigin), true)
      const buffered = await post(client, '/secure/upload', 'buffer')
      const streamed = await post(client, '/secure/upload', 'stream')
      assert.deepEqual([buffered.status, streamed.status], [200, 200])
      for (const reply of [buffered, streamed]) {
        const info = JSON.parse(reply.text)
        assert.equal(info.bodyLength, MB)
        assert.equal(info.bodySha256, sha(payload))
        assert.equal(info.renegotiated, true)
      }
      assert.deepEqual(primings, [{ outcome: 'renegotiated', status: 200, renegotiations: 1, reusable: true }])
      // The HEAD's empty body, then each upload once.
      assert.deepEqual(iis.stats.bodies.slice(bodies), [sha(Buffer.alloc(0)), sha(payload), sha(payload)])
      assert.equal(iis.stats.tooLarge, refusedBefore)
    } finally {
      await close()
    }
  })
})
