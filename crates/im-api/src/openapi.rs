//! `GET /openapi.json`: a hand-written OpenAPI 3.1 description of every
//! route, with the statuses and media types each one really answers. Kept
//! next to the router it describes; the tests check that every route of the
//! router is in it.

use serde_json::{Map, Value, json};

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
        let content = if *code == 422 {
            json!({"application/json": {"schema": {"$ref": "#/components/schemas/ValidationErrors"}}})
        } else {
            error_content()
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

fn text() -> Value {
    json!({"text/plain": {"schema": {"type": "string"}}})
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

fn string_query(name: &str, what: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": what,
           "schema": {"type": "string"}})
}

fn path(name: &str, what: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": what,
           "schema": {"type": "string"}})
}

fn literal(name: &str, values: &[&str]) -> Value {
    json!({"name": name, "in": "path", "required": true,
           "schema": {"type": "string", "enum": values}})
}

fn deployment_body(required: bool) -> Value {
    json!({"required": required, "description": "RADL (text/plain or no Content-Type), JSON RADL (application/json) or TOSCA (text/yaml, text/x-yaml, application/yaml: not supported yet, 400). An empty body is an empty RADL.",
    "content": {
        "text/plain": {"schema": {"type": "string"}},
        "application/json": {"schema": {"$ref": "#/components/schemas/JsonRadl"}},
        "text/yaml": {"schema": {"type": "string"}}
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

/// The document; `root` is `REST_ROOT_PATH` (the `servers` entry).
pub fn document(root: &str) -> Value {
    let inf = || path("infid", "Infrastructure id");
    let vm = || path("vmid", "VM id");
    let ops: Vec<(&str, &str, &str, Op)> = vec![
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
                vec![string_query(
                    "filter",
                    "Regular expression searched in each infrastructure's RADL and TOSCA",
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
                with_infid_header(
                    responses(
                        "The new infrastructure's URI; with dry_run, the estimate per cloud",
                        json!({
                            "text/uri-list": {"schema": {"type": "string", "format": "uri"}},
                            "application/json": {"schema": {"oneOf": [{"$ref": "#/components/schemas/Uri"}, {"$ref": "#/components/schemas/Estimate"}]}}
                        }),
                        &[400, 401, 403, 413, 415, 422, 503, 504],
                    ),
                    "not with dry_run",
                ),
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
                    json!({"required": true, "description": "The `data` of GET /infrastructures/{infid}/data",
                "content": {"application/json": {"schema": {"type": "string"}}}}),
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
                "Add VMs to an infrastructure",
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
                "A property of an infrastructure",
                "Infrastructures",
                vec![
                    inf(),
                    literal(
                        "prop",
                        &[
                            "contmsg",
                            "radl",
                            "tosca",
                            "state",
                            "outputs",
                            "data",
                            "authorization",
                        ],
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
                    "contmsg, radl, tosca: text or {prop: text}; authorization: owners one per line or {\"authorization\": [...]}; state, outputs, data: JSON only",
                    json!({
                        "text/plain": {"schema": {"type": "string"}},
                        "application/json": {"schema": {"oneOf": [
                            {"$ref": "#/components/schemas/InfrastructureState"},
                            {"type": "object", "properties": {"contmsg": {"type": "string"}}},
                            {"type": "object", "properties": {"radl": {"type": "string"}}},
                            {"type": "object", "properties": {"tosca": {"type": "string"}}},
                            {"type": "object", "properties": {"outputs": {"type": "object"}}},
                            {"type": "object", "properties": {"data": {"type": "string", "description": "The exported infrastructure, a JSON document as a string"}}},
                            {"type": "object", "properties": {"authorization": {"type": "array", "items": {"type": "string"}}}}
                        ]}}
                    }),
                    &[400, 401, 403, 404, 415, 422, 503, 504],
                ),
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
                    string_query("vm_list", "Comma-separated VM ids to reconfigure"),
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
            "/infrastructures/{infid}/{op}",
            "put",
            "operate_infrastructure",
            op(
                "Start or stop every VM",
                "Infrastructures",
                vec![inf(), literal("op", &["start", "stop"])],
                None,
                responses("Done", empty_text(), &[400, 401, 403, 404, 422, 503, 504]),
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
                    json!({"required": true, "description": "An IM auth item; `type` defaults to InfrastructureManager",
                "content": {"application/json": {"schema": {"type": "object", "additionalProperties": {"type": "string"},
                    "example": {"username": "user2", "password": "pass2"}}}}}),
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
                    json!({"name": "step", "in": "query", "required": false, "description": "command: the step of the reverse-SSH helper",
                        "schema": {"type": "integer", "default": 1}}),
                ],
                None,
                responses(
                    "The value",
                    text_or_json("<prop>", json!({})),
                    &[400, 401, 403, 404, 415, 422, 503, 504],
                ),
            ),
        ),
        (
            "/infrastructures/{infid}/vms/{vmid}/{op}",
            "put",
            "operate_vm",
            op(
                "Start, stop or reboot a VM",
                "VMs",
                vec![inf(), vm(), literal("op", &["start", "stop", "reboot"])],
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
                    json!({"name": "disknum", "in": "path", "required": true, "schema": {"type": "integer"}}),
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
                    text(),
                    &[400, 401, 403, 404, 422, 503, 504],
                ),
            ),
        ),
        (
            "/clouds/{cloudid}/{param}",
            "get",
            "get_cloud_info",
            op(
                "Images or quotas of a cloud of the caller's auth data",
                "Clouds",
                vec![
                    path("cloudid", "The `id` of an auth item"),
                    literal("param", &["images", "quotas"]),
                    string_query("filters", "images: k1=v1,k2=v2"),
                ],
                None,
                responses(
                    "{\"images\": [{\"uri\", \"name\"}...]} or {\"quotas\": {...}}",
                    json!({"application/json": {"schema": {"type": "object"}}}),
                    &[400, 401, 415, 422, 503, 504],
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
                    string_query("init_date", "YYYY-MM-DD or YYYY/MM/DD (default 1970-01-01)"),
                    string_query("end_date", "YYYY-MM-DD or YYYY/MM/DD"),
                ],
                None,
                responses(
                    "One row per infrastructure",
                    json!({
                        "application/json": {"schema": {"type": "object", "properties": {"stats": {"type": "array", "items": {"$ref": "#/components/schemas/StatsRow"}}}}},
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
                "OAI-PMH repository of TOSCA templates",
                vec![],
                responses(
                    "OAI-PMH XML",
                    json!({"text/xml": {"schema": {"type": "string"}}}),
                    &[400, 501],
                ),
            ),
        ),
        (
            "/oai",
            "post",
            "oai_post",
            public(
                "OAI-PMH repository of TOSCA templates (form arguments)",
                vec![],
                responses(
                    "OAI-PMH XML",
                    json!({"text/xml": {"schema": {"type": "string"}}}),
                    &[400, 501],
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
            "/static/{filename}",
            "get",
            "static_file",
            public(
                "A file of STATIC_FILES_DIR",
                vec![path("filename", "File name")],
                {
                    let mut r = responses(
                        "The file (single byte ranges supported: 206, 416)",
                        json!({"*/*": {}}),
                        &[404],
                    );
                    r["206"] = json!({"description": "Partial content"});
                    r["416"] = json!({"description": "Range not satisfiable"});
                    r
                },
            ),
        ),
    ];
    let mut paths = Map::new();
    for (p, method, id, o) in ops {
        let item = paths
            .entry(p.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        item[method] = o.into_json(id);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Infrastructure Manager API",
            "version": "2.0",
            "description": "The REST API of the Infrastructure Manager (IM 2.0 compatible). Errors are text, JSON ({\"message\", \"code\"}) or HTML by Accept; 404/405/422 of the router are JSON {\"detail\": ...}."
        },
        "servers": [{"url": if root.is_empty() { "/" } else { root }}],
        "security": [{"imAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"imAuth": {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "IM auth data: auth-file lines separated by the two characters \\n, e.g. `type = InfrastructureManager; username = u; password = p\\nid = one; type = OpenNebula; host = h:2633; username = u; password = p`"}},
            "schemas": {
                "Error": {"type": "object", "required": ["message", "code"],
                    "properties": {"message": {"type": "string"}, "code": {"type": "integer"}}},
                "ValidationErrors": {"type": "object", "properties": {"detail": {"type": "array", "items": {
                    "type": "object", "properties": {
                        "type": {"type": "string"}, "loc": {"type": "array", "items": {"type": "string"}},
                        "msg": {"type": "string"}, "input": {}, "ctx": {"type": "object"}}}}}},
                "LaxBool": {"type": "string", "description": "1 true t yes y on / 0 false f no n off (case-insensitive)"},
                "Uri": {"type": "object", "required": ["uri"], "properties": {"uri": {"type": "string", "format": "uri"}}},
                "UriList": {"type": "object", "required": ["uri-list"],
                    "properties": {"uri-list": {"type": "array", "items": {"$ref": "#/components/schemas/Uri"}}}},
                "JsonRadl": {"type": "array", "items": {"type": "object", "required": ["class"],
                    "properties": {"class": {"type": "string", "enum": ["network", "system", "configure", "deploy", "contextualize", "ansible", "description"]}}}},
                "InfrastructureState": {"type": "object", "properties": {"state": {"type": "object", "properties": {
                    "state": {"type": "string", "enum": ["pending", "running", "configured", "unconfigured", "stopped", "off", "failed", "unknown", "deleting"]},
                    "vm_states": {"type": "object", "additionalProperties": {"type": "string"}}}}}},
                "Estimate": {"type": "object", "additionalProperties": {"type": "object", "properties": {
                    "cloudType": {"type": "string"}, "cloudEndpoint": {"type": "string"},
                    "compute": {"type": "array", "items": {"type": "object"}}, "storage": {"type": "array", "items": {"type": "object"}}}}},
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

    #[test]
    fn every_operation_has_an_id_and_a_200() {
        let d = document("");
        let paths = d["paths"].as_object().expect("paths");
        let mut n = 0;
        for (_, item) in paths {
            for (_, o) in item.as_object().expect("item") {
                assert!(o["operationId"].is_string());
                assert!(o["responses"]["200"].is_object());
                n += 1;
            }
        }
        assert_eq!(n, crate::routes::operation_count());
    }
}
