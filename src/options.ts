import { constants, X509Certificate } from 'node:crypto'
import { existsSync } from 'node:fs'
import tls, { type ConnectionOptions } from 'node:tls'
import type { Agent } from 'undici'
import { DEFAULT_FETCH_TIMEOUT, DEFAULT_MAX_BYTES, type IntermediateFetch } from './certs/aia.ts'
import { DEFAULT_PRIMING_BODY_LIMIT } from './decide.ts'
import { decodeLegacyPkcs12, isUnsupportedPkcs12, markLegacyPkcs12, Pkcs12Error } from './certs/pkcs12.ts'
import { resolveAuth, type AuthOptions, type ResolvedAuth } from './auth/options.ts'
import { invalidOption } from './errors.ts'
import { quoteOutside } from './outside-text.ts'
import { isPlainObject } from './plain-object.ts'
import { HostMatcher, parseHostPattern, type HostPattern } from './policy/hosts.ts'
import type { PolicyCache } from './policy/cache.ts'
import { describe, kind } from './policy/memory-cache.ts'
import { parseHostProxy, parseProxyChoice, type EnvProxyOptions, type Proxy, type ProxyChoice, type ProxySetting } from './proxy/options.ts'
import { DEFAULT_MAX_REPLAY_BODY_SIZE } from './replay.ts'
import {
  DEFAULT_FALLBACK, LADDER_STACKS, STACKS, stackTlsOptions, tlsVersionRank,
  type ClientCertificate, type FallbackStack, type StackName
} from './stacks.ts'
import type { Hooks, Logger } from './telemetry.ts'
import { checkUploadPriming, type UploadPrimingOptions } from './uploads.ts'

/** Per-host settings, the values of the `hosts` option. */
export interface HostOptions {
  /**
   * The stacks this host may fall back to, in order. Overrides the agent's `fallback`. Only here may
   * `'legacy-server-connect'` be listed: that is the consent for this host. `[]` never falls back.
   */
  fallback?: FallbackStack[]
  /** Pins the host to one stack: no detection, no fallback, no cache. */
  stack?: StackName
  /** The client certificate to present when this host asks for one (on every stack). */
  clientCert?: ClientCertificate
  /** Always use HTTP/1.1 for this host. */
  http1Only?: boolean
  /** Overrides the agent's `replayNonIdempotent` for this host. */
  replayNonIdempotent?: boolean
  /** `false`: this host goes direct even when the agent has a proxy. A proxy: this host goes through it. */
  proxy?: false | ProxySetting
  /** Overrides the agent's `fetchIntermediates` for this host (`false` turns it off here). */
  fetchIntermediates?: boolean | FetchIntermediatesOptions
  /** Overrides the agent's `uploadPriming` for this host (`false` turns it off here). */
  uploadPriming?: UploadPrimingOptions
  /** Windows Integrated Authentication to this host (NTLM, Negotiate/Kerberos): see docs/auth.md. Implies HTTP/1.1. */
  auth?: AuthOptions
}

/** How missing intermediates are fetched (`fetchIntermediates: { ... }`). */
export interface FetchIntermediatesOptions {
  /** Largest AIA response accepted, in bytes. Default: 65,536. */
  maxBytes?: number
  /** Time for the whole fetch (connect, headers, body), in ms. Default: 5,000. */
  timeout?: number
  /** Fetch from loopback addresses (127.0.0.0/8, ::1). Default: false. */
  allowLoopback?: boolean
  /** Fetch from link-local and cloud metadata addresses (169.254.0.0/16, fe80::/10, fd00:ec2::254, 100.100.100.200). Default: false. */
  allowLinkLocal?: boolean
}

/** TLS options for every stack: undici's `connect` object form. */
export type ConnectOptions = ConnectionOptions & {
  /** undici: TLS session cache size per host. */
  maxCachedSessions?: number
  keepAlive?: boolean
  keepAliveInitialDelay?: number
  /** Same as the agent's `connectTimeout`. */
  timeout?: number
}

/** undici Agent options that pass through to every stack's Agent. */
export type UndiciAgentOptions = Pick<Agent.Options,
  'connections' | 'pipelining' | 'allowH2' | 'connectTimeout' | 'headersTimeout' | 'bodyTimeout' |
  'keepAliveTimeout' | 'keepAliveMaxTimeout' | 'keepAliveTimeoutThreshold' | 'maxHeaderSize' |
  'maxResponseSize' | 'localAddress' | 'maxCachedSessions' | 'strictContentLength' | 'autoSelectFamily' |
  'autoSelectFamilyAttemptTimeout' | 'maxConcurrentStreams' | 'clientTtl' | 'maxOrigins' |
  'maxRequestsPerClient' | 'initialWindowSize' | 'connectionWindowSize' | 'pingInterval' | 'webSocket' | 'eventSource' |
  'h2Options' | 'factory'> & UndiciClientOnlyOptions

/** undici Client options its Agent passes on but does not declare. */
export interface UndiciClientOnlyOptions {
  /** undici: HTTP/2 over cleartext (h2c) for http: origins. Default: false. */
  useH2c?: boolean
}

export interface TlsFallbackAgentOptions extends UndiciAgentOptions {
  /** TLS options for every stack (undici's `connect` object form): `ca`, `servername`, `minVersion`, ... */
  connect?: ConnectOptions
  /**
   * The ladder for hosts without their own `fallback`. Default: `['tls13', 'renegotiation']`.
   * `'legacy-server-connect'` needs consent per host, so only `hosts[...].fallback` may list it.
   */
  fallback?: Array<Exclude<FallbackStack, 'legacy-server-connect'>>
  /** Per-host settings. Keys: `'host'`, `'host:port'`, `'*.example.com'`; the most specific wins. */
  hosts?: Record<string, HostOptions>
  /** Where learned policies live. Default: a new `MemoryPolicyCache()`. */
  cache?: PolicyCache
  /** A pino logger, or anything with `debug`, `info`, `warn`, `error` (and optionally `child`). Default: none. */
  logger?: Logger
  /** Called with the payloads of the diagnostics channels. */
  hooks?: Hooks
  /** Largest stream body (bytes) kept in memory so the request can be sent again. Default: 1 MiB. */
  maxReplayBodySize?: number
  /** How many times an idempotent request whose connection was reset or closed with no fingerprint is sent again on the same stack. Default: 1. */
  resetRetries?: number
  /** While the first request to an origin with no policy is in flight, others to it wait up to this many ms. 0 turns the wait off. Default: 10,000. */
  coldStartTimeout?: number
  /**
   * Send a non-idempotent request (POST, PATCH, ...) again after a verified refusal that came after
   * the request was sent (`renegotiation-refused`, an HTTP/2 `HTTP_1_1_REQUIRED` the server may have
   * acted on). Only for servers that check before they act: one that acted first acts twice.
   * Default: false (the caller gets `TLS_FALLBACK_NOT_REPLAYED`; the next request goes straight to the right stack).
   */
  replayNonIdempotent?: boolean
  /**
   * A proxy for every host: a URL (`http://`, `https://`, `socks5://`, credentials allowed) or
   * `{ uri, token, headers, proxyTls }`, as undici's `ProxyAgent` takes; `'env'` reads `HTTPS_PROXY`,
   * `HTTP_PROXY` and `NO_PROXY` (either case) as undici's `EnvHttpProxyAgent` does; `{ env: true, auth }`
   * reads them the same way and authenticates to those proxies (NTLM, Negotiate). Default: none.
   */
  // 'env' is a string too: named for the reader and the docs.
  // eslint-disable-next-line @typescript-eslint/no-redundant-type-constituents
  proxy?: ProxySetting | 'env' | EnvProxyOptions
  /**
   * When a server sends its certificate without the intermediate that issued it
   * (`UNABLE_TO_VERIFY_LEAF_SIGNATURE`) and the certificate names a `caIssuers` URL (AIA), fetch it
   * (http: only, bounded, no credentials, through the host's proxy) and retry the handshake with it
   * as an untrusted intermediate: the chain must still end at a root you trust. Default: false (the
   * error's message then names the URL and this option).
   */
  fetchIntermediates?: boolean | FetchIntermediatesOptions
  /**
   * Large uploads to servers that ask for the client certificate after the request (IIS, Apache
   * `SSLVerifyClient` per location): a body larger than `limit` bytes, or of unknown length, to an
   * origin that may renegotiate (a `renegotiation` stack, a post-handshake-auth fallback, a host
   * with `clientCert`) goes on a connection primed by `HEAD` to its path, over HTTP/1.1, so that the
   * server renegotiates before it must hold the body. `false` turns it off. Default: `{ limit: 49152 }`.
   */
  uploadPriming?: UploadPrimingOptions
}

/** A host's settings after validation, with the ladder resolved. */
export interface HostRule {
  /** How the user's config names this rule: `hosts['a.example']`, or `fallback` for the defaults. */
  readonly path: string
  readonly pattern: HostPattern | undefined
  readonly fallback: readonly FallbackStack[]
  /** Where `fallback` came from: `hosts['a.example'].fallback` or `fallback`. */
  readonly fallbackPath: string
  readonly stack: StackName | undefined
  readonly clientCert: ClientCertificate | undefined
  readonly http1Only: boolean
  /** Whether a non-idempotent request is sent again after a verified refusal that came after it was sent. */
  readonly replayNonIdempotent: boolean
  /** `false`: direct; a proxy: this host's own; undefined: the agent's choice. */
  readonly proxy: Proxy | false | undefined
  /** How to fetch a missing intermediate for this host; undefined: never (the default). */
  readonly fetchIntermediates: IntermediateFetch | undefined
  /** The body size above which an upload goes on a primed connection; false: never (`uploadPriming`). */
  readonly uploadPriming: number | false
  /** `hosts[...].auth`, validated; undefined: no credentials are ever sent to this host. */
  readonly auth: ResolvedAuth | undefined
}

export interface AgentConfig {
  readonly connect: ConnectOptions
  readonly defaults: HostRule
  readonly hosts: HostMatcher<HostRule>
  readonly cache: PolicyCache | undefined
  readonly logger: Logger | undefined
  readonly hooks: Hooks | undefined
  readonly maxReplayBodySize: number
  readonly resetRetries: number
  readonly coldStartTimeout: number
  readonly allowH2: boolean
  readonly undici: UndiciAgentOptions
  readonly proxy: ProxyChoice
  /** Some host has `auth`: requests then look up their host rule to find its pool (src/auth/pool.ts). */
  readonly hasAuth: boolean
}

const UNDICI_KEYS = new Set<string>([
  'connections', 'pipelining', 'allowH2', 'connectTimeout', 'headersTimeout', 'bodyTimeout',
  'keepAliveTimeout', 'keepAliveMaxTimeout', 'keepAliveTimeoutThreshold', 'maxHeaderSize',
  'maxResponseSize', 'localAddress', 'maxCachedSessions', 'strictContentLength', 'autoSelectFamily',
  'autoSelectFamilyAttemptTimeout', 'maxConcurrentStreams', 'clientTtl', 'maxOrigins',
  'maxRequestsPerClient', 'initialWindowSize', 'connectionWindowSize', 'pingInterval', 'webSocket', 'eventSource',
  'useH2c', 'h2Options', 'factory'
])
const OWN_KEYS = new Set<string>([
  'connect', 'fallback', 'hosts', 'cache', 'logger', 'hooks', 'maxReplayBodySize', 'resetRetries', 'coldStartTimeout', 'replayNonIdempotent',
  'proxy', 'fetchIntermediates', 'uploadPriming'
])
const UNSUPPORTED: Record<string, string> = {
  socketPath: 'is not supported: TLS fallback needs TCP connections',
  interceptors: 'is not an undici 8 option: use agent.compose(...)'
}
const HOST_KEYS = new Set(['fallback', 'stack', 'clientCert', 'http1Only', 'replayNonIdempotent', 'proxy', 'fetchIntermediates', 'uploadPriming', 'auth'])
const FETCH_KEYS = new Set(['maxBytes', 'timeout', 'allowLoopback', 'allowLinkLocal'])

/** Validates `fetchIntermediates` (top level or per host): undefined when off. */
function checkFetchIntermediates (path: string, value: unknown, logger: Logger | undefined): IntermediateFetch | undefined {
  if (value === undefined || value === false) return undefined
  if (value !== true && !isPlainObject(value)) throw invalidOption(path, `must be a boolean or an object, got ${describe(value)}`)
  const o: Record<string, unknown> = value === true ? {} : value
  for (const key of Object.keys(o)) {
    if (!FETCH_KEYS.has(key)) throw invalidOption(`${path}.${key}`, `is not an option (known: ${[...FETCH_KEYS].join(', ')})`)
  }
  for (const key of ['allowLoopback', 'allowLinkLocal']) {
    if (o[key] !== undefined && typeof o[key] !== 'boolean') throw invalidOption(`${path}.${key}`, `must be a boolean, got ${describe(o[key])}`)
  }
  return Object.freeze({
    maxBytes: o.maxBytes === undefined ? DEFAULT_MAX_BYTES : checkNonNegativeInteger(`${path}.maxBytes`, o.maxBytes, 16 * 1024 * 1024),
    timeout: o.timeout === undefined ? DEFAULT_FETCH_TIMEOUT : checkNonNegativeInteger(`${path}.timeout`, o.timeout, 600_000),
    allowLoopback: o.allowLoopback === true,
    allowLinkLocal: o.allowLinkLocal === true,
    logger
  })
}
const CERT_KEYS = new Set(['cert', 'key', 'pfx', 'passphrase'])
const HOOK_KEYS = new Set(['onAttempt', 'onDiagnosis', 'onFallback'])
const TLS_VERSION_NAMES = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']

function checkNonNegativeInteger (path: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw invalidOption(path, `must be a whole number from 0 to ${max}, got ${describe(value)}`)
  }
  return value
}

function checkFallback (path: string, value: unknown, allowLegacy: boolean): FallbackStack[] {
  if (!Array.isArray(value)) throw invalidOption(path, `must be an array of stack names, got ${describe(value)}`)
  const seen = new Set<string>()
  value.forEach((stack, i) => {
    const at = `${path}[${i}]`
    if (stack === 'strict') throw invalidOption(at, 'must not be \'strict\': every ladder starts from the strict stack')
    if (!(LADDER_STACKS as readonly unknown[]).includes(stack)) {
      throw invalidOption(at, `is not a stack: ${describe(stack)} (known: ${LADDER_STACKS.join(', ')})`)
    }
    if (stack === 'legacy-server-connect' && !allowLegacy) {
      throw invalidOption(at, 'must not be \'legacy-server-connect\': that stack exposes the client to CVE-2009-3555, so it needs consent per host; list it in hosts[\'<host>\'].fallback')
    }
    if (seen.has(stack as string)) throw invalidOption(at, `lists ${describe(stack)} twice`)
    seen.add(stack as string)
  })
  return value as FallbackStack[]
}

function isKeyMaterial (value: unknown): boolean {
  const one = (v: unknown): boolean => typeof v === 'string' || Buffer.isBuffer(v) || v instanceof Uint8Array
  return one(value) || (Array.isArray(value) && value.length > 0 && value.every((v) => one(v) || (isPlainObject(v) && one(v.pem ?? v.buf))))
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g
const CERTIFICATE_LABELS = new Set(['CERTIFICATE', 'TRUSTED CERTIFICATE', 'X509 CERTIFICATE'])

/** A one-line string with no PEM in it that reads like a file name: `./ca.pem`, `/etc/ssl/x.crt`, `C:\\certs\\ca.cer`. */
function looksLikePath (text: string): boolean {
  const t = text.trim()
  return t.length > 0 && t.length < 4096 && !/[\r\n]/.test(t) && !t.includes('-----BEGIN') &&
    (/^(~|\.{1,2}[\\/]|[\\/]|[A-Za-z]:[\\/])/.test(t) || /\.(pem|crt|cer|key|der|pfx|p12)$/i.test(t) || existsSync(t))
}

/**
 * PEM text where Node takes PEM text. Node takes a file name for `ca` without a word (and trusts
 * nothing from it), and fails later on one for `cert` or `key`: a file name gets the hint to read the
 * file. A `ca` must hold certificates that parse. Only a `ca` or `cert` value is ever quoted (a key may be secret).
 */
export function checkPem (path: string, value: unknown, what: 'ca' | 'cert' | 'key' | 'pfx'): void {
  const items: unknown[] = Array.isArray(value) ? value : [value]
  items.forEach((item, i) => {
    const at = Array.isArray(value) ? `${path}[${i}]` : path
    const entry: unknown = isPlainObject(item) ? (item.pem ?? item.buf) : item
    if (typeof entry !== 'string' && !(entry instanceof Uint8Array)) return
    // A pfx Buffer is binary: only a string can be a file name there.
    if (what === 'pfx' && typeof entry !== 'string') return
    const text = typeof entry === 'string' ? entry : Buffer.from(entry).toString('latin1')
    if (looksLikePath(text)) {
      const shown = what === 'ca' || what === 'cert' ? ` (${quoteOutside(text.trim())})` : ''
      throw invalidOption(at, `looks like a file name${shown}, not ${what === 'pfx' ? 'the PKCS#12 data' : 'PEM text'}: read the file first, such as readFileSync(path)`)
    }
    if (what !== 'ca') return
    const blocks = [...text.matchAll(PEM_BLOCK)]
    const certificates = blocks.filter((b) => CERTIFICATE_LABELS.has(b[1] as string))
    if (certificates.length === 0) {
      throw invalidOption(at, blocks.length === 0
        ? 'is not a PEM certificate: it has no -----BEGIN CERTIFICATE----- block'
        : `holds no certificate, only ${[...new Set(blocks.map((b) => `a ${b[1] as string} block`))].join(' and ')}`)
    }
    for (const block of certificates) {
      try {
        // eslint-disable-next-line no-new -- parsing is the check
        new X509Certificate(block[0])
      } catch {
        throw invalidOption(at, 'has a CERTIFICATE block that does not parse as an X.509 certificate')
      }
    }
  })
}

/** Validates a client certificate and loads it once (the probe checks its --cert/--key/--pfx with it too). */
export function checkClientCert (path: string, value: unknown, connect: ConnectOptions): ClientCertificate {
  if (!isPlainObject(value)) throw invalidOption(path, `must be an object with cert and key, or pfx, got ${kind(value)}`)
  for (const key of Object.keys(value)) {
    if (!CERT_KEYS.has(key)) throw invalidOption(`${path}.${key}`, 'is not an option (known: cert, key, pfx, passphrase)')
  }
  const { cert, key, pfx, passphrase } = value
  if (pfx !== undefined) {
    if (cert !== undefined || key !== undefined) throw invalidOption(path, 'must have either pfx, or cert and key, not both')
    if (!isKeyMaterial(pfx)) throw invalidOption(`${path}.pfx`, 'must be a Buffer or a string')
    checkPem(`${path}.pfx`, pfx, 'pfx')
  } else {
    if (cert === undefined) throw invalidOption(`${path}.cert`, 'is missing: a client certificate needs cert and key (or pfx)')
    if (key === undefined) throw invalidOption(`${path}.key`, 'is missing: a client certificate needs cert and key (or pfx)')
    if (!isKeyMaterial(cert)) throw invalidOption(`${path}.cert`, 'must be a PEM string or Buffer')
    if (!isKeyMaterial(key)) throw invalidOption(`${path}.key`, 'must be a PEM string or Buffer')
    checkPem(`${path}.cert`, cert, 'cert')
    checkPem(`${path}.key`, key, 'key')
  }
  if (passphrase !== undefined && typeof passphrase !== 'string') throw invalidOption(`${path}.passphrase`, 'must be a string')
  try {
    // Loads the certificate and key once, now: a wrong passphrase or a key that does not match
    // fails at construction instead of on the first request.
    tls.createSecureContext({ ...pickTls(connect), ...(value as ClientCertificate) })
  } catch (error) {
    if (pfx !== undefined && isUnsupportedPkcs12(error)) return legacyPkcs12(path, pfx as Uint8Array | string, passphrase, connect)
    const code = (error as { code?: string }).code
    throw invalidOption(path, `cannot be loaded${code === undefined ? '' : ` (${code})`}: check the certificate, the key and the passphrase`,
      refusal(error, value).cause)
  }
  return value as ClientCertificate
}

/**
 * A legacy PKCS#12 (RC2/3DES, SHA-1 MAC) that OpenSSL 3 refuses: decoded once, now, into a PEM key
 * and chain (src/certs/pkcs12.ts), then loaded as any other client certificate. Nothing
 * process-wide changes. The errors name the option and never echo the passphrase.
 */
function legacyPkcs12 (path: string, pfx: Uint8Array | string, passphrase: string | undefined, connect: ConnectOptions): ClientCertificate {
  let pem
  try {
    pem = decodeLegacyPkcs12(pfx, passphrase)
  } catch (error) {
    if (!(error instanceof Pkcs12Error)) throw error
    throw invalidOption(error.reason === 'bad-passphrase' ? `${path}.passphrase` : `${path}.pfx`, error.message)
  }
  const clientCert: ClientCertificate = { cert: pem.cert, key: pem.key }
  try {
    tls.createSecureContext({ ...pickTls(connect), ...clientCert })
  } catch (error) {
    const code = (error as { code?: string }).code
    throw invalidOption(path, `cannot be loaded after decoding the legacy PKCS#12${code === undefined ? '' : ` (${code})`}`)
  }
  return markLegacyPkcs12(clientCert)
}

/** Values that may be secret in TLS options, as the strings they would appear as in a message. */
function secretStrings (options: Record<string, unknown>): string[] {
  const found: string[] = []
  const add = (value: unknown): void => {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint') found.push(String(value))
    else if (value instanceof Uint8Array) found.push(Buffer.from(value).toString('utf8'), Buffer.from(value).toString('hex'), Buffer.from(value).toString('base64'))
    else if (Array.isArray(value)) value.forEach(add)
    else if (value !== null && typeof value === 'object') {
      const { pem, buf, passphrase } = value as Record<string, unknown>
      add(pem)
      add(buf)
      add(passphrase)
    }
  }
  for (const name of ['key', 'pfx', 'passphrase', 'privateKeyIdentifier']) add(options[name])
  // Too short a value would match inside ordinary words and codes; those are cut off with "Received" below.
  return found.filter((s) => s.length >= 4)
}

/**
 * What to say when Node refuses TLS options. Node's messages quote the refused value ("Received type
 * number (123456)"), and that value may be a passphrase or a key: the detail keeps Node's words up
 * to "Received", any secret value that still appears is masked, and the cause is a copy of Node's
 * error with that message (same name and code), never Node's error itself.
 */
function refusal (error: unknown, options: Record<string, unknown>): { detail: string, cause: Error } {
  const e = error as { name?: unknown, code?: unknown, message?: unknown } | null
  let detail = (typeof e?.message === 'string' ? e.message : 'refused').replace(/\.?\s*Received[\s\S]*$/, '')
  for (const secret of secretStrings(options)) detail = detail.replaceAll(secret, '***')
  const cause = new Error(detail)
  cause.name = typeof e?.name === 'string' ? e.name : 'Error'
  if (typeof e?.code === 'string') Object.assign(cause, { code: e.code })
  return { detail, cause }
}

function pickTls (connect: ConnectOptions): ConnectionOptions {
  const { ca, ciphers, ecdhCurve, sigalgs } = connect
  return { ca, ciphers, ecdhCurve, sigalgs }
}

function checkConnect (value: unknown): ConnectOptions {
  if (value === undefined) return {}
  if (typeof value === 'function') {
    throw invalidOption('connect', 'must be an object of TLS options: a connect function is not supported, because the agent builds each stack\'s connector itself')
  }
  if (!isPlainObject(value)) throw invalidOption('connect', `must be an object of TLS options, got ${kind(value)}`)
  const connect = value as ConnectOptions
  if ('socketPath' in connect) throw invalidOption('connect.socketPath', UNSUPPORTED.socketPath as string)
  const secureOptions = connect.secureOptions
  if (secureOptions !== undefined) {
    if (typeof secureOptions !== 'number' || !Number.isInteger(secureOptions) || secureOptions < 0) {
      throw invalidOption('connect.secureOptions', `must be a non-negative whole number, got ${describe(secureOptions)}`)
    }
    if ((secureOptions & constants.SSL_OP_LEGACY_SERVER_CONNECT) !== 0) {
      throw invalidOption('connect.secureOptions', 'must not include SSL_OP_LEGACY_SERVER_CONNECT for every host: list \'legacy-server-connect\' in hosts[\'<host>\'].fallback instead')
    }
  }
  for (const name of ['minVersion', 'maxVersion'] as const) {
    const v = connect[name]
    if (v !== undefined && !TLS_VERSION_NAMES.includes(v)) {
      throw invalidOption(`connect.${name}`, `must be one of ${TLS_VERSION_NAMES.join(', ')}, got ${describe(v)}`)
    }
  }
  if (connect.minVersion !== undefined && tlsVersionRank(connect.minVersion) < tlsVersionRank('TLSv1.2')) {
    throw invalidOption('connect.minVersion', `must be TLSv1.2 or TLSv1.3: the strict stack never speaks ${connect.minVersion}`)
  }
  if (connect.minVersion !== undefined && connect.maxVersion !== undefined &&
    tlsVersionRank(connect.maxVersion) < tlsVersionRank(connect.minVersion)) {
    throw invalidOption('connect.maxVersion', `(${connect.maxVersion}) is below connect.minVersion (${connect.minVersion})`)
  }
  if (connect.maxVersion !== undefined && tlsVersionRank(connect.maxVersion) < tlsVersionRank('TLSv1.2')) {
    throw invalidOption('connect.maxVersion', `must be TLSv1.2 or TLSv1.3, got ${describe(connect.maxVersion)}`)
  }
  if (connect.timeout !== undefined) checkNonNegativeInteger('connect.timeout', connect.timeout, 2_147_483_647)
  // Checked here, by type only: Node would take a number silently now and quote it in an error later.
  if (connect.passphrase !== undefined && typeof connect.passphrase !== 'string') {
    throw invalidOption('connect.passphrase', `must be a string, got ${kind(connect.passphrase)}`)
  }
  for (const name of ['ca', 'cert', 'key', 'pfx'] as const) {
    if (connect[name] !== undefined) checkPem(`connect.${name}`, connect[name], name)
  }
  if ('secureProtocol' in connect) {
    throw invalidOption('connect.secureProtocol', 'is not supported: each stack sets the protocol versions; use connect.minVersion and connect.maxVersion')
  }
  try {
    // Loads the CA, ciphers, curves and any certificate now, so that a bad one fails here, not on the first request.
    tls.createSecureContext(stackTlsOptions('strict', connect, undefined))
  } catch (error) {
    const code = (error as { code?: string }).code
    const { detail, cause } = refusal(error, connect as Record<string, unknown>)
    throw invalidOption('connect', `has TLS options that Node refuses${code === undefined ? '' : ` (${code})`}: ${detail}`, cause)
  }
  return connect
}

function checkHosts (value: unknown, defaults: HostRule, connect: ConnectOptions, logger: Logger | undefined): Array<{ pattern: HostPattern, value: HostRule }> {
  if (value === undefined) return []
  if (!isPlainObject(value)) throw invalidOption('hosts', `must be an object keyed by host pattern, got ${kind(value)}`)
  const rules: Array<{ pattern: HostPattern, value: HostRule }> = []
  const seen = new Map<string, string>()
  for (const [key, host] of Object.entries(value)) {
    const path = `hosts[${JSON.stringify(key).replaceAll('"', '\'')}]`
    const pattern = parseHostPattern(key)
    if (typeof pattern === 'string') throw invalidOption(path, pattern)
    const canonical = `${pattern.wildcard ? '*.' : ''}${pattern.host}:${pattern.port ?? ''}`
    const twin = seen.get(canonical)
    if (twin !== undefined) throw invalidOption(path, `names the same hosts as ${twin}`)
    seen.set(canonical, path)
    if (!isPlainObject(host)) throw invalidOption(path, `must be an object, got ${kind(host)}`)
    for (const k of Object.keys(host)) {
      if (!HOST_KEYS.has(k)) throw invalidOption(`${path}.${k}`, `is not an option (known: ${[...HOST_KEYS].join(', ')})`)
    }
    const ownFallback = host.fallback === undefined ? undefined : checkFallback(`${path}.fallback`, host.fallback, true)
    const fallback = ownFallback ?? defaults.fallback
    const fallbackPath = ownFallback === undefined ? defaults.fallbackPath : `${path}.fallback`
    let stack: StackName | undefined
    if (host.stack !== undefined) {
      if (!(STACKS as readonly unknown[]).includes(host.stack)) {
        throw invalidOption(`${path}.stack`, `is not a stack: ${describe(host.stack)} (known: ${STACKS.join(', ')})`)
      }
      stack = host.stack as StackName
      if (stack !== 'strict' && !(fallback as readonly string[]).includes(stack)) {
        throw invalidOption(`${path}.stack`, stack === 'legacy-server-connect'
          ? `pins 'legacy-server-connect', which needs consent: add it to ${path}.fallback`
          : `pins '${stack}', which ${fallbackPath} does not allow (${JSON.stringify(fallback)})`)
      }
    }
    const clientCert = host.clientCert === undefined ? undefined : checkClientCert(`${path}.clientCert`, host.clientCert, connect)
    if (host.http1Only !== undefined && typeof host.http1Only !== 'boolean') {
      throw invalidOption(`${path}.http1Only`, `must be a boolean, got ${describe(host.http1Only)}`)
    }
    if (host.replayNonIdempotent !== undefined && typeof host.replayNonIdempotent !== 'boolean') {
      throw invalidOption(`${path}.replayNonIdempotent`, `must be a boolean, got ${describe(host.replayNonIdempotent)}`)
    }
    const proxy = host.proxy === undefined ? undefined : parseHostProxy(`${path}.proxy`, host.proxy)
    const fetchIntermediates = host.fetchIntermediates === undefined
      ? defaults.fetchIntermediates
      : checkFetchIntermediates(`${path}.fetchIntermediates`, host.fetchIntermediates, logger)
    const auth = host.auth === undefined ? undefined : resolveAuth(`${path}.auth`, host.auth)
    rules.push({
      pattern,
      value: {
        path,
        pattern,
        fallback: Object.freeze([...fallback]),
        fallbackPath,
        stack,
        clientCert,
        http1Only: host.http1Only === true || auth !== undefined,
        replayNonIdempotent: (host.replayNonIdempotent) ?? defaults.replayNonIdempotent,
        proxy,
        fetchIntermediates,
        uploadPriming: checkUploadPriming(`${path}.uploadPriming`, host.uploadPriming, defaults.uploadPriming),
        auth
      }
    })
  }
  return rules
}

function checkCache (value: unknown): PolicyCache | undefined {
  if (value === undefined) return undefined
  if (value === null || typeof value !== 'object') throw invalidOption('cache', `must be a policy cache, got ${describe(value)}`)
  const cache = value as Record<string, unknown>
  for (const method of ['get', 'set', 'delete', 'entries']) {
    if (typeof cache[method] !== 'function') throw invalidOption(`cache.${method}`, 'must be a function: a cache implements get, set, delete and entries')
  }
  for (const method of ['load', 'subscribe', 'close']) {
    if (cache[method] !== undefined && typeof cache[method] !== 'function') throw invalidOption(`cache.${method}`, 'must be a function when present')
  }
  const ttl = cache.ttl
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0) throw invalidOption('cache.ttl', `must be a positive number of milliseconds, got ${describe(ttl)}`)
  return value as PolicyCache
}

function checkLogger (value: unknown): Logger | undefined {
  if (value === undefined) return undefined
  if (value === null || typeof value !== 'object') throw invalidOption('logger', `must be a pino logger or an object with debug, info, warn and error methods, got ${describe(value)}`)
  const logger = value as Record<string, unknown>
  for (const method of ['debug', 'info', 'warn', 'error']) {
    if (typeof logger[method] !== 'function') throw invalidOption(`logger.${method}`, 'must be a function (a pino logger has it)')
  }
  if (logger.child !== undefined && typeof logger.child !== 'function') throw invalidOption('logger.child', 'must be a function when present')
  return value as Logger
}

function checkHooks (value: unknown): Hooks | undefined {
  if (value === undefined) return undefined
  if (!isPlainObject(value)) throw invalidOption('hooks', `must be an object, got ${describe(value)}`)
  for (const [key, hook] of Object.entries(value)) {
    if (!HOOK_KEYS.has(key)) throw invalidOption(`hooks.${key}`, `is not a hook (known: ${[...HOOK_KEYS].join(', ')})`)
    if (typeof hook !== 'function') throw invalidOption(`hooks.${key}`, `must be a function, got ${describe(hook)}`)
  }
  return value
}

/** Validates the constructor's options eagerly. Throws `TLS_FALLBACK_INVALID_OPTION` naming the option. */
export function resolveOptions (input: unknown): AgentConfig {
  if (input === undefined) input = {}
  if (!isPlainObject(input)) throw invalidOption('options', `must be an object, got ${kind(input)}`)
  const options = input as TlsFallbackAgentOptions & Record<string, unknown>
  for (const key of Object.keys(options)) {
    const unsupported = UNSUPPORTED[key]
    if (unsupported !== undefined) throw invalidOption(key, unsupported)
    if (!OWN_KEYS.has(key) && !UNDICI_KEYS.has(key)) throw invalidOption(key, 'is not an option of TlsFallbackAgent or of undici\'s Agent')
  }
  const connect = checkConnect(options.connect)
  if (options.replayNonIdempotent !== undefined && typeof options.replayNonIdempotent !== 'boolean') {
    throw invalidOption('replayNonIdempotent', `must be a boolean, got ${describe(options.replayNonIdempotent)}`)
  }
  const fallback = options.fallback === undefined ? DEFAULT_FALLBACK : checkFallback('fallback', options.fallback, false)
  const logger = checkLogger(options.logger)
  const defaults: HostRule = {
    path: 'fallback',
    pattern: undefined,
    fallback: Object.freeze([...fallback]),
    fallbackPath: 'fallback',
    stack: undefined,
    clientCert: undefined,
    http1Only: false,
    replayNonIdempotent: options.replayNonIdempotent === true,
    proxy: undefined,
    fetchIntermediates: checkFetchIntermediates('fetchIntermediates', options.fetchIntermediates, logger),
    uploadPriming: checkUploadPriming('uploadPriming', options.uploadPriming, DEFAULT_PRIMING_BODY_LIMIT),
    auth: undefined
  }
  const hostRules = checkHosts(options.hosts, defaults, connect, logger)
  const hosts = new HostMatcher(hostRules)
  const maxReplayBodySize = options.maxReplayBodySize === undefined
    ? DEFAULT_MAX_REPLAY_BODY_SIZE
    : checkNonNegativeInteger('maxReplayBodySize', options.maxReplayBodySize, 1024 * 1024 * 1024)
  const resetRetries = options.resetRetries === undefined ? 1 : checkNonNegativeInteger('resetRetries', options.resetRetries, 10)
  const coldStartTimeout = options.coldStartTimeout === undefined ? 10_000 : checkNonNegativeInteger('coldStartTimeout', options.coldStartTimeout, 600_000)
  if (options.allowH2 !== undefined && typeof options.allowH2 !== 'boolean') throw invalidOption('allowH2', `must be a boolean, got ${describe(options.allowH2)}`)
  if (options.connectTimeout !== undefined) checkNonNegativeInteger('connectTimeout', options.connectTimeout, 2_147_483_647)
  if (options.factory !== undefined && typeof options.factory !== 'function') throw invalidOption('factory', `must be a function, got ${describe(options.factory)}`)
  const undici: Record<string, unknown> = {}
  for (const key of UNDICI_KEYS) {
    if (options[key] !== undefined) undici[key] = options[key]
  }
  return {
    connect,
    defaults,
    hosts,
    cache: checkCache(options.cache),
    logger,
    hooks: checkHooks(options.hooks),
    maxReplayBodySize,
    resetRetries,
    coldStartTimeout,
    allowH2: options.allowH2 ?? true,
    undici,
    proxy: parseProxyChoice(options.proxy),
    hasAuth: hostRules.some((rule) => rule.value.auth !== undefined)
  }
}
