//! Every key a definition may hold: its table, kind, default and a one-line description.
//!
//! The parser, the merge, `berth show` and the reference test all walk this one table, so a key
//! is declared once.

use super::choices::{EtcMode, KindName, Mode, Network, SelinuxMode, UserNamespace, VarMode};
use super::value::{MapKey, Scalar};

pub struct Key {
    pub name: &'static str,
    pub kind: Kind,
    pub default: Default,
    pub doc: &'static str,
}

pub enum Kind {
    /// A fixed table such as `[resources]`.
    Table(&'static [Key]),
    /// One value; a later file replaces it.
    Scalar(Scalar),
    /// A list whose items a later file appends; `[]`, or a list starting with `""`, resets it.
    List(Scalar),
    /// A table keyed by identity (a variable's name, a mount's target, a device's path): a later
    /// file changes entries one by one, and an entry set to `false` is removed.
    Map(MapKey, Entry),
}

pub enum Entry {
    Scalar(Scalar),
    Table(&'static [Key]),
}

pub enum Default {
    None,
    /// The default, written as TOML.
    Literal(&'static str),
    /// Derived from other values; the text says how.
    Computed(&'static str),
}

const fn key(name: &'static str, kind: Kind, default: Default, doc: &'static str) -> Key {
    Key {
        name,
        kind,
        default,
        doc,
    }
}

use Default::{Computed, Literal, None as NoDefault};

pub static ROOT: &[Key] = &[
    key("description", Kind::Scalar(Scalar::Text), Literal("\"\""), "what the container is for; shown by systemctl and berth list"),
    key("kind", Kind::Scalar(Scalar::Choice(KindName::NAMES)), Literal("\"host\""), "host: the host's /usr under a private /etc and /var; image: a root tree with a copy-on-write layer"),
    key("image", Kind::Scalar(Scalar::ImageName), NoDefault, "kind = \"image\": an image imported under /var/lib/berth/images"),
    key("root", Kind::Scalar(Scalar::AbsPath), NoDefault, "kind = \"image\": a root tree used read-only, instead of image"),
    key("mode", Kind::Scalar(Scalar::Choice(Mode::NAMES)), Literal("\"app\""), "app: berth's small init runs exec.command; boot: the container's own /sbin/init runs as PID 1"),
    key("group", Kind::Scalar(Scalar::Group), NoDefault, "slice group: \"web\" puts the container in berth-web.slice, \"web/front\" in berth-web-front.slice"),
    key("autostart", Kind::Scalar(Scalar::Bool), Literal("false"), "started by berth apply (and so at boot)"),
    key("register_machine", Kind::Scalar(Scalar::Bool), Literal("true"), "register with systemd-machined, for machinectl"),
    key("hostname", Kind::Scalar(Scalar::Hostname), Computed("the container's name, where that is a valid host name"), "the container's host name"),
    key("exec", Kind::Table(EXEC), NoDefault, "what runs in the container"),
    key("resources", Kind::Table(RESOURCES), NoDefault, "limits that systemd enforces on the container's cgroup"),
    key("filesystem", Kind::Table(FILESYSTEM), NoDefault, "how the container's file system is built"),
    key("network", Kind::Table(NETWORK), NoDefault, "the container's network"),
    key("security", Kind::Table(SECURITY), NoDefault, "confinement of the container's processes"),
];

/// A group file, `/etc/berth/groups/GROUP.toml`: the limits of the group's slice, shared by
/// all its containers. The same `[resources]` as a container's, but `devices` (the slice would
/// only narrow what each container's own list allows) is refused when the group is built.
pub static GROUP_ROOT: &[Key] = &[
    key(
        "description",
        Kind::Scalar(Scalar::Text),
        Literal("\"\""),
        "what the group is for; the Description of its slice",
    ),
    key(
        "resources",
        Kind::Table(RESOURCES),
        NoDefault,
        "limits that systemd enforces on the group's slice, shared by all its containers",
    ),
];

static EXEC: &[Key] = &[
    key(
        "command",
        Kind::Scalar(Scalar::Command),
        Computed("[\"/sbin/init\"] in boot mode; required in app mode"),
        "the program and its arguments; a later file replaces the whole list",
    ),
    key(
        "environment",
        Kind::Map(MapKey::EnvName, Entry::Scalar(Scalar::Text)),
        NoDefault,
        "environment variables, NAME = \"value\"; container=berth is always set",
    ),
    key(
        "user",
        Kind::Scalar(Scalar::User),
        Literal("\"root\""),
        "the user the command runs as, looked up in the container's /etc/passwd",
    ),
    key(
        "working_directory",
        Kind::Scalar(Scalar::AbsPath),
        Literal("\"/\""),
        "the directory the command starts in",
    ),
    key(
        "stop_signal",
        Kind::Scalar(Scalar::Signal),
        Computed("\"SIGTERM\"; \"SIGRTMIN+3\" in boot mode"),
        "the signal that asks the container to stop",
    ),
    key(
        "stop_timeout",
        Kind::Scalar(Scalar::Duration),
        Literal("\"30s\""),
        "how long a stop waits before killing what is left",
    ),
];

static RESOURCES: &[Key] = &[
    key(
        "memory_max",
        Kind::Scalar(Scalar::Size),
        NoDefault,
        "hard memory limit (MemoryMax=; MemoryLimit= on cgroup v1)",
    ),
    key(
        "memory_high",
        Kind::Scalar(Scalar::Size),
        NoDefault,
        "memory throttling threshold (MemoryHigh=; cgroup v2 only)",
    ),
    key(
        "memory_swap_max",
        Kind::Scalar(Scalar::Size),
        NoDefault,
        "swap limit (MemorySwapMax=; cgroup v2 only)",
    ),
    key(
        "memory_low",
        Kind::Scalar(Scalar::Size),
        NoDefault,
        "memory kept from reclaim while the host is short of memory (MemoryLow=; cgroup v2 only)",
    ),
    key(
        "cpu_quota",
        Kind::Scalar(Scalar::Percent),
        NoDefault,
        "CPU time limit; 100% is one whole CPU (CPUQuota=)",
    ),
    key(
        "cpu_weight",
        Kind::Scalar(Scalar::Weight),
        NoDefault,
        "relative CPU share, 1-10000, 100 is the norm (CPUWeight=; CPUShares= on cgroup v1)",
    ),
    key(
        "io_weight",
        Kind::Scalar(Scalar::Weight),
        NoDefault,
        "relative IO share, 1-10000 (IOWeight=; BlockIOWeight= on cgroup v1)",
    ),
    key(
        "io_read_bandwidth_max",
        Kind::Map(MapKey::AbsPath, Entry::Scalar(Scalar::Size)),
        NoDefault,
        "read bytes per second per block device, \"/dev/vda\" = \"10M\" (IOReadBandwidthMax=; BlockIOReadBandwidth= on cgroup v1)",
    ),
    key(
        "io_write_bandwidth_max",
        Kind::Map(MapKey::AbsPath, Entry::Scalar(Scalar::Size)),
        NoDefault,
        "written bytes per second per block device (IOWriteBandwidthMax=; BlockIOWriteBandwidth= on cgroup v1)",
    ),
    key(
        "io_read_iops_max",
        Kind::Map(MapKey::AbsPath, Entry::Scalar(Scalar::Tasks)),
        NoDefault,
        "read operations per second per block device (IOReadIOPSMax=; cgroup v2 only)",
    ),
    key(
        "io_write_iops_max",
        Kind::Map(MapKey::AbsPath, Entry::Scalar(Scalar::Tasks)),
        NoDefault,
        "write operations per second per block device (IOWriteIOPSMax=; cgroup v2 only)",
    ),
    key(
        "tasks_max",
        Kind::Scalar(Scalar::Tasks),
        NoDefault,
        "the most processes and threads at once (TasksMax=)",
    ),
    key(
        "allowed_cpus",
        Kind::Scalar(Scalar::Cpus),
        NoDefault,
        "the CPUs the container may run on, e.g. \"0-3,6\" (AllowedCPUs=; cgroup v2 only)",
    ),
    key(
        "allowed_memory_nodes",
        Kind::Scalar(Scalar::Cpus),
        NoDefault,
        "the NUMA memory nodes the container may allocate from, e.g. \"0-1\" (AllowedMemoryNodes=; cgroup v2 only)",
    ),
    key(
        "devices",
        Kind::Map(MapKey::Device, Entry::Scalar(Scalar::DeviceAccess)),
        NoDefault,
        "device nodes the container may use beyond the minimal /dev, \"/dev/fuse\" = \"rw\"",
    ),
];

static FILESYSTEM: &[Key] = &[
    key("etc", Kind::Scalar(Scalar::Choice(EtcMode::NAMES)), Literal("\"persistent\""), "persistent: a private /etc under /var/lib/berth/NAME, seeded from the host's on first start; volatile: seeded afresh into a tmpfs at every start; host: the host's /etc read-only"),
    key("var", Kind::Scalar(Scalar::Choice(VarMode::NAMES)), Literal("\"persistent\""), "persistent: a private /var under /var/lib/berth/NAME; volatile: an empty tmpfs at every start"),
    key("binds", Kind::Map(MapKey::AbsPath, Entry::Table(BIND)), NoDefault, "bind mounts keyed by their path in the container"),
    key("tmpfs", Kind::Map(MapKey::AbsPath, Entry::Table(TMPFS)), NoDefault, "tmpfs mounts keyed by their path in the container"),
    key("read_only_paths", Kind::List(Scalar::AbsPath), NoDefault, "paths made read-only in the container, beyond the defaults"),
    key("masked_paths", Kind::List(Scalar::AbsPath), NoDefault, "paths hidden in the container, beyond the defaults"),
];

static BIND: &[Key] = &[
    key(
        "source",
        Kind::Scalar(Scalar::AbsPath),
        Computed("the same path as the target"),
        "the host path to bind",
    ),
    key(
        "read_only",
        Kind::Scalar(Scalar::Bool),
        Literal("true"),
        "bind read-only",
    ),
];

static TMPFS: &[Key] = &[
    key(
        "size",
        Kind::Scalar(Scalar::Size),
        NoDefault,
        "size limit (the kernel's default: half of RAM)",
    ),
    key(
        "mode",
        Kind::Scalar(Scalar::Mode),
        Literal("\"0755\""),
        "permissions of the mount's root directory",
    ),
];

static NETWORK: &[Key] = &[key(
    "mode",
    Kind::Scalar(Scalar::Choice(Network::NAMES)),
    Literal("\"host\""),
    "host: the host's network; none: a network namespace with only loopback; private: an own network namespace connected to the host",
)];

static SECURITY: &[Key] = &[
    key(
        "capabilities_add",
        Kind::List(Scalar::Capability),
        NoDefault,
        "capabilities added to the default set",
    ),
    key(
        "capabilities_drop",
        Kind::List(Scalar::Capability),
        NoDefault,
        "capabilities removed from the default set",
    ),
    key(
        "no_new_privileges",
        Kind::Scalar(Scalar::Bool),
        Computed("true; false in boot mode, where the container's own su and login must work"),
        "set no_new_privs, so that setuid binaries gain nothing",
    ),
    key(
        "seccomp",
        Kind::Scalar(Scalar::Seccomp),
        Literal("\"default\""),
        "system call filter: \"default\", \"unconfined\" or a profile file",
    ),
    key(
        "user_namespace",
        Kind::Scalar(Scalar::Choice(UserNamespace::NAMES)),
        Literal("\"off\""),
        "auto: a private range of 65536 user and group IDs",
    ),
    key(
        "selinux",
        Kind::Scalar(Scalar::Choice(SelinuxMode::NAMES)),
        Literal("\"auto\""),
        "auto: a unique MCS label when SELinux is enabled; off: the caller's label",
    ),
    key(
        "selinux_type",
        Kind::Scalar(Scalar::SelinuxType),
        Computed("\"container_t\"; \"container_init_t\" in boot mode"),
        "the SELinux type of the container's processes",
    ),
    key(
        "selinux_level",
        Kind::Scalar(Scalar::SelinuxLevel),
        NoDefault,
        "a fixed MCS level instead of an allocated one",
    ),
];

/// Finds the key at a path of table names, e.g. `["resources", "memory_max"]`.
pub fn find(path: &[&str]) -> Option<&'static Key> {
    let (last, tables) = path.split_last()?;
    let mut keys = ROOT;
    for t in tables {
        match keys.iter().find(|k| k.name == *t)?.kind {
            Kind::Table(sub) => keys = sub,
            _ => return None,
        }
    }
    keys.iter().find(|k| k.name == *last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(keys: &'static [Key], f: &mut dyn FnMut(&'static Key)) {
        for k in keys {
            f(k);
            match &k.kind {
                Kind::Table(sub) | Kind::Map(_, Entry::Table(sub)) => walk(sub, f),
                _ => {}
            }
        }
    }

    #[test]
    fn every_literal_default_is_valid_for_its_key() {
        walk(ROOT, &mut |k| {
            if let (Default::Literal(text), Kind::Scalar(s)) = (&k.default, &k.kind) {
                let v = toml::de::DeValue::parse(text).expect("default is TOML");
                assert!(s.parse(v.get_ref()).is_ok(), "default of {}", k.name);
            }
        });
    }

    #[test]
    fn keys_are_snake_case_and_unique_per_table() {
        fn check(keys: &'static [Key]) {
            let mut names: Vec<&str> = keys.iter().map(|k| k.name).collect();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), keys.len());
            for k in keys {
                assert!(
                    k.name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                    "{}",
                    k.name
                );
                if let Kind::Table(sub) | Kind::Map(_, Entry::Table(sub)) = k.kind {
                    check(sub);
                }
            }
        }
        check(ROOT);
    }

    #[test]
    fn find_walks_tables() {
        assert!(find(&["resources", "memory_max"]).is_some());
        assert!(find(&["description"]).is_some());
        assert!(find(&["resources", "nope"]).is_none());
        assert!(find(&["description", "x"]).is_none());
    }
}
