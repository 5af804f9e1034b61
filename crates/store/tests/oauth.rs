//! The OAuth tables: single-use codes, refresh-token rotation as compare-and-swap with replay
//! detection, cascades when an account goes, device sign-ins, pruning.

mod common;

use store::oauth::{OAuthDevice, OAuthRequest, OAuthSession, OAuthStore, RefreshLookup};
use store::Store;

fn request(id: &str, challenge: &str, expires_at: i64) -> OAuthRequest {
    OAuthRequest {
        id: id.into(),
        client_id: "https://app.example/meta.json".into(),
        client_auth: r#"{"method":"none"}"#.into(),
        params: "{}".into(),
        dpop_jkt: "jkt".into(),
        code_challenge: challenge.into(),
        state: format!("state-{id}"),
        expires_at,
        did: None,
        device_id: None,
        code: None,
        code_used: false,
    }
}

fn session(id: &str, did: &str, refresh: &str, code: &str) -> OAuthSession {
    OAuthSession {
        id: id.into(),
        did: did.into(),
        client_id: "https://app.example/meta.json".into(),
        client_auth: r#"{"method":"none"}"#.into(),
        dpop_jkt: "jkt".into(),
        scope: "atproto".into(),
        device_id: None,
        code: Some(code.into()),
        refresh_token: refresh.into(),
        refresh_expires_at: 2_000,
        created_at: 1_000,
        updated_at: 1_000,
        expires_at: Some(3_000),
    }
}

#[tokio::test]
async fn codes_are_single_use_and_challenges_remembered() {
    let s = common::store().await;
    common::account(&s, "did:plc:alice", "alice.test").await;
    s.put_oauth_request(request("r1", "chal-1", 1_300))
        .await
        .unwrap();
    assert!(s.code_challenge_seen("chal-1").await.unwrap());
    assert!(!s.code_challenge_seen("chal-2").await.unwrap());
    assert!(s
        .state_seen("https://app.example/meta.json", "state-r1")
        .await
        .unwrap());
    assert!(!s
        .state_seen("https://other.example/meta.json", "state-r1")
        .await
        .unwrap());
    assert!(s
        .approve_oauth_request("r1", "did:plc:alice", None, "code-1", 1_060)
        .await
        .unwrap());
    // Approving twice (a double submit) does not issue a second code.
    assert!(!s
        .approve_oauth_request("r1", "did:plc:alice", None, "code-2", 1_060)
        .await
        .unwrap());
    let r = s.oauth_request_by_code("code-1").await.unwrap().unwrap();
    assert_eq!(
        (r.did.as_deref(), r.code_used),
        (Some("did:plc:alice"), false)
    );
    assert!(s.use_oauth_code("code-1").await.unwrap());
    assert!(!s.use_oauth_code("code-1").await.unwrap());
    assert!(
        s.oauth_request_by_code("code-1")
            .await
            .unwrap()
            .unwrap()
            .code_used
    );
    assert!(!s.use_oauth_code("never-issued").await.unwrap());
}

#[tokio::test]
async fn refresh_rotation_is_compare_and_swap_and_remembers_used_tokens() {
    let s = common::store().await;
    common::account(&s, "did:plc:alice", "alice.test").await;
    s.create_oauth_session(session("s1", "did:plc:alice", "ref-1", "c1"))
        .await
        .unwrap();
    assert!(
        matches!(s.oauth_session_by_refresh("ref-1").await.unwrap(), RefreshLookup::Current(x) if x.id == "s1")
    );
    assert!(s
        .rotate_oauth_refresh("s1", "ref-1", "ref-2", 2_500, 1_100)
        .await
        .unwrap());
    // A second rotation from the same old token loses (two concurrent refreshes).
    assert!(!s
        .rotate_oauth_refresh("s1", "ref-1", "ref-3", 2_500, 1_100)
        .await
        .unwrap());
    assert_eq!(
        s.oauth_session_by_refresh("ref-1").await.unwrap(),
        RefreshLookup::Used {
            session_id: "s1".into()
        }
    );
    let current = s.oauth_session("s1").await.unwrap().unwrap();
    assert_eq!(
        (current.refresh_token.as_str(), current.updated_at),
        ("ref-2", 1_100)
    );
    assert_eq!(
        s.oauth_session_by_refresh("nope").await.unwrap(),
        RefreshLookup::Unknown
    );
    // Revoking the session forgets its used tokens too.
    s.delete_oauth_session("s1").await.unwrap();
    assert_eq!(
        s.oauth_session_by_refresh("ref-1").await.unwrap(),
        RefreshLookup::Unknown
    );
}

#[tokio::test]
async fn sessions_by_code_by_account_and_cascades() {
    let s = common::store().await;
    common::account(&s, "did:plc:alice", "alice.test").await;
    common::account(&s, "did:plc:bob", "bob.test").await;
    s.create_oauth_session(session("a1", "did:plc:alice", "ra1", "c1"))
        .await
        .unwrap();
    s.create_oauth_session(session("a2", "did:plc:alice", "ra2", "c2"))
        .await
        .unwrap();
    s.create_oauth_session(session("b1", "did:plc:bob", "rb1", "c3"))
        .await
        .unwrap();
    assert_eq!(
        s.list_oauth_sessions("did:plc:alice").await.unwrap().len(),
        2
    );
    s.delete_oauth_sessions_by_code("c1").await.unwrap();
    assert!(s.oauth_session("a1").await.unwrap().is_none());
    s.delete_oauth_sessions_for("did:plc:alice").await.unwrap();
    assert!(s
        .list_oauth_sessions("did:plc:alice")
        .await
        .unwrap()
        .is_empty());
    assert!(s.oauth_session("b1").await.unwrap().is_some());
    // Deleting the account takes its sessions and device sign-ins with it.
    s.put_oauth_device(OAuthDevice {
        id: "d1".into(),
        secret_hash: "h".into(),
        user_agent: None,
        ip: None,
        created_at: 1,
        last_seen_at: 1,
    })
    .await
    .unwrap();
    s.add_device_account("d1", "did:plc:bob", 5).await.unwrap();
    s.add_device_account("d1", "did:plc:alice", 7)
        .await
        .unwrap();
    assert_eq!(
        s.device_accounts("d1").await.unwrap(),
        vec![
            ("did:plc:alice".to_owned(), 7),
            ("did:plc:bob".to_owned(), 5)
        ]
    );
    s.delete_account("did:plc:bob").await.unwrap();
    assert!(s.oauth_session("b1").await.unwrap().is_none());
    assert_eq!(
        s.device_accounts("d1").await.unwrap(),
        vec![("did:plc:alice".to_owned(), 7)]
    );
    s.remove_device_account("d1", "did:plc:alice")
        .await
        .unwrap();
    assert!(s.device_accounts("d1").await.unwrap().is_empty());
}

#[tokio::test]
async fn pruning_keeps_what_is_still_needed() {
    let s = common::store().await;
    common::account(&s, "did:plc:alice", "alice.test").await;
    s.put_oauth_request(request("old", "c-old", 100))
        .await
        .unwrap();
    s.put_oauth_request(request("new", "c-new", 10_000))
        .await
        .unwrap();
    s.create_oauth_session(session("live", "did:plc:alice", "r-live", "x"))
        .await
        .unwrap();
    let mut ended = session("ended", "did:plc:alice", "r-ended", "y");
    ended.refresh_expires_at = 500;
    s.create_oauth_session(ended).await.unwrap();
    s.put_oauth_device(OAuthDevice {
        id: "idle".into(),
        secret_hash: "h".into(),
        user_agent: None,
        ip: None,
        created_at: 1,
        last_seen_at: 1,
    })
    .await
    .unwrap();
    s.put_oauth_device(OAuthDevice {
        id: "seen".into(),
        secret_hash: "h".into(),
        user_agent: None,
        ip: None,
        created_at: 1,
        last_seen_at: 900,
    })
    .await
    .unwrap();
    let gone = s.prune_oauth(1_000, 200, 50).await.unwrap();
    assert_eq!(gone, 3);
    assert!(s.oauth_request("old").await.unwrap().is_none());
    assert!(s.oauth_request("new").await.unwrap().is_some());
    assert!(s.oauth_session("ended").await.unwrap().is_none());
    assert!(s.oauth_session("live").await.unwrap().is_some());
    assert!(s.oauth_device("idle").await.unwrap().is_none());
    assert!(s.oauth_device("seen").await.unwrap().is_some());
}
