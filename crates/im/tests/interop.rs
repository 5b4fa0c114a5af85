//! Interoperable data: an infrastructure exported from the reference Python
//! IM 2.0 (`GET /infrastructures/<id>/data`) imports into ours
//! (`PUT /infrastructures`) and is fully usable there, and an export of ours
//! imports into the Python IM and is fully usable there; an infrastructure
//! also moves there and back (`data?delete=1`, the reference's way to move one
//! to another IM). "Usable" is what a user sees: the same id, the same VM ids
//! (destroyed ones stay gone, new ones never reuse an id), the same RADL texts,
//! the states, and every operation (add, remove, stop, start, destroy).
//!
//! The Python IM runs beside ours on loopback; scripts/test installs and
//! starts it with `../shared/peer/` and sets `IM_PEER_URL`. Without it the
//! tests print SKIPPED.

#![allow(clippy::unwrap_used)] // a panic is the failure report

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::Server;

/// Two networks, two systems (one with an application), three VMs, no
/// contextualization (so that the Dummy VMs end `configured` at once).
const RADL: &str = "network publica (outbound = 'yes')
network privada ()
system front (cpu.count>=1 and memory.size>=512m and net_interface.0.connection = 'publica' and net_interface.1.connection = 'privada' and disk.0.image.url = 'mock0://linux.for.ev.er' and disk.0.os.name = 'linux')
system wn (cpu.count>=2 and memory.size>=1g and net_interface.0.connection = 'privada' and disk.0.image.url = 'mock0://linux.for.ev.er' and disk.0.applications contains (name = 'app1' and version = '1.0'))
contextualize ()
deploy front 1
deploy wn 2
";
/// One more worker.
const ADD: &str = "network privada\nsystem wn\ndeploy wn 1\n";

/// The name of the reference in messages.
const PYTHON_IM: &str = "python IM";

/// One IM server as a user of one account sees it.
struct Im {
    name: &'static str,
    base: String,
    auth: String,
    c: reqwest::Client,
}

impl Im {
    fn new(name: &'static str, base: &str, user: &str) -> Im {
        Im {
            name,
            base: base.trim_end_matches('/').to_string(),
            auth: format!(
                r"id = im; type = InfrastructureManager; username = {user}; password = secret\nid = dummy; type = Dummy"
            ),
            c: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .unwrap(),
        }
    }

    /// One request: (status, body).
    async fn call(
        &self,
        method: &str,
        path: &str,
        accept: &str,
        body: Option<(&str, &str)>,
    ) -> (u16, String) {
        let mut r = self
            .c
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .header("Authorization", &self.auth)
            .header("Accept", accept);
        if let Some((content_type, b)) = body {
            r = r.header("Content-Type", content_type).body(b.to_string());
        }
        let resp = r
            .send()
            .await
            .unwrap_or_else(|e| panic!("{} {method} {path}: {e}", self.name));
        let status = resp.status().as_u16();
        (status, resp.text().await.unwrap())
    }

    /// A request that must answer 200; its body.
    async fn ok(
        &self,
        method: &str,
        path: &str,
        accept: &str,
        body: Option<(&str, &str)>,
    ) -> String {
        let (status, text) = self.call(method, path, accept, body).await;
        assert_eq!(status, 200, "{}: {method} {path}: {text}", self.name);
        text
    }

    async fn create(&self, radl: &str) -> String {
        let uri = self
            .ok(
                "POST",
                "/infrastructures",
                "text/uri-list",
                Some(("text/plain", radl)),
            )
            .await;
        uri.trim().rsplit('/').next().unwrap().to_string()
    }

    /// `GET …/data`: the exported document (the JSON string the API wraps).
    async fn export(&self, id: &str, delete: bool) -> String {
        let q = if delete { "?delete=1" } else { "" };
        let body = self
            .ok(
                "GET",
                &format!("/infrastructures/{id}/data{q}"),
                "application/json",
                None,
            )
            .await;
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["data"].as_str().unwrap().to_string()
    }

    /// `PUT /infrastructures`: imports a document; the id it answers.
    async fn import(&self, data: &str) -> String {
        let uri = self
            .ok(
                "PUT",
                "/infrastructures",
                "text/uri-list",
                Some(("application/json", data)),
            )
            .await;
        assert!(
            uri.starts_with(&format!("{}/infrastructures/", self.base)),
            "{uri}"
        );
        uri.trim().rsplit('/').next().unwrap().to_string()
    }

    /// The ids of the VMs that are not destroyed.
    async fn vms(&self, id: &str) -> Vec<String> {
        let body = self
            .ok(
                "GET",
                &format!("/infrastructures/{id}"),
                "text/uri-list",
                None,
            )
            .await;
        body.lines()
            .filter(|l| !l.is_empty())
            .map(|l| {
                let prefix = format!("{}/infrastructures/{id}/vms/", self.base);
                l.strip_prefix(&prefix)
                    .unwrap_or_else(|| panic!("{}: VM URI {l}", self.name))
                    .to_string()
            })
            .collect()
    }

    /// The infrastructure state and each VM's.
    async fn state(&self, id: &str) -> (String, BTreeMap<String, String>) {
        let body = self
            .ok(
                "GET",
                &format!("/infrastructures/{id}/state"),
                "application/json",
                None,
            )
            .await;
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let vms = v["state"]["vm_states"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, s)| (k.clone(), s.as_str().unwrap().to_string()))
            .collect();
        (v["state"]["state"].as_str().unwrap().to_string(), vms)
    }

    async fn vm_radl(&self, id: &str, vm: &str) -> String {
        self.ok(
            "GET",
            &format!("/infrastructures/{id}/vms/{vm}"),
            "text/plain",
            None,
        )
        .await
    }

    async fn prop(&self, id: &str, prop: &str) -> String {
        self.ok(
            "GET",
            &format!("/infrastructures/{id}/{prop}"),
            "text/plain",
            None,
        )
        .await
    }

    /// Asserts that an infrastructure is gone after a destroy or an export
    /// with `delete`: its state answers 404. The Python IM sometimes brings
    /// a destroyed infrastructure back (its contextualization thread saves a
    /// stale copy over the destroy, spec/peer.md §6): that bug of the
    /// reference is reported, not failed on.
    async fn gone(&self, id: &str) {
        let path = format!("/infrastructures/{id}/state");
        let (status, body) = self.call("GET", &path, "application/json", None).await;
        if self.name == PYTHON_IM && status == 200 {
            eprintln!("note: the Python IM brought {id} back after removing it: {body}");
            return;
        }
        assert_eq!(status, 404, "{}: GET {path}: {body}", self.name);
        assert!(
            body.contains("Invalid infrastructure ID or access not granted."),
            "{}: GET {path}: {body}",
            self.name
        );
    }

    /// Asserts a request answers 404 with a message containing `msg`.
    async fn not_found(&self, path: &str, msg: &str) {
        let (status, body) = self.call("GET", path, "application/json", None).await;
        assert_eq!(status, 404, "{}: GET {path}: {body}", self.name);
        assert!(body.contains(msg), "{}: GET {path}: {body}", self.name);
    }
}

/// What a user sees of an infrastructure, to compare two servers.
#[derive(Debug)]
struct Seen {
    vms: Vec<String>,
    state: (String, BTreeMap<String, String>),
    radl: String,
    vm_radls: Vec<String>,
}

async fn seen(im: &Im, id: &str) -> Seen {
    let vms = im.vms(id).await;
    let mut vm_radls = Vec::new();
    for vm in &vms {
        vm_radls.push(im.vm_radl(id, vm).await);
    }
    Seen {
        state: im.state(id).await,
        radl: im.prop(id, "radl").await,
        vms,
        vm_radls,
    }
}

/// Asserts that two servers show the same thing, one field at a time.
#[track_caller]
fn assert_same(got: &Seen, want: &Seen, what: &str) {
    assert_eq!(got.vms, want.vms, "{what}: VM ids");
    assert_eq!(got.state, want.state, "{what}: states");
    assert_eq!(got.radl, want.radl, "{what}: the infrastructure's RADL");
    for (i, (g, w)) in got.vm_radls.iter().zip(&want.vm_radls).enumerate() {
        assert_eq!(g, w, "{what}: the RADL of VM {}", got.vms[i]);
    }
}

fn states(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Creates the three-VM infrastructure on `im` and removes VM 1, so that the
/// export carries a destroyed VM; what the user sees of it then.
async fn prepare(im: &Im) -> (String, Seen) {
    let id = im.create(RADL).await;
    im.ok(
        "DELETE",
        &format!("/infrastructures/{id}/vms/1"),
        "text/plain",
        None,
    )
    .await;
    let before = seen(im, &id).await;
    assert_eq!(before.vms, ["0", "2"], "{}", im.name);
    assert_eq!(
        before.state,
        (
            "configured".into(),
            states(&[("0", "configured"), ("2", "configured")])
        ),
        "{}",
        im.name
    );
    (id, before)
}

/// Uses an imported infrastructure on `im` as its user would, then destroys it.
async fn use_and_destroy(im: &Im, id: &str) {
    let inf = format!("/infrastructures/{id}");
    // Its messages and owner came along.
    assert!(
        im.prop(id, "contmsg")
            .await
            .contains("Contextualization disabled by the RADL/TOSCA template."),
        "{}",
        im.name
    );
    // The destroyed VM stays destroyed; a VM property reads from the imported RADL.
    im.not_found(&format!("{inf}/vms/1"), "Deleted VM.").await;
    let app = im
        .ok(
            "GET",
            &format!("{inf}/vms/2/disk.0.applications"),
            "application/json",
            None,
        )
        .await;
    let app: serde_json::Value = serde_json::from_str(&app).unwrap();
    assert_eq!(
        app["disk.0.applications"]["app1"]["version"], "1.0",
        "{}: {app}",
        im.name
    );

    // Add a worker: a new id, never one of the imported ones.
    let added = im
        .ok("POST", &inf, "text/uri-list", Some(("text/plain", ADD)))
        .await;
    assert_eq!(
        added.trim(),
        format!("{}{inf}/vms/3", im.base),
        "{}",
        im.name
    );
    assert_eq!(im.vms(id).await, ["0", "2", "3"], "{}", im.name);
    let new_vm = im.vm_radl(id, "3").await;
    assert!(new_vm.contains("system wn ("), "{}: {new_vm}", im.name);
    assert!(
        new_vm.contains("provider.type = 'Dummy'"),
        "{}: {new_vm}",
        im.name
    );
    assert_eq!(
        im.state(id).await,
        (
            "configured".into(),
            states(&[
                ("0", "configured"),
                ("2", "configured"),
                ("3", "configured")
            ])
        ),
        "{}",
        im.name
    );

    // Remove an imported worker.
    im.ok("DELETE", &format!("{inf}/vms/2"), "text/plain", None)
        .await;
    assert_eq!(im.vms(id).await, ["0", "3"], "{}", im.name);
    im.not_found(&format!("{inf}/vms/2"), "Deleted VM.").await;

    // Stop and start the whole infrastructure, then one VM.
    im.ok("PUT", &format!("{inf}/stop"), "text/plain", None)
        .await;
    assert_eq!(
        im.state(id).await,
        (
            "stopped".into(),
            states(&[("0", "stopped"), ("3", "stopped")])
        ),
        "{}",
        im.name
    );
    im.ok("PUT", &format!("{inf}/start"), "text/plain", None)
        .await;
    assert_eq!(
        im.state(id).await,
        (
            "configured".into(),
            states(&[("0", "configured"), ("3", "configured")])
        ),
        "{}",
        im.name
    );
    im.ok("PUT", &format!("{inf}/vms/0/stop"), "text/plain", None)
        .await;
    assert_eq!(
        im.state(id).await.1,
        states(&[("0", "stopped"), ("3", "configured")]),
        "{}",
        im.name
    );
    im.ok("PUT", &format!("{inf}/vms/0/start"), "text/plain", None)
        .await;
    assert_eq!(im.state(id).await.0, "configured", "{}", im.name);

    // Destroy it: gone.
    im.ok("DELETE", &inf, "text/plain", None).await;
    im.gone(id).await;
}

/// One test at a time talks to the Python IM: it has races of its own between
/// operations on different infrastructures (a destroyed one can come back,
/// spec/peer.md §6), which are not what these tests are about.
static PEER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The Python IM's URL, or `None` (the test is then skipped).
fn peer_url() -> Option<String> {
    match std::env::var("IM_PEER_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            eprintln!(
                "SKIPPED: the reference Python IM is not running (scripts/test starts it and sets IM_PEER_URL)"
            );
            None
        }
    }
}

/// A user name of its own on the long-lived Python IM.
fn user(what: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("interop-{what}-{nanos}")
}

#[tokio::test]
async fn an_export_of_the_python_im_imports_into_ours_and_is_fully_usable() {
    let Some(peer_url) = peer_url() else { return };
    let _one_at_a_time = PEER.lock().await;
    let s = Server::start("");
    let who = user("from-peer");
    let peer = Im::new(PYTHON_IM, &peer_url, &who);
    let ours = Im::new("ours", &s.base, &who);

    let (id, before) = prepare(&peer).await;
    let data = peer.export(&id, false).await;
    assert_eq!(ours.import(&data).await, id);
    // The same infrastructure, as the user saw it on the Python IM.
    assert_same(&seen(&ours, &id).await, &before, "ours");
    let owners = ours.prop(&id, "authorization").await;
    assert_eq!(owners, who);
    // It outlives a restart of ours.
    let (status, dir) = s.stop();
    assert!(status.success());
    let s = Server::start_in(dir, "");
    let ours = Im::new("ours", &s.base, &who);
    assert_same(&seen(&ours, &id).await, &before, "ours");
    use_and_destroy(&ours, &id).await;

    // The Python IM still has its own copy, untouched.
    assert_same(&seen(&peer, &id).await, &before, "python IM");
    peer.ok(
        "DELETE",
        &format!("/infrastructures/{id}"),
        "text/plain",
        None,
    )
    .await;
}

#[tokio::test]
async fn an_export_of_ours_imports_into_the_python_im_and_is_fully_usable() {
    let Some(peer_url) = peer_url() else { return };
    let _one_at_a_time = PEER.lock().await;
    let s = Server::start("");
    let who = user("from-ours");
    let peer = Im::new(PYTHON_IM, &peer_url, &who);
    let ours = Im::new("ours", &s.base, &who);

    let (id, before) = prepare(&ours).await;
    let data = ours.export(&id, false).await;
    assert_eq!(peer.import(&data).await, id);
    assert_same(&seen(&peer, &id).await, &before, "python IM");
    assert_eq!(peer.prop(&id, "authorization").await, who);
    use_and_destroy(&peer, &id).await;

    assert_same(&seen(&ours, &id).await, &before, "ours");
    ours.ok(
        "DELETE",
        &format!("/infrastructures/{id}"),
        "text/plain",
        None,
    )
    .await;
}

#[tokio::test]
async fn an_infrastructure_moves_to_the_python_im_and_back_with_export_and_delete() {
    let Some(peer_url) = peer_url() else { return };
    let _one_at_a_time = PEER.lock().await;
    let s = Server::start("");
    let who = user("move");
    let peer = Im::new(PYTHON_IM, &peer_url, &who);
    let ours = Im::new("ours", &s.base, &who);

    let (id, before) = prepare(&ours).await;
    // Ours -> the Python IM: gone here, alive there.
    let data = ours.export(&id, true).await;
    ours.gone(&id).await;
    assert_eq!(peer.import(&data).await, id);
    assert_same(&seen(&peer, &id).await, &before, "python IM");
    // Changed there: a worker added.
    peer.ok(
        "POST",
        &format!("/infrastructures/{id}"),
        "text/uri-list",
        Some(("text/plain", ADD)),
    )
    .await;
    let moved = seen(&peer, &id).await;
    assert_eq!(moved.vms, ["0", "2", "3"]);

    // And back: it takes the place of its own tombstone here.
    let data = peer.export(&id, true).await;
    peer.gone(&id).await;
    assert_eq!(ours.import(&data).await, id);
    assert_same(&seen(&ours, &id).await, &moved, "ours, back");
    let (status, body) = ours
        .call(
            "POST",
            &format!("/infrastructures/{id}"),
            "text/uri-list",
            Some(("text/plain", ADD)),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body.trim(),
        format!("{}/infrastructures/{id}/vms/4", ours.base)
    );
    ours.ok(
        "DELETE",
        &format!("/infrastructures/{id}"),
        "text/plain",
        None,
    )
    .await;
    ours.gone(&id).await;
}
