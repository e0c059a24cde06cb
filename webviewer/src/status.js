/** The status line: connection, stored, saved to FileMaker (modId), waiting for FileMaker. */

const CONNECTION_TEXT = {
  connecting: 'Connecting…',
  connected: 'Connected',
  synced: 'Connected',
  reconnecting: 'Reconnecting…',
  offline: 'Offline: edits are kept',
  resyncing: 'Resyncing…',
  refused: 'Not allowed'
}

const WAITING_TEXT = {
  record_in_use: 'Waiting for FileMaker: the record is open in FileMaker Pro',
  filemaker_unreachable: 'Waiting for FileMaker: it cannot be reached',
  validation: 'Waiting for FileMaker: a field was refused'
}

export class StatusLine {
  constructor (root) {
    this.connection = root.querySelector('#conn-status')
    this.store = root.querySelector('#store-status')
    this.save = root.querySelector('#save-status')
    this.waiting = root.querySelector('#wait-status')
    this.notice = root.querySelector('#notice')
    this.state = { connection: 'connecting', pending: 0, modId: '', savedAt: '', waiting: null, notice: '' }
  }

  setConnection (state) {
    this.state.connection = state
    this.connection.dataset.state = state
    this.connection.textContent = CONNECTION_TEXT[state] || state
  }

  setPending (count) {
    this.state.pending = count
    this.store.dataset.state = count ? 'pending' : 'stored'
    this.store.textContent = count ? 'Not stored yet (' + count + (count === 1 ? ' field)' : ' fields)') : 'All changes stored'
  }

  setSaved (modId, at) {
    this.state.modId = String(modId)
    this.state.savedAt = at || new Date().toISOString()
    this.save.hidden = false
    this.save.dataset.modId = String(modId)
    this.save.textContent = 'Saved to FileMaker (modId ' + modId + ')'
    this.setWaiting(null)
  }

  setWaiting (message) {
    this.state.waiting = message ? { reason: message.reason, detail: message.detail || '', retry_in_ms: message.retry_in_ms || 0 } : null
    this.waiting.hidden = !message
    if (message) {
      this.waiting.dataset.reason = message.reason
      let text = WAITING_TEXT[message.reason] || 'Waiting for FileMaker (' + message.reason + ')'
      if (message.retry_in_ms) text += ', retrying in ' + Math.ceil(message.retry_in_ms / 1000) + ' s'
      this.waiting.textContent = text
    }
  }

  setNotice (text) {
    this.state.notice = text || ''
    this.notice.hidden = !text
    this.notice.textContent = text || ''
  }
}
