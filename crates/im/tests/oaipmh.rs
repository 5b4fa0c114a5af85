//! OAI-PMH (spec rest-api.md §7) against the real server, over a local
//! directory of TOSCA templates (`OAIPMH_REPO_DIR`): every verb, every
//! protocol error, GET and POST. Each answer is parsed as namespaced XML
//! (quick-xml) before anything is checked.

#![allow(clippy::unwrap_used)] // a panic is the failure report

mod common;

use common::{Resp, Server, req};
use quick_xml::XmlVersion;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

const OAI: &str = "http://www.openarchives.org/OAI/2.0/";
const DC: &str = "http://purl.org/dc/elements/1.1/";
const OAI_DC: &str = "http://www.openarchives.org/OAI/2.0/oai_dc/";
const DATACITE: &str = "http://datacite.org/schema/kernel-4";
const OAIRE: &str = "http://namespace.openaire.eu/schema/oaire/";
const BASE_ID: &str = "https://github.com/grycap/tosca/blob/main/templates/";

/// An element: namespace, local name, attributes (qualified names as
/// written), text, children.
#[derive(Debug)]
struct Node {
    ns: String,
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<Node>,
}

impl Node {
    fn child(&self, name: &str) -> &Node {
        self.children
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no <{name}> in <{}>: {self:#?}", self.name))
    }

    fn all(&self, name: &str) -> Vec<&Node> {
        self.children.iter().filter(|c| c.name == name).collect()
    }

    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `(namespace, local name, text)` of each child.
    fn fields(&self) -> Vec<(&str, &str, &str)> {
        self.children
            .iter()
            .map(|c| (c.ns.as_str(), c.name.as_str(), c.text.as_str()))
            .collect()
    }
}

/// Parses a whole document with namespace resolution; panics on anything
/// that is not well-formed, or an unbound prefix.
fn parse_xml(text: &str) -> Node {
    let mut reader = NsReader::from_str(text);
    let mut stack: Vec<Node> = Vec::new();
    let mut root = None;
    let open = |reader: &NsReader<&[u8]>, e: &quick_xml::events::BytesStart<'_>| {
        let (res, local) = reader.resolver().resolve_element(e.name());
        let ns = match res {
            ResolveResult::Bound(ns) => ns.as_ref().to_string(),
            ResolveResult::Unbound => String::new(),
            ResolveResult::Unknown(p) => panic!("unbound prefix {p:?} in {text}"),
        };
        let attrs = e
            .attributes()
            .map(|a| {
                let a = a.unwrap();
                (
                    a.key.as_ref().to_string(),
                    a.normalized_value(XmlVersion::Implicit1_0)
                        .unwrap()
                        .into_owned(),
                )
            })
            .collect();
        Node {
            ns,
            name: local.as_ref().to_string(),
            attrs,
            text: String::new(),
            children: Vec::new(),
        }
    };
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) => {
                let n = open(&reader, &e);
                stack.push(n);
            }
            Event::Empty(e) => {
                let n = open(&reader, &e);
                match stack.last_mut() {
                    Some(p) => p.children.push(n),
                    None => root = Some(n),
                }
            }
            Event::End(_) => {
                let n = stack.pop().unwrap();
                match stack.last_mut() {
                    Some(p) => p.children.push(n),
                    None => root = Some(n),
                }
            }
            Event::Text(t) => {
                if let Some(n) = stack.last_mut() {
                    n.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let s = match r.resolve_char_ref().unwrap() {
                    Some(c) => c.to_string(),
                    None => match r.as_ref() {
                        "amp" => "&",
                        "lt" => "<",
                        "gt" => ">",
                        "quot" => "\"",
                        "apos" => "'",
                        other => panic!("entity {other}"),
                    }
                    .to_string(),
                };
                if let Some(n) = stack.last_mut() {
                    n.text.push_str(&s);
                }
            }
            Event::Eof => break,
            Event::Decl(_) => panic!("the reference writes no XML declaration"),
            _ => {}
        }
    }
    assert!(stack.is_empty(), "unclosed elements in {text}");
    let root = root.unwrap();
    assert_eq!((root.ns.as_str(), root.name.as_str()), (OAI, "OAI-PMH"));
    root
}

const FULL: &str = r#"tosca_definitions_version: tosca_simple_yaml_1_0
metadata:
  template_name: K8s
  display_name: Deploy a Kubernetes <cluster> & more
  template_author: Miguel Caballer
  creation_date: 2023-05-10
  template_version: "1.2.0"
  description: A cluster
  tag: beta
  publisher: GRyCAP
  subject: Cloud
  related_identifier: 10.1234/x
  childs:
    - a.yml
topology_template:
  node_templates: {}
"#;

const PLAIN: &str = "metadata:\n  display_name: Plain VM\ntopology_template: {}\n";

const OLD: &str = "metadata:\n  display_name: Old one\n  creation_date: 2021-01-31\n";

/// A catalogue of three templates (plus files that are not templates) and
/// a server publishing it.
fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("templates");
    std::fs::create_dir_all(t.join("sub")).unwrap();
    std::fs::write(t.join("k8s.yaml"), FULL).unwrap();
    std::fs::write(t.join("sub/plain.yml"), PLAIN).unwrap();
    std::fs::write(t.join("old.yaml"), OLD).unwrap();
    std::fs::write(t.join("README.md"), "# not a template").unwrap();
    std::fs::write(t.join(".hidden.yaml"), "not: [a template").unwrap();
    let cfg = format!(
        "OAIPMH_REPO_BASE_IDENTIFIER_URL = {BASE_ID}\nOAIPMH_REPO_NAME = IM templates\n\
         OAIPMH_REPO_DESCRIPTION = The catalogue\nOAIPMH_REPO_ADMIN_EMAIL = admin@example.org\n\
         OAIPMH_REPO_DIR = {}",
        t.display()
    );
    Server::start_in(dir, &cfg)
}

async fn get(s: &Server, query: &str) -> Resp {
    req(&s.base, "GET", &format!("/oai?{query}"), &[], None).await
}

/// The parsed answer of a GET, after checking status and media type.
async fn oai(s: &Server, query: &str) -> Node {
    let r = get(s, query).await;
    assert_eq!(
        (r.status, r.content_type.as_str()),
        (200, "text/xml; charset=utf-8"),
        "{query}: {}",
        r.body
    );
    parse_xml(&r.body)
}

/// The code of the answer's error, checking the `request` element.
fn error_code(root: &Node) -> &str {
    root.child("error").attr("code").unwrap()
}

#[tokio::test]
async fn identify_describes_the_repository_with_a_response_date_and_the_request() {
    let s = start();
    let root = oai(&s, "verb=Identify").await;
    let date = &root.child("responseDate").text;
    assert!(
        date.len() == 20 && date.ends_with('Z') && date.as_bytes()[10] == b'T',
        "{date}"
    );
    let request = root.child("request");
    assert_eq!(request.text, format!("{}/oai", s.base));
    assert_eq!(request.attrs, vec![("verb".into(), "Identify".into())]);
    let id = root.child("Identify");
    assert_eq!(
        id.fields()
            .iter()
            .map(|(_, n, t)| (*n, *t))
            .collect::<Vec<_>>(),
        vec![
            ("repositoryName", "IM templates"),
            ("baseURL", &*format!("{}/oai", s.base)),
            ("protocolVersion", "2.0"),
            ("earliestDatestamp", "2000-01-01"),
            ("deletedRecord", "no"),
            ("granularity", "YYYY-MM-DD"),
            ("adminEmail", "admin@example.org"),
        ]
    );
    assert!(id.children.iter().all(|c| c.ns == OAI));
}

#[tokio::test]
async fn list_metadata_formats_offers_dublin_core_openaire_and_datacite() {
    let s = start();
    for q in [
        "verb=ListMetadataFormats".to_string(),
        format!("verb=ListMetadataFormats&identifier={BASE_ID}k8s.yaml"),
    ] {
        let root = oai(&s, &q).await;
        let formats: Vec<(String, String)> = root
            .child("ListMetadataFormats")
            .all("metadataFormat")
            .iter()
            .map(|f| {
                (
                    f.child("metadataPrefix").text.clone(),
                    f.child("metadataNamespace").text.clone(),
                )
            })
            .collect();
        assert_eq!(
            formats,
            vec![
                ("oai_dc".into(), OAI_DC.into()),
                ("oai_openaire".into(), OAIRE.into()),
                ("oai_datacite".into(), DATACITE.into()),
            ],
            "{q}"
        );
    }
    let root = oai(&s, "verb=ListMetadataFormats&identifier=nope").await;
    assert_eq!(error_code(&root), "idDoesNotExist");
    assert_eq!(root.child("request").attr("identifier"), Some("nope"));
}

#[tokio::test]
async fn list_identifiers_gives_every_template_by_path_with_its_datestamp() {
    let s = start();
    let root = oai(&s, "verb=ListIdentifiers&metadataPrefix=oai_dc").await;
    let headers: Vec<(String, String)> = root
        .child("ListIdentifiers")
        .all("header")
        .iter()
        .map(|h| {
            (
                h.child("identifier").text.clone(),
                h.child("datestamp").text.clone(),
            )
        })
        .collect();
    assert_eq!(
        headers,
        vec![
            (format!("{BASE_ID}k8s.yaml"), "2023-05-10".to_string()),
            (format!("{BASE_ID}old.yaml"), "2021-01-31".to_string()),
            (format!("{BASE_ID}sub/plain.yml"), "2000-01-01".to_string()),
        ]
    );
    // from / until select by creation date (a template without one has the
    // earliest datestamp).
    let ids = |root: &Node| -> Vec<String> {
        root.child("ListIdentifiers")
            .all("header")
            .iter()
            .map(|h| h.child("identifier").text.clone())
            .collect()
    };
    let root = oai(
        &s,
        "verb=ListIdentifiers&metadataPrefix=oai_dc&from=2022-01-01",
    )
    .await;
    assert_eq!(ids(&root), vec![format!("{BASE_ID}k8s.yaml")]);
    assert_eq!(root.child("request").attr("from"), Some("2022-01-01"));
    let root = oai(
        &s,
        "verb=ListIdentifiers&metadataPrefix=oai_dc&until=2021-01-31",
    )
    .await;
    assert_eq!(
        ids(&root),
        vec![
            format!("{BASE_ID}old.yaml"),
            format!("{BASE_ID}sub/plain.yml")
        ]
    );
    let root = oai(
        &s,
        "verb=ListIdentifiers&metadataPrefix=oai_dc&from=2021-01-31&until=2021-01-31",
    )
    .await;
    assert_eq!(ids(&root), vec![format!("{BASE_ID}old.yaml")]);
}

#[tokio::test]
async fn list_records_maps_the_metadata_into_each_format() {
    let s = start();
    let root = oai(&s, "verb=ListRecords&metadataPrefix=oai_dc").await;
    let records = root.child("ListRecords").all("record");
    assert_eq!(records.len(), 3);
    let k8s = records[0];
    assert_eq!(
        k8s.child("header").child("identifier").text,
        format!("{BASE_ID}k8s.yaml")
    );
    let dc = k8s.child("metadata").child("dc");
    assert_eq!(dc.ns, OAI_DC);
    let id = format!("{BASE_ID}k8s.yaml");
    assert_eq!(
        dc.fields(),
        vec![
            (DC, "title", "Deploy a Kubernetes <cluster> & more"),
            (DC, "creator", "Miguel Caballer"),
            (DC, "date", "2023-05-10"),
            (DC, "version", "1.2.0"),
            (DC, "description", "A cluster"),
            (DC, "subject", "beta"),
            (DC, "publisher", "GRyCAP"),
            (DC, "identifier", id.as_str()),
            (DC, "resourceType", "software"),
            (DC, "rights", "openaccess"),
        ]
    );
    // A record without a creation date has the earliest datestamp (the
    // reference writes the word "datestamp" there).
    assert_eq!(
        records[2].child("header").child("datestamp").text,
        "2000-01-01"
    );
    assert_eq!(
        records[2].child("metadata").child("dc").fields()[0],
        (DC, "title", "Plain VM")
    );

    let root = oai(&s, "verb=ListRecords&metadataPrefix=oai_datacite").await;
    let res = root.child("ListRecords").all("record")[0]
        .child("metadata")
        .child("resource");
    assert_eq!(res.ns, DATACITE);
    let creator = res.child("creator");
    assert_eq!(creator.child("creatorName").text, "Miguel Caballer");
    assert_eq!(res.child("date").attr("dateType"), Some("Issued"));
    assert_eq!(res.child("identifier").attr("identifierType"), Some("URN"));
    let rt = res.child("resourceType");
    assert_eq!((rt.ns.as_str(), rt.text.as_str()), (OAIRE, "software"));
    assert_eq!(rt.attr("resourceTypeGeneral"), Some("software"));
    let rel = res.child("relatedIdentifier");
    assert_eq!(
        (rel.text.as_str(), rel.attr("relationType")),
        ("10.1234/x", Some("isContinuedBy"))
    );
    assert!(res.all("subject").is_empty(), "tag is Dublin Core only");

    let root = oai(&s, "verb=ListRecords&metadataPrefix=oai_openaire").await;
    let res = root.child("ListRecords").all("record")[0]
        .child("metadata")
        .child("resource");
    assert_eq!(res.ns, OAIRE);
    let v = res.child("version");
    assert_eq!((v.ns.as_str(), v.text.as_str()), (OAIRE, "1.2.0"));
    let subj = res.child("subject");
    assert_eq!((subj.ns.as_str(), subj.text.as_str()), (OAIRE, "Cloud"));
    let rights = res.child("rights");
    assert_eq!(
        (rights.ns.as_str(), rights.attr("rightsURI")),
        (DATACITE, Some("http://purl.org/coar/access_right/c_abf2"))
    );
}

#[tokio::test]
async fn get_record_answers_one_template_and_post_forms_ask_the_same() {
    let s = start();
    let q = format!("verb=GetRecord&metadataPrefix=oai_dc&identifier={BASE_ID}old.yaml");
    let root = oai(&s, &q).await;
    let rec = root.child("GetRecord").child("record");
    assert_eq!(rec.child("header").child("datestamp").text, "2021-01-31");
    assert_eq!(
        rec.child("metadata").child("dc").child("title").text,
        "Old one"
    );
    let req_el = root.child("request");
    assert_eq!(
        req_el.attrs,
        vec![
            ("verb".into(), "GetRecord".into()),
            ("metadataPrefix".into(), "oai_dc".into()),
            ("identifier".into(), format!("{BASE_ID}old.yaml")),
        ]
    );

    // POST: the form alone, and the query merged with the form.
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let r = req(&s.base, "POST", "/oai", &form, Some(&q)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let posted = parse_xml(&r.body);
    assert_eq!(
        posted
            .child("GetRecord")
            .child("record")
            .child("header")
            .child("identifier")
            .text,
        format!("{BASE_ID}old.yaml")
    );
    let r = req(
        &s.base,
        "POST",
        "/oai?verb=GetRecord",
        &form,
        Some(&format!(
            "metadataPrefix=oai_dc&identifier={BASE_ID}k8s.yaml"
        )),
    )
    .await;
    let posted = parse_xml(&r.body);
    assert_eq!(
        posted
            .child("GetRecord")
            .child("record")
            .child("header")
            .child("datestamp")
            .text,
        "2023-05-10"
    );
    // A POST body that is not a form is not read: no verb.
    let r = req(&s.base, "POST", "/oai", &[], Some("verb=Identify")).await;
    assert_eq!(error_code(&parse_xml(&r.body)), "badVerb");
}

#[tokio::test]
async fn every_protocol_error_is_an_error_element_with_status_200() {
    let s = start();
    // (query, error, whether `request` carries the arguments: not for
    // badVerb and for a badArgument found before the verb is known, the
    // protocol's rule).
    let cases: &[(&str, &str, bool)] = &[
        ("", "badVerb", false),
        ("verb=", "badVerb", false),
        ("verb=Nonsense", "badVerb", false),
        ("verb=Identify&verb=Identify", "badVerb", false),
        ("verb=Identify&foo=1", "badArgument", false),
        ("verb=Identify&metadataPrefix=oai_dc", "badArgument", false),
        (
            "verb=ListIdentifiers&metadataPrefix=oai_dc&metadataPrefix=oai_dc",
            "badArgument",
            false,
        ),
        ("verb=ListIdentifiers", "badArgument", true),
        ("verb=ListRecords&metadataPrefix=", "badArgument", true),
        (
            "verb=ListRecords&metadataPrefix=oai_dc&from=2023-1-01",
            "badArgument",
            true,
        ),
        (
            "verb=ListRecords&metadataPrefix=oai_dc&until=2023-02-30",
            "badArgument",
            true,
        ),
        (
            "verb=ListRecords&metadataPrefix=oai_dc&from=",
            "badArgument",
            true,
        ),
        ("verb=GetRecord&metadataPrefix=oai_dc", "badArgument", true),
        ("verb=GetRecord&identifier=x", "badArgument", true),
        (
            "verb=ListRecords&metadataPrefix=marc21",
            "cannotDisseminateFormat",
            true,
        ),
        (
            "verb=ListIdentifiers&metadataPrefix=marc21",
            "cannotDisseminateFormat",
            true,
        ),
        (
            "verb=GetRecord&metadataPrefix=marc21&identifier=x",
            "cannotDisseminateFormat",
            true,
        ),
        (
            "verb=GetRecord&metadataPrefix=oai_dc&identifier=x",
            "idDoesNotExist",
            true,
        ),
        (
            "verb=ListRecords&metadataPrefix=oai_dc&from=2030-01-01",
            "noRecordsMatch",
            true,
        ),
        (
            "verb=ListIdentifiers&metadataPrefix=oai_dc&until=1999-12-31",
            "noRecordsMatch",
            true,
        ),
        (
            "verb=ListRecords&metadataPrefix=oai_dc&set=x",
            "noSetHierarchy",
            true,
        ),
        (
            "verb=ListIdentifiers&metadataPrefix=oai_dc&set=x",
            "noSetHierarchy",
            true,
        ),
        ("verb=ListSets", "noSetHierarchy", true),
        (
            "verb=ListRecords&resumptionToken=abc",
            "badResumptionToken",
            true,
        ),
        (
            "verb=ListIdentifiers&resumptionToken=abc",
            "badResumptionToken",
            true,
        ),
    ];
    for (q, code, echoed) in cases {
        let root = oai(&s, q).await;
        assert_eq!(error_code(&root), *code, "{q}");
        let names: Vec<&str> = root.children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["responseDate", "request", "error"], "{q}");
        let request = root.child("request");
        assert_eq!(request.text, format!("{}/oai", s.base), "{q}");
        assert_eq!(
            request.attr("verb").is_some(),
            *echoed,
            "{q}: {:?}",
            request.attrs
        );
    }
    // The same through POST.
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    for (q, code, _) in cases.iter().filter(|(q, _, _)| !q.is_empty()) {
        let r = req(&s.base, "POST", "/oai", &form, Some(q)).await;
        assert_eq!(r.status, 200);
        assert_eq!(error_code(&parse_xml(&r.body)), *code, "POST {q}");
    }
}

#[tokio::test]
async fn a_catalogue_that_cannot_be_read_is_a_400_naming_the_template() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("templates");
    std::fs::create_dir_all(&t).unwrap();
    std::fs::write(t.join("good.yaml"), PLAIN).unwrap();
    std::fs::write(t.join("nometa.yaml"), "topology_template: {}\n").unwrap();
    let cfg = format!(
        "OAIPMH_REPO_BASE_IDENTIFIER_URL = {BASE_ID}\nOAIPMH_REPO_NAME = n\n\
         OAIPMH_REPO_DESCRIPTION = d\nOAIPMH_REPO_DIR = {}",
        t.display()
    );
    let s = Server::start_in(dir, &cfg);
    let r = get(&s, "verb=Identify").await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (
            400,
            "Error getting metadata from TOSCA templates: nometa.yaml: no 'metadata' mapping"
        )
    );
    std::fs::write(t.join("nometa.yaml"), "metadata: [unclosed\n").unwrap();
    let r = req(
        &s.base,
        "GET",
        "/oai?verb=Identify",
        &[("Accept", "application/json")],
        None,
    )
    .await;
    assert_eq!(r.status, 400);
    let msg = r.json()["message"].as_str().unwrap().to_string();
    assert!(
        msg.starts_with("Error getting metadata from TOSCA templates: nometa.yaml: "),
        "{msg}"
    );
    // Fixed on disk: read again on the next request.
    std::fs::remove_file(t.join("nometa.yaml")).unwrap();
    let r = get(&s, "verb=ListIdentifiers&metadataPrefix=oai_dc").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let root = parse_xml(&r.body);
    assert_eq!(root.child("ListIdentifiers").all("header").len(), 1);
}

#[tokio::test]
async fn a_repository_url_that_is_no_github_folder_is_a_400_without_network() {
    let s = Server::start(
        "OAIPMH_REPO_BASE_IDENTIFIER_URL = https://example.org/templates/\n\
         OAIPMH_REPO_NAME = n\nOAIPMH_REPO_DESCRIPTION = d",
    );
    let r = get(&s, "verb=Identify").await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        "Error getting metadata from TOSCA templates: https://example.org/templates/ is not a GitHub folder URL (https://github.com/OWNER/REPO/tree/BRANCH/PATH)"
    );
    // Without a name the endpoint stays disabled.
    let s = Server::start(&format!(
        "OAIPMH_REPO_BASE_IDENTIFIER_URL = {BASE_ID}\nOAIPMH_REPO_DESCRIPTION = d"
    ));
    let r = get(&s, "verb=Identify").await;
    assert_eq!((r.status, r.body.as_str()), (400, "OAI-PMH not enabled."));
}
