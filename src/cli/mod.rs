//! The `berth` command line: argument definitions (shared with the man page generator) and one
//! module per verb. The binary only calls [`main`].

mod apply;
mod check;
pub mod complete;
mod create;
mod image;
mod inspect;
pub mod json;
pub mod manpage;
mod run;
mod status;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use clap_complete::engine::ArgValueCompleter;

use crate::definition::search::{SearchPath, SEARCH_PATH_ENV};
use crate::lifecycle::Context;
use crate::store::Paths;

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

/// berth runs host containers: each is declared in a TOML file (see berth.toml(5)) and runs as
/// the transient systemd scope berth-NAME.scope, in a slice below berth.slice, so that systemd
/// owns its processes and enforces its limits. Its /usr is the host's, read-only, under a
/// private /etc and /var; its processes are confined (capabilities, seccomp, masked /proc and
/// /sys, SELinux labels, optionally a user namespace).
///
/// Definitions are found like systemd units: NAME.toml in /etc/berth/containers, over
/// /run/berth/containers, over /usr/lib/berth/containers, with drop-ins NAME.toml.d/*.toml.
/// Invalid definitions never cause anything to be done on the host; a start that fails at any
/// step leaves nothing behind.
///
/// A running container shows where administrators look: systemctl status berth-NAME.scope,
/// journalctl -u berth-NAME.scope, systemd-cgls and machinectl.
#[derive(Debug, Parser)]
#[command(
    name = "berth",
    version,
    about = "Host containers as systemd scopes",
    override_usage = "berth [--containers-path DIRS] COMMAND [OPTIONS] [ARGS]",
    after_help = "See berth(1) for exit statuses and the JSON output, berth.toml(5) for definitions."
)]
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
    ///
    /// A target containing a slash or ending in .toml is a file, checked with the drop-ins in
    /// FILE.d/ beside it; otherwise it is a container name, looked up in the search path.
    /// Each error names the file, line and column, the key, what was expected and the nearest
    /// valid key. With no target, the group files (groups/GROUP.toml beside the search path's
    /// directories) are checked too. Nothing is changed on the host.
    Check {
        /// Container names or definition file paths; all definitions when none are given
        #[arg(value_name = "NAME|PATH", add = ArgValueCompleter::new(complete::check_target))]
        targets: Vec<String>,
        /// Check the one FILE given as if it were at PLACE in the search path (NAME for a
        /// main file, NAME.toml.d/FILE.toml for a drop-in), merged with the files it would be
        /// merged with there: for configuration management, before it puts FILE in place
        #[arg(long = "as", value_name = "PLACE")]
        place: Option<String>,
        /// Print the result as JSON
        #[arg(long)]
        json: bool,
    },
    /// Print the effective definition, merged and with defaults filled in
    ///
    /// As TOML in the format of berth.toml(5), or as JSON.
    Show {
        #[arg(add = ArgValueCompleter::new(complete::defined))]
        name: String,
        /// Say for each value which file and line set it, or "default"
        #[arg(long)]
        origin: bool,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Write a definition made from a host service unit
    ///
    /// Reads UNIT as systemd loaded it (so its drop-ins and specifiers are applied; a
    /// template needs an instance, foo@bar.service) and writes NAME.toml in the first
    /// directory of the search path (/etc/berth/containers): ExecStart=, User=, Environment=,
    /// WorkingDirectory=, KillSignal=, TimeoutStopSec=, the description and the resource
    /// limits it sets, with comments saying what did not map and why (Group=, Type=notify,
    /// ...). The variables of its readable EnvironmentFile= files are inlined in
    /// [exec.environment] under a comment naming the file (later changes to the file do not
    /// reach the container). The file checks clean, or is not written. Refuses
    /// a unit that cannot run in a container: one whose ExecStart= runs systemctl (it needs
    /// the host's PID 1), Type=forking, a program outside /usr, several ExecStart= lines. The
    /// host unit is not changed: once the container runs, disable it with systemctl disable
    /// --now UNIT.
    Create {
        #[arg(value_name = "NAME")]
        name: String,
        /// The host's service unit, such as nginx.service or foo@bar.service. Given more than
        /// once, berth refuses: a container runs one payload, so make one container per unit
        /// (in one group to share a budget), or a boot-mode container running its own systemd
        #[arg(long, value_name = "UNIT", required = true)]
        from_unit: Vec<String>,
        /// Print the definition rather than write it
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the files that make up a definition, in the order they are applied
    ///
    /// Each file under a comment naming it, like systemctl cat. Works on invalid definitions
    /// too.
    Cat {
        #[arg(add = ArgValueCompleter::new(complete::defined))]
        name: String,
    },
    /// List defined and running containers with their state and usage
    ///
    /// Every defined container, then those running without a definition (orphans), with
    /// state, unit, memory, tasks and description.
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Show a container's state, unit, limits, processes and latest journal lines
    ///
    /// Like systemctl status: state and since when, unit and slice, PID 1, memory, tasks and
    /// CPU against their limits, SELinux label, user ID range, how the payload last ended, the
    /// processes of its cgroup and the last 10 journal lines.
    Status {
        #[arg(add = ArgValueCompleter::new(complete::known))]
        name: String,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Start containers as transient systemd scopes
    ///
    /// Each in turn: validates its definition, creates berth-NAME.scope with the definition's
    /// limits, builds the container in it (namespaces, root, confinement) and runs its command.
    /// A start that fails at any step is rolled back and leaves nothing behind.
    Start {
        #[arg(required = true, value_name = "NAME", add = ArgValueCompleter::new(complete::defined))]
        names: Vec<String>,
    },
    /// Stop containers and check that nothing of them is left
    ///
    /// Sends the definition's stop signal to the payload, waits the stop timeout, kills what is
    /// left, and removes the container's runtime state and mounts.
    Stop {
        #[arg(required = true, value_name = "NAME", add = ArgValueCompleter::new(complete::known))]
        names: Vec<String>,
        /// Seconds to wait after the stop signal before killing what is left
        #[arg(long, value_name = "S")]
        timeout: Option<u64>,
    },
    /// Stop, then start containers
    Restart {
        #[arg(required = true, value_name = "NAME", add = ArgValueCompleter::new(complete::known))]
        names: Vec<String>,
        /// Seconds to wait after the stop signal before killing what is left
        #[arg(long, value_name = "S")]
        timeout: Option<u64>,
    },
    /// Send a signal to every process of a container
    Kill {
        #[arg(add = ArgValueCompleter::new(complete::known))]
        name: String,
        /// The signal, by name or number
        #[arg(long, short = 's', default_value = "SIGTERM")]
        signal: String,
    },
    /// Freeze every process of running containers, until berth resume
    ///
    /// With systemd's FreezeUnit where the host runs the unified cgroup hierarchy (cgroup v2);
    /// on cgroup v1 with the freezer controller: the scope's processes are moved into its
    /// cgroup under /sys/fs/cgroup/freezer, which is frozen. Returns once every process is
    /// frozen; fails, saying what the host lacks, where neither is possible. The container
    /// stays running (list and status say paused); its memory stays in use. `berth stop`
    /// thaws a paused container first.
    Pause {
        #[arg(required = true, value_name = "NAME", add = ArgValueCompleter::new(complete::known))]
        names: Vec<String>,
    },
    /// Thaw containers frozen by berth pause
    ///
    /// Returns once their processes run again. A running container that is not paused is
    /// left as it is.
    Resume {
        #[arg(required = true, value_name = "NAME", add = ArgValueCompleter::new(complete::known))]
        names: Vec<String>,
    },
    /// Run a command inside a running container, with its confinement; exits with its status
    ///
    /// The command runs in the container's namespaces and cgroup, with the payload's
    /// confinement, on the caller's terminal.
    Exec {
        #[arg(add = ArgValueCompleter::new(complete::known))]
        name: String,
        /// The program and its arguments
        #[arg(
            required = true,
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "COMMAND"
        )]
        command: Vec<String>,
    },
    /// Open the user's login shell inside a running container
    ///
    /// As berth exec with the shell of the definition's user.
    Shell {
        #[arg(add = ArgValueCompleter::new(complete::known))]
        name: String,
    },
    /// Import, list and remove the images image containers are made from
    Image {
        #[command(subcommand)]
        command: ImageCommand,
    },
    /// Drop a stopped container's persistent data (private /etc and /var, or its writable
    /// layer), as before its first start
    Reset {
        #[arg(add = ArgValueCompleter::new(complete::defined))]
        name: String,
    },
    /// Make the host match the definitions: print the plan, then carry it out
    ///
    /// Starts containers with autostart on, updates in place the running ones whose resource
    /// limits, description or autostart changed, restarts those with any other change, and
    /// stops berth's containers whose definition is gone, masked or no longer autostart.
    /// Containers berth did not start are never touched; an invalid definition is reported as
    /// `berth check` reports it and the rest is applied. The search path is the whole truth:
    /// with --containers-path, berth's containers defined only elsewhere are stopped. Without
    /// names, the active group slices whose group files changed get the files' limits (those
    /// taken out are lifted), before any container is started.
    ///
    /// Exit status: 0 nothing failed; 1 something failed (an invalid definition, a container
    /// that could not be changed), the rest was applied; 2 usage; 3 nothing was applied (no
    /// apply lock, no systemd, unreadable search path).
    Apply {
        /// Only these containers; all when none are given
        #[arg(value_name = "NAME", add = ArgValueCompleter::new(complete::known))]
        names: Vec<String>,
        /// Print the plan and change nothing
        #[arg(long)]
        dry_run: bool,
        /// Apply again (up to 3 times) when definition files changed while applying, as
        /// berth-apply.service does: systemd does not watch berth.path's paths meanwhile
        #[arg(long, conflicts_with = "dry_run")]
        until_stable: bool,
        /// Also restart the running containers whose processes map files from /usr that the
        /// host replaced or deleted since they started (after a package update; berth list
        /// marks them outdated)
        #[arg(long)]
        restart_outdated: bool,
        /// Print the plan and the results as JSON, with a top-level `changed` boolean
        #[arg(long)]
        json: bool,
    },
    /// Turn autostart on with a drop-in of berth's own (NAME.toml.d/50-berth-enable.toml)
    Enable {
        #[arg(add = ArgValueCompleter::new(complete::defined))]
        name: String,
        /// Also start the container now
        #[arg(long)]
        now: bool,
    },
    /// Turn autostart off with a drop-in of berth's own (NAME.toml.d/50-berth-enable.toml)
    Disable {
        #[arg(add = ArgValueCompleter::new(complete::defined))]
        name: String,
        /// Also stop the container now
        #[arg(long)]
        now: bool,
    },
    /// Show a container's journal
    ///
    /// journalctl -u berth-NAME.scope: the payload's output and what berth logged about it.
    Logs {
        #[arg(add = ArgValueCompleter::new(complete::known))]
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
    Remove {
        #[arg(add = ArgValueCompleter::new(complete::images))]
        image: String,
    },
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

/// The command line as clap sees it: for completion, the man page and tests.
pub fn command() -> clap::Command {
    Cli::command()
}

pub fn main() -> ExitCode {
    // A shell completion script asking for candidates: answer it and exit, before anything
    // else is printed.
    clap_complete::CompleteEnv::with_factory(command)
        .var(complete::ENV)
        .complete();
    quiet_on_broken_stdout();
    let cli = Cli::parse();
    init_logging();
    let search = cli.search_path();
    let ctx = Context {
        search: search.clone(),
        paths: Paths::default(),
    };
    let code = match cli.command {
        Command::Check {
            targets,
            place,
            json,
        } => check::run(&search, &targets, place.as_deref(), json),
        Command::Show { name, origin, json } => inspect::show(&search, &name, origin, json),
        Command::Cat { name } => inspect::cat(&search, &name),
        Command::Create {
            name,
            from_unit,
            dry_run,
        } => create::from_unit(&ctx, &name, &from_unit, dry_run),
        Command::List { json } => status::list(&ctx, json),
        Command::Status { name, json } => status::status(&ctx, &name, json),
        Command::Start { names } => run::start(&ctx, &names),
        Command::Stop { names, timeout } => run::stop(&ctx, &names, timeout),
        Command::Restart { names, timeout } => run::restart(&ctx, &names, timeout),
        Command::Kill { name, signal } => run::kill(&ctx, &name, &signal),
        Command::Pause { names } => run::pause(&ctx, &names),
        Command::Resume { names } => run::resume(&ctx, &names),
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
            restart_outdated,
            json,
        } => apply::apply(
            &ctx,
            &names,
            apply::Flags {
                dry_run,
                until_stable,
                restart_outdated,
            },
            json,
        ),
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
