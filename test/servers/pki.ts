import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * Certificates made by the test with the openssl command line, in a temp dir: a three-level PKI
 * (root, intermediate, leaf for 127.0.0.1/localhost whose AIA names a caIssuers URL), and PKCS#12
 * client identities. Test-only keys, gone with `remove()`.
 */
export interface Pki {
  dir: string
  file: (name: string) => string
  read: (name: string) => Buffer
  /** A root CA `name` (self-signed). */
  root: (name: string) => void
  /** A CA `name` issued by `issuer`. */
  intermediate: (name: string, issuer: string) => void
  /** A server leaf `name` for 127.0.0.1 and localhost issued by `issuer`, naming `aiaUrl` as caIssuers when given. */
  leaf: (name: string, issuer: string, aiaUrl?: string) => void
  /** A client leaf `name` (CN=`name`, an RSA key, as Windows exports) issued by `issuer`. */
  client: (name: string, issuer: string) => void
  /** `openssl pkcs12 -export` of `name`'s key and certificate; `legacy` with RC2-40 and 3DES as Windows exports. */
  pkcs12: (name: string, out: string, passphrase: string, legacy: boolean) => Buffer
  remove: () => void
}

export function openssl (args: string[], cwd?: string): Buffer {
  return execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
}

export function makePki (): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'utf-pki-'))
  const file = (name: string): string => join(dir, name)
  const key = (name: string, rsa = false): void => {
    openssl(['genpkey', ...(rsa ? ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'] : ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']), '-out', file(`${name}.key`)])
  }
  let serial = 1
  const sign = (name: string, issuer: string, subject: string, extensions: string, rsa = false): void => {
    key(name, rsa)
    openssl(['req', '-new', '-key', file(`${name}.key`), '-subj', subject, '-out', file(`${name}.csr`)])
    writeFileSync(file(`${name}.ext`), extensions)
    serial += 1
    openssl(['x509', '-req', '-in', file(`${name}.csr`), '-CA', file(`${issuer}.crt`), '-CAkey', file(`${issuer}.key`),
      '-set_serial', String(serial), '-days', '30', '-extfile', file(`${name}.ext`), '-out', file(`${name}.crt`)])
  }
  return {
    dir,
    file,
    read: (name) => readFileSync(file(name)),
    root: (name) => {
      key(name)
      openssl(['req', '-x509', '-new', '-key', file(`${name}.key`), '-subj', `/CN=${name} Root`, '-days', '30',
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', file(`${name}.crt`)])
    },
    intermediate: (name, issuer) => {
      sign(name, issuer, `/CN=${name} Issuing CA`, 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n')
    },
    leaf: (name, issuer, aiaUrl) => {
      sign(name, issuer, `/CN=${name}`, 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' +
        'subjectAltName=IP:127.0.0.1,DNS:localhost\nauthorityKeyIdentifier=keyid\n' + (aiaUrl === undefined ? '' : `authorityInfoAccess=caIssuers;URI:${aiaUrl}\n`))
    },
    client: (name, issuer) => {
      sign(name, issuer, `/CN=${name}`, 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n', true)
    },
    pkcs12: (name, out, passphrase, legacy) => {
      openssl(['pkcs12', '-export', ...(legacy ? ['-legacy', '-certpbe', 'PBE-SHA1-RC2-40', '-keypbe', 'PBE-SHA1-3DES'] : []),
        '-inkey', file(`${name}.key`), '-in', file(`${name}.crt`), '-passout', `pass:${passphrase}`, '-out', file(out)])
      return readFileSync(file(out))
    },
    remove: () => { rmSync(dir, { recursive: true, force: true }) }
  }
}
