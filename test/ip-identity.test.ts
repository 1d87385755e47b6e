import assert from 'node:assert/strict'
import https from 'node:https'
import type net from 'node:net'
import tls from 'node:tls'
import { after, before, describe, test } from 'node:test'
import { checkRfc5746 } from '../src/rfc5746.ts'
import { stackTlsOptions } from '../src/stacks.ts'
import { startDante, type DanteProxy } from './servers/dante.ts'
import { startGnutls, type GnutlsServer } from './servers/gnutls.ts'
import { startIisLike } from './servers/iis.ts'
import { startRelay } from './servers/relay.ts'
import { certs, failure, makeAgent, memoryLogger, record, send } from './helpers.ts'
import { runCli as cli } from './helpers/cli.ts'

// Every TLS client the library opens must verify the identity the user named. For an IP literal
// that is an IP SAN: Node's tls.connect({ socket }) without `host` checks the certificate against
// "localhost" instead. The impostor here presents a certificate for DNS:localhost only, from a CA
// the client trusts (certs.localhostCa), at 127.0.0.1 or ::1.

const PASSWORD = 'proxy-Passw0rd-6610'
const impostor = { cert: certs.localhostOnlyCert, key: certs.localhostOnlyKey }
/** The loopback addresses as a URL names them, and as a server listens on them. */
const LOOPBACKS = [{ url: '127.0.0.1', listen: '127.0.0.1' }, { url: '[::1]', listen: '::1' }]

/** A TLS server with the impostor's certificate that records what it decrypts, and closes after the first chunk. */
async function startImpostor (listen: string): Promise<{ port: number, handshakes: number, received: () => string, close: () => Promise<void> }> {
  const chunks: Buffer[] = []
  let handshakes = 0
  const server = tls.createServer(impostor, (socket) => {
    handshakes += 1
    socket.on('error', () => {})
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      socket.end()
    })
  })
  server.on('tlsClientError', () => {})
  await new Promise<void>((resolve) => server.listen(0, listen, resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    get handshakes () { return handshakes },
    received: () => Buffer.concat(chunks).toString('latin1'),
    close: async () => { await new Promise<void>((resolve) => server.close(() => resolve())) }
  }
}

describe('an https:// proxy given by IP literal: its certificate must name that IP', () => {
  for (const address of LOOPBACKS) {
    test(`https://user:pass@${address.url}:port with a certificate for DNS:localhost only: TLS_FALLBACK_PROXY_ERROR with the certificate error, the password never sent`, async () => {
      const box = await startImpostor(address.listen)
      const { logger, lines } = memoryLogger()
      const agent = makeAgent({ proxy: { uri: `https://user:${PASSWORD}@${address.url}:${box.port}`, proxyTls: { ca: certs.localhostCa } }, logger })
      try {
        const error = await failure(() => send(agent, 'https://origin.example.test/'))
        assert.equal(box.received(), '', 'the proxy received no CONNECT (on main: the CONNECT with Proxy-Authorization)')
        assert.equal(error.code, 'TLS_FALLBACK_PROXY_ERROR', `${error.code ?? ''} ${error.message}`)
        assert.equal(error.cause?.code, 'ERR_TLS_CERT_ALTNAME_INVALID')
        assert.equal(error.proxy, `https://***@${address.url}:${box.port}`)
        const shown = JSON.stringify([error.message, String(error.cause), lines])
        assert.ok(!shown.includes(PASSWORD) && !shown.includes(Buffer.from(`user:${PASSWORD}`).toString('base64')))
      } finally {
        await agent.close()
        await box.close()
      }
    })
  }

  test('the same proxy with proxyTls.servername: \'localhost\' (the user named that identity): the tunnel is asked for', async (t) => {
    const box = await startImpostor('127.0.0.1')
    const agent = makeAgent({ proxy: { uri: `https://user:${PASSWORD}@127.0.0.1:${box.port}`, proxyTls: { ca: certs.localhostCa, servername: 'localhost' } }, logger: memoryLogger().logger })
    t.after(async () => { await agent.close(); await box.close() })
    const error = await failure(() => send(agent, 'https://origin.example.test/'))
    assert.equal(error.code, 'TLS_FALLBACK_PROXY_ERROR')
    assert.match(box.received(), /^CONNECT origin\.example\.test:443 HTTP\/1\.1\r\n/)
    assert.match(box.received(), /proxy-authorization: Basic /)
  })
})

describe('the RFC 5746 check for an IP-literal origin that consents to legacy-server-connect', () => {
  let legacy: GnutlsServer
  const legacyTls = stackTlsOptions('legacy-server-connect', { ca: certs.localhostCa }, undefined)
  before(async () => { legacy = await startGnutls({ cert: 'localhost-only' }) })
  after(async () => { await legacy.close() })

  test('checkRfc5746 against 127.0.0.1 and ::1 presenting a DNS:localhost certificate: unknown (the certificate error), never lacks-rfc5746', async () => {
    for (const host of ['127.0.0.1', '[::1]']) {
      const check = await checkRfc5746({ host, port: legacy.port, tls: legacyTls, timeout: 10_000 })
      assert.equal(check.verdict, 'unknown', `${host}: ${check.summary}`)
      assert.match(check.summary, /ERR_TLS_CERT_ALTNAME_INVALID/)
    }
    const named = await checkRfc5746({ host: 'localhost', port: legacy.port, tls: legacyTls, timeout: 10_000 })
    assert.equal(named.verdict, 'lacks-rfc5746', 'for the name it carries, the same server is read')
  })

  test('the agent, with an on-path box that sends the strict and checking handshakes to the impostor and the rest to the real server: the request is answered, nothing is learned', async () => {
    // The real server (IP:127.0.0.1 in its certificate) implements RFC 5746; the impostor refuses it
    // with a DNS:localhost certificate from another trusted CA. The box routes by connection.
    const real = https.createServer({ cert: certs.serverCert, key: certs.serverKey }, (_req, res) => { res.end('real') })
    await new Promise<void>((resolve) => real.listen(0, '127.0.0.1', resolve))
    const realPort = (real.address() as net.AddressInfo).port
    let routed = 0
    const box = await startRelay({ backendPort: realPort, route: () => (++routed <= 2 ? legacy.port : realPort) })
    const origin = `https://127.0.0.1:${box.port}`
    const events = record(origin)
    const agent = makeAgent({
      connect: { ca: [certs.ca, certs.localhostCa] },
      hosts: { [`127.0.0.1:${box.port}`]: { fallback: ['legacy-server-connect'] } },
      logger: memoryLogger().logger
    })
    try {
      const reply = await send(agent, `${origin}/`)
      assert.equal(reply.text, 'real')
      assert.equal(routed, 3, 'strict and the check went to the impostor, the legacy attempt to the real server')
      const entry = agent.policy(origin)
      assert.equal(entry, undefined, `nothing learned (on main: ${entry?.stack ?? ''} with verified evidence ${String(entry?.evidence.verified)})`)
      assert.equal(events.fallbacks.length, 0)
      assert.deepEqual(events.attempts.map((a) => a.stack), ['strict', 'legacy-server-connect'])
    } finally {
      events.stop()
      await agent.close()
      await box.close()
      real.closeAllConnections()
      await new Promise<void>((resolve) => real.close(() => resolve()))
    }
  })
})

describe('the connector (undici\'s buildConnector with httpSocket) verifies an IP literal', () => {
  let dante: DanteProxy
  before(async () => { dante = await startDante() })
  after(async () => { await dante.close() })

  for (const address of LOOPBACKS) {
    test(`https://${address.url}:port with a certificate for DNS:localhost only, direct and through SOCKS5: ERR_TLS_CERT_ALTNAME_INVALID on every stack, no request reaches it`, async () => {
      const requests: string[] = []
      const server = https.createServer({ ...impostor, maxVersion: 'TLSv1.2' }, (req, res) => { requests.push(req.url ?? ''); res.end('impostor') })
      server.on('tlsClientError', () => {})
      await new Promise<void>((resolve) => server.listen(0, address.listen, resolve))
      const port = (server.address() as net.AddressInfo).port
      const hosts = { [address.url]: { fallback: ['tls13', 'renegotiation'] as Array<'tls13' | 'renegotiation'> } }
      const agents = [
        makeAgent({ connect: { ca: certs.localhostCa }, hosts, logger: memoryLogger().logger }),
        ...(address.listen === '127.0.0.1' ? [makeAgent({ connect: { ca: certs.localhostCa }, hosts, proxy: `socks5://127.0.0.1:${dante.port}`, logger: memoryLogger().logger })] : [])
      ]
      try {
        for (const agent of agents) {
          const error = await failure(() => send(agent, `https://${address.url}:${port}/`))
          assert.equal(error.code, 'ERR_TLS_CERT_ALTNAME_INVALID', `${error.code ?? ''} ${error.message}`)
          assert.equal(agent.policy(`https://${address.url}:${port}`), undefined)
        }
        assert.deepEqual(requests, [])
      } finally {
        for (const agent of agents) await agent.close()
        server.closeAllConnections()
        await new Promise<void>((resolve) => server.close(() => resolve()))
      }
    })
  }
})

/** Whether this Node matches an IPv6 literal against an IP SAN (Node 22 compares the text and does not). */
const NODE_MATCHES_IPV6_SANS = tls.checkServerIdentity('::1', { subjectaltname: 'IP Address:0:0:0:0:0:0:0:1', subject: {} } as unknown as tls.PeerCertificate) === undefined

describe('an IPv6 literal origin', () => {
  test('https://[::1]:port with a certificate for IP:::1 is answered on the strict stack; its events name the origin https://[::1]:port', async () => {
    const server = https.createServer({ cert: certs.serverCert, key: certs.serverKey }, (_req, res) => { res.end('v6') })
    await new Promise<void>((resolve) => server.listen(0, '::1', resolve))
    const port = (server.address() as net.AddressInfo).port
    const origin = `https://[::1]:${port}`
    const events = record(origin)
    const agent = makeAgent({ logger: memoryLogger().logger })
    try {
      if (NODE_MATCHES_IPV6_SANS) {
        assert.equal((await send(agent, `${origin}/`)).text, 'v6', 'on main: ERR_INVALID_URL (the connector built https://::1:port)')
      } else {
        // Node 22's checkServerIdentity compares '::1' with the SAN's '0:0:0:0:0:0:0:1' as text and fails;
        // a plain undici Agent gets the same error there. What matters here: not ERR_INVALID_URL.
        await assert.rejects(send(agent, `${origin}/`), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' })
      }
      assert.deepEqual(events.attempts.map((a) => [a.origin, a.stack]), [[origin, 'strict']])
    } finally {
      events.stop()
      await agent.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})

describe('probe https://<IP>/ against an impostor with a certificate for DNS:localhost only', () => {
  test('an IIS-like impostor at 127.0.0.1: no stack works (exit 1), every attempt is the certificate error, it received no request and asked for no client certificate', async (t) => {
    const iis = await startIisLike({ ...impostor, onRefused: 'reset' })
    t.after(async () => { await iis.close() })
    const run = await cli(['probe', `https://127.0.0.1:${iis.port}/secure/report`, '--ca', certs.path('localhost-ca.crt'),
      '--cert', certs.path('client.crt'), '--key', certs.path('client.key'), '--json'])
    assert.deepEqual(iis.stats.requests, [], 'the impostor read no request (on main: the probe\'s requests, then a renegotiation for the client certificate)')
    assert.equal(iis.stats.renegotiations, 0)
    const result = JSON.parse(run.stdout)
    assert.equal(result.verdict.stack, null, 'no stack "works"')
    assert.equal(run.code, 1)
    assert.equal(result.attempts[0].error, 'ERR_TLS_CERT_ALTNAME_INVALID')
    assert.ok(result.attempts.every((a: { ok: boolean, status: number | null }) => !a.ok && a.status === null), JSON.stringify(result.attempts))
  })

  for (const address of LOOPBACKS) {
    test(`probe https://${address.url}:port/ against a modern impostor: not "strict works", no request`, async () => {
      const requests: string[] = []
      const server = https.createServer(impostor, (req, res) => { requests.push(req.url ?? ''); res.end('impostor') })
      server.on('tlsClientError', () => {})
      await new Promise<void>((resolve) => server.listen(0, address.listen, resolve))
      const port = (server.address() as net.AddressInfo).port
      try {
        const run = await cli(['probe', `https://${address.url}:${port}/`, '--ca', certs.path('localhost-ca.crt'), '--json'])
        assert.deepEqual(requests, [], 'no request reached the impostor')
        const result = JSON.parse(run.stdout)
        assert.equal(result.verdict.stack, null)
        assert.equal(run.code, 1)
        assert.equal(result.attempts[0].error, 'ERR_TLS_CERT_ALTNAME_INVALID')
      } finally {
        server.closeAllConnections()
        await new Promise<void>((resolve) => server.close(() => resolve()))
      }
    })
  }

  test('the probe still verifies an IP SAN: 127.0.0.1 with the test CA\'s server certificate (IP:127.0.0.1) works on the strict stack', async () => {
    const server = https.createServer({ cert: certs.serverCert, key: certs.serverKey }, (_req, res) => { res.end('ok') })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as net.AddressInfo).port
    try {
      const run = await cli(['probe', `https://127.0.0.1:${port}/`, '--ca', certs.path('ca.crt'), '--json'])
      assert.equal(run.code, 0, run.stdout + run.stderr)
      assert.equal(JSON.parse(run.stdout).verdict.stack, 'strict')
    } finally {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})
