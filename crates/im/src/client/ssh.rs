//! `sshvm`, `ssh`, `putvm`, `put`, `getvm`, `get`: the `ssh`/`sshpass`/`scp`
//! command line for a VM, built from its RADL as `CmdSsh`/`CmdScp` of the
//! reference build it (public IP, else the private IP through the network's
//! `proxy_host` or through VM 0), then run in place of this process, or only
//! printed with `show_only` 1.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;

use im_radl::{Radl, Value};

use super::Failure;
use super::ops::{Client, Rest};
use super::pyfmt::py_int;
use super::{say, say_inline};

/// Python's `"%s" % value` of an optional string.
fn s(v: Option<&str>) -> &str {
    v.unwrap_or("None")
}

/// `getValue(name)` of a string feature.
fn value<'a>(features: &'a im_radl::Features, name: &str) -> Option<&'a str> {
    features.get_str(name).filter(|v| !v.is_empty())
}

/// The first IP of a system interface on a public (or private) network.
fn ip(radl: &Radl, public: bool) -> Option<String> {
    let nets: Vec<&str> = radl
        .networks
        .iter()
        .filter(|n| n.is_public() == public)
        .map(|n| n.id.as_str())
        .collect();
    for system in &radl.systems {
        for i in 0.. {
            let Some(conn) = value(&system.features, &format!("net_interface.{i}.connection"))
            else {
                break;
            };
            if nets.contains(&conn)
                && let Some(ip) = value(&system.features, &format!("net_interface.{i}.ip"))
            {
                return Some(ip.to_string());
            }
        }
    }
    None
}

/// Runs one of the ssh operations; `Ok(success)`.
pub fn run(client: &mut Client, op: &str) -> Result<bool, Failure> {
    let (radl, show_only, cmd) = match prepare(client, op)? {
        Ok(parts) => parts,
        Err(msg) => {
            say(&msg);
            return Ok(false);
        }
    };
    let result = match op {
        "sshvm" | "ssh" => command(&radl).map(|mut ops| {
            ops.extend(cmd.unwrap_or_default());
            ops
        }),
        _ => {
            let kind = if op.starts_with("put") { "put" } else { "get" };
            let paths = cmd.unwrap_or_default();
            let [a, b] = paths.as_slice() else {
                say(&format!("{kind} must have 2 arguments"));
                return Ok(false);
            };
            command(&radl).map(|ops| scp(ops, kind, a, b))
        }
    };
    let ops = match result {
        Ok(ops) => ops,
        Err(e) => {
            say(&format!("Error connecting to VM: {e}"));
            return Ok(false);
        }
    };
    if show_only {
        let mut line = String::new();
        for op in &ops {
            if op.contains("ProxyCommand") {
                line.push_str(&format!("'{op}' "));
            } else {
                line.push_str(op);
                line.push(' ');
            }
        }
        say_inline(&line);
        return Ok(true);
    }
    let _ = std::io::stdout().flush();
    let err = std::process::Command::new(&ops[0]).args(&ops[1..]).exec();
    say(&format!(
        "Error connecting to VM: {}\nProbably 'sshpass' or 'ssh' programs are not installed!",
        super::auth::os_error_text(&err, &ops[0])
    ));
    Ok(false)
}

/// The VM's RADL, `show_only` and the extra arguments, as `_ssh` finds them.
type Prepared = (Radl, bool, Option<Vec<String>>);

/// `_ssh`: reads the VM's RADL; a VM without public IP and without a proxy
/// host is reached through VM 0.
fn prepare(client: &mut Client, op: &str) -> Result<Rest<Prepared>, Failure> {
    let inf_id = client.get_inf_id()?;
    let args = client.args.clone();
    let flag = |v: &str| match v {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err("The show_only flag must be 0 or 1".to_string()),
    };
    let master = matches!(op, "ssh" | "put" | "get");
    let mut show_only = false;
    let mut cmd = None;
    let vm_id;
    if master {
        vm_id = "0".to_string();
        if let Some(f) = args.get(1) {
            match flag(f) {
                Ok(v) => show_only = v,
                Err(e) => return Ok(Err(e)),
            }
            if args.len() >= 3 {
                cmd = Some(args[2..].to_vec());
            }
        }
    } else {
        let Some(v) = args.get(1) else {
            return Ok(Err("VM ID to get info not specified".into()));
        };
        vm_id = v.clone();
        if let Some(f) = args.get(2) {
            match flag(f) {
                Ok(v) => show_only = v,
                Err(e) => return Ok(Err(e)),
            }
            if args.len() >= 4 {
                cmd = Some(args[3..].to_vec());
            }
        }
    }
    client.args = vec![inf_id.clone(), vm_id.clone()];
    let info = match client.getvminfo(&inf_id, &vm_id, None, None)? {
        Ok(info) => info,
        Err(e) => return Ok(Err(format!("Error accessing VM: {e}"))),
    };
    let mut radl = im_radl::parse_radl(&info).map_err(|e| Failure::Exc(e.to_string()))?;
    let net_ids: Vec<String> = radl
        .systems
        .first()
        .map(|s| s.network_ids().into_iter().map(String::from).collect())
        .unwrap_or_default();
    let proxy_host = net_ids.iter().any(|id| {
        radl.get_network(id)
            .and_then(|n| value(&n.features, "proxy_host"))
            .is_some()
    });
    if ip(&radl, true).is_none() && !master && !proxy_host {
        let vm0 = "0";
        if !client.opts.quiet {
            say(&format!(
                "VM ID {vm0} does not has public IP, try to access via VM ID 0."
            ));
        }
        client.args = vec![inf_id.clone(), vm0.to_string()];
        let info0 = match client.getvminfo(&inf_id, vm0, None, None)? {
            Ok(info) => info,
            Err(e) => return Ok(Err(format!("Error accessing VM: {e}"))),
        };
        let radl0 = im_radl::parse_radl(&info0).map_err(|e| Failure::Exc(e.to_string()))?;
        let host = ip(&radl0, true);
        let creds = radl0.systems.first().map(|s| &s.features);
        let get = |k: &str| creds.and_then(|f| value(f, k)).map(String::from);
        let username = get("disk.0.os.credentials.username");
        let password = get("disk.0.os.credentials.password");
        let priv_key = get("disk.0.os.credentials.private_key");
        let private_ip = ip(&radl, false);
        for id in &net_ids {
            let proxy = if let Some(p) = &password {
                format!("{}:{p}@{}", s(username.as_deref()), s(host.as_deref()))
            } else if let Some(key) = &priv_key {
                let user = s(username.as_deref());
                let file = format!("/var/tmp/{user}_{user}_{}.pem", s(private_ip.as_deref()));
                write_key(&file, key)
                    .map_err(|e| Failure::Exc(super::auth::os_error_text(&e, &file)))?;
                if let Some(n) = radl.networks.iter_mut().find(|n| &n.id == id) {
                    n.features
                        .set_value("proxy_key", Value::Str(key.clone()), "");
                }
                format!("{user}@{}", s(host.as_deref()))
            } else {
                return Ok(Err("Error, no valid credentials in VM 0".into()));
            };
            if let Some(n) = radl.networks.iter_mut().find(|n| &n.id == id) {
                n.features.set_value("proxy_host", Value::Str(proxy), "");
            }
        }
    }
    Ok(Ok((radl, show_only, cmd)))
}

/// Writes a private key readable by the user only.
fn write_key(path: &str, key: &str) -> std::io::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(key.as_bytes())?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

/// A new private file in the temporary directory holding `key`.
fn temp_key(key: &str) -> std::io::Result<String> {
    let dir = std::env::temp_dir();
    for n in 0..1000u32 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = dir.join(format!("tmp-im-{}-{nanos:x}{n}", std::process::id()));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(mut f) => {
                f.write_all(key.as_bytes())?;
                return Ok(path.to_string_lossy().into_owned());
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("cannot create a temporary file"))
}

/// `_get_ssh_port`: the remote port mapped to local 22/tcp on the (last)
/// public network, else 22.
fn ssh_port(radl: &Radl) -> Result<String, String> {
    let mut port = 22u32;
    if let Some(net) = radl.networks.iter().rev().find(|n| n.is_public())
        && let Some(spec) = value(&net.features, "outports")
    {
        for p in im_radl::parse_outports(spec)? {
            if p.port_end == 22 && p.protocol == "tcp" {
                port = p.port_init;
            }
        }
    }
    Ok(port.to_string())
}

/// The parts of a `proxy_host`: user, password, host and port.
struct ProxyHost {
    user: Option<String>,
    pass: Option<String>,
    host: String,
    port: Option<i128>,
}

/// `get_user_pass_host_port`: `user:pass@host:port`.
fn user_pass_host_port(url: &str) -> Result<ProxyHost, String> {
    let (user, pass, server_port) = match url.split_once('@') {
        Some((up, rest)) => {
            let server_port = rest.split('@').next().unwrap_or(rest);
            let mut it = up.split(':');
            let user = it.next().map(String::from);
            let pass = it.next().map(String::from);
            (user, pass, server_port)
        }
        None => (None, None, url),
    };
    let mut it = server_port.split(':');
    let server = it.next().unwrap_or("").to_string();
    let port = match it.next() {
        Some(p) => Some(py_int(p)?),
        None => None,
    };
    Ok(ProxyHost {
        user,
        pass,
        host: server,
        port,
    })
}

/// `_get_proxy_command`: `-o ProxyCommand=...` through the first network of
/// the VM with a `proxy_host`.
fn proxy_args(radl: &Radl, ip: &str, username: &str) -> Result<Vec<String>, String> {
    let Some(system) = radl.systems.first() else {
        return Ok(Vec::new());
    };
    for id in system.network_ids() {
        let Some(net) = radl.get_network(id) else {
            continue;
        };
        let Some(proxy) = value(&net.features, "proxy_host") else {
            continue;
        };
        let ProxyHost {
            user,
            pass,
            host: proxy_ip,
            port,
        } = user_pass_host_port(proxy)?;
        let port = port.unwrap_or(22);
        let user = s(user.as_deref()).to_string();
        let command = if value(&net.features, "proxy_key").is_some() {
            format!(
                "ssh -W %h:%p -i /var/tmp/{user}_{username}_{ip}.pem -p {port} -o StrictHostKeyChecking=no {user}@{proxy_ip}"
            )
        } else {
            format!(
                "sshpass -p {} ssh -W %h:%p -p {port} -o StrictHostKeyChecking=no {user}@{proxy_ip}",
                s(pass.as_deref())
            )
        };
        return Ok(vec!["-o".into(), format!("ProxyCommand={command}")]);
    }
    Ok(Vec::new())
}

/// `_connect_key` / `_connect_password`: the ssh command line for the VM.
fn command(radl: &Radl) -> Result<Vec<String>, String> {
    let Some(system) = radl.systems.first() else {
        return Err("list index out of range".into());
    };
    let f = &system.features;
    let username = s(value(f, "disk.0.os.credentials.username")).to_string();
    let port = ssh_port(radl)?;
    let (ip, extra) = match ip(radl, true) {
        Some(ip) => (ip, Vec::new()),
        None => {
            let ip = ip(radl, false).unwrap_or_else(|| "None".into());
            let extra = proxy_args(radl, &ip, &username)?;
            (ip, extra)
        }
    };
    let mut ops: Vec<String> = match value(f, "disk.0.os.credentials.private_key") {
        Some(key) => {
            let file = temp_key(key).map_err(|e| e.to_string())?;
            vec!["ssh".into(), "-p".into(), port, "-i".into(), file]
        }
        None => vec![
            "sshpass".into(),
            format!("-p{}", s(value(f, "disk.0.os.credentials.password"))),
            "ssh".into(),
            "-p".into(),
            port,
        ],
    };
    ops.extend(
        [
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "StrictHostKeyChecking=no",
        ]
        .map(String::from),
    );
    ops.extend(extra);
    ops.push(format!("{username}@{ip}"));
    Ok(ops)
}

/// `CmdScp.run`: the ssh command line turned into `scp -r -P ...`.
fn scp(mut ops: Vec<String>, kind: &str, a: &str, b: &str) -> Vec<String> {
    if let Some(pos) = ops.iter().position(|o| o == "ssh") {
        ops[pos] = "scp".into();
        ops.insert(pos + 1, "-r".into());
        if let Some(p) = ops.iter().skip(pos).position(|o| o == "-p") {
            ops[pos + p] = "-P".into();
        }
    }
    let last = ops.len() - 1;
    if kind == "put" {
        ops[last].push_str(&format!(":{b}"));
        ops.insert(last, a.to_string());
    } else {
        ops[last].push_str(&format!(":{a}"));
        ops.push(b.to_string());
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    const VM: &str = "network public ( outbound = 'yes' and outports = '2222-22' )\nnetwork private (  )\nsystem node (\nnet_interface.0.connection = 'public' and\nnet_interface.1.connection = 'private' and\nnet_interface.0.ip = '10.0.0.1' and\ndisk.0.os.credentials.username = 'username' and\ndisk.0.os.credentials.password = 'password'\n)\n";

    #[test]
    fn the_ssh_command_uses_the_public_ip_and_the_mapped_port() {
        let radl = im_radl::parse_radl(VM).expect("valid");
        assert_eq!(
            command(&radl).expect("builds").join(" "),
            "sshpass -ppassword ssh -p 2222 -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no username@10.0.0.1"
        );
    }

    #[test]
    fn a_private_vm_goes_through_its_proxy_host() {
        let radl = im_radl::parse_radl(
            "network private ( proxy_host = 'u:p@1.2.3.4:2200' )\nsystem node (\nnet_interface.0.connection = 'private' and\nnet_interface.0.ip = '192.168.1.5' and\ndisk.0.os.credentials.username = 'cloudadm' and\ndisk.0.os.credentials.password = 'pw'\n)\n",
        )
        .expect("valid");
        let ops = command(&radl).expect("builds");
        assert_eq!(
            ops[ops.len() - 2],
            "ProxyCommand=sshpass -p p ssh -W %h:%p -p 2200 -o StrictHostKeyChecking=no u@1.2.3.4"
        );
        assert_eq!(ops[ops.len() - 1], "cloudadm@192.168.1.5");
    }

    #[test]
    fn scp_replaces_ssh_and_appends_the_paths() {
        let ops: Vec<String> = ["sshpass", "-ppw", "ssh", "-p", "22", "u@h"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            scp(ops.clone(), "put", "local", "remote").join(" "),
            "sshpass -ppw scp -r -P 22 local u@h:remote"
        );
        assert_eq!(
            scp(ops, "get", "remote", "local").join(" "),
            "sshpass -ppw scp -r -P 22 u@h:remote local"
        );
    }
}
