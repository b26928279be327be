//! The escape suite: from inside a default container, and one with a user namespace, every way
//! out that berth's confinement must close is tried, and each must be refused with the errno
//! it must get. Each attempt is also made outside berth's confinement, as the control: there
//! it must not be refused that way, so that the suite proves the confinement rather than a
//! missing tool or a kernel without the call.
//!
//! The attempts are tests/escape/probe.py's, run with `berth exec NAME python3 -c PROBE` inside
//! and `python3 -c PROBE` outside. Run inside a real systemd like tests/system.rs (and in the VM
//! tier, with SELinux enforcing and cgroup v2, where every control has what it needs). A control
//! that needs what the systemd sandbox itself takes away (it drops CAP_SYS_MODULE,
//! CAP_SYS_RAWIO and CAP_SYS_TIME from its bounding set, and mounts /proc/sys and /sys
//! read-only) is said to be left to the VM tier, where it runs.

use std::path::Path;
use std::process::Command;

mod common;

use common::{berth_ok, define, leader};

const PROBE: &str = include_str!("escape/probe.py");

const SLEEPER: &str = "[exec]\ncommand = [\"/bin/sleep\", \"infinity\"]\n";

#[test]
fn escapes_are_refused_in_a_real_systemd() {
    common::assert_on_the_host("the escape tests");
    common::rerun_in_sandbox("the escape tests", &["--ignored"]);
}

/// What the control outside berth's confinement needs, beyond root, to get past the kernel's
/// permission check.
#[derive(Clone, Copy)]
enum Needs {
    Nothing,
    /// A capability (its number) in this process's bounding set.
    Capability(u32, &'static str),
    /// The file system holding this path mounted read-write.
    Writable(&'static str),
    /// This path to exist.
    Exists(&'static str),
}

struct Attempt {
    name: &'static str,
    /// The probe's argument inside, and outside for the control.
    arg: &'static str,
    control_arg: &'static str,
    /// How it must end inside a default container; with a user namespace, where that differs.
    inside: &'static [&'static str],
    inside_userns: Option<&'static [&'static str]>,
    /// Where SELinux is enforcing, its check comes before the kernel's own and refuses the
    /// attempt with EACCES first (container_t may not do it either).
    selinux_first: bool,
    control_needs: Needs,
}

const EPERM: &[&str] = &["errno EPERM"];
const EROFS: &[&str] = &["errno EROFS"];
const EACCES: &[&str] = &["errno EACCES"];
const CAP_SYS_MODULE: u32 = 16;
const CAP_SYS_RAWIO: u32 = 17;
const CAP_SYS_BOOT: u32 = 22;

/// A host path that the container cannot see: its /run is its own.
const HOST_ONLY: &str = "/run/berth";
/// A writable attribute under /sys.
const SYS_ATTRIBUTE: &str = "/sys/kernel/mm/transparent_hugepage/enabled";

const fn attempt(name: &'static str, inside: &'static [&'static str], needs: Needs) -> Attempt {
    Attempt {
        name,
        arg: "",
        control_arg: "",
        inside,
        inside_userns: None,
        selinux_first: false,
        control_needs: needs,
    }
}

/// An attempt that SELinux refuses first where it is enforcing.
const fn selinux_first(a: Attempt) -> Attempt {
    Attempt {
        selinux_first: true,
        ..a
    }
}

fn attempts() -> Vec<Attempt> {
    use Needs::*;
    vec![
        attempt(
            "module_load",
            EPERM,
            Capability(CAP_SYS_MODULE, "SYS_MODULE"),
        ),
        attempt("kexec", EPERM, Capability(CAP_SYS_BOOT, "SYS_BOOT")),
        attempt("reboot", EPERM, Capability(CAP_SYS_BOOT, "SYS_BOOT")),
        attempt("keyring", EPERM, Nothing),
        attempt("bpf", EPERM, Nothing),
        attempt("perf_event", EPERM, Nothing),
        attempt("userfaultfd", EPERM, Nothing),
        attempt("clock_settime", EPERM, Nothing),
        attempt("swapon", EPERM, Nothing),
        // Under a user namespace of its own, a container may make more: they give nothing over
        // the host (berth.toml(5), `seccomp`).
        Attempt {
            inside_userns: Some(&["ok"]),
            ..attempt("unshare_user", EPERM, Nothing)
        },
        attempt("unshare_mount", EPERM, Nothing),
        attempt("mount", EPERM, Nothing),
        attempt("fsopen", EPERM, Nothing),
        attempt("open_tree", EPERM, Nothing),
        selinux_first(attempt("setns", EPERM, Nothing)),
        attempt("mknod_block", EPERM, Nothing),
        selinux_first(attempt("raw_socket", EPERM, Nothing)),
        selinux_first(attempt("netlink_link", EPERM, Nothing)),
        attempt("iopl", EPERM, Capability(CAP_SYS_RAWIO, "SYS_RAWIO")),
        Attempt {
            control_arg: "child",
            ..attempt("ptrace_pid1", EPERM, Nothing)
        },
        selinux_first(Attempt {
            arg: "/proc/sys/kernel/hostname",
            control_arg: "/proc/sys/kernel/hostname",
            inside_userns: Some(EACCES),
            ..attempt("write_proc_sys", EROFS, Writable("/proc/sys"))
        }),
        selinux_first(Attempt {
            arg: SYS_ATTRIBUTE,
            control_arg: SYS_ATTRIBUTE,
            inside_userns: Some(EACCES),
            ..attempt("write_sys", EROFS, Writable("/sys"))
        }),
        // With a user namespace, the host's root owns these files and the container's root is
        // not it: refused before the read-only mount is reached.
        selinux_first(Attempt {
            inside_userns: Some(EACCES),
            ..attempt("write_cgroup", EROFS, Writable("/sys/fs/cgroup"))
        }),
        attempt("write_usr", EROFS, Writable("/usr")),
        // Masked where the kernel has it; absent where it has not.
        Attempt {
            arg: "/proc/kcore",
            control_arg: "/proc/kcore",
            ..attempt(
                "read_kcore",
                &["empty", "errno ENOENT"],
                Capability(CAP_SYS_RAWIO, "SYS_RAWIO"),
            )
        },
        Attempt {
            arg: "/var/lib/berth/escape-other",
            control_arg: "/var/lib/berth/escape-other",
            ..attempt(
                "other_container",
                &["errno ENOENT"],
                Exists("/var/lib/berth/escape-other"),
            )
        },
        Attempt {
            arg: HOST_ONLY,
            control_arg: HOST_ONLY,
            ..attempt("chroot_walk_out", &["contained"], Exists(HOST_ONLY))
        },
    ]
}

/// `berth exec`, not echoed as tests/common's `berth` would: the probe is long.
fn probe_in(container: &str, attempt: &str, arg: &str) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
    cmd.args(["exec", container, "python3", "-c", PROBE, attempt]);
    if !arg.is_empty() {
        cmd.arg(arg);
    }
    let out = cmd.output().expect("berth runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !stderr.is_empty() {
        eprintln!("{container}: {attempt}: {stderr}");
    }
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn probe_outside(attempt: &str, arg: &str) -> String {
    let mut cmd = Command::new("python3");
    cmd.args(["-c", PROBE, attempt]);
    if !arg.is_empty() {
        cmd.arg(arg);
    }
    let out = cmd.output().expect("python3 runs");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn bounding_set() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    u64::from_str_radix(&common::proc_status_of(&status, "CapBnd"), 16).unwrap()
}

/// Why the control cannot show anything here, if it cannot.
fn control_unprovable(needs: Needs) -> Option<String> {
    match needs {
        Needs::Nothing => None,
        Needs::Capability(bit, name) => (bounding_set() & (1 << bit) == 0)
            .then(|| format!("CAP_{name} is not in this process's bounding set")),
        Needs::Writable(path) => nix::sys::statvfs::statvfs(path)
            .map(|s| s.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY))
            .unwrap_or(true)
            .then(|| format!("{path} is read-only here")),
        Needs::Exists(path) => (!Path::new(path).exists()).then(|| format!("{path} is missing")),
    }
}

/// Runs every attempt in `container` and checks how each ended; returns what failed.
fn attempt_all(container: &str, userns: bool) -> Vec<String> {
    let enforcing =
        std::fs::read_to_string("/sys/fs/selinux/enforce").is_ok_and(|e| e.trim() == "1");
    let mut failed = Vec::new();
    for a in attempts() {
        let mut wanted = match (userns, a.inside_userns) {
            (true, Some(w)) => w.to_vec(),
            _ => a.inside.to_vec(),
        };
        if enforcing && a.selinux_first {
            wanted = EACCES.to_vec();
        }
        let got = probe_in(container, a.name, a.arg);
        eprintln!("{container}: {} -> {got}", a.name);
        if !wanted.contains(&got.as_str()) {
            failed.push(format!("{container}: {}: {got}, wanted {wanted:?}", a.name));
        }
    }
    failed
}

#[test]
#[ignore = "runs inside a real systemd"]
fn every_escape_is_refused_and_its_control_is_not() {
    common::assert_systemd_is_pid1();
    define("escape", SLEEPER);
    define("escape-other", SLEEPER);
    define(
        "escape-userns",
        &format!("{SLEEPER}[security]\nuser_namespace = \"auto\"\n"),
    );
    for name in ["escape", "escape-other", "escape-userns"] {
        berth_ok(&["start", name]);
    }
    assert_ne!(leader("escape"), 0);

    // The controls, outside berth's confinement (root in the sandbox or the VM guest).
    let mut failed = Vec::new();
    for a in attempts() {
        if let Some(why) = control_unprovable(a.control_needs) {
            eprintln!(
                "control of {}: not provable here ({why}); the VM tier runs it",
                a.name
            );
            continue;
        }
        let got = probe_outside(a.name, a.control_arg);
        eprintln!("control: {} -> {got}", a.name);
        if a.inside.contains(&got.as_str()) || got.is_empty() || got.starts_with("Traceback") {
            failed.push(format!("control of {}: {got:?} outside berth too", a.name));
        }
    }
    failed.extend(attempt_all("escape", false));
    failed.extend(attempt_all("escape-userns", true));

    // The attempts harmed nothing: the containers still run, and a stop leaves nothing.
    for name in ["escape", "escape-other", "escape-userns"] {
        let unit = common::status_json(name)["unit"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            common::sh(&format!("systemctl is-active '{unit}'")).trim(),
            "active",
            "{name} survived the attempts"
        );
        berth_ok(&["stop", name]);
    }
    assert!(failed.is_empty(), "escapes:\n{}", failed.join("\n"));
}
