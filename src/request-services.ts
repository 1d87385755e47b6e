import type { Dispatcher } from 'undici'
import type { ConnectionSnapshot, Diagnosis, Http2StreamFacts } from './fingerprint.ts'
import type { LadderGate } from './ladder-gate.ts'
import type { PolicyBook } from './policy/book.ts'
import type { StackName } from './stacks.ts'
import type { Telemetry } from './telemetry.ts'

/** Where a request's attempts go, and what the agent knows about the connections they failed on. */
export interface Transport {
  /** `primePath`: on a connection primed for that path (uploads, src/uploads.ts). */
  send: (stack: StackName, http1Only: boolean, opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler, primePath?: string) => void
  /** The one resend after a renegotiation buffer's 413: on a new connection, only if its priming renegotiates. */
  resendPrimed: (stack: StackName, primePath: string, opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) => void
  /** Whether the attempt failed in the priming of its connection (the request never left). */
  primingFailed: (error: unknown) => boolean
  /** When the TLS 1.3 probe of a primed connection got Apache's post-handshake-auth 403: its connection and body size. */
  primingAnswer: (error: unknown) => { connection: { protocol: string | null, cipher: string | null }, bodyBytes: number } | undefined
  snapshotFor: (error: unknown) => ConnectionSnapshot | undefined
  /** What Node reported about the HTTP/2 stream that failed with this error. */
  http2FailureFor: (error: unknown) => Http2StreamFacts | undefined
  /**
   * After a strict hello without RFC 5746: whether a completed (authenticated) handshake confirms
   * that the server lacks it. Resolves to verified evidence, or undefined; never rejects.
   */
  confirmLegacy: (origin: string, url: URL, diagnosis: Diagnosis) => Promise<Diagnosis | undefined>
}

/** A request's collaborators: the agent's telemetry, transport, policy book and gate, and two limits. */
export interface RequestServices {
  readonly telemetry: Telemetry
  readonly transport: Transport
  readonly book: PolicyBook
  readonly gate: LadderGate
  readonly limits: { readonly resetRetries: number, readonly maxReplayBodySize: number }
}
