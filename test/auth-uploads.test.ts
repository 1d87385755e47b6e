import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'
import { MemoryPolicyCache, TlsFallbackAgent } from '../src/index.ts'
import { evictPrimedAuthPool, MAX_PRIMED_POOLS } from '../src/primed-pools.ts'
import { authEvents } from './auth-helpers.ts'
import { record } from './helpers.ts'
import { startApacheAuth, type ApacheAuthServer } from './servers/apache-auth.ts'
import { certs } from './servers/certs.ts'

// A host with `auth` AND a `clientCert` whose location asks for the certificate after the request
// (real Apache: `/ntlmcert/`, `SSLVerifyClient require` per location, NTLM by gss-ntlmssp, the
// default SSLRenegBufferSize of 131072): 1 MB uploads (buffered and streamed), as the very first
// request and after requests to other paths. Issue 31 meets issue 32: hosts with `auth` go through
// src/auth/pool.ts, whose handshake HEADs to the request's path are what primes a new connection.

const MB = 1_000_000
const payload = randomBytes(MB)

let apache: ApacheAuthServer
before(async () => { apache = await startApacheAuth() })
after(async () => { await apache?.close() })

const origin = (): string => `https://localhost:${apache.port}`

function agent (uploadPriming?: { limit: number }, cache?: MemoryPolicyCache): TlsFallbackAgent {
  return new TlsFallbackAgent({
    connect: { ca: certs.ca },
    ...(cache === undefined ? {} : { cache }),
    logger: { debug () {}, info () {}, warn () {}, error () {} },
    hosts: {
      [`localhost:${apache.port}`]: {
        auth: { scheme: 'ntlm', username: apache.ntlm.username, password: apache.ntlm.password, domain: apache.ntlm.domain },
        clientCert: { cert: certs.clientCert, key: certs.clientKey },
        ...(uploadPriming === undefined ? {} : { uploadPriming })
      }
    }
  })
}

function stream (): Readable {
  return Readable.from((function * () { for (let i = 0; i < payload.length; i += 16_384) yield payload.subarray(i, i + 16_384) })())
}

async function get (dispatcher: TlsFallbackAgent, path: string): Promise<{ status: number, text: string }> {
  const response = await request(`${origin()}${path}`, { dispatcher })
  return { status: response.statusCode, text: await response.body.text() }
}

async function post (dispatcher: TlsFallbackAgent, path: string, body: 'buffer' | 'stream'): Promise<{ status: number, text: string }> {
  const response = await request(`${origin()}${path}`, { dispatcher, method: 'POST', body: body === 'buffer' ? payload : stream(), headers: { 'content-type': 'application/octet-stream' } })
  return { status: response.statusCode, text: await response.body.text() }
}

/** The POSTs Apache logged for /ntlmcert/echo since `from` characters of its access log (once one is there, and a moment more for a second). */
async function posts (from: number): Promise<string[]> {
  const logged = (): string[] => apache.accessLog().slice(from).match(/"POST \/ntlmcert\/echo HTTP\/1\.1" \d+/g) ?? []
  for (let i = 0; i < 200 && logged().length === 0; i++) await sleep(50)
  await sleep(200)
  return logged()
}

describe('auth + clientCert host, certificate asked for by renegotiation, default SSLRenegBufferSize', () => {
  for (const body of ['buffer', 'stream'] as const) {
    test(`1 MB ${body} POST as the very first request: 200, the body processed once`, async (t) => {
      const a = agent()
      t.after(() => a.close())
      const from = apache.accessLog().length
      const attempts = record(origin())
      t.after(() => { attempts.stop() })
      const { result, events } = await authEvents(async () => await post(a, '/ntlmcert/echo', body))
      assert.deepEqual(result, { status: 200, text: `received ${MB} bytes\n` })
      // Strict (TLS 1.3): the HEAD legs get the post-handshake-auth 403, the priming's OPTIONS finds it
      // Apache's before the body leaves; on the renegotiation stack the legs renegotiate and authenticate.
      assert.deepEqual(attempts.attempts.map((e) => [e.stack, e.reason, e.primed]), [['strict', 'initial', true], ['renegotiation', 'fallback', true]])
      assert.deepEqual(attempts.diagnoses.map((d) => d.fingerprint), ['post-handshake-auth-required'])
      assert.deepEqual(events.map((e) => [e.stack, e.outcome, e.status]), [['strict', 'rejected', 403], ['renegotiation', 'authenticated', 200]])
      assert.equal(a.policy(origin())?.stack, 'renegotiation')
      assert.deepEqual(await posts(from), ['"POST /ntlmcert/echo HTTP/1.1" 200'])
    })

    test(`1 MB ${body} POST after a GET of another path in the same location: 200, processed once`, async (t) => {
      const a = agent()
      t.after(() => a.close())
      assert.deepEqual(await get(a, '/ntlmcert/'), { status: 200, text: 'hello ntlmcert\n' })
      const from = apache.accessLog().length
      assert.deepEqual(await post(a, '/ntlmcert/echo', body), { status: 200, text: `received ${MB} bytes\n` })
      assert.deepEqual(await posts(from), ['"POST /ntlmcert/echo HTTP/1.1" 200'])
    })

    for (const first of ['/ntlm/', '/open/']) {
      test(`1 MB ${body} POST after a GET of ${first} (a location without the certificate): 200, processed once`, async (t) => {
        const a = agent()
        t.after(() => a.close())
        assert.equal((await get(a, first)).status, 200)
        const from = apache.accessLog().length
        assert.deepEqual(await post(a, '/ntlmcert/echo', body), { status: 200, text: `received ${MB} bytes\n` })
        assert.deepEqual(await posts(from), ['"POST /ntlmcert/echo HTTP/1.1" 200'])
      })
    }
  }

  test('a body under a host limit set above the server\'s buffer, unprimed, on TLS 1.3: the buffer\'s 413 reaches the caller once, never resent without credentials', async (t) => {
    const a = agent({ limit: 4 * MB })
    t.after(() => a.close())
    assert.equal((await get(a, '/ntlm/')).status, 200)
    const from = apache.accessLog().length
    const response = await request(`${origin()}/ntlmcert/echo`, { dispatcher: a, method: 'POST', body: payload.subarray(0, 200_000) })
    const text = await response.body.text()
    assert.deepEqual(await posts(from), [`"POST /ntlmcert/echo HTTP/1.1" ${response.statusCode}`])
    assert.equal(response.statusCode, 413, text)
  })

  test('the buffer\'s 413 on a TLS 1.2 connection authenticated for another path (a body under a host limit): delivered once, never resent without credentials', async (t) => {
    // A cache that knows the renegotiation stack; a new agent's first connection is authenticated for /ntlm/ (no certificate asked).
    const cache = new MemoryPolicyCache()
    const learner = agent(undefined, cache)
    assert.equal((await get(learner, '/ntlmcert/')).status, 200)
    await learner.close()
    const a = agent({ limit: 4 * MB }, cache)
    t.after(() => a.close())
    assert.equal((await get(a, '/ntlm/')).status, 200)
    const from = apache.accessLog().length
    const response = await request(`${origin()}/ntlmcert/echo`, { dispatcher: a, method: 'POST', body: payload.subarray(0, 200_000) })
    const text = await response.body.text()
    assert.equal(response.statusCode, 413, text)
    assert.deepEqual(await posts(from), ['"POST /ntlmcert/echo HTTP/1.1" 413'])
  })
})

test('the pools of primed auth connections are bounded: at the 33rd path the oldest is closed, pools without a path are kept', async () => {
  const closed: string[] = []
  const pools = new Map<string, { close: () => Promise<void> }>()
  const pool = (key: string): { close: () => Promise<void> } => ({ close: async () => { closed.push(key) } })
  pools.set('strict https://a.example', pool('plain'))
  for (let i = 0; i < MAX_PRIMED_POOLS; i++) pools.set(`strict https://a.example /p${i}`, pool(`/p${i}`))
  evictPrimedAuthPool(pools)
  assert.deepEqual(closed, ['/p0'])
  assert.equal(pools.has('strict https://a.example /p0'), false)
  assert.equal(pools.has('strict https://a.example'), true)
  assert.equal(pools.size, MAX_PRIMED_POOLS)
  evictPrimedAuthPool(new Map([['strict https://a.example /x', pool('/x')]]))
  assert.deepEqual(closed, ['/p0'], 'under the bound nothing is closed')
})
