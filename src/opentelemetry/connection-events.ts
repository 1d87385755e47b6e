import { context, trace, ValueType, type Attributes, type Counter, type Meter } from '@opentelemetry/api'
import type { AuthHandshakeEvent } from '../telemetry.ts'
import type { IntermediateFetchEvent } from '../certs/aia.ts'
import { CHANNELS, type PrimingEvent, type ProxyAuthEvent } from '../telemetry.ts'
import { errorType, exactServer, intCounter } from './attributes.ts'
import * as N from './semconv.ts'

/**
 * What the instrumentation records of the work done on a new connection before a request goes on it
 * (priming, a missing intermediate's fetch, Windows and proxy authentication). Each runs in the async
 * context of the request that opened the connection, so its span event goes to the active span there
 * (the caller's); the counters are the instrumentation's (src/opentelemetry/instrumentation.ts).
 */
export class ConnectionEvents {
  readonly #server: (origin: string) => Attributes
  #authCounter!: Counter
  #proxyAuthHandshakes!: Counter
  #proxyAuthLegs!: Counter
  /** The channels these events come on, with their listeners (the instrumentation subscribes them). */
  readonly subscriptions: ReadonlyArray<[string, (message: unknown) => void]> = [
    [CHANNELS.priming, (m) => { this.onPriming(m as PrimingEvent) }],
    [CHANNELS.intermediate, (m) => { this.onIntermediate(m as IntermediateFetchEvent) }],
    [CHANNELS.auth, (m) => { this.onAuth(m as AuthHandshakeEvent) }],
    [CHANNELS.proxyAuth, (m) => { this.onProxyAuth(m as ProxyAuthEvent) }]
  ]

  /** `server` gives the bounded `server.*` attributes of an origin for metrics. */
  constructor (server: (origin: string) => Attributes) {
    this.#server = server
  }

  /** Creates the counters on this meter (again on each new meter provider). */
  useMeter (meter: Meter): void {
    this.#authCounter = meter.createCounter(N.METRIC_AUTH_HANDSHAKES, {
      description: 'Connection handshakes of Windows authentication (hosts[...].auth), by scheme, mechanism and outcome.',
      unit: '{handshake}',
      valueType: ValueType.INT
    })
    this.#proxyAuthHandshakes = intCounter(meter, N.METRIC_PROXY_AUTH_HANDSHAKES, '{handshake}',
      'Proxy authentication handshakes (proxy.auth) on CONNECT tunnels, by scheme, mechanism and outcome.')
    this.#proxyAuthLegs = intCounter(meter, N.METRIC_PROXY_AUTH_LEGS, '{leg}',
      'Proxy-Authorization legs sent in proxy authentication handshakes, by scheme, mechanism and outcome.')
  }

  /** Published in the async context of the request that opened the connection: its active span gets the event. */
  onPriming (event: PrimingEvent): void {
    const span = trace.getSpan(context.active())
    if (span?.isRecording() !== true) return
    span.addEvent(N.EVENT_PRIMING, {
      ...exactServer(event.origin),
      [N.ATTR_STACK]: event.stack,
      [N.ATTR_PRIMING_OUTCOME]: event.outcome,
      ...(event.status === undefined ? {} : { [N.ATTR_STATUS_CODE]: event.status }),
      ...(event.error === undefined ? {} : { [N.ATTR_ERROR_TYPE]: errorType(event.error.code) })
    })
  }

  /**
   * Proxy authentication (one per CONNECT tunnel): the scheme, what ran and the outcome, counted;
   * the span of the request that opened the tunnel gets an event. Never a credential or a token.
   */
  onProxyAuth (event: ProxyAuthEvent): void {
    const attributes: Attributes = {
      [N.ATTR_AUTH_SCHEME]: event.scheme,
      [N.ATTR_AUTH_MECHANISM]: event.mechanism ?? N.OTHER,
      [N.ATTR_AUTH_OUTCOME]: event.outcome
    }
    this.#proxyAuthHandshakes.add(1, attributes)
    this.#proxyAuthLegs.add(event.legs, attributes)
    const span = trace.getSpan(context.active())
    if (span?.isRecording() === true) span.addEvent(N.EVENT_PROXY_AUTH, { ...attributes, [N.ATTR_AUTH_LEGS]: event.legs })
  }

  /** A connection handshake runs in the async context of the request that opened the connection: its span gets the event. */
  onAuth (event: AuthHandshakeEvent): void {
    const attributes: Attributes = {
      [N.ATTR_AUTH_SCHEME]: event.scheme,
      [N.ATTR_AUTH_MECHANISM]: event.mechanism ?? event.scheme,
      [N.ATTR_AUTH_OUTCOME]: event.outcome
    }
    this.#authCounter.add(1, { ...this.#server(event.origin), ...attributes })
    const span = trace.getSpan(context.active())
    if (span?.isRecording() === true) {
      span.addEvent(N.EVENT_AUTH, { ...exactServer(event.origin), ...attributes, [N.ATTR_AUTH_LEGS]: event.legs, [N.ATTR_STACK]: event.stack })
    }
  }

  /**
   * A fetch of a missing intermediate runs inside the connect of the request that needed it, in that
   * request's async context: its event goes to the active span there (the caller's). The AIA host
   * and port as `server.*` (the server of that fetch), its size, its outcome; never its path or query.
   */
  onIntermediate (event: IntermediateFetchEvent): void {
    const span = trace.getSpan(context.active())
    if (span?.isRecording() !== true) return
    const ok = event.outcome === 'fetched' || event.outcome === 'stored'
    span.addEvent(N.EVENT_INTERMEDIATE, {
      [N.ATTR_SERVER_ADDRESS]: event.host,
      [N.ATTR_SERVER_PORT]: event.port,
      [N.ATTR_URL_SCHEME]: 'http',
      [N.ATTR_HTTP_RESPONSE_BODY_SIZE]: event.bytes,
      [N.ATTR_INTERMEDIATE_OUTCOME]: event.outcome,
      [N.ATTR_INTERMEDIATE_CERTIFICATES]: event.certificates,
      ...(ok ? {} : { [N.ATTR_ERROR_TYPE]: event.outcome })
    })
  }
}
