// 1a. MST-root vectors from the reference (@atproto/repo's MST).
//
//   node gen-mst.mjs <outdir> [seed]      writes <outdir>/mst-vectors.json
//
// Each vector is a history of phases applied to an empty tree, in order; after each phase the
// reference's root CID is recorded. A phase is one of
//   { "add":    [[key, cid], ...] }   insert new keys, in this order
//   { "update": [[key, cid], ...] }   change the value of existing keys
//   { "delete": [key, ...] }          remove existing keys, in this order
// and carries "root" (the CID after it) and "count" (keys in the tree after it).
//
// Kinds:
//   random       one add phase of a realistic key set (1..1000 keys, a few of 3,000-6,000)
//   same-layer   every key mined to sit at one layer L (0..4): wide single nodes, or tall
//                sparse trees whose intermediate nodes hold no leaves
//   mixed-layer  many keys mined at a high layer with few or none at the layers between,
//                so the tree has empty intermediate nodes; also a lone deep key among layer-0 keys
//   history      build, delete a random subset, update some, add more, delete more, and
//                sometimes delete everything (root of the empty tree); on random and mined sets
//   regrow       keys at one layer, all deleted, then keys at lower layers, then higher ones
//
// A phase may also carry "canonicalRoot": the root of the reference's own fresh build of the same
// map, present only where it differs from "root" (see run() below).

import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'

import { encode } from '@atproto/lex-cbor'
import { cidForCbor, parseCid as parseLexCid } from '@atproto/lex-data'
import { MemoryBlockstore, MST } from '@atproto/repo'

import { COLLECTIONS, keySource, layerOf, makeRng, randomRecord, writeJson } from './lib.mjs'

const outdir = process.argv[2]
const seed = Number(process.argv[3] ?? 20261125)
if (!outdir) {
  console.error('usage: node gen-mst.mjs <outdir> [seed]')
  process.exit(2)
}
await mkdir(outdir, { recursive: true })

const rng = makeRng(seed)

// Record CIDs: a pool of real record blocks. Values repeat across and within trees, as identical
// records do in real repos.
const pool = []
{
  const r = rng.fork()
  for (let i = 0; i < 4096; i++) {
    const collection = r.weighted(COLLECTIONS)
    pool.push((await cidForCbor(encode(randomRecord(r, collection)))).toString())
  }
}
const cidFor = (r) => r.pick(pool)

/** n distinct keys from a fresh realistic source. */
function randomKeys(r, n) {
  const next = keySource(r)
  return Array.from({ length: n }, next)
}

/** n distinct keys whose layer satisfies `want(layer)`. */
function minedKeys(r, n, want) {
  const next = keySource(r)
  const out = []
  while (out.length < n) {
    const key = next()
    if (want(layerOf(key))) out.push(key)
  }
  return out
}

const storage = new MemoryBlockstore()

const quirks = []

/**
 * Runs the phases on the reference MST, filling in root and count. After a phase that follows
 * another, the reference also builds the same key->CID map from scratch; if that root differs
 * from the one its edited tree reached, the phase records it as `canonicalRoot`: the
 * reference's tree then depends on its history, which the MST must not (repository spec,
 * "MST Structure"), and the other side compares with the canonical root instead.
 */
async function run(phases) {
  let mst = await MST.create(storage)
  const present = new Map()
  for (const [i, phase] of phases.entries()) {
    if (phase.add) {
      for (const [key, cid] of phase.add) {
        mst = await mst.add(key, parseCid(cid))
        present.set(key, cid)
      }
    } else if (phase.update) {
      for (const [key, cid] of phase.update) {
        mst = await mst.update(key, parseCid(cid))
        present.set(key, cid)
      }
    } else if (phase.delete) {
      for (const key of phase.delete) {
        mst = await mst.delete(key)
        present.delete(key)
      }
    }
    phase.root = (await mst.getPointer()).toString()
    phase.count = present.size
    if (i > 0) {
      let fresh = await MST.create(storage)
      for (const [key, cid] of present) fresh = await fresh.add(key, parseCid(cid))
      const canonical = (await fresh.getPointer()).toString()
      if (canonical !== phase.root) {
        phase.canonicalRoot = canonical
        quirks.push(phase)
      }
    }
  }
  return phases
}

const cidCache = new Map()
function parseCid(s) {
  let c = cidCache.get(s)
  if (!c) {
    c = parseLexCid(s)
    cidCache.set(s, c)
  }
  return c
}

/** A history over `keys`: several phases of deletes, updates and adds. */
function history(r, keys, extraKeys) {
  const phases = []
  const order = r.shuffle([...keys])
  phases.push({ add: order.map((k) => [k, cidFor(r)]) })
  let present = [...order]
  // delete a random subset (from a single key up to nearly all)
  const del1 = r.shuffle([...present]).slice(0, r.range(1, Math.max(1, present.length - 1)))
  phases.push({ delete: del1 })
  const gone = new Set(del1)
  present = present.filter((k) => !gone.has(k))
  if (present.length > 0 && r.chance(0.5)) {
    const upd = r.shuffle([...present]).slice(0, r.range(1, present.length))
    phases.push({ update: upd.map((k) => [k, cidFor(r)]) })
  }
  // add back some deleted keys (new values) and some never-seen keys
  const readd = r.shuffle([...del1]).slice(0, r.int(del1.length + 1))
  const fresh = extraKeys.slice(0, r.int(extraKeys.length + 1))
  const add2 = r.shuffle([...readd, ...fresh])
  if (add2.length > 0) {
    phases.push({ add: add2.map((k) => [k, cidFor(r)]) })
    present.push(...add2)
  }
  if (present.length > 0) {
    const del2 = r.chance(0.25)
      ? r.shuffle([...present]) // everything: back to the empty tree
      : r.shuffle([...present]).slice(0, r.range(1, present.length))
    phases.push({ delete: del2 })
  }
  return phases
}

const vectors = []
const push = async (name, kind, phases) => {
  vectors.push({ name, kind, phases: await run(phases) })
}
const started = performance.now()

// random sets
for (let i = 0; i < 600; i++) {
  const r = rng.fork()
  const n = i < 5 ? r.range(3000, 6000) : r.logRange(1, 1000)
  const keys = randomKeys(r, n)
  await push(`random-${i}`, 'random', [{ add: keys.map((k) => [k, cidFor(r)]) }])
}

// every key at one layer
for (let i = 0; i < 200; i++) {
  const r = rng.fork()
  const layer = [0, 1, 1, 2, 2, 2, 3, 3, 4][i % 9]
  const n = layer === 0 ? r.logRange(2, 400) : layer >= 3 ? r.range(2, 40) : r.range(2, 120)
  const keys = minedKeys(r, n, (l) => l === layer)
  await push(`same-layer-${layer}-${i}`, 'same-layer', [{ add: keys.map((k) => [k, cidFor(r)]) }])
}

// high-layer keys with gaps below them
for (let i = 0; i < 120; i++) {
  const r = rng.fork()
  const high = r.range(2, 4)
  const nHigh = i % 4 === 0 ? 1 : r.range(2, 40)
  const highKeys = minedKeys(r, nHigh, (l) => l === high)
  // layer-0 keys only (every layer between is empty), or a sprinkling at one middle layer too
  const lowKeys = minedKeys(r, r.range(0, 150), (l) => l === 0)
  const midKeys = i % 3 === 0 ? minedKeys(r, r.range(1, 8), (l) => l > 0 && l < high) : []
  const keys = r.shuffle([...new Set([...highKeys, ...lowKeys, ...midKeys])])
  await push(`mixed-layer-${high}-${i}`, 'mixed-layer', [{ add: keys.map((k) => [k, cidFor(r)]) }])
}

// insert-then-delete histories
for (let i = 0; i < 240; i++) {
  const r = rng.fork()
  let keys
  let extra
  switch (i % 4) {
    case 0:
    case 1:
      keys = randomKeys(r, r.logRange(1, 600))
      extra = randomKeys(r.fork(), r.range(0, 50))
      break
    case 2: {
      const layer = r.range(1, 3)
      keys = minedKeys(r, r.range(2, 60), (l) => l === layer)
      extra = minedKeys(r.fork(), r.range(0, 20), (l) => l !== layer)
      break
    }
    default: {
      const high = r.range(2, 3)
      keys = [
        ...minedKeys(r, r.range(1, 6), (l) => l === high),
        ...minedKeys(r, r.range(0, 80), (l) => l === 0),
      ]
      extra = minedKeys(r.fork(), r.range(0, 10), (l) => l >= 1)
      break
    }
  }
  const taken = new Set(keys)
  extra = extra.filter((k) => !taken.has(k))
  await push(`history-${i}`, 'history', history(r, keys, extra))
}

// trees that shrink to nothing and grow again at other layers: the root's depth must follow
// the keys present, not the keys once present
for (let i = 0; i < 40; i++) {
  const r = rng.fork()
  const high = r.range(1, 3)
  const first = minedKeys(r, r.range(1, 4), (l) => l === high)
  const low = minedKeys(r, r.range(1, 30), (l) => l < high)
  const higher = minedKeys(r, r.range(1, 3), (l) => l > high)
  const phases = [
    { add: first.map((k) => [k, cidFor(r)]) },
    { delete: r.shuffle([...first]) },
    { add: low.map((k) => [k, cidFor(r)]) },
    { add: higher.map((k) => [k, cidFor(r)]) },
    { delete: r.shuffle([...higher]) },
  ]
  await push(`regrow-${high}-${i}`, 'regrow', phases)
}

const file = join(outdir, 'mst-vectors.json')
await writeJson(file, {
  generator: '@atproto/repo 0.10.14 MST (vectors/reference/gen-mst.mjs)',
  seed,
  vectors,
})
const ops = vectors.reduce((s, v) => s + v.phases.reduce((t, p) => t + (p.add ?? p.update ?? p.delete).length, 0), 0)
const phases = vectors.reduce((s, v) => s + v.phases.length, 0)
console.log(
  `ok   reference mst vectors: ${vectors.length} key sets, ${phases} roots, ${ops} operations, ` +
    `${quirks.length} roots where the reference's edited tree differs from its own fresh build ` +
    `(${((performance.now() - started) / 1000).toFixed(1)} s) -> ${file}`,
)
