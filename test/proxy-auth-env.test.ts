import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { TlsFallbackAgent, TlsFallbackAgentOptions } from '../src/index.ts'
import { failure, makeAgent, send } from './helpers.ts'
import { recordChannels, startRecordingOrigins, type RecordingOrigins } from './helpers/proxy-auth.ts'
import { startApacheAuth, type ApacheAuthServer } from './servers/apache-auth.ts'
import { startRelay, type Relay } from './servers/relay.ts'

// `proxy: { env: true, auth }`: the proxies from HTTPS_PROXY / HTTP_PROXY / NO_PROXY (as `'env'`
// reads them) with NTLM to them, against the real Apache forward proxy whose CONNECT needs NTLM
// (gss-ntlmssp). A TCP relay in front of the proxy counts our connections to it and keeps what we
// sent; a NO_PROXY host goes direct and never sees a credential.

const ENV_NAMES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy']

/** Builds the agent with these environment variables (read once, at construction), then restores the environment. */
function withEnv (env: Record<string, string>, options: TlsFallbackAgentOptions): TlsFallbackAgent {
  const saved = ENV_NAMES.map((name) => [name, process.env[name]] as const)
  for (const name of ENV_NAMES) Reflect.deleteProperty(process.env, name)
  Object.assign(process.env, env)
  try {
    return makeAgent(options)
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) Reflect.deleteProperty(process.env, name)
      else process.env[name] = value
    }
  }
}

describe('proxy: { env: true, auth } with the real Apache NTLM proxy', () => {
  let apache: ApacheAuthServer
  let relay: Relay
  let toProxy: Buffer[]
  let proxied: RecordingOrigins
  let bypassed: RecordingOrigins
  before(async () => {
    apache = await startApacheAuth()
    toProxy = []
    relay = await startRelay({ backendPort: apache.proxyPort, onClientData: (_pair, chunk) => { toProxy.push(chunk) } })
    proxied = await startRecordingOrigins()
    bypassed = await startRecordingOrigins()
  })
  after(async () => {
    await relay?.close()
    await apache?.close()
    await proxied?.close()
    await bypassed?.close()
  })

  const env = (): Record<string, string> => ({ HTTPS_PROXY: `http://127.0.0.1:${relay.port}`, NO_PROXY: `localhost:${bypassed.tls.port}` })
  const auth = (): { scheme: 'ntlm', username: string, password: string, domain: string } =>
    ({ scheme: 'ntlm', username: apache.ntlm.username, password: apache.ntlm.password, domain: apache.ntlm.domain })
  const connects = (target: string): number[] => apache.accessLog().split('\n').filter((l) => l.includes(`"CONNECT ${target} `)).map((l) => Number(/" (\d{3}) /.exec(l)?.[1]))
  // Apache writes a CONNECT's line when it is done with it, a moment after its answer (a tunnel's when
  // the tunnel ends): wait for the lines a test expects before reading them or counting from them.
  const waitForConnects = async (target: string, status: number, count: number): Promise<void> => {
    await apache.waitForAccessLog(new RegExp(`"CONNECT ${target} [^"]*" ${status} `), count)
  }

  test('before: proxy \'env\' cannot carry auth, and the NTLM proxy refuses the CONNECT', async (t) => {
    const agent = withEnv(env(), { proxy: 'env' })
    t.after(() => agent.close())
    const target = `localhost:${proxied.tls.port}`
    const refused = connects(target).filter((status) => status === 407).length
    const error = await failure(async () => await send(agent, `https://${target}/`))
    assert.equal(error.code, 'TLS_FALLBACK_PROXY_ERROR', error.message)
    assert.equal(error.statusCode, 407)
    await waitForConnects(target, 407, refused + 1)
  })

  test('an https: origin from HTTPS_PROXY: NTLM to the proxy on one connection, 200; the origin sees no credential', async (t) => {
    const channels = recordChannels()
    const agent = withEnv(env(), { proxy: { env: true, auth: auth() } })
    let closed = false
    t.after(async () => { channels.stop(); if (!closed) await agent.close() })
    const target = `localhost:${proxied.tls.port}`
    const connections = relay.connections
    const seen = proxied.seen.length
    const logged = connects(target).length
    const reply = await send(agent, `https://${target}/env`)
    assert.deepEqual([reply.status, reply.text], [200, 'origin'])
    assert.equal(relay.connections - connections, 1, 'every leg on one connection to the proxy')
    // Apache logs a CONNECT when its tunnel ends.
    await agent.close()
    closed = true
    await waitForConnects(target, 200, 1)
    assert.deepEqual(connects(target).slice(logged), [407, 200])
    assert.deepEqual(channels.events.map((e) => [e.scheme, e.outcome, e.legs]), [['ntlm', 'authenticated', 2]])
    const headers = proxied.seen.slice(seen)
    assert.equal(headers.length, 1)
    assert.equal(headers[0]!['proxy-authorization'], undefined)
    assert.equal(headers[0]!.authorization, undefined)
    assert.ok(!channels.text().includes(apache.ntlm.password))
  })

  test('a NO_PROXY host goes direct: no connection to the proxy, no credential anywhere, 200', async (t) => {
    const agent = withEnv(env(), { proxy: { env: true, auth: auth() } })
    t.after(() => agent.close())
    const target = `localhost:${bypassed.tls.port}`
    const connections = relay.connections
    const sent = toProxy.length
    const seen = bypassed.seen.length
    const reply = await send(agent, `https://${target}/direct`)
    assert.deepEqual([reply.status, reply.text], [200, 'origin'])
    assert.equal(relay.connections, connections, 'the proxy was never contacted')
    assert.equal(toProxy.length, sent)
    assert.deepEqual(connects(target), [])
    const headers = bypassed.seen.slice(seen)
    assert.equal(headers.length, 1)
    assert.equal(headers[0]!['proxy-authorization'], undefined)
    assert.equal(headers[0]!.authorization, undefined)
  })

  test('a wrong password: the proxy\'s refusal after one handshake, TLS_FALLBACK_PROXY_ERROR 407, no loop', async (t) => {
    const agent = withEnv(env(), { proxy: { env: true, auth: { ...auth(), password: 'wrong-password-7c1' } } })
    t.after(() => agent.close())
    const target = `localhost:${proxied.tls.port}`
    const before = connects(target).length
    const refused = connects(target).filter((status) => status === 407).length
    const error = await failure(async () => await send(agent, `https://${target}/wrong`))
    assert.equal(error.code, 'TLS_FALLBACK_PROXY_ERROR', error.message)
    assert.equal(error.statusCode, 407)
    assert.match(error.message, /rejected the ntlm credentials/)
    assert.ok(!error.message.includes('wrong-password-7c1'))
    await waitForConnects(target, 407, refused + 2)
    assert.deepEqual(connects(target).slice(before), [407, 407])
  })
})
