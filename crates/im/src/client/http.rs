//! The HTTP side of the client: one `reqwest` client on a single-threaded
//! tokio runtime, a timeout on every request, TLS through rustls with
//! certificate verification off unless `-v` (as `im_client`, whose `verify`
//! defaults to `False`).

use std::time::Duration;

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};

use super::Failure;

/// Characters escaped in a query value: what `requests` escapes when it
/// re-quotes a URL, plus `%`, `#`, `&`, `+` and `=` so that the value stays one
/// value.
const QUERY_VALUE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'<')
    .add(b'=')
    .add(b'>')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// An answer: the status code and the body as text.
#[derive(Debug)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// The body, decoded as UTF-8 (invalid sequences replaced).
    pub text: String,
}

impl Response {
    /// `im_client`'s success test: exactly 200.
    pub fn ok(&self) -> bool {
        self.status == 200
    }
}

/// One request.
#[derive(Debug, Default)]
pub struct Request<'a> {
    /// The path below the API URL, starting with `/`.
    pub path: String,
    /// Query parameters, in order.
    pub query: Vec<(&'a str, String)>,
    /// Send `Accept: application/json`.
    pub json: bool,
    /// `Content-Type` of the body.
    pub content_type: Option<&'static str>,
    /// The body.
    pub body: Option<String>,
    /// Send no `Authorization` (`GET /version`).
    pub anonymous: bool,
}

/// The connection to one IM REST API.
pub struct Http {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
    base: String,
    auth: Option<HeaderValue>,
}

impl Http {
    /// A client for the API at `base` (a trailing `/` is ignored), sending
    /// `auth` as `Authorization` on every request that is not anonymous.
    pub fn new(
        base: &str,
        auth: Option<&str>,
        verify: bool,
        timeout: Duration,
    ) -> Result<Http, Failure> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Failure::Exc(format!("cannot start the HTTP runtime: {e}")))?;
        let client = reqwest::Client::builder()
            .user_agent(concat!("im-client/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(30)))
            .tls_danger_accept_invalid_certs(!verify)
            .build()
            .map_err(|e| Failure::Exc(format!("cannot create the HTTP client: {}", chain(&e))))?;
        let auth = match auth {
            Some(a) => Some(HeaderValue::from_bytes(a.as_bytes()).map_err(|_| {
                Failure::Exc(
                    "The auth data cannot be sent in an HTTP header (control characters)".into(),
                )
            })?),
            None => None,
        };
        Ok(Http {
            runtime,
            client,
            base: base.trim_end_matches('/').to_string(),
            auth,
        })
    }

    /// Sends one request and reads the whole answer. Transport failures
    /// (connection refused, timeout, TLS) are a [`Failure::Exc`].
    pub fn send(&self, method: Method, req: Request<'_>) -> Result<Response, Failure> {
        let mut url = format!("{}{}", self.base, req.path);
        for (i, (k, v)) in req.query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(k);
            url.push('=');
            url.extend(utf8_percent_encode(v, QUERY_VALUE));
        }
        let parsed = reqwest::Url::parse(&url)
            .map_err(|e| Failure::Exc(format!("Invalid URL {url}: {e}")))?;
        let mut builder = self.client.request(method, parsed);
        if !req.anonymous
            && let Some(auth) = &self.auth
        {
            builder = builder.header(AUTHORIZATION, auth.clone());
        }
        if req.json {
            builder = builder.header(ACCEPT, "application/json");
        }
        if let Some(ct) = req.content_type {
            builder = builder.header(CONTENT_TYPE, ct);
        }
        if let Some(body) = req.body {
            builder = builder.body(body);
        }
        self.runtime.block_on(async {
            let resp = builder
                .send()
                .await
                .map_err(|e| Failure::Exc(format!("Error connecting with {url}: {}", chain(&e))))?;
            let status = resp.status().as_u16();
            let bytes = resp.bytes().await.map_err(|e| {
                Failure::Exc(format!("Error reading the answer of {url}: {}", chain(&e)))
            })?;
            Ok(Response {
                status,
                text: String::from_utf8_lossy(&bytes).into_owned(),
            })
        })
    }
}

/// An error and its causes, `: `-separated.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
