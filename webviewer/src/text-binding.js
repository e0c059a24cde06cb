/**
 * A textarea bound to a Y.Text, character by character.
 *
 * Local input: the minimal diff between what the textarea showed and its new value becomes
 * one delete + insert on the Y.Text. Remote changes: the textarea gets the new text and the
 * caret and selection are shifted through the change's delta, so whoever is typing keeps
 * their place. Invariant outside IME composition: `shown` equals the Y.Text's content.
 *
 * IME composition (Japanese, Chinese, and macOS dead keys such as option-e e): rewriting the
 * textarea mid-composition would break it, so remote changes are not rendered until it ends;
 * the composed text is then applied where the composition started (a Yjs relative position,
 * which follows remote edits) and the textarea catches up.
 */

import * as Y from 'yjs'
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
    this.composition = null
    this._observer = (event, transaction) => {
      if (transaction.origin === this) return
      if (this.composition) this.composition.remote = true
      else this._render(this.ytext.toString(), event.delta)
    }
    el.addEventListener('input', (event) => {
      if (!this.composition && !event.isComposing) this._input()
    })
    el.addEventListener('compositionstart', () => this._compositionStart())
    el.addEventListener('compositionend', () => this._compositionEnd())
  }

  /** @param {import('yjs').Text} ytext */
  attach (ytext) {
    this.detach()
    this.ytext = ytext
    this.composition = null
    ytext.observe(this._observer)
    this._render(ytext.toString(), null)
  }

  detach () {
    if (this.ytext) this.ytext.unobserve(this._observer)
    this.ytext = null
    this.composition = null
  }

  value () {
    return this.ytext ? this.ytext.toString() : this.el.value
  }

  /** Set the whole value programmatically (window.collab.setField, reset re-apply). */
  setValue (value) {
    if (!this.ytext) return false
    this._flushComposition()
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

  _compositionStart () {
    if (!this.ytext) return
    const at = Math.min(this.el.selectionStart, this.el.selectionEnd)
    this.composition = {
      base: this.shown,
      at,
      anchor: Y.createRelativePositionFromTypeIndex(this.ytext, at),
      remote: false
    }
  }

  _compositionEnd () {
    if (!this.ytext || !this.composition) return
    const { base, at, anchor, remote } = this.composition
    this.composition = null
    const value = this.el.value
    const change = diffStrings(base, value, this.el.selectionEnd)
    if (!remote) {
      // Nothing arrived meanwhile: an ordinary edit.
      this.shown = value
      if (change) {
        this._apply(change)
        this.onLocal(value)
      }
      return
    }
    if (change) {
      // Re-anchor the composed change where the composition began, as the text is now.
      const now = Y.createAbsolutePositionFromRelativePosition(anchor, this.ytext.doc)
      const shift = (now ? now.index : at) - at
      const length = this.ytext.length
      const index = Math.max(0, Math.min(length, change.index + shift))
      this._apply({ index, remove: Math.min(change.remove, length - index), insert: change.insert })
      this.onLocal(this.ytext.toString())
      const caret = index + change.insert.length
      this._render(this.ytext.toString(), null)
      if (this.el.ownerDocument.activeElement === this.el) this.el.setSelectionRange(caret, caret)
    } else {
      this._render(this.ytext.toString(), null)
    }
  }

  /** End a composition the browser did not finish (a programmatic change needs the textarea). */
  _flushComposition () {
    if (this.composition) this._compositionEnd()
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
