//! `com.atproto.sync.subscribeRepos` over a real WebSocket: replay from a cursor then live
//! events with no gap and no duplicate, every `#commit` checked by operation inversion and
//! signature against the account's DID document, reconnecting with the last seq, the cursor
//! rules (none, future, outdated), a consumer that stops reading, and the HTTP answers to
//! requests that are not WebSocket upgrades.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{TestAccount, TestRelay};
use data::{cbor, Cid, Map, Value};
use futures_util::{SinkExt, StreamExt};
use repo::car::{read_car, CarLimits};
use repo::{verify_commit_diff, Action, RecordOp, SignedCommit};
use serde_json::{json, Value as Json};
use store::{EventDraft, Store};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const POST: &str = "app.bsky.feed.post";
const WAIT: Duration = Duration::from_secs(10);

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One frame of the stream, decoded.
#[derive(Debug)]
enum Frame {
    Event { seq: i64, kind: String, body: Map },
    Info { name: String },
    Error { error: String },
}

fn stream_url(relay: &TestRelay, cursor: Option<i64>) -> String {
    let mut url = format!(
        "ws://127.0.0.1:{}/xrpc/com.atproto.sync.subscribeRepos",
        relay.port
    );
    if let Some(cursor) = cursor {
        url.push_str(&format!("?cursor={cursor}"));
    }
    url
}

async fn subscribe(relay: &TestRelay, cursor: Option<i64>) -> Ws {
    let (ws, response) = tokio_tungstenite::connect_async(stream_url(relay, cursor))
        .await
        .expect("the WebSocket upgrade succeeds");
    assert_eq!(response.status().as_u16(), 101);
    ws
}

/// Decodes a binary frame: exactly two DAG-CBOR objects, a header and a body, nothing after.
fn decode(bytes: &[u8]) -> Frame {
    let (header, used) = cbor::decode_prefix(bytes).expect("a CBOR header");
    let body = cbor::decode(&bytes[used..]).expect("exactly one CBOR body after the header");
    let (Value::Map(header), Value::Map(body)) = (header, body) else {
        panic!("header and body are maps");
    };
    let text = |m: &Map, k: &str| {
        m.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    match header.get("op") {
        Some(Value::Int(-1)) => {
            assert!(!header.contains_key("t"), "error headers carry no type");
            Frame::Error {
                error: text(&body, "error"),
            }
        }
        Some(Value::Int(1)) => {
            let kind = text(&header, "t");
            if kind == "#info" {
                return Frame::Info {
                    name: text(&body, "name"),
                };
            }
            assert!(!body.contains_key("$type"), "payloads omit $type");
            let Some(Value::Int(seq)) = body.get("seq") else {
                panic!("{kind} without seq")
            };
            Frame::Event {
                seq: *seq,
                kind,
                body,
            }
        }
        other => panic!("unknown op {other:?}"),
    }
}

/// The next frame, `None` when the stream closes; panics after `wait` without one.
async fn next_frame(ws: &mut Ws, wait: Duration) -> Option<Frame> {
    loop {
        let message = tokio::time::timeout(wait, ws.next())
            .await
            .expect("a frame or a close in time");
        match message {
            None | Some(Ok(Message::Close(_))) | Some(Err(_)) => return None,
            Some(Ok(Message::Binary(bytes))) => return Some(decode(&bytes)),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(other)) => panic!("unexpected message {other:?}"),
        }
    }
}

/// Asserts that nothing arrives for a while.
async fn assert_quiet(ws: &mut Ws, wait: Duration) {
    if let Ok(Some(Ok(Message::Binary(bytes)))) = tokio::time::timeout(wait, ws.next()).await {
        panic!("unexpected frame {:?}", decode(&bytes));
    }
}

/// Reads event frames until one with `seq >= last`; returns them all.
async fn read_until(ws: &mut Ws, last: i64) -> Vec<(i64, String, Map)> {
    let mut out = Vec::new();
    loop {
        match next_frame(ws, WAIT).await {
            Some(Frame::Event { seq, kind, body }) => {
                out.push((seq, kind, body));
                if seq >= last {
                    return out;
                }
            }
            other => panic!("expected an event, got {other:?}"),
        }
    }
}

async fn create_post(relay: &TestRelay, who: &TestAccount, text: &str) -> (String, String) {
    let record = json!({"$type": POST, "text": text, "createdAt": "2026-11-25T12:00:00.000Z"});
    let (status, body) = relay
        .post(
            "com.atproto.repo.createRecord",
            &json!({"repo": who.did, "collection": POST, "record": record}),
            Some(&who.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let rkey = body["uri"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    (rkey, body["cid"].as_str().unwrap().to_owned())
}

async fn put_post(relay: &TestRelay, who: &TestAccount, rkey: &str, text: &str) -> String {
    let record = json!({"$type": POST, "text": text, "createdAt": "2026-11-25T12:00:00.000Z"});
    let (status, body) = relay
        .post(
            "com.atproto.repo.putRecord",
            &json!({"repo": who.did, "collection": POST, "rkey": rkey, "record": record}),
            Some(&who.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["cid"].as_str().unwrap().to_owned()
}

async fn delete_post(relay: &TestRelay, who: &TestAccount, rkey: &str) {
    let (status, body) = relay
        .post(
            "com.atproto.repo.deleteRecord",
            &json!({"repo": who.did, "collection": POST, "rkey": rkey}),
            Some(&who.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn last_seq(relay: &TestRelay) -> i64 {
    relay.state.store.last_seq().await.unwrap()
}

/// Checks `#commit` events the way a relay in strict mode does: per repo, each commit is signed
/// by the key of the DID document, names itself as the diff's root, carries its rev, chains to
/// the previous commit (`since`, `prevData`), and its ops invert to `prevData`.
#[derive(Default)]
struct CommitChecker {
    keys: HashMap<String, crypto::PublicKey>,
    /// Per repo: the last rev and MST root seen.
    last: HashMap<String, (String, Cid)>,
    checked: usize,
}

impl CommitChecker {
    async fn check(&mut self, relay: &TestRelay, body: &Map) {
        let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
        let link = |k: &str| match body.get(k) {
            Some(Value::Link(cid)) => Some(*cid),
            _ => None,
        };
        let did = text("repo").expect("repo");
        if !self.keys.contains_key(&did) {
            let key = relay.signing_key(&did).await;
            self.keys.insert(did.clone(), key);
        }
        let key = &self.keys[&did];
        assert_eq!(body.get("rebase"), Some(&Value::Bool(false)));
        assert_eq!(body.get("tooBig"), Some(&Value::Bool(false)));
        assert_eq!(body.get("blobs"), Some(&Value::Array(Vec::new())));
        assert!(text("time").is_some());
        let Some(Value::Bytes(blocks)) = body.get("blocks") else {
            panic!("blocks")
        };
        let Some(Value::Array(ops)) = body.get("ops") else {
            panic!("ops")
        };
        let ops: Vec<RecordOp> = ops.iter().map(record_op).collect();
        let commit_cid = link("commit").expect("commit");
        let rev = text("rev").expect("rev");
        let commit = match link("prevData") {
            Some(prev_data) => {
                let verified = verify_commit_diff(blocks, &ops, prev_data, Some(&did), Some(key))
                    .unwrap_or_else(|e| {
                        panic!("commit {commit_cid} of {did} fails inversion: {e}")
                    });
                assert_eq!(verified.cid, commit_cid);
                if let Some((_, last_data)) = self.last.get(&did) {
                    assert_eq!(
                        prev_data, *last_data,
                        "prevData chains to the previous commit"
                    );
                }
                verified.commit
            }
            None => {
                // The first commit of a repo: nothing before it to invert to.
                assert!(
                    !self.last.contains_key(&did),
                    "only a repo's first commit lacks prevData"
                );
                assert!(ops.is_empty());
                let car = read_car(blocks, CarLimits::default()).expect("a CAR");
                assert_eq!(car.roots.first(), Some(&commit_cid));
                let bytes = &car
                    .blocks
                    .iter()
                    .find(|(c, _)| *c == commit_cid)
                    .expect("the commit block")
                    .1;
                let commit = SignedCommit::from_bytes(bytes).expect("a signed commit");
                commit.verify(key).expect("signed by the account's key");
                commit
            }
        };
        assert_eq!(commit.rev().to_string(), rev);
        assert_eq!(commit.did(), did);
        match self.last.get(&did) {
            Some((last_rev, _)) => {
                assert_eq!(
                    text("since").as_deref(),
                    Some(last_rev.as_str()),
                    "since is the previous rev"
                );
                assert!(rev > *last_rev, "revs increase");
            }
            // The repo's first commit has no previous rev; for a later one this checker has
            // not seen the previous commit, so there is nothing to compare.
            None if link("prevData").is_none() => assert_eq!(body.get("since"), Some(&Value::Null)),
            None => assert!(text("since").is_some()),
        }
        self.last.insert(did, (rev, commit.data()));
        self.checked += 1;
    }
}

fn record_op(value: &Value) -> RecordOp {
    let Value::Map(op) = value else {
        panic!("op is a map")
    };
    let cid = |k: &str| match op.get(k) {
        Some(Value::Link(cid)) => Some(*cid),
        None | Some(Value::Null) => None,
        Some(other) => panic!("{k} is {other:?}"),
    };
    RecordOp {
        action: Action::parse(op.get("action").and_then(Value::as_str).unwrap()).unwrap(),
        path: op.get("path").and_then(Value::as_str).unwrap().to_owned(),
        cid: cid("cid"),
        prev: cid("prev"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_from_zero_then_live_without_gaps_or_duplicates() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let bob = relay.create_account("bob").await;
    let mut rkeys = Vec::new();
    for i in 0..3 {
        rkeys.push(create_post(&relay, &alice, &format!("post {i}")).await);
    }
    let updated = put_post(&relay, &alice, &rkeys[0].0, "edited").await;
    delete_post(&relay, &alice, &rkeys[1].0).await;
    create_post(&relay, &bob, "hi").await;
    let last = last_seq(&relay).await;
    let stored: Vec<i64> = relay
        .events()
        .await
        .into_iter()
        .map(|(seq, _, _)| seq)
        .collect();

    let mut ws = subscribe(&relay, Some(0)).await;
    let replayed = read_until(&mut ws, last).await;
    let seqs: Vec<i64> = replayed.iter().map(|(seq, _, _)| *seq).collect();
    assert_eq!(seqs, stored, "the replay is the stored log, in order, once");
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));

    let mut checker = CommitChecker::default();
    let mut kinds: HashMap<String, Vec<String>> = HashMap::new();
    for (_, kind, body) in &replayed {
        let did = body
            .get("repo")
            .or_else(|| body.get("did"))
            .and_then(Value::as_str)
            .unwrap()
            .to_owned();
        kinds.entry(did).or_default().push(kind.clone());
        if kind == "#commit" {
            checker.check(&relay, body).await;
        }
    }
    assert_eq!(checker.checked, 2 + 3 + 1 + 1 + 1);
    assert_eq!(
        kinds[&alice.did][..3],
        ["#identity", "#account", "#commit"].map(String::from)
    );
    // The update names the version it replaced; the delete has no new CID.
    let alice_ops: Vec<RecordOp> = replayed
        .iter()
        .filter(|(_, kind, body)| {
            kind == "#commit" && body.get("repo").and_then(Value::as_str) == Some(&alice.did)
        })
        .flat_map(|(_, _, body)| match body.get("ops") {
            Some(Value::Array(ops)) => ops.iter().map(record_op).collect::<Vec<_>>(),
            _ => Vec::new(),
        })
        .collect();
    let update = alice_ops
        .iter()
        .find(|op| op.action == Action::Update)
        .expect("an update");
    assert_eq!(update.prev.map(|c| c.to_string()), Some(rkeys[0].1.clone()));
    assert_eq!(update.cid.map(|c| c.to_string()), Some(updated));
    let delete = alice_ops
        .iter()
        .find(|op| op.action == Action::Delete)
        .expect("a delete");
    assert_eq!(delete.prev.map(|c| c.to_string()), Some(rkeys[1].1.clone()));
    assert_eq!(delete.cid, None);

    // Caught up: the next write arrives live, once, right after the replay.
    assert_quiet(&mut ws, Duration::from_millis(300)).await;
    create_post(&relay, &alice, "live").await;
    let live = read_until(&mut ws, last + 1).await;
    assert_eq!(live.len(), 1);
    let (seq, kind, body) = &live[0];
    assert_eq!((*seq, kind.as_str()), (last_seq(&relay).await, "#commit"));
    assert!(*seq > last);
    checker.check(&relay, body).await;
    assert_quiet(&mut ws, Duration::from_millis(300)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_with_the_last_seq_resumes_right_after_it() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let carol = relay.create_account("carol").await;
    for i in 0..4 {
        create_post(&relay, &carol, &format!("post {i}")).await;
    }
    let stored: Vec<i64> = relay
        .events()
        .await
        .into_iter()
        .map(|(seq, _, _)| seq)
        .collect();
    let last = *stored.last().unwrap();

    // A first connection reads part of the log and goes away.
    let mut ws = subscribe(&relay, Some(0)).await;
    let middle = stored[stored.len() / 2];
    let first = read_until(&mut ws, middle).await;
    assert_eq!(first.last().unwrap().0, middle);
    drop(ws);

    // Reconnecting with the last seq received: everything after it, nothing twice.
    let mut ws = subscribe(&relay, Some(middle)).await;
    let rest: Vec<i64> = read_until(&mut ws, last)
        .await
        .into_iter()
        .map(|(seq, _, _)| seq)
        .collect();
    let expected: Vec<i64> = stored.iter().copied().filter(|seq| *seq > middle).collect();
    assert_eq!(rest, expected);

    // At the head: nothing to replay, then live.
    let mut ws = subscribe(&relay, Some(last)).await;
    assert_quiet(&mut ws, Duration::from_millis(300)).await;
    create_post(&relay, &carol, "next").await;
    let next = read_until(&mut ws, last + 1).await;
    assert_eq!(next.len(), 1);
    assert!(next[0].0 > last);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_future_cursor_gets_an_error_frame_then_close() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    relay.create_account("dave").await;
    let last = last_seq(&relay).await;
    let mut ws = subscribe(&relay, Some(last + 100)).await;
    match next_frame(&mut ws, WAIT).await {
        Some(Frame::Error { error }) => assert_eq!(error, "FutureCursor"),
        other => panic!("expected FutureCursor, got {other:?}"),
    }
    assert!(
        next_frame(&mut ws, WAIT).await.is_none(),
        "the stream closes after an error"
    );

    // A cursor that is not an integer is an error frame too, not a broken upgrade.
    let (mut ws, _) = tokio_tungstenite::connect_async(format!(
        "ws://127.0.0.1:{}/xrpc/com.atproto.sync.subscribeRepos?cursor=soon",
        relay.port
    ))
    .await
    .unwrap();
    match next_frame(&mut ws, WAIT).await {
        Some(Frame::Error { error }) => assert_eq!(error, "InvalidRequest"),
        other => panic!("expected InvalidRequest, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_cursor_is_live_only_and_pings_are_answered() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let erin = relay.create_account("erin").await;
    create_post(&relay, &erin, "before").await;
    let before = last_seq(&relay).await;
    let mut ws = subscribe(&relay, None).await;
    assert_quiet(&mut ws, Duration::from_millis(300)).await;

    ws.send(Message::Ping(b"are you there".to_vec().into()))
        .await
        .unwrap();
    let pong = tokio::time::timeout(WAIT, ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(pong, Message::Pong(b"are you there".to_vec().into()));
    // Whatever else a client sends is ignored.
    ws.send(Message::Text("hello".into())).await.unwrap();

    create_post(&relay, &erin, "after").await;
    let live = read_until(&mut ws, before + 1).await;
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].1, "#commit");
    assert!(live[0].0 > before);
    let mut checker = CommitChecker::default();
    // The checker has not seen earlier commits; only the signature and inversion apply.
    checker.check(&relay, &live[0].2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_that_are_not_websocket_upgrades_get_http_errors() {
    // No PLC directory is needed: nothing here makes an account.
    let relay = TestRelay::start_with_plc("http://localhost:9", &[]).await;
    let url = relay.xrpc_url("com.atproto.sync.subscribeRepos");
    let response = relay.http.get(&url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 426);
    let body: Json = response.json().await.expect("an XRPC error body");
    assert!(
        body["error"].is_string() && body["message"].is_string(),
        "{body}"
    );
    let response = relay.http.post(&url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 405);
    let body: Json = response.json().await.expect("an XRPC error body");
    assert!(body["error"].is_string(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_that_stops_reading_gets_consumer_too_slow() {
    let Some(relay) = TestRelay::start_with(&["--max-subscription-buffer", "2"]).await else {
        return;
    };
    let frank = relay.create_account("frank").await;
    // A client with a small receive window that does not read: the server's socket buffers
    // fill, then its two-frame queue, then it gives up on the client.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket
        .connect(format!("127.0.0.1:{}", relay.port).parse().unwrap())
        .await
        .unwrap();
    let (mut ws, _) =
        tokio_tungstenite::client_async(stream_url(&relay, None), MaybeTlsStream::Plain(stream))
            .await
            .unwrap();
    const EVENTS: usize = 60;
    for _ in 0..EVENTS {
        let mut body = Map::new();
        body.insert("did".into(), Value::String(frank.did.clone()));
        body.insert(
            "time".into(),
            Value::String("2026-11-25T12:00:00.000Z".into()),
        );
        body.insert("padding".into(), Value::Bytes(vec![7u8; 256 * 1024]));
        relay
            .state
            .store
            .sequence_event(EventDraft {
                kind: "#identity",
                did: frank.did.clone(),
                body,
            })
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut delivered = 0;
    loop {
        match next_frame(&mut ws, WAIT).await {
            Some(Frame::Event { .. }) => delivered += 1,
            Some(Frame::Error { error }) => {
                assert_eq!(error, "ConsumerTooSlow");
                break;
            }
            other => {
                panic!("expected events then ConsumerTooSlow, got {other:?} after {delivered}")
            }
        }
    }
    assert!(
        delivered < EVENTS,
        "the slow consumer was dropped before the end"
    );
    assert!(
        next_frame(&mut ws, WAIT).await.is_none(),
        "and the stream closes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outdated_cursor_gets_an_info_frame_then_the_window() {
    let Some(relay) = TestRelay::start_with(&["--repo-backfill-limit-ms", "1500"]).await else {
        return;
    };
    let grace = relay.create_account("grace").await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    create_post(&relay, &grace, "recent").await;
    let recent = last_seq(&relay).await;
    for cursor in [0, 1] {
        let mut ws = subscribe(&relay, Some(cursor)).await;
        match next_frame(&mut ws, WAIT).await {
            Some(Frame::Info { name }) => assert_eq!(name, "OutdatedCursor"),
            other => panic!("expected #info OutdatedCursor, got {other:?}"),
        }
        let window = read_until(&mut ws, recent).await;
        assert_eq!(window.iter().map(|e| e.0).collect::<Vec<_>>(), vec![recent]);
    }
    // A cursor inside the window replays without the notice.
    let mut ws = subscribe(&relay, Some(recent - 1)).await;
    let window = read_until(&mut ws, recent).await;
    assert_eq!(window.len(), 1);
}

/// The event log is trimmed to the backfill window: events inside it stay, older ones go, and
/// the seq keeps counting up.
#[tokio::test]
async fn the_event_log_is_pruned_to_the_backfill_window() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    create_post(&relay, &alice, "kept").await;
    let before = relay.events().await;
    assert!(before.len() >= 4, "{before:?}");
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;

    // now: everything is inside the window
    let pruned = relay::firehose::prune_old_events(&relay.state, now_ms)
        .await
        .unwrap();
    assert_eq!(pruned, 0);
    assert_eq!(relay.events().await.len(), before.len());

    // a window later: all of it is outside
    let window = relay.state.config.repo_backfill_limit_ms as i64;
    let pruned = relay::firehose::prune_old_events(&relay.state, now_ms + window + 1_000)
        .await
        .unwrap();
    assert_eq!(pruned as usize, before.len());
    assert!(relay.events().await.is_empty());

    // new events still get higher seqs than anything pruned
    create_post(&relay, &alice, "after").await;
    let after = relay.events().await;
    assert!(!after.is_empty());
    assert!(after[0].0 > before.last().unwrap().0);
}
