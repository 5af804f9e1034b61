// The allow-list (scenarios/allow-list.json): which differences are known and accepted.

/** An allow-list path is a glob: `*` stands for any characters, everything else is literal. */
export function glob(pattern) {
  const literal = (p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  return new RegExp(`^${pattern.split('*').map(literal).join('.*')}$`)
}

/** `(scenario, difference) => the allow-list entry that accepts it, or undefined`. */
export function allowedBy(allowList) {
  const entries = allowList.map((a) => ({ ...a, regex: glob(a.path) }))
  return (scenario, d) => {
    const hit = entries.find((a) => (a.scenario === '*' || a.scenario === scenario) && a.regex.test(d.path))
    return hit ? allowList[entries.indexOf(hit)] : undefined
  }
}
