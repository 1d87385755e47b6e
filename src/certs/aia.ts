import { channel } from 'node:diagnostics_channel'
import { lookup } from 'node:dns'
import http from 'node:http'
import net from 'node:net'
import { X509Certificate } from 'node:crypto'
import { quoteOutside } from '../outside-text.ts'
import { CHANNELS, type Logger } from '../telemetry.ts'
import type { AiaRoute } from './aia-route.ts'

/**
 * Missing intermediates (issue 33). A server that sends its leaf without the intermediate fails
 * verification with `UNABLE_TO_VERIFY_LEAF_SIGNATURE`; browsers and Windows fetch the issuer from the
 * leaf's Authority Information Access (`caIssuers`) URL. Here, only when the user turned
 * `fetchIntermediates` on: the fetched certificate is only ever added as an UNTRUSTED intermediate
 * (Node's `ca` without `allowPartialTrustChain`: a certificate that is not self-signed is never a
 * trust anchor there, measured), so the chain must still end at a root the user trusts and pass every
 * check OpenSSL makes. The fetch is plain http: (as AIA is), bounded in size and time, sends no
 * cookie or credential, and never goes to a link-local or metadata address unless allowed.
 */

/** The diagnostics channel published once per fetch of an intermediate (or read back from the policy store: outcome `stored`). */
export const INTERMEDIATE_CHANNEL = CHANNELS.intermediate

export interface IntermediateFetchEvent {
  /** The AIA URL's host and port (never its path or query). */
  host: string
  port: number
  /** The origin whose leaf named the URL. */
  origin: string
  outcome: FetchOutcome
  /** Bytes of the body received (0 when none). */
  bytes: number
  /** How many certificates the body held. */
  certificates: number
  durationMs: number
}

export type FetchOutcome =
  | 'fetched' | 'cached' | 'timeout' | 'too-large' | 'http-status' | 'not-certificate' | 'not-issuer'
  | 'refused-address' | 'refused-scheme' | 'network-error'
  /** Read back from the policy store (another process or replica fetched it), then checked: no fetch. */
  | 'stored'

/** `fetchIntermediates` after validation. */
export interface IntermediateFetch {
  /** Largest body accepted, bytes. Default 65,536. */
  readonly maxBytes: number
  /** Time for the whole fetch (connect, headers, body), ms. Default 5,000. */
  readonly timeout: number
  /** Fetch from loopback addresses (127.0.0.0/8, ::1). Default false. */
  readonly allowLoopback: boolean
  /** Fetch from link-local and cloud metadata addresses (169.254.0.0/16, fe80::/10, ...). Default false. */
  readonly allowLinkLocal: boolean
  readonly logger: Logger | undefined
}

export const DEFAULT_MAX_BYTES = 65_536
export const DEFAULT_FETCH_TIMEOUT = 5_000

/** The `caIssuers` URLs a certificate names in its Authority Information Access, in order. */
export function caIssuersUrls (certificate: X509Certificate): string[] {
  const info = certificate.infoAccess
  if (info === undefined) return []
  const urls: string[] = []
  for (const line of info.split('\n')) {
    const match = /^CA Issuers - URI:(.+)$/.exec(line.trim())
    if (match !== null) urls.push(match[1] as string)
  }
  return urls
}

/** A URL as it may appear in a log or message: scheme, host, port and path, never a query or credentials. */
export function describeUrl (url: string): string {
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.host}${u.pathname}`
  } catch {
    return '(not a URL)'
  }
}

const linkLocal = new net.BlockList()
linkLocal.addSubnet('169.254.0.0', 16, 'ipv4')
linkLocal.addSubnet('fe80::', 10, 'ipv6')
// Cloud metadata services outside link-local: AWS IPv6, Alibaba, Oracle's legacy.
linkLocal.addAddress('fd00:ec2::254', 'ipv6')
linkLocal.addAddress('100.100.100.200', 'ipv4')
const loopback = new net.BlockList()
loopback.addSubnet('127.0.0.0', 8, 'ipv4')
loopback.addAddress('::1', 'ipv6')
const never = new net.BlockList()
never.addSubnet('0.0.0.0', 8, 'ipv4')
never.addSubnet('224.0.0.0', 3, 'ipv4')
never.addAddress('::', 'ipv6')
never.addSubnet('ff00::', 8, 'ipv6')
const METADATA_NAMES = new Set(['metadata', 'metadata.google.internal', 'metadata.goog', 'instance-data', 'instance-data.ec2.internal'])

/** Why an address may not be fetched from, or undefined when it may. */
export function refusedAddress (address: string, options: Pick<IntermediateFetch, 'allowLoopback' | 'allowLinkLocal'>): string | undefined {
  let a = address.startsWith('[') ? address.slice(1, -1) : address
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a)
  if (mapped !== null) a = mapped[1] as string
  const family = net.isIPv4(a) ? 'ipv4' : net.isIPv6(a) ? 'ipv6' : undefined
  if (family === undefined) {
    const name = a.toLowerCase().replace(/\.$/, '')
    if (METADATA_NAMES.has(name) && !options.allowLinkLocal) return 'a metadata service name'
    // RFC 6761 section 6.3: localhost names are loopback wherever they are resolved (a proxy too).
    if ((name === 'localhost' || name.endsWith('.localhost')) && !options.allowLoopback) return 'a loopback name'
    return undefined
  }
  if (never.check(a, family)) return 'an unspecified or multicast address'
  if (!options.allowLinkLocal && linkLocal.check(a, family)) return 'a link-local or metadata address'
  if (!options.allowLoopback && loopback.check(a, family)) return 'a loopback address'
  return undefined
}

/** How to reach an AIA host through a proxy (src/certs/aia-route.ts), or undefined to go direct. */
export type RouteFor = (host: string, port: number) => AiaRoute | undefined

export interface FetchResult {
  outcome: FetchOutcome
  certificates: X509Certificate[]
  bytes: number
}

/**
 * GETs an AIA URL: http: only, no redirects, no cookies or credentials, bounded by `maxBytes` and
 * `timeout`. Direct fetches connect to an address that was checked (no second DNS answer); through
 * a proxy the URL's host is checked by name or literal, and the proxy resolves it: an HTTP(S) proxy
 * gets the GET in absolute form with its own headers (its credentials), a SOCKS5 proxy a tunnel.
 */
export async function fetchIssuers (url: string, options: IntermediateFetch, routeFor?: RouteFor): Promise<FetchResult> {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return { outcome: 'refused-scheme', certificates: [], bytes: 0 }
  }
  if (u.protocol !== 'http:' || u.username !== '' || u.password !== '') return { outcome: 'refused-scheme', certificates: [], bytes: 0 }
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname
  const port = u.port === '' ? 80 : Number(u.port)
  if (refusedAddress(host, options) !== undefined) return { outcome: 'refused-address', certificates: [], bytes: 0 }
  return await new Promise<FetchResult>((resolve) => {
    let settled = false
    let bytes = 0
    let request: http.ClientRequest | undefined
    const finish = (outcome: FetchOutcome, certificates: X509Certificate[] = []): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      request?.destroy()
      resolve({ outcome, certificates, bytes })
    }
    const timer = setTimeout(() => { finish('timeout') }, options.timeout)
    const route = routeFor?.(host, port)
    const start = (socket: net.Socket): void => {
      if (settled) {
        socket.destroy()
        return
      }
      const forward = route?.kind === 'forward' ? route : undefined
      request = http.request({
        method: 'GET',
        host,
        port,
        // Absolute form to an HTTP proxy (RFC 9112 section 3.2.2), origin form otherwise.
        path: `${forward === undefined ? '' : `http://${u.host}`}${u.pathname}${u.search}`,
        // No agent: with one (agent: false makes one), Node ignores createConnection and connects by
        // itself, by name, past the address checks and the proxy.
        setHost: false,
        headers: { ...forward?.headers, host: u.host, accept: 'application/pkix-cert, application/pkcs7-mime, application/x-x509-ca-cert, */*', connection: 'close' },
        createConnection: () => socket
      }, (response) => {
        if (response.statusCode !== 200) {
          finish('http-status')
          return
        }
        const declared = Number(response.headers['content-length'])
        if (Number.isFinite(declared) && declared > options.maxBytes) {
          finish('too-large')
          return
        }
        const chunks: Buffer[] = []
        response.on('data', (chunk: Buffer) => {
          bytes += chunk.length
          if (bytes > options.maxBytes) {
            finish('too-large')
            return
          }
          chunks.push(chunk)
        })
        response.on('end', () => {
          const certificates = parseCertificates(Buffer.concat(chunks))
          finish(certificates.length === 0 ? 'not-certificate' : 'fetched', certificates)
        })
        response.on('error', () => { finish('network-error') })
      })
      request.on('error', () => { finish('network-error') })
      request.end()
    }
    if (route?.kind === 'forward') {
      const socket = route.connect()
      socket.on('error', () => { finish('network-error') })
      start(socket)
      return
    }
    if (route?.kind === 'tunnel') {
      route.open((error, socket) => {
        if (error !== null || socket === undefined) finish('network-error')
        else start(socket)
      })
      return
    }
    lookup(host, { all: true }, (error, addresses) => {
      if (settled) return
      if (error !== null) {
        finish('network-error')
        return
      }
      // Every address the name has must be allowed: a name that also points at a metadata address is refused.
      if (addresses.length === 0 || addresses.some((a) => refusedAddress(a.address, options) !== undefined)) {
        finish('refused-address')
        return
      }
      const socket = net.connect({ host: (addresses[0] as { address: string }).address, port })
      socket.on('error', () => { finish('network-error') })
      start(socket)
    })
  })
}

const MAX_CERTIFICATES = 8

/**
 * The certificates in an AIA body: one DER certificate, PEM certificates, or a PKCS#7 bundle (DER or
 * PEM), at most `limit`. The body is outside text (an on-path box chooses a plain http: fetch's, a
 * store's writer a stored value), so PEM is read in one linear pass: only `CERTIFICATE` and `PKCS7`
 * blocks, whose bodies must be Base64 and nothing else.
 */
export function parseCertificates (body: Buffer, limit = MAX_CERTIFICATES): X509Certificate[] {
  const text = body.toString('latin1')
  if (text.includes('-----BEGIN')) {
    const found: X509Certificate[] = []
    for (const [label, der] of pemBlocks(text)) {
      if (found.length >= limit) break
      if (label === 'CERTIFICATE') {
        const one = parseOne(der)
        if (one !== undefined) found.push(one)
      } else {
        found.push(...pkcs7Certificates(der, limit - found.length))
      }
    }
    return found
  }
  const one = parseOne(body)
  return one === undefined ? pkcs7Certificates(body, limit) : [one]
}

const PEM_LABELS = ['CERTIFICATE', 'PKCS7'] as const
const BASE64_BODY = /^[A-Za-z0-9+/=\r\n\t ]*$/

/**
 * The `CERTIFICATE` and `PKCS7` blocks of a PEM text, decoded, in one pass: each search starts past
 * the last, and a label whose END marker is missing is not searched for again.
 */
function * pemBlocks (text: string): Generator<[typeof PEM_LABELS[number], Buffer]> {
  const unended = new Set<string>()
  for (let at = text.indexOf('-----BEGIN '); at !== -1; at = text.indexOf('-----BEGIN ', at)) {
    at += '-----BEGIN '.length
    const label = PEM_LABELS.find((l) => text.startsWith(`${l}-----`, at))
    if (label === undefined || unended.has(label)) continue
    const start = at + label.length + 5
    const end = text.indexOf(`-----END ${label}-----`, start)
    if (end === -1) {
      unended.add(label)
      continue
    }
    at = end + label.length + 14
    const base64 = text.slice(start, end)
    if (BASE64_BODY.test(base64)) yield [label, Buffer.from(base64.replace(/\s+/g, ''), 'base64')]
  }
}

function parseOne (bytes: Buffer): X509Certificate | undefined {
  try {
    return new X509Certificate(bytes)
  } catch {
    return undefined
  }
}

interface Tlv { tag: number, start: number, end: number, header: number }

/** One DER TLV at `offset` (definite lengths up to 4 bytes), or undefined when it does not fit in `limit`. */
function tlv (bytes: Buffer, offset: number, limit: number): Tlv | undefined {
  if (offset + 2 > limit) return undefined
  const tag = bytes[offset] as number
  let length = bytes[offset + 1] as number
  let start = offset + 2
  if (length > 0x80) {
    const count = length - 0x80
    if (count > 4 || start + count > limit) return undefined
    length = 0
    for (let i = 0; i < count; i++) length = length * 256 + (bytes[start + i] as number)
    start += count
  } else if (length === 0x80) {
    return undefined
  }
  const end = start + length
  return end > limit ? undefined : { tag, start, end, header: offset }
}

const SIGNED_DATA = Buffer.from('06092a864886f70d010702', 'hex')

/** The certificates of a PKCS#7 SignedData (RFC 2315: ContentInfo, [0] SignedData, certificates [0] IMPLICIT). */
export function pkcs7Certificates (bytes: Buffer, limit = MAX_CERTIFICATES): X509Certificate[] {
  const info = tlv(bytes, 0, bytes.length)
  if (info?.tag !== 0x30) return []
  const oid = tlv(bytes, info.start, info.end)
  if (oid === undefined || !bytes.subarray(oid.header, oid.end).equals(SIGNED_DATA)) return []
  const explicit = tlv(bytes, oid.end, info.end)
  if (explicit?.tag !== 0xa0) return []
  const signed = tlv(bytes, explicit.start, explicit.end)
  if (signed?.tag !== 0x30) return []
  // version, digestAlgorithms, encapContentInfo, then certificates [0] if present.
  let at = signed.start
  for (let i = 0; i < 3; i++) {
    const skipped = tlv(bytes, at, signed.end)
    if (skipped === undefined) return []
    at = skipped.end
  }
  const set = tlv(bytes, at, signed.end)
  if (set?.tag !== 0xa0) return []
  const found: X509Certificate[] = []
  for (let p = set.start; p < set.end && found.length < limit;) {
    const item = tlv(bytes, p, set.end)
    if (item === undefined) break
    if (item.tag === 0x30) {
      const one = parseOne(bytes.subarray(item.header, item.end))
      if (one !== undefined) found.push(one)
    }
    p = item.end
  }
  return found
}

/** Whether `candidate` issued `leaf`: names match and its key verifies the leaf's signature. */
export function issued (candidate: X509Certificate, leaf: X509Certificate): boolean {
  try {
    return leaf.checkIssued(candidate) && leaf.verify(candidate.publicKey)
  } catch {
    return false
  }
}

const intermediateChannel = channel(INTERMEDIATE_CHANNEL)

/** Publishes one fetch (or store read) on the channel and logs it: the URL's host and port, never its path or query. */
export function report (url: string, origin: string, outcome: FetchOutcome, result: FetchResult, durationMs: number, logger: Logger | undefined): void {
  let host = ''
  let port = 80
  try {
    const u = new URL(url)
    host = u.hostname
    port = u.port === '' ? 80 : Number(u.port)
  } catch {}
  const event: IntermediateFetchEvent = { host, port, origin, outcome, bytes: result.bytes, certificates: result.certificates.length, durationMs: Math.round(durationMs) }
  if (intermediateChannel.hasSubscribers) intermediateChannel.publish(event)
  logger?.debug({ ...event, event: 'intermediate-fetch' }, `missing intermediate from ${quoteOutside(host)}: ${outcome}`)
}
