import assert from 'node:assert/strict'
import { constants } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { checkRfc5746, parseServerHello } from '../src/rfc5746.ts'
import { stackTlsOptions } from '../src/stacks.ts'
import { startGnutls, type GnutlsServer } from './servers/gnutls.ts'
import { startStripBox, stripRenegotiationInfo } from './servers/strip-ri.ts'
import { certs, failure, makeAgent, memoryLogger, record, send } from './helpers.ts'

const legacyTls = stackTlsOptions('legacy-server-connect', { ca: certs.ca }, undefined)

describe('legacy-server-connect is learned only when the server really lacks RFC 5746', () => {
  let rfc5746: GnutlsServer
  let legacy: GnutlsServer
  before(async () => {
    [rfc5746, legacy] = await Promise.all([startGnutls({ safeRenegotiation: true }), startGnutls()])
  })
  after(async () => {
    await Promise.all([rfc5746.close(), legacy.close()])
  })

  test('an on-path box strips renegotiation_info from one ServerHello of a real RFC 5746 server (GnuTLS): the request is answered, nothing is learned, the next request is strict', async (t) => {
    const box = await startStripBox(rfc5746.port, { strip: 1 })
    const origin = `https://localhost:${box.port}`
    const events = record(origin)
    const { logger, lines } = memoryLogger()
    const agent = makeAgent({ hosts: { [`localhost:${box.port}`]: { fallback: ['legacy-server-connect'] } }, logger })
    t.after(async () => { events.stop(); await agent.close(); await box.close() })
    const first = await send(agent, `${origin}/`)
    assert.equal(first.status, 200)
    assert.equal(box.stripped, 1, 'the box stripped the extension from the strict hello')
    assert.deepEqual(events.diagnoses.map((d) => d.fingerprint), ['unsafe-legacy-renegotiation'])
    assert.equal(agent.policy(origin), undefined, 'one forgeable refusal taught no policy')
    assert.equal(events.fallbacks.length, 0)
    assert.ok(lines.some((l) => l.level === 'warn' && /altered on the way/.test(l.msg ?? '')), 'the altered hello is reported')

    const second = await send(agent, `${origin}/`)
    assert.equal(second.status, 200)
    assert.deepEqual(events.attempts.map((a) => a.stack), ['strict', 'legacy-server-connect', 'strict'])
  })

  test('a box that strips every ServerHello cannot complete a legacy handshake either: TLS_FALLBACK_EXHAUSTED, nothing learned', async (t) => {
    const box = await startStripBox(rfc5746.port, { strip: Infinity })
    const origin = `https://localhost:${box.port}`
    const events = record(origin)
    const agent = makeAgent({ hosts: { [`localhost:${box.port}`]: { fallback: ['legacy-server-connect'] } }, logger: memoryLogger().logger })
    t.after(async () => { events.stop(); await agent.close(); await box.close() })
    const error = await failure(() => send(agent, `${origin}/`))
    assert.equal(error.code, 'TLS_FALLBACK_EXHAUSTED')
    assert.ok(box.stripped >= 3, `strict, check and legacy hellos were stripped (${box.stripped})`)
    assert.equal(agent.policy(origin), undefined)
    assert.equal(events.fallbacks.length, 0)
  })

  test('a real server without RFC 5746: learned, with evidence a completed handshake verified', async (t) => {
    const origin = `https://localhost:${legacy.port}`
    const events = record(origin)
    const agent = makeAgent({ hosts: { [`localhost:${legacy.port}`]: { fallback: ['legacy-server-connect'] } }, logger: memoryLogger().logger })
    t.after(async () => { events.stop(); await agent.close() })
    assert.equal((await send(agent, `${origin}/`)).status, 200)
    const entry = agent.policy(origin)
    assert.equal(entry?.stack, 'legacy-server-connect')
    assert.equal(entry?.evidence.verified, true)
    assert.match(entry?.evidence.summary ?? '', /authenticated hello carries no renegotiation_info/)
    assert.equal(events.fallbacks.length, 1)
  })

  test('checkRfc5746 reads the authenticated hello: supports, lacks, and unknown when the hello was altered', async () => {
    const check = async (port: number): Promise<string> =>
      (await checkRfc5746({ host: 'localhost', port, tls: legacyTls, timeout: 10_000 })).verdict
    assert.equal(await check(rfc5746.port), 'supports-rfc5746')
    assert.equal(await check(legacy.port), 'lacks-rfc5746')
    const box = await startStripBox(rfc5746.port, { strip: Infinity })
    try {
      assert.equal(await check(box.port), 'unknown', 'a stripped hello fails the Finished check')
      assert.equal(box.stripped, 1)
    } finally {
      await box.close()
    }
    assert.ok((legacyTls.secureOptions ?? 0) & constants.SSL_OP_LEGACY_SERVER_CONNECT)
  })
})

describe('parseServerHello', () => {
  const hello = (extensions: Buffer | undefined): Buffer => {
    const body = Buffer.concat([
      Buffer.from([3, 3]), Buffer.alloc(32, 1), Buffer.from([0]), Buffer.from([0xc0, 0x2f, 0]),
      ...(extensions === undefined ? [] : [Buffer.from([extensions.length >> 8, extensions.length & 0xff]), extensions])
    ])
    return Buffer.concat([Buffer.from([2, 0, body.length >> 8, body.length & 0xff]), body])
  }
  const ri = Buffer.from([0xff, 0x01, 0, 1, 0])
  const ems = Buffer.from([0x00, 0x17, 0, 0])

  test('finds renegotiation_info among the extensions, and its absence', () => {
    assert.deepEqual(parseServerHello(hello(Buffer.concat([ems, ri]))), { renegotiationInfo: true, tls13: false })
    assert.deepEqual(parseServerHello(hello(ems)), { renegotiationInfo: false, tls13: false })
    assert.deepEqual(parseServerHello(hello(undefined)), { renegotiationInfo: false, tls13: false })
  })

  test('an incomplete or malformed hello is undefined, never a verdict', () => {
    const full = hello(Buffer.concat([ems, ri]))
    for (let cut = 0; cut < full.length; cut++) assert.equal(parseServerHello(full.subarray(0, cut)), undefined, `cut at ${cut}`)
    const lying = Buffer.from(full)
    lying.writeUInt16BE(200, 4 + 2 + 32 + 1 + 3) // extensions longer than the hello
    assert.equal(parseServerHello(lying), undefined)
    assert.equal(parseServerHello(Buffer.from([1, 0, 0, 0])), undefined)
  })

  test('the test box\'s rewrite removes exactly that extension', () => {
    const record = (h: Buffer): Buffer => Buffer.concat([Buffer.from([22, 3, 3, h.length >> 8, h.length & 0xff]), h])
    const stripped = stripRenegotiationInfo(record(hello(Buffer.concat([ems, ri]))))
    assert.ok(stripped !== undefined)
    assert.deepEqual(stripped, record(hello(ems)))
    assert.deepEqual(parseServerHello(stripped.subarray(5)), { renegotiationInfo: false, tls13: false })
  })
})
