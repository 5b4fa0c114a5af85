//! Cloud descriptors derived from the auth items (spec `radl-auth.md` A4).
//!
//! Mirrors grycap/im: `IM/CloudInfo.py` (`get_cloud_list`, `add_extra_fields`,
//! `getCloudConnector`'s type check, `get_port`, `get_url`) and the way the
//! connectors in `IM/connectors/*.py` pick their credentials with
//! `Authentication.getAuthInfo(type, server)`.
//!
//! The `host` of an item is parsed with an emulation of Python 3.11's
//! `urllib.parse.urlparse`, because the reference's silent partial failures (a bad
//! port keeps the server; `unix:///…` keeps only the protocol) are observable in
//! the cloud list.

use std::fmt;
use std::net::Ipv6Addr;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::{AuthError, Credential, py};

/// Item types that are not clouds (identity and auxiliary items).
pub const NON_CLOUD_TYPES: &[&str] = &["InfrastructureManager", "VMRC", "EGIIS"];

/// Cloud connector types of IM 2.0 (`IM/connectors/*.py`).
pub const KNOWN_CLOUD_TYPES: &[&str] = &[
    "Azure",
    "CloudStack",
    "Docker",
    "Dummy",
    "EC2",
    "EGI",
    "GCE",
    "KubeVirt",
    "Kubernetes",
    "Lambda",
    "LibCloud",
    "Linode",
    "OSCAR",
    "OpenNebula",
    "OpenStack",
    "Orange",
    "UpCloud",
    "vSphere",
];

/// One cloud provider, as derived from an auth item.
///
/// Serializes like the reference's `CloudInfo.serialize()` (its `__dict__`): keys
/// `id`, `type`, `server`, `port`, `protocol`, `path`, `extra`, in that order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CloudInfo {
    /// The item's `id`, or `<type><index>` (index in the whole auth list).
    pub id: String,
    /// The item's `type` (the connector name).
    #[serde(rename = "type")]
    pub type_: String,
    /// Host name from `host` (empty when none).
    pub server: String,
    /// Port from `host`, `-1` when none.
    pub port: i64,
    /// Scheme from `host` when it contains `://` (empty otherwise).
    pub protocol: String,
    /// Path from `host` (empty when none).
    pub path: String,
    /// Extra fields that distinguish sites sharing a host (OpenStack:
    /// `auth_version`, then `username`+`domain` or `tenant`; EGI: `vo`).
    pub extra: IndexMap<String, String>,
}

impl Default for CloudInfo {
    fn default() -> Self {
        CloudInfo {
            id: String::new(),
            type_: String::new(),
            server: String::new(),
            port: -1,
            protocol: String::new(),
            path: String::new(),
            extra: IndexMap::new(),
        }
    }
}

impl fmt::Display for CloudInfo {
    /// The reference's `CloudInfo.__str__` (e.g. `id = one, type = OpenNebula, server = s, port = 2633, `).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.id.is_empty() {
            write!(f, "id = {}, ", self.id)?;
        }
        write!(f, "type = {}, ", self.type_)?;
        if !self.server.is_empty() {
            write!(f, "server = {}, ", self.server)?;
        }
        if !self.protocol.is_empty() {
            write!(f, "protocol = {}, ", self.protocol)?;
        }
        if self.port != -1 {
            write!(f, "port = {}, ", self.port)?;
        }
        Ok(())
    }
}

impl CloudInfo {
    /// Builds the descriptor of the auth item at `index` of the auth list, or `None`
    /// when the item is not a cloud (no `type`, or one of [`NON_CLOUD_TYPES`]).
    /// `Vault` and unknown types *are* clouds here, as in the reference.
    pub fn from_credential(index: usize, cred: &Credential) -> Option<CloudInfo> {
        let type_ = cred.type_()?;
        if NON_CLOUD_TYPES.contains(&type_) {
            return None;
        }
        let mut cloud = CloudInfo {
            id: match cred.get_non_empty("id") {
                Some(id) => id.to_string(),
                None => format!("{type_}{index}"),
            },
            type_: type_.to_string(),
            ..CloudInfo::default()
        };
        if let Some(host) = cred.get_non_empty("host") {
            // IM-compat: a host that does not parse is silently ignored; the fields
            // set before the failure stay.
            let _ = cloud.apply_host(host);
        }
        cloud.add_extra_fields(cred);
        Some(cloud)
    }

    /// The `try:` block of `get_cloud_list` for the item's `host`.
    fn apply_host(&mut self, host: &str) -> Result<(), ()> {
        let uri = if host.contains("://") {
            let uri = urlparse(host)?;
            if !uri.scheme.is_empty() {
                self.protocol = uri.scheme.clone();
            }
            uri
        } else {
            urlparse(&format!("NONE://{host}"))?
        };
        if uri.netloc.is_empty() {
            return Err(());
        }
        let mut parts = uri.netloc.split(':');
        self.server = parts.next().unwrap_or_default().to_string();
        if let Some(port) = parts.next() {
            // `parts[1].isdigit()` then `int(parts[1])`: Unicode decimal digits only.
            self.port = py::parse_decimal(port).ok_or(())?;
        }
        if !uri.path.is_empty() {
            self.path = uri.path;
        }
        Ok(())
    }

    /// `CloudInfo.add_extra_fields`.
    fn add_extra_fields(&mut self, cred: &Credential) {
        match cred.type_() {
            Some("OpenStack") => {
                // Same as OpenStackCloudConnector.DEFAULT_AUTH_VERSION.
                let auth_version = cred.get("auth_version").unwrap_or("2.0_password");
                self.extra
                    .insert("auth_version".into(), auth_version.to_string());
                if auth_version == "3.x_oidc_access_token" {
                    if let Some(username) = cred.get_non_empty("username") {
                        self.extra.insert("username".into(), username.to_string());
                    }
                    if let Some(domain) = cred.get_non_empty("domain") {
                        self.extra.insert("domain".into(), domain.to_string());
                    }
                } else if auth_version.contains("password")
                    && let Some(tenant) = cred.get_non_empty("tenant")
                {
                    self.extra.insert("tenant".into(), tenant.to_string());
                }
            }
            Some("EGI") => {
                if let Some(vo) = cred.get_non_empty("vo") {
                    self.extra.insert("vo".into(), vo.to_string());
                }
            }
            _ => {}
        }
    }

    /// The check that `getCloudConnector` makes before loading a connector module:
    /// a type longer than 15 characters or containing `.` is
    /// [`AuthError::InvalidCloudType`] (`Not valid cloud provider.`). Unknown but
    /// well-formed types pass (they fail later, when the connector is looked up).
    pub fn validate_type(&self) -> Result<(), AuthError> {
        validate_cloud_type(&self.type_)
    }

    /// Whether [`CloudInfo::type_`] names an IM 2.0 connector.
    pub fn is_known_type(&self) -> bool {
        KNOWN_CLOUD_TYPES.contains(&self.type_.as_str())
    }

    /// `CloudInfo.get_port`: the port, or 80/443 for http/https (protocol `http`
    /// when empty) when unset; `-1` for other protocols without a port.
    pub fn get_port(&self) -> i64 {
        let protocol = if self.protocol.is_empty() {
            "http"
        } else {
            self.protocol.as_str()
        };
        match (self.port, protocol) {
            (-1, "http") => 80,
            (-1, "https") => 443,
            (port, _) => port,
        }
    }

    /// `CloudInfo.get_url`: `<protocol or http>://<server>:<port><path>`.
    pub fn get_url(&self) -> String {
        let protocol = if self.protocol.is_empty() {
            "http"
        } else {
            self.protocol.as_str()
        };
        format!(
            "{protocol}://{}:{}{}",
            self.server,
            self.get_port(),
            self.path
        )
    }
}

/// The cloud type rule of `getCloudConnector`: more than 15 characters (Python
/// `len`, i.e. code points) or a `.` is `Not valid cloud provider.`.
pub fn validate_cloud_type(type_: &str) -> Result<(), AuthError> {
    if type_.chars().count() > 15 || type_.contains('.') {
        Err(AuthError::InvalidCloudType)
    } else {
        Ok(())
    }
}

/// `CloudInfo.get_cloud_list`: one descriptor per cloud item, in order.
pub fn cloud_list(items: &[Credential]) -> Vec<CloudInfo> {
    items
        .iter()
        .enumerate()
        .filter_map(|(index, cred)| CloudInfo::from_credential(index, cred))
        .collect()
}

/// How a connector chooses its credentials among the items of its type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialSelection {
    /// Items whose `host` contains the cloud's `server` as a substring (all items
    /// of the type when the server is empty): OpenNebula, OpenStack, Docker,
    /// Kubernetes, CloudStack, OSCAR, Lambda.
    HostSubstring,
    /// [`CredentialSelection::HostSubstring`], falling back to every item of the
    /// type when none matches: UpCloud (it has a default endpoint).
    HostSubstringOrAny,
    /// Every item of the type: EC2, GCE, Azure, Linode, Orange, vSphere, LibCloud,
    /// Dummy, EGI, unknown types — and KubeVirt, whose connector filters on
    /// `urlparse(server).netloc`, which is always empty for a bare host name
    /// (IM-compat quirk).
    TypeOnly,
}

impl CredentialSelection {
    /// The selection rule of the connector named `type_`.
    pub fn for_type(type_: &str) -> CredentialSelection {
        match type_ {
            "OpenNebula" | "OpenStack" | "Docker" | "Kubernetes" | "CloudStack" | "OSCAR"
            | "Lambda" => CredentialSelection::HostSubstring,
            "UpCloud" => CredentialSelection::HostSubstringOrAny,
            _ => CredentialSelection::TypeOnly,
        }
    }
}

/// The parts of a URL that `get_cloud_list` reads.
#[derive(Debug, Default)]
struct ParsedUrl {
    scheme: String,
    netloc: String,
    path: String,
}

/// Characters valid in a URL scheme (`urllib.parse.scheme_chars`).
fn is_scheme_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')
}

/// Schemes whose path has `;params` split off (`urllib.parse.uses_params`).
const USES_PARAMS: &[&str] = &[
    "", "ftp", "hdl", "prospero", "http", "imap", "https", "shttp", "rtsp", "rtsps", "rtspu",
    "sip", "sips", "mms", "sftp", "tel",
];

/// Non-ASCII characters whose NFKC normalization contains one of `/?#@:`
/// (computed with Python 3.11's `unicodedata`); `_checknetloc` rejects them.
const NFKC_UNSAFE: &[char] = &[
    '\u{2047}', '\u{2048}', '\u{2049}', '\u{2100}', '\u{2101}', '\u{2105}', '\u{2106}', '\u{2a74}',
    '\u{fe13}', '\u{fe16}', '\u{fe55}', '\u{fe56}', '\u{fe5f}', '\u{fe6b}', '\u{ff03}', '\u{ff0f}',
    '\u{ff1a}', '\u{ff1f}', '\u{ff20}',
];

/// Python 3.11 `urllib.parse.urlparse`, reduced to scheme, netloc and path. `Err`
/// where Python raises `ValueError`.
fn urlparse(url: &str) -> Result<ParsedUrl, ()> {
    // WHATWG: strip leading C0 controls and space; drop tab, CR and LF everywhere.
    let url: String = url
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
        .collect();
    let mut rest = url.as_str();
    let mut scheme = String::new();
    if let Some(i) = rest.find(':')
        && i > 0
        && rest.starts_with(|c: char| c.is_ascii_alphabetic())
        && rest[..i].chars().all(is_scheme_char)
    {
        scheme = rest[..i].to_ascii_lowercase();
        rest = &rest[i + 1..];
    }
    let mut netloc = "";
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        netloc = &after[..end];
        rest = &after[end..];
        let open = netloc.contains('[');
        let close = netloc.contains(']');
        if open != close {
            return Err(()); // Invalid IPv6 URL
        }
        if open && let Some((_, after_open)) = netloc.split_once('[') {
            let bracketed = after_open.split(']').next().unwrap_or_default();
            check_bracketed_host(bracketed)?;
        }
    }
    let mut path = rest;
    if let Some((before, _)) = path.split_once('#') {
        path = before;
    }
    if let Some((before, _)) = path.split_once('?') {
        path = before;
    }
    check_netloc(netloc)?;
    if USES_PARAMS.contains(&scheme.as_str()) && path.contains(';') {
        path = split_params(path);
    }
    Ok(ParsedUrl {
        scheme,
        netloc: netloc.to_string(),
        path: path.to_string(),
    })
}

/// `urllib.parse._splitparams`, returning only the path part.
fn split_params(path: &str) -> &str {
    let start = path.rfind('/').unwrap_or(0);
    let semicolon = if path.contains('/') {
        path[start..].find(';').map(|i| i + start)
    } else {
        path.find(';')
    };
    match semicolon {
        Some(i) => &path[..i],
        None => path,
    }
}

/// `urllib.parse._check_bracketed_host`: an IPvFuture literal or an IPv6 address
/// (optionally with a `%scope`); IPv4 and anything else are rejected.
fn check_bracketed_host(host: &str) -> Result<(), ()> {
    if let Some(future) = host.strip_prefix('v') {
        // \Av[a-fA-F0-9]+\..+\Z
        let hex_len = future
            .find(|c: char| !c.is_ascii_hexdigit())
            .unwrap_or(future.len());
        let tail = &future[hex_len..];
        return match tail.strip_prefix('.') {
            Some(rest) if hex_len > 0 && !rest.is_empty() && !rest.contains('\n') => Ok(()),
            _ => Err(()),
        };
    }
    let address = match host.split_once('%') {
        Some((address, scope)) => {
            if scope.is_empty() || scope.contains('%') {
                return Err(());
            }
            address
        }
        None => host,
    };
    address.parse::<Ipv6Addr>().map(|_| ()).map_err(|_| ())
}

/// `urllib.parse._checknetloc`: reject characters that NFKC-normalize to URL
/// delimiters.
fn check_netloc(netloc: &str) -> Result<(), ()> {
    if netloc.is_ascii() {
        return Ok(());
    }
    if netloc.chars().any(|c| NFKC_UNSAFE.contains(&c)) {
        Err(())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cloud(host: &str) -> CloudInfo {
        let cred: Credential = [("type", "OpenNebula"), ("host", host)]
            .into_iter()
            .collect();
        CloudInfo::from_credential(0, &cred).unwrap_or_default()
    }

    #[test]
    fn host_parsing_matches_python_urlparse() {
        let c = cloud("https://h.example:5000/v3;x?q#f");
        assert_eq!(
            (
                c.protocol.as_str(),
                c.server.as_str(),
                c.port,
                c.path.as_str()
            ),
            ("https", "h.example", 5000, "/v3")
        );
        let c = cloud("one:abc");
        assert_eq!((c.server.as_str(), c.port), ("one", -1));
        let c = cloud("unix:///var/run/docker.sock");
        assert_eq!(
            (c.protocol.as_str(), c.server.as_str(), c.path.as_str()),
            ("unix", "", "")
        );
        let c = cloud("http://[::1]:80/x");
        assert_eq!((c.server.as_str(), c.port, c.path.as_str()), ("[", -1, ""));
        let c = cloud("http://[1.2.3.4]/x");
        assert_eq!((c.protocol.as_str(), c.server.as_str()), ("", ""));
        let c = cloud("host\u{ff0f}x:80");
        assert_eq!(c.server, "");
        let c = cloud("  ftp://a:21/p;q");
        assert_eq!(
            (
                c.protocol.as_str(),
                c.server.as_str(),
                c.port,
                c.path.as_str()
            ),
            ("ftp", "a", 21, "/p")
        );
    }

    #[test]
    fn default_ports_follow_protocol() {
        let c = cloud("http://server");
        assert_eq!(c.get_port(), 80);
        assert_eq!(c.get_url(), "http://server:80");
        let c = cloud("https://server/p");
        assert_eq!(c.get_url(), "https://server:443/p");
        let c = cloud("unix:///x");
        assert_eq!(c.get_port(), -1);
    }
}
