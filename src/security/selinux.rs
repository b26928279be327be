//! SELinux labels of a container: its processes run as `system_u:system_r:TYPE:LEVEL`
//! (container_t by default) and its files are `system_u:object_r:container_file_t:LEVEL`, with
//! the container's own MCS level (see [`super::mcs`]). Checking labels against the loaded
//! policy and labelling files is [`crate::container::labelling`].

use serde::{Deserialize, Serialize};

use super::mcs::Level;

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
