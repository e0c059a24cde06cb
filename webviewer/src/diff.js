/**
 * Text diffs and caret shifting for the Y.Text bindings.
 *
 * Indexes are UTF-16 code units, the unit of both `textarea.value` and Y.Text, so no
 * conversion is needed; we only take care never to split a surrogate pair.
 */

const isHigh = (code) => code >= 0xd800 && code <= 0xdbff
const isLow = (code) => code >= 0xdc00 && code <= 0xdfff

/**
 * The single contiguous change that turns `before` into `after`, or null when equal.
 * `caret` (the caret in `after`, e.g. `selectionEnd` after an input event) resolves the
 * ambiguity of repeated characters: typing "a" inside "aa" is an insert at the caret.
 *
 * @param {string} before
 * @param {string} after
 * @param {number} [caret]
 * @return {{index: number, remove: number, insert: string} | null}
 */
export function diffStrings (before, after, caret) {
  if (before === after) return null
  const shortest = Math.min(before.length, after.length)
  let suffixMax = shortest
  if (typeof caret === 'number' && caret >= 0 && caret <= after.length) {
    suffixMax = Math.min(suffixMax, after.length - caret)
  }
  let suffix = 0
  while (
    suffix < suffixMax &&
    before.charCodeAt(before.length - 1 - suffix) === after.charCodeAt(after.length - 1 - suffix)
  ) suffix++
  const prefixMax = shortest - suffix
  let prefix = 0
  while (prefix < prefixMax && before.charCodeAt(prefix) === after.charCodeAt(prefix)) prefix++
  // Never cut a surrogate pair in half.
  if (prefix > 0 && isHigh(before.charCodeAt(prefix - 1))) prefix--
  if (suffix > 0 && isLow(before.charCodeAt(before.length - suffix))) suffix--
  return {
    index: prefix,
    remove: before.length - prefix - suffix,
    insert: after.slice(prefix, after.length - suffix)
  }
}

/**
 * A Yjs delta (`[{retain}, {insert}, {delete}]`) as the equivalent edit list, for shifting.
 * @param {{index: number, remove: number, insert: string}} change
 * @return {Array<object>}
 */
export function changeToDelta (change) {
  const delta = []
  if (change.index > 0) delta.push({ retain: change.index })
  if (change.remove > 0) delta.push({ delete: change.remove })
  if (change.insert) delta.push({ insert: change.insert })
  return delta
}

/**
 * Where `index` (in the text before `delta`) ends up after `delta` is applied.
 * Text inserted exactly at `index` goes after it, so a caret stays in front of a remote
 * insert at the same spot and the local user keeps typing where they were.
 *
 * @param {Array<{retain?: number, insert?: string|object, delete?: number}>} delta
 * @param {number} index
 * @return {number}
 */
export function shiftIndex (delta, index) {
  let pos = 0
  let out = index
  for (const op of delta) {
    if (pos > index) break
    if (op.retain !== undefined) {
      pos += op.retain
    } else if (op.insert !== undefined) {
      const length = typeof op.insert === 'string' ? op.insert.length : 1
      if (pos < index) out += length
    } else if (op.delete !== undefined) {
      if (pos < index) out -= Math.min(op.delete, index - pos)
      pos += op.delete
    }
  }
  return Math.max(0, out)
}
