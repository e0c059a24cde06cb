/**
 * An input bound to one entry of the document's `fields` Y.Map (last writer wins).
 * Numbers are stored as numbers when the text is a plain number; everything else as text
 * (FileMaker validates and reports a field error if it disagrees).
 */

const NUMBER = /^-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i

export function parseValue (type, text) {
  if (type === 'number') {
    const trimmed = text.trim()
    if (trimmed === '') return ''
    if (NUMBER.test(trimmed)) {
      const number = Number(trimmed)
      if (Number.isFinite(number)) return number
    }
  }
  return text
}

export function formatValue (value) {
  if (value === undefined || value === null) return ''
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}

export class MapBinding {
  /**
   * @param {HTMLInputElement} el
   * @param {string} name FileMaker field name (the map key)
   * @param {string} type FileMaker result type (text, number, date, time, timestamp)
   * @param {(value: any) => void} onLocal
   */
  constructor (el, name, type, onLocal) {
    this.el = el
    this.name = name
    this.type = type
    this.onLocal = onLocal
    this.ymap = null
    this._observer = (event, transaction) => {
      if (transaction.origin !== this && event.keysChanged.has(this.name)) this._render()
    }
    el.addEventListener('input', () => this._input())
  }

  /** @param {import('yjs').Map<any>} ymap */
  attach (ymap) {
    this.detach()
    this.ymap = ymap
    ymap.observe(this._observer)
    this._render()
  }

  detach () {
    if (this.ymap) this.ymap.unobserve(this._observer)
    this.ymap = null
  }

  value () {
    return this.ymap ? this.ymap.get(this.name) : parseValue(this.type, this.el.value)
  }

  setValue (text) {
    if (!this.ymap) return false
    const value = parseValue(this.type, String(text))
    if (this.ymap.get(this.name) === value) return false
    this._write(value)
    this._render()
    return true
  }

  _input () {
    if (!this.ymap) return
    this._write(parseValue(this.type, this.el.value))
  }

  _write (value) {
    const ymap = this.ymap
    ymap.doc.transact(() => ymap.set(this.name, value), this)
    this.onLocal(value)
  }

  _render () {
    const text = formatValue(this.ymap.get(this.name))
    const el = this.el
    if (el.value === text) return
    const focused = el.ownerDocument.activeElement === el
    let start = null
    let end = null
    try {
      start = el.selectionStart
      end = el.selectionEnd
    } catch (_) { /* date inputs have no selection */ }
    el.value = text
    if (focused && start !== null) {
      try {
        el.setSelectionRange(Math.min(start, text.length), Math.min(end, text.length))
      } catch (_) { /* not a text input */ }
    }
  }
}
