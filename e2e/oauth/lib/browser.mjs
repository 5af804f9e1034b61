// Debian's headless Chromium driven by playwright-core (never a downloaded browser), started with
// the flags that work on this machine's closed network, in a fresh profile folder. Screenshots go
// to the output folder so a person can look at every page the suite saw.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'

const CHROMIUM = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium'
// Without the background-networking flags Chromium keeps dialing Google's hosts, which this
// machine refuses; the rest keep a headless root run quiet and deterministic.
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

export class Browser {
  /** One browser with one persistent profile (cookies shared by every page, as a person's). */
  static async launch(outDir) {
    const profile = mkdtempSync(join(tmpdir(), 'oauth-e2e-chromium-'))
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: { width: 900, height: 900 },
      timeout: 30_000,
    })
    context.setDefaultTimeout(15_000)
    context.setDefaultNavigationTimeout(15_000)
    const browser = new Browser(context, profile, outDir)
    // The last form POST's origin headers, so that a refused form can say what the browser sent.
    context.on('request', async (request) => {
      if (request.method() !== 'POST') return
      const h = await request.allHeaders().catch(() => request.headers())
      browser.lastPost = `${request.url()} with Origin: ${h.origin ?? '(none)'}, Sec-Fetch-Site: ${h['sec-fetch-site'] ?? '(none)'}`
    })
    return browser
  }

  constructor(context, profile, outDir) {
    this.context = context
    this.profile = profile
    this.outDir = outDir
    this.shots = []
    this.lastPost = null
  }

  async page() {
    const existing = this.context.pages()
    return existing.length ? existing[0] : this.context.newPage()
  }

  /** A PNG of the whole page, named after what it shows; returns its path. */
  async screenshot(page, name) {
    const path = join(this.outDir, `${name}.png`)
    await page.screenshot({ path, fullPage: true })
    this.shots.push(path)
    return path
  }

  async close() {
    try {
      await this.context.close()
    } finally {
      rmSync(this.profile, { recursive: true, force: true })
    }
  }
}
