import assert from 'node:assert/strict'
import { once } from 'node:events'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { after, before, test } from 'node:test'
import { request } from 'undici'
import { NtlmClient } from '../src/auth/ntlm.ts'
import { TlsFallbackAgent, TlsFallbackError } from '../src/index.ts'
import { certs } from './servers/certs.ts'

// A hostile origin for a host with `auth`: it answers the handshake's legs with oversized,
// malformed or endless challenges, a huge head, or a closed connection. Each ends in a coded error
// or the server's own 401, after a bounded number of requests: no crash, no loop, no other stack.

type Behaviour = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void
let behaviour: Behaviour = (_req, res) => { res.end('ok') }
const seen: Array<{ method: string, authorization: string | undefined }> = []
let server: https.Server
let port: number

before(async () => {
  server = https.createServer({ key: certs.serverKey, cert: certs.serverCert }, (req, res) => {
    seen.push({ method: req.method ?? '', authorization: req.headers.authorization })
    behaviour(req, res)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  port = (server.address() as AddressInfo).port
})
after(() => { server.closeAllConnections(); server.close() })

/** A real type 2 message, from our own parser's point of view: built from the spec's layout. */
function challenge (): Buffer {
  const target = Buffer.from('CORP', 'utf16le')
  const info = Buffer.from([2, 0, 8, 0, ...Buffer.from('CORP', 'utf16le'), 0, 0, 0, 0])
  const message = Buffer.alloc(48 + target.length + info.length)
  message.write('NTLMSSP\0', 0, 'latin1')
  message.writeUInt32LE(2, 8)
  message.writeUInt16LE(target.length, 12); message.writeUInt16LE(target.length, 14); message.writeUInt32LE(48, 16)
  message.writeUInt32LE(0xa2898205, 20)
  Buffer.alloc(8, 7).copy(message, 24)
  message.writeUInt16LE(info.length, 40); message.writeUInt16LE(info.length, 42); message.writeUInt32LE(48 + target.length, 44)
  target.copy(message, 48)
  info.copy(message, 48 + target.length)
  new NtlmClient({ username: 'u', password: 'p' }).authenticate(message) // it parses
  return message
}

async function run (): Promise<{ status?: number, error?: TlsFallbackError, requests: number }> {
  seen.length = 0
  const agent = new TlsFallbackAgent({
    connect: { ca: certs.ca },
    hosts: { [`localhost:${port}`]: { auth: { scheme: 'ntlm', username: 'u', password: 'hostile-test-pw-1' } } }
  })
  try {
    const response = await request(`https://localhost:${port}/x`, { dispatcher: agent })
    await response.body.dump()
    return { status: response.statusCode, requests: seen.length }
  } catch (error) {
    return { error: error as TlsFallbackError, requests: seen.length }
  } finally {
    await agent.destroy()
  }
}

const unauthorized = (value: string): Behaviour => (_req, res) => { res.writeHead(401, { 'www-authenticate': value }).end() }

test('an oversized NTLM challenge is TLS_FALLBACK_AUTH_INVALID_CHALLENGE after one leg, with no other stack tried', async () => {
  behaviour = unauthorized(`NTLM ${Buffer.alloc(12_000, 1).toString('base64')}`)
  const result = await run()
  assert.equal(result.error?.code, 'TLS_FALLBACK_AUTH_INVALID_CHALLENGE')
  assert.equal(result.requests, 1)
  assert.equal(result.error?.attempts.length ?? 0, 0)
})

test('a malformed challenge (bad Base64, or not NTLMSSP) is TLS_FALLBACK_AUTH_INVALID_CHALLENGE, nothing sent in answer', async () => {
  for (const value of ['NTLM QUJDRA', `NTLM ${Buffer.from('NTLMSSP\0garbage-not-a-challenge').toString('base64')}`]) {
    behaviour = unauthorized(value)
    const result = await run()
    assert.equal(result.error?.code, 'TLS_FALLBACK_AUTH_INVALID_CHALLENGE', value)
    assert.equal(result.requests, 1, value)
  }
})

test('a server that answers every leg with a fresh challenge gets two legs, then its 401 reaches the caller (no loop)', async () => {
  const type2 = challenge().toString('base64')
  behaviour = unauthorized(`NTLM ${type2}`)
  const result = await run()
  assert.equal(result.status, 401)
  assert.deepEqual(seen.map((s) => s.method), ['HEAD', 'HEAD', 'GET'])
  assert.equal(seen[2]!.authorization, undefined, 'the request itself carries no leg')
})

test('a response head over 16 KiB during the handshake is a coded error', async () => {
  behaviour = (_req, res) => { res.writeHead(401, { 'www-authenticate': 'NTLM', 'x-junk': 'a'.repeat(20_000) }).end() }
  const result = await run()
  assert.equal(result.error?.code, 'TLS_FALLBACK_AUTH_INVALID_CHALLENGE')
})

test('a server that closes the connection in the middle of the handshake is TLS_FALLBACK_AUTH_FAILED', async () => {
  behaviour = (req) => { req.socket.destroy() }
  const result = await run()
  assert.equal(result.error?.code, 'TLS_FALLBACK_AUTH_FAILED')
  assert.ok(!result.error?.message.includes('hostile-test-pw-1'))
  assert.equal(result.requests, 1)
})
