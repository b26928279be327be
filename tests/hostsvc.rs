//! Host-service features of issue 18 against a real systemd: `berth pause` and `berth resume`
//! freeze and thaw a container's processes; a container whose binary the host replaced is
//! marked outdated and `berth apply --restart-outdated` restarts it and only it; an IO
//! bandwidth limit reaches the cgroup's blkio.throttle (v1) or io.max (v2) file, the memory
//! nodes its cpuset.mems (v2; a warning on v1), and status and list account its IO; a host
//! unit with User=, Environment=, an EnvironmentFile= and a drop-in becomes a definition that
//! checks clean and runs the same binary as that user with that environment, and a template
//! instance works; a group file's memory budget reaches the group's slice and is shared by
//! the group's containers.
//!
//! Run inside a real systemd like tests/system.rs.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::thread::sleep;
use std::time::Duration;

mod common;

use berth::systemd::cgroup_version;
use berth::unit::CgroupVersion;
use common::{berth, berth_ok, define, status_json};

#[test]
fn host_services_in_a_real_systemd() {
    common::assert_on_the_host("the host-service tests");
    common::rerun_in_sandbox("the host-service tests", &["--ignored"]);
}

/// A payload that never sleeps: its CPU time grows exactly while it is not frozen.
const BUSY: &str = r#"
[exec]
command = ["/bin/sh", "-c", "while :; do :; done"]
"#;

/// The host PIDs of the container's processes, from `berth status --json`.
fn pids(name: &str) -> Vec<u32> {
    let status = status_json(name);
    let pids: Vec<u32> = status["processes"]
        .as_array()
        .expect("processes")
        .iter()
        .map(|p| p["pid"].as_u64().unwrap() as u32)
        .collect();
    assert!(!pids.is_empty(), "{name} has no processes: {status:#}");
    pids
}

/// /proc/PID/stat split after the command (which may hold spaces): field 3 (state) first.
fn stat_fields(pid: u32) -> Vec<String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    after.split(' ').map(str::to_owned).collect()
}

/// utime + stime of every process, in clock ticks.
fn cpu_ticks(pids: &[u32]) -> u64 {
    pids.iter()
        .map(|&p| {
            let f = stat_fields(p);
            // Fields 14 and 15 of stat, counted from field 3 at index 0.
            f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
        })
        .sum()
}

/// Whether cgroup v2 says the container's cgroup is frozen (systemd's FreezeUnit): its tasks
/// then sleep in state S, so /proc/PID/stat alone does not tell.
fn v2_frozen(name: &str) -> bool {
    let Some(cgroup) = status_json(name)["control_group"]
        .as_str()
        .map(str::to_owned)
    else {
        return false;
    };
    fs::read_to_string(format!("/sys/fs/cgroup{cgroup}/cgroup.events"))
        .is_ok_and(|events| events.lines().any(|l| l == "frozen 1"))
}

/// The v1 freezer's word on the container's cgroup, where berth froze it there.
fn v1_freezer_state(name: &str) -> Option<String> {
    let cgroup = status_json(name)["control_group"].as_str()?.to_owned();
    fs::read_to_string(format!("/sys/fs/cgroup/freezer{cgroup}/freezer.state"))
        .ok()
        .map(|s| s.trim().to_owned())
}

fn list_entry(name: &str) -> serde_json::Value {
    let out = berth_ok(&["list", "--json"]);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    common::assert_documented_json("list", &list);
    list.as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("{name} is not listed: {list:#}"))
}

#[test]
#[ignore = "runs inside a real systemd"]
fn pause_freezes_the_processes_and_resume_thaws_them() {
    common::assert_systemd_is_pid1();
    define("busy", BUSY);
    berth_ok(&["start", "busy"]);
    let procs = pids("busy");
    sleep(Duration::from_millis(300));
    let before = cpu_ticks(&procs);
    sleep(Duration::from_secs(1));
    assert!(cpu_ticks(&procs) > before, "the busy loop uses no CPU");

    assert_eq!(berth_ok(&["pause", "busy"]), "paused busy\n");
    let freezer = v1_freezer_state("busy");
    let frozen_v2 = v2_frozen("busy");
    eprintln!("v1 freezer.state: {freezer:?}; cgroup v2 frozen: {frozen_v2}");
    for &p in &procs {
        let state = stat_fields(p)[0].clone();
        assert!(
            matches!(state.as_str(), "D" | "T")
                || freezer.as_deref() == Some("FROZEN")
                || frozen_v2,
            "process {p} is in state {state} after pause (freezer: {freezer:?}, v2 frozen: \
             {frozen_v2})"
        );
    }
    let frozen_at = cpu_ticks(&procs);
    sleep(Duration::from_millis(1200));
    assert_eq!(cpu_ticks(&procs), frozen_at, "CPU time grew while paused");

    let status = status_json("busy");
    common::assert_documented_json("status", &status);
    assert_eq!(status["paused"], true, "{status:#}");
    assert_eq!(status["state"], "running");
    assert_eq!(list_entry("busy")["paused"], true);
    let text = berth_ok(&["list"]);
    assert!(text.contains("running (paused)"), "{text}");
    let text = berth_ok(&["status", "busy"]);
    assert!(text.contains("State: running (paused) since"), "{text}");
    assert_eq!(berth_ok(&["pause", "busy"]), "busy is already paused\n");

    assert_eq!(berth_ok(&["resume", "busy"]), "resumed busy\n");
    let thawed_at = cpu_ticks(&procs);
    sleep(Duration::from_secs(1));
    assert!(
        cpu_ticks(&procs) > thawed_at,
        "CPU time stayed flat after resume"
    );
    assert_eq!(status_json("busy")["paused"], false);
    assert_eq!(list_entry("busy")["paused"], false);
    assert_eq!(berth_ok(&["resume", "busy"]), "busy is not paused\n");

    // The processes are back where systemd keeps them, and berth left no freezer cgroup.
    assert_eq!(v1_freezer_state("busy"), None);
    berth_ok(&["stop", "busy"]);

    // A paused container is thawed before it is stopped: its payload ends on the stop
    // signal, not on the SIGKILL that a stop timing out on frozen processes would need, and
    // nothing of the pause is left.
    berth_ok(&["start", "busy"]);
    assert_eq!(berth_ok(&["pause", "busy"]), "paused busy\n");
    berth_ok(&["stop", "--timeout", "20", "busy"]);
    let last_exit = &status_json("busy")["last_exit"];
    assert_eq!(last_exit["signal"], 15, "{last_exit:#}");
    assert_eq!(v1_freezer_state("busy"), None);

    let out = berth(&["pause", "busy"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: container `busy` is not running\n"
    );
}

/// A binary under the host's /usr (the sandbox's root is a throw-away overlay, so writing
/// there is safe), which the containers see read-only as their own /usr.
const TEST_SLEEP: &str = "/usr/local/bin/berth-test-sleep";

/// Puts a fresh copy of /bin/sleep at TEST_SLEEP the way package managers do: a new file
/// renamed over the old one.
fn install_test_sleep() {
    fs::create_dir_all("/usr/local/bin").unwrap();
    let new = format!("{TEST_SLEEP}.new");
    fs::copy("/bin/sleep", &new).unwrap();
    fs::rename(&new, TEST_SLEEP).unwrap();
}

#[test]
#[ignore = "runs inside a real systemd"]
fn a_container_whose_binary_the_host_replaced_is_outdated_and_restarted_alone() {
    common::assert_systemd_is_pid1();
    install_test_sleep();
    define(
        "old",
        &format!("[exec]\ncommand = [\"{TEST_SLEEP}\", \"infinity\"]\n"),
    );
    define(
        "steady",
        "[exec]\ncommand = [\"/bin/sleep\", \"infinity\"]\n",
    );
    berth_ok(&["start", "old", "steady"]);
    let (old_leader, steady_leader) = (common::leader("old"), common::leader("steady"));
    assert_eq!(list_entry("old")["outdated"], false);
    assert_eq!(list_entry("steady")["outdated"], false);

    install_test_sleep();
    let payload = common::first_child(old_leader);
    let maps = fs::read_to_string(format!("/proc/{payload}/maps")).unwrap();
    eprintln!("maps of the payload after the update:\n{maps}");
    assert_eq!(list_entry("old")["outdated"], true);
    assert_eq!(list_entry("steady")["outdated"], false);
    let status = status_json("old");
    common::assert_documented_json("status", &status);
    assert_eq!(status["outdated"], true);
    assert_eq!(status["outdated_files"], serde_json::json!([TEST_SLEEP]));
    assert_eq!(
        status_json("steady")["outdated_files"],
        serde_json::json!([])
    );
    let text = berth_ok(&["list"]);
    assert!(text.contains("running (outdated)"), "{text}");
    let text = berth_ok(&["status", "old"]);
    assert!(
        text.contains(&format!(
            "  Outdated: {TEST_SLEEP} (replaced on the host since it started)"
        )),
        "{text}"
    );

    // Without the switch apply leaves both alone (they were started by hand). Applied to
    // these two only: the VM tier runs every test file in one guest, where other tests' (some
    // of them invalid on purpose) definitions stay.
    berth_ok(&["apply", "old", "steady"]);
    assert_eq!(common::leader("old"), old_leader);
    let out = berth_ok(&["apply", "--restart-outdated", "old", "steady"]);
    assert!(
        out.contains(&format!(
            "outdated: it maps {TEST_SLEEP} replaced on the host since it started"
        )),
        "{out}"
    );
    assert_ne!(common::leader("old"), old_leader, "old was not restarted");
    assert_eq!(
        common::leader("steady"),
        steady_leader,
        "steady was restarted"
    );
    assert_eq!(list_entry("old")["outdated"], false);
    berth_ok(&["stop", "old", "steady"]);
}

/// A block device node of this machine, with its major:minor: the disk / is on where it is on
/// one, else the first disk in /sys/block (the sandbox's / is an overlay, on no device). Where
/// the disk has no node in /dev (the sandbox's /dev is its own), one is made under /run: systemd
/// only needs a node to find the device number by.
fn block_device() -> Option<(String, String)> {
    let dev = fs::metadata("/").unwrap().dev();
    let root = format!("{}:{}", libc::major(dev), libc::minor(dev));
    let of_root = Path::new(&format!("/sys/dev/block/{root}"))
        .canonicalize()
        .ok()
        .and_then(|p| Some(p.file_name()?.to_string_lossy().into_owned()));
    let disks = fs::read_dir("/sys/block")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("device").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned());
    of_root.into_iter().chain(disks).find_map(|name| {
        let majmin = fs::read_to_string(format!("/sys/class/block/{name}/dev")).ok()?;
        let majmin = majmin.trim().to_owned();
        let node = format!("/dev/{name}");
        if fs::metadata(&node).is_ok_and(|m| m.file_type().is_block_device()) {
            return Some((node, majmin));
        }
        let (major, minor) = majmin.split_once(':')?;
        let made = format!("/run/berth-test-{name}");
        let _ = fs::remove_file(&made);
        let path = std::ffi::CString::new(made.clone()).unwrap();
        // SAFETY: `path` is a NUL-terminated string that outlives the call.
        let rc = unsafe {
            libc::mknod(
                path.as_ptr(),
                libc::S_IFBLK | 0o600,
                libc::makedev(major.parse().ok()?, minor.parse().ok()?),
            )
        };
        (rc == 0).then_some((made, majmin))
    })
}

#[test]
#[ignore = "runs inside a real systemd"]
fn an_io_bandwidth_limit_reaches_the_cgroup() {
    common::assert_systemd_is_pid1();
    let Some((node, majmin)) = block_device() else {
        let why = "this machine has no block device to limit (no disk in /sys/block)";
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the IO limit test cannot run: {why}; under CI=true it must"
        );
        eprintln!("SKIP the IO limit test: {why}");
        return;
    };
    eprintln!("limiting {node} ({majmin})");
    define(
        "io",
        &format!(
            "[exec]\ncommand = [\"/bin/sleep\", \"infinity\"]\n\
             [resources]\nmemory_low = \"16M\"\nallowed_memory_nodes = \"0\"\n\
             [resources.io_read_bandwidth_max]\n\"{node}\" = \"10M\"\n\
             [resources.io_write_bandwidth_max]\n\"{node}\" = \"5M\"\n\
             [resources.io_read_iops_max]\n\"{node}\" = 1000\n"
        ),
    );
    let out = berth(&["start", "io"]);
    assert!(out.status.success(), "berth start io failed");
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    // IO accounting: systemd's IOReadBytes and IOWriteBytes on v2, the blkio statistics on v1.
    let status = status_json("io");
    common::assert_documented_json("status", &status);
    let listed = list_entry("io");
    for key in ["io_read_bytes", "io_write_bytes"] {
        assert!(status[key].is_u64(), "{key}: {status:#}");
        assert!(listed[key].is_u64(), "{key}: {listed:#}");
    }
    let text = berth_ok(&["status", "io"]);
    assert!(text.contains("        IO: "), "{text}");
    let cgroup = status_json("io")["control_group"]
        .as_str()
        .unwrap()
        .to_owned();
    let rel = cgroup.trim_start_matches('/');
    match cgroup_version().unwrap() {
        CgroupVersion::V1 => {
            let dir = Path::new("/sys/fs/cgroup/blkio").join(rel);
            let read = fs::read_to_string(dir.join("blkio.throttle.read_bps_device")).unwrap();
            assert!(
                read.lines().any(|l| l == format!("{majmin} 10485760")),
                "blkio.throttle.read_bps_device: {read:?}"
            );
            let write = fs::read_to_string(dir.join("blkio.throttle.write_bps_device")).unwrap();
            assert!(
                write.lines().any(|l| l == format!("{majmin} 5242880")),
                "blkio.throttle.write_bps_device: {write:?}"
            );
            for key in ["memory_low", "io_read_iops_max", "allowed_memory_nodes"] {
                assert!(
                    said.contains(&format!("resources.{key} is not enforced")),
                    "no warning for {key}: {said}"
                );
            }
        }
        CgroupVersion::V2 => {
            let dir = Path::new("/sys/fs/cgroup").join(rel);
            let max = fs::read_to_string(dir.join("io.max")).unwrap();
            let line = max
                .lines()
                .find(|l| l.starts_with(&format!("{majmin} ")))
                .unwrap_or_else(|| panic!("no {majmin} in io.max: {max:?}"));
            for want in ["rbps=10485760", "wbps=5242880", "riops=1000"] {
                assert!(line.contains(want), "io.max: {line}");
            }
            let low = fs::read_to_string(dir.join("memory.low")).unwrap();
            assert_eq!(low.trim(), "16777216");
            let mems = fs::read_to_string(dir.join("cpuset.mems")).unwrap();
            assert_eq!(mems.trim(), "0", "cpuset.mems");
        }
    }
    berth_ok(&["stop", "io"]);
}

/// Writes a host unit (and its drop-ins) under /etc/systemd/system and reloads systemd.
fn host_unit(name: &str, text: &str, dropins: &[(&str, &str)]) {
    fs::write(format!("/etc/systemd/system/{name}"), text).unwrap();
    for (file, text) in dropins {
        let dir = format!("/etc/systemd/system/{name}.d");
        fs::create_dir_all(&dir).unwrap();
        fs::write(format!("{dir}/{file}"), text).unwrap();
    }
    let reload = common::sh("systemctl daemon-reload && echo reloaded");
    assert!(reload.contains("reloaded"), "{reload}");
}

/// The NUL-separated environment of a process.
fn environ(pid: u32) -> Vec<String> {
    let bytes = fs::read(format!("/proc/{pid}/environ")).unwrap();
    bytes
        .split(|b| *b == 0)
        .filter(|v| !v.is_empty())
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

#[test]
#[ignore = "runs inside a real systemd"]
fn a_host_unit_becomes_a_container_running_its_binary_as_its_user() {
    common::assert_systemd_is_pid1();
    host_unit(
        "berth-test-svc.service",
        "[Unit]\nDescription=berth test service\n\
         [Service]\nExecStart=/usr/bin/sleep infinity\nUser=nobody\nGroup=nogroup\n\
         Environment=GREETING=hello\nMemoryMax=64M\n",
        &[(
            "10-berth.conf",
            "[Service]\nEnvironment=FROM_DROPIN=yes\nWorkingDirectory=/tmp\n\
             EnvironmentFile=/etc/berth-test-svc.env\nEnvironmentFile=-/etc/berth-test-none.env\n",
        )],
    );
    fs::write(
        "/etc/berth-test-svc.env",
        "# read by the unit\nFROM_FILE=\"in a file\"\nGREETING=overridden\n",
    )
    .unwrap();
    let printed = berth_ok(&[
        "create",
        "svc",
        "--from-unit",
        "berth-test-svc.service",
        "--dry-run",
    ]);
    assert!(!Path::new("/etc/berth/containers/svc.toml").exists());
    assert!(
        printed.contains("#   /etc/systemd/system/berth-test-svc.service.d/10-berth.conf"),
        "{printed}"
    );
    for line in [
        "description = \"berth test service\"",
        "command = [\"/usr/bin/sleep\", \"infinity\"]",
        "user = \"nobody\"",
        "working_directory = \"/tmp\"",
        "GREETING = \"overridden\"",
        "FROM_DROPIN = \"yes\"",
        "FROM_FILE = \"in a file\"",
        "memory_max = \"64M\"",
        "#   Group=nogroup: berth runs the command with the user's own groups",
        "#   systemctl disable --now berth-test-svc.service",
    ] {
        assert!(
            printed.lines().any(|l| l == line),
            "no `{line}` in:\n{printed}"
        );
    }
    assert_eq!(
        berth_ok(&["create", "svc", "--from-unit", "berth-test-svc.service"]),
        "wrote /etc/berth/containers/svc.toml from berth-test-svc.service\n"
    );
    assert_eq!(
        fs::read_to_string("/etc/berth/containers/svc.toml").unwrap(),
        printed
    );
    berth_ok(&["check", "svc"]);
    // A second create does not overwrite it.
    let again = berth(&["create", "svc", "--from-unit", "berth-test-svc.service"]);
    assert_eq!(again.status.code(), Some(1));

    berth_ok(&["start", "svc"]);
    let payload = common::first_child(common::leader("svc"));
    let exe = fs::read_link(format!("/proc/{payload}/exe")).unwrap();
    assert_eq!(exe, Path::new("/usr/bin/sleep"));
    let nobody = common::sh("id -u nobody");
    let uid = common::proc_status(payload, "Uid");
    assert_eq!(
        uid.split_whitespace().next(),
        Some(nobody.trim()),
        "Uid: {uid}"
    );
    let env = environ(payload);
    assert!(
        printed.contains("# From EnvironmentFile=/etc/berth-test-svc.env, as it was"),
        "{printed}"
    );
    assert!(
        printed.contains("#   EnvironmentFile=-/etc/berth-test-none.env: there is no such file"),
        "{printed}"
    );
    for var in [
        "GREETING=overridden",
        "FROM_DROPIN=yes",
        "FROM_FILE=in a file",
    ] {
        assert!(env.iter().any(|e| e == var), "no {var} in {env:?}");
    }
    berth_ok(&["stop", "svc"]);
    // The host unit is untouched, and was never started.
    assert!(
        fs::read_to_string("/etc/systemd/system/berth-test-svc.service")
            .unwrap()
            .starts_with("[Unit]\nDescription=berth test service\n")
    );
    assert_eq!(
        common::sh("systemctl is-active berth-test-svc.service").trim(),
        "inactive"
    );
}

#[test]
#[ignore = "runs inside a real systemd"]
fn a_template_instance_becomes_a_container_and_what_cannot_run_is_refused() {
    common::assert_systemd_is_pid1();
    host_unit(
        "berth-test-tpl@.service",
        "[Service]\nExecStart=/usr/bin/sleep %i\n",
        &[],
    );
    let out = berth(&["create", "tpl", "--from-unit", "berth-test-tpl@.service"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: berth-test-tpl@.service is a template: name an instance, such as \
         berth-test-tpl@INSTANCE.service\n"
    );
    let printed = berth_ok(&[
        "create",
        "tpl",
        "--from-unit",
        "berth-test-tpl@1000.service",
        "--dry-run",
    ]);
    assert!(
        printed.contains("command = [\"/usr/bin/sleep\", \"1000\"]"),
        "{printed}"
    );

    host_unit(
        "berth-test-wrapper.service",
        "[Service]\nExecStart=/bin/sh -c 'systemctl start other.service; exec sleep infinity'\n",
        &[],
    );
    let out = berth(&[
        "create",
        "wrapper",
        "--from-unit",
        "berth-test-wrapper.service",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.starts_with(
            "error: berth-test-wrapper.service cannot run in a container: its \
                          ExecStart= (/bin/sh -c systemctl start other.service; exec sleep \
                          infinity) runs systemctl, which needs the host's PID 1"
        ),
        "{said}"
    );
    assert!(!Path::new("/etc/berth/containers/wrapper.toml").exists());
    let out = berth(&[
        "create",
        "nothing",
        "--from-unit",
        "berth-test-none.service",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: no unit berth-test-none.service on this host\n"
    );
}

/// A container of group `hogs` that holds `mib` MiB and sleeps, under a limit of its own that
/// it stays below.
/// The group test's own search path: `berth check` and a nameless `berth apply` see only its
/// files, wherever it runs (the VM tier runs every test file in one guest, where other tests'
/// definitions, some invalid on purpose, stay in /etc).
const HOGS: &str = "/run/berth-test-hogs";

/// Points berth at [`HOGS`] while it lives.
struct OwnSearchPath;

impl OwnSearchPath {
    fn new() -> OwnSearchPath {
        for dir in ["containers", "groups"] {
            fs::create_dir_all(format!("{HOGS}/{dir}")).unwrap();
        }
        std::env::set_var("BERTH_CONTAINERS_PATH", format!("{HOGS}/containers"));
        OwnSearchPath
    }
}

impl Drop for OwnSearchPath {
    fn drop(&mut self) {
        std::env::remove_var("BERTH_CONTAINERS_PATH");
        let _ = fs::remove_dir_all(HOGS);
    }
}

fn hog(name: &str, mib: u32) {
    fs::write(
        format!("{HOGS}/containers/{name}.toml"),
        format!(
            "group = \"hogs\"\n\
             [exec]\n\
             command = [\"/usr/bin/python3\", \"-c\", \"import time; x = b'x' * ({mib} << 20); time.sleep(600)\"]\n\
             [resources]\nmemory_max = \"60M\"\n"
        ),
    )
    .unwrap();
}

/// The group slice's memory limit as the cgroup has it, in bytes.
fn slice_memory_limit(slice: &str) -> String {
    let file = match cgroup_version().unwrap() {
        CgroupVersion::V1 => {
            format!("/sys/fs/cgroup/memory/berth.slice/{slice}/memory.limit_in_bytes")
        }
        CgroupVersion::V2 => format!("/sys/fs/cgroup/berth.slice/{slice}/memory.max"),
    };
    fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{file}: {e}"))
        .trim()
        .to_owned()
}

fn is_active(name: &str) -> bool {
    status_json(name)["state"] == "running"
}

#[test]
#[ignore = "runs inside a real systemd"]
fn a_group_memory_budget_is_shared_by_its_containers() {
    common::assert_systemd_is_pid1();
    let _own = OwnSearchPath::new();
    let group_file = format!("{HOGS}/groups/hogs.toml");
    fs::write(
        &group_file,
        "description = \"memory hogs\"\n[resources]\nmemory_max = \"64M\"\n",
    )
    .unwrap();
    let checked = berth_ok(&["check"]);
    assert!(checked.contains("all valid"), "{checked}");

    // Each stays below its own 60M, both together need more than the group's 64M.
    hog("hog-a", 36);
    hog("hog-b", 36);
    berth_ok(&["start", "hog-a"]);
    assert_eq!(slice_memory_limit("berth-hogs.slice"), "67108864");
    let description = common::sh("systemctl show -P Description berth-hogs.slice");
    assert_eq!(description.trim(), "memory hogs (berth group hogs)");
    sleep(Duration::from_secs(2));
    assert!(
        is_active("hog-a"),
        "hog-a alone exceeded the group's budget"
    );
    berth_ok(&["start", "hog-b"]);

    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let killed = loop {
        match (is_active("hog-a"), is_active("hog-b")) {
            (true, true) => {}
            (false, true) => break "hog-a",
            (true, false) => break "hog-b",
            (false, false) => panic!("both hogs ended; the group's budget takes one of them"),
        }
        assert!(
            std::time::Instant::now() < deadline,
            "two hogs of 36M each run together under a group budget of 64M"
        );
        sleep(Duration::from_millis(100));
    };
    let survivor = if killed == "hog-a" { "hog-b" } else { "hog-a" };
    let status = berth_ok(&["status", killed]);
    assert!(status.contains("out of memory"), "{status}");
    assert!(status.contains("killed by SIGKILL"), "{status}");
    sleep(Duration::from_secs(1));
    assert!(is_active(survivor), "{survivor} ended too");

    // A changed group file reaches the active slice through apply, and only then.
    fs::write(&group_file, "[resources]\nmemory_max = \"96M\"\n").unwrap();
    let planned = berth_ok(&["apply", "--dry-run"]);
    assert!(
        planned.contains("would set the limits of group hogs on berth-hogs.slice"),
        "{planned}"
    );
    assert_eq!(slice_memory_limit("berth-hogs.slice"), "67108864");
    let out = berth_ok(&["apply", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    common::assert_documented_json("apply", &report);
    assert_eq!(report["groups"][0]["group"], "hogs", "{report:#}");
    assert_eq!(report["groups"][0]["ok"], true, "{report:#}");
    assert_eq!(slice_memory_limit("berth-hogs.slice"), "100663296");
    let again = berth_ok(&["apply", "--json"]);
    let again: serde_json::Value = serde_json::from_str(&again).unwrap();
    assert_eq!(again["groups"], serde_json::json!([]), "{again:#}");

    // Its file gone, the group's slice loses its limit.
    fs::remove_file(&group_file).unwrap();
    let out = berth_ok(&["apply"]);
    assert!(
        out.contains("lifted the limits of group hogs from berth-hogs.slice"),
        "{out}"
    );
    let unlimited = slice_memory_limit("berth-hogs.slice");
    assert!(
        unlimited == "max" || unlimited.parse::<u64>().unwrap() > 1 << 40,
        "{unlimited}"
    );
    berth_ok(&["stop", survivor]);
}
