import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { findChallenge, MAX_CHALLENGE_TEXT, parseChallenges, type Challenge } from '../src/auth/challenge.ts'

const shape = (challenges: Challenge[]): Array<[string, string | undefined, Record<string, string>]> =>
  challenges.map((c) => [c.scheme, c.token68, Object.fromEntries(c.params)])

describe('WWW-Authenticate / Proxy-Authenticate parsing', () => {
  const cases: Array<[string, string | string[] | undefined, Array<[string, string | undefined, Record<string, string>]>]> = [
    ['absent', undefined, []],
    ['empty', '', []],
    ['Node joins the two headers of Apache\'s 401', 'Negotiate, NTLM', [['negotiate', undefined, {}], ['ntlm', undefined, {}]]],
    ['the same as two headers', ['Negotiate', 'NTLM'], [['negotiate', undefined, {}], ['ntlm', undefined, {}]]],
    ['a token68 with padding', 'NTLM TlRMTVNTUAACAAAA==', [['ntlm', 'TlRMTVNTUAACAAAA==', {}]]],
    ['a final Negotiate token, then Basic with a realm', 'Negotiate oYG3MIG0oAMKAQA=, Basic realm="corp"',
      [['negotiate', 'oYG3MIG0oAMKAQA=', {}], ['basic', undefined, { realm: 'corp' }]]],
    ['scheme case and spacing', '  nEgOtIaTe   abc ,,  NTLM  ', [['negotiate', 'abc', {}], ['ntlm', undefined, {}]]],
    ['auth-params with quoted commas and escapes', 'Digest realm="a, b", nonce="x\\"y", qop=auth, NTLM',
      [['digest', undefined, { realm: 'a, b', nonce: 'x"y', qop: 'auth' }], ['ntlm', undefined, {}]]],
    ['a param name is case-insensitive; BWS around =', 'Basic Realm = "r"', [['basic', undefined, { realm: 'r' }]]],
    ['a broken value keeps what came before it', 'NTLM, Basic realm="unterminated', [['ntlm', undefined, {}]]],
    ['junk after a token68 ends that value only', ['Negotiate abc def', 'NTLM'], [['ntlm', undefined, {}]]],
    ['a scheme glued to junk', 'NTLM"x"', []],
    ['`realm=` alone is a token68 (RFC 9110 allows trailing =)', 'Basic realm=, NTLM', [['basic', 'realm=', {}], ['ntlm', undefined, {}]]],
    ['a param without a value', 'Basic realm=x, nonce=, NTLM', []],
    ['a param followed by junk', 'Basic realm="x" junk', []]
  ]
  for (const [name, header, expected] of cases) {
    test(`${name}: ${JSON.stringify(header)}`, () => {
      assert.deepEqual(shape(parseChallenges(header)), expected)
    })
  }

  test('findChallenge is case-insensitive and takes the first of a scheme', () => {
    const challenges = parseChallenges(['NTLM first', 'ntlm second'])
    assert.equal(findChallenge(challenges, 'NTLM')?.token68, 'first')
    assert.equal(findChallenge(challenges, 'negotiate'), undefined)
  })

  test(`more than ${MAX_CHALLENGE_TEXT} characters in total are not parsed`, () => {
    assert.deepEqual(parseChallenges(['NTLM', 'x'.repeat(MAX_CHALLENGE_TEXT)]), [])
  })

  test('any text: the parser ends, in linear time, with lower-case token schemes', () => {
    fc.assert(fc.property(fc.array(fc.string({ unit: fc.constantFrom('N', 't', 'L', 'm', ' ', ',', '=', '"', '\\', 'a', '/', '+', '\t'), maxLength: 60 }), { maxLength: 3 }), (values) => {
      for (const c of parseChallenges(values)) {
        assert.match(c.scheme, /^[!#$%&'*+\-.^_`|~0-9a-z]+$/)
        assert.ok(c.token68 === undefined || c.params.size === 0)
      }
    }), { numRuns: 3000 })
    const start = process.hrtime.bigint()
    parseChallenges('Basic ' + 'a=b, '.repeat(12_000))
    assert.ok(process.hrtime.bigint() - start < 2_000_000_000n)
  })
})
