/**
 * The co-editing page: `/webviewer/?record={database}/{layout}/{key}&token=...`
 * (optional `fmscript=` names the FileMaker script that receives events, `hub=` the hub's
 * URL when the page is not served by it).
 */

import { AccessPanel, normaliseAccess } from './access.js'
import { createApi, recordPath } from './api.js'
import { createBridge } from './bridge.js'
import { CommentThread } from './comments.js'
import { $, colorFor } from './dom.js'
import { RecordForm } from './form.js'
import { installExternal } from './external.js'
import { readParams, tokenClaims, wsBase } from './params.js'
import { PendingEdits } from './pending.js'
import { presenceOf, renderPresence } from './presence.js'
import { Session } from './session.js'
import { StatusLine } from './status.js'

const READ_ONLY_REASONS = ['submitted', 'approved', 'leased', 'role', 'read_only', 'locked', 'forbidden']

function fatal (text) {
  const el = $('#fatal')
  el.textContent = text
  el.hidden = false
  document.body.classList.add('failed')
}

async function main () {
  const params = readParams(window.location.search, window.location)
  const status = new StatusLine(document)
  if (params.error) return fatal(params.error)
  const record = params.record
  let token = params.token
  const api = createApi(params.hub, () => token)
  const claims = tokenClaims(params.token)
  const user = {
    id: String(claims.sub || 'anonymous'),
    name: String(claims.name || claims.sub || 'Guest'),
    roles: Array.isArray(claims.roles) ? claims.roles : []
  }
  $('#record-title').textContent = record.key
  $('#record-sub').textContent = record.database + ' · ' + record.layout
  document.title = record.key + ' · collab'

  const bridge = createBridge(params.fmscript)
  let schema
  try {
    schema = await api.get('/api/layouts/' + encodeURIComponent(record.database) + '/' + encodeURIComponent(record.layout) + '/schema')
  } catch (error) {
    // Tell FileMaker too: a 401 here usually means the token in the URL has expired.
    bridge.send({ event: 'closed', record: record.path, database: record.database, layout: record.layout, key: record.key, at: new Date().toISOString(), code: error.status || 0, reason: error.code || 'unavailable', detail: error.message })
    return fatal('Cannot load the layout ' + record.database + '/' + record.layout + ': ' + error.message)
  }

  const pending = new PendingEdits()
  const state = { access: null, canWrite: false, dropPending: false, carry: [], modId: '', lastSaved: null }
  let session = null

  const form = new RecordForm($('#fields'), schema, (field, value) => {
    pending.note(field, value, session.doc, session.connected)
    status.setPending(pending.size)
    form.showError(field, '')
  }, (field) => session.setLocal('field', field))
  const comments = new CommentThread($('#comments'), $('#comment-form'), $('#comment-text'), () => user)
  const path = recordPath(record)
  const access = new AccessPanel($('#access'), (action, comment) => {
    if (action === 'lease' || action === 'renew') return api.post(path + '/lease', {})
    if (action === 'release') return api.del(path + '/lease')
    return api.post(path + '/approval/' + action, { comment })
  }, () => user)

  const event = (name, details) => Object.assign({
    event: name,
    record: record.path,
    database: record.database,
    layout: record.layout,
    key: record.key,
    at: new Date().toISOString()
  }, details)

  // Writable under the last access state the hub sent, also while offline (edits are kept);
  // not before the first sync nor while rebuilding after a reset (the form is detached then).
  function applyWritable () {
    const writable = state.canWrite && !!form.doc
    form.setWritable(writable)
    comments.setWritable(writable)
  }

  function onAccess (raw) {
    const message = normaliseAccess(raw)
    const previous = state.access
    state.access = message
    state.canWrite = message.can_write !== false
    access.render(message)
    applyWritable()
    if (!previous) return
    if (previous.state !== message.state) {
      bridge.send(event('approval', {
        state: message.state,
        previous: previous.state,
        submittedBy: message.submitted_by || '',
        approvals: message.approvals || [],
        epoch: message.epoch || 0
      }))
    }
    if (previous.lease_holder !== message.lease_holder || previous.can_write !== message.can_write) {
      bridge.send(event('lock', {
        canWrite: message.can_write !== false,
        reason: message.reason || '',
        leaseHolder: message.lease_holder || '',
        leaseHolderName: message.lease_holder_name || '',
        leaseExpiresAt: message.lease_expires_at || '',
        epoch: message.epoch || 0
      }))
    }
  }

  function onControl (message) {
    switch (message.type) {
      case 'hello':
        user.id = String(message.user || user.id)
        user.name = String(message.name || user.name)
        if (Array.isArray(message.roles) && message.roles.length) user.roles = message.roles
        session.setLocal('user', { id: user.id, name: user.name, color: colorFor(user.id) })
        if (!state.access) state.canWrite = message.can_write !== false
        access.render()
        applyWritable()
        break
      case 'stored':
        pending.stored(Number(message.seq) || 0)
        status.setPending(pending.size)
        break
      case 'saved': {
        pending.saved(message.state_vector || '')
        status.setPending(pending.size)
        status.setSaved(message.mod_id, message.at)
        state.modId = String(message.mod_id)
        for (const field of message.fields || []) form.showError(field, '')
        bridge.send(event('saved', { modId: String(message.mod_id), fields: message.fields || [] }))
        break
      }
      case 'waiting':
        status.setWaiting(message)
        bridge.send(event('waiting', { reason: message.reason, detail: message.detail || '' }))
        break
      case 'field_error':
        form.showError(message.field, message.message || message.code)
        bridge.send(event('fieldError', { field: message.field, code: String(message.code), message: message.message || '' }))
        break
      case 'access':
        onAccess(message)
        break
      case 'rejected':
        state.dropPending = true
        status.setNotice('Your change was not applied: ' + (message.detail || message.reason))
        break
      case 'reset':
        if (READ_ONLY_REASONS.indexOf(message.reason) !== -1) state.dropPending = true
        break
      default:
        break // unknown types are ignored (schema evolution)
    }
  }

  session = new Session({
    wsBase: wsBase(params.hub),
    room: record.room,
    token: params.token,
    hooks: {
      control: onControl,
      status: (connection) => {
        status.setConnection(connection)
        applyWritable()
      },
      synced: (doc, rebuilt) => {
        form.attach(doc)
        comments.attach(doc)
        if (rebuilt) {
          // Nothing typed is lost: what the hub had not confirmed goes into the fresh document.
          const carry = state.carry
          state.carry = []
          pending.clear()
          for (const [field, value] of carry) {
            if (form.editable(field)) form.setValue(field, value)
          }
          status.setPending(pending.size)
        }
        applyWritable()
      },
      resetting: (reason) => {
        state.carry = state.dropPending || !state.canWrite ? [] : pending.values()
        if (state.dropPending || !state.canWrite) pending.clear()
        state.dropPending = false
        form.detach()
        comments.detach()
        status.setPending(pending.size)
        status.setConnection('resyncing')
        if (reason) document.body.dataset.lastReset = reason
      },
      sent: () => pending.messageSent(),
      socketOpened: () => pending.socketOpened(),
      fatal: (code, reason, detail) => {
        status.setNotice('The hub refused the connection (' + code + ' ' + reason + ')' + (detail ? ': ' + detail : '') +
          (code === 4401 ? '. The token may have expired.' : ''))
        // FileMaker can mint a new token and hand it over with collab.setToken.
        bridge.send(event('closed', { code, reason, detail: detail || '' }))
      },
      awareness: (awareness) => {
        const list = $('#presence')
        const render = () => renderPresence(list, form, awareness)
        awareness.on('change', render)
        render()
      }
    }
  })
  session.setLocal('user', { id: user.id, name: user.name, color: colorFor(user.id) })
  session.setLocal('field', null)
  status.setPending(0)
  session.start()

  installExternal(window, {
    form,
    access,
    comments,
    bridge,
    setNotice: (text) => status.setNotice(text),
    setToken: (next) => {
      token = next
      session.setToken(next)
      status.setNotice('')
    },
    writable: () => state.canWrite && !!form.doc,
    state: () => ({
      record: record.path,
      database: record.database,
      layout: record.layout,
      key: record.key,
      user: { id: user.id, name: user.name, roles: user.roles },
      connection: session.state,
      connected: session.connected,
      synced: session.synced,
      canWrite: state.canWrite,
      access: state.access,
      values: form.doc ? form.values() : {},
      pending: pending.values().map(([field]) => field),
      modId: state.modId,
      waiting: status.state.waiting,
      fieldErrors: form.errors(),
      presence: session.awareness ? presenceOf(session.awareness).map((p) => ({ id: p.id, name: p.name, field: p.field, self: p.self })) : [],
      comments: comments.items().length,
      rebuilds: session.rebuilds,
      filemaker: bridge.available
    }),
    event
  })
}

main().catch((error) => fatal('The page failed to start: ' + (error && error.message ? error.message : error)))
