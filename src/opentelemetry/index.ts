// undici-tls-fallback/opentelemetry: loads @opentelemetry/api; the main entry point never does.
export { TlsFallbackInstrumentation } from './instrumentation.ts'
export type { TlsFallbackInstrumentationConfig, PolicySource } from './instrumentation.ts'
export * from './semconv.ts'
