// com.atproto.sync.subscribeRepos, read the way a relay (BGS) reads it: a WebSocket (`ws`) whose
// binary messages are two DAG-CBOR objects back to back, a header {op, t} and a body
// (https://atproto.com/specs/event-stream). Decoding is @atproto/lex-cbor's; commit checks use
// @atproto/repo: signature, CIDs of every block, the records the ops name, and the sync 1.1
// inversion (undo the ops on the new MST and land on prevData).
import { decodeAll } from '@atproto/lex-cbor'
import { MemoryBlockstore, MST, readCar, verifyCommitSig } from '@atproto/repo'
import WebSocket from 'ws'

/** One decoded frame: {op, t, body}, or {op: -1, body: {error, message}} for an error frame. */
export function decodeFrame(bytes) {
  const parts = [...decodeAll(new Uint8Array(bytes))]
  if (parts.length !== 2) {
    throw new Error(`a frame must hold exactly two CBOR objects (header, body), found ${parts.length}`)
  }
  const [header, body] = parts
  if (header === null || typeof header !== 'object' || (header.op !== 1 && header.op !== -1)) {
    throw new Error(`bad frame header ${JSON.stringify(header)}`)
  }
  if (header.op === 1 && typeof header.t !== 'string') {
    throw new Error(`message frame without a type: ${JSON.stringify(header)}`)
  }
  return { op: header.op, t: header.t, body }
}

/**
 * Opens the firehose and collects frames until `until(frame, frames)` says so, the server closes,
 * or `timeoutMs` passes. Returns {frames, closed: {code, reason} | null, timedOut, error}.
 * `onOpen` runs once the socket is open (e.g. to make a write that should then arrive).
 */
export function collectFrames(url, { until = () => false, timeoutMs = 10_000, onOpen } = {}) {
  return new Promise((resolve) => {
    const frames = []
    let done = false
    let closed = null
    const ws = new WebSocket(url, { handshakeTimeout: timeoutMs })
    const finish = (extra = {}) => {
      if (done) return
      done = true
      clearTimeout(timer)
      try {
        ws.terminate()
      } catch {
        // already gone
      }
      resolve({ frames, closed, timedOut: false, error: null, ...extra })
    }
    const timer = setTimeout(() => finish({ timedOut: true }), timeoutMs)
    ws.on('open', async () => {
      if (!onOpen) return
      try {
        await onOpen()
      } catch (err) {
        finish({ error: err })
      }
    })
    ws.on('unexpected-response', (_req, res) => {
      let text = ''
      res.on('data', (d) => (text += d))
      res.on('end', () => finish({ error: new Error(`HTTP ${res.statusCode} instead of an upgrade: ${text.slice(0, 300)}`), httpStatus: res.statusCode, httpBody: text }))
    })
    ws.on('message', (data, isBinary) => {
      if (done) return
      let frame
      try {
        if (!isBinary) throw new Error(`text message on the firehose: ${String(data).slice(0, 200)}`)
        frame = decodeFrame(data)
      } catch (err) {
        finish({ error: err })
        return
      }
      frames.push(frame)
      try {
        if (until(frame, frames)) finish()
      } catch (err) {
        finish({ error: err })
      }
    })
    ws.on('close', (code, reason) => {
      closed = { code, reason: String(reason) }
      finish()
    })
    ws.on('error', (err) => finish({ error: err }))
  })
}

const cidString = (c) => (c == null ? null : c.toString())

/**
 * Checks one #commit body against its repo's signing key (did:key). Throws with the reason on the
 * first problem. Checks: the blocks CAR parses and every block hashes to its CID; its root is the
 * commit; the commit block names this repo and rev and carries a valid signature; every
 * create/update op's record is in the blocks with the op's CID and the new MST maps the path to
 * it; a delete's path is gone; inverting the ops on the new MST gives prevData (sync 1.1; only a
 * repo's first commit, with no `since`, may lack prevData).
 */
export async function verifyCommitFrame(body, signingKey) {
  const where = `#commit seq ${body.seq} (${body.repo} rev ${body.rev})`
  for (const field of ['repo', 'rev', 'time']) {
    if (typeof body[field] !== 'string') throw new Error(`${where}: ${field} is not a string`)
  }
  if (!(body.blocks instanceof Uint8Array)) throw new Error(`${where}: blocks is not bytes`)
  if (!Array.isArray(body.ops)) throw new Error(`${where}: ops is not an array`)
  if (!Array.isArray(body.blobs)) throw new Error(`${where}: blobs is not an array`)
  if (body.tooBig === true) throw new Error(`${where}: tooBig commits cannot be checked`)
  let car
  try {
    car = await readCar(body.blocks) // verifies every block's CID against its bytes
  } catch (err) {
    throw new Error(`${where}: blocks CAR: ${err.message}`)
  }
  if (car.roots.length !== 1 || cidString(car.roots[0]) !== cidString(body.commit)) {
    throw new Error(`${where}: CAR root ${car.roots.map(cidString)} is not the commit ${cidString(body.commit)}`)
  }
  const store = new MemoryBlockstore(car.blocks)
  const commitBytes = car.blocks.get(body.commit)
  if (!commitBytes) throw new Error(`${where}: the commit block ${cidString(body.commit)} is not in blocks`)
  const commit = [...decodeAll(commitBytes)][0]
  if (commit.did !== body.repo) throw new Error(`${where}: commit.did ${commit.did} is not the repo`)
  if (commit.rev !== body.rev) throw new Error(`${where}: commit.rev ${commit.rev} differs from the frame's rev`)
  if (commit.version !== 3) throw new Error(`${where}: commit version ${commit.version}, expected 3`)
  if (!(await verifyCommitSig(commit, signingKey))) {
    throw new Error(`${where}: the commit signature does not verify against ${signingKey}`)
  }
  const newTree = MST.load(store, commit.data)
  for (const op of body.ops) {
    const cidNow = await newTree.get(op.path).catch((err) => {
      throw new Error(`${where}: MST path to ${op.path} incomplete in blocks: ${err.message}`)
    })
    if (op.action === 'create' || op.action === 'update') {
      if (op.cid == null) throw new Error(`${where}: ${op.action} ${op.path} without a cid`)
      if (!car.blocks.has(op.cid)) throw new Error(`${where}: record block ${cidString(op.cid)} for ${op.path} missing`)
      if (cidString(cidNow) !== cidString(op.cid)) {
        throw new Error(`${where}: new MST maps ${op.path} to ${cidString(cidNow)}, the op says ${cidString(op.cid)}`)
      }
    } else if (op.action === 'delete') {
      if (op.cid != null) throw new Error(`${where}: delete ${op.path} with a cid`)
      if (cidNow !== null) throw new Error(`${where}: ${op.path} is deleted but still in the new MST`)
    } else {
      throw new Error(`${where}: unknown op action ${op.action}`)
    }
  }
  if (body.prevData == null) {
    // Only a repo's first commit has no previous tree (and then nothing to invert to).
    if (body.since == null && body.ops.every((op) => op.action === 'create')) return commit
    throw new Error(`${where}: no prevData, and this is not the repo's first commit (sync 1.1 requires it)`)
  }
  let tree = newTree
  for (const op of [...body.ops].reverse()) {
    try {
      if (op.action === 'create') tree = await tree.delete(op.path)
      else if (op.action === 'update') tree = await tree.update(op.path, op.prev)
      else tree = await tree.add(op.path, op.prev)
    } catch (err) {
      throw new Error(`${where}: inverting ${op.action} ${op.path}: ${err.message} (blocks incomplete, or prev missing)`)
    }
  }
  const inverted = await tree.getPointer()
  if (cidString(inverted) !== cidString(body.prevData)) {
    throw new Error(`${where}: inverting the ops gives ${cidString(inverted)}, prevData is ${cidString(body.prevData)}`)
  }
  return commit
}
