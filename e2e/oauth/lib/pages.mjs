// How a person gets through the authorization pages, for each server the suite can target.
// The relay's pages are plain HTML forms whose markup is fixed by the contract
// (/work/wt/OAUTH-CONTRACT.md, section "Pages"); the reference PDS has a React UI with its own
// wording. A driver names each page by what a person sees on it and acts on it; `authorize` walks
// from the authorize URL to the redirect back to the test client, taking a screenshot of each page.
import assert from 'node:assert/strict'

// The test client's landing page (lib/client-app.mjs). Plain CSS everywhere: the selectors are
// joined into one comma list to wait for whichever page comes.
const LANDED = '#test-client-landing'

const relay = {
  kind: 'relay',
  signIn: 'form[action="/oauth/authorize/sign-in"]',
  chooseAccount: 'button[name="account"]',
  consent: 'form[action="/oauth/authorize/consent"]',
  error: '[role="alert"]',
  async fillSignIn(page, { username, password }) {
    const form = page.locator(this.signIn)
    // With a login_hint the username may be prefilled and read-only.
    const user = form.locator('input[name="username"]')
    if (username !== undefined && (await user.isEditable())) await user.fill(username)
    await form.locator('input[name="password"][type="password"]').fill(password)
    await form.locator('button[type="submit"]', { hasText: 'Sign in' }).click()
  },
  async pickAccount(page, did) {
    await page.locator(`button[name="account"][value="${did}"]`).click()
  },
  async decide(page, allow) {
    await page.locator(`${this.consent} button[name="decision"][value="${allow ? 'allow' : 'deny'}"]`).click()
  },
}

const reference = {
  kind: 'reference',
  signIn: 'form:has(input[name="password"])',
  chooseAccount: null, // not driven: its account picker is not part of what the suite checks
  consent: 'button:text-is("Authorize")',
  error: null,
  async fillSignIn(page, { username, password }) {
    const user = page.locator('input[name="username"]')
    if (username !== undefined && (await user.isEditable())) await user.fill(username)
    await page.locator('input[name="password"]').fill(password)
    await page.getByRole('button', { name: 'Sign in' }).click()
  },
  async decide(page, allow) {
    await page.getByRole('button', { name: allow ? 'Authorize' : 'Deny access' }).click()
  },
}

export const driverFor = (kind) => (kind === 'reference' ? reference : relay)

/** Which page is showing: 'sign-in' | 'choose-account' | 'consent' | 'landed' | 'error'. */
export async function whichPage(driver, page) {
  const states = [
    ['landed', LANDED],
    ['sign-in', driver.signIn],
    ['choose-account', driver.chooseAccount],
    ['consent', driver.consent],
    ['error', driver.error],
  ].filter(([, sel]) => sel)
  const any = states.map(([, sel]) => sel).join(', ')
  try {
    await page.locator(any).first().waitFor({ state: 'visible', timeout: 15_000 })
  } catch {
    throw new Error(`none of the authorization pages showed at ${page.url()}: ${await bodyText(page)}`)
  }
  // The sign-in page with a wrong password also carries role="alert": sign-in wins over error.
  for (const [name, sel] of states) {
    if (await page.locator(sel).first().isVisible()) return name
  }
  throw new Error(`the page changed while being looked at: ${page.url()}`)
}

export async function bodyText(page) {
  const text = await page
    .locator('body')
    .innerText({ timeout: 2_000 })
    .catch(() => '(no body)')
  return text.replace(/\s+/g, ' ').slice(0, 300)
}

/** Expects the given page to show; returns it. */
export async function expectPage(driver, page, want, browser) {
  const got = await whichPage(driver, page)
  const post = browser?.lastPost ? ` (after the browser's POST ${browser.lastPost})` : ''
  assert.equal(got, want, `expected the ${want} page, got the ${got} page at ${page.url()}: ${await bodyText(page)}${post}`)
  return got
}

/**
 * From the authorize URL to the redirect back to the test client: signs in when asked (with
 * `password`, and `username` unless the page prefilled it), picks `did` on the choose-account page,
 * allows or denies on the consent page. `shots` maps page names to screenshot names. Returns the
 * list of pages seen, in order (and what each said, in `.text`). With `url` null it goes on from the page the browser shows.
 */
export async function authorize(browser, driver, url, { username, password, did, allow = true, shots = {} } = {}) {
  const page = await browser.page()
  if (url !== null) await page.goto(url)
  const seen = [] // page names in order; seen.text[name] is what the page said
  seen.text = {}
  for (let step = 0; step < 6; step++) {
    const now = await whichPage(driver, page)
    seen.push(now)
    seen.text[now] = await page.locator('body').innerText()
    if (shots[now]) await browser.screenshot(page, shots[now])
    if (now === 'landed') return seen
    if (now === 'error') {
      const post = browser.lastPost ? ` (after the browser's POST ${browser.lastPost})` : ''
      throw new Error(`the server showed an error page at ${page.url()}: ${await bodyText(page)}${post}`)
    }
    if (now === 'sign-in') {
      assert.ok(password, `asked to sign in at ${page.url()} without a password to give`)
      await driver.fillSignIn(page, { username, password })
    } else if (now === 'choose-account') {
      assert.ok(did, 'the choose-account page showed without an account to pick')
      await driver.pickAccount(page, did)
    } else if (now === 'consent') {
      await driver.decide(page, allow)
    }
    // Each action leads to another page: wait until the one acted on is gone before looking again.
    const actedOn = { 'sign-in': driver.signIn, 'choose-account': driver.chooseAccount, consent: driver.consent }[now]
    await page.locator(actedOn).first().waitFor({ state: 'hidden', timeout: 15_000 })
  }
  throw new Error(`no redirect back to the client after ${seen.join(' -> ')}`)
}
