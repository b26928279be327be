//! The `berth` command line: argument definitions (shared with the man page generator) and one
//! module per verb. The binary only calls [`main`].

mod apply;
mod check;
mod image;
mod inspect;
mod run;
mod status;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::definition::search::{SearchPath, SEARCH_PATH_ENV};
use crate::lifecycle::{Context, Paths};

/// Exit codes, as documented in berth(1).
pub mod exit {
    /// Success; for `check`, every definition is valid.
    pub const OK: u8 = 0;
    /// A definition is invalid, missing or masked, or the operation failed.
    pub const FAILED: u8 = 1;
    /// The command line is wrong (clap's own code for usage errors).
    pub const USAGE: u8 = 2;
    /// `apply`: nothing was applied, because berth could not take the apply lock, read the
    /// search path or reach systemd. (1 means some containers failed and the rest was
    /// applied; berth.service counts that as success.)
    pub const NOT_APPLIED: u8 = 3;
}

#[derive(Debug, Parser)]
#[command(name = "berth", version, about = "Host containers as systemd scopes")]
pub struct Cli {
    /// Directories searched for definitions, `:`-separated, highest priority first
    /// [default: /etc/berth/containers:/run/berth/containers:/usr/lib/berth/containers]
    #[arg(long, global = true, value_name = "DIRS", env = SEARCH_PATH_ENV)]
    pub containers_path: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check definitions and report every error; exit 0 when all are valid, 1 when not
    Check {
        /// Container names or definition file paths; all definitions when none are given
        #[arg(value_name = "NAME|PATH")]
        targets: Vec<String>,
        /// Print the result as JSON
        #[arg(long)]
        json: bool,
    },
    /// Print the effective definition, merged and with defaults filled in
    Show {
        name: String,
        /// Say for each value which file and line set it, or "default"
        #[arg(long)]
        origin: bool,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Print the files that make up a definition, in the order they are applied
    Cat { name: String },
    /// List defined and running containers with their state and usage
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Show a container's state, unit, limits, processes and latest journal lines
    Status {
        name: String,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Start containers as transient systemd scopes
    Start {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Stop containers and check that nothing of them is left
    Stop {
        #[arg(required = true)]
        names: Vec<String>,
        /// Seconds to wait after the stop signal before killing what is left
        #[arg(long, value_name = "S")]
        timeout: Option<u64>,
    },
    /// Stop, then start containers
    Restart {
        #[arg(required = true)]
        names: Vec<String>,
        /// Seconds to wait after the stop signal before killing what is left
        #[arg(long, value_name = "S")]
        timeout: Option<u64>,
    },
    /// Send a signal to every process of a container
    Kill {
        name: String,
        /// The signal, by name or number
        #[arg(long, short = 's', default_value = "SIGTERM")]
        signal: String,
    },
    /// Run a command inside a running container, with its confinement; exits with its status
    Exec {
        name: String,
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// Open the user's login shell inside a running container
    Shell { name: String },
    /// Import, list and remove the images image containers are made from
    Image {
        #[command(subcommand)]
        command: ImageCommand,
    },
    /// Drop a stopped container's persistent data (private /etc and /var, or its writable
    /// layer), as before its first start
    Reset { name: String },
    /// Make the host match the definitions: print the plan, then carry it out
    ///
    /// Starts containers with autostart on, updates in place the running ones whose resource
    /// limits, description or autostart changed, restarts those with any other change, and
    /// stops berth's containers whose definition is gone, masked or no longer autostart.
    /// Containers berth did not start are never touched; an invalid definition is reported as
    /// `berth check` reports it and the rest is applied. The search path is the whole truth:
    /// with --containers-path, berth's containers defined only elsewhere are stopped.
    ///
    /// Exit status: 0 nothing failed; 1 something failed (an invalid definition, a container
    /// that could not be changed), the rest was applied; 2 usage; 3 nothing was applied (no
    /// apply lock, no systemd, unreadable search path).
    Apply {
        /// Only these containers; all when none are given
        names: Vec<String>,
        /// Print the plan and change nothing
        #[arg(long)]
        dry_run: bool,
        /// Apply again (up to 3 times) when definition files changed while applying, as
        /// berth-apply.service does: systemd does not watch berth.path's paths meanwhile
        #[arg(long, conflicts_with = "dry_run")]
        until_stable: bool,
        /// Print the plan and the results as JSON, with a top-level `changed` boolean
        #[arg(long)]
        json: bool,
    },
    /// Turn autostart on with a drop-in of berth's own (NAME.toml.d/50-berth-enable.toml)
    Enable {
        name: String,
        /// Also start the container now
        #[arg(long)]
        now: bool,
    },
    /// Turn autostart off with a drop-in of berth's own (NAME.toml.d/50-berth-enable.toml)
    Disable {
        name: String,
        /// Also stop the container now
        #[arg(long)]
        now: bool,
    },
    /// Show a container's journal
    Logs {
        name: String,
        /// Follow new entries
        #[arg(long, short = 'f')]
        follow: bool,
        /// Number of most recent lines
        #[arg(long, short = 'n', value_name = "N")]
        lines: Option<u32>,
        /// Entries since this time (journalctl --since syntax)
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Unpack a tarball of a root tree (plain or compressed, as tar reads it) as an image
    Import {
        #[arg(value_name = "TARBALL")]
        tarball: PathBuf,
        image: String,
    },
    /// List the imported images and the containers whose layers sit on them
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Remove an image that no container's layer sits on
    Remove { image: String },
}

impl Cli {
    fn search_path(&self) -> SearchPath {
        self.containers_path
            .as_deref()
            .map(SearchPath::parse)
            .unwrap_or_default()
    }
}

/// A definition file named on the command line rather than a container name.
pub(crate) fn is_path(target: &str) -> bool {
    target.contains('/') || target.ends_with(".toml")
}

pub fn main() -> ExitCode {
    quiet_on_broken_stdout();
    let cli = Cli::parse();
    init_logging();
    let search = cli.search_path();
    let ctx = Context {
        search: search.clone(),
        paths: Paths::default(),
    };
    let code = match cli.command {
        Command::Check { targets, json } => check::run(&search, &targets, json),
        Command::Show { name, origin, json } => inspect::show(&search, &name, origin, json),
        Command::Cat { name } => inspect::cat(&search, &name),
        Command::List { json } => status::list(&ctx, json),
        Command::Status { name, json } => status::status(&ctx, &name, json),
        Command::Start { names } => run::start(&ctx, &names),
        Command::Stop { names, timeout } => run::stop(&ctx, &names, timeout),
        Command::Restart { names, timeout } => run::restart(&ctx, &names, timeout),
        Command::Kill { name, signal } => run::kill(&ctx, &name, &signal),
        Command::Exec { name, command } => run::exec(&ctx, &name, &command),
        Command::Shell { name } => run::exec(&ctx, &name, &[]),
        Command::Image { command } => match command {
            ImageCommand::Import { tarball, image } => image::import(&ctx, &tarball, &image),
            ImageCommand::List { json } => image::list(&ctx, json),
            ImageCommand::Remove { image } => image::remove(&ctx, &image),
        },
        Command::Reset { name } => image::reset(&ctx, &name),
        Command::Apply {
            names,
            dry_run,
            until_stable,
            json,
        } => apply::apply(&ctx, &names, dry_run, until_stable, json),
        Command::Enable { name, now } => apply::set_autostart(&ctx, &name, true, now),
        Command::Disable { name, now } => apply::set_autostart(&ctx, &name, false, now),
        Command::Logs {
            name,
            follow,
            lines,
            since,
        } => run::logs(&name, follow, lines, since.as_deref()),
    };
    ExitCode::from(code)
}

/// `berth list | head`: when the reader goes away, berth ends quietly, as other tools do.
/// SIGPIPE stays ignored (Rust's default): berth's own pipes to its helper must fail as errors
/// that are rolled back, not kill it; so the broken stdout is caught where printing panics.
fn quiet_on_broken_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

/// berth's own diagnostics: on a terminal to stderr; otherwise (from a unit, a timer, config
/// management) to the journal, where administrators look, falling back to stderr.
fn init_logging() {
    use std::io::IsTerminal;
    use tracing_subscriber::prelude::*;
    let filter = tracing_subscriber::EnvFilter::try_from_env("BERTH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let registry = tracing_subscriber::registry().with(filter);
    let journald = (!std::io::stderr().is_terminal())
        .then(|| tracing_journald::layer().ok())
        .flatten();
    let _ = match journald {
        Some(layer) => registry
            .with(layer.with_syslog_identifier("berth".into()))
            .try_init(),
        None => registry
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
            .try_init(),
    };
}

/// Where `berth check PATH` looks for drop-ins: `PATH.d/` next to the file.
pub(crate) fn sibling_dropins(main: &std::path::Path) -> Vec<PathBuf> {
    let mut dir = main.as_os_str().to_owned();
    dir.push(".d");
    let mut out: Vec<PathBuf> = std::fs::read_dir(PathBuf::from(dir))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    out.sort();
    out
}
