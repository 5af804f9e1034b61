//! The HTTP edge: CORS for browser clients, and strict cursors.

mod common;

use common::TestRelay;

#[tokio::test]
async fn browsers_get_cors_preflights_and_headers() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let url = format!("{}/xrpc/com.atproto.server.createSession", relay.url);
    let response = relay
        .http
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", "https://bsky.app")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type,atproto-accept-labelers,atproto-proxy",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let h = response.headers();
    assert_eq!(h["access-control-allow-origin"], "*");
    assert!(h["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
    assert_eq!(
        h["access-control-allow-headers"],
        "authorization,content-type,atproto-accept-labelers,atproto-proxy"
    );

    // ordinary requests carry the allow-origin header too, errors included
    for path in [
        "/xrpc/com.atproto.server.describeServer",
        "/xrpc/com.atproto.repo.getRecord",
    ] {
        let response = relay
            .http
            .get(format!("{}{path}", relay.url))
            .header("origin", "https://bsky.app")
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()["access-control-allow-origin"],
            "*",
            "{path}"
        );
    }
}

#[tokio::test]
async fn list_repos_refuses_a_malformed_cursor() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let response = relay
        .http
        .get(format!(
            "{}/xrpc/com.atproto.sync.listRepos?cursor=not-a-cursor",
            relay.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "InvalidRequest");
    assert_eq!(body["message"], "Malformed cursor");
}

/// The data directory (database with password hashes and sealed keys, blobs, secrets) is the
/// relay user's alone.
#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let data = &relay.state.config.data_dir;
    let mode = std::fs::metadata(data).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "{}", data.display());
    let secrets = std::fs::metadata(data.join("secrets"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(secrets, 0o700);
}
