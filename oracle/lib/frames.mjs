// Firehose frames made comparable, and the per-account chain checks.
//
// A #commit's `blocks` CAR cannot be compared byte for byte (the commit block holds the DID and
// the signature), but everything under the commit can: it is described as the commit block's
// fields and the sorted CIDs of the other blocks (MST nodes and records), which must be the same
// set on both servers when the same writes were made.
import { decodeAll } from '@atproto/lex-cbor'
import { readCar } from '@atproto/repo'

import { verifyCommitFrame } from '../../e2e/lib/firehose.mjs'

const isCid = (v) => v != null && typeof v === 'object' && 'multihash' in v && 'version' in v && 'code' in v

/** Plain JSON for a decoded DAG-CBOR value: CIDs as strings, bytes as `<bytes:N>`. */
export function toJson(v) {
  if (v === undefined) return '<undefined>'
  if (v === null || typeof v !== 'object') return v
  if (isCid(v)) return v.toString()
  if (v instanceof Uint8Array) return `<bytes:${v.length}>`
  if (Array.isArray(v)) return v.map(toJson)
  const out = {}
  for (const [k, x] of Object.entries(v)) out[k] = toJson(x)
  return out
}

async function describeBlocks(bytes, commitCid) {
  try {
    const car = await readCar(bytes)
    const cids = []
    let commit = null
    // A #sync frame names its commit only as the CAR's root.
    const root = commitCid ?? car.roots[0] ?? null
    for (const [cid, block] of car.blocks) {
      if (root && cid.toString() === root.toString()) {
        commit = toJson([...decodeAll(block)][0])
      } else cids.push(cid.toString())
    }
    return { roots: car.roots.length, commitBlock: commit ?? '<missing>', otherBlocks: cids.sort() }
  } catch (err) {
    return { error: `unreadable CAR: ${err.message}` }
  }
}

/** One frame as JSON, the CAR in `blocks` described instead of shown. */
export async function describeFrame(frame) {
  const body = { ...frame.body }
  if (frame.t === '#commit' || frame.t === '#sync') {
    if (body.blocks instanceof Uint8Array) body.blocks = await describeBlocks(body.blocks, body.commit ?? null)
  }
  return { op: frame.op, t: frame.t ?? null, body: toJson(body) }
}

const withoutWhere = (msg) => msg.replace(/^#commit seq \d+ \([^)]*\): /, '')

/**
 * Checks an account's frames in order: each #commit verifies (signature, blocks, inversion to
 * prevData: e2e/lib/firehose.mjs), its prevData is the previous commit's data and its `since` the
 * previous rev.
 */
export async function checkFrames(frames, signingKey) {
  const commits = frames.filter((f) => f.t === '#commit')
  const out = { commits: commits.length, verify: [], prevDataChain: 'ok', sinceChain: 'ok' }
  let prev = null
  for (const f of commits) {
    let commit = null
    try {
      commit = await verifyCommitFrame(f.body, signingKey)
      out.verify.push('ok')
    } catch (err) {
      out.verify.push(withoutWhere(err.message))
    }
    if (prev) {
      const want = prev.data?.toString()
      const got = f.body.prevData?.toString()
      if (out.prevDataChain === 'ok' && want !== got) {
        out.prevDataChain = `commit ${commits.indexOf(f)}: prevData ${got}, previous data ${want}`
      }
      if (out.sinceChain === 'ok' && f.body.since !== prev.rev) {
        out.sinceChain = `commit ${commits.indexOf(f)}: since is not the previous rev`
      }
    }
    prev = commit ?? { data: null, rev: f.body.rev }
  }
  return out
}
