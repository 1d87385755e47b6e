import type { Evidence, FingerprintId } from '../fingerprint.ts'
import { FINGERPRINTS } from '../fingerprint.ts'
import { isStackName, type StackName } from '../stacks.ts'

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

function copyEntry (value: unknown, key: string | undefined, limits: EntryLimits): PolicyEntry | string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not an object'
  const e = value as Record<string, unknown>
  const { origin, stack, http1Only, fingerprint, evidence, learnedAt, expiresAt } = e
  if (typeof origin !== 'string') return 'origin is not a string'
  let parsed: URL
  try {
    parsed = new URL(origin)
  } catch {
    return 'origin is not a URL'
  }
  if (parsed.origin !== origin || parsed.protocol !== 'https:') return 'origin is not an https origin'
  if (key !== undefined && origin !== key) return `origin ${origin} does not match the key ${key}`
  if (!isStackName(stack)) return `unknown stack ${JSON.stringify(stack)}`
  if (http1Only !== undefined && typeof http1Only !== 'boolean') return 'http1Only is not a boolean'
  if (typeof fingerprint !== 'string' || !(FINGERPRINTS as readonly string[]).includes(fingerprint)) {
    return `unknown fingerprint ${JSON.stringify(fingerprint)}`
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
    evidence.errorCode = errorCode
  }
  for (const [name, field] of [['tlsVersion', tlsVersion], ['cipher', cipher]] as const) {
    if (field === undefined) continue
    if (field !== null && typeof field !== 'string') return `evidence.${name} is not a string`
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
  evidence.summary = summary
  return evidence
}

const MAX_INTERNED = 512
const MAX_SHARED_EVIDENCE = 4_096
const strings = new Map<string, string>()
const records = new Map<string, NonNullable<Evidence['records']>>()
const evidences = new Map<string, Evidence>()

function intern (value: string | null | undefined): string | null | undefined {
  if (typeof value !== 'string') return value
  const known = strings.get(value)
  if (known !== undefined) return known
  if (strings.size < MAX_INTERNED) strings.set(value, value)
  return value
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
    const key = `${shared.helloRequests},${shared.serverAlerts},${shared.clientAlerts}`
    const known = records.get(key)
    if (known !== undefined) shared = known
    else if (records.size < MAX_INTERNED) records.set(key, shared = Object.freeze({ ...shared }))
  }
  const errorCode = intern(e.errorCode) as string | undefined
  const tlsVersion = intern(e.tlsVersion) as string | null
  const cipher = intern(e.cipher) as string | null
  const summary = intern(e.summary) as string
  const { bytesReceived, bytesSent, plaintextReceived, renegotiations, verified } = e
  const key = `${errorCode}|${tlsVersion}|${cipher}|${bytesReceived}|${bytesSent}|${plaintextReceived}|${shared === undefined ? '' : `${shared.helloRequests},${shared.serverAlerts},${shared.clientAlerts}`}|${renegotiations}|${verified}|${summary}`
  let evidence = evidences.get(key)
  if (evidence === undefined) {
    evidence = makeEvidence()
    if (evidences.size < MAX_SHARED_EVIDENCE) evidences.set(key, Object.freeze(evidence))
  }
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
