// OpenTelemetry: metrics and span events of TlsFallbackAgent, exported to the console.
//
//   node examples/opentelemetry.ts                 an IIS-like server on 127.0.0.1 (offline)
//   node examples/opentelemetry.ts https://host/p  a real URL (the system's CAs)
//
// Needs @opentelemetry/api, @opentelemetry/sdk-metrics, @opentelemetry/sdk-trace,
// @opentelemetry/context-async-hooks and @opentelemetry/instrumentation (all devDependencies here).
import { context } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { registerInstrumentations } from '@opentelemetry/instrumentation'
import { ConsoleMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics'
import { ConsoleSpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import { request } from 'undici'
import { TlsFallbackAgent } from '../src/index.ts'
import { TlsFallbackInstrumentation } from '../src/opentelemetry/index.ts'
import { certs } from '../test/servers/certs.ts'
import { startIisLike } from '../test/servers/iis.ts'

// 1. The SDK: an AsyncLocalStorage context manager (so that the active span follows awaits), a
//    tracer provider and a meter provider that print to the console.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: new ConsoleSpanExporter() })] })
const metricReader = new PeriodicExportingMetricReader({ exporter: new ConsoleMetricExporter(), exportIntervalMillis: 60_000 })
const meterProvider = new MeterProvider({ readers: [metricReader] })

// 2. The agent, and the instrumentation that reads its diagnostics channels. `agents` feeds the
//    tls_fallback.policies gauge; every other metric covers every agent in the process.
const server = process.argv[2] === undefined ? await startIisLike() : undefined
const url = process.argv[2] ?? `https://localhost:${server?.port ?? 0}/secure/report`
const agent = new TlsFallbackAgent(server === undefined ? {} : { connect: { ca: certs.ca } })
const instrumentation = new TlsFallbackInstrumentation({ agents: [agent] })
registerInstrumentations({ instrumentations: [instrumentation], tracerProvider, meterProvider })

// 3. Two requests, each inside a span of ours: the first falls back (its span gets the diagnosis and
//    the transition as events), the second goes straight to the learned stack.
const tracer = tracerProvider.getTracer('example')
for (const name of ['first call', 'second call']) {
  await tracer.startActiveSpan(name, async (span) => {
    try {
      const response = await request(url, { dispatcher: agent })
      await response.body.dump()
      console.log(`${name}: HTTP ${response.statusCode}, policy: ${agent.policy(url)?.stack ?? 'none (strict)'}`)
    } finally {
      span.end()
    }
  })
}

// 4. Export the metrics now (tls_fallback.attempts, .diagnoses, .transitions, .fallback.duration, .policies).
await metricReader.forceFlush()
instrumentation.disable()
await agent.close()
await meterProvider.shutdown()
await tracerProvider.shutdown()
await server?.close()
