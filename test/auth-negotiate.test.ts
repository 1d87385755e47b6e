import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Client, type Dispatcher } from 'undici'
import { findChallenge, parseChallenges } from '../src/auth/challenge.ts'
import { loadKerberos, NegotiateClient } from '../src/auth/negotiate.ts'
import { TlsFallbackError } from '../src/errors.ts'
import { headerValues, proxySocket } from './auth-helpers.ts'
import { startApacheAuth, type ApacheAuthServer } from './servers/apache-auth.ts'
import { certs } from './servers/certs.ts'
import { startKdc, type Kdc } from './servers/kdc.ts'
import { startSquidNegotiate, type SquidNegotiateProxy } from './servers/squid-negotiate.ts'

// Kerberos through SPNEGO with the `kerberos` addon (an optional peer dependency, built by
// scripts/build-kerberos.mjs), against a real MIT KDC on loopback (its own realm and krb5.conf,
// a ticket cache per test: nothing system-wide), Apache with mod_auth_gssapi and Squid with
// negotiate_kerberos_auth. Without the addon these tests are skipped, except when CI is set.

const loads = await loadKerberos().then(() => true, () => false)
const skip = !loads && process.env.CI === undefined ? 'the kerberos addon does not load: node scripts/build-kerberos.mjs' : false

test('the kerberos addon loads (required when CI is set: the Kerberos tests are never skipped there)', { skip: loads || process.env.CI !== undefined ? false : 'not in CI' }, () => {
  assert.ok(loads, 'kerberos does not load: run node scripts/build-kerberos.mjs (needs libkrb5-dev)')
})

test('a missing addon is TLS_FALLBACK_AUTH_UNAVAILABLE, saying what to install; loading is retried on the next call', async () => {
  for (let i = 0; i < 2; i++) {
    await assert.rejects(loadKerberos('kerberos-not-installed-8f2e'), (error: unknown) => {
      assert.ok(error instanceof TlsFallbackError)
      assert.equal(error.code, 'TLS_FALLBACK_AUTH_UNAVAILABLE')
      assert.match(error.message, /npm install kerberos/)
      assert.ok(error.cause !== undefined)
      return true
    })
  }
})

test('spn and host are validated with the option path', () => {
  assert.throws(() => new NegotiateClient({ host: 'a.example', spn: '', option: 'proxy.auth' }), { code: 'TLS_FALLBACK_INVALID_OPTION', option: 'proxy.auth.spn' })
  assert.throws(() => new NegotiateClient({ host: '' }), { code: 'TLS_FALLBACK_INVALID_OPTION', option: 'auth' })
  assert.equal(new NegotiateClient({ host: 'intranet.corp.example' }).service, 'HTTP@intranet.corp.example')
  assert.equal(new NegotiateClient({ host: 'x', spn: 'HTTP/web.corp.example@CORP.EXAMPLE' }).service, 'HTTP/web.corp.example@CORP.EXAMPLE')
})

describe('Negotiate (Kerberos) against a real KDC, Apache and Squid', { skip }, () => {
  let kdc: Kdc
  let apache: ApacheAuthServer
  let squid: SquidNegotiateProxy
  before(async () => {
    kdc = await startKdc()
    apache = await startApacheAuth({ kdc })
    squid = await startSquidNegotiate(kdc)
    Object.assign(process.env, await kdc.kinit())
  })
  after(async () => {
    await squid?.close()
    await apache?.close()
    await kdc?.close()
  })

  const origin = (): string => `https://localhost:${apache.port}`
  const newClient = (): Client => new Client(origin(), { allowH2: false, connect: { ca: certs.ca } })

  /** One Negotiate request: the token, the answer, the server's final token checked. */
  async function authenticated (client: Client, path: string, negotiate = new NegotiateClient({ host: 'localhost' })) {
    const token = await negotiate.initialToken()
    const response = await client.request({ path, method: 'GET', headers: { authorization: `Negotiate ${token}` } })
    const text = await response.body.text()
    const final = findChallenge(parseChallenges(response.headers['www-authenticate']), 'negotiate')?.token68
    if (response.statusCode === 200) await negotiate.finish(final)
    return { status: response.statusCode, text, mech: response.headers['x-gss-mech'], token, final, negotiate }
  }

  test('a 401 offers Negotiate; one token with the ticket gets 200, and the final token completes mutual authentication', async () => {
    const client = newClient()
    try {
      const first = await client.request({ path: '/krb5/', method: 'GET' })
      await first.body.dump()
      assert.equal(first.statusCode, 401)
      // mod_auth_gssapi offers NTLM too wherever gss-ntlmssp is installed, even with `GssapiAllowedMech krb5`.
      assert.equal(parseChallenges(first.headers['www-authenticate'])[0]?.scheme, 'negotiate')
      const result = await authenticated(client, '/krb5/')
      assert.equal(result.status, 200)
      assert.equal(result.text, 'hello krb5\n')
      assert.equal(result.mech, 'Negotiate/krb5')
      assert.ok(result.final !== undefined, 'Apache sends a final token')
      assert.equal(result.negotiate.mutual, true)
      assert.equal(result.negotiate.state, 'complete')
      assert.match((await apache.waitForAccessLog(/user=alice@UTF\.TEST/)), /"GET \/krb5\/ HTTP\/1\.1" 200 .*user=alice@UTF\.TEST mech=Negotiate\/krb5/)
    } finally {
      await client.close()
    }
  })

  test('a token is single use: the same token again gets 401 (a replay), a fresh client gets 200', async () => {
    const client = newClient()
    try {
      const first = await authenticated(client, '/krb5/')
      assert.equal(first.status, 200)
      const replay = await client.request({ path: '/krb5/', method: 'GET', headers: { authorization: `Negotiate ${first.token}` } })
      await replay.body.dump()
      assert.equal(replay.statusCode, 401)
      assert.equal((await authenticated(client, '/krb5/')).status, 200)
      await assert.rejects(first.negotiate.initialToken(), /one handshake per client/)
    } finally {
      await client.close()
    }
  })

  test('a final token that does not verify is TLS_FALLBACK_AUTH_FAILED (no mutual authentication), with no token in the message', async () => {
    const client = newClient()
    try {
      const first = await authenticated(client, '/krb5/')
      // Another handshake's genuine final token, then junk: neither completes this context.
      for (const forged of [first.final!, 'YIGZBgkqhkiG9xIBAgICAG+BiTCBhqADAgEFoQMCAQ+iejB4oAMCARKicQRv', 'AAAA']) {
        const negotiate = new NegotiateClient({ host: 'localhost' })
        const token = await negotiate.initialToken()
        await assert.rejects(negotiate.finish(forged), (error: unknown) => {
          assert.ok(error instanceof TlsFallbackError)
          assert.equal(error.code, 'TLS_FALLBACK_AUTH_FAILED')
          assert.match(error.message, /mutual authentication failed/)
          assert.ok(!error.message.includes(token) && !error.message.includes(forged))
          return true
        })
        assert.equal(negotiate.mutual, false)
      }
      const silent = new NegotiateClient({ host: 'localhost' })
      await silent.initialToken()
      await silent.finish(undefined)
      assert.equal(silent.mutual, false, 'a server that sends no final token is not mutually authenticated')
    } finally {
      await client.close()
    }
  })

  test('spn: 127.0.0.1 is no principal, but spn HTTP@localhost reaches the same server', async () => {
    await assert.rejects(new NegotiateClient({ host: '127.0.0.1' }).initialToken(), (error: TlsFallbackError) => {
      assert.equal(error.code, 'TLS_FALLBACK_AUTH_FAILED')
      assert.match(error.message, /HTTP@127\.0\.0\.1/)
      return true
    })
    const client = new Client(`https://127.0.0.1:${apache.port}`, { allowH2: false, connect: { ca: certs.ca, servername: 'localhost' } })
    try {
      const result = await authenticated(client, '/krb5/', new NegotiateClient({ host: '127.0.0.1', spn: 'HTTP@localhost' }))
      assert.equal(result.status, 200)
      assert.equal(result.negotiate.mutual, true)
    } finally {
      await client.close()
    }
  })

  test('no ticket in the cache: TLS_FALLBACK_AUTH_FAILED before anything is sent', async () => {
    const saved = process.env.KRB5CCNAME
    Object.assign(process.env, kdc.emptyCache())
    try {
      await assert.rejects(new NegotiateClient({ host: 'localhost' }).initialToken(), { code: 'TLS_FALLBACK_AUTH_FAILED' })
    } finally {
      process.env.KRB5CCNAME = saved
    }
  })

  test('8 concurrent requests on 8 connections, each with its own fresh token: all 200, no replay', async () => {
    const clients = Array.from({ length: 8 }, newClient)
    try {
      const results = await Promise.all(clients.map((client) => authenticated(client, '/any/')))
      assert.deepEqual(results.map((r) => r.status), Array(8).fill(200))
      assert.equal(new Set(results.map((r) => r.token)).size, 8)
      assert.ok(results.every((r) => r.negotiate.mutual))
    } finally {
      await Promise.all(clients.map((c) => c.close()))
    }
  })

  test('SPNEGO-NTLM through GSSAPI (no ticket, NTLM_USER_FILE): two legs with continue(), 200', async () => {
    const saved = { ...process.env }
    const { writeFileSync, mkdtempSync, rmSync } = await import('node:fs')
    const os = await import('node:os')
    const path = await import('node:path')
    const dir = mkdtempSync(path.join(os.tmpdir(), 'undici-tls-fallback-ntlm-client-'))
    const file = path.join(dir, 'user')
    writeFileSync(file, `${apache.ntlm.domain}:${apache.ntlm.username}:${apache.ntlm.password}\n`, { mode: 0o600 })
    Object.assign(process.env, kdc.emptyCache(), { NTLM_USER_FILE: file })
    const client = newClient()
    try {
      const negotiate = new NegotiateClient({ host: 'localhost' })
      const statuses: number[] = []
      let token: string | undefined = await negotiate.initialToken()
      let mech: unknown
      while (token !== undefined && statuses.length < 4) {
        const response: Dispatcher.ResponseData = await client.request({ path: '/ntlm/', method: 'GET', headers: { authorization: `Negotiate ${token}` } })
        await response.body.dump()
        statuses.push(response.statusCode)
        mech = response.headers['x-gss-mech']
        const next = findChallenge(parseChallenges(response.headers['www-authenticate']), 'negotiate')?.token68
        token = response.statusCode === 401 && next !== undefined ? await negotiate.continue(next) : undefined
        if (response.statusCode === 200) await negotiate.finish(next)
      }
      assert.deepEqual(statuses, [401, 200])
      assert.equal(mech, 'Negotiate/NTLM')
    } finally {
      await client.close()
      for (const key of ['NTLM_USER_FILE', 'KRB5CCNAME']) {
        if (saved[key] === undefined) Reflect.deleteProperty(process.env, key)
        else process.env[key] = saved[key]
      }
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('Squid: CONNECT gets 407 Proxy-Authenticate Negotiate; a Kerberos token opens the tunnel, a replayed one does not', async () => {
    const target = `localhost:${apache.port}`
    const proxy = await proxySocket(squid.port)
    let token: string
    try {
      proxy.connect(target)
      const first = await proxy.wire.response()
      assert.equal(first.status, 407)
      assert.deepEqual(parseChallenges(headerValues(first.headers, 'proxy-authenticate')).map((c) => c.scheme), ['negotiate'])
      const negotiate = new NegotiateClient({ host: 'localhost' })
      token = await negotiate.initialToken()
      proxy.connect(target, `Negotiate ${token}`)
      const answer = await proxy.wire.response()
      assert.equal(answer.status, 200)
    } finally {
      proxy.close()
    }
    assert.equal((await squid.waitForLog(/TCP_TUNNEL\/200 .*alice@UTF\.TEST/)).length, 1)
    const again = await proxySocket(squid.port)
    try {
      again.connect(target, `Negotiate ${token}`)
      assert.equal((await again.wire.response()).status, 407, 'a replayed token is refused')
    } finally {
      again.close()
    }
  })
})
