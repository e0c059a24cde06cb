// Unit tests of the pure parts (node --test): diffs, caret shifting, URL parameters.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { diffStrings, shiftIndex, changeToDelta } from '../src/diff.js'
import { readParams, rawParam, tokenClaims } from '../src/params.js'
import { parseValue } from '../src/map-binding.js'

const apply = (text, change) => text.slice(0, change.index) + change.insert + text.slice(change.index + change.remove)

test('diff is minimal and follows the caret', () => {
  assert.equal(diffStrings('abc', 'abc'), null)
  assert.deepEqual(diffStrings('aa', 'aaa', 2), { index: 1, remove: 0, insert: 'a' })
  assert.deepEqual(diffStrings('aa', 'aaa', 3), { index: 2, remove: 0, insert: 'a' })
  assert.deepEqual(diffStrings('aab', 'ab', 1), { index: 1, remove: 1, insert: '' })
  assert.deepEqual(diffStrings('hello world', 'hello brave world', 12), { index: 6, remove: 0, insert: 'brave ' })
  assert.deepEqual(diffStrings('abcdef', 'abXYef', 4), { index: 2, remove: 2, insert: 'XY' })
})

test('diff never splits a surrogate pair', () => {
  const before = 'a\u{1F600}b'
  const after = 'a\u{1F601}b'
  const change = diffStrings(before, after, 3)
  assert.equal(apply(before, change), after)
  assert.equal(change.index, 1)
  assert.equal(change.remove, 2)
})

test('random edits round-trip', () => {
  const letters = 'ab\u00e9\u{1F600} '
  for (let i = 0; i < 500; i++) {
    const pick = () => Array.from({ length: Math.floor(Math.random() * 8) }, () => Array.from(letters)[Math.floor(Math.random() * 5)]).join('')
    const before = pick() + pick()
    const after = pick() + pick()
    const change = diffStrings(before, after, Math.floor(Math.random() * (after.length + 1)))
    if (before === after) assert.equal(change, null)
    else assert.equal(apply(before, change), after)
  }
})

test('caret shifting through a delta', () => {
  assert.equal(shiftIndex([{ insert: 'xx' }], 3), 5)
  assert.equal(shiftIndex([{ retain: 3 }, { insert: 'xx' }], 3), 3) // insert at the caret goes after it
  assert.equal(shiftIndex([{ retain: 5 }, { insert: 'xx' }], 3), 3)
  assert.equal(shiftIndex([{ retain: 1 }, { delete: 1 }], 3), 2)
  assert.equal(shiftIndex([{ retain: 1 }, { delete: 5 }], 3), 1)
  assert.equal(shiftIndex(changeToDelta({ index: 0, remove: 2, insert: 'abc' }), 4), 5)
})

test('URL parameters', () => {
  const location = { origin: 'https://hub.example.com' }
  const one = readParams('?record=Sales/Invoices/K%2F1&token=t.u.v', location)
  assert.deepEqual([one.record.database, one.record.layout, one.record.key], ['Sales', 'Invoices', 'K/1'])
  assert.equal(one.record.room, 'Sales/Invoices/K%2F1')
  assert.equal(one.hub, 'https://hub.example.com')
  assert.equal(one.fmscript, 'collab event')
  const whole = readParams('?record=Sales%2FInvoices%2Fabc&fmscript=My%20Script', location)
  assert.equal(whole.record.key, 'abc')
  assert.equal(whole.fmscript, 'My Script')
  assert.ok(readParams('?record=Sales/Invoices', location).error)
  assert.equal(readParams('?record=a/b/c&hub=https://x.test/', { origin: 'null' }).hub, 'https://x.test')
  assert.equal(rawParam('?a=1&record=x%2Fy', 'record'), 'x%2Fy')
  const proxied = readParams('?record=a/b/c', { origin: 'https://x.test', pathname: '/collab/webviewer/approvals' })
  assert.equal(proxied.hub, 'https://x.test/collab')
  assert.equal(readParams('?record=a/b/c', { origin: 'https://x.test', pathname: '/webviewer/' }).hub, 'https://x.test')
  const payload = Buffer.from(JSON.stringify({ sub: 'u1', name: 'Zoë' })).toString('base64url')
  assert.deepEqual(tokenClaims('h.' + payload + '.s'), { sub: 'u1', name: 'Zoë' })
  assert.deepEqual(tokenClaims('garbage'), {})
})

test('numbers in map fields', () => {
  assert.equal(parseValue('number', '1999.5'), 1999.5)
  assert.equal(parseValue('number', ' 12 '), 12)
  assert.equal(parseValue('number', ''), '')
  assert.equal(parseValue('number', '12abc'), '12abc')
  assert.equal(parseValue('text', '12'), '12')
})
