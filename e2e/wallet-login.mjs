// The stock client on an account made by the wallet: @atproto/api logs in with the handle and
// password, posts, and reads the post back. Prints one JSON line {did, uri, text}; exits 1 on
// any failure. Used by crates/wallet/tests/sovereign.rs.
//
//   node e2e/wallet-login.mjs <pds-url> <handle> <password>
import { AtpAgent } from '@atproto/api'

const [service, identifier, password] = process.argv.slice(2)
if (!service || !identifier || !password) {
  console.error('usage: node e2e/wallet-login.mjs <pds-url> <handle> <password>')
  process.exit(2)
}
try {
  const agent = new AtpAgent({ service })
  const login = await agent.login({ identifier, password })
  const text = 'posted by @atproto/api on a wallet-made account'
  const post = await agent.post({ text, createdAt: new Date().toISOString() })
  const [, , , collection, rkey] = post.uri.split('/')
  const read = await agent.com.atproto.repo.getRecord({ repo: login.data.did, collection, rkey })
  console.log(JSON.stringify({ did: login.data.did, uri: post.uri, text: read.data.value.text }))
} catch (err) {
  console.error(`wallet-login: ${err?.stack ?? err}`)
  process.exit(1)
}
