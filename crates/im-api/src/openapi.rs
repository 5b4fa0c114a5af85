//! `GET /openapi.json`: a hand-written OpenAPI 3.1 description of every route,
//! kept next to the router it describes.

use serde_json::{Map, Value, json};

fn flag(name: &str, default: bool, what: &str) -> Value {
    json!({"name": name, "in": "query", "required": false,
           "schema": {"type": "boolean", "default": default}, "description": what})
}

fn path_param(name: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}})
}

fn literal(name: &str, values: &[&str]) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": {"type": "string", "enum": values}})
}

fn responses(ok: &str, types: &[&str], errors: &[u16]) -> Value {
    let mut content = Map::new();
    for t in types {
        content.insert((*t).to_string(), json!({"schema": {"type": "string"}}));
    }
    let mut r = Map::new();
    r.insert("200".into(), json!({"description": ok, "content": content}));
    for code in errors {
        r.insert(
            code.to_string(),
            json!({"description": "error", "content": {
                "text/plain": {"schema": {"type": "string"}},
                "application/json": {"schema": {"$ref": "#/components/schemas/Error"}},
                "text/html": {"schema": {"type": "string"}}}}),
        );
    }
    r.insert(
        "422".into(),
        json!({"description": "invalid path or query parameter",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Detail"}}}}),
    );
    Value::Object(r)
}

fn op(summary: &str, params: Vec<Value>, body: bool, resp: Value) -> Value {
    let mut o = json!({"summary": summary, "parameters": params, "responses": resp});
    if body {
        o["requestBody"] = json!({"required": false, "content": {
            "text/plain": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            "text/yaml": {"schema": {"type": "string"}}}});
    }
    o
}

/// The document.
pub fn document() -> Value {
    let auth_errors = [400, 401, 403, 404, 409, 415, 503];
    let inf = path_param("infid");
    let vm = path_param("vmid");
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Infrastructure Manager API", "version": "2.0"},
        "components": {
            "securitySchemes": {"imAuth": {"type": "apiKey", "in": "header", "name": "Authorization"}},
            "schemas": {
                "Error": {"type": "object", "properties": {"message": {"type": "string"}, "code": {"type": "integer"}}},
                "Detail": {"type": "object", "properties": {"detail": {}}}
            }
        },
        "security": [{"imAuth": []}],
        "paths": {
            "/infrastructures": {
                "get": op("List infrastructures", vec![json!({"name": "filter", "in": "query", "required": false, "schema": {"type": "string"}, "description": "regular expression searched in the RADL or TOSCA"})], false,
                          responses("URIs", &["text/uri-list", "application/json"], &auth_errors)),
                "post": op("Create an infrastructure", vec![flag("async", false, "return at once"), flag("dry_run", false, "only estimate resources")], true,
                           responses("URI (infid header)", &["text/uri-list", "application/json"], &auth_errors)),
                "put": op("Import an infrastructure", vec![], true,
                          responses("URI", &["text/uri-list", "application/json"], &auth_errors))
            },
            "/infrastructures/{infid}": {
                "get": op("VMs of an infrastructure", vec![inf.clone()], false, responses("URIs", &["text/uri-list", "application/json"], &auth_errors)),
                "delete": op("Destroy an infrastructure", vec![inf.clone(), flag("force", false, "ignore cloud errors"), flag("async", false, "return at once")], false, responses("empty", &["text/plain"], &auth_errors)),
                "post": op("Add resources", vec![inf.clone(), flag("context", true, "contextualize afterwards")], true, responses("URIs of the new VMs", &["text/uri-list", "application/json"], &auth_errors))
            },
            "/infrastructures/{infid}/{prop}": {
                "get": op("A property of an infrastructure", vec![inf.clone(), literal("prop", &["contmsg", "radl", "tosca", "state", "outputs", "data", "authorization"]), flag("headeronly", false, "contmsg without VM logs"), flag("delete", false, "data: forget the infrastructure")], false,
                          responses("the property", &["text/plain", "application/json"], &auth_errors))
            },
            "/infrastructures/{infid}/reconfigure": {
                "put": op("Reconfigure", vec![inf.clone(), json!({"name": "vm_list", "in": "query", "required": false, "schema": {"type": "string"}})], true, responses("empty", &["text/plain"], &auth_errors))
            },
            "/infrastructures/{infid}/{op}": {
                "put": op("Start or stop every VM", vec![inf.clone(), literal("op", &["start", "stop"])], false, responses("empty", &["text/plain"], &auth_errors))
            },
            "/infrastructures/{infid}/authorization": {
                "post": op("Add or replace owners", vec![inf.clone(), flag("overwrite", false, "replace the owners")], false, responses("empty", &["text/plain"], &auth_errors))
            },
            "/infrastructures/{infid}/vms/{vmid}": {
                "get": op("VM information", vec![inf.clone(), vm.clone()], false, responses("RADL", &["text/plain", "application/json"], &auth_errors)),
                "delete": op("Remove VMs (comma-separated ids)", vec![inf.clone(), vm.clone(), flag("context", true, "contextualize afterwards")], false, responses("empty", &["text/plain"], &auth_errors)),
                "put": op("Alter a VM", vec![inf.clone(), vm.clone()], true, responses("RADL", &["text/plain", "application/json"], &auth_errors))
            },
            "/infrastructures/{infid}/vms/{vmid}/{prop}": {
                "get": op("A property of a VM", vec![inf.clone(), vm.clone(), path_param("prop"), json!({"name": "step", "in": "query", "required": false, "schema": {"type": "integer", "default": 1}})], false, responses("the value", &["text/plain", "application/json"], &auth_errors))
            },
            "/infrastructures/{infid}/vms/{vmid}/{op}": {
                "put": op("Start, stop or reboot a VM", vec![inf.clone(), vm.clone(), literal("op", &["start", "stop", "reboot"])], false, responses("empty", &["text/plain"], &auth_errors))
            },
            "/infrastructures/{infid}/vms/{vmid}/disks/{disknum}/snapshot": {
                "put": op("Snapshot a disk", vec![inf, vm, json!({"name": "disknum", "in": "path", "required": true, "schema": {"type": "integer"}}), json!({"name": "image_name", "in": "query", "required": true, "schema": {"type": "string"}}), flag("auto_delete", false, "delete with the infrastructure")], false, responses("image URL", &["text/plain"], &auth_errors))
            },
            "/clouds/{cloudid}/{param}": {
                "get": op("Images or quotas of a cloud", vec![path_param("cloudid"), literal("param", &["images", "quotas"]), json!({"name": "filters", "in": "query", "required": false, "schema": {"type": "string"}})], false, responses("JSON", &["application/json"], &auth_errors))
            },
            "/stats": {
                "get": op("Usage statistics", vec![json!({"name": "init_date", "in": "query", "required": false, "schema": {"type": "string"}}), json!({"name": "end_date", "in": "query", "required": false, "schema": {"type": "string"}})], false, responses("rows", &["application/json", "text/csv"], &auth_errors))
            },
            "/oai": {
                "get": {"summary": "OAI-PMH", "security": [], "responses": {"200": {"description": "OAI-PMH XML", "content": {"text/xml": {"schema": {"type": "string"}}}}, "400": {"description": "not enabled", "content": {"text/plain": {"schema": {"type": "string"}}}}}},
                "post": {"summary": "OAI-PMH", "security": [], "responses": {"200": {"description": "OAI-PMH XML", "content": {"text/xml": {"schema": {"type": "string"}}}}, "400": {"description": "not enabled", "content": {"text/plain": {"schema": {"type": "string"}}}}}}
            },
            "/version": {
                "get": {"summary": "Version", "security": [], "responses": {"200": {"description": "version", "content": {"text/plain": {"schema": {"type": "string"}}, "application/json": {"schema": {"type": "object"}}}}, "400": {"description": "unsupported Accept", "content": {"text/plain": {"schema": {"type": "string"}}}}}}
            },
            "/static/{filename}": {
                "get": {"summary": "Static files", "security": [], "parameters": [path_param("filename")], "responses": {"200": {"description": "the file"}, "404": {"description": "not found", "content": {"text/plain": {"schema": {"type": "string"}}}}}}
            }
        }
    })
}
