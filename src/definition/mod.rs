//! Container definitions: found on the search path, each file read against the schema, merged,
//! defaults filled in, and checked as a whole. Nothing here touches the host beyond reading
//! the definition files.

pub mod choices;
pub mod from_unit;
pub mod group;
pub mod layer;
pub mod model;
pub mod render;
pub mod schema;
pub mod search;
pub mod settings;
pub mod value;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

pub use model::Definition;
pub use search::{Found, SearchError, SearchPath};
pub use settings::Settings;

use crate::diagnostic::{Diagnostic, Location, Source};
use crate::name::Name;
use layer::Origin;

/// Definition files larger than this are refused rather than read (a symlink to /dev/zero must
/// not hang `berth check`).
const MAX_FILE_SIZE: u64 = 1 << 20;

/// A container's definition with everything it was made from.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The files in the order they were applied: main file first, then drop-ins.
    pub sources: Vec<Source>,
    /// Every value with its origin, defaults included.
    pub settings: Settings,
    pub definition: Definition,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("no definition for container `{0}` in {1}")]
    NotFound(Name, String),
    #[error("container `{0}` is masked by {1}")]
    Masked(Name, PathBuf),
    #[error("container `{name}` has drop-ins but no {name}.toml: {}", .dropins.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    DropinsOnly { name: Name, dropins: Vec<PathBuf> },
    #[error(transparent)]
    Search(#[from] SearchError),
    #[error("the definition of `{name}` is invalid ({} error{})", .problems.len(), if .problems.len() == 1 { "" } else { "s" })]
    Invalid {
        name: Name,
        problems: Vec<Diagnostic>,
    },
}

/// Finds, reads and checks the definition of `name`.
pub fn load(search: &SearchPath, name: &Name) -> Result<Loaded, LoadError> {
    match search.find(name)? {
        Found::Defined { main, dropins } => load_files(name, &main, &dropins),
        Found::Masked(path) => Err(LoadError::Masked(name.clone(), path)),
        Found::DropinsOnly(dropins) => Err(LoadError::DropinsOnly {
            name: name.clone(),
            dropins,
        }),
        Found::NotFound => Err(LoadError::NotFound(
            name.clone(),
            search
                .0
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        )),
    }
}

/// Reads and checks a definition made of `main` and `dropins`, applied in that order.
pub fn load_files(name: &Name, main: &Path, dropins: &[PathBuf]) -> Result<Loaded, LoadError> {
    let (sources, mut problems) =
        read_sources(std::iter::once(main).chain(dropins.iter().map(PathBuf::as_path)));
    match from_sources(name, sources) {
        Ok(loaded) if problems.is_empty() => Ok(loaded),
        Ok(_) => Err(LoadError::Invalid {
            name: name.clone(),
            problems,
        }),
        Err(more) => {
            problems.extend(more);
            Err(LoadError::Invalid {
                name: name.clone(),
                problems,
            })
        }
    }
}

/// Reads every file, in order: the texts that could be read, and a problem for each that
/// could not.
pub(crate) fn read_sources<'p>(
    paths: impl IntoIterator<Item = &'p Path>,
) -> (Vec<Source>, Vec<Diagnostic>) {
    let mut problems = Vec::new();
    let mut sources = Vec::new();
    for path in paths {
        match read_source(path) {
            Ok(source) => sources.push(source),
            Err(d) => problems.push(*d),
        }
    }
    (sources, problems)
}

pub fn read_source(path: &Path) -> Result<Source, Box<Diagnostic>> {
    let fail = |what: String| {
        Box::new(
            Diagnostic::new(format!("cannot read {}: {what}", path.display()))
                .at(&Source::new(path, ""), None),
        )
    };
    let file = fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(e.to_string()))?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(fail(format!("larger than {} KiB", MAX_FILE_SIZE >> 10)));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = Source::new(path, String::from_utf8_lossy(e.as_bytes()).into_owned());
        let offset = e.utf8_error().valid_up_to();
        Box::new(Diagnostic::new("the file is not valid UTF-8").at(&at, Some(offset..offset + 1)))
    })?;
    Ok(Source::new(path, text))
}

/// Reads, merges and checks definition texts (main file first). Every problem is reported.
pub fn from_sources(name: &Name, sources: Vec<Source>) -> Result<Loaded, Vec<Diagnostic>> {
    let mut settings = merge_sources(&sources, schema::ROOT)?;
    model::fill_defaults(&mut settings, name);
    match model::build(name, &settings) {
        Ok(definition) => Ok(Loaded {
            sources,
            settings,
            definition,
        }),
        Err(conflicts) => Err(conflict_diagnostics(&sources, &settings, conflicts)),
    }
}

/// Reads each text against the keys of `root` and merges them in order; every problem of
/// every file, or the merged settings.
pub(crate) fn merge_sources(
    sources: &[Source],
    root: &'static [schema::Key],
) -> Result<Settings, Vec<Diagnostic>> {
    let mut problems = Vec::new();
    let mut layers = Vec::with_capacity(sources.len());
    for source in sources {
        let (layer, found) = layer::parse_with(source, root);
        problems.extend(found);
        layers.push(layer);
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Settings::merge(&layers))
}

/// Rules between keys that merged settings break, each pointing at the file that set the key.
pub(crate) fn conflict_diagnostics(
    sources: &[Source],
    settings: &Settings,
    conflicts: Vec<model::Conflict>,
) -> Vec<Diagnostic> {
    conflicts
        .into_iter()
        .map(|c| {
            let origin = settings
                .get(&c.key)
                .map(|s| &s.origin)
                .or_else(|| settings.entry_origin(&c.key));
            let mut d = Diagnostic::new(c.message).key(c.key.to_string());
            d.location = locate(sources, origin);
            if let Some(e) = c.expected {
                d = d.expected(e);
            }
            d
        })
        .collect()
}

/// The container name a definition file or drop-in directory on the search path stands for.
pub fn file_stem(path: &Path) -> String {
    path.file_name()
        .and_then(|f| f.to_str())
        .map(|f| {
            f.trim_end_matches(".d")
                .trim_end_matches(".toml")
                .to_owned()
        })
        .unwrap_or_default()
}

/// A file on the search path whose name is no container name (from [`SearchPath::names`]),
/// reported the way `berth check` reports it.
pub fn invalid_file_name(path: &Path) -> Diagnostic {
    let stem = file_stem(path);
    let why = Name::new(&stem)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    Diagnostic::new(format!("`{stem}` is not a valid container name: {why}"))
        .at(&Source::new(path, ""), None)
        .expected("at most 64 characters of letters, digits, `_`, `.` and `-`")
}

/// Where a value was set, or the main file when it is a default.
fn locate(sources: &[Source], origin: Option<&Origin>) -> Option<Location> {
    match origin {
        Some(Origin::File { path, span, .. }) => {
            let source = sources.iter().find(|s| &s.path == path)?;
            Some(Location {
                source: source.clone(),
                span: Some(span.clone()),
            })
        }
        _ => sources.first().map(|s| Location {
            source: s.clone(),
            span: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name() -> Name {
        Name::new("web").unwrap()
    }

    fn src(path: &str, text: &str) -> Source {
        Source::new(path, text)
    }

    fn errors(texts: &[&str]) -> Vec<String> {
        let sources = texts
            .iter()
            .enumerate()
            .map(|(i, t)| src(&format!("/c/{i}.toml"), t))
            .collect();
        match from_sources(&name(), sources) {
            Ok(_) => Vec::new(),
            Err(e) => e.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn the_readme_example_is_valid() {
        let loaded = from_sources(
            &name(),
            vec![src("/c/web.toml", include_str!("../../examples/web.toml"))],
        )
        .unwrap();
        let d = loaded.definition;
        assert_eq!(d.description, "Static web server");
        assert_eq!(d.group.unwrap().to_string(), "web");
        assert!(d.autostart);
        assert_eq!(d.exec.command[0], "/usr/bin/python3");
        assert_eq!(d.exec.environment["PYTHONUNBUFFERED"], "1");
        assert_eq!(d.resources.memory_max, Some(model::Limit::Value(256 << 20)));
        assert_eq!(d.resources.cpu_quota_permyriad, Some(5000));
        assert_eq!(d.resources.tasks_max, Some(model::Limit::Value(64)));
        assert_eq!(d.hostname, "web");
        assert_eq!(d.exec.stop_signal, value::Signal::TERM);
        assert!(d.security.no_new_privileges);
    }

    #[test]
    fn app_mode_needs_a_command() {
        assert_eq!(
            errors(&["description = \"x\"\n"]),
            [
                "error: an app-mode container needs a command: `command` in [exec]\n  \
              --> /c/0.toml\n \
              = key: mode\n \
              = expected: [exec] command = [\"/path/to/program\", \"arg\", ...]\n"
            ]
        );
        assert_eq!(errors(&["mode = \"boot\"\n"]), Vec::<String>::new());
    }

    #[test]
    fn conflicts_point_at_the_file_that_set_the_key() {
        let e = errors(&[
            "[exec]\ncommand = [\"/bin/true\"]\n",
            "[security]\nselinux = \"off\"\nselinux_level = \"s0:c1,c2\"\n",
        ]);
        assert_eq!(
            e,
            ["error: `selinux_level` is set, but selinux = \"off\"\n  \
              --> /c/1.toml:3:17\n  \
              |\n\
              3 | selinux_level = \"s0:c1,c2\"\n  \
              |                 ^^^^^^^^^^\n  \
              = key: security.selinux_level\n  \
              = expected: selinux = \"auto\", or no selinux_level\n"]
        );
    }

    #[test]
    fn image_rules() {
        let cmd = "[exec]\ncommand = [\"/bin/true\"]\n";
        assert!(errors(&[&format!("kind = \"image\"\nimage = \"deb\"\n{cmd}")]).is_empty());
        assert!(errors(&[&format!("kind = \"image\"\n{cmd}")])[0]
            .starts_with("error: kind = \"image\" needs `image`"));
        assert!(errors(&[&format!("root = \"/srv/tree\"\n{cmd}")])[0]
            .starts_with("error: `root` is only for kind = \"image\""));
    }

    #[test]
    fn mount_targets_are_checked() {
        let e = errors(&[
            "[exec]\ncommand = [\"/bin/true\"]\n[filesystem.binds.\"/proc/x\"]\n[filesystem.tmpfs.\"/srv\"]\n[filesystem.binds.\"/srv\"]\n",
        ]);
        assert_eq!(e.len(), 2, "{e:#?}");
        assert!(e[0].starts_with("error: cannot mount on /proc/x: berth sets up /proc itself\n"));
        assert!(e[1].starts_with("error: /srv is both a bind mount and a tmpfs mount\n"));
    }

    #[test]
    fn what_boot_mode_and_images_cannot_do_yet() {
        let e = errors(&["mode = \"boot\"\n[security]\nuser_namespace = \"auto\"\n"]);
        assert!(
            e[0].starts_with(
                "error: user_namespace = \"auto\" is not supported for boot mode yet\n"
            ),
            "{e:?}"
        );
        let e = errors(&["kind = \"image\"\nimage = \"deb\"\n[exec]\ncommand = [\"/x\"]\n[security]\nuser_namespace = \"auto\"\n"]);
        assert!(
            e[0].contains("not supported for image containers yet"),
            "{e:?}"
        );
        let e = errors(&["mode = \"boot\"\n[exec]\nuser = \"nobody\"\n"]);
        assert!(
            e[0].starts_with("error: a boot-mode container's init runs as root"),
            "{e:?}"
        );
    }

    #[test]
    fn boot_mode_defaults() {
        let loaded = from_sources(&name(), vec![src("/c/w.toml", "mode = \"boot\"\n")]).unwrap();
        assert_eq!(loaded.definition.exec.command, ["/sbin/init"]);
        assert_eq!(loaded.definition.exec.stop_signal, value::Signal::RTMIN_3);
        assert!(!loaded.definition.security.no_new_privileges);
    }
}
