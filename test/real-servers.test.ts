import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startApache, type ApacheServer } from './servers/apache.ts'
import { startGnutls, type GnutlsServer } from './servers/gnutls.ts'
import { clientCert, failure, makeAgent, memoryLogger, record, send } from './helpers.ts'

describe('a real Apache (mod_ssl) that renegotiates for a client certificate under /secure', () => {
  let apache: ApacheServer
  before(async () => { apache = await startApache() })
  after(async () => { await apache.close() })

  test('with the host\'s client certificate: the strict attempt is refused, the renegotiation stack presents the certificate and Apache verifies it', async (t) => {
    const origin = `https://localhost:${apache.port}`
    const events = record(origin)
    const agent = makeAgent({ hosts: { localhost: { clientCert } }, logger: memoryLogger().logger })
    t.after(async () => { events.stop(); await agent.close() })
    const home = await send(agent, `${origin}/`)
    assert.equal(home.status, 200)
    assert.equal(home.headers['x-client-verify'], 'NONE')

    const secure = await send(agent, `${origin}/secure`)
    assert.equal(secure.status, 200)
    assert.equal(secure.text, 'hello from secure\n')
    assert.equal(secure.headers['x-client-verify'], 'SUCCESS')
    assert.equal(secure.headers['x-client-subject'], 'CN=test client')

    // Apache answers the declined HelloRequest with a fatal handshake_failure alert, then a FIN;
    // undici reports whichever error the socket raised last.
    assert.ok(['ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE', 'UND_ERR_SOCKET'].includes(events.diagnoses[0]?.error.code ?? ''))
    assert.equal(events.diagnoses[0]?.evidence.verified, true)
    assert.equal(agent.policy(origin)?.stack, 'renegotiation')

    const post = await send(agent, `${origin}/secure`, { method: 'POST', body: 'x'.repeat(4096) })
    assert.equal(post.status, 200)
    assert.equal(post.text, 'received 4096 bytes\n')
    assert.deepEqual(events.attempts.slice(-1).map((a) => a.stack), ['renegotiation'])
    assert.match(await apache.waitForAccessLog(/"GET \/secure HTTP\/1.1" 200 .* verify=SUCCESS subject="CN=test client"/), /"GET \/secure HTTP\/1.1" 200 .* verify=SUCCESS subject="CN=test client"/)
  })

  test('without a client certificate: TLS_FALLBACK_CLIENT_CERTIFICATE_REQUIRED names the host and clientCert, and no policy is learned', async (t) => {
    const origin = `https://localhost:${apache.port}`
    const events = record(origin)
    const agent = makeAgent()
    t.after(async () => { events.stop(); await agent.close() })
    const error = await failure(() => send(agent, `${origin}/secure`))
    assert.equal(error.code, 'TLS_FALLBACK_CLIENT_CERTIFICATE_REQUIRED')
    assert.equal(error.fingerprint, 'client-certificate-required')
    assert.match(error.message, /localhost/)
    assert.match(error.message, /clientCert/)
    assert.deepEqual(error.attempts.map((a: { stack: string }) => a.stack), ['strict', 'renegotiation'])
    assert.deepEqual(events.diagnoses.map((d) => d.fingerprint), ['renegotiation-refused', 'client-certificate-required'])
    assert.equal(agent.policy(origin), undefined)
    assert.equal(events.fallbacks.length, 0)
  })
})

describe('a real GnuTLS server without RFC 5746 (gnutls-serv %DISABLE_SAFE_RENEGOTIATION)', () => {
  let legacy: GnutlsServer
  before(async () => { legacy = await startGnutls() })
  after(async () => { await legacy.close() })

  test('without consent: TLS_FALLBACK_NOT_ALLOWED names the host, the stack and the config line', async (t) => {
    const origin = `https://localhost:${legacy.port}`
    const agent = makeAgent()
    t.after(async () => { await agent.close() })
    const error = await failure(() => send(agent, `${origin}/`))
    assert.equal(error.code, 'TLS_FALLBACK_NOT_ALLOWED')
    assert.equal(error.fingerprint, 'unsafe-legacy-renegotiation')
    assert.equal(error.cause?.code, 'ERR_SSL_UNSAFE_LEGACY_RENEGOTIATION_DISABLED')
    assert.match(error.message, /legacy-server-connect/)
    assert.match(error.message, /hosts: \{ 'localhost': \{ fallback: \['tls13', 'renegotiation', 'legacy-server-connect'\] \} \}/)
    assert.match(error.message, /CVE-2009-3555/)
    assert.equal(agent.policy(origin), undefined)
  })

  test('with the host\'s consent: connects with legacy server connect, learns it, and the next request needs no failed attempt', async (t) => {
    const origin = `https://localhost:${legacy.port}`
    const events = record(origin)
    const { logger, lines } = memoryLogger()
    const agent = makeAgent({ hosts: { [`localhost:${legacy.port}`]: { fallback: ['legacy-server-connect'] } }, logger })
    t.after(async () => { events.stop(); await agent.close() })
    const first = await send(agent, `${origin}/`)
    assert.equal(first.status, 200)
    assert.match(first.text, /GnuTLS/)
    assert.equal(agent.policy(origin)?.stack, 'legacy-server-connect')
    assert.equal(agent.policy(origin)?.fingerprint, 'unsafe-legacy-renegotiation')
    assert.equal(events.fallbacks.length, 1)
    const warn = lines.find((l) => l.level === 'warn' && l.obj.to === 'legacy-server-connect')
    assert.ok(warn, 'the downgrade is logged at warn level')

    const second = await send(agent, `${origin}/`)
    assert.equal(second.status, 200)
    assert.deepEqual(events.attempts.map((a) => a.stack), ['strict', 'legacy-server-connect', 'legacy-server-connect'])
  })

  test('a POST whose handshake failed (the request never left) is sent again on the consented stack by default: no TLS_FALLBACK_NOT_REPLAYED', async (t) => {
    const origin = `https://localhost:${legacy.port}`
    const events = record(origin)
    const agent = makeAgent({ hosts: { [`localhost:${legacy.port}`]: { fallback: ['legacy-server-connect'] } }, logger: memoryLogger().logger })
    t.after(async () => { events.stop(); await agent.close() })
    // gnutls-serv --http answers a POST with something that is not HTTP: what matters is that the
    // POST went again, on the legacy stack, after the strict handshake failed.
    const error = await failure(() => send(agent, `${origin}/`, { method: 'POST', body: 'once' }))
    assert.notEqual(error.code, 'TLS_FALLBACK_NOT_REPLAYED')
    assert.deepEqual(events.attempts.map((a) => [a.method, a.stack, a.reason]), [['POST', 'strict', 'initial'], ['POST', 'legacy-server-connect', 'fallback']])
    assert.deepEqual(events.diagnoses.map((d) => d.fingerprint), ['unsafe-legacy-renegotiation'])
  })

  test('a cached legacy-server-connect entry is ignored for a host that does not consent', async (t) => {
    const origin = `https://localhost:${legacy.port}`
    const { logger, lines } = memoryLogger()
    const consenting = makeAgent({ hosts: { localhost: { fallback: ['legacy-server-connect'] } }, logger })
    await send(consenting, `${origin}/`)
    const cache = shared(consenting)
    const strictAgent = makeAgent({ cache, logger })
    t.after(async () => { await consenting.close(); await strictAgent.close() })
    const error = await failure(() => send(strictAgent, `${origin}/`))
    assert.equal(error.code, 'TLS_FALLBACK_NOT_ALLOWED')
    assert.ok(lines.some((l) => l.level === 'warn' && /ignoring the cached policy/.test(l.msg ?? '')))
  })
})

/** A cache that serves the entries another agent learned (a stand-in for a shared store). */
function shared (agent: ReturnType<typeof makeAgent>): import('../src/index.ts').PolicyCache {
  const entries = new Map(agent.policies().map((e) => [e.origin, e]))
  return {
    ttl: 60_000,
    get: (origin) => entries.get(origin),
    set: (origin, entry) => { entries.set(origin, entry) },
    delete: (origin) => { entries.delete(origin) },
    entries: () => [...entries.values()]
  }
}
