//! berth-helper: builds a container inside the scope berth made for it (`init`), and runs
//! commands in a running container (`enter`). Single-threaded, so that it may fork and enter
//! namespaces freely. See [`crate::container::protocol`] for what it and berth say.

mod app;
mod boot;
mod confine;
mod enter;
mod error;
mod init;
mod payload;
mod process;
mod relay;
mod root;
mod userns;

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::FromRawFd;
use std::process::ExitCode;

pub use error::{Cause, Failure, Step, StepError};

use crate::container::protocol::{Event, HelperCommand, CONTROL_FD, GO, STATUS_FD, USAGE};

pub fn main() -> ExitCode {
    let Ok(command) = HelperCommand::parse(std::env::args_os().skip(1)) else {
        eprintln!("berth-helper: usage: {USAGE}");
        return ExitCode::from(2);
    };
    // Both verbs are held until berth says go on the control pipe.
    if !wait_for_go() {
        return ExitCode::SUCCESS;
    }
    match command {
        HelperCommand::Init { plan } => init::run(&plan),
        HelperCommand::Enter { plan, leader, argv } => enter::run(&plan, leader, &argv),
    }
}

/// Blocks until berth writes [`GO`] on the control pipe; false when berth closed it instead.
fn wait_for_go() -> bool {
    // SAFETY: berth's client dup2()s the read end of the control pipe onto CONTROL_FD before
    // exec; nothing else in this process uses that descriptor, and the File takes sole
    // ownership of it.
    let mut control = unsafe { File::from_raw_fd(CONTROL_FD) };
    let mut byte = [0u8; 1];
    matches!(control.read(&mut byte), Ok(1) if byte[0] == GO)
}

/// The status pipe to berth.
pub struct Reporter(File);

impl Reporter {
    pub fn take() -> Reporter {
        // SAFETY: berth's client dup2()s the write end of the status pipe onto STATUS_FD
        // before exec; it is taken once, here, and owned by the Reporter from then on.
        let file = unsafe { File::from_raw_fd(STATUS_FD) };
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
        self.0.write_all(&event.to_line())
    }

    pub fn error(&mut self, e: &StepError) {
        let _ = self.send(&Event::Error {
            step: e.step.name().into(),
            message: e.message(),
        });
    }
}

/// Takes the mapped root's identity: until then the process is the host's root, which the
/// new namespace does not map.
pub fn become_root() -> Result<(), StepError> {
    let root = || Step::UserNamespace.call("become the container's root");
    nix::unistd::setgroups(&[]).map_err(root())?;
    let (uid, gid) = (nix::unistd::Uid::from_raw(0), nix::unistd::Gid::from_raw(0));
    nix::unistd::setresgid(gid, gid, gid).map_err(root())?;
    nix::unistd::setresuid(uid, uid, uid).map_err(root())
}
