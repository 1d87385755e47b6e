import assert from 'node:assert/strict'
import { test } from 'node:test'
import { escapeOutside, quoteOutside } from '../src/outside-text.ts'

test('quoteOutside escapes newlines, ESC, C1 controls and bidi overrides so no line or terminal sequence is forged', () => {
  const hostile = 'https://a.example\n{"level":50,"msg":"forged"}\x1b]8;;http://evil\x07\u009b31m\u202egnp.exe\u2028x'
  const out = quoteOutside(hostile)
  assert.equal(out.includes('\n'), false)
  assert.equal(out.includes('\x1b'), false)
  assert.equal(out.includes('\x07'), false)
  assert.equal(out.includes('\u009b'), false)
  assert.equal(out.includes('\u202e'), false)
  assert.equal(out.includes('\u2028'), false)
  assert.match(out, /^"https:\/\/a\.example\\n\{\\"level\\":50/)
  assert.match(out, /\\u001b\]8;;http:\/\/evil\\u0007\\u009b31m\\u202egnp\.exe\\u2028x"$/)
})

test('quoteOutside cuts long text and says how much was left out', () => {
  assert.equal(quoteOutside('a'.repeat(5000), 10), `"${'a'.repeat(10)}"…(+4990 chars)`)
  assert.equal(quoteOutside('plain'), '"plain"')
})

test('escapeOutside escapes the same characters without quotes', () => {
  assert.equal(escapeOutside('a\x1b[2Jb'), 'a\\u001b[2Jb')
  assert.equal(escapeOutside('x'.repeat(12), 4), 'xxxx…(+8 chars)')
})
