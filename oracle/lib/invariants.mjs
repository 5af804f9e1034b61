// Checks each server's observations on their own (see `invariants`).

/**
 * What must hold on each server by itself, whatever the other does (so a fault both share cannot
 * pass as "no difference"): no harness error, no 5xx from the relay, every repo CAR valid for
 * both engines which agree on its root, every firehose complete with valid commits and unbroken
 * prevData/since chains. Each violation is reported as a difference at `invariant.<server>.<path>`.
 */
export function invariants(run, value, path = [], out = []) {
  const at = () => `invariant.${run.side}.${path.join('.')}`
  const bad = (v, want) => out.push({ path: at(), ref: run.side === 'reference' ? v : want, relay: run.side === 'relay' ? v : want })
  if (path.length === 1 && path[0] === 'harness error') bad(value, 'no harness error')
  if (value === null || typeof value !== 'object') return out
  if (run.side === 'relay' && typeof value.status === 'number' && value.status >= 500) bad(value.status, 'not a 5xx')
  for (const k of ['atprotoRepo', 'relayEngine']) {
    if (value[k] && value[k].result !== 'valid') bad(value[k].result, 'valid')
  }
  if (typeof value.agree === 'string' && value.agree !== 'same MST root') bad(value.agree, 'same MST root')
  if (typeof value.complete === 'string' && value.complete !== 'latest commit arrived') bad(value.complete, 'latest commit arrived')
  if (value.checks) {
    for (const v of value.checks.verify ?? []) if (v !== 'ok') bad(v, 'ok')
    for (const k of ['prevDataChain', 'sinceChain']) if (value.checks[k] !== 'ok') bad(value.checks[k], 'ok')
  }
  for (const [k, v] of Object.entries(value)) if (k !== 'checks') invariants(run, v, [...path, k], out)
  return out
}
