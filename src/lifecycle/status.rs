//! What runs, as `berth list` and `berth status` report it: gathered from systemd, berth's
//! state and exit records, the container's cgroup and the host's SELinux into plain records.
//! The command line prints them as text, or serialises them as they are for `--json`
//! (src/cli/json.rs documents those keys).

use std::collections::BTreeMap;
use std::fmt;
use std::fs;

use serde::{Serialize, Serializer};

use crate::container::Exit;
use crate::definition::{self, LoadError, SearchError};
use crate::lifecycle::state::{self, Phase, State};
use crate::lifecycle::{outdated, recover, Context, LifecycleError};
use crate::name::{name_from_scope_unit, Name};
use crate::security::selinux::HostSelinux;
use crate::security::userns::RANGE_SIZE;
use crate::systemd::{cgroup_pids, freezer, Systemd, SystemdError, UnitStatus};

/// A container's scope unit as berth names its states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UnitState {
    Running,
    /// Also when the unit is not loaded at all.
    Stopped,
    Starting,
    Stopping,
    Failed,
}

impl UnitState {
    pub const ALL: [UnitState; 5] = [
        UnitState::Running,
        UnitState::Stopped,
        UnitState::Starting,
        UnitState::Stopping,
        UnitState::Failed,
    ];

    fn of(unit: Option<&UnitStatus>) -> UnitState {
        match unit.map(|u| u.active_state.as_str()) {
            Some("active") => UnitState::Running,
            Some("activating") => UnitState::Starting,
            Some("deactivating") => UnitState::Stopping,
            Some("failed") => UnitState::Failed,
            _ => UnitState::Stopped,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            UnitState::Running => "running",
            UnitState::Stopped => "stopped",
            UnitState::Starting => "starting",
            UnitState::Stopping => "stopping",
            UnitState::Failed => "failed",
        }
    }
}

impl fmt::Display for UnitState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a listed container has no usable definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefinitionProblem {
    /// None at all, or drop-ins without a main file.
    Orphan,
    Masked,
    /// Invalid, or unreadable.
    Invalid,
}

impl DefinitionProblem {
    pub const ALL: [DefinitionProblem; 3] = [
        DefinitionProblem::Orphan,
        DefinitionProblem::Masked,
        DefinitionProblem::Invalid,
    ];

    fn of(e: &LoadError) -> DefinitionProblem {
        match e {
            LoadError::Masked(..) => DefinitionProblem::Masked,
            LoadError::NotFound(..) | LoadError::DropinsOnly { .. } => DefinitionProblem::Orphan,
            _ => DefinitionProblem::Invalid,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DefinitionProblem::Orphan => "orphan",
            DefinitionProblem::Masked => "masked",
            DefinitionProblem::Invalid => "invalid",
        }
    }
}

/// A container's state as `list` shows it: its unit's, unless its definition cannot be used;
/// then that problem, prefixed with `running+` while the container still runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListState {
    pub unit: UnitState,
    pub definition: Option<DefinitionProblem>,
}

impl fmt::Display for ListState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.unit, self.definition) {
            (unit, None) => write!(f, "{unit}"),
            (UnitState::Running, Some(p)) => write!(f, "running+{}", p.as_str()),
            (_, Some(p)) => f.write_str(p.as_str()),
        }
    }
}

impl Serialize for ListState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

fn as_string<S: Serializer>(name: &Name, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(name)
}

/// One container as `list` shows it.
#[derive(Debug, Serialize)]
pub struct ListEntry {
    #[serde(serialize_with = "as_string")]
    pub name: Name,
    pub state: ListState,
    /// Its processes are frozen (`berth pause`).
    pub paused: bool,
    /// It runs, and its processes map files from /usr replaced or deleted since they started.
    pub outdated: bool,
    pub unit: String,
    /// Empty without a valid definition.
    pub description: String,
    pub group: Option<String>,
    pub autostart: Option<bool>,
    pub leader: Option<u32>,
    pub since_usec: Option<u64>,
    pub memory_current: Option<u64>,
    pub tasks_current: Option<u64>,
    pub cpu_usage_nsec: Option<u64>,
    pub io_read_bytes: Option<u64>,
    pub io_write_bytes: Option<u64>,
}

/// A process of the container's cgroup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Process {
    pub pid: u32,
    /// Its command line, arguments separated by spaces.
    pub command: String,
}

/// The container's range of user and group IDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct UserNamespace {
    /// The host ID that is 0 inside.
    pub host_first: u32,
    pub count: u32,
    /// Its private /etc and /var are idmapped mounts rather than chowned into the range.
    pub idmapped: bool,
}

/// One container as `status` shows it.
#[derive(Debug, Serialize)]
pub struct ContainerStatus {
    #[serde(serialize_with = "as_string")]
    pub name: Name,
    pub state: UnitState,
    /// Its processes are frozen (`berth pause`).
    pub paused: bool,
    /// `outdated_files` is not empty.
    pub outdated: bool,
    /// The files under /usr its processes map that the host replaced or deleted since.
    pub outdated_files: Vec<String>,
    /// The definition's, else the unit's.
    pub description: String,
    pub unit: String,
    /// The fields from `slice` to `cpu_usage_nsec` and `control_group` are None while the
    /// unit is not loaded.
    pub slice: Option<String>,
    pub since_usec: Option<u64>,
    pub leader: Option<u32>,
    pub memory_current: Option<u64>,
    pub memory_limit: Option<u64>,
    pub tasks_current: Option<u64>,
    pub tasks_max: Option<u64>,
    pub cpu_usage_nsec: Option<u64>,
    /// Bytes read from and written to block devices since the unit started; None where
    /// neither systemd nor the blkio controller says.
    pub io_read_bytes: Option<u64>,
    pub io_write_bytes: Option<u64>,
    pub control_group: Option<String>,
    pub processes: Vec<Process>,
    /// The label of the container's processes; "disabled" where the host has SELinux off,
    /// "off" where the container runs with the caller's label.
    pub selinux: String,
    pub user_namespace: Option<UserNamespace>,
    pub last_exit: Option<Exit>,
    pub definition_valid: bool,
    /// Why the definition cannot be used, when it cannot (`definition_valid` is false).
    #[serde(skip)]
    pub definition_error: Option<LoadError>,
}

#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error(transparent)]
    Systemd(#[from] SystemdError),
    #[error(transparent)]
    Search(#[from] SearchError),
    /// Neither a definition nor a loaded unit: there is nothing to report on.
    #[error(transparent)]
    Definition(#[from] LoadError),
}

/// Bytes read and written by the unit's processes: systemd's IOReadBytes and IOWriteBytes
/// (cgroup v2), else the v1 blkio controller's throttle statistics of its cgroup, which count
/// every request whether or not a limit applies; None where neither is there.
fn io_bytes(unit: &UnitStatus) -> (Option<u64>, Option<u64>) {
    if unit.io_read_bytes.is_some() || unit.io_write_bytes.is_some() {
        return (unit.io_read_bytes, unit.io_write_bytes);
    }
    if unit.control_group.is_empty() {
        return (None, None);
    }
    let dir = std::path::Path::new("/sys/fs/cgroup/blkio")
        .join(unit.control_group.trim_start_matches('/'));
    // The recursive file also counts the sub-cgroups of a delegated scope; older kernels
    // have only the cgroup's own.
    [
        "blkio.throttle.io_service_bytes_recursive",
        "blkio.throttle.io_service_bytes",
    ]
    .iter()
    .find_map(|f| fs::read_to_string(dir.join(f)).ok())
    .map_or((None, None), |text| blkio_bytes(&text))
}

/// The read and written bytes of a blkio `io_service_bytes` file: lines `MAJ:MIN Read N`,
/// `MAJ:MIN Write N`, ..., summed over the devices.
fn blkio_bytes(text: &str) -> (Option<u64>, Option<u64>) {
    let (mut read, mut write) = (0u64, 0u64);
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let (Some(_device), Some(op), Some(n)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let Ok(n) = n.parse::<u64>() else { continue };
        match op {
            "Read" => read = read.saturating_add(n),
            "Write" => write = write.saturating_add(n),
            _ => {}
        }
    }
    (Some(read), Some(write))
}

/// ActiveEnterTimestamp, unless the unit never was active.
fn since(unit: Option<&UnitStatus>) -> Option<u64> {
    unit.map(|u| u.active_enter_usec).filter(|&t| t > 0)
}

/// The host PID of the container's PID 1, while it runs.
fn running_leader(recorded: Option<&State>) -> Option<u32> {
    match recorded.map(|s| &s.phase) {
        Some(Phase::Running { leader, .. }) if leader.is_alive() => Some(leader.pid),
        _ => None,
    }
}

fn recorded_state(ctx: &Context, name: &Name) -> Option<State> {
    state::read(&ctx.paths.state_file(name)).ok().flatten()
}

/// Finishes what a berth that died left of `name`, so that its status is not read half-way
/// through a start or a stop; skipped when its lock cannot be taken.
pub fn settle(ctx: &Context, systemd: &Systemd, name: &Name) -> Result<(), LifecycleError> {
    if let Ok(_lock) = ctx.lock(name) {
        recover::clean_leftovers(ctx, systemd, name)?;
    }
    Ok(())
}

/// Every defined container (in the order of their names), then those running without a
/// definition.
pub fn list(ctx: &Context, systemd: &Systemd) -> Result<Vec<ListEntry>, StatusError> {
    let units: BTreeMap<Name, UnitStatus> = systemd
        .list_units("berth-*.scope")?
        .into_iter()
        .filter_map(|u| Some((name_from_scope_unit(&u.id)?, u)))
        .collect();
    let (defined, _) = ctx.search.names()?;
    let entries = defined
        .iter()
        .chain(units.keys().filter(|n| !defined.contains(*n)))
        .map(|n| {
            let unit = units.get(n);
            let io = unit.map(io_bytes).unwrap_or_default();
            let definition = definition::load(&ctx.search, n).map(|l| l.definition);
            ListEntry {
                name: n.clone(),
                state: ListState {
                    unit: UnitState::of(unit),
                    definition: definition.as_ref().err().map(DefinitionProblem::of),
                },
                paused: unit.is_some_and(is_paused),
                outdated: unit.is_some_and(|u| !outdated_files(u).is_empty()),
                unit: n.scope_unit(),
                description: definition
                    .as_ref()
                    .map(|d| d.description.clone())
                    .unwrap_or_default(),
                group: definition
                    .as_ref()
                    .ok()
                    .and_then(|d| d.group.as_ref())
                    .map(ToString::to_string),
                autostart: definition.as_ref().ok().map(|d| d.autostart),
                leader: unit.and_then(|_| running_leader(recorded_state(ctx, n).as_ref())),
                since_usec: since(unit),
                memory_current: unit.and_then(|u| u.memory_current),
                tasks_current: unit.and_then(|u| u.tasks_current),
                cpu_usage_nsec: unit.and_then(|u| u.cpu_usage_nsec),
                io_read_bytes: io.0,
                io_write_bytes: io.1,
            }
        })
        .collect();
    Ok(entries)
}

/// `name`'s status, whether it runs or not; an error when it has neither a definition nor a
/// loaded unit.
pub fn status(
    ctx: &Context,
    systemd: &Systemd,
    name: &Name,
) -> Result<ContainerStatus, StatusError> {
    let unit_name = name.scope_unit();
    let unit = systemd.unit_status(&unit_name)?;
    let loaded = match (definition::load(&ctx.search, name), &unit) {
        (Err(e), None) => return Err(e.into()),
        (loaded, _) => loaded,
    };
    let recorded = recorded_state(ctx, name);
    let last_exit: Option<Exit> = fs::read(ctx.paths.exit_file(name))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let u = unit.as_ref();
    let outdated_files = u.map(outdated_files).unwrap_or_default();
    let io = u.map(io_bytes).unwrap_or_default();
    let (description, definition_error) = match loaded {
        Ok(l) => (l.definition.description, None),
        Err(e) => (
            u.map(|u| u.description.clone()).unwrap_or_default(),
            Some(e),
        ),
    };
    Ok(ContainerStatus {
        name: name.clone(),
        state: UnitState::of(u),
        paused: u.is_some_and(is_paused),
        outdated: !outdated_files.is_empty(),
        outdated_files,
        description,
        unit: unit_name,
        slice: u.map(|u| u.slice.clone()),
        since_usec: since(u),
        leader: running_leader(recorded.as_ref()),
        memory_current: u.and_then(|u| u.memory_current),
        memory_limit: u.and_then(|u| u.memory_limit),
        tasks_current: u.and_then(|u| u.tasks_current),
        tasks_max: u.and_then(|u| u.tasks_max),
        cpu_usage_nsec: u.and_then(|u| u.cpu_usage_nsec),
        io_read_bytes: io.0,
        io_write_bytes: io.1,
        control_group: u.map(|u| u.control_group.clone()),
        processes: u
            .map(|u| cgroup_processes(&u.control_group))
            .unwrap_or_default(),
        selinux: selinux_label(recorded.as_ref().and_then(|s| s.selinux_label.as_deref())),
        user_namespace: recorded.as_ref().and_then(|s| {
            Some(UserNamespace {
                host_first: s.user_namespace?,
                count: RANGE_SIZE,
                idmapped: s.idmapped_mounts,
            })
        }),
        last_exit,
        definition_valid: definition_error.is_none(),
        definition_error,
    })
}

/// Frozen while it runs; a stopped unit's leftover freezer cgroup says nothing.
fn is_paused(unit: &UnitStatus) -> bool {
    unit.is_active() && freezer::is_frozen(unit)
}

/// What the unit's processes map from /usr that the host replaced since; nothing while it is
/// not active.
pub fn outdated_files(unit: &UnitStatus) -> Vec<String> {
    if !unit.is_active() || unit.control_group.is_empty() {
        return Vec::new();
    }
    outdated::outdated_files(&cgroup_pids(&unit.control_group))
}

/// The processes of a cgroup and its children, by PID, with their command lines.
fn cgroup_processes(control_group: &str) -> Vec<Process> {
    cgroup_pids(control_group)
        .into_iter()
        .map(|pid| {
            let command = fs::read(format!("/proc/{pid}/cmdline"))
                .map(|b| {
                    String::from_utf8_lossy(&b)
                        .trim_end_matches('\0')
                        .replace('\0', " ")
                })
                .unwrap_or_default();
            Process { pid, command }
        })
        .collect()
}

fn selinux_label(recorded: Option<&str>) -> String {
    if !HostSelinux::probe().is_enabled() {
        return "disabled".into();
    }
    recorded.unwrap_or("off").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(active_state: &str) -> UnitStatus {
        UnitStatus {
            active_state: active_state.into(),
            ..UnitStatus::default()
        }
    }

    #[test]
    fn unit_states_in_berths_words() {
        assert_eq!(UnitState::of(None), UnitState::Stopped);
        assert_eq!(UnitState::of(Some(&unit("inactive"))), UnitState::Stopped);
        assert_eq!(UnitState::of(Some(&unit("active"))), UnitState::Running);
        assert_eq!(UnitState::of(Some(&unit("failed"))), UnitState::Failed);
        for s in UnitState::ALL {
            assert_eq!(serde_json::json!(s), s.as_str());
        }
    }

    #[test]
    fn a_running_container_without_a_usable_definition_says_both() {
        let state = |unit, definition| ListState { unit, definition }.to_string();
        assert_eq!(state(UnitState::Starting, None), "starting");
        assert_eq!(
            state(UnitState::Running, Some(DefinitionProblem::Masked)),
            "running+masked"
        );
        assert_eq!(
            state(UnitState::Failed, Some(DefinitionProblem::Orphan)),
            "orphan"
        );
        let json = serde_json::json!(ListState {
            unit: UnitState::Running,
            definition: Some(DefinitionProblem::Invalid),
        });
        assert_eq!(json, "running+invalid");
    }

    #[test]
    fn blkio_statistics_sum_the_devices() {
        let text = "8:0 Read 4096\n8:0 Write 512\n8:0 Sync 0\n8:0 Total 4608\n\
                    8:16 Read 100\n8:16 Write 0\nTotal 4708\n";
        assert_eq!(blkio_bytes(text), (Some(4196), Some(512)));
        assert_eq!(blkio_bytes("Total 0\n"), (Some(0), Some(0)));
        let v2 = UnitStatus {
            io_read_bytes: Some(1),
            io_write_bytes: Some(2),
            ..UnitStatus::default()
        };
        assert_eq!(io_bytes(&v2), (Some(1), Some(2)));
        assert_eq!(io_bytes(&UnitStatus::default()), (None, None));
    }
}
