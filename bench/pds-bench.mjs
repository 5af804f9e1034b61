#!/usr/bin/env node
// The PDS benchmark: the reference PDS (@atproto/pds) and the relay, one after the other, each
// started fresh with its own data folder, driven by this same client code over loopback HTTP.
// Not a test: nothing here fails on a slow number. bench/run.sh sets up and calls this.
//
//   node bench/pds-bench.mjs --plc URL --relay-bin PATH --ref-node PATH --ref-modules DIR \
//        --work DIR --out bench/results.md [--quick] [--only reference|relay]
//
// Measures, per server: startup (spawn → /xrpc/_health answers), idle RSS, sequential createRecord
// latency, concurrent createRecord at 8 and 32 clients on 1 and on 8 accounts, getRecord at 8 and
// 32 clients, getRepo of a 5,000-record repo, createRecord latency in that big repo, and RSS after
// the load (VmRSS, VmHWM from /proc/<pid>/status). Logins and account creation happen outside the
// timed loops. Every loop is bounded by a count and a deadline.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'

const { values: opt } = parseArgs({
  options: {
    plc: { type: 'string' },
    'relay-bin': { type: 'string' },
    'ref-node': { type: 'string' },
    'ref-modules': { type: 'string' },
    work: { type: 'string' },
    out: { type: 'string' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    'relay-version': { type: 'string', default: '' },
  },
})
for (const k of ['plc', 'work', 'out']) {
  if (!opt[k]) {
    console.error(`pds-bench: --${k} is required`)
    process.exit(2)
  }
}
const here = new URL('.', import.meta.url).pathname

// Sizes. --quick is a smoke run of the tool itself, not a measurement.
const Q = opt.quick
const SIZES = {
  seqWrites: Q ? 50 : 500,
  concWrites: Q ? 64 : 640, // per (clients, accounts) configuration
  reads: Q ? 400 : 4000, // per clients configuration
  bigRepo: Q ? 500 : 5000,
  bigRepoWrites: Q ? 20 : 100,
  getRepoRuns: Q ? 2 : 5,
  accounts: 8,
}
const PHASE_DEADLINE_MS = Q ? 60_000 : 180_000 // a phase that runs past this stops early and says so
const HEALTH_TIMEOUT_MS = 90_000

// ---------------------------------------------------------------- processes

function vm(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kib = (name) => Number(status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm'))?.[1] ?? NaN)
    return { rss: kib('VmRSS') / 1024, hwm: kib('VmHWM') / 1024 }
  } catch {
    return { rss: NaN, hwm: NaN }
  }
}

// The 1-minute load average: the machine is shared, so say how busy it was.
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ')[0]

// The server being measured, so a signal to this driver stops it too (by its pid).
let activeChild = null
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (activeChild && activeChild.exitCode === null) activeChild.kill('SIGKILL')
    process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 })[sig])
  })
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

async function startServer(spec) {
  const port = await freePort()
  const data = join(resolve(opt.work), spec.name)
  mkdirSync(data, { recursive: true })
  const { cmd, args, env } = spec.command(port, data)
  const log = join(resolve(opt.work), `${spec.name}.log`)
  const t0 = performance.now()
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
  activeChild = child
  let output = ''
  const keep = (d) => {
    output += d
    if (output.length > 200_000) output = output.slice(-100_000)
  }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  let exited = null
  child.on('exit', (code, signal) => (exited = { code, signal }))
  const url = `http://localhost:${port}`
  const deadline = t0 + HEALTH_TIMEOUT_MS
  for (;;) {
    if (exited) throw new Error(`${spec.name} exited during startup (${JSON.stringify(exited)}):\n${output.slice(-3000)}`)
    if (performance.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`${spec.name} did not answer /xrpc/_health within ${HEALTH_TIMEOUT_MS / 1000} s`)
    }
    try {
      const res = await fetch(`http://127.0.0.1:${port}/xrpc/_health`, { signal: AbortSignal.timeout(1000) })
      await res.arrayBuffer()
      if (res.ok) break
    } catch {
      // not listening yet
    }
    await sleep(10)
  }
  const startupMs = performance.now() - t0
  const stop = async () => {
    writeFileSync(log, output)
    if (exited) return
    child.kill('SIGTERM')
    for (let i = 0; i < 100 && !exited; i++) await sleep(50)
    if (!exited) child.kill('SIGKILL')
  }
  return { url, pid: child.pid, startupMs, stop, alive: () => !exited }
}

async function freePort() {
  const net = await import('node:net')
  return new Promise((res, rej) => {
    const s = net.createServer()
    s.on('error', rej)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => res(port))
    })
  })
}

// ---------------------------------------------------------------- the client (same for both)

async function xrpc(base, method, nsid, { params, json, token, raw = false } = {}) {
  const url = new URL(`/xrpc/${nsid}`, base)
  for (const [k, v] of Object.entries(params ?? {})) url.searchParams.set(k, String(v))
  const headers = {}
  if (token) headers.authorization = `Bearer ${token}`
  if (json !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(url, {
    method,
    headers,
    body: json === undefined ? undefined : JSON.stringify(json),
    signal: AbortSignal.timeout(60_000),
  })
  const body = raw ? new Uint8Array(await res.arrayBuffer()) : await res.text()
  if (!res.ok) {
    const text = raw ? new TextDecoder().decode(body) : body
    const err = new Error(`${method} ${nsid}: ${res.status} ${text.slice(0, 200)}`)
    err.status = res.status
    throw err
  }
  return raw ? body : body ? JSON.parse(body) : {}
}

const post = (i) => ({ $type: 'app.bsky.feed.post', text: `bench post ${i} ${randomBytes(6).toString('hex')}`, createdAt: new Date().toISOString() })

async function createAccounts(base, n, tag) {
  const out = []
  for (let i = 0; i < n; i++) {
    const handle = `${tag}${i}${randomBytes(3).toString('hex')}.test`
    const password = randomBytes(12).toString('hex')
    const res = await xrpc(base, 'POST', 'com.atproto.server.createAccount', {
      json: { handle, email: `${handle.split('.')[0]}@example.com`, password },
    })
    // A fresh login, as a client would do before its session (outside every timed loop).
    const login = await xrpc(base, 'POST', 'com.atproto.server.createSession', { json: { identifier: handle, password } })
    out.push({ did: res.did, handle, token: login.accessJwt })
  }
  return out
}

const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN)

/**
 * Runs `total` operations over `clients` concurrent loops; op(i, client) performs operation i.
 * Returns latency percentiles (ms), throughput (ops/s), and errors (count and the first message).
 */
async function load(total, clients, op) {
  const lat = []
  let next = 0
  let errors = 0
  let firstError = null
  const deadline = performance.now() + PHASE_DEADLINE_MS
  let cutShort = false
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (;;) {
        const i = next++
        if (i >= total) return
        if (performance.now() > deadline) {
          cutShort = true
          return
        }
        const s = performance.now()
        try {
          await op(i, c)
          lat.push(performance.now() - s)
        } catch (err) {
          errors++
          firstError ??= err.message
        }
      }
    }),
  )
  const seconds = (performance.now() - t0) / 1000
  lat.sort((a, b) => a - b)
  return {
    n: lat.length,
    p50: pct(lat, 50),
    p99: pct(lat, 99),
    mean: lat.reduce((a, b) => a + b, 0) / (lat.length || 1),
    perSecond: lat.length / seconds,
    errors,
    firstError,
    cutShort,
  }
}

// ---------------------------------------------------------------- one server's run

async function benchServer(spec) {
  console.error(`\n== ${spec.name}`)
  const server = await startServer(spec)
  const r = { name: spec.name, startupMs: server.startupMs, notes: [], loadBefore: loadavg() }
  try {
    await sleep(2000) // let start-up work settle before calling it idle
    r.idle = vm(server.pid)
    console.error(`startup ${server.startupMs.toFixed(0)} ms, idle RSS ${r.idle.rss.toFixed(1)} MiB`)

    const accounts = await createAccounts(server.url, SIZES.accounts, 'bn')
    const [big] = await createAccounts(server.url, 1, 'bg')
    const written = [] // {did, rkey} of every record written, for the reads

    const create = async (acct, i) => {
      const res = await xrpc(server.url, 'POST', 'com.atproto.repo.createRecord', {
        token: acct.token,
        json: { repo: acct.did, collection: 'app.bsky.feed.post', record: post(i) },
      })
      written.push({ did: acct.did, rkey: res.uri.split('/').pop() })
    }

    r.seq = await load(SIZES.seqWrites, 1, (i) => create(accounts[0], i))
    console.error(`sequential createRecord: p50 ${r.seq.p50.toFixed(2)} ms, p99 ${r.seq.p99.toFixed(2)} ms, errors ${r.seq.errors}`)

    r.conc = {}
    for (const accts of [1, 8]) {
      for (const clients of [8, 32]) {
        const key = `${clients}c/${accts}a`
        r.conc[key] = await load(SIZES.concWrites, clients, (i, c) => create(accounts[c % accts], i))
        console.error(`createRecord ${clients} clients, ${accts} account(s): ${r.conc[key].perSecond.toFixed(0)}/s, errors ${r.conc[key].errors}`)
      }
    }

    r.reads = {}
    if (written.length === 0) {
      r.notes.push('getRecord not measured: no record was written')
    } else {
      for (const clients of [8, 32]) {
        r.reads[clients] = await load(SIZES.reads, clients, async (i) => {
          const { did, rkey } = written[(i * 7919) % written.length]
          await xrpc(server.url, 'GET', 'com.atproto.repo.getRecord', {
            params: { repo: did, collection: 'app.bsky.feed.post', rkey },
          })
        })
        console.error(`getRecord ${clients} clients: ${r.reads[clients].perSecond.toFixed(0)}/s, errors ${r.reads[clients].errors}`)
      }
    }

    // The big repo: applyWrites in batches of 200 (the reference's limit), not timed.
    const t0 = performance.now()
    let made = 0
    let batchError = null
    for (let b = 0; made < SIZES.bigRepo && performance.now() - t0 < PHASE_DEADLINE_MS; b++) {
      const count = Math.min(200, SIZES.bigRepo - made)
      const writes = Array.from({ length: count }, (_, k) => ({
        $type: 'com.atproto.repo.applyWrites#create',
        collection: 'app.bsky.feed.post',
        value: post(made + k),
      }))
      try {
        await xrpc(server.url, 'POST', 'com.atproto.repo.applyWrites', { token: big.token, json: { repo: big.did, writes } })
        made += count
      } catch (err) {
        batchError = err.message
        break
      }
    }
    r.bigFillSeconds = (performance.now() - t0) / 1000
    if (batchError) r.notes.push(`filling the big repo with applyWrites stopped at ${made} records: ${batchError}`)
    r.bigRecords = made
    console.error(`big repo: ${made} records via applyWrites in ${r.bigFillSeconds.toFixed(1)} s`)

    if (made > 0) {
      const runs = []
      let bytes = 0
      let getRepoError = null
      for (let k = 0; k < SIZES.getRepoRuns; k++) {
        const s = performance.now()
        try {
          bytes = (await xrpc(server.url, 'GET', 'com.atproto.sync.getRepo', { params: { did: big.did }, raw: true })).length
          runs.push(performance.now() - s)
        } catch (err) {
          getRepoError = err.message
          break
        }
      }
      runs.sort((a, b) => a - b)
      r.getRepo = { median: pct(runs, 50), min: runs[0], bytes, runs: runs.length, error: getRepoError }
      console.error(`getRepo (${made} records, ${(bytes / 1e6).toFixed(2)} MB): median ${r.getRepo.median?.toFixed(0)} ms`)
      r.bigSeq = await load(SIZES.bigRepoWrites, 1, (i) => create(big, i))
      console.error(`createRecord in the big repo: p50 ${r.bigSeq.p50.toFixed(2)} ms`)
    }
    r.after = vm(server.pid)
    r.loadAfter = loadavg()
    console.error(`RSS after load ${r.after.rss.toFixed(1)} MiB, peak ${r.after.hwm.toFixed(1)} MiB`)
    if (!server.alive()) r.notes.push('the server exited during the run')
  } finally {
    await server.stop()
  }
  return r
}

// ---------------------------------------------------------------- servers

const specs = {
  reference: {
    name: 'reference',
    command: (port, data) => ({
      cmd: opt['ref-node'],
      args: [join(here, 'ref-pds.mjs'), '--modules', opt['ref-modules'], '--port', String(port), '--plc', opt.plc, '--data', data],
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production' },
    }),
  },
  relay: {
    name: 'relay',
    command: (port, data) => ({
      cmd: opt['relay-bin'],
      args: ['serve'],
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        PDS_HOSTNAME: 'localhost',
        PDS_DEV_MODE: 'true',
        PDS_PORT: String(port),
        PDS_DATA_DIRECTORY: data,
        PDS_DID_PLC_URL: opt.plc,
        PDS_INVITE_REQUIRED: 'false',
        PDS_RATE_LIMITS_ENABLED: 'false',
        PDS_ADMIN_PASSWORD: randomBytes(12).toString('hex'),
      },
    }),
  },
}

// ---------------------------------------------------------------- report

const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a')
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a')
const f0 = (x) => (Number.isFinite(x) ? x.toFixed(0) : 'n/a')

function rows(ref, rel) {
  const out = []
  // better: 'lower' or 'higher', to read the ratio by
  const add = (metric, get, fmt, better, errs) => {
    const a = ref ? get(ref) : NaN
    const b = rel ? get(rel) : NaN
    const ea = ref && errs ? errs(ref) : 0
    const eb = rel && errs ? errs(rel) : 0
    const cell = (v, e) => (e ? `${fmt(v)} (${e} errors)` : fmt(v))
    const ratio = Number.isFinite(a) && Number.isFinite(b) && a > 0 ? `${(b / a).toFixed(2)}×` : 'n/a'
    out.push([metric, cell(a, ea), cell(b, eb), ratio, better])
  }
  add('startup, spawn → /xrpc/_health (ms)', (r) => r.startupMs, f0, 'lower')
  add('idle RSS (MiB)', (r) => r.idle?.rss, f1, 'lower')
  add(`createRecord sequential p50 (ms, ${SIZES.seqWrites} writes)`, (r) => r.seq?.p50, f2, 'lower', (r) => r.seq?.errors)
  add('createRecord sequential p99 (ms)', (r) => r.seq?.p99, f2, 'lower')
  add('createRecord sequential (writes/s)', (r) => r.seq?.perSecond, f0, 'higher')
  for (const accts of [1, 8]) {
    for (const clients of [8, 32]) {
      const key = `${clients}c/${accts}a`
      add(`createRecord ${clients} clients, ${accts} account${accts > 1 ? 's' : ''} (writes/s)`, (r) => r.conc?.[key]?.perSecond, f0, 'higher', (r) => r.conc?.[key]?.errors)
      add(`createRecord ${clients} clients, ${accts} account${accts > 1 ? 's' : ''} p99 (ms)`, (r) => r.conc?.[key]?.p99, f1, 'lower')
    }
  }
  for (const clients of [8, 32]) {
    add(`getRecord ${clients} clients (reads/s)`, (r) => r.reads?.[clients]?.perSecond, f0, 'higher', (r) => r.reads?.[clients]?.errors)
    add(`getRecord ${clients} clients p99 (ms)`, (r) => r.reads?.[clients]?.p99, f2, 'lower')
  }
  add(`getRepo of a ${SIZES.bigRepo}-record repo, median of ${SIZES.getRepoRuns} (ms)`, (r) => r.getRepo?.median, f0, 'lower')
  add('getRepo CAR size (MB)', (r) => (r.getRepo?.bytes ?? NaN) / 1e6, f2, '')
  add(`filling that repo: applyWrites × 200 (s)`, (r) => r.bigFillSeconds, f1, 'lower')
  add(`createRecord p50 in the ${SIZES.bigRepo}-record repo (ms)`, (r) => r.bigSeq?.p50, f2, 'lower', (r) => r.bigSeq?.errors)
  add('RSS after load (MiB)', (r) => r.after?.rss, f1, 'lower')
  add('peak RSS, VmHWM (MiB)', (r) => r.after?.hwm, f1, 'lower')
  return out
}

function table(head, body) {
  const all = [head, ...body]
  const w = head.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)))
  const line = (r) => `| ${r.map((c, i) => String(c).padEnd(w[i])).join(' | ')} |`
  return [line(head), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...body.map(line)].join('\n')
}

function errorsOf(r) {
  if (!r) return []
  const out = []
  const look = (what, x) => x?.errors && out.push(`${r.name}: ${what}: ${x.errors} errors, first: ${x.firstError}`)
  look('sequential createRecord', r.seq)
  for (const [k, v] of Object.entries(r.conc ?? {})) look(`createRecord ${k}`, v)
  for (const [k, v] of Object.entries(r.reads ?? {})) look(`getRecord ${k} clients`, v)
  look('createRecord in the big repo', r.bigSeq)
  if (r.getRepo?.error) out.push(`${r.name}: getRepo: ${r.getRepo.error}`)
  for (const n of r.notes ?? []) out.push(`${r.name}: ${n}`)
  for (const x of [r.seq, ...Object.values(r.conc ?? {}), ...Object.values(r.reads ?? {}), r.bigSeq]) {
    if (x?.cutShort) out.push(`${r.name}: a phase hit its ${PHASE_DEADLINE_MS / 1000} s deadline and stopped early`)
  }
  return out
}

// ---------------------------------------------------------------- main

const which = opt.only ? [opt.only] : ['reference', 'relay']
const results = {}
const failures = []
for (const name of which) {
  try {
    results[name] = await benchServer(specs[name])
  } catch (err) {
    failures.push(`${name}: ${err.message}`)
    console.error(`${name}: ${err.stack ?? err.message}`)
  }
}

const body = rows(results.reference, results.relay)
const tbl = table(['metric', 'reference', 'relay', 'ratio (relay ÷ reference)', 'better'], body)
const mem = (totalmem() / 2 ** 30).toFixed(1)
const cpuModel = cpus()[0]?.model ?? 'unknown CPU'
const problems = [...failures, ...errorsOf(results.reference), ...errorsOf(results.relay)]
const md = `# PDS benchmark: the relay against the reference PDS

Run: ${new Date().toISOString()}${Q ? ' (--quick: reduced sizes, a smoke run of the tool, not a measurement)' : ''}
Machine: ${cpus().length} CPUs (nproc ${process.env.BENCH_NPROC ?? '?'}), ${cpuModel}, ${mem} GiB memory, Linux ${process.env.BENCH_KERNEL ?? ''}
Reference: @atproto/pds 0.5.35 on Node ${process.env.BENCH_REF_NODE_VERSION ?? '22'}; relay: release build${opt['relay-version'] ? ` (${opt['relay-version']})` : ''}
Client: bench/pds-bench.mjs on Node ${process.version}, plain fetch with keep-alive, loopback; both servers use
disk data folders on the same file system and the same in-memory PLC directory; one server runs at a time.
Load average (1 min) before → after each run: ${['reference', 'relay']
  .filter((n) => results[n])
  .map((n) => `${n} ${results[n].loadBefore} → ${results[n].loadAfter}`)
  .join(', ')} (on ${process.env.BENCH_NPROC ?? '?'} cores; other work on the machine shows up here).

${tbl}

Sizes: ${SIZES.seqWrites} sequential writes; ${SIZES.concWrites} writes per concurrent configuration (client i writes
to account i mod accounts); ${SIZES.reads} reads per getRecord configuration, spread over every record written;
the big repo is filled with applyWrites batches of 200 creates, then getRepo runs ${SIZES.getRepoRuns} times and
${SIZES.bigRepoWrites} more createRecord calls go into it. Logins happen before the timed loops. Ratios: relay ÷
reference; "better" says which way is good for that metric.
${problems.length ? `\nProblems seen during the run:\n${problems.map((p) => `- ${p}`).join('\n')}\n` : ''}`
writeFileSync(opt.out, md)
console.log(`\n${tbl}\n`)
if (problems.length) console.log(`Problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
console.log(`written to ${opt.out}`)
process.exit(failures.length ? 1 : 0)
