import { copyFile, mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { Kdc } from './kdc.ts'
import { freePort, waitForServer } from './ports.ts'
import { readOr, spawnServer, stopChild, waitForLines } from './process.ts'
import { handToSquid, squidCommonConfig, writeSquidFiles } from './squid.ts'

const STARTUP_TIMEOUT_MS = 20_000

export interface SquidNegotiateProxy {
  /** A port whose CONNECT needs Kerberos: 407 `Proxy-Authenticate: Negotiate`, verified by negotiate_kerberos_auth. */
  port: number
  /** Lines of Squid's access log (`TCP_TUNNEL/200 ... alice@REALM`, `TCP_DENIED/407`). */
  accessLog: () => string[]
  waitForLog: (pattern: RegExp, count?: number) => Promise<string[]>
  cacheLog: () => string
  close: () => Promise<void>
}

/**
 * Starts Squid (Debian's `squid`) in the foreground on a free loopback port, with its own config in a
 * fresh temp dir, asking every request for Negotiate (Kerberos): `negotiate_kerberos_auth` checks the
 * token against `HTTP/localhost@REALM` from the KDC's service keytab (a copy readable by `proxy`).
 * Squid cannot verify NTLM without a Samba domain: use the Apache forward proxy for NTLM.
 */
export async function startSquidNegotiate (kdc: Kdc): Promise<SquidNegotiateProxy> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'undici-tls-fallback-squid-negotiate-'))
  const port = await freePort()
  const keytab = path.join(root, 'http.keytab')
  await copyFile(kdc.httpKeytab, keytab)
  const conf = [
    `pid_filename ${root}/squid.pid`,
    `http_port 127.0.0.1:${port}`,
    `auth_param negotiate program /usr/lib/squid/negotiate_kerberos_auth -k ${keytab} -s ${kdc.httpPrincipal}`,
    'auth_param negotiate children 2 startup=1 idle=1',
    'auth_param negotiate keep_alive on',
    'acl authed proxy_auth REQUIRED',
    'http_access allow authed',
    'http_access deny all',
    ...squidCommonConfig(root)
  ].join('\n')
  await writeSquidFiles(root, conf)
  await handToSquid(root, ['http.keytab'])

  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin`, LANG: 'C', KRB5_CONFIG: kdc.krb5Config, KRB5RCACHEDIR: root }
  delete env.KRB5CCNAME
  const { child, output, exited } = await spawnServer('squid', ['-N', '-f', path.join(root, 'squid.conf')], { detached: true, env }, 'apt-get install -y squid', root)
  const close = async (): Promise<void> => {
    await stopChild(child, exited)
    await rm(root, { recursive: true, force: true })
  }
  await waitForServer({ child, ready: port, timeoutMs: STARTUP_TIMEOUT_MS, what: 'squid (negotiate) did not start', log: () => output() + readOr(path.join(root, 'cache.log')), close, pollMs: 100 })
  const accessLog = (): string[] => readOr(path.join(root, 'access.log')).split('\n').filter((l) => l.length > 0)
  return {
    port,
    accessLog,
    waitForLog: async (pattern, count) => await waitForLines(accessLog, pattern, count),
    cacheLog: () => output() + readOr(path.join(root, 'cache.log')),
    close
  }
}
