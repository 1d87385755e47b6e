import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startIisLike, type TestServer } from './servers/iis.ts'
import { startSquid, type SquidProxy } from './servers/squid.ts'
import { certs } from './helpers.ts'
import { runCli, type CliRun } from './helpers/cli.ts'

const CA = certs.path('ca.crt')

/** The proxy variables of the test's own environment never leak into the probe's. */
const BASE_ENV = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(https?|no)_proxy$/i.test(name)))

async function cli (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return await runCli(args, env, BASE_ENV)
}

const NO_ENV_PROXY = {}

describe('undici-tls-fallback probe --proxy', () => {
  let squid: SquidProxy
  let iis: TestServer
  before(async () => {
    squid = await startSquid({ tls: false })
    iis = await startIisLike({ onRefused: 'reset' })
  })
  after(async () => {
    await squid.close()
    await iis.close()
  })

  test('--proxy URL: the same verdict through the tunnel, and every attempt went through Squid', async () => {
    const url = `https://localhost:${iis.port}/secure/probe`
    const connections = iis.stats.connections
    const run = await cli(['probe', url, '--ca', CA, '--json', '--proxy', `http://127.0.0.1:${squid.open}`], NO_ENV_PROXY)
    assert.equal(run.code, 0, run.stderr)
    const result = JSON.parse(run.stdout)
    assert.equal(result.verdict.stack, 'renegotiation')
    assert.equal(result.verdict.fingerprint, 'renegotiation-refused')
    const strict = result.attempts.find((a: { stack: string }) => a.stack === 'strict')
    assert.equal(strict.fingerprint, 'renegotiation-refused')
    assert.equal(strict.tlsVersion, 'TLSv1.2')
    assert.match(strict.evidence, /HelloRequest/)
    const seen = iis.stats.connections - connections
    assert.equal((await squid.waitForLog(new RegExp(`TCP_TUNNEL/200 .* CONNECT localhost:${iis.port} `), seen)).length, seen)
  })

  test('--proxy env: HTTPS_PROXY is used, and NO_PROXY sends the host direct', async () => {
    const url = `https://localhost:${iis.port}/env`
    const before = squid.accessLog().filter((l) => l.includes(`CONNECT localhost:${iis.port} `)).length
    const proxied = await cli(['probe', url, '--ca', CA, '--json', '--proxy', 'env'], { ...NO_ENV_PROXY, HTTPS_PROXY: `http://127.0.0.1:${squid.open}` })
    assert.equal(proxied.code, 0, proxied.stderr)
    const lines = await squid.waitForLog(new RegExp(`CONNECT localhost:${iis.port} `), before + 1)
    assert.ok(lines.length > before)
    const count = lines.length
    const direct = await cli(['probe', url, '--ca', CA, '--json', '--proxy', 'env'], { ...NO_ENV_PROXY, HTTPS_PROXY: 'http://127.0.0.1:1', NO_PROXY: 'localhost' })
    assert.equal(direct.code, 0, direct.stderr)
    assert.equal(squid.accessLog().filter((l) => l.includes(`CONNECT localhost:${iis.port} `)).length, count)
  })

  test('the heading names the proxy, without its credentials; --json has it as proxy', async () => {
    const url = `https://localhost:${iis.port}/secure/probe`
    const proxy = `http://someone:probe-secret-66@127.0.0.1:${squid.open}`
    const human = await cli(['probe', url, '--ca', CA, '--proxy', proxy], NO_ENV_PROXY)
    assert.equal(human.code, 0, human.stderr)
    assert.equal(human.stdout.split('\n')[0], `probe ${url} through the proxy http://***@127.0.0.1:${squid.open}`)
    const json = await cli(['probe', url, '--ca', CA, '--json', '--proxy', proxy], NO_ENV_PROXY)
    assert.equal(JSON.parse(json.stdout).proxy, `http://***@127.0.0.1:${squid.open}`)
    const direct = await cli(['probe', url, '--ca', CA, '--json'], NO_ENV_PROXY)
    assert.equal(JSON.parse(direct.stdout).proxy, null)
    for (const output of [human.stdout, human.stderr, json.stdout, json.stderr]) assert.ok(!output.includes('probe-secret-66'))
  })

  test('a 407 without credentials says the proxy needs some; after credentials, that it rejected them', async () => {
    const without = await cli(['probe', `https://localhost:${iis.port}/`, '--ca', CA, '--proxy', `http://127.0.0.1:${squid.auth}`], NO_ENV_PROXY)
    assert.equal(without.code, 1)
    assert.match(without.stderr, /answered the CONNECT with 407 Proxy Authentication Required: it needs credentials/)
    const wrong = await cli(['probe', `https://localhost:${iis.port}/`, '--ca', CA, '--proxy', `http://${squid.user}:wrong-probe-secret@127.0.0.1:${squid.auth}`], NO_ENV_PROXY)
    assert.equal(wrong.code, 1)
    assert.match(wrong.stderr, /answered the CONNECT with 407 Proxy Authentication Required: it rejected the credentials sent/)
    assert.doesNotMatch(wrong.stderr, /needs credentials/)
    assert.ok(!wrong.stderr.includes('wrong-probe-secret'))
  })

  test('a proxy failure is no verdict: exit 1 with the proxy\'s status, and no password printed', async () => {
    const run = await cli(['probe', `https://localhost:${iis.port}/`, '--ca', CA, '--proxy', `http://someone:probe-secret-77@127.0.0.1:${squid.auth}`], NO_ENV_PROXY)
    assert.equal(run.code, 1)
    assert.match(run.stderr, /proxy http:\/\/\*\*\*@127\.0\.0\.1:\d+ answered the CONNECT with 407/)
    assert.ok(!`${run.stdout}${run.stderr}`.includes('probe-secret-77'))
    assert.equal(run.stdout, '', 'no table, no verdict')
  })

  test('a bad --proxy is a usage error that does not echo it', async () => {
    const run = await cli(['probe', `https://localhost:${iis.port}/`, '--proxy', 'ftp://u:probe-secret-88@p'], NO_ENV_PROXY)
    assert.equal(run.code, 2)
    assert.match(run.stderr, /--proxy has the scheme 'ftp:'/)
    assert.ok(!run.stderr.includes('probe-secret-88'))
  })
})
