import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ConnectAnswerReader, MAX_DRAINED_BODY, readConnectAnswer } from '../src/proxy/connect-answer.ts'
import { MAX_PROXY_HEAD } from '../src/proxy/tunnel.ts'

// A proxy's answer to a CONNECT is outside text: a hostile proxy, or an on-path box in front of an
// http:// proxy, chooses every byte. Everything read of it is bounded, and read in linear time.

const head = 'HTTP/1.1 407 No\r\nProxy-Authenticate: NTLM\r\nTransfer-Encoding: chunked\r\n\r\n'

test('a chunked 407 that never ends is too large once past the bound: a line without CRLF, endless trailers, a huge chunk extension', () => {
  const cases: Array<[string, string]> = [
    ['A'.repeat(100 * 1024), 'a chunk-size line without CRLF'],
    ['0\r\n' + 'x: y\r\n'.repeat(20_000), 'endless trailers'],
    ['1;' + 'e'.repeat(100 * 1024), 'a huge chunk extension'],
    ['1;' + 'e'.repeat(5 * 1024) + '\r\nx\r\n0\r\n\r\n', 'a complete chunk-size line longer than 4 KiB'],
    ['1\r\nx\r\n'.repeat(12_000) + '0\r\n\r\n', 'many small chunks past the bound, framing included']
  ]
  for (const [body, name] of cases) {
    const answer = readConnectAnswer(Buffer.from(head + body))
    assert.ok(answer !== undefined && answer !== 'invalid', name)
    assert.equal(answer.bodyEnd, 'too-large', name)
  }
})

test('chunked 407s within the bounds still end where they end, trailers included', () => {
  for (const body of ['5\r\ndeny!\r\n0\r\n\r\n', '5;ext=1\r\ndeny!\r\n0\r\nx: y\r\n\r\n', '0\r\n\r\n']) {
    const answer = readConnectAnswer(Buffer.from(head + body))
    assert.ok(answer !== undefined && answer !== 'invalid')
    assert.equal(answer.bodyEnd, Buffer.byteLength(head + body))
  }
  const almost = readConnectAnswer(Buffer.from(head + 'x'.length.toString(16) + '\r\n'))
  assert.ok(almost !== undefined && almost !== 'invalid')
  assert.equal(almost.bodyEnd, 'more')
})

test('the incremental reader gives what the whole buffer gives, byte by byte, and resets between answers', () => {
  const whole = head + '5\r\ndeny!\r\n3;x\r\nabc\r\n0\r\nt: 1\r\n\r\n'
  const reader = new ConnectAnswerReader(MAX_PROXY_HEAD)
  for (let round = 0; round < 2; round++) {
    let last
    for (const byte of Buffer.from(whole)) last = reader.push(Buffer.from([byte]))
    assert.ok(typeof last === 'object')
    assert.equal(last.bodyEnd, Buffer.byteLength(whole))
    assert.equal(last.status, 407)
    assert.equal(reader.length, Buffer.byteLength(whole))
    reader.reset()
  }
})

test('the incremental reader: a head past the bound, complete or not, is head-too-large', () => {
  const long = `HTTP/1.1 407 No\r\nX: ${'a'.repeat(MAX_PROXY_HEAD)}\r\n`
  const incomplete = new ConnectAnswerReader(MAX_PROXY_HEAD)
  assert.equal(incomplete.push(Buffer.from(long)), 'head-too-large')
  const complete = new ConnectAnswerReader(MAX_PROXY_HEAD)
  assert.equal(complete.push(Buffer.from(`${long}\r\n`)), 'head-too-large')
})

test('the incremental reader stays linear: 65 KiB of a line without CRLF in 1-byte and 16-byte pieces ends as too-large within a second', () => {
  for (const size of [1, 16]) {
    const reader = new ConnectAnswerReader(MAX_PROXY_HEAD)
    reader.push(Buffer.from(head))
    const piece = Buffer.alloc(size, 'A')
    const started = performance.now()
    let result
    for (let i = 0; i < (MAX_DRAINED_BODY + 1024) / size; i++) {
      result = reader.push(piece)
      if (typeof result === 'object' && result.bodyEnd === 'too-large') break
    }
    const elapsed = performance.now() - started
    assert.ok(typeof result === 'object')
    assert.equal(result.bodyEnd, 'too-large')
    assert.ok(elapsed < 1_000, `${size}-byte pieces: ${Math.round(elapsed)} ms`)
  }
})
