#!/usr/bin/env node
// The package's bin. It checks the Node version before anything loads undici: undici 8 needs
// Node >= 22.19 and, on an older one, dies in a stack trace that does not say so.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number)
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(`undici-tls-fallback: needs Node.js >= 22.19 (undici 8 does); this is Node.js ${process.version}.\n`)
  process.exitCode = 1
} else {
  await import('./main.ts')
}
