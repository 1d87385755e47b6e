/**
 * MD4 (RFC 1320) in plain TypeScript. NTLM's NT hash is MD4 of the UTF-16LE password, and OpenSSL 3
 * (Node >= 17) refuses `md4` unless the whole process runs with `--openssl-legacy-provider`.
 * Only for the NT hash: MD4 is broken as a general hash.
 */

const rotl = (x: number, n: number): number => ((x << n) | (x >>> (32 - n))) >>> 0

const F = (x: number, y: number, z: number): number => (x & y) | (~x & z)
const G = (x: number, y: number, z: number): number => (x & y) | (x & z) | (y & z)
const H = (x: number, y: number, z: number): number => x ^ y ^ z

const ROUND1_SHIFTS = [3, 7, 11, 19]
const ROUND2_SHIFTS = [3, 5, 9, 13]
const ROUND3_SHIFTS = [3, 9, 11, 15]
const ROUND2_ORDER = [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15]
const ROUND3_ORDER = [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15]

/** The 16-byte MD4 digest of `data`. */
export function md4 (data: Uint8Array): Buffer {
  const bitLength = BigInt(data.length) * 8n
  const padded = Buffer.alloc((((data.length + 8) >> 6) + 1) << 6)
  padded.set(data)
  padded[data.length] = 0x80
  padded.writeBigUInt64LE(bitLength & 0xffffffffffffffffn, padded.length - 8)

  let a = 0x67452301
  let b = 0xefcdab89
  let c = 0x98badcfe
  let d = 0x10325476
  const x = new Uint32Array(16)
  for (let block = 0; block < padded.length; block += 64) {
    for (let i = 0; i < 16; i++) x[i] = padded.readUInt32LE(block + i * 4)
    const [aa, bb, cc, dd] = [a, b, c, d]
    for (let i = 0; i < 16; i++) {
      const t = rotl((a + F(b, c, d) + x[i]!) >>> 0, ROUND1_SHIFTS[i % 4]!);
      [a, b, c, d] = [d, t, b, c]
    }
    for (let i = 0; i < 16; i++) {
      const t = rotl((a + G(b, c, d) + x[ROUND2_ORDER[i]!]! + 0x5a827999) >>> 0, ROUND2_SHIFTS[i % 4]!);
      [a, b, c, d] = [d, t, b, c]
    }
    for (let i = 0; i < 16; i++) {
      const t = rotl((a + H(b, c, d) + x[ROUND3_ORDER[i]!]! + 0x6ed9eba1) >>> 0, ROUND3_SHIFTS[i % 4]!);
      [a, b, c, d] = [d, t, b, c]
    }
    a = (a + aa) >>> 0
    b = (b + bb) >>> 0
    c = (c + cc) >>> 0
    d = (d + dd) >>> 0
  }
  const out = Buffer.alloc(16)
  out.writeUInt32LE(a, 0)
  out.writeUInt32LE(b, 4)
  out.writeUInt32LE(c, 8)
  out.writeUInt32LE(d, 12)
  return out
}
