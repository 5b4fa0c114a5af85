//! Prints what `im-auth` parses from an auth file or an `Authorization` header, in
//! the JSON shape of `shared/oracle/auth_oracle.py`, for differential testing:
//!
//! ```text
//! cargo run -p im-auth --example describe -- file PATH
//! cargo run -p im-auth --example describe -- header VALUE|@PATH
//! cargo run -p im-auth --example describe -- build PATH
//! cargo run -p im-auth --example describe -- jwt TOKEN
//! ```

use std::process::ExitCode;

use serde_json::json;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(mode), Some(arg)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: describe file|header|build ARG");
        return ExitCode::from(3);
    };
    if mode == "jwt" {
        let out = match im_auth::decode_jwt_payload(arg) {
            Ok(payload) => json!({ "payload": payload }),
            Err(err) => json!({ "error": err.to_string() }),
        };
        println!("{out}");
        return ExitCode::SUCCESS;
    }
    let read = |path: &str| std::fs::read_to_string(path).map_err(|e| e.to_string());
    let parsed = match mode.as_str() {
        "file" | "build" => {
            read(arg).and_then(|t| im_auth::parse_auth_file(&t).map_err(|e| e.to_string()))
        }
        "header" => {
            let value = match arg.strip_prefix('@') {
                Some(path) => read(path).map(|t| t.trim_end_matches(['\r', '\n']).to_string()),
                None => Ok(arg.clone()),
            };
            value.and_then(|v| {
                im_auth::parse_auth_header(&v)
                    .map(|h| h.credentials().to_vec())
                    .map_err(|e| e.to_string())
            })
        }
        _ => Err(format!("unknown mode {mode}")),
    };
    match parsed {
        Ok(items) if mode == "build" => {
            println!("{}", im_auth::build_auth_header(&items));
            ExitCode::SUCCESS
        }
        Ok(items) => {
            let out = im_auth::describe(&items, false);
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(err) => {
            println!("{}", json!({"error": err}));
            ExitCode::from(1)
        }
    }
}
