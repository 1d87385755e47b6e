import type { X509Certificate } from 'node:crypto'
import { escapeOutside, quoteOutside } from '../outside-text.ts'
import { describeUrl, fetchIssuers, issued, report, type FetchOutcome, type IntermediateFetch, type RouteFor } from './aia.ts'
import { acceptStored, intermediateKey, type IntermediateStore } from './stored-intermediates.ts'

const MAX_REMEMBERED = 256
const REMEMBER_MS = 24 * 60 * 60 * 1000

/** Where intermediates came from: fetched by this process, or read back from a policy store (outside text). */
export type IntermediateSource = 'fetched' | 'stored'

interface Remembered { pem: string[], expires: number, source: IntermediateSource }

export interface Obtained {
  pem: string[] | undefined
  outcome: FetchOutcome
  source: IntermediateSource
}

/**
 * The intermediates fetched so far, per issuer (the leaf's issuer name and the URL), in memory,
 * bounded (256 issuers, oldest out first), each kept for a day or until it expires, whichever is
 * first; and, with a policy store that keeps them, shared through it (src/certs/stored-intermediates.ts).
 * Only certificates that issued a leaf are kept; they stay untrusted.
 */
export class IntermediateCache {
  readonly #remembered = new Map<string, Remembered>()
  readonly #inflight = new Map<string, Promise<Obtained>>()

  /**
   * The PEM intermediates to retry `leaf`'s handshake with: remembered, read back from `store` and
   * checked, or fetched from `url`. `fresh`: fetch, whatever is remembered or stored (what was
   * stored did not verify), and replace it. Publishes one event per fetch or store read.
   */
  async obtain (leaf: X509Certificate, url: string, origin: string, options: IntermediateFetch, routeFor?: RouteFor,
    store?: IntermediateStore, fresh = false): Promise<Obtained> {
    const key = `${leaf.issuer}\n${url}`
    const known = this.#remembered.get(key)
    if (!fresh && known !== undefined && known.expires > Date.now()) return { pem: known.pem, outcome: 'cached', source: known.source }
    if (known !== undefined) this.#remembered.delete(key)
    const flight = `${fresh ? 'fresh' : 'any'}\n${key}`
    let pending = this.#inflight.get(flight)
    if (pending === undefined) {
      pending = this.#obtain(key, leaf, url, origin, options, routeFor, store, fresh).finally(() => { this.#inflight.delete(flight) })
      this.#inflight.set(flight, pending)
    }
    return await pending
  }

  async #obtain (key: string, leaf: X509Certificate, url: string, origin: string, options: IntermediateFetch, routeFor: RouteFor | undefined,
    store: IntermediateStore | undefined, fresh: boolean): Promise<Obtained> {
    const storeKey = intermediateKey(leaf, url)
    if (store !== undefined && !fresh) {
      const began = performance.now()
      const stored = await this.#read(store, storeKey, leaf, options)
      if (stored !== undefined) {
        report(url, origin, 'stored', { outcome: 'stored', certificates: [], bytes: stored.bytes }, performance.now() - began, options.logger)
        this.#remember(key, stored.pem, stored.notAfter, 'stored')
        return { pem: stored.pem, outcome: 'stored', source: 'stored' }
      }
    }
    const began = performance.now()
    const result = await fetchIssuers(url, options, routeFor)
    const issuers = result.certificates.filter((c) => issued(c, leaf))
    const outcome: FetchOutcome = result.outcome === 'fetched' && issuers.length === 0 ? 'not-issuer' : result.outcome
    report(url, origin, outcome, result, performance.now() - began, options.logger)
    if (outcome !== 'fetched') return { pem: undefined, outcome, source: 'fetched' }
    // A server that does not send its intermediate is misconfigured, and the agent just asked a host
    // the user did not name, on the server's word: once per issuer (then remembered), not at debug only.
    options.logger?.warn({ event: 'intermediate-missing', origin, url: escapeOutside(describeUrl(url)), issuer: escapeOutside(leaf.issuer.replaceAll('\n', ', ')) },
      `${quoteOutside(origin)} did not send the intermediate certificate that issued its own: fetched it from ${quoteOutside(describeUrl(url))} (fetchIntermediates); the fix is on the server`)
    // The issuer first, then the other CA certificates of a bundle (still untrusted).
    const chain = [...issuers, ...result.certificates.filter((c) => c.ca && !issuers.includes(c))]
    const pem = chain.map((c) => c.toString())
    const notAfter = Math.min(...issuers.map((c) => Date.parse(c.validTo)))
    const expires = this.#remember(key, pem, notAfter, 'fetched')
    try {
      store?.saveIntermediates(storeKey, pem.join(''), expires)
    } catch {}
    return { pem, outcome, source: 'fetched' }
  }

  /** What the store holds for the issuer, if it checks out (see acceptStored); a refused value is logged and then fetched over. */
  async #read (store: IntermediateStore, storeKey: string, leaf: X509Certificate, options: IntermediateFetch): Promise<{ pem: string[], notAfter: number, bytes: number } | undefined> {
    let text: unknown
    try {
      // Bounded here too: a custom store that ignores the signal cannot hold the handshake.
      const signal = AbortSignal.timeout(options.timeout)
      text = await new Promise<unknown>((resolve, reject) => {
        signal.addEventListener('abort', () => { resolve(undefined) }, { once: true })
        Promise.resolve().then(() => store.loadIntermediates(storeKey, signal)).then(resolve, reject)
      })
    } catch {
      return undefined
    }
    if (text === undefined || text === null) return undefined
    const checked = acceptStored(text, leaf)
    if (typeof checked === 'string') {
      options.logger?.warn({ event: 'intermediate-store', problem: checked }, `ignoring the intermediate the policy store holds for ${quoteOutside(leaf.issuer.replaceAll('\n', ', '))}: ${checked}; fetching it again`)
      return undefined
    }
    return { ...checked, bytes: (text as string).length }
  }

  #remember (key: string, pem: string[], notAfter: number, source: IntermediateSource): number {
    const expires = Math.min(Date.now() + REMEMBER_MS, Number.isFinite(notAfter) ? notAfter : 0)
    if (this.#remembered.size >= MAX_REMEMBERED) this.#remembered.delete(this.#remembered.keys().next().value as string)
    this.#remembered.set(key, { pem, expires, source })
    return expires
  }

  get size (): number {
    return this.#remembered.size
  }
}
