//! The reference client, `im_client` from PyPI `IM-client==1.8.4`, drives our
//! server through a whole lifecycle. scripts/test installs it in
//! `/var/tmp/im-client-venv` (or set `IM_CLIENT` to its `im_client`).

#![allow(clippy::unwrap_used)] // a panic is the failure report

mod common;

use std::process::Command;

use common::Server;

struct Client {
    exe: String,
    base: String,
    dir: std::path::PathBuf,
}

impl Client {
    /// Runs one command; returns (success, stdout).
    fn run(&self, args: &[&str]) -> (bool, String) {
        let out = Command::new(&self.exe)
            .current_dir(&self.dir)
            .args(["-r", &self.base, "-a", "auth.dat"])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {} ({e}); scripts/test installs it", self.exe));
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("Traceback"), "{args:?}: {stderr}");
        (out.status.success(), stdout)
    }

    fn ok(&self, args: &[&str]) -> String {
        let (ok, out) = self.run(args);
        assert!(ok, "im_client {args:?} failed: {out}");
        out
    }
}

#[test]
fn the_reference_client_runs_a_whole_lifecycle() {
    let s = Server::start("");
    let dir = s.dir.path().to_path_buf();
    std::fs::write(
        dir.join("auth.dat"),
        "id = im; type = InfrastructureManager; username = user; password = pass\nid = dummy; type = Dummy\n",
    )
    .unwrap();
    std::fs::write(dir.join("infra.radl"), common::R1).unwrap();
    std::fs::write(
        dir.join("add.radl"),
        "network publica\nsystem front\ndeploy front 1\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("alter.radl"),
        "system front (cpu.count = 2 and memory.size = 2G)\n",
    )
    .unwrap();
    let c = Client {
        exe: std::env::var("IM_CLIENT")
            .unwrap_or_else(|_| "/var/tmp/im-client-venv/bin/im_client".into()),
        base: s.base.clone(),
        dir: dir.clone(),
    };

    let out = c.ok(&["getversion"]);
    assert!(out.contains("IM service version: 2.0.0"), "{out}");
    let out = c.ok(&["create", "infra.radl"]);
    let id = out
        .lines()
        .find_map(|l| l.strip_prefix("Infrastructure successfully created with ID: "))
        .unwrap_or_else(|| panic!("{out}"))
        .trim()
        .to_string();
    assert!(c.ok(&["list"]).contains(&id));
    let out = c.ok(&["getstate", &id]);
    assert!(
        out.contains("The infrastructure is in state: configured"),
        "{out}"
    );
    assert!(out.contains("VM ID: 0 is in state: configured."), "{out}");
    let out = c.ok(&["getinfo", &id]);
    assert!(
        out.contains("Info about VM with ID: 0") && out.contains("system front ("),
        "{out}"
    );
    assert!(
        c.ok(&["getvminfo", &id, "0"])
            .contains("net_interface.0.ip = '10.0.0.1'")
    );
    assert!(
        c.ok(&["getcontmsg", &id])
            .contains("Contextualization disabled by the RADL/TOSCA template.")
    );
    let out = c.ok(&["addresource", &id, "add.radl"]);
    assert!(
        out.contains("Resources with IDs: 1 successfully added."),
        "{out}"
    );
    let out = c.ok(&["removeresource", &id, "1"]);
    assert!(
        out.contains("Resources with IDs: 1 successfully deleted."),
        "{out}"
    );
    assert!(
        c.ok(&["alter", &id, "0", "alter.radl"])
            .contains("VM successfully modified.")
    );
    assert!(c.ok(&["getvminfo", &id, "0", "cpu.count"]).contains('2'));
    assert!(
        c.ok(&["stop", &id])
            .contains("Infrastructure successfully stopped")
    );
    assert!(
        c.ok(&["getstate", &id])
            .contains("The infrastructure is in state: stopped")
    );
    assert!(
        c.ok(&["start", &id])
            .contains("Infrastructure successfully started")
    );
    assert!(
        c.ok(&["stopvm", &id, "0"])
            .contains("VM successfully stopped")
    );
    assert!(
        c.ok(&["startvm", &id, "0"])
            .contains("VM successfully started")
    );
    assert!(
        c.ok(&["rebootvm", &id, "0"])
            .contains("VM successfully rebooted")
    );
    assert!(
        c.ok(&["reconfigure", &id])
            .contains("Infrastructure successfully reconfigured.")
    );
    let out = c.ok(&["wait", &id]);
    assert!(out.contains("configured"), "{out}");
    let images = c.ok(&["cloudimages", "dummy"]);
    assert!(
        images.contains("mock0://linux.for.ev.er/image1"),
        "{images}"
    );
    // export (with delete) then import: the same id comes back.
    let (ok, exported) = c.run(&["-q", "export", &id, "1"]);
    assert!(ok, "{exported}");
    std::fs::write(dir.join("export.json"), exported).unwrap();
    let (_, after) = c.run(&["getstate", &id]);
    assert!(!after.contains("configured"), "{after}");
    let out = c.ok(&["-q", "import", "export.json"]);
    assert_eq!(out.trim(), id);
    assert!(c.ok(&["getstate", &id]).contains("configured"));
    let out = c.ok(&["-y", "destroy", &id]);
    assert!(
        out.contains("Infrastructure successfully destroyed"),
        "{out}"
    );
    assert!(!c.ok(&["list"]).contains(&id));
}
