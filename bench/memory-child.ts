// Scenario 6, in a process started with --expose-gc: the heap a MemoryPolicyCache holds for n
// learned policies, built the way the agent builds them (diagnose() for the evidence, the entry
// literal of TlsFallbackAgent#learn), measured as heapUsed after full collections.
import { diagnose, MemoryPolicyCache, type ConnectionSnapshot, type Diagnosis, type PolicyEntry } from '../src/index.ts'
import { serve } from './ipc.ts'

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error('memory-child needs --expose-gc')

const CIPHER = 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'
const TTL = 6 * 60 * 60 * 1000

/** A string with its own storage, as the strings Node hands out for each connection (getCipher(), getProtocol()). */
function fresh (text: string): string {
  return Buffer.from(text, 'latin1').toString('latin1')
}

/**
 * What a refused renegotiation on an AEAD suite looks like to the connector: verified evidence. The
 * failed request's size varies from origin to origin (paths and headers differ), and with it the
 * evidence's byte counts.
 */
function diagnosisFor (requestBytes: number): Diagnosis {
  const connection: ConnectionSnapshot = {
    stack: 'strict',
    handshakeComplete: true,
    protocol: fresh('TLSv1.2'),
    cipher: fresh(CIPHER),
    alpn: false,
    offeredTls13: true,
    // One HelloRequest record in (4 + 29 bytes); the request (requestBytes + 29) and one alert (2 + 29) out.
    rawRead: 33,
    rawWritten: requestBytes + 29 + 31,
    plainRead: 0,
    plainWritten: requestBytes,
    renegotiations: 0,
    finalFlightInWindow: false,
    windowDecodable: true,
    tlsErrors: []
  }
  const error = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })
  const diagnosis = diagnose({ error, stack: 'strict', connection, hasClientCert: false })
  if (diagnosis === undefined || !diagnosis.evidence.verified) throw new Error('the synthetic evidence did not diagnose')
  return diagnosis
}

/** The entry exactly as TlsFallbackAgent#learn writes it. */
function entryFor (origin: string, diagnosis: Diagnosis, http1Only: boolean): PolicyEntry {
  const learnedAt = Date.now()
  return {
    origin,
    stack: 'renegotiation',
    ...(http1Only ? { http1Only: true } : {}),
    fingerprint: diagnosis.fingerprint,
    evidence: diagnosis.evidence,
    learnedAt,
    expiresAt: learnedAt + TTL
  }
}

/** Origins as the agent keys them: `URL#origin` of a request's origin (flat strings). */
function originFor (i: number): string {
  return new URL(`https://app-${String(i).padStart(6, '0')}.corp.example.com:8443`).origin
}

function heapUsed (): number {
  for (let i = 0; i < 4; i++) gc?.()
  return process.memoryUsage().heapUsed
}

/** What is being measured: only this reference keeps it alive, never a local of a running function. */
let held: Map<string, true> | MemoryPolicyCache | undefined

interface Sample { entries: number, bytes: number, keysOnlyBytes: number }

/** The size of what is held (a function: TypeScript would narrow `held` to undefined here). */
function heldSize (): number | undefined {
  return held?.size
}

/** What the keys alone cost: origin strings in a Map (a cache can hold no less). */
function fillKeys (n: number): void {
  const keys = new Map<string, true>()
  for (let i = 0; i < n; i++) keys.set(originFor(i), true)
  held = keys
}

/** `distinct`: how many different request sizes (so evidence values) the n origins show. */
function fillCache (n: number, distinct: number): void {
  const cache = new MemoryPolicyCache({ max: n, ttl: TTL })
  for (let i = 0; i < n; i++) {
    const origin = originFor(i)
    cache.set(origin, entryFor(origin, diagnosisFor(150 + (i % distinct)), false))
  }
  held = cache
}

/**
 * Each structure is built in a function of its own and held by a module variable only: a local of
 * the measuring function could stay alive in its frame and be freed halfway through the next
 * measurement, which would then come out too small.
 */
function measure (n: number, distinct: number): Sample {
  held = undefined
  const base0 = heapUsed()
  fillKeys(n)
  const keysOnlyBytes = heapUsed() - base0
  if (heldSize() !== n) throw new Error(`the key map holds ${heldSize()}, expected ${n}`)
  held = undefined

  const base = heapUsed()
  fillCache(n, distinct)
  const bytes = heapUsed() - base
  if (heldSize() !== n) throw new Error(`the cache holds ${heldSize()}, expected ${n}`)
  held = undefined
  heapUsed()
  return { entries: n, bytes, keysOnlyBytes }
}

serve({
  measure: ({ n, distinct }: { n: number, distinct: number }) => measure(n, distinct),
  sample: () => entryFor(originFor(42), diagnosisFor(192), false)
})
