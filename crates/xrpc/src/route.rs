//! The route table's types. The table itself ([`crate::ROUTES`]) is generated
//! from the lexicons by `codegen`.

/// The lexicon type of an XRPC method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `query`: HTTP GET, parameters in the query string.
    Query,
    /// `procedure`: HTTP POST, optional body.
    Procedure,
    /// `subscription`: HTTP GET upgraded to a WebSocket event stream.
    Subscription,
}

/// The HTTP method a route is served on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpMethod {
    /// GET (queries and subscriptions).
    Get,
    /// POST (procedures).
    Post,
}

impl HttpMethod {
    /// `"GET"` or `"POST"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
        }
    }
}

/// What a method's lexicon description says about authentication.
///
/// Lexicons have no machine-readable auth field; this is read from the prose
/// ("Requires auth", "Does not require auth", ...) so the server can check its
/// own auth table against it. It is a hint, not policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthHint {
    /// The description does not mention auth.
    Unmentioned,
    /// "Requires auth".
    Required,
    /// "Requires auth using the 'refreshJwt'".
    RequiredRefresh,
    /// "Does not require auth".
    NotRequired,
    /// Auth is mentioned without a clear rule (e.g. "may return different
    /// results with auth").
    Mentioned,
}

/// One XRPC method the relay knows, as declared by its lexicon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The method's NSID, e.g. `com.atproto.repo.createRecord`.
    pub nsid: &'static str,
    /// The HTTP path, `/xrpc/<nsid>`.
    pub path: &'static str,
    /// Query, procedure or subscription.
    pub kind: Kind,
    /// GET for queries and subscriptions, POST for procedures.
    pub method: HttpMethod,
    /// Declared input encoding (`application/json`, `*/*`,
    /// `application/vnd.ipld.car`), if the method takes a body.
    pub input: Option<&'static str>,
    /// Declared output encoding, if the method returns a body.
    pub output: Option<&'static str>,
    /// What the description says about auth.
    pub auth: AuthHint,
    /// Whether the method declares query parameters.
    pub has_params: bool,
    /// Error names the lexicon declares for this method.
    pub errors: &'static [&'static str],
}

/// Looks up a generated route by NSID.
///
/// `None` means the NSID is not one this server knows: proxy it (with an
/// `atproto-proxy` header) or answer `XRPCNotSupported`. `Some` for a method the
/// server does not implement means 501 `MethodNotImplemented`.
///
/// ```
/// let route = xrpc::route("com.atproto.repo.uploadBlob").unwrap();
/// assert_eq!(route.method, xrpc::HttpMethod::Post);
/// assert_eq!(route.input, Some("*/*"));
/// assert!(xrpc::route("app.bsky.feed.getTimeline").is_none());
/// ```
pub fn route(nsid: &str) -> Option<&'static Route> {
    // ROUTES is emitted sorted by NSID.
    crate::ROUTES
        .binary_search_by(|r| r.nsid.cmp(nsid))
        .ok()
        .map(|i| &crate::ROUTES[i])
}
