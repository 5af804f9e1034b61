// 1c. The reference verifies CARs and signed commits written by another implementation (ours).
//
//   node verify-cars.mjs <dir>
//
// <dir> holds <name>.car + <name>.json pairs (manifest format: manifest.md) and optionally
// commit-sigs.json (signed commit blocks). Prints one line per check group, then
// `<label>: N passed, M failed` totals through the Tally; exits 1 on any failure.
//
// Per CAR:
//   verifyRepoCar   @atproto/repo's verifyRepoCar(car, did, signingKey): CAR parses, every block
//                   hashes to its CID, the root commit is a valid v3 commit for the DID, its
//                   signature verifies against the did:key, every MST node and leaf is present
//   commit          CAR root, rev and MST root (data) are the manifest's
//   records         the records the reference reads out of the CAR are exactly the manifest's,
//                   each with the expected CID, and each record block decodes as a record
//   mst root        the reference's own MST built from the manifest's (key, CID) pairs has the
//                   root the commit names: our tree shape is the canonical one
//   no stray blocks every block in the CAR is the commit, an MST node or a record of this repo
//   same signature  RFC 6979 signatures are deterministic: the reference signing the same
//                   unsigned commit with the manifest's test key produces the same 64 bytes
//   record proofs   each proof in <name>.proofs.json passes verifyProofs for its claim (the
//                   record's CID, or null for a record that does not exist), and a false claim
//                   about the same key (another CID) comes back unverified
// Per signed commit in commit-sigs.json:
//   commit sig      the block decodes as a v3 commit, re-encodes to itself, hashes to its CID, its
//                   signature verifies (low-S enforced) and matches the reference's signature

import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'

import { P256Keypair, Secp256k1Keypair } from '@atproto/crypto'
import { decode, encode } from '@atproto/lex-cbor'
import { cidForCbor, parseCid } from '@atproto/lex-data'
import {
  MemoryBlockstore,
  MST,
  readCarWithRoot,
  signCommit,
  verifyCommitSig,
  verifyProofs,
  verifyRepoCar,
} from '@atproto/repo'

import { readJson, Tally } from './lib.mjs'

const dir = process.argv[2]
const label = process.argv[3] ?? 'reference verifies'
if (!dir) {
  console.error('usage: node verify-cars.mjs <dir> [label]')
  process.exit(2)
}

const tally = new Tally(label)
const files = (await readdir(dir))
  .filter((f) => f.endsWith('.json') && f !== 'commit-sigs.json' && !f.endsWith('.proofs.json'))
  .sort()
const hex = (b) => Buffer.from(b).toString('hex')
const sameBytes = (a, b) => a.length === b.length && a.every((x, i) => x === b[i])

async function importKey(alg, privHex) {
  return alg === 'p256' ? P256Keypair.import(privHex) : Secp256k1Keypair.import(privHex)
}

for (const file of files) {
  const m = await readJson(join(dir, file))
  const name = m.name
  const car = new Uint8Array(await readFile(join(dir, file.replace(/\.json$/, '.car'))))

  let verified
  try {
    verified = await verifyRepoCar(car, m.did, m.signingKey)
    tally.pass('verifyRepoCar')
  } catch (err) {
    tally.fail('verifyRepoCar', `${name}: ${err.message}`)
    continue
  }
  const { root, blocks } = await readCarWithRoot(car)
  const storage = new MemoryBlockstore(blocks)
  const commit = decode(blocks.get(root))

  tally.check(
    'commit',
    root.toString() === m.commit && commit.rev === m.rev && commit.data.toString() === m.data && commit.version === 3,
    () =>
      `${name}: root ${root} rev ${commit.rev} data ${commit.data} version ${commit.version}; ` +
      `manifest ${m.commit} ${m.rev} ${m.data}`,
  )

  // records, as the reference reads them out of the verified CAR
  const got = new Map(verified.creates.map((c) => [`${c.collection}/${c.rkey}`, c.cid.toString()]))
  const want = new Map(m.records.map((c) => [`${c.collection}/${c.rkey}`, c.cid]))
  const problems = []
  for (const [key, cid] of want) {
    if (!got.has(key)) problems.push(`missing ${key}`)
    else if (got.get(key) !== cid) problems.push(`${key}: CAR has ${got.get(key)}, manifest ${cid}`)
  }
  for (const key of got.keys()) if (!want.has(key)) problems.push(`unexpected ${key}`)
  for (const c of verified.creates) {
    try {
      await storage.readRecord(c.cid)
    } catch (err) {
      problems.push(`${c.collection}/${c.rkey}: record block does not decode as a record: ${err.message}`)
    }
  }
  tally.check('records', problems.length === 0, () => `${name}: ${problems.slice(0, 5).join('; ')}`)

  // our tree shape is the reference's: rebuild from the manifest's pairs
  let mst = await MST.create(new MemoryBlockstore())
  for (const r of m.records) mst = await mst.add(`${r.collection}/${r.rkey}`, parseCid(r.cid))
  const refRoot = (await mst.getPointer()).toString()
  tally.check('mst root', refRoot === m.data, () => `${name}: reference root ${refRoot}, ours ${m.data}`)

  // nothing in the CAR beyond the repo's own blocks
  const reachable = new Set([root.toString()])
  const loaded = MST.load(storage, commit.data)
  for await (const entry of loaded.walk()) {
    if (entry.isTree()) reachable.add(entry.pointer.toString())
    else reachable.add(entry.value.toString())
  }
  const stray = blocks.cids().filter((c) => !reachable.has(c.toString()))
  tally.check('no stray blocks', stray.length === 0, () => `${name}: ${stray.length} blocks not in the repo, e.g. ${stray[0]}`)

  // deterministic signatures agree
  if (m.privateKeyHex) {
    const kp = await importKey(m.algorithm, m.privateKeyHex)
    const { sig, ...unsigned } = commit
    const refSigned = await signCommit(unsigned, kp)
    tally.check(
      'same signature',
      kp.did() === m.signingKey && sameBytes(refSigned.sig, sig),
      () => `${name}: reference ${hex(refSigned.sig)} (key ${kp.did()}), ours ${hex(sig)} (key ${m.signingKey})`,
    )
  }
}

// record proofs
for (const file of files) {
  const m = await readJson(join(dir, file))
  let proofs
  try {
    proofs = await readJson(join(dir, file.replace(/\.json$/, '.proofs.json')))
  } catch (err) {
    if (err.code === 'ENOENT') continue
    throw err
  }
  const other = parseCid(m.commit) // a CID no record has
  for (const p of proofs) {
    const what = `${m.name} ${p.collection}/${p.rkey}`
    try {
      const bytes = new Uint8Array(Buffer.from(p.proofHex, 'hex'))
      const claim = { collection: p.collection, rkey: p.rkey, cid: p.cid === null ? null : parseCid(p.cid) }
      const good = await verifyProofs(bytes, [claim], m.did, m.signingKey)
      const lie = await verifyProofs(bytes, [{ ...claim, cid: other }], m.did, m.signingKey)
      tally.check(
        'record proofs',
        good.verified.length === 1 && lie.unverified.length === 1,
        () => `${what}: claim ${p.cid} verified: ${good.verified.length === 1}; a false claim refused: ${lie.unverified.length === 1}`,
      )
    } catch (err) {
      tally.fail('record proofs', `${what}: ${err.message}`)
    }
  }
}

// signed commits, one by one
let sigs = []
try {
  sigs = await readJson(join(dir, 'commit-sigs.json'))
} catch (err) {
  if (err.code !== 'ENOENT') throw err
}
for (const [i, s] of sigs.entries()) {
  const bytes = new Uint8Array(Buffer.from(s.blockHex, 'hex'))
  const what = `commit-sigs[${i}] (${s.algorithm})`
  try {
    const commit = decode(bytes)
    const problems = []
    if (!sameBytes(encode(commit), bytes)) problems.push('does not re-encode to itself')
    const cid = (await cidForCbor(bytes)).toString()
    if (cid !== s.cid) problems.push(`CID ${cid}, stated ${s.cid}`)
    if (commit.version !== 3 || commit.prev !== null || typeof commit.rev !== 'string') problems.push('not a v3 commit')
    if (!(await verifyCommitSig(commit, s.signingKey))) problems.push(`signature does not verify against ${s.signingKey}`)
    if (s.privateKeyHex) {
      const kp = await importKey(s.algorithm, s.privateKeyHex)
      const { sig, ...unsigned } = commit
      const ref = await signCommit(unsigned, kp)
      if (!sameBytes(ref.sig, sig)) problems.push(`reference signature ${hex(ref.sig)}, ours ${hex(sig)}`)
    }
    tally.check('commit sig', problems.length === 0, () => `${what}: ${problems.join('; ')}`)
  } catch (err) {
    tally.fail('commit sig', `${what}: ${err.message}`)
  }
}

const { passed, failed } = tally.print()
if (passed + failed === 0) {
  console.log(`FAIL ${label}: nothing to verify in ${dir}`)
  process.exit(1)
}
process.exit(failed === 0 ? 0 : 1)
