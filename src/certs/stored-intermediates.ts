import { createHash, type X509Certificate } from 'node:crypto'
import { fitsBytes } from '../policy/store-support.ts'
import { issued, parseCertificates } from './aia.ts'

/**
 * Fetched intermediates kept in a policy store (memory, file, Redis), per issuer, so that a new
 * process or another replica does not fetch them again. What a store gives back is outside text:
 * whoever can write to the file or to Redis decides it. So it is only ever used as an UNTRUSTED
 * intermediate (the chain must still end at a root the user trusts), and only after it is bounded
 * (MAX_STORED_BYTES, MAX_STORED_CERTIFICATES), parsed, and found to be CA certificates, the first of
 * which issued the leaf (its subject is the leaf's issuer and its key verifies the leaf's signature),
 * all of them within their validity. A handshake that still fails with a stored intermediate is
 * retried once with a fresh fetch, which then replaces the stored value (src/connector.ts).
 */

/** The optional part of a `PolicyCache` that keeps fetched intermediates. */
export interface IntermediateStore {
  /** The PEM text kept under `key`, or undefined (none, expired, the store unreachable within `signal`). */
  loadIntermediates: (key: string, signal: AbortSignal) => Promise<string | undefined>
  /** Keeps `pem` under `key` until `expiresAt` (ms since the epoch), or the store's TTL if sooner. */
  saveIntermediates: (key: string, pem: string, expiresAt: number) => void
}

/** The largest stored value read (UTF-8 bytes): eight certificates of 8 KB as PEM. Larger: refused before it is parsed. */
export const MAX_STORED_BYTES = 65_536
/** The most certificates used from one stored value. */
export const MAX_STORED_CERTIFICATES = 8
/** How many issuers a memory or file store keeps (the oldest out first). */
export const MAX_STORED_ISSUERS = 64

/** The store key of a leaf's issuer and AIA URL: a hash, so that no name or URL text ends up as a key. */
export function intermediateKey (leaf: X509Certificate, url: string): string {
  return createHash('sha256').update(`${leaf.issuer}\n${url}`).digest('hex')
}

/** Whether a value is a key `intermediateKey` makes (64 lowercase hex digits). */
export function isIntermediateKey (key: unknown): key is string {
  return typeof key === 'string' && /^[0-9a-f]{64}$/.test(key)
}

/**
 * The certificates of a stored value that may be tried as untrusted intermediates for `leaf`, as
 * PEM (the leaf's issuer first), or a string saying why none may.
 */
export function acceptStored (text: unknown, leaf: X509Certificate, now = Date.now()): { pem: string[], notAfter: number } | string {
  if (typeof text !== 'string') return 'not text'
  if (!fitsBytes(text, MAX_STORED_BYTES)) return `larger than ${MAX_STORED_BYTES} bytes`
  // One more than the bound, so that a value with too many is refused, not cut.
  const certificates = parseCertificates(Buffer.from(text, 'latin1'), MAX_STORED_CERTIFICATES + 1)
  if (certificates.length === 0) return 'no certificate'
  if (certificates.length > MAX_STORED_CERTIFICATES) return `more than ${MAX_STORED_CERTIFICATES} certificates`
  if (!certificates.every((c) => c.ca)) return 'a certificate that is not a CA'
  if (!certificates.every((c) => Date.parse(c.validFrom) <= now && Date.parse(c.validTo) > now)) return 'a certificate outside its validity'
  const first = certificates[0] as X509Certificate
  if (!issued(first, leaf)) return 'its first certificate did not issue the leaf'
  return { pem: certificates.map((c) => c.toString()), notAfter: Math.min(...certificates.map((c) => Date.parse(c.validTo))) }
}

interface Kept { pem: string, expiresAt: number }

/** The intermediates a memory or file store keeps: at most MAX_STORED_ISSUERS, each until it expires. */
export class IntermediateShelf {
  readonly #kept = new Map<string, Kept>()
  readonly #ttl: number

  constructor (ttl: number) {
    this.#ttl = ttl
  }

  get (key: string, now = Date.now()): string | undefined {
    const kept = this.#kept.get(key)
    if (kept === undefined) return undefined
    if (kept.expiresAt > now) return kept.pem
    this.#kept.delete(key)
    return undefined
  }

  /** Keeps a value (capped at now + ttl); false when it was refused (a bad key, too large, expired). */
  set (key: unknown, pem: unknown, expiresAt: unknown, now = Date.now()): boolean {
    if (!isIntermediateKey(key) || typeof pem !== 'string' || !fitsBytes(pem, MAX_STORED_BYTES)) return false
    if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt) || expiresAt <= now) return false
    this.#kept.delete(key)
    this.#kept.set(key, { pem, expiresAt: Math.min(expiresAt, now + this.#ttl) })
    while (this.#kept.size > MAX_STORED_ISSUERS) this.#kept.delete(this.#kept.keys().next().value as string)
    return true
  }

  /** What is kept and not expired, oldest first (what a file store writes). */
  entries (now = Date.now()): Array<[string, Kept]> {
    return [...this.#kept].filter(([, kept]) => kept.expiresAt > now)
  }
}
