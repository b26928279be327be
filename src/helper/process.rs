//! The helper's own processes: forking a child that never returns into its parent's code,
//! waiting for it, and pointing a process's standard streams somewhere.

use std::os::fd::BorrowedFd;

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

/// Points the process's stdin, stdout and stderr at `stdin`, `stdout` and `stderr`.
pub fn set_stdio(
    step: Step,
    stdin: BorrowedFd<'_>,
    stdout: BorrowedFd<'_>,
    stderr: BorrowedFd<'_>,
) -> Result<(), StepError> {
    nix::unistd::dup2_stdin(stdin).map_err(step.call("set stdin"))?;
    nix::unistd::dup2_stdout(stdout).map_err(step.call("set stdout"))?;
    nix::unistd::dup2_stderr(stderr).map_err(step.call("set stderr"))
}
