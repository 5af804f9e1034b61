//! `com.atproto.sync.subscribeRepos`: the firehose over WebSocket.
//!
//! Every event is persisted, with its complete binary frame, before anyone sees it
//! (`Store::apply_commit` / `Store::sequence_event`), so serving a subscriber is copying stored
//! frames to a socket in seq order. A connection has three parts:
//!
//! - the **producer** (this task) decides what to send: the backlog after the cursor, read from
//!   the store in pages, then live events from `Store::subscribe`. It subscribes *before*
//!   reading the backlog and skips live events at or below the last seq it sent, so the switch
//!   from backlog to live has no gap and no duplicate. If the live channel overflows (the
//!   producer itself fell behind), it catches up from the store again: events are durable, so
//!   nothing is lost and memory stays bounded.
//! - the **writer** task owns the socket's sending half and a bounded queue of frames
//!   (`PDS_MAX_SUBSCRIPTION_BUFFER`, 500 by default, as the reference). When a live event finds
//!   that queue full, the consumer is too slow: it gets a `ConsumerTooSlow` error frame and the
//!   connection closes, as the lexicon allows.
//! - the **reader** reads and ignores what the client sends (event-stream spec: servers ignore
//!   client frames), which also answers pings and notices a close.
//!
//! Cursor rules (event-stream spec, and the reference's behaviour where they differ, checklist
//! §19): no cursor → live only; a cursor above the last seq → `FutureCursor` error frame, then
//! close; otherwise events with seq **greater than** the cursor (the cursor is the last seq the
//! client has); when the event after the cursor is older than the backfill window
//! (`PDS_REPO_BACKFILL_LIMIT_MS`, 72 h by default) → an `#info` `OutdatedCursor` frame, then the
//! whole window.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, Method};
use axum::response::Response;
use data::{cbor, Map, Value};
use futures_util::{SinkExt, StreamExt};
use store::Store;
use tokio::sync::{broadcast, mpsc, oneshot};
use xrpc::com::atproto::sync::subscribe_repos;
use xrpc::XrpcError;

use crate::app::AppState;
use crate::http::error_response;

/// Events read from the store per query while catching up (frames can be large; keep pages small).
const PAGE: usize = 100;
/// A server ping this often keeps idle connections (and the proxies between) alive.
const PING_INTERVAL: Duration = Duration::from_secs(30);
/// How long a consumer may refuse a frame while catching up before it counts as stalled.
const STALL_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a final error frame (and the close) may take to go out before the socket is dropped.
const FINAL_FRAME_GRACE: Duration = Duration::from_secs(5);
/// Clients have nothing to send but pings and closes; cap what is read from them.
const MAX_CLIENT_MESSAGE: usize = 64 * 1024;

/// Upgrades a subscription request (called by the HTTP edge for every subscription NSID).
pub async fn upgrade(state: Arc<AppState>, nsid: &str, query: &str, mut parts: Parts) -> Response {
    if parts.method != Method::GET {
        return error_response(&XrpcError::new(
            405,
            "InvalidRequest",
            format!("Incorrect HTTP method ({}) expected GET", parts.method),
        ));
    }
    let wants_websocket = parts
        .headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !wants_websocket {
        return error_response(&XrpcError::new(
            426,
            "InvalidRequest",
            format!("{nsid} is an event stream: connect with a WebSocket (Upgrade: websocket)"),
        ));
    }
    if nsid != subscribe_repos::NSID {
        return error_response(&XrpcError::method_not_implemented(nsid));
    }
    let ws = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(ws) => ws,
        Err(rejection) => {
            return error_response(&XrpcError::invalid_request(rejection.body_text()));
        }
    };
    let params = subscribe_repos::Params::from_query(query);
    let settings = Settings {
        buffer: state.config.max_subscription_buffer.max(1),
        backfill_window_ms: state.config.repo_backfill_limit_ms,
    };
    ws.max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| serve(socket, state, params, settings))
}

#[derive(Clone, Copy, Debug)]
struct Settings {
    /// Frames queued for one connection before its consumer counts as too slow.
    buffer: usize,
    /// How far back a cursor may reach, in milliseconds.
    backfill_window_ms: u64,
}

/// What the producer hands the writer.
enum Outgoing {
    /// A stored event frame.
    Event(Arc<Vec<u8>>),
    /// A frame that ends the stream (an error frame); the writer sends it and closes.
    Last(Vec<u8>),
    /// A frame that does not end the stream (`#info`).
    Info(Vec<u8>),
}

/// Why the producer stopped.
enum Stop {
    /// The writer is gone (the socket failed or closed).
    WriterGone,
    /// Send this error frame, then close.
    Error(Vec<u8>),
    /// The consumer cannot keep up.
    TooSlow,
}

async fn serve(
    socket: WebSocket,
    state: Arc<AppState>,
    params: Result<subscribe_repos::Params, XrpcError>,
    settings: Settings,
) {
    let (sink, mut stream) = socket.split();
    let (tx, rx) = mpsc::channel(settings.buffer);
    let (too_slow_tx, too_slow_rx) = oneshot::channel();
    let mut writer = tokio::spawn(write_loop(sink, rx, too_slow_rx));

    let produce = async {
        let stop = match params {
            Ok(params) => produce(&state, params.cursor, &tx, settings).await,
            Err(e) => Stop::Error(error_frame(&e.error, e.message.as_deref())),
        };
        match stop {
            Stop::WriterGone => {}
            Stop::Error(frame) => {
                let _ = tx.send(Outgoing::Last(frame)).await;
            }
            Stop::TooSlow => {
                let _ = too_slow_tx.send(error_frame(
                    subscribe_repos::Error::ConsumerTooSlow.name(),
                    Some("Stream consumer too slow"),
                ));
            }
        }
        drop(tx);
    };
    let read = async {
        while let Some(message) = stream.next().await {
            match message {
                Ok(Message::Close(_)) | Err(_) => break,
                // Pings are answered by the WebSocket layer; anything else is ignored.
                Ok(_) => {}
            }
        }
    };
    tokio::select! {
        // The client went away: nothing more to send.
        _ = read => writer.abort(),
        // The producer finished (an error frame, a slow consumer, a dead writer): let the
        // writer deliver what it holds, within bounds.
        _ = produce => {
            if tokio::time::timeout(FINAL_FRAME_GRACE * 2, &mut writer).await.is_err() {
                writer.abort();
            }
        }
        // The writer failed on its own (the socket broke).
        _ = &mut writer => {}
    }
}

/// Sends the backlog after `cursor`, then live events, until something stops the stream.
async fn produce(
    state: &AppState,
    cursor: Option<i64>,
    tx: &mpsc::Sender<Outgoing>,
    settings: Settings,
) -> Stop {
    match produce_inner(state, cursor, tx, settings).await {
        Ok(stop) => stop,
        Err(e) => {
            eprintln!("firehose: {e}");
            Stop::Error(error_frame(
                "InternalServerError",
                Some("Internal Server Error"),
            ))
        }
    }
}

async fn produce_inner(
    state: &AppState,
    cursor: Option<i64>,
    tx: &mpsc::Sender<Outgoing>,
    settings: Settings,
) -> store::Result<Stop> {
    // Subscribe first: whatever becomes durable from now on is in `live`, everything before
    // it is in the store; the two overlap and `last` removes the overlap.
    let mut live = state.store.subscribe();
    let mut last = match cursor {
        // Live only: from the current position on.
        None => state.store.last_seq().await?,
        Some(cursor) => {
            let head = state.store.last_seq().await?;
            if cursor > head {
                return Ok(Stop::Error(error_frame(
                    subscribe_repos::Error::FutureCursor.name(),
                    Some("Cursor in the future."),
                )));
            }
            let mut from = cursor.max(0);
            let window_start = now_ms().saturating_sub(settings.backfill_window_ms as i64);
            let next = state.store.events_after(from, 1).await?;
            if next.first().is_some_and(|e| e.time_ms < window_start) {
                let info = info_frame(
                    "OutdatedCursor",
                    "Requested cursor exceeded limit. Possibly missing events",
                );
                if tx.send(Outgoing::Info(info)).await.is_err() {
                    return Ok(Stop::WriterGone);
                }
                from = match state.store.first_seq_since(window_start).await? {
                    Some(first) => first - 1,
                    None => head,
                };
            }
            if let Some(stop) = catch_up(state, &mut from, tx).await? {
                return Ok(stop);
            }
            from
        }
    };
    loop {
        match live.recv().await {
            Ok(event) => {
                if event.seq <= last {
                    continue;
                }
                match tx.try_send(Outgoing::Event(event.frame)) {
                    Ok(()) => last = event.seq,
                    Err(mpsc::error::TrySendError::Full(_)) => return Ok(Stop::TooSlow),
                    Err(mpsc::error::TrySendError::Closed(_)) => return Ok(Stop::WriterGone),
                }
            }
            Err(broadcast::error::RecvError::Lagged(_)) => {
                // This task fell behind the live channel; the events are in the store.
                if let Some(stop) = catch_up(state, &mut last, tx).await? {
                    return Ok(stop);
                }
            }
            Err(broadcast::error::RecvError::Closed) => {
                return Ok(Stop::Error(error_frame(
                    "InternalServerError",
                    Some("The event stream is shutting down"),
                )));
            }
        }
    }
}

/// Sends stored events after `*last` until the store has no more, advancing `*last`.
/// Waits for the consumer (backpressure), up to [`STALL_TIMEOUT`] per frame.
async fn catch_up(
    state: &AppState,
    last: &mut i64,
    tx: &mpsc::Sender<Outgoing>,
) -> store::Result<Option<Stop>> {
    loop {
        let page = state.store.events_after(*last, PAGE).await?;
        let full = page.len() == PAGE;
        for event in page {
            match tokio::time::timeout(STALL_TIMEOUT, tx.send(Outgoing::Event(event.frame))).await {
                Ok(Ok(())) => *last = event.seq,
                Ok(Err(_)) => return Ok(Some(Stop::WriterGone)),
                Err(_) => return Ok(Some(Stop::TooSlow)),
            }
        }
        if !full {
            return Ok(None);
        }
    }
}

/// Sends queued frames, pings when idle, and delivers a final error frame when asked to.
async fn write_loop<S>(
    mut sink: S,
    mut rx: mpsc::Receiver<Outgoing>,
    mut too_slow: oneshot::Receiver<Vec<u8>>,
) where
    S: futures_util::Sink<Message> + Unpin,
{
    let mut ping = tokio::time::interval(PING_INTERVAL);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ping.tick().await;
    let mut too_slow_open = true;
    loop {
        let next = tokio::select! {
            biased;
            frame = &mut too_slow, if too_slow_open => match frame {
                Ok(frame) => return send_last(&mut sink, frame).await,
                Err(_) => {
                    too_slow_open = false;
                    continue;
                }
            },
            next = rx.recv() => next,
            _ = ping.tick() => {
                if sink.send(Message::Ping(Bytes::new())).await.is_err() {
                    return;
                }
                continue;
            }
        };
        let message = match next {
            None => {
                let _ = tokio::time::timeout(FINAL_FRAME_GRACE, sink.close()).await;
                return;
            }
            Some(Outgoing::Last(frame)) => return send_last(&mut sink, frame).await,
            Some(Outgoing::Info(frame)) => Message::Binary(Bytes::from(frame)),
            Some(Outgoing::Event(frame)) => Message::Binary(Bytes::from_owner(StoredFrame(frame))),
        };
        // A consumer that stops reading blocks this send; the producer notices the queue
        // filling up and says so through `too_slow`, which must not wait behind it.
        let mut send = Box::pin(sink.send(message));
        let sent = loop {
            tokio::select! {
                biased;
                frame = &mut too_slow, if too_slow_open => match frame {
                    Ok(frame) => {
                        drop(send);
                        return send_last(&mut sink, frame).await;
                    }
                    Err(_) => too_slow_open = false,
                },
                sent = &mut send => break sent,
            }
        };
        if sent.is_err() {
            return;
        }
        ping.reset();
    }
}

/// Sends a final frame and closes, giving up on a consumer that does not take it in time.
async fn send_last<S>(sink: &mut S, frame: Vec<u8>)
where
    S: futures_util::Sink<Message> + Unpin,
{
    let _ = tokio::time::timeout(FINAL_FRAME_GRACE, async {
        if sink.send(Message::Binary(Bytes::from(frame))).await.is_ok() {
            let _ = sink.close().await;
        }
    })
    .await;
}

/// A stored frame, shared with the live channel and every other subscriber, sent without a copy.
struct StoredFrame(Arc<Vec<u8>>);

impl AsRef<[u8]> for StoredFrame {
    fn as_ref(&self) -> &[u8] {
        self.0.as_slice()
    }
}

/// An error frame: header `{op: -1}`, body `{error, message?}` (event-stream spec, Framing).
pub fn error_frame(error: &str, message: Option<&str>) -> Vec<u8> {
    let mut header = Map::new();
    header.insert("op".into(), Value::Int(-1));
    let mut body = Map::new();
    body.insert("error".into(), Value::String(error.to_owned()));
    if let Some(message) = message {
        body.insert("message".into(), Value::String(message.to_owned()));
    }
    frame(header, body)
}

/// An `#info` frame (com.atproto.sync.subscribeRepos#info): `{op: 1, t: "#info"}`, `{name, message}`.
pub fn info_frame(name: &str, message: &str) -> Vec<u8> {
    let mut header = Map::new();
    header.insert("op".into(), Value::Int(1));
    header.insert("t".into(), Value::String("#info".into()));
    let mut body = Map::new();
    body.insert("name".into(), Value::String(name.to_owned()));
    body.insert("message".into(), Value::String(message.to_owned()));
    frame(header, body)
}

fn frame(header: Map, body: Map) -> Vec<u8> {
    let mut out = cbor::encode(&Value::Map(header));
    cbor::encode_into(&Value::Map(body), &mut out);
    out
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// How often the event log is trimmed to the backfill window.
const PRUNE_INTERVAL: Duration = Duration::from_secs(10 * 60);

/// Drops events older than the backfill window (`PDS_REPO_BACKFILL_LIMIT_MS`, default 72 h) from
/// the log; a cursor older than that gets `OutdatedCursor` and the window, so nothing a consumer
/// may still ask for is removed. Returns how many events went.
pub async fn prune_old_events(state: &AppState, now_ms: i64) -> Result<u64, store::StoreError> {
    let window = i64::try_from(state.config.repo_backfill_limit_ms).unwrap_or(i64::MAX);
    state
        .store
        .prune_events(now_ms.saturating_sub(window))
        .await
}

/// Trims the event log every few minutes, so the disk it takes stays bounded.
pub fn spawn_pruner(state: Arc<AppState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(PRUNE_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match prune_old_events(&state, now_ms()).await {
                Ok(0) => {}
                Ok(n) => println!("firehose: pruned {n} events older than the backfill window"),
                Err(e) => eprintln!("firehose: pruning the event log failed (retrying later): {e}"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_and_info_frames_are_two_cbor_objects() {
        let bytes = error_frame("FutureCursor", Some("Cursor in the future."));
        let (header, used) = cbor::decode_prefix(&bytes).unwrap();
        let body = cbor::decode(&bytes[used..]).unwrap();
        let Value::Map(header) = header else {
            panic!("header")
        };
        assert_eq!(header.get("op"), Some(&Value::Int(-1)));
        assert!(!header.contains_key("t"));
        let Value::Map(body) = body else {
            panic!("body")
        };
        assert_eq!(
            body.get("error"),
            Some(&Value::String("FutureCursor".into()))
        );

        let bytes = info_frame("OutdatedCursor", "old");
        let (header, used) = cbor::decode_prefix(&bytes).unwrap();
        let Value::Map(header) = header else {
            panic!("header")
        };
        assert_eq!(header.get("t"), Some(&Value::String("#info".into())));
        let Value::Map(body) = cbor::decode(&bytes[used..]).unwrap() else {
            panic!("body")
        };
        assert_eq!(
            body.get("name"),
            Some(&Value::String("OutdatedCursor".into()))
        );
    }
}
