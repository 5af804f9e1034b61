//! The authorization interface: sign in, choose an account, consent; and the session list where
//! a user sees which apps have access and revokes them.
//!
//! Plain HTML forms with inline CSS: no JavaScript, no external assets, labels on every field,
//! errors in `role="alert"` regions, visible focus. Every state change is a POST answered by a
//! 303 (post/redirect/get), and the final answer to the client is a server-side 303 to its
//! redirect URI, which the iOS web-authentication sheet follows.
//!
//! A browser is a *device*: a cookie `relay-device=<id>.<secret>` (HttpOnly, SameSite=Lax)
//! names it; the accounts signed in on it are in the store. Forms carry a CSRF token derived
//! from the device, and POSTs from another origin are refused.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use store::oauth::{OAuthDevice, OAuthRequest, OAuthStore};
use store::Store;

use super::client::parse_form;
use super::server::{AuthorizationParams, REQUEST_URI_PREFIX};
use super::tokens;
use crate::app::{AppState, Ctx};
use crate::auth::now_secs;

const DEVICE_COOKIE: &str = "relay-device";
/// A sign-in on a device counts for this long before consent asks for the password again.
const SIGN_IN_FRESH_SECS: i64 = 7 * 24 * 60 * 60;
const DEVICE_COOKIE_MAX_AGE: i64 = 365 * 24 * 60 * 60;

/// The peer address, when the server runs with connect info (it does; some tests do not).
pub struct Remote(Option<std::net::SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Remote {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Remote(
            parts
                .extensions
                .get::<ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0),
        ))
    }
}

/// HTML-escapes text for element content and quoted attributes.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #f6f7f9; --card: #fff; --muted: #57606a;
  --accent: #0a5bd3; --accent-fg: #fff; --border: #d0d7de; --danger: #b42318; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --card: #161b22;
  --muted: #9ba5b0; --accent: #4493f8; --accent-fg: #0d1117; --border: #30363d; --danger: #f47067; } }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg); background: var(--bg); }
main { max-width: 28rem; margin: 3rem auto; padding: 2rem; background: var(--card);
  border: 1px solid var(--border); border-radius: 12px; }
h1 { font-size: 1.4rem; margin: 0 0 1rem; }
p.host { color: var(--muted); margin: 0 0 1.5rem; font-size: .9rem; }
label { display: block; font-weight: 600; margin: 1rem 0 .25rem; }
input[type=text], input[type=password] { width: 100%; padding: .6rem .7rem; font: inherit;
  color: inherit; background: transparent; border: 1px solid var(--border); border-radius: 8px; }
button, .button { display: inline-block; padding: .6rem 1.1rem; font: inherit; font-weight: 600;
  border-radius: 8px; border: 1px solid var(--border); background: transparent; color: inherit;
  cursor: pointer; text-decoration: none; }
button.primary { background: var(--accent); color: var(--accent-fg); border-color: var(--accent); }
button.danger { color: var(--danger); border-color: var(--danger); }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.actions { display: flex; gap: .75rem; margin-top: 1.5rem; flex-wrap: wrap; }
.alert { border: 1px solid var(--danger); color: var(--danger); border-radius: 8px;
  padding: .6rem .8rem; margin: 0 0 1rem; }
.client { font-family: ui-monospace, monospace; word-break: break-all; }
ul.scopes { padding-left: 1.2rem; } ul.scopes li { margin: .3rem 0; }
ul.accounts, ul.sessions { list-style: none; padding: 0; }
ul.accounts li, ul.sessions li { margin: .5rem 0; }
ul.accounts button { width: 100%; text-align: left; }
.muted { color: var(--muted); font-size: .9rem; }
"#;

fn page(state: &AppState, title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"same-origin\">\
         <title>{title} · {host}</title><style>{STYLE}</style></head>\
         <body><main>{body}</main></body></html>",
        title = esc(title),
        host = esc(&state.config.hostname),
    ))
}

/// Security headers for every page: no framing (clickjacking), no caching, no outside assets.
fn secure(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' *; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert("cache-control", HeaderValue::from_static("no-store"));
    // `same-origin`, not `no-referrer`: with no referrer, browsers send `Origin: null` on the
    // pages' own form posts, which the CSRF check must then refuse.
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    response
}

fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert("location", v);
    }
    secure(response)
}

fn error_page(state: &AppState, status: StatusCode, message: &str, back: Option<&str>) -> Response {
    let back = match back {
        Some(url) => format!(
            "<a class=\"button\" href=\"{}\">Back to the app</a>",
            esc(url)
        ),
        None => "<a class=\"button\" href=\"/account\">Your connected apps</a>".to_owned(),
    };
    let body = format!(
        "<h1>Something went wrong</h1><div class=\"alert\" role=\"alert\">{}</div>\
         <p>You can close this window and start again from the app.</p><div class=\"actions\">{back}</div>",
        esc(message)
    );
    secure((status, page(state, "Error", &body)).into_response())
}

fn storage_failure(state: &AppState) -> Response {
    error_page(
        state,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Storage failure.",
        None,
    )
}

// ---------------------------------------------------------------------------------------------
// Devices and CSRF
// ---------------------------------------------------------------------------------------------

struct Device {
    id: String,
    /// A `Set-Cookie` value when the device is new.
    set_cookie: Option<String>,
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn hex_sha256(text: &str) -> String {
    crate::secrets::to_hex(&Sha256::digest(text.as_bytes()))
}

/// The device the cookie names, if the cookie is genuine.
async fn known_device(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let (id, secret) = cookie_value(headers, DEVICE_COOKIE)?.split_once('.')?;
    let device = state.store.oauth_device(id).await.ok()??;
    (device.secret_hash == hex_sha256(secret)).then_some(device.id)
}

/// The device of this browser, made (with a cookie to set) if it has none.
async fn device(
    state: &AppState,
    headers: &HeaderMap,
    remote: &Remote,
) -> Result<Device, store::StoreError> {
    let now = now_secs();
    let user_agent = headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(256).collect());
    let ip = remote.0.map(|r| r.ip().to_string());
    if let Some(id) = known_device(state, headers).await {
        if let Some(mut d) = state.store.oauth_device(&id).await? {
            if now - d.last_seen_at > 60 {
                d.last_seen_at = now;
                d.user_agent = user_agent;
                d.ip = ip;
                state.store.put_oauth_device(d).await?;
            }
        }
        return Ok(Device {
            id,
            set_cookie: None,
        });
    }
    let id = tokens::random_token("dev");
    let secret = tokens::random_token("sec");
    state
        .store
        .put_oauth_device(OAuthDevice {
            id: id.clone(),
            secret_hash: hex_sha256(&secret),
            user_agent,
            ip,
            created_at: now,
            last_seen_at: now,
        })
        .await?;
    let secure = if state.config.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    Ok(Device {
        set_cookie: Some(format!(
            "{DEVICE_COOKIE}={id}.{secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={DEVICE_COOKIE_MAX_AGE}{secure}"
        )),
        id,
    })
}

fn with_cookie(mut response: Response, device: &Device) -> Response {
    if let Some(cookie) = &device.set_cookie {
        if let Ok(v) = HeaderValue::from_str(cookie) {
            response.headers_mut().append("set-cookie", v);
        }
    }
    response
}

fn csrf_token(state: &AppState, device_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(crate::auth::hmac_sha256(
        &state.secrets.jwt_secret,
        format!("oauth-csrf|{device_id}").as_bytes(),
    ))
}

/// A POST from our own pages: a same-origin (or absent) `Origin`, not a cross-site fetch, and
/// the device's CSRF token. Returns the device.
async fn check_post(
    state: &AppState,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<String, &'static str> {
    if let Some(origin) = headers.get("origin").and_then(|v| v.to_str().ok()) {
        if origin != state.config.public_url {
            return Err("This form was sent from another site.");
        }
    }
    if headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site") {
        return Err("This form was sent from another site.");
    }
    let device = known_device(state, headers)
        .await
        .ok_or("Your browser session has ended (are cookies enabled?). Please start again.")?;
    let given = form.get("csrf").map(String::as_bytes).unwrap_or_default();
    let expected = csrf_token(state, &device);
    if !crate::auth::bytes_equal(given, expected.as_bytes()) {
        return Err("This form has expired. Please start again.");
    }
    Ok(device)
}

/// A form posted from our pages: its fields and the device, or the error page to answer.
async fn posted(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(HashMap<String, String>, String), Box<Response>> {
    let Ok(form) = parse_form(body) else {
        return Err(Box::new(error_page(
            state,
            StatusCode::BAD_REQUEST,
            "The form was malformed.",
            None,
        )));
    };
    match check_post(state, headers, &form).await {
        Ok(device) => Ok((form, device)),
        Err(m) => Err(Box::new(error_page(state, StatusCode::FORBIDDEN, m, None))),
    }
}

/// Accounts signed in on the device recently enough.
async fn fresh_accounts(state: &AppState, device_id: &str) -> Vec<store::Account> {
    let now = now_secs();
    let mut out = Vec::new();
    for (did, at) in state
        .store
        .device_accounts(device_id)
        .await
        .unwrap_or_default()
    {
        if now - at > SIGN_IN_FRESH_SECS {
            continue;
        }
        if let Ok(Some(account)) = state.store.account_by_did(&did).await {
            if matches!(
                account.status,
                store::AccountStatus::Active | store::AccountStatus::Deactivated
            ) {
                out.push(account);
            }
        }
    }
    out
}

/// Checks a handle/email/DID and password; answers the account's DID.
async fn check_password(
    state: &AppState,
    headers: &HeaderMap,
    remote: &Remote,
    username: &str,
    password: &str,
    code: Option<&str>,
) -> Result<String, String> {
    let ctx = Ctx::new(headers.clone(), remote.0);
    state.limit_create_session(&ctx, username).map_err(|e| {
        e.message
            .unwrap_or_else(|| "Too many attempts. Try again later.".into())
    })?;
    let wrong = || "Wrong handle or password.".to_owned();
    let account = state
        .login_account(username.trim_start_matches('@'))
        .await
        .map_err(|_| wrong())?;
    let Some(account) = account else {
        let _ = crate::api::server::verify_blocking(password.to_owned(), None).await;
        return Err(wrong());
    };
    let hash = state
        .store
        .password_hash(&account.did)
        .await
        .map_err(|_| wrong())?;
    let ok = crate::api::server::verify_blocking(password.to_owned(), hash)
        .await
        .unwrap_or(false);
    if !ok {
        return Err(wrong());
    }
    match account.status {
        store::AccountStatus::Takendown => return Err("This account has been taken down.".into()),
        store::AccountStatus::Suspended => return Err("This account is suspended.".into()),
        store::AccountStatus::Deleted => return Err(wrong()),
        _ => {}
    }
    // Accounts with mailed sign-in codes (updateEmail emailAuthFactor) need one here too.
    match state.check_email_auth_factor(&account, code).await {
        Ok(()) => Ok(account.did),
        Err(e) if e.error == "AuthFactorTokenRequired" => Err(SIGN_IN_CODE_SENT.to_owned()),
        Err(e) if e.error == "InvalidToken" || e.error == "ExpiredToken" => {
            Err(SIGN_IN_CODE_WRONG.to_owned())
        }
        Err(_) => Err("The sign-in code could not be sent. Try again later.".to_owned()),
    }
}

/// The alerts after which the sign-in form also asks for the mailed code.
const SIGN_IN_CODE_SENT: &str =
    "A sign-in code has been sent to your email address. Enter it with your password.";
const SIGN_IN_CODE_WRONG: &str = "That sign-in code is wrong or has expired.";

// ---------------------------------------------------------------------------------------------
// Authorization
// ---------------------------------------------------------------------------------------------

/// A pending request the pages may act on.
struct Pending {
    request: OAuthRequest,
    params: AuthorizationParams,
}

async fn pending(state: &AppState, client_id: &str, request_uri: &str) -> Result<Pending, String> {
    let id = request_uri
        .strip_prefix(REQUEST_URI_PREFIX)
        .ok_or("This sign-in link is not valid. Please start again from the app.")?;
    let request = state.store.oauth_request(id).await.ok().flatten().ok_or(
        "This sign-in request is unknown or has expired. Please start again from the app.",
    )?;
    if request.client_id != client_id {
        return Err("This sign-in request belongs to another app.".into());
    }
    if request.code.is_some() {
        return Err(
            "This sign-in request was already answered. Please start again from the app.".into(),
        );
    }
    if request.expires_at < now_secs() {
        return Err("This sign-in request has expired. Please start again from the app.".into());
    }
    let params =
        serde_json::from_str(&request.params).map_err(|_| "This sign-in request is damaged.")?;
    Ok(Pending { request, params })
}

fn hidden_fields(client_id: &str, request_uri: &str, csrf: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"client_id\" value=\"{}\">\
         <input type=\"hidden\" name=\"request_uri\" value=\"{}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(client_id),
        esc(request_uri),
        esc(csrf)
    )
}

fn authorize_url(client_id: &str, request_uri: &str, extra: &[(&str, &str)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("client_id", client_id);
    q.append_pair("request_uri", request_uri);
    for (k, v) in extra {
        q.append_pair(k, v);
    }
    format!("/oauth/authorize?{}", q.finish())
}

fn client_line(client_id: &str) -> String {
    format!("<p class=\"client\">{}</p>", esc(client_id))
}

fn sign_in_form(
    state: &AppState,
    action: &str,
    hidden: &str,
    username: Option<&str>,
    locked: bool,
    alert: Option<&str>,
    intro: &str,
) -> Html<String> {
    let alert = alert
        .map(|a| {
            format!(
                "<div class=\"alert\" role=\"alert\" id=\"error\">{}</div>",
                esc(a)
            )
        })
        .unwrap_or_default();
    let described = if alert.is_empty() {
        ""
    } else {
        " aria-describedby=\"error\""
    };
    let username_value = username.map(esc).unwrap_or_default();
    let readonly = if locked { " readonly" } else { "" };
    let focus_user = if username.is_none() { " autofocus" } else { "" };
    let focus_password = if username.is_some() { " autofocus" } else { "" };
    let code_field = if alert.contains(SIGN_IN_CODE_SENT) || alert.contains(SIGN_IN_CODE_WRONG) {
        "<label for=\"code\">Sign-in code</label>\
         <input type=\"text\" id=\"code\" name=\"code\" autocomplete=\"one-time-code\" \
           autocapitalize=\"characters\" spellcheck=\"false\" required>"
    } else {
        ""
    };
    let body = format!(
        "<h1>Sign in</h1><p class=\"host\">to {host}</p>{intro}{alert}\
         <form method=\"post\" action=\"{action}\">{hidden}\
         <label for=\"username\">Handle or email</label>\
         <input type=\"text\" id=\"username\" name=\"username\" value=\"{username_value}\" \
           autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" required{readonly}{focus_user}{described}>\
         <label for=\"password\">Password</label>\
         <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required{focus_password}{described}>\
         {code_field}<div class=\"actions\"><button type=\"submit\" class=\"primary\">Sign in</button></div></form>",
        host = esc(&state.config.hostname),
    );
    page(state, "Sign in", &body)
}

#[derive(serde::Deserialize)]
pub struct AuthorizeQuery {
    client_id: Option<String>,
    request_uri: Option<String>,
    account: Option<String>,
    switch: Option<String>,
}

/// `GET /oauth/authorize`
pub async fn authorize(
    State(state): State<Arc<AppState>>,
    remote: Remote,
    headers: HeaderMap,
    Query(q): Query<AuthorizeQuery>,
) -> Response {
    let (Some(client_id), Some(request_uri)) = (q.client_id.as_deref(), q.request_uri.as_deref())
    else {
        return error_page(
            &state,
            StatusCode::BAD_REQUEST,
            "This app did not start the sign-in correctly (a pushed authorization request is required).",
            None,
        );
    };
    let pending = match pending(&state, client_id, request_uri).await {
        Ok(p) => p,
        Err(m) => return error_page(&state, StatusCode::BAD_REQUEST, &m, None),
    };
    let device = match device(&state, &headers, &remote).await {
        Ok(d) => d,
        Err(_) => return storage_failure(&state),
    };
    let csrf = csrf_token(&state, &device.id);
    let hidden = hidden_fields(client_id, request_uri, &csrf);
    let accounts = fresh_accounts(&state, &device.id).await;
    let hint = pending.params.login_hint.as_deref();
    let hinted = match hint {
        Some(h) => state.login_account(h).await.ok().flatten().map(|a| a.did),
        None => None,
    };
    let force_login = pending.params.prompt.as_deref() == Some("login") || q.switch.is_some();

    // Which account is this for?
    let chosen = q
        .account
        .as_deref()
        .filter(|did| hinted.as_deref().is_none_or(|h| h == *did))
        .and_then(|did| accounts.iter().find(|a| a.did == did))
        .or_else(|| {
            hinted
                .as_deref()
                .and_then(|h| accounts.iter().find(|a| a.did == h))
        })
        .filter(|_| !force_login || q.account.is_some());
    let response = if let Some(account) = chosen {
        consent_page(&state, &pending, account, &hidden).into_response()
    } else if !accounts.is_empty() && hint.is_none() && !force_login {
        choose_account_page(&state, client_id, request_uri, &accounts).into_response()
    } else {
        let intro = client_line(client_id);
        sign_in_form(
            &state,
            "/oauth/authorize/sign-in",
            &hidden,
            hint,
            hint.is_some(),
            None,
            &format!("<p>An app wants to use your account:</p>{intro}"),
        )
        .into_response()
    };
    with_cookie(secure(response), &device)
}

fn choose_account_page(
    state: &AppState,
    client_id: &str,
    request_uri: &str,
    accounts: &[store::Account],
) -> Html<String> {
    let buttons: String = accounts
        .iter()
        .map(|a| {
            format!(
                "<li><button type=\"submit\" name=\"account\" value=\"{did}\">@{handle}\
                 <br><span class=\"muted\">{did}</span></button></li>",
                did = esc(&a.did),
                handle = esc(&a.handle)
            )
        })
        .collect();
    let body = format!(
        "<h1>Choose an account</h1><p class=\"host\">on {host}</p>\
         <p>An app wants to use your account:</p>{client}\
         <form method=\"get\" action=\"/oauth/authorize\">\
         <input type=\"hidden\" name=\"client_id\" value=\"{cid}\">\
         <input type=\"hidden\" name=\"request_uri\" value=\"{ruri}\">\
         <ul class=\"accounts\">{buttons}</ul></form>\
         <p><a href=\"{other}\">Use another account</a></p>",
        host = esc(&state.config.hostname),
        client = client_line(client_id),
        cid = esc(client_id),
        ruri = esc(request_uri),
        other = esc(&authorize_url(client_id, request_uri, &[("switch", "1")])),
    );
    page(state, "Choose an account", &body)
}

fn consent_page(
    state: &AppState,
    pending: &Pending,
    account: &store::Account,
    hidden: &str,
) -> Html<String> {
    let mut scopes: String = describe_scope(&pending.params.scope)
        .iter()
        .filter(|line| !line.starts_with("The permission set "))
        .map(|line| format!("<li>{}</li>", esc(line)))
        .collect();
    for set in &pending.params.permission_sets {
        let granted: String = set
            .scopes
            .iter()
            .flat_map(|s| describe_scope(s))
            .map(|line| format!("<li>{}</li>", esc(&line)))
            .collect();
        scopes.push_str(&format!(
            "<li><strong>{title}</strong>{detail}<br><span class=\"muted\">{include}</span>\
             <ul>{granted}</ul></li>",
            title = esc(set.title.as_deref().unwrap_or("A set of permissions")),
            detail = set
                .detail
                .as_deref()
                .map(|d| format!(": {}", esc(d)))
                .unwrap_or_default(),
            include = esc(&set.include),
        ));
    }
    let body = format!(
        "<h1>Allow access?</h1><p class=\"host\">@{handle} on {host}</p>\
         <p>This app wants access to your account:</p>{client}\
         <p>It will be able to:</p><ul class=\"scopes\">{scopes}</ul>\
         <p class=\"muted\">Only allow apps you trust. You can revoke access at any time from \
         <a href=\"/account\">your connected apps</a>.</p>\
         <form method=\"post\" action=\"/oauth/authorize/consent\">{hidden}\
         <input type=\"hidden\" name=\"account\" value=\"{did}\">\
         <div class=\"actions\">\
         <button type=\"submit\" class=\"primary\" name=\"decision\" value=\"allow\">Allow</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></div></form>\
         <p class=\"muted\"><a href=\"{switch}\">Not you? Use another account</a></p>",
        handle = esc(&account.handle),
        host = esc(&state.config.hostname),
        client = client_line(&pending.params.client_id),
        did = esc(&account.did),
        switch = esc(&authorize_url(
            &pending.params.client_id,
            &format!("{REQUEST_URI_PREFIX}{}", pending.request.id),
            &[("switch", "1")]
        )),
    );
    page(state, "Allow access", &body)
}

/// The scope in plain words, one line per grant.
pub fn describe_scope(scope: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let set: permission::ScopeSet = match scope.parse() {
        Ok(s) => s,
        Err(_) => return vec![format!("(unreadable scope: {scope})")],
    };
    for s in set.scopes() {
        use permission::Scope as S;
        let line = match s {
            S::Atproto => "Know which account you are (your DID and handle)".to_owned(),
            S::TransitionGeneric => "Create, change and delete any of your records (posts, likes, follows…), upload media, manage your preferences, and use other services on your behalf, except direct messages and account settings".to_owned(),
            S::TransitionChatBsky => "Read and send your direct messages".to_owned(),
            S::TransitionEmail => "See your email address".to_owned(),
            other => describe_granular(other),
        };
        lines.push(line);
    }
    for unknown in set.unrecognized() {
        lines.push(format!(
            "“{unknown}” (a permission this server does not know; it grants nothing)"
        ));
    }
    lines
}

fn describe_granular(scope: &permission::Scope) -> String {
    let text = scope.to_string();
    let (kind, rest) = text.split_once(':').unwrap_or((text.as_str(), ""));
    match kind {
        "repo" => format!("Change records: {rest}"),
        "rpc" => format!("Call services on your behalf: {rest}"),
        "blob" => format!("Upload files of type {rest}"),
        "account" => format!("Account settings: {rest}"),
        "identity" => format!("Change your identity: {rest}"),
        "include" => format!("The permission set {rest}"),
        _ => text.clone(),
    }
}

/// `POST /oauth/authorize/sign-in`
pub async fn sign_in(
    State(state): State<Arc<AppState>>,
    remote: Remote,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (form, device) = match posted(&state, &headers, &body).await {
        Ok(posted) => posted,
        Err(response) => return *response,
    };
    let client_id = form.get("client_id").map(String::as_str).unwrap_or("");
    let request_uri = form.get("request_uri").map(String::as_str).unwrap_or("");
    let pending = match pending(&state, client_id, request_uri).await {
        Ok(p) => p,
        Err(m) => return error_page(&state, StatusCode::BAD_REQUEST, &m, None),
    };
    let hidden = hidden_fields(client_id, request_uri, &csrf_token(&state, &device));
    let username = form.get("username").map(|u| u.trim()).unwrap_or("");
    let password = form.get("password").map(String::as_str).unwrap_or("");
    let hint = pending.params.login_hint.as_deref();
    let retry = |message: &str| {
        secure(
            (
                StatusCode::UNAUTHORIZED,
                sign_in_form(
                    &state,
                    "/oauth/authorize/sign-in",
                    &hidden,
                    Some(if username.is_empty() {
                        hint.unwrap_or("")
                    } else {
                        username
                    }),
                    hint.is_some(),
                    Some(message),
                    &client_line(client_id),
                ),
            )
                .into_response(),
        )
    };
    let did = match check_password(
        &state,
        &headers,
        &remote,
        username,
        password,
        form.get("code").map(String::as_str),
    )
    .await
    {
        Ok(did) => did,
        Err(m) => return retry(&m),
    };
    if let Some(h) = hint {
        let hinted = state.login_account(h).await.ok().flatten().map(|a| a.did);
        if hinted.as_deref() != Some(did.as_str()) {
            return retry("The app asked for a different account.");
        }
    }
    if state
        .store
        .add_device_account(&device, &did, now_secs())
        .await
        .is_err()
    {
        return storage_failure(&state);
    }
    see_other(&authorize_url(client_id, request_uri, &[("account", &did)]))
}

/// `POST /oauth/authorize/consent`
pub async fn consent(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (form, device) = match posted(&state, &headers, &body).await {
        Ok(posted) => posted,
        Err(response) => return *response,
    };
    let client_id = form.get("client_id").map(String::as_str).unwrap_or("");
    let request_uri = form.get("request_uri").map(String::as_str).unwrap_or("");
    let pending = match pending(&state, client_id, request_uri).await {
        Ok(p) => p,
        Err(m) => return error_page(&state, StatusCode::BAD_REQUEST, &m, None),
    };
    let did = form.get("account").map(String::as_str).unwrap_or("");
    let signed_in = fresh_accounts(&state, &device)
        .await
        .iter()
        .any(|a| a.did == did);
    if !signed_in {
        return error_page(
            &state,
            StatusCode::FORBIDDEN,
            "That account is not signed in here. Please start again.",
            None,
        );
    }
    let params = &pending.params;
    let iss = state.config.public_url.clone();
    match form.get("decision").map(String::as_str) {
        Some("allow") => {
            let code = tokens::random_token("cod");
            let approved = state
                .store
                .approve_oauth_request(
                    &pending.request.id,
                    did,
                    Some(&device),
                    &code,
                    now_secs() + tokens::CODE_TTL_SECS,
                )
                .await;
            match approved {
                Ok(true) => see_other(&redirect_to(
                    params,
                    &[("code", &code), ("state", &params.state), ("iss", &iss)],
                )),
                _ => error_page(
                    &state,
                    StatusCode::CONFLICT,
                    "This sign-in request was already answered.",
                    None,
                ),
            }
        }
        Some("deny") => {
            let _ = state.store.delete_oauth_request(&pending.request.id).await;
            see_other(&redirect_to(
                params,
                &[
                    ("error", "access_denied"),
                    ("error_description", "The user denied the request"),
                    ("state", &params.state),
                    ("iss", &iss),
                ],
            ))
        }
        _ => error_page(
            &state,
            StatusCode::BAD_REQUEST,
            "Please choose Allow or Deny.",
            None,
        ),
    }
}

/// The client's redirect URI with the answer in its query (or fragment).
fn redirect_to(params: &AuthorizationParams, pairs: &[(&str, &str)]) -> String {
    let mut encoded = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        encoded.append_pair(k, v);
    }
    let encoded = encoded.finish();
    let base = &params.redirect_uri;
    if params.response_mode == "fragment" {
        format!("{base}#{encoded}")
    } else if base.contains('?') {
        format!("{base}&{encoded}")
    } else {
        format!("{base}?{encoded}")
    }
}

// ---------------------------------------------------------------------------------------------
// The session list
// ---------------------------------------------------------------------------------------------

/// `GET /account`
#[derive(serde::Deserialize)]
pub struct AccountQuery {
    /// `1`: show the sign-in form to add another account to this browser.
    add: Option<String>,
}

pub async fn account(
    State(state): State<Arc<AppState>>,
    remote: Remote,
    headers: HeaderMap,
    Query(q): Query<AccountQuery>,
) -> Response {
    let device = match device(&state, &headers, &remote).await {
        Ok(d) => d,
        Err(_) => return storage_failure(&state),
    };
    let csrf = csrf_token(&state, &device.id);
    let hidden = format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(&csrf)
    );
    let accounts = fresh_accounts(&state, &device.id).await;
    let response = if accounts.is_empty() || q.add.is_some() {
        sign_in_form(
            &state,
            "/account/sign-in",
            &hidden,
            None,
            false,
            None,
            "<p>Sign in to see the apps connected to your account.</p>",
        )
        .into_response()
    } else {
        let mut sections = String::new();
        for a in &accounts {
            let sessions = state
                .store
                .list_oauth_sessions(&a.did)
                .await
                .unwrap_or_default();
            let items: String = if sessions.is_empty() {
                "<li class=\"muted\">No connected apps.</li>".to_owned()
            } else {
                sessions
                    .iter()
                    .map(|s| {
                        format!(
                            "<li><span class=\"client\">{client}</span><br>\
                             <span class=\"muted\">Since {created} · last used {updated}</span>\
                             <form method=\"post\" action=\"/account/revoke\">{hidden}\
                             <button type=\"submit\" class=\"danger\" name=\"revoke\" value=\"{id}\" \
                               aria-label=\"Revoke access for {client}\">Revoke</button></form></li>",
                            client = esc(&s.client_id),
                            created = esc(&format_time(s.created_at)),
                            updated = esc(&format_time(s.updated_at)),
                            id = esc(&s.id),
                        )
                    })
                    .collect()
            };
            sections.push_str(&format!(
                "<h2>@{handle}</h2><ul class=\"sessions\">{items}</ul>\
                 <form method=\"post\" action=\"/account/sign-out\">{hidden}\
                 <button type=\"submit\" name=\"account\" value=\"{did}\">Sign out of @{handle}</button></form>",
                handle = esc(&a.handle),
                did = esc(&a.did),
            ));
        }
        page(
            &state,
            "Connected apps",
            &format!(
                "<h1>Connected apps</h1><p class=\"host\">on {}</p>{sections}\
                 <p class=\"muted\"><a href=\"/account?add=1\">Sign in to another account</a></p>",
                esc(&state.config.hostname)
            ),
        )
        .into_response()
    };
    with_cookie(secure(response), &device)
}

fn format_time(secs: i64) -> String {
    syntax::Datetime::from_unix_micros(secs.saturating_mul(1_000_000))
        .map(|d| d.to_rfc3339_millis())
        .unwrap_or_else(|_| secs.to_string())
}

/// `POST /account/sign-in`
pub async fn account_sign_in(
    State(state): State<Arc<AppState>>,
    remote: Remote,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (form, device) = match posted(&state, &headers, &body).await {
        Ok(posted) => posted,
        Err(response) => return *response,
    };
    let username = form.get("username").map(|u| u.trim()).unwrap_or("");
    let password = form.get("password").map(String::as_str).unwrap_or("");
    match check_password(
        &state,
        &headers,
        &remote,
        username,
        password,
        form.get("code").map(String::as_str),
    )
    .await
    {
        Ok(did) => {
            if state
                .store
                .add_device_account(&device, &did, now_secs())
                .await
                .is_err()
            {
                return storage_failure(&state);
            }
            see_other("/account")
        }
        Err(m) => {
            let hidden = format!(
                "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
                esc(&csrf_token(&state, &device))
            );
            secure(
                (
                    StatusCode::UNAUTHORIZED,
                    sign_in_form(
                        &state,
                        "/account/sign-in",
                        &hidden,
                        Some(username),
                        false,
                        Some(&m),
                        "",
                    ),
                )
                    .into_response(),
            )
        }
    }
}

/// `POST /account/revoke`
pub async fn account_revoke(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (form, device) = match posted(&state, &headers, &body).await {
        Ok(posted) => posted,
        Err(response) => return *response,
    };
    let id = form.get("revoke").map(String::as_str).unwrap_or("");
    let session = state.store.oauth_session(id).await.ok().flatten();
    let mine = match &session {
        Some(s) => fresh_accounts(&state, &device)
            .await
            .iter()
            .any(|a| a.did == s.did),
        None => false,
    };
    if !mine {
        return error_page(
            &state,
            StatusCode::NOT_FOUND,
            "That app session was not found.",
            None,
        );
    }
    if state.store.delete_oauth_session(id).await.is_err() {
        return storage_failure(&state);
    }
    see_other("/account")
}

/// `POST /account/sign-out`
pub async fn account_sign_out(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (form, device) = match posted(&state, &headers, &body).await {
        Ok(posted) => posted,
        Err(response) => return *response,
    };
    if let Some(did) = form.get("account") {
        let _ = state.store.remove_device_account(&device, did).await;
    }
    see_other("/account")
}
