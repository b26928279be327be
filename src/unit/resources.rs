//! One row per `[resources]` key: the scope property that carries it on each cgroup version
//! (systemd renamed them for v2: MemoryLimit to MemoryMax, CPUShares to CPUWeight,
//! BlockIOWeight to IOWeight), the cgroup files systemd writes for it, and whether systemd can
//! change it on a running scope. [`super::plan_scope`] starts a scope from it and `berth
//! apply` updates a running one from it, so the two cannot disagree.

use std::collections::{BTreeMap, BTreeSet};

use super::{devices, CgroupVersion, Property, PropertyValue};
use crate::definition::model::{Limit, Resources};

/// What a scope has while a live key is not set, which a live update sets when the key is
/// removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unset {
    /// `u64::MAX`: systemd reads it as "infinity" for limits and as "unset" (the default) for
    /// weights and shares, as `systemctl set-property UNIT CPUWeight=` sends.
    Max,
    /// systemd's DefaultTasksMax.
    DefaultTasksMax,
    /// An empty CPU or memory node mask: every CPU, every node.
    EmptyMask,
    /// 0: MemoryLow's default, no protection.
    Zero,
}

impl Unset {
    pub fn value(self, default_tasks_max: u64) -> PropertyValue {
        match self {
            Unset::Max => PropertyValue::U64(u64::MAX),
            Unset::DefaultTasksMax => PropertyValue::U64(default_tasks_max),
            Unset::EmptyMask => PropertyValue::Bytes(Vec::new()),
            Unset::Zero => PropertyValue::U64(0),
        }
    }
}

/// A property on one cgroup version: its name and the cgroup files behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct On {
    pub property: &'static str,
    pub files: &'static [&'static str],
}

const fn on(property: &'static str, files: &'static [&'static str]) -> Option<On> {
    Some(On { property, files })
}

pub struct ResourceKey {
    /// The key in `[resources]`.
    pub key: &'static str,
    /// None where cgroup v1 cannot enforce it (systemd 219's v1 controllers had no such knob).
    pub v1: Option<On>,
    /// Always set: v2 can enforce every key.
    pub v2: Option<On>,
    /// Some when systemd can change it on a running scope: what a scope without it has.
    pub live: Option<Unset>,
    /// A string property set along with it: DeviceAllow confines only under DevicePolicy
    /// "closed".
    pub companion: Option<(&'static str, &'static str)>,
    /// The definition's value as the property on that version carries it; None when not set.
    value: fn(&Resources, CgroupVersion) -> Option<PropertyValue>,
}

/// What a definition's key becomes on a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned {
    NotSet,
    Set(Property),
    /// Set, but this host's hierarchy cannot enforce it: the warning that says so.
    NotEnforced(String),
}

impl ResourceKey {
    pub fn on(&self, cgroup: CgroupVersion) -> Option<On> {
        match cgroup {
            CgroupVersion::V1 => self.v1,
            CgroupVersion::V2 => self.v2,
        }
    }

    pub fn property(&self, cgroup: CgroupVersion) -> Option<&'static str> {
        self.on(cgroup).map(|o| o.property)
    }

    pub fn plan(&self, r: &Resources, cgroup: CgroupVersion) -> Planned {
        match ((self.value)(r, cgroup), self.property(cgroup)) {
            (None, _) => Planned::NotSet,
            (Some(value), Some(name)) => Planned::Set(Property { name, value }),
            (Some(_), None) => Planned::NotEnforced(format!(
                "resources.{} is not enforced: this host's resource controllers are on cgroup v1",
                self.key
            )),
        }
    }
}

/// In the order of [`Resources`]' fields, which is the order the scope's properties are set in.
pub static RESOURCES: &[ResourceKey] = &[
    ResourceKey {
        key: "memory_max",
        v1: on("MemoryLimit", &["memory.limit_in_bytes"]),
        v2: on("MemoryMax", &["memory.max"]),
        live: Some(Unset::Max),
        companion: None,
        value: |r, _| r.memory_max.map(limit),
    },
    ResourceKey {
        key: "memory_high",
        v1: None,
        v2: on("MemoryHigh", &["memory.high"]),
        live: Some(Unset::Max),
        companion: None,
        value: |r, _| r.memory_high.map(limit),
    },
    ResourceKey {
        key: "memory_swap_max",
        v1: None,
        v2: on("MemorySwapMax", &["memory.swap.max"]),
        live: Some(Unset::Max),
        companion: None,
        value: |r, _| r.memory_swap_max.map(limit),
    },
    ResourceKey {
        key: "memory_low",
        v1: None,
        v2: on("MemoryLow", &["memory.low"]),
        live: Some(Unset::Zero),
        companion: None,
        value: |r, _| r.memory_low.map(limit),
    },
    ResourceKey {
        key: "cpu_quota",
        v1: on(
            "CPUQuotaPerSecUSec",
            &["cpu.cfs_quota_us", "cpu.cfs_period_us"],
        ),
        v2: on("CPUQuotaPerSecUSec", &["cpu.max"]),
        live: Some(Unset::Max),
        companion: None,
        // 1% of a CPU is 10 ms of CPU time per second, so one permyriad is 100 µs.
        value: |r, _| r.cpu_quota_permyriad.map(|q| PropertyValue::U64(q * 100)),
    },
    ResourceKey {
        key: "cpu_weight",
        v1: on("CPUShares", &["cpu.shares"]),
        v2: on("CPUWeight", &["cpu.weight"]),
        live: Some(Unset::Max),
        companion: None,
        value: |r, cgroup| {
            r.cpu_weight.map(|w| {
                PropertyValue::U64(match cgroup {
                    CgroupVersion::V1 => cpu_weight_to_shares(w),
                    CgroupVersion::V2 => w,
                })
            })
        },
    },
    ResourceKey {
        key: "io_weight",
        v1: on("BlockIOWeight", &["blkio.weight"]),
        v2: on("IOWeight", &["io.weight"]),
        live: Some(Unset::Max),
        companion: None,
        value: |r, cgroup| {
            r.io_weight.map(|w| {
                PropertyValue::U64(match cgroup {
                    CgroupVersion::V1 => io_weight_to_blkio(w),
                    CgroupVersion::V2 => w,
                })
            })
        },
    },
    // A live update could add and change a device's limit but not drop one (systemd merges
    // the list it gets into the scope's), so a changed IO limit restarts the container.
    ResourceKey {
        key: "io_read_bandwidth_max",
        v1: on("BlockIOReadBandwidth", &["blkio.throttle.read_bps_device"]),
        v2: on("IOReadBandwidthMax", &["io.max"]),
        live: None,
        companion: None,
        value: |r, _| device_limits(&r.io_read_bandwidth_max),
    },
    ResourceKey {
        key: "io_write_bandwidth_max",
        v1: on(
            "BlockIOWriteBandwidth",
            &["blkio.throttle.write_bps_device"],
        ),
        v2: on("IOWriteBandwidthMax", &["io.max"]),
        live: None,
        companion: None,
        value: |r, _| device_limits(&r.io_write_bandwidth_max),
    },
    ResourceKey {
        key: "io_read_iops_max",
        // systemd's blkio side writes bandwidth only, never blkio.throttle.*_iops_device.
        v1: None,
        v2: on("IOReadIOPSMax", &["io.max"]),
        live: None,
        companion: None,
        value: |r, _| device_limits(&r.io_read_iops_max),
    },
    ResourceKey {
        key: "io_write_iops_max",
        v1: None,
        v2: on("IOWriteIOPSMax", &["io.max"]),
        live: None,
        companion: None,
        value: |r, _| device_limits(&r.io_write_iops_max),
    },
    ResourceKey {
        key: "tasks_max",
        v1: on("TasksMax", &["pids.max"]),
        v2: on("TasksMax", &["pids.max"]),
        live: Some(Unset::DefaultTasksMax),
        companion: None,
        value: |r, _| r.tasks_max.map(limit),
    },
    ResourceKey {
        key: "allowed_cpus",
        v1: None,
        v2: on("AllowedCPUs", &["cpuset.cpus"]),
        live: Some(Unset::EmptyMask),
        companion: None,
        value: |r, _| {
            r.allowed_cpus
                .as_ref()
                .map(|c| PropertyValue::Bytes(cpu_mask(c)))
        },
    },
    ResourceKey {
        key: "allowed_memory_nodes",
        // systemd 219's v1 side has no cpuset controller at all.
        v1: None,
        v2: on("AllowedMemoryNodes", &["cpuset.mems"]),
        live: Some(Unset::EmptyMask),
        companion: None,
        value: |r, _| {
            r.allowed_memory_nodes
                .as_ref()
                .map(|n| PropertyValue::Bytes(cpu_mask(n)))
        },
    },
    ResourceKey {
        key: "devices",
        // v2 has no device files: systemd attaches a BPF program to the cgroup instead.
        v1: on("DeviceAllow", &["devices.deny", "devices.allow"]),
        v2: on("DeviceAllow", &[]),
        // Access already granted to open files would outlive a narrower list.
        live: None,
        companion: Some(("DevicePolicy", "closed")),
        // Always set: every container gets the minimal /dev.
        value: |r, _| Some(PropertyValue::Devices(devices::allow(&r.devices))),
    },
];

/// The usage accounting every scope has, as (v1, v2) property names.
pub const ACCOUNTING: [(&str, &str); 4] = [
    ("MemoryAccounting", "MemoryAccounting"),
    ("CPUAccounting", "CPUAccounting"),
    ("TasksAccounting", "TasksAccounting"),
    ("BlockIOAccounting", "IOAccounting"),
];

/// The row of a `[resources]` key such as `memory_max`.
pub fn find(key: &str) -> Option<&'static ResourceKey> {
    RESOURCES.iter().find(|r| r.key == key)
}

fn limit(l: Limit) -> PropertyValue {
    PropertyValue::U64(match l {
        Limit::Value(v) => v,
        Limit::Infinity => u64::MAX,
    })
}

/// A per-device table as (device, limit) pairs; None when empty. "infinity" is u64::MAX, as
/// systemd reads it.
fn device_limits(limits: &BTreeMap<String, Limit>) -> Option<PropertyValue> {
    (!limits.is_empty()).then(|| {
        PropertyValue::DeviceLimits(
            limits
                .iter()
                .map(|(dev, l)| {
                    let v = match l {
                        Limit::Value(v) => *v,
                        Limit::Infinity => u64::MAX,
                    };
                    (dev.clone(), v)
                })
                .collect(),
        )
    })
}

/// systemd's scaling of a CPU weight (default 100) to v1 shares (default 1024).
fn cpu_weight_to_shares(weight: u64) -> u64 {
    (weight * 1024 / 100).clamp(2, 262_144)
}

/// systemd's `cgroup_weight_io_to_blkio()`: IO weight 1-10000 (default 100) to blkio 10-1000
/// (default 500).
fn io_weight_to_blkio(weight: u64) -> u64 {
    (weight * 500 / 100).clamp(10, 1000)
}

/// systemd's CPU set mask: bit N of byte N/8 stands for CPU (or memory node) N.
fn cpu_mask(cpus: &BTreeSet<u32>) -> Vec<u8> {
    let len = cpus
        .iter()
        .next_back()
        .map_or(0, |max| *max as usize / 8 + 1);
    let mut mask = vec![0u8; len];
    for cpu in cpus {
        mask[*cpu as usize / 8] |= 1 << (cpu % 8);
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::schema::{self, Kind};

    #[test]
    fn weight_conversions_match_systemd() {
        assert_eq!(cpu_weight_to_shares(100), 1024);
        assert_eq!(cpu_weight_to_shares(1), 10);
        assert_eq!(cpu_weight_to_shares(10000), 102_400);
        assert_eq!(io_weight_to_blkio(100), 500);
        assert_eq!(io_weight_to_blkio(1), 10);
        assert_eq!(io_weight_to_blkio(10000), 1000);
    }

    /// Every key of the schema's `[resources]` has its row, in the schema's order, and the
    /// schema's description names the properties the row sets.
    #[test]
    fn one_row_per_schema_key() {
        let Some(Kind::Table(keys)) = schema::find(&["resources"]).map(|k| &k.kind) else {
            panic!("no [resources] table")
        };
        let rows: Vec<&str> = RESOURCES.iter().map(|r| r.key).collect();
        let schema_keys: Vec<&str> = keys.iter().map(|k| k.name).collect();
        assert_eq!(rows, schema_keys);
        for (row, key) in RESOURCES.iter().zip(keys.iter()) {
            for on in [row.v1, row.v2].into_iter().flatten() {
                // The schema speaks unit file syntax: CPUQuota= is CPUQuotaPerSecUSec on D-Bus.
                let named = key
                    .doc
                    .split(|c: char| !c.is_ascii_alphanumeric() && c != '=')
                    .filter_map(|w| w.strip_suffix('='))
                    .any(|w| on.property.starts_with(w));
                assert!(named || row.key == "devices", "{}: {}", row.key, key.doc);
                assert!(on.files.iter().all(|f| f.contains('.')), "{}", row.key);
            }
            // The warning of an unenforced key blames cgroup v1: v2 has every property.
            assert!(row.v2.is_some(), "{}", row.key);
            if row.v1.is_none() {
                assert!(key.doc.contains("cgroup v2 only"), "{}", row.key);
            }
        }
    }

    #[test]
    fn v1_only_keys_warn() {
        let r = Resources {
            memory_high: Some(Limit::Value(1)),
            ..Resources::default()
        };
        let row = find("memory_high").unwrap();
        assert_eq!(
            row.plan(&r, CgroupVersion::V1),
            Planned::NotEnforced(
                "resources.memory_high is not enforced: this host's resource controllers are on cgroup v1".into()
            )
        );
        assert_eq!(
            row.plan(&r, CgroupVersion::V2),
            Planned::Set(Property {
                name: "MemoryHigh",
                value: PropertyValue::U64(1)
            })
        );
        assert_eq!(
            find("memory_max").unwrap().plan(&r, CgroupVersion::V1),
            Planned::NotSet
        );
    }

    #[test]
    fn memory_nodes_are_a_v2_mask() {
        let r = Resources {
            allowed_memory_nodes: Some([0, 9].into_iter().collect()),
            ..Resources::default()
        };
        let row = find("allowed_memory_nodes").unwrap();
        assert_eq!(
            row.plan(&r, CgroupVersion::V2),
            Planned::Set(Property {
                name: "AllowedMemoryNodes",
                value: PropertyValue::Bytes(vec![0b0000_0001, 0b0000_0010])
            })
        );
        assert!(matches!(
            row.plan(&r, CgroupVersion::V1),
            Planned::NotEnforced(_)
        ));
    }
}
