#!/usr/bin/env node
// Makes sure the Debian packages that the real-server tests and the demo use are installed:
// gnutls-serv (a TLS server without RFC 5746), apache2 (renegotiates per location), redis-server,
// squid (an HTTP(S) proxy), danted and microsocks (SOCKS5 proxies; microsocks checks its own
// username and password) and htpasswd (Squid's Basic-auth file); for Windows Integrated
// Authentication an MIT KDC and its tools, Apache's mod_auth_gssapi, gss-ntlmssp, and libkrb5-dev,
// g++ and make to build the optional `kerberos` addon (scripts/build-kerberos.mjs, run last).
// A name with a slash is a file to look for, not a program.
// As root on Debian it installs what is missing with apt-get; elsewhere it says what to install.
import { execFileSync, spawnSync } from 'node:child_process'
import { accessSync, constants, existsSync } from 'node:fs'
import { buildKerberos } from './build-kerberos.mjs'

const PACKAGES = {
  'gnutls-serv': 'gnutls-bin',
  apache2: 'apache2',
  'redis-server': 'redis-server',
  squid: 'squid',
  danted: 'dante-server',
  htpasswd: 'apache2-utils',
  microsocks: 'microsocks',
  krb5kdc: 'krb5-kdc',
  'kadmin.local': 'krb5-admin-server',
  kinit: 'krb5-user',
  'krb5-config': 'libkrb5-dev',
  'g++': 'g++',
  make: 'make',
  '/usr/lib/apache2/modules/mod_auth_gssapi.so': 'libapache2-mod-auth-gssapi',
  '/usr/lib/x86_64-linux-gnu/gssntlmssp/gssntlmssp.so': 'gss-ntlmssp'
}
const only = process.argv.slice(2)
const wanted = Object.entries(PACKAGES).filter(([bin]) => only.length === 0 || only.includes(bin))
const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/bin']

function has (bin) {
  if (bin.includes('/')) return existsSync(bin)
  return dirs.some((dir) => {
    try {
      accessSync(`${dir}/${bin}`, constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

const missing = wanted.filter(([bin]) => !has(bin)).map(([, pkg]) => pkg)
if (missing.length === 0) kerberosThenExit()

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0
const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0
if (!isRoot || !hasApt) {
  console.error(`undici-tls-fallback: the tests need these Debian packages: ${missing.join(' ')}\n` +
    `  install them with: sudo apt-get update && sudo apt-get install -y ${missing.join(' ')}`)
  process.exit(1)
}
console.error(`undici-tls-fallback: installing ${missing.join(' ')} (apt-get, about a minute)...`)
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env })
execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env })
console.error('undici-tls-fallback: system packages ready')
kerberosThenExit()

/** The optional peer `kerberos`, for the whole test suite only (not for `system-deps.mjs gnutls-serv`). */
function kerberosThenExit () {
  if (only.length > 0 || buildKerberos()) process.exit(0)
  console.error('undici-tls-fallback: the optional peer dependency kerberos does not load' +
    (process.env.CI ? ' (CI is set: the Kerberos tests must run)' : ': the Kerberos tests will be skipped'))
  process.exit(process.env.CI ? 1 : 0)
}
