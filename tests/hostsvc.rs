//! Host-service features of issue 18 against a real systemd: `berth pause` and `berth resume`
//! freeze and thaw a container's processes.
//!
//! Run inside a real systemd like tests/system.rs.

use std::fs;
use std::thread::sleep;
use std::time::Duration;

mod common;

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
    eprintln!("v1 freezer.state: {freezer:?}");
    for &p in &procs {
        let state = stat_fields(p)[0].clone();
        assert!(
            matches!(state.as_str(), "D" | "T") || freezer.as_deref() == Some("FROZEN"),
            "process {p} is in state {state} after pause (freezer: {freezer:?})"
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

    let out = berth(&["pause", "busy"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: container `busy` is not running\n"
    );
}
