import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { MemoryPolicyCache } from '../src/index.ts'
import { startIisLike } from './servers/iis.ts'
import { startModern } from './servers/modern.ts'
import { Agent } from 'undici'
import { certs, clientCert, makeAgent, memoryLogger, record, send } from './helpers.ts'

describe('the ladder', () => {
  test('client capped at TLS 1.2, server asks for the certificate in a TLS 1.3 handshake: the forced TLS 1.3 attempt works and is learned', async (t) => {
    const server = await startIisLike({ tls13CertUpFront: true })
    const origin = `https://localhost:${server.port}`
    const events = record(origin)
    const agent = makeAgent({ connect: { maxVersion: 'TLSv1.2' }, hosts: { localhost: { clientCert } }, logger: memoryLogger().logger })
    t.after(async () => { events.stop(); await agent.close(); await server.close() })
    const reply = await send(agent, `${origin}/secure`)
    assert.equal(reply.status, 200)
    assert.equal(reply.json().protocol, 'TLSv1.3')
    assert.equal(reply.json().clientCertificate, 'test client')
    assert.equal(agent.policy(origin)?.stack, 'tls13')
    assert.deepEqual(events.attempts.map((a) => a.stack), ['strict', 'tls13'])
    assert.deepEqual(events.fallbacks.map((f) => [f.from, f.to]), [['strict', 'tls13']])
  })

  test('the failed connection offered TLS 1.3 and the server chose 1.2: tls13 is skipped', async (t) => {
    const server = await startIisLike()
    const origin = `https://localhost:${server.port}`
    const events = record(origin)
    const agent = makeAgent({ logger: memoryLogger().logger })
    t.after(async () => { events.stop(); await agent.close(); await server.close() })
    assert.equal((await send(agent, `${origin}/secure`)).status, 200)
    assert.deepEqual(events.attempts.map((a) => a.stack), ['strict', 'renegotiation'])
  })

  test('capped at 1.2 against a TLS 1.2-only server: tls13 fails fast and the ladder goes on to renegotiation', async (t) => {
    const server = await startIisLike()
    const origin = `https://localhost:${server.port}`
    const events = record(origin)
    const agent = makeAgent({ connect: { maxVersion: 'TLSv1.2' }, logger: memoryLogger().logger })
    t.after(async () => { events.stop(); await agent.close(); await server.close() })
    assert.equal((await send(agent, `${origin}/secure`)).status, 200)
    assert.deepEqual(events.attempts.map((a) => a.stack), ['strict', 'tls13', 'renegotiation'])
    assert.equal(agent.policy(origin)?.stack, 'renegotiation')
  })

  test('a host whose fallback lists only tls13 gets TLS_FALLBACK_NOT_ALLOWED after tls13 fails', async (t) => {
    const server = await startIisLike()
    const origin = `https://localhost:${server.port}`
    const agent = makeAgent({ connect: { maxVersion: 'TLSv1.2' }, hosts: { '*.test': { fallback: [] }, localhost: { fallback: ['tls13'] } } })
    t.after(async () => { await agent.close(); await server.close() })
    const error = await send(agent, `${origin}/secure`).then(() => undefined, (e: Error & { code?: string, attempts?: unknown[] }) => e)
    assert.equal(error?.code, 'TLS_FALLBACK_NOT_ALLOWED')
    assert.match(error?.message ?? '', /fallback: \['tls13', 'renegotiation'\]/)
    assert.equal(error?.attempts?.length, 2)
  })

  test('when a learned policy expires the strict stack is tried again, so a fixed server returns to strict', async (t) => {
    const iis = await startIisLike()
    const origin = `https://localhost:${iis.port}`
    const events = record(origin)
    const agent = makeAgent({ cache: new MemoryPolicyCache({ ttl: 1 }), logger: memoryLogger().logger })
    t.after(async () => { events.stop(); await agent.close(); await iis.close() })
    assert.equal((await send(agent, `${origin}/secure`)).status, 200)
    assert.equal(events.fallbacks.length, 1)
    await new Promise((resolve) => setTimeout(resolve, 10))
    assert.equal(agent.policy(origin), undefined, 'expired')
    const reply = await send(agent, `${origin}/`)
    assert.equal(reply.status, 200)
    assert.equal(events.attempts.at(-1)?.stack, 'strict')
  })
})

describe('a modern server', () => {
  test('nothing changes: every request on the strict stack, no diagnosis, as many connections as a plain undici Agent', async (t) => {
    const server = await startModern()
    const origin = `https://localhost:${server.port}`
    const run = async (dispatcher: import('undici').Dispatcher): Promise<number> => {
      const before = server.connections
      for (let i = 0; i < 20; i++) {
        const reply = await send(dispatcher, `${origin}/item/${i}`, i % 2 === 0 ? {} : { method: 'POST', body: `body ${i}` })
        assert.equal(reply.status, 200)
      }
      return server.connections - before
    }
    const plain = new Agent({ connect: { ca: certs.ca } })
    const plainConnections = await run(plain)
    await plain.close()
    const events = record(origin)
    const agent = makeAgent()
    t.after(async () => { events.stop(); await agent.close(); await server.close() })
    const connections = await run(agent)
    assert.equal(connections, plainConnections)
    assert.equal(events.attempts.length, 20)
    assert.ok(events.attempts.every((a) => a.stack === 'strict' && a.reason === 'initial'))
    assert.equal(events.diagnoses.length, 0)
    assert.equal(events.fallbacks.length, 0)
    assert.equal(agent.policies().length, 0)
    assert.ok(server.requests.every((r) => r.protocol === 'TLSv1.3'))
  })
})

describe('the renegotiation stack offers at most TLS 1.2 (renegotiation does not exist in TLS 1.3)', () => {
  test('stackTlsOptions caps it at TLS 1.2 unless the user\'s minVersion is TLSv1.3; other stacks keep the user\'s maxVersion', async () => {
    const { stackTlsOptions } = await import('../src/stacks.ts')
    assert.equal(stackTlsOptions('renegotiation', {}, undefined).maxVersion, 'TLSv1.2')
    assert.equal(stackTlsOptions('renegotiation', { maxVersion: 'TLSv1.3' }, undefined).maxVersion, 'TLSv1.2')
    assert.equal(stackTlsOptions('renegotiation', { minVersion: 'TLSv1.3' }, undefined).maxVersion, undefined)
    assert.equal(stackTlsOptions('strict', {}, undefined).maxVersion, undefined)
    assert.equal(stackTlsOptions('legacy-server-connect', {}, undefined).maxVersion, undefined)
  })

  test('a host pinned to the renegotiation stack speaks TLS 1.2 to a server that offers 1.3', async (t) => {
    const server = await startModern()
    const agent = makeAgent({ hosts: { localhost: { stack: 'renegotiation' } } })
    t.after(async () => { await agent.close(); await server.close() })
    const reply = await send(agent, `https://localhost:${server.port}/`)
    assert.equal(reply.status, 200)
    assert.equal(server.requests[0]?.protocol, 'TLSv1.2')
  })
})
