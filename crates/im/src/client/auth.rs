//! The user's auth file, read as `im_client` reads it (`read_auth_data`):
//! a single line `Bearer TOKEN` is sent as is; anything else is parsed with
//! [`im_auth::parse_auth_file`] (auth lines, or a JSON list), the values
//! `file(PATH)` and `command(CMD)` are replaced here, on the user's machine, by
//! the content of `PATH` (stripped) or the output of `CMD` (newlines removed),
//! and the header is written by [`im_auth::build_auth_header`].

use std::collections::HashSet;
use std::process::Command;

use im_auth::Credential;

use super::Failure;
use super::pyfmt::py_repr_str;

/// The credentials read from an auth file.
#[derive(Debug, Clone)]
pub enum AuthData {
    /// A one-line `Bearer X` file: the header value, sent verbatim.
    Bearer(String),
    /// Credentials with `file(...)`/`command(...)` values replaced.
    Items {
        /// The credentials, values replaced.
        creds: Vec<Credential>,
        /// `(credential index, key)` of the replaced values.
        replaced: HashSet<(usize, String)>,
    },
}

impl AuthData {
    /// The `Authorization` header value `im_client` sends: a replaced value is
    /// written between single quotes (so `;` and `=` in it survive), the rest as
    /// [`im_auth::build_auth_header`] writes them.
    pub fn header(&self) -> String {
        match self {
            AuthData::Bearer(h) => h.clone(),
            AuthData::Items { creds, replaced } => {
                let quoted: Vec<Credential> = creds
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        c.iter()
                            .map(|(k, v)| {
                                if replaced.contains(&(i, k.to_string())) {
                                    (k.to_string(), format!("'{v}'"))
                                } else {
                                    (k.to_string(), v.to_string())
                                }
                            })
                            .collect()
                    })
                    .collect();
                im_auth::build_auth_header(&quoted)
            }
        }
    }

    /// The first `type = InfrastructureManager` credential, values replaced
    /// (not quoted), for `change_auth`.
    pub fn im_credential(&self) -> Option<&Credential> {
        match self {
            AuthData::Bearer(_) => None,
            AuthData::Items { creds, .. } => creds.iter().find(|c| c.is_type(im_auth::IM_TYPE)),
        }
    }
}

/// Python's text for an `OSError` on `path`: `[Errno 2] No such file or
/// directory: 'auth.dat'`.
pub fn os_error_text(e: &std::io::Error, path: &str) -> String {
    match e.raw_os_error() {
        Some(code) => {
            let text = e.to_string();
            let msg = text
                .strip_suffix(&format!(" (os error {code})"))
                .unwrap_or(&text);
            format!("[Errno {code}] {msg}: {}", py_repr_str(path))
        }
        None => format!("{e}: {}", py_repr_str(path)),
    }
}

/// Reads and parses an auth file, running its `command(...)` values.
pub fn read_auth_data(path: &str) -> Result<AuthData, Failure> {
    let bytes = std::fs::read(path).map_err(|e| Failure::Exc(os_error_text(&e, path)))?;
    let text = String::from_utf8(bytes)
        .map_err(|e| Failure::Exc(format!("{}: not UTF-8 text: {e}", py_repr_str(path))))?;
    // Python's text mode: universal newlines.
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines = text.split_inclusive('\n').count();
    if lines == 1 && text.starts_with("Bearer ") {
        let token = text.trim().get(7..).unwrap_or("");
        // IM-compat deviation: im_client wraps a replaced token in quotes, which
        // makes it an invalid token; we send the token itself.
        let token = replace_value(token)?.unwrap_or_else(|| token.to_string());
        return Ok(AuthData::Bearer(format!("Bearer {token}")));
    }
    let mut creds = im_auth::parse_auth_file(&text)
        .map_err(|e| Failure::Usage(format!("Auth file with incorrect format: {e}")))?;
    let mut replaced = HashSet::new();
    for (i, cred) in creds.iter_mut().enumerate() {
        let keys: Vec<String> = cred.iter().map(|(k, _)| k.to_string()).collect();
        for key in keys {
            let Some(value) = cred.get(&key).map(str::to_string) else {
                continue;
            };
            if let Some(new) = replace_value(&value)? {
                cred.insert(key.clone(), new);
                replaced.insert((i, key));
            }
        }
    }
    Ok(AuthData::Items { creds, replaced })
}

/// `_replace_auth_values`: the content of `file(PATH)` (stripped; the value is
/// kept when the file cannot be read) or the output of `command(CMD)`.
fn replace_value(value: &str) -> Result<Option<String>, Failure> {
    if let Some(cmd) = value
        .strip_prefix("command(")
        .and_then(|r| r.strip_suffix(')'))
    {
        return run_command(cmd).map(Some);
    }
    if let Some(file) = value
        .strip_prefix("file(")
        .and_then(|r| r.strip_suffix(')'))
    {
        return Ok(std::fs::read_to_string(file)
            .ok()
            .map(|data| data.trim().to_string()));
    }
    Ok(None)
}

/// `_run_command`: the command split on single spaces, its standard output with
/// every newline removed; a failure names the command and its error output.
fn run_command(cmd: &str) -> Result<String, Failure> {
    let parts: Vec<&str> = cmd.split(' ').collect();
    let (program, args) = parts.split_first().unwrap_or((&"", &[]));
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| Failure::Exc(os_error_text(&e, program)))?;
    if !out.status.success() {
        let errs = if out.stderr.is_empty() {
            &out.stdout
        } else {
            &out.stderr
        };
        return Err(Failure::Exc(format!(
            "Failed to get auth value using command {cmd}: {}",
            String::from_utf8_lossy(errs)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).replace('\n', ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write");
        p.to_string_lossy().into_owned()
    }

    #[test]
    fn lines_become_the_header_im_client_sends() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = write(
            &dir,
            "auth.dat",
            "id = im; type = InfrastructureManager; username = user; password = pass\n# x\nid = dummy; type = Dummy\n",
        );
        let a = read_auth_data(&f).expect("reads");
        assert_eq!(
            a.header(),
            r"id = im;type = InfrastructureManager;username = user;password = pass;\nid = dummy;type = Dummy;\n"
        );
    }

    #[test]
    fn file_values_are_read_stripped_and_quoted_in_the_header() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = write(&dir, "key.pem", "  line1\nline2;x=y\n\n");
        let f = write(
            &dir,
            "auth.dat",
            &format!(
                "id = os; type = OpenStack; password = file({key}); token = file(/nonexistent/x)\n"
            ),
        );
        let a = read_auth_data(&f).expect("reads");
        assert_eq!(
            a.header(),
            r"id = os;type = OpenStack;password = 'line1\\nline2;x=y';token = file(/nonexistent/x);\n"
        );
    }

    #[test]
    fn command_values_are_the_output_of_the_command() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = write(
            &dir,
            "auth.dat",
            "type = InfrastructureManager; token = command(echo tok en)\n",
        );
        let a = read_auth_data(&f).expect("reads");
        assert_eq!(
            a.header(),
            r"type = InfrastructureManager;token = 'tok en';\n"
        );
        assert_eq!(
            a.im_credential().and_then(|c| c.get("token")),
            Some("tok en")
        );
        let f = write(&dir, "bad.dat", "token = command(false)\n");
        match read_auth_data(&f) {
            Err(Failure::Exc(m)) => {
                assert_eq!(m, "Failed to get auth value using command false: ")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_single_bearer_line_is_sent_verbatim() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = write(&dir, "auth.dat", "Bearer abc.def\n");
        assert_eq!(
            read_auth_data(&f).expect("reads").header(),
            "Bearer abc.def"
        );
    }

    #[test]
    fn a_missing_file_reads_like_python() {
        match read_auth_data("/nonexistent/auth.dat") {
            Err(Failure::Exc(m)) => assert_eq!(
                m,
                "[Errno 2] No such file or directory: '/nonexistent/auth.dat'"
            ),
            other => panic!("{other:?}"),
        }
    }
}
