import assert from 'node:assert/strict'
import type http from 'node:http'
import { after, before, describe, test } from 'node:test'
import { context } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { MeterProvider, MetricReader, type DataPoint } from '@opentelemetry/sdk-metrics'
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import { md4 } from '../src/auth/md4.ts'
import { TlsFallbackInstrumentation } from '../src/opentelemetry/index.ts'
import { certs, failure, makeAgent, memoryLogger, record, send } from './helpers.ts'
import { allowLoopback, startAiaWorld, using } from './helpers/aia.ts'
import { runCli } from './helpers/cli.ts'
import { recordChannels, startRecordingOrigins, type RecordingOrigins } from './helpers/proxy-auth.ts'
import { startApacheAuth, type ApacheAuthServer } from './servers/apache-auth.ts'
import { startIisLike, type TestServer } from './servers/iis.ts'
import type { ModernServer } from './servers/modern.ts'
import { startRelay, type Relay } from './servers/relay.ts'
import { startSquid, type SquidProxy } from './servers/squid.ts'

// NTLM to a proxy (`proxy.auth`), against a real Apache forward proxy whose CONNECT needs NTLM,
// verified by gss-ntlmssp against a user file (Squid cannot verify NTLM without a Samba domain).
// A TCP relay in front of the proxy counts our connections to it and keeps what we sent it.

/** Apache's access-log lines for CONNECTs to this target: their status. */
function connects (apache: ApacheAuthServer, target: string): Array<{ status: number }> {
  return apache.accessLog().split('\n').filter((l) => l.includes(`"CONNECT ${target} `))
    .map((l) => ({ status: Number(/" (\d{3}) /.exec(l)?.[1]) }))
}

/** A pull reader: what the SDK aggregated so far. */
class TestReader extends MetricReader {
  protected override async onForceFlush (): Promise<void> {}
  protected override async onShutdown (): Promise<void> {}
  async points (name: string): Promise<Array<DataPoint<number>>> {
    const { resourceMetrics } = await this.collect()
    return (resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name)?.dataPoints ?? []) as Array<DataPoint<number>>
  }
}

describe('NTLM to a real Apache forward proxy (proxy.auth)', () => {
  let apache: ApacheAuthServer
  let relay: Relay
  let toProxy: Buffer[]
  let origins: RecordingOrigins
  let origin: ModernServer
  let seen: http.IncomingHttpHeaders[]
  let plainPort: number
  let iis: TestServer
  before(async () => {
    apache = await startApacheAuth()
    toProxy = []
    relay = await startRelay({ backendPort: apache.proxyPort, onClientData: (_pair, chunk) => { toProxy.push(chunk) } })
    origins = await startRecordingOrigins()
    ;({ tls: origin, seen, plainPort } = origins)
    iis = await startIisLike({ onRefused: 'reset' })
  })
  after(async () => {
    await relay?.close()
    await apache?.close()
    await origins?.close()
    await iis?.close()
  })

  const proxyWith = (password?: string) => ({
    uri: `http://127.0.0.1:${relay.port}`,
    auth: { scheme: 'ntlm' as const, username: apache.ntlm.username, password: password ?? apache.ntlm.password, domain: apache.ntlm.domain }
  })

  test('an https: origin through the NTLM proxy: type 1, the 407 challenge, type 3 and 200, every leg on one connection to the proxy', async () => {
    const channels = recordChannels()
    // One connection per origin: the second request waits for the first one's socket (deterministic reuse).
    const agent = makeAgent({ proxy: proxyWith(), connections: 1 })
    const before = relay.connections
    const target = `localhost:${origin.port}`
    try {
      const reply = await send(agent, `https://${target}/one`)
      assert.equal(reply.status, 200)
      assert.equal(reply.text, 'origin')
      assert.equal(relay.connections - before, 1, 'one TCP connection to the proxy for the whole handshake')
      // A second request reuses the tunnel: no new handshake.
      assert.equal((await send(agent, `https://${target}/two`)).status, 200)
      assert.equal(relay.connections - before, 1)
      assert.equal(channels.events.length, 1)
      // Apache logs a CONNECT when its tunnel ends.
      await agent.close()
      await apache.waitForAccessLog(new RegExp(`"CONNECT ${target} [^"]*" 200 `))
      const lines = connects(apache, target)
      assert.deepEqual(lines.map((l) => l.status), [407, 200], 'one 407 (the challenge), then the tunnel')
      // (Apache logs a connection id only once something asked for it: the relay's count is the proof of one socket.)
      assert.match(apache.accessLog(), new RegExp(`"CONNECT ${target} [^"]*" 200 .*user=CORP\\\\+ntlmuser mech=NTLM/NTLM`), 'gss-ntlmssp verified the user')
      assert.deepEqual(channels.events.map((e) => [e.scheme, e.outcome, e.legs, e.challenges, e.statusCode]), [['ntlm', 'authenticated', 2, 1, 200]])
    } finally {
      channels.stop()
      if (!agent.closed) await agent.close()
    }
  })

  test('a wrong password: TLS_FALLBACK_PROXY_ERROR saying the credentials were rejected, after one handshake (two 407s), no fallback, nothing learned, no secret anywhere', async () => {
    const password = 'Wrong-pass-7c1d'
    const { logger, lines } = memoryLogger()
    const channels = recordChannels()
    const target = `localhost:${iis.port}`
    const url = `https://${target}`
    const events = record(url)
    const agent = makeAgent({ proxy: proxyWith(password), logger })
    const before = relay.connections
    try {
      const error = await failure(() => send(agent, `${url}/secure/x`))
      assert.equal(error.code, 'TLS_FALLBACK_PROXY_ERROR')
      assert.equal(error.statusCode, 407)
      assert.match(error.message, /rejected the ntlm credentials \(407 after 2 authentication legs\)/)
      assert.equal(error.proxy, `http://127.0.0.1:${relay.port}`)
      assert.equal(relay.connections - before, 1, 'one connection, no second handshake')
      await apache.waitForAccessLog(new RegExp(`"CONNECT ${target} [^"]*" 407 `), 2)
      assert.deepEqual(connects(apache, target).map((l) => l.status), [407, 407], 'the challenge, then the refusal: no loop')
      assert.deepEqual(events.attempts.map((a) => a.stack), ['strict'], 'one attempt: a proxy 407 is never a fingerprint')
      assert.deepEqual(events.diagnoses, [])
      assert.deepEqual(events.fallbacks, [])
      assert.equal(agent.policy(url), undefined, 'no policy learned')
      assert.deepEqual(channels.events.map((e) => [e.outcome, e.legs, e.challenges]), [['rejected', 2, 2]])
      const ntHash = md4(Buffer.from(password, 'utf16le')).toString('hex')
      const outputs = [error.message, String(error.stack), JSON.stringify(lines), channels.text()].join('\n')
      for (const secret of [password, ntHash, 'TlRMTVNTUA', 'NTLM ']) assert.ok(!outputs.includes(secret), `no ${secret.slice(0, 4)}... in errors, logs or channels`)
      assert.ok(lines.some((l) => l.obj.event === 'proxy-auth' && l.obj.outcome === 'rejected' && l.obj.scheme === 'ntlm'), 'a pino debug line says the outcome')
    } finally {
      events.stop()
      channels.stop()
      await agent.close()
    }
  })

  test('negotiate with a user name and password and no Kerberos ticket: NTLM under the Negotiate scheme, verified by the proxy', async () => {
    const saved = { KRB5CCNAME: process.env.KRB5CCNAME }
    process.env.KRB5CCNAME = 'FILE:/nonexistent/undici-tls-fallback-no-ticket'
    const channels = recordChannels()
    toProxy.length = 0
    const agent = makeAgent({ proxy: { uri: `http://127.0.0.1:${relay.port}`, auth: { scheme: 'negotiate', username: `${apache.ntlm.domain}\\${apache.ntlm.username}`, password: apache.ntlm.password } } })
    try {
      assert.equal((await send(agent, `https://localhost:${origin.port}/negotiate-ntlm`)).status, 200)
      assert.deepEqual(channels.events.map((e) => [e.scheme, e.mechanism, e.outcome, e.legs]), [['negotiate', 'ntlm', 'authenticated', 2]])
      const legs = Buffer.concat(toProxy).toString('latin1').match(/^proxy-authorization: \S+ /gim) ?? []
      assert.deepEqual(legs.map((l) => l.trim()), ['proxy-authorization: Negotiate', 'proxy-authorization: Negotiate'])
    } finally {
      if (saved.KRB5CCNAME === undefined) delete process.env.KRB5CCNAME
      else process.env.KRB5CCNAME = saved.KRB5CCNAME
      channels.stop()
      await agent.close()
    }
  })

  test('the origin never sees Proxy-Authorization or Authorization; what the proxy got on the wire is the NTLM legs only', async () => {
    seen.length = 0
    toProxy.length = 0
    const agent = makeAgent({ proxy: proxyWith() })
    try {
      assert.equal((await send(agent, `https://localhost:${origin.port}/headers`)).status, 200)
      assert.equal(seen.length, 1)
      assert.equal(seen[0]!['proxy-authorization'], undefined)
      assert.equal(seen[0]!.authorization, undefined)
      const wire = Buffer.concat(toProxy).toString('latin1')
      const legs = wire.match(/^proxy-authorization: .*$/gim) ?? []
      assert.equal(legs.length, 2)
      assert.ok(legs.every((l) => /^proxy-authorization: NTLM [A-Za-z0-9+/=]+\r?$/i.test(l)))
      assert.ok(!wire.includes(apache.ntlm.password))
    } finally {
      await agent.close()
    }
  })

  test('an IIS-like origin falls back to renegotiation through the authenticated proxy: each attempt its own authenticated tunnel', async () => {
    const channels = recordChannels()
    const url = `https://localhost:${iis.port}`
    const events = record(url)
    const agent = makeAgent({ proxy: proxyWith() })
    try {
      const reply = await send(agent, `${url}/secure/report`)
      assert.equal(reply.status, 200)
      assert.equal(reply.json().renegotiated, true)
      assert.equal(agent.policy(url)?.stack, 'renegotiation')
      assert.equal(agent.policy(url)?.evidence.verified, true)
      assert.deepEqual(events.attempts.map((a) => [a.stack, a.reason]), [['strict', 'initial'], ['renegotiation', 'fallback']])
      assert.deepEqual(channels.events.map((e) => [e.outcome, e.legs]), [['authenticated', 2], ['authenticated', 2]])
    } finally {
      events.stop()
      channels.stop()
      await agent.close()
    }
  })

  test('OpenTelemetry counts proxy handshakes and legs by scheme, mechanism and outcome, the request\'s span gets the event; no attribute holds a credential', async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
    const exporter = new InMemorySpanExporter()
    const tracer = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }).getTracer('test')
    const reader = new TestReader()
    const instrumentation = new TlsFallbackInstrumentation()
    instrumentation.setMeterProvider(new MeterProvider({ readers: [reader] }))
    const good = makeAgent({ proxy: proxyWith() })
    const bad = makeAgent({ proxy: proxyWith('Wrong-pass-0e4b') })
    try {
      await tracer.startActiveSpan('request', async (span) => {
        assert.equal((await send(good, `https://localhost:${origin.port}/otel`)).status, 200)
        span.end()
      })
      const events = exporter.getFinishedSpans()[0]?.events ?? []
      assert.deepEqual(events.filter((e) => e.name === 'tls_fallback.proxy_auth').map((e) => e.attributes),
        [{ 'tls_fallback.auth.scheme': 'ntlm', 'tls_fallback.auth.mechanism': 'ntlm', 'tls_fallback.auth.outcome': 'authenticated', 'tls_fallback.auth.legs': 2 }])
      assert.equal((await failure(() => send(bad, `https://localhost:${origin.port}/otel`))).code, 'TLS_FALLBACK_PROXY_ERROR')
      const handshakes = await reader.points('tls_fallback.proxy_auth.handshakes')
      const legs = await reader.points('tls_fallback.proxy_auth.legs')
      const key = (p: DataPoint<number>): string => `${String(p.attributes['tls_fallback.auth.scheme'])}/${String(p.attributes['tls_fallback.auth.mechanism'])}/${String(p.attributes['tls_fallback.auth.outcome'])}=${p.value}`
      assert.deepEqual(handshakes.map(key).sort(), ['ntlm/ntlm/authenticated=1', 'ntlm/ntlm/rejected=1'])
      assert.deepEqual(legs.map(key).sort(), ['ntlm/ntlm/authenticated=2', 'ntlm/ntlm/rejected=2'])
      const text = JSON.stringify([handshakes, legs, events])
      assert.ok(!text.includes(apache.ntlm.password) && !text.includes('Wrong-pass') && !text.includes(apache.ntlm.username))
    } finally {
      instrumentation.disable()
      await good.close()
      await bad.close()
    }
  })

  test('a plain http:// origin behind the proxy goes through an authenticated CONNECT tunnel (undici\'s ProxyAgent cannot answer a 407)', async () => {
    seen.length = 0
    const channels = recordChannels()
    const agent = makeAgent({ proxy: proxyWith() })
    try {
      const reply = await send(agent, `http://localhost:${plainPort}/plain`)
      assert.equal(reply.status, 200)
      assert.equal(reply.text, 'plain origin')
      assert.equal(seen[0]!['proxy-authorization'], undefined)
      assert.deepEqual(channels.events.map((e) => [e.outcome, e.target]), [['authenticated', `localhost:${plainPort}`]])
      await agent.close()
      await apache.waitForAccessLog(new RegExp(`"CONNECT localhost:${plainPort} [^"]*" 200 `))
    } finally {
      channels.stop()
      if (!agent.closed) await agent.close()
    }
  })

  test('probe --proxy-auth ntlm: the user and password from the proxy URL, the verdict through the authenticated tunnel, no secret printed; a wrong one exits 1 (no verdict) saying the credentials were rejected', async () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(https?|no)_proxy$/i.test(name)))
    const user = `${apache.ntlm.domain}%5C${apache.ntlm.username}`
    const url = `https://localhost:${iis.port}/secure/probe`
    toProxy.length = 0
    const run = await runCli(['probe', url, '--ca', certs.path('ca.crt'), '--json', '--proxy', `http://${user}:${apache.ntlm.password}@127.0.0.1:${relay.port}`, '--proxy-auth', 'ntlm'], {}, env)
    assert.equal(run.code, 0, run.stderr)
    const result = JSON.parse(run.stdout)
    assert.equal(result.verdict.stack, 'renegotiation')
    assert.equal(result.proxy, `http://127.0.0.1:${relay.port}`)
    const wire = Buffer.concat(toProxy).toString('latin1')
    assert.match(wire, /proxy-authorization: NTLM /i)
    assert.doesNotMatch(wire, /proxy-authorization: Basic/i, 'the URL\'s credentials are never sent as Basic')
    const wrong = await runCli(['probe', url, '--ca', certs.path('ca.crt'), '--proxy', `http://${user}:Wrong-Cli-Pass-55@127.0.0.1:${relay.port}`, '--proxy-auth', 'ntlm'], {}, env)
    assert.equal(wrong.code, 1, wrong.stdout + wrong.stderr)
    assert.equal(wrong.stdout, '', 'no table, no verdict')
    assert.match(wrong.stdout + wrong.stderr, /rejected the ntlm credentials/)
    for (const output of [run.stdout, run.stderr, wrong.stdout, wrong.stderr]) {
      assert.ok(!output.includes(apache.ntlm.password) && !output.includes('Wrong-Cli-Pass-55') && !output.includes('TlRMTVNT'))
    }
    // The password from the environment, off the command line.
    const fromEnv = await runCli(['probe', url, '--ca', certs.path('ca.crt'), '--json', '--proxy', `http://${user}@127.0.0.1:${relay.port}`, '--proxy-auth', 'ntlm'], { UNDICI_TLS_FALLBACK_PROXY_PASSWORD: apache.ntlm.password }, env)
    assert.equal(fromEnv.code, 0, fromEnv.stderr)
    assert.ok(!(fromEnv.stdout + fromEnv.stderr).includes(apache.ntlm.password))
    const noPassword = await runCli(['probe', url, '--proxy', `http://${user}@127.0.0.1:${relay.port}`, '--proxy-auth', 'ntlm'], {}, env)
    assert.equal(noPassword.code, 2)
    assert.match(noPassword.stderr, /--proxy names a user without a password: set UNDICI_TLS_FALLBACK_PROXY_PASSWORD/)
    const usage = await runCli(['probe', url, '--proxy-auth', 'ntlm'], {}, env)
    assert.equal(usage.code, 2)
    assert.match(usage.stderr, /--proxy-auth needs --proxy/)
    const bad = await runCli(['probe', url, '--proxy', `http://${user}:${apache.ntlm.password}@127.0.0.1:1`, '--proxy-auth', 'basic'], {}, env)
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /--proxy-auth must be ntlm or negotiate/)
    assert.ok(!bad.stderr.includes(apache.ntlm.password))
  })

  test('fetchIntermediates through the NTLM proxy: the AIA GET goes through an authenticated CONNECT tunnel (a forwarded GET would get an unanswerable 407)', async () => {
    const world = await startAiaWorld()
    const channels = recordChannels()
    try {
      const reply = await using(world.agent({ proxy: proxyWith(), fetchIntermediates: allowLoopback }), async (a) => await send(a, `https://127.0.0.1:${world.server.port}/`))
      assert.equal(reply.status, 200)
      assert.equal(world.aia.requests.length, 1)
      const targets = channels.events.map((e) => [e.target, e.outcome])
      assert.ok(targets.some(([target, outcome]) => target === `127.0.0.1:${world.aia.port}` && outcome === 'authenticated'), JSON.stringify(targets))
      assert.ok(channels.events.every((e) => e.outcome === 'authenticated'))
    } finally {
      channels.stop()
      await world.close()
    }
  })

  test('a host with its own proxy gets none of the authenticated proxy\'s credentials', async () => {
    let squid: SquidProxy | undefined
    let squidRelay: Relay | undefined
    const toSquid: Buffer[] = []
    try {
      squid = await startSquid()
      squidRelay = await startRelay({ backendPort: squid.open, onClientData: (_pair, chunk) => { toSquid.push(chunk) } })
      const agent = makeAgent({
        proxy: proxyWith(),
        hosts: { '127.0.0.1': { proxy: `http://127.0.0.1:${squidRelay.port}` } }
      })
      try {
        assert.equal((await send(agent, `https://127.0.0.1:${origin.port}/other`, {})).status, 200)
        const wire = Buffer.concat(toSquid).toString('latin1')
        assert.match(wire, /^CONNECT 127\.0\.0\.1:/)
        assert.doesNotMatch(wire, /proxy-authorization/i)
      } finally {
        await agent.close()
      }
    } finally {
      await squidRelay?.close()
      await squid?.close()
    }
  })
})
