/**
 * Host patterns used as keys of the `hosts` option: `'host'`, `'host:port'`, `'*.example.com'` and
 * `'*.example.com:8443'`. IPv6 literals go in brackets: `'[::1]:8443'`. The most specific pattern
 * wins: an exact host with a port, then an exact host, then the wildcard with the longest suffix;
 * between two patterns otherwise equal, the one with a port wins.
 */

export interface HostPattern {
  /** The key as the user wrote it. */
  readonly key: string
  /** Lower-case host without brackets; for a wildcard, the suffix after `*.` */
  readonly host: string
  readonly wildcard: boolean
  readonly port: number | undefined
  /** Higher is more specific. */
  readonly rank: number
}

const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/

/** Returns the parsed pattern, or a string that says what is wrong with it. */
export function parseHostPattern (key: string): HostPattern | string {
  if (typeof key !== 'string' || key.length === 0) return 'must be a non-empty host pattern'
  if (key.trim() !== key || /\s/.test(key)) return 'must not contain white space'
  if (key.includes('://')) return 'must be a host such as \'api.example.com\' or \'api.example.com:8443\', not a URL'
  if (/[/?#@]/.test(key)) return 'must be a host pattern without a path, query, fragment or credentials'

  let rest = key.toLowerCase()
  let port: number | undefined
  let host: string

  if (rest.startsWith('[')) {
    const end = rest.indexOf(']')
    if (end === -1) return 'has an unclosed \'[\''
    host = rest.slice(1, end)
    const after = rest.slice(end + 1)
    if (after !== '') {
      if (!after.startsWith(':')) return 'has text after \']\' that is not a port'
      const parsed = parsePort(after.slice(1))
      if (typeof parsed === 'string') return parsed
      port = parsed
    }
    if (!/^[0-9a-f:.]+$/.test(host) || !host.includes(':')) return 'has an invalid IPv6 address in brackets'
    const canonical = canonicalHost(`[${host}]`)
    if (canonical === undefined) return 'has an invalid IPv6 address in brackets'
    return { key, host: canonical, wildcard: false, port, rank: 3_000 + (port === undefined ? 0 : 5) }
  }

  const colon = rest.lastIndexOf(':')
  if (colon !== -1) {
    if (rest.indexOf(':') !== colon) return 'looks like an IPv6 address: write it in brackets, such as \'[::1]:8443\''
    const parsed = parsePort(rest.slice(colon + 1))
    if (typeof parsed === 'string') return parsed
    port = parsed
    rest = rest.slice(0, colon)
  }
  if (rest.endsWith('.')) rest = rest.slice(0, -1)

  let wildcard = false
  if (rest.startsWith('*.')) {
    wildcard = true
    rest = rest.slice(2)
  }
  if (rest.includes('*')) return 'may only use \'*\' as its whole first label, as in \'*.example.com\''
  if (rest === '') return 'has no host name'
  if (!wildcard && /^[0-9.x]+$/.test(rest)) {
    // An IPv4 address in any form URL accepts ('127.1', '0x7f.0.0.1'): compare in URL's form.
    const canonical = canonicalHost(rest)
    if (canonical === undefined) return `has an invalid IPv4 address '${rest}'`
    rest = canonical
  }
  const labels = rest.split('.')
  for (const label of labels) {
    if (!LABEL.test(label)) return `has an invalid label '${label}'`
  }
  host = rest
  const rank = (wildcard ? 1_000 + labels.length * 10 : 3_000) + (port === undefined ? 0 : 5)
  return { key, host, wildcard, port, rank }
}

/** The host as `URL#hostname` writes it (brackets removed), or undefined when URL refuses it. */
function canonicalHost (host: string): string | undefined {
  try {
    const hostname = new URL(`https://${host}/`).hostname
    return hostname.startsWith('[') ? hostname.slice(1, -1) : hostname
  } catch {
    return undefined
  }
}

function parsePort (text: string): number | string {
  if (!/^\d{1,5}$/.test(text)) return `has an invalid port '${text}'`
  const port = Number(text)
  if (port < 1 || port > 65_535) return `has a port out of range: ${port}`
  return port
}

/** Normalizes a host name for matching: lower case, no brackets, no trailing dot. */
export function normalizeHostname (hostname: string): string {
  let host = hostname.toLowerCase()
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
  if (host.endsWith('.')) host = host.slice(0, -1)
  return host
}

export function patternMatches (pattern: HostPattern, hostname: string, port: number): boolean {
  if (pattern.port !== undefined && pattern.port !== port) return false
  if (!pattern.wildcard) return pattern.host === hostname
  return hostname.length > pattern.host.length + 1 && hostname.endsWith('.' + pattern.host)
}

/** Matches hosts against a set of patterns, most specific first, with a small memo. */
export class HostMatcher<T> {
  readonly #rules: Array<{ pattern: HostPattern, value: T }>
  readonly #memo = new Map<string, T | undefined>()
  readonly #memoMax: number

  constructor (rules: Array<{ pattern: HostPattern, value: T }>, memoMax = 10_000) {
    this.#rules = [...rules].sort((a, b) => b.pattern.rank - a.pattern.rank)
    this.#memoMax = memoMax
  }

  get size (): number {
    return this.#rules.length
  }

  match (hostname: string, port: number): T | undefined {
    if (this.#rules.length === 0) return undefined
    const host = normalizeHostname(hostname)
    const key = `${host} ${port}`
    if (this.#memo.has(key)) return this.#memo.get(key)
    let found: T | undefined
    for (const rule of this.#rules) {
      if (patternMatches(rule.pattern, host, port)) {
        found = rule.value
        break
      }
    }
    if (this.#memo.size >= this.#memoMax) this.#memo.clear()
    this.#memo.set(key, found)
    return found
  }
}
