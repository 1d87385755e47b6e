// A fleet of replicas sharing what they learn through Redis: one replica pays the failed attempt,
// the others (and every replica after a restart) go straight to the right stack.
//
//   REDIS_URL=redis://127.0.0.1:6379 node examples/fleet-redis.ts https://erp.corp.example/secure/report
//
// Needs the ioredis package (npm install ioredis) next to undici-tls-fallback.
import { readFileSync } from 'node:fs'
import { pino } from 'pino'
import { request } from 'undici'
import { RedisPolicyCache, TlsFallbackAgent } from '../src/index.ts'

const logger = pino({ level: process.env.LOG_LEVEL ?? 'info' })
const cache = new RedisPolicyCache({
  url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  keyPrefix: 'my-service:tls-policy:', // one prefix per service that shares policies
  ttl: 6 * 60 * 60 * 1000, // after 6 hours the strict stack is tried again
  loadTimeout: 250, // the first request to an origin this replica never saw waits at most this long for Redis
  logger
})
await cache.ready // optional: the entries already in Redis are in memory from here on

const pfx = process.env.CLIENT_PFX // path to a PKCS#12 file, if the servers ask for a client certificate
const agent = new TlsFallbackAgent({
  cache,
  logger,
  hosts: {
    // Local config is the authority: a Redis entry naming a stack a host does not allow is ignored.
    'erp.corp.example': pfx === undefined ? {} : { clientCert: { pfx: readFileSync(pfx), passphrase: process.env.CLIENT_PFX_PASSPHRASE } }
  }
})

const url = process.argv[2] ?? 'https://erp.corp.example/secure/report'
try {
  const { statusCode, body } = await request(url, { dispatcher: agent })
  logger.info({ statusCode, bytes: (await body.arrayBuffer()).byteLength, policy: agent.policy(url) }, 'done')
} finally {
  await agent.close()
  await cache.close() // a cache you pass in is yours to close
}
