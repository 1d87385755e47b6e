import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { createRequire } from 'node:module'
import {
  context, metrics, trace, ValueType,
  type Attributes, type BatchObservableResult, type Counter, type Histogram, type Meter, type MeterProvider,
  type ObservableGauge, type Span, type Tracer, type TracerProvider
} from '@opentelemetry/api'
import { invalidOption } from '../errors.ts'
import type { Evidence } from '../fingerprint.ts'
import type { PolicyEntry } from '../policy/entry.ts'
import { STACKS, type StackName } from '../stacks.ts'
import {
  CHANNELS, type AttemptEvent, type AttemptReason, type DiagnosisEvent, type FallbackEvent, type RequestEndEvent,
  type RequestInfo, type RequestStartEvent
} from '../telemetry.ts'
import { errorType, exactServer, serverOf } from './attributes.ts'
import { ConnectionEvents } from './connection-events.ts'
import * as N from './semconv.ts'

/** Where the policies gauge reads learned policies: a `TlsFallbackAgent` (its `policies()`), or a `PolicyCache` (its `entries()`). */
export type PolicySource = { policies: () => PolicyEntry[] } | { entries: () => PolicyEntry[] }

export interface TlsFallbackInstrumentationConfig {
  /** Whether the instrumentation records. Default: `true` (it enables itself at construction). */
  enabled?: boolean
  /** Agents or policy stores whose learned policies `tls_fallback.policies` counts. Default: none (the gauge reports nothing). */
  agents?: readonly PolicySource[]
  /**
   * How many distinct origins get their own `server.address`/`server.port` on metrics; the others
   * are counted under `server.address="_OTHER"` without a port. `0` leaves both attributes out.
   * Default: 100.
   */
  maxServers?: number
}

interface AttemptSeen {
  stack: StackName
  reason: AttemptReason
  at: number
}

/** What the instrumentation keeps about a request from its start to its end. */
interface Tracked {
  /** The caller's active span at dispatch, if it records. */
  span: Span | undefined
  attempts: AttemptSeen[]
}

const NAME = 'undici-tls-fallback'
const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version
const KNOWN = ['enabled', 'agents', 'maxServers']
const DEFAULT_MAX_SERVERS = 100
/** The HTTP semantic conventions' duration buckets, in seconds. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]

function describe (value: unknown): string {
  return Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value
}

/**
 * An OpenTelemetry instrumentation for `TlsFallbackAgent`: it reads the library's diagnostics
 * channels, so it needs no patching and sees every agent in the process. Metrics go to the meter
 * provider (the global one unless `setMeterProvider` gives another); span events and attributes go
 * to the caller's active span at dispatch. It creates no spans of its own.
 *
 * Works with `registerInstrumentations()` from `@opentelemetry/instrumentation` and on its own.
 */
export class TlsFallbackInstrumentation {
  readonly instrumentationName = NAME
  readonly instrumentationVersion = VERSION
  #config: TlsFallbackInstrumentationConfig & { enabled: boolean }
  #maxServers = DEFAULT_MAX_SERVERS
  #enabled = false
  #meter!: Meter
  #tracer!: Tracer
  #attemptsCounter!: Counter
  #diagnosesCounter!: Counter
  #transitionsCounter!: Counter
  #fallbackDuration!: Histogram
  #policiesGauge: ObservableGauge | undefined
  #requests = new WeakMap<RequestInfo, Tracked>()
  /** The request whose diagnosis produced an evidence object: a transition carries the same object. */
  #diagnosedBy = new WeakMap<Evidence, RequestInfo>()
  /** `server.*` attributes by origin, at most `maxServers` of them. */
  readonly #servers = new Map<string, Attributes>()
  /** Span events and counters of the work on a new connection (priming, AIA, auth, proxy auth). */
  readonly #connections = new ConnectionEvents((origin) => this.#server(origin))
  readonly #subscriptions: Array<[string, (message: unknown) => void]> = [
    [CHANNELS.requestStart, (m) => { this.#onRequestStart(m as RequestStartEvent) }],
    [CHANNELS.attempt, (m) => { this.#onAttempt(m as AttemptEvent) }],
    [CHANNELS.diagnosis, (m) => { this.#onDiagnosis(m as DiagnosisEvent) }],
    [CHANNELS.fallback, (m) => { this.#onFallback(m as FallbackEvent) }],
    [CHANNELS.requestEnd, (m) => { this.#onRequestEnd(m as RequestEndEvent) }],
    ...this.#connections.subscriptions
  ]

  readonly #observePolicies = (result: BatchObservableResult): void => {
    const gauge = this.#policiesGauge
    if (!this.#enabled || gauge === undefined) return
    const sources = this.#config.agents ?? []
    if (sources.length === 0) return
    // One count per origin, however many agents share a store.
    const byOrigin = new Map<string, PolicyEntry>()
    const now = Date.now()
    for (const source of sources) {
      let entries: PolicyEntry[]
      try {
        entries = 'policies' in source ? source.policies() : source.entries()
      } catch {
        continue
      }
      for (const entry of entries) {
        if (entry.expiresAt <= now) continue
        const known = byOrigin.get(entry.origin)
        if (known === undefined || known.learnedAt < entry.learnedAt) byOrigin.set(entry.origin, entry)
      }
    }
    const counts = new Map<string, number>()
    for (const entry of byOrigin.values()) {
      const key = `${entry.stack} ${entry.http1Only === true}`
      counts.set(key, (counts.get(key) ?? 0) + 1)
    }
    for (const stack of STACKS) {
      for (const http1Only of [false, true]) {
        result.observe(gauge, counts.get(`${stack} ${http1Only}`) ?? 0, { [N.ATTR_STACK]: stack, [N.ATTR_HTTP1_ONLY]: http1Only })
      }
    }
  }

  constructor (config: TlsFallbackInstrumentationConfig = {}) {
    this.#config = this.#validate(config, config?.enabled !== false)
    this.#useMeter(metrics.getMeterProvider())
    this.#tracer = trace.getTracer(NAME, VERSION)
    if (this.#config.enabled) this.enable()
  }

  /** Starts recording (idempotent). */
  enable (): void {
    this.#config.enabled = true
    if (this.#enabled) return
    this.#enabled = true
    for (const [name, listener] of this.#subscriptions) subscribe(name, listener)
  }

  /** Stops recording (idempotent): no metric, span event or gauge value after this, until `enable()`. */
  disable (): void {
    this.#config.enabled = false
    if (!this.#enabled) return
    this.#enabled = false
    for (const [name, listener] of this.#subscriptions) unsubscribe(name, listener)
    this.#requests = new WeakMap()
    this.#diagnosedBy = new WeakMap()
  }

  setMeterProvider (meterProvider: MeterProvider): void {
    this.#useMeter(meterProvider)
  }

  /** Kept for the `Instrumentation` interface: span events go to the caller's spans, whichever provider made them. */
  setTracerProvider (tracerProvider: TracerProvider): void {
    this.#tracer = tracerProvider.getTracer(NAME, VERSION)
  }

  /** The tracer this instrumentation would start spans with (it starts none today). */
  get tracer (): Tracer {
    return this.#tracer
  }

  /** Replaces the options; `enabled` here does not enable or disable (call `enable()`/`disable()`). */
  setConfig (config: TlsFallbackInstrumentationConfig = {}): void {
    this.#config = this.#validate(config, this.#enabled)
  }

  getConfig (): TlsFallbackInstrumentationConfig {
    return { ...this.#config }
  }

  #validate (config: TlsFallbackInstrumentationConfig, enabled: boolean): TlsFallbackInstrumentationConfig & { enabled: boolean } {
    if (config === null || typeof config !== 'object' || Array.isArray(config)) {
      throw invalidOption('TlsFallbackInstrumentation config', `must be an object, got ${describe(config)}`)
    }
    for (const key of Object.keys(config)) {
      if (!KNOWN.includes(key)) throw invalidOption(`TlsFallbackInstrumentation.${key}`, `is not an option (known: ${KNOWN.join(', ')})`)
    }
    if (config.enabled !== undefined && typeof config.enabled !== 'boolean') {
      throw invalidOption('TlsFallbackInstrumentation.enabled', `must be a boolean, got ${describe(config.enabled)}`)
    }
    const maxServers = config.maxServers ?? DEFAULT_MAX_SERVERS
    if (typeof maxServers !== 'number' || !Number.isInteger(maxServers) || maxServers < 0 || maxServers > 100_000) {
      throw invalidOption('TlsFallbackInstrumentation.maxServers', `must be a whole number from 0 to 100000, got ${typeof maxServers === 'number' ? maxServers : describe(maxServers)}`)
    }
    if (config.agents !== undefined) {
      if (!Array.isArray(config.agents)) throw invalidOption('TlsFallbackInstrumentation.agents', `must be an array of agents or policy stores, got ${describe(config.agents)}`)
      config.agents.forEach((source: unknown, i) => {
        const s = source as Record<string, unknown> | null
        if (s === null || typeof s !== 'object' || (typeof s.policies !== 'function' && typeof s.entries !== 'function')) {
          throw invalidOption(`TlsFallbackInstrumentation.agents[${i}]`, `must be a TlsFallbackAgent or a PolicyCache, got ${describe(source)}`)
        }
      })
    }
    if (maxServers !== this.#maxServers) this.#servers.clear()
    this.#maxServers = maxServers
    return { ...config, ...(config.agents === undefined ? {} : { agents: [...(config.agents as readonly PolicySource[])] }), enabled }
  }

  #useMeter (provider: MeterProvider): void {
    const meter = provider.getMeter(NAME, VERSION)
    this.#meter?.removeBatchObservableCallback(this.#observePolicies, this.#policiesGauge === undefined ? [] : [this.#policiesGauge])
    this.#meter = meter
    this.#attemptsCounter = meter.createCounter(N.METRIC_ATTEMPTS, {
      description: 'Attempts of HTTPS requests through TlsFallbackAgent, by stack, reason and outcome.',
      unit: '{attempt}',
      valueType: ValueType.INT
    })
    this.#diagnosesCounter = meter.createCounter(N.METRIC_DIAGNOSES, {
      description: 'Failures that matched a fingerprint, by fingerprint.',
      unit: '{diagnosis}',
      valueType: ValueType.INT
    })
    this.#transitionsCounter = meter.createCounter(N.METRIC_TRANSITIONS, {
      description: 'Policy transitions of an origin, by from, to and fingerprint.',
      unit: '{transition}',
      valueType: ValueType.INT
    })
    this.#fallbackDuration = meter.createHistogram(N.METRIC_FALLBACK_DURATION, {
      description: 'The time a fallback added to the request that needed it: from its first attempt to its last.',
      unit: 's',
      valueType: ValueType.DOUBLE,
      advice: { explicitBucketBoundaries: DURATION_BUCKETS }
    })
    this.#connections.useMeter(meter)
    this.#policiesGauge = meter.createObservableGauge(N.METRIC_POLICIES, {
      description: 'Learned policies of the agents given in the config, by stack.',
      unit: '{policy}',
      valueType: ValueType.INT
    })
    meter.addBatchObservableCallback(this.#observePolicies, [this.#policiesGauge])
  }

  /** `server.address` and `server.port` of an origin, bounded by `maxServers`. */
  #server (origin: string): Attributes {
    const known = this.#servers.get(origin)
    if (known !== undefined) return known
    if (this.#maxServers === 0) return {}
    if (this.#servers.size >= this.#maxServers) return { [N.ATTR_SERVER_ADDRESS]: N.OTHER }
    const server = serverOf(origin)
    const attributes: Attributes = server === undefined ? { [N.ATTR_SERVER_ADDRESS]: N.OTHER } : { [N.ATTR_SERVER_ADDRESS]: server.address, [N.ATTR_SERVER_PORT]: server.port }
    this.#servers.set(origin, attributes)
    return attributes
  }

  #onRequestStart (event: RequestStartEvent): void {
    const span = trace.getSpan(context.active())
    this.#requests.set(event.request, { span: span?.isRecording() === true ? span : undefined, attempts: [] })
  }

  #onAttempt (event: AttemptEvent): void {
    if (event.request === undefined) return
    this.#requests.get(event.request)?.attempts.push({ stack: event.stack, reason: event.reason, at: performance.now() })
  }

  #onDiagnosis (event: DiagnosisEvent): void {
    const server = this.#server(event.origin)
    this.#diagnosesCounter.add(1, {
      ...server,
      [N.ATTR_FINGERPRINT]: event.fingerprint,
      [N.ATTR_STACK]: event.stack,
      [N.ATTR_VERIFIED]: event.evidence.verified
    })
    if (event.request === undefined) return
    this.#diagnosedBy.set(event.evidence, event.request)
    const span = this.#requests.get(event.request)?.span
    span?.addEvent(N.EVENT_DIAGNOSIS, {
      ...exactServer(event.origin),
      [N.ATTR_FINGERPRINT]: event.fingerprint,
      [N.ATTR_STACK]: event.stack,
      [N.ATTR_VERIFIED]: event.evidence.verified,
      [N.ATTR_EVIDENCE]: event.evidence.summary,
      [N.ATTR_ERROR_TYPE]: errorType(event.error.code)
    })
  }

  #onFallback (event: FallbackEvent): void {
    this.#transitionsCounter.add(1, {
      ...this.#server(event.origin),
      [N.ATTR_FROM]: event.from,
      [N.ATTR_TO]: event.to,
      [N.ATTR_FINGERPRINT]: event.fingerprint,
      [N.ATTR_HTTP1_ONLY]: event.http1Only
    })
    const request = this.#diagnosedBy.get(event.evidence)
    const span = request === undefined ? undefined : this.#requests.get(request)?.span
    span?.addEvent(N.EVENT_TRANSITION, {
      ...exactServer(event.origin),
      [N.ATTR_FROM]: event.from,
      [N.ATTR_TO]: event.to,
      [N.ATTR_FINGERPRINT]: event.fingerprint,
      [N.ATTR_VERIFIED]: event.evidence.verified,
      [N.ATTR_HTTP1_ONLY]: event.http1Only
    })
  }

  #onRequestEnd (event: RequestEndEvent): void {
    const tracked = this.#requests.get(event.request)
    if (tracked === undefined) return
    this.#requests.delete(event.request)
    const server = this.#server(event.request.origin)
    const seen = tracked.attempts
    const count = Math.min(seen.length, event.attempts)
    for (let i = 0; i < count; i++) {
      const attempt = seen[i] as AttemptSeen
      const failure = event.failures[i]
      const last = i === event.attempts - 1
      const ok = failure === undefined && last && event.responded
      const attributes: Attributes = { ...server, [N.ATTR_STACK]: attempt.stack, [N.ATTR_REASON]: attempt.reason, [N.ATTR_OUTCOME]: ok ? 'success' : 'failure' }
      if (!ok) attributes[N.ATTR_ERROR_TYPE] = errorType(failure?.code ?? event.error?.code)
      this.#attemptsCounter.add(1, attributes)
    }
    const first = seen[0]
    const final = seen[count - 1]
    if (first !== undefined && final !== undefined && seen.some((a) => a.reason === 'fallback')) {
      this.#fallbackDuration.record((final.at - first.at) / 1000, {
        ...server,
        [N.ATTR_STACK]: event.stack,
        [N.ATTR_OUTCOME]: event.responded ? 'success' : 'failure'
      })
    }
    const span = tracked.span
    if (span !== undefined && event.attempts > 0) {
      span.setAttribute(N.ATTR_STACK, event.stack)
      span.setAttribute(N.ATTR_HTTP1_ONLY, event.http1Only)
      span.setAttribute(N.ATTR_ATTEMPTS, event.attempts)
    }
  }
}
