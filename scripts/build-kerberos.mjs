#!/usr/bin/env node
// Installs the optional peer dependency `kerberos` (Negotiate/Kerberos through GSSAPI) for the tests,
// built from source, when it does not load. Its prebuilt binary is downloaded from GitHub, which a
// machine with only the npm registry cannot reach, and node-gyp would download Node's headers from
// nodejs.org; so the headers come from the npm `node-<platform>-<arch>` package of this very Node
// (the `node` devDependency installs it), or from the registry with `npm pack` when that is absent.
//
// It builds in a temp folder and copies the package in: `npm install --no-save kerberos` in the
// project would reify the whole tree against the lockfile, undoing `npm install --no-save node@22`
// in CI's Node matrix.
//
// Exit code: 0 when `kerberos` loads (or was built); otherwise 1 when CI is set (the tests that
// need it must not be skipped silently there), and 0 with a warning elsewhere.
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const RANGE = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).peerDependencies?.kerberos ?? '^7.0.0'
const TARGET = path.join(ROOT, 'node_modules', 'kerberos')

/** Whether `kerberos` loads in this Node, from the project (in a child: a broken addon can abort). */
export function kerberosLoads () {
  try {
    execFileSync(process.execPath, ['-e', "require('kerberos').initializeClient"], { cwd: ROOT, stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** A folder holding `include/node/node_api.h` for this Node: the `node` package's, this Node's own, or one from the registry. */
function nodeHeaders (tmp) {
  const own = `node-${process.platform}-${process.arch}`
  const candidates = [
    path.join(ROOT, 'node_modules', 'node', 'node_modules', own),
    path.join(ROOT, 'node_modules', own),
    path.dirname(path.dirname(process.execPath))
  ]
  const found = candidates.find((dir) => existsSync(path.join(dir, 'include', 'node', 'node_api.h')))
  if (found !== undefined) return found
  console.error(`undici-tls-fallback: fetching Node ${process.versions.node}'s headers (npm pack ${own})...`)
  const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', tmp, `${own}@${process.versions.node}`], { cwd: tmp, encoding: 'utf8' }).trim().split('\n').pop()
  execFileSync('tar', ['-xzf', path.join(tmp, tarball), '-C', tmp, 'package/include'])
  return path.join(tmp, 'package')
}

export function buildKerberos () {
  if (kerberosLoads()) return true
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'undici-tls-fallback-kerberos-'))
  try {
    const nodedir = nodeHeaders(tmp)
    const prefix = path.join(tmp, 'build')
    mkdirSync(prefix)
    writeFileSync(path.join(prefix, 'package.json'), JSON.stringify({ name: 'kerberos-build', private: true, allowScripts: { kerberos: true } }))
    console.error(`undici-tls-fallback: building kerberos@${RANGE} from source (libkrb5-dev, about 15 s)...`)
    // npm 11 warns about `--build-from-source` as an unknown CLI flag; the same setting as
    // `npm_config_build_from_source` reaches prebuild-install quietly (no download attempt).
    execFileSync('npm', ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', `kerberos@${RANGE}`], {
      cwd: prefix,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {
        ...process.env,
        PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}`,
        npm_config_nodedir: nodedir,
        npm_config_build_from_source: 'true'
      }
    })
    rmSync(TARGET, { recursive: true, force: true })
    cpSync(path.join(prefix, 'node_modules', 'kerberos'), TARGET, { recursive: true, filter: (src) => !src.includes(`${path.sep}obj.target`) })
  } catch (error) {
    console.error(`undici-tls-fallback: could not build kerberos: ${error.message.split('\n')[0]}\n${error.stderr ?? ''}`)
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
  return kerberosLoads()
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (buildKerberos()) {
    process.exit(0)
  }
  const where = process.env.CI ? 'CI is set: the Kerberos tests must run' : 'the Kerberos tests will be skipped'
  console.error(`undici-tls-fallback: the optional peer dependency kerberos does not load (${where}).\n` +
    '  It needs libkrb5-dev (apt-get install -y libkrb5-dev) and a C++ compiler, then: node scripts/build-kerberos.mjs')
  process.exit(process.env.CI ? 1 : 0)
}
