//! Blobs over real HTTP: uploadBlob, records referencing blobs (existence, MIME type, size, the
//! lexicon's accept/maxSize), the lifecycle (temporary → referenced → shared → deleted), the
//! garbage collection of expired uploads, and listMissingBlobs.

mod common;

use common::{TestAccount, TestRelay};
use serde_json::{json, Value as Json};
use store::blobstore::BlobStore;
use store::Store;

const POST: &str = "app.bsky.feed.post";

async fn upload(relay: &TestRelay, who: &TestAccount, mime: &str, bytes: &[u8]) -> Json {
    let (status, body) = relay
        .post_bytes(
            "com.atproto.repo.uploadBlob",
            Some(mime),
            bytes.to_vec(),
            Some(&who.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["blob"].clone()
}

fn post_with_image(blob: &Json) -> Json {
    json!({
        "$type": POST,
        "text": "look",
        "createdAt": "2026-11-25T12:00:00.000Z",
        "embed": {"$type": "app.bsky.embed.images", "images": [{"image": blob, "alt": "a picture"}]},
    })
}

async fn put(relay: &TestRelay, who: &TestAccount, rkey: &str, record: Json) -> (u16, Json) {
    relay
        .post(
            "com.atproto.repo.putRecord",
            &json!({"repo": who.did, "collection": POST, "rkey": rkey, "record": record}),
            Some(&who.access_jwt),
        )
        .await
}

async fn delete(relay: &TestRelay, who: &TestAccount, rkey: &str) {
    let (status, body) = relay
        .post(
            "com.atproto.repo.deleteRecord",
            &json!({"repo": who.did, "collection": POST, "rkey": rkey}),
            Some(&who.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// A TID record key (posts take only TIDs), distinct per `n`.
fn tid(n: u64) -> String {
    syntax::Tid::from_parts(1_700_000_000_000_000 + n, 0)
        .unwrap()
        .to_string()
}

fn cid_of(blob: &Json) -> data::Cid {
    blob["ref"]["$link"].as_str().unwrap().parse().unwrap()
}

async fn has_bytes(relay: &TestRelay, did: &str, cid: &data::Cid) -> bool {
    relay
        .state
        .blobs
        .get_bytes(did, cid)
        .await
        .unwrap()
        .is_some()
}

async fn meta(relay: &TestRelay, did: &str, cid: &data::Cid) -> Option<store::BlobMeta> {
    relay.state.store.blob_meta(did, cid).await.unwrap()
}

fn png(n: u8) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend(std::iter::repeat_n(n, 100 + usize::from(n)));
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_returns_a_blob_ref() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let bytes = png(1);
    let (status, headers, body) = relay
        .post_bytes_with_headers(
            "com.atproto.repo.uploadBlob",
            Some("image/png"),
            bytes.clone(),
            Some(&alice.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let cid = data::Cid::for_raw(&bytes);
    assert_eq!(
        body,
        json!({"blob": {"$type": "blob", "ref": {"$link": cid.to_string()}, "mimeType": "image/png", "size": bytes.len()}})
    );
    assert!(cid.to_string().starts_with("bafkrei"));
    assert!(headers.get("atproto-repo-rev").is_some());
    let stored = meta(&relay, &alice.did, &cid).await.expect("metadata");
    assert!(stored.temporary);
    assert_eq!(stored.mime_type, "image/png");
    assert!(has_bytes(&relay, &alice.did, &cid).await);

    // The bytes' own type wins over the declared one, as in the reference (found by the oracle)…
    let blob = upload(&relay, &alice, "text/plain; charset=utf-8", &png(2)).await;
    assert_eq!(blob["mimeType"], "image/png");
    // …and bytes that show no type keep the declared one (parameters dropped).
    let blob = upload(&relay, &alice, "Text/Plain; charset=utf-8", b"just text").await;
    assert_eq!(blob["mimeType"], "text/plain");
    // Uploading the same bytes again changes nothing.
    let again = upload(&relay, &alice, "image/png", &bytes).await;
    assert_eq!(again, body["blob"]);
    // An empty-typed upload, no session, a missing Content-Type.
    let (status, body) = relay
        .post_bytes(
            "com.atproto.repo.uploadBlob",
            Some("image/png"),
            bytes.clone(),
            None,
        )
        .await;
    assert_eq!((status, body["error"].as_str()), (401, Some("AuthMissing")));
    let (status, body) = relay
        .post_bytes(
            "com.atproto.repo.uploadBlob",
            None,
            bytes,
            Some(&alice.access_jwt),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("InvalidRequest")),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_over_the_limit_are_refused() {
    let Some(relay) = TestRelay::start_with(&["--blob-upload-limit", "1000"]).await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let (status, body) = relay
        .post_bytes(
            "com.atproto.repo.uploadBlob",
            Some("image/png"),
            vec![7; 1001],
            Some(&alice.access_jwt),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (413, Some("PayloadTooLarge")),
        "{body}"
    );
    upload(&relay, &alice, "image/png", &[7; 1000]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_must_reference_matching_uploaded_blobs() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let bob = relay.create_account("bob").await;
    let blob = upload(&relay, &alice, "image/png", &png(3)).await;

    // Never uploaded.
    let mut missing = blob.clone();
    missing["ref"]["$link"] = json!(data::Cid::for_raw(b"nothing").to_string());
    let (status, body) = put(&relay, &alice, &tid(1), post_with_image(&missing)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("BlobNotFound")),
        "{body}"
    );
    // Uploaded by someone else.
    let (status, body) = put(&relay, &bob, &tid(1), post_with_image(&blob)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("BlobNotFound")),
        "{body}"
    );
    // Declared type or size not what was uploaded.
    let mut wrong_mime = blob.clone();
    wrong_mime["mimeType"] = json!("image/jpeg");
    let (status, body) = put(&relay, &alice, &tid(1), post_with_image(&wrong_mime)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("InvalidMimeType")),
        "{body}"
    );
    let mut wrong_size = blob.clone();
    wrong_size["size"] = json!(1);
    let (status, body) = put(&relay, &alice, &tid(1), post_with_image(&wrong_size)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("InvalidSize")),
        "{body}"
    );
    // The lexicon's accept: an image embed takes image/*, not text/plain.
    let text = upload(&relay, &alice, "text/plain", b"just text").await;
    let (status, body) = put(&relay, &alice, &tid(1), post_with_image(&text)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("InvalidRequest")),
        "{body}"
    );
    // A legacy ref.
    let legacy = json!({"cid": blob["ref"]["$link"], "mimeType": "image/png"});
    let (status, body) = put(&relay, &alice, &tid(1), post_with_image(&legacy)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("InvalidRequest")),
        "{body}"
    );
    // A ref with a dag-cbor CID is not a blob.
    let mut not_raw = blob.clone();
    not_raw["ref"]["$link"] = json!(data::Cid::for_dag_cbor(b"\xa0").to_string());
    let (status, body) = put(&relay, &alice, &tid(1), post_with_image(&not_raw)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("InvalidRequest")),
        "{body}"
    );

    let (status, body) = put(&relay, &alice, &tid(1), post_with_image(&blob)).await;
    assert_eq!(status, 200, "{body}");
    let cid = cid_of(&blob);
    assert!(
        !meta(&relay, &alice.did, &cid).await.unwrap().temporary,
        "referenced now"
    );
    let (status, listed) = relay
        .get(
            "com.atproto.sync.listBlobs",
            &format!("did={}", alice.did),
            None,
        )
        .await;
    if status == 200 {
        assert_eq!(listed["cids"], json!([cid.to_string()]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_lives_while_a_record_references_it() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let blob = upload(&relay, &alice, "image/png", &png(4)).await;
    let cid = cid_of(&blob);

    // Two records share the blob.
    assert_eq!(
        put(&relay, &alice, &tid(2), post_with_image(&blob)).await.0,
        200
    );
    assert_eq!(
        put(&relay, &alice, &tid(3), post_with_image(&blob)).await.0,
        200
    );
    // One goes: the blob stays.
    delete(&relay, &alice, &tid(2)).await;
    assert!(meta(&relay, &alice.did, &cid).await.is_some());
    assert!(has_bytes(&relay, &alice.did, &cid).await);
    // An update that drops the reference: the last one is gone, and so is the blob.
    let (status, body) = put(
        &relay,
        &alice,
        &tid(3),
        json!({"$type": POST, "text": "no picture", "createdAt": "2026-11-25T12:00:00.000Z"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(meta(&relay, &alice.did, &cid).await.is_none());
    assert!(!has_bytes(&relay, &alice.did, &cid).await);

    // Upload again, reference, delete the record: gone again.
    let blob = upload(&relay, &alice, "image/png", &png(4)).await;
    assert_eq!(
        put(&relay, &alice, &tid(4), post_with_image(&blob)).await.0,
        200
    );
    delete(&relay, &alice, &tid(4)).await;
    assert!(meta(&relay, &alice.did, &cid).await.is_none());
    assert!(!has_bytes(&relay, &alice.did, &cid).await);
    // A sweep finds nothing left over.
    let report = relay
        .state
        .collect_blob_garbage(syntax::Datetime::now().unix_seconds(), true)
        .await
        .unwrap();
    assert_eq!(report.unreferenced, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_blobs_expire_after_an_hour() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let kept = upload(&relay, &alice, "image/png", &png(5)).await;
    let dropped = upload(&relay, &alice, "image/png", &png(6)).await;
    assert_eq!(
        put(&relay, &alice, &tid(5), post_with_image(&kept)).await.0,
        200
    );
    let now = syntax::Datetime::now().unix_seconds();

    // 59 minutes on: still there, still referencable.
    assert_eq!(
        relay
            .state
            .delete_expired_temp_blobs(now + 59 * 60)
            .await
            .unwrap(),
        0
    );
    assert!(meta(&relay, &alice.did, &cid_of(&dropped)).await.is_some());

    // Past the hour: the unreferenced upload is gone (metadata and bytes), the referenced one
    // is not touched.
    let report = relay
        .state
        .collect_blob_garbage(now + 61 * 60, false)
        .await
        .unwrap();
    assert_eq!(report.expired, 1);
    assert!(meta(&relay, &alice.did, &cid_of(&dropped)).await.is_none());
    assert!(!has_bytes(&relay, &alice.did, &cid_of(&dropped)).await);
    assert!(has_bytes(&relay, &alice.did, &cid_of(&kept)).await);
    let (status, body) = put(&relay, &alice, &tid(6), post_with_image(&dropped)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("BlobNotFound")),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_missing_blobs_of_a_complete_account_is_empty() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let blob = upload(&relay, &alice, "image/png", &png(7)).await;
    assert_eq!(
        put(&relay, &alice, &tid(1), post_with_image(&blob)).await.0,
        200
    );
    let (status, body) = relay
        .get(
            "com.atproto.repo.listMissingBlobs",
            "",
            Some(&alice.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["blobs"], json!([]));
    let (status, body) = relay
        .get("com.atproto.repo.listMissingBlobs", "", None)
        .await;
    assert_eq!((status, body["error"].as_str()), (401, Some("AuthMissing")));
}

/// Sends a POST whose headers announce `length` bytes but only a few of them, and returns the
/// first line of whatever the relay answers within three seconds (`None` if it waits for the
/// rest of the body).
async fn answer_to_a_partial_body(
    relay: &TestRelay,
    nsid: &str,
    content_type: &str,
    auth: Option<&str>,
    length: u64,
) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", relay.port))
        .await
        .unwrap();
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "POST /xrpc/{nsid} HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\n\
         {auth}Content-Length: {length}\r\n\r\n"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&[0u8; 1000]).await.unwrap();
    let mut buf = vec![0u8; 256];
    match tokio::time::timeout(std::time::Duration::from_secs(3), socket.read(&mut buf)).await {
        Ok(Ok(n)) if n > 0 => Some(
            String::from_utf8_lossy(&buf[..n])
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned(),
        ),
        _ => None,
    }
}

/// The large-body methods (blobs, CAR imports) refuse a request without a valid session before
/// reading its body: an anonymous client must not make the relay buffer (or wait for) up to the
/// upload limit — a gigabyte for importRepo.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_bodies_are_not_read_without_a_session() {
    // No PLC directory is needed: nothing here makes an account.
    let relay = TestRelay::start_with_plc("http://localhost:9", &[]).await;
    for (nsid, content_type, length, auth) in [
        (
            "com.atproto.repo.importRepo",
            "application/vnd.ipld.car",
            1_000_000_000,
            None,
        ),
        ("com.atproto.repo.uploadBlob", "image/png", 4_000_000, None),
        (
            "com.atproto.repo.uploadBlob",
            "image/png",
            4_000_000,
            Some("Bearer not-a-token"),
        ),
    ] {
        let answer = answer_to_a_partial_body(&relay, nsid, content_type, auth, length).await;
        let status = answer.as_deref().and_then(|l| l.split(' ').nth(1));
        assert!(
            matches!(status, Some("400" | "401")),
            "{nsid} ({auth:?}) answered {answer:?}"
        );
    }
}
