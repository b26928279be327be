//! System tests: the real `berth` binaries against a real systemd (PID 1 of a sandbox booted by
//! tests/harness/berth-sandbox), with a real D-Bus system bus, cgroups, journald and machined,
//! checked from the outside as an administrator would.
//!
//! `cargo test` runs [`in_a_real_systemd`] on the host: it boots one sandbox and runs this same
//! test binary inside it with `--ignored`, which runs the `#[ignore]`d tests below. Without
//! root or the harness, that test fails under CI=true and says SKIP otherwise.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use std::thread::sleep;
use std::time::{Duration, Instant};

use berth::systemd::cgroup_version;
use berth::unit::CgroupVersion;

mod common;

use common::{berth, berth_ok, define, leader, mountinfo, status_json};

#[test]
fn in_a_real_systemd() {
    common::assert_on_the_host("the system tests");
    common::rerun_in_sandbox("the system tests", &["--ignored"]);
}

// ---------------------------------------------------------------- helpers (inside)

fn berth_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("berth runs");
    eprintln!(
        "$ berth {}\n{}{}(exit {:?})",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        out.status.code()
    );
    out
}

fn sh(cmd: &str) -> (bool, String) {
    let out = Command::new("sh")
        .args(["-c", cmd])
        .output()
        .expect("sh runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        sleep(Duration::from_millis(50));
    }
}

/// Nothing of container `name` is left on the host.
fn assert_nothing_left(name: &str, mounts_before: &[String], first_start: bool) {
    let unit = format!("berth-{name}.scope");
    let (active, _) = sh(&format!("systemctl is-active --quiet {unit}"));
    assert!(!active, "{unit} is still active");
    let (_, units) = sh("systemctl list-units --all --no-legend 'berth-*.scope'");
    assert!(!units.contains(&unit), "{unit} is still loaded: {units}");
    let (_, machines) = sh("machinectl list --no-legend");
    assert!(
        !machines.contains(name),
        "machine {name} still registered: {machines}"
    );
    assert!(
        !Path::new(&format!("/run/berth/{name}")).exists(),
        "/run/berth/{name} left"
    );
    if first_start {
        assert!(
            !Path::new(&format!("/var/lib/berth/{name}")).exists(),
            "/var/lib/berth/{name} left"
        );
    }
    assert_eq!(mountinfo(), mounts_before, "the host's mount table changed");
}

fn read_trim(path: &str) -> String {
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .trim()
        .to_owned()
}

// ---------------------------------------------------------------- tests (inside the sandbox)

const LIMITED: &str = r#"
description = "system test container"
group = "systest"

[exec]
command = ["/bin/sh", "-c", "echo hello-from-payload; exec sleep infinity"]

[resources]
memory_max = "64M"
cpu_quota = "50%"
tasks_max = 32
"#;

#[test]
#[ignore = "runs inside the systemd sandbox"]
fn start_confines_limits_and_shows_everywhere() {
    common::assert_systemd_is_pid1();
    let mounts = mountinfo();
    define("sysweb", LIMITED);
    berth_ok(&["start", "sysweb"]);
    let pid = leader("sysweb");

    // The scope in the slice chain, with the limits in the cgroup files: in the unified
    // hierarchy on cgroup v2, in each controller's hierarchy on v1.
    let cgroup = read_trim(&format!("/proc/{pid}/cgroup"));
    let scope = "/berth.slice/berth-systest.slice/berth-sysweb.scope";
    match cgroup_version().expect("the cgroup version") {
        CgroupVersion::V2 => {
            assert!(
                cgroup.lines().any(|l| l == format!("0::{scope}")),
                "{cgroup}"
            );
            let cg = |file: &str| read_trim(&format!("/sys/fs/cgroup{scope}/{file}"));
            assert_eq!(cg("memory.max"), (64u64 << 20).to_string());
            assert_eq!(cg("pids.max"), "32");
            assert_eq!(cg("cpu.max"), "50000 100000");
        }
        CgroupVersion::V1 => {
            assert!(cgroup.contains(&format!(":memory:{scope}")), "{cgroup}");
            // Where the host mounts each v1 controller: alone ("cpu") or joined ("cpu,cpuacct").
            let cg = |ctl: &str, file: &str| {
                let line = cgroup
                    .lines()
                    .find(|l| {
                        l.split(':')
                            .nth(1)
                            .is_some_and(|c| c.split(',').any(|c| c == ctl))
                    })
                    .unwrap_or_else(|| panic!("no {ctl} controller in {cgroup}"));
                let hierarchy = line.split(':').nth(1).unwrap();
                read_trim(&format!("/sys/fs/cgroup/{hierarchy}{scope}/{file}"))
            };
            assert_eq!(
                cg("memory", "memory.limit_in_bytes"),
                (64u64 << 20).to_string()
            );
            assert_eq!(cg("pids", "pids.max"), "32");
            assert_eq!(cg("cpu", "cpu.cfs_quota_us"), "50000");
        }
    }

    // Every namespace differs from the host's.
    for ns in ["mnt", "uts", "ipc", "pid", "cgroup"] {
        let theirs = fs::read_link(format!("/proc/{pid}/ns/{ns}")).unwrap();
        let ours = fs::read_link(format!("/proc/self/ns/{ns}")).unwrap();
        assert_ne!(theirs, ours, "{ns} namespace is the host's");
    }

    // /usr is the host's, read-only.
    let out = berth(&["exec", "sysweb", "/usr/bin/touch", "/usr/berth-test"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Read-only file system"));
    assert_eq!(
        berth_ok(&[
            "exec",
            "sysweb",
            "/bin/sh",
            "-c",
            "readlink -f /usr/bin/sh >/dev/null; echo $container"
        ]),
        "berth\n"
    );
    let out = berth(&["exec", "sysweb", "/bin/sh", "-c", "exit 7"]);
    assert_eq!(
        out.status.code(),
        Some(7),
        "exec returns the command's exit code"
    );

    // /etc is private and persistent.
    berth_ok(&[
        "exec",
        "sysweb",
        "/bin/sh",
        "-c",
        "echo kept > /etc/berth-marker",
    ]);
    assert!(
        !Path::new("/etc/berth-marker").exists(),
        "a container write reached the host's /etc"
    );
    assert!(Path::new("/var/lib/berth/sysweb/etc/berth-marker").exists());

    // systemd, the journal and machined see it.
    let (up, _) = sh("systemctl status berth-sysweb.scope --no-pager");
    assert!(up, "systemctl status");
    let (_, delegate) = sh("systemctl show -P Delegate berth-sysweb.scope");
    assert_eq!(delegate.trim(), "yes");
    wait_for(
        "the payload's output in the journal",
        Duration::from_secs(5),
        || {
            sh("journalctl -u berth-sysweb.scope --no-pager -o cat")
                .1
                .contains("hello-from-payload")
        },
    );
    let (_, tagged) = sh("journalctl -t sysweb --no-pager -o cat");
    assert!(
        tagged.contains("hello-from-payload"),
        "identifier is the container name"
    );
    let (_, machines) = sh("machinectl list --no-legend");
    assert!(machines.contains("sysweb"), "{machines}");
    let list = berth_ok(&["list"]);
    assert!(
        list.lines()
            .any(|l| l.starts_with("sysweb") && l.contains("running")),
        "{list}"
    );
    let status = berth_ok(&["status", "sysweb"]);
    assert!(status.contains("State: running"), "{status}");
    assert!(status.contains("limit 64.0M"), "{status}");

    // Starting twice is refused.
    let out = berth(&["start", "sysweb"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already running"));

    // A restart keeps /etc.
    berth_ok(&["restart", "sysweb"]);
    assert_eq!(
        berth_ok(&["exec", "sysweb", "/bin/cat", "/etc/berth-marker"]),
        "kept\n"
    );

    let pid = leader("sysweb");
    berth_ok(&["stop", "sysweb"]);
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "PID 1 of the container survived"
    );
    assert_nothing_left("sysweb", &mounts, false);
}

#[test]
#[ignore = "runs inside the systemd sandbox"]
fn kill_and_escaped_names() {
    common::assert_systemd_is_pid1();
    let mounts = mountinfo();
    define(
        "my-app",
        "[exec]\ncommand = [\"/bin/sleep\", \"infinity\"]\n",
    );
    berth_ok(&["start", "my-app"]);
    let (active, _) = sh("systemctl is-active 'berth-my\\x2dapp.scope'");
    assert!(active, "unit name is escaped like systemd-escape");
    berth_ok(&["kill", "my-app", "--signal", "SIGKILL"]);
    wait_for("the container to end", Duration::from_secs(5), || {
        !sh("systemctl is-active --quiet 'berth-my\\x2dapp.scope'").0
    });
    let status = status_json("my-app");
    assert_eq!(status["state"], "stopped");
    berth_ok(&["stop", "my-app"]);
    assert_nothing_left("my-app", &mounts, false);

    // A payload that ignores the stop signal is killed after --timeout, not the definition's
    // stop_timeout of an hour.
    define(
        "stubborn",
        "[exec]\ncommand = [\"/bin/sh\", \"-c\", \"trap '' TERM; while :; do sleep 1; done\"]\nstop_timeout = \"1h\"\n",
    );
    berth_ok(&["start", "stubborn"]);
    berth_ok(&["stop", "--timeout", "1", "stubborn"]);
    assert_nothing_left("stubborn", &mounts, false);
}

#[test]
#[ignore = "runs inside the systemd sandbox"]
fn memory_limit_kills_and_status_says_so() {
    common::assert_systemd_is_pid1();
    define(
        "hog",
        r#"
[exec]
command = ["/usr/bin/python3", "-c", "import time; x = b'x' * (256 << 20); time.sleep(60)"]
[resources]
memory_max = "32M"
"#,
    );
    berth_ok(&["start", "hog"]);
    wait_for("the OOM kill", Duration::from_secs(20), || {
        !sh("systemctl is-active --quiet berth-hog.scope").0
    });
    let status = berth_ok(&["status", "hog"]);
    assert!(status.contains("out of memory"), "{status}");
    assert!(status.contains("killed by SIGKILL"), "{status}");
}

/// Every failing start leaves nothing behind.
#[test]
#[ignore = "runs inside the systemd sandbox"]
fn failed_starts_roll_back() {
    common::assert_systemd_is_pid1();
    let mounts = mountinfo();
    define(
        "nobind",
        "[exec]\ncommand = [\"/bin/sleep\", \"infinity\"]\n[filesystem.binds.\"/srv/data\"]\nsource = \"/nonexistent/data\"\n",
    );
    let out = berth(&["start", "nobind"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/data"));
    assert_nothing_left("nobind", &mounts, true);
    assert!(
        !Path::new("/run/berth/nobind.exit.json").exists(),
        "the exit record of a failed start is left"
    );

    define("nocmd", "[exec]\ncommand = [\"/nonexistent/program\"]\n");
    let out = berth(&["start", "nocmd"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/program"));
    assert_nothing_left("nocmd", &mounts, true);
    assert!(
        !Path::new("/run/berth/nocmd.exit.json").exists(),
        "the exit record of a failed start is left"
    );

    // The helper dies before doing anything.
    define(
        "nohelper",
        "[exec]\ncommand = [\"/bin/sleep\", \"infinity\"]\n",
    );
    let out = berth_env(&["start", "nohelper"], &[("BERTH_HELPER", "/bin/false")]);
    assert_eq!(out.status.code(), Some(1));
    assert_nothing_left("nohelper", &mounts, true);

    // systemd refuses the scope: its slice is masked.
    let (masked, text) = sh("systemctl mask --runtime berth-refused.slice");
    assert!(masked, "{text}");
    define(
        "refused",
        "group = \"refused\"\n[exec]\ncommand = [\"/bin/sleep\", \"infinity\"]\n",
    );
    let out = berth(&["start", "refused"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("berth-refused.scope"),
        "the error names the unit"
    );
    assert_nothing_left("refused", &mounts, true);
    sh("systemctl unmask --runtime berth-refused.slice");

    // An invalid definition changes nothing at all.
    define(
        "invalid",
        "[exec]\ncommand = [\"/bin/true\"]\n[resources]\nmemory_max = \"lots\"\n",
    );
    let out = berth(&["start", "invalid"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("memory_max"));
    assert_nothing_left("invalid", &mounts, true);
    assert!(
        !Path::new("/run/berth/invalid.lock").exists(),
        "an invalid definition took a lock"
    );
}

/// An /etc entry that even root cannot read (a write-only sysctl bound over it), on which
/// seeding a container's /etc fails part way; gone again when dropped.
struct UnreadableInEtc;

impl UnreadableInEtc {
    const PATH: &'static str = "/etc/berth-unreadable";

    fn new() -> UnreadableInEtc {
        fs::write(Self::PATH, "").unwrap();
        let (bound, text) = sh(&format!(
            "mount --bind /proc/sys/vm/drop_caches {}",
            Self::PATH
        ));
        assert!(bound, "{text}");
        assert!(fs::read(Self::PATH).is_err(), "root can read it after all");
        UnreadableInEtc
    }
}

impl Drop for UnreadableInEtc {
    fn drop(&mut self) {
        sh(&format!("umount {0}; rm -f {0}", Self::PATH));
    }
}

/// A start that fails while it makes the container's persistent directory removes exactly
/// what it made: all of it on a first start, with its reservation, and only that where the
/// container had the directory before.
#[test]
#[ignore = "runs inside the systemd sandbox"]
fn a_start_failing_in_its_persistent_directory_removes_what_it_made() {
    common::assert_systemd_is_pid1();
    let dir = Path::new("/var/lib/berth/halfway");
    let obstacle = UnreadableInEtc::new();
    let mounts = mountinfo();
    let persistent =
        "[exec]\ncommand = [\"/bin/sleep\", \"infinity\"]\n[security]\nuser_namespace = \"auto\"\n";
    define("halfway", persistent);
    let out = berth(&["start", "halfway"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot seed /var/lib/berth/halfway/etc")
            && stderr.contains(UnreadableInEtc::PATH.trim_start_matches("/etc/")),
        "{stderr}"
    );
    assert!(!stderr.contains("left behind"), "{stderr}");
    assert_nothing_left("halfway", &mounts, true);
    let left: Vec<String> = fs::read_dir("/run/berth")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f.starts_with("halfway") && f != "halfway.lock")
        .collect();
    assert!(left.is_empty(), "left in /run/berth: {left:?}");
    let registry = fs::read_to_string("/var/lib/berth/userns.json").unwrap_or_default();
    assert!(
        !registry.contains("\"halfway\""),
        "the range is still reserved: {registry}"
    );

    // Where the directory was there before, it stays as it was: made by a start with the
    // host's /etc and its own /var.
    drop(obstacle);
    define(
        "halfway",
        "[exec]\ncommand = [\"/bin/sleep\", \"infinity\"]\n[filesystem]\netc = \"host\"\n",
    );
    berth_ok(&["start", "halfway"]);
    berth_ok(&["stop", "halfway"]);
    let machine_id = read_trim("/var/lib/berth/halfway/machine-id");
    let obstacle = UnreadableInEtc::new();
    let mounts = mountinfo();
    define(
        "halfway",
        "[exec]\ncommand = [\"/bin/sleep\", \"infinity\"]\n",
    );
    let out = berth(&["start", "halfway"]);
    assert_eq!(out.status.code(), Some(1));
    assert_nothing_left("halfway", &mounts, false);
    assert_eq!(read_trim("/var/lib/berth/halfway/machine-id"), machine_id);
    assert!(dir.join("var/tmp").is_dir(), "its /var is gone");
    assert!(
        !dir.join("etc").exists() && !dir.join("etc.new").exists(),
        "what the failed start made is left"
    );
    drop(obstacle);
    berth_ok(&["reset", "halfway"]);
}

/// `berth start` killed with SIGKILL at any moment: the next command cleans up.
#[test]
#[ignore = "runs inside the systemd sandbox"]
fn a_killed_start_is_cleaned_up_by_the_next_command() {
    common::assert_systemd_is_pid1();
    let mounts = mountinfo();
    define(
        "crashy",
        "[exec]\ncommand = [\"/bin/sleep\", \"infinity\"]\n",
    );
    for delay_ms in [0u64, 2, 5, 10, 20, 40, 80, 160] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["start", "crashy"])
            .spawn()
            .unwrap();
        sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        // Whatever the moment, the next command leaves either a running container or nothing.
        let state = status_json("crashy")["state"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        eprintln!("killed after {delay_ms} ms: state {state}");
        match state.as_str() {
            "running" => {
                let (active, _) = sh("systemctl is-active --quiet berth-crashy.scope");
                assert!(
                    active,
                    "killed after {delay_ms} ms: running, yet its unit is not"
                );
                let pid = leader("crashy");
                assert!(
                    Path::new(&format!("/proc/{pid}")).exists(),
                    "killed after {delay_ms} ms: running, yet its PID 1 {pid} is gone"
                );
                berth_ok(&["stop", "crashy"]);
            }
            // Each start here is a first start: its new persistent directory goes too.
            "stopped" => assert_nothing_left("crashy", &mounts, true),
            other => panic!(
                "killed after {delay_ms} ms, the next command found `{other}`: neither running \
                 nor gone"
            ),
        }
        assert_nothing_left("crashy", &mounts, false);
        let _ = fs::remove_dir_all("/var/lib/berth/crashy");
    }
}

/// `list --json` and `status --json` as berth(1), JSON OUTPUT, documents them, for a container
/// that is stopped, running, and running without its definition.
#[test]
#[ignore = "runs inside the systemd sandbox"]
fn list_and_status_json_are_as_documented() {
    common::assert_systemd_is_pid1();
    let documented = |verb: &str, args: &[&str]| -> serde_json::Value {
        let out = berth(args);
        assert!(out.status.success(), "berth {args:?} failed");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        common::assert_documented_json(verb, &v);
        v
    };
    let row = |list: &serde_json::Value, name: &str| -> serde_json::Value {
        list.as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name} is not listed: {list:#}"))
            .clone()
    };
    define("jsonweb", LIMITED);
    let stopped = documented("status", &["status", "--json", "jsonweb"]);
    assert_eq!(stopped["state"], "stopped");
    assert!(stopped["leader"].is_null() && stopped["since_usec"].is_null());
    let r = row(&documented("list", &["list", "--json"]), "jsonweb");
    assert_eq!(r["state"], "stopped");
    assert_eq!(r["group"], "systest");
    assert_eq!(r["autostart"], false);

    berth_ok(&["start", "jsonweb"]);
    let running = documented("status", &["status", "--json", "jsonweb"]);
    assert_eq!(running["state"], "running");
    assert_eq!(running["memory_limit"], 64u64 << 20);
    assert!(running["since_usec"].as_u64().unwrap() > 0);
    let leader = running["leader"].as_u64().expect("a leader");
    assert!(running["processes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["pid"] == leader));
    let r = row(&documented("list", &["list", "--json"]), "jsonweb");
    assert_eq!(r["state"], "running");
    assert_eq!(r["leader"], leader);
    assert!(r["tasks_current"].as_u64().unwrap() >= 2, "{r}");

    // Its definition gone, it is still listed and shown.
    fs::rename(
        "/etc/berth/containers/jsonweb.toml",
        "/etc/berth/containers/jsonweb.toml.away",
    )
    .unwrap();
    let r = row(&documented("list", &["list", "--json"]), "jsonweb");
    assert_eq!(r["state"], "running+orphan");
    assert!(r["group"].is_null() && r["autostart"].is_null());
    let orphan = documented("status", &["status", "--json", "jsonweb"]);
    assert_eq!(orphan["definition_valid"], false);
    fs::rename(
        "/etc/berth/containers/jsonweb.toml.away",
        "/etc/berth/containers/jsonweb.toml",
    )
    .unwrap();
    berth_ok(&["stop", "jsonweb"]);
    let r = documented("status", &["status", "--json", "jsonweb"]);
    assert_eq!(r["state"], "stopped");
}

#[test]
#[ignore = "runs inside the systemd sandbox"]
fn logs_shell_and_tmpfs_mounts() {
    common::assert_systemd_is_pid1();
    define(
        "chatty",
        "[exec]\ncommand = [\"/bin/sh\", \"-c\", \"echo chatty says hello; echo to stderr >&2; exec sleep infinity\"]\n\
         [filesystem.tmpfs.\"/var/cache/app\"]\nsize = \"1M\"\nmode = \"0700\"\n",
    );
    berth_ok(&["start", "chatty"]);

    // The payload's output, stdout and stderr, is in the unit's journal and `berth logs` shows it.
    wait_for(
        "the payload's output in the journal",
        Duration::from_secs(10),
        || {
            let logs = berth(&["logs", "chatty", "--lines", "20"]);
            String::from_utf8_lossy(&logs.stdout).contains("to stderr")
        },
    );
    let logs = berth_ok(&["logs", "chatty"]);
    assert!(logs.contains("chatty says hello"), "{logs}");
    let (ok, journal) = sh("journalctl -q -o cat -u 'berth-chatty.scope'");
    assert!(ok && journal.contains("chatty says hello"), "{journal}");

    // The tmpfs: its size and mode, and empty at every start.
    let (ok, df) = sh(&format!(
        "{} exec chatty /bin/sh -c 'stat -c %a /var/cache/app; \
         grep \" /var/cache/app \" /proc/self/mountinfo; touch /var/cache/app/left'",
        env!("CARGO_BIN_EXE_berth")
    ));
    assert!(ok, "{df}");
    let lines: Vec<&str> = df.lines().collect();
    assert_eq!(lines[0], "700", "{df}");
    assert!(
        lines[1].contains(" - tmpfs ") && lines[1].contains("size=1024k"),
        "{df}"
    );

    // `berth shell` runs the definition's user's login shell; here, root's, reading stdin.
    let shell = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["shell", "chatty"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("berth shell runs");
    use std::io::Write;
    shell
        .stdin
        .as_ref()
        .unwrap()
        .write_all(
            b"echo in-shell $(cat /proc/sys/kernel/hostname) $(id -u); ls /var/cache/app; exit 3\n",
        )
        .unwrap();
    let out = shell.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(3),
        "the shell's exit status comes back: {text}"
    );
    assert!(text.contains("in-shell chatty 0"), "{text}");
    assert!(text.contains("left"), "{text}");

    berth_ok(&["restart", "chatty"]);
    let (ok, ls) = sh(&format!(
        "{} exec chatty ls -A /var/cache/app",
        env!("CARGO_BIN_EXE_berth")
    ));
    assert!(
        ok && ls.trim().is_empty(),
        "the tmpfs is empty after a restart: {ls}"
    );
    berth_ok(&["stop", "chatty"]);
}
