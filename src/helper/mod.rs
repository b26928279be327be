//! berth-helper: builds a container inside the scope berth made for it (`init`), and runs
//! commands in a running container (`enter`). Single-threaded, so that it may fork and enter
//! namespaces freely. See [`crate::container::client`] for the protocol.

mod app;
mod boot;
mod confine;
mod enter;
mod init;
mod payload;
mod relay;
mod root;
mod userns;

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::FromRawFd;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::container::client::Event;

/// A failed setup step: which one, and what failed on which path.
#[derive(Debug)]
pub struct StepError {
    pub step: &'static str,
    pub message: String,
}

impl StepError {
    pub fn new(step: &'static str, message: impl Into<String>) -> Self {
        StepError {
            step,
            message: message.into(),
        }
    }
}

/// `cannot OP PATH: ERRNO` for a step.
pub fn failed(
    step: &'static str,
    op: &str,
    path: &std::path::Path,
    e: impl std::fmt::Display,
) -> StepError {
    StepError::new(step, format!("cannot {op} {}: {e}", path.display()))
}

pub fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let Some(plan) = arg("--plan").map(PathBuf::from) else {
        eprintln!("berth-helper: usage: berth-helper init --plan PATH | enter --plan PATH --leader PID -- CMD...");
        return ExitCode::from(2);
    };
    // Both verbs are held until berth says go on fd 3.
    if !wait_for_go() {
        return ExitCode::SUCCESS;
    }
    match args.first().map(String::as_str) {
        Some("init") => init::run(&plan),
        Some("enter") => {
            let leader = arg("--leader").and_then(|l| l.parse().ok()).unwrap_or(0);
            let argv = match args.iter().position(|a| a == "--") {
                Some(i) => args[i + 1..].to_vec(),
                None => Vec::new(),
            };
            enter::run(&plan, leader, &argv)
        }
        _ => ExitCode::from(2),
    }
}

/// Blocks until berth writes `g` on fd 3; false when berth closed it instead.
fn wait_for_go() -> bool {
    // SAFETY: berth's client dup2()s the read end of the control pipe onto fd 3 before exec;
    // nothing else in this process uses fd 3, and the File takes sole ownership of it.
    let mut control = unsafe { File::from_raw_fd(3) };
    let mut byte = [0u8; 1];
    matches!(control.read(&mut byte), Ok(1) if byte[0] == b'g')
}

/// The status pipe to berth (fd 4).
pub struct Reporter(File);

impl Reporter {
    pub fn take() -> Reporter {
        // SAFETY: berth's client dup2()s the write end of the status pipe onto fd 4 before exec;
        // it is taken once, here, and owned by the Reporter from then on.
        let file = unsafe { File::from_raw_fd(4) };
        // Never into the container: a payload must not be able to write berth's events.
        let _ = nix::fcntl::fcntl(
            &file,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        );
        Reporter(file)
    }

    pub fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.0.as_fd()
    }

    /// Sends an event; an error means berth is gone, and the caller must give up.
    pub fn send(&mut self, event: &Event) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(event).map_err(std::io::Error::other)?;
        line.push(b'\n');
        self.0.write_all(&line)
    }

    pub fn error(&mut self, e: &StepError) {
        let _ = self.send(&Event::Error {
            step: e.step.into(),
            message: e.message.clone(),
        });
    }
}

/// Takes the mapped root's identity: until then the process is the host's root, which the
/// new namespace does not map.
pub fn become_root() -> Result<(), StepError> {
    let root = |e: nix::Error| {
        StepError::new(
            "user namespace",
            format!("cannot become the container's root: {e}"),
        )
    };
    nix::unistd::setgroups(&[]).map_err(root)?;
    let (uid, gid) = (nix::unistd::Uid::from_raw(0), nix::unistd::Gid::from_raw(0));
    nix::unistd::setresgid(gid, gid, gid).map_err(root)?;
    nix::unistd::setresuid(uid, uid, uid).map_err(root)
}
