import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  aeadRecordOverhead, decodeControlRecords, diagnose, isConnectionClosedError, isHttp11Required, isUnsafeLegacyError,
  type ConnectionSnapshot, type DiagnoseInput, type Diagnosis
} from '../src/fingerprint.ts'
import { STACKS, type StackName } from '../src/stacks.ts'
import { GCM, iisSnapshot } from './helpers/snapshots.ts'

const CHACHA = 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256'
const CBC = 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256'

function failure (code: string | undefined, message = 'failed'): DiagnoseInput['error'] {
  const error = new Error(message) as Error & { code?: string }
  if (code !== undefined) error.code = code
  return error
}

function run (
  code: string | undefined,
  connection: ConnectionSnapshot | undefined,
  options: { stack?: StackName, hasClientCert?: boolean, message?: string } = {}
): ReturnType<typeof diagnose> {
  return diagnose({
    error: failure(code, options.message),
    stack: options.stack ?? connection?.stack ?? 'strict',
    connection,
    hasClientCert: options.hasClientCert ?? false
  })
}

describe('aeadRecordOverhead', () => {
  const cases: Array<[string | null, number | undefined]> = [
    ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 29],
    ['TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384', 29],
    ['TLS_RSA_WITH_AES_128_GCM_SHA256', 29],
    ['TLS_ECDHE_ECDSA_WITH_AES_128_CCM', 29],
    ['TLS_RSA_WITH_AES_256_CCM', 29],
    ['TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8', 21],
    ['TLS_RSA_WITH_AES_128_CCM_8', 21],
    ['TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256', 21],
    ['TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256', 21],
    ['TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256', undefined],
    ['TLS_RSA_WITH_AES_256_CBC_SHA', undefined],
    ['TLS_RSA_WITH_3DES_EDE_CBC_SHA', undefined],
    ['', undefined],
    [null, undefined]
  ]
  for (const [cipher, overhead] of cases) {
    test(`${JSON.stringify(cipher)} has a per-record overhead of ${overhead}`, () => {
      assert.equal(aeadRecordOverhead(cipher), overhead)
    })
  }
})

describe('decodeControlRecords', () => {
  test('a GCM HelloRequest (33 bytes) answered by one client alert (31 bytes after a 100-byte request record)', () => {
    assert.deepEqual(decodeControlRecords(33, 131, 71, 29), { helloRequests: 1, serverAlerts: 0, clientAlerts: 1 })
  })

  test('a HelloRequest followed by a server alert (64 bytes)', () => {
    assert.deepEqual(decodeControlRecords(64, 131, 71, 29), { helloRequests: 1, serverAlerts: 1, clientAlerts: 1 })
  })

  test('a HelloRequest and two server alerts (95 bytes)', () => {
    assert.deepEqual(decodeControlRecords(95, 131, 71, 29), { helloRequests: 1, serverAlerts: 2, clientAlerts: 1 })
  })

  test('a lone close_notify (31 bytes) holds no HelloRequest', () => {
    assert.deepEqual(decodeControlRecords(31, 100, 71, 29), { helloRequests: 0, serverAlerts: 1, clientAlerts: 0 })
  })

  test('a HelloRequest the client never answered decodes with no client alert', () => {
    assert.deepEqual(decodeControlRecords(33, 100, 71, 29), { helloRequests: 1, serverAlerts: 0, clientAlerts: 0 })
  })

  test('several request records are told apart from the alert by the overhead they each add', () => {
    // Three request records (plaintext 3 × 50) and one alert.
    assert.deepEqual(decodeControlRecords(33, 150 + 3 * 29 + 31, 150, 29), { helloRequests: 1, serverAlerts: 0, clientAlerts: 1 })
  })

  test('ChaCha20-Poly1305 (overhead 21): HelloRequest 25 bytes, alert 23 bytes', () => {
    assert.deepEqual(decodeControlRecords(25, 71 + 21 + 23, 71, 21), { helloRequests: 1, serverAlerts: 0, clientAlerts: 1 })
    assert.deepEqual(decodeControlRecords(25 + 23, 71 + 21 + 23, 71, 21), { helloRequests: 1, serverAlerts: 1, clientAlerts: 1 })
    assert.deepEqual(decodeControlRecords(23, 71 + 21, 71, 21), { helloRequests: 0, serverAlerts: 1, clientAlerts: 0 })
  })

  test('with the final flight of a resumed handshake in the window, its 6 + overhead + 16 sent bytes are set aside', () => {
    const tail = 6 + 29 + 16
    assert.deepEqual(decodeControlRecords(33, 131 + tail, 71, 29, true), { helloRequests: 1, serverAlerts: 0, clientAlerts: 1 })
    assert.deepEqual(decodeControlRecords(33, 100 + tail, 71, 29, true), { helloRequests: 1, serverAlerts: 0, clientAlerts: 0 })
    const chachaTail = 6 + 21 + 16
    assert.deepEqual(decodeControlRecords(25, 71 + 21 + 23 + chachaTail, 71, 21, true), { helloRequests: 1, serverAlerts: 0, clientAlerts: 1 })
  })

  test('the final flight changes the answer: without it the same counts do not decode', () => {
    const tail = 6 + 29 + 16
    // (182 - 71) mod 29 = 24: twelve alerts, too many to be control records.
    assert.equal(decodeControlRecords(33, 131 + tail, 71, 29, false), undefined)
  })

  test('with the final flight flagged, fewer sent bytes than the flight itself do not decode', () => {
    assert.equal(decodeControlRecords(33, 131, 71, 29, true), undefined)
  })

  const nonsense: Array<[string, [number, number, number, number]]> = [
    ['nothing received', [0, 131, 71, 29]],
    ['a negative count received', [-33, 131, 71, 29]],
    ['fewer bytes sent than plaintext sent', [33, 70, 71, 29]],
    ['a received remainder of 1', [30, 131, 71, 29]],
    ['a received remainder of 3', [32, 131, 71, 29]],
    ['a received remainder of 5', [34, 131, 71, 29]],
    ['a received remainder of 10', [39, 131, 71, 29]],
    ['a received remainder of 0 (only whole application records)', [58, 131, 71, 29]],
    ['a received count smaller than one record', [4, 131, 71, 29]],
    ['a received count of 6, smaller than two records', [6, 131, 71, 29]],
    ['an odd sent remainder', [33, 130, 71, 29]],
    ['a sent remainder of five alerts', [33, 100 + 10, 71, 29]],
    ['a sent remainder of 28', [33, 100 + 28, 71, 29]]
  ]
  for (const [name, [received, sent, plaintextSent, overhead]] of nonsense) {
    test(`counts that are not control records (${name}) decode to undefined`, () => {
      assert.equal(decodeControlRecords(received, sent, plaintextSent, overhead), undefined)
    })
  }
})

describe('isConnectionClosedError', () => {
  test('resets and closes count, other codes and no code do not', () => {
    for (const code of ['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE', 'ECONNABORTED']) assert.equal(isConnectionClosedError({ code }), true, code)
    for (const code of ['ETIMEDOUT', 'ECONNREFUSED', 'UND_ERR_HEADERS_TIMEOUT', 'ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE']) {
      assert.equal(isConnectionClosedError({ code }), false, code)
    }
    assert.equal(isConnectionClosedError({}), false)
  })
})

describe('diagnose: renegotiation-refused', () => {
  test('the IIS case (reset after one HelloRequest declined with an alert, GCM) is verified', () => {
    const result = run('ECONNRESET', iisSnapshot())
    assert.ok(result)
    assert.equal(result.fingerprint, 'renegotiation-refused')
    assert.equal(result.evidence.verified, true)
    assert.deepEqual(result.evidence.records, { helloRequests: 1, serverAlerts: 0, clientAlerts: 1 })
    assert.equal(result.evidence.errorCode, 'ECONNRESET')
    assert.equal(result.evidence.tlsVersion, 'TLSv1.2')
    assert.equal(result.evidence.cipher, GCM)
    assert.equal(result.evidence.bytesReceived, 33)
    assert.equal(result.evidence.bytesSent, 131)
    assert.equal(result.evidence.plaintextReceived, 0)
    assert.equal(typeof result.evidence.summary, 'string')
    assert.ok(result.evidence.summary.length > 0)
  })

  test('the summary says which part is authenticated: a bare reset after the declined HelloRequest is not the server\'s word, an alert is', () => {
    assert.match(run('ECONNRESET', iisSnapshot())?.evidence.summary ?? '', /the connection then ended without a response \(a reset or close: not authenticated/)
    const code = 'ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE'
    assert.match(run(code, iisSnapshot({ rawRead: 64, tlsErrors: [code] }))?.evidence.summary ?? '', /the server then ended the connection with an alert, without a response$/)
  })

  test('the evidence survives a JSON round trip unchanged', () => {
    const result = run('ECONNRESET', iisSnapshot())
    assert.ok(result)
    assert.deepEqual(JSON.parse(JSON.stringify(result.evidence)), result.evidence)
  })

  test('undici\'s UND_ERR_SOCKET for the same close matches too', () => {
    const result = run('UND_ERR_SOCKET', iisSnapshot())
    assert.equal(result?.fingerprint, 'renegotiation-refused')
    assert.equal(result?.evidence.verified, true)
  })

  test('EPIPE and ECONNABORTED for the same close match too', () => {
    assert.equal(run('EPIPE', iisSnapshot())?.fingerprint, 'renegotiation-refused')
    assert.equal(run('ECONNABORTED', iisSnapshot())?.fingerprint, 'renegotiation-refused')
  })

  test('Apache\'s handshake_failure alert matches, under both OpenSSL spellings', () => {
    for (const code of ['ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE', 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE']) {
      const result = run(code, iisSnapshot({ rawRead: 64, tlsErrors: [code] }))
      assert.equal(result?.fingerprint, 'renegotiation-refused', code)
      assert.equal(result?.evidence.verified, true, code)
      assert.deepEqual(result?.evidence.records, { helloRequests: 1, serverAlerts: 1, clientAlerts: 1 })
      assert.equal(result?.evidence.errorCode, code)
    }
  })

  test('ChaCha20-Poly1305 is decoded with its own overhead', () => {
    const result = run('ECONNRESET', iisSnapshot({ cipher: CHACHA, rawRead: 25, rawWritten: 71 + 21 + 23 }))
    assert.equal(result?.fingerprint, 'renegotiation-refused')
    assert.equal(result?.evidence.verified, true)
  })

  test('a resumed handshake\'s final flight in the window is accounted for', () => {
    const result = run('ECONNRESET', iisSnapshot({ rawWritten: 131 + 6 + 29 + 16, finalFlightInWindow: true }))
    assert.equal(result?.fingerprint, 'renegotiation-refused')
    assert.deepEqual(result?.evidence.records, { helloRequests: 1, serverAlerts: 0, clientAlerts: 1 })
  })

  test('TLS 1.0 and 1.1 connections are judged like TLS 1.2', () => {
    assert.equal(run('ECONNRESET', iisSnapshot({ protocol: 'TLSv1' }))?.fingerprint, 'renegotiation-refused')
    assert.equal(run('ECONNRESET', iisSnapshot({ protocol: 'TLSv1.1' }))?.fingerprint, 'renegotiation-refused')
  })

  test('the tls13 stack (which refuses renegotiation too) matches like strict', () => {
    assert.equal(run('ECONNRESET', iisSnapshot({ stack: 'tls13' }))?.fingerprint, 'renegotiation-refused')
  })

  test('an ALPN of http/1.1, false or null does not prevent the match', () => {
    for (const alpn of ['http/1.1', false, null] as const) {
      assert.equal(run('ECONNRESET', iisSnapshot({ alpn }))?.fingerprint, 'renegotiation-refused', String(alpn))
    }
  })

  test('a CBC cipher with bytes received matches, unverified, without records', () => {
    const result = run('ECONNRESET', iisSnapshot({ cipher: CBC, rawRead: 37 }))
    assert.equal(result?.fingerprint, 'renegotiation-refused')
    assert.equal(result?.evidence.verified, false)
    assert.equal(result?.evidence.records, undefined)
    assert.equal(result?.evidence.bytesReceived, 37)
  })

  test('an unknown cipher name (null) with bytes received is judged like CBC: unverified', () => {
    const result = run('ECONNRESET', iisSnapshot({ cipher: null }))
    assert.equal(result?.fingerprint, 'renegotiation-refused')
    assert.equal(result?.evidence.verified, false)
  })
})

describe('diagnose: what is not a refused renegotiation', () => {
  test('a bare reset with nothing received is not', () => {
    assert.equal(run('ECONNRESET', iisSnapshot({ rawRead: 0 })), undefined)
  })

  test('a bare reset on a CBC connection with nothing received is not', () => {
    assert.equal(run('ECONNRESET', iisSnapshot({ cipher: CBC, rawRead: 0 })), undefined)
  })

  test('a forged HelloRequest the client never answered is not: (sent - plain) mod 29 == 0', () => {
    const snapshot = iisSnapshot({ rawRead: 33, rawWritten: 100, plainWritten: 71 })
    assert.equal((snapshot.rawWritten - snapshot.plainWritten) % 29, 0)
    assert.equal(run('ECONNRESET', snapshot), undefined)
  })

  test('a lone close_notify before the reset is not', () => {
    assert.equal(run('ECONNRESET', iisSnapshot({ rawRead: 31, rawWritten: 100 })), undefined)
  })

  test('received bytes that do not decode into control records are not', () => {
    assert.equal(run('ECONNRESET', iisSnapshot({ rawRead: 40 })), undefined)
  })

  test('a record that failed authentication disqualifies the connection', () => {
    assert.equal(run('ECONNRESET', iisSnapshot({ tlsErrors: ['ERR_SSL_CIPHER_OPERATION_FAILED'] })), undefined)
    assert.equal(run('ECONNRESET', iisSnapshot({ tlsErrors: ['ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE', 'ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC'] })), undefined)
  })

  test('a TLS 1.3 connection is not (it has no renegotiation)', () => {
    assert.equal(run('ECONNRESET', iisSnapshot({ protocol: 'TLSv1.3' })), undefined)
  })

  test('an unknown or missing protocol is not', () => {
    assert.equal(run('ECONNRESET', iisSnapshot({ protocol: null })), undefined)
    assert.equal(run('ECONNRESET', iisSnapshot({ protocol: 'SSLv3' })), undefined)
  })

  test('an HTTP/2 connection is not (h2 forbids renegotiation)', () => {
    assert.equal(run('ECONNRESET', iisSnapshot({ alpn: 'h2' })), undefined)
  })

  test('a connection that received response bytes is not', () => {
    assert.equal(run('ECONNRESET', iisSnapshot({ plainRead: 1 })), undefined)
  })

  test('a connection whose handshake did not complete is not', () => {
    assert.equal(run('ECONNRESET', iisSnapshot({ handshakeComplete: false })), undefined)
  })

  test('a failure not linked to a connection is not', () => {
    assert.equal(run('ECONNRESET', undefined), undefined)
  })

  test('errors that are neither a close nor the refusal alert are not', () => {
    for (const code of [undefined, 'ETIMEDOUT', 'UND_ERR_HEADERS_TIMEOUT', 'ECONNREFUSED', 'ERR_SSL_TLSV1_ALERT_INTERNAL_ERROR', 'UND_ERR_ABORTED']) {
      assert.equal(run(code, iisSnapshot()), undefined, String(code))
    }
  })

  test('a plain reset on the renegotiation stack matches nothing', () => {
    for (const stack of ['renegotiation', 'legacy-server-connect'] as const) {
      assert.equal(run('ECONNRESET', iisSnapshot({ stack }), { stack }), undefined, stack)
      assert.equal(run('ECONNRESET', iisSnapshot({ stack, rawRead: 0 }), { stack }), undefined, stack)
    }
  })
})

describe('diagnose: http11-required', () => {
  function http2Error (message: string, http2ErrorCode?: number): DiagnoseInput['error'] {
    const error = failure('UND_ERR_SOCKET', message) as DiagnoseInput['error'] & { http2ErrorCode?: number }
    if (http2ErrorCode !== undefined) error.http2ErrorCode = http2ErrorCode
    return error
  }
  const h2 = iisSnapshot({ alpn: 'h2', protocol: 'TLSv1.3', rawRead: 200, plainRead: 0 })

  test('an HTTP/2 error with code HTTP_1_1_REQUIRED (13) matches, verified', () => {
    const result = diagnose({ error: http2Error('stream closed', 13), stack: 'strict', connection: h2, hasClientCert: false })
    assert.equal(result?.fingerprint, 'http11-required')
    assert.equal(result?.evidence.verified, true)
    assert.equal(result?.evidence.tlsVersion, 'TLSv1.3')
  })

  test('a message that names the code is no evidence: not matched without a structured code (issue 27, item 4)', () => {
    const messages = [
      'Stream closed with error code NGHTTP2_HTTP_1_1_REQUIRED',
      'HTTP/2: "GOAWAY" frame received with code 13',
      'Hostname/IP does not match certificate\'s altnames: Host: localhost. is not in the cert\'s altnames: DNS:HTTP_1_1_REQUIRED.example'
    ]
    for (const message of messages) {
      assert.equal(diagnose({ error: http2Error(message), stack: 'strict', connection: h2, hasClientCert: false }), undefined, message)
      assert.equal(isHttp11Required(http2Error(message)), false, message)
    }
    const altname = Object.assign(new Error(messages[2]), { code: 'ERR_TLS_CERT_ALTNAME_INVALID', reason: messages[2] })
    assert.equal(diagnose({ error: altname, stack: 'strict', connection: undefined, hasClientCert: false }), undefined)
  })

  test('undici\'s own GOAWAY error matches by the GOAWAY Node reported for the stream\'s session: code 13, last-stream-id below the stream', () => {
    const error = http2Error('HTTP/2: "GOAWAY" frame received with code 13')
    const run2 = (http2: DiagnoseInput['http2']): Diagnosis | undefined => diagnose({ error, stack: 'strict', connection: h2, hasClientCert: false, http2 })
    assert.equal(run2({ streamId: 3, goawayCode: 13, goawayLastStreamId: 1 })?.fingerprint, 'http11-required')
    assert.equal(run2({ streamId: 3, goawayCode: 13, goawayLastStreamId: 1 })?.requestUnprocessed, true)
    assert.equal(run2({ streamId: 3, goawayCode: 13, goawayLastStreamId: 3 }), undefined, 'covered: undici\'s error is not the refusal')
    assert.equal(run2({ streamId: 3, goawayCode: 0, goawayLastStreamId: 1 }), undefined, 'a graceful GOAWAY')
    assert.equal(run2({ streamId: 3, goawayCode: 2, goawayLastStreamId: 1 }), undefined, 'another code')
    assert.equal(run2({ streamId: 3, goawayCode: undefined, goawayLastStreamId: undefined }), undefined, 'no GOAWAY')
    assert.equal(run2(undefined), undefined, 'nothing known about the stream')
  })

  test('it matches on every stack, and without a connection', () => {
    for (const stack of STACKS) {
      assert.equal(diagnose({ error: http2Error('x', 13), stack, connection: undefined, hasClientCert: true })?.fingerprint, 'http11-required', stack)
    }
  })

  test('the request is known unprocessed only above a GOAWAY\'s last-stream-id (RFC 9113 section 8.7): not after RST_STREAM, not under a covering GOAWAY', () => {
    const run2 = (error: DiagnoseInput['error'], http2?: DiagnoseInput['http2']): boolean | undefined =>
      diagnose({ error, stack: 'strict', connection: h2, hasClientCert: false, http2 })?.requestUnprocessed
    assert.equal(run2(http2Error('HTTP/2: "GOAWAY" frame received with code 13'), { streamId: 3, goawayCode: 13, goawayLastStreamId: 1 }), true, 'undici\'s own GOAWAY error: the stream was above last-stream-id')
    assert.equal(run2(http2Error('Session closed with error code 13', 13), { streamId: 3, goawayCode: 13, goawayLastStreamId: 1 }), true)
    assert.equal(run2(http2Error('Session closed with error code 13', 13), { streamId: 3, goawayCode: 13, goawayLastStreamId: 3 }), false)
    assert.equal(run2(http2Error('Session closed with error code 13', 13), { streamId: 3, goawayCode: 13, goawayLastStreamId: 5 }), false)
    assert.equal(run2(http2Error('Stream closed with error code NGHTTP2_HTTP_1_1_REQUIRED', 13), { streamId: 3, goawayCode: undefined, goawayLastStreamId: undefined }), false, 'RST_STREAM')
    assert.equal(run2(http2Error('stream closed', 13)), false, 'nothing known about the stream')
  })

  test('other HTTP/2 error codes do not match', () => {
    for (const [message, code] of [['GOAWAY', 0], ['refused', 7], ['HTTP/2: "GOAWAY" frame received with code 130', undefined], ['HTTP/2: "GOAWAY" frame received with code 1', undefined]] as const) {
      assert.notEqual(diagnose({ error: http2Error(message, code), stack: 'strict', connection: h2, hasClientCert: false })?.fingerprint, 'http11-required', message)
    }
  })
})

describe('diagnose: unsafe-legacy-renegotiation', () => {
  const beforeHandshake = iisSnapshot({ handshakeComplete: false, protocol: null, cipher: null, rawRead: 0, rawWritten: 0, plainWritten: 0 })

  test('ERR_SSL_UNSAFE_LEGACY_RENEGOTIATION_DISABLED before the handshake matches, unverified', () => {
    for (const connection of [beforeHandshake, undefined]) {
      const result = run('ERR_SSL_UNSAFE_LEGACY_RENEGOTIATION_DISABLED', connection, { stack: 'strict' })
      assert.equal(result?.fingerprint, 'unsafe-legacy-renegotiation')
      assert.equal(result?.evidence.verified, false)
      assert.equal(result?.evidence.errorCode, 'ERR_SSL_UNSAFE_LEGACY_RENEGOTIATION_DISABLED')
      assert.equal(result?.evidence.tlsVersion, null)
    }
  })

  test('an EPROTO whose message says unsafe legacy renegotiation disabled does not match: message text is no evidence (issue 27, item 4)', () => {
    const message = 'write EPROTO 00F8:error:0A000152:SSL routines:final_renegotiate:unsafe legacy renegotiation disabled:../deps/openssl/openssl/ssl/statem/extensions.c:893:'
    assert.equal(run('EPROTO', beforeHandshake, { message }), undefined)
    assert.equal(isUnsafeLegacyError(Object.assign(new Error(message), { code: 'EPROTO' })), false)
  })

  test('the message alone, with another code, does not', () => {
    assert.equal(run('ECONNRESET', beforeHandshake, { message: 'unsafe legacy renegotiation disabled' }), undefined)
  })

  test('it matches on every stack but legacy-server-connect', () => {
    for (const stack of STACKS) {
      const result = run('ERR_SSL_UNSAFE_LEGACY_RENEGOTIATION_DISABLED', { ...beforeHandshake, stack }, { stack })
      if (stack === 'legacy-server-connect') assert.equal(result, undefined, stack)
      else assert.equal(result?.fingerprint, 'unsafe-legacy-renegotiation', stack)
    }
  })

  test('it does not match once the handshake completed', () => {
    assert.equal(run('ERR_SSL_UNSAFE_LEGACY_RENEGOTIATION_DISABLED', iisSnapshot()), undefined)
  })
})

describe('diagnose: client-certificate-required', () => {
  const renegotiated = iisSnapshot({ stack: 'renegotiation', renegotiations: 1, rawRead: 2_000, rawWritten: 400 })

  test('a renegotiation then a close with no response and no client certificate matches, verified', () => {
    const result = run('ECONNRESET', renegotiated, { stack: 'renegotiation', hasClientCert: false })
    assert.equal(result?.fingerprint, 'client-certificate-required')
    assert.equal(result?.evidence.verified, true)
    assert.equal(result?.evidence.renegotiations, 1)
  })

  test('it matches on the legacy-server-connect stack too, and with several renegotiations', () => {
    const result = run('ECONNRESET', { ...renegotiated, stack: 'legacy-server-connect', renegotiations: 3 }, { stack: 'legacy-server-connect' })
    assert.equal(result?.fingerprint, 'client-certificate-required')
    assert.equal(result?.evidence.renegotiations, 3)
  })

  test('it does not match when the host has a client certificate', () => {
    assert.equal(run('ECONNRESET', renegotiated, { stack: 'renegotiation', hasClientCert: true }), undefined)
  })

  test('it does not match without a renegotiation', () => {
    assert.equal(run('ECONNRESET', { ...renegotiated, renegotiations: 0 }, { stack: 'renegotiation' }), undefined)
  })

  test('it does not match after response bytes arrived', () => {
    assert.equal(run('ECONNRESET', { ...renegotiated, plainRead: 10 }, { stack: 'renegotiation' }), undefined)
  })

  test('it does not match on the strict stack, where renegotiations are refused', () => {
    const result = run('ECONNRESET', { ...renegotiated, stack: 'strict' }, { stack: 'strict' })
    assert.notEqual(result?.fingerprint, 'client-certificate-required')
  })
})

describe('diagnose: property checks over random snapshots', () => {
  // A small deterministic generator (mulberry32): the failures it finds can be replayed.
  function random (seed: number): () => number {
    let a = seed >>> 0
    return () => {
      a = (a + 0x6D2B79F5) >>> 0
      let t = a
      t = Math.imul(t ^ (t >>> 15), t | 1)
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296
    }
  }
  const pick = <T>(next: () => number, list: readonly T[]): T => list[Math.floor(next() * list.length)] as T
  const int = (next: () => number, max: number): number => Math.floor(next() * (max + 1))

  const codes = [undefined, 'ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE', 'ECONNABORTED', 'EPROTO', 'ETIMEDOUT',
    'ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE', 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', 'UND_ERR_HEADERS_TIMEOUT']
  const ciphers = [GCM, CHACHA, CBC, 'TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8', 'TLS_RSA_WITH_AES_256_CCM', null, '']
  const protocols = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3', null, 'SSLv3']
  const alpns = ['h2', 'http/1.1', false, null] as const
  const nonAlertErrors = ['ERR_SSL_CIPHER_OPERATION_FAILED', 'ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC',
    'ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_BAD_RECORD_MAC', 'EPROTO']

  function snapshot (next: () => number, kind: 'nothing-read' | 'tls-error'): ConnectionSnapshot {
    const plainWritten = int(next, 2_000)
    const tlsErrors = kind === 'tls-error'
      ? [...(next() < 0.5 ? ['ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE'] : []), pick(next, nonAlertErrors)]
      : (next() < 0.5 ? [] : ['ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE'])
    return {
      stack: pick(next, STACKS),
      handshakeComplete: next() < 0.9,
      protocol: pick(next, protocols),
      cipher: pick(next, ciphers),
      alpn: pick(next, alpns),
      offeredTls13: next() < 0.5,
      rawRead: kind === 'nothing-read' ? 0 : 1 + int(next, 200),
      rawWritten: plainWritten + int(next, 300),
      plainRead: next() < 0.8 ? 0 : int(next, 100),
      plainWritten,
      renegotiations: next() < 0.7 ? 0 : int(next, 3),
      finalFlightInWindow: next() < 0.2,
      windowDecodable: next() < 0.8,
      tlsErrors
    }
  }

  for (const kind of ['nothing-read', 'tls-error'] as const) {
    test(`2,000 random snapshots (${kind === 'nothing-read' ? 'rawRead 0' : 'a non-alert TLS error'}) never yield renegotiation-refused and never throw`, () => {
      const next = random(kind === 'nothing-read' ? 1 : 2)
      let diagnosed = 0
      for (let i = 0; i < 2_000; i++) {
        const connection = snapshot(next, kind)
        const code = pick(next, codes)
        const input: DiagnoseInput = { error: failure(code), stack: connection.stack, connection, hasClientCert: next() < 0.5 }
        let result: ReturnType<typeof diagnose>
        assert.doesNotThrow(() => { result = diagnose(input) }, `case ${i}: ${JSON.stringify(input.connection)}`)
        if (result !== undefined) diagnosed++
        assert.notEqual(result?.fingerprint, 'renegotiation-refused', `case ${i}: ${code} ${JSON.stringify(connection)}`)
      }
      // The generator reaches the other fingerprints, so the loop does test something.
      assert.ok(diagnosed > 0, 'some snapshots match another fingerprint')
    })
  }

  test('the same snapshots with a decodable refusal added do match: the generator can produce a match', () => {
    const next = random(3)
    let matched = 0
    for (let i = 0; i < 200; i++) {
      const connection = { ...snapshot(next, 'nothing-read'), rawRead: 33, stack: 'strict' as const, handshakeComplete: true, protocol: 'TLSv1.2', cipher: GCM, alpn: 'http/1.1' as const, plainRead: 0, tlsErrors: [], finalFlightInWindow: false }
      connection.rawWritten = connection.plainWritten + 29 + 31
      if (diagnose({ error: failure('ECONNRESET'), stack: 'strict', connection, hasClientCert: false })?.fingerprint === 'renegotiation-refused') matched++
    }
    assert.equal(matched, 200)
  })
})

describe('post-handshake-auth-required: Apache\'s own 403, whole, and the bound', async () => {
  const { isApachePostHandshakeAuth, APACHE_PHA_DOCUMENT } = await import('../src/fingerprint.ts')
  const { HeldResponse, HOLD_LIMIT } = await import('../src/response-hold.ts')
  const { APACHE_PHA_PAGE, APACHE_PHA_HEADERS, apachePageWithSignature, apacheSignature } = await import('./servers/pha.ts')
  const PHA_TEXT = 'Reason: Cannot perform Post-Handshake Authentication.'

  /** A complete response as the agent holds it; Apache's own unless `change` says otherwise. */
  function answer (change: { page?: string, headers?: Record<string, string | string[] | undefined>, statusCode?: number, statusMessage?: string | undefined, alpn?: string | false | null } = {}): Parameters<typeof isApachePostHandshakeAuth>[0] {
    const body = Buffer.from(change.page ?? APACHE_PHA_PAGE, 'latin1')
    return {
      statusCode: change.statusCode ?? 403,
      statusMessage: 'statusMessage' in change ? change.statusMessage : 'Forbidden',
      headers: { date: 'Mon, 07 Dec 2026 09:33:04 GMT', ...APACHE_PHA_HEADERS, 'x-client-verify': 'NONE', 'content-length': String(body.length), ...change.headers },
      body,
      alpn: 'alpn' in change ? change.alpn : 'http/1.1'
    }
  }

  test('the measured page and headers are the document the matcher knows', () => {
    assert.equal(APACHE_PHA_DOCUMENT.head + APACHE_PHA_DOCUMENT.tail, APACHE_PHA_PAGE)
    assert.equal(Buffer.byteLength(APACHE_PHA_PAGE, 'latin1'), 298)
  })

  const apaches: Array<[string, Parameters<typeof answer>[0]]> = [
    ['Apache\'s page (ServerSignature Off, Apache\'s default)', {}],
    ['without ALPN', { alpn: false }],
    ['ServerSignature On (Debian\'s default)', { page: apachePageWithSignature(apacheSignature(8443)) }],
    ['ServerSignature On, ServerTokens OS', { page: apachePageWithSignature(apacheSignature(443, 'Apache/2.4.71 (Debian)')), headers: { server: 'Apache/2.4.71 (Debian)' } }],
    ['ServerTokens Prod', { page: apachePageWithSignature(apacheSignature(443, 'Apache')), headers: { server: 'Apache' } }],
    ['ServerSignature EMail', { page: apachePageWithSignature('<hr>\n<address>Apache/2.4.71 (Debian) OpenSSL/3.0.22 Server at <a href="mailto:ops&lt;x&gt;@example.com">localhost</a> Port 37063</address>\n') }]
  ]
  for (const [title, change] of apaches) {
    test(`matches: ${title}`, () => {
      assert.equal(isApachePostHandshakeAuth(answer(change)), true)
    })
  }

  const others: Array<[string, Parameters<typeof answer>[0]]> = [
    ['the sentence reflected into an application\'s page', { page: `<html><body><p>You may not publish ${PHA_TEXT}<br /></p></body></html>\n` }],
    ['the sentence alone', { page: PHA_TEXT }],
    ['Apache\'s page with text before it', { page: `x${APACHE_PHA_PAGE}` }],
    ['Apache\'s page with text after it', { page: `${APACHE_PHA_PAGE}<p>${PHA_TEXT}</p>\n` }],
    ['text in place of the signature line', { page: apachePageWithSignature(`<p>${PHA_TEXT}</p>\n`) }],
    ['a signature line that is not Apache\'s', { page: apachePageWithSignature('<hr>\n<address>nginx Server at localhost Port 443</address>\n') }],
    ['a signature line with markup in it', { page: apachePageWithSignature('<hr>\n<address>Apache Server at <b>x</b> Port 443</address>\n') }],
    ['a signature line over the bound', { page: apachePageWithSignature(`<hr>\n<address>Apache Server at ${'a'.repeat(1100)} Port 443</address>\n`) }],
    ['another case', { page: APACHE_PHA_PAGE.replace('Post-Handshake', 'post-handshake') }],
    ['Apache\'s page for another reason (no error-notes)', { page: APACHE_PHA_PAGE.replace(PHA_TEXT + '<br />', '') }],
    ['UTF-8, as applications send it', { headers: { 'content-type': 'text/html; charset=utf-8' } }],
    ['no Content-Type', { headers: { 'content-type': undefined } }],
    ['no Server header', { headers: { server: undefined } }],
    ['another server', { headers: { server: 'nginx' } }],
    ['a server that only starts with Apache', { headers: { server: 'Apache-Coyote/1.1' } }],
    ['two Server headers', { headers: { server: ['Apache', 'Apache'] } }],
    ['no Content-Length', { headers: { 'content-length': undefined } }],
    ['a Content-Length that is not the body\'s', { headers: { 'content-length': '297' } }],
    ['chunked', { headers: { 'content-length': undefined, 'transfer-encoding': 'chunked' } }],
    ['a Content-Encoding', { headers: { 'content-encoding': 'identity' } }],
    ['status 200', { statusCode: 200, statusMessage: 'OK' }],
    ['status 401', { statusCode: 401, statusMessage: 'Forbidden' }],
    ['another status text', { statusMessage: 'Access Denied' }],
    ['no status text', { statusMessage: undefined }],
    ['over HTTP/2 (mod_http2 resets such a stream with HTTP_1_1_REQUIRED)', { alpn: 'h2', statusMessage: '' }]
  ]
  for (const [title, change] of others) {
    test(`does not match: ${title}`, () => {
      assert.equal(isApachePostHandshakeAuth(answer(change)), false)
    })
  }

  test('only a Content-Length up to HOLD_LIMIT may be held (Apache always sends one)', () => {
    assert.equal(HeldResponse.fits({ 'content-length': '298' }), true)
    assert.equal(HeldResponse.fits({ 'content-length': String(HOLD_LIMIT) }), true)
    assert.equal(HeldResponse.fits({ 'content-length': String(HOLD_LIMIT + 1) }), false)
    assert.equal(HeldResponse.fits({ 'content-length': ['10', '10'] }), false)
    assert.equal(HeldResponse.fits({ 'content-length': '-1' }), false)
    assert.equal(HeldResponse.fits({ 'transfer-encoding': 'chunked' }), false)
    assert.equal(HeldResponse.fits({}), false)
  })
})
