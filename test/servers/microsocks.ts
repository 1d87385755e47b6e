import { freePort, waitForServer } from './ports.ts'
import { spawnServer, stopChild } from './process.ts'

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
  const { child, output, exited } = await spawnServer('microsocks', ['-i', '127.0.0.1', '-p', String(port), '-u', options.user, '-P', options.password], {
    env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/bin:/usr/sbin` }
  }, 'apt-get install -y microsocks')
  const close = async (): Promise<void> => { await stopChild(child, exited) }
  await waitForServer({ child, ready: port, timeoutMs: STARTUP_TIMEOUT_MS, what: `microsocks did not start on port ${port}`, log: output, close })
  return { port, output, close }
}
