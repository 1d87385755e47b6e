import type { Dispatcher } from 'undici'
import type { ConnectionSnapshot, Diagnosis, Http2StreamFacts } from './fingerprint.ts'
import type { LadderGate } from './ladder-gate.ts'
import type { PolicyBook } from './policy/book.ts'
import type { StackName } from './stacks.ts'
import type { Telemetry } from './telemetry.ts'

/** Where a request's attempts go, and what the agent knows about the connections they failed on. */
export interface Transport {
  send: (stack: StackName, http1Only: boolean, opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) => void
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
