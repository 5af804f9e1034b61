// Sync: getRepo (cross-verified by both engines), since, proofs, blocks, status; the firehose
// replayed from a cursor, and bad cursors.
import { collectFrames } from '../../e2e/lib/firehose.mjs'
import { describeFrame } from '../lib/frames.mjs'
import { post, POST, rkey } from './_fixtures.mjs'

const C = 'com.atproto.repo.applyWrites#create'
const writes = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => ({ $type: C, collection: POST, rkey: rkey(from + i), value: post(`r${from + i}`) }))

export const scenarios = [
  {
    name: 'sync.get-repo',
    fast: true,
    async run(r) {
      await r.createAccount('repo')
      await r.post('create 40', 'com.atproto.repo.applyWrites', { repo: r.did('repo'), writes: writes(1, 40) }, { as: 'repo' })
      const head = await r.head('repo')
      await r.post('create 5 more', 'com.atproto.repo.applyWrites', { repo: r.did('repo'), writes: writes(41, 45) }, { as: 'repo' })
      await r.post('delete 1', 'com.atproto.repo.deleteRecord', { repo: r.did('repo'), collection: POST, rkey: rkey(3) }, { as: 'repo' })
      // since: each server's own earlier rev; the diff CAR's blocks are compared below.
      const diff = await r.get(null, 'com.atproto.sync.getRepo', { did: r.did('repo'), since: head.rev })
      const described = await describeFrame({ op: 1, t: '#commit', body: { blocks: diff.bytes, commit: null } })
      r.observe('getRepo since', { status: diff.status, blocks: described.body.blocks.otherBlocks?.length ?? described.body.blocks })
      await r.get('getLatestCommit', 'com.atproto.sync.getLatestCommit', { did: r.did('repo') })
    },
  },
  {
    name: 'sync.record-proof-and-blocks',
    async run(r) {
      await r.createAccount('prf')
      const made = await r.post('create 10', 'com.atproto.repo.applyWrites', { repo: r.did('prf'), writes: writes(1, 10) }, { as: 'prf' })
      const proof = await r.get(null, 'com.atproto.sync.getRecord', { did: r.did('prf'), collection: POST, rkey: rkey(4) })
      const p = await describeFrame({ op: 1, t: '#commit', body: { blocks: proof.bytes, commit: null } })
      r.observe('sync.getRecord', { status: proof.status, contentType: proof.headers.get('content-type'), blocks: p.body.blocks.otherBlocks })
      const absent = await r.get(null, 'com.atproto.sync.getRecord', { did: r.did('prf'), collection: POST, rkey: rkey(99) })
      const a = absent.status === 200 ? await describeFrame({ op: 1, t: '#commit', body: { blocks: absent.bytes, commit: null } }) : null
      r.observe('sync.getRecord of a missing record (proof of absence)', { status: absent.status, body: a ? a.body.blocks.otherBlocks : absent.json })
      const recordCid = made.json?.results?.[0]?.cid
      const blocks = await r.get(null, 'com.atproto.sync.getBlocks', { did: r.did('prf'), cids: [recordCid] })
      const b = blocks.status === 200 ? await describeFrame({ op: 1, t: '#commit', body: { blocks: blocks.bytes, commit: null } }) : null
      r.observe('getBlocks', { status: blocks.status, body: b ? b.body.blocks : blocks.json })
      await r.get('getBlocks of an unknown CID', 'com.atproto.sync.getBlocks', { did: r.did('prf'), cids: ['bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm'] })
      await r.get('getBlocks bad CID', 'com.atproto.sync.getBlocks', { did: r.did('prf'), cids: ['nope'] })
    },
  },
  {
    name: 'sync.list-repos',
    async run(r) {
      await r.createAccount('lr1')
      await r.createAccount('lr2')
      await r.post('deactivate lr2', 'com.atproto.server.deactivateAccount', {}, { as: 'lr2' })
      // Other scenarios' accounts are listed too: keep this scenario's, in the server's order.
      const mine = new Set([r.did('lr1'), r.did('lr2')])
      const seen = []
      let cursor
      for (let page = 0; page < 50; page++) {
        const res = await r.get(null, 'com.atproto.sync.listRepos', { limit: 100, cursor })
        if (res.status !== 200) {
          r.observe('listRepos failed', { status: res.status, body: res.json })
          break
        }
        seen.push(...res.json.repos.filter((x) => mine.has(x.did)))
        cursor = res.json.cursor
        if (!cursor || res.json.repos.length === 0) break
      }
      r.observe('listRepos (this scenario\'s accounts)', seen)
      await r.post('activate lr2', 'com.atproto.server.activateAccount', undefined, { as: 'lr2' })
      await r.post('a last write', 'com.atproto.repo.createRecord', { repo: r.did('lr2'), collection: POST, rkey: rkey(1), record: post('x') }, { as: 'lr2' })
    },
  },
  {
    name: 'firehose.large-commit',
    async run(r) {
      await r.createAccount('lc')
      // 200 creates in one commit (the most applyWrites takes), then 100 deletes: a deep MST change.
      await r.post('create 200', 'com.atproto.repo.applyWrites', { repo: r.did('lc'), writes: writes(1, 200) }, { as: 'lc' })
      const D = 'com.atproto.repo.applyWrites#delete'
      await r.post('delete 100', 'com.atproto.repo.applyWrites', {
        repo: r.did('lc'),
        writes: Array.from({ length: 100 }, (_, i) => ({ $type: D, collection: POST, rkey: rkey(2 * i + 1) })),
      }, { as: 'lc' })
    },
  },
  {
    name: 'sync.bad',
    async run(r) {
      const nobody = 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa'
      await r.get('getRepo unknown DID', 'com.atproto.sync.getRepo', { did: nobody })
      await r.get('getRepo not a DID', 'com.atproto.sync.getRepo', { did: 'alice.test' })
      await r.get('getRepo no did', 'com.atproto.sync.getRepo', {})
      await r.get('getLatestCommit unknown', 'com.atproto.sync.getLatestCommit', { did: nobody })
      await r.get('getRepoStatus unknown', 'com.atproto.sync.getRepoStatus', { did: nobody })
      await r.get('sync.getRecord unknown repo', 'com.atproto.sync.getRecord', { did: nobody, collection: POST, rkey: rkey(1) })
      await r.get('listRepos bad cursor', 'com.atproto.sync.listRepos', { cursor: 'garbage!' })
      await r.get('listRepos limit 0', 'com.atproto.sync.listRepos', { limit: 0 })
      await r.get('unknown method', 'com.example.nothing.here', {})
      await r.post('query called with POST', 'com.atproto.sync.getLatestCommit', {})
    },
    finish: false,
  },
  {
    name: 'firehose.cursor-replay',
    fast: true,
    async run(r) {
      await r.createAccount('fh')
      await r.post('create 3', 'com.atproto.repo.applyWrites', { repo: r.did('fh'), writes: writes(1, 3) }, { as: 'fh' })
      await r.post('delete 1', 'com.atproto.repo.deleteRecord', { repo: r.did('fh'), collection: POST, rkey: rkey(2) }, { as: 'fh' })
      const head = await r.head('fh')
      // The account's first frame's seq (from the live subscription) is where the replay starts.
      await r.server.waitFrames(() => r.server.framesOf(r.did('fh')).some((f) => f.body.rev === head.rev))
      const first = r.server.framesOf(r.did('fh'))[0]
      const did = r.did('fh')
      const url = `${r.server.url.replace(/^http/, 'ws')}/xrpc/com.atproto.sync.subscribeRepos?cursor=${first.body.seq - 1}`
      const got = await collectFrames(url, { until: (f) => f.body?.repo === did && f.body?.rev === head.rev })
      const mine = got.frames.filter((f) => f.body?.repo === did || f.body?.did === did)
      const described = []
      for (const f of mine) described.push(await describeFrame(f))
      const liveMine = r.server.framesOf(did).length
      r.observe('replay from the first event', {
        timedOut: got.timedOut,
        error: got.error ? String(got.error.message) : null,
        frames: described,
        sameCountAsLive: liveMine === mine.length,
      })
    },
  },
  {
    name: 'firehose.bad-cursor',
    async run(r) {
      const ws = r.server.url.replace(/^http/, 'ws') + '/xrpc/com.atproto.sync.subscribeRepos'
      const one = async (label, query) => {
        const got = await collectFrames(`${ws}${query}`, { until: (f, all) => f.op === -1 || all.length > 0, timeoutMs: 5000 })
        const frames = []
        for (const f of got.frames.slice(0, 1)) frames.push(await describeFrame(f))
        r.observe(label, {
          frames,
          httpStatus: got.httpStatus ?? null,
          httpBody: got.httpBody ? JSON.parse(got.httpBody) : null,
          timedOut: got.timedOut,
        })
      }
      await one('cursor in the future', '?cursor=999999999')
      await one('cursor not a number', '?cursor=abc')
      await one('negative cursor', '?cursor=-5')
    },
    finish: false,
  },
]
