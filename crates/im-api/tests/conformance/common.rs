//! The test server and client: `im_api::router` over a real `Manager`
//! (SQLite in memory, the Dummy cloud) served on `127.0.0.1:0`, and a small
//! raw HTTP/1.1 client that sends exactly the headers a test gives (no
//! default `Accept`, any `Host`, any bytes) and returns what came back.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use im_api::ApiConfig;
use im_core::{IndexEntry, Manager, Settings, Store, StoreError, StoredInf, VmChanges};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The standard test credentials: IM user + a Dummy cloud (`\n` is the two
/// characters backslash and `n`).
pub const A: &str =
    r"type = InfrastructureManager; username = user; password = pass\nid = dummy; type = Dummy";
/// Another user.
pub const B: &str =
    r"type = InfrastructureManager; username = user2; password = pass2\nid = dummy; type = Dummy";
/// IM credentials and no cloud.
pub const IMO: &str = "type = InfrastructureManager; username = user; password = pass";
/// The checklist's `R1`.
pub const R1: &str = "network publica (outbound = 'yes')\nsystem front (cpu.count>=1 and memory.size>=512m and net_interface.0.connection = 'publica' and disk.0.os.name = 'linux' and disk.0.image.url = 'mock0://linux.for.ev.er')\ndeploy front 1\ncontextualize ()";

/// `text/plain; charset=utf-8`.
pub const TEXT: &str = "text/plain; charset=utf-8";
/// `application/json`.
pub const JSON: &str = "application/json";
/// `text/uri-list; charset=utf-8`.
pub const URILIST: &str = "text/uri-list; charset=utf-8";
/// `text/html; charset=utf-8`.
pub const HTML: &str = "text/html; charset=utf-8";

/// A running API.
pub struct App {
    /// `http://127.0.0.1:<port>`: the `BASE` of the checklist.
    pub base: String,
    /// The address.
    pub addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for App {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The default server (the checklist's setup).
pub async fn app() -> App {
    app_with(Settings::default(), ApiConfig::default()).await
}

/// A server with other settings.
pub async fn app_with(settings: Settings, config: ApiConfig) -> App {
    let store = im_store::open("sqlite::memory:")
        .await
        .expect("in-memory store");
    app_on(store, settings, config).await
}

/// A server on a given store.
pub async fn app_on(store: Arc<dyn Store>, settings: Settings, config: ApiConfig) -> App {
    let manager = Manager::start(settings, store, im_connectors::Factory::new())
        .await
        .expect("manager");
    let router = im_api::router(manager, config);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let server = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    App {
        base: format!("http://{addr}"),
        addr,
        server,
    }
}

/// An answer as a client sees it.
#[derive(Debug)]
pub struct Resp {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// The body as text (lossy).
    pub body: String,
}

impl Resp {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `content-type` (empty when absent).
    pub fn ctype(&self) -> &str {
        self.header("content-type").unwrap_or("")
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// `(status, content-type, body)`, for one-line assertions.
    pub fn triple(&self) -> (u16, &str, &str) {
        (self.status, self.ctype(), self.body.as_str())
    }
}

/// A request being built.
pub struct Call {
    addr: SocketAddr,
    method: String,
    path: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

impl Call {
    /// Adds a header.
    pub fn header(self, k: &str, v: &str) -> Self {
        self.header_bytes(k, v.as_bytes())
    }

    /// Adds a header with any bytes as value.
    pub fn header_bytes(mut self, k: &str, v: &[u8]) -> Self {
        self.headers.push((k.to_string(), v.to_vec()));
        self
    }

    /// `Authorization`.
    pub fn auth(self, a: &str) -> Self {
        self.header("Authorization", a)
    }

    /// `Accept`.
    pub fn accept(self, a: &str) -> Self {
        self.header("Accept", a)
    }

    /// `Content-Type`.
    pub fn ctype(self, c: &str) -> Self {
        self.header("Content-Type", c)
    }

    /// A text body.
    pub fn body(mut self, b: &str) -> Self {
        self.body = b.as_bytes().to_vec();
        self
    }

    /// A body of any bytes.
    pub fn bytes(mut self, b: &[u8]) -> Self {
        self.body = b.to_vec();
        self
    }

    /// Sends it and reads the whole answer.
    pub async fn send(self) -> Resp {
        let mut bytes = format!("{} {} HTTP/1.1\r\n", self.method, self.path).into_bytes();
        if !self
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("host"))
        {
            bytes.extend_from_slice(format!("Host: {}\r\n", self.addr).as_bytes());
        }
        for (k, v) in &self.headers {
            bytes.extend_from_slice(k.as_bytes());
            bytes.extend_from_slice(b": ");
            bytes.extend_from_slice(v);
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(
            format!(
                "Content-Length: {}\r\nConnection: close\r\n\r\n",
                self.body.len()
            )
            .as_bytes(),
        );
        let mut stream = TcpStream::connect(self.addr).await.expect("connect");
        bytes.extend_from_slice(&self.body);
        // A server may answer (413) before reading everything.
        let _ = stream.write_all(&bytes).await;
        let mut raw = Vec::new();
        tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut raw))
            .await
            .expect("answer within 60 s")
            .expect("read");
        parse_response(&raw, self.method == "HEAD")
    }
}

fn parse_response(raw: &[u8], head: bool) -> Resp {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(raw)));
    let head_text = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head_text.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    if head {
        body.clear();
    }
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Resp {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&b[..eol])
                .split(';')
                .next()
                .unwrap_or("0")
                .trim(),
            16,
        )
        .unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = eol + 2;
        out.extend_from_slice(&b[start..start + size]);
        b = &b[start + size + 2..];
    }
}

impl App {
    /// A request.
    pub fn call(&self, method: &str, path: &str) -> Call {
        Call {
            addr: self.addr,
            method: method.to_string(),
            path: path.to_string(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// `GET`.
    pub fn get(&self, path: &str) -> Call {
        self.call("GET", path)
    }

    /// `POST`.
    pub fn post(&self, path: &str) -> Call {
        self.call("POST", path)
    }

    /// `PUT`.
    pub fn put(&self, path: &str) -> Call {
        self.call("PUT", path)
    }

    /// `DELETE`.
    pub fn delete(&self, path: &str) -> Call {
        self.call("DELETE", path)
    }

    /// Creates an infrastructure (synchronously) and returns its id.
    pub async fn create(&self, auth: &str, radl: &str) -> String {
        let r = self
            .post("/infrastructures")
            .auth(auth)
            .body(radl)
            .send()
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.header("infid").expect("infid header").to_string()
    }

    /// The infrastructure's aggregated state.
    pub async fn state(&self, auth: &str, id: &str) -> String {
        let r = self
            .get(&format!("/infrastructures/{id}/state"))
            .auth(auth)
            .send()
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()["state"]["state"]
            .as_str()
            .expect("state")
            .to_string()
    }

    /// Waits (up to 20 s) until the infrastructure reaches `state`.
    pub async fn wait_state(&self, auth: &str, id: &str, state: &str) {
        for _ in 0..200 {
            if self.state(auth, id).await == state {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{id} never reached {state}");
    }
}

/// A store that delegates to another one and can be made slow or broken.
pub struct Wrapped {
    /// The real store.
    pub inner: Arc<dyn Store>,
    /// Delay of `load_all` (used by `/stats`).
    pub stats_delay: Duration,
    /// Whether `load_all` fails.
    pub broken: bool,
}

#[async_trait]
impl Store for Wrapped {
    async fn load_index(&self) -> Result<Vec<IndexEntry>, StoreError> {
        self.inner.load_index().await
    }
    async fn load(&self, id: &str) -> Result<Option<StoredInf>, StoreError> {
        self.inner.load(id).await
    }
    async fn insert(&self, inf: &StoredInf) -> Result<(), StoreError> {
        self.inner.insert(inf).await
    }
    async fn update(&self, inf: &StoredInf, vms: VmChanges<'_>) -> Result<(), StoreError> {
        self.inner.update(inf, vms).await
    }
    async fn load_all(&self) -> Result<Vec<StoredInf>, StoreError> {
        tokio::time::sleep(self.stats_delay).await;
        if self.broken {
            return Err(StoreError::Backend("the disk is on fire".into()));
        }
        self.inner.load_all().await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
}

/// An unsigned JWT (`alg: none`) with these claims, base64url without padding.
pub fn jwt(claims: &serde_json::Value) -> String {
    fn b64(data: &[u8]) -> String {
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in data.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                out.push(char::from(T[((n >> (18 - 6 * i)) & 63) as usize]));
            }
        }
        out
    }
    format!(
        "{}.{}.sig",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(claims.to_string().as_bytes())
    )
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
