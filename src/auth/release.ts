import type { Client, Dispatcher } from 'undici'
import { findChallenge, parseChallenges } from './challenge.ts'
import type { AuthSession } from './session.ts'

/**
 * What an `AuthPool` (src/auth/pool.ts) wraps around each request's handler: it frees the request's
 * connection when the request ends, holds a per-request response until its final token verified,
 * and sends a safe bodiless request again once when the server turned out not to be bound to the
 * connection. Plus the header helpers the pool uses.
 */

export type Handler = Dispatcher.DispatchHandler
export type Controller = Dispatcher.DispatchController
export type Headers = Parameters<NonNullable<Handler['onResponseStart']>>[2]

/** One single-connection Client of a pool. */
export interface PoolEntry {
  client: Client
  /** Requests dispatched and not ended. */
  busy: number
  /** The path of the request that needs a new connection: the handshake's `HEAD` goes there. */
  path: string
  /** The connection's handshake succeeded (until it reconnects). */
  authenticated: boolean
}

/** What `Release` needs of its pool. */
export interface ReleasePool {
  dispatch: (opts: Dispatcher.DispatchOptions, handler: Handler) => boolean
  unboundRefusal: (entry: PoolEntry, opts: Dispatcher.DispatchOptions, headers: Headers) => boolean
}

/** Whether the request already has an `Authorization` header (the caller's own: then it is left alone). */
export function hasAuthorization (headers: Dispatcher.DispatchOptions['headers']): boolean {
  if (headers == null) return false
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length; i++) {
      const item: unknown = headers[i]
      const name: unknown = Array.isArray(item) ? (item as unknown[])[0] : i % 2 === 0 ? item : undefined
      if (typeof name === 'string' && name.toLowerCase() === 'authorization') return true
    }
    return false
  }
  if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const [name] of headers as Iterable<[string, unknown]>) if (name.toLowerCase() === 'authorization') return true
    return false
  }
  return Object.keys(headers).some((name) => name.toLowerCase() === 'authorization')
}

/** The headers with one more, as a flat array (undici accepts every shape; this one keeps repeated names). */
export function withHeader (headers: Dispatcher.DispatchOptions['headers'], name: string, value: string): string[] {
  const out: string[] = []
  if (Array.isArray(headers)) {
    for (const item of headers as unknown[]) {
      if (Array.isArray(item)) out.push(String(item[0]), String(item[1]))
      else out.push(String(item))
    }
  } else if (headers != null && typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const [k, v] of headers as Iterable<[string, string]>) out.push(k, v)
  } else if (headers != null) {
    for (const [k, v] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
      if (v === undefined) continue
      if (Array.isArray(v)) for (const each of v) out.push(k, each)
      else out.push(k, v)
    }
  }
  out.push(name, value)
  return out
}

/** Whether a response's `WWW-Authenticate` offers `scheme`. */
export function offers (headers: Headers, scheme: string): boolean {
  const value = (headers as Record<string, string | string[] | undefined>)['www-authenticate']
  if (value === undefined) return false
  return findChallenge(parseChallenges(value), scheme) !== undefined
}

/**
 * Forwards a request's callbacks and frees its connection when the request ends. With a
 * per-request `session`, holds the response until the server's final token verified (mutual
 * authentication). A 401 that shows the server is not bound to the connection sends a safe
 * bodiless request again, once, with a fresh token.
 */
export class Release implements Handler {
  readonly #pool: ReleasePool
  readonly #handler: Handler
  readonly #opts: Dispatcher.DispatchOptions
  readonly #session: AuthSession | undefined
  #entry: PoolEntry | undefined
  /** The response is dropped: the request goes again (see `unboundRefusal`). */
  #again = false
  /** Callbacks held while the final token is checked. */
  #held: Array<() => void> | undefined

  constructor (pool: ReleasePool, handler: Handler, entry: PoolEntry, opts: Dispatcher.DispatchOptions, session: AuthSession | undefined) {
    this.#pool = pool
    this.#handler = handler
    this.#entry = entry
    this.#opts = opts
    this.#session = session
  }

  #free (): void {
    if (this.#entry !== undefined) this.#entry.busy--
    this.#entry = undefined
  }

  #run (callback: () => void): void {
    if (this.#held !== undefined) this.#held.push(callback)
    else callback()
  }

  onRequestStart (controller: Controller, context: unknown): void {
    this.#handler.onRequestStart?.(controller, context)
  }

  onRequestUpgrade (controller: Controller, statusCode: number, headers: Headers, socket: Parameters<NonNullable<Handler['onRequestUpgrade']>>[3]): void {
    this.#free()
    this.#handler.onRequestUpgrade?.(controller, statusCode, headers, socket)
  }

  onResponseStarted (): void {
    (this.#handler as { onResponseStarted?: () => void }).onResponseStarted?.()
  }

  onBodySent (chunk: Buffer): void {
    (this.#handler as { onBodySent?: (chunk: Buffer) => void }).onBodySent?.(chunk)
  }

  onRequestSent (): void {
    (this.#handler as { onRequestSent?: () => void }).onRequestSent?.()
  }

  onResponseStart (controller: Controller, statusCode: number, headers: Headers, statusMessage?: string): void {
    if (statusCode === 401 && this.#session === undefined && this.#entry !== undefined && this.#pool.unboundRefusal(this.#entry, this.#opts, headers)) {
      this.#again = true
      return
    }
    const session = this.#session
    if (session !== undefined && statusCode !== 401) {
      const value = (headers as Record<string, string | string[] | undefined>)['www-authenticate']
      this.#held = []
      controller.pause()
      session.finish(value).then(() => {
        const held = this.#held ?? []
        this.#held = undefined
        this.#handler.onResponseStart?.(controller, statusCode, headers, statusMessage)
        for (const callback of held) callback()
        controller.resume()
      }, (error: Error) => {
        this.#held = undefined
        controller.abort(error)
      })
      return
    }
    this.#handler.onResponseStart?.(controller, statusCode, headers, statusMessage)
  }

  onResponseData (controller: Controller, chunk: Buffer): void {
    if (this.#again) return
    this.#run(() => this.#handler.onResponseData?.(controller, chunk))
  }

  onResponseEnd (controller: Controller, trailers: Headers): void {
    this.#free()
    if (this.#again) {
      this.#pool.dispatch(this.#opts, this.#handler)
      return
    }
    this.#run(() => this.#handler.onResponseEnd?.(controller, trailers))
  }

  onResponseError (controller: Controller, error: Error): void {
    this.#free()
    this.#held = undefined
    this.#handler.onResponseError?.(controller, error)
  }
}
