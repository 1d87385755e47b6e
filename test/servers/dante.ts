import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { freePort, waitForServer } from './ports.ts'
import { readOr, spawnServer, stopChild, waitForLines } from './process.ts'

const STARTUP_TIMEOUT_MS = 15_000

export interface DanteProxy {
  port: number
  /** Dante's log: a `pass(1): tcp/connect` line per tunnel, with its destination (`127.0.0.1.PORT`). */
  log: () => string[]
  /** Waits until `count` log lines match `pattern`. */
  waitForLog: (pattern: RegExp, count?: number) => Promise<string[]>
  close: () => Promise<void>
}

export interface DanteOptions {
  /**
   * `'username'`: the server asks for RFC 1929 username/password (checked against the system's
   * users, so a test can only see it refuse made-up credentials). Default `'none'`.
   */
  method?: 'none' | 'username'
}

/**
 * Starts Dante (Debian's `dante-server`), a SOCKS5 server, in the foreground on a free loopback port
 * with its own config in a fresh temp dir: CONNECT allowed from loopback to anywhere, one process.
 * As root it keeps root for privileged operations and uses `nobody` otherwise.
 */
export async function startDante (options: DanteOptions = {}): Promise<DanteProxy> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'undici-tls-fallback-dante-'))
  const port = await freePort()
  const logFile = path.join(root, 'danted.log')
  const conf = [
    `logoutput: ${logFile}`,
    `internal: 127.0.0.1 port = ${port}`,
    'external: 127.0.0.1',
    'clientmethod: none',
    `socksmethod: ${options.method ?? 'none'}`,
    'user.privileged: root',
    'user.unprivileged: nobody',
    'client pass {',
    '  from: 127.0.0.0/8 to: 0.0.0.0/0',
    '}',
    'socks pass {',
    '  from: 127.0.0.0/8 to: 0.0.0.0/0',
    '  command: connect',
    '  log: connect disconnect error',
    '}',
    ''
  ].join('\n')
  await writeFile(path.join(root, 'danted.conf'), conf)
  const { child, output, exited } = await spawnServer('danted', ['-f', path.join(root, 'danted.conf'), '-p', path.join(root, 'danted.pid'), '-N', '1'], {
    detached: true,
    env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin`, LANG: 'C' }
  }, 'apt-get install -y dante-server', root)
  const close = async (): Promise<void> => {
    await stopChild(child, exited)
    await rm(root, { recursive: true, force: true })
  }
  await waitForServer({ child, ready: port, timeoutMs: STARTUP_TIMEOUT_MS, what: `danted did not start on port ${port}`, log: () => output() + readOr(logFile), close, pollMs: 100 })
  const log = (): string[] => readOr(logFile).split('\n').filter((l) => l.length > 0)
  return {
    port,
    log,
    waitForLog: async (pattern, count) => await waitForLines(log, pattern, count),
    close
  }
}
