//! `DATA_DB` URLs: which database a URL names, in the reference's forms.
//!
//! The reference (`IM/db.py` with `IM/uriparse.py`) takes the scheme before the
//! first `:`, drops `?query` and `#fragment`, and opens the *path part* with
//! SQLite for `sqlite`, `file` or no scheme. We do the same, with one deliberate
//! difference: `sqlite://dir/im.db` names the relative path `dir/im.db` (as in
//! sqlx and SQLAlchemy), where the reference would take `dir` as a host and open
//! `/im.db`. Percent escapes in a path are not decoded, as in the reference.

use std::path::PathBuf;

use im_core::StoreError;

/// A `DATA_DB` URL that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// The URL is empty.
    #[error("the database URL is empty")]
    Empty,
    /// A scheme this server has no driver for (e.g. `mongodb`).
    #[error("database URL scheme '{0}' is not supported (use sqlite, file, postgresql or mysql)")]
    UnsupportedScheme(String),
    /// A `sqlite:`/`file:` URL without a path.
    #[error("the database URL '{0}' names no file")]
    NoPath(String),
}

impl From<UrlError> for StoreError {
    fn from(e: UrlError) -> Self {
        StoreError::Backend(e.to_string())
    }
}

/// The database a `DATA_DB` URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A SQLite file (as written in the URL: maybe relative, maybe missing).
    SqliteFile(PathBuf),
    /// A private in-memory SQLite database (`sqlite::memory:`), for tests.
    SqliteMemory,
    /// A PostgreSQL server: the URL as given (`postgres://` or `postgresql://`).
    Postgres(String),
    /// A MySQL or MariaDB server: the URL with the scheme `mysql://`.
    MySql(String),
}

impl Target {
    /// Parses a `DATA_DB` URL.
    ///
    /// | URL | target |
    /// |---|---|
    /// | `sqlite:///etc/im/inf.dat`, `file:///etc/im/inf.dat`, `file://localhost/etc/im/inf.dat` | file `/etc/im/inf.dat` |
    /// | `sqlite://data/im.db`, `sqlite:data/im.db` | file `data/im.db` (relative to the working directory) |
    /// | `/etc/im/inf.dat`, `./im-data/im.db`, `im.db` | that file |
    /// | `sqlite:///x.db?mode=rwc#frag` | file `/x.db` (query and fragment dropped, as in the reference) |
    /// | `sqlite::memory:`, `:memory:`, `sqlite://:memory:` | in memory |
    /// | `postgres://…`, `postgresql://…` | PostgreSQL |
    /// | `mysql://…`, `mariadb://…` | MySQL/MariaDB |
    pub fn parse(url: &str) -> Result<Target, UrlError> {
        let url = url.trim();
        if url.is_empty() {
            return Err(UrlError::Empty);
        }
        if matches!(url, "sqlite::memory:" | ":memory:" | "sqlite://:memory:") {
            return Ok(Target::SqliteMemory);
        }
        let (scheme, rest) = match split_scheme(url) {
            Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
            None => (String::new(), url),
        };
        match scheme.as_str() {
            "postgres" | "postgresql" => Ok(Target::Postgres(url.to_string())),
            "mysql" => Ok(Target::MySql(url.to_string())),
            "mariadb" => Ok(Target::MySql(format!("mysql:{rest}"))),
            "" | "sqlite" | "file" => {
                let path = strip_query_and_fragment(rest);
                let path = match path.strip_prefix("//") {
                    Some(after) => {
                        let (host, tail) = after.split_at(after.find('/').unwrap_or(after.len()));
                        if host.is_empty() || host.eq_ignore_ascii_case("localhost") {
                            tail.to_string()
                        } else {
                            format!("{host}{tail}")
                        }
                    }
                    None => path.to_string(),
                };
                if path.is_empty() {
                    return Err(UrlError::NoPath(url.to_string()));
                }
                if path == ":memory:" {
                    return Ok(Target::SqliteMemory);
                }
                Ok(Target::SqliteFile(PathBuf::from(path)))
            }
            other => Err(UrlError::UnsupportedScheme(other.to_string())),
        }
    }

    /// Whether the target is SQLite (a file or in memory).
    pub fn is_sqlite(&self) -> bool {
        matches!(self, Target::SqliteFile(_) | Target::SqliteMemory)
    }
}

/// `url` with the password of its `user:password@` part replaced by `***`, for
/// logs and error messages (`postgres://im:***@db/im`).
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// The URL of a PostgreSQL or MySQL server to connect to, with TLS turned off
/// when the server is on this host's loopback and nothing asks for TLS.
///
/// sqlx, like libpq, *prefers* TLS by default, and Debian's PostgreSQL offers
/// it: every statement on a loopback connection was then encrypted and
/// decrypted on both sides, which protects nothing that never leaves the
/// kernel. An `sslmode`/`ssl-mode` in the URL, a `host` parameter (a socket
/// directory) or `PGSSLMODE` in the environment is left to decide.
pub fn plain_on_loopback(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let param = match scheme.to_ascii_lowercase().as_str() {
        "postgres" | "postgresql" if std::env::var_os("PGSSLMODE").is_none() => "sslmode=disable",
        "mysql" | "mariadb" => "ssl-mode=DISABLED",
        _ => return url.to_string(),
    };
    if rest.contains('#') {
        return url.to_string();
    }
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => host_port.split(':').next().unwrap_or(host_port),
    };
    let loopback = host.is_empty()
        || host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let query = rest.split_once('?').map(|(_, q)| q);
    let decided = query.is_some_and(|q| {
        q.split('&').any(|pair| {
            let key = pair.split('=').next().unwrap_or(pair).to_ascii_lowercase();
            matches!(key.as_str(), "sslmode" | "ssl-mode" | "host")
        })
    });
    if !loopback || decided {
        return url.to_string();
    }
    match query {
        Some("") => format!("{url}{param}"),
        Some(_) => format!("{url}&{param}"),
        None => format!("{url}?{param}"),
    }
}

/// `scheme:rest` when the text before the first `:` is a URL scheme
/// (a letter, then letters, digits, `+`, `-`, `.`); a plain path otherwise.
fn split_scheme(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some((scheme, rest))
}

fn strip_query_and_fragment(s: &str) -> &str {
    let s = s.split_once('#').map_or(s, |(a, _)| a);
    s.split_once('?').map_or(s, |(a, _)| a)
}

#[cfg(test)]
mod tests {
    use super::{Target, UrlError, plain_on_loopback};
    use std::path::PathBuf;

    fn file(p: &str) -> Result<Target, UrlError> {
        Ok(Target::SqliteFile(PathBuf::from(p)))
    }

    #[test]
    fn the_reference_url_forms_name_a_file() {
        assert_eq!(
            Target::parse("sqlite:///etc/im/inf.dat"),
            file("/etc/im/inf.dat")
        );
        assert_eq!(Target::parse("file:///var/im.db"), file("/var/im.db"));
        assert_eq!(
            Target::parse("file://localhost/var/im.db"),
            file("/var/im.db")
        );
        assert_eq!(Target::parse("/etc/im/inf.dat"), file("/etc/im/inf.dat"));
        assert_eq!(Target::parse("./im-data/im.db"), file("./im-data/im.db"));
        assert_eq!(Target::parse(" im.db \n"), file("im.db"));
    }

    #[test]
    fn relative_sqlite_urls_name_a_relative_file() {
        assert_eq!(
            Target::parse("sqlite://im-data/im.db"),
            file("im-data/im.db")
        );
        assert_eq!(Target::parse("sqlite://im.db?"), file("im.db"));
        assert_eq!(Target::parse("sqlite:im.db"), file("im.db"));
        assert_eq!(Target::parse("SQLITE:///x.db"), file("/x.db"));
    }

    #[test]
    fn a_query_and_a_fragment_are_dropped_like_the_reference_does() {
        assert_eq!(
            Target::parse("sqlite:///tmp/x.db?mode=rwc"),
            file("/tmp/x.db")
        );
        assert_eq!(Target::parse("/tmp/x.db#frag"), file("/tmp/x.db"));
    }

    #[test]
    fn memory_urls_name_a_private_database() {
        for url in ["sqlite::memory:", ":memory:", "sqlite://:memory:"] {
            assert_eq!(Target::parse(url), Ok(Target::SqliteMemory), "{url}");
        }
    }

    #[test]
    fn server_urls_name_their_server() {
        let pg = "postgresql://im:p%40ss@db:5432/im";
        assert_eq!(Target::parse(pg), Ok(Target::Postgres(pg.into())));
        assert_eq!(
            Target::parse("postgres://db/im"),
            Ok(Target::Postgres("postgres://db/im".into()))
        );
        assert_eq!(
            Target::parse("mysql://u:p@db/im"),
            Ok(Target::MySql("mysql://u:p@db/im".into()))
        );
        assert_eq!(
            Target::parse("mariadb://u:p@db/im"),
            Ok(Target::MySql("mysql://u:p@db/im".into()))
        );
    }

    #[test]
    fn unusable_urls_are_refused_with_a_reason() {
        assert_eq!(Target::parse(""), Err(UrlError::Empty));
        assert_eq!(
            Target::parse("mongodb://u:p@h/db"),
            Err(UrlError::UnsupportedScheme("mongodb".into()))
        );
        assert!(matches!(
            Target::parse("sqlite://"),
            Err(UrlError::NoPath(_))
        ));
        assert!(matches!(Target::parse("file:?x"), Err(UrlError::NoPath(_))));
    }

    #[test]
    fn passwords_are_hidden_from_logged_urls() {
        use super::redact;
        assert_eq!(
            redact("postgres://im:s3cr@t@db:5432/im"),
            "postgres://im:***@db:5432/im"
        );
        assert_eq!(
            redact("mysql://root@127.0.0.1/test"),
            "mysql://root@127.0.0.1/test"
        );
        assert_eq!(
            redact("sqlite:///etc/im/inf.dat"),
            "sqlite:///etc/im/inf.dat"
        );
        assert_eq!(redact("/etc/im/inf.dat"), "/etc/im/inf.dat");
    }

    #[test]
    fn a_path_with_a_colon_in_a_directory_is_still_a_path() {
        assert_eq!(Target::parse("./a:b/im.db"), file("./a:b/im.db"));
        assert_eq!(Target::parse("1x:im.db"), file("1x:im.db"));
    }

    #[test]
    fn loopback_servers_are_reached_without_tls_unless_the_url_asks() {
        if std::env::var_os("PGSSLMODE").is_some() {
            return;
        }
        assert_eq!(
            plain_on_loopback("postgres://postgres@127.0.0.1/im"),
            "postgres://postgres@127.0.0.1/im?sslmode=disable"
        );
        assert_eq!(
            plain_on_loopback("postgresql://u:p@localhost:5432/im?application_name=x"),
            "postgresql://u:p@localhost:5432/im?application_name=x&sslmode=disable"
        );
        assert_eq!(
            plain_on_loopback("mysql://root@[::1]:3306/im"),
            "mysql://root@[::1]:3306/im?ssl-mode=DISABLED"
        );
        for kept in [
            "postgres://u@db.example.org/im",
            "postgres://u@10.0.0.5/im",
            "postgres://u@127.0.0.1/im?sslmode=require",
            "mysql://u@127.0.0.1/im?ssl-mode=REQUIRED",
            "postgres://u@localhost/im?host=/run/postgresql",
            "sqlite:///var/im/inf.dat",
        ] {
            assert_eq!(plain_on_loopback(kept), kept);
        }
    }
}
