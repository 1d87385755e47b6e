import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

// What the test servers that run a program (apache2, gnutls-serv, danted, krb5kdc, squid, microsocks)
// share: starting and stopping the process, reading their logs. Waiting for their port: ports.ts.

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

/** A test server's process, its stdout and stderr collected. */
export interface ServerProcess {
  child: ChildProcess
  /** What it wrote to stdout and stderr so far. */
  output: () => string
  /** Its 'exit' event (see stopChild). */
  exited: Promise<unknown>
}

/**
 * Spawns a test server's program (stdin ignored, stdout and stderr collected). When it cannot start,
 * removes `root` (the server's folder, when given) and throws; when the program is missing, says
 * what to install (`install`: e.g. `apt-get install -y squid`).
 */
export async function spawnServer (command: string, args: string[], options: SpawnOptions, install: string, root?: string): Promise<ServerProcess> {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  const exited = once(child, 'exit').catch(() => undefined)
  try {
    await once(child, 'spawn')
  } catch (error) {
    if (root !== undefined) await rm(root, { recursive: true, force: true })
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${command} not found: ${install}`, { cause: error })
    throw error
  }
  return { child, output: () => output, exited }
}

/** The log's lines that match, once there are `count` of them or after 15 s (then as many as there are). */
export async function waitForLines (log: () => string[], pattern: RegExp, count = 1): Promise<string[]> {
  const until = Date.now() + 15_000
  for (;;) {
    const lines = log().filter((l) => pattern.test(l))
    if (lines.length >= count || Date.now() > until) return lines
    await sleep(50)
  }
}
