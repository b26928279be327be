//! What `--json` prints, verb by verb: the one description that berth(1), JSON OUTPUT, is
//! rendered from and that the tests hold the real output to ([`validate`]).
//!
//! The rules, for scripts: every key listed is always present (null when the value is
//! unknown or does not apply), except those marked as present only with an option; keys are
//! never removed or retyped within a major version, new keys may be added; enumerations may
//! gain values.

use serde_json::Value;

/// The shape of a JSON value.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    String,
    /// A whole number, never negative.
    Count,
    /// A whole number, possibly negative.
    Integer,
    Boolean,
    /// One of these strings.
    OneOf(&'static [&'static str]),
    /// The value, or null.
    Nullable(&'static Shape),
    Array(&'static Shape),
    /// Exactly these keys.
    Object(&'static [Field]),
    /// Any keys (`what` says what they are), each with a value of this shape.
    Map {
        what: &'static str,
        value: &'static Shape,
    },
    /// A container definition as berth.toml(5) describes it: tables as objects, keys and
    /// values as in TOML.
    Definition,
    /// Any JSON value (the field's doc says what it holds).
    Any,
}

/// A key of an object.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub shape: Shape,
    pub doc: &'static str,
    /// Present only with this option; otherwise always present.
    pub only_with: Option<&'static str>,
}

const fn field(name: &'static str, shape: Shape, doc: &'static str) -> Field {
    Field {
        name,
        shape,
        doc,
        only_with: None,
    }
}

/// The JSON a verb prints with `--json`.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub verb: &'static str,
    pub doc: &'static str,
    pub shape: Shape,
}

const STR_OR_NULL: Shape = Shape::Nullable(&Shape::String);
const COUNT_OR_NULL: Shape = Shape::Nullable(&Shape::Count);

/// A problem `berth check` found, with where and what was expected.
pub const DIAGNOSTIC: Shape = Shape::Object(&[
    field("message", Shape::String, "what is wrong, in one line"),
    field(
        "key",
        STR_OR_NULL,
        "the dotted key, such as \"resources.memory_max\"",
    ),
    field("file", STR_OR_NULL, "the file the problem is in"),
    field("line", COUNT_OR_NULL, "line in the file, from 1"),
    field("column", COUNT_OR_NULL, "column in the line, from 1"),
    field("expected", STR_OR_NULL, "what would have been accepted"),
    field(
        "help",
        STR_OR_NULL,
        "a suggestion, such as \"did you mean `memory_max`?\"",
    ),
]);

/// The states `berth list` shows (`berth status` shows the first five).
pub const LIST_STATES: &[&str] = &[
    "running",
    "stopped",
    "starting",
    "stopping",
    "failed",
    "orphan",
    "masked",
    "invalid",
    "running+orphan",
    "running+masked",
    "running+invalid",
];

/// What `berth apply` does with a container.
pub const APPLY_ACTIONS: &[&str] = &["stop", "restart", "update", "start", "unchanged", "refuse"];

pub const UNIT_STATES: &[&str] = &["running", "stopped", "starting", "stopping", "failed"];

pub const OUTPUTS: &[Output] = &[
    Output {
        verb: "check",
        doc: "An object; printed whether or not the definitions are valid (the exit status says \
              too).",
        shape: Shape::Object(&[
            field("valid", Shape::Boolean, "every definition checked is valid"),
            field(
                "containers",
                Shape::Array(&Shape::Object(&[
                    field(
                        "name",
                        Shape::String,
                        "the container's name, the file's path as given, or \"group GROUP\" \
                         for a group file (checked when no container is named)",
                    ),
                    field("valid", Shape::Boolean, "this definition is valid"),
                    field(
                        "files",
                        Shape::Array(&Shape::String),
                        "the files read, in the order applied (the main file first)",
                    ),
                    field(
                        "errors",
                        Shape::Array(&DIAGNOSTIC),
                        "every problem found; empty when valid",
                    ),
                    field(
                        "notes",
                        Shape::Array(&Shape::String),
                        "what is said but is no error: masked, drop-ins without a main file",
                    ),
                ])),
                "one entry per container, group or file checked",
            ),
        ]),
    },
    Output {
        verb: "show",
        doc: "An object with the effective definition.",
        shape: Shape::Object(&[
            field("name", Shape::String, "the container's name"),
            field(
                "definition",
                Shape::Definition,
                "the merged definition with every default filled in: tables as objects, \
                 keys and values as in berth.toml(5)",
            ),
            Field {
                name: "origins",
                shape: Shape::Map {
                    what: "dotted keys such as \"resources.memory_max\"",
                    value: &Shape::String,
                },
                doc: "where each value was set: \"FILE:LINE:COLUMN\", or \"default\"",
                only_with: Some("--origin"),
            },
        ]),
    },
    Output {
        verb: "list",
        doc: "An array with one object per container: the defined ones (in the order of their \
              names), then those running without a definition.",
        shape: Shape::Array(&Shape::Object(&[
            field("name", Shape::String, "the container's name"),
            field(
                "state",
                Shape::OneOf(LIST_STATES),
                "from its unit (running, stopped, starting, stopping, failed) or, when \
                 the definition is missing, masked or invalid, that (orphan, masked, \
                 invalid); running+orphan and the like for a running container whose \
                 definition is gone, masked or invalid",
            ),
            field(
                "paused",
                Shape::Boolean,
                "its processes are frozen by berth pause (the state stays running)",
            ),
            field(
                "outdated",
                Shape::Boolean,
                "it runs, and its processes map files from /usr that the host replaced or \
                 deleted since they started (berth apply --restart-outdated restarts it)",
            ),
            field("unit", Shape::String, "its scope unit, berth-NAME.scope"),
            field(
                "description",
                Shape::String,
                "the definition's description; empty without a valid definition",
            ),
            field(
                "group",
                STR_OR_NULL,
                "the definition's group; null without one or without a valid definition",
            ),
            field(
                "autostart",
                Shape::Nullable(&Shape::Boolean),
                "the definition's autostart; null without a valid definition",
            ),
            field(
                "leader",
                COUNT_OR_NULL,
                "host PID of the container's PID 1 while it runs",
            ),
            field(
                "since_usec",
                COUNT_OR_NULL,
                "when the unit last became active, in microseconds since the epoch",
            ),
            field("memory_current", COUNT_OR_NULL, "memory used, in bytes"),
            field("tasks_current", COUNT_OR_NULL, "number of tasks"),
            field(
                "cpu_usage_nsec",
                COUNT_OR_NULL,
                "CPU time used, in nanoseconds",
            ),
            field(
                "io_read_bytes",
                COUNT_OR_NULL,
                "bytes read from block devices since the unit started (systemd's IOReadBytes \
                 on cgroup v2, the blkio statistics on cgroup v1); null where unknown",
            ),
            field(
                "io_write_bytes",
                COUNT_OR_NULL,
                "bytes written to block devices since the unit started; null where unknown",
            ),
        ])),
    },
    Output {
        verb: "status",
        doc: "An object; printed for a defined container whether or not it runs, and for a \
              running one without a definition.",
        shape: Shape::Object(&[
            field("name", Shape::String, "the container's name"),
            field("state", Shape::OneOf(UNIT_STATES), "from its unit"),
            field(
                "paused",
                Shape::Boolean,
                "its processes are frozen by berth pause (the state stays running)",
            ),
            field(
                "outdated",
                Shape::Boolean,
                "it runs, and its processes map files from /usr that the host replaced or \
                 deleted since they started (berth apply --restart-outdated restarts it)",
            ),
            field(
                "outdated_files",
                Shape::Array(&Shape::String),
                "those files, as the container sees them; empty when not outdated",
            ),
            field(
                "description",
                Shape::String,
                "the definition's description, else the unit's",
            ),
            field("unit", Shape::String, "its scope unit, berth-NAME.scope"),
            field(
                "slice",
                STR_OR_NULL,
                "the unit's slice; null when not loaded",
            ),
            field(
                "since_usec",
                COUNT_OR_NULL,
                "when the unit last became active, in microseconds since the epoch",
            ),
            field(
                "leader",
                COUNT_OR_NULL,
                "host PID of the container's PID 1 while it runs",
            ),
            field("memory_current", COUNT_OR_NULL, "memory used, in bytes"),
            field(
                "memory_limit",
                COUNT_OR_NULL,
                "the memory limit in bytes; null when unlimited",
            ),
            field("tasks_current", COUNT_OR_NULL, "number of tasks"),
            field(
                "tasks_max",
                COUNT_OR_NULL,
                "the task limit; null when unlimited",
            ),
            field(
                "cpu_usage_nsec",
                COUNT_OR_NULL,
                "CPU time used, in nanoseconds",
            ),
            field(
                "io_read_bytes",
                COUNT_OR_NULL,
                "bytes read from block devices since the unit started (systemd's IOReadBytes \
                 on cgroup v2, the blkio statistics on cgroup v1); null where unknown",
            ),
            field(
                "io_write_bytes",
                COUNT_OR_NULL,
                "bytes written to block devices since the unit started; null where unknown",
            ),
            field(
                "control_group",
                STR_OR_NULL,
                "the unit's cgroup, such as /berth.slice/berth-web.slice/berth-web.scope",
            ),
            field(
                "processes",
                Shape::Array(&Shape::Object(&[
                    field("pid", Shape::Count, "host PID"),
                    field(
                        "command",
                        Shape::String,
                        "its command line, arguments separated by spaces",
                    ),
                ])),
                "every process in the unit's cgroup, by PID",
            ),
            field(
                "selinux",
                Shape::String,
                "the label of the container's processes; \"disabled\" where the host has \
                 SELinux off, \"off\" where the container keeps its caller's label",
            ),
            field(
                "user_namespace",
                Shape::Nullable(&Shape::Object(&[
                    field(
                        "host_first",
                        Shape::Count,
                        "the host UID and GID that is 0 inside",
                    ),
                    field(
                        "count",
                        Shape::Count,
                        "how many IDs are mapped, from 0 inside",
                    ),
                    field(
                        "idmapped",
                        Shape::Boolean,
                        "its private /etc and /var are idmapped mounts, owned by the host's \
                         IDs on disk; false: chowned into the range, or it has none",
                    ),
                ])),
                "the container's ID range; null without a user namespace",
            ),
            field(
                "last_exit",
                Shape::Nullable(&Shape::Object(&[
                    field(
                        "status",
                        Shape::Integer,
                        "the payload's exit status, or 128 + the signal",
                    ),
                    field(
                        "signal",
                        Shape::Nullable(&Shape::Integer),
                        "the signal that killed it",
                    ),
                    field(
                        "oom_killed",
                        Shape::Boolean,
                        "the kernel's OOM killer killed a process of the container",
                    ),
                    field(
                        "boot",
                        Shape::Boolean,
                        "the container booted its own init (mode = \"boot\"), whose end this is",
                    ),
                    field(
                        "time_usec",
                        Shape::Count,
                        "when, in microseconds since the epoch",
                    ),
                ])),
                "how the payload last ended, kept until the next start; null if it has not",
            ),
            field(
                "definition_valid",
                Shape::Boolean,
                "the container has a valid definition (false: missing, masked or invalid)",
            ),
        ]),
    },
    Output {
        verb: "apply",
        doc: "An object, printed once apply is done (with --dry-run: once it has planned).",
        shape: Shape::Object(&[
            field(
                "changed",
                Shape::Boolean,
                "something was started, stopped, restarted or updated (with --dry-run: would be)",
            ),
            field(
                "failed",
                Shape::Boolean,
                "something could not be applied (the exit status says so too)",
            ),
            field(
                "dry_run",
                Shape::Boolean,
                "--dry-run was given: nothing was done",
            ),
            field(
                "plan",
                Shape::Array(&Shape::Object(&[
                    field("name", Shape::String, "the container"),
                    field(
                        "action",
                        Shape::OneOf(APPLY_ACTIONS),
                        "what apply does with it",
                    ),
                    field("reason", Shape::String, "why, in a few words"),
                    field(
                        "changes",
                        Shape::Array(&Shape::Object(&[
                            field("key", Shape::String, "the dotted key that changed"),
                            field(
                                "old",
                                STR_OR_NULL,
                                "its value as it runs, in TOML; null when it was not set",
                            ),
                            field(
                                "new",
                                STR_OR_NULL,
                                "its value as defined now, in TOML; null when it is no longer set",
                            ),
                        ])),
                        "the keys whose values differ from those the container runs with",
                    ),
                    field(
                        "properties",
                        Shape::Map {
                            what: "systemd unit property names",
                            value: &Shape::Any,
                        },
                        "for an update: the unit properties set on the running scope, with \
                         their values (empty otherwise)",
                    ),
                    field(
                        "warnings",
                        Shape::Array(&Shape::String),
                        "changed settings this host cannot enforce",
                    ),
                    field(
                        "errors",
                        Shape::Array(&DIAGNOSTIC),
                        "for refuse: every problem of the definition, as check reports them",
                    ),
                ])),
                "what apply planned, container by container, in the order it is carried out",
            ),
            field(
                "results",
                Shape::Array(&Shape::Object(&[
                    field("name", Shape::String, "the container"),
                    field("action", Shape::OneOf(APPLY_ACTIONS), "what was done"),
                    field("ok", Shape::Boolean, "it was done"),
                    field("message", STR_OR_NULL, "what was done, when it was"),
                    field("error", STR_OR_NULL, "why it failed, when it did"),
                    field(
                        "warnings",
                        Shape::Array(&Shape::String),
                        "what was done but not as defined",
                    ),
                ])),
                "what was done (empty with --dry-run)",
            ),
            field(
                "groups",
                Shape::Array(&Shape::Object(&[
                    field("group", Shape::String, "the group, such as \"web/front\""),
                    field(
                        "unit",
                        Shape::String,
                        "its slice, such as \"berth-web-front.slice\"",
                    ),
                    field(
                        "ok",
                        Shape::Boolean,
                        "it was done (with --dry-run: it would be)",
                    ),
                    field("message", STR_OR_NULL, "what was done, when it was"),
                    field("error", STR_OR_NULL, "why it failed, when it did"),
                    field(
                        "warnings",
                        Shape::Array(&Shape::String),
                        "limits of the group file this host cannot enforce",
                    ),
                ])),
                "the active group slices whose group files changed, and what apply did with \
                 their limits (empty when apply is given container names)",
            ),
            field(
                "errors",
                Shape::Array(&DIAGNOSTIC),
                "definition files that cannot be read or parsed, and what stopped apply",
            ),
            field(
                "warnings",
                Shape::Array(&Shape::String),
                "what did not stop apply, such as definitions changed while it ran",
            ),
        ]),
    },
    Output {
        verb: "image list",
        doc: "An array of the imported images, by name.",
        shape: Shape::Array(&Shape::Object(&[
            field("name", Shape::String, "the image"),
            field("source", Shape::String, "the tarball it was imported from"),
            field(
                "imported_usec",
                Shape::Count,
                "when, in microseconds since the epoch",
            ),
            field("bytes", Shape::Count, "the disk space its tree takes"),
            field(
                "used_by",
                Shape::Array(&Shape::String),
                "the containers whose writable layer sits on it (`berth reset` frees them)",
            ),
        ])),
    },
];

// Every verb with --json has its entry above: tests/manpage.rs fails for one without.

/// The `--json` output of `verb`, if it has one.
pub fn output(verb: &str) -> Option<&'static Output> {
    OUTPUTS.iter().find(|o| o.verb == verb)
}

/// Checks `value` against `shape`; `options` are the command-line options given (for keys
/// present only with one). The error names the path of the first value that does not fit.
pub fn validate(value: &Value, shape: &Shape, options: &[&str]) -> Result<(), String> {
    check(value, shape, options, "$")
}

fn check(value: &Value, shape: &Shape, options: &[&str], at: &str) -> Result<(), String> {
    let fail = |what: &str| Err(format!("{at}: expected {what}, found {value}"));
    match shape {
        Shape::String => value.is_string().then_some(()).map_or(fail("a string"), Ok),
        Shape::Count => value.is_u64().then_some(()).map_or(fail("a count"), Ok),
        Shape::Integer => value.is_i64().then_some(()).map_or(fail("an integer"), Ok),
        Shape::Boolean => value
            .is_boolean()
            .then_some(())
            .map_or(fail("a boolean"), Ok),
        Shape::OneOf(choices) => match value.as_str() {
            Some(s) if choices.contains(&s) => Ok(()),
            _ => fail(&format!("one of {choices:?}")),
        },
        Shape::Nullable(inner) => match value {
            Value::Null => Ok(()),
            v => check(v, inner, options, at),
        },
        Shape::Array(item) => {
            let Some(items) = value.as_array() else {
                return fail("an array");
            };
            for (i, v) in items.iter().enumerate() {
                check(v, item, options, &format!("{at}[{i}]"))?;
            }
            Ok(())
        }
        Shape::Object(fields) => {
            let Some(map) = value.as_object() else {
                return fail("an object");
            };
            for f in fields.iter() {
                let wanted = f.only_with.is_none_or(|o| options.contains(&o));
                match (map.get(f.name), wanted) {
                    (Some(v), true) => check(v, &f.shape, options, &format!("{at}.{}", f.name))?,
                    (None, true) => return Err(format!("{at}: no key `{}`", f.name)),
                    (Some(_), false) => {
                        return Err(format!(
                            "{at}: key `{}` without {}",
                            f.name,
                            f.only_with.unwrap_or_default()
                        ))
                    }
                    (None, false) => {}
                }
            }
            match map.keys().find(|k| !fields.iter().any(|f| f.name == *k)) {
                Some(k) => Err(format!("{at}: undocumented key `{k}`")),
                None => Ok(()),
            }
        }
        Shape::Map { value: inner, .. } => {
            let Some(map) = value.as_object() else {
                return fail("an object");
            };
            for (k, v) in map {
                check(v, inner, options, &format!("{at}[{k:?}]"))?;
            }
            Ok(())
        }
        Shape::Definition => check_definition(value, crate::definition::schema::ROOT, at),
        Shape::Any => Ok(()),
    }
}

/// Tables are objects and every key is one of berth.toml(5), table by table.
fn check_definition(
    value: &Value,
    keys: &[crate::definition::schema::Key],
    at: &str,
) -> Result<(), String> {
    use crate::definition::schema::Kind;
    let Some(map) = value.as_object() else {
        return Err(format!("{at}: expected a table, found {value}"));
    };
    for (k, v) in map {
        let Some(key) = keys.iter().find(|key| key.name == k) else {
            return Err(format!("{at}: `{k}` is no key of berth.toml(5)"));
        };
        if let Kind::Table(sub) = key.kind {
            check_definition(v, sub, &format!("{at}.{k}"))?;
        }
    }
    Ok(())
}

/// The shape as a JSON Schema (draft 2020-12) fragment.
pub fn json_schema(shape: &Shape) -> Value {
    use serde_json::json;
    match shape {
        Shape::String => json!({ "type": "string" }),
        Shape::Count => json!({ "type": "integer", "minimum": 0 }),
        Shape::Integer => json!({ "type": "integer" }),
        Shape::Boolean => json!({ "type": "boolean" }),
        Shape::OneOf(choices) => json!({ "enum": choices }),
        Shape::Nullable(inner) => json!({ "anyOf": [json_schema(inner), { "type": "null" }] }),
        Shape::Array(item) => json!({ "type": "array", "items": json_schema(item) }),
        Shape::Object(fields) => {
            let properties: serde_json::Map<String, Value> = fields
                .iter()
                .map(|f| {
                    let mut s = json_schema(&f.shape);
                    s["description"] = f.doc.into();
                    (f.name.to_owned(), s)
                })
                .collect();
            let required: Vec<&str> = fields
                .iter()
                .filter(|f| f.only_with.is_none())
                .map(|f| f.name)
                .collect();
            json!({
                "type": "object",
                "properties": properties,
                "required": required,
            })
        }
        Shape::Map { value, .. } => {
            json!({ "type": "object", "additionalProperties": json_schema(value) })
        }
        Shape::Definition => json!({
            "type": "object",
            "description": "a container definition, as berth.toml(5) describes it",
        }),
        Shape::Any => json!({}),
    }
}

/// One JSON Schema document for every verb's output, under `$defs`.
pub fn json_schema_document() -> Value {
    let defs: serde_json::Map<String, Value> = OUTPUTS
        .iter()
        .map(|o| {
            let mut s = json_schema(&o.shape);
            s["description"] = format!("berth {} --json: {}", o.verb, o.doc).into();
            (o.verb.to_owned(), s)
        })
        .collect();
    serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "berth --json output",
        "description": "What `berth VERB --json` prints, one definition per verb under $defs; \
                        see berth(1), JSON OUTPUT. Generated from src/cli/json.rs by \
                        `cargo xtask man`.",
        "$defs": defs,
    })
}

/// [`json_schema_document`] as the file the packages install.
pub fn json_schema_text() -> String {
    let mut s = serde_json::to_string_pretty(&json_schema_document()).expect("JSON serialises");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validation_names_the_first_misfit() {
        let shape = output("status").unwrap().shape;
        let e = validate(&json!({}), &shape, &[]).unwrap_err();
        assert_eq!(e, "$: no key `name`");
        let e = validate(&json!([{"name": 1}]), &output("list").unwrap().shape, &[]).unwrap_err();
        assert_eq!(e, "$[0].name: expected a string, found 1");
    }

    #[test]
    fn keys_present_only_with_an_option() {
        let shape = output("show").unwrap().shape;
        let plain = json!({"name": "web", "definition": {"exec": {}}});
        validate(&plain, &shape, &[]).unwrap();
        let with = json!({"name": "web", "definition": {}, "origins": {"exec.user": "default"}});
        validate(&with, &shape, &["--origin"]).unwrap();
        assert!(validate(&with, &shape, &[]).is_err());
        assert!(validate(&plain, &shape, &["--origin"]).is_err());
        let bad = json!({"name": "web", "definition": {"resourcez": {}}});
        assert!(validate(&bad, &shape, &[])
            .unwrap_err()
            .contains("`resourcez` is no key"));
    }

    #[test]
    fn undocumented_keys_are_refused() {
        let e = validate(
            &json!({"valid": true, "containers": [], "extra": 1}),
            &output("check").unwrap().shape,
            &[],
        )
        .unwrap_err();
        assert_eq!(e, "$: undocumented key `extra`");
    }

    #[test]
    fn the_states_documented_are_those_the_library_reports() {
        use crate::lifecycle::status::{DefinitionProblem, ListState, UnitState};
        let mut listed = Vec::new();
        for unit in UnitState::ALL {
            assert!(UNIT_STATES.contains(&unit.as_str()), "{unit}");
            for definition in DefinitionProblem::ALL.map(Some).into_iter().chain([None]) {
                listed.push(ListState { unit, definition }.to_string());
            }
        }
        for state in LIST_STATES {
            assert!(listed.iter().any(|l| l == state), "{state} is never listed");
        }
        for state in &listed {
            assert!(
                LIST_STATES.contains(&state.as_str()),
                "{state} is undocumented"
            );
        }
    }

    #[test]
    fn the_json_schema_has_every_verb() {
        let doc = json_schema_document();
        for o in OUTPUTS {
            assert!(doc["$defs"][o.verb].is_object(), "{}", o.verb);
        }
        assert_eq!(
            doc["$defs"]["show"]["required"],
            json!(["name", "definition"])
        );
    }
}
