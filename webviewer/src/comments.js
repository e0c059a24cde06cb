/** The record's comment thread: the document's top-level `comments` Y.Array. */

import { clear, h, randomId } from './dom.js'

export const COMMENTS = 'comments'

export class CommentThread {
  constructor (list, form, input, getUser) {
    this.list = list
    this.form = form
    this.input = input
    this.getUser = getUser
    this.yarray = null
    this._observer = () => this.render()
    form.addEventListener('submit', (event) => {
      event.preventDefault()
      this.add(input.value)
    })
  }

  attach (doc) {
    this.detach()
    this.yarray = doc.getArray(COMMENTS)
    this.yarray.observe(this._observer)
    this.render()
  }

  detach () {
    if (this.yarray) this.yarray.unobserve(this._observer)
    this.yarray = null
  }

  setWritable (writable) {
    this.input.disabled = !writable
    for (const button of this.form.querySelectorAll('button')) button.disabled = !writable
  }

  add (text) {
    const body = String(text || '').trim()
    if (!body || !this.yarray || this.input.disabled) return false
    const user = this.getUser()
    this.yarray.push([{ id: randomId(), user: user.id, name: user.name, text: body, at: new Date().toISOString() }])
    this.input.value = ''
    return true
  }

  items () {
    return this.yarray ? this.yarray.toArray().filter((item) => item && typeof item === 'object') : []
  }

  render () {
    clear(this.list)
    for (const item of this.items()) {
      const when = item.at ? new Date(item.at) : null
      this.list.appendChild(h('li', { class: 'comment', dataset: { id: String(item.id || '') } }, [
        h('div', { class: 'comment-head' }, [
          h('strong', { text: String(item.name || item.user || 'someone') }),
          when && !isNaN(when.getTime()) ? h('time', { datetime: item.at, text: when.toLocaleString() }) : null
        ]),
        h('div', { class: 'comment-text', text: String(item.text || '') })
      ]))
    }
    this.list.scrollTop = this.list.scrollHeight
  }
}
