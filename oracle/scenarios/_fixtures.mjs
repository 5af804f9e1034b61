// Inputs shared by the scenarios: fixed rkeys and timestamps, so both servers build the same records.
// (A file starting with `_` exports no scenarios; the harness still imports it, so it exports an empty list.)
export const scenarios = []

export const CREATED_AT = '2026-01-02T03:04:05.000Z'
const B32 = '234567abcdefghijklmnopqrstuvwxyz'

/** A fixed, valid TID for record n (the same on both servers). */
export function rkey(n) {
  let s = ''
  for (let i = 0; i < 3; i++) {
    s = B32[n % 32] + s
    n = Math.floor(n / 32)
  }
  return `3jzfcijpj2${s}`
}

export const post = (text, extra = {}) => ({ $type: 'app.bsky.feed.post', text, createdAt: CREATED_AT, ...extra })
export const POST = 'app.bsky.feed.post'
export const PROFILE = 'app.bsky.actor.profile'
