//! The client's defaults file, read as the reference client reads it: Python's
//! `RawConfigParser().read(['im_client.cfg', '~/.im_client.cfg'])`, so the file
//! in the home directory wins over the one in the current directory, and the
//! options `auth_file`, `xmlrpc_url` and `restapi_url` of section `[im_client]`
//! (or `[DEFAULT]`) give the defaults of `-a`, `-u` and `-r`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The defaults found in the configuration files.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Defaults {
    /// `auth_file`: the default of `-a`.
    pub auth_file: Option<String>,
    /// `xmlrpc_url`: the default of `-u` (not supported, reported).
    pub xmlrpc_url: Option<String>,
    /// `restapi_url`: the default of `-r`.
    pub restapi_url: Option<String>,
}

/// The files read, in order (later ones override earlier ones).
pub fn search_paths() -> Vec<PathBuf> {
    let mut paths = vec![PathBuf::from("im_client.cfg")];
    if let Some(home) = std::env::var_os("HOME") {
        paths.push(Path::new(&home).join(".im_client.cfg"));
    }
    paths
}

/// Reads the defaults from the files that exist among `paths`. A file that
/// cannot be parsed is an error naming it (the reference stops with a trace).
pub fn load(paths: &[PathBuf]) -> Result<Defaults, String> {
    let mut sections: HashMap<String, HashMap<String, String>> = HashMap::new();
    for path in paths {
        let Ok(text) = std::fs::read(path) else {
            continue;
        };
        let text = String::from_utf8(text)
            .map_err(|e| format!("{}: not UTF-8 text: {e}", path.display()))?;
        parse_into(&text, &mut sections).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let get = |key: &str| -> Option<String> {
        let section = sections.get("im_client")?;
        section
            .get(key)
            .or_else(|| sections.get("DEFAULT").and_then(|d| d.get(key)))
            .cloned()
    };
    Ok(Defaults {
        auth_file: get("auth_file"),
        xmlrpc_url: get("xmlrpc_url"),
        restapi_url: get("restapi_url"),
    })
}

/// Python `RawConfigParser` reading rules: `#`/`;` comment lines, `[section]`
/// headers, `key = value` or `key: value` (key lower-cased), continuation lines
/// indented deeper than their key, no interpolation.
fn parse_into(
    text: &str,
    sections: &mut HashMap<String, HashMap<String, String>>,
) -> Result<(), String> {
    let mut section: Option<String> = None;
    let mut current: Option<(String, usize)> = None; // key, indent of its line
    for (n, raw) in text.lines().enumerate() {
        let stripped = raw.trim();
        if stripped.starts_with('#') || stripped.starts_with(';') {
            continue;
        }
        if stripped.is_empty() {
            // An empty line inside a value is kept; trailing ones are dropped below.
            if let (Some(s), Some((k, _))) = (&section, &current)
                && let Some(v) = sections.get_mut(s).and_then(|m| m.get_mut(k))
            {
                v.push('\n');
            }
            continue;
        }
        let indent = raw.len() - raw.trim_start().len();
        if let (Some(s), Some((k, key_indent))) = (&section, &current)
            && indent > *key_indent
        {
            if let Some(v) = sections.get_mut(s).and_then(|m| m.get_mut(k)) {
                v.push('\n');
                v.push_str(stripped);
            }
            continue;
        }
        if let Some(name) = stripped
            .strip_prefix('[')
            .and_then(|r| r.rfind(']').map(|i| &r[..i]))
            .filter(|n| !n.is_empty())
        {
            sections.entry(name.to_string()).or_default();
            section = Some(name.to_string());
            current = None;
            continue;
        }
        let Some(s) = &section else {
            return Err(format!(
                "file contains no section headers (line {}: {raw:?})",
                n + 1
            ));
        };
        let Some(sep) = stripped.find(['=', ':']) else {
            return Err(format!("line {}: not `key = value`: {raw:?}", n + 1));
        };
        let key = stripped[..sep].trim_end().to_lowercase();
        let value = stripped[sep + 1..].trim().to_string();
        sections
            .entry(s.clone())
            .or_default()
            .insert(key.clone(), value);
        current = Some((key, indent));
    }
    // Values do not keep trailing empty lines.
    for map in sections.values_mut() {
        for v in map.values_mut() {
            let trimmed = v.trim_end_matches('\n').len();
            v.truncate(trimmed);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> HashMap<String, HashMap<String, String>> {
        let mut s = HashMap::new();
        parse_into(text, &mut s).expect("valid");
        s
    }

    #[test]
    fn options_are_read_case_insensitively_with_either_separator() {
        let s = parse("# c\n[im_client]\nAuth_File = a.dat\nrestapi_url: http://h:1/\n; c\n");
        assert_eq!(s["im_client"]["auth_file"], "a.dat");
        assert_eq!(s["im_client"]["restapi_url"], "http://h:1/");
    }

    #[test]
    fn indented_lines_continue_a_value() {
        let s = parse("[x]\nk = a\n  b\n\nj = c\n");
        assert_eq!(s["x"]["k"], "a\nb");
        assert_eq!(s["x"]["j"], "c");
    }

    #[test]
    fn a_file_without_section_is_an_error() {
        let mut s = HashMap::new();
        assert!(parse_into("k = v\n", &mut s).is_err());
    }

    #[test]
    fn the_later_file_wins_and_default_applies() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("a.cfg");
        let b = dir.path().join("b.cfg");
        std::fs::write(
            &a,
            "[DEFAULT]\nauth_file = d.dat\n[im_client]\nrestapi_url = http://a\n",
        )
        .expect("write");
        std::fs::write(&b, "[im_client]\nrestapi_url = http://b\n").expect("write");
        let d = load(&[a, b, dir.path().join("missing.cfg")]).expect("loads");
        assert_eq!(d.restapi_url.as_deref(), Some("http://b"));
        assert_eq!(d.auth_file.as_deref(), Some("d.dat"));
        assert_eq!(d.xmlrpc_url, None);
    }
}
