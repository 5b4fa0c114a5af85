//! The options of the core, with the reference's defaults (`IM/config.py`).
//! The `im` binary fills them from `im.cfg`; the core never reads files.

use im_auth::AuthSettings;

/// What the service may do (`BOOT_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BootMode {
    /// Everything.
    #[default]
    Normal,
    /// Reads only.
    ReadOnly,
    /// Reads and destroys.
    ReadDelete,
}

impl BootMode {
    /// From the config's integer (0, 1, 2; anything else is normal).
    pub fn from_int(v: i64) -> Self {
        match v {
            1 => BootMode::ReadOnly,
            2 => BootMode::ReadDelete,
            _ => BootMode::Normal,
        }
    }
}

/// Core settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `BOOT_MODE`.
    pub boot_mode: BootMode,
    /// `MAX_SIMULTANEOUS_LAUNCHES`: launches in parallel within one call.
    pub max_simultaneous_launches: usize,
    /// `MAX_VM_FAILS`: launch attempts per VM.
    pub max_vm_fails: usize,
    /// `DELAY_BETWEEN_VM_RETRIES` in seconds.
    pub delay_between_vm_retries: u64,
    /// `VM_INFO_UPDATE_FREQUENCY` in seconds: background refresh period.
    pub vm_info_update_frequency: u64,
    /// `VM_INFO_UPDATE_ERROR_GRACE_PERIOD` in seconds.
    pub vm_info_update_error_grace_period: u64,
    /// `DEFAULT_VM_MEMORY`.
    pub default_vm_memory: i64,
    /// `DEFAULT_VM_MEMORY_UNIT`.
    pub default_vm_memory_unit: String,
    /// `DEFAULT_VM_CPUS`.
    pub default_vm_cpus: i64,
    /// `DEFAULT_VM_CPU_ARCH`.
    pub default_vm_cpu_arch: String,
    /// `DEFAULT_VM_NAME` (`#N#` is the IM id).
    pub default_vm_name: String,
    /// `DEFAULT_DOMAIN`.
    pub default_domain: String,
    /// `INF_CACHE_TIME` in seconds (0: never expire).
    pub inf_cache_time: u64,
    /// Identity rules: `USER_DB`, `ADMIN_USER`, OIDC.
    pub auth: AuthSettings,
    /// `LEASE_SECS`: how long an instance's lease on an infrastructure's
    /// work lasts without a renewal (several instances on one PostgreSQL or
    /// MySQL database); 0 declares a single server (no leases).
    pub lease_secs: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            boot_mode: BootMode::Normal,
            max_simultaneous_launches: 1,
            max_vm_fails: 3,
            delay_between_vm_retries: 5,
            vm_info_update_frequency: 10,
            vm_info_update_error_grace_period: 120,
            default_vm_memory: 512,
            default_vm_memory_unit: "M".into(),
            default_vm_cpus: 1,
            default_vm_cpu_arch: "x86_64".into(),
            default_vm_name: "vnode-#N#".into(),
            default_domain: "localdomain".into(),
            inf_cache_time: 0,
            auth: AuthSettings::default(),
            lease_secs: 30,
        }
    }
}
