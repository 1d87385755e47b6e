import type { ChildProcess } from 'node:child_process'
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { freePort, handshakes, waitForServer } from './ports.ts'
import { readOr, spawnServer } from './process.ts'

const certs = fileURLToPath(new URL('../fixtures/certs/', import.meta.url))
const MODULES = '/usr/lib/apache2/modules'
const STARTUP_TIMEOUT_MS = 10_000

export interface ApacheServer {
  port: number
  host: '127.0.0.1'
  close(): Promise<void>
  errorLog(): string
  accessLog(): string
  /**
   * The access log once it has `count` lines that match `pattern` (at most 10 s): Apache writes a
   * request's line after the response went out, so a client can have its answer before the line.
   */
  waitForAccessLog(pattern: RegExp, count?: number): Promise<string>
  /**
   * With `uploads`: one line per run of the counting CGI, `METHOD PATH CONTENT_LENGTH BYTES_READ`
   * (`-` for a missing Content-Length), in the order Apache ran it.
   */
  uploadCounts(): string[]
}

export interface ApacheOptions {
  /** Value of `SSLProtocol`; default '-all +TLSv1.2' (so /secure renegotiates instead of using TLS 1.3 post-handshake auth). */
  protocols?: string
  /**
   * Loads mod_http2 and sets `Protocols h2 http/1.1` (with the event MPM and mod_cgid, which mod_http2
   * needs in place of prefork and mod_cgi). Over h2, a location with its own `SSLVerifyClient` is
   * refused with HTTP_1_1_REQUIRED.
   */
  http2?: boolean
  /** Lines appended to httpd.conf (LoadModule lines included), such as `ServerSignature On`. */
  extraConfig?: string
  /**
   * Adds upload locations with Debian's DEFAULT `SSLRenegBufferSize` (131072 bytes), each served by
   * a CGI that reads the whole body and records what it received (`uploadCounts()`):
   * - `/upload/count`: `SSLVerifyClient require` (renegotiation after the request), default buffer;
   * - `/upload/limited/count`: the same, plus `LimitRequestBody 262144` (an application limit above
   *   the renegotiation buffer);
   * - `/limited/count`: no client certificate, `LimitRequestBody 65536` (an application limit alone).
   * Any other path under `/upload/` answers 404 (after the renegotiation).
   */
  uploads?: boolean
}

/**
 * Starts Apache httpd with mod_ssl on a free loopback port, from a self-contained config in a fresh temp dir.
 * - `GET /`             -> 200 "hello from apache", no client certificate.
 * - `GET /secure`       -> 200 "hello from secure" once a client certificate signed by the test CA is verified
 *                          (`SSLVerifyClient require` in a <Location>: a TLS 1.2 renegotiation after the request is read).
 * - `POST /secure` (or `/secure/echo`) -> CGI answering "received N bytes" (same client-certificate requirement
 *                          the body, up to 1 MiB, is buffered by mod_ssl across the renegotiation).
 * Every response carries `X-Client-Verify` and `X-Client-Subject`.
 */
export async function startApache (options: ApacheOptions = {}): Promise<ApacheServer> {
  const port = await freePort()
  const root = await mkdtemp(path.join(os.tmpdir(), 'undici-tls-fallback-apache-'))
  await writeSite(root, port, options.protocols ?? '-all +TLSv1.2', options.http2 === true,
    (options.uploads === true ? uploadLocations(root) : '') + (options.extraConfig ?? ''))
  if (options.uploads === true) await writeCountingCgi(root)

  const { child, output, exited } = await spawnServer('apache2', ['-d', root, '-f', path.join(root, 'httpd.conf'), '-DFOREGROUND'], {
    // On shutdown the Apache parent signals its whole process group (killpg): give it its own group,
    // or close() would SIGTERM the test runner too.
    detached: true,
    env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin`, LANG: 'C' },
  }, 'apt-get install -y apache2', root)
  const close = async (): Promise<void> => { await stop(child, exited, root) }

  await waitForServer({ child, ready: async () => await handshakes(port), timeoutMs: STARTUP_TIMEOUT_MS, what: `apache2 did not start on port ${port}`, log: () => output() + readOr(path.join(root, 'logs', 'error.log')), close })

  const read = (name: string) => {
    try {
      return readFileSync(path.join(root, 'logs', name), 'utf8')
    } catch {
      return '' // closed: the temp dir is gone
    }
  }
  return {
    port,
    host: '127.0.0.1',
    close,
    errorLog: () => output() + read('error.log'),
    accessLog: () => read('access.log'),
    waitForAccessLog: async (pattern, count = 1) => {
      const global = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`)
      const until = Date.now() + 10_000
      for (;;) {
        const log = read('access.log')
        if ((log.match(global)?.length ?? 0) >= count || Date.now() > until) return log
        await sleep(50)
      }
    },
    uploadCounts: () => read(path.join('..', 'counts', 'uploads')).split('\n').filter((line) => line !== ''),
  }
}

async function writeSite (root: string, port: number, protocols: string, http2: boolean, extraConfig: string): Promise<void> {
  // Children run as www-data: everything they serve or execute must be world-readable.
  await chmod(root, 0o755)
  for (const dir of ['htdocs', 'cgi-bin', 'logs', 'run']) await mkdir(path.join(root, dir), { mode: 0o755 })
  await writeFile(path.join(root, 'htdocs', 'index.html'), 'hello from apache\n', { mode: 0o644 })
  await writeFile(path.join(root, 'htdocs', 'secure.txt'), 'hello from secure\n', { mode: 0o644 })
  await writeFile(path.join(root, 'cgi-bin', 'echo'), [
    '#!/bin/sh',
    'n=$(wc -c)',
    'printf "Content-Type: text/plain\\r\\n\\r\\n"',
    'printf "received %s bytes\\n" "$n"',
    '',
  ].join('\n'), { mode: 0o755 })

  const modules = [
    http2 ? 'mpm_event' : 'mpm_prefork', 'authz_core', 'mime', 'dir', 'alias', 'headers', 'rewrite', 'socache_shmcb', 'ssl',
    http2 ? 'cgid' : 'cgi', ...(http2 ? ['http2'] : []),
  ] // unixd and log_config are compiled into Debian's apache2
  const mpm = http2
    ? `StartServers 1\nServerLimit 2\nThreadsPerChild 8\nMinSpareThreads 4\nMaxSpareThreads 16\nMaxRequestWorkers 16\nScriptSock "${root}/run/cgid.sock"\nProtocols h2 http/1.1`
    : 'StartServers 2\nMinSpareServers 2\nMaxSpareServers 4\nMaxRequestWorkers 16'
  const conf = `
${modules.map((name) => `LoadModule ${name}_module ${MODULES}/mod_${name}.so`).join('\n')}

ServerRoot "${root}"
ServerName localhost
PidFile "${root}/run/httpd.pid"
DefaultRuntimeDir "${root}/run"
User www-data
Group www-data
Listen 127.0.0.1:${port}

${mpm}
Timeout 10
KeepAlive On
KeepAliveTimeout 5

ErrorLog "${root}/logs/error.log"
LogLevel info
LogFormat "%h \\"%r\\" %>s %b %{SSL_PROTOCOL}x %{SSL_CIPHER}x verify=%{SSL_CLIENT_VERIFY}x subject=\\"%{SSL_CLIENT_S_DN}x\\" keepalive=%k" tls
CustomLog "${root}/logs/access.log" tls

TypesConfig /dev/null
AddType text/html .html
AddType text/plain .txt
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
</Directory>

SSLEngine on
SSLProtocol ${protocols}
SSLCertificateFile "${certs}server.crt"
SSLCertificateKeyFile "${certs}server.key"
SSLCACertificateFile "${certs}ca.crt"
SSLSessionCache "shmcb:${root}/run/ssl_scache(512000)"

# POST /secure goes to the CGI (which reads and counts the body); GET /secure stays a static file.
RewriteEngine On
RewriteCond %{REQUEST_METHOD} =POST
RewriteRule ^/secure$ /secure/echo [PT]
ScriptAlias /secure/echo "${root}/cgi-bin/echo"
Alias /secure "${root}/htdocs/secure.txt"
<Location /secure>
  SSLVerifyClient require
  SSLVerifyDepth 2
  # The request body is buffered before the renegotiation; the default limit is 128 KiB.
  SSLRenegBufferSize 1048576
</Location>

Header always set X-Client-Verify "%{SSL_CLIENT_VERIFY}s"
Header always set X-Client-Subject "%{SSL_CLIENT_S_DN}s"
${extraConfig}
`
  await writeFile(path.join(root, 'httpd.conf'), conf)
}

/** The counting CGI of `ApacheOptions.uploads`, in the site's cgi-bin. */
async function writeCountingCgi (root: string): Promise<void> {
  // The CGI runs as www-data and appends to counts/uploads: the folder must be writable by it.
  await mkdir(path.join(root, 'counts'))
  await chmod(path.join(root, 'counts'), 0o777)
  await writeFile(path.join(root, 'cgi-bin', 'count'), [
    '#!/bin/sh',
    'n=$(wc -c)',
    `printf '%s %s %s %s\\n' "$REQUEST_METHOD" "$REQUEST_URI" "\${CONTENT_LENGTH:--}" "$n" >> "${root}/counts/uploads"`,
    'printf "Content-Type: text/plain\\r\\n\\r\\n"',
    'printf "counted %s bytes\\n" "$n"',
    '',
  ].join('\n'), { mode: 0o755 })
  await chmod(path.join(root, 'cgi-bin', 'count'), 0o755)
}

/** The upload locations of `ApacheOptions.uploads`: Debian's default `SSLRenegBufferSize`, no override. */
function uploadLocations (root: string): string {
  return `
# Uploads (ApacheOptions.uploads): Debian's default SSLRenegBufferSize (131072) under /upload/.
ScriptAlias /upload/limited/count "${root}/cgi-bin/count"
ScriptAlias /upload/count "${root}/cgi-bin/count"
ScriptAlias /limited/count "${root}/cgi-bin/count"
<Location /upload/>
  SSLVerifyClient require
  SSLVerifyDepth 2
</Location>
<Location /upload/limited/>
  LimitRequestBody 262144
</Location>
<Location /limited/>
  LimitRequestBody 65536
</Location>
`
}

export async function stop (child: ChildProcess, exited: Promise<unknown>, root: string): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM')
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 10_000) // the whole (detached) group
    await exited
    clearTimeout(timer)
  }
  await rm(root, { recursive: true, force: true })
}
