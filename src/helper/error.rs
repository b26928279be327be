//! The helper's errors: which setup step failed, and what failed in it (the operation, the
//! path where there is one, and the system's error). berth shows them as
//! `STEP: MESSAGE`, from the `error` event.

use std::borrow::Cow;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

/// A setup step, by the name berth shows for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    ReadPlan,
    Cgroups,
    ExitRecord,
    Root,
    Namespaces,
    Fork,
    UserNamespace,
    IdmappedMounts,
    Boot,
    Console,
    Stdio,
    Journal,
    Signals,
    Hostname,
    Network,
    Init,
    PrivateMounts,
    BindMount,
    ReadOnlyMount,
    ReadOnlyPath,
    VolatileEtc,
    Tmpfs,
    Symlink,
    Proc,
    Sysfs,
    Dev,
    MaskedPath,
    WriteFile,
    PivotRoot,
    User,
    WorkingDirectory,
    Capabilities,
    Selinux,
    NoNewPrivs,
    Seccomp,
    Exec,
    Streams,
    Wait,
}

impl Step {
    const ALL: [Step; 38] = [
        Step::ReadPlan,
        Step::Cgroups,
        Step::ExitRecord,
        Step::Root,
        Step::Namespaces,
        Step::Fork,
        Step::UserNamespace,
        Step::IdmappedMounts,
        Step::Boot,
        Step::Console,
        Step::Stdio,
        Step::Journal,
        Step::Signals,
        Step::Hostname,
        Step::Network,
        Step::Init,
        Step::PrivateMounts,
        Step::BindMount,
        Step::ReadOnlyMount,
        Step::ReadOnlyPath,
        Step::VolatileEtc,
        Step::Tmpfs,
        Step::Symlink,
        Step::Proc,
        Step::Sysfs,
        Step::Dev,
        Step::MaskedPath,
        Step::WriteFile,
        Step::PivotRoot,
        Step::User,
        Step::WorkingDirectory,
        Step::Capabilities,
        Step::Selinux,
        Step::NoNewPrivs,
        Step::Seccomp,
        Step::Exec,
        Step::Streams,
        Step::Wait,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Step::ReadPlan => "read plan",
            Step::Cgroups => "cgroups",
            Step::ExitRecord => "exit record",
            Step::Root => "root",
            Step::Namespaces => "namespaces",
            Step::Fork => "fork",
            Step::UserNamespace => "user namespace",
            Step::IdmappedMounts => "idmapped mounts",
            Step::Boot => "boot",
            Step::Console => "console",
            Step::Stdio => "stdio",
            Step::Journal => "journal",
            Step::Signals => "signals",
            Step::Hostname => "hostname",
            Step::Network => "network",
            Step::Init => "init",
            Step::PrivateMounts => "private mounts",
            Step::BindMount => "bind mount",
            Step::ReadOnlyMount => "read-only mount",
            Step::ReadOnlyPath => "read-only path",
            Step::VolatileEtc => "volatile /etc",
            Step::Tmpfs => "tmpfs",
            Step::Symlink => "symlink",
            Step::Proc => "proc",
            Step::Sysfs => "sysfs",
            Step::Dev => "dev",
            Step::MaskedPath => "masked path",
            Step::WriteFile => "write file",
            Step::PivotRoot => "pivot_root",
            Step::User => "user",
            Step::WorkingDirectory => "working directory",
            Step::Capabilities => "capabilities",
            Step::Selinux => "selinux",
            Step::NoNewPrivs => "no_new_privs",
            Step::Seccomp => "seccomp",
            Step::Exec => "exec",
            Step::Streams => "streams",
            Step::Wait => "wait",
        }
    }

    pub fn from_name(name: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.name() == name)
    }

    /// For `map_err`: `cannot OP PATH: ERROR`.
    pub fn on<'a, E: Into<Cause>>(
        self,
        op: impl Into<Cow<'static, str>>,
        path: &'a Path,
    ) -> impl FnOnce(E) -> StepError + 'a {
        let op = op.into();
        self.failing(move |source| Failure::OnPath {
            op,
            path: path.to_owned(),
            source,
        })
    }

    /// For `map_err`: `cannot OP: ERROR`, for what is done on no path.
    pub fn call<E: Into<Cause>>(
        self,
        op: impl Into<Cow<'static, str>>,
    ) -> impl FnOnce(E) -> StepError {
        let op = op.into();
        self.failing(move |source| Failure::Call { op, source })
    }

    /// For `map_err`: `CALL: ERROR`, a system call named with its argument.
    pub fn syscall<E: Into<Cause>>(
        self,
        call: impl Into<Cow<'static, str>>,
    ) -> impl FnOnce(E) -> StepError {
        let call = call.into();
        self.failing(move |source| Failure::Syscall { call, source })
    }

    fn failing<'a, E: Into<Cause>>(
        self,
        failure: impl FnOnce(Cause) -> Failure + 'a,
    ) -> impl FnOnce(E) -> StepError + 'a {
        move |e| StepError {
            step: self,
            failure: failure(e.into()),
        }
    }

    /// For `map_err`: an error of berth's own code that already says what and where.
    pub fn nested<E: std::error::Error + Send + Sync + 'static>(self, e: E) -> StepError {
        StepError {
            step: self,
            failure: Failure::Nested(Box::new(e)),
        }
    }

    /// Something found wrong, with no system error behind it.
    pub fn refused(self, message: impl Into<String>) -> StepError {
        StepError {
            step: self,
            failure: Failure::Refused(message.into()),
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The system's error behind a failure, shown as its library shows it.
#[derive(Debug, thiserror::Error)]
pub enum Cause {
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error(transparent)]
    Errno(#[from] Errno),
    #[error(transparent)]
    Caps(#[from] caps::errors::CapsError),
    #[error(transparent)]
    Seccomp(#[from] libseccomp::error::SeccompError),
    #[error(transparent)]
    Selinux(#[from] ::selinux::errors::Error),
}

/// What failed in a step.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// An operation on a path.
    #[error("cannot {op} {}: {source}", path.display())]
    OnPath {
        op: Cow<'static, str>,
        path: PathBuf,
        source: Cause,
    },
    /// An operation on no path (a fork, a pipe, a signal mask, the process's credentials).
    #[error("cannot {op}: {source}")]
    Call {
        op: Cow<'static, str>,
        source: Cause,
    },
    /// A system call, named with its argument.
    #[error("{call}: {source}")]
    Syscall {
        call: Cow<'static, str>,
        source: Cause,
    },
    /// An error of berth's own code, which says the operation and the path itself.
    #[error(transparent)]
    Nested(Box<dyn std::error::Error + Send + Sync>),
    /// Something found wrong with no system error behind it, or a message the payload sent
    /// back across its exec pipe.
    #[error("{0}")]
    Refused(String),
}

/// A failed setup step: which one, and what failed in it.
#[derive(Debug, thiserror::Error)]
#[error("{step}: {failure}")]
pub struct StepError {
    pub step: Step,
    #[source]
    pub failure: Failure,
}

impl StepError {
    /// The message of the `error` event: what failed, without the step.
    pub fn message(&self) -> String {
        self.failure.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_found_by_name() {
        for step in Step::ALL {
            assert_eq!(Step::from_name(step.name()), Some(step));
        }
        assert_eq!(Step::from_name("no such step"), None);
    }

    #[test]
    fn messages_name_the_operation_the_path_and_the_error() {
        let e = Step::Dev.on("create", Path::new("/dev/null"))(Errno::EEXIST);
        assert_eq!(e.message(), "cannot create /dev/null: EEXIST: File exists");
        assert_eq!(
            e.to_string(),
            "dev: cannot create /dev/null: EEXIST: File exists"
        );
        let e = Step::Fork.call("fork the payload")(Errno::EAGAIN);
        assert_eq!(e.message(), "cannot fork the payload: EAGAIN: Try again");
        assert!(std::error::Error::source(&e).is_some());
    }
}
