//! One `berth apply` (or `enable --now`, `disable --now`) at a time: an flock on
//! `/run/berth/.apply.lock` (no container name starts with a dot, so it is nobody's
//! container lock). The holder writes its PID into the file, so that a second one can say
//! whom it waits for; the kernel drops the lock when the holder dies.

use std::fs::{self, File};
use std::io::{Seek, Write};
use std::path::Path;

use super::ApplyError;
use crate::store::{At, FileLock, LockKind};

pub const LOCK_FILE: &str = ".apply.lock";

/// Who holds the lock, as far as the lock file and /proc say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: Option<u32>,
    /// The holder's command line, when it is still running.
    pub command: Option<String>,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.pid, &self.command) {
            (Some(pid), Some(cmd)) => write!(f, "PID {pid} ({cmd})"),
            (Some(pid), None) => write!(f, "PID {pid}"),
            _ => f.write_str("another berth (PID not yet recorded)"),
        }
    }
}

pub struct ApplyLock {
    _lock: FileLock,
}

impl ApplyLock {
    /// Takes the lock, exclusive to change the host or shared to only look (`--dry-run`), and
    /// waits for it if it is held, calling `on_wait` first with who holds it.
    pub fn acquire(
        path: &Path,
        exclusive: bool,
        on_wait: impl FnOnce(&Holder),
    ) -> Result<ApplyLock, ApplyError> {
        // Looking (a dry run) needs no write access: a user may plan, as root applies.
        let kind = if exclusive {
            LockKind::Exclusive
        } else {
            LockKind::Shared
        };
        let lock = FileLock::acquire(path, kind, || on_wait(&holder(path)))?;
        if exclusive {
            let mut f: &File = &lock;
            f.set_len(0).at("truncate", path)?;
            f.rewind().at("rewind", path)?;
            writeln!(f, "{}", std::process::id()).at("write", path)?;
        }
        Ok(ApplyLock { _lock: lock })
    }
}

/// Who holds the lock: from /proc/locks, which the kernel keeps exact (and which also knows
/// shared holders, which write no PID), else the PID the last exclusive holder wrote.
fn holder(path: &Path) -> Holder {
    let from_kernel = fs::metadata(path).ok().and_then(|m| {
        use std::os::unix::fs::MetadataExt;
        let locks = fs::read_to_string("/proc/locks").ok()?;
        holders_in(&locks, m.dev(), m.ino()).into_iter().next()
    });
    let pid = from_kernel.or_else(|| {
        fs::read_to_string(path)
            .ok()
            .and_then(|t| t.trim().parse::<u32>().ok())
    });
    let command = pid.and_then(|p| {
        let raw = fs::read(format!("/proc/{p}/cmdline")).ok()?;
        let cmd = String::from_utf8_lossy(&raw)
            .trim_end_matches('\0')
            .replace('\0', " ");
        (!cmd.is_empty()).then_some(cmd)
    });
    Holder { pid, command }
}

/// The PIDs holding flocks on the file with device `dev` and inode `ino`, from the text of
/// /proc/locks (`1: FLOCK  ADVISORY  WRITE 233 00:2d:1234 0 EOF`; waiters are marked `->`).
fn holders_in(locks: &str, dev: u64, ino: u64) -> Vec<u32> {
    let want = format!(
        "{:02x}:{:02x}:{ino}",
        nix::sys::stat::major(dev),
        nix::sys::stat::minor(dev)
    );
    locks
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            match f.as_slice() {
                [_, "FLOCK", _, _, pid, file, ..] if *file == want => pid.parse().ok(),
                _ => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holders_are_read_from_proc_locks() {
        let locks = "1: FLOCK  ADVISORY  WRITE 233 00:2d:1234 0 EOF\n\
                     1: -> FLOCK  ADVISORY  WRITE 240 00:2d:1234 0 EOF\n\
                     2: POSIX  ADVISORY  WRITE 7 00:2d:1234 0 EOF\n\
                     3: FLOCK  ADVISORY  READ 9 00:2d:99 0 EOF\n";
        let dev = nix::sys::stat::makedev(0, 0x2d);
        assert_eq!(holders_in(locks, dev, 1234), [233]);
        assert_eq!(holders_in(locks, dev, 99), [9]);
    }

    #[test]
    fn a_second_holder_waits_and_learns_the_first_ones_pid() {
        let dir = std::env::temp_dir().join(format!("berth-apply-lock-{}", std::process::id()));
        let path = dir.join(LOCK_FILE);
        let first = ApplyLock::acquire(&path, true, |_| panic!("nobody holds it yet")).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let p = path.clone();
        let second = std::thread::spawn(move || {
            // flock locks belong to open file descriptions: a second open in this process
            // conflicts like another process would.
            let _l = ApplyLock::acquire(&p, true, |h| tx.send(h.clone()).unwrap()).unwrap();
        });
        let h = rx.recv().unwrap();
        assert_eq!(h.pid, Some(std::process::id()));
        assert!(h
            .to_string()
            .starts_with(&format!("PID {} (", std::process::id())));
        drop(first);
        second.join().unwrap();
        // A shared holder (a dry run) writes nothing, and is still found.
        let shared = ApplyLock::acquire(&path, false, |_| panic!("free")).unwrap();
        fs::write(&path, "999999999\n").unwrap();
        assert_eq!(holder(&path).pid, Some(std::process::id()));
        drop(shared);
        // Shared holders do not wait for each other.
        let _a = ApplyLock::acquire(&path, false, |_| panic!("shared")).unwrap();
        let _b = ApplyLock::acquire(&path, false, |_| panic!("shared")).unwrap();
        let _ = fs::remove_dir_all(dir);
    }
}
