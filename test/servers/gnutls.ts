import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort, waitForServer } from './ports.ts'
import { spawnServer, stopChild } from './process.ts'

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
  const { child, output, exited } = await spawnServer('gnutls-serv', [
    '--http',
    '--port', String(port),
    '--x509certfile', path.join(certs, `${options.cert ?? 'server'}.crt`),
    '--x509keyfile', path.join(certs, `${options.cert ?? 'server'}.key`),
    '--priority', priority,
  ], {}, 'apt-get install -y gnutls-bin')

  const close = async (): Promise<void> => { await stopChild(child, exited) }
  await waitForServer({ child, ready: port, timeoutMs: STARTUP_TIMEOUT_MS, what: `gnutls-serv did not start on port ${port}`, log: output, close })

  return {
    port,
    host: '127.0.0.1',
    close: async () => { await stopChild(child, exited) },
    output,
  }
}
