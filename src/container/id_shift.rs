//! Shifting the owners of a tree of files from one user namespace range to another, for a
//! container's private trees where idmapped mounts cannot be had: chowned into its range.

use std::fs;
use std::os::unix::fs::{lchown, MetadataExt};
use std::path::Path;

use crate::security::userns::{shifted, RANGE_SIZE};
use crate::store::{At, IoError};

/// Moves the owners of everything under `root` into the range at `to` (0: back to the host's
/// IDs). Where the tree is now is read off `root` itself, whose owner is the range's root: the
/// tree says what it is, so a shift that a crash interrupted is finished by the next one.
pub fn shift_tree(root: &Path, to: u32) -> Result<(), IoError> {
    let meta = fs::symlink_metadata(root).at("stat", root)?;
    let from = meta.uid() - meta.uid() % RANGE_SIZE;
    if from == to && meta.uid() == to {
        return Ok(());
    }
    shift_entry(root, from, to, &meta)?;
    // The root last: until it is done, the next attempt sees the old range and goes on.
    Ok(())
}

fn shift_entry(path: &Path, from: u32, to: u32, meta: &fs::Metadata) -> Result<(), IoError> {
    if meta.is_dir() {
        for entry in fs::read_dir(path).at("read", path)? {
            let child = entry.at("read", path)?.path();
            let child_meta = fs::symlink_metadata(&child).at("stat", &child)?;
            shift_entry(&child, from, to, &child_meta)?;
        }
    }
    let (uid, gid) = (shifted(meta.uid(), from, to), shifted(meta.gid(), from, to));
    if (uid, gid) != (meta.uid(), meta.gid()) {
        // chown clears set-ID bits on files; put the mode back.
        let mode = meta.mode() & 0o7777;
        lchown(path, Some(uid), Some(gid)).at("chown", path)?;
        if !meta.file_type().is_symlink() && mode & 0o6000 != 0 {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(path, fs::Permissions::from_mode(mode)).at("chmod", path)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trees_shift_and_say_where_they_are() {
        if !nix::unistd::Uid::effective().is_root() {
            eprintln!("SKIP trees_shift_and_say_where_they_are: chown needs root");
            return;
        }
        let base = crate::store::scratch_dir("shift");
        fs::create_dir_all(base.join("sub")).unwrap();
        fs::write(base.join("sub/f"), "x").unwrap();
        lchown(base.join("sub/f"), Some(33), Some(33)).unwrap();
        std::os::unix::fs::symlink("f", base.join("sub/l")).unwrap();
        shift_tree(&base, 524288).unwrap();
        let owner = |p: &str| {
            let m = fs::symlink_metadata(base.join(p)).unwrap();
            (m.uid(), m.gid())
        };
        assert_eq!(owner(""), (524288, 524288));
        assert_eq!(owner("sub/f"), (524321, 524321));
        assert_eq!(owner("sub/l"), (524288, 524288));
        shift_tree(&base, 524288).unwrap();
        assert_eq!(
            owner("sub/f"),
            (524321, 524321),
            "a second shift changes nothing"
        );
        shift_tree(&base, 0).unwrap();
        assert_eq!(owner("sub/f"), (33, 33));
        fs::remove_dir_all(&base).unwrap();
    }
}
