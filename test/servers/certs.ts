import { readFileSync } from 'node:fs'

const dir = new URL('../fixtures/certs/', import.meta.url)
const read = (name: string): Buffer => readFileSync(new URL(name, dir))

/** The test PKI (test/fixtures/certs, made by generate.sh). Test-only keys. */
export const certs = {
  ca: read('ca.crt'),
  serverCert: read('server.crt'),
  serverKey: read('server.key'),
  clientCert: read('client.crt'),
  clientKey: read('client.key'),
  clientKeyEncrypted: read('client-encrypted.key'),
  clientPfx: read('client.pfx'),
  passphrase: 'test-passphrase-7f3a9c',
  untrustedCert: read('untrusted.crt'),
  untrustedKey: read('untrusted.key'),
  wrongHostCert: read('wronghost.crt'),
  wrongHostKey: read('wronghost.key'),
  expiredCert: read('expired.crt'),
  expiredKey: read('expired.key'),
  /** Another CA, and its leaf for DNS:localhost only (no IP SAN): must not pass for 127.0.0.1 or ::1. */
  localhostCa: read('localhost-ca.crt'),
  localhostOnlyCert: read('localhost-only.crt'),
  localhostOnlyKey: read('localhost-only.key'),
  path: (name: string): string => new URL(name, dir).pathname
}
