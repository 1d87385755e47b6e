import assert from 'node:assert/strict'
import { createHash, createHmac, X509Certificate } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { inspect } from 'node:util'
import { after, before, describe, test } from 'node:test'
import fc from 'fast-check'
import { Client } from 'undici'
import { decodeToken, findChallenge, parseChallenges } from '../src/auth/challenge.ts'
import { channelBindingsStruct, endPointHash, ntlmChannelBindingsHash, tlsServerEndPoint } from '../src/auth/channel-bindings.ts'
import { md4 } from '../src/auth/md4.ts'
import { AV, AV_FLAG_MIC, NTLM_FLAGS, NtlmClient, ntlmv2Response, ntowfv2, parseNtlmChallenge } from '../src/auth/ntlm.ts'
import { TlsFallbackError } from '../src/errors.ts'
import { headerValues, peerCertificate, proxySocket } from './auth-helpers.ts'
import { fieldOf, pairsOf } from './helpers/ntlm-wire.ts'
import { startApacheAuth, type ApacheAuthServer } from './servers/apache-auth.ts'
import { certs } from './servers/certs.ts'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

describe('MD4 (RFC 1320), in plain TypeScript', () => {
  test("RFC 1320 appendix A.5's test suite", () => {
    const suite: Array<[string, string]> = [
      ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
      ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
      ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
      ['message digest', 'd9130a8164549fe818874806e1c7014b'],
      ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
      ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '043f8582f241db351ce627e153e7f0e4'],
      ['12345678901234567890123456789012345678901234567890123456789012345678901234567890', 'e33b4ddc9c38f2199c3e7b164fcc0536']
    ]
    for (const [input, digest] of suite) assert.equal(md4(Buffer.from(input, 'latin1')).toString('hex'), digest, JSON.stringify(input))
  })

  test('lengths around the 56- and 64-byte padding boundaries give distinct 16-byte digests', () => {
    const seen = new Set<string>()
    for (let n = 50; n <= 130; n++) {
      const digest = md4(Buffer.alloc(n, 0x61))
      assert.equal(digest.length, 16)
      seen.add(digest.toString('hex'))
    }
    assert.equal(seen.size, 81)
  })

  test("the NT hash of MS-NLMP 4.2.2.1.2's password ('Password')", () => {
    assert.equal(md4(Buffer.from('Password', 'utf16le')).toString('hex'), 'a4f49c406510bdcab6824ee7c30fd852')
  })

  test('OpenSSL 3 in this Node refuses md4: the reason this file exists (if it ever accepts it, the test says so)', () => {
    assert.throws(() => createHash('md4'), (error: NodeJS.ErrnoException) => error.code === 'ERR_OSSL_EVP_UNSUPPORTED' || /digest/i.test(error.message))
  })
})

// MS-NLMP section 4.2.4 (NTLMv2 authentication): User "User", domain "Domain", password "Password",
// server challenge 0123456789abcdef, client challenge aa...aa, time 0, target info NbDomainName
// "Domain" and NbComputerName "Server".
const SPEC_CHALLENGE = hex(`
  4e544c4d53535000 02000000 0c000c00 38000000 33828ae2 0123456789abcdef 0000000000000000
  24002400 44000000 0600700f 0000000f 530065007200760065007200
  02000c00 44006f006d00610069006e00 01000c00 530065007200760065007200 00000000`)
const SPEC = { username: 'User', domain: 'Domain', password: 'Password' }
const FILETIME_ZERO_MS = -11_644_473_600_000

describe('NTLMv2 against the MS-NLMP 4.2.4 test vectors', () => {
  test('NTOWFv2, LMv2, NTProofStr and SessionBaseKey', () => {
    const key = ntowfv2(SPEC.password, SPEC.username, SPEC.domain)
    assert.equal(key.toString('hex'), '0c868a403bfd7a93a3001ef22ef02e3f')
    const challenge = parseNtlmChallenge(SPEC_CHALLENGE)
    assert.equal(challenge.serverChallenge.toString('hex'), '0123456789abcdef')
    assert.equal(challenge.targetName, 'Server')
    assert.deepEqual(challenge.targetInfo.map((p) => [p.id, p.value.toString('utf16le')]), [[AV.NB_DOMAIN_NAME, 'Domain'], [AV.NB_COMPUTER_NAME, 'Server']])
    assert.equal(challenge.timestamp, undefined)
    const { ntResponse, lmResponse, sessionBaseKey } = ntlmv2Response(key, challenge.serverChallenge, Buffer.alloc(8, 0xaa), Buffer.alloc(8), challenge.targetInfo, false)
    assert.equal(lmResponse.toString('hex'), '86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa')
    assert.equal(ntResponse.subarray(0, 16).toString('hex'), '68cd0ab851e51c96aabc927bebef6a1c')
    assert.equal(sessionBaseKey.toString('hex'), '8de40ccadbc14a82f15cb0ad0de95ca3')
  })

  test("the authenticate message answering the spec's challenge carries the spec's responses, user and domain", () => {
    const client = new NtlmClient(SPEC, { random: (n) => Buffer.alloc(n, 0xaa), now: () => FILETIME_ZERO_MS })
    const message = client.authenticate(SPEC_CHALLENGE)
    assert.equal(message.subarray(0, 8).toString('latin1'), 'NTLMSSP\0')
    assert.equal(message.readUInt32LE(8), 3)
    assert.equal(fieldOf(message, 12).toString('hex'), '86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa')
    const nt = fieldOf(message, 20)
    assert.equal(nt.subarray(0, 16).toString('hex'), '68cd0ab851e51c96aabc927bebef6a1c')
    assert.equal(fieldOf(message, 28).toString('utf16le'), 'Domain')
    assert.equal(fieldOf(message, 36).toString('utf16le'), 'User')
    assert.equal(fieldOf(message, 44).length, 0, 'no workstation name is disclosed')
    assert.equal(fieldOf(message, 52).length, 0, 'no key exchange')
    assert.equal(message.subarray(72, 88).equals(Buffer.alloc(16)), true, 'no timestamp from the server: no MIC')
    assert.equal(message.includes(Buffer.from('Password', 'utf16le')), false)
  })

  test('the negotiate message is 40 bytes with the Version field (gss-ntlmssp refuses 32)', () => {
    const type1 = new NtlmClient(SPEC).negotiate()
    assert.equal(type1.length, 40)
    assert.equal(type1.subarray(0, 8).toString('latin1'), 'NTLMSSP\0')
    assert.equal(type1.readUInt32LE(8), 1)
    const flags = type1.readUInt32LE(12)
    for (const flag of [NTLM_FLAGS.UNICODE, NTLM_FLAGS.NTLM, NTLM_FLAGS.EXTENDED_SESSIONSECURITY, NTLM_FLAGS.VERSION, NTLM_FLAGS.REQUEST_TARGET]) {
      assert.ok((flags & flag) !== 0, `flag ${flag.toString(16)}`)
    }
    assert.equal(flags & NTLM_FLAGS.KEY_EXCH, 0)
    assert.equal(type1[39], 0x0f, 'NTLMSSP revision 15')
  })
})

/** The spec's challenge with an MsvAvTimestamp (and, optionally, the server's own MsvAvFlags) in its target info. */
function challengeWithTimestamp (serverFlags?: number): Buffer {
  const pairs = [
    [AV.NB_DOMAIN_NAME, Buffer.from('Domain', 'utf16le')],
    [AV.NB_COMPUTER_NAME, Buffer.from('Server', 'utf16le')],
    [AV.TIMESTAMP, hex('0090d336b734c301')],
    ...(serverFlags === undefined ? [] : [[AV.FLAGS, Buffer.from([serverFlags, 0, 0, 0])]]),
    [AV.EOL, Buffer.alloc(0)]
  ] as Array<[number, Buffer]>
  const info = Buffer.concat(pairs.flatMap(([id, value]) => [Buffer.from([id, 0, value.length, 0]), value]))
  const head = Buffer.from(SPEC_CHALLENGE.subarray(0, 68))
  head.writeUInt16LE(info.length, 40)
  head.writeUInt16LE(info.length, 42)
  return Buffer.concat([head, info])
}

describe('NTLMv2 MIC and channel bindings', () => {
  test('with a server timestamp: MsvAvFlags has the MIC bit, LM response is zero, the MIC is HMAC-MD5 over the three messages', () => {
    const client = new NtlmClient(SPEC, { random: (n) => Buffer.alloc(n, 0xaa) })
    const type1 = client.negotiate()
    const type2 = challengeWithTimestamp(0x01)
    const type3 = client.authenticate(type2)
    assert.deepEqual(fieldOf(type3, 12), Buffer.alloc(24))
    const nt = fieldOf(type3, 20)
    assert.deepEqual(nt.subarray(24, 32), hex('0090d336b734c301'), "the server's timestamp, not ours")
    const pairs = pairsOf(nt.subarray(44))
    assert.equal(pairs.get(AV.FLAGS)?.readUInt32LE(0), 0x01 | AV_FLAG_MIC, "the server's flags kept, the MIC bit added")
    assert.equal(pairs.has(AV.CHANNEL_BINDINGS), false, 'no TLS, no bindings')
    const key = ntowfv2(SPEC.password, SPEC.username, SPEC.domain)
    const sessionBaseKey = createHmac('md5', key).update(nt.subarray(0, 16)).digest()
    const zeroed = Buffer.from(type3)
    zeroed.fill(0, 72, 88)
    assert.deepEqual(type3.subarray(72, 88), createHmac('md5', sessionBaseKey).update(type1).update(type2).update(zeroed).digest())
  })

  test('MsvAvChannelBindings is MD5 of the gss_channel_bindings_struct holding tls-server-end-point', () => {
    const appData = tlsServerEndPoint(new X509Certificate(certs.serverCert).raw)
    const type3 = new NtlmClient(SPEC).authenticate(challengeWithTimestamp(), { channelBindings: appData, spn: 'HTTP/localhost' })
    const pairs = pairsOf(fieldOf(type3, 20).subarray(44))
    const struct = Buffer.concat([Buffer.alloc(16), Buffer.from([appData.length, 0, 0, 0]), appData])
    assert.deepEqual(pairs.get(AV.CHANNEL_BINDINGS), createHash('md5').update(struct).digest())
    assert.deepEqual(ntlmChannelBindingsHash(appData), createHash('md5').update(struct).digest())
    assert.equal(pairs.get(AV.TARGET_NAME)?.toString('utf16le'), 'HTTP/localhost')
    assert.deepEqual(channelBindingsStruct(appData), struct)
  })

  test("tls-server-end-point hashes the certificate with its signature's hash, SHA-256 for SHA-1 and MD5 (RFC 5929 4.1)", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'undici-tls-fallback-cb-'))
    try {
      const make = (name: string, keyArgs: string[], digest: string): Buffer => {
        execFileSync('openssl', ['req', '-x509', '-new', '-nodes', ...keyArgs, `-${digest}`, '-days', '1', '-subj', '/CN=localhost',
          '-keyout', path.join(dir, `${name}.key`), '-out', path.join(dir, `${name}.pem`)], { stdio: 'ignore' })
        return new X509Certificate(readFileSync(path.join(dir, `${name}.pem`))).raw
      }
      const cases: Array<[string, Buffer, string]> = [
        ['RSA SHA-256 (the fixture)', new X509Certificate(certs.serverCert).raw, 'sha256'],
        ['RSA SHA-1', make('rsa-sha1', ['-newkey', 'rsa:2048'], 'sha1'), 'sha256'],
        ['RSA SHA-384', make('rsa-sha384', ['-newkey', 'rsa:2048'], 'sha384'), 'sha384'],
        ['ECDSA SHA-512', make('ec-sha512', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], 'sha512'), 'sha512']
      ]
      for (const [name, der, hash] of cases) {
        assert.equal(endPointHash(der), hash, name)
        assert.deepEqual(tlsServerEndPoint(der), Buffer.concat([Buffer.from('tls-server-end-point:'), createHash(hash).update(der).digest()]), name)
      }
      assert.throws(() => endPointHash(Buffer.from([0x30, 0x85, 1, 2, 3, 4, 5])), /DER/)
      assert.throws(() => endPointHash(Buffer.from([0x30, 0x10, 0x30])), /DER/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('a hostile NTLM challenge', () => {
  const valid = challengeWithTimestamp()
  const mutate = (fn: (b: Buffer) => void): Buffer => { const b = Buffer.from(valid); fn(b); return b }
  const cases: Array<[string, Buffer]> = [
    ['empty', Buffer.alloc(0)],
    ['31 bytes', valid.subarray(0, 31)],
    ['a 32-byte challenge without target info', valid.subarray(0, 32)],
    ['another signature', mutate((b) => { b[0] = 0x4f })],
    ['a type 3 in place of a type 2', mutate((b) => b.writeUInt32LE(3, 8))],
    ['no Unicode', mutate((b) => b.writeUInt32LE((b.readUInt32LE(20) & ~NTLM_FLAGS.UNICODE) >>> 0, 20))],
    ['target name beyond the end', mutate((b) => b.writeUInt32LE(b.length - 4, 16))],
    ['target name offset 0xffffffff', mutate((b) => b.writeUInt32LE(0xffffffff, 16))],
    ['target name inside the header', mutate((b) => b.writeUInt32LE(8, 16))],
    ['target name of odd length', mutate((b) => b.writeUInt16LE(11, 12))],
    ['target info length 0xffff', mutate((b) => b.writeUInt16LE(0xffff, 40))],
    ['target info offset beyond the end', mutate((b) => b.writeUInt32LE(b.length + 1, 44))],
    ['no target info', mutate((b) => b.writeUInt16LE(0, 40))],
    ['an AV pair longer than the target info', mutate((b) => b.writeUInt16LE(0x7fff, 68 + 2))],
    ['no MsvAvEOL', valid.subarray(0, valid.length - 4)],
    ['an MsvAvEOL with a value', mutate((b) => b.writeUInt16LE(2, b.length - 2))],
    ['a truncated AV header', mutate((b) => b.writeUInt16LE(b.readUInt16LE(40) - 2, 40))],
    ['a 4-byte timestamp', (() => {
      const info = Buffer.concat([Buffer.from([7, 0, 4, 0, 1, 2, 3, 4]), Buffer.alloc(4)])
      const head = Buffer.from(valid.subarray(0, 68))
      head.writeUInt16LE(info.length, 40)
      return Buffer.concat([head, info])
    })()],
    ['two timestamps', (() => {
      const ts = Buffer.from([7, 0, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8])
      const info = Buffer.concat([ts, ts, Buffer.alloc(4)])
      const head = Buffer.from(valid.subarray(0, 68))
      head.writeUInt16LE(info.length, 40)
      return Buffer.concat([head, info])
    })()],
    ['a 3-byte MsvAvFlags', (() => {
      const info = Buffer.concat([Buffer.from([6, 0, 3, 0, 1, 2, 3]), Buffer.alloc(4)])
      const head = Buffer.from(valid.subarray(0, 68))
      head.writeUInt16LE(info.length, 40)
      return Buffer.concat([head, info])
    })()],
    ['9 KiB', Buffer.concat([valid, Buffer.alloc(9 * 1024)])]
  ]
  for (const [name, bytes] of cases) {
    test(`${name}: TLS_FALLBACK_AUTH_INVALID_CHALLENGE, and no authenticate message`, () => {
      const client = new NtlmClient(SPEC)
      assert.throws(() => client.authenticate(bytes), (error: unknown) => {
        assert.ok(error instanceof TlsFallbackError, String(error))
        assert.equal(error.code, 'TLS_FALLBACK_AUTH_INVALID_CHALLENGE')
        assert.doesNotMatch(error.message, /Password|User\b/)
        return true
      })
    })
  }

  test('random and mutated challenges: parsed within bounds or refused with the coded error, never another exception', () => {
    const check = (bytes: Uint8Array): void => {
      try {
        const parsed = parseNtlmChallenge(bytes)
        for (const pair of parsed.targetInfo) assert.ok(pair.value.length <= bytes.length)
        new NtlmClient(SPEC).authenticate(bytes)
      } catch (error) {
        assert.ok(error instanceof TlsFallbackError && error.code === 'TLS_FALLBACK_AUTH_INVALID_CHALLENGE', String(error))
      }
    }
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => check(Buffer.concat([valid.subarray(0, 12), bytes]))), { numRuns: 2000 })
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(valid.length - 1), fc.nat(255)), { maxLength: 8 }), (edits) => {
      check(mutate((b) => { for (const [at, value] of edits) b[at] = value }))
    }), { numRuns: 3000 })
  })

  test('a token that is not strict Base64 is refused before it is decoded', () => {
    for (const token of ['', 'TlRM!!!', 'TlRMTVNTUAACAAAA=', 'TlRM TVNT', 'TlRMTVNTUAACAAAA===']) {
      assert.throws(() => decodeToken(token), { code: 'TLS_FALLBACK_AUTH_INVALID_CHALLENGE' }, token)
    }
    assert.deepEqual(decodeToken('TlRMTVNTUAA='), Buffer.from('NTLMSSP\0'))
    assert.throws(() => decodeToken('A'.repeat(40_000)), { code: 'TLS_FALLBACK_AUTH_INVALID_CHALLENGE' })
  })

  test('credentials are validated with the option path, and the password is not kept', () => {
    assert.throws(() => new NtlmClient({ username: '', password: 'x' }, { option: "hosts['a.example'].auth" }), { code: 'TLS_FALLBACK_INVALID_OPTION', option: "hosts['a.example'].auth.username" })
    assert.throws(() => new NtlmClient({ username: 'u', password: 5 as unknown as string }), { code: 'TLS_FALLBACK_INVALID_OPTION', option: 'auth.password' })
    assert.throws(() => new NtlmClient({ username: 'u', password: 'p', domain: 1 as unknown as string }), { code: 'TLS_FALLBACK_INVALID_OPTION', option: 'auth.domain' })
    assert.throws(() => new NtlmClient({ username: 'u'.repeat(1025), password: 'p' }), { code: 'TLS_FALLBACK_INVALID_OPTION', option: 'auth.username' })
    assert.throws(() => new NtlmClient({ username: 'u', password: 'p', domain: 'd'.repeat(1025) }), { code: 'TLS_FALLBACK_INVALID_OPTION', option: 'auth.domain' })
    assert.throws(() => new NtlmClient({ username: 'u', password: 'p' }, { option: 'proxy.auth' }).authenticate(challengeWithTimestamp(), { spn: 'H'.repeat(1025) }),
      { code: 'TLS_FALLBACK_INVALID_OPTION', option: 'proxy.auth.spn' })
    const longest = new NtlmClient({ username: 'u'.repeat(1024), password: 'p', domain: 'd'.repeat(1024) }, { workstation: 'w'.repeat(1024) })
    assert.equal(fieldOf(longest.authenticate(challengeWithTimestamp(), { spn: 'H'.repeat(1024) }), 36).length, 2048)
    const client = new NtlmClient({ username: 'u', password: 'secret-pw-0a1b' })
    const key = ntowfv2('secret-pw-0a1b', 'u', '').toString('hex')
    const shown = JSON.stringify(client) + String(Object.keys(client)) + inspect(client, { showHidden: true, depth: 5 })
    assert.doesNotMatch(shown, /secret-pw-0a1b/)
    assert.ok(!shown.includes(key) && !shown.includes(key.slice(0, 8)), 'nor NTOWFv2')
  })
})

// The real server: Apache httpd with mod_auth_gssapi and gss-ntlmssp, users from NTLM_USER_FILE.
describe('NTLM against real Apache (mod_auth_gssapi + gss-ntlmssp)', () => {
  let apache: ApacheAuthServer
  before(async () => { apache = await startApacheAuth() })
  after(async () => { await apache?.close() })

  /** One raw undici Client (HTTP/1.1, one connection): the legs of the handshake by hand. */
  async function handshake (password: string, options: { scheme?: 'NTLM' | 'Negotiate', tamper?: (type3: Buffer) => void, path?: string, bindings?: Buffer } = {}) {
    const scheme = options.scheme ?? 'NTLM'
    const client = new Client(`https://localhost:${apache.port}`, { allowH2: false, pipelining: 1, connect: { ca: certs.ca } })
    const path = options.path ?? '/ntlm/'
    const statuses: number[] = []
    try {
      const first = await client.request({ path, method: 'GET' })
      statuses.push(first.statusCode)
      const offered = parseChallenges(first.headers['www-authenticate']).map((c) => c.scheme)
      await first.body.dump()
      const ntlm = new NtlmClient({ username: apache.ntlm.username, password, domain: apache.ntlm.domain })
      const leg1 = await client.request({ path, method: 'GET', headers: { authorization: `${scheme} ${ntlm.negotiate().toString('base64')}` } })
      statuses.push(leg1.statusCode)
      const challenge = findChallenge(parseChallenges(leg1.headers['www-authenticate']), scheme)
      await leg1.body.dump()
      assert.ok(challenge?.token68 !== undefined, 'a challenge token')
      const type2 = decodeToken(challenge.token68)
      const certificate = await peerCertificate(apache.port)
      const type3 = ntlm.authenticate(type2, { channelBindings: options.bindings ?? tlsServerEndPoint(certificate), spn: 'HTTP/localhost' })
      options.tamper?.(type3)
      const leg2 = await client.request({ path, method: 'GET', headers: { authorization: `${scheme} ${type3.toString('base64')}` } })
      statuses.push(leg2.statusCode)
      const text = await leg2.body.text()
      const again = await client.request({ path, method: 'GET' })
      statuses.push(again.statusCode)
      await again.body.dump()
      return { statuses, offered, text, mech: leg2.headers['x-gss-mech'], challenge: parseNtlmChallenge(type2) }
    } finally {
      await client.close()
    }
  }

  test('the right password: 200 on the third leg, all legs on one connection, then no handshake for the next request', async () => {
    const logged = apache.accessLog().split('\n').filter((l) => l !== '').length
    const result = await handshake(apache.ntlm.password)
    assert.deepEqual(result.offered, ['negotiate', 'ntlm'])
    assert.deepEqual(result.statuses, [401, 401, 200, 200])
    assert.equal(result.text, 'hello ntlm\n')
    assert.equal(result.mech, 'NTLM/NTLM')
    assert.notEqual(result.challenge.timestamp, undefined, 'gss-ntlmssp sends a timestamp: the MIC was required and accepted')
    const lines = (await apache.waitForAccessLog(/^127/m, logged + 4)).trim().split('\n').slice(logged)
    assert.equal(lines.length, 4)
    assert.equal(new Set(lines.map((l) => /conn=(\S+)/.exec(l)?.[1])).size, 1, `one connection:\n${lines.join('\n')}`)
    assert.match(lines[3]!, /" 200 .*user=CORP\\\\ntlmuser/)
  })

  test('a 1 MiB POST on both legs: Apache reads and drops the first body, keeps the socket, and the CGI gets the second whole', async () => {
    const client = new Client(`https://localhost:${apache.port}`, { allowH2: false, pipelining: 1, connect: { ca: certs.ca } })
    const body = Buffer.alloc(1024 * 1024, 0x61)
    const logged = apache.accessLog().split('\n').filter((l) => l !== '').length
    try {
      const ntlm = new NtlmClient({ username: apache.ntlm.username, password: apache.ntlm.password, domain: apache.ntlm.domain })
      const leg1 = await client.request({ path: '/ntlm/echo', method: 'POST', body, headers: { authorization: `NTLM ${ntlm.negotiate().toString('base64')}` } })
      await leg1.body.dump()
      assert.equal(leg1.statusCode, 401)
      const challenge = findChallenge(parseChallenges(leg1.headers['www-authenticate']), 'ntlm')!
      const leg2 = await client.request({ path: '/ntlm/echo', method: 'POST', body, headers: { authorization: `NTLM ${ntlm.authenticate(decodeToken(challenge.token68!)).toString('base64')}` } })
      assert.equal(leg2.statusCode, 200)
      assert.equal(await leg2.body.text(), 'received 1048576 bytes\n')
      // 20 more requests on the authenticated connection: no handshake, the same socket.
      for (let i = 0; i < 20; i++) {
        const next = await client.request({ path: '/ntlm/', method: 'GET' })
        await next.body.dump()
        assert.equal(next.statusCode, 200)
      }
      const lines = (await apache.waitForAccessLog(/^127/m, logged + 22)).trim().split('\n').slice(logged)
      assert.equal(lines.length, 22)
      assert.equal(new Set(lines.map((l) => /conn=(\S+)/.exec(l)?.[1])).size, 1, 'one connection for both legs and the 20 requests')
    } finally {
      await client.close()
    }
  })

  test('why type 1 has 40 bytes: the 32-byte form (no Version field, as curl --ntlm sends) gets no challenge from gss-ntlmssp', async () => {
    const client = new Client(`https://localhost:${apache.port}`, { allowH2: false, pipelining: 1, connect: { ca: certs.ca } })
    try {
      const full = new NtlmClient(apache.ntlm).negotiate()
      const short = Buffer.from(full.subarray(0, 32))
      short.writeUInt32LE((short.readUInt32LE(12) & ~NTLM_FLAGS.VERSION) >>> 0, 12)
      const statuses: Array<[number, boolean]> = []
      for (const type1 of [short, full]) {
        const response = await client.request({ path: '/ntlm/', method: 'GET', headers: { authorization: `NTLM ${type1.toString('base64')}` } })
        await response.body.dump()
        statuses.push([response.statusCode, findChallenge(parseChallenges(response.headers['www-authenticate']), 'ntlm')?.token68 !== undefined])
      }
      assert.deepEqual(statuses, [[401, false], [401, true]])
    } finally {
      await client.close()
    }
  })

  test('a wrong password: 401 after one full handshake', async () => {
    const result = await handshake('not-the-password')
    assert.deepEqual(result.statuses, [401, 401, 401, 401])
  })

  test('a MIC that does not match the messages: 401 (the server checks it)', async () => {
    const result = await handshake(apache.ntlm.password, { tamper: (type3) => { type3[80] = (type3[80]! ^ 0xff) } })
    assert.equal(result.statuses[2], 401)
  })

  test('mod_auth_gssapi does not check channel bindings (a wrong value gets 200): why their computation is tested on its own', async () => {
    const result = await handshake(apache.ntlm.password, { bindings: Buffer.from('tls-server-end-point:not-this-certificate') })
    assert.deepEqual(result.statuses.slice(2), [200, 200])
  })

  test('raw NTLMSSP under the Negotiate scheme is accepted too', async () => {
    const result = await handshake(apache.ntlm.password, { scheme: 'Negotiate' })
    assert.deepEqual(result.statuses.slice(2), [200, 200])
  })

  test('the challenge names the server as configured (NETBIOS_DOMAIN_NAME)', async () => {
    const result = await handshake(apache.ntlm.password)
    assert.equal(result.challenge.targetName, apache.netbios.domain)
  })

  test('the forward proxy: CONNECT gets 407 Proxy-Authenticate NTLM, a wrong password 407 again, the right one 200', async () => {
    const wrong = await proxyConnect(apache.proxyPort, `localhost:${apache.port}`, { ...apache.ntlm, password: 'wrong' })
    assert.deepEqual(wrong.statuses, [407, 407, 407])
    assert.deepEqual(wrong.offered, ['negotiate', 'ntlm'])
    const right = await proxyConnect(apache.proxyPort, `localhost:${apache.port}`, apache.ntlm)
    assert.deepEqual(right.statuses, [407, 407, 200])
  })
})

async function proxyConnect (proxyPort: number, target: string, credentials: { username: string, password: string, domain: string }) {
  const proxy = await proxySocket(proxyPort)
  const statuses: number[] = []
  try {
    proxy.connect(target)
    const first = await proxy.wire.response()
    statuses.push(first.status)
    const offered = parseChallenges(headerValues(first.headers, 'proxy-authenticate')).map((c) => c.scheme)
    const ntlm = new NtlmClient(credentials)
    proxy.connect(target, `NTLM ${ntlm.negotiate().toString('base64')}`)
    const leg1 = await proxy.wire.response()
    statuses.push(leg1.status)
    const challenge = findChallenge(parseChallenges(headerValues(leg1.headers, 'proxy-authenticate')), 'ntlm')
    assert.ok(challenge?.token68 !== undefined)
    proxy.connect(target, `NTLM ${ntlm.authenticate(decodeToken(challenge.token68)).toString('base64')}`)
    const leg2 = await proxy.wire.response()
    statuses.push(leg2.status)
    return { statuses, offered }
  } finally {
    proxy.close()
  }
}
