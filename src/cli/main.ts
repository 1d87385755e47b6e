#!/usr/bin/env node
// undici-tls-fallback probe <url>: diagnoses a host from the shell.
// Exit codes: 0 a stack works, 1 no stack works, 2 usage error, 3 cannot connect or timed out, 130 interrupted (Ctrl-C).
// undici-tls-fallback policies ...: lists or forgets stored policies (src/cli/policies.ts).
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { resolveAuth, type AuthOptions } from '../auth/options.ts'
import { TlsFallbackError } from '../errors.ts'
import { wasLegacyPkcs12 } from '../certs/pkcs12.ts'
import { checkClientCert, checkPem } from '../options.ts'
import { quoteOutside } from '../outside-text.ts'
import { parseProxy, parseProxyChoice, type Proxy, type ProxySetting } from '../proxy/options.ts'
import type { ClientCertificate } from '../stacks.ts'
import { checkAuth } from './auth-check.ts'
import { probe, type ProbeResult } from './probe.ts'
import { proxyWithAuth } from './proxy-auth.ts'
import { redactUrl } from './redact.ts'
import { colorEnabled, render, toJson } from './render.ts'

const TOP_HELP = `Usage: undici-tls-fallback <command> [options]

Commands:
  probe <url>   tries each TLS stack against an HTTPS URL and says which one works, why, and what to configure
  policies      lists or forgets the policies a store (--file or --redis) holds

Run undici-tls-fallback <command> --help for a command's options.
  -h, --help    this help
  --version     the package's version
Needs Node.js >= 22.19.
`

const HELP = `Usage: undici-tls-fallback probe <url> [options]

Tries each TLS stack against an HTTPS URL (strict, tls13, renegotiation, and with --allow-legacy
legacy-server-connect; HTTP/2 first, then HTTP/1.1 where the server requires it), watches the TLS
records on the wire, and says which stack works, why, what to put in the agent's config, and what
the server's owners can change.

Options:
  --ca FILE               CA certificates (PEM) to trust, in addition to none (the system store is not used when given)
  --cert FILE --key FILE  client certificate and key (PEM), presented when the server asks
  --pfx FILE              client certificate and key as PKCS#12, instead of --cert/--key
  --passphrase-env NAME   read the key's or pfx's passphrase from the environment variable NAME
  --method M              HTTP method (default GET)
  --timeout MS            per attempt: connection, handshake and response (default 10000)
  --allow-legacy          also try legacy-server-connect (exposes that connection to CVE-2009-3555)
  --proxy URL             tunnel through a proxy: http://, https:// or socks5:// (credentials allowed in the URL);
                          'env' reads HTTPS_PROXY / HTTP_PROXY / NO_PROXY (either case)
  --proxy-auth SCHEME     answer the proxy's 407 with ntlm or negotiate (Kerberos from the ticket cache, KRB5CCNAME);
                          the user (DOMAIN%5Cuser) comes from the proxy URL, the password from the URL or the
                          environment variable UNDICI_TLS_FALLBACK_PROXY_PASSWORD; never sent as Basic
  --auth ntlm|negotiate   then authenticate to the URL on the stack that works (Windows auth, see docs/auth.md):
                          negotiate uses the Kerberos ticket cache (kinit; KRB5CCNAME), or NTLM with --auth-user
  --auth-user USER        the user name (USER or DOMAIN\\USER); the password is read from the environment
                          variable UNDICI_TLS_FALLBACK_AUTH_PASSWORD, or the one --auth-password-env names (never argv)
  --auth-password-env NAME  read the password from the environment variable NAME
  --auth-spn SPN          the service principal for Kerberos (default HTTP@<host>)
  --json                  print one JSON object instead of the table
  -h, --help              this help

Exit codes: 0 a stack works, 1 no stack works, 2 usage error, 3 cannot connect or timed out,
130 interrupted.
Keys, passphrases, the URL's credentials (never sent either) and its query values are never printed.

       undici-tls-fallback policies (--file PATH | --redis URL) [--forget ORIGIN] [--json]
Lists or forgets the policies a store holds: undici-tls-fallback policies --help.
`

class UsageError extends Error {}

interface Parsed {
  url: URL
  ca: Buffer | undefined
  clientCert: ClientCertificate | undefined
  method: string
  timeout: number
  allowLegacy: boolean
  json: boolean
  /** The client identity was a legacy PKCS#12 (decoded by checkClientCert). */
  legacyPkcs12: boolean
  proxy: Proxy | undefined
  /** The same proxy as an agent's `hosts[...].proxy` setting (with `--proxy-auth`: its `auth`), for the `--auth` check. */
  proxySetting: ProxySetting | undefined
  /** `--auth`: validated like `hosts[...].auth`. */
  auth: AuthOptions | undefined
}

function readFile (flag: string, path: string): Buffer {
  try {
    return readFileSync(path)
  } catch (error) {
    throw new UsageError(`${flag}: cannot read ${path} (${(error as { code?: string }).code ?? 'error'})`)
  }
}

const VALUE_OPTIONS = new Set(['--ca', '--cert', '--key', '--pfx', '--passphrase-env', '--method', '--timeout', '--proxy', '--auth', '--auth-user', '--auth-password-env', '--auth-spn', '--proxy-auth'])
/** Where `--auth-user`'s password comes from unless `--auth-password-env` names another variable. */
const AUTH_PASSWORD_ENV = 'UNDICI_TLS_FALLBACK_AUTH_PASSWORD'

/** `--timeout -5` as `--timeout=-5`: parseArgs would take `-5` for an option and say only that the value is ambiguous. */
function joinNegativeValues (argv: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    const next = argv[i + 1]
    if (VALUE_OPTIONS.has(arg) && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`)
      i++
    } else {
      out.push(arg)
    }
  }
  return out
}

/** parseArgs's messages, shortened to one line; the option as typed is outside text. */
function argsMessage (error: Error & { code?: string }): string {
  const unknown = /^Unknown option '([\s\S]*?)'(?:\. To specify|$)/.exec(error.message)
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && unknown !== null) return `unknown option ${quoteOutside(unknown[1])}`
  return (error.message.split('\n')[0] ?? 'invalid arguments').replace(/[^\x20-\x7e]/g, '?')
}

function parse (argv: string[]): Parsed | 'help' {
  let values: Record<string, string | boolean | undefined>
  let positionals: string[]
  try {
    ({ values, positionals } = parseArgs({
      args: joinNegativeValues(argv),
      allowPositionals: true,
      options: {
        ca: { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        pfx: { type: 'string' },
        'passphrase-env': { type: 'string' },
        method: { type: 'string', default: 'GET' },
        timeout: { type: 'string', default: '10000' },
        'allow-legacy': { type: 'boolean', default: false },
        proxy: { type: 'string' },
        'proxy-auth': { type: 'string' },
        auth: { type: 'string' },
        'auth-user': { type: 'string' },
        'auth-password-env': { type: 'string' },
        'auth-spn': { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false }
      }
    }))
  } catch (error) {
    throw new UsageError(argsMessage(error as Error))
  }
  if (values.help === true) return 'help'
  const [command, target, ...extra] = positionals
  if (command !== 'probe') throw new UsageError(command === undefined ? 'missing command: probe or policies' : `unknown command: ${quoteOutside(command)} (commands: probe, policies)`)
  if (target === undefined) throw new UsageError('missing <url>')
  if (extra.length > 0) throw new UsageError(`unexpected argument: ${extra[0]}`)
  let url: URL
  try {
    url = new URL(target)
  } catch {
    throw new UsageError(`not a URL: ${redactUrl(target)}`)
  }
  if (url.protocol !== 'https:') throw new UsageError(`the URL must be https://, got ${quoteOutside(url.protocol, 40)}`)
  const timeout = Number(values.timeout)
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > 600_000) throw new UsageError(`--timeout must be a whole number of milliseconds from 1 to 600000, got ${quoteOutside(values.timeout, 40)}`)
  const method = String(values.method).toUpperCase()
  if (!/^[A-Z]+$/.test(method)) throw new UsageError(`--method: invalid method ${String(values.method)}`)
  if (values.pfx !== undefined && (values.cert !== undefined || values.key !== undefined)) throw new UsageError('use either --pfx, or --cert and --key')
  if ((values.cert === undefined) !== (values.key === undefined)) throw new UsageError('--cert and --key go together')
  let passphrase: string | undefined
  if (values['passphrase-env'] !== undefined) {
    const name = String(values['passphrase-env'])
    passphrase = process.env[name]
    if (passphrase === undefined) throw new UsageError(`--passphrase-env: the environment variable ${name} is not set`)
  }
  let clientCert: ClientCertificate | undefined
  if (values.pfx !== undefined) clientCert = { pfx: readFile('--pfx', String(values.pfx)), ...(passphrase === undefined ? {} : { passphrase }) }
  if (values.cert !== undefined) {
    clientCert = { cert: readFile('--cert', String(values.cert)), key: readFile('--key', String(values.key)), ...(passphrase === undefined ? {} : { passphrase }) }
  }
  const ca = values.ca === undefined ? undefined : readFile('--ca', String(values.ca))
  // As the agent does at construction: a CA file with no certificate, a key that does not match its
  // certificate, or an encrypted key without its passphrase fails here, before any connection, with the agent's message.
  try {
    if (ca !== undefined) checkPem('--ca', ca, 'ca')
    // A legacy PKCS#12 comes back decoded (PEM key and chain), as the agent would present it.
    if (clientCert !== undefined) clientCert = checkClientCert(values.pfx === undefined ? '--cert/--key' : '--pfx', clientCert, ca === undefined ? {} : { ca })
  } catch (error) {
    if (error instanceof TlsFallbackError) throw new UsageError(error.message.replace(/^TlsFallbackAgent: /, ''))
    throw error
  }
  if (values['proxy-auth'] !== undefined && values.proxy === undefined) throw new UsageError('--proxy-auth needs --proxy')
  const proxyAuth = values['proxy-auth'] === undefined ? undefined : String(values['proxy-auth'])
  const proxied = values.proxy === undefined ? undefined : proxyOption(String(values.proxy), url, proxyAuth)
  return {
    url,
    auth: authOption(values),
    proxy: proxied?.proxy,
    proxySetting: proxied?.setting,
    ca,
    clientCert,
    method,
    timeout,
    allowLegacy: values['allow-legacy'] === true,
    legacyPkcs12: clientCert !== undefined && wasLegacyPkcs12(clientCert),
    json: values.json === true
  }
}

/** `--auth` and its companions, validated as `hosts[...].auth` is; the password only from the environment. */
function authOption (values: Record<string, string | boolean | undefined>): AuthOptions | undefined {
  const scheme = values.auth
  if (scheme === undefined) {
    for (const flag of ['auth-user', 'auth-password-env', 'auth-spn']) if (values[flag] !== undefined) throw new UsageError(`--${flag} needs --auth`)
    return undefined
  }
  const auth: Record<string, unknown> = { scheme }
  if (values['auth-user'] !== undefined) {
    auth.username = String(values['auth-user'])
    const name = values['auth-password-env'] === undefined ? AUTH_PASSWORD_ENV : String(values['auth-password-env'])
    const password = process.env[name]
    if (password === undefined) throw new UsageError(`--auth-user: the environment variable ${name} (the password) is not set`)
    auth.password = password
  } else if (values['auth-password-env'] !== undefined) {
    throw new UsageError('--auth-password-env needs --auth-user')
  }
  if (values['auth-spn'] !== undefined) auth.spn = String(values['auth-spn'])
  try {
    resolveAuth('--auth', auth)
  } catch (error) {
    if (error instanceof TlsFallbackError) throw new UsageError(error.message.replace(/^TlsFallbackAgent: /, '').replace(/^--auth\.(\w+)/, (_m, field: string) => field === 'scheme' ? '--auth' : field === 'password' ? `the password (${AUTH_PASSWORD_ENV} or --auth-password-env)` : `--auth-${field === 'username' ? 'user' : field}`))
    throw error
  }
  return auth as unknown as AuthOptions
}

/**
 * `--proxy URL` or `--proxy env` (with NO_PROXY applied to the URL's host), with `--proxy-auth`'s
 * scheme and the URL's credentials as `auth`. Messages never show credentials.
 */
function proxyOption (value: string, url: URL, scheme: string | undefined): { proxy: Proxy, setting: ProxySetting } | undefined {
  try {
    let text: string | undefined = value
    if (value === 'env') {
      const choice = parseProxyChoice('env')
      if (choice.kind !== 'env') return undefined
      const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
      if (choice.noProxy.bypasses(host, Number(url.port === '' ? 443 : url.port))) return undefined
      if (scheme === undefined) return choice.https === undefined ? undefined : { proxy: choice.https, setting: choice.https.agentOptions }
      text = process.env.https_proxy ?? process.env.HTTPS_PROXY ?? process.env.http_proxy ?? process.env.HTTP_PROXY
      if (text === undefined || text.trim() === '') return undefined
    }
    // parseProxy validates it just below (auth included).
    const setting = (scheme === undefined ? text : proxyWithAuth(text.trim(), scheme)) as ProxySetting
    return { proxy: parseProxy('--proxy', setting), setting }
  } catch (error) {
    if (error instanceof TlsFallbackError) throw new UsageError(error.message.replace(/^TlsFallbackAgent: /, '').replace(/^--proxy\.auth/, '--proxy-auth'))
    throw error
  }
}

function spinner (enabled: boolean): { update: (text: string) => void, stop: () => void } {
  if (!enabled) return { update: () => {}, stop: () => {} }
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']
  let frame = 0
  let text = 'starting'
  const draw = (): void => { process.stderr.write(`\r\x1b[2K${frames[frame++ % frames.length] ?? ''} ${text}`) }
  const timer = setInterval(draw, 80)
  timer.unref()
  return {
    update: (t) => { text = t; draw() },
    stop: () => { clearInterval(timer); process.stderr.write('\r\x1b[2K') }
  }
}

function packageVersion (): string {
  // ../../package.json from src/cli/ and from dist/cli/ alike.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

export async function main (argv: string[]): Promise<number> {
  if (argv[0] === '--version' || argv[0] === '-v') {
    process.stdout.write(`undici-tls-fallback ${packageVersion()}\n`)
    return 0
  }
  if (argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    process.stdout.write(TOP_HELP)
    return 0
  }
  if (argv[0] === 'policies') {
    // Loaded on demand: the probe starts no slower for it.
    const { policies } = await import('./policies.ts')
    return await policies(argv.slice(1))
  }
  let parsed: Parsed | 'help'
  try {
    parsed = parse(argv)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    // One line and where to look: the whole help would bury the line that matters.
    process.stderr.write(`undici-tls-fallback: ${error.message}\nRun undici-tls-fallback ${argv[0] === 'probe' ? 'probe ' : ''}--help for usage.\n`)
    return 2
  }
  if (parsed === 'help') {
    process.stdout.write(HELP)
    return 0
  }
  const controller = new AbortController()
  const onSignal = (): void => { controller.abort(new Error('interrupted')) }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  const progress = spinner(process.stderr.isTTY === true && !parsed.json)
  let result: ProbeResult
  try {
    result = await probe({
      url: parsed.url,
      ca: parsed.ca,
      clientCert: parsed.clientCert,
      method: parsed.method,
      timeout: parsed.timeout,
      allowLegacy: parsed.allowLegacy,
      legacyPkcs12: parsed.legacyPkcs12,
      proxy: parsed.proxy,
      httpAuth: parsed.auth !== undefined,
      signal: controller.signal,
      onProgress: progress.update
    })
  } catch (error) {
    progress.stop()
    if (controller.signal.aborted) {
      process.stderr.write('undici-tls-fallback: interrupted\n')
      return 130
    }
    throw error
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  if (parsed.auth !== undefined && result.verdict.stack !== null) {
    progress.update('authenticating')
    result.auth = await checkAuth({
      url: parsed.url,
      method: parsed.method,
      stack: result.verdict.stack,
      http1Only: result.verdict.http1Only,
      auth: parsed.auth,
      ca: parsed.ca,
      clientCert: parsed.clientCert,
      proxy: parsed.proxySetting,
      timeout: parsed.timeout
    })
  }
  progress.stop()
  process.stdout.write(parsed.json ? toJson(result) + '\n' : render(result, { color: colorEnabled(process.stdout), hasClientCert: parsed.clientCert !== undefined }))
  return result.unreachable !== null ? 3 : result.verdict.stack === null ? 1 : 0
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code }, (error: unknown) => {
  process.stderr.write(`undici-tls-fallback: ${(error as Error).message}\n`)
  process.exitCode = 1
})
