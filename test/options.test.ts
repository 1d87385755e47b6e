import assert from 'node:assert/strict'
import { constants } from 'node:crypto'
import { describe, test } from 'node:test'
import { inspect } from 'node:util'
import { MemoryPolicyCache, RedisPolicyCache, TlsFallbackAgent, TlsFallbackError, type TlsFallbackAgentOptions } from '../src/index.ts'
import { resolveOptions } from '../src/options.ts'
import { certs } from './servers/certs.ts'

const clientCert = { cert: certs.clientCert, key: certs.clientKey }
const noop = (): void => {}
const logger = { debug: noop, info: noop, warn: noop, error: noop }
const cache = (): Record<string, unknown> => ({ ttl: 1_000, get: noop, set: noop, delete: noop, entries: () => [] })

interface BadCase {
  name: string
  options: unknown
  /** The path the error must name, in `err.option` and in the message. */
  option: string
  /** More text the message must contain. */
  mentions?: string[]
}

const bad: BadCase[] = [
  { name: 'options that are null', options: null, option: 'options', mentions: ['got null'] },
  { name: 'options that are a string', options: 'https://a.example', option: 'options' },
  { name: 'options that are an array', options: [], option: 'options', mentions: ['an array'] },
  { name: 'options that are a class instance', options: new Map(), option: 'options' },
  { name: 'an unknown top-level key', options: { retries: 3 }, option: 'retries', mentions: ['is not an option'] },
  { name: 'a factory that is not a function', options: { factory: 'pool' }, option: 'factory', mentions: ['must be a function'] },
  { name: 'a socketPath', options: { socketPath: '/tmp/sock' }, option: 'socketPath', mentions: ['TCP'] },
  { name: 'interceptors, which undici 8 dropped', options: { interceptors: {} }, option: 'interceptors', mentions: ['compose'] },
  { name: 'connect as a function', options: { connect: noop }, option: 'connect', mentions: ['connect function is not supported'] },
  { name: 'connect as a string', options: { connect: 'tls' }, option: 'connect' },
  { name: 'connect.socketPath', options: { connect: { socketPath: '/tmp/sock' } }, option: 'connect.socketPath' },
  {
    name: 'connect.secureOptions with SSL_OP_LEGACY_SERVER_CONNECT',
    options: { connect: { secureOptions: constants.SSL_OP_LEGACY_SERVER_CONNECT | constants.SSL_OP_NO_COMPRESSION } },
    option: 'connect.secureOptions',
    mentions: ['SSL_OP_LEGACY_SERVER_CONNECT', 'hosts[']
  },
  { name: 'connect.secureOptions that is negative', options: { connect: { secureOptions: -1 } }, option: 'connect.secureOptions' },
  { name: 'connect.secureOptions that is a string', options: { connect: { secureOptions: '4' } }, option: 'connect.secureOptions' },
  { name: 'connect.minVersion TLSv1.1', options: { connect: { minVersion: 'TLSv1.1' } }, option: 'connect.minVersion', mentions: ['TLSv1.2 or TLSv1.3'] },
  { name: 'connect.minVersion TLSv1', options: { connect: { minVersion: 'TLSv1' } }, option: 'connect.minVersion' },
  { name: 'connect.minVersion TLS9', options: { connect: { minVersion: 'TLS9' } }, option: 'connect.minVersion', mentions: ['"TLS9"'] },
  { name: 'connect.maxVersion TLS9', options: { connect: { maxVersion: 'TLS9' } }, option: 'connect.maxVersion' },
  {
    name: 'connect.maxVersion below connect.minVersion',
    options: { connect: { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.2' } },
    option: 'connect.maxVersion',
    mentions: ['below connect.minVersion']
  },
  { name: 'connect.maxVersion TLSv1.1', options: { connect: { maxVersion: 'TLSv1.1' } }, option: 'connect.maxVersion' },
  { name: 'connect.timeout -1', options: { connect: { timeout: -1 } }, option: 'connect.timeout' },
  { name: 'fallback that is not an array', options: { fallback: 'renegotiation' }, option: 'fallback', mentions: ['array'] },
  { name: 'fallback listing strict', options: { fallback: ['strict'] }, option: 'fallback[0]', mentions: ['\'strict\''] },
  {
    name: 'fallback listing legacy-server-connect at the top level',
    options: { fallback: ['renegotiation', 'legacy-server-connect'] },
    option: 'fallback[1]',
    mentions: ['CVE-2009-3555', 'consent']
  },
  { name: 'fallback with an unknown stack', options: { fallback: ['tls13', 'yolo'] }, option: 'fallback[1]', mentions: ['"yolo"'] },
  { name: 'fallback with a duplicate stack', options: { fallback: ['tls13', 'renegotiation', 'tls13'] }, option: 'fallback[2]', mentions: ['twice'] },
  { name: 'hosts that is not an object', options: { hosts: ['a.example'] }, option: 'hosts', mentions: ['an array'] },
  { name: 'a host pattern that is empty', options: { hosts: { '': {} } }, option: 'hosts[\'\']', mentions: ['non-empty'] },
  { name: 'a host pattern with white space', options: { hosts: { ' a.example': {} } }, option: 'hosts[\' a.example\']', mentions: ['white space'] },
  { name: 'a host pattern that is a URL', options: { hosts: { 'https://a.example': {} } }, option: 'hosts[\'https://a.example\']', mentions: ['not a URL'] },
  { name: 'a host pattern with a path', options: { hosts: { 'a.example/path': {} } }, option: 'hosts[\'a.example/path\']', mentions: ['path'] },
  { name: 'a host pattern that is a bare *', options: { hosts: { '*': {} } }, option: 'hosts[\'*\']', mentions: ['\'*\''] },
  { name: 'a host pattern with * inside', options: { hosts: { 'a.*.example': {} } }, option: 'hosts[\'a.*.example\']', mentions: ['first label'] },
  { name: 'a host pattern with no host', options: { hosts: { ':443': {} } }, option: 'hosts[\':443\']', mentions: ['no host name'] },
  { name: 'a host pattern with port 0', options: { hosts: { 'a.example:0': {} } }, option: 'hosts[\'a.example:0\']', mentions: ['out of range'] },
  { name: 'a host pattern with port 70000', options: { hosts: { 'a.example:70000': {} } }, option: 'hosts[\'a.example:70000\']', mentions: ['out of range'] },
  { name: 'a host pattern with a port that is not a number', options: { hosts: { 'a.example:https': {} } }, option: 'hosts[\'a.example:https\']', mentions: ['invalid port'] },
  { name: 'a host pattern that is IPv6 without brackets', options: { hosts: { '::1': {} } }, option: 'hosts[\'::1\']', mentions: ['brackets'] },
  { name: 'a host pattern with an unclosed bracket', options: { hosts: { '[::1': {} } }, option: 'hosts[\'[::1\']', mentions: ['unclosed'] },
  { name: 'a host pattern with a bad label', options: { hosts: { 'bad_label-.example': {} } }, option: 'hosts[\'bad_label-.example\']', mentions: ['invalid label'] },
  {
    name: 'two keys naming the same host',
    options: { hosts: { 'A.example': {}, 'a.example': {} } },
    option: 'hosts[\'a.example\']',
    mentions: ['names the same hosts as hosts[\'A.example\']']
  },
  {
    name: 'two keys naming the same host, one with a trailing dot',
    options: { hosts: { '*.a.example:8443': {}, '*.a.example.:8443': {} } },
    option: 'hosts[\'*.a.example.:8443\']',
    mentions: ['names the same hosts']
  },
  { name: 'a host value that is not an object', options: { hosts: { 'a.example': 'renegotiation' } }, option: 'hosts[\'a.example\']', mentions: ['must be an object'] },
  { name: 'a host value that is null', options: { hosts: { 'a.example': null } }, option: 'hosts[\'a.example\']' },
  { name: 'an unknown key in a host', options: { hosts: { 'a.example': { retries: 1 } } }, option: 'hosts[\'a.example\'].retries', mentions: ['is not an option'] },
  { name: 'a host fallback listing strict', options: { hosts: { 'a.example': { fallback: ['strict'] } } }, option: 'hosts[\'a.example\'].fallback[0]' },
  { name: 'a host fallback with an unknown stack', options: { hosts: { 'a.example': { fallback: ['tls12'] } } }, option: 'hosts[\'a.example\'].fallback[0]' },
  { name: 'an unknown host stack', options: { hosts: { 'a.example': { stack: 'tls12' } } }, option: 'hosts[\'a.example\'].stack', mentions: ['"tls12"'] },
  {
    name: 'a host pinned to legacy-server-connect without consent',
    options: { hosts: { 'a.example': { stack: 'legacy-server-connect' } } },
    option: 'hosts[\'a.example\'].stack',
    mentions: ['consent', 'hosts[\'a.example\'].fallback']
  },
  {
    name: 'a host pinned to renegotiation with fallback []',
    options: { hosts: { 'a.example': { stack: 'renegotiation', fallback: [] } } },
    option: 'hosts[\'a.example\'].stack',
    mentions: ['does not allow']
  },
  {
    name: 'a host pinned to renegotiation when the agent\'s fallback leaves it out',
    options: { fallback: ['tls13'], hosts: { 'a.example': { stack: 'renegotiation' } } },
    option: 'hosts[\'a.example\'].stack',
    mentions: ['fallback does not allow']
  },
  { name: 'a clientCert that is not an object', options: { hosts: { 'a.example': { clientCert: 'cert.pem' } } }, option: 'hosts[\'a.example\'].clientCert' },
  {
    name: 'a clientCert cert without key',
    options: { hosts: { 'a.example': { clientCert: { cert: certs.clientCert } } } },
    option: 'hosts[\'a.example\'].clientCert.key',
    mentions: ['is missing']
  },
  {
    name: 'a clientCert key without cert',
    options: { hosts: { 'a.example': { clientCert: { key: certs.clientKey } } } },
    option: 'hosts[\'a.example\'].clientCert.cert',
    mentions: ['is missing']
  },
  {
    name: 'a clientCert with pfx and cert',
    options: { hosts: { 'a.example': { clientCert: { pfx: certs.clientPfx, cert: certs.clientCert } } } },
    option: 'hosts[\'a.example\'].clientCert',
    mentions: ['not both']
  },
  {
    name: 'a clientCert with a passphrase that is not a string',
    options: { hosts: { 'a.example': { clientCert: { cert: certs.clientCert, key: certs.clientKeyEncrypted, passphrase: 1234 } } } },
    option: 'hosts[\'a.example\'].clientCert.passphrase'
  },
  {
    name: 'a clientCert with an unknown key',
    options: { hosts: { 'a.example': { clientCert: { ...clientCert, ca: certs.ca } } } },
    option: 'hosts[\'a.example\'].clientCert.ca'
  },
  {
    name: 'a clientCert whose key is a number',
    options: { hosts: { 'a.example': { clientCert: { cert: certs.clientCert, key: 42 } } } },
    option: 'hosts[\'a.example\'].clientCert.key'
  },
  {
    name: 'a clientCert whose cert and key do not match',
    options: { hosts: { 'a.example': { clientCert: { cert: certs.clientCert, key: certs.serverKey } } } },
    option: 'hosts[\'a.example\'].clientCert',
    mentions: ['cannot be loaded']
  },
  {
    name: 'an encrypted clientCert key without a passphrase',
    options: { hosts: { 'a.example': { clientCert: { cert: certs.clientCert, key: certs.clientKeyEncrypted } } } },
    option: 'hosts[\'a.example\'].clientCert',
    mentions: ['cannot be loaded']
  },
  {
    name: 'a clientCert pfx with a wrong passphrase',
    options: { hosts: { 'a.example': { clientCert: { pfx: certs.clientPfx, passphrase: 'wrong' } } } },
    option: 'hosts[\'a.example\'].clientCert',
    mentions: ['cannot be loaded']
  },
  { name: 'http1Only that is not a boolean', options: { hosts: { 'a.example': { http1Only: 'yes' } } }, option: 'hosts[\'a.example\'].http1Only', mentions: ['"yes"'] },
  { name: 'a cache that is not an object', options: { cache: 'memory' }, option: 'cache' },
  { name: 'a cache missing get', options: { cache: { ...cache(), get: undefined } }, option: 'cache.get' },
  { name: 'a cache missing entries', options: { cache: { ...cache(), entries: undefined } }, option: 'cache.entries' },
  { name: 'a cache whose load is not a function', options: { cache: { ...cache(), load: true } }, option: 'cache.load' },
  { name: 'a cache with ttl 0', options: { cache: { ...cache(), ttl: 0 } }, option: 'cache.ttl', mentions: ['got 0'] },
  { name: 'a cache with no ttl', options: { cache: { ...cache(), ttl: undefined } }, option: 'cache.ttl' },
  { name: 'a logger that is not an object', options: { logger: console.log }, option: 'logger' },
  { name: 'a logger missing warn', options: { logger: { ...logger, warn: undefined } }, option: 'logger.warn' },
  { name: 'a logger whose child is not a function', options: { logger: { ...logger, child: {} } }, option: 'logger.child' },
  { name: 'hooks that are not an object', options: { hooks: noop }, option: 'hooks' },
  { name: 'an unknown hook', options: { hooks: { onRequest: noop } }, option: 'hooks.onRequest', mentions: ['is not a hook'] },
  { name: 'a hook that is not a function', options: { hooks: { onFallback: 'log' } }, option: 'hooks.onFallback', mentions: ['"log"'] },
  { name: 'maxReplayBodySize -1', options: { maxReplayBodySize: -1 }, option: 'maxReplayBodySize' },
  { name: 'maxReplayBodySize 1.5', options: { maxReplayBodySize: 1.5 }, option: 'maxReplayBodySize' },
  { name: 'maxReplayBodySize Infinity', options: { maxReplayBodySize: Infinity }, option: 'maxReplayBodySize' },
  { name: 'maxReplayBodySize NaN', options: { maxReplayBodySize: NaN }, option: 'maxReplayBodySize' },
  { name: 'maxReplayBodySize over 1 GiB', options: { maxReplayBodySize: 1024 * 1024 * 1024 + 1 }, option: 'maxReplayBodySize' },
  { name: 'maxReplayBodySize null', options: { maxReplayBodySize: null }, option: 'maxReplayBodySize' },
  { name: 'resetRetries 11', options: { resetRetries: 11 }, option: 'resetRetries', mentions: ['from 0 to 10'] },
  { name: 'resetRetries as a string', options: { resetRetries: '1' }, option: 'resetRetries' },
  { name: 'coldStartTimeout -5', options: { coldStartTimeout: -5 }, option: 'coldStartTimeout' },
  { name: 'coldStartTimeout over 10 minutes', options: { coldStartTimeout: 600_001 }, option: 'coldStartTimeout' },
  { name: 'replayNonIdempotent \'yes\'', options: { replayNonIdempotent: 'yes' }, option: 'replayNonIdempotent', mentions: ['boolean'] },
  { name: 'replayNonIdempotent 1', options: { replayNonIdempotent: 1 }, option: 'replayNonIdempotent', mentions: ['boolean'] },
  { name: 'hosts[...].replayNonIdempotent that is not a boolean', options: { hosts: { 'a.example': { replayNonIdempotent: 'true' } } }, option: 'hosts[\'a.example\'].replayNonIdempotent', mentions: ['boolean'] },
  { name: 'uploadPriming \'on\'', options: { uploadPriming: 'on' }, option: 'uploadPriming', mentions: ['boolean or { limit }'] },
  { name: 'uploadPriming with an unknown key', options: { uploadPriming: { size: 1 } }, option: 'uploadPriming.size', mentions: ['known: limit'] },
  { name: 'uploadPriming.limit -1', options: { uploadPriming: { limit: -1 } }, option: 'uploadPriming.limit', mentions: ['integer number of bytes'] },
  { name: 'uploadPriming.limit 1.5', options: { uploadPriming: { limit: 1.5 } }, option: 'uploadPriming.limit' },
  { name: 'uploadPriming.limit over 1 GiB', options: { uploadPriming: { limit: 1024 * 1024 * 1024 + 1 } }, option: 'uploadPriming.limit' },
  { name: 'hosts[...].uploadPriming.limit as a string', options: { hosts: { 'a.example': { uploadPriming: { limit: '48k' } } } }, option: 'hosts[\'a.example\'].uploadPriming.limit', mentions: ['"48k"'] },
  { name: 'allowH2 \'yes\'', options: { allowH2: 'yes' }, option: 'allowH2', mentions: ['"yes"'] },
  { name: 'connectTimeout -1', options: { connectTimeout: -1 }, option: 'connectTimeout' },
  { name: 'connectTimeout 1.5', options: { connectTimeout: 1.5 }, option: 'connectTimeout' },
  // undici 8 checks Client options (keepAliveTimeout, ...) only when it creates a Client; the
  // constructor builds one (connecting nowhere) so that they fail at construction too.
  { name: 'an undici option undici refuses (maxOrigins 0)', options: { maxOrigins: 0 }, option: 'maxOrigins', mentions: ['refused by undici', 'maxOrigins'] },
  { name: 'an undici Client option undici refuses (keepAliveTimeout -1)', options: { keepAliveTimeout: -1 }, option: 'keepAliveTimeout', mentions: ['refused by undici'] },
  { name: 'ciphers OpenSSL does not know', options: { connect: { ciphers: 'NOPE' } }, option: 'connect', mentions: ['ERR_SSL_NO_CIPHER_MATCH'] },
  { name: 'connect.secureProtocol (the stacks set versions)', options: { connect: { secureProtocol: 'TLS_method' } }, option: 'connect.secureProtocol', mentions: ['minVersion'] },
  { name: 'a malformed IPv4 host pattern', options: { hosts: { '10.0.0.300': {} } }, option: "hosts['10.0.0.300']", mentions: ['invalid IPv4'] },
  // Node takes these silently (a ca that is no certificate trusts nothing) or fails later with an OpenSSL code.
  { name: 'connect.ca that is not a certificate', options: { connect: { ca: 'not a certificate' } }, option: 'connect.ca', mentions: ['not a PEM certificate'] },
  { name: 'connect.ca that holds a private key', options: { connect: { ca: certs.clientKey } }, option: 'connect.ca', mentions: ['no certificate, only a PRIVATE KEY block'] },
  { name: 'connect.ca with a CERTIFICATE block that does not parse', options: { connect: { ca: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' } }, option: 'connect.ca', mentions: ['does not parse'] },
  { name: 'connect.ca, one of several, not a certificate', options: { connect: { ca: [certs.ca, 'junk'] } }, option: 'connect.ca[1]' },
  { name: 'connect.ca given as a file name', options: { connect: { ca: './corp-ca.pem' } }, option: 'connect.ca', mentions: ['looks like a file name ("./corp-ca.pem")', 'readFileSync(path)'] },
  { name: 'a clientCert.cert given as a file name', options: { hosts: { a: { clientCert: { cert: '/etc/ssl/client.crt', key: certs.clientKey } } } }, option: "hosts['a'].clientCert.cert", mentions: ['readFileSync(path)'] },
  { name: 'a clientCert.key given as a file name', options: { hosts: { a: { clientCert: { cert: certs.clientCert, key: 'client.key' } } } }, option: "hosts['a'].clientCert.key", mentions: ['looks like a file name, not PEM text'] },
  { name: 'a clientCert.pfx given as a file name', options: { hosts: { a: { clientCert: { pfx: './client.p12' } } } }, option: "hosts['a'].clientCert.pfx", mentions: ['PKCS#12'] },
  { name: 'a clientCert without its key', options: { hosts: { a: { clientCert: { cert: certs.clientCert } } } }, option: "hosts['a'].clientCert.key", mentions: ['is missing'] },
  { name: "proxy 'ENV' (the environment is 'env')", options: { proxy: 'ENV' }, option: 'proxy', mentions: ['is "ENV": write \'env\' (in lower case)'] },
  { name: "a host's proxy 'Env'", options: { hosts: { a: { proxy: 'Env' } } }, option: "hosts['a'].proxy", mentions: ["cannot be 'env' for one host"] }
]

describe('TlsFallbackAgent refuses bad options, naming the option', () => {
  test('the table covers at least 35 bad inputs', () => {
    assert.ok(bad.length >= 35, `${bad.length} cases`)
  })

  for (const { name, options, option, mentions = [] } of bad) {
    test(`refuses ${name} (${option})`, () => {
      assert.throws(() => new TlsFallbackAgent(options as TlsFallbackAgentOptions), (error: unknown) => {
        assert.ok(error instanceof TlsFallbackError, `got ${inspect(error)}`)
        assert.equal(error.code, 'TLS_FALLBACK_INVALID_OPTION')
        assert.equal(error.name, 'TlsFallbackError')
        assert.equal(error.option, option)
        assert.ok(error.message.startsWith('TlsFallbackAgent: '), error.message)
        assert.ok(error.message.includes(option), `message ${JSON.stringify(error.message)} names ${option}`)
        for (const text of mentions) assert.ok(error.message.includes(text), `message ${JSON.stringify(error.message)} mentions ${text}`)
        return true
      })
    })
  }

  test('resolveOptions refuses the same inputs as the constructor', () => {
    for (const { name, options, option } of bad) {
      // undici's own checks run in the constructor, after resolveOptions.
      if (name.includes('undici')) continue
      assert.throws(() => resolveOptions(options), (error: unknown) => (error as TlsFallbackError).option === option, name)
    }
  })
})

describe('a wrong passphrase', () => {
  const wrong = 'Wr0ng-Secret-Passphrase-91x'

  test('is refused at construction, naming the clientCert, without repeating the passphrase', () => {
    assert.throws(() => new TlsFallbackAgent({
      hosts: { 'a.example': { clientCert: { cert: certs.clientCert, key: certs.clientKeyEncrypted, passphrase: wrong } } }
    }), (error: unknown) => {
      assert.ok(error instanceof TlsFallbackError)
      assert.equal(error.code, 'TLS_FALLBACK_INVALID_OPTION')
      assert.equal(error.option, 'hosts[\'a.example\'].clientCert')
      assert.ok(error.message.includes('hosts[\'a.example\'].clientCert'))
      assert.ok(error.message.includes('passphrase'), 'the message points at the passphrase as a suspect')
      assert.ok(!error.message.includes(wrong), 'the message must not contain the passphrase')
      assert.ok(!inspect(error, { depth: 10 }).includes(wrong), 'neither must the error as logged, cause included')
      assert.ok(error.cause !== undefined, 'the OpenSSL error is kept as the cause')
      return true
    })
  })

  test('the right passphrase for the same key constructs', async () => {
    const agent = new TlsFallbackAgent({
      hosts: { 'a.example': { clientCert: { cert: certs.clientCert, key: certs.clientKeyEncrypted, passphrase: certs.passphrase } } }
    })
    assert.ok(agent instanceof TlsFallbackAgent)
    await agent.close()
  })
})

describe('secrets in option errors', () => {
  const keyLine = certs.clientKeyEncrypted.toString().split('\n')[1] as string
  const cases: Array<{ name: string, make: () => unknown, option: string, secrets: string[] }> = [
    { name: 'a numeric connect.passphrase', make: () => new TlsFallbackAgent({ connect: { passphrase: 987654321 as never } }), option: 'connect.passphrase', secrets: ['987654321'] },
    {
      name: 'a numeric connect.passphrase with a key',
      make: () => new TlsFallbackAgent({ connect: { cert: certs.clientCert, key: certs.clientKeyEncrypted, passphrase: 987654321 as never } }),
      option: 'connect.passphrase',
      secrets: ['987654321', keyLine]
    },
    { name: 'a numeric connect.key', make: () => new TlsFallbackAgent({ connect: { key: 8675309123 as never } }), option: 'connect', secrets: ['8675309123'] },
    { name: 'a numeric connect.pfx', make: () => new TlsFallbackAgent({ connect: { pfx: 8675309123 as never } }), option: 'connect', secrets: ['8675309123'] },
    {
      name: 'a numeric passphrase inside connect.key',
      make: () => new TlsFallbackAgent({ connect: { cert: certs.clientCert, key: [{ pem: certs.clientKeyEncrypted, passphrase: 55501234 as never }] } }),
      option: 'connect',
      secrets: ['55501234', keyLine]
    },
    {
      name: 'a numeric passphrase inside a clientCert key',
      make: () => new TlsFallbackAgent({ hosts: { 'a.example': { clientCert: { cert: certs.clientCert, key: [{ pem: certs.clientKeyEncrypted, passphrase: 55501234 }] as never } } } }),
      option: 'hosts[\'a.example\'].clientCert',
      secrets: ['55501234', keyLine]
    },
    { name: 'a clientCert given as the key itself', make: () => new TlsFallbackAgent({ hosts: { 'a.example': { clientCert: certs.clientKeyEncrypted.toString() as never } } }), option: 'hosts[\'a.example\'].clientCert', secrets: [keyLine] },
    { name: 'a host given as the key itself', make: () => new TlsFallbackAgent({ hosts: { 'a.example': certs.clientKeyEncrypted.toString() as never } }), option: 'hosts[\'a.example\']', secrets: [keyLine] },
    { name: 'connect given as the key itself', make: () => new TlsFallbackAgent({ connect: certs.clientKeyEncrypted.toString() as never }), option: 'connect', secrets: [keyLine] },
    { name: 'a Redis URL with a password instead of options', make: () => new RedisPolicyCache('redis://:s3cret-redis-pw@127.0.0.1:6379' as never), option: 'RedisPolicyCache options', secrets: ['s3cret-redis-pw'] }
  ]
  for (const { name, make, option, secrets } of cases) {
    test(`${name}: refused naming ${option}, and neither the message nor the error as logged (cause included) holds the secret`, () => {
      assert.throws(make, (error: unknown) => {
        assert.ok(error instanceof TlsFallbackError, `got ${inspect(error)}`)
        assert.equal(error.code, 'TLS_FALLBACK_INVALID_OPTION')
        assert.equal(error.option, option)
        const printed = [error.message, inspect(error, { depth: 10 }), JSON.stringify(error), String((error.cause as Error | undefined)?.message)]
        for (const secret of secrets) {
          for (const text of printed) assert.ok(!text.includes(secret), `${JSON.stringify(secret)} in ${text}`)
        }
        return true
      })
    })
  }
})

describe('TlsFallbackAgent accepts good options', () => {
  test('no options at all', async () => {
    const agent = new TlsFallbackAgent()
    assert.ok(agent instanceof TlsFallbackAgent)
    assert.deepEqual(agent.policies(), [])
    await agent.close()
  })

  test('the README example: a legacy host with consent and a client certificate, a pinned host, a host that never falls back', async () => {
    const options: TlsFallbackAgentOptions = {
      connect: { ca: certs.ca },
      hosts: {
        'legacy.example.com': { fallback: ['tls13', 'renegotiation', 'legacy-server-connect'], clientCert },
        'pinned.example.com': { stack: 'renegotiation' },
        'never.example.com': { fallback: [] }
      }
    }
    const config = resolveOptions(options)
    assert.deepEqual(config.defaults.fallback, ['tls13', 'renegotiation'])
    const legacy = config.hosts.match('legacy.example.com', 443)
    assert.deepEqual(legacy?.fallback, ['tls13', 'renegotiation', 'legacy-server-connect'])
    assert.equal(legacy?.fallbackPath, 'hosts[\'legacy.example.com\'].fallback')
    assert.ok(legacy?.clientCert)
    assert.equal(config.hosts.match('pinned.example.com', 443)?.stack, 'renegotiation')
    assert.equal(config.hosts.match('pinned.example.com', 443)?.fallbackPath, 'fallback')
    assert.deepEqual(config.hosts.match('never.example.com', 443)?.fallback, [])
    assert.equal(config.hosts.match('other.example.com', 443), undefined)

    const agent = new TlsFallbackAgent(options)
    assert.ok(agent instanceof TlsFallbackAgent)
    await agent.close()
  })

  test('a clientCert as a pfx with its passphrase', async () => {
    const agent = new TlsFallbackAgent({ hosts: { 'a.example': { clientCert: { pfx: certs.clientPfx, passphrase: certs.passphrase } } } })
    assert.ok(agent instanceof TlsFallbackAgent)
    await agent.close()
  })

  test('a clientCert given as PEM strings', async () => {
    const agent = new TlsFallbackAgent({ hosts: { 'a.example': { clientCert: { cert: certs.clientCert.toString(), key: certs.clientKey.toString() } } } })
    assert.ok(agent instanceof TlsFallbackAgent)
    await agent.close()
  })

  test('legacy-server-connect pinned on a host that consents to it', async () => {
    const config = resolveOptions({ hosts: { 'old.example': { fallback: ['legacy-server-connect'], stack: 'legacy-server-connect' } } })
    assert.equal(config.hosts.match('old.example', 443)?.stack, 'legacy-server-connect')
    const agent = new TlsFallbackAgent({ hosts: { 'old.example': { fallback: ['legacy-server-connect'], stack: 'legacy-server-connect' } } })
    await agent.close()
  })

  test('replayNonIdempotent: false by default; a host inherits the agent\'s value unless it sets its own', () => {
    assert.equal(resolveOptions({}).defaults.replayNonIdempotent, false)
    const config = resolveOptions({ replayNonIdempotent: true, hosts: { 'a.example': {}, 'b.example': { replayNonIdempotent: false } } })
    assert.equal(config.defaults.replayNonIdempotent, true)
    assert.equal(config.hosts.match('a.example', 443)?.replayNonIdempotent, true)
    assert.equal(config.hosts.match('b.example', 443)?.replayNonIdempotent, false)
    assert.equal(resolveOptions({ hosts: { 'c.example': { replayNonIdempotent: true } } }).hosts.match('c.example', 443)?.replayNonIdempotent, true)
  })

  test('uploadPriming: a 49,152-byte limit by default; true is the default, false turns it off; a host inherits the agent\'s unless it sets its own', () => {
    assert.equal(resolveOptions({}).defaults.uploadPriming, 49_152)
    assert.equal(resolveOptions({ uploadPriming: true }).defaults.uploadPriming, 49_152)
    assert.equal(resolveOptions({ uploadPriming: {} }).defaults.uploadPriming, 49_152)
    const config = resolveOptions({ uploadPriming: { limit: 0 }, hosts: { 'a.example': {}, 'b.example': { uploadPriming: false }, 'c.example': { uploadPriming: { limit: 131_072 } } } })
    assert.equal(config.defaults.uploadPriming, 0)
    assert.equal(config.hosts.match('a.example', 443)?.uploadPriming, 0)
    assert.equal(config.hosts.match('b.example', 443)?.uploadPriming, false)
    assert.equal(config.hosts.match('c.example', 443)?.uploadPriming, 131_072)
    assert.equal(resolveOptions({ uploadPriming: false, hosts: { 'd.example': {} } }).hosts.match('d.example', 443)?.uploadPriming, false)
  })

  test('strict pinned on a host with fallback []', () => {
    const config = resolveOptions({ hosts: { 'a.example': { stack: 'strict', fallback: [] } } })
    assert.equal(config.hosts.match('a.example', 443)?.stack, 'strict')
  })

  test('wildcards, ports and IPv6 patterns side by side', async () => {
    const config = resolveOptions({
      hosts: {
        '*.example.com': { http1Only: true },
        '*.example.com:8443': {},
        'a.example.com': {},
        '[::1]:8443': { fallback: ['renegotiation'] },
        '127.0.0.1': { fallback: [] }
      }
    })
    assert.equal(config.hosts.size, 5)
    assert.equal(config.hosts.match('x.example.com', 443)?.http1Only, true)
    assert.equal(config.hosts.match('x.example.com', 8443)?.path, 'hosts[\'*.example.com:8443\']')
    assert.deepEqual(config.hosts.match('[::1]', 8443)?.fallback, ['renegotiation'])
    const agent = new TlsFallbackAgent({ hosts: { '*.example.com': {}, '[::1]:8443': {} } })
    await agent.close()
  })

  test('the numeric options at their bounds', async () => {
    const config = resolveOptions({ maxReplayBodySize: 0, resetRetries: 10, coldStartTimeout: 0, connectTimeout: 0 })
    assert.equal(config.maxReplayBodySize, 0)
    assert.equal(config.resetRetries, 10)
    assert.equal(config.coldStartTimeout, 0)
    const agent = new TlsFallbackAgent({ maxReplayBodySize: 1024 * 1024 * 1024, resetRetries: 0, coldStartTimeout: 600_000 })
    await agent.close()
  })

  test('the defaults of the numeric options', () => {
    const config = resolveOptions({})
    assert.equal(config.maxReplayBodySize, 1024 * 1024)
    assert.equal(config.resetRetries, 1)
    assert.equal(config.coldStartTimeout, 10_000)
    assert.equal(config.allowH2, true)
  })

  test('a custom cache, a logger and every hook', async () => {
    const agent = new TlsFallbackAgent({
      cache: new MemoryPolicyCache({ ttl: 60_000 }),
      logger: { ...logger, child: () => logger } as never,
      hooks: { onAttempt: noop, onDiagnosis: noop, onFallback: noop }
    })
    assert.deepEqual(agent.policies(), [])
    await agent.close()
  })

  test('TLS versions, secureOptions without legacy connect, and undici options pass through', async () => {
    const options: TlsFallbackAgentOptions = {
      connect: { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', secureOptions: constants.SSL_OP_NO_COMPRESSION, ca: certs.ca },
      fallback: ['renegotiation'],
      allowH2: false,
      connections: 4,
      keepAliveTimeout: 1_000,
      headersTimeout: 5_000
    }
    const config = resolveOptions(options)
    assert.equal(config.allowH2, false)
    assert.deepEqual(config.defaults.fallback, ['renegotiation'])
    assert.deepEqual(config.undici, { allowH2: false, connections: 4, keepAliveTimeout: 1_000, headersTimeout: 5_000 })
    const agent = new TlsFallbackAgent(options)
    await agent.close()
  })
})
