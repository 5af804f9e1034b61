// Account migration between the reference PDS (@atproto/pds) and the relay, both directions, on
// one local PLC directory, every step through @atproto/api (the flow of the atproto
// account-migration guide and goat). Run by e2e/migration/run.sh, which starts the three servers
// and passes their URLs and data folders in E2E_* variables.
//
// PLC-operation email tokens: the relay (without SMTP) writes its mail to <data>/outbox/*.eml;
// the reference, without PDS_EMAIL_SMTP_URL, sends nothing anywhere, so its token is read from
// its own database (<data>/account.sqlite, table email_token), where it keeps it.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { test } from 'node:test'
import { AtpAgent } from '@atproto/api'
import { collectFrames } from '../lib/firehose.mjs'

const RELAY = process.env.E2E_RELAY_URL
const REF = process.env.E2E_REF_URL
const PLC = process.env.E2E_PLC_URL
const RELAY_DATA = process.env.E2E_RELAY_DATA
const REF_DATA = process.env.E2E_REF_DATA
const RELAY_BIN = process.env.E2E_RELAY_BIN_PATH
const PASSWORD = 'migration-password-1'
const POST = 'app.bsky.feed.post'

const hosts = {
  [RELAY]: { name: 'relay', token: relayToken },
  [REF]: { name: 'reference', token: refToken },
}

function relayToken() {
  const dir = join(RELAY_DATA, 'outbox')
  const mails = readdirSync(dir)
    .map((f) => join(dir, f))
    .filter((f) => readFileSync(f, 'utf8').includes('Identity change requested'))
    .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs)
  assert.ok(mails.length > 0, 'the relay mailed a PLC-operation token')
  const token = readFileSync(mails.at(-1), 'utf8').match(/\b[A-Z2-7]{5}-[A-Z2-7]{5}\b/)
  assert.ok(token, 'a token in the message')
  return token[0]
}

function refToken(did, purpose = 'plc_operation') {
  const db = new DatabaseSync(join(REF_DATA, 'account.sqlite'), { readOnly: true })
  try {
    const row = db.prepare('SELECT token FROM email_token WHERE did = ? AND purpose = ?').get(did, purpose)
    assert.ok(row, `the reference stored a ${purpose} token`)
    return row.token
  } finally {
    db.close()
  }
}

async function plcDoc(did) {
  const res = await fetch(`${PLC}/${did}`)
  assert.equal(res.status, 200)
  return res.json()
}

async function allRecords(agent, did) {
  const out = {}
  const { data } = await agent.com.atproto.repo.describeRepo({ repo: did })
  for (const collection of data.collections) {
  let cursor
    do {
      const page = await agent.com.atproto.repo.listRecords({ repo: did, collection, limit: 100, cursor })
      for (const r of page.data.records) out[r.uri] = r.cid
      cursor = page.data.records.length === 100 ? page.data.cursor : undefined
    } while (cursor)
  }
  return out
}

/** The firehose events of `did` on `host` from the start, until `done(kinds)` says enough. */
async function eventsOf(host, did, done) {
  const url = `${host.replace('http', 'ws')}/xrpc/com.atproto.sync.subscribeRepos?cursor=0`
  const kinds = []
  const result = await collectFrames(url, {
    timeoutMs: 10_000,
    until: (frame) => {
      const { body, t } = frame
      if ((body?.did ?? body?.repo) === did) kinds.push({ t, body })
      return done(kinds.map((k) => k.t))
    },
  })
  if (result.error) throw result.error
  return kinds
}

/**
 * Makes `agent` use a session's tokens while keeping its service URL. (`login` would follow the
 * DID document to the host it names, which mid-migration is the other one.)
 */
function useSession(agent, data) {
  agent.sessionManager.session = {
    did: data.did,
    handle: data.handle,
    accessJwt: data.accessJwt,
    refreshJwt: data.refreshJwt,
    active: true,
  }
}

/**
 * Moves the logged-in account of `oldAgent` to `newUrl` with the standard flow; answers the new
 * host's agent. Checks everything the issue asks after each move.
 */
async function migrate(oldAgent, newUrl, account) {
  try {
    return await migrateSteps(oldAgent, newUrl, account)
  } catch (err) {
    err.message = `${currentStep}: ${err.message}`
    throw err
  }
}

async function migrateSteps(oldAgent, newUrl, account) {
  const oldUrl = oldAgent.serviceUrl.origin
  const did = oldAgent.session.did
  const newAgent = new AtpAgent({ service: newUrl })
  const before = await allRecords(oldAgent, did)
  const { data: oldStatus } = await oldAgent.com.atproto.sync.getLatestCommit({ did })

  // createAccount with the DID and a service JWT from the old host.
  const describe = await newAgent.com.atproto.server.describeServer()
  step('createAccount with the DID')
  const serviceJwt = await oldAgent.com.atproto.server.getServiceAuth({
    aud: describe.data.did,
    lxm: 'com.atproto.server.createAccount',
  })
  const created0 = await newAgent.com.atproto.server.createAccount(
    { did, handle: account.handle, email: account.email, password: PASSWORD },
    { headers: { authorization: `Bearer ${serviceJwt.data.token}` }, encoding: 'application/json' },
  )
  useSession(newAgent, created0.data)
  let status = await newAgent.com.atproto.server.checkAccountStatus()
  assert.equal(status.data.activated, false, 'the new account starts deactivated')

  // The repo, then the blobs.
  step('importRepo')
  const car = await oldAgent.com.atproto.sync.getRepo({ did })
  await newAgent.com.atproto.repo.importRepo(car.data, { encoding: 'application/vnd.ipld.car' })
  await newAgent.com.atproto.repo.importRepo(car.data, { encoding: 'application/vnd.ipld.car' }) // idempotent
  let cursor
  step('blobs')
  const blobs = []
  do {
    const missing = await newAgent.com.atproto.repo.listMissingBlobs({ cursor })
    for (const b of missing.data.blobs) {
      const blob = await oldAgent.com.atproto.sync.getBlob({ did, cid: b.cid })
      await newAgent.com.atproto.repo.uploadBlob(blob.data, { encoding: blob.headers['content-type'] })
      blobs.push({ cid: b.cid, bytes: Buffer.from(blob.data) })
    }
    cursor = missing.data.cursor
  } while (cursor)
  assert.ok(blobs.length > 0, 'there were blobs to move')
  assert.deepEqual((await newAgent.com.atproto.repo.listMissingBlobs()).data.blobs, [])

  // The identity.
  step('PLC operation')
  const creds = await newAgent.com.atproto.identity.getRecommendedDidCredentials()
  await oldAgent.com.atproto.identity.requestPlcOperationSignature()
  const token = hosts[oldUrl].token(did)
  const op = await oldAgent.com.atproto.identity.signPlcOperation({ token, ...creds.data })
  await newAgent.com.atproto.identity.submitPlcOperation({ operation: op.data.operation })

  step('activate and deactivate')
  await newAgent.com.atproto.server.activateAccount()
  await oldAgent.com.atproto.server.deactivateAccount({})

  // After the move: records with the same CIDs, blobs byte-identical, the DID document.
  step('checks after the move')
  assert.deepEqual(await allRecords(newAgent, did), before)
  for (const b of blobs) {
    const got = await newAgent.com.atproto.sync.getBlob({ did, cid: b.cid })
    assert.ok(Buffer.from(got.data).equals(b.bytes), `blob ${b.cid} is byte-identical`)
  }
  const doc = await plcDoc(did)
  assert.equal(doc.service.find((s) => s.id === '#atproto_pds').serviceEndpoint, newUrl)
  // The directory's /data form names keys as did:key (its document uses an older encoding).
  const state = await (await fetch(`${PLC}/${did}/data`)).json()
  assert.equal(state.verificationMethods.atproto, creds.data.verificationMethods.atproto)
  assert.deepEqual(state.rotationKeys, creds.data.rotationKeys)
  assert.deepEqual(doc.alsoKnownAs, [`at://${account.handle}`])
  status = await newAgent.com.atproto.server.checkAccountStatus()
  assert.equal(status.data.activated, true)
  assert.equal(status.data.validDid, true)

  // Firehose on the new host: the account, its identity, and a commit or #sync.
  step('firehose')
  const events = await eventsOf(newUrl, did, (k) => k.includes('#account') && k.includes('#identity') && (k.includes('#sync') || k.includes('#commit')))
  const kinds = events.map((e) => e.t)
  assert.ok(kinds.includes('#account') && kinds.includes('#identity'), `events: ${kinds}`)
  assert.ok(kinds.includes('#sync') || kinds.includes('#commit'), `events: ${kinds}`)
  assert.ok(events.some((e) => e.t === '#account' && e.body.active === true), `events: ${kinds}`)

  // New writes accepted with a higher rev.
  step('new write')
  const created = await newAgent.com.atproto.repo.createRecord({
    repo: did,
    collection: POST,
    record: { $type: POST, text: `written at ${hosts[newUrl].name}`, createdAt: new Date().toISOString() },
  })
  assert.ok(created.data.commit.rev > oldStatus.rev, `${created.data.commit.rev} > ${oldStatus.rev}`)

  // The old host reports the account deactivated, and still lets it log in and export.
  step('old host status')
  const anyone = new AtpAgent({ service: oldUrl })
  const repoStatus = await anyone.com.atproto.sync.getRepoStatus({ did })
  assert.equal(repoStatus.data.active, false)
  assert.equal(repoStatus.data.status, 'deactivated')
  const relogin = new AtpAgent({ service: oldUrl })
  const login = await relogin.com.atproto.server.createSession({ identifier: did, password: PASSWORD })
  useSession(relogin, login.data)
  const exported = await relogin.com.atproto.sync.getRepo({ did })
  assert.ok(exported.data.length > 0)
  return newAgent
}

let account
let onRelay
let currentStep = ''
/** Names the step a failure happened in. */
function step(name) {
  currentStep = name
}
process.on('exit', () => currentStep && console.error(`last step: ${currentStep}`))

test('reference → relay: records, blobs, identity, firehose, revs, old host deactivated', async () => {
  const ref = new AtpAgent({ service: REF })
  const handle = `mig${Date.now().toString(36).slice(-6)}.test`
  account = { handle, email: `${handle}@example.com` }
  await ref.com.atproto.server.createAccount({ handle, email: account.email, password: PASSWORD })
  await ref.login({ identifier: handle, password: PASSWORD })
  for (let i = 0; i < 5; i++) {
    await ref.com.atproto.repo.createRecord({
      repo: ref.session.did,
      collection: POST,
      record: { $type: POST, text: `post ${i}`, createdAt: new Date().toISOString() },
    })
  }
  const image = Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'binary'), Buffer.alloc(300, 7)])
  const up = await ref.com.atproto.repo.uploadBlob(image, { encoding: 'image/png' })
  await ref.com.atproto.repo.createRecord({
    repo: ref.session.did,
    collection: POST,
    record: {
      $type: POST,
      text: 'with a picture',
      createdAt: new Date().toISOString(),
      embed: { $type: 'app.bsky.embed.images', images: [{ image: up.data.blob, alt: 'grey' }] },
    },
  })
  await ref.app.bsky.actor.putPreferences({ preferences: [{ $type: 'app.bsky.actor.defs#adultContentPref', enabled: false }] })
  onRelay = await migrate(ref, RELAY, account)
})

test('relay → reference: the same account back', async () => {
  assert.ok(onRelay, 'the first move succeeded')
  // The reference will not take back a DID it still holds (deactivated): "Repo already exists".
  // The account's owner deletes it there first, as after any move that went well.
  const did = onRelay.session.did
  const atRef = new AtpAgent({ service: REF })
  const login = await atRef.com.atproto.server.createSession({ identifier: did, password: PASSWORD })
  useSession(atRef, login.data)
  await atRef.com.atproto.server.requestAccountDelete()
  await atRef.com.atproto.server.deleteAccount({ did, password: PASSWORD, token: refToken(did, 'delete_account') })
  await migrate(onRelay, REF, account)
})

test('relay account migrate: the reference to the relay, stopping for the emailed code, then finishing', async () => {
  const ref = new AtpAgent({ service: REF })
  const handle = `cli${Date.now().toString(36).slice(-6)}.test`
  await ref.com.atproto.server.createAccount({ handle, email: `${handle}@example.com`, password: PASSWORD })
  await ref.login({ identifier: handle, password: PASSWORD })
  const did = ref.session.did
  for (let i = 0; i < 3; i++) {
    await ref.com.atproto.repo.createRecord({
      repo: did,
      collection: POST,
      record: { $type: POST, text: `cli post ${i}`, createdAt: new Date().toISOString() },
    })
  }
  const before = await allRecords(ref, did)
  const cli = (...extra) =>
    spawnSync(RELAY_BIN, ['account', 'migrate', '--from', REF, '--handle', handle, '--to', RELAY, ...extra], {
      env: { PATH: process.env.PATH, RELAY_MIGRATE_PASSWORD: PASSWORD },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    })
  const first = cli()
  assert.equal(first.status, 1, first.stderr)
  assert.match(first.stderr, /--plc-token/)
  assert.match(first.stderr, /still live at/)
  const second = cli('--plc-token', refToken(did))
  assert.equal(second.status, 0, second.stderr)
  assert.match(second.stderr, /now lives at/)

  const relay = new AtpAgent({ service: RELAY })
  const login = await relay.com.atproto.server.createSession({ identifier: did, password: PASSWORD })
  useSession(relay, login.data)
  assert.equal((await relay.com.atproto.server.checkAccountStatus()).data.activated, true)
  assert.deepEqual(await allRecords(relay, did), before)
  const status = await new AtpAgent({ service: REF }).com.atproto.sync.getRepoStatus({ did })
  assert.equal(status.data.active, false)
  const third = cli()
  assert.equal(third.status, 0, `a third run has nothing left to do: ${third.stderr}`)
})
