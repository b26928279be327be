//! The effective definition: merged settings with defaults filled in, as typed data that the
//! planners read. Rules that tie keys together are checked here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::choices::{Choice, KindName, SeccompBuiltin, SelinuxMode, UserNamespace};
pub use super::choices::{EtcMode, Mode, Network, VarMode};
use super::layer::{KeyPath, Origin};
use super::schema::{self, Default, Entry, Key, Kind as KeyKind};
use super::settings::Settings;
use super::value::{Signal, Value};
use crate::name::{Group, Name};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    pub name: Name,
    pub description: String,
    pub kind: Kind,
    pub mode: Mode,
    pub group: Option<Group>,
    pub autostart: bool,
    pub register_machine: bool,
    pub hostname: String,
    pub exec: Exec,
    pub resources: Resources,
    pub filesystem: Filesystem,
    pub network: Network,
    pub security: Security,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Host,
    Image(ImageSource),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    Named(String),
    Root(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exec {
    pub command: Vec<String>,
    pub environment: BTreeMap<String, String>,
    pub user: String,
    pub working_directory: PathBuf,
    pub stop_signal: Signal,
    pub stop_timeout_usec: u64,
}

/// A byte size or count that may be unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Value(u64),
    Infinity,
}

/// `[resources]`; each field's scope property is its row of `crate::unit::resources::RESOURCES`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    pub memory_max: Option<Limit>,
    pub memory_high: Option<Limit>,
    pub memory_swap_max: Option<Limit>,
    pub memory_low: Option<Limit>,
    /// Hundredths of a percent of one CPU.
    pub cpu_quota_permyriad: Option<u64>,
    pub cpu_weight: Option<u64>,
    pub io_weight: Option<u64>,
    /// Block device (or a file on it) to bytes per second.
    pub io_read_bandwidth_max: BTreeMap<String, Limit>,
    pub io_write_bandwidth_max: BTreeMap<String, Limit>,
    /// Block device (or a file on it) to operations per second.
    pub io_read_iops_max: BTreeMap<String, Limit>,
    pub io_write_iops_max: BTreeMap<String, Limit>,
    pub tasks_max: Option<Limit>,
    pub allowed_cpus: Option<BTreeSet<u32>>,
    /// NUMA memory nodes (cpuset.mems).
    pub allowed_memory_nodes: Option<BTreeSet<u32>>,
    /// Device path or class, to access ("r", "rw", "rwm", ...).
    pub devices: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    pub source: PathBuf,
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tmpfs {
    pub size: Option<Limit>,
    pub mode: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filesystem {
    pub etc: EtcMode,
    pub var: VarMode,
    /// Keyed by the path in the container.
    pub binds: BTreeMap<PathBuf, Bind>,
    pub tmpfs: BTreeMap<PathBuf, Tmpfs>,
    pub read_only_paths: Vec<PathBuf>,
    pub masked_paths: Vec<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seccomp {
    Default,
    Unconfined,
    Profile(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selinux {
    Off,
    /// A label for the container's processes; the level is allocated unless fixed.
    Auto {
        process_type: String,
        level: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Security {
    pub capabilities_add: Vec<String>,
    pub capabilities_drop: Vec<String>,
    pub no_new_privileges: bool,
    pub seccomp: Seccomp,
    pub user_namespace: bool,
    pub selinux: Selinux,
}

/// A rule between keys that the definition breaks: the message and the key to point at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub message: String,
    pub key: KeyPath,
    pub expected: Option<String>,
}

/// Fills every default that is not set: the literal ones from the schema and the derived ones.
pub fn fill_defaults(settings: &mut Settings, name: &Name) {
    fill_table(settings, schema::ROOT, &KeyPath(Vec::new()));
    let derived = |settings: &Settings| {
        let boot = settings.value(&["mode"]) == Some(&Value::Str(Mode::Boot.as_str().into()));
        let mut out = vec![
            (KeyPath::of(&["hostname"]), Value::Str(hostname_for(name))),
            (
                KeyPath::of(&["exec", "stop_signal"]),
                Value::Signal(if boot { Signal::RTMIN_3 } else { Signal::TERM }),
            ),
            (
                KeyPath::of(&["security", "no_new_privileges"]),
                Value::Bool(!boot),
            ),
            // container-selinux's domain for an init system and its services.
            (
                KeyPath::of(&["security", "selinux_type"]),
                Value::Str(
                    if boot {
                        "container_init_t"
                    } else {
                        "container_t"
                    }
                    .into(),
                ),
            ),
        ];
        if boot {
            out.push((
                KeyPath::of(&["exec", "command"]),
                Value::List(vec!["/sbin/init".into()]),
            ));
        }
        for target in settings.entry_names(&KeyPath::of(&["filesystem", "binds"])) {
            let path = KeyPath::of(&["filesystem", "binds", &target, "source"]);
            out.push((path, Value::Str(target)));
        }
        out
    };
    for (path, value) in derived(settings) {
        if settings.get(&path).is_none() {
            settings.set(path, value, Origin::Default);
        }
    }
}

/// Fills the literal defaults of a group file's keys.
pub fn fill_group_defaults(settings: &mut Settings) {
    fill_table(settings, schema::GROUP_ROOT, &KeyPath(Vec::new()));
}

/// The `[resources]` of merged settings, a container's or a group's.
pub fn resources_of(settings: &Settings) -> Resources {
    read_resources(&Reader(settings))
}

fn fill_table(settings: &mut Settings, keys: &'static [Key], at: &KeyPath) {
    for key in keys {
        let path = at.child(key.name);
        match (&key.kind, &key.default) {
            (KeyKind::Table(sub), _) => fill_table(settings, sub, &path),
            (KeyKind::Map(_, Entry::Table(sub)), _) => {
                for entry in settings.entry_names(&path) {
                    fill_table(settings, sub, &path.child(&entry));
                }
            }
            (KeyKind::Scalar(scalar), Default::Literal(text)) if settings.get(&path).is_none() => {
                let parsed = toml::de::DeValue::parse(text)
                    .ok()
                    .and_then(|v| scalar.parse(v.get_ref()).ok());
                if let Some(value) = parsed {
                    settings.set(path, value, Origin::Default);
                }
            }
            _ => {}
        }
    }
}

/// The container's name as a host name: `_` is not allowed there, so it becomes `-`.
fn hostname_for(name: &Name) -> String {
    let s: String = name
        .as_str()
        .chars()
        .map(|c| if c == '_' { '-' } else { c })
        .collect();
    let labels: Vec<&str> = s
        .split('.')
        .map(|l| l.trim_matches('-'))
        .filter(|l| !l.is_empty())
        .collect();
    match labels.join(".") {
        h if h.is_empty() => "berth".into(),
        h => h,
    }
}

/// Reads settings (defaults filled) into a definition, or the rules between keys it breaks.
pub fn build(name: &Name, s: &Settings) -> Result<Definition, Vec<Conflict>> {
    let r = Reader(s);
    let mut conflicts = Vec::new();
    let conflict = |message: String, key: &[&str], expected: Option<&str>| Conflict {
        message,
        key: KeyPath::of(key),
        expected: expected.map(str::to_owned),
    };

    let kind = match (
        KindName::from_name(&r.str(&["kind"])),
        r.opt_str(&["image"]),
        r.opt_str(&["root"]),
    ) {
        (Some(KindName::Image), Some(image), None) => Kind::Image(ImageSource::Named(image)),
        (Some(KindName::Image), None, Some(root)) => Kind::Image(ImageSource::Root(root.into())),
        (Some(KindName::Image), Some(_), Some(_)) => {
            conflicts.push(conflict(
                "`image` and `root` are both set; an image container has one or the other".into(),
                &["root"],
                None,
            ));
            Kind::Host
        }
        (Some(KindName::Image), None, None) => {
            conflicts.push(conflict(
                "kind = \"image\" needs `image` (an imported image) or `root` (a root tree)".into(),
                &["kind"],
                Some("image = \"NAME\" or root = \"/path/to/tree\""),
            ));
            Kind::Host
        }
        (_, image, root) => {
            if image.is_some() || root.is_some() {
                let which = if image.is_some() { "image" } else { "root" };
                conflicts.push(conflict(
                    format!("`{which}` is only for kind = \"image\", but this container's kind is \"host\""),
                    &[which],
                    Some("kind = \"image\""),
                ));
            }
            Kind::Host
        }
    };
    let mode = r.choice(&["mode"]).unwrap_or(Mode::App);
    let command = r.list(&["exec", "command"]);
    if command.is_empty() {
        conflicts.push(conflict(
            "an app-mode container needs a command: `command` in [exec]".into(),
            &["mode"],
            Some("[exec] command = [\"/path/to/program\", \"arg\", ...]"),
        ));
    }

    let security = read_security(&r, &mut conflicts);
    let filesystem = read_filesystem(&r, &mut conflicts);
    if security.user_namespace && (kind != Kind::Host || mode == Mode::Boot) {
        let which = if kind != Kind::Host {
            "image containers"
        } else {
            "boot mode"
        };
        conflicts.push(conflict(
            format!("user_namespace = \"auto\" is not supported for {which} yet"),
            &["security", "user_namespace"],
            Some("user_namespace = \"off\""),
        ));
    }
    if mode == Mode::Boot && r.str(&["exec", "user"]) != "root" {
        conflicts.push(conflict(
            "a boot-mode container's init runs as root; its services choose their own users".into(),
            &["exec", "user"],
            Some("no `user` in [exec] for mode = \"boot\""),
        ));
    }

    let definition = Definition {
        name: name.clone(),
        description: r.str(&["description"]),
        kind,
        mode,
        group: r.opt_str(&["group"]).and_then(|g| Group::new(&g).ok()),
        autostart: r.bool(&["autostart"]),
        register_machine: r.bool(&["register_machine"]),
        hostname: r.str(&["hostname"]),
        exec: Exec {
            command,
            environment: r.string_map(&["exec", "environment"]),
            user: r.str(&["exec", "user"]),
            working_directory: r.str(&["exec", "working_directory"]).into(),
            stop_signal: match s.value(&["exec", "stop_signal"]) {
                Some(Value::Signal(sig)) => *sig,
                _ => Signal::TERM,
            },
            stop_timeout_usec: match s.value(&["exec", "stop_timeout"]) {
                Some(Value::Usec(u)) => *u,
                _ => 30_000_000,
            },
        },
        resources: read_resources(&r),
        filesystem,
        network: r.choice(&["network", "mode"]).unwrap_or(Network::Host),
        security,
    };
    if conflicts.is_empty() {
        Ok(definition)
    } else {
        Err(conflicts)
    }
}

fn read_resources(r: &Reader<'_>) -> Resources {
    let res = |k: &'static str| ["resources", k];
    Resources {
        memory_max: r.limit(&res("memory_max")),
        memory_high: r.limit(&res("memory_high")),
        memory_swap_max: r.limit(&res("memory_swap_max")),
        memory_low: r.limit(&res("memory_low")),
        cpu_quota_permyriad: match r.0.value(&res("cpu_quota")) {
            Some(Value::Permyriad(p)) => Some(*p),
            _ => None,
        },
        cpu_weight: r.int(&res("cpu_weight")),
        io_weight: r.int(&res("io_weight")),
        io_read_bandwidth_max: r.limit_map(&res("io_read_bandwidth_max")),
        io_write_bandwidth_max: r.limit_map(&res("io_write_bandwidth_max")),
        io_read_iops_max: r.limit_map(&res("io_read_iops_max")),
        io_write_iops_max: r.limit_map(&res("io_write_iops_max")),
        tasks_max: r.limit(&res("tasks_max")),
        allowed_cpus: match r.0.value(&res("allowed_cpus")) {
            Some(Value::Cpus(c)) => Some(c.clone()),
            _ => None,
        },
        allowed_memory_nodes: match r.0.value(&res("allowed_memory_nodes")) {
            Some(Value::Cpus(c)) => Some(c.clone()),
            _ => None,
        },
        devices: r.string_map(&res("devices")),
    }
}

/// berth builds these itself; a mount on top of them would undo the confinement.
const RESERVED_TARGETS: [&str; 4] = ["/", "/proc", "/sys", "/dev"];

fn read_filesystem(r: &Reader<'_>, conflicts: &mut Vec<Conflict>) -> Filesystem {
    let binds = r.mounts("binds", |k| Bind {
        source: r.str(&k("source")).into(),
        read_only: r.bool(&k("read_only")),
    });
    let tmpfs = r.mounts("tmpfs", |k| Tmpfs {
        size: r.limit(&k("size")),
        mode: u32::from_str_radix(&r.str(&k("mode")), 8).unwrap_or(0o755),
    });
    for (table, target) in binds
        .keys()
        .map(|t| ("binds", t))
        .chain(tmpfs.keys().map(|t| ("tmpfs", t)))
    {
        let reserved = RESERVED_TARGETS
            .iter()
            .find(|r| target == std::path::Path::new(r) || (**r != "/" && target.starts_with(r)));
        if let Some(reserved) = reserved {
            conflicts.push(Conflict {
                message: format!(
                    "cannot mount on {}: berth sets up {reserved} itself",
                    target.display()
                ),
                key: KeyPath::of(&["filesystem", table, &target.to_string_lossy()]),
                expected: Some("a target outside /, /proc, /sys and /dev".into()),
            });
        }
    }
    for target in binds.keys().filter(|t| tmpfs.contains_key(*t)) {
        conflicts.push(Conflict {
            message: format!(
                "{} is both a bind mount and a tmpfs mount",
                target.display()
            ),
            key: KeyPath::of(&["filesystem", "tmpfs", &target.to_string_lossy()]),
            expected: None,
        });
    }
    Filesystem {
        etc: r
            .choice(&["filesystem", "etc"])
            .unwrap_or(EtcMode::Persistent),
        var: r
            .choice(&["filesystem", "var"])
            .unwrap_or(VarMode::Persistent),
        binds,
        tmpfs,
        read_only_paths: r.paths(&["filesystem", "read_only_paths"]),
        masked_paths: r.paths(&["filesystem", "masked_paths"]),
    }
}

fn read_security(r: &Reader<'_>, conflicts: &mut Vec<Conflict>) -> Security {
    let add = r.list(&["security", "capabilities_add"]);
    let drop = r.list(&["security", "capabilities_drop"]);
    for cap in add.iter().filter(|c| drop.contains(c)) {
        conflicts.push(Conflict {
            message: format!("capability {cap} is both added and dropped"),
            key: KeyPath::of(&["security", "capabilities_drop"]),
            expected: None,
        });
    }
    let level = r.opt_str(&["security", "selinux_level"]);
    let selinux = match r.choice(&["security", "selinux"]) {
        Some(SelinuxMode::Off) => {
            if level.is_some() {
                conflicts.push(Conflict {
                    message: "`selinux_level` is set, but selinux = \"off\"".into(),
                    key: KeyPath::of(&["security", "selinux_level"]),
                    expected: Some("selinux = \"auto\", or no selinux_level".into()),
                });
            }
            Selinux::Off
        }
        _ => Selinux::Auto {
            process_type: r.str(&["security", "selinux_type"]),
            level,
        },
    };
    Security {
        capabilities_add: add,
        capabilities_drop: drop,
        no_new_privileges: r.bool(&["security", "no_new_privileges"]),
        seccomp: match r.choice(&["security", "seccomp"]) {
            Some(SeccompBuiltin::Default) => Seccomp::Default,
            Some(SeccompBuiltin::Unconfined) => Seccomp::Unconfined,
            None => Seccomp::Profile(r.str(&["security", "seccomp"]).into()),
        },
        user_namespace: r.choice(&["security", "user_namespace"]) == Some(UserNamespace::Auto),
        selinux,
    }
}

/// Typed reads of validated settings. The parser only stores values of each key's own type, so
/// a mismatch cannot happen; an absent value reads as empty rather than panicking.
struct Reader<'a>(&'a Settings);

impl Reader<'_> {
    fn opt_str(&self, p: &[&str]) -> Option<String> {
        match self.0.value(p) {
            Some(Value::Str(s)) => Some(s.clone()),
            Some(Value::Signal(s)) => Some(s.to_string()),
            _ => None,
        }
    }
    fn str(&self, p: &[&str]) -> String {
        self.opt_str(p).unwrap_or_default()
    }
    fn choice<C: Choice>(&self, p: &[&str]) -> Option<C> {
        C::from_name(&self.str(p))
    }
    fn bool(&self, p: &[&str]) -> bool {
        matches!(self.0.value(p), Some(Value::Bool(true)))
    }
    fn int(&self, p: &[&str]) -> Option<u64> {
        match self.0.value(p) {
            Some(Value::Int(i)) => Some(*i),
            _ => None,
        }
    }
    fn limit(&self, p: &[&str]) -> Option<Limit> {
        match self.0.value(p) {
            Some(Value::Bytes(b) | Value::Int(b)) => Some(Limit::Value(*b)),
            Some(Value::Infinity) => Some(Limit::Infinity),
            _ => None,
        }
    }
    fn list(&self, p: &[&str]) -> Vec<String> {
        match self.0.value(p) {
            Some(Value::List(l)) => l.clone(),
            _ => Vec::new(),
        }
    }
    /// The mounts of `[filesystem.TABLE]`, keyed by target, each read by `read` from the
    /// paths of its keys.
    fn mounts<T>(
        &self,
        table: &'static str,
        read: impl for<'t> Fn(&dyn Fn(&'static str) -> [&'t str; 4]) -> T,
    ) -> BTreeMap<PathBuf, T> {
        self.0
            .entry_names(&KeyPath::of(&["filesystem", table]))
            .into_iter()
            .map(|target| {
                let value = read(&|key| ["filesystem", table, target.as_str(), key]);
                (PathBuf::from(target), value)
            })
            .collect()
    }
    fn paths(&self, p: &[&str]) -> Vec<PathBuf> {
        self.list(p).into_iter().map(PathBuf::from).collect()
    }
    fn limit_map(&self, p: &[&str]) -> BTreeMap<String, Limit> {
        let table = KeyPath::of(p);
        self.0
            .entry_names(&table)
            .into_iter()
            .filter_map(|k| {
                let v = self.limit(&[p, &[k.as_str()]].concat())?;
                Some((k, v))
            })
            .collect()
    }
    fn string_map(&self, p: &[&str]) -> BTreeMap<String, String> {
        let table = KeyPath::of(p);
        self.0
            .entry_names(&table)
            .into_iter()
            .filter_map(|k| {
                let v = self.opt_str(&[p, &[k.as_str()]].concat())?;
                Some((k, v))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames_from_names() {
        let h = |n: &str| hostname_for(&Name::new(n).unwrap());
        assert_eq!(h("web"), "web");
        assert_eq!(h("db_1"), "db-1");
        assert_eq!(h("a._b"), "a.b");
        assert_eq!(h("_"), "berth");
    }
}
