//! The INI dialect of Python's `configparser.ConfigParser()` with its default
//! settings, as `IM/config.py` reads `im.cfg`: a port of `RawConfigParser._read`
//! (Python 3.11) and of `BasicInterpolation`.
//!
//! - `[section]` headers (section names are case-sensitive; `[DEFAULT]` holds
//!   values every section inherits); `key = value` or `key: value`, split at the
//!   first `=` or `:`; keys are case-insensitive (stored lower-cased).
//! - A line indented deeper than the line that started the option continues
//!   its value (joined with `\n`); blank lines inside a value are kept, comment
//!   lines (`#`, `;` after the indentation) are skipped; trailing blank lines
//!   are dropped.
//! - No inline comments: `value # text` is the whole value.
//! - Errors the reference raises while reading (no section header, a line
//!   without a delimiter, a duplicate section or option in one file) are errors
//!   here too; later files override earlier ones.
//! - Values are interpolated when read (`%%` is `%`, `%(name)s` is the value of
//!   option `name` of the same section or of `[DEFAULT]`).
//!
//! The `configparser` crate (3.3) was not used: it reads an indented
//! continuation line that starts with `[` (a JSON list written over several
//! lines, as `ADMIN_USER` often is) as a section header.

use std::collections::{BTreeMap, HashSet};

/// The section Python's `ConfigParser` treats as defaults for every section.
pub const DEFAULT_SECTION: &str = "DEFAULT";

/// Section name → lower-cased option name → raw (not interpolated) value.
pub type Sections = BTreeMap<String, BTreeMap<String, String>>;

/// Reads one file's text into `out`, over what earlier files left there.
/// The error names the line (1-based) and what is wrong with it.
pub fn read_into(text: &str, out: &mut Sections) -> Result<(), String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // The values of this file, as lists of lines (joined at the end).
    let mut values: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut sections_seen: HashSet<String> = HashSet::new();
    let mut section: Option<String> = None;
    let mut option: Option<String> = None;
    let mut indent_level = 0usize;
    for (n, line) in text.lines().enumerate() {
        let lineno = n + 1;
        let value = line.trim();
        let is_comment = value.starts_with(['#', ';']);
        if value.is_empty() || is_comment {
            // `empty_lines_in_values`: a blank line (not a comment) is kept
            // inside the current value.
            if !is_comment
                && let (Some(s), Some(o)) = (&section, &option)
                && let Some(v) = values.get_mut(&(s.clone(), o.clone()))
            {
                v.push(String::new());
            }
            continue;
        }
        let indent = line.chars().take_while(|c| c.is_whitespace()).count();
        if let (Some(s), Some(o)) = (&section, &option)
            && indent > indent_level
            && let Some(v) = values.get_mut(&(s.clone(), o.clone()))
        {
            v.push(value.to_string());
            continue;
        }
        indent_level = indent;
        if let Some(header) = section_header(value) {
            if !sections_seen.insert(header.to_string()) {
                return Err(format!(
                    "line {lineno}: section [{header}] appears twice in the file"
                ));
            }
            out.entry(header.to_string()).or_default();
            section = Some(header.to_string());
            option = None;
            continue;
        }
        let Some(s) = &section else {
            return Err(format!(
                "line {lineno}: the file has no [section] header before its first option"
            ));
        };
        let Some(pos) = value.find(['=', ':']) else {
            return Err(format!(
                "line {lineno}: expected `name = value` (or a [section] header)"
            ));
        };
        let name = value[..pos].trim_end();
        if name.is_empty() {
            return Err(format!("line {lineno}: an option without a name"));
        }
        let name = name.to_lowercase();
        let key = (s.clone(), name.clone());
        if values.contains_key(&key) {
            return Err(format!(
                "line {lineno}: option {name:?} appears twice in section [{s}]"
            ));
        }
        values.insert(key, vec![value[pos + 1..].trim().to_string()]);
        option = Some(name);
    }
    for ((s, name), lines) in values {
        let joined = lines.join("\n");
        out.entry(s)
            .or_default()
            .insert(name, joined.trim_end().to_string());
    }
    Ok(())
}

/// `\[(?P<header>.+)\]` matched at the start of the stripped line: everything
/// up to the last `]`, which must not be the second character.
fn section_header(value: &str) -> Option<&str> {
    let rest = value.strip_prefix('[')?;
    let end = rest.rfind(']')?;
    (end > 0).then(|| &rest[..end])
}

/// Python's `MAX_INTERPOLATION_DEPTH`.
const MAX_DEPTH: usize = 10;

/// `BasicInterpolation.before_get`: the value of `option` with `%%` and
/// `%(name)s` replaced; `vars` holds the section's raw values over `[DEFAULT]`.
pub fn interpolate(
    option: &str,
    raw: &str,
    vars: &BTreeMap<String, String>,
) -> Result<String, String> {
    let mut out = String::new();
    interpolate_some(option, raw, vars, &mut out, 1)?;
    Ok(out)
}

fn interpolate_some(
    option: &str,
    mut rest: &str,
    vars: &BTreeMap<String, String>,
    out: &mut String,
    depth: usize,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "{option}: more than {MAX_DEPTH} levels of %(name)s references (a loop?)"
        ));
    }
    while let Some(p) = rest.find('%') {
        out.push_str(&rest[..p]);
        rest = &rest[p..];
        if let Some(r) = rest.strip_prefix("%%") {
            out.push('%');
            rest = r;
        } else if let Some(r) = rest.strip_prefix("%(") {
            let Some((name, tail)) = r.split_once(")s").filter(|(n, _)| !n.contains(')')) else {
                return Err(format!(
                    "{option}: bad %(name)s reference in {rest:?} (write %% for a literal %)"
                ));
            };
            if name.is_empty() {
                return Err(format!("{option}: empty %()s reference"));
            }
            let name = name.to_lowercase();
            let Some(v) = vars.get(&name) else {
                return Err(format!(
                    "{option}: %({name})s refers to an option that is not set"
                ));
            };
            if v.contains('%') {
                interpolate_some(option, v, vars, out, depth + 1)?;
            } else {
                out.push_str(v);
            }
            rest = tail;
        } else {
            return Err(format!(
                "{option}: '%' must be followed by '%' or '(' (write %% for a literal %)"
            ));
        }
    }
    out.push_str(rest);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Sections, String> {
        let mut s = Sections::new();
        read_into(text, &mut s)?;
        Ok(s)
    }

    #[test]
    fn continuation_lines_blank_lines_and_comments_follow_python() {
        let s = read(
            "[im]\nADMIN_USER =\n    [{\"username\": \"a\"},\n\n    # a comment\n     {\"username\": \"c\"}]\nX = 1\n  [notasection]\nY: a=b # c\n D = indented\n\n\n",
        )
        .expect("valid");
        let im = &s["im"];
        assert_eq!(
            im["admin_user"],
            "\n[{\"username\": \"a\"},\n\n{\"username\": \"c\"}]"
        );
        assert_eq!(im["x"], "1\n[notasection]");
        assert_eq!(im["y"], "a=b # c\nD = indented");
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn reading_errors_name_the_line() {
        assert!(
            read("A = 1\n[im]\n")
                .expect_err("no header")
                .contains("line 1")
        );
        assert!(read("[im]\nA\n").expect_err("no =").contains("line 2"));
        assert!(read("[im]\n= 1\n").expect_err("no name").contains("line 2"));
        assert!(
            read("[im]\nA = 1\na = 2\n")
                .expect_err("duplicate")
                .contains("twice")
        );
        assert!(
            read("[im]\n[im]\n")
                .expect_err("duplicate")
                .contains("twice")
        );
        assert!(read("[]\n").is_err());
    }

    #[test]
    fn later_files_override_earlier_ones() {
        let mut s = Sections::new();
        read_into("[im]\nA = 1\nB = 2\n", &mut s).expect("valid");
        read_into("[im]\na = 3\n[OpenNebula]\nX = y\n", &mut s).expect("valid");
        assert_eq!(s["im"]["a"], "3");
        assert_eq!(s["im"]["b"], "2");
        assert_eq!(s["OpenNebula"]["x"], "y");
    }

    #[test]
    fn interpolation_is_basic_interpolation() {
        let vars: BTreeMap<String, String> = [
            ("port".to_string(), "8800".to_string()),
            ("pct".to_string(), "50%%".to_string()),
            ("loop".to_string(), "%(loop)s".to_string()),
        ]
        .into();
        assert_eq!(interpolate("x", "a%%b", &vars).expect("ok"), "a%b");
        assert_eq!(
            interpolate("x", "http://h:%(PORT)s/", &vars).expect("ok"),
            "http://h:8800/"
        );
        assert_eq!(interpolate("x", "%(pct)s", &vars).expect("ok"), "50%");
        assert!(interpolate("x", "50%", &vars).is_err());
        assert!(interpolate("x", "%(nope)s", &vars).is_err());
        assert!(interpolate("x", "%(port)", &vars).is_err());
        assert!(interpolate("x", "%(loop)s", &vars).is_err());
    }
}
