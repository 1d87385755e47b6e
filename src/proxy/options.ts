import net from 'node:net'
import tls, { type ConnectionOptions } from 'node:tls'
import { resolveAuth, type AuthOptions, type ResolvedAuth } from '../auth/options.ts'
import { invalidOption } from '../errors.ts'
import { quoteOutside } from '../outside-text.ts'
import { isPlainObject } from '../plain-object.ts'
import { NoProxyList } from './no-proxy.ts'

/**
 * The `proxy` option, in the shapes undici's `ProxyAgent` takes: a URL (`http://`, `https://`,
 * `socks5://`, credentials allowed in it), or `{ uri, token, headers, proxyTls }`.
 */
export interface ProxyOptions {
  /** The proxy's URL: `http://host:port`, `https://host:port` (TLS to the proxy), `socks5://host:port`. */
  uri: string | URL
  /** The `Proxy-Authorization` header value, such as `'Basic dXNlcjpwYXNz'` (HTTP(S) proxies). */
  token?: string
  /** Headers sent to the proxy with each CONNECT (HTTP(S) proxies). */
  headers?: Record<string, string>
  /** TLS options for the connection to an `https://` proxy: `ca`, `servername`, `cert`, `key`, ... */
  proxyTls?: ConnectionOptions
  /**
   * Windows Integrated Authentication to the proxy (HTTP(S) proxies): NTLM, or Negotiate (Kerberos
   * with the process's ticket cache; service `HTTP@<proxy host>` unless `spn`). Answers the proxy's
   * 407 on each CONNECT, every leg on one connection, a fresh handshake per tunnel.
   */
  auth?: AuthOptions
}

export type ProxySetting = string | URL | ProxyOptions

/**
 * The agent's `proxy` from the environment, as `'env'` reads it (`HTTPS_PROXY`, `HTTP_PROXY`,
 * `NO_PROXY`), with Windows Integrated Authentication to the proxies it names: `{ env: true, auth }`.
 * Hosts that `NO_PROXY` bypasses go direct and never see the credentials.
 */
export interface EnvProxyOptions {
  env: true
  /** NTLM or Negotiate to the proxy from `HTTPS_PROXY`/`HTTP_PROXY` (HTTP(S) proxies), as `ProxyOptions.auth`. */
  auth?: AuthOptions
}

/** A validated proxy. Its credentials live only in `headers`, `username` and `password`, never in `redacted`. */
export interface Proxy {
  readonly protocol: 'http:' | 'https:' | 'socks5:'
  /** Host without brackets. */
  readonly hostname: string
  readonly port: number
  /** The URL without credentials, as errors and logs show it: `http://***@proxy.corp:3128` when it had some. */
  readonly redacted: string
  /** Headers for each CONNECT (`proxy-authorization` included, from `token` or the URL's credentials). */
  readonly headers: Readonly<Record<string, string>>
  /** TLS options towards an `https://` proxy. */
  readonly proxyTls: ConnectionOptions
  /** SOCKS5 username/password (RFC 1929), decoded. */
  readonly username: string | undefined
  readonly password: string | undefined
  /** NTLM or Negotiate to the proxy (`auth`), validated; then plain `http://` origins are tunnelled too. */
  readonly auth: ResolvedAuth | undefined
  /** What undici's `ProxyAgent` takes, for plain `http://` origins. */
  readonly agentOptions: { uri: string, token?: string, headers?: Record<string, string>, proxyTls?: ConnectionOptions }
}

/** The agent-wide proxy choice. */
export type ProxyChoice =
  | { readonly kind: 'none' }
  | { readonly kind: 'fixed', readonly proxy: Proxy }
  | { readonly kind: 'env', readonly https: Proxy | undefined, readonly http: Proxy | undefined, readonly noProxy: NoProxyList }

const PROXY_KEYS = new Set(['uri', 'token', 'headers', 'proxyTls', 'auth'])
const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443, 'socks5:': 1080 }
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/

/** What a value is, never what it says (a proxy string may hold a password). */
function kind (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}

/** A URL for messages: scheme, host and port only, with `***@` where it had credentials. */
export function redactUrl (url: URL): string {
  const credentials = url.username !== '' || url.password !== '' ? '***@' : ''
  const port = url.port === '' ? '' : `:${url.port}`
  return `${url.protocol}//${credentials}${url.hostname}${port}`
}

function decode (path: string, text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    throw invalidOption(path, 'has credentials that are not valid percent-encoding')
  }
}

/**
 * Validates one proxy setting. Messages never contain the URL's credentials, the token or header
 * values: at most the redacted URL.
 */
export function parseProxy (path: string, value: unknown, envAuth?: { path: string, auth: unknown }): Proxy {
  let uri: unknown
  let token: unknown
  let headers: unknown
  let proxyTls: unknown
  let auth: unknown
  if (typeof value === 'string' || value instanceof URL) {
    uri = value
    auth = envAuth?.auth
  } else if (isPlainObject(value)) {
    for (const key of Object.keys(value)) {
      if (!PROXY_KEYS.has(key)) throw invalidOption(`${path}.${key}`, `is not an option (known: ${[...PROXY_KEYS].join(', ')})`)
    }
    ;({ uri, token, headers, proxyTls, auth } = value)
    path = `${path}.uri`
    if (uri === undefined) throw invalidOption(path, 'is missing: a proxy needs its URL, such as \'http://proxy.corp:3128\'')
  } else {
    throw invalidOption(path, `must be a proxy URL, an object { uri, token, headers, proxyTls, auth }, or false, got ${kind(value)}`)
  }
  const base = path.endsWith('.uri') ? path.slice(0, -4) : path
  if (typeof uri !== 'string' && !(uri instanceof URL)) throw invalidOption(path, `must be a URL string, got ${kind(uri)}`)
  let url: URL
  try {
    url = new URL(String(uri))
  } catch {
    // 'ENV', 'Env': the environment is meant, in the wrong case (nothing secret to echo).
    if (typeof uri === 'string' && uri.trim().toLowerCase() === 'env') throw invalidOption(path, `is ${quoteOutside(uri)}: write 'env' (in lower case) to read HTTPS_PROXY, HTTP_PROXY and NO_PROXY`)
    // The text is not echoed: it may hold a password.
    throw invalidOption(path, 'is not a valid URL (expected http://host:port, https://host:port or socks5://host:port)')
  }
  const protocol = url.protocol === 'socks:' ? 'socks5:' : url.protocol
  if (protocol !== 'http:' && protocol !== 'https:' && protocol !== 'socks5:') {
    // The scheme is shown only when it is one ('user:pass@host' parses with the scheme 'user:').
    const scheme = String(uri).startsWith(`${url.protocol}//`) ? ` has the scheme '${url.protocol}':` : ' must be a URL:'
    throw invalidOption(path, `${scheme.trim()} a proxy is http://, https:// or socks5:// (such as 'http://proxy.corp:3128')`)
  }
  const redacted = redactUrl(url)
  if (url.hostname === '') throw invalidOption(path, `has no host (${redacted})`)
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    throw invalidOption(path, `must not have a path, query or fragment (${redacted})`)
  }
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  const port = url.port === '' ? DEFAULT_PORTS[protocol] as number : Number(url.port)
  const username = url.username === '' ? undefined : decode(path, url.username)
  const password = url.password === '' ? undefined : decode(path, url.password)
  const own: Record<string, string> = {}

  if (headers !== undefined) {
    if (!isPlainObject(headers)) throw invalidOption(`${base}.headers`, `must be an object of header names to strings, got ${kind(headers)}`)
    for (const [name, v] of Object.entries(headers)) {
      if (!TOKEN.test(name)) throw invalidOption(`${base}.headers`, `has an invalid header name ${JSON.stringify(name)}`)
      if (typeof v !== 'string' || !HEADER_VALUE.test(v)) throw invalidOption(`${base}.headers[${JSON.stringify(name)}]`, 'must be a string without control characters (its value is not shown)')
      const lower = name.toLowerCase()
      if (lower === 'host' || lower === 'content-length' || lower === 'transfer-encoding' || lower === 'connection') {
        throw invalidOption(`${base}.headers[${JSON.stringify(name)}]`, 'is set by the agent itself')
      }
      own[lower] = v
    }
  }
  if (token !== undefined) {
    if (typeof token !== 'string' || token.length === 0 || !HEADER_VALUE.test(token)) {
      throw invalidOption(`${base}.token`, 'must be a non-empty string without control characters (its value is not shown)')
    }
    if (username !== undefined || password !== undefined) throw invalidOption(`${base}.token`, `cannot be combined with credentials in the URL (${redacted})`)
    if (own['proxy-authorization'] !== undefined) throw invalidOption(`${base}.token`, 'cannot be combined with a proxy-authorization header')
  }
  if (protocol === 'socks5:') {
    if (token !== undefined) throw invalidOption(`${base}.token`, `is for HTTP proxies: a SOCKS5 proxy takes its username and password in the URL (${redacted})`)
    if (headers !== undefined) throw invalidOption(`${base}.headers`, `are for HTTP proxies: SOCKS5 has no headers (${redacted})`)
    if (username !== undefined && Buffer.byteLength(username) > 255) throw invalidOption(path, 'has a username longer than 255 bytes (SOCKS5 limit)')
    if (password !== undefined && Buffer.byteLength(password) > 255) throw invalidOption(path, 'has a password longer than 255 bytes (SOCKS5 limit)')
  }
  if (proxyTls !== undefined) {
    if (!isPlainObject(proxyTls)) throw invalidOption(`${base}.proxyTls`, `must be an object of TLS options, got ${kind(proxyTls)}`)
    if (protocol !== 'https:') throw invalidOption(`${base}.proxyTls`, `applies only to an https:// proxy, and this one is ${protocol}// (${redacted})`)
    try {
      tls.createSecureContext(proxyTls)
    } catch (error) {
      const code = (error as { code?: string }).code
      throw invalidOption(`${base}.proxyTls`, `has TLS options that Node refuses${code === undefined ? '' : ` (${code})`}`, error)
    }
  }
  const resolvedAuth = auth === undefined ? undefined : proxyAuth(envAuth?.path ?? `${base}.auth`, auth, { protocol, redacted, url: username !== undefined || password !== undefined, token: token !== undefined, header: own['proxy-authorization'] !== undefined })
  if (token !== undefined) {
    own['proxy-authorization'] = token
  } else if (username !== undefined && protocol !== 'socks5:') {
    own['proxy-authorization'] = `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}`
  }
  const agentOptions: Proxy['agentOptions'] = {
    uri: url.href,
    ...(token === undefined ? {} : { token }),
    ...(headers === undefined ? {} : { headers: { ...(headers as Record<string, string>) } }),
    ...(proxyTls === undefined ? {} : { proxyTls })
  }
  return Object.freeze({
    protocol,
    hostname,
    port,
    redacted,
    headers: Object.freeze(own),
    proxyTls: (proxyTls ?? {}),
    username: protocol === 'socks5:' ? username : undefined,
    password: protocol === 'socks5:' ? password : undefined,
    auth: resolvedAuth,
    agentOptions
  })
}

/** `auth` of an HTTP(S) proxy: one way of authenticating to it, never two. Messages never echo a credential. */
function proxyAuth (path: string, auth: unknown, has: { protocol: string, redacted: string, url: boolean, token: boolean, header: boolean }): ResolvedAuth {
  if (has.protocol === 'socks5:') throw invalidOption(path, `is for HTTP proxies: a SOCKS5 proxy takes its username and password in the URL (${has.redacted})`)
  if (has.url) throw invalidOption(path, `cannot be combined with credentials in the URL (${has.redacted}): give the user name and password in auth`)
  if (has.token) throw invalidOption(path, 'cannot be combined with token: one Proxy-Authorization per CONNECT')
  if (has.header) throw invalidOption(path, 'cannot be combined with a proxy-authorization header')
  return resolveAuth(path, auth)
}

function envValue (env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name.toLowerCase()] ?? env[name.toUpperCase()]
  return value === undefined || value.trim() === '' ? undefined : value.trim()
}

/**
 * The agent's `proxy` option: `undefined` (none), `'env'` (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`,
 * either case, lower case first, read once at construction, as undici's `EnvHttpProxyAgent` reads
 * them) or `{ env: true, auth }` (the same, with `auth` to those proxies), or one proxy for every host.
 */
export function parseProxyChoice (value: unknown, env: NodeJS.ProcessEnv = process.env): ProxyChoice {
  if (value === undefined || value === false) return { kind: 'none' }
  const fromEnv = value === 'env' ? {} : envProxyOptions(value)
  if (fromEnv !== undefined) {
    const envAuth = fromEnv.auth === undefined ? undefined : { path: 'proxy.auth', auth: fromEnv.auth }
    // Checked once here, whatever the environment holds: a deployment without a proxy still fails on a wrong option.
    if (envAuth !== undefined) resolveAuth(envAuth.path, envAuth.auth)
    const httpText = envValue(env, 'http_proxy')
    const httpsText = envValue(env, 'https_proxy')
    const http = httpText === undefined ? undefined : parseProxy('proxy (HTTP_PROXY)', httpText, envAuth)
    const https = httpsText === undefined ? http : parseProxy('proxy (HTTPS_PROXY)', httpsText, envAuth)
    return { kind: 'env', http, https, noProxy: new NoProxyList(env.no_proxy ?? env.NO_PROXY ?? '') }
  }
  return { kind: 'fixed', proxy: parseProxy('proxy', value) }
}

const ENV_KEYS = new Set(['env', 'auth'])

/** `{ env: true, auth? }` validated (undefined when `value` is no object with `env`). */
function envProxyOptions (value: unknown): { auth?: unknown } | undefined {
  if (!isPlainObject(value) || !Object.hasOwn(value, 'env')) return undefined
  for (const key of Object.keys(value)) {
    if (!ENV_KEYS.has(key)) throw invalidOption(`proxy.${key}`, `cannot be combined with env (known: ${[...ENV_KEYS].join(', ')}): the proxies come from HTTPS_PROXY and HTTP_PROXY`)
  }
  const { env, auth } = value as { env: unknown, auth?: unknown }
  if (env !== true) throw invalidOption('proxy.env', `must be true (the proxies from HTTPS_PROXY, HTTP_PROXY and NO_PROXY), got ${kind(env)}`)
  return auth === undefined ? {} : { auth }
}

/** The value of `hosts[...].proxy`: `false` (direct), or a proxy for that host only. */
export function parseHostProxy (path: string, value: unknown): Proxy | false {
  if (value === false) return false
  if ((typeof value === 'string' && value.trim().toLowerCase() === 'env') || (isPlainObject(value) && Object.hasOwn(value, 'env'))) throw invalidOption(path, 'cannot be \'env\' for one host: set the agent\'s proxy to \'env\', or give this host a proxy URL or false')
  return parseProxy(path, value)
}

/** Whether a host name is an IP literal (no SNI for it). */
export function isIpLiteral (hostname: string): boolean {
  return net.isIP(hostname) !== 0
}
