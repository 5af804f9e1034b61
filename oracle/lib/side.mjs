// One server under comparison (the reference PDS or the relay) and one scenario's run on it.
//
// A Server holds the XRPC client and a live firehose subscription opened before the first scenario,
// so every scenario's events are seen as a relay (BGS) would see them. A Run records what one
// scenario observed on one server, in order, as [label, value] pairs; the harness normalises both
// runs (lib/normalise.mjs) and diffs them label by label.
import { decodeFrame } from '../../e2e/lib/firehose.mjs'
import { xrpcClient } from '../../e2e/lib/http.mjs'
import WebSocket from 'ws'

import { checkFrames, describeFrame } from './frames.mjs'
import { invalidRecordAt } from './record-errors.mjs'
import { verifyCarBoth } from './verify.mjs'

const WAIT_MS = 15_000

export class Server {
  constructor(name, url, env) {
    this.name = name
    this.url = url
    this.env = env // {plc, relayBin, work}
    this.call = xrpcClient(url)
    this.frames = [] // every frame of the live subscription, decoded
    this.waiters = new Set()
  }

  /** Opens the live subscription; resolves once the socket is open. */
  subscribe() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${this.url.replace(/^http/, 'ws')}/xrpc/com.atproto.sync.subscribeRepos`)
      this.ws = ws
      ws.on('open', resolve)
      ws.on('error', (err) => reject(new Error(`${this.name} firehose: ${err.message}`)))
      ws.on('message', (data) => {
        try {
          this.frames.push(decodeFrame(data))
        } catch (err) {
          this.frames.push({ op: -2, t: 'undecodable', body: { error: err.message } })
        }
        for (const w of this.waiters) w()
      })
    })
  }

  close() {
    this.ws?.terminate()
  }

  /** Waits until `ready()` holds over the frames received so far (bounded). */
  async waitFrames(ready) {
    if (ready()) return true
    return new Promise((resolve) => {
      const done = (ok) => {
        this.waiters.delete(check)
        clearTimeout(timer)
        resolve(ok)
      }
      const check = () => ready() && done(true)
      const timer = setTimeout(() => done(false), WAIT_MS)
      this.waiters.add(check)
    })
  }

  /**
   * Waits until no new frame for `did` arrived for `quietMs` (at most `maxMs`): events sequenced
   * right after the latest commit (a #sync after account creation) are then in.
   */
  async settle(did, quietMs = 150, maxMs = 3000) {
    const until = Date.now() + maxMs
    let seen = -1
    while (Date.now() < until) {
      const now = this.framesOf(did).length
      if (now === seen) return
      seen = now
      await new Promise((r) => setTimeout(r, quietMs))
    }
  }

  framesOf(did) {
    return this.frames.filter((f) => f.body?.repo === did || f.body?.did === did)
  }
}

export class Run {
  constructor(server, scenario, index) {
    this.server = server
    this.scenario = scenario
    this.index = index
    this.obs = []
    this.accounts = {}
    this.aliases = new Map() // per-server value -> placeholder
  }

  get side() {
    return this.server.name
  }

  // ------------------------------------------------------------ aliases (see normalise.mjs)

  /** Names a per-server value (a DID, a generated rkey…) so both servers' values compare equal. */
  alias(value, name) {
    if (typeof value === 'string' && value) this.aliases.set(value, `<${name}>`)
    return value
  }
  aliasesIn(s) {
    for (const k of this.aliases.keys()) if (s.includes(k)) return true
    return false
  }
  replaceAliases(s) {
    for (const [k, v] of this.aliases) s = s.split(k).join(v)
    return s
  }

  // ------------------------------------------------------------ observations

  observe(label, value) {
    this.obs.push([label, value])
    return value
  }

  /** An XRPC call, recorded as {status, body} (a non-JSON body as its type and size). */
  async xrpc(label, method, nsid, opts = {}) {
    const { as, token, ...rest } = opts
    const bearer = token ?? (as ? this.accounts[as].accessJwt : undefined)
    const res = await this.server.call(method, nsid, { ...rest, token: bearer })
    if (label) this.observe(label, describeResponse(res))
    return res
  }
  get(label, nsid, params, opts = {}) {
    return this.xrpc(label, 'GET', nsid, { params, ...opts })
  }
  post(label, nsid, json, opts = {}) {
    return this.xrpc(label, 'POST', nsid, { json, ...opts })
  }

  // ------------------------------------------------------------ accounts

  /** A handle the same on both servers and unique in the run: `<name><scenario index>.test`. */
  handle(name) {
    return `${name}${this.index}.test`
  }

  /** createAccount, recorded; the DID is registered as `did:<name>`. */
  async createAccount(name, { label = `createAccount ${name}`, extra = {} } = {}) {
    const res = await this.post(label, 'com.atproto.server.createAccount', {
      handle: this.handle(name),
      email: `${name}${this.index}@oracle.test`,
      password: `pw-${name}-oracle`,
      ...extra,
    })
    if (res.status !== 200) throw new Error(`${this.side}: createAccount ${name}: ${res.status} ${res.text}`)
    this.alias(res.json.did, `did:${name}`)
    this.accounts[name] = { ...res.json, name }
    return this.accounts[name]
  }

  did(name) {
    return this.accounts[name].did
  }

  /** The account's current commit CID and rev (for swapCommit and `since`). */
  async head(name) {
    const res = await this.get(null, 'com.atproto.sync.getLatestCommit', { did: this.did(name) })
    return res.json
  }

  async signingKey(name) {
    const res = await fetch(`${this.server.env.plc}/${this.did(name)}/data`)
    const data = await res.json()
    return data.verificationMethods?.atproto
  }

  // ------------------------------------------------------------ firehose and repo checks

  /**
   * The firehose as seen for these accounts: waits until each one's latest commit arrived, then
   * records every frame for it (described by lib/frames.mjs) and the chain checks.
   */
  async firehose(label, names = Object.keys(this.accounts)) {
    const out = {}
    for (const name of names) {
      const did = this.did(name)
      const head = await this.head(name)
      const rev = head?.rev
      const arrived = await this.server.waitFrames(
        () => !rev || this.server.framesOf(did).some((f) => f.t === '#commit' && f.body.rev === rev),
        `${name}'s commit ${rev}`,
      )
      // A repo's first commit is followed by a #sync on the reference (and the relay): when the
      // latest frame is that commit, wait for what follows it, then for the stream to go quiet.
      await this.server.waitFrames(() => {
        const mine = this.server.framesOf(did)
        const last = mine[mine.length - 1]
        return !(last?.t === '#commit' && last.body.since == null)
      })
      await this.server.settle(did)
      const frames = this.server.framesOf(did)
      const described = []
      for (const f of frames) described.push(await describeFrame(f))
      out[name] = {
        complete: arrived ? 'latest commit arrived' : `latest commit ${rev} missing after 15 s`,
        frames: described,
        checks: await checkFrames(frames, await this.signingKey(name)),
      }
    }
    return this.observe(label, { frame: out })
  }

  /** getRepo, verified by both engines (@atproto/repo and the relay's), recorded. */
  async repo(label, name, params = {}) {
    const did = this.did(name)
    const res = await this.get(null, 'com.atproto.sync.getRepo', { did, ...params })
    if (res.status !== 200) return this.observe(label, describeResponse(res))
    const checked = await verifyCarBoth(this.server.env, res.bytes, did, await this.signingKey(name), `${this.side}-${this.index}-${name}`)
    return this.observe(label, { status: res.status, contentType: res.headers.get('content-type'), ...checked })
  }

  /** The scenario's closing checks for every account it made: firehose and getRepo. */
  async finish() {
    await this.firehose('firehose')
    for (const name of Object.keys(this.accounts)) await this.repo(`getRepo ${name}`, name)
  }
}

export function describeResponse(res) {
  const ct = (res.headers.get('content-type') ?? '').split(';')[0]
  let body
  if (res.json !== undefined) body = res.json
  else if (res.bytes.length === 0) body = '<empty>'
  else body = `<${ct || 'no content-type'}>`
  const out = { status: res.status, body }
  const at = invalidRecordAt(res.json?.message)
  if (at !== undefined) out.invalidRecordAt = at
  return out
}
