import { ValueType, type Attributes, type Counter, type Meter } from '@opentelemetry/api'
import * as N from './semconv.ts'

/** Attribute values shared by the instrumentation's metrics and span events (src/opentelemetry/*). */

const ERROR_TYPE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/

export function errorType (code: string | undefined): string {
  return code !== undefined && ERROR_TYPE.test(code) ? code : N.OTHER
}

/** A counter of whole numbers. */
export function intCounter (meter: Meter, name: string, unit: string, description: string): Counter {
  return meter.createCounter(name, { description, unit, valueType: ValueType.INT })
}

export function serverOf (origin: string): { address: string, port: number } | undefined {
  try {
    const url = new URL(origin)
    return { address: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port === '' ? 443 : Number(url.port) }
  } catch {
    return undefined
  }
}

/** Span events are not aggregated: they get the real server, whatever `maxServers` says. */
export function exactServer (origin: string): Attributes {
  const server = serverOf(origin)
  return server === undefined ? {} : { [N.ATTR_SERVER_ADDRESS]: server.address, [N.ATTR_SERVER_PORT]: server.port }
}
