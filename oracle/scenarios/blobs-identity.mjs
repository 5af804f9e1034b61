// Blobs (upload, reference, read, list) and identity (handles, resolution, preferences).
import { gradientPng } from '../../e2e/lib/png.mjs'
import { post, POST, PROFILE, rkey } from './_fixtures.mjs'

const upload = (r, label, name, bytes, type = 'image/png') =>
  r.xrpc(label, 'POST', 'com.atproto.repo.uploadBlob', { body: bytes, headers: { 'content-type': type }, as: name })

export const scenarios = [
  {
    name: 'blob.upload-and-reference',
    fast: true,
    async run(r) {
      await r.createAccount('blob')
      const png = gradientPng(16, 16, 3)
      const up = await upload(r, 'uploadBlob', 'blob', png)
      const cid = up.json?.blob?.ref?.$link
      await r.get('getBlob before it is referenced', 'com.atproto.sync.getBlob', { did: r.did('blob'), cid })
      await r.post('profile with the avatar', 'com.atproto.repo.putRecord', {
        repo: r.did('blob'),
        collection: PROFILE,
        rkey: 'self',
        record: { $type: PROFILE, displayName: 'Blob', avatar: up.json?.blob },
      }, { as: 'blob' })
      const got = await r.get(null, 'com.atproto.sync.getBlob', { did: r.did('blob'), cid })
      r.observe('getBlob', {
        status: got.status,
        contentType: got.headers.get('content-type'),
        sameBytes: Buffer.compare(Buffer.from(got.bytes), Buffer.from(png)) === 0,
        contentLength: got.headers.get('content-length'),
      })
      await r.get('listBlobs', 'com.atproto.sync.listBlobs', { did: r.did('blob') })
      await upload(r, 'uploadBlob the same bytes again', 'blob', png)
      await r.post('delete the profile', 'com.atproto.repo.deleteRecord', { repo: r.did('blob'), collection: PROFILE, rkey: 'self' }, { as: 'blob' })
      await r.get('listBlobs after the delete', 'com.atproto.sync.listBlobs', { did: r.did('blob') })
    },
  },
  {
    name: 'blob.bad',
    async run(r) {
      await r.createAccount('bb')
      await upload(r, 'empty body', 'bb', new Uint8Array(0))
      await upload(r, 'declared type differs from the bytes', 'bb', gradientPng(4, 4, 1), 'text/plain')
      const unknown = 'bafkreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm'
      await r.post('record referencing a blob never uploaded', 'com.atproto.repo.putRecord', {
        repo: r.did('bb'),
        collection: PROFILE,
        rkey: 'self',
        record: { $type: PROFILE, avatar: { $type: 'blob', ref: { $link: unknown }, mimeType: 'image/png', size: 10 } },
      }, { as: 'bb' })
      const txt = await upload(r, 'a text blob', 'bb', new TextEncoder().encode('just text'), 'text/plain')
      await r.post('avatar with a text blob (accept image/*)', 'com.atproto.repo.putRecord', {
        repo: r.did('bb'),
        collection: PROFILE,
        rkey: 'self',
        record: { $type: PROFILE, avatar: txt.json?.blob },
      }, { as: 'bb' })
      await r.get('getBlob unknown', 'com.atproto.sync.getBlob', { did: r.did('bb'), cid: unknown })
      await r.get('getBlob bad cid', 'com.atproto.sync.getBlob', { did: r.did('bb'), cid: 'nope' })
      await r.get('getBlob unknown repo', 'com.atproto.sync.getBlob', { did: 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa', cid: unknown })
      await r.get('listBlobs bad cursor', 'com.atproto.sync.listBlobs', { did: r.did('bb'), cursor: 'not-a-cid' })
      await r.get('listBlobs unknown repo', 'com.atproto.sync.listBlobs', { did: 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa' })
    },
  },
  {
    name: 'blob.over-limit',
    async run(r) {
      await r.createAccount('bol')
      // The default limit on both is 5 MiB (5,242,880 bytes).
      const at = new Uint8Array(5 * 1024 * 1024)
      at.set(gradientPng(2, 2, 1))
      await upload(r, 'exactly the limit', 'bol', at)
      const over = new Uint8Array(5 * 1024 * 1024 + 1)
      await upload(r, 'one byte over the limit', 'bol', over, 'application/octet-stream')
    },
  },
  {
    name: 'identity.recommended-credentials',
    async run(r) {
      await r.createAccount('rc')
      await r.get('getRecommendedDidCredentials', 'com.atproto.identity.getRecommendedDidCredentials', {}, { as: 'rc' })
      await r.get('without auth', 'com.atproto.identity.getRecommendedDidCredentials', {})
      await r.get('getServiceAuth', 'com.atproto.server.getServiceAuth', { aud: 'did:web:appview.invalid', lxm: 'app.bsky.feed.getTimeline' }, { as: 'rc' })
      await r.get('getServiceAuth without aud', 'com.atproto.server.getServiceAuth', {}, { as: 'rc' })
      await r.get('getServiceAuth with a bad aud', 'com.atproto.server.getServiceAuth', { aud: 'not a did' }, { as: 'rc' })
      await r.get('getServiceAuth expiring in two hours', 'com.atproto.server.getServiceAuth', {
        aud: 'did:web:appview.invalid',
        exp: Math.floor(Date.now() / 1000) + 7200,
      }, { as: 'rc' })
    },
  },
  {
    name: 'handle.update',
    fast: true,
    async run(r) {
      await r.createAccount('hdl')
      await r.post('updateHandle', 'com.atproto.identity.updateHandle', { handle: r.handle('hdlnew') }, { as: 'hdl' })
      await r.get('resolveHandle new', 'com.atproto.identity.resolveHandle', { handle: r.handle('hdlnew') })
      await r.get('resolveHandle old', 'com.atproto.identity.resolveHandle', { handle: r.handle('hdl') })
      await r.get('getSession', 'com.atproto.server.getSession', {}, { as: 'hdl' })
      await r.get('describeRepo by the new handle', 'com.atproto.repo.describeRepo', { repo: r.handle('hdlnew') })
      await r.post('updateHandle to the same handle', 'com.atproto.identity.updateHandle', { handle: r.handle('hdlnew') }, { as: 'hdl' })
      // A final write, so the firehose check knows when every event has arrived.
      await r.post('createRecord', 'com.atproto.repo.createRecord', { repo: r.did('hdl'), collection: POST, rkey: rkey(1), record: post('renamed') }, { as: 'hdl' })
    },
  },
  {
    name: 'handle.bad',
    async run(r) {
      await r.createAccount('hb')
      await r.createAccount('hb2')
      const update = (label, handle) => r.post(label, 'com.atproto.identity.updateHandle', { handle }, { as: 'hb' })
      await update('taken by another account', r.handle('hb2'))
      await update('invalid syntax', 'not a handle')
      await update('too short', 'ab.test')
      await update('uppercase (normalised)', r.handle('HBUP').replace('HBUP', 'HbUp'))
      await r.post('no handle', 'com.atproto.identity.updateHandle', {}, { as: 'hb' })
      await r.get('resolveHandle after', 'com.atproto.identity.resolveHandle', { handle: r.handle('hbup') })
      await r.post('createRecord', 'com.atproto.repo.createRecord', { repo: r.did('hb'), collection: POST, rkey: rkey(1), record: post('x') }, { as: 'hb' })
    },
  },
  {
    name: 'identity.resolve-bad',
    async run(r) {
      await r.get('unknown handle', 'com.atproto.identity.resolveHandle', { handle: `nobody${r.index}.test` })
      await r.get('invalid handle', 'com.atproto.identity.resolveHandle', { handle: 'not a handle' })
      await r.get('no handle', 'com.atproto.identity.resolveHandle', {})
      await r.get('describeServer', 'com.atproto.server.describeServer', {})
    },
    finish: false,
  },
  {
    name: 'actor.preferences',
    async run(r) {
      await r.createAccount('pref')
      const adult = { $type: 'app.bsky.actor.defs#adultContentPref', enabled: false }
      await r.get('getPreferences empty', 'app.bsky.actor.getPreferences', {}, { as: 'pref' })
      await r.post('putPreferences', 'app.bsky.actor.putPreferences', { preferences: [adult] }, { as: 'pref' })
      await r.get('getPreferences', 'app.bsky.actor.getPreferences', {}, { as: 'pref' })
      await r.post('putPreferences without $type', 'app.bsky.actor.putPreferences', { preferences: [{ enabled: true }] }, { as: 'pref' })
      await r.post('putPreferences not a list', 'app.bsky.actor.putPreferences', { preferences: 'x' }, { as: 'pref' })
      await r.get('getPreferences without auth', 'app.bsky.actor.getPreferences', {})
    },
  },
]
