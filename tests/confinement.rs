//! System tests of confinement: capabilities, no_new_privs, seccomp, masked and read-only
//! paths, devices, user namespaces and SELinux labels, checked on the real processes from the
//! outside (/proc/PID/status, cgroup files, the registries) and from inside with `berth exec`.
//!
//! Run inside a real systemd like tests/system.rs; SELinux is checked for real where the host
//! runs it (the VM tier), and for "SELinux: disabled" where it does not (the sandbox).

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use common::{
    berth, berth_ok, define, first_child, leader, proc_status, proc_status_of, status_json,
};

#[test]
fn confinement_in_a_real_systemd() {
    common::assert_on_the_host("the confinement tests");
    common::rerun_in_sandbox("the confinement tests", &["--ignored"]);
}

/// podman's 11: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE
/// SYS_CHROOT SETFCAP.
const DEFAULT_CAPS: &str = "00000000800405fb";
const CAP_KILL: &str = "0000000000000020";
const CAP_NET_ADMIN: u64 = 1 << 12;
const CAP_SYS_ADMIN: u64 = 1 << 21;

fn exec(name: &str, script: &str) -> (i32, String) {
    let out = berth(&["exec", name, "/bin/sh", "-c", script]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn selinux_enabled() -> bool {
    Path::new("/sys/fs/selinux/enforce").exists()
}

const SLEEPER: &str = "[exec]\ncommand = [\"/bin/sleep\", \"infinity\"]\n";

#[test]
#[ignore = "runs inside a real systemd"]
fn payload_exec_and_pid1_are_confined() {
    common::assert_systemd_is_pid1();
    define("caps", SLEEPER);
    berth_ok(&["start", "caps"]);
    let init = leader("caps");
    let payload = first_child(init);

    for set in ["CapBnd", "CapPrm", "CapEff", "CapInh", "CapAmb"] {
        assert_eq!(proc_status(payload, set), DEFAULT_CAPS, "payload {set}");
    }
    assert_eq!(proc_status(payload, "NoNewPrivs"), "1");
    assert_eq!(proc_status(payload, "Seccomp"), "2", "a seccomp filter");
    // PID 1 keeps only what it needs to pass signals on.
    assert_eq!(proc_status(init, "CapEff"), CAP_KILL);
    assert_eq!(proc_status(init, "CapBnd"), CAP_KILL);
    assert_eq!(proc_status(init, "NoNewPrivs"), "1");
    assert_eq!(proc_status(init, "Seccomp"), "2");

    // `berth exec` gets exactly the payload's confinement.
    let (code, status) = exec("caps", "cat /proc/self/status");
    assert_eq!(code, 0, "{status}");
    for field in [
        "CapBnd",
        "CapPrm",
        "CapEff",
        "CapInh",
        "CapAmb",
        "NoNewPrivs",
        "Seccomp",
    ] {
        assert_eq!(
            proc_status_of(&status, field),
            proc_status(payload, field),
            "exec {field}"
        );
    }

    // The default filter and the missing capabilities refuse what containers must not do.
    let python_unshare = "python3 -c 'import ctypes,os; l=ctypes.CDLL(None,use_errno=True); \
        r=l.unshare(0x20000); print(r, os.strerror(ctypes.get_errno()))'";
    assert_eq!(
        exec("caps", python_unshare).1.trim(),
        "-1 Operation not permitted"
    );
    let (code, out) = exec("caps", "mount -t tmpfs none /tmp");
    assert_ne!(code, 0, "mount in a container: {out}");
    assert!(out.to_lowercase().contains("permission denied"), "{out}");
    berth_ok(&["stop", "caps"]);
}

#[test]
#[ignore = "runs inside a real systemd"]
fn definitions_change_capabilities_and_the_filter() {
    common::assert_systemd_is_pid1();
    // SYS_ADMIN added, yet the default filter still refuses new namespaces and mounts.
    define(
        "admin",
        &format!("{SLEEPER}[security]\ncapabilities_add = [\"SYS_ADMIN\", \"NET_ADMIN\"]\ncapabilities_drop = [\"CHOWN\"]\n"),
    );
    berth_ok(&["start", "admin"]);
    let payload = first_child(leader("admin"));
    let eff = u64::from_str_radix(&proc_status(payload, "CapEff"), 16).unwrap();
    assert_ne!(eff & CAP_SYS_ADMIN, 0);
    assert_ne!(eff & CAP_NET_ADMIN, 0);
    assert_eq!(eff & 1, 0, "CHOWN dropped");
    let (code, out) = exec("admin", "unshare --mount true");
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("Operation not permitted"), "{out}");
    berth_ok(&["stop", "admin"]);

    // The same with seccomp = "unconfined": the capability alone decides.
    define(
        "unconfined",
        &format!(
            "{SLEEPER}[security]\ncapabilities_add = [\"SYS_ADMIN\"]\nseccomp = \"unconfined\"\n"
        ),
    );
    berth_ok(&["start", "unconfined"]);
    assert_eq!(
        proc_status(first_child(leader("unconfined")), "Seccomp"),
        "0"
    );
    let (code, out) = exec("unconfined", "unshare --mount true && echo unshared");
    if selinux_enabled() {
        // container_t is not given sys_admin by the policy, whatever the capability sets say.
        assert_ne!(code, 0, "{out}");
    } else {
        assert_eq!((code, out.trim()), (0, "unshared"));
    }
    berth_ok(&["stop", "unconfined"]);

    // A profile file in the OCI format, as podman's: mkdir answers EACCES.
    fs::create_dir_all("/etc/berth").unwrap();
    fs::write(
        "/etc/berth/no-mkdir.json",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}"#,
    )
    .unwrap();
    define(
        "profiled",
        &format!("{SLEEPER}[security]\nseccomp = \"/etc/berth/no-mkdir.json\"\n"),
    );
    berth_ok(&["start", "profiled"]);
    let (code, out) = exec("profiled", "mkdir /tmp/x");
    assert_ne!(code, 0);
    assert!(out.contains("Permission denied"), "{out}");
    berth_ok(&["stop", "profiled"]);

    // A broken profile is refused before anything is done.
    fs::write(
        "/etc/berth/broken.json",
        r#"{"defaultAction": "SCMP_ACT_NOPE"}"#,
    )
    .unwrap();
    define(
        "broken",
        &format!("{SLEEPER}[security]\nseccomp = \"/etc/berth/broken.json\"\n"),
    );
    let out = berth(&["start", "broken"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: the seccomp profile /etc/berth/broken.json is not valid: unsupported action \"SCMP_ACT_NOPE\""
    );
    assert!(!Path::new("/run/berth/broken").exists());
}

#[test]
#[ignore = "runs inside a real systemd"]
fn non_root_payloads_keep_only_what_they_were_given() {
    common::assert_systemd_is_pid1();
    define(
        "nobody",
        "[exec]\ncommand = [\"/bin/sleep\", \"infinity\"]\nuser = \"nobody\"\n\
         [security]\ncapabilities_add = [\"NET_ADMIN\"]\n",
    );
    berth_ok(&["start", "nobody"]);
    let payload = first_child(leader("nobody"));
    assert_eq!(
        proc_status(payload, "Uid").split_whitespace().next(),
        Some("65534")
    );
    let net_admin = format!("{CAP_NET_ADMIN:016x}");
    for set in ["CapEff", "CapPrm", "CapAmb"] {
        assert_eq!(proc_status(payload, set), net_admin, "{set}");
    }
    let bounding = u64::from_str_radix(&proc_status(payload, "CapBnd"), 16).unwrap();
    assert_eq!(
        bounding,
        u64::from_str_radix(DEFAULT_CAPS, 16).unwrap() | CAP_NET_ADMIN
    );
    berth_ok(&["stop", "nobody"]);
}

#[test]
#[ignore = "runs inside a real systemd"]
fn proc_sys_and_dev_are_closed() {
    common::assert_systemd_is_pid1();
    define(
        "closed",
        &format!(
            "{SLEEPER}[filesystem]\nmasked_paths = [\"/etc/shadow\"]\nread_only_paths = [\"/var/lib\"]\n\
             [resources.devices]\n\"/dev/fuse\" = \"rw\"\n"
        ),
    );
    berth_ok(&["start", "closed"]);
    let (_, out) = exec("closed", "echo x > /proc/sys/kernel/hostname");
    assert!(out.contains("Read-only file system"), "{out}");
    if Path::new("/proc/sysrq-trigger").exists() {
        let (_, out) = exec("closed", "echo x > /proc/sysrq-trigger");
        assert!(out.contains("Read-only file system"), "{out}");
    }
    let (code, out) = exec(
        "closed",
        "ls -A /sys/firmware | wc -l; wc -c < /proc/timer_list; wc -c < /etc/shadow",
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["0", "0", "0"],
        "masked: {out}"
    );
    let (_, out) = exec("closed", "touch /var/lib/x");
    assert!(out.contains("Read-only file system"), "{out}");
    let (_, out) = exec("closed", "touch /var/x && echo writable");
    assert!(
        out.contains("writable"),
        "/var itself stays writable: {out}"
    );

    // Only the minimal nodes and the definition's own exist, and only those are allowed.
    let (_, out) = exec("closed", "ls /dev");
    let mut nodes: Vec<&str> = out.split_whitespace().collect();
    nodes.sort();
    let mut expected = vec![
        "fd", "full", "fuse", "mqueue", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin",
        "stdout", "tty", "urandom", "zero",
    ];
    if Path::new("/dev/net/tun").exists() {
        expected.push("net");
        expected.sort();
    }
    assert_eq!(nodes, expected);
    let allow = common::sh("systemctl show -P DeviceAllow berth-closed.scope");
    assert!(
        allow.contains("/dev/fuse rw") && allow.contains("/dev/null rwm"),
        "{allow}"
    );
    assert_eq!(
        common::sh("systemctl show -P DevicePolicy berth-closed.scope").trim(),
        "closed"
    );
    berth_ok(&["stop", "closed"]);
}

#[test]
#[ignore = "runs inside a real systemd"]
fn user_namespaces_give_each_container_its_own_ids() {
    common::assert_systemd_is_pid1();
    let text = format!("{SLEEPER}[security]\nuser_namespace = \"auto\"\n");
    define("userns-a", &text);
    define("userns-b", &text);
    berth_ok(&["start", "userns-a"]);
    berth_ok(&["start", "userns-b"]);
    let map = |name: &str| {
        let pid = leader(name);
        let map = fs::read_to_string(format!("/proc/{pid}/uid_map")).unwrap();
        let fields: Vec<u32> = map.split_whitespace().map(|f| f.parse().unwrap()).collect();
        assert_eq!((fields[0], fields[2]), (0, 65536), "{map}");
        fields[1]
    };
    let (a, b) = (map("userns-a"), map("userns-b"));
    assert_ne!(a, b, "two containers, two ranges");
    assert!(a >= 0x80000 && b >= 0x80000);
    let idmapped = idmapped_mounts_expected("/var/lib/berth");
    assert_eq!(
        status_json("userns-a")["user_namespace"],
        serde_json::json!({ "host_first": a, "count": 65536, "idmapped": idmapped })
    );
    let files = if idmapped { "; its files idmapped" } else { "" };
    assert!(berth_ok(&["status", "userns-a"]).contains(&format!(
        "User IDs: {a}-{} (0-65535 inside{files})",
        a + 65535
    )));

    // The container's root is not the host's; its files are its own, the host's /usr is not.
    let payload = first_child(leader("userns-a"));
    assert_eq!(
        proc_status(payload, "Uid").split_whitespace().next(),
        Some(a.to_string().as_str())
    );
    // Idmapped, the files stay the host's IDs on disk; chowned, they are the range's.
    let on_disk = if idmapped { 0 } else { a };
    let owner = |path: &str| {
        let m = fs::symlink_metadata(path).unwrap();
        (m.uid(), m.gid())
    };
    assert_eq!(
        owner("/var/lib/berth/userns-a/etc/passwd"),
        (on_disk, on_disk)
    );
    let (code, out) = exec(
        "userns-a",
        "id -u; stat -c %u /etc/passwd /etc /var /usr/bin; echo kept > /etc/marker; \
         touch /var/lib/made-inside",
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["0", "0", "0", "0", "65534"]
    );
    assert_eq!(
        owner("/var/lib/berth/userns-a/var/lib/made-inside"),
        (on_disk, on_disk),
        "a file the container's root made"
    );
    assert_eq!(
        private_mounts_idmapped(leader("userns-a")),
        [("/etc".to_owned(), idmapped), ("/var".to_owned(), idmapped)]
    );
    let (_, out) = exec("userns-a", "touch /usr/x");
    assert!(out.contains("Read-only file system"), "{out}");

    // A restart keeps the range, and so the files.
    berth_ok(&["restart", "userns-a"]);
    assert_eq!(map("userns-a"), a);
    assert_eq!(exec("userns-a", "cat /etc/marker").1.trim(), "kept");
    let registry: serde_json::Value =
        serde_json::from_str(&fs::read_to_string("/var/lib/berth/userns.json").unwrap()).unwrap();
    assert_eq!(registry["userns-a"], a);
    berth_ok(&["stop", "userns-a"]);
    berth_ok(&["stop", "userns-b"]);

    // A directory chowned into the range (by a berth without idmapped mounts) is given back
    // to the host's IDs where idmapped mounts map it, and stays the container's inside.
    if idmapped {
        let dir = Path::new("/var/lib/berth/userns-a");
        berth::container::id_shift::shift_tree(dir, a).unwrap();
        assert_eq!(owner("/var/lib/berth/userns-a/etc/marker"), (a, a));
        berth_ok(&["start", "userns-a"]);
        assert_eq!(owner("/var/lib/berth/userns-a/etc/marker"), (0, 0));
        assert_eq!(owner("/var/lib/berth/userns-a/var/lib/made-inside"), (0, 0));
        let (code, out) = exec("userns-a", "stat -c %u /etc/marker /var; cat /etc/marker");
        assert_eq!(code, 0, "{out}");
        assert_eq!(
            out.split_whitespace().collect::<Vec<_>>(),
            ["0", "0", "kept"]
        );
        berth_ok(&["stop", "userns-a"]);
    }

    // A volatile container releases its range when it stops.
    define(
        "userns-v",
        &format!("{text}[filesystem]\netc = \"volatile\"\nvar = \"volatile\"\n"),
    );
    berth_ok(&["start", "userns-v"]);
    let (code, out) = exec("userns-v", "stat -c %u /etc/passwd");
    assert_eq!(
        (code, out.trim()),
        (0, "0"),
        "volatile /etc is the container root's too"
    );
    let seeded = fs::metadata("/run/berth/userns-v/etc/passwd").unwrap();
    let v = map("userns-v");
    let idmapped = idmapped_mounts_expected("/run/berth");
    assert_eq!(seeded.uid(), if idmapped { 0 } else { v });
    berth_ok(&["stop", "userns-v"]);
    let registry: serde_json::Value =
        serde_json::from_str(&fs::read_to_string("/var/lib/berth/userns.json").unwrap()).unwrap();
    assert!(registry.get("userns-v").is_none(), "{registry}");

    // A start that fails after the private trees are mounted leaves nothing behind.
    define(
        "userns-f",
        &format!("{text}[filesystem.binds.\"/x\"]\nsource = \"/nonexistent\"\n"),
    );
    let out = berth(&["start", "userns-f"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent"));
    assert!(!Path::new("/var/lib/berth/userns-f").exists());
    assert!(!Path::new("/run/berth/userns-f").exists());
    assert!(!fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .contains("userns-f"));
    let registry: serde_json::Value =
        serde_json::from_str(&fs::read_to_string("/var/lib/berth/userns.json").unwrap()).unwrap();
    assert!(registry.get("userns-f").is_none(), "{registry}");
}

/// Whether this kernel idmaps mounts of `dir`'s file system: tmpfs since 6.3, ext4, xfs and
/// btrfs since 5.15 at the latest.
fn idmapped_mounts_expected(dir: &str) -> bool {
    use nix::sys::statfs::{
        statfs, BTRFS_SUPER_MAGIC, EXT4_SUPER_MAGIC, TMPFS_MAGIC, XFS_SUPER_MAGIC,
    };
    let release = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let mut numbers = release.split(|c: char| !c.is_ascii_digit());
    let mut next = || {
        numbers
            .next()
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0)
    };
    let kernel = (next(), next());
    let fs = statfs(dir).unwrap().filesystem_type();
    if fs == TMPFS_MAGIC {
        kernel >= (6, 3)
    } else {
        [EXT4_SUPER_MAGIC, XFS_SUPER_MAGIC, BTRFS_SUPER_MAGIC].contains(&fs) && kernel >= (5, 15)
    }
}

/// For the container's /etc and /var, as its PID 1 sees them: whether each is an idmapped
/// mount.
fn private_mounts_idmapped(pid: u32) -> Vec<(String, bool)> {
    let mountinfo = fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap();
    mountinfo
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let point = *fields.get(4)?;
            ["/etc", "/var"].contains(&point).then(|| {
                let options = fields.get(5).copied().unwrap_or("");
                (
                    point.to_owned(),
                    options.split(',').any(|o| o == "idmapped"),
                )
            })
        })
        .collect()
}

/// 100 `berth start`s at once, each its own process as from a script or configuration
/// management: every container gets a user-namespace range of its own and, under SELinux (the
/// VM tier), an MCS level of its own; 100 stops at once release both.
#[test]
#[ignore = "runs inside a real systemd"]
fn a_hundred_parallel_starts_get_distinct_ranges_and_levels() {
    common::assert_systemd_is_pid1();
    use std::collections::BTreeSet;
    use std::process::{Command, Stdio};
    const N: usize = 100;
    // The host's /etc and a volatile /var: nothing is copied, so a hundred of them fit in
    // the VM tier's memory, and nothing persists to keep its range or level.
    let text = format!(
        "{SLEEPER}[filesystem]\netc = \"host\"\nvar = \"volatile\"\n\
         [security]\nuser_namespace = \"auto\"\n"
    );
    let names: Vec<String> = (0..N).map(|i| format!("many-{i}")).collect();
    for name in &names {
        define(name, &text);
    }
    // Should an assertion fail, the other tests still get a host without a hundred containers.
    struct StopAll<'a>(&'a [String]);
    impl Drop for StopAll<'_> {
        fn drop(&mut self) {
            if std::thread::panicking() {
                let mut args = vec!["stop"];
                args.extend(self.0.iter().map(String::as_str));
                let _ = std::process::Command::new(env!("CARGO_BIN_EXE_berth"))
                    .args(&args)
                    .output();
            }
            for name in self.0 {
                let _ = fs::remove_file(format!("/etc/berth/containers/{name}.toml"));
            }
        }
    }
    let _cleanup = StopAll(&names);
    let all_at_once = |verb: &str| {
        let children: Vec<_> = names
            .iter()
            .map(|name| {
                Command::new(env!("CARGO_BIN_EXE_berth"))
                    .args([verb, name])
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("berth runs")
            })
            .collect();
        for (name, child) in names.iter().zip(children) {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "berth {verb} {name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    };
    let quiet_status = |name: &str| -> serde_json::Value {
        let out = Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["status", "--json", name])
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    };

    all_at_once("start");
    let mut ranges = BTreeSet::new();
    let mut levels = BTreeSet::new();
    for name in &names {
        let status = quiet_status(name);
        assert_eq!(status["state"], "running", "{name}: {status:#}");
        ranges.insert(status["user_namespace"]["host_first"].as_u64().unwrap());
        levels.insert(status["selinux"].as_str().unwrap().to_owned());
    }
    assert_eq!(ranges.len(), N, "{N} containers, {N} ranges: {ranges:?}");
    let ranges: Vec<u64> = ranges.into_iter().collect();
    assert!(
        ranges.windows(2).all(|w| w[1] - w[0] >= 65536),
        "the ranges overlap: {ranges:?}"
    );
    if selinux_enabled() {
        assert_eq!(levels.len(), N, "{N} containers, {N} levels: {levels:?}");
    } else {
        assert_eq!(levels, BTreeSet::from(["disabled".to_owned()]));
    }

    all_at_once("stop");
    for registry in ["/var/lib/berth/userns.json", "/var/lib/berth/mcs.json"] {
        let text = fs::read_to_string(registry).unwrap_or_default();
        assert!(
            !text.contains("many-"),
            "volatile containers release what they reserved: {registry}: {text}"
        );
    }
}

#[test]
#[ignore = "runs inside a real systemd"]
fn selinux_labels_are_unique_per_container() {
    common::assert_systemd_is_pid1();
    // Both containers share a host directory, labelled for containers in general (s0, no
    // categories): what one writes there carries its level, which the other cannot read.
    fs::create_dir_all("/srv/berth-shared").unwrap();
    let shared =
        "[filesystem.binds.\"/shared\"]\nsource = \"/srv/berth-shared\"\nread_only = false\n";
    define("label-a", &format!("{SLEEPER}{shared}"));
    define(
        "label-b",
        &format!("{SLEEPER}{shared}[filesystem]\netc = \"volatile\"\nvar = \"volatile\"\n"),
    );
    if !selinux_enabled() {
        berth_ok(&["start", "label-a"]);
        assert_eq!(status_json("label-a")["selinux"], "disabled");
        assert!(berth_ok(&["status", "label-a"]).contains("SELinux: disabled"));
        berth_ok(&["stop", "label-a"]);
        eprintln!("SELinux is not enabled here: only \"SELinux: disabled\" was checked");
        return;
    }
    common::sh("chcon system_u:object_r:container_file_t:s0 /srv/berth-shared");
    berth_ok(&["start", "label-a"]);
    berth_ok(&["start", "label-b"]);
    let label = |name: &str| {
        let pid = first_child(leader(name));
        fs::read_to_string(format!("/proc/{pid}/attr/current"))
            .unwrap()
            .trim_end_matches('\0')
            .to_owned()
    };
    let (a, b) = (label("label-a"), label("label-b"));
    assert!(a.starts_with("system_u:system_r:container_t:s0:c"), "{a}");
    assert!(b.starts_with("system_u:system_r:container_t:s0:c"), "{b}");
    assert_ne!(a, b, "two containers, two levels");
    assert_eq!(status_json("label-a")["selinux"], a);
    let level = |label: &str| label.splitn(4, ':').nth(3).unwrap().to_owned();
    let file = common::sh("stat -c %C /var/lib/berth/label-a/etc/passwd");
    assert_eq!(
        file.trim(),
        format!("system_u:object_r:container_file_t:{}", level(&a))
    );
    let (_, tmp) = exec("label-a", "stat -c %C /tmp /run /dev/shm");
    assert!(tmp.lines().all(|l| l.ends_with(&level(&a))), "{tmp}");

    let (code, out) = exec(
        "label-b",
        "echo secret > /shared/from-b && stat -c %C /shared/from-b",
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.trim().ends_with(&level(&b)), "{out}");
    let (code, out) = exec("label-a", "cat /shared/from-b");
    assert_ne!(code, 0, "container a read container b's file: {out}");
    assert!(out.contains("Permission denied"), "{out}");

    berth_ok(&["stop", "label-b"]);
    let registry = fs::read_to_string("/var/lib/berth/mcs.json").unwrap();
    assert!(
        !registry.contains("label-b"),
        "the volatile container's level is released: {registry}"
    );
    assert!(
        registry.contains("label-a"),
        "the persistent one keeps it: {registry}"
    );
    berth_ok(&["restart", "label-a"]);
    assert_eq!(
        label("label-a"),
        a,
        "a persistent container keeps its level"
    );
    berth_ok(&["stop", "label-a"]);
    fs::remove_dir_all("/srv/berth-shared").unwrap();
}

#[test]
#[ignore = "runs inside a real systemd"]
fn network_none_has_only_a_loopback_that_is_up() {
    common::assert_systemd_is_pid1();
    define("offline", &format!("{SLEEPER}[network]\nmode = \"none\"\n"));
    berth_ok(&["start", "offline"]);
    // The links of its own namespace, lo's IFF_UP (SIOCGIFFLAGS), and a connection over it.
    let probe = "python3 -c 'import socket, fcntl, struct
print(sorted(n for _, n in socket.if_nameindex()))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
req = fcntl.ioctl(s.fileno(), 0x8913, struct.pack(\"16sH\", b\"lo\", 0) + bytes(22))
print(\"up\" if struct.unpack_from(\"H\", req, 16)[0] & 1 else \"down\")
l = socket.socket(); l.bind((\"127.0.0.1\", 0)); l.listen()
socket.create_connection(l.getsockname()); print(\"connected\")'";
    let (code, out) = exec("offline", probe);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["['lo']", "up", "connected"],
        "{out}"
    );
    berth_ok(&["stop", "offline"]);
}
