import { fork, spawnSync, type ChildProcess } from 'node:child_process'
import { availableParallelism } from 'node:os'

/**
 * Child processes of the bench: a module started with the project's Node, answering commands over
 * IPC. Each command is `{ id, cmd, args }` and gets `{ id, ok, result }` or `{ id, ok: false, error }`.
 * A child exits when the parent disconnects, so none outlives the bench.
 */

interface Reply { id: number, ok: boolean, result?: unknown, error?: string }

export interface Worker {
  readonly pid: number
  call: <T>(cmd: string, args?: object) => Promise<T>
  /** Asks the child to clean up and exit; kills it (by its pid) if it has not exited after 10 s. */
  stop: () => Promise<void>
}

export interface WorkerOptions {
  args?: string[]
  execArgv?: string[]
  /** CPUs to pin the child to (`taskset` list, such as '1'). */
  cpus?: string | undefined
  /**
   * A session of its own (setsid). Linux's scheduler shares a CPU fairly between sessions
   * (autogroups), and between threads within one: load processes that share a CPU in the same
   * window each get an equal share only in sessions of their own, however many threads each runs.
   */
  session?: boolean | undefined
}

export async function startWorker (module: URL, options: WorkerOptions = {}): Promise<Worker> {
  const child: ChildProcess = fork(module, options.args ?? [], {
    execPath: process.execPath,
    execArgv: options.execArgv ?? [],
    detached: options.session === true,
    // The child's stdout goes to our stderr: stdout carries only the JSON object of --json.
    stdio: ['ignore', 2, 'inherit', 'ipc']
  })
  let next = 0
  const pending = new Map<number, { resolve: (value: unknown) => void, reject: (error: Error) => void }>()
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const failAll = (error: Error): void => {
    for (const p of pending.values()) p.reject(error)
    pending.clear()
  }
  child.on('message', (message: Reply) => {
    const p = pending.get(message.id)
    if (p === undefined) return
    pending.delete(message.id)
    if (message.ok) p.resolve(message.result)
    else p.reject(new Error(message.error))
  })
  child.once('exit', (code, signal) => failAll(new Error(`bench child ${module.pathname} exited (${code ?? signal})`)))
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve)
    child.once('error', reject)
  })
  if (options.cpus !== undefined) pin(child.pid as number, options.cpus)
  const call = async <T>(cmd: string, args: object = {}): Promise<T> => {
    const id = ++next
    return await new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject })
      child.send({ id, cmd, args })
    })
  }
  return {
    pid: child.pid as number,
    call,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      await call('stop').catch(() => {})
      if (child.connected) child.disconnect()
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    }
  }
}

/** Whether processes can be pinned to CPUs here (Linux with `taskset`, two CPUs or more). */
export const canPin = process.platform === 'linux' && availableParallelism() >= 2 &&
  spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0

/** Pins every thread of a process to a CPU list, such as '1'. */
export function pin (pid: number, cpus: string): void {
  const result = spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' })
  if (result.status !== 0) throw new Error(`taskset could not pin process ${pid} to CPUs ${cpus}`)
}

type Handlers = Record<string, (args: any) => unknown>

/** The child's side: runs handlers for commands; `stop` runs `handlers.stop` and then lets the child exit. */
export function serve (handlers: Handlers): void {
  process.on('message', (message: { id: number, cmd: string, args: unknown }) => {
    const handler = handlers[message.cmd]
    const run = async (): Promise<unknown> => {
      if (handler === undefined) {
        if (message.cmd === 'stop') return undefined
        throw new Error(`unknown command ${message.cmd}`)
      }
      return await handler(message.args)
    }
    run().then(
      (result) => process.send?.({ id: message.id, ok: true, result }),
      (error: unknown) => process.send?.({ id: message.id, ok: false, error: String((error as Error)?.stack ?? error) })
    ).then(() => {
      if (message.cmd === 'stop') process.disconnect()
    })
  })
  // The parent went away (or asked us to stop): nothing may keep this process alive.
  process.once('disconnect', () => {
    setTimeout(() => process.exit(0), 2000).unref()
  })
}
