//! Confinement of a container's processes, planned as plain data: capabilities, no_new_privs,
//! the seccomp filter, SELinux labels, user namespaces, and the hidden parts of /proc and
//! /sys. The helper applies the plan (`crate::helper::confine`); nothing here acts on the host
//! beyond the reservations in [`userns`] and [`crate::mcs`], labelling in [`selinux`] and the
//! probe for idmapped mounts in [`idmap`].

pub mod capabilities;
pub mod idmap;
pub mod mount_api;
pub mod paths;
pub mod seccomp;
pub mod selinux;
pub mod userns;

use serde::{Deserialize, Serialize};

pub use capabilities::CapabilityPlan;
pub use seccomp::Profile;

/// What confines every process of a container, its payload and `berth exec` alike.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confinement {
    pub capabilities: CapabilityPlan,
    pub no_new_privileges: bool,
    /// None: unconfined.
    pub seccomp: Option<Profile>,
    /// The processes' SELinux label; None where SELinux is off.
    pub process_label: Option<String>,
}
