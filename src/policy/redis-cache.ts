import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { invalidOption } from '../errors.ts'
import type { Logger } from '../telemetry.ts'
import type { PolicyCache } from './cache.ts'
import { quoteOutside } from '../outside-text.ts'
import { checkOrigin, MAX_ENTRY_BYTES, type PolicyEntry } from './entry.ts'
import { checkPositiveInteger, DEFAULT_CACHE_MAX, DEFAULT_TTL, kind, MemoryPolicyCache } from './memory-cache.ts'
import { fitsBytes, StoreSupport, summary, type ChangeListener } from './store-support.ts'
import { isIntermediateKey, MAX_STORED_BYTES } from '../certs/stored-intermediates.ts'

/** The part of an ioredis client this store uses. */
export interface RedisClient {
  status: string
  get: (key: string) => Promise<string | null>
  /** Reads at most a bounded part of a value (fetched intermediates); without it they are not shared. */
  getrange?: (key: string, start: number, end: number) => Promise<string>
  set: (key: string, value: string, mode: 'PX', ms: number) => Promise<unknown>
  del: (key: string) => Promise<number>
  publish: (channel: string, message: string) => Promise<number>
  scan: (cursor: string | number, ...args: Array<string | number>) => Promise<[string, string[]]>
  subscribe: (channel: string) => Promise<unknown>
  duplicate: (options?: object) => RedisClient
  quit: () => Promise<unknown>
  disconnect: () => void
  /** Connects a client created with `lazyConnect`. */
  connect?: () => Promise<unknown>
  // ioredis's own listener type: a listener with typed parameters ('message' gets two strings) must fit.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  on: (event: string, listener: (...args: any[]) => void) => unknown
}

export interface RedisPolicyCacheOptions {
  /** A Redis URL such as `redis://127.0.0.1:6379/0`; the store creates (and closes) its connections. Needs the `ioredis` package. */
  url?: string
  /** An ioredis client to use instead of `url`. The store does not close it. */
  client?: RedisClient
  /** Prefix of the keys and of the pub/sub channel. Default: `'undici-tls-fallback:'`. */
  keyPrefix?: string
  /** How long a learned policy lasts, in milliseconds (also the keys' expiry). Default: 6 hours. */
  ttl?: number
  /** How many origins to keep in memory. Default: 10,000. */
  max?: number
  /** How long the first request to an origin this process has never seen waits for Redis, in ms. Default: 250. */
  loadTimeout?: number
  /** Where warnings go (Redis unreachable, a malformed value). Default: process warnings. */
  logger?: Logger
}

interface Message {
  id: string
  origin: string
  entry: PolicyEntry | null
}

const KNOWN = ['url', 'client', 'keyPrefix', 'ttl', 'max', 'loadTimeout', 'logger']
/** The largest pub/sub message read (UTF-8 bytes): an entry, its origin and the sender's id. Larger: refused before it is parsed. */
export const MAX_MESSAGE_BYTES = 2 * MAX_ENTRY_BYTES
/** How long close() waits for Redis to acknowledge QUIT before it drops the connection. */
const QUIT_TIMEOUT_MS = 1_000

/** The Redis key of an origin's policy. */
export function policyKey (keyPrefix: string, origin: string): string {
  return `${keyPrefix}policy:${origin}`
}

/** The Redis key of the intermediates fetched for an issuer (`intermediateKey`: a hash). */
export function intermediatesKey (keyPrefix: string, key: string): string {
  return `${keyPrefix}intermediates:${key}`
}

/** The pub/sub channel on which stores tell each other of entries set or deleted. */
export function changesChannel (keyPrefix: string): string {
  return `${keyPrefix}changes`
}

/** A pub/sub message: `entry` null for a deletion. Stores ignore the messages that carry their own `id`. */
export function changeMessage (id: string, origin: string, entry: PolicyEntry | null): string {
  const message: Message = { id, origin, entry }
  return JSON.stringify(message)
}

/**
 * Shares policies across a fleet through Redis. Memory first: `get` never waits on the network.
 * Every process keeps the entries in memory, loads them all when it connects, and hears of entries
 * set or deleted elsewhere through pub/sub (within a second, without a request). An origin this
 * process has never seen may be looked up with a short bound before its first request; in a process
 * that just started, that bound also covers waiting for the connection (connecting is not an
 * outage). When Redis is down, requests go on with memory alone, changes are kept and written when
 * it comes back, and a warning is logged once per outage. After `close()` the entries stay readable.
 */
export class RedisPolicyCache implements PolicyCache {
  readonly ttl: number
  readonly keyPrefix: string
  readonly #memory: MemoryPolicyCache
  readonly #support: StoreSupport
  readonly #client: RedisClient
  readonly #subscriber: RedisClient
  readonly #owns: boolean
  readonly #channel: string
  readonly #id = randomBytes(8).toString('hex')
  readonly #loadTimeout: number
  /** Changes Redis has not taken yet (an entry, or null for a deletion). */
  readonly #unsynced = new Map<string, PolicyEntry | null>()
  /** Look-ups waiting for the client to be ready; each is called when it is, or when that will not happen soon. */
  readonly #waiting = new Set<() => void>()
  /** Settles once the subscriber listens on the channel (or failed to). */
  readonly #subscribed: Promise<void>
  #down = false
  #closed = false
  /** Resolves once the entries present in Redis at connection time are in memory. */
  readonly ready: Promise<void>

  constructor (options: RedisPolicyCacheOptions) {
    if (options === null || typeof options !== 'object') throw invalidOption('RedisPolicyCache options', `must be an object with url or client, got ${kind(options)}`)
    for (const key of Object.keys(options)) {
      if (!KNOWN.includes(key)) throw invalidOption(`RedisPolicyCache.${key}`, `is not an option (known: ${KNOWN.join(', ')})`)
    }
    if ((options.url === undefined) === (options.client === undefined)) throw invalidOption('RedisPolicyCache', 'needs exactly one of url or client')
    if (options.url !== undefined && (typeof options.url !== 'string' || !/^rediss?:\/\//.test(options.url))) {
      throw invalidOption('RedisPolicyCache.url', 'must be a redis:// or rediss:// URL')
    }
    if (options.client !== undefined && (typeof options.client !== 'object' || typeof options.client?.duplicate !== 'function')) {
      throw invalidOption('RedisPolicyCache.client', 'must be an ioredis client')
    }
    this.keyPrefix = options.keyPrefix ?? 'undici-tls-fallback:'
    if (typeof this.keyPrefix !== 'string') throw invalidOption('RedisPolicyCache.keyPrefix', 'must be a string')
    this.ttl = options.ttl ?? DEFAULT_TTL
    checkPositiveInteger('RedisPolicyCache.ttl', this.ttl)
    const max = options.max ?? DEFAULT_CACHE_MAX
    checkPositiveInteger('RedisPolicyCache.max', max)
    this.#loadTimeout = options.loadTimeout ?? 250
    checkPositiveInteger('RedisPolicyCache.loadTimeout', this.#loadTimeout, 60_000)
    this.#memory = new MemoryPolicyCache({ max, ttl: this.ttl })
    this.#support = new StoreSupport('RedisPolicyCache', options.logger, this.ttl)
    this.#channel = changesChannel(this.keyPrefix)

    if (options.url !== undefined) {
      let Redis: new (url: string, options: object) => RedisClient
      try {
        const module = createRequire(import.meta.url)('ioredis') as { Redis: typeof Redis }
        Redis = module.Redis
      } catch (error) {
        throw invalidOption('RedisPolicyCache.url', 'needs the ioredis package: npm install ioredis', error)
      }
      this.#client = new Redis(options.url, {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        connectTimeout: 2_000,
        retryStrategy: (times: number) => Math.min(100 * times, 2_000)
      })
      this.#owns = true
    } else {
      this.#client = options.client as RedisClient
      this.#owns = false
    }
    this.#subscriber = this.#client.duplicate({ enableOfflineQueue: true })
    this.#subscriber.on('message', (channel: string, text: string) => { if (channel === this.#channel) this.#onMessage(text) })
    this.#subscriber.on('error', () => {})
    this.#subscribed = this.#subscriber.subscribe(this.#channel).then(() => {}, (error: unknown) => this.#outage(error))
    this.#client.on('error', (error: unknown) => this.#outage(error))
    let resolveReady!: () => void
    this.ready = new Promise((resolve) => { resolveReady = resolve })
    this.#client.on('ready', () => {
      this.#wake()
      this.#onReady().then(resolveReady, resolveReady)
    })
    if (this.#client.status === 'ready') this.#onReady().then(resolveReady, resolveReady)
    // A client created with lazyConnect connects only when asked: the store needs it now.
    else if (this.#client.status === 'wait') this.#client.connect?.().catch(() => {})
  }

  get (origin: string): PolicyEntry | undefined {
    return this.#memory.get(origin)
  }

  set (origin: string, entry: PolicyEntry): PolicyEntry {
    const kept = this.#memory.set(origin, entry)
    this.#push(origin, kept)
    return kept
  }

  delete (origin: string): void {
    this.#memory.delete(origin)
    this.#push(origin, null)
  }

  entries (): PolicyEntry[] {
    return this.#memory.entries()
  }

  subscribe (listener: ChangeListener): () => void {
    return this.#support.subscribe(listener)
  }

  /**
   * Looks up an origin this process does not know, giving up after `loadTimeout` or when `signal`
   * aborts. While the client is still connecting (a process that just started), the look-up waits
   * for the connection first, within the same `loadTimeout`.
   */
  async load (origin: string, signal?: AbortSignal): Promise<PolicyEntry | undefined> {
    const known = this.#memory.get(origin)
    if (known !== undefined || this.#down || this.#closed) return known
    const timeout = AbortSignal.timeout(this.#loadTimeout)
    const bound = signal === undefined ? timeout : AbortSignal.any([signal, timeout])
    try {
      // Not ready in time (or unreachable after all): memory may have heard of it meanwhile.
      if (!(await this.#connected(bound))) return this.#memory.get(origin)
      const text = await new Promise<string | null>((resolve, reject) => {
        if (bound.aborted) { resolve(null); return }
        bound.addEventListener('abort', () => resolve(null), { once: true })
        this.#client.get(this.#key(origin)).then(resolve, reject)
      })
      if (text === null) return undefined
      const entry = this.#support.accept(text, origin, `redis key ${quoteOutside(this.#key(origin))}`)
      if (entry === undefined || entry.expiresAt <= Date.now()) return undefined
      if (this.#memory.get(origin) === undefined) this.#memory.set(origin, entry)
      return this.#memory.get(origin)
    } catch (error) {
      this.#outage(error)
      return undefined
    }
  }

  /**
   * The intermediates another process fetched for an issuer, within `loadTimeout` and `signal`. At
   * most MAX_STORED_BYTES + 1 bytes are read (GETRANGE): a huge value costs nothing and is refused
   * by the agent, which validates what it gets as it would any outside text.
   */
  async loadIntermediates (key: string, signal: AbortSignal): Promise<string | undefined> {
    const getrange = this.#client.getrange
    if (!isIntermediateKey(key) || getrange === undefined || this.#down || this.#closed) return undefined
    const bound = AbortSignal.any([signal, AbortSignal.timeout(this.#loadTimeout)])
    try {
      if (!(await this.#connected(bound))) return undefined
      const text = await new Promise<string>((resolve, reject) => {
        bound.addEventListener('abort', () => resolve(''), { once: true })
        getrange.call(this.#client, intermediatesKey(this.keyPrefix, key), 0, MAX_STORED_BYTES).then(resolve, reject)
      })
      return text === '' ? undefined : text
    } catch (error) {
      this.#outage(error)
      return undefined
    }
  }

  /** Shares fetched intermediates with the fleet until they expire (at most the store's TTL); dropped while Redis is away. */
  saveIntermediates (key: string, pem: string, expiresAt: number): void {
    const ms = Math.min(this.ttl, Math.round(expiresAt - Date.now()))
    if (!isIntermediateKey(key) || !fitsBytes(pem, MAX_STORED_BYTES) || ms < 1 || this.#closed || this.#client.status !== 'ready') return
    this.#client.set(intermediatesKey(this.keyPrefix, key), pem, 'PX', ms).catch((error: unknown) => { this.#outage(error) })
  }

  /**
   * Closes the connections the store opened (a client you passed in stays open). What the store
   * holds in memory stays readable (`get`, `entries`); nothing is written or heard any more.
   */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#wake()
    await quit(this.#subscriber)
    if (this.#owns) await quit(this.#client)
  }

  /** Whether the client is ready, waiting (within `bound`) while it is still connecting. */
  async #connected (bound: AbortSignal): Promise<boolean> {
    if (this.#client.status === 'ready') return true
    if (bound.aborted) return false
    await new Promise<void>((resolve) => {
      const settle = (): void => {
        bound.removeEventListener('abort', settle)
        this.#waiting.delete(settle)
        resolve()
      }
      this.#waiting.add(settle)
      bound.addEventListener('abort', settle, { once: true })
    })
    return this.#client.status === 'ready' && !this.#down && !this.#closed && !bound.aborted
  }

  #wake (): void {
    for (const settle of [...this.#waiting]) settle()
  }

  #key (origin: string): string {
    return policyKey(this.keyPrefix, origin)
  }

  #push (origin: string, entry: PolicyEntry | null): void {
    if (this.#closed) return
    // Until the client is ready (connecting, or reconnecting) the change waits; it goes out on 'ready'.
    if (this.#client.status !== 'ready') {
      this.#unsynced.set(origin, entry)
      return
    }
    this.#write(origin, entry).catch((error: unknown) => {
      this.#unsynced.set(origin, entry)
      this.#outage(error)
    })
  }

  async #write (origin: string, entry: PolicyEntry | null): Promise<void> {
    if (entry === null) {
      await this.#client.del(this.#key(origin))
    } else {
      const ms = Math.max(1, Math.round(entry.expiresAt - Date.now()))
      await this.#client.set(this.#key(origin), JSON.stringify(entry), 'PX', ms)
    }
    await this.#client.publish(this.#channel, changeMessage(this.#id, origin, entry))
  }

  #onMessage (text: string): void {
    if (this.#closed) return
    if (!fitsBytes(text, MAX_MESSAGE_BYTES)) {
      this.#support.warn({ limit: MAX_MESSAGE_BYTES }, `ignoring a pub/sub message larger than ${MAX_MESSAGE_BYTES} bytes`, 'data')
      return
    }
    let message: Partial<Message>
    try {
      message = JSON.parse(text) as Partial<Message>
    } catch {
      this.#support.warn({}, 'ignoring a pub/sub message that is not JSON', 'data')
      return
    }
    if (message === null || typeof message !== 'object' || message.id === this.#id) return
    const wrong = checkOrigin(message.origin)
    if (wrong !== undefined || typeof message.origin !== 'string') {
      this.#support.warn({ problem: wrong }, `ignoring a pub/sub message whose origin ${quoteOutside(message.origin)} is not an https origin: ${wrong}`, 'data')
      return
    }
    if (message.entry === null) {
      this.#memory.delete(message.origin)
      this.#support.notify(message.origin, undefined)
      return
    }
    const entry = this.#support.accept(message.entry, message.origin, 'pub/sub')
    if (entry === undefined) return
    this.#memory.set(message.origin, entry)
    this.#support.notify(message.origin, entry)
  }

  async #onReady (): Promise<void> {
    if (this.#closed) return
    if (this.#down) {
      this.#down = false
      this.#support.info({}, 'Redis is reachable again')
    }
    // What was learned while Redis was away goes out now.
    for (const [origin, entry] of [...this.#unsynced]) {
      this.#unsynced.delete(origin)
      this.#push(origin, entry)
    }
    // Listen first, then load: a change published between the two is heard, not lost (bounded: a
    // subscriber that does not connect in time leaves the load to go on without it).
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.#loadTimeout)
      this.#subscribed.then(() => { clearTimeout(timer); resolve() }, resolve)
    })
    // Load every entry present now, so that known origins never wait.
    try {
      let cursor = '0'
      do {
        const [next, keys] = await this.#client.scan(cursor, 'MATCH', `${this.keyPrefix}policy:*`, 'COUNT', 200)
        cursor = next
        for (const key of keys) {
          const origin = key.slice(`${this.keyPrefix}policy:`.length)
          if (this.#memory.get(origin) !== undefined || this.#unsynced.has(origin)) continue
          const text = await this.#client.get(key)
          if (text === null) continue
          const entry = this.#support.accept(text, origin, `redis key ${quoteOutside(key)}`)
          if (entry !== undefined && entry.expiresAt > Date.now()) this.#memory.set(origin, entry)
        }
      } while (cursor !== '0')
    } catch (error) {
      this.#outage(error)
    }
  }

  #outage (error: unknown): void {
    if (this.#closed || this.#down) return
    this.#down = true
    this.#wake()
    this.#support.warn({ err: summary(error) }, 'Redis is unreachable: policies are served from memory and changes are kept until it returns')
  }
}

/** Says QUIT when the connection is up (bounded), then drops it: a client still connecting has nothing to say goodbye to. */
async function quit (client: RedisClient): Promise<void> {
  if (client.status === 'ready') {
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      client.quit().catch(() => {}),
      new Promise((resolve) => { timer = setTimeout(resolve, QUIT_TIMEOUT_MS) })
    ])
    clearTimeout(timer)
  }
  client.disconnect()
}
