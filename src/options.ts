import { constants } from 'node:crypto'
import tls, { type ConnectionOptions } from 'node:tls'
import type { Agent } from 'undici'
import { invalidOption } from './errors.ts'
import { HostMatcher, parseHostPattern, type HostPattern } from './policy/hosts.ts'
import type { PolicyCache } from './policy/cache.ts'
import { describe } from './policy/memory-cache.ts'
import { DEFAULT_MAX_REPLAY_BODY_SIZE } from './replay.ts'
import {
  DEFAULT_FALLBACK, LADDER_STACKS, STACKS, stackTlsOptions, tlsVersionRank,
  type ClientCertificate, type FallbackStack, type StackName
} from './stacks.ts'
import type { Hooks, Logger } from './telemetry.ts'

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
  'maxRequestsPerClient' | 'initialWindowSize' | 'connectionWindowSize' | 'pingInterval' | 'webSocket' | 'eventSource'>

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
}

const UNDICI_KEYS = new Set<string>([
  'connections', 'pipelining', 'allowH2', 'connectTimeout', 'headersTimeout', 'bodyTimeout',
  'keepAliveTimeout', 'keepAliveMaxTimeout', 'keepAliveTimeoutThreshold', 'maxHeaderSize',
  'maxResponseSize', 'localAddress', 'maxCachedSessions', 'strictContentLength', 'autoSelectFamily',
  'autoSelectFamilyAttemptTimeout', 'maxConcurrentStreams', 'clientTtl', 'maxOrigins',
  'maxRequestsPerClient', 'initialWindowSize', 'connectionWindowSize', 'pingInterval', 'webSocket', 'eventSource'
])
const OWN_KEYS = new Set<string>([
  'connect', 'fallback', 'hosts', 'cache', 'logger', 'hooks', 'maxReplayBodySize', 'resetRetries', 'coldStartTimeout'
])
const UNSUPPORTED: Record<string, string> = {
  factory: 'is not supported: the agent creates one undici Agent per TLS stack itself',
  socketPath: 'is not supported: TLS fallback needs TCP connections',
  interceptors: 'is not an undici 8 option: use agent.compose(...)'
}
const HOST_KEYS = new Set(['fallback', 'stack', 'clientCert', 'http1Only'])
const CERT_KEYS = new Set(['cert', 'key', 'pfx', 'passphrase'])
const HOOK_KEYS = new Set(['onAttempt', 'onDiagnosis', 'onFallback'])
const TLS_VERSION_NAMES = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']

function isPlainObject (value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

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

function checkClientCert (path: string, value: unknown, connect: ConnectOptions): ClientCertificate {
  if (!isPlainObject(value)) throw invalidOption(path, `must be an object with cert and key, or pfx, got ${describe(value)}`)
  for (const key of Object.keys(value)) {
    if (!CERT_KEYS.has(key)) throw invalidOption(`${path}.${key}`, 'is not an option (known: cert, key, pfx, passphrase)')
  }
  const { cert, key, pfx, passphrase } = value
  if (pfx !== undefined) {
    if (cert !== undefined || key !== undefined) throw invalidOption(path, 'must have either pfx, or cert and key, not both')
    if (!isKeyMaterial(pfx)) throw invalidOption(`${path}.pfx`, 'must be a Buffer or a string')
  } else {
    if (cert === undefined) throw invalidOption(`${path}.cert`, 'is missing: a client certificate needs cert and key (or pfx)')
    if (key === undefined) throw invalidOption(`${path}.key`, 'is missing: a client certificate needs cert and key (or pfx)')
    if (!isKeyMaterial(cert)) throw invalidOption(`${path}.cert`, 'must be a PEM string or Buffer')
    if (!isKeyMaterial(key)) throw invalidOption(`${path}.key`, 'must be a PEM string or Buffer')
  }
  if (passphrase !== undefined && typeof passphrase !== 'string') throw invalidOption(`${path}.passphrase`, 'must be a string')
  try {
    // Loads the certificate and key once, now: a wrong passphrase or a key that does not match
    // fails at construction instead of on the first request.
    tls.createSecureContext({ ...pickTls(connect), ...(value as ClientCertificate) })
  } catch (error) {
    const code = (error as { code?: string }).code
    throw invalidOption(path, `cannot be loaded${code === undefined ? '' : ` (${code})`}: check the certificate, the key and the passphrase`, error)
  }
  return value as ClientCertificate
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
  if (!isPlainObject(value)) throw invalidOption('connect', `must be an object of TLS options, got ${describe(value)}`)
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
    if (v !== undefined && !TLS_VERSION_NAMES.includes(v as string)) {
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
  if ('secureProtocol' in connect) {
    throw invalidOption('connect.secureProtocol', 'is not supported: each stack sets the protocol versions; use connect.minVersion and connect.maxVersion')
  }
  try {
    // Loads the CA, ciphers, curves and any certificate now, so that a bad one fails here, not on the first request.
    tls.createSecureContext(stackTlsOptions('strict', connect, undefined))
  } catch (error) {
    const code = (error as { code?: string }).code
    throw invalidOption('connect', `has TLS options that Node refuses${code === undefined ? '' : ` (${code})`}: ${(error as Error).message}`, error)
  }
  return connect
}

function checkHosts (value: unknown, defaults: HostRule, connect: ConnectOptions): Array<{ pattern: HostPattern, value: HostRule }> {
  if (value === undefined) return []
  if (!isPlainObject(value)) throw invalidOption('hosts', `must be an object keyed by host pattern, got ${describe(value)}`)
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
    if (!isPlainObject(host)) throw invalidOption(path, `must be an object, got ${describe(host)}`)
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
    rules.push({
      pattern,
      value: { path, pattern, fallback: Object.freeze([...fallback]), fallbackPath, stack, clientCert, http1Only: host.http1Only === true }
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
  return value as Hooks
}

/** Validates the constructor's options eagerly. Throws `TLS_FALLBACK_INVALID_OPTION` naming the option. */
export function resolveOptions (input: unknown): AgentConfig {
  if (input === undefined) input = {}
  if (!isPlainObject(input)) throw invalidOption('options', `must be an object, got ${describe(input)}`)
  const options = input as TlsFallbackAgentOptions & Record<string, unknown>
  for (const key of Object.keys(options)) {
    const unsupported = UNSUPPORTED[key]
    if (unsupported !== undefined) throw invalidOption(key, unsupported)
    if (!OWN_KEYS.has(key) && !UNDICI_KEYS.has(key)) throw invalidOption(key, 'is not an option of TlsFallbackAgent or of undici\'s Agent')
  }
  const connect = checkConnect(options.connect)
  const fallback = options.fallback === undefined ? DEFAULT_FALLBACK : checkFallback('fallback', options.fallback, false)
  const defaults: HostRule = {
    path: 'fallback',
    pattern: undefined,
    fallback: Object.freeze([...fallback]),
    fallbackPath: 'fallback',
    stack: undefined,
    clientCert: undefined,
    http1Only: false
  }
  const hosts = new HostMatcher(checkHosts(options.hosts, defaults, connect))
  const maxReplayBodySize = options.maxReplayBodySize === undefined
    ? DEFAULT_MAX_REPLAY_BODY_SIZE
    : checkNonNegativeInteger('maxReplayBodySize', options.maxReplayBodySize, 1024 * 1024 * 1024)
  const resetRetries = options.resetRetries === undefined ? 1 : checkNonNegativeInteger('resetRetries', options.resetRetries, 10)
  const coldStartTimeout = options.coldStartTimeout === undefined ? 10_000 : checkNonNegativeInteger('coldStartTimeout', options.coldStartTimeout, 600_000)
  if (options.allowH2 !== undefined && typeof options.allowH2 !== 'boolean') throw invalidOption('allowH2', `must be a boolean, got ${describe(options.allowH2)}`)
  if (options.connectTimeout !== undefined) checkNonNegativeInteger('connectTimeout', options.connectTimeout, 2_147_483_647)
  const undici: Record<string, unknown> = {}
  for (const key of UNDICI_KEYS) {
    if (options[key] !== undefined) undici[key] = options[key]
  }
  return {
    connect,
    defaults,
    hosts,
    cache: checkCache(options.cache),
    logger: checkLogger(options.logger),
    hooks: checkHooks(options.hooks),
    maxReplayBodySize,
    resetRetries,
    coldStartTimeout,
    allowH2: options.allowH2 ?? true,
    undici: undici as UndiciAgentOptions
  }
}
