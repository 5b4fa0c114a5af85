//! The infrastructure state: the reference's aggregation of VM states
//! (spec core.md §2.3), kept exactly, order dependence included, because
//! clients poll it and compare strings.

use crate::model::{Infrastructure, vm_state as vs};

/// The state of an infrastructure from its VMs' public states, in list order.
pub fn aggregate(inf: &Infrastructure) -> String {
    let mut state: Option<&str> = None;
    for vm in inf.live_vms() {
        let s = vm.public_state(inf.configured);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Infrastructure, Vm};

    fn inf(states: &[&str]) -> Infrastructure {
        let mut inf = Infrastructure::new("i".into(), Vec::new());
        for (i, s) in states.iter().enumerate() {
            let (state, configured) = match *s {
                "configured" => ("running", Some(true)),
                "unconfigured" => ("running", Some(false)),
                other => (other, None),
            };
            inf.vms.push(Vm {
                im_id: i as i64,
                creation_im_id: i as i64,
                cloud_id: Some(format!("c{i}")),
                state: state.into(),
                last_update: 0,
                destroy: false,
                deleting: false,
                creating: false,
                cloud: serde_json::from_value(serde_json::json!({
                    "id": "d", "type": "Dummy", "server": "", "port": -1,
                    "protocol": "", "path": "", "extra": {}
                }))
                .expect("a cloud"),
                info: im_radl::Radl::new(),
                requested_radl: im_radl::Radl::new(),
                cont_out: String::new(),
                configured,
                error_msg: None,
                creation_date: 0,
                extra: serde_json::Map::new(),
            });
        }
        inf
    }

    /// The orderings the reference was observed to give (spec core.md §2.3).
    #[test]
    fn the_aggregation_depends_on_vm_order_as_in_the_reference() {
        let cases: [(&[&str], &str); 9] = [
            (&["stopped", "off"], "stopped"),
            (&["off", "stopped"], "off"),
            (&["configured", "stopped"], "configured"),
            (&["stopped", "configured"], "stopped"),
            (&["unknown", "failed"], "unknown"),
            (&["pending", "failed"], "failed"),
            (&["running", "stopped"], "running"),
            (&["configured", "unconfigured"], "unconfigured"),
            (&["running", "pending"], "pending"),
        ];
        for (states, expected) in cases {
            assert_eq!(aggregate(&inf(states)), expected, "{states:?}");
        }
    }

    #[test]
    fn an_infrastructure_without_vms_reads_from_its_configured_flag() {
        let mut i = inf(&[]);
        assert_eq!(aggregate(&i), "pending");
        i.configured = Some(false);
        assert_eq!(aggregate(&i), "failed");
        i.configured = Some(true);
        assert_eq!(aggregate(&i), "unknown");
        i.deleting = true;
        assert_eq!(aggregate(&i), "deleting");
    }
}
