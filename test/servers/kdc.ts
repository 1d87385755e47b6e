import { execFile } from 'node:child_process'
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { freePort, waitForServer } from './ports.ts'
import { readOr, spawnServer, stopChild } from './process.ts'

const run = promisify(execFile)
const STARTUP_TIMEOUT_MS = 15_000

export interface Kdc {
  realm: string
  port: number
  /** The `krb5.conf` clients and servers use (`KRB5_CONFIG`): this realm only, KDC on loopback, no DNS. */
  krb5Config: string
  /** The service keytab (`HTTP/localhost@REALM`), readable by www-data and proxy. */
  httpKeytab: string
  /** The service principal: `HTTP/localhost@REALM`. */
  httpPrincipal: string
  /** A user with a password and a keytab: `alice`. */
  user: string
  password: string
  /**
   * A fresh ticket cache for `user` (kinit from its keytab), in the KDC's temp dir: the environment
   * to run a client with (`KRB5_CONFIG`, `KRB5CCNAME`). `service` is also accepted with `-S`.
   */
  kinit: () => Promise<{ KRB5_CONFIG: string, KRB5CCNAME: string }>
  /** An empty ticket cache: a client with no ticket. */
  emptyCache: () => { KRB5_CONFIG: string, KRB5CCNAME: string }
  /** Adds a principal with a random key and writes its keys to a keytab of its own; returns the keytab's path. */
  addService: (principal: string) => Promise<string>
  log: () => string
  close: () => Promise<void>
}

const REALM = 'UTF.TEST'
const USER = 'alice'
const PASSWORD = 'alice-krb-pass-5d21'
const MASTER = 'master-key-not-secret-7c'

/**
 * Starts an MIT Kerberos KDC (Debian's krb5-kdc) in the foreground on a free loopback port, with a
 * realm of its own in a fresh temp dir (database, stash, krb5.conf, kdc.conf): nothing system-wide is
 * read or written. Principals: `alice` (password and keytab) and `HTTP/localhost` (keytab).
 */
export async function startKdc (): Promise<Kdc> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'undici-tls-fallback-kdc-'))
  await chmod(root, 0o755)
  const port = await freePort()
  const krb5Config = path.join(root, 'krb5.conf')
  const kdcConfig = path.join(root, 'kdc.conf')
  await writeFile(krb5Config, [
    '[libdefaults]',
    `  default_realm = ${REALM}`,
    '  dns_lookup_kdc = false',
    '  dns_lookup_realm = false',
    '  rdns = false',
    '  dns_canonicalize_hostname = false',
    '  udp_preference_limit = 1',
    `  default_ccache_name = FILE:${root}/ccache-default`,
    `  default_keytab_name = FILE:${root}/default.keytab`,
    '[realms]',
    `  ${REALM} = {`,
    `    kdc = 127.0.0.1:${port}`,
    '  }',
    '[domain_realm]',
    `  localhost = ${REALM}`,
    `  .localhost = ${REALM}`,
    ''
  ].join('\n'), { mode: 0o644 })
  await writeFile(kdcConfig, [
    '[kdcdefaults]',
    `  kdc_listen = 127.0.0.1:${port}`,
    `  kdc_tcp_listen = 127.0.0.1:${port}`,
    '[realms]',
    `  ${REALM} = {`,
    `    database_name = ${root}/principal`,
    `    key_stash_file = ${root}/stash`,
    `    acl_file = ${root}/kadm5.acl`,
    `    kdc_listen = 127.0.0.1:${port}`,
    `    kdc_tcp_listen = 127.0.0.1:${port}`,
    '    max_life = 1h',
    '  }',
    '[logging]',
    `  kdc = FILE:${root}/kdc.log`,
    ''
  ].join('\n'))
  await writeFile(path.join(root, 'kadm5.acl'), '')
  const env = { ...process.env, KRB5_CONFIG: krb5Config, KRB5_KDC_PROFILE: kdcConfig, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin`, LANG: 'C' }
  const admin = async (query: string): Promise<void> => {
    await run('kadmin.local', ['-r', REALM, '-q', query], { env })
  }
  try {
    await run('kdb5_util', ['-r', REALM, 'create', '-s', '-P', MASTER], { env })
  } catch (error) {
    await rm(root, { recursive: true, force: true })
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('kdb5_util not found: apt-get install -y krb5-kdc krb5-admin-server krb5-user', { cause: error })
    throw error
  }
  const httpKeytab = path.join(root, 'http.keytab')
  const userKeytab = path.join(root, 'alice.keytab')
  await admin(`addprinc -pw ${PASSWORD} ${USER}`)
  await admin('addprinc -randkey HTTP/localhost')
  await admin(`ktadd -k ${httpKeytab} HTTP/localhost`)
  await admin(`ktadd -k ${userKeytab} -norandkey ${USER}`)
  await chmod(httpKeytab, 0o644) // Apache's children (www-data) and Squid's helper (proxy) read it

  const { child, output, exited } = await spawnServer('krb5kdc', ['-n', '-r', REALM], { env }, 'apt-get install -y krb5-kdc krb5-admin-server krb5-user', root)
  const close = async (): Promise<void> => {
    await stopChild(child, exited)
    await rm(root, { recursive: true, force: true })
  }
  await waitForServer({ child, ready: port, timeoutMs: STARTUP_TIMEOUT_MS, what: `krb5kdc did not start on port ${port}`, log: () => output() + readOr(path.join(root, 'kdc.log')), close })

  let caches = 0
  await mkdir(path.join(root, 'ccaches'), { mode: 0o700 })
  return {
    realm: REALM,
    port,
    krb5Config,
    httpKeytab,
    httpPrincipal: `HTTP/localhost@${REALM}`,
    user: USER,
    password: PASSWORD,
    kinit: async () => {
      const KRB5CCNAME = `FILE:${path.join(root, 'ccaches', `cc-${++caches}`)}`
      await run('kinit', ['-k', '-t', userKeytab, `${USER}@${REALM}`], { env: { ...env, KRB5CCNAME } })
      return { KRB5_CONFIG: krb5Config, KRB5CCNAME }
    },
    emptyCache: () => ({ KRB5_CONFIG: krb5Config, KRB5CCNAME: `FILE:${path.join(root, 'ccaches', `empty-${++caches}`)}` }),
    addService: async (principal: string) => {
      const keytab = path.join(root, `${principal.replace(/[^A-Za-z0-9]/g, '_')}.keytab`)
      await admin(`addprinc -randkey ${principal}`)
      await admin(`ktadd -k ${keytab} ${principal}`)
      await chmod(keytab, 0o644)
      return keytab
    },
    log: () => output() + readOr(path.join(root, 'kdc.log')),
    close
  }
}
