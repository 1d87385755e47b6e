import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import net from 'node:net'
import { describe, test } from 'node:test'
import { startModern } from './servers/modern.ts'
import { startOnPath } from './servers/onpath.ts'
import { freePort } from './servers/ports.ts'
import { readFileSync } from 'node:fs'
import { certs, makeAgent } from './helpers.ts'
import { CLI_MAIN, runCli as cli } from './helpers/cli.ts'

const CA = certs.path('ca.crt')

async function probeJson (url: string, extra: string[] = []): Promise<{ code: number, result: any, stdout: string, stderr: string }> {
  const run = await cli(['probe', url, '--ca', CA, '--json', ...extra])
  return { ...run, result: JSON.parse(run.stdout) }
}

describe('undici-tls-fallback probe always ends: bad identities, refusals, silence, resets, Ctrl-C', () => {
  test('a bad client identity is refused before any connection, with the agent\'s message (exit 2): a key that does not match, an encrypted key without its passphrase', async () => {
    const server = await startModern()
    try {
      const cases: Array<[string, string]> = [['server.key', 'ERR_OSSL_X509_KEY_VALUES_MISMATCH'], ['client-encrypted.key', 'ERR_OSSL_BAD_DECRYPT']]
      for (const [key, code] of cases) {
        const started = Date.now()
        const run = await cli(['probe', `https://localhost:${server.port}/`, '--ca', CA, '--cert', certs.path('client.crt'), '--key', certs.path(key)])
        assert.equal(run.code, 2, key)
        const agentMessage = (() => {
          try {
            makeAgent({ hosts: { localhost: { clientCert: { cert: certs.clientCert, key: readFileSync(certs.path(key)) } } } })
          } catch (error) {
            return (error as Error).message
          }
          return 'no error'
        })()
        assert.match(agentMessage, new RegExp(`clientCert cannot be loaded \\(${code}\\): check the certificate, the key and the passphrase$`))
        assert.equal(run.stderr.split('\n')[0], `undici-tls-fallback: --cert/--key ${agentMessage.slice(agentMessage.indexOf('cannot be loaded'))}`)
        assert.equal(run.stdout, '', 'no verdict printed')
        assert.ok(Date.now() - started < 20_000, `ended after ${Date.now() - started} ms (before: about 2 minutes on open sockets)`)
      }
      assert.equal(server.connections, 0, 'no connection was opened')
    } finally {
      await server.close()
    }
  })

  test('an on-path reset: a bare reset is no fingerprint, and no stack works (exit 1)', async (t) => {
    const box = await startOnPath('rst')
    t.after(async () => { await box.close() })
    const { code, result } = await probeJson(`https://localhost:${box.port}/`)
    assert.equal(code, 1)
    assert.equal(result.verdict.stack, null)
    assert.equal(result.verdict.fingerprint, null)
    assert.match(result.attempts[0].evidence, /bare reset/)
  })

  test('a refused connection is retried with backoff, then reported as "cannot connect", not as a TLS verdict (exit 3)', async () => {
    const port = await freePort()
    const { code, result } = await probeJson(`https://localhost:${port}/`)
    assert.equal(code, 3)
    assert.equal(result.attempts[0].error, 'ECONNREFUSED')
    assert.equal(result.attempts[0].retries, 2)
    assert.equal(result.attempts.length, 1, 'no other stack is tried: none can do better without a connection')
    assert.deepEqual(result.unreachable, { reason: 'cannot-connect', code: 'ECONNREFUSED' })
    const human = await cli(['probe', `https://localhost:${port}/`, '--ca', CA])
    assert.equal(human.code, 3)
    assert.match(human.stdout, new RegExp(`verdict: cannot connect to localhost:${port} \\(ECONNREFUSED\\): no TLS verdict`))
    assert.doesNotMatch(human.stdout, /no stack works/)
  })

  test('--timeout bounds a server that accepts TCP and never speaks: each attempt ends at the timeout, then a "timed out" verdict (exit 3)', async () => {
    const sockets = new Set<net.Socket>()
    const silent = net.createServer((s) => { sockets.add(s); s.on('close', () => sockets.delete(s)) })
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const url = `https://localhost:${(silent.address() as net.AddressInfo).port}/`
    try {
      const { code, result } = await probeJson(url, ['--timeout', '1000'])
      assert.equal(code, 3)
      assert.deepEqual(result.unreachable, { reason: 'timed-out', code: 'UND_ERR_CONNECT_TIMEOUT' })
      assert.deepEqual(result.attempts.map((a: any) => [a.stack, a.timedOut, a.retries]), [['strict', 'handshake', 0], ['tls13', 'handshake', 0], ['renegotiation', 'handshake', 0]])
      for (const a of result.attempts) {
        assert.match(a.evidence, /the TCP connection opened, but the server sent nothing within 1000 ms/)
        assert.ok(a.timeMs >= 1000 && a.timeMs < 10_000, `attempt ended at ${a.timeMs} ms`)
      }
      const started = Date.now()
      const human = await cli(['probe', url, '--ca', CA, '--timeout', '1000'])
      assert.equal(human.code, 3)
      assert.match(human.stdout, /verdict: timed out: no answer from localhost:\d+ within 1000 ms on any attempt/)
      // Three attempts of 1 s, plus start-up on a loaded machine (before: it never ended).
      assert.ok(Date.now() - started < 30_000, `ended after ${Date.now() - started} ms`)
    } finally {
      for (const s of sockets) s.destroy()
      silent.close()
    }
  })

  test('--timeout bounds the response too: a server that completes the handshake and never answers times out per attempt (exit 3)', async (t) => {
    const server = await startModern({ handle: () => {} })
    t.after(async () => { await server.close() })
    const { code, result } = await probeJson(`https://localhost:${server.port}/`, ['--timeout', '1000'])
    assert.equal(code, 3)
    assert.equal(result.unreachable.reason, 'timed-out')
    assert.ok(result.attempts.length >= 3)
    for (const a of result.attempts) {
      assert.equal(a.timedOut, 'response')
      assert.equal(a.error, 'UND_ERR_HEADERS_TIMEOUT')
      assert.match(a.evidence, /the handshake finished, but no response came within 1000 ms/)
    }
  })

  test('Ctrl-C stops it at once (exit 130)', async () => {
    const sockets = new Set<net.Socket>()
    let connected!: () => void
    const probing = new Promise<void>((resolve) => { connected = resolve })
    const silent = net.createServer((s) => { sockets.add(s); connected() })
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    try {
      const child = spawn(process.execPath, [CLI_MAIN, 'probe', `https://localhost:${(silent.address() as net.AddressInfo).port}/`, '--ca', CA, '--timeout', '30000'])
      // The probe is connecting: its Ctrl-C handler is in place (a fixed delay raced a slow start on a loaded machine).
      await probing
      const sent = Date.now()
      child.kill('SIGINT')
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
      assert.equal(code, 130)
      assert.ok(Date.now() - sent < 3_000, 'stopped promptly')
    } finally {
      for (const s of sockets) s.destroy()
      silent.close()
    }
  })
})
