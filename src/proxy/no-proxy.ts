/**
 * `NO_PROXY`, with the rules of undici's `EnvHttpProxyAgent`: entries separated by commas or
 * white space; `*` alone bypasses every host (`*:80` only port 80); `example.com` and
 * `.example.com` match the host and its subdomains; `*.example.com` only subdomains; `host:port`
 * only that port; IPv6 with a port in brackets (`[::1]:443`). Matching is case-insensitive and
 * ignores a trailing dot.
 */
interface Entry {
  hostname: string
  port: number
  wildcard: boolean
}

export class NoProxyList {
  readonly #entries: Entry[]

  constructor (value: string) {
    const entries: Entry[] = []
    for (const entry of value.split(/[,\s]/)) {
      if (entry === '') continue
      let hostname: string
      let port: number
      const ipv6WithPort = /^\[(.+)\]:(\d+)$/.exec(entry)
      if (ipv6WithPort !== null) {
        hostname = ipv6WithPort[1] as string
        port = Number.parseInt(ipv6WithPort[2] as string, 10)
      } else {
        const unbracketed = entry.replace(/^\[(.+)\]$/, '$1')
        const colons = (unbracketed.match(/:/g) ?? []).length
        const parsed = colons === 1 ? /^(.+):(\d+)$/.exec(unbracketed) : null
        hostname = parsed === null ? unbracketed : parsed[1] as string
        port = parsed === null ? 0 : Number.parseInt(parsed[2] as string, 10)
      }
      entries.push({
        hostname: hostname.replace(/^\*?\./, '').replace(/^(.+)\.$/, '$1').toLowerCase(),
        port,
        wildcard: entry.startsWith('*')
      })
    }
    this.#entries = entries
  }

  get size (): number {
    return this.#entries.length
  }

  /** Whether a request to this host and port goes direct. `hostname` without brackets. */
  bypasses (hostname: string, port: number): boolean {
    let host = hostname.toLowerCase()
    if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
    if (host.length > 1 && host.endsWith('.')) host = host.slice(0, -1)
    for (const entry of this.#entries) {
      if (entry.port !== 0 && entry.port !== port) continue
      if (entry.hostname === '*') return true
      if (!entry.wildcard && host === entry.hostname) return true
      if (host.endsWith(`.${entry.hostname}`)) return true
    }
    return false
  }
}
