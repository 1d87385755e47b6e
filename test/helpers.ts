import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { request, type Dispatcher } from 'undici'
import { TlsFallbackAgent, type TlsFallbackAgentOptions } from '../src/index.ts'
import type { AttemptEvent, DiagnosisEvent, FallbackEvent } from '../src/index.ts'
import { certs } from './servers/certs.ts'

export { certs }

export const clientCert = { cert: certs.clientCert, key: certs.clientKey }

/** An agent that trusts the test CA; warnings of transitions are collected instead of printed. */
export function makeAgent (options: TlsFallbackAgentOptions = {}): TlsFallbackAgent {
  return new TlsFallbackAgent({ ...options, connect: { ca: certs.ca, ...options.connect } })
}

export interface Recorder {
  attempts: AttemptEvent[]
  diagnoses: DiagnosisEvent[]
  fallbacks: FallbackEvent[]
  stop: () => void
}

/** Records the library's diagnostics-channel events for one origin (or all, without one). */
export function record (origin?: string): Recorder {
  const r: Recorder = { attempts: [], diagnoses: [], fallbacks: [], stop: () => {} }
  const on = (list: object[]) => (message: unknown) => {
    if (origin === undefined || (message as { origin: string }).origin === origin) list.push(message as object)
  }
  const subs: Array<[string, (m: unknown) => void]> = [
    ['undici-tls-fallback:attempt', on(r.attempts)],
    ['undici-tls-fallback:diagnosis', on(r.diagnoses)],
    ['undici-tls-fallback:fallback', on(r.fallbacks)]
  ]
  for (const [name, fn] of subs) subscribe(name, fn)
  r.stop = () => { for (const [name, fn] of subs) unsubscribe(name, fn) }
  return r
}

export interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
  json: () => any
}

export async function send (dispatcher: Dispatcher, url: string, options: Omit<Dispatcher.RequestOptions, 'origin' | 'path' | 'method'> & { method?: Dispatcher.HttpMethod } = {}): Promise<Reply> {
  const response = await request(url, { ...options, dispatcher } as Parameters<typeof request>[1])
  const text = await response.body.text()
  return { status: response.statusCode, headers: response.headers, text, json: () => JSON.parse(text) }
}

/** Runs fn and returns the error it rejected with (fails if it resolved). */
export async function failure (fn: () => Promise<unknown>): Promise<Error & { code?: string, cause?: any, [k: string]: any }> {
  try {
    await fn()
  } catch (error) {
    return error as Error & { code?: string }
  }
  throw new Error('expected a failure, but it succeeded')
}

/** Collects process warnings emitted while fn runs. */
export async function warnings<T> (fn: () => Promise<T>): Promise<{ result: T, warnings: Array<Error & { code?: string }> }> {
  const list: Array<Error & { code?: string }> = []
  const listener = (w: Error): void => { list.push(w) }
  process.on('warning', listener)
  try {
    const result = await fn()
    await new Promise((resolve) => setImmediate(resolve))
    return { result, warnings: list }
  } finally {
    process.off('warning', listener)
  }
}

/** A logger with pino's shape that keeps every line. */
export function memoryLogger (): { logger: any, lines: Array<{ level: string, obj: any, msg?: string, bindings: any }> } {
  const lines: Array<{ level: string, obj: any, msg?: string, bindings: any }> = []
  const make = (bindings: object): any => {
    const log = (level: string) => (obj: object, msg?: string) => { lines.push({ level, obj, msg, bindings }) }
    return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), child: (b: object) => make({ ...bindings, ...b }) }
  }
  return { logger: make({}), lines }
}
