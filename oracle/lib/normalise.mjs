// What must differ between the two servers, and how it is made comparable.
//
// The reference PDS and the relay run the same scenario with the same inputs, but some values can
// never be equal: each server mints its own DIDs (same PLC directory, different keys), signs with
// its own keys, issues its own JWTs, picks its own revs and timestamps, numbers its own firehose.
// Each such value is replaced by a placeholder naming what it is and its JSON type, so the shape
// (and the type) is still compared. Everything else is compared as is; in particular record CIDs,
// MST roots (`data`, `prevData`), blob CIDs, handles, record values and error names must be equal.
//
// The list is explicit: RULES below, applied in order; the first that matches a value wins.

const TID = /^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$/
const JWT = /^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/
const DATETIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/
const DID_KEY = /did:key:z[1-9A-HJ-NP-Za-km-z]+/g
const LOCAL_URL = /http:\/\/localhost:\d+/g
const DID_PLC = /did:plc:[a-z2-7]{24}/g

const has = (re, v) => new RegExp(re.source).test(v)
const last = (path) => path[path.length - 1]
const under = (path, key) => path.includes(key)
const typed = (name, value) => `<${name}:${value === null ? 'null' : typeof value}>`

/**
 * The rules: `why` is printed by `oracle/harness.mjs --rules` and in the README.
 * `match(path, value)` sees the key path (strings and indices) and the value; `to(value, side)`
 * gives the placeholder.
 */
export const RULES = [
  {
    name: 'error-message',
    why: 'the `message` of an XRPC error (and of an error frame) is prose for people: only its presence and type are compared, not its wording. The error name and status are compared. (The reference 0.5.35 words lexicon errors as "Expected string value type (got 5) at $.record.text"; ours follow the older @atproto/lexicon wording "Record/text must be a string"; params errors and JSON parse errors differ likewise. The field a record validation error blames is compared as `invalidRecordAt`, see record-errors.mjs.)',
    match: (p) => last(p) === 'message' && p[p.length - 2] === 'body',
    to: (v) => typed('message', v),
  },
  {
    name: 'commit-cid',
    why: 'a commit CID covers the DID and the signature, both per server (write results `commit.cid`, getLatestCommit/getRepoStatus `cid`/`head`, the firehose `commit`, a CAR root)',
    match: (p, v) =>
      typeof v === 'string' &&
      ((last(p) === 'cid' && p[p.length - 2] === 'commit') ||
        (last(p) === 'commit' && (under(p, 'frame') || under(p, 'frames'))) ||
        (last(p) === 'cid' && p.some((x) => typeof x === 'string' && /latestcommit/i.test(x))) ||
        last(p) === 'head' ||
        last(p) === 'commitCid' ||
        last(p) === 'repoCommit'),
    to: (v) => typed('commit-cid', v),
  },
  {
    name: 'rev',
    why: 'revs are TIDs from each server\'s clock (`rev`, `since`, `repoRev`)',
    match: (p, v) => ['rev', 'since', 'repoRev'].includes(last(p)) && typeof v === 'string' && TID.test(v),
    to: (v) => typed('rev', v),
  },
  {
    name: 'seq',
    why: 'firehose sequence numbers count every account\'s events on that server',
    match: (p) => last(p) === 'seq',
    to: (v) => typed('seq', v),
  },
  {
    name: 'registered',
    why: 'values a scenario names as per-server (each account\'s DID, a generated rkey, a blob-free TID): replaced by their alias, also inside AT-URIs',
    match: (p, v, side) => typeof v === 'string' && side.aliasesIn(v),
    to: (v, side) => side.replaceAliases(v),
  },
  {
    name: 'jwt',
    why: 'session tokens are signed by each server',
    match: (p, v) => typeof v === 'string' && JWT.test(v),
    to: (v) => typed('jwt', v),
  },
  {
    name: 'datetime',
    why: 'timestamps from each server\'s clock (`time`, `createdAt` of app passwords and invites, `indexedAt`)',
    match: (p, v) => typeof v === 'string' && DATETIME.test(v) && !under(p, 'value') && !under(p, 'record'),
    to: (v) => typed('datetime', v),
  },
  {
    name: 'key',
    why: 'signing keys are per account and server (did:key, publicKeyMultibase)',
    match: (p, v) => typeof v === 'string' && (last(p) === 'publicKeyMultibase' || has(DID_KEY, v)),
    to: (v) => v.replace(DID_KEY, '<did:key>').replace(/^z[1-9A-HJ-NP-Za-km-z]{40,}$/, '<multibase>'),
  },
  {
    name: 'local-url',
    why: 'each server listens on its own loopback port (service endpoints)',
    match: (p, v) => typeof v === 'string' && has(LOCAL_URL, v),
    to: (v) => v.replace(LOCAL_URL, '<pds-url>'),
  },
  {
    name: 'unknown-did',
    why: 'a did:plc the scenario did not register (an account of another scenario): only its shape is compared',
    match: (p, v) => typeof v === 'string' && has(DID_PLC, v),
    to: (v) => v.replace(DID_PLC, '<did:plc>'),
  },
]

/** Returns a copy of `value` (plain JSON) with every rule applied; `side` holds the aliases. */
export function normalise(value, side, path = []) {
  if (Array.isArray(value)) return value.map((v, i) => normalise(v, side, [...path, i]))
  if (value !== null && typeof value === 'object') {
    const out = {}
    for (const k of Object.keys(value).sort()) out[k] = normalise(value[k], side, [...path, k])
    return out
  }
  for (const rule of RULES) {
    if (rule.match(path, value, side)) return rule.to(value, side)
  }
  return value
}
