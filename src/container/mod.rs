//! The container itself: its plan (pure), its persistent directories, and the berth side of
//! the helper that builds it.

pub mod client;
pub mod id_shift;
pub mod idmap;
pub mod labelling;
pub mod mount_api;
pub mod mountinfo;
pub mod plan;
pub mod state_dirs;
pub mod tree_copy;

use std::fs;
use std::path::Path;

pub use client::{helper_path, HeldHelper, HelperError, Started};
pub use plan::{plan_container, ContainerPlan, Grants, HostLayout, MountStep, Payload, PlanError};
pub use state_dirs::{
    prepare_runtime_dirs, prepare_state_dirs, remove_created, Prepared, StateDirError,
};

/// How a container's payload ended, as its init records it in `/run/berth/NAME.exit.json`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Exit {
    /// The exit code, or 128 + signal.
    pub status: i32,
    pub signal: Option<i32>,
    /// The kernel's OOM killer killed a process of the container.
    #[serde(default)]
    pub oom_killed: bool,
    /// The container booted its own init, whose end this is.
    #[serde(default)]
    pub boot: bool,
    /// Realtime microseconds.
    pub time_usec: u64,
}

/// Writes the plan for the helper, atomically.
pub fn write_plan(plan: &ContainerPlan, path: &Path) -> std::io::Result<()> {
    crate::store::write_json_atomic(path, plan).map_err(|e| e.source)
}

pub fn read_plan(path: &Path) -> std::io::Result<ContainerPlan> {
    serde_json::from_slice(&fs::read(path)?).map_err(std::io::Error::other)
}
