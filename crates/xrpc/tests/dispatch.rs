//! The generated dispatcher and handler traits, driven with a small handler.

use std::future::Future;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use xrpc::app::bsky::actor::{get_preferences, put_preferences, AppBskyActorHandler};
use xrpc::com::atproto::admin::ComAtprotoAdminHandler;
use xrpc::com::atproto::identity::ComAtprotoIdentityHandler;
use xrpc::com::atproto::label::ComAtprotoLabelHandler;
use xrpc::com::atproto::lexicon::ComAtprotoLexiconHandler;
use xrpc::com::atproto::moderation::ComAtprotoModerationHandler;
use xrpc::com::atproto::repo::{create_record, get_record, upload_blob, ComAtprotoRepoHandler};
use xrpc::com::atproto::server::ComAtprotoServerHandler;
use xrpc::com::atproto::sync::{get_repo, ComAtprotoSyncHandler};
use xrpc::com::atproto::temp::ComAtprotoTempHandler;
use xrpc::{atrium_api, dispatch, RawBody, XrpcError, XrpcRequest, XrpcResponse};

const DID: &str = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
const CID: &str = "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm";

/// The handlers here never wait, so polling once with a no-op waker is enough.
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// Per-request context: who is calling.
struct Caller(&'static str);

#[derive(Default)]
struct Relay {
    log: Mutex<Vec<String>>,
}

impl Relay {
    fn note(&self, s: String) {
        self.log.lock().unwrap().push(s);
    }
}

impl ComAtprotoRepoHandler<Caller> for Relay {
    async fn create_record(
        &self,
        ctx: Caller,
        input: create_record::Input,
    ) -> Result<create_record::Output, XrpcError> {
        self.note(format!(
            "{} createRecord {} {}",
            ctx.0,
            input.repo.as_ref(),
            input.collection.as_str()
        ));
        Ok(atrium_api::com::atproto::repo::create_record::OutputData {
            cid: CID.parse().expect("cid"),
            commit: None,
            uri: format!("at://{DID}/app.bsky.feed.post/3jzfcijpj2z2a"),
            validation_status: Some("valid".to_owned()),
        }
        .into())
    }

    async fn get_record(
        &self,
        _ctx: Caller,
        params: get_record::Params,
    ) -> Result<get_record::Output, XrpcError> {
        Err(get_record::Error::RecordNotFound.with_message(params.rkey))
    }

    async fn upload_blob(
        &self,
        _ctx: Caller,
        input: upload_blob::Input,
    ) -> Result<upload_blob::Output, XrpcError> {
        self.note(format!(
            "uploadBlob {} {}",
            input.content_type,
            input.bytes.len()
        ));
        Err(XrpcError::payload_too_large("test handler keeps nothing"))
    }
}

impl ComAtprotoSyncHandler<Caller> for Relay {
    async fn get_repo(
        &self,
        _ctx: Caller,
        params: get_repo::Params,
    ) -> Result<get_repo::Output, XrpcError> {
        Ok(RawBody {
            content_type: "application/vnd.ipld.car".to_owned(),
            bytes: params.did.into_bytes(),
        })
    }
}

impl ComAtprotoServerHandler<Caller> for Relay {
    async fn delete_session(&self, ctx: Caller) -> Result<(), XrpcError> {
        self.note(format!("{} deleteSession", ctx.0));
        Ok(())
    }
}

impl AppBskyActorHandler<Caller> for Relay {
    async fn get_preferences(&self, _ctx: Caller) -> Result<get_preferences::Output, XrpcError> {
        Ok(get_preferences::Output {
            preferences: vec![serde_json::json!({
                "$type": "app.bsky.actor.defs#adultContentPref",
                "enabled": false
            })],
        })
    }

    async fn put_preferences(
        &self,
        _ctx: Caller,
        input: put_preferences::Input,
    ) -> Result<(), XrpcError> {
        self.note(format!("putPreferences {}", input.preferences.len()));
        Ok(())
    }
}

impl ComAtprotoAdminHandler<Caller> for Relay {}
impl ComAtprotoIdentityHandler<Caller> for Relay {}
impl ComAtprotoLabelHandler<Caller> for Relay {}
impl ComAtprotoLexiconHandler<Caller> for Relay {}
impl ComAtprotoModerationHandler<Caller> for Relay {}
impl ComAtprotoTempHandler<Caller> for Relay {}

fn call(
    relay: &Relay,
    nsid: &str,
    query: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<XrpcResponse, XrpcError> {
    let request = XrpcRequest {
        nsid,
        query,
        content_type,
        body: body.to_vec(),
    };
    block_on(dispatch(relay, Caller("alice"), request))
}

#[test]
fn json_procedure_round_trip_with_atrium_types() {
    let relay = Relay::default();
    let body = serde_json::json!({
        "repo": DID,
        "collection": "app.bsky.feed.post",
        "record": {"$type": "app.bsky.feed.post", "text": "hi", "createdAt": "2026-01-01T00:00:00Z"}
    });
    let response = call(
        &relay,
        "com.atproto.repo.createRecord",
        "",
        Some("application/json"),
        body.to_string().as_bytes(),
    )
    .unwrap();
    assert_eq!(response.content_type.as_deref(), Some("application/json"));
    let out: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(out["cid"], CID);
    assert_eq!(out["validationStatus"], "valid");
    assert_eq!(
        relay.log.lock().unwrap().as_slice(),
        [format!("alice createRecord {DID} app.bsky.feed.post")]
    );
}

#[test]
fn json_input_is_checked() {
    let relay = Relay::default();
    let nsid = "com.atproto.repo.createRecord";
    let missing_field = br#"{"repo":"did:plc:ewvi7nxzyoun6zhxrhs64oiz","record":{}}"#;
    // atrium's typed strings check formats inside the body.
    let bad_repo = br#"{"repo":"not a did","collection":"app.bsky.feed.post","record":{}}"#;
    for (content_type, body) in [
        (Some("text/plain"), &br#"{}"#[..]),
        (None, &br#"{}"#[..]),
        (Some("application/json"), &b"{"[..]),
        (Some("application/json"), &missing_field[..]),
        (Some("application/json"), &bad_repo[..]),
    ] {
        let err = call(&relay, nsid, "", content_type, body).unwrap_err();
        assert_eq!((err.status, &*err.error), (400, "InvalidRequest"), "{err}");
    }
    assert!(relay.log.lock().unwrap().is_empty());
}

#[test]
fn raw_input_and_output() {
    let relay = Relay::default();
    let err = call(
        &relay,
        "com.atproto.repo.uploadBlob",
        "",
        Some("image/png"),
        b"\x89PNG",
    )
    .unwrap_err();
    assert_eq!(err.status, 413);
    assert_eq!(
        relay.log.lock().unwrap().as_slice(),
        ["uploadBlob image/png 4"]
    );

    let response = call(
        &relay,
        "com.atproto.sync.getRepo",
        &format!("did={DID}"),
        None,
        b"",
    )
    .unwrap();
    assert_eq!(
        response.content_type.as_deref(),
        Some("application/vnd.ipld.car")
    );
    assert_eq!(response.body, DID.as_bytes());
}

#[test]
fn params_are_validated_before_the_handler() {
    let relay = Relay::default();
    let err = call(&relay, "com.atproto.sync.getRepo", "did=nope", None, b"").unwrap_err();
    assert_eq!(err.error, "InvalidRequest");
    assert!(err.message.unwrap().contains("\"did\""));
}

#[test]
fn procedure_without_input() {
    let relay = Relay::default();
    let response = call(&relay, "com.atproto.server.deleteSession", "", None, b"").unwrap();
    assert_eq!(response, XrpcResponse::empty());
    let err = call(
        &relay,
        "com.atproto.server.deleteSession",
        "",
        Some("application/json"),
        b"{}",
    )
    .unwrap_err();
    assert_eq!(err.error, "InvalidRequest");
    assert_eq!(
        relay.log.lock().unwrap().as_slice(),
        ["alice deleteSession"]
    );
}

#[test]
fn declared_error_from_handler() {
    let relay = Relay::default();
    let err = call(
        &relay,
        "com.atproto.repo.getRecord",
        &format!("repo={DID}&collection=app.bsky.feed.post&rkey=3jzfcijpj2z2a"),
        None,
        b"",
    )
    .unwrap_err();
    assert_eq!(err.status, 400);
    let body: serde_json::Value = serde_json::from_slice(&err.to_json()).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"error": "RecordNotFound", "message": "3jzfcijpj2z2a"})
    );
}

#[test]
fn unimplemented_unknown_and_subscription() {
    let relay = Relay::default();
    let err = call(&relay, "com.atproto.sync.listRepos", "", None, b"").unwrap_err();
    assert_eq!((err.status, &*err.error), (501, "MethodNotImplemented"));
    let err = call(&relay, "app.bsky.feed.getTimeline", "", None, b"").unwrap_err();
    assert_eq!((err.status, &*err.error), (404, "XRPCNotSupported"));
    let err = call(&relay, "com.atproto.sync.subscribeRepos", "", None, b"").unwrap_err();
    assert_eq!(err.error, "InvalidRequest");
}

#[test]
fn preferences_use_generated_types() {
    let relay = Relay::default();
    let response = call(&relay, "app.bsky.actor.getPreferences", "", None, b"").unwrap();
    let out: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(
        out["preferences"][0]["$type"],
        "app.bsky.actor.defs#adultContentPref"
    );
    call(
        &relay,
        "app.bsky.actor.putPreferences",
        "",
        Some("application/json"),
        &response.body,
    )
    .unwrap();
    assert_eq!(relay.log.lock().unwrap().as_slice(), ["putPreferences 1"]);
}

#[test]
fn dispatch_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let relay = Relay::default();
    let request = XrpcRequest {
        nsid: "com.atproto.server.deleteSession",
        query: "",
        content_type: None,
        body: Vec::new(),
    };
    let fut = dispatch(&relay, Caller("bob"), request);
    assert_send(&fut);
    block_on(fut).unwrap();
}
