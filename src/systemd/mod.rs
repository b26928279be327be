//! systemd and machined over the D-Bus system bus: the side of berth that carries out the
//! scope [`crate::unit`] plans.
//!
//! berth talks to the system bus, never to systemd's private socket /run/systemd/private,
//! on which zbus panics (zbus issue #1497). It uses zbus' blocking API: berth is a short-lived
//! CLI that does one thing after the other.

mod cgroup;
mod error;
pub mod freezer;
mod host_unit;
mod job;
mod machined;
mod manager;
mod proxies;
mod status;
mod value;

pub use cgroup::{cgroup_pids, cgroup_version};
pub use error::{MachinedError, SystemdError};
pub use host_unit::HostUnit;
pub use machined::Machined;
pub use manager::Systemd;
pub use status::UnitStatus;
pub use value::to_value;
