//! `berth show`: the effective definition written back as TOML (or JSON), in the schema's order,
//! optionally with the file and line that set each value.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::layer::{toml_key, KeyPath, Origin};
use super::schema::{self, Entry, Key, Kind};
use super::settings::Settings;

/// One `key = value` line and where the value came from.
struct Line {
    key: String,
    value: String,
    origin: Origin,
}

/// A `[table]` with its lines; the root table has no header.
struct Section {
    header: Option<KeyPath>,
    lines: Vec<Line>,
}

fn sections(settings: &Settings) -> Vec<Section> {
    let mut out = Vec::new();
    collect(settings, schema::ROOT, &KeyPath(Vec::new()), &mut out);
    out
}

fn collect(settings: &Settings, keys: &'static [Key], at: &KeyPath, out: &mut Vec<Section>) {
    let mut here = Section {
        header: (!at.0.is_empty()).then(|| at.clone()),
        lines: Vec::new(),
    };
    let mut nested: Vec<(&'static Key, KeyPath)> = Vec::new();
    for key in keys {
        let path = at.child(key.name);
        match &key.kind {
            Kind::Scalar(_) | Kind::List(_) => {
                if let Some(s) = settings.get(&path) {
                    here.lines.push(Line {
                        key: toml_key(key.name),
                        value: s.value.to_toml().to_string(),
                        origin: s.origin.clone(),
                    });
                }
            }
            Kind::Table(_) | Kind::Map(..) => nested.push((key, path)),
        }
    }
    out.push(here);
    for (key, path) in nested {
        match &key.kind {
            Kind::Table(sub) => collect(settings, sub, &path, out),
            Kind::Map(_, Entry::Scalar(_)) => {
                let lines: Vec<Line> = settings
                    .entry_names(&path)
                    .into_iter()
                    .filter_map(|name| {
                        let s = settings.get(&path.child(&name))?;
                        Some(Line {
                            key: toml_key(&name),
                            value: s.value.to_toml().to_string(),
                            origin: s.origin.clone(),
                        })
                    })
                    .collect();
                if !lines.is_empty() {
                    out.push(Section {
                        header: Some(path),
                        lines,
                    });
                }
            }
            Kind::Map(_, Entry::Table(sub)) => {
                for name in settings.entry_names(&path) {
                    collect(settings, sub, &path.child(&name), out);
                }
            }
            Kind::Scalar(_) | Kind::List(_) => {}
        }
    }
}

/// The effective definition as TOML; with `origins`, each line ends in a comment naming the
/// file, line and column that set it, or "default".
pub fn to_toml(settings: &Settings, origins: bool) -> String {
    let mut out = String::new();
    for section in sections(settings) {
        // Fixed tables with nothing set are left out, but an entry of a bind or tmpfs table is
        // shown even when empty: its presence is the setting.
        if section.lines.is_empty() && section.header.as_ref().is_none_or(schema_table) {
            continue;
        }
        if let Some(h) = &section.header {
            if !out.is_empty() {
                out.push('\n');
            }
            let _ = writeln!(out, "[{h}]");
        }
        let width = section
            .lines
            .iter()
            .map(|l| l.key.len() + l.value.len() + 3)
            .max()
            .unwrap_or(0);
        for l in &section.lines {
            let line = format!("{} = {}", l.key, l.value);
            if origins {
                let _ = writeln!(out, "{line:width$}  # {}", l.origin);
            } else {
                let _ = writeln!(out, "{line}");
            }
        }
    }
    out
}

/// The effective definition as one entry per value: the dotted key (`resources.memory_max`,
/// `filesystem.binds."/srv".source`) to the value as TOML writes it. A bind or tmpfs entry
/// with no keys set is itself an entry (`{}`): its presence is the setting. This is what
/// `berth apply` records for a running container and compares key by key.
pub fn to_flat(settings: &Settings) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for section in sections(settings) {
        let header = section.header.clone().unwrap_or(KeyPath(Vec::new()));
        if section.lines.is_empty() {
            if section.header.is_some() && !schema_table(&header) {
                out.insert(header.to_string(), "{}".to_owned());
            }
            continue;
        }
        for l in section.lines {
            let key = if header.0.is_empty() {
                l.key
            } else {
                format!("{header}.{}", l.key)
            };
            out.insert(key, l.value);
        }
    }
    out
}

/// Whether a header names a fixed table of the schema (as opposed to a map entry).
fn schema_table(path: &KeyPath) -> bool {
    let parts: Vec<&str> = path.0.iter().map(String::as_str).collect();
    matches!(
        schema::find(&parts),
        Some(Key {
            kind: Kind::Table(_),
            ..
        })
    )
}

/// The effective definition as a JSON object; with `origins`, an `origins` object maps every
/// dotted key to where it was set.
pub fn to_json(name: &str, settings: &Settings, origins: bool) -> serde_json::Value {
    let mut definition = serde_json::Map::new();
    let mut origin_map = serde_json::Map::new();
    for section in sections(settings) {
        let header = section.header.clone().unwrap_or(KeyPath(Vec::new()));
        let table = table_at(&mut definition, &header.0);
        for l in section.lines {
            let name = unquote(&l.key);
            let value: toml::Value = toml::from_str::<toml::Table>(&format!("v = {}", l.value))
                .ok()
                .and_then(|mut t| t.remove("v"))
                .unwrap_or(toml::Value::String(l.value.clone()));
            table.insert(name.clone(), toml_to_json(value));
            origin_map.insert(header.child(&name).to_string(), l.origin.to_string().into());
        }
    }
    let mut out = serde_json::json!({ "name": name, "definition": definition });
    if origins {
        out["origins"] = serde_json::Value::Object(origin_map);
    }
    out
}

fn table_at<'a>(
    root: &'a mut serde_json::Map<String, serde_json::Value>,
    path: &[String],
) -> &'a mut serde_json::Map<String, serde_json::Value> {
    let Some((first, rest)) = path.split_first() else {
        return root;
    };
    let entry = root
        .entry(first.clone())
        .or_insert_with(|| serde_json::Value::Object(Default::default()));
    if !entry.is_object() {
        *entry = serde_json::Value::Object(Default::default());
    }
    match entry {
        serde_json::Value::Object(next) => table_at(next, rest),
        _ => unreachable!("made an object just above"),
    }
}

fn unquote(key: &str) -> String {
    toml::from_str::<toml::Table>(&format!("{key} = 0"))
        .ok()
        .and_then(|t| t.keys().next().cloned())
        .unwrap_or_else(|| key.to_owned())
}

fn toml_to_json(v: toml::Value) -> serde_json::Value {
    match v {
        toml::Value::String(s) => s.into(),
        toml::Value::Integer(i) => i.into(),
        toml::Value::Float(f) => f.into(),
        toml::Value::Boolean(b) => b.into(),
        toml::Value::Datetime(d) => d.to_string().into(),
        toml::Value::Array(a) => a.into_iter().map(toml_to_json).collect(),
        toml::Value::Table(t) => t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::from_sources;
    use crate::diagnostic::Source;
    use crate::name::Name;

    fn settings(texts: &[(&str, &str)]) -> Settings {
        let sources = texts.iter().map(|(p, t)| Source::new(*p, *t)).collect();
        from_sources(&Name::new("web").unwrap(), sources)
            .unwrap()
            .settings
    }

    const EXAMPLE: &str = include_str!("../../examples/web.toml");

    #[test]
    fn shows_the_effective_definition_with_defaults() {
        let s = settings(&[
            ("/e/web.toml", EXAMPLE),
            (
                "/e/web.toml.d/50-mem.toml",
                "[resources]\nmemory_max = \"1G\"\n[filesystem.binds.\"/srv/www\"]\n",
            ),
        ]);
        let shown = to_toml(&s, false);
        assert_eq!(
            shown,
            r#"description = "Static web server"
kind = "host"
mode = "app"
group = "web"
autostart = true
register_machine = true
hostname = "web"

[exec]
command = ["/usr/bin/python3", "-m", "http.server", "8080"]
user = "root"
working_directory = "/"
stop_signal = "SIGTERM"
stop_timeout = "30s"

[exec.environment]
PYTHONUNBUFFERED = "1"

[resources]
memory_max = "1G"
cpu_quota = "50%"
tasks_max = 64

[filesystem]
etc = "persistent"
var = "persistent"

[filesystem.binds."/srv/www"]
source = "/srv/www"
read_only = true

[network]
mode = "host"

[security]
no_new_privileges = true
seccomp = "default"
user_namespace = "off"
selinux = "auto"
selinux_type = "container_t"
"#
        );
        // What show prints is itself a valid definition with the same meaning.
        let again = settings(&[("/e/again.toml", &shown)]);
        assert_eq!(to_toml(&again, false), shown);
    }

    #[test]
    fn flat_has_every_value_under_its_dotted_key() {
        let s = settings(&[
            ("/e/web.toml", EXAMPLE),
            (
                "/e/web.toml.d/50-mem.toml",
                "[filesystem.binds.\"/srv/www\"]\n[filesystem.tmpfs.\"/cache\"]\n",
            ),
        ]);
        let flat = to_flat(&s);
        assert_eq!(flat["resources.memory_max"], "\"256M\"");
        assert_eq!(flat["autostart"], "true");
        assert_eq!(flat["exec.environment.PYTHONUNBUFFERED"], "\"1\"");
        assert_eq!(flat["filesystem.binds.\"/srv/www\".source"], "\"/srv/www\"");
        assert_eq!(flat["filesystem.tmpfs.\"/cache\".mode"], "\"0755\"");
        assert!(
            !flat.contains_key("resources"),
            "fixed tables are not entries"
        );
        // Every line of `berth show` is one entry.
        let lines = to_toml(&s, false)
            .lines()
            .filter(|l| l.contains(" = "))
            .count();
        assert_eq!(flat.len(), lines, "{flat:#?}");
    }

    #[test]
    fn origins_name_file_and_line() {
        let s = settings(&[
            ("/e/web.toml", EXAMPLE),
            (
                "/e/web.toml.d/50-mem.toml",
                "[resources]\nmemory_max = \"1G\"\n",
            ),
        ]);
        let shown = to_toml(&s, true);
        assert!(
            shown.contains("memory_max = \"1G\"  # /e/web.toml.d/50-mem.toml:2:14\n"),
            "{shown}"
        );
        assert!(
            shown.contains("kind = \"host\"                      # default\n"),
            "{shown}"
        );
        let json = to_json("web", &s, true);
        assert_eq!(json["definition"]["resources"]["memory_max"], "1G");
        assert_eq!(json["definition"]["resources"]["tasks_max"], 64);
        assert_eq!(
            json["definition"]["exec"]["environment"]["PYTHONUNBUFFERED"],
            "1"
        );
        assert_eq!(
            json["origins"]["resources.memory_max"],
            "/e/web.toml.d/50-mem.toml:2:14"
        );
        assert_eq!(json["origins"]["kind"], "default");
    }
}
