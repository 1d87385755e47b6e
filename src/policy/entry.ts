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

/**
 * Checks an entry that came from outside the process (a file, Redis, a custom store). Returns the
 * entry, or a string that says what is wrong with it.
 */
export function validateEntry (value: unknown, origin?: string): PolicyEntry | string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not an object'
  const e = value as Record<string, unknown>
  if (typeof e.origin !== 'string') return 'origin is not a string'
  let parsed: URL
  try {
    parsed = new URL(e.origin)
  } catch {
    return 'origin is not a URL'
  }
  if (parsed.origin !== e.origin || parsed.protocol !== 'https:') return 'origin is not an https origin'
  if (origin !== undefined && e.origin !== origin) return `origin ${e.origin} does not match the key ${origin}`
  if (!isStackName(e.stack)) return `unknown stack ${JSON.stringify(e.stack)}`
  if (e.http1Only !== undefined && typeof e.http1Only !== 'boolean') return 'http1Only is not a boolean'
  if (typeof e.fingerprint !== 'string' || !(FINGERPRINTS as readonly string[]).includes(e.fingerprint)) {
    return `unknown fingerprint ${JSON.stringify(e.fingerprint)}`
  }
  if (e.evidence === null || typeof e.evidence !== 'object' || Array.isArray(e.evidence)) return 'evidence is not an object'
  const ev = e.evidence as Record<string, unknown>
  if (typeof ev.verified !== 'boolean' || typeof ev.summary !== 'string') return 'evidence lacks verified or summary'
  if (!isFiniteNumber(e.learnedAt) || !isFiniteNumber(e.expiresAt)) return 'learnedAt or expiresAt is not a number'
  if (e.expiresAt < e.learnedAt) return 'expiresAt is before learnedAt'
  return value as PolicyEntry
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
 * copied. Shared evidence is frozen.
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
  return entry.http1Only === true
    ? { origin, stack, http1Only: true, fingerprint, evidence, learnedAt, expiresAt }
    : { origin, stack, fingerprint, evidence, learnedAt, expiresAt }

  function makeEvidence (): Evidence {
    // Object literals (never spreads or deletes): evidence of one kind shares one compact hidden class.
    return shared !== undefined
      ? { errorCode, tlsVersion, cipher, bytesReceived, bytesSent, plaintextReceived, records: shared, verified, summary }
      : renegotiations !== undefined
        ? { errorCode, tlsVersion, cipher, bytesReceived, bytesSent, plaintextReceived, renegotiations, verified, summary }
        : { errorCode, tlsVersion, cipher, bytesReceived, bytesSent, plaintextReceived, verified, summary }
  }
}
