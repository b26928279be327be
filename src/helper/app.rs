//! App mode: the helper stays as the container's PID 1. It starts the payload, then reaps
//! every child and passes the stop signals on until the payload ends, whose status it exits
//! with.

use std::fs;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::Path;

use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::SignalFd;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};

use super::{failed, payload, StepError};
use crate::container::plan::ContainerPlan;

/// Signals PID 1 passes on to the payload.
const FORWARDED: [Signal; 6] = [
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
];

/// Forks and executes the payload with its output on the journal stream. Signals are blocked
/// in PID 1 (they are read from a signalfd) and unblocked in the payload.
pub fn start_payload(plan: &ContainerPlan, output: &OwnedFd) -> Result<Pid, StepError> {
    let mut blocked = SigSet::empty();
    for s in FORWARDED {
        blocked.add(s);
    }
    blocked.add(Signal::SIGCHLD);
    blocked
        .thread_block()
        .map_err(|e| StepError::new("signals", e.to_string()))?;
    // The payload reports an exec failure on this pipe; a successful exec closes it.
    let (exec_read, exec_write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| StepError::new("exec", e.to_string()))?;
    // SAFETY: PID 1 of the container is single-threaded; the child only sets up and execs.
    match unsafe { fork() }.map_err(|e| StepError::new("fork", e.to_string()))? {
        ForkResult::Child => {
            drop(exec_read);
            let _ = nix::sys::signal::sigprocmask(
                SigmaskHow::SIG_SETMASK,
                Some(&SigSet::empty()),
                None,
            );
            let e = match payload_stdio(output)
                .and_then(|()| payload::exec(&plan.payload, &plan.payload.argv))
            {
                Err(e) => e,
                Ok(never) => match never {},
            };
            let _ = fs::File::from(exec_write)
                .write_all(format!("{}\0{}", e.step, e.message).as_bytes());
            std::process::exit(127);
        }
        ForkResult::Parent { child } => {
            drop(exec_write);
            let mut report = String::new();
            let _ = fs::File::from(exec_read).read_to_string(&mut report);
            if report.is_empty() {
                return Ok(child);
            }
            let _ = waitpid(child, None);
            let (step, message) = report.split_once('\0').unwrap_or(("exec", report.as_str()));
            let step = match step {
                "user" => "user",
                "working directory" => "working directory",
                "no_new_privs" => "no_new_privs",
                "stdio" => "stdio",
                _ => "exec",
            };
            Err(StepError::new(step, message.to_owned()))
        }
    }
}

pub fn payload_stdio(output: &OwnedFd) -> Result<(), StepError> {
    let null = fs::File::open("/dev/null")
        .map_err(|e| failed("stdio", "open", Path::new("/dev/null"), e))?;
    let stdio = |r: nix::Result<()>| r.map_err(|e| StepError::new("stdio", e.to_string()));
    stdio(nix::unistd::dup2_stdin(&null))?;
    stdio(nix::unistd::dup2_stdout(output))?;
    stdio(nix::unistd::dup2_stderr(output))
}

/// Reaps every child, forwards signals to the payload, and returns when the payload has ended:
/// (exit code or 128 + signal, the signal).
pub fn supervise(payload: Pid) -> (i32, Option<i32>) {
    let mut mask = SigSet::empty();
    for s in FORWARDED {
        mask.add(s);
    }
    mask.add(Signal::SIGCHLD);
    let Ok(signals) = SignalFd::new(&mask) else {
        return (1, None);
    };
    loop {
        // Reap first: the payload may have ended before the signalfd existed.
        loop {
            match waitpid(None::<Pid>, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) if pid == payload => return (code, None),
                Ok(WaitStatus::Signaled(pid, sig, _)) if pid == payload => {
                    return (128 + sig as i32, Some(sig as i32))
                }
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(_) => continue,
            }
        }
        match signals.read_signal() {
            Ok(Some(info)) if info.ssi_signo != Signal::SIGCHLD as u32 => {
                if let Ok(sig) = Signal::try_from(info.ssi_signo as i32) {
                    let _ = kill(payload, sig);
                }
            }
            _ => {}
        }
    }
}
