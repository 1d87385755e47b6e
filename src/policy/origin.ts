/**
 * Origins are the cache's keys: `https://host` or `https://host:port`, lower case, with the default
 * port left out, as `URL#origin` writes them.
 */
export function originOf (input: string | URL): string {
  const url = typeof input === 'string' ? new URL(input) : input
  return url.origin
}

export function originFromParts (protocol: string, hostname: string, port: number | string | undefined): string {
  const p = port === undefined || port === '' ? '' : `:${port}`
  // undici hands a connector an IPv6 literal without its brackets ('::1'); a URL needs them.
  const host = hostname.includes(':') && !hostname.startsWith('[') ? `[${hostname}]` : hostname
  return new URL(`${protocol}//${host}${p}`).origin
}

/** Splits an origin into what host matching needs. */
export function hostAndPort (url: URL): { hostname: string, port: number } {
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port)
  return { hostname: url.hostname, port }
}
