import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { ProbeAttempt, ProbeResult } from '../src/cli/probe.ts'
import { render, toJson } from '../src/cli/render.ts'

// What a hostile peer can put in text the probe shows: an error message without a code is shown as
// it is, and evidence quotes it ("failed: <message>").
const HOSTILE = 'boom\n[INFO] strict works\u001b[2J\u001b]0;pwned\u0007 \u009b31m \u202egnp.exe'

// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/

function attempt (extra: Partial<ProbeAttempt>): ProbeAttempt {
  return { stack: 'strict', http: 'http/1.1', ok: false, status: null, tlsVersion: null, error: null, fingerprint: null, evidence: '', timeMs: 3, retries: 0, records: [], connected: true, timedOut: null, ...extra }
}

describe('the probe\'s table and --json (src/cli/render.ts)', () => {
  const result: ProbeResult = {
    url: 'https://erp.example.test/x',
    origin: 'https://erp.example.test',
    verdict: { stack: null, fingerprint: null, http1Only: false },
    legacyWouldWork: false,
    unreachable: null,
    timeout: 10_000,
    proxy: null,
    attempts: [
      attempt({ error: HOSTILE, evidence: `failed: ${HOSTILE}` }),
      attempt({ stack: 'tls13', ok: true, status: 403, tlsVersion: 'TLSv1.3', evidence: 'the server answered 403 over TLS 1.3: "Cannot perform Post-Handshake Authentication"' })
    ]
  }

  test('an error message or evidence carrying controls, ESC, C1 and bidi characters is escaped; the table\'s own quotes stay', () => {
    const table = render(result, { color: false, hasClientCert: false })
    assert.doesNotMatch(table, RAW_CONTROL, 'nothing reaches the terminal raw')
    const rows = table.split('\n').filter((l) => l.includes('[INFO] strict works'))
    assert.equal(rows.length, 1, 'the forged line stays inside its row')
    assert.match(rows[0] ?? '', /^strict\s+boom\\n\[INFO\].*failed: boom\\n\[INFO\]/, 'in the error and the evidence cells')
    assert.ok(table.includes('boom\\n[INFO] strict works\\u001b[2J\\u001b]0;pwned\\u0007 \\u009b31m \\u202egnp.exe'))
    assert.ok(table.includes('403 over TLS 1.3: "Cannot perform Post-Handshake Authentication"'))
    const colored = render(result, { color: true, hasClientCert: false })
    assert.doesNotMatch(colored.replace(/\x1b\[\d+m/g, ''), RAW_CONTROL, 'only the table\'s own colours are escape sequences') // eslint-disable-line no-control-regex
  })

  test('--json writes C1 controls, line separators and bidi overrides as \\uXXXX and parses back to the same text', () => {
    const json = toJson(result)
    assert.doesNotMatch(json, RAW_CONTROL)
    assert.ok(json.includes('\\u009b31m') && json.includes('\\u202egnp.exe'))
    assert.equal(JSON.parse(json).attempts[0].error, HOSTILE)
  })

  test('a location that asks for the certificate after the request: a note explains the upload buffer (413) and uploadPriming, --json says certificateAfterRequest', () => {
    const renegotiating: ProbeResult = {
      ...result,
      verdict: { stack: 'renegotiation', fingerprint: 'renegotiation-refused', http1Only: false },
      attempts: [attempt({ fingerprint: 'renegotiation-refused', evidence: 'the server sent a HelloRequest after the request' }), attempt({ stack: 'renegotiation', ok: true, status: 200, tlsVersion: 'TLSv1.2' })]
    }
    const table = render(renegotiating, { color: false, hasClientCert: true })
    assert.match(table, /note: +this location asks for the client certificate after the request.*SSLRenegBufferSize, 131072 bytes by default; IIS uploadReadAheadSize, 49152\) gets 413 Request Entity Too Large.*uploadPriming/)
    assert.match(table, /server fix \(uploads\): ask for the certificate in the first handshake/)
    assert.equal(JSON.parse(toJson(renegotiating)).certificateAfterRequest, true)
    const strict: ProbeResult = { ...result, verdict: { stack: 'strict', fingerprint: null, http1Only: false }, attempts: [attempt({ ok: true, status: 200, tlsVersion: 'TLSv1.3' })] }
    assert.doesNotMatch(render(strict, { color: false, hasClientCert: false }), /413|uploadPriming/)
    assert.equal(JSON.parse(toJson(strict)).certificateAfterRequest, false)
  })
})
