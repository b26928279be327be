//! A user namespace's ID maps on the host, and idmapped mounts: a container with a user
//! namespace sees its private /etc and /var through mounts that map the host's IDs 0-65535 to
//! its range, so that on disk they stay owned by the host's IDs. Where the kernel or the file
//! system cannot, berth chowns the trees into the range instead
//! ([`super::id_shift::shift_tree`]); [`supported`] tells which, once per start, before the
//! helper runs. Shared by berth (the probe) and the helper (the container's own trees).

use std::fs;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::sched::{unshare, CloneFlags};
use nix::sys::wait::waitpid;
use nix::unistd::{fork, pipe2, ForkResult, Pid};

use super::mount_api;
use crate::security::userns::RANGE_SIZE;
use crate::store::{At, IoError};

/// Maps IDs 0-65535 inside the user namespace of `pid` to `base`.. on the host, for users and
/// groups. Only a process outside the namespace may.
pub fn write_id_maps(pid: Pid, base: u32) -> Result<(), IoError> {
    let line = format!("0 {base} {RANGE_SIZE}\n");
    for map in ["uid_map", "gid_map"] {
        let path = PathBuf::from(format!("/proc/{pid}/{map}"));
        fs::write(&path, &line).at("write", &path)?;
    }
    Ok(())
}

/// A detached, idmapped copy of the tree at `source` (everything mounted below included),
/// mapped by `userns`'s ID maps: what the helper attaches where it would bind `source`.
pub fn idmapped_tree(source: &Path, userns: BorrowedFd<'_>) -> Result<OwnedFd, IoError> {
    let tree = mount_api::clone_tree(source).at("clone the mount tree of", source)?;
    mount_api::set_idmap(&tree, userns).at("idmap the mount tree of", source)?;
    Ok(tree)
}

/// What the kernel answers where it has no idmapped mounts (ENOSYS), or the file system or
/// the mount does not allow them (EINVAL, EOPNOTSUPP, EPERM for an already idmapped mount).
fn means_unsupported(e: &IoError) -> bool {
    matches!(
        e.source.raw_os_error(),
        Some(libc::EINVAL | libc::ENOSYS | libc::EPERM | libc::EOPNOTSUPP)
    )
}

/// Whether the trees at `dirs` can be idmapped for a range at `base`: makes each tree the
/// helper would make, against a throw-away user namespace, and drops it. A directory not made
/// yet is tried by its nearest existing ancestor, whose file system it will be on.
pub fn supported(dirs: &[&Path], base: u32) -> Result<bool, IoError> {
    if dirs.is_empty() {
        return Ok(false);
    }
    let userns = throwaway_user_namespace(base)?;
    for dir in dirs {
        let Some(existing) = dir.ancestors().find(|d| d.exists()) else {
            continue;
        };
        match idmapped_tree(existing, userns.as_fd()) {
            Ok(_tree) => {}
            Err(e) if means_unsupported(&e) => {
                tracing::info!("no idmapped mounts, the container's files are chowned: {e}");
                return Ok(false);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// A user namespace mapped as a container's is, held by its file descriptor: a child
/// unshares it and waits while this process maps it and opens it, then exits.
fn throwaway_user_namespace(base: u32) -> Result<OwnedFd, IoError> {
    const PROBE: &str = "the idmap probe";
    let pipe = || pipe2(nix::fcntl::OFlag::O_CLOEXEC).at("make a pipe for", PROBE);
    let (ready_r, ready_w) = pipe()?;
    let (hold_r, hold_w) = pipe()?;
    // SAFETY: berth may have threads (D-Bus); the child only makes system calls (unshare,
    // write, read, _exit), which are async-signal-safe, and allocates nothing.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            drop((ready_r, hold_w));
            wait_in_new_user_namespace(ready_w, hold_r)
        }
        Ok(ForkResult::Parent { child }) => {
            drop((ready_w, hold_r));
            let userns = map_and_open(child, ready_r, base);
            // The child's end: it reads end-of-file and exits.
            drop(hold_w);
            let _ = waitpid(child, None);
            userns
        }
        Err(e) => Err(IoError::new("fork for", PROBE, e)),
    }
}

/// The probe's child: unshares a user namespace, says so, and waits for the parent.
fn wait_in_new_user_namespace(ready: OwnedFd, hold: OwnedFd) -> ! {
    if unshare(CloneFlags::CLONE_NEWUSER).is_ok() {
        let _ = nix::unistd::write(&ready, b"u");
        let _ = nix::unistd::read(&hold, &mut [0u8; 1]);
    }
    // SAFETY: _exit ends this forked child at once, without running the parent's exit
    // handlers or destructors.
    unsafe { libc::_exit(0) }
}

fn map_and_open(child: Pid, ready: OwnedFd, base: u32) -> Result<OwnedFd, IoError> {
    let ns = PathBuf::from(format!("/proc/{child}/ns/user"));
    match nix::unistd::read(&ready, &mut [0u8; 1]).at("wait for", &ns)? {
        1 => {}
        _ => {
            return Err(IoError::new(
                "create the user namespace",
                &ns,
                io::Error::other("the probe's child could not unshare it"),
            ))
        }
    }
    write_id_maps(child, base)
        .map_err(io::Error::other)
        .at("map", &ns)?;
    fs::File::open(&ns).map(OwnedFd::from).at("open", &ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_answers_without_leaving_a_mount() {
        if !nix::unistd::Uid::effective().is_root() {
            eprintln!("SKIP the_probe_answers_without_leaving_a_mount: the probe needs root");
            return;
        }
        let mounts = || std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let before = mounts();
        let dir = std::env::temp_dir().join(format!("berth-idmap-{}/etc", std::process::id()));
        let answer = supported(&[&dir], 524288).unwrap();
        eprintln!("idmapped mounts on {}: {answer}", dir.display());
        assert_eq!(mounts(), before);
        assert!(!dir.exists(), "tried by an ancestor, not made");
        assert!(!supported(&[], 524288).unwrap(), "nothing to map");
        assert!(
            !supported(&[Path::new("/proc")], 524288).unwrap(),
            "procfs cannot be idmapped: chown instead"
        );
    }
}
