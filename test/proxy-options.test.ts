import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { TlsFallbackAgent, TlsFallbackError } from '../src/index.ts'
import { NoProxyList } from '../src/proxy/no-proxy.ts'
import { parseProxy, parseProxyChoice } from '../src/proxy/options.ts'
import { ipv6Bytes } from '../src/proxy/socks5.ts'

const SECRET = 'hunter2-Sekret'

interface BadCase {
  name: string
  options: unknown
  option: string
  mentions?: string[]
}

const bad: BadCase[] = [
  { name: 'a number', options: { proxy: 3128 }, option: 'proxy', mentions: ['a number'] },
  { name: 'true', options: { proxy: true }, option: 'proxy' },
  { name: 'a string that is not a URL, with a password in it', options: { proxy: `user:${SECRET}@proxy` }, option: 'proxy', mentions: ['http://, https:// or socks5://'] },
  { name: 'an ftp:// URL', options: { proxy: `ftp://u:${SECRET}@proxy.corp:21` }, option: 'proxy', mentions: ['ftp:', 'http://, https:// or socks5://'] },
  { name: 'a socks4:// URL', options: { proxy: 'socks4://proxy.corp:1080' }, option: 'proxy' },
  { name: 'a URL with a path', options: { proxy: `http://u:${SECRET}@proxy.corp:3128/path?token=${SECRET}` }, option: 'proxy', mentions: ['path', 'http://***@proxy.corp:3128'] },
  { name: 'an object without uri', options: { proxy: { token: SECRET } }, option: 'proxy.uri', mentions: ['missing'] },
  { name: 'an unknown key', options: { proxy: { uri: 'http://p:1', password: SECRET } }, option: 'proxy.password', mentions: ['not an option'] },
  { name: 'auth that is not an object', options: { proxy: { uri: 'http://p:1', auth: SECRET } }, option: 'proxy.auth', mentions: ['must be an object'] },
  { name: 'a token with credentials in the URL', options: { proxy: { uri: `http://u:${SECRET}@p:1`, token: `Basic ${SECRET}` } }, option: 'proxy.token', mentions: ['credentials'] },
  { name: 'a token that is not a string', options: { proxy: { uri: 'http://p:1', token: 42 } }, option: 'proxy.token' },
  { name: 'a token with a line break', options: { proxy: { uri: 'http://p:1', token: `Basic ${SECRET}\r\nX-Evil: 1` } }, option: 'proxy.token' },
  { name: 'headers that are not an object', options: { proxy: { uri: 'http://p:1', headers: 'x' } }, option: 'proxy.headers' },
  { name: 'a header value with a line break', options: { proxy: { uri: 'http://p:1', headers: { 'x-id': `${SECRET}\r\nHost: evil` } } }, option: 'proxy.headers["x-id"]', mentions: ['not shown'] },
  { name: 'a header that the agent sets', options: { proxy: { uri: 'http://p:1', headers: { Host: 'x' } } }, option: 'proxy.headers["Host"]' },
  { name: 'a token and a proxy-authorization header', options: { proxy: { uri: 'http://p:1', token: 'Basic a', headers: { 'Proxy-Authorization': `Basic ${SECRET}` } } }, option: 'proxy.token' },
  { name: 'proxyTls for an http:// proxy', options: { proxy: { uri: 'http://p:1', proxyTls: {} } }, option: 'proxy.proxyTls', mentions: ['https://'] },
  { name: 'proxyTls that Node refuses', options: { proxy: { uri: 'https://p:1', proxyTls: { ciphers: 'NOT-A-CIPHER' } } }, option: 'proxy.proxyTls' },
  { name: 'a token for a SOCKS5 proxy', options: { proxy: { uri: 'socks5://p:1080', token: SECRET } }, option: 'proxy.token', mentions: ['SOCKS5'] },
  { name: 'headers for a SOCKS5 proxy', options: { proxy: { uri: 'socks5://p:1080', headers: { a: 'b' } } }, option: 'proxy.headers' },
  { name: 'hosts[...].proxy true', options: { hosts: { 'a.example': { proxy: true } } }, option: 'hosts[\'a.example\'].proxy' },
  { name: 'hosts[...].proxy \'env\'', options: { hosts: { 'a.example': { proxy: 'env' } } }, option: 'hosts[\'a.example\'].proxy', mentions: ['env'] },
  { name: 'hosts[...].proxy with a bad scheme', options: { hosts: { 'a.example': { proxy: `gopher://u:${SECRET}@p` } } }, option: 'hosts[\'a.example\'].proxy' }
]

describe('proxy options are validated at construction, and no error shows a credential', () => {
  for (const c of bad) {
    test(`${c.name}: TLS_FALLBACK_INVALID_OPTION names ${c.option}`, () => {
      let caught: unknown
      try {
        new TlsFallbackAgent(c.options as never).destroy().catch(() => {})
      } catch (error) {
        caught = error
      }
      assert.ok(caught instanceof TlsFallbackError, String(caught))
      assert.equal(caught.code, 'TLS_FALLBACK_INVALID_OPTION')
      assert.equal(caught.option, c.option)
      assert.ok(caught.message.includes(c.option), caught.message)
      for (const m of c.mentions ?? []) assert.ok(caught.message.includes(m), `${caught.message} should mention ${m}`)
      assert.ok(!caught.message.includes(SECRET), `the message shows a secret: ${caught.message}`)
    })
  }

  test('the shapes undici\'s ProxyAgent takes are accepted', async () => {
    const agents = [
      new TlsFallbackAgent({ proxy: 'http://proxy.corp:3128' }),
      new TlsFallbackAgent({ proxy: new URL('https://proxy.corp') as never }),
      new TlsFallbackAgent({ proxy: `http://user:${SECRET}@proxy.corp:3128` }),
      new TlsFallbackAgent({ proxy: { uri: 'https://proxy.corp:8443', token: 'Bearer abc', headers: { 'x-team': 'a' }, proxyTls: { servername: 'proxy.corp' } } }),
      new TlsFallbackAgent({ proxy: 'socks5://u:p@127.0.0.1:1080' }),
      new TlsFallbackAgent({ proxy: 'env' }),
      new TlsFallbackAgent({ hosts: { 'a.example': { proxy: false }, 'b.example': { proxy: 'http://p:1' } } })
    ]
    await Promise.all(agents.map(async (a) => await a.close()))
  })
})

describe('parseProxy', () => {
  test('credentials in the URL become Basic Proxy-Authorization (decoded), and the redacted URL hides them', () => {
    const proxy = parseProxy('proxy', 'http://us%40er:p%3Ass@proxy.corp:3128')
    assert.equal(proxy.headers['proxy-authorization'], `Basic ${Buffer.from('us@er:p:ss').toString('base64')}`)
    assert.equal(proxy.redacted, 'http://***@proxy.corp:3128')
    assert.equal(proxy.port, 3128)
    assert.equal(proxy.username, undefined, 'a HTTP proxy has no SOCKS credentials')
  })

  test('default ports and IPv6 hosts', () => {
    assert.equal(parseProxy('proxy', 'http://p').port, 80)
    assert.equal(parseProxy('proxy', 'https://p').port, 443)
    assert.equal(parseProxy('proxy', 'socks5://p').port, 1080)
    assert.equal(parseProxy('proxy', 'socks://p').protocol, 'socks5:')
    const v6 = parseProxy('proxy', 'http://[::1]:3128')
    assert.equal(v6.hostname, '::1')
    assert.equal(v6.redacted, 'http://[::1]:3128')
  })

  test('SOCKS5 credentials are decoded for RFC 1929 and not sent as a header', () => {
    const proxy = parseProxy('proxy', 'socks5://al%20ice:s%3Dcret@127.0.0.1:1080')
    assert.equal(proxy.username, 'al ice')
    assert.equal(proxy.password, 's=cret')
    assert.equal(proxy.headers['proxy-authorization'], undefined)
  })

  test('\'env\': lower case first, HTTPS_PROXY falls back to HTTP_PROXY, empty values ignored', () => {
    const env = { https_proxy: 'http://lower:1', HTTPS_PROXY: 'http://upper:2', HTTP_PROXY: 'http://plain:3', NO_PROXY: 'a.example' }
    const choice = parseProxyChoice('env', env)
    assert.equal(choice.kind, 'env')
    if (choice.kind !== 'env') return
    assert.equal(choice.https?.hostname, 'lower')
    assert.equal(choice.http?.hostname, 'plain')
    assert.equal(choice.noProxy.bypasses('a.example', 443), true)
    const only = parseProxyChoice('env', { HTTP_PROXY: 'http://plain:3', https_proxy: '' })
    assert.equal(only.kind === 'env' && only.https?.hostname, 'plain')
    const none = parseProxyChoice('env', {})
    assert.equal(none.kind === 'env' && none.https, undefined)
  })

  test('\'env\' with a bad HTTPS_PROXY names the variable, not its value', () => {
    assert.throws(() => parseProxyChoice('env', { HTTPS_PROXY: `ftp://u:${SECRET}@p` }), (error: TlsFallbackError) => {
      assert.equal(error.option, 'proxy (HTTPS_PROXY)')
      assert.ok(!error.message.includes(SECRET))
      return true
    })
  })
})

describe('NO_PROXY with EnvHttpProxyAgent\'s rules', () => {
  const cases: Array<[string, string, number, boolean]> = [
    ['', 'a.example', 443, false],
    ['*', 'anything.example', 443, true],
    ['none.invalid, *', 'x.example', 443, true],
    ['*:80', 'x.example', 443, false],
    ['*:80', 'x.example', 80, true],
    ['example.com', 'example.com', 443, true],
    ['example.com', 'api.example.com', 443, true],
    ['example.com', 'notexample.com', 443, false],
    ['.example.com', 'example.com', 443, true],
    ['.example.com', 'a.b.example.com', 443, true],
    ['*.example.com', 'example.com', 443, false],
    ['*.example.com', 'api.example.com', 443, true],
    ['example.com:8443', 'example.com', 443, false],
    ['example.com:8443', 'example.com', 8443, true],
    ['EXAMPLE.com.', 'example.COM.', 443, true],
    ['127.0.0.1', '127.0.0.1', 443, true],
    ['::1', '::1', 443, true],
    ['[::1]:443', '[::1]', 443, true],
    ['[::1]:443', '::1', 8443, false],
    ['a.example\tb.example', 'b.example', 443, true]
  ]
  for (const [list, host, port, bypass] of cases) {
    test(`NO_PROXY=${JSON.stringify(list)}: ${host}:${port} ${bypass ? 'goes direct' : 'is proxied'}`, () => {
      assert.equal(new NoProxyList(list).bypasses(host, port), bypass)
    })
  }
})

describe('SOCKS5 addresses', () => {
  test('IPv6 literals expand to 16 bytes', () => {
    assert.equal(ipv6Bytes('::1').toString('hex'), '00000000000000000000000000000001')
    assert.equal(ipv6Bytes('2001:db8::8:1').toString('hex'), '20010db8000000000000000000080001')
    assert.equal(ipv6Bytes('::ffff:127.0.0.1').toString('hex'), '00000000000000000000ffff7f000001')
    assert.equal(ipv6Bytes('fe80:0:0:0:0:0:0:1').toString('hex'), 'fe800000000000000000000000000001')
  })
})
