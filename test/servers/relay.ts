import net from 'node:net'

/**
 * A TCP relay on loopback: clients connect to it and it pipes bytes to a backend. Tests use it to
 * act on the client's connection from outside TLS: reset it (as IIS does), close it, or inject bytes.
 */
export interface RelayPair {
  client: net.Socket
  upstream: net.Socket
  /** Set to stop forwarding server-to-client bytes. */
  mute: boolean
  /**
   * While above 0, server-to-client bytes wait this many milliseconds before they are forwarded, so
   * that a test server can still mute what it wrote just before it decided to drop the connection.
   */
  delayMs: number
}

export interface Relay {
  port: number
  /** Connections the relay accepted. */
  readonly connections: number
  /** Client connections still open. */
  readonly open: number
  /** The pair whose upstream socket has this local port (the backend sees it as remotePort). */
  pairByUpstreamPort: (port: number) => RelayPair | undefined
  close: () => Promise<void>
}

export interface RelayOptions {
  backendPort: number
  /** Sees every client-to-server chunk before it is forwarded; return false to drop it. */
  onClientData?: (pair: RelayPair, chunk: Buffer) => boolean | void
  /** Picks the backend port per connection from the client's first bytes (its ClientHello). */
  route?: (firstChunk: Buffer) => number
}

export async function startRelay (options: RelayOptions): Promise<Relay> {
  const pairs = new Map<number, RelayPair>()
  const sockets = new Set<net.Socket>()
  const clients = new Set<net.Socket>()
  let connections = 0
  const server = net.createServer((client) => {
    connections += 1
    sockets.add(client)
    clients.add(client)
    client.on('close', () => { sockets.delete(client); clients.delete(client) })
    client.on('error', () => {})
    client.once('data', (first) => {
      const port = options.route?.(first) ?? options.backendPort
      const upstream = net.connect(port, '127.0.0.1')
      sockets.add(upstream)
      const pair: RelayPair = { client, upstream, mute: false, delayMs: 0 }
      const held: Buffer[] = []
      let timer: NodeJS.Timeout | undefined
      const flush = (): void => {
        timer = undefined
        const chunks = held.splice(0)
        if (!pair.mute && !client.destroyed) for (const c of chunks) client.write(c)
      }
      let key: number | undefined
      upstream.on('connect', () => {
        key = upstream.localPort as number
        pairs.set(key, pair)
      })
      upstream.on('close', () => {
        sockets.delete(upstream)
        client.destroy()
        // Kept a moment longer: a test server may still look the pair up while it drops the connection.
        if (key !== undefined) setTimeout(() => { if (pairs.get(key as number) === pair) pairs.delete(key as number) }, 1_000).unref()
      })
      upstream.on('error', () => {})
      upstream.on('data', (chunk: Buffer) => {
        if (pair.delayMs > 0 || held.length > 0) {
          held.push(chunk)
          timer ??= setTimeout(flush, pair.delayMs)
        } else if (!pair.mute && !client.destroyed) {
          client.write(chunk)
        }
      })
      const forward = (chunk: Buffer): void => {
        if (options.onClientData?.(pair, chunk) === false) return
        if (!upstream.destroyed) upstream.write(chunk)
      }
      forward(first)
      client.on('data', forward)
      client.on('close', () => upstream.destroy())
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    get connections () { return connections },
    get open () { return clients.size },
    pairByUpstreamPort: (port) => pairs.get(port),
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

/** Whether a TLS ClientHello offers TLS 1.3 (supported_versions lists 0x0304). */
export function offersTls13 (hello: Buffer): boolean {
  // record(5) handshake type(1) length(3) version(2) random(32)
  let p = 5 + 4 + 2 + 32
  if (hello.length < p + 1 || hello[0] !== 22) return false
  p += 1 + (hello[p] as number) // session id
  p += 2 + hello.readUInt16BE(p) // cipher suites
  p += 1 + (hello[p] as number) // compression methods
  const end = p + 2 + hello.readUInt16BE(p)
  p += 2
  while (p + 4 <= end && p + 4 <= hello.length) {
    const type = hello.readUInt16BE(p)
    const len = hello.readUInt16BE(p + 2)
    if (type === 0x002b) {
      const list = hello.subarray(p + 5, p + 5 + (hello[p + 4] as number))
      for (let i = 0; i + 1 < list.length; i += 2) if (list.readUInt16BE(i) === 0x0304) return true
      return false
    }
    p += 4 + len
  }
  return false
}
