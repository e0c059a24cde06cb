/**
 * The connection to the hub for one record: a Y.Doc, the y-websocket provider, collab's
 * control messages (message type 100), reconnects with backoff and jitter, offline
 * handling, and rebuilding from scratch when the hub says `reset`.
 */

import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import * as decoding from 'lib0/decoding'

export const MESSAGE_CONTROL = 100
const SYNC = 0
const SYNC_STEP2 = 1
const SYNC_UPDATE = 2
/** Close codes after which the same connection must not be retried. */
const CLOSE_RESET = 4205
const CLOSE_READ_ONLY = 4423
const FATAL_CLOSES = { 4401: 'unauthorized', 4403: 'forbidden', 4404: 'not_found' }

const textDecoder = new TextDecoder()

export class Session {
  /**
   * @param {object} opts
   * @param {string} opts.wsBase e.g. wss://hub.example.com
   * @param {string} opts.room percent-encoded database/layout/key
   * @param {string} opts.token
   * @param {object} opts.hooks {control(msg), status(state), synced(doc, rebuilt), resetting(reason),
   *   sent(), socketOpened(), fatal(code, reason), awareness(awareness)}
   */
  constructor ({ wsBase, room, token, hooks, backoff }) {
    this.wsBase = wsBase
    this.room = room
    this.token = token
    this.hooks = hooks
    this.backoff = Object.assign({ initialMs: 250, maxMs: 10000 }, backoff || {})
    this.doc = null
    this.provider = null
    this.awareness = null
    this.localState = {}
    this.attempts = 0
    this.retryTimer = 0
    this.offline = typeof navigator !== 'undefined' && navigator.onLine === false
    this.rebuilds = 0
    this.state = 'connecting'
    this._socketClass = this._makeSocketClass()
    window.addEventListener('offline', () => this.goOffline())
    window.addEventListener('online', () => this.goOnline())
  }

  start () {
    this._open(false, null)
  }

  get connected () {
    return !!(this.provider && this.provider.wsconnected)
  }

  get synced () {
    return !!(this.provider && this.provider.synced)
  }

  /** A new token (the old one expired): used from the next connection on; reconnects if refused. */
  setToken (token) {
    this.token = token
    if (this.provider) this.provider.params = Object.assign({}, this.provider.params, { token })
    if (this.state === 'refused') {
      this.attempts = 0
      this._reconnect()
    }
  }

  /** Set a field of our awareness state (kept across rebuilds). */
  setLocal (key, value) {
    this.localState[key] = value
    if (this.awareness) this.awareness.setLocalStateField(key, value)
  }

  goOffline () {
    this.offline = true
    clearTimeout(this.retryTimer)
    if (this.provider) this.provider.disconnect()
    this._status('offline')
  }

  goOnline () {
    if (!this.offline) return
    this.offline = false
    this.attempts = 0
    this._reconnect()
  }

  /** Drop the local document and sync again from the hub (control `reset`, close 4205/4423). */
  rebuild (reason) {
    clearTimeout(this.retryTimer)
    this.hooks.resetting(reason)
    const provider = this.provider
    const doc = this.doc
    const awareness = this.awareness
    this.provider = null
    this.doc = null
    this.awareness = null
    if (provider) provider.destroy()
    if (awareness) awareness.destroy()
    if (doc) doc.destroy()
    this.rebuilds++
    this._open(true, null)
  }

  /**
   * A provider (and awareness) for `doc`, or for a fresh document when `doc` is null.
   * @param {boolean} rebuilt the fresh document replaces one dropped on a reset
   * @param {import('yjs').Doc|null} doc
   */
  _open (rebuilt, doc) {
    const fresh = !doc
    if (!doc) doc = new Y.Doc()
    const provider = new WebsocketProvider(this.wsBase + '/sync', this.room, doc, {
      connect: false,
      params: { token: this.token, control: '1' },
      disableBc: true,
      maxBackoffTime: this.backoff.maxMs,
      // A periodic sync step 1: should an update ever go missing, the hub's answer repairs it.
      resyncInterval: 20000,
      WebSocketPolyfill: this._socketClass,
      // Reconnects are scheduled by us (with jitter); see _closed.
      shouldReconnect: () => true
    })
    provider.messageHandlers[MESSAGE_CONTROL] = (_encoder, decoder) => {
      const bytes = decoding.readVarUint8Array(decoder)
      let message = null
      try {
        message = JSON.parse(textDecoder.decode(bytes))
      } catch (_) {
        return
      }
      if (message && typeof message === 'object' && provider === this.provider) this._control(message)
    }
    provider.on('status', ({ status }) => {
      if (provider !== this.provider) return
      if (status === 'connected') this._status('connected')
      else if (status === 'connecting') this._status(this.offline ? 'offline' : 'connecting')
    })
    let syncedOnce = !fresh
    provider.on('sync', (synced) => {
      if (provider !== this.provider || !synced) return
      this.attempts = 0
      if (!syncedOnce) {
        syncedOnce = true
        this.hooks.synced(doc, rebuilt)
      }
      this._status('synced')
    })
    provider.on('connection-close', (event) => this._closed(provider, event))
    this.doc = doc
    this.provider = provider
    this.awareness = provider.awareness
    for (const key of Object.keys(this.localState)) {
      provider.awareness.setLocalStateField(key, this.localState[key])
    }
    this.hooks.awareness(provider.awareness, doc)
    this._connect()
  }

  /**
   * Reconnect with a new provider on the same document and a new client id. After a network
   * drop the hub may still hold our old socket (it has not seen it close) and with it our old
   * awareness id; a new id is announced at once instead of being ignored until that socket
   * times out. The document keeps everything, including edits made offline.
   */
  _reconnect () {
    clearTimeout(this.retryTimer)
    const provider = this.provider
    const doc = this.doc
    if (!provider || !doc || this.offline) return
    this.provider = null
    provider.destroy()
    provider.awareness.destroy()
    doc.clientID = newClientId()
    this._open(false, doc)
  }

  _connect () {
    if (!this.provider || this.offline) {
      if (this.offline) this._status('offline')
      return
    }
    this.provider.connect()
  }

  _control (message) {
    if (message.type === 'reset') {
      // Let the hook see it first (it decides whether pending edits survive), then rebuild
      // outside the provider's message handler.
      this.hooks.control(message)
      setTimeout(() => this.rebuild(message.reason || 'reset'), 0)
      return
    }
    this.hooks.control(message)
  }

  _closed (provider, event) {
    if (provider !== this.provider || !provider.shouldConnect) return
    // Take reconnecting over from y-websocket: its timer finds shouldConnect false.
    provider.shouldConnect = false
    const code = event ? event.code : 0
    if (code === CLOSE_RESET || code === CLOSE_READ_ONLY) {
      setTimeout(() => this.rebuild(code === CLOSE_RESET ? 'reset' : 'read_only'), 0)
      return
    }
    if (FATAL_CLOSES[code]) {
      this._status('refused')
      this.hooks.fatal(code, FATAL_CLOSES[code], event.reason || '')
      return
    }
    if (this.offline) {
      this._status('offline')
      return
    }
    this._status('reconnecting')
    this.attempts++
    const base = Math.min(this.backoff.maxMs, this.backoff.initialMs * Math.pow(2, this.attempts - 1))
    // Equal jitter: half fixed, half random, so a restarted hub is not hit by everyone at once.
    const delay = base / 2 + Math.random() * (base / 2)
    clearTimeout(this.retryTimer)
    this.retryTimer = setTimeout(() => {
      if (provider === this.provider) this._reconnect()
    }, delay)
  }

  _status (state) {
    this.state = state
    this.hooks.status(state)
  }

  _makeSocketClass () {
    const session = this
    const Base = window.WebSocket
    // Counts the update-carrying sync messages each socket sends, to match `stored.seq`.
    class CountingSocket extends Base {
      constructor (url, protocols) {
        super(url, protocols)
        session.hooks.socketOpened()
      }

      send (data) {
        if (isUpdateMessage(data)) session.hooks.sent()
        super.send(data)
      }
    }
    return CountingSocket
  }
}

/** A random 32-bit client id, as Yjs makes them. */
function newClientId () {
  const buffer = new Uint32Array(1)
  if (window.crypto && window.crypto.getRandomValues) window.crypto.getRandomValues(buffer)
  else buffer[0] = Math.floor(Math.random() * 0xffffffff)
  return buffer[0] >>> 0
}

function isUpdateMessage (data) {
  if (!(data instanceof Uint8Array) || data.length < 2) return false
  return data[0] === SYNC && (data[1] === SYNC_UPDATE || data[1] === SYNC_STEP2)
}
