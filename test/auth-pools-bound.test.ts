import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Client, Dispatcher } from 'undici'
import { MAX_AUTH_POOLS } from '../src/auth/pools.ts'
import { resolveOptions } from '../src/options.ts'
import { Routes } from '../src/routes.ts'
import { Telemetry } from '../src/telemetry.ts'

// Auth pools are one per stack and origin. A wildcard `hosts` rule with `auth` matches endless
// subdomains, and a hostile server can redirect a caller that follows redirects to a new one each
// time: the pools must stay bounded (the least recently used idle one is closed).

test('10,000 origins under a wildcard auth rule: at most MAX_AUTH_POOLS auth pools and open connections', async () => {
  const config = resolveOptions({
    hosts: { '*.corp.example': { auth: { scheme: 'ntlm', username: 'alice', password: 'Bound-Test-Pass-1', domain: 'CORP' } } },
    // No name resolves: every connection fails at once, as to a redirect target that does not exist.
    connect: { lookup: (_host: string, _options: unknown, callback: (error: Error) => void) => { callback(Object.assign(new Error('no such host'), { code: 'ENOTFOUND' })) } }
  })
  const made: Client[] = []
  const lifetime = new AbortController()
  const routes = new Routes(config, new Telemetry(undefined, undefined), lifetime.signal, (client) => { made.push(client as Client) })
  const atStart = made.length // the strict stack's Agent
  const codes = new Set<string>()
  const send = async (origin: string): Promise<void> => {
    await new Promise<void>((resolve) => {
      const handler: Dispatcher.DispatchHandler = {
        onResponseError: (_controller, error) => {
          codes.add((error as Error & { code?: string }).code ?? error.name)
          resolve()
        },
        onResponseEnd: () => { resolve() }
      }
      routes.send('strict', true, { origin, path: '/', method: 'GET' }, handler)
    })
  }
  try {
    for (let i = 0; i < 10_000; i += 100) {
      await Promise.all(Array.from({ length: 100 }, async (_, j) => await send(`https://h${i + j}.corp.example`)))
    }
    assert.deepEqual([...codes], ['ENOTFOUND'])
    assert.equal(made.length - atStart, 10_000, 'one connection tried per origin')
    const pools = routes.dispatchers().length
    assert.ok(pools <= MAX_AUTH_POOLS + 1, // and the strict stack's Agent
      `${pools} dispatchers kept (on main: one pool per origin, 10,000)`)
    await new Promise((resolve) => setImmediate(resolve))
    const open = made.slice(atStart).filter((c) => !c.closed && !c.destroyed).length
    assert.ok(open <= MAX_AUTH_POOLS, `${open} clients not closed`)
    // The most recent origin's pool is kept: a second request reuses it (no new pool).
    const before = routes.dispatchers().length
    await send('https://h9999.corp.example')
    assert.equal(routes.dispatchers().length, before)
  } finally {
    await Promise.all(routes.dispatchers().map(async (d) => { await d.destroy() }))
    lifetime.abort()
  }
})
