// A repo CAR checked by both engines: the reference's (@atproto/repo verifyRepoCar: structure,
// every block's CID, the MST, the signature) and ours (`relay repo inspect` verifies the same;
// `relay repo ls` lists its records and `relay repo mst-root` rebuilds the MST root from them).
// Each server's CAR must pass both, and both must agree on the MST root.
import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'

import { decodeAll } from '@atproto/lex-cbor'
import { readCarWithRoot, verifyRepoCar } from '@atproto/repo'


async function relayTool(bin, args, input) {
  return new Promise((resolve) => {
    const child = execFile(bin, args, { timeout: 30_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ ok: !err, stdout: String(stdout), stderr: String(stderr).trim() })
    })
    if (input !== undefined) child.stdin.end(input)
  })
}

async function byReference(bytes, did, key) {
  try {
    const verified = await verifyRepoCar(bytes, did, key)
    const { root, blocks } = await readCarWithRoot(bytes)
    const commit = [...decodeAll(blocks.get(root))][0]
    return { result: 'valid', records: verified.creates.length, data: commit.data.toString() }
  } catch (err) {
    return { result: `invalid: ${err.message}` }
  }
}

async function byRelay(env, file, did, key) {
  const inspect = await relayTool(env.relayBin, ['repo', 'inspect', file, '--did', did, '--key', key])
  if (!inspect.ok) return { result: `invalid: ${inspect.stderr}` }
  const info = JSON.parse(inspect.stdout)
  const ls = await relayTool(env.relayBin, ['repo', 'ls', file])
  if (!ls.ok) return { result: `ls failed: ${ls.stderr}` }
  const lines = ls.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [key, cid] = l.split(' ')
      return JSON.stringify({ key, cid })
    })
  const root = await relayTool(env.relayBin, ['repo', 'mst-root'], lines.join('\n') + '\n')
  if (!root.ok) return { result: `mst-root failed: ${root.stderr}` }
  return { result: info.signature === 'valid' ? 'valid' : `signature ${info.signature}`, records: info.records, data: root.stdout.trim() }
}

export async function verifyCarBoth(env, bytes, did, key, tag) {
  const file = join(env.work, `repo-${tag}.car`)
  await writeFile(file, bytes)
  const atprotoRepo = await byReference(bytes, did, key)
  const relayEngine = await byRelay(env, file, did, key)
  const agree = atprotoRepo.data !== undefined && atprotoRepo.data === relayEngine.data ? 'same MST root' : 'engines disagree'
  return { atprotoRepo, relayEngine, agree }
}
