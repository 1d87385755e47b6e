import assert from 'node:assert/strict'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { Writable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import pino from 'pino'
import { startIisLike, type TestServer } from './servers/iis.ts'
import { startApache, type ApacheServer } from './servers/apache.ts'
import { certs, makeAgent, memoryLogger, record, send, warnings } from './helpers.ts'

describe('telemetry', () => {
  let iis: TestServer
  before(async () => { iis = await startIisLike() })
  after(async () => { await iis.close() })

  test('one pino-style child logger; the transition is logged at warn, object first, then a message', async (t) => {
    const { logger, lines } = memoryLogger()
    const agent = makeAgent({ logger })
    const origin = `https://localhost:${iis.port}`
    t.after(async () => { await agent.close() })
    await send(agent, `${origin}/secure`)
    assert.ok(lines.length > 0)
    assert.ok(lines.every((l) => l.bindings.lib === 'undici-tls-fallback'), 'every line comes from the child')
    const transition = lines.find((l) => l.level === 'warn')
    assert.ok(transition)
    assert.equal(transition.obj.origin, origin)
    assert.equal(transition.obj.from, 'strict')
    assert.equal(transition.obj.to, 'renegotiation')
    assert.match(transition.msg ?? '', /moved from the strict stack to the renegotiation stack/)
    assert.ok(lines.some((l) => l.level === 'info' && l.obj.fingerprint === 'renegotiation-refused'), 'the diagnosis is logged')
  })

  test('with a real pino logger, the failed attempt\'s line logs its error under err (pino\'s convention), not error', async (t) => {
    const out: Array<Record<string, any>> = []
    const destination = new Writable({ write (chunk: Buffer, _encoding, callback) { out.push(JSON.parse(chunk.toString())); callback() } })
    const agent = makeAgent({ logger: pino({ level: 'debug' }, destination) })
    t.after(async () => { await agent.close() })
    await send(agent, `https://localhost:${iis.port}/secure`)
    const diagnosis = out.find((l) => l.fingerprint === 'renegotiation-refused')
    assert.ok(diagnosis, 'the diagnosis line')
    assert.equal(diagnosis.level, 30)
    assert.equal(diagnosis.err.code, 'ECONNRESET')
    assert.equal(typeof diagnosis.err.message, 'string')
    for (const line of out) assert.ok(!('error' in line), `no line logs under error: ${JSON.stringify(line)}`)
  })

  test('without a logger a downgrade is still never silent: it becomes a process warning', async (t) => {
    const agent = makeAgent()
    t.after(async () => { await agent.close() })
    const { warnings: list } = await warnings(() => send(agent, `https://localhost:${iis.port}/secure`))
    const warning = list.find((w) => w.code === 'TLS_FALLBACK_TRANSITION')
    assert.ok(warning, 'a TLS_FALLBACK_TRANSITION warning')
    assert.equal(warning.name, 'TlsFallbackWarning')
    assert.match(warning.message, /to the renegotiation stack/)
  })

  test('hooks get the channel payloads; a hook that throws or rejects never breaks the request', async () => {
    const seen: Record<string, unknown[]> = { onAttempt: [], onDiagnosis: [], onFallback: [] }
    const channelFallbacks: unknown[] = []
    const onChannel = (m: unknown): void => { channelFallbacks.push(m) }
    subscribe('undici-tls-fallback:fallback', onChannel)
    const { logger, lines } = memoryLogger()
    const agent = makeAgent({
      logger,
      hooks: {
        onAttempt: (e) => { seen.onAttempt?.push(e); throw new Error('hook boom') },
        onDiagnosis: async (e) => { seen.onDiagnosis?.push(e); throw new Error('async hook boom') },
        onFallback: (e) => { seen.onFallback?.push(e) }
      }
    })
    const origin = `https://localhost:${iis.port}`
    try {
      const reply = await send(agent, `${origin}/secure`)
      assert.equal(reply.status, 200)
      assert.equal(seen.onAttempt?.length, 2)
      assert.equal(seen.onDiagnosis?.length, 1)
      assert.deepEqual(seen.onFallback, channelFallbacks.filter((e) => (e as { origin: string }).origin === origin))
      await new Promise((resolve) => setImmediate(resolve))
      assert.ok(lines.some((l) => l.level === 'warn' && l.obj.hook === 'onAttempt' && l.obj.err.message === 'hook boom'))
      assert.ok(lines.some((l) => l.level === 'warn' && l.obj.hook === 'onDiagnosis'))
    } finally {
      unsubscribe('undici-tls-fallback:fallback', onChannel)
      await agent.close()
    }
  })
})

describe('secrets never reach logs, events or warnings', () => {
  let apache: ApacheServer
  before(async () => { apache = await startApache() })
  after(async () => { await apache.close() })

  test('client key, passphrase, authorization and cookie values appear nowhere', async (t) => {
    const { logger, lines } = memoryLogger()
    const events = record()
    const hookPayloads: unknown[] = []
    const agent = makeAgent({
      logger,
      hooks: { onAttempt: (e) => { hookPayloads.push(e) }, onDiagnosis: (e) => { hookPayloads.push(e) }, onFallback: (e) => { hookPayloads.push(e) } },
      hosts: { localhost: { clientCert: { cert: certs.clientCert, key: certs.clientKeyEncrypted, passphrase: certs.passphrase } } }
    })
    const authorization = 'Bearer super-secret-token-4b1d'
    const cookie = 'session=cookie-secret-77aa'
    t.after(async () => { events.stop(); await agent.close() })
    const { warnings: list } = await warnings(async () => {
      const reply = await send(agent, `https://localhost:${apache.port}/secure?token=query-secret-9c`, { headers: { authorization, cookie } })
      assert.equal(reply.status, 200)
      assert.equal(reply.headers['x-client-verify'], 'SUCCESS')
    })
    const everything = JSON.stringify({ lines, events: [events.attempts, events.diagnoses, events.fallbacks], hookPayloads, warnings: list.map((w) => w.message) })
    assert.ok(everything.length > 500, 'there was telemetry to scan')
    const keyBody = certs.clientKeyEncrypted.toString().split('\n')[1] as string
    const plainKeyBody = certs.clientKey.toString().split('\n')[1] as string
    for (const secret of [keyBody, plainKeyBody, certs.passphrase, 'super-secret-token-4b1d', 'cookie-secret-77aa', 'query-secret-9c']) {
      assert.ok(!everything.includes(secret), `found ${secret.slice(0, 12)}...`)
    }
  })
})
