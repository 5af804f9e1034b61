//! A small XRPC client (JSON in and out, raw bodies for CARs and blobs), enough for the
//! migration flow.

use serde_json::Value as Json;

/// An XRPC failure: the server's `{error, message}` and status, or why there was no answer.
#[derive(Debug)]
pub struct CallError {
    pub status: u16,
    pub error: String,
    pub message: String,
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            0 => write!(f, "{}", self.message),
            s => write!(f, "{s} {}: {}", self.error, self.message),
        }
    }
}

/// One host, with an optional bearer token.
#[derive(Clone)]
pub struct Host {
    pub url: String,
    pub token: Option<String>,
    http: reqwest::Client,
}

impl Host {
    pub fn new(url: &str) -> Host {
        Host {
            url: url.trim_end_matches('/').to_owned(),
            token: None,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(300))
                .build()
                .expect("an HTTP client"),
        }
    }

    fn request(&self, method: reqwest::Method, nsid: &str) -> reqwest::RequestBuilder {
        let request = self
            .http
            .request(method, format!("{}/xrpc/{nsid}", self.url));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    pub async fn get(&self, nsid: &str, query: &[(&str, &str)]) -> Result<Json, CallError> {
        json_of(
            self.request(reqwest::Method::GET, nsid)
                .query(query)
                .send()
                .await,
        )
        .await
    }

    pub async fn get_bytes(
        &self,
        nsid: &str,
        query: &[(&str, &str)],
    ) -> Result<(Vec<u8>, String), CallError> {
        let response = self
            .request(reqwest::Method::GET, nsid)
            .query(query)
            .send()
            .await
            .map_err(unreachable)?;
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_owned();
        let response = check(response).await?;
        let bytes = response.bytes().await.map_err(unreachable)?;
        Ok((bytes.to_vec(), content_type))
    }

    pub async fn post(&self, nsid: &str, body: &Json) -> Result<Json, CallError> {
        json_of(
            self.request(reqwest::Method::POST, nsid)
                .json(body)
                .send()
                .await,
        )
        .await
    }

    /// A POST without a body (procedures without input).
    pub async fn post_empty(&self, nsid: &str) -> Result<Json, CallError> {
        json_of(self.request(reqwest::Method::POST, nsid).send().await).await
    }

    /// A POST with a bearer token other than the session's (a service JWT).
    pub async fn post_as(&self, nsid: &str, token: &str, body: &Json) -> Result<Json, CallError> {
        let request = self
            .http
            .post(format!("{}/xrpc/{nsid}", self.url))
            .bearer_auth(token)
            .json(body);
        json_of(request.send().await).await
    }

    pub async fn post_bytes(
        &self,
        nsid: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<Json, CallError> {
        let request = self
            .request(reqwest::Method::POST, nsid)
            .header("content-type", content_type)
            .body(body);
        json_of(request.send().await).await
    }
}

fn unreachable(e: reqwest::Error) -> CallError {
    CallError {
        status: 0,
        error: "Unreachable".into(),
        message: format!("no answer: {e}"),
    }
}

async fn check(response: reqwest::Response) -> Result<reqwest::Response, CallError> {
    let status = response.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(response);
    }
    let body: Json = response.json().await.unwrap_or(Json::Null);
    Err(CallError {
        status,
        error: body["error"].as_str().unwrap_or("Error").to_owned(),
        message: body["message"]
            .as_str()
            .unwrap_or("(no message)")
            .to_owned(),
    })
}

async fn json_of(sent: Result<reqwest::Response, reqwest::Error>) -> Result<Json, CallError> {
    let response = check(sent.map_err(unreachable)?).await?;
    let bytes = response.bytes().await.map_err(unreachable)?;
    if bytes.is_empty() {
        return Ok(Json::Null);
    }
    serde_json::from_slice(&bytes).map_err(|e| CallError {
        status: 0,
        error: "BadResponse".into(),
        message: format!("not JSON: {e}"),
    })
}
