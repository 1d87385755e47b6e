import assert from 'node:assert/strict'
import { after, before, beforeEach, test } from 'node:test'
import { context } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace'
import { TlsFallbackInstrumentation } from '../src/opentelemetry/index.ts'
import { MemoryPolicyCache } from '../src/index.ts'
import { failure, memoryLogger, send } from './helpers.ts'
import { AIA_QUERY, allowLoopback, startAiaWorld, using, type AiaWorld } from './helpers/aia.ts'

/**
 * Telemetry of a fetch of a missing intermediate (issue 33) with the real OpenTelemetry SDK and a
 * pino-shaped logger: a span event on the caller's span per fetch (the AIA host, size, outcome,
 * never a path or query), a debug line per fetch, and one warning per issuer when a fetch was needed.
 */

let world: AiaWorld
let exporter: InMemorySpanExporter
let tracerProvider: TracerProvider
let instrumentation: TlsFallbackInstrumentation

before(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  world = await startAiaWorld()
  exporter = new InMemorySpanExporter()
  tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] })
  instrumentation = new TlsFallbackInstrumentation()
})

after(async () => {
  instrumentation.disable()
  await tracerProvider.shutdown()
  await world.close()
})

beforeEach(() => {
  exporter.reset()
  world.aia.requests.length = 0
  world.aia.mode = { body: world.i1.raw }
})

async function traced<T> (name: string, fn: () => Promise<T>): Promise<{ result: T | Error, span: ReadableSpan }> {
  const tracer = tracerProvider.getTracer('test')
  const result = await tracer.startActiveSpan(name, async (span) => {
    try {
      return await fn()
    } catch (error) {
      return error as Error
    } finally {
      span.end()
    }
  })
  const span = exporter.getFinishedSpans().find((s) => s.name === name) as ReadableSpan
  return { result, span }
}

const intermediateEvents = (span: ReadableSpan): Array<Record<string, unknown>> =>
  span.events.filter((e) => e.name === 'tls_fallback.intermediate_fetch').map((e) => ({ ...e.attributes }))

test('a fetch is a span event on the caller\'s span: the AIA host and port, the body size, the outcome; no path or query', async () => {
  const { result, span } = await traced('caller', async () => await using(world.agent({ fetchIntermediates: allowLoopback }),
    async (a) => await send(a, `https://127.0.0.1:${world.server.port}/`)))
  assert.equal((result as { status: number }).status, 200)
  assert.deepEqual(intermediateEvents(span), [{
    'server.address': '127.0.0.1',
    'server.port': world.aia.port,
    'url.scheme': 'http',
    'http.response.body.size': world.i1.raw.length,
    'tls_fallback.intermediate.outcome': 'fetched',
    'tls_fallback.intermediate.certificates': 1
  }])
  assert.doesNotMatch(JSON.stringify(span.events), /sig=|aia-secret|i1\.cer/)
})

test('a failed fetch (not-issuer) carries error.type; a read back from the store is its own outcome (stored)', async () => {
  world.aia.mode = { body: world.i2.raw }
  const failed = await traced('failed', async () => await using(world.agent({ fetchIntermediates: allowLoopback }),
    async (a) => await failure(async () => await send(a, `https://127.0.0.1:${world.server.port}/`))))
  assert.equal((failed.result as { code?: string }).code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')
  assert.deepEqual(intermediateEvents(failed.span).map((e) => [e['tls_fallback.intermediate.outcome'], e['error.type']]), [['not-issuer', 'not-issuer']])

  world.aia.mode = { body: world.i1.raw }
  const cache = new MemoryPolicyCache()
  await using(world.agent({ cache, fetchIntermediates: allowLoopback }), async (a) => await send(a, `https://127.0.0.1:${world.server.port}/`))
  const stored = await traced('stored', async () => await using(world.agent({ cache, fetchIntermediates: allowLoopback }),
    async (a) => await send(a, `https://127.0.0.1:${world.server.port}/`)))
  assert.deepEqual(intermediateEvents(stored.span).map((e) => [e['tls_fallback.intermediate.outcome'], e['error.type']]), [['stored', undefined]])
})

test('pino: a debug line per fetch, one warning when a fetch was needed (the server is misconfigured), none for later connections; no query anywhere', async () => {
  const { logger, lines } = memoryLogger()
  await using(world.agent({ fetchIntermediates: allowLoopback, logger }), async (a) => {
    assert.equal((await send(a, `https://127.0.0.1:${world.server.port}/`)).status, 200)
    await world.server.dropConnections()
    assert.equal((await send(a, `https://127.0.0.1:${world.server.port}/`)).status, 200)
  })
  const debug = lines.filter((l) => l.obj?.event === 'intermediate-fetch')
  assert.deepEqual(debug.map((l) => [l.level, l.obj.outcome, l.obj.host]), [['debug', 'fetched', '127.0.0.1']])
  const warn = lines.filter((l) => l.obj?.event === 'intermediate-missing')
  assert.equal(warn.length, 1)
  assert.equal(warn[0]?.level, 'warn')
  assert.match(warn[0]?.msg ?? '', /did not send the intermediate certificate/)
  assert.equal(warn[0]?.obj.url, `http://127.0.0.1:${world.aia.port}/i1.cer`)
  assert.equal(JSON.stringify(lines).includes(AIA_QUERY), false)
})
