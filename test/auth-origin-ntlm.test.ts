import assert from 'node:assert/strict'
import { once } from 'node:events'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { Readable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import { interceptors, request } from 'undici'
import { MemoryPolicyCache, TlsFallbackAgent, type TlsFallbackAgentOptions } from '../src/index.ts'
import { authEvents } from './auth-helpers.ts'
import { startApacheAuth, type ApacheAuthServer } from './servers/apache-auth.ts'
import { certs } from './servers/certs.ts'

// hosts[...].auth with NTLM against Apache + mod_auth_gssapi + gss-ntlmssp (NTLM verified against a
// user file, bound to the connection), through the agent: each new connection is authenticated with
// HEAD legs before the caller's request goes on it, then reused without another handshake.

let apache: ApacheAuthServer
/** Another origin (localhost on another port) that records what reaches it: the redirect's target. */
let landing: https.Server
const landed: Array<{ authorization: string | undefined }> = []
before(async () => {
  landing = https.createServer({ key: certs.serverKey, cert: certs.serverCert }, (req, res) => {
    landed.push({ authorization: req.headers.authorization })
    res.end('landed')
  })
  landing.listen(0, '127.0.0.1')
  await once(landing, 'listening')
  const port = (landing.address() as AddressInfo).port
  apache = await startApacheAuth({ redirects: [['/ntlm/go', `https://localhost:${port}/landing`]] })
})
after(async () => {
  await apache?.close()
  landing?.close()
})

const origin = (): string => `https://localhost:${apache.port}`
const ntlmAuth = (password = apache.ntlm.password) => ({ scheme: 'ntlm' as const, username: apache.ntlm.username, password, domain: apache.ntlm.domain })

function agentWith (auth: ReturnType<typeof ntlmAuth> | undefined, extra: Partial<TlsFallbackAgentOptions> = {}): TlsFallbackAgent {
  return new TlsFallbackAgent({ connect: { ca: certs.ca }, hosts: auth === undefined ? {} : { [`localhost:${apache.port}`]: { auth } }, ...extra })
}

const headLegs = (log: string): number => (log.match(/"HEAD \/ntlm\/[^"]*" 401/g) ?? []).length

describe('NTLM origin through the agent', () => {
  test('GET on an NTLM location gets 200 as the user, after one handshake of two legs', async () => {
    const agent = agentWith(ntlmAuth())
    try {
      const { result, events } = await authEvents(async () => {
        const response = await request(`${origin()}/ntlm/`, { dispatcher: agent })
        return { status: response.statusCode, text: await response.body.text(), mech: response.headers['x-gss-mech'] }
      })
      assert.deepEqual(result, { status: 200, text: 'hello ntlm\n', mech: 'NTLM/NTLM' })
      assert.equal(events.length, 1)
      assert.deepEqual({ ...events[0], origin: undefined }, { origin: undefined, stack: 'strict', scheme: 'ntlm', mechanism: 'ntlm', legs: 2, outcome: 'authenticated', mutual: false, status: 200, code: undefined })
      const log = await apache.waitForAccessLog(/"GET \/ntlm\/ HTTP\/1\.1" 200 .*user=CORP\\+ntlmuser/)
      const conn = /"HEAD \/ntlm\/ HTTP\/1\.1" 200 - user=CORP\\+ntlmuser mech=NTLM\/NTLM keepalive=\d+ conn=(\S+)/.exec(log)?.[1]
      assert.ok(conn !== undefined, log)
      assert.match(log, new RegExp(`"GET /ntlm/ HTTP/1\\.1" 200 11 user=CORP\\\\+ntlmuser mech=NTLM/NTLM keepalive=\\d+ conn=${conn.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`), 'the GET went on the connection the HEAD legs authenticated')
    } finally {
      await agent.close()
    }
  })

  test('20 sequential GETs: one handshake for the one connection, every request 200', async () => {
    const agent = agentWith(ntlmAuth())
    const before = headLegs(apache.accessLog())
    try {
      const { result, events } = await authEvents(async () => {
        const statuses: number[] = []
        for (let i = 0; i < 20; i++) {
          const response = await request(`${origin()}/ntlm/`, { dispatcher: agent })
          await response.body.dump()
          statuses.push(response.statusCode)
        }
        return statuses
      })
      assert.deepEqual(result, Array(20).fill(200))
      assert.equal(events.length, 1, 'one handshake per connection, not per request')
      assert.equal(headLegs(apache.accessLog()) - before, 1, 'one 401 leg in the access log')
    } finally {
      await agent.close()
    }
  })

  test('a wrong password: the server\'s 401 reaches the caller after one full handshake (two legs), no loop', async () => {
    const agent = agentWith(ntlmAuth('wrong-password-1'))
    const before = headLegs(apache.accessLog())
    try {
      const { result, events } = await authEvents(async () => {
        const response = await request(`${origin()}/ntlm/`, { dispatcher: agent })
        await response.body.dump()
        return response.statusCode
      })
      assert.equal(result, 401)
      assert.equal(events.length, 1)
      assert.equal(events[0]!.outcome, 'rejected')
      assert.equal(events[0]!.legs, 2)
      await apache.waitForAccessLog(/"GET \/ntlm\/ HTTP\/1\.1" 401/)
      assert.equal(headLegs(apache.accessLog()) - before, 2, 'type 1 and type 3, each answered 401; nothing more')
    } finally {
      await agent.close()
    }
  })

  test('a 1 MiB POST, buffered and streamed, reaches the application exactly once', async () => {
    const agent = agentWith(ntlmAuth())
    const size = 1024 * 1024
    try {
      const buffered = await request(`${origin()}/ntlm/echo`, { dispatcher: agent, method: 'POST', body: Buffer.alloc(size, 0x61) })
      assert.equal(buffered.statusCode, 200)
      assert.equal(await buffered.body.text(), `received ${size} bytes\n`)
      let reads = 0
      const stream = new Readable({
        read () {
          reads++
          this.push(reads <= 16 ? Buffer.alloc(size / 16, 0x62) : null)
        }
      })
      const streamed = await request(`${origin()}/ntlm/echo`, { dispatcher: agent, method: 'POST', body: stream })
      assert.equal(streamed.statusCode, 200)
      assert.equal(await streamed.body.text(), `received ${size} bytes\n`)
      const log = await apache.waitForAccessLog(/"POST \/ntlm\/echo HTTP\/1\.1" 200/, 2)
      assert.equal((log.match(/"POST \/ntlm\/echo HTTP\/1\.1"/g) ?? []).length, 2, 'each POST once: the handshake used HEAD')
    } finally {
      await agent.close()
    }
  })

  test('a host without auth that answers 401 gets no credentials, and its 401 reaches the caller', async () => {
    const agent = agentWith(undefined)
    const sent: string[] = []
    const listener = (message: unknown): void => { sent.push(String((message as { headers?: string }).headers ?? '')) }
    subscribe('undici:client:sendHeaders', listener)
    try {
      const response = await request(`${origin()}/ntlm/`, { dispatcher: agent })
      await response.body.dump()
      assert.equal(response.statusCode, 401)
      assert.ok(sent.length >= 1)
      assert.ok(sent.every((h) => !/authorization/i.test(h)), 'no Authorization header')
    } finally {
      unsubscribe('undici:client:sendHeaders', listener)
      await agent.close()
    }
  })

  test('credentials never leave the host: a redirect to another origin (undici\'s redirect interceptor) and another origin on the same server get none', async () => {
    const agent = agentWith(ntlmAuth())
    try {
      const redirecting = agent.compose(interceptors.redirect({ maxRedirections: 2 }))
      const response = await request(`${origin()}/ntlm/go`, { dispatcher: redirecting })
      assert.equal(response.statusCode, 200)
      assert.equal(await response.body.text(), 'landed')
      assert.equal(landed.length, 1, 'the redirect was followed')
      assert.equal(landed[0]!.authorization, undefined, 'no Authorization to the other origin')
      // 127.0.0.1 is another origin on the same server: no rule with auth matches it.
      const sent: string[] = []
      const listener = (message: unknown): void => { sent.push(String((message as { headers?: string }).headers ?? '')) }
      subscribe('undici:client:sendHeaders', listener)
      const other = new TlsFallbackAgent({ connect: { ca: certs.ca, servername: 'localhost' }, hosts: { [`localhost:${apache.port}`]: { auth: ntlmAuth() } } })
      try {
        const direct = await request(`https://127.0.0.1:${apache.port}/ntlm/`, { dispatcher: other })
        await direct.body.dump()
        assert.equal(direct.statusCode, 401, 'another origin (127.0.0.1) gets no credentials')
      } finally {
        unsubscribe('undici:client:sendHeaders', listener)
        await other.close()
      }
      assert.ok(sent.length >= 1 && sent.every((h) => !/authorization/i.test(h)))
    } finally {
      await agent.close()
    }
  })
})

describe('an HTTP/2-capable origin (mod_http2, Protocols h2 http/1.1)', () => {
  let h2: ApacheAuthServer
  before(async () => { h2 = await startApacheAuth({ http2: true }) })
  after(async () => { await h2?.close() })

  test('a host without auth speaks h2 to it; with auth the agent still authenticates, over HTTP/1.1, even with allowH2', async () => {
    const plain = new TlsFallbackAgent({ connect: { ca: certs.ca }, allowH2: true })
    const authed = new TlsFallbackAgent({ connect: { ca: certs.ca }, allowH2: true, hosts: { [`localhost:${h2.port}`]: { auth: ntlmAuth() } } })
    try {
      const open = await request(`https://localhost:${h2.port}/open/`, { dispatcher: plain })
      await open.body.dump()
      assert.equal(open.statusCode, 200)
      const { result, events } = await authEvents(async () => {
        const response = await request(`https://localhost:${h2.port}/ntlm/`, { dispatcher: authed })
        return { status: response.statusCode, text: await response.body.text() }
      })
      assert.deepEqual(result, { status: 200, text: 'hello ntlm\n' })
      assert.equal(events.length, 1)
      assert.equal(events[0]!.outcome, 'authenticated')
      const log = await h2.waitForAccessLog(/"GET \/ntlm\/ HTTP\/1\.1" 200/)
      assert.match(log, /"GET \/open\/ HTTP\/2\.0" 200/, 'the server is h2-capable: the host without auth got h2')
      assert.match(log, /"GET \/ntlm\/ HTTP\/1\.1" 200 \d+ user=CORP\\+ntlmuser/)
      assert.doesNotMatch(log, /"GET \/ntlm\/ HTTP\/2\.0"/)
    } finally {
      await plain.close()
      await authed.close()
    }
  })
})

describe('NTLM composes with a client certificate asked for by renegotiation, and with the policy cache', () => {
  test('strict gets the 403 of post-handshake auth, the agent falls back to renegotiation, the HEAD legs renegotiate and authenticate; a second agent with the same cache goes straight there', async () => {
    const cache = new MemoryPolicyCache()
    const options = (): TlsFallbackAgentOptions => ({
      connect: { ca: certs.ca },
      cache,
      logger: { debug () {}, info () {}, warn () {}, error () {} },
      hosts: { [`localhost:${apache.port}`]: { auth: ntlmAuth(), clientCert: { cert: certs.clientCert, key: certs.clientKey } } }
    })
    for (const round of [1, 2]) {
      const agent = new TlsFallbackAgent(options())
      try {
        const { result, events } = await authEvents(async () => {
          const response = await request(`${origin()}/ntlmcert/`, { dispatcher: agent })
          return { status: response.statusCode, text: await response.body.text() }
        })
        assert.deepEqual(result, { status: 200, text: 'hello ntlmcert\n' }, `round ${round}`)
        const authenticated = events.filter((e) => e.outcome === 'authenticated' && e.status === 200)
        assert.equal(authenticated.length, 1, `round ${round}: ${JSON.stringify(events)}`)
        assert.equal(authenticated[0]!.stack, 'renegotiation')
        if (round === 1) assert.deepEqual(events.map((e) => [e.stack, e.outcome, e.status]), [['strict', 'rejected', 403], ['renegotiation', 'authenticated', 200]])
        if (round === 2) assert.deepEqual(events.map((e) => e.stack), ['renegotiation'], 'the cached policy: no strict attempt')
      } finally {
        await agent.close()
      }
    }
  })
})

describe('OpenTelemetry: the handshake is a span event and a counter, never a secret', () => {
  test('tls_fallback.auth on the caller\'s span (scheme, mechanism, legs, outcome); tls_fallback.auth.handshakes counts 1; no password, NT hash or token in any attribute', async () => {
    const { context } = await import('@opentelemetry/api')
    const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks')
    const { registerInstrumentations } = await import('@opentelemetry/instrumentation')
    const { MeterProvider, MetricReader } = await import('@opentelemetry/sdk-metrics')
    const { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } = await import('@opentelemetry/sdk-trace')
    const { TlsFallbackInstrumentation } = await import('../src/opentelemetry/index.ts')
    const { ntowfv2 } = await import('../src/auth/ntlm.ts')
    class Reader extends MetricReader {
      protected override async onForceFlush (): Promise<void> {}
      protected override async onShutdown (): Promise<void> {}
    }
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
    const reader = new Reader()
    const meterProvider = new MeterProvider({ readers: [reader] })
    const exporter = new InMemorySpanExporter()
    const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] })
    const unregister = registerInstrumentations({ instrumentations: [new TlsFallbackInstrumentation()], tracerProvider, meterProvider })
    const agent = agentWith(ntlmAuth())
    try {
      const status = await tracerProvider.getTracer('test').startActiveSpan('caller', async (span) => {
        try {
          const response = await request(`${origin()}/ntlm/`, { dispatcher: agent })
          await response.body.dump()
          return response.statusCode
        } finally {
          span.end()
        }
      })
      assert.equal(status, 200)
      const caller = exporter.getFinishedSpans().find((s) => s.name === 'caller')!
      const events = caller.events.filter((e) => e.name === 'tls_fallback.auth').map((e) => e.attributes ?? {})
      assert.equal(events.length, 1)
      assert.equal(events[0]!['tls_fallback.auth.scheme'], 'ntlm')
      assert.equal(events[0]!['tls_fallback.auth.mechanism'], 'ntlm')
      assert.equal(events[0]!['tls_fallback.auth.legs'], 2)
      assert.equal(events[0]!['tls_fallback.auth.outcome'], 'authenticated')
      const { resourceMetrics } = await reader.collect()
      const metric = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === 'tls_fallback.auth.handshakes')
      assert.equal(metric?.dataPoints.reduce((n, p) => n + (p.value as number), 0), 1)
      const everything = JSON.stringify({ spans: exporter.getFinishedSpans().map((s) => ({ a: s.attributes, e: s.events })), metrics: resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).map((m) => m.dataPoints) })
      for (const secret of [apache.ntlm.password, ntowfv2(apache.ntlm.password, apache.ntlm.username, apache.ntlm.domain).toString('hex'), 'TlRMTVNT']) {
        assert.ok(!everything.includes(secret), secret)
      }
    } finally {
      unregister()
      await agent.close()
      await meterProvider.shutdown()
      await tracerProvider.shutdown()
    }
  })
})
