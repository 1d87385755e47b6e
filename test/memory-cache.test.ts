import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { TlsFallbackError } from '../src/errors.ts'
import { validateEntry, type PolicyEntry } from '../src/policy/entry.ts'
import { DEFAULT_CACHE_MAX, DEFAULT_TTL, MemoryPolicyCache } from '../src/policy/memory-cache.ts'
import { policyEntry } from './helpers/stores.ts'

function entry (origin: string, overrides: Partial<PolicyEntry> = {}): PolicyEntry {
  return policyEntry(origin, overrides, {
    cipher: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
    records: { helloRequests: 1, serverAlerts: 0, clientAlerts: 1 },
    summary: 'the server sent a HelloRequest after the request'
  })
}

function expired (origin: string): PolicyEntry {
  const now = Date.now()
  return entry(origin, { learnedAt: now - 10_000, expiresAt: now - 1 })
}

function assertInvalidOption (fn: () => unknown, option: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof TlsFallbackError)
    assert.equal(error.code, 'TLS_FALLBACK_INVALID_OPTION')
    assert.equal(error.name, 'TlsFallbackError')
    assert.equal(error.option, option)
    assert.ok(error.message.includes(option), error.message)
    return true
  })
}

describe('MemoryPolicyCache', () => {
  test('defaults to 10,000 entries for 6 hours', () => {
    const cache = new MemoryPolicyCache()
    assert.equal(cache.max, DEFAULT_CACHE_MAX)
    assert.equal(cache.max, 10_000)
    assert.equal(cache.ttl, DEFAULT_TTL)
    assert.equal(cache.ttl, 6 * 60 * 60 * 1000)
  })

  test('undefined options fall back to the defaults', () => {
    const cache = new MemoryPolicyCache({ max: undefined, ttl: undefined })
    assert.equal(cache.max, DEFAULT_CACHE_MAX)
    assert.equal(cache.ttl, DEFAULT_TTL)
  })

  test('keeps the options it was given', () => {
    const cache = new MemoryPolicyCache({ max: 3, ttl: 1_000 })
    assert.equal(cache.max, 3)
    assert.equal(cache.ttl, 1_000)
  })

  test('get returns what set stored, and undefined for an unknown origin', () => {
    const cache = new MemoryPolicyCache()
    const a = entry('https://a.example')
    cache.set('https://a.example', a)
    assert.deepEqual(cache.get('https://a.example'), a, 'an equal entry (kept in compact form)')
    assert.equal(cache.get('https://b.example'), undefined)
    assert.equal(cache.size, 1)
  })

  test('set replaces the entry of an origin without growing', () => {
    const cache = new MemoryPolicyCache()
    cache.set('https://a.example', entry('https://a.example'))
    const replacement = entry('https://a.example', { stack: 'tls13' })
    cache.set('https://a.example', replacement)
    assert.equal(cache.size, 1)
    assert.deepEqual(cache.get('https://a.example'), replacement)
  })

  test('drops the least recently set entry past max', () => {
    const cache = new MemoryPolicyCache({ max: 2 })
    cache.set('https://a.example', entry('https://a.example'))
    cache.set('https://b.example', entry('https://b.example'))
    cache.set('https://c.example', entry('https://c.example'))
    assert.equal(cache.size, 2)
    assert.equal(cache.get('https://a.example'), undefined)
    assert.ok(cache.get('https://b.example'))
    assert.ok(cache.get('https://c.example'))
  })

  test('a get makes an entry the most recently used, so another one is dropped', () => {
    const cache = new MemoryPolicyCache({ max: 2 })
    cache.set('https://a.example', entry('https://a.example'))
    cache.set('https://b.example', entry('https://b.example'))
    assert.ok(cache.get('https://a.example'))
    cache.set('https://c.example', entry('https://c.example'))
    assert.equal(cache.get('https://b.example'), undefined)
    assert.ok(cache.get('https://a.example'))
    assert.ok(cache.get('https://c.example'))
  })

  test('setting an existing origin again makes it the most recently used', () => {
    const cache = new MemoryPolicyCache({ max: 2 })
    cache.set('https://a.example', entry('https://a.example'))
    cache.set('https://b.example', entry('https://b.example'))
    cache.set('https://a.example', entry('https://a.example'))
    cache.set('https://c.example', entry('https://c.example'))
    assert.deepEqual(cache.entries().map((e) => e.origin).sort(), ['https://a.example', 'https://c.example'])
  })

  test('max 1 keeps only the last entry', () => {
    const cache = new MemoryPolicyCache({ max: 1 })
    for (const host of ['a', 'b', 'c']) cache.set(`https://${host}.example`, entry(`https://${host}.example`))
    assert.equal(cache.size, 1)
    assert.deepEqual(cache.entries().map((e) => e.origin), ['https://c.example'])
  })

  test('an entry whose expiresAt has passed is not returned, and is dropped', () => {
    const cache = new MemoryPolicyCache()
    cache.set('https://old.example', expired('https://old.example'))
    assert.equal(cache.size, 1)
    assert.equal(cache.get('https://old.example'), undefined)
    assert.equal(cache.size, 0)
  })

  test('an entry expiring exactly now counts as expired', () => {
    const cache = new MemoryPolicyCache()
    const now = Date.now()
    cache.set('https://edge.example', entry('https://edge.example', { learnedAt: now - 1_000, expiresAt: now }))
    assert.equal(cache.get('https://edge.example'), undefined)
  })

  test('entries() lists the live entries only and drops the expired ones', () => {
    const cache = new MemoryPolicyCache()
    const live = entry('https://live.example')
    cache.set('https://old.example', expired('https://old.example'))
    cache.set('https://live.example', live)
    cache.set('https://older.example', expired('https://older.example'))
    assert.deepEqual(cache.entries(), [live])
    assert.equal(cache.size, 1)
  })

  test('delete forgets an origin; deleting an unknown origin is harmless', () => {
    const cache = new MemoryPolicyCache()
    cache.set('https://a.example', entry('https://a.example'))
    cache.set('https://b.example', entry('https://b.example'))
    cache.delete('https://a.example')
    cache.delete('https://never.example')
    assert.equal(cache.get('https://a.example'), undefined)
    assert.ok(cache.get('https://b.example'))
    assert.equal(cache.size, 1)
  })

  test('close releases nothing and keeps what was learned readable', async () => {
    const cache = new MemoryPolicyCache()
    const learned = entry('https://a.example')
    cache.set('https://a.example', learned)
    await cache.close()
    assert.equal(cache.size, 1)
    assert.deepEqual(cache.get('https://a.example'), learned)
    assert.deepEqual(cache.entries(), [learned])
  })

  const badMax: Array<[string, unknown]> = [
    ['0', 0], ['-1', -1], ['1.5', 1.5], ['NaN', NaN], ['Infinity', Infinity], ['the string \'10\'', '10']
  ]
  for (const [name, max] of badMax) {
    test(`max ${name} is refused with TLS_FALLBACK_INVALID_OPTION naming MemoryPolicyCache.max`, () => {
      assertInvalidOption(() => new MemoryPolicyCache({ max: max as number }), 'MemoryPolicyCache.max')
    })
  }

  const badTtl: Array<[string, unknown]> = [['0', 0], ['-5', -5], ['2.5', 2.5], ['NaN', NaN], ['the string \'1000\'', '1000']]
  for (const [name, ttl] of badTtl) {
    test(`ttl ${name} is refused with TLS_FALLBACK_INVALID_OPTION naming MemoryPolicyCache.ttl`, () => {
      assertInvalidOption(() => new MemoryPolicyCache({ ttl: ttl as number }), 'MemoryPolicyCache.ttl')
    })
  }

  test('an unknown option is refused, named by its key', () => {
    assertInvalidOption(() => new MemoryPolicyCache({ maxSize: 10 } as never), 'MemoryPolicyCache.maxSize')
  })

  test('options that are not an object are refused', () => {
    assertInvalidOption(() => new MemoryPolicyCache(null as never), 'MemoryPolicyCache options')
    assertInvalidOption(() => new MemoryPolicyCache(5 as never), 'MemoryPolicyCache options')
  })

  test('the message says what was given', () => {
    assert.throws(() => new MemoryPolicyCache({ max: '10' as never }), /got "10"/)
    assert.throws(() => new MemoryPolicyCache({ max: 1.5 }), /got 1\.5/)
  })
})

describe('validateEntry', () => {
  test('a valid entry is returned as an equal plain copy, never the object it was given', () => {
    const valid = entry('https://a.example')
    assert.deepEqual(validateEntry(valid), valid)
    assert.notEqual(validateEntry(valid), valid)
    assert.deepEqual(validateEntry(valid, 'https://a.example'), valid)
  })

  test('a valid entry with a port, http1Only and every fingerprint and stack is accepted', () => {
    for (const fingerprint of ['renegotiation-refused', 'unsafe-legacy-renegotiation', 'client-certificate-required', 'http11-required'] as const) {
      for (const stack of ['strict', 'tls13', 'renegotiation', 'legacy-server-connect'] as const) {
        const valid = entry('https://a.example:8443', { fingerprint, stack, http1Only: true })
        assert.deepEqual(validateEntry(valid, 'https://a.example:8443'), valid, `${fingerprint} ${stack}`)
      }
    }
  })

  test('an entry that went through JSON is accepted', () => {
    const valid = entry('https://a.example')
    assert.deepEqual(validateEntry(JSON.parse(JSON.stringify(valid))), valid)
  })

  const malformed: Array<[string, unknown, string]> = [
    ['null', null, 'not an object'],
    ['a string', 'entry', 'not an object'],
    ['an array', [], 'not an object'],
    ['an origin that is not a string', { ...entry('https://a.example'), origin: 42 }, 'origin is not a string'],
    ['an origin that is not a URL', { ...entry('https://a.example'), origin: 'not a url' }, 'origin is not a URL'],
    ['an http origin', entry('http://a.example'), 'origin is not an https origin'],
    ['an origin with a path', entry('https://a.example/path'), 'origin is not an https origin'],
    ['an origin with a trailing slash', entry('https://a.example/'), 'origin is not an https origin'],
    ['an origin in upper case', entry('https://A.example'), 'origin is not an https origin'],
    ['an origin with the default port written out', entry('https://a.example:443'), 'origin is not an https origin'],
    ['an origin with credentials', entry('https://u:p@a.example'), 'origin is not an https origin'],
    ['an unknown stack', entry('https://a.example', { stack: 'insecure' as never }), 'unknown stack "insecure"'],
    ['a missing stack', { ...entry('https://a.example'), stack: undefined }, 'unknown stack undefined'],
    ['http1Only \'yes\'', entry('https://a.example', { http1Only: 'yes' as never }), 'http1Only is not a boolean'],
    ['an unknown fingerprint', entry('https://a.example', { fingerprint: 'made-up' as never }), 'unknown fingerprint "made-up"'],
    ['a missing fingerprint', { ...entry('https://a.example'), fingerprint: undefined }, 'unknown fingerprint undefined'],
    ['missing evidence', { ...entry('https://a.example'), evidence: undefined }, 'evidence is not an object'],
    ['null evidence', { ...entry('https://a.example'), evidence: null }, 'evidence is not an object'],
    ['evidence as an array', { ...entry('https://a.example'), evidence: [] }, 'evidence is not an object'],
    ['evidence without verified', { ...entry('https://a.example'), evidence: { summary: 'x' } }, 'evidence lacks verified or summary'],
    ['evidence without summary', { ...entry('https://a.example'), evidence: { verified: true } }, 'evidence lacks verified or summary'],
    ['learnedAt NaN', entry('https://a.example', { learnedAt: NaN }), 'learnedAt or expiresAt is not a number'],
    ['expiresAt Infinity', entry('https://a.example', { expiresAt: Infinity }), 'learnedAt or expiresAt is not a number'],
    ['expiresAt as a string', entry('https://a.example', { expiresAt: '1' as never }), 'learnedAt or expiresAt is not a number'],
    ['expiresAt before learnedAt', entry('https://a.example', { learnedAt: 2_000, expiresAt: 1_000 }), 'expiresAt is before learnedAt']
  ]
  for (const [name, value, reason] of malformed) {
    test(`refuses ${name}: ${reason}`, () => {
      assert.equal(validateEntry(value), reason)
    })
  }

  test('refuses an entry whose origin differs from the key it was stored under', () => {
    assert.equal(validateEntry(entry('https://a.example'), 'https://b.example'),
      'origin "https://a.example" does not match the key "https://b.example"')
    assert.equal(validateEntry(entry('https://a.example'), 'https://a.example:8443'),
      'origin "https://a.example" does not match the key "https://a.example:8443"')
  })
})

describe('compact storage', () => {
  test('equal evidence is shared (and frozen) between entries; different evidence is not', async () => {
    const { MemoryPolicyCache: Cache } = await import('../src/index.ts')
    const cache = new Cache()
    const a = entry('https://a.example')
    const b = entry('https://b.example')
    cache.set(a.origin, a)
    cache.set(b.origin, { ...b, evidence: { ...b.evidence } })
    const c = entry('https://c.example')
    cache.set(c.origin, { ...c, evidence: { ...c.evidence, bytesSent: c.evidence.bytesSent + 1 } })
    assert.equal(cache.get(a.origin)?.evidence, cache.get(b.origin)?.evidence)
    assert.notEqual(cache.get(a.origin)?.evidence, cache.get(c.origin)?.evidence)
    assert.ok(Object.isFrozen(cache.get(a.origin)?.evidence))
    assert.deepEqual(cache.get(c.origin)?.evidence, { ...c.evidence, bytesSent: c.evidence.bytesSent + 1 })
  })
})

describe('packed evidence, past the sharing bound', () => {
  // Caches share up to 4,096 distinct evidence values; these 5,000 entries all differ (bytesSent),
  // so the later ones keep their evidence packed into the entry.
  const layouts: Array<[string, (e: PolicyEntry['evidence'], i: number) => PolicyEntry['evidence']]> = [
    ['records', (e, i) => ({ ...e, bytesSent: 1_000_000 + i })],
    ['renegotiations', (e, i) => {
      const { records: _r, verified, summary, ...rest } = e
      return { ...rest, bytesSent: 2_000_000 + i, renegotiations: 1, verified, summary }
    }],
    ['neither records nor renegotiations', (e, i) => {
      const { records: _r, ...rest } = e
      return { ...rest, bytesSent: 3_000_000 + i }
    }]
  ]
  for (const [name, vary] of layouts) {
    test(`evidence with ${name}: a read returns one stable entry, equal to what was stored, and the same JSON`, async () => {
      const { isPacked } = await import('../src/policy/packed-entry.ts')
      const { inspect } = await import('node:util')
      const cache = new MemoryPolicyCache({ max: 10_000 })
      const stored: PolicyEntry[] = []
      for (let i = 0; i < 5_000; i++) {
        const origin = `https://h${i}.example`
        const e = entry(origin, { http1Only: i % 2 === 0 ? true : undefined })
        if (e.http1Only === undefined) delete e.http1Only
        e.evidence = vary(e.evidence, i)
        stored.push(e)
        cache.set(origin, e)
      }
      const last = stored[4_999] as PolicyEntry
      const got = cache.get(last.origin) as PolicyEntry
      assert.ok(isPacked(got), 'the last of 5,000 distinct evidence values is packed')
      assert.equal(cache.get(last.origin), got, 'the same entry object at every read')
      assert.deepStrictEqual(got, last)
      assert.equal(JSON.stringify(got), JSON.stringify(last), 'the same keys in the same order')
      assert.deepStrictEqual(structuredClone(got), last)
      assert.deepStrictEqual({ ...got }, last)
      // validateEntry returns a plain copy (issue 16): equal to what was stored, evidence unpacked.
      assert.deepStrictEqual(validateEntry(got, last.origin), last)
      assert.ok(!inspect(got).includes('[Getter]'), inspect(got))
      assert.ok(inspect(got).includes(String(last.evidence.bytesSent)), inspect(got))
      let packed = 0
      for (const e of stored) {
        const read = cache.get(e.origin) as PolicyEntry
        assert.deepStrictEqual(read, e)
        if (isPacked(read)) packed += 1
      }
      assert.ok(packed >= 5_000 - 4_096, `${packed} of 5,000 entries packed`)
      assert.deepStrictEqual(cache.entries().find((e) => e.origin === last.origin), last)
    })
  }
})
