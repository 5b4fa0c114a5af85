//! The operations, in the order and with the words of `imclient/cli.py`
//! (`main`, the printing) and `imclient/imclient.py` (`IMClient`, the REST
//! calls). `self.args` is the list of positional arguments, as there.

use std::io::BufRead;
use std::path::Path;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Map, Value};

use super::auth::{AuthData, os_error_text, read_auth_data};
use super::config;
use super::http::{Http, Request};
use super::pyfmt::{basename, json_dumps, py_int, py_str};
use super::ssh;
use super::{Failure, Options, say, say_inline};

/// What a REST call gives: the value on HTTP 200, else the body of the answer.
pub(crate) type Rest<T> = Result<T, String>;

/// The default API URL of the reference client.
const DEFAULT_URL: &str = "http://localhost:8800";

fn exc<T>(msg: impl Into<String>) -> Result<T, Failure> {
    Err(Failure::Exc(msg.into()))
}

/// Runs operation `op` as `im_client.py`'s `main` does; `Ok(success)`.
pub fn main(op: &str, args: Vec<String>, mut opts: Options) -> Result<bool, Failure> {
    let defaults = config::load(&config::search_paths()).map_err(Failure::Exc)?;
    if opts.xmlrpc.is_some() {
        // IM-compat deviation: the XML-RPC transport is not implemented.
        return Err(Failure::Usage(
            "-u/--xmlrpc-url: the XML-RPC API is not supported, only the REST API (use -r/--rest-url)"
                .into(),
        ));
    }
    opts.auth_file = opts.auth_file.or(defaults.auth_file);
    let url = match (
        opts.restapi.take().or(defaults.restapi_url),
        defaults.xmlrpc_url,
    ) {
        (Some(url), _) => url,
        (None, Some(_)) => {
            return Err(Failure::Usage(
                "im_client.cfg sets xmlrpc_url: the XML-RPC API is not supported, set restapi_url or use -r/--rest-url"
                    .into(),
            ));
        }
        (None, None) => DEFAULT_URL.to_string(),
    };

    let auth = if op == "getversion" {
        None
    } else {
        let Some(file) = &opts.auth_file else {
            return Err(Failure::Usage("Auth file not specified".into()));
        };
        Some(read_auth_data(file)?)
    };

    let timeout = Duration::from_secs(opts.timeout.unwrap_or(600).max(1));
    let header = auth.as_ref().map(AuthData::header);
    let http = Http::new(&url, header.as_deref(), opts.verify, timeout)?;
    let mut client = Client { opts, args, http };

    if !client.opts.quiet {
        if url.starts_with("https") {
            say(&format!("Secure connection with: {url}"));
        } else {
            say(&format!("Connected with: {url}"));
        }
    }
    client.dispatch(op)
}

/// `IMClient`: the options, the positional arguments and the connection.
pub(crate) struct Client {
    pub(crate) opts: Options,
    pub(crate) args: Vec<String>,
    http: Http,
}

/// A `uri-list` answer: the last path segment of each URI.
fn uri_list_ids(text: &str) -> Result<Vec<String>, Failure> {
    let list = json_field(text, "uri-list")?;
    let Value::Array(items) = list else {
        return exc(format!("Unexpected answer of the server: {text}"));
    };
    items
        .iter()
        .map(|item| match item {
            Value::Object(m) => match m.values().next() {
                Some(Value::String(uri)) => Ok(basename(uri).to_string()),
                _ => exc(format!("Unexpected answer of the server: {text}")),
            },
            _ => exc(format!("Unexpected answer of the server: {text}")),
        })
        .collect()
}

/// `resp.json()[field]`.
fn json_field(text: &str, field: &str) -> Result<Value, Failure> {
    let v: Value = serde_json::from_str(text).map_err(|e| {
        Failure::Exc(format!(
            "The answer of the server is not JSON ({e}): {text}"
        ))
    })?;
    match v {
        Value::Object(mut m) => m.remove(field).ok_or_else(|| {
            Failure::Exc(format!("The answer of the server has no '{field}': {text}"))
        }),
        _ => exc(format!("The answer of the server has no '{field}': {text}")),
    }
}

/// Reads one line from standard input after a prompt (Python's `input`).
fn input(prompt: &str) -> Result<String, Failure> {
    say_inline(prompt);
    let mut line = String::new();
    let n = std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure::Exc(e.to_string()))?;
    if n == 0 {
        return exc("EOF when reading a line");
    }
    if line.ends_with('\n') {
        line.pop();
    }
    Ok(line)
}

/// The `0`/`1` flags of the reference.
fn flag(value: &str) -> Option<bool> {
    match value {
        "0" => Some(false),
        "1" => Some(true),
        _ => None,
    }
}

/// A description file read as `read_input_file` does.
pub(crate) struct Description {
    /// The text to send.
    pub body: String,
    /// `application/json` for `.json`/`.jsn`, `text/yaml` for `.yaml`/`.yml`,
    /// none for RADL.
    pub content_type: Option<&'static str>,
}

/// Reads a text file as Python's text mode does (universal newlines).
fn read_text(path: &str) -> Result<String, Failure> {
    let bytes = std::fs::read(path).map_err(|e| Failure::Exc(os_error_text(&e, path)))?;
    let text = String::from_utf8(bytes)
        .map_err(|e| Failure::Exc(format!("{path}: not UTF-8 text: {e}")))?;
    Ok(text.replace("\r\n", "\n").replace('\r', "\n"))
}

/// `_get_input_params`: asks the value of each `@input.NAME@` of a RADL.
fn input_params(mut radl: String) -> Result<String, Failure> {
    let mut pos = 0;
    while let Some(found) = radl.get(pos..).and_then(|r| r.find("@input.")) {
        pos += found + 7;
        let name = match radl[pos..].find('@') {
            Some(end) => radl[pos..pos + end].to_string(),
            // Python's `radl[pos:-1]`.
            None => radl[pos..radl.len().saturating_sub(1).max(pos)].to_string(),
        };
        let value = input(&format!("Specify parameter {name}: "))?;
        radl = radl.replace(&format!("@input.{name}@"), &value);
    }
    Ok(radl)
}

/// Parses (and, when `check`, checks) a RADL text; the error names the file,
/// line and column.
fn validate_radl(path: &str, text: &str, check: bool) -> Result<(), Failure> {
    let res = im_radl::parse_radl(text).and_then(|r| if check { r.check() } else { Ok(()) });
    res.map_err(|e| {
        Failure::Exc(match (e.line(), e.column()) {
            (Some(l), Some(c)) => format!("{path}:{l}:{c}: {e}"),
            _ => format!("{path}: {e}"),
        })
    })
}

/// `read_input_file`: TOSCA and JSON files as they are; a RADL file with its
/// `@input.X@` values asked and checked locally (`check`), sent as written.
fn read_input_file(path: &str, radl_inputs_and_check: bool) -> Result<Description, Failure> {
    let text = read_text(path)?;
    let ext = Path::new(path)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("");
    match ext {
        "yaml" | "yml" => Ok(Description {
            body: text,
            content_type: Some("text/yaml"),
        }),
        "json" | "jsn" => Ok(Description {
            body: text,
            content_type: Some("application/json"),
        }),
        _ => {
            let text = if radl_inputs_and_check {
                input_params(text)?
            } else {
                text
            };
            validate_radl(path, &text, radl_inputs_and_check)?;
            Ok(Description {
                body: text,
                content_type: None,
            })
        }
    }
}

/// `getValue(prop)` of the first system of a VM's RADL, as Python prints it.
fn radl_value(radl: &im_radl::Radl, prop: &str) -> String {
    let Some(f) = radl
        .systems
        .first()
        .and_then(|s| s.features.get_feature(prop))
    else {
        return "None".into();
    };
    feature_text(f)
}

/// A feature's value as Python's `str(feature.getValue())`.
pub(crate) fn feature_text(f: &im_radl::Feature) -> String {
    use im_radl::{Number, Value as V};
    match &f.value {
        V::Str(s) => s.clone(),
        V::Number(n) => {
            let n = if f.unit.is_empty() {
                *n
            } else {
                f.number_in("").unwrap_or(*n)
            };
            match n {
                Number::Int(i) => i.to_string(),
                Number::Float(x) => im_radl::python_float_repr(x),
            }
        }
        V::List(items) => {
            let parts: Vec<String> = items.iter().map(|s| super::pyfmt::py_repr_str(s)).collect();
            format!("[{}]", parts.join(", "))
        }
        V::Features(inner) => inner.to_string(),
    }
}

impl Client {
    fn send(&self, method: Method, req: Request<'_>) -> Result<super::http::Response, Failure> {
        self.http.send(method, req)
    }

    fn get(&self, path: String, json: bool) -> Result<super::http::Response, Failure> {
        self.send(
            Method::GET,
            Request {
                path,
                json,
                ..Request::default()
            },
        )
    }

    /// `_get_inf_id`: the first argument (all-digit ids as Python's `int`), or
    /// with `-n` the first infrastructure whose RADL has that name.
    pub(crate) fn get_inf_id(&self) -> Result<String, Failure> {
        let Some(arg) = self.args.first() else {
            return exc("Infrastructure ID not specified");
        };
        let inf_id = if !arg.is_empty() && arg.bytes().all(|b| b.is_ascii_digit()) {
            let t = arg.trim_start_matches('0');
            if t.is_empty() { "0" } else { t }.to_string()
        } else {
            arg.clone()
        };
        if !self.opts.name {
            return Ok(inf_id);
        }
        let flt = format!(".*description\\s*.*\\s*(\\s*name\\s*=\\s*'{inf_id}'.*).*");
        match self.list_infras(Some(&flt))? {
            Err(_) => exc("Error getting infrastructure list."),
            Ok(infras) => match infras.as_slice() {
                [] => exc("Infrastructure Name not found"),
                [first, rest @ ..] => {
                    if !rest.is_empty() {
                        say(
                            "WARNING!: more that one infrastructure with the same name. First one returned.",
                        );
                    }
                    Ok(first.clone())
                }
            },
        }
    }

    /// `_get_vm_id`.
    fn get_vm_id(&self) -> Result<String, Failure> {
        match self.args.get(1) {
            Some(v) => Ok(v.clone()),
            None => exc("VM ID not specified"),
        }
    }

    /// `_get_radl`: the path of argument `index`, which must be a file.
    fn get_radl(&self, index: usize, required: bool) -> Result<Option<String>, Failure> {
        match self.args.get(index) {
            Some(p) if Path::new(p).is_file() => Ok(Some(p.clone())),
            Some(p) => exc(format!("RADL file '{p}' does not exist")),
            None if required => exc("RADL file not specified"),
            None => Ok(None),
        }
    }

    fn list_infras(&self, flt: Option<&str>) -> Result<Rest<Vec<String>>, Failure> {
        let query = flt
            .map(|f| vec![("filter", f.to_string())])
            .unwrap_or_default();
        let resp = self.send(
            Method::GET,
            Request {
                path: "/infrastructures".into(),
                query,
                json: true,
                ..Request::default()
            },
        )?;
        if resp.ok() {
            Ok(Ok(uri_list_ids(&resp.text)?))
        } else {
            Ok(Err(resp.text))
        }
    }

    /// `get_infra_property`: `GET /infrastructures/ID/PROP` as JSON, `json[prop]`.
    pub(crate) fn get_infra_property(
        &self,
        inf_id: &str,
        prop: &str,
    ) -> Result<Rest<Value>, Failure> {
        let resp = self.get(format!("/infrastructures/{inf_id}/{prop}"), true)?;
        if resp.ok() {
            Ok(Ok(json_field(&resp.text, prop)?))
        } else {
            Ok(Err(resp.text))
        }
    }

    /// `getvminfo`: `GET .../vms/VM[/PROP]` as text; with a system name, the
    /// VM's RADL is read here and only a VM of that system answers.
    pub(crate) fn getvminfo(
        &self,
        inf_id: &str,
        vm_id: &str,
        prop: Option<&str>,
        system_name: Option<&str>,
    ) -> Result<Rest<String>, Failure> {
        let mut path = format!("/infrastructures/{inf_id}/vms/{vm_id}");
        if let (Some(p), None) = (prop, system_name) {
            path.push('/');
            path.push_str(p);
        }
        let resp = self.get(path, false)?;
        if !resp.ok() {
            return Ok(Err(resp.text));
        }
        let Some(system_name) = system_name else {
            return Ok(Ok(resp.text));
        };
        let radl = im_radl::parse_radl(&resp.text).map_err(|e| Failure::Exc(e.to_string()))?;
        let Some(first) = radl.systems.first() else {
            return exc("list index out of range");
        };
        if first.name != system_name {
            return Ok(Ok(String::new()));
        }
        Ok(Ok(match prop {
            Some(p) => radl_value(&radl, p),
            None => resp.text,
        }))
    }

    fn dispatch(&mut self, op: &str) -> Result<bool, Failure> {
        let quiet = self.opts.quiet;
        match op {
            "removeresource" => match self.removeresource()? {
                Ok(vms) => {
                    if !quiet {
                        say(&format!("Resources with IDs: {vms} successfully deleted."));
                    }
                    Ok(true)
                }
                Err(e) => {
                    say(&format!(
                        "ERROR deleting resources from the infrastructure: {e}"
                    ));
                    Ok(false)
                }
            },
            "addresource" => match self.addresource()? {
                Ok(vms) => {
                    if quiet {
                        let list = Value::Array(vms.into_iter().map(Value::String).collect());
                        say(&json_dumps(&list, Some(4)));
                    } else {
                        say(&format!(
                            "Resources with IDs: {} successfully added.",
                            vms.join(",")
                        ));
                    }
                    Ok(true)
                }
                Err(e) => {
                    say(&format!("ERROR adding resources to infrastructure: {e}"));
                    Ok(false)
                }
            },
            "create" => match self.create()? {
                Ok(id) => {
                    // IM-compat deviation: `-q` prints the ID (the reference prints nothing).
                    if quiet {
                        say(&id);
                    } else {
                        say(&format!(
                            "Infrastructure successfully created with ID: {id}"
                        ));
                    }
                    Ok(true)
                }
                Err(e) => {
                    say(&format!("ERROR creating the infrastructure: {e}"));
                    Ok(false)
                }
            },
            "alter" => match self.alter()? {
                Ok(_) => {
                    if !quiet {
                        say("VM successfully modified.");
                    }
                    Ok(true)
                }
                Err(e) => {
                    say(&format!("ERROR modifying the VM: {e}"));
                    Ok(false)
                }
            },
            "reconfigure" => match self.reconfigure()? {
                Ok(_) => {
                    if !quiet {
                        say("Infrastructure successfully reconfigured.");
                    }
                    Ok(true)
                }
                Err(e) => {
                    say(&format!("ERROR reconfiguring the infrastructure: {e}"));
                    Ok(false)
                }
            },
            "getcontmsg" => {
                let inf_id = self.get_inf_id()?;
                match self.get_infra_property(&inf_id, "contmsg")? {
                    Ok(v) => {
                        let text = py_str(&v);
                        if !text.is_empty() {
                            if !quiet {
                                say("Msg Contextualizator: \n");
                            }
                            say(&text);
                        } else if !quiet {
                            say("No Msg Contextualizator avaliable\n");
                        }
                        Ok(true)
                    }
                    Err(e) => {
                        say(&format!(
                            "Error getting infrastructure contextualization message: {e}"
                        ));
                        Ok(false)
                    }
                }
            }
            "getstate" => {
                let inf_id = self.get_inf_id()?;
                match self.get_infra_property(&inf_id, "state")? {
                    Ok(res) => {
                        if quiet {
                            say(&json_dumps(&res, Some(4)));
                        } else {
                            let state = res.get("state").ok_or_else(|| {
                                Failure::Exc(format!("Unexpected state answer: {res}"))
                            })?;
                            say(&format!(
                                "The infrastructure is in state: {}",
                                py_str(state)
                            ));
                            if let Some(Value::Object(vms)) = res.get("vm_states") {
                                for (vm_id, vm_state) in vms {
                                    say(&format!(
                                        "VM ID: {vm_id} is in state: {}.",
                                        py_str(vm_state)
                                    ));
                                }
                            }
                        }
                        Ok(true)
                    }
                    Err(e) => {
                        say(&format!("Error getting infrastructure state: {e}"));
                        Ok(false)
                    }
                }
            }
            "getvminfo" => {
                let inf_id = self.get_inf_id()?;
                let vm_id = self.get_vm_id()?;
                let prop = self.args.get(2).cloned();
                match self.getvminfo(&inf_id, &vm_id, prop.as_deref(), None)? {
                    Ok(info) => {
                        say(&info);
                        Ok(true)
                    }
                    Err(info) => {
                        say(&format!("ERROR getting the VM info: {info}"));
                        say(&info);
                        Ok(false)
                    }
                }
            }
            "getinfo" => self.getinfo(),
            "destroy" => match self.destroy()? {
                Ok(()) => {
                    if !quiet {
                        say("Infrastructure successfully destroyed");
                    }
                    Ok(true)
                }
                Err(e) => {
                    say(&format!("ERROR destroying the infrastructure: {e}"));
                    Ok(false)
                }
            },
            "list" => self.list(),
            "start" | "stop" => {
                let inf_id = self.get_inf_id()?;
                let resp = self.send(
                    Method::PUT,
                    Request {
                        path: format!("/infrastructures/{inf_id}/{op}"),
                        ..Request::default()
                    },
                )?;
                match (resp.ok(), op) {
                    (true, "start") => {
                        if !quiet {
                            say("Infrastructure successfully started");
                        }
                    }
                    (true, _) => {
                        if !quiet {
                            say("Infrastructure successfully stopped");
                        }
                    }
                    (false, "start") => say(&format!(
                        "ERROR starting the infraestructure: {}",
                        resp.text
                    )),
                    (false, _) => say(&format!("ERROR stopping the infrastructure: {}", resp.text)),
                }
                Ok(resp.ok())
            }
            "getradl" => {
                let inf_id = self.get_inf_id()?;
                match self.get_infra_property(&inf_id, "radl")? {
                    Ok(radl) => {
                        say(&py_str(&radl));
                        Ok(true)
                    }
                    Err(e) => {
                        say(&format!("ERROR getting the infrastructure RADL: {e}"));
                        Ok(false)
                    }
                }
            }
            "getvmcontmsg" => {
                let inf_id = self.get_inf_id()?;
                let vm_id = self.get_vm_id()?;
                match self.getvminfo(&inf_id, &vm_id, Some("contmsg"), None)? {
                    Ok(info) => {
                        say(&info);
                        Ok(true)
                    }
                    Err(info) => {
                        say(&format!(
                            "Error getting VM contextualization message: {info}"
                        ));
                        Ok(false)
                    }
                }
            }
            "startvm" | "stopvm" | "rebootvm" => {
                let inf_id = self.get_inf_id()?;
                let vm_id = self.get_vm_id()?;
                let action = &op[..op.len() - 2];
                let resp = self.send(
                    Method::PUT,
                    Request {
                        path: format!("/infrastructures/{inf_id}/vms/{vm_id}/{action}"),
                        ..Request::default()
                    },
                )?;
                let (done, doing) = match action {
                    "start" => ("started", "starting"),
                    "stop" => ("stopped", "stopping"),
                    _ => ("rebooted", "rebooting"),
                };
                if resp.ok() {
                    if !quiet {
                        say(&format!("VM successfully {done}"));
                    }
                } else {
                    say(&format!("Error {doing} VM: {}", resp.text));
                }
                Ok(resp.ok())
            }
            "sshvm" | "ssh" | "putvm" | "put" | "getvm" | "get" => ssh::run(self, op),
            "getversion" => {
                let resp = self.send(
                    Method::GET,
                    Request {
                        path: "/version".into(),
                        anonymous: true,
                        ..Request::default()
                    },
                )?;
                if resp.ok() {
                    if quiet {
                        say(&resp.text);
                    } else {
                        say(&format!("IM service version: {}", resp.text));
                    }
                } else {
                    say(&format!("ERROR getting IM service version: {}", resp.text));
                }
                Ok(resp.ok())
            }
            "export" => {
                let inf_id = self.get_inf_id()?;
                let delete = match self.args.get(1) {
                    Some(d) => py_int(d).map_err(Failure::Exc)? != 0,
                    None => false,
                };
                let resp = self.send(
                    Method::GET,
                    Request {
                        path: format!("/infrastructures/{inf_id}/data"),
                        query: if delete {
                            vec![("delete", "yes".into())]
                        } else {
                            Vec::new()
                        },
                        json: true,
                        ..Request::default()
                    },
                )?;
                if resp.ok() {
                    say(&json_dumps(&json_field(&resp.text, "data")?, Some(4)));
                } else {
                    say(&format!("ERROR exporting data: {}", resp.text));
                }
                Ok(resp.ok())
            }
            "import" => match self.import()? {
                Ok(id) => {
                    if quiet {
                        say(&id);
                    } else {
                        say(&format!("New Inf: {id}"));
                    }
                    Ok(true)
                }
                Err(e) => {
                    say(&format!("ERROR importing data: {e}"));
                    Ok(false)
                }
            },
            "getoutputs" => {
                let inf_id = self.get_inf_id()?;
                match self.get_infra_property(&inf_id, "outputs")? {
                    Ok(outputs) => {
                        if quiet {
                            say(&json_dumps(&outputs, Some(4)));
                        } else {
                            let Value::Object(map) = &outputs else {
                                return exc(format!("Unexpected outputs answer: {outputs}"));
                            };
                            say("The infrastructure outputs:\n");
                            for (k, v) in map {
                                say(&format!("{k} = {}", py_str(v)));
                            }
                        }
                        Ok(true)
                    }
                    Err(e) => {
                        // IM-compat deviation: the reference prints nothing.
                        say(&format!("ERROR getting the infrastructure outputs: {e}"));
                        Ok(false)
                    }
                }
            }
            "cloudimages" | "cloudusage" => {
                let (what, label) = if op == "cloudimages" {
                    ("images", "ERROR getting cloud image list: ")
                } else {
                    ("quotas", "ERROR getting cloud usage: ")
                };
                match self.get_cloud_info(what)? {
                    Ok(data) => {
                        say(&json_dumps(&data, Some(4)));
                        Ok(true)
                    }
                    Err(e) => {
                        say(&format!("{label}{e}"));
                        Ok(false)
                    }
                }
            }
            "wait" => {
                let (ok, info) = self.wait()?;
                if !ok || !quiet {
                    say(&info);
                }
                Ok(ok)
            }
            "create_wait_outputs" => self.create_wait_outputs(),
            "change_auth" => match self.change_auth()? {
                Ok(()) => {
                    if !quiet {
                        say("Auth data successfully changed.");
                    }
                    Ok(true)
                }
                Err(e) => {
                    say(&format!("ERROR changing auth data: {e}"));
                    Ok(false)
                }
            },
            other => Err(Failure::Usage(format!(
                "operation {other} not recognised.  Use --help to show all the available operations"
            ))),
        }
    }

    fn removeresource(&self) -> Result<Rest<String>, Failure> {
        let inf_id = self.get_inf_id()?;
        let Some(list) = self.args.get(1) else {
            return Ok(Err("VM ID to remove not specified".into()));
        };
        let ids: Vec<String> = list
            .split(',')
            .map(|v| py_int(v).map(|i| i.to_string()))
            .collect::<Result<_, _>>()
            .map_err(Failure::Exc)?;
        let mut context = None;
        if let Some(c) = self.args.get(2) {
            match flag(c) {
                Some(f) => context = Some(f),
                None => return Ok(Err("The ctxt flag must be 0 or 1".into())),
            }
        }
        let vms = ids.join(",");
        let resp = self.send(
            Method::DELETE,
            Request {
                path: format!("/infrastructures/{inf_id}/vms/{vms}"),
                query: if context == Some(false) {
                    vec![("context", "0".into())]
                } else {
                    Vec::new()
                },
                ..Request::default()
            },
        )?;
        // IM-compat deviation: the reference reports success whatever the answer.
        if resp.ok() {
            Ok(Ok(vms))
        } else {
            Ok(Err(resp.text))
        }
    }

    fn addresource(&self) -> Result<Rest<Vec<String>>, Failure> {
        let inf_id = self.get_inf_id()?;
        let path = self.get_radl(1, true)?.unwrap_or_default();
        let mut context = None;
        if let Some(c) = self.args.get(2) {
            match flag(c) {
                Some(f) => context = Some(f),
                None => return Ok(Err("The ctxt flag must be 0 or 1".into())),
            }
        }
        let desc = read_input_file(&path, true)?;
        let resp = self.send(
            Method::POST,
            Request {
                path: format!("/infrastructures/{inf_id}"),
                query: if context == Some(false) {
                    vec![("context", "0".into())]
                } else {
                    Vec::new()
                },
                json: true,
                content_type: desc.content_type,
                body: Some(desc.body),
                ..Request::default()
            },
        )?;
        if resp.ok() {
            Ok(Ok(uri_list_ids(&resp.text)?))
        } else {
            Ok(Err(resp.text))
        }
    }

    /// `_create`: `POST /infrastructures`, asynchronous unless the flag is 0.
    fn create(&self) -> Result<Rest<String>, Failure> {
        let path = self.get_radl(0, true)?.unwrap_or_default();
        let asyncr = match self.args.get(1) {
            Some(a) => py_int(a).map_err(Failure::Exc)? != 0,
            None => true,
        };
        let desc = read_input_file(&path, true)?;
        let resp = self.send(
            Method::POST,
            Request {
                path: "/infrastructures".into(),
                query: if asyncr {
                    vec![("async", "yes".into())]
                } else {
                    Vec::new()
                },
                content_type: desc.content_type,
                body: Some(desc.body),
                ..Request::default()
            },
        )?;
        if resp.ok() {
            Ok(Ok(basename(&resp.text).to_string()))
        } else {
            Ok(Err(resp.text))
        }
    }

    fn alter(&self) -> Result<Rest<String>, Failure> {
        let inf_id = self.get_inf_id()?;
        let vm_id = self.get_vm_id()?;
        let path = self.get_radl(2, true)?.unwrap_or_default();
        // IM-compat deviation: the reference parses the RADL (no check) and
        // sends it, and takes no other format; JSON and
        // TOSCA files go with their type (the API accepts them).
        let desc = read_input_file(&path, false)?;
        let resp = self.send(
            Method::PUT,
            Request {
                path: format!("/infrastructures/{inf_id}/vms/{vm_id}"),
                content_type: desc.content_type,
                body: Some(desc.body),
                ..Request::default()
            },
        )?;
        Ok(if resp.ok() {
            Ok(resp.text)
        } else {
            Err(resp.text)
        })
    }

    fn reconfigure(&self) -> Result<Rest<String>, Failure> {
        let inf_id = self.get_inf_id()?;
        let path = self.get_radl(1, false)?;
        let vm_list = match self.args.get(2) {
            Some(l) => Some(
                l.split(',')
                    .map(|v| py_int(v).map(|i| i.to_string()))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(Failure::Exc)?
                    .join(","),
            ),
            None => None,
        };
        let desc = match path {
            Some(p) => read_input_file(&p, true)?,
            None => Description {
                body: String::new(),
                content_type: None,
            },
        };
        let resp = self.send(
            Method::PUT,
            Request {
                path: format!("/infrastructures/{inf_id}/reconfigure"),
                query: vm_list
                    .filter(|l| !l.is_empty())
                    .map(|l| vec![("vm_list", l)])
                    .unwrap_or_default(),
                content_type: desc.content_type,
                body: Some(desc.body),
                ..Request::default()
            },
        )?;
        Ok(if resp.ok() {
            Ok(resp.text)
        } else {
            Err(resp.text)
        })
    }

    fn getinfo(&self) -> Result<bool, Failure> {
        let inf_id = self.get_inf_id()?;
        let prop = self.args.get(1).cloned();
        let system_name = self.opts.system_name.clone();
        let resp = self.get(format!("/infrastructures/{inf_id}"), true)?;
        if !resp.ok() {
            say(&format!(
                "ERROR getting the information about infrastructure: ERROR getting the information about the infrastructure: {}",
                resp.text
            ));
            return Ok(false);
        }
        for vm_id in uri_list_ids(&resp.text)? {
            let res = self.getvminfo(&inf_id, &vm_id, prop.as_deref(), system_name.as_deref())?;
            if !self.opts.quiet {
                say(&format!("Info about VM with ID: {vm_id}"));
            }
            match res {
                Ok(radl) => {
                    if system_name.is_none() || !radl.is_empty() {
                        say(&radl);
                    }
                }
                Err(e) => say(&format!("ERROR getting the information about the VM: {e}")),
            }
        }
        Ok(true)
    }

    fn destroy(&self) -> Result<Rest<()>, Failure> {
        let inf_id = self.get_inf_id()?;
        if !self.opts.yes {
            let answer = input(&format!(
                "Are you sure you want to destroy Inf:{inf_id}?\nThis process cannot be undone!!.\n(yes/no):"
            ))?;
            if answer.trim().to_lowercase() != "yes" {
                return Ok(Err("Canceled by the user.".into()));
            }
        }
        let resp = self.send(
            Method::DELETE,
            Request {
                path: format!("/infrastructures/{inf_id}"),
                query: if self.opts.force {
                    vec![("force", "yes".into())]
                } else {
                    Vec::new()
                },
                ..Request::default()
            },
        )?;
        Ok(if resp.ok() { Ok(()) } else { Err(resp.text) })
    }

    fn list(&self) -> Result<bool, Failure> {
        let flt = self.args.first().cloned();
        let ids = match self.list_infras(flt.as_deref())? {
            Ok(ids) => ids,
            Err(e) => {
                say(&format!("ERROR listing then infrastructures: {e}"));
                return Ok(false);
            }
        };
        let quiet = self.opts.quiet;
        if ids.is_empty() {
            if !quiet {
                say("No Infrastructures.");
            }
            return Ok(true);
        }
        if !self.opts.name {
            if quiet {
                let list = Value::Array(ids.into_iter().map(Value::String).collect());
                say(&json_dumps(&list, Some(4)));
            } else {
                say(&format!("Infrastructure IDs: \n  {}", ids.join("\n  ")));
            }
            return Ok(true);
        }
        let mut names = Map::new();
        for inf_id in ids {
            let mut name = "N/A".to_string();
            if let Ok(radl) = self.get_infra_property(&inf_id, "radl")? {
                let radl =
                    im_radl::parse_radl(&py_str(&radl)).map_err(|e| Failure::Exc(e.to_string()))?;
                if let Some(f) = radl
                    .description
                    .as_ref()
                    .and_then(|d| d.features.get_feature("name"))
                    .filter(|f| f.value.is_truthy())
                {
                    name = feature_text(f);
                }
            }
            names.insert(inf_id, Value::String(name));
        }
        if quiet {
            say(&json_dumps(&Value::Object(names), Some(4)));
        } else {
            say("Infrastructure ID                       Name");
            say("====================================    ====");
            let lines: Vec<String> = names
                .iter()
                .map(|(id, name)| format!("{id}    {}", py_str(name)))
                .collect();
            say(&lines.join("\n"));
        }
        Ok(true)
    }

    fn import(&self) -> Result<Rest<String>, Failure> {
        let Some(path) = self.args.first() else {
            return Ok(Err("JSON file to create inf. not specified".into()));
        };
        if !Path::new(path).is_file() {
            return Ok(Err(format!("JSON file '{path}' does not exist")));
        }
        let mut data = read_text(path)?;
        // IM-compat deviation: `export` prints the data as a JSON string literal;
        // such a file is decoded once, so that export | import works.
        if let Ok(Value::String(inner)) = serde_json::from_str::<Value>(&data) {
            data = inner;
        }
        let resp = self.send(
            Method::PUT,
            Request {
                path: "/infrastructures".into(),
                body: Some(data),
                ..Request::default()
            },
        )?;
        Ok(if resp.ok() {
            Ok(basename(&resp.text).to_string())
        } else {
            Err(resp.text)
        })
    }

    fn get_cloud_info(&self, what: &str) -> Result<Rest<Value>, Failure> {
        let Some(cloud_id) = self.args.first() else {
            return Ok(Err("Cloud ID not specified".into()));
        };
        let resp = self.get(format!("/clouds/{cloud_id}/{what}"), true)?;
        if resp.ok() {
            Ok(Ok(json_field(&resp.text, what)?))
        } else {
            Ok(Err(resp.text))
        }
    }

    /// `_wait`: polls the state while it is pending, running or unknown (at most
    /// three unknowns), up to `max_time` seconds (default 10 h).
    fn wait(&self) -> Result<(bool, String), Failure> {
        let inf_id = self.get_inf_id()?;
        let max_time = match self.args.get(1) {
            Some(m) => py_int(m).map_err(Failure::Exc)?,
            None => 36000,
        };
        let interval = self.opts.poll_interval.unwrap_or(30);
        let mut unknown_count = 0;
        let mut waited: i128 = 0;
        let mut state = "pending".to_string();
        let waiting = |s: &str| matches!(s, "pending" | "running" | "unknown");
        while waiting(&state) && unknown_count < 3 && waited < max_time {
            state = match self.get_infra_property(&inf_id, "state")? {
                Ok(res) => res
                    .get("state")
                    .map(py_str)
                    .unwrap_or_else(|| "unknown".into()),
                Err(_) => "unknown".into(),
            };
            if state == "unknown" {
                unknown_count += 1;
            }
            if waiting(&state) {
                if !self.opts.quiet {
                    say(&format!(
                        "The infrastructure is in state: {state}. Wait ..."
                    ));
                }
                std::thread::sleep(Duration::from_secs(interval));
                waited += 30;
            }
        }
        Ok(if state == "configured" {
            (true, format!("The infrastructure is in state: {state}"))
        } else if waited >= max_time {
            (false, "Timeout waiting.".into())
        } else {
            (false, format!("The infrastructure is in state: {state}"))
        })
    }

    fn create_wait_outputs(&mut self) -> Result<bool, Failure> {
        let one = |k: &str, v: &str| {
            let mut m = Map::new();
            m.insert(k.into(), Value::String(v.into()));
            m
        };
        let inf_id = match self.create()? {
            Ok(id) => id,
            Err(e) => {
                say(&json_dumps(&Value::Object(one("error", &e)), None));
                return Ok(false);
            }
        };
        self.args = vec![inf_id.clone()];
        let (ok, error) = self.wait()?;
        if !ok {
            let mut m = one("error", &error);
            m.insert("infid".into(), Value::String(inf_id));
            say(&json_dumps(&Value::Object(m), None));
            return Ok(false);
        }
        match self.get_infra_property(&inf_id, "outputs")? {
            Ok(Value::Object(mut outputs)) => {
                outputs.insert("infid".into(), Value::String(inf_id));
                say(&json_dumps(&Value::Object(outputs), None));
            }
            _ => say(&format!("{{\"infid\": \"{inf_id}\", \"outputs\": {{}}}}")),
        }
        Ok(true)
    }

    fn change_auth(&self) -> Result<Rest<()>, Failure> {
        let inf_id = self.get_inf_id()?;
        let Some(path) = self.args.get(1) else {
            return Ok(Err("JSON file to create inf. not specified".into()));
        };
        if !Path::new(path).is_file() {
            return Ok(Err(format!("New auth file '{path}' does not exist")));
        }
        let data = read_auth_data(path)?;
        let Some(cred) = data.im_credential() else {
            return Ok(Err("No new InfrastructureManager auth provided.".into()));
        };
        let mut overwrite = false;
        if let Some(o) = self.args.get(2) {
            match flag(o) {
                Some(f) => overwrite = f,
                None => return Ok(Err("The overwrite flag must be 0 or 1".into())),
            }
        }
        let body: Map<String, Value> = cred
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect();
        let resp = self.send(
            Method::POST,
            Request {
                path: format!("/infrastructures/{inf_id}/authorization"),
                query: if overwrite {
                    vec![("overwrite", "1".into())]
                } else {
                    Vec::new()
                },
                body: Some(json_dumps(&Value::Object(body), None)),
                ..Request::default()
            },
        )?;
        Ok(if resp.ok() { Ok(()) } else { Err(resp.text) })
    }
}
