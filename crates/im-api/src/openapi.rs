//! `GET /openapi.json`: a hand-written OpenAPI 3.1 description of every
//! route, with the statuses, media types and parameter grammars each one
//! really answers and accepts. Kept next to the router it describes; the tests
//! check that every route of the router is in it, and
//! `crates/im/tests/schemathesis.rs` checks the server against it.
//!
//! Where the router has a fixed path segment (`/reconfigure`,
//! `/authorization`, `/clouds/{cloudid}/images`) the document has that path;
//! a path parameter restricted to a few values by several routes of one
//! path shape (`GET …/{prop}` and `PUT …/{op}`) is one templated path whose
//! operations each list their values (OpenAPI forbids two templates of the
//! same shape).

use serde_json::{Map, Value, json};

/// The checklist's RADL `R1`: one Dummy VM, what the examples create.
const R1: &str = "network publica (outbound = 'yes')\nsystem front (cpu.count>=1 and memory.size>=512m and net_interface.0.connection = 'publica' and disk.0.os.name = 'linux' and disk.0.image.url = 'mock0://linux.for.ev.er')\ndeploy front 1\ncontextualize ()";

/// pydantic's lax booleans, case-insensitive: `1 true t yes y on` and
/// `0 false f no n off` (anything else, the empty string too, is a 422).
const LAX_BOOL: &str = "^(?:[01]|[tT](?:[rR][uU][eE])?|[fF](?:[aA][lL][sS][eE])?|[yY](?:[eE][sS])?|[nN][oO]?|[oO](?:[nN]|[fF][fF]))$";

/// `vm_list`: comma-separated integers as Python's `int()` reads them (sign,
/// spaces, `_` between digits); empty means every VM.
const VM_LIST: &str =
    "^(?:|[ \\t]*[+-]?[0-9]+(?:_[0-9]+)*[ \\t]*(?:,[ \\t]*[+-]?[0-9]+(?:_[0-9]+)*[ \\t]*)*)$";

/// `filters` of the images: `k1=v1,k2=v2` (each item exactly one `=`), or empty.
const FILTERS: &str = "^(?:|[^,=]*=[^,=]*(?:,[^,=]*=[^,=]*)*)$";

/// The dates of `/stats` (`init_date`, `end_date`): empty, or a real date
/// `YYYY-MM-DD` (`/` may replace `-`; month and day may have one digit, the
/// day a leading space, as `strptime("%Y-%m-%d")` reads them).
fn date_pattern() -> String {
    let year = "(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])";
    let leap = "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)";
    let s = "[-/]";
    let d28 = "(?:1[0-9]|2[0-8]|0[1-9]|[1-9]| [1-9])";
    let d30 = "(?:30|[12][0-9]|0[1-9]|[1-9]| [1-9])";
    let d31 = "(?:3[01]|[12][0-9]|0[1-9]|[1-9]| [1-9])";
    format!(
        "^(?:|{year}{s}(?:(?:0?[13578]|1[02]){s}{d31}|(?:0?[469]|11){s}{d30}|0?2{s}{d28})|{leap}{s}0?2{s}29)$"
    )
}

/// The error representations of `return_error` (by `Accept`).
fn error_content() -> Value {
    json!({
        "text/plain": {"schema": {"type": "string"}},
        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}},
        "text/html": {"schema": {"type": "string"}}
    })
}

fn status_text(code: u16) -> &'static str {
    match code {
        400 => "Bad request: invalid data or a failed operation (message says why)",
        401 => "No authentication data, or invalid credentials",
        403 => "Access not granted, or the function is disabled (BOOT_MODE)",
        404 => "Infrastructure or VM not found (or deleted)",
        409 => "The infrastructure is in a state that forbids the operation",
        413 => "Request body too large",
        415 => "Unsupported Content-Type or Accept",
        416 => "Range not satisfiable",
        422 => "Invalid path or query parameter",
        501 => "Not implemented by this version",
        503 => "The database is not available",
        504 => "Operation timed out (REST_BLOCKING_CALL_TIMEOUT); it goes on",
        _ => "Error",
    }
}

/// A `responses` object: the 200 with its media types and the error codes.
fn responses(ok: &str, ok_content: Value, errors: &[u16]) -> Value {
    let mut r = Map::new();
    let mut ok_obj = json!({ "description": ok });
    if ok_content.as_object().is_some_and(|o| !o.is_empty()) {
        ok_obj["content"] = ok_content;
    }
    r.insert("200".into(), ok_obj);
    for code in errors {
        let content = match code {
            422 => {
                json!({"application/json": {"schema": {"$ref": "#/components/schemas/ValidationErrors"}}})
            }
            // A path parameter holding `%2F` is routed as several segments
            // (the reference's percent-decoding): it may reach no route.
            404 => {
                let mut c = error_content();
                c["application/json"]["schema"] = json!({"anyOf": [
                    {"$ref": "#/components/schemas/Error"}, {"$ref": "#/components/schemas/Detail"}]});
                c
            }
            _ => error_content(),
        };
        r.insert(
            code.to_string(),
            json!({"description": status_text(*code), "content": content}),
        );
    }
    Value::Object(r)
}

fn with_infid_header(mut r: Value, when: &str) -> Value {
    r["200"]["headers"] = json!({"InfID": {
        "description": format!("The infrastructure id ({when})"),
        "schema": {"type": "string"}}});
    r
}

/// Links from a response carrying the new infrastructure's id in `InfID`
/// to the operations on it. (The ids of its VMs are not in that answer.)
fn infrastructure_links() -> Value {
    let inf = json!({"infid": "$response.header.InfID"});
    let mut links = Map::new();
    for (name, op) in [
        ("GetInfrastructureInfo", "get_infrastructure_info"),
        ("GetInfrastructureProperty", "get_infrastructure_property"),
        ("GetOwners", "get_infrastructure_owners"),
        ("ChangeOwners", "change_infrastructure_auth"),
        ("AddResource", "add_resource"),
        ("Reconfigure", "reconfigure_infrastructure"),
        ("Operate", "operate_infrastructure"),
        ("Destroy", "destroy_infrastructure"),
    ] {
        links.insert(name.into(), json!({"operationId": op, "parameters": inf}));
    }
    Value::Object(links)
}

fn with_links(mut r: Value) -> Value {
    r["200"]["links"] = infrastructure_links();
    r
}

fn empty_text() -> Value {
    json!({"text/plain": {"schema": {"type": "string", "maxLength": 0}}})
}

fn text_or_json(field: &str, value_schema: Value) -> Value {
    json!({
        "text/plain": {"schema": {"type": "string"}},
        "application/json": {"schema": {"type": "object", "required": [field],
            "properties": {field: value_schema}}}
    })
}

fn uri_list() -> Value {
    json!({
        "text/uri-list": {"schema": {"type": "string", "description": "URIs, one per line"}},
        "application/json": {"schema": {"$ref": "#/components/schemas/UriList"}}
    })
}

fn one_uri() -> Value {
    json!({
        "text/uri-list": {"schema": {"type": "string", "format": "uri"}},
        "application/json": {"schema": {"$ref": "#/components/schemas/Uri"}}
    })
}

fn radl_repr() -> Value {
    json!({
        "text/plain": {"schema": {"type": "string", "description": "RADL"}},
        "application/json": {"schema": {"type": "object", "required": ["radl"],
            "properties": {"radl": {"$ref": "#/components/schemas/JsonRadl"}}}}
    })
}

fn flag(name: &str, default: bool, what: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": what,
           "schema": {"$ref": "#/components/schemas/LaxBool", "default": default}})
}

fn query(name: &str, what: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": what,
           "schema": schema})
}

/// A path parameter: one non-empty path segment (an encoded `/` separates
/// segments, as in the reference, so it leads to another route).
fn path(name: &str, what: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": what,
           "schema": {"type": "string", "pattern": "^[^/]+$"}})
}

fn literal(name: &str, what: &str, values: &[&str]) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": what,
           "schema": {"type": "string", "enum": values}})
}

fn deployment_body(required: bool) -> Value {
    json!({"required": required, "description": "RADL (text/plain or no Content-Type), JSON RADL (application/json) or TOSCA (text/yaml, text/x-yaml, application/yaml). An empty body is an empty RADL. A document that does not parse, or that the operation cannot use, is a 400 that says why.",
    "content": {
        "text/plain": {"schema": {"type": "string"}, "example": R1},
        "application/json": {"schema": {"$ref": "#/components/schemas/JsonRadl"},
            "example": [{"class": "network", "id": "publica", "outbound": "yes"},
                {"class": "system", "id": "front", "cpu.count_min": 1, "memory.size_min": 536870912,
                 "net_interface.0.connection": "publica", "disk.0.os.name": "linux",
                 "disk.0.image.url": "mock0://linux.for.ev.er"},
                {"class": "deploy", "system": "front", "vm_number": 1}]},
        "text/yaml": {"schema": {"type": "string"}},
        "text/x-yaml": {"schema": {"type": "string"}},
        "application/yaml": {"schema": {"type": "string"}}
    }})
}

struct Op {
    summary: &'static str,
    tag: &'static str,
    params: Vec<Value>,
    body: Option<Value>,
    responses: Value,
    auth: bool,
}

impl Op {
    fn into_json(self, id: &str) -> Value {
        let mut o = json!({
            "operationId": id,
            "summary": self.summary,
            "tags": [self.tag],
            "parameters": self.params,
            "responses": self.responses,
        });
        if let Some(b) = self.body {
            o["requestBody"] = b;
        }
        if !self.auth {
            o["security"] = json!([]);
        }
        o
    }
}

fn op(
    summary: &'static str,
    tag: &'static str,
    params: Vec<Value>,
    body: Option<Value>,
    responses: Value,
) -> Op {
    Op {
        summary,
        tag,
        params,
        body,
        responses,
        auth: true,
    }
}

fn public(summary: &'static str, params: Vec<Value>, responses: Value) -> Op {
    Op {
        summary,
        tag: "Service",
        params,
        body: None,
        responses,
        auth: false,
    }
}

/// The JSON representations of `GET /infrastructures/{infid}/{prop}`.
fn infrastructure_property_json() -> Value {
    let string_field = |f: &str| {
        json!({"type": "object", "required": [f], "additionalProperties": false,
               "properties": {f: {"type": "string"}}})
    };
    json!({"anyOf": [
        string_field("contmsg"),
        string_field("radl"),
        string_field("tosca"),
        {"$ref": "#/components/schemas/InfrastructureState"},
        {"type": "object", "required": ["outputs"], "additionalProperties": false,
         "properties": {"outputs": {"type": "object"}}},
        {"type": "object", "required": ["data"], "additionalProperties": false,
         "properties": {"data": {"type": "string", "description": "The exported infrastructure: a JSON document, as a string"}}}
    ]})
}

/// Every operation: (path, method, operationId, operation).
fn operations() -> Vec<(&'static str, &'static str, &'static str, Op)> {
    let inf = || path("infid", "Infrastructure id");
    let vm = || path("vmid", "VM id (a comma-separated list for DELETE)");
    vec![
        (
            "/",
            "get",
            "home",
            public(
                "This page",
                vec![],
                responses(
                    "A page linking to this document",
                    json!({"text/html": {"schema": {"type": "string"}}}),
                    &[],
                ),
            ),
        ),
        (
            "/openapi.json",
            "get",
            "openapi",
            public(
                "This OpenAPI document",
                vec![],
                responses(
                    "OpenAPI 3.1",
                    json!({"application/json": {"schema": {"type": "object"}}}),
                    &[],
                ),
            ),
        ),
        (
            "/infrastructures",
            "get",
            "list_infrastructures",
            op(
                "List the caller's infrastructures (newest first)",
                "Infrastructures",
                vec![query(
                    "filter",
                    "Regular expression searched in each infrastructure's RADL and TOSCA (an invalid one is a 400)",
                    json!({"type": "string"}),
                )],
                None,
                responses("Infrastructure URIs", uri_list(), &[400, 401, 503]),
            ),
        ),
        (
            "/infrastructures",
            "post",
            "create_infrastructure",
            op(
                "Create an infrastructure (or estimate its resources)",
                "Infrastructures",
                vec![
                    flag("async", false, "Return at once; deploy in the background"),
                    flag(
                        "dry_run",
                        false,
                        "Only estimate the resources (JSON answer, nothing created)",
                    ),
                ],
                Some(deployment_body(false)),
                with_links(with_infid_header(
                    responses(
                        "The new infrastructure's URI; with dry_run, the estimate per cloud",
                        json!({
                            "text/uri-list": {"schema": {"type": "string", "format": "uri"}},
                            "application/json": {"schema": {"anyOf": [{"$ref": "#/components/schemas/Uri"}, {"$ref": "#/components/schemas/Estimate"}]}}
                        }),
                        &[400, 401, 403, 413, 415, 422, 503, 504],
                    ),
                    "not with dry_run",
                )),
            ),
        ),
        (
            "/infrastructures",
            "put",
            "import_infrastructure",
            op(
                "Import an exported infrastructure (keeps its id)",
                "Infrastructures",
                vec![],
                Some(
                    json!({"required": true, "description": "The `data` of GET /infrastructures/{infid}/data: the exported infrastructure (a JSON object), or that document as a JSON string (what `im_client export` writes). Data that is not an export is a 400 that says why.",
                "content": {"application/json": {"schema": {"anyOf": [{"$ref": "#/components/schemas/ExportedInfrastructure"}, {"type": "string"}]}}}}),
                ),
                responses(
                    "The imported infrastructure's URI",
                    one_uri(),
                    &[400, 401, 403, 413, 503],
                ),
            ),
        ),
        (
            "/infrastructures/{infid}",
            "get",
            "get_infrastructure_info",
            op(
                "URIs of the infrastructure's VMs",
                "Infrastructures",
                vec![inf()],
                None,
                responses("VM URIs", uri_list(), &[400, 401, 403, 404, 503]),
            ),
        ),
        (
            "/infrastructures/{infid}",
            "delete",
            "destroy_infrastructure",
            op(
                "Destroy an infrastructure",
                "Infrastructures",
                vec![
                    inf(),
                    flag("force", false, "Forget it even if a cloud fails"),
                    flag("async", false, "Return at once"),
                ],
                None,
                responses(
                    "Destroyed (or being destroyed)",
                    empty_text(),
                    &[400, 401, 403, 404, 409, 422, 503, 504],
                ),
            ),
        ),
        (
            "/infrastructures/{infid}",
            "post",
            "add_resource",
            op(
                "Add VMs to an infrastructure; a TOSCA template is merged into the stored one and scales it to its counts (VMs removed first; 404 `Error deleting resources [ids] (removed n)` when nothing was added and fewer VMs went than asked; a reconfiguration when nothing changed)",
                "Infrastructures",
                vec![inf(), flag("context", true, "Contextualize afterwards")],
                Some(deployment_body(false)),
                with_infid_header(
                    responses(
                        "URIs of the new VMs",
                        uri_list(),
                        &[400, 401, 403, 404, 413, 415, 422, 503, 504],
                    ),
                    "when context is true",
                ),
            ),
        ),
        (
            "/infrastructures/{infid}/{prop}",
            "get",
            "get_infrastructure_property",
            op(
                "A property of an infrastructure (the owners: GET /infrastructures/{infid}/authorization)",
                "Infrastructures",
                vec![
                    inf(),
                    literal(
                        "prop",
                        "The property",
                        &["contmsg", "radl", "tosca", "state", "outputs", "data"],
                    ),
                    flag(
                        "headeronly",
                        false,
                        "contmsg: only the infrastructure's log",
                    ),
                    flag(
                        "delete",
                        false,
                        "data: forget the infrastructure after exporting it (its VMs stay)",
                    ),
                ],
                None,
                responses(
                    "contmsg, radl, tosca: text or {prop: text}; state, outputs, data: JSON only (text is a 415); tosca and outputs of an infrastructure not made from TOSCA: 403",
                    json!({
                        "text/plain": {"schema": {"type": "string"}},
                        "application/json": {"schema": infrastructure_property_json()}
                    }),
                    &[400, 401, 403, 404, 415, 422, 503, 504],
                ),
            ),
        ),
        (
            "/infrastructures/{infid}/{prop}",
            "put",
            "operate_infrastructure",
            op(
                "Start or stop every VM",
                "Infrastructures",
                vec![inf(), literal("prop", "The operation", &["start", "stop"])],
                None,
                responses("Done", empty_text(), &[400, 401, 403, 404, 422, 503, 504]),
            ),
        ),
        (
            "/infrastructures/{infid}/reconfigure",
            "put",
            "reconfigure_infrastructure",
            op(
                "Contextualize again, optionally with new configure sections",
                "Infrastructures",
                vec![
                    inf(),
                    query(
                        "vm_list",
                        "Comma-separated VM ids to reconfigure (anything else is a 400)",
                        json!({"type": "string", "pattern": VM_LIST}),
                    ),
                ],
                Some(deployment_body(false)),
                with_infid_header(
                    responses(
                        "Reconfiguration started",
                        empty_text(),
                        &[400, 401, 403, 404, 413, 415, 503, 504],
                    ),
                    "always",
                ),
            ),
        ),
        (
            "/infrastructures/{infid}/authorization",
            "get",
            "get_infrastructure_owners",
            op(
                "The user names of the infrastructure's owners",
                "Infrastructures",
                vec![
                    inf(),
                    flag("headeronly", false, "Ignored"),
                    flag("delete", false, "Ignored"),
                ],
                None,
                responses(
                    "One name per line, or {\"authorization\": [...]}",
                    text_or_json(
                        "authorization",
                        json!({"type": "array", "items": {"type": "string"}}),
                    ),
                    &[400, 401, 403, 404, 415, 422, 503, 504],
                ),
            ),
        ),
        (
            "/infrastructures/{infid}/authorization",
            "post",
            "change_infrastructure_auth",
            op(
                "Add an owner, or replace the owners",
                "Infrastructures",
                vec![
                    inf(),
                    flag(
                        "overwrite",
                        false,
                        "Replace the owners instead of adding one",
                    ),
                ],
                Some(
                    json!({"required": true, "description": "An IM auth item; `type` defaults to InfrastructureManager. Data the IM does not accept as credentials is a 400 that says why.",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AuthItem"},
                    "example": {"username": "user2", "password": "pass2"}}}}),
                ),
                responses(
                    "Done",
                    empty_text(),
                    &[400, 401, 403, 404, 413, 415, 422, 503, 504],
                ),
            ),
        ),
        (
            "/infrastructures/{infid}/vms/{vmid}",
            "get",
            "get_vm_info",
            op(
                "A VM's RADL",
                "VMs",
                vec![inf(), vm()],
                None,
                responses(
                    "The VM's networks and system",
                    radl_repr(),
                    &[400, 401, 403, 404, 503],
                ),
            ),
        ),
        (
            "/infrastructures/{infid}/vms/{vmid}",
            "delete",
            "remove_resource",
            op(
                "Remove VMs (vmid may be a comma-separated list)",
                "VMs",
                vec![
                    inf(),
                    vm(),
                    flag("context", true, "Contextualize afterwards"),
                ],
                None,
                responses(
                    "Removed",
                    empty_text(),
                    &[400, 401, 403, 404, 422, 503, 504],
                ),
            ),
        ),
        (
            "/infrastructures/{infid}/vms/{vmid}",
            "put",
            "alter_vm",
            op(
                "Change a VM's features (CPU, memory, ...)",
                "VMs",
                vec![inf(), vm()],
                Some(deployment_body(true)),
                responses(
                    "The VM's new RADL",
                    radl_repr(),
                    &[400, 401, 403, 404, 413, 415, 503, 504],
                ),
            ),
        ),
        (
            "/infrastructures/{infid}/vms/{vmid}/{prop}",
            "get",
            "get_vm_property",
            op(
                "A VM property: contmsg, command, or a RADL feature of its system",
                "VMs",
                vec![
                    inf(),
                    vm(),
                    path("prop", "Property name"),
                    query(
                        "step",
                        "command: the step of the reverse-SSH helper (1 or 2; others: 404)",
                        json!({"type": "integer", "default": 1}),
                    ),
                ],
                None,
                responses(
                    "The value: text, or {prop: value} (a number, a string or an object)",
                    json!({
                        "text/plain": {"schema": {"type": "string"}},
                        "application/json": {"schema": {"type": "object", "minProperties": 1, "maxProperties": 1}}
                    }),
                    &[400, 401, 403, 404, 415, 422, 503, 504],
                ),
            ),
        ),
        (
            "/infrastructures/{infid}/vms/{vmid}/{prop}",
            "put",
            "operate_vm",
            op(
                "Start, stop or reboot a VM",
                "VMs",
                vec![
                    inf(),
                    vm(),
                    literal("prop", "The operation", &["start", "stop", "reboot"]),
                ],
                None,
                responses("Done", empty_text(), &[400, 401, 403, 404, 422, 503, 504]),
            ),
        ),
        (
            "/infrastructures/{infid}/vms/{vmid}/disks/{disknum}/snapshot",
            "put",
            "create_disk_snapshot",
            op(
                "Snapshot a VM disk into an image",
                "VMs",
                vec![
                    inf(),
                    vm(),
                    json!({"name": "disknum", "in": "path", "required": true,
                        "description": "The disk number (a negative one or one beyond 2^32 - 1 is a 400)",
                        "schema": {"type": "integer", "minimum": 0, "maximum": 4294967295u64}}),
                    json!({"name": "image_name", "in": "query", "required": true, "schema": {"type": "string"}}),
                    flag(
                        "auto_delete",
                        false,
                        "Delete the image with the infrastructure",
                    ),
                ],
                None,
                responses(
                    "The new image's URL",
                    json!({"text/plain": {"schema": {"type": "string"}}}),
                    &[400, 401, 403, 404, 422, 503, 504],
                ),
            ),
        ),
        (
            "/clouds/{cloudid}/images",
            "get",
            "get_cloud_images",
            op(
                "Images of a cloud of the caller's auth data",
                "Clouds",
                vec![
                    path("cloudid", "The `id` of an auth item (another one is a 400)"),
                    query(
                        "filters",
                        "k1=v1,k2=v2",
                        json!({"type": "string", "pattern": FILTERS}),
                    ),
                ],
                None,
                responses(
                    "The images",
                    json!({"application/json": {"schema": {"type": "object", "required": ["images"],
                        "properties": {"images": {"type": "array", "items": {"type": "object",
                            "properties": {"uri": {"type": "string"}, "name": {"type": "string"}}}}}}}}),
                    &[400, 401, 415, 503, 504],
                ),
            ),
        ),
        (
            "/clouds/{cloudid}/quotas",
            "get",
            "get_cloud_quotas",
            op(
                "Quotas of a cloud of the caller's auth data",
                "Clouds",
                vec![path(
                    "cloudid",
                    "The `id` of an auth item (another one is a 400)",
                )],
                None,
                responses(
                    "The quotas, {resource: {\"used\", \"limit\"}}",
                    json!({"application/json": {"schema": {"type": "object", "required": ["quotas"],
                        "properties": {"quotas": {"type": "object"}}}}}),
                    &[400, 401, 415, 503, 504],
                ),
            ),
        ),
        (
            "/stats",
            "get",
            "get_stats",
            op(
                "Usage statistics of the caller's infrastructures (deleted ones included)",
                "Service",
                vec![
                    query(
                        "init_date",
                        "YYYY-MM-DD or YYYY/MM/DD (default 1970-01-01)",
                        json!({"type": "string", "pattern": date_pattern()}),
                    ),
                    query(
                        "end_date",
                        "YYYY-MM-DD or YYYY/MM/DD",
                        json!({"type": "string", "pattern": date_pattern()}),
                    ),
                ],
                None,
                responses(
                    "One row per infrastructure",
                    json!({
                        "application/json": {"schema": {"type": "object", "required": ["stats"], "properties": {"stats": {"type": "array", "items": {"$ref": "#/components/schemas/StatsRow"}}}}},
                        "text/csv": {"schema": {"type": "string"}}
                    }),
                    &[400, 401, 415, 503, 504],
                ),
            ),
        ),
        (
            "/oai",
            "get",
            "oai_get",
            public(
                "OAI-PMH 2.0 repository of TOSCA templates (query arguments verb, identifier, metadataPrefix, from, until, set, resumptionToken; protocol errors are <error> elements with status 200). 400 when not configured (OAIPMH_REPO_*) or when the templates cannot be read",
                vec![],
                responses(
                    "OAI-PMH XML",
                    json!({"text/xml": {"schema": {"type": "string"}}}),
                    &[400],
                ),
            ),
        ),
        (
            "/oai",
            "post",
            "oai_post",
            public(
                "OAI-PMH 2.0 repository of TOSCA templates: the query arguments merged with an application/x-www-form-urlencoded body. 400 when not configured (OAIPMH_REPO_*) or when the templates cannot be read",
                vec![],
                responses(
                    "OAI-PMH XML",
                    json!({"text/xml": {"schema": {"type": "string"}}}),
                    &[400],
                ),
            ),
        ),
        (
            "/version",
            "get",
            "get_version",
            public(
                "The IM API version",
                vec![],
                responses(
                    "2.0.0",
                    text_or_json("version", json!({"type": "string"})),
                    &[400],
                ),
            ),
        ),
        (
            "/health",
            "get",
            "get_health",
            public(
                "Whether this server can reach its database (not in the reference; for load balancers and orchestrators)",
                vec![],
                {
                    let mut r = responses(
                        "The database answers",
                        json!({"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}),
                        &[],
                    );
                    r["503"] = json!({"description": "The database does not answer (the reason is in `database`)",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}});
                    r
                },
            ),
        ),
        (
            "/metrics",
            "get",
            "get_metrics",
            public(
                "Prometheus metrics (text exposition 0.0.4; not in the reference): im_http_requests_total, im_http_request_duration_seconds, im_infrastructures, im_vms, im_database_up, im_leases_held and im_leases_open_work (per instance, when servers share a database)",
                vec![],
                responses(
                    "The metrics",
                    json!({"text/plain": {"schema": {"type": "string"}}}),
                    &[],
                ),
            ),
        ),
        (
            "/static/{filename}",
            "get",
            "static_file",
            public(
                "A file of STATIC_FILES_DIR",
                vec![path("filename", "File name")],
                {
                    let mut r = responses(
                        "The file (a single byte range is answered with 206)",
                        json!({"*/*": {}}),
                        &[404],
                    );
                    r["206"] = json!({"description": "Partial content", "content": {"*/*": {}}});
                    r["416"] = json!({"description": status_text(416),
                        "content": {"text/plain": {"schema": {"type": "string"}}}});
                    r
                },
            ),
        ),
    ]
}

/// The document; `root` is `REST_ROOT_PATH` (the `servers` entry).
pub fn document(root: &str) -> Value {
    let mut paths = Map::new();
    for (p, method, id, o) in operations() {
        let item = paths
            .entry(p.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        item[method] = o.into_json(id);
    }
    let vm_state = json!({"type": "string", "enum": ["pending", "running", "configured", "unconfigured", "stopped", "off", "failed", "unknown", "deleting"]});
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Infrastructure Manager API",
            "version": "2.0",
            "description": "The REST API of the Infrastructure Manager (IM 2.0 compatible). Errors are text, JSON ({\"message\", \"code\"}) or HTML by Accept; 404/405/422 of the router are JSON {\"detail\": ...}. A path with a fixed last segment (…/reconfigure, …/authorization) is a path of its own, yet a method it does not have reaches the templated path of the same shape, as in the reference (PUT …/authorization and GET …/reconfigure answer the 422 of that route's parameter); any other method no route of a path has is a 405 whose `allow` lists the methods of that path."
        },
        "servers": [{"url": if root.is_empty() { "/" } else { root }}],
        "security": [{"imAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"imAuth": {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "IM auth data: auth-file lines separated by the two characters \\n, e.g. `type = InfrastructureManager; username = u; password = p\\nid = one; type = OpenNebula; host = h:2633; username = u; password = p`. Missing: 401. Without InfrastructureManager credentials, or with invalid ones: 401 on GET/POST/PUT /infrastructures and /clouds, 400 elsewhere (as the reference IM)."}},
            "schemas": {
                "Error": {"type": "object", "required": ["message", "code"],
                    "properties": {"message": {"type": "string"}, "code": {"type": "integer"}}},
                "Detail": {"type": "object", "required": ["detail"],
                    "properties": {"detail": {"type": "string"}}},
                "ValidationErrors": {"type": "object", "required": ["detail"], "properties": {"detail": {"type": "array", "items": {
                    "type": "object", "required": ["type", "loc", "msg"], "properties": {
                        "type": {"type": "string"}, "loc": {"type": "array", "items": {"type": "string"}},
                        "msg": {"type": "string"}, "input": {}, "ctx": {"type": "object"}}}}}},
                "LaxBool": {"type": "string", "pattern": LAX_BOOL,
                    "description": "1 true t yes y on / 0 false f no n off (case-insensitive); anything else is a 422"},
                "Uri": {"type": "object", "required": ["uri"], "properties": {"uri": {"type": "string", "format": "uri"}}},
                "UriList": {"type": "object", "required": ["uri-list"],
                    "properties": {"uri-list": {"type": "array", "items": {"$ref": "#/components/schemas/Uri"}}}},
                "JsonRadl": {"type": "array", "items": {"type": "object", "required": ["class"],
                    "properties": {"class": {"type": "string", "enum": ["network", "system", "configure", "deploy", "contextualize", "ansible", "description"]}}}},
                "AuthItem": {"type": "object", "description": "Numbers and booleans are read as their JSON text",
                    "additionalProperties": {"type": ["string", "number", "boolean"]},
                    "properties": {"type": {"type": "string", "default": "InfrastructureManager"},
                        "username": {"type": ["string", "number", "boolean"]},
                        "password": {"type": ["string", "number", "boolean"]},
                        "token": {"type": ["string", "number", "boolean"]}}},
                "ExportedInfrastructure": {"type": "object", "required": ["id", "vm_list"],
                    "description": "The reference's serialised infrastructure (id, vm_list, auth, radl, private_networks, system_counter, deleted, vm_master, vm_id, cont_out, ansible_configured, configured, extra_info, snapshots, creation_date); only `id` and `vm_list` are required, the other keys have defaults",
                    "properties": {"id": {"type": "string"}, "vm_list": {"type": "array", "items": {"type": "object"}}}},
                "InfrastructureState": {"type": "object", "required": ["state"], "additionalProperties": false,
                    "properties": {"state": {"type": "object", "required": ["state", "vm_states"], "properties": {
                    "state": vm_state,
                    "vm_states": {"type": "object", "additionalProperties": vm_state}}}}},
                "Estimate": {"type": "object", "additionalProperties": {"type": "object", "properties": {
                    "cloudType": {"type": "string"}, "cloudEndpoint": {"type": "string"},
                    "compute": {"type": "array", "items": {"type": "object"}}, "storage": {"type": "array", "items": {"type": "object"}}}}},
                "Health": {"type": "object", "required": ["status", "database"], "properties": {
                    "status": {"type": "string", "enum": ["ok", "unavailable"]},
                    "database": {"type": "string", "description": "`reachable`, or why the database does not answer"}}},
                "StatsRow": {"type": "object", "properties": {
                    "creation_date": {"type": "string"}, "tosca_name": {"type": "string"}, "vm_count": {"type": "integer"},
                    "cpu_count": {"type": "number"}, "memory_size": {"type": "number"}, "cloud_type": {"type": ["string", "null"]},
                    "cloud_host": {"type": ["string", "null"]}, "hybrid": {"type": "boolean"}, "deleted": {"type": "boolean"},
                    "im_user": {"type": ["string", "null"]}, "inf_id": {"type": "string"}, "last_date": {"type": "string"}}}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A concrete path for a documented one: each `{param}` replaced by the
    /// first value of its `enum`, or by `x`.
    fn concrete(path: &str, params: &[Value]) -> String {
        path.split('/')
            .map(
                |seg| match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    None => seg.to_string(),
                    Some(name) => params
                        .iter()
                        .find(|p| p["name"] == name && p["in"] == "path")
                        .and_then(|p| p["schema"]["enum"][0].as_str())
                        .unwrap_or("x")
                        .to_string(),
                },
            )
            .collect::<Vec<_>>()
            .join("/")
    }

    #[test]
    fn the_document_and_the_router_have_the_same_operations() {
        let mut reached = Vec::new();
        for (p, method, id, o) in operations() {
            assert!(o.responses["200"].is_object(), "{id}");
            let m: axum::http::Method = method.to_uppercase().parse().expect("method");
            let e = crate::routes::endpoint_for(&m, &concrete(p, &o.params))
                .unwrap_or_else(|| panic!("{id}: {method} {p} reaches no route"));
            reached.push((m, e));
        }
        for (m, e) in crate::routes::operations() {
            assert!(
                reached.contains(&(m.clone(), e)),
                "{m} {e:?} is not documented"
            );
        }
    }

    #[test]
    fn every_link_names_an_operation_of_the_document() {
        let ids: Vec<&str> = operations().iter().map(|(_, _, id, _)| *id).collect();
        let links = infrastructure_links();
        for (name, l) in links.as_object().expect("links") {
            let target = l["operationId"].as_str().expect("operationId");
            assert!(ids.contains(&target), "{name} -> {target}");
        }
    }

    #[test]
    fn two_templated_paths_never_have_the_same_shape() {
        let d = document("");
        let mut shapes = std::collections::HashSet::new();
        for p in d["paths"].as_object().expect("paths").keys() {
            let shape: Vec<&str> = p
                .split('/')
                .map(|s| if s.starts_with('{') { "{}" } else { s })
                .collect();
            assert!(shapes.insert(shape.join("/")), "{p}");
        }
    }
}
