import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { Redis } from 'ioredis'
import { FilePolicyCache, RedisPolicyCache, type PolicyEntry } from '../src/index.ts'
import { redactArg, scrubArgs, shownArg } from '../src/cli/redact.ts'
import { startIisLike, type TestServer } from './servers/iis.ts'
import { freePort } from './servers/ports.ts'
import { startRedis, type RedisServer } from './servers/redis.ts'
import { eventually, policyEntry, startReplica as startWorker } from './helpers/stores.ts'
import { runCli, type CliRun } from './helpers/cli.ts'

const HOURS_3 = 3 * 60 * 60_000

/** A replica (test/fixtures/store-worker.ts) whose ready line says nothing else. */
async function startReplica (config: object): ReturnType<typeof startWorker> {
  const replica = await startWorker(config)
  assert.deepEqual(replica.started, { ready: true })
  return replica
}

function entry (origin: string, extra: Partial<PolicyEntry> = {}): PolicyEntry {
  return policyEntry(origin, extra, {}, HOURS_3)
}

async function cli (args: string[]): Promise<CliRun> {
  return await runCli(['policies', ...args])
}

/**
 * Poisoned entries a store may hold, keyed as stored, each with what the listing must say about it
 * (null: a valid entry, listed). Values are what the store holds (Redis: a string; the file: JSON).
 */
function poisoned (): Array<{ key: string, value: unknown, reason: RegExp | null }> {
  const now = Date.now()
  const huge = 'https://huge.example.test'
  const ancient = 'https://ancient.example.test'
  const y1969 = 'https://y1969.example.test'
  const wrongTypes = 'https://types.example.test'
  const c1 = 'https://c1.example.test'
  const long = 'https://long.example.test'
  const forged = 'https://forged.example.test'
  const escKey = 'https://esc.example.test\n\u001b[2J\u001b]0;pwned\u0007'
  const bidiKey = 'https://\u202egood.example.test'
  return [
    { key: 'https://good.example.test', value: entry('https://good.example.test'), reason: null },
    // learnedAt in 1969 is a date: listed as it is.
    { key: y1969, value: entry(y1969, { learnedAt: -1, expiresAt: now + 60 * 60_000 }), reason: null },
    { key: huge, value: entry(huge, { expiresAt: 1e300 }), reason: /expiresAt 1e\+300 is not a date .*agents cap it at learnedAt \+ their ttl/ },
    { key: ancient, value: entry(ancient, { learnedAt: -1e300 }), reason: /learnedAt -1e\+300 is not a date/ },
    { key: wrongTypes, value: { ...entry(wrongTypes), stack: 42, http1Only: 'yes' }, reason: /unknown stack number/ },
    { key: 'https://array.example.test', value: [1, 2], reason: /not an object/ },
    { key: 'https://null.example.test', value: null, reason: /not an object/ },
    { key: 'https://notjson.example.test', value: '{{{ not json', reason: /not JSON/ },
    { key: 'https://evidence.example.test', value: { ...entry('https://evidence.example.test'), evidence: 'trust me' }, reason: /evidence is not an object/ },
    { key: c1, value: { ...entry(c1), stack: '\u009b31mred\u009b0m' }, reason: /unknown stack "\\u009b31mred\\u009b0m"/ },
    { key: long, value: { ...entry(long), stack: 'A'.repeat(100_000) }, reason: /unknown stack "A{100,}"…\(\+\d+ chars\)/ },
    { key: forged, value: entry('https://forged.example.test\n[INFO] all good'.replace('\n', '\u001b[2K\n')), reason: /origin is not/ },
    { key: escKey, value: entry(escKey), reason: /origin is not/ },
    { key: bidiKey, value: entry(bidiKey), reason: /origin is not/ }
  ]
}

/** Terminal controls, line breaks other than \n, C1 controls, line separators, bidirectional overrides. */
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/

/** The listing survived each poisoned entry: valid ones listed, each invalid one named with its reason, all escaped. */
function assertPoisonedListing (table: { code: number, stdout: string, stderr: string }, json: { code: number, stdout: string, stderr: string }): void {
  const cases = poisoned()
  assert.equal(table.code, 0, table.stderr)
  assert.equal(table.stderr, '')
  assert.doesNotMatch(table.stdout, RAW_CONTROL, 'nothing from the store reaches the terminal raw')
  for (const line of table.stdout.split('\n')) assert.ok(line.length < 1_000, `a bounded line: ${line.slice(0, 80)}`)
  const lines = table.stdout.split('\n')
  assert.match(lines.find((l) => l.startsWith('https://good.example.test')) ?? '', /renegotiation\s+renegotiation-refused\s+yes/)
  assert.match(lines.find((l) => l.startsWith('https://y1969.example.test')) ?? '', /1969-12-31 23:59:59Z/)
  assert.match(table.stdout, /\n2 policies\n/)
  assert.match(table.stdout, new RegExp(`\\n${cases.length - 2} invalid entries, not listed above`))
  for (const { key, reason } of cases) {
    if (reason === null) continue
    const quoted = JSON.stringify(key).replace(/[\u007f-\u009f\u202a-\u202e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    const line = lines.find((l) => l.startsWith(quoted + ' '))
    assert.ok(line !== undefined, `the invalid entry ${quoted} is listed`)
    assert.match(line, reason)
  }
  assert.equal(json.code, 0, json.stderr)
  assert.doesNotMatch(json.stdout, RAW_CONTROL)
  const listed = JSON.parse(json.stdout)
  assert.deepEqual(listed.policies.map((p: PolicyEntry) => p.origin), ['https://good.example.test', 'https://y1969.example.test'])
  assert.equal(listed.ignored, cases.length - 2)
  // The keys come back exact (JSON escapes, it does not cut); the reasons are bounded.
  assert.deepEqual(listed.invalid.map((i: { key: string }) => i.key), cases.filter((c) => c.reason !== null).map((c) => c.key).sort())
  for (const { reason } of listed.invalid) assert.ok(reason.length < 300)
}

describe('undici-tls-fallback policies: a file store', () => {
  let iis: TestServer
  let dir: string
  before(async () => {
    iis = await startIisLike()
    dir = await mkdtemp(join(tmpdir(), 'tls-fallback-cli-'))
  })
  after(async () => {
    await iis.close()
    await rm(dir, { recursive: true, force: true })
  })

  test('lists what replicas learned (table and --json); --forget removes one origin from the file and from every process watching it', async (t) => {
    const path = join(dir, 'policies.json')
    const origin = `https://localhost:${iis.port}`
    const other = 'https://erp.example.test:8443'
    const seed = new FilePolicyCache({ path, writeDelay: 0 })
    seed.set(other, entry(other, { stack: 'strict', http1Only: true, fingerprint: 'http11-required', evidence: { ...entry(other).evidence, verified: false } }))
    await seed.close()
    const [a, b] = await Promise.all([startReplica({ store: 'file', path }), startReplica({ store: 'file', path })])
    t.after(async () => { await a.close(); await b.close() })
    const learned = await a.send({ cmd: 'request', url: `${origin}/secure` })
    assert.deepEqual(learned.attempts, [['strict', 'initial'], ['renegotiation', 'fallback']])
    await eventually(async () => (await readFile(path, 'utf8')).includes(origin))
    await eventually(async () => (await b.send({ cmd: 'policy', origin })).policy !== null)

    const table = await cli(['--file', path])
    assert.equal(table.code, 0, table.stderr)
    assert.match(table.stdout, /origin\s+stack\s+fingerprint\s+verified\s+learned\s+expires/)
    const row = table.stdout.split('\n').find((l) => l.startsWith(origin)) ?? ''
    assert.match(row, /renegotiation\s+renegotiation-refused\s+yes\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \(in \dh \d+m\)/)
    const otherRow = table.stdout.split('\n').find((l) => l.startsWith(other)) ?? ''
    assert.match(otherRow, /strict \(HTTP\/1\.1\)\s+http11-required\s+no/)
    assert.match(table.stdout, /2 policies/)
    assert.ok(table.stdout.indexOf(other) < table.stdout.indexOf(origin), 'sorted by origin')

    const json = await cli(['--file', path, '--json'])
    assert.equal(json.code, 0)
    const listed = JSON.parse(json.stdout)
    assert.deepEqual(listed.store, { kind: 'file', path })
    assert.deepEqual(listed.policies.map((p: PolicyEntry) => [p.origin, p.stack, p.http1Only === true, p.fingerprint, p.evidence.verified]),
      [[other, 'strict', true, 'http11-required', false], [origin, 'renegotiation', false, 'renegotiation-refused', true]])

    const forgot = await cli(['--file', path, '--forget', `${origin}/secure/anything?x=1`])
    assert.equal(forgot.code, 0, forgot.stderr)
    assert.match(forgot.stdout, new RegExp(`forgot ${origin} \\(it used the renegotiation stack\\)`))
    const onDisk = JSON.parse(await readFile(path, 'utf8'))
    assert.deepEqual(Object.keys(onDisk.entries), [other], 'only that origin left the file')
    // Both replicas watch the file: they drop it, and the next request starts on strict again.
    await eventually(async () => (await a.send({ cmd: 'policy', origin })).policy === null)
    await eventually(async () => (await b.send({ cmd: 'policy', origin })).policy === null)
    const again = await b.send({ cmd: 'request', url: `${origin}/secure` })
    assert.deepEqual(again.attempts[0], ['strict', 'initial'])

    const absent = await cli(['--file', path, '--forget', 'https://never.example.test', '--json'])
    assert.equal(absent.code, 0)
    assert.deepEqual(JSON.parse(absent.stdout), { store: { kind: 'file', path }, forgot: 'https://never.example.test', found: false, policy: null })
  })

  test('a missing file, a file that is not JSON or not a policy file: exit 1 with a clear message; a malformed entry is listed as invalid with its reason', async () => {
    const missing = await cli(['--file', join(dir, 'nope.json')])
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /no such file: .*nope\.json/)
    assert.equal(missing.stdout, '')

    const notJson = join(dir, 'junk.json')
    await writeFile(notJson, '{{{')
    const junk = await cli(['--file', notJson])
    assert.equal(junk.code, 1)
    assert.match(junk.stderr, /is not JSON/)

    const wrongShape = join(dir, 'other.json')
    await writeFile(wrongShape, JSON.stringify({ hello: 'world' }))
    const shape = await cli(['--file', wrongShape, '--forget', 'https://a.example.test'])
    assert.equal(shape.code, 1)
    assert.match(shape.stderr, /not a policy file/)
    assert.deepEqual(JSON.parse(await readFile(wrongShape, 'utf8')), { hello: 'world' }, 'a file that is not a policy file is never written')

    const poisoned = join(dir, 'poisoned.json')
    const good = 'https://good.example.test'
    await writeFile(poisoned, JSON.stringify({ version: 1, entries: { [good]: entry(good), 'https://bad.example.test': { ...entry('https://bad.example.test'), stack: 'chaos' }, 'https://expired.example.test': entry('https://expired.example.test', { learnedAt: 1, expiresAt: 2 }) } }))
    const listed = await cli(['--file', poisoned])
    assert.equal(listed.code, 0)
    assert.match(listed.stdout, /good\.example\.test/)
    assert.doesNotMatch(listed.stdout, /expired\.example\.test/)
    assert.match(listed.stdout, /1 policy\n\n1 invalid entry, not listed above .*\nkey\s+reason\n"https:\/\/bad\.example\.test"\s+unknown stack "chaos"\n/)
  })

  test('poisoned entries (expiresAt 1e300, learnedAt -1e300, wrong types, not JSON, controls, ESC, C1 and bidi in keys and values) are listed as invalid with their reason; the valid ones are listed; exit 0', async () => {
    const path = join(dir, 'fuzzed.json')
    const entries: Record<string, unknown> = {}
    for (const { key, value } of poisoned()) entries[key] = value
    await writeFile(path, JSON.stringify({ version: 1, entries }))
    const [table, json] = await Promise.all([cli(['--file', path]), cli(['--file', path, '--json'])])
    assertPoisonedListing(table, json)

    // The one that broke the listing can be forgotten like any other.
    const forgot = await cli(['--file', path, '--forget', 'https://huge.example.test'])
    assert.equal(forgot.code, 0, forgot.stderr)
    assert.match(forgot.stdout, /^forgot https:\/\/huge\.example\.test \(its entry was invalid: expiresAt 1e\+300 is not a date/)
    const onDisk = JSON.parse(await readFile(path, 'utf8'))
    assert.equal(onDisk.entries['https://huge.example.test'], undefined)
    assert.ok(onDisk.entries['https://good.example.test'] !== undefined)
  })

  test('--forget of one origin leaves every other entry of the file as its agents wrote it (their ttl, not a default 6 hours)', async () => {
    const path = join(dir, 'long-ttl.json')
    const kept = 'https://kept.example.test'
    const gone = 'https://gone.example.test'
    // Agents with a 24-hour ttl wrote these.
    const seed = new FilePolicyCache({ path, writeDelay: 0, ttl: 24 * 60 * 60_000 })
    const keptEntry = seed.set(kept, entry(kept, { expiresAt: Date.now() + 20 * 60 * 60_000 }))
    seed.set(gone, entry(gone))
    await seed.close()
    const before = JSON.parse(await readFile(path, 'utf8')).entries[kept]
    assert.equal(before.expiresAt, keptEntry.expiresAt)
    const forgot = await cli(['--file', path, '--forget', gone])
    assert.equal(forgot.code, 0, forgot.stderr)
    const after = JSON.parse(await readFile(path, 'utf8')).entries
    assert.deepEqual(Object.keys(after), [kept])
    assert.equal(after[kept].expiresAt, before.expiresAt, 'the entry still expires in 20 hours')
  })

  test('usage errors exit 2', async () => {
    const cases = [[], ['--file', 'a.json', '--redis', 'redis://127.0.0.1'], ['--file', 'a.json', '--prefix', 'x:'], ['--redis', 'http://127.0.0.1'], ['--file', 'a.json', '--forget', 'http://plain.example.test'], ['--file', 'a.json', '--forget', 'not a url'], ['--file', 'a.json', '--timeout', '0'], ['--redis', 'redis://:pw-in-url@127.0.0.1', '--bogus'],
      // Not URLs Node can parse (port out of range): still no credential or query value shown.
      ['--file', 'a.json', 'https://ops:pw-in-url@erp.example.test:99999/?k=pw-in-url'], ['--file', 'a.json', '--bogus', 'redis://ops:pw-in-url@h:99999/?password=pw-in-url']]
    const runs = await Promise.all(cases.map(async (args) => await cli(args)))
    runs.forEach((run, i) => {
      assert.equal(run.code, 2, cases[i]?.join(' '))
      assert.match(run.stderr, /Usage: undici-tls-fallback policies/)
      assert.doesNotMatch(run.stderr, /pw-in-url/)
    })
    assert.match(runs[8]?.stderr ?? '', /unexpected argument: https:\/\/\*\*\*@erp\.example\.test:99999\/\?k=\*\*\*/)
    const help = await cli(['--help'])
    assert.equal(help.code, 0)
    assert.match(help.stdout, /--forget ORIGIN/)
  })
})

describe('what the policies command shows of its arguments (src/cli/redact.ts)', () => {
  test('redactArg hides the userinfo, query values and fragment of a URL, parsed or not, and leaves paths and origins as written', () => {
    assert.equal(redactArg('redis://ops:pw@10.0.0.1:6379/0?password=pw2&db=0#x'), 'redis://***@10.0.0.1:6379/0?password=***&db=***#***')
    assert.equal(redactArg('https://ops:tok@erp.example.test:99999/a?sig=s#f'), 'https://***@erp.example.test:99999/a?sig=***#***')
    assert.equal(redactArg('https://erp.example.test'), 'https://erp.example.test')
    assert.equal(redactArg('/var/lib/a?b#c.json'), '/var/lib/a?b#c.json')
    assert.equal(shownArg('/tmp/\u001b[31mx\n.json'), '/tmp/\\u001b[31mx\\n.json')
  })

  test('scrubArgs replaces what redactArg hides wherever a message quotes it (raw or decoded), short values only as whole words', () => {
    const argv = ['--redis', 'redis://ops:s3cr%40t-pw@h:99999/?password=q-S3cret&db=0#frag-T0ken', 'https://u:p@erp.example.test/']
    assert.equal(scrubArgs('AUTH ops s3cr@t-pw s3cr%40t-pw q-S3cret frag-T0ken', argv), 'AUTH *** *** *** *** ***')
    assert.equal(scrubArgs('WRONGPASS invalid username-password pair (u, p)', argv), 'WRONGPASS invalid username-password pair (***, ***)')
    // Not parsed (port out of range), no query: the fragment is still a secret.
    assert.equal(scrubArgs('at frag-0nly', ['https://erp.example.test:99999/#frag-0nly']), 'at ***')
  })
})

describe('undici-tls-fallback policies: a Redis store', () => {
  let iis: TestServer
  let redis: RedisServer
  before(async () => {
    iis = await startIisLike()
    redis = await startRedis()
  })
  after(async () => {
    await iis.close()
    await redis.close()
  })

  test('lists the fleet\'s policies; --forget deletes the key and every replica drops the origin (pub/sub)', async (t) => {
    const origin = `https://localhost:${iis.port}`
    const [a, b] = await Promise.all([startReplica({ store: 'redis', url: redis.url }), startReplica({ store: 'redis', url: redis.url })])
    const client = new Redis(redis.url)
    const local = new RedisPolicyCache({ url: redis.url })
    t.after(async () => { await a.close(); await b.close(); await local.close(); client.disconnect() })
    await local.ready
    const heard: Array<[string, PolicyEntry | undefined]> = []
    local.subscribe((o, e) => { heard.push([o, e]) })
    const learned = await a.send({ cmd: 'request', url: `${origin}/secure` })
    assert.deepEqual(learned.attempts, [['strict', 'initial'], ['renegotiation', 'fallback']])
    await eventually(async () => (await client.get(`undici-tls-fallback:policy:${origin}`)) !== null)
    await eventually(async () => (await b.send({ cmd: 'policy', origin })).policy !== null)
    await eventually(async () => local.get(origin) !== undefined)
    // Another service's prefix is another fleet.
    await client.set(`other:policy:${'https://elsewhere.example.test'}`, JSON.stringify(entry('https://elsewhere.example.test')), 'PX', 60_000)

    const table = await cli(['--redis', redis.url])
    assert.equal(table.code, 0, table.stderr)
    assert.match(table.stdout, new RegExp(`store: redis redis://127\\.0\\.0\\.1:${redis.port}(/)? \\(prefix undici-tls-fallback:\\)`))
    assert.match(table.stdout.split('\n').find((l) => l.startsWith(origin)) ?? '', /renegotiation\s+renegotiation-refused\s+yes/)
    assert.doesNotMatch(table.stdout, /elsewhere/)
    const otherFleet = JSON.parse((await cli(['--redis', redis.url, '--prefix', 'other:', '--json'])).stdout)
    assert.deepEqual(otherFleet.policies.map((p: PolicyEntry) => p.origin), ['https://elsewhere.example.test'])

    const forgot = await cli(['--redis', redis.url, '--forget', origin, '--json'])
    assert.equal(forgot.code, 0, forgot.stderr)
    const result = JSON.parse(forgot.stdout)
    assert.equal(result.found, true)
    assert.equal(result.policy.stack, 'renegotiation')
    assert.equal(await client.get(`undici-tls-fallback:policy:${origin}`), null, 'the key is gone')
    await eventually(async () => (await a.send({ cmd: 'policy', origin })).policy === null)
    await eventually(async () => (await b.send({ cmd: 'policy', origin })).policy === null)
    await eventually(async () => heard.some(([o, e]) => o === origin && e === undefined))
    assert.equal(local.get(origin), undefined)
    const again = await b.send({ cmd: 'request', url: `${origin}/secure` })
    assert.deepEqual(again.attempts[0], ['strict', 'initial'], 'the next request starts on the strict stack')
  })

  test('an unreachable Redis, one that never answers, and a wrong password: exit 1, a clear message, no password printed, no hang', async () => {
    const closedPort = await freePort()
    const refused = await cli(['--redis', `redis://user:s3cr%40t-pw@127.0.0.1:${closedPort}/0`])
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /cannot reach Redis at redis:\/\/\*\*\*@127\.0\.0\.1:\d+\/0 \(ECONNREFUSED\)/)

    // A TCP server that accepts and never says a word: the command gives up after --timeout.
    const sockets = new Set<net.Socket>()
    const silent = net.createServer((socket) => { sockets.add(socket); socket.on('error', () => {}) })
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const silentPort = (silent.address() as net.AddressInfo).port
    let hung: Awaited<ReturnType<typeof cli>>
    try {
      hung = await cli(['--redis', `redis://:s3cr%40t-pw@127.0.0.1:${silentPort}`, '--timeout', '700'])
    } finally {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => silent.close(resolve))
    }
    assert.equal(hung.code, 1)
    assert.match(hung.stderr, /did not answer within 700 ms/)

    const admin = new Redis(redis.url)
    let wrong: Awaited<ReturnType<typeof cli>>
    try {
      await admin.config('SET', 'requirepass', 'the-real-one')
      wrong = await cli(['--redis', `redis://:s3cr%40t-pw@127.0.0.1:${redis.port}`])
      assert.equal(wrong.code, 1)
      assert.match(wrong.stderr, /Redis at redis:\/\/\*\*\*@127\.0\.0\.1:\d+/)
      const right = await cli(['--redis', `redis://:the-real-one@127.0.0.1:${redis.port}`, '--json'])
      assert.equal(right.code, 0, right.stderr)
      assert.equal(JSON.parse(right.stdout).store.url, `redis://***@127.0.0.1:${redis.port}`)
      assert.doesNotMatch(right.stdout + right.stderr, /the-real-one/)
    } finally {
      await admin.config('SET', 'requirepass', '')
      admin.disconnect()
    }

    for (const run of [refused, hung, wrong]) {
      assert.doesNotMatch(run.stdout + run.stderr, /s3cr|%40t-pw|@t-pw/, 'the password never appears')
    }
  })

  test('poisoned entries in Redis (expiresAt 1e300, not JSON, wrong types, controls, ESC, C1 and bidi in keys and values) are listed as invalid with their reason; exit 0', async (t) => {
    const client = new Redis(redis.url)
    const prefix = 'fuzz:'
    t.after(() => { client.disconnect() })
    for (const { key, value } of poisoned()) {
      await client.set(`${prefix}policy:${key}`, typeof value === 'string' ? value : JSON.stringify(value), 'PX', 60_000)
    }
    const [table, json] = await Promise.all([cli(['--redis', redis.url, '--prefix', prefix]), cli(['--redis', redis.url, '--prefix', prefix, '--json'])])
    assertPoisonedListing(table, json)
    const forgot = await cli(['--redis', redis.url, '--prefix', prefix, '--forget', 'https://huge.example.test', '--json'])
    assert.equal(forgot.code, 0, forgot.stderr)
    const result = JSON.parse(forgot.stdout)
    assert.equal(result.found, true)
    assert.equal(result.policy, null)
    assert.match(result.invalid, /expiresAt 1e\+300 is not a date/)
    assert.equal(await client.get(`${prefix}policy:https://huge.example.test`), null)
  })

  test('a password given only in the query (?password=, which ioredis reads) and a rejected --forget with user:token@ never appear: table header, --json, errors', async () => {
    const secret = 'q-only-S3cret'
    const admin = new Redis(redis.url)
    const runs: Array<Awaited<ReturnType<typeof cli>>> = []
    try {
      await admin.config('SET', 'requirepass', secret)
      const url = `redis://127.0.0.1:${redis.port}/0?password=${secret}`
      const table = await cli(['--redis', url])
      assert.equal(table.code, 0, table.stderr)
      assert.match(table.stdout, new RegExp(`^store: redis redis://127\\.0\\.0\\.1:${redis.port}/0\\?password=\\*\\*\\* \\(prefix undici-tls-fallback:\\)`))
      const json = await cli(['--redis', url, '--json'])
      assert.equal(json.code, 0, json.stderr)
      assert.equal(JSON.parse(json.stdout).store.url, `redis://127.0.0.1:${redis.port}/0?password=***`)
      // Redis refuses a wrong one; an ACL user name in the URL is hidden with the password.
      const wrong = await cli(['--redis', `redis://ops-alice:x@127.0.0.1:${redis.port}/0?password=q-only-Wr0ng&db=0#frag-T0ken`])
      assert.equal(wrong.code, 1)
      assert.match(wrong.stderr, /Redis at redis:\/\/\*\*\*@127\.0\.0\.1:\d+\/0\?password=\*\*\*&db=\*\*\*#\*\*\*/)
      const refused = await cli(['--redis', `redis://127.0.0.1:${await freePort()}/0?password=${secret}`, '--json'])
      assert.equal(refused.code, 1)
      assert.match(refused.stderr, /cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+\/0\?password=\*\*\* \(ECONNREFUSED\)/)
      // --forget: rejected (not https, not a URL) and accepted; only the origin is ever echoed.
      const plain = await cli(['--redis', url, '--forget', 'http://ops-alice:tok-S3cret@erp.example.test/x?sig=sig-S3cret'])
      assert.equal(plain.code, 2)
      assert.match(plain.stderr, /--forget: policies are kept for https:\/\/ origins, got http:\/\/\*\*\*@erp\.example\.test\/x\?sig=\*\*\*/)
      const notUrl = await cli(['--redis', url, '--forget', 'https://ops-alice:tok-S3cret@erp.example.test:99999/?sig=sig-S3cret'])
      assert.equal(notUrl.code, 2)
      assert.match(notUrl.stderr, /--forget: not a URL: https:\/\/\*\*\*@erp\.example\.test:99999\/\?sig=\*\*\*/)
      const forgot = await cli(['--redis', url, '--forget', 'https://ops-alice:tok-S3cret@erp.example.test/x?sig=sig-S3cret'])
      assert.equal(forgot.code, 0, forgot.stderr)
      assert.match(forgot.stdout, /no policy stored for https:\/\/erp\.example\.test: nothing to forget/)
      const forgotJson = await cli(['--redis', url, '--forget', 'https://ops-alice:tok-S3cret@erp.example.test/x?sig=sig-S3cret', '--json'])
      assert.equal(JSON.parse(forgotJson.stdout).forgot, 'https://erp.example.test')
      runs.push(table, json, wrong, refused, plain, notUrl, forgot, forgotJson)
    } finally {
      await admin.config('SET', 'requirepass', '')
      admin.disconnect()
    }
    for (const run of runs) {
      assert.doesNotMatch(run.stdout + run.stderr, /S3cret|Wr0ng|T0ken|ops-alice/, 'no password, token, query value, fragment or user name')
    }
  })
})
