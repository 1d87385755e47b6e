import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import { request } from 'undici'
import { HOLD_LIMIT } from '../src/response-hold.ts'
import { startApache, type ApacheServer } from './servers/apache.ts'
import { startModern } from './servers/modern.ts'
import { APACHE_PHA_HEADERS, APACHE_PHA_PAGE, startPhaLike } from './servers/pha.ts'
import { certs, clientCert, failure, makeAgent, memoryLogger, record, send, warnings } from './helpers.ts'

const PHA_TEXT = 'Reason: Cannot perform Post-Handshake Authentication.'

describe('a real Apache on Debian\'s default protocols (TLS 1.3 on), SSLVerifyClient require in <Location /secure>', () => {
  let apache: ApacheServer
  before(async () => { apache = await startApache({ protocols: 'all -SSLv3' }) })
  after(async () => { await apache.close() })

  test('with the host\'s client certificate: the 403 on TLS 1.3 is held back, GET and POST go again over TLS 1.2, Apache renegotiates and verifies the certificate', async () => {
    const origin = `https://localhost:${apache.port}`
    const events = record(origin)
    const agent = makeAgent({ hosts: { localhost: { clientCert } }, logger: memoryLogger().logger })
    try {
      const home = await send(agent, `${origin}/`)
      assert.equal(home.status, 200)
      assert.equal(events.diagnoses.length, 0)

      const secure = await send(agent, `${origin}/secure`)
      assert.equal(secure.status, 200)
      assert.equal(secure.text, 'hello from secure\n')
      assert.equal(secure.headers['x-client-subject'], 'CN=test client')
      assert.deepEqual(events.attempts.slice(1).map((a) => [a.stack, a.reason]), [['strict', 'initial'], ['renegotiation', 'fallback']])
      assert.deepEqual(events.diagnoses.map((d) => d.fingerprint), ['post-handshake-auth-required'])
      assert.equal(events.diagnoses[0]?.evidence.tlsVersion, 'TLSv1.3')
      assert.equal(events.diagnoses[0]?.evidence.verified, true)
      const policy = agent.policy(origin)
      assert.equal(policy?.stack, 'renegotiation')
      assert.equal(policy?.fingerprint, 'post-handshake-auth-required')
      assert.equal(events.fallbacks.length, 1)

      // The next POST goes straight to TLS 1.2; a fresh agent's first POST is replayed (refused before any handler ran).
      const post = await send(agent, `${origin}/secure`, { method: 'POST', body: 'x'.repeat(10_000) })
      assert.equal(post.text, 'received 10000 bytes\n')
      const fresh = makeAgent({ hosts: { localhost: { clientCert } }, logger: memoryLogger().logger })
      try {
        const first = await send(fresh, `${origin}/secure`, { method: 'POST', body: 'y'.repeat(10_000) })
        assert.equal(first.status, 200)
        assert.equal(first.text, 'received 10000 bytes\n')
        assert.equal(fresh.policy(origin)?.stack, 'renegotiation')
      } finally {
        await fresh.close()
      }
      const log = await apache.waitForAccessLog(/"POST \/secure HTTP\/1.1" 200 \d+ TLSv1.2 .* verify=SUCCESS/, 2)
      assert.match(log, /"GET \/secure HTTP\/1.1" 403 298 TLSv1.3 /)
      assert.match(log, /"GET \/secure HTTP\/1.1" 200 18 TLSv1.2 .* verify=SUCCESS subject="CN=test client"/)
      assert.match(log, /"POST \/secure HTTP\/1.1" 403 298 TLSv1.3 /)
      assert.equal(log.match(/"POST \/secure HTTP\/1.1" 200 \d+ TLSv1.2 .* verify=SUCCESS/g)?.length, 2)
    } finally {
      events.stop()
      await agent.close()
    }
  })

  test('without a client certificate: the caller gets Apache\'s 403 whole, no fallback and no policy; a diagnosis event and one warning name the hosts entry', async () => {
    const origin = `https://localhost:${apache.port}`
    const events = record(origin)
    const agent = makeAgent()
    try {
      const { result, warnings: list } = await warnings(async () => {
        const get = await send(agent, `${origin}/secure`)
        const post = await send(agent, `${origin}/secure`, { method: 'POST', body: 'z'.repeat(100) })
        return { get, post }
      })
      for (const reply of [result.get, result.post]) {
        assert.equal(reply.status, 403)
        assert.equal(reply.headers['content-length'], '298')
        assert.equal(Buffer.byteLength(reply.text), 298)
        assert.ok(reply.text.includes(PHA_TEXT))
      }
      assert.deepEqual(events.attempts.map((a) => a.stack), ['strict', 'strict'])
      assert.deepEqual(events.diagnoses.map((d) => d.fingerprint), ['post-handshake-auth-required', 'post-handshake-auth-required'])
      assert.equal(events.fallbacks.length, 0)
      assert.equal(agent.policy(origin), undefined)
      const notices = list.filter((w) => w.code === 'TLS_FALLBACK_CLIENT_CERTIFICATE_REQUIRED')
      assert.equal(notices.length, 1, 'one warning per origin')
      assert.match(notices[0]?.message ?? '', /hosts: \{ 'localhost': \{ clientCert: \{ cert, key \} \} \}/)
      assert.match(notices[0]?.message ?? '', /Post-Handshake Authentication/)
    } finally {
      events.stop()
      await agent.close()
    }
  })

  test('with a logger: the missing clientCert is a warn line naming the matched hosts pattern', async (t) => {
    const origin = `https://localhost:${apache.port}`
    const { logger, lines } = memoryLogger()
    const agent = makeAgent({ hosts: { '*.localhost': {}, localhost: { fallback: ['renegotiation'] } }, logger })
    t.after(async () => { await agent.close() })
    const reply = await send(agent, `${origin}/secure`)
    assert.equal(reply.status, 403)
    const warn = lines.find((l) => l.level === 'warn' && /clientCert/.test(l.msg ?? ''))
    assert.ok(warn !== undefined)
    assert.match(warn.msg ?? '', /hosts\['localhost'\]\.clientCert/)
    assert.equal(warn.obj.fingerprint, 'post-handshake-auth-required')
  })
})

describe('a real Apache with Debian\'s security.conf (ServerTokens OS, ServerSignature On) and mod_deflate on text/html', () => {
  let apache: ApacheServer
  before(async () => {
    apache = await startApache({
      protocols: 'all -SSLv3',
      extraConfig: [
        'LoadModule deflate_module /usr/lib/apache2/modules/mod_deflate.so',
        'LoadModule filter_module /usr/lib/apache2/modules/mod_filter.so',
        'AddOutputFilterByType DEFLATE text/html text/plain',
        'ServerTokens OS',
        'ServerSignature On'
      ].join('\n')
    })
  })
  after(async () => { await apache.close() })

  test('the 403 carries the signature line, is not compressed, and is still recognised: a POST goes again over TLS 1.2 and is answered', async (t) => {
    const origin = `https://localhost:${apache.port}`
    const events = record(origin)
    const bare = makeAgent({ logger: memoryLogger().logger })
    const agent = makeAgent({ hosts: { localhost: { clientCert } }, logger: memoryLogger().logger })
    t.after(async () => { events.stop(); await bare.close(); await agent.close() })
    // What the page looks like without a client certificate (passed on as it came).
    const page = await send(bare, `${origin}/secure`, { headers: { 'accept-encoding': 'gzip' } })
    assert.equal(page.status, 403)
    assert.equal(page.headers['content-encoding'], undefined)
    assert.equal(page.headers.server, 'Apache/2.4.71 (Debian)')
    assert.match(page.text, new RegExp(`<hr>\\n<address>Apache/2\\.4\\.71 \\(Debian\\) Server at localhost Port ${apache.port}</address>\\n</body></html>\\n$`))

    const post = await send(agent, `${origin}/secure`, { method: 'POST', body: 'z'.repeat(1000), headers: { 'accept-encoding': 'gzip' } })
    assert.equal(post.status, 200)
    assert.equal(post.text, 'received 1000 bytes\n')
    assert.deepEqual(events.diagnoses.map((d) => d.fingerprint), ['post-handshake-auth-required', 'post-handshake-auth-required'])
    assert.equal(agent.policy(origin)?.stack, 'renegotiation')
  })
})

describe('a real Apache with mod_http2 (Protocols h2 http/1.1) on its default protocols', () => {
  let apache: ApacheServer
  before(async () => { apache = await startApache({ protocols: 'all -SSLv3', http2: true }) })
  after(async () => { await apache.close() })

  test('h2 refused with HTTP_1_1_REQUIRED, then the 403 on HTTP/1.1, then TLS 1.2 renegotiation: one call, one response; the policy records http1Only and the stack', async (t) => {
    const origin = `https://localhost:${apache.port}`
    const events = record(origin)
    const agent = makeAgent({ hosts: { localhost: { clientCert } }, logger: memoryLogger().logger })
    t.after(async () => { events.stop(); await agent.close() })
    const secure = await send(agent, `${origin}/secure`)
    assert.equal(secure.status, 200)
    assert.equal(secure.text, 'hello from secure\n')
    assert.deepEqual(events.attempts.map((a) => [a.stack, a.http1Only]), [['strict', false], ['strict', true], ['renegotiation', true]])
    assert.deepEqual(events.diagnoses.map((d) => d.fingerprint), ['http11-required', 'post-handshake-auth-required'])
    const policy = agent.policy(origin)
    assert.equal(policy?.stack, 'renegotiation')
    assert.equal(policy?.http1Only, true)

    const post = await send(agent, `${origin}/secure`, { method: 'POST', body: 'p'.repeat(5000) })
    assert.equal(post.text, 'received 5000 bytes\n')
    const log = await apache.waitForAccessLog(/"GET \/secure HTTP\/1.1" 200 18 TLSv1.2 .* verify=SUCCESS/)
    assert.match(log, /"GET \/secure HTTP\/2.0" 403 /)
    assert.match(log, /"GET \/secure HTTP\/1.1" 200 18 TLSv1.2 .* verify=SUCCESS/)
  })

  test('without the certificate: a POST refused over h2 is not sent again (RST_STREAM(HTTP_1_1_REQUIRED) may follow processing); the next POST goes over HTTP/1.1 and gets the 403 as it came; only http1Only is learned', async (t) => {
    const origin = `https://localhost:${apache.port}`
    const events = record(origin)
    const agent = makeAgent({ logger: memoryLogger().logger })
    t.after(async () => { events.stop(); await agent.close() })
    const first = await failure(() => send(agent, `${origin}/secure`, { method: 'POST', body: 'q'.repeat(100) }))
    assert.equal(first.code, 'TLS_FALLBACK_NOT_REPLAYED')
    assert.equal(agent.policy(origin)?.http1Only, true)
    const reply = await send(agent, `${origin}/secure`, { method: 'POST', body: 'q'.repeat(100) })
    assert.equal(reply.status, 403)
    assert.ok(reply.text.includes(PHA_TEXT))
    assert.deepEqual(events.attempts.map((a) => [a.stack, a.http1Only]), [['strict', false], ['strict', true]])
    assert.equal(agent.policy(origin)?.stack, 'strict')
    assert.equal(agent.policy(origin)?.http1Only, true)
  })

  test('without the certificate: a POST with an Idempotency-Key goes again over HTTP/1.1 in the same call and gets the 403 as it came', async (t) => {
    const origin = `https://localhost:${apache.port}`
    const events = record(origin)
    const agent = makeAgent({ logger: memoryLogger().logger })
    t.after(async () => { events.stop(); await agent.close() })
    const reply = await send(agent, `${origin}/secure`, { method: 'POST', body: 'q'.repeat(100), headers: { 'idempotency-key': 'k-1' } })
    assert.equal(reply.status, 403)
    assert.ok(reply.text.includes(PHA_TEXT))
    assert.deepEqual(events.attempts.map((a) => [a.stack, a.http1Only]), [['strict', false], ['strict', true]])
    assert.equal(agent.policy(origin)?.stack, 'strict')
    assert.equal(agent.policy(origin)?.http1Only, true)
  })
})

describe('other 403s pass through untouched', () => {
  test('a modern TLS 1.3 server\'s own 403 with a large body streams: the caller has its headers before the server sent the rest', async () => {
    let finish: (() => void) | undefined
    const finished = new Promise<void>((resolve) => { finish = resolve })
    const head = Buffer.alloc(HOLD_LIMIT + 1000, 'a')
    const tail = Buffer.alloc(50_000, 'b')
    for (const chunked of [false, true]) {
      const server = await startModern({
        handle: (_req, res) => {
          const r = res as import('node:http').ServerResponse
          r.writeHead(403, { 'content-type': 'text/plain', 'x-own': 'yes', ...(chunked ? {} : { 'content-length': head.length + tail.length }) })
          r.write(head)
          // The rest only once the client has the headers: a held-back response would never get them.
          finished.then(() => r.end(tail), () => {})
        }
      })
      const origin = `https://localhost:${server.port}`
      const events = record(origin)
      const agent = makeAgent({ hosts: { localhost: { clientCert } } })
      try {
        const response = await request(`${origin}/secure`, { dispatcher: agent })
        assert.equal(response.statusCode, 403)
        assert.equal(response.headers['x-own'], 'yes')
        finish?.()
        const body = Buffer.from(await response.body.arrayBuffer())
        assert.ok(body.equals(Buffer.concat([head, tail])))
        assert.equal(server.requests[0]?.protocol, 'TLSv1.3')
        assert.equal(events.diagnoses.length, 0)
        assert.equal(events.attempts.length, 1)
        assert.equal(agent.policy(origin), undefined)
      } finally {
        events.stop()
        await agent.close()
        await server.close()
      }
    }
  })

  test('a small 403 that is not the post-handshake-auth one reaches the caller whole: status, headers, body, in order', async () => {
    const body = '<html><body><h1>Forbidden</h1><p>You don\'t have permission to access this resource.</p></body></html>'
    for (const chunked of [false, true]) {
      const server = await startModern({
        handle: (_req, res) => {
          const r = res as import('node:http').ServerResponse
          r.writeHead(403, { 'content-type': 'text/html', 'x-reason': 'acl', ...(chunked ? {} : { 'content-length': Buffer.byteLength(body) }) })
          r.write(body.slice(0, 20))
          r.end(body.slice(20))
        }
      })
      const origin = `https://localhost:${server.port}`
      const events = record(origin)
      const agent = makeAgent({ hosts: { localhost: { clientCert } } })
      try {
        const order: string[] = []
        const chunks: Buffer[] = []
        await new Promise<void>((resolve, reject) => {
          agent.dispatch({ origin, path: '/secure', method: 'GET' }, {
            onRequestStart: () => { order.push('start') },
            onResponseStart: (_c, status, headers) => { order.push(`headers ${status} ${String(headers['x-reason'])}`) },
            onResponseData: (_c, chunk) => { order.push('data'); chunks.push(chunk) },
            onResponseEnd: () => { order.push('end'); resolve() },
            onResponseError: (_c, error) => { reject(error) }
          })
        })
        assert.equal(order[0], 'start')
        assert.equal(order[1], 'headers 403 acl')
        assert.equal(order.at(-1), 'end')
        assert.ok(order.slice(2, -1).every((o) => o === 'data'))
        assert.equal(Buffer.concat(chunks).toString(), body)
        assert.equal(events.diagnoses.length, 0)
        assert.equal(events.attempts.length, 1)
      } finally {
        events.stop()
        await agent.close()
        await server.close()
      }
    }
  })

  test('a held 403 whose connection breaks before its Content-Length arrived: the caller gets the status, headers and bytes so far, then the error; one attempt, no diagnosis', async (t) => {
    const page = Buffer.from(APACHE_PHA_PAGE, 'latin1')
    const server = await startModern({
      handle: (_req, res) => {
        const r = res as import('node:http').ServerResponse
        r.writeHead(403, { ...APACHE_PHA_HEADERS, 'content-length': page.length })
        r.write(page.subarray(0, 100), () => { setTimeout(() => r.socket?.destroy(), 50) })
      }
    })
    const origin = `https://localhost:${server.port}`
    const events = record(origin)
    const agent = makeAgent({ hosts: { localhost: { clientCert } }, logger: memoryLogger().logger })
    t.after(async () => { events.stop(); await agent.close(); await server.close() })
    const order: string[] = []
    const chunks: Buffer[] = []
    const failed = await new Promise<Error>((resolve, reject) => {
      agent.dispatch({ origin, path: '/secure', method: 'GET' }, {
        onResponseStart: (_c, status) => { order.push(`headers ${status}`) },
        onResponseData: (_c, chunk) => { order.push('data'); chunks.push(chunk) },
        onResponseEnd: () => { reject(new Error('the response ended')) },
        onResponseError: (_c, error) => { order.push('error'); resolve(error) }
      })
    })
    assert.equal(order[0], 'headers 403')
    assert.equal(order.at(-1), 'error')
    assert.ok(page.subarray(0, 100).equals(Buffer.concat(chunks)))
    assert.ok(failed instanceof Error)
    assert.equal(events.diagnoses.length, 0)
    assert.equal(events.attempts.length, 1)
    assert.equal(agent.policy(origin), undefined)
  })

  test('the post-handshake-auth text in a 403 over TLS 1.2 is not the fingerprint (renegotiation is how a TLS 1.2 server asks)', async (t) => {
    const server = await startModern({
      maxVersion: 'TLSv1.2',
      handle: (_req, res) => {
        ;(res as import('node:http').ServerResponse).writeHead(403, { 'content-length': Buffer.byteLength(APACHE_PHA_PAGE) })
        res.end(APACHE_PHA_PAGE)
      }
    })
    const origin = `https://localhost:${server.port}`
    const events = record(origin)
    const agent = makeAgent({ hosts: { localhost: { clientCert } } })
    t.after(async () => { events.stop(); await agent.close(); await server.close() })
    const reply = await send(agent, `${origin}/secure`)
    assert.equal(reply.status, 403)
    assert.equal(reply.text, APACHE_PHA_PAGE)
    assert.equal(events.diagnoses.length, 0)
    assert.equal(events.attempts.length, 1)
  })
})

describe('attack: an application that reflects text into its 403 (issue 27, item 1)', () => {
  /**
   * A form handler on a modern TLS 1.3 server: it records the submission (the side effect), then
   * answers 403 with the submitted name in its page, which the attacker chose to be Apache's
   * sentence. A second submission of the same form succeeds (200), as an application whose check
   * passes the second time would.
   */
  async function startReflecting (): Promise<{ server: Awaited<ReturnType<typeof startModern>>, effects: string[] }> {
    const effects: string[] = []
    const server = await startModern({
      handle: (req, res) => {
        const chunks: Buffer[] = []
        req.on('data', (c: Buffer) => chunks.push(c))
        req.on('end', () => {
          const r = res as import('node:http').ServerResponse
          const name = new URLSearchParams(Buffer.concat(chunks).toString()).get('name') ?? decodeURIComponent(req.url ?? '')
          if (req.method === 'POST') effects.push(name)
          const page = effects.length <= 1 && req.method === 'POST'
            ? `<html><body><h1>Forbidden</h1><p>You may not publish ${name}<br /></p></body></html>\n`
            : req.method === 'POST' ? 'published\n' : `<html><body><h1>Forbidden</h1><p>No access to ${name}</p></body></html>\n`
          const status = page === 'published\n' ? 200 : 403
          r.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(page) })
          r.end(page)
        })
      }
    })
    return { server, effects }
  }

  for (const variant of ['replayNonIdempotent: false', 'undici\'s idempotent: false'] as const) {
    test(`a POST whose form field carries Apache's sentence (${variant}): processed exactly once, the caller gets the 403, no diagnosis, no policy`, async () => {
      const { server, effects } = await startReflecting()
      const origin = `https://localhost:${server.port}`
      const events = record(origin)
      const host = variant.startsWith('replay') ? { clientCert, replayNonIdempotent: false } : { clientCert }
      const agent = makeAgent({ hosts: { localhost: host }, logger: memoryLogger().logger })
      try {
        const body = new URLSearchParams({ name: PHA_TEXT }).toString()
        const reply = await send(agent, `${origin}/publish`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          ...(variant.startsWith('undici') ? { idempotent: false } : {})
        })
        assert.equal(reply.status, 403)
        assert.ok(reply.text.includes(PHA_TEXT))
        assert.deepEqual(effects, [PHA_TEXT], 'the form was processed exactly once')
        assert.deepEqual(server.requests.map((r) => `${r.method} ${r.protocol ?? ''}`), ['POST TLSv1.3'])
        assert.equal(events.diagnoses.length, 0)
        assert.equal(events.fallbacks.length, 0)
        assert.equal(agent.policy(origin), undefined)
      } finally {
        events.stop()
        await agent.close()
        await server.close()
      }
    })
  }

  test('a GET whose resource name carries Apache\'s sentence: one request, the 403 as it came, no policy', async (t) => {
    const { server } = await startReflecting()
    const origin = `https://localhost:${server.port}`
    const events = record(origin)
    const agent = makeAgent({ hosts: { localhost: { clientCert } }, logger: memoryLogger().logger })
    t.after(async () => { events.stop(); await agent.close(); await server.close() })
    const reply = await send(agent, `${origin}/${encodeURIComponent(`${PHA_TEXT}<br />`)}`)
    assert.equal(reply.status, 403)
    assert.ok(reply.text.includes(PHA_TEXT))
    assert.equal(server.requests.length, 1)
    assert.equal(events.diagnoses.length, 0)
    assert.equal(agent.policy(origin), undefined)
  })

  test('Apache\'s whole page sent by an application with its own headers (no Server: Apache, UTF-8) is not the fingerprint', async (t) => {
    const server = await startModern({
      handle: (_req, res) => {
        const r = res as import('node:http').ServerResponse
        r.writeHead(403, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(APACHE_PHA_PAGE) })
        r.end(APACHE_PHA_PAGE)
      }
    })
    const origin = `https://localhost:${server.port}`
    const events = record(origin)
    const agent = makeAgent({ hosts: { localhost: { clientCert } }, logger: memoryLogger().logger })
    t.after(async () => { events.stop(); await agent.close(); await server.close() })
    const reply = await send(agent, `${origin}/secure`, { method: 'POST', body: 'x' })
    assert.equal(reply.status, 403)
    assert.equal(reply.text, APACHE_PHA_PAGE)
    assert.equal(server.requests.length, 1)
    assert.equal(events.diagnoses.length, 0)
    assert.equal(agent.policy(origin), undefined)
  })
})

describe('a Node emulator of the post-handshake-auth 403 (TLS 1.3) and renegotiation (TLS 1.2)', () => {
  test('with ServerSignature\'s line (Debian\'s default), the 403 is recognised and a PUT goes over TLS 1.2', async (t) => {
    const server = await startPhaLike({ signature: true })
    const origin = `https://localhost:${server.port}`
    const events = record(origin)
    const agent = makeAgent({ hosts: { localhost: { clientCert } }, logger: memoryLogger().logger })
    t.after(async () => { events.stop(); await agent.close(); await server.close() })
    const reply = await send(agent, `${origin}/secure`, { method: 'PUT', body: 'put-body' })
    assert.equal(reply.status, 200)
    assert.deepEqual(reply.json(), { ok: true, method: 'PUT', bodyLength: 8, renegotiated: true })
    assert.deepEqual(server.requests, ['PUT /secure TLSv1.3 403', 'PUT /secure TLSv1.2 200'])
    assert.deepEqual(events.diagnoses.map((d) => d.fingerprint), ['post-handshake-auth-required'])
    assert.equal(agent.policy(origin)?.stack, 'renegotiation')
  })

  test('the page chunked or gzip-encoded is not Apache\'s (Apache sends it with a Content-Length, never compressed): the 403 as it came, one attempt, no policy', async () => {
    for (const options of [{ chunked: true }, { gzip: true }, { chunked: true, gzip: true }]) {
      const server = await startPhaLike(options)
      const origin = `https://localhost:${server.port}`
      const events = record(origin)
      const agent = makeAgent({ hosts: { localhost: { clientCert } }, logger: memoryLogger().logger })
      try {
        const response = await request(`${origin}/secure`, { dispatcher: agent, method: 'PUT', body: 'put-body' })
        assert.equal(response.statusCode, 403, JSON.stringify(options))
        assert.equal(response.headers['content-encoding'], options.gzip === true ? 'gzip' : undefined)
        await response.body.arrayBuffer()
        assert.deepEqual(server.requests, ['PUT /secure TLSv1.3 403'], JSON.stringify(options))
        assert.equal(events.diagnoses.length, 0)
        assert.equal(agent.policy(origin), undefined)
      } finally {
        events.stop()
        await agent.close()
        await server.close()
      }
    }
  })

  test('a buggy server that sends the same 403 over TLS 1.2: the caller gets that 403, the policy does not move', async (t) => {
    const server = await startPhaLike({ alsoOnTls12: true })
    const origin = `https://localhost:${server.port}`
    const events = record(origin)
    const { logger, lines } = memoryLogger()
    const agent = makeAgent({ hosts: { localhost: { clientCert } }, logger })
    t.after(async () => { events.stop(); await agent.close(); await server.close() })
    const reply = await send(agent, `${origin}/secure`)
    assert.equal(reply.status, 403)
    assert.equal(reply.text, APACHE_PHA_PAGE)
    assert.deepEqual(server.requests, ['GET /secure TLSv1.3 403', 'GET /secure TLSv1.2 403'])
    assert.equal(agent.policy(origin), undefined)
    assert.equal(events.fallbacks.length, 0)
    assert.ok(lines.some((l) => l.level === 'warn' && /same 403/.test(l.msg ?? '')))
  })

  test('a TLS 1.3-only server: the TLS 1.2 attempt cannot connect, TLS_FALLBACK_EXHAUSTED lists both attempts, no policy', async (t) => {
    const server = await startPhaLike({ tls13Only: true })
    const origin = `https://localhost:${server.port}`
    const agent = makeAgent({ hosts: { localhost: { clientCert } }, logger: memoryLogger().logger })
    t.after(async () => { await agent.close(); await server.close() })
    const error = await failure(() => send(agent, `${origin}/secure`))
    assert.equal(error.code, 'TLS_FALLBACK_EXHAUSTED')
    assert.equal(error.fingerprint, 'post-handshake-auth-required')
    assert.deepEqual(error.attempts.map((a: { stack: string, code: string }) => [a.stack, a.code]), [['strict', 'HTTP_403'], ['renegotiation', error.cause?.code]])
    assert.match(String(error.cause?.code), /ERR_SSL/)
    assert.deepEqual(server.requests, ['GET /secure TLSv1.3 403'])
    assert.equal(agent.policy(origin), undefined)
  })

  test('a host whose fallback leaves out renegotiation: the 403 as it came and a TLS_FALLBACK_NOT_ALLOWED warning', async (t) => {
    const server = await startPhaLike()
    const origin = `https://localhost:${server.port}`
    const agent = makeAgent({ hosts: { localhost: { clientCert, fallback: ['tls13'] } } })
    t.after(async () => { await agent.close(); await server.close() })
    const { result, warnings: list } = await warnings(async () => await send(agent, `${origin}/secure`))
    assert.equal(result.status, 403)
    assert.equal(result.text, APACHE_PHA_PAGE)
    assert.deepEqual(server.requests, ['GET /secure TLSv1.3 403'])
    assert.ok(list.some((w) => w.code === 'TLS_FALLBACK_NOT_ALLOWED' && /renegotiation/.test(w.message)))
    assert.equal(agent.policy(origin), undefined)
  })

  test('a stream body longer than maxReplayBodySize cannot go again: the 403 as it came, and a warning', async (t) => {
    const server = await startPhaLike()
    const origin = `https://localhost:${server.port}`
    // uploadPriming off: with it, the TLS 1.3 probe finds the 403 before the body goes (test/uploads-pha-iis.test.ts).
    const agent = makeAgent({ hosts: { localhost: { clientCert, uploadPriming: false } }, maxReplayBodySize: 1024 })
    t.after(async () => { await agent.close(); await server.close() })
    const { result, warnings: list } = await warnings(async () =>
      await send(agent, `${origin}/secure`, { method: 'POST', body: Readable.from([Buffer.alloc(4000, 1), Buffer.alloc(4000, 2)]) }))
    assert.equal(result.status, 403)
    assert.ok(list.some((w) => w.code === 'TLS_FALLBACK_BODY_NOT_REPLAYABLE'))
    assert.deepEqual(server.requests, ['POST /secure TLSv1.3 403'])
    assert.equal(agent.policy(origin), undefined)
  })

  test('an on-path box without the server\'s key cannot produce it: its own TLS 1.3 answer with the 403 fails certificate verification, no fingerprint', async (t) => {
    const box = await startPhaLike({ cert: certs.untrustedCert, key: certs.untrustedKey })
    const origin = `https://localhost:${box.port}`
    const events = record(origin)
    const agent = makeAgent({ hosts: { localhost: { clientCert } } })
    t.after(async () => { events.stop(); await agent.close(); await box.close() })
    await assert.rejects(send(agent, `${origin}/secure`), (error: Error & { code?: string }) => /CERT|SIGNATURE|ISSUER|SELF_SIGNED|VERIFY/.test(error.code ?? ''))
    assert.equal(events.diagnoses.length, 0)
    assert.equal(agent.policy(origin), undefined)
    assert.deepEqual(box.requests, [])
  })

  test('a pinned host gets the 403 untouched (no detection)', async (t) => {
    const server = await startPhaLike()
    const origin = `https://localhost:${server.port}`
    const events = record(origin)
    const agent = makeAgent({ hosts: { localhost: { clientCert, stack: 'strict' } } })
    t.after(async () => { events.stop(); await agent.close(); await server.close() })
    const reply = await send(agent, `${origin}/secure`)
    assert.equal(reply.status, 403)
    assert.equal(reply.text, APACHE_PHA_PAGE)
    assert.equal(events.diagnoses.length, 0)
  })
})
