// Record operations: create, put, delete, applyWrites, swaps, reads, and the bad inputs.
import { CREATED_AT, post, POST, PROFILE, rkey } from './_fixtures.mjs'

const ref = (r, name, n, collection = POST) => ({ repo: r.did(name), collection, rkey: rkey(n) })

export const scenarios = [
  {
    name: 'record.create-fixed-rkey',
    fast: true,
    async run(r) {
      await r.createAccount('cr')
      for (let n = 1; n <= 3; n++) {
        await r.post(`createRecord ${n}`, 'com.atproto.repo.createRecord', { ...ref(r, 'cr', n), record: post(`post ${n}`) }, { as: 'cr' })
      }
      await r.get('getRecord', 'com.atproto.repo.getRecord', ref(r, 'cr', 2))
      await r.get('getRecord by handle', 'com.atproto.repo.getRecord', { ...ref(r, 'cr', 2), repo: r.handle('cr') })
      await r.get('getRecord with another cid', 'com.atproto.repo.getRecord', {
        ...ref(r, 'cr', 2),
        cid: 'bafyreihsc5uckxnm6fglu3xjwhx6ivjnnuucmwt52ozdvkbcuxkukgqbla',
      })
      await r.get('describeRepo', 'com.atproto.repo.describeRepo', { repo: r.did('cr') })
    },
  },
  {
    name: 'record.create-generated-rkey',
    async run(r) {
      await r.createAccount('gen')
      const res = await r.post(null, 'com.atproto.repo.createRecord', { repo: r.did('gen'), collection: POST, record: post('tid') }, { as: 'gen' })
      const rk = res.json?.uri?.split('/').pop()
      r.alias(rk, 'generated-rkey')
      r.observe('createRecord', { status: res.status, body: res.json, rkeyIsTid: /^[2-7a-j][2-7a-z]{12}$/.test(rk ?? '') })
      await r.get('listRecords', 'com.atproto.repo.listRecords', { repo: r.did('gen'), collection: POST })
    },
    // The generated rkey differs, so do the MST and the commit blocks: no firehose or repo diff.
    finish: false,
  },
  {
    name: 'record.create-duplicate-rkey',
    async run(r) {
      await r.createAccount('dup')
      const body = { ...ref(r, 'dup', 1), record: post('first') }
      await r.post('first', 'com.atproto.repo.createRecord', body, { as: 'dup' })
      await r.post('same rkey again', 'com.atproto.repo.createRecord', { ...body, record: post('second') }, { as: 'dup' })
      await r.get('getRecord', 'com.atproto.repo.getRecord', ref(r, 'dup', 1))
    },
  },
  {
    name: 'record.put',
    fast: true,
    async run(r) {
      await r.createAccount('put')
      const profile = (d) => ({ $type: PROFILE, displayName: d, description: 'oracle' })
      const at = { repo: r.did('put'), collection: PROFILE, rkey: 'self' }
      await r.post('putRecord creates', 'com.atproto.repo.putRecord', { ...at, record: profile('One') }, { as: 'put' })
      await r.post('putRecord updates', 'com.atproto.repo.putRecord', { ...at, record: profile('Two') }, { as: 'put' })
      await r.post('putRecord with the same value', 'com.atproto.repo.putRecord', { ...at, record: profile('Two') }, { as: 'put' })
      await r.get('getRecord', 'com.atproto.repo.getRecord', at)
      await r.post('putRecord a post', 'com.atproto.repo.putRecord', { ...ref(r, 'put', 9), record: post('put post') }, { as: 'put' })
    },
  },
  {
    name: 'record.swap-record',
    async run(r) {
      await r.createAccount('swr')
      const at = ref(r, 'swr', 1)
      const made = await r.post('create', 'com.atproto.repo.createRecord', { ...at, record: post('v1') }, { as: 'swr' })
      const cid = made.json.cid
      const other = 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm'
      await r.post('put with a wrong swapRecord', 'com.atproto.repo.putRecord', { ...at, record: post('v2'), swapRecord: other }, { as: 'swr' })
      await r.post('put with swapRecord null on an existing record', 'com.atproto.repo.putRecord', { ...at, record: post('v2'), swapRecord: null }, { as: 'swr' })
      const put = await r.post('put with the right swapRecord', 'com.atproto.repo.putRecord', { ...at, record: post('v2'), swapRecord: cid }, { as: 'swr' })
      await r.post('put with swapRecord null on a new record', 'com.atproto.repo.putRecord', { ...ref(r, 'swr', 2), record: post('new'), swapRecord: null }, { as: 'swr' })
      await r.post('delete with a wrong swapRecord', 'com.atproto.repo.deleteRecord', { ...at, swapRecord: cid }, { as: 'swr' })
      await r.post('delete with the right swapRecord', 'com.atproto.repo.deleteRecord', { ...at, swapRecord: put.json.cid }, { as: 'swr' })
      await r.post('put with a swapRecord that is not a CID', 'com.atproto.repo.putRecord', { ...at, record: post('v3'), swapRecord: 'nope' }, { as: 'swr' })
    },
  },
  {
    name: 'record.swap-commit',
    async run(r) {
      await r.createAccount('swc')
      await r.post('create', 'com.atproto.repo.createRecord', { ...ref(r, 'swc', 1), record: post('a') }, { as: 'swc' })
      const head = await r.head('swc')
      const stale = await r.post('create with the current swapCommit', 'com.atproto.repo.createRecord', { ...ref(r, 'swc', 2), record: post('b'), swapCommit: head.cid }, { as: 'swc' })
      await r.post('create with a stale swapCommit', 'com.atproto.repo.createRecord', { ...ref(r, 'swc', 3), record: post('c'), swapCommit: head.cid }, { as: 'swc' })
      await r.post('delete with a stale swapCommit', 'com.atproto.repo.deleteRecord', { ...ref(r, 'swc', 1), swapCommit: head.cid }, { as: 'swc' })
      await r.post('put with a stale swapCommit', 'com.atproto.repo.putRecord', { ...ref(r, 'swc', 1), record: post('z'), swapCommit: head.cid }, { as: 'swc' })
      await r.post('delete with the current swapCommit', 'com.atproto.repo.deleteRecord', { ...ref(r, 'swc', 1), swapCommit: stale.json?.commit?.cid }, { as: 'swc' })
    },
  },
  {
    name: 'record.delete',
    fast: true,
    async run(r) {
      await r.createAccount('del')
      await r.post('create', 'com.atproto.repo.createRecord', { ...ref(r, 'del', 1), record: post('to delete') }, { as: 'del' })
      await r.post('create another', 'com.atproto.repo.createRecord', { ...ref(r, 'del', 2), record: post('to keep') }, { as: 'del' })
      await r.post('delete', 'com.atproto.repo.deleteRecord', ref(r, 'del', 1), { as: 'del' })
      await r.post('delete again', 'com.atproto.repo.deleteRecord', ref(r, 'del', 1), { as: 'del' })
      await r.post('delete a record never made', 'com.atproto.repo.deleteRecord', ref(r, 'del', 7), { as: 'del' })
      await r.get('getRecord after delete', 'com.atproto.repo.getRecord', ref(r, 'del', 1))
      await r.get('listRecords', 'com.atproto.repo.listRecords', { repo: r.did('del'), collection: POST })
      await r.post('delete in another repo', 'com.atproto.repo.deleteRecord', { ...ref(r, 'del', 2), repo: 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa' }, { as: 'del' })
    },
  },
  {
    name: 'record.apply-writes',
    fast: true,
    async run(r) {
      await r.createAccount('aw')
      const C = 'com.atproto.repo.applyWrites#create'
      const U = 'com.atproto.repo.applyWrites#update'
      const D = 'com.atproto.repo.applyWrites#delete'
      await r.post('batch of creates', 'com.atproto.repo.applyWrites', {
        repo: r.did('aw'),
        writes: [1, 2, 3, 4].map((n) => ({ $type: C, collection: POST, rkey: rkey(n), value: post(`aw ${n}`) })),
      }, { as: 'aw' })
      await r.post('mixed batch', 'com.atproto.repo.applyWrites', {
        repo: r.did('aw'),
        writes: [
          { $type: U, collection: POST, rkey: rkey(1), value: post('aw 1 updated') },
          { $type: D, collection: POST, rkey: rkey(2) },
          { $type: C, collection: POST, rkey: rkey(5), value: post('aw 5') },
          { $type: C, collection: PROFILE, rkey: 'self', value: { $type: PROFILE, displayName: 'AW' } },
        ],
      }, { as: 'aw' })
      await r.post('batch without results wanted (validate false)', 'com.atproto.repo.applyWrites', {
        repo: r.did('aw'),
        validate: false,
        writes: [{ $type: C, collection: 'com.example.thing', rkey: 'one', value: { $type: 'com.example.thing', n: 1 } }],
      }, { as: 'aw' })
      await r.get('listRecords', 'com.atproto.repo.listRecords', { repo: r.did('aw'), collection: POST })
    },
  },
  {
    name: 'record.apply-writes-bad',
    async run(r) {
      await r.createAccount('awb')
      const C = 'com.atproto.repo.applyWrites#create'
      const U = 'com.atproto.repo.applyWrites#update'
      const D = 'com.atproto.repo.applyWrites#delete'
      const apply = (label, writes, extra = {}) =>
        r.post(label, 'com.atproto.repo.applyWrites', { repo: r.did('awb'), writes, ...extra }, { as: 'awb' })
      await apply('create', [{ $type: C, collection: POST, rkey: rkey(1), value: post('one') }])
      await apply('unknown write type', [{ $type: 'com.atproto.repo.applyWrites#upsert', collection: POST, rkey: rkey(2), value: post('x') }])
      await apply('update of a missing record', [{ $type: U, collection: POST, rkey: rkey(3), value: post('x') }])
      await apply('delete of a missing record', [{ $type: D, collection: POST, rkey: rkey(4) }])
      await apply('create of an existing record', [{ $type: C, collection: POST, rkey: rkey(1), value: post('again') }])
      await apply('201 writes', Array.from({ length: 201 }, (_, n) => ({ $type: C, collection: POST, rkey: rkey(100 + n), value: post(`n${n}`) })))
      await apply('empty batch', [])
      await apply('stale swapCommit', [{ $type: C, collection: POST, rkey: rkey(6), value: post('x') }], {
        swapCommit: 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm',
      })
      await apply('invalid record in the batch', [
        { $type: C, collection: POST, rkey: rkey(7), value: post('fine') },
        { $type: C, collection: POST, rkey: rkey(8), value: { $type: POST, text: 5, createdAt: CREATED_AT } },
      ])
      await r.get('listRecords (only the first create)', 'com.atproto.repo.listRecords', { repo: r.did('awb'), collection: POST })
    },
  },
  {
    // Separate: the reference accepts this batch (and the servers' repos then differ).
    name: 'record.apply-writes-same-path',
    async run(r) {
      await r.createAccount('awp')
      const C = 'com.atproto.repo.applyWrites#create'
      const U = 'com.atproto.repo.applyWrites#update'
      await r.post('create and update one path in one batch', 'com.atproto.repo.applyWrites', {
        repo: r.did('awp'),
        writes: [
          { $type: C, collection: POST, rkey: rkey(5), value: post('a') },
          { $type: U, collection: POST, rkey: rkey(5), value: post('b') },
        ],
      }, { as: 'awp' })
    },
  },
  {
    // Separate: the reference fills in a missing $type (and the servers' repos then differ).
    name: 'record.without-type',
    async run(r) {
      await r.createAccount('nt')
      await r.post('record without $type', 'com.atproto.repo.createRecord', {
        ...ref(r, 'nt', 1),
        record: { text: 'x', createdAt: CREATED_AT },
      }, { as: 'nt' })
    },
  },
  {
    name: 'record.list-paging',
    async run(r) {
      await r.createAccount('lst')
      const C = 'com.atproto.repo.applyWrites#create'
      await r.post('create 7', 'com.atproto.repo.applyWrites', {
        repo: r.did('lst'),
        writes: [1, 2, 3, 4, 5, 6, 7].map((n) => ({ $type: C, collection: POST, rkey: rkey(n), value: post(`l${n}`) })),
      }, { as: 'lst' })
      const list = (label, params) => r.get(label, 'com.atproto.repo.listRecords', { repo: r.did('lst'), collection: POST, ...params })
      const p1 = await list('limit 3', { limit: 3 })
      await list('limit 3, next page', { limit: 3, cursor: p1.json?.cursor })
      await list('reverse, limit 2', { limit: 2, reverse: true })
      const rev = await list('reverse, limit 3', { limit: 3, reverse: true })
      await list('reverse, next page', { limit: 3, reverse: true, cursor: rev.json?.cursor })
      await list('limit 0', { limit: 0 })
      await list('limit 101', { limit: 101 })
      await list('limit not a number', { limit: 'ten' })
      await list('cursor past the end', { cursor: 'zzzzzzzzzzzzz' })
      await list('empty collection', { collection: 'app.bsky.feed.like' })
      await list('bad collection', { collection: 'not an nsid' })
      await list('unknown repo', { repo: 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa' })
    },
  },
  {
    name: 'record.get-bad',
    async run(r) {
      await r.createAccount('gb')
      await r.post('create', 'com.atproto.repo.createRecord', { ...ref(r, 'gb', 1), record: post('x') }, { as: 'gb' })
      const get = (label, params) => r.get(label, 'com.atproto.repo.getRecord', params)
      await get('missing record', ref(r, 'gb', 2))
      await get('unknown repo', { ...ref(r, 'gb', 1), repo: 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa' })
      await get('unknown handle', { ...ref(r, 'gb', 1), repo: 'nobody.test' })
      await get('repo not a DID or handle', { ...ref(r, 'gb', 1), repo: 'not valid!' })
      await get('bad collection', { ...ref(r, 'gb', 1), collection: 'nope' })
      await get('bad rkey', { ...ref(r, 'gb', 1), rkey: 'a/b' })
      await get('missing rkey', { repo: r.did('gb'), collection: POST })
      await get('wrong cid', { ...ref(r, 'gb', 1), cid: 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm' })
      await get('cid not a CID', { ...ref(r, 'gb', 1), cid: 'xyz' })
      await r.get('describeRepo unknown', 'com.atproto.repo.describeRepo', { repo: 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa' })
      await r.get('describeRepo no repo', 'com.atproto.repo.describeRepo', {})
    },
  },
  {
    name: 'record.validation',
    fast: true,
    async run(r) {
      await r.createAccount('val')
      const create = (label, n, record, extra = {}) =>
        r.post(label, 'com.atproto.repo.createRecord', { ...ref(r, 'val', n), record, ...extra }, { as: 'val' })
      await create('text is a number', 1, { $type: POST, text: 5, createdAt: CREATED_AT })
      await create('createdAt missing', 2, { $type: POST, text: 'x' })
      await create('createdAt not a datetime', 3, { $type: POST, text: 'x', createdAt: 'yesterday' })
      await create('text over maxGraphemes', 4, post('é'.repeat(301)))
      await create('$type differs from the collection', 5, { $type: 'app.bsky.feed.like', subject: {}, createdAt: CREATED_AT })
      await create('langs not a list', 7, post('x', { langs: 'en' }))
      await create('unknown collection, validate unset', 8, { $type: 'com.example.oracle', a: 1 }, { collection: 'com.example.oracle' })
      await create('unknown collection, validate true', 9, { $type: 'com.example.oracle', a: 1 }, { collection: 'com.example.oracle', validate: true })
      await create('invalid record, validate false', 10, { $type: POST, text: 5, createdAt: CREATED_AT }, { validate: false })
      await create('record is a string', 11, 'hello')
      await create('collection not an NSID', 12, post('x'), { collection: 'posts' })
      await create('record with a float', 13, { $type: 'com.example.oracle', f: 1.5 }, { collection: 'com.example.oracle' })
      await r.get('listRecords', 'com.atproto.repo.listRecords', { repo: r.did('val'), collection: POST })
    },
  },
  {
    name: 'record.rkeys',
    async run(r) {
      await r.createAccount('rk')
      const create = (label, rk, collection = 'com.example.oracle') =>
        r.post(label, 'com.atproto.repo.createRecord', { repo: r.did('rk'), collection, rkey: rk, record: { $type: collection, n: 1 } }, { as: 'rk' })
      await create('rkey "."', '.')
      await create('rkey ".."', '..')
      await create('rkey with a slash', 'a/b')
      await create('rkey of 513 characters', 'a'.repeat(513))
      await create('rkey of 512 characters', 'b'.repeat(512))
      await create('rkey with allowed punctuation', 'a:b~c_d.e-f')
      await create('rkey "self" for a post (key type tid)', 'self', POST)
      await r.get('listRecords', 'com.atproto.repo.listRecords', { repo: r.did('rk'), collection: 'com.example.oracle' })
    },
  },
  {
    name: 'record.oversize',
    async run(r) {
      await r.createAccount('big')
      const blob = (n) => ({ $type: 'com.example.oracle', data: 'x'.repeat(n) })
      const create = (label, rk, record) =>
        r.post(label, 'com.atproto.repo.createRecord', { repo: r.did('big'), collection: 'com.example.oracle', rkey: rk, record }, { as: 'big' })
      await create('record of 100 kB', 'k100', blob(100_000))
      await create('record of 900 kB', 'k900', blob(900_000))
      await create('record of 1.1 MB', 'm11', blob(1_100_000))
      await r.get('listRecords', 'com.atproto.repo.listRecords', { repo: r.did('big'), collection: 'com.example.oracle', limit: 1 })
    },
  },
  {
    name: 'record.other-repo',
    async run(r) {
      await r.createAccount('own')
      await r.createAccount('oth')
      await r.post('create in another account\'s repo', 'com.atproto.repo.createRecord', { ...ref(r, 'oth', 1), record: post('x') }, { as: 'own' })
      await r.post('put in another account\'s repo', 'com.atproto.repo.putRecord', { ...ref(r, 'oth', 1), record: post('x') }, { as: 'own' })
      await r.post('applyWrites in another account\'s repo', 'com.atproto.repo.applyWrites', { repo: r.did('oth'), writes: [] }, { as: 'own' })
      await r.post('create by handle', 'com.atproto.repo.createRecord', { ...ref(r, 'own', 1), repo: r.handle('own'), record: post('by handle') }, { as: 'own' })
    },
  },
]
