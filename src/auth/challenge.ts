import { authError, ErrorCodes } from '../errors.ts'

/**
 * Parsing `WWW-Authenticate` and `Proxy-Authenticate` (RFC 9110 section 11.6.1): one header or several,
 * each holding one challenge or several joined by commas, as Node joins repeated headers
 * (`Negotiate, NTLM`). Pure: no I/O, no state.
 */

/** One challenge: its scheme (lower case), then either a token68 (NTLM's and Negotiate's Base64) or auth-params. */
export interface Challenge {
  /** The auth-scheme, lower case: `ntlm`, `negotiate`, `basic`, ... */
  scheme: string
  /** The token68 after the scheme (`Negotiate <base64>`), if there is one. */
  token68: string | undefined
  /** The auth-params (`realm="x"`), names lower case; empty with a token68. */
  params: Map<string, string>
}

/** What a header may be given as: undici's and Node's shapes (a string, repeated headers as an array, or absent). */
export type AuthenticateHeader = string | readonly string[] | undefined

/** Values longer than this (in total) are not parsed: no server needs 64 KiB of challenges. */
export const MAX_CHALLENGE_TEXT = 65_536

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*/

class Cursor {
  readonly text: string
  at = 0
  constructor (text: string) { this.text = text }
  get done (): boolean { return this.at >= this.text.length }
  peek (): string { return this.text[this.at] ?? '' }
  skipSpace (): void { while (this.peek() === ' ' || this.peek() === '\t') this.at++ }
  /** Skips white space and empty list elements (`, ,`). */
  skipSeparators (): void { while (this.peek() === ' ' || this.peek() === '\t' || this.peek() === ',') this.at++ }
  token (): string {
    const start = this.at
    while (!this.done && TCHAR.test(this.peek())) this.at++
    return this.text.slice(start, this.at)
  }
}

/**
 * Every challenge in the header values, in order. A value that breaks the grammar ends the parse of
 * that value (the challenges before the break are kept, nothing after it is guessed at); the other
 * values are still parsed.
 */
export function parseChallenges (header: AuthenticateHeader): Challenge[] {
  const values = header === undefined ? [] : typeof header === 'string' ? [header] : header
  if (values.reduce((n, v) => n + v.length, 0) > MAX_CHALLENGE_TEXT) return []
  const out: Challenge[] = []
  for (const value of values) parseValue(value, out)
  return out
}

function parseValue (value: string, out: Challenge[]): void {
  const c = new Cursor(value)
  c.skipSeparators()
  while (!c.done) {
    const scheme = c.token()
    if (scheme === '') return
    const challenge: Challenge = { scheme: scheme.toLowerCase(), token68: undefined, params: new Map() }
    out.push(challenge)
    const hadSpace = c.peek() === ' ' || c.peek() === '\t'
    c.skipSpace()
    if (c.done) return
    if (c.peek() === ',') { c.skipSeparators(); continue }
    if (!hadSpace) { out.pop(); return }
    // A token68 is followed by the end or a comma; an auth-param by `=` and a value.
    const rest = value.slice(c.at)
    const t68 = TOKEN68.exec(rest)
    if (t68 !== null && isEndOfItem(value, c.at + t68[0].length) && !isParamStart(value, c.at)) {
      challenge.token68 = t68[0]
      c.at += t68[0].length
      c.skipSeparators()
      continue
    }
    // auth-params until the next item is a new scheme (a token not followed by `=`).
    for (let first = true; ; first = false) {
      const save = c.at
      const name = c.token()
      if (name === '') { out.pop(); return }
      c.skipSpace()
      if (c.peek() !== '=') {
        if (first) { out.pop(); return } // `Scheme junk`: neither a token68 nor a parameter
        c.at = save // the next challenge's scheme
        break
      }
      c.at++
      c.skipSpace()
      const isQuoted = c.peek() === '"'
      const val = isQuoted ? quoted(c) : c.token()
      if (val === undefined || (!isQuoted && val === '')) { out.pop(); return }
      challenge.params.set(name.toLowerCase(), val)
      c.skipSpace()
      if (c.done) return
      if (c.peek() !== ',') { out.pop(); return }
      c.skipSeparators()
      if (c.done) return
    }
  }
}

/** Whether `name=` starts at `at` (then it is an auth-param, not a token68 that ends in `=`). */
function isParamStart (text: string, at: number): boolean {
  return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+[ \t]*=[ \t]*(?:"|[!#$%&'*+\-.^_`|~0-9A-Za-z])/.test(text.slice(at))
}

function isEndOfItem (text: string, at: number): boolean {
  let i = at
  while (text[i] === ' ' || text[i] === '\t') i++
  return i >= text.length || text[i] === ','
}

function quoted (c: Cursor): string | undefined {
  c.at++ // the opening quote
  let out = ''
  while (!c.done) {
    const ch = c.peek()
    c.at++
    if (ch === '"') return out
    if (ch === '\\') {
      if (c.done) return undefined
      out += c.peek()
      c.at++
    } else {
      out += ch
    }
  }
  return undefined // unterminated
}

/** The first challenge of `scheme` (case-insensitive), or undefined. */
export function findChallenge (challenges: readonly Challenge[], scheme: string): Challenge | undefined {
  const wanted = scheme.toLowerCase()
  return challenges.find((c) => c.scheme === wanted)
}

/**
 * The bytes of a challenge's Base64 token (NTLM, Negotiate), checked strictly: Node's own decoder
 * skips characters it does not know, so `QUJD!!!` would pass as `ABC`. At most `max` bytes.
 */
export function decodeToken (token: string, max = 16_384): Buffer {
  if (token.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(token) || token.length === 0) {
    throw authError(ErrorCodes.AUTH_INVALID_CHALLENGE, 'the authentication challenge is not valid Base64')
  }
  if (token.length / 4 * 3 > max + 2) {
    throw authError(ErrorCodes.AUTH_INVALID_CHALLENGE, `the authentication challenge is longer than ${max} bytes`)
  }
  return Buffer.from(token, 'base64')
}
