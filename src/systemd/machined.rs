//! systemd-machined: registering a running container so that `machinectl` lists it.

use zbus::proxy::CacheProperties;

use super::error::{error_name, MachinedError};
use super::proxies::Machine1ProxyBlocking;
use super::Systemd;

/// machined, on the connection of a [`Systemd`].
pub struct Machined {
    manager: Machine1ProxyBlocking<'static>,
}

impl Machined {
    /// Makes no call yet: a machined that is not installed shows as
    /// [`MachinedError::Unavailable`] at the first one (the bus cannot activate it).
    pub fn new(systemd: &Systemd) -> Result<Machined, MachinedError> {
        let manager = Machine1ProxyBlocking::builder(systemd.connection())
            .cache_properties(CacheProperties::No)
            .build()
            .map_err(|e| MachinedError::from_call("connect to", "org.freedesktop.machine1", e))?;
        Ok(Machined { manager })
    }

    /// Registers a running process as the leader of container `name`, keeping the unit it
    /// already runs in (berth's scope), as `systemd-nspawn --keep-unit` does. `id` is the
    /// container's machine ID (16 bytes), or empty.
    pub fn register(
        &self,
        name: &str,
        id: &[u8],
        leader: u32,
        root_directory: &str,
    ) -> Result<(), MachinedError> {
        self.manager
            .register_machine(name, id, "berth", "container", leader, root_directory)
            .map(drop)
            .map_err(|e| MachinedError::from_call("RegisterMachine", name, e))
    }

    /// Whether machined knows the machine.
    pub fn machine_exists(&self, name: &str) -> Result<bool, MachinedError> {
        match self.manager.get_machine(name) {
            Ok(_) => Ok(true),
            Err(e) if is_no_such_machine(&e) => Ok(false),
            Err(e) => Err(MachinedError::from_call("GetMachine", name, e)),
        }
    }

    /// Terminates the machine: machined stops its unit, which for a registered machine is
    /// the container's scope. A machine machined does not know is Ok, so that teardown can
    /// be repeated.
    pub fn terminate(&self, name: &str) -> Result<(), MachinedError> {
        match self.manager.terminate_machine(name) {
            Ok(()) => Ok(()),
            Err(e) if is_no_such_machine(&e) => Ok(()),
            Err(e) => Err(MachinedError::from_call("TerminateMachine", name, e)),
        }
    }
}

fn is_no_such_machine(e: &zbus::Error) -> bool {
    error_name(e) == Some("org.freedesktop.machine1.NoSuchMachine")
}
