/**
 * Text that came from outside (a store, a server, a proxy, a file name, a command-line argument) on
 * its way to a log line, a warning or a terminal. `quoteOutside()` returns it in double quotes with
 * every character that could forge a line or drive a terminal escaped: C0 controls (newlines, ESC),
 * DEL, C1 controls (the 8-bit CSI and OSC introducers), the Unicode line and paragraph separators and
 * the bidirectional overrides that reorder what a reader sees. Long text is cut to `max` characters
 * and says how much was left out, so one value cannot flood a log.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069"\\]/g // eslint-disable-line no-control-regex

const SHORT: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '"': '\\"', '\\': '\\\\' }

function escapeChar (ch: string): string {
  return SHORT[ch] ?? `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/ // eslint-disable-line no-control-regex

/**
 * Text that may carry outside text (an error's message, a reason quoting a store's value): escaped
 * with escapeOutside() when it holds a character that could drive a terminal or forge a line, as is
 * otherwise, so text that was already escaped (or our own sentences with their quotes) reads once.
 */
export function escapeIfUnsafe (value: string, max = OUTSIDE_TEXT_MAX): string {
  return CONTROL.test(value) ? escapeOutside(value, max) : value
}

/** The default number of characters of outside text kept in one quoted value. */
export const OUTSIDE_TEXT_MAX = 200

export function quoteOutside (value: unknown, max = OUTSIDE_TEXT_MAX): string {
  const text = typeof value === 'string' ? value : String(value)
  const kept = text.length > max ? text.slice(0, max) : text
  const cut = text.length > max ? `…(+${text.length - max} chars)` : ''
  return `"${kept.replace(UNSAFE, escapeChar)}"${cut}`
}

/** The same escaping without the quotes, for text a line already frames (a table cell, say). */
export function escapeOutside (value: unknown, max = OUTSIDE_TEXT_MAX): string {
  const quoted = quoteOutside(value, max)
  const end = quoted.lastIndexOf('"')
  return quoted.slice(1, end) + quoted.slice(end + 1)
}
