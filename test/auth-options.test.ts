import assert from 'node:assert/strict'
import { test } from 'node:test'
import util from 'node:util'
import { ntowfv2 } from '../src/auth/ntlm.ts'
import { resolveAuth } from '../src/auth/options.ts'
import { AuthSession } from '../src/auth/session.ts'

// The `auth` option (hosts[...].auth, proxy.auth): validation naming the exact field, never echoing
// a password, and a resolved value that keeps no password where inspect or JSON could show it.

const PASSWORD = 'S3cret-pw-7d1e'

test('auth is validated field by field, naming the exact option and never echoing the password', () => {
  const bad: Array<[unknown, string]> = [
    ['ntlm', "hosts['a'].auth"],
    [{ scheme: 'basic' }, "hosts['a'].auth.scheme"],
    [{}, "hosts['a'].auth.scheme"],
    [{ scheme: 'ntlm', username: 'u', password: PASSWORD, realm: 'x' }, "hosts['a'].auth.realm"],
    [{ scheme: 'ntlm', password: PASSWORD }, "hosts['a'].auth.username"],
    [{ scheme: 'ntlm', username: 'u' }, "hosts['a'].auth.password"],
    [{ scheme: 'negotiate', username: 'u' }, "hosts['a'].auth.password"],
    [{ scheme: 'negotiate', password: PASSWORD }, "hosts['a'].auth.username"],
    [{ scheme: 'ntlm', username: 'u', password: 5 }, "hosts['a'].auth.password"],
    [{ scheme: 'ntlm', username: '', password: PASSWORD }, "hosts['a'].auth.username"],
    [{ scheme: 'ntlm', username: 'u\r\nx', password: PASSWORD }, "hosts['a'].auth.username"],
    [{ scheme: 'ntlm', username: 'CORP\\u', domain: 'CORP', password: PASSWORD }, "hosts['a'].auth.username"],
    [{ scheme: 'negotiate', spn: '' }, "hosts['a'].auth.spn"],
    [{ scheme: 'ntlm', username: 'u', password: 'p', domain: 7 }, "hosts['a'].auth.domain"]
  ]
  for (const [value, option] of bad) {
    assert.throws(() => resolveAuth("hosts['a'].auth", value), (error: Error & { code?: string, option?: string }) => {
      assert.equal(error.code, 'TLS_FALLBACK_INVALID_OPTION', util.inspect(value))
      assert.equal(error.option, option, util.inspect(value))
      assert.ok(!error.message.includes(PASSWORD))
      return true
    })
  }
})

test('a resolved auth is frozen and shows no password or NT hash to inspect, JSON or its keys', () => {
  const auth = resolveAuth('proxy.auth', { scheme: 'ntlm', username: 'CORP\\ntlmuser', password: PASSWORD })
  assert.equal(auth.username, 'ntlmuser')
  assert.equal(auth.domain, 'CORP')
  assert.ok(Object.isFrozen(auth))
  assert.ok(auth.hasCredentials)
  const key = ntowfv2(PASSWORD, 'ntlmuser', 'CORP').toString('hex')
  for (const shown of [util.inspect(auth, { showHidden: true, depth: 5 }), JSON.stringify(auth), JSON.stringify({ ...auth }), Object.keys(auth).join(), String(Object.getOwnPropertyNames(auth))]) {
    assert.ok(!shown.includes(PASSWORD), shown)
    assert.ok(!shown.includes(key), shown)
  }
  const negotiate = resolveAuth('auth', { scheme: 'negotiate' })
  assert.equal(negotiate.hasCredentials, false)
  assert.equal(negotiate.ntlmClient(), undefined)
})

test('an NTLM session sends type 1, answers one challenge with type 3, then stops (no loop)', async () => {
  const auth = resolveAuth('auth', { scheme: 'ntlm', username: 'u', password: PASSWORD })
  const session = new AuthSession(auth, { host: 'localhost' })
  const first = await session.first()
  assert.match(first, /^NTLM TlRMTVNTUAAB/)
  assert.equal(session.mechanism, 'ntlm')
  assert.equal(await session.next('Negotiate, NTLM'), undefined, 'no token: the 401 is final')
  await assert.rejects(session.next('NTLM QUJDRA'), { code: 'TLS_FALLBACK_AUTH_INVALID_CHALLENGE' })
  await assert.rejects(session.next(`NTLM ${Buffer.alloc(9000, 1).toString('base64')}`), { code: 'TLS_FALLBACK_AUTH_INVALID_CHALLENGE' })
  assert.equal(session.legs, 1)
})

test('negotiate without credentials and without a ticket or addon fails coded; with credentials it falls back to NTLM under Negotiate', async () => {
  const missing = { initializeClient: async () => { throw new Error('no addon') }, GSS_MECH_OID_SPNEGO: 6, GSS_C_MUTUAL_FLAG: 2, GSS_C_SEQUENCE_FLAG: 8 }
  const bare = new AuthSession(resolveAuth('auth', { scheme: 'negotiate' }), { host: 'localhost', kerberos: missing })
  await assert.rejects(bare.first(), { code: 'TLS_FALLBACK_AUTH_FAILED' })
  const unavailable = new AuthSession(resolveAuth('auth', { scheme: 'negotiate' }), { host: 'localhost' })
  // with the addon absent the loader says so; with it present and no ticket GSSAPI fails: either is coded
  process.env.KRB5CCNAME = 'FILE:/nonexistent/ccache-none'
  await assert.rejects(unavailable.first(), (error: Error & { code?: string }) => /TLS_FALLBACK_AUTH_(UNAVAILABLE|FAILED)/.test(error.code ?? ''))
  const withPassword = new AuthSession(resolveAuth('auth', { scheme: 'negotiate', username: 'u', password: PASSWORD }), { host: 'localhost', kerberos: missing })
  assert.match(await withPassword.first(), /^Negotiate TlRMTVNTUAAB/)
  assert.equal(withPassword.mechanism, 'ntlm')
})
