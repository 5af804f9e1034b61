// A node:test reporter for e2e/run.sh: one line per top-level test,
//   PASS <suite>: <name> (<ms> ms)
//   FAIL <suite>: <name> (<ms> ms)
//        <why, indented>
// and nothing else, so run.sh can count the lines. The suite's name comes from E2E_SUITE.
const suite = process.env.E2E_SUITE ?? 'node'

function describe(err) {
  // node:test wraps what the test threw in an ERR_TEST_FAILURE whose cause is the original.
  const cause = err?.cause ?? err
  if (cause == null) return 'failed'
  const text = cause instanceof Error ? (cause.message || String(cause)) : String(cause)
  // An XRPCError from @atproto/api: say which status and error name the server answered.
  if (typeof cause?.status === 'number' && typeof cause?.error === 'string') {
    return `the server answered ${cause.status} ${cause.error}: ${text}`
  }
  return text
}

export default async function* reporter(source) {
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue
    const { name, nesting, details } = event.data
    if (nesting !== 0) continue
    // A file-level failure (uncaught error outside any test) arrives as a test named after the file.
    const ms = Math.round(details?.duration_ms ?? 0)
    if (event.type === 'test:pass') {
      if (details?.type === 'suite') continue
      yield `PASS ${suite}: ${name} (${ms} ms)\n`
    } else {
      const why = describe(details?.error)
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => `     ${l}`)
        .join('\n')
      yield `FAIL ${suite}: ${name} (${ms} ms)\n${why}\n`
    }
  }
}
