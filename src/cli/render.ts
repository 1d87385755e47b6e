import { escapeIfUnsafe, escapeOutside } from '../outside-text.ts'
import type { ProbeResult } from './probe.ts'

export interface Style {
  bold: (s: string) => string
  dim: (s: string) => string
  green: (s: string) => string
  red: (s: string) => string
  yellow: (s: string) => string
}

/**
 * Whether to colour what goes to `stream`: `FORCE_COLOR` (any value but `0` or `false`) turns colour
 * on even into a pipe, and off with `0`/`false`; otherwise `NO_COLOR` (any non-empty value,
 * https://no-color.org) turns it off; otherwise colour on a terminal whose TERM is not `dumb`.
 */
export function colorEnabled (stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  const force = env.FORCE_COLOR
  if (force !== undefined) return force !== '0' && force.toLowerCase() !== 'false'
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  return stream.isTTY === true && env.TERM !== 'dumb'
}

export function style (color: boolean): Style {
  const wrap = (code: number) => (s: string): string => color ? `\x1b[${code}m${s}\x1b[0m` : s
  return { bold: wrap(1), dim: wrap(2), green: wrap(32), red: wrap(31), yellow: wrap(33) }
}

const SERVER_FIXES: Record<string, string> = {
  'renegotiation-refused': 'ask for the client certificate in the first handshake. IIS: `netsh http update sslcert ipport=0.0.0.0:443 ... clientcertnegotiation=enable` (Negotiate Client Certificate); Apache: `SSLVerifyClient` at the virtual-host level instead of inside <Location>/<Directory>; or TLS 1.3 with the certificate requested in the first handshake.',
  'client-certificate-required': 'nothing wrong on the server: it wants a client certificate for this path. Configure one for the host (clientCert), or ask the server\'s owners which certificate it expects.',
  'unsafe-legacy-renegotiation': 'the server\'s TLS library predates RFC 5746 (secure renegotiation, 2010): update it. Until then only legacy-server-connect connects, and it exposes this host\'s connections to CVE-2009-3555.',
  'http11-required': 'HTTP/2 forbids renegotiation: the server refuses HTTP/2 for paths that need a client certificate. Asking for the certificate in the first handshake lets it serve HTTP/2.',
  'post-handshake-auth-required': 'on TLS 1.3 the server asks for the client certificate after the handshake (post-handshake authentication), which Node, Go and rustls clients cannot announce. Apache: move `SSLVerifyClient require` (or `optional`) to the virtual-host level so the certificate is asked for in the first handshake; or limit that virtual host to TLS 1.2 (`SSLProtocol -all +TLSv1.2`) so it renegotiates; or use a client that announces post-handshake auth (curl, Python, Firefox with security.tls.enable_post_handshake_auth).'
}

/** The `hosts` entry to paste into the agent's config. */
export function configLine (result: ProbeResult, hasClientCert: boolean): string | undefined {
  const { stack, http1Only } = result.verdict
  if (stack === null && result.verdict.fingerprint === 'post-handshake-auth-required' && !hasClientCert) {
    // TLS 1.2 renegotiation would work with a certificate: the one thing missing.
    return `hosts: { '${new URL(result.url).hostname}': { ${http1Only ? 'http1Only: true, ' : ''}clientCert: { cert, key } } }`
  }
  if (stack === null || (stack === 'strict' && !http1Only)) return undefined
  const host = new URL(result.url).hostname
  // What the probe found, so the agent skips the failures it saw: the stack that worked (pinned) and
  // HTTP/1.1 when HTTP/2 was refused. legacy-server-connect also needs its consent in the ladder.
  const parts: string[] = []
  if (stack === 'legacy-server-connect') parts.push('fallback: [\'legacy-server-connect\']')
  if (stack !== 'strict') parts.push(`stack: '${stack}'`)
  if (http1Only) parts.push('http1Only: true')
  if (hasClientCert && stack !== 'strict') parts.push('clientCert: { cert, key }')
  return `hosts: { '${host}': { ${parts.join(', ')} } }`
}

/** The `hosts` entry that gives a host its client certificate (the agent presents one only where configured). */
function clientCertLine (result: ProbeResult): string {
  return `hosts: { '${new URL(result.url).hostname}': { clientCert: { cert, key } } }`
}

function table (rows: string[][], s: Style): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => stripAnsi(r[i] ?? '').length))) ?? []
  return rows.map((row, index) => {
    const line = row.map((cell, i) => cell + ' '.repeat((widths[i] ?? 0) - stripAnsi(cell).length)).join('  ').trimEnd()
    return index === 0 ? s.bold(line) : line
  }).join('\n')
}

/** A cell that may carry outside text (an error's message, evidence quoting one). */
function cell (text: string): string {
  return escapeIfUnsafe(text, 1_000)
}

function stripAnsi (text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[\d+m/g, '')
}

export function render (result: ProbeResult, options: { color: boolean, hasClientCert: boolean }): string {
  const s = style(options.color)
  const rows = [['stack', 'result', 'TLS', 'HTTP', 'time', 'evidence']]
  for (const a of result.attempts) {
    const outcome = a.ok
      ? (a.status !== null && a.status < 400 ? s.green(`${a.status}`) : s.yellow(`${a.status}`))
      : s.red(cell(a.fingerprint ?? a.error ?? 'failed'))
    rows.push([a.stack, outcome, cell(a.tlsVersion ?? '-'), a.tlsVersion === null ? '-' : a.http === 'h2' ? 'h2' : '1.1', `${a.timeMs} ms${a.retries > 0 ? ` (${a.retries} retr${a.retries === 1 ? 'y' : 'ies'})` : ''}`, cell(a.evidence)])
  }
  const lines = [s.bold(`probe ${cell(result.url)}${result.proxy === null ? '' : ` through the proxy ${cell(result.proxy)}`}`), '', table(rows, s), '']
  const { stack, fingerprint, http1Only } = result.verdict
  const { unreachable } = result
  if (unreachable !== null) {
    const where = new URL(result.origin).host
    if (unreachable.reason === 'cannot-connect') {
      lines.push(`${s.red('verdict:')} cannot connect to ${where} (${escapeOutside(unreachable.code, 80)}): no TLS verdict. Check the host name and port, that the server is up, and any firewall or proxy on the way.`)
    } else {
      lines.push(`${s.red('verdict:')} timed out: no answer from ${where} within ${result.timeout} ms on any attempt (--timeout ${result.timeout}, per attempt): no TLS verdict.`)
    }
    return lines.join('\n') + '\n'
  }
  if (stack === null) {
    lines.push(`${s.red('verdict:')} no stack works${fingerprint === null ? '' : ` (${fingerprint})`}.`)
    if (fingerprint === 'client-certificate-required') {
      lines.push(`next:    the server wants a client certificate for this path and the probe had none: run it again with ${s.bold('--cert FILE --key FILE')} (or ${s.bold('--pfx FILE')}) to see which stack works with it.`)
      lines.push(`config:  ${clientCertLine(result)}`)
      lines.push(s.dim('         (the agent presents a certificate only to hosts whose entry has clientCert: { cert, key } or { pfx, passphrase? })'))
    }
  } else if (stack === 'strict' && !http1Only) {
    lines.push(`${s.green('verdict:')} the strict stack works: nothing to configure.`)
  } else {
    lines.push(`${s.green('verdict:')} use the ${s.bold(stack)} stack${http1Only ? ' over HTTP/1.1' : ''}${fingerprint === null ? '' : ` (${fingerprint})`}.`)
  }
  const line = configLine(result, options.hasClientCert)
  if (line !== undefined) {
    lines.push(`config:  ${line}`)
    lines.push(s.dim(stack === null
      ? '         (the server asks for a client certificate: configure one for the host, then TLS 1.2 renegotiation presents it; run the probe again with --cert and --key.)'
      : stack === 'strict'
        ? '         (TlsFallbackAgent learns this after one refused HTTP/2 attempt; paste it to skip that attempt.)'
        : '         (pins the host to what worked, so no request meets the failures above; without it TlsFallbackAgent learns the same after one failure. Remove the pin once the server is fixed.)'))
  }
  if (result.legacyWouldWork) {
    lines.push(`${s.yellow('note:')}    the server lacks RFC 5746; legacy-server-connect would likely work. It was not tried: run again with --allow-legacy to try it.`)
  }
  const missing = result.missingIntermediate
  if (missing != null) {
    lines.push(`${s.yellow('note:')}    the server did not send the intermediate certificate that issued its own (${escapeOutside(missing.issuer, 200)}); its certificate says it is at ${escapeOutside(missing.url, 200)}. ` +
      (missing.fetchFixes
        ? `Fetched, it completes the chain to a trusted root: ${s.bold('fetchIntermediates: true')} fixes this for the agent.`
        : `Fetching it does not fix this (${missing.outcome === 'fetched' ? 'the chain still does not verify' : missing.outcome}).`))
    lines.push(`${s.bold('server fix')} (missing intermediate): configure the server to send its intermediate certificate(s) with its own (IIS: import the intermediate into the computer's Intermediate Certification Authorities store; Apache: SSLCertificateFile with the chain).`)
  }
  if (result.legacyPkcs12 === true) {
    lines.push(`${s.yellow('note:')}    the client identity is a legacy PKCS#12 (RC2/3DES, SHA-1 MAC) that OpenSSL 3 refuses; the agent decodes it with node-forge. Re-export it once: ` +
      s.bold('openssl pkcs12 -in old.pfx -nodes -legacy | openssl pkcs12 -export -out new.pfx'))
  }
  const auth = result.auth
  if (auth != null) {
    const what = `${auth.scheme}${auth.mechanism === null || auth.mechanism === auth.scheme ? '' : ` (${auth.mechanism})`}`
    const legs = `${auth.legs} leg${auth.legs === 1 ? '' : 's'}`
    lines.push(auth.outcome === 'authenticated' && auth.status !== null
      ? `${s.green('auth:')}    ${what}: authenticated after ${legs}${auth.mutual ? ', server verified (mutual)' : ''}; the request got ${auth.status}.`
      : `${s.red('auth:')}    ${what}: ${auth.outcome ?? 'no handshake'}${auth.legs > 0 ? ` after ${legs}` : ''}; ${auth.error === null ? `the request got ${auth.status ?? '-'}` : `the request failed (${escapeOutside(auth.error, 80)})`}.`)
  }
  const fixes = [...new Set(result.attempts.map((a) => a.fingerprint).filter((f): f is NonNullable<typeof f> => f !== null))]
  for (const f of fixes) {
    const fix = SERVER_FIXES[f]
    if (fix !== undefined) lines.push(`${s.bold('server fix')} (${f}): ${fix}`)
  }
  return lines.join('\n') + '\n'
}

/** The `--json` object: one line, no records (they are for people reading the table). */
export function toJson (result: ProbeResult): string {
  return terminalJson({
    url: result.url,
    origin: result.origin,
    proxy: result.proxy,
    verdict: result.verdict,
    legacyWouldWork: result.legacyWouldWork,
    unreachable: result.unreachable,
    missingIntermediate: result.missingIntermediate ?? null,
    legacyPkcs12: result.legacyPkcs12 === true,
    auth: result.auth ?? null,
    attempts: result.attempts.map(({ stack, http, ok, status, tlsVersion, error, evidence, fingerprint, timeMs, retries, timedOut }) => ({
      stack, http, ok, status, tlsVersion, error, fingerprint, evidence, timeMs, retries, timedOut
    }))
  })
}

const JSON_UNSAFE = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

/**
 * JSON for a terminal. JSON.stringify escapes C0 controls (ESC, newlines) but writes DEL, the C1
 * controls (8-bit CSI and OSC), the line separators and the bidirectional overrides as they are:
 * those go out as `\uXXXX` too, which parses back to the same value.
 */
export function terminalJson (value: unknown): string {
  return JSON.stringify(value).replace(JSON_UNSAFE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** `terminalJson()` as one line of stdout. */
export function jsonLine (value: unknown): string {
  return terminalJson(value) + '\n'
}
