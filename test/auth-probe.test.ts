import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { ntowfv2 } from '../src/auth/ntlm.ts'
import { runCli } from './helpers/cli.ts'
import { startApacheAuth, type ApacheAuthServer } from './servers/apache-auth.ts'
import { certs } from './servers/certs.ts'

// The probe's --auth against Apache + gss-ntlmssp: the password comes from the environment only,
// the output (table and --json) says the scheme, the legs and the outcome, and never a secret.

describe('probe --auth', () => {
  let apache: ApacheAuthServer
  before(async () => { apache = await startApacheAuth() })
  after(async () => { await apache?.close() })

  const CA = certs.path('ca.crt')
  const url = (): string => `https://localhost:${apache.port}/ntlm/`
  const user = (): string => `${apache.ntlm.domain}\\${apache.ntlm.username}`

  test('--auth ntlm with --auth-user and the password from UNDICI_TLS_FALLBACK_AUTH_PASSWORD: authenticated after 2 legs, 200; no secret printed', async () => {
    const password = apache.ntlm.password
    const key = ntowfv2(password, apache.ntlm.username, apache.ntlm.domain).toString('hex')
    const json = await runCli(['probe', url(), '--ca', CA, '--json', '--auth', 'ntlm', '--auth-user', user()], { UNDICI_TLS_FALLBACK_AUTH_PASSWORD: password })
    assert.equal(json.code, 0, json.stderr)
    const result = JSON.parse(json.stdout) as { auth: Record<string, unknown> }
    assert.deepEqual(result.auth, { scheme: 'ntlm', mechanism: 'ntlm', outcome: 'authenticated', legs: 2, mutual: false, status: 200, error: null })
    const table = await runCli(['probe', url(), '--ca', CA, '--auth', 'ntlm', '--auth-user', user()], { UNDICI_TLS_FALLBACK_AUTH_PASSWORD: password })
    assert.match(table.stdout, /auth: {4}ntlm: authenticated after 2 legs; the request got 200\./)
    for (const out of [json.stdout, json.stderr, table.stdout, table.stderr]) {
      for (const secret of [password, key, 'TlRMTVNT']) assert.ok(!out.includes(secret), secret)
    }
  })

  test('--auth ntlm through a --proxy-auth ntlm proxy (real Apache forward proxy): the auth check keeps the proxy\'s NTLM, authenticated, 200; no secret printed', async () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(https?|no)_proxy$/i.test(name)))
    const password = apache.ntlm.password
    const proxy = `http://${apache.ntlm.domain}%5C${apache.ntlm.username}:${password}@127.0.0.1:${apache.proxyPort}`
    const before = apache.accessLog().split('\n').filter((l) => l.includes('"CONNECT ')).length
    const run = await runCli(['probe', url(), '--ca', CA, '--json', '--proxy', proxy, '--proxy-auth', 'ntlm', '--auth', 'ntlm', '--auth-user', user()], { UNDICI_TLS_FALLBACK_AUTH_PASSWORD: password }, env)
    assert.equal(run.code, 0, run.stderr)
    const result = JSON.parse(run.stdout) as { auth: Record<string, unknown>, proxy: string }
    // On main: the check's agent got the proxy without its auth, so its CONNECT met a 407 (error TLS_FALLBACK_PROXY_ERROR).
    assert.deepEqual(result.auth, { scheme: 'ntlm', mechanism: 'ntlm', outcome: 'authenticated', legs: 2, mutual: false, status: 200, error: null })
    assert.equal(result.proxy, `http://127.0.0.1:${apache.proxyPort}`)
    assert.ok(apache.accessLog().split('\n').filter((l) => l.includes('"CONNECT ') && / 200 /.test(l)).length > 0, 'the proxy opened tunnels')
    assert.ok(apache.accessLog().split('\n').filter((l) => l.includes('"CONNECT ')).length > before)
    for (const out of [run.stdout, run.stderr]) {
      for (const secret of [password, 'TlRMTVNT']) assert.ok(!out.includes(secret), secret)
    }
  })

  test('a wrong password: rejected after 2 legs, the server\'s 401', async () => {
    const run = await runCli(['probe', url(), '--ca', CA, '--json', '--auth', 'ntlm', '--auth-user', user(), '--auth-password-env', 'MY_PW'], { MY_PW: 'Wrong-probe-pw-4' })
    const result = JSON.parse(run.stdout) as { auth: Record<string, unknown> }
    assert.deepEqual(result.auth, { scheme: 'ntlm', mechanism: 'ntlm', outcome: 'rejected', legs: 2, mutual: false, status: 401, error: null })
    assert.ok(!run.stdout.includes('Wrong-probe-pw-4'))
  })

  test('usage errors name the flag and never echo the password: no password variable, a bad scheme, --auth-user without --auth', async () => {
    const noPassword = await runCli(['probe', url(), '--ca', CA, '--auth', 'ntlm', '--auth-user', 'u'], {}, { PATH: process.env.PATH ?? '' })
    assert.equal(noPassword.code, 2)
    assert.match(noPassword.stderr, /UNDICI_TLS_FALLBACK_AUTH_PASSWORD .*is not set/)
    const scheme = await runCli(['probe', url(), '--ca', CA, '--auth', 'basic'])
    assert.equal(scheme.code, 2)
    assert.match(scheme.stderr, /--auth must be one of ntlm, negotiate/)
    const orphan = await runCli(['probe', url(), '--ca', CA, '--auth-user', 'u'])
    assert.equal(orphan.code, 2)
    assert.match(orphan.stderr, /--auth-user needs --auth/)
    const ntlmNoUser = await runCli(['probe', url(), '--ca', CA, '--auth', 'ntlm'])
    assert.match(ntlmNoUser.stderr, /--auth-user is needed for NTLM/)
  })
})
