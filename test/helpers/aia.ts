import { X509Certificate } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { TlsFallbackAgent, type TlsFallbackAgentOptions } from '../../src/index.ts'
import { makePki, openssl, type Pki } from '../servers/pki.ts'
import { startAia, type AiaServer } from '../servers/aia.ts'
import { startModern, type ModernServer } from '../servers/modern.ts'

/**
 * What the AIA tests of the proxy and the stores share: a PKI made by the test (r1 trusted, r2 not),
 * an AIA server on loopback, and servers that send their leaf without its intermediate.
 */
export interface AiaWorld {
  pki: Pki
  aia: AiaServer
  /** Leaf under i1, AIA at http://127.0.0.1:<aia>/i1.cer?AIA_QUERY. */
  server: ModernServer
  /** Leaf under i1, AIA at http://localhost:<aia>/i1.cer (a host name a proxy rule can tell apart). */
  named: ModernServer
  /** Leaf under i2 (root r2, not trusted), AIA at http://127.0.0.1:<aia>/i2.cer. */
  foreign: ModernServer
  i1: X509Certificate
  /** i1's subject and key, issued by r2: a cross-signed copy that chains to the untrusted root. */
  i1ByR2: X509Certificate
  i2: X509Certificate
  agent: (options?: TlsFallbackAgentOptions) => TlsFallbackAgent
  close: () => Promise<void>
}

export const allowLoopback = { allowLoopback: true }
/** The query of l1's AIA URL: no log, event or message may show it. */
export const AIA_QUERY = 'sig=aia-secret-77f0'

export async function startAiaWorld (): Promise<AiaWorld> {
  const aia = await startAia()
  const pki = makePki()
  pki.root('r1')
  pki.intermediate('i1', 'r1')
  pki.leaf('l1', 'i1', `http://127.0.0.1:${aia.port}/i1.cer?${AIA_QUERY}`)
  pki.leaf('l4', 'i1', `http://localhost:${aia.port}/i1.cer`)
  pki.root('r2')
  pki.intermediate('i2', 'r2')
  pki.leaf('l2', 'i2', `http://127.0.0.1:${aia.port}/i2.cer`)
  // The same CSR as i1 (its subject and key), signed by r2.
  writeFileSync(pki.file('x.srl'), '77\n')
  openssl(['x509', '-req', '-in', pki.file('i1.csr'), '-CA', pki.file('r2.crt'), '-CAkey', pki.file('r2.key'), '-CAserial', pki.file('x.srl'),
    '-days', '30', '-extfile', pki.file('i1.ext'), '-out', pki.file('i1-by-r2.crt')])
  const i1 = new X509Certificate(pki.read('i1.crt'))
  aia.mode = { body: i1.raw }
  const [server, named, foreign] = await Promise.all([
    startModern({ cert: pki.read('l1.crt'), key: pki.read('l1.key') }),
    startModern({ cert: pki.read('l4.crt'), key: pki.read('l4.key') }),
    startModern({ cert: pki.read('l2.crt'), key: pki.read('l2.key') })
  ])
  return {
    pki,
    aia,
    server,
    named,
    foreign,
    i1,
    i1ByR2: new X509Certificate(pki.read('i1-by-r2.crt')),
    i2: new X509Certificate(pki.read('i2.crt')),
    agent: (options = {}) => new TlsFallbackAgent({ connect: { ca: pki.read('r1.crt') }, ...options }),
    close: async () => {
      await Promise.all([server.close(), named.close(), foreign.close(), aia.close()])
      pki.remove()
    }
  }
}

/** Runs `fn` with the agent, then closes it. */
export async function using<T> (a: TlsFallbackAgent, fn: (a: TlsFallbackAgent) => Promise<T>): Promise<T> {
  try {
    return await fn(a)
  } finally {
    await a.close()
  }
}
