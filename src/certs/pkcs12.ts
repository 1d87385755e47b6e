import { createPrivateKey, X509Certificate } from 'node:crypto'
import { createRequire } from 'node:module'
import type * as Forge from 'node-forge'

/**
 * Legacy PKCS#12 (RC2-40 or 3DES, SHA-1 MAC), as Windows and OpenSSL 1.x export `.pfx` files.
 * OpenSSL 3 keeps RC2 in its legacy provider only, so Node refuses such a file
 * (`ERR_CRYPTO_UNSUPPORTED_OPERATION`, "Unsupported PKCS12 PFX data") unless the whole process
 * runs with `--openssl-legacy-provider`. Here the file is decoded once, at construction, with the
 * optional peer dependency node-forge, into a PEM key and certificate chain: nothing changes for
 * the rest of the process.
 */

/** A client identity decoded from a legacy PKCS#12: the leaf first, then the rest of the chain. */
export interface DecodedPkcs12 {
  key: string
  cert: string
}

/** Why a legacy PKCS#12 could not be decoded; `reason` is one of ours, never text from the file or the passphrase. */
export class Pkcs12Error extends Error {
  readonly reason: 'forge-missing' | 'bad-passphrase' | 'malformed' | 'no-key' | 'no-certificate'
  constructor (reason: Pkcs12Error['reason'], message: string) {
    super(message)
    this.reason = reason
  }
}

/** Whether Node refused a PKCS#12 because it uses algorithms OpenSSL 3 keeps in its legacy provider. */
export function isUnsupportedPkcs12 (error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown, message?: unknown }
  return code === 'ERR_CRYPTO_UNSUPPORTED_OPERATION' && typeof message === 'string' && message.includes('PKCS12')
}

/**
 * node-forge, loaded synchronously (construction is synchronous; node-forge is CommonJS).
 * `specifier` is for tests.
 */
export function loadForge (specifier = 'node-forge'): typeof Forge {
  try {
    return createRequire(import.meta.url)(specifier) as typeof Forge
  } catch {
    throw new Pkcs12Error('forge-missing', 'is a legacy PKCS#12 (RC2/3DES, SHA-1 MAC) that OpenSSL 3 does not load; ' +
      'decoding it needs the optional peer dependency node-forge: npm install node-forge ' +
      '(or re-export the file: openssl pkcs12 -in old.pfx -nodes -legacy | openssl pkcs12 -export -out new.pfx)')
  }
}

const decoded = new WeakSet<object>()

/** Whether a client certificate came from a legacy PKCS#12 decoded at construction (the probe says so). */
export function wasLegacyPkcs12 (clientCert: object): boolean {
  return decoded.has(clientCert)
}

/** Marks a client certificate as decoded from a legacy PKCS#12. */
export function markLegacyPkcs12<T extends object> (clientCert: T): T {
  decoded.add(clientCert)
  return clientCert
}

/** Decodes a legacy PKCS#12 into PEM. Throws `Pkcs12Error`; its message never holds the passphrase. */
export function decodeLegacyPkcs12 (pfx: Uint8Array | string, passphrase: string | undefined, forge: typeof Forge = loadForge()): DecodedPkcs12 {
  const bytes = typeof pfx === 'string' ? Buffer.from(pfx, 'latin1') : Buffer.from(pfx)
  let p12: Forge.pkcs12.Pkcs12Pfx
  let asn1: Forge.asn1.Asn1
  try {
    asn1 = forge.asn1.fromDer(forge.util.createBuffer(bytes.toString('binary')))
  } catch {
    throw new Pkcs12Error('malformed', 'is not PKCS#12 data that can be decoded')
  }
  try {
    p12 = forge.pkcs12.pkcs12FromAsn1(asn1, true, passphrase ?? '')
  } catch (error) {
    const text = error instanceof Error ? error.message : ''
    if (/MAC could not be verified|Invalid password|decrypt/i.test(text)) {
      throw new Pkcs12Error('bad-passphrase', 'cannot be opened with the passphrase given (the PKCS#12 MAC does not verify): check the passphrase')
    }
    throw new Pkcs12Error('malformed', 'is not PKCS#12 data that can be decoded')
  }
  const { oids } = forge.pki
  const keyBags = [
    ...(p12.getBags({ bagType: oids.pkcs8ShroudedKeyBag ?? '' })[oids.pkcs8ShroudedKeyBag ?? ''] ?? []),
    ...(p12.getBags({ bagType: oids.keyBag ?? '' })[oids.keyBag ?? ''] ?? [])
  ]
  const certBags = p12.getBags({ bagType: oids.certBag ?? '' })[oids.certBag ?? ''] ?? []
  const keyBag = keyBags[0]
  if (keyBag === undefined) throw new Pkcs12Error('no-key', 'holds no private key (or it cannot be decrypted with the passphrase given)')
  // node-forge parses RSA keys and certificates only; any other kind stays as its decrypted ASN.1.
  const keyInfo = keyBag.key != null
    ? forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(keyBag.key))
    : (keyBag as { asn1?: Forge.asn1.Asn1 }).asn1
  if (keyInfo === undefined) throw new Pkcs12Error('no-key', 'holds a private key that cannot be read')
  const der = (node: Forge.asn1.Asn1): Buffer => Buffer.from(forge.asn1.toDer(node).getBytes(), 'binary')
  let key
  try {
    key = createPrivateKey({ key: der(keyInfo), format: 'der', type: 'pkcs8' })
  } catch {
    throw new Pkcs12Error('no-key', 'holds a private key that cannot be read')
  }
  const certificates: X509Certificate[] = []
  for (const bag of certBags) {
    const node = bag.cert != null ? forge.pki.certificateToAsn1(bag.cert) : (bag as { asn1?: Forge.asn1.Asn1 }).asn1
    if (node === undefined) continue
    try {
      certificates.push(new X509Certificate(der(node)))
    } catch {
      throw new Pkcs12Error('malformed', 'holds a certificate that does not parse')
    }
  }
  const leaf = certificates.find((c) => c.checkPrivateKey(key))
  if (leaf === undefined) throw new Pkcs12Error('no-certificate', 'holds no certificate for its private key')
  const chain = [leaf, ...certificates.filter((c) => c !== leaf)]
  return {
    key: key.export({ format: 'pem', type: 'pkcs8' }).toString(),
    cert: chain.map((c) => c.toString()).join('')
  }
}
