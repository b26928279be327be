//! The new mount API's system calls that idmapped mounts need, which nix does not wrap:
//! `open_tree(2)`, `mount_setattr(2)` and `move_mount(2)` (see the kernel's
//! include/uapi/linux/mount.h). The numbers and constants are libc's.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(io::Error::other)
}

/// A detached copy of the mount tree at `path`, everything mounted below it included: a
/// recursive bind mount not yet attached anywhere.
pub fn clone_tree(path: &Path) -> io::Result<OwnedFd> {
    let path = c_path(path)?;
    let flags = libc::OPEN_TREE_CLONE | libc::OPEN_TREE_CLOEXEC | libc::AT_RECURSIVE as u32;
    // SAFETY: open_tree takes a directory fd, a NUL-terminated path that outlives the call
    // and flags; it returns a new file descriptor or -1, and touches no memory of ours.
    let fd = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, path.as_ptr(), flags) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the descriptor was just returned by the kernel and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Makes every mount of a detached tree idmapped with `userns`'s ID maps, and a slave of the
/// mounts it was cloned from, so that nothing mounted on it propagates back.
pub fn set_idmap(tree: &OwnedFd, userns: BorrowedFd<'_>) -> io::Result<()> {
    let attr = libc::mount_attr {
        attr_set: libc::MOUNT_ATTR_IDMAP,
        attr_clr: 0,
        propagation: libc::MS_SLAVE,
        userns_fd: userns.as_raw_fd() as u64,
    };
    let empty = c"";
    // SAFETY: mount_setattr reads `size_of(mount_attr)` bytes from `attr`, which lives on this
    // stack frame for the whole call, and the empty path (AT_EMPTY_PATH: `tree` itself).
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            empty.as_ptr(),
            libc::AT_EMPTY_PATH | libc::AT_RECURSIVE,
            &attr as *const libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Attaches a detached tree at `target`, which must exist.
pub fn attach_tree(tree: &OwnedFd, target: &Path) -> io::Result<()> {
    let target = c_path(target)?;
    let empty = c"";
    // SAFETY: move_mount takes two (fd, NUL-terminated path) pairs that outlive the call and
    // flags; it reads the paths only.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            empty.as_ptr(),
            libc::AT_FDCWD,
            target.as_ptr(),
            libc::MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
