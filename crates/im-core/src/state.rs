//! The infrastructure state: the reference's aggregation of VM states
//! (spec core.md §2.3), kept exactly, order dependence included, because
//! clients poll it and compare strings.

use crate::model::{Infrastructure, vm_state as vs};

/// The state of an infrastructure from its VMs' public states, in list order.
pub fn aggregate(inf: &Infrastructure) -> String {
    let mut state: Option<&str> = None;
    for vm in inf.live_vms() {
        let s = vm.public_state();
        match s {
            vs::FAILED | vs::UNKNOWN => {
                state = Some(s);
                break;
            }
            vs::PENDING => state = Some(vs::PENDING),
            vs::RUNNING if state != Some(vs::PENDING) => state = Some(vs::RUNNING),
            vs::STOPPED | vs::OFF | vs::CONFIGURED if state.is_none() => state = Some(s),
            vs::UNCONFIGURED if state.is_none() || state == Some(vs::CONFIGURED) => {
                state = Some(vs::UNCONFIGURED)
            }
            _ => {}
        }
    }
    let state = match state {
        Some(s) => s,
        None if inf.configured == Some(false) => vs::FAILED,
        None if inf.live_vms().next().is_none() && inf.configured.is_none() => vs::PENDING,
        None => vs::UNKNOWN,
    };
    if inf.deleting {
        vs::DELETING.to_string()
    } else {
        state.to_string()
    }
}
