//! Boot mode: the container's own init (systemd, in practice) becomes its PID 1, as systemd's
//! Container Interface describes. The helper that berth started stays outside, in the scope,
//! as the container's supervisor: it reads the terminal that is /dev/console inside into the
//! journal, and records how PID 1 ended.
//!
//! The cgroup tree follows nspawn's: the container gets `payload` below its scope, which its
//! init may manage as it likes; the supervisor sits in `supervisor` beside it, so that the
//! scope itself holds no process and can pass controllers down (cgroup v2).

use std::fs;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::SignalFd;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::confine::Filter;
use super::process::{attach_terminal, open_device};
use super::{payload, Reporter, Step, StepError};
use crate::container::mountinfo;
use crate::container::plan::ContainerPlan;
use crate::container::protocol::Event;

/// The terminal that is /dev/console in the container.
pub struct Console {
    master: OwnedFd,
    /// Held by the supervisor too, so that reading the master never ends while the container
    /// has no console open.
    slave: OwnedFd,
    /// The slave's path in the host's /dev/pts, bound over the container's /dev/console.
    pub path: PathBuf,
}

pub fn open_console() -> Result<Console, StepError> {
    let pty = nix::pty::openpty(None, None).map_err(Step::Console.call("open a terminal"))?;
    let path = nix::unistd::ttyname(&pty.slave).map_err(Step::Console.call("name the terminal"))?;
    for fd in [&pty.master, &pty.slave] {
        fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))
            .map_err(Step::Console.on("set close-on-exec on", &path))?;
    }
    Ok(Console {
        master: pty.master,
        slave: pty.slave,
        path,
    })
}

/// This process's cgroup directories in the host's hierarchies, where systemd has put the
/// scope (not the hierarchies' roots).
fn own_cgroup_dirs(host_cgroups: &str) -> Result<Vec<PathBuf>, StepError> {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo")
        .map_err(Step::Cgroups.on("read", Path::new("/proc/self/mountinfo")))?;
    let mut dirs = Vec::new();
    for h in mountinfo::cgroup_hierarchies(&mountinfo) {
        let own = match &h.options {
            None => host_cgroups.lines().find_map(|l| l.strip_prefix("0::")),
            Some(options) => mountinfo::own_v1_cgroup(host_cgroups, options),
        };
        if let Some(path) = own.filter(|p| *p != "/") {
            dirs.push(
                Path::new("/sys/fs/cgroup")
                    .join(&h.relative)
                    .join(path.trim_start_matches('/')),
            );
        }
    }
    Ok(dirs)
}

/// Moves this process into `sub` below each of its cgroups.
fn move_into(dirs: &[PathBuf], sub: &str) -> Result<(), StepError> {
    for dir in dirs {
        let target = dir.join(sub);
        fs::create_dir_all(&target).map_err(Step::Cgroups.on("create", &target))?;
        let procs = target.join("cgroup.procs");
        fs::write(&procs, "0").map_err(Step::Cgroups.on("join", &procs))?;
    }
    Ok(())
}

/// The container's side: into `payload`, before its cgroup namespace is made there.
pub fn enter_payload_cgroup(host_cgroups: &str) -> Result<(), StepError> {
    move_into(&own_cgroup_dirs(host_cgroups)?, "payload")
}

/// The supervisor's side: out of the way into `supervisor`; then, on cgroup v2, the scope
/// passes its controllers down, which the container's init needs to limit its services.
pub fn leave_for_supervisor(host_cgroups: &str) -> Result<(), StepError> {
    let dirs = own_cgroup_dirs(host_cgroups)?;
    move_into(&dirs, "supervisor")?;
    for dir in dirs
        .iter()
        .filter(|d| d.join("cgroup.subtree_control").exists())
    {
        let available = fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
        let enable: Vec<String> = available
            .split_whitespace()
            .map(|c| format!("+{c}"))
            .collect();
        if !enable.is_empty() {
            let control = dir.join("cgroup.subtree_control");
            fs::write(&control, enable.join(" "))
                .map_err(Step::Cgroups.on("delegate controllers in", &control))?;
        }
    }
    Ok(())
}

/// PID 1's last steps: the console as its terminal and standard streams, then the
/// container's init, under the container's confinement. Returns only on failure.
pub fn exec_init(plan: &ContainerPlan, mut reporter: Reporter) -> StepError {
    if let Err(e) = console_as_stdio() {
        return e;
    }
    // The status pipe closes with the exec: that is how berth learns the init runs.
    if let Err(e) = fcntl(reporter.fd(), FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)) {
        return Step::Boot.call("mark the status pipe")(e);
    }
    if reporter.send(&Event::Exec).is_err() {
        return Step::Boot.refused("berth is gone");
    }
    // No fork comes between: PID 1 compiles the filter and loads it itself.
    let exec = Filter::compile(&plan.payload.confinement)
        .and_then(|filter| payload::exec(&plan.payload, &filter, &plan.payload.argv));
    match exec {
        Err(e) => {
            reporter.error(&e);
            e
        }
        Ok(never) => match never {},
    }
}

fn console_as_stdio() -> Result<(), StepError> {
    let console = open_device(Step::Console, Path::new("/dev/console"))?;
    attach_terminal(
        Step::Console,
        console.as_fd(),
        "/dev/console",
        "make /dev/console the controlling terminal",
    )
}

/// The supervisor's life once the container runs: the console into the journal until PID 1
/// (its only child then) ends; returns PID 1's (exit code or 128 + signal, signal).
pub fn supervise(console: Console, journal: Option<UnixStream>) -> (i32, Option<i32>) {
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGCHLD);
    let _ = mask.thread_block();
    let signals = SignalFd::new(&mask).ok();
    let _ = fcntl(&console.master, FcntlArg::F_SETFL(OFlag::O_NONBLOCK));
    let mut out: Box<dyn Write> = match journal {
        Some(stream) => Box::new(stream),
        None => Box::new(std::io::sink()),
    };
    let mut master = fs::File::from(console.master);
    let _slave = console.slave;
    let mut buffer = [0u8; 8192];
    loop {
        let reaped = reap();
        let drain = |master: &mut fs::File, out: &mut Box<dyn Write>, buffer: &mut [u8]| {
            while let Ok(n) = master.read(buffer) {
                if n == 0 || out.write_all(&buffer[..n]).is_err() {
                    break;
                }
            }
        };
        if let Some(status) = reaped {
            drain(&mut master, &mut out, &mut buffer);
            return status;
        }
        let mut fds = vec![PollFd::new(master.as_fd(), PollFlags::POLLIN)];
        if let Some(s) = &signals {
            fds.push(PollFd::new(s.as_fd(), PollFlags::POLLIN));
        }
        // A second's timeout: reaping does not depend on SIGCHLD arriving.
        let _ = poll(&mut fds, PollTimeout::from(1000u16));
        if let Some(s) = &signals {
            let _ = s.read_signal();
        }
        drain(&mut master, &mut out, &mut buffer);
    }
}

/// Reaps children; the status of the last one when none is left.
fn reap() -> Option<(i32, Option<i32>)> {
    let mut last = None;
    loop {
        match waitpid(None::<Pid>, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, code)) => last = Some((code, None)),
            Ok(WaitStatus::Signaled(_, sig, _)) => {
                last = Some((128 + sig as i32, Some(sig as i32)))
            }
            Ok(WaitStatus::StillAlive) => return None,
            Ok(_) => continue,
            // No child is left.
            Err(_) => return Some(last.unwrap_or((0, None))),
        }
    }
}
