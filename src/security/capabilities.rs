//! Which capabilities a container's processes hold: podman's default set, changed by the
//! definition, and how that set lands in the five capability sets of a process.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::definition::model::{Mode, Security};

/// podman's (and Docker's) default: what ordinary services need to start as root and drop
/// to their own user, and nothing that reaches beyond the container.
pub const DEFAULT: [&str; 11] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// A booted container runs a whole init system, which mounts, manages services and shuts the
/// container down with reboot(2): systemd-nspawn's default set.
pub const BOOT_DEFAULT: [&str; 26] = [
    "AUDIT_CONTROL",
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "IPC_OWNER",
    "KILL",
    "LEASE",
    "LINUX_IMMUTABLE",
    "MKNOD",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_RAW",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_CHROOT",
    "SYS_NICE",
    "SYS_PTRACE",
    "SYS_RESOURCE",
    "SYS_TTY_CONFIG",
];

/// The container's capabilities, by name without the `CAP_` prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapabilityPlan {
    /// The bounding set: no process of the container can ever hold more.
    pub bounding: BTreeSet<String>,
    /// Asked for by name in the definition: a payload that runs as another user than root
    /// keeps these (as ambient capabilities), and only these.
    pub added: BTreeSet<String>,
}

/// The five sets of one process, as names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSets {
    pub bounding: BTreeSet<String>,
    pub permitted: BTreeSet<String>,
    pub effective: BTreeSet<String>,
    pub inheritable: BTreeSet<String>,
    pub ambient: BTreeSet<String>,
}

pub fn plan(security: &Security, mode: Mode) -> CapabilityPlan {
    let default: &[&str] = match mode {
        Mode::App => &DEFAULT,
        Mode::Boot => &BOOT_DEFAULT,
    };
    let mut bounding: BTreeSet<String> = default.iter().map(|c| (*c).to_owned()).collect();
    let added: BTreeSet<String> = security.capabilities_add.iter().cloned().collect();
    bounding.extend(added.iter().cloned());
    for cap in &security.capabilities_drop {
        bounding.remove(cap);
    }
    CapabilityPlan { bounding, added }
}

impl CapabilityPlan {
    /// The sets of a payload running as `uid` (inside the container). Root holds the whole
    /// set in every set, ambient included, so that programs it executes keep it. Any other
    /// user holds only what the definition added by name, like podman's `--cap-add` with
    /// `--user`: the default set is for root's start-up work.
    pub fn process_sets(&self, uid: u32) -> ProcessSets {
        let held = if uid == 0 {
            self.bounding.clone()
        } else {
            self.added.intersection(&self.bounding).cloned().collect()
        };
        ProcessSets {
            bounding: self.bounding.clone(),
            permitted: held.clone(),
            effective: held.clone(),
            inheritable: held.clone(),
            ambient: held,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::model::{Seccomp, Selinux};

    fn security(add: &[&str], drop: &[&str]) -> Security {
        Security {
            capabilities_add: add.iter().map(|s| (*s).into()).collect(),
            capabilities_drop: drop.iter().map(|s| (*s).into()).collect(),
            no_new_privileges: true,
            seccomp: Seccomp::Default,
            user_namespace: false,
            selinux: Selinux::Off,
        }
    }

    fn names(set: &BTreeSet<String>) -> Vec<&str> {
        set.iter().map(String::as_str).collect()
    }

    #[test]
    fn the_default_is_podmans_eleven() {
        let p = plan(&security(&[], &[]), Mode::App);
        assert_eq!(p.bounding.len(), 11);
        assert!(p.added.is_empty());
        let root = p.process_sets(0);
        assert_eq!(root.effective, p.bounding);
        assert_eq!(root.ambient, p.bounding);
        let user = p.process_sets(1000);
        assert_eq!(user.bounding, p.bounding);
        assert!(user.permitted.is_empty() && user.ambient.is_empty());
    }

    #[test]
    fn definitions_add_and_drop() {
        let p = plan(
            &security(&["NET_ADMIN", "NET_RAW"], &["SETFCAP", "NET_RAW"]),
            Mode::App,
        );
        assert!(p.bounding.contains("NET_ADMIN"));
        assert!(!p.bounding.contains("SETFCAP"));
        assert!(!p.bounding.contains("NET_RAW"), "a drop wins over an add");
        assert_eq!(names(&p.process_sets(33).ambient), ["NET_ADMIN"]);
        assert_eq!(names(&p.process_sets(33).effective), ["NET_ADMIN"]);
    }

    #[test]
    fn boot_mode_starts_from_nspawns_set() {
        let p = plan(&security(&[], &["SYS_BOOT"]), Mode::Boot);
        assert!(p.bounding.contains("SYS_ADMIN") && p.bounding.contains("MKNOD"));
        assert!(!p.bounding.contains("SYS_BOOT"));
        assert_eq!(p.bounding.len(), BOOT_DEFAULT.len() - 1);
    }
}
