import assert from 'node:assert/strict'
import { once } from 'node:events'
import https from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { request } from 'undici'
import type { TlsFallbackAgent, TlsFallbackAgentOptions } from '../src/index.ts'
import { certs, clientCert, makeAgent, record } from './helpers.ts'

// A caller's AbortSignal fired while a new connection is being prepared, before undici gets it: the
// priming HEAD of a large upload (src/priming.ts), or a leg of the Windows authentication handshake
// (src/auth/handshake.ts). A real TLS 1.2 server on loopback that holds its answer to those HEADs
// until the test ends. The caller gets an AbortError at once, nothing of the upload is sent, no
// policy is learned, and the connection does not outlive the agent.

const payload = randomBytes(1_000_000)

interface HoldingServer {
  origin: string
  host: string
  /** Requests the server read, as `METHOD path authorization?`. */
  seen: string[]
  /** Resolves when the next HEAD arrives (it is held, never answered). */
  nextHead: () => Promise<void>
  /** Sockets still open on the server's side. */
  readonly open: number
  /** Resolves when every socket the server accepted is closed. */
  allClosed: () => Promise<void>
  close: () => Promise<void>
}

async function startHolding (): Promise<HoldingServer> {
  const seen: string[] = []
  const sockets = new Set<Socket>()
  let waiting: (() => void) | undefined
  const held: ServerResponse[] = []
  const server = https.createServer({ cert: certs.serverCert, key: certs.serverKey, maxVersion: 'TLSv1.2' }, (req: IncomingMessage, res: ServerResponse) => {
    seen.push(`${req.method ?? ''} ${req.url ?? ''}${req.headers.authorization === undefined ? '' : ' authorization'}`)
    if (req.method === 'HEAD') {
      held.push(res) // never answered: the priming (or the handshake's leg) stays in flight
      const w = waiting
      waiting = undefined
      w?.()
      return
    }
    req.resume()
    req.on('end', () => res.end('done'))
  })
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  server.on('tlsClientError', () => {})
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as AddressInfo).port
  return {
    origin: `https://localhost:${port}`,
    host: `localhost:${port}`,
    seen,
    nextHead: async () => await new Promise<void>((resolve) => { waiting = resolve }),
    get open () { return sockets.size },
    allClosed: async () => { await Promise.all([...sockets].map(async (s) => { if (!s.destroyed) await once(s, 'close') })) },
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

function stream (): Readable {
  return Readable.from((function * () { for (let i = 0; i < payload.length; i += 16_384) yield payload.subarray(i, i + 16_384) })())
}

/** Posts 1 MB with `signal`; aborts it once the server holds the connection's HEAD. Returns the error and whether it came before the HEAD was answered. */
async function abortDuringHead (agent: TlsFallbackAgent, server: HoldingServer, body: 'buffer' | 'stream'): Promise<Error & { code?: string }> {
  const controller = new AbortController()
  const head = server.nextHead()
  const pending = request(`${server.origin}/upload/doc`, {
    dispatcher: agent,
    method: 'POST',
    body: body === 'buffer' ? payload : stream(),
    signal: controller.signal
  }).then(async (r) => { await r.body.text(); throw new Error(`expected an abort, got ${r.statusCode}`) }, (e: unknown) => e as Error & { code?: string })
  await head
  controller.abort()
  // The HEAD is never answered: the caller's error can only come from the abort.
  return await pending
}

describe('abort while a new connection is being prepared', () => {
  let server: HoldingServer
  before(async () => { server = await startHolding() })
  after(async () => { await server.close() })

  const cases: Array<[string, (host: string) => TlsFallbackAgentOptions['hosts'], string]> = [
    ['the priming HEAD of a large upload (host with a clientCert)', (host) => ({ [host]: { clientCert } }), 'HEAD /upload/doc'],
    ['a leg of the NTLM handshake (host with auth)', (host) => ({ [host]: { auth: { scheme: 'ntlm', username: 'u', password: 'p', domain: 'D' } } }), 'HEAD /upload/doc authorization'],
    ['a leg of the NTLM handshake of a connection primed for the upload (host with auth and a clientCert)', (host) => ({ [host]: { clientCert, auth: { scheme: 'ntlm', username: 'u', password: 'p', domain: 'D' } } }), 'HEAD /upload/doc authorization']
  ]
  for (const [what, hosts, held] of cases) {
    for (const body of ['buffer', 'stream'] as const) {
      test(`during ${what}, 1 MB ${body}: AbortError at once, no upload sent, no policy, the connection closed`, async (t) => {
        // A connect timeout far beyond the test's: only the abort can end the request in time.
        const agent = makeAgent({ hosts: hosts(server.host), connectTimeout: 60_000 } as TlsFallbackAgentOptions)
        const events = record(server.origin)
        let closed = false
        t.after(async () => { events.stop(); if (!closed) await agent.destroy() })
        const start = server.seen.length
        const error = await abortDuringHead(agent, server, body)
        assert.equal(error.name, 'AbortError', `${error.name}: ${error.message}`)
        assert.deepEqual(server.seen.slice(start), [held])
        assert.equal(agent.policy(server.origin), undefined)
        assert.deepEqual(events.diagnoses, [])
        // The prepared connection does not leak: the agent closes, the server sees its socket closed.
        await agent.close()
        closed = true
        await server.allClosed()
        assert.equal(server.open, 0)
        assert.deepEqual(server.seen.slice(start), [held], 'nothing of the upload was sent, not even after the abort')
      })
    }
  }
})
