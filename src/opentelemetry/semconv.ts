/**
 * Names of the metrics, attributes and span events that `TlsFallbackInstrumentation` records, in
 * OpenTelemetry style: a `tls_fallback.` namespace for this library's own, the HTTP semantic
 * conventions' `server.address`, `server.port` and `error.type` for the rest.
 */

/** Counter, `{attempt}`: attempts of HTTPS requests, counted when the request ends. */
export const METRIC_ATTEMPTS = 'tls_fallback.attempts'
/** Counter, `{diagnosis}`: failures that matched a fingerprint. */
export const METRIC_DIAGNOSES = 'tls_fallback.diagnoses'
/** Counter, `{transition}`: policy transitions of an origin. */
export const METRIC_TRANSITIONS = 'tls_fallback.transitions'
/** Histogram, `s`: the time a fallback added to the request that needed it. */
export const METRIC_FALLBACK_DURATION = 'tls_fallback.fallback.duration'
/** Observable gauge, `{policy}`: learned policies, by stack. */
export const METRIC_POLICIES = 'tls_fallback.policies'

/** The host the request goes to (HTTP semantic conventions), without IPv6 brackets. */
export const ATTR_SERVER_ADDRESS = 'server.address'
/** The port the request goes to (HTTP semantic conventions): 443 when the URL has none. */
export const ATTR_SERVER_PORT = 'server.port'
/** An error code such as `ECONNRESET` or `UND_ERR_SOCKET` (semantic conventions), `_OTHER` when it does not look like one. */
export const ATTR_ERROR_TYPE = 'error.type'
/** `strict`, `tls13`, `renegotiation` or `legacy-server-connect`. */
export const ATTR_STACK = 'tls_fallback.stack'
/** `initial`, `fallback`, `retry` or `revalidate`. */
export const ATTR_REASON = 'tls_fallback.reason'
/** `success` (the attempt got a response) or `failure`. */
export const ATTR_OUTCOME = 'tls_fallback.outcome'
/** `renegotiation-refused`, `client-certificate-required`, `unsafe-legacy-renegotiation` or `http11-required`. */
export const ATTR_FINGERPRINT = 'tls_fallback.fingerprint'
/** Whether the evidence could not have been forged by an on-path attacker. */
export const ATTR_VERIFIED = 'tls_fallback.verified'
/** The stack an origin moved from, and to. */
export const ATTR_FROM = 'tls_fallback.from'
export const ATTR_TO = 'tls_fallback.to'
/** Whether the origin's requests go over HTTP/1.1 only. */
export const ATTR_HTTP1_ONLY = 'tls_fallback.http1_only'
/** Span attribute: how many attempts the request took. */
export const ATTR_ATTEMPTS = 'tls_fallback.attempts'
/** Span event attribute: the evidence in words (record counts and timings, never payloads). */
export const ATTR_EVIDENCE = 'tls_fallback.evidence'

/** Span event attribute: the body's size in bytes (HTTP semantic conventions), here of an AIA fetch. */
export const ATTR_HTTP_RESPONSE_BODY_SIZE = 'http.response.body.size'
/** Span event attribute: the URL's scheme (semantic conventions): `http` for an AIA fetch. */
export const ATTR_URL_SCHEME = 'url.scheme'
/** Span event attribute: what a fetch of a missing intermediate gave (`fetched`, `stored`, `timeout`, `not-issuer`, ...). */
export const ATTR_INTERMEDIATE_OUTCOME = 'tls_fallback.intermediate.outcome'
/** Span event attribute: how many certificates the AIA body held. */
export const ATTR_INTERMEDIATE_CERTIFICATES = 'tls_fallback.intermediate.certificates'

/** Span event: a missing intermediate was fetched from the leaf's AIA URL, or read back from the policy store (`fetchIntermediates`). */
export const EVENT_INTERMEDIATE = 'tls_fallback.intermediate_fetch'

/** Span event: a failure matched a fingerprint. */
export const EVENT_DIAGNOSIS = 'tls_fallback.diagnosis'
/** Span event: the request's diagnosis moved its origin's policy. */
export const EVENT_TRANSITION = 'tls_fallback.transition'
/** Span event: a new connection was primed for an upload (`uploadPriming`), on the span active when it was opened. */
export const EVENT_PRIMING = 'tls_fallback.priming'
/** Span event attribute: `renegotiated`, `not-renegotiated`, `not-applicable` or `failed`. */
export const ATTR_PRIMING_OUTCOME = 'tls_fallback.priming.outcome'
/** The status of the priming response (HTTP semantic conventions' name). */
export const ATTR_STATUS_CODE = 'http.response.status_code'

/** Counter: connection handshakes of Windows authentication (`hosts[...].auth`), by scheme, mechanism and outcome. */
export const METRIC_AUTH_HANDSHAKES = 'tls_fallback.auth.handshakes'
/** Span event: a connection for the request was authenticated (or refused); never a token. */
export const EVENT_AUTH = 'tls_fallback.auth'
/** The configured scheme: `ntlm` or `negotiate`. */
export const ATTR_AUTH_SCHEME = 'tls_fallback.auth.scheme'
/** What ran: `ntlm` or `kerberos`. */
export const ATTR_AUTH_MECHANISM = 'tls_fallback.auth.mechanism'
/** Requests the handshake sent. */
export const ATTR_AUTH_LEGS = 'tls_fallback.auth.legs'
/** `authenticated`, `rejected` or `failed`. */
export const ATTR_AUTH_OUTCOME = 'tls_fallback.auth.outcome'
/** Counter, `{handshake}`: proxy authentication handshakes (`proxy.auth`), one per CONNECT tunnel, by scheme, mechanism and outcome. */
export const METRIC_PROXY_AUTH_HANDSHAKES = 'tls_fallback.proxy_auth.handshakes'
/** Counter, `{leg}`: `Proxy-Authorization` legs sent in those handshakes. */
export const METRIC_PROXY_AUTH_LEGS = 'tls_fallback.proxy_auth.legs'
/** Span event: a CONNECT tunnel for the request authenticated to its proxy (or was refused); never a token. */
export const EVENT_PROXY_AUTH = 'tls_fallback.proxy_auth'

/** The value of `server.address` for origins past the `maxServers` bound. */
export const OTHER = '_OTHER'
