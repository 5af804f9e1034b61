// 1b. Full-repo CARs written by the reference (@atproto/repo Repo + @atproto/crypto keys).
//
//   node gen-cars.mjs <outdir> [seed]     writes <outdir>/ref-cars/<name>.car and <name>.json
//
// Each repo is made with Repo.create (initial writes in the first commit), then optionally more
// commits with Repo.applyWrites (batches mixing creates, updates and deletes, and single ops);
// the CAR is getFullRepo of the last commit, as com.atproto.sync.getRepo serves it.
// The manifest (see manifest.md in this folder) names the DID, the signing did:key, the test-only
// private key, the commit CID, rev, MST root and every record with its CID. <name>.proofs.json
// holds record proofs (getRecords, as com.atproto.sync.getRecord serves them) for some records
// that exist and some that do not (deleted ones, and keys never written).

import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

import { P256Keypair, Secp256k1Keypair } from '@atproto/crypto'
import { cidForLex } from '@atproto/lex-cbor'
import {
  concatBytesAsync,
  getFullRepo,
  getRecords,
  MemoryBlockstore,
  Repo,
  WriteOpAction,
} from '@atproto/repo'

import { byKey, keySource, makeRng, randomRecord, writeJson } from './lib.mjs'

const outdir = process.argv[2]
const seed = Number(process.argv[3] ?? 20261125)
if (!outdir) {
  console.error('usage: node gen-cars.mjs <outdir> [seed]')
  process.exit(2)
}
const dir = join(outdir, 'ref-cars')
await mkdir(dir, { recursive: true })

const rng = makeRng(seed ^ 0x5eed_ca75)
const S32 = '234567abcdefghijklmnopqrstuvwxyz'
const hex = (bytes) => Buffer.from(bytes).toString('hex')

async function keypair(r, alg) {
  // 32 random bytes are a valid scalar for both curves, except with negligible probability
  for (;;) {
    const priv = r.bytes(32)
    try {
      const kp =
        alg === 'p256'
          ? await P256Keypair.import(priv, { exportable: true })
          : await Secp256k1Keypair.import(priv, { exportable: true })
      return { kp, privHex: hex(priv) }
    } catch {
      // out of range: draw again
    }
  }
}

/**
 * Builds one repo. `plan` is a list of commits after the first: each a list of
 * ['create', n] | ['update', n] | ['delete', n] steps, applied as one multi-op commit.
 */
async function build(name, alg, initial, plan) {
  const r = rng.fork()
  const { kp, privHex } = await keypair(r, alg)
  const did = 'did:plc:' + Array.from({ length: 24 }, () => S32[r.int(32)]).join('')
  const nextKey = keySource(r)
  const live = new Map() // key -> record
  const deleted = []
  const newCreate = () => {
    const key = nextKey()
    const [collection, rkey] = key.split('/')
    const record = randomRecord(r, collection)
    live.set(key, record)
    return { action: WriteOpAction.Create, collection, rkey, record }
  }
  const storage = new MemoryBlockstore()
  const initialWrites = Array.from({ length: initial }, newCreate)
  let repo = await Repo.create(storage, did, kp, initialWrites)
  let ops = initial
  for (const commit of plan) {
    const writes = []
    const touched = new Set()
    for (const [action, n] of commit) {
      for (let i = 0; i < n; i++) {
        if (action === 'create') {
          writes.push(newCreate())
          continue
        }
        const candidates = [...live.keys()].filter((k) => !touched.has(k))
        if (candidates.length === 0) break
        const key = r.pick(candidates)
        touched.add(key)
        const [collection, rkey] = key.split('/')
        if (action === 'update') {
          const record = randomRecord(r, collection)
          live.set(key, record)
          writes.push({ action: WriteOpAction.Update, collection, rkey, record })
        } else {
          live.delete(key)
          deleted.push(key)
          writes.push({ action: WriteOpAction.Delete, collection, rkey })
        }
      }
    }
    repo = await repo.applyWrites(writes, kp)
    ops += writes.length
  }

  const car = await concatBytesAsync(getFullRepo(storage, repo.cid))
  const records = []
  for (const [key, record] of [...live.entries()].sort(([a], [b]) => byKey(a, b))) {
    const [collection, rkey] = key.split('/')
    records.push({ collection, rkey, cid: (await cidForLex(record)).toString() })
  }
  const manifest = {
    name,
    producer: '@atproto/repo 0.10.14',
    did,
    algorithm: alg,
    signingKey: kp.did(),
    privateKeyHex: privHex, // test-only key, generated from the seed
    commit: repo.cid.toString(),
    rev: repo.commit.rev,
    data: repo.commit.data.toString(),
    commits: 1 + plan.length,
    ops,
    records,
  }
  await writeFile(join(dir, `${name}.car`), car)
  await writeJson(join(dir, `${name}.json`), manifest)

  // proofs: up to 8 records present, up to 4 deleted ones and 2 never written
  const present = r.shuffle(records.map((x) => `${x.collection}/${x.rkey}`)).slice(0, 8)
  const absent = [...r.shuffle([...deleted].filter((k) => !live.has(k))).slice(0, 4), nextKey(), nextKey()]
  const cidOf = new Map(records.map((x) => [`${x.collection}/${x.rkey}`, x.cid]))
  const proofs = []
  for (const key of [...present, ...absent]) {
    const [collection, rkey] = key.split('/')
    const proof = await concatBytesAsync(getRecords(storage, repo.cid, [{ collection, rkey }]))
    proofs.push({ collection, rkey, cid: cidOf.get(key) ?? null, proofHex: hex(proof) })
  }
  await writeJson(join(dir, `${name}.proofs.json`), proofs)
  return { records: records.length, bytes: car.length }
}

const started = performance.now()
const made = []
for (const alg of ['p256', 'k256']) {
  for (const n of [0, 1, 10, 100, 1000]) {
    made.push(await build(`ref-${alg}-${n}`, alg, n, []))
  }
  // histories: multi-op commits mixing creates, updates and deletes, then single-op commits
  made.push(
    await build(`ref-${alg}-history`, alg, 300, [
      [['create', 20], ['update', 10], ['delete', 10]],
      [['delete', 120]],
      [['create', 1]],
      [['update', 1]],
      [['delete', 1]],
      [['create', 50], ['delete', 50]],
    ]),
  )
  made.push(await build(`ref-${alg}-delete-all`, alg, 40, [[['delete', 40]], [['create', 3]], [['delete', 2]]]))
}
made.push(await build('ref-k256-5000', 'k256', 5000, [[['create', 100], ['update', 100], ['delete', 100]]]))

const records = made.reduce((s, m) => s + m.records, 0)
console.log(
  `ok   reference cars: ${made.length} repos, ${records} records ` +
    `(${((performance.now() - started) / 1000).toFixed(1)} s) -> ${dir}`,
)
