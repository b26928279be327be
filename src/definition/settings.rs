//! The merge of a definition's files into one set of values, each remembering where it was set.
//!
//! Rules (documented in berth.toml(5)): files apply in order (main file, then drop-ins by file
//! name); tables merge key by key; a scalar (a command list included) is replaced by a later
//! file; a list key appends, and `[]` or a list starting with `""` first resets it; an entry of
//! an identity-keyed table is changed key by key, and removed by setting it to `false`.

use std::collections::BTreeMap;

use super::layer::{KeyPath, Layer, Op, Origin};
use super::value::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub value: Value,
    pub origin: Origin,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    values: BTreeMap<KeyPath, Setting>,
    /// Entries of identity-keyed tables of tables (binds, tmpfs), which may have no keys set.
    entries: BTreeMap<KeyPath, Origin>,
}

impl Settings {
    pub fn merge<'a>(layers: impl IntoIterator<Item = &'a Layer>) -> Settings {
        let mut s = Settings::default();
        for layer in layers {
            for a in &layer.assignments {
                s.apply(&a.path, &a.op, &a.origin);
            }
        }
        s
    }

    fn apply(&mut self, path: &KeyPath, op: &Op, origin: &Origin) {
        match op {
            Op::Set(value) => self.set(path.clone(), value.clone(), origin.clone()),
            Op::Append { items, reset } => {
                let mut list = match self.values.get(path) {
                    Some(Setting {
                        value: Value::List(l),
                        ..
                    }) if !reset => l.clone(),
                    _ => Vec::new(),
                };
                for item in items {
                    if !list.contains(item) {
                        list.push(item.clone());
                    }
                }
                self.set(path.clone(), Value::List(list), origin.clone());
            }
            Op::Remove => {
                self.values.retain(|k, _| !k.starts_with(path));
                self.entries.retain(|k, _| !k.starts_with(path));
            }
            Op::Entry => {
                self.entries
                    .entry(path.clone())
                    .or_insert_with(|| origin.clone());
            }
        }
    }

    pub fn set(&mut self, path: KeyPath, value: Value, origin: Origin) {
        self.values.insert(path, Setting { value, origin });
    }

    pub fn get(&self, path: &KeyPath) -> Option<&Setting> {
        self.values.get(path)
    }

    pub fn value(&self, parts: &[&str]) -> Option<&Value> {
        self.values.get(&KeyPath::of(parts)).map(|s| &s.value)
    }

    /// The names of the entries of an identity-keyed table, e.g. `exec.environment`, sorted.
    pub fn entry_names(&self, table: &KeyPath) -> Vec<String> {
        let depth = table.0.len();
        let mut names: Vec<String> = self
            .values
            .keys()
            .chain(self.entries.keys())
            .filter(|k| k.0.len() > depth && k.starts_with(table))
            .map(|k| k.0[depth].clone())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    pub fn entry_origin(&self, entry: &KeyPath) -> Option<&Origin> {
        self.entries.get(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::layer;
    use crate::diagnostic::Source;

    fn merged(files: &[&str]) -> Settings {
        let layers: Vec<Layer> = files
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let (l, problems) = layer::parse(&Source::new(format!("/f{i}.toml"), *text));
                assert!(problems.is_empty(), "{problems:?}");
                l
            })
            .collect();
        Settings::merge(&layers)
    }

    fn list(s: &Settings, parts: &[&str]) -> Vec<String> {
        match s.value(parts) {
            Some(Value::List(l)) => l.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn later_scalars_win_and_origins_follow() {
        let s = merged(&[
            "description = \"a\"\n[resources]\nmemory_max = \"1G\"\n",
            "\n[resources]\nmemory_max = \"2G\"\n",
        ]);
        assert_eq!(s.value(&["description"]), Some(&Value::Str("a".into())));
        let m = s.get(&KeyPath::of(&["resources", "memory_max"])).unwrap();
        assert_eq!(m.value, Value::Bytes(2 << 30));
        assert_eq!(m.origin.to_string(), "/f1.toml:3:14");
    }

    #[test]
    fn commands_are_replaced_whole() {
        let s = merged(&[
            "[exec]\ncommand = [\"/bin/a\", \"x\"]\n",
            "[exec]\ncommand = [\"/bin/b\"]\n",
        ]);
        assert_eq!(
            s.value(&["exec", "command"]),
            Some(&Value::List(vec!["/bin/b".into()]))
        );
    }

    #[test]
    fn lists_append_dedup_and_reset() {
        let p = ["security", "capabilities_add"];
        let s = merged(&[
            "[security]\ncapabilities_add = [\"NET_ADMIN\"]\n",
            "[security]\ncapabilities_add = [\"SYS_PTRACE\", \"net_admin\"]\n",
        ]);
        assert_eq!(list(&s, &p), ["NET_ADMIN", "SYS_PTRACE"]);
        let s = merged(&[
            "[security]\ncapabilities_add = [\"NET_ADMIN\"]\n",
            "[security]\ncapabilities_add = [\"\", \"SYS_PTRACE\"]\n",
        ]);
        assert_eq!(list(&s, &p), ["SYS_PTRACE"]);
        let s = merged(&[
            "[security]\ncapabilities_add = [\"NET_ADMIN\"]\n",
            "[security]\ncapabilities_add = []\n",
        ]);
        assert_eq!(list(&s, &p), Vec::<String>::new());
    }

    #[test]
    fn identity_tables_change_entry_by_entry() {
        let s = merged(&[
            "[exec.environment]\nA = \"1\"\nB = \"2\"\n[filesystem.binds.\"/srv/a\"]\nsource = \"/data/a\"\n[filesystem.binds.\"/srv/b\"]\n",
            "[exec.environment]\nA = false\nC = \"3\"\n[filesystem.binds.\"/srv/a\"]\nread_only = false\n[filesystem.binds]\n\"/srv/b\" = false\n",
        ]);
        assert_eq!(
            s.entry_names(&KeyPath::of(&["exec", "environment"])),
            ["B", "C"]
        );
        assert_eq!(
            s.entry_names(&KeyPath::of(&["filesystem", "binds"])),
            ["/srv/a"]
        );
        assert_eq!(
            s.value(&["filesystem", "binds", "/srv/a", "source"]),
            Some(&Value::Str("/data/a".into()))
        );
        assert_eq!(
            s.value(&["filesystem", "binds", "/srv/a", "read_only"]),
            Some(&Value::Bool(false))
        );
    }

    #[test]
    fn a_removed_entry_can_come_back() {
        let s = merged(&[
            "[exec.environment]\nA = \"1\"\n",
            "[exec.environment]\nA = false\n",
            "[exec.environment]\nA = \"3\"\n",
        ]);
        assert_eq!(
            s.value(&["exec", "environment", "A"]),
            Some(&Value::Str("3".into()))
        );
    }
}
