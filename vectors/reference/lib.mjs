// Shared helpers for the reference scripts: a seeded PRNG, realistic repo keys and records,
// MST layers, and the manifest format both sides read and write.
//
// Everything random comes from `makeRng(seed)`, so a run with the same seed produces the same
// key sets, records and (for the MST vectors) the same roots.

import { createHash } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'

// ---------------------------------------------------------------------------------------------
// PRNG: xoshiro128** seeded through splitmix32. 32-bit arithmetic only, so it is exact in JS.

function splitmix32(seed) {
  let s = seed >>> 0
  return () => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
}

export function makeRng(seed) {
  const init = splitmix32(seed)
  let a = init()
  let b = init()
  let c = init()
  let d = init()
  const rotl = (x, k) => ((x << k) | (x >>> (32 - k))) >>> 0
  const u32 = () => {
    const result = Math.imul(rotl(Math.imul(b, 5) >>> 0, 7), 9) >>> 0
    const t = (b << 9) >>> 0
    c ^= a
    d ^= b
    b ^= c
    a ^= d
    c ^= t
    d = rotl(d, 11)
    return result
  }
  const rng = {
    u32,
    /** uniform in [0, 1) */
    float: () => u32() / 4294967296,
    /** uniform integer in [0, n) */
    int: (n) => Math.floor(rng.float() * n),
    /** uniform integer in [lo, hi] */
    range: (lo, hi) => lo + rng.int(hi - lo + 1),
    /** integer in [lo, hi], log-uniformly distributed (many small, some large) */
    logRange: (lo, hi) => Math.min(hi, Math.floor(Math.exp(Math.log(lo) + rng.float() * (Math.log(hi + 1) - Math.log(lo))))),
    chance: (p) => rng.float() < p,
    pick: (arr) => arr[rng.int(arr.length)],
    /** picks from [[weight, value], ...] */
    weighted: (pairs) => {
      const total = pairs.reduce((s, [w]) => s + w, 0)
      let x = rng.float() * total
      for (const [w, v] of pairs) {
        if (x < w) return v
        x -= w
      }
      return pairs[pairs.length - 1][1]
    },
    shuffle: (arr) => {
      for (let i = arr.length - 1; i > 0; i--) {
        const j = rng.int(i + 1)
        ;[arr[i], arr[j]] = [arr[j], arr[i]]
      }
      return arr
    },
    bytes: (n) => {
      const out = new Uint8Array(n)
      for (let i = 0; i < n; i++) out[i] = u32() & 0xff
      return out
    },
    /** a child generator, so adding draws in one place does not shift another's sequence */
    fork: () => makeRng(u32()),
  }
  return rng
}

// ---------------------------------------------------------------------------------------------
// Keys: `<collection>/<rkey>` as a PDS writes them.

/** Collections seen in real repos, weighted roughly by how common they are. */
export const COLLECTIONS = [
  [30, 'app.bsky.feed.like'],
  [20, 'app.bsky.feed.post'],
  [12, 'app.bsky.graph.follow'],
  [8, 'app.bsky.feed.repost'],
  [3, 'app.bsky.graph.block'],
  [3, 'app.bsky.graph.listitem'],
  [1, 'app.bsky.graph.list'],
  [1, 'app.bsky.feed.threadgate'],
  [1, 'app.bsky.feed.postgate'],
  [1, 'app.bsky.graph.starterpack'],
  [1, 'app.bsky.feed.generator'],
  [1, 'chat.bsky.actor.declaration'],
  [1, 'app.bsky.actor.profile'],
  [1, 'sh.tangled.repo.issue.comment'],
  [1, 'fyi.unravel.frontpage.vote'],
  [1, 'com.whtwnd.blog.entry'],
  [1, 'events.smokesignal.calendar.rsvp'],
  [1, 'xyz.statusphere.status'],
  [1, 'community.lexicon.calendar.event'],
  [1, 'com.example.averyveryverylongnamespace.withmanysegments.recordTypeName'],
]

/** Collections whose records live at a fixed rkey. */
const SINGLETONS = {
  'app.bsky.actor.profile': 'self',
  'chat.bsky.actor.declaration': 'self',
}

const S32 = '234567abcdefghijklmnopqrstuvwxyz'

/** A TID from microseconds since the epoch and a 10-bit clock id. */
export function tidFromParts(micros, clockId) {
  let v = (BigInt(micros) << 10n) | BigInt(clockId & 0x3ff)
  let out = ''
  for (let i = 0; i < 13; i++) {
    out = S32[Number(v & 31n)] + out
    v >>= 5n
  }
  return out
}

// 2023-01-01 .. 2026-11-01, in microseconds
const TID_LO = 1672531200000000
const TID_HI = 1793491200000000

export function randomTid(rng) {
  const micros = TID_LO + Math.floor(rng.float() * (TID_HI - TID_LO))
  return tidFromParts(micros, rng.int(1024))
}

/** TIDs as one writer makes them: increasing, usually close together (shared prefixes). */
export function tidStream(rng) {
  let micros = TID_LO + Math.floor(rng.float() * (TID_HI - TID_LO) * 0.9)
  const clockId = rng.int(1024)
  return () => {
    micros += rng.weighted([
      [6, 1 + rng.int(1000)], // same burst
      [3, 1 + rng.int(60_000_000)], // same hour
      [1, 1 + rng.int(86_400_000_000)], // another day
    ])
    return tidFromParts(micros, clockId)
  }
}

const RKEY_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:~-'

/** A record key of the `any` format (not a TID): 1..maxLen allowed characters, never `.`/`..`. */
export function randomAnyRkey(rng, maxLen = 40) {
  for (;;) {
    const len = rng.logRange(1, maxLen)
    let s = ''
    for (let i = 0; i < len; i++) s += RKEY_CHARS[rng.int(RKEY_CHARS.length)]
    if (s !== '.' && s !== '..') return s
  }
}

/**
 * A source of distinct keys in one repo: mostly TID rkeys from a few writers, some `any` rkeys,
 * the singletons, and now and then a very long rkey.
 */
export function keySource(rng) {
  const writers = Array.from({ length: 1 + rng.int(3) }, () => tidStream(rng))
  const seen = new Set()
  return () => {
    for (;;) {
      const collection = rng.weighted(COLLECTIONS)
      let rkey
      if (SINGLETONS[collection] && rng.chance(0.7)) {
        rkey = SINGLETONS[collection]
      } else {
        rkey = rng.weighted([
          [70, () => rng.pick(writers)()],
          [12, () => randomTid(rng)],
          [15, () => randomAnyRkey(rng)],
          [3, () => randomAnyRkey(rng, 512)],
        ])()
      }
      const key = `${collection}/${rkey}`
      if (!seen.has(key)) {
        seen.add(key)
        return key
      }
    }
  }
}

/** MST layer of a key: leading zero bits of SHA-256(key), counted in pairs (fanout 4). */
export function layerOf(key) {
  const hash = createHash('sha256').update(key).digest()
  let zeros = 0
  for (const byte of hash) {
    if (byte === 0) {
      zeros += 4
      continue
    }
    if (byte < 4) zeros += 3
    else if (byte < 16) zeros += 2
    else if (byte < 64) zeros += 1
    break
  }
  return zeros
}

// ---------------------------------------------------------------------------------------------
// Records

const WORDS = ('the a of to and in is it you that he was for on are with as his they be at one have this ' +
  'from or had by hot word but what some we can out other were all there when up use your how said an each ' +
  'she which do their time if will way about many then them write would like so these her long make thing ' +
  'see him two has look more day could go come did number sound no most people my over know water than call ' +
  'repo commit tree merkle signature relay firehose 🦋 ünïcödé 日本語').split(' ')

function words(rng, n) {
  const out = []
  for (let i = 0; i < n; i++) out.push(rng.pick(WORDS))
  return out.join(' ')
}

function isoDate(rng) {
  return new Date(TID_LO / 1000 + Math.floor(rng.float() * (TID_HI - TID_LO) / 1000)).toISOString()
}

function fakeDid(rng) {
  let s = ''
  for (let i = 0; i < 24; i++) s += S32[rng.int(32)]
  return `did:plc:${s}`
}

/** A plausible record for `collection`, in the lex JSON shape (no CIDs or bytes inside). */
export function randomRecord(rng, collection) {
  const createdAt = isoDate(rng)
  switch (collection) {
    case 'app.bsky.feed.post': {
      const rec = { $type: collection, text: words(rng, rng.range(1, 40)), createdAt }
      if (rng.chance(0.5)) rec.langs = [rng.pick(['en', 'ja', 'de', 'pt'])]
      return rec
    }
    case 'app.bsky.feed.like':
    case 'app.bsky.feed.repost':
      return {
        $type: collection,
        subject: {
          uri: `at://${fakeDid(rng)}/app.bsky.feed.post/${randomTid(rng)}`,
          // any well-formed CID string; records hold it as a string in a strongRef
          cid: 'bafyreig' + Array.from({ length: 52 }, () => S32[rng.int(32)]).join(''),
        },
        createdAt,
      }
    case 'app.bsky.graph.follow':
    case 'app.bsky.graph.block':
      return { $type: collection, subject: fakeDid(rng), createdAt }
    case 'app.bsky.actor.profile':
      return { $type: collection, displayName: words(rng, 2), description: words(rng, rng.range(0, 30)) }
    default:
      return {
        $type: collection,
        createdAt,
        name: words(rng, rng.range(1, 6)),
        count: rng.int(1_000_000),
        flags: [rng.chance(0.5), null, rng.int(100) - 50],
      }
  }
}

// ---------------------------------------------------------------------------------------------
// Files

export async function readJson(path) {
  return JSON.parse(await readFile(path, 'utf8'))
}

export async function writeJson(path, value) {
  await writeFile(path, JSON.stringify(value, null, 1) + '\n')
}

/** Keys sort as the MST orders them: bytewise, which for ASCII keys is JS string order. */
export function byKey(a, b) {
  return a < b ? -1 : a > b ? 1 : 0
}

/** Counts outcomes per check group and prints them in the run.sh format. */
export class Tally {
  constructor(prefix) {
    this.prefix = prefix
    this.groups = new Map()
  }
  group(name) {
    if (!this.groups.has(name)) this.groups.set(name, { passed: 0, failures: [] })
    return this.groups.get(name)
  }
  pass(name) {
    this.group(name).passed++
  }
  fail(name, why) {
    this.group(name).failures.push(why)
  }
  check(name, ok, why) {
    if (ok) this.pass(name)
    else this.fail(name, why())
  }
  print() {
    let passed = 0
    let failed = 0
    for (const [name, g] of this.groups) {
      const status = g.failures.length === 0 ? 'ok  ' : 'FAIL'
      console.log(`${status} ${this.prefix} ${name}: ${g.passed} passed, ${g.failures.length} failed`)
      for (const f of g.failures.slice(0, 10)) console.log(`       ${f}`)
      if (g.failures.length > 10) console.log(`       ... and ${g.failures.length - 10} more`)
      passed += g.passed
      failed += g.failures.length
    }
    return { passed, failed }
  }
}
