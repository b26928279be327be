//! App mode: the helper stays as the container's PID 1. It starts the payload, then reaps
//! every child and passes the stop signals on until the payload ends, whose status it exits
//! with.

use std::fs;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::SignalFd;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::confine::Filter;
use super::process::{fork_child, set_stdio};
use super::{payload, Step, StepError};
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

/// Forks and executes the payload with its output on the journal stream, under `filter`.
/// Signals are blocked in PID 1 (they are read from a signalfd) and unblocked in the payload.
pub fn start_payload(
    plan: &ContainerPlan,
    filter: &Filter,
    output: &OwnedFd,
) -> Result<Pid, StepError> {
    let mut blocked = SigSet::empty();
    for s in FORWARDED {
        blocked.add(s);
    }
    blocked.add(Signal::SIGCHLD);
    blocked
        .thread_block()
        .map_err(Step::Signals.call("block the forwarded signals"))?;
    // The payload reports an exec failure on this pipe; a successful exec closes it.
    let (exec_read, exec_write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(Step::Exec.call("make the pipe for exec failures"))?;
    // The read end is the parent's alone: the payload closes its copy.
    let mut exec_read = Some(exec_read);
    let child = fork_child("fork the payload", || {
        drop(exec_read.take());
        let _ =
            nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
        let e = match payload_stdio(output)
            .and_then(|()| payload::exec(&plan.payload, filter, &plan.payload.argv))
        {
            Err(e) => e,
            Ok(never) => match never {},
        };
        let _ =
            fs::File::from(exec_write).write_all(format!("{}\0{}", e.step, e.message()).as_bytes());
        127
    })?;
    let mut report = String::new();
    if let Some(exec_read) = exec_read {
        let _ = fs::File::from(exec_read).read_to_string(&mut report);
    }
    if report.is_empty() {
        return Ok(child);
    }
    let _ = waitpid(child, None);
    let (step, message) = report.split_once('\0').unwrap_or(("exec", report.as_str()));
    // berth has always been told these of the payload's steps by name, and the rest as `exec`.
    let step = match Step::from_name(step) {
        Some(s @ (Step::User | Step::WorkingDirectory | Step::NoNewPrivs | Step::Stdio)) => s,
        _ => Step::Exec,
    };
    // The payload's error crossed the pipe as text: its source stayed in the payload.
    Err(step.refused(message))
}

pub fn payload_stdio(output: &OwnedFd) -> Result<(), StepError> {
    let null =
        fs::File::open("/dev/null").map_err(Step::Stdio.on("open", Path::new("/dev/null")))?;
    let output = (output.as_fd(), "the payload's output stream");
    set_stdio(Step::Stdio, [(null.as_fd(), "/dev/null"), output, output])
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
