#!/usr/bin/env node
// Runs the reference PDS (@atproto/pds) on loopback for the benchmark, configured the way the
// official distribution is: PDS_* environment variables read by its own readEnv/envToCfg/envToSecrets.
// Needs Node 22 and the packages bench/setup.sh installs into the cache folder.
//
//   node ref-pds.mjs --modules <cache>/pds --port N --plc http://localhost:P --data DIR [--appview URL]
//
// Offline: crawlers, AppView, moderation, email and Redis stay unset. Secrets (JWT, the PLC
// rotation key) are made fresh for each data folder and kept in it. Stops on SIGINT/SIGTERM.
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    modules: { type: 'string' },
    port: { type: 'string' },
    plc: { type: 'string' },
    data: { type: 'string' },
    // An AppView (URL and DID) to configure. Without one the reference refuses
    // app.bsky.actor.getPreferences/putPreferences ("No service configured"); with one it serves
    // them itself, and proxies only other app.bsky.* calls. A closed loopback port will do.
    appview: { type: 'string' },
    'appview-did': { type: 'string' },
  },
})
for (const k of ['modules', 'port', 'plc', 'data']) {
  if (!values[k]) {
    console.error('usage: ref-pds.mjs --modules DIR --port N --plc URL --data DIR')
    process.exit(2)
  }
}
// Resolve the reference's packages from the cache folder, not from next to this file.
const require = createRequire(join(resolve(values.modules), 'package.json'))
const { Secp256k1Keypair } = require('@atproto/crypto')

const data = resolve(values.data)
mkdirSync(join(data, 'blobs'), { recursive: true })
const secretsFile = join(data, 'bench-secrets.json')
let secrets
if (existsSync(secretsFile)) {
  secrets = JSON.parse(readFileSync(secretsFile, 'utf8'))
} else {
  const rotation = await Secp256k1Keypair.create({ exportable: true })
  secrets = {
    jwt: randomBytes(16).toString('hex'),
    dpop: randomBytes(32).toString('hex'),
    rotationHex: Buffer.from(await rotation.export()).toString('hex'),
    admin: randomBytes(12).toString('hex'),
  }
  writeFileSync(secretsFile, JSON.stringify(secrets), { mode: 0o600 })
}

const env = {
  PDS_HOSTNAME: 'localhost',
  PDS_PORT: values.port,
  PDS_DEV_MODE: 'true', // an http public URL needs it
  PDS_DATA_DIRECTORY: data,
  PDS_BLOBSTORE_DISK_LOCATION: join(data, 'blobs'),
  PDS_DID_PLC_URL: values.plc,
  PDS_JWT_SECRET: secrets.jwt,
  PDS_DPOP_SECRET: secrets.dpop,
  PDS_ADMIN_PASSWORD: secrets.admin,
  PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX: secrets.rotationHex,
  PDS_INVITE_REQUIRED: 'false',
  PDS_RATE_LIMITS_ENABLED: 'false',
  PDS_SERVICE_HANDLE_DOMAINS: '.test',
  LOG_ENABLED: 'false',
}
if (values.appview) {
  env.PDS_BSKY_APP_VIEW_URL = values.appview
  env.PDS_BSKY_APP_VIEW_DID = values['appview-did'] ?? 'did:web:appview.invalid'
}
for (const k of Object.keys(process.env)) if (k.startsWith('PDS_')) delete process.env[k]
Object.assign(process.env, env)

const pds = require('@atproto/pds')
const cfg = pds.envToCfg(pds.readEnv())
const server = await pds.PDS.create(cfg, pds.envToSecrets(pds.readEnv()))
// express' listen(port) binds every interface; this stays on loopback.
const listen = server.app.listen.bind(server.app)
server.app.listen = (port, ...rest) => listen(port, '127.0.0.1', ...rest)
await server.start()
console.log(JSON.stringify({ ready: true, url: `http://localhost:${values.port}`, pid: process.pid, did: cfg.service.did }))

let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  try {
    await server.destroy()
  } finally {
    process.exit(0)
  }
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
