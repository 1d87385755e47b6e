import type { ConnectionSnapshot } from '../../src/fingerprint.ts'

export const GCM = 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'

/** What the IIS-like server leaves on a strict connection: one HelloRequest in, one client alert out, then a reset. */
export function iisSnapshot (overrides: Partial<ConnectionSnapshot> = {}): ConnectionSnapshot {
  return {
    stack: 'strict',
    handshakeComplete: true,
    protocol: 'TLSv1.2',
    cipher: GCM,
    alpn: 'http/1.1',
    offeredTls13: true,
    rawRead: 33,
    rawWritten: 131,
    plainRead: 0,
    plainWritten: 71,
    renegotiations: 0,
    finalFlightInWindow: false,
    windowDecodable: true,
    tlsErrors: [],
    ...overrides
  }
}
