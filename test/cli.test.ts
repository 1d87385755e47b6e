import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { startIisLike } from './servers/iis.ts'
import { startModern } from './servers/modern.ts'
import { startGnutls } from './servers/gnutls.ts'
import { startApache } from './servers/apache.ts'
import { certs, makeAgent } from './helpers.ts'
import { redactUrl } from '../src/cli/redact.ts'
import type { AttemptEvent } from '../src/telemetry.ts'
import { runCli as cli } from './helpers/cli.ts'

const CA = certs.path('ca.crt')

async function probeJson (url: string, extra: string[] = []): Promise<{ code: number, result: any, stdout: string, stderr: string }> {
  const run = await cli(['probe', url, '--ca', CA, '--json', ...extra])
  return { ...run, result: JSON.parse(run.stdout) }
}

describe('undici-tls-fallback probe', () => {
  test('an IIS-like host behind h2: http11-required, then renegotiation-refused; the renegotiation stack works over HTTP/1.1; exit 0', async () => {
    const iis = await startIisLike({ h2: 'rst' })
    try {
      const url = `https://localhost:${iis.port}/secure/report`
      const { code, result } = await probeJson(url)
      assert.equal(code, 0)
      assert.equal(result.url, url)
      assert.equal(result.origin, `https://localhost:${iis.port}`)
      assert.deepEqual(result.verdict, { stack: 'renegotiation', fingerprint: 'renegotiation-refused', http1Only: true })
      assert.deepEqual(result.attempts.map((a: any) => [a.stack, a.http, a.ok, a.fingerprint]), [
        ['strict', 'h2', false, 'http11-required'],
        ['strict', 'http/1.1', false, 'renegotiation-refused'],
        ['tls13', 'http/1.1', false, null],
        ['renegotiation', 'http/1.1', true, null]
      ])
      assert.match(result.attempts[1].evidence, /HelloRequest \d+ ms after the request; the client declined; the server reset the connection/)
      assert.equal(result.attempts[3].status, 200)

      const human = await cli(['probe', url, '--ca', CA])
      assert.equal(human.code, 0)
      assert.match(human.stdout, /stack\s+result\s+TLS\s+HTTP\s+time\s+evidence/)
      assert.match(human.stdout, /verdict: use the renegotiation stack over HTTP\/1\.1 \(renegotiation-refused\)/)
      // What it found, not the default ladder: the stack that worked, and HTTP/1.1 since HTTP/2 was refused.
      const config = /config: {2}(hosts: \{.*\})\n/.exec(human.stdout)?.[1]
      assert.equal(config, 'hosts: { \'localhost\': { stack: \'renegotiation\', http1Only: true } }')
      assert.match(human.stdout, /clientcertnegotiation=enable/)
      // The location renegotiates after the request: the probe explains the upload buffer and uploadPriming.
      assert.equal(result.certificateAfterRequest, true)
      assert.match(human.stdout, /note: +this location asks for the client certificate after the request.*413 Request Entity Too Large.*uploadPriming/)
      // Pasted into an agent, it skips every failure the probe saw: one attempt, on that stack, over HTTP/1.1.
      const hosts = new Function(`return { ${config as string} }`)().hosts // eslint-disable-line no-new-func
      const attempts: AttemptEvent[] = []
      const agent = makeAgent({ hosts, hooks: { onAttempt: (event) => { attempts.push(event) } } })
      try {
        const response = await agent.request({ origin: `https://localhost:${iis.port}`, path: '/secure/report', method: 'GET' })
        assert.equal(response.statusCode, 200)
        await response.body.dump()
        assert.deepEqual(attempts.map((a) => [a.stack, a.http1Only]), [['renegotiation', true]])
      } finally {
        await agent.close()
      }
      // eslint-disable-next-line no-control-regex -- the escape character is what is looked for
      assert.doesNotMatch(human.stdout, /\x1b\[/, 'no colour when stdout is not a TTY')
    } finally {
      await iis.close()
    }
  })

  test('a modern host: the strict stack works, nothing to configure', async (t) => {
    const server = await startModern({ h2: true })
    t.after(async () => { await server.close() })
    const { code, result } = await probeJson(`https://localhost:${server.port}/`)
    assert.equal(code, 0)
    assert.deepEqual(result.verdict, { stack: 'strict', fingerprint: null, http1Only: false })
    assert.equal(result.attempts[0].http, 'h2')
    const human = await cli(['probe', `https://localhost:${server.port}/`, '--ca', CA])
    assert.match(human.stdout, /the strict stack works: nothing to configure/)
  })

  test('a server without RFC 5746: exit 1 and a note without --allow-legacy; exit 0 with it', async (t) => {
    const legacy = await startGnutls()
    t.after(async () => { await legacy.close() })
    const url = `https://localhost:${legacy.port}/`
    const refused = await probeJson(url)
    assert.equal(refused.code, 1)
    assert.deepEqual(refused.result.verdict, { stack: null, fingerprint: 'unsafe-legacy-renegotiation', http1Only: false })
    assert.equal(refused.result.legacyWouldWork, true)
    assert.ok(refused.result.attempts.every((a: any) => a.stack !== 'legacy-server-connect'), 'never tried without --allow-legacy')
    const human = await cli(['probe', url, '--ca', CA])
    assert.match(human.stdout, /legacy-server-connect would likely work/)

    const allowed = await probeJson(url, ['--allow-legacy'])
    assert.equal(allowed.code, 0)
    assert.equal(allowed.result.verdict.stack, 'legacy-server-connect')
  })

  test('Apache: without a certificate client-certificate-required (exit 1); with --cert/--key the renegotiation stack works', async (t) => {
    const apache = await startApache()
    t.after(async () => { await apache.close() })
    const url = `https://localhost:${apache.port}/secure`
    const without = await probeJson(url)
    assert.equal(without.code, 1)
    assert.deepEqual(without.result.verdict, { stack: null, fingerprint: 'client-certificate-required', http1Only: false })
    assert.ok(without.result.attempts.some((a: any) => a.stack === 'renegotiation' && a.fingerprint === 'client-certificate-required'))
    const human = await cli(['probe', url, '--ca', CA])
    assert.equal(human.code, 1)
    assert.match(human.stdout, /verdict: no stack works \(client-certificate-required\)\./)
    assert.match(human.stdout, /run it again with --cert FILE --key FILE \(or --pfx FILE\)/)
    assert.match(human.stdout, /config: {2}hosts: \{ 'localhost': \{ clientCert: \{ cert, key \} \} \}/)

    const withCert = await probeJson(url, ['--cert', certs.path('client.crt'), '--key', certs.path('client.key')])
    assert.equal(withCert.code, 0)
    assert.deepEqual(withCert.result.verdict, { stack: 'renegotiation', fingerprint: 'renegotiation-refused', http1Only: false })
  })

  test('Apache on its default protocols: post-handshake-auth-required over TLS 1.3; without a certificate a clientCert config line and the server fixes (exit 1); with one, renegotiation over TLS 1.2 works', async (t) => {
    const apache = await startApache({ protocols: 'all -SSLv3' })
    t.after(async () => { await apache.close() })
    const url = `https://localhost:${apache.port}/secure`
    const without = await cli(['probe', url, '--ca', CA])
    assert.equal(without.code, 1)
    assert.match(without.stdout, /verdict: no stack works \(post-handshake-auth-required\)/)
    assert.match(without.stdout, /Cannot perform Post-Handshake Authentication/)
    assert.match(without.stdout, /config: {2}hosts: \{ 'localhost': \{ clientCert: \{ cert, key \} \} \}/)
    assert.match(without.stdout, /server fix \(post-handshake-auth-required\): .*SSLVerifyClient.*virtual-host level.*TLSv1\.2.*announces post-handshake auth/)

    const withCert = await probeJson(url, ['--cert', certs.path('client.crt'), '--key', certs.path('client.key')])
    assert.equal(withCert.code, 0)
    assert.deepEqual(withCert.result.verdict, { stack: 'renegotiation', fingerprint: 'post-handshake-auth-required', http1Only: false })
    const strict = withCert.result.attempts[0]
    assert.deepEqual([strict.stack, strict.status, strict.tlsVersion, strict.fingerprint], ['strict', 403, 'TLSv1.3', 'post-handshake-auth-required'])
    const reneg = withCert.result.attempts.find((a: any) => a.stack === 'renegotiation')
    assert.deepEqual([reneg.status, reneg.tlsVersion], [200, 'TLSv1.2'])
  })

  test('keys and passphrases are never printed', async (t) => {
    const apache = await startApache()
    t.after(async () => { await apache.close() })
    const passphrase = certs.passphrase
    const run = await cli(['probe', `https://localhost:${apache.port}/secure`, '--ca', CA, '--cert', certs.path('client.crt'), '--key', certs.path('client-encrypted.key'), '--passphrase-env', 'PROBE_PASS'], { PROBE_PASS: passphrase })
    assert.equal(run.code, 0)
    const keyLine = certs.clientKeyEncrypted.toString().split('\n')[1] as string
    for (const output of [run.stdout, run.stderr]) {
      assert.ok(!output.includes(passphrase))
      assert.ok(!output.includes(keyLine))
    }
    const json = await cli(['probe', `https://localhost:${apache.port}/secure`, '--ca', CA, '--json', '--cert', certs.path('client.crt'), '--key', certs.path('client-encrypted.key'), '--passphrase-env', 'PROBE_PASS'], { PROBE_PASS: passphrase })
    assert.ok(!json.stdout.includes(passphrase) && !json.stderr.includes(passphrase))
  })

  test('the URL\'s user name, password, query values and fragment are never printed (table, --json, usage errors); its credentials are not sent; the server still gets the query', async (t) => {
    const authorization: Array<string | undefined> = []
    const server = await startModern({
      handle: (req, res) => {
        authorization.push(req.headers.authorization)
        res.end('ok')
      }
    })
    t.after(async () => { await server.close() })
    const secrets = ['Pr0be-Passw0rd', 'tok-Secret-4411', 'sess-9931', 'frag-Secret-77', 'probe-user-Secret-31']
    const url = `https://${secrets[4]}:${secrets[0]}@localhost:${server.port}/report?token=${secrets[1]}&session=${secrets[2]}#${secrets[3]}`
    const redacted = `https://***@localhost:${server.port}/report?token=***&session=***#***`
    const human = await cli(['probe', url, '--ca', CA])
    assert.equal(human.code, 0)
    assert.ok(human.stdout.includes(`probe ${redacted}`), human.stdout)
    const json = await probeJson(url)
    assert.equal(json.code, 0)
    assert.equal(json.result.url, redacted)
    const userOnly = await probeJson(`https://${secrets[4]}@localhost:${server.port}/`)
    assert.equal(userOnly.result.url, `https://***@localhost:${server.port}/`, 'a user name alone is masked too')
    const usage = await cli(['probe', `https://${secrets[4]}:${secrets[0]}@localhost:99999/?token=${secrets[1]}`])
    assert.equal(usage.code, 2)
    assert.match(usage.stderr, /not a URL: https:\/\/\*\*\*@localhost:99999\/\?token=\*\*\*/)
    for (const output of [human.stdout, human.stderr, json.stdout, json.stderr, userOnly.stdout, userOnly.stderr, usage.stdout, usage.stderr]) {
      for (const secret of secrets) assert.ok(!output.includes(secret), `${secret} printed in ${output}`)
    }
    assert.ok(server.requests.some((r) => r.path === `/report?token=${secrets[1]}&session=${secrets[2]}`), 'the request itself carries the query')
    assert.ok(authorization.length > 0)
    assert.deepEqual(authorization.filter((value) => value !== undefined), [], 'no Authorization header from the URL\'s credentials')
  })

  test('usage errors exit 2 with a message; --help exits 0', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /missing command/],
      [['probe'], /missing <url>/],
      [['probe', 'http://example.com/'], /must be https/],
      [['probe', 'not a url'], /not a URL/],
      [['probe', 'https://a.example/', '--cert', 'x.pem'], /--cert and --key go together/],
      [['probe', 'https://a.example/', '--pfx', 'a.pfx', '--cert', 'c', '--key', 'k'], /either --pfx/],
      [['probe', 'https://a.example/', '--timeout', '-1'], /--timeout/],
      [['probe', 'https://a.example/', '--passphrase-env', 'SURELY_NOT_SET_123'], /SURELY_NOT_SET_123 is not set/],
      [['probe', 'https://a.example/', '--bogus'], /unknown option "--bogus"/],
      [['probe', 'https://a.example/', '--ca', '/no/such/file.pem'], /--ca: cannot read/],
      [['probe', 'https://a.example/', '--ca', certs.path('client.key')], /--ca holds no certificate, only a PRIVATE KEY block/],
      [['probe', 'https://a.example/', '--proxy', 'ENV'], /--proxy is "ENV": write 'env' \(in lower case\)/]
    ]
    for (const [args, message] of cases) {
      const run = await cli(args)
      assert.equal(run.code, 2, args.join(' '))
      assert.match(run.stderr, message, args.join(' '))
    }
    const help = await cli(['probe', '--help'])
    assert.equal(help.code, 0)
    assert.match(help.stdout, /Exit codes: 0 a stack works, 1 no stack works, 2 usage error/)
  })
})

describe('redactUrl (what the probe prints of a URL)', () => {
  test('keeps the host, path and parameter names; masks the credentials (user name included), every value, a bare item and the fragment', () => {
    assert.equal(redactUrl('https://u:p4ss@h.example:8443/a/b?token=t0k&x=1&bare#f'), 'https://***@h.example:8443/a/b?token=***&x=***&***#***')
    assert.equal(redactUrl('https://h.example/'), 'https://h.example/')
    assert.equal(redactUrl('https://u@h.example/?a='), 'https://***@h.example/?a=***')
    assert.equal(redactUrl('https://:p4ss@h.example/'), 'https://***@h.example/')
    assert.equal(redactUrl('https://u:p4ss@h.example:99999/?t=v'), 'https://***@h.example:99999/?t=***', 'text that does not parse as a URL')
    assert.equal(redactUrl('https://tok3n@h.example:99999/a@b'), 'https://***@h.example:99999/a@b', 'a user name alone, in text that does not parse')
    assert.equal(redactUrl('https://h.example:99999/a@b'), 'https://h.example:99999/a@b', 'an @ in the path is no credential')
  })
})
