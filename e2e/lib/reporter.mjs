// A node:test reporter for e2e/run.sh: one line per top-level test,
//   PASS <suite>: <name> (<ms> ms)
//   FAIL <suite>: <name> (<ms> ms)
//        <why, indented>
//   SKIP <suite>: <name> (<reason>)
// and nothing else, so run.sh can count the lines. The suite's name comes from E2E_SUITE.
const suite = process.env.E2E_SUITE ?? 'node'

function describe(err) {
  // node:test wraps what the test threw in an ERR_TEST_FAILURE whose cause is the original.
  const cause = err?.cause ?? err
  if (cause == null) return 'failed'
  // An error without a message (e.g. a DOMException from WebCrypto) says where it came from.
  const text = cause instanceof Error ? cause.message || `${cause.name}: ${cause.stack?.split('\n')[1]?.trim() ?? ''}` : String(cause)
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
      // A skipped test passed nothing: its own line, not counted as a pass.
      if (event.data.skip !== undefined) {
        yield `SKIP ${suite}: ${name} (${event.data.skip === true ? 'skipped' : event.data.skip})\n`
        continue
      }
      yield `PASS ${suite}: ${name} (${ms} ms)\n`
    } else {
      const why = describe(details?.error)
        // eslint-disable-next-line no-control-regex
        .replace(/\x1b\[[0-9;]*m/g, '') // playwright colours its call logs
        .split('\n')
        .filter((l) => l.trim() !== '')
        .slice(0, 12) // a browser call log can run to a hundred lines
        .map((l) => `     ${l}`)
        .join('\n')
      yield `FAIL ${suite}: ${name} (${ms} ms)\n${why}\n`
    }
  }
}
