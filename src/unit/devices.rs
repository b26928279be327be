//! The devices a container may use: one table for both sides that must agree, the scope's
//! DeviceAllow (the cgroup lets the container open them) and the container's /dev (the helper
//! binds the host's nodes in).

use std::collections::BTreeMap;

/// A device every container gets: a node path under /dev, or a systemd device class
/// (`char-NAME`, `block-NAME`, as /proc/devices names the driver), with its access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Device {
    pub name: &'static str,
    pub access: &'static str,
}

impl Device {
    /// The host node to bind into the container's /dev, relative to /dev; None for a class,
    /// whose nodes the container makes itself (devpts makes the pseudo-terminals).
    pub fn node(&self) -> Option<&'static str> {
        self.name.strip_prefix("/dev/")
    }
}

const fn device(name: &'static str, access: &'static str) -> Device {
    Device { name, access }
}

/// Every container's minimal /dev (the set nspawn allows).
pub const MINIMAL: [Device; 8] = [
    device("/dev/null", "rwm"),
    device("/dev/zero", "rwm"),
    device("/dev/full", "rwm"),
    device("/dev/random", "rwm"),
    device("/dev/urandom", "rwm"),
    device("/dev/tty", "rwm"),
    device("/dev/net/tun", "rwm"),
    device("char-pts", "rw"),
];

/// DeviceAllow's (device, access) pairs: the minimal set, where the definition's
/// `resources.devices` does not name the same device with its own access, then the
/// definition's.
pub fn allow(devices: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let mut allow: Vec<(String, String)> = MINIMAL
        .iter()
        .filter(|d| !devices.contains_key(d.name))
        .map(|d| (d.name.to_owned(), d.access.to_owned()))
        .collect();
    allow.extend(devices.iter().map(|(d, a)| (d.clone(), a.clone())));
    allow
}

/// The host nodes bound into the container's /dev, relative to it: the minimal set, then the
/// nodes of the definition's `resources.devices` (its classes have no single node).
pub fn nodes(devices: &BTreeMap<String, String>) -> Vec<String> {
    let mut nodes: Vec<String> = MINIMAL
        .iter()
        .filter_map(Device::node)
        .map(str::to_owned)
        .collect();
    for node in devices.keys().filter_map(|d| d.strip_prefix("/dev/")) {
        if !nodes.iter().any(|n| n == node) {
            nodes.push(node.to_owned());
        }
    }
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(d, a)| ((*d).to_owned(), (*a).to_owned()))
            .collect()
    }

    #[test]
    fn every_minimal_node_is_allowed_and_bound() {
        let none = BTreeMap::new();
        let allowed = allow(&none);
        let bound = nodes(&none);
        assert_eq!(allowed.len(), MINIMAL.len());
        for d in MINIMAL {
            assert!(allowed.contains(&(d.name.to_owned(), d.access.to_owned())));
            if let Some(node) = d.node() {
                assert!(bound.iter().any(|n| n == node), "{node}");
            }
        }
        assert_eq!(
            bound,
            ["null", "zero", "full", "random", "urandom", "tty", "net/tun"]
        );
    }

    #[test]
    fn the_definition_adds_and_overrides() {
        let devices = map(&[
            ("/dev/fuse", "rw"),
            ("/dev/null", "r"),
            ("char-usb_device", "r"),
        ]);
        let allowed = allow(&devices);
        assert!(allowed.contains(&("/dev/null".into(), "r".into())));
        assert!(!allowed.contains(&("/dev/null".into(), "rwm".into())));
        assert!(allowed.contains(&("/dev/fuse".into(), "rw".into())));
        assert!(allowed.contains(&("char-usb_device".into(), "r".into())));
        let bound = nodes(&devices);
        assert_eq!(bound.iter().filter(|n| *n == "null").count(), 1);
        assert_eq!(bound.last().map(String::as_str), Some("fuse"));
        assert!(!bound.iter().any(|n| n.contains("usb")));
    }
}
