//! `berth exec` and `berth shell` do not hand the caller's terminal or pipes to the command:
//! under SELinux, a container's processes may not use descriptors of the caller's domain (the
//! kernel replaces them with /dev/null at the exec), and a terminal would let the container
//! push input into the caller's session (TIOCSTI). The helper, inside the container's mount
//! namespace, makes new ones there instead (a terminal from the container's own devpts, or
//! pipes) and relays between them and the caller's, as `machinectl shell` does.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::pty::{openpty, Winsize};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::signalfd::SignalFd;
use nix::sys::termios::{self, SetArg, Termios};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::process::{attach_terminal, set_stdio};
use super::{Cause, Step, StepError};

/// The descriptors the command gets, and the helper's ends of them.
pub enum Streams {
    Terminal {
        master: OwnedFd,
        slave: OwnedFd,
    },
    Pipes {
        /// (the command's end, the helper's end) of stdin, stdout, stderr.
        stdin: (OwnedFd, OwnedFd),
        stdout: (OwnedFd, OwnedFd),
        stderr: (OwnedFd, OwnedFd),
    },
}

fn err<E: Into<Cause>>(what: &'static str) -> impl FnOnce(E) -> StepError {
    Step::Streams.call(what)
}

/// A terminal when the caller is on one, pipes otherwise. Call after entering the container's
/// mount namespace: the terminal comes from its /dev/ptmx.
pub fn open() -> Result<Streams, StepError> {
    let stdin = std::io::stdin();
    if termios::tcgetattr(stdin.as_fd()).is_ok() {
        let size = window_size(stdin.as_fd());
        let pty = openpty(size.as_ref(), None).map_err(err("open a terminal in the container"))?;
        for fd in [&pty.master, &pty.slave] {
            fcntl(fd, FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC))
                .map_err(err("mark the terminal"))?;
        }
        return Ok(Streams::Terminal {
            master: pty.master,
            slave: pty.slave,
        });
    }
    let pipe = || nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(err("make a pipe"));
    let (stdin_r, stdin_w) = pipe()?;
    let (stdout_r, stdout_w) = pipe()?;
    let (stderr_r, stderr_w) = pipe()?;
    Ok(Streams::Pipes {
        stdin: (stdin_r, stdin_w),
        stdout: (stdout_w, stdout_r),
        stderr: (stderr_w, stderr_r),
    })
}

fn window_size(fd: BorrowedFd<'_>) -> Option<Winsize> {
    let mut size = Winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one struct winsize to the pointer, which is valid and mutable.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut size) };
    (r == 0).then_some(size)
}

impl Streams {
    /// In the command, after fork: its standard streams are the container's ends; on a
    /// terminal, in a session of its own with it as the controlling terminal.
    pub fn attach(&self) -> Result<(), StepError> {
        match self {
            Streams::Terminal { slave, .. } => attach_terminal(
                Step::Streams,
                slave.as_fd(),
                "the container's terminal",
                "make the terminal the controlling one",
            ),
            Streams::Pipes {
                stdin,
                stdout,
                stderr,
            } => set_stdio(
                Step::Streams,
                [
                    (stdin.0.as_fd(), "a pipe from the helper"),
                    (stdout.0.as_fd(), "a pipe to the helper"),
                    (stderr.0.as_fd(), "a pipe to the helper"),
                ],
            ),
        }
    }

    /// In the helper, after fork: relays until the command `child` has ended, and returns
    /// its wait status.
    pub fn relay(self, child: Pid) -> Result<WaitStatus, StepError> {
        let mut mask = SigSet::empty();
        for s in [
            Signal::SIGCHLD,
            Signal::SIGWINCH,
            Signal::SIGINT,
            Signal::SIGTERM,
            Signal::SIGHUP,
            Signal::SIGQUIT,
        ] {
            mask.add(s);
        }
        mask.thread_block().map_err(err("block signals"))?;
        let signals = SignalFd::new(&mask).map_err(err("read signals"))?;
        match self {
            Streams::Terminal { master, slave } => {
                drop(slave);
                let input = master.try_clone().map_err(err("duplicate a descriptor"))?;
                let _raw = RawTerminal::enter();
                // ^C and the like come as characters, through the terminal; what is sent to
                // the helper itself is passed on.
                pump(
                    child,
                    &signals,
                    Link::inward(input),
                    vec![Link::outward(master, 1)],
                )
            }
            Streams::Pipes {
                stdin,
                stdout,
                stderr,
            } => {
                drop((stdin.0, stdout.0, stderr.0));
                let outputs = vec![Link::outward(stdout.1, 1), Link::outward(stderr.1, 2)];
                pump(child, &signals, Link::inward(stdin.1), outputs)
            }
        }
    }
}

/// Bytes flowing from `from` to `to`.
struct Link {
    from: File,
    /// None once `from` has ended: dropping it closes the command's stdin.
    to: Option<File>,
}

/// A descriptor of the caller's (0, 1, 2), duplicated: its flags stay as the caller set them.
fn caller(fd: i32) -> Option<File> {
    // SAFETY: dup(2) of fds 0, 1 and 2, which berth gives the helper and which stay open for
    // its whole life; the new descriptor is owned by the File alone.
    let dup = unsafe { libc::dup(fd) };
    // SAFETY: `dup` is a fresh descriptor owned by nothing else.
    (dup >= 0).then(|| unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(dup) })
}

impl Link {
    /// The caller's stdin into the helper's end `to`.
    fn inward(to: OwnedFd) -> Option<Link> {
        Some(Link {
            from: caller(0)?,
            to: Some(File::from(to)),
        })
    }

    /// The helper's end `from` out to the caller's `fd`, read without blocking so that what
    /// is left can be drained at the end.
    fn outward(from: OwnedFd, fd: i32) -> Link {
        let _ = fcntl(&from, FcntlArg::F_SETFL(OFlag::O_NONBLOCK));
        Link {
            from: File::from(from),
            to: caller(fd),
        }
    }

    /// Moves what is there; false once `from` has ended (or has nothing now, when it does not
    /// block).
    fn step(&mut self, buffer: &mut [u8]) -> bool {
        match self.from.read(buffer) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                // A caller that stopped reading loses the rest; the command goes on.
                if let Some(to) = &mut self.to {
                    let _ = to.write_all(&buffer[..n]);
                }
                true
            }
        }
    }
}

fn pump(
    child: Pid,
    signals: &SignalFd,
    mut input: Option<Link>,
    mut outputs: Vec<Link>,
) -> Result<WaitStatus, StepError> {
    let mut buffer = vec![0u8; 16 * 1024];
    let mut open = vec![true; outputs.len()];
    loop {
        match waitpid(child, Some(WaitPidFlag::WNOHANG)) {
            Ok(s @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => {
                // What the command wrote before it ended is passed on.
                for (link, _) in outputs.iter_mut().zip(&open).filter(|(_, o)| **o) {
                    while link.step(&mut buffer) {}
                }
                return Ok(s);
            }
            Ok(_) => {}
            Err(e) => {
                return Err(Step::Wait.call(format!("wait for the command ({child})"))(
                    e,
                ))
            }
        }
        let mut fds = vec![PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
        let watched: Vec<usize> = (0..outputs.len()).filter(|i| open[*i]).collect();
        for i in &watched {
            fds.push(PollFd::new(outputs[*i].from.as_fd(), PollFlags::POLLIN));
        }
        if let Some(link) = &input {
            fds.push(PollFd::new(link.from.as_fd(), PollFlags::POLLIN));
        }
        if poll(&mut fds, PollTimeout::NONE).is_err() {
            continue;
        }
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        if ready[0] {
            if let Ok(Some(info)) = signals.read_signal() {
                on_signal(info.ssi_signo as i32, child, input.as_ref());
            }
        }
        for (slot, i) in watched.iter().enumerate() {
            if ready[slot + 1] && !outputs[*i].step(&mut buffer) {
                open[*i] = false;
            }
        }
        if ready.len() > watched.len() + 1 && ready[watched.len() + 1] {
            if let Some(link) = &mut input {
                if !link.step(&mut buffer) {
                    // The caller's stdin has ended: so does the command's.
                    input = None;
                }
            }
        }
    }
}

fn on_signal(signo: i32, child: Pid, input: Option<&Link>) {
    match Signal::try_from(signo) {
        Ok(Signal::SIGCHLD) | Err(_) => {}
        Ok(Signal::SIGWINCH) => {
            if let (Some(size), Some(Some(terminal))) = (
                window_size(std::io::stdin().as_fd()),
                input.map(|l| l.to.as_ref()),
            ) {
                // SAFETY: TIOCSWINSZ reads one struct winsize from a valid pointer.
                unsafe { libc::ioctl(terminal.as_raw_fd(), libc::TIOCSWINSZ, &size) };
            }
        }
        Ok(s) => {
            let _ = kill(child, s);
        }
    }
}

/// The caller's terminal in raw mode while the command runs on its own; restored on drop.
struct RawTerminal(Option<Termios>);

impl RawTerminal {
    fn enter() -> RawTerminal {
        let stdin = std::io::stdin();
        let Ok(saved) = termios::tcgetattr(stdin.as_fd()) else {
            return RawTerminal(None);
        };
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        let _ = termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw);
        RawTerminal(Some(saved))
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        if let Some(saved) = &self.0 {
            let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSADRAIN, saved);
        }
    }
}
