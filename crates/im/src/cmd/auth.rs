//! `im auth check FILE`: an auth file parsed as the server reads it, printed as
//! JSON with every secret masked.

use std::process::ExitCode;

use clap::Subcommand;

use super::read_input;

/// `im auth ...`
#[derive(Subcommand)]
pub enum AuthCommand {
    /// Parse an auth file (line format or JSON list); print the entries and the
    /// clouds they define, secrets masked. Exit 1 if the file is invalid.
    Check {
        /// The auth file, or `-` for standard input.
        file: String,
    },
}

/// Runs one `im auth` command.
pub fn run(cmd: AuthCommand) -> anyhow::Result<ExitCode> {
    let AuthCommand::Check { file } = cmd;
    let text = read_input(&file)?;
    let items = match im_auth::parse_auth_file(&text) {
        Ok(items) => items,
        Err(e) => {
            eprintln!("{}: {e}", if file == "-" { "<stdin>" } else { &file });
            return Ok(ExitCode::FAILURE);
        }
    };
    let report = im_auth::describe(&items, true);
    println!("{}", serde_json::to_string_pretty(&report)?);
    let valid = report["valid_ids"].as_bool().unwrap_or(false);
    if !valid {
        eprintln!(
            "{}: {}",
            if file == "-" { "<stdin>" } else { &file },
            report["id_error"].as_str().unwrap_or("invalid auth data")
        );
    }
    Ok(if valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
