//! YAML validation of `configure` recipes (the reference runs `yaml.safe_load`).
//!
//! serde-saphyr decides, but most recipes first pass a quick check
//! ([`fast`]) that knows only well-formed YAML of the usual shape and is about
//! 20× faster; whatever it is not sure about goes to serde-saphyr, so the
//! verdict and the messages are serde-saphyr's either way.

mod fast;

use serde::de::IgnoredAny;

/// Checks that `text` is one well-formed YAML document (empty is fine).
pub fn validate(text: &str) -> Result<(), String> {
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(());
    }
    if fast::is_well_formed(text) {
        // The fuzz targets check the quick check's one promise.
        #[cfg(feature = "yaml-cross-check")]
        if let Err(e) = full(text) {
            panic!("the quick YAML check accepts what serde-saphyr refuses ({e}):\n{text}");
        }
        return Ok(());
    }
    full(text)
}

/// serde-saphyr's verdict.
fn full(text: &str) -> Result<(), String> {
    // PyYAML accepts repeated keys (the last wins); error texts without the
    // source snippet, which would repeat the recipe in the API's answer.
    let mut options = serde_saphyr::Options::default();
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::LastWins;
    options.with_snippet = false;
    serde_saphyr::from_str_with_options::<IgnoredAny>(text, options)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::validate;

    /// Each case's verdict is what PyYAML's `safe_load` (the reference) says.
    #[test]
    fn recipes_are_judged_as_pyyaml_judges_them() {
        let accepted = [
            "\n---\n- tasks:\n  - debug: msg=hi\n",
            "- a\n- b: c\n",
            "- hosts: x\n  tasks:\n  - debug: msg=1\n",
            "%YAML 1.1\n---\na\n",
            "{a: 1, a: 2}",
            "0755",
            "",
            "\n# only a comment\n",
            "- name: x\n  shell: echo 'a' # comment\n",
        ];
        for t in accepted {
            assert!(validate(t).is_ok(), "{t:?}: {:?}", validate(t));
        }
        let rejected = [
            "\na #\na\n",
            "a: 1\nb: [\n",
            "---\na: 1\n---\nb: 2\n",
            "a: &x 1\nb: *y\n",
            "key: \"unterminated",
            "- tasks:\n  - a\n   bad: indentation\n",
        ];
        for t in rejected {
            assert!(validate(t).is_err(), "{t:?} should be rejected");
        }
    }
}
