import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { after, before, describe, test } from 'node:test'
import { context } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { registerInstrumentations } from '@opentelemetry/instrumentation'
import type { Instrumentation } from '@opentelemetry/instrumentation'
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici'
import { MeterProvider, MetricReader, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics'
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace'
import { request } from 'undici'
import { TlsFallbackInstrumentation } from '../src/opentelemetry/index.ts'
import { startIisLike, type TestServer } from './servers/iis.ts'
import { startModern, type ModernServer } from './servers/modern.ts'
import { startPhaLike } from './servers/pha.ts'
import { clientCert, failure, makeAgent, record, send } from './helpers.ts'

/** A pull reader: `collect()` returns what the SDK aggregated so far (cumulative). */
class TestReader extends MetricReader {
  protected override async onForceFlush (): Promise<void> {}
  protected override async onShutdown (): Promise<void> {}

  async points (name: string): Promise<Array<DataPoint<any>>> {
    const { resourceMetrics } = await this.collect()
    const metric = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name)
    return (metric?.dataPoints ?? []) as Array<DataPoint<any>>
  }
}

/** The value of the data point whose attributes include all of `match`, or 0. */
function valueOf (points: Array<DataPoint<any>>, match: Record<string, unknown>): number {
  const point = points.find((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v))
  return point === undefined ? 0 : point.value as number
}

function sum (points: Array<DataPoint<any>>): number {
  return points.reduce((total, p) => total + (typeof p.value === 'number' ? p.value : (p.value as Histogram).count), 0)
}

function setup (): { reader: TestReader, meterProvider: MeterProvider, exporter: InMemorySpanExporter, tracerProvider: TracerProvider } {
  const reader = new TestReader()
  const meterProvider = new MeterProvider({ readers: [reader] })
  const exporter = new InMemorySpanExporter()
  const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] })
  return { reader, meterProvider, exporter, tracerProvider }
}

describe('OpenTelemetry instrumentation', () => {
  let iis: TestServer
  before(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
    iis = await startIisLike()
  })
  after(async () => { await iis.close() })

  test('metrics with explicit providers against an IIS-like host: one transition, attempts strict 1 / renegotiation 2 for two calls', async () => {
    const { reader, meterProvider } = setup()
    const agent = makeAgent()
    const instrumentation = new TlsFallbackInstrumentation({ agents: [agent] })
    instrumentation.setMeterProvider(meterProvider)
    const origin = `https://localhost:${iis.port}`
    try {
      assert.equal((await send(agent, `${origin}/secure/a`)).status, 200)
      assert.equal((await send(agent, `${origin}/secure/b?token=q-secret`)).status, 200)
      const server = { 'server.address': 'localhost', 'server.port': iis.port }

      const attempts = await reader.points('tls_fallback.attempts')
      assert.equal(valueOf(attempts, { ...server, 'tls_fallback.stack': 'strict', 'tls_fallback.reason': 'initial', 'tls_fallback.outcome': 'failure', 'error.type': 'ECONNRESET' }), 1)
      assert.equal(valueOf(attempts, { ...server, 'tls_fallback.stack': 'renegotiation', 'tls_fallback.reason': 'fallback', 'tls_fallback.outcome': 'success' }), 1)
      assert.equal(valueOf(attempts, { ...server, 'tls_fallback.stack': 'renegotiation', 'tls_fallback.reason': 'initial', 'tls_fallback.outcome': 'success' }), 1)
      assert.equal(sum(attempts), 3, 'strict 1 + renegotiation 2')
      assert.ok(attempts.every((p) => p.attributes['error.type'] === undefined || p.attributes['tls_fallback.outcome'] === 'failure'))

      const diagnoses = await reader.points('tls_fallback.diagnoses')
      assert.equal(sum(diagnoses), 1)
      assert.equal(valueOf(diagnoses, { ...server, 'tls_fallback.fingerprint': 'renegotiation-refused', 'tls_fallback.stack': 'strict', 'tls_fallback.verified': true }), 1)

      const transitions = await reader.points('tls_fallback.transitions')
      assert.equal(sum(transitions), 1)
      assert.equal(valueOf(transitions, { ...server, 'tls_fallback.from': 'strict', 'tls_fallback.to': 'renegotiation', 'tls_fallback.fingerprint': 'renegotiation-refused', 'tls_fallback.http1_only': false }), 1)

      const durations = await reader.points('tls_fallback.fallback.duration')
      assert.equal(durations.length, 1, 'only the request that fell back')
      const histogram = durations[0]?.value as Histogram
      assert.equal(histogram.count, 1)
      assert.ok(histogram.sum !== undefined && histogram.sum > 0, 'the fallback added some time')
      assert.equal(durations[0]?.attributes['tls_fallback.stack'], 'renegotiation')
      assert.equal(durations[0]?.attributes['tls_fallback.outcome'], 'success')

      const policies = await reader.points('tls_fallback.policies')
      assert.equal(valueOf(policies, { 'tls_fallback.stack': 'renegotiation', 'tls_fallback.http1_only': false }), 1)
      assert.equal(valueOf(policies, { 'tls_fallback.stack': 'strict', 'tls_fallback.http1_only': false }), 0)

      const everything = JSON.stringify((await reader.collect()).resourceMetrics)
      assert.doesNotMatch(everything, /q-secret|token|\/secure/, 'no path or query value reaches a metric')
    } finally {
      instrumentation.disable()
      await agent.close()
      await meterProvider.shutdown()
    }
  })

  test('span events on the caller\'s active span (AsyncLocalStorage context); instrumentation-undici\'s per-attempt spans sit under it; registerInstrumentations()', async () => {
    const { reader, meterProvider, exporter, tracerProvider } = setup()
    const undici = new UndiciInstrumentation()
    const ours = new TlsFallbackInstrumentation({ enabled: false })
    const instrumentation: Instrumentation = ours
    const unregister = registerInstrumentations({ instrumentations: [undici, instrumentation], tracerProvider, meterProvider })
    assert.equal(ours.getConfig().enabled, true, 'registerInstrumentations enabled it')
    const agent = makeAgent()
    const origin = `https://localhost:${iis.port}`
    const tracer = tracerProvider.getTracer('test')
    try {
      // Two callers at once on a new origin: the second waits at the cold-start gate, and the first
      // request's outcome releases it: its attempt must still start in its own caller's context.
      const call = async (name: string, path: string): Promise<number> => await tracer.startActiveSpan(name, async (span) => {
        try {
          return (await send(agent, `${origin}${path}`)).status
        } finally {
          span.end()
        }
      })
      const [status, other] = await Promise.all([call('caller', '/secure/report?token=q-secret'), call('other', '/secure/other')])
      assert.equal(other, 200)
      assert.equal(status, 200)
      const spans = exporter.getFinishedSpans()
      const caller = spans.find((s) => s.name === 'caller') as ReadableSpan
      assert.ok(caller)
      const events: Array<Record<string, unknown>> = caller.events.map((e) => ({ name: e.name, ...e.attributes }))
      assert.deepEqual(events.map((e) => e.name), ['tls_fallback.diagnosis', 'tls_fallback.transition'])
      assert.equal(events[0]?.['tls_fallback.fingerprint'], 'renegotiation-refused')
      assert.equal(events[0]?.['tls_fallback.stack'], 'strict')
      assert.equal(events[0]?.['tls_fallback.verified'], true)
      assert.equal(events[0]?.['server.address'], 'localhost')
      assert.equal(events[1]?.['tls_fallback.from'], 'strict')
      assert.equal(events[1]?.['tls_fallback.to'], 'renegotiation')
      assert.equal(events[1]?.['tls_fallback.fingerprint'], 'renegotiation-refused')
      assert.equal(events[1]?.['tls_fallback.verified'], true)
      assert.equal(caller.attributes['tls_fallback.stack'], 'renegotiation')
      assert.equal(caller.attributes['tls_fallback.attempts'], 2)
      assert.doesNotMatch(JSON.stringify([caller.events, caller.attributes]), /q-secret|token|\/secure/, 'no path or query value in our events and attributes')

      const callerId = caller.spanContext().spanId
      const clientSpans = spans.filter((s) => s.name === 'GET' && s.attributes['url.path'] === '/secure/report')
      assert.equal(clientSpans.length, 2, 'one client span per attempt')
      for (const span of clientSpans) {
        assert.equal(span.parentSpanContext?.spanId, callerId, 'each attempt\'s client span is a child of the caller\'s span')
        assert.equal(span.spanContext().traceId, caller.spanContext().traceId)
      }
      const second = spans.find((s) => s.name === 'other') as ReadableSpan
      assert.deepEqual(second.events, [], 'the diagnosis and transition belong to the first caller only')
      assert.equal(second.attributes['tls_fallback.stack'], 'renegotiation')
      assert.equal(second.attributes['tls_fallback.attempts'], 1)
      const otherClient = spans.filter((s) => s.name === 'GET' && s.attributes['url.path'] === '/secure/other')
      assert.equal(otherClient.length, 1)
      assert.equal(otherClient[0]?.parentSpanContext?.spanId, second.spanContext().spanId, 'the waiter\'s attempt sits under its own caller, not under the request that released it')
      assert.ok(sum(await reader.points('tls_fallback.attempts')) >= 3, 'metrics went to the registered meter provider')
    } finally {
      unregister()
      await agent.close()
      await meterProvider.shutdown()
      await tracerProvider.shutdown()
    }
  })

  test('a post-handshake-auth 403 (TLS 1.3) without a certificate: its diagnosis is a span event on the caller\'s span, and no transition', async () => {
    const { meterProvider, exporter, tracerProvider } = setup()
    const instrumentation = new TlsFallbackInstrumentation({ enabled: false })
    const unregister = registerInstrumentations({ instrumentations: [instrumentation], tracerProvider, meterProvider })
    const server = await startPhaLike()
    const agent = makeAgent({ logger: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} } })
    try {
      const tracer = tracerProvider.getTracer('test')
      const status = await tracer.startActiveSpan('caller', async (span) => {
        try {
          return (await send(agent, `https://localhost:${server.port}/secure/`)).status
        } finally {
          span.end()
        }
      })
      assert.equal(status, 403)
      const caller = exporter.getFinishedSpans().find((s) => s.name === 'caller') as ReadableSpan
      const events: Array<Record<string, unknown>> = caller.events.map((e) => ({ name: e.name, ...e.attributes }))
      assert.deepEqual(events.map((e) => e.name), ['tls_fallback.diagnosis'])
      assert.equal(events[0]?.['tls_fallback.fingerprint'], 'post-handshake-auth-required')
      assert.equal(events[0]?.['tls_fallback.verified'], true)
    } finally {
      unregister()
      await agent.close()
      await server.close()
      await meterProvider.shutdown()
      await tracerProvider.shutdown()
    }
  })

  test('an upload primed on a new connection: tls_fallback.priming span events on the caller\'s span (the strict stack\'s failed, the renegotiation stack\'s renegotiated), no path', async () => {
    const { meterProvider, exporter, tracerProvider } = setup()
    const instrumentation = new TlsFallbackInstrumentation({ enabled: false })
    const unregister = registerInstrumentations({ instrumentations: [instrumentation], tracerProvider, meterProvider })
    const agent = makeAgent({ hosts: { localhost: { clientCert } }, logger: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} } })
    try {
      const tracer = tracerProvider.getTracer('test')
      const status = await tracer.startActiveSpan('caller', async (span) => {
        try {
          return (await send(agent, `https://localhost:${iis.port}/secure/upload-span?token=q-secret`, { method: 'POST', body: Buffer.alloc(100_000, 1) })).status
        } finally {
          span.end()
        }
      })
      assert.equal(status, 200)
      const caller = exporter.getFinishedSpans().find((s) => s.name === 'caller') as ReadableSpan
      const primings = caller.events.filter((e) => e.name === 'tls_fallback.priming').map((e) => e.attributes ?? {})
      assert.deepEqual(primings.map((a) => [a['tls_fallback.stack'], a['tls_fallback.priming.outcome'], a['error.type']]), [['strict', 'failed', 'ECONNRESET'], ['renegotiation', 'renegotiated', undefined]])
      assert.equal(primings[1]?.['http.response.status_code'], 200)
      assert.equal(primings[1]?.['server.address'], 'localhost')
      assert.doesNotMatch(JSON.stringify(caller.events), /q-secret|upload-span/, 'no path or query value')
    } finally {
      unregister()
      await agent.close()
      await meterProvider.shutdown()
      await tracerProvider.shutdown()
    }
  })

  test('nothing is recorded after disable(), and enable() records again', async () => {
    const { reader, meterProvider, exporter, tracerProvider } = setup()
    const agent = makeAgent()
    const instrumentation = new TlsFallbackInstrumentation({ agents: [agent] })
    instrumentation.setMeterProvider(meterProvider)
    instrumentation.setTracerProvider(tracerProvider)
    const tracer = tracerProvider.getTracer('test')
    const origin = `https://localhost:${iis.port}`
    try {
      instrumentation.disable()
      assert.equal(instrumentation.getConfig().enabled, false)
      await tracer.startActiveSpan('disabled', async (span) => {
        try {
          assert.equal((await send(agent, `${origin}/secure/off`)).status, 200)
          assert.equal((await send(agent, `${origin}/secure/off2`)).status, 200)
        } finally {
          span.end()
        }
      })
      for (const name of ['tls_fallback.attempts', 'tls_fallback.diagnoses', 'tls_fallback.transitions', 'tls_fallback.fallback.duration', 'tls_fallback.policies']) {
        assert.deepEqual(await reader.points(name), [], `${name} recorded nothing while disabled`)
      }
      const span = exporter.getFinishedSpans().find((s) => s.name === 'disabled') as ReadableSpan
      assert.deepEqual(span.events, [])
      assert.deepEqual(span.attributes, {})

      instrumentation.enable()
      assert.equal((await send(agent, `${origin}/secure/on`)).status, 200)
      assert.equal(valueOf(await reader.points('tls_fallback.attempts'), { 'tls_fallback.stack': 'renegotiation', 'tls_fallback.reason': 'initial' }), 1)
      assert.equal(valueOf(await reader.points('tls_fallback.policies'), { 'tls_fallback.stack': 'renegotiation', 'tls_fallback.http1_only': false }), 1)
    } finally {
      instrumentation.disable()
      await agent.close()
      await meterProvider.shutdown()
    }
  })

  test('request channels: start at dispatch, synchronously; end once, with the attempts, the failures before a response and the final stack', async () => {
    const agent = makeAgent()
    const origin = `https://localhost:${iis.port}`
    const events: Array<[string, any]> = []
    const onStart = (m: unknown): void => { events.push(['start', m]) }
    const onEnd = (m: unknown): void => { events.push(['end', m]) }
    subscribe('undici-tls-fallback:request:start', onStart)
    subscribe('undici-tls-fallback:request:end', onEnd)
    try {
      const reply = request(`${origin}/secure/channels?q=hidden`, { dispatcher: agent })
      assert.deepEqual(events.map(([kind]) => kind), ['start'], 'published while dispatch() runs')
      await (await reply).body.text()
      assert.deepEqual(events.map(([kind]) => kind), ['start', 'end'])
      const [[, start], [, end]] = events as [[string, any], [string, any]]
      assert.deepEqual(start.request, { origin, method: 'GET', path: '/secure/channels' })
      assert.equal(end.request, start.request, 'the same object on every event of the request')
      assert.equal(end.stack, 'renegotiation')
      assert.equal(end.attempts, 2)
      assert.equal(end.responded, true)
      assert.equal(end.error, undefined)
      assert.deepEqual(end.failures.map((f: any) => [f.stack, f.code, f.fingerprint]), [['strict', 'ECONNRESET', 'renegotiation-refused']])
    } finally {
      unsubscribe('undici-tls-fallback:request:start', onStart)
      unsubscribe('undici-tls-fallback:request:end', onEnd)
      await agent.close()
    }
  })

  test('a request that fails for good: its attempts are failures with their error codes', async () => {
    const { reader, meterProvider } = setup()
    const agent = makeAgent({ fallback: [] })
    const instrumentation = new TlsFallbackInstrumentation()
    instrumentation.setMeterProvider(meterProvider)
    try {
      const error = await failure(() => send(agent, `https://localhost:${iis.port}/secure/denied`))
      assert.equal(error.code, 'TLS_FALLBACK_NOT_ALLOWED')
      const attempts = await reader.points('tls_fallback.attempts')
      assert.equal(sum(attempts), 1)
      assert.equal(valueOf(attempts, { 'tls_fallback.stack': 'strict', 'tls_fallback.outcome': 'failure', 'error.type': 'ECONNRESET' }), 1)
      assert.deepEqual(await reader.points('tls_fallback.transitions'), [])
      assert.deepEqual(await reader.points('tls_fallback.fallback.duration'), [], 'no fallback attempt, no fallback time')
    } finally {
      instrumentation.disable()
      await agent.close()
      await meterProvider.shutdown()
    }
  })
})

describe('OpenTelemetry: bounds and options', () => {
  let modern: ModernServer
  before(async () => { modern = await startModern() })
  after(async () => { await modern.close() })

  test('maxServers bounds server.address: origins past it are counted as _OTHER; 0 leaves the attributes out', async () => {
    const { reader, meterProvider } = setup()
    const agent = makeAgent()
    const instrumentation = new TlsFallbackInstrumentation({ maxServers: 1 })
    instrumentation.setMeterProvider(meterProvider)
    try {
      await send(agent, `https://localhost:${modern.port}/`)
      await send(agent, `https://127.0.0.1:${modern.port}/`)
      await send(agent, `https://[::1]:${modern.port}/`).catch(() => undefined)
      const attempts = await reader.points('tls_fallback.attempts')
      assert.equal(valueOf(attempts, { 'server.address': 'localhost', 'server.port': modern.port, 'tls_fallback.outcome': 'success' }), 1)
      assert.ok(valueOf(attempts, { 'server.address': '_OTHER' }) >= 1)
      assert.ok(attempts.every((p) => p.attributes['server.address'] === 'localhost' || (p.attributes['server.address'] === '_OTHER' && p.attributes['server.port'] === undefined)))

      instrumentation.setConfig({ maxServers: 0 })
      await send(agent, `https://localhost:${modern.port}/again`)
      const after = await reader.points('tls_fallback.attempts')
      assert.equal(valueOf(after, { 'tls_fallback.stack': 'strict', 'tls_fallback.outcome': 'success', 'tls_fallback.reason': 'initial' }), 1, 'one series without server attributes')
      assert.ok(after.some((p) => p.attributes['server.address'] === undefined))
    } finally {
      instrumentation.disable()
      await agent.close()
      await meterProvider.shutdown()
    }
  })

  test('bad options fail with TLS_FALLBACK_INVALID_OPTION naming the option', () => {
    const cases: Array<[unknown, string]> = [
      [{ maxServers: -1 }, 'TlsFallbackInstrumentation.maxServers'],
      [{ maxServers: 1.5 }, 'TlsFallbackInstrumentation.maxServers'],
      [{ agents: {} }, 'TlsFallbackInstrumentation.agents'],
      [{ agents: [{}] }, 'TlsFallbackInstrumentation.agents[0]'],
      [{ enabled: 'yes' }, 'TlsFallbackInstrumentation.enabled'],
      [{ meterProvider: {} }, 'TlsFallbackInstrumentation.meterProvider'],
      ['on', 'TlsFallbackInstrumentation config']
    ]
    for (const [config, option] of cases) {
      assert.throws(() => new TlsFallbackInstrumentation(config as never), (error: any) => error.code === 'TLS_FALLBACK_INVALID_OPTION' && error.option === option, JSON.stringify(config))
    }
    const instrumentation = new TlsFallbackInstrumentation({ enabled: false })
    assert.throws(() => { instrumentation.setConfig({ maxServers: -2 }) }, (error: any) => error.option === 'TlsFallbackInstrumentation.maxServers')
  })

  test('without subscribers to the request channels, no RequestInfo is built and attempts carry none', async (t) => {
    const agent = makeAgent()
    const events = record(`https://localhost:${modern.port}`)
    t.after(async () => { events.stop(); await agent.close() })
    await send(agent, `https://localhost:${modern.port}/`)
    assert.equal(events.attempts.length, 1)
    assert.equal(events.attempts[0]?.request, undefined)
    const instrumentation = new TlsFallbackInstrumentation()
    try {
      await send(agent, `https://localhost:${modern.port}/x?y=z`)
    } finally {
      instrumentation.disable()
    }
    assert.deepEqual(events.attempts[1]?.request, { origin: `https://localhost:${modern.port}`, method: 'GET', path: '/x' })
  })

  test('the main entry point loads nothing of OpenTelemetry; the subpath does', async () => {
    const script = (entry: string): string => `
      import { registerHooks } from 'node:module'
      const seen = []
      registerHooks({ resolve: (specifier, ctx, next) => { if (specifier.includes('@opentelemetry')) seen.push(specifier); return next(specifier, ctx) } })
      await import(${JSON.stringify(new URL(entry, import.meta.url).href)})
      process.stdout.write(JSON.stringify(seen))`
    const run = async (entry: string): Promise<string[]> => await new Promise((resolve, reject) => {
      execFile(process.execPath, ['--input-type=module', '-e', script(entry)], (error, stdout) => {
        if (error !== null) reject(error)
        else resolve(JSON.parse(stdout) as string[])
      })
    })
    assert.deepEqual(await run('../src/index.ts'), [])
    assert.ok((await run('../src/opentelemetry/index.ts')).includes('@opentelemetry/api'))
  })
})
