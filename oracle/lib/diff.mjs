// Structural diff of two normalised observations: every path where the reference and the relay
// differ, as {path, ref, relay}. A key present on one side only shows as `<absent>` on the other.

export const ABSENT = '<absent>'

const kind = (v) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v)

export function diff(ref, relay, path = '', out = []) {
  const kr = kind(ref)
  const kl = kind(relay)
  if (kr !== kl) {
    out.push({ path, ref, relay })
  } else if (kr === 'array') {
    const n = Math.max(ref.length, relay.length)
    for (let i = 0; i < n; i++) {
      diff(i < ref.length ? ref[i] : ABSENT, i < relay.length ? relay[i] : ABSENT, `${path}[${i}]`, out)
    }
  } else if (kr === 'object') {
    const keys = [...new Set([...Object.keys(ref), ...Object.keys(relay)])].sort()
    for (const k of keys) {
      diff(k in ref ? ref[k] : ABSENT, k in relay ? relay[k] : ABSENT, path ? `${path}.${k}` : k, out)
    }
  } else if (ref !== relay) {
    out.push({ path, ref, relay })
  }
  return out
}

/** One line for a difference, values shortened. */
export function showDiff(d) {
  const show = (v) => {
    const s = v === ABSENT ? ABSENT : JSON.stringify(v)
    return s.length > 160 ? `${s.slice(0, 160)}…` : s
  }
  return `${d.path}: reference ${show(d.ref)}, relay ${show(d.relay)}`
}
