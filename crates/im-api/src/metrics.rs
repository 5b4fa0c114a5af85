//! `GET /metrics` (Prometheus text exposition 0.0.4, written by hand) and
//! `GET /health`.
//!
//! The request counters and the duration histograms live in memory, per
//! process, from the start of the server: each instance behind a balancer is
//! scraped on its own. The infrastructure and VM gauges are read from the
//! store, so every instance sharing a database reports the same figures: in
//! pages (a store of 100,000 never sits in memory at once), one scrape at a
//! time, and, when a walk is costly (a large store), its result serves the
//! scrapes of the next ten times as long, so that scraping keeps under about
//! a tenth of the server's time.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use im_core::{Infrastructure, Manager, aggregate};
use serde_json::json;

use crate::negotiate::json_response;

/// Upper bounds of the request duration histogram, in seconds.
const BUCKETS: [f64; 13] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How long `/health` and the gauges wait for the database.
const DB_TIMEOUT: Duration = Duration::from_secs(5);

/// Infrastructures read per page of the gauges' walk.
const PAGE: usize = 500;

/// A walk of the store shorter than this is never reused: small stores are
/// always counted afresh.
const CHEAP_WALK: Duration = Duration::from_millis(100);

/// The route label of a request that matched no route.
pub(crate) const UNMATCHED: &str = "unmatched";

#[derive(Default)]
struct Histogram {
    /// Observations at or below each bound of [`BUCKETS`] (not cumulative).
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, secs: f64) {
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i] += 1;
        }
        self.count += 1;
        self.sum += secs;
    }
}

/// Labels of a request series: route template and method.
type RouteKey = (&'static str, &'static str);

/// The request counters and duration histograms of this process.
#[derive(Default)]
pub(crate) struct Metrics {
    requests: Mutex<BTreeMap<(RouteKey, u16), u64>>,
    durations: Mutex<BTreeMap<RouteKey, Histogram>>,
    /// The last walk of the store: when it ended, how long it took, what it
    /// counted. Held across a walk, so that concurrent scrapes share one.
    gauges: tokio::sync::Mutex<Option<(Instant, Duration, Gauges)>>,
}

/// The method label: the standard methods by name, anything else `other`
/// (a client must not create series at will).
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

impl Metrics {
    /// Counts one answered request.
    pub(crate) fn record(&self, route: &'static str, method: &Method, status: u16, took: Duration) {
        let key = (route, method_label(method));
        {
            let mut r = self.requests.lock().unwrap_or_else(|p| p.into_inner());
            *r.entry((key, status)).or_insert(0) += 1;
        }
        let mut d = self.durations.lock().unwrap_or_else(|p| p.into_inner());
        d.entry(key).or_default().observe(took.as_secs_f64());
    }

    fn write_requests(&self, out: &mut String) {
        out.push_str("# HELP im_http_requests_total HTTP requests answered, by route template, method and status.\n");
        out.push_str("# TYPE im_http_requests_total counter\n");
        let r = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        for (((route, method), status), n) in r.iter() {
            let _ = writeln!(
                out,
                "im_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}"
            );
        }
        drop(r);
        out.push_str("# HELP im_http_request_duration_seconds Time to answer a request (the operation included), by route template and method.\n");
        out.push_str("# TYPE im_http_request_duration_seconds histogram\n");
        let d = self.durations.lock().unwrap_or_else(|p| p.into_inner());
        for ((route, method), h) in d.iter() {
            let labels = format!("route=\"{route}\",method=\"{method}\"");
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(h.buckets) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "im_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "im_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "im_http_request_duration_seconds_sum{{{labels}}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "im_http_request_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }
    }
}

/// Live infrastructures and VMs by state, from the store.
#[derive(Default, Clone)]
struct Gauges {
    infrastructures: BTreeMap<String, u64>,
    vms: BTreeMap<String, u64>,
    /// Rows the server cannot read back (corrupt data).
    unreadable: u64,
}

/// Reads every infrastructure of the store, page by page, and counts the live
/// ones by state (the reference's aggregation, as `GET …/state` answers). Costs a
/// full read of the store: about as much as `GET /stats` of every user.
async fn walk(manager: &Manager) -> Result<Gauges, String> {
    let mut g = Gauges::default();
    let mut after = String::new();
    loop {
        let page =
            match tokio::time::timeout(DB_TIMEOUT, manager.store().load_page(&after, PAGE)).await {
                Ok(r) => r.map_err(|e| e.to_string())?,
                Err(_) => return Err("the database did not answer in time".into()),
            };
        let Some(last) = page.last() else {
            return Ok(g);
        };
        after.clone_from(&last.id);
        let full = page.len() == PAGE;
        for s in page.iter().filter(|s| !s.deleted) {
            let Ok(inf) = Infrastructure::from_stored(s) else {
                g.unreadable += 1;
                continue;
            };
            *g.infrastructures.entry(aggregate(&inf)).or_insert(0) += 1;
            for vm in inf.live_vms() {
                *g.vms
                    .entry(vm.public_state(inf.configured).to_string())
                    .or_insert(0) += 1;
            }
        }
        if !full {
            return Ok(g);
        }
    }
}

impl Metrics {
    /// The gauges, and how old they are: a fresh walk, or the last one when
    /// it was costly (at least [`CHEAP_WALK`]) and ended less than ten times
    /// its duration ago.
    async fn gauges(&self, manager: &Manager) -> Result<(Gauges, Duration), String> {
        let mut last = self.gauges.lock().await;
        if let Some((at, took, g)) = last.as_ref() {
            let age = at.elapsed();
            if *took >= CHEAP_WALK && age < *took * 10 {
                return Ok((g.clone(), age));
            }
        }
        let started = Instant::now();
        let g = walk(manager).await?;
        *last = Some((Instant::now(), started.elapsed(), g.clone()));
        Ok((g, Duration::ZERO))
    }
}

fn write_gauge(out: &mut String, name: &str, help: &str, values: &BTreeMap<String, u64>) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
    for (state, n) in values {
        // States are the reference's fixed words; escape anyway.
        let state = label(state);
        let _ = writeln!(out, "{name}{{state=\"{state}\"}} {n}");
    }
}

/// `GET /metrics`: the exposition text. When the database does not answer
/// the request series are still given, with `im_database_up 0`.
pub(crate) async fn metrics(metrics: &Metrics, manager: &Manager) -> Response {
    let mut out = String::with_capacity(4096);
    metrics.write_requests(&mut out);
    let g = metrics.gauges(manager).await;
    out.push_str(
        "# HELP im_database_up Whether the last read of the store for these metrics succeeded.\n",
    );
    out.push_str("# TYPE im_database_up gauge\n");
    let _ = writeln!(out, "im_database_up {}", u8::from(g.is_ok()));
    if let Err(e) = &g {
        tracing::warn!("/metrics: cannot read the store: {e}");
    }
    let (g, age) = g.unwrap_or_default();
    out.push_str("# HELP im_state_gauges_age_seconds How old the counts of im_infrastructures and im_vms are (reused from an earlier walk of a large store).\n");
    out.push_str("# TYPE im_state_gauges_age_seconds gauge\n");
    let _ = writeln!(out, "im_state_gauges_age_seconds {:.3}", age.as_secs_f64());
    write_gauge(
        &mut out,
        "im_infrastructures",
        "Infrastructures that are not destroyed, by state.",
        &g.infrastructures,
    );
    write_gauge(
        &mut out,
        "im_vms",
        "VMs that are not destroyed, by state.",
        &g.vms,
    );
    out.push_str(
        "# HELP im_infrastructures_unreadable Stored infrastructures this server cannot read.\n",
    );
    out.push_str("# TYPE im_infrastructures_unreadable gauge\n");
    let _ = writeln!(out, "im_infrastructures_unreadable {}", g.unreadable);
    write_leases(&mut out, manager).await;
    let mut r = Response::new(Body::from(out));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Live leases per instance (servers sharing a database): who runs the
/// background work of how many infrastructures. Nothing when the store has
/// no leases.
async fn write_leases(out: &mut String, manager: &Manager) {
    let owners = match tokio::time::timeout(DB_TIMEOUT, manager.store().lease_owners()).await {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => {
            tracing::warn!("/metrics: cannot count the leases: {e}");
            return;
        }
        Err(_) => return,
    };
    out.push_str("# HELP im_leases_held Infrastructures whose background work an instance holds the live lease of.\n");
    out.push_str("# TYPE im_leases_held gauge\n");
    for (owner, held, _) in &owners {
        let _ = writeln!(
            out,
            "im_leases_held{{instance=\"{}\"}} {held}",
            label(owner)
        );
    }
    out.push_str("# HELP im_leases_open_work Of those, the ones with an operation in progress.\n");
    out.push_str("# TYPE im_leases_open_work gauge\n");
    for (owner, _, work) in &owners {
        let _ = writeln!(
            out,
            "im_leases_open_work{{instance=\"{}\"}} {work}",
            label(owner)
        );
    }
}

/// `GET /health`: 200 `{"status": "ok"}` when the database answers, else
/// 503 `{"status": "unavailable", "database": <why>}`.
pub(crate) async fn health(manager: &Manager) -> Response {
    let ping = tokio::time::timeout(DB_TIMEOUT, manager.store().ping()).await;
    let failure = match ping {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some(format!(
            "the database did not answer within {} s",
            DB_TIMEOUT.as_secs()
        )),
    };
    match failure {
        None => json_response(
            StatusCode::OK,
            &json!({"status": "ok", "database": "reachable"}),
        ),
        Some(why) => {
            tracing::warn!("health check: {why}");
            json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                &json!({"status": "unavailable", "database": why}),
            )
        }
    }
}
