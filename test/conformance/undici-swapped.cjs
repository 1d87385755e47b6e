'use strict'
// What undici's tests get for `require('../..')`: the installed undici, with `Agent` replaced by
// TlsFallbackAgent (or, for the control run, a plain subclass of undici's Agent), which is also
// the global dispatcher. UNDICI_CONFORMANCE_AGENT: 'tls-fallback' (default) or 'undici'.
const undici = require('undici')

const mode = process.env.UNDICI_CONFORMANCE_AGENT ?? 'tls-fallback'
// UNDICI_CONFORMANCE_SRC: another checkout's src/index.ts (to count what an older version kept).
const source = process.env.UNDICI_CONFORMANCE_SRC ?? '../../src/index.ts'
const Base = mode === 'undici' ? undici.Agent : require(source).TlsFallbackAgent

class Agent extends Base {}

undici.setGlobalDispatcher(new Agent())
module.exports = { ...undici, Agent }
