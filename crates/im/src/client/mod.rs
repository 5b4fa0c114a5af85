//! `im <operation>`: the command-line client of the IM REST API.
//!
//! A port of the reference client `im_client.py` (PyPI `IM-client` 1.8.4,
//! `imclient/cli.py` and `imclient/imclient.py`) for its REST transport: the
//! same operations, positional arguments and options (before or after the
//! operation, as `optparse` allows), the defaults of `im_client.cfg` /
//! `~/.im_client.cfg`, the same requests and the same printed lines and exit
//! codes (0 success, 1 failure, 2 usage error).
//!
//! Deliberate differences (marked `IM-compat deviation` in the code; the table
//! is in `docs/compat.md`): XML-RPC is refused; `removeresource` and
//! `getoutputs` report server errors; `-q create` prints the ID; `import`
//! accepts what `export` prints; RADL errors carry file, line and column; a
//! `Bearer` token read with `file(...)`/`command(...)` is not quoted; `alter`
//! sends JSON/TOSCA files with their type; every request has a timeout
//! (`--timeout`, default 600 s); operation names are case-sensitive and extra
//! positional arguments are refused.

mod auth;
mod config;
mod http;
mod ops;
mod pyfmt;
mod ssh;

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, Subcommand};

/// The reference client's global options, accepted before the operation
/// (`im -a auth.dat list`) and after it (`im list -a auth.dat`).
#[derive(Args, Clone, Debug, Default)]
#[command(next_help_heading = "Client options")]
pub struct Options {
    /// Authentication data file (default: `auth_file` in im_client.cfg or
    /// ~/.im_client.cfg).
    #[arg(short = 'a', long = "auth_file", value_name = "FILE")]
    pub auth_file: Option<String>,
    /// URL of the XML-RPC API of the reference: not supported, use -r.
    #[arg(short = 'u', long = "xmlrpc-url", value_name = "URL")]
    pub xmlrpc: Option<String>,
    /// URL address of the InfrastructureManager REST API (default:
    /// `restapi_url` in im_client.cfg, else http://localhost:8800).
    #[arg(
        short = 'r',
        long = "rest-url",
        visible_alias = "restapi-url",
        value_name = "URL"
    )]
    pub restapi: Option<String>,
    /// Verify the certificate of the InfrastructureManager server.
    #[arg(short = 'v', long = "verify-ssl")]
    pub verify: bool,
    /// Force the deletion of the infrastructure.
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Work in quiet mode.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Use infrastructure name instead of ID.
    #[arg(short = 'n', long)]
    pub name: bool,
    /// Filter VMs by system name.
    #[arg(short = 's', long = "system_name", value_name = "NAME")]
    pub system_name: Option<String>,
    /// Do not ask for confirmation when performing operations that may cause
    /// data loss.
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Seconds to wait for each HTTP request (default 600).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// Seconds between two state polls of `wait` (default 30).
    #[arg(long, value_name = "SECONDS", hide = true)]
    pub poll_interval: Option<u64>,
}

impl Options {
    /// Options given after the operation override those given before it.
    fn merge(self, after: Options) -> Options {
        Options {
            auth_file: after.auth_file.or(self.auth_file),
            xmlrpc: after.xmlrpc.or(self.xmlrpc),
            restapi: after.restapi.or(self.restapi),
            verify: self.verify || after.verify,
            force: self.force || after.force,
            quiet: self.quiet || after.quiet,
            name: self.name || after.name,
            system_name: after.system_name.or(self.system_name),
            yes: self.yes || after.yes,
            timeout: after.timeout.or(self.timeout),
            poll_interval: after.poll_interval.or(self.poll_interval),
        }
    }
}

/// The client operations, named as `im_client.py` names them. Positional
/// arguments are optional here so that a missing one gets the reference's
/// message (e.g. `Infrastructure ID not specified`).
#[derive(Subcommand, Debug)]
pub enum ClientCommand {
    /// List the infrastructures (optionally filtered by a regular expression on their RADL).
    List {
        /// Regular expression.
        filter: Option<String>,
        #[command(flatten)]
        o: Options,
    },
    /// Create an infrastructure from a RADL, JSON RADL (.json) or TOSCA (.yaml) file.
    Create {
        /// The description file.
        radl_file: Option<String>,
        /// 1: return at once (default with REST), 0: wait for the deployment.
        async_flag: Option<String>,
        #[command(flatten)]
        o: Options,
    },
    /// Destroy an infrastructure (asks for confirmation unless -y; -f forces it).
    Destroy {
        /// Infrastructure ID.
        inf_id: Option<String>,
        #[command(flatten)]
        o: Options,
    },
    /// Show the information of every VM of an infrastructure.
    Getinfo {
        /// Infrastructure ID.
        inf_id: Option<String>,
        /// Only this RADL attribute.
        radl_attribute: Option<String>,
        #[command(flatten)]
        o: Options,
    },
    /// Show the RADL of an infrastructure.
    Getradl {
        /// Infrastructure ID.
        inf_id: Option<String>,
        #[command(flatten)]
        o: Options,
    },
    /// Show the contextualization log of an infrastructure.
    Getcontmsg {
        /// Infrastructure ID.
        inf_id: Option<String>,
        #[command(flatten)]
        o: Options,
    },
    /// Show the state of an infrastructure and of its VMs.
    Getstate {
        /// Infrastructure ID.
        inf_id: Option<String>,
        #[command(flatten)]
        o: Options,
    },
    /// Show the information (RADL) of a VM.
    Getvminfo {
        /// Infrastructure ID.
        inf_id: Option<String>,
        /// VM ID.
        vm_id: Option<String>,
        /// Only this RADL attribute.
        radl_attribute: Option<String>,
        #[command(flatten)]
        o: Options,
    },
    /// Show the contextualization log of a VM.
    Getvmcontmsg {
        /// Infrastructure ID.
        inf_id: Option<String>,
        /// VM ID.
        vm_id: Option<String>,
        #[command(flatten)]
        o: Options,
    },
    /// Add the resources of a description file to an infrastructure.
    Addresource {
        /// Infrastructure ID.
        inf_id: Option<String>,
        /// The description file.
        radl_file: Option<String>,
        /// 0: do not contextualize afterwards, 1: do.
        ctxt_flag: Option<String>,
        #[command(flatten)]
        o: Options,
    },
    /// Remove VMs (comma-separated IDs) from an infrastructure.
    Removeresource {
        /// Infrastructure ID.
        inf_id: Option<String>,
        /// VM IDs, comma-separated.
        vm_id: Option<String>,
        /// 0: do not contextualize afterwards, 1: do.
        ctxt_flag: Option<String>,
        #[command(flatten)]
        o: Options,
    },
    /// Modify the features of a VM with a RADL file.
    Alter {
        /// Infrastructure ID.
        inf_id: Option<String>,
        /// VM ID.
        vm_id: Option<String>,
        /// The RADL file.
        radl_file: Option<String>,
        #[command(flatten)]
        o: Options,
    },
    /// Contextualize an infrastructure again, optionally with new recipes.
    Reconfigure {
        /// Infrastructure ID.
        inf_id: Option<String>,
        /// A description file with the new configuration.
        radl_file: Option<String>,
        /// Only these VMs (comma-separated IDs).
        vm_list: Option<String>,
        #[command(flatten)]
        o: Options,
    },
    /// Start (resume) the VMs of an infrastructure.
    Start {
        /// Infrastructure ID.
        inf_id: Option<String>,
        #[command(flatten)]
        o: Options,
    },
    /// Stop (suspend) the VMs of an infrastructure.
    Stop {
        /// Infrastructure ID.
        inf_id: Option<String>,
        #[command(flatten)]
        o: Options,
    },
    /// Start a VM.
    Startvm {
        /// Infrastructure ID.
        inf_id: Option<String>,
        /// VM ID.
        vm_id: Option<String>,
        #[command(flatten)]
        o: Options,
    },
    /// Stop a VM.
    Stopvm {
        /// Infrastructure ID.
        inf_id: Option<String>,
        /// VM ID.
        vm_id: Option<String>,
        #[command(flatten)]
        o: Options,
    },
    /// Reboot a VM.
    Rebootvm {
        /// Infrastructure ID.
        inf_id: Option<String>,
        /// VM ID.
        vm_id: Option<String>,
        #[command(flatten)]
        o: Options,
    },
    /// Open an SSH session to a VM (runs ssh/sshpass), or print the command (show_only 1).
    Sshvm {
        /// Infrastructure ID.
        inf_id: Option<String>,
        /// VM ID.
        vm_id: Option<String>,
        /// 1: only print the ssh command.
        show_only: Option<String>,
        /// A command to run on the VM.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        cmd: Vec<String>,
        #[command(flatten)]
        o: Options,
    },
    /// Open an SSH session to the master VM (VM 0).
    Ssh {
        /// Infrastructure ID.
        inf_id: Option<String>,
        /// 1: only print the ssh command.
        show_only: Option<String>,
        /// A command to run on the VM.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        cmd: Vec<String>,
        #[command(flatten)]
        o: Options,
    },
    /// Copy a local file to a VM with scp.
    Putvm {
        /// Infrastructure ID.
        inf_id: Option<String>,
        /// VM ID.
        vm_id: Option<String>,
        /// 1: only print the scp command.
        show_only: Option<String>,
        /// Local path and remote path.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        paths: Vec<String>,
        #[command(flatten)]
        o: Options,
    },
    /// Copy a local file to the master VM with scp.
    Put {
        /// Infrastructure ID.
        inf_id: Option<String>,
        /// 1: only print the scp command.
        show_only: Option<String>,
        /// Local path and remote path.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        paths: Vec<String>,
        #[command(flatten)]
        o: Options,
    },
    /// Copy a file of a VM here with scp.
    Getvm {
        /// Infrastructure ID.
        inf_id: Option<String>,
        /// VM ID.
        vm_id: Option<String>,
        /// 1: only print the scp command.
        show_only: Option<String>,
        /// Remote path and local path.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        paths: Vec<String>,
        #[command(flatten)]
        o: Options,
    },
    /// Copy a file of the master VM here with scp.
    Get {
        /// Infrastructure ID.
        inf_id: Option<String>,
        /// 1: only print the scp command.
        show_only: Option<String>,
        /// Remote path and local path.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        paths: Vec<String>,
        #[command(flatten)]
        o: Options,
    },
    /// Print the data of an infrastructure (to import it elsewhere).
    Export {
        /// Infrastructure ID.
        inf_id: Option<String>,
        /// 1: delete the infrastructure from this IM after exporting it.
        delete: Option<String>,
        #[command(flatten)]
        o: Options,
    },
    /// Import an infrastructure from a file written by export.
    Import {
        /// The JSON file.
        json_file: Option<String>,
        #[command(flatten)]
        o: Options,
    },
    /// Show the outputs of a TOSCA infrastructure.
    Getoutputs {
        /// Infrastructure ID.
        inf_id: Option<String>,
        #[command(flatten)]
        o: Options,
    },
    /// Show the quotas and usage of a cloud (its id in the auth file).
    #[command(visible_alias = "cloudquotas")]
    Cloudusage {
        /// Cloud ID (the `id` of its auth line).
        cloud_id: Option<String>,
        #[command(flatten)]
        o: Options,
    },
    /// Show the images of a cloud (its id in the auth file).
    Cloudimages {
        /// Cloud ID (the `id` of its auth line).
        cloud_id: Option<String>,
        #[command(flatten)]
        o: Options,
    },
    /// Show the version of the IM service.
    Getversion {
        #[command(flatten)]
        o: Options,
    },
    /// Wait until an infrastructure is configured (or fails), polling every 30 s.
    Wait {
        /// Infrastructure ID.
        inf_id: Option<String>,
        /// Maximum seconds to wait (default 36000).
        max_time: Option<String>,
        #[command(flatten)]
        o: Options,
    },
    /// Create an infrastructure, wait for it and print its outputs as JSON.
    #[command(name = "create_wait_outputs")]
    CreateWaitOutputs {
        /// The description file.
        radl_file: Option<String>,
        #[command(flatten)]
        o: Options,
    },
    /// Add (or, with overwrite 1, set) the owner of an infrastructure from an auth file.
    #[command(name = "change_auth")]
    ChangeAuth {
        /// Infrastructure ID.
        inf_id: Option<String>,
        /// An auth file with the new InfrastructureManager credentials.
        new_auth_file: Option<String>,
        /// 1: replace the owners instead of adding one.
        overwrite: Option<String>,
        #[command(flatten)]
        o: Options,
    },
}

/// The positional arguments as the reference sees them: the given ones, in order.
fn given(args: impl IntoIterator<Item = Option<String>>) -> Vec<String> {
    args.into_iter().map_while(|a| a).collect()
}

impl ClientCommand {
    /// The reference's operation name, its positional arguments and the options.
    fn into_parts(self) -> (&'static str, Vec<String>, Options) {
        use ClientCommand as C;
        match self {
            C::List { filter, o } => ("list", given([filter]), o),
            C::Create {
                radl_file,
                async_flag,
                o,
            } => ("create", given([radl_file, async_flag]), o),
            C::Destroy { inf_id, o } => ("destroy", given([inf_id]), o),
            C::Getinfo {
                inf_id,
                radl_attribute,
                o,
            } => ("getinfo", given([inf_id, radl_attribute]), o),
            C::Getradl { inf_id, o } => ("getradl", given([inf_id]), o),
            C::Getcontmsg { inf_id, o } => ("getcontmsg", given([inf_id]), o),
            C::Getstate { inf_id, o } => ("getstate", given([inf_id]), o),
            C::Getvminfo {
                inf_id,
                vm_id,
                radl_attribute,
                o,
            } => ("getvminfo", given([inf_id, vm_id, radl_attribute]), o),
            C::Getvmcontmsg { inf_id, vm_id, o } => ("getvmcontmsg", given([inf_id, vm_id]), o),
            C::Addresource {
                inf_id,
                radl_file,
                ctxt_flag,
                o,
            } => ("addresource", given([inf_id, radl_file, ctxt_flag]), o),
            C::Removeresource {
                inf_id,
                vm_id,
                ctxt_flag,
                o,
            } => ("removeresource", given([inf_id, vm_id, ctxt_flag]), o),
            C::Alter {
                inf_id,
                vm_id,
                radl_file,
                o,
            } => ("alter", given([inf_id, vm_id, radl_file]), o),
            C::Reconfigure {
                inf_id,
                radl_file,
                vm_list,
                o,
            } => ("reconfigure", given([inf_id, radl_file, vm_list]), o),
            C::Start { inf_id, o } => ("start", given([inf_id]), o),
            C::Stop { inf_id, o } => ("stop", given([inf_id]), o),
            C::Startvm { inf_id, vm_id, o } => ("startvm", given([inf_id, vm_id]), o),
            C::Stopvm { inf_id, vm_id, o } => ("stopvm", given([inf_id, vm_id]), o),
            C::Rebootvm { inf_id, vm_id, o } => ("rebootvm", given([inf_id, vm_id]), o),
            C::Sshvm {
                inf_id,
                vm_id,
                show_only,
                cmd,
                o,
            } => {
                let mut a = given([inf_id, vm_id, show_only]);
                a.extend(cmd);
                ("sshvm", a, o)
            }
            C::Ssh {
                inf_id,
                show_only,
                cmd,
                o,
            } => {
                let mut a = given([inf_id, show_only]);
                a.extend(cmd);
                ("ssh", a, o)
            }
            C::Putvm {
                inf_id,
                vm_id,
                show_only,
                paths,
                o,
            } => {
                let mut a = given([inf_id, vm_id, show_only]);
                a.extend(paths);
                ("putvm", a, o)
            }
            C::Put {
                inf_id,
                show_only,
                paths,
                o,
            } => {
                let mut a = given([inf_id, show_only]);
                a.extend(paths);
                ("put", a, o)
            }
            C::Getvm {
                inf_id,
                vm_id,
                show_only,
                paths,
                o,
            } => {
                let mut a = given([inf_id, vm_id, show_only]);
                a.extend(paths);
                ("getvm", a, o)
            }
            C::Get {
                inf_id,
                show_only,
                paths,
                o,
            } => {
                let mut a = given([inf_id, show_only]);
                a.extend(paths);
                ("get", a, o)
            }
            C::Export { inf_id, delete, o } => ("export", given([inf_id, delete]), o),
            C::Import { json_file, o } => ("import", given([json_file]), o),
            C::Getoutputs { inf_id, o } => ("getoutputs", given([inf_id]), o),
            C::Cloudusage { cloud_id, o } => ("cloudusage", given([cloud_id]), o),
            C::Cloudimages { cloud_id, o } => ("cloudimages", given([cloud_id]), o),
            C::Getversion { o } => ("getversion", Vec::new(), o),
            C::Wait {
                inf_id,
                max_time,
                o,
            } => ("wait", given([inf_id, max_time]), o),
            C::CreateWaitOutputs { radl_file, o } => ("create_wait_outputs", given([radl_file]), o),
            C::ChangeAuth {
                inf_id,
                new_auth_file,
                overwrite,
                o,
            } => ("change_auth", given([inf_id, new_auth_file, overwrite]), o),
        }
    }
}

/// How an operation ends when it does not end with its own result.
#[derive(Debug)]
pub enum Failure {
    /// What the reference prints for an exception it catches: the text on
    /// standard output, exit 1.
    Exc(String),
    /// What the reference reports with `parser.error`: standard error, exit 2.
    Usage(String),
}

/// Prints one line on standard output, as Python's `print` (a closed pipe ends
/// the output silently).
pub(crate) fn say(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
}

/// Prints without a newline and flushes (prompts, `print(x, end=" ")`).
pub(crate) fn say_inline(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "{text}");
    let _ = out.flush();
}

/// Runs one client operation; `before` are the options given before it.
pub fn run(before: Options, cmd: ClientCommand) -> anyhow::Result<ExitCode> {
    let (op, args, after) = cmd.into_parts();
    let opts = before.merge(after);
    let code = match ops::main(op, args, opts) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(Failure::Exc(msg)) => {
            say(&msg);
            1
        }
        Err(Failure::Usage(msg)) => {
            let _ = std::io::stdout().flush();
            eprintln!("im: error: {msg}");
            2
        }
    };
    let _ = std::io::stdout().flush();
    Ok(ExitCode::from(code))
}
