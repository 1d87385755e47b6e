import { spawn } from 'node:child_process'
import { once } from 'node:events'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort, waitForServer } from './ports.ts'
import { stopChild } from './process.ts'

const certs = fileURLToPath(new URL('../fixtures/certs/', import.meta.url))
const STARTUP_TIMEOUT_MS = 10_000

export interface GnutlsServer {
  port: number
  host: '127.0.0.1'
  close(): Promise<void>
  output(): string
}

export interface GnutlsOptions {
  /** Default false: a legacy server without RFC 5746 (no renegotiation_info). */
  safeRenegotiation?: boolean
  /** The certificate it presents (test/fixtures/certs): `'server'` (default) or `'localhost-only'` (DNS:localhost, no IP SAN). */
  cert?: 'server' | 'localhost-only'
}

/** Starts `gnutls-serv --http` on a free loopback port (TLS 1.2 at most). */
export async function startGnutls (options: GnutlsOptions = {}): Promise<GnutlsServer> {
  const priority = options.safeRenegotiation
    ? 'NORMAL:-VERS-TLS1.3'
    : 'NORMAL:%DISABLE_SAFE_RENEGOTIATION:-VERS-TLS1.3'
  const port = await freePort()
  const child = spawn('gnutls-serv', [
    '--http',
    '--port', String(port),
    '--x509certfile', path.join(certs, `${options.cert ?? 'server'}.crt`),
    '--x509keyfile', path.join(certs, `${options.cert ?? 'server'}.key`),
    '--priority', priority,
  ], { stdio: ['ignore', 'pipe', 'pipe'] })

  let output = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  const exited = once(child, 'exit').catch(() => undefined)

  try {
    await once(child, 'spawn')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('gnutls-serv not found: apt-get install -y gnutls-bin', { cause: error })
    }
    throw error
  }

  const close = async (): Promise<void> => { await stopChild(child, exited) }
  await waitForServer({ child, ready: port, timeoutMs: STARTUP_TIMEOUT_MS, what: `gnutls-serv did not start on port ${port}`, log: () => output, close })

  return {
    port,
    host: '127.0.0.1',
    close: async () => { await stopChild(child, exited) },
    output: () => output,
  }
}
