import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { HostMatcher, normalizeHostname, parseHostPattern, patternMatches, type HostPattern } from '../src/policy/hosts.ts'

function parsed (key: string): HostPattern {
  const pattern = parseHostPattern(key)
  if (typeof pattern === 'string') assert.fail(`expected ${JSON.stringify(key)} to parse, got: ${pattern}`)
  return pattern
}

function matcher (keys: string[]): HostMatcher<string> {
  return new HostMatcher(keys.map((key) => ({ pattern: parsed(key), value: key })))
}

describe('parseHostPattern accepts host patterns', () => {
  const valid: Array<[string, { host: string, wildcard: boolean, port: number | undefined }]> = [
    ['a.example.com', { host: 'a.example.com', wildcard: false, port: undefined }],
    ['A.Example.COM.', { host: 'a.example.com', wildcard: false, port: undefined }],
    ['a.example.com:8443', { host: 'a.example.com', wildcard: false, port: 8443 }],
    ['a.example.com.:8443', { host: 'a.example.com', wildcard: false, port: 8443 }],
    ['*.example.com', { host: 'example.com', wildcard: true, port: undefined }],
    ['*.Example.com.', { host: 'example.com', wildcard: true, port: undefined }],
    ['*.example.com:8443', { host: 'example.com', wildcard: true, port: 8443 }],
    ['[::1]:8443', { host: '::1', wildcard: false, port: 8443 }],
    ['[::1]', { host: '::1', wildcard: false, port: undefined }],
    ['[FE80::1]', { host: 'fe80::1', wildcard: false, port: undefined }],
    ['127.0.0.1', { host: '127.0.0.1', wildcard: false, port: undefined }],
    ['127.0.0.1:1', { host: '127.0.0.1', wildcard: false, port: 1 }],
    ['localhost', { host: 'localhost', wildcard: false, port: undefined }],
    ['localhost:65535', { host: 'localhost', wildcard: false, port: 65_535 }],
    ['under_score.example', { host: 'under_score.example', wildcard: false, port: undefined }],
    ['xn--bcher-kva.example', { host: 'xn--bcher-kva.example', wildcard: false, port: undefined }]
  ]
  for (const [key, expected] of valid) {
    test(`parses ${JSON.stringify(key)} into host ${JSON.stringify(expected.host)}, wildcard ${expected.wildcard}, port ${expected.port}`, () => {
      const pattern = parsed(key)
      assert.equal(pattern.key, key, 'the key is kept as the user wrote it')
      assert.equal(pattern.host, expected.host)
      assert.equal(pattern.wildcard, expected.wildcard)
      assert.equal(pattern.port, expected.port)
    })
  }

  test('a label may be 63 characters long', () => {
    assert.equal(parsed(`${'a'.repeat(63)}.example`).host, `${'a'.repeat(63)}.example`)
  })
})

describe('parseHostPattern rejects malformed patterns with a reason', () => {
  const invalid: Array<[unknown, string]> = [
    ['', 'must be a non-empty host pattern'],
    [undefined, 'must be a non-empty host pattern'],
    [' a', 'must not contain white space'],
    ['a ', 'must not contain white space'],
    ['a .com', 'must not contain white space'],
    ['a.com\t', 'must not contain white space'],
    ['https://a.com', 'must be a host such as \'api.example.com\' or \'api.example.com:8443\', not a URL'],
    ['a.com/path', 'must be a host pattern without a path, query, fragment or credentials'],
    ['a.com?q', 'must be a host pattern without a path, query, fragment or credentials'],
    ['a.com#f', 'must be a host pattern without a path, query, fragment or credentials'],
    ['user@a.com', 'must be a host pattern without a path, query, fragment or credentials'],
    ['*', 'may only use \'*\' as its whole first label, as in \'*.example.com\''],
    ['*.', 'may only use \'*\' as its whole first label, as in \'*.example.com\''],
    ['a*.com', 'may only use \'*\' as its whole first label, as in \'*.example.com\''],
    ['*a.com', 'may only use \'*\' as its whole first label, as in \'*.example.com\''],
    ['a.*.com', 'may only use \'*\' as its whole first label, as in \'*.example.com\''],
    ['*.*.com', 'may only use \'*\' as its whole first label, as in \'*.example.com\''],
    [':443', 'has no host name'],
    ['.', 'has no host name'],
    ['a.com:0', 'has a port out of range: 0'],
    ['a.com:70000', 'has a port out of range: 70000'],
    ['a.com:65536', 'has a port out of range: 65536'],
    ['a.com:abc', 'has an invalid port \'abc\''],
    ['a.com:', 'has an invalid port \'\''],
    ['a.com:-1', 'has an invalid port \'-1\''],
    ['a.com:123456', 'has an invalid port \'123456\''],
    ['::1', 'looks like an IPv6 address: write it in brackets, such as \'[::1]:8443\''],
    ['[::1', 'has an unclosed \'[\''],
    ['[::1]8443', 'has text after \']\' that is not a port'],
    ['[::1]:', 'has an invalid port \'\''],
    ['[::1]:0', 'has a port out of range: 0'],
    ['[]', 'has an invalid IPv6 address in brackets'],
    ['[1.2.3.4]', 'has an invalid IPv6 address in brackets'],
    ['[::g]', 'has an invalid IPv6 address in brackets'],
    ['bad_label-.com', 'has an invalid label \'bad_label-\''],
    ['-a.com', 'has an invalid label \'-a\''],
    ['a..com', 'has an invalid label \'\''],
    ['.a.com', 'has an invalid label \'\''],
    ['a.com..', 'has an invalid label \'\''],
    ['bücher.example', 'has an invalid label \'bücher\''],
    [`${'a'.repeat(64)}.example`, `has an invalid label '${'a'.repeat(64)}'`]
  ]
  for (const [key, message] of invalid) {
    test(`rejects ${JSON.stringify(key)}: ${message}`, () => {
      assert.equal(parseHostPattern(key as string), message)
    })
  }
})

describe('parseHostPattern ranks patterns by specificity', () => {
  test('exact host with a port outranks the exact host, which outranks any wildcard', () => {
    assert.ok(parsed('a.example.com:8443').rank > parsed('a.example.com').rank)
    assert.ok(parsed('a.example.com').rank > parsed('*.b.c.d.e.f.example.com:8443').rank)
  })

  test('a longer wildcard suffix outranks a shorter one, even one with a port', () => {
    assert.ok(parsed('*.a.example.com').rank > parsed('*.example.com').rank)
    assert.ok(parsed('*.a.example.com').rank > parsed('*.example.com:8443').rank)
  })

  test('between two wildcards with the same suffix, the one with a port wins', () => {
    assert.ok(parsed('*.example.com:8443').rank > parsed('*.example.com').rank)
  })

  test('IPv6 literals rank as exact hosts', () => {
    assert.equal(parsed('[::1]').rank, parsed('localhost').rank)
    assert.equal(parsed('[::1]:8443').rank, parsed('localhost:8443').rank)
  })
})

describe('normalizeHostname', () => {
  test('lower-cases, strips IPv6 brackets and one trailing dot', () => {
    assert.equal(normalizeHostname('A.Example.COM.'), 'a.example.com')
    assert.equal(normalizeHostname('[::1]'), '::1')
    assert.equal(normalizeHostname('[FE80::1]'), 'fe80::1')
    assert.equal(normalizeHostname('localhost'), 'localhost')
  })
})

describe('patternMatches', () => {
  test('a wildcard matches one or more labels below its suffix, never the suffix itself', () => {
    const wildcard = parsed('*.example.com')
    assert.equal(patternMatches(wildcard, 'a.example.com', 443), true)
    assert.equal(patternMatches(wildcard, 'a.b.example.com', 443), true)
    assert.equal(patternMatches(wildcard, 'example.com', 443), false)
    assert.equal(patternMatches(wildcard, 'badexample.com', 443), false)
    assert.equal(patternMatches(wildcard, '.example.com', 443), false)
  })

  test('a pattern with a port matches that port only; one without matches every port', () => {
    assert.equal(patternMatches(parsed('a.example.com:8443'), 'a.example.com', 8443), true)
    assert.equal(patternMatches(parsed('a.example.com:8443'), 'a.example.com', 443), false)
    assert.equal(patternMatches(parsed('a.example.com'), 'a.example.com', 8443), true)
    assert.equal(patternMatches(parsed('a.example.com'), 'a.example.com', 443), true)
  })
})

describe('HostMatcher', () => {
  const rules = ['*.example.com', '*.a.example.com', 'b.a.example.com', 'b.a.example.com:8443']

  test('an exact host with the port wins over everything', () => {
    assert.equal(matcher(rules).match('b.a.example.com', 8443), 'b.a.example.com:8443')
  })

  test('an exact host wins over wildcards on other ports', () => {
    assert.equal(matcher(rules).match('b.a.example.com', 443), 'b.a.example.com')
  })

  test('the longer wildcard suffix wins over the shorter one', () => {
    assert.equal(matcher(rules).match('c.a.example.com', 443), '*.a.example.com')
    assert.equal(matcher(rules).match('x.y.a.example.com', 443), '*.a.example.com')
  })

  test('the shorter wildcard catches what nothing more specific matches', () => {
    assert.equal(matcher(rules).match('c.example.com', 443), '*.example.com')
  })

  test('precedence does not depend on the order the rules were given in', () => {
    const reversed = matcher([...rules].reverse())
    assert.equal(reversed.match('b.a.example.com', 8443), 'b.a.example.com:8443')
    assert.equal(reversed.match('b.a.example.com', 443), 'b.a.example.com')
    assert.equal(reversed.match('c.a.example.com', 443), '*.a.example.com')
    assert.equal(reversed.match('c.example.com', 443), '*.example.com')
  })

  test('a wildcard does not match the bare domain', () => {
    assert.equal(matcher(['*.example.com']).match('example.com', 443), undefined)
  })

  test('a port-specific pattern only matches its port', () => {
    const m = matcher(['a.example.com:8443', '*.example.com:9443'])
    assert.equal(m.match('a.example.com', 8443), 'a.example.com:8443')
    assert.equal(m.match('a.example.com', 443), undefined)
    assert.equal(m.match('z.example.com', 9443), '*.example.com:9443')
    assert.equal(m.match('z.example.com', 443), undefined)
  })

  test('a wildcard with a port wins over the same wildcard without one, on that port only', () => {
    const m = matcher(['*.example.com', '*.example.com:8443'])
    assert.equal(m.match('a.example.com', 8443), '*.example.com:8443')
    assert.equal(m.match('a.example.com', 443), '*.example.com')
  })

  test('an exact host without a port wins over a wildcard with the port', () => {
    assert.equal(matcher(['*.example.com:8443', 'a.example.com']).match('a.example.com', 8443), 'a.example.com')
  })

  test('matching is case-insensitive in both the pattern and the host', () => {
    const m = matcher(['A.Example.COM', '*.Wild.Example'])
    assert.equal(m.match('a.example.com', 443), 'A.Example.COM')
    assert.equal(m.match('A.EXAMPLE.COM', 443), 'A.Example.COM')
    assert.equal(m.match('X.WILD.example', 443), '*.Wild.Example')
  })

  test('a trailing dot on the pattern or the host does not matter', () => {
    assert.equal(matcher(['a.example.com.']).match('a.example.com', 443), 'a.example.com.')
    assert.equal(matcher(['a.example.com']).match('a.example.com.', 443), 'a.example.com')
    assert.equal(matcher(['*.example.com']).match('a.example.com.', 443), '*.example.com')
  })

  test('IPv6 literals match with or without brackets around the host', () => {
    const m = matcher(['[::1]:8443', '[fe80::1]'])
    assert.equal(m.match('[::1]', 8443), '[::1]:8443')
    assert.equal(m.match('::1', 8443), '[::1]:8443')
    assert.equal(m.match('[::1]', 443), undefined)
    assert.equal(m.match('[FE80::1]', 443), '[fe80::1]')
  })

  test('an IPv6 pattern matches the hostname of a URL of that address', () => {
    const url = new URL('https://[::1]:8443/')
    assert.equal(matcher(['[::1]:8443']).match(url.hostname, Number(url.port)), '[::1]:8443')
  })

  test('an IPv4 address matches exactly, and is not a wildcard suffix', () => {
    const m = matcher(['127.0.0.1'])
    assert.equal(m.match('127.0.0.1', 443), '127.0.0.1')
    assert.equal(m.match('127.0.0.2', 443), undefined)
  })

  test('an unknown host matches nothing', () => {
    assert.equal(matcher(rules).match('other.test', 443), undefined)
    assert.equal(matcher([]).match('a.example.com', 443), undefined)
  })

  test('size counts the rules', () => {
    assert.equal(matcher(rules).size, 4)
    assert.equal(matcher([]).size, 0)
  })

  test('answers stay right when the memo fills up and is cleared', () => {
    const m = new HostMatcher([{ pattern: parsed('*.example.com'), value: 'wild' }, { pattern: parsed('a.example.com'), value: 'exact' }], 2)
    for (let i = 0; i < 10; i++) {
      assert.equal(m.match(`h${i}.example.com`, 443), 'wild')
      assert.equal(m.match('a.example.com', 443), 'exact')
      assert.equal(m.match(`h${i}.other.test`, 443), undefined)
    }
  })

  test('the memo keeps host and port apart', () => {
    const m = matcher(['a.example.com:8443'])
    assert.equal(m.match('a.example.com', 8443), 'a.example.com:8443')
    assert.equal(m.match('a.example.com', 443), undefined)
    assert.equal(m.match('a.example.com', 8443), 'a.example.com:8443')
  })
})
