//! What `berth apply` would do, decided without touching the host: the desired definitions and
//! what berth recorded about the containers it runs go in, a plan comes out.
//!
//! A container berth runs is compared with its definition through the state recorded when it
//! was started: the digest says whether anything changed, the recorded settings say which
//! keys. Only the live settings (autostart, description and the resource limits systemd can
//! change on a running scope) are updated in place; any other change needs a new container.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};
use std::path::PathBuf;

use serde::Serialize;

use crate::definition::{render, Loaded};
use crate::diagnostic::Diagnostic;
use crate::lifecycle::start::digest;
use crate::lifecycle::state::State;
use crate::name::Name;
use crate::unit::resources::{self, Planned, ResourceKey};
use crate::unit::{self, CgroupVersion, Property, PropertyValue};

/// A container's definition as the search path has it now.
#[derive(Debug, Clone)]
pub enum Desired {
    Defined(Box<Loaded>),
    Invalid(Vec<Diagnostic>),
    Masked(PathBuf),
    /// No main file (none at all, or only drop-ins).
    Gone,
}

/// What runs under a container's unit name right now.
#[derive(Debug, Clone)]
pub enum Observed {
    /// Its unit is active and berth's runtime state says berth started it with this.
    Berth(Box<State>),
    /// Another berth is starting it right now (its state says `starting`, by a live process).
    Starting { berth: u32 },
    /// `berth-NAME.scope` is active, but berth has no runtime state for it: not berth's.
    Foreign { unit: String },
}

/// What the host is like, as far as the plan depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Host {
    pub cgroup: CgroupVersion,
    /// systemd's DefaultTasksMax: what a scope gets when it does not set TasksMax.
    pub default_tasks_max: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Stop,
    Restart,
    Update,
    Start,
    Unchanged,
    /// Nothing is done and the apply fails: an invalid definition, or a unit in the way.
    Refuse,
}

impl Action {
    pub fn word(self) -> &'static str {
        match self {
            Action::Stop => "stop",
            Action::Restart => "restart",
            Action::Update => "update",
            Action::Start => "start",
            Action::Unchanged => "unchanged",
            Action::Refuse => "refuse",
        }
    }

    /// Like a diff (and like Terraform's plans): + start, - stop, ~ in place, -/+ replace.
    fn sign(self) -> &'static str {
        match self {
            Action::Stop => "-",
            Action::Restart => "-/+",
            Action::Update => "~",
            Action::Start => "+",
            Action::Unchanged => "=",
            Action::Refuse => "!",
        }
    }

    pub fn changes_something(self) -> bool {
        matches!(
            self,
            Action::Stop | Action::Restart | Action::Update | Action::Start
        )
    }
}

/// One key whose value differs between the recorded and the desired definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub key: String,
    /// As TOML writes it; None when the key was not set.
    pub old: Option<String>,
    pub new: Option<String>,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.old, &self.new) {
            (Some(old), Some(new)) => write!(f, "{}: {old} -> {new}", self.key),
            (None, Some(new)) => write!(f, "+ {} = {new}", self.key),
            (Some(old), None) => write!(f, "- {} = {old}", self.key),
            (None, None) => write!(f, "{}", self.key),
        }
    }
}

/// What apply does with one container, and why.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: Name,
    pub action: Action,
    pub reason: String,
    pub changes: Vec<Change>,
    /// For an update: the unit properties to set on the running scope.
    pub properties: Vec<Property>,
    /// For an update: changed settings that this host cannot enforce.
    pub warnings: Vec<String>,
    /// For an invalid definition: every problem, as `berth check` reports them.
    pub problems: Vec<Diagnostic>,
    /// The definition to start or update with.
    pub loaded: Option<Box<Loaded>>,
    /// For an update: the digest recorded now, so that a container changed meanwhile is not
    /// updated from a stale comparison.
    pub recorded_digest: Option<String>,
}

impl Entry {
    fn new(name: &Name, action: Action, reason: impl Into<String>) -> Entry {
        Entry {
            name: name.clone(),
            action,
            reason: reason.into(),
            changes: Vec::new(),
            properties: Vec::new(),
            warnings: Vec::new(),
            problems: Vec::new(),
            loaded: None,
            recorded_digest: None,
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        let properties: serde_json::Map<_, _> = self
            .properties
            .iter()
            .map(|p| (p.name.to_owned(), property_json(&p.value)))
            .collect();
        serde_json::json!({
            "name": self.name.as_str(),
            "action": self.action,
            "reason": self.reason,
            "changes": self.changes,
            "properties": properties,
            "warnings": self.warnings,
            "errors": self.problems.iter().map(Diagnostic::to_json).collect::<Vec<_>>(),
        })
    }
}

fn property_json(v: &PropertyValue) -> serde_json::Value {
    match v {
        PropertyValue::Str(s) => s.clone().into(),
        PropertyValue::Bool(b) => (*b).into(),
        PropertyValue::I32(i) => (*i).into(),
        PropertyValue::U64(u) => (*u).into(),
        PropertyValue::U32s(l) => l.clone().into(),
        PropertyValue::Bytes(b) => b.clone().into(),
        PropertyValue::Devices(d) => d
            .iter()
            .map(|(dev, access)| serde_json::json!([dev, access]))
            .collect::<Vec<_>>()
            .into(),
        PropertyValue::DeviceLimits(d) => d
            .iter()
            .map(|(dev, limit)| serde_json::json!([dev, limit]))
            .collect::<Vec<_>>()
            .into(),
    }
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// In the order they are carried out: stops first (they free what the others may need),
    /// then restarts, updates and starts; by name within each.
    pub entries: Vec<Entry>,
}

impl Plan {
    /// Whether carrying the plan out changes anything.
    pub fn changes_something(&self) -> bool {
        self.entries.iter().any(|e| e.action.changes_something())
    }

    pub fn refused(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.action == Action::Refuse)
    }

    pub fn count(&self, action: Action) -> usize {
        self.entries.iter().filter(|e| e.action == action).count()
    }

    /// The plan as an administrator reads it: one line per container that changes or is
    /// refused, the changed keys below it with old and new values, then a summary line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let shown: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| e.action != Action::Unchanged)
            .collect();
        let width = shown
            .iter()
            .map(|e| e.name.as_str().len())
            .max()
            .unwrap_or(0);
        for e in &shown {
            let _ = writeln!(
                out,
                "{:>3} {:<width$}  {:<8} {}",
                e.action.sign(),
                e.name.as_str(),
                e.action.word(),
                e.reason
            );
            for c in &e.changes {
                let _ = writeln!(out, "      {c}");
            }
            for w in &e.warnings {
                let _ = writeln!(out, "      warning: {w}");
            }
        }
        let mut parts = Vec::new();
        for action in [
            Action::Start,
            Action::Stop,
            Action::Restart,
            Action::Update,
            Action::Refuse,
        ] {
            let n = self.count(action);
            if n > 0 {
                parts.push(format!("{n} to {}", action.word()));
            }
        }
        let unchanged = self.count(Action::Unchanged);
        if parts.is_empty() {
            let _ = writeln!(out, "no changes; {unchanged} container(s) as defined");
        } else {
            let _ = writeln!(out, "plan: {}; {unchanged} unchanged", parts.join(", "));
        }
        out
    }
}

/// Keys a running container takes without a restart besides the live `[resources]` keys of
/// [`resources::RESOURCES`].
const LIVE: [&str; 2] = ["autostart", "description"];

/// The `[resources]` row of a key such as `resources.memory_max`, if systemd can change it on a
/// running scope.
fn live_resource(key: &str) -> Option<&'static ResourceKey> {
    key.strip_prefix("resources.")
        .and_then(resources::find)
        .filter(|r| r.live.is_some())
}

fn is_live(key: &str) -> bool {
    LIVE.contains(&key) || live_resource(key).is_some()
}

/// The properties that bring a running scope to `loaded`'s values of the `changed` live keys:
/// the value [`unit::plan_scope`] would start it with, or, for a key no longer set, what a
/// scope without it has (no limit; systemd's default for TasksMax; the default weight).
pub fn live_properties(
    loaded: &Loaded,
    changed: &[Change],
    host: Host,
) -> (Vec<Property>, Vec<String>) {
    let def = &loaded.definition;
    let mut props = Vec::new();
    let mut warnings = Vec::new();
    for c in changed {
        if c.key == "description" {
            props.push(Property {
                name: "Description",
                value: PropertyValue::Str(unit::description(def)),
            });
        }
        let Some(row) = live_resource(&c.key) else {
            continue;
        };
        match row.plan(&def.resources, host.cgroup) {
            Planned::Set(property) => props.push(property),
            Planned::NotEnforced(warning) => warnings.push(warning),
            Planned::NotSet => {
                if let (Some(name), Some(unset)) = (row.property(host.cgroup), row.live) {
                    props.push(Property {
                        name,
                        value: unset.value(host.default_tasks_max),
                    });
                }
            }
        }
    }
    (props, warnings)
}

/// The keys whose values differ, in key order.
pub fn diff(old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> Vec<Change> {
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    keys.into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .map(|k| Change {
            key: k.clone(),
            old: old.get(k).cloned(),
            new: new.get(k).cloned(),
        })
        .collect()
}

fn recorded_autostart(state: &State) -> bool {
    state.settings.get("autostart").map(String::as_str) == Some("true")
}

/// Plans `berth apply`: every container with autostart on runs with its current definition;
/// a container berth started is stopped when its definition is gone or masked, or when it was
/// started with autostart on and that is now off. Containers berth did not start are never
/// touched. With `only`, just those containers are considered.
pub fn plan(
    desired: &BTreeMap<Name, Desired>,
    observed: &BTreeMap<Name, Observed>,
    only: Option<&BTreeSet<Name>>,
    host: Host,
) -> Plan {
    let names: BTreeSet<&Name> = match only {
        Some(only) => only.iter().collect(),
        None => desired.keys().chain(observed.keys()).collect(),
    };
    let mut entries: Vec<Entry> = names
        .into_iter()
        .filter_map(|name| classify(name, desired.get(name), observed.get(name), host, only))
        .collect();
    entries.sort_by(|a, b| (a.action, &a.name).cmp(&(b.action, &b.name)));
    Plan { entries }
}

fn classify(
    name: &Name,
    desired: Option<&Desired>,
    observed: Option<&Observed>,
    host: Host,
    only: Option<&BTreeSet<Name>>,
) -> Option<Entry> {
    let named = only.is_some_and(|o| o.contains(name));
    let state = match observed {
        Some(Observed::Berth(state)) => Some(state.as_ref()),
        _ => None,
    };
    Some(match (desired, observed) {
        (Some(Desired::Invalid(problems)), _) => {
            let left = match observed {
                Some(_) => "the running container is left as it is",
                None => "nothing is started",
            };
            let n = problems.len();
            let mut e = Entry::new(
                name,
                Action::Refuse,
                format!(
                    "invalid definition ({n} error{}): {left}",
                    if n == 1 { "" } else { "s" }
                ),
            );
            e.problems.clone_from(problems);
            e
        }
        (_, Some(Observed::Foreign { unit })) => {
            let wanted = matches!(desired, Some(Desired::Defined(l)) if l.definition.autostart);
            if !wanted && !named {
                return None;
            }
            Entry::new(
                name,
                Action::Refuse,
                format!("{unit} is active but was not started by berth: left alone"),
            )
        }
        (_, Some(Observed::Starting { berth })) => Entry::new(
            name,
            Action::Refuse,
            format!("berth (PID {berth}) is starting it right now: left alone"),
        ),
        (Some(Desired::Masked(by)), Some(_)) => Entry::new(
            name,
            Action::Stop,
            format!("its definition is masked by {}", by.display()),
        ),
        (None | Some(Desired::Gone), Some(_)) => {
            Entry::new(name, Action::Stop, "its definition is gone")
        }
        (Some(Desired::Masked(by)), None) if named => Entry::new(
            name,
            Action::Unchanged,
            format!("masked by {}, not running", by.display()),
        ),
        (None | Some(Desired::Gone), None) if named => {
            let mut e = Entry::new(name, Action::Refuse, "no definition and not running");
            e.problems.push(Diagnostic::new(format!(
                "no definition for container `{name}`"
            )));
            e
        }
        (None | Some(Desired::Gone | Desired::Masked(_)), None) => return None,
        (Some(Desired::Defined(loaded)), None) => {
            if !loaded.definition.autostart {
                if !named {
                    return None;
                }
                Entry::new(name, Action::Unchanged, "autostart is off, not running")
            } else {
                let mut e = Entry::new(name, Action::Start, "autostart is on, not running");
                e.loaded = Some(loaded.clone());
                e
            }
        }
        (Some(Desired::Defined(loaded)), Some(Observed::Berth(_))) => {
            let state = state.expect("matched Observed::Berth");
            compare(name, loaded, state, host)
        }
    })
}

/// `--restart-outdated`: a running container of berth's that maps files from /usr the host
/// replaced since it started (`outdated`, with those files) is restarted, whatever else the
/// plan had for it, unless the plan stops it or refuses to touch it. The others are left as
/// planned.
pub fn restart_outdated(plan: &mut Plan, outdated: &BTreeMap<Name, Vec<String>>) {
    for e in &mut plan.entries {
        let Some(files) = outdated.get(&e.name) else {
            continue;
        };
        if !matches!(e.action, Action::Unchanged | Action::Update) {
            continue;
        }
        let also = match e.action {
            Action::Update => format!("; and {}", e.reason),
            _ => String::new(),
        };
        e.action = Action::Restart;
        e.reason = format!(
            "outdated: it maps {} replaced on the host since it started{also}",
            list_files(files)
        );
        e.properties.clear();
    }
    plan.entries
        .sort_by(|a, b| (a.action, &a.name).cmp(&(b.action, &b.name)));
}

/// At most three files named, then how many more.
fn list_files(files: &[String]) -> String {
    const SHOWN: usize = 3;
    let mut text = files
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if files.len() > SHOWN {
        text.push_str(&format!(" and {} more", files.len() - SHOWN));
    }
    text
}

/// A container berth runs, against its definition.
fn compare(name: &Name, loaded: &Loaded, state: &State, host: Host) -> Entry {
    let autostart = loaded.definition.autostart;
    if !autostart && recorded_autostart(state) {
        return Entry::new(name, Action::Stop, "autostart is now off");
    }
    if !autostart {
        // Started by hand (`berth start`) and never declared autostart: not apply's to manage.
        return Entry::new(name, Action::Unchanged, "autostart is off; started by hand");
    }
    let now = digest(loaded);
    if now == state.digest {
        return Entry::new(name, Action::Unchanged, "running as defined");
    }
    let mut e = if state.settings.is_empty() {
        Entry::new(
            name,
            Action::Restart,
            "its definition changed (the running container's record has no settings to compare)",
        )
    } else {
        let changes = diff(&state.settings, &render::to_flat(&loaded.settings));
        let needs_restart: Vec<&str> = changes
            .iter()
            .filter(|c| !is_live(&c.key))
            .map(|c| c.key.as_str())
            .collect();
        let mut e = if changes.is_empty() {
            // Same values, other digest: the rendering itself changed (a newer berth).
            Entry::new(name, Action::Restart, "its recorded definition differs")
        } else if needs_restart.is_empty() {
            let (properties, warnings) = live_properties(loaded, &changes, host);
            let mut e = Entry::new(name, Action::Update, "in place, no restart");
            e.properties = properties;
            e.warnings = warnings;
            e
        } else {
            Entry::new(
                name,
                Action::Restart,
                format!("needs a new container for {}", needs_restart.join(", ")),
            )
        };
        e.changes = changes;
        e
    };
    e.loaded = Some(Box::new(loaded.clone()));
    e.recorded_digest = Some(state.digest.clone());
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::from_sources;
    use crate::diagnostic::Source;
    use crate::lifecycle::state::{Phase, ProcessId};

    const HOST_V1: Host = Host {
        cgroup: CgroupVersion::V1,
        default_tasks_max: 4915,
    };
    const HOST_V2: Host = Host {
        cgroup: CgroupVersion::V2,
        ..HOST_V1
    };

    fn n(s: &str) -> Name {
        Name::new(s).unwrap()
    }

    fn loaded(name: &str, text: &str) -> Box<Loaded> {
        Box::new(
            from_sources(
                &n(name),
                vec![Source::new(
                    format!("/etc/berth/containers/{name}.toml"),
                    text,
                )],
            )
            .unwrap(),
        )
    }

    fn defined(name: &str, text: &str) -> Desired {
        Desired::Defined(loaded(name, text))
    }

    /// What berth start records for `text`.
    fn started(name: &str, text: &str) -> Observed {
        let l = loaded(name, text);
        Observed::Berth(Box::new(State {
            name: name.into(),
            unit: n(name).scope_unit(),
            phase: Phase::Running {
                leader: ProcessId {
                    pid: 42,
                    start_time: 1,
                },
                started_usec: 1,
            },
            state_dir_is_new: false,
            digest: digest(&l),
            machine_registered: true,
            selinux_label: None,
            user_namespace: None,
            idmapped_mounts: false,
            boot: false,
            stop_signal: 15,
            stop_timeout_usec: 30_000_000,
            settings: render::to_flat(&l.settings),
        }))
    }

    const WEB: &str = "autostart = true\n[exec]\ncommand = [\"/bin/sleep\", \"infinity\"]\n\
                       [resources]\nmemory_max = \"64M\"\ntasks_max = 32\n";

    fn one(desired: Option<Desired>, observed: Option<Observed>, host: Host) -> Vec<Entry> {
        let d: BTreeMap<Name, Desired> = desired.into_iter().map(|d| (n("web"), d)).collect();
        let o: BTreeMap<Name, Observed> = observed.into_iter().map(|o| (n("web"), o)).collect();
        plan(&d, &o, None, host).entries
    }

    /// The plan for web started with [`WEB`] and now defined by `new`.
    fn changed_web(new: &str, host: Host) -> Vec<Entry> {
        one(Some(defined("web", new)), Some(started("web", WEB)), host)
    }

    fn action(entries: &[Entry]) -> Option<(Action, String)> {
        entries.first().map(|e| (e.action, e.reason.clone()))
    }

    /// The word of each action is the one its JSON carries.
    #[test]
    fn action_words_are_their_json() {
        for action in [
            Action::Stop,
            Action::Restart,
            Action::Update,
            Action::Start,
            Action::Unchanged,
            Action::Refuse,
        ] {
            assert_eq!(serde_json::json!(action), action.word());
        }
    }

    #[test]
    fn autostart_containers_start_and_others_are_left_out() {
        let e = one(Some(defined("web", WEB)), None, HOST_V1);
        assert_eq!(action(&e).unwrap().0, Action::Start);
        assert!(e[0].loaded.is_some());
        let off = WEB.replace("autostart = true", "autostart = false");
        assert!(one(Some(defined("web", &off)), None, HOST_V1).is_empty());
        assert!(one(Some(Desired::Gone), None, HOST_V1).is_empty());
        assert!(one(Some(Desired::Masked("/etc/x".into())), None, HOST_V1).is_empty());
    }

    #[test]
    fn restart_outdated_restarts_exactly_the_outdated_running_containers() {
        let d: BTreeMap<Name, Desired> = [
            (n("web"), defined("web", WEB)),
            (n("db"), defined("db", WEB)),
            (n("gone"), Desired::Gone),
        ]
        .into_iter()
        .collect();
        let o: BTreeMap<Name, Observed> = [
            (n("web"), started("web", WEB)),
            (n("db"), started("db", WEB)),
            (n("gone"), started("gone", WEB)),
        ]
        .into_iter()
        .collect();
        let mut p = plan(&d, &o, None, HOST_V1);
        let files = |f: &[&str]| f.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let outdated: BTreeMap<Name, Vec<String>> = [
            (
                n("web"),
                files(&["/usr/bin/a", "/usr/lib/b", "/usr/lib/c", "/usr/lib/d"]),
            ),
            (n("gone"), files(&["/usr/bin/a"])),
        ]
        .into_iter()
        .collect();
        restart_outdated(&mut p, &outdated);
        let actions: Vec<(&str, Action, &str)> = p
            .entries
            .iter()
            .map(|e| (e.name.as_str(), e.action, e.reason.as_str()))
            .collect();
        assert_eq!(
            actions,
            [
                ("gone", Action::Stop, "its definition is gone"),
                (
                    "web",
                    Action::Restart,
                    "outdated: it maps /usr/bin/a, /usr/lib/b, /usr/lib/c and 1 more replaced \
                     on the host since it started"
                ),
                ("db", Action::Unchanged, "running as defined"),
            ]
        );
    }

    #[test]
    fn unchanged_when_the_digest_matches() {
        let e = changed_web(WEB, HOST_V1);
        assert_eq!(
            action(&e),
            Some((Action::Unchanged, "running as defined".into()))
        );
        let plan = Plan { entries: e };
        assert!(!plan.changes_something());
        assert_eq!(plan.to_text(), "no changes; 1 container(s) as defined\n");
    }

    #[test]
    fn a_changed_limit_is_updated_in_place_with_the_hierarchys_property_names() {
        let new = WEB.replace("64M", "128M").replace("tasks_max = 32\n", "");
        for (host, memory) in [(HOST_V1, "MemoryLimit"), (HOST_V2, "MemoryMax")] {
            let e = changed_web(&new, host);
            assert_eq!(e[0].action, Action::Update, "{}", e[0].reason);
            assert_eq!(
                e[0].changes,
                [
                    Change {
                        key: "resources.memory_max".into(),
                        old: Some("\"64M\"".into()),
                        new: Some("\"128M\"".into()),
                    },
                    Change {
                        key: "resources.tasks_max".into(),
                        old: Some("32".into()),
                        new: None,
                    }
                ]
            );
            assert_eq!(
                e[0].properties,
                [
                    Property {
                        name: memory,
                        value: PropertyValue::U64(128 << 20)
                    },
                    // A limit no longer set goes back to what a new scope would get.
                    Property {
                        name: "TasksMax",
                        value: PropertyValue::U64(4915)
                    },
                ]
            );
            assert_eq!(e[0].recorded_digest.as_deref().map(str::len), Some(64));
        }
    }

    #[test]
    fn removed_limits_and_weights_reset_and_v1_says_what_it_cannot_enforce() {
        let old = format!(
            "{WEB}cpu_quota = \"50%\"\ncpu_weight = 200\nmemory_high = \"32M\"\nallowed_cpus = \"0\"\n"
        );
        let e = one(
            Some(defined("web", WEB)),
            Some(started("web", &old)),
            HOST_V2,
        );
        assert_eq!(e[0].action, Action::Update);
        let props: Vec<(&str, PropertyValue)> = e[0]
            .properties
            .iter()
            .map(|p| (p.name, p.value.clone()))
            .collect();
        assert_eq!(
            props,
            [
                ("AllowedCPUs", PropertyValue::Bytes(vec![])),
                ("CPUQuotaPerSecUSec", PropertyValue::U64(u64::MAX)),
                ("CPUWeight", PropertyValue::U64(u64::MAX)),
                ("MemoryHigh", PropertyValue::U64(u64::MAX)),
            ]
        );
        let new = format!("{WEB}memory_high = \"48M\"\n");
        let e = changed_web(&new, HOST_V1);
        assert_eq!(e[0].action, Action::Update);
        assert!(e[0].properties.is_empty());
        assert_eq!(
            e[0].warnings,
            ["resources.memory_high is not enforced: this host's resource controllers are on cgroup v1"]
        );
    }

    #[test]
    fn description_and_autostart_are_live_anything_else_restarts() {
        let new = format!("description = \"new\"\n{WEB}");
        let e = changed_web(&new, HOST_V1);
        assert_eq!(e[0].action, Action::Update);
        assert_eq!(
            e[0].properties,
            [Property {
                name: "Description",
                value: PropertyValue::Str("new (berth container web)".into())
            }]
        );

        let new = WEB.replace("infinity", "1000").replace("64M", "96M");
        let e = changed_web(&new, HOST_V1);
        assert_eq!(
            action(&e),
            Some((
                Action::Restart,
                "needs a new container for exec.command".into()
            ))
        );
        assert_eq!(e[0].changes.len(), 2, "every change is listed");
        assert!(e[0].properties.is_empty());

        let new = format!("{WEB}[filesystem.tmpfs.\"/cache\"]\n");
        let e = changed_web(&new, HOST_V1);
        assert_eq!(e[0].action, Action::Restart);
        assert_eq!(
            e[0].changes[0],
            Change {
                key: "filesystem.tmpfs.\"/cache\".mode".into(),
                old: None,
                new: Some("\"0755\"".into())
            }
        );
    }

    #[test]
    fn berths_containers_stop_when_gone_masked_or_no_longer_autostart() {
        let running = || Some(started("web", WEB));
        assert_eq!(
            action(&one(Some(Desired::Gone), running(), HOST_V1)),
            Some((Action::Stop, "its definition is gone".into()))
        );
        assert_eq!(
            action(&one(None, running(), HOST_V1)),
            Some((Action::Stop, "its definition is gone".into()))
        );
        assert_eq!(
            action(&one(
                Some(Desired::Masked("/etc/berth/containers/web.toml".into())),
                running(),
                HOST_V1
            )),
            Some((
                Action::Stop,
                "its definition is masked by /etc/berth/containers/web.toml".into()
            ))
        );
        let off = WEB.replace("autostart = true", "autostart = false");
        assert_eq!(
            action(&one(Some(defined("web", &off)), running(), HOST_V1)),
            Some((Action::Stop, "autostart is now off".into()))
        );
        // Started by hand without autostart: left running, changed or not.
        let by_hand = Some(started("web", &off));
        let changed = off.replace("64M", "1G");
        assert_eq!(
            action(&one(Some(defined("web", &changed)), by_hand, HOST_V1)).unwrap(),
            (
                Action::Unchanged,
                "autostart is off; started by hand".into()
            )
        );
    }

    #[test]
    fn foreign_units_and_starts_in_progress_are_never_touched() {
        let foreign = || {
            Some(Observed::Foreign {
                unit: "berth-web.scope".into(),
            })
        };
        let e = one(Some(defined("web", WEB)), foreign(), HOST_V1);
        assert_eq!(
            action(&e),
            Some((
                Action::Refuse,
                "berth-web.scope is active but was not started by berth: left alone".into()
            ))
        );
        assert!(
            one(None, foreign(), HOST_V1).is_empty(),
            "not ours, not wanted"
        );
        let e = one(
            Some(defined("web", WEB)),
            Some(Observed::Starting { berth: 7 }),
            HOST_V1,
        );
        assert_eq!(e[0].action, Action::Refuse);
    }

    #[test]
    fn invalid_definitions_are_refused_with_their_diagnostics() {
        let problems = vec![Diagnostic::new("bad").key("resources.memory_max")];
        let e = one(
            Some(Desired::Invalid(problems.clone())),
            Some(started("web", WEB)),
            HOST_V1,
        );
        assert_eq!(
            action(&e),
            Some((
                Action::Refuse,
                "invalid definition (1 error): the running container is left as it is".into()
            ))
        );
        assert_eq!(e[0].problems, problems);
    }

    #[test]
    fn an_old_state_without_settings_restarts_only_when_the_digest_differs() {
        let Observed::Berth(mut state) = started("web", WEB) else {
            unreachable!()
        };
        state.settings.clear();
        let old = || Some(Observed::Berth(state.clone()));
        assert_eq!(
            one(Some(defined("web", WEB)), old(), HOST_V1)[0].action,
            Action::Unchanged
        );
        let e = one(
            Some(defined("web", &WEB.replace("64M", "1G"))),
            old(),
            HOST_V1,
        );
        assert_eq!(e[0].action, Action::Restart);
    }

    #[test]
    fn named_containers_only_and_unknown_names_fail() {
        let d: BTreeMap<Name, Desired> = [
            (n("web"), defined("web", WEB)),
            (n("db"), defined("db", WEB)),
            (
                n("off"),
                defined("off", "[exec]\ncommand = [\"/bin/true\"]\n"),
            ),
        ]
        .into();
        let only: BTreeSet<Name> = [n("web"), n("nope"), n("off")].into();
        let p = plan(&d, &BTreeMap::new(), Some(&only), HOST_V1);
        let got: Vec<(&str, Action)> = p
            .entries
            .iter()
            .map(|e| (e.name.as_str(), e.action))
            .collect();
        assert_eq!(
            got,
            [
                ("web", Action::Start),
                ("off", Action::Unchanged),
                ("nope", Action::Refuse)
            ]
        );
        assert_eq!(
            p.entries[2].problems[0].message,
            "no definition for container `nope`"
        );
    }

    #[test]
    fn the_plan_reads_like_a_diff_in_execution_order() {
        let d: BTreeMap<Name, Desired> = [
            (n("new"), defined("new", WEB)),
            (n("web"), defined("web", &WEB.replace("64M", "128M"))),
            (n("db"), defined("db", &WEB.replace("sleep", "true"))),
            (n("bad"), Desired::Invalid(vec![Diagnostic::new("x")])),
        ]
        .into();
        let o: BTreeMap<Name, Observed> = [
            (n("web"), started("web", WEB)),
            (n("db"), started("db", WEB)),
            (n("old"), started("old", WEB)),
        ]
        .into();
        let p = plan(&d, &o, None, HOST_V1);
        assert!(p.changes_something());
        assert_eq!(
            p.to_text(),
            "  - old  stop     its definition is gone\n\
             -/+ db   restart  needs a new container for exec.command\n\
             \x20     exec.command: [\"/bin/sleep\", \"infinity\"] -> [\"/bin/true\", \"infinity\"]\n\
             \x20 ~ web  update   in place, no restart\n\
             \x20     resources.memory_max: \"64M\" -> \"128M\"\n\
             \x20 + new  start    autostart is on, not running\n\
             \x20 ! bad  refuse   invalid definition (1 error): nothing is started\n\
             plan: 1 to start, 1 to stop, 1 to restart, 1 to update, 1 to refuse; 0 unchanged\n"
        );
        let json = p.entries[2].to_json();
        assert_eq!(json["action"], "update");
        assert_eq!(json["properties"]["MemoryLimit"], 128u64 << 20);
        assert_eq!(json["changes"][0]["old"], "\"64M\"");
    }
}
