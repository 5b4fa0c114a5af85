//! YAML validation of `configure` recipes (the reference runs `yaml.safe_load`).

use serde::de::IgnoredAny;

/// Checks that `text` is one well-formed YAML document (empty is fine).
pub fn validate(text: &str) -> Result<(), String> {
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(());
    }
    serde_saphyr::from_str::<IgnoredAny>(text)
        .map(|_| ())
        .map_err(|e| e.to_string())
}
