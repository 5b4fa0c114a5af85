//! `im tosca check|radl FILE`: TOSCA documents validated and converted to
//! RADL offline, as the service would on `POST /infrastructures`.
//!
//! Imported type files of the INDIGO and GRyCAP repositories ship with the
//! binary; other remote files (playbooks, other imports) are downloaded over
//! HTTP unless `--offline`, or read from a local mirror with `--mirror DIR`.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use im_tosca::{DirFetcher, Fetcher, NoFetcher, ParseOptions, Tosca, ToscaError};

use super::read_input;

/// How long one download may take (the reference's `GET_TIMEOUT`).
const TIMEOUT: Duration = Duration::from_secs(20);

/// `im tosca ...`
#[derive(Subcommand)]
pub enum ToscaCommand {
    /// Validate a document; print the errors with their lines.
    Check(Input),
    /// Print the RADL a document converts to.
    Radl(Input),
}

/// The document to read and where remote files come from.
#[derive(Args)]
pub struct Input {
    /// A TOSCA YAML file, or `-` for standard input.
    file: String,
    /// Download nothing: only the shipped type files are available.
    #[arg(long)]
    offline: bool,
    /// Serve `https://HOST/PATH` from `DIR/HOST/PATH` instead of downloading.
    #[arg(long, value_name = "DIR", conflicts_with = "offline")]
    mirror: Option<String>,
    /// Base URL of the TOSCA repository `template_file` imports are read from.
    #[arg(long, value_name = "URL")]
    tosca_repo: Option<String>,
}

/// Downloads over HTTP(S), one request at a time.
struct HttpFetcher {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl HttpFetcher {
    fn new() -> anyhow::Result<Self> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the HTTP runtime")?;
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .context("cannot build the HTTP client")?;
        Ok(HttpFetcher { rt, client })
    }
}

impl Fetcher for HttpFetcher {
    fn fetch(&self, url: &str) -> Result<String, String> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!("unsupported URL {url}"));
        }
        self.rt.block_on(async {
            let resp = self
                .client
                .get(url)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = resp.status();
            let text = resp.text().await.map_err(|e| e.to_string())?;
            if status.is_success() {
                Ok(text)
            } else {
                Err(status
                    .canonical_reason()
                    .unwrap_or(status.as_str())
                    .to_string())
            }
        })
    }
}

/// Prints an error as `FILE:LINE: message` per validation problem.
fn report(file: &str, e: &ToscaError) {
    let name = if file == "-" { "<stdin>" } else { file };
    match e {
        ToscaError::Invalid(issues) => {
            for i in issues {
                match i.line {
                    Some(l) => eprintln!("{name}:{l}: {}: {}", i.kind.as_str(), i.message),
                    None => eprintln!("{name}: {}: {}", i.kind.as_str(), i.message),
                }
            }
        }
        ToscaError::Syntax {
            line: Some(l),
            column,
            ..
        } => eprintln!("{name}:{l}:{}: {e}", column.unwrap_or(1)),
        _ => eprintln!("{name}: {e}"),
    }
}

/// Runs one `im tosca` command; exit 1 when the document is invalid.
pub fn run(cmd: ToscaCommand) -> anyhow::Result<ExitCode> {
    let (input, convert) = match &cmd {
        ToscaCommand::Check(i) => (i, false),
        ToscaCommand::Radl(i) => (i, true),
    };
    let text = read_input(&input.file)?;
    let fetcher: Box<dyn Fetcher> = match (&input.mirror, input.offline) {
        (Some(dir), _) => Box::new(DirFetcher::new(dir)),
        (None, true) => Box::new(NoFetcher),
        (None, false) => Box::new(HttpFetcher::new()?),
    };
    let mut opts = ParseOptions::new(fetcher.as_ref());
    opts.tosca_repo = input.tosca_repo.as_deref();
    let result = Tosca::parse(&text, &opts).and_then(|t| {
        // `check` converts too: a valid document that cannot become RADL
        // (a missing playbook, a bad credential) is an error the service gives.
        t.to_radl(None, fetcher.as_ref())
    });
    match result {
        Ok(conv) => {
            if convert {
                println!("{}", conv.radl);
            } else {
                let r = &conv.radl;
                println!(
                    "valid TOSCA ({} systems, {} networks, {} configures, {} deploys)",
                    r.systems.len(),
                    r.networks.len(),
                    r.configures.len(),
                    r.deploys.len()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            report(&input.file, &e);
            Ok(ExitCode::from(1))
        }
    }
}
