import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { ReadableStream } from 'node:stream/web'
import { describe, test } from 'node:test'
import { FormData as UndiciFormData } from 'undici'
import { DEFAULT_MAX_REPLAY_BODY_SIZE, isIdempotent, ReplayableBody } from '../src/replay.ts'
import { hasIdempotencyKey, refusedBeforeProcessing, replayVerdict, requestIsIdempotent } from '../src/replay-policy.ts'
import { FINGERPRINTS, type Diagnosis, type FingerprintId } from '../src/fingerprint.ts'

/* eslint-disable no-unreachable-loop -- `for await (...) { ...; break }` reads one chunk and then closes the iterator, as undici does when an attempt fails */

function iterable (body: unknown): AsyncIterable<Buffer> {
  assert.ok(body !== null && typeof body === 'object' && Symbol.asyncIterator in body, 'a stream body is replayed as an async iterable')
  return body as AsyncIterable<Buffer>
}

async function drain (body: unknown): Promise<Buffer[]> {
  const chunks: Buffer[] = []
  for await (const chunk of iterable(body)) chunks.push(chunk)
  return chunks
}

const text = (chunks: Buffer[]): string => Buffer.concat(chunks).toString()

function formData (): FormData {
  const form = new FormData()
  form.append('a', 'b')
  return form
}

function undiciFormData (): UndiciFormData {
  const form = new UndiciFormData()
  form.append('file', new Blob(['content']), 'f.txt')
  return form
}

describe('isIdempotent', () => {
  for (const method of ['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'QUERY']) {
    test(`${method} is idempotent`, () => {
      assert.equal(isIdempotent(method, undefined), true)
    })
  }
  for (const method of ['POST', 'PATCH', 'CONNECT', 'PROPFIND']) {
    test(`${method} is not idempotent`, () => {
      assert.equal(isIdempotent(method, undefined), false)
    })
  }

  test('an explicit idempotent flag overrides the method', () => {
    assert.equal(isIdempotent('POST', true), true)
    assert.equal(isIdempotent('PATCH', true), true)
    assert.equal(isIdempotent('GET', false), false)
    assert.equal(isIdempotent('PUT', false), false)
  })

  test('the method is compared without regard to case', () => {
    assert.equal(isIdempotent('get', undefined), true)
    assert.equal(isIdempotent('post', undefined), false)
  })
})

describe('ReplayableBody with a body that is not a stream', () => {
  const bytes = Buffer.from('hello')
  const cases: Array<[string, unknown]> = [
    ['a string', 'hello'],
    ['an empty string', ''],
    ['a Buffer', bytes],
    ['a Uint8Array', new Uint8Array([1, 2, 3])],
    ['null', null],
    ['undefined', undefined],
    ['an ArrayBuffer', new ArrayBuffer(4)],
    ['a Blob', new Blob(['hello'])],
    ['a FormData (iterable, but data that undici serializes again)', formData()],
    ['an undici FormData', undiciFormData()],
    ['a URLSearchParams', new URLSearchParams('a=1&b=2')]
  ]
  for (const [name, body] of cases) {
    test(`${name} is given back as it is, every time, and stays replayable`, () => {
      const replay = new ReplayableBody(body, 1)
      assert.equal(replay.isStream, false)
      for (let i = 0; i < 3; i++) {
        assert.equal(replay.nextBody(), body)
        assert.equal(replay.replayable, true)
      }
      assert.equal(replay.recordedBytes, 0)
    })
  }

  test('a string larger than maxSize is still replayable: only streams are bounded', () => {
    const replay = new ReplayableBody('x'.repeat(100), 10)
    assert.equal(replay.replayable, true)
    assert.equal(replay.nextBody(), 'x'.repeat(100))
  })

  test('dispose leaves a static body alone', () => {
    const replay = new ReplayableBody('hello', 10)
    replay.dispose()
    assert.equal(replay.nextBody(), 'hello')
  })

  test('ReplayableBody.of shares one instance for no body (undefined, and null), which dispose leaves working', () => {
    for (const body of [undefined, null]) {
      const a = ReplayableBody.of(body, 10)
      const b = ReplayableBody.of(body, 1_000)
      assert.equal(a, b, `one shared instance for ${String(body)}`)
      a.dispose()
      assert.equal(b.nextBody(), body, 'what is given back is exactly the body: undefined stays undefined, null stays null')
      assert.equal(b.replayable, true)
      assert.equal(b.isStream, false)
    }
    assert.notEqual(ReplayableBody.of(undefined, 10), ReplayableBody.of(null, 10))
  })

  test('ReplayableBody.of makes a body of its own for anything else', () => {
    const a = ReplayableBody.of('hello', 10)
    assert.notEqual(a, ReplayableBody.of('hello', 10))
    assert.equal(a.nextBody(), 'hello')
    const stream = ReplayableBody.of(Readable.from([Buffer.from('x')]), 10)
    assert.equal(stream.isStream, true)
  })
})

describe('ReplayableBody with a Readable stream', () => {
  test('the first body yields every byte of the source; the next is a Buffer of the same bytes', async () => {
    const replay = new ReplayableBody(Readable.from([Buffer.from('ab'), Buffer.from('cd'), Buffer.from('ef')]), 1024)
    assert.equal(replay.isStream, true)
    assert.equal(text(await drain(replay.nextBody())), 'abcdef')
    assert.equal(replay.recordedBytes, 6)
    assert.equal(replay.replayable, true)
    const again = replay.nextBody()
    assert.ok(Buffer.isBuffer(again))
    assert.equal(again.toString(), 'abcdef')
    const third = replay.nextBody()
    assert.ok(Buffer.isBuffer(third))
    assert.equal(third.toString(), 'abcdef')
  })

  test('string chunks are recorded as their bytes', async () => {
    const replay = new ReplayableBody(Readable.from(['hé', 'llo']), 1024)
    assert.equal(text(await drain(replay.nextBody())), 'héllo')
    assert.deepEqual(replay.nextBody(), Buffer.from('héllo'))
    assert.equal(replay.recordedBytes, Buffer.byteLength('héllo'))
  })

  test('an empty stream is replayed as null', async () => {
    const replay = new ReplayableBody(Readable.from([]), 1024)
    assert.deepEqual(await drain(replay.nextBody()), [])
    assert.equal(replay.nextBody(), null)
  })

  test('a stream of exactly maxSize bytes stays replayable', async () => {
    const replay = new ReplayableBody(Readable.from([Buffer.alloc(6, 1), Buffer.alloc(4, 2)]), 10)
    assert.equal(Buffer.concat(await drain(replay.nextBody())).length, 10)
    assert.equal(replay.replayable, true)
    assert.equal((replay.nextBody() as Buffer).length, 10)
  })

  test('a stream over maxSize is still sent whole, but is then not replayable and nextBody throws', async () => {
    const chunks = [Buffer.from('aaaa'), Buffer.from('bbbb'), Buffer.from('cccc'), Buffer.from('dddd')]
    const replay = new ReplayableBody(Readable.from(chunks), 10)
    assert.equal(text(await drain(replay.nextBody())), 'aaaabbbbccccdddd')
    assert.equal(replay.replayable, false)
    assert.throws(() => replay.nextBody(), /no longer replayable/)
  })

  test('a single chunk bigger than maxSize makes the body not replayable', async () => {
    const replay = new ReplayableBody(Readable.from([Buffer.alloc(11)]), 10)
    assert.equal(Buffer.concat(await drain(replay.nextBody())).length, 11)
    assert.equal(replay.replayable, false)
    assert.throws(() => replay.nextBody(), /no longer replayable/)
  })

  test('the default limit is 1 MiB', () => {
    assert.equal(DEFAULT_MAX_REPLAY_BODY_SIZE, 1024 * 1024)
  })

  test('a replay started after a partial read yields the whole body from the start, in order, once', async () => {
    const parts = ['one-', 'two-', 'three-', 'four']
    const replay = new ReplayableBody(Readable.from(parts.map((p) => Buffer.from(p))), 1024)
    const first: Buffer[] = []
    for await (const chunk of iterable(replay.nextBody())) {
      first.push(chunk)
      break
    }
    assert.equal(text(first), 'one-')
    assert.equal(replay.recordedBytes, 4)
    const second = await drain(replay.nextBody())
    assert.deepEqual(second.map(String), parts)
    assert.equal((replay.nextBody() as Buffer).toString(), 'one-two-three-four')
  })

  test('a replay after two partial reads still yields each chunk exactly once', async () => {
    const parts = ['a', 'b', 'c', 'd', 'e']
    const replay = new ReplayableBody(Readable.from(parts), 1024)
    for (const take of [1, 3]) {
      const seen: string[] = []
      for await (const chunk of iterable(replay.nextBody())) {
        seen.push(String(chunk))
        if (seen.length === take) break
      }
      assert.deepEqual(seen, parts.slice(0, take))
    }
    assert.deepEqual((await drain(replay.nextBody())).map(String), parts)
  })

  test('a chunk still being pulled by a failed attempt reaches the next attempt, in order, once', async () => {
    const gates: Array<(chunk: string) => void> = []
    async function * slow (): AsyncGenerator<string> {
      for (let i = 0; i < 3; i++) yield await new Promise<string>((resolve) => gates.push(resolve))
    }
    const replay = new ReplayableBody(slow(), 1024)
    const stale = iterable(replay.nextBody())[Symbol.asyncIterator]()
    const stalePull = stale.next()
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(gates.length, 1, 'the failed attempt has one pull in flight')
    const fresh = drain(replay.nextBody())
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(gates.length, 1, 'the next attempt shares that pull instead of starting another')
    gates[0]?.('a')
    assert.equal(String((await stalePull).value), 'a')
    await new Promise((resolve) => setImmediate(resolve))
    gates[1]?.('b')
    await new Promise((resolve) => setImmediate(resolve))
    gates[2]?.('c')
    assert.deepEqual((await fresh).map(String), ['a', 'b', 'c'])
  })

  test('an abandoned first read does not destroy the source', async () => {
    const source = Readable.from(['a', 'b', 'c'])
    const replay = new ReplayableBody(source, 1024)
    for await (const chunk of iterable(replay.nextBody())) {
      assert.equal(String(chunk), 'a')
      break
    }
    assert.equal(source.destroyed, false)
    assert.equal(text(await drain(replay.nextBody())), 'abc')
  })

  test('dispose destroys an unfinished Readable source and passes the error on', async () => {
    const source = new Readable({ read () {} })
    source.push('a')
    let destroyedWith: Error | null | undefined
    source.on('error', () => {})
    const destroy = source.destroy.bind(source)
    source.destroy = (error?: Error) => {
      destroyedWith = error
      return destroy(error)
    }
    const replay = new ReplayableBody(source, 1024)
    for await (const chunk of iterable(replay.nextBody())) {
      assert.equal(String(chunk), 'a')
      break
    }
    const reason = new Error('request failed')
    replay.dispose(reason)
    assert.equal(source.destroyed, true)
    assert.equal(destroyedWith, reason)
  })

  test('dispose does not touch a source that was read to its end', async () => {
    const source = Readable.from(['a'])
    let destroyCalls = 0
    const destroy = source.destroy.bind(source)
    source.destroy = (error?: Error) => {
      destroyCalls++
      return destroy(error)
    }
    const replay = new ReplayableBody(source, 1024)
    await drain(replay.nextBody())
    await new Promise((resolve) => setImmediate(resolve))
    // The stream may destroy itself at its end (autoDestroy); dispose must add no call of its own.
    const before = destroyCalls
    replay.dispose(new Error('late'))
    assert.equal(destroyCalls, before)
    assert.equal(source.errored, null)
  })

  test('an error from the source reaches the reader', async () => {
    const source = new Readable({ read () {} })
    source.push('a')
    setImmediate(() => source.destroy(new Error('source broke')))
    const replay = new ReplayableBody(source, 1024)
    await assert.rejects(drain(replay.nextBody()), /source broke/)
  })

  test('a chunk that is neither a string nor bytes is refused with a TypeError', async () => {
    const replay = new ReplayableBody(Readable.from([{ not: 'bytes' }]), 1024)
    await assert.rejects(drain(replay.nextBody()), TypeError)
  })
})

describe('ReplayableBody with other stream sources', () => {
  test('an async generator is read once and replayed', async () => {
    let pulls = 0
    async function * source (): AsyncGenerator<string> {
      for (const part of ['x', 'y', 'z']) {
        pulls++
        yield part
      }
    }
    const replay = new ReplayableBody(source(), 1024)
    assert.equal(replay.isStream, true)
    assert.equal(text(await drain(replay.nextBody())), 'xyz')
    assert.equal((replay.nextBody() as Buffer).toString(), 'xyz')
    assert.equal(pulls, 3, 'the source is read once')
  })

  test('an async generator abandoned after one chunk is replayed from its start', async () => {
    async function * source (): AsyncGenerator<Uint8Array> {
      yield new Uint8Array([1])
      yield new Uint8Array([2])
      yield new Uint8Array([3])
    }
    const replay = new ReplayableBody(source(), 1024)
    for await (const chunk of iterable(replay.nextBody())) {
      assert.deepEqual([...chunk], [1])
      break
    }
    assert.deepEqual([...Buffer.concat(await drain(replay.nextBody()))], [1, 2, 3])
  })

  test('a web ReadableStream is read and replayed', async () => {
    const source = new ReadableStream<Uint8Array>({
      start (controller) {
        controller.enqueue(new TextEncoder().encode('web-'))
        controller.enqueue(new TextEncoder().encode('stream'))
        controller.close()
      }
    })
    const replay = new ReplayableBody(source, 1024)
    assert.equal(replay.isStream, true)
    assert.equal(text(await drain(replay.nextBody())), 'web-stream')
    assert.equal((replay.nextBody() as Buffer).toString(), 'web-stream')
  })

  test('a synchronous iterable of chunks is read and replayed', async () => {
    const replay = new ReplayableBody(new Set(['s', 'y', 'n', 'c']), 1024)
    assert.equal(replay.isStream, true)
    assert.equal(text(await drain(replay.nextBody())), 'sync')
    assert.equal((replay.nextBody() as Buffer).toString(), 'sync')
  })

  test('a web ReadableStream over maxSize is not replayable', async () => {
    const source = new ReadableStream<Uint8Array>({
      start (controller) {
        controller.enqueue(new Uint8Array(8))
        controller.enqueue(new Uint8Array(8))
        controller.close()
      }
    })
    const replay = new ReplayableBody(source, 10)
    assert.equal(Buffer.concat(await drain(replay.nextBody())).length, 16)
    assert.equal(replay.replayable, false)
    assert.throws(() => replay.nextBody(), /no longer replayable/)
  })
})

describe('the replay decision (src/replay-policy.ts)', () => {
  const diagnosis = (fingerprint: FingerprintId, verified: boolean, requestUnprocessed?: boolean): Diagnosis => ({
    fingerprint,
    ...(requestUnprocessed === undefined ? {} : { requestUnprocessed }),
    evidence: { errorCode: 'ECONNRESET', tlsVersion: 'TLSv1.2', cipher: null, bytesReceived: 0, bytesSent: 0, plaintextReceived: 0, verified, summary: 'test' }
  })

  test('verified renegotiation-refused: a non-idempotent request is not replayed unless the host opts in; an idempotent one is', () => {
    const d = diagnosis('renegotiation-refused', true)
    assert.equal(replayVerdict(d, false, false), 'not-idempotent')
    assert.equal(replayVerdict(d, false, true), 'replay')
    assert.equal(replayVerdict(d, true, false), 'replay')
  })

  test('unverified evidence: only an idempotent request goes again, whatever replayNonIdempotent says', () => {
    const d = diagnosis('renegotiation-refused', false)
    assert.equal(replayVerdict(d, false, false), 'unverified')
    assert.equal(replayVerdict(d, false, true), 'unverified')
    assert.equal(replayVerdict(d, true, false), 'replay')
  })

  test('a failed handshake (unsafe-legacy-renegotiation) is replayable for any method: the request never left', () => {
    assert.equal(refusedBeforeProcessing(diagnosis('unsafe-legacy-renegotiation', false)), true)
    assert.equal(replayVerdict(diagnosis('unsafe-legacy-renegotiation', false), false, false), 'replay')
  })

  test('http11-required: any method only when the stream is known unprocessed (GOAWAY above it), not for RST_STREAM or a covering GOAWAY', () => {
    assert.equal(replayVerdict(diagnosis('http11-required', true, true), false, false), 'replay')
    assert.equal(replayVerdict(diagnosis('http11-required', true, false), false, false), 'not-idempotent')
    assert.equal(replayVerdict(diagnosis('http11-required', true), false, false), 'not-idempotent')
    assert.equal(replayVerdict(diagnosis('http11-required', true, false), false, true), 'replay')
  })

  test('every fingerprint takes a side in refusedBeforeProcessing (a boolean, never undefined)', () => {
    for (const fingerprint of FINGERPRINTS) {
      assert.equal(typeof refusedBeforeProcessing(diagnosis(fingerprint, true)), 'boolean', fingerprint)
    }
  })

  test('an Idempotency-Key header in every header form undici takes, or idempotent: true, makes a POST idempotent; idempotent: false wins', () => {
    assert.equal(requestIsIdempotent('POST', undefined, { 'Idempotency-Key': 'k' }), true)
    assert.equal(requestIsIdempotent('POST', undefined, { 'idempotency-key': 'k' }), true)
    assert.equal(requestIsIdempotent('POST', undefined, ['content-type', 'text/plain', 'IDEMPOTENCY-KEY', 'k']), true)
    assert.equal(requestIsIdempotent('POST', undefined, [Buffer.from('idempotency-key'), Buffer.from('k')] as unknown as string[]), true)
    assert.equal(requestIsIdempotent('POST', undefined, new Map([['Idempotency-Key', 'k']]) as unknown as Record<string, string>), true)
    assert.equal(requestIsIdempotent('POST', true, undefined), true)
    assert.equal(requestIsIdempotent('POST', false, { 'Idempotency-Key': 'k' }), false)
    assert.equal(requestIsIdempotent('POST', undefined, { 'content-type': 'text/plain', 'x-idempotency-key': 'k' }), false)
    assert.equal(requestIsIdempotent('POST', undefined, ['x-idempotency-key', 'k', 'idempotency-key-2', 'k']), false)
    assert.equal(requestIsIdempotent('POST', undefined, null), false)
    assert.equal(requestIsIdempotent('GET', undefined, undefined), true)
    // A header value that happens to be the name is not the name.
    assert.equal(hasIdempotencyKey(['x-note', 'idempotency-key']), false)
  })
})
