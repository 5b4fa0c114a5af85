//! `im radl check|json|fmt FILE`: RADL documents checked, converted and
//! formatted offline, as `terraform validate` does for its language.

use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use im_radl::{Radl, RadlError, parse_radl, parse_radl_json, radl_to_json, sort_keys};

use super::read_input;

/// `im radl ...`
#[derive(Subcommand)]
pub enum RadlCommand {
    /// Parse and check a document; print the error with its line and column.
    Check(Input),
    /// Print the JSON form of a document (keys sorted, as the reference's `dump_radl`).
    Json(Input),
    /// Print the document in the canonical text layout.
    Fmt(Input),
}

/// The document to read.
#[derive(Args)]
pub struct Input {
    /// A RADL file (plain text or JSON), or `-` for standard input.
    file: String,
    /// How to read it: by content (JSON when it starts with `[`), or forced.
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    input: Format,
}

/// The input language.
#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    /// JSON when the first non-blank character is `[`, plain text otherwise.
    Auto,
    /// Plain-text RADL.
    Radl,
    /// JSON RADL.
    Json,
}

fn parse(text: &str, format: Format) -> Result<Radl, RadlError> {
    let json = match format {
        Format::Auto => text.trim_start().starts_with('['),
        Format::Radl => false,
        Format::Json => true,
    };
    if json {
        parse_radl_json(text)
    } else {
        parse_radl(text)
    }
}

/// Prints an error as `FILE:LINE:COLUMN: message` (or `FILE: message`).
fn report(file: &str, e: &RadlError) {
    let name = if file == "-" { "<stdin>" } else { file };
    match (e.line(), e.column()) {
        (Some(l), Some(c)) => eprintln!("{name}:{l}:{c}: {e}"),
        _ => eprintln!("{name}: {e}"),
    }
}

/// Runs one `im radl` command; exit 1 when the document is invalid.
pub fn run(cmd: RadlCommand) -> anyhow::Result<ExitCode> {
    let (input, check) = match &cmd {
        RadlCommand::Check(i) => (i, true),
        RadlCommand::Json(i) | RadlCommand::Fmt(i) => (i, false),
    };
    let text = read_input(&input.file)?;
    let radl = match parse(&text, input.input).and_then(|r| {
        if check {
            r.check()?;
        }
        Ok(r)
    }) {
        Ok(r) => r,
        Err(e) => {
            report(&input.file, &e);
            return Ok(ExitCode::FAILURE);
        }
    };
    match cmd {
        RadlCommand::Check(_) => println!(
            "{}: valid RADL ({} systems, {} networks, {} configures, {} deploys)",
            if input.file == "-" {
                "<stdin>"
            } else {
                &input.file
            },
            radl.systems.len(),
            radl.networks.len(),
            radl.configures.len(),
            radl.deploys.len()
        ),
        RadlCommand::Json(_) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&sort_keys(radl_to_json(&radl)))?
            )
        }
        RadlCommand::Fmt(_) => println!("{}", radl.to_string().trim_end()),
    }
    Ok(ExitCode::SUCCESS)
}
