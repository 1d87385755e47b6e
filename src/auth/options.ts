import { invalidOption } from '../errors.ts'
import { isPlainObject } from '../plain-object.ts'
import { MAX_NAME, NtlmClient, ntowfv2, type NtlmOptions } from './ntlm.ts'

/**
 * The public `auth` option of a host (`hosts[...].auth`) or a proxy (`proxy.auth`), and its
 * validation. The password is never kept: NTLM needs only NTOWFv2 of it, computed here once, in a
 * private field that `util.inspect`, `console.log` and `JSON.stringify` do not show.
 */

export type AuthScheme = 'ntlm' | 'negotiate'

/** `hosts[...].auth` and `proxy.auth`. */
export interface AuthOptions {
  /** `'ntlm'`: NTLMv2 with `username` and `password`. `'negotiate'`: Kerberos (SPNEGO) with the process's ticket cache, or NTLM under Negotiate with `username`/`password` when no ticket is available. */
  scheme: AuthScheme
  /** The user name: `user`, or `DOMAIN\user` (then `domain` is taken from it). Needed for `ntlm`. */
  username?: string
  /** The password (needed with `username`). Kept only as NTOWFv2, never as text. */
  password?: string
  /** The user's domain (NetBIOS name) for NTLM; `''` by default. */
  domain?: string
  /** The service principal for Kerberos (`HTTP@name` or `HTTP/name@REALM`); `HTTP@<host>` by default. */
  spn?: string
}

const KEYS = new Set(['scheme', 'username', 'password', 'domain', 'spn'])
const SCHEMES: readonly AuthScheme[] = ['ntlm', 'negotiate']

/** A validated `auth` option, frozen. Holds no password: NTLM's key lives in a private field. */
export class ResolvedAuth {
  /** The option path, for messages: `hosts['a.example'].auth` or `proxy.auth`. */
  readonly option: string
  readonly scheme: AuthScheme
  readonly username: string | undefined
  readonly domain: string
  readonly spn: string | undefined
  readonly #ntlmKey: Buffer | undefined

  constructor (option: string, scheme: AuthScheme, username: string | undefined, password: string | undefined, domain: string, spn: string | undefined) {
    this.option = option
    this.scheme = scheme
    this.username = username
    this.domain = domain
    this.spn = spn
    this.#ntlmKey = username !== undefined && password !== undefined ? ntowfv2(password, username, domain) : undefined
    Object.freeze(this)
  }

  /** Whether a user name and password were configured (NTLM can be used). */
  get hasCredentials (): boolean { return this.#ntlmKey !== undefined }

  /** A fresh NTLM handshake with the configured credentials; undefined without them. */
  ntlmClient (options: Omit<NtlmOptions, 'option'> = {}): NtlmClient | undefined {
    if (this.#ntlmKey === undefined || this.username === undefined) return undefined
    return new NtlmClient({ username: this.username, responseKey: this.#ntlmKey, domain: this.domain }, { ...options, option: this.option })
  }

  /** What logs and `util.inspect` may show: never a secret. */
  toJSON (): Record<string, unknown> {
    return { scheme: this.scheme, username: this.username, domain: this.domain, spn: this.spn }
  }
}

function name (path: string, value: unknown, what: string): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value.length === 0) throw invalidOption(path, `must be a non-empty string (${what})`)
  if (value.length > MAX_NAME) throw invalidOption(path, `must be at most ${MAX_NAME} characters`)
  if (/[\0\r\n]/.test(value)) throw invalidOption(path, 'must not contain NUL or line breaks')
  return value
}

/**
 * Validates an `auth` option at `path` (`hosts['a.example'].auth`, `proxy.auth`): unknown keys
 * refused, `ntlm` needs `username` and `password`, a `username` needs a `password` and the other way
 * round. Messages name the exact field and never echo a password.
 */
export function resolveAuth (path: string, value: unknown): ResolvedAuth {
  if (!isPlainObject(value)) throw invalidOption(path, 'must be an object such as { scheme: \'negotiate\' } or { scheme: \'ntlm\', username, password }')
  for (const key of Object.keys(value)) {
    if (!KEYS.has(key)) throw invalidOption(`${path}.${key}`, `is not an option (known: ${[...KEYS].join(', ')})`)
  }
  const scheme = value.scheme
  if (typeof scheme !== 'string' || !(SCHEMES as readonly string[]).includes(scheme)) {
    throw invalidOption(`${path}.scheme`, `must be one of ${SCHEMES.join(', ')}${typeof scheme === 'string' && scheme.length <= 32 ? `, got '${scheme.replace(/[^\w-]/g, '?')}'` : ''}`)
  }
  let username = name(`${path}.username`, value.username, 'the user name')
  let domain = name(`${path}.domain`, value.domain, 'the NetBIOS domain') ?? ''
  const spn = name(`${path}.spn`, value.spn, 'the service principal')
  const password = value.password
  if (password !== undefined && typeof password !== 'string') throw invalidOption(`${path}.password`, 'must be a string')
  if (typeof password === 'string' && password.length > MAX_NAME) throw invalidOption(`${path}.password`, `must be at most ${MAX_NAME} characters`)
  if (scheme === 'ntlm' && username === undefined) throw invalidOption(`${path}.username`, 'is needed for NTLM')
  if (username !== undefined && password === undefined) throw invalidOption(`${path}.password`, `is needed with ${path}.username`)
  if (password !== undefined && username === undefined) throw invalidOption(`${path}.username`, `is needed with ${path}.password`)
  if (username !== undefined) {
    const slash = username.indexOf('\\')
    if (slash >= 0) {
      if (value.domain !== undefined) throw invalidOption(`${path}.username`, `names a domain (DOMAIN\\user) and so does ${path}.domain: give one`)
      domain = username.slice(0, slash)
      username = username.slice(slash + 1)
      if (username.length === 0) throw invalidOption(`${path}.username`, 'has no user name after the domain')
    }
  }
  return new ResolvedAuth(path, scheme as AuthScheme, username, password, domain, spn)
}
