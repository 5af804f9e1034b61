#!/usr/bin/env node
// The L2 oracle's harness: runs every scenario on the reference PDS and on the relay, normalises
// what each observed (lib/normalise.mjs), diffs them, and checks each difference against
// scenarios/allow-list.json. oracle/run starts the servers and calls this (Node 22):
//
//   node harness.mjs --plc URL --ref URL --relay URL --relay-bin PATH --work DIR [--full] [--only NAME]
//   node harness.mjs --rules          print the normalisation list and the allow-list
//
// Prints one line per scenario, `PASS <name>` or `FAIL <name>` (differences indented under it;
// allowed ones are counted on the PASS line), and last `oracle: N passed, M failed`.
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

import { allowedBy } from './lib/allow.mjs'
import { diff, showDiff } from './lib/diff.mjs'
import { invariants } from './lib/invariants.mjs'
import { normalise, RULES } from './lib/normalise.mjs'
import { Run, Server } from './lib/side.mjs'

const here = new URL('.', import.meta.url).pathname
const { values } = parseArgs({
  options: {
    plc: { type: 'string' },
    ref: { type: 'string' },
    relay: { type: 'string' },
    'relay-bin': { type: 'string' },
    work: { type: 'string' },
    full: { type: 'boolean', default: false },
    only: { type: 'string', multiple: true },
    rules: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
  },
})

const allowList = JSON.parse(readFileSync(join(here, 'scenarios', 'allow-list.json'), 'utf8')).allow

if (values.rules) {
  console.log('Normalised (each replaced by a typed placeholder, in this order):')
  for (const r of RULES) console.log(`  ${r.name}: ${r.why}`)
  console.log('\nAllowed differences:')
  for (const a of allowList) console.log(`  ${a.scenario} ${a.path}${a.pending ? ` [pending: ${a.pending}]` : ''}: ${a.reason}`)
  process.exit(0)
}
for (const k of ['plc', 'ref', 'relay', 'relay-bin', 'work']) {
  if (!values[k]) {
    console.error('usage: harness.mjs --plc URL --ref URL --relay URL --relay-bin PATH --work DIR [--full] [--only NAME]')
    process.exit(2)
  }
}

// Scenarios: every scenarios/*.mjs exports `scenarios`, a list of {name, fast?, run(r), finish?}.
const all = []
for (const file of readdirSync(join(here, 'scenarios')).filter((f) => f.endsWith('.mjs')).sort()) {
  const mod = await import(join(here, 'scenarios', file))
  all.push(...mod.scenarios)
}
const names = new Set()
for (const s of all) {
  if (names.has(s.name)) throw new Error(`two scenarios named ${s.name}`)
  names.add(s.name)
}
let chosen = values.full ? all : all.filter((s) => s.fast)
if (values.only?.length) chosen = all.filter((s) => values.only.some((o) => s.name.includes(o)))

const env = { plc: values.plc, relayBin: values['relay-bin'], work: values.work }
const ref = new Server('reference', values.ref, env)
const relay = new Server('relay', values.relay, env)
await Promise.all([ref.subscribe(), relay.subscribe()])

/** The observations as one object, labels as keys (a repeated label gets ` #2`, ` #3`…). */
function asObject(run) {
  const out = {}
  for (const [label, value] of run.obs) {
    let key = label
    for (let n = 2; key in out; n++) key = `${label} #${n}`
    out[key] = value
  }
  return normalise(out, run)
}

const allowed = allowedBy(allowList)

async function runOn(server, scenario, index) {
  const r = new Run(server, scenario.name, index)
  try {
    await scenario.run(r)
    if (scenario.finish !== false) await r.finish()
  } catch (err) {
    r.observe('harness error', String(err?.stack ?? err).split('\n').slice(0, 3).join(' | '))
  }
  return r
}

let passed = 0
let failed = 0
const used = new Set()
for (const [i, scenario] of all.entries()) {
  if (!chosen.includes(scenario)) continue
  const t0 = Date.now()
  // Sequentially: each server's firehose and timings are then the scenario's own.
  const a = await runOn(ref, scenario, i)
  const b = await runOn(relay, scenario, i)
  const na = asObject(a)
  const nb = asObject(b)
  const diffs = [...invariants(a, na), ...invariants(b, nb), ...diff(na, nb)]
  const open = []
  const allowedDiffs = []
  for (const d of diffs) {
    const entry = allowed(scenario.name, d)
    if (entry) {
      used.add(entry)
      allowedDiffs.push(d)
    } else open.push(d)
  }
  const allowedCount = allowedDiffs.length
  const ms = Date.now() - t0
  const extra = allowedCount ? `, ${allowedCount} allowed difference${allowedCount > 1 ? 's' : ''}` : ''
  if (open.length === 0) {
    passed++
    console.log(`PASS ${scenario.name} (${ms} ms${extra})`)
  } else {
    failed++
    console.log(`FAIL ${scenario.name} (${ms} ms${extra})`)
    for (const d of open.slice(0, values.verbose ? 100000 : 40)) console.log(`     ${showDiff(d)}`)
    if (open.length > 40 && !values.verbose) console.log(`     … and ${open.length - 40} more`)
  }
  if (values.verbose) for (const d of allowedDiffs) console.log(`     allowed ${showDiff(d)}`)
}
if (values.full && !values.only?.length) {
  for (const a of allowList) {
    if (!used.has(a)) console.log(`note: allow-list entry not needed any more: ${a.scenario} ${a.path}`)
  }
}
ref.close()
relay.close()
console.error(`oracle: ran ${chosen.length} of ${all.length} scenarios`)
console.log(`oracle: ${passed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
