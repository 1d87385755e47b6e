// npm run soak [-- --requests N --concurrency C --quick]
// Sends many requests, concurrently, through one TlsFallbackAgent to six local hosts of different
// behaviour, and checks that every request ends exactly once with the expected outcome, that no
// response is duplicated, that no socket is left open after close(), and that the heap returns to
// within 10% of where it started. Exits 1 on any violation. Run with --expose-gc (the npm script does).
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { parseArgs } from 'node:util'
import type { Dispatcher } from 'undici'
import { TlsFallbackAgent } from '../src/index.ts'
import { certs } from '../test/servers/certs.ts'

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '50' },
    quick: { type: 'boolean', default: false }
  }
})
const total = values.quick === true ? 1_200 : Number(values.requests)
const concurrency = Number(values.concurrency)
const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) {
  console.error('soak: run with node --expose-gc (npm run soak does)')
  process.exit(2)
}

const log = (line: string): void => { console.log(line) }
// The servers run in their own process: the heap measured here is the client's alone.
const servers = fork(new URL('./soak-servers.ts', import.meta.url), { execArgv: [], stdio: 'inherit' })
const [{ ports }] = await once(servers, 'message') as [{ ports: Record<string, number> }]
const ask = async <T>(message: string): Promise<T> => {
  servers.send(message)
  const [reply] = await once(servers, 'message') as [T]
  return reply
}

type Outcome = 'ok' | 'TLS_FALLBACK_NOT_ALLOWED' | 'ECONNRESET'
const hosts: Array<{ name: string, port: number, path: string, expect: Outcome }> = [
  { name: 'modern.test', port: ports.modern as number, path: '/item', expect: 'ok' },
  { name: 'iis.test', port: ports.iis as number, path: '/secure/item', expect: 'ok' },
  { name: 'apache.test', port: ports.apache as number, path: '/secure/item', expect: 'ok' },
  { name: 'legacy.test', port: ports.legacy as number, path: '/', expect: 'ok' },
  { name: 'appliance.test', port: ports.legacy as number, path: '/', expect: 'TLS_FALLBACK_NOT_ALLOWED' },
  { name: 'onpath.test', port: ports.onpath as number, path: '/item', expect: 'ECONNRESET' }
]

const agent = new TlsFallbackAgent({
  connect: {
    ca: certs.ca,
    lookup: ((_h: string, o: { all?: boolean }, cb: (...args: unknown[]) => void) => {
      if (o.all === true) cb(null, [{ address: '127.0.0.1', family: 4 }])
      else cb(null, '127.0.0.1', 4)
    }) as never
  },
  hosts: { 'legacy.test': { fallback: ['legacy-server-connect'] } },
  logger: { debug () {}, info () {}, warn () {}, error () {} },
  keepAliveTimeout: 30_000
})

interface Tally { starts: number, ends: number, errors: number, outcome: string | undefined, status: number | undefined }
const problems: string[] = []
let finished = 0

/** One request through dispatch(), with a handler that counts every callback. */
function one (id: number): Promise<void> {
  const host = hosts[id % hosts.length] as typeof hosts[number]
  const path = host.path === '/' ? '/' : `${host.path}/${id}`
  const tally: Tally = { starts: 0, ends: 0, errors: 0, outcome: undefined, status: undefined }
  return new Promise((resolve) => {
    const settle = (): void => {
      finished += 1
      const expected = host.expect
      if (tally.ends + tally.errors !== 1) problems.push(`request ${id} (${host.name}) ended ${tally.ends + tally.errors} times`)
      if (tally.starts > 1) problems.push(`request ${id} (${host.name}) got ${tally.starts} responses`)
      if (tally.outcome !== expected) problems.push(`request ${id} (${host.name}): expected ${expected}, got ${tally.outcome ?? 'nothing'}`)
      // Let a late duplicate callback show up before the request counts as done.
      setImmediate(resolve)
    }
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart () {},
      onResponseStart (_c, status) {
        tally.starts += 1
        tally.status = status
      },
      onResponseData () {},
      onResponseEnd () {
        tally.ends += 1
        tally.outcome = tally.status === 200 ? 'ok' : `status ${tally.status}`
        if (tally.ends + tally.errors === 1) settle()
      },
      onResponseError (_c, error) {
        tally.errors += 1
        tally.outcome = (error as { code?: string }).code ?? error.message
        if (tally.ends + tally.errors === 1) settle()
      }
    }
    agent.dispatch({ origin: `https://${host.name}:${host.port}`, path, method: 'GET' }, handler)
  })
}

async function run (from: number, count: number): Promise<void> {
  let next = from
  const end = from + count
  const worker = async (): Promise<void> => {
    while (next < end) await one(next++)
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
}

const started = performance.now()
const warmup = Math.min(600, Math.floor(total / 5))
await run(0, warmup)
gc()
const heapStart = process.memoryUsage().heapUsed
let lastReport = performance.now()
const timer = setInterval(() => {
  const now = performance.now()
  if (now - lastReport > 5_000) {
    lastReport = now
    log(`  ${finished}/${total} requests, ${problems.length} problems`)
  }
}, 1_000)
await run(warmup, total - warmup)
clearInterval(timer)
const seconds = (performance.now() - started) / 1000
gc()
await new Promise((resolve) => setTimeout(resolve, 100))
gc()
const heapEnd = process.memoryUsage().heapUsed

// Duplicates: each answered id was answered once by its server (the on-path host excepted: there
// the server answers and the box drops the answer).
const policies = agent.policies().map((p) => `${new URL(p.origin).hostname}=${p.stack}`).sort()
await agent.close()
await new Promise((resolve) => setTimeout(resolve, 200))
const stats = await ask<{ answered: Record<string, Record<string, number>>, open: Record<string, number> }>('stats')
for (const [name, seen] of Object.entries(stats.answered)) {
  for (const [path, count] of Object.entries(seen)) if (count > 1) problems.push(`${name} answered ${path} ${count} times`)
}
const answeredOk = Object.values(stats.answered).reduce((sum, seen) => sum + Object.keys(seen).length, 0)
const open = stats.open
for (const [name, count] of Object.entries(open)) if (count !== 0) problems.push(`${count} sockets still open on ${name} after close()`)
const heapRatio = heapEnd / heapStart
if (heapRatio > 1.10) problems.push(`heap grew from ${(heapStart / 1e6).toFixed(1)} MB to ${(heapEnd / 1e6).toFixed(1)} MB (x${heapRatio.toFixed(2)})`)
const expectedPolicies = ['apache.test=renegotiation', 'iis.test=renegotiation', 'legacy.test=legacy-server-connect']
if (JSON.stringify(policies) !== JSON.stringify(expectedPolicies)) problems.push(`policies: ${policies.join(', ')}`)

await ask('close')

log(`soak: ${finished}/${total} requests in ${seconds.toFixed(1)} s, concurrency ${concurrency}, ${hosts.length} hosts`)
log(`  policies: ${policies.join(', ')}`)
log(`  distinct requests answered by the servers that answer: ${answeredOk}, none twice`)
log(`  sockets open after close(): ${JSON.stringify(open)}`)
log(`  heap after GC: ${(heapStart / 1e6).toFixed(1)} MB -> ${(heapEnd / 1e6).toFixed(1)} MB (x${heapRatio.toFixed(3)})`)
if (problems.length > 0 || finished !== total) {
  log(`soak: FAILED, ${problems.length} problems`)
  for (const p of problems.slice(0, 30)) log(`  ${p}`)
  process.exit(1)
}
log('soak: every request ended exactly once with the expected outcome')
