import { execFileSync } from 'node:child_process'
import { chmod, chown, copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { Kdc } from './kdc.ts'
import { freePort, waitForServer } from './ports.ts'
import { readOr, spawnServer, stopChild, waitForLines } from './process.ts'

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
    'cache deny all',
    'cache_mem 8 MB',
    `access_log stdio:${root}/access.log`,
    `cache_log ${root}/cache.log`,
    `coredump_dir ${root}`,
    'cache_store_log none',
    'pinger_enable off',
    'shutdown_lifetime 0 seconds',
    'logfile_rotate 0',
    'dns_v4_first on',
    `hosts_file ${root}/hosts`,
    'forwarded_for delete',
    'via off',
    ''
  ].join('\n')
  await writeFile(path.join(root, 'hosts'), '127.0.0.1 localhost\n')
  await writeFile(path.join(root, 'squid.conf'), conf)
  await writeFile(path.join(root, 'access.log'), '')
  if (typeof process.getuid === 'function' && process.getuid() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'proxy']).toString().trim())
    const gid = Number(execFileSync('id', ['-g', 'proxy']).toString().trim())
    for (const name of ['', 'squid.conf', 'access.log', 'hosts', 'http.keytab']) await chown(path.join(root, name), uid, gid)
  }
  await chmod(root, 0o755)

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
