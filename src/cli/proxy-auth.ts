import { invalidOption } from '../errors.ts'

/** Where the password comes from when the proxy URL names a user without one (kept off the command line). */
export const PROXY_PASSWORD_ENV = 'UNDICI_TLS_FALLBACK_PROXY_PASSWORD'

/** The schemes `--proxy-auth` takes. */
export const PROXY_AUTH_SCHEMES = ['ntlm', 'negotiate'] as const
export type ProxyAuthScheme = typeof PROXY_AUTH_SCHEMES[number]

/**
 * The proxy setting for `--proxy URL --proxy-auth ntlm|negotiate`: the URL's credentials (user
 * `DOMAIN%5Cuser` or `user`, and password) become `auth`'s, never a Basic header; a user without a
 * password in the URL takes it from `UNDICI_TLS_FALLBACK_PROXY_PASSWORD` (off the command line).
 * Without a user, `negotiate` uses the process's Kerberos ticket cache. The result goes to
 * `parseProxy`. Messages never show the credentials.
 */
export function proxyWithAuth (text: string, scheme: string, env: NodeJS.ProcessEnv = process.env): { uri: string, auth: Record<string, string> } {
  if (!(PROXY_AUTH_SCHEMES as readonly string[]).includes(scheme)) {
    throw invalidOption('--proxy-auth', `must be ${PROXY_AUTH_SCHEMES.join(' or ')}`)
  }
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw invalidOption('--proxy', 'is not a valid URL (expected http://host:port or https://host:port)')
  }
  const auth: Record<string, string> = { scheme }
  try {
    if (url.username !== '') auth.username = decodeURIComponent(url.username)
    if (url.password !== '') auth.password = decodeURIComponent(url.password)
  } catch {
    throw invalidOption('--proxy', 'has credentials that are not valid percent-encoding')
  }
  if (auth.username !== undefined && auth.password === undefined) {
    const password = env[PROXY_PASSWORD_ENV]
    if (password === undefined) throw invalidOption('--proxy', `names a user without a password: set ${PROXY_PASSWORD_ENV} (or put it in the URL)`)
    auth.password = password
  }
  url.username = ''
  url.password = ''
  return { uri: url.href, auth }
}
