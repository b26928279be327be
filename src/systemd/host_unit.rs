//! A host service unit as systemd has loaded it, for `berth create --from-unit`: read over
//! D-Bus, so drop-ins, specifiers and template instances are already applied.

use zbus::zvariant::{DeserializeDict, Type};

/// One ExecStart= entry as systemd reports it: path, argv, ignore failure, then timestamps,
/// PID and status of its last run.
type ExecEntry = (String, Vec<String>, bool, u64, u64, u64, u64, u32, i32, i32);

/// org.freedesktop.systemd1.Service: the properties berth maps. All optional: a unit that
/// is not a service, or an older systemd, lacks some.
#[derive(Debug, Default, DeserializeDict, Type)]
#[zvariant(signature = "a{sv}", rename_all = "PascalCase")]
pub(super) struct ServiceProperties {
    pub exec_start: Option<Vec<ExecEntry>>,
    pub user: Option<String>,
    pub group: Option<String>,
    pub environment: Option<Vec<String>>,
    pub environment_files: Option<Vec<(String, bool)>>,
    pub working_directory: Option<String>,
    #[zvariant(rename = "Type")]
    pub service_type: Option<String>,
    pub memory_max: Option<u64>,
    pub memory_high: Option<u64>,
    pub memory_low: Option<u64>,
    pub tasks_max: Option<u64>,
    #[zvariant(rename = "CPUQuotaPerSecUSec")]
    pub cpu_quota_per_sec_usec: Option<u64>,
    #[zvariant(rename = "CPUWeight")]
    pub cpu_weight: Option<u64>,
    #[zvariant(rename = "IOWeight")]
    pub io_weight: Option<u64>,
    pub kill_signal: Option<i32>,
    #[zvariant(rename = "TimeoutStopUSec")]
    pub timeout_stop_usec: Option<u64>,
    pub root_directory: Option<String>,
}

/// A host service, as berth maps it. Limits are None where the unit sets none (systemd
/// reports "unset" as u64::MAX).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostUnit {
    pub id: String,
    pub description: String,
    /// FragmentPath and DropInPaths: the files it was loaded from, for the comment.
    pub files: Vec<String>,
    /// Each ExecStart= entry: the program's path, then its argv (argv[0] included).
    pub exec_start: Vec<(String, Vec<String>)>,
    pub user: String,
    pub group: String,
    pub environment: Vec<String>,
    /// EnvironmentFile= paths, with "-" in front where a missing file is fine.
    pub environment_files: Vec<String>,
    pub working_directory: String,
    /// Type=: "simple", "exec", "notify", "forking", "oneshot", ...
    pub service_type: String,
    pub memory_max: Option<u64>,
    pub memory_high: Option<u64>,
    pub memory_low: Option<u64>,
    pub tasks_max: Option<u64>,
    pub cpu_quota_per_sec_usec: Option<u64>,
    pub cpu_weight: Option<u64>,
    pub io_weight: Option<u64>,
    pub kill_signal: Option<i32>,
    pub timeout_stop_usec: Option<u64>,
    pub root_directory: String,
}

/// org.freedesktop.systemd1.Unit's properties that say where the unit came from.
#[derive(Debug, Default, DeserializeDict, Type)]
#[zvariant(signature = "a{sv}", rename_all = "PascalCase")]
pub(super) struct UnitFiles {
    pub id: String,
    pub description: Option<String>,
    pub load_state: String,
    pub fragment_path: Option<String>,
    pub drop_in_paths: Option<Vec<String>>,
}

fn set(v: Option<u64>) -> Option<u64> {
    v.filter(|v| *v != u64::MAX)
}

impl HostUnit {
    pub(super) fn new(unit: UnitFiles, s: ServiceProperties) -> HostUnit {
        let mut files: Vec<String> = unit.fragment_path.into_iter().collect();
        files.extend(unit.drop_in_paths.unwrap_or_default());
        files.retain(|f| !f.is_empty());
        HostUnit {
            id: unit.id,
            description: unit.description.unwrap_or_default(),
            files,
            exec_start: s
                .exec_start
                .unwrap_or_default()
                .into_iter()
                .map(|e| (e.0, e.1))
                .collect(),
            user: s.user.unwrap_or_default(),
            group: s.group.unwrap_or_default(),
            environment: s.environment.unwrap_or_default(),
            environment_files: s
                .environment_files
                .unwrap_or_default()
                .into_iter()
                .map(|(p, optional)| if optional { format!("-{p}") } else { p })
                .collect(),
            working_directory: s.working_directory.unwrap_or_default(),
            service_type: s.service_type.unwrap_or_default(),
            memory_max: set(s.memory_max),
            memory_high: set(s.memory_high),
            memory_low: set(s.memory_low).filter(|v| *v != 0),
            tasks_max: set(s.tasks_max),
            cpu_quota_per_sec_usec: set(s.cpu_quota_per_sec_usec),
            cpu_weight: set(s.cpu_weight),
            io_weight: set(s.io_weight),
            kill_signal: s.kill_signal,
            timeout_stop_usec: s.timeout_stop_usec,
            root_directory: s.root_directory.unwrap_or_default(),
        }
    }
}
