import assert from 'node:assert/strict'
import http from 'node:http'
import net from 'node:net'
import { after, before, describe, test } from 'node:test'
import { startApache, type ApacheServer } from './servers/apache.ts'
import { startDante, type DanteProxy } from './servers/dante.ts'
import { startMicrosocks } from './servers/microsocks.ts'
import { startGnutls, type GnutlsServer } from './servers/gnutls.ts'
import { startIisLike, type TestServer } from './servers/iis.ts'
import { startModern, type ModernServer } from './servers/modern.ts'
import { startOnPath } from './servers/onpath.ts'
import { freePort } from './servers/ports.ts'
import { startSquid, type SquidProxy } from './servers/squid.ts'
import { certs, clientCert, failure, makeAgent, memoryLogger, record, send } from './helpers.ts'

/** Squid's access-log lines for tunnels to this port. */
const tunnelsTo = (port: number): RegExp => new RegExp(`TCP_TUNNEL/200 .* CONNECT (localhost|127\\.0\\.0\\.1):${port} `)

describe('through Squid (HTTP CONNECT)', () => {
  let squid: SquidProxy
  let iis: TestServer
  let modern: ModernServer
  before(async () => {
    squid = await startSquid()
    iis = await startIisLike({ onRefused: 'reset' })
    modern = await startModern({ maxVersion: 'TLSv1.2' })
  })
  after(async () => {
    await squid.close()
    await iis.close()
    await modern.close()
  })

  test('an IIS-like host falls back to renegotiation through the tunnel, with verified evidence that counts the origin\'s TLS only, and every attempt was tunnelled', async () => {
    const origin = `https://localhost:${iis.port}`
    const events = record(origin)
    const agent = makeAgent({ proxy: `http://127.0.0.1:${squid.open}` })
    const connectionsBefore = iis.stats.connections
    try {
      const reply = await send(agent, `${origin}/secure/report`)
      assert.equal(reply.status, 200)
      assert.equal(reply.json().renegotiated, true)
      const entry = agent.policy(origin)
      assert.equal(entry?.stack, 'renegotiation')
      assert.equal(entry?.fingerprint, 'renegotiation-refused')
      assert.equal(entry?.evidence.verified, true)
      // Squid closes the tunnel (FIN) when the server resets: a close, and the same records.
      assert.ok(['ECONNRESET', 'UND_ERR_SOCKET'].includes(entry?.evidence.errorCode ?? ''), entry?.evidence.errorCode)
      assert.deepEqual(entry?.evidence.records, { helloRequests: 1, serverAlerts: 0, clientAlerts: 1 })
      // One encrypted HelloRequest (33 bytes with AES-GCM): not one byte of the proxy's "200 Connection established".
      assert.equal(entry?.evidence.bytesReceived, 33)
      assert.deepEqual(events.attempts.map((a) => [a.stack, a.reason]), [['strict', 'initial'], ['renegotiation', 'fallback']])
      await agent.close()
      const tunnels = await squid.waitForLog(tunnelsTo(iis.port), 2)
      assert.equal(tunnels.length, 2, 'each attempt went through its own tunnel')
      assert.equal(iis.stats.connections - connectionsBefore, 2, 'and the server saw no other connection')
    } finally {
      events.stop()
      if (!agent.closed) await agent.close()
    }
  })

  test('a modern host through the proxy: strict stack, no policy, one tunnel', async () => {
    const origin = `https://localhost:${modern.port}`
    const events = record(origin)
    const agent = makeAgent({ proxy: { uri: `http://127.0.0.1:${squid.open}` } })
    const connectionsBefore = modern.connections
    try {
      for (let i = 0; i < 3; i++) assert.equal((await send(agent, `${origin}/`)).status, 200)
      assert.equal(agent.policy(origin), undefined)
      assert.deepEqual(events.attempts.map((a) => a.stack), ['strict', 'strict', 'strict'])
      assert.equal(events.diagnoses.length, 0)
      await agent.close()
      const connections = modern.connections - connectionsBefore
      assert.ok(connections >= 1)
      assert.equal((await squid.waitForLog(tunnelsTo(modern.port), connections)).length, connections, 'one tunnel per connection')
    } finally {
      events.stop()
      if (!agent.closed) await agent.close()
    }
  })

  test('Basic auth from the URL\'s credentials opens the tunnel; the password is in no log line, event or policy', async (t) => {
    const origin = `https://localhost:${iis.port}`
    const { logger, lines } = memoryLogger()
    const events = record(origin)
    const agent = makeAgent({ proxy: `http://${squid.user}:${squid.password}@127.0.0.1:${squid.auth}`, logger })
    t.after(async () => { events.stop(); await agent.close() })
    assert.equal((await send(agent, `${origin}/secure/auth`)).status, 200)
    assert.equal(agent.policy(origin)?.stack, 'renegotiation')
    const everything = JSON.stringify({ lines, attempts: events.attempts, diagnoses: events.diagnoses, fallbacks: events.fallbacks, policies: agent.policies() })
    assert.ok(!everything.includes(squid.password))
    assert.ok(!everything.includes(Buffer.from(`${squid.user}:${squid.password}`).toString('base64')))
    assert.ok((await squid.waitForLog(new RegExp(`TCP_TUNNEL/200 .* CONNECT localhost:${iis.port} ${squid.user} `), 1)).length >= 1)
  })

  test('token: the Proxy-Authorization value as given, as undici\'s ProxyAgent takes it', async (t) => {
    const token = `Basic ${Buffer.from(`${squid.user}:${squid.password}`).toString('base64')}`
    const agent = makeAgent({ proxy: { uri: `http://127.0.0.1:${squid.auth}`, token } })
    t.after(async () => { await agent.close() })
    assert.equal((await send(agent, `https://localhost:${modern.port}/`)).status, 200)
  })

  describe('a proxy failure is never a fingerprint', () => {
    const cases: Array<{ name: string, proxy: () => string, status: number | undefined, message: RegExp }> = [
      { name: '407: credentials missing', proxy: () => `http://127.0.0.1:${squid.auth}`, status: 407, message: /407 Proxy Authentication Required: it needs credentials/ },
      { name: '407: wrong password', proxy: () => `http://${squid.user}:wrong-secret-1234@127.0.0.1:${squid.auth}`, status: 407, message: /407 Proxy Authentication Required: it rejected the credentials sent/ },
      { name: '403: CONNECT refused', proxy: () => `http://127.0.0.1:${squid.deny}`, status: 403, message: /403 Forbidden/ }
    ]
    for (const c of cases) {
      test(`${c.name}: TLS_FALLBACK_PROXY_ERROR with the proxy and its status, one attempt, no policy`, async () => {
        const origin = `https://localhost:${iis.port}`
        const events = record(origin)
        const { logger, lines } = memoryLogger()
        const agent = makeAgent({ proxy: c.proxy(), logger })
        try {
          for (const path of ['/', '/secure/x']) {
            const error = await failure(() => send(agent, `${origin}${path}`))
            assert.equal(error.code, 'TLS_FALLBACK_PROXY_ERROR')
            assert.equal(error.statusCode, c.status)
            assert.match(error.message, c.message)
            assert.match(error.proxy, /^http:\/\/(\*\*\*@)?127\.0\.0\.1:\d+$/)
            assert.equal(error.origin, origin)
            assert.ok(!error.message.includes('wrong-secret-1234') && !String(error.proxy).includes('wrong-secret-1234'))
          }
          assert.deepEqual(events.attempts.map((a) => a.stack), ['strict', 'strict'], 'no other stack, no retry')
          assert.ok(!JSON.stringify(lines).includes('wrong-secret-1234'), 'no log line shows the password')
          assert.equal(events.diagnoses.length, 0)
          assert.equal(agent.policy(origin), undefined)
        } finally {
          events.stop()
          await agent.close()
        }
      })
    }

    test('503: the proxy cannot reach the origin (closed port)', async (t) => {
      const closed = await freePort()
      const origin = `https://localhost:${closed}`
      const agent = makeAgent({ proxy: `http://127.0.0.1:${squid.open}` })
      t.after(async () => { await agent.close() })
      const error = await failure(() => send(agent, `${origin}/`))
      assert.equal(error.code, 'TLS_FALLBACK_PROXY_ERROR')
      assert.ok(error.statusCode === 503 || error.statusCode === 502, String(error.statusCode))
      assert.match(error.message, /could not reach the origin/)
      assert.equal(agent.policy(origin), undefined)
    })

    test('refused: nothing listens on the proxy\'s port', async (t) => {
      const port = await freePort()
      const agent = makeAgent({ proxy: `http://user:refused-secret-99@127.0.0.1:${port}` })
      t.after(async () => { await agent.close() })
      const error = await failure(() => send(agent, `https://localhost:${iis.port}/secure/x`))
      assert.equal(error.code, 'TLS_FALLBACK_PROXY_ERROR')
      assert.equal(error.cause?.code, 'ECONNREFUSED')
      assert.equal(error.proxy, `http://***@127.0.0.1:${port}`)
      assert.ok(!error.message.includes('refused-secret-99'))
      assert.equal(agent.policy(`https://localhost:${iis.port}`), undefined)
    })

    test('reset: the proxy resets the connection during the CONNECT', async (t) => {
      const box = net.createServer((socket) => { socket.once('data', () => socket.resetAndDestroy()) })
      await new Promise<void>((resolve) => box.listen(0, '127.0.0.1', resolve))
      const port = (box.address() as net.AddressInfo).port
      const events = record()
      const agent = makeAgent({ proxy: `http://127.0.0.1:${port}` })
      t.after(async () => { events.stop(); await agent.close(); box.close() })
      const error = await failure(() => send(agent, `https://localhost:${iis.port}/secure/x`))
      assert.equal(error.code, 'TLS_FALLBACK_PROXY_ERROR')
      assert.equal(error.statusCode, undefined)
      assert.equal(events.attempts.length, 1, 'a reset by the proxy is not retried as a reset by the origin')
      assert.equal(events.diagnoses.length, 0)
    })

    test('a proxy that accepts the connection and never answers the CONNECT: a proxy error after connectTimeout', async (t) => {
      const box = net.createServer(() => {})
      await new Promise<void>((resolve) => box.listen(0, '127.0.0.1', resolve))
      const port = (box.address() as net.AddressInfo).port
      const agent = makeAgent({ proxy: `http://127.0.0.1:${port}`, connectTimeout: 300 })
      t.after(async () => { await agent.close(); box.close() })
      const error = await failure(() => send(agent, `https://localhost:${iis.port}/`))
      assert.equal(error.code, 'TLS_FALLBACK_PROXY_ERROR')
      assert.match(error.message, /did not open the tunnel within 300 ms/)
    })

    test('a proxy that answers 200 then sends bytes before the client spoke is refused', async (t) => {
      const box = net.createServer((socket) => { socket.once('data', () => socket.write('HTTP/1.1 200 OK\r\n\r\n\x16\x03\x03\x00\x04\x0e\x00\x00\x00')) })
      await new Promise<void>((resolve) => box.listen(0, '127.0.0.1', resolve))
      const port = (box.address() as net.AddressInfo).port
      const agent = makeAgent({ proxy: `http://127.0.0.1:${port}` })
      t.after(async () => { await agent.close(); box.close() })
      const error = await failure(() => send(agent, `https://localhost:${iis.port}/`))
      assert.equal(error.code, 'TLS_FALLBACK_PROXY_ERROR')
      assert.match(error.message, /sent bytes after its CONNECT answer/)
    })
  })

  test('an on-path RST behind the proxy moves nothing; a forged record behind it neither', async () => {
    for (const mode of ['rst', 'forged-record'] as const) {
      const box = await startOnPath(mode)
      const origin = `https://localhost:${box.port}`
      const events = record(origin)
      const agent = makeAgent({ proxy: `http://127.0.0.1:${squid.open}` })
      try {
        for (let i = 0; i < 3; i++) {
          const error = await failure(() => send(agent, `${origin}/`))
          assert.notEqual(error.code, 'TLS_FALLBACK_PROXY_ERROR', 'the tunnel was up: not the proxy\'s failure')
        }
        assert.equal(events.diagnoses.length, 0, `${mode}: ${JSON.stringify(events.diagnoses)}`)
        assert.equal(events.fallbacks.length, 0, mode)
        assert.equal(agent.policy(origin), undefined, mode)
        assert.ok(events.attempts.every((a) => a.stack === 'strict'), mode)
      } finally {
        events.stop()
        await agent.close()
        await box.close()
      }
    }
  })

  test('hosts[...].proxy: false goes direct (Squid sees no tunnel to it); another host goes through the proxy', async () => {
    const direct = await startModern({ maxVersion: 'TLSv1.2' })
    const proxied = await startModern({ maxVersion: 'TLSv1.2' })
    const agent = makeAgent({ proxy: `http://127.0.0.1:${squid.open}`, hosts: { [`localhost:${direct.port}`]: { proxy: false } } })
    try {
      assert.equal((await send(agent, `https://localhost:${direct.port}/direct`)).status, 200)
      assert.equal((await send(agent, `https://localhost:${proxied.port}/proxied`)).status, 200)
      await agent.close()
      assert.equal((await squid.waitForLog(tunnelsTo(proxied.port), 1)).length, 1)
      assert.equal(squid.accessLog().filter((l) => l.includes(`:${direct.port} `)).length, 0)
      assert.equal(direct.connections, 1)
    } finally {
      if (!agent.closed) await agent.close()
      await direct.close()
      await proxied.close()
    }
  })

  test('hosts[...].proxy: one host through the proxy, the others direct', async () => {
    const own = await startModern({ maxVersion: 'TLSv1.2' })
    const agent = makeAgent({ hosts: { [`localhost:${own.port}`]: { proxy: `http://127.0.0.1:${squid.open}` } } })
    try {
      assert.equal((await send(agent, `https://localhost:${own.port}/`)).status, 200)
      await agent.close()
      assert.equal((await squid.waitForLog(tunnelsTo(own.port), 1)).length, 1)
    } finally {
      if (!agent.closed) await agent.close()
      await own.close()
    }
  })

  test('proxy: \'env\' takes HTTPS_PROXY (lower case first) and NO_PROXY with undici\'s rules', async () => {
    const saved = { ...process.env }
    const a = await startModern({ maxVersion: 'TLSv1.2' })
    process.env.https_proxy = `http://127.0.0.1:${squid.open}`
    process.env.HTTPS_PROXY = 'http://127.0.0.1:1'
    process.env.NO_PROXY = `example.invalid, 127.0.0.1:${a.port}`
    delete process.env.no_proxy
    const agent = makeAgent({ proxy: 'env' })
    try {
      // Same server under two names: 127.0.0.1 matches NO_PROXY (direct), localhost does not (tunnelled).
      assert.equal((await send(agent, `https://127.0.0.1:${a.port}/`)).status, 200)
      assert.equal((await send(agent, `https://localhost:${a.port}/`)).status, 200)
      await agent.close()
      const lines = await squid.waitForLog(tunnelsTo(a.port), 1)
      assert.equal(lines.length, 1)
      assert.match(lines[0] as string, /CONNECT localhost:/)
      assert.equal(squid.accessLog().filter((l) => l.includes(`CONNECT 127.0.0.1:${a.port}`)).length, 0)
    } finally {
      process.env = saved
      if (!agent.closed) await agent.close()
      await a.close()
    }
  })

  test('plain http:// origins are forwarded in absolute form as undici\'s ProxyAgent does', async (t) => {
    const server = http.createServer((req, res) => res.end(`plain ${req.url ?? ''}`))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as net.AddressInfo).port
    const agent = makeAgent({ proxy: `http://127.0.0.1:${squid.open}` })
    t.after(async () => { await agent.close(); server.close() })
    const reply = await send(agent, `http://127.0.0.1:${port}/hello?x=1`)
    assert.equal(reply.text, 'plain /hello?x=1')
    const lines = await squid.waitForLog(new RegExp(`GET http://127\\.0\\.0\\.1:${port}/hello`), 1)
    assert.equal(lines.length, 1)
  })

  test('HTTP/2 through the tunnel: an IIS-like host behind h2 gives http11-required, then the renegotiation stack over HTTP/1.1', async () => {
    const h2 = await startIisLike({ onRefused: 'reset', h2: 'rst' })
    const origin = `https://localhost:${h2.port}`
    const agent = makeAgent({ proxy: `http://127.0.0.1:${squid.open}` })
    try {
      const reply = await send(agent, `${origin}/secure/h2`)
      assert.equal(reply.status, 200)
      assert.equal(agent.policy(origin)?.stack, 'renegotiation')
      assert.equal(agent.policy(origin)?.http1Only, true)
    } finally {
      await agent.close()
      await h2.close()
    }
  })

  test('cold burst through the proxy: one ladder, every request answered, every attempt tunnelled', async () => {
    const burstServer = await startIisLike({ onRefused: 'reset' })
    const origin = `https://localhost:${burstServer.port}`
    const events = record(origin)
    const agent = makeAgent({ proxy: `http://127.0.0.1:${squid.open}` })
    try {
      const replies = await Promise.all(Array.from({ length: 12 }, async (_, i) => await send(agent, `${origin}/secure/burst-${i}`)))
      assert.ok(replies.every((r) => r.status === 200))
      assert.equal(events.fallbacks.length, 1, 'one transition')
      assert.equal(agent.policy(origin)?.stack, 'renegotiation')
      const strictAttempts = events.attempts.filter((a) => a.stack === 'strict').length
      assert.ok(strictAttempts <= 2, `at most the leader (and one follower) tried strict: ${strictAttempts}`)
      await agent.close()
      const tunnels = await squid.waitForLog(tunnelsTo(burstServer.port), burstServer.stats.connections)
      assert.equal(tunnels.length, burstServer.stats.connections, 'every connection the server saw came through a tunnel')
    } finally {
      events.stop()
      if (!agent.closed) await agent.close()
      await burstServer.close()
    }
  })
})

describe('through Squid\'s https_port (TLS to the proxy)', () => {
  let squid: SquidProxy
  let iis: TestServer
  before(async () => {
    squid = await startSquid()
    iis = await startIisLike({ onRefused: 'reset' })
  })
  after(async () => {
    await squid.close()
    await iis.close()
  })

  test('proxyTls goes to the proxy, the agent\'s TLS options to the origin: the IIS-like host falls back with the same evidence', async () => {
    assert.ok(squid.tls !== undefined, 'Squid opened its https_port')
    const origin = `https://localhost:${iis.port}`
    const agent = makeAgent({ proxy: { uri: `https://localhost:${squid.tls}`, proxyTls: { ca: certs.ca } } })
    try {
      assert.equal((await send(agent, `${origin}/secure/tls`)).status, 200)
      const entry = agent.policy(origin)
      assert.equal(entry?.stack, 'renegotiation')
      assert.equal(entry?.evidence.verified, true)
      assert.equal(entry?.evidence.bytesReceived, 33)
      await agent.close()
      assert.equal((await squid.waitForLog(tunnelsTo(iis.port), 2)).length, 2)
    } finally {
      if (!agent.closed) await agent.close()
    }
  })

  test('a proxy certificate the client does not trust is a proxy error, not a fingerprint', async (t) => {
    const origin = `https://localhost:${iis.port}`
    const events = record(origin)
    // The agent trusts the test CA for origins; the proxy gets no CA: Node's default roots.
    const agent = makeAgent({ proxy: `https://localhost:${squid.tls}` })
    t.after(async () => { events.stop(); await agent.close() })
    const error = await failure(() => send(agent, `${origin}/secure/x`))
    assert.equal(error.code, 'TLS_FALLBACK_PROXY_ERROR')
    assert.match(String(error.cause?.code), /CERT|SELF_SIGNED|ISSUER|VERIFY/)
    assert.equal(events.attempts.length, 1)
    assert.equal(agent.policy(origin), undefined)
  })
})

describe('real servers through the proxy', () => {
  let squid: SquidProxy
  let apache: ApacheServer
  let legacy: GnutlsServer
  before(async () => {
    squid = await startSquid({ tls: false })
    apache = await startApache()
    legacy = await startGnutls()
  })
  after(async () => {
    await squid.close()
    await apache.close()
    await legacy.close()
  })

  test('Apache: the host\'s client certificate is presented to the origin through the tunnel', async () => {
    const origin = `https://localhost:${apache.port}`
    const agent = makeAgent({ proxy: `http://127.0.0.1:${squid.open}`, hosts: { localhost: { clientCert } } })
    try {
      const secure = await send(agent, `${origin}/secure`)
      assert.equal(secure.status, 200)
      assert.equal(secure.headers['x-client-verify'], 'SUCCESS')
      assert.equal(agent.policy(origin)?.stack, 'renegotiation')
      assert.equal(agent.policy(origin)?.evidence.verified, true)
      await agent.close()
      assert.ok((await squid.waitForLog(tunnelsTo(apache.port), 2)).length >= 2)
    } finally {
      if (!agent.closed) await agent.close()
    }
  })

  test('GnuTLS without RFC 5746: with the host\'s consent, legacy-server-connect through the tunnel; the RFC 5746 check takes the tunnel too', async () => {
    const origin = `https://localhost:${legacy.port}`
    const direct0 = { lookups: 0 }
    const agent = makeAgent({
      proxy: `http://127.0.0.1:${squid.open}`,
      hosts: { [`localhost:${legacy.port}`]: { fallback: ['legacy-server-connect'] } },
      // No direct route: a connection that skipped the proxy would have to look the origin up.
      connect: { ca: certs.ca, lookup: (_host: string, _options: unknown, callback: (error: Error) => void) => { direct0.lookups += 1; callback(new Error('no direct route')) } } as never,
      logger: memoryLogger().logger
    })
    const direct = makeAgent({ hosts: { [`localhost:${legacy.port}`]: { fallback: ['legacy-server-connect'] } }, logger: memoryLogger().logger })
    try {
      assert.equal((await send(agent, `${origin}/`)).status, 200)
      assert.equal(agent.policy(origin)?.stack, 'legacy-server-connect')
      assert.equal(agent.policy(origin)?.fingerprint, 'unsafe-legacy-renegotiation')
      assert.equal((await send(direct, `${origin}/`)).status, 200)
      // The handshake failed before any request: the counts are the TLS handshake's only, the same
      // as over a direct connection (not one byte of the CONNECT exchange).
      assert.equal(agent.policy(origin)?.evidence.bytesSent, direct.policy(origin)?.evidence.bytesSent)
      assert.equal(agent.policy(origin)?.evidence.bytesReceived, direct.policy(origin)?.evidence.bytesReceived)
      assert.equal(agent.policy(origin)?.evidence.verified, true)
      assert.match(agent.policy(origin)?.evidence.summary ?? '', /completed handshake confirmed/)
      assert.equal(direct0.lookups, 0)
      await agent.close()
      // The strict attempt, the RFC 5746 check and the legacy attempt: each one tunnelled.
      assert.ok((await squid.waitForLog(tunnelsTo(legacy.port), 3)).length >= 3)
    } finally {
      if (!agent.closed) await agent.close()
      await direct.close()
    }
  })
})

describe('through Dante (SOCKS5)', () => {
  let dante: DanteProxy
  let iis: TestServer
  before(async () => {
    dante = await startDante()
    iis = await startIisLike({ onRefused: 'reset' })
  })
  after(async () => {
    await dante.close()
    await iis.close()
  })

  test('the IIS-like host falls back through SOCKS5 with verified evidence; Dante logged a tunnel per attempt', async (t) => {
    const origin = `https://localhost:${iis.port}`
    const agent = makeAgent({ proxy: `socks5://127.0.0.1:${dante.port}` })
    t.after(async () => { await agent.close() })
    assert.equal((await send(agent, `${origin}/secure/socks`)).status, 200)
    const entry = agent.policy(origin)
    assert.equal(entry?.stack, 'renegotiation')
    assert.equal(entry?.evidence.verified, true)
    assert.equal(entry?.evidence.bytesReceived, 33, 'the SOCKS5 replies are not counted')
    const opened = await dante.waitForLog(new RegExp(`pass\\(1\\): tcp/connect \\[: .* 127\\.0\\.0\\.1\\.${iis.port}$`), 2)
    assert.equal(opened.length, 2)
  })

  test('plain http:// origins go through the SOCKS5 tunnel too', async (t) => {
    const server = http.createServer((req, res) => res.end(`socks ${req.url ?? ''}`))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as net.AddressInfo).port
    const agent = makeAgent({ proxy: `socks5://127.0.0.1:${dante.port}` })
    t.after(async () => { await agent.close(); server.close() })
    assert.equal((await send(agent, `http://127.0.0.1:${port}/x`)).text, 'socks /x')
    assert.equal((await dante.waitForLog(new RegExp(`127\\.0\\.0\\.1\\.${port}$`), 1)).length, 1)
  })

  test('a SOCKS5 refusal (the origin\'s port is closed) is a proxy error', async (t) => {
    const closed = await freePort()
    const agent = makeAgent({ proxy: `socks5://127.0.0.1:${dante.port}` })
    t.after(async () => { await agent.close() })
    const error = await failure(() => send(agent, `https://127.0.0.1:${closed}/`))
    assert.equal(error.code, 'TLS_FALLBACK_PROXY_ERROR')
    assert.match(error.message, /refused the tunnel: connection refused/)
    assert.equal(error.statusCode, undefined)
  })

  test('a SOCKS5 server that requires username/password: without them, and with wrong ones, a proxy error that shows no password', async (t) => {
    const strict = await startDante({ method: 'username' })
    const none = makeAgent({ proxy: `socks5://127.0.0.1:${strict.port}` })
    const wrong = makeAgent({ proxy: `socks5://nobody-here:socks-secret-42@127.0.0.1:${strict.port}` })
    t.after(async () => { await none.close(); await wrong.close(); await strict.close() })
    const missing = await failure(() => send(none, `https://localhost:${iis.port}/`))
    assert.equal(missing.code, 'TLS_FALLBACK_PROXY_ERROR')
    assert.match(missing.message, /requires a username and password/)
    const refused = await failure(() => send(wrong, `https://localhost:${iis.port}/`))
    assert.equal(refused.code, 'TLS_FALLBACK_PROXY_ERROR')
    assert.match(refused.message, /refused the username and password/)
    assert.equal(refused.proxy, `socks5://***@127.0.0.1:${strict.port}`)
    assert.ok(!refused.message.includes('socks-secret-42'))
  })

  test('a SOCKS5 server that checks username/password (microsocks): the right ones open the tunnel and the IIS-like host falls back through it; wrong ones are a proxy error that shows no password', async (t) => {
    const socks = await startMicrosocks({ user: 'utf-user', password: 'socks pass/42' })
    const origin = `https://localhost:${iis.port}`
    const proxy = `socks5://utf-user:${encodeURIComponent('socks pass/42')}@127.0.0.1:${socks.port}`
    const { logger, lines } = memoryLogger()
    const agent = makeAgent({ proxy, logger })
    const wrong = makeAgent({ proxy: `socks5://utf-user:not-it-77@127.0.0.1:${socks.port}` })
    t.after(async () => { await agent.close(); await wrong.close(); await socks.close() })
    const reply = await send(agent, `${origin}/secure`)
    assert.equal(reply.status, 200)
    assert.equal(agent.policy(origin)?.stack, 'renegotiation')
    assert.equal(agent.policy(origin)?.evidence.verified, true)
    assert.ok(!JSON.stringify(lines).includes('socks pass'), 'no password in the logs')
    const refused = await failure(() => send(wrong, `${origin}/`))
    assert.equal(refused.code, 'TLS_FALLBACK_PROXY_ERROR')
    assert.equal(refused.proxy, `socks5://***@127.0.0.1:${socks.port}`)
    assert.ok(!refused.message.includes('not-it-77'))
    // The same route with the wrong password fails: the answer above came through the authenticated tunnel.
    assert.equal(wrong.policy(origin), undefined)
  })
})
