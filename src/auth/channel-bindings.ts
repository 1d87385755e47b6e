import { createHash } from 'node:crypto'

/**
 * Channel bindings (RFC 5929 `tls-server-end-point`): they tie an NTLM or Kerberos exchange to the TLS
 * connection it runs on, so a box that terminates TLS with a certificate of its own cannot relay the
 * exchange to the real server (IIS "Extended Protection for Authentication" checks them).
 */

// Signature algorithms by OID: the hash RFC 5929 section 4.1 uses for each. MD5 and SHA-1 become SHA-256.
const SIGNATURE_HASHES: ReadonlyMap<string, string> = new Map([
  ['1.2.840.113549.1.1.4', 'sha256'], // md5WithRSAEncryption
  ['1.2.840.113549.1.1.5', 'sha256'], // sha1WithRSAEncryption
  ['1.2.840.113549.1.1.11', 'sha256'],
  ['1.2.840.113549.1.1.12', 'sha384'],
  ['1.2.840.113549.1.1.13', 'sha512'],
  ['1.2.840.113549.1.1.14', 'sha224'],
  ['1.2.840.10045.4.1', 'sha256'], // ecdsa-with-SHA1
  ['1.2.840.10045.4.3.1', 'sha224'],
  ['1.2.840.10045.4.3.2', 'sha256'],
  ['1.2.840.10045.4.3.3', 'sha384'],
  ['1.2.840.10045.4.3.4', 'sha512'],
  ['1.2.840.10040.4.3', 'sha256'] // dsa-with-sha1
])

/** One DER element: its tag and where its contents start and end in the buffer. */
interface Element { tag: number, start: number, end: number }

function element (der: Uint8Array, at: number, limit: number): Element {
  if (at + 2 > limit) throw new Error('truncated DER')
  const tag = der[at]!
  let length = der[at + 1]!
  let start = at + 2
  if (length & 0x80) {
    const bytes = length & 0x7f
    if (bytes === 0 || bytes > 4 || start + bytes > limit) throw new Error('unsupported DER length')
    length = 0
    for (let i = 0; i < bytes; i++) length = length * 256 + der[start + i]!
    start += bytes
  }
  if (start + length > limit) throw new Error('DER length beyond its container')
  return { tag, start, end: start + length }
}

function oidText (der: Uint8Array, el: Element): string {
  const parts: number[] = []
  let value = 0
  for (let i = el.start; i < el.end; i++) {
    value = value * 128 + (der[i]! & 0x7f)
    if ((der[i]! & 0x80) === 0) {
      if (parts.length === 0) parts.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80)
      else parts.push(value)
      value = 0
    }
  }
  return parts.join('.')
}

/**
 * The hash RFC 5929 names for a DER certificate: its signature algorithm's hash, SHA-256 for MD5 and
 * SHA-1, and SHA-256 for algorithms without a single hash (RSASSA-PSS, Ed25519), as Windows does.
 */
export function endPointHash (certificate: Uint8Array): string {
  const cert = element(certificate, 0, certificate.length)
  if (cert.tag !== 0x30) throw new Error('not a DER certificate')
  const tbs = element(certificate, cert.start, cert.end)
  const algorithm = element(certificate, tbs.end, cert.end)
  if (tbs.tag !== 0x30 || algorithm.tag !== 0x30) throw new Error('not a DER certificate')
  const oid = element(certificate, algorithm.start, algorithm.end)
  if (oid.tag !== 0x06) throw new Error('not a DER certificate')
  return SIGNATURE_HASHES.get(oidText(certificate, oid)) ?? 'sha256'
}

/** `tls-server-end-point:` followed by the hash of the server's DER certificate (RFC 5929 section 4). */
export function tlsServerEndPoint (certificate: Uint8Array): Buffer {
  const hash = createHash(endPointHash(certificate)).update(certificate).digest()
  return Buffer.concat([Buffer.from('tls-server-end-point:', 'latin1'), hash])
}

/**
 * The `gss_channel_bindings_struct` (RFC 2744) with no addresses and `applicationData` (what
 * `tlsServerEndPoint()` returns), flattened as Windows and MIT do: five little-endian 32-bit fields
 * (initiator address type and length, acceptor address type and length, application data length)
 * followed by the application data.
 */
export function channelBindingsStruct (applicationData: Uint8Array): Buffer {
  const header = Buffer.alloc(20)
  header.writeUInt32LE(applicationData.length, 16)
  return Buffer.concat([header, applicationData])
}

/** NTLM's `MsvAvChannelBindings` value: MD5 of the channel bindings struct (MS-NLMP 2.2.2.1). */
export function ntlmChannelBindingsHash (applicationData: Uint8Array): Buffer {
  return createHash('md5').update(channelBindingsStruct(applicationData)).digest()
}
