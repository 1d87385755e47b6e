import assert from 'node:assert/strict'
import http from 'node:http'
import net from 'node:net'
import { describe, test } from 'node:test'
import { startModern } from './servers/modern.ts'
import { startIisLike } from './servers/iis.ts'
import { freePort } from './servers/ports.ts'
import { certs, failure, makeAgent, record, send } from './helpers.ts'
import type { StackName } from '../src/index.ts'

/** Runs a request that must fail with `code`, and checks that nothing moved. */
async function expectUntouched (url: string, code: string | RegExp, options: Parameters<typeof makeAgent>[0] = {}): Promise<Error & { code?: string }> {
  const origin = new URL(url).origin
  const events = record(origin)
  const agent = makeAgent(options)
  try {
    const error = await failure(() => send(agent, url))
    if (typeof code === 'string') assert.equal(error.code, code)
    else assert.match(String(error.code), code)
    assert.ok(!String(error.code).startsWith('TLS_FALLBACK_'), 'the original error, not ours')
    assert.equal(events.diagnoses.length, 0, 'no fingerprint matched')
    assert.equal(events.fallbacks.length, 0)
    assert.equal(agent.policies().length, 0)
    assert.ok(events.attempts.every((a) => a.stack === (options.hosts === undefined ? 'strict' : a.stack)))
    return error
  } finally {
    events.stop()
    await agent.close()
  }
}

describe('faults that must never move a policy and reach the caller with their original code', () => {
  test('ECONNREFUSED', async () => {
    const port = await freePort()
    await expectUntouched(`https://localhost:${port}/`, 'ECONNREFUSED')
  })

  test('a name that does not resolve', async () => {
    const lookup = ((_host: string, _options: unknown, callback: (error: Error) => void) => {
      callback(Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.invalid'), { code: 'ENOTFOUND' }))
    }) as unknown as import('net').LookupFunction
    await expectUntouched('https://nowhere.invalid/', 'ENOTFOUND', { connect: { lookup } })
  })

  test('a connect timeout (a server that accepts TCP and never answers the ClientHello)', async () => {
    const sockets = new Set<net.Socket>()
    const silent = net.createServer((s) => { sockets.add(s) })
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    try {
      const port = (silent.address() as net.AddressInfo).port
      await expectUntouched(`https://localhost:${port}/`, 'UND_ERR_CONNECT_TIMEOUT', { connectTimeout: 200 })
    } finally {
      for (const s of sockets) s.destroy()
      silent.close()
    }
  })

  test('a server that closes mid-body after the headers: no replay, no policy', async () => {
    const server = await startModern({
      handle: (_req, res) => {
        ;(res as http.ServerResponse).writeHead(200, { 'content-length': 1000 })
        ;(res as http.ServerResponse).write('x'.repeat(100))
        setTimeout(() => (res as http.ServerResponse).socket?.destroy(), 20)
      }
    })
    try {
      const origin = `https://localhost:${server.port}`
      const events = record(origin)
      const agent = makeAgent()
      try {
        const error = await failure(() => send(agent, `${origin}/`))
        assert.ok(['UND_ERR_SOCKET', 'ECONNRESET'].includes(error.code ?? ''), String(error.code))
        assert.equal(events.attempts.length, 1, 'a response had started: never sent again')
        assert.equal(agent.policies().length, 0)
        assert.equal(server.requests.length, 1)
      } finally {
        events.stop()
        await agent.close()
      }
    } finally {
      await server.close()
    }
  })

  test('plaintext HTTP on the TLS port', async (t) => {
    const plain = http.createServer((_req, res) => res.end('not tls'))
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve))
    t.after(() => { plain.close() })
    await expectUntouched(`https://localhost:${(plain.address() as net.AddressInfo).port}/`, /^(ERR_SSL_WRONG_VERSION_NUMBER|ERR_SSL_PACKET_LENGTH_TOO_LONG|EPROTO)$/)
  })

  test('an idle keep-alive connection closed by the server: the next request simply works', async (t) => {
    const server = await startModern()
    const origin = `https://localhost:${server.port}`
    const events = record(origin)
    const agent = makeAgent()
    t.after(async () => { events.stop(); await agent.close(); await server.close() })
    assert.equal((await send(agent, `${origin}/one`)).status, 200)
    await new Promise((resolve) => setTimeout(resolve, 50))
    // Close every connection from the server's side while the client holds it idle.
    await server.dropConnections()
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal((await send(agent, `${origin}/two`)).status, 200)
    assert.equal(events.diagnoses.length, 0)
    assert.equal(agent.policies().length, 0)
  })
})

describe('certificate errors: no stack routes around verification', () => {
  const cases = [
    { name: 'unknown CA', cert: certs.untrustedCert, key: certs.untrustedKey, code: /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)$/ },
    { name: 'wrong host name', cert: certs.wrongHostCert, key: certs.wrongHostKey, code: /^ERR_TLS_CERT_ALTNAME_INVALID$/ },
    { name: 'expired', cert: certs.expiredCert, key: certs.expiredKey, code: /^CERT_HAS_EXPIRED$/ }
  ]
  for (const { name, cert, key, code } of cases) {
    test(`${name}: the same error on every stack, first attempt only`, async () => {
      const server = await startModern({ cert, key })
      try {
        const url = `https://localhost:${server.port}/`
        await expectUntouched(url, code)
        for (const stack of ['strict', 'tls13', 'renegotiation', 'legacy-server-connect'] as StackName[]) {
          const error = await expectUntouched(url, code, {
            hosts: { localhost: { stack, fallback: ['tls13', 'renegotiation', 'legacy-server-connect'] } }
          })
          assert.match(String(error.code), code, stack)
        }
        assert.equal(server.requests.length, 0, 'no request ever reached the server')
      } finally {
        await server.close()
      }
    })
  }

  test('an IIS-like server with an untrusted certificate is never diagnosed', async (t) => {
    const iis = await startIisLike({ cert: certs.untrustedCert, key: certs.untrustedKey })
    t.after(async () => { await iis.close() })
    await expectUntouched(`https://localhost:${iis.port}/secure`, /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)$/)
    assert.equal(iis.stats.requests.length, 0)
  })
})
