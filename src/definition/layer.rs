//! One definition file read against the schema: the assignments it makes, in order, and every
//! problem found in it (all of them, not just the first).

use std::fmt;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::schema::{self, Entry, Key, Kind};
use super::value::{type_name, MapKey, Scalar, Value};
use crate::diagnostic::{did_you_mean, Diagnostic, Source};

/// Where a key lives: table names, then the key, e.g. `resources.memory_max`, or
/// `filesystem.binds."/srv/data".read_only` for an entry of an identity-keyed table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyPath(pub Vec<String>);

impl KeyPath {
    pub fn child(&self, name: &str) -> KeyPath {
        let mut v = self.0.clone();
        v.push(name.to_owned());
        KeyPath(v)
    }

    pub fn starts_with(&self, prefix: &KeyPath) -> bool {
        self.0.starts_with(&prefix.0)
    }

    pub fn of(parts: &[&str]) -> KeyPath {
        KeyPath(parts.iter().map(|s| (*s).to_owned()).collect())
    }

    /// `[resources]`, or "the top level".
    fn table_name(&self) -> String {
        if self.0.is_empty() {
            "the top level".into()
        } else {
            format!("[{self}]")
        }
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|p| toml_key(p)).collect();
        f.write_str(&parts.join("."))
    }
}

/// A key as TOML writes it: bare where it can be, quoted where it must be.
pub fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_owned()
    } else {
        toml::Value::String(k.to_owned()).to_string()
    }
}

/// The file and line that set a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    File {
        path: std::path::PathBuf,
        line: usize,
        column: usize,
        /// Byte range in the file, for pointing at it in later diagnostics.
        span: std::ops::Range<usize>,
    },
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File {
                path, line, column, ..
            } => write!(f, "{}:{line}:{column}", path.display()),
            Origin::Default => f.write_str("default"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Set(Value),
    Append {
        items: Vec<String>,
        reset: bool,
    },
    /// An entry of an identity-keyed table set to `false`.
    Remove,
    /// An entry of an identity-keyed table of tables exists, even with no keys of its own.
    Entry,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub path: KeyPath,
    pub op: Op,
    pub origin: Origin,
}

/// What one file says.
#[derive(Debug, Clone, Default)]
pub struct Layer {
    pub assignments: Vec<Assignment>,
}

/// Reads one file. Problems are collected; the assignments that were valid are kept, so that a
/// caller can report every problem at once (but must not act on a layer with problems).
pub fn parse(source: &Source) -> (Layer, Vec<Diagnostic>) {
    parse_with(source, schema::ROOT)
}

/// Reads one file against the keys of `root`: a container definition's
/// ([`schema::ROOT`]) or a group file's ([`schema::GROUP_ROOT`]).
pub fn parse_with(source: &Source, root: &'static [Key]) -> (Layer, Vec<Diagnostic>) {
    let mut reader = Reader {
        source,
        layer: Layer::default(),
        problems: Vec::new(),
    };
    let (doc, syntax_errors) = DeTable::parse_recoverable(&source.text);
    reader.table(doc.get_ref(), root, &KeyPath(Vec::new()));
    // The parser recovers from a syntax error with a best guess (`autostart = yes` becomes the
    // string "yes"); what the schema then says about that guess would only repeat the error.
    let syntax_spans: Vec<_> = syntax_errors.iter().filter_map(|e| e.span()).collect();
    reader.problems.retain(|d| {
        let span = d.location.as_ref().and_then(|l| l.span.clone());
        !span.is_some_and(|s| syntax_spans.iter().any(|e| overlaps(e, &s)))
    });
    let mut problems: Vec<Diagnostic> = syntax_errors
        .into_iter()
        .map(|e| {
            Diagnostic::new(format!("invalid TOML: {}", e.message().trim_end()))
                .at(source, e.span())
        })
        .collect();
    problems.append(&mut reader.problems);
    (reader.layer, problems)
}

/// Whether two byte ranges share a byte; an empty range counts as its first byte.
fn overlaps(a: &std::ops::Range<usize>, b: &std::ops::Range<usize>) -> bool {
    a.start < b.end.max(b.start + 1) && b.start < a.end.max(a.start + 1)
}

struct Reader<'s> {
    source: &'s Source,
    layer: Layer,
    problems: Vec<Diagnostic>,
}

impl Reader<'_> {
    fn origin(&self, span: std::ops::Range<usize>) -> Origin {
        let (line, column) = self.source.line_col(span.start);
        Origin::File {
            path: self.source.path.clone(),
            line,
            column,
            span,
        }
    }

    fn assign(&mut self, path: KeyPath, op: Op, span: std::ops::Range<usize>) {
        let origin = self.origin(span);
        self.layer.assignments.push(Assignment { path, op, origin });
    }

    fn table(&mut self, table: &DeTable<'_>, keys: &'static [Key], at: &KeyPath) {
        for (k, v) in table.iter() {
            let name: &str = k.get_ref();
            let Some(key) = keys.iter().find(|key| key.name == name) else {
                let d = Diagnostic::new(format!("unknown key `{name}` in {}", at.table_name()))
                    .at(self.source, Some(k.span()))
                    .key(at.child(name).to_string())
                    .expected(format!(
                        "one of {}",
                        keys.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
                    ))
                    .help(did_you_mean(name, keys.iter().map(|k| k.name)));
                self.problems.push(d);
                continue;
            };
            self.key(key, at.child(name), v);
        }
    }

    fn key(&mut self, key: &'static Key, path: KeyPath, v: &Spanned<DeValue<'_>>) {
        match &key.kind {
            Kind::Table(sub) => match v.get_ref() {
                DeValue::Table(t) => self.table(t, sub, &path),
                other => self.wrong(&path, v, "a table", type_name(other)),
            },
            Kind::Scalar(s) => self.scalar(*s, path, v),
            Kind::List(s) => self.list(*s, path, v),
            Kind::Map(map_key, entry) => match v.get_ref() {
                DeValue::Table(t) => {
                    for (ek, ev) in t.iter() {
                        self.map_entry(*map_key, entry, &path, ek, ev);
                    }
                }
                other => self.wrong(&path, v, "a table", type_name(other)),
            },
        }
    }

    fn scalar(&mut self, s: Scalar, path: KeyPath, v: &Spanned<DeValue<'_>>) {
        match s.parse(v.get_ref()) {
            Ok(value) => self.assign(path, Op::Set(value), v.span()),
            Err(problem) => self.invalid(&path, v, &s.expected(), problem.detail, problem.help),
        }
    }

    fn list(&mut self, s: Scalar, path: KeyPath, v: &Spanned<DeValue<'_>>) {
        let DeValue::Array(items) = v.get_ref() else {
            let expected = format!("a list of: {}", s.expected());
            return self.wrong(&path, v, &expected, type_name(v.get_ref()));
        };
        let mut values = Vec::with_capacity(items.len());
        let mut reset = items.is_empty();
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            if i == 0 && matches!(item.get_ref(), DeValue::String(s) if s.is_empty()) {
                reset = true;
                continue;
            }
            match s.parse(item.get_ref()) {
                Ok(Value::Str(text)) => values.push(text),
                Ok(other) => values.push(other.to_toml().as_str().unwrap_or_default().to_owned()),
                Err(problem) => {
                    ok = false;
                    self.invalid(&path, item, &s.expected(), problem.detail, problem.help);
                }
            }
        }
        if ok {
            self.assign(
                path,
                Op::Append {
                    items: values,
                    reset,
                },
                v.span(),
            );
        }
    }

    fn map_entry(
        &mut self,
        map_key: MapKey,
        entry: &Entry,
        at: &KeyPath,
        k: &Spanned<toml::de::DeString<'_>>,
        v: &Spanned<DeValue<'_>>,
    ) {
        let name = match map_key.check(k.get_ref()) {
            Ok(name) => name,
            Err(problem) => {
                let path = at.child(k.get_ref());
                let mut message = format!("invalid key `{}` in [{at}]", k.get_ref());
                if let Some(detail) = problem.detail {
                    message = format!("{message}: {detail}");
                }
                let d = Diagnostic::new(message)
                    .at(self.source, Some(k.span()))
                    .key(path.to_string())
                    .expected(map_key.expected());
                self.problems.push(d);
                return;
            }
        };
        let path = at.child(&name);
        if matches!(v.get_ref(), DeValue::Boolean(false)) {
            return self.assign(path, Op::Remove, v.span());
        }
        match entry {
            Entry::Scalar(s) => self.scalar(*s, path, v),
            Entry::Table(sub) => match v.get_ref() {
                DeValue::Table(t) => {
                    self.assign(path.clone(), Op::Entry, k.span());
                    self.table(t, sub, &path);
                }
                other => self.wrong(
                    &path,
                    v,
                    "a table, or false to remove the entry",
                    type_name(other),
                ),
            },
        }
    }

    fn wrong(&mut self, path: &KeyPath, v: &Spanned<DeValue<'_>>, expected: &str, found: &str) {
        self.invalid(path, v, expected, Some(format!("found {found}")), None);
    }

    fn invalid(
        &mut self,
        path: &KeyPath,
        v: &Spanned<DeValue<'_>>,
        expected: &str,
        detail: Option<String>,
        help: Option<String>,
    ) {
        let mut message = format!("invalid value for `{path}`");
        if let Some(detail) = detail {
            message = format!("{message}: {detail}");
        }
        let d = Diagnostic::new(message)
            .at(self.source, Some(v.span()))
            .key(path.to_string())
            .expected(expected)
            .help(help);
        self.problems.push(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (Layer, Vec<String>) {
        let src = Source::new("/etc/berth/containers/web.toml", text);
        let (layer, problems) = parse(&src);
        (layer, problems.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn reads_the_readme_example() {
        let (layer, problems) = read(include_str!("../../examples/web.toml"));
        assert_eq!(problems, Vec::<String>::new());
        let paths: Vec<String> = layer
            .assignments
            .iter()
            .map(|a| a.path.to_string())
            .collect();
        assert!(paths.contains(&"resources.memory_max".to_owned()));
        assert!(paths.contains(&"exec.environment.PYTHONUNBUFFERED".to_owned()));
    }

    #[test]
    fn unknown_key_names_the_nearest() {
        let (_, problems) = read("[resources]\nmemroy_max = \"256M\"\n");
        assert_eq!(
            problems,
            ["error: unknown key `memroy_max` in [resources]\n  \
              --> /etc/berth/containers/web.toml:2:1\n  \
              |\n\
              2 | memroy_max = \"256M\"\n  \
              | ^^^^^^^^^^\n  \
              = key: resources.memroy_max\n  \
              = expected: one of memory_max, memory_high, memory_swap_max, memory_low, cpu_quota, cpu_weight, io_weight, io_read_bandwidth_max, io_write_bandwidth_max, io_read_iops_max, io_write_iops_max, tasks_max, allowed_cpus, allowed_memory_nodes, devices\n  \
              = help: did you mean `memory_max`?\n"]
        );
    }

    #[test]
    fn every_problem_is_reported() {
        let (_, problems) = read(
            "mode = \"bot\"\n[resources]\ncpu_weight = 0\ntasks_max = \"many\"\n[exec]\nstop_signal = \"SIGTREM\"\n",
        );
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert_eq!(
            problems[0],
            "error: invalid value for `mode`: unknown value \"bot\"\n  \
             --> /etc/berth/containers/web.toml:1:8\n  \
             |\n\
             1 | mode = \"bot\"\n  \
             |        ^^^^^\n  \
             = key: mode\n  \
             = expected: one of \"app\" or \"boot\"\n  \
             = help: did you mean `boot`?\n"
        );
        assert!(problems[1].starts_with(
            "error: invalid value for `resources.cpu_weight`: 0 is outside 1-10000\n"
        ));
        assert!(problems[2]
            .starts_with("error: invalid value for `resources.tasks_max`: found a string\n"));
        assert!(problems[3].contains("= help: did you mean `SIGTERM`?"));
    }

    #[test]
    fn syntax_errors_have_positions() {
        let (_, problems) = read("description = \"x\nautostart = true\n");
        assert!(!problems.is_empty());
        assert!(
            problems[0].starts_with("error: invalid TOML: "),
            "{}",
            problems[0]
        );
        assert!(problems[0].contains("web.toml:1:"), "{}", problems[0]);
    }

    #[test]
    fn map_entries_can_be_removed_and_lists_reset() {
        let (layer, problems) = read(
            "[exec.environment]\nA = false\n[filesystem]\nmasked_paths = [\"\", \"/srv/x\"]\n[filesystem.binds.\"/srv\"]\n",
        );
        assert!(problems.is_empty(), "{problems:#?}");
        let ops: Vec<(String, &Op)> = layer
            .assignments
            .iter()
            .map(|a| (a.path.to_string(), &a.op))
            .collect();
        assert_eq!(
            ops,
            [
                ("exec.environment.A".to_owned(), &Op::Remove),
                (
                    "filesystem.masked_paths".to_owned(),
                    &Op::Append {
                        items: vec!["/srv/x".into()],
                        reset: true
                    }
                ),
                ("filesystem.binds.\"/srv\"".to_owned(), &Op::Entry),
            ]
        );
    }

    #[test]
    fn bad_map_keys_are_reported() {
        let (_, problems) =
            read("[filesystem.binds.\"srv\"]\n[exec.environment]\n\"1A\" = \"x\"\n");
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(problems[0].starts_with(
            "error: invalid key `srv` in [filesystem.binds]: \"srv\" is not absolute\n"
        ));
        assert!(problems[1].starts_with("error: invalid key `1A` in [exec.environment]\n"));
    }
}
