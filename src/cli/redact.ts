import { escapeOutside } from '../outside-text.ts'

/**
 * URLs as the probe prints them: credentials become `***@` (the user name too: it is often a token,
 * an account or an e-mail address, and it says whether there was a password), every query value
 * becomes `***` (the names stay, so people can still tell which parameters were sent; an item
 * without `=` is replaced whole), and a fragment becomes `#***`. Tokens and passwords in URLs end up in terminals, CI logs and tickets.
 */
export const REDACTED = '***'

export function redactUrl (input: string | URL): string {
  let url: URL
  try {
    url = typeof input === 'string' ? new URL(input) : new URL(input.href)
  } catch {
    return redactText(String(input))
  }
  return redactParsed(url, url.pathname)
}

/** A parsed URL with its user name, password, query values and fragment hidden, and this path. */
function redactParsed (url: URL, path: string): string {
  let text = `${url.protocol}//${url.username === '' && url.password === '' ? '' : `${REDACTED}@`}${url.host}${path}`
  if (url.search !== '') text += `?${redactQuery(url.search.slice(1))}`
  if (url.hash !== '') text += `#${REDACTED}`
  return text
}

function redactQuery (query: string): string {
  return query.split('&').map((pair) => {
    const equals = pair.indexOf('=')
    // A bare item (`?abc123`) may be the token itself.
    if (equals === -1) return pair === '' ? pair : REDACTED
    return `${pair.slice(0, equals)}=${REDACTED}`
  }).join('&')
}

/** For what did not parse as a URL: the same rules, applied to the text. */
function redactText (text: string): string {
  let out = text.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i, `$1${REDACTED}@`)
  const hash = out.indexOf('#')
  if (hash !== -1) out = `${out.slice(0, hash)}#${REDACTED}`
  const q = out.indexOf('?')
  if (q !== -1) {
    const end = out.indexOf('#', q)
    out = `${out.slice(0, q)}?${redactQuery(out.slice(q + 1, end === -1 ? undefined : end))}${end === -1 ? '' : out.slice(end)}`
  }
  return out
}

const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\//i

/**
 * A value the user gave the CLI (a store URL, an origin, a file path, any argument) as it may be
 * shown, before escaping: a URL loses its whole userinfo (`***@`: a Redis ACL user or a token can
 * sit in the user name), every query value (ioredis reads `?password=` as the password) and its
 * fragment. Text that does not start like a URL (`scheme://`) is returned as it is. The one
 * redaction every value of the `policies` command goes through: `shownArg()` escapes it too.
 */
export function redactArg (value: string): string {
  if (!URL_LIKE.test(value)) return value
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return redactText(value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, `$1${REDACTED}@`))
  }
  // An origin stays an origin: no `/` the user did not write.
  return redactParsed(url, url.pathname === '/' && !/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*\//i.test(value) ? '' : url.pathname)
}

/** `redactArg()`, then escaped for a terminal or a log line (see escapeOutside in src/outside-text.ts). */
export function shownArg (value: string, max = 1_000): string {
  return escapeOutside(redactArg(value), max)
}

/** Secrets at least this long are replaced wherever they appear, shorter ones only as a whole word. */
const SCRUB_ANYWHERE = 6

/**
 * What `redactArg()` hides in the arguments that are URLs (user name, password, query values,
 * fragment; raw and percent-decoded), replaced by `***` wherever it appears in `text`: for messages
 * written by others (Node's argument parser, ioredis, Redis) that may quote an argument.
 */
export function scrubArgs (text: string, argv: readonly string[]): string {
  const secrets = new Set<string>()
  const add = (secret: string): void => {
    if (secret === '') return
    secrets.add(secret)
    try {
      secrets.add(decodeURIComponent(secret.replace(/\+/g, ' ')))
      secrets.add(decodeURIComponent(secret))
    } catch {}
  }
  for (const arg of argv) {
    if (!URL_LIKE.test(arg)) continue
    let url: URL
    try {
      url = new URL(arg)
    } catch {
      const userinfo = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)@/i.exec(arg)?.[1]
      if (userinfo !== undefined) add(userinfo)
      for (const part of userinfo?.split(':') ?? []) add(part)
      const hash = arg.indexOf('#')
      const q = arg.indexOf('?')
      if (q !== -1 && (hash === -1 || q < hash)) for (const pair of arg.slice(q + 1, hash === -1 ? undefined : hash).split('&')) add(pair.slice(pair.indexOf('=') + 1))
      if (hash !== -1) add(arg.slice(hash + 1))
      continue
    }
    add(url.username)
    add(url.password)
    for (const pair of url.search.slice(1).split('&')) add(pair.slice(pair.indexOf('=') + 1))
    add(url.hash.slice(1))
  }
  let out = text
  // Longest first: a secret that contains another is replaced whole. A short one (a user name
  // like "u") only where it stands alone, so that "WRONGPASS invalid username" stays readable.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length >= SCRUB_ANYWHERE) out = out.split(secret).join(REDACTED)
    else out = out.replace(new RegExp(`(?<![\\p{L}\\p{N}])${secret.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\p{L}\\p{N}])`, 'gu'), REDACTED)
  }
  return out
}
