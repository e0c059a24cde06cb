/**
 * The user's own edits the hub has not confirmed yet, one entry per field (latest value).
 *
 * An entry is confirmed by a `stored` control message whose `seq` covers the sync message
 * that carried it (seq counts this socket's update messages; a new socket starts at 0), or
 * by a `saved` message whose state vector contains our clock at the time of the edit.
 * On a reset the unconfirmed values are re-applied to the fresh document as field changes.
 */

import * as Y from 'yjs'

export class PendingEdits {
  constructor () {
    /** @type {Map<string, {value: any, clock: number, client: number, seq: number}>} */
    this.entries = new Map()
    this.sent = 0
  }

  get size () {
    return this.entries.size
  }

  /** A new socket: nothing it sent yet; unconfirmed entries travel again in its sync step 2. */
  socketOpened () {
    this.sent = 0
    for (const entry of this.entries.values()) entry.seq = -1
  }

  /** An update-carrying sync message left through the current socket. */
  messageSent () {
    this.sent++
    for (const entry of this.entries.values()) {
      if (entry.seq === -1) entry.seq = this.sent
    }
  }

  /**
   * Called right after the local transaction; if the socket was open the provider has
   * already sent the update, so it is covered by the current count.
   * @param {string} field
   * @param {any} value
   * @param {import('yjs').Doc} doc
   * @param {boolean} sentNow
   */
  note (field, value, doc, sentNow) {
    this.entries.set(field, {
      value,
      client: doc.clientID,
      clock: Y.getState(doc.store, doc.clientID),
      seq: sentNow ? this.sent : -1
    })
  }

  /** @return {string[]} fields confirmed by this ack */
  stored (seq) {
    const done = []
    for (const [field, entry] of this.entries) {
      if (entry.seq !== -1 && entry.seq <= seq) done.push(field)
    }
    done.forEach((field) => this.entries.delete(field))
    return done
  }

  /** @param {string} stateVector base64 of Y.encodeStateVector */
  saved (stateVector) {
    if (!stateVector) return []
    let vector
    try {
      vector = Y.decodeStateVector(fromBase64(stateVector))
    } catch (_) {
      return []
    }
    const done = []
    for (const [field, entry] of this.entries) {
      if ((vector.get(entry.client) || 0) >= entry.clock) done.push(field)
    }
    done.forEach((field) => this.entries.delete(field))
    return done
  }

  /** @return {Array<[string, any]>} */
  values () {
    return Array.from(this.entries, ([field, entry]) => [field, entry.value])
  }

  clear () {
    this.entries.clear()
  }
}

export function fromBase64 (text) {
  let normal = text.replace(/-/g, '+').replace(/_/g, '/')
  while (normal.length % 4) normal += '='
  const binary = atob(normal)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}
