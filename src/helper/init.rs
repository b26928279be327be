//! `berth-helper init`: build the container and start it.
//!
//! The helper is already in the container's scope when berth releases it. It unshares the
//! namespaces (from a child, where a user namespace must be mapped from outside or, in boot
//! mode, the helper stays as the supervisor) and forks the container's PID 1, reports that
//! PID, and leaves. PID 1 builds the root; then, in app mode, it starts the payload, reports
//! "ready" and supervises it ([`super::app`]); in boot mode it becomes the container's own
//! init ([`super::boot`]).

use std::fs;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use nix::sched::{unshare, CloneFlags};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

use super::process::{fork_child, open_device, set_stdio, wait_success};
use super::{app, boot, confine, root, userns, Reporter, Step, StepError};
use crate::container::plan::ContainerPlan;
use crate::container::protocol::{read_plan, Event, Exit};

pub fn run(plan_path: &Path) -> ExitCode {
    let mut reporter = Reporter::take();
    let prepared = prepare(plan_path).and_then(|p| {
        crate::fault::point("helper.namespaces").map_err(|e| Step::Namespaces.nested(e))?;
        Ok(p)
    });
    match prepared {
        Ok((plan, host)) => match (plan.boot, plan.user_namespace) {
            (true, _) => supervise_boot(&plan, host, reporter),
            (false, Some(base)) => in_user_namespace(&plan, host, base, reporter),
            (false, None) => start_init(&plan, &host, namespace_flags(&plan), reporter),
        },
        Err(e) => {
            reporter.error(&e);
            ExitCode::FAILURE
        }
    }
}

/// What PID 1 takes from the host side, before any namespace hides it.
struct HostSide {
    /// /proc/self/cgroup: the container's place in the host's hierarchies.
    cgroups: String,
    /// Where PID 1 records how the payload ended. Opened here because the container's root
    /// may be an unprivileged user that cannot create files in /run/berth.
    exit_file: fs::File,
    /// Boot mode: the host path of the terminal that becomes /dev/console.
    console: Option<PathBuf>,
    /// A user namespace: the idmapped trees of the container's private /etc and /var.
    idmapped: Vec<userns::IdmappedTree>,
}

fn prepare(plan_path: &Path) -> Result<(ContainerPlan, HostSide), StepError> {
    let plan = read_plan(plan_path).map_err(Step::ReadPlan.on("read", plan_path))?;
    let cgroups = fs::read_to_string("/proc/self/cgroup")
        .map_err(Step::Cgroups.on("read", Path::new("/proc/self/cgroup")))?;
    let exit_file = fs::File::create(&plan.exit_file)
        .map_err(Step::ExitRecord.on("create", &plan.exit_file))?;
    // The new root's mount point, made while this process may still write in /run/berth.
    fs::create_dir_all(&plan.root).map_err(Step::Root.on("create", &plan.root))?;
    Ok((
        plan,
        HostSide {
            cgroups,
            exit_file,
            console: None,
            idmapped: Vec::new(),
        },
    ))
}

fn namespace_flags(plan: &ContainerPlan) -> CloneFlags {
    let mut flags = CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWUTS
        | CloneFlags::CLONE_NEWIPC
        | CloneFlags::CLONE_NEWPID
        | CloneFlags::CLONE_NEWCGROUP;
    if plan.new_network {
        flags |= CloneFlags::CLONE_NEWNET;
    }
    flags
}

/// Unshares the container's namespaces and forks its PID 1; this process only names it and
/// leaves, PID 1 reports for itself from then on.
fn start_init(
    plan: &ContainerPlan,
    host: &HostSide,
    flags: CloneFlags,
    reporter: Reporter,
) -> ExitCode {
    // PID 1 takes the reporter over; this process keeps it only to name PID 1.
    let mut reporter = Some(reporter);
    let forked = unshare(flags)
        .map_err(Step::Namespaces.call("create namespaces"))
        .and_then(|()| {
            fork_child("start the container's PID 1", || {
                container_init(
                    plan,
                    host,
                    reporter.take().expect("the reporter is PID 1's"),
                )
            })
        });
    let mut reporter = reporter.expect("the reporter is the parent's");
    match forked {
        Ok(child) => {
            let _ = reporter.send(&Event::Leader {
                pid: child.as_raw() as u32,
            });
            ExitCode::SUCCESS
        }
        Err(e) => {
            reporter.error(&e);
            ExitCode::FAILURE
        }
    }
}

/// A child's exit code for what it returns as the helper's.
fn exit_code(code: ExitCode) -> i32 {
    if code == ExitCode::SUCCESS {
        0
    } else {
        1
    }
}

/// Boot mode: this process stays, as the container's supervisor (see [`boot`]); a child makes
/// the namespaces and PID 1, which this process inherits as a subreaper when the child is done.
fn supervise_boot(plan: &ContainerPlan, mut host: HostSide, mut reporter: Reporter) -> ExitCode {
    let console = match prepare_boot() {
        Ok(c) => c,
        Err(e) => {
            reporter.error(&e);
            return ExitCode::FAILURE;
        }
    };
    host.console = Some(console.path.clone());
    let mut for_child = Some(reporter);
    let child = fork_child("fork", || {
        let mut reporter = for_child.take().expect("the reporter is the child's");
        exit_code(match boot::enter_payload_cgroup(&host.cgroups) {
            Ok(()) => start_init(plan, &host, namespace_flags(plan), reporter),
            Err(e) => {
                reporter.error(&e);
                ExitCode::FAILURE
            }
        })
    });
    let mut reporter = for_child.expect("the reporter is the parent's");
    match child {
        Ok(child) if wait_success(child) => {}
        Ok(_) => return ExitCode::FAILURE,
        Err(e) => {
            reporter.error(&e);
            return ExitCode::FAILURE;
        }
    }
    if let Err(e) = boot::leave_for_supervisor(&host.cgroups).and_then(|()| quiet_stdio()) {
        reporter.error(&e);
        return ExitCode::FAILURE;
    }
    // From here on PID 1 reports for itself; the status pipe ends when it execs the init.
    drop(reporter);
    // journald names the stream's unit after the connecting process's cgroup: connected from
    // the supervisor's, it is the container's.
    let status = boot::supervise(console, connect_journal(&plan.name).ok());
    record_exit(&host.exit_file, plan.boot, status);
    ExitCode::from(u8::try_from(status.0).unwrap_or(1))
}

fn prepare_boot() -> Result<boot::Console, StepError> {
    // SAFETY: PR_SET_CHILD_SUBREAPER takes an integer flag and affects only this process.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } != 0 {
        return Err(Step::Boot.call("become a subreaper")(
            std::io::Error::last_os_error(),
        ));
    }
    boot::open_console()
}

/// The supervisor lives as long as the container: it must not keep berth's terminal or pipes.
fn quiet_stdio() -> Result<(), StepError> {
    let null = open_device(Step::Stdio, Path::new("/dev/null"))?;
    set_stdio(Step::Stdio, [(null.as_fd(), "/dev/null"); 3])
}

/// A user namespace's ID maps can only be written from outside it: a child unshares the
/// namespaces, this process maps the child's IDs and makes the idmapped trees of its private
/// /etc and /var (which needs privilege over the host's mounts), and the child, root of its
/// range now, goes on to start PID 1 inside. The other namespaces are the user namespace's
/// own, so the container's root builds the container with no privilege over the host.
fn in_user_namespace(
    plan: &ContainerPlan,
    host: HostSide,
    base: u32,
    mut reporter: Reporter,
) -> ExitCode {
    let (parent, child) = match UnixStream::pair() {
        Ok(pair) => pair,
        Err(e) => {
            reporter.error(&Step::UserNamespace.call("make a socket pair")(e));
            return ExitCode::FAILURE;
        }
    };
    // The child takes its end and the host side; the parent's end must not stay open in the
    // child, which would then not see the parent go away. The reporter is both sides'.
    let (mut parent, mut reporter) = (Some(parent), Some(reporter));
    let forked = fork_child("fork", || {
        drop(parent.take());
        let mut child = child;
        let mut reporter = reporter.take().expect("the reporter is the child's");
        let flags = namespace_flags(plan) | CloneFlags::CLONE_NEWUSER;
        let entered = unshare(flags)
            .map_err(Step::Namespaces.call("create namespaces"))
            .and_then(|()| userns::handshake(&mut child, plan))
            .and_then(|idmapped| super::become_root().map(|()| idmapped));
        exit_code(match entered {
            // PID 1 is created by the unshare above; the namespaces are entered already.
            Ok(idmapped) => {
                let host = HostSide { idmapped, ..host };
                start_init(plan, &host, CloneFlags::empty(), reporter)
            }
            Err(e) => {
                reporter.error(&e);
                ExitCode::FAILURE
            }
        })
    });
    let (mut parent, mut reporter) = (
        parent.expect("the socket is the parent's"),
        reporter.expect("the reporter is the parent's"),
    );
    let pid = match forked {
        Ok(pid) => pid,
        Err(e) => {
            reporter.error(&e);
            return ExitCode::FAILURE;
        }
    };
    let mapped = userns::wait_for_byte(&mut parent)
        .and_then(|()| {
            crate::fault::point("helper.id_maps").map_err(|e| Step::UserNamespace.nested(e))
        })
        .and_then(|()| userns::map_and_go_ahead(&parent, pid, base, plan));
    if let Err(e) = mapped {
        reporter.error(&e);
        drop(parent);
        let _ = waitpid(pid, None);
        return ExitCode::FAILURE;
    }
    drop(reporter);
    if wait_success(pid) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The container's PID 1; returns its exit code.
fn container_init(plan: &ContainerPlan, host: &HostSide, mut reporter: Reporter) -> i32 {
    if plan.boot {
        let e = match quiet_stdio().and_then(|()| build(plan, host)) {
            Ok(()) => boot::exec_init(plan, reporter),
            Err(e) => {
                reporter.error(&e);
                e
            }
        };
        // The init could not be started; the error went to berth.
        drop(e);
        return 1;
    }
    let setup = (|| -> Result<(OwnedFd, Pid), StepError> {
        out_of_the_payloads_reach()?;
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
                    .map_err(Step::Journal.call("duplicate stderr for the payload's output"))?
            }
        };
        // PID 1 must not hold berth's terminal or pipes open for the container's lifetime: its
        // own output goes to the journal too.
        app::payload_stdio(&output)?;
        build(plan, host)?;
        // Compiled once, here: the payload loads it after the fork, and PID 1 itself too.
        crate::fault::point("helper.confinement").map_err(|e| Step::Seccomp.nested(e))?;
        let filter = confine::Filter::compile(&plan.payload.confinement)?;
        crate::fault::point("helper.payload").map_err(|e| Step::Exec.nested(e))?;
        let payload = app::start_payload(plan, &filter, &output)?;
        // What PID 1 itself keeps from here on: waiting, reaping, passing signals on.
        confine::confine_init(&filter)?;
        Ok((output, payload))
    })();
    let (_output, payload) = match setup {
        Ok(s) => s,
        Err(e) => {
            reporter.error(&e);
            return 1;
        }
    };
    if let Err(e) = crate::fault::point("helper.ready") {
        // The payload dies with PID 1, as the PID namespace's other processes do.
        reporter.error(&Step::Init.nested(e));
        return 1;
    }
    if reporter.send(&Event::Ready).is_err() {
        // berth died before the container was recorded: it must not live on unrecorded.
        let _ = kill(payload, Signal::SIGKILL);
        return 1;
    }
    drop(reporter);
    let status = app::supervise(payload);
    record_exit(&host.exit_file, plan.boot, status);
    status.0
}

/// PID 1 holds what the payload must never touch: the exit record berth trusts, the journal
/// stream, the status pipe until "ready". A non-dumpable process cannot be ptraced, nor its
/// /proc/1/fd, mem or environ opened, by a process without CAP_SYS_PTRACE, which no payload
/// has by default. Done before the payload is forked, so that there is no moment in which it
/// could attach; the payload's own exec makes it dumpable again.
fn out_of_the_payloads_reach() -> Result<(), StepError> {
    nix::sys::prctl::set_dumpable(false).map_err(Step::Init.call("make PID 1 non-dumpable"))
}

/// The container's root, network and host name, from PID 1.
fn build(plan: &ContainerPlan, host: &HostSide) -> Result<(), StepError> {
    crate::fault::point("helper.root").map_err(|e| Step::Root.nested(e))?;
    root::Builder::new(plan, &host.cgroups)?
        .with_console(host.console.as_deref())
        .with_idmapped(&host.idmapped)
        .build()?;
    if plan.new_network {
        bring_up_loopback()?;
    }
    crate::fault::point("helper.pivot").map_err(|e| Step::PivotRoot.nested(e))?;
    root::pivot(&plan.root, &plan.root_fs)?;
    nix::unistd::sethostname(&plan.hostname)
        .map_err(Step::Hostname.call(format!("set host name {}", plan.hostname)))
}

/// Writes how the payload ended where `berth status` finds it, into the file opened before
/// the container was built (the host's /run/berth is not visible inside).
fn record_exit(file: &fs::File, boot: bool, (status, signal): (i32, Option<i32>)) {
    let exit = Exit {
        status,
        signal,
        // Read from the container's own cgroup namespace, which the supervisor of a booted
        // container is not in; there, an OOM kill ends a service, not the container.
        oom_killed: !boot && signal == Some(Signal::SIGKILL as i32) && oom_killed(),
        boot,
        time_usec: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0),
    };
    let _ = exit.write_to(file);
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

/// A new network namespace has only a loopback device, and it is down. One flag on one
/// device the kernel made: SIOCSIFFLAGS, as `ip link set lo up` would, without depending on
/// the host having iproute2.
fn bring_up_loopback() -> Result<(), StepError> {
    use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType};
    use std::os::fd::AsRawFd;
    let failed = |e: nix::Error| Step::Network.call("bring up the loopback device lo")(e);
    let sock = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(failed)?;
    // SAFETY: ifreq is plain old data (a name and a union of integers and addresses), for
    // which all zeroes is a valid value.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (to, from) in request.ifr_name.iter_mut().zip(b"lo\0") {
        *to = *from as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS reads the NUL-terminated name and writes ifru_flags of the ifreq
    // it is given, which lives across the call; the socket is open.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut request) } < 0 {
        return Err(failed(nix::Error::last()));
    }
    // SAFETY: SIOCGIFFLAGS filled in ifru_flags, the union member read and written here.
    unsafe { request.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: SIOCSIFFLAGS reads the name and ifru_flags of the ifreq, which outlives the call.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &request) } < 0 {
        return Err(failed(nix::Error::last()));
    }
    Ok(())
}
