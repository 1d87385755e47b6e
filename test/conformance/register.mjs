// Loaded with --import: maps the imports of undici's own test files (vendored in ./upstream/test)
// to the installed undici, whose root is ./undici-swapped.cjs, and @metcoder95/https-pem to the
// stand-in in ./shims (the package makes its certificate in an install script).
import { createRequire, registerHooks } from 'node:module'
import { dirname } from 'node:path'
import { pathToFileURL } from 'node:url'

const require = createRequire(import.meta.url)
const upstream = new URL('./upstream/', import.meta.url).href
const undiciRoot = pathToFileURL(dirname(require.resolve('undici/package.json')) + '/').href
const swapped = new URL('./undici-swapped.cjs', import.meta.url).href
const shims = {
  '@metcoder95/https-pem': new URL('./shims/https-pem.cjs', import.meta.url).href
}

registerHooks({
  resolve (specifier, context, nextResolve) {
    const shim = shims[specifier]
    if (shim !== undefined) return { url: shim, format: 'commonjs', shortCircuit: true }
    const parent = context.parentURL
    if (parent !== undefined && parent.startsWith(upstream) && specifier.startsWith('.')) {
      const target = new URL(specifier, parent).href
      if (target.startsWith(upstream)) {
        const rest = target.slice(upstream.length).replace(/\.js$/, '')
        if (rest === '' || rest === 'index') return { url: swapped, format: 'commonjs', shortCircuit: true }
        // undici is CommonJS.
        if (rest === 'index-fetch' || rest === 'undici-fetch') return { url: `${undiciRoot}index-fetch.js`, format: 'commonjs', shortCircuit: true }
        if (rest.startsWith('lib/')) return { url: `${undiciRoot}${rest}.js`, format: 'commonjs', shortCircuit: true }
      }
    }
    return nextResolve(specifier, context)
  }
})
