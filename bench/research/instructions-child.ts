// The load process of the instruction count (bench/research/instructions.ts), run under callgrind: one
// contender, small GETs with a fixed number in flight, warmed up, then a fixed number of requests
// between two marks. A mark is a call to os.userInfo(): callgrind runs with
// --dump-before=uv_os_get_passwd, so each mark ends a part of the dump, and the part between the two
// marks holds the measured requests alone. Prints one JSON line: what happened in that part.
//
// A full collection runs after the warm-up (with the next requests in flight), then 3,000 more requests, then the first mark (node
// --expose-gc). Without it, whether one of the process's rare full collections fell inside the
// 4,000 measured requests decided the count (the plain Agent: 247,795 instructions per request in a
// process with one there, 152,655 in one without). With it, the measured part starts from the same heap in every process and pays for its
// own scavenges (the plain Agent read 162,122 to 162,962 with seeds 3 to 5, no full collection in
// the measured part); the line printed says how many still ran in it.
//
//   node bench/research/instructions-child.ts <contender> <origin> <warmup requests> <requests> <in flight>
import { subscribe } from 'node:diagnostics_channel'
import { userInfo } from 'node:os'
import { PerformanceObserver, constants } from 'node:perf_hooks'
import { certs } from '../../test/servers/certs.ts'
import { makeContender } from '../contenders.ts'
import { REWARM } from '../harness.ts'

const [name = 'agent', origin = '', warmup = '0', requests = '0', inFlight = '1'] = process.argv.slice(2)
const contender = await makeContender(name, certs.ca)
const url = `${origin}/small`

// Connections opened during the measured requests (each a TLS handshake): none is expected.
let connections = 0
subscribe('undici:client:connected', () => { connections += 1 })
let errors = 0
let firstError: string | undefined
// Full (mark-compact) collections, counted as they end.
let majorGcs = 0
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if ((entry as { detail?: { kind?: number } | null }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majorGcs += 1
  }
}).observe({ entryTypes: ['gc'] })
const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error('instructions-child needs --expose-gc')

/** `count` requests, `concurrency` at a time, each body read to the end. */
async function run (count: number, concurrency: number): Promise<void> {
  let left = count
  const loop = async (): Promise<void> => {
    while (left > 0) {
      left -= 1
      try {
        const response = await contender.send(url)
        await response.body.text()
        if (response.statusCode !== 200) throw new Error(`status ${response.statusCode}`)
      } catch (error) {
        errors += 1
        firstError ??= String((error as Error).message)
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, loop))
}

const concurrency = Number(inFlight)
await run(Number(warmup), concurrency)
// The full collection runs with the next requests already dispatched (in flight): collected with no
// request alive, undici's request objects took their maps with them, and V8 threw away the optimized
// code that used those maps (53 functions for TlsFallbackAgent after 1df0117, 9 before), which then
// compiled again inside the measured requests.
const rewarm = run(Math.min(Number(warmup), REWARM), concurrency)
gc()
// A full collection also drops compiled code and feedback V8 deems old: compile it again before the mark.
await rewarm
const before = { connections, errors, majorGcs }
userInfo() // mark: the dump's part 1 ends here (start-up, warm-up, the full collection)
await run(Number(requests), concurrency)
userInfo() // mark: part 2 (the measured requests) ends here
await new Promise((resolve) => setImmediate(resolve))
process.stdout.write(`${JSON.stringify({
  requests: Number(requests),
  connections: connections - before.connections,
  majorGcs: majorGcs - before.majorGcs,
  errors: errors - before.errors,
  ...(firstError === undefined ? {} : { firstError })
})}\n`)
await contender.close()
