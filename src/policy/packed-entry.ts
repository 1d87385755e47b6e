import { inspect } from 'node:util'
import type { Evidence } from '../fingerprint.ts'
import { INTERN_MAX_BYTES, MAX_SHARED_EVIDENCE, type PolicyEntry } from './entry.ts'
import { InternTable, stringBytes, type InternTableStats } from './intern-table.ts'

/**
 * Evidence kept compactly in a cache entry. Caches share equal evidence objects (compactEntry), but
 * only up to a bound; past it, when every origin's evidence differs (its byte counts vary with the
 * size of the request that failed), each entry would carry an evidence object of its own: nine
 * fields, about 100 bytes. A packed entry instead keeps the three byte counts in hidden slots of
 * the entry itself and the rest of the evidence (strings, record counts, the verdict: few distinct
 * values) in a shared frozen template. `entry.evidence` is an enumerable getter that rebuilds an
 * equal Evidence object, with the same keys in the same order, at each read.
 *
 * The entry stays a plain object (Object.prototype), so it compares equal (deepStrictEqual) to the
 * entry that was stored and serializes (JSON.stringify, spread, structuredClone) to the same data;
 * it is one stable object for as long as it is stored (the agent validates each entry object once).
 */

const TEMPLATE = Symbol('evidence template')
const BYTES_RECEIVED = Symbol('bytesReceived')
const BYTES_SENT = Symbol('bytesSent')
const PLAINTEXT_RECEIVED = Symbol('plaintextReceived')

/** The evidence's layouts that compactEntry writes (its object literals), by their keys. */
const LAYOUTS = {
  records: 'errorCode,tlsVersion,cipher,bytesReceived,bytesSent,plaintextReceived,records,verified,summary',
  renegotiations: 'errorCode,tlsVersion,cipher,bytesReceived,bytesSent,plaintextReceived,renegotiations,verified,summary',
  plain: 'errorCode,tlsVersion,cipher,bytesReceived,bytesSent,plaintextReceived,verified,summary'
} as const
type Layout = keyof typeof LAYOUTS

interface Template {
  layout: Layout
  errorCode: Evidence['errorCode']
  tlsVersion: Evidence['tlsVersion']
  cipher: Evidence['cipher']
  records: Evidence['records']
  renegotiations: Evidence['renegotiations']
  verified: boolean
  summary: string
}

interface Packed {
  [TEMPLATE]: Template
  [BYTES_RECEIVED]: number
  [BYTES_SENT]: number
  [PLAINTEXT_RECEIVED]: number
}

/** A template's bytes beyond its key (its strings are in the key, or shared with the strings table). */
const TEMPLATE_BYTES = 100
const templates = new InternTable<Template>(MAX_SHARED_EVIDENCE, INTERN_MAX_BYTES)

function layoutOf (evidence: Evidence): Layout | undefined {
  const keys = Object.keys(evidence).join(',')
  if (keys === LAYOUTS.records) return 'records'
  if (keys === LAYOUTS.renegotiations) return 'renegotiations'
  if (keys === LAYOUTS.plain) return 'plain'
  return undefined
}

function templateKey (layout: Layout, t: Pick<Evidence, 'errorCode' | 'tlsVersion' | 'cipher' | 'records' | 'renegotiations' | 'verified' | 'summary'>): string {
  const { errorCode, tlsVersion, cipher, records, renegotiations, verified, summary } = t
  return `${layout}|${errorCode}|${tlsVersion}|${cipher}|${records === undefined ? '' : `${records.helloRequests},${records.serverAlerts},${records.clientAlerts}`}|${renegotiations}|${verified}|${summary}`
}

/** The shared template for this evidence, with one reference taken; undefined when the table is full. */
function templateFor (evidence: Evidence, layout: Layout): Template | undefined {
  const { errorCode, tlsVersion, cipher, records, renegotiations, verified, summary } = evidence
  const key = templateKey(layout, evidence)
  // The template's strings count once more: they may be copies of their own (the strings table was full).
  return templates.acquire(key, () => Object.freeze({ layout, errorCode, tlsVersion, cipher, records, renegotiations, verified, summary }), TEMPLATE_BYTES + stringBytes(key))
}

/** Gives back the template a packed entry took, when its cache drops it (see releaseEntry). */
export function releasePacked (entry: PolicyEntry): void {
  const template = (entry as Partial<Packed>)[TEMPLATE]
  if (template !== undefined) templates.release(templateKey(template.layout, template), template)
}

/** What the templates table holds (for tests and the bench). */
export function templateTableStats (): InternTableStats {
  return templates.stats()
}

/** Rebuilds the evidence: object literals, one per layout, in compactEntry's key order. */
function evidenceGetter (this: Packed): Evidence {
  const t = this[TEMPLATE]
  const bytesReceived = this[BYTES_RECEIVED]
  const bytesSent = this[BYTES_SENT]
  const plaintextReceived = this[PLAINTEXT_RECEIVED]
  const { errorCode, tlsVersion, cipher, verified, summary } = t
  switch (t.layout) {
    case 'records':
      return { errorCode, tlsVersion, cipher, bytesReceived, bytesSent, plaintextReceived, records: t.records, verified, summary }
    case 'renegotiations':
      return { errorCode, tlsVersion, cipher, bytesReceived, bytesSent, plaintextReceived, renegotiations: t.renegotiations, verified, summary }
    default:
      return { errorCode, tlsVersion, cipher, bytesReceived, bytesSent, plaintextReceived, verified, summary }
  }
}

/** util.inspect (console.log) shows the evidence's data, not `[Getter]`. */
function inspectPacked (this: PolicyEntry): object {
  return { ...this }
}

// One descriptor object each, shared: entries packed alike share one hidden class.
const EVIDENCE = { get: evidenceGetter, enumerable: true, configurable: false }
const hidden = (value: unknown): PropertyDescriptor => ({ value, enumerable: false, writable: false, configurable: false })
const INSPECT = hidden(inspectPacked)
const writable = (value: unknown): PropertyDescriptor => ({ value, enumerable: true, writable: true, configurable: true })

/**
 * The packed form of an entry that compactEntry returned, when its evidence is an object of its own
 * (equal evidence already shared is frozen, and kept as it is). Returns the entry unchanged when its
 * evidence has another layout or the templates are full.
 */
export function packEntry (entry: PolicyEntry): PolicyEntry {
  const evidence = entry.evidence
  if (Object.isFrozen(evidence)) return entry
  const layout = layoutOf(evidence)
  if (layout === undefined) return entry
  const template = templateFor(evidence, layout)
  if (template === undefined) return entry
  const packed = {}
  // Defined in the entry's key order, so that JSON.stringify writes the same text.
  Object.defineProperty(packed, 'origin', writable(entry.origin))
  Object.defineProperty(packed, 'stack', writable(entry.stack))
  if (entry.http1Only !== undefined) Object.defineProperty(packed, 'http1Only', writable(entry.http1Only))
  Object.defineProperty(packed, 'fingerprint', writable(entry.fingerprint))
  Object.defineProperty(packed, 'evidence', EVIDENCE)
  Object.defineProperty(packed, 'learnedAt', writable(entry.learnedAt))
  Object.defineProperty(packed, 'expiresAt', writable(entry.expiresAt))
  Object.defineProperty(packed, TEMPLATE, hidden(template))
  Object.defineProperty(packed, BYTES_RECEIVED, hidden(evidence.bytesReceived))
  Object.defineProperty(packed, BYTES_SENT, hidden(evidence.bytesSent))
  Object.defineProperty(packed, PLAINTEXT_RECEIVED, hidden(evidence.plaintextReceived))
  Object.defineProperty(packed, inspect.custom, INSPECT)
  return packed as PolicyEntry
}

/** Whether an entry keeps its evidence packed (for tests and the bench). */
export function isPacked (entry: PolicyEntry): boolean {
  return Object.getOwnPropertyDescriptor(entry, 'evidence')?.get === evidenceGetter
}
