//! The `berth` command line: argument definitions (shared with the man page generator) and one
//! module per verb. The binary only calls [`main`].

mod check;
mod inspect;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::definition::search::{SearchPath, SEARCH_PATH_ENV};

/// Exit codes, as documented in berth(1).
pub mod exit {
    /// Success; for `check`, every definition is valid.
    pub const OK: u8 = 0;
    /// A definition is invalid, missing or masked, or the operation failed.
    pub const FAILED: u8 = 1;
    /// The command line is wrong (clap's own code for usage errors).
    pub const USAGE: u8 = 2;
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
    let cli = Cli::parse();
    let search = cli.search_path();
    let code = match cli.command {
        Command::Check { targets, json } => check::run(&search, &targets, json),
        Command::Show { name, origin, json } => inspect::show(&search, &name, origin, json),
        Command::Cat { name } => inspect::cat(&search, &name),
    };
    ExitCode::from(code)
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
