//! A unit's state and resource usage, read from its D-Bus object in two typed GetAll calls.

use zbus::zvariant::{DeserializeDict, Type};

/// A unit's state and usage, as systemd reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitStatus {
    pub id: String,
    pub description: String,
    pub load_state: String,
    pub active_state: String,
    pub sub_state: String,
    /// ActiveEnterTimestamp: realtime µs; 0 if never active.
    pub active_enter_usec: u64,
    pub state_change_usec: u64,
    pub slice: String,
    pub control_group: String,
    pub memory_current: Option<u64>,
    /// MemoryMax, or MemoryLimit (the cgroup v1 name) when MemoryMax is not set; None when
    /// unlimited.
    pub memory_limit: Option<u64>,
    pub tasks_current: Option<u64>,
    pub tasks_max: Option<u64>,
    pub cpu_usage_nsec: Option<u64>,
    /// IOReadBytes and IOWriteBytes (systemd 243 or later, from the cgroup's io.stat): None
    /// on cgroup v1, where systemd has no IO accounting to report.
    pub io_read_bytes: Option<u64>,
    pub io_write_bytes: Option<u64>,
    /// The unit's result: "success", "oom-kill", "timeout", ...; empty for a slice.
    pub result: String,
    /// FreezerState: "running", "freezing", "frozen", "thawing"; empty from a systemd older
    /// than 246. Only FreezeUnit moves it: the v1 freezer berth uses on other hosts leaves it
    /// "running".
    pub freezer_state: String,
}

impl UnitStatus {
    /// Neither "inactive" nor "failed": processes may still run in it.
    pub fn is_active(&self) -> bool {
        !matches!(self.active_state.as_str(), "inactive" | "failed")
    }
}

/// org.freedesktop.systemd1.Unit, the properties every unit has.
#[derive(Debug, Default, DeserializeDict, Type)]
#[zvariant(signature = "a{sv}", rename_all = "PascalCase")]
pub(super) struct UnitProperties {
    pub id: String,
    pub description: Option<String>,
    pub load_state: String,
    pub active_state: String,
    pub sub_state: String,
    pub active_enter_timestamp: Option<u64>,
    pub state_change_timestamp: Option<u64>,
    pub freezer_state: Option<String>,
}

/// The unit type's interface (Scope, Service, Slice, ...): its cgroup, usage and result.
/// Every field is optional: the set differs between unit types and systemd versions
/// (MemoryMax arrived with cgroup v2 support in 231; a slice has no Result).
#[derive(Debug, Default, DeserializeDict, Type)]
#[zvariant(signature = "a{sv}", rename_all = "PascalCase")]
pub(super) struct TypeProperties {
    pub slice: Option<String>,
    pub control_group: Option<String>,
    pub memory_current: Option<u64>,
    pub memory_max: Option<u64>,
    pub memory_limit: Option<u64>,
    pub tasks_current: Option<u64>,
    pub tasks_max: Option<u64>,
    #[zvariant(rename = "CPUUsageNSec")]
    pub cpu_usage_nsec: Option<u64>,
    #[zvariant(rename = "IOReadBytes")]
    pub io_read_bytes: Option<u64>,
    #[zvariant(rename = "IOWriteBytes")]
    pub io_write_bytes: Option<u64>,
    pub result: Option<String>,
    #[zvariant(rename = "TimeoutStopUSec")]
    pub timeout_stop_usec: Option<u64>,
}

/// The D-Bus interface holding a unit's type-specific properties, from its name's suffix.
pub(super) fn type_interface(unit: &str) -> Option<&'static str> {
    Some(match unit.rsplit_once('.')?.1 {
        "scope" => "org.freedesktop.systemd1.Scope",
        "service" => "org.freedesktop.systemd1.Service",
        "slice" => "org.freedesktop.systemd1.Slice",
        "socket" => "org.freedesktop.systemd1.Socket",
        "mount" => "org.freedesktop.systemd1.Mount",
        "swap" => "org.freedesktop.systemd1.Swap",
        // Targets, timers, paths, ... have no cgroup.
        _ => return None,
    })
}

/// systemd says "not available" (no accounting, no controller) and "unlimited" with
/// u64::MAX.
fn counter(v: Option<u64>) -> Option<u64> {
    v.filter(|v| *v != u64::MAX)
}

impl UnitStatus {
    pub(super) fn new(unit: UnitProperties, of_type: TypeProperties) -> UnitStatus {
        UnitStatus {
            id: unit.id,
            description: unit.description.unwrap_or_default(),
            load_state: unit.load_state,
            active_state: unit.active_state,
            sub_state: unit.sub_state,
            active_enter_usec: unit.active_enter_timestamp.unwrap_or(0),
            state_change_usec: unit.state_change_timestamp.unwrap_or(0),
            slice: of_type.slice.unwrap_or_default(),
            control_group: of_type.control_group.unwrap_or_default(),
            memory_current: counter(of_type.memory_current),
            // systemd writes MemoryMax into the kernel's limit when it is set, and the
            // v1-era MemoryLimit otherwise, on either hierarchy: the same order here reports
            // the limit in force.
            memory_limit: counter(of_type.memory_max).or(counter(of_type.memory_limit)),
            tasks_current: counter(of_type.tasks_current),
            tasks_max: counter(of_type.tasks_max),
            cpu_usage_nsec: counter(of_type.cpu_usage_nsec),
            io_read_bytes: counter(of_type.io_read_bytes),
            io_write_bytes: counter(of_type.io_write_bytes),
            result: of_type.result.unwrap_or_default(),
            freezer_state: unit.freezer_state.unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use zbus::zvariant::serialized::Context;
    use zbus::zvariant::{to_bytes, Value, LE};

    /// What systemd sends: a dictionary with many more properties than berth reads.
    fn decode<T: for<'de> serde::Deserialize<'de> + Type>(props: &[(&str, Value<'_>)]) -> T {
        let dict: HashMap<&str, &Value<'_>> = props.iter().map(|(k, v)| (*k, v)).collect();
        let bytes = to_bytes(Context::new_dbus(LE, 0), &dict).unwrap();
        bytes.deserialize().unwrap().0
    }

    #[test]
    fn a_scope_read_from_its_properties() {
        let unit: UnitProperties = decode(&[
            ("Id", Value::from("berth-web.scope")),
            ("Names", Value::from(vec!["berth-web.scope"])),
            ("Description", Value::from("web (berth container web)")),
            ("LoadState", Value::from("loaded")),
            ("ActiveState", Value::from("active")),
            ("SubState", Value::from("running")),
            (
                "ActiveEnterTimestamp",
                Value::from(1_700_000_000_000_000u64),
            ),
            (
                "StateChangeTimestamp",
                Value::from(1_700_000_000_000_001u64),
            ),
            ("CanStart", Value::from(false)),
            ("FreezerState", Value::from("frozen")),
        ]);
        let scope: TypeProperties = decode(&[
            ("Slice", Value::from("berth-web.slice")),
            (
                "ControlGroup",
                Value::from("/berth.slice/berth-web.slice/berth-web.scope"),
            ),
            ("MemoryCurrent", Value::from(4096u64)),
            ("MemoryMax", Value::from(u64::MAX)),
            ("MemoryLimit", Value::from(256u64 << 20)),
            ("TasksCurrent", Value::from(3u64)),
            ("TasksMax", Value::from(64u64)),
            ("CPUUsageNSec", Value::from(u64::MAX)),
            ("IOReadBytes", Value::from(8192u64)),
            ("IOWriteBytes", Value::from(u64::MAX)),
            ("Result", Value::from("success")),
            ("TimeoutStopUSec", Value::from(90_000_000u64)),
            ("KillSignal", Value::from(15i32)),
            ("DeviceAllow", Value::from(vec![("/dev/null", "rwm")])),
        ]);
        assert_eq!(scope.timeout_stop_usec, Some(90_000_000));
        assert_eq!(
            UnitStatus::new(unit, scope),
            UnitStatus {
                id: "berth-web.scope".into(),
                description: "web (berth container web)".into(),
                load_state: "loaded".into(),
                active_state: "active".into(),
                sub_state: "running".into(),
                active_enter_usec: 1_700_000_000_000_000,
                state_change_usec: 1_700_000_000_000_001,
                slice: "berth-web.slice".into(),
                control_group: "/berth.slice/berth-web.slice/berth-web.scope".into(),
                memory_current: Some(4096),
                memory_limit: Some(256 << 20),
                tasks_current: Some(3),
                tasks_max: Some(64),
                cpu_usage_nsec: None,
                io_read_bytes: Some(8192),
                io_write_bytes: None,
                result: "success".into(),
                freezer_state: "frozen".into(),
            }
        );
    }

    #[test]
    fn memory_max_wins_over_the_v1_name_and_infinity_is_no_limit() {
        let unit = || UnitProperties {
            id: "berth-db.scope".into(),
            ..Default::default()
        };
        let both = TypeProperties {
            memory_max: Some(1 << 30),
            memory_limit: Some(256 << 20),
            ..Default::default()
        };
        assert_eq!(UnitStatus::new(unit(), both).memory_limit, Some(1 << 30));
        let neither = TypeProperties {
            memory_max: Some(u64::MAX),
            memory_limit: Some(u64::MAX),
            tasks_max: Some(u64::MAX),
            ..Default::default()
        };
        let status = UnitStatus::new(unit(), neither);
        assert_eq!((status.memory_limit, status.tasks_max), (None, None));
        assert_eq!(status.active_enter_usec, 0);
    }

    #[test]
    fn missing_core_unit_properties_are_an_error() {
        let dict: HashMap<&str, Value<'_>> = HashMap::from([("Id", Value::from("x.scope"))]);
        let bytes = to_bytes(Context::new_dbus(LE, 0), &dict).unwrap();
        let err = bytes.deserialize::<UnitProperties>().unwrap_err();
        assert!(err.to_string().contains("LoadState"), "{err}");
    }

    #[test]
    fn type_interfaces_by_suffix() {
        assert_eq!(
            type_interface("berth-web.scope"),
            Some("org.freedesktop.systemd1.Scope")
        );
        assert_eq!(
            type_interface("berth.slice"),
            Some("org.freedesktop.systemd1.Slice")
        );
        assert_eq!(
            type_interface("dbus.service"),
            Some("org.freedesktop.systemd1.Service")
        );
        assert_eq!(type_interface("multi-user.target"), None);
        assert_eq!(type_interface("nodot"), None);
    }

    #[test]
    fn inactive_and_failed_are_not_active() {
        let with = |state: &str| UnitStatus {
            active_state: state.into(),
            ..Default::default()
        };
        assert!(with("active").is_active());
        assert!(with("deactivating").is_active());
        assert!(with("activating").is_active());
        assert!(!with("inactive").is_active());
        assert!(!with("failed").is_active());
    }
}
