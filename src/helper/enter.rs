//! `berth-helper enter`: run a command inside a running container, in all its namespaces, with
//! the payload's user, environment and confinement. berth has already moved this process into
//! the container's cgroup.

use std::fs::File;
use std::path::Path;
use std::process::ExitCode;

use nix::sched::{setns, CloneFlags};
use nix::sys::wait::WaitStatus;

use super::confine::Filter;
use super::process::fork_child;
use super::{payload, relay, Reporter, Step, StepError};
use crate::container::protocol::read_plan;

/// The container's namespaces: its user namespace first, which then owns all the others, and
/// mount last: entering it changes what /proc refers to.
const NAMESPACES: [(&str, CloneFlags); 7] = [
    ("user", CloneFlags::CLONE_NEWUSER),
    ("cgroup", CloneFlags::CLONE_NEWCGROUP),
    ("ipc", CloneFlags::CLONE_NEWIPC),
    ("uts", CloneFlags::CLONE_NEWUTS),
    ("net", CloneFlags::CLONE_NEWNET),
    ("pid", CloneFlags::CLONE_NEWPID),
    ("mnt", CloneFlags::CLONE_NEWNS),
];

/// Exit code when the command could not be started at all (as podman exec).
const CANNOT_ENTER: u8 = 125;

pub fn run(plan_path: &Path, leader: u32, argv: &[String]) -> ExitCode {
    // The status pipe is not used here; it must not leak into the command.
    drop(Reporter::take());
    match enter(plan_path, leader, argv) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("berth: {e}");
            ExitCode::from(CANNOT_ENTER)
        }
    }
}

fn enter(plan_path: &Path, leader: u32, argv: &[String]) -> Result<u8, StepError> {
    let plan = read_plan(plan_path).map_err(Step::ReadPlan.on("read", plan_path))?;
    // All namespace files are opened first: after entering the mount namespace, /proc is the
    // container's.
    let mut files = Vec::new();
    for (name, flag) in NAMESPACES {
        let path = format!("/proc/{leader}/ns/{name}");
        // What the container shares with the host (its user namespace, or the network with
        // network = "host") is entered already; entering one's own user namespace is refused,
        // and a host namespace cannot be entered from the container's user namespace.
        if same_file(&path, &format!("/proc/self/ns/{name}")) {
            continue;
        }
        let file = File::open(&path).map_err(Step::Namespaces.on("open", Path::new(&path)))?;
        files.push((path, file, flag));
    }
    for (path, file, flag) in &files {
        setns(file, *flag).map_err(Step::Namespaces.on("enter", Path::new(path)))?;
        if *flag == CloneFlags::CLONE_NEWUSER {
            super::become_root()?;
        }
    }
    let streams = relay::open()?;
    // Compiled once, before the fork; the command loads it.
    let filter = Filter::compile(&plan.payload.confinement)?;
    // Entering a PID namespace takes effect for children only.
    let child = fork_child("fork the command", || {
        let e = match streams
            .attach()
            .and_then(|()| payload::exec(&plan.payload, &filter, argv))
        {
            Err(e) => e,
            Ok(never) => match never {},
        };
        eprintln!("berth: {e}");
        if e.step == Step::Exec {
            127
        } else {
            CANNOT_ENTER as i32
        }
    })?;
    match streams.relay(child)? {
        WaitStatus::Signaled(_, sig, _) => Ok(128 + sig as u8),
        WaitStatus::Exited(_, code) => Ok(code as u8),
        _ => Ok(CANNOT_ENTER),
    }
}

fn same_file(a: &str, b: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        _ => false,
    }
}
