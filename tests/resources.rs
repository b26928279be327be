//! Every `[resources]` key reaches the cgroup file the kernel enforces it with: on cgroup v1
//! (the systemd sandbox on this hybrid host) and on cgroup v2 (the VM tier). A key that this
//! host's cgroup version cannot enforce is said so by `berth start`, and its file is left alone.
//!
//! Run inside a real systemd like tests/system.rs.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use berth::systemd::cgroup_version;
use berth::unit::CgroupVersion;

mod common;

use common::{berth, define, leader};

#[test]
fn resources_in_a_real_systemd() {
    common::assert_on_the_host("the resource tests");
    common::rerun_in_sandbox("the resource tests", &["--ignored"]);
}

const EVERY_KEY: &str = r#"
[exec]
command = ["/bin/sleep", "infinity"]

[resources]
memory_max = "64M"
memory_high = "48M"
memory_swap_max = "16M"
cpu_quota = "50%"
cpu_weight = 200
io_weight = 300
tasks_max = 50
allowed_cpus = "0"

[resources.devices]
"/dev/fuse" = "rw"
"#;

/// The container's cgroup directory in each hierarchy, by controller list (`""` for the
/// unified one), from /proc/PID/cgroup.
fn cgroup_dirs(pid: u32) -> BTreeMap<String, PathBuf> {
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    text.lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, ':');
            let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
            let mount = match controllers {
                "" if PathBuf::from("/sys/fs/cgroup/unified").is_dir() => {
                    "/sys/fs/cgroup/unified".to_owned()
                }
                "" => "/sys/fs/cgroup".to_owned(),
                c => format!("/sys/fs/cgroup/{}", c.trim_start_matches("name=")),
            };
            let dir = PathBuf::from(mount).join(path.trim_start_matches('/'));
            Some((controllers.to_owned(), dir))
        })
        .collect()
}

/// The file `name` of the hierarchy whose controllers include `controller` (v1), trimmed.
fn v1_file(dirs: &BTreeMap<String, PathBuf>, controller: &str, name: &str) -> Option<String> {
    let dir = dirs
        .iter()
        .find(|(c, _)| c.split(',').any(|c| c == controller))?
        .1;
    fs::read_to_string(dir.join(name))
        .ok()
        .map(|s| s.trim().to_owned())
}

fn read(dir: &std::path::Path, name: &str) -> Option<String> {
    fs::read_to_string(dir.join(name))
        .ok()
        .map(|s| s.trim().to_owned())
}

#[test]
#[ignore = "runs inside a real systemd"]
fn every_resource_key_reaches_its_cgroup_file() {
    common::assert_systemd_is_pid1();
    define("limits", EVERY_KEY);
    let out = berth(&["start", "limits"]);
    assert!(out.status.success(), "berth start limits failed");
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    let dirs = cgroup_dirs(leader("limits"));
    eprintln!("cgroups: {dirs:?}");
    let allow = common::sh("systemctl show -P DeviceAllow berth-limits.scope");
    assert!(allow.contains("/dev/fuse rw"), "DeviceAllow: {allow}");

    match cgroup_version().unwrap() {
        CgroupVersion::V2 => {
            let dir = &dirs[""];
            assert_eq!(read(dir, "memory.max").as_deref(), Some("67108864"));
            assert_eq!(read(dir, "memory.high").as_deref(), Some("50331648"));
            assert_eq!(read(dir, "memory.swap.max").as_deref(), Some("16777216"));
            assert_eq!(read(dir, "cpu.max").as_deref(), Some("50000 100000"));
            assert_eq!(read(dir, "cpu.weight").as_deref(), Some("200"));
            assert_eq!(read(dir, "pids.max").as_deref(), Some("50"));
            assert_eq!(read(dir, "cpuset.cpus").as_deref(), Some("0"));
            // io.weight exists where the io controller is on and the disk's scheduler weighs.
            match read(dir, "io.weight").or_else(|| read(dir, "io.bfq.weight")) {
                Some(w) => assert!(w.contains("300"), "io weight: {w}"),
                None => eprintln!("no io.weight here: the io controller is off"),
            }
            // v2 enforces devices with a BPF program systemd attaches, which has no file:
            // DeviceAllow above is what there is to read.
        }
        CgroupVersion::V1 => {
            assert_eq!(
                v1_file(&dirs, "memory", "memory.limit_in_bytes").as_deref(),
                Some("67108864")
            );
            assert_eq!(
                v1_file(&dirs, "cpu", "cpu.cfs_quota_us").as_deref(),
                Some("50000")
            );
            assert_eq!(
                v1_file(&dirs, "cpu", "cpu.cfs_period_us").as_deref(),
                Some("100000")
            );
            // systemd's scaling of CPUWeight 200 to CPUShares.
            assert_eq!(v1_file(&dirs, "cpu", "cpu.shares").as_deref(), Some("2048"));
            assert_eq!(v1_file(&dirs, "pids", "pids.max").as_deref(), Some("50"));
            // IO weight 300 is blkio weight 1000 (scaled by 5, at most 1000), where the
            // disk's scheduler has a weight file.
            match v1_file(&dirs, "blkio", "blkio.weight")
                .or_else(|| v1_file(&dirs, "blkio", "blkio.bfq.weight"))
            {
                Some(w) => assert_eq!(w, "1000", "blkio weight"),
                None => eprintln!("no blkio weight file here: no weighing scheduler"),
            }
            let devices = v1_file(&dirs, "devices", "devices.list").unwrap();
            assert!(devices.contains("c 10:229 rw"), "devices.list: {devices}");
            assert!(devices.contains("c 1:3 rwm"), "/dev/null: {devices}");
            assert!(!devices.contains("a *:* rwm"), "devices.list: {devices}");
            // What v1 cannot enforce is said, not silently dropped.
            for key in ["memory_high", "memory_swap_max", "allowed_cpus"] {
                assert!(
                    said.contains(&format!("resources.{key} is not enforced")),
                    "no warning for {key}: {said}"
                );
            }
        }
    }
    common::berth_ok(&["stop", "limits"]);
}
