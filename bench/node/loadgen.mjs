// The benchmark's load generator: official yjs 13 / y-websocket (and Hocuspocus provider)
// clients in one Node process. Usage: node loadgen.mjs < config.json; prints one JSON line.
//
// config: { scenario, kind: "yws" | "hocuspocus", base, rooms: [...], params: {...},
//           serverPid, sizes: {...}, seeds: { room: base64 } (not for collab), fm: {...} (S6) }
// scenario "seeds" reads each room's document from collab (its seed) for the other servers.
// Every loop is bounded: each scenario has a fixed duration and a hard deadline.
import fs from 'node:fs'
import { performance } from 'node:perf_hooks'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { HocuspocusProvider } from '@hocuspocus/provider'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'

const now = () => performance.now()
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const log = (...args) => process.stderr.write(args.join(' ') + '\n')

// ---------------------------------------------------------------- /proc of the server

const CLK_TCK = 100
function procCpuSeconds (pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK // utime + stime
}
function threadCpuSeconds (pid, tid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK
  } catch { return 0 }
}
function procRssKb (pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
  const m = status.match(/VmRSS:\s+(\d+)\s+kB/)
  return m ? Number(m[1]) : 0
}

// ---------------------------------------------------------------- stats

function quantile (sorted, q) {
  if (sorted.length === 0) return null
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[idx]
}
function summary (values) {
  const s = Float64Array.from(values).sort()
  return { n: s.length, p50: quantile(s, 0.5), p95: quantile(s, 0.95), p99: quantile(s, 0.99), max: s.length ? s[s.length - 1] : null }
}

// ---------------------------------------------------------------- the records' seeds

// Every server serves the same documents. collab seeds each record's document from FileMaker
// (one deterministic update: the record's fields). For the other servers every client starts
// from those same bytes, as a web viewer seeding its record itself would; identical seeds
// merge into one, so the servers hold what collab holds.
const seedBytes = new Map()
function seedOf (cfg, room) {
  const encoded = cfg.seeds && cfg.seeds[room]
  if (!encoded) return null
  let bytes = seedBytes.get(room)
  if (!bytes) {
    bytes = new Uint8Array(Buffer.from(encoded, 'base64'))
    seedBytes.set(room, bytes)
  }
  return bytes
}

// ---------------------------------------------------------------- clients

/** One client: a Y.Doc and the official provider for this kind of server. */
class Client {
  constructor (cfg, room, { control = false } = {}) {
    this.doc = new Y.Doc()
    const seed = seedOf(cfg, room)
    if (seed) Y.applyUpdate(this.doc, seed)
    this.room = room
    this.synced = false
    this.closed = false
    this.sentUpdates = 0 // sync update / step2 frames this socket sent (for `stored` acks)
    this.onControl = null
    this._syncedWaiters = []
    if (cfg.kind === 'hocuspocus') {
      this.provider = new HocuspocusProvider({
        url: cfg.base,
        name: room,
        document: this.doc,
        token: cfg.params.token || 'bench',
        WebSocketPolyfill: WebSocket,
        quiet: true
      })
      this.provider.on('synced', () => this._markSynced())
    } else {
      const params = { ...cfg.params }
      if (control) params.control = '1'
      this.provider = new WebsocketProvider(cfg.base, room, this.doc, {
        WebSocketPolyfill: WebSocket,
        params,
        disableBc: true,
        maxBackoffTime: 60_000
      })
      if (control) {
        this.provider.messageHandlers[100] = (_encoder, decoder) => {
          const payload = JSON.parse(Buffer.from(decoding.readVarUint8Array(decoder)).toString('utf8'))
          if (this.onControl) this.onControl(payload)
        }
      }
      this.provider.on('sync', (isSynced) => { if (isSynced) this._markSynced() })
      this.provider.on('connection-close', () => { if (!this.closed) this.closedUnexpectedly = true })
    }
  }

  _markSynced () {
    if (this.synced) return
    this.synced = true
    this.syncedAt = now()
    for (const resolve of this._syncedWaiters) resolve(true)
    this._syncedWaiters = []
  }

  waitSynced (timeoutMs) {
    if (this.synced) return Promise.resolve(true)
    return new Promise((resolve) => {
      this._syncedWaiters.push(resolve)
      setTimeout(() => resolve(this.synced), timeoutMs)
    })
  }

  destroy () {
    this.closed = true
    try { this.provider.destroy() } catch {}
    this.doc.destroy()
  }
}

/**
 * Connect clients in batches. The first client of each room connects (and syncs) before the
 * others join it: concurrent first joins are S5's subject, not the other scenarios'.
 */
async function connectAll (cfg, rooms, { batch = 50, timeoutMs = 30_000, control = false } = {}) {
  const clients = new Array(rooms.length)
  const seen = new Set()
  const first = []
  const rest = []
  rooms.forEach((room, i) => { if (seen.has(room)) rest.push(i); else { seen.add(room); first.push(i) } })
  for (const order of [first, rest]) {
    for (let i = 0; i < order.length; i += batch) {
      const part = order.slice(i, i + batch)
      for (const idx of part) clients[idx] = new Client(cfg, rooms[idx], { control })
      await Promise.all(part.map((idx) => clients[idx].waitSynced(timeoutMs)))
    }
  }
  return clients
}

function parseTokens (delta, fn) {
  for (const op of delta) {
    if (typeof op.insert !== 'string') continue
    for (const token of op.insert.split(';')) if (token) fn(token)
  }
}

// ---------------------------------------------------------------- S1 fan-out latency

async function s1 (cfg) {
  const { readers: n, seconds, rate } = cfg.sizes
  const room = cfg.rooms[0]
  const readers = await connectAll(cfg, Array(n).fill(room))
  const syncedReaders = readers.filter((c) => c.synced).length
  // What the readers hold before the edits: the same record document under every server.
  const seedFields = readers[0].doc.getMap('fields').size
  const writer = (await connectAll(cfg, [room]))[0]
  await sleep(300)
  const total = Math.round(seconds * rate)
  const sentAt = new Float64Array(total)
  const latencies = []
  const after1s = []
  let received = 0
  let t0 = 0
  for (const reader of readers) {
    reader.doc.getText('Notes').observe((event) => {
      if (event.transaction.local) return
      const t = now()
      parseTokens(event.changes.delta, (token) => {
        if (token[0] !== 'e') return
        const seq = Number(token.slice(1))
        if (!(seq >= 0 && seq < total) || sentAt[seq] === 0) return
        const ms = t - sentAt[seq]
        received++
        latencies.push(ms)
        if (sentAt[seq] - t0 >= 1000) after1s.push(ms)
      })
    })
  }
  const text = writer.doc.getText('Notes')
  const cpuStart = process.cpuUsage()
  const serverCpu0 = procCpuSeconds(cfg.serverPid)
  t0 = now()
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate
    const wait = due - now()
    if (wait > 0) await sleep(wait)
    sentAt[i] = now()
    text.insert(text.length, `e${i};`)
  }
  const expected = total * readers.length
  const deadline = now() + 5000
  while (received < expected && now() < deadline) await sleep(20)
  const wall = (now() - t0) / 1000
  const cpu = process.cpuUsage(cpuStart)
  const result = {
    // Share of one core the load generator / the server used while the edits ran: near 1
    // means that side, not the other, bounds the latency.
    client_cpu_share: (cpu.user + cpu.system) / 1e6 / wall,
    server_cpu_share: (procCpuSeconds(cfg.serverPid) - serverCpu0) / wall,
    readers: n,
    synced_readers: syncedReaders,
    seed_fields: seedFields,
    edits: total,
    expected,
    received,
    lost: expected - received,
    latency_ms: summary(latencies),
    after_1s_ms: summary(after1s)
  }
  for (const c of [...readers, writer]) c.destroy()
  return result
}

// ---------------------------------------------------------------- S2 throughput (and S6)

async function s2 (cfg, { control = false } = {}) {
  const { clientsPerRoom, inflight, warmup, seconds } = cfg.sizes
  const rooms = cfg.rooms
  const clients = await connectAll(cfg, rooms.flatMap((r) => Array(clientsPerRoom).fill(r)), { control })
  const syncedClients = clients.filter((c) => c.synced).length
  const peersOf = clients.map((c, i) => clients.filter((o, j) => j !== i && o.room === c.room).length)
  let running = false
  let measuring = false
  let delivered = 0
  let deliveredInWindow = 0
  let sent = 0
  let expectedDeliveries = 0
  // per client: seq -> receipts still missing
  const pending = clients.map(() => new Map())
  const sentAt = clients.map(() => new Map())
  const storedLat = []
  const storedAfter = []
  let windowStart = 0

  const sendOne = (i) => {
    const c = clients[i]
    const seq = (c.seq = (c.seq || 0) + 1)
    pending[i].set(seq, peersOf[i])
    const t = now()
    if (control) sentAt[i].set(c.sentUpdates + 1, t)
    sent++
    expectedDeliveries += peersOf[i]
    const text = c.doc.getText('Notes')
    text.insert(text.length, `${i}.${seq};`)
  }

  clients.forEach((c, i) => {
    if (control && c.provider.ws) {
      // Count the update frames this socket sends: the hub's `stored` seq counts them.
      const wrap = () => {
        const ws = c.provider.ws
        if (!ws || ws._benchWrapped) return
        ws._benchWrapped = true
        const orig = ws.send.bind(ws)
        ws.send = (data, ...rest) => {
          if (data[0] === 0 && (data[1] === 2 || (cfg.countStep2 && data[1] === 1))) c.sentUpdates++
          return orig(data, ...rest)
        }
      }
      wrap()
      c.onControl = (msg) => {
        if (msg.type !== 'stored') return
        const t = now()
        for (const [seq, at] of sentAt[i]) {
          if (seq > msg.seq) continue
          sentAt[i].delete(seq)
          const ms = t - at
          storedLat.push(ms)
          if (measuring) storedAfter.push(ms)
        }
      }
    }
    c.doc.getText('Notes').observe((event) => {
      if (event.transaction.local) return
      parseTokens(event.changes.delta, (token) => {
        const dot = token.indexOf('.')
        if (dot < 0) return
        const from = Number(token.slice(0, dot))
        const seq = Number(token.slice(dot + 1))
        delivered++
        if (measuring) deliveredInWindow++
        const left = pending[from]?.get(seq)
        if (left === undefined) return
        if (left <= 1) {
          pending[from].delete(seq)
          if (running) setImmediate(() => sendOne(from))
        } else pending[from].set(seq, left - 1)
      })
    })
  })

  running = true
  clients.forEach((c, i) => { if (peersOf[i] > 0) for (let k = 0; k < inflight; k++) sendOne(i) })
  await sleep(warmup * 1000)
  const cpu0 = procCpuSeconds(cfg.serverPid)
  const main0 = threadCpuSeconds(cfg.serverPid, cfg.serverPid)
  const clientCpu0 = process.cpuUsage()
  windowStart = now()
  measuring = true
  let markers = null
  if (control && cfg.fm) markers = fileMakerMarkers(cfg, clients)
  await sleep(seconds * 1000)
  measuring = false
  const windowSeconds = (now() - windowStart) / 1000
  const cpu1 = procCpuSeconds(cfg.serverPid)
  const main1 = threadCpuSeconds(cfg.serverPid, cfg.serverPid)
  const clientCpu = process.cpuUsage(clientCpu0)
  running = false
  const deadline = now() + 5000
  while (delivered < expectedDeliveries && now() < deadline) await sleep(20)
  const result = {
    rooms: rooms.length,
    clients: clients.length,
    synced_clients: syncedClients,
    sent,
    expected: expectedDeliveries,
    delivered,
    lost: expectedDeliveries - delivered,
    window_s: windowSeconds,
    delivered_per_s: deliveredInWindow / windowSeconds,
    server_cpu_s: cpu1 - cpu0,
    server_cpu_share: (cpu1 - cpu0) / windowSeconds,
    // The server's main thread (its event loop) alone; the rest is its other threads
    // (for collab: the SQLite writer and executor threads).
    server_main_thread_cpu_us_per_delivery: deliveredInWindow ? ((main1 - main0) * 1e6) / deliveredInWindow : null,
    client_cpu_share: (clientCpu.user + clientCpu.system) / 1e6 / windowSeconds,
    server_cpu_us_per_delivery: deliveredInWindow ? ((cpu1 - cpu0) * 1e6) / deliveredInWindow : null
  }
  if (control) {
    // Every update sent must be acked `stored`; give the last commits up to 3 s.
    const unackedNow = () => sentAt.reduce((n, m) => n + m.size, 0)
    const ackDeadline = now() + 3000
    while (unackedNow() > 0 && now() < ackDeadline) await sleep(20)
    const unacked = unackedNow()
    result.stored_ms = summary(storedAfter)
    result.stored_all_ms = summary(storedLat)
    result.unacked = unacked
    if (markers) result.filemaker = await markers
  }
  for (const c of clients) c.destroy()
  return result
}

/** S6: put a marker into a few records' Notes and poll the emulator until it holds it. */
async function fileMakerMarkers (cfg, clients) {
  const { fm } = cfg
  const picks = fm.records.slice(0, cfg.sizes.markers)
  const results = await Promise.all(picks.map(async ({ key, recordId }, n) => {
    const client = clients.find((c) => c.room === key)
    const marker = `MARK${n}x${Math.floor(Math.random() * 1e9)}`
    const text = client.doc.getText('Notes')
    const t0 = now()
    text.insert(0, `${marker} `)
    const deadline = t0 + fm.timeoutMs
    while (now() < deadline) {
      try {
        const res = await fetch(`${fm.base}/layouts/${fm.layout}/records/${recordId}`, {
          headers: { Authorization: `Bearer ${fm.token}` }
        })
        const body = await res.json()
        const notes = body?.response?.data?.[0]?.fieldData?.Notes || ''
        if (notes.includes(marker)) return now() - t0
      } catch {}
      await sleep(fm.pollMs)
    }
    return null
  }))
  const found = results.filter((v) => v !== null)
  const out = { markers: picks.length, landed: found.length, ms: summary(found) }
  if (fm.control) {
    // What the hub asked FileMaker for meanwhile (the emulator's call log).
    try {
      const res = await fetch(`${fm.control}/calls`)
      const body = await res.json()
      const counts = {}
      for (const call of body.calls || []) {
        const key = `${call.method || ''} ${call.action || ''} ${call.code ?? call.status ?? ''}`.trim()
        counts[key] = (counts[key] || 0) + 1
      }
      out.calls = counts
    } catch (err) { out.calls = String(err) }
  }
  return out
}

// ---------------------------------------------------------------- S3 idle connections

async function s3 (cfg) {
  const rooms = cfg.rooms
  const perRoom = cfg.sizes.perRoom
  const list = rooms.flatMap((r) => Array(perRoom).fill(r))
  await sleep(300)
  const rss0 = procRssKb(cfg.serverPid)
  const t0 = now()
  const clients = await connectAll(cfg, list, { batch: cfg.sizes.batch, timeoutMs: 60_000 })
  const connectS = (now() - t0) / 1000
  const synced = clients.filter((c) => c.synced).length
  await sleep(cfg.sizes.settleMs)
  const rss1 = procRssKb(cfg.serverPid)
  const result = {
    connections: list.length,
    per_room: perRoom,
    synced,
    connect_all_s: connectS,
    rss_before_kb: rss0,
    rss_after_kb: rss1,
    kb_per_connection: (rss1 - rss0) / list.length
  }
  for (const c of clients) c.destroy()
  await sleep(200)
  return result
}

// ---------------------------------------------------------------- S4 cold load

/** Deterministic history: `updates` small inserts (and a few deletes) at pseudo-random places. */
function buildHistory (count) {
  let seed = 12345
  const rand = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff }
  const doc = new Y.Doc()
  doc.clientID = 424242
  const updates = []
  doc.on('update', (u) => updates.push(u))
  const text = doc.getText('Notes')
  const words = ['hello ', 'yjs ', 'filemaker ', 'collab '] // 20,000 updates: ~576 KB encoded
  for (let i = 0; i < count; i++) {
    if (i % 10 === 9 && text.length > 4) text.delete(Math.floor(rand() * (text.length - 2)), 1)
    else text.insert(Math.floor(rand() * (text.length + 1)), words[i % words.length])
  }
  return { updates, encoded: Y.encodeStateAsUpdate(doc).length, text: text.toString() }
}

function frame (kind, room, bodyFn) {
  const enc = encoding.createEncoder()
  if (kind === 'hocuspocus') encoding.writeVarString(enc, room)
  bodyFn(enc)
  return encoding.toUint8Array(enc)
}

/** A raw protocol client, so step 1 -> step 2 can be timed at the frame level. */
function rawOpen (cfg, room) {
  const base = cfg.kind === 'hocuspocus' ? cfg.base : `${cfg.base}/${room}`
  const qs = new URLSearchParams(cfg.params).toString()
  const ws = new WebSocket(qs ? `${base}?${qs}` : base, { perMessageDeflate: false })
  ws.binaryType = 'nodebuffer'
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws))
    ws.once('error', reject)
  })
}

function decodeFrame (kind, data) {
  const dec = decoding.createDecoder(new Uint8Array(data.buffer, data.byteOffset, data.length))
  if (kind === 'hocuspocus') decoding.readVarString(dec)
  const type = decoding.readVarUint(dec)
  if (type !== 0) return { type }
  const sub = decoding.readVarUint(dec)
  return { type, sub, payload: sub === 1 || sub === 2 ? decoding.readVarUint8Array(dec) : null }
}

function authFrame (cfg, room) {
  return frame('hocuspocus', room, (enc) => {
    encoding.writeVarUint(enc, 2) // Auth
    encoding.writeVarUint(enc, 0) // Token
    encoding.writeVarString(enc, cfg.params.token || 'bench')
  })
}

async function s4Build (cfg) {
  const room = cfg.rooms[0]
  const history = buildHistory(cfg.sizes.updates)
  const sockets = []
  const ws = await rawOpen(cfg, room)
  sockets.push(ws)
  if (cfg.kind === 'hocuspocus') ws.send(authFrame(cfg, room))
  // Sync like a fresh client: our step 1 first, then answer the server's step 1.
  ws.send(frame(cfg.kind, room, (enc) => {
    encoding.writeVarUint(enc, 0); encoding.writeVarUint(enc, 0)
    encoding.writeVarUint8Array(enc, Y.encodeStateVector(new Y.Doc()))
  }))
  ws.on('message', (data) => {
    const f = decodeFrame(cfg.kind, data)
    if (f.type === 0 && f.sub === 0) {
      ws.send(frame(cfg.kind, room, (enc) => {
        encoding.writeVarUint(enc, 0); encoding.writeVarUint(enc, 1)
        encoding.writeVarUint8Array(enc, Y.encodeStateAsUpdate(new Y.Doc()))
      }))
    }
  })
  const seed = seedOf(cfg, room)
  if (seed) {
    ws.send(frame(cfg.kind, room, (enc) => {
      encoding.writeVarUint(enc, 0); encoding.writeVarUint(enc, 2)
      encoding.writeVarUint8Array(enc, seed)
    }))
  }
  await sleep(200)
  const t0 = now()
  for (let i = 0; i < history.updates.length; i++) {
    ws.send(frame(cfg.kind, room, (enc) => {
      encoding.writeVarUint(enc, 0); encoding.writeVarUint(enc, 2)
      encoding.writeVarUint8Array(enc, history.updates[i])
    }))
    if (i % 500 === 499) {
      while (ws.bufferedAmount > 0) await sleep(1)
      await sleep(cfg.sizes.pauseMs || 0)
    }
  }
  while (ws.bufferedAmount > 0) await sleep(5)
  // Wait until the server holds the whole document (a fresh client's sync sees it all).
  const deadline = now() + 60_000
  let ok = false
  while (now() < deadline) {
    const m = await measureFresh(cfg, room)
    if (m.text_length === history.text.length) { ok = m.text === history.text; break }
    await sleep(200)
  }
  return { ws, result: { updates: history.updates.length, encoded_bytes: history.encoded, build_s: (now() - t0) / 1000, complete: ok } }
}

async function measureFresh (cfg, room) {
  const doc = new Y.Doc()
  const ws = await rawOpen(cfg, room)
  const sv = Y.encodeStateVector(doc)
  return await new Promise((resolve) => {
    let t0 = 0
    const timer = setTimeout(() => { ws.terminate(); resolve({ step2_ms: null, synced_ms: null, text_length: -1 }) }, 30_000)
    ws.on('message', (data) => {
      const t1 = now()
      const f = decodeFrame(cfg.kind, data)
      if (f.type === 0 && f.sub === 1) {
        Y.applyUpdate(doc, f.payload)
        const t2 = now()
        clearTimeout(timer)
        const text = doc.getText('Notes').toString()
        ws.close()
        resolve({ step2_ms: t1 - t0, synced_ms: t2 - t0, step2_bytes: f.payload.length, text_length: text.length, text })
      }
    })
    if (cfg.kind === 'hocuspocus') ws.send(authFrame(cfg, room))
    t0 = now()
    ws.send(frame(cfg.kind, room, (enc) => {
      encoding.writeVarUint(enc, 0); encoding.writeVarUint(enc, 0); encoding.writeVarUint8Array(enc, sv)
    }))
  })
}

async function s4 (cfg) {
  const room = cfg.rooms[0]
  if (cfg.phase === 'build') {
    const { ws, result } = await s4Build(cfg)
    ws.close()
    await sleep(100)
    return result
  }
  let builder = null
  let build = null
  if (cfg.phase !== 'measure') {
    // In-memory servers: build and keep the builder connected so the document stays loaded.
    const b = await s4Build(cfg)
    builder = b.ws
    build = b.result
    await sleep(300)
  }
  const first = await measureFresh(cfg, room)
  const warm = []
  for (let i = 0; i < cfg.sizes.warmRepeats; i++) warm.push(await measureFresh(cfg, room))
  if (builder) builder.close()
  await sleep(100)
  const clean = ({ text, ...rest }) => rest
  return {
    build,
    first: clean(first),
    warm_step2_ms: summary(warm.map((m) => m.step2_ms).filter((v) => v !== null)),
    warm_synced_ms: summary(warm.map((m) => m.synced_ms).filter((v) => v !== null))
  }
}

// ---------------------------------------------------------------- S5 concurrent first join

async function s5 (cfg) {
  const { clientsPerRoom, timeoutMs } = cfg.sizes
  const t0 = now()
  const clients = cfg.rooms.flatMap((room) => Array.from({ length: clientsPerRoom }, () => new Client(cfg, room)))
  const syncedFlags = await Promise.all(clients.map((c) => c.waitSynced(timeoutMs)))
  const syncMs = clients.map((c) => (c.synced ? c.syncedAt - t0 : null))
  clients.forEach((c, i) => { if (c.synced) c.doc.getText('Notes').insert(0, `j${i};`) })
  const deadline = now() + 3000
  const roomsOf = new Map()
  clients.forEach((c, i) => { if (!roomsOf.has(c.room)) roomsOf.set(c.room, []); roomsOf.get(c.room).push(i) })
  const converged = () => {
    const ok = new Array(clients.length).fill(false)
    for (const idxs of roomsOf.values()) {
      const texts = idxs.map((i) => clients[i].doc.getText('Notes').toString())
      const tokensOk = idxs.every((i) => texts[0].includes(`j${i};`))
      const same = texts.every((t) => t === texts[0])
      const svSame = idxs.every((i) => Buffer.compare(Buffer.from(Y.encodeStateVector(clients[i].doc)), Buffer.from(Y.encodeStateVector(clients[idxs[0]].doc))) === 0)
      for (const i of idxs) ok[i] = same && tokensOk && svSame && syncedFlags[i]
    }
    return ok
  }
  let ok = converged()
  while (ok.some((v) => !v) && now() < deadline) { await sleep(50); ok = converged() }
  const result = {
    clients: clients.length,
    synced_within_timeout: syncedFlags.filter(Boolean).length,
    synced_and_converged: ok.filter(Boolean).length,
    sync_ms: summary(syncMs.filter((v) => v !== null))
  }
  for (const c of clients) c.destroy()
  return result
}

// ---------------------------------------------------------------- seeds (from collab)

/** Each room's whole document as collab's step 2 answers a fresh client: its seed. */
function fetchSeed (cfg, room) {
  return rawOpen(cfg, room).then((ws) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => { ws.terminate(); reject(new Error(`no sync step 2 for ${room}`)) }, 30_000)
    ws.on('message', (data) => {
      const f = decodeFrame(cfg.kind, data)
      if (f.type !== 0 || f.sub !== 1) return
      clearTimeout(timer)
      ws.close()
      resolve(f.payload)
    })
    ws.send(frame(cfg.kind, room, (enc) => {
      encoding.writeVarUint(enc, 0); encoding.writeVarUint(enc, 0)
      encoding.writeVarUint8Array(enc, Y.encodeStateVector(new Y.Doc()))
    }))
  }))
}

async function seeds (cfg) {
  const out = {}
  const queue = [...cfg.rooms]
  const worker = async () => {
    while (queue.length > 0) {
      const room = queue.shift()
      out[room] = Buffer.from(await fetchSeed(cfg, room)).toString('base64')
    }
  }
  await Promise.all(Array.from({ length: Math.min(50, queue.length) }, worker))
  return { seeds: out }
}

// ---------------------------------------------------------------- main

const cfg = JSON.parse(fs.readFileSync(0, 'utf8'))
const scenarios = { S1: s1, S2: (c) => s2(c), S3: s3, S4: s4, S5: s5, S6: (c) => s2(c, { control: true }), seeds }
const hard = setTimeout(() => { log('loadgen: hard deadline'); process.exit(3) }, (cfg.deadlineSeconds || 300) * 1000)
try {
  const result = await scenarios[cfg.scenario](cfg)
  clearTimeout(hard)
  // A pipe takes large results in parts: exit only once all of it is written.
  process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(0))
} catch (err) {
  log('loadgen error:', err?.stack || String(err))
  process.exit(2)
}
