//! A canned IM REST API on a loopback port, recording every request, and a
//! runner for the `im` client (and for the reference `im_client`) in a
//! scratch directory.

#![allow(dead_code, clippy::unwrap_used)] // shared by several test files

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

/// The auth file of the tests.
pub const AUTH_FILE: &str = "id = im; type = InfrastructureManager; username = user; password = pass\nid = dummy; type = Dummy\n";
/// The header `im_client` builds from [`AUTH_FILE`].
pub const AUTH_HEADER: &str = r"id = im;type = InfrastructureManager;username = user;password = pass;\nid = dummy;type = Dummy;\n";
/// A small valid RADL.
pub const RADL: &str = "network public ( outbound = 'yes' )\nsystem node (\ncpu.count >= 1 and\nmemory.size >= 512m and\nnet_interface.0.connection = 'public' and\ndisk.0.os.name = 'linux' and\ndisk.0.image.url = 'dummy://image'\n)\ncontextualize ()\ndeploy node 1\n";
/// An infrastructure id.
pub const INF: &str = "915828b6-eae0-11f1-b4bd-02fc00000001";
/// The VM info the Dummy connector gives.
pub const VM_INFO: &str = "network public ( outbound = 'yes' )\nnetwork private (  )\nsystem node (\ncpu.count >= 1 and\nmemory.size >= 512m and\nnet_interface.0.connection = 'public' and\nnet_interface.1.connection = 'private' and\ndisk.0.os.name = 'linux' and\ndisk.0.image.url = 'dummy://image' and\nstate = 'configured' and\nprovider.type = 'Dummy' and\nnet_interface.0.ip = '10.0.0.1' and\ndisk.0.os.credentials.username = 'username' and\ndisk.0.os.credentials.password = 'password' and\nnet_interface.0.dns_name = 'vnode-0'\n)\n\n";

/// One request as the stub received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, percent-decoded.
    pub path: String,
    /// The query string, percent-decoded (`+` kept), empty when none.
    pub query: String,
    /// Header names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl Recorded {
    /// The value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `METHOD path[?query]`.
    pub fn line(&self) -> String {
        if self.query.is_empty() {
            format!("{} {}", self.method, self.path)
        } else {
            format!("{} {}?{}", self.method, self.path, self.query)
        }
    }
}

/// A canned answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Content type.
    pub content_type: String,
    /// Body.
    pub body: String,
}

/// A `text/plain` answer.
pub fn text(status: u16, body: &str) -> Reply {
    Reply {
        status,
        content_type: "text/plain; charset=utf-8".into(),
        body: body.into(),
    }
}

/// An `application/json` answer.
pub fn json(status: u16, body: &str) -> Reply {
    Reply {
        status,
        content_type: "application/json".into(),
        body: body.into(),
    }
}

/// A `text/uri-list` answer.
pub fn uri_list(body: &str) -> Reply {
    Reply {
        status: 200,
        content_type: "text/uri-list; charset=utf-8".into(),
        body: body.into(),
    }
}

type Routes = dyn Fn(&Recorded) -> Reply + Send + Sync;

/// The stub server.
pub struct Stub {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    log: Arc<Mutex<Vec<Recorded>>>,
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn handle(stream: TcpStream, routes: &Routes, log: &Mutex<Vec<Recorded>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(std::time::Duration::from_secs(20)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end_matches(['\r', '\n']);
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let req = Recorded {
        method,
        path: decode(path),
        query: decode(query),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let reply = routes(&req);
    log.lock().unwrap().push(req);
    let reason = match reply.status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        _ => "Other",
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {} {reason}\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
        reply.status,
        reply.content_type,
        reply.body.len(),
        reply.body
    )?;
    stream.flush()
}

impl Stub {
    /// Starts a stub answering with `routes`.
    pub fn start(routes: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let routes: Arc<Routes> = Arc::new(routes);
        let thread_log = Arc::clone(&log);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let routes = Arc::clone(&routes);
                let log = Arc::clone(&thread_log);
                std::thread::spawn(move || {
                    let _ = handle(stream, &*routes, &log);
                });
            }
        });
        Stub { url, log }
    }

    /// A stub answering from a table of `(method, path, reply)`; anything else
    /// is a 404 `{"detail":"Not Found"}`.
    pub fn table(table: Vec<(&str, &str, Reply)>) -> Stub {
        let table: Vec<(String, String, Reply)> = table
            .into_iter()
            .map(|(m, p, r)| (m.to_string(), p.to_string(), r))
            .collect();
        Stub::start(move |req| {
            table
                .iter()
                .find(|(m, p, _)| *m == req.method && *p == req.path)
                .map(|(_, _, r)| r.clone())
                .unwrap_or_else(|| json(404, r#"{"detail":"Not Found"}"#))
        })
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }

    /// Forgets the requests received so far.
    pub fn clear(&self) {
        self.log.lock().unwrap().clear();
    }
}

/// What a client run printed.
#[derive(Debug)]
pub struct Out {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// A scratch directory holding the auth file and the documents; also the
/// `HOME` of the client runs.
pub struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    /// A directory with `auth.dat` = [`AUTH_FILE`].
    pub fn new() -> Scratch {
        let s = Scratch {
            dir: tempfile::tempdir().unwrap(),
        };
        s.write("auth.dat", AUTH_FILE);
        s
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file of the directory.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Runs `exe args` here with `stdin`.
    pub fn run(&self, exe: &str, args: &[&str], stdin: &str) -> Out {
        let mut cmd = Command::new(exe);
        cmd.current_dir(self.dir.path())
            .args(args)
            .env("HOME", self.dir.path())
            .env("PYTHONIOENCODING", "utf-8")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for v in [
            "http_proxy",
            "https_proxy",
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "all_proxy",
            "ALL_PROXY",
        ] {
            cmd.env_remove(v);
        }
        cmd.env("NO_PROXY", "*");
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {exe}: {e}"));
        let mut input = child.stdin.take().unwrap();
        let _ = input.write_all(stdin.as_bytes());
        drop(input);
        let out = child.wait_with_output().unwrap();
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs our client.
    pub fn im(&self, args: &[&str]) -> Out {
        self.run(env!("CARGO_BIN_EXE_im"), args, "")
    }

    /// Runs our client with standard input.
    pub fn im_stdin(&self, args: &[&str], stdin: &str) -> Out {
        self.run(env!("CARGO_BIN_EXE_im"), args, stdin)
    }
}

/// The reference client, when installed (scripts/test installs it; `IM_CLIENT`
/// overrides the path).
pub fn reference_client() -> Option<String> {
    let exe = std::env::var("IM_CLIENT")
        .unwrap_or_else(|_| "/var/tmp/im-client-venv/bin/im_client".into());
    Path::new(&exe).is_file().then_some(exe)
}
