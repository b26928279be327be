//! `berth start`, `stop`, `restart`, `kill`, `pause`, `resume`, `exec`, `shell` and `logs`.

use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

use super::exit;
use crate::definition::value::Signal;
use crate::lifecycle::pause::{self, Paused, Resumed};
use crate::lifecycle::stop::Stopped;
use crate::lifecycle::{start, stop, Context, LifecycleError};
use crate::name::Name;

pub(crate) fn name(s: &str) -> Result<Name, u8> {
    Name::new(s).map_err(|e| {
        eprintln!("error: `{s}` is not a valid container name: {e}");
        exit::FAILED
    })
}

/// Prints an error the way every verb does, and gives the exit code.
pub(crate) fn fail(e: &LifecycleError) -> u8 {
    match e {
        LifecycleError::Definition(crate::definition::LoadError::Invalid { name, problems }) => {
            for p in problems {
                eprint!("{p}");
            }
            eprintln!("error: the definition of `{name}` is invalid; nothing was changed");
        }
        e => eprintln!("error: {e}"),
    }
    exit::FAILED
}

pub fn start(ctx: &Context, names: &[String]) -> u8 {
    let mut code = exit::OK;
    for n in names {
        let n = match name(n) {
            Ok(n) => n,
            Err(c) => return c,
        };
        match start::start(ctx, &n) {
            Ok(started) => {
                for w in &started.warnings {
                    eprintln!("warning: {w}");
                }
                tracing::info!(container = %n, unit = %started.unit, leader = started.leader, "started");
                println!(
                    "started {n} as {} (leader PID {})",
                    started.unit, started.leader
                );
            }
            Err(e) => code = fail(&e),
        }
    }
    code
}

pub fn stop(ctx: &Context, names: &[String], timeout: Option<u64>) -> u8 {
    let mut code = exit::OK;
    for n in names {
        let n = match name(n) {
            Ok(n) => n,
            Err(c) => return c,
        };
        match stop::stop(ctx, &n, timeout.map(Duration::from_secs)) {
            Ok(Stopped::Stopped) => println!("stopped {n}"),
            Ok(Stopped::WasNotRunning) => println!("{n} is not running"),
            Err(e) => code = fail(&e),
        }
    }
    code
}

pub fn restart(ctx: &Context, names: &[String], timeout: Option<u64>) -> u8 {
    match stop(ctx, names, timeout) {
        exit::OK => start(ctx, names),
        code => code,
    }
}

pub fn kill(ctx: &Context, n: &str, signal: &str) -> u8 {
    let n = match name(n) {
        Ok(n) => n,
        Err(c) => return c,
    };
    let Ok(sig) = signal.parse::<Signal>() else {
        eprintln!("error: unknown signal `{signal}`");
        return exit::USAGE;
    };
    match stop::kill(ctx, &n, sig.number()) {
        Ok(()) => exit::OK,
        Err(e) => fail(&e),
    }
}

pub fn pause(ctx: &Context, names: &[String]) -> u8 {
    let mut code = exit::OK;
    for n in names {
        let n = match name(n) {
            Ok(n) => n,
            Err(c) => return c,
        };
        match pause::pause(ctx, &n) {
            Ok(Paused::Paused) => println!("paused {n}"),
            Ok(Paused::AlreadyPaused) => println!("{n} is already paused"),
            Err(e) => {
                eprintln!("error: {e}");
                code = exit::FAILED;
            }
        }
    }
    code
}

pub fn resume(ctx: &Context, names: &[String]) -> u8 {
    let mut code = exit::OK;
    for n in names {
        let n = match name(n) {
            Ok(n) => n,
            Err(c) => return c,
        };
        match pause::resume(ctx, &n) {
            Ok(Resumed::Resumed) => println!("resumed {n}"),
            Ok(Resumed::WasNotPaused) => println!("{n} is not paused"),
            Err(e) => {
                eprintln!("error: {e}");
                code = exit::FAILED;
            }
        }
    }
    code
}

/// Exits with the command's own exit code, like `machinectl shell` and `systemd-run --wait`.
pub fn exec(ctx: &Context, n: &str, argv: &[String]) -> u8 {
    let n = match name(n) {
        Ok(n) => n,
        Err(c) => return c,
    };
    match stop::exec(ctx, &n, argv) {
        Ok(code) => u8::try_from(code).unwrap_or(exit::FAILED),
        Err(e) => fail(&e),
    }
}

/// The unit's journal: `journalctl -u berth-NAME.scope`, which is also what an administrator
/// would type.
pub fn logs(n: &str, follow: bool, lines: Option<u32>, since: Option<&str>) -> u8 {
    let n = match name(n) {
        Ok(n) => n,
        Err(c) => return c,
    };
    let mut cmd = Command::new("journalctl");
    cmd.args(["--no-pager", "-u", &n.scope_unit()]);
    if follow {
        cmd.arg("--follow");
    }
    if let Some(lines) = lines {
        cmd.arg(format!("--lines={lines}"));
    }
    if let Some(since) = since {
        cmd.arg(format!("--since={since}"));
    }
    let e = cmd.exec();
    eprintln!("error: cannot run journalctl: {e}");
    exit::FAILED
}
