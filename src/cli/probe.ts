import type { X509Certificate } from 'node:crypto'
import net from 'node:net'
import tls, { type TLSSocket } from 'node:tls'
import pRetry, { AbortError } from 'p-retry'
import { Client } from 'undici'
import { decideMissingIntermediate } from '../decide.ts'
import { ErrorCodes } from '../errors.ts'
import { isApachePostHandshakeAuth, isHttp11Required, isUnsafeLegacyError, type FingerprintId } from '../fingerprint.ts'
import { openTunnel } from '../proxy/open.ts'
import { aiaRoute } from '../certs/aia-route.ts'
import type { Proxy } from '../proxy/options.ts'
import type { AuthCheck } from './auth-check.ts'
import { HOLD_LIMIT } from '../response-hold.ts'
import { stackTlsOptions, type ClientCertificate, type StackName } from '../stacks.ts'
import { caIssuersUrls, describeUrl, DEFAULT_MAX_BYTES, fetchIssuers, issued, type FetchOutcome } from '../certs/aia.ts'
import { RecordObserver, RecordType, type TlsRecord } from './records.ts'
import { redactUrl } from './redact.ts'

export interface ProbeOptions {
  url: URL
  ca?: Buffer | undefined
  clientCert?: ClientCertificate | undefined
  method: string
  /** Per attempt, in milliseconds. */
  timeout: number
  allowLegacy: boolean
  signal: AbortSignal
  /** Called before each attempt (a progress line). */
  onProgress?: (text: string) => void
  /** Name resolution override (tests). */
  lookup?: net.LookupFunction | undefined
  /** A proxy to tunnel through (CONNECT or SOCKS5); the records observed are the origin's only. */
  proxy?: Proxy | undefined
  /** The client identity was a legacy PKCS#12, decoded by checkClientCert (the result says so). */
  legacyPkcs12?: boolean | undefined
  /** `--auth`: a 401 is the server asking for the authentication the probe does next, so it counts as an answer. */
  httpAuth?: boolean | undefined
  /** Let the AIA check fetch from loopback (tests). */
  aiaAllowLoopback?: boolean | undefined
}

/** The server sent its leaf without the intermediate that issued it, and the leaf names where that lives. */
export interface MissingIntermediate {
  /** The leaf's issuer, as the certificate names it. */
  issuer: string
  /** The caIssuers URL, without its query. */
  url: string
  /** What fetching it gave (as \`fetchIntermediates\` would). */
  outcome: FetchOutcome
  /** Whether the strict handshake verified with the fetched certificate as an untrusted intermediate. */
  fetchFixes: boolean
}

export interface ProbeAttempt {
  stack: StackName
  /** The HTTP version the attempt offered or used: 'h2' or 'http/1.1'. */
  http: 'h2' | 'http/1.1'
  ok: boolean
  status: number | null
  tlsVersion: string | null
  /** The error code (or message) when it failed. */
  error: string | null
  fingerprint: FingerprintId | null
  /** What the records on the wire show, in one sentence. */
  evidence: string
  timeMs: number
  /** Network retries this attempt needed (transient failures). */
  retries: number
  /** Whether a TCP connection to the server (or a tunnel through the proxy) was open at some point. */
  connected: boolean
  /** Where `--timeout` ended the attempt: before the TCP connection, during the handshake, or waiting for the response. */
  timedOut: 'connect' | 'handshake' | 'response' | null
  records: TlsRecord[]
}

/**
 * Why the probe has no TLS verdict: it could not open a connection to the server (refused,
 * unreachable, no such host, or no TCP answer within the timeout), or every attempt timed out.
 */
export interface ProbeUnreachable {
  reason: 'cannot-connect' | 'timed-out'
  /** The error code of the last attempt (ECONNREFUSED, ENOTFOUND, UND_ERR_CONNECT_TIMEOUT, ...). */
  code: string
}

export interface ProbeResult {
  /** The URL probed, with its credentials, query values and fragment redacted (see redactUrl). */
  url: string
  origin: string
  verdict: { stack: StackName | null, fingerprint: FingerprintId | null, http1Only: boolean }
  attempts: ProbeAttempt[]
  /** Set when legacy-server-connect was not tried but would likely work. */
  legacyWouldWork: boolean
  /** Set when the server could not be reached or never answered in time: then there is no TLS verdict. */
  unreachable: ProbeUnreachable | null
  /** The per-attempt timeout, in milliseconds. */
  timeout: number
  /** The proxy every attempt went through, without credentials (`http://***@proxy:3128`), or null when direct. */
  proxy: string | null
  /** Set when the strict handshake failed for a missing intermediate whose leaf names a caIssuers URL. */
  missingIntermediate?: MissingIntermediate | null
  /** The client identity given was a legacy PKCS#12 (RC2/3DES), which the agent decodes with node-forge. */
  legacyPkcs12?: boolean
  /** `--auth`: the authentication check on the stack that works (src/cli/auth-check.ts); no secret in it. */
  auth?: AuthCheck | null
}

const TRANSIENT = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENETDOWN', 'UND_ERR_CONNECT_TIMEOUT'])

interface RawOutcome {
  ok: boolean
  status: number | null
  error: (Error & { code?: string, http2ErrorCode?: number }) | null
  tlsVersion: string | null
  alpn: string | null
  handshakeAt: number | null
  records: TlsRecord[]
  closed: RecordObserver['connectionEnd']
  timeMs: number
  /** A 403 over TLS 1.3 that is Apache's own post-handshake-auth page (see isApachePostHandshakeAuth). */
  postHandshakeAuth: boolean
  connected: boolean
  timedOut: ProbeAttempt['timedOut']
  /** The server's leaf when its chain did not verify. */
  leaf: X509Certificate | null
}

/** The leaf of an attempt whose chain did not verify. */
const leaves = new WeakMap<ProbeAttempt, X509Certificate>()

// undici's codes for the same phases (its connect timeout covers the handshake too).
const TIMEOUT_CODES = { connect: 'UND_ERR_CONNECT_TIMEOUT', handshake: 'UND_ERR_CONNECT_TIMEOUT', response: 'UND_ERR_HEADERS_TIMEOUT', body: 'UND_ERR_BODY_TIMEOUT' } as const

/** One request on one stack, over a connection whose TLS records are observed. */
async function once (stack: StackName, http2: boolean, options: ProbeOptions): Promise<RawOutcome> {
  const { url } = options
  const port = Number(url.port === '' ? 443 : url.port)
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  const started = performance.now()
  let observer: RecordObserver | undefined
  let handshakeAt: number | null = null
  let tlsVersion: string | null = null
  let alpn: string | null = null
  let leaf: X509Certificate | null = null
  const tlsOptions = stackTlsOptions(stack, options.ca === undefined ? {} : { ca: options.ca }, options.clientCert)
  // --timeout bounds the whole attempt: the TCP connection (or the tunnel), the handshake and the response.
  let phase: keyof typeof TIMEOUT_CODES = 'connect'
  let connected = false
  let timedOut: RawOutcome['timedOut'] = null
  const deadline = new AbortController()
  const timer = setTimeout(() => {
    timedOut = phase === 'body' ? 'response' : phase
    deadline.abort(Object.assign(new Error(`no answer within ${options.timeout} ms (${phase})`), { code: TIMEOUT_CODES[phase] }))
  }, options.timeout)
  const signal = AbortSignal.any([options.signal, deadline.signal])
  const client = new Client(url.origin, {
    allowH2: http2,
    pipelining: 1,
    headersTimeout: options.timeout,
    bodyTimeout: options.timeout,
    connectTimeout: options.timeout,
    connect: ((_opts: unknown, callback: (error: Error | null, socket: TLSSocket | null) => void) => {
      let called = false
      // Every socket this attempt opens, destroyed when the attempt is cancelled or times out.
      const opened: Array<{ destroy: () => void }> = []
      const done = (error: Error | null, s: TLSSocket | null): void => {
        if (called) return
        called = true
        signal.removeEventListener('abort', onAbort)
        if (error !== null) for (const socket of opened) socket.destroy()
        callback(error, s)
      }
      const onAbort = (): void => { done(signal.reason as Error, null) }
      signal.addEventListener('abort', onAbort, { once: true })
      const secure = (raw: net.Socket): void => {
        phase = 'handshake'
        connected = true
        observer = new RecordObserver(raw)
        let s: TLSSocket
        try {
          s = tls.connect({
            ...tlsOptions,
            socket: observer,
            // The identity the certificate must show (Node checks TLS over a socket without `host`
            // against "localhost"); SNI for host names only.
            host,
            servername: net.isIP(host) === 0 ? host : undefined,
            ALPNProtocols: http2 ? ['h2', 'http/1.1'] : ['http/1.1']
          })
        } catch (error) {
          // Node refused the TLS options (a key that does not match its certificate): the TCP socket must not stay open.
          done(error as Error, null)
          return
        }
        opened.push(s)
        // Before Node's own listener, which verifies the chain and destroys the socket when that fails.
        s.prependListener('secure', () => {
          const handle = (s as unknown as { _handle?: { verifyError?: () => unknown } | null })._handle
          if (typeof handle?.verifyError !== 'function' || handle.verifyError() != null) leaf = s.getPeerX509Certificate() ?? null
        })
        s.once('secureConnect', () => {
          phase = 'response'
          handshakeAt = observer?.elapsed() ?? null
          tlsVersion = s.getProtocol()
          alpn = typeof s.alpnProtocol === 'string' ? s.alpnProtocol : null
          done(null, s)
        })
        s.on('error', (error: Error) => done(error, null))
      }
      const tcp = options.lookup === undefined ? {} : { lookup: options.lookup }
      if (options.proxy !== undefined) {
        // The records are observed on the tunnel, after the proxy's answer: the origin's TLS only.
        const toProxy = openTunnel(options.proxy, { host, port, tcp, timeout: options.timeout }, (error, tunnel) => {
          if (error !== null || tunnel === undefined) done(error ?? new Error('no tunnel'), null)
          else if (!called) secure(tunnel)
        })
        opened.push(toProxy)
        if (signal.aborted) onAbort()
        return toProxy
      }
      const raw = net.connect({ host, port, ...tcp })
      opened.push(raw)
      raw.once('connect', () => { if (!called) secure(raw) })
      raw.once('error', (error) => done(error, null))
      if (signal.aborted) onAbort()
      return raw
    }) as unknown as Client.Options['connect']
  })
  let status: number | null = null
  let error: RawOutcome['error'] = null
  let postHandshakeAuth = false
  try {
    const response = await client.request({
      path: `${url.pathname}${url.search}`,
      method: options.method,
      signal
    })
    status = response.statusCode
    phase = 'body'
    if (status === 403 && tlsVersion === 'TLSv1.3') {
      // The agent's rule: Apache's own 403 page, whole, with its headers (see isApachePostHandshakeAuth).
      const chunks: Buffer[] = []
      let size = 0
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        size += chunk.length
        if (size > HOLD_LIMIT) break
        chunks.push(chunk)
      }
      if (size <= HOLD_LIMIT) {
        postHandshakeAuth = isApachePostHandshakeAuth({
          statusCode: status, statusMessage: response.statusText, headers: response.headers, body: Buffer.concat(chunks), alpn
        })
      } else {
        await response.body.dump({ limit: 1024 * 1024 }).catch(() => {})
      }
    } else {
      await response.body.dump({ limit: 1024 * 1024 })
    }
  } catch (e) {
    // undici reports its own abort error for a cancelled body: the reason is the timeout or Ctrl-C.
    error = (deadline.signal.aborted ? deadline.signal.reason : e) as RawOutcome['error']
  } finally {
    clearTimeout(timer)
    await client.destroy().catch(() => {})
  }
  return {
    ok: error === null,
    status,
    error,
    tlsVersion,
    alpn,
    handshakeAt,
    records: observer?.records ?? [],
    closed: observer?.connectionEnd,
    timeMs: Math.round(performance.now() - started),
    postHandshakeAuth,
    connected,
    timedOut,
    leaf
  }
}

function ms (value: number): string {
  return `${Math.max(0, Math.round(value))} ms`
}

/** Reads the records after the handshake into a fingerprint and a sentence. */
export function explain (stack: StackName, outcome: Pick<RawOutcome, 'ok' | 'status' | 'error' | 'tlsVersion' | 'alpn' | 'handshakeAt' | 'records' | 'closed'> & { postHandshakeAuth?: boolean }, hasClientCert: boolean): { fingerprint: FingerprintId | null, evidence: string } {
  const code = outcome.error?.code
  if (outcome.postHandshakeAuth === true) {
    return {
      fingerprint: 'post-handshake-auth-required',
      evidence: 'the server answered 403 over TLS 1.3: "Cannot perform Post-Handshake Authentication" (it asks for a client certificate after the handshake; Node\'s client cannot announce post-handshake auth)'
    }
  }
  const message = outcome.error?.message ?? ''
  if (outcome.error !== null && isHttp11Required(outcome.error)) {
    return { fingerprint: 'http11-required', evidence: 'the server refused HTTP/2 for this request with HTTP_1_1_REQUIRED (0xd)' }
  }
  if (outcome.error !== null && isUnsafeLegacyError(outcome.error)) {
    return { fingerprint: 'unsafe-legacy-renegotiation', evidence: 'the server\'s hello has no RFC 5746 renegotiation_info: the handshake was refused' }
  }
  const start = outcome.handshakeAt
  if (start === null) {
    if (outcome.error === null) return { fingerprint: null, evidence: 'no TLS handshake' }
    return { fingerprint: null, evidence: `the handshake failed: ${code ?? message}` }
  }
  const after = outcome.records.filter((r) => r.at >= start)
  const request = after.find((r) => r.direction === 'client' && r.type === RecordType.applicationData)
  const tls12 = outcome.tlsVersion !== 'TLSv1.3'
  const helloRequest = tls12 && request !== undefined
    ? after.find((r) => r.direction === 'server' && r.type === RecordType.handshake && r.at >= request.at)
    : undefined
  const answered = after.some((r) => r.direction === 'server' && r.type === RecordType.applicationData && (request === undefined || r.at >= request.at))
  const closing = outcome.closed === undefined || request === undefined
    ? ''
    : `; the server ${outcome.closed.how === 'reset' ? 'reset the connection' : outcome.closed.how === 'fin' ? 'closed the connection' : 'ended the connection'} ${ms(outcome.closed.at - (helloRequest?.at ?? request.at))} later`
  if (helloRequest !== undefined && request !== undefined) {
    const next = after.filter((r) => r.direction === 'client' && r.at >= helloRequest.at)
    const declined = next.find((r) => r.type === RecordType.alert)
    const renegotiated = next.find((r) => r.type === RecordType.handshake)
    const when = `the server sent a HelloRequest ${ms(helloRequest.at - request.at)} after the request`
    if (renegotiated !== undefined) {
      if (outcome.ok) return { fingerprint: null, evidence: `${when}; the client renegotiated${hasClientCert ? ' and presented its certificate' : ''}; the server answered` }
      if (!hasClientCert) return { fingerprint: 'client-certificate-required', evidence: `${when}; the client renegotiated without a client certificate${closing.replace('; the server', '; and the server')}` }
      return { fingerprint: null, evidence: `${when}; the client renegotiated with its certificate, yet the server did not answer (${code ?? message})` }
    }
    if (declined !== undefined && !answered && stack === 'strict') {
      return { fingerprint: 'renegotiation-refused', evidence: `${when}; the client declined${closing}` }
    }
    return { fingerprint: null, evidence: `${when}${closing}` }
  }
  if (outcome.ok) return { fingerprint: null, evidence: `answered over ${outcome.tlsVersion ?? 'TLS'} ${outcome.alpn === 'h2' ? 'HTTP/2' : 'HTTP/1.1'}` }
  if (request !== undefined && !answered) {
    return { fingerprint: null, evidence: `no TLS record from the server after the request${closing} (a bare ${outcome.closed?.how === 'reset' ? 'reset' : 'close'}: no fingerprint)` }
  }
  return { fingerprint: null, evidence: `failed: ${code ?? message}` }
}

async function attempt (stack: StackName, http2: boolean, options: ProbeOptions): Promise<ProbeAttempt> {
  let retries = 0
  const outcome = await pRetry(async () => {
    const result = await once(stack, http2, options)
    if (options.signal.aborted) throw new AbortError(options.signal.reason as Error)
    // The proxy failed, not the server: that is no verdict on any stack.
    if (result.error?.code === ErrorCodes.PROXY_ERROR) throw new AbortError(result.error)
    const code = result.error?.code
    // A network failure before any TLS record came back is worth another try; a timeout is not (--timeout bounds the attempt).
    if (code !== undefined && result.timedOut === null && TRANSIENT.has(code) && !result.records.some((r) => r.direction === 'server')) {
      throw Object.assign(new Error(code), { code, outcome: result })
    }
    return result
  }, {
    retries: 2,
    minTimeout: 200,
    factor: 2,
    signal: options.signal,
    onFailedAttempt: ({ error, retriesLeft }) => {
      if (retriesLeft === 0) return
      retries += 1
      options.onProgress?.(`${stack}: ${(error as { code?: string }).code ?? error.message}, retrying`)
    }
  }).catch((error: unknown) => {
    const outcome = (error as { outcome?: RawOutcome }).outcome
    if (outcome !== undefined) return outcome
    throw error
  })
  const explained = explain(stack, outcome, options.clientCert !== undefined)
  const { fingerprint } = explained
  const evidence = fingerprint !== null
    ? explained.evidence
    : outcome.timedOut !== null
      ? timeoutEvidence(outcome, options.timeout)
      : outcome.connected ? explained.evidence : `no connection: ${outcome.error?.code ?? outcome.error?.message ?? 'failed'}`
  const result: ProbeAttempt = {
    stack,
    // Negotiated when the handshake completed (no ALPN means HTTP/1.1), offered otherwise.
    http: outcome.alpn === 'h2' || (outcome.tlsVersion === null && http2) ? 'h2' : 'http/1.1',
    ok: outcome.ok,
    status: outcome.status,
    tlsVersion: outcome.tlsVersion,
    error: outcome.error === null ? null : (outcome.error.code ?? outcome.error.message),
    fingerprint,
    evidence,
    timeMs: outcome.timeMs,
    retries,
    connected: outcome.connected,
    timedOut: outcome.timedOut,
    records: outcome.records
  }
  if (outcome.leaf !== null) leaves.set(result, outcome.leaf)
  return result
}

/**
 * A strict handshake that failed for a missing intermediate whose leaf names a caIssuers URL: fetch
 * it as \`fetchIntermediates\` would (same bounds and address rules, through the probe's proxy) and
 * try the strict handshake once more with it as an untrusted intermediate.
 */
async function checkMissingIntermediate (first: ProbeAttempt, options: ProbeOptions): Promise<MissingIntermediate | null> {
  const leaf = leaves.get(first)
  if (leaf === undefined) return null
  // As the agent decides with fetchIntermediates on (src/decide.ts).
  const step = decideMissingIntermediate(first.error ?? undefined, caIssuersUrls(leaf), true, false)
  if (step.kind !== 'fetch') return null
  const url = step.url
  const proxy = options.proxy
  const fetched = await fetchIssuers(url, {
    maxBytes: DEFAULT_MAX_BYTES, timeout: options.timeout, allowLoopback: options.aiaAllowLoopback === true, allowLinkLocal: false, logger: undefined
  }, (host, port) => aiaRoute(proxy, host, port, {}, options.timeout))
  const issuers = fetched.certificates.filter((c) => issued(c, leaf))
  const outcome: FetchOutcome = fetched.outcome === 'fetched' && issuers.length === 0 ? 'not-issuer' : fetched.outcome
  let fetchFixes = false
  if (issuers.length > 0) {
    const roots = options.ca === undefined ? tls.getCACertificates('default').join('\n') : options.ca.toString('latin1')
    const retry = await once('strict', true, { ...options, ca: Buffer.from([roots, ...issuers.map((c) => c.toString())].join('\n')) })
    fetchFixes = retry.tlsVersion !== null
  }
  return { issuer: leaf.issuer.replaceAll('\n', ', '), url: describeUrl(url), outcome, fetchFixes }
}

function timeoutEvidence (outcome: RawOutcome, timeout: number): string {
  const within = `within ${timeout} ms (--timeout)`
  if (outcome.timedOut === 'connect') return `no TCP connection ${within}`
  if (outcome.timedOut === 'handshake') {
    return outcome.records.some((r) => r.direction === 'server')
      ? `the handshake did not finish ${within}`
      : `the TCP connection opened, but the server sent nothing ${within}`
  }
  return outcome.status === null ? `the handshake finished, but no response came ${within}` : `the response (${outcome.status}) did not finish ${within}`
}

/**
 * Tries each stack against the URL, strictest first, and says which one works. HTTP/2 is offered
 * first; when the server answers HTTP_1_1_REQUIRED, every stack is tried over HTTP/1.1.
 */
export async function probe (options: ProbeOptions): Promise<ProbeResult> {
  const attempts: ProbeAttempt[] = []
  const run = async (stack: StackName, http2: boolean): Promise<ProbeAttempt> => {
    options.onProgress?.(`trying the ${stack} stack${http2 ? '' : ' over HTTP/1.1'}`)
    const result = await attempt(stack, http2, options)
    attempts.push(result)
    return result
  }
  let http2 = true
  const first = await run('strict', true)
  const missingIntermediate = await checkMissingIntermediate(first, options)
  const result = (verdict: ProbeResult['verdict'], unreachable: ProbeUnreachable | null, legacyWouldWork = false): ProbeResult => ({
    url: redactUrl(options.url),
    origin: options.url.origin,
    verdict,
    attempts,
    legacyWouldWork,
    unreachable,
    timeout: options.timeout,
    proxy: options.proxy?.redacted ?? null,
    missingIntermediate,
    legacyPkcs12: options.legacyPkcs12 === true
  })
  if (!first.connected) {
    // No connection to the server at all (refused, unreachable, unknown host, no TCP answer in time): no stack can do better.
    return result({ stack: null, fingerprint: null, http1Only: false }, { reason: 'cannot-connect', code: first.error ?? 'no connection' })
  }
  if (first.fingerprint === 'http11-required') {
    http2 = false
    await run('strict', false)
  }
  const stacks: StackName[] = ['tls13', 'renegotiation', ...(options.allowLegacy ? ['legacy-server-connect' as const] : [])]
  for (const stack of stacks) await run(stack, http2)

  // A stack works when the server answered without refusing (a 4xx such as IIS's 403.7 is a refusal).
  const working = attempts.find((a) => a.ok && a.status !== null && (a.status < 400 || (options.httpAuth === true && a.status === 401)) && (a.stack !== 'strict' || a.http === 'h2' || !http2 || a.fingerprint === null))
  // Nothing works because the server wants a certificate the probe was not given: that is the verdict,
  // whatever the strict stack showed on the way. On TLS 1.3 its post-handshake-auth 403 says why and
  // what the agent does about it (TLS 1.2 renegotiation), so it comes first.
  const needsCertificate = working === undefined
    ? (attempts.find((a) => a.fingerprint === 'post-handshake-auth-required') ?? attempts.find((a) => a.fingerprint === 'client-certificate-required'))
    : undefined
  const diagnosed = needsCertificate ?? attempts.find((a) => a.fingerprint !== null && a.fingerprint !== 'http11-required') ?? attempts.find((a) => a.fingerprint !== null)
  const legacyWouldWork = !options.allowLegacy && attempts.some((a) => a.fingerprint === 'unsafe-legacy-renegotiation')
  const fingerprint = working?.stack === 'strict' ? (http2 ? null : 'http11-required') : (diagnosed?.fingerprint ?? null)
  const last = attempts[attempts.length - 1]
  const unreachable = working === undefined && attempts.every((a) => a.timedOut !== null)
    ? { reason: 'timed-out' as const, code: last?.error ?? 'timed out' }
    : null
  return result({ stack: working?.stack ?? null, fingerprint, http1Only: !http2 }, unreachable, legacyWouldWork)
}
