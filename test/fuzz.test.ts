import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { decodeControlRecords, diagnose, type ConnectionSnapshot } from '../src/fingerprint.ts'
import { HostMatcher, parseHostPattern } from '../src/policy/hosts.ts'
import { validateEntry } from '../src/policy/entry.ts'
import { RecordTracker } from '../src/cli/records.ts'

const runs = { numRuns: 3_000 }

const snapshot = fc.record<ConnectionSnapshot>({
  stack: fc.constantFrom('strict', 'tls13', 'renegotiation', 'legacy-server-connect'),
  handshakeComplete: fc.boolean(),
  protocol: fc.constantFrom('TLSv1.2', 'TLSv1.3', 'TLSv1.1', null, 'junk'),
  cipher: fc.constantFrom('TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256', 'TLS_RSA_WITH_AES_128_CBC_SHA', 'TLS_AES_128_CCM_8_SHA256', null),
  alpn: fc.constantFrom<string | false | null>('http/1.1', 'h2', false, null),
  offeredTls13: fc.boolean(),
  rawRead: fc.integer({ min: -5, max: 100_000 }),
  rawWritten: fc.integer({ min: -5, max: 100_000 }),
  plainRead: fc.integer({ min: 0, max: 5 }),
  plainWritten: fc.integer({ min: 0, max: 100_000 }),
  renegotiations: fc.integer({ min: 0, max: 3 }),
  finalFlightInWindow: fc.boolean(),
  windowDecodable: fc.boolean(),
  tlsErrors: fc.array(fc.constantFrom('ERR_SSL_CIPHER_OPERATION_FAILED', 'ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC', 'ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE'), { maxLength: 2 })
})
const errorCode = fc.constantFrom('ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE', 'ETIMEDOUT', 'ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE', 'ERR_SSL_UNSAFE_LEGACY_RENEGOTIATION_DISABLED', 'UND_ERR_HEADERS_TIMEOUT', undefined)

describe('fuzz: connection evidence', () => {
  test('diagnose never throws on random snapshots and errors', () => {
    fc.assert(fc.property(snapshot, errorCode, fc.string(), fc.boolean(), (c, code, message, hasClientCert) => {
      diagnose({ error: Object.assign(new Error(message), { code }), stack: c.stack, connection: c, hasClientCert })
    }), runs)
  })

  test('a bare reset (nothing received) is never renegotiation-refused', () => {
    fc.assert(fc.property(snapshot, errorCode, (c, code) => {
      const d = diagnose({ error: Object.assign(new Error('x'), { code }), stack: c.stack, connection: { ...c, rawRead: 0 }, hasClientCert: false })
      assert.notEqual(d?.fingerprint, 'renegotiation-refused')
    }), runs)
  })

  test('a HelloRequest the client never answered is never renegotiation-refused on an AEAD suite', () => {
    fc.assert(fc.property(snapshot, fc.integer({ min: 0, max: 500 }), fc.integer({ min: 0, max: 60 }), (c, records, plain) => {
      const overhead = 29
      const sent = plain + records * overhead // application records only: no alert
      const d = diagnose({
        error: Object.assign(new Error('reset'), { code: 'ECONNRESET' }),
        stack: 'strict',
        connection: { ...c, cipher: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', protocol: 'TLSv1.2', handshakeComplete: true, plainRead: 0, alpn: 'http/1.1', rawRead: 33, rawWritten: sent, plainWritten: plain, finalFlightInWindow: false, windowDecodable: true, tlsErrors: [] },
        hasClientCert: false
      })
      assert.equal(d, undefined)
    }), runs)
  })

  test('a byte window that is not one request\'s alone (pipelining) never yields verified evidence', () => {
    fc.assert(fc.property(snapshot, errorCode, fc.boolean(), (c, code, hasClientCert) => {
      const d = diagnose({ error: Object.assign(new Error('x'), { code }), stack: c.stack, connection: { ...c, windowDecodable: false }, hasClientCert })
      if (d?.fingerprint === 'renegotiation-refused') assert.equal(d.evidence.verified, false)
    }), runs)
  })

  test('any TLS error other than the refusal alert disqualifies the evidence', () => {
    fc.assert(fc.property(snapshot, (c) => {
      const d = diagnose({
        error: Object.assign(new Error('reset'), { code: 'ECONNRESET' }),
        stack: 'strict',
        connection: { ...c, tlsErrors: ['ERR_SSL_CIPHER_OPERATION_FAILED', ...c.tlsErrors] },
        hasClientCert: false
      })
      assert.notEqual(d?.fingerprint, 'renegotiation-refused')
    }), runs)
  })

  test('decodeControlRecords returns small counts or nothing, never throws', () => {
    fc.assert(fc.property(fc.integer({ min: -10, max: 1e7 }), fc.integer({ min: -10, max: 1e7 }), fc.integer({ min: 0, max: 1e7 }), fc.constantFrom(21, 29), fc.boolean(), (r, w, p, o, tail) => {
      const decoded = decodeControlRecords(r, w, p, o, tail)
      if (decoded !== undefined) {
        assert.ok(decoded.helloRequests <= 1 && decoded.serverAlerts <= 2 && decoded.clientAlerts <= 4)
        assert.ok(r > 0)
      }
    }), runs)
  })
})

describe('fuzz: host patterns', () => {
  test('parseHostPattern never throws and returns a pattern or a reason', () => {
    fc.assert(fc.property(fc.string({ maxLength: 80 }), (text) => {
      const parsed = parseHostPattern(text)
      assert.ok(typeof parsed === 'string' || (typeof parsed.host === 'string' && parsed.host.length > 0))
    }), runs)
  })

  test('a valid host pattern matches itself, and a wildcard never matches its bare domain', () => {
    const label = fc.stringMatching(/^[a-z]([a-z0-9-]{0,8}[a-z0-9])?$/)
    fc.assert(fc.property(fc.array(label, { minLength: 2, maxLength: 4 }), fc.option(fc.integer({ min: 1, max: 65_535 })), (labels, port) => {
      const host = labels.join('.')
      const exact = parseHostPattern(port === null ? host : `${host}:${port}`)
      const wild = parseHostPattern(`*.${host}`)
      if (typeof exact === 'string' || typeof wild === 'string') return
      const matcher = new HostMatcher([{ pattern: exact, value: 'exact' }, { pattern: wild, value: 'wild' }])
      assert.equal(matcher.match(host.toUpperCase(), port ?? 443), 'exact')
      assert.equal(matcher.match(`sub.${host}`, port ?? 443), 'wild')
      assert.equal(new HostMatcher([{ pattern: wild, value: 'wild' }]).match(host, 443), undefined)
    }), runs)
  })
})

describe('fuzz: stored policy entries', () => {
  const valid = {
    origin: 'https://a.example.test',
    stack: 'renegotiation',
    fingerprint: 'renegotiation-refused',
    evidence: { verified: true, summary: 's', errorCode: 'ECONNRESET', tlsVersion: 'TLSv1.2', cipher: null, bytesReceived: 33, bytesSent: 131, plaintextReceived: 0 },
    learnedAt: 1,
    expiresAt: 2
  }
  test('validateEntry never throws on arbitrary JSON values', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => {
      const result = validateEntry(value)
      assert.ok(typeof result === 'string' || ((result as unknown) !== value && typeof result.origin === 'string'))
    }), runs)
  })

  test('a mutated valid entry is either accepted whole or refused with a reason', () => {
    const key = fc.constantFrom(...Object.keys(valid))
    fc.assert(fc.property(key, fc.jsonValue(), (field, value) => {
      const mutated = { ...valid, [field]: value }
      const result = validateEntry(mutated)
      if (typeof result !== 'string') {
        assert.ok(['https://a.example.test'].includes(result.origin) || new URL(result.origin).protocol === 'https:')
        assert.ok(['strict', 'tls13', 'renegotiation', 'legacy-server-connect'].includes(result.stack))
        assert.ok(Number.isFinite(result.learnedAt) && Number.isFinite(result.expiresAt))
      }
    }), runs)
  })
})

describe('fuzz: TLS record headers (the probe\'s record tracker)', () => {
  const record = fc.record({ type: fc.integer({ min: 20, max: 24 }), length: fc.integer({ min: 0, max: 600 }) })

  test('however the bytes are chunked, the same records come out', () => {
    fc.assert(fc.property(fc.array(record, { maxLength: 12 }), fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }), (records, cuts) => {
      const wire = Buffer.concat(records.map((r) => Buffer.concat([Buffer.from([r.type, 3, 3, r.length >> 8, r.length & 0xff]), Buffer.alloc(r.length, 7)])))
      const seen: Array<{ type: number, length: number }> = []
      const tracker = new RecordTracker('server', (r) => seen.push({ type: r.type, length: r.length }), () => 0)
      let offset = 0
      let i = 0
      while (offset < wire.length) {
        const size = cuts[i++ % cuts.length] as number
        tracker.push(wire.subarray(offset, offset + size))
        offset += size
      }
      assert.equal(tracker.broken, undefined)
      assert.deepEqual(seen, records.map((r) => ({ type: r.type, length: r.length })))
    }), runs)
  })

  test('random bytes never throw; what is not TLS marks the stream broken and reports nothing more', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
      const seen: number[] = []
      const tracker = new RecordTracker('client', (r) => seen.push(r.type), () => 0)
      tracker.push(bytes)
      for (const type of seen) assert.ok(type >= 20 && type <= 24)
      if (tracker.broken !== undefined) {
        const before = seen.length
        tracker.push(Buffer.from([22, 3, 3, 0, 0]))
        assert.equal(seen.length, before)
      }
    }), runs)
  })

  test('plaintext HTTP is recognised as not TLS at once', () => {
    const tracker = new RecordTracker('server', () => assert.fail('no record'), () => 0)
    tracker.push(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'))
    assert.match(tracker.broken ?? '', /not a TLS record/)
  })
})
