//! Pausing a unit's processes (`berth pause`): systemd's FreezeUnit where systemd can freeze
//! (the unified hierarchy), the v1 freezer controller otherwise.
//!
//! systemd 252 freezes only on cgroup v2 (`cg_freezer_supported()` wants the unified
//! hierarchy and cgroup.freeze), and on v1 it does not manage the freezer controller at all: a
//! scope's processes sit in the freezer hierarchy's root. There berth makes the scope's cgroup
//! in /sys/fs/cgroup/freezer itself, moves the scope's processes into it, freezes it, and on
//! resume thaws it, moves them back and removes it.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::cgroup::{cgroup_pids, parse_pids};
use super::error::SystemdError;
use super::manager::Systemd;
use super::status::UnitStatus;
use crate::unit::CgroupVersion;

/// Where the v1 freezer controller is mounted, on hosts that mount it.
pub const V1_FREEZER_ROOT: &str = "/sys/fs/cgroup/freezer";

/// How long the kernel may take to freeze or thaw every task.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(5);
const SETTLE_POLL: Duration = Duration::from_millis(10);

/// Rounds of moving a scope's processes into the freezer cgroup: each round moves the
/// processes forked by those not yet moved; a scope that forks faster than this is refused.
const MAX_ROUNDS: usize = 100;

/// How this host pauses a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreezeMethod {
    /// FreezeUnit and ThawUnit: cgroup v2.
    Systemd,
    /// freezer.state in the v1 freezer hierarchy.
    V1Freezer,
}

#[derive(Debug, thiserror::Error)]
pub enum FreezerError {
    #[error(
        "this host cannot pause containers: systemd freezes units only on the unified cgroup \
         hierarchy (cgroup v2), and this host runs cgroup v1 without the freezer controller \
         mounted at {V1_FREEZER_ROOT}"
    )]
    NoFreezer,
    #[error("this host cannot pause containers: {why}")]
    SystemdCannot { why: String },
    #[error("cannot {op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("{path} still reads {state} {} s after writing {wanted}", .after.as_secs())]
    Timeout {
        path: PathBuf,
        state: String,
        wanted: &'static str,
        after: Duration,
    },
    #[error(
        "cannot pause {unit}: its processes kept forking while berth moved them into {}",
        .dir.display()
    )]
    Forking { unit: String, dir: PathBuf },
    #[error(transparent)]
    Systemd(#[from] SystemdError),
}

/// The method for this host: systemd's where the hierarchy is unified, the v1 controller
/// where it is mounted, else none.
pub fn freeze_method(
    version: CgroupVersion,
    v1_freezer_mounted: bool,
) -> Result<FreezeMethod, FreezerError> {
    match (version, v1_freezer_mounted) {
        (CgroupVersion::V2, _) => Ok(FreezeMethod::Systemd),
        (CgroupVersion::V1, true) => Ok(FreezeMethod::V1Freezer),
        (CgroupVersion::V1, false) => Err(FreezerError::NoFreezer),
    }
}

/// [`freeze_method`] of this host.
pub fn host_freeze_method() -> Result<FreezeMethod, FreezerError> {
    let version = super::cgroup_version().map_err(|source| FreezerError::Io {
        op: "statfs",
        path: "/sys/fs/cgroup".into(),
        source,
    })?;
    freeze_method(
        version,
        Path::new(V1_FREEZER_ROOT).join("freezer.state").exists()
            || Path::new(V1_FREEZER_ROOT).join("cgroup.procs").exists(),
    )
}

/// Whether the unit's processes are frozen or being frozen, by either method.
pub fn is_frozen(unit: &UnitStatus) -> bool {
    matches!(unit.freezer_state.as_str(), "frozen" | "freezing")
        || (!unit.control_group.is_empty() && V1Cgroup::of(&unit.control_group).holds_frozen())
}

/// Freezes `unit` (whose cgroup is `control_group`) and returns once its processes are.
pub fn freeze(
    systemd: &Systemd,
    method: FreezeMethod,
    unit: &str,
    control_group: &str,
) -> Result<(), FreezerError> {
    match method {
        FreezeMethod::Systemd => systemd.freeze_unit(unit).map_err(systemd_cannot),
        FreezeMethod::V1Freezer => V1Cgroup::of(control_group).freeze(unit, control_group),
    }
}

/// Thaws `unit` and returns once its processes run again.
pub fn thaw(
    systemd: &Systemd,
    method: FreezeMethod,
    unit: &str,
    control_group: &str,
) -> Result<(), FreezerError> {
    match method {
        FreezeMethod::Systemd => systemd.thaw_unit(unit).map_err(systemd_cannot),
        FreezeMethod::V1Freezer => V1Cgroup::of(control_group).thaw(),
    }
}

/// systemd's refusals that mean the host lacks something, said as such.
fn systemd_cannot(e: SystemdError) -> FreezerError {
    match e.dbus_error_name() {
        Some("org.freedesktop.DBus.Error.UnknownMethod") => FreezerError::SystemdCannot {
            why: "its systemd has no FreezeUnit (systemd 246 added it)".into(),
        },
        Some("org.freedesktop.DBus.Error.NotSupported") => FreezerError::SystemdCannot {
            why: format!(
                "systemd cannot freeze units here (the kernel's cgroup.freeze, Linux 5.2, is \
                 missing): {e}"
            ),
        },
        _ => FreezerError::Systemd(e),
    }
}

/// A scope's cgroup in the v1 freezer hierarchy.
struct V1Cgroup {
    dir: PathBuf,
}

impl V1Cgroup {
    fn of(control_group: &str) -> V1Cgroup {
        V1Cgroup {
            dir: Path::new(V1_FREEZER_ROOT).join(control_group.trim_start_matches('/')),
        }
    }

    /// A frozen cgroup that is empty is what a container stopped while paused left: it says
    /// nothing about the scope's processes.
    fn holds_frozen(&self) -> bool {
        let state = fs::read_to_string(self.dir.join("freezer.state")).unwrap_or_default();
        let procs = fs::read_to_string(self.dir.join("cgroup.procs")).unwrap_or_default();
        matches!(state.trim(), "FROZEN" | "FREEZING") && parse_pids(&procs).next().is_some()
    }

    fn freeze(&self, unit: &str, control_group: &str) -> Result<(), FreezerError> {
        fs::create_dir_all(&self.dir).map_err(|source| FreezerError::Io {
            op: "create",
            path: self.dir.clone(),
            source,
        })?;
        let mut moved = HashSet::new();
        self.gather(unit, control_group, &mut moved)?;
        let frozen = self.settle("FROZEN").and_then(|()| {
            // Those forked by a process between its last round and the freeze were born in
            // this cgroup; a process started outside it meanwhile (berth exec) is moved in
            // now and frozen on arrival.
            self.gather(unit, control_group, &mut moved)?;
            self.settle("FROZEN")
        });
        if frozen.is_err() {
            let _ = self.thaw();
        }
        frozen
    }

    fn thaw(&self) -> Result<(), FreezerError> {
        if !self.dir.is_dir() {
            return Ok(());
        }
        self.settle("THAWED")?;
        self.release();
        Ok(())
    }

    /// Moves every process of the scope into this cgroup, round after round until a round
    /// finds none it has not moved.
    fn gather(
        &self,
        unit: &str,
        control_group: &str,
        moved: &mut HashSet<u32>,
    ) -> Result<(), FreezerError> {
        let procs = self.dir.join("cgroup.procs");
        for _ in 0..MAX_ROUNDS {
            let new: Vec<u32> = cgroup_pids(control_group)
                .into_iter()
                .filter(|p| !moved.contains(p))
                .collect();
            if new.is_empty() {
                return Ok(());
            }
            for pid in new {
                move_pid(&procs, pid)?;
                moved.insert(pid);
            }
        }
        Err(FreezerError::Forking {
            unit: unit.to_owned(),
            dir: self.dir.clone(),
        })
    }

    /// Writes `wanted` to freezer.state and waits until it reads so.
    fn settle(&self, wanted: &'static str) -> Result<(), FreezerError> {
        let file = self.dir.join("freezer.state");
        let io_err = |op| {
            let path = file.clone();
            move |source| FreezerError::Io { op, path, source }
        };
        fs::write(&file, wanted).map_err(io_err("write"))?;
        let deadline = Instant::now() + SETTLE_TIMEOUT;
        loop {
            let state = fs::read_to_string(&file).map_err(io_err("read"))?;
            if state.trim() == wanted {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(FreezerError::Timeout {
                    path: file,
                    state: state.trim().to_owned(),
                    wanted,
                    after: SETTLE_TIMEOUT,
                });
            }
            sleep(SETTLE_POLL);
        }
    }

    /// Back to the freezer root, where systemd left them, and the cgroups berth made removed:
    /// best effort, a leftover empty thawed cgroup does no harm.
    fn release(&self) {
        let root = Path::new(V1_FREEZER_ROOT);
        let procs = fs::read_to_string(self.dir.join("cgroup.procs")).unwrap_or_default();
        for pid in parse_pids(&procs) {
            let _ = move_pid(&root.join("cgroup.procs"), pid);
        }
        let mut dir = self.dir.as_path();
        while dir != root && fs::remove_dir(dir).is_ok() {
            match dir.parent() {
                Some(parent) => dir = parent,
                None => break,
            }
        }
    }
}

/// A process that exited meanwhile needs no moving.
fn move_pid(procs: &Path, pid: u32) -> Result<(), FreezerError> {
    match fs::write(procs, pid.to_string()) {
        Err(e) if e.raw_os_error() != Some(libc::ESRCH) => Err(FreezerError::Io {
            op: "move a process into",
            path: procs.to_owned(),
            source: e,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systemd_freezes_on_v2_the_v1_controller_otherwise() {
        use CgroupVersion::{V1, V2};
        assert_eq!(freeze_method(V2, false).unwrap(), FreezeMethod::Systemd);
        assert_eq!(freeze_method(V2, true).unwrap(), FreezeMethod::Systemd);
        assert_eq!(freeze_method(V1, true).unwrap(), FreezeMethod::V1Freezer);
        let e = freeze_method(V1, false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "this host cannot pause containers: systemd freezes units only on the unified \
             cgroup hierarchy (cgroup v2), and this host runs cgroup v1 without the freezer \
             controller mounted at /sys/fs/cgroup/freezer"
        );
    }

    #[test]
    fn the_scope_cgroup_sits_under_the_freezer_root() {
        let c = V1Cgroup::of("/berth.slice/berth-web.slice/berth-web.scope");
        assert_eq!(
            c.dir,
            Path::new("/sys/fs/cgroup/freezer/berth.slice/berth-web.slice/berth-web.scope")
        );
    }

    #[test]
    fn systemds_freezer_state_says_paused() {
        let unit = |freezer_state: &str| UnitStatus {
            freezer_state: freezer_state.into(),
            ..UnitStatus::default()
        };
        assert!(is_frozen(&unit("frozen")));
        assert!(is_frozen(&unit("freezing")));
        assert!(!is_frozen(&unit("running")));
        assert!(!is_frozen(&unit("")));
    }
}
