//! SELinux on the host: checking a container's labels against the loaded policy, and
//! labelling its files (and images) with them.

use std::ffi::CString;
use std::fs;
use std::io;
use std::path::Path;

use crate::store::{At, IoError};

#[derive(Debug, thiserror::Error)]
pub enum SelinuxError {
    #[error(
        "SELinux label {label} is not valid in the loaded policy: install container-selinux, or \
         berth's berth-container-types policy module where container-selinux does not exist \
         (see berth.toml(5), [security] selinux)"
    )]
    NotInPolicy { label: String },
    #[error(transparent)]
    Label(#[from] IoError),
}

/// Checks that the loaded policy knows `label`, so that a start fails before anything is done
/// rather than at the payload's exec.
pub fn check_in_policy(label: &str) -> Result<(), SelinuxError> {
    let not_valid = || SelinuxError::NotInPolicy {
        label: label.to_owned(),
    };
    let c = CString::new(label).map_err(|_| not_valid())?;
    let valid = selinux::SecurityContext::from_c_str(&c, false).check();
    match valid {
        Some(false) => Err(not_valid()),
        _ => Ok(()),
    }
}

fn label_of(path: &Path) -> Result<Option<String>, SelinuxError> {
    let context = selinux::SecurityContext::of_path(path, false, false)
        .map_err(io::Error::other)
        .at("read the label of", path)?;
    Ok(context.and_then(|c| {
        let bytes = c.as_bytes();
        let bytes = bytes.strip_suffix(b"\0").unwrap_or(bytes);
        String::from_utf8(bytes.to_vec()).ok()
    }))
}

fn set_label(path: &Path, label: &CString) -> Result<(), SelinuxError> {
    Ok(selinux::SecurityContext::from_c_str(label, false)
        .set_for_path(path, false, false)
        .map_err(io::Error::other)
        .at("label", path)?)
}

/// Labels `root` and, for a directory, everything under it with `label`, unless `root` already
/// has it: the top is labelled last, so an interrupted relabel is done again in full next time.
pub fn relabel_tree(root: &Path, label: &str) -> Result<(), SelinuxError> {
    if label_of(root)?.as_deref() == Some(label) {
        return Ok(());
    }
    let c = CString::new(label).map_err(|_| SelinuxError::NotInPolicy {
        label: label.to_owned(),
    })?;
    if fs::symlink_metadata(root).is_ok_and(|m| m.is_dir()) {
        relabel_children(root, &c)?;
    }
    set_label(root, &c)
}

fn relabel_children(dir: &Path, label: &CString) -> Result<(), SelinuxError> {
    let entries = fs::read_dir(dir).at("read", dir)?;
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            relabel_children(&path, label)?;
        }
        set_label(&path, label)?;
    }
    Ok(())
}
