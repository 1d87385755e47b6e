import { after, before, beforeEach, test } from 'node:test'
import assert from 'node:assert/strict'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { INTERMEDIATE_CHANNEL, refusedAddress, type IntermediateFetchEvent } from '../src/certs/aia.ts'
import { send } from './helpers.ts'
import { allowLoopback, startAiaWorld, using, type AiaWorld } from './helpers/aia.ts'
import { certs } from './servers/certs.ts'
import { startModern } from './servers/modern.ts'
import { startSquid, type SquidProxy } from './servers/squid.ts'

/**
 * AIA URLs are plain http:, so the fetch takes the proxy the user configured for http: URLs (issue
 * 33): HTTP_PROXY with proxy: 'env' and its NO_PROXY rules, a fixed proxy, a host's own proxy. An
 * HTTP proxy gets the GET in absolute form, as browsers send it: it works through a proxy that
 * refuses CONNECT to the AIA port (Debian's Squid refuses CONNECT to anything but 443).
 */

let world: AiaWorld
let squid: SquidProxy
let events: IntermediateFetchEvent[] = []
const onEvent = (m: unknown): void => { events.push(m as IntermediateFetchEvent) }
const ENV = ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'no_proxy', 'NO_PROXY']
const saved = new Map(ENV.map((name) => [name, process.env[name]]))

before(async () => {
  [world, squid] = await Promise.all([startAiaWorld(), startSquid()])
  subscribe(INTERMEDIATE_CHANNEL, onEvent)
})

after(async () => {
  unsubscribe(INTERMEDIATE_CHANNEL, onEvent)
  await Promise.all([world.close(), squid.close()])
})

beforeEach(() => {
  events = []
  world.aia.requests.length = 0
  for (const name of ENV) {
    const value = saved.get(name)
    if (value === undefined) delete process.env[name]
    else process.env[name] = value
  }
})

/** Squid's access-log lines of GETs for the AIA URL on `host` (a tunnel would log CONNECT instead). */
function forwarded (host: string): string[] {
  return squid.accessLog().filter((line) => line.includes(`GET http://${host}:${world.aia.port}/i1.cer`))
}

test('proxy: \'env\': HTTP_PROXY carries the AIA fetch (absolute-form GET), even where that proxy refuses CONNECT; NO_PROXY keeps the origin direct', async () => {
  // The deny port refuses every CONNECT, as a proxy that allows CONNECT to 443 only does to an AIA on port 80.
  process.env.HTTP_PROXY = `http://127.0.0.1:${squid.deny}`
  process.env.NO_PROXY = '127.0.0.1'
  const before = forwarded('localhost').length
  const reply = await using(world.agent({ proxy: 'env', fetchIntermediates: allowLoopback }), async (a) => await send(a, `https://127.0.0.1:${world.named.port}/`))
  assert.equal(reply.status, 200)
  assert.deepEqual(events.map((e) => [e.host, e.outcome]), [['localhost', 'fetched']])
  const lines = await squid.waitForLog(new RegExp(`GET http://localhost:${world.aia.port}/i1\\.cer`), before + 1)
  assert.equal(lines.length, before + 1, 'the AIA GET went through the HTTP_PROXY')
  assert.equal(world.aia.requests.length, 1)
})

test('proxy: \'env\': NO_PROXY names the AIA host, so the fetch goes direct and the proxy sees nothing', async () => {
  process.env.HTTP_PROXY = `http://127.0.0.1:${squid.open}`
  process.env.NO_PROXY = 'localhost,127.0.0.1'
  const before = squid.accessLog().length
  const reply = await using(world.agent({ proxy: 'env', fetchIntermediates: allowLoopback }), async (a) => await send(a, `https://127.0.0.1:${world.named.port}/`))
  assert.equal(reply.status, 200)
  assert.equal(world.aia.requests.length, 1)
  assert.equal(squid.accessLog().length, before, 'no line in the proxy\'s log')
})

test('a fixed proxy with credentials: the AIA GET goes through it; the proxy\'s credentials reach the proxy only, never the AIA server', async () => {
  // Headers given for the proxy's CONNECT are not sent with the GET: the proxy would pass them on.
  const proxy = { uri: `http://${squid.user}:${squid.password}@127.0.0.1:${squid.auth}`, headers: { 'x-proxy-secret': 'for-the-proxy-only' } }
  const before = forwarded('127.0.0.1').length
  const reply = await using(world.agent({ proxy, fetchIntermediates: allowLoopback }), async (a) => await send(a, `https://127.0.0.1:${world.server.port}/`))
  assert.equal(reply.status, 200)
  const lines = await squid.waitForLog(new RegExp(`GET http://127\\.0\\.0\\.1:${world.aia.port}/i1\\.cer`), before + 1)
  assert.ok(lines.at(-1)?.includes(squid.user), `Squid authenticated the GET: ${String(lines.at(-1))}`)
  const seen = world.aia.requests[0]?.headers
  assert.equal(seen?.['proxy-authorization'], undefined)
  assert.equal(seen?.authorization, undefined)
  assert.equal(seen?.cookie, undefined)
  assert.equal(seen?.['x-proxy-secret'], undefined)
})

test('a host\'s own proxy (hosts[...].proxy) applies to an AIA URL on that host; the origin keeps going direct', async () => {
  const before = forwarded('localhost').length
  const reply = await using(world.agent({ hosts: { localhost: { proxy: `http://127.0.0.1:${squid.open}` } }, fetchIntermediates: allowLoopback }),
    async (a) => await send(a, `https://127.0.0.1:${world.named.port}/`))
  assert.equal(reply.status, 200)
  assert.equal((await squid.waitForLog(new RegExp(`GET http://localhost:${world.aia.port}/i1\\.cer`), before + 1)).length, before + 1)
  assert.equal(squid.accessLog().some((l) => l.includes(`127.0.0.1:${world.named.port}`)), false, 'the origin did not go through the proxy')
})

test('a proxy that refuses the AIA GET (407 without credentials): the fetch fails as http-status, the original error reaches the caller', async () => {
  const error = await using(world.agent({ proxy: `http://127.0.0.1:${squid.auth}`, hosts: { '127.0.0.1': { proxy: false } }, fetchIntermediates: allowLoopback }),
    async (a) => await send(a, `https://127.0.0.1:${world.named.port}/`).then(() => undefined, (e: Error & { code?: string }) => e))
  assert.equal(error?.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')
  assert.deepEqual(events.map((e) => e.outcome), ['http-status'])
  assert.equal(world.aia.requests.length, 0)
})

test('through a proxy, a metadata address in the AIA is still refused: nothing is sent to the proxy for it', async () => {
  world.pki.leaf('l3', 'i1', 'http://169.254.169.254/latest/i1.cer')
  const metadata = await startModern({ cert: world.pki.read('l3.crt'), key: world.pki.read('l3.key') })
  try {
    const before = squid.accessLog().length
    const error = await using(world.agent({ proxy: `http://127.0.0.1:${squid.open}`, hosts: { '127.0.0.1': { proxy: false } }, fetchIntermediates: allowLoopback }),
      async (a) => await send(a, `https://127.0.0.1:${metadata.port}/`).then(() => undefined, (e: Error & { code?: string }) => e))
    assert.equal(error?.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')
    assert.deepEqual(events.map((e) => [e.host, e.outcome]), [['169.254.169.254', 'refused-address']])
    assert.equal(squid.accessLog().length, before)
  } finally {
    await metadata.close()
  }
})

test('through a proxy, localhost in the AIA is refused unless allowLoopback (RFC 6761): nothing is sent to the proxy for it', async () => {
  const before = squid.accessLog().length
  const error = await using(world.agent({ proxy: `http://127.0.0.1:${squid.open}`, hosts: { '127.0.0.1': { proxy: false } }, fetchIntermediates: true }),
    async (a) => await send(a, `https://127.0.0.1:${world.named.port}/`).then(() => undefined, (e: Error & { code?: string }) => e))
  assert.equal(error?.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')
  assert.deepEqual(events.map((e) => [e.host, e.outcome]), [['localhost', 'refused-address']])
  assert.equal(squid.accessLog().length, before, 'Squid logged nothing (on main it fetched http://localhost:<port>/i1.cer for the box)')
  assert.equal(world.aia.requests.length, 0)
  for (const name of ['localhost', 'LOCALHOST.', 'aia.localhost', 'a.b.localhost']) {
    assert.equal(refusedAddress(name, { allowLoopback: false, allowLinkLocal: false }), 'a loopback name', name)
    assert.equal(refusedAddress(name, { allowLoopback: true, allowLinkLocal: false }), undefined, name)
  }
  assert.equal(refusedAddress('localhost.example', { allowLoopback: false, allowLinkLocal: false }), undefined)
})

test('an https:// proxy (Squid\'s https_port): the AIA GET goes over TLS to the proxy, which is verified', async (t) => {
  if (squid.tls === undefined) {
    t.skip('Squid could not start its https_port')
    return
  }
  const before = forwarded('127.0.0.1').length
  const proxy = { uri: `https://localhost:${squid.tls}`, proxyTls: { ca: certs.ca } }
  const reply = await using(world.agent({ proxy, fetchIntermediates: allowLoopback }), async (a) => await send(a, `https://127.0.0.1:${world.server.port}/`))
  assert.equal(reply.status, 200)
  assert.equal((await squid.waitForLog(new RegExp(`GET http://127\\.0\\.0\\.1:${world.aia.port}/i1\\.cer`), before + 1)).length, before + 1)
  // A proxy whose certificate the client does not trust gets nothing: the fetch fails, the original error stands.
  events = []
  const error = await using(world.agent({ proxy: { uri: `https://localhost:${squid.tls}`, proxyTls: { ca: world.pki.read('r1.crt') } }, hosts: { '127.0.0.1': { proxy: false } }, fetchIntermediates: allowLoopback }),
    async (a) => await send(a, `https://127.0.0.1:${world.named.port}/`).then(() => undefined, (e: Error & { code?: string }) => e))
  assert.equal(error?.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')
  assert.deepEqual(events.map((e) => e.outcome), ['network-error'])
})
