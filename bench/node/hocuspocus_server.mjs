// @hocuspocus/server with its defaults (no extensions, no persistence), on 127.0.0.1.
import { Server } from '@hocuspocus/server'

const port = Number(process.argv[2] || 1234)
const server = new Server({ port, address: '127.0.0.1', quiet: true })
await server.listen()
console.log(`hocuspocus on ${port}`)
