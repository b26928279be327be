//! SELinux labels of a container: its processes run as `system_u:system_r:TYPE:LEVEL`
//! (container_t by default) and its files are `system_u:object_r:container_file_t:LEVEL`, with
//! the container's own MCS level (see [`crate::mcs`]).

use std::ffi::CString;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::mcs::Level;

/// The type of a container's files; container-selinux's name, which berth's own policy module
/// declares where container-selinux is not installed.
pub const FILE_TYPE: &str = "container_file_t";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Labels {
    /// For the container's processes.
    pub process: String,
    /// For its files and file systems.
    pub file: String,
}

pub fn labels(process_type: &str, level: Level) -> Labels {
    Labels {
        process: format!("system_u:system_r:{process_type}:{level}"),
        file: format!("system_u:object_r:{FILE_TYPE}:{level}"),
    }
}

/// SELinux as this host runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostSelinux {
    Disabled,
    Permissive,
    Enforcing,
}

impl HostSelinux {
    pub fn probe() -> HostSelinux {
        if selinux::kernel_support() == selinux::KernelSupport::Unsupported {
            return HostSelinux::Disabled;
        }
        match selinux::current_mode() {
            selinux::SELinuxMode::Enforcing => HostSelinux::Enforcing,
            selinux::SELinuxMode::Permissive => HostSelinux::Permissive,
            _ => HostSelinux::Disabled,
        }
    }

    pub fn is_enabled(self) -> bool {
        self != HostSelinux::Disabled
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SelinuxError {
    #[error(
        "SELinux label {label} is not valid in the loaded policy: install container-selinux, or \
         berth's berth-container-types policy module where container-selinux does not exist \
         (see berth.toml(5), [security] selinux)"
    )]
    NotInPolicy { label: String },
    #[error("cannot {op} {path}: {message}")]
    Label {
        op: &'static str,
        path: PathBuf,
        message: String,
    },
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
    let context =
        selinux::SecurityContext::of_path(path, false, false).map_err(|e| SelinuxError::Label {
            op: "read the label of",
            path: path.to_owned(),
            message: e.to_string(),
        })?;
    Ok(context.and_then(|c| {
        let bytes = c.as_bytes();
        let bytes = bytes.strip_suffix(b"\0").unwrap_or(bytes);
        String::from_utf8(bytes.to_vec()).ok()
    }))
}

fn set_label(path: &Path, label: &CString) -> Result<(), SelinuxError> {
    selinux::SecurityContext::from_c_str(label, false)
        .set_for_path(path, false, false)
        .map_err(|e| SelinuxError::Label {
            op: "label",
            path: path.to_owned(),
            message: e.to_string(),
        })
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
    let entries = fs::read_dir(dir).map_err(|e| SelinuxError::Label {
        op: "read",
        path: dir.to_owned(),
        message: e.to_string(),
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            relabel_children(&path, label)?;
        }
        set_label(&path, label)?;
    }
    Ok(())
}

/// The `context=` mount option that gives a file system (tmpfs, devpts) the container's label.
pub fn mount_option(file_label: &str) -> String {
    format!("context=\"{file_label}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_carry_type_and_level() {
        let l = labels("container_t", Level { low: 3, high: 77 });
        assert_eq!(l.process, "system_u:system_r:container_t:s0:c3,c77");
        assert_eq!(l.file, "system_u:object_r:container_file_t:s0:c3,c77");
        assert_eq!(
            mount_option(&l.file),
            "context=\"system_u:object_r:container_file_t:s0:c3,c77\""
        );
    }

    #[test]
    fn this_host_has_an_answer() {
        let host = HostSelinux::probe();
        assert_eq!(host.is_enabled(), host != HostSelinux::Disabled);
    }
}
