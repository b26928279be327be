//! `berth-helper init`: build the container, then stay as its PID 1.
//!
//! The helper is already in the container's scope when berth releases it. It unshares the
//! namespaces and forks the container's PID 1, reports that PID, and exits; PID 1 builds the
//! root, starts the payload, reports "ready", and then reaps zombies and forwards signals until
//! the payload ends, whose status it exits with.

use std::fs;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::ExitCode;

use nix::sched::{unshare, CloneFlags};
use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::SignalFd;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};

use super::{failed, payload, root, Reporter, StepError};
use crate::container::client::Event;
use crate::container::plan::ContainerPlan;
use crate::container::read_plan;
use crate::container::Exit;

/// Signals PID 1 passes on to the payload.
const FORWARDED: [Signal; 6] = [
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
];

pub fn run(plan_path: &Path) -> ExitCode {
    let mut reporter = Reporter::take();
    let plan = match read_plan(plan_path) {
        Ok(p) => p,
        Err(e) => {
            reporter.error(&failed("read plan", "read", plan_path, e));
            return ExitCode::FAILURE;
        }
    };
    let mut flags = CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWUTS
        | CloneFlags::CLONE_NEWIPC
        | CloneFlags::CLONE_NEWPID
        | CloneFlags::CLONE_NEWCGROUP;
    if plan.new_network {
        flags |= CloneFlags::CLONE_NEWNET;
    }
    if let Err(e) = unshare(flags) {
        reporter.error(&StepError::new(
            "namespaces",
            format!("cannot create namespaces: {e}"),
        ));
        return ExitCode::FAILURE;
    }
    // SAFETY: the helper is single-threaded (it never starts threads), so the child may run
    // arbitrary code after fork.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            let code = container_init(&plan, reporter);
            std::process::exit(code)
        }
        Ok(ForkResult::Parent { child }) => {
            // PID 1 reports for itself from here on; this process only names it and leaves.
            let _ = reporter.send(&Event::Leader {
                pid: child.as_raw() as u32,
            });
            ExitCode::SUCCESS
        }
        Err(e) => {
            reporter.error(&StepError::new(
                "fork",
                format!("cannot start the container's PID 1: {e}"),
            ));
            ExitCode::FAILURE
        }
    }
}

/// The container's PID 1; returns its exit code.
fn container_init(plan: &ContainerPlan, mut reporter: Reporter) -> i32 {
    let setup = (|| -> Result<(OwnedFd, Option<fs::File>, Pid), StepError> {
        // journald attributes a stream to the cgroup of the process that connects: this one,
        // already in the scope. The host's journal socket is only reachable before pivot_root.
        let output = match connect_journal(&plan.name) {
            Ok(stream) => OwnedFd::from(stream),
            Err(e) => {
                let _ = reporter.send(&Event::Warning {
                    message: format!(
                        "no journal stream ({e}); the payload's output goes to berth's stderr"
                    ),
                });
                nix::unistd::dup(std::io::stderr().as_fd())
                    .map_err(|e| StepError::new("journal", e.to_string()))?
            }
        };
        // PID 1 must not hold berth's terminal or pipes open for the container's lifetime: its
        // own output goes to the journal too.
        payload_stdio(&output)?;
        let exit_dir = plan.exit_file.parent().and_then(|d| fs::File::open(d).ok());
        root::build(plan)?;
        if plan.new_network {
            bring_up_loopback();
        }
        root::pivot(&plan.root)?;
        nix::unistd::sethostname(&plan.hostname).map_err(|e| {
            StepError::new(
                "hostname",
                format!("cannot set host name {}: {e}", plan.hostname),
            )
        })?;
        let payload = start_payload(plan, &output)?;
        Ok((output, exit_dir, payload))
    })();
    let (_output, exit_dir, payload) = match setup {
        Ok(s) => s,
        Err(e) => {
            reporter.error(&e);
            return 1;
        }
    };
    if reporter.send(&Event::Ready).is_err() {
        // berth died before the container was recorded: it must not live on unrecorded.
        let _ = kill(payload, Signal::SIGKILL);
        return 1;
    }
    drop(reporter);
    let status = supervise(payload);
    if let Some(dir) = exit_dir {
        record_exit(&dir, &plan.exit_file, status);
    }
    status.0
}

/// Forks and executes the payload with its output on the journal stream. Signals are blocked
/// in PID 1 (they are read from a signalfd) and unblocked in the payload.
fn start_payload(plan: &ContainerPlan, output: &OwnedFd) -> Result<Pid, StepError> {
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

fn payload_stdio(output: &OwnedFd) -> Result<(), StepError> {
    let null = fs::File::open("/dev/null")
        .map_err(|e| failed("stdio", "open", Path::new("/dev/null"), e))?;
    let stdio = |r: nix::Result<()>| r.map_err(|e| StepError::new("stdio", e.to_string()));
    stdio(nix::unistd::dup2_stdin(&null))?;
    stdio(nix::unistd::dup2_stdout(output))?;
    stdio(nix::unistd::dup2_stderr(output))
}

/// Reaps every child, forwards signals to the payload, and returns when the payload has ended:
/// (exit code or 128 + signal, the signal).
fn supervise(payload: Pid) -> (i32, Option<i32>) {
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

/// Writes how the payload ended where `berth status` finds it, through a directory opened
/// before pivot_root (the host's /run/berth is not visible inside).
fn record_exit(dir: &fs::File, exit_file: &Path, (status, signal): (i32, Option<i32>)) {
    let Some(name) = exit_file.file_name() else {
        return;
    };
    let exit = Exit {
        status,
        signal,
        oom_killed: signal == Some(Signal::SIGKILL as i32) && oom_killed(),
        time_usec: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0),
    };
    let Ok(text) = serde_json::to_vec(&exit) else {
        return;
    };
    let flags = nix::fcntl::OFlag::O_WRONLY
        | nix::fcntl::OFlag::O_CREAT
        | nix::fcntl::OFlag::O_TRUNC
        | nix::fcntl::OFlag::O_CLOEXEC;
    if let Ok(fd) = nix::fcntl::openat(
        dir,
        name,
        flags,
        nix::sys::stat::Mode::from_bits_truncate(0o644),
    ) {
        let _ = fs::File::from(fd).write_all(&text);
    }
}

/// Whether the kernel's OOM killer acted in this container's cgroup (its namespace root).
fn oom_killed() -> bool {
    let count = |path: &str, key: &str| {
        fs::read_to_string(path).ok().and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.trim().parse::<u64>().ok())
        })
    };
    let v1 = count("/sys/fs/cgroup/memory/memory.oom_control", "oom_kill ");
    let v2 = count("/sys/fs/cgroup/memory.events", "oom_kill ");
    v1.or(v2).is_some_and(|n| n > 0)
}

/// journald's stdout stream protocol: a header of identifier, unit, priority, level prefix,
/// and forwarding to syslog, kmsg and console, then the output itself.
fn connect_journal(identifier: &str) -> std::io::Result<UnixStream> {
    let mut stream = UnixStream::connect("/run/systemd/journal/stdout")?;
    stream.shutdown(std::net::Shutdown::Read)?;
    stream.write_all(format!("{identifier}\n\n6\n0\n0\n0\n0\n").as_bytes())?;
    Ok(stream)
}

/// A new network namespace has only a loopback device, and it is down.
fn bring_up_loopback() {
    let _ = std::process::Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status();
}
