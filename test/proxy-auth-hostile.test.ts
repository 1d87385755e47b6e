import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import type { Socket } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { ntlmChannelBindingsHash, tlsServerEndPoint } from '../src/auth/channel-bindings.ts'
import { AV } from '../src/auth/ntlm.ts'
import { openTunnel } from '../src/proxy/open.ts'
import { parseProxy } from '../src/proxy/options.ts'
import { certs, failure, makeAgent, record, send } from './helpers.ts'
import { fieldOf, pairsOf } from './helpers/ntlm-wire.ts'
import { startScripted, type ScriptedProxy } from './helpers/proxy-auth.ts'

// A hostile or broken proxy against `proxy.auth` (NTLM): a proxy that keeps challenging, sends a
// malformed challenge, closes between legs, sends a 407 body too large to drain, or speaks out of
// turn. Each ends in TLS_FALLBACK_PROXY_ERROR after a bounded number of CONNECTs, with nothing sent
// in answer to what cannot be used. A small scripted proxy (test/helpers/proxy-auth.ts) answers each
// CONNECT it reads with the next scripted answer, and records what it received.

/** A minimal NTLM challenge (type 2): no target name, a server challenge, target info of MsvAvEOL only. */
function type2 (): string {
  const message = Buffer.alloc(56)
  message.write('NTLMSSP\0', 0, 'latin1')
  message.writeUInt32LE(2, 8)
  message.writeUInt16LE(0, 12)
  message.writeUInt32LE(56, 16)
  message.writeUInt32LE(0xe2898215, 20)
  Buffer.from('0123456789abcdef', 'hex').copy(message, 24)
  message.writeUInt16LE(4, 40)
  message.writeUInt16LE(4, 42)
  message.writeUInt32LE(52, 44)
  return message.toString('base64')
}

const challenge = (token: string, extra = ''): string =>
  `HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: ${token}\r\n${extra}Content-Length: 5\r\n\r\ndeny!`

describe('proxy.auth against a hostile or broken proxy', () => {
  let proxy: ScriptedProxy
  before(async () => { proxy = await startScripted() })
  after(async () => { await proxy.close() })

  const auth = { scheme: 'ntlm' as const, username: 'alice', password: 'Hostile-Test-Pass-1', domain: 'CORP' }

  async function tunnel (script: ScriptedProxy['script']): Promise<Error & { code?: string, statusCode?: number, cause?: any }> {
    proxy.script = script
    proxy.connects = []
    const parsed = parseProxy('proxy', { uri: `http://127.0.0.1:${proxy.port}`, auth })
    return await new Promise((resolve, reject) => {
      openTunnel(parsed, { host: 'origin.example', port: 443, tcp: {}, timeout: 5_000 }, (error, socket) => {
        if (error === null) {
          socket?.destroy()
          reject(new Error('the tunnel opened'))
        } else {
          resolve(error as Error & { code?: string })
        }
      })
    })
  }

  test('a proxy that answers the last NTLM leg with yet another challenge: refused after two CONNECTs, no third leg', async () => {
    const error = await tunnel([challenge(`NTLM ${type2()}`), challenge(`NTLM ${type2()}`), challenge(`NTLM ${type2()}`)])
    assert.equal(error.code, 'TLS_FALLBACK_PROXY_ERROR')
    assert.equal(error.statusCode, 407)
    assert.match(error.message, /rejected the ntlm credentials \(407 after 2 authentication legs\)/)
    assert.equal(proxy.connects.length, 2)
    assert.match(proxy.connects[0]!, /\r\nproxy-authorization: NTLM TlRMTVNTUAAB/)
    assert.match(proxy.connects[1]!, /\r\nproxy-authorization: NTLM TlRMTVNTUAAD/)
  })

  test('a 407 that does not offer the configured scheme: refused, saying what it offers', async () => {
    const error = await tunnel(['HTTP/1.1 407 No\r\nProxy-Authenticate: Basic realm="x"\r\nProxy-Authenticate: Digest\x1b[31m\r\nContent-Length: 0\r\n\r\n'])
    assert.equal(error.code, 'TLS_FALLBACK_PROXY_ERROR')
    assert.match(error.message, /answered with 407 offering basic, not NTLM: set proxy.auth.scheme/, 'the value with a control character is not parsed, nor shown')
    assert.ok(!error.message.includes('\x1b'))
    assert.equal(proxy.connects.length, 1)
  })

  test('a malformed challenge: TLS_FALLBACK_PROXY_ERROR caused by TLS_FALLBACK_AUTH_INVALID_CHALLENGE, nothing sent in answer', async () => {
    for (const token of ['NTLM QUJD=', `NTLM ${Buffer.from('NTLMSSP\0\x02\0\0\0').toString('base64')}`]) {
      const error = await tunnel([challenge(token)])
      assert.equal(error.code, 'TLS_FALLBACK_PROXY_ERROR')
      assert.equal(error.cause?.code, 'TLS_FALLBACK_AUTH_INVALID_CHALLENGE')
      assert.equal(proxy.connects.length, 1)
    }
  })

  test('a 407 with Connection: close between legs, or a body too large or of no known length: refused, no second CONNECT', async () => {
    const cases: Array<[string, RegExp]> = [
      [challenge(`NTLM ${type2()}`, 'Connection: close\r\n'), /Connection: close/],
      [`HTTP/1.1 407 No\r\nProxy-Authenticate: NTLM ${type2()}\r\nContent-Length: 100000\r\n\r\n`, /too large to drain/],
      [`HTTP/1.1 407 No\r\nProxy-Authenticate: NTLM ${type2()}\r\n\r\n`, /no known length/]
    ]
    for (const [answer, message] of cases) {
      const error = await tunnel([answer])
      assert.equal(error.code, 'TLS_FALLBACK_PROXY_ERROR')
      assert.match(error.message, message)
      assert.equal(proxy.connects.length, 1)
    }
  })

  test('a chunked 407 body is drained and the next leg goes on the same connection', async () => {
    const before = proxy.connections
    const chunked = `HTTP/1.1 407 No\r\nProxy-Authenticate: NTLM ${type2()}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\ndeny!\r\n0\r\n\r\n`
    const error = await tunnel([chunked, 'HTTP/1.1 407 No\r\nProxy-Authenticate: NTLM\r\nContent-Length: 0\r\n\r\n'])
    assert.match(error.message, /rejected the ntlm credentials/)
    assert.equal(proxy.connects.length, 2)
    assert.equal(proxy.connections - before, 1)
  })

  test('a chunked 407 that never ends (a chunk-size line without CRLF, endless trailers, a huge chunk extension): refused after about 64 KiB, long before the timeout', async () => {
    const head = `HTTP/1.1 407 No\r\nProxy-Authenticate: NTLM ${type2()}\r\nTransfer-Encoding: chunked\r\n\r\n`
    const cases: Array<[string, string, string]> = [
      ['a chunk-size line without CRLF', '', 'A'],
      ['endless trailers', '0\r\n', 'x: y\r\n'],
      ['a huge chunk extension', '1;', 'e']
    ]
    for (const [name, prefix, unit] of cases) {
      const piece = Buffer.from(unit.repeat(Math.ceil(16 * 1024 / unit.length)))
      let sent = 0
      const endless = (socket: Socket): void => {
        socket.write(head + prefix)
        const more = (): void => {
          // Up to 64 MiB, as fast as the client reads it.
          while (!socket.destroyed && sent < 64 * 1024 * 1024) {
            sent += piece.length
            if (!socket.write(piece)) {
              socket.once('drain', more)
              return
            }
          }
        }
        more()
      }
      const started = performance.now()
      const error = await tunnel([endless])
      const elapsed = performance.now() - started
      assert.equal(error.code, 'TLS_FALLBACK_PROXY_ERROR', name)
      assert.match(error.message, /too large to drain/, name)
      assert.ok(elapsed < 2_500, `${name}: refused after ${Math.round(elapsed)} ms (the connect timeout is 5 s)`)
      assert.ok(sent < 16 * 1024 * 1024, `${name}: the proxy wrote ${sent} bytes before the client closed`)
      assert.equal(proxy.connects.length, 1, name)
    }
  })

  test('bytes after the 407, before our next leg: refused (they answer nothing we sent)', async () => {
    const error = await tunnel([`${challenge(`NTLM ${type2()}`)}HTTP/1.1 200 OK\r\n\r\n`])
    assert.equal(error.code, 'TLS_FALLBACK_PROXY_ERROR')
    assert.match(error.message, /sent bytes after its 407/)
    assert.equal(proxy.connects.length, 1)
  })

  test('an https:// proxy: NTLM\'s channel bindings name the proxy\'s own certificate (tls-server-end-point)', async () => {
    const tlsProxy = await startScripted({ tls: true })
    try {
      tlsProxy.script = [challenge(`NTLM ${type2()}`), challenge('NTLM')]
      const parsed = parseProxy('proxy', { uri: `https://localhost:${tlsProxy.port}`, proxyTls: { ca: certs.ca }, auth })
      const error = await new Promise<Error & { code?: string }>((resolve) => {
        openTunnel(parsed, { host: 'origin.example', port: 443, tcp: {}, timeout: 5_000 }, (e) => { resolve(e as Error) })
      })
      assert.match(error.message, /rejected the ntlm credentials/)
      const type3 = Buffer.from(/proxy-authorization: NTLM (\S+)/.exec(tlsProxy.connects[1]!)![1]!, 'base64')
      const pairs = pairsOf(fieldOf(type3, 20).subarray(44))
      const expected = ntlmChannelBindingsHash(tlsServerEndPoint(new X509Certificate(certs.serverCert).raw))
      assert.deepEqual(pairs.get(AV.CHANNEL_BINDINGS), expected)
    } finally {
      await tlsProxy.close()
    }
  })

  test('through the agent: the hostile proxy\'s 407s are never a fingerprint (one attempt, no policy)', async () => {
    proxy.script = [challenge(`NTLM ${type2()}`), challenge(`NTLM ${type2()}`)]
    const url = 'https://localhost:1'
    const events = record(url)
    const agent = makeAgent({ proxy: { uri: `http://127.0.0.1:${proxy.port}`, auth } })
    try {
      const error = await failure(() => send(agent, `${url}/x`))
      assert.equal(error.code, 'TLS_FALLBACK_PROXY_ERROR')
      assert.deepEqual(events.attempts.map((a) => a.stack), ['strict'])
      assert.deepEqual(events.diagnoses, [])
      assert.equal(agent.policy(url), undefined)
    } finally {
      events.stop()
      await agent.close()
    }
  })
})
