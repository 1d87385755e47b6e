import tls, { type ConnectionOptions } from 'node:tls'
import type { X509Certificate } from 'node:crypto'
import type { buildConnector } from 'undici'
import type { Proxy } from '../proxy/options.ts'
import { caIssuersUrls, describeUrl, type FetchOutcome, type IntermediateFetch, type RouteFor } from './aia.ts'
import { aiaRoute } from './aia-route.ts'
import { IntermediateCache, type IntermediateSource } from './intermediate-cache.ts'
import type { IntermediateStore } from './stored-intermediates.ts'
import { quoteOutside } from '../outside-text.ts'
import { decideMissingIntermediate, decideStoredIntermediatesFailed } from '../decide.ts'

/**
 * The connector's handling of a server that does not send its intermediate certificate
 * (`fetchIntermediates`): the leaf a failed handshake saw, the intermediates fetched (or read from
 * the store) per origin, the TLS options that carry them, and the one retry with them. The
 * connector owns one and hands it each https: connect (src/connector.ts).
 */

const MAX_KNOWN_INTERMEDIATES = 1_024

/** TLS options and their memoizing identity, as the connector resolves them (`ResolvedTls`). */
interface Tls { key: object, options: ConnectionOptions }

type Callback = buildConnector.Callback

/** Intermediates a handshake goes with: where they came from, and whether this is already the retry. */
export interface WithIntermediates { pem: string[], source: IntermediateSource, retried: boolean }

export interface MissingIntermediatesOptions {
  /** TCP options for the AIA fetch's own connection. */
  tcp: Record<string, unknown>
  /** The proxy an `http:` URL of this host goes through (AIA fetches: the user's http: proxy rules, unfiltered). */
  httpProxy?: ((hostname: string, port: number) => Proxy | undefined) | undefined
  /** The policy store, when it keeps fetched intermediates (shared with other processes). */
  intermediateStore?: IntermediateStore | undefined
}

/**
 * Adds to a certificate error's message what the leaf tells (its code stays): the server did not
 * send its intermediate, the leaf says where it lives, the option that fetches it, the server-side fix.
 */
function explainMissingIntermediate (error: Error, leaf: X509Certificate, url: string, outcome: FetchOutcome | undefined): void {
  const where = quoteOutside(describeUrl(url))
  const issuer = quoteOutside(leaf.issuer.replaceAll('\n', ', '))
  const fetched = outcome === undefined
    ? 'fetchIntermediates: true (or hosts[\'<host>\'].fetchIntermediates) fetches it and retries with it as an untrusted intermediate'
    : `fetchIntermediates could not use it (${outcome})`
  error.message = `${error.message} (the server did not send the intermediate certificate that issued its own, ${issuer}; ` +
    `its certificate says the issuer is at ${where}; ${fetched}; the fix on the server is to send its intermediate certificates with its certificate)`
}

export class MissingIntermediates {
  readonly #options: MissingIntermediatesOptions
  /** The leaf a failed handshake saw, by the error the socket emitted (only when verification failed). */
  readonly #leaves = new WeakMap<Error, X509Certificate>()
  readonly #intermediates = new IntermediateCache()
  /** Per origin, the intermediates fetched for it (PEM): its next connections send them from the start. */
  readonly #knownIntermediates = new Map<string, { pem: string[], source: IntermediateSource }>()
  readonly #intermediateTls = new WeakMap<object, Map<string, Tls>>()

  constructor (options: MissingIntermediatesOptions) {
    this.#options = options
  }

  /** Remembers the leaf of the connection whose socket emitted this error. */
  noteLeaf (error: Error, leaf: X509Certificate): void {
    this.#leaves.set(error, leaf)
  }

  /**
   * The intermediates a connect to this origin goes with: those of a retry, else those fetched for
   * this origin before (with the first handshake: no failed one, no fetch), when the host fetches them.
   */
  known (origin: string, fetch: IntermediateFetch | undefined, retry: WithIntermediates | undefined): WithIntermediates | undefined {
    const remembered = fetch === undefined ? undefined : this.#knownIntermediates.get(origin)
    return retry ?? (remembered === undefined ? undefined : { ...remembered, retried: false })
  }

  /**
   * Wraps a connect callback: a handshake that failed because the server did not send the
   * intermediate that issued its leaf (`UNABLE_TO_VERIFY_LEAF_SIGNATURE`), whose leaf names a
   * `caIssuers` URL, is retried once (`retry`) with the intermediate fetched from there when the host has
   * `fetchIntermediates` (src/certs/aia.ts); the fetched certificate is untrusted, so the retried
   * handshake verifies the whole chain to a root the user trusts. Otherwise, or when the fetch or the
   * retry fails, the caller gets the original error with its code, its message saying what we know.
   */
  onFailure (callback: Callback, origin: string, fetch: IntermediateFetch | undefined, used: WithIntermediates | undefined,
    retry: (intermediates: WithIntermediates) => void): Callback {
    return (error, socket) => {
      if (error === null) {
        callback(null, socket)
        return
      }
      const leaf = this.#leaves.get(error)
      // Intermediates a store gave that did not verify: fetched afresh once, whatever the code.
      const stored = used?.source === 'stored'
      const step = leaf === undefined
        ? { kind: 'pass' as const }
        : stored
          ? decideStoredIntermediatesFailed(caIssuersUrls(leaf), fetch !== undefined)
          : decideMissingIntermediate((error as { code?: string }).code, caIssuersUrls(leaf), fetch !== undefined, used?.retried === true)
      if (step.kind === 'pass' || leaf === undefined) {
        callback(error, null)
        return
      }
      const url = step.url
      if (step.kind === 'explain' || fetch === undefined) {
        explainMissingIntermediate(error, leaf, url, undefined)
        callback(error, null)
        return
      }
      if (used !== undefined) this.#knownIntermediates.delete(origin)
      const tcp = this.#options.tcp
      const routeFor: RouteFor = (host, port) => aiaRoute(this.#options.httpProxy?.(host, port), host, port, tcp, fetch.timeout)
      this.#intermediates.obtain(leaf, url, origin, fetch, routeFor, this.#options.intermediateStore, stored).then(({ pem, outcome, source }) => {
        if (pem === undefined) {
          explainMissingIntermediate(error, leaf, url, outcome)
          callback(error, null)
          return
        }
        if (this.#knownIntermediates.size >= MAX_KNOWN_INTERMEDIATES) this.#knownIntermediates.clear()
        this.#knownIntermediates.set(origin, { pem, source })
        try {
          // A store's intermediates get their own retry: a fresh fetch if they do not verify.
          retry({ pem, source, retried: source === 'fetched' })
        } catch (retryError) {
          callback(retryError as Error, null)
        }
      }, (fetchError: unknown) => { callback(fetchError as Error, null) })
    }
  }

  /** The host's TLS options with these PEM intermediates beside the roots it trusts (untrusted: not self-signed). */
  withIntermediates (base: Tls, pem: string[]): Tls {
    let byPem = this.#intermediateTls.get(base.key)
    if (byPem === undefined) {
      byPem = new Map()
      this.#intermediateTls.set(base.key, byPem)
    }
    const id = pem.join('')
    let resolved = byPem.get(id)
    if (resolved === undefined) {
      const own = base.options.ca
      const roots = own === undefined ? tls.getCACertificates('default') : Array.isArray(own) ? own : [own]
      resolved = { key: {}, options: { ...base.options, ca: [...roots, ...pem] } }
      if (byPem.size >= MAX_KNOWN_INTERMEDIATES) byPem.clear()
      byPem.set(id, resolved)
    }
    return resolved
  }
}
