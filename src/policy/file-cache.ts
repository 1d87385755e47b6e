import { randomBytes } from 'node:crypto'
import { closeSync, constants, existsSync, fstatSync, openSync, readSync, statSync, watch, type FSWatcher, type Stats } from 'node:fs'
import { open, rename, stat, unlink } from 'node:fs/promises'
import { basename, dirname, resolve } from 'node:path'
import { invalidOption } from '../errors.ts'
import { escapeOutside, quoteOutside } from '../outside-text.ts'
import type { Logger } from '../telemetry.ts'
import type { PolicyCache } from './cache.ts'
import type { PolicyEntry } from './entry.ts'
import { checkPositiveInteger, describe, DEFAULT_CACHE_MAX, DEFAULT_TTL, kind, MemoryPolicyCache } from './memory-cache.ts'
import { StoreSupport, summary, type ChangeListener } from './store-support.ts'
import { IntermediateShelf } from '../certs/stored-intermediates.ts'

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
  /**
   * Fetched intermediates by issuer key (`{ pem, expiresAt }`), added in 0.x without a new version:
   * readers that do not know it ignore it, and a write by such a reader drops it (it is fetched again).
   */
  intermediates?: Record<string, unknown>
}

/** What a policy file holds once read and checked. */
interface Parsed {
  entries: Map<string, PolicyEntry>
  intermediates: IntermediateShelf
}

/**
 * The largest policy file read, per origin the store keeps (`max`): about five times what an entry
 * takes in the file (about 450 bytes), and never less than MIN_FILE_BYTES. A larger file is not read.
 */
export const FILE_BYTES_PER_ENTRY = 2_048
export const MIN_FILE_BYTES = 1024 * 1024

/** The file's text, or why it was not read: it is larger than `limit`, or it is not a regular file. */
type FileText = string | { problem: 'too large' | 'not a file' }

/** Opened without blocking (a FIFO in its place would hold the process), read up to `limit` bytes. */
const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK

function readBoundedSync (path: string, limit: number): FileText {
  const fd = openSync(path, READ_FLAGS)
  try {
    const info = fstatSync(fd)
    if (!info.isFile()) return { problem: 'not a file' }
    if (info.size > limit) return { problem: 'too large' }
    // One byte more than the limit: a file that grew since fstat is caught too.
    const buffer = Buffer.allocUnsafe(Math.min(info.size, limit) + 1)
    let length = 0
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, null)
      if (n === 0) break
      length += n
      if (length === buffer.length) {
        if (length > limit) return { problem: 'too large' }
        break
      }
    }
    return buffer.toString('utf8', 0, length)
  } finally {
    closeSync(fd)
  }
}

async function readBounded (path: string, limit: number): Promise<FileText> {
  const handle = await open(path, READ_FLAGS)
  try {
    const info = await handle.stat()
    if (!info.isFile()) return { problem: 'not a file' }
    if (info.size > limit) return { problem: 'too large' }
    const buffer = Buffer.allocUnsafe(Math.min(info.size, limit) + 1)
    let length = 0
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null)
      if (bytesRead === 0) break
      length += bytesRead
      if (length === buffer.length) {
        if (length > limit) return { problem: 'too large' }
        break
      }
    }
    return buffer.toString('utf8', 0, length)
  } finally {
    await handle.close()
  }
}

/** Who besides this process's user (and root) can write where `info` is: every local user, the members of a group the process is not in, or nobody. */
function otherWriters (info: Stats): string | undefined {
  if ((info.mode & 0o002) !== 0) return 'every local user'
  const groups = new Set([...(process.getgroups?.() ?? []), process.getegid?.()])
  if ((info.mode & 0o020) !== 0 && !groups.has(info.gid)) return `the members of group ${info.gid}, which this process is not in`
  return undefined
}

/**
 * Why another local user could replace or rewrite the policy file, or undefined. The folder: writable
 * by others without the sticky bit (they can rename any file of it, the policy file and its lock
 * included). The file: writable by others, or, in a folder where everyone may create files (sticky,
 * like /tmp), owned by a user other than this one and root (someone created it first).
 */
function sharedWithOthers (path: string): string | undefined {
  if (process.platform === 'win32') return undefined
  const folder = dirname(resolve(path))
  let folderInfo: Stats
  try {
    folderInfo = statSync(folder)
  } catch {
    // A folder that does not exist, or cannot be read, fails on its own.
    return undefined
  }
  const sticky = (folderInfo.mode & 0o1000) !== 0
  const folderWriters = otherWriters(folderInfo)
  if (folderWriters !== undefined && !sticky) return `is in the folder ${quoteOutside(folder)}, which ${folderWriters} can write to without the sticky bit: another user could replace the policy file (chmod o-w,g-w, or +t)`
  let fileInfo: Stats
  try {
    fileInfo = statSync(path)
  } catch {
    return undefined
  }
  const fileWriters = otherWriters(fileInfo)
  if (fileWriters !== undefined) return `can be written by ${fileWriters} (chmod o-w,g-w)`
  const me = process.geteuid?.()
  if (folderWriters !== undefined && fileInfo.uid !== me && fileInfo.uid !== 0) return `belongs to user ${fileInfo.uid}, in a folder where every user may create files: another user may have put it there`
  return undefined
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
  /** The path as warnings show it: quoted in their text, escaped in their fields (a file name is outside text). */
  readonly #shown: { quoted: string, escaped: string }
  /** The largest file read (see FILE_BYTES_PER_ENTRY). */
  readonly #maxFileBytes: number
  /** Changes not yet on disk: an entry, or null for a deletion. */
  #pending = new Map<string, PolicyEntry | null>()
  /** Intermediates read from the file or fetched here; those fetched here not yet on disk, by key. */
  #intermediates: IntermediateShelf
  #pendingIntermediates = new Map<string, { pem: string, expiresAt: number }>()
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
    this.#shown = { quoted: quoteOutside(this.path, 1_000), escaped: escapeOutside(this.path, 1_000) }
    this.#maxFileBytes = Math.max(MIN_FILE_BYTES, max * FILE_BYTES_PER_ENTRY)
    this.#memory = new MemoryPolicyCache({ max, ttl: this.ttl })
    this.#support = new StoreSupport('FilePolicyCache', options.logger, this.ttl)
    this.#intermediates = new IntermediateShelf(this.ttl)
    const shared = sharedWithOthers(this.path)
    if (shared !== undefined) throw invalidOption('FilePolicyCache.path', shared)
    let text: FileText | undefined
    try {
      text = readBoundedSync(this.path, this.#maxFileBytes)
    } catch (error) {
      if ((error as { code?: string }).code !== 'ENOENT') throw invalidOption('FilePolicyCache.path', `cannot be read: ${(error as Error).message}`, error)
      // The file is created on the first write, its folder never: say so now, not in a warning per write.
      if (!existsSync(dirname(this.path))) {
        throw invalidOption('FilePolicyCache.path', `is in a folder that does not exist (${quoteOutside(dirname(this.path))}): create it first; the file itself is created on the first write`)
      }
    }
    if (typeof text === 'object' && text.problem === 'not a file') throw invalidOption('FilePolicyCache.path', 'is not a regular file')
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

  /** Intermediates fetched by this or another process (validated by the agent when it uses them). */
  async loadIntermediates (key: string): Promise<string | undefined> {
    return await Promise.resolve(this.#intermediates.get(key))
  }

  saveIntermediates (key: string, pem: string, expiresAt: number): void {
    if (!this.#intermediates.set(key, pem, expiresAt)) return
    this.#pendingIntermediates.set(key, { pem, expiresAt })
    this.#schedule()
  }

  /** Writes pending changes now. */
  async flush (): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    while (this.#writing !== undefined) await this.#writing
    if (this.#pending.size === 0 && this.#pendingIntermediates.size === 0) return
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
      this.flush().catch((error: unknown) => this.#support.warn({ err: summary(error), path: this.#shown.escaped }, 'writing the policy file failed; will retry on the next change'))
    }, this.#writeDelay)
  }

  #parse (text: FileText): Parsed {
    const found = new Map<string, PolicyEntry>()
    const parsed: Parsed = { entries: found, intermediates: new IntermediateShelf(this.ttl) }
    if (typeof text !== 'string') {
      this.#support.warn({ path: this.#shown.escaped, problem: text.problem, limit: this.#maxFileBytes },
        text.problem === 'too large' ? `ignoring ${this.#shown.quoted}: it is larger than ${this.#maxFileBytes} bytes` : `ignoring ${this.#shown.quoted}: it is not a regular file`, 'data')
      return parsed
    }
    if (text.trim() === '') return parsed
    let data: unknown
    try {
      data = JSON.parse(text)
    } catch {
      this.#support.warn({ path: this.#shown.escaped }, `ignoring ${this.#shown.quoted}: it is not JSON`, 'data')
      return parsed
    }
    const shape = data as Partial<FileShape>
    if (shape === null || typeof shape !== 'object' || shape.version !== 1 || shape.entries === null || typeof shape.entries !== 'object') {
      this.#support.warn({ path: this.#shown.escaped }, `ignoring ${this.#shown.quoted}: not a policy file (version 1)`, 'data')
      return parsed
    }
    const now = Date.now()
    for (const [origin, raw] of Object.entries(shape.entries)) {
      const entry = this.#support.accept(raw, origin, this.#shown.quoted)
      if (entry !== undefined && entry.expiresAt > now) found.set(origin, entry)
    }
    // Only the shape and the bounds here; the certificates are checked against the leaf when used.
    const intermediates = shape.intermediates
    if (intermediates !== null && typeof intermediates === 'object' && !Array.isArray(intermediates)) {
      for (const [key, raw] of Object.entries(intermediates)) {
        const kept = raw as { pem?: unknown, expiresAt?: unknown } | null
        if (kept === null || typeof kept !== 'object' || !parsed.intermediates.set(key, kept.pem, kept.expiresAt, now)) {
          this.#support.warn({ path: this.#shown.escaped }, `ignoring a malformed intermediate in ${this.#shown.quoted}`, 'data')
        }
      }
    }
    return parsed
  }

  /** Brings memory in line with the file (the file wins, except for changes of ours not yet written). */
  #apply (parsed: Parsed, notify: boolean): void {
    const onDisk = parsed.entries
    for (const [key, kept] of parsed.intermediates.entries()) {
      if (!this.#pendingIntermediates.has(key)) this.#intermediates.set(key, kept.pem, kept.expiresAt)
    }
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
    readBounded(this.path, this.#maxFileBytes).then((text) => {
      // A read that finishes after close() changes nothing: the closed store's entries stay as they were.
      if (!this.#closed) this.#apply(this.#parse(text), true)
    }, (error: unknown) => {
      if ((error as { code?: string }).code !== 'ENOENT') this.#support.warn({ err: summary(error) }, 'reading the policy file failed')
    })
  }

  async #write (): Promise<void> {
    const changes = this.#pending
    const intermediates = this.#pendingIntermediates
    this.#pending = new Map()
    this.#pendingIntermediates = new Map()
    const putBack = (): void => {
      for (const [origin, entry] of changes) if (!this.#pending.has(origin)) this.#pending.set(origin, entry)
      for (const [key, kept] of intermediates) if (!this.#pendingIntermediates.has(key)) this.#pendingIntermediates.set(key, kept)
    }
    const lock = `${this.path}.lock`
    try {
      await acquire(lock)
    } catch (error) {
      putBack()
      throw error
    }
    try {
      let text: FileText = ''
      try {
        text = await readBounded(this.path, this.#maxFileBytes)
      } catch (error) {
        if ((error as { code?: string }).code !== 'ENOENT') throw error
      }
      const parsed = this.#parse(text)
      const merged = parsed.entries
      for (const [origin, entry] of changes) {
        if (entry === null) merged.delete(origin)
        else if ((merged.get(origin)?.learnedAt ?? -Infinity) <= entry.learnedAt) merged.set(origin, entry)
      }
      // A fresh fetch replaces what the file held for the issuer (a poisoned value included).
      for (const [key, kept] of intermediates) parsed.intermediates.set(key, kept.pem, kept.expiresAt)
      const shelf = parsed.intermediates.entries()
      const data: FileShape = { version: 1, entries: Object.fromEntries(merged), ...(shelf.length === 0 ? {} : { intermediates: Object.fromEntries(shelf) }) }
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
      putBack()
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
