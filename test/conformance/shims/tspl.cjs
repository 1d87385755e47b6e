'use strict'
// A stand-in for @matteo.collina/tspl (the planned assertions undici's tests use), written for
// this harness: every node:assert function, counted; `completed` settles when the plan is met, or
// rejects with the first failed assertion; `end()` checks the count.
const assert = require('node:assert')

function tspl (t, options = {}) {
  const plan = options.plan
  let actual = 0
  let settle
  let fail
  const completed = new Promise((resolve, reject) => { settle = resolve; fail = reject })
  completed.catch(() => {})
  const counted = () => {
    actual += 1
    if (plan !== undefined && actual > plan) {
      const error = new assert.AssertionError({ message: `more assertions than planned: ${actual} > ${plan}` })
      fail(error)
      throw error
    }
    if (plan !== undefined && actual === plan) settle()
  }
  const planner = {
    completed,
    end () {
      if (plan !== undefined && actual !== plan) {
        const error = new assert.AssertionError({ message: `planned ${plan} assertions, ran ${actual}` })
        fail(error)
        throw error
      }
      settle()
    }
  }
  for (const name of Object.keys(assert)) {
    const fn = assert[name]
    if (typeof fn !== 'function' || name === 'AssertionError' || name === 'CallTracker' || name === 'strict' || name === 'Assert') continue
    planner[name] = (...args) => {
      let result
      try {
        result = fn(...args)
      } catch (error) {
        fail(error)
        throw error
      }
      if (result !== undefined && typeof result.then === 'function') {
        return result.then(() => { counted() }, (error) => { fail(error); throw error })
      }
      counted()
      return result
    }
  }
  if (t !== undefined && typeof t.after === 'function' && plan !== undefined) {
    t.after(() => {
      if (actual !== plan) throw new assert.AssertionError({ message: `planned ${plan} assertions, ran ${actual}` })
    })
  }
  return planner
}

module.exports = { tspl }
