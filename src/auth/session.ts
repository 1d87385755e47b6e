import { authError, ErrorCodes } from '../errors.ts'
import { decodeToken, findChallenge, parseChallenges, type AuthenticateHeader } from './challenge.ts'
import { NegotiateClient, type KerberosLike } from './negotiate.ts'
import { MAX_CHALLENGE_BYTES, type NtlmClient } from './ntlm.ts'
import type { ResolvedAuth } from './options.ts'

/**
 * One authentication handshake, scheme-agnostic and transport-agnostic: it makes the header values
 * (`Authorization` to an origin, `Proxy-Authorization` to a proxy) and reads the server's challenges
 * (`WWW-Authenticate` on a 401, `Proxy-Authenticate` on a 407). The caller sends every leg on one
 * connection and drains each 401/407 body first. One session per handshake: Kerberos tokens are
 * single use and NTLM authenticates one connection. Never holds or shows a password; its errors
 * hold no token.
 */

/** What the handshake is for: the host name in the URL (Kerberos `HTTP@host`, NTLM's target name) and the TLS channel. */
export interface SessionTarget {
  host: string
  /** `tlsServerEndPoint(cert)` of the TLS connection the legs go on (NTLM's MsvAvChannelBindings); absent on plain HTTP. */
  channelBindings?: Buffer | undefined
  /** The `kerberos` addon; loaded on first use by default (tests pass another). */
  kerberos?: KerberosLike | undefined
}

/** Which mechanism a session ended up using: `negotiate` may run NTLM inside when no ticket is available. */
export type SessionMechanism = 'ntlm' | 'kerberos'

/** No handshake needs more legs than this: a server that keeps asking is answered with its own 401/407. */
export const MAX_LEGS = 3

export class AuthSession {
  readonly #auth: ResolvedAuth
  readonly #target: SessionTarget
  /** The scheme name in the headers: `NTLM` or `Negotiate`. */
  readonly scheme: 'NTLM' | 'Negotiate'
  #mechanism: SessionMechanism | undefined
  #ntlm: NtlmClient | undefined
  #kerberos: NegotiateClient | undefined
  #legs = 0
  #ntlmDone = false

  constructor (auth: ResolvedAuth, target: SessionTarget) {
    this.#auth = auth
    this.#target = target
    this.scheme = auth.scheme === 'ntlm' ? 'NTLM' : 'Negotiate'
  }

  /** Header values made so far (the legs sent). */
  get legs (): number { return this.#legs }
  /** `ntlm` or `kerberos` once `first()` chose; for telemetry. */
  get mechanism (): SessionMechanism | undefined { return this.#mechanism }
  /** Whether the server proved its identity (a Kerberos final token verified). */
  get mutual (): boolean { return this.#kerberos?.mutual ?? false }

  /** The first leg's header value: `NTLM <type 1>` or `Negotiate <token>`. */
  async first (): Promise<string> {
    if (this.#legs !== 0) throw new Error('AuthSession: first() once per handshake')
    if (this.#auth.scheme === 'negotiate') {
      const kerberos = new NegotiateClient({ host: this.#target.host, spn: this.#auth.spn, option: this.#auth.option, kerberos: this.#target.kerberos })
      try {
        const token = await kerberos.initialToken()
        this.#kerberos = kerberos
        this.#mechanism = 'kerberos'
        this.#legs = 1
        return `Negotiate ${token}`
      } catch (error) {
        // No addon or no ticket: with a user name and password, NTLM under the Negotiate scheme.
        if (!this.#auth.hasCredentials) throw error
      }
    }
    this.#ntlm = this.#auth.ntlmClient()
    if (this.#ntlm === undefined) throw authError(ErrorCodes.AUTH_UNAVAILABLE, `${this.#auth.option}: NTLM needs a user name and a password`)
    this.#mechanism = 'ntlm'
    this.#legs = 1
    return `${this.scheme} ${this.#ntlm.negotiate().toString('base64')}`
  }

  /**
   * The next leg's header value for a 401/407's challenges, or `undefined` when the handshake is over
   * (no token for our scheme, the last NTLM leg already sent, or `MAX_LEGS` reached): then the
   * server's answer is final. A malformed or oversized token: `TLS_FALLBACK_AUTH_INVALID_CHALLENGE`.
   */
  async next (authenticate: AuthenticateHeader): Promise<string | undefined> {
    if (this.#legs === 0) throw new Error('AuthSession: next() before first()')
    if (this.#legs >= MAX_LEGS) return undefined
    const token = this.#token(authenticate)
    if (token === undefined) return undefined
    if (this.#ntlm !== undefined) {
      if (this.#ntlmDone) return undefined
      const type3 = this.#ntlm.authenticate(decodeToken(token, MAX_CHALLENGE_BYTES), {
        channelBindings: this.#target.channelBindings,
        spn: `HTTP/${this.#target.host}`
      })
      this.#ntlmDone = true
      this.#legs++
      return `${this.scheme} ${type3.toString('base64')}`
    }
    decodeToken(token) // strict Base64 and a size limit before GSSAPI sees it
    const reply = await this.#kerberos!.continue(token)
    if (reply === undefined) return undefined
    this.#legs++
    return `Negotiate ${reply}`
  }

  /**
   * Checks the final (2xx) answer's challenges: a Kerberos server token must complete the context
   * (mutual authentication), else `TLS_FALLBACK_AUTH_FAILED`. NTLM has nothing to check.
   */
  async finish (authenticate: AuthenticateHeader): Promise<void> {
    if (this.#kerberos === undefined || this.#kerberos.state === 'complete') return
    const token = this.#token(authenticate)
    if (token !== undefined) decodeToken(token)
    await this.#kerberos.finish(token)
  }

  #token (authenticate: AuthenticateHeader): string | undefined {
    return findChallenge(parseChallenges(authenticate), this.scheme)?.token68
  }
}
