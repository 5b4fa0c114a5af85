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
