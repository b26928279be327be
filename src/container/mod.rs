//! The container itself: its plan (pure), its persistent directories, and the berth side of
//! the helper that builds it.

pub mod client;
pub mod id_shift;
pub mod idmap;
pub mod labelling;
pub mod mount_api;
pub mod mountinfo;
pub mod plan;
pub mod protocol;
pub mod state_dirs;
pub mod tree_copy;

pub use client::{helper_path, HeldHelper, HelperError, Started};
pub use plan::{plan_container, ContainerPlan, Grants, HostLayout, MountStep, Payload, PlanError};
pub use protocol::{read_plan, write_plan, Exit};
pub use state_dirs::{prepare_runtime_dirs, prepare_state_dirs, remove_created, Prepared};
