import assert from 'node:assert/strict'
import { inspect } from 'node:util'
import { test } from 'node:test'
import { TlsFallbackAgent } from '../src/index.ts'
import { parseProxy, parseProxyChoice } from '../src/proxy/options.ts'

// `proxy.auth` at construction: validated with the option's path, one way of authenticating to a
// proxy (never `auth` with URL credentials, `token` or a proxy-authorization header), never echoing a
// password, and not shown by inspect or JSON.

const PASSWORD = 'Secret-Proxy-Pass-91ab'
const ntlm = { scheme: 'ntlm' as const, username: 'CORP\\alice', password: PASSWORD }

function refused (options: ConstructorParameters<typeof TlsFallbackAgent>[0], option: string, message: RegExp): void {
  assert.throws(() => new TlsFallbackAgent(options), (error: Error & { code?: string, option?: string }) => {
    assert.equal(error.code, 'TLS_FALLBACK_INVALID_OPTION')
    assert.equal(error.option, option)
    assert.match(error.message, message)
    assert.ok(!error.message.includes(PASSWORD) && !String(error.stack).includes(PASSWORD), 'the password is never echoed')
    return true
  })
}

test('proxy.auth is accepted on an http:// or https:// proxy object, agent-wide and per host', async () => {
  const agent = new TlsFallbackAgent({
    proxy: { uri: 'http://proxy.corp.example:3128', auth: ntlm },
    hosts: { 'intranet.corp.example': { proxy: { uri: 'https://other.corp.example:8443', auth: { scheme: 'negotiate' } } } }
  })
  await agent.close()
  const proxy = parseProxy('proxy', { uri: 'http://proxy.corp.example:3128', auth: ntlm })
  assert.equal(proxy.auth?.scheme, 'ntlm')
  assert.equal(proxy.auth?.username, 'alice')
  assert.equal(proxy.auth?.domain, 'CORP')
  assert.equal(proxy.headers['proxy-authorization'], undefined, 'no static header: each tunnel runs its own handshake')
  assert.equal(proxy.redacted, 'http://proxy.corp.example:3128')
})

test('the parsed proxy and the agent show no password in inspect or JSON', async () => {
  const proxy = parseProxy('proxy', { uri: 'http://proxy.corp.example:3128', auth: ntlm })
  for (const text of [inspect(proxy, { depth: 10, showHidden: true }), JSON.stringify(proxy)]) {
    assert.ok(!text.includes(PASSWORD), text)
  }
  const agent = new TlsFallbackAgent({ proxy: { uri: 'http://proxy.corp.example:3128', auth: ntlm } })
  try {
    assert.ok(!inspect(agent, { depth: 10, showHidden: true }).includes(PASSWORD))
  } finally {
    await agent.close()
  }
})

test('proxy.auth is validated with its path: scheme, unknown keys, ntlm without a password', () => {
  refused({ proxy: { uri: 'http://p.example:3128', auth: { scheme: 'basic' } as never } }, 'proxy.auth.scheme', /must be one of ntlm, negotiate/)
  refused({ proxy: { uri: 'http://p.example:3128', auth: { scheme: 'ntlm', username: 'a', password: PASSWORD, pasword: PASSWORD } as never } }, 'proxy.auth.pasword', /is not an option/)
  refused({ proxy: { uri: 'http://p.example:3128', auth: { scheme: 'ntlm', username: 'a' } } }, 'proxy.auth.password', /is needed/)
  refused({ proxy: { uri: 'http://p.example:3128', auth: 'ntlm' as never } }, 'proxy.auth', /must be an object/)
  refused({ hosts: { 'a.example': { proxy: { uri: 'http://p.example:3128', auth: { scheme: 'kerberos' } as never } } } }, 'hosts[\'a.example\'].proxy.auth.scheme', /must be one of/)
})

test('proxy.auth with credentials in the URL, a token or a proxy-authorization header is refused: one way to authenticate', () => {
  refused({ proxy: { uri: `http://bob:${PASSWORD}@p.example:3128`, auth: ntlm } }, 'proxy.auth', /cannot be combined with credentials in the URL \(http:\/\/\*\*\*@p\.example:3128\)/)
  refused({ proxy: { uri: 'http://p.example:3128', token: `Basic ${PASSWORD}`, auth: ntlm } }, 'proxy.auth', /cannot be combined with token/)
  refused({ proxy: { uri: 'http://p.example:3128', headers: { 'Proxy-Authorization': PASSWORD }, auth: ntlm } }, 'proxy.auth', /cannot be combined with a proxy-authorization header/)
  refused({ proxy: { uri: 'socks5://p.example:1080', auth: ntlm } }, 'proxy.auth', /is for HTTP proxies/)
})

test('proxy { env: true, auth }: the environment\'s proxies with auth; validated with its path, never echoing a password', async () => {
  const env = { HTTPS_PROXY: 'http://proxy.corp.example:3128', HTTP_PROXY: 'http://plain.corp.example:8080', NO_PROXY: '.intranet.example' }
  const choice = parseProxyChoice({ env: true, auth: ntlm }, env)
  assert.equal(choice.kind, 'env')
  if (choice.kind !== 'env') return
  assert.deepEqual([choice.https?.redacted, choice.https?.auth?.scheme, choice.https?.auth?.username], ['http://proxy.corp.example:3128', 'ntlm', 'alice'])
  assert.deepEqual([choice.http?.redacted, choice.http?.auth?.scheme], ['http://plain.corp.example:8080', 'ntlm'])
  assert.equal(choice.https?.headers['proxy-authorization'], undefined)
  assert.equal(choice.noProxy.bypasses('a.intranet.example', 443), true)
  // Without auth it is 'env'; without any proxy in the environment, nothing.
  const plain = parseProxyChoice({ env: true }, env)
  assert.equal(plain.kind === 'env' && plain.https?.redacted, 'http://proxy.corp.example:3128')
  assert.equal(plain.kind === 'env' && plain.https?.auth, undefined)
  const none = parseProxyChoice({ env: true, auth: ntlm }, {})
  assert.deepEqual(none.kind === 'env' && [none.https, none.http], [undefined, undefined])
  await new TlsFallbackAgent({ proxy: { env: true, auth: { scheme: 'negotiate' } } }).close()

  refused({ proxy: { env: true, auth: { scheme: 'basic' } as never } }, 'proxy.auth.scheme', /must be one of ntlm, negotiate/)
  refused({ proxy: { env: true, auth: { scheme: 'ntlm', username: 'a' } } }, 'proxy.auth.password', /is needed/)
  refused({ proxy: { env: false } as never }, 'proxy.env', /must be true/)
  refused({ proxy: { env: true, uri: 'http://p.example:3128' } as never }, 'proxy.uri', /cannot be combined with env/)
  refused({ proxy: { env: true, token: PASSWORD } as never }, 'proxy.token', /cannot be combined with env/)
  refused({ hosts: { 'a.example': { proxy: { env: true } as never } } }, 'hosts[\'a.example\'].proxy', /cannot be 'env' for one host/)
  // The environment's proxy carries credentials or is SOCKS5: auth cannot go with it (named proxy.auth, the URL redacted).
  assert.throws(() => parseProxyChoice({ env: true, auth: ntlm }, { HTTPS_PROXY: `http://bob:${PASSWORD}@p.example:3128` }), (error: Error & { option?: string }) => {
    assert.equal(error.option, 'proxy.auth')
    assert.match(error.message, /cannot be combined with credentials in the URL \(http:\/\/\*\*\*@p\.example:3128\)/)
    assert.ok(!error.message.includes(PASSWORD))
    return true
  })
  assert.throws(() => parseProxyChoice({ env: true, auth: ntlm }, { HTTPS_PROXY: 'socks5://p.example:1080' }), /proxy\.auth.*is for HTTP proxies/)
})
