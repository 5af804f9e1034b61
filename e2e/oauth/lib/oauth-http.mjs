// The authorization server and the resource server over raw HTTP: PAR, token, revoke and XRPC with
// DPoP, keeping the server's DPoP nonce like a client must. Every answer keeps the request line and
// shows itself in failures (what was sent, what was expected, what came back).
import assert from 'node:assert/strict'
import { dpopProof } from './proofs.mjs'

const TIMEOUT_MS = 15_000

/** One HTTP exchange, body read whole; JSON parsed when it is JSON. */
export async function send(method, url, { headers = {}, form, json, redirect = 'manual' } = {}) {
  const h = { ...headers }
  let body
  if (form) {
    body = new URLSearchParams(form).toString()
    h['content-type'] = 'application/x-www-form-urlencoded'
  } else if (json !== undefined) {
    body = JSON.stringify(json)
    h['content-type'] = 'application/json'
  }
  const request = `${method} ${new URL(url).pathname}${new URL(url).search}`
  let res
  try {
    res = await fetch(url, { method, headers: h, body, redirect, signal: AbortSignal.timeout(TIMEOUT_MS) })
  } catch (err) {
    throw new Error(`${request}: no HTTP response: ${err.message}${err.cause ? ` (${err.cause.code ?? err.cause.message})` : ''}`)
  }
  const text = await res.text()
  let parsed
  try {
    parsed = JSON.parse(text)
  } catch {
    parsed = undefined
  }
  return { request, sent: form ?? json, status: res.status, headers: res.headers, text, json: parsed }
}

export const show = (res) =>
  `${res.request}${res.sent ? ` ${JSON.stringify(redact(res.sent))}` : ''} -> ${res.status} ${
    res.text.length > 400 ? res.text.slice(0, 400) + '…' : res.text
  }`

// Long opaque values make failure lines unreadable; their presence is what matters.
function redact(sent) {
  const out = {}
  for (const [k, v] of Object.entries(sent)) out[k] = typeof v === 'string' && v.length > 60 ? `${v.slice(0, 20)}…` : v
  return out
}

/** The answer must be an OAuth error (RFC 6749 5.2): that status and `error` (each may be a list). */
export function expectOAuthError(res, status, errors) {
  const names = Array.isArray(errors) ? errors : [errors]
  const statuses = Array.isArray(status) ? status : [status]
  const want = `${statuses.join(' or ')} ${names.join(' or ')}`
  assert.ok(res.status < 500, `expected ${want}, got a server error: ${show(res)}`)
  assert.ok(statuses.includes(res.status), `expected ${want}, got ${show(res)}`)
  assert.ok(res.json && typeof res.json.error === 'string', `expected ${want} as JSON {error}, got ${show(res)}`)
  assert.ok(names.includes(res.json.error), `expected ${want}, got ${show(res)}`)
  return res
}

export function expectStatus(res, status, what = '') {
  assert.equal(res.status, status, `${what ? `${what}: ` : ''}expected ${status}, got ${show(res)}`)
  return res
}

/**
 * An OAuth client's view of the authorization server: its metadata, one DPoP key and the last
 * nonce the server handed out. `post` follows the nonce dance (RFC 9449 8) once: a first answer
 * `use_dpop_nonce` is retried with the new nonce, as every client does.
 */
export class AuthServer {
  constructor(metadata, dpopKey) {
    this.metadata = metadata
    this.key = dpopKey
    this.nonce = undefined
  }

  static async discover(pdsUrl, dpopKey) {
    const res = await send('GET', new URL('/.well-known/oauth-authorization-server', pdsUrl))
    expectStatus(res, 200, 'authorization server metadata')
    return new AuthServer(res.json, dpopKey)
  }

  endpoint(name) {
    const url = this.metadata[`${name}_endpoint`]
    assert.ok(url, `the metadata has no ${name}_endpoint`)
    return url
  }

  remember(res) {
    const nonce = res.headers.get('dpop-nonce')
    if (nonce) this.nonce = nonce
  }

  /** One POST with a fresh proof (or `proof` as given), no retry; `nonce: null` sends none. */
  async postOnce(name, form, { key = this.key, proof, nonce = this.nonce } = {}) {
    const url = this.endpoint(name)
    const headers = {}
    if (key) headers.dpop = proof ?? (await dpopProof(key, { htm: 'POST', htu: url, nonce }))
    const res = await send('POST', url, { form, headers })
    this.remember(res)
    return { ...res, proof: headers.dpop }
  }

  /** POST with the nonce dance: retried once when the server asks for (another) nonce. */
  async post(name, form, options = {}) {
    let res = await this.postOnce(name, form, options)
    if (res.status === 400 && res.json?.error === 'use_dpop_nonce') {
      res = await this.postOnce(name, form, { ...options, proof: undefined, nonce: this.nonce })
    }
    return res
  }

  /** A pushed authorization request; returns the answer (201 {request_uri, expires_in} on success). */
  par(form, options) {
    return this.post('pushed_authorization_request', form, options)
  }

  /** The browser's URL for a pushed request. */
  authorizeUrl(clientId, requestUri) {
    const url = new URL(this.endpoint('authorization'))
    url.searchParams.set('client_id', clientId)
    url.searchParams.set('request_uri', requestUri)
    return url.href
  }
}

/**
 * XRPC to the resource server with a DPoP-bound token, following the resource server's nonce
 * dance (401 + WWW-Authenticate: DPoP error="use_dpop_nonce") once. `scheme` can be forced to
 * 'Bearer' to misuse the token.
 */
export class ResourceClient {
  constructor(pdsUrl, dpopKey, accessToken) {
    this.pdsUrl = pdsUrl
    this.key = dpopKey
    this.token = accessToken
    this.nonce = undefined
  }

  async callOnce(method, nsid, { params, json, scheme = 'DPoP', withProof = scheme === 'DPoP' } = {}) {
    const url = new URL(`/xrpc/${nsid}`, this.pdsUrl)
    for (const [k, v] of Object.entries(params ?? {})) url.searchParams.set(k, String(v))
    const headers = { authorization: `${scheme} ${this.token}` }
    if (withProof) {
      headers.dpop = await dpopProof(this.key, { htm: method, htu: url.href, nonce: this.nonce, accessToken: this.token })
    }
    const res = await send(method, url, { headers, json })
    const nonce = res.headers.get('dpop-nonce')
    if (nonce) this.nonce = nonce
    return res
  }

  async call(method, nsid, options = {}) {
    let res = await this.callOnce(method, nsid, options)
    if (res.status === 401 && /use_dpop_nonce/.test(res.headers.get('www-authenticate') ?? '')) {
      res = await this.callOnce(method, nsid, options)
    }
    return res
  }
}
