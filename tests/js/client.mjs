// Official yjs + y-websocket clients, driven by the Python tests over stdin/stdout JSON lines.
// Request:  {"req": 1, "op": "open", "id": "c1", "url": "ws://127.0.0.1:8080/sync", "room": "Sales/Invoices/k", "params": {"token": "..."}}
// Response: {"req": 1, "ok": true, ...}   Events: {"event": "synced" | "close" | "status", "id": "c1", ...}
import readline from 'node:readline'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'

const clients = new Map()
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')

function open ({ id, url, room, params }) {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(url, room, doc, {
    WebSocketPolyfill: WebSocket,
    params: params || {},
    disableBc: true,
    maxBackoffTime: 500
  })
  provider.on('sync', (synced) => { if (synced) out({ event: 'synced', id }) })
  provider.on('connection-close', (ev) => {
    if (ev) out({ event: 'close', id, code: ev.code, reason: String(ev.reason || '') })
  })
  clients.set(id, { doc, provider })
}

function text (doc, field) { return doc.getText(field) }

function state (doc, names) {
  const texts = {}
  for (const name of names || []) texts[name] = doc.getText(name).toString()
  return {
    texts,
    fields: doc.getMap('fields').toJSON(),
    comments: doc.getArray('comments').toJSON(),
    sv: Buffer.from(Y.encodeStateVector(doc)).toString('base64'),
    update: Buffer.from(Y.encodeStateAsUpdate(doc)).toString('base64')
  }
}

function handle (msg) {
  const c = clients.get(msg.id)
  switch (msg.op) {
    case 'open': open(msg); return {}
    case 'insert': {
      const t = text(c.doc, msg.field)
      t.insert(Math.min(msg.index, t.length), msg.text)
      return {}
    }
    case 'delete': {
      const t = text(c.doc, msg.field)
      const index = Math.min(msg.index, t.length)
      t.delete(index, Math.min(msg.length, t.length - index))
      return {}
    }
    case 'set': c.doc.getMap('fields').set(msg.key, msg.value); return {}
    case 'state': return state(c.doc, msg.texts)
    case 'unsynced': return { connected: c.provider.wsconnected, synced: c.provider.synced }
    case 'disconnect': c.provider.disconnect(); return {}
    case 'connect': c.provider.connect(); return {}
    case 'close': c.provider.destroy(); c.doc.destroy(); clients.delete(msg.id); return {}
    default: throw new Error('unknown op ' + msg.op)
  }
}

const rl = readline.createInterface({ input: process.stdin })
rl.on('line', (line) => {
  let msg
  try {
    msg = JSON.parse(line)
    out({ req: msg.req, ok: true, ...handle(msg) })
  } catch (err) {
    out({ req: msg ? msg.req : null, ok: false, error: String(err && err.stack || err) })
  }
})
rl.on('close', () => {
  for (const { provider } of clients.values()) provider.destroy()
  process.exit(0)
})
