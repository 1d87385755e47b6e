import { randomBytes } from 'node:crypto'
import { startRelay, type Relay } from './relay.ts'
import { startModern, type ModernServer } from './modern.ts'

/**
 * An on-path box in front of a modern server. Once the client's first application-data record (its
 * request) has gone through, it drops the server's answer and:
 * - `rst`: resets the client's connection (no HelloRequest, nothing but an RST);
 * - `forged-record`: injects a record that looks like an encrypted HelloRequest (type 22, TLS 1.2,
 *   the length of one), then resets;
 * - `junk`: sends random bytes, then closes.
 * - `truncated-record`: injects 33 bytes, a record header that announces 1000 bytes and 28 bytes of
 *   filler (the client's TLS waits for the rest: no TLS error), then resets. With `delayMs`, the box
 *   keeps forwarding the client's requests (pipelined ones included) for that long before it acts.
 * With `maxAttacks`, only the first connections are attacked; later ones go through untouched.
 */
export type OnPathMode = 'rst' | 'forged-record' | 'junk' | 'truncated-record'

export interface OnPathBox {
  port: number
  readonly connections: number
  readonly open: number
  /** Connections the box attacked. */
  readonly attacked: number
  server: ModernServer
  close: () => Promise<void>
}

export async function startOnPath (mode: OnPathMode, options: { recordLength?: number, maxVersion?: 'TLSv1.2' | 'TLSv1.3', delayMs?: number, maxAttacks?: number } = {}): Promise<OnPathBox> {
  const maxVersion = options.maxVersion ?? 'TLSv1.2'
  const server = await startModern({ maxVersion })
  let attacked = 0
  // Client-to-server application-data records seen per connection; in TLS 1.3 the first one is the
  // client's Finished, in TLS 1.2 it is already the request.
  const seen = new WeakMap<object, { buffer: Buffer, appRecords: number, attacked: boolean }>()
  const requestRecord = maxVersion === 'TLSv1.3' ? 2 : 1
  const relay: Relay = await startRelay({
    backendPort: server.port,
    onClientData: (pair, chunk) => {
      if (pair.mute && mode !== 'truncated-record') return
      const state = seen.get(pair) ?? { buffer: Buffer.alloc(0), appRecords: 0, attacked: false }
      seen.set(pair, state)
      state.buffer = Buffer.concat([state.buffer, chunk])
      while (state.buffer.length >= 5) {
        const length = state.buffer.readUInt16BE(3)
        if (state.buffer.length < 5 + length) break
        if (state.buffer[0] === 23) state.appRecords += 1
        state.buffer = state.buffer.subarray(5 + length)
      }
      if (state.appRecords < requestRecord || state.attacked) return
      state.attacked = true
      // With maxAttacks, later connections go through untouched (the attacker picks its moment).
      if (options.maxAttacks !== undefined && attacked >= options.maxAttacks) return
      pair.mute = true
      attacked += 1
      // Let the request reach the server (it may process it), then attack the client's side.
      setTimeout(() => {
        if (pair.client.destroyed) return
        if (mode === 'rst') {
          pair.client.resetAndDestroy()
        } else if (mode === 'truncated-record') {
          pair.client.write(Buffer.concat([Buffer.from([22, 3, 3, 1000 >> 8, 1000 & 0xff]), randomBytes(28)]))
          setImmediate(() => pair.client.resetAndDestroy())
        } else if (mode === 'forged-record') {
          const length = options.recordLength ?? 28
          pair.client.write(Buffer.concat([Buffer.from([22, 3, 3, length >> 8, length & 0xff]), randomBytes(length)]))
          setImmediate(() => pair.client.resetAndDestroy())
        } else {
          pair.client.end(randomBytes(200))
        }
      }, options.delayMs ?? 5)
    }
  })
  const r = relay
  return {
    port: r.port,
    get connections () { return r.connections },
    get open () { return r.open },
    get attacked () { return attacked },
    server,
    close: async () => {
      await r.close()
      await server.close()
    }
  }
}
