// npm run demo: starts local servers that behave like the ones this library exists for, sends
// requests through one TlsFallbackAgent, prints each step as it happens and the final policy table.
// Offline: everything runs on 127.0.0.1; the *.test names resolve there through `connect.lookup`.
import { subscribe } from 'node:diagnostics_channel'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { request } from 'undici'
import { CHANNELS, TlsFallbackAgent, type PrimingEvent, type TlsFallbackAgentOptions } from '../src/index.ts'
import { certs } from '../test/servers/certs.ts'
import { startIisLike } from '../test/servers/iis.ts'
import { startGnutls } from '../test/servers/gnutls.ts'
import { startModern } from '../test/servers/modern.ts'
import { startOnPath } from '../test/servers/onpath.ts'
import { startPhaLike } from '../test/servers/pha.ts'

const color = process.stdout.isTTY ? (code: number, s: string) => `\x1b[${code}m${s}\x1b[0m` : (_: number, s: string) => s
const dim = (s: string): string => color(2, s)
const bold = (s: string): string => color(1, s)
const say = (line: string): void => { console.log(line) }

say(bold('undici-tls-fallback demo') + dim(' (local servers on 127.0.0.1)'))
const [modern, iis, legacy, onPath, apache] = await Promise.all([startModern(), startIisLike({ onRefused: 'reset', uploadReadAheadSize: 49_152 }), startGnutls(), startOnPath('rst'), startPhaLike()])
const names: Record<string, number> = { 'modern.test': modern.port, 'iis.test': iis.port, 'legacy.test': legacy.port, 'appliance.test': legacy.port, 'onpath.test': onPath.port, 'apache.test': apache.port, 'intranet.example.test': apache.port }
say(dim(`  modern.test    a well-behaved TLS 1.2/1.3 server              :${modern.port}`))
say(dim(`  iis.test       IIS-like: renegotiates under /secure, RST if refused, 413 for bodies over 48 KiB before it renegotiates :${iis.port}`))
say(dim(`  legacy.test    GnuTLS without RFC 5746 (this host consents)   :${legacy.port}`))
say(dim(`  appliance.test the same GnuTLS server, no consent             :${legacy.port}`))
say(dim(`  onpath.test    an on-path box that resets after the handshake :${onPath.port}`))
say(dim(`  apache.test    Apache-like on TLS 1.3: 403 "Cannot perform Post-Handshake Authentication" under /secure :${apache.port}`))
say(dim(`  intranet.example.test the same server, no client certificate configured :${apache.port}`))

const options: TlsFallbackAgentOptions = {
  connect: {
    ca: certs.ca,
    // Demo only: every *.test name is this machine.
    lookup: (_host, opts, cb) => {
      if ((opts as { all?: boolean }).all === true) (cb as (e: null, a: Array<{ address: string, family: number }>) => void)(null, [{ address: '127.0.0.1', family: 4 }])
      else (cb as (e: null, a: string, f: number) => void)(null, '127.0.0.1', 4)
    }
  },
  hosts: {
    'legacy.test': { fallback: ['legacy-server-connect'] },
    // A Node emulator: it renegotiates on TLS 1.2 but cannot read the certificate (the tests use a real Apache).
    'apache.test': { clientCert: { cert: certs.clientCert, key: certs.clientKey } }
  },
  resetRetries: 0,
  hooks: {
    onAttempt: (e) => { if (e.reason !== 'initial') say(dim(`    ↳ attempt ${e.attempt} on the ${e.stack} stack (${e.reason})`)) },
    onDiagnosis: (e) => { say(`    ${color(33, 'diagnosis')} ${e.fingerprint} on ${e.stack}: ${e.evidence.summary}${e.evidence.verified ? ' [verified]' : ''}`) },
    onFallback: (e) => { say(`    ${color(32, 'policy')} ${e.origin}: ${e.from} → ${e.to}`) }
  }
}
// The library's own log (pino, one child logger): downgrades are logged at warn.
const logFile = join(tmpdir(), `undici-tls-fallback-demo-${process.pid}.log`)
const logger = pino({ level: 'debug' }, pino.destination({ dest: logFile, sync: true }))
const agent = new TlsFallbackAgent({ ...options, logger })

// A large upload goes on a connection primed first (a HEAD that lets the server renegotiate while it holds no body).
subscribe(CHANNELS.priming, (message) => {
  const e = message as PrimingEvent
  say(dim(`    ↳ new connection on the ${e.stack} stack primed before the upload: ${e.outcome}`))
})

async function call (method: 'GET' | 'POST', url: string, body?: string | Buffer): Promise<void> {
  const u = new URL(url)
  say(`\n${bold(method)} ${u.hostname}${u.pathname}${Buffer.isBuffer(body) ? dim(` (${body.length.toLocaleString('en')} bytes)`) : ''}`)
  const started = performance.now()
  try {
    const response = await request(`https://${u.hostname}:${names[u.hostname]}${u.pathname}`, { dispatcher: agent, method, body })
    const text = await response.body.text()
    const ms = (performance.now() - started).toFixed(0)
    const shown = text.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim()
    say(`    ${color(response.statusCode < 400 ? 32 : 33, String(response.statusCode))} in ${ms} ms ${dim(shown.length > 90 ? `…${shown.slice(-90)}` : shown)}`)
  } catch (error) {
    const e = error as Error & { code?: string }
    say(`    ${color(31, e.code ?? e.name)} ${e.message.split('. ').slice(0, 3).join('. ')}`)
    if (e.code !== undefined && !e.code.startsWith('TLS_FALLBACK_')) say(dim('    no fingerprint matched: the original error, and no policy moved'))
  }
}

await call('GET', 'https://modern.test/')
await call('GET', 'https://iis.test/')
await call('GET', 'https://iis.test/secure/report')
await call('GET', 'https://iis.test/secure/report')
await call('POST', 'https://iis.test/secure/upload', 'a request body, replayed only when safe')
await call('POST', 'https://iis.test/secure/upload', Buffer.alloc(1_000_000, 'x'))
say(dim('    (sent on an unprimed connection, as curl or a plain Agent would, this upload gets 413 Request Entity Too Large)'))
await call('GET', 'https://legacy.test/')
await call('GET', 'https://appliance.test/')
await call('GET', 'https://onpath.test/')
await call('POST', 'https://apache.test/secure/form', 'refused in the access check: any method may go again')
await call('GET', 'https://apache.test/secure/')
await call('GET', 'https://intranet.example.test/secure/')

const rows = agent.policies().map((p) => [
  p.origin.replace(/:\d+$/, ''), p.stack, p.fingerprint, p.evidence.verified ? 'yes' : 'no',
  new Date(p.expiresAt).toISOString().slice(11, 19) + 'Z'
])
const header = ['origin', 'stack', 'fingerprint', 'verified', 'expires']
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)))
const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ')
say(`\n${bold('Policy table')} ${dim('(hosts not listed stay on the strict stack)')}`)
say(line(header))
say(widths.map((w) => '-'.repeat(w)).join('  '))
for (const row of rows) say(line(row as string[]))

const { readFileSync } = await import('node:fs')
const logLines = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { level: number, msg: string })
say(dim(`\npino log: ${logFile} (${logLines.length} lines, ${logLines.filter((l) => l.level === 40).length} at warn: one per downgrade, one for the missing client certificate)`))
for (const l of logLines.filter((l) => l.level === 40 && l.msg.includes('clientCert'))) say(dim(`  warn: ${l.msg}`))

await agent.close()
await Promise.all([modern.close(), iis.close(), legacy.close(), onPath.close(), apache.close()])
