//! berth's side of the helper protocol ([`super::protocol`]): starts the helper held, releases
//! it, and reads its report.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::protocol::{Event, HelperCommand, CONTROL_FD, GO, STATUS_FD};

#[derive(Debug, thiserror::Error)]
pub enum HelperError {
    #[error("cannot start the helper {path}: {source}")]
    Spawn {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{step}: {message}")]
    Setup { step: String, message: String },
    #[error("the helper ended without building the container ({status})")]
    Died { status: ExitStatus },
    #[error("the helper did not finish building the container within {} s", .0.as_secs())]
    Timeout(Duration),
    #[error("cannot talk to the helper: {0}")]
    Io(#[from] std::io::Error),
}

/// What a finished setup reports.
#[derive(Debug)]
pub struct Started {
    pub leader_pid: u32,
    pub warnings: Vec<String>,
}

/// `BERTH_HELPER`, else `berth-helper` next to this program, else `../libexec/berth/` from it
/// (a /usr/local install), else /usr/libexec/berth/berth-helper.
pub fn helper_path() -> PathBuf {
    if let Some(p) = std::env::var_os("BERTH_HELPER") {
        return p.into();
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_owned))
    {
        for candidate in [
            dir.join("berth-helper"),
            dir.join("../libexec/berth/berth-helper"),
        ] {
            if candidate.is_file() {
                return candidate.canonicalize().unwrap_or(candidate);
            }
        }
    }
    PathBuf::from("/usr/libexec/berth/berth-helper")
}

pub struct HeldHelper {
    child: Child,
    control: Option<File>,
    status: Option<File>,
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(std::io::Error::from)
}

impl HeldHelper {
    fn spawn(
        helper: &Path,
        command: &HelperCommand,
        inherit_stdio: bool,
    ) -> Result<HeldHelper, HelperError> {
        let spawn_err = |source| HelperError::Spawn {
            path: helper.to_owned(),
            source,
        };
        let (control_read, control_write) = pipe().map_err(spawn_err)?;
        let (status_read, status_write) = pipe().map_err(spawn_err)?;
        let (c, s) = (control_read.as_raw_fd(), status_write.as_raw_fd());
        // The helper inherits berth's environment, so that BERTH_FAULT arms its fault points
        // (src/fault.rs) as it does berth's.
        let mut cmd = Command::new(helper);
        cmd.args(command.to_args());
        if !inherit_stdio {
            cmd.stdin(Stdio::null()).stdout(Stdio::null());
        }
        // SAFETY: the closure runs in the child between fork and exec and only calls dup2,
        // which is async-signal-safe; `c` and `s` are open in the parent until spawn returns.
        // dup2 onto the protocol's fds clears their close-on-exec flag, so the helper gets
        // exactly those two ends.
        unsafe {
            cmd.pre_exec(move || {
                if libc::dup2(c, CONTROL_FD) < 0 || libc::dup2(s, STATUS_FD) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(spawn_err)?;
        drop((control_read, status_write));
        Ok(HeldHelper {
            child,
            control: Some(File::from(control_write)),
            status: Some(File::from(status_read)),
        })
    }

    /// The helper for `berth start`, held.
    pub fn spawn_init(helper: &Path, plan: &Path) -> Result<HeldHelper, HelperError> {
        let command = HelperCommand::Init {
            plan: plan.to_owned(),
        };
        Self::spawn(helper, &command, false)
    }

    /// The helper for `berth exec`, held; it runs on the caller's terminal.
    pub fn spawn_enter(
        helper: &Path,
        plan: &Path,
        leader: u32,
        argv: &[String],
    ) -> Result<HeldHelper, HelperError> {
        let command = HelperCommand::Enter {
            plan: plan.to_owned(),
            leader,
            argv: argv.to_vec(),
        };
        Self::spawn(helper, &command, true)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn go(&mut self) -> Result<(), HelperError> {
        let mut control = self
            .control
            .take()
            .ok_or_else(|| std::io::Error::other("released twice"))?;
        control.write_all(&[GO])?;
        Ok(())
    }

    /// Lets the helper build the container and waits for its report.
    pub fn release(mut self, timeout: Duration) -> Result<Started, HelperError> {
        self.go()?;
        let status = self
            .status
            .take()
            .ok_or_else(|| std::io::Error::other("no status pipe"))?;
        // Lines are read on a thread so that the wait can time out.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(status).lines() {
                let event = line.ok().and_then(|l| Event::parse(&l));
                if tx.send(event).is_err() {
                    return;
                }
            }
            let _ = tx.send(None);
        });
        let mut leader = None;
        let mut warnings = Vec::new();
        let mut exec = false;
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(Some(Event::Leader { pid })) => leader = Some(pid),
                Ok(Some(Event::Warning { message })) => warnings.push(message),
                Ok(Some(Event::Ready)) => {
                    let _ = self.child.wait();
                    return match leader {
                        Some(leader_pid) => Ok(Started {
                            leader_pid,
                            warnings,
                        }),
                        None => Err(HelperError::Setup {
                            step: "report".into(),
                            message: "the helper said ready without naming the container's PID 1"
                                .into(),
                        }),
                    };
                }
                Ok(Some(Event::Exec)) => exec = true,
                Ok(Some(Event::Error { step, message })) => {
                    let _ = self.child.wait();
                    return Err(HelperError::Setup { step, message });
                }
                // Boot mode: the exec of the container's init closed the pipe. The helper lives
                // on as the container's supervisor.
                Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) if exec => {
                    return leader
                        .map(|leader_pid| Started {
                            leader_pid,
                            warnings,
                        })
                        .ok_or_else(|| HelperError::Setup {
                            step: "report".into(),
                            message:
                                "the helper started an init without naming the container's PID 1"
                                    .into(),
                        });
                }
                Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait()?;
                    return Err(HelperError::Died { status });
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return Err(HelperError::Timeout(timeout));
                }
            }
        }
    }

    /// Tells the held helper to exit without doing anything, and reaps it.
    pub fn abort(mut self) {
        drop(self.control.take());
        let _ = self.child.wait();
    }

    /// Releases an `enter` helper and returns the command's exit code.
    pub fn run(mut self) -> Result<i32, HelperError> {
        self.go()?;
        drop(self.status.take());
        // ^C on the caller's terminal reaches the whole process group: the helper passes it to
        // the command, and berth waits for the command's status rather than dying first.
        let ignored = [libc::SIGINT, libc::SIGQUIT].map(|sig| {
            // SAFETY: setting a signal's disposition; the old one is put back below.
            (sig, unsafe { libc::signal(sig, libc::SIG_IGN) })
        });
        let status = self.child.wait();
        for (sig, old) in ignored {
            // SAFETY: restores the disposition saved above.
            unsafe { libc::signal(sig, old) };
        }
        let status = status?;
        use std::os::unix::process::ExitStatusExt;
        Ok(status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)))
    }
}
