import { ErrorCodes, TlsFallbackError, type AttemptSummary, type TlsFallbackErrorDetails } from './errors.ts'
import type { Diagnosis } from './fingerprint.ts'
import type { HostRule } from './options.ts'
import type { PostHandshakeAuthUnremedied } from './decide.ts'
import type { FallbackStack, StackName } from './stacks.ts'

/**
 * The errors and notices a request ends with after a diagnosis, built in one place: each names the
 * origin, the fingerprint and its evidence, and the option that would change the outcome. What to
 * do is decided in src/decide.ts; this file only says it.
 */

/** What a message says about the request: where it went, on which stack, and its attempts so far. */
export interface FailureContext {
  readonly origin: string
  readonly url: URL
  readonly rule: HostRule
  readonly stack: StackName
  readonly method: string
  readonly attempts: AttemptSummary[]
  /** The agent's `maxReplayBodySize`, named when a body could not go again. */
  readonly maxReplayBodySize: number
}

/** The host as the host's rule names it (its pattern), else the URL's host with its port. */
function hostOfRule (rule: HostRule, url: URL): string {
  return rule.pattern?.key ?? url.host
}

/** The option to set for this host's client certificate. */
function clientCertPath (rule: HostRule, url: URL): string {
  return rule.pattern === undefined
    ? `hosts: { '${url.hostname}': { clientCert: { cert, key } } }`
    : `${rule.path}.clientCert`
}

function details (c: FailureContext, diagnosis: Diagnosis, cause: Error): TlsFallbackErrorDetails {
  return { cause, origin: c.origin, fingerprint: diagnosis.fingerprint, attempts: c.attempts }
}

/** A verified refusal after the request was sent, and a request that is not idempotent: not sent twice by default. */
export function notReplayedError (c: FailureContext, diagnosis: Diagnosis, cause: Error, next: string): TlsFallbackError {
  const option = c.rule.pattern === undefined ? 'replayNonIdempotent: true' : `${c.rule.path}.replayNonIdempotent: true`
  return new TlsFallbackError(ErrorCodes.NOT_REPLAYED,
    `${c.origin}: ${diagnosis.fingerprint} on the ${c.stack} stack (${diagnosis.evidence.summary}). ` +
    `The server may have acted on the ${c.method} request, so it was not sent again. ${next} ` +
    `If this server checks before it acts, ${option} sends such requests again; or send an Idempotency-Key header.`,
    details(c, diagnosis, cause))
}

/** `what` happened, and the body (a stream longer than maxReplayBodySize) cannot be sent again. */
export function bodyNotReplayableError (c: FailureContext, diagnosis: Diagnosis, cause: Error, what: string, next: string): TlsFallbackError {
  return new TlsFallbackError(ErrorCodes.BODY_NOT_REPLAYABLE,
    `${c.origin}: ${what}, and the request body cannot be sent again ` +
    `(a stream longer than maxReplayBodySize, ${c.maxReplayBodySize} bytes). ${next}`,
    details(c, diagnosis, cause))
}

export function clientCertificateError (c: FailureContext, diagnosis: Diagnosis, cause: Error): TlsFallbackError {
  return new TlsFallbackError(ErrorCodes.CLIENT_CERTIFICATE_REQUIRED,
    `${c.origin}: the server renegotiated to ask for a client certificate and none is configured for ${hostOfRule(c.rule, c.url)}. ` +
    `Set ${clientCertPath(c.rule, c.url)} (cert and key, or pfx).`,
    details(c, diagnosis, cause))
}

/** The stack that would address the fingerprint is not allowed for the host: the message shows the `fallback` that allows it. */
export function notAllowedError (c: FailureContext, diagnosis: Diagnosis, needed: FallbackStack, allowed: readonly FallbackStack[], cause: Error): TlsFallbackError {
  const host = c.rule.pattern?.key ?? c.url.hostname
  const line = `hosts: { '${host}': { fallback: ${JSON.stringify(allowed).replaceAll('"', '\'').replaceAll(',', ', ')} } }`
  const why = needed === 'legacy-server-connect'
    ? ' This stack exposes the client to CVE-2009-3555 (RFC 5746), so it is only used for hosts that list it.'
    : ''
  return new TlsFallbackError(ErrorCodes.NOT_ALLOWED,
    `${c.origin}: ${diagnosis.fingerprint} (${diagnosis.evidence.summary}). The ${needed} stack would address it, ` +
    `but ${c.rule.fallbackPath} does not allow it for ${host}. To allow it: ${line}.${why}`,
    details(c, diagnosis, cause))
}

/** Every stack allowed for the host that could address the fingerprint failed: the message lists the attempts. */
export function exhaustedError (c: FailureContext, diagnosis: Diagnosis, cause: Error): TlsFallbackError {
  const tried = c.attempts.map((a) => `${a.stack}: ${a.code ?? 'ok'}${a.fingerprint === undefined ? '' : ` (${a.fingerprint})`}`).join('; ')
  return new TlsFallbackError(ErrorCodes.EXHAUSTED,
    `${c.origin}: ${diagnosis.fingerprint}, and every stack allowed for this host that could address it failed (${tried}).`,
    details(c, diagnosis, cause))
}

/** The notice shown when a post-handshake-auth 403 is passed on as it came (see `decidePostHandshakeAuth`). */
export function postHandshakeAuthNotice (c: FailureContext, notice: PostHandshakeAuthUnremedied['notice'], diagnosis: Diagnosis): string {
  const tail = 'The 403 was passed on as it came.'
  switch (notice) {
    case 'same-answer':
      return `${c.origin}: the ${c.stack} stack got the same 403 (the server cannot perform post-handshake authentication); ` +
        'no other stack is left, the policy stays as it was, and the 403 was passed on as it came.'
    case 'client-cert':
      return `${c.origin}: 403 Forbidden, "Cannot perform Post-Handshake Authentication": the server asks for a client certificate ` +
        `after the TLS 1.3 handshake, which Node's TLS client cannot answer. No client certificate is configured for ${hostOfRule(c.rule, c.url)}: ` +
        `set ${clientCertPath(c.rule, c.url)} (cert and key, or pfx) and the request goes again over TLS 1.2, where the server renegotiates for it. ${tail}`
    case 'not-allowed':
      return `${c.origin}: post-handshake-auth-required (${diagnosis.evidence.summary}). The renegotiation stack (TLS 1.2) would address it, ` +
        `but ${c.rule.fallbackPath} does not allow it for ${c.rule.pattern?.key ?? c.url.hostname}. ${tail}`
    case 'body':
      return `${c.origin}: post-handshake-auth-required, and the request body cannot be sent again (a stream longer than ` +
        `maxReplayBodySize, ${c.maxReplayBodySize} bytes). ${tail}`
  }
}
