//! The systemd manager on the system bus: the transient scopes berth starts, and the calls it
//! makes on them afterwards.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use zbus::blocking::Connection;
use zbus::proxy::CacheProperties;
use zbus::zvariant::OwnedObjectPath;

use super::error::{error_name, is_no_such_unit, SystemdError};
use super::host_unit::HostUnit;
use super::job;
use super::proxies::{ManagerProxyBlocking, UnitObjectProxyBlocking};
use super::status::{type_interface, TypeProperties, UnitProperties, UnitStatus};
use super::value::to_dbus;
use crate::unit::{Property, PropertyValue, ScopePlan, SlicePlan};

/// Creating a scope takes milliseconds (the processes already run); this only guards against
/// a lost signal or a systemd that hangs.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Added to the stop job's own worst case, for systemd's bookkeeping around it.
const STOP_MARGIN: Duration = Duration::from_secs(30);

/// systemd's DefaultTimeoutStopSec, for a unit that does not say its own.
const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(90);

/// How long a stopped unit may take to be reported inactive or gone.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(5);
const SETTLE_POLL: Duration = Duration::from_millis(10);

/// systemd's manager, over one system-bus connection.
pub struct Systemd {
    connection: Connection,
    manager: ManagerProxyBlocking<'static>,
    /// systemd sends JobRemoved only while a client is subscribed, and refuses a second
    /// Subscribe from the same connection.
    subscribed: AtomicBool,
}

impl Systemd {
    /// Connects to the D-Bus system bus (`/run/dbus/system_bus_socket`, or
    /// `DBUS_SYSTEM_BUS_ADDRESS`). Not systemd's private socket /run/systemd/private: zbus
    /// panics on it (zbus issue #1497), and the bus also serves machined.
    pub fn connect() -> Result<Systemd, SystemdError> {
        let connection = Connection::system().map_err(connect_err)?;
        let manager = ManagerProxyBlocking::builder(&connection)
            .cache_properties(CacheProperties::No)
            .build()
            .map_err(connect_err)?;
        Ok(Systemd {
            connection,
            manager,
            subscribed: AtomicBool::new(false),
        })
    }

    pub(super) fn connection(&self) -> &Connection {
        &self.connection
    }

    /// Creates the scope of `plan` with StartTransientUnit in mode "fail" (never replacing a
    /// job someone else queued), and waits for the job: Ok once systemd has made the scope
    /// and moved the processes into it. The plan must name them (`ScopePlan::with_pids`);
    /// systemd refuses a scope without processes.
    pub fn start_scope(&self, plan: &ScopePlan) -> Result<(), SystemdError> {
        let unit = &plan.unit;
        if !matches!(plan.property("PIDs"), Some(PropertyValue::U32s(pids)) if !pids.is_empty()) {
            return Err(SystemdError::NoPids { unit: unit.clone() });
        }
        self.subscribe(unit)?;
        let properties = to_dbus(&plan.properties);
        job::queue(&self.manager, "StartTransientUnit", unit, || {
            self.manager
                .start_transient_unit(unit, "fail", &properties, &[])
        })?
        .finish(Some(START_TIMEOUT))
    }

    /// Gives a group's slice its limits. A slice that is not active yet is started as a
    /// transient unit with them, so that systemd keeps them in /run/systemd/transient and
    /// drops them with the slice; an active one (another container of the group runs, or the
    /// slice was made implicitly by a scope's Slice=) gets them with SetUnitProperties. Two
    /// berths starting the group's first containers at once race for StartTransientUnit; the
    /// loser finds the slice there (UnitExists) and sets the properties on it.
    pub fn set_up_slice(&self, plan: &SlicePlan) -> Result<(), SystemdError> {
        let unit = &plan.unit;
        let active = self
            .unit_status(unit)?
            .is_some_and(|s| !matches!(s.active_state.as_str(), "inactive" | "failed"));
        if !active {
            let mut properties = vec![Property {
                name: "Description",
                value: PropertyValue::Str(plan.description.clone()),
            }];
            properties.extend(plan.properties.iter().cloned());
            self.subscribe(unit)?;
            let properties = to_dbus(&properties);
            let started = job::queue(&self.manager, "StartTransientUnit", unit, || {
                self.manager
                    .start_transient_unit(unit, "fail", &properties, &[])
            })
            .and_then(|job| job.finish(Some(START_TIMEOUT)));
            match started {
                Ok(()) => return Ok(()),
                Err(e) if e.dbus_error_name() == Some("org.freedesktop.systemd1.UnitExists") => {}
                Err(e) => return Err(e),
            }
        }
        self.set_unit_properties(unit, true, &plan.properties)
    }

    /// Stops a unit and waits for the stop job, then until the unit is inactive or gone. A
    /// unit that is not loaded is already stopped: Ok.
    ///
    /// The wait is bounded by the unit's TimeoutStopUSec: systemd sends SIGKILL after it and
    /// gives up after it once more.
    pub fn stop_unit(&self, unit: &str) -> Result<(), SystemdError> {
        self.stop(unit, None)
    }

    /// Stops a unit like [`Systemd::stop_unit`], but sends SIGKILL to what is left of it
    /// after `timeout` rather than after its TimeoutStopUSec: `berth stop --timeout`.
    ///
    /// Setting TimeoutStopUSec first does not work: systemd (252 here) accepts it only while
    /// creating a scope, and refuses it in SetUnitProperties on a running one
    /// (`org.freedesktop.DBus.Error.PropertyReadOnly`).
    pub fn stop_unit_within(&self, unit: &str, timeout: Duration) -> Result<(), SystemdError> {
        self.stop(unit, Some(timeout))
    }

    fn stop(&self, unit: &str, kill_after: Option<Duration>) -> Result<(), SystemdError> {
        let Some(path) = self.unit_path(unit)? else {
            return Ok(());
        };
        let timeout_stop_usec = match type_interface(unit) {
            Some(interface) => {
                self.type_properties(&path, unit, interface)?
                    .timeout_stop_usec
            }
            None => None,
        };
        self.subscribe(unit)?;
        let queued = job::queue(&self.manager, "StopUnit", unit, || {
            self.manager.stop_unit(unit, "replace")
        });
        let job = match queued {
            Ok(job) => job,
            // It went away between GetUnit and StopUnit.
            Err(SystemdError::Call { source, .. }) if is_no_such_unit(&source) => return Ok(()),
            Err(e) => return Err(e),
        };
        let limit = stop_job_timeout(timeout_stop_usec);
        match kill_after {
            None => job.finish(limit)?,
            Some(timeout) => match job.ended_within(timeout) {
                Some(ended) => ended?,
                None => {
                    match self.kill_unit(unit, Signal::SIGKILL as i32) {
                        // It ended meanwhile.
                        Err(SystemdError::Call { source, .. }) if is_no_such_unit(&source) => {}
                        other => other?,
                    }
                    // SIGKILL cannot be caught: what remains is systemd noticing.
                    job.finish(Some(STOP_MARGIN))?
                }
            },
        }
        self.wait_settled(unit)
    }

    /// Sends `signal` to every process of the unit (`whom` "all": not only the main one).
    pub fn kill_unit(&self, unit: &str, signal: i32) -> Result<(), SystemdError> {
        self.manager
            .kill_unit(unit, "all", signal)
            .map_err(call_err("KillUnit", unit))
    }

    /// Freezes every process of the unit with the cgroup v2 freezer; returns once they are
    /// frozen.
    pub fn freeze_unit(&self, unit: &str) -> Result<(), SystemdError> {
        self.manager
            .freeze_unit(unit)
            .map_err(call_err("FreezeUnit", unit))
    }

    /// Thaws what [`Systemd::freeze_unit`] froze; returns once the processes run again.
    pub fn thaw_unit(&self, unit: &str) -> Result<(), SystemdError> {
        self.manager
            .thaw_unit(unit)
            .map_err(call_err("ThawUnit", unit))
    }

    /// Changes properties of a loaded unit, as `systemctl set-property` does; `runtime`: until
    /// the next reboot only (what berth wants for transient units). A running scope takes
    /// only resource-control properties (MemoryMax, TasksMax, CPUQuotaPerSecUSec, ...);
    /// systemd refuses the others, TimeoutStopUSec among them, with PropertyReadOnly.
    pub fn set_unit_properties(
        &self,
        unit: &str,
        runtime: bool,
        props: &[Property],
    ) -> Result<(), SystemdError> {
        self.manager
            .set_unit_properties(unit, runtime, &to_dbus(props))
            .map_err(call_err("SetUnitProperties", unit))
    }

    /// Moves processes into the unit's own cgroup (not a sub-cgroup of it).
    pub fn attach_processes(
        &self,
        unit: &str,
        subcgroup: &str,
        pids: &[u32],
    ) -> Result<(), SystemdError> {
        self.manager
            .attach_processes_to_unit(unit, subcgroup, pids)
            .map_err(call_err("AttachProcessesToUnit", unit))
    }

    /// Abandons a scope: systemd stops managing its processes, and the scope ends when they
    /// have.
    pub fn abandon_scope(&self, unit: &str) -> Result<(), SystemdError> {
        self.manager
            .abandon_scope(unit)
            .map_err(call_err("AbandonScope", unit))
    }

    /// The TasksMax systemd gives a unit that sets none (DefaultTasksMax, by default 15% of
    /// the kernel's PID limit): what a scope goes back to when its limit is removed.
    pub fn default_tasks_max(&self) -> Result<u64, SystemdError> {
        self.manager.default_tasks_max().map_err(call_err(
            "Get",
            "org.freedesktop.systemd1.Manager.DefaultTasksMax",
        ))
    }

    /// A host service as systemd loads it (loading it if needed), for `berth create
    /// --from-unit`; None when systemd finds no such unit.
    pub fn host_unit(&self, unit: &str) -> Result<Option<HostUnit>, SystemdError> {
        let path = self
            .manager
            .load_unit(unit)
            .map_err(call_err("LoadUnit", unit))?;
        let object = self.unit_object(&path, unit)?;
        let files = object
            .unit_files("org.freedesktop.systemd1.Unit")
            .map_err(call_err("GetAll", unit))?;
        if matches!(files.load_state.as_str(), "not-found" | "masked") {
            return Ok(None);
        }
        let service = object
            .service_properties("org.freedesktop.systemd1.Service")
            .map_err(call_err("GetAll", unit))?;
        Ok(Some(HostUnit::new(files, service)))
    }

    /// The unit's state, or None when systemd has no such unit loaded.
    pub fn unit_status(&self, unit: &str) -> Result<Option<UnitStatus>, SystemdError> {
        match self.unit_path(unit)? {
            Some(path) => self.status_at(&path, unit),
            None => Ok(None),
        }
    }

    /// Every loaded unit whose name matches the shell glob `pattern` (e.g. "berth-*.scope"),
    /// sorted by name.
    pub fn list_units(&self, pattern: &str) -> Result<Vec<UnitStatus>, SystemdError> {
        let listed = self
            .manager
            .list_units_by_patterns(&[], &[pattern])
            .map_err(call_err("ListUnitsByPatterns", pattern))?;
        let mut units = Vec::with_capacity(listed.len());
        for (name, _, _, _, _, _, path, ..) in listed {
            // A unit listed a moment ago may be gone already.
            if let Some(status) = self.status_at(&path, &name)? {
                units.push(status);
            }
        }
        units.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(units)
    }

    fn subscribe(&self, unit: &str) -> Result<(), SystemdError> {
        if self.subscribed.load(Ordering::Relaxed) {
            return Ok(());
        }
        match self.manager.subscribe() {
            Ok(()) => {}
            Err(e) if error_name(&e) == Some("org.freedesktop.systemd1.AlreadySubscribed") => {}
            Err(source) => return Err(SystemdError::call("Subscribe", unit, source)),
        }
        self.subscribed.store(true, Ordering::Relaxed);
        Ok(())
    }

    fn unit_path(&self, unit: &str) -> Result<Option<OwnedObjectPath>, SystemdError> {
        match self.manager.get_unit(unit) {
            Ok(path) => Ok(Some(path)),
            Err(e) if is_no_such_unit(&e) => Ok(None),
            Err(source) => Err(SystemdError::call("GetUnit", unit, source)),
        }
    }

    fn unit_object(
        &self,
        path: &OwnedObjectPath,
        unit: &str,
    ) -> Result<UnitObjectProxyBlocking<'static>, SystemdError> {
        UnitObjectProxyBlocking::builder(&self.connection)
            .path(path.clone())
            .and_then(|b| b.cache_properties(CacheProperties::No).build())
            .map_err(call_err("GetAll", unit))
    }

    /// The unit's common properties; None if it has been unloaded meanwhile.
    fn unit_properties(
        &self,
        path: &OwnedObjectPath,
        unit: &str,
    ) -> Result<Option<UnitProperties>, SystemdError> {
        let props = self
            .unit_object(path, unit)?
            .unit_properties("org.freedesktop.systemd1.Unit");
        match props {
            // systemd answers for a unit path that is no longer loaded by loading the name
            // afresh, which finds nothing for a transient unit.
            Ok(p) if p.load_state == "not-found" => Ok(None),
            Ok(p) => Ok(Some(p)),
            Err(e) if error_name(&e) == Some("org.freedesktop.DBus.Error.UnknownObject") => {
                Ok(None)
            }
            Err(source) => Err(SystemdError::call("GetAll", unit, source)),
        }
    }

    fn type_properties(
        &self,
        path: &OwnedObjectPath,
        unit: &str,
        interface: &str,
    ) -> Result<TypeProperties, SystemdError> {
        self.unit_object(path, unit)?
            .type_properties(interface)
            .map_err(call_err("GetAll", unit))
    }

    fn status_at(
        &self,
        path: &OwnedObjectPath,
        unit: &str,
    ) -> Result<Option<UnitStatus>, SystemdError> {
        let Some(common) = self.unit_properties(path, unit)? else {
            return Ok(None);
        };
        let of_type = match type_interface(unit) {
            Some(interface) => self.type_properties(path, unit, interface)?,
            None => TypeProperties::default(),
        };
        Ok(Some(UnitStatus::new(common, of_type)))
    }

    /// After a stop job: the unit is normally inactive (or collected) already; this catches
    /// a start queued right behind the stop, which would leave it running.
    fn wait_settled(&self, unit: &str) -> Result<(), SystemdError> {
        let deadline = Instant::now() + SETTLE_TIMEOUT;
        loop {
            let active = match self.unit_path(unit)? {
                None => false,
                Some(path) => self
                    .unit_properties(&path, unit)?
                    .is_some_and(|p| !matches!(p.active_state.as_str(), "inactive" | "failed")),
            };
            if !active {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(SystemdError::Timeout {
                    op: "StopUnit",
                    unit: unit.to_owned(),
                    after: SETTLE_TIMEOUT,
                });
            }
            sleep(SETTLE_POLL);
        }
    }
}

fn call_err<'u>(op: &'static str, unit: &'u str) -> impl FnOnce(zbus::Error) -> SystemdError + 'u {
    move |source| SystemdError::call(op, unit, source)
}

fn connect_err(source: zbus::Error) -> SystemdError {
    SystemdError::Connect {
        source: Box::new(source),
    }
}

/// How long to wait for a stop job. systemd sends the stop signal, waits TimeoutStopUSec,
/// sends SIGKILL, waits TimeoutStopUSec again, then gives up on the processes: twice the
/// timeout bounds the job. An infinite timeout (u64::MAX) makes systemd wait for ever, and
/// berth with it.
fn stop_job_timeout(timeout_stop_usec: Option<u64>) -> Option<Duration> {
    let per_signal = match timeout_stop_usec {
        Some(u64::MAX) => return None,
        Some(usec) => Duration::from_micros(usec),
        None => DEFAULT_STOP_TIMEOUT,
    };
    Some(per_signal.saturating_mul(2).saturating_add(STOP_MARGIN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_waits_for_sigterm_and_sigkill_timeouts() {
        assert_eq!(
            stop_job_timeout(Some(5_000_000)),
            Some(Duration::from_secs(40))
        );
        assert_eq!(stop_job_timeout(None), Some(Duration::from_secs(210)));
        assert_eq!(stop_job_timeout(Some(u64::MAX)), None);
    }
}
