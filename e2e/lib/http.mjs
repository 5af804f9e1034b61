// Raw XRPC over fetch, for the requests no SDK would make (malformed bodies, wrong types) and for
// reading status codes exactly. Every answer keeps the request line so failures can say what was
// sent, what was expected and what came back.

export function xrpcClient(baseUrl, { timeoutMs = 15_000 } = {}) {
  return async function call(method, nsid, { params, json, body, headers = {}, token } = {}) {
    const url = new URL(`/xrpc/${nsid}`, baseUrl)
    for (const [k, v] of Object.entries(params ?? {})) {
      for (const one of Array.isArray(v) ? v : [v]) url.searchParams.append(k, String(one))
    }
    const h = { ...headers }
    if (token) h.authorization = `Bearer ${token}`
    let payload = body
    if (json !== undefined) {
      payload = JSON.stringify(json)
      if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json'
    }
    const request = `${method} ${url.pathname}${url.search}`
    let res
    try {
      res = await fetch(url, { method, headers: h, body: payload, signal: AbortSignal.timeout(timeoutMs) })
    } catch (err) {
      const cause = err.cause ? ` (${err.cause.code ?? err.cause.message})` : ''
      throw new Error(`${request}: no HTTP response: ${err.message}${cause}`)
    }
    const bytes = new Uint8Array(await res.arrayBuffer())
    const text = new TextDecoder().decode(bytes)
    let parsed
    try {
      parsed = JSON.parse(text)
    } catch {
      parsed = undefined
    }
    return { request, status: res.status, headers: res.headers, bytes, text, json: parsed }
  }
}

const show = (res) => `${res.status} ${res.text.length > 300 ? res.text.slice(0, 300) + '…' : res.text}`

/** The answer must be a success (2xx). */
export function expectOk(res, what = '') {
  if (res.status < 200 || res.status > 299) {
    throw new Error(`${res.request}${what ? ` (${what})` : ''}: expected 2xx, got ${show(res)}`)
  }
  return res
}

/**
 * The answer must be an XRPC error: the given status (a number, or a list of acceptable ones),
 * a JSON body {error: string, message?: string}, and, when given, that error name (or one of a list).
 * A 5xx is always reported as a server fault.
 */
export function expectXrpcError(res, status, error) {
  const statuses = Array.isArray(status) ? status : [status]
  const names = error === undefined ? null : Array.isArray(error) ? error : [error]
  const want = `${statuses.join(' or ')}${names ? ` ${names.join(' or ')}` : ''}`
  const fail = (why) => {
    throw new Error(`${res.request}: expected ${want}, got ${show(res)}${why ? ` (${why})` : ''}`)
  }
  if (res.status >= 500 && !statuses.includes(res.status)) fail('a server error for bad input')
  if (!statuses.includes(res.status)) fail()
  const ct = res.headers.get('content-type') ?? ''
  if (!ct.includes('application/json')) fail(`content-type ${ct || 'missing'}, not an XRPC error body`)
  if (!res.json || typeof res.json.error !== 'string' || res.json.error === '') fail('no "error" string in the body')
  if (res.json.message !== undefined && typeof res.json.message !== 'string') fail('"message" is not a string')
  if (names && !names.includes(res.json.error)) fail(`error name ${res.json.error}`)
  return res
}
