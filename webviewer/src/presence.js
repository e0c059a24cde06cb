/** Who is in the record and which field each person is in (Yjs awareness). */

import { clear, h, initials } from './dom.js'

/**
 * @param {HTMLElement} list the people list
 * @param {import('./form.js').RecordForm} form for the per-field badges
 */
export function renderPresence (list, form, awareness) {
  const people = presenceOf(awareness)
  clear(list)
  for (const person of people) {
    const where = person.field ? ' in ' + person.field : ''
    list.appendChild(h('li', {
      class: 'person' + (person.self ? ' self' : ''),
      dataset: { user: person.id, client: String(person.client), inField: person.field || '' }
    }, [
      badge(person),
      h('span', { class: 'person-name', text: person.name + (person.self ? ' (you)' : '') }),
      h('span', { class: 'person-field', text: where })
    ]))
  }
  for (const control of form.controls.values()) {
    clear(control.badges)
    for (const person of people) {
      if (!person.self && person.field === control.field.name) control.badges.appendChild(badge(person))
    }
  }
  return people
}

function badge (person) {
  const el = h('span', { class: 'badge', title: person.name, dataset: { user: person.id }, text: initials(person.name) })
  el.style.backgroundColor = person.color
  return el
}

/**
 * The people in the record, ourselves first: one entry per user (a user with two tabs, or a
 * stale entry from before a reconnect, shows once, with the most recently updated state).
 */
export function presenceOf (awareness) {
  const byUser = new Map()
  awareness.getStates().forEach((state, client) => {
    if (!state || !state.user) return
    const meta = awareness.meta.get(client)
    const person = {
      client,
      id: String(state.user.id || ''),
      name: String(state.user.name || state.user.id || 'someone'),
      color: String(state.user.color || '#777'),
      field: state.field ? String(state.field) : null,
      self: client === awareness.clientID,
      updated: meta ? meta.lastUpdated : 0
    }
    const key = person.id || 'client:' + client
    const seen = byUser.get(key)
    if (!seen || person.self || (!seen.self && person.updated > seen.updated)) byUser.set(key, person)
  })
  const people = Array.from(byUser.values())
  people.sort((a, b) => (b.self - a.self) || a.name.localeCompare(b.name) || a.client - b.client)
  return people
}
