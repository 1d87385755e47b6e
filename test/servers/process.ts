import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import net from 'node:net'

// What the test servers that run a Debian program (gnutls-serv, danted, squid, microsocks) share:
// waiting for their port, stopping the process, reading their logs.

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export async function accepts (port: number): Promise<boolean> {
  const socket = net.connect(port, '127.0.0.1')
  try {
    await once(socket, 'connect')
    return true
  } catch {
    return false
  } finally {
    socket.destroy()
  }
}

/** SIGTERM, then SIGKILL after 5 s; resolves once the process exited (`exited`: its 'exit' event). */
export async function stopChild (child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
  await exited
  clearTimeout(timer)
}

/** A file's text, or '' when it does not exist (yet). */
export function readOr (file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return ''
  }
}
