//! `berth stop`, `kill` and `exec`: acting on a running container through its unit.

use std::fs;
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::state::{self, Phase, ProcessId};
use super::{confinement, recover, Context, LifecycleError};
use crate::container::{self, HeldHelper};
use crate::name::Name;
use crate::store::{At, IoError};
use crate::systemd::{freezer, Machined, MachinedError, Systemd};

/// How long a stopped container's processes and machine registration may take to disappear
/// after systemd reports the stop job done.
const SETTLE: Duration = Duration::from_secs(5);

#[derive(Debug, PartialEq, Eq)]
pub enum Stopped {
    Stopped,
    WasNotRunning,
}

pub fn stop(
    ctx: &Context,
    name: &Name,
    timeout: Option<Duration>,
) -> Result<Stopped, LifecycleError> {
    let _lock = ctx.lock(name)?;
    let systemd = Systemd::connect()?;
    let unit = name.scope_unit();
    let state = state::read(&ctx.paths.state_file(name))?;
    let status = systemd.unit_status(&unit)?;
    let active = status
        .as_ref()
        .is_some_and(|s| s.active_state != "inactive" && s.active_state != "failed");
    if !active {
        recover::clean_leftovers(ctx, &systemd, name)?;
        return Ok(Stopped::WasNotRunning);
    }
    if let Some(paused) = status.as_ref().filter(|s| freezer::is_frozen(s)) {
        // Frozen processes act on no signal and cannot die: a paused container is thawed
        // first, by the method that froze it, or its stop would wait out the stop timeout.
        let method = freezer::host_freeze_method()?;
        freezer::thaw(&systemd, method, &paused.id, &paused.control_group)?;
    }
    let leader = match state.as_ref().map(|s| &s.phase) {
        Some(Phase::Running { leader, .. }) => Some(*leader),
        _ => None,
    };
    let boot = state.as_ref().filter(|s| s.boot);
    if let (Some(state), Some(leader)) = (boot, leader.filter(ProcessId::is_alive)) {
        // The container's init shuts it down, as `machinectl poweroff` asks it to; systemd
        // then finds the scope empty.
        let grace = timeout.unwrap_or(Duration::from_micros(state.stop_timeout_usec));
        ask_init_to_stop(&systemd, &unit, leader, state.stop_signal, grace)?;
    }
    crate::fault::point("stop.unit")?;
    match timeout {
        Some(t) => systemd.stop_unit_within(&unit, t)?,
        None => systemd.stop_unit(&unit)?,
    }

    let registered = state.as_ref().is_some_and(|s| s.machine_registered);
    crate::fault::point("stop.wait")?;
    let mut leftovers = wait_until_gone(&systemd, name, &unit, leader, registered);
    crate::fault::point("stop.runtime_dir")?;
    remove_runtime_dir(ctx, name)?;
    crate::fault::point("stop.release")?;
    leftovers.extend(confinement::release(ctx, name));
    if leftovers.is_empty() {
        Ok(Stopped::Stopped)
    } else {
        Err(LifecycleError::LeftBehind {
            name: name.clone(),
            leftovers,
        })
    }
}

/// Sends the stop signal to the container's init and waits, up to `grace`, for the unit to
/// end on its own.
fn ask_init_to_stop(
    systemd: &Systemd,
    unit: &str,
    leader: ProcessId,
    signal: i32,
    grace: Duration,
) -> Result<(), LifecycleError> {
    // SAFETY: kill(2) with a PID and a signal number; the PID is the container's init,
    // checked alive by its start time just before. (nix's Signal has no real-time signals.)
    if unsafe { libc::kill(leader.pid as libc::pid_t, signal) } != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::ESRCH) {
            return Err(IoError::new(
                "send the stop signal to",
                format!("/proc/{}", leader.pid),
                e,
            )
            .into());
        }
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        let active = systemd
            .unit_status(unit)?
            .is_some_and(|s| s.active_state != "inactive" && s.active_state != "failed");
        if !active {
            break;
        }
        sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// Checks that nothing of the container is left: unit, processes, machine, mounts.
fn wait_until_gone(
    systemd: &Systemd,
    name: &Name,
    unit: &str,
    leader: Option<ProcessId>,
    registered: bool,
) -> Vec<String> {
    let deadline = Instant::now() + SETTLE;
    // machined and the kernel finish just after the stop job: look again soon, then less often.
    let mut pause = Duration::from_millis(1);
    loop {
        let mut left = Vec::new();
        match systemd.unit_status(unit) {
            Ok(Some(s)) if s.active_state != "inactive" && s.active_state != "failed" => {
                left.push(format!("unit {unit} is {}", s.active_state));
            }
            Ok(_) => {}
            Err(e) => left.push(format!("unit {unit}: {e}")),
        }
        if let Some(l) = leader.filter(ProcessId::is_alive) {
            left.push(format!("process {} (the container's PID 1)", l.pid));
        }
        if registered {
            match Machined::new(systemd).and_then(|m| m.machine_exists(name.as_str())) {
                Ok(true) => left.push(format!("machine {name} in systemd-machined")),
                Ok(false) | Err(MachinedError::Unavailable { .. }) => {}
                Err(e) => left.push(format!("machine {name}: {e}")),
            }
        }
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

fn remove_runtime_dir(ctx: &Context, name: &Name) -> Result<(), LifecycleError> {
    let dir = ctx.paths.runtime_dir(name);
    match fs::remove_dir_all(&dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(IoError::new("remove", dir, e).into())
        }
        _ => Ok(()),
    }
}

/// Sends a signal to every process of the container.
pub fn kill(ctx: &Context, name: &Name, signal: i32) -> Result<(), LifecycleError> {
    let systemd = Systemd::connect()?;
    let unit = name.scope_unit();
    if !is_running(&systemd, &unit)? {
        let _lock = ctx.lock(name)?;
        recover::clean_leftovers(ctx, &systemd, name)?;
        return Err(LifecycleError::NotRunning(name.clone()));
    }
    Ok(systemd.kill_unit(&unit, signal)?)
}

fn is_running(systemd: &Systemd, unit: &str) -> Result<bool, LifecycleError> {
    Ok(systemd
        .unit_status(unit)?
        .is_some_and(|s| s.active_state == "active" || s.active_state == "reloading"))
}

/// Runs `argv` (the login shell when empty) inside the running container, with the payload's
/// confinement, inside its cgroup, on the caller's terminal; returns its exit code.
pub fn exec(ctx: &Context, name: &Name, argv: &[String]) -> Result<i32, LifecycleError> {
    let systemd = Systemd::connect()?;
    let unit = name.scope_unit();
    let state = state::read(&ctx.paths.state_file(name))?;
    let boot = state.as_ref().is_some_and(|s| s.boot);
    let leader = match state.map(|s| s.phase) {
        Some(Phase::Running { leader, .. }) if leader.is_alive() => leader,
        _ => return Err(LifecycleError::NotRunning(name.clone())),
    };
    if !is_running(&systemd, &unit)? {
        return Err(LifecycleError::NotRunning(name.clone()));
    }
    let helper = HeldHelper::spawn_enter(
        &container::helper_path(),
        &ctx.paths.plan_file(name),
        leader.pid,
        argv,
    )?;
    // Into the container's cgroup before the helper does anything, as for the payload. A
    // booted container's init owns the cgroup tree below `payload`: a leaf of its own there.
    let subcgroup = if boot {
        make_exec_cgroup(&systemd, &unit)?;
        EXEC_CGROUP
    } else {
        ""
    };
    if let Err(e) = systemd.attach_processes(&unit, subcgroup, &[helper.pid()]) {
        helper.abort();
        return Err(e.into());
    }
    Ok(helper.run()?)
}

/// Where `berth exec` runs in a booted container: a leaf below `payload`, the tree the
/// container's init owns, beside the cgroups it makes.
const EXEC_CGROUP: &str = "/payload/berth-exec";

/// systemd attaches processes only to cgroups that exist: makes the exec leaf in every
/// hierarchy that has the container's payload cgroup.
fn make_exec_cgroup(systemd: &Systemd, unit: &str) -> Result<(), LifecycleError> {
    let Some(status) = systemd.unit_status(unit)? else {
        return Ok(());
    };
    let mountinfo =
        fs::read_to_string("/proc/self/mountinfo").at("read", "/proc/self/mountinfo")?;
    let scope = status.control_group.trim_start_matches('/');
    for h in crate::container::mountinfo::cgroup_hierarchies(&mountinfo) {
        let payload = std::path::Path::new("/sys/fs/cgroup")
            .join(&h.relative)
            .join(scope)
            .join("payload");
        if payload.is_dir() {
            let leaf = payload.join("berth-exec");
            fs::create_dir_all(&leaf).at("create", &leaf)?;
        }
    }
    Ok(())
}
