/**
 * Measures how a raw Node TLS client behaves against the real test servers (gnutls-serv, Apache httpd).
 * Not a test: run `node test/servers/measure-real-servers.ts` and read the output.
 */
import crypto from 'node:crypto'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import tls from 'node:tls'
import { startApache, type ApacheServer } from './apache.ts'
import { startGnutls } from './gnutls.ts'

const fixture = (name: string) => readFileSync(new URL(`../fixtures/certs/${name}`, import.meta.url))
const ca = fixture('ca.crt')
const clientCert = { cert: fixture('client.crt'), key: fixture('client.key') }
const { SSL_OP_LEGACY_SERVER_CONNECT, SSL_OP_NO_RENEGOTIATION } = crypto.constants
const CASE_TIMEOUT_MS = 10_000

interface HttpRequest { method: 'GET' | 'POST'; path: string; body?: Buffer }
interface HttpResponse { head: string; body: Buffer; complete: boolean }
interface Counters { rawRead: number; rawWritten: number; tlsRead: number; tlsWritten: number }

async function measure (label: string, port: number, options: tls.ConnectionOptions, requests: HttpRequest[]) {
  console.log(`\n== ${label}`)
  const events: string[] = []
  const raw = net.connect(port, '127.0.0.1')
  for (const name of ['end', 'close'] as const) raw.on(name, () => events.push(`raw:${name}`))
  raw.on('error', (error: NodeJS.ErrnoException) => events.push(`raw:error(${error.code})`))
  await once(raw, 'connect')

  const socket = tls.connect({ socket: raw, ca, servername: 'localhost', ...options })
  const counters = (): Counters => ({
    rawRead: raw.bytesRead, rawWritten: raw.bytesWritten, tlsRead: socket.bytesRead, tlsWritten: socket.bytesWritten,
  })
  let atSecureConnect: Counters | undefined
  socket.prependOnceListener('secureConnect', () => { atSecureConnect = counters() })

  let secureCount = 0
  let secureConnectCount = 0
  const sessions: string[] = []
  socket.on('secure', () => {
    secureCount++
    sessions.push(`${socket.getProtocol()} ${socket.getCipher()?.standardName} peerCert=${socket.getPeerCertificate().subject?.CN}`)
  })
  socket.on('secureConnect', () => { secureConnectCount++; events.push('tls:secureConnect'); wake() })
  socket.on('end', () => events.push('tls:end'))
  socket.on('session', () => events.push('tls:session'))
  let failure: NodeJS.ErrnoException | undefined
  socket.on('error', (error: NodeJS.ErrnoException) => { failure ??= error; events.push(`tls:error(${error.code})`) })

  let received = Buffer.alloc(0)
  let closed = false
  let wake = () => {}
  socket.on('data', (chunk: Buffer) => { received = Buffer.concat([received, chunk]); wake() })
  const closing = new Promise<void>((resolve) => socket.once('close', () => {
    closed = true
    events.push('tls:close')
    wake()
    resolve()
  }))
  const until = async (done: () => boolean) => {
    while (!done()) await new Promise<void>((resolve) => { wake = resolve })
  }
  const timer = setTimeout(() => { events.push('TIMEOUT'); socket.destroy() }, CASE_TIMEOUT_MS)

  await until(() => closed || atSecureConnect !== undefined)
  for (const [i, request] of requests.entries()) {
    if (closed) break
    const last = i === requests.length - 1
    const body = request.body ?? Buffer.alloc(0)
    const head = `${request.method} ${request.path} HTTP/1.1\r\nHost: localhost\r\n` +
      (request.body ? `Content-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\n` : '') +
      `Connection: ${last ? 'close' : 'keep-alive'}\r\n\r\n`
    events.push(`write(${request.method} ${request.path})`)
    socket.write(Buffer.concat([Buffer.from(head), body]))
    await until(() => closed || parseResponses(received).filter((r) => r.complete).length > i)
  }
  await closing
  clearTimeout(timer)
  if (!raw.destroyed) await Promise.race([once(raw, 'close'), sleep(500)])
  const atClose = counters()

  if (failure) console.log(`  error: ${failure.code} ${failure.message}`)
  console.log(`  protocol/cipher per 'secure': ${sessions.length ? sessions.join(' | ') : '(none)'}`)
  console.log(`  'secure' emitted ${secureCount}x, 'secureConnect' ${secureConnectCount}x`)
  console.log(`  events: ${events.join(', ')}`)
  for (const [i, response] of parseResponses(received, true).entries()) {
    console.log(`  response ${i + 1}:${response.complete ? '' : ' (incomplete)'}`)
    for (const line of response.head.split('\r\n')) console.log(`    ${line}`)
    const text = response.body.toString('utf8')
    const shown = text.length > 160 ? `${JSON.stringify(text.slice(0, 160))}...` : JSON.stringify(text)
    console.log(`    body (${response.body.length} bytes): ${shown}`)
  }
  if (received.length === 0) console.log('  response: (no plaintext received)')
  console.log(`  bytes at close: raw read=${atClose.rawRead} written=${atClose.rawWritten}; tls read=${atClose.tlsRead} written=${atClose.tlsWritten}`)
  if (atSecureConnect) {
    const delta = (key: keyof Counters) => atClose[key] - atSecureConnect![key]
    console.log(`  bytes at secureConnect: raw read=${atSecureConnect.rawRead} written=${atSecureConnect.rawWritten}; tls read=${atSecureConnect.tlsRead} written=${atSecureConnect.tlsWritten}`)
    console.log(`  delta secureConnect->close: raw read=+${delta('rawRead')} written=+${delta('rawWritten')}; tls read=+${delta('tlsRead')} written=+${delta('tlsWritten')}`)
  }
}

/** Minimal HTTP/1.1 response splitter: Content-Length, chunked, or read-until-close. */
function parseResponses (data: Buffer, closed = false): HttpResponse[] {
  const responses: HttpResponse[] = []
  let offset = 0
  while (offset < data.length) {
    const headEnd = data.indexOf('\r\n\r\n', offset)
    if (headEnd < 0) {
      responses.push({ head: data.subarray(offset).toString('latin1'), body: Buffer.alloc(0), complete: false })
      break
    }
    const head = data.subarray(offset, headEnd).toString('latin1')
    const start = headEnd + 4
    const length = /^content-length:\s*(\d+)/im.exec(head)?.[1]
    if (length !== undefined) {
      const end = start + Number(length)
      responses.push({ head, body: data.subarray(start, end), complete: end <= data.length })
      offset = end
    } else if (/^transfer-encoding:\s*chunked/im.test(head)) {
      const chunks: Buffer[] = []
      let at = start
      let complete = false
      for (;;) {
        const lineEnd = data.indexOf('\r\n', at)
        if (lineEnd < 0) break
        const size = parseInt(data.subarray(at, lineEnd).toString('latin1'), 16)
        if (size === 0) { complete = data.length >= lineEnd + 4; at = lineEnd + 4; break }
        chunks.push(data.subarray(lineEnd + 2, lineEnd + 2 + size))
        at = lineEnd + 2 + size + 2
      }
      responses.push({ head, body: Buffer.concat(chunks), complete })
      offset = at
    } else {
      responses.push({ head, body: data.subarray(start), complete: closed })
      break
    }
  }
  return responses
}

async function apacheCase (server: ApacheServer, label: string, options: tls.ConnectionOptions, requests: HttpRequest[]) {
  const [errorBefore, accessBefore] = [server.errorLog().length, server.accessLog().length]
  await measure(label, server.port, options, requests)
  await sleep(200) // let Apache flush its logs
  const errorLines = server.errorLog().slice(errorBefore).split('\n').filter((line) => line.includes('[client '))
  for (const line of errorLines) console.log(`  apache error.log: ${line.replace(/^\[[^\]]*\] /, '').replace(/\[pid [^\]]*\] /, '')}`)
  for (const line of server.accessLog().slice(accessBefore).split('\n').filter(Boolean)) console.log(`  apache access.log: ${line}`)
}

const strict = { secureOptions: SSL_OP_NO_RENEGOTIATION }
const get = (path: string): HttpRequest => ({ method: 'GET', path })

for (const safeRenegotiation of [false, true]) {
  const server = await startGnutls({ safeRenegotiation })
  const name = safeRenegotiation ? 'gnutls with RFC 5746' : 'gnutls legacy (no RFC 5746)'
  try {
    await measure(`${name}: GET /, default client`, server.port, {}, [get('/')])
    await measure(`${name}: GET /, SSL_OP_LEGACY_SERVER_CONNECT`, server.port,
      { secureOptions: SSL_OP_LEGACY_SERVER_CONNECT }, [get('/')])
    await measure(`${name}: GET /, SSL_OP_LEGACY_SERVER_CONNECT | SSL_OP_NO_RENEGOTIATION`, server.port,
      { secureOptions: SSL_OP_LEGACY_SERVER_CONNECT | SSL_OP_NO_RENEGOTIATION }, [get('/')])
  } finally {
    await server.close()
  }
  const notable = server.output().split('\n').filter((line) => /error|alert|Options/i.test(line))
  console.log(`  gnutls-serv output (errors, alerts, options):\n${notable.map((line) => `    | ${line}`).join('\n')}`)
}

const body = Buffer.alloc(4096, 'x')
const post: HttpRequest = { method: 'POST', path: '/secure', body }
const apache = await startApache()
try {
  console.log(`\n(apache on 127.0.0.1:${apache.port}, SSLProtocol -all +TLSv1.2)`)
  await apacheCase(apache, 'apache: GET /, strict client (SSL_OP_NO_RENEGOTIATION)', strict, [get('/')])
  await apacheCase(apache, 'apache: GET /secure, strict client', strict, [get('/secure')])
  await apacheCase(apache, 'apache: GET /secure, renegotiation allowed (secureOptions 0), no client cert', { secureOptions: 0 }, [get('/secure')])
  await apacheCase(apache, 'apache: GET /secure, renegotiation allowed, client cert', { secureOptions: 0, ...clientCert }, [get('/secure')])
  await apacheCase(apache, 'apache: keep-alive GET / then GET /secure, strict client', strict, [get('/'), get('/secure')])
  await apacheCase(apache, 'apache: keep-alive GET / then GET /secure, renegotiation allowed, client cert', { secureOptions: 0, ...clientCert }, [get('/'), get('/secure')])
  await apacheCase(apache, 'apache: POST /secure (4096 bytes), strict client', strict, [post])
  await apacheCase(apache, 'apache: POST /secure (4096 bytes), renegotiation allowed, client cert', { secureOptions: 0, ...clientCert }, [post])
} finally {
  await apache.close()
}

const apache13 = await startApache({ protocols: '-all +TLSv1.2 +TLSv1.3' })
try {
  console.log(`\n(apache on 127.0.0.1:${apache13.port}, SSLProtocol -all +TLSv1.2 +TLSv1.3: /secure needs post-handshake auth)`)
  await apacheCase(apache13, 'apache TLS 1.3: GET /secure, strict client', strict, [get('/secure')])
  await apacheCase(apache13, 'apache TLS 1.3: GET /secure, client cert', { ...clientCert }, [get('/secure')])
} finally {
  await apache13.close()
}
