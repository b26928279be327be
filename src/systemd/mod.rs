//! systemd and machined over the D-Bus system bus: the "doing" side of [`crate::unit`].
//!
//! berth talks to the system bus, not to systemd's private socket, which zbus cannot use
//! (zbus issue #1497).

mod proxies;

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::Duration;

use zbus::blocking::fdo::PropertiesProxy;
use zbus::blocking::Connection;
use zbus::names::InterfaceName;
use zbus::zvariant::{OwnedValue, Value};

use crate::unit::{CgroupVersion, Property, PropertyValue, ScopePlan};
use proxies::{Machine1ProxyBlocking, ManagerProxyBlocking};

/// How long a start or stop job may take before berth gives up waiting for it. Stops take up
/// to the unit's stop timeout; this only guards against a lost signal.
const JOB_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Debug, thiserror::Error)]
pub enum SystemdError {
    #[error("cannot connect to the D-Bus system bus: {source}")]
    Connect { source: Box<zbus::Error> },
    #[error("{op} {unit}: {}", describe(.source))]
    Call {
        op: &'static str,
        unit: String,
        source: Box<zbus::Error>,
    },
    #[error("{op} {unit}: the job finished with result \"{result}\"")]
    JobFailed {
        op: &'static str,
        unit: String,
        result: String,
    },
    #[error("{op} {unit}: no answer from systemd within {} s", JOB_TIMEOUT.as_secs())]
    Timeout { op: &'static str, unit: String },
}

#[derive(Debug, thiserror::Error)]
pub enum MachinedError {
    #[error("systemd-machined is not available: {}", describe(.source))]
    Unavailable { source: Box<zbus::Error> },
    #[error("{op} {machine}: {}", describe(.source))]
    Call {
        op: &'static str,
        machine: String,
        source: Box<zbus::Error>,
    },
}

/// A D-Bus error as "Name: message", which is what an administrator can search for.
fn describe(e: &zbus::Error) -> String {
    match e {
        zbus::Error::MethodError(name, Some(msg), _) => format!("{name}: {msg}"),
        zbus::Error::MethodError(name, None, _) => name.to_string(),
        other => other.to_string(),
    }
}

fn error_name(e: &zbus::Error) -> Option<&str> {
    match e {
        zbus::Error::MethodError(name, _, _) => Some(name.as_str()),
        _ => None,
    }
}

/// A unit's state and usage, as systemd reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitStatus {
    pub id: String,
    pub description: String,
    pub load_state: String,
    pub active_state: String,
    pub sub_state: String,
    /// Realtime µs; 0 if never active.
    pub active_enter_usec: u64,
    pub state_change_usec: u64,
    pub slice: String,
    pub control_group: String,
    pub memory_current: Option<u64>,
    /// MemoryMax, or MemoryLimit on cgroup v1; None when unlimited.
    pub memory_limit: Option<u64>,
    pub tasks_current: Option<u64>,
    pub tasks_max: Option<u64>,
    pub cpu_usage_nsec: Option<u64>,
    /// The scope's result: "success", "oom-kill", "timeout", ...
    pub result: String,
}

impl UnitStatus {
    pub fn is_active(&self) -> bool {
        !matches!(self.active_state.as_str(), "inactive" | "failed")
    }
}

/// The manager on the system bus.
pub struct Systemd {
    connection: Connection,
    manager: ManagerProxyBlocking<'static>,
}

impl Systemd {
    pub fn connect() -> Result<Systemd, SystemdError> {
        let connection = Connection::system().map_err(|source| SystemdError::Connect {
            source: Box::new(source),
        })?;
        let manager =
            ManagerProxyBlocking::new(&connection).map_err(|source| SystemdError::Connect {
                source: Box::new(source),
            })?;
        Ok(Systemd {
            connection,
            manager,
        })
    }

    fn call_err(op: &'static str, unit: &str) -> impl FnOnce(zbus::Error) -> SystemdError {
        let unit = unit.to_owned();
        move |source| SystemdError::Call {
            op,
            unit,
            source: Box::new(source),
        }
    }

    /// Runs a job-returning call and waits for its JobRemoved signal. The match is registered
    /// before the call, so that a job that finishes at once is not missed.
    fn run_job(
        &self,
        op: &'static str,
        unit: &str,
        call: impl FnOnce() -> zbus::Result<zbus::zvariant::OwnedObjectPath>,
    ) -> Result<(), SystemdError> {
        match self.manager.subscribe() {
            Err(e) if error_name(&e) != Some("org.freedesktop.systemd1.AlreadySubscribed") => {
                return Err(Self::call_err("Subscribe", unit)(e))
            }
            _ => {}
        }
        let signals = self
            .manager
            .receive_job_removed()
            .map_err(Self::call_err(op, unit))?;
        let job = call().map_err(Self::call_err(op, unit))?;
        // The blocking iterator cannot time out by itself; a thread hands results over.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for signal in signals {
                let Ok(args) = signal.args() else { continue };
                if *args.job() == job && tx.send(args.result().clone()).is_err() {
                    return;
                }
                if *args.job() == job {
                    return;
                }
            }
        });
        match rx.recv_timeout(JOB_TIMEOUT) {
            Ok(result) if result == "done" => Ok(()),
            Ok(result) => Err(SystemdError::JobFailed {
                op,
                unit: unit.to_owned(),
                result,
            }),
            Err(_) => Err(SystemdError::Timeout {
                op,
                unit: unit.to_owned(),
            }),
        }
    }

    /// Creates the scope of `plan`, in mode "fail", and waits until systemd has made it.
    pub fn start_scope(&self, plan: &ScopePlan) -> Result<(), SystemdError> {
        let properties: Vec<(&str, Value<'_>)> = plan
            .properties
            .iter()
            .map(|p| (p.name, to_value(&p.value)))
            .collect();
        self.run_job("StartTransientUnit", &plan.unit, || {
            self.manager
                .start_transient_unit(&plan.unit, "fail", &properties, &[])
        })
    }

    /// Stops a unit and waits for the job. A unit that is not loaded is already stopped.
    pub fn stop_unit(&self, unit: &str) -> Result<(), SystemdError> {
        match self.run_job("StopUnit", unit, || self.manager.stop_unit(unit, "replace")) {
            Err(SystemdError::Call { source, .. })
                if error_name(&source) == Some("org.freedesktop.systemd1.NoSuchUnit") =>
            {
                Ok(())
            }
            other => other,
        }
    }

    /// Sends `signal` to every process of the unit.
    pub fn kill_unit(&self, unit: &str, signal: i32) -> Result<(), SystemdError> {
        self.manager
            .kill_unit(unit, "all", signal)
            .map_err(Self::call_err("KillUnit", unit))
    }

    /// Changes properties of a running unit (what `systemctl set-property` does).
    pub fn set_unit_properties(
        &self,
        unit: &str,
        runtime: bool,
        props: &[Property],
    ) -> Result<(), SystemdError> {
        let values: Vec<(&str, Value<'_>)> =
            props.iter().map(|p| (p.name, to_value(&p.value))).collect();
        self.manager
            .set_unit_properties(unit, runtime, &values)
            .map_err(Self::call_err("SetUnitProperties", unit))
    }

    /// Moves processes into the unit's cgroup.
    pub fn attach_processes(&self, unit: &str, pids: &[u32]) -> Result<(), SystemdError> {
        self.manager
            .attach_processes_to_unit(unit, "", pids)
            .map_err(Self::call_err("AttachProcessesToUnit", unit))
    }

    pub fn abandon_scope(&self, unit: &str) -> Result<(), SystemdError> {
        self.manager
            .abandon_scope(unit)
            .map_err(Self::call_err("AbandonScope", unit))
    }

    /// The unit's state, or None when systemd has no such unit loaded.
    pub fn unit_status(&self, unit: &str) -> Result<Option<UnitStatus>, SystemdError> {
        let path = match self.manager.get_unit(unit) {
            Ok(path) => path,
            Err(e) if error_name(&e) == Some("org.freedesktop.systemd1.NoSuchUnit") => {
                return Ok(None)
            }
            Err(e) => return Err(Self::call_err("GetUnit", unit)(e)),
        };
        let properties = PropertiesProxy::builder(&self.connection)
            .destination("org.freedesktop.systemd1")
            .and_then(|b| b.path(path))
            .and_then(|b| b.build())
            .map_err(Self::call_err("GetUnit", unit))?;
        let get_all = |interface: &'static str| {
            let name = InterfaceName::from_static_str_unchecked(interface);
            properties
                .get_all(name)
                .map_err(|e| Self::call_err("GetAll", unit)(e.into()))
        };
        let u = get_all("org.freedesktop.systemd1.Unit")?;
        // A unit that exists but is not a scope (a name clash) has no Scope properties.
        let s = get_all("org.freedesktop.systemd1.Scope").unwrap_or_default();
        let memory_limit = counter(&s, "MemoryMax").or_else(|| counter(&s, "MemoryLimit"));
        Ok(Some(UnitStatus {
            id: string(&u, "Id"),
            description: string(&u, "Description"),
            load_state: string(&u, "LoadState"),
            active_state: string(&u, "ActiveState"),
            sub_state: string(&u, "SubState"),
            active_enter_usec: counter(&u, "ActiveEnterTimestamp").unwrap_or(0),
            state_change_usec: counter(&u, "StateChangeTimestamp").unwrap_or(0),
            slice: string(&s, "Slice"),
            control_group: string(&s, "ControlGroup"),
            memory_current: counter(&s, "MemoryCurrent"),
            memory_limit,
            tasks_current: counter(&s, "TasksCurrent"),
            tasks_max: counter(&s, "TasksMax"),
            cpu_usage_nsec: counter(&s, "CPUUsageNSec"),
            result: string(&s, "Result"),
        }))
    }

    /// Every loaded unit whose name matches `pattern` (a shell glob such as "berth-*.scope").
    pub fn list_units(&self, pattern: &str) -> Result<Vec<UnitStatus>, SystemdError> {
        let listed = self
            .manager
            .list_units_by_patterns(&[], &[pattern])
            .map_err(Self::call_err("ListUnitsByPatterns", pattern))?;
        let mut out = Vec::with_capacity(listed.len());
        for unit in listed {
            if let Some(status) = self.unit_status(&unit.0)? {
                out.push(status);
            }
        }
        Ok(out)
    }
}

fn string(props: &HashMap<String, OwnedValue>, key: &str) -> String {
    props
        .get(key)
        .and_then(|v| <&str>::try_from(v).ok())
        .unwrap_or_default()
        .to_owned()
}

/// systemd says "not available" or "unlimited" with u64::MAX.
fn counter(props: &HashMap<String, OwnedValue>, key: &str) -> Option<u64> {
    props
        .get(key)
        .and_then(|v| u64::try_from(v).ok())
        .filter(|v| *v != u64::MAX)
}

/// A planned property value as a D-Bus variant of the signature systemd expects.
pub fn to_value(v: &PropertyValue) -> Value<'static> {
    match v {
        PropertyValue::Str(s) => Value::from(s.clone()),
        PropertyValue::Bool(b) => Value::from(*b),
        PropertyValue::I32(i) => Value::from(*i),
        PropertyValue::U64(u) => Value::from(*u),
        PropertyValue::U32s(list) => Value::from(list.clone()),
        PropertyValue::Bytes(bytes) => Value::from(bytes.clone()),
        PropertyValue::Devices(devices) => Value::from(devices.clone()),
    }
}

/// systemd-machined, on the same connection.
pub struct Machined {
    machine1: Machine1ProxyBlocking<'static>,
}

fn machined_err(op: &'static str, machine: &str) -> impl FnOnce(zbus::Error) -> MachinedError {
    let machine = machine.to_owned();
    move |source| {
        let unavailable = error_name(&source).is_some_and(|n| {
            n == "org.freedesktop.DBus.Error.ServiceUnknown"
                || n == "org.freedesktop.DBus.Error.NameHasNoOwner"
                || n.starts_with("org.freedesktop.DBus.Error.Spawn")
                || n == "org.freedesktop.systemd1.NoSuchUnit"
        });
        if unavailable {
            MachinedError::Unavailable {
                source: Box::new(source),
            }
        } else {
            MachinedError::Call {
                op,
                machine,
                source: Box::new(source),
            }
        }
    }
}

impl Machined {
    pub fn new(systemd: &Systemd) -> Result<Machined, MachinedError> {
        let machine1 = Machine1ProxyBlocking::new(&systemd.connection).map_err(|source| {
            MachinedError::Unavailable {
                source: Box::new(source),
            }
        })?;
        Ok(Machined { machine1 })
    }

    /// Registers a running process as a container whose unit stays as it is (what nspawn
    /// --keep-unit does).
    pub fn register(
        &self,
        name: &str,
        leader: u32,
        root_directory: &str,
    ) -> Result<(), MachinedError> {
        self.machine1
            .register_machine(name, &[], "berth", "container", leader, root_directory)
            .map(drop)
            .map_err(machined_err("RegisterMachine", name))
    }

    pub fn machine_exists(&self, name: &str) -> Result<bool, MachinedError> {
        match self.machine1.get_machine(name) {
            Ok(_) => Ok(true),
            Err(e) if error_name(&e) == Some("org.freedesktop.machine1.NoSuchMachine") => Ok(false),
            Err(e) => Err(machined_err("GetMachine", name)(e)),
        }
    }

    pub fn terminate(&self, name: &str) -> Result<(), MachinedError> {
        self.machine1
            .terminate_machine(name)
            .map_err(machined_err("TerminateMachine", name))
    }
}

/// Which hierarchy holds the resource controllers, from /proc/self/mountinfo.
pub fn cgroup_version() -> std::io::Result<CgroupVersion> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")?;
    Ok(cgroup_version_of(&mountinfo))
}

/// cgroup2 mounted at /sys/fs/cgroup is the unified hierarchy; a tmpfs there holds v1
/// hierarchies (legacy, or hybrid with cgroup2 at /sys/fs/cgroup/unified).
pub fn cgroup_version_of(mountinfo: &str) -> CgroupVersion {
    let fstype = mountinfo
        .lines()
        .filter_map(|line| {
            let (before, after) = line.split_once(" - ")?;
            let mount_point = before.split(' ').nth(4)?;
            let fstype = after.split(' ').next()?;
            (mount_point == "/sys/fs/cgroup").then_some(fstype)
        })
        .next_back();
    match fstype {
        Some("cgroup2") => CgroupVersion::V2,
        _ => CgroupVersion::V1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_values_have_systemds_signatures() {
        let cases = [
            (PropertyValue::Str("x".into()), "s"),
            (PropertyValue::Bool(true), "b"),
            (PropertyValue::I32(15), "i"),
            (PropertyValue::U64(1), "t"),
            (PropertyValue::U32s(vec![1, 2]), "au"),
            (PropertyValue::Bytes(vec![0x0f]), "ay"),
            (
                PropertyValue::Devices(vec![("/dev/null".into(), "rwm".into())]),
                "a(ss)",
            ),
        ];
        for (value, signature) in cases {
            assert_eq!(value.signature(), signature);
            assert_eq!(
                to_value(&value).value_signature().to_string(),
                signature,
                "{value:?}"
            );
        }
    }

    #[test]
    fn cgroup_version_from_mountinfo() {
        let hybrid = "30 24 0:26 / /sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755\n\
                      31 30 0:27 / /sys/fs/cgroup/unified rw shared:10 - cgroup2 cgroup2 rw\n\
                      33 30 0:29 / /sys/fs/cgroup/memory rw shared:12 - cgroup cgroup rw,memory\n";
        assert_eq!(cgroup_version_of(hybrid), CgroupVersion::V1);
        let unified =
            "30 24 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(cgroup_version_of(unified), CgroupVersion::V2);
        assert_eq!(cgroup_version_of(""), CgroupVersion::V1);
    }

    #[test]
    fn errors_name_operation_unit_and_dbus_error() {
        let e = SystemdError::JobFailed {
            op: "StartTransientUnit",
            unit: "berth-web.scope".into(),
            result: "failed".into(),
        };
        assert_eq!(
            e.to_string(),
            "StartTransientUnit berth-web.scope: the job finished with result \"failed\""
        );
    }
}
