// The bench's server process: loopback HTTPS servers, started and inspected over IPC, so that
// server work never shares a thread with the client being measured.
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { certs } from '../test/servers/certs.ts'
import { startIisLike, type IisLikeOptions, type TestServer } from '../test/servers/iis.ts'
import { BULK_BYTES } from './harness.ts'
import { serve } from './ipc.ts'

const bulk = Buffer.alloc(BULK_BYTES, 0x61)
const small = Buffer.from(JSON.stringify({ ok: true, service: 'bench', items: [1, 2, 3], note: 'a small JSON answer' }))

interface Running {
  port: number
  stats: () => object
  close: () => Promise<void>
}

const servers = new Map<number, Running>()
let nextId = 0

/**
 * A well-behaved TLS server: `/bulk` answers 16 MiB, anything else a small JSON body. Keep-alive
 * lasts a minute, so that no contender's idle connections expire between its rounds.
 */
async function startFast (): Promise<Running> {
  let handshakes = 0
  let resumed = 0
  let requests = 0
  const server = https.createServer({ cert: certs.serverCert, key: certs.serverKey }, (req, res) => {
    requests += 1
    const body = req.url?.startsWith('/bulk') === true ? bulk : small
    res.writeHead(200, {
      'content-type': body === bulk ? 'application/octet-stream' : 'application/json',
      'content-length': body.length
    })
    res.end(body)
  })
  server.keepAliveTimeout = 60_000
  server.on('secureConnection', (socket) => {
    handshakes += 1
    if (socket.isSessionReused()) resumed += 1
  })
  server.on('tlsClientError', () => {})
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    stats: () => ({ handshakes, resumed, requests }),
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

async function startIis (options: IisLikeOptions): Promise<Running> {
  const iis: TestServer = await startIisLike(options)
  return {
    port: iis.port,
    stats: () => ({
      connections: iis.stats.connections,
      requests: iis.stats.requests.length,
      renegotiations: iis.stats.renegotiations,
      refused: iis.stats.refused,
      // Uploads (bench/uploads.ts): requests that are not POSTs (the priming HEADs), and the 413s.
      notPosts: iis.stats.requests.filter((line) => !line.startsWith('POST')).length,
      tooLarge: iis.stats.tooLarge
    }),
    close: async () => { await iis.close() }
  }
}

function get (id: number): Running {
  const server = servers.get(id)
  if (server === undefined) throw new Error(`no server ${id}`)
  return server
}

serve({
  start: async ({ kind, options }: { kind: 'fast' | 'iis', options?: IisLikeOptions }) => {
    const server = kind === 'fast' ? await startFast() : await startIis(options ?? {})
    const id = ++nextId
    servers.set(id, server)
    return { id, port: server.port }
  },
  stats: ({ id }: { id: number }) => get(id).stats(),
  close: async ({ id }: { id: number }) => {
    const server = servers.get(id)
    servers.delete(id)
    await server?.close()
  },
  stop: async () => {
    await Promise.all([...servers.values()].map(async (s) => await s.close()))
    servers.clear()
  }
})
