import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import https from 'node:https'
import tls, { type TLSSocket } from 'node:tls'
import type { AddressInfo } from 'node:net'
import { TlsFallbackAgent } from '../src/index.ts'
import { decodeLegacyPkcs12, loadForge, wasLegacyPkcs12 } from '../src/certs/pkcs12.ts'
import { checkClientCert } from '../src/options.ts'
import { certs, send } from './helpers.ts'
import { makePki, type Pki } from './servers/pki.ts'

const passphrase = 'pfx-test-passphrase-41c9'
let pki: Pki
let legacy: Buffer
let modern: Buffer
let server: https.Server
let origin: string

before(async () => {
  pki = makePki()
  pki.root('clients')
  pki.client('alice', 'clients')
  legacy = pki.pkcs12('alice', 'alice-legacy.pfx', passphrase, true)
  modern = pki.pkcs12('alice', 'alice-modern.pfx', passphrase, false)
  // A server that requires a client certificate from the `clients` root in the first handshake.
  server = https.createServer({
    cert: certs.serverCert, key: certs.serverKey, ca: pki.read('clients.crt'), requestCert: true, rejectUnauthorized: true
  }, (req, res) => {
    const peer = (req.socket as TLSSocket).getPeerCertificate()
    res.end(`hello ${String(peer.subject?.CN)}`)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
})

after(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  pki.remove()
})

function agentWith (pfx: Buffer, pass = passphrase): TlsFallbackAgent {
  return new TlsFallbackAgent({ connect: { ca: certs.ca }, hosts: { '127.0.0.1': { clientCert: { pfx, passphrase: pass } } } })
}

test('fact: Node refuses the legacy PKCS#12 (RC2-40, 3DES) and loads the modern one of the same identity', () => {
  assert.throws(() => tls.createSecureContext({ pfx: legacy, passphrase }), { code: 'ERR_CRYPTO_UNSUPPORTED_OPERATION', message: /Unsupported PKCS12 PFX data/ })
  assert.doesNotThrow(() => tls.createSecureContext({ pfx: modern, passphrase }))
})

test('a legacy PKCS#12 client identity authenticates to a server that requires it, with nothing process-wide', async () => {
  const agent = agentWith(legacy)
  try {
    const reply = await send(agent, `${origin}/`)
    assert.equal(reply.status, 200)
    assert.equal(reply.text, 'hello alice')
    // Still refused process-wide: no legacy provider was turned on.
    assert.throws(() => tls.createSecureContext({ pfx: legacy, passphrase }), { code: 'ERR_CRYPTO_UNSUPPORTED_OPERATION' })
  } finally {
    await agent.close()
  }
})

test('the modern PKCS#12 of the same identity works as before, without node-forge', async () => {
  const agent = agentWith(modern)
  try {
    const reply = await send(agent, `${origin}/`)
    assert.equal(reply.text, 'hello alice')
  } finally {
    await agent.close()
  }
  const checked = checkClientCert('clientCert', { pfx: modern, passphrase }, {})
  assert.equal(checked.pfx, modern, 'a modern PKCS#12 is handed to Node as it is')
  assert.equal(wasLegacyPkcs12(checked), false)
})

test('a legacy PKCS#12 is decoded at construction into a PEM key and chain, marked as legacy', () => {
  const checked = checkClientCert('clientCert', { pfx: legacy, passphrase }, {})
  assert.equal(checked.pfx, undefined)
  assert.match(String(checked.key), /^-----BEGIN PRIVATE KEY-----/)
  assert.match(String(checked.cert), /^-----BEGIN CERTIFICATE-----/)
  assert.equal(wasLegacyPkcs12(checked), true)
})

test('a wrong passphrase for a legacy PKCS#12: a coded error at construction naming the option, without the passphrase', () => {
  const wrong = 'not-the-Passphrase-9d2e'
  let error: (Error & { code?: string, option?: string }) | undefined
  try {
    agentWith(legacy, wrong)
  } catch (e) {
    error = e as Error & { code?: string, option?: string }
  }
  assert.ok(error !== undefined)
  assert.equal(error.code, 'TLS_FALLBACK_INVALID_OPTION')
  assert.match(error.option ?? '', /^hosts\['127\.0\.0\.1'\]\.clientCert/)
  const everything = `${error.message} ${String((error.cause as Error | undefined)?.message)} ${JSON.stringify(error)}`
  assert.equal(everything.includes(wrong), false)
  assert.equal(everything.includes(passphrase), false)
})

test('without node-forge a legacy PKCS#12 fails with a coded error that says to npm install node-forge', () => {
  assert.throws(() => loadForge('node-forge-that-is-not-installed'), (error: Error & { reason?: string }) => {
    assert.equal(error.reason, 'forge-missing')
    assert.match(error.message, /npm install node-forge/)
    return true
  })
  assert.throws(() => decodeLegacyPkcs12(legacy, passphrase, loadForge('node-forge-that-is-not-installed')), /npm install node-forge/)
})

test('bytes that are not PKCS#12 are refused as malformed, not as a passphrase problem', () => {
  assert.throws(() => decodeLegacyPkcs12(Buffer.from('not a pfx at all'), passphrase), (error: Error & { reason?: string }) => error.reason === 'malformed')
})

test('probe CLI: a legacy PKCS#12 identity works and the probe says it was legacy, with the command to re-export it', async () => {
  const MAIN = new URL('../src/cli/main.ts', import.meta.url).pathname
  const run = async (extra: string[]): Promise<{ code: number, stdout: string }> => await new Promise((resolve) => {
    execFile(process.execPath, [MAIN, 'probe', `${origin}/`, '--ca', certs.path('ca.crt'), '--pfx', pki.file('alice-legacy.pfx'), '--passphrase-env', 'PFX_PASS', ...extra],
      { env: { ...process.env, PFX_PASS: passphrase }, timeout: 60_000 }, (error, stdout) => {
        resolve({ code: error === null ? 0 : Number((error as { code?: number }).code), stdout })
      })
  })
  const json = await run(['--json'])
  const result = JSON.parse(json.stdout)
  assert.equal(result.legacyPkcs12, true)
  assert.equal(result.verdict.stack, 'strict')
  const text = await run([])
  assert.match(text.stdout, /legacy PKCS#12/)
  assert.match(text.stdout, /openssl pkcs12 -in old\.pfx -nodes -legacy \| openssl pkcs12 -export -out new\.pfx/)
  assert.equal(text.stdout.includes(passphrase), false)
})

test('decoding a legacy PKCS#12 with a wrong passphrase: bad-passphrase, and the message holds no passphrase', () => {
  const wrong = 'wrong-Passphrase-77b1'
  assert.throws(() => decodeLegacyPkcs12(legacy, wrong), (error: Error & { reason?: string }) => {
    assert.equal(error.reason, 'bad-passphrase')
    assert.equal(error.message.includes(wrong), false)
    assert.equal(error.message.includes(passphrase), false)
    return true
  })
})
