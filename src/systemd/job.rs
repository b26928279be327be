//! Waiting for systemd jobs: a job-returning call only queues the job, and its outcome comes
//! later in the Manager's JobRemoved signal (what nspawn's and crun's systemd code wait for).

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use zbus::zvariant::OwnedObjectPath;

use super::error::SystemdError;
use super::proxies::ManagerProxyBlocking;

/// What a job's JobRemoved said, or why none came.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Removed(String),
    /// The signal stream ended: the bus connection is gone.
    Disconnected,
    TimedOut,
}

/// A job systemd has queued, whose JobRemoved has not been read yet.
pub(super) struct Job {
    op: &'static str,
    unit: String,
    removed: mpsc::Receiver<Option<String>>,
}

/// Runs `call`, which queues a job, with a JobRemoved match registered before it: a job can
/// finish before its method reply is read, and a signal that arrives before the match exists
/// is never delivered.
///
/// The match is for this unit's jobs alone (arg2, the unit name), filtered by the bus: zbus
/// reads the socket in one task that waits while a signal stream's queue is full, and the
/// stream is not read until the call returns, so with every JobRemoved of the host (a hundred
/// containers stopping at once) the queue filled, the call's reply was never read, and berth
/// hung in StopUnit.
pub(super) fn queue(
    manager: &ManagerProxyBlocking<'static>,
    op: &'static str,
    unit: &str,
    call: impl FnOnce() -> zbus::Result<OwnedObjectPath>,
) -> Result<Job, SystemdError> {
    let call_err = |source| SystemdError::call(op, unit, source);
    let signals = manager
        .receive_job_removed_with_args(&[(2, unit)])
        .map_err(call_err)?;
    let job = call().map_err(call_err)?;

    // The blocking signal iterator cannot time out, so a thread reads it and the timeout is
    // the channel's. After a timeout that thread stays blocked until the process exits,
    // which for a short-lived CLI is the next thing that happens.
    let (tx, removed) = mpsc::sync_channel(1);
    thread::Builder::new()
        .name("berth-job-wait".into())
        .spawn(move || {
            let result = signals
                .filter_map(|signal| {
                    let args = signal.args().ok()?;
                    (*args.job() == job).then(|| args.result().clone())
                })
                .next();
            let _ = tx.send(result);
        })
        .map_err(|e| call_err(zbus::Error::InputOutput(e.into())))?;
    Ok(Job {
        op,
        unit: unit.to_owned(),
        removed,
    })
}

impl Job {
    fn receive(&self, timeout: Option<Duration>) -> Outcome {
        let received = match timeout {
            Some(t) => self.removed.recv_timeout(t),
            None => self
                .removed
                .recv()
                .map_err(|_| mpsc::RecvTimeoutError::Disconnected),
        };
        match received {
            Ok(Some(result)) => Outcome::Removed(result),
            // The stream ended, or the reading thread died with it.
            Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => Outcome::Disconnected,
            Err(mpsc::RecvTimeoutError::Timeout) => Outcome::TimedOut,
        }
    }

    /// The job's result if it ends within `timeout`; None while it is still running.
    pub(super) fn ended_within(&self, timeout: Duration) -> Option<Result<(), SystemdError>> {
        match self.receive(Some(timeout)) {
            Outcome::TimedOut => None,
            outcome => Some(judge(self.op, &self.unit, Some(timeout), outcome)),
        }
    }

    /// Waits at most `timeout` (None: as long as systemd takes) for the job to end; Ok only
    /// for the result "done".
    pub(super) fn finish(self, timeout: Option<Duration>) -> Result<(), SystemdError> {
        judge(self.op, &self.unit, timeout, self.receive(timeout))
    }
}

fn judge(
    op: &'static str,
    unit: &str,
    timeout: Option<Duration>,
    outcome: Outcome,
) -> Result<(), SystemdError> {
    let unit = unit.to_owned();
    match outcome {
        Outcome::Removed(result) if result == "done" => Ok(()),
        Outcome::Removed(result) => Err(SystemdError::JobFailed { op, unit, result }),
        Outcome::Disconnected => Err(SystemdError::call(
            op,
            &unit,
            zbus::Error::InputOutput(
                std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    "the bus connection closed while waiting for the job",
                )
                .into(),
            ),
        )),
        Outcome::TimedOut => Err(SystemdError::Timeout {
            op,
            unit,
            after: timeout.unwrap_or_default(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_done_is_success() {
        let t = Some(Duration::from_secs(30));
        assert!(judge("StopUnit", "u.scope", t, Outcome::Removed("done".into())).is_ok());
        for result in ["failed", "dependency", "canceled", "timeout", "skipped"] {
            let e = judge(
                "StartTransientUnit",
                "u.scope",
                t,
                Outcome::Removed(result.into()),
            )
            .unwrap_err();
            assert!(
                matches!(&e, SystemdError::JobFailed { result: r, .. } if r == result),
                "{e:?}"
            );
        }
        assert_eq!(
            judge("StopUnit", "u.scope", t, Outcome::Disconnected)
                .unwrap_err()
                .to_string(),
            "StopUnit u.scope: I/O error: the bus connection closed while waiting for the job"
        );
        assert!(matches!(
            judge("StopUnit", "u.scope", t, Outcome::TimedOut),
            Err(SystemdError::Timeout { after, .. }) if after == Duration::from_secs(30)
        ));
    }
}
