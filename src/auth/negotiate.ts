import { authError, ErrorCodes, invalidOption } from '../errors.ts'
import { escapeOutside } from '../outside-text.ts'

/**
 * Negotiate (RFC 4559): Kerberos through SPNEGO, with the process's ticket cache (`KRB5CCNAME`,
 * `KRB5_CONFIG`), through the optional peer dependency `kerberos` (GSSAPI). Loaded on first use, so
 * that applications without `auth` never load a native addon. One `NegotiateClient` per handshake:
 * a Kerberos token is single use, every new connection or request needs a fresh context.
 */

/** The part of the `kerberos` addon this library uses (its own types are not needed to build us). */
export interface KerberosClientLike {
  step: (challenge: string) => Promise<string>
  contextComplete: boolean
}
export interface KerberosLike {
  initializeClient: (service: string, options?: { mechOID?: number, gssFlag?: number }) => Promise<KerberosClientLike>
  GSS_MECH_OID_SPNEGO: number
  GSS_C_MUTUAL_FLAG: number
  GSS_C_SEQUENCE_FLAG: number
}

const loading = new Map<string, Promise<KerberosLike>>()

/**
 * The `kerberos` addon, imported once. Missing or unloadable (no `libgssapi_krb5.so.2`):
 * `TLS_FALLBACK_AUTH_UNAVAILABLE`, saying what to install; the next call tries again.
 * `specifier` is for tests (a module that is not there).
 */
export async function loadKerberos (specifier = 'kerberos'): Promise<KerberosLike> {
  let pending = loading.get(specifier)
  if (pending === undefined) {
    pending = (async () => {
      try {
        const imported = await import(specifier) as { default?: KerberosLike } & Partial<KerberosLike>
        const module = (imported.default ?? imported) as KerberosLike
        if (typeof module.initializeClient !== 'function') throw new TypeError('it has no initializeClient()')
        return module
      } catch (error) {
        loading.delete(specifier)
        throw authError(ErrorCodes.AUTH_UNAVAILABLE,
          'Negotiate (Kerberos) needs the optional peer dependency `kerberos`, which could not be loaded: ' +
          'npm install kerberos (it builds from source with libkrb5-dev where its prebuilt binary cannot be downloaded)', { cause: error })
      }
    })()
    loading.set(specifier, pending)
  }
  return await pending
}

/** Where GSSAPI errors come from: the addon's message may quote a principal or a path. Never a token. */
function gssFailure (what: string, error: unknown): never {
  const message = error instanceof Error ? error.message : String(error)
  throw authError(ErrorCodes.AUTH_FAILED, `Negotiate: ${what}: ${escapeOutside(message, 300)}`)
}

export interface NegotiateOptions {
  /** The host name in the URL: the service principal is `HTTP@<host>` (GSSAPI's host-based form). */
  host: string
  /** Another service principal, as GSSAPI names it (`HTTP@name` or `HTTP/name@REALM`). */
  spn?: string | undefined
  /** The option path named in validation errors (`hosts['a.example'].auth`); `auth` by default. */
  option?: string
  /** The addon to use; `loadKerberos()` by default. */
  kerberos?: KerberosLike | undefined
}

/** The state of one handshake, for telemetry: never a token. */
export type NegotiateState = 'new' | 'sent' | 'complete'

/**
 * One Negotiate handshake: `initialToken()` for the first request, then `complete(serverToken)` with
 * the token of the server's final answer (`WWW-Authenticate: Negotiate <token>` on the 2xx), which
 * proves the server's identity (mutual authentication). A server that sends no final token is not
 * mutually authenticated (`mutual` stays false): the caller decides whether that is enough.
 */
export class NegotiateClient {
  readonly #service: string
  readonly #kerberos: KerberosLike | undefined
  #client: KerberosClientLike | undefined
  #state: NegotiateState = 'new'
  #mutual = false

  constructor (options: NegotiateOptions) {
    if (options.spn !== undefined && (typeof options.spn !== 'string' || options.spn.length === 0)) {
      throw invalidOption(`${options.option ?? 'auth'}.spn`, 'must be a non-empty string')
    }
    if (typeof options.host !== 'string' || options.host.length === 0) throw invalidOption(options.option ?? 'auth', 'needs the host name')
    this.#service = options.spn ?? `HTTP@${options.host}`
    this.#kerberos = options.kerberos
  }

  /** The service principal asked for (`HTTP@host`, or `spn`). */
  get service (): string { return this.#service }
  get state (): NegotiateState { return this.#state }
  /** Whether the server's final token was verified. */
  get mutual (): boolean { return this.#mutual }

  /** The first token (Base64), for `Authorization: Negotiate <token>`. Once per handshake. */
  async initialToken (): Promise<string> {
    if (this.#state !== 'new') throw new Error('NegotiateClient: one handshake per client (a Kerberos token is single use)')
    const kerberos = this.#kerberos ?? await loadKerberos()
    this.#state = 'sent'
    let client: KerberosClientLike
    try {
      client = await kerberos.initializeClient(this.#service, {
        mechOID: kerberos.GSS_MECH_OID_SPNEGO,
        gssFlag: kerberos.GSS_C_MUTUAL_FLAG | kerberos.GSS_C_SEQUENCE_FLAG
      })
    } catch (error) {
      gssFailure(`no security context for ${escapeOutside(this.#service)}`, error)
    }
    this.#client = client
    try {
      return await client.step('')
    } catch (error) {
      gssFailure(`no token for ${escapeOutside(this.#service)} (no ticket in the cache, or an unknown service principal)`, error)
    }
  }

  /**
   * The server's next token. On the final answer (2xx), `serverToken` must complete the context:
   * anything else is `TLS_FALLBACK_AUTH_FAILED` (mutual authentication failed), and the response
   * must not be trusted. Returns a token to send when GSSAPI needs another leg, else `undefined`.
   */
  async continue (serverToken: string): Promise<string | undefined> {
    if (this.#state !== 'sent' || this.#client === undefined) throw new Error('NegotiateClient: continue() before initialToken()')
    let next: string
    try {
      next = await this.#client.step(serverToken)
    } catch (error) {
      gssFailure(`the server's token for ${escapeOutside(this.#service)} does not verify (mutual authentication failed)`, error)
    }
    if (this.#client.contextComplete) {
      this.#state = 'complete'
      this.#mutual = true
    }
    return next === '' ? undefined : next
  }

  /**
   * Checks the final answer: with a token, it must complete the context (else
   * `TLS_FALLBACK_AUTH_FAILED`); without one, the server did not authenticate itself (`mutual` false).
   */
  async finish (serverToken: string | undefined): Promise<void> {
    if (serverToken === undefined) return
    await this.continue(serverToken)
    if (!this.#mutual) {
      throw authError(ErrorCodes.AUTH_FAILED, `Negotiate: the server's final token for ${escapeOutside(this.#service)} does not complete the context (mutual authentication failed)`)
    }
  }
}
