import assert from 'node:assert/strict'
import net from 'node:net'
import { after, before, describe, test } from 'node:test'
import { openTunnel } from '../src/proxy/open.ts'
import { parseProxy, type Proxy } from '../src/proxy/options.ts'
import { startDante, type DanteProxy } from './servers/dante.ts'
import { failure, makeAgent, memoryLogger, record, send } from './helpers.ts'

/** A TCP server on loopback that records every connection and the bytes it receives, answers nothing, and closes after the first chunk. */
interface Box {
  port: number
  connections: number
  received: () => Buffer
  close: () => Promise<void>
}

async function listenBox (port: number): Promise<Box> {
  const chunks: Buffer[] = []
  const sockets = new Set<net.Socket>()
  let connections = 0
  const server = net.createServer((socket) => {
    connections += 1
    sockets.add(socket)
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      socket.end()
    })
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => { server.off('error', reject); resolve() })
  })
  return {
    port: (server.address() as net.AddressInfo).port,
    get connections () { return connections },
    received: () => Buffer.concat(chunks),
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

/**
 * A box on a port whose two bytes are letters, so that a host name can spell it: the first free
 * one of a few candidates. Returns the box and the two letters.
 */
async function letterPortBox (): Promise<{ box: Box, letters: string }> {
  for (const first of 'qrstuvwxy') {
    for (const second of 'abcdefghij') {
      const port = (first.charCodeAt(0) << 8) | second.charCodeAt(0)
      try {
        return { box: await listenBox(port), letters: `${first}${second}` }
      } catch {}
    }
  }
  throw new Error('no free port spelled by two letters')
}

/**
 * A host name of `total` bytes that starts with `127.0.0.1` and the two letters: written with a
 * length byte that wraps (total & 0xff === 9), a SOCKS5 proxy reads `127.0.0.1` and then the
 * letters as the port.
 */
function wrappingName (letters: string, total = 256 + 9): string {
  const head = `127.0.0.1${letters}.`
  const tail = '.example'
  const name = `${head}${'x'.repeat(total - head.length - tail.length)}${tail}`
  assert.equal(Buffer.byteLength(name), total)
  assert.equal(new URL(`http://${name}/`).hostname, name, 'a valid URL host')
  return name
}

const SECRETS = { token: 'q-Secret-5521', authorization: 'Bearer auth-Secret-8830' }

describe('SOCKS5: a field longer than its length byte is refused before anything is sent', { timeout: 60_000 }, () => {
  let dante: DanteProxy
  before(async () => { dante = await startDante() })
  after(async () => { await dante.close() })

  for (const scheme of ['http', 'https'] as const) {
    test(`a ${scheme}:// host name of 265 bytes whose first bytes spell 127.0.0.1 and a port (real Dante): TLS_FALLBACK_PROXY_ERROR, the host those bytes name receives nothing`, async () => {
      const { box, letters } = await letterPortBox()
      const name = wrappingName(letters)
      const origin = `${scheme}://${name}`
      const events = record(origin)
      const agent = makeAgent({ proxy: `socks5://127.0.0.1:${dante.port}`, logger: memoryLogger().logger })
      try {
        const error = await failure(() => send(agent, `${origin}/report?token=${SECRETS.token}`, { headers: { authorization: SECRETS.authorization } }))
        const leaked = box.received().toString('latin1')
        assert.ok(!leaked.includes(SECRETS.token) && !leaked.includes(SECRETS.authorization), `the request reached the host the wrapped name spells: ${JSON.stringify(leaked.slice(0, 120))}`)
        assert.equal(box.connections, 0, 'nothing connected to the host the wrapped name spells')
        assert.equal(error.code, 'TLS_FALLBACK_PROXY_ERROR', `${error.code ?? ''} ${error.message}`)
        assert.equal(error.proxy, `socks5://127.0.0.1:${dante.port}`)
        assert.equal(error.statusCode, undefined)
        assert.match(error.message, /host name of 265 bytes: SOCKS5 carries at most 255/)
        assert.ok(!error.message.includes(name), 'the long name is shortened in the message')
        assert.equal(agent.policy(origin), undefined)
        assert.equal(events.fallbacks.length, 0)
        assert.ok(events.attempts.length <= 1, 'one attempt: a proxy error is never a fingerprint')
        assert.ok(!dante.log().some((line) => line.includes(`127.0.0.1.${box.port}`)), 'Dante opened no tunnel to it')
      } finally {
        events.stop()
        await agent.close()
        await box.close()
      }
    })
  }

  test('a host name of exactly 255 bytes still goes to the proxy (the limit, not one byte less)', async () => {
    const proxyBox = await listenBox(0)
    const name = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(55)}.example`
    assert.equal(Buffer.byteLength(name), 255)
    const proxy = parseProxy('proxy', `socks5://127.0.0.1:${proxyBox.port}`)
    const socket = openTunnel(proxy, { host: name, port: 443, tcp: {}, timeout: 60_000 }, () => {})
    try {
      for (let i = 0; i < 200 && proxyBox.received().length < 3; i++) await new Promise((resolve) => setTimeout(resolve, 10))
      assert.deepEqual([...proxyBox.received()], [5, 1, 0], 'the greeting went to the proxy')
    } finally {
      socket.destroy()
      await proxyBox.close()
    }
  })

  test('a username or password longer than 255 bytes: refused at construction with the option\'s path, never echoed', () => {
    const long = 'u'.repeat(256)
    for (const uri of [`socks5://${long}:pw@127.0.0.1:1080`, `socks5://user:${long}@127.0.0.1:1080`]) {
      const error = (() => { try { parseProxy('proxy', uri) } catch (e) { return e as Error & { code?: string, option?: string } } })()
      assert.equal(error?.code, 'TLS_FALLBACK_INVALID_OPTION')
      assert.equal(error?.option, 'proxy')
      assert.match(error?.message ?? '', /longer than 255 bytes \(SOCKS5 limit\)/)
      assert.ok(!(error?.message ?? '').includes(long))
    }
    assert.doesNotThrow(() => parseProxy('proxy', `socks5://${'u'.repeat(255)}:${'p'.repeat(255)}@127.0.0.1:1080`))
  })

  test('at use, before connecting: a proxy whose username or password exceeds 255 bytes (not made by parseProxy) sends nothing to the proxy', async () => {
    const proxyBox = await listenBox(0)
    const valid = parseProxy('proxy', `socks5://user:pw@127.0.0.1:${proxyBox.port}`)
    try {
      for (const field of ['username', 'password'] as const) {
        const proxy: Proxy = { ...valid, [field]: 'x'.repeat(300) }
        const error = await new Promise<Error & { code?: string }>((resolve) => {
          openTunnel(proxy, { host: 'origin.example', port: 443, tcp: {}, timeout: 2000 }, (e) => resolve(e as Error))
        })
        assert.equal(error.code, 'TLS_FALLBACK_PROXY_ERROR')
        assert.match(error.message, new RegExp(`has a ${field} longer than 255 bytes`))
        assert.ok(!error.message.includes('x'.repeat(300)))
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
      assert.equal(proxyBox.connections, 0, 'the proxy was not even connected to')
    } finally {
      await proxyBox.close()
    }
  })
})
