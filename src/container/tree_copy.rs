//! Copies a directory tree as `cp -a` does (owners, modes, times, hard and symbolic links,
//! device nodes, extended attributes), in this process.
//!
//! In-process on purpose: a `cp` child would outlive a berth killed mid-start and keep writing
//! into a directory that the next berth command is removing.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::unix::fs::{lchown, symlink, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::sys::stat::{mknod, utimensat, Mode, SFlag, UtimensatFlags};
use nix::sys::time::TimeSpec;

use crate::store::{io_err as err, IoError};

/// A failed step of the copy: what, on which path.
pub type CopyError = IoError;

/// berth labels a container's files itself; the host's labels are not carried over.
const SKIPPED_XATTRS: [&str; 1] = ["security.selinux"];

/// Copies `source` to `target`, which must not exist.
pub fn copy_tree(source: &Path, target: &Path) -> Result<(), CopyError> {
    let mut links = HashMap::new();
    copy_entry(source, target, &mut links)
}

fn copy_entry(
    source: &Path,
    target: &Path,
    links: &mut HashMap<(u64, u64), PathBuf>,
) -> Result<(), CopyError> {
    let meta = fs::symlink_metadata(source).map_err(err("stat", source))?;
    let kind = meta.file_type();
    if !kind.is_dir() && meta.nlink() > 1 {
        if let Some(first) = links.get(&(meta.dev(), meta.ino())) {
            return fs::hard_link(first, target).map_err(err("link", target));
        }
        links.insert((meta.dev(), meta.ino()), target.to_owned());
    }
    if kind.is_dir() {
        fs::create_dir(target).map_err(err("create", target))?;
        let mut entries: Vec<_> = fs::read_dir(source)
            .map_err(err("read", source))?
            .collect::<Result<_, _>>()
            .map_err(err("read", source))?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            copy_entry(&entry.path(), &target.join(entry.file_name()), links)?;
        }
    } else if kind.is_symlink() {
        let to = fs::read_link(source).map_err(err("read the link", source))?;
        symlink(&to, target).map_err(err("create", target))?;
    } else if kind.is_file() {
        fs::copy(source, target).map_err(err("copy to", target))?;
    } else if kind.is_socket() {
        // A socket is only meaningful to the process listening on it.
        return Ok(());
    } else {
        let file_type = if kind.is_fifo() {
            SFlag::S_IFIFO
        } else if kind.is_char_device() {
            SFlag::S_IFCHR
        } else {
            SFlag::S_IFBLK
        };
        mknod(
            target,
            file_type,
            Mode::from_bits_truncate(0o600),
            meta.rdev(),
        )
        .map_err(|e| err("create", target)(e.into()))?;
    }
    copy_metadata(source, target, &meta)
}

/// Owner first: chown clears the set-user-ID and set-group-ID bits that chmod then restores.
fn copy_metadata(source: &Path, target: &Path, meta: &fs::Metadata) -> Result<(), CopyError> {
    lchown(target, Some(meta.uid()), Some(meta.gid())).map_err(err("chown", target))?;
    if !meta.file_type().is_symlink() {
        fs::set_permissions(target, fs::Permissions::from_mode(meta.mode() & 0o7777))
            .map_err(err("chmod", target))?;
    }
    copy_xattrs(source, target)?;
    let atime = TimeSpec::new(meta.atime(), meta.atime_nsec());
    let mtime = TimeSpec::new(meta.mtime(), meta.mtime_nsec());
    utimensat(
        nix::fcntl::AT_FDCWD,
        target,
        &atime,
        &mtime,
        UtimensatFlags::NoFollowSymlink,
    )
    .map_err(|e| err("set the times of", target)(e.into()))
}

fn copy_xattrs(source: &Path, target: &Path) -> Result<(), CopyError> {
    let names = match xattr::list(source) {
        Ok(names) => names,
        Err(e) if unsupported(&e) => return Ok(()),
        Err(e) => return Err(err("list the attributes of", source)(e)),
    };
    for name in names {
        if SKIPPED_XATTRS.iter().any(|s| name == *s) {
            continue;
        }
        let Some(value) =
            xattr::get(source, &name).map_err(err("read the attributes of", source))?
        else {
            continue;
        };
        match xattr::set(target, &name, &value) {
            Err(e) if !unsupported(&e) => return Err(err("set the attributes of", target)(e)),
            _ => {}
        }
    }
    Ok(())
}

/// The file system (or the kernel, for a namespace) does not hold this attribute.
fn unsupported(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOTSUP) | Some(libc::EPERM) | Some(libc::ENODATA)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_files_links_modes_and_times() {
        let base = crate::store::scratch_dir("copy");
        let src = base.join("src");
        fs::create_dir_all(src.join("sub/deeper")).unwrap();
        fs::write(src.join("file"), "content").unwrap();
        fs::set_permissions(src.join("file"), fs::Permissions::from_mode(0o640)).unwrap();
        fs::set_permissions(src.join("sub"), fs::Permissions::from_mode(0o711)).unwrap();
        fs::hard_link(src.join("file"), src.join("sub/hard")).unwrap();
        symlink("../file", src.join("sub/soft")).unwrap();
        symlink("/nonexistent", src.join("dangling")).unwrap();
        let old = TimeSpec::new(1_000_000, 0);
        utimensat(
            nix::fcntl::AT_FDCWD,
            &src.join("file"),
            &old,
            &old,
            UtimensatFlags::NoFollowSymlink,
        )
        .unwrap();

        let dst = base.join("dst");
        copy_tree(&src, &dst).unwrap();
        assert_eq!(fs::read_to_string(dst.join("file")).unwrap(), "content");
        let meta = |p: &str| fs::symlink_metadata(dst.join(p)).unwrap();
        assert_eq!(meta("file").mode() & 0o7777, 0o640);
        assert_eq!(meta("sub").mode() & 0o7777, 0o711);
        assert_eq!(meta("file").mtime(), 1_000_000);
        assert_eq!(
            meta("file").ino(),
            meta("sub/hard").ino(),
            "hard links stay links"
        );
        assert_eq!(
            fs::read_link(dst.join("sub/soft")).unwrap(),
            Path::new("../file")
        );
        assert_eq!(
            fs::read_link(dst.join("dangling")).unwrap(),
            Path::new("/nonexistent")
        );
        assert!(dst.join("sub/deeper").is_dir());
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn errors_name_the_operation_and_path() {
        let e =
            copy_tree(Path::new("/nonexistent/berth"), Path::new("/nonexistent/x")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot stat /nonexistent/berth: No such file or directory (os error 2)"
        );
    }
}
