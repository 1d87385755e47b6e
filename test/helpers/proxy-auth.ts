import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import tls from 'node:tls'
import { CHANNELS, type ProxyAuthEvent } from '../../src/telemetry.ts'
import { certs } from '../servers/certs.ts'
import { startModern, type ModernServer } from '../servers/modern.ts'

/** What the proxy-auth tests share: origins that record the headers they got, and the channels. */

export interface RecordingOrigins {
  /** An https: origin answering "origin". */
  tls: ModernServer
  /** A plain http: origin answering "plain origin". */
  plainPort: number
  /** The request headers both received, in order. */
  seen: http.IncomingHttpHeaders[]
  close: () => Promise<void>
}

export async function startRecordingOrigins (): Promise<RecordingOrigins> {
  const seen: http.IncomingHttpHeaders[] = []
  const tls = await startModern({
    handle: (req, res) => {
      seen.push(req.headers as http.IncomingHttpHeaders)
      ;(res as http.ServerResponse).writeHead(200, { 'content-type': 'text/plain' })
      res.end('origin')
    }
  })
  const plain = http.createServer((req, res) => {
    seen.push(req.headers)
    res.end('plain origin')
  })
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve))
  return {
    tls,
    plainPort: (plain.address() as AddressInfo).port,
    seen,
    close: async () => {
      plain.closeAllConnections()
      plain.close()
      await tls.close()
    }
  }
}

/** Every event of the library's channels (`text()`: all of them as JSON, for leak checks), the proxy-auth ones in `events`. */
export function recordChannels (): { events: ProxyAuthEvent[], text: () => string, stop: () => void } {
  const events: ProxyAuthEvent[] = []
  const all: unknown[] = []
  const subs = Object.values(CHANNELS).map((name) => {
    const fn = (message: unknown): void => {
      all.push(message)
      if (name === CHANNELS.proxyAuth) events.push(message as ProxyAuthEvent)
    }
    subscribe(name, fn)
    return [name, fn] as const
  })
  return { events, text: () => JSON.stringify(all), stop: () => { for (const [name, fn] of subs) unsubscribe(name, fn) } }
}

/**
 * A scripted proxy: each CONNECT head it reads gets the next answer of `script` (none left: it closes;
 * a function writes its own answer, e.g. an endless one); `connects` keeps the heads.
 */
export interface ScriptedProxy { port: number, connects: string[], connections: number, script: Array<string | Buffer | ((socket: net.Socket) => void)>, close: () => Promise<void> }

export async function startScripted (options: { tls?: boolean } = {}): Promise<ScriptedProxy> {
  const state: ScriptedProxy = { port: 0, connects: [], connections: 0, script: [], close: async () => {} }
  const sockets = new Set<net.Socket>()
  const onSocket = (socket: net.Socket): void => {
    state.connections++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let buffer = ''
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1')
      for (let end = buffer.indexOf('\r\n\r\n'); end !== -1; end = buffer.indexOf('\r\n\r\n')) {
        state.connects.push(buffer.slice(0, end))
        buffer = buffer.slice(end + 4)
        const answer = state.script.shift()
        if (answer === undefined) socket.destroy()
        else if (typeof answer === 'function') answer(socket)
        else socket.write(answer)
      }
    })
  }
  const server = options.tls === true
    ? tls.createServer({ cert: certs.serverCert, key: certs.serverKey }, onSocket)
    : net.createServer(onSocket)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  state.port = (server.address() as AddressInfo).port
  state.close = async () => {
    for (const s of sockets) s.destroy()
    await new Promise((resolve) => server.close(resolve))
  }
  return state
}
