// The soak's servers, in their own process so that the soak measures only the client's heap.
// Talks to its parent over IPC: sends { ports } when ready; answers 'stats' and 'close'.
import { startIisLike } from '../test/servers/iis.ts'
import { startGnutls } from '../test/servers/gnutls.ts'
import { startModern } from '../test/servers/modern.ts'
import { startOnPath } from '../test/servers/onpath.ts'
import { startRelay } from '../test/servers/relay.ts'

const [modern, iis, apacheLike, legacy, onPath] = await Promise.all([
  startModern(), startIisLike({ onRefused: 'reset' }), startIisLike({ onRefused: 'close' }), startGnutls(), startOnPath('rst')
])
// A relay in front of gnutls-serv counts the client connections that stay open.
const legacyRelay = await startRelay({ backendPort: legacy.port })

const count = (paths: string[]): Record<string, number> => {
  const seen: Record<string, number> = {}
  for (const path of paths) seen[path] = (seen[path] ?? 0) + 1
  return seen
}

process.on('message', (message) => {
  if (message === 'stats') {
    process.send?.({
      answered: {
        'iis.test': count(iis.stats.answered),
        'apache.test': count(apacheLike.stats.answered),
        'modern.test': count(modern.requests.map((r) => r.path))
      },
      open: { modern: modern.open, iis: iis.open, apache: apacheLike.open, legacy: legacyRelay.open, onpath: onPath.open }
    })
  } else if (message === 'close') {
    Promise.all([modern.close(), iis.close(), apacheLike.close(), legacyRelay.close(), legacy.close(), onPath.close()])
      .then(() => { process.send?.('closed'); process.disconnect() })
  }
})
process.send?.({ ports: { modern: modern.port, iis: iis.port, apache: apacheLike.port, legacy: legacyRelay.port, onpath: onPath.port } })
