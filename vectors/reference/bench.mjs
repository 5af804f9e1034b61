// The reference side of the benchmark (see README.md). Not a test: it measures.
//
//   node bench.mjs <dir> [--quick]
//
// Writes <dir>/bench-input.json (the workload: keys, CIDs and records, so the Rust side runs on
// exactly the same data) and <dir>/bench-ref.json (timings in ms and peak RSS), and prints both.
// Everything runs on @atproto/repo's MemoryBlockstore, in one process, one operation after another.

import { readFileSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'

import { P256Keypair, Secp256k1Keypair } from '@atproto/crypto'
import { encode } from '@atproto/lex-cbor'
import { cidForCbor, parseCid } from '@atproto/lex-data'
import {
  concatBytesAsync,
  getFullRepo,
  MemoryBlockstore,
  MST,
  Repo,
  signCommit,
  verifyCommitSig,
  WriteOpAction,
} from '@atproto/repo'

import { keySource, makeRng, randomRecord, writeJson } from './lib.mjs'

const dir = process.argv[2]
const quick = process.argv.includes('--quick')
if (!dir) {
  console.error('usage: node bench.mjs <dir> [--quick]')
  process.exit(2)
}
await mkdir(dir, { recursive: true })

const TREE = quick ? 10_000 : 100_000
const INSERTS = quick ? 1_000 : 10_000
const SIGNS = quick ? 100 : 500
const REPO = quick ? 1_000 : 10_000

// ---------------------------------------------------------------------------------------------
// The workload, shared with the Rust side through bench-input.json.

const rng = makeRng(4242)
const nextKey = keySource(rng)
const recordFor = (key) => randomRecord(rng, key.split('/')[0])
// tree keys and their values: CIDs of real records
const treeKeys = []
const treeCids = []
for (let i = 0; i < TREE + INSERTS; i++) {
  const key = nextKey()
  treeKeys.push(key)
  treeCids.push((await cidForCbor(encode(recordFor(key)))).toString())
}
const repoRecords = []
for (let i = 0; i < REPO; i++) {
  const key = nextKey()
  repoRecords.push([key, recordFor(key)])
}
const privP256 = Buffer.from(rng.bytes(32)).toString('hex')
const privK256 = Buffer.from(rng.bytes(32)).toString('hex')
const did = 'did:plc:benchbenchbenchbenchbenc'
await writeJson(join(dir, 'bench-input.json'), {
  tree: TREE,
  inserts: INSERTS,
  signs: SIGNS,
  keys: treeKeys,
  cids: treeCids,
  repoRecords,
  did,
  privP256,
  privK256,
})

// ---------------------------------------------------------------------------------------------

const results = []
const checks = {} // what each operation computed, so the Rust side can show it computed the same
function report(id, op, ms, note) {
  results.push({ id, op, ms, note })
  console.log(`  ref ${op.padEnd(48)} ${ms.toFixed(3).padStart(12)} ms${note ? `  (${note})` : ''}`)
}
const cids = treeCids.map((c) => parseCid(c))

// 1. MST build: insert keys one by one into an empty tree (in generation order, not sorted),
//    then the root.
async function buildTree(n) {
  let mst = await MST.create(new MemoryBlockstore())
  for (let i = 0; i < n; i++) mst = await mst.add(treeKeys[i], cids[i])
  await mst.getPointer()
  return mst
}
{
  const t = performance.now()
  const mst = await buildTree(TREE)
  checks['mst-build'] = (await mst.getPointer()).toString()
  report('mst-build', `mst build ${TREE} keys (one by one, root at end)`, performance.now() - t)
}

// 2. 10k single inserts into a 100k-key tree, each followed by the new root.
{
  // a tree whose nodes are all stored and clean, as a repo's tree is between commits
  const storage = new MemoryBlockstore()
  let mst = await buildTree(TREE)
  const { root, blocks } = await mst.getUnstoredBlocks()
  await storage.putMany(blocks)
  mst = MST.load(storage, root)
  const t = performance.now()
  for (let i = TREE; i < TREE + INSERTS; i++) {
    mst = await mst.add(treeKeys[i], cids[i])
    await mst.getPointer()
  }
  checks['mst-inserts'] = (await mst.getPointer()).toString()
  report('mst-inserts', `mst ${INSERTS} inserts into ${TREE} (root after each)`, performance.now() - t)
}

// 3. Commit sign + verify, per operation.
for (const [alg, kp] of [
  ['P-256', await P256Keypair.import(privP256)],
  ['K-256', await Secp256k1Keypair.import(privK256)],
]) {
  const didKey = kp.did()
  const unsigned = { did, version: 3, data: cids[0], rev: '3l3qo2vutsw2b', prev: null }
  const t = performance.now()
  let last
  for (let i = 0; i < SIGNS; i++) {
    unsigned.data = cids[i]
    last = await signCommit(unsigned, kp)
    if (!(await verifyCommitSig(last, didKey))) throw new Error('signature did not verify')
  }
  checks[`sign-verify-${alg}`] = `last sig ${Buffer.from(last.sig).toString('hex').slice(0, 16)}…`
  report(`sign-verify-${alg}`, `commit sign+verify ${alg} (per op)`, (performance.now() - t) / SIGNS)
}

// 4. Full CAR export of a 10k-record repo.
{
  const storage = new MemoryBlockstore()
  const kp = await P256Keypair.import(privP256)
  const writes = repoRecords.map(([key, record]) => {
    const [collection, rkey] = key.split('/')
    return { action: WriteOpAction.Create, collection, rkey, record }
  })
  const repo = await Repo.create(storage, did, kp, writes)
  // warm once, then time the best of three
  let car = await concatBytesAsync(getFullRepo(storage, repo.cid))
  let best = Infinity
  for (let i = 0; i < 3; i++) {
    const t = performance.now()
    car = await concatBytesAsync(getFullRepo(storage, repo.cid))
    best = Math.min(best, performance.now() - t)
  }
  checks['car-export'] = `${repo.commit.data} ${car.length} bytes`
  report('car-export', `car export ${REPO}-record repo`, best, `${car.length} bytes`)
}

const hwm = readFileSync('/proc/self/status', 'utf8').match(/VmHWM:\s+(\d+) kB/)
const peakRssMiB = hwm ? Number(hwm[1]) / 1024 : null
await writeJson(join(dir, 'bench-ref.json'), {
  runtime: `node ${process.version}`,
  peakRssMiB,
  results,
  checks,
})
console.log(`  ref peak RSS ${peakRssMiB?.toFixed(0)} MiB`)
