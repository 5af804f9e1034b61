// Hand-made OAuth proofs for the raw-HTTP tests, with jose: DPoP proofs (RFC 9449), PKCE pairs
// (RFC 7636) and private_key_jwt client assertions (RFC 7523). Made by hand so that a test can
// make exactly the wrong one it needs (a replayed jti, another key, a plain challenge).
import { createHash, createPrivateKey, randomBytes, randomUUID, sign } from 'node:crypto'
import { SignJWT, exportJWK, generateKeyPair } from 'jose'

export const b64url = (bytes) => Buffer.from(bytes).toString('base64url')
export const sha256b64url = (text) => b64url(createHash('sha256').update(text).digest())

/** A fresh ES256 key pair with its public JWK, for DPoP or a client's JWKS. */
export async function newKey(kid) {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  const jwk = await exportJWK(publicKey)
  if (kid) Object.assign(jwk, { kid, alg: 'ES256', use: 'sig' })
  return { privateKey, jwk }
}

/**
 * A key some client library made, from its private JWK: ES256 (P-256) or ES256K (secp256k1, which
 * @atproto/oauth-client may pick and WebCrypto, hence jose, cannot sign with).
 */
export function keyFromPrivateJwk({ kty, crv, x, y, d }) {
  const alg = crv === 'secp256k1' ? 'ES256K' : 'ES256'
  return { alg, privateKey: createPrivateKey({ key: { kty, crv, x, y, d }, format: 'jwk' }), jwk: { kty, crv, x, y } }
}

// A compact JWS with node:crypto, for the ES256K keys jose cannot use.
function signCompact(header, payload, privateKey) {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`
  const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' })
  return `${input}.${b64url(signature)}`
}

/**
 * A DPoP proof JWT for one request. `htu` is the target URL without query or fragment (RFC 9449
 * 4.2); `accessToken` adds `ath`; `nonce` is the server's last DPoP-Nonce. `jti` and `iat` can be
 * forced to build replays.
 */
export async function dpopProof(key, { htm, htu, nonce, accessToken, jti = randomUUID(), iat } = {}) {
  const url = new URL(htu)
  url.search = ''
  url.hash = ''
  const payload = { jti, htm, htu: url.href }
  if (nonce) payload.nonce = nonce
  if (accessToken) payload.ath = sha256b64url(accessToken)
  if (key.alg === 'ES256K') {
    const header = { typ: 'dpop+jwt', alg: 'ES256K', jwk: key.jwk }
    return signCompact(header, { ...payload, iat: iat ?? Math.floor(Date.now() / 1000) }, key.privateKey)
  }
  return new SignJWT(payload)
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.jwk })
    .setIssuedAt(iat ?? Math.floor(Date.now() / 1000))
    .sign(key.privateKey)
}

/** A PKCE pair, S256 unless told otherwise. */
export function pkce(method = 'S256') {
  const verifier = b64url(randomBytes(32))
  const challenge = method === 'S256' ? sha256b64url(verifier) : verifier
  return { verifier, challenge, method }
}

/** A private_key_jwt client assertion: iss = sub = client_id, aud = the issuer. */
export async function clientAssertion(key, { clientId, audience }) {
  return new SignJWT({ jti: randomUUID() })
    .setProtectedHeader({ alg: 'ES256', kid: key.jwk.kid })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime('60s')
    .sign(key.privateKey)
}

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
