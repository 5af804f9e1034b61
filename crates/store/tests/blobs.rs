//! Blob metadata (temporary → referenced → unreferenced) and the disk blob store.

mod common;

use common::{account, blob_meta, hand_commit, store};
use data::Cid;
use store::blobstore::{BlobStore, BlobUpload, CidHasher, DiskBlobStore};
use store::sqlite::TempDir;
use store::{Store, StoreError};

const POST: &str = "app.bsky.feed.post";
const ALICE: &str = "did:plc:alice";

#[tokio::test]
async fn blob_reference_lifecycle() {
    let s = store().await;
    account(&s, ALICE, "alice.test").await;
    let bytes = b"a picture";
    let cid = Cid::for_raw(bytes);

    // Uploaded: temporary, not listed.
    s.put_temp_blob(ALICE, blob_meta(bytes, "2026-11-25T00:00:00.000Z"))
        .await
        .unwrap();
    let meta = s.blob_meta(ALICE, &cid).await.unwrap().unwrap();
    assert!(meta.temporary);
    assert_eq!(meta.size, bytes.len() as i64);
    assert_eq!(meta.mime_type, "image/png");
    assert!(s
        .list_blobs(ALICE, None, None, 100)
        .await
        .unwrap()
        .is_empty());

    // Referenced by a record: permanent and listed.
    let c1 = hand_commit(
        ALICE,
        None,
        "3kaaaaaaaaa22",
        &[(POST, "a", Some("one"), vec![cid])],
        vec![],
    );
    s.apply_commit(c1.write).await.unwrap();
    assert!(!s.blob_meta(ALICE, &cid).await.unwrap().unwrap().temporary);
    assert_eq!(
        s.list_blobs(ALICE, None, None, 100).await.unwrap(),
        vec![cid]
    );

    // Shared by a second record.
    let c2 = hand_commit(
        ALICE,
        Some(c1.head),
        "3kaaaaaaaaa33",
        &[(POST, "b", Some("two"), vec![cid])],
        vec![],
    );
    s.apply_commit(c2.write).await.unwrap();

    // One record deleted: the blob survives.
    let c3 = hand_commit(
        ALICE,
        Some(c2.head),
        "3kaaaaaaaaa44",
        &[(POST, "a", None, vec![])],
        vec![],
    );
    s.apply_commit(c3.write).await.unwrap();
    assert!(s.take_unreferenced_blobs(ALICE).await.unwrap().is_empty());
    assert!(s.blob_meta(ALICE, &cid).await.unwrap().is_some());
    assert_eq!(
        s.list_blobs(ALICE, None, None, 100).await.unwrap(),
        vec![cid]
    );

    // An update that drops the reference counts as losing it, too.
    let c4 = hand_commit(
        ALICE,
        Some(c3.head),
        "3kaaaaaaaaa55",
        &[(POST, "b", Some("two, no picture"), vec![])],
        vec![],
    );
    s.apply_commit(c4.write).await.unwrap();
    assert!(s
        .list_blobs(ALICE, None, None, 100)
        .await
        .unwrap()
        .is_empty());
    // Unreferenced blobs are not expired as temporary uploads.
    assert!(s
        .take_expired_temp_blobs(i64::MAX)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(s.take_unreferenced_blobs(ALICE).await.unwrap(), vec![cid]);
    assert!(s.blob_meta(ALICE, &cid).await.unwrap().is_none());
    assert!(s.take_unreferenced_blobs(ALICE).await.unwrap().is_empty());

    // Gone from the index: referencing it again needs a new upload.
    let c5 = hand_commit(
        ALICE,
        Some(c4.head),
        "3kaaaaaaaaa66",
        &[(POST, "c", Some("three"), vec![cid])],
        vec![],
    );
    let err = s.apply_commit(c5.write).await.unwrap_err();
    assert!(
        matches!(err, StoreError::BlobNotFound(c) if c == cid),
        "{err:?}"
    );
}

#[tokio::test]
async fn reupload_is_a_no_op_for_referenced_blobs_and_revives_unreferenced_ones() {
    let s = store().await;
    account(&s, ALICE, "alice.test").await;
    let bytes = b"shared";
    let cid = Cid::for_raw(bytes);
    s.put_temp_blob(ALICE, blob_meta(bytes, "2026-11-25T00:00:00.000Z"))
        .await
        .unwrap();
    let c1 = hand_commit(
        ALICE,
        None,
        "3kaaaaaaaaa22",
        &[(POST, "a", Some("one"), vec![cid])],
        vec![],
    );
    s.apply_commit(c1.write).await.unwrap();

    s.put_temp_blob(ALICE, blob_meta(bytes, "2026-11-26T00:00:00.000Z"))
        .await
        .unwrap();
    let meta = s.blob_meta(ALICE, &cid).await.unwrap().unwrap();
    assert!(!meta.temporary);
    assert_eq!(meta.created_at, "2026-11-25T00:00:00.000Z");

    // Unreferenced, then uploaded again before the sweep: it is a fresh temporary upload
    // and the sweep leaves it alone.
    let c2 = hand_commit(
        ALICE,
        Some(c1.head),
        "3kaaaaaaaaa33",
        &[(POST, "a", None, vec![])],
        vec![],
    );
    s.apply_commit(c2.write).await.unwrap();
    s.put_temp_blob(ALICE, blob_meta(bytes, "2026-11-27T00:00:00.000Z"))
        .await
        .unwrap();
    assert!(s.take_unreferenced_blobs(ALICE).await.unwrap().is_empty());
    let meta = s.blob_meta(ALICE, &cid).await.unwrap().unwrap();
    assert!(meta.temporary);
    assert_eq!(meta.created_at, "2026-11-27T00:00:00.000Z");
}

#[tokio::test]
async fn temporary_blobs_expire() {
    let s = store().await;
    account(&s, ALICE, "alice.test").await;
    account(&s, "did:plc:bob", "bob.test").await;
    // 2026-11-25T00:00:00Z
    let t0 = 1_795_564_800;
    s.put_temp_blob(ALICE, blob_meta(b"old", "2026-11-25T00:00:00.000Z"))
        .await
        .unwrap();
    s.put_temp_blob("did:plc:bob", blob_meta(b"old", "2026-11-25T00:00:00.000Z"))
        .await
        .unwrap();
    s.put_temp_blob(ALICE, blob_meta(b"new", "2026-11-25T00:59:00.000Z"))
        .await
        .unwrap();
    let err = s
        .put_temp_blob(
            "did:plc:nobody",
            blob_meta(b"x", "2026-11-25T00:00:00.000Z"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::AccountNotFound), "{err:?}");

    // Not before the TTL.
    assert!(s.take_expired_temp_blobs(t0).await.unwrap().is_empty());
    let mut taken = s.take_expired_temp_blobs(t0 + 60).await.unwrap();
    taken.sort();
    assert_eq!(
        taken,
        vec![
            ("did:plc:alice".to_string(), Cid::for_raw(b"old")),
            ("did:plc:bob".to_string(), Cid::for_raw(b"old"))
        ]
    );
    assert!(s
        .blob_meta(ALICE, &Cid::for_raw(b"old"))
        .await
        .unwrap()
        .is_none());
    assert!(s
        .blob_meta(ALICE, &Cid::for_raw(b"new"))
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        s.take_expired_temp_blobs(t0 + 3600).await.unwrap(),
        vec![("did:plc:alice".to_string(), Cid::for_raw(b"new"))]
    );
}

#[tokio::test]
async fn list_blobs_pages_and_since() {
    let s = store().await;
    account(&s, ALICE, "alice.test").await;
    let blobs: Vec<Vec<u8>> = (0..7).map(|i| format!("blob {i}").into_bytes()).collect();
    for b in &blobs {
        s.put_temp_blob(ALICE, blob_meta(b, "2026-11-25T00:00:00.000Z"))
            .await
            .unwrap();
    }
    let cids: Vec<Cid> = blobs.iter().map(|b| Cid::for_raw(b)).collect();
    let c1 = hand_commit(
        ALICE,
        None,
        "3kaaaaaaaaa22",
        &[(POST, "a", Some("one"), cids[..4].to_vec())],
        vec![],
    );
    s.apply_commit(c1.write).await.unwrap();
    let c2 = hand_commit(
        ALICE,
        Some(c1.head),
        "3kaaaaaaaaa33",
        &[(POST, "b", Some("two"), cids[4..6].to_vec())],
        vec![],
    );
    s.apply_commit(c2.write).await.unwrap();
    // cids[6] stays temporary.

    let mut expected = cids[..6].to_vec();
    expected.sort();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = s
            .list_blobs(ALICE, None, cursor.as_deref(), 4)
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        cursor = Some(page.last().unwrap().to_string());
        seen.extend(page);
    }
    assert_eq!(seen, expected);

    let mut since = s
        .list_blobs(ALICE, Some("3kaaaaaaaaa22"), None, 100)
        .await
        .unwrap();
    since.sort();
    let mut want = cids[4..6].to_vec();
    want.sort();
    assert_eq!(since, want);
    assert!(s
        .list_blobs(ALICE, None, Some("not a cid"), 10)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn disk_blob_store_round_trip() {
    let dir = TempDir::new().unwrap();
    let blobs = DiskBlobStore::open(dir.path().join("blobs")).await.unwrap();

    // Streamed in pieces; the CID is computed on the way.
    let mut upload = blobs.begin_upload(ALICE).await.unwrap();
    upload.write(b"hello ").await.unwrap();
    upload.write(b"world").await.unwrap();
    assert_eq!(upload.size(), 11);
    let stored = upload.finish().await.unwrap();
    assert_eq!(stored.cid, Cid::for_raw(b"hello world"));
    assert_eq!(stored.size, 11);
    assert_eq!(
        blobs.blob_path(ALICE, &stored.cid),
        dir.path()
            .join("blobs")
            .join(ALICE)
            .join(stored.cid.to_string())
    );

    let mut hasher = CidHasher::new();
    hasher.update(b"hello world");
    assert_eq!(hasher.finish(), stored);

    assert_eq!(
        blobs.get_bytes(ALICE, &stored.cid).await.unwrap(),
        Some(b"hello world".to_vec())
    );
    let reader = blobs.open(ALICE, &stored.cid).await.unwrap().unwrap();
    assert_eq!(reader.size, 11);
    // Per account.
    assert_eq!(
        blobs.get_bytes("did:plc:bob", &stored.cid).await.unwrap(),
        None
    );

    // Uploading the same bytes again is harmless.
    assert_eq!(
        blobs.put_bytes(ALICE, b"hello world").await.unwrap(),
        stored
    );

    // An abandoned upload leaves nothing behind.
    let mut abandoned = blobs.begin_upload(ALICE).await.unwrap();
    abandoned.write(b"partial").await.unwrap();
    drop(abandoned);
    let tmp_entries = std::fs::read_dir(dir.path().join("blobs").join(".tmp"))
        .unwrap()
        .count();
    assert_eq!(tmp_entries, 0);
    assert_eq!(
        blobs
            .get_bytes(ALICE, &Cid::for_raw(b"partial"))
            .await
            .unwrap(),
        None
    );

    blobs.delete(ALICE, &stored.cid).await.unwrap();
    assert_eq!(blobs.get_bytes(ALICE, &stored.cid).await.unwrap(), None);
    blobs.delete(ALICE, &stored.cid).await.unwrap();

    let other = blobs.put_bytes(ALICE, b"other").await.unwrap();
    blobs.delete_account(ALICE).await.unwrap();
    assert_eq!(blobs.get_bytes(ALICE, &other.cid).await.unwrap(), None);
    assert!(!dir.path().join("blobs").join(ALICE).exists());
    blobs.delete_account(ALICE).await.unwrap();

    // A DID that is not a plain path component gets a hashed directory inside the root.
    let odd = "did:web:../../etc";
    let b = blobs.put_bytes(odd, b"x").await.unwrap();
    let path = blobs.blob_path(odd, &b.cid);
    assert!(path.starts_with(dir.path().join("blobs")));
    assert!(path
        .parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("did-sha256-"));
    assert_eq!(
        blobs.get_bytes(odd, &b.cid).await.unwrap(),
        Some(b"x".to_vec())
    );
}

#[tokio::test]
async fn a_blob_kept_by_an_update_stays_referenced_since_its_first_rev() {
    let s = store().await;
    account(&s, ALICE, "alice.test").await;
    let (a, b) = (b"kept".as_slice(), b"added".as_slice());
    for bytes in [a, b] {
        s.put_temp_blob(ALICE, blob_meta(bytes, "2026-11-25T00:00:00.000Z"))
            .await
            .unwrap();
    }
    let (a, b) = (Cid::for_raw(a), Cid::for_raw(b));
    let c1 = hand_commit(
        ALICE,
        None,
        "3kaaaaaaaaa22",
        &[(POST, "p", Some("v1"), vec![a])],
        vec![],
    );
    s.apply_commit(c1.write).await.unwrap();
    // The new version keeps `a` (listed twice, which is harmless) and adds `b`.
    let c2 = hand_commit(
        ALICE,
        Some(c1.head),
        "3kaaaaaaaaa33",
        &[(POST, "p", Some("v2"), vec![a, b, a])],
        vec![],
    );
    s.apply_commit(c2.write).await.unwrap();
    assert_eq!(
        s.list_blobs(ALICE, Some("3kaaaaaaaaa22"), None, 10)
            .await
            .unwrap(),
        vec![b]
    );
    let mut all = s.list_blobs(ALICE, None, None, 10).await.unwrap();
    all.sort();
    let mut want = vec![a, b];
    want.sort();
    assert_eq!(all, want);
    assert!(s.take_unreferenced_blobs(ALICE).await.unwrap().is_empty());
}
