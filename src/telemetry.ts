import { channel } from 'node:diagnostics_channel'
import type { AttemptSummary } from './errors.ts'
import type { Evidence, FingerprintId } from './fingerprint.ts'
import type { StackName } from './stacks.ts'

/** `node:diagnostics_channel` names. Payloads are the `*Event` types below. */
export const CHANNELS = {
  attempt: 'undici-tls-fallback:attempt',
  diagnosis: 'undici-tls-fallback:diagnosis',
  fallback: 'undici-tls-fallback:fallback',
  requestStart: 'undici-tls-fallback:request:start',
  requestEnd: 'undici-tls-fallback:request:end',
  /** One fetch of a missing intermediate, or its read back from the policy store (`fetchIntermediates`): `IntermediateFetchEvent`. */
  intermediate: 'undici-tls-fallback:intermediate',
  /** One priming of a new connection before a large upload (`uploadPriming`): `PrimingEvent`. */
  priming: 'undici-tls-fallback:priming',
  /** One connection authenticated for `hosts[...].auth` (src/auth/pool.ts): `AuthHandshakeEvent`, never a token. */
  auth: 'undici-tls-fallback:auth',
  /** One proxy authentication handshake (`proxy.auth`) on a CONNECT tunnel: `ProxyAuthEvent`. */
  proxyAuth: 'undici-tls-fallback:proxy-auth'
} as const

/**
 * Published on `undici-tls-fallback:auth` once per connection handshake of a host with `auth`, when
 * it ends. Never a token or credential.
 */
export interface AuthHandshakeEvent {
  origin: string
  stack: string
  /** The configured scheme. */
  scheme: 'ntlm' | 'negotiate'
  /** What ran: `ntlm` (also NTLM under Negotiate) or `kerberos`. */
  mechanism: 'ntlm' | 'kerberos' | undefined
  /** Requests sent during the handshake. */
  legs: number
  /** `authenticated`; `rejected` (the server's last answer was a 401 or 403: its answer to the request goes to the caller); `failed` (a coded error). */
  outcome: 'authenticated' | 'rejected' | 'failed'
  /** The server proved its identity (Kerberos mutual authentication). */
  mutual: boolean
  /** The server's last status during the handshake. */
  status: number | undefined
  /** The error's code when `failed`. */
  code?: string | undefined
}

/**
 * Published on `undici-tls-fallback:proxy-auth` once per CONNECT tunnel whose proxy has `auth`, when
 * its handshake ends. Never a token, a user name or a password.
 */
export interface ProxyAuthEvent {
  /** The proxy's URL without credentials. */
  proxy: string
  /** Where the tunnel goes: `host:port`. */
  target: string
  /** The origin the tunnel is for, when known. */
  origin: string | undefined
  /** The configured scheme (`proxy.auth.scheme`). */
  scheme: 'ntlm' | 'negotiate'
  /** What ran: `kerberos`, or `ntlm` (also under `negotiate` with a user name and password when no ticket was available); undefined when no leg was made. */
  mechanism: 'ntlm' | 'kerberos' | undefined
  /** The `Proxy-Authorization` legs sent in this tunnel. */
  legs: number
  /** The 407s received in this tunnel. */
  challenges: number
  /** `authenticated`: the tunnel is up; `rejected`: the proxy refused the credentials; `failed`: no leg could be computed (no ticket, a malformed challenge, mutual authentication failed). */
  outcome: 'authenticated' | 'rejected' | 'failed'
  /** The proxy's last status, when it answered one. */
  statusCode: number | undefined
}

/**
 * One HTTPS request through the agent. Created at dispatch only while something listens to the
 * request channels, and then the same object on every event of that request (a key for a WeakMap).
 */
export interface RequestInfo {
  origin: string
  method: string
  /** The request path without its query string. */
  path: string
}

/** Why an attempt was made. */
export type AttemptReason =
  /** the first attempt of a request */
  | 'initial'
  /** a fingerprint matched and the request goes to the next stack */
  | 'fallback'
  /** a bare reset or close of an idempotent request: once more on the same stack */
  | 'retry'
  /** a learned policy was dropped (the stack it named failed to connect): back to the strict stack */
  | 'revalidate'
  /** a renegotiation buffer's 413: once more on a new connection whose priming renegotiated (`uploadPriming`) */
  | 'upload-resend'

/** Published on `undici-tls-fallback:attempt` before every attempt of every HTTPS request. */
export interface AttemptEvent {
  origin: string
  method: string
  /** The request path without its query string. */
  path: string
  stack: StackName
  http1Only: boolean
  /** 1 for the first attempt of the request. */
  attempt: number
  reason: AttemptReason
  /** Present (true) when the attempt goes on a connection primed for its path (`uploadPriming`). */
  primed?: true
  /** The request, when the request channels had subscribers at its dispatch. */
  request?: RequestInfo | undefined
}

/**
 * Published on `undici-tls-fallback:priming` once per new connection primed for an upload (not per
 * request), in the async context of the request that opened it.
 */
export interface PrimingEvent {
  origin: string
  stack: StackName
  /** The primed path (no query). */
  path: string
  /** `failed`: the priming request failed (`error` says how); the connect fails with it. */
  outcome: 'renegotiated' | 'not-renegotiated' | 'not-applicable' | 'failed'
  /** The status of the priming response, if one came. */
  status: number | undefined
  renegotiations: number
  /** Milliseconds from the HEAD to its response (or the failure). */
  durationMs: number
  /** Why it failed (code and message only). */
  error?: { code: string | undefined, message: string }
}

/** Published on `undici-tls-fallback:diagnosis` each time a failure matches a fingerprint. */
export interface DiagnosisEvent {
  origin: string
  method: string
  stack: StackName
  fingerprint: FingerprintId
  evidence: Evidence
  /** The error the attempt failed with (code and message only). */
  error: { code: string | undefined, message: string }
  /** The request, when the request channels had subscribers at its dispatch. */
  request?: RequestInfo | undefined
}

/** Published on `undici-tls-fallback:fallback` once per policy transition of an origin. */
export interface FallbackEvent {
  origin: string
  /** The stack the origin used before (`strict` when it had no policy). */
  from: StackName
  to: StackName
  fingerprint: FingerprintId
  evidence: Evidence
  http1Only: boolean
  /** When the new policy expires (ms since the epoch). */
  expiresAt: number
}

/**
 * Published on `undici-tls-fallback:request:start` when an HTTPS request is dispatched, synchronously,
 * in the caller's async context (where a tracer's active span is).
 */
export interface RequestStartEvent {
  request: RequestInfo
}

/** Published on `undici-tls-fallback:request:end` once per request that started, when its handler got its last callback. */
export interface RequestEndEvent {
  request: RequestInfo
  /** The stack of the last attempt. */
  stack: StackName
  http1Only: boolean
  /** How many attempts were sent (0 when the request ended before its first attempt). */
  attempts: number
  /** The attempts that failed before any response, in order: attempts 1 to `failures.length`. */
  failures: readonly AttemptSummary[]
  /** Whether the last attempt got a response. */
  responded: boolean
  /** How the request failed, if it did (code and message only). */
  error: { code: string | undefined, message: string } | undefined
}

/** Called with the same payloads as the channels. A hook that throws or rejects is logged and ignored. */
export interface Hooks {
  onAttempt?: (event: AttemptEvent) => unknown
  onDiagnosis?: (event: DiagnosisEvent) => unknown
  onFallback?: (event: FallbackEvent) => unknown
}

type LogFn = (obj: object, msg?: string) => void
/** The part of a pino logger this library uses. A pino instance fits; so does anything with these methods. */
export interface Logger {
  debug: LogFn
  info: LogFn
  warn: LogFn
  error: LogFn
  child?: (bindings: Record<string, unknown>) => Logger
  /** pino's: lets the library skip building lines that would not be written. */
  isLevelEnabled?: (level: string) => boolean
}

const attemptChannel = channel(CHANNELS.attempt)
const diagnosisChannel = channel(CHANNELS.diagnosis)
const fallbackChannel = channel(CHANNELS.fallback)
const requestStartChannel = channel(CHANNELS.requestStart)
const requestEndChannel = channel(CHANNELS.requestEnd)
const primingChannel = channel(CHANNELS.priming)
const authChannel = channel(CHANNELS.auth)
/** undici's own: `@opentelemetry/instrumentation-undici` starts its client spans there. */
const undiciRequestCreate = channel('undici:request:create')

function errorSummary (error: unknown): { type: string, code: string | undefined, message: string } {
  const e = error as { name?: string, code?: string, message?: string } | undefined
  return { type: e?.name ?? typeof error, code: e?.code, message: String(e?.message ?? error) }
}

/**
 * Telemetry for one agent: one child logger, the three channels and the hooks. Nothing here ever
 * sees headers or TLS options, so keys, passphrases, cookies and authorization values cannot leak
 * through it.
 */
export class Telemetry {
  readonly #log: Logger | undefined
  readonly #hooks: Hooks

  constructor (logger: Logger | undefined, hooks: Hooks | undefined) {
    this.#log = logger === undefined ? undefined : (logger.child?.({ lib: 'undici-tls-fallback' }) ?? logger)
    this.#hooks = hooks ?? {}
  }

  /** Whether anything listens to attempts: callers skip building the event otherwise (the fast path). */
  get wantsAttempts (): boolean {
    return attemptChannel.hasSubscribers || this.#hooks.onAttempt !== undefined || this.#debugEnabled()
  }

  /** Whether anything listens to the request channels: requests build a `RequestInfo` only then. */
  get wantsRequests (): boolean {
    return requestStartChannel.hasSubscribers || requestEndChannel.hasSubscribers
  }

  /**
   * Whether requests should send every attempt in their caller's async context (a fallback attempt
   * otherwise starts from a socket's error callback): wanted by tracers that read the active span
   * when an attempt is created, ours and `@opentelemetry/instrumentation-undici`.
   */
  get wantsCallerContext (): boolean {
    return requestStartChannel.hasSubscribers || undiciRequestCreate.hasSubscribers
  }

  requestStart (event: RequestStartEvent): void {
    if (requestStartChannel.hasSubscribers) requestStartChannel.publish(event)
  }

  requestEnd (event: RequestEndEvent): void {
    if (requestEndChannel.hasSubscribers) requestEndChannel.publish(event)
  }

  attempt (event: AttemptEvent): void {
    if (attemptChannel.hasSubscribers) attemptChannel.publish(event)
    this.#hook('onAttempt', event)
    if (this.#debugEnabled()) this.#log?.debug({ ...event }, 'attempt')
  }

  /** A connection primed for an upload: the channel, and a pino debug line. */
  priming (event: PrimingEvent): void {
    if (primingChannel.hasSubscribers) primingChannel.publish(event)
    if (this.#log === undefined) return
    const { error, ...rest } = event
    this.#log.debug(error === undefined ? rest : { ...rest, err: { type: 'Error', code: error.code, message: error.message } },
      `${event.origin}: connection primed for an upload on the ${event.stack} stack: ${event.outcome}`)
  }

  /** A connection handshake of Windows authentication: the scheme, legs and outcome, never a token. */
  authHandshake (event: AuthHandshakeEvent): void {
    if (authChannel.hasSubscribers) authChannel.publish(event)
    if (event.outcome === 'authenticated') this.debug({ ...event }, `${event.origin}: connection authenticated (${event.mechanism ?? event.scheme}, ${event.legs} legs)`)
    else this.warn({ ...event }, `${event.origin}: authentication ${event.outcome} (${event.mechanism ?? event.scheme}, ${event.legs} legs${event.code === undefined ? '' : `, ${event.code}`})`)
  }

  #debugEnabled (): boolean {
    const log = this.#log
    if (log === undefined) return false
    // pino answers cheaply; other loggers get every line.
    return typeof log.isLevelEnabled === 'function' ? log.isLevelEnabled('debug') : true
  }

  diagnosis (event: DiagnosisEvent): void {
    if (diagnosisChannel.hasSubscribers) diagnosisChannel.publish(event)
    this.#hook('onDiagnosis', event)
    if (this.#log === undefined) return
    // The failed attempt's error goes under `err`, pino's convention (the event keeps its `error`).
    const { error, ...rest } = event
    this.#log.info({ ...rest, err: { type: 'Error', code: error.code, message: error.message } }, `${event.origin}: ${event.fingerprint} on the ${event.stack} stack`)
  }

  /** A policy transition. Never silent: without a logger it becomes a process warning. */
  fallback (event: FallbackEvent): void {
    if (fallbackChannel.hasSubscribers) fallbackChannel.publish(event)
    this.#hook('onFallback', event)
    const what = event.http1Only && event.from === event.to
      ? `now uses HTTP/1.1 on the ${event.to} stack`
      : `moved from the ${event.from} stack to the ${event.to} stack${event.http1Only ? ' over HTTP/1.1' : ''}`
    this.notice({ ...event }, `${event.origin} ${what} (${event.fingerprint}: ${event.evidence.summary})`, 'TLS_FALLBACK_TRANSITION')
  }

  /** Something a person must see: a warn line with a logger, a process warning (with `code`) without one. */
  notice (obj: object, message: string, code: string): void {
    if (this.#log !== undefined) this.#log.warn(obj, message)
    else process.emitWarning(message, { type: 'TlsFallbackWarning', code })
  }

  debug (obj: object, message: string): void {
    this.#log?.debug(obj, message)
  }

  info (obj: object, message: string): void {
    this.#log?.info(obj, message)
  }

  warn (obj: object, message: string): void {
    this.#log?.warn(obj, message)
  }

  /** Logs an error object under `err`, with only its type, code and message. */
  errorField (error: unknown): { err: ReturnType<typeof errorSummary> } {
    return { err: errorSummary(error) }
  }

  #hook<K extends keyof Hooks> (name: K, event: Parameters<NonNullable<Hooks[K]>>[0]): void {
    const hook = this.#hooks[name] as ((e: typeof event) => unknown) | undefined
    if (hook === undefined) return
    try {
      const result = hook(event)
      if (result !== null && typeof result === 'object' && typeof (result as Promise<unknown>).then === 'function') {
        (result as Promise<unknown>).then(undefined, (error: unknown) => this.#hookFailed(name, error))
      }
    } catch (error) {
      this.#hookFailed(name, error)
    }
  }

  #hookFailed (name: string, error: unknown): void {
    this.notice({ hook: name, ...this.errorField(error) },
      `undici-tls-fallback: the ${name} hook threw (${String((error as Error)?.message ?? error)}); the request goes on`, 'TLS_FALLBACK_HOOK_ERROR')
  }
}
