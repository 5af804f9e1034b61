#!/usr/bin/env node
// An in-memory did:plc directory (the real @did-plc/server) on loopback, for the relay's tests.
//
//   node e2e/plc-server.mjs [--port N] [--exit-on-stdin-close]
//
// --port 0 (the default) picks a free port. When the directory is ready, one line is printed:
//   PLC_URL=http://localhost:<port>
// Give the relay that URL (PDS_DID_PLC_URL): the reference clients refuse IP hosts.
// State lives in memory only and is gone when the process ends. With --exit-on-stdin-close the
// process also ends when its standard input closes, so a test harness that dies cannot leave
// it behind. SIGINT/SIGTERM stop it cleanly.

import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'exit-on-stdin-close': { type: 'boolean', default: false },
  },
})

const port = Number(values.port)
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`plc-server: --port must be 0-65535, not ${values.port}`)
  process.exit(2)
}

const plc = await import('@did-plc/server')
const server = plc.PlcServer.create({ db: plc.Database.mock(), port })

// Bind loopback only: express' listen(port) would take every interface.
const listen = server.app.listen.bind(server.app)
server.app.listen = (p, ...rest) => listen(p, '127.0.0.1', ...rest)

const http = await server.start()
const actual = http.address().port
console.log(`PLC_URL=http://localhost:${actual}`)

let stopping = false
async function stop(why) {
  if (stopping) return
  stopping = true
  console.error(`plc-server: ${why}, stopping`)
  try {
    await server.destroy()
  } catch (err) {
    console.error(err)
  }
  process.exit(0)
}
process.on('SIGINT', () => stop('SIGINT'))
process.on('SIGTERM', () => stop('SIGTERM'))
if (values['exit-on-stdin-close']) {
  process.stdin.on('end', () => stop('stdin closed'))
  process.stdin.on('error', () => stop('stdin error'))
  process.stdin.resume()
}
