import type { Evidence, FingerprintId } from '../fingerprint.ts'
import { FINGERPRINTS } from '../fingerprint.ts'
import { quoteOutside } from '../outside-text.ts'
import { isStackName, type StackName } from '../stacks.ts'
import { InternTable, stringBytes, type InternTableStats } from './intern-table.ts'

/** What the agent learned about one origin. JSON-safe, so that stores can keep it anywhere. */
export interface PolicyEntry {
  /** `https://host[:port]` */
  origin: string
  /** The stack every request to this origin uses. */
  stack: StackName
  /** Requests to this origin go over HTTP/1.1 only. */
  http1Only?: boolean
  /** The fingerprint that moved the origin here. */
  fingerprint: FingerprintId
  evidence: Evidence
  /** When it was learned (ms since the epoch). */
  learnedAt: number
  /** When it expires (ms since the epoch); after that the strict stack is tried again. */
  expiresAt: number
}

function isFiniteNumber (value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}

/** What a store knows when it checks an entry: its TTL, and the time (ms since the epoch). */
export interface EntryLimits {
  /** The store's TTL: `expiresAt` is capped at `learnedAt + ttl`. */
  ttl?: number | undefined
  /** Default: `Date.now()`. `learnedAt` is capped at it. */
  now?: number | undefined
}

/**
 * How far in the future a `learnedAt` may lie (clocks of a fleet differ a little) before the entry
 * is refused. Within it, `learnedAt` is capped at now.
 */
export const MAX_CLOCK_SKEW = 60_000

/**
 * The most an entry may take as JSON text (UTF-8 bytes). A store checks a value's length against it
 * before it parses the value (a Redis value, a pub/sub message); every entry this library writes is
 * far smaller (about 400 bytes), and one that fits every bound below fits this one.
 */
export const MAX_ENTRY_BYTES = 8_192
/** The longest origin kept: `https://`, a 253-character DNS name and `:65535` take 267. Longer: refused. */
export const MAX_ORIGIN_CHARS = 300
/** The longest `evidence.errorCode`, `tlsVersion` or `cipher` kept (names: 45 characters at most today). Longer: refused. */
export const MAX_NAME_CHARS = 128
/** The longest `evidence.summary` kept (the agent's own are under 260 characters). Longer: cut, with `…` at the end. */
export const MAX_SUMMARY_CHARS = 512

/**
 * Checks an entry that came from outside the process (a file, Redis, a custom store) and returns a
 * plain copy of it, or a string that says what is wrong with it. Each property is read once: an
 * accessor or a Proxy cannot show one value to the check and another to the agent, because the
 * agent only ever uses the copy. `learnedAt` is capped at now (an entry more than a minute in the
 * future is refused), and with `limits.ttl`, `expiresAt` at `learnedAt + ttl`: an entry never lasts
 * longer, or wins a merge later, than one this store would have written itself.
 */
export function validateEntry (value: unknown, origin?: string, limits: EntryLimits = {}): PolicyEntry | string {
  try {
    return copyEntry(value, origin, limits)
  } catch {
    return 'cannot be read'
  }
}

/** What is wrong with an origin that came from outside (undefined: it is an https origin, at most MAX_ORIGIN_CHARS long). */
export function checkOrigin (origin: unknown): string | undefined {
  if (typeof origin !== 'string') return 'origin is not a string'
  if (origin.length > MAX_ORIGIN_CHARS) return `origin is longer than ${MAX_ORIGIN_CHARS} characters`
  let parsed: URL
  try {
    parsed = new URL(origin)
  } catch {
    return 'origin is not a URL'
  }
  if (parsed.origin !== origin || parsed.protocol !== 'https:') return 'origin is not an https origin'
  return undefined
}

function copyEntry (value: unknown, key: string | undefined, limits: EntryLimits): PolicyEntry | string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not an object'
  const e = value as Record<string, unknown>
  const { origin, stack, http1Only, fingerprint, evidence, learnedAt, expiresAt } = e
  const wrong = checkOrigin(origin)
  if (wrong !== undefined) return wrong
  if (typeof origin !== 'string') return 'origin is not a string'
  if (key !== undefined && origin !== key) return `origin ${quoteOutside(origin)} does not match the key ${quoteOutside(key)}`
  if (!isStackName(stack)) return `unknown stack ${typeof stack === 'string' ? quoteOutside(stack, MAX_NAME_CHARS) : typeof stack}`
  if (http1Only !== undefined && typeof http1Only !== 'boolean') return 'http1Only is not a boolean'
  if (typeof fingerprint !== 'string' || !(FINGERPRINTS as readonly string[]).includes(fingerprint)) {
    return `unknown fingerprint ${typeof fingerprint === 'string' ? quoteOutside(fingerprint, MAX_NAME_CHARS) : typeof fingerprint}`
  }
  const copied = copyEvidence(evidence)
  if (typeof copied === 'string') return copied
  if (!isFiniteNumber(learnedAt) || !isFiniteNumber(expiresAt)) return 'learnedAt or expiresAt is not a number'
  if (expiresAt < learnedAt) return 'expiresAt is before learnedAt'
  const now = limits.now ?? Date.now()
  if (learnedAt > now + MAX_CLOCK_SKEW) return 'learnedAt is in the future'
  const learned = Math.min(learnedAt, now)
  const expires = limits.ttl === undefined ? expiresAt : Math.min(expiresAt, learned + limits.ttl)
  const entry: PolicyEntry = { origin, stack, fingerprint: fingerprint as FingerprintId, evidence: copied, learnedAt: learned, expiresAt: expires }
  if (http1Only !== undefined) entry.http1Only = http1Only
  return entry
}

function copyEvidence (value: unknown): Evidence | string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'evidence is not an object'
  const { errorCode, tlsVersion, cipher, bytesReceived, bytesSent, plaintextReceived, records, renegotiations, verified, summary } = value as Record<string, unknown>
  if (typeof verified !== 'boolean' || typeof summary !== 'string') return 'evidence lacks verified or summary'
  const evidence = {} as Evidence
  if (errorCode !== undefined) {
    if (typeof errorCode !== 'string') return 'evidence.errorCode is not a string'
    if (errorCode.length > MAX_NAME_CHARS) return `evidence.errorCode is longer than ${MAX_NAME_CHARS} characters`
    evidence.errorCode = errorCode
  }
  for (const [name, field] of [['tlsVersion', tlsVersion], ['cipher', cipher]] as const) {
    if (field === undefined) continue
    if (field !== null && typeof field !== 'string') return `evidence.${name} is not a string`
    if (field !== null && field.length > MAX_NAME_CHARS) return `evidence.${name} is longer than ${MAX_NAME_CHARS} characters`
    evidence[name] = field
  }
  for (const [name, field] of [['bytesReceived', bytesReceived], ['bytesSent', bytesSent], ['plaintextReceived', plaintextReceived]] as const) {
    if (field === undefined) continue
    if (!isFiniteNumber(field)) return `evidence.${name} is not a number`
    evidence[name] = field
  }
  if (records !== undefined) {
    if (records === null || typeof records !== 'object') return 'evidence.records is not an object'
    const { helloRequests, serverAlerts, clientAlerts } = records as Record<string, unknown>
    if (!isFiniteNumber(helloRequests) || !isFiniteNumber(serverAlerts) || !isFiniteNumber(clientAlerts)) return 'evidence.records holds something other than counts'
    evidence.records = { helloRequests, serverAlerts, clientAlerts }
  }
  if (renegotiations !== undefined) {
    if (!isFiniteNumber(renegotiations)) return 'evidence.renegotiations is not a number'
    evidence.renegotiations = renegotiations
  }
  evidence.verified = verified
  evidence.summary = summary.length > MAX_SUMMARY_CHARS ? `${summary.slice(0, MAX_SUMMARY_CHARS - 1)}…` : summary
  return evidence
}

/** Distinct strings (error codes, protocols, cipher suites, summaries) and record counts shared. */
export const MAX_INTERNED = 512
/** Distinct evidence objects shared between entries. */
export const MAX_SHARED_EVIDENCE = 4_096
/** The bytes each interning table may hold (strings, record counts, evidence, packed templates). */
export const INTERN_MAX_BYTES = 2 * 1024 * 1024
/** The bytes an evidence object takes beyond its key and strings (nine fields). */
const EVIDENCE_BYTES = 100
const strings = new InternTable<string>(MAX_INTERNED, INTERN_MAX_BYTES)
const records = new InternTable<NonNullable<Evidence['records']>>(MAX_INTERNED, INTERN_MAX_BYTES)
const evidences = new InternTable<Evidence>(MAX_SHARED_EVIDENCE, INTERN_MAX_BYTES)

function intern (value: string | null | undefined): string | null | undefined {
  if (typeof value !== 'string') return value
  return strings.acquire(value, () => value) ?? value
}

function releaseString (value: string | null | undefined): void {
  if (typeof value === 'string') strings.release(value, value)
}

function recordsKey (r: NonNullable<Evidence['records']>): string {
  return `${r.helloRequests},${r.serverAlerts},${r.clientAlerts}`
}

function evidenceKey (e: Evidence): string {
  return `${e.errorCode}|${e.tlsVersion}|${e.cipher}|${e.bytesReceived}|${e.bytesSent}|${e.plaintextReceived}|${e.records === undefined ? '' : recordsKey(e.records)}|${e.renegotiations}|${e.verified}|${e.summary}`
}

/** Bytes of the strings an evidence object holds that the strings table does not (it was full). */
function ownStringBytes (e: Evidence): number {
  let bytes = 0
  for (const value of [e.errorCode, e.tlsVersion, e.cipher, e.summary]) {
    if (typeof value === 'string' && !strings.holds(value, value)) bytes += stringBytes(value)
  }
  return bytes
}

/**
 * A flat copy of a string. `URL#origin` returns a rope (concatenated and sliced pieces) that keeps
 * the URL's whole href alive: about 100 bytes more per cached origin than the flat string.
 */
export function flat (value: string): string {
  return Buffer.from(value, 'utf8').toString('utf8')
}

/**
 * The form in which caches keep an entry: the few strings evidence repeats (cipher suite, protocol,
 * error code, summary), the decoded record counts, and whole evidence objects that are equal (the
 * same kind of server answering the same kind of request) are shared between entries instead of
 * copied. Shared evidence is frozen, and so is the entry.
 */
export function compactEntry (entry: PolicyEntry): PolicyEntry {
  const e = entry.evidence
  let shared = e.records
  if (shared !== undefined) {
    const own = shared
    shared = records.acquire(recordsKey(own), () => Object.freeze({ ...own })) ?? own
  }
  const errorCode = intern(e.errorCode) as string | undefined
  const tlsVersion = intern(e.tlsVersion) as string | null
  const cipher = intern(e.cipher) as string | null
  const summary = intern(e.summary) as string
  const { bytesReceived, bytesSent, plaintextReceived, renegotiations, verified } = e
  const made = makeEvidence()
  const evidence = evidences.acquire(evidenceKey(made), () => Object.freeze(made), EVIDENCE_BYTES + ownStringBytes(made)) ?? made
  const { stack, fingerprint, learnedAt, expiresAt } = entry
  const origin = flat(entry.origin)
  // Frozen: nothing (an accessor included) can be put into a kept entry after it was checked.
  return Object.freeze(entry.http1Only === true
    ? { origin, stack, http1Only: true, fingerprint, evidence, learnedAt, expiresAt }
    : { origin, stack, fingerprint, evidence, learnedAt, expiresAt })

  function makeEvidence (): Evidence {
    // Object literals (never spreads or deletes): evidence of one kind shares one compact hidden class.
    return shared !== undefined
      ? { errorCode, tlsVersion, cipher, bytesReceived, bytesSent, plaintextReceived, records: shared, verified, summary }
      : renegotiations !== undefined
        ? { errorCode, tlsVersion, cipher, bytesReceived, bytesSent, plaintextReceived, renegotiations, verified, summary }
        : { errorCode, tlsVersion, cipher, bytesReceived, bytesSent, plaintextReceived, verified, summary }
  }
}

/**
 * Gives back what compactEntry took for an entry a cache no longer keeps: the shared values no kept
 * entry uses any more leave the tables. Called once per compacted entry, when its cache drops it.
 */
export function releaseEntry (entry: PolicyEntry): void {
  const e = entry.evidence
  if (Object.isFrozen(e)) evidences.release(evidenceKey(e), e)
  // Record counts are equal by content: the one this entry took may not be the one it holds.
  if (e.records !== undefined) records.releaseKey(recordsKey(e.records))
  releaseString(e.errorCode)
  releaseString(e.tlsVersion)
  releaseString(e.cipher)
  releaseString(e.summary)
}

/** What the interning tables hold (for tests and the bench). */
export function entryTableStats (): { strings: InternTableStats, records: InternTableStats, evidences: InternTableStats } {
  return { strings: strings.stats(), records: records.stats(), evidences: evidences.stats() }
}
