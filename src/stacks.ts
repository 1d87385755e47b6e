import { constants } from 'node:crypto'
import type { ConnectionOptions } from 'node:tls'

/**
 * The TLS stacks, from strictest to most lenient. Certificate verification is the same on every
 * stack: only renegotiation and the protocol version differ.
 */
export const STACKS = ['strict', 'tls13', 'renegotiation', 'legacy-server-connect'] as const
export type StackName = typeof STACKS[number]

/** The stacks a ladder may list (the start, `strict`, is implied). */
export const LADDER_STACKS = ['tls13', 'renegotiation', 'legacy-server-connect'] as const
export type FallbackStack = typeof LADDER_STACKS[number]

export const DEFAULT_FALLBACK: readonly FallbackStack[] = Object.freeze(['tls13', 'renegotiation'])

export function isStackName (value: unknown): value is StackName {
  return typeof value === 'string' && (STACKS as readonly string[]).includes(value)
}

/** Whether the stack accepts a server's renegotiation (HelloRequest). */
export function acceptsRenegotiation (stack: StackName): boolean {
  return stack === 'renegotiation' || stack === 'legacy-server-connect'
}

const TLS_VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const
export function tlsVersionRank (version: string | null | undefined): number {
  return TLS_VERSIONS.indexOf(version as typeof TLS_VERSIONS[number])
}

type KeyMaterial = string | Buffer | Array<string | Buffer>

/**
 * The client certificate of a host, as given in `hosts[...].clientCert`: `cert` and `key` (PEM text,
 * not file names), or `pfx` (PKCS#12); `passphrase` for an encrypted key or pfx. A `cert` without
 * its `key` is rejected by the types and at construction.
 */
export type ClientCertificate =
  | { cert: KeyMaterial, key: KeyMaterial, pfx?: undefined, passphrase?: string }
  | { pfx: KeyMaterial, cert?: undefined, key?: undefined, passphrase?: string }

/**
 * The TLS options of a stack: the user's `connect` options, the host's client certificate, then
 * what the stack itself decides (renegotiation, legacy server connect, protocol versions).
 */
export function stackTlsOptions (
  stack: StackName,
  userConnect: Readonly<ConnectionOptions>,
  clientCert: ClientCertificate | undefined
): ConnectionOptions {
  const options: ConnectionOptions = { ...userConnect }
  if (clientCert !== undefined) {
    for (const name of ['cert', 'key', 'pfx', 'passphrase'] as const) {
      if (clientCert[name] !== undefined) (options as Record<string, unknown>)[name] = clientCert[name]
    }
  }
  let secureOptions = (userConnect.secureOptions ?? 0) &
    ~constants.SSL_OP_NO_RENEGOTIATION & ~constants.SSL_OP_LEGACY_SERVER_CONNECT
  switch (stack) {
    case 'strict':
      secureOptions |= constants.SSL_OP_NO_RENEGOTIATION
      break
    case 'tls13':
      secureOptions |= constants.SSL_OP_NO_RENEGOTIATION
      options.minVersion = 'TLSv1.3'
      options.maxVersion = 'TLSv1.3'
      break
    case 'renegotiation':
      break
    case 'legacy-server-connect':
      secureOptions |= constants.SSL_OP_LEGACY_SERVER_CONNECT
      break
  }
  options.secureOptions = secureOptions
  if (stack !== 'tls13') {
    options.minVersion = userConnect.minVersion ?? 'TLSv1.2'
  }
  if (stack === 'renegotiation' && tlsVersionRank(userConnect.maxVersion ?? 'TLSv1.3') > tlsVersionRank('TLSv1.2') &&
    tlsVersionRank(options.minVersion) <= tlsVersionRank('TLSv1.2')) {
    // Renegotiation exists only up to TLS 1.2: a server that asks for a client certificate after the
    // handshake renegotiates on TLS 1.2 but, on TLS 1.3, needs post-handshake authentication, which
    // Node's client cannot announce. This stack therefore offers at most TLS 1.2 (unless the user's
    // connect.minVersion is TLSv1.3: then nothing below it is offered, and the stack cannot renegotiate).
    options.maxVersion = 'TLSv1.2'
  }
  return options
}

/** The stack that addresses a fingerprint, when there is one. */
export function stackFor (fingerprint: string): FallbackStack | undefined {
  if (fingerprint === 'renegotiation-refused') return 'renegotiation'
  if (fingerprint === 'unsafe-legacy-renegotiation') return 'legacy-server-connect'
  if (fingerprint === 'post-handshake-auth-required') return 'renegotiation'
  return undefined
}

/**
 * The stacks to try, in the host's order, after a fingerprint matched. `tls13` is tried for a
 * refused renegotiation only when the failed connection did not offer TLS 1.3 (the user capped the
 * version): when it did and the server chose 1.2, a TLS 1.3-only hello cannot succeed.
 */
export function ladderFor (
  fingerprint: string,
  fallback: readonly FallbackStack[],
  failed: { offeredTls13: boolean, protocol: string | null } | undefined
): FallbackStack[] {
  if (fingerprint === 'renegotiation-refused') {
    const serverChoseOld = failed !== undefined && failed.offeredTls13 && tlsVersionRank(failed.protocol) < tlsVersionRank('TLSv1.3')
    return fallback.filter((stack) => stack === 'renegotiation' || (stack === 'tls13' && !serverChoseOld))
  }
  if (fingerprint === 'unsafe-legacy-renegotiation') {
    return fallback.filter((stack) => stack === 'legacy-server-connect')
  }
  if (fingerprint === 'post-handshake-auth-required') {
    // TLS 1.2, where the server can renegotiate for the certificate.
    return fallback.filter((stack) => stack === 'renegotiation')
  }
  return []
}
