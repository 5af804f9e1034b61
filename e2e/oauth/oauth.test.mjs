// The relay as an atproto OAuth server, end to end (run by e2e/oauth/run.sh, which starts the PLC
// directory and the server and sets E2E_PDS_URL, E2E_PLC_URL, E2E_TARGET, E2E_OUT).
//
// - The positive flow with the official @atproto/oauth-client-node: authorize, Chromium through
//   the sign-in and consent pages, callback, XRPC through @atproto/api's Agent, refresh, revoke.
// - A confidential client (private_key_jwt) over raw HTTP.
// - One negative test per MUST of the atproto OAuth profile, by raw HTTP with hand-made DPoP
//   proofs, each asserting the status and error the contract (/work/wt/OAUTH-CONTRACT.md) names.
// - The pages: login_hint, choose account, deny, the error page, the session list /account.
// Tests run in order and share one browser (its cookies are a person's signed-in state).
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, test } from 'node:test'
import { Agent } from '@atproto/api'
import { NodeOAuthClient, buildAtprotoLoopbackClientMetadata, requestLocalLock } from '@atproto/oauth-client-node'
import { Browser } from './lib/browser.mjs'
import { ClientApp } from './lib/client-app.mjs'
import { AuthServer, ResourceClient, expectOAuthError, expectStatus, send, show } from './lib/oauth-http.mjs'
import { authorize, bodyText, driverFor, expectPage } from './lib/pages.mjs'
import { CLIENT_ASSERTION_TYPE, clientAssertion, dpopProof, keyFromPrivateJwk, newKey, pkce } from './lib/proofs.mjs'

const PDS = process.env.E2E_PDS_URL
const PLC = process.env.E2E_PLC_URL
const TARGET = process.env.E2E_TARGET ?? 'relay'
const OUT = process.env.E2E_OUT
if (!PDS || !PLC || !OUT) throw new Error('run through e2e/oauth/run.sh (E2E_PDS_URL, E2E_PLC_URL, E2E_OUT unset)')
const ON_RELAY = TARGET === 'relay'
// What only the relay is asked to do: its page markup (choose account, the session list), and
// http client_id URLs in dev mode (the reference takes https ones only).
const RELAY_ONLY = ON_RELAY ? {} : { skip: 'relay-only (the contract’s page markup / http client_id in dev mode)' }

const GENERIC = 'atproto transition:generic'
const suffix = randomBytes(3).toString('hex')
const driver = driverFor(TARGET)
let app // the test client's loopback server (redirects, client metadata)
let browser
const accounts = {}

async function createAccount(name) {
  const handle = `${name}${suffix}.test`
  const password = `pw-${name}-${randomBytes(6).toString('hex')}`
  const res = await send('POST', new URL('/xrpc/com.atproto.server.createAccount', PDS), {
    json: { handle, email: `${name}${suffix}@example.com`, password },
  })
  expectStatus(res, 200, `creating the test account ${handle}`)
  return { handle, password, did: res.json.did }
}

before(async () => {
  app = await new ClientApp().start()
  accounts.alice = await createAccount('alice')
  accounts.bob = await createAccount('bob')
  browser = await Browser.launch(OUT)
})

after(async () => {
  await browser?.close()
  await app?.stop()
})

// --- helpers

/** A loopback public client (atproto profile: client_id http://localhost?redirect_uri=…&scope=…). */
function loopbackClient(path, scope = GENERIC) {
  const redirectUri = app.redirectUri(path)
  const meta = buildAtprotoLoopbackClientMetadata({ scope, redirect_uris: [redirectUri] })
  return { clientId: meta.client_id, redirectUri, scope }
}

/** PAR parameters for `client`, with a fresh S256 PKCE pair; `extra` overrides any. */
function parForm(client, pair, extra = {}) {
  return {
    client_id: client.clientId,
    response_type: 'code',
    redirect_uri: client.redirectUri,
    scope: client.scope,
    state: randomBytes(8).toString('hex'),
    code_challenge: pair.challenge,
    code_challenge_method: pair.method,
    ...extra,
  }
}

/**
 * PAR, then the browser through the pages to the redirect: returns what a client holds before
 * the token request (code, verifier, DPoP key, the authorization server with its nonce).
 */
async function codeFor(account, client, { loginHint = true, allow = true, shots, extraPar = {}, auth = {} } = {}) {
  const as = await AuthServer.discover(PDS, await newKey())
  const pair = pkce()
  const form = parForm(client, pair, { ...(loginHint ? { login_hint: account.handle } : {}), ...extraPar })
  const par = await as.par({ ...form, ...(await auth.par?.(as)) })
  expectStatus(par, 201, 'PAR')
  app.reset()
  const landing = app.waitForRedirect()
  const pages = await authorize(browser, driver, as.authorizeUrl(client.clientId, par.json.request_uri), {
    password: account.password,
    username: account.handle,
    did: account.did,
    allow,
    shots,
  })
  const { path, params } = await landing
  assert.equal(path, new URL(client.redirectUri).pathname, 'the redirect went to the registered redirect_uri')
  assert.equal(params.get('state'), form.state, `state comes back unchanged (${params})`)
  assert.equal(params.get('iss'), as.metadata.issuer, `iss is the issuer (RFC 9207) (${params})`)
  return { as, pair, params, code: params.get('code'), client, pages }
}

/** The token request for a code; `verifier` and `key` can be swapped to misbehave. */
function exchange(grant, { verifier = grant.pair.verifier, key, extra = {} } = {}) {
  return grant.as.post(
    'token',
    {
      grant_type: 'authorization_code',
      code: grant.code,
      redirect_uri: grant.client.redirectUri,
      code_verifier: verifier,
      client_id: grant.client.clientId,
      ...extra,
    },
    key ? { key } : {},
  )
}

function refresh(as, client, refreshToken, { key, extra = {} } = {}) {
  return as.post(
    'token',
    { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: client.clientId, ...extra },
    key ? { key } : {},
  )
}

/** A code exchanged for tokens, checked against the contract's token response. */
async function tokensFor(account, client, options) {
  const grant = await codeFor(account, client, options)
  assert.ok(grant.code, `a code in the redirect (${grant.params})`)
  const res = expectStatus(await exchange(grant), 200, 'the token request')
  checkTokenResponse(res.json, account, client.scope)
  return { ...grant, tokens: res.json }
}

function checkTokenResponse(t, account, scope) {
  assert.equal(typeof t.access_token, 'string', `access_token in ${JSON.stringify(t)}`)
  assert.equal(t.token_type, 'DPoP', 'token_type DPoP')
  assert.equal(typeof t.refresh_token, 'string', 'a refresh_token')
  assert.ok(Number.isInteger(t.expires_in) && t.expires_in > 0, `expires_in ${t.expires_in}`)
  assert.equal(t.sub, account.did, 'sub is the account DID')
  assert.deepEqual(new Set(t.scope.split(' ')), new Set(scope.split(' ')), `scope granted ${t.scope}`)
}

const getSession = (rc) => rc.call('GET', 'com.atproto.server.getSession')

// --- metadata and the first request

test('metadata: protected resource and authorization server (RFC 9728, RFC 8414, atproto profile)', async () => {
  const pr = expectStatus(await send('GET', new URL('/.well-known/oauth-protected-resource', PDS)), 200)
  assert.equal(pr.json.resource, PDS, 'resource is the public URL')
  assert.deepEqual(pr.json.authorization_servers, [PDS], 'the relay is its own authorization server')
  assert.deepEqual(pr.json.bearer_methods_supported, ['header'])
  assert.ok(Array.isArray(pr.json.scopes_supported), 'scopes_supported is a list')

  const as = expectStatus(await send('GET', new URL('/.well-known/oauth-authorization-server', PDS)), 200).json
  const want = {
    issuer: PDS,
    authorization_endpoint: `${PDS}/oauth/authorize`,
    token_endpoint: `${PDS}/oauth/token`,
    pushed_authorization_request_endpoint: `${PDS}/oauth/par`,
    revocation_endpoint: `${PDS}/oauth/revoke`,
    jwks_uri: `${PDS}/oauth/jwks`,
    require_pushed_authorization_requests: true,
    authorization_response_iss_parameter_supported: true,
    client_id_metadata_document_supported: true,
  }
  for (const [k, v] of Object.entries(want)) assert.equal(as[k], v, `${k} in ${JSON.stringify(as)}`)
  assert.deepEqual(as.response_types_supported, ['code'])
  assert.deepEqual(as.code_challenge_methods_supported, ['S256'], 'S256 only')
  for (const g of ['authorization_code', 'refresh_token']) assert.ok(as.grant_types_supported.includes(g), g)
  for (const m of ['none', 'private_key_jwt']) assert.ok(as.token_endpoint_auth_methods_supported.includes(m), m)
  assert.ok(as.token_endpoint_auth_signing_alg_values_supported.includes('ES256'), 'ES256 client assertions')
  assert.ok(as.dpop_signing_alg_values_supported.includes('ES256'), 'ES256 DPoP proofs')
  assert.ok(!as.dpop_signing_alg_values_supported.includes('none'), 'no unsigned DPoP proofs')
  assert.ok(as.scopes_supported.includes('atproto'), 'atproto in scopes_supported')
  const jwks = expectStatus(await send('GET', as.jwks_uri), 200, 'jwks_uri').json
  assert.ok(Array.isArray(jwks.keys), 'the JWKS has a keys list')
  for (const k of jwks.keys) assert.equal(k.d, undefined, 'no private key material in the JWKS')
})

test('PAR: DPoP required, the nonce dance (use_dpop_nonce + DPoP-Nonce), then request_uri', async () => {
  const client = loopbackClient('/par')
  const as = await AuthServer.discover(PDS, await newKey())
  const form = parForm(client, pkce())
  if (ON_RELAY) {
    // The contract binds the key from PAR on; the reference takes a PAR without DPoP (it binds at
    // the token request), so this part is the relay's alone.
    const without = await as.postOnce('pushed_authorization_request', form, { key: null })
    expectOAuthError(without, 400, ['invalid_dpop_proof', 'invalid_request', 'use_dpop_nonce'])
  }
  const first = await as.postOnce('pushed_authorization_request', form, { nonce: null })
  expectOAuthError(first, 400, 'use_dpop_nonce')
  assert.ok(first.headers.get('dpop-nonce'), 'a DPoP-Nonce header with use_dpop_nonce')
  const second = expectStatus(await as.postOnce('pushed_authorization_request', form), 201, 'PAR with the nonce')
  assert.match(second.json.request_uri, /^urn:ietf:params:oauth:request_uri:/, 'request_uri (RFC 9126)')
  assert.ok(second.json.expires_in > 0, 'expires_in')
})

// --- the whole flow with the official client

test('flow: @atproto/oauth-client-node through the sign-in and consent pages, XRPC, refresh, revoke', async () => {
  const alice = accounts.alice
  const client = loopbackClient('/flow')
  const states = new Map()
  const sessions = new Map()
  const store = (m) => ({ get: async (k) => m.get(k), set: async (k, v) => void m.set(k, v), del: async (k) => void m.delete(k) })
  const oauth = new NodeOAuthClient({
    clientMetadata: buildAtprotoLoopbackClientMetadata({ scope: client.scope, redirect_uris: [client.redirectUri] }),
    stateStore: store(states),
    sessionStore: store(sessions),
    handleResolver: PDS, // com.atproto.identity.resolveHandle on the server: .test handles have no DNS
    plcDirectoryUrl: PLC,
    allowHttp: true, // dev issuer on http://localhost
    requestLock: requestLocalLock,
  })
  const url = await oauth.authorize(alice.handle, { scope: client.scope })
  assert.equal(url.origin, PDS, `the client found the relay as authorization server (${url})`)

  // A person: sign-in page (username from login_hint), a wrong password first, then the right one.
  const page = await browser.page()
  app.reset()
  const landing = app.waitForRedirect()
  await page.goto(url.href)
  await expectPage(driver, page, 'sign-in', browser)
  await browser.screenshot(page, 'sign-in')
  assert.equal(await page.locator('input[name="username"]').inputValue(), alice.handle, 'login_hint prefilled')
  await driver.fillSignIn(page, { password: 'not-the-password' })
  if (ON_RELAY) {
    await page.locator('[role="alert"]').first().waitFor({ timeout: 15_000 })
    await expectPage(driver, page, 'sign-in', browser)
  } else {
    await page.getByText(/invalid|incorrect|wrong/i).first().waitFor({ timeout: 15_000 })
  }
  await browser.screenshot(page, 'sign-in-error')
  const seen = await authorize(browser, driver, null, {
    password: alice.password,
    allow: true,
    shots: { consent: 'consent' },
  })
  assert.deepEqual(seen.slice(-2), ['consent', 'landed'], `pages seen: ${seen.join(' -> ')}`)
  if (ON_RELAY) {
    // The consent page names the client by its client_id URL (the contract).
    const said = seen.text.consent.replace(/\s+/g, ' ')
    assert.ok(said.includes('http://localhost'), `the consent page shows the client_id: ${said}`)
  }
  const { params } = await landing
  const { session } = await oauth.callback(params)
  assert.equal(session.did, alice.did)

  // XRPC with the DPoP session.
  const agent = new Agent(session)
  const text = `oauth e2e ${suffix}`
  const created = await agent.com.atproto.repo.createRecord({
    repo: alice.did,
    collection: 'app.bsky.feed.post',
    record: { $type: 'app.bsky.feed.post', text, createdAt: new Date().toISOString() },
  })
  const rkey = created.data.uri.split('/').pop()
  const got = await agent.com.atproto.repo.getRecord({ repo: alice.did, collection: 'app.bsky.feed.post', rkey })
  assert.equal(got.data.value.text, text)
  const who = await agent.com.atproto.server.getSession()
  assert.equal(who.data.did, alice.did)

  // Refresh: a new refresh token, and the old one is spent (single use, rotating).
  const before = sessions.get(alice.did).tokenSet
  const info = await session.getTokenInfo(true)
  assert.equal(info.sub, alice.did)
  const afterRefresh = sessions.get(alice.did).tokenSet
  // The access token may come out byte-identical (the relay derives it from the session id and
  // the second it is issued); the refresh token must be a new one (single use, rotating).
  assert.notEqual(afterRefresh.refresh_token, before.refresh_token, 'a new refresh token')
  const again = await agent.com.atproto.repo.getRecord({ repo: alice.did, collection: 'app.bsky.feed.post', rkey })
  assert.equal(again.data.value.text, text, 'XRPC with the refreshed token')

  // The same key and client, by hand, for what the client library will not do.
  const key = keyFromPrivateJwk(sessions.get(alice.did).dpopJwk)
  const as = await AuthServer.discover(PDS, key)
  const stale = await refresh(as, client, before.refresh_token)
  expectOAuthError(stale, 400, 'invalid_grant')

  // Revoke: the session's tokens stop working.
  const live = new ResourceClient(PDS, key, afterRefresh.access_token)
  await session.signOut()
  const dead = await getSession(live)
  assert.equal(dead.status, 401, `the revoked access token: ${show(dead)}`)
  expectOAuthError(await refresh(as, client, afterRefresh.refresh_token), 400, 'invalid_grant')
})

test('revoke endpoint (RFC 7009): 200 for a well-formed request, and the refresh token is dead', async () => {
  const client = loopbackClient('/revoke')
  const grant = await tokensFor(accounts.alice, client)
  const rc = new ResourceClient(PDS, grant.as.key, grant.tokens.access_token)
  expectStatus(await getSession(rc), 200, 'before revocation')
  const res = await grant.as.post('revocation', { token: grant.tokens.refresh_token, client_id: client.clientId })
  expectStatus(res, 200, 'revocation')
  expectOAuthError(await refresh(grant.as, client, grant.tokens.refresh_token), 400, 'invalid_grant')
  const unknown = await grant.as.post('revocation', { token: 'no-such-token', client_id: client.clientId })
  expectStatus(unknown, 200, 'revoking an unknown token is not an error (RFC 7009 2.2)')
})

test('confidential client: private_key_jwt with metadata and JWKS served on 127.0.0.1', RELAY_ONLY, async () => {
  const key = await newKey(`k-${suffix}`)
  const redirectUri = app.redirectUri('/confidential')
  const clientId = `${app.origin}/client-metadata.json`
  app.serveJson('/jwks.json', { keys: [key.jwk] })
  app.serveJson('/client-metadata.json', {
    client_id: clientId,
    client_name: 'oauth e2e confidential client',
    application_type: 'web',
    redirect_uris: [redirectUri],
    scope: GENERIC,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'ES256',
    jwks_uri: `${app.origin}/jwks.json`,
    dpop_bound_access_tokens: true,
  })
  const client = { clientId, redirectUri, scope: GENERIC }
  const assertion = async (as) => ({
    client_assertion_type: CLIENT_ASSERTION_TYPE,
    client_assertion: await clientAssertion(key, { clientId, audience: as.metadata.issuer }),
  })
  const grant = await codeFor(accounts.alice, client, { auth: { par: assertion } })
  assert.ok(grant.code, `a code (${grant.params})`)

  const unauthenticated = await exchange(grant)
  // RFC 6749 5.2: invalid_client may be 401; a missing assertion may also read as invalid_request.
  expectOAuthError(unauthenticated, [400, 401], ['invalid_client', 'invalid_request'])
  const stranger = await newKey(key.jwk.kid) // same kid, not the key the JWKS publishes
  const forged = await exchange(grant, {
    extra: {
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: await clientAssertion(stranger, { clientId, audience: grant.as.metadata.issuer }),
    },
  })
  expectOAuthError(forged, [400, 401], 'invalid_client')
  const res = expectStatus(await exchange(grant, { extra: await assertion(grant.as) }), 200, 'token with a client assertion')
  checkTokenResponse(res.json, accounts.alice, GENERIC)
  const rc = new ResourceClient(PDS, grant.as.key, res.json.access_token)
  expectStatus(await getSession(rc), 200, 'XRPC with the confidential client’s token')
  const next = await refresh(grant.as, client, res.json.refresh_token, { extra: await assertion(grant.as) })
  expectStatus(next, 200, 'refresh with a client assertion')
})

// --- one negative test per MUST

test('MUST: a replayed DPoP proof is refused (PAR: invalid_dpop_proof; XRPC: 401)', async () => {
  const client = loopbackClient('/replay')
  const as = await AuthServer.discover(PDS, await newKey())
  const form = parForm(client, pkce())
  const ok = expectStatus(await as.par(form), 201, 'PAR')
  const replay = await as.postOnce('pushed_authorization_request', parForm(client, pkce()), { proof: ok.proof })
  // RFC 9449 5 answers a bad proof as an RFC 6749 5.2 error: 400 (the contract). The reference says 401.
  expectOAuthError(replay, ON_RELAY ? 400 : [400, 401], 'invalid_dpop_proof')

  const grant = await tokensFor(accounts.alice, client)
  const rc = new ResourceClient(PDS, grant.as.key, grant.tokens.access_token)
  expectStatus(await getSession(rc), 200, 'a first call')
  const url = new URL('/xrpc/com.atproto.server.getSession', PDS)
  const proof = await dpopProof(rc.key, { htm: 'GET', htu: url.href, nonce: rc.nonce, accessToken: rc.token })
  const headers = { authorization: `DPoP ${rc.token}`, dpop: proof }
  expectStatus(await send('GET', url, { headers }), 200, 'the proof once')
  const again = await send('GET', url, { headers })
  assert.equal(again.status, 401, `the same proof again: ${show(again)}`)
  assert.equal(typeof again.json?.error, 'string', `an error name: ${show(again)}`)
})

test('MUST: a refresh with a different DPoP key is refused', async () => {
  const client = loopbackClient('/other-key')
  const grant = await tokensFor(accounts.alice, client)
  const res = await refresh(grant.as, client, grant.tokens.refresh_token, { key: await newKey() })
  expectOAuthError(res, 400, ['invalid_grant', 'invalid_dpop_proof'])
  // And the token with another key at the resource server: not bound to it.
  const thief = new ResourceClient(PDS, await newKey(), grant.tokens.access_token)
  const stolen = await getSession(thief)
  assert.equal(stolen.status, 401, `the access token with another DPoP key: ${show(stolen)}`)
})

test('MUST: a code is used once, and only with its PKCE verifier', async () => {
  const client = loopbackClient('/code-reuse')
  const grant = await codeFor(accounts.alice, client)
  const wrong = await exchange(grant, { verifier: pkce().verifier })
  expectOAuthError(wrong, 400, 'invalid_grant')
  // The wrong verifier may have burnt the code (the reference does): use a fresh one for reuse.
  const fresh = await codeFor(accounts.alice, client)
  // The token endpoint's nonce dance first (a proof without the server's nonce): it spends nothing.
  const noNonce = await fresh.as.postOnce(
    'token',
    {
      grant_type: 'authorization_code',
      code: fresh.code,
      redirect_uri: client.redirectUri,
      code_verifier: fresh.pair.verifier,
      client_id: client.clientId,
    },
    { nonce: null },
  )
  expectOAuthError(noNonce, 400, 'use_dpop_nonce')
  assert.ok(noNonce.headers.get('dpop-nonce'), 'a DPoP-Nonce header with use_dpop_nonce')
  const first = expectStatus(await exchange(fresh), 200, 'the first exchange')
  const second = await exchange(fresh)
  expectOAuthError(second, 400, 'invalid_grant')
  assert.ok(first.json.access_token)
})

test('MUST: PKCE plain (or none) is refused at PAR', async () => {
  const client = loopbackClient('/pkce')
  const as = await AuthServer.discover(PDS, await newKey())
  const plain = await as.par(parForm(client, pkce('plain')))
  expectOAuthError(plain, 400, 'invalid_request')
  const none = parForm(client, pkce())
  delete none.code_challenge
  delete none.code_challenge_method
  expectOAuthError(await as.par(none), 400, 'invalid_request')
})

test('MUST: an unregistered redirect_uri is refused at PAR', async () => {
  const client = loopbackClient('/registered')
  const as = await AuthServer.discover(PDS, await newKey())
  const res = await as.par(parForm(client, pkce(), { redirect_uri: app.redirectUri('/not-registered') }))
  expectOAuthError(res, 400, 'invalid_request')
})

test('MUST: a request without the atproto scope is refused at PAR', async () => {
  const client = loopbackClient('/no-atproto')
  const as = await AuthServer.discover(PDS, await newKey())
  const res = await as.par(parForm(client, pkce(), { scope: 'transition:generic' }))
  expectOAuthError(res, 400, 'invalid_scope')
})

test('resource server: a proof without the nonce gets 401 use_dpop_nonce, WWW-Authenticate and DPoP-Nonce', async () => {
  const client = loopbackClient('/rs-nonce')
  const grant = await tokensFor(accounts.alice, client)
  const rc = new ResourceClient(PDS, grant.as.key, grant.tokens.access_token)
  const first = await rc.callOnce('GET', 'com.atproto.server.getSession')
  assert.equal(first.status, 401, `without a nonce: ${show(first)}`)
  assert.match(first.headers.get('www-authenticate') ?? '', /^DPoP\b.*error="use_dpop_nonce"/, 'WWW-Authenticate')
  assert.ok(first.headers.get('dpop-nonce'), 'a DPoP-Nonce header')
  assert.equal(first.json?.error, 'use_dpop_nonce', `the body: ${show(first)}`)
  const second = expectStatus(await rc.callOnce('GET', 'com.atproto.server.getSession'), 200, 'with the nonce')
  assert.equal(second.json.did, accounts.alice.did)
})

test('MUST: a DPoP-bound access token sent as Bearer is refused', async () => {
  const client = loopbackClient('/bearer')
  const grant = await tokensFor(accounts.alice, client)
  const rc = new ResourceClient(PDS, grant.as.key, grant.tokens.access_token)
  expectStatus(await getSession(rc), 200, 'as DPoP')
  const bearer = await rc.call('GET', 'com.atproto.server.getSession', { scheme: 'Bearer', withProof: false })
  // The contract: 401. The reference answers 400 InvalidToken ("Malformed token").
  assert.ok((ON_RELAY ? [401] : [400, 401]).includes(bearer.status), `as Bearer without a proof: ${show(bearer)}`)
  assert.equal(typeof bearer.json?.error, 'string', `an error name: ${show(bearer)}`)
  const bearerWithProof = await rc.call('GET', 'com.atproto.server.getSession', { scheme: 'Bearer', withProof: true })
  assert.ok((ON_RELAY ? [401] : [400, 401]).includes(bearerWithProof.status), `as Bearer with a proof: ${show(bearerWithProof)}`)
})

test('MUST: a call the granted scope does not cover is refused (403)', async () => {
  // repo:app.bsky.feed.post covers creating posts, and nothing else in the repository.
  const client = loopbackClient('/narrow', 'atproto repo:app.bsky.feed.post')
  const grant = await tokensFor(accounts.alice, client)
  const rc = new ResourceClient(PDS, grant.as.key, grant.tokens.access_token)
  const record = (type) => ({
    repo: accounts.alice.did,
    collection: type,
    record: { $type: type, createdAt: new Date().toISOString(), ...(type.endsWith('post') ? { text: 'narrow' } : {}) },
  })
  const post = await rc.call('POST', 'com.atproto.repo.createRecord', { json: record('app.bsky.feed.post') })
  expectStatus(post, 200, 'a post, which the scope covers')
  const like = await rc.call('POST', 'com.atproto.repo.createRecord', {
    json: { ...record('app.bsky.feed.like'), record: { ...record('app.bsky.feed.like').record, subject: { uri: post.json.uri, cid: post.json.cid } } },
  })
  assert.equal(like.status, 403, `a like, which it does not: ${show(like)}`)
  assert.equal(typeof like.json?.error, 'string', `an error name: ${show(like)}`)
})

// --- the pages

test('pages: login_hint pre-fills the username on the sign-in page', async () => {
  const bob = accounts.bob
  const client = loopbackClient('/login-hint')
  const as = await AuthServer.discover(PDS, await newKey())
  const par = expectStatus(await as.par(parForm(client, pkce(), { login_hint: bob.handle })), 201, 'PAR')
  const page = await browser.page()
  await page.goto(as.authorizeUrl(client.clientId, par.json.request_uri))
  await expectPage(driver, page, 'sign-in', browser)
  assert.equal(await page.locator('input[name="username"]').inputValue(), bob.handle)
  await browser.screenshot(page, 'sign-in-login-hint')
  // Sign bob in too, so that this browser holds two accounts for the next test.
  app.reset()
  const landing = app.waitForRedirect()
  await authorize(browser, driver, null, { password: bob.password, allow: true })
  const { params } = await landing
  assert.ok(params.get('code'), `a code for bob: ${params}`)
})

test('pages: a second authorization in the same browser offers the signed-in accounts', RELAY_ONLY, async () => {
  const client = loopbackClient('/choose')
  const grant = await codeFor(accounts.alice, client, { loginHint: false, shots: { 'choose-account': 'choose-account' } })
  assert.equal(grant.pages[0], 'choose-account', `pages seen: ${grant.pages.join(' -> ')}`)
  const res = expectStatus(await exchange(grant), 200, 'the token request')
  assert.equal(res.json.sub, accounts.alice.did, 'the account picked is the one authorized')
  // Both signed-in accounts were offered, and another account can be used.
  const as = await AuthServer.discover(PDS, await newKey())
  const par = expectStatus(await as.par(parForm(client, pkce())), 201, 'PAR')
  const page = await browser.page()
  await page.goto(as.authorizeUrl(client.clientId, par.json.request_uri))
  await expectPage(driver, page, 'choose-account', browser)
  for (const a of [accounts.alice, accounts.bob]) {
    assert.equal(await page.locator(`button[name="account"][value="${a.did}"]`).count(), 1, `${a.handle} offered`)
  }
  assert.ok(await page.getByRole('link', { name: /use another account/i }).count(), 'a "Use another account" link')
})

test('pages: Deny sends the person back with error=access_denied', async () => {
  const client = loopbackClient('/deny')
  const grant = await codeFor(accounts.alice, client, { allow: false })
  assert.equal(grant.params.get('error'), 'access_denied', `the redirect: ${grant.params}`)
  assert.equal(grant.params.get('code'), null, 'no code with a denial')
})

test('pages: a bad request_uri shows an error page with a way back', async () => {
  const client = loopbackClient('/bad-request-uri')
  const as = await AuthServer.discover(PDS, await newKey())
  const page = await browser.page()
  const res = await page.goto(as.authorizeUrl(client.clientId, 'urn:ietf:params:oauth:request_uri:req-nonexistent'))
  assert.ok(res.status() >= 400 && res.status() < 500, `a 4xx status, got ${res.status()}`)
  if (ON_RELAY) {
    await expectPage(driver, page, 'error', browser)
    assert.ok(await page.locator('a[href]').count(), `a link back: ${await bodyText(page)}`)
  } else {
    await page.getByText(/error|invalid|unknown|expired/i).first().waitFor({ timeout: 15_000 })
  }
  await browser.screenshot(page, 'error')
})

test('pages: the session list /account shows the app, and Revoke kills its tokens', RELAY_ONLY, async () => {
  const alice = accounts.alice
  const client = loopbackClient(`/session-list-${suffix}`)
  const grant = await tokensFor(alice, client)
  const page = await browser.page()
  await page.goto(new URL('/account', PDS).href)
  const signIn = page.locator('form[action="/account/sign-in"]')
  const list = page.locator('form[action="/account/revoke"]')
  await signIn.or(list).first().waitFor({ timeout: 15_000 })
  if (await signIn.isVisible()) {
    await browser.screenshot(page, 'account-sign-in')
    await signIn.locator('input[name="username"]').fill(alice.handle)
    await signIn.locator('input[name="password"][type="password"]').fill(alice.password)
    await signIn.locator('button[type="submit"]', { hasText: 'Sign in' }).click()
  }
  await list.first().waitFor({ timeout: 15_000 })
  await browser.screenshot(page, 'session-list')
  // The row of this app: the smallest element naming its client_id that holds a Revoke button.
  const marker = `session-list-${suffix}`
  const rows = page
    .locator('li, tr, article, section, div, form')
    .filter({ hasText: marker })
    .filter({ has: page.locator('button[name="revoke"]') })
  assert.ok(await rows.count(), `the app (${client.clientId}) is listed: ${await bodyText(page)}`)
  await rows.last().locator('button[name="revoke"]').first().click()
  await page.waitForLoadState('domcontentloaded')
  expectOAuthError(await refresh(grant.as, client, grant.tokens.refresh_token), 400, 'invalid_grant')
  const rc = new ResourceClient(PDS, grant.as.key, grant.tokens.access_token)
  const res = await getSession(rc)
  assert.equal(res.status, 401, `the revoked app's access token: ${show(res)}`)
})
