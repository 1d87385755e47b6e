'use strict'
// A stand-in for @metcoder95/https-pem: a self-signed certificate for localhost, made once per
// process with the openssl command (Debian's openssl package).
const { execFileSync } = require('node:child_process')
const { mkdtempSync, readFileSync, rmSync } = require('node:fs')
const { tmpdir } = require('node:os')
const { join } = require('node:path')

const dir = mkdtempSync(join(tmpdir(), 'conformance-pem-'))
try {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' })
} catch (error) {
  rmSync(dir, { recursive: true, force: true })
  throw error
}
const key = readFileSync(join(dir, 'key.pem'), 'utf8')
const cert = readFileSync(join(dir, 'cert.pem'), 'utf8')
rmSync(dir, { recursive: true, force: true })

module.exports = { key, cert, generate: async () => ({ key, cert }) }
