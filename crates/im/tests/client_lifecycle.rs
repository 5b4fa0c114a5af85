//! Our client drives our server (`im serve` on a loopback port, Dummy cloud)
//! through a whole lifecycle, as a user would.

#![allow(clippy::unwrap_used)] // a panic is the failure report

mod client_stub;
mod common;

use client_stub::Scratch;
use common::Server;

struct Client<'a> {
    s: &'a Scratch,
    base: String,
}

impl Client<'_> {
    /// Runs `im -r BASE -a auth.dat ARGS`; returns (exit code, stdout).
    fn run(&self, args: &[&str]) -> (i32, String) {
        let mut all = vec!["-r", self.base.as_str(), "-a", "auth.dat"];
        all.extend_from_slice(args);
        let out = self.s.im(&all);
        (out.code, out.stdout)
    }

    /// Runs a command that must succeed; returns stdout without the
    /// `Connected with` line.
    fn ok(&self, args: &[&str]) -> String {
        let (code, out) = self.run(args);
        assert_eq!(code, 0, "im {args:?} failed: {out}");
        let connected = format!("Connected with: {}\n", self.base);
        out.strip_prefix(&connected).unwrap_or(&out).to_string()
    }
}

#[test]
fn our_client_runs_a_whole_lifecycle_against_our_server() {
    let server = Server::start("");
    let s = Scratch::new();
    s.write("infra.radl", common::R1);
    s.write(
        "add.radl",
        "network publica\nsystem front\ndeploy front 1\n",
    );
    s.write(
        "alter.radl",
        "system front (cpu.count = 2 and memory.size = 2G)\n",
    );
    let c = Client {
        s: &s,
        base: server.base.clone(),
    };

    assert_eq!(c.ok(&["getversion"]), "IM service version: 2.0.0\n");
    assert_eq!(c.ok(&["list"]), "No Infrastructures.\n");
    let id = c
        .ok(&["-q", "create", "infra.radl", "0"])
        .trim()
        .to_string();
    assert!(!id.is_empty());
    assert_eq!(c.ok(&["list"]), format!("Infrastructure IDs: \n  {id}\n"));
    assert_eq!(
        c.ok(&["getstate", &id]),
        "The infrastructure is in state: configured\nVM ID: 0 is in state: configured.\n"
    );
    let info = c.ok(&["getinfo", &id]);
    assert!(
        info.starts_with("Info about VM with ID: 0\n") && info.contains("system front ("),
        "{info}"
    );
    assert_eq!(
        c.ok(&["getvminfo", &id, "0", "net_interface.0.ip"]),
        "10.0.0.1\n"
    );
    assert_eq!(
        c.ok(&["addresource", &id, "add.radl"]),
        "Resources with IDs: 1 successfully added.\n"
    );
    assert_eq!(
        c.ok(&["removeresource", &id, "1"]),
        "Resources with IDs: 1 successfully deleted.\n"
    );
    assert_eq!(
        c.ok(&["alter", &id, "0", "alter.radl"]),
        "VM successfully modified.\n"
    );
    assert_eq!(c.ok(&["getvminfo", &id, "0", "cpu.count"]), "2\n");
    assert_eq!(
        c.ok(&["stop", &id]),
        "Infrastructure successfully stopped\n"
    );
    assert!(
        c.ok(&["getstate", &id])
            .starts_with("The infrastructure is in state: stopped\n")
    );
    assert_eq!(
        c.ok(&["start", &id]),
        "Infrastructure successfully started\n"
    );
    assert_eq!(c.ok(&["stopvm", &id, "0"]), "VM successfully stopped\n");
    assert_eq!(c.ok(&["startvm", &id, "0"]), "VM successfully started\n");
    assert_eq!(c.ok(&["rebootvm", &id, "0"]), "VM successfully rebooted\n");
    assert_eq!(
        c.ok(&["reconfigure", &id]),
        "Infrastructure successfully reconfigured.\n"
    );
    assert_eq!(
        c.ok(&["--poll-interval", "1", "wait", &id]).lines().last(),
        Some("The infrastructure is in state: configured")
    );
    assert!(
        c.ok(&["cloudimages", "dummy"])
            .contains("\"uri\": \"mock0://linux.for.ev.er/image1\"")
    );

    // export with delete, then import: the same id comes back.
    let exported = c.ok(&["-q", "export", &id, "1"]);
    s.write("export.json", &exported);
    let (code, out) = c.run(&["getstate", &id]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("Error getting infrastructure state: "),
        "{out}"
    );
    assert_eq!(c.ok(&["-q", "import", "export.json"]).trim(), id);
    assert!(
        c.ok(&["getstate", &id])
            .starts_with("The infrastructure is in state: configured")
    );

    assert_eq!(
        c.ok(&["-y", "destroy", &id]),
        "Infrastructure successfully destroyed\n"
    );
    assert_eq!(c.ok(&["list"]), "No Infrastructures.\n");
    let (code, out) = c.run(&["-y", "destroy", &id]);
    assert_eq!(code, 1);
    assert!(
        out.contains("ERROR destroying the infrastructure: "),
        "{out}"
    );
}
