// Floor: a minimal Node `ws` relay with no CRDT. It answers a client's sync step 1 with an
// empty step 2 (so y-websocket clients become "synced") and forwards every other frame to
// the other sockets of the same room (the URL path).
import http from 'node:http'
import { WebSocketServer } from 'ws'

const port = Number(process.argv[2] || 1234)
const EMPTY_STEP2 = Buffer.from([0, 1, 2, 0, 0]) // sync, step2, varUint8Array([0, 0]) = empty update
const rooms = new Map()

const server = http.createServer((_req, res) => { res.writeHead(200); res.end('okay') })
const wss = new WebSocketServer({ server, perMessageDeflate: false })
wss.on('connection', (ws, req) => {
  const name = (req.url || '/').split('?')[0]
  let room = rooms.get(name)
  if (!room) { room = new Set(); rooms.set(name, room) }
  room.add(ws)
  ws.on('message', (data, isBinary) => {
    if (!isBinary) return
    if (data.length >= 2 && data[0] === 0 && data[1] === 0) { ws.send(EMPTY_STEP2); return }
    for (const other of room) if (other !== ws && other.readyState === 1) other.send(data)
  })
  ws.on('close', () => { room.delete(ws); if (room.size === 0) rooms.delete(name) })
})
server.listen(port, '127.0.0.1', () => console.log(`ws relay on ${port}`))
