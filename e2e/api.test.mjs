// End-to-end: the official TypeScript clients against a running PDS, as the Bluesky app and a
// relay (BGS) would use it. Written against the XRPC contract (the lexicons), so the same file runs
// against the reference PDS too:
//
//   E2E_PDS_URL=http://localhost:PORT E2E_PLC_URL=http://localhost:PORT \
//     node_modules/.bin/node --test-reporter=./lib/reporter.mjs api.test.mjs      (Node 22)
//
// e2e/run.sh starts a PLC directory and the relay and runs this (`e2e/run.sh --reference`: the
// reference PDS instead, which passes every test here). Tests run in order and share
// state (the account made first is used throughout); a test whose prerequisite failed says so.
// No AppView is configured, so reads go through com.atproto.repo.* and com.atproto.sync.*.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import test from 'node:test'

import { Agent, AtpAgent, CredentialSession } from '@atproto/api'
import { verifySignature } from '@atproto/crypto'
import { DidResolver } from '@atproto/identity'
import { parseCid } from '@atproto/lex-data'
import {
  MemoryBlockstore,
  Repo,
  readCar,
  readCarWithRoot,
  verifyDiff,
  verifyProofs,
  verifyRecords,
  verifyRepoCar,
} from '@atproto/repo'

import { collectFrames, verifyCommitFrame } from './lib/firehose.mjs'
import { expectOk, expectXrpcError, xrpcClient } from './lib/http.mjs'
import { gradientPng } from './lib/png.mjs'

const PDS = process.env.E2E_PDS_URL
const PLC = process.env.E2E_PLC_URL
if (!PDS || !PLC) {
  console.error('set E2E_PDS_URL and E2E_PLC_URL (e2e/run.sh does)')
  process.exit(2)
}
const WS = PDS.replace(/^http/, 'ws')
const call = xrpcClient(PDS)
const T = { timeout: 30_000 }

// ---------------------------------------------------------------- shared state and helpers

const state = {}
/** The named values must have been set by an earlier test; otherwise this test cannot run. */
function needs(...keys) {
  const missing = keys.filter((k) => state[k] === undefined)
  if (missing.length) throw new Error(`not run: an earlier test failed to provide ${missing.join(', ')}`)
}

const suffix = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`.slice(-10)
const password = `pw-${randomBytes(12).toString('hex')}`

/** An XRPCError from @atproto/api, or a failure saying the call unexpectedly succeeded. */
async function xrpcFailure(promise, what) {
  try {
    const res = await promise
    throw new Error(`${what}: expected an XRPC error, got success ${JSON.stringify(res?.data).slice(0, 200)}`)
  } catch (err) {
    if (err.status === undefined) throw err
    return err
  }
}

const cidStr = (v) => {
  if (v == null) return null
  if (typeof v === 'string') return v
  if (typeof v === 'object' && typeof v.$link === 'string') return v.$link
  return v.toString()
}

// The resolver's default fetch refuses http: URLs (SSRF protection); a local PLC directory is
// http://localhost, so hand it the plain fetch, as the package's own notes say tests should.
const didResolver = () => new DidResolver({ plcUrl: PLC, timeout: 5000, fetch: globalThis.fetch })

const post = (text) => ({ $type: 'app.bsky.feed.post', text, createdAt: new Date().toISOString() })

// A TID (https://atproto.com/specs/tid): 53 bits of microseconds since the epoch, 10 bits of clock
// id, in base32-sortable. Used where a test must know a record key before the write.
const S32 = '234567abcdefghijklmnopqrstuvwxyz'
let lastTidUs = 0
function newTid() {
  const us = Math.max(Date.now() * 1000, lastTidUs + 1)
  lastTidUs = us
  let n = (BigInt(us) << 10n) | BigInt(Math.floor(Math.random() * 1024))
  let out = ''
  for (let i = 0; i < 13; i++) {
    out = S32[Number(n & 31n)] + out
    n >>= 5n
  }
  return out
}

const rkeyOf = (uri) => uri.split('/').pop()

async function createAccount(agent, handlePrefix) {
  const handle = `${handlePrefix}${suffix}.test`
  const res = await agent.createAccount({ handle, email: `${handlePrefix}${suffix}@example.com`, password })
  return { handle, did: res.data.did, res }
}

// ---------------------------------------------------------------- server and accounts

test('health and describeServer', T, async () => {
  const health = expectOk(await call('GET', '_health'))
  assert.equal(typeof health.json?.version, 'string', `_health body ${health.text}`)
  const agent = new AtpAgent({ service: PDS })
  const { data } = await agent.com.atproto.server.describeServer()
  assert.ok(Array.isArray(data.availableUserDomains) && data.availableUserDomains.length > 0, 'availableUserDomains')
  assert.ok(data.availableUserDomains.includes('.test'), `availableUserDomains ${data.availableUserDomains}`)
  assert.match(data.did, /^did:web:/)
  assert.equal(data.inviteCodeRequired, false)
})

test('createAccount (AtpAgent) registers a did:plc whose document points here', T, async () => {
  const agent = new AtpAgent({ service: PDS })
  const { handle, did, res } = await createAccount(agent, 'a')
  assert.match(did, /^did:plc:[a-z2-7]{24}$/)
  assert.equal(res.data.handle, handle)
  assert.equal(typeof res.data.accessJwt, 'string')
  assert.equal(typeof res.data.refreshJwt, 'string')
  assert.equal(agent.session?.did, did, 'the agent is logged in after createAccount')

  const resolver = didResolver()
  const data = await resolver.resolveAtprotoData(did, true)
  assert.equal(data.handle, handle, 'alsoKnownAs at://<handle> in the DID document')
  assert.equal(data.pds.replace(/\/$/, ''), PDS.replace(/\/$/, ''), '#atproto_pds service endpoint')
  assert.match(data.signingKey, /^did:key:z/)
  Object.assign(state, { handle, did, signingKey: data.signingKey, firstAgent: agent })

  // A second account, for the "another account's repo" checks.
  const other = new AtpAgent({ service: PDS })
  const b = await createAccount(other, 'b')
  const post = await other.post({ text: 'the other account', createdAt: new Date().toISOString() })
  Object.assign(state, { otherDid: b.did, otherAgent: other, otherPostUri: post.uri })
})

test('login with Agent + CredentialSession; getSession; refreshSession', T, async () => {
  needs('handle', 'did')
  const session = new CredentialSession(new URL(PDS))
  const login = await session.login({ identifier: state.handle, password })
  assert.equal(login.data.did, state.did)
  const agent = new Agent(session)
  assert.equal(agent.did, state.did)

  const got = await agent.com.atproto.server.getSession()
  assert.equal(got.data.did, state.did)
  assert.equal(got.data.handle, state.handle)

  const before = session.session.refreshJwt
  await session.refreshSession()
  assert.ok(session.session?.accessJwt, 'a new access token after refreshSession')
  assert.notEqual(session.session.refreshJwt, before, 'refreshSession rotates the refresh token')
  const again = await agent.com.atproto.server.getSession()
  assert.equal(again.data.did, state.did)

  // A wrong password: 401, as the reference answers.
  const bad = await xrpcFailure(
    new CredentialSession(new URL(PDS)).login({ identifier: state.handle, password: 'not-the-password' }),
    'login with a wrong password',
  )
  assert.equal(bad.status, 401, `wrong password: status ${bad.status} ${bad.error}`)

  // The app finds the PDS through the session's DID document, when there is one (it is optional:
  // the reference omits it when it cannot resolve the DID itself).
  if (login.data.didDoc !== undefined) {
    const pds = login.data.didDoc.service?.find((x) => x.id === '#atproto_pds' || x.id === `${state.did}#atproto_pds`)
    assert.equal(pds?.serviceEndpoint?.replace(/\/$/, ''), PDS.replace(/\/$/, ''), `createSession didDoc: ${JSON.stringify(login.data.didDoc)}`)
  }
  assert.equal(login.data.active ?? true, true)

  Object.assign(state, { agent, session, token: () => session.session.accessJwt })
})

test('deleteSession (log out): the refresh token stops working', T, async () => {
  needs('handle')
  const session = new CredentialSession(new URL(PDS))
  const login = await session.login({ identifier: state.handle, password })
  const refreshJwt = login.data.refreshJwt
  expectOk(await call('POST', 'com.atproto.server.deleteSession', { token: refreshJwt }), 'deleteSession with the refresh token')
  const res = await call('POST', 'com.atproto.server.refreshSession', { token: refreshJwt })
  expectXrpcError(res, [400, 401], ['ExpiredToken', 'InvalidToken', 'AuthenticationRequired'])
})

test('CORS: the web app\'s preflight and requests from another origin are allowed', T, async () => {
  // bsky.app in a browser talks to the PDS cross-origin: a preflight first, then the request.
  const res = await fetch(new URL('/xrpc/com.atproto.server.createSession', PDS), {
    method: 'OPTIONS',
    headers: {
      origin: 'https://bsky.app',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization,content-type,atproto-accept-labelers,atproto-proxy',
    },
  })
  const body = await res.text()
  const allowOrigin = res.headers.get('access-control-allow-origin')
  assert.ok(
    res.status >= 200 && res.status < 300,
    `OPTIONS /xrpc/com.atproto.server.createSession (preflight from https://bsky.app): expected 2xx with CORS headers, got ${res.status} ${body.slice(0, 200)}`,
  )
  assert.ok(allowOrigin === '*' || allowOrigin === 'https://bsky.app', `preflight access-control-allow-origin: ${allowOrigin}`)
  const allowHeaders = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase()
  for (const h of ['authorization', 'content-type', 'atproto-accept-labelers', 'atproto-proxy']) {
    assert.ok(allowHeaders === '*' || allowHeaders.split(/\s*,\s*/).includes(h), `access-control-allow-headers "${allowHeaders}" lacks ${h}`)
  }
  const allowMethods = (res.headers.get('access-control-allow-methods') ?? '').toUpperCase()
  assert.ok(allowMethods === '*' || allowMethods.includes('POST'), `access-control-allow-methods "${allowMethods}"`)
  const get = await fetch(new URL('/xrpc/com.atproto.server.describeServer', PDS), { headers: { origin: 'https://bsky.app' } })
  await get.arrayBuffer()
  const getOrigin = get.headers.get('access-control-allow-origin')
  assert.ok(getOrigin === '*' || getOrigin === 'https://bsky.app', `GET access-control-allow-origin: ${getOrigin}`)
})

// ---------------------------------------------------------------- records and blobs

test('uploadBlob takes a PNG and returns a blob ref', T, async () => {
  needs('agent')
  const png = gradientPng(64, 48, 1)
  const { data } = await state.agent.uploadBlob(png, { encoding: 'image/png' })
  const blob = data.blob
  assert.equal(blob.mimeType, 'image/png')
  assert.equal(blob.size, png.length)
  assert.match(cidStr(blob.ref), /^bafkrei/, 'a raw-codec CIDv1 (bafkrei…)')
  Object.assign(state, { png, blob })
})

test('post with an image embed (Agent.post → createRecord)', T, async () => {
  needs('agent', 'blob')
  const text = `hello from the e2e suite ${suffix}`
  const res = await state.agent.post({
    text,
    createdAt: new Date().toISOString(),
    embed: {
      $type: 'app.bsky.embed.images',
      images: [{ image: state.blob, alt: 'a gradient', aspectRatio: { width: 64, height: 48 } }],
    },
  })
  assert.match(res.uri, new RegExp(`^at://${state.did}/app\\.bsky\\.feed\\.post/[2-7a-z]{13}$`))
  assert.match(res.cid, /^bafyrei/)
  Object.assign(state, { postUri: res.uri, postCid: res.cid, postText: text })
})

test('getRecord reads the post back; getBlob returns the image', T, async () => {
  needs('agent', 'postUri')
  const { data } = await state.agent.com.atproto.repo.getRecord({
    repo: state.did,
    collection: 'app.bsky.feed.post',
    rkey: rkeyOf(state.postUri),
  })
  assert.equal(data.uri, state.postUri)
  assert.equal(data.cid, state.postCid)
  assert.equal(data.value.$type, 'app.bsky.feed.post')
  assert.equal(data.value.text, state.postText)
  const image = data.value.embed?.images?.[0]?.image
  assert.ok(image, `embed in ${JSON.stringify(data.value)}`)
  assert.equal(cidStr(image.ref), cidStr(state.blob.ref))
  assert.equal(image.mimeType, 'image/png')
  assert.equal(image.size, state.png.length)

  // by handle too
  const byHandle = await state.agent.com.atproto.repo.getRecord({
    repo: state.handle,
    collection: 'app.bsky.feed.post',
    rkey: rkeyOf(state.postUri),
  })
  assert.equal(byHandle.data.cid, state.postCid)

  const blob = await state.agent.com.atproto.sync.getBlob({ did: state.did, cid: cidStr(state.blob.ref) })
  assert.deepEqual(new Uint8Array(blob.data), state.png, 'getBlob bytes equal the upload')
  assert.match(blob.headers['content-type'] ?? '', /^image\/png/)
})

test('putRecord creates and then updates the profile', T, async () => {
  needs('agent')
  const repo = state.agent.com.atproto.repo
  const put = (displayName) =>
    repo.putRecord({
      repo: state.did,
      collection: 'app.bsky.actor.profile',
      rkey: 'self',
      record: { $type: 'app.bsky.actor.profile', displayName, avatar: state.blob },
    })
  const first = await put('E2E one')
  const second = await put('E2E two')
  assert.notEqual(first.data.cid, second.data.cid)
  const got = await repo.getRecord({ repo: state.did, collection: 'app.bsky.actor.profile', rkey: 'self' })
  assert.equal(got.data.value.displayName, 'E2E two')
  assert.equal(got.data.cid, second.data.cid)
})

test('listRecords pages through the posts, both directions', T, async () => {
  needs('agent', 'postUri')
  const more = []
  for (const n of [2, 3]) {
    more.push((await state.agent.post({ text: `post ${n} ${suffix}`, createdAt: new Date().toISOString() })).uri)
  }
  const all = [state.postUri, ...more]
  const seen = []
  let cursor
  for (let page = 0; page < 10; page++) {
    const { data } = await state.agent.com.atproto.repo.listRecords({
      repo: state.did,
      collection: 'app.bsky.feed.post',
      limit: 1,
      cursor,
    })
    assert.ok(data.records.length <= 1, `limit 1 gave ${data.records.length} records`)
    seen.push(...data.records.map((r) => r.uri))
    if (!data.cursor || data.records.length === 0) break
    cursor = data.cursor
  }
  assert.deepEqual(seen, [...all].reverse(), 'newest first, one per page, every post once')

  const rev = await state.agent.com.atproto.repo.listRecords({
    repo: state.did,
    collection: 'app.bsky.feed.post',
    reverse: true,
  })
  assert.deepEqual(
    rev.data.records.map((r) => r.uri),
    all,
    'reverse: oldest first',
  )
  const first = rev.data.records[0]
  assert.equal(first.cid, state.postCid)
  assert.equal(first.value.text, state.postText)
  state.morePosts = more
})

test('describeRepo names the account, its document and collections', T, async () => {
  needs('agent', 'postUri')
  const { data } = await state.agent.com.atproto.repo.describeRepo({ repo: state.did })
  assert.equal(data.did, state.did)
  assert.equal(data.handle, state.handle)
  assert.equal(data.didDoc?.id, state.did)
  assert.equal(data.handleIsCorrect, true)
  assert.deepEqual([...data.collections].sort(), ['app.bsky.actor.profile', 'app.bsky.feed.post'])
})

test('resolveHandle finds the account', T, async () => {
  needs('agent', 'handle', 'did')
  const resolved = await state.agent.com.atproto.identity.resolveHandle({ handle: state.handle })
  assert.equal(resolved.data.did, state.did)
})

test('preferences round-trip (app.bsky.actor.getPreferences/putPreferences)', T, async () => {
  needs('agent')
  // The Bluesky app reads and writes these on start-up; with no AppView the PDS keeps them itself.
  const before = await state.agent.app.bsky.actor.getPreferences({})
  assert.ok(Array.isArray(before.data.preferences))
  const preferences = [
    { $type: 'app.bsky.actor.defs#adultContentPref', enabled: false },
    { $type: 'app.bsky.actor.defs#contentLabelPref', label: 'gore', visibility: 'hide' },
    { $type: 'app.bsky.actor.defs#savedFeedsPrefV2', items: [{ id: '3kabcdefghijk', type: 'timeline', value: 'following', pinned: true }] },
  ]
  await state.agent.app.bsky.actor.putPreferences({ preferences })
  const after = await state.agent.app.bsky.actor.getPreferences({})
  const strip = (list) => list.map(({ $type, ...rest }) => ({ $type, ...rest }))
  assert.deepEqual(strip(after.data.preferences), strip(preferences))
})

test('getServiceAuth: a JWT for another service, signed with the repo key', T, async () => {
  needs('agent', 'did', 'signingKey')
  // The app asks for these to talk to the video service, feed generators and chat.
  const aud = 'did:web:video.example.com'
  const lxm = 'com.atproto.repo.uploadBlob'
  const { data } = await state.agent.com.atproto.server.getServiceAuth({ aud, lxm })
  const [h, p, sig] = data.token.split('.')
  const b64 = (x) => new Uint8Array(Buffer.from(x, 'base64url'))
  const header = JSON.parse(Buffer.from(h, 'base64url').toString())
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString())
  assert.ok(['ES256K', 'ES256'].includes(header.alg), `alg ${header.alg}`)
  assert.equal(payload.iss, state.did)
  assert.equal(payload.aud, aud)
  assert.equal(payload.lxm, lxm)
  const now = Date.now() / 1000
  assert.ok(payload.exp > now && payload.exp <= now + 3600, `exp ${payload.exp} (now ${Math.round(now)})`)
  const ok = await verifySignature(state.signingKey, new TextEncoder().encode(`${h}.${p}`), b64(sig))
  assert.ok(ok, `the service-auth JWT does not verify against ${state.signingKey}`)
})

test('checkAccountStatus reports an active account with its repo', T, async () => {
  needs('agent', 'postUri')
  const { data } = await state.agent.com.atproto.server.checkAccountStatus()
  assert.equal(data.activated, true)
  assert.equal(data.validDid, true)
  const latest = await state.agent.com.atproto.sync.getLatestCommit({ did: state.did })
  assert.equal(data.repoCommit, latest.data.cid)
  assert.equal(data.repoRev, latest.data.rev)
  assert.ok(data.repoBlocks > 0, `repoBlocks ${data.repoBlocks}`)
  assert.equal(data.indexedRecords, 4, 'three posts and the profile')
  assert.equal(data.expectedBlobs, 1, 'the image, referenced by a post and the profile')
  assert.equal(data.importedBlobs, 1)
})

test('records of a collection with no known lexicon: stored unvalidated, refused with validate=true', T, async () => {
  needs('token', 'did')
  const record = { $type: 'com.example.e2e.thing', note: 'third-party lexicon', n: 3 }
  const res = expectOk(
    await call('POST', 'com.atproto.repo.createRecord', { token: state.token(), json: { repo: state.did, collection: 'com.example.e2e.thing', record } }),
  )
  assert.equal(res.json.validationStatus, 'unknown')
  const got = expectOk(
    await call('GET', 'com.atproto.repo.getRecord', { params: { repo: state.did, collection: 'com.example.e2e.thing', rkey: res.json.uri.split('/').pop() } }),
  )
  assert.deepEqual(got.json.value, record)
  const strict = await call('POST', 'com.atproto.repo.createRecord', {
    token: state.token(),
    json: { repo: state.did, collection: 'com.example.e2e.thing', record, validate: true },
  })
  expectXrpcError(strict, 400)
  const del = await call('POST', 'com.atproto.repo.deleteRecord', {
    token: state.token(),
    json: { repo: state.did, collection: 'com.example.e2e.thing', rkey: res.json.uri.split('/').pop() },
  })
  expectOk(del)
})

// ---------------------------------------------------------------- sync: repo, proofs

test('getRepo verifies with @atproto/repo against the DID document key', T, async () => {
  needs('agent', 'signingKey', 'morePosts')
  const car = await state.agent.com.atproto.sync.getRepo({ did: state.did })
  const repo = await verifyRepoCar(new Uint8Array(car.data), state.did, state.signingKey)
  state.repoCar = { bytes: new Uint8Array(car.data), rev: repo.commit.rev, cid: repo.commit.cid }
  const paths = new Map(repo.creates.map((c) => [`${c.collection}/${c.rkey}`, cidStr(c.cid)]))
  assert.equal(paths.get(`app.bsky.feed.post/${rkeyOf(state.postUri)}`), state.postCid)
  for (const uri of state.morePosts) assert.ok(paths.has(`app.bsky.feed.post/${rkeyOf(uri)}`), uri)
  assert.ok(paths.has('app.bsky.actor.profile/self'))
  assert.equal(paths.size, 4, `records in the CAR: ${[...paths.keys()]}`)

  const latest = await state.agent.com.atproto.sync.getLatestCommit({ did: state.did })
  assert.equal(latest.data.cid, cidStr(repo.commit.cid))
  assert.equal(latest.data.rev, repo.commit.rev)
  const status = await state.agent.com.atproto.sync.getRepoStatus({ did: state.did })
  assert.equal(status.data.active, true)
  assert.equal(status.data.rev, repo.commit.rev)
})

test('sync.listBlobs lists the image; getBlocks returns the commit block; getRecord by cid', T, async () => {
  needs('agent', 'blob', 'postUri')
  const blobs = await state.agent.com.atproto.sync.listBlobs({ did: state.did })
  assert.ok(blobs.data.cids.includes(cidStr(state.blob.ref)), `listBlobs: ${blobs.data.cids}`)
  const latest = await state.agent.com.atproto.sync.getLatestCommit({ did: state.did })
  const blocks = await state.agent.com.atproto.sync.getBlocks({ did: state.did, cids: [latest.data.cid] })
  const car = await readCar(new Uint8Array(blocks.data)) // checks each block's CID
  assert.ok(car.blocks.has(parseCid(latest.data.cid)), 'the commit block is in getBlocks')
  const rkey = rkeyOf(state.postUri)
  const byCid = await state.agent.com.atproto.repo.getRecord({ repo: state.did, collection: 'app.bsky.feed.post', rkey, cid: state.postCid })
  assert.equal(byCid.data.cid, state.postCid)
  const other = await xrpcFailure(
    state.agent.com.atproto.repo.getRecord({ repo: state.did, collection: 'app.bsky.feed.post', rkey, cid: cidStr(state.blob.ref) }),
    'getRecord with another CID',
  )
  assert.equal(other.error, 'RecordNotFound', `getRecord with a CID the record does not have: ${other.status} ${other.error}`)
})

test('sync.getRecord proof verifies (verifyRecords, verifyProofs)', T, async () => {
  needs('agent', 'signingKey', 'postUri')
  const rkey = rkeyOf(state.postUri)
  const proof = await state.agent.com.atproto.sync.getRecord({ did: state.did, collection: 'app.bsky.feed.post', rkey })
  const bytes = new Uint8Array(proof.data)
  const records = await verifyRecords(bytes, state.did, state.signingKey)
  const mine = records.find((r) => r.collection === 'app.bsky.feed.post' && r.rkey === rkey)
  assert.ok(mine, `the post among the proven records: ${records.map((r) => `${r.collection}/${r.rkey}`)}`)
  assert.equal(mine.record.text, state.postText)
  const claims = [{ collection: 'app.bsky.feed.post', rkey, cid: parseCid(state.postCid) }]
  const result = await verifyProofs(bytes, claims, state.did, state.signingKey)
  assert.equal(result.verified.length, 1, `verified ${result.verified.length}, unverified ${result.unverified.length}`)
  // a wrong claim against the same proof must not verify
  const wrong = await verifyProofs(
    bytes,
    [{ collection: 'app.bsky.feed.post', rkey, cid: parseCid(cidStr(state.blob.ref)) }],
    state.did,
    state.signingKey,
  )
  assert.equal(wrong.verified.length, 0, 'a false claim verified')
})

test('deleteRecord; getRecord then answers RecordNotFound; proof of absence verifies', T, async () => {
  needs('agent', 'signingKey', 'morePosts')
  const uri = state.morePosts[0]
  const rkey = rkeyOf(uri)
  await state.agent.com.atproto.repo.deleteRecord({ repo: state.did, collection: 'app.bsky.feed.post', rkey })
  const err = await xrpcFailure(
    state.agent.com.atproto.repo.getRecord({ repo: state.did, collection: 'app.bsky.feed.post', rkey }),
    'getRecord after deleteRecord',
  )
  assert.equal(err.status, 400, `status ${err.status} ${err.error}`)
  assert.equal(err.error, 'RecordNotFound')

  const proof = await state.agent.com.atproto.sync.getRecord({ did: state.did, collection: 'app.bsky.feed.post', rkey })
  const absent = await verifyProofs(
    new Uint8Array(proof.data),
    [{ collection: 'app.bsky.feed.post', rkey, cid: null }],
    state.did,
    state.signingKey,
  )
  assert.equal(absent.verified.length, 1, 'the proof shows the record is gone')
  state.deletedRkey = rkey
})

test('applyWrites: create, update and delete in one commit', T, async () => {
  needs('agent', 'morePosts')
  const rkey = newTid()
  const gone = rkeyOf(state.morePosts[1])
  const res = await state.agent.com.atproto.repo.applyWrites({
    repo: state.did,
    writes: [
      { $type: 'com.atproto.repo.applyWrites#create', collection: 'app.bsky.feed.post', rkey, value: post(`batch ${suffix}`) },
      {
        $type: 'com.atproto.repo.applyWrites#update',
        collection: 'app.bsky.actor.profile',
        rkey: 'self',
        value: { $type: 'app.bsky.actor.profile', displayName: 'E2E three' },
      },
      { $type: 'com.atproto.repo.applyWrites#delete', collection: 'app.bsky.feed.post', rkey: gone },
    ],
  })
  assert.equal(res.data.results?.length, 3, `results ${JSON.stringify(res.data.results)}`)
  assert.equal(res.data.results[0].uri, `at://${state.did}/app.bsky.feed.post/${rkey}`)
  assert.equal(typeof res.data.commit?.rev, 'string')
  const repo = state.agent.com.atproto.repo
  const made = await repo.getRecord({ repo: state.did, collection: 'app.bsky.feed.post', rkey })
  assert.equal(made.data.value.text, `batch ${suffix}`)
  const profile = await repo.getRecord({ repo: state.did, collection: 'app.bsky.actor.profile', rkey: 'self' })
  assert.equal(profile.data.value.displayName, 'E2E three')
  const err = await xrpcFailure(repo.getRecord({ repo: state.did, collection: 'app.bsky.feed.post', rkey: gone }), 'deleted by applyWrites')
  assert.equal(err.error, 'RecordNotFound')
  const latest = await state.agent.com.atproto.sync.getLatestCommit({ did: state.did })
  assert.equal(latest.data.rev, res.data.commit.rev)
  assert.equal(latest.data.cid, res.data.commit.cid)
  state.batchRkey = rkey
})

test('swaps: a stale swapCommit or a wrong swapRecord → 400 InvalidSwap, nothing written', T, async () => {
  needs('token', 'did', 'postCid')
  const before = expectOk(await call('GET', 'com.atproto.sync.getLatestCommit', { params: { did: state.did } })).json
  const profile = expectOk(
    await call('GET', 'com.atproto.repo.getRecord', { params: { repo: state.did, collection: 'app.bsky.actor.profile', rkey: 'self' } }),
  ).json
  const write = (nsid, json) => call('POST', nsid, { token: state.token(), json: { repo: state.did, ...json } })
  const stale = 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm'
  expectXrpcError(await write('com.atproto.repo.createRecord', { collection: 'app.bsky.feed.post', record: post('x'), swapCommit: stale }), 400, 'InvalidSwap')
  expectXrpcError(
    await write('com.atproto.repo.putRecord', {
      collection: 'app.bsky.actor.profile',
      rkey: 'self',
      record: { $type: 'app.bsky.actor.profile', displayName: 'swapped' },
      swapRecord: state.postCid,
    }),
    400,
    'InvalidSwap',
  )
  expectXrpcError(await write('com.atproto.repo.deleteRecord', { collection: 'app.bsky.actor.profile', rkey: 'self', swapRecord: state.postCid }), 400, 'InvalidSwap')
  // The right swap goes through.
  const ok = await write('com.atproto.repo.putRecord', {
    collection: 'app.bsky.actor.profile',
    rkey: 'self',
    record: { ...profile.value, displayName: 'E2E four' },
    swapRecord: profile.cid,
    swapCommit: before.cid,
  })
  expectOk(ok, 'putRecord with the current swapRecord and swapCommit')
  const latest = expectOk(await call('GET', 'com.atproto.sync.getLatestCommit', { params: { did: state.did } })).json
  assert.notEqual(latest.rev, before.rev)
})

test('getRepo?since=<rev> is a diff that applies to the earlier repo (verifyDiff)', T, async () => {
  needs('agent', 'repoCar', 'signingKey', 'batchRkey')
  const old = await readCarWithRoot(state.repoCar.bytes)
  const before = await Repo.load(new MemoryBlockstore(old.blocks), old.root)
  const diffCar = await state.agent.com.atproto.sync.getRepo({ did: state.did, since: state.repoCar.rev })
  const diff = await readCarWithRoot(new Uint8Array(diffCar.data))
  const verified = await verifyDiff(before, diff.blocks, diff.root, state.did, state.signingKey)
  const writes = verified.writes.map((w) => `${w.action} ${w.collection}/${w.rkey}`).sort()
  assert.ok(writes.includes(`create app.bsky.feed.post/${state.batchRkey}`), `writes since ${state.repoCar.rev}: ${writes}`)
  assert.ok(writes.includes(`delete app.bsky.feed.post/${state.deletedRkey}`), `writes since ${state.repoCar.rev}: ${writes}`)
  assert.ok(writes.includes('update app.bsky.actor.profile/self'), `writes since ${state.repoCar.rev}: ${writes}`)
  assert.ok(
    diff.blocks.size < old.blocks.size + 10,
    `the diff holds ${diff.blocks.size} blocks; the whole repo had ${old.blocks.size}`,
  )
})

test('app passwords: create, log in with one, list, revoke', T, async () => {
  needs('agent', 'handle', 'did')
  const server = state.agent.com.atproto.server
  const name = `e2e-${suffix}`
  const made = await server.createAppPassword({ name })
  assert.match(made.data.password, /^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/)
  const session = new CredentialSession(new URL(PDS))
  await session.login({ identifier: state.handle, password: made.data.password })
  const appAgent = new Agent(session)
  const written = await appAgent.post({ text: `via app password ${suffix}`, createdAt: new Date().toISOString() })
  assert.match(written.uri, /app\.bsky\.feed\.post/)
  const list = await server.listAppPasswords()
  assert.ok(list.data.passwords.some((p) => p.name === name))
  // An app password cannot manage app passwords.
  const denied = await xrpcFailure(appAgent.com.atproto.server.createAppPassword({ name: `${name}-2` }), 'createAppPassword with an app password session')
  assert.ok([400, 401, 403].includes(denied.status), `status ${denied.status} ${denied.error}`)
  await server.revokeAppPassword({ name })
  const after = await server.listAppPasswords()
  assert.ok(!after.data.passwords.some((p) => p.name === name), 'revoked password still listed')
  const refused = await xrpcFailure(
    new CredentialSession(new URL(PDS)).login({ identifier: state.handle, password: made.data.password }),
    'login with a revoked app password',
  )
  assert.equal(refused.status, 401)
})

test('updateHandle: the DID document, resolveHandle and describeRepo follow', T, async () => {
  needs('otherAgent', 'otherDid')
  const handle = `b2${suffix}.test`
  await state.otherAgent.com.atproto.identity.updateHandle({ handle })
  const resolved = await state.otherAgent.com.atproto.identity.resolveHandle({ handle })
  assert.equal(resolved.data.did, state.otherDid)
  const data = await didResolver().resolveAtprotoData(state.otherDid, true)
  assert.equal(data.handle, handle, 'alsoKnownAs in the DID document on the PLC directory')
  const described = await state.otherAgent.com.atproto.repo.describeRepo({ repo: state.otherDid })
  assert.equal(described.data.handle, handle)
  state.otherNewHandle = handle
})

test('concurrent writes to one account: all land, none lost', T, async () => {
  needs('agent', 'did')
  const texts = Array.from({ length: 16 }, (_, i) => `concurrent ${i} ${suffix}`)
  const results = await Promise.allSettled(texts.map((text) => state.agent.post({ text, createdAt: new Date().toISOString() })))
  const failed = results.filter((r) => r.status === 'rejected').map((r) => `${r.reason?.status} ${r.reason?.error ?? ''} ${r.reason?.message}`)
  assert.deepEqual(failed, [], '16 parallel createRecord calls on one account')
  const uris = new Set()
  let cursor
  for (let page = 0; page < 20; page++) {
    const { data } = await state.agent.com.atproto.repo.listRecords({ repo: state.did, collection: 'app.bsky.feed.post', limit: 100, cursor })
    data.records.forEach((r) => uris.add(r.uri))
    if (!data.cursor || data.records.length === 0) break
    cursor = data.cursor
  }
  for (const r of results) assert.ok(uris.has(r.value.uri), `${r.value.uri} missing from listRecords`)
  const car = await state.agent.com.atproto.sync.getRepo({ did: state.did })
  const repo = await verifyRepoCar(new Uint8Array(car.data), state.did, state.signingKey)
  const inRepo = new Set(repo.creates.map((c) => `at://${state.did}/${c.collection}/${c.rkey}`))
  for (const r of results) assert.ok(inRepo.has(r.value.uri), `${r.value.uri} missing from getRepo`)
})

// ---------------------------------------------------------------- firehose

test('subscribeRepos from cursor 0: ordered seqs, every #commit signed and complete', T, async () => {
  needs('agent', 'deletedRkey', 'did', 'otherDid')
  // A marker write: every event before its commit (all the writes above, the other account's
  // updateHandle) must be on the stream before it.
  await state.agent.post({ text: `marker ${suffix}`, createdAt: new Date().toISOString() })
  const target = (await state.agent.com.atproto.sync.getLatestCommit({ did: state.did })).data.rev
  const res = await collectFrames(`${WS}/xrpc/com.atproto.sync.subscribeRepos?cursor=0`, {
    timeoutMs: 20_000,
    until: (f) => f.t === '#commit' && f.body.repo === state.did && f.body.rev === target,
  })
  if (res.error) throw new Error(`firehose: ${res.error.message}`)
  const errors = res.frames.filter((f) => f.op === -1)
  assert.equal(errors.length, 0, `error frames: ${JSON.stringify(errors.map((f) => f.body))}`)
  assert.ok(!res.timedOut, `no #commit with rev ${target} for ${state.did} within 20 s (${res.frames.length} frames)`)

  const resolver = didResolver()
  const keys = new Map()
  const lastRev = new Map()
  let lastSeq = 0
  const ops = []
  const kinds = new Map()
  for (const f of res.frames) {
    const b = f.body
    kinds.set(f.t, (kinds.get(f.t) ?? 0) + 1)
    assert.equal(typeof b.seq, 'number', `${f.t} without a seq`)
    assert.ok(b.seq > lastSeq, `seq ${b.seq} after ${lastSeq}: not strictly increasing`)
    lastSeq = b.seq
    assert.equal(typeof b.time, 'string', `${f.t} seq ${b.seq}: time`)
    if (f.t !== '#commit') continue
    if (!keys.has(b.repo)) keys.set(b.repo, await resolver.resolveAtprotoKey(b.repo, true))
    await verifyCommitFrame(b, keys.get(b.repo))
    const prev = lastRev.get(b.repo)
    if (prev !== undefined) {
      assert.equal(b.since, prev, `#commit seq ${b.seq}: since ${b.since}, the repo's previous rev was ${prev}`)
      assert.ok(b.rev > prev, `#commit seq ${b.seq}: rev ${b.rev} not after ${prev}`)
    }
    lastRev.set(b.repo, b.rev)
    if (b.repo === state.did) ops.push(...b.ops.map((o) => `${o.action} ${o.path} ${cidStr(o.cid)}`))
  }
  const postPath = `app.bsky.feed.post/${rkeyOf(state.postUri)}`
  assert.ok(ops.includes(`create ${postPath} ${state.postCid}`), `the post's create among ${ops.join('; ')}`)
  assert.ok(
    ops.includes(`delete app.bsky.feed.post/${state.deletedRkey} null`),
    `the delete among ${ops.join('; ')}`,
  )
  assert.ok(ops.some((o) => o.startsWith('update app.bsky.actor.profile/self')), 'the profile update')
  assert.ok(lastRev.has(state.otherDid), 'the other account\'s commits are on the firehose too')
  state.firehoseKinds = Object.fromEntries(kinds)
  state.firehoseFrames = res.frames
})

test('subscribeRepos announces new accounts (#identity and #account)', T, async () => {
  needs('firehoseFrames')
  const mine = state.firehoseFrames.filter((f) => f.body.did === state.did)
  const identity = mine.find((f) => f.t === '#identity')
  const account = mine.find((f) => f.t === '#account')
  assert.ok(identity, `no #identity for ${state.did}; frame kinds seen: ${JSON.stringify(state.firehoseKinds)}`)
  assert.equal(identity.body.handle, state.handle)
  assert.ok(account, `no #account for ${state.did}; frame kinds seen: ${JSON.stringify(state.firehoseKinds)}`)
  assert.equal(account.body.active, true)
  if (state.otherNewHandle) {
    const latest = state.firehoseFrames.filter((f) => f.t === '#identity' && f.body.did === state.otherDid).at(-1)
    assert.equal(latest?.body.handle, state.otherNewHandle, 'an #identity event after updateHandle')
  }
})

test('subscribeRepos resumes after the cursor: the next event is the one after it', T, async () => {
  needs('firehoseFrames')
  const frames = state.firehoseFrames
  assert.ok(frames.length >= 4, `only ${frames.length} frames from cursor 0`)
  const k = Math.floor(frames.length / 2)
  const cursor = frames[k].body.seq
  const res = await collectFrames(`${WS}/xrpc/com.atproto.sync.subscribeRepos?cursor=${cursor}`, {
    timeoutMs: 10_000,
    until: (_f, got) => got.length >= 3,
  })
  if (res.error) throw new Error(`firehose: ${res.error.message}`)
  const seqs = res.frames.map((f) => f.body.seq)
  assert.deepEqual(
    seqs,
    frames.slice(k + 1, k + 4).map((f) => f.body.seq),
    `cursor=${cursor}: replay must start with the first event after it`,
  )
})

test('subscribeRepos live: a new post arrives while subscribed', T, async () => {
  needs('agent', 'signingKey')
  // The record key is chosen up front: the commit may arrive before createRecord's answer does.
  const rkey = newTid()
  const res = await collectFrames(`${WS}/xrpc/com.atproto.sync.subscribeRepos`, {
    timeoutMs: 10_000,
    onOpen: () =>
      state.agent.com.atproto.repo.createRecord({
        repo: state.did,
        collection: 'app.bsky.feed.post',
        rkey,
        record: post(`live ${suffix}`),
      }),
    until: (f) => f.t === '#commit' && f.body.ops.some((o) => o.path === `app.bsky.feed.post/${rkey}`),
  })
  if (res.error) throw new Error(`firehose: ${res.error.message}`)
  const kinds = res.frames.map((f) => (f.op === -1 ? `error ${f.body.error}` : f.t))
  assert.ok(!res.timedOut, `the live post's commit did not arrive within 10 s (frames: ${kinds.join(', ')})`)
  await verifyCommitFrame(res.frames.at(-1).body, state.signingKey)
})

test('subscribeRepos with a cursor in the future: FutureCursor error frame', T, async () => {
  const res = await collectFrames(`${WS}/xrpc/com.atproto.sync.subscribeRepos?cursor=999999999`, {
    timeoutMs: 10_000,
    until: (f) => f.op === -1,
  })
  if (res.error) throw new Error(`firehose: ${res.error.message}`)
  const err = res.frames.find((f) => f.op === -1)
  assert.ok(err, `no error frame (frames: ${res.frames.map((f) => f.t)}, closed ${JSON.stringify(res.closed)})`)
  assert.equal(err.body.error, 'FutureCursor')
})

// ---------------------------------------------------------------- bad input: right status, XRPC error body, never 500

test('bad input: malformed JSON body → 400', T, async () => {
  needs('token')
  // The error name is free (the reference says SyntaxError); the status and the body shape are not.
  for (const body of ['{"repo": "x", "collection": ', '', 'null', '[1,2]', '\u0000\u0001']) {
    const res = await call('POST', 'com.atproto.repo.createRecord', {
      token: state.token(),
      headers: { 'content-type': 'application/json' },
      body,
    })
    expectXrpcError(res, 400)
  }
})

test('bad input: wrong types in a procedure body → 400 InvalidRequest', T, async () => {
  needs('token', 'did')
  const cases = [
    { repo: state.did, collection: 123, record: post('x') },
    { repo: state.did, collection: 'app.bsky.feed.post', record: 'not an object' },
    { repo: state.did, collection: 'app.bsky.feed.post', record: post('x'), validate: 'yes' },
    { repo: state.did, record: post('x') },
    { repo: state.did, collection: 'not a nsid', record: post('x') },
    { repo: state.did, collection: 'app.bsky.feed.post', rkey: 'a/b', record: post('x') },
    { repo: state.did, collection: 'app.bsky.feed.post', rkey: '..', record: post('x') },
  ]
  for (const json of cases) {
    expectXrpcError(await call('POST', 'com.atproto.repo.createRecord', { token: state.token(), json }), 400, 'InvalidRequest')
  }
})

test('bad input: a record that breaks its lexicon → 400', T, async () => {
  needs('token', 'did')
  for (const record of [
    { $type: 'app.bsky.feed.post', text: 42, createdAt: new Date().toISOString() },
    { $type: 'app.bsky.feed.post', createdAt: new Date().toISOString() },
    { $type: 'app.bsky.feed.post', text: 'x'.repeat(3001), createdAt: new Date().toISOString() },
    { $type: 'app.bsky.feed.post', text: 'x', createdAt: 'yesterday' },
    { $type: 'app.bsky.feed.like', subject: { uri: 'at://did:plc:x/app.bsky.feed.post/y', cid: 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm' }, createdAt: new Date().toISOString() },
  ]) {
    const res = await call('POST', 'com.atproto.repo.createRecord', {
      token: state.token(),
      json: { repo: state.did, collection: 'app.bsky.feed.post', record },
    })
    expectXrpcError(res, 400, ['InvalidRequest', 'InvalidRecord'])
  }
})

test('bad input: wrong types and ranges in query params → 400 InvalidRequest', T, async () => {
  needs('did')
  const cases = [
    ['com.atproto.repo.listRecords', { repo: state.did, collection: 'app.bsky.feed.post', limit: 'abc' }],
    ['com.atproto.repo.listRecords', { repo: state.did, collection: 'app.bsky.feed.post', limit: 1000 }],
    ['com.atproto.repo.listRecords', { repo: state.did, collection: 'app.bsky.feed.post', reverse: 'maybe' }],
    ['com.atproto.repo.getRecord', { repo: state.did, collection: 'app.bsky.feed.post' }],
    ['com.atproto.repo.getRecord', { repo: 'not a did', collection: 'app.bsky.feed.post', rkey: 'x' }],
    ['com.atproto.sync.getRepo', {}],
  ]
  for (const [nsid, params] of cases) expectXrpcError(await call('GET', nsid, { params }), 400, 'InvalidRequest')
})

test('bad input: wrong content-type and wrong HTTP method → 4xx', T, async () => {
  needs('token', 'did')
  const res = await call('POST', 'com.atproto.repo.createRecord', {
    token: state.token(),
    headers: { 'content-type': 'text/plain' },
    body: JSON.stringify({ repo: state.did, collection: 'app.bsky.feed.post', record: post('x') }),
  })
  expectXrpcError(res, 400, 'InvalidRequest')
  expectXrpcError(await call('GET', 'com.atproto.repo.createRecord', { token: state.token() }), [400, 405])
  expectXrpcError(await call('POST', 'com.atproto.repo.getRecord', { json: {} }), [400, 405])
})

test('bad input: oversize bodies → 413', T, async () => {
  needs('token', 'did')
  const big = 'x'.repeat(5 * 1024 * 1024 + 1)
  const json = await call('POST', 'com.atproto.repo.createRecord', {
    token: state.token(),
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ repo: state.did, collection: 'app.bsky.feed.post', record: post(big) }),
  })
  expectXrpcError(json, 413)
  const blob = await call('POST', 'com.atproto.repo.uploadBlob', {
    token: state.token(),
    headers: { 'content-type': 'image/png' },
    body: new Uint8Array(6 * 1024 * 1024),
  })
  expectXrpcError(blob, 413)
})

test('bad input: unknown NSID → 4xx/501 with an XRPC error (GET and POST)', T, async () => {
  // The reference says 400 "No service configured" with no AppView to proxy to, or 401 (a proxied
  // call needs auth) with one; an XRPC server without the method says 404 XRPCNotSupported or
  // 501 MethodNotImplemented. Any of them, never 5xx.
  const OK = [400, 401, 404, 501]
  for (const method of ['GET', 'POST']) {
    const res = await call(method, 'com.example.doesNotExist', method === 'POST' ? { json: {} } : {})
    expectXrpcError(res, OK)
  }
  expectXrpcError(await call('GET', 'not_an_nsid'), OK)
})

test('bad input: a malformed listRepos cursor → 400 InvalidRequest', T, async () => {
  expectXrpcError(await call('GET', 'com.atproto.sync.listRepos', { params: { cursor: 'not-a-cursor' } }), 400, 'InvalidRequest')
})

test('bad input: subscribeRepos?cursor=abc → HTTP 400 or an error frame, no stream', T, async () => {
  const res = await collectFrames(`${WS}/xrpc/com.atproto.sync.subscribeRepos?cursor=abc`, {
    timeoutMs: 5000,
    until: (f) => f.op === -1,
  })
  const frame = res.frames.find((f) => f.op === -1)
  const ok =
    (res.httpStatus === 400 && /"error"\s*:/.test(res.httpBody ?? '')) ||
    (frame && typeof frame.body.error === 'string')
  assert.ok(
    ok,
    `subscribeRepos?cursor=abc: expected HTTP 400 with an XRPC error or an error frame, got ${
      res.httpStatus ? `HTTP ${res.httpStatus} ${res.httpBody}` : `frames ${JSON.stringify(res.frames.map((f) => f.t ?? f.body))}, closed ${JSON.stringify(res.closed)}${res.error ? `, ${res.error.message}` : ''}`
    }`,
  )
  assert.ok(!res.frames.some((f) => f.op === 1), 'a malformed cursor must not start a stream')
})

test('bad input: bad CIDs → 400 InvalidRequest', T, async () => {
  needs('did', 'postUri')
  const rkey = rkeyOf(state.postUri)
  const cases = [
    ['com.atproto.sync.getBlob', { did: state.did, cid: 'not-a-cid' }],
    ['com.atproto.sync.getBlocks', { did: state.did, cids: ['not-a-cid'] }],
    ['com.atproto.repo.getRecord', { repo: state.did, collection: 'app.bsky.feed.post', rkey, cid: 'bafy-nope' }],
  ]
  for (const [nsid, params] of cases) expectXrpcError(await call('GET', nsid, { params }), 400, 'InvalidRequest')
  const swap = await call('POST', 'com.atproto.repo.createRecord', {
    token: state.token(),
    json: { repo: state.did, collection: 'app.bsky.feed.post', record: post('x'), swapCommit: 'zzz' },
  })
  expectXrpcError(swap, 400, 'InvalidRequest')
})

test("bad input: writing to another account's repo → refused, nothing written", T, async () => {
  needs('token', 'otherDid', 'otherPostUri')
  const create = await call('POST', 'com.atproto.repo.createRecord', {
    token: state.token(),
    json: { repo: state.otherDid, collection: 'app.bsky.feed.post', record: post('not mine') },
  })
  expectXrpcError(create, [401, 403])
  const del = await call('POST', 'com.atproto.repo.deleteRecord', {
    token: state.token(),
    json: { repo: state.otherDid, collection: 'app.bsky.feed.post', rkey: rkeyOf(state.otherPostUri) },
  })
  expectXrpcError(del, [401, 403])
  const put = await call('POST', 'com.atproto.repo.putRecord', {
    token: state.token(),
    json: { repo: state.otherDid, collection: 'app.bsky.actor.profile', rkey: 'self', record: { $type: 'app.bsky.actor.profile' } },
  })
  expectXrpcError(put, [401, 403])
  const still = await call('GET', 'com.atproto.repo.getRecord', {
    params: { repo: state.otherDid, collection: 'app.bsky.feed.post', rkey: rkeyOf(state.otherPostUri) },
  })
  expectOk(still, "the other account's post is still there")
  const list = expectOk(
    await call('GET', 'com.atproto.repo.listRecords', { params: { repo: state.otherDid, collection: 'app.bsky.feed.post' } }),
  )
  assert.equal(list.json.records.length, 1, `the other repo holds ${list.json.records.length} posts`)
})

test('bad input: no token, or a forged one → 401/400 with an XRPC error', T, async () => {
  needs('did')
  const json = { repo: state.did, collection: 'app.bsky.feed.post', record: post('x') }
  const AUTH = ['AuthMissing', 'AuthenticationRequired'] // the reference says AuthMissing
  expectXrpcError(await call('POST', 'com.atproto.repo.createRecord', { json }), 401, AUTH)
  const forged = await call('POST', 'com.atproto.repo.createRecord', { json, token: 'eyJhbGciOiJIUzI1NiJ9.e30.AAAA' })
  expectXrpcError(forged, [400, 401], ['InvalidToken', 'AuthenticationRequired', 'ExpiredToken'])
  expectXrpcError(await call('GET', 'com.atproto.server.getSession'), 401, AUTH)
})

test('bad input: createAccount with a taken or invalid handle → 400 with the lexicon\'s error', T, async () => {
  needs('handle')
  const create = (handle, email = `x${randomBytes(4).toString('hex')}@example.com`) =>
    call('POST', 'com.atproto.server.createAccount', { json: { handle, email, password } })
  expectXrpcError(await create(state.handle), 400, ['HandleNotAvailable', 'InvalidRequest']) // the reference: InvalidRequest
  expectXrpcError(await create('not a handle'), 400, ['InvalidHandle', 'InvalidRequest'])
  expectXrpcError(await create(`x${suffix}.not-our-domain.example`), 400, ['UnsupportedDomain', 'InvalidHandle'])
  expectXrpcError(await create(`c${suffix}.test`, 'not-an-email'), 400, ['InvalidRequest', 'InvalidEmail'])
})

test('bad input: a record referencing a blob never uploaded → 400, nothing written', T, async () => {
  needs('token', 'did')
  const missing = { $type: 'blob', ref: { $link: 'bafkreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy' }, mimeType: 'image/png', size: 1234 }
  const before = expectOk(await call('GET', 'com.atproto.sync.getLatestCommit', { params: { did: state.did } })).json
  const res = await call('POST', 'com.atproto.repo.createRecord', {
    token: state.token(),
    json: {
      repo: state.did,
      collection: 'app.bsky.feed.post',
      record: { ...post('ghost image'), embed: { $type: 'app.bsky.embed.images', images: [{ image: missing, alt: '' }] } },
    },
  })
  expectXrpcError(res, 400)
  const after = expectOk(await call('GET', 'com.atproto.sync.getLatestCommit', { params: { did: state.did } })).json
  assert.equal(after.rev, before.rev, 'a commit was made for a refused write')
})

test('bad input: unknown repo and record → 400 RepoNotFound / RecordNotFound', T, async () => {
  needs('did')
  const nobody = 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa'
  expectXrpcError(await call('GET', 'com.atproto.sync.getRepo', { params: { did: nobody } }), [400, 404], 'RepoNotFound')
  expectXrpcError(await call('GET', 'com.atproto.sync.getLatestCommit', { params: { did: nobody } }), [400, 404], 'RepoNotFound')
  expectXrpcError(
    await call('GET', 'com.atproto.repo.getRecord', { params: { repo: state.did, collection: 'app.bsky.feed.post', rkey: '3zzzzzzzzzzzz' } }),
    400,
    'RecordNotFound',
  )
  expectXrpcError(
    await call('GET', 'com.atproto.sync.getBlob', { params: { did: state.did, cid: 'bafkreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy' } }),
    [400, 404],
    ['BlobNotFound', 'InvalidRequest'], // the reference: 400 InvalidRequest "Blob not found"
  )
})
