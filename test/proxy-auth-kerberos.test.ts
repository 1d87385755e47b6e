import assert from 'node:assert/strict'
import type http from 'node:http'
import { after, before, describe, test } from 'node:test'
import { loadKerberos } from '../src/auth/negotiate.ts'
import { certs, failure, makeAgent, memoryLogger, record, send } from './helpers.ts'
import { runCli } from './helpers/cli.ts'
import { recordChannels, startRecordingOrigins, startScripted, type RecordingOrigins } from './helpers/proxy-auth.ts'
import { startKdc, type Kdc } from './servers/kdc.ts'
import type { ModernServer } from './servers/modern.ts'
import { startRelay, type Relay } from './servers/relay.ts'
import { startSquidNegotiate, type SquidNegotiateProxy } from './servers/squid-negotiate.ts'

// Negotiate (Kerberos) to a proxy (`proxy.auth`), against a real Squid whose every request needs
// Kerberos (negotiate_kerberos_auth verifies the token against the KDC's service keytab) and a real
// MIT KDC on loopback (a ticket cache from kinit(), nothing system-wide). A TCP relay in front of
// Squid counts our connections to it. The service principal is HTTP/localhost: the proxy is named
// `localhost` in its URL (or `spn` names it). Without the kerberos addon these tests are skipped,
// except when CI is set.

const loads = await loadKerberos().then(() => true, () => false)
const skip = !loads && process.env.CI === undefined ? 'the kerberos addon does not load: node scripts/build-kerberos.mjs' : false

describe('Negotiate (Kerberos) to a real Squid (proxy.auth)', { skip }, () => {
  let kdc: Kdc
  let squid: SquidNegotiateProxy
  let relay: Relay
  /** Chunks we sent to Squid. */
  let written = 0
  let origins: RecordingOrigins
  let origin: ModernServer
  let seen: http.IncomingHttpHeaders[]
  let plainPort: number
  const saved = { KRB5CCNAME: process.env.KRB5CCNAME, KRB5_CONFIG: process.env.KRB5_CONFIG }
  before(async () => {
    kdc = await startKdc()
    squid = await startSquidNegotiate(kdc)
    relay = await startRelay({ backendPort: squid.port, onClientData: () => { written++ } })
    origins = await startRecordingOrigins()
    ;({ tls: origin, seen, plainPort } = origins)
    Object.assign(process.env, await kdc.kinit())
  })
  after(async () => {
    Object.assign(process.env, saved)
    for (const [k, v] of Object.entries(saved)) if (v === undefined) Reflect.deleteProperty(process.env, k)
    await origins?.close()
    await relay?.close()
    await squid?.close()
    await kdc?.close()
  })

  // The relay listens on 127.0.0.1: `spn` names Squid's principal (the URL's host is not its name).
  const proxy = () => ({ uri: `http://127.0.0.1:${relay.port}`, auth: { scheme: 'negotiate' as const, spn: 'HTTP@localhost' } })
  const tunnelsTo = (port: number): RegExp => new RegExp(`TCP_TUNNEL/200 .* CONNECT localhost:${port} alice@UTF\\.TEST `)

  test('an https: origin through Squid with the ticket cache: one Negotiate leg, the tunnel, Squid logs the Kerberos user', async () => {
    const channels = recordChannels()
    const agent = makeAgent({ proxy: proxy() })
    const before = relay.connections
    try {
      const reply = await send(agent, `https://localhost:${origin.port}/k`)
      assert.equal(reply.status, 200)
      assert.equal(reply.text, 'origin')
      assert.equal(relay.connections - before, 1)
      assert.deepEqual(channels.events.map((e) => [e.scheme, e.mechanism, e.outcome, e.legs, e.challenges, e.statusCode]),
        [['negotiate', 'kerberos', 'authenticated', 1, 0, 200]], 'the token went with the first CONNECT: no 407')
      assert.equal(seen.at(-1)?.['proxy-authorization'], undefined)
      assert.equal(seen.at(-1)?.authorization, undefined)
      await agent.close()
      assert.equal((await squid.waitForLog(tunnelsTo(origin.port))).length, 1)
      assert.deepEqual(squid.accessLog().filter((l) => l.includes('TCP_DENIED/407')), [])
    } finally {
      channels.stop()
      if (!agent.closed) await agent.close()
    }
  })

  test('20 tunnels in a row: each a fresh Kerberos token (20 authenticated, no replay refused)', async () => {
    const channels = recordChannels()
    const agent = makeAgent({ proxy: proxy() })
    const before = relay.connections
    const logged = squid.accessLog().filter((l) => tunnelsTo(origin.port).test(l)).length
    try {
      for (let i = 0; i < 20; i++) {
        // `reset`: the connection closes after the response, so that every request needs a new tunnel.
        const reply = await send(agent, `https://localhost:${origin.port}/n${i}`, { reset: true })
        assert.equal(reply.status, 200)
      }
      assert.equal(relay.connections - before, 20)
      assert.equal(channels.events.length, 20)
      assert.ok(channels.events.every((e) => e.outcome === 'authenticated' && e.legs === 1 && e.challenges === 0))
      await agent.close()
      assert.equal((await squid.waitForLog(tunnelsTo(origin.port), logged + 20)).length, logged + 20)
      assert.deepEqual(squid.accessLog().filter((l) => l.includes('TCP_DENIED/407')), [])
      assert.doesNotMatch(squid.cacheLog(), /replay/i)
    } finally {
      channels.stop()
      if (!agent.closed) await agent.close()
    }
  })

  test('a plain http:// origin through Squid: an authenticated CONNECT tunnel', async () => {
    const channels = recordChannels()
    const agent = makeAgent({ proxy: proxy() })
    try {
      const reply = await send(agent, `http://localhost:${plainPort}/p`)
      assert.equal(reply.status, 200)
      assert.equal(reply.text, 'plain origin')
      assert.equal(seen.at(-1)?.['proxy-authorization'], undefined)
      assert.deepEqual(channels.events.map((e) => [e.outcome, e.target]), [['authenticated', `localhost:${plainPort}`]])
    } finally {
      channels.stop()
      await agent.close()
    }
  })

  test('probe --proxy-auth negotiate: Kerberos from the ticket cache (KRB5CCNAME), the verdict through Squid', async () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(https?|no)_proxy$/i.test(name)))
    const logged = squid.accessLog().filter((l) => tunnelsTo(origin.port).test(l)).length
    const run = await runCli(['probe', `https://localhost:${origin.port}/probe`, '--ca', certs.path('ca.crt'), '--json', '--proxy', `http://localhost:${squid.port}`, '--proxy-auth', 'negotiate'], {}, env)
    assert.equal(run.code, 0, run.stderr)
    assert.equal(JSON.parse(run.stdout).verdict.stack, 'strict')
    assert.ok((await squid.waitForLog(tunnelsTo(origin.port), logged + 1)).length > logged, 'Squid logged the Kerberos user\'s tunnels')
    assert.doesNotMatch(run.stdout + run.stderr, /Negotiate [A-Za-z0-9+/]{8}/)
  })

  test('a 200 whose final Negotiate token does not verify (mutual authentication fails): TLS_FALLBACK_PROXY_ERROR caused by TLS_FALLBACK_AUTH_FAILED, the tunnel is not used', async () => {
    const impostor = await startScripted()
    const channels = recordChannels()
    try {
      impostor.script = ['HTTP/1.1 200 Connection established\r\nProxy-Authenticate: Negotiate oQcwBaADCgEA\r\n\r\n']
      const agent = makeAgent({ proxy: { uri: `http://127.0.0.1:${impostor.port}`, auth: { scheme: 'negotiate', spn: 'HTTP@localhost' } } })
      try {
        const error = await failure(() => send(agent, `https://localhost:${origin.port}/mutual`))
        assert.equal(error.code, 'TLS_FALLBACK_PROXY_ERROR')
        assert.equal(error.cause?.code, 'TLS_FALLBACK_AUTH_FAILED')
        assert.match(error.message, /mutual authentication failed/)
        assert.equal(impostor.connects.length, 1)
        assert.match(impostor.connects[0]!, /\r\nproxy-authorization: Negotiate \S+/)
        assert.deepEqual(channels.events.map((e) => [e.outcome, e.mechanism, e.legs]), [['failed', 'kerberos', 1]])
      } finally {
        await agent.close()
      }
    } finally {
      channels.stop()
      await impostor.close()
    }
  })

  test('no ticket: TLS_FALLBACK_PROXY_ERROR whose cause is TLS_FALLBACK_AUTH_FAILED, before any CONNECT; one attempt, nothing learned', async () => {
    const saved = process.env.KRB5CCNAME
    Object.assign(process.env, kdc.emptyCache())
    const { logger, lines } = memoryLogger()
    const url = `https://localhost:${origin.port}`
    const events = record(url)
    const channels = recordChannels()
    const agent = makeAgent({ proxy: proxy(), logger })
    const writtenBefore = written
    try {
      const error = await failure(() => send(agent, `${url}/none`))
      assert.equal(error.code, 'TLS_FALLBACK_PROXY_ERROR')
      assert.equal(error.cause?.code, 'TLS_FALLBACK_AUTH_FAILED')
      assert.match(error.message, /could not be authenticated to \(TLS_FALLBACK_AUTH_FAILED: Negotiate: no token for HTTP@localhost/)
      assert.deepEqual(events.attempts.map((a) => a.stack), ['strict'])
      assert.deepEqual(events.fallbacks, [])
      assert.equal(agent.policy(url), undefined)
      assert.deepEqual(channels.events.map((e) => [e.outcome, e.legs]), [['failed', 0]])
      assert.ok(lines.some((l) => l.obj.event === 'proxy-auth' && l.obj.outcome === 'failed'))
      assert.equal(written, writtenBefore, 'not one byte reached Squid: no CONNECT without a token')
    } finally {
      process.env.KRB5CCNAME = saved
      events.stop()
      channels.stop()
      await agent.close()
    }
  })
})
