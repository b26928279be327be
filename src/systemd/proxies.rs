//! The parts of systemd's and machined's D-Bus interfaces that berth uses, and nothing more.

use zbus::proxy;
use zbus::zvariant::{OwnedObjectPath, Value};

use super::host_unit::{ServiceProperties, UnitFiles};
use super::status::{TypeProperties, UnitProperties};

/// A unit as ListUnitsByPatterns returns it: name, description, load state, active state,
/// sub state, followed unit, unit object path, job id, job type, job object path.
pub(super) type ListedUnit = (
    String,
    String,
    String,
    String,
    String,
    String,
    OwnedObjectPath,
    u32,
    String,
    OwnedObjectPath,
);

/// `a(sv)`: StartTransientUnit's and SetUnitProperties' property list.
pub(super) type Properties<'a> = [(&'a str, Value<'a>)];

/// `a(sa(sv))`: StartTransientUnit's auxiliary units, which berth never uses.
pub(super) type AuxUnits<'a> = [(&'a str, &'a Properties<'a>)];

#[proxy(
    interface = "org.freedesktop.systemd1.Manager",
    default_service = "org.freedesktop.systemd1",
    default_path = "/org/freedesktop/systemd1"
)]
pub(super) trait Manager {
    /// Without a subscriber on the bus, systemd sends no JobRemoved signals.
    fn subscribe(&self) -> zbus::Result<()>;

    fn start_transient_unit(
        &self,
        name: &str,
        mode: &str,
        properties: &Properties<'_>,
        aux: &AuxUnits<'_>,
    ) -> zbus::Result<OwnedObjectPath>;

    fn stop_unit(&self, name: &str, mode: &str) -> zbus::Result<OwnedObjectPath>;

    fn kill_unit(&self, name: &str, whom: &str, signal: i32) -> zbus::Result<()>;

    /// systemd (246 and later) answers once the unit's cgroup is frozen; only on the unified
    /// hierarchy (252 here: `cg_freezer_supported()` wants cgroup v2 and cgroup.freeze).
    fn freeze_unit(&self, name: &str) -> zbus::Result<()>;

    fn thaw_unit(&self, name: &str) -> zbus::Result<()>;

    fn set_unit_properties(
        &self,
        name: &str,
        runtime: bool,
        properties: &Properties<'_>,
    ) -> zbus::Result<()>;

    fn attach_processes_to_unit(
        &self,
        name: &str,
        subcgroup: &str,
        pids: &[u32],
    ) -> zbus::Result<()>;

    fn get_unit(&self, name: &str) -> zbus::Result<OwnedObjectPath>;

    /// Loads a unit that is not loaded yet (a stopped host service), as systemctl show does.
    fn load_unit(&self, name: &str) -> zbus::Result<OwnedObjectPath>;

    fn list_units_by_patterns(
        &self,
        states: &[&str],
        patterns: &[&str],
    ) -> zbus::Result<Vec<ListedUnit>>;

    /// The manager's form of Scope.Abandon(): by name, so no GetUnit round trip first.
    fn abandon_scope(&self, name: &str) -> zbus::Result<()>;

    /// The TasksMax a unit gets when it sets none.
    #[zbus(property)]
    fn default_tasks_max(&self) -> zbus::Result<u64>;

    #[zbus(signal)]
    fn job_removed(
        &self,
        id: u32,
        job: OwnedObjectPath,
        unit: String,
        result: String,
    ) -> zbus::Result<()>;
}

/// A unit object's properties, read as typed dictionaries: one GetAll per interface, decoded
/// straight into the fields berth reads (systemd's other properties are skipped).
#[proxy(
    interface = "org.freedesktop.DBus.Properties",
    default_service = "org.freedesktop.systemd1"
)]
pub(super) trait UnitObject {
    /// GetAll("org.freedesktop.systemd1.Unit").
    #[zbus(name = "GetAll")]
    fn unit_properties(&self, interface: &str) -> zbus::Result<UnitProperties>;

    /// GetAll of the unit type's interface (org.freedesktop.systemd1.Scope, ...).
    #[zbus(name = "GetAll")]
    fn type_properties(&self, interface: &str) -> zbus::Result<TypeProperties>;

    /// GetAll("org.freedesktop.systemd1.Unit"), the fields saying where it was loaded from.
    #[zbus(name = "GetAll")]
    fn unit_files(&self, interface: &str) -> zbus::Result<UnitFiles>;

    /// GetAll("org.freedesktop.systemd1.Service").
    #[zbus(name = "GetAll")]
    fn service_properties(&self, interface: &str) -> zbus::Result<ServiceProperties>;
}

#[proxy(
    interface = "org.freedesktop.machine1.Manager",
    default_service = "org.freedesktop.machine1",
    default_path = "/org/freedesktop/machine1"
)]
pub(super) trait Machine1 {
    fn register_machine(
        &self,
        name: &str,
        id: &[u8],
        service: &str,
        class: &str,
        leader: u32,
        root_directory: &str,
    ) -> zbus::Result<OwnedObjectPath>;

    fn get_machine(&self, name: &str) -> zbus::Result<OwnedObjectPath>;

    fn terminate_machine(&self, name: &str) -> zbus::Result<()>;
}
