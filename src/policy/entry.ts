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
