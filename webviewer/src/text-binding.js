/**
 * A textarea bound to a Y.Text, character by character.
 *
 * Local input: the minimal diff between what the textarea showed and its new value becomes
 * one delete + insert on the Y.Text. Remote changes: the textarea gets the new text and the
 * caret and selection are shifted through the change's delta, so whoever is typing keeps
 * their place. Invariant: `shown` always equals the Y.Text's content while attached.
 */

import { changeToDelta, diffStrings, shiftIndex } from './diff.js'

export class TextBinding {
  /**
   * @param {HTMLTextAreaElement|HTMLInputElement} el
   * @param {(value: string) => void} onLocal called after each local change
   */
  constructor (el, onLocal) {
    this.el = el
    this.onLocal = onLocal
    this.ytext = null
    this.shown = el.value
    this._observer = (event, transaction) => {
      if (transaction.origin !== this) this._render(this.ytext.toString(), event.delta)
    }
    el.addEventListener('input', () => this._input())
  }

  /** @param {import('yjs').Text} ytext */
  attach (ytext) {
    this.detach()
    this.ytext = ytext
    ytext.observe(this._observer)
    this._render(ytext.toString(), null)
  }

  detach () {
    if (this.ytext) this.ytext.unobserve(this._observer)
    this.ytext = null
  }

  value () {
    return this.ytext ? this.ytext.toString() : this.el.value
  }

  /** Set the whole value programmatically (window.collab.setField, reset re-apply). */
  setValue (value) {
    if (!this.ytext) return false
    const change = diffStrings(this.ytext.toString(), value)
    if (!change) return false
    this._apply(change)
    this._render(this.ytext.toString(), changeToDelta(change))
    this.onLocal(value)
    return true
  }

  _input () {
    if (!this.ytext) return
    const value = this.el.value
    const change = diffStrings(this.shown, value, this.el.selectionEnd)
    this.shown = value
    if (!change) return
    this._apply(change)
    this.onLocal(value)
  }

  _apply (change) {
    const ytext = this.ytext
    ytext.doc.transact(() => {
      if (change.remove > 0) ytext.delete(change.index, change.remove)
      if (change.insert) ytext.insert(change.index, change.insert)
    }, this)
  }

  _render (value, delta) {
    const el = this.el
    this.shown = value
    if (el.value === value) return
    const focused = el.ownerDocument.activeElement === el
    if (!focused) {
      el.value = value
      return
    }
    let start = el.selectionStart
    let end = el.selectionEnd
    const direction = el.selectionDirection || 'none'
    if (delta) {
      start = shiftIndex(delta, start)
      end = shiftIndex(delta, end)
    }
    el.value = value
    start = Math.min(start, value.length)
    end = Math.min(Math.max(end, start), value.length)
    el.setSelectionRange(start, end, direction)
  }
}
