//! Confinement of a container's processes, planned as plain data: capabilities, no_new_privs,
//! the seccomp filter, SELinux labels, user namespaces, and the hidden parts of /proc and
//! /sys. The helper applies the plan (`crate::helper::confine`); nothing here acts on the host.
//! What does is next to its callers: reservations in [`crate::store`], labelling, ID maps and
//! idmapped mounts in [`crate::container`].

pub mod capabilities;
pub mod mcs;
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
