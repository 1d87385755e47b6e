import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { stop } from './apache.ts'
import { certs } from './certs.ts'
import type { Kdc } from './kdc.ts'
import { freePort, handshakes, waitForServer } from './ports.ts'
import { accepts, readOr, spawnServer } from './process.ts'

const MODULES = '/usr/lib/apache2/modules'
const STARTUP_TIMEOUT_MS = 15_000

export interface ApacheAuthServer {
  /** The HTTPS origin's port (certificate for `localhost` from the test CA). */
  port: number
  /** A plain-HTTP forward proxy port: CONNECT needs NTLM (407 `Proxy-Authenticate: NTLM`), verified by gss-ntlmssp. */
  proxyPort: number
  /** The NTLM user (in `NTLM_USER_FILE`): `CORP\ntlmuser`. */
  ntlm: { domain: string, username: string, password: string }
  /** The NetBIOS names the server puts in its challenge. */
  netbios: { computer: string, domain: string }
  accessLog: () => string
  waitForAccessLog: (pattern: RegExp, count?: number) => Promise<string>
  errorLog: () => string
  close: () => Promise<void>
}

const NTLM = { domain: 'CORP', username: 'ntlmuser', password: 'Ntlm-pass-3f9a' }
const NETBIOS = { computer: 'APACHE', domain: 'CORP' }

/**
 * Starts Apache httpd with mod_ssl and mod_auth_gssapi on free loopback ports, from its own config in
 * a fresh temp dir. On the HTTPS port (every location answers `X-Gss-Mech` and, with a body, counts it):
 * - `/krb5/`  Kerberos only (needs `kdc`): `WWW-Authenticate: Negotiate`.
 * - `/ntlm/`  NTLM only, bound to the connection (gss-ntlmssp, users from `NTLM_USER_FILE`):
 *             `WWW-Authenticate: Negotiate` and `WWW-Authenticate: NTLM`.
 * - `/any/`   both (needs `kdc`).
 * - `/ntlmcert/` NTLM behind a client certificate asked for per location (`SSLVerifyClient require`:
 *             renegotiation on TLS 1.2, post-handshake authentication on TLS 1.3), with the default
 *             `SSLRenegBufferSize` (131072: a larger body that meets the renegotiation gets 413).
 * - `/krb5each/` Kerberos with `GssapiConnectionBound Off`: every request needs a fresh token (needs `kdc`).
 * - `/open/`  no authentication.
 * `GET <location>/` answers "hello <location>"; `POST <location>/echo` answers "received N bytes".
 * `redirects`: `Redirect 302 <from> <to>` lines (answered before authentication).
 * `http2`: the event MPM, mod_cgid and mod_http2 with `Protocols h2 http/1.1` (HTTP/2 over TLS).
 * On `proxyPort`, a forward proxy whose CONNECT needs NTLM (bound to the connection).
 * The service keytab is named by `KRB5_KTNAME` (not `GssapiCredStore`, which breaks ntlmssp).
 */
export async function startApacheAuth (options: { kdc?: Kdc, redirects?: Array<[from: string, to: string]>, http2?: boolean } = {}): Promise<ApacheAuthServer> {
  const { kdc } = options
  const port = await freePort()
  const proxyPort = await freePort()
  const root = await mkdtemp(path.join(os.tmpdir(), 'undici-tls-fallback-apache-auth-'))
  await chmod(root, 0o755)
  for (const dir of ['htdocs', 'cgi-bin', 'logs', 'run']) await mkdir(path.join(root, dir), { mode: 0o755 })
  await mkdir(path.join(root, 'rcache'), { mode: 0o777 })
  await chmod(path.join(root, 'rcache'), 0o777) // the acceptor's replay cache: www-data writes it
  const locations = ['krb5', 'ntlm', 'any', 'open', 'krb5each', 'ntlmcert']
  for (const name of locations) {
    await mkdir(path.join(root, 'htdocs', name), { mode: 0o755 })
    await writeFile(path.join(root, 'htdocs', name, 'index.html'), `hello ${name}\n`, { mode: 0o644 })
  }
  await writeFile(path.join(root, 'cgi-bin', 'echo'), [
    '#!/bin/sh',
    'n=$(wc -c)',
    'printf "Content-Type: text/plain\\r\\n\\r\\n"',
    'printf "received %s bytes\\n" "$n"',
    ''
  ].join('\n'), { mode: 0o755 })
  const userFile = path.join(root, 'ntlm-users')
  await writeFile(userFile, `${NTLM.domain}:${NTLM.username}:${NTLM.password}\n`, { mode: 0o644 })

  const gssapi = (mechs: string, bound = true): string => [
    '  AuthType GSSAPI',
    '  AuthName "undici-tls-fallback"',
    `  GssapiAllowedMech ${mechs}`,
    `  GssapiConnectionBound ${bound ? 'On' : 'Off'}`,
    '  GssapiBasicAuth Off',
    '  GssapiPublishMech On',
    '  Require valid-user'
  ].join('\n')
  const location = (name: string, mechs: string | undefined, bound = true): string => `
Alias /${name}/echo "${root}/cgi-bin/echo"
<Location /${name}/echo>
  SetHandler cgi-script
  Options +ExecCGI
</Location>
<Location /${name}/>
${mechs === undefined ? '  Require all granted' : `${gssapi(mechs, bound)}\n  GssapiSSLonly On`}
</Location>`
  const conf = `
${[options.http2 === true ? 'mpm_event' : 'mpm_prefork', 'authn_core', 'authz_core', 'authz_user', 'mime', 'dir', 'alias', 'headers', 'socache_shmcb', 'ssl',
    options.http2 === true ? 'cgid' : 'cgi', ...(options.http2 === true ? ['http2'] : []), 'auth_gssapi', 'proxy', 'proxy_connect']
    .map((name) => `LoadModule ${name}_module ${MODULES}/mod_${name}.so`).join('\n')}

ServerRoot "${root}"
ServerName localhost
PidFile "${root}/run/httpd.pid"
DefaultRuntimeDir "${root}/run"
User www-data
Group www-data
Listen 127.0.0.1:${port}
Listen 127.0.0.1:${proxyPort}
${options.http2 === true
  ? `StartServers 1\nServerLimit 2\nThreadsPerChild 8\nMinSpareThreads 4\nMaxSpareThreads 16\nMaxRequestWorkers 16\nScriptSock "${root}/run/cgid.sock"\nProtocols h2 http/1.1`
  : 'StartServers 2\nMinSpareServers 2\nMaxSpareServers 4\nMaxRequestWorkers 16'}
Timeout 10
KeepAlive On
KeepAliveTimeout 5
MaxKeepAliveRequests 1000

ErrorLog "${root}/logs/error.log"
LogLevel info
LogFormat "%h \\"%r\\" %>s %b user=%u mech=%{GSS_MECH}e keepalive=%k conn=%{c}L" auth
CustomLog "${root}/logs/access.log" auth

TypesConfig /dev/null
AddType text/html .html
DocumentRoot "${root}/htdocs"
DirectoryIndex index.html
<Directory />
  AllowOverride None
  Require all denied
</Directory>
<Directory "${root}/htdocs">
  Require all granted
</Directory>
<Directory "${root}/cgi-bin">
  Require all granted
  Options +ExecCGI
</Directory>

<VirtualHost 127.0.0.1:${port}>
  SSLEngine on
  SSLProtocol -all +TLSv1.2 +TLSv1.3
  SSLCertificateFile "${certs.path('server.crt')}"
  SSLCertificateKeyFile "${certs.path('server.key')}"
  Header always set X-Gss-Mech "%{GSS_MECH}e"
${(options.redirects ?? []).map(([from, to]) => `  Redirect 302 ${from} ${to}`).join('\n')}
${location('ntlm', 'ntlmssp')}
${kdc === undefined ? '' : location('krb5', 'krb5')}
${kdc === undefined ? '' : location('any', 'krb5 ntlmssp')}
${kdc === undefined ? '' : location('krb5each', 'krb5', false)}
  SSLCACertificateFile "${certs.path('ca.crt')}"
  Alias /ntlmcert/echo "${root}/cgi-bin/echo"
  <Location /ntlmcert/echo>
    SetHandler cgi-script
    Options +ExecCGI
  </Location>
  <Location /ntlmcert/>
    SSLVerifyClient require
    SSLVerifyDepth 2
${gssapi('ntlmssp')}
    GssapiSSLonly On
  </Location>
${location('open', undefined)}
</VirtualHost>
SSLSessionCache "shmcb:${root}/run/ssl_scache(512000)"

<VirtualHost 127.0.0.1:${proxyPort}>
  ProxyRequests On
  AllowCONNECT 1-65535
  <Proxy "*">
${gssapi('ntlmssp')}
  </Proxy>
</VirtualHost>
`
  await writeFile(path.join(root, 'httpd.conf'), conf)

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin`,
    LANG: 'C',
    NTLM_USER_FILE: userFile,
    NETBIOS_COMPUTER_NAME: NETBIOS.computer,
    NETBIOS_DOMAIN_NAME: NETBIOS.domain,
    KRB5RCACHEDIR: path.join(root, 'rcache'),
    KRB5_CONFIG: kdc?.krb5Config ?? path.join(root, 'no-krb5.conf'),
    KRB5_KTNAME: kdc === undefined ? path.join(root, 'no.keytab') : `FILE:${kdc.httpKeytab}`
  }
  delete env.KRB5CCNAME
  const { child, output, exited } = await spawnServer('apache2', ['-d', root, '-f', path.join(root, 'httpd.conf'), '-DFOREGROUND'], {
    detached: true, // Apache signals its whole process group on shutdown
    env
  }, 'apt-get install -y apache2 libapache2-mod-auth-gssapi gss-ntlmssp', root)
  const close = async (): Promise<void> => { await stop(child, exited, root) }
  const ready = async (): Promise<boolean> => (await handshakes(port)) && (await accepts(proxyPort))
  await waitForServer({ child, ready, timeoutMs: STARTUP_TIMEOUT_MS, what: `apache2 (mod_auth_gssapi) did not start on port ${port}`, log: () => output() + readOr(path.join(root, 'logs', 'error.log')), close })

  const accessLog = (): string => readOr(path.join(root, 'logs', 'access.log'))
  return {
    port,
    proxyPort,
    ntlm: { ...NTLM },
    netbios: { ...NETBIOS },
    accessLog,
    waitForAccessLog: async (pattern, count = 1) => {
      const global = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`)
      const until = Date.now() + 10_000
      for (;;) {
        const log = accessLog()
        if ((log.match(global)?.length ?? 0) >= count || Date.now() > until) return log
        await sleep(50)
      }
    },
    errorLog: () => output() + readOr(path.join(root, 'logs', 'error.log')),
    close
  }
}
