//! A lean load client for the create benchmarks (`scripts/bench-service`,
//! `scripts/bench-multi`): the same requests as `../shared/peer/bench.py`'s
//! create phases — `POST /infrastructures?async=0` of a 1-VM Dummy RADL with
//! `contextualize ()` over keep-alive HTTP/1.1 — from a client that costs a
//! few microseconds per request instead of Python's quarter millisecond, so
//! that what a rate measures is the server. Run against the reference and
//! ours in the same run, as bench.py is.
//!
//! ```text
//! cargo run --release -p im --example bench_creates -- http://127.0.0.1:8800 [N] [CLIENTS] [BASE2 ...]
//! ```
//! Phases: `N` sequential creates, then `N` creates from `CLIENTS` threads
//! (round-robin over every base URL given, one connection each), then the
//! destroy of all of them from `CLIENTS` threads. One line per phase, in
//! bench.py's format. With `BENCH_ONLY_SEQUENTIAL` set, only the first phase.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The 1-VM Dummy infrastructure of `../shared/peer/bench.py`.
const RADL: &str = include_str!("dummy-1vm.radl");

/// One keep-alive connection.
struct Conn {
    addr: String,
    prefix: String,
    auth: String,
    stream: Option<BufReader<TcpStream>>,
}

impl Conn {
    fn new(base: &str, auth: &str) -> anyhow::Result<Conn> {
        let rest = base
            .strip_prefix("http://")
            .context("the base URL must be http://")?;
        let (addr, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
        if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
            bail!("refusing a non-loopback base URL {base}");
        }
        let prefix = if prefix.is_empty() {
            String::new()
        } else {
            format!("/{}", prefix.trim_end_matches('/'))
        };
        Ok(Conn {
            addr: addr.to_string(),
            prefix,
            auth: auth.to_string(),
            stream: None,
        })
    }

    /// Sends one request; returns the status and body. Reconnects once when
    /// the server closed a kept-alive connection.
    fn req(&mut self, method: &str, path: &str, body: &str) -> anyhow::Result<(u16, String)> {
        for attempt in 0..2 {
            match self.try_req(method, path, body) {
                Ok(r) => return Ok(r),
                Err(e) => {
                    self.stream = None;
                    if attempt == 1 {
                        return Err(e);
                    }
                }
            }
        }
        bail!("unreachable")
    }

    fn try_req(&mut self, method: &str, path: &str, body: &str) -> anyhow::Result<(u16, String)> {
        if self.stream.is_none() {
            let s = TcpStream::connect(&self.addr)?;
            s.set_nodelay(true)?;
            s.set_read_timeout(Some(Duration::from_secs(120)))?;
            self.stream = Some(BufReader::new(s));
        }
        let Some(stream) = self.stream.as_mut() else {
            bail!("no connection");
        };
        let req = format!(
            "{method} {}{path} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
            self.prefix,
            self.addr,
            self.auth,
            body.len()
        );
        stream.get_mut().write_all(req.as_bytes())?;
        let mut line = String::new();
        stream.read_line(&mut line)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .context("no status line")?
            .parse()?;
        let (mut len, mut chunked, mut close) = (None, false, false);
        loop {
            line.clear();
            if stream.read_line(&mut line)? == 0 {
                bail!("connection closed in the headers");
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
                match k.as_str() {
                    "content-length" => len = Some(v.parse::<usize>()?),
                    "transfer-encoding" => chunked = v.eq_ignore_ascii_case("chunked"),
                    "connection" => close = v.eq_ignore_ascii_case("close"),
                    _ => {}
                }
            }
        }
        let mut buf = Vec::new();
        if chunked {
            loop {
                line.clear();
                stream.read_line(&mut line)?;
                let size = usize::from_str_radix(line.trim(), 16)?;
                let mut chunk = vec![0; size + 2];
                stream.read_exact(&mut chunk)?;
                chunk.truncate(size);
                buf.extend_from_slice(&chunk);
                if size == 0 {
                    break;
                }
            }
        } else if let Some(n) = len {
            buf.resize(n, 0);
            stream.read_exact(&mut buf)?;
        } else {
            stream.read_to_end(&mut buf)?;
            close = true;
        }
        if close {
            self.stream = None;
        }
        Ok((status, String::from_utf8_lossy(&buf).into_owned()))
    }
}

/// Runs `items` through `f` on `clients` threads, connection `i` to
/// `bases[i % len]`; returns the latencies of the successes, the errors and
/// the wall time.
fn run<T: Sync, R: Send>(
    bases: &[String],
    auth: &str,
    clients: usize,
    items: &[T],
    f: impl Fn(&mut Conn, &T) -> anyhow::Result<R> + Sync,
) -> (Vec<Duration>, Vec<R>, usize, Duration) {
    let next = AtomicUsize::new(0);
    let out = Mutex::new((Vec::new(), Vec::new(), 0usize));
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for c in 0..clients {
            let (next, out, f) = (&next, &out, &f);
            let base = &bases[c % bases.len()];
            s.spawn(move || {
                let Ok(mut conn) = Conn::new(base, auth) else {
                    return;
                };
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { return };
                    let t = Instant::now();
                    let res = f(&mut conn, item);
                    let dt = t.elapsed();
                    let mut o = out.lock().unwrap_or_else(|p| p.into_inner());
                    match res {
                        Ok(r) => {
                            o.0.push(dt);
                            o.1.push(r);
                        }
                        Err(e) => {
                            if o.2 < 3 {
                                eprintln!("error: {e:#}");
                            }
                            o.2 += 1;
                        }
                    }
                }
            });
        }
    });
    let wall = t0.elapsed();
    let (lat, res, errors) = out.into_inner().unwrap_or_else(|p| p.into_inner());
    (lat, res, errors, wall)
}

fn report(name: &str, lat: &mut [Duration], errors: usize, wall: Duration) {
    lat.sort();
    let pct = |p: f64| {
        if lat.is_empty() {
            return f64::NAN;
        }
        let k = ((p / 100.0 * (lat.len() - 1) as f64).round() as usize).min(lat.len() - 1);
        lat[k].as_secs_f64() * 1000.0
    };
    let n = lat.len() + errors;
    println!(
        "{name:<30} n={:<4} err={errors:<3} wall={:6.2}s {:8.2} req/s p50={:7.2}ms p90={:7.2}ms p99={:7.2}ms max={:7.2}ms",
        lat.len(),
        wall.as_secs_f64(),
        n as f64 / wall.as_secs_f64(),
        pct(50.0),
        pct(90.0),
        pct(99.0),
        pct(100.0),
    );
}

fn create(conn: &mut Conn) -> anyhow::Result<String> {
    let (status, body) = conn.req("POST", "/infrastructures?async=0", RADL)?;
    if status != 200 {
        bail!(
            "create: HTTP {status} {}",
            body.chars().take(200).collect::<String>()
        );
    }
    Ok(body
        .trim()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(first) = args.first() else {
        bail!("usage: bench_creates BASE_URL [N] [CLIENTS] [BASE_URL2 ...]");
    };
    let n: usize = args.get(1).map_or(Ok(200), |s| s.parse())?;
    let clients: usize = args.get(2).map_or(Ok(16), |s| s.parse())?;
    if !(1..=100_000).contains(&n) || !(1..=256).contains(&clients) {
        bail!("N must be 1..=100000 and CLIENTS 1..=256");
    }
    let mut bases = vec![first.clone()];
    bases.extend(args.iter().skip(3).cloned());
    let user = format!("bench-{}", &uuid_like()[8..]);
    let auth = format!(
        "id = im; type = InfrastructureManager; username = {user}; password = pw\\nid = dummy; type = Dummy"
    );
    println!(
        "bench_creates against {}, N={n}, clients={clients}, user {user}",
        bases.join(" ")
    );

    // One create first, so that connection set-up and lazy initialisation
    // stay out of the figures (bench.py's first request is GET /version).
    let mut warm = Conn::new(first, &auth)?;
    let warm_id = create(&mut warm)?;

    let items: Vec<()> = vec![(); n];
    let (mut lat, mut ids, err, wall) = run(&bases[..1], &auth, 1, &items, |c, _| create(c));
    report("a: create sequential", &mut lat, err, wall);
    // For profiling the sequential path alone.
    if std::env::var_os("BENCH_ONLY_SEQUENTIAL").is_some() {
        return Ok(());
    }
    let (mut lat, ids2, err, wall) = run(&bases, &auth, clients, &items, |c, _| create(c));
    report(&format!("b: create x{clients}"), &mut lat, err, wall);

    ids.extend(ids2);
    ids.push(warm_id);
    let (mut lat, _, err, wall) = run(&bases, &auth, clients, &ids, |c, id: &String| {
        let (status, body) = c.req("DELETE", &format!("/infrastructures/{id}"), "")?;
        if status != 200 {
            bail!("destroy {id}: HTTP {status} {body}");
        }
        Ok(())
    });
    report(&format!("e: destroy x{clients}"), &mut lat, err, wall);
    Ok(())
}

/// A random-enough hex string for the bench user's name.
fn uuid_like() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{:016x}",
        (t as u64) ^ u64::from(std::process::id()).rotate_left(32)
    )
}
