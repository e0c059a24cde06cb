/**
 * The record form, built from the layout schema (`GET /api/layouts/{db}/{layout}/schema`).
 * Every input carries `data-field` with the FileMaker field name.
 */

import { clear, h } from './dom.js'
import { MapBinding } from './map-binding.js'
import { TextBinding } from './text-binding.js'

export const FIELDS_MAP = 'fields'

function inputFor (field, id) {
  const attrs = { id, name: field.name, dataset: { field: field.name, kind: field.kind }, spellcheck: 'false' }
  if (field.kind === 'text') return h('textarea', Object.assign({ rows: 6 }, attrs))
  if (field.type === 'number') return h('input', Object.assign({ type: 'text', inputmode: 'decimal' }, attrs))
  if (field.type === 'date') return h('input', Object.assign({ type: 'date' }, attrs))
  return h('input', Object.assign({ type: 'text' }, attrs))
}

export class RecordForm {
  /**
   * @param {HTMLElement} root
   * @param {object} schema
   * @param {(field: string, value: any) => void} onLocal
   * @param {(field: string|null) => void} onFocus
   */
  constructor (root, schema, onLocal, onFocus) {
    this.root = root
    this.schema = schema
    /** @type {Map<string, {field: object, el: HTMLElement, row: HTMLElement, error: HTMLElement, badges: HTMLElement, binding: any}>} */
    this.controls = new Map()
    this.writable = false
    this.doc = null
    clear(root)
    schema.fields.forEach((field, index) => {
      const id = 'field-' + index
      const el = inputFor(field, id)
      const badges = h('span', { class: 'field-presence', dataset: { presenceFor: field.name } })
      const error = h('div', { class: 'field-error', role: 'alert', dataset: { errorFor: field.name }, hidden: true })
      const label = h('label', { for: id }, [h('span', { class: 'field-name', text: field.name }), badges])
      const row = h('div', { class: 'field field-' + field.kind, dataset: { fieldRow: field.name } }, [label, el, error])
      if (!field.editable) row.classList.add('locked')
      const notify = (value) => onLocal(field.name, value)
      const binding = field.kind === 'text'
        ? new TextBinding(el, notify)
        : new MapBinding(el, field.name, field.type, notify)
      el.addEventListener('focus', () => onFocus(field.name))
      el.addEventListener('blur', () => onFocus(null))
      this.controls.set(field.name, { field, el, row, error, badges, binding })
      root.appendChild(row)
    })
    this._applyReadOnly()
  }

  /** Bind every input to `doc` (after it synced). */
  attach (doc) {
    this.doc = doc
    const ymap = doc.getMap(FIELDS_MAP)
    for (const control of this.controls.values()) {
      if (control.field.kind === 'text') control.binding.attach(doc.getText(control.field.name))
      else control.binding.attach(ymap)
    }
    this._applyReadOnly()
  }

  detach () {
    for (const control of this.controls.values()) control.binding.detach()
    this.doc = null
    this._applyReadOnly()
  }

  setWritable (writable) {
    this.writable = writable
    this._applyReadOnly()
  }

  _applyReadOnly () {
    for (const control of this.controls.values()) {
      const readOnly = !this.doc || !this.writable || !control.field.editable
      control.el.readOnly = readOnly
      control.row.classList.toggle('readonly', readOnly)
    }
    this.root.classList.toggle('readonly', !this.writable)
  }

  has (name) {
    return this.controls.has(name)
  }

  editable (name) {
    const control = this.controls.get(name)
    return !!(control && control.field.editable)
  }

  /** Programmatic change (window.collab.setField, re-applying edits after a reset). */
  setValue (name, value) {
    const control = this.controls.get(name)
    if (!control || !this.doc) return false
    return control.binding.setValue(value === undefined || value === null ? '' : String(value))
  }

  value (name) {
    const control = this.controls.get(name)
    return control ? control.binding.value() : undefined
  }

  values () {
    const out = {}
    for (const [name, control] of this.controls) out[name] = control.binding.value()
    return out
  }

  focus (name) {
    const control = this.controls.get(name)
    if (!control) return false
    control.el.focus()
    if (control.el.scrollIntoView) control.el.scrollIntoView({ block: 'nearest' })
    return true
  }

  showError (name, text) {
    const control = this.controls.get(name)
    if (!control) return
    control.error.textContent = text
    control.error.hidden = !text
    control.row.classList.toggle('has-error', !!text)
  }

  errors () {
    const out = {}
    for (const [name, control] of this.controls) if (!control.error.hidden) out[name] = control.error.textContent
    return out
  }
}
