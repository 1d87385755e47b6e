// Type tests of the public API (tstyche): what the README documents is accepted, what it forbids is
// rejected. Run with `npm run typetest`; they import the package's source, as a consumer would import it.
import { describe, expect, test } from 'tstyche'
import { Dispatcher } from 'undici'
import {
  CHANNELS, ErrorCodes, FilePolicyCache, MemoryPolicyCache, RedisPolicyCache, TlsFallbackAgent, TlsFallbackError,
  type AttemptEvent, type AuthOptions, type DiagnosisEvent, type EnvProxyOptions, type ErrorCode, type FallbackEvent, type FingerprintId, type Hooks,
  type Logger, type PolicyCache, type PolicyEntry, type PrimingEvent, type RequestEndEvent, type StackName, type TlsFallbackAgentOptions,
  type UploadPrimingOptions
} from '../src/index.ts'
import { TlsFallbackInstrumentation } from '../src/opentelemetry/index.ts'
import type { Instrumentation } from '@opentelemetry/instrumentation'

describe('new TlsFallbackAgent(options?)', () => {
  test('is an undici Dispatcher and takes no options or the documented ones', () => {
    expect(new TlsFallbackAgent()).type.toBeAssignableTo<Dispatcher>()
    expect(TlsFallbackAgent).type.toBeConstructableWith()
    expect(TlsFallbackAgent).type.toBeConstructableWith({
      connect: { ca: 'pem', servername: 'a.example', minVersion: 'TLSv1.2', timeout: 10_000 },
      fallback: ['tls13', 'renegotiation'],
      hosts: {
        'legacy.example': { fallback: ['renegotiation', 'legacy-server-connect'] },
        '*.corp.example:8443': { clientCert: { cert: 'pem', key: 'pem', passphrase: 's' }, http1Only: true },
        'pinned.example': { stack: 'renegotiation' },
        'pfx.example': { clientCert: { pfx: Buffer.alloc(1) } },
        'direct.example': { proxy: false, replayNonIdempotent: true },
        'socks.example': { proxy: { uri: 'socks5://127.0.0.1:1080' } }
      },
      cache: new MemoryPolicyCache({ max: 10, ttl: 60_000 }),
      maxReplayBodySize: 1024,
      resetRetries: 1,
      coldStartTimeout: 0,
      replayNonIdempotent: false,
      proxy: 'http://user:pass@proxy.corp.example:3128',
      connections: 4,
      pipelining: 1,
      allowH2: false
    })
  })

  test('the top-level fallback cannot consent to legacy-server-connect (only hosts[...].fallback can)', () => {
    expect(TlsFallbackAgent).type.not.toBeConstructableWith({ fallback: ['legacy-server-connect'] })
    expect(TlsFallbackAgent).type.not.toBeConstructableWith({ fallback: ['strict'] })
  })

  test('unknown stacks, options and host keys are rejected', () => {
    expect(TlsFallbackAgent).type.not.toBeConstructableWith({ hosts: { a: { stack: 'tls12' } } })
    expect(TlsFallbackAgent).type.not.toBeConstructableWith({ hosts: { a: { fallbak: [] } } })
    expect(TlsFallbackAgent).type.not.toBeConstructableWith({ connect: () => undefined })
    expect(TlsFallbackAgent).type.not.toBeConstructableWith({ resetRetries: '1' })
  })

  test('a clientCert needs cert and key together, or pfx, not both', () => {
    expect(TlsFallbackAgent).type.not.toBeConstructableWith({ hosts: { a: { clientCert: { cert: 'pem' } } } })
    expect(TlsFallbackAgent).type.not.toBeConstructableWith({ hosts: { a: { clientCert: { key: 'pem' } } } })
    expect(TlsFallbackAgent).type.not.toBeConstructableWith({ hosts: { a: { clientCert: { cert: 'pem', key: 'pem', pfx: 'p' } } } })
    expect(TlsFallbackAgent).type.toBeConstructableWith({ hosts: { a: { clientCert: { pfx: Buffer.alloc(1), passphrase: 's' } } } })
  })

  test('hosts[...].auth takes a scheme and optional credentials; AuthOptions is exported', () => {
    const auth: AuthOptions = { scheme: 'ntlm', username: 'u', password: 'p', domain: 'CORP' }
    expect(TlsFallbackAgent).type.toBeConstructableWith({ hosts: { a: { auth }, b: { auth: { scheme: 'negotiate', spn: 'HTTP@b' } } } })
    expect(TlsFallbackAgent).type.not.toBeConstructableWith({ hosts: { a: { auth: { scheme: 'basic' } } } })
    expect(TlsFallbackAgent).type.not.toBeConstructableWith({ hosts: { a: { auth: { scheme: 'ntlm', realm: 'x' } } } })
    expect(TlsFallbackAgent).type.not.toBeConstructableWith({ hosts: { a: { auth: { username: 'u' } } } })
  })

  test('policy(), policies() and forget() speak PolicyEntry', () => {
    const agent = new TlsFallbackAgent()
    expect(agent.policy('https://a.example')).type.toBe<PolicyEntry | undefined>()
    expect(agent.policy(new URL('https://a.example/x'))).type.toBe<PolicyEntry | undefined>()
    expect(agent.policies()).type.toBe<PolicyEntry[]>()
    expect(agent.forget('https://a.example')).type.toBe<void>()
    expect(agent.close()).type.toBe<Promise<void>>()
    expect(agent.destroy()).type.toBe<Promise<void>>()
  })
})

describe('proxy', () => {
  test('takes a URL, ProxyAgent\'s object form or \'env\'; hosts may go direct', () => {
    expect(TlsFallbackAgent).type.toBeConstructableWith({ proxy: 'env' })
    expect(TlsFallbackAgent).type.toBeConstructableWith({ proxy: new URL('http://proxy:3128') })
    expect(TlsFallbackAgent).type.toBeConstructableWith({ proxy: { uri: 'https://proxy:8443', token: 'Basic abc', headers: { 'x-a': 'b' }, proxyTls: { ca: 'pem' } } })
    expect(TlsFallbackAgent).type.toBeConstructableWith({ hosts: { a: { proxy: false } } })
  })

  test('uploadPriming: a boolean or { limit }, on the agent or a host', () => {
    expect(TlsFallbackAgent).type.toBeConstructableWith({ uploadPriming: false, hosts: { a: { uploadPriming: { limit: 131_072 } }, b: { uploadPriming: true } } })
    expect(TlsFallbackAgent).type.not.toBeConstructableWith({ uploadPriming: { limit: '48k' } })
    expect(TlsFallbackAgent).type.not.toBeConstructableWith({ hosts: { a: { uploadPriming: 49_152 } } })
    expect<UploadPrimingOptions>().type.toBe<boolean | { limit?: number }>()
    expect<PrimingEvent['outcome']>().type.toBe<'renegotiated' | 'not-renegotiated' | 'not-applicable' | 'failed'>()
  })

  test('proxy.auth: ntlm or negotiate on a proxy object, agent-wide or per host', () => {
    expect(TlsFallbackAgent).type.toBeConstructableWith({ proxy: { uri: 'http://proxy:3128', auth: { scheme: 'ntlm', username: 'CORP\\u', password: 'p' } } })
    expect(TlsFallbackAgent).type.toBeConstructableWith({ hosts: { a: { proxy: { uri: 'http://proxy:3128', auth: { scheme: 'negotiate', spn: 'HTTP@proxy' } } } } })
    expect(TlsFallbackAgent).type.not.toBeConstructableWith({ proxy: { uri: 'http://proxy:3128', auth: { scheme: 'basic' } } })
  })

  test('proxy { env: true, auth }: the environment\'s proxies with auth, agent-wide only', () => {
    expect(TlsFallbackAgent).type.toBeConstructableWith({ proxy: { env: true, auth: { scheme: 'ntlm', username: 'CORP\\u', password: 'p' } } })
    expect(TlsFallbackAgent).type.toBeConstructableWith({ proxy: { env: true } })
    expect(TlsFallbackAgent).type.not.toBeConstructableWith({ proxy: { env: false } })
    expect(TlsFallbackAgent).type.not.toBeConstructableWith({ proxy: { env: true, auth: { scheme: 'basic' } } })
    expect(TlsFallbackAgent).type.not.toBeConstructableWith({ hosts: { a: { proxy: { env: true } } } })
    expect<EnvProxyOptions>().type.toBe<{ env: true, auth?: AuthOptions }>()
  })

  test('proxy: true means nothing, on the agent or a host; replayNonIdempotent is a boolean', () => {
    expect(TlsFallbackAgent).type.not.toBeConstructableWith({ proxy: true })
    expect(TlsFallbackAgent).type.not.toBeConstructableWith({ hosts: { a: { proxy: true } } })
    expect(TlsFallbackAgent).type.not.toBeConstructableWith({ replayNonIdempotent: 'yes' })
  })
})

describe('errors', () => {
  test('TlsFallbackError carries a stable code from ErrorCodes', () => {
    const error = new TlsFallbackError(ErrorCodes.NOT_ALLOWED, 'x')
    expect(error.code).type.toBe<ErrorCode>()
    expect(error).type.toBeAssignableTo<Error>()
    expect(ErrorCodes.INVALID_OPTION).type.toBe<'TLS_FALLBACK_INVALID_OPTION'>()
    expect<'TLS_FALLBACK_NOT_ALLOWED'>().type.toBeAssignableTo<ErrorCode>()
    expect<'SOMETHING_ELSE'>().type.not.toBeAssignableTo<ErrorCode>()
    expect(ErrorCodes.NOT_REPLAYED).type.toBe<'TLS_FALLBACK_NOT_REPLAYED'>()
    expect(ErrorCodes.PROXY_ERROR).type.toBe<'TLS_FALLBACK_PROXY_ERROR'>()
  })
})

describe('events and hooks', () => {
  test('channel names are literal strings', () => {
    expect(CHANNELS.fallback).type.toBe<'undici-tls-fallback:fallback'>()
  })

  test('event payloads name stacks and fingerprints by their literal types', () => {
    expect<FallbackEvent['to']>().type.toBe<StackName>()
    expect<DiagnosisEvent['fingerprint']>().type.toBe<FingerprintId>()
    expect<'post-handshake-auth-required'>().type.toBeAssignableTo<FingerprintId>()
    expect<RequestEndEvent>().type.toHaveProperty('request')
    expect<AttemptEvent['reason']>().type.toBeAssignableTo<string>()
    expect<Hooks>().type.toBeAssignableFrom({ onFallback: (event: FallbackEvent): StackName => event.to })
  })

  test('a pino-shaped object is a Logger; an object without warn is not', () => {
    const log = (_obj: object, _msg?: string): void => {}
    expect<Logger>().type.toBeAssignableFrom({ debug: log, info: log, warn: log, error: log })
    expect<Logger>().type.not.toBeAssignableFrom({ debug: log, info: log, error: log })
  })
})

describe('PolicyCache', () => {
  test('the three stores implement it', () => {
    expect(new MemoryPolicyCache()).type.toBeAssignableTo<PolicyCache>()
    expect(FilePolicyCache).type.toBeConstructableWith({ path: '/tmp/p.json' })
    expect(RedisPolicyCache).type.toBeConstructableWith({ url: 'redis://127.0.0.1:6379', keyPrefix: 'p:' })
  })

  test('a custom store needs ttl, get, set, delete and entries; load, subscribe and close are optional', () => {
    const store = {
      ttl: 1000,
      get: (_origin: string): PolicyEntry | undefined => undefined,
      set: (_origin: string, _entry: PolicyEntry): void => {},
      delete: (_origin: string): void => {},
      entries: (): PolicyEntry[] => []
    }
    expect<PolicyCache>().type.toBeAssignableFrom(store)
    const { entries: _e, ...withoutEntries } = store
    expect<PolicyCache>().type.not.toBeAssignableFrom(withoutEntries)
    expect<TlsFallbackAgentOptions['cache']>().type.toBe<PolicyCache | undefined>()
  })
})

describe('undici-tls-fallback/opentelemetry', () => {
  test('TlsFallbackInstrumentation is an OpenTelemetry Instrumentation and takes agents or stores', () => {
    expect(new TlsFallbackInstrumentation()).type.toBeAssignableTo<Instrumentation>()
    expect(TlsFallbackInstrumentation).type.toBeConstructableWith({ agents: [new TlsFallbackAgent(), new MemoryPolicyCache()], maxServers: 10, enabled: false })
    expect(TlsFallbackInstrumentation).type.not.toBeConstructableWith({ maxServers: '10' })
  })
})
