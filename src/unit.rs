//! The transient scope a container runs in, planned as plain data: unit name, slice chain and
//! the typed unit properties with their D-Bus signatures, ready for `StartTransientUnit`.
//!
//! Two property sets exist because systemd renamed the resource properties when cgroup v2
//! arrived: a v1 host (RHEL 7/8, or the hybrid hierarchy) gets the names systemd 219 already
//! knew (MemoryLimit, CPUShares, BlockIOWeight), a v2 host the current ones. Which key becomes
//! which property is [`resources`]' table; the devices every container gets are [`devices`]'.

pub mod devices;
pub mod resources;

use crate::definition::model::{Definition, Resources};
use crate::name::{slice_chain, Group};
use resources::{Planned, Unset, ACCOUNTING, RESOURCES};

/// Which cgroup hierarchy holds the resource controllers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupVersion {
    /// Legacy or hybrid: controllers on cgroup v1.
    V1,
    /// Unified: everything on cgroup v2.
    V2,
}

/// A unit property value, typed as it goes over D-Bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertyValue {
    Str(String),
    Bool(bool),
    I32(i32),
    U64(u64),
    U32s(Vec<u32>),
    Bytes(Vec<u8>),
    /// DeviceAllow: (device, access) pairs.
    Devices(Vec<(String, String)>),
    /// IOReadBandwidthMax and the like: (device path, limit) pairs.
    DeviceLimits(Vec<(String, u64)>),
}

impl PropertyValue {
    /// The D-Bus type signature.
    pub fn signature(&self) -> &'static str {
        match self {
            PropertyValue::Str(_) => "s",
            PropertyValue::Bool(_) => "b",
            PropertyValue::I32(_) => "i",
            PropertyValue::U64(_) => "t",
            PropertyValue::U32s(_) => "au",
            PropertyValue::Bytes(_) => "ay",
            PropertyValue::Devices(_) => "a(ss)",
            PropertyValue::DeviceLimits(_) => "a(st)",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    pub name: &'static str,
    pub value: PropertyValue,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopePlan {
    /// `berth-NAME.scope`.
    pub unit: String,
    /// Parents first, ending in the slice the scope is placed in.
    pub slices: Vec<String>,
    pub properties: Vec<Property>,
    /// Settings that this host's cgroup version cannot enforce, said out loud.
    pub warnings: Vec<String>,
}

impl ScopePlan {
    pub fn property(&self, name: &str) -> Option<&PropertyValue> {
        self.properties
            .iter()
            .find(|p| p.name == name)
            .map(|p| &p.value)
    }

    /// The plan with the processes that form the scope; systemd moves them into it.
    pub fn with_pids(mut self, pids: &[u32]) -> Self {
        self.properties.push(Property {
            name: "PIDs",
            value: PropertyValue::U32s(pids.to_vec()),
        });
        self
    }
}

/// The Description of a container's scope.
pub fn description(def: &Definition) -> String {
    if def.description.is_empty() {
        format!("berth container {}", def.name)
    } else {
        format!("{} (berth container {})", def.description, def.name)
    }
}

/// Plans the container's scope. Pure: the same definition and cgroup version give the same plan.
pub fn plan_scope(def: &Definition, cgroup: CgroupVersion) -> ScopePlan {
    let slices = slice_chain(def.group.as_ref());
    let mut props = Vec::new();
    let mut warnings = Vec::new();
    let mut push = |name: &'static str, value: PropertyValue| props.push(Property { name, value });

    push("Description", PropertyValue::Str(description(def)));
    push(
        "Slice",
        PropertyValue::Str(slices.last().cloned().unwrap_or_default()),
    );
    push("Delegate", PropertyValue::Bool(true));
    push(
        "CollectMode",
        PropertyValue::Str("inactive-or-failed".into()),
    );
    push(
        "KillSignal",
        PropertyValue::I32(def.exec.stop_signal.number()),
    );
    push(
        "TimeoutStopUSec",
        PropertyValue::U64(def.exec.stop_timeout_usec),
    );

    let r = &def.resources;
    // Usage is reported whether or not it is limited: `berth status` and `systemctl status`
    // show memory, CPU time, tasks and IO of every container.
    for (v1, v2) in ACCOUNTING {
        let name = match cgroup {
            CgroupVersion::V1 => v1,
            CgroupVersion::V2 => v2,
        };
        push(name, PropertyValue::Bool(true));
    }
    for resource in RESOURCES {
        match resource.plan(r, cgroup) {
            Planned::NotSet => {}
            Planned::Set(property) => {
                if let Some((name, value)) = resource.companion {
                    push(name, PropertyValue::Str(value.into()));
                }
                push(property.name, property.value);
            }
            Planned::NotEnforced(warning) => warnings.push(warning),
        }
    }

    ScopePlan {
        unit: def.name.scope_unit(),
        slices,
        properties: props,
        warnings,
    }
}

/// The limits of a group's slice, `berth-GROUP.slice`, shared by all the group's containers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlicePlan {
    /// `berth-GROUP.slice` (for a nested group, the innermost level's).
    pub unit: String,
    pub description: String,
    /// Every resource property the slice can have: the group's value where its file sets one,
    /// and where not, what a slice without it has, so that a limit taken out of the file is
    /// lifted from a slice that had it.
    pub properties: Vec<Property>,
    /// Settings that this host's cgroup version cannot enforce, said out loud.
    pub warnings: Vec<String>,
}

/// Plans a group's slice from its `[resources]`.
pub fn plan_slice(
    group: &Group,
    description: &str,
    r: &Resources,
    cgroup: CgroupVersion,
) -> SlicePlan {
    let mut properties = Vec::new();
    let mut warnings = Vec::new();
    // A group's file takes no devices (crate::definition::group): the row's value would be
    // every container's minimal /dev, which means nothing on a slice.
    for resource in RESOURCES.iter().filter(|r| r.companion.is_none()) {
        match resource.plan(r, cgroup) {
            Planned::Set(property) => properties.push(property),
            Planned::NotEnforced(warning) => warnings.push(format!("group {group}: {warning}")),
            Planned::NotSet => {
                let Some(name) = resource.property(cgroup) else {
                    continue;
                };
                let value = match resource.live {
                    // systemd gives slices no DefaultTasksMax: theirs is "infinity".
                    Some(Unset::DefaultTasksMax) => PropertyValue::U64(u64::MAX),
                    Some(unset) => unset.value(u64::MAX),
                    // An empty list lifts every device's limit of that kind.
                    None => PropertyValue::DeviceLimits(Vec::new()),
                };
                properties.push(Property { name, value });
            }
        }
    }
    let unit = group.slice_chain().pop().unwrap_or_default();
    SlicePlan {
        description: if description.is_empty() {
            format!("berth group {group}")
        } else {
            format!("{description} (berth group {group})")
        },
        unit,
        properties,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::from_sources;
    use crate::diagnostic::Source;
    use crate::name::Name;

    fn definition(name: &str, text: &str) -> Definition {
        let sources = vec![Source::new("/t.toml", text)];
        from_sources(&Name::new(name).unwrap(), sources)
            .unwrap()
            .definition
    }

    const FULL: &str = r#"
description = "db"
group = "data/hot"
[exec]
command = ["/bin/true"]
stop_signal = "SIGINT"
stop_timeout = "1min"
[resources]
memory_max = "1G"
memory_high = "768M"
memory_swap_max = "0"
cpu_quota = "150%"
cpu_weight = 200
io_weight = 50
tasks_max = "infinity"
allowed_cpus = "0-3,9"
devices = { "/dev/fuse" = "rw", "/dev/null" = "r" }
"#;

    fn names_and_signatures(plan: &ScopePlan) -> Vec<String> {
        plan.properties
            .iter()
            .map(|p| format!("{} {}", p.name, p.value.signature()))
            .collect()
    }

    #[test]
    fn v2_plan_uses_current_names() {
        let plan = plan_scope(&definition("my-db", FULL), CgroupVersion::V2);
        assert_eq!(plan.unit, "berth-my\\x2ddb.scope");
        assert_eq!(
            plan.slices,
            ["berth.slice", "berth-data.slice", "berth-data-hot.slice"]
        );
        assert_eq!(
            names_and_signatures(&plan),
            [
                "Description s",
                "Slice s",
                "Delegate b",
                "CollectMode s",
                "KillSignal i",
                "TimeoutStopUSec t",
                "MemoryAccounting b",
                "CPUAccounting b",
                "TasksAccounting b",
                "IOAccounting b",
                "MemoryMax t",
                "MemoryHigh t",
                "MemorySwapMax t",
                "CPUQuotaPerSecUSec t",
                "CPUWeight t",
                "IOWeight t",
                "TasksMax t",
                "AllowedCPUs ay",
                "DevicePolicy s",
                "DeviceAllow a(ss)",
            ]
        );
        use PropertyValue::*;
        assert_eq!(
            plan.property("Description"),
            Some(&Str("db (berth container my-db)".into()))
        );
        assert_eq!(
            plan.property("Slice"),
            Some(&Str("berth-data-hot.slice".into()))
        );
        assert_eq!(plan.property("KillSignal"), Some(&I32(2)));
        assert_eq!(plan.property("TimeoutStopUSec"), Some(&U64(60_000_000)));
        assert_eq!(plan.property("MemoryMax"), Some(&U64(1 << 30)));
        assert_eq!(plan.property("MemorySwapMax"), Some(&U64(0)));
        assert_eq!(plan.property("CPUQuotaPerSecUSec"), Some(&U64(1_500_000)));
        assert_eq!(plan.property("TasksMax"), Some(&U64(u64::MAX)));
        assert_eq!(
            plan.property("AllowedCPUs"),
            Some(&Bytes(vec![0b0000_1111, 0b0000_0010]))
        );
        let Some(Devices(devices)) = plan.property("DeviceAllow") else {
            panic!()
        };
        assert!(devices.contains(&("/dev/null".into(), "r".into())));
        assert!(!devices.contains(&("/dev/null".into(), "rwm".into())));
        assert!(devices.contains(&("/dev/fuse".into(), "rw".into())));
        assert!(devices.contains(&("char-pts".into(), "rw".into())));
        assert!(plan.warnings.is_empty());
    }

    #[test]
    fn v1_plan_uses_systemd_219_names() {
        let plan = plan_scope(&definition("db", FULL), CgroupVersion::V1);
        let names: Vec<&str> = plan.properties.iter().map(|p| p.name).collect();
        assert!(names.contains(&"MemoryLimit"));
        assert!(names.contains(&"CPUShares"));
        assert!(names.contains(&"BlockIOWeight"));
        assert!(names.contains(&"BlockIOAccounting"));
        for v2_only in [
            "MemoryMax",
            "MemoryHigh",
            "MemorySwapMax",
            "CPUWeight",
            "IOWeight",
            "AllowedCPUs",
            "IOAccounting",
        ] {
            assert!(!names.contains(&v2_only), "{v2_only}");
        }
        assert_eq!(plan.property("CPUShares"), Some(&PropertyValue::U64(2048)));
        assert_eq!(
            plan.property("BlockIOWeight"),
            Some(&PropertyValue::U64(250))
        );
        assert_eq!(
            plan.warnings,
            [
                "resources.memory_high is not enforced: this host's resource controllers are on cgroup v1",
                "resources.memory_swap_max is not enforced: this host's resource controllers are on cgroup v1",
                "resources.allowed_cpus is not enforced: this host's resource controllers are on cgroup v1",
            ]
        );
    }

    #[test]
    fn readme_example_plan() {
        let def = definition("web", include_str!("../examples/web.toml"));
        let plan = plan_scope(&def, CgroupVersion::V1).with_pids(&[42]);
        assert_eq!(plan.unit, "berth-web.scope");
        assert_eq!(
            plan.property("Slice"),
            Some(&PropertyValue::Str("berth-web.slice".into()))
        );
        assert_eq!(
            plan.property("MemoryLimit"),
            Some(&PropertyValue::U64(256 << 20))
        );
        assert_eq!(
            plan.property("CPUQuotaPerSecUSec"),
            Some(&PropertyValue::U64(500_000))
        );
        assert_eq!(plan.property("TasksMax"), Some(&PropertyValue::U64(64)));
        assert_eq!(plan.property("KillSignal"), Some(&PropertyValue::I32(15)));
        assert_eq!(plan.property("PIDs"), Some(&PropertyValue::U32s(vec![42])));
    }

    #[test]
    fn a_group_slice_sets_its_limits_and_lifts_the_others() {
        let group = Group::new("web/front").unwrap();
        let r = Resources {
            memory_max: Some(crate::definition::model::Limit::Value(64 << 20)),
            memory_high: Some(crate::definition::model::Limit::Value(32 << 20)),
            ..Resources::default()
        };
        let plan = plan_slice(&group, "", &r, CgroupVersion::V2);
        assert_eq!(plan.unit, "berth-web-front.slice");
        assert_eq!(plan.description, "berth group web/front");
        use PropertyValue::*;
        let get = |plan: &SlicePlan, name: &str| {
            plan.properties
                .iter()
                .find(|p| p.name == name)
                .map(|p| p.value.clone())
        };
        assert_eq!(get(&plan, "MemoryMax"), Some(U64(64 << 20)));
        assert_eq!(get(&plan, "CPUQuotaPerSecUSec"), Some(U64(u64::MAX)));
        assert_eq!(get(&plan, "TasksMax"), Some(U64(u64::MAX)));
        assert_eq!(get(&plan, "MemoryLow"), Some(U64(0)));
        assert_eq!(get(&plan, "IOReadBandwidthMax"), Some(DeviceLimits(vec![])));
        assert_eq!(get(&plan, "DeviceAllow"), None);
        assert!(plan.warnings.is_empty());

        let plan = plan_slice(&group, "front ends", &r, CgroupVersion::V1);
        assert_eq!(plan.description, "front ends (berth group web/front)");
        assert_eq!(get(&plan, "MemoryLimit"), Some(U64(64 << 20)));
        assert_eq!(get(&plan, "MemoryHigh"), None);
        assert_eq!(
            plan.warnings,
            ["group web/front: resources.memory_high is not enforced: this host's resource controllers are on cgroup v1"]
        );
    }
}
