import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { once } from 'node:events'
import net from 'node:net'
import tls from 'node:tls'
import type { AuthHandshakeEvent } from '../src/telemetry.ts'
import { CHANNELS } from '../src/telemetry.ts'
import { certs } from './servers/certs.ts'

// What the authentication tests share: the server's certificate (for channel bindings) and a
// minimal HTTP/1.1 reader for CONNECT legs by hand (undici's connect() gives up on a 407).

export async function peerCertificate (port: number): Promise<Buffer> {
  const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: certs.ca })
  await once(socket, 'secureConnect')
  const raw = socket.getPeerX509Certificate()!.raw
  socket.destroy()
  return raw
}

/** A minimal HTTP/1.1 reader on one socket: status, headers, Content-Length body. */
export class Wire {
  readonly socket: net.Socket
  #buffer = Buffer.alloc(0)
  #waiters: Array<() => void> = []
  constructor (socket: net.Socket) {
    this.socket = socket
    socket.on('data', (chunk: Buffer) => { this.#buffer = Buffer.concat([this.#buffer, chunk]); for (const w of this.#waiters.splice(0)) w() })
    socket.on('close', () => { for (const w of this.#waiters.splice(0)) w() })
  }

  async response (): Promise<{ status: number, headers: Array<[string, string]> }> {
    for (;;) {
      const end = this.#buffer.indexOf('\r\n\r\n')
      if (end >= 0) {
        const lines = this.#buffer.subarray(0, end).toString('latin1').split('\r\n')
        const headers = lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()] as [string, string])
        const length = Number(headers.find(([k]) => k === 'content-length')?.[1] ?? 0)
        if (this.#buffer.length >= end + 4 + length) {
          this.#buffer = this.#buffer.subarray(end + 4 + length) // the body is drained before the next leg
          return { status: Number(lines[0]!.split(' ')[1]), headers }
        }
      }
      if (this.socket.destroyed) throw new Error('closed before a whole response')
      await new Promise<void>((resolve) => this.#waiters.push(resolve))
    }
  }
}

/** Every value of one header, from a Wire response. */
export function headerValues (headers: Array<[string, string]>, name: string): string[] {
  return headers.filter(([k]) => k === name).map(([, v]) => v)
}

/** Opens a plain TCP connection to a proxy, with a Wire reader and a CONNECT writer. */
export async function proxySocket (port: number): Promise<{ wire: Wire, connect: (target: string, authorization?: string) => void, close: () => void }> {
  const socket = net.connect(port, '127.0.0.1')
  await once(socket, 'connect')
  return {
    wire: new Wire(socket),
    connect: (target, authorization) => {
      socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${authorization === undefined ? '' : `Proxy-Authorization: ${authorization}\r\n`}\r\n`)
    },
    close: () => socket.destroy()
  }
}

/** Runs `run` and collects the auth channel's events (one per connection handshake) meanwhile. */
export async function authEvents<T> (run: () => Promise<T>): Promise<{ result: T, events: AuthHandshakeEvent[] }> {
  const events: AuthHandshakeEvent[] = []
  const listener = (message: unknown): void => { events.push(message as AuthHandshakeEvent) }
  subscribe(CHANNELS.auth, listener)
  try {
    return { result: await run(), events }
  } finally {
    unsubscribe(CHANNELS.auth, listener)
  }
}
