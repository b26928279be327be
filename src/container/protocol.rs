//! What berth and its helper say to each other, built and read by this one module on both
//! sides ([`super::client`] is berth's, [`crate::helper`] the helper's).
//!
//! - The command line: `berth-helper init --plan PATH` or
//!   `berth-helper enter --plan PATH --leader PID -- CMD...` ([`HelperCommand`]).
//! - The plan file at PATH: the [`ContainerPlan`] as JSON, written before the helper starts.
//! - Descriptor 3 ([`CONTROL_FD`]): the helper is started *held* and reads one byte from it
//!   before doing anything: [`GO`] to go; end of file, because berth died or gave up, to exit
//!   at once. So berth can first have systemd move it into the container's scope.
//! - Descriptor 4 ([`STATUS_FD`]): the helper's report, one JSON [`Event`] per line:
//!   `{"event":"leader","pid":N}`, `{"event":"warning","message":M}`, `{"event":"ready"}`,
//!   `{"event":"exec"}` or `{"event":"error","step":S,"message":M}`.
//! - The exit record ([`Exit`]): how the payload ended, written by the container's init to
//!   `/run/berth/NAME.exit.json` and read by `berth status`.

use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::plan::ContainerPlan;
use crate::store::{write_json_atomic, IoError};

/// The read end of the control pipe, in the helper.
pub const CONTROL_FD: RawFd = 3;
/// The write end of the status pipe, in the helper.
pub const STATUS_FD: RawFd = 4;
/// The byte on the control pipe that releases a held helper.
pub const GO: u8 = b'g';

/// A line the helper writes on its status pipe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum Event {
    Leader {
        pid: u32,
    },
    Warning {
        message: String,
    },
    Ready,
    /// Boot mode: PID 1 executes the container's init next; the end of the pipe, which the
    /// exec closes, says it did.
    Exec,
    Error {
        step: String,
        message: String,
    },
}

impl Event {
    /// The event as one line of the status pipe.
    pub fn to_line(&self) -> Vec<u8> {
        // An enum of strings and integers always serializes.
        let mut line = serde_json::to_vec(self).unwrap_or_default();
        line.push(b'\n');
        line
    }

    /// A line of the status pipe; None for what is not an event.
    pub fn parse(line: &str) -> Option<Event> {
        serde_json::from_str(line).ok()
    }
}

/// How a container's payload ended, as its init records it in `/run/berth/NAME.exit.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exit {
    /// The exit code, or 128 + signal.
    pub status: i32,
    pub signal: Option<i32>,
    /// The kernel's OOM killer killed a process of the container.
    #[serde(default)]
    pub oom_killed: bool,
    /// The container booted its own init, whose end this is.
    #[serde(default)]
    pub boot: bool,
    /// Realtime microseconds.
    pub time_usec: u64,
}

impl Exit {
    /// Writes the record into `file`, opened by the helper before the container was built
    /// (the host's /run/berth is not visible from inside).
    pub fn write_to(&self, mut file: &fs::File) -> std::io::Result<()> {
        file.write_all(&serde_json::to_vec(self).map_err(std::io::Error::other)?)
    }

    /// The record at `path`; None when there is none, or none that can be read.
    pub fn read(path: &Path) -> Option<Exit> {
        serde_json::from_slice(&fs::read(path).ok()?).ok()
    }
}

/// Writes the plan for the helper, atomically.
pub fn write_plan(plan: &ContainerPlan, path: &Path) -> Result<(), IoError> {
    write_json_atomic(path, plan)
}

pub fn read_plan(path: &Path) -> std::io::Result<ContainerPlan> {
    serde_json::from_slice(&fs::read(path)?).map_err(std::io::Error::other)
}

/// What berth runs the helper for: its command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelperCommand {
    /// Build the container of the plan and start it.
    Init { plan: PathBuf },
    /// Run `argv` (the user's shell when empty) in the running container whose PID 1 is
    /// `leader`.
    Enter {
        plan: PathBuf,
        leader: u32,
        argv: Vec<String>,
    },
}

pub const USAGE: &str = "berth-helper init --plan PATH | enter --plan PATH --leader PID -- CMD...";

#[derive(Debug, thiserror::Error)]
#[error("usage: {USAGE}")]
pub struct UsageError;

impl HelperCommand {
    /// The arguments after the program's name.
    pub fn to_args(&self) -> Vec<OsString> {
        match self {
            HelperCommand::Init { plan } => {
                vec!["init".into(), "--plan".into(), plan.into()]
            }
            HelperCommand::Enter { plan, leader, argv } => {
                let mut args: Vec<OsString> = vec![
                    "enter".into(),
                    "--plan".into(),
                    plan.into(),
                    "--leader".into(),
                    leader.to_string().into(),
                    "--".into(),
                ];
                args.extend(argv.iter().map(OsString::from));
                args
            }
        }
    }

    /// The command from the arguments after the program's name, as [`Self::to_args`] makes
    /// them.
    pub fn parse<I>(args: I) -> Result<HelperCommand, UsageError>
    where
        I: IntoIterator,
        I::Item: Into<OsString>,
    {
        let mut args = args.into_iter().map(Into::into);
        let verb = args.next().ok_or(UsageError)?;
        let (mut plan, mut leader, mut argv) = (None, None, None);
        while let Some(arg) = args.next() {
            match arg.to_str() {
                Some("--plan") => plan = Some(PathBuf::from(args.next().ok_or(UsageError)?)),
                Some("--leader") => {
                    let pid = args.next().ok_or(UsageError)?;
                    leader = Some(
                        pid.to_str()
                            .and_then(|p| p.parse().ok())
                            .ok_or(UsageError)?,
                    );
                }
                Some("--") => {
                    let rest: Option<Vec<String>> =
                        args.by_ref().map(|a| a.into_string().ok()).collect();
                    argv = Some(rest.ok_or(UsageError)?);
                }
                _ => return Err(UsageError),
            }
        }
        let plan = plan.ok_or(UsageError)?;
        match verb.to_str() {
            Some("init") if leader.is_none() && argv.is_none() => Ok(HelperCommand::Init { plan }),
            Some("enter") => Ok(HelperCommand::Enter {
                plan,
                leader: leader.ok_or(UsageError)?,
                argv: argv.unwrap_or_default(),
            }),
            _ => Err(UsageError),
        }
    }

    pub fn plan(&self) -> &Path {
        match self {
            HelperCommand::Init { plan } | HelperCommand::Enter { plan, .. } => plan,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_round_trip() {
        for command in [
            HelperCommand::Init {
                plan: "/run/berth/web.plan.json".into(),
            },
            HelperCommand::Enter {
                plan: "/run/berth/web.plan.json".into(),
                leader: 4242,
                argv: vec!["sh".into(), "-c".into(), "echo --plan -- x".into()],
            },
            HelperCommand::Enter {
                plan: "/p".into(),
                leader: 1,
                argv: Vec::new(),
            },
        ] {
            assert_eq!(HelperCommand::parse(command.to_args()).unwrap(), command);
        }
        assert_eq!(
            HelperCommand::Init { plan: "/p".into() }.to_args(),
            ["init", "--plan", "/p"]
        );
        assert_eq!(
            HelperCommand::Enter {
                plan: "/p".into(),
                leader: 7,
                argv: vec!["id".into()]
            }
            .to_args(),
            ["enter", "--plan", "/p", "--leader", "7", "--", "id"]
        );
    }

    #[test]
    fn bad_command_lines_are_usage_errors() {
        for args in [
            &[][..],
            &["init"],
            &["init", "--plan"],
            &["start", "--plan", "/p"],
            &["enter", "--plan", "/p"],
            &["enter", "--plan", "/p", "--leader", "x"],
            &["init", "--plan", "/p", "--leader", "1"],
            &["init", "--plan", "/p", "extra"],
        ] {
            assert!(
                HelperCommand::parse(args.iter().copied()).is_err(),
                "{args:?}"
            );
        }
    }

    #[test]
    fn events_are_json_lines() {
        let e = Event::parse(r#"{"event":"error","step":"bind","message":"x"}"#).unwrap();
        assert_eq!(
            e,
            Event::Error {
                step: "bind".into(),
                message: "x".into()
            }
        );
        assert_eq!(
            Event::Leader { pid: 7 }.to_line(),
            b"{\"event\":\"leader\",\"pid\":7}\n"
        );
        assert_eq!(Event::Ready.to_line(), b"{\"event\":\"ready\"}\n");
        assert_eq!(Event::parse("not json"), None);
    }

    #[test]
    fn events_round_trip() {
        for event in [
            Event::Leader { pid: 1 },
            Event::Warning {
                message: "no journal".into(),
            },
            Event::Ready,
            Event::Exec,
            Event::Error {
                step: "bind mount".into(),
                message: "cannot bind /a to /b: ENOENT: No such file or directory".into(),
            },
        ] {
            let line = event.to_line();
            assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1);
            let text = std::str::from_utf8(&line).unwrap();
            assert_eq!(Event::parse(text.trim_end()), Some(event));
        }
    }

    #[test]
    fn exit_records_round_trip() {
        let dir = std::env::temp_dir().join(format!("berth-exit-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("web.exit.json");
        let exit = Exit {
            status: 137,
            signal: Some(9),
            oom_killed: true,
            boot: false,
            time_usec: 1_700_000_000_000_000,
        };
        exit.write_to(&fs::File::create(&path).unwrap()).unwrap();
        assert_eq!(Exit::read(&path), Some(exit));
        // Records written before `oom_killed` and `boot` existed still read.
        fs::write(&path, r#"{"status":0,"signal":null,"time_usec":5}"#).unwrap();
        assert_eq!(
            Exit::read(&path),
            Some(Exit {
                status: 0,
                signal: None,
                oom_killed: false,
                boot: false,
                time_usec: 5
            })
        );
        assert_eq!(Exit::read(&dir.join("none.exit.json")), None);
        fs::remove_dir_all(&dir).unwrap();
    }
}
