import { acceptsRenegotiation, tlsVersionRank, type StackName } from './stacks.ts'

/** Stable fingerprint ids, used in errors, logs, events and policy entries. */
export const FINGERPRINTS = [
  'renegotiation-refused',
  'unsafe-legacy-renegotiation',
  'client-certificate-required',
  'http11-required',
  'post-handshake-auth-required'
] as const
export type FingerprintId = typeof FINGERPRINTS[number]

/**
 * What one connection showed, measured by the connector. Byte counts run from the moment the failed
 * request's headers were handed to the socket (or from the end of the handshake when no request was
 * sent). `raw*` count TLS records on the wire (ciphertext), `plain*` decrypted application data.
 */
export interface ConnectionSnapshot {
  stack: StackName
  handshakeComplete: boolean
  /** Negotiated protocol, such as `'TLSv1.2'`; `null` before the handshake completed. */
  protocol: string | null
  /** IANA name of the negotiated cipher suite, such as `'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'`. */
  cipher: string | null
  alpn: string | false | null
  /** Whether the ClientHello offered TLS 1.3. */
  offeredTls13: boolean
  rawRead: number
  rawWritten: number
  plainRead: number
  plainWritten: number
  /** Renegotiations the server started during the request. Counted on stacks that accept renegotiation. */
  renegotiations: number
  /**
   * The byte window includes the client's last flight of a resumed TLS 1.2 handshake
   * (ChangeCipherSpec and Finished), which Node counts after the handshake completed.
   */
  finalFlightInWindow: boolean
  /**
   * The byte window belongs to the failed request alone (no earlier request on the connection was
   * still waiting for its response: no HTTP/1.1 pipelining), and both byte counts were measured at
   * the same layer (plaintext handed to TLS, ciphertext on the wire). Record lengths are decoded only
   * from such a window.
   */
  windowDecodable: boolean
  /** Codes of TLS-layer errors this connection raised before the failure (a record that failed authentication, ...). */
  tlsErrors: string[]
}

/** Why a fingerprint matched. JSON-safe: it goes into logs, events and policy entries. */
export interface Evidence {
  /** The code of the error the request failed with. */
  errorCode: string | undefined
  tlsVersion: string | null
  cipher: string | null
  /** Ciphertext bytes received after the request was sent. */
  bytesReceived: number
  /** Ciphertext bytes sent after the request was sent (request records included). */
  bytesSent: number
  /** Decrypted response bytes received (0 for every fingerprint of a failed connection). */
  plaintextReceived: number
  /** Records decoded from the ciphertext lengths (AEAD cipher suites only). */
  records?: { helloRequests: number, serverAlerts: number, clientAlerts: number } | undefined
  /** Renegotiations the server started during the request (stacks that accept renegotiation). */
  renegotiations?: number | undefined
  /**
   * True when the evidence cannot be forged by an on-path attacker: the client's own TLS stack
   * authenticated the server's record (it answered a HelloRequest with an alert, or began a
   * renegotiation). False when it rests on what an attacker could inject (lengths of records the
   * client never authenticated, a ServerHello without RFC 5746).
   */
  verified: boolean
  /** One sentence for people. */
  summary: string
}

export interface Diagnosis {
  fingerprint: FingerprintId
  evidence: Evidence
  /**
   * The server is known not to have processed the request, so any method may be sent again: the
   * handshake failed before it was sent, or an HTTP/2 GOAWAY's last-stream-id is below its stream
   * (RFC 9113 section 8.7). Absent or false: the server may have acted on it.
   */
  requestUnprocessed?: boolean
}

/** What Node reported about a failed HTTP/2 stream (its GOAWAY, when the session got one first). */
export interface Http2StreamFacts {
  streamId: number
  goawayCode: number | undefined
  /** The GOAWAY's last-stream-id: the highest stream the server may have acted on. */
  goawayLastStreamId: number | undefined
}

export interface DiagnoseInput {
  error: Error & { code?: string }
  stack: StackName
  /** The failed connection, when the error could be linked to one. */
  connection: ConnectionSnapshot | undefined
  /** Whether the host has a client certificate configured. */
  hasClientCert: boolean
  /** The failed HTTP/2 stream, when the error came from one. */
  http2?: Http2StreamFacts | undefined
}

/** Errors that mean the connection was reset or closed under the request. */
const CLOSED_CODES = new Set(['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE', 'ECONNABORTED'])

export function isConnectionClosedError (error: { code?: string | undefined }): boolean {
  return error.code !== undefined && CLOSED_CODES.has(error.code)
}

/**
 * A fatal handshake_failure alert from the server: how Apache answers a declined renegotiation
 * (OpenSSL names it differently across versions). Unlike a reset it is authenticated: the client
 * decrypted it with the session's keys.
 */
const REFUSAL_ALERT_CODES = new Set(['ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE', 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE'])

export const UNSAFE_LEGACY_CODE = 'ERR_SSL_UNSAFE_LEGACY_RENEGOTIATION_DISABLED'

/**
 * The handshake failed because the server's hello lacks RFC 5746 `renegotiation_info`: from the
 * error's code only. Node reports a write pending before the handshake ended as a bare `EPROTO`
 * (errno, code and syscall; OpenSSL's reason only in the message), but nothing this library opens
 * writes before the handshake: undici's connector calls back on 'secureConnect'. Such an error is
 * not diagnosed and reaches the caller as it came.
 */
export function isUnsafeLegacyError (error: { code?: string | undefined }): boolean {
  return error.code === UNSAFE_LEGACY_CODE
}

/**
 * Per-record overhead of a TLS 1.2 AEAD cipher suite: 5-byte header, explicit nonce, tag. For these
 * suites a record's length is its plaintext length plus this constant, which makes small control
 * records recognisable: a HelloRequest carries 4 bytes of plaintext, an alert 2.
 */
export function aeadRecordOverhead (cipher: string | null): number | undefined {
  if (cipher === null) return undefined
  if (cipher.includes('CHACHA20_POLY1305')) return 5 + 16
  if (cipher.endsWith('_CCM_8')) return 5 + 8 + 8
  if (cipher.includes('_GCM_') || cipher.endsWith('_CCM')) return 5 + 8 + 16
  return undefined
}

const HELLO_REQUEST = 4
const ALERT = 2
const CHANGE_CIPHER_SPEC_RECORD = 6
const FINISHED = 16

/**
 * Decodes the control records hidden in ciphertext counts after a request, for AEAD suites.
 * Received: no application data was decrypted, so every received record was a control record:
 * `received mod overhead = 4·helloRequests + 2·alerts`. Sent: every application record costs
 * `plaintext + overhead`, so `(sent - plaintextSent) mod overhead = 2·alerts`.
 * With `finalFlight`, the sent bytes also hold the client's ChangeCipherSpec record (6 bytes) and
 * its encrypted Finished (16 bytes of plaintext), as at the end of a resumed handshake.
 * Returns undefined when the counts do not decode into a small number of control records.
 */
export function decodeControlRecords (
  received: number, sent: number, plaintextSent: number, overhead: number, finalFlight = false
): { helloRequests: number, serverAlerts: number, clientAlerts: number } | undefined {
  const tail = finalFlight ? CHANGE_CIPHER_SPEC_RECORD + FINISHED + overhead : 0
  if (received <= 0 || sent < plaintextSent + tail) return undefined
  const r = received % overhead
  const w = (sent - plaintextSent - tail) % overhead
  if (w % ALERT !== 0 || w > 4 * ALERT) return undefined
  let helloRequests = 0
  let serverAlerts: number
  if (r === HELLO_REQUEST || r === HELLO_REQUEST + ALERT || r === HELLO_REQUEST + 2 * ALERT) {
    helloRequests = 1
    serverAlerts = (r - HELLO_REQUEST) / ALERT
  } else if (r === ALERT) {
    serverAlerts = 1
  } else {
    return undefined
  }
  const records = Math.floor(received / overhead)
  if (records < helloRequests + serverAlerts) return undefined
  return { helloRequests, serverAlerts, clientAlerts: w / ALERT }
}

function baseEvidence (error: DiagnoseInput['error'], c: ConnectionSnapshot | undefined): Omit<Evidence, 'verified' | 'summary'> {
  return {
    errorCode: error.code,
    tlsVersion: c?.protocol ?? null,
    cipher: c?.cipher ?? null,
    bytesReceived: c?.rawRead ?? 0,
    bytesSent: c?.rawWritten ?? 0,
    plaintextReceived: c?.plainRead ?? 0
  }
}

/** HTTP/2 error code HTTP_1_1_REQUIRED (RFC 9113 section 7). */
export const HTTP_1_1_REQUIRED = 0xd

/**
 * Whether the server refused HTTP/2 for the request with HTTP_1_1_REQUIRED, from structured facts
 * only: undici's `http2ErrorCode` (the stream's RST_STREAM code, or the code of the GOAWAY that
 * closed the session under it), or the GOAWAY(HTTP_1_1_REQUIRED) that Node reported for the
 * request's session whose last-stream-id is below the request's stream (undici then fails the
 * request with its own error, which names the code only in its message). Never from an error's
 * text: a certificate error quotes the certificate's names, and a server chooses those.
 */
export function isHttp11Required (error: DiagnoseInput['error'], stream?: Http2StreamFacts): boolean {
  if ((error as { http2ErrorCode?: unknown }).http2ErrorCode === HTTP_1_1_REQUIRED) return true
  return stream !== undefined && stream.goawayCode === HTTP_1_1_REQUIRED &&
    stream.goawayLastStreamId !== undefined && stream.streamId > stream.goawayLastStreamId
}

/**
 * Whether an HTTP_1_1_REQUIRED refusal proves the request was not processed. RFC 9113 section 8.7:
 * only REFUSED_STREAM, or a stream above a GOAWAY's last-stream-id, is known unprocessed. undici
 * fails a request with its own GOAWAY error only when the GOAWAY did not cover the request's
 * stream; otherwise Node's stream error is joined to the GOAWAY the session received. A
 * RST_STREAM(HTTP_1_1_REQUIRED) says nothing about processing (IIS sends it when an application
 * asks late for a client certificate, after it acted), so it does not count.
 */
function http11RefusalUnprocessed (stream: Http2StreamFacts | undefined): { unprocessed: boolean, summary: string } {
  if (stream?.goawayLastStreamId !== undefined) {
    return stream.streamId > stream.goawayLastStreamId
      ? { unprocessed: true, summary: `the server sent GOAWAY with HTTP_1_1_REQUIRED, and its last-stream-id (${stream.goawayLastStreamId}) is below the request's stream (${stream.streamId}): the request was not processed` }
      : { unprocessed: false, summary: `the server sent GOAWAY with HTTP_1_1_REQUIRED whose last-stream-id (${stream.goawayLastStreamId}) covers the request's stream (${stream.streamId}): the server may have acted on it` }
  }
  return { unprocessed: false, summary: 'the server closed the request\'s HTTP/2 stream with HTTP_1_1_REQUIRED (RST_STREAM): the server may have acted on it' }
}

/**
 * Matches a failed attempt against the known fingerprints. Returns undefined for everything else,
 * a bare reset or close included: such failures move no policy and reach the caller unchanged.
 */
export function diagnose (input: DiagnoseInput): Diagnosis | undefined {
  const { error, stack, connection: c } = input

  if (isHttp11Required(error, input.http2)) {
    const { unprocessed, summary } = http11RefusalUnprocessed(input.http2)
    return {
      fingerprint: 'http11-required',
      requestUnprocessed: unprocessed,
      evidence: {
        ...baseEvidence(error, c),
        // HTTP/2 frames travel inside TLS: nobody on the path can forge one.
        verified: true,
        summary
      }
    }
  }

  if (isUnsafeLegacyError(error) && stack !== 'legacy-server-connect' && c?.handshakeComplete !== true) {
    return {
      fingerprint: 'unsafe-legacy-renegotiation',
      // The handshake failed: the request never left.
      requestUnprocessed: true,
      evidence: {
        ...baseEvidence(error, c),
        verified: false,
        summary: 'the server\'s hello carried no RFC 5746 renegotiation_info, so a strict client refused the handshake'
      }
    }
  }

  if (c === undefined || !c.handshakeComplete || c.plainRead !== 0) return undefined

  if (acceptsRenegotiation(stack)) {
    // The server started a renegotiation and then ended the connection (a close or a TLS alert),
    // not merely took its time.
    const ended = isConnectionClosedError(error) || (error.code ?? '').startsWith('ERR_SSL_')
    if (c.renegotiations >= 1 && !input.hasClientCert && ended) {
      return {
        fingerprint: 'client-certificate-required',
        evidence: {
          ...baseEvidence(error, c),
          renegotiations: c.renegotiations,
          verified: true,
          summary: 'the server renegotiated after the request, no client certificate was offered, and it closed without a response'
        }
      }
    }
    return undefined
  }

  if (!isConnectionClosedError(error) && !REFUSAL_ALERT_CODES.has(error.code ?? '')) return undefined
  if (c.alpn === 'h2' || tlsVersionRank(c.protocol) < 0 || tlsVersionRank(c.protocol) > tlsVersionRank('TLSv1.2')) return undefined
  if (c.rawRead <= 0) return undefined
  // Any other TLS error on the connection (a record that failed authentication, say) disqualifies it.
  if (!c.tlsErrors.every((code) => REFUSAL_ALERT_CODES.has(code))) return undefined

  if (!c.windowDecodable) {
    return {
      fingerprint: 'renegotiation-refused',
      evidence: {
        ...baseEvidence(error, c),
        verified: false,
        summary: `${c.rawRead} bytes of TLS records arrived after the request and no response byte; the byte window is not this request's alone (HTTP/1.1 pipelining), so record lengths are not decoded`
      }
    }
  }
  const overhead = aeadRecordOverhead(c.cipher)
  if (overhead === undefined) {
    return {
      fingerprint: 'renegotiation-refused',
      evidence: {
        ...baseEvidence(error, c),
        verified: false,
        summary: `${c.rawRead} bytes of TLS records arrived after the request and no response byte; the cipher suite does not let record lengths be decoded`
      }
    }
  }
  const records = decodeControlRecords(c.rawRead, c.rawWritten, c.plainWritten, overhead, c.finalFlightInWindow)
  // A HelloRequest the client never answered proves nothing: anyone on the path can inject bytes.
  if (records === undefined || records.helloRequests === 0 || records.clientAlerts === 0) return undefined
  return {
    fingerprint: 'renegotiation-refused',
    evidence: {
      ...baseEvidence(error, c),
      records,
      verified: true,
      // Verified: the HelloRequest and the client's answer. The end is the server's own only when it sent an alert (a reset or FIN is not authenticated).
      summary: 'the server sent a HelloRequest after the request; the client declined it with an alert; ' +
        (records.serverAlerts > 0
          ? 'the server then ended the connection with an alert, without a response'
          : 'the connection then ended without a response (a reset or close: not authenticated, so not proof that the server did not act)')
    }
  }
}

/**
 * Apache httpd's own 403 page when mod_ssl cannot perform post-handshake authentication (2.4.37 and
 * later, OpenSSL): `ssl_hook_Access` logs AH10158 and sets the request's error-notes to
 * `Reason: Cannot perform Post-Handshake Authentication.<br />`, which `ap_send_error_response`
 * puts into its default 403 document. Measured against Apache 2.4.71 (Debian, OpenSSL 3.0), with and
 * without mod_http2, `ServerSignature` Off/On/EMail, `ServerTokens` Prod/OS/Full, `UseCanonicalName`
 * On/Off, mod_deflate (`AddOutputFilterByType DEFLATE text/html` and `SetOutputFilter DEFLATE`):
 *
 * - status `403 Forbidden` over HTTP/1.1 (over h2, mod_http2 resets the stream with HTTP_1_1_REQUIRED:
 *   the page never travels over HTTP/2);
 * - `Content-Type: text/html; charset=iso-8859-1`, an exact `Content-Length`, never chunked, never
 *   compressed (the 403 is sent from the access check, before any output filter is inserted);
 * - `Server: Apache` or `Apache/...` (what follows depends on `ServerTokens`; mod_headers cannot
 *   change it: `Header always set Server` had no effect);
 * - the body below, byte for byte, except for the optional signature line (`ServerSignature On` or
 *   `EMail`, Debian's default): `<hr>\n<address>{banner} Server at {host} Port {port}</address>\n`,
 *   the host as a mailto link with `EMail`, before `</body></html>`.
 *
 * A custom `ErrorDocument 403` replaces the document: such a server is not recognised. Others were
 * checked and have nothing to match: nginx, HAProxy, Caddy, Envoy and IIS cannot ask for a
 * certificate per location over TLS 1.3 (nginx answers 400 "No required SSL certificate was sent"
 * for a certificate it asked for in the handshake; IIS resets or answers 500); Tomcat and mod_gnutls
 * answer without a distinguishing text.
 */
export const APACHE_PHA_DOCUMENT = Object.freeze({
  head: '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">\n' +
    '<html><head>\n<title>403 Forbidden</title>\n</head><body>\n<h1>Forbidden</h1>\n' +
    '<p>You don\'t have permission to access this resource.Reason: Cannot perform Post-Handshake Authentication.<br /></p>\n',
  tail: '</body></html>\n'
})

const PHA_HEAD = Buffer.from(APACHE_PHA_DOCUMENT.head, 'latin1')
const PHA_TAIL = Buffer.from(APACHE_PHA_DOCUMENT.tail, 'latin1')
/** `ap_psignature("<hr>\n", r)`: the banner (`ServerTokens`), then the host (HTML-escaped), as a mailto link with `ServerSignature EMail`. */
const PHA_SIGNATURE = /^<hr>\n<address>Apache(?:\/[^<>\n]*)? Server at (?:<a href="[^"<>\n]*">[^<>\n]*<\/a>|[^<>\n]*) Port \d{1,5}<\/address>\n$/
const APACHE_SERVER = /^Apache(?:\/[\x21-\x7e][\x20-\x7e]*)?$/
/** The longest signature line accepted (a banner, a host name and an administrator's address). */
const MAX_SIGNATURE = 1024

/** What the matcher reads of a complete response held back by the agent. */
export interface HeldAnswer {
  statusCode: number
  statusMessage: string | undefined
  /** undici's parsed headers (lower-case names; a repeated header is an array). */
  headers: Record<string, string | string[] | undefined>
  /** The body as it came (no Content-Encoding undone). */
  body: Buffer
  /** The ALPN protocol of the connection (`'h2'` for HTTP/2). */
  alpn: string | false | null | undefined
}

/**
 * Whether a complete response is Apache's own post-handshake-auth 403, as measured (see
 * APACHE_PHA_DOCUMENT): status, status text, protocol, headers and the whole document. When in doubt
 * it is not: text an application reflects into its own 403 (a form field, a resource name) never
 * matches, because the document must be Apache's from its first byte to its last and come with the
 * headers Apache's error page has. A response that passes is Apache's, or an application that forges
 * Apache's whole error response on purpose: the server's own word about itself, inside TLS.
 */
export function isApachePostHandshakeAuth (answer: HeldAnswer): boolean {
  if (answer.statusCode !== 403 || answer.statusMessage !== 'Forbidden' || answer.alpn === 'h2') return false
  const h = answer.headers
  if (h['content-type'] !== 'text/html; charset=iso-8859-1') return false
  if (h['content-encoding'] !== undefined || h['transfer-encoding'] !== undefined) return false
  const server = h.server
  if (typeof server !== 'string' || !APACHE_SERVER.test(server)) return false
  const length = h['content-length']
  const body = answer.body
  if (typeof length !== 'string' || !/^\d{1,6}$/.test(length) || Number(length) !== body.length) return false
  const middle = body.length - PHA_HEAD.length - PHA_TAIL.length
  if (middle < 0 || middle > MAX_SIGNATURE) return false
  if (!body.subarray(0, PHA_HEAD.length).equals(PHA_HEAD) || !body.subarray(body.length - PHA_TAIL.length).equals(PHA_TAIL)) return false
  return middle === 0 || PHA_SIGNATURE.test(body.toString('latin1', PHA_HEAD.length, PHA_HEAD.length + middle))
}

/**
 * The diagnosis of a held-back 403 whose body says the server cannot perform post-handshake
 * authentication. Only called for a response that arrived inside TLS (1.3 on the first attempt):
 * nobody on the path can write into it, so the evidence is verified.
 */
export function postHandshakeAuthDiagnosis (
  connection: { protocol: string | null, cipher: string | null } | undefined,
  bodyBytes: number
): Diagnosis {
  return {
    fingerprint: 'post-handshake-auth-required',
    evidence: {
      errorCode: undefined,
      tlsVersion: connection?.protocol ?? null,
      cipher: connection?.cipher ?? null,
      bytesReceived: 0,
      bytesSent: 0,
      plaintextReceived: bodyBytes,
      // An HTTP response inside TLS: the server's own word.
      verified: true,
      summary: `the server answered 403 on ${connection?.protocol ?? 'TLS'}: it cannot perform post-handshake authentication ` +
        '(the client did not announce it), so it asks for the client certificate only through a TLS 1.2 renegotiation'
    }
  }
}
