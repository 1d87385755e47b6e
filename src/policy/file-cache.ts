import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, watch, type FSWatcher } from 'node:fs'
import { open, readFile, rename, stat, unlink } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import { invalidOption } from '../errors.ts'
import { quoteOutside } from '../outside-text.ts'
import type { Logger } from '../telemetry.ts'
import type { PolicyCache } from './cache.ts'
import type { PolicyEntry } from './entry.ts'
import { checkPositiveInteger, describe, DEFAULT_CACHE_MAX, DEFAULT_TTL, kind, MemoryPolicyCache } from './memory-cache.ts'
import { StoreSupport, summary, type ChangeListener } from './store-support.ts'

export interface FilePolicyCacheOptions {
  /** The JSON file. Created when missing; its folder must exist. */
  path: string
  /** How long a learned policy lasts, in milliseconds. Default: 6 hours. */
  ttl?: number
  /** How many origins to keep in memory. Default: 10,000. */
  max?: number
  /** Changes are written this many milliseconds after the last one (batched). Default: 100. */
  writeDelay?: number
  /** Where warnings go (a malformed file, a failed write). Default: process warnings. */
  logger?: Logger
}

interface FileShape {
  version: 1
  entries: Record<string, unknown>
}

const LOCK_STALE_MS = 10_000
const LOCK_WAIT_MS = 5_000

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Keeps policies in a JSON file, so that they survive restarts and can be shared by the processes
 * of one machine. Reads happen at construction and when another process changes the file; the
 * request path reads memory only. Writes are batched, atomic (temporary file, fsync, rename) and
 * serialized between processes by a lock file; each write merges with what is on disk, so two
 * processes never lose each other's entries or corrupt the file.
 */
export class FilePolicyCache implements PolicyCache {
  readonly ttl: number
  readonly path: string
  readonly #memory: MemoryPolicyCache
  readonly #support: StoreSupport
  readonly #writeDelay: number
  /** Changes not yet on disk: an entry, or null for a deletion. */
  #pending = new Map<string, PolicyEntry | null>()
  #timer: NodeJS.Timeout | undefined
  #writing: Promise<void> | undefined
  #watcher: FSWatcher | undefined
  #reloadTimer: NodeJS.Timeout | undefined
  #closed = false

  constructor (options: FilePolicyCacheOptions) {
    if (options === null || typeof options !== 'object') throw invalidOption('FilePolicyCache options', `must be an object with a path, got ${kind(options)}`)
    for (const key of Object.keys(options)) {
      if (!['path', 'ttl', 'max', 'writeDelay', 'logger'].includes(key)) throw invalidOption(`FilePolicyCache.${key}`, 'is not an option (known: path, ttl, max, writeDelay, logger)')
    }
    if (typeof options.path !== 'string' || options.path.length === 0) throw invalidOption('FilePolicyCache.path', `must be a file path, got ${describe(options.path)}`)
    this.ttl = options.ttl ?? DEFAULT_TTL
    checkPositiveInteger('FilePolicyCache.ttl', this.ttl)
    const max = options.max ?? DEFAULT_CACHE_MAX
    checkPositiveInteger('FilePolicyCache.max', max)
    this.#writeDelay = options.writeDelay ?? 100
    if (typeof this.#writeDelay !== 'number' || !Number.isInteger(this.#writeDelay) || this.#writeDelay < 0) {
      throw invalidOption('FilePolicyCache.writeDelay', `must be a whole number of milliseconds, got ${describe(options.writeDelay)}`)
    }
    this.path = options.path
    this.#memory = new MemoryPolicyCache({ max, ttl: this.ttl })
    this.#support = new StoreSupport('FilePolicyCache', options.logger, this.ttl)
    let text: string | undefined
    try {
      text = readFileSync(this.path, 'utf8')
    } catch (error) {
      if ((error as { code?: string }).code !== 'ENOENT') throw invalidOption('FilePolicyCache.path', `cannot be read: ${(error as Error).message}`, error)
      // The file is created on the first write, its folder never: say so now, not in a warning per write.
      if (!existsSync(dirname(this.path))) {
        throw invalidOption('FilePolicyCache.path', `is in a folder that does not exist (${quoteOutside(dirname(this.path))}): create it first; the file itself is created on the first write`)
      }
    }
    if (text !== undefined) this.#apply(this.#parse(text), false)
    this.#watch()
  }

  get (origin: string): PolicyEntry | undefined {
    return this.#memory.get(origin)
  }

  set (origin: string, entry: PolicyEntry): PolicyEntry {
    const kept = this.#memory.set(origin, entry)
    this.#pending.set(origin, kept)
    this.#schedule()
    return kept
  }

  delete (origin: string): void {
    this.#memory.delete(origin)
    this.#pending.set(origin, null)
    this.#schedule()
  }

  entries (): PolicyEntry[] {
    return this.#memory.entries()
  }

  subscribe (listener: ChangeListener): () => void {
    return this.#support.subscribe(listener)
  }

  /** Writes pending changes now. */
  async flush (): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    while (this.#writing !== undefined) await this.#writing
    if (this.#pending.size === 0) return
    this.#writing = this.#write().finally(() => { this.#writing = undefined })
    await this.#writing
  }

  /** Writes what is pending and stops watching the file. The entries in memory stay readable. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#watcher?.close()
    clearTimeout(this.#reloadTimer)
    await this.flush()
  }

  #schedule (): void {
    if (this.#closed || this.#timer !== undefined) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.flush().catch((error: unknown) => this.#support.warn({ err: summary(error), path: this.path }, 'writing the policy file failed; will retry on the next change'))
    }, this.#writeDelay)
  }

  #parse (text: string): Map<string, PolicyEntry> {
    const found = new Map<string, PolicyEntry>()
    if (text.trim() === '') return found
    let data: unknown
    try {
      data = JSON.parse(text)
    } catch {
      this.#support.warn({ path: this.path }, `ignoring ${this.path}: it is not JSON`)
      return found
    }
    const shape = data as Partial<FileShape>
    if (shape === null || typeof shape !== 'object' || shape.version !== 1 || shape.entries === null || typeof shape.entries !== 'object') {
      this.#support.warn({ path: this.path }, `ignoring ${this.path}: not a policy file (version 1)`)
      return found
    }
    const now = Date.now()
    for (const [origin, raw] of Object.entries(shape.entries)) {
      const entry = this.#support.accept(raw, origin, this.path)
      if (entry !== undefined && entry.expiresAt > now) found.set(origin, entry)
    }
    return found
  }

  /** Brings memory in line with the file (the file wins, except for changes of ours not yet written). */
  #apply (onDisk: Map<string, PolicyEntry>, notify: boolean): void {
    for (const [origin, entry] of onDisk) {
      if (this.#pending.has(origin)) continue
      const mine = this.#memory.get(origin)
      if (mine !== undefined && mine.learnedAt === entry.learnedAt && mine.stack === entry.stack && mine.http1Only === entry.http1Only) continue
      this.#memory.set(origin, entry)
      if (notify) this.#support.notify(origin, entry)
    }
    if (!notify) return
    for (const entry of this.#memory.entries()) {
      if (!onDisk.has(entry.origin) && !this.#pending.has(entry.origin)) {
        this.#memory.delete(entry.origin)
        this.#support.notify(entry.origin, undefined)
      }
    }
  }

  #watch (): void {
    try {
      this.#watcher = watch(dirname(this.path), { persistent: false }, (_event, name) => {
        if (name !== basename(this.path) || this.#closed) return
        clearTimeout(this.#reloadTimer)
        this.#reloadTimer = setTimeout(() => { this.#reload() }, 20)
        this.#reloadTimer.unref()
      })
      this.#watcher.on('error', (error) => this.#support.warn({ err: summary(error) }, 'watching the policy file failed; changes made by other processes are seen after a restart'))
    } catch (error) {
      this.#support.warn({ err: summary(error) }, 'cannot watch the policy file; changes made by other processes are seen after a restart')
    }
  }

  #reload (): void {
    readFile(this.path, 'utf8').then((text) => {
      // A read that finishes after close() changes nothing: the closed store's entries stay as they were.
      if (!this.#closed) this.#apply(this.#parse(text), true)
    }, (error: unknown) => {
      if ((error as { code?: string }).code !== 'ENOENT') this.#support.warn({ err: summary(error) }, 'reading the policy file failed')
    })
  }

  async #write (): Promise<void> {
    const changes = this.#pending
    this.#pending = new Map()
    const lock = `${this.path}.lock`
    try {
      await acquire(lock)
    } catch (error) {
      for (const [origin, entry] of changes) if (!this.#pending.has(origin)) this.#pending.set(origin, entry)
      throw error
    }
    try {
      let text = ''
      try {
        text = await readFile(this.path, 'utf8')
      } catch (error) {
        if ((error as { code?: string }).code !== 'ENOENT') throw error
      }
      const merged = this.#parse(text)
      for (const [origin, entry] of changes) {
        if (entry === null) merged.delete(origin)
        else if ((merged.get(origin)?.learnedAt ?? -Infinity) <= entry.learnedAt) merged.set(origin, entry)
      }
      const data: FileShape = { version: 1, entries: Object.fromEntries(merged) }
      const temporary = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
      const handle = await open(temporary, 'w', 0o600)
      try {
        await handle.writeFile(JSON.stringify(data, null, 2) + '\n')
        await handle.sync()
      } finally {
        await handle.close()
      }
      await rename(temporary, this.path)
    } catch (error) {
      for (const [origin, entry] of changes) if (!this.#pending.has(origin)) this.#pending.set(origin, entry)
      throw error
    } finally {
      await unlink(lock).catch(() => {})
    }
  }
}

/** A lock file shared by processes: created exclusively; one older than 10 s is taken as abandoned. */
async function acquire (lock: string): Promise<void> {
  const deadline = Date.now() + LOCK_WAIT_MS
  for (;;) {
    try {
      const handle = await open(lock, 'wx')
      await handle.writeFile(String(process.pid))
      await handle.close()
      return
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error
    }
    try {
      const info = await stat(lock)
      if (Date.now() - info.mtimeMs > LOCK_STALE_MS) await unlink(lock).catch(() => {})
    } catch {}
    if (Date.now() > deadline) throw new Error(`timed out waiting for the lock ${lock}`)
    await sleep(5 + Math.random() * 10)
  }
}
