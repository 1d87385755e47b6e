import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from './ports.ts'

export interface RedisServer {
  port: number
  url: string
  /** Kills the server at once (SIGKILL), as a crash would. */
  kill: () => Promise<void>
  /** Starts it again on the same port. */
  restart: () => Promise<void>
  close: () => Promise<void>
}

async function ping (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.setTimeout(500)
    socket.on('connect', () => socket.write('PING\r\n'))
    socket.on('data', (d) => { socket.destroy(); resolve(d.toString().startsWith('+PONG')) })
    socket.on('error', () => resolve(false))
    socket.on('timeout', () => { socket.destroy(); resolve(false) })
  })
}

/** A real redis-server on loopback, without persistence. */
export async function startRedis (): Promise<RedisServer> {
  const port = await freePort()
  let child: ChildProcess | undefined
  let output = ''
  const start = async (): Promise<void> => {
    output = ''
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin:/usr/bin` }
    })
    child.stdout?.on('data', (d: Buffer) => { output += d })
    child.stderr?.on('data', (d: Buffer) => { output += d })
    const failed = once(child, 'error').then(([error]) => {
      throw (error as { code?: string }).code === 'ENOENT' ? new Error('redis-server not found: apt-get install -y redis-server') : error
    })
    const deadline = Date.now() + 10_000
    const ready = (async () => {
      while (!(await ping(port))) {
        if (Date.now() > deadline) throw new Error(`redis-server did not start: ${output}`)
        await sleep(50)
      }
    })()
    await Promise.race([ready, failed])
  }
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (child === undefined || child.exitCode !== null) return
    const exited = once(child, 'exit')
    child.kill(signal)
    await exited
  }
  await start()
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill: async () => { await stop('SIGKILL') },
    restart: start,
    close: async () => { await stop('SIGTERM') }
  }
}
