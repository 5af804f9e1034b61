//! Email tokens and the sign-in factor on SQLite, and what an account's deletion takes with
//! it besides the repo: its /v1 rows (keyed by DID) and its past firehose events.

mod common;

use common::{account, event, store};
use store::email::EmailTokenStore;
use store::sqlite::wallet::{Device, EscrowShare};
use store::{Store, StoreError};

const ALICE: &str = "did:plc:alice";
const BOB: &str = "did:plc:bob";

#[tokio::test]
async fn one_token_per_purpose_per_account() {
    let s = store().await;
    account(&s, ALICE, "alice.test").await;
    account(&s, BOB, "bob.test").await;
    s.put_email_token(ALICE, "confirm_email", "AAAAA-22222", 100)
        .await
        .unwrap();
    s.put_email_token(ALICE, "confirm_email", "BBBBB-33333", 200)
        .await
        .unwrap();
    s.put_email_token(ALICE, "reset_password", "CCCCC-44444", 300)
        .await
        .unwrap();
    s.put_email_token(BOB, "reset_password", "DDDDD-55555", 400)
        .await
        .unwrap();
    assert_eq!(
        s.email_token(ALICE, "confirm_email").await.unwrap(),
        Some(("BBBBB-33333".into(), 200))
    );
    assert_eq!(
        s.email_token_owner("reset_password", "DDDDD-55555")
            .await
            .unwrap(),
        Some((BOB.into(), 400))
    );
    assert_eq!(
        s.email_token_owner("confirm_email", "DDDDD-55555")
            .await
            .unwrap(),
        None
    );
    let err = s
        .put_email_token("did:plc:nobody", "confirm_email", "EEEEE-66666", 1)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::AccountNotFound), "{err:?}");

    s.delete_email_token(ALICE, "confirm_email").await.unwrap();
    assert_eq!(s.email_token(ALICE, "confirm_email").await.unwrap(), None);
    assert!(s
        .email_token(ALICE, "reset_password")
        .await
        .unwrap()
        .is_some());
    s.delete_email_tokens_for(ALICE).await.unwrap();
    assert_eq!(s.email_token(ALICE, "reset_password").await.unwrap(), None);
    assert!(s
        .email_token(BOB, "reset_password")
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn the_sign_in_factor_is_per_account_and_goes_with_it() {
    let s = store().await;
    account(&s, ALICE, "alice.test").await;
    account(&s, BOB, "bob.test").await;
    assert!(!s.email_auth_factor(ALICE).await.unwrap());
    s.set_email_auth_factor(ALICE, true).await.unwrap();
    s.set_email_auth_factor(ALICE, true).await.unwrap();
    assert!(s.email_auth_factor(ALICE).await.unwrap());
    assert!(!s.email_auth_factor(BOB).await.unwrap());
    s.set_email_auth_factor(ALICE, false).await.unwrap();
    assert!(!s.email_auth_factor(ALICE).await.unwrap());
    s.set_email_auth_factor(ALICE, true).await.unwrap();
    s.put_email_token(ALICE, "2fa", "AAAAA-22222", 1)
        .await
        .unwrap();
    s.delete_account(ALICE).await.unwrap();
    account(&s, ALICE, "alice.test").await;
    assert!(!s.email_auth_factor(ALICE).await.unwrap());
    assert_eq!(s.email_token(ALICE, "2fa").await.unwrap(), None);
}

#[tokio::test]
async fn deleting_an_account_takes_its_v1_rows_and_events() {
    let s = store().await;
    account(&s, ALICE, "alice.test").await;
    account(&s, BOB, "bob.test").await;
    for (id, did) in [("dev-a", ALICE), ("dev-b", BOB)] {
        s.put_device(&Device {
            id: id.into(),
            did: Some(did.into()),
            pending_id: None,
            public_key: "did:key:z".into(),
            name: "phone".into(),
            created_at_ms: 1,
            revoked_at_ms: None,
        })
        .await
        .unwrap();
        s.put_escrow_share(
            &EscrowShare {
                id: format!("share-{id}"),
                did: did.into(),
                sealed: vec![1, 2, 3],
                created_at_ms: 1,
                updated_at_ms: 1,
            },
            "escrow",
            &serde_json::json!({}),
        )
        .await
        .unwrap();
        s.sequence_event(event("#identity", did)).await.unwrap();
    }

    s.delete_account(ALICE).await.unwrap();
    assert!(s.devices_of(ALICE).await.unwrap().is_empty());
    assert!(s.escrow_share_ids(ALICE).await.unwrap().is_empty());
    assert!(s.key_events(ALICE, 0, 100).await.unwrap().is_empty());
    assert_eq!(s.devices_of(BOB).await.unwrap().len(), 1);
    assert_eq!(s.escrow_share_ids(BOB).await.unwrap().len(), 1);
    assert!(!s.key_events(BOB, 0, 100).await.unwrap().is_empty());
    let events = s.events_after(0, 100).await.unwrap();
    assert!(events.iter().all(|e| e.did != ALICE), "{events:?}");
    assert!(events.iter().any(|e| e.did == BOB));
}
