//! Tests of `im.cfg` reading: the reference's own file, Python ConfigParser's
//! rules (checked against the reference's `IM/config.py` when its Python is
//! there), the typed conversions, the overrides and the mapping to settings.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use super::*;

/// The active lines of the reference's `etc/im.cfg` (IM 2.0.0 sdist), with its
/// trailing spaces.
const REFERENCE_IM_CFG: &str = concat!(
    "[im]\n",
    "REST_PORT = 8800\n",
    "REST_ADDRESS = 0.0.0.0\n",
    "REST_ROOT_PATH = /\n",
    "REST_MAX_BLOCKING_CALLS = 32\n",
    "REST_BLOCKING_CALL_TIMEOUT = 0\n",
    "BOOT_MODE = 0\n",
    "DATA_DB = sqlite:///etc/im/inf.dat\n",
    "USER_DB =\n",
    "MAX_SIMULTANEOUS_LAUNCHES = 5\n",
    "MAX_VM_FAILS = 3\n",
    "WAIT_RUNNING_VM_TIMEOUT = 1800\n",
    "WAIT_SSH_ACCCESS_TIMEOUT = 300\n",
    "WAIT_PUBLIC_IP_TIMEOUT = 90\n",
    "VM_INFO_UPDATE_FREQUENCY = 10\n",
    "VM_INFO_UPDATE_ERROR_GRACE_PERIOD = 120\n",
    "LOG_LEVEL = INFO\n",
    "LOG_FILE = /var/log/im/im.log\n",
    "LOG_FILE_MAX_SIZE = 10485760\n",
    "DEFAULT_VM_MEMORY = 512\n",
    "DEFAULT_VM_MEMORY_UNIT = M\n",
    "DEFAULT_VM_CPUS = 1\n",
    "DEFAULT_VM_CPU_ARCH = x86_64\n",
    "DEFAULT_VM_NAME = vnode-#N#\n",
    "DEFAULT_DOMAIN = localdomain\n",
    "MAX_CONTEXTUALIZATION_TIME = 7200\n",
    "REMOTE_CONF_DIR = /var/tmp/.im\n",
    "CHECK_CTXT_PROCESS_INTERVAL = 10\n",
    "UPDATE_CTXT_LOG_INTERVAL = 20\n",
    "CONFMAMAGER_CHECK_STATE_INTERVAL = 5\n",
    "ANSIBLE_INSTALL_TIMEOUT = 900\n",
    "VM_NUM_USE_CTXT_DIST = 30\n",
    "VMINFO_JSON = False\n",
    "REST_SSL = False\n",
    "REST_SSL_KEYFILE = /etc/im/pki/server-key.pem\n",
    "REST_SSL_CERTFILE =  /etc/im/pki/server-cert.pem\n",
    "REST_SSL_CA_CERTS =  /etc/im/pki/ca-chain.pem\n",
    "PLAYBOOK_RETRIES = 3\n",
    "OIDC_ISSUERS = https://aai.egi.eu/auth/realms/egi\n",
    "VERIFI_SSL = False\n",
    "SSH_REVERSE_TUNNELS = True\n",
    "ENABLE_CORS = False\n",
    "CORS_ORIGIN = *\n",
    "VM_TAG_USERNAME = IM_USER\n",
    "VM_TAG_INF_ID = IM_INFRA_ID\n",
    "[OpenNebula]\n",
    "TEMPLATE_CONTEXT =\x20\n",
    "TEMPLATE_OTHER = GRAPHICS = [type=\"vnc\",listen=\"0.0.0.0\", keymap=\"es\"]\x20\n",
    "IMAGE_UNAME = oneadmin\n",
);

/// Edge cases of the INI dialect and of the typed conversions.
const EDGE_IM_CFG: &str = concat!(
    "[DEFAULT]\n",
    "LOG_LEVEL = DEBUG\n",
    "\n",
    "[im]\n",
    "# a comment\n",
    "; another comment\n",
    "REST_PORT = 8899\n",
    "rest_address: 0.0.0.0\n",
    "Max_Vm_Fails = 7\n",
    "ADMIN_USER = [{\"username\": \"a\", \"password\": \"b\"},\n",
    "\n",
    "    # a comment inside the value\n",
    "              {\"username\": \"c\", \"password\": \"d%%e\"}]\n",
    "USER_DB =\n",
    "REST_SSL = yes\n",
    "ENABLE_CORS = On\n",
    "VERIFI_SSL = 0\n",
    "SSH_REVERSE_TUNNELS = off\n",
    "FORCE_OIDC_AUTH = TRUE\n",
    "DEFAULT_VM_NAME = node-\\d+-#N#\n",
    "CORS_ORIGIN = 'https://x.example' # not a comment\n",
    "OIDC_ISSUERS = https://a.example/,https://b.example/\n",
    "OIDC_SCOPES = openid,profile\n",
    "OIDC_GROUPS = g1\n",
    "OIDC_ADMIN_GROUPS = [{\"issuer\": \"https://a.example/\", \"group\": \"admins\"}]\n",
    "OIDC_AUDIENCE =\n",
    "VM_TAG_USERNAME = IM_USER\n",
    "REST_ROOT_PATH = /im/%(rest_port)s\n",
    "REMOTE_CONF_DIR = /var/tmp/50%%\n",
    "PRIVATE_NET_MASKS = 10.0.0.0/8,192.168.0.0/16\n",
    "INF_CACHE_TIME = 1_000\n",
    "DELAY_BETWEEN_VM_RETRIES = -1\n",
    "NOT_AN_OPTION = 50%\n",
    "ANOTHER_unknown: 1\n",
    "\n",
    "[OpenNebula]\n",
    "TEMPLATE_OTHER = GRAPHICS = [type=\"vnc\",listen=\"0.0.0.0\"]\n",
    "TEMPLATE_CONTEXT =\n",
    "    A = \"1\",\n",
    "\n",
    "    # not part of the value\n",
    "    B = \"2\"\n",
    "ONE_UNKNOWN = 2\n",
    "\n",
    "[other]\n",
    "IGNORED = 1\n",
);

/// Texts the reference refuses (its service does not start): ours too.
const INVALID: &[&str] = &[
    "[im]\nREST_PORT = eighty\n",
    "[im]\nREST_SSL = maybe\n",
    "[im]\nADMIN_USER = {\"username\": \"a\",\n",
    "[im]\nREMOTE_CONF_DIR = 50%\n",
    "[im]\nREST_ROOT_PATH = %(missing)s\n",
    "REST_PORT = 1\n[im]\n",
    "[im]\nJUSTAWORD\n",
    "[im]\nREST_PORT = 1\nrest_port = 2\n",
    "[im]\nA = 1\n[im]\nB = 2\n",
];

fn site() -> Site {
    Site {
        exe_dir: PathBuf::from("/opt/im/bin"),
        cwd: PathBuf::from("/srv/work"),
    }
}

fn parse(text: &str) -> anyhow::Result<Config> {
    Config::from_sources(&site(), &[(PathBuf::from("im.cfg"), text.to_string())])
}

fn unknown_keys(cfg: &Config) -> Vec<String> {
    let mut keys: Vec<String> = cfg
        .warnings
        .iter()
        .filter_map(|w| w.strip_prefix("unknown option "))
        .filter_map(|w| w.split(' ').next())
        .map(str::to_string)
        .collect();
    keys.sort();
    keys
}

#[test]
fn no_configuration_gives_the_reference_defaults_but_a_local_service() {
    let c = Config::defaults(&site());
    assert_eq!(c.listen_addr().unwrap(), ("127.0.0.1".to_string(), 8800));
    assert_eq!(c.im.data_db, "sqlite:///srv/work/im-data/im.db");
    assert_eq!(c.im.im_path, "/opt/im/bin");
    assert_eq!(
        c.im.contextualization_dir,
        "/opt/im/bin/../contextualization"
    );
    assert_eq!(
        c.open_nebula.template_other,
        r#"GRAPHICS = [type="vnc",listen="0.0.0.0"]"#
    );
    assert!(c.warnings.is_empty() && c.files.is_empty());

    let s = c.settings().unwrap().0;
    let d = im_core::Settings::default();
    assert_eq!(s.boot_mode, d.boot_mode);
    assert_eq!(s.max_simultaneous_launches, d.max_simultaneous_launches);
    assert_eq!(s.max_vm_fails, d.max_vm_fails);
    assert_eq!(s.delay_between_vm_retries, d.delay_between_vm_retries);
    assert_eq!(s.vm_info_update_frequency, d.vm_info_update_frequency);
    assert_eq!(
        s.vm_info_update_error_grace_period,
        d.vm_info_update_error_grace_period
    );
    assert_eq!(s.default_vm_memory, d.default_vm_memory);
    assert_eq!(s.default_vm_memory_unit, d.default_vm_memory_unit);
    assert_eq!(s.default_vm_cpus, d.default_vm_cpus);
    assert_eq!(s.default_vm_cpu_arch, d.default_vm_cpu_arch);
    assert_eq!(s.default_vm_name, d.default_vm_name);
    assert_eq!(s.default_domain, d.default_domain);
    assert_eq!(s.inf_cache_time, d.inf_cache_time);
    assert_eq!(s.auth, im_auth::AuthSettings::default());

    let a = c.api_config();
    let d = im_api::ApiConfig::default();
    assert_eq!(a.root_path, d.root_path);
    assert_eq!(a.max_blocking_calls, d.max_blocking_calls);
    assert_eq!(a.blocking_call_timeout, d.blocking_call_timeout);
    assert_eq!(a.enable_cors, d.enable_cors);
    assert_eq!(a.cors_origin, d.cors_origin);
    assert_eq!(a.static_files_dir, d.static_files_dir);
    assert_eq!(a.body_limit, d.body_limit);
    assert_eq!(a.vault, d.vault);
    assert_eq!(a.oaipmh.is_some(), d.oaipmh.is_some());
    assert!(c.log_filter().contains("im_core=info"));
}

#[test]
fn the_reference_im_cfg_reads_as_python_reads_it() {
    let c = parse(REFERENCE_IM_CFG).unwrap();
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(c.listen_addr().unwrap(), ("0.0.0.0".to_string(), 8800));
    assert_eq!(c.im.data_db, "sqlite:///etc/im/inf.dat");
    assert_eq!(c.im.user_db, "");
    assert_eq!(c.im.max_simultaneous_launches, 5);
    assert_eq!(c.im.ansible_install_timeout, 900);
    assert_eq!(c.im.playbook_retries, 3);
    assert_eq!(c.im.log_file, "/var/log/im/im.log");
    assert_eq!(c.im.rest_ssl_certfile, "/etc/im/pki/server-cert.pem");
    assert!(!c.im.rest_ssl && !c.im.vminfo_json && c.im.ssh_reverse_tunnels);
    assert_eq!(c.im.oidc_issuers, ["https://aai.egi.eu/auth/realms/egi"]);
    assert_eq!(c.im.vm_tag_username.as_deref(), Some("IM_USER"));
    assert_eq!(c.im.vm_tag_inf_id.as_deref(), Some("IM_INFRA_ID"));
    assert_eq!(c.im.vm_tag_im_url, None);
    assert_eq!(c.open_nebula.template_context, "");
    assert_eq!(
        c.open_nebula.template_other,
        r#"GRAPHICS = [type="vnc",listen="0.0.0.0", keymap="es"]"#
    );
    assert_eq!(c.open_nebula.image_uname, "oneadmin");
    let s = c.settings().unwrap().0;
    assert_eq!(s.max_simultaneous_launches, 5);
    assert!(s.auth.user_db.is_none(), "an empty USER_DB checks no user");
    assert_eq!(s.auth.oidc.issuers, ["https://aai.egi.eu/auth/realms/egi"]);
    assert_eq!(c.api_config().root_path, "");
}

#[test]
fn ini_rules_and_typed_values() {
    let c = parse(EDGE_IM_CFG).unwrap();
    assert_eq!(c.listen_addr().unwrap(), ("0.0.0.0".to_string(), 8899));
    assert_eq!(c.im.max_vm_fails, 7, "keys are case-insensitive");
    assert_eq!(c.im.log_level, "DEBUG", "[DEFAULT] is inherited");
    assert_eq!(
        c.im.admin_user,
        json!([{"username": "a", "password": "b"}, {"username": "c", "password": "d%e"}])
    );
    assert!(c.im.rest_ssl && c.im.enable_cors && c.im.force_oidc_auth);
    assert!(!c.im.verifi_ssl && !c.im.ssh_reverse_tunnels);
    assert_eq!(
        c.im.default_vm_name, r"node-\d+-#N#",
        "backslashes are literal"
    );
    assert_eq!(c.im.cors_origin, "'https://x.example' # not a comment");
    assert_eq!(
        c.im.oidc_issuers,
        ["https://a.example/", "https://b.example/"]
    );
    assert_eq!(c.im.oidc_scopes, ["openid", "profile"]);
    assert_eq!(c.im.oidc_audience, None, "an empty value of a None option");
    assert_eq!(c.im.rest_root_path, "/im/8899", "%(name)s interpolation");
    assert_eq!(c.im.remote_conf_dir, "/var/tmp/50%", "%% is %");
    assert_eq!(c.im.private_net_masks, ["10.0.0.0/8", "192.168.0.0/16"]);
    assert_eq!(c.im.inf_cache_time, 1000);
    assert_eq!(c.im.delay_between_vm_retries, -1);
    assert_eq!(
        c.open_nebula.template_other,
        r#"GRAPHICS = [type="vnc",listen="0.0.0.0"]"#
    );
    assert_eq!(c.open_nebula.template_context, "\nA = \"1\",\n\nB = \"2\"");
    assert_eq!(
        unknown_keys(&c),
        [
            "ANOTHER_UNKNOWN",
            "LOG_LEVEL",
            "NOT_AN_OPTION",
            "ONE_UNKNOWN"
        ],
        "LOG_LEVEL comes into [OpenNebula] from [DEFAULT], as in Python"
    );

    let s = c.settings().unwrap().0;
    assert_eq!(s.max_vm_fails, 7);
    assert_eq!(s.delay_between_vm_retries, 0);
    assert_eq!(s.auth.admin_users.len(), 2);
    assert!(s.auth.is_admin_user(Some("c"), Some("d%e")));
    assert!(s.auth.force_oidc_auth);
    assert_eq!(
        s.auth.oidc.admin_groups,
        [OidcAdminGroup {
            issuer: "https://a.example/".into(),
            group: "admins".into()
        }]
    );
    let a = c.api_config();
    assert_eq!(a.root_path, "/im/8899");
    assert!(a.enable_cors);
    assert_eq!(
        c.log_filter(),
        "warn,im=debug,im_api=debug,im_core=debug,im_store=debug,im_connectors=debug,im_auth=debug,im_radl=debug,tower_http=debug"
    );
}

#[test]
fn invalid_values_are_errors_that_name_the_option_not_secrets() {
    for text in INVALID {
        assert!(parse(text).is_err(), "{text:?} must be refused");
    }
    let e = format!("{:#}", parse("[im]\nREST_PORT = eighty\n").err().unwrap());
    assert!(e.contains("REST_PORT") && e.contains("eighty"), "{e}");
    let e = format!(
        "{:#}",
        parse("[im]\nADMIN_USER = {\"username\": \"a\", \"password\": s3cret}\n")
            .err()
            .unwrap()
    );
    assert!(e.contains("ADMIN_USER") && !e.contains("s3cret"), "{e}");
    let e = format!("{:#}", parse("[im]\nA = 1\nB\n").err().unwrap());
    assert!(e.contains("im.cfg") && e.contains("line 3"), "{e}");
    // An unknown option is never read, so a bad % in it is no error (as in Python).
    assert_eq!(unknown_keys(&parse("[im]\nX = 50%\n").unwrap()), ["X"]);
    // ADMIN_USER entries must be objects.
    let c = parse("[im]\nADMIN_USER = [\"admin\"]\n").unwrap();
    assert!(c.settings().is_err());
    let c = parse("[im]\nADMIN_USER = 3\n").unwrap();
    assert!(c.settings().is_err());
    assert!(parse("[im]\nOIDC_ADMIN_GROUPS = admins\n").is_err());
}

#[test]
fn later_files_then_the_environment_then_the_command_line_win() {
    let sources = [
        (
            PathBuf::from("a.cfg"),
            "[im]\nREST_PORT = 1\nBOOT_MODE = 1\nDATA_DB = sqlite:///a.db\n".to_string(),
        ),
        (PathBuf::from("b.cfg"), "[im]\nrest_port = 2\n".to_string()),
    ];
    let mut c = Config::from_sources(&site(), &sources).unwrap();
    assert_eq!(c.files, [PathBuf::from("a.cfg"), PathBuf::from("b.cfg")]);
    assert_eq!((c.im.rest_port, c.im.boot_mode), (2, 1));
    c.apply_env(Some(String::new()));
    assert_eq!(
        c.im.data_db, "sqlite:///a.db",
        "an empty IM_DATA_DB is ignored"
    );
    c.apply_env(Some("postgres://u:p@h/db".into()));
    assert_eq!(c.im.data_db, "postgres://u:p@h/db");
    c.apply_cli(Some("127.0.0.1:0"), Some("sqlite:///x.db"))
        .unwrap();
    assert_eq!(c.listen_addr().unwrap(), ("127.0.0.1".to_string(), 0));
    assert_eq!(c.im.data_db, "sqlite:///x.db");
    c.apply_cli(Some("[::1]:9000"), None).unwrap();
    assert_eq!(c.listen_addr().unwrap(), ("::1".to_string(), 9000));
    assert!(c.apply_cli(Some("8800"), None).is_err());
    assert!(c.apply_cli(Some("localhost:http"), None).is_err());
    assert!(c.apply_cli(Some(":80"), None).is_err());
    c.im.rest_port = 70000;
    assert!(c.listen_addr().is_err());
}

#[test]
fn search_paths_are_the_reference_ones_around_the_executable() {
    assert_eq!(
        site().search_paths(),
        [
            PathBuf::from("/opt/im/im.cfg"),
            PathBuf::from("/opt/im/etc/im.cfg"),
            PathBuf::from("/etc/im/im.cfg"),
        ]
    );
}

#[test]
fn settings_and_api_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.json");
    std::fs::write(&users, r#"{"users": [{"username": "u", "password": "p"}]}"#).unwrap();
    let text = format!(
        "[im]\nUSER_DB = {}\nADMIN_USER = {{\"username\": \"root\", \"password\": \"pw\"}}\n\
         BOOT_MODE = 2\nMAX_SIMULTANEOUS_LAUNCHES = 0\nVM_INFO_UPDATE_FREQUENCY = 0\n\
         OIDC_CLIENT_ID = cid\nOIDC_CLIENT_SECRET = csecret\nOIDC_GROUPS_CLAIM = roles\n\
         REST_ROOT_PATH = im/\nREST_MAX_BLOCKING_CALLS = 4\nREST_BLOCKING_CALL_TIMEOUT = 30\n\
         STATIC_FILES_DIR = /srv/static\nVAULT_URL = https://vault:8200\nVAULT_PATH = creds/#USER_SUB#\n\
         OAIPMH_REPO_BASE_IDENTIFIER_URL = https://x/\nOAIPMH_REPO_NAME = IM\n\
         OAIPMH_REPO_DESCRIPTION = d\nLOG_LEVEL = nonsense\n",
        users.display()
    );
    let c = parse(&text).unwrap();
    let s = c.settings().unwrap().0;
    assert_eq!(s.boot_mode, BootMode::ReadDelete);
    assert_eq!(s.max_simultaneous_launches, 1);
    assert_eq!(s.vm_info_update_frequency, 1);
    let db = s.auth.user_db.as_ref().unwrap();
    assert!(db.contains("u", Some("p")) && !db.contains("u", Some("x")));
    assert!(s.auth.is_admin_user(Some("root"), Some("pw")));
    assert_eq!(s.auth.oidc.client_secret.as_deref(), Some("csecret"));
    assert_eq!(s.auth.oidc.groups_claim, "roles");
    let a = c.api_config();
    assert_eq!(a.root_path, "/im");
    assert_eq!(a.max_blocking_calls, 4);
    assert_eq!(a.blocking_call_timeout, Some(Duration::from_secs(30)));
    assert_eq!(a.static_files_dir, Some(PathBuf::from("/srv/static")));
    let v = a.vault.unwrap();
    assert_eq!(v.url, "https://vault:8200");
    assert_eq!(v.path.as_deref(), Some("creds/#USER_SUB#"));
    assert_eq!(v.role, None);
    assert!(a.oaipmh.is_some());
    assert!(
        c.log_filter().contains("im_core=warn"),
        "unknown level: WARN"
    );

    // A USER_DB that cannot be read rejects everyone (the reference's rule).
    let c = parse("[im]\nUSER_DB = /nonexistent/users.json\n").unwrap();
    let db = c.settings().unwrap().0.auth.user_db.unwrap();
    assert!(!db.contains("u", Some("p")));
}

#[test]
fn database_urls_are_logged_without_passwords() {
    assert_eq!(
        redact_url("mysql://im:s3cret@db:3306/im"),
        "mysql://im:***@db:3306/im"
    );
    assert_eq!(redact_url("postgres://u:p@w@h/db"), "postgres://u:***@h/db");
    assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
    assert_eq!(
        redact_url("postgres://h/db?user=u&password=x&sslmode=require"),
        "postgres://h/db?user=u&password=***&sslmode=require"
    );
    assert_eq!(
        redact_url("sqlite:///var/im/im.db"),
        "sqlite:///var/im/im.db"
    );
    assert_eq!(redact_url("/etc/im/inf.dat"), "/etc/im/inf.dat");
}

// ----- the reference's own reading of the same texts ------------------------

/// The reference's Python (`IM_REF_PYTHON`, else the venv scripts/test makes)
/// when it has `IM.config`.
fn reference_python() -> Option<PathBuf> {
    let python = std::env::var_os("IM_REF_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/im-ref-venv/bin/python"));
    let ok = Command::new(&python)
        .args([
            "-c",
            "import importlib.util as u; assert u.find_spec('IM.config')",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(python)
}

/// What `IM/config.py` makes of `text`.
fn reference(python: &Path, text: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("im.cfg");
    std::fs::write(&path, text).unwrap();
    let out = Command::new(python)
        .arg("-c")
        .arg(include_str!("../../tests/reference_config.py"))
        .arg(&path)
        .env_remove("IM_DATA_DB")
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert!(v.get("fatal").is_none(), "{v}");
    v
}

/// Python's value brought to our documented reading of it.
fn normalise(key: &str, py: &Value, py_default: &Value) -> Value {
    match py {
        // IM-compat: list items trimmed, empty ones dropped.
        Value::Array(items) if items.iter().all(Value::is_string) => {
            let items: Vec<&str> = items
                .iter()
                .filter_map(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            if key == "OIDC_ADMIN_GROUPS" {
                // IM-compat: read as the JSON the reference split at commas.
                let text = items.join(",");
                if text.is_empty() {
                    return json!([]);
                }
                return serde_json::from_str(&text).unwrap();
            }
            json!(items)
        }
        Value::String(s) if s.is_empty() && py_default.is_null() => Value::Null,
        other => other.clone(),
    }
}

fn assert_same_as_reference(python: &Path, text: &str, defaults: &Value) {
    let py = reference(python, text);
    let ours = parse(text);
    if let Some(e) = py.get("error") {
        assert!(
            ours.is_err(),
            "the reference refuses {text:?} ({e}); we read it"
        );
        return;
    }
    let ours = ours.unwrap_or_else(|e| panic!("we refuse {text:?}: {e:#}"));
    let upper = text.to_uppercase();
    for (section, our_values) in [
        ("im", ours.im.to_json()),
        ("OpenNebula", ours.open_nebula.to_json()),
    ] {
        let py_values = py[section].as_object().unwrap();
        for (key, ours_v) in &our_values {
            let Some(py_v) = py_values.get(key) else {
                assert!(
                    OURS_ONLY.contains(&key.as_str()),
                    "{key} is not an option of IM/config.py"
                );
                continue;
            };
            let py_default = &defaults[section][key];
            let set_here = upper.contains(key.as_str());
            // Site-dependent defaults, and our deliberate ones (tested above).
            let site_dependent = [
                "IM_PATH",
                "CONTEXTUALIZATION_DIR",
                "RECIPES_DIR",
                "REST_ADDRESS",
                "DATA_DB",
            ];
            if !set_here && site_dependent.contains(&key.as_str()) {
                continue;
            }
            assert_eq!(
                ours_v,
                &normalise(key, py_v, py_default),
                "[{section}] {key} in {text:?}"
            );
        }
        let ours_only = our_values
            .keys()
            .filter(|k| OURS_ONLY.contains(&k.as_str()))
            .count();
        assert_eq!(
            py_values.len() + ours_only,
            our_values.len(),
            "[{section}] options"
        );
    }
    let mut py_unknown: Vec<String> = py["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    py_unknown.sort();
    assert_eq!(
        unknown_keys(&ours),
        py_unknown,
        "unknown options in {text:?}"
    );
}

/// Options of ours that IM/config.py does not have.
const OURS_ONLY: &[&str] = &["RECIPES_DB_FILE", "LEASE_SECS", "OAIPMH_REPO_DIR"];

#[test]
fn the_reference_reads_every_text_as_we_do() {
    let Some(python) = reference_python() else {
        eprintln!(
            "SKIPPED: no Python with the reference IM 2.0 (set IM_REF_PYTHON; scripts/test installs it)"
        );
        return;
    };
    let defaults = reference(&python, "");
    // Our defaults are the reference's, but for the site-dependent ones.
    let ours = Config::defaults(&site());
    for (key, v) in ours.im.to_json() {
        if [
            "IM_PATH",
            "CONTEXTUALIZATION_DIR",
            "RECIPES_DIR",
            "REST_ADDRESS",
            "DATA_DB",
            "RECIPES_DB_FILE",
        ]
        .contains(&key.as_str())
            || OURS_ONLY.contains(&key.as_str())
        {
            continue;
        }
        assert_eq!(v, defaults["im"][&key], "default of {key}");
    }
    assert_eq!(
        Value::Object(ours.open_nebula.to_json()),
        defaults["OpenNebula"]
    );
    assert_eq!(defaults["im"]["REST_ADDRESS"], "0.0.0.0");
    assert_eq!(defaults["im"]["DATA_DB"], "/etc/im/inf.dat");

    let mut texts = vec![REFERENCE_IM_CFG.to_string(), EDGE_IM_CFG.to_string()];
    texts.extend(INVALID.iter().map(|t| t.to_string()));
    texts.push("[im]\nX = 50%\n".into());
    texts.push("[im]\nREST_PORT = 1\n\n  [notasection]\n".into());
    // The whole reference file when it is at hand (IM_REF_IM_CFG=…/etc/im.cfg).
    if let Some(path) = std::env::var_os("IM_REF_IM_CFG") {
        texts.push(std::fs::read_to_string(path).unwrap());
    }
    for text in &texts {
        assert_same_as_reference(&python, text, &defaults);
    }
}
