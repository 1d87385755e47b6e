import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { CHANNELS, type ProxyAuthEvent } from '../../src/telemetry.ts'
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
