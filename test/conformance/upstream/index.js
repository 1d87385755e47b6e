'use strict'
// Not an upstream file: a few of undici's tests start `node -e "require('./index.js')"` in the
// package root; here that root is this directory, so it gives them the swapped undici too.
module.exports = require('../undici-swapped.cjs')
