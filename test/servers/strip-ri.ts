import net from 'node:net'

/**
 * An on-path box that strips the RFC 5746 `renegotiation_info` extension (0xff01) from the
 * ServerHello of the first `strip` connections, then relays every byte unchanged. A strict client
 * refuses such a hello at once (ERR_SSL_UNSAFE_LEGACY_RENEGOTIATION_DISABLED), before the Finished
 * messages would reveal the change; a handshake that goes on to completion with the altered hello
 * fails its Finished check. So the box can make one strict handshake look like a server without
 * RFC 5746, but it cannot make a completed handshake show a hello the server did not send.
 */
export interface StripBox {
  port: number
  /** Connections accepted. */
  readonly connections: number
  /** ServerHellos rewritten (the extension was present and removed). */
  readonly stripped: number
  close: () => Promise<void>
}

const RENEGOTIATION_INFO = 0xff01

/**
 * Removes renegotiation_info from a record that starts with a ServerHello. Returns the new record,
 * or undefined when the record is not a ServerHello or has no such extension.
 */
export function stripRenegotiationInfo (record: Buffer): Buffer | undefined {
  if (record[0] !== 22 || record[5] !== 2) return undefined
  const helloLength = record.readUIntBE(6, 3)
  const body = 9
  let p = body + 2 + 32
  p += 1 + (record[p] as number) // session id
  p += 2 + 1 // cipher suite, compression method
  if (p + 2 > body + helloLength) return undefined
  const extensionsAt = p
  const end = p + 2 + record.readUInt16BE(p)
  p += 2
  while (p + 4 <= end) {
    const type = record.readUInt16BE(p)
    const length = record.readUInt16BE(p + 2)
    if (type === RENEGOTIATION_INFO) {
      const removed = 4 + length
      const out = Buffer.concat([record.subarray(0, p), record.subarray(p + removed)])
      out.writeUInt16BE(out.readUInt16BE(3) - removed, 3)
      out.writeUIntBE(helloLength - removed, 6, 3)
      out.writeUInt16BE(record.readUInt16BE(extensionsAt) - removed, extensionsAt)
      return out
    }
    p += 4 + length
  }
  return undefined
}

export async function startStripBox (backendPort: number, options: { strip?: number } = {}): Promise<StripBox> {
  const strip = options.strip ?? 1
  const sockets = new Set<net.Socket>()
  let connections = 0
  let stripped = 0
  const server = net.createServer((client) => {
    connections += 1
    const attack = connections <= strip
    const upstream = net.connect(backendPort, '127.0.0.1')
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => {})
    }
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
    client.pipe(upstream)
    let pending: Buffer | undefined = attack ? Buffer.alloc(0) : undefined
    upstream.on('data', (chunk: Buffer) => {
      if (pending === undefined) {
        client.write(chunk)
        return
      }
      pending = Buffer.concat([pending, chunk])
      if (pending.length < 5 || pending.length < 5 + pending.readUInt16BE(3)) return
      const length = 5 + pending.readUInt16BE(3)
      const rewritten = stripRenegotiationInfo(pending.subarray(0, length))
      if (rewritten !== undefined) stripped += 1
      client.write(Buffer.concat([rewritten ?? pending.subarray(0, length), pending.subarray(length)]))
      pending = undefined
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    get connections () { return connections },
    get stripped () { return stripped },
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
