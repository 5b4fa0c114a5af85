//! The `outports` network feature: `[CIDR-]P1[:P1end][/proto][-P2[:P2end][/proto]]`,
//! comma separated, as the reference's `outport.parseOutPorts` reads it.

use std::sync::LazyLock;

use regex::Regex;

/// One opened port or port range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutPort {
    /// First remote port.
    pub port_init: u32,
    /// Last port of a range, or the local port of a mapping.
    pub port_end: u32,
    /// `tcp`, `udp` or `icmp`.
    pub protocol: String,
    /// Whether `port_init:port_end` is a range rather than a mapping.
    pub is_range: bool,
    /// Allowed source CIDR (`0.0.0.0/0` when not given).
    pub remote_cidr: String,
}

// IM-compat: the reference's regex has unescaped dots in the CIDR part; kept.
static OUTPORT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^((\d{1,3}.\d{1,3}.\d{1,3}.\d{1,3}/\d{1,2})-)?((\d+)((:)\d+)?((/tcp|/udp|/icmp)?))((-)((\d+)((:)\d+)?((/tcp|/udp|/icmp)?)))?$",
    )
    .unwrap_or_else(|e| panic!("static outports regex: {e}"))
});

/// Parses an `outports` value; the error says which item is wrong.
pub fn parse_outports(s: &str) -> Result<Vec<OutPort>, String> {
    let mut res = Vec::new();
    for item in s.split(',') {
        let caps = OUTPORT
            .captures(item)
            .ok_or_else(|| format!("Invalid outports format: '{item}'"))?;
        let g = |i: usize| caps.get(i).map_or("", |m| m.as_str());
        let local = if g(7).is_empty() { "tcp" } else { &g(7)[1..] };
        let remote = if g(15).is_empty() { local } else { &g(15)[1..] };
        if remote != local {
            return Err("Different protocols used in local and remote outports.".into());
        }
        let num = |t: &str| {
            t.parse::<u32>()
                .map_err(|_| format!("Invalid port number in outports: '{item}'"))
        };
        let cidr = if g(2).is_empty() { "0.0.0.0/0" } else { g(2) };
        let (end, is_range) = if g(6) == ":" {
            (num(&g(5)[1..])?, true)
        } else if !g(12).is_empty() {
            (num(g(12))?, false)
        } else {
            (num(g(4))?, false)
        };
        res.push(OutPort {
            port_init: num(g(4))?,
            port_end: end,
            protocol: local.to_string(),
            is_range,
            remote_cidr: cidr.to_string(),
        });
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_forms_are_accepted() {
        for ok in [
            "22",
            "8899/tcp-8899/tcp,22/tcp-22/tcp",
            "8899-8899,22-22",
            "8899/tcp,22/udp",
            "1:10/tcp,9:22/udp",
            "0.0.0.0/0-8899/tcp-8899/tcp",
            "1:10-20:30",
        ] {
            assert!(parse_outports(ok).is_ok(), "{ok}");
        }
        for bad in ["", "22-", "22/TCP", "22 , 80", "80/tcp-8080/udp"] {
            assert!(parse_outports(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn mappings_and_ranges_are_told_apart() {
        let p = parse_outports("10.0.0.0/8-80/tcp-8080/tcp,1000:2000/udp").unwrap();
        assert_eq!(p[0].port_init, 80);
        assert_eq!(p[0].port_end, 8080);
        assert!(!p[0].is_range);
        assert_eq!(p[0].remote_cidr, "10.0.0.0/8");
        assert_eq!(p[1].port_end, 2000);
        assert!(p[1].is_range);
        assert_eq!(p[1].protocol, "udp");
    }
}
