//! Cloud connectors: one module per cloud, and the [`Factory`] that picks one
//! by the `type` of a cloud in the auth data.

use std::sync::Arc;

use im_auth::CloudInfo;
use im_core::{CloudConnector, ConnectorFactory};

pub mod dummy;

/// Builds connectors by cloud type (exact, case-sensitive, as the reference).
#[derive(Debug, Default, Clone)]
pub struct Factory;

impl Factory {
    /// A factory of every connector compiled in, ready to share.
    #[allow(clippy::new_ret_no_self)] // the service only ever needs the shared form
    pub fn new() -> Arc<dyn ConnectorFactory> {
        Arc::new(Factory)
    }
}

impl ConnectorFactory for Factory {
    fn connector(&self, cloud: &CloudInfo) -> Result<Arc<dyn CloudConnector>, String> {
        if cloud.type_.len() > 15 || cloud.type_.contains('.') {
            return Err("Not valid cloud provider.".into());
        }
        match cloud.type_.as_str() {
            "Dummy" => Ok(Arc::new(dummy::Dummy::new(cloud.clone()))),
            other => Err(format!(
                "Cloud provider not supported: {other} (error: no connector for this cloud type in this version)"
            )),
        }
    }
}
