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
  let text = `${url.protocol}//${url.username === '' && url.password === '' ? '' : `${REDACTED}@`}${url.host}${url.pathname}`
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
