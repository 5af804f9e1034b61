//! `relay account migrate` between two relays on one PLC directory: it stops to get the emailed
//! code when it has none (the account copied, still live at the old host), continues when run
//! again with it, and a third run finds nothing left to do.

mod common;

use common::TestRelay;
use relay::account_cmd::migrate::{migrate, what_next, MigrateArgs, Stage};
use serde_json::{json, Value as Json};
use store::{AccountStatus, Store};

fn token_in_outbox(relay: &TestRelay) -> String {
    let dir = relay.data_dir.path().join("outbox");
    let mut texts: Vec<(std::time::SystemTime, String)> = std::fs::read_dir(dir)
        .expect("an outbox")
        .map(|e| {
            let e = e.unwrap();
            (
                e.metadata().unwrap().modified().unwrap(),
                std::fs::read_to_string(e.path()).unwrap(),
            )
        })
        .filter(|(_, t)| t.contains("Identity change requested"))
        .collect();
    texts.sort_by_key(|(t, _)| *t);
    let text = &texts.last().expect("a PLC operation message").1;
    text.split_whitespace()
        .find(|w| w.len() == 11 && w.as_bytes()[5] == b'-')
        .expect("a code")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_moves_an_account_and_resumes_after_stopping() {
    let Some(old) = TestRelay::start().await else {
        return;
    };
    let new = TestRelay::start().await.expect("a second relay");
    let alice = old.create_account("cli").await;
    for n in 0..3 {
        let (status, body) = old
            .post(
                "com.atproto.repo.createRecord",
                &json!({"repo": alice.did, "collection": "app.bsky.feed.post", "record": {
                    "$type": "app.bsky.feed.post", "text": format!("post {n}"),
                    "createdAt": "2026-11-25T12:00:00.000Z"}}),
                Some(&alice.access_jwt),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, blob) = old
        .post_bytes(
            "com.atproto.repo.uploadBlob",
            Some("image/png"),
            b"\x89PNG\r\n\x1a\ncli pixels".to_vec(),
            Some(&alice.access_jwt),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = old
        .post(
            "com.atproto.repo.createRecord",
            &json!({"repo": alice.did, "collection": "app.bsky.actor.profile", "rkey": "self",
                "record": {"$type": "app.bsky.actor.profile", "avatar": blob["blob"]}}),
            Some(&alice.access_jwt),
        )
        .await;
    assert_eq!(status, 200);

    std::env::set_var("MIGRATE_CLI_TEST_PASSWORD", &alice.password);
    let mut args = MigrateArgs {
        from: old.url.clone(),
        handle: alice.handle.clone(),
        to: Some(new.url.clone()),
        password_env: "MIGRATE_CLI_TEST_PASSWORD".into(),
        email: None,
        invite_code: None,
        plc_token: None,
        keep_old_active: false,
    };

    // No code and no terminal: it stops after copying, the account still live at the old host.
    let stopped = migrate(&args).await.expect_err("it needs the emailed code");
    assert!(stopped.needs_plc_token, "{stopped:?}");
    assert_eq!(stopped.stage, Stage::Copied);
    assert!(what_next(&args, &stopped).contains("--plc-token"));
    let here = new
        .state
        .store
        .account_by_did(&alice.did)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(here.status, AccountStatus::Deactivated);
    let there = old
        .state
        .store
        .account_by_did(&alice.did)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(there.status, AccountStatus::Active);
    assert_eq!(
        new.state.store.repo_head(&alice.did).await.unwrap(),
        old.state.store.repo_head(&alice.did).await.unwrap()
    );

    // Again, with the code: it continues and finishes.
    args.plc_token = Some(token_in_outbox(&old));
    migrate(&args).await.expect("the move finishes");
    let here = new
        .state
        .store
        .account_by_did(&alice.did)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(here.status, AccountStatus::Active);
    let there = old
        .state
        .store
        .account_by_did(&alice.did)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(there.status, AccountStatus::Deactivated);
    let doc: Json = new
        .http
        .get(format!("{}/{}", new.plc_url, alice.did))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["service"][0]["serviceEndpoint"], json!(new.url));
    let (status, body) = new
        .get(
            "com.atproto.repo.listMissingBlobs",
            "",
            Some(&login(&new, &alice.did).await),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["blobs"], json!([]), "every blob copied");

    // A third run has nothing left to do (and the code is not needed).
    args.plc_token = None;
    migrate(&args).await.expect("nothing left to do");
}

async fn login(relay: &TestRelay, did: &str) -> String {
    let (status, body) = relay.login(did, common::PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    body["accessJwt"].as_str().unwrap().to_owned()
}

#[test]
fn a_failure_says_what_state_the_account_is_in() {
    let args = MigrateArgs {
        from: "https://old.example".into(),
        handle: "alice.example".into(),
        to: Some("https://new.example".into()),
        password_env: "X".into(),
        email: None,
        invite_code: None,
        plc_token: None,
        keep_old_active: false,
    };
    let at = |stage| relay::account_cmd::migrate::Stopped {
        stage,
        reason: "boom".into(),
        needs_plc_token: false,
    };
    assert!(what_next(&args, &at(Stage::NotStarted)).contains("Nothing has changed"));
    assert!(what_next(&args, &at(Stage::Copying)).contains("still live at https://old.example"));
    assert!(what_next(&args, &at(Stage::IdentityMoved)).contains("not active yet"));
    assert!(what_next(&args, &at(Stage::Activated)).contains("deactivate it there"));
    for stage in [Stage::NotStarted, Stage::Copying, Stage::IdentityMoved] {
        assert!(
            what_next(&args, &at(stage)).contains("relay account migrate --from https://old.example --handle alice.example --to https://new.example"),
            "{stage:?}"
        );
    }
}
