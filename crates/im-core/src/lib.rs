//! The Infrastructure Manager's domain: infrastructures and their VMs, the
//! operations of the IM API, VM and infrastructure states, cloud selection and
//! the launch policy.
//!
//! The core knows no HTTP framework, SQL driver or SSH library: clouds are
//! reached through [`CloudConnector`], the database through [`Store`]; the
//! binary wires real implementations in.

mod connector;
mod error;
mod launch;
mod manager;
mod model;
mod ops;
mod reconcile;
mod settings;
mod state;
mod store;
mod time;
mod tosca;
mod work;

pub use connector::{CloudConnector, ConnectorFactory, LaunchedVm, VmRef, VmStatus};
pub use error::ImError;
pub use manager::{Deployment, InfState, Manager};
pub use model::{Infrastructure, Vm, now_secs, unique_uuid, vm_state};
pub use ops::Date;
pub use settings::{BootMode, Settings};
pub use state::aggregate;
pub use store::{IndexEntry, Lease, Store, StoreError, StoredInf, StoredVm, VmChanges};
pub use time::format_datetime;
pub use tosca::{SharedFetcher, ToscaAdd, ToscaSettings};
