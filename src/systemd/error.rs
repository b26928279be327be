//! What can go wrong talking to systemd and machined, each error naming the operation, the
//! unit or machine, and the D-Bus error as systemd said it (which is what one can search for).

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum SystemdError {
    #[error("cannot connect to the D-Bus system bus: {}", describe(.source))]
    Connect { source: Box<zbus::Error> },

    /// systemd (or the bus) refused a call, e.g. `org.freedesktop.systemd1.UnitExists`.
    #[error("{op} {unit}: {}", describe(.source))]
    Call {
        op: &'static str,
        unit: String,
        // Boxed: zbus::Error is large, and these travel up every Result of the caller.
        source: Box<zbus::Error>,
    },

    /// A scope plan without processes: systemd would refuse it with a message about failing
    /// to load the unit, which hides the actual mistake.
    #[error("StartTransientUnit {unit}: the plan names no processes (PIDs) for the scope")]
    NoPids { unit: String },

    /// The call was accepted, but its job ended with another result than "done": "failed",
    /// "dependency" (a slice could not start), "canceled", "timeout", ...
    #[error("{op} {unit}: the job ended with result \"{result}\"")]
    JobFailed {
        op: &'static str,
        unit: String,
        result: String,
    },

    /// No JobRemoved for the job (or the unit did not become inactive) in time.
    #[error("{op} {unit}: no result from systemd within {} s", .after.as_secs())]
    Timeout {
        op: &'static str,
        unit: String,
        after: Duration,
    },
}

impl SystemdError {
    pub(super) fn call(op: &'static str, unit: &str, source: zbus::Error) -> Self {
        SystemdError::Call {
            op,
            unit: unit.to_owned(),
            source: Box::new(source),
        }
    }

    /// The D-Bus error name systemd answered with, e.g. `org.freedesktop.systemd1.UnitExists`.
    pub fn dbus_error_name(&self) -> Option<&str> {
        match self {
            SystemdError::Connect { source } | SystemdError::Call { source, .. } => {
                error_name(source)
            }
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MachinedError {
    /// machined is not installed or would not start: callers warn and carry on without it.
    #[error("{op} {machine}: systemd-machined is not available: {}", describe(.source))]
    Unavailable {
        op: &'static str,
        machine: String,
        // Boxed: zbus::Error is large, and these travel up every Result of the caller.
        source: Box<zbus::Error>,
    },

    #[error("{op} {machine}: {}", describe(.source))]
    Call {
        op: &'static str,
        machine: String,
        // Boxed: zbus::Error is large, and these travel up every Result of the caller.
        source: Box<zbus::Error>,
    },
}

impl MachinedError {
    /// Sorts a failed machined call: a service that cannot be reached is `Unavailable`.
    pub(super) fn from_call(op: &'static str, machine: &str, source: zbus::Error) -> Self {
        let machine = machine.to_owned();
        let source = Box::new(source);
        if error_name(&source).is_some_and(means_service_unavailable) {
            MachinedError::Unavailable {
                op,
                machine,
                source,
            }
        } else {
            MachinedError::Call {
                op,
                machine,
                source,
            }
        }
    }

    pub fn dbus_error_name(&self) -> Option<&str> {
        match self {
            MachinedError::Unavailable { source, .. } | MachinedError::Call { source, .. } => {
                error_name(source)
            }
        }
    }
}

/// The errors with which dbus-daemon (and systemd, which activates services for it) answer a
/// call to a service that is not installed, masked, or fails to start.
fn means_service_unavailable(name: &str) -> bool {
    matches!(
        name,
        "org.freedesktop.DBus.Error.ServiceUnknown"
            | "org.freedesktop.DBus.Error.NameHasNoOwner"
            | "org.freedesktop.systemd1.NoSuchUnit"
            | "org.freedesktop.systemd1.UnitMasked"
    ) || name.starts_with("org.freedesktop.DBus.Error.Spawn.")
}

/// A D-Bus error as "Name: message"; anything else as zbus says it.
pub(super) fn describe(e: &zbus::Error) -> String {
    match e {
        zbus::Error::MethodError(name, Some(msg), _) => format!("{name}: {msg}"),
        zbus::Error::MethodError(name, None, _) => name.to_string(),
        other => other.to_string(),
    }
}

pub(super) fn error_name(e: &zbus::Error) -> Option<&str> {
    match e {
        zbus::Error::MethodError(name, _, _) => Some(name.as_str()),
        _ => None,
    }
}

/// Whether systemd answered that it has no such unit loaded.
pub(super) fn is_no_such_unit(e: &zbus::Error) -> bool {
    error_name(e) == Some("org.freedesktop.systemd1.NoSuchUnit")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_and_timeout_errors_name_operation_unit_and_outcome() {
        let failed = SystemdError::JobFailed {
            op: "StartTransientUnit",
            unit: "berth-web.scope".into(),
            result: "dependency".into(),
        };
        assert_eq!(
            failed.to_string(),
            "StartTransientUnit berth-web.scope: the job ended with result \"dependency\""
        );
        let timeout = SystemdError::Timeout {
            op: "StopUnit",
            unit: "berth-web.scope".into(),
            after: Duration::from_secs(30),
        };
        assert_eq!(
            timeout.to_string(),
            "StopUnit berth-web.scope: no result from systemd within 30 s"
        );
        assert_eq!(timeout.dbus_error_name(), None);
    }

    /// An error reply as the bus delivers it.
    fn method_error(name: &str, text: &str) -> zbus::Error {
        let call = zbus::Message::method_call("/org/freedesktop/systemd1", "StartTransientUnit")
            .unwrap()
            .build(&())
            .unwrap();
        let reply = zbus::Message::error(&call.header(), name)
            .unwrap()
            .build(&text)
            .unwrap();
        zbus::Error::from(reply)
    }

    #[test]
    fn refusals_carry_the_dbus_error_name_and_message() {
        let e = SystemdError::Call {
            op: "StartTransientUnit",
            unit: "berth-web.scope".into(),
            source: Box::new(method_error(
                "org.freedesktop.systemd1.UnitExists",
                "Unit berth-web.scope already exists.",
            )),
        };
        assert_eq!(
            e.to_string(),
            "StartTransientUnit berth-web.scope: org.freedesktop.systemd1.UnitExists: \
             Unit berth-web.scope already exists."
        );
        assert_eq!(
            e.dbus_error_name(),
            Some("org.freedesktop.systemd1.UnitExists")
        );

        let gone = MachinedError::from_call(
            "RegisterMachine",
            "web",
            method_error(
                "org.freedesktop.DBus.Error.ServiceUnknown",
                "The name org.freedesktop.machine1 was not provided by any .service files",
            ),
        );
        assert!(
            matches!(gone, MachinedError::Unavailable { .. }),
            "{gone:?}"
        );
        assert_eq!(
            gone.to_string(),
            "RegisterMachine web: systemd-machined is not available: \
             org.freedesktop.DBus.Error.ServiceUnknown: \
             The name org.freedesktop.machine1 was not provided by any .service files"
        );
        let refused = MachinedError::from_call(
            "RegisterMachine",
            "web",
            method_error(
                "org.freedesktop.DBus.Error.InvalidArgs",
                "Invalid machine name",
            ),
        );
        assert_eq!(
            refused.to_string(),
            "RegisterMachine web: org.freedesktop.DBus.Error.InvalidArgs: Invalid machine name"
        );
    }

    #[test]
    fn io_errors_read_as_zbus_says_them() {
        let e = SystemdError::Connect {
            source: Box::new(zbus::Error::InputOutput(std::sync::Arc::new(
                std::io::Error::from(std::io::ErrorKind::NotFound),
            ))),
        };
        assert_eq!(
            e.to_string(),
            "cannot connect to the D-Bus system bus: I/O error: entity not found"
        );
        assert_eq!(e.dbus_error_name(), None);
    }

    #[test]
    fn unavailable_machined_is_told_apart_from_a_refusal() {
        for name in [
            "org.freedesktop.DBus.Error.ServiceUnknown",
            "org.freedesktop.DBus.Error.NameHasNoOwner",
            "org.freedesktop.DBus.Error.Spawn.ChildExited",
            "org.freedesktop.systemd1.NoSuchUnit",
            "org.freedesktop.systemd1.UnitMasked",
        ] {
            assert!(means_service_unavailable(name), "{name}");
        }
        for name in [
            "org.freedesktop.machine1.NoSuchMachine",
            "org.freedesktop.DBus.Error.InvalidArgs",
            "org.freedesktop.DBus.Error.AccessDenied",
            "org.freedesktop.DBus.Error.SpawnOther",
        ] {
            assert!(!means_service_unavailable(name), "{name}");
        }
    }
}
