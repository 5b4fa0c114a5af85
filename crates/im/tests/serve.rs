//! `im serve` as an operator runs it: the real binary, its configuration
//! sources (im.cfg, `IM_DATA_DB`, `--listen`, `--db`), its log, HTTPS, the
//! exit codes of start-up failures, and the graceful stop on SIGTERM/SIGINT.

#![allow(clippy::unwrap_used)] // a panic is the failure report

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const AUTH: &str =
    r"type = InfrastructureManager; username = user; password = pass\nid = dummy; type = Dummy";
const RADL: &str = "network publica (outbound = 'yes')\nsystem front (cpu.count>=1 and memory.size>=512m and net_interface.0.connection = 'publica' and disk.0.os.name = 'linux' and disk.0.image.url = 'mock0://linux.for.ev.er')\ndeploy front 1\ncontextualize ()";

/// A running `im serve`; killed on drop.
struct Service {
    child: Child,
    /// `http://127.0.0.1:PORT` (or https).
    base: String,
    /// Everything printed on standard output, the listening line included.
    out: Arc<Mutex<String>>,
    /// Everything printed on standard error.
    err: Arc<Mutex<String>>,
}

/// How to start the service.
struct Start<'a> {
    args: Vec<String>,
    cwd: &'a Path,
    env: Vec<(&'a str, String)>,
}

impl<'a> Start<'a> {
    fn new(cwd: &'a Path, args: &[&str]) -> Self {
        Start {
            args: args.iter().map(|a| a.to_string()).collect(),
            cwd,
            env: Vec::new(),
        }
    }

    fn env(mut self, k: &'a str, v: impl Into<String>) -> Self {
        self.env.push((k, v.into()));
        self
    }

    fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_im"));
        c.arg("serve")
            .args(&self.args)
            .current_dir(self.cwd)
            .env_remove("IM_DATA_DB")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// Starts and waits for the listening line.
    fn spawn(self) -> Service {
        let mut child = self.command().spawn().unwrap();
        let out = Arc::new(Mutex::new(String::new()));
        let err = Arc::new(Mutex::new(String::new()));
        drain(child.stderr.take().unwrap(), err.clone());
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let base = loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 {
                let _ = child.wait();
                panic!(
                    "im serve ended before listening:\n{}{}",
                    out.lock().unwrap(),
                    err.lock().unwrap()
                );
            }
            out.lock().unwrap().push_str(&line);
            if let Some(url) = line.trim().strip_prefix("im listening on ") {
                break url.to_string();
            }
        };
        drain(reader, out.clone());
        Service {
            child,
            base,
            out,
            err,
        }
    }

    /// Runs to its end (a start-up failure): exit status, stdout, stderr.
    fn fail(self) -> (ExitStatus, String, String) {
        let mut child = self.command().spawn().unwrap();
        let out = Arc::new(Mutex::new(String::new()));
        let err = Arc::new(Mutex::new(String::new()));
        let t1 = drain(child.stdout.take().unwrap(), out.clone());
        let t2 = drain(child.stderr.take().unwrap(), err.clone());
        let status = wait_at_most(&mut child, Duration::from_secs(60)).expect("it must stop");
        t1.join().unwrap();
        t2.join().unwrap();
        let out = out.lock().unwrap().clone();
        let err = err.lock().unwrap().clone();
        (status, out, err)
    }
}

/// Copies a stream into a buffer until its end, in a thread.
fn drain(
    mut r: impl Read + Send + 'static,
    into: Arc<Mutex<String>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = r.read(&mut buf) {
            if n == 0 {
                break;
            }
            into.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    })
}

fn wait_at_most(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(s) = child.try_wait().unwrap() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

impl Service {
    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig}");
    }

    /// Sends the signal; the exit status within `limit`, and the output.
    fn stop_with(mut self, sig: &str, limit: Duration) -> (ExitStatus, String) {
        self.signal(sig);
        let status = wait_at_most(&mut self.child, limit)
            .unwrap_or_else(|| panic!("still running {limit:?} after {sig}"));
        // Let the readers see the end of the pipes.
        std::thread::sleep(Duration::from_millis(100));
        let all = format!("{}{}", self.out.lock().unwrap(), self.err.lock().unwrap());
        (status, all)
    }

    fn addr(&self) -> String {
        self.base
            .strip_prefix("http://")
            .or_else(|| self.base.strip_prefix("https://"))
            .unwrap()
            .to_string()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn get(url: &str, auth: Option<&str>) -> (u16, String) {
    let client = reqwest::Client::new();
    let mut r = client.get(url);
    if let Some(a) = auth {
        r = r.header("Authorization", a);
    }
    let resp = r.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

#[tokio::test]
async fn serves_on_the_port_it_prints_and_stops_on_sigterm_within_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let s = Start::new(
        dir.path(),
        &["--listen", "127.0.0.1:0", "--db", &sqlite_url(&db)],
    )
    .spawn();
    assert!(s.base.starts_with("http://127.0.0.1:"), "{}", s.base);
    assert!(
        !s.base.ends_with(":0"),
        "the real port is printed: {}",
        s.base
    );
    // A client that keeps its connection open does not hold the stop.
    let client = reqwest::Client::new();
    let r = client
        .get(format!("{}/version", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.text().await.unwrap(), "2.0.0");
    assert!(db.exists(), "the SQLite file is created");
    let (status, log) = s.stop_with("-TERM", Duration::from_secs(5));
    assert!(status.success(), "{status}\n{log}");
    drop(client);
    assert!(log.contains("SIGTERM"), "{log}");
    assert!(log.contains("im stopped"), "{log}");
}

#[test]
fn sigint_and_sighup_stop_it_too() {
    for sig in ["-INT", "-HUP"] {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite_url(&dir.path().join("x.db"));
        let s = Start::new(dir.path(), &["--listen", "127.0.0.1:0", "--db", &db]).spawn();
        let (status, log) = s.stop_with(sig, Duration::from_secs(5));
        assert!(status.success(), "{sig}: {status}\n{log}");
        assert!(log.contains("im stopped"), "{sig}: {log}");
    }
}

#[test]
fn a_request_in_flight_finishes_after_sigterm_and_new_connections_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = Start::new(
        dir.path(),
        &[
            "--listen",
            "127.0.0.1:0",
            "--db",
            &sqlite_url(&dir.path().join("x.db")),
        ],
    )
    .spawn();
    // Half a request: the headers and part of the body.
    let body = RADL.as_bytes();
    let mut conn = TcpStream::connect(s.addr()).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let head = format!(
        "POST /infrastructures HTTP/1.1\r\nHost: {}\r\nAuthorization: {AUTH}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
        s.addr(),
        body.len()
    );
    conn.write_all(head.as_bytes()).unwrap();
    conn.write_all(&body[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    s.signal("-TERM");
    let start = Instant::now();
    while TcpStream::connect(s.addr()).is_ok() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "new connections are refused while stopping"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The request in flight completes and is answered.
    conn.write_all(&body[10..]).unwrap();
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("/infrastructures/"), "{answer}");
    let (status, log) = s.stop_with("-0", Duration::from_secs(5));
    assert!(status.success(), "{status}\n{log}");
}

#[test]
fn a_second_signal_cuts_a_stalled_request_short() {
    let dir = tempfile::tempdir().unwrap();
    let s = Start::new(
        dir.path(),
        &[
            "--listen",
            "127.0.0.1:0",
            "--db",
            &sqlite_url(&dir.path().join("x.db")),
        ],
    )
    .spawn();
    // A request whose body never comes would hold the stop for the drain deadline.
    let mut conn = TcpStream::connect(s.addr()).unwrap();
    conn.write_all(b"POST /infrastructures HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    s.signal("-TERM");
    std::thread::sleep(Duration::from_millis(300));
    let (status, log) = s.stop_with("-TERM", Duration::from_secs(3));
    assert!(status.success(), "{status}\n{log}");
    assert!(log.contains("cut off"), "{log}");
}

#[tokio::test]
async fn what_was_created_is_there_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(&dir.path().join("x.db"));
    let args = ["--listen", "127.0.0.1:0", "--db", db.as_str()];
    let s = Start::new(dir.path(), &args).spawn();
    let r = reqwest::Client::new()
        .post(format!("{}/infrastructures", s.base))
        .header("Authorization", AUTH)
        .body(RADL)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let uri = r.text().await.unwrap();
    let id = uri.rsplit('/').next().unwrap().to_string();
    let (status, log) = s.stop_with("-TERM", Duration::from_secs(5));
    assert!(status.success(), "{status}\n{log}");

    let s = Start::new(dir.path(), &args).spawn();
    let (status, body) = get(&format!("{}/infrastructures", s.base), Some(AUTH)).await;
    assert_eq!(status, 200);
    assert!(body.contains(&id), "{body}");
    let (status, body) = get(
        &format!("{}/infrastructures/{id}/state", s.base),
        Some(AUTH),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn an_im_cfg_is_honoured_and_unknown_options_are_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = dir.path().join("im.cfg");
    std::fs::write(
        &cfg,
        format!(
            "[im]\n# as the reference's etc/im.cfg writes them\nREST_PORT = {port}\nrest_address: 127.0.0.1\n\
             REST_ROOT_PATH = /im\nDATA_DB = {}\nLOG_LEVEL = INFO\nNO_SUCH_OPTION = 1\n",
            sqlite_url(&dir.path().join("from-cfg.db"))
        ),
    )
    .unwrap();
    let s = Start::new(dir.path(), &["--config", cfg.to_str().unwrap()]).spawn();
    assert_eq!(s.base, format!("http://127.0.0.1:{port}"));
    let (status, body) = get(&format!("{}/im/version", s.base), None).await;
    assert_eq!((status, body.as_str()), (200, "2.0.0"));
    assert!(dir.path().join("from-cfg.db").exists());
    let (status, log) = s.stop_with("-TERM", Duration::from_secs(5));
    assert!(status.success());
    assert!(
        log.contains("unknown option NO_SUCH_OPTION"),
        "the unknown option is named: {log}"
    );
    assert!(log.contains(&cfg.display().to_string()), "{log}");
}

#[test]
fn im_data_db_overrides_the_file_and_db_overrides_both() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("im.cfg");
    std::fs::write(
        &cfg,
        format!(
            "[im]\nDATA_DB = {}\n",
            sqlite_url(&dir.path().join("cfg.db"))
        ),
    )
    .unwrap();
    let cfg = cfg.to_str().unwrap();
    let s = Start::new(dir.path(), &["--config", cfg, "--listen", "127.0.0.1:0"])
        .env("IM_DATA_DB", sqlite_url(&dir.path().join("env.db")))
        .spawn();
    drop(s.stop_with("-TERM", Duration::from_secs(5)));
    assert!(dir.path().join("env.db").exists());
    assert!(!dir.path().join("cfg.db").exists());

    let s = Start::new(
        dir.path(),
        &[
            "--config",
            cfg,
            "--listen",
            "127.0.0.1:0",
            "--db",
            &sqlite_url(&dir.path().join("flag.db")),
        ],
    )
    .env("IM_DATA_DB", sqlite_url(&dir.path().join("env2.db")))
    .spawn();
    drop(s.stop_with("-TERM", Duration::from_secs(5)));
    assert!(dir.path().join("flag.db").exists());
    assert!(!dir.path().join("env2.db").exists());
    assert!(!dir.path().join("cfg.db").exists());
}

/// The reference's search paths around the test binary, plus /etc/im.
fn search_paths() -> Vec<PathBuf> {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_im"))
        .canonicalize()
        .unwrap();
    let base = exe.parent().unwrap().parent().unwrap().to_path_buf();
    vec![
        base.join("im.cfg"),
        base.join("etc/im.cfg"),
        PathBuf::from("/etc/im/im.cfg"),
    ]
}

#[tokio::test]
async fn without_any_configuration_the_data_goes_to_im_data_in_the_working_directory() {
    if let Some(p) = search_paths().into_iter().find(|p| p.exists()) {
        eprintln!(
            "SKIPPED: {} exists and configures this service",
            p.display()
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Only the port is chosen (8800 may be taken); the Config unit tests check
    // that the default address is 127.0.0.1:8800.
    let s = Start::new(dir.path(), &["--listen", "127.0.0.1:0"]).spawn();
    let (status, _) = get(&format!("{}/version", s.base), None).await;
    assert_eq!(status, 200);
    assert!(dir.path().join("im-data/im.db").exists());
    let (status, log) = s.stop_with("-TERM", Duration::from_secs(5));
    assert!(status.success(), "{log}");
}

#[test]
fn start_up_failures_exit_2_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let (status, _, err) = Start::new(dir.path(), &["--config", "/nonexistent/im.cfg"]).fail();
    assert_eq!(status.code(), Some(2));
    assert!(
        err.contains("cannot read the configuration /nonexistent/im.cfg"),
        "{err}"
    );

    let cfg = dir.path().join("bad.cfg");
    std::fs::write(&cfg, "[im]\nREST_SSL = maybe\n").unwrap();
    let (status, _, err) = Start::new(dir.path(), &["--config", cfg.to_str().unwrap()]).fail();
    assert_eq!(status.code(), Some(2));
    assert!(
        err.contains("REST_SSL") && err.contains("not a boolean"),
        "{err}"
    );

    let (status, _, err) = Start::new(dir.path(), &["--listen", "localhost"]).fail();
    assert_eq!(status.code(), Some(2));
    assert!(err.contains("ADDRESS:PORT"), "{err}");

    // A database that does not answer; its password is never printed.
    let (status, out, err) = Start::new(
        dir.path(),
        &[
            "--listen",
            "127.0.0.1:0",
            "--db",
            "postgres://im:s3cret-pw@127.0.0.1:1/im",
        ],
    )
    .fail();
    assert_eq!(status.code(), Some(2), "{out}{err}");
    assert!(err.contains("cannot open the database"), "{err}");
    assert!(err.contains("postgres://im:***@127.0.0.1:1/im"), "{err}");
    assert!(!out.contains("s3cret-pw") && !err.contains("s3cret-pw"));

    let (status, _, err) = Start::new(
        dir.path(),
        &["--listen", "127.0.0.1:0", "--db", "mongodb://127.0.0.1/im"],
    )
    .fail();
    assert_eq!(status.code(), Some(2));
    assert!(err.contains("cannot open the database mongodb://"), "{err}");

    // The address is taken.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (status, _, err) = Start::new(
        dir.path(),
        &[
            "--listen",
            &addr,
            "--db",
            &sqlite_url(&dir.path().join("x.db")),
        ],
    )
    .fail();
    assert_eq!(status.code(), Some(2));
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
}

#[tokio::test]
async fn credentials_never_reach_the_log_even_at_trace_level() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("im.cfg");
    std::fs::write(
        &cfg,
        "[im]\nLOG_LEVEL = DEBUG\nADMIN_USER = {\"username\": \"root\", \"password\": \"adm1n-secret\"}\n\
         OIDC_CLIENT_SECRET = client-secret-value\n",
    )
    .unwrap();
    let s = Start::new(
        dir.path(),
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--db",
            &sqlite_url(&dir.path().join("x.db")),
        ],
    )
    .env("RUST_LOG", "trace")
    .spawn();
    let auth = r"type = InfrastructureManager; username = user; password = pa55-in-header\nid = one; type = OpenNebula; host = h:2633; username = u; password = cloud-pa55";
    let (status, _) = get(&format!("{}/infrastructures", s.base), Some(auth)).await;
    assert_eq!(status, 200);
    let r = reqwest::Client::new()
        .post(format!("{}/infrastructures", s.base))
        .header("Authorization", AUTH.replace("pass", "pa55-in-create"))
        .body(RADL)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let (status, log) = s.stop_with("-TERM", Duration::from_secs(5));
    assert!(status.success());
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "trace logging is on"
    );
    for secret in [
        "pa55-in-header",
        "cloud-pa55",
        "pa55-in-create",
        "adm1n-secret",
        "client-secret-value",
    ] {
        assert!(!log.contains(secret), "{secret} is in the log:\n{log}");
    }
}

/// A self-signed certificate for 127.0.0.1 (`openssl` on the PATH), or `None`.
fn self_signed(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let ok = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some((cert, key))
}

#[tokio::test]
async fn rest_ssl_serves_https_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let Some((cert, key)) = self_signed(dir.path()) else {
        eprintln!("SKIPPED: openssl is needed to make a test certificate");
        return;
    };
    let cfg = dir.path().join("im.cfg");
    std::fs::write(
        &cfg,
        format!(
            "[im]\nREST_SSL = True\nREST_SSL_KEYFILE = {}\nREST_SSL_CERTFILE = {}\n",
            key.display(),
            cert.display()
        ),
    )
    .unwrap();
    let s = Start::new(
        dir.path(),
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--db",
            &sqlite_url(&dir.path().join("x.db")),
        ],
    )
    .spawn();
    assert!(s.base.starts_with("https://127.0.0.1:"), "{}", s.base);
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let r = client
        .get(format!("{}/version", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.text().await.unwrap(), "2.0.0");
    // Plain HTTP on the TLS port gets no answer.
    assert!(
        reqwest::get(format!("http://{}/version", s.addr()))
            .await
            .is_err()
    );
    let (status, log) = s.stop_with("-TERM", Duration::from_secs(5));
    assert!(status.success(), "{log}");

    // A missing key file is a start-up failure.
    std::fs::remove_file(&key).unwrap();
    let (status, _, err) = Start::new(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "--listen", "127.0.0.1:0"],
    )
    .fail();
    assert_eq!(status.code(), Some(2));
    assert!(
        err.contains("REST_SSL: cannot load the certificate"),
        "{err}"
    );
}
