#!/usr/bin/env node
// Tests of the oracle's own logic, without servers: normalisation, diff, allow-list globs,
// invariants and the allow-list file's shape. Run by oracle/run before the scenarios (and alone:
// `node oracle/selftest.mjs`). Prints `PASS oracle selftest (N checks)` or the first failure.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'

import { allowedBy, glob } from './lib/allow.mjs'
import { diff } from './lib/diff.mjs'
import { invariants } from './lib/invariants.mjs'
import { normalise } from './lib/normalise.mjs'
import { invalidRecordAt } from './lib/record-errors.mjs'

let checks = 0
const check = (name, fn) => {
  try {
    fn()
    checks++
  } catch (err) {
    console.log(`FAIL oracle selftest: ${name}: ${err.message}`)
    process.exit(1)
  }
}

const side = (aliases = {}) => ({
  aliasesIn: (s) => Object.keys(aliases).some((k) => s.includes(k)),
  replaceAliases: (s) => Object.entries(aliases).reduce((acc, [k, v]) => acc.split(k).join(v), s),
})
const alice = 'did:plc:abcdefghijklmnopqrstuvwx'

check('per-server values become typed placeholders', () => {
  const out = normalise(
    {
      createRecord: {
        status: 200,
        body: {
          uri: `at://${alice}/app.bsky.feed.post/3jzfcijpj2223`,
          cid: 'bafyreiegdhlayicrs6e6ymsb5kf4jiptkkp2goamf7v773ziua6basobxi',
          commit: { cid: 'bafyreicommit', rev: '3lcsdhqxaqk2a' },
        },
      },
      err: { status: 400, body: { error: 'InvalidRequest', message: 'Record/text must be a string' } },
    },
    side({ [alice]: '<did:alice>' }),
  )
  assert.equal(out.createRecord.body.uri, 'at://<did:alice>/app.bsky.feed.post/3jzfcijpj2223')
  // A record CID is compared as is; a commit CID and rev are per server.
  assert.equal(out.createRecord.body.cid, 'bafyreiegdhlayicrs6e6ymsb5kf4jiptkkp2goamf7v773ziua6basobxi')
  assert.equal(out.createRecord.body.commit.cid, '<commit-cid:string>')
  assert.equal(out.createRecord.body.commit.rev, '<rev:string>')
  assert.equal(out.err.body.error, 'InvalidRequest', 'error names are compared')
  assert.equal(out.err.body.message, '<message:string>')
})

check('a placeholder keeps the type, so a type change is a difference', () => {
  const a = normalise({ f: { frames: [{ body: { seq: 5 } }] } }, side())
  const b = normalise({ f: { frames: [{ body: { seq: '5' } }] } }, side())
  assert.equal(diff(a, b).length, 1)
})

check('datetimes in record values are compared as is', () => {
  const out = normalise({ get: { body: { value: { createdAt: '2026-01-02T03:04:05.000Z' } } } }, side())
  assert.equal(out.get.body.value.createdAt, '2026-01-02T03:04:05.000Z')
})

check('diff reports values, absent keys and lengths', () => {
  const d = diff({ a: 1, b: [1, 2], c: { x: 1 } }, { a: 2, b: [1], c: {} })
  assert.deepEqual(
    d.map((x) => x.path),
    ['a', 'b[1]', 'c.x'],
  )
  assert.equal(diff({ a: [1, { b: 'x' }] }, { a: [1, { b: 'x' }] }).length, 0)
})

check('allow-list globs match whole paths only', () => {
  assert.ok(glob('*didDoc.@context[1]').test('createAccount a.body.didDoc.@context[1]'))
  assert.ok(!glob('a.b').test('axb'))
  assert.ok(!glob('same rkey again.*').test('x same rkey again.status'))
  const allowed = allowedBy([{ scenario: 's1', path: 'x.*', reason: 'r' }])
  assert.ok(allowed('s1', { path: 'x.status' }))
  assert.ok(!allowed('s2', { path: 'x.status' }))
})

check('invariants catch faults both servers share', () => {
  const run = (side) => ({ side })
  const obs = {
    'getRepo a': { atprotoRepo: { result: 'invalid: bad sig' }, relayEngine: { result: 'valid' }, agree: 'engines disagree' },
    firehose: { frame: { a: { complete: 'latest commit arrived', checks: { verify: ['ok', 'bad'], prevDataChain: 'ok', sinceChain: 'commit 1: x' } } } },
    'server fault': { status: 500, body: {} },
    'harness error': 'TypeError: x',
  }
  const onRelay = invariants(run('relay'), obs).map((d) => d.path)
  assert.deepEqual(onRelay.sort(), [
    'invariant.relay.firehose.frame.a',
    'invariant.relay.firehose.frame.a',
    'invariant.relay.getRepo a',
    'invariant.relay.getRepo a',
    'invariant.relay.harness error',
    'invariant.relay.server fault',
  ])
  // The reference may answer 5xx (its faults are compared, and listed), the relay may not.
  assert.ok(!invariants(run('reference'), obs).some((d) => d.path.endsWith('server fault')))
})

check('lexicon errors blame the same field in either wording', () => {
  const cases = [
    ['Invalid app.bsky.feed.post record: Expected string value type (got 5) at $.record.text', 'text'],
    ['Invalid app.bsky.feed.post record: Record/text must be a string', 'text'],
    ['Invalid app.bsky.feed.post record: Expected string value type (got 5) at $.writes[1].value.text', 'text'],
    ['Invalid app.bsky.feed.post record: Missing required key "createdAt" at $.record', ''],
    ['Invalid app.bsky.feed.post record: Record must have the property "createdAt"', ''],
    ['Invalid app.bsky.actor.profile record: Expected one of "image/png" (got "text/plain") at $.record.avatar.mimeType', 'avatar.mimeType'],
    ['Invalid app.bsky.actor.profile record: Record/avatar has mimeType text/plain but must match image/png', 'avatar.mimeType'],
    ['Invalid app.bsky.feed.post record: Record/langs/0 must be a valid language code', 'langs.0'],
    ['Invalid app.bsky.feed.post record: Expected x at $.record.langs[0]', 'langs.0'],
    ['Record not found', undefined],
  ]
  for (const [message, want] of cases) assert.equal(invalidRecordAt(message), want, message)
})
check('the allow-list file: every entry has a scenario, a path and a reason', () => {
  const list = JSON.parse(readFileSync(new URL('./scenarios/allow-list.json', import.meta.url), 'utf8')).allow
  assert.ok(Array.isArray(list) && list.length > 0)
  for (const a of list) {
    assert.ok(typeof a.scenario === 'string' && a.scenario, JSON.stringify(a))
    assert.ok(typeof a.path === 'string' && a.path, JSON.stringify(a))
    assert.ok(typeof a.reason === 'string' && a.reason.length > 20, `no real reason: ${JSON.stringify(a)}`)
    if (a.pending !== undefined) assert.ok(['auth/edge', 'relay'].includes(a.pending), JSON.stringify(a))
  }
})

console.log(`PASS oracle selftest (${checks} checks)`)
