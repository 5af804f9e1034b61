//! Takedowns, account search and the admin listing of invite codes.

mod common;

use common::{account, new_account, store};
use store::admin::{AdminStore, InviteSort, Subject};
use store::{AccountStatus, InviteCode, Store, StoreError};

fn code(code: &str, created_at: &str) -> InviteCode {
    InviteCode {
        code: code.into(),
        available: 5,
        disabled: false,
        for_account: "admin".into(),
        created_by: "admin".into(),
        created_at: created_at.into(),
        uses: vec![],
    }
}

async fn status(s: &store::sqlite::SqliteStore, did: &str) -> AccountStatus {
    s.account_by_did(did).await.unwrap().unwrap().status
}

#[tokio::test]
async fn an_account_takedown_sets_its_status_and_lifting_restores_the_previous_one() {
    let s = store().await;
    account(&s, "did:plc:alice", "alice.test").await;
    s.set_takedown("did:plc:alice", Subject::Account, Some("case-1"))
        .await
        .unwrap();
    assert_eq!(status(&s, "did:plc:alice").await, AccountStatus::Takendown);
    assert_eq!(
        s.takedown("did:plc:alice", &Subject::Account)
            .await
            .unwrap(),
        Some("case-1".to_owned())
    );
    // Applying again replaces the reference.
    s.set_takedown("did:plc:alice", Subject::Account, Some("case-2"))
        .await
        .unwrap();
    assert_eq!(
        s.takedown("did:plc:alice", &Subject::Account)
            .await
            .unwrap(),
        Some("case-2".to_owned())
    );
    s.set_takedown("did:plc:alice", Subject::Account, None)
        .await
        .unwrap();
    assert_eq!(status(&s, "did:plc:alice").await, AccountStatus::Active);
    assert_eq!(
        s.takedown("did:plc:alice", &Subject::Account)
            .await
            .unwrap(),
        None
    );

    // A deactivated account goes back to deactivated, with its deactivation time.
    s.set_account_status("did:plc:alice", AccountStatus::Deactivated)
        .await
        .unwrap();
    let deactivated_at = s
        .account_by_did("did:plc:alice")
        .await
        .unwrap()
        .unwrap()
        .deactivated_at;
    assert!(deactivated_at.is_some());
    s.set_takedown("did:plc:alice", Subject::Account, Some("x"))
        .await
        .unwrap();
    assert_eq!(status(&s, "did:plc:alice").await, AccountStatus::Takendown);
    s.set_takedown("did:plc:alice", Subject::Account, None)
        .await
        .unwrap();
    let a = s.account_by_did("did:plc:alice").await.unwrap().unwrap();
    assert_eq!(a.status, AccountStatus::Deactivated);
    assert_eq!(a.deactivated_at, deactivated_at);

    assert!(matches!(
        s.set_takedown("did:plc:nobody", Subject::Account, Some("x"))
            .await,
        Err(StoreError::AccountNotFound)
    ));
}

#[tokio::test]
async fn record_and_blob_takedowns_are_per_subject_and_go_with_the_account() {
    let s = store().await;
    account(&s, "did:plc:alice", "alice.test").await;
    account(&s, "did:plc:bob", "bob.test").await;
    let record = |rkey: &str| Subject::Record {
        collection: "app.bsky.feed.post".into(),
        rkey: rkey.into(),
    };
    let cid = data::Cid::for_raw(b"a blob");
    s.set_takedown("did:plc:alice", record("r1"), Some("a"))
        .await
        .unwrap();
    s.set_takedown("did:plc:alice", Subject::Blob(cid), Some("b"))
        .await
        .unwrap();
    assert_eq!(
        s.takedown("did:plc:alice", &record("r1")).await.unwrap(),
        Some("a".to_owned())
    );
    assert_eq!(
        s.takedown("did:plc:alice", &record("r2")).await.unwrap(),
        None
    );
    assert_eq!(
        s.takedown("did:plc:bob", &record("r1")).await.unwrap(),
        None
    );
    assert_eq!(
        s.takedown("did:plc:alice", &Subject::Blob(cid))
            .await
            .unwrap(),
        Some("b".to_owned())
    );
    assert_eq!(
        s.takedown("did:plc:bob", &Subject::Blob(cid))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.taken_down_records("did:plc:alice").await.unwrap(),
        [("app.bsky.feed.post".to_owned(), "r1".to_owned())]
    );
    // Neither touches the account's status.
    assert_eq!(status(&s, "did:plc:alice").await, AccountStatus::Active);
    s.set_takedown("did:plc:alice", record("r1"), None)
        .await
        .unwrap();
    assert!(s
        .taken_down_records("did:plc:alice")
        .await
        .unwrap()
        .is_empty());

    s.delete_account("did:plc:alice").await.unwrap();
    s.create_account(new_account("did:plc:alice", "alice.test"))
        .await
        .unwrap();
    assert_eq!(
        s.takedown("did:plc:alice", &Subject::Blob(cid))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn search_matches_handle_or_email_prefixes_literally() {
    let s = store().await;
    account(&s, "did:plc:a1", "alice.test").await;
    account(&s, "did:plc:a2", "al_ex.test").await;
    account(&s, "did:plc:b1", "bob.test").await;
    let dids =
        |found: Vec<store::Account>| -> Vec<String> { found.into_iter().map(|a| a.did).collect() };
    assert_eq!(
        dids(s.search_accounts(Some("AL"), None, 10).await.unwrap()),
        ["did:plc:a1", "did:plc:a2"]
    );
    // `_` is a character, not a wildcard.
    assert_eq!(
        dids(s.search_accounts(Some("al_"), None, 10).await.unwrap()),
        ["did:plc:a2"]
    );
    assert!(s
        .search_accounts(Some("%"), None, 10)
        .await
        .unwrap()
        .is_empty());
    // Emails (`<handle>@example.com` here) match too.
    assert_eq!(
        dids(
            s.search_accounts(Some("bob.test@"), None, 10)
                .await
                .unwrap()
        ),
        ["did:plc:b1"]
    );
    assert_eq!(
        dids(
            s.search_accounts(None, Some("did:plc:a1"), 1)
                .await
                .unwrap()
        ),
        ["did:plc:a2"]
    );
    assert_eq!(
        s.search_accounts(Some(""), None, 10).await.unwrap().len(),
        3
    );
}

#[tokio::test]
async fn invite_codes_page_by_recency_or_usage() {
    let s = store().await;
    s.create_invite_codes(&[
        code("c-old", "2026-11-25T00:00:00.000Z"),
        code("c-mid", "2026-11-25T00:00:01.000Z"),
        code("c-new", "2026-11-25T00:00:02.000Z"),
    ])
    .await
    .unwrap();
    let mut carol = new_account("did:plc:carol", "carol.test");
    carol.invite_code = Some("c-old".into());
    s.create_account(carol).await.unwrap();

    let names =
        |codes: &[InviteCode]| -> Vec<String> { codes.iter().map(|c| c.code.clone()).collect() };
    let (page, cursor) = s
        .list_invite_codes(InviteSort::Recent, None, 2)
        .await
        .unwrap();
    assert_eq!(names(&page), ["c-new", "c-mid"]);
    let (page, cursor) = s
        .list_invite_codes(InviteSort::Recent, cursor.as_deref(), 2)
        .await
        .unwrap();
    assert_eq!(names(&page), ["c-old"]);
    assert_eq!(page[0].uses.len(), 1);
    assert_eq!(cursor, None);

    let (page, cursor) = s
        .list_invite_codes(InviteSort::Usage, None, 1)
        .await
        .unwrap();
    assert_eq!(names(&page), ["c-old"]);
    let (page, _) = s
        .list_invite_codes(InviteSort::Usage, cursor.as_deref(), 5)
        .await
        .unwrap();
    assert_eq!(names(&page), ["c-new", "c-mid"]);

    assert_eq!(
        s.invited_by("did:plc:carol").await.unwrap().map(|c| c.code),
        Some("c-old".to_owned())
    );
    assert_eq!(s.invited_by("did:plc:nobody").await.unwrap(), None);
}

#[tokio::test]
async fn deactivation_and_takedown_are_independent() {
    let s = store().await;
    account(&s, "did:plc:alice", "alice.test").await;
    s.set_takedown("did:plc:alice", Subject::Account, Some("x"))
        .await
        .unwrap();
    s.set_deactivated("did:plc:alice", true).await.unwrap();
    let a = s.account_by_did("did:plc:alice").await.unwrap().unwrap();
    assert_eq!(a.status, AccountStatus::Takendown);
    assert!(a.deactivated_at.is_some());
    s.set_takedown("did:plc:alice", Subject::Account, None)
        .await
        .unwrap();
    assert_eq!(
        status(&s, "did:plc:alice").await,
        AccountStatus::Deactivated
    );
    s.set_deactivated("did:plc:alice", false).await.unwrap();
    let a = s.account_by_did("did:plc:alice").await.unwrap().unwrap();
    assert_eq!(a.status, AccountStatus::Active);
    assert_eq!(a.deactivated_at, None);
    assert!(matches!(
        s.set_deactivated("did:plc:nobody", true).await,
        Err(StoreError::AccountNotFound)
    ));
}
