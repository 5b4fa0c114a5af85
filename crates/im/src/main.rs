//! The `im` binary: the Infrastructure Manager's command line.
//!
//! This module owns argument parsing and exit codes; each command group lives in
//! its own module under `cmd/`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod client;
mod cmd;
mod config;
mod fetch;
mod http;
mod oai_remote;
mod oidc;
mod serve;

/// mimalloc instead of glibc's malloc: a create allocates a few hundred small
/// objects across two worker threads, and glibc spent a fifth of the
/// server's CPU on them (arena locking, consolidation, growing and trimming
/// heaps with `mprotect`); see docs/benchmarks.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The Infrastructure Manager: deploy and configure virtual infrastructures.
#[derive(Parser)]
#[command(name = "im", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// The client options, also accepted before the operation.
    #[command(flatten)]
    client: client::Options,
}

#[derive(Subcommand)]
enum Command {
    /// Run the IM service (REST API on 127.0.0.1:8800, SQLite in ./im-data/).
    Serve(serve::ServeArgs),
    /// Check, convert and format RADL documents offline.
    #[command(subcommand)]
    Radl(cmd::radl::RadlCommand),
    /// Check IM authorization files offline.
    #[command(subcommand)]
    Auth(cmd::auth::AuthCommand),
    /// Validate TOSCA documents and convert them to RADL.
    #[command(subcommand)]
    Tosca(cmd::tosca::ToscaCommand),
    /// The client operations of the reference `im_client.py` (REST).
    #[command(flatten)]
    Client(client::ClientCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(a) => serve::run(a),
        Command::Radl(c) => cmd::radl::run(c),
        Command::Auth(c) => cmd::auth::run(c),
        Command::Tosca(c) => cmd::tosca::run(c),
        Command::Client(c) => client::run(cli.client, c),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
