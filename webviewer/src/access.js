/**
 * The lock and approval banner: the record's state as the hub sends it (`access` control
 * messages; lock and approval state are not in the CRDT) and the actions the user may take.
 */

import { clear, h } from './dom.js'

const LABELS = {
  submit: 'Submit for approval',
  withdraw: 'Withdraw',
  approve: 'Approve',
  reject: 'Reject',
  reopen: 'Reopen',
  lease: 'Take edit lease',
  renew: 'Renew lease',
  release: 'Release lease'
}

/**
 * The actions to offer: exactly the hub's list (it asks the state machine what this user may
 * do now). The hub omits an empty list, so a missing list means no actions.
 */
export function actionsFor (access) {
  const actions = Array.isArray(access.actions) ? access.actions : []
  return actions.filter((name) => LABELS[name])
}

/** An `access` control message with the defaults the hub omits filled in. */
export function normaliseAccess (message) {
  return {
    state: message.state || 'open',
    epoch: message.epoch || 0,
    can_write: message.can_write !== false,
    reason: message.reason || '',
    lease_holder: message.lease_holder || '',
    lease_holder_name: message.lease_holder_name || '',
    lease_expires_at: message.lease_expires_at || '',
    submitted_by: message.submitted_by || '',
    approvals: Array.isArray(message.approvals) ? message.approvals : [],
    approvals_required: message.approvals_required || 1,
    actions: Array.isArray(message.actions) ? message.actions : []
  }
}

export function describe (access, user) {
  const state = access.state || 'open'
  const parts = []
  if (state === 'open') parts.push('Open for editing')
  if (state === 'submitted') {
    parts.push('Submitted for approval' + (access.submitted_by ? ' by ' + (access.submitted_by === user.id ? 'you' : access.submitted_by) : ''))
    const required = access.approvals_required || 1
    if (required > 1 || (access.approvals || []).length) parts.push((access.approvals || []).length + ' of ' + required + ' approvals')
  }
  if (state === 'approved') parts.push('Approved' + ((access.approvals || []).length ? ' by ' + access.approvals.join(', ') : ''))
  if (state === 'rejected') parts.push('Rejected, open for changes')
  if (access.lease_holder) {
    const who = access.lease_holder === user.id ? 'you' : (access.lease_holder_name || access.lease_holder)
    parts.push('Edit lease held by ' + who + (access.lease_expires_at ? ' until ' + timeOf(access.lease_expires_at) : ''))
  }
  if (access.can_write === false) {
    const why = access.reason && access.reason !== state && access.reason !== 'leased' ? ' (' + access.reason + ')' : ''
    parts.push('read-only' + why)
  }
  return parts.join(' · ')
}

function timeOf (iso) {
  const date = new Date(iso)
  return isNaN(date.getTime()) ? iso : date.toLocaleTimeString()
}

export class AccessPanel {
  /**
   * @param {HTMLElement} root the banner (#access)
   * @param {(action: string, comment: string) => Promise<any>} perform
   * @param {() => object} getUser
   */
  constructor (root, perform, getUser) {
    this.root = root
    this.perform = perform
    this.getUser = getUser
    this.text = root.querySelector('#access-text')
    this.buttons = root.querySelector('#access-actions')
    this.comment = root.querySelector('#action-comment')
    this.error = root.querySelector('#access-error')
    this.access = { state: 'open', can_write: false, actions: [] }
    this.busy = false
  }

  render (access) {
    if (access) this.access = access
    const user = this.getUser()
    const current = this.access
    this.root.dataset.state = current.state || 'open'
    this.root.dataset.canWrite = String(current.can_write !== false)
    this.root.dataset.lease = current.lease_holder ? (current.lease_holder === user.id ? 'mine' : 'other') : 'none'
    this.text.textContent = describe(current, user)
    clear(this.buttons)
    const actions = actionsFor(current)
    for (const action of actions) {
      this.buttons.appendChild(h('button', {
        type: 'button',
        class: 'action action-' + action,
        dataset: { action },
        disabled: this.busy,
        onclick: () => this.run(action, this.comment.value)
      }, [LABELS[action]]))
    }
    this.comment.hidden = !actions.some((a) => a !== 'lease' && a !== 'release' && a !== 'renew')
  }

  /** Run an action (button or window.collab); resolves to the hub's answer, rejects on refusal. */
  async run (action, comment) {
    this.error.hidden = true
    if (action === 'reject' && !String(comment || '').trim()) {
      this.showError('A rejection needs a comment.')
      this.comment.focus()
      throw new Error('a rejection needs a comment')
    }
    this.busy = true
    this.render()
    try {
      const result = await this.perform(action, String(comment || ''))
      this.comment.value = ''
      return result
    } catch (error) {
      this.showError(error.message || String(error))
      throw error
    } finally {
      this.busy = false
      this.render()
    }
  }

  showError (text) {
    this.error.textContent = text
    this.error.hidden = false
  }
}
