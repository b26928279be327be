//! The helper's own processes: forking a child that never returns into its parent's code,
//! waiting for it, and pointing its standard streams somewhere.

use std::fs::{self, File};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::Path;

use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};

use super::{Step, StepError};

/// Forks; the child runs `child` and exits with the code it returns, without unwinding into
/// the caller or running the parent's destructors. The parent gets the child's PID; `op` says
/// what the fork is for, should it fail (`cannot OP: ERRNO`).
///
/// What the child must own alone is moved into `child`, which the parent drops unrun (closing
/// the parent's copies); what both sides use is borrowed.
pub fn fork_child(op: &'static str, child: impl FnOnce() -> i32) -> Result<Pid, StepError> {
    // SAFETY: the helper is single-threaded (it never starts a thread, and neither does the
    // container's PID 1 it becomes), so no lock or allocator state can be held by another
    // thread at the fork, and the child may run arbitrary code after it.
    match unsafe { fork() }.map_err(Step::Fork.call(op))? {
        ForkResult::Child => std::process::exit(child()),
        ForkResult::Parent { child } => Ok(child),
    }
}

/// Waits for `pid`; true when it exited with 0.
pub fn wait_success(pid: Pid) -> bool {
    matches!(waitpid(pid, None), Ok(WaitStatus::Exited(_, 0)))
}

/// Points the process's stdin, stdout and stderr at the descriptors of `streams`, each with
/// what it is (for errors: `cannot set stdout to WHAT: ERRNO`).
pub fn set_stdio<'a>(step: Step, streams: [(BorrowedFd<'a>, &str); 3]) -> Result<(), StepError> {
    type Dup2<'a> = fn(BorrowedFd<'a>) -> nix::Result<()>;
    let targets: [(&str, Dup2<'a>); 3] = [
        ("stdin", nix::unistd::dup2_stdin),
        ("stdout", nix::unistd::dup2_stdout),
        ("stderr", nix::unistd::dup2_stderr),
    ];
    for ((name, dup2), (fd, what)) in targets.into_iter().zip(streams) {
        dup2(fd).map_err(step.call(format!("set {name} to {what}")))?;
    }
    Ok(())
}

/// Makes `terminal` the controlling terminal of a new session, and the process's stdio;
/// `op` says what that is, should it fail.
pub fn attach_terminal(
    step: Step,
    terminal: BorrowedFd<'_>,
    what: &str,
    op: &'static str,
) -> Result<(), StepError> {
    nix::unistd::setsid().map_err(step.call("start a session"))?;
    // SAFETY: TIOCSCTTY takes an int argument (0: do not steal); `terminal` is open for the
    // whole call.
    if unsafe { libc::ioctl(terminal.as_raw_fd(), libc::TIOCSCTTY, 0) } != 0 {
        return Err(step.call(op)(std::io::Error::last_os_error()));
    }
    set_stdio(step, [(terminal, what); 3])
}

/// Opens a device (/dev/null, /dev/console) for reading and writing.
pub fn open_device(step: Step, path: &Path) -> Result<File, StepError> {
    fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(step.on("open", path))
}
