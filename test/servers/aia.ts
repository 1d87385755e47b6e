import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/**
 * An AIA (caIssuers) server on loopback. What it answers is the test's to choose per request: a
 * body (DER, PEM, PKCS#7), a lie, a stall (headers never come), or a body that never ends.
 */
export type AiaMode = { body: Buffer, type?: string } | 'stall' | 'endless' | { status: number }

export interface AiaServer {
  port: number
  /** Paths and queries asked for, in order. */
  readonly requests: Array<{ url: string, headers: http.IncomingHttpHeaders }>
  mode: AiaMode
  close: () => Promise<void>
}

export async function startAia (mode: AiaMode = { status: 404 }): Promise<AiaServer> {
  const sockets = new Set<Socket>()
  const timers = new Set<NodeJS.Timeout>()
  const state: AiaServer = {
    port: 0,
    requests: [],
    mode,
    close: async () => {
      for (const t of timers) clearInterval(t)
      for (const s of sockets) s.destroy()
      await new Promise((resolve) => server.close(resolve))
    }
  }
  const server = http.createServer((req, res) => {
    state.requests.push({ url: req.url ?? '', headers: req.headers })
    const m = state.mode
    if (m === 'stall') return
    if (m === 'endless') {
      res.writeHead(200, { 'content-type': 'application/pkix-cert' })
      const chunk = Buffer.alloc(16 * 1024, 0x30)
      const timer = setInterval(() => { res.write(chunk) }, 1)
      timers.add(timer)
      res.on('close', () => { clearInterval(timer) })
      return
    }
    if ('status' in m) {
      res.writeHead(m.status).end()
      return
    }
    res.writeHead(200, { 'content-type': m.type ?? 'application/pkix-cert', 'content-length': m.body.length }).end(m.body)
  })
  server.on('connection', (s: Socket) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  state.port = (server.address() as AddressInfo).port
  return state
}
