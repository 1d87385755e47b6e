import { constants } from 'node:crypto'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { pino } from 'pino'
import { Agent, ProxyAgent, request, RetryAgent, type Dispatcher } from 'undici'
import type { TlsFallbackAgentOptions } from '../src/index.ts'

// The library is imported only by the contenders that use it: a plain Agent's process never loads it,
// and the --alt copy's process loads that copy alone.
const library = async (): Promise<typeof import('../src/index.ts')> => await import('../src/index.ts')

/**
 * What users would use instead, and the agent itself. Every contender gets the same TLS options
 * (`connect: { ca }`), undici's defaults otherwise, and is called through undici's `request()`.
 */
export const CONTENDERS = ['agent', 'retry-agent', 'naive', 'tls-fallback'] as const
export type ContenderName = typeof CONTENDERS[number]

export const LABELS: Record<string, string> = {
  agent: 'undici Agent (the limit)',
  'agent#2': 'undici Agent, a second instance (A/A control: the noise floor)',
  'retry-agent': 'undici RetryAgent',
  naive: 'naive fallback (catch, retry lenient)',
  'tls-fallback': 'TlsFallbackAgent',
  'agent-tracked': 'undici Agent + the library\'s connector (evidence counters), no fallback logic',
  'tls-fallback-alt': 'TlsFallbackAgent (--alt copy)',
  'tls-fallback-nolog': 'TlsFallbackAgent without a logger',
  'proxy-agent': 'undici ProxyAgent through Squid (the limit)',
  'proxy-agent#2': 'undici ProxyAgent through Squid, a second instance (A/A control)',
  'tls-fallback-proxy': 'TlsFallbackAgent through Squid (proxy option)',
  'tls-fallback-auth': 'TlsFallbackAgent with hosts[...].auth NTLM (an authenticated location)'
}

export type Response = Dispatcher.ResponseData

export interface Contender {
  name: string
  send: (url: string) => Promise<Response>
  close: () => Promise<void>
}

/**
 * The logger TlsFallbackAgent gets: pino at its default level (`info`), writing to /dev/null. It
 * answers `isLevelEnabled('debug')` with false, as a production pino does, so the agent skips
 * building per-attempt debug lines. (A logger without `isLevelEnabled` gets every line: a cost of
 * that logger, not of the fast path; `tls-fallback-nolog` measures the agent without a logger.)
 */
export const silentLogger = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: true }))

/** Codes a hand-written fallback typically catches: IIS resets, Apache and appliances close. */
const NAIVE_RETRY_CODES = new Set(['ECONNRESET', 'UND_ERR_SOCKET'])

/**
 * The naive fallback: a strict Agent (renegotiation refused, as the agent's strict stack), and on a
 * reset or close the same request again through a lenient Agent. It remembers nothing.
 */
function naive (ca: Buffer): Contender {
  const strict = new Agent({ connect: { ca, secureOptions: constants.SSL_OP_NO_RENEGOTIATION } })
  const lenient = new Agent({ connect: { ca } })
  return {
    name: 'naive',
    send: async (url) => {
      try {
        return await request(url, { dispatcher: strict })
      } catch (error) {
        if (!NAIVE_RETRY_CODES.has((error as { code?: string }).code ?? '')) throw error
        return await request(url, { dispatcher: lenient })
      }
    },
    close: async () => {
      await Promise.all([strict.close(), lenient.close()])
    }
  }
}

/**
 * A plain Agent that connects through the library's own connector (ConnectionTracker, strict stack):
 * it pays for the evidence (a TCP socket of its own under TLS, byte counters marked at every
 * request) and nothing else. The gap between it and the Agent is what the evidence costs; the gap
 * between it and TlsFallbackAgent is what the request path costs.
 */
async function tracked (ca: Buffer): Promise<Contender> {
  const { ConnectionTracker } = await import('../src/connector.ts')
  const { stackTlsOptions } = await import('../src/stacks.ts')
  const key = {}
  const tracker = new ConnectionTracker({
    resolve: (stack) => ({ key, options: stackTlsOptions(stack, { ca }, undefined) }),
    timeout: undefined,
    maxCachedSessions: undefined,
    keepAlive: undefined,
    keepAliveInitialDelay: undefined,
    tcp: {}
  })
  return wrap('agent-tracked', new Agent({ connect: tracker.connectFunction('strict', true) }))
}

function wrap (name: string, dispatcher: Dispatcher): Contender {
  return {
    name,
    send: async (url) => await request(url, { dispatcher }),
    close: async () => { await dispatcher.close() }
  }
}

/** The proxy of the proxy scenario (`bench/proxy.ts` starts Squid and passes its URL down as BENCH_PROXY). */
function benchProxy (): string {
  const url = process.env.BENCH_PROXY
  if (url === undefined || url === '') throw new Error('the proxy contenders need BENCH_PROXY (set by bench/proxy.ts)')
  return url
}

/**
 * `tls-fallback-alt` is TlsFallbackAgent loaded from another copy of the library (`--alt <index.ts>`,
 * passed down as BENCH_ALT_AGENT): a change to src/ measured against the current one in the same run.
 */
export async function makeContender (name: string, ca: Buffer, options: Partial<TlsFallbackAgentOptions> = {}): Promise<Contender> {
  // `agent#2` is a second, independent instance of `agent`: an A/A control that shows the noise floor.
  const kind = name.split('#')[0] as string
  switch (kind) {
    case 'agent':
      return wrap(name, new Agent({ connect: { ca } }))
    case 'retry-agent':
      return wrap(name, new RetryAgent(new Agent({ connect: { ca } })))
    case 'naive':
      return naive(ca)
    case 'agent-tracked':
      return await tracked(ca)
    case 'tls-fallback':
      return wrap(name, new (await library()).TlsFallbackAgent({ connect: { ca }, logger: silentLogger, ...options }))
    case 'tls-fallback-alt': {
      const path = process.env.BENCH_ALT_AGENT
      if (path === undefined || path === '') throw new Error('tls-fallback-alt needs --alt <path to an index.ts>')
      const alt = await import(pathToFileURL(resolve(path)).href) as Awaited<ReturnType<typeof library>>
      return wrap(name, new alt.TlsFallbackAgent({ connect: { ca }, logger: silentLogger, ...options }))
    }
    case 'proxy-agent':
      return wrap(name, new ProxyAgent({ uri: benchProxy(), requestTls: { ca } }))
    case 'tls-fallback-proxy':
      return wrap(name, new (await library()).TlsFallbackAgent({ connect: { ca }, logger: silentLogger, proxy: benchProxy(), ...options }))
    case 'tls-fallback-nolog':
      // Without a logger (transitions would become process warnings): what the logger's cost is.
      return wrap(name, new (await library()).TlsFallbackAgent({ connect: { ca }, ...options }))
    default:
      throw new Error(`unknown contender ${kind}`)
  }
}
