"""End-to-end with the Python SDK (`atproto` on PyPI), as a bot or a firehose consumer written in
Python would use a PDS: create an account, log in, post, read the post back, and see the post's
commit on the firehose, signed by the key in the account's DID document.

    E2E_PDS_URL=http://localhost:PORT E2E_PLC_URL=http://localhost:PORT pytest e2e/python

e2e/run.sh starts the PLC directory and the relay and runs this. No AppView is configured:
`login(..., fetch_bsky_profile=False)`, and reads go through com.atproto.repo.*.
"""

import os
import secrets
import threading
import time

import libipld
import pytest
from atproto import (
    CAR,
    Client,
    FirehoseSubscribeReposClient,
    IdResolver,
    models,
    parse_subscribe_repos_message,
    verify_signature,
)

PDS = os.environ.get('E2E_PDS_URL', '').rstrip('/')
PLC = os.environ.get('E2E_PLC_URL', '').rstrip('/')
FIREHOSE_TIMEOUT_S = 20

pytestmark = pytest.mark.skipif(not PDS or not PLC, reason='set E2E_PDS_URL and E2E_PLC_URL (e2e/run.sh does)')


@pytest.fixture(scope='module')
def account():
    suffix = secrets.token_hex(4)
    handle = f'py{suffix}.test'
    password = secrets.token_urlsafe(18)
    signup = Client(base_url=f'{PDS}/xrpc')
    created = signup.com.atproto.server.create_account(
        models.ComAtprotoServerCreateAccount.Data(handle=handle, email=f'py{suffix}@example.com', password=password)
    )
    return {'handle': handle, 'password': password, 'did': created.did}


@pytest.fixture(scope='module')
def client(account):
    c = Client(base_url=f'{PDS}/xrpc')
    c.login(account['handle'], account['password'], fetch_bsky_profile=False)
    return c


@pytest.fixture(scope='module')
def posted(client, account):
    text = f'hello from the Python SDK {secrets.token_hex(3)}'
    ref = client.send_post(text, profile_identify=account['did'])
    return {'text': text, 'uri': ref.uri, 'cid': ref.cid, 'rkey': ref.uri.rsplit('/', 1)[-1]}


def test_login(client, account):
    assert client.me is None  # no AppView lookup was made
    session = client.com.atproto.server.get_session()
    assert session.did == account['did']
    assert session.handle == account['handle']
    # After login the SDK talks to the PDS named in the session's DID document (or, without one,
    # keeps the URL it was given, /xrpc and all).
    assert client._session is not None
    assert client._session.pds_endpoint.rstrip('/').removesuffix('/xrpc') == PDS


def test_create_post_and_read_back(client, account, posted):
    assert posted['uri'] == f"at://{account['did']}/app.bsky.feed.post/{posted['rkey']}"
    got = client.com.atproto.repo.get_record(
        models.ComAtprotoRepoGetRecord.Params(repo=account['did'], collection='app.bsky.feed.post', rkey=posted['rkey'])
    )
    assert got.uri == posted['uri']
    assert got.cid == posted['cid']
    assert got.value.text == posted['text']
    # the typed namespace helper reads the same record
    typed = client.app.bsky.feed.post.get(account['did'], posted['rkey'])
    assert typed.value.text == posted['text']
    listed = client.com.atproto.repo.list_records(
        models.ComAtprotoRepoListRecords.Params(repo=account['did'], collection='app.bsky.feed.post')
    )
    assert [r.uri for r in listed.records] == [posted['uri']]


def test_firehose_sees_the_post_commit(account, posted):
    signing_key = IdResolver(plc_url=PLC, timeout=5).did.resolve_atproto_data(account['did']).signing_key
    path = f"app.bsky.feed.post/{posted['rkey']}"
    firehose = FirehoseSubscribeReposClient(params={'cursor': 0}, base_uri=PDS.replace('http', 'ws', 1) + '/xrpc')
    seen = {'seqs': [], 'commit': None, 'errors': []}

    def on_message(message) -> None:
        event = parse_subscribe_repos_message(message)
        seq = getattr(event, 'seq', None)
        if seq is not None:
            seen['seqs'].append(seq)
        if not isinstance(event, models.ComAtprotoSyncSubscribeRepos.Commit) or event.repo != account['did']:
            return
        if any(op.action == 'create' and op.path == path for op in event.ops):
            seen['commit'] = event
            firehose.stop()

    def on_error(err: BaseException) -> None:
        seen['errors'].append(repr(err))
        firehose.stop()

    runner = threading.Thread(target=firehose.start, args=(on_message, on_error), daemon=True)
    started = time.monotonic()
    runner.start()
    runner.join(FIREHOSE_TIMEOUT_S)
    if runner.is_alive():
        firehose.stop()
        runner.join(5)
    assert not seen['errors'], f'firehose callback errors: {seen["errors"]}'
    commit = seen['commit']
    assert commit is not None, (
        f'no #commit creating {path} within {FIREHOSE_TIMEOUT_S} s '
        f'({len(seen["seqs"])} events, {time.monotonic() - started:.1f} s)'
    )
    assert seen['seqs'] == sorted(set(seen['seqs'])), f'seqs not strictly increasing: {seen["seqs"]}'

    op = next(op for op in commit.ops if op.path == path)
    assert str(op.cid) == posted['cid']
    car = CAR.from_bytes(commit.blocks)
    assert str(car.root) == str(commit.commit)
    blocks = {str(cid): block for cid, block in car.blocks.items()}
    assert blocks[posted['cid']]['text'] == posted['text'], 'the record block in the commit'
    signed = blocks[str(commit.commit)]
    assert signed['did'] == account['did']
    assert signed['rev'] == commit.rev
    unsigned = {k: v for k, v in signed.items() if k != 'sig'}
    assert verify_signature(signing_key, libipld.encode_dag_cbor(unsigned), signed['sig']), (
        f'commit signature does not verify against {signing_key}'
    )
