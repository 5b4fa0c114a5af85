//! `im.cfg`: the reference's INI file (Python `ConfigParser` rules: `=` or `:`,
//! case-insensitive keys, indented continuation lines, `#`/`;` comment lines,
//! `%%` for `%`), its search paths, and the mapping of its options to the
//! core and API settings with the reference's defaults.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use im_auth::{AdminUser, AuthSettings, OidcAdminGroup, UserDb};
use im_core::{BootMode, Settings};

/// The `[im]` options as read (upper-case keys).
#[derive(Debug, Default, Clone)]
pub struct Config {
    values: HashMap<String, String>,
    /// The files read, in order.
    pub files: Vec<PathBuf>,
}

/// Parses INI text into `section → key → value` (keys upper-cased).
pub fn parse_ini(text: &str) -> anyhow::Result<HashMap<String, HashMap<String, String>>> {
    let mut out: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut section: Option<String> = None;
    let mut last_key: Option<String> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            if trimmed.is_empty() {
                last_key = None;
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let (Some(s), Some(k)) = (&section, &last_key)
                && let Some(v) = out.get_mut(s).and_then(|m| m.get_mut(k))
            {
                v.push('\n');
                v.push_str(trimmed);
                continue;
            }
            bail!("line {}: unexpected indented line", n + 1);
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            section = Some(name.to_string());
            out.entry(name.to_string()).or_default();
            last_key = None;
            continue;
        }
        let Some(s) = &section else {
            bail!("line {}: an option before any [section]", n + 1);
        };
        let pos = trimmed
            .find(['=', ':'])
            .with_context(|| format!("line {}: expected `key = value`", n + 1))?;
        let key = trimmed[..pos].trim().to_ascii_uppercase();
        let value = trimmed[pos + 1..].trim().replace("%%", "%");
        out.entry(s.clone()).or_default().insert(key.clone(), value);
        last_key = Some(key);
    }
    Ok(out)
}

/// The reference's search paths, later ones overriding earlier ones.
pub fn default_paths() -> Vec<PathBuf> {
    let mut paths = Vec::new();
    if let Ok(exe) = std::env::current_exe()
        && let Some(dir) = exe.parent().and_then(Path::parent)
    {
        paths.push(dir.join("im.cfg"));
        paths.push(dir.join("etc/im.cfg"));
    }
    paths.push(PathBuf::from("/etc/im/im.cfg"));
    paths
}

impl Config {
    /// Reads `--config FILE` (which must exist) or the search paths.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        let mut cfg = Config::default();
        let files: Vec<PathBuf> = match file {
            Some(f) => vec![f.to_path_buf()],
            None => default_paths()
                .into_iter()
                .filter(|p| p.is_file())
                .collect(),
        };
        for f in files {
            let text = std::fs::read_to_string(&f)
                .with_context(|| format!("cannot read the configuration {}", f.display()))?;
            let ini = parse_ini(&text).with_context(|| format!("in {}", f.display()))?;
            if let Some(im) = ini.get("im") {
                for (k, v) in im {
                    if !KNOWN.contains(&k.as_str()) {
                        tracing::warn!("unknown option {k} in {}", f.display());
                    }
                    cfg.values.insert(k.clone(), v.clone());
                }
            }
            cfg.files.push(f);
        }
        if let Ok(db) = std::env::var("IM_DATA_DB") {
            cfg.values.insert("DATA_DB".into(), db);
        }
        Ok(cfg)
    }

    /// Sets an option (command-line overrides).
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.values.insert(key.to_ascii_uppercase(), value.into());
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    fn string(&self, key: &str, default: &str) -> String {
        self.get(key).unwrap_or(default).to_string()
    }

    fn int(&self, key: &str, default: i64) -> anyhow::Result<i64> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse()
                .with_context(|| format!("{key} must be an integer, not {v:?}")),
        }
    }

    fn boolean(&self, key: &str, default: bool) -> anyhow::Result<bool> {
        match self.get(key).map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) => match v.as_str() {
                "1" | "yes" | "true" | "on" => Ok(true),
                "0" | "no" | "false" | "off" => Ok(false),
                _ => bail!("{key} must be a boolean, not {v:?}"),
            },
        }
    }

    fn list(&self, key: &str) -> Vec<String> {
        self.get(key)
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `REST_ADDRESS:REST_PORT`. IM-compat: the default address is
    /// 127.0.0.1, not the reference's 0.0.0.0.
    pub fn listen(&self) -> anyhow::Result<String> {
        Ok(format!(
            "{}:{}",
            self.string("REST_ADDRESS", "127.0.0.1"),
            self.int("REST_PORT", 8800)?
        ))
    }

    /// `DATA_DB`; by default an SQLite file under `./im-data/`.
    pub fn data_db(&self) -> String {
        self.string("DATA_DB", "sqlite://im-data/im.db")
    }

    /// `LOG_LEVEL` as a tracing filter.
    pub fn log_level(&self) -> String {
        match self
            .string("LOG_LEVEL", "INFO")
            .to_ascii_uppercase()
            .as_str()
        {
            "DEBUG" => "debug",
            "WARN" | "WARNING" => "warn",
            "ERROR" | "FATAL" | "CRITICAL" => "error",
            _ => "info",
        }
        .into()
    }

    /// The core settings.
    pub fn settings(&self) -> anyhow::Result<Settings> {
        let d = Settings::default();
        let admin_users = match self
            .get("ADMIN_USER")
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => Vec::new(),
            Some(v) => {
                let j: serde_json::Value =
                    serde_json::from_str(v).context("ADMIN_USER must be a JSON object or list")?;
                let items = match j {
                    serde_json::Value::Array(a) => a,
                    other => vec![other],
                };
                items
                    .into_iter()
                    .map(|i| serde_json::from_value::<AdminUser>(i).context("ADMIN_USER entry"))
                    .collect::<anyhow::Result<_>>()?
            }
        };
        let user_db = self
            .get("USER_DB")
            .filter(|p| !p.trim().is_empty())
            .map(|p| match std::fs::read_to_string(p.trim()) {
                Ok(t) => UserDb::from_json_text(&t),
                Err(_) => UserDb::unavailable(),
            });
        let admin_groups = match self
            .get("OIDC_ADMIN_GROUPS")
            .filter(|s| !s.trim().is_empty())
        {
            None => Vec::new(),
            Some(v) => serde_json::from_str::<Vec<OidcAdminGroup>>(v)
                .context("OIDC_ADMIN_GROUPS must be a JSON list of {issuer, group}")?,
        };
        let mut auth = AuthSettings {
            user_db,
            admin_users,
            force_oidc_auth: self.boolean("FORCE_OIDC_AUTH", false)?,
            ..AuthSettings::default()
        };
        auth.oidc.issuers = match self.get("OIDC_ISSUERS") {
            Some(_) => self.list("OIDC_ISSUERS"),
            None => vec!["https://aai.egi.eu/auth/realms/egi".into()],
        };
        auth.oidc.audience = self.get("OIDC_AUDIENCE").map(str::to_string);
        auth.oidc.client_id = self.get("OIDC_CLIENT_ID").map(str::to_string);
        auth.oidc.client_secret = self.get("OIDC_CLIENT_SECRET").map(str::to_string);
        auth.oidc.scopes = self.list("OIDC_SCOPES");
        auth.oidc.groups = self.list("OIDC_GROUPS");
        auth.oidc.groups_claim = self.string("OIDC_GROUPS_CLAIM", "groups");
        auth.oidc.admin_groups = admin_groups;
        Ok(Settings {
            boot_mode: BootMode::from_int(self.int("BOOT_MODE", 0)?),
            max_simultaneous_launches: self.int("MAX_SIMULTANEOUS_LAUNCHES", 1)?.max(1) as usize,
            max_vm_fails: self.int("MAX_VM_FAILS", 3)?.max(1) as usize,
            delay_between_vm_retries: self.int("DELAY_BETWEEN_VM_RETRIES", 5)?.max(0) as u64,
            vm_info_update_frequency: self.int("VM_INFO_UPDATE_FREQUENCY", 10)?.max(1) as u64,
            vm_info_update_error_grace_period: self
                .int("VM_INFO_UPDATE_ERROR_GRACE_PERIOD", 120)?
                .max(0) as u64,
            default_vm_memory: self.int("DEFAULT_VM_MEMORY", d.default_vm_memory)?,
            default_vm_memory_unit: self.string("DEFAULT_VM_MEMORY_UNIT", "M"),
            default_vm_cpus: self.int("DEFAULT_VM_CPUS", d.default_vm_cpus)?,
            default_vm_cpu_arch: self.string("DEFAULT_VM_CPU_ARCH", "x86_64"),
            default_vm_name: self.string("DEFAULT_VM_NAME", "vnode-#N#"),
            default_domain: self.string("DEFAULT_DOMAIN", "localdomain"),
            inf_cache_time: self.int("INF_CACHE_TIME", 0)?.max(0) as u64,
            auth,
        })
    }

    /// The REST settings.
    pub fn api(&self) -> anyhow::Result<im_api::ApiConfig> {
        let root = self.string("REST_ROOT_PATH", "/");
        let timeout = self.int("REST_BLOCKING_CALL_TIMEOUT", 0)?;
        Ok(im_api::ApiConfig {
            root_path: root.trim_end_matches('/').to_string(),
            max_blocking_calls: self.int("REST_MAX_BLOCKING_CALLS", 32)?.max(1) as usize,
            blocking_call_timeout: (timeout > 0).then(|| Duration::from_secs(timeout as u64)),
            enable_cors: self.boolean("ENABLE_CORS", false)?,
            cors_origin: self.string("CORS_ORIGIN", "*"),
            static_files_dir: self
                .get("STATIC_FILES_DIR")
                .filter(|s| !s.trim().is_empty())
                .map(PathBuf::from),
            body_limit: 16 * 1024 * 1024,
            vault: None,
            oaipmh_enabled: false,
        })
    }

    /// `REST_SSL`.
    pub fn ssl(&self) -> anyhow::Result<bool> {
        self.boolean("REST_SSL", false)
    }
}

/// Every option of the reference's `[im]` section (spec core.md §6).
const KNOWN: &[&str] = &[
    "BOOT_MODE",
    "DATA_DB",
    "INF_CACHE_TIME",
    "USER_DB",
    "ADMIN_USER",
    "LOG_FILE",
    "LOG_FILE_MAX_SIZE",
    "LOG_LEVEL",
    "IM_PATH",
    "ACTIVATE_REST",
    "VMINFO_JSON",
    "REST_ADDRESS",
    "REST_PORT",
    "REST_ROOT_PATH",
    "REST_MAX_BLOCKING_CALLS",
    "REST_BLOCKING_CALL_TIMEOUT",
    "REST_SSL",
    "REST_SSL_KEYFILE",
    "REST_SSL_CERTFILE",
    "REST_SSL_CA_CERTS",
    "ENABLE_CORS",
    "CORS_ORIGIN",
    "STATIC_FILES_DIR",
    "OAIPMH_REPO_BASE_IDENTIFIER_URL",
    "OAIPMH_REPO_NAME",
    "OAIPMH_REPO_DESCRIPTION",
    "OAIPMH_REPO_ADMIN_EMAIL",
    "OIDC_ISSUERS",
    "OIDC_AUDIENCE",
    "OIDC_CLIENT_ID",
    "OIDC_CLIENT_SECRET",
    "OIDC_SCOPES",
    "OIDC_GROUPS",
    "OIDC_GROUPS_CLAIM",
    "OIDC_ADMIN_GROUPS",
    "FORCE_OIDC_AUTH",
    "VAULT_URL",
    "VAULT_PATH",
    "VAULT_MOUNT_POINT",
    "VAULT_ROLE",
    "VERIFI_SSL",
    "MAX_SIMULTANEOUS_LAUNCHES",
    "MAX_VM_FAILS",
    "DELAY_BETWEEN_VM_RETRIES",
    "WAIT_RUNNING_VM_TIMEOUT",
    "WAIT_SSH_ACCCESS_TIMEOUT",
    "WAIT_PUBLIC_IP_TIMEOUT",
    "VM_INFO_UPDATE_FREQUENCY",
    "VM_INFO_UPDATE_ERROR_GRACE_PERIOD",
    "DEFAULT_VM_MEMORY",
    "DEFAULT_VM_MEMORY_UNIT",
    "DEFAULT_VM_CPUS",
    "DEFAULT_VM_CPU_ARCH",
    "DEFAULT_VM_NAME",
    "DEFAULT_DOMAIN",
    "PRIVATE_NET_MASKS",
    "VM_TAG_USERNAME",
    "VM_TAG_INF_ID",
    "VM_TAG_IM_URL",
    "VM_TAG_IM",
    "MAX_CONTEXTUALIZATION_TIME",
    "REMOTE_CONF_DIR",
    "PLAYBOOK_RETRIES",
    "MAX_SSH_ERRORS",
    "CHECK_CTXT_PROCESS_INTERVAL",
    "CONFMAMAGER_CHECK_STATE_INTERVAL",
    "UPDATE_CTXT_LOG_INTERVAL",
    "ANSIBLE_INSTALL_TIMEOUT",
    "VM_NUM_USE_CTXT_DIST",
    "SSH_REVERSE_TUNNELS",
    "CONTEXTUALIZATION_DIR",
    "RECIPES_DIR",
    "RECIPES_DB_FILE",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ini_rules_match_python_configparser() {
        let ini = parse_ini(
            "# comment\n[im]\nREST_PORT = 8899\nrest_address: 0.0.0.0\nADMIN_USER = {\"username\": \"a\",\n    \"password\": \"b\"}\nPCT = 50%%\n; other\n[OpenNebula]\nTEMPLATE_OTHER = GRAPHICS = [type=\"vnc\"]\n",
        )
        .expect("valid INI");
        let im = &ini["im"];
        assert_eq!(im["REST_PORT"], "8899");
        assert_eq!(im["REST_ADDRESS"], "0.0.0.0");
        assert_eq!(
            im["ADMIN_USER"],
            "{\"username\": \"a\",\n\"password\": \"b\"}"
        );
        assert_eq!(im["PCT"], "50%");
        assert_eq!(
            ini["OpenNebula"]["TEMPLATE_OTHER"],
            "GRAPHICS = [type=\"vnc\"]"
        );
    }

    #[test]
    fn options_map_to_settings_with_the_reference_defaults() {
        let mut c = Config::default();
        assert_eq!(c.listen().expect("defaults"), "127.0.0.1:8800");
        assert_eq!(c.settings().expect("defaults").max_vm_fails, 3);
        c.set("BOOT_MODE", "1");
        c.set("ADMIN_USER", r#"{"username": "admin", "password": "x"}"#);
        c.set("ENABLE_CORS", "yes");
        c.set("REST_ROOT_PATH", "/im/");
        let s = c.settings().expect("valid");
        assert_eq!(s.boot_mode, BootMode::ReadOnly);
        assert_eq!(s.auth.admin_users.len(), 1);
        let api = c.api().expect("valid");
        assert!(api.enable_cors);
        assert_eq!(api.root_path, "/im");
        c.set("REST_PORT", "eighty");
        assert!(c.listen().is_err());
    }
}
