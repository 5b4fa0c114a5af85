//! `im.cfg`: the reference's configuration file (grycap/im `IM/config.py`).
//!
//! Every option of the reference's `[im]` and `[OpenNebula]` sections is a
//! typed field of [`Config`] with the reference's default, converted as
//! `IM/config.py` does from the type of that default: booleans with
//! `getboolean` (`1/yes/true/on`, `0/no/false/off`), integers with `getint`,
//! lists split at commas, dictionaries as JSON, everything else a string.
//!
//! Sources, later ones winning: the files (`--config FILE`, or the reference's
//! search paths), the `IM_DATA_DB` environment variable, then the command line
//! (`--listen`, `--db`). Unknown options give a warning naming the option.
//!
//! IM-compat deviations (docs/compat.md, "Service"): with nothing configured the
//! service listens on 127.0.0.1 (not 0.0.0.0) and keeps its data in
//! `./im-data/im.db`; list items are trimmed and empty ones dropped;
//! `OIDC_ADMIN_GROUPS` is read as the JSON its documentation shows.

mod ini;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use im_auth::{AdminUser, AuthSettings, OidcAdminGroup, OidcSettings, UserDb, VaultSettings};
use im_core::{BootMode, Settings};

use ini::Sections;

/// The values that the defaults of a few options are computed from.
#[derive(Clone, Debug)]
pub struct Site {
    /// The directory of the running executable (`IM_PATH` by default, as the
    /// reference's is the directory of `config.py`).
    pub exe_dir: PathBuf,
    /// The working directory (the default database lives under it).
    pub cwd: PathBuf,
}

impl Site {
    /// The context of this process.
    pub fn current() -> Site {
        let exe_dir = std::env::current_exe()
            .ok()
            .and_then(|e| e.canonicalize().ok())
            .and_then(|e| e.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| PathBuf::from("."));
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        Site { exe_dir, cwd }
    }

    /// The reference's search paths (`<IM_PATH>/../im.cfg`,
    /// `<IM_PATH>/../etc/im.cfg`, `/etc/im/im.cfg`), later ones overriding
    /// earlier ones.
    pub fn search_paths(&self) -> Vec<PathBuf> {
        let base = self.exe_dir.parent().unwrap_or(&self.exe_dir);
        vec![
            base.join("im.cfg"),
            base.join("etc").join("im.cfg"),
            PathBuf::from("/etc/im/im.cfg"),
        ]
    }
}

/// How one option's text becomes its typed value (`IM/config.py`
/// `parse_options`), and back to the JSON Python would show for it.
trait OptionValue: Sized {
    fn parse(raw: &str) -> Result<Self, String>;
    #[cfg(test)]
    fn to_json(&self) -> serde_json::Value;
}

/// `getboolean`.
impl OptionValue for bool {
    fn parse(raw: &str) -> Result<Self, String> {
        match raw.to_lowercase().as_str() {
            "1" | "yes" | "true" | "on" => Ok(true),
            "0" | "no" | "false" | "off" => Ok(false),
            _ => Err(format!(
                "{raw:?} is not a boolean (1/yes/true/on or 0/no/false/off)"
            )),
        }
    }
    #[cfg(test)]
    fn to_json(&self) -> serde_json::Value {
        (*self).into()
    }
}

/// `getint` (Python's `int()`: a sign, digits, `_` between digits).
impl OptionValue for i64 {
    fn parse(raw: &str) -> Result<Self, String> {
        let t = raw.trim();
        let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
        let well_formed = !digits.is_empty()
            && !digits.starts_with('_')
            && !digits.ends_with('_')
            && !digits.contains("__")
            && digits.chars().all(|c| c.is_ascii_digit() || c == '_');
        well_formed
            .then(|| t.replace('_', "").parse().ok())
            .flatten()
            .ok_or_else(|| format!("{raw:?} is not an integer"))
    }
    #[cfg(test)]
    fn to_json(&self) -> serde_json::Value {
        (*self).into()
    }
}

/// An option whose reference default is a string.
impl OptionValue for String {
    fn parse(raw: &str) -> Result<Self, String> {
        Ok(raw.to_string())
    }
    #[cfg(test)]
    fn to_json(&self) -> serde_json::Value {
        self.as_str().into()
    }
}

/// An option whose reference default is `None` (read as a string). The
/// reference only ever tests these for truth, so an empty value is `None`.
impl OptionValue for Option<String> {
    fn parse(raw: &str) -> Result<Self, String> {
        Ok((!raw.is_empty()).then(|| raw.to_string()))
    }
    #[cfg(test)]
    fn to_json(&self) -> serde_json::Value {
        self.as_deref().into()
    }
}

/// A list: the value split at commas. IM-compat: items are trimmed and empty
/// ones dropped (the reference keeps `" b"` and `""`, which then never match).
impl OptionValue for Vec<String> {
    fn parse(raw: &str) -> Result<Self, String> {
        Ok(raw
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect())
    }
    #[cfg(test)]
    fn to_json(&self) -> serde_json::Value {
        self.clone().into()
    }
}

/// A dictionary (`ADMIN_USER`): JSON. An empty value is the default `{}`.
impl OptionValue for serde_json::Value {
    fn parse(raw: &str) -> Result<Self, String> {
        if raw.trim().is_empty() {
            return Ok(serde_json::Value::Object(Default::default()));
        }
        // serde_json's messages never quote the input (it may hold passwords).
        serde_json::from_str(raw).map_err(|e| format!("not valid JSON: {e}"))
    }
    #[cfg(test)]
    fn to_json(&self) -> serde_json::Value {
        self.clone()
    }
}

/// `OIDC_ADMIN_GROUPS`: IM-compat: the JSON list of `{"issuer", "group"}` its
/// documentation shows (the reference splits it at commas, which breaks it);
/// one object alone is accepted too.
impl OptionValue for Vec<OidcAdminGroup> {
    fn parse(raw: &str) -> Result<Self, String> {
        if raw.trim().is_empty() {
            return Ok(Vec::new());
        }
        let v: serde_json::Value =
            serde_json::from_str(raw).map_err(|e| format!("not valid JSON: {e}"))?;
        let items = match v {
            serde_json::Value::Array(a) => a,
            o @ serde_json::Value::Object(_) => vec![o],
            _ => return Err("must be a JSON list of {\"issuer\": …, \"group\": …}".into()),
        };
        items
            .into_iter()
            .map(|i| {
                serde_json::from_value(i).map_err(|e| {
                    format!("each entry must be {{\"issuer\": \"…\", \"group\": \"…\"}}: {e}")
                })
            })
            .collect()
    }
    #[cfg(test)]
    fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// Declares a section's options: the struct fields, their defaults, the
/// reading of one option by its upper-case name, and the list of names.
macro_rules! options {
    (
        $(#[$meta:meta])*
        pub struct $name:ident ($ctx:ident) {
            $(
                $(#[doc = $doc:literal])*
                $key:literal => $field:ident : $ty:ty = $default:expr,
            )*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $(
                $(#[doc = $doc])*
                pub $field: $ty,
            )*
        }

        impl $name {
            /// The reference's defaults.
            pub fn defaults($ctx: &Site) -> Self {
                let _ = $ctx;
                $name { $( $field: $default, )* }
            }

            /// The option names (upper case).
            pub const KEYS: &'static [&'static str] = &[$($key),*];

            /// Sets the option `key` (upper case) from its text; `None` when
            /// there is no such option.
            fn set(&mut self, key: &str, raw: &str) -> Option<Result<(), String>> {
                match key {
                    $( $key => Some(<$ty as OptionValue>::parse(raw).map(|v| self.$field = v)), )*
                    _ => None,
                }
            }

            /// The options as Python would show them (name → JSON value).
            #[cfg(test)]
            fn to_json(&self) -> serde_json::Map<String, serde_json::Value> {
                let mut m = serde_json::Map::new();
                $( m.insert($key.to_string(), OptionValue::to_json(&self.$field)); )*
                m
            }
        }
    };
}

options! {
    /// The `[im]` section: every option of `IM/config.py` `Config`.
    #[derive(Clone)]
    pub struct ImOptions (ctx) {
        // ----- service, database, logging
        /// `BOOT_MODE`: 0 normal, 1 read-only, 2 read and delete.
        "BOOT_MODE" => boot_mode: i64 = 0,
        /// `DATA_DB`: the database URL. IM-compat: the default is an SQLite file
        /// `im-data/im.db` under the working directory, not `/etc/im/inf.dat`.
        "DATA_DB" => data_db: String =
            format!("sqlite://{}", ctx.cwd.join("im-data").join("im.db").display()),
        /// `INF_CACHE_TIME`: seconds an infrastructure stays cached (0: always).
        "INF_CACHE_TIME" => inf_cache_time: i64 = 0,
        /// `LEASE_SECS` (ours): how long an instance's lease on an
        /// infrastructure's work lasts without a renewal when several
        /// instances share a PostgreSQL or MySQL database; a dead instance's
        /// work is taken over within about this time. 0: a single server.
        "LEASE_SECS" => lease_secs: i64 = 30,
        /// `USER_DB`: a JSON file of the accepted users (empty: anyone).
        "USER_DB" => user_db: String = String::new(),
        /// `ADMIN_USER`: one `{username, password}` object or a list of them.
        "ADMIN_USER" => admin_user: serde_json::Value =
            serde_json::Value::Object(Default::default()),
        /// `LOG_FILE`: not used; logs go to standard output.
        "LOG_FILE" => log_file: String = "/var/log/im/inf.log".into(),
        /// `LOG_FILE_MAX_SIZE`: not used (no log file).
        "LOG_FILE_MAX_SIZE" => log_file_max_size: i64 = 10_485_760,
        /// `LOG_LEVEL`: DEBUG, INFO, WARN(ING), ERROR, FATAL or CRITICAL.
        "LOG_LEVEL" => log_level: String = "INFO".into(),
        /// `IM_PATH`: the base of the contextualization paths (default: the
        /// executable's directory).
        "IM_PATH" => im_path: String = ctx.exe_dir.display().to_string(),
        /// `ACTIVATE_REST`: unused in IM 2.0 (the REST API is always on).
        "ACTIVATE_REST" => activate_rest: bool = true,
        /// `VMINFO_JSON`: unused in IM 2.0.
        "VMINFO_JSON" => vminfo_json: bool = false,
        // ----- REST
        /// `REST_ADDRESS`. IM-compat: `127.0.0.1` by default, not `0.0.0.0`.
        "REST_ADDRESS" => rest_address: String = "127.0.0.1".into(),
        /// `REST_PORT`.
        "REST_PORT" => rest_port: i64 = 8800,
        /// `REST_ROOT_PATH`: the prefix of every route behind a reverse proxy.
        "REST_ROOT_PATH" => rest_root_path: String = "/".into(),
        /// `REST_MAX_BLOCKING_CALLS`: core operations running at once.
        "REST_MAX_BLOCKING_CALLS" => rest_max_blocking_calls: i64 = 32,
        /// `REST_BLOCKING_CALL_TIMEOUT`: seconds before a 504 (0: no limit).
        "REST_BLOCKING_CALL_TIMEOUT" => rest_blocking_call_timeout: i64 = 0,
        /// `REST_SSL`: serve HTTPS.
        "REST_SSL" => rest_ssl: bool = false,
        /// `REST_SSL_KEYFILE`: the PEM private key.
        "REST_SSL_KEYFILE" => rest_ssl_keyfile: String = "/etc/im/pki/server-key.pem".into(),
        /// `REST_SSL_CERTFILE`: the PEM certificate chain.
        "REST_SSL_CERTFILE" => rest_ssl_certfile: String = "/etc/im/pki/server-cert.pem".into(),
        /// `REST_SSL_CA_CERTS`: not used (the reference only loads it for client
        /// certificates, which it never asks for).
        "REST_SSL_CA_CERTS" => rest_ssl_ca_certs: String = "/etc/im/pki/ca-chain.pem".into(),
        /// `ENABLE_CORS`.
        "ENABLE_CORS" => enable_cors: bool = false,
        /// `CORS_ORIGIN`.
        "CORS_ORIGIN" => cors_origin: String = "*".into(),
        /// `STATIC_FILES_DIR`: served under `/static/`.
        "STATIC_FILES_DIR" => static_files_dir: Option<String> = None,
        /// `OAIPMH_REPO_BASE_IDENTIFIER_URL`.
        "OAIPMH_REPO_BASE_IDENTIFIER_URL" => oaipmh_repo_base_identifier_url: Option<String> = None,
        /// `OAIPMH_REPO_NAME`.
        "OAIPMH_REPO_NAME" => oaipmh_repo_name: Option<String> = None,
        /// `OAIPMH_REPO_DESCRIPTION`.
        "OAIPMH_REPO_DESCRIPTION" => oaipmh_repo_description: Option<String> = None,
        /// `OAIPMH_REPO_ADMIN_EMAIL`.
        "OAIPMH_REPO_ADMIN_EMAIL" => oaipmh_repo_admin_email: Option<String> = None,
        /// `OAIPMH_REPO_DIR` (ours): a local directory of TOSCA templates the
        /// catalogue is read from instead of the GitHub folder named by
        /// `OAIPMH_REPO_BASE_IDENTIFIER_URL` (which still prefixes the record
        /// identifiers).
        "OAIPMH_REPO_DIR" => oaipmh_repo_dir: Option<String> = None,
        // ----- authentication
        /// `OIDC_ISSUERS`: accepted token issuers (empty: none is accepted, as in the reference).
        "OIDC_ISSUERS" => oidc_issuers: Vec<String> = Vec::new(),
        /// `OIDC_AUDIENCE`: required `aud`.
        "OIDC_AUDIENCE" => oidc_audience: Option<String> = None,
        /// `OIDC_CLIENT_ID`: with the secret, token introspection.
        "OIDC_CLIENT_ID" => oidc_client_id: Option<String> = None,
        /// `OIDC_CLIENT_SECRET`.
        "OIDC_CLIENT_SECRET" => oidc_client_secret: Option<String> = None,
        /// `OIDC_SCOPES`: scopes the token must carry.
        "OIDC_SCOPES" => oidc_scopes: Vec<String> = Vec::new(),
        /// `OIDC_GROUPS`: groups the user must all be in.
        "OIDC_GROUPS" => oidc_groups: Vec<String> = Vec::new(),
        /// `OIDC_GROUPS_CLAIM`.
        "OIDC_GROUPS_CLAIM" => oidc_groups_claim: String = "groups".into(),
        /// `OIDC_ADMIN_GROUPS`: `[{"issuer": …, "group": …}]` whose members are admins.
        "OIDC_ADMIN_GROUPS" => oidc_admin_groups: Vec<OidcAdminGroup> = Vec::new(),
        /// `FORCE_OIDC_AUTH`: IM credentials must carry a token.
        "FORCE_OIDC_AUTH" => force_oidc_auth: bool = false,
        /// `VAULT_URL`: read cloud credentials from Vault for `Bearer` requests.
        "VAULT_URL" => vault_url: Option<String> = None,
        /// `VAULT_PATH` (`#USER_SUB#` is the token's subject).
        "VAULT_PATH" => vault_path: Option<String> = None,
        /// `VAULT_MOUNT_POINT`.
        "VAULT_MOUNT_POINT" => vault_mount_point: Option<String> = None,
        /// `VAULT_ROLE`.
        "VAULT_ROLE" => vault_role: Option<String> = None,
        /// `VERIFI_SSL`: verify the TLS certificates of clouds, OIDC and Vault.
        "VERIFI_SSL" => verifi_ssl: bool = false,
        // ----- launching and VM defaults
        /// `MAX_SIMULTANEOUS_LAUNCHES`: VMs launched in parallel by one call.
        "MAX_SIMULTANEOUS_LAUNCHES" => max_simultaneous_launches: i64 = 1,
        /// `MAX_VM_FAILS`: launch attempts per VM.
        "MAX_VM_FAILS" => max_vm_fails: i64 = 3,
        /// `DELAY_BETWEEN_VM_RETRIES` in seconds.
        "DELAY_BETWEEN_VM_RETRIES" => delay_between_vm_retries: i64 = 5,
        /// `WAIT_RUNNING_VM_TIMEOUT` in seconds.
        "WAIT_RUNNING_VM_TIMEOUT" => wait_running_vm_timeout: i64 = 1800,
        /// `WAIT_SSH_ACCCESS_TIMEOUT` in seconds (the reference's spelling).
        "WAIT_SSH_ACCCESS_TIMEOUT" => wait_ssh_acccess_timeout: i64 = 300,
        /// `WAIT_PUBLIC_IP_TIMEOUT` in seconds.
        "WAIT_PUBLIC_IP_TIMEOUT" => wait_public_ip_timeout: i64 = 90,
        /// `VM_INFO_UPDATE_FREQUENCY`: seconds between refreshes of a VM.
        "VM_INFO_UPDATE_FREQUENCY" => vm_info_update_frequency: i64 = 10,
        /// `VM_INFO_UPDATE_ERROR_GRACE_PERIOD`: seconds of failed refreshes
        /// before a VM is `unknown`.
        "VM_INFO_UPDATE_ERROR_GRACE_PERIOD" => vm_info_update_error_grace_period: i64 = 120,
        /// `DEFAULT_VM_MEMORY`.
        "DEFAULT_VM_MEMORY" => default_vm_memory: i64 = 512,
        /// `DEFAULT_VM_MEMORY_UNIT`.
        "DEFAULT_VM_MEMORY_UNIT" => default_vm_memory_unit: String = "M".into(),
        /// `DEFAULT_VM_CPUS`.
        "DEFAULT_VM_CPUS" => default_vm_cpus: i64 = 1,
        /// `DEFAULT_VM_CPU_ARCH`.
        "DEFAULT_VM_CPU_ARCH" => default_vm_cpu_arch: String = "x86_64".into(),
        /// `DEFAULT_VM_NAME` (`#N#` is the VM's IM id).
        "DEFAULT_VM_NAME" => default_vm_name: String = "vnode-#N#".into(),
        /// `DEFAULT_DOMAIN`.
        "DEFAULT_DOMAIN" => default_domain: String = "localdomain".into(),
        /// `PRIVATE_NET_MASKS`: networks whose addresses are private.
        "PRIVATE_NET_MASKS" => private_net_masks: Vec<String> = [
            "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
            "100.64.0.0/10", "192.0.0.0/24", "198.18.0.0/15",
        ].map(String::from).to_vec(),
        /// `VM_TAG_USERNAME`: the tag holding the user's name.
        "VM_TAG_USERNAME" => vm_tag_username: Option<String> = None,
        /// `VM_TAG_INF_ID`: the tag holding the infrastructure id.
        "VM_TAG_INF_ID" => vm_tag_inf_id: Option<String> = None,
        /// `VM_TAG_IM_URL`: the tag holding the IM's URL.
        "VM_TAG_IM_URL" => vm_tag_im_url: Option<String> = None,
        /// `VM_TAG_IM`: the tag marking IM VMs.
        "VM_TAG_IM" => vm_tag_im: Option<String> = None,
        // ----- contextualization
        /// `MAX_CONTEXTUALIZATION_TIME` in seconds.
        "MAX_CONTEXTUALIZATION_TIME" => max_contextualization_time: i64 = 7200,
        /// `REMOTE_CONF_DIR`: the working directory on the master VM.
        "REMOTE_CONF_DIR" => remote_conf_dir: String = "/var/tmp/.im".into(),
        /// `PLAYBOOK_RETRIES`.
        "PLAYBOOK_RETRIES" => playbook_retries: i64 = 1,
        /// `MAX_SSH_ERRORS`.
        "MAX_SSH_ERRORS" => max_ssh_errors: i64 = 5,
        /// `CHECK_CTXT_PROCESS_INTERVAL` in seconds.
        "CHECK_CTXT_PROCESS_INTERVAL" => check_ctxt_process_interval: i64 = 10,
        /// `CONFMAMAGER_CHECK_STATE_INTERVAL` in seconds (the reference's spelling).
        "CONFMAMAGER_CHECK_STATE_INTERVAL" => confmamager_check_state_interval: i64 = 5,
        /// `UPDATE_CTXT_LOG_INTERVAL` in seconds.
        "UPDATE_CTXT_LOG_INTERVAL" => update_ctxt_log_interval: i64 = 20,
        /// `ANSIBLE_INSTALL_TIMEOUT` in seconds.
        "ANSIBLE_INSTALL_TIMEOUT" => ansible_install_timeout: i64 = 500,
        /// `VM_NUM_USE_CTXT_DIST`: beyond this many VMs, the distributed agent.
        "VM_NUM_USE_CTXT_DIST" => vm_num_use_ctxt_dist: i64 = 30,
        /// `SSH_REVERSE_TUNNELS`.
        "SSH_REVERSE_TUNNELS" => ssh_reverse_tunnels: bool = true,
        /// `CONTEXTUALIZATION_DIR`.
        "CONTEXTUALIZATION_DIR" => contextualization_dir: String =
            format!("{}/../contextualization", ctx.exe_dir.display()),
        /// `RECIPES_DIR`.
        "RECIPES_DIR" => recipes_dir: String =
            format!("{}/../contextualization/AnsibleRecipes", ctx.exe_dir.display()),
        /// `RECIPES_DB_FILE`: listed by the manual, unused (and unknown to
        /// IM 2.0's `config.py`); accepted without a warning.
        "RECIPES_DB_FILE" => recipes_db_file: Option<String> = None,
    }
}

options! {
    /// The `[OpenNebula]` section (`IM/config.py` `ConfigOpenNebula`).
    #[derive(Clone)]
    pub struct OpenNebulaOptions (ctx) {
        /// `TEMPLATE_CONTEXT`: text added to the template's `CONTEXT`.
        "TEMPLATE_CONTEXT" => template_context: String = String::new(),
        /// `TEMPLATE_OTHER`: text added to the template.
        "TEMPLATE_OTHER" => template_other: String =
            r#"GRAPHICS = [type="vnc",listen="0.0.0.0"]"#.into(),
        /// `IMAGE_UNAME`: the owner of images named in disk URLs.
        "IMAGE_UNAME" => image_uname: String = String::new(),
    }
}

/// The whole configuration. Not `Debug`: it holds secrets.
#[derive(Clone)]
pub struct Config {
    /// The `[im]` options.
    pub im: ImOptions,
    /// The `[OpenNebula]` options.
    pub open_nebula: OpenNebulaOptions,
    /// The files read, in order.
    pub files: Vec<PathBuf>,
    /// What to warn about once logging is set up (unknown options, unreadable
    /// files); they never hold option values.
    pub warnings: Vec<String>,
}

impl Config {
    /// Nothing configured: the defaults.
    pub fn defaults(ctx: &Site) -> Config {
        Config {
            im: ImOptions::defaults(ctx),
            open_nebula: OpenNebulaOptions::defaults(ctx),
            files: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Reads `file` (which must be readable) or, without it, the files of the
    /// search paths that exist; then applies `IM_DATA_DB`.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        let ctx = Site::current();
        let mut sources = Vec::new();
        let mut warnings = Vec::new();
        match file {
            Some(f) => {
                let text = std::fs::read_to_string(f)
                    .with_context(|| format!("cannot read the configuration {}", f.display()))?;
                sources.push((f.to_path_buf(), text));
            }
            // Like ConfigParser.read: missing files are skipped.
            None => {
                for p in ctx.search_paths() {
                    match std::fs::read_to_string(&p) {
                        Ok(text) => sources.push((p, text)),
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => warnings
                            .push(format!("configuration file {} skipped: {e}", p.display())),
                    }
                }
            }
        }
        let mut cfg = Config::from_sources(&ctx, &sources)?;
        cfg.warnings.splice(0..0, warnings);
        cfg.apply_env(std::env::var("IM_DATA_DB").ok());
        Ok(cfg)
    }

    /// The configuration from file texts (path, content), later ones winning.
    pub fn from_sources(ctx: &Site, sources: &[(PathBuf, String)]) -> anyhow::Result<Config> {
        let mut sections = Sections::new();
        for (path, text) in sources {
            ini::read_into(text, &mut sections)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        }
        let mut cfg = Config::from_sections(ctx, &sections).with_context(|| {
            let names: Vec<String> = sources
                .iter()
                .map(|(p, _)| p.display().to_string())
                .collect();
            format!("in the configuration {}", names.join(", "))
        })?;
        cfg.files = sources.iter().map(|(p, _)| p.clone()).collect();
        Ok(cfg)
    }

    /// The configuration from parsed sections (`[im]`, `[OpenNebula]`, and
    /// `[DEFAULT]`, whose values every section inherits).
    fn from_sections(ctx: &Site, sections: &Sections) -> anyhow::Result<Config> {
        let mut cfg = Config::defaults(ctx);
        let defaults = sections.get(ini::DEFAULT_SECTION);
        for name in ["im", "OpenNebula"] {
            let Some(own) = sections.get(name) else {
                continue;
            };
            let mut vars: BTreeMap<String, String> = defaults.cloned().unwrap_or_default();
            vars.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
            for (key, raw) in &vars {
                let upper = key.to_uppercase();
                let known = match name {
                    "im" => ImOptions::KEYS.contains(&upper.as_str()),
                    _ => OpenNebulaOptions::KEYS.contains(&upper.as_str()),
                };
                if !known {
                    cfg.warnings.push(format!(
                        "unknown option {upper} in section [{name}] of the configuration: ignored"
                    ));
                    continue;
                }
                let value = ini::interpolate(&upper, raw, &vars).map_err(anyhow::Error::msg)?;
                let set = match name {
                    "im" => cfg.im.set(&upper, &value),
                    _ => cfg.open_nebula.set(&upper, &value),
                };
                if let Some(Err(e)) = set {
                    bail!("{upper}: {e}");
                }
            }
        }
        Ok(cfg)
    }

    /// `IM_DATA_DB` (when set and not empty) replaces `DATA_DB`.
    pub fn apply_env(&mut self, im_data_db: Option<String>) {
        if let Some(db) = im_data_db.filter(|d| !d.trim().is_empty()) {
            self.im.data_db = db;
        }
    }

    /// The command line: `--listen ADDR:PORT` and `--db URL`.
    pub fn apply_cli(&mut self, listen: Option<&str>, db: Option<&str>) -> anyhow::Result<()> {
        if let Some(l) = listen {
            let (host, port) = l
                .rsplit_once(':')
                .filter(|(h, _)| !h.is_empty())
                .with_context(|| format!("--listen {l:?}: expected ADDRESS:PORT"))?;
            let port: u16 = port
                .parse()
                .with_context(|| format!("--listen {l:?}: {port:?} is not a port number"))?;
            let host = host
                .strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .unwrap_or(host);
            self.im.rest_address = host.to_string();
            self.im.rest_port = port.into();
        }
        if let Some(db) = db {
            self.im.data_db = db.to_string();
        }
        Ok(())
    }

    /// `(REST_ADDRESS, REST_PORT)`, the port checked.
    pub fn listen_addr(&self) -> anyhow::Result<(String, u16)> {
        let port = u16::try_from(self.im.rest_port).map_err(|_| {
            anyhow::anyhow!("REST_PORT: {} is not a port number", self.im.rest_port)
        })?;
        Ok((self.im.rest_address.clone(), port))
    }

    /// The tracing filter for `LOG_LEVEL`: our crates at that level, the
    /// libraries at `warn` (the reference sets its own loggers only). An
    /// unknown level is `WARN`, as in the reference.
    pub fn log_filter(&self) -> String {
        // Case-insensitive here; the reference compares exact upper case.
        let level = match self.im.log_level.trim().to_uppercase().as_str() {
            "DEBUG" => "debug",
            "INFO" => "info",
            "ERROR" | "FATAL" | "CRITICAL" => "error",
            _ => "warn",
        };
        let crates = [
            "im",
            "im_api",
            "im_core",
            "im_store",
            "im_connectors",
            "im_auth",
            "im_radl",
            "tower_http",
        ];
        let mut filter = String::from("warn");
        for c in crates {
            filter.push_str(&format!(",{c}={level}"));
        }
        filter
    }

    /// The administrators of `ADMIN_USER` (one object or a list of objects;
    /// `{}` and `[]` mean none).
    pub fn admin_users(&self) -> anyhow::Result<Vec<AdminUser>> {
        let items = match &self.im.admin_user {
            serde_json::Value::Array(a) => a.clone(),
            serde_json::Value::Object(o) if o.is_empty() => Vec::new(),
            o @ serde_json::Value::Object(_) => vec![o.clone()],
            _ => bail!("ADMIN_USER: must be a JSON object or a list of objects"),
        };
        items
            .into_iter()
            .map(|i| {
                serde_json::from_value::<AdminUser>(i).map_err(|e| {
                    anyhow::anyhow!(
                        "ADMIN_USER: each entry must be {{\"username\": \"…\", \"password\": \"…\"}}: {e}"
                    )
                })
            })
            .collect()
    }

    /// The core's settings, and warnings to log. `USER_DB` is read here: a
    /// file that cannot be read rejects every user, as in the reference.
    pub fn settings(&self) -> anyhow::Result<(Settings, Vec<String>)> {
        let im = &self.im;
        let mut warnings = Vec::new();
        let user_db = (!im.user_db.trim().is_empty()).then(|| {
            let path = im.user_db.trim();
            match std::fs::read_to_string(path) {
                Ok(text) => {
                    if serde_json::from_str::<serde_json::Value>(&text).is_err() {
                        warnings.push(format!(
                            "USER_DB {path} is not valid JSON: every user is rejected"
                        ));
                    }
                    UserDb::from_json_text(&text)
                }
                Err(e) => {
                    warnings.push(format!(
                        "USER_DB {path} cannot be read ({e}): every user is rejected"
                    ));
                    UserDb::unavailable()
                }
            }
        });
        let auth = AuthSettings {
            user_db,
            admin_users: self.admin_users()?,
            force_oidc_auth: im.force_oidc_auth,
            oidc: OidcSettings {
                issuers: im.oidc_issuers.clone(),
                audience: im.oidc_audience.clone(),
                client_id: im.oidc_client_id.clone(),
                client_secret: im.oidc_client_secret.clone(),
                scopes: im.oidc_scopes.clone(),
                groups: im.oidc_groups.clone(),
                groups_claim: im.oidc_groups_claim.clone(),
                admin_groups: im.oidc_admin_groups.clone(),
            },
        };
        let secs = |v: i64| u64::try_from(v).unwrap_or(0);
        let settings = Settings {
            boot_mode: BootMode::from_int(im.boot_mode),
            max_simultaneous_launches: usize::try_from(im.max_simultaneous_launches.max(1))
                .unwrap_or(1),
            max_vm_fails: usize::try_from(im.max_vm_fails.max(1)).unwrap_or(1),
            delay_between_vm_retries: secs(im.delay_between_vm_retries),
            vm_info_update_frequency: secs(im.vm_info_update_frequency).max(1),
            vm_info_update_error_grace_period: secs(im.vm_info_update_error_grace_period),
            default_vm_memory: im.default_vm_memory,
            default_vm_memory_unit: im.default_vm_memory_unit.clone(),
            default_vm_cpus: im.default_vm_cpus,
            default_vm_cpu_arch: im.default_vm_cpu_arch.clone(),
            default_vm_name: im.default_vm_name.clone(),
            default_domain: im.default_domain.clone(),
            inf_cache_time: secs(im.inf_cache_time),
            auth,
            lease_secs: secs(im.lease_secs),
        };
        Ok((settings, warnings))
    }

    /// The OAI-PMH repository: enabled when the base identifier URL, the
    /// name and the description are all set (and not empty, Python's test).
    fn oaipmh_settings(&self) -> Option<im_api::OaiSettings> {
        let im = &self.im;
        let set = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        let base = set(&im.oaipmh_repo_base_identifier_url)?;
        let source = match set(&im.oaipmh_repo_dir) {
            Some(dir) => im_api::OaiSource::Dir(PathBuf::from(dir)),
            None => im_api::OaiSource::Remote(std::sync::Arc::new(
                crate::oai_remote::GitHubLister::new(&base),
            )),
        };
        Some(im_api::OaiSettings {
            name: set(&im.oaipmh_repo_name)?,
            description: set(&im.oaipmh_repo_description)?,
            base_identifier_url: base,
            admin_email: set(&im.oaipmh_repo_admin_email),
            source,
        })
    }

    /// The REST API's settings.
    pub fn api_config(&self) -> im_api::ApiConfig {
        let im = &self.im;
        let root = im.rest_root_path.trim().trim_end_matches('/');
        let root_path = match root {
            "" => String::new(),
            r if r.starts_with('/') => r.to_string(),
            r => format!("/{r}"),
        };
        let timeout = u64::try_from(im.rest_blocking_call_timeout).unwrap_or(0);
        im_api::ApiConfig {
            root_path,
            max_blocking_calls: usize::try_from(im.rest_max_blocking_calls.max(1)).unwrap_or(1),
            blocking_call_timeout: (timeout > 0).then(|| Duration::from_secs(timeout)),
            enable_cors: im.enable_cors,
            cors_origin: im.cors_origin.clone(),
            static_files_dir: im.static_files_dir.as_ref().map(PathBuf::from),
            vault: im.vault_url.as_ref().map(|url| VaultSettings {
                url: url.clone(),
                path: im.vault_path.clone(),
                mount_point: im.vault_mount_point.clone(),
                role: im.vault_role.clone(),
            }),
            oaipmh: self.oaipmh_settings(),
            ..im_api::ApiConfig::default()
        }
    }
}

/// A database URL fit for logs: the password of `scheme://user:password@host`
/// and of a `password=` parameter replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(start) = url.find("://").map(|i| i + 3) {
        let authority_end = url[start..]
            .find(['/', '?'])
            .map_or(url.len(), |i| start + i);
        if let Some(at) = url[start..authority_end].rfind('@').map(|i| start + i)
            && let Some(colon) = url[start..at].find(':').map(|i| start + i)
        {
            out = format!("{}***{}", &url[..=colon], &url[at..]);
        }
    }
    if let Some((head, query)) = out.split_once('?') {
        let params: Vec<String> = query
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, _)) if k.to_ascii_lowercase().contains("password") => format!("{k}=***"),
                _ => p.to_string(),
            })
            .collect();
        out = format!("{head}?{}", params.join("&"));
    }
    out
}

#[cfg(test)]
mod tests;
