import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import net from 'node:net'
import tls from 'node:tls'
import { setTimeout as sleep } from 'node:timers/promises'
import { accepts } from './process.ts'

/** Asks the OS for a free TCP port on 127.0.0.1 (listen on port 0, read it, close). */
export async function freePort (): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** Whether a TLS handshake with 127.0.0.1:port (SNI `localhost`) completes: verified against `ca` when given, else unverified. */
export async function handshakes (port: number, ca?: string | Buffer): Promise<boolean> {
  const socket = tls.connect(ca === undefined
    ? { host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false }
    : { host: '127.0.0.1', port, servername: 'localhost', ca })
  try {
    await once(socket, 'secureConnect')
    return true
  } catch {
    return false
  } finally {
    socket.destroy()
  }
}

/** A test server's process, as waitForServer watches it start. */
export interface Startup {
  child: ChildProcess
  /** The port that accepts once the server is up, or a check of one's own (several ports, a TLS handshake). */
  ready: number | (() => Promise<boolean>)
  timeoutMs: number
  /** The first line of the error: what did not start, e.g. `danted did not start on port 1080`. */
  what: string
  /** The server's output and log so far, read before close(). */
  log: () => string
  /** Stops the process and removes its files. */
  close: () => Promise<void>
  pollMs?: number
}

/**
 * Waits until the server accepts (see Startup.ready). When its process exits first, or the time is
 * up, stops it and throws with its output and log.
 */
export async function waitForServer (startup: Startup): Promise<void> {
  const { child, ready } = startup
  const check = typeof ready === 'number' ? async () => await accepts(ready) : ready
  const deadline = Date.now() + startup.timeoutMs
  while (!(await check())) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      const log = startup.log()
      await startup.close()
      throw new Error(`${startup.what}:\n${log}`)
    }
    await sleep(startup.pollMs ?? 50)
  }
}
