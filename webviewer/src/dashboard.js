/**
 * The approvals dashboard: `/webviewer/approvals?token=...`. Lists the records waiting for
 * approval (`GET /api/approvals?state=submitted`), kept live by the event stream (SSE,
 * `approval.changed`), with approve and reject in place.
 */

import { createApi, recordPath } from './api.js'
import { $, clear, h } from './dom.js'
import { readParams, tokenClaims } from './params.js'

const SUMMARY_FIELDS = ['InvoiceNo', 'Customer', 'Amount', 'DueDate']

/** One approval item, whatever shape the hub uses for the record reference. */
export function normalise (item) {
  let database = item.database
  let layout = item.layout
  let key = item.key
  const ref = item.record
  if (ref && typeof ref === 'object') {
    database = ref.database
    layout = ref.layout
    key = ref.key
  } else if (typeof ref === 'string' && ref.split('/').length === 3) {
    const parts = ref.split('/').map((part) => decodeURIComponent(part))
    database = database || parts[0]
    layout = layout || parts[1]
    key = key || parts[2]
  }
  return {
    database,
    layout,
    key,
    path: [database, layout, key].join('/'),
    submittedBy: item.submitted_by_name || item.submitted_by || item.actor || '',
    submittedAt: item.submitted_at || item.since || item.at || '',
    approvals: item.approvals || [],
    required: item.approvals_required || 1,
    values: item.values || {},
    actions: Array.isArray(item.actions) ? item.actions : null,
    raw: item
  }
}

function summaryOf (values) {
  return SUMMARY_FIELDS.filter((name) => values[name] !== undefined && values[name] !== null && values[name] !== '')
    .map((name) => name + ': ' + values[name]).join(' · ')
}

function itemsOf (data) {
  if (Array.isArray(data)) return data
  if (data && typeof data === 'object') return data.items || data.approvals || data.records || []
  return []
}

function main () {
  const params = readParams(window.location.search, window.location)
  const api = createApi(params.hub, params.token)
  const me = String(tokenClaims(params.token).sub || '')
  const body = $('#approvals')
  const empty = $('#empty')
  const live = $('#live')
  const error = $('#error')
  let timer = 0
  let loading = false
  let again = false

  const showError = (text) => {
    error.textContent = text || ''
    error.hidden = !text
  }

  async function decide (item, action, comment, row) {
    if (action === 'reject' && !comment.trim()) {
      showError('A rejection needs a comment.')
      return
    }
    row.classList.add('busy')
    for (const button of row.querySelectorAll('button')) button.disabled = true
    try {
      await api.post(recordPath(item) + '/approval/' + action, { comment })
      showError('')
      row.dataset.decided = action
    } catch (e) {
      showError(item.key + ': ' + e.message)
      row.classList.remove('busy')
      for (const button of row.querySelectorAll('button')) button.disabled = false
    }
    refresh()
  }

  /** The record's values (Customer, Amount...) from the record state API, for the summary column. */
  async function fillSummary (item, cell) {
    try {
      const state = await api.get(recordPath(item))
      cell.textContent = summaryOf((state && state.values) || {})
    } catch (_) { /* the summary is a nicety */ }
  }

  function render (items) {
    clear(body)
    empty.hidden = items.length > 0
    $('#count').textContent = String(items.length)
    for (const item of items) {
      const comment = h('input', { type: 'text', class: 'comment', placeholder: 'Comment', 'aria-label': 'Comment for ' + item.key })
      const link = window.location.pathname.replace(/approvals\/?$/, '') + '?record=' + [item.database, item.layout, item.key].map(encodeURIComponent).join('/') +
        '&token=' + encodeURIComponent(params.token)
      const summary = h('td', { class: 'summary', text: summaryOf(item.values) })
      const may = (action) => !item.actions || item.actions.indexOf(action) !== -1
      const row = h('tr', { dataset: { record: item.path } }, [
        h('td', {}, [h('a', { href: link, text: item.key }), h('div', { class: 'sub', text: item.database + ' · ' + item.layout })]),
        summary,
        h('td', { text: item.submittedBy }),
        h('td', { text: item.submittedAt ? new Date(item.submittedAt).toLocaleString() : '' }),
        h('td', { text: item.approvals.length + ' / ' + item.required }),
        h('td', {}, [h('div', { class: 'decide' }, [
          comment,
          may('approve') ? h('button', { type: 'button', class: 'action action-approve', dataset: { action: 'approve' }, onclick: () => decide(item, 'approve', comment.value, row) }, ['Approve']) : null,
          may('reject') ? h('button', { type: 'button', class: 'action action-reject', dataset: { action: 'reject' }, onclick: () => decide(item, 'reject', comment.value, row) }, ['Reject']) : null,
          may('approve') || may('reject') ? null : h('span', { class: 'sub', text: item.raw.submitted_by && item.raw.submitted_by === me ? 'your submission' : 'no action for you' })
        ])])
      ])
      body.appendChild(row)
      if (!summary.textContent) fillSummary(item, summary)
    }
  }

  async function load () {
    if (loading) {
      again = true
      return
    }
    loading = true
    try {
      const data = await api.get('/api/approvals?state=submitted')
      render(itemsOf(data).map(normalise))
      document.body.dataset.loaded = String(Number(document.body.dataset.loaded || '0') + 1)
    } catch (e) {
      showError('Cannot load approvals: ' + e.message)
    } finally {
      loading = false
      if (again) {
        again = false
        load()
      }
    }
  }

  function refresh () {
    clearTimeout(timer)
    timer = setTimeout(load, 50)
  }

  let retries = 0
  function listen () {
    const url = params.hub + '/api/events/stream?types=approval.changed&token=' + encodeURIComponent(params.token)
    const source = new EventSource(url)
    source.addEventListener('approval.changed', refresh)
    source.onmessage = refresh
    source.onopen = () => {
      retries = 0
      live.dataset.state = 'live'
      live.textContent = 'Live'
      refresh() // catch up on whatever changed while we were not listening
    }
    source.onerror = () => {
      live.dataset.state = 'reconnecting'
      live.textContent = 'Reconnecting…'
      if (source.readyState === 2) {
        // The browser gave up (an HTTP error such as a hub restart); try again ourselves.
        source.close()
        retries++
        const delay = Math.min(30000, 1000 * Math.pow(2, retries - 1))
        setTimeout(listen, delay / 2 + Math.random() * delay / 2)
      }
    }
    return source
  }

  load()
  listen()
}

main()
