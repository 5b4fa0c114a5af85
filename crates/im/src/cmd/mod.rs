//! Command groups of the `im` binary, and the input helper they share.

use std::io::Read;

use anyhow::Context;

pub mod auth;
pub mod radl;
pub mod tosca;

/// Reads a file, or standard input for `-`.
pub fn read_input(path: &str) -> anyhow::Result<String> {
    if path == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read standard input")?;
        Ok(s)
    } else {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))
    }
}
