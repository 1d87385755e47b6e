import assert from 'node:assert/strict'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import tls, { type TLSSocket } from 'node:tls'
import { primeConnection, primingTarget, type PrimingOptions } from '../src/priming.ts'
import { certs } from './servers/certs.ts'

// The priming exchange (src/priming.ts) against a real TLS server on loopback that answers the HEAD
// with what each test scripts: the response heads a server may send, and the ones it must not.

type Script = (socket: TLSSocket, request: string) => void

describe('primeConnection against a scripted TLS 1.2 server', () => {
  let server: tls.Server
  let port: number
  let script: Script = () => {}
  const requests: string[] = []
  before(async () => {
    server = tls.createServer({ cert: certs.serverCert, key: certs.serverKey, maxVersion: 'TLSv1.2' }, (socket) => {
      let head = ''
      socket.on('error', () => {})
      socket.on('data', (chunk: Buffer) => {
        head += chunk.toString('latin1')
        if (!head.includes('\r\n\r\n')) return
        requests.push(head)
        const request = head
        head = ''
        script(socket, request)
      })
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    port = (server.address() as AddressInfo).port
  })
  after(async () => { server.close() })

  async function connect (maxVersion: tls.SecureVersion = 'TLSv1.2'): Promise<TLSSocket> {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: certs.ca, maxVersion })
    await once(socket, 'secureConnect')
    return socket
  }
  const options = (over: Partial<PrimingOptions> = {}): PrimingOptions =>
    ({ host: `localhost:${port}`, path: '/upload', timeout: 5_000, handshakes: () => 1, ...over })

  async function primingFails (reply: Script, reason: string, over: Partial<PrimingOptions> = {}): Promise<TLSSocket> {
    script = reply
    const socket = await connect()
    const error = await primeConnection(socket, options(over)).then(() => undefined, (e: unknown) => e as Error & { code?: string, reason?: string })
    assert.equal(error?.code, 'TLS_FALLBACK_PRIMING_FAILED')
    assert.equal(error?.reason, reason)
    assert.equal(socket.destroyed, true)
    return socket
  }

  test('sends HEAD with the path (query and fragment left out) and the Host, and reads a keep-alive 200 as not renegotiated', async () => {
    script = (socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n')
    const socket = await connect()
    const start = requests.length
    const result = await primeConnection(socket, options({ path: '/upload/doc?token=secret#part' }))
    assert.deepEqual(result, { outcome: 'not-renegotiated', status: 200, renegotiations: 0, reusable: true })
    assert.deepEqual(requests.slice(start), [`HEAD /upload/doc HTTP/1.1\r\nhost: localhost:${port}\r\n\r\n`])
    // Handed over paused, with no listener of the priming's left: undici reads it next.
    assert.equal(socket.readableFlowing, false)
    assert.equal(socket.listenerCount('data'), 0)
    socket.destroy()
  })

  test('a renegotiation counted by the connection during the exchange makes it renegotiated, whatever the status (403)', async () => {
    let handshakes = 1
    script = (socket) => { handshakes = 2; socket.write('HTTP/1.1 403 Forbidden\r\n\r\n') }
    const socket = await connect()
    const result = await primeConnection(socket, options({ handshakes: () => handshakes }))
    assert.deepEqual(result, { outcome: 'renegotiated', status: 403, renegotiations: 1, reusable: true })
    socket.destroy()
  })

  test('Connection: close, and HTTP/1.0 without keep-alive, are not reusable; HTTP/1.0 with keep-alive is', async () => {
    const cases: Array<[string, boolean]> = [
      ['HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\n\r\n', false],
      ['HTTP/1.0 200 OK\r\n\r\n', false],
      ['HTTP/1.0 200 OK\r\nconnection: Keep-Alive\r\n\r\n', true]
    ]
    for (const [head, reusable] of cases) {
      script = (socket) => socket.write(head)
      const socket = await connect()
      assert.equal((await primeConnection(socket, options())).reusable, reusable, head)
      socket.destroy()
    }
  })

  test('an interim 100 and 103 are skipped, a head split across records is joined', async () => {
    script = (socket) => {
      socket.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No')
      setTimeout(() => socket.write(' Content\r\nX: y\r\n\r\n'), 20)
    }
    const socket = await connect()
    assert.equal((await primeConnection(socket, options())).status, 204)
    socket.destroy()
  })

  test('TLS 1.3: nothing is sent, not-applicable', async () => {
    const local = tls.createServer({ cert: certs.serverCert, key: certs.serverKey }, (s) => { s.on('data', () => requests.push('tls13')) })
    local.listen(0, '127.0.0.1')
    await once(local, 'listening')
    try {
      const socket = tls.connect({ host: '127.0.0.1', port: (local.address() as AddressInfo).port, servername: 'localhost', ca: certs.ca })
      await once(socket, 'secureConnect')
      const start = requests.length
      assert.deepEqual(await primeConnection(socket, options()), { outcome: 'not-applicable', status: undefined, renegotiations: 0, reusable: true })
      await new Promise((resolve) => setTimeout(resolve, 50))
      assert.deepEqual(requests.slice(start), [])
      socket.destroy()
    } finally {
      local.close()
    }
  })

  test('TLS 1.3 with tls13Probe: OPTIONS to the path, its 403 returned whole (status line, headers, body), the body read off the connection', async (t) => {
    const seen: string[] = []
    const page = '<html>403</html>'
    const local = tls.createServer({ cert: certs.serverCert, key: certs.serverKey }, (s) => {
      s.on('data', (chunk: Buffer) => {
        seen.push(chunk.toString('latin1'))
        s.write(`HTTP/1.1 403 Forbidden\r\nServer: test\r\nContent-Length: ${page.length}\r\n\r\n${page}`)
      })
    })
    local.listen(0, '127.0.0.1')
    await once(local, 'listening')
    try {
      const socket = tls.connect({ host: '127.0.0.1', port: (local.address() as AddressInfo).port, servername: 'localhost', ca: certs.ca })
      await once(socket, 'secureConnect')
      t.after(() => socket.destroy())
      const result = await primeConnection(socket, options({ tls13Probe: true, path: '/upload?secret=1' }))
      assert.equal(result.outcome, 'not-applicable')
      assert.equal(result.status, 403)
      assert.deepEqual({ ...result.answer, headers: { ...result.answer?.headers }, body: result.answer?.body.toString() },
        { statusCode: 403, statusMessage: 'Forbidden', headers: { server: 'test', 'content-length': String(page.length) }, body: page })
      assert.deepEqual(seen, [`OPTIONS /upload HTTP/1.1\r\nhost: localhost:${port}\r\n\r\n`])
      assert.equal(socket.readableLength, 0)
    } finally {
      local.close()
    }
  })

  test('TLS 1.3 probe: a response without a Content-Length (chunked), or over 64 KiB, fails: unexpected-bytes', async () => {
    for (const head of ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: 70000\r\n\r\n']) {
      const local = tls.createServer({ cert: certs.serverCert, key: certs.serverKey }, (s) => { s.on('data', () => s.write(head)) })
      local.listen(0, '127.0.0.1')
      await once(local, 'listening')
      try {
        const socket = tls.connect({ host: '127.0.0.1', port: (local.address() as AddressInfo).port, servername: 'localhost', ca: certs.ca })
        await once(socket, 'secureConnect')
        await assert.rejects(primeConnection(socket, options({ tls13Probe: true })), { code: 'TLS_FALLBACK_PRIMING_FAILED', reason: 'unexpected-bytes' })
      } finally {
        local.close()
      }
    }
  })

  test('a target that is not an origin-form path, or a Host with a space or CRLF, is refused before anything is sent', async () => {
    assert.equal(primingTarget('http://other.example/'), undefined)
    assert.equal(primingTarget('/a b'), undefined)
    assert.equal(primingTarget('*'), undefined)
    assert.equal(primingTarget('/a?x=1'), '/a')
    const socket = await connect()
    const start = requests.length
    for (const over of [{ path: '/a\r\nX-Injected: 1' }, { host: 'localhost\r\nX-Injected: 1' }, { path: 'upload' }]) {
      await assert.rejects(primeConnection(socket, options(over)), { code: 'TLS_FALLBACK_PRIMING_FAILED', reason: 'invalid-target' })
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.deepEqual(requests.slice(start), [])
    socket.destroy()
  })

  test('a response that is not an HTTP/1.x head (or a 101) fails: malformed', async () => {
    await primingFails((socket) => socket.write('SSH-2.0-OpenSSH\r\n\r\n'), 'malformed')
    await primingFails((socket) => socket.write('HTTP/1.1 200 OK\r\nno colon here\r\n\r\n'), 'malformed')
    await primingFails((socket) => socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n'), 'malformed')
  })

  test('a head over 16 KiB fails, whole or still unfinished: header-too-large', async () => {
    await primingFails((socket) => socket.write(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(17_000)}\r\n\r\n`), 'header-too-large')
    await primingFails((socket) => socket.write(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(17_000)}`), 'header-too-large')
    await primingFails((socket) => socket.write(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(600)}\r\n\r\n`), 'header-too-large', { maxHeaderBytes: 512 })
  })

  test('bytes after the HEAD response (a body, or a second response) fail: unexpected-bytes', async () => {
    await primingFails((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello'), 'unexpected-bytes')
  })

  test('the server closes before its response: closed; it never answers: timeout', async () => {
    await primingFails((socket) => socket.end(), 'closed')
    await primingFails(() => {}, 'timeout', { timeout: 200 })
  })

  test('a reset is passed on as the socket\'s own error, not wrapped', async () => {
    script = (socket) => (socket as unknown as { _parent?: { resetAndDestroy?: () => void } })._parent?.resetAndDestroy?.() ?? socket.destroy()
    const socket = await connect()
    const error = await primeConnection(socket, options()).then(() => undefined, (e: unknown) => e as Error & { code?: string })
    assert.equal(error?.code, 'ECONNRESET')
  })
})
