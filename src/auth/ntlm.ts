import { createHmac, randomBytes } from 'node:crypto'
import { authError, ErrorCodes, invalidOption } from '../errors.ts'
import { ntlmChannelBindingsHash } from './channel-bindings.ts'
import { md4 } from './md4.ts'

/**
 * NTLMv2 (MS-NLMP), client side: the negotiate message (type 1), the server's challenge (type 2,
 * parsed as hostile input) and the authenticate message (type 3) with an NTLMv2 response, a MIC and
 * channel bindings. Only NTLMv2: no LM, no NTLMv1, no key exchange (HTTP authentication signs and
 * seals nothing). One `NtlmClient` per handshake: NTLM authenticates one connection.
 */

export const NTLM_FLAGS = {
  UNICODE: 0x00000001,
  OEM: 0x00000002,
  REQUEST_TARGET: 0x00000004,
  NTLM: 0x00000200,
  ALWAYS_SIGN: 0x00008000,
  EXTENDED_SESSIONSECURITY: 0x00080000,
  TARGET_INFO: 0x00800000,
  VERSION: 0x02000000,
  NEGOTIATE_128: 0x20000000,
  KEY_EXCH: 0x40000000,
  NEGOTIATE_56: 0x80000000
} as const

/** AV pair ids (MS-NLMP 2.2.2.1). */
export const AV = {
  EOL: 0,
  NB_COMPUTER_NAME: 1,
  NB_DOMAIN_NAME: 2,
  DNS_COMPUTER_NAME: 3,
  DNS_DOMAIN_NAME: 4,
  DNS_TREE_NAME: 5,
  FLAGS: 6,
  TIMESTAMP: 7,
  SINGLE_HOST: 8,
  TARGET_NAME: 9,
  CHANNEL_BINDINGS: 10
} as const

/** MsvAvFlags bit: the authenticate message carries a MIC. */
export const AV_FLAG_MIC = 0x00000002

const SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1')
const CLIENT_FLAGS = NTLM_FLAGS.UNICODE | NTLM_FLAGS.REQUEST_TARGET | NTLM_FLAGS.NTLM | NTLM_FLAGS.ALWAYS_SIGN |
  NTLM_FLAGS.EXTENDED_SESSIONSECURITY | NTLM_FLAGS.VERSION | NTLM_FLAGS.NEGOTIATE_128 | NTLM_FLAGS.NEGOTIATE_56
/** Windows 10 build 19041, NTLMSSP revision 15: the Version field gss-ntlmssp and Windows expect. */
const VERSION = Buffer.from([10, 0, 0x61, 0x4a, 0, 0, 0, 0x0f])
/** A challenge larger than this is refused (real ones are a few hundred bytes). */
export const MAX_CHALLENGE_BYTES = 8192
/** The longest user, domain, workstation or SPN name sent (in UTF-16 code units). */
export const MAX_NAME = 1024
const CHALLENGE_HEADER = 48
const AUTHENTICATE_HEADER = 88
const MIC_OFFSET = 72

export interface AvPair { id: number, value: Buffer }

/** The server's challenge, as parsed. Every field was bounds-checked against the message. */
export interface NtlmChallenge {
  flags: number
  serverChallenge: Buffer
  /** The target name the server gave (its NetBIOS domain, usually): text from outside, escape it before showing it. */
  targetName: string
  /** The target info AV pairs, in order, without the terminating MsvAvEOL. */
  targetInfo: AvPair[]
  /** MsvAvTimestamp (a FILETIME, 8 bytes), when the server sent one: then the client sends a MIC. */
  timestamp: Buffer | undefined
}

function invalid (problem: string): never {
  throw authError(ErrorCodes.AUTH_INVALID_CHALLENGE, `the NTLM challenge ${problem}`)
}

/** Reads a (length, max length, offset) field and checks it against the message. */
function field (message: Buffer, at: number, name: string): Buffer {
  const length = message.readUInt16LE(at)
  const offset = message.readUInt32LE(at + 4)
  if (length === 0) return Buffer.alloc(0)
  if (offset < CHALLENGE_HEADER || offset > message.length || length > message.length - offset) {
    invalid(`points its ${name} outside the message (offset ${offset}, length ${length}, message ${message.length} bytes)`)
  }
  return message.subarray(offset, offset + length)
}

/** Parses the server's type 2 message. Anything out of bounds, duplicated or malformed throws `TLS_FALLBACK_AUTH_INVALID_CHALLENGE`. */
export function parseNtlmChallenge (bytes: Uint8Array): NtlmChallenge {
  const message = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (message.length > MAX_CHALLENGE_BYTES) invalid(`is longer than ${MAX_CHALLENGE_BYTES} bytes`)
  if (message.length < 32 || !message.subarray(0, 8).equals(SIGNATURE)) invalid('is not an NTLMSSP message')
  if (message.readUInt32LE(8) !== 2) invalid('is not a challenge (type 2) message')
  if (message.length < CHALLENGE_HEADER) invalid('has no target info (NTLMv2 needs it)')
  const flags = message.readUInt32LE(20)
  if ((flags & NTLM_FLAGS.UNICODE) === 0) invalid('does not offer Unicode')
  const targetNameBytes = field(message, 12, 'target name')
  if (targetNameBytes.length % 2 !== 0) invalid('has a target name of odd length')
  const info = field(message, 40, 'target info')
  if (info.length === 0) invalid('has no target info (NTLMv2 needs it)')

  const targetInfo: AvPair[] = []
  const seen = new Set<number>()
  let at = 0
  let ended = false
  let timestamp: Buffer | undefined
  while (at + 4 <= info.length) {
    const id = info.readUInt16LE(at)
    const length = info.readUInt16LE(at + 2)
    at += 4
    if (length > info.length - at) invalid(`has an AV pair (id ${id}) longer than its target info`)
    const value = info.subarray(at, at + length)
    at += length
    if (id === AV.EOL) {
      if (length !== 0) invalid('has an MsvAvEOL with a value')
      ended = true
      break
    }
    if (seen.has(id)) invalid(`repeats AV pair ${id}`)
    seen.add(id)
    if (id === AV.TIMESTAMP && length !== 8) invalid('has an MsvAvTimestamp that is not 8 bytes')
    if (id === AV.FLAGS && length !== 4) invalid('has an MsvAvFlags that is not 4 bytes')
    if (id >= AV.NB_COMPUTER_NAME && id <= AV.DNS_TREE_NAME && length % 2 !== 0) invalid(`has a name (AV pair ${id}) of odd length`)
    if (id === AV.TIMESTAMP) timestamp = Buffer.from(value)
    targetInfo.push({ id, value: Buffer.from(value) })
  }
  if (!ended) invalid('has target info without MsvAvEOL')

  return {
    flags,
    serverChallenge: Buffer.from(message.subarray(24, 32)),
    targetName: targetNameBytes.toString('utf16le'),
    targetInfo,
    timestamp
  }
}

/** NTOWFv2 (MS-NLMP 3.3.2): HMAC-MD5 keyed with the NT hash, over the upper-cased user name and the domain. */
export function ntowfv2 (password: string, username: string, domain: string): Buffer {
  const ntHash = md4(Buffer.from(password, 'utf16le'))
  return createHmac('md5', ntHash).update(Buffer.from(username.toUpperCase() + domain, 'utf16le')).digest()
}

/** A Windows FILETIME (100 ns since 1601) as 8 little-endian bytes. */
export function fileTime (ms: number): Buffer {
  const out = Buffer.alloc(8)
  out.writeBigUInt64LE((BigInt(Math.trunc(ms)) + 11_644_473_600_000n) * 10_000n)
  return out
}

export interface NtlmCredentials {
  username: string
  /** The password; or `responseKey` instead (NTOWFv2 computed once, so that the password need not be kept). */
  password?: string
  /** NTOWFv2(password, username, domain), as `ntowfv2()` returns it. */
  responseKey?: Buffer
  /** The user's domain (NetBIOS name), `''` by default. */
  domain?: string | undefined
}

export interface NtlmOptions {
  /** The option path named in validation errors (`hosts['a.example'].auth`); `auth` by default. */
  option?: string
  /** The workstation name sent in the authenticate message; `''` by default (the host name is not disclosed). */
  workstation?: string
  /** Source of the 8-byte client challenge; `crypto.randomBytes` by default. For test vectors only. */
  random?: (size: number) => Buffer
  /** Milliseconds since the epoch when the server sends no timestamp; `Date.now` by default. */
  now?: () => number
}

/** What the authenticate message is bound to. */
export interface NtlmBinding {
  /** The `tls-server-end-point` application data of the TLS connection (`tlsServerEndPoint(cert)`); absent on plain HTTP. */
  channelBindings?: Uint8Array | undefined
  /** The service principal name sent as MsvAvTargetName (`HTTP/host`), when known. */
  spn?: string | undefined
}

function securityBuffer (message: Buffer, at: number, length: number, offset: number): void {
  message.writeUInt16LE(length, at)
  message.writeUInt16LE(length, at + 2)
  message.writeUInt32LE(offset, at + 4)
}

function avPairs (pairs: readonly AvPair[]): Buffer {
  const parts: Buffer[] = []
  for (const { id, value } of [...pairs, { id: AV.EOL, value: Buffer.alloc(0) }]) {
    const head = Buffer.alloc(4)
    head.writeUInt16LE(id, 0)
    head.writeUInt16LE(value.length, 2)
    parts.push(head, value)
  }
  return Buffer.concat(parts)
}

/**
 * The NTLMv2 responses (MS-NLMP 3.3.2) for `time` (a FILETIME), the client challenge and the AV pairs
 * the client sends: NtChallengeResponse (NTProofStr then `temp`), LmChallengeResponse (LMv2, or 24
 * zero bytes when the server sent a timestamp) and SessionBaseKey.
 */
export function ntlmv2Response (responseKey: Buffer, serverChallenge: Buffer, clientChallenge: Buffer, time: Buffer, pairs: readonly AvPair[], zeroLm: boolean): { ntResponse: Buffer, lmResponse: Buffer, sessionBaseKey: Buffer } {
  const temp = Buffer.concat([
    Buffer.from([1, 1, 0, 0, 0, 0, 0, 0]), time, clientChallenge, Buffer.alloc(4), avPairs(pairs), Buffer.alloc(4)
  ])
  const proof = createHmac('md5', responseKey).update(serverChallenge).update(temp).digest()
  const lmResponse = zeroLm
    ? Buffer.alloc(24)
    : Buffer.concat([createHmac('md5', responseKey).update(serverChallenge).update(clientChallenge).digest(), clientChallenge])
  return {
    ntResponse: Buffer.concat([proof, temp]),
    lmResponse,
    sessionBaseKey: createHmac('md5', responseKey).update(proof).digest()
  }
}

/**
 * One NTLM handshake. The constructor keeps NTOWFv2 of the credentials, never the password itself.
 * `negotiate()` gives the type 1 message, `authenticate(challenge)` the type 3 message.
 */
export class NtlmClient {
  readonly #option: string
  readonly #username: string
  readonly #domain: string
  readonly #workstation: string
  readonly #responseKey: Buffer
  readonly #random: (size: number) => Buffer
  readonly #now: () => number
  readonly #negotiate: Buffer

  constructor (credentials: NtlmCredentials, options: NtlmOptions = {}) {
    const option = options.option ?? 'auth'
    if (typeof credentials.username !== 'string' || credentials.username.length === 0) {
      throw invalidOption(`${option}.username`, 'must be a non-empty string for NTLM')
    }
    if (typeof credentials.password !== 'string' && !(credentials.password === undefined && Buffer.isBuffer(credentials.responseKey) && credentials.responseKey.length === 16)) {
      throw invalidOption(`${option}.password`, 'must be a string for NTLM')
    }
    if (credentials.domain !== undefined && typeof credentials.domain !== 'string') {
      throw invalidOption(`${option}.domain`, 'must be a string')
    }
    // Each name travels in a field with a 16-bit byte length (UTF-16LE: two bytes a code unit).
    for (const [name, value] of [['username', credentials.username], ['domain', credentials.domain ?? ''], ['workstation', options.workstation ?? '']] as const) {
      if (value.length > MAX_NAME) throw invalidOption(`${option}.${name}`, `must be at most ${MAX_NAME} characters`)
    }
    this.#option = option
    this.#username = credentials.username
    this.#domain = credentials.domain ?? ''
    this.#workstation = options.workstation ?? ''
    this.#responseKey = typeof credentials.password === 'string' ? ntowfv2(credentials.password, this.#username, this.#domain) : credentials.responseKey!
    this.#random = options.random ?? randomBytes
    this.#now = options.now ?? Date.now

    // Type 1: 40 bytes with the Version field (gss-ntlmssp refuses the 32-byte form), no domain or workstation.
    const negotiate = Buffer.alloc(40)
    SIGNATURE.copy(negotiate, 0)
    negotiate.writeUInt32LE(1, 8)
    negotiate.writeUInt32LE(CLIENT_FLAGS >>> 0, 12)
    securityBuffer(negotiate, 16, 0, 40)
    securityBuffer(negotiate, 24, 0, 40)
    VERSION.copy(negotiate, 32)
    this.#negotiate = negotiate
  }

  /** The negotiate (type 1) message. */
  negotiate (): Buffer {
    return Buffer.from(this.#negotiate)
  }

  /**
   * The authenticate (type 3) message answering the server's challenge (the type 2 bytes): an NTLMv2
   * response over the server's target info with, when the server sent a timestamp, MsvAvFlags' MIC bit
   * and the MIC; MsvAvChannelBindings when `binding.channelBindings` is given.
   */
  authenticate (challengeBytes: Uint8Array, binding: NtlmBinding = {}): Buffer {
    const challenge = parseNtlmChallenge(challengeBytes)
    const clientChallenge = this.#random(8)
    if (clientChallenge.length !== 8) throw new Error('the client challenge must be 8 bytes')
    const withMic = challenge.timestamp !== undefined
    const time = challenge.timestamp ?? fileTime(this.#now())

    // The server's pairs, with ours in place of any it sent of the kinds the client owns.
    const owned = new Set<number>([AV.FLAGS, AV.TARGET_NAME, AV.CHANNEL_BINDINGS])
    const pairs = challenge.targetInfo.filter((p) => !owned.has(p.id))
    if (withMic) {
      const serverFlags = challenge.targetInfo.find((p) => p.id === AV.FLAGS)?.value.readUInt32LE(0) ?? 0
      const flags = Buffer.alloc(4)
      flags.writeUInt32LE((serverFlags | AV_FLAG_MIC) >>> 0)
      pairs.push({ id: AV.FLAGS, value: flags })
    }
    if (binding.channelBindings !== undefined) {
      pairs.push({ id: AV.CHANNEL_BINDINGS, value: ntlmChannelBindingsHash(binding.channelBindings) })
    }
    if (binding.spn !== undefined) {
      if (typeof binding.spn !== 'string' || binding.spn.length > MAX_NAME) throw invalidOption(`${this.#option}.spn`, `must be a string of at most ${MAX_NAME} characters`)
      pairs.push({ id: AV.TARGET_NAME, value: Buffer.from(binding.spn, 'utf16le') })
    }

    const { ntResponse, lmResponse, sessionBaseKey } = ntlmv2Response(this.#responseKey, challenge.serverChallenge, clientChallenge, time, pairs, withMic)

    const domain = Buffer.from(this.#domain, 'utf16le')
    const user = Buffer.from(this.#username, 'utf16le')
    const workstation = Buffer.from(this.#workstation, 'utf16le')
    const payload = [lmResponse, ntResponse, domain, user, workstation]
    const message = Buffer.alloc(AUTHENTICATE_HEADER + payload.reduce((n, b) => n + b.length, 0))
    SIGNATURE.copy(message, 0)
    message.writeUInt32LE(3, 8)
    let offset = AUTHENTICATE_HEADER
    for (const [i, part] of payload.entries()) {
      securityBuffer(message, 12 + i * 8, part.length, offset)
      part.copy(message, offset)
      offset += part.length
    }
    securityBuffer(message, 52, 0, offset) // no EncryptedRandomSessionKey: no key exchange
    const flags = (CLIENT_FLAGS & challenge.flags) | NTLM_FLAGS.UNICODE | NTLM_FLAGS.VERSION
    message.writeUInt32LE(flags >>> 0, 60)
    VERSION.copy(message, 64)
    if (withMic) {
      // ExportedSessionKey = KeyExchangeKey = SessionBaseKey for NTLMv2 without key exchange.
      const mic = createHmac('md5', sessionBaseKey).update(this.#negotiate).update(challengeBytes).update(message).digest()
      mic.copy(message, MIC_OFFSET)
    }
    return message
  }
}
