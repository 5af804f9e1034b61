//! Accounts, sessions, app passwords, invite codes and preferences.

mod common;

use common::{account, new_account, store};
use serde_json::json;
use store::{AccountStatus, AppPassword, InviteCode, RefreshToken, Store, StoreError};

#[tokio::test]
async fn create_and_look_up_accounts() {
    let s = store().await;
    account(&s, "did:plc:alice", "Alice.Test").await;

    let a = s.account_by_did("did:plc:alice").await.unwrap().unwrap();
    assert_eq!(a.handle, "Alice.Test");
    assert_eq!(a.email.as_deref(), Some("Alice.Test@example.com"));
    assert_eq!(a.status, AccountStatus::Active);
    assert_eq!(a.deactivated_at, None);
    assert!(!a.invites_disabled);
    assert!(
        a.created_at.ends_with('Z') && a.created_at.len() == 24,
        "{}",
        a.created_at
    );

    // Handles and emails match case-insensitively.
    assert_eq!(
        s.account_by_handle("alice.test")
            .await
            .unwrap()
            .unwrap()
            .did,
        "did:plc:alice"
    );
    assert_eq!(
        s.account_by_email("ALICE.TEST@EXAMPLE.COM")
            .await
            .unwrap()
            .unwrap()
            .did,
        "did:plc:alice"
    );
    assert!(s.account_by_handle("bob.test").await.unwrap().is_none());
    assert!(s.account_by_did("did:plc:nobody").await.unwrap().is_none());

    assert_eq!(
        s.password_hash("did:plc:alice").await.unwrap().as_deref(),
        Some("hash")
    );
    assert_eq!(
        s.signing_key_sealed("did:plc:alice").await.unwrap(),
        Some(vec![1, 2, 3])
    );
    assert_eq!(s.password_hash("did:plc:nobody").await.unwrap(), None);
    assert_eq!(s.repo_head("did:plc:alice").await.unwrap(), None);
}

#[tokio::test]
async fn uniqueness_of_did_handle_and_email() {
    let s = store().await;
    account(&s, "did:plc:alice", "alice.test").await;

    let err = s
        .create_account(new_account("did:plc:alice", "other.test"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::DidTaken), "{err:?}");

    let err = s
        .create_account(new_account("did:plc:bob", "ALICE.test"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::HandleTaken), "{err:?}");

    let mut bob = new_account("did:plc:bob", "bob.test");
    bob.email = Some("alice.TEST@example.com".into());
    let err = s.create_account(bob).await.unwrap_err();
    assert!(matches!(err, StoreError::EmailTaken), "{err:?}");

    // None of the refused attempts left anything behind.
    assert!(s.account_by_did("did:plc:bob").await.unwrap().is_none());

    let mut bob = new_account("did:plc:bob", "bob.test");
    bob.email = None;
    bob.password_hash = None;
    s.create_account(bob).await.unwrap();
    assert_eq!(s.password_hash("did:plc:bob").await.unwrap(), None);
    assert_eq!(
        s.account_by_did("did:plc:bob")
            .await
            .unwrap()
            .unwrap()
            .email,
        None
    );
}

#[tokio::test]
async fn update_handle_email_password_key() {
    let s = store().await;
    account(&s, "did:plc:alice", "alice.test").await;
    account(&s, "did:plc:bob", "bob.test").await;

    let err = s
        .update_handle("did:plc:alice", "BOB.test")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::HandleTaken), "{err:?}");
    // Changing only the case of one's own handle is fine.
    s.update_handle("did:plc:alice", "ALICE.test")
        .await
        .unwrap();
    s.update_handle("did:plc:alice", "alice2.test")
        .await
        .unwrap();
    assert!(s.account_by_handle("alice.test").await.unwrap().is_none());
    assert_eq!(
        s.account_by_handle("alice2.test")
            .await
            .unwrap()
            .unwrap()
            .did,
        "did:plc:alice"
    );
    let err = s
        .update_handle("did:plc:nobody", "x.test")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::AccountNotFound), "{err:?}");

    let err = s
        .update_email("did:plc:alice", Some("Bob.Test@Example.com"), None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::EmailTaken), "{err:?}");
    s.update_email(
        "did:plc:alice",
        Some("new@example.com"),
        Some("2026-11-25T00:00:00.000Z"),
    )
    .await
    .unwrap();
    let a = s
        .account_by_email("NEW@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        a.email_confirmed_at.as_deref(),
        Some("2026-11-25T00:00:00.000Z")
    );
    s.update_email("did:plc:alice", None, None).await.unwrap();
    assert_eq!(
        s.account_by_did("did:plc:alice")
            .await
            .unwrap()
            .unwrap()
            .email,
        None
    );
    // The old email is free again.
    s.update_email("did:plc:bob", Some("new@example.com"), None)
        .await
        .unwrap();

    s.set_password_hash("did:plc:alice", "hash2").await.unwrap();
    assert_eq!(
        s.password_hash("did:plc:alice").await.unwrap().as_deref(),
        Some("hash2")
    );
    s.set_signing_key_sealed("did:plc:alice", &[9, 9])
        .await
        .unwrap();
    assert_eq!(
        s.signing_key_sealed("did:plc:alice").await.unwrap(),
        Some(vec![9, 9])
    );
    let err = s
        .set_password_hash("did:plc:nobody", "x")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::AccountNotFound), "{err:?}");
}

#[tokio::test]
async fn account_status_and_invites_flag() {
    let s = store().await;
    account(&s, "did:plc:alice", "alice.test").await;

    s.set_account_status("did:plc:alice", AccountStatus::Deactivated)
        .await
        .unwrap();
    let a = s.account_by_did("did:plc:alice").await.unwrap().unwrap();
    assert_eq!(a.status, AccountStatus::Deactivated);
    let since = a.deactivated_at.clone().expect("deactivated_at set");
    // Staying deactivated keeps the original time.
    s.set_account_status("did:plc:alice", AccountStatus::Deactivated)
        .await
        .unwrap();
    assert_eq!(
        s.account_by_did("did:plc:alice")
            .await
            .unwrap()
            .unwrap()
            .deactivated_at,
        Some(since)
    );

    for status in [
        AccountStatus::Takendown,
        AccountStatus::Suspended,
        AccountStatus::Deleted,
        AccountStatus::Active,
    ] {
        s.set_account_status("did:plc:alice", status).await.unwrap();
        assert_eq!(
            s.account_by_did("did:plc:alice")
                .await
                .unwrap()
                .unwrap()
                .status,
            status
        );
    }
    assert_eq!(
        s.account_by_did("did:plc:alice")
            .await
            .unwrap()
            .unwrap()
            .deactivated_at,
        None
    );

    s.set_invites_disabled("did:plc:alice", true).await.unwrap();
    assert!(
        s.account_by_did("did:plc:alice")
            .await
            .unwrap()
            .unwrap()
            .invites_disabled
    );
    s.set_invites_disabled("did:plc:alice", false)
        .await
        .unwrap();
    assert!(
        !s.account_by_did("did:plc:alice")
            .await
            .unwrap()
            .unwrap()
            .invites_disabled
    );

    let err = s
        .set_account_status("did:plc:nobody", AccountStatus::Active)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::AccountNotFound), "{err:?}");

    // A migrating account starts deactivated.
    let mut bob = new_account("did:plc:bob", "bob.test");
    bob.deactivated = true;
    s.create_account(bob).await.unwrap();
    let b = s.account_by_did("did:plc:bob").await.unwrap().unwrap();
    assert_eq!(b.status, AccountStatus::Deactivated);
    assert!(b.deactivated_at.is_some());
}

#[tokio::test]
async fn list_accounts_pages_in_did_order() {
    let s = store().await;
    for i in (0..25).rev() {
        account(
            &s,
            &format!("did:plc:user{i:02}"),
            &format!("user{i:02}.test"),
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = s.list_accounts(cursor.as_deref(), 10).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 10);
        cursor = Some(page.last().unwrap().0.did.clone());
        seen.extend(page.into_iter().map(|(a, head)| {
            assert!(head.is_none());
            a.did
        }));
    }
    let expected: Vec<String> = (0..25).map(|i| format!("did:plc:user{i:02}")).collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn invite_codes() {
    let s = store().await;
    s.create_invite_codes(&[
        InviteCode {
            code: "code-one".into(),
            available: 1,
            disabled: false,
            for_account: "admin".into(),
            created_by: "admin".into(),
            created_at: "2026-11-25T00:00:00.000Z".into(),
            uses: vec![],
        },
        InviteCode {
            code: "code-two".into(),
            available: 5,
            disabled: false,
            for_account: "did:plc:alice".into(),
            created_by: "did:plc:alice".into(),
            created_at: "2026-11-25T00:00:01.000Z".into(),
            uses: vec![],
        },
    ])
    .await
    .unwrap();

    let mut alice = new_account("did:plc:alice", "alice.test");
    alice.invite_code = Some("code-one".into());
    s.create_account(alice).await.unwrap();
    let code = s.invite_code("code-one").await.unwrap().unwrap();
    assert_eq!(code.uses.len(), 1);
    assert_eq!(code.uses[0].0, "did:plc:alice");

    // Used up: the next account is refused and not created.
    let mut bob = new_account("did:plc:bob", "bob.test");
    bob.invite_code = Some("code-one".into());
    let err = s.create_account(bob.clone()).await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidInviteCode), "{err:?}");
    assert!(s.account_by_did("did:plc:bob").await.unwrap().is_none());

    bob.invite_code = Some("no-such-code".into());
    let err = s.create_account(bob.clone()).await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidInviteCode), "{err:?}");

    let codes = s.invite_codes_for("did:plc:alice").await.unwrap();
    assert_eq!(codes.len(), 1);
    assert_eq!(codes[0].code, "code-two");
    assert!(codes[0].uses.is_empty());

    // Disabled codes (by code or by owner) are refused.
    s.disable_invite_codes(&[], &["did:plc:alice".into()])
        .await
        .unwrap();
    assert!(s.invite_code("code-two").await.unwrap().unwrap().disabled);
    bob.invite_code = Some("code-two".into());
    let err = s.create_account(bob.clone()).await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidInviteCode), "{err:?}");

    s.create_invite_codes(&[InviteCode {
        code: "code-three".into(),
        available: 2,
        disabled: false,
        for_account: "admin".into(),
        created_by: "admin".into(),
        created_at: "2026-11-25T00:00:02.000Z".into(),
        uses: vec![],
    }])
    .await
    .unwrap();
    bob.invite_code = Some("code-three".into());
    s.create_account(bob).await.unwrap();
    s.disable_invite_codes(&["code-three".into()], &[])
        .await
        .unwrap();
    let three = s.invite_code("code-three").await.unwrap().unwrap();
    assert!(three.disabled);
    assert_eq!(three.uses.len(), 1);
    assert!(s.invite_code("nope").await.unwrap().is_none());
}

#[tokio::test]
async fn invite_code_is_consumed_once_under_concurrency() {
    let s = store().await;
    s.create_invite_codes(&[InviteCode {
        code: "one-use".into(),
        available: 1,
        disabled: false,
        for_account: "admin".into(),
        created_by: "admin".into(),
        created_at: "2026-11-25T00:00:00.000Z".into(),
        uses: vec![],
    }])
    .await
    .unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut a = new_account(&format!("did:plc:racer{i}"), &format!("racer{i}.test"));
            a.invite_code = Some("one-use".into());
            s.create_account(a).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(StoreError::InvalidInviteCode) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn app_passwords_and_sessions() {
    let s = store().await;
    account(&s, "did:plc:alice", "alice.test").await;
    let pw = AppPassword {
        name: "phone".into(),
        password_hash: "aph".into(),
        privileged: true,
        created_at: "2026-11-25T00:00:00.000Z".into(),
    };
    s.create_app_password("did:plc:alice", pw.clone())
        .await
        .unwrap();
    assert!(s
        .create_app_password("did:plc:alice", pw.clone())
        .await
        .is_err());
    assert_eq!(
        s.list_app_passwords("did:plc:alice").await.unwrap(),
        vec![pw]
    );

    let token = |id: &str, app: Option<&str>| RefreshToken {
        id: id.into(),
        did: "did:plc:alice".into(),
        app_password_name: app.map(str::to_string),
        expires_at: 2_000_000_000,
        next_id: None,
    };
    s.put_refresh_token(token("t1", None)).await.unwrap();
    s.put_refresh_token(token("t2", Some("phone")))
        .await
        .unwrap();
    assert_eq!(
        s.refresh_token("t1").await.unwrap(),
        Some(token("t1", None))
    );

    s.rotate_refresh_token("t1", 1_900_000_000, token("t3", None))
        .await
        .unwrap();
    let old = s.refresh_token("t1").await.unwrap().unwrap();
    assert_eq!(old.next_id.as_deref(), Some("t3"));
    assert_eq!(old.expires_at, 1_900_000_000);
    assert_eq!(
        s.refresh_token("t3").await.unwrap(),
        Some(token("t3", None))
    );

    // Deleting the app password revokes the sessions made with it.
    s.delete_app_password("did:plc:alice", "phone")
        .await
        .unwrap();
    assert!(s
        .list_app_passwords("did:plc:alice")
        .await
        .unwrap()
        .is_empty());
    assert!(s.refresh_token("t2").await.unwrap().is_none());
    assert!(s.refresh_token("t1").await.unwrap().is_some());

    s.delete_refresh_token("t1").await.unwrap();
    assert!(s.refresh_token("t1").await.unwrap().is_none());
    s.delete_refresh_tokens_for("did:plc:alice").await.unwrap();
    assert!(s.refresh_token("t3").await.unwrap().is_none());

    let err = s
        .put_refresh_token(RefreshToken {
            did: "did:plc:nobody".into(),
            ..token("t9", None)
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::AccountNotFound), "{err:?}");
}

#[tokio::test]
async fn preferences_replace_as_a_whole() {
    let s = store().await;
    account(&s, "did:plc:alice", "alice.test").await;
    assert!(s.preferences("did:plc:alice").await.unwrap().is_empty());
    let prefs = vec![
        json!({"$type": "app.bsky.actor.defs#adultContentPref", "enabled": false}),
        json!({"$type": "app.bsky.actor.defs#savedFeedsPrefV2", "items": [{"id": "x", "pinned": true}]}),
    ];
    s.put_preferences("did:plc:alice", prefs.clone())
        .await
        .unwrap();
    assert_eq!(s.preferences("did:plc:alice").await.unwrap(), prefs);
    s.put_preferences("did:plc:alice", vec![prefs[1].clone()])
        .await
        .unwrap();
    assert_eq!(
        s.preferences("did:plc:alice").await.unwrap(),
        vec![prefs[1].clone()]
    );
    let err = s
        .put_preferences("did:plc:nobody", vec![])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::AccountNotFound), "{err:?}");
}

#[tokio::test]
async fn delete_account_removes_everything() {
    let s = store().await;
    account(&s, "did:plc:alice", "alice.test").await;
    account(&s, "did:plc:bob", "bob.test").await;
    let blob = b"picture";
    s.put_temp_blob(
        "did:plc:alice",
        common::blob_meta(blob, "2026-11-25T00:00:00.000Z"),
    )
    .await
    .unwrap();
    let blob_cid = data::Cid::for_raw(blob);
    let c1 = common::hand_commit(
        "did:plc:alice",
        None,
        "3kaaaaaaaaa22",
        &[("app.bsky.feed.post", "a", Some("hello"), vec![blob_cid])],
        vec![],
    );
    s.apply_commit(c1.write).await.unwrap();
    let c2 = common::hand_commit(
        "did:plc:bob",
        None,
        "3kaaaaaaaaa22",
        &[("app.bsky.feed.post", "a", Some("hello"), vec![])],
        vec![],
    );
    s.apply_commit(c2.write).await.unwrap();
    s.put_preferences("did:plc:alice", vec![json!({"$type": "x"})])
        .await
        .unwrap();
    s.put_refresh_token(RefreshToken {
        id: "t1".into(),
        did: "did:plc:alice".into(),
        app_password_name: None,
        expires_at: 2_000_000_000,
        next_id: None,
    })
    .await
    .unwrap();

    let blobs = s.delete_account("did:plc:alice").await.unwrap();
    assert_eq!(blobs, vec![blob_cid]);
    assert!(s.account_by_did("did:plc:alice").await.unwrap().is_none());
    assert!(s.all_blocks("did:plc:alice").await.unwrap().is_empty());
    assert_eq!(s.record_count("did:plc:alice").await.unwrap(), 0);
    assert!(s
        .blob_meta("did:plc:alice", &blob_cid)
        .await
        .unwrap()
        .is_none());
    assert!(s.refresh_token("t1").await.unwrap().is_none());
    assert!(s.preferences("did:plc:alice").await.unwrap().is_empty());
    // Bob's copy of the same record block is his own.
    assert_eq!(s.record_count("did:plc:bob").await.unwrap(), 1);
    assert_eq!(s.all_blocks("did:plc:bob").await.unwrap().len(), 2);

    let err = s.delete_account("did:plc:alice").await.unwrap_err();
    assert!(matches!(err, StoreError::AccountNotFound), "{err:?}");
    // The DID, handle and email are free again.
    account(&s, "did:plc:alice", "alice.test").await;
}
