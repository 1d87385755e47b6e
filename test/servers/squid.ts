import { execFileSync } from 'node:child_process'
import { chmod, chown, copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { certs } from './certs.ts'
import { freePort, handshakes, waitForServer } from './ports.ts'
import { accepts, readOr, spawnServer, stopChild, waitForLines } from './process.ts'

const STARTUP_TIMEOUT_MS = 20_000

/** The config lines every test Squid shares: no cache, its logs and hosts file in `root`, nothing added to requests. */
export function squidCommonConfig (root: string): string[] {
  return [
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
  ]
}

/** Writes `squid.conf`, an empty access log and a hosts file (localhost only) into `root`. */
export async function writeSquidFiles (root: string, conf: string): Promise<void> {
  await writeFile(path.join(root, 'hosts'), '127.0.0.1 localhost\n')
  await writeFile(path.join(root, 'squid.conf'), conf)
  await writeFile(path.join(root, 'access.log'), '')
}

/** As root, Squid drops to the `proxy` user: `root`, its config, log and hosts file and these files become its own. */
export async function handToSquid (root: string, files: readonly string[]): Promise<void> {
  if (typeof process.getuid === 'function' && process.getuid() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'proxy']).toString().trim())
    const gid = Number(execFileSync('id', ['-g', 'proxy']).toString().trim())
    for (const name of ['', 'squid.conf', 'access.log', 'hosts', ...files]) await chown(path.join(root, name), uid, gid)
  }
  await chmod(root, 0o755)
}

export interface SquidProxy {
  /** A port that tunnels and forwards for anyone on loopback. */
  open: number
  /** A port that needs Basic auth (`user` / `password`). */
  auth: number
  /** A port that refuses every CONNECT with 403 (and forwards plain HTTP). */
  deny: number
  /** An `https_port` (TLS to the proxy, the test CA's server certificate), open like `open`; undefined if Squid could not start it. */
  tls: number | undefined
  user: string
  password: string
  /** Lines of Squid's access log (`TCP_TUNNEL/200 ... CONNECT host:port`, `TCP_DENIED/407`, ...). */
  accessLog: () => string[]
  /** Waits until `count` log lines match `pattern` (Squid writes a tunnel's line when the tunnel closes). */
  waitForLog: (pattern: RegExp, count?: number) => Promise<string[]>
  close: () => Promise<void>
}

const USER = 'proxyuser'
const PASSWORD = 'proxy-pass-8c1e'

/**
 * Starts Squid (Debian's `squid`) in the foreground on free loopback ports, with its own config in a
 * fresh temp dir: an open port, a Basic-auth port (htpasswd from apache2-utils), a port that refuses
 * CONNECT, and an `https_port`. CONNECT is allowed to any port (Debian's default allows only 443).
 * No cache. As root, Squid drops to the `proxy` user, so the temp dir is handed to it.
 */
export async function startSquid (options: { tls?: boolean } = {}): Promise<SquidProxy> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'undici-tls-fallback-squid-'))
  const [open, auth, deny] = [await freePort(), await freePort(), await freePort()]
  const tlsPort = options.tls === false ? undefined : await freePort()
  execFileSync('htpasswd', ['-b', '-c', '-B', path.join(root, 'htpasswd'), USER, PASSWORD], { stdio: 'ignore' })
  await copyFile(certs.path('server.crt'), path.join(root, 'proxy.crt'))
  await copyFile(certs.path('server.key'), path.join(root, 'proxy.key'))
  const conf = [
    `pid_filename ${root}/squid.pid`,
    `http_port 127.0.0.1:${open} name=open`,
    `http_port 127.0.0.1:${auth} name=auth`,
    `http_port 127.0.0.1:${deny} name=deny`,
    ...(tlsPort === undefined ? [] : [`https_port 127.0.0.1:${tlsPort} name=tls tls-cert=${root}/proxy.crt tls-key=${root}/proxy.key`]),
    `auth_param basic program /usr/lib/squid/basic_ncsa_auth ${root}/htpasswd`,
    'auth_param basic realm undici-tls-fallback-test',
    'acl authport myportname auth',
    'acl denyport myportname deny',
    'acl authed proxy_auth REQUIRED',
    'acl CONNECT method CONNECT',
    'http_access deny CONNECT denyport',
    'http_access allow authport authed',
    'http_access deny authport',
    'http_access allow localhost',
    'http_access deny all',
    ...squidCommonConfig(root)
  ].join('\n')
  await writeSquidFiles(root, conf)
  await handToSquid(root, ['htpasswd', 'proxy.crt', 'proxy.key'])

  const { child, output, exited } = await spawnServer('squid', ['-N', '-f', path.join(root, 'squid.conf')], {
    detached: true,
    env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin`, LANG: 'C' }
  }, 'apt-get install -y squid', root)
  const close = async (): Promise<void> => {
    await stopChild(child, exited)
    await rm(root, { recursive: true, force: true })
  }

  const ports = [open, auth, deny]
  const ready = async (): Promise<boolean> => (await allAccept(ports)) && (tlsPort === undefined || await handshakes(tlsPort, certs.ca))
  await waitForServer({ child, ready, timeoutMs: STARTUP_TIMEOUT_MS, what: 'squid did not start', log: () => output() + readOr(path.join(root, 'cache.log')), close, pollMs: 100 })

  const accessLog = (): string[] => readOr(path.join(root, 'access.log')).split('\n').filter((l) => l.length > 0)
  return {
    open,
    auth,
    deny,
    tls: tlsPort,
    user: USER,
    password: PASSWORD,
    accessLog,
    waitForLog: async (pattern, count) => await waitForLines(accessLog, pattern, count),
    close
  }
}

async function allAccept (ports: number[]): Promise<boolean> {
  for (const port of ports) if (!(await accepts(port))) return false
  return true
}
