//! OAI-PMH 2.0 over a catalogue of TOSCA templates (`GET|POST /oai`, spec
//! `rest-api.md` §7): each template's `metadata` block is one record, its
//! identifier the configured base URL plus the template's path.
//!
//! The templates come from an [`OaiSource`]: a local directory (read on each
//! request, as the reference lists its repository on each request) or a
//! remote lister the binary supplies (the reference's GitHub repository,
//! fetched with a timeout and cached). This module answers the protocol: the
//! six verbs, the protocol errors (as `<error code=…>` with status 200), and
//! the three metadata formats the reference offers (`oai_dc`, `oai_openaire`,
//! `oai_datacite`) in its element layout. The XML is written by hand, as
//! lxml's `pretty_print` writes it, since it is a handful of fixed shapes.

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use axum::response::Response;
use indexmap::IndexMap;
use serde_json::Value;

use crate::negotiate;

/// One template of the catalogue: its path under the repository (`a/b.yaml`,
/// `/`-separated) and its text.
#[derive(Debug, Clone)]
pub struct OaiTemplate {
    /// The path under the repository root; the record identifier is the base
    /// identifier URL followed by it.
    pub name: String,
    /// The YAML text.
    pub text: String,
}

/// The future a [`TemplateLister`] returns.
pub type ListFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<OaiTemplate>, String>> + Send + 'a>>;

/// Lists the templates of a remote repository (implemented by the binary over
/// HTTP, with a timeout and a cache).
pub trait TemplateLister: Send + Sync {
    /// Every template, or a one-line reason why they cannot be had.
    fn list(&self) -> ListFuture<'_>;
}

/// Where the templates of the catalogue come from.
#[derive(Clone)]
pub enum OaiSource {
    /// `*.yaml` / `*.yml` files under a local directory, recursively (hidden
    /// entries and directory symlinks skipped).
    Dir(PathBuf),
    /// A remote repository.
    Remote(Arc<dyn TemplateLister>),
}

impl fmt::Debug for OaiSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OaiSource::Dir(d) => f.debug_tuple("Dir").field(d).finish(),
            OaiSource::Remote(_) => f.write_str("Remote(..)"),
        }
    }
}

/// The OAI-PMH repository settings (`OAIPMH_REPO_*`).
#[derive(Debug, Clone)]
pub struct OaiSettings {
    /// `OAIPMH_REPO_NAME`.
    pub name: String,
    /// `OAIPMH_REPO_DESCRIPTION`.
    pub description: String,
    /// `OAIPMH_REPO_BASE_IDENTIFIER_URL`: record identifiers are this plus the
    /// template's path.
    pub base_identifier_url: String,
    /// `OAIPMH_REPO_ADMIN_EMAIL` (`admin@localhost` when unset).
    pub admin_email: Option<String>,
    /// Where the templates are read from.
    pub source: OaiSource,
}

/// The earliest datestamp, and the datestamp of a record without a date.
const EARLIEST: &str = "2000-01-01";

/// A request's arguments: the query string, then the urlencoded form of a
/// POST, in order (repeats kept, to be reported).
pub(crate) type Args = Vec<(String, String)>;

/// Answers one OAI-PMH request. `base` is `scheme://host` + root path.
pub(crate) async fn answer(
    settings: &OaiSettings,
    base: &str,
    args: &Args,
    accept: &[String],
) -> Response {
    let templates = match &settings.source {
        OaiSource::Dir(dir) => {
            let dir = dir.clone();
            match tokio::task::spawn_blocking(move || read_dir_templates(&dir)).await {
                Ok(r) => r,
                Err(e) => Err(format!("cannot read the templates: {e}")),
            }
        }
        OaiSource::Remote(lister) => lister.list().await,
    };
    let records = templates.and_then(|t| records(&t, &settings.base_identifier_url));
    match records {
        Ok(records) => {
            let repo = Repo {
                settings,
                base_url: format!("{base}/oai"),
            };
            negotiate::text(
                StatusCode::OK,
                "text/xml",
                repo.process(args, &records, &response_date()),
            )
        }
        Err(e) => negotiate::error(
            StatusCode::BAD_REQUEST,
            &format!("Error getting metadata from TOSCA templates: {e}"),
            accept,
        ),
    }
}

// ----- templates and records

/// Reads the `*.yaml` / `*.yml` files under `root`, sorted by path.
fn read_dir_templates(root: &Path) -> Result<Vec<OaiTemplate>, String> {
    let mut out = Vec::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| format!("cannot read the directory {}: {e}", dir.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
            let file_name = entry.file_name();
            let Some(name) = file_name.to_str() else {
                continue;
            };
            if name.starts_with('.') {
                continue;
            }
            let path = entry.path();
            let rel = format!("{prefix}{name}");
            // A symlinked directory is not followed: it could loop.
            let Ok(meta) = entry.file_type() else {
                continue;
            };
            if meta.is_dir() {
                stack.push((path, format!("{rel}/")));
            } else if name.ends_with(".yaml") || name.ends_with(".yml") {
                if path.is_dir() {
                    continue;
                }
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("cannot read {rel}: {e}"))?;
                out.push(OaiTemplate { name: rel, text });
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// One record: the template's path and its metadata, with the reference's
/// three added fields.
#[derive(Debug)]
struct Record {
    name: String,
    meta: IndexMap<String, Value>,
}

impl Record {
    /// The `creation_date` as `YYYY-MM-DD`, when it is a date.
    fn date(&self) -> Option<Date> {
        match self.meta.get("creation_date") {
            Some(Value::String(s)) => Date::from_timestamp(s),
            _ => None,
        }
    }

    fn datestamp(&self) -> String {
        self.date()
            .map_or_else(|| EARLIEST.to_string(), |d| d.to_string())
    }
}

#[derive(serde::Deserialize)]
struct TemplateDoc {
    #[serde(default)]
    metadata: Option<Value>,
}

/// The records of the templates: their `metadata` blocks plus `identifier`
/// (base URL + path), `resource_type` and `rights`, as the reference adds
/// them. A template without a `metadata` mapping fails the whole listing, as
/// in the reference, but the message names it.
fn records(templates: &[OaiTemplate], base_identifier_url: &str) -> Result<Vec<Record>, String> {
    templates
        .iter()
        .map(|t| {
            let doc: TemplateDoc = serde_saphyr::from_str(&t.text)
                .map_err(|e| format!("{}: {}", t.name, first_line(&e.to_string())))?;
            let mut meta: IndexMap<String, Value> = match doc.metadata {
                Some(Value::Object(m)) => m.into_iter().collect(),
                _ => return Err(format!("{}: no 'metadata' mapping", t.name)),
            };
            meta.insert(
                "identifier".into(),
                Value::String(format!("{base_identifier_url}{}", t.name)),
            );
            meta.insert("resource_type".into(), Value::String("software".into()));
            meta.insert("rights".into(), Value::String("openaccess".into()));
            Ok(Record {
                name: t.name.clone(),
                meta,
            })
        })
        .collect()
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// A metadata value as element text: strings as they are, numbers and
/// booleans in their YAML spelling, `None` for a null (an empty element) and
/// for lists and mappings (no element).
// IM-compat deviation: the reference hands the raw value to lxml, which
// rejects anything but a string (a 500); non-string scalars are written.
fn value_text(v: &Value) -> Option<Option<String>> {
    match v {
        Value::String(s) => Some(Some(s.clone())),
        Value::Number(n) => Some(Some(n.to_string())),
        Value::Bool(b) => Some(Some(b.to_string())),
        Value::Null => Some(None),
        Value::Array(_) | Value::Object(_) => None,
    }
}

// ----- dates

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Date(u32, u32, u32);

impl Date {
    /// Exactly `YYYY-MM-DD` and a real date (Python's `strptime` + `strftime`
    /// round trip, the reference's test for `from` and `until`).
    fn parse_exact(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = s.get(r)?;
            if part.bytes().all(|c| c.is_ascii_digit()) {
                part.parse().ok()
            } else {
                None
            }
        };
        let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let days = match m {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (y >= 1 && (1..=days).contains(&d)).then_some(Date(y, m, d))
    }

    /// The date of a YAML timestamp (`2023-05-10`, `2023-05-10T10:00:00Z`,
    /// `2023-05-10 10:00:00`), which PyYAML reads as a date or a datetime.
    fn from_timestamp(s: &str) -> Option<Date> {
        let s = s.trim();
        let date = Date::parse_exact(s.get(..10)?)?;
        match s.as_bytes().get(10) {
            None | Some(b'T' | b't' | b' ' | b'\t') => Some(date),
            _ => None,
        }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.0, self.1, self.2)
    }
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SSZ`.
fn response_date() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

// ----- XML

/// An element of the answer.
struct El {
    name: String,
    attrs: Vec<(String, String)>,
    text: Option<String>,
    children: Vec<El>,
}

impl El {
    fn new(name: &str) -> El {
        El {
            name: name.to_string(),
            attrs: Vec::new(),
            text: None,
            children: Vec::new(),
        }
    }

    fn text(name: &str, text: impl Into<String>) -> El {
        let mut e = El::new(name);
        e.text = Some(text.into());
        e
    }

    fn attr(mut self, name: &str, value: impl Into<String>) -> El {
        self.attrs.push((name.to_string(), value.into()));
        self
    }

    fn child(mut self, c: El) -> El {
        self.children.push(c);
        self
    }

    /// lxml's `pretty_print`: two spaces per level, text inline, an element
    /// without text nor children self-closed, a final newline.
    fn write(&self, out: &mut String, depth: usize) {
        for _ in 0..depth {
            out.push_str("  ");
        }
        out.push('<');
        out.push_str(&self.name);
        for (k, v) in &self.attrs {
            out.push(' ');
            out.push_str(k);
            out.push_str("=\"");
            escape(out, v, true);
            out.push('"');
        }
        if self.children.is_empty() {
            match &self.text {
                None => out.push_str("/>\n"),
                Some(t) => {
                    out.push('>');
                    escape(out, t, false);
                    out.push_str("</");
                    out.push_str(&self.name);
                    out.push_str(">\n");
                }
            }
            return;
        }
        out.push('>');
        if let Some(t) = &self.text {
            escape(out, t, false);
        }
        out.push('\n');
        for c in &self.children {
            c.write(out, depth + 1);
        }
        for _ in 0..depth {
            out.push_str("  ");
        }
        out.push_str("</");
        out.push_str(&self.name);
        out.push_str(">\n");
    }
}

/// XML escaping; characters XML 1.0 cannot carry are dropped.
// IM-compat deviation: lxml raises on them (a 500 in the reference).
fn escape(out: &mut String, s: &str, attr: bool) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            '\n' if attr => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' if attr => out.push_str("&#9;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

// ----- the protocol

const NS_OAI: &str = "http://www.openarchives.org/OAI/2.0/";
const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
const NS_OAI_DC: &str = "http://www.openarchives.org/OAI/2.0/oai_dc/";
const NS_DC: &str = "http://purl.org/dc/elements/1.1/";
const NS_DATACITE: &str = "http://datacite.org/schema/kernel-4";
const NS_OAIRE: &str = "http://namespace.openaire.eu/schema/oaire/";

/// The metadata formats: prefix, schema, namespace.
const FORMATS: [(&str, &str, &str); 3] = [
    (
        "oai_dc",
        "http://www.openarchives.org/OAI/2.0/oai_dc.xsd",
        NS_OAI_DC,
    ),
    (
        "oai_openaire",
        "https://www.openaire.eu/schema/1.0/oaf-1.0.xsd",
        NS_OAIRE,
    ),
    (
        "oai_datacite",
        "https://schema.datacite.org/meta/kernel-4.3/metadata.xsd",
        NS_DATACITE,
    ),
];

/// Every argument the protocol knows.
const KNOWN_ARGS: [&str; 7] = [
    "verb",
    "identifier",
    "metadataPrefix",
    "from",
    "until",
    "set",
    "resumptionToken",
];

/// The protocol errors, with the reference's texts.
#[derive(Debug, Clone, Copy)]
enum OaiError {
    BadVerb,
    BadArgument,
    CannotDisseminateFormat,
    IdDoesNotExist,
    BadResumptionToken,
    NoRecordsMatch,
    NoSetHierarchy,
}

impl OaiError {
    fn element(self) -> El {
        let (code, text) = match self {
            OaiError::BadVerb => (
                "badVerb",
                "Value of the verb argument is not a legal OAI-PMH verb,                     the verb argument is missing, or the verb argument is repeated.",
            ),
            OaiError::BadArgument => (
                "badArgument",
                "The request includes illegal arguments, is missing required                     arguments, includes a repeated argument, or values for arguments have an illegal syntax.",
            ),
            OaiError::CannotDisseminateFormat => (
                "cannotDisseminateFormat",
                "The metadata format identified by the value given for the metadataPrefix                     argument is not supported by the item or by the repository.",
            ),
            OaiError::IdDoesNotExist => (
                "idDoesNotExist",
                "The value of the identifier argument is unknown or illegal in this repository.",
            ),
            OaiError::BadResumptionToken => (
                "badResumptionToken",
                "The value of the resumptionToken argument is invalid or expired.",
            ),
            OaiError::NoRecordsMatch => (
                "noRecordsMatch",
                "The combination of the values of the from, until, set, and metadataPrefix                     arguments results in an empty list.",
            ),
            OaiError::NoSetHierarchy => ("noSetHierarchy", "The repository does not support sets"),
        };
        El::text("error", text).attr("code", code)
    }
}

/// The arguments each verb accepts (OAI-PMH 2.0 §4).
fn verb_args(verb: &str) -> Option<&'static [&'static str]> {
    Some(match verb {
        "Identify" => &[],
        "ListMetadataFormats" => &["identifier"],
        "ListSets" => &["resumptionToken"],
        "GetRecord" => &["identifier", "metadataPrefix"],
        "ListIdentifiers" | "ListRecords" => {
            &["metadataPrefix", "from", "until", "set", "resumptionToken"]
        }
        _ => return None,
    })
}

struct Repo<'a> {
    settings: &'a OaiSettings,
    /// `BASE/oai`.
    base_url: String,
}

/// The values of one request's arguments (each given at most once).
struct Req<'a> {
    verb: &'a str,
    args: &'a IndexMap<&'a str, &'a str>,
}

impl Req<'_> {
    fn get(&self, k: &str) -> Option<&str> {
        self.args.get(k).copied()
    }
}

impl Repo<'_> {
    fn process(&self, args: &Args, records: &[Record], date: &str) -> String {
        let mut root = El::new("OAI-PMH")
            .attr("xmlns:xsi", NS_XSI)
            .attr(
                "xsi:schemaLocation",
                format!("{NS_OAI} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"),
            )
            .attr("xmlns", NS_OAI)
            .child(El::text("responseDate", date));
        let body = self.dispatch(args, records);
        root.children.extend(body);
        let mut out = String::new();
        root.write(&mut out, 0);
        out
    }

    /// The elements after `responseDate`: `request` and the verb's answer or
    /// an error.
    fn dispatch(&self, args: &Args, records: &[Record]) -> Vec<El> {
        // The reference's order: verb, then repeated and unknown arguments,
        // then the verb's name.
        let bare = |e: OaiError| vec![El::text("request", &self.base_url), e.element()];
        let mut map: IndexMap<&str, &str> = IndexMap::new();
        let mut repeated = None;
        for (k, v) in args {
            if map.insert(k.as_str(), v.as_str()).is_some() {
                repeated.get_or_insert(k.as_str());
            }
        }
        // IM-compat deviation: the reference collapses repeated arguments to
        // their last value (a dict) and so never reports them; the protocol
        // makes a repeated verb a badVerb and any other a badArgument.
        let verb = map.get("verb").copied().unwrap_or("");
        if verb.is_empty() || repeated == Some("verb") {
            return bare(OaiError::BadVerb);
        }
        if repeated.is_some() || map.keys().any(|k| !KNOWN_ARGS.contains(k)) {
            return bare(OaiError::BadArgument);
        }
        let Some(allowed) = verb_args(verb) else {
            return bare(OaiError::BadVerb);
        };
        // IM-compat deviation: the reference takes any known argument with
        // any verb; the protocol's badArgument for one the verb does not take.
        if map.keys().any(|k| *k != "verb" && !allowed.contains(k)) {
            return bare(OaiError::BadArgument);
        }
        let req = Req { verb, args: &map };
        match verb {
            "Identify" => self.identify(&req),
            "ListMetadataFormats" => self.list_metadata_formats(&req, records),
            "ListSets" => vec![self.request(&req), OaiError::NoSetHierarchy.element()],
            "GetRecord" => self.get_record(&req, records),
            _ => self.list(&req, records),
        }
    }

    /// The `request` element with the verb and its non-empty arguments.
    fn request(&self, req: &Req<'_>) -> El {
        let mut e = El::text("request", &self.base_url).attr("verb", req.verb);
        for k in [
            "metadataPrefix",
            "identifier",
            "from",
            "until",
            "set",
            "resumptionToken",
        ] {
            if let Some(v) = req.get(k).filter(|v| !v.is_empty()) {
                e = e.attr(k, v);
            }
        }
        e
    }

    fn identify(&self, req: &Req<'_>) -> Vec<El> {
        let s = self.settings;
        // IM-compat deviation: the reference passes an unset admin email on
        // as None (an empty `adminEmail`, which the protocol forbids); its
        // own default is used instead.
        let email = s.admin_email.as_deref().unwrap_or("admin@localhost");
        let identify = El::new("Identify")
            .child(El::text("repositoryName", &s.name))
            .child(El::text("baseURL", &self.base_url))
            .child(El::text("protocolVersion", "2.0"))
            .child(El::text("earliestDatestamp", EARLIEST))
            .child(El::text("deletedRecord", "no"))
            .child(El::text("granularity", "YYYY-MM-DD"))
            .child(El::text("adminEmail", email));
        vec![self.request(req), identify]
    }

    fn find<'r>(&self, records: &'r [Record], identifier: &str) -> Option<&'r Record> {
        let base = &self.settings.base_identifier_url;
        records
            .iter()
            .find(|r| identifier.strip_prefix(base.as_str()) == Some(r.name.as_str()))
    }

    fn list_metadata_formats(&self, req: &Req<'_>, records: &[Record]) -> Vec<El> {
        let request = self.request(req);
        if let Some(id) = req.get("identifier").filter(|v| !v.is_empty())
            && self.find(records, id).is_none()
        {
            return vec![request, OaiError::IdDoesNotExist.element()];
        }
        let mut list = El::new("ListMetadataFormats");
        for (prefix, schema, ns) in FORMATS {
            list = list.child(
                El::new("metadataFormat")
                    .child(El::text("metadataPrefix", prefix))
                    .child(El::text("schema", schema))
                    .child(El::text("metadataNamespace", ns)),
            );
        }
        vec![request, list]
    }

    fn get_record(&self, req: &Req<'_>, records: &[Record]) -> Vec<El> {
        let request = self.request(req);
        let id = req.get("identifier").unwrap_or("");
        let prefix = req.get("metadataPrefix").unwrap_or("");
        if id.is_empty() || prefix.is_empty() {
            return vec![request, OaiError::BadArgument.element()];
        }
        if !FORMATS.iter().any(|f| f.0 == prefix) {
            return vec![request, OaiError::CannotDisseminateFormat.element()];
        }
        let Some(rec) = self.find(records, id) else {
            return vec![request, OaiError::IdDoesNotExist.element()];
        };
        let record = El::new("record")
            .child(self.header(rec, id))
            .child(El::new("metadata").child(map_record(rec, prefix)));
        vec![request, El::new("GetRecord").child(record)]
    }

    fn header(&self, rec: &Record, identifier: &str) -> El {
        El::new("header")
            .child(El::text("identifier", identifier))
            .child(El::text("datestamp", rec.datestamp()))
    }

    /// ListIdentifiers and ListRecords.
    fn list(&self, req: &Req<'_>, records: &[Record]) -> Vec<El> {
        let request = self.request(req);
        let err = |e: OaiError| vec![self.request(req), e.element()];
        if req.get("resumptionToken").is_some() {
            // No list is ever cut, so no token is valid.
            return err(OaiError::BadResumptionToken);
        }
        if req.get("set").is_some() {
            return err(OaiError::NoSetHierarchy);
        }
        let from = req.get("from").map(Date::parse_exact);
        let until = req.get("until").map(Date::parse_exact);
        let prefix = req.get("metadataPrefix").unwrap_or("");
        if prefix.is_empty() || from == Some(None) || until == Some(None) {
            return err(OaiError::BadArgument);
        }
        if !FORMATS.iter().any(|f| f.0 == prefix) {
            return err(OaiError::CannotDisseminateFormat);
        }
        let (from, until) = (from.flatten(), until.flatten());
        let earliest = Date(2000, 1, 1);
        let selected: Vec<&Record> = records
            .iter()
            .filter(|r| {
                let d = r.date().unwrap_or(earliest);
                from.is_none_or(|f| d >= f) && until.is_none_or(|u| d <= u)
            })
            .collect();
        if selected.is_empty() {
            return err(OaiError::NoRecordsMatch);
        }
        let base = &self.settings.base_identifier_url;
        let records_only = req.verb == "ListRecords";
        let mut list = El::new(req.verb);
        for r in selected {
            let id = format!("{base}{}", r.name);
            // IM-compat deviation: the reference's ListRecords writes the
            // word `datestamp` for a record without a date; the earliest
            // datestamp is written, as its other verbs do.
            let header = self.header(r, &id);
            list = list.child(if records_only {
                El::new("record")
                    .child(header)
                    .child(El::new("metadata").child(map_record(r, prefix)))
            } else {
                header
            });
        }
        vec![request, list]
    }
}

/// A record's metadata in one format, with the reference's element names,
/// namespaces and attributes (its `mapRecord`).
fn map_record(rec: &Record, prefix: &str) -> El {
    let (root_name, schema, schema_ns, ns_decls): (&str, &str, &str, &[(&str, &str)]) = match prefix
    {
        "oai_dc" => (
            "oai_dc:dc",
            "http://www.openarchives.org/OAI/2.0/oai_dc.xsd",
            NS_OAI_DC,
            &[("oai_dc", NS_OAI_DC), ("dc", NS_DC)],
        ),
        "oai_openaire" => (
            "oaire:resource",
            "https://www.openaire.eu/schema/1.0/oaf-1.0.xsd",
            NS_OAIRE,
            &[
                ("dc", NS_DC),
                ("datacite", NS_DATACITE),
                ("oaire", NS_OAIRE),
            ],
        ),
        _ => (
            "datacite:resource",
            "https://schema.datacite.org/meta/kernel-4.3/metadata.xsd",
            NS_DATACITE,
            &[("dc", NS_DC), ("datacite", NS_DATACITE)],
        ),
    };
    let elems = if prefix == "oai_datacite" {
        "datacite"
    } else {
        "dc"
    };
    let (dc, datacite) = (prefix == "oai_dc", prefix == "oai_datacite");
    let mut root = El::new(root_name);
    for (p, ns) in ns_decls {
        root = root.attr(&format!("xmlns:{p}"), *ns);
    }
    root = root.attr("xsi:schemaLocation", format!("{schema_ns} {schema}"));
    let date = rec.date();
    for (key, value) in &rec.meta {
        let Some(text) = value_text(value) else {
            continue;
        };
        let el = |name: &str| {
            let mut e = El::new(name);
            e.text.clone_from(&text);
            e
        };
        let e = match key.as_str() {
            "display_name" => el(&format!("{elems}:title")),
            "template_author" if datacite => {
                El::new("datacite:creator").child(el("datacite:creatorName"))
            }
            "template_author" => el(&format!("{elems}:creator")),
            "creation_date" => {
                let mut e = el(&format!("{elems}:date"));
                if let Some(d) = date {
                    e.text = Some(d.to_string());
                }
                if datacite {
                    e = e.attr("dateType", "Issued");
                }
                e
            }
            "resource_type" if datacite => el("ns0:resourceType")
                .attr("xmlns:ns0", NS_OAIRE)
                .attr("resourceTypeGeneral", "software")
                .attr("uri", "http://purl.org/coar/resource_type/c_5ce6"),
            "resource_type" => el(&format!("{elems}:resourceType")),
            "identifier" if datacite => el("datacite:identifier").attr("identifierType", "URN"),
            "identifier" => el(&format!("{elems}:identifier")),
            "rights" if dc => el("dc:rights"),
            "rights" => {
                el("datacite:rights").attr("rightsURI", "http://purl.org/coar/access_right/c_abf2")
            }
            "publisher" => el("dc:publisher"),
            "template_version" if prefix == "oai_openaire" => el("oaire:version"),
            "template_version" => el("dc:version"),
            "format" => el("dc:format"),
            "subject" if prefix == "oai_openaire" => el("oaire:subject"),
            "description" => el("dc:description"),
            "related_identifier" if datacite => el("datacite:relatedIdentifier")
                .attr("relatedIdentifierType", "DOI")
                .attr("relationType", "isContinuedBy"),
            "tag" if dc => el("dc:subject"),
            _ => continue,
        };
        root = root.child(e);
    }
    root
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_exact_and_real() {
        assert_eq!(Date::parse_exact("2024-02-29"), Some(Date(2024, 2, 29)));
        for bad in [
            "2023-02-29",
            "2023-1-05",
            "2023-13-01",
            "",
            "2023-01-01T00",
            "0000-01-01",
        ] {
            assert_eq!(Date::parse_exact(bad), None, "{bad}");
        }
        assert_eq!(
            Date::from_timestamp("2023-05-10 10:00:00"),
            Some(Date(2023, 5, 10))
        );
        assert_eq!(Date::from_timestamp("2023-05-10x"), None);
    }

    #[test]
    fn the_response_date_has_the_protocol_shape() {
        let d = response_date();
        assert_eq!(d.len(), 20, "{d}");
        assert!(Date::parse_exact(&d[..10]).is_some(), "{d}");
        assert!(d.ends_with('Z') && &d[10..11] == "T", "{d}");
    }

    #[test]
    fn text_and_attributes_are_escaped() {
        let mut s = String::new();
        El::text("a", "x & <y> \u{1}\"")
            .attr("b", "\"q\" & <")
            .write(&mut s, 0);
        assert_eq!(
            s,
            "<a b=\"&quot;q&quot; &amp; &lt;\">x &amp; &lt;y&gt; \"</a>\n"
        );
    }
}
