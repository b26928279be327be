//! What berth records about a container while it exists: `/run/berth/NAME/state.json`.
//!
//! A start records its intent *before* it changes anything, so that if berth is killed at any
//! moment the next command knows what to undo: the state says `starting`, names the berth
//! process, and whether the persistent directory is new.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::store::{read_json, JsonError};

/// A process, identified so that a reused PID is not mistaken for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessId {
    pub pid: u32,
    /// Field 22 of /proc/PID/stat: start time in clock ticks since boot.
    pub start_time: u64,
}

impl ProcessId {
    pub fn of(pid: u32) -> Option<ProcessId> {
        Some(ProcessId {
            pid,
            start_time: start_time(pid)?,
        })
    }

    pub fn current() -> Option<ProcessId> {
        ProcessId::of(std::process::id())
    }

    pub fn is_alive(&self) -> bool {
        start_time(self.pid) == Some(self.start_time)
    }
}

fn start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_start_time(&stat)
}

/// The command name in /proc/PID/stat is in parentheses and may itself contain spaces and
/// parentheses, so fields are counted from the last `)`.
fn parse_start_time(stat: &str) -> Option<u64> {
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "lowercase")]
pub enum Phase {
    /// A start is under way in the berth process named here.
    Starting { berth: ProcessId },
    Running {
        leader: ProcessId,
        /// Realtime microseconds.
        started_usec: u64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub name: String,
    pub unit: String,
    #[serde(flatten)]
    pub phase: Phase,
    /// The persistent directory did not exist before this start: a failed first start removes it.
    pub state_dir_is_new: bool,
    /// SHA-256 of the effective definition the container was started with.
    pub digest: String,
    pub machine_registered: bool,
    /// The container's processes' SELinux label, where SELinux is on.
    #[serde(default)]
    pub selinux_label: Option<String>,
    /// The first host ID of its user namespace range.
    #[serde(default)]
    pub user_namespace: Option<u32>,
    /// Its private /etc and /var are idmapped mounts (not chowned into the range).
    #[serde(default)]
    pub idmapped_mounts: bool,
    /// Boot mode: a stop asks the container's init (its PID 1) with `stop_signal`, and waits
    /// for it to shut the container down.
    #[serde(default)]
    pub boot: bool,
    #[serde(default)]
    pub stop_signal: i32,
    #[serde(default)]
    pub stop_timeout_usec: u64,
    /// That effective definition key by key (`resources.memory_max` -> `"256M"`, defaults
    /// included, as `berth show` prints them), so that `berth apply` can say what changed
    /// and whether it can be changed in place. Empty in a state written by a berth that did
    /// not record it: such a container is replaced when its digest no longer matches.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub settings: BTreeMap<String, String>,
}

/// What reading or writing a state file can fail with.
pub type StateError = JsonError;

pub fn read(path: &Path) -> Result<Option<State>, StateError> {
    read_json(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_survives_odd_command_names() {
        let stat = "42 (a) b) c) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 1000 10";
        assert_eq!(parse_start_time(stat), Some(123456));
        assert_eq!(parse_start_time("garbage"), None);
    }

    #[test]
    fn this_process_is_alive_and_identified() {
        let me = ProcessId::current().unwrap();
        assert!(me.is_alive());
        let reused = ProcessId {
            start_time: me.start_time + 1,
            ..me
        };
        assert!(!reused.is_alive());
    }

    #[test]
    fn state_round_trips_through_json() {
        let s = State {
            name: "web".into(),
            unit: "berth-web.scope".into(),
            phase: Phase::Running {
                leader: ProcessId {
                    pid: 7,
                    start_time: 9,
                },
                started_usec: 1,
            },
            state_dir_is_new: false,
            digest: "ab".into(),
            machine_registered: true,
            selinux_label: None,
            user_namespace: Some(524288),
            idmapped_mounts: true,
            boot: false,
            stop_signal: 15,
            stop_timeout_usec: 30_000_000,
            settings: [("resources.memory_max".to_owned(), "\"64M\"".to_owned())].into(),
        };
        let text = serde_json::to_string(&s).unwrap();
        assert!(text.contains("\"phase\":\"running\""), "{text}");
        assert_eq!(serde_json::from_str::<State>(&text).unwrap(), s);
    }

    #[test]
    fn a_state_without_settings_still_reads() {
        let old = r#"{"name":"web","unit":"berth-web.scope","phase":"running",
            "leader":{"pid":7,"start_time":9},"started_usec":1,"state_dir_is_new":false,
            "digest":"ab","machine_registered":false}"#;
        let s: State = serde_json::from_str(old).unwrap();
        assert!(s.settings.is_empty());
    }
}
