//! A real `im serve` on an ephemeral loopback port, for the service tests.

#![allow(dead_code, clippy::unwrap_used)] // shared by several test files

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The standard test credentials (IM user + a Dummy cloud).
pub const A: &str =
    r"type = InfrastructureManager; username = user; password = pass\nid = dummy; type = Dummy";
/// Another user.
pub const B: &str =
    r"type = InfrastructureManager; username = user2; password = pass2\nid = dummy; type = Dummy";
/// The checklist's `R1`.
pub const R1: &str = "network publica (outbound = 'yes')\nsystem front (cpu.count>=1 and memory.size>=512m and net_interface.0.connection = 'publica' and disk.0.os.name = 'linux' and disk.0.image.url = 'mock0://linux.for.ev.er')\ndeploy front 1\ncontextualize ()";

/// A running server; killed on drop.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub dir: tempfile::TempDir,
}

impl Server {
    /// Starts `im serve` with a fresh SQLite file and optional `im.cfg` lines.
    pub fn start(cfg: &str) -> Server {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir, cfg)
    }

    /// Starts on an existing data directory (to test restarts).
    pub fn start_in(dir: tempfile::TempDir, cfg: &str) -> Server {
        let cfg_path = dir.path().join("im.cfg");
        std::fs::write(&cfg_path, format!("[im]\n{cfg}\n")).unwrap();
        let db = format!("sqlite://{}/im.db", dir.path().display());
        let (child, base) = spawn_serve(&["--db", &db], &cfg_path);
        Server { child, base, dir }
    }

    /// Sends SIGTERM and waits for the exit; returns the data directory.
    pub fn stop(mut self) -> (std::process::ExitStatus, tempfile::TempDir) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let status = self.child.wait().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let dir = std::mem::replace(&mut self.dir, dir);
        (status, dir)
    }

    /// Kills the server with SIGKILL (no chance to finish anything) and
    /// returns the data directory.
    pub fn kill(mut self) -> tempfile::TempDir {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response as a client sees it.
pub struct Resp {
    pub status: u16,
    pub content_type: String,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// One request: method, path, headers, body.
pub async fn req(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Resp {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut r = client.request(method.parse().unwrap(), format!("{base}{path}"));
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    if let Some(b) = body {
        r = r.body(b.to_string());
    }
    let resp = r.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = resp.text().await.unwrap();
    Resp {
        status,
        content_type,
        headers,
        body,
    }
}

/// Starts `im serve` on an ephemeral loopback port with these extra
/// arguments and configuration file; the child and its base URL, read from
/// the line it prints once it listens.
pub fn spawn_serve(args: &[&str], cfg: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_im"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .arg("--config")
        .arg(cfg)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let base = line
        .trim()
        .strip_prefix("im listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_string();
    (child, base)
}

/// What a request got: status and body, or the transport error (the server
/// died).
pub type Answer = Result<(u16, String), String>;

/// A shared HTTP client (one connection pool for all of a test's tasks).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .unwrap()
}

/// A request as `auth` asking for JSON, with a `text/plain` body unless
/// `body` is empty.
pub async fn call_as(
    c: &reqwest::Client,
    base: &str,
    auth: &str,
    method: &str,
    path: &str,
    body: &str,
) -> Answer {
    let mut r = c
        .request(method.parse().unwrap(), format!("{base}{path}"))
        .header("Authorization", auth)
        .header("Accept", "application/json");
    if !body.is_empty() {
        r = r
            .header("Content-Type", "text/plain")
            .body(body.to_string());
    }
    let resp = r.send().await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let text = resp.text().await.map_err(|e| e.to_string())?;
    Ok((status, text))
}
