import { after, before, beforeEach, test } from 'node:test'
import assert from 'node:assert/strict'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { X509Certificate } from 'node:crypto'
import net, { type AddressInfo } from 'node:net'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { TlsFallbackAgent, type TlsFallbackAgentOptions } from '../src/index.ts'
import { IntermediateCache } from '../src/certs/intermediate-cache.ts'
import { fetchIssuers, INTERMEDIATE_CHANNEL, parseCertificates, pkcs7Certificates, refusedAddress, type IntermediateFetchEvent } from '../src/certs/aia.ts'
import { failure, memoryLogger, send } from './helpers.ts'
import { makePki, openssl, type Pki } from './servers/pki.ts'
import { startAia, type AiaServer } from './servers/aia.ts'
import { startModern, type ModernServer } from './servers/modern.ts'
import { probe } from '../src/cli/probe.ts'
import { startDante } from './servers/dante.ts'
import { render, toJson } from '../src/cli/render.ts'

let pki: Pki
let aia: AiaServer
/** Leaf under i1 (root r1, trusted); the server sends the leaf alone. */
let server: ModernServer
/** Leaf under i2 (root r2, NOT trusted); the server sends the leaf alone. */
let foreign: ModernServer
/** Leaf under i1 whose AIA points at the metadata address. */
let metadata: ModernServer
let i1Der: Buffer
let i2Der: Buffer
let events: IntermediateFetchEvent[] = []
const onEvent = (m: unknown): void => { events.push(m as IntermediateFetchEvent) }
const secretQuery = 'sig=aia-secret-5e1f'

before(async () => {
  aia = await startAia()
  pki = makePki()
  pki.root('r1')
  pki.intermediate('i1', 'r1')
  pki.leaf('l1', 'i1', `http://127.0.0.1:${aia.port}/i1.cer?${secretQuery}`)
  pki.root('r2')
  pki.intermediate('i2', 'r2')
  pki.leaf('l2', 'i2', `http://127.0.0.1:${aia.port}/i2.cer`)
  pki.leaf('l3', 'i1', 'http://169.254.169.254/latest/i1.cer')
  i1Der = new X509Certificate(pki.read('i1.crt')).raw
  i2Der = new X509Certificate(pki.read('i2.crt')).raw
  server = await startModern({ cert: pki.read('l1.crt'), key: pki.read('l1.key') })
  foreign = await startModern({ cert: pki.read('l2.crt'), key: pki.read('l2.key') })
  metadata = await startModern({ cert: pki.read('l3.crt'), key: pki.read('l3.key') })
  subscribe(INTERMEDIATE_CHANNEL, onEvent)
})

after(async () => {
  unsubscribe(INTERMEDIATE_CHANNEL, onEvent)
  await Promise.all([server.close(), foreign.close(), metadata.close(), aia.close()])
  pki.remove()
})

beforeEach(() => {
  events = []
  aia.requests.length = 0
  aia.mode = { body: i1Der }
})

function agent (options: TlsFallbackAgentOptions = {}): TlsFallbackAgent {
  return new TlsFallbackAgent({ connect: { ca: pki.read('r1.crt') }, ...options })
}

const on = { allowLoopback: true }

async function use<T> (a: TlsFallbackAgent, fn: (a: TlsFallbackAgent) => Promise<T>): Promise<T> {
  try {
    return await fn(a)
  } finally {
    await a.close()
  }
}

test('fact: the leaf alone fails with UNABLE_TO_VERIFY_LEAF_SIGNATURE; with the intermediate the chain verifies', async () => {
  const error = await use(agent(), async (a) => await failure(async () => await send(a, `https://127.0.0.1:${server.port}/`)))
  assert.equal(error.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')
  const reply = await use(new TlsFallbackAgent({ connect: { ca: [pki.read('r1.crt'), pki.read('i1.crt')] } }), async (a) => await send(a, `https://127.0.0.1:${server.port}/`))
  assert.equal(reply.status, 200)
})

test('default off: the original error and code, its message naming the AIA URL, the option and the server fix; nothing fetched', async () => {
  const error = await use(agent(), async (a) => await failure(async () => await send(a, `https://127.0.0.1:${server.port}/`)))
  assert.equal(error.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')
  assert.match(error.message, /^unable to verify the first certificate/)
  assert.ok(error.message.includes(`http://127.0.0.1:${aia.port}/i1.cer`), error.message)
  assert.match(error.message, /did not send the intermediate/)
  assert.match(error.message, /fetchIntermediates: true/)
  assert.match(error.message, /send its intermediate certificates/)
  assert.equal(error.message.includes(secretQuery), false, 'no query string in the message')
  assert.equal(aia.requests.length, 0)
})

test('fetchIntermediates: the missing intermediate is fetched once, the handshake retried and verified; later connections do not fetch', async () => {
  await use(agent({ fetchIntermediates: on }), async (a) => {
    const reply = await send(a, `https://127.0.0.1:${server.port}/`)
    assert.equal(reply.status, 200)
    assert.equal(aia.requests.length, 1)
    assert.equal(aia.requests[0]?.headers.cookie, undefined)
    assert.equal(aia.requests[0]?.headers.authorization, undefined)
    await server.dropConnections()
    const again = await send(a, `https://127.0.0.1:${server.port}/`)
    assert.equal(again.status, 200)
    assert.equal(aia.requests.length, 1, 'the fetched intermediate is remembered')
  })
  assert.deepEqual(events.map((e) => [e.host, e.port, e.outcome, e.bytes, e.certificates]), [['127.0.0.1', aia.port, 'fetched', i1Der.length, 1]])
  assert.equal(JSON.stringify(events).includes('sig='), false)
})

test('a request that never left is sent on as usual: a POST whose handshake needed the fetch reaches the server once, with its body', async () => {
  const before = server.requests.length
  const body = 'x'.repeat(10_000)
  const reply = await use(agent({ fetchIntermediates: on }), async (a) => await send(a, `https://127.0.0.1:${server.port}/form`, { method: 'POST', body }))
  assert.equal(reply.status, 200)
  assert.equal(reply.json().bodyLength, body.length)
  assert.deepEqual(server.requests.slice(before).map((r) => `${r.method} ${r.path}`), ['POST /form'])
  assert.equal(aia.requests.length, 1)
})

test('per host: hosts[...].fetchIntermediates turns it on for that host, false turns the agent\'s off', async () => {
  const reply = await use(agent({ hosts: { '127.0.0.1': { fetchIntermediates: on } } }), async (a) => await send(a, `https://127.0.0.1:${server.port}/`))
  assert.equal(reply.status, 200)
  aia.requests.length = 0
  const error = await use(agent({ fetchIntermediates: on, hosts: { '127.0.0.1': { fetchIntermediates: false } } }),
    async (a) => await failure(async () => await send(a, `https://127.0.0.1:${server.port}/`)))
  assert.equal(error.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')
  assert.equal(aia.requests.length, 0)
})

test('a lying AIA server: an intermediate that chains to a root the user does not trust still fails verification', async () => {
  aia.mode = { body: i2Der }
  const error = await use(agent({ fetchIntermediates: on }), async (a) => await failure(async () => await send(a, `https://127.0.0.1:${foreign.port}/`)))
  // The fetched i2 did issue the leaf, so the handshake was retried with it: OpenSSL then found no trusted root.
  assert.equal(aia.requests.length, 1)
  assert.equal(events[0]?.outcome, 'fetched')
  assert.equal(error.code, 'UNABLE_TO_GET_ISSUER_CERT')
})

test('a lying AIA server: a certificate that did not issue the leaf is not used (not-issuer), the original error stands', async () => {
  aia.mode = { body: i2Der }
  const error = await use(agent({ fetchIntermediates: on }), async (a) => await failure(async () => await send(a, `https://127.0.0.1:${server.port}/`)))
  assert.equal(error.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')
  assert.match(error.message, /could not use it \(not-issuer\)/)
  assert.equal(events[0]?.outcome, 'not-issuer')
})

test('a stalling AIA server: the fetch gives up after its timeout and the original error reaches the caller', async () => {
  aia.mode = 'stall'
  const error = await use(agent({ fetchIntermediates: { ...on, timeout: 300 } }), async (a) => await failure(async () => await send(a, `https://127.0.0.1:${server.port}/`)))
  assert.equal(error.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')
  assert.equal(events[0]?.outcome, 'timeout')
})

test('an AIA server that never stops sending: the fetch stops past maxBytes', async () => {
  aia.mode = 'endless'
  const error = await use(agent({ fetchIntermediates: { ...on, maxBytes: 4096 } }), async (a) => await failure(async () => await send(a, `https://127.0.0.1:${server.port}/`)))
  assert.equal(error.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')
  assert.equal(events[0]?.outcome, 'too-large')
  assert.ok((events[0]?.bytes ?? 0) <= 4096 + 16 * 1024, `stopped after ${String(events[0]?.bytes)} bytes`)
})

test('loopback is refused unless allowLoopback: no request reaches the AIA server', async () => {
  const error = await use(agent({ fetchIntermediates: true }), async (a) => await failure(async () => await send(a, `https://127.0.0.1:${server.port}/`)))
  assert.equal(error.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')
  assert.equal(events[0]?.outcome, 'refused-address')
  assert.equal(aia.requests.length, 0)
})

test('a metadata address in the AIA is refused even with allowLoopback', async () => {
  const error = await use(agent({ fetchIntermediates: on }), async (a) => await failure(async () => await send(a, `https://127.0.0.1:${metadata.port}/`)))
  assert.equal(error.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')
  assert.deepEqual(events.map((e) => [e.host, e.outcome]), [['169.254.169.254', 'refused-address']])
})

test('the intermediate served as PEM or as a PKCS#7 bundle works too', async () => {
  const p7 = openssl(['crl2pkcs7', '-nocrl', '-certfile', pki.file('i1.crt'), '-certfile', pki.file('r1.crt'), '-outform', 'DER'])
  for (const body of [pki.read('i1.crt'), p7]) {
    aia.mode = { body }
    aia.requests.length = 0
    const reply = await use(agent({ fetchIntermediates: on }), async (a) => await send(a, `https://127.0.0.1:${server.port}/`))
    assert.equal(reply.status, 200)
    assert.equal(aia.requests.length, 1)
  }
  assert.deepEqual(pkcs7Certificates(p7).map((c) => c.subject), ['CN=i1 Issuing CA', 'CN=r1 Root'])
  const p7pem = openssl(['crl2pkcs7', '-nocrl', '-certfile', pki.file('i1.crt')])
  assert.deepEqual(parseCertificates(p7pem).map((c) => c.subject), ['CN=i1 Issuing CA'])
  assert.deepEqual(parseCertificates(Buffer.from('not a certificate')), [])
  assert.deepEqual(pkcs7Certificates(p7.subarray(0, p7.length - 10)), [], 'a truncated bundle yields nothing')
})

test('an on-path AIA body of 64 KiB of PEM markers: not-certificate, parsed without holding the event loop', async () => {
  const huge = Buffer.from('-----BEGIN A-----'.repeat(1024 * 1024 / 17))
  const started = performance.now()
  assert.deepEqual(parseCertificates(huge), [])
  const elapsed = performance.now() - started
  // On main: about 47 s (quadratic); maxBytes accepts up to 16 MiB.
  assert.ok(elapsed < 200, `1 MiB of markers parsed in ${elapsed.toFixed(0)} ms`)
  for (const unit of ['-----BEGIN A-----', '-----BEGIN CERTIFICATE-----', '-----BEGIN PKCS7-----\n%%%\n-----END PKCS7-----']) {
    events = []
    aia.mode = { body: Buffer.from(unit.repeat(Math.floor(65_536 / unit.length))), type: 'application/pkix-cert' }
    const delay = monitorEventLoopDelay({ resolution: 10 })
    delay.enable()
    const error = await use(agent({ fetchIntermediates: on }), async (a) => await failure(async () => await send(a, `https://127.0.0.1:${server.port}/`)))
    delay.disable()
    assert.equal(error.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', unit)
    assert.equal(events[0]?.outcome, 'not-certificate', unit)
    // On main the parse alone held the loop about 380 ms for the first.
    assert.ok(delay.max / 1e6 < 80, `${unit}: the event loop was held ${(delay.max / 1e6).toFixed(0)} ms`)
  }
})

test('pino debug line per fetch: host and outcome, never the path\'s query', async () => {
  const { logger, lines } = memoryLogger()
  await use(agent({ fetchIntermediates: on, logger }), async (a) => await send(a, `https://127.0.0.1:${server.port}/`))
  const line = lines.find((l) => l.obj?.event === 'intermediate-fetch')
  assert.equal(line?.level, 'debug')
  assert.equal(line?.obj.outcome, 'fetched')
  assert.equal(JSON.stringify(lines).includes(secretQuery), false)
})

test('addresses: link-local, metadata, unspecified refused; loopback only when allowed; private ranges allowed', () => {
  const strict = { allowLoopback: false, allowLinkLocal: false }
  for (const a of ['169.254.169.254', '::ffff:169.254.169.254', 'fe80::1', 'fd00:ec2::254', '100.100.100.200', 'metadata.google.internal', '0.0.0.0', '::', '127.0.0.1', '::1', '[::1]']) {
    assert.notEqual(refusedAddress(a, strict), undefined, a)
  }
  for (const a of ['10.0.0.1', '192.168.1.10', 'pki.corp.example', '2001:db8::1']) assert.equal(refusedAddress(a, strict), undefined, a)
  assert.equal(refusedAddress('127.0.0.1', { allowLoopback: true, allowLinkLocal: false }), undefined)
  assert.equal(refusedAddress('169.254.169.254', { allowLoopback: false, allowLinkLocal: true }), undefined)
})

test('fetchIntermediates is validated at construction, naming the option', () => {
  assert.throws(() => agent({ fetchIntermediates: 'yes' as never }), { code: 'TLS_FALLBACK_INVALID_OPTION', option: 'fetchIntermediates' })
  assert.throws(() => agent({ fetchIntermediates: { maxBytes: -1 } }), { option: 'fetchIntermediates.maxBytes' })
  assert.throws(() => agent({ fetchIntermediates: { allowLoopback: 1 as never } }), { option: 'fetchIntermediates.allowLoopback' })
  assert.throws(() => agent({ hosts: { 'a.example': { fetchIntermediates: { https: true } as never } } }), { option: 'hosts[\'a.example\'].fetchIntermediates.https' })
})

test('probe: names the missing intermediate and its AIA URL, and that fetching it fixes the chain', async () => {
  const result = await probe({ url: new URL(`https://127.0.0.1:${server.port}/`), ca: pki.read('r1.crt'), method: 'GET', timeout: 5000, allowLegacy: false, signal: new AbortController().signal, aiaAllowLoopback: true })
  assert.deepEqual(result.missingIntermediate, { issuer: 'CN=i1 Issuing CA', url: `http://127.0.0.1:${aia.port}/i1.cer`, outcome: 'fetched', fetchFixes: true })
  const text = render(result, { color: false, hasClientCert: false })
  assert.ok(text.includes(`its certificate says it is at http://127.0.0.1:${aia.port}/i1.cer`), text)
  assert.match(text, /fetchIntermediates: true fixes this/)
  assert.match(text, /server fix \(missing intermediate\)/)
  assert.equal(text.includes(secretQuery), false)
  assert.equal(JSON.parse(toJson(result)).missingIntermediate.fetchFixes, true)
})

test('probe: an intermediate that chains to an untrusted root does not fix it, and the probe says so', async () => {
  aia.mode = { body: i2Der }
  const result = await probe({ url: new URL(`https://127.0.0.1:${foreign.port}/`), ca: pki.read('r1.crt'), method: 'GET', timeout: 5000, allowLegacy: false, signal: new AbortController().signal, aiaAllowLoopback: true })
  assert.equal(result.missingIntermediate?.fetchFixes, false)
  assert.match(render(result, { color: false, hasClientCert: false }), /Fetching it does not fix this \(the chain still does not verify\)/)
})

test('probe: a server that sends its whole chain has no missing-intermediate note', async () => {
  const result = await probe({ url: new URL(`https://127.0.0.1:${server.port}/`), ca: Buffer.concat([pki.read('r1.crt'), pki.read('i1.crt')]), method: 'GET', timeout: 5000, allowLegacy: false, signal: new AbortController().signal, aiaAllowLoopback: true })
  assert.equal(result.verdict.stack, 'strict')
  assert.equal(result.missingIntermediate, null)
  assert.equal(aia.requests.length, 0)
})

test('through a SOCKS5 proxy (real Dante): the AIA fetch takes the proxy too, never a direct connection', async () => {
  const dante = await startDante()
  try {
    const reply = await use(agent({ fetchIntermediates: on, proxy: `socks5://127.0.0.1:${dante.port}` }), async (a) => await send(a, `https://127.0.0.1:${server.port}/`))
    assert.equal(reply.status, 200)
    assert.equal(aia.requests.length, 1)
    // Dante logs each tunnel with its destination when it closes, with the bytes each way: the GET
    // went through it (a tunnel opened but left unused, the request sent directly, logs 0 bytes).
    const lines = await dante.waitForLog(new RegExp(`tcp/connect \\]: \\d+ -> .*127\\.0\\.0\\.1\\.${aia.port}\\b`))
    const sent = Number(/tcp\/connect \]: (\d+) -> /.exec(lines[0] ?? '')?.[1])
    assert.ok(sent > 0, `the client sent ${sent} bytes through the tunnel: ${String(lines[0])}`)
    assert.equal(aia.requests[0]?.headers['proxy-authorization'], undefined)
  } finally {
    await dante.close()
  }
})

test('fetchIssuers outcomes: an HTTP error, a body that is no certificate, other schemes and credentials, a closed port', async () => {
  const options = { maxBytes: 65_536, timeout: 2000, allowLoopback: true, allowLinkLocal: false, logger: undefined }
  aia.mode = { status: 404 }
  assert.equal((await fetchIssuers(`http://127.0.0.1:${aia.port}/i1.cer`, options)).outcome, 'http-status')
  aia.mode = { body: Buffer.from('<html>not here</html>'), type: 'text/html' }
  assert.equal((await fetchIssuers(`http://localhost:${aia.port}/i1.cer`, options)).outcome, 'not-certificate')
  assert.equal((await fetchIssuers(`https://127.0.0.1:${aia.port}/i1.cer`, options)).outcome, 'refused-scheme')
  assert.equal((await fetchIssuers(`http://user:pw@127.0.0.1:${aia.port}/i1.cer`, options)).outcome, 'refused-scheme')
  assert.equal((await fetchIssuers('not a url', options)).outcome, 'refused-scheme')
  const requests = aia.requests.length
  const closed = net.createServer()
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
  const port = (closed.address() as AddressInfo).port
  await new Promise((resolve) => closed.close(resolve))
  assert.equal((await fetchIssuers(`http://127.0.0.1:${port}/i1.cer`, options)).outcome, 'network-error')
  assert.equal((await fetchIssuers('http://no-such-host.invalid/i1.cer', options)).outcome, 'network-error')
  assert.equal(aia.requests.length, requests)
})

test('IntermediateCache: one fetch for concurrent handshakes of one issuer, then remembered', async () => {
  const cache = new IntermediateCache()
  const leaf = new X509Certificate(pki.read('l1.crt'))
  const url = `http://127.0.0.1:${aia.port}/i1.cer`
  const options = { maxBytes: 65_536, timeout: 2000, allowLoopback: true, allowLinkLocal: false, logger: undefined }
  const [a, b] = await Promise.all([cache.obtain(leaf, url, 'https://x', options), cache.obtain(leaf, url, 'https://x', options)])
  assert.equal(aia.requests.length, 1)
  assert.equal(a.outcome, 'fetched')
  assert.deepEqual(b.pem, a.pem)
  const c = await cache.obtain(leaf, url, 'https://y', options)
  assert.equal(c.outcome, 'cached')
  assert.equal(aia.requests.length, 1)
  assert.equal(cache.size, 1)
})
