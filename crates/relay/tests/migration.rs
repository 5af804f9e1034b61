//! Account migration between two relays on one PLC directory, over real HTTP, the way goat and
//! the atproto guide run it: createAccount with the DID and a service JWT, importRepo, blobs,
//! the PLC operation (emailed token), activateAccount, deactivateAccount. Also the refusals:
//! createAccount without (or with a bad) service JWT or for a DID already hosted, importRepo of
//! a bad or foreign CAR, activateAccount while the DID document points elsewhere.

mod common;

use common::{Auth, TestAccount, TestRelay};
use serde_json::{json, Value as Json};
use store::{AccountStatus, Store};

const POST: &str = "app.bsky.feed.post";

async fn post(relay: &TestRelay, who: &TestAccount, text: &str) -> Json {
    let (status, body) = relay
        .post(
            "com.atproto.repo.createRecord",
            &json!({"repo": who.did, "collection": POST, "record": {
                "$type": POST, "text": text, "createdAt": "2026-11-25T12:00:00.000Z"}}),
            Some(&who.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "createRecord: {body}");
    body
}

async fn service_token(relay: &TestRelay, who: &TestAccount, aud: &str, lxm: &str) -> String {
    let (status, body) = relay
        .get(
            "com.atproto.server.getServiceAuth",
            &format!("aud={aud}&lxm={lxm}"),
            Some(&who.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "getServiceAuth: {body}");
    body["token"].as_str().expect("token").to_owned()
}

/// createAccount at `to` for `who`'s DID, authorised by a service JWT from `from`.
async fn arrive(from: &TestRelay, to: &TestRelay, who: &TestAccount) -> TestAccount {
    let token = service_token(
        from,
        who,
        &to.state.config.service_did,
        "com.atproto.server.createAccount",
    )
    .await;
    let (status, body) = to
        .post(
            "com.atproto.server.createAccount",
            &json!({"did": who.did, "handle": who.handle, "email": who.email, "password": who.password}),
            Some(&token),
        )
        .await;
    assert_eq!(status, 200, "createAccount with did: {body}");
    assert_eq!(body["did"], json!(who.did));
    TestAccount {
        access_jwt: body["accessJwt"].as_str().expect("accessJwt").to_owned(),
        refresh_jwt: body["refreshJwt"].as_str().expect("refreshJwt").to_owned(),
        ..who.clone()
    }
}

async fn export(relay: &TestRelay, who: &TestAccount) -> Vec<u8> {
    let (status, _, car) = relay
        .get_raw(
            "com.atproto.sync.getRepo",
            &format!("did={}", who.did),
            Auth::Bearer(&who.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "getRepo: {}", String::from_utf8_lossy(&car));
    car
}

async fn import(relay: &TestRelay, who: &TestAccount, car: Vec<u8>) -> (u16, Json) {
    relay
        .post_bytes(
            "com.atproto.repo.importRepo",
            Some("application/vnd.ipld.car"),
            car,
            Some(&who.access_jwt),
        )
        .await
}

/// `(path, cid)` of every record, sorted.
async fn records(relay: &TestRelay, did: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for collection in relay.state.store.list_collections(did).await.unwrap() {
        for r in relay
            .state
            .store
            .list_records(did, &collection, None, 1000, true)
            .await
            .unwrap()
        {
            out.push((format!("{}/{}", r.collection, r.rkey), r.cid.to_string()));
        }
    }
    out.sort();
    out
}

/// The PLC-operation token from the newest message in `relay`'s outbox.
fn outbox_token(relay: &TestRelay) -> String {
    let dir = relay.data_dir.path().join("outbox");
    let mut newest: Option<(std::time::SystemTime, String)> = None;
    for entry in std::fs::read_dir(&dir).expect("an outbox") {
        let entry = entry.unwrap();
        let modified = entry.metadata().unwrap().modified().unwrap();
        let text = std::fs::read_to_string(entry.path()).unwrap();
        if text.contains("Identity change requested")
            && newest.as_ref().is_none_or(|(t, _)| modified >= *t)
        {
            newest = Some((modified, text));
        }
    }
    let text = newest.expect("a PLC operation message").1;
    text.split_whitespace()
        .find(|w| {
            w.len() == 11
                && w.as_bytes()[5] == b'-'
                && w.chars()
                    .all(|c| c == '-' || c.is_ascii_uppercase() || ('2'..='7').contains(&c))
        })
        .expect("a token in the message")
        .to_owned()
}

async fn status_of(relay: &TestRelay, did: &str) -> AccountStatus {
    relay
        .state
        .store
        .account_by_did(did)
        .await
        .unwrap()
        .expect("the account")
        .status
}

fn kinds(events: &[(i64, String, Json)]) -> Vec<&str> {
    events.iter().map(|(_, k, _)| k.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_moves_to_another_relay_with_its_records_and_blobs() {
    let Some(old) = TestRelay::start().await else {
        return;
    };
    let new = TestRelay::start().await.expect("a second relay");
    let alice = old.create_account("mig").await;
    for n in 0..5 {
        post(&old, &alice, &format!("post {n}")).await;
    }
    let image = b"\x89PNG\r\n\x1a\nmigrating pixels".to_vec();
    let (status, uploaded) = old
        .post_bytes(
            "com.atproto.repo.uploadBlob",
            Some("image/png"),
            image.clone(),
            Some(&alice.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{uploaded}");
    let blob = uploaded["blob"].clone();
    let blob_cid = blob["ref"]["$link"].as_str().unwrap().to_owned();
    let (status, body) = old
        .post(
            "com.atproto.repo.createRecord",
            &json!({"repo": alice.did, "collection": POST, "record": {
                "$type": POST, "text": "with a picture", "createdAt": "2026-11-25T12:00:00.000Z",
                "embed": {"$type": "app.bsky.embed.images", "images": [{"image": blob, "alt": "x"}]}}}),
            Some(&alice.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let old_head = old
        .state
        .store
        .repo_head(&alice.did)
        .await
        .unwrap()
        .unwrap();

    // 1. The account arrives deactivated and says nothing.
    let moved = arrive(&old, &new, &alice).await;
    assert_eq!(
        status_of(&new, &alice.did).await,
        AccountStatus::Deactivated
    );
    assert!(new.events_for(&alice.did).await.is_empty());

    // 2. importRepo, twice (the same CAR changes nothing).
    let car = export(&old, &alice).await;
    let (status, body) = import(&new, &moved, car.clone()).await;
    assert_eq!(status, 200, "importRepo: {body}");
    let (status, body) = import(&new, &moved, car).await;
    assert_eq!(status, 200, "importRepo again: {body}");
    assert_eq!(
        records(&new, &alice.did).await,
        records(&old, &alice.did).await
    );
    let head = new
        .state
        .store
        .repo_head(&alice.did)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(head, old_head, "the imported head is the old host's");
    assert!(new.events_for(&alice.did).await.is_empty());

    // Activation is refused while the DID still points at the old host.
    let (status, body) = new
        .post_empty(
            "com.atproto.server.activateAccount",
            Some(&moved.access_jwt),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("atproto_pds"),
        "{body}"
    );

    // 3. Blobs.
    let (status, body) = new
        .get(
            "com.atproto.repo.listMissingBlobs",
            "",
            Some(&moved.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["blobs"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body["blobs"][0]["cid"], json!(blob_cid));
    let (_, status) = new
        .get(
            "com.atproto.server.checkAccountStatus",
            "",
            Some(&moved.access_jwt),
        )
        .await;
    assert_eq!(
        (
            status["expectedBlobs"].clone(),
            status["importedBlobs"].clone()
        ),
        (json!(1), json!(0)),
        "{status}"
    );
    assert_eq!(status["activated"], json!(false));
    assert_eq!(status["validDid"], json!(false));
    assert_eq!(status["indexedRecords"], json!(6));
    let (status, _, bytes) = old
        .get_raw(
            "com.atproto.sync.getBlob",
            &format!("did={}&cid={blob_cid}", alice.did),
            Auth::None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = new
        .post_bytes(
            "com.atproto.repo.uploadBlob",
            Some("image/png"),
            bytes,
            Some(&moved.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = new
        .get(
            "com.atproto.repo.listMissingBlobs",
            "",
            Some(&moved.access_jwt),
        )
        .await;
    assert_eq!(body["blobs"], json!([]), "{body}");
    let (_, status) = new
        .get(
            "com.atproto.server.checkAccountStatus",
            "",
            Some(&moved.access_jwt),
        )
        .await;
    assert_eq!(
        (
            status["expectedBlobs"].clone(),
            status["importedBlobs"].clone()
        ),
        (json!(1), json!(1)),
        "{status}"
    );
    // Linked to its record, so it is kept (not a temporary upload that expires).
    let meta = new
        .state
        .store
        .blob_meta(&alice.did, &blob_cid.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(!meta.temporary, "the migrated blob is referenced");

    // 4. The PLC operation: recommended credentials from the new host, signed by the old one
    //    with the emailed token, submitted at the new one.
    let (status, creds) = new
        .get(
            "com.atproto.identity.getRecommendedDidCredentials",
            "",
            Some(&moved.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{creds}");
    let (status, body) = old
        .post_empty(
            "com.atproto.identity.requestPlcOperationSignature",
            Some(&alice.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let token = outbox_token(&old);
    let mut sign_input = creds.clone();
    sign_input["token"] = json!(token);
    let (status, signed) = old
        .post(
            "com.atproto.identity.signPlcOperation",
            &sign_input,
            Some(&alice.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{signed}");
    // The token is single-use.
    let (status, _) = old
        .post(
            "com.atproto.identity.signPlcOperation",
            &sign_input,
            Some(&alice.access_jwt),
        )
        .await;
    assert_eq!(status, 400);

    // An operation leaving the new host out is refused there.
    let mut elsewhere = creds.clone();
    elsewhere["services"]["atproto_pds"]["endpoint"] = json!(old.url);
    let bad = json!({"operation": forge_like(&signed["operation"], &elsewhere)});
    let (status, body) = new
        .post(
            "com.atproto.identity.submitPlcOperation",
            &bad,
            Some(&moved.access_jwt),
        )
        .await;
    assert_eq!(status, 400, "{body}");

    let (status, body) = new
        .post(
            "com.atproto.identity.submitPlcOperation",
            &json!({"operation": signed["operation"]}),
            Some(&moved.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "submitPlcOperation: {body}");
    let doc: Json = new
        .http
        .get(format!("{}/{}", new.plc_url, alice.did))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["service"][0]["serviceEndpoint"],
        json!(new.url),
        "{doc}"
    );

    // 5. Activation: #identity (from the submit), #account, #identity, #commit re-signed
    //    with the new key, #sync.
    let (status, body) = new
        .post_empty(
            "com.atproto.server.activateAccount",
            Some(&moved.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "activateAccount: {body}");
    let events = new.events_for(&alice.did).await;
    assert_eq!(
        kinds(&events),
        ["#identity", "#account", "#identity", "#commit", "#sync"],
        "{events:?}"
    );
    assert_eq!(events[1].2["active"], json!(true));
    let resigned = new
        .state
        .store
        .repo_head(&alice.did)
        .await
        .unwrap()
        .unwrap();
    assert!(
        resigned.rev > old_head.rev,
        "the rev continues above the imported one"
    );
    assert_eq!(events[4].2["rev"], json!(resigned.rev));
    let key = new.signing_key(&alice.did).await;
    let commit_bytes = new
        .state
        .store
        .get_block(&alice.did, &resigned.cid)
        .await
        .unwrap()
        .unwrap();
    repo::SignedCommit::from_bytes(&commit_bytes)
        .unwrap()
        .verify(&key)
        .expect("the head is signed with the key the DID names");

    // 6. The old host lets go; the account there can still log in and export.
    let (status, body) = old
        .post(
            "com.atproto.server.deactivateAccount",
            &json!({}),
            Some(&alice.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        status_of(&old, &alice.did).await,
        AccountStatus::Deactivated
    );
    let (status, login) = old.login(&alice.handle, &alice.password).await;
    assert_eq!(status, 200, "{login}");
    let relogged = TestAccount {
        access_jwt: login["accessJwt"].as_str().unwrap().to_owned(),
        ..alice.clone()
    };
    assert!(!export(&old, &relogged).await.is_empty());
    let (status, body) = old
        .get(
            "com.atproto.repo.describeRepo",
            &format!("repo={}", alice.did),
            None,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], json!("RepoDeactivated"));

    // New writes at the new host get higher revs.
    let created = post(&new, &moved, "hello from the new host").await;
    assert!(created["commit"]["rev"].as_str().unwrap() > resigned.rev.as_str());
}

/// An operation like `signed` with the fields of `creds` (its signature no longer matches:
/// the relay's checks come before the directory's).
fn forge_like(signed: &Json, creds: &Json) -> Json {
    let mut op = signed.clone();
    op["services"] = creds["services"].clone();
    op
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_account_with_a_did_needs_a_service_jwt_from_that_did() {
    let Some(old) = TestRelay::start().await else {
        return;
    };
    let new = TestRelay::start().await.expect("a second relay");
    let alice = old.create_account("auth").await;
    let bob = old.create_account("other").await;
    let input = json!({"did": alice.did, "handle": alice.handle, "email": alice.email, "password": "pw-pw-pw"});

    let (status, body) = new
        .post("com.atproto.server.createAccount", &input, None)
        .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], json!("AuthenticationRequired"));

    // Bound to another method.
    let token = service_token(
        &old,
        &alice,
        &new.state.config.service_did,
        "com.atproto.repo.uploadBlob",
    )
    .await;
    let (status, body) = new
        .post("com.atproto.server.createAccount", &input, Some(&token))
        .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], json!("BadJwtLexiconMethod"));

    // From another DID.
    let token = service_token(
        &old,
        &bob,
        &new.state.config.service_did,
        "com.atproto.server.createAccount",
    )
    .await;
    let (status, body) = new
        .post("com.atproto.server.createAccount", &input, Some(&token))
        .await;
    assert_eq!(status, 401, "{body}");

    // Garbage.
    let (status, _) = new
        .post("com.atproto.server.createAccount", &input, Some("a.b.c"))
        .await;
    assert_eq!(status, 401);
    assert!(new
        .state
        .store
        .account_by_did(&alice.did)
        .await
        .unwrap()
        .is_none());

    // A DID already hosted here.
    let token = service_token(
        &old,
        &alice,
        &old.state.config.service_did,
        "com.atproto.server.createAccount",
    )
    .await;
    let other_handle = old.new_handle("again");
    let (status, body) = old
        .post(
            "com.atproto.server.createAccount",
            &json!({"did": alice.did, "handle": other_handle, "email": "again@example.com", "password": "pw-pw-pw"}),
            Some(&token),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("already exists"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_repo_refuses_bad_and_foreign_cars_and_revs_continue_above() {
    let Some(old) = TestRelay::start().await else {
        return;
    };
    let new = TestRelay::start().await.expect("a second relay");
    let alice = old.create_account("imp").await;
    let bob = old.create_account("foreign").await;
    for n in 0..3 {
        post(&old, &alice, &format!("post {n}")).await;
        post(&old, &bob, &format!("bob {n}")).await;
    }
    let moved = arrive(&old, &new, &alice).await;
    let before = new
        .state
        .store
        .repo_head(&alice.did)
        .await
        .unwrap()
        .unwrap();

    // Not a CAR.
    let (status, body) = import(&new, &moved, b"not a car at all".to_vec()).await;
    assert_eq!(status, 400, "{body}");
    // Someone else's repo.
    let (status, body) = import(&new, &moved, export(&old, &bob).await).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains(&bob.did),
        "{body}"
    );
    // A CAR missing blocks (cut short).
    let car = export(&old, &alice).await;
    let (status, body) = import(&new, &moved, car[..car.len() / 2].to_vec()).await;
    assert_eq!(status, 400, "{body}");
    // A record block tampered with: its hash no longer matches.
    let mut tampered = car.clone();
    let at = tampered.len() - 10;
    tampered[at] ^= 0xff;
    let (status, body) = import(&new, &moved, tampered).await;
    assert_eq!(status, 400, "{body}");
    // Without a session.
    let (status, _) = new
        .post_bytes(
            "com.atproto.repo.importRepo",
            Some("application/vnd.ipld.car"),
            car.clone(),
            None,
        )
        .await;
    assert_eq!(status, 401);
    // Nothing changed.
    assert_eq!(
        new.state
            .store
            .repo_head(&alice.did)
            .await
            .unwrap()
            .unwrap(),
        before
    );

    let (status, body) = import(&new, &moved, car.clone()).await;
    assert_eq!(status, 200, "{body}");
    let imported = new
        .state
        .store
        .repo_head(&alice.did)
        .await
        .unwrap()
        .unwrap();
    // The empty repo made at createAccount was newer than the import; writes still go above
    // the imported rev, and the old records are all there.
    assert_eq!(
        records(&new, &alice.did).await,
        records(&old, &alice.did).await
    );
    let (status, body) = import(&new, &moved, car).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        new.state
            .store
            .repo_head(&alice.did)
            .await
            .unwrap()
            .unwrap(),
        imported
    );
    // A write to the deactivated account is refused (it is activated first).
    let (status, _) = new
        .post(
            "com.atproto.repo.createRecord",
            &json!({"repo": alice.did, "collection": POST, "record": {
                "$type": POST, "text": "early", "createdAt": "2026-11-25T12:00:00.000Z"}}),
            Some(&moved.access_jwt),
        )
        .await;
    assert!(status >= 400);
    // Reimporting after more writes at the old host moves the repo forward, by records.
    post(&old, &alice, "one more").await;
    let (status, body) = import(&new, &moved, export(&old, &alice).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        records(&new, &alice.did).await,
        records(&old, &alice.did).await
    );
    let later = new
        .state
        .store
        .repo_head(&alice.did)
        .await
        .unwrap()
        .unwrap();
    assert!(later.rev > imported.rev);
    assert!(
        new.events_for(&alice.did).await.is_empty(),
        "nothing emitted"
    );
}

/// A one-record repo for `did`, signed with `key`, at `rev`, as a CAR.
async fn forged_car(did: &str, key: &crypto::Keypair, rev: syntax::Tid) -> Vec<u8> {
    let mut repo = repo::Repo::create(repo::blockstore::MemoryBlockStore::new(), did).unwrap();
    let record = data::json::from_json(&json!({
        "$type": POST, "text": "from elsewhere", "createdAt": "2026-11-25T12:00:00.000Z"}))
    .unwrap();
    let commit = repo
        .apply_writes(
            &[repo::WriteOp::create(POST, "3kaaaaaaaaaa2", &record)],
            rev,
            key,
        )
        .await
        .unwrap();
    commit.persist(repo.store()).await.unwrap();
    repo.export_car().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_must_be_signed_by_a_key_of_the_did_and_revs_continue_above_it() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("rev").await;
    post(&relay, &alice, "to be replaced").await;
    let before = relay
        .state
        .store
        .repo_head(&alice.did)
        .await
        .unwrap()
        .unwrap();

    // Signed with a key the DID never named.
    let stranger = crypto::Keypair::generate(crypto::Algorithm::P256);
    let rev = syntax::TidGenerator::new().next_above(None).unwrap();
    let (status, body) = import(&relay, &alice, forged_car(&alice.did, &stranger, rev).await).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("not signed"),
        "{body}"
    );
    assert_eq!(
        relay
            .state
            .store
            .repo_head(&alice.did)
            .await
            .unwrap()
            .unwrap(),
        before
    );

    // Signed with the account's key, at a rev far ahead of the clock (2035): it replaces the
    // repo (the old post is gone), an active account announces it with #sync, and the next
    // write's rev is above it.
    let key = relay.state.repos.signing_key(&alice.did).await.unwrap();
    let future = syntax::Tid::from_parts(2_051_222_400_000_000, 7).unwrap();
    let (status, body) = import(&relay, &alice, forged_car(&alice.did, &key, future).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        records(&relay, &alice.did)
            .await
            .into_iter()
            .map(|(p, _)| p)
            .collect::<Vec<_>>(),
        [format!("{POST}/3kaaaaaaaaaa2")]
    );
    let events = relay.events_for(&alice.did).await;
    let (_, kind, body) = events.last().unwrap();
    assert_eq!(kind, "#sync");
    assert_eq!(body["rev"], json!(future.to_string()));
    let created = post(&relay, &alice, "after the import").await;
    assert!(
        created["commit"]["rev"].as_str().unwrap() > future.to_string().as_str(),
        "{created}"
    );
}

/// importRepo needs a declared length (the lexicon): a chunked upload is refused with a message
/// that says so, before anything is imported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_repo_needs_a_content_length() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("chunked").await;
    let car = export(&relay, &alice).await;
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", relay.port))
        .await
        .unwrap();
    let mut request = format!(
        "POST /xrpc/com.atproto.repo.importRepo HTTP/1.1\r\nHost: localhost\r\n\
         Authorization: Bearer {}\r\nContent-Type: application/vnd.ipld.car\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n",
        alice.access_jwt,
        car.len()
    )
    .into_bytes();
    request.extend_from_slice(&car);
    request.extend_from_slice(b"\r\n0\r\n\r\n");
    stream.write_all(&request).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("Content-Length"), "{answer}");
    // With the length declared, the same CAR imports.
    let (status, body) = import(&relay, &alice, car).await;
    assert_eq!(status, 200, "{body}");
}
