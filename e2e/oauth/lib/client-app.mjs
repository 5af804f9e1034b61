// The test's own side of OAuth on 127.0.0.1: the redirect target (where the browser lands after
// the consent page, the query handed to whoever waits for it) and, for the confidential client,
// its client metadata document and JWKS (dev mode accepts http loopback client_id URLs).
import { createServer } from 'node:http'

export class ClientApp {
  constructor() {
    this.waiters = [] // pending waitForRedirect() calls, oldest first
    this.landed = [] // redirects nobody waited for yet
    this.documents = new Map() // path -> JSON served
    this.server = createServer((req, res) => this.handle(req, res))
  }

  async start() {
    await new Promise((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(0, '127.0.0.1', resolve)
    })
    this.origin = `http://127.0.0.1:${this.server.address().port}`
    return this
  }

  async stop() {
    this.server.closeAllConnections?.()
    await new Promise((resolve) => this.server.close(() => resolve()))
  }

  /** A redirect URI on this server; the path names the test it belongs to. */
  redirectUri(path = '/callback') {
    return `${this.origin}${path}`
  }

  /** Serves `doc` as JSON at `path`; returns its URL. */
  serveJson(path, doc) {
    this.documents.set(path, doc)
    return `${this.origin}${path}`
  }

  handle(req, res) {
    const url = new URL(req.url, this.origin)
    const doc = this.documents.get(url.pathname)
    if (doc !== undefined) {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(doc))
      return
    }
    // Anything else is a redirect landing: keep its query for the test.
    const landing = { path: url.pathname, params: url.searchParams }
    const waiter = this.waiters.shift()
    if (waiter) waiter.resolve(landing)
    else this.landed.push(landing)
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    res.end('<!doctype html><title>Back at the test client</title><p id="test-client-landing">Back at the test client.</p>')
  }

  /** The next redirect that lands here, within `timeoutMs`. */
  waitForRedirect(timeoutMs = 20_000) {
    const early = this.landed.shift()
    if (early) return Promise.resolve(early)
    return new Promise((resolve, reject) => {
      const waiter = { resolve: (v) => (clearTimeout(timer), resolve(v)) }
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter)
        reject(new Error(`no redirect reached the test client within ${timeoutMs} ms`))
      }, timeoutMs)
      this.waiters.push(waiter)
    })
  }

  /** Forget redirects left over from an earlier step. */
  reset() {
    this.landed = []
  }
}
