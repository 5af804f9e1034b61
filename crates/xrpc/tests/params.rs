//! Param parsing through the generated `Params::from_query` functions.

use xrpc::com::atproto::{admin, label, repo, server, sync};
use xrpc::XrpcError;

const DID: &str = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
const CID_A: &str = "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm";
const CID_B: &str = "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a";

/// Asserts an `InvalidRequest` whose message names `param`.
fn assert_invalid(result: Result<impl std::fmt::Debug, XrpcError>, param: &str) -> String {
    let err = result.expect_err("should be rejected");
    assert_eq!(err.error, "InvalidRequest");
    assert_eq!(err.status, 400);
    let message = err.message.expect("has a message");
    assert!(
        message.contains(&format!("\"{param}\"")),
        "message {message:?} names {param}"
    );
    message
}

#[test]
fn missing_required_param_is_named() {
    let message = assert_invalid(
        repo::get_record::Params::from_query(
            "repo=alice.example.com&collection=app.bsky.feed.post",
        ),
        "rkey",
    );
    assert!(message.contains("required"), "{message}");
    assert_invalid(sync::get_latest_commit::Params::from_query(""), "did");
    // An empty value is treated as absent.
    assert_invalid(sync::get_latest_commit::Params::from_query("did="), "did");
}

#[test]
fn all_required_params_present() {
    let p = repo::get_record::Params::from_query(&format!(
        "repo={DID}&collection=app.bsky.feed.post&rkey=3jzfcijpj2z2a&cid={CID_A}"
    ))
    .unwrap();
    assert_eq!(p.repo, DID);
    assert_eq!(p.collection, "app.bsky.feed.post");
    assert_eq!(p.rkey, "3jzfcijpj2z2a");
    assert_eq!(p.cid.as_deref(), Some(CID_A));
}

#[test]
fn integer_bounds_are_enforced() {
    let base = "repo=alice.example.com&collection=app.bsky.feed.post";
    for bad in ["0", "101", "-5"] {
        let message = assert_invalid(
            repo::list_records::Params::from_query(&format!("{base}&limit={bad}")),
            "limit",
        );
        assert!(
            message.contains("at least 1") || message.contains("at most 100"),
            "{message}"
        );
    }
    assert_invalid(
        repo::list_records::Params::from_query(&format!("{base}&limit=ten")),
        "limit",
    );
    for ok in [1, 100] {
        let p = repo::list_records::Params::from_query(&format!("{base}&limit={ok}")).unwrap();
        assert_eq!(p.limit, ok);
    }
}

#[test]
fn default_limit_is_applied() {
    let p = repo::list_records::Params::from_query(
        "repo=alice.example.com&collection=app.bsky.feed.post",
    )
    .unwrap();
    assert_eq!(p.limit, 50);
    assert_eq!(p.cursor, None);
    assert_eq!(p.reverse, None);
    assert_eq!(sync::list_repos::Params::from_query("").unwrap().limit, 500);
    assert_eq!(
        admin::get_invite_codes::Params::from_query("")
            .unwrap()
            .limit,
        100
    );
}

#[test]
fn string_and_boolean_defaults() {
    let p = admin::get_invite_codes::Params::from_query("").unwrap();
    assert_eq!(p.sort, "recent");
    let p = server::get_account_invite_codes::Params::from_query("").unwrap();
    assert!(p.include_used && p.create_available);
    let p = server::get_account_invite_codes::Params::from_query("includeUsed=false").unwrap();
    assert!(!p.include_used);
    assert_invalid(
        server::get_account_invite_codes::Params::from_query("includeUsed=yes"),
        "includeUsed",
    );
}

#[test]
fn bad_did_is_rejected() {
    for bad in ["notadid", "did:plc", "DID:plc:abc", "did:plc:abc%20def"] {
        let message = assert_invalid(
            sync::get_latest_commit::Params::from_query(&format!("did={bad}")),
            "did",
        );
        assert!(message.contains("did"), "{message}");
    }
    let p = sync::get_latest_commit::Params::from_query(&format!("did={DID}")).unwrap();
    assert_eq!(p.did, DID);
}

#[test]
fn other_formats_are_checked() {
    assert_invalid(
        repo::list_records::Params::from_query("repo=alice.example.com&collection=not%20an%20nsid"),
        "collection",
    );
    assert_invalid(
        repo::list_records::Params::from_query("repo=-bad-&collection=app.bsky.feed.post"),
        "repo",
    );
    assert_invalid(
        sync::get_blob::Params::from_query(&format!("did={DID}&cid=nope")),
        "cid",
    );
    assert_invalid(
        sync::list_blobs::Params::from_query(&format!("did={DID}&since=not-a-tid")),
        "since",
    );
}

#[test]
fn repeated_keys_fill_array_params() {
    let p = sync::get_blocks::Params::from_query(&format!("did={DID}&cids={CID_A}&cids={CID_B}"))
        .unwrap();
    assert_eq!(p.cids, [CID_A, CID_B]);

    // Required array with no values.
    assert_invalid(
        sync::get_blocks::Params::from_query(&format!("did={DID}")),
        "cids",
    );
    // Each item is validated.
    assert_invalid(
        sync::get_blocks::Params::from_query(&format!("did={DID}&cids={CID_A}&cids=junk")),
        "cids",
    );

    let p = label::query_labels::Params::from_query(
        "uriPatterns=at%3A%2F%2Fdid%3Aplc%3Aabc%2F*&uriPatterns=https%3A%2F%2Fexample.com%2F",
    )
    .unwrap();
    assert_eq!(
        p.uri_patterns,
        ["at://did:plc:abc/*", "https://example.com/"]
    );
    assert!(p.sources.is_empty());
    assert_eq!(p.limit, 50);
}

#[test]
fn scalar_param_given_twice_is_rejected() {
    assert_invalid(
        sync::get_latest_commit::Params::from_query(&format!("did={DID}&did={DID}")),
        "did",
    );
}

#[test]
fn unknown_params_are_ignored() {
    let p = sync::get_latest_commit::Params::from_query(&format!("did={DID}&extra=1")).unwrap();
    assert_eq!(p.did, DID);
}
