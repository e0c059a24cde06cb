// @y/websocket-server 0.1.1 exactly as its own bin (src/server.js) sets it up, on 127.0.0.1.
import http from 'node:http'
import { WebSocketServer } from 'ws'
import { setupWSConnection } from '@y/websocket-server/utils'

const port = Number(process.argv[2] || 1234)
const wss = new WebSocketServer({ noServer: true })
const server = http.createServer((_req, res) => { res.writeHead(200); res.end('okay') })
wss.on('connection', setupWSConnection)
server.on('upgrade', (request, socket, head) => {
  wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request))
})
server.listen(port, '127.0.0.1', () => console.log(`y-websocket-server on ${port}`))
