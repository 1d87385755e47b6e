// The load process of the instruction count (bench/instructions.ts), run under callgrind: one
// contender, small GETs with a fixed number in flight, warmed up, then a fixed number of requests
// between two marks. A mark is a call to os.userInfo(): callgrind runs with
// --dump-before=uv_os_get_passwd, so each mark ends a part of the dump, and the part between the two
// marks holds the measured requests alone. Prints one JSON line: what happened in that part.
//
//   node bench/instructions-child.ts <contender> <origin> <warmup requests> <requests> <in flight>
import { subscribe } from 'node:diagnostics_channel'
import { userInfo } from 'node:os'
import { certs } from '../test/servers/certs.ts'
import { makeContender } from './contenders.ts'

const [name = 'agent', origin = '', warmup = '0', requests = '0', inFlight = '1'] = process.argv.slice(2)
const contender = await makeContender(name, certs.ca)
const url = `${origin}/small`

// Connections opened during the measured requests (each a TLS handshake): none is expected.
let connections = 0
subscribe('undici:client:connected', () => { connections += 1 })
let errors = 0
let firstError: string | undefined

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
const before = { connections, errors }
userInfo() // mark: the dump's part 1 ends here (start-up and warm-up)
await run(Number(requests), concurrency)
userInfo() // mark: part 2 (the measured requests) ends here
process.stdout.write(`${JSON.stringify({
  requests: Number(requests),
  connections: connections - before.connections,
  errors: errors - before.errors,
  ...(firstError === undefined ? {} : { firstError })
})}\n`)
await contender.close()
