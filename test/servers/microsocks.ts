import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { freePort, waitForServer } from './ports.ts'
import { stopChild } from './process.ts'

const STARTUP_TIMEOUT_MS = 15_000

export interface MicrosocksProxy {
  port: number
  /** Everything microsocks printed: a `client[N] 127.0.0.1: connected to HOST:PORT` line per tunnel. */
  output: () => string
  close: () => Promise<void>
}

/**
 * Starts microsocks (Debian's `microsocks`), a SOCKS5 server that checks RFC 1929 username and
 * password against the ones it was started with (Dante checks system accounts, so a test can only
 * see it refuse), on a free loopback port.
 */
export async function startMicrosocks (options: { user: string, password: string }): Promise<MicrosocksProxy> {
  const port = await freePort()
  const child = spawn('microsocks', ['-i', '127.0.0.1', '-p', String(port), '-u', options.user, '-P', options.password], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/bin:/usr/sbin` }
  })
  let output = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  const exited = once(child, 'exit').catch(() => undefined)
  try {
    await once(child, 'spawn')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('microsocks not found: apt-get install -y microsocks', { cause: error })
    throw error
  }
  const close = async (): Promise<void> => { await stopChild(child, exited) }
  await waitForServer({ child, ready: port, timeoutMs: STARTUP_TIMEOUT_MS, what: `microsocks did not start on port ${port}`, log: () => output, close })
  return { port, output: () => output, close }
}
