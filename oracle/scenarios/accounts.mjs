// Accounts and sessions: creation, logins, refresh, app passwords, deactivation, missing auth.
import { post, POST, rkey } from './_fixtures.mjs'

export const scenarios = [
  {
    name: 'account.create',
    fast: true,
    async run(r) {
      await r.createAccount('alice')
      await r.get('getSession', 'com.atproto.server.getSession', {}, { as: 'alice' })
      await r.get('describeRepo', 'com.atproto.repo.describeRepo', { repo: r.did('alice') })
      await r.get('resolveHandle', 'com.atproto.identity.resolveHandle', { handle: r.handle('alice') })
      await r.get('checkAccountStatus', 'com.atproto.server.checkAccountStatus', {}, { as: 'alice' })
      await r.get('getRepoStatus', 'com.atproto.sync.getRepoStatus', { did: r.did('alice') })
    },
  },
  {
    name: 'account.create-bad-input',
    async run(r) {
      const create = (label, body) => r.post(label, 'com.atproto.server.createAccount', body)
      const base = { email: `bad${r.index}@oracle.test`, password: 'pw-bad-oracle' }
      await create('no handle', { ...base })
      await create('handle with a space', { ...base, handle: 'bad handle.test' })
      await create('handle too short', { ...base, handle: 'ab.test' })
      await create('handle outside the service domains', { ...base, handle: `x${r.index}.example` })
      await create('handle not a string', { ...base, handle: 42 })
      await create('bad email', { ...base, handle: r.handle('bademail'), email: 'not-an-email' })
      await create('did not a DID', { ...base, handle: r.handle('baddid'), did: 'not-a-did' })
      await r.xrpc('body not JSON', 'POST', 'com.atproto.server.createAccount', {
        body: '{"handle":',
        headers: { 'content-type': 'application/json' },
      })
    },
    finish: false,
  },
  {
    name: 'account.create-taken',
    async run(r) {
      await r.createAccount('taken')
      await r.post('same handle', 'com.atproto.server.createAccount', {
        handle: r.handle('taken'),
        email: `other${r.index}@oracle.test`,
        password: 'pw-other-oracle',
      })
      await r.post('same email', 'com.atproto.server.createAccount', {
        handle: r.handle('other'),
        email: `taken${r.index}@oracle.test`,
        password: 'pw-other-oracle',
      })
    },
  },
  {
    name: 'session.create',
    fast: true,
    async run(r) {
      await r.createAccount('sess')
      const password = 'pw-sess-oracle'
      await r.post('by handle', 'com.atproto.server.createSession', { identifier: r.handle('sess'), password })
      await r.post('by DID', 'com.atproto.server.createSession', { identifier: r.did('sess'), password })
      await r.post('by email', 'com.atproto.server.createSession', { identifier: `sess${r.index}@oracle.test`, password })
      await r.post('wrong password', 'com.atproto.server.createSession', { identifier: r.handle('sess'), password: 'nope' })
      await r.post('unknown account', 'com.atproto.server.createSession', { identifier: r.handle('nobody'), password })
      await r.post('no password', 'com.atproto.server.createSession', { identifier: r.handle('sess') })
    },
  },
  {
    name: 'session.refresh-delete',
    async run(r) {
      const acct = await r.createAccount('refr')
      await r.post('refresh with the access token', 'com.atproto.server.refreshSession', undefined, { token: acct.accessJwt })
      const res = await r.post('refresh', 'com.atproto.server.refreshSession', undefined, { token: acct.refreshJwt })
      await r.post('refresh with the used refresh token again', 'com.atproto.server.refreshSession', undefined, {
        token: acct.refreshJwt,
      })
      const fresh = res.json
      await r.get('getSession with the new access token', 'com.atproto.server.getSession', {}, { token: fresh.accessJwt })
      await r.post('deleteSession', 'com.atproto.server.deleteSession', undefined, { token: fresh.refreshJwt })
      await r.post('refresh after deleteSession', 'com.atproto.server.refreshSession', undefined, { token: fresh.refreshJwt })
    },
  },
  {
    name: 'auth.missing-or-bad',
    fast: true,
    async run(r) {
      await r.createAccount('auth')
      const write = { repo: r.did('auth'), collection: POST, rkey: rkey(1), record: post('no auth') }
      await r.get('getSession without auth', 'com.atproto.server.getSession', {})
      await r.post('createRecord without auth', 'com.atproto.repo.createRecord', write)
      await r.post('createRecord with a garbage token', 'com.atproto.repo.createRecord', write, { token: 'garbage' })
      await r.post('createRecord with the refresh token', 'com.atproto.repo.createRecord', write, {
        token: r.accounts.auth.refreshJwt,
      })
      await r.xrpc('createRecord with basic auth', 'POST', 'com.atproto.repo.createRecord', {
        json: write,
        headers: { authorization: 'Basic YWRtaW46YWRtaW4=' },
      })
      await r.post('uploadBlob without auth', 'com.atproto.repo.uploadBlob', undefined)
      await r.post('deactivateAccount without auth', 'com.atproto.server.deactivateAccount', {})
      await r.post('updateHandle without auth', 'com.atproto.identity.updateHandle', { handle: r.handle('auth2') })
    },
  },
  {
    name: 'account.app-passwords',
    async run(r) {
      await r.createAccount('apppw')
      const made = await r.post('createAppPassword', 'com.atproto.server.createAppPassword', { name: 'oracle' }, { as: 'apppw' })
      if (made.json?.password) r.alias(made.json.password, 'app-password')
      await r.post('createAppPassword same name', 'com.atproto.server.createAppPassword', { name: 'oracle' }, { as: 'apppw' })
      await r.get('listAppPasswords', 'com.atproto.server.listAppPasswords', {}, { as: 'apppw' })
      const login = await r.post('login with the app password', 'com.atproto.server.createSession', {
        identifier: r.handle('apppw'),
        password: made.json?.password,
      })
      if (login.json?.accessJwt) {
        await r.post('createAppPassword from an app-password session', 'com.atproto.server.createAppPassword', { name: 'x' }, {
          token: login.json.accessJwt,
        })
      }
      await r.post('revokeAppPassword', 'com.atproto.server.revokeAppPassword', { name: 'oracle' }, { as: 'apppw' })
      await r.post('login after revoke', 'com.atproto.server.createSession', {
        identifier: r.handle('apppw'),
        password: made.json?.password,
      })
    },
  },
  {
    name: 'account.activate-when-active',
    async run(r) {
      await r.createAccount('act')
      await r.post('activateAccount on an active account', 'com.atproto.server.activateAccount', undefined, { as: 'act' })
      await r.get('getRepoStatus', 'com.atproto.sync.getRepoStatus', { did: r.did('act') })
      await r.post('createRecord', 'com.atproto.repo.createRecord', { repo: r.did('act'), collection: POST, rkey: rkey(1), record: post('act') }, { as: 'act' })
    },
  },
  {
    name: 'account.deactivate-activate',
    fast: true,
    async run(r) {
      await r.createAccount('deact')
      const rec = (n) => ({ repo: r.did('deact'), collection: POST, rkey: rkey(n), record: post(`deact ${n}`) })
      await r.post('createRecord', 'com.atproto.repo.createRecord', rec(1), { as: 'deact' })
      await r.post('deactivateAccount', 'com.atproto.server.deactivateAccount', {}, { as: 'deact' })
      await r.get('getRepoStatus deactivated', 'com.atproto.sync.getRepoStatus', { did: r.did('deact') })
      await r.get('checkAccountStatus deactivated', 'com.atproto.server.checkAccountStatus', {}, { as: 'deact' })
      await r.post('createRecord while deactivated', 'com.atproto.repo.createRecord', rec(2), { as: 'deact' })
      await r.get('getRecord while deactivated', 'com.atproto.repo.getRecord', {
        repo: r.did('deact'),
        collection: POST,
        rkey: rkey(1),
      })
      await r.get('getRepo while deactivated', 'com.atproto.sync.getRepo', { did: r.did('deact') })
      await r.get('getLatestCommit while deactivated', 'com.atproto.sync.getLatestCommit', { did: r.did('deact') })
      await r.get('describeRepo while deactivated', 'com.atproto.repo.describeRepo', { repo: r.did('deact') })
      await r.post('login while deactivated', 'com.atproto.server.createSession', {
        identifier: r.handle('deact'),
        password: 'pw-deact-oracle',
      })
      await r.post('activateAccount', 'com.atproto.server.activateAccount', undefined, { as: 'deact' })
      await r.get('getRepoStatus active', 'com.atproto.sync.getRepoStatus', { did: r.did('deact') })
      await r.post('createRecord after activation', 'com.atproto.repo.createRecord', rec(3), { as: 'deact' })
    },
  },
]
