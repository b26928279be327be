//! Group files: `GROUP.toml` in a `groups` directory beside each directory of the containers'
//! search path (`/etc/berth/groups` over `/run/berth/groups` over `/usr/lib/berth/groups`),
//! with drop-ins `GROUP.toml.d/*.toml` and masks as for definitions. They hold the limits of
//! the group's slice `berth-GROUP.slice`, which all the group's containers share. A nested
//! group's file is in a subdirectory: `web/front.toml` for group `web/front`.
//!
//! A group needs no main file: it has no key that must be set, so drop-ins alone apply.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::layer::KeyPath;
use super::model::{self, Conflict, Resources};
use super::search::{entries, is_toml, Found, SearchError, SearchPath};
use super::settings::Settings;
use super::value::Value;
use super::{conflict_diagnostics, merge_sources, read_sources, render, schema};
use crate::diagnostic::{Diagnostic, Source};
use crate::name::Group;

/// The directory group files are in, beside each containers directory of the search path.
pub const GROUPS_DIR: &str = "groups";

/// A group's file and drop-ins, read and checked.
#[derive(Debug, Clone)]
pub struct LoadedGroup {
    pub group: Group,
    /// The files in the order they were applied.
    pub sources: Vec<Source>,
    pub settings: Settings,
    pub description: String,
    pub resources: Resources,
}

impl LoadedGroup {
    /// Identifies what the group's files say, to tell whether its slice has it already.
    pub fn digest(&self) -> String {
        let text = render::to_toml(&self.settings, false);
        Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    #[error(transparent)]
    Search(#[from] SearchError),
    #[error("the file of group `{group}` is invalid ({} error{})", .problems.len(), if .problems.len() == 1 { "" } else { "s" })]
    Invalid {
        group: Group,
        problems: Vec<Diagnostic>,
    },
}

/// `DIR/../groups` for each directory of the containers' search path, in the same order.
pub fn search_path(containers: &SearchPath) -> SearchPath {
    SearchPath(
        containers
            .0
            .iter()
            .map(|dir| dir.parent().unwrap_or(dir).join(GROUPS_DIR))
            .collect(),
    )
}

/// The group's limits, or None when it has no files (or its file is masked): its slice is then
/// systemd's implicit one, without limits of berth's.
pub fn load(groups: &SearchPath, group: &Group) -> Result<Option<LoadedGroup>, GroupError> {
    let files = match groups.find_stem(&group.to_string())? {
        Found::Defined { main, mut dropins } => {
            dropins.insert(0, main);
            dropins
        }
        Found::DropinsOnly(dropins) => dropins,
        Found::Masked(_) | Found::NotFound => return Ok(None),
    };
    load_files(group, &files).map(Some)
}

/// Reads and checks a group made of `files`, applied in that order.
pub fn load_files(group: &Group, files: &[PathBuf]) -> Result<LoadedGroup, GroupError> {
    let (sources, mut problems) = read_sources(files.iter().map(PathBuf::as_path));
    match from_sources(group, sources) {
        Ok(loaded) if problems.is_empty() => Ok(loaded),
        Ok(_) => Err(GroupError::Invalid {
            group: group.clone(),
            problems,
        }),
        Err(more) => {
            problems.extend(more);
            Err(GroupError::Invalid {
                group: group.clone(),
                problems,
            })
        }
    }
}

/// Reads, merges and checks group file texts. Every problem is reported.
pub fn from_sources(group: &Group, sources: Vec<Source>) -> Result<LoadedGroup, Vec<Diagnostic>> {
    let mut settings = merge_sources(&sources, schema::GROUP_ROOT)?;
    model::fill_group_defaults(&mut settings);
    let resources = model::resources_of(&settings);
    if let Some(device) = resources.devices.keys().next() {
        let conflict = Conflict {
            message: "a group's slice takes no `devices`: each container's own list says what it may open".into(),
            key: KeyPath::of(&["resources", "devices", device]),
            expected: Some("`devices` in the [resources] of the group's containers".into()),
        };
        return Err(conflict_diagnostics(&sources, &settings, vec![conflict]));
    }
    let description = match settings.value(&["description"]) {
        Some(Value::Str(s)) => s.clone(),
        _ => String::new(),
    };
    Ok(LoadedGroup {
        group: group.clone(),
        sources,
        settings,
        description,
        resources,
    })
}

/// Every group with a file or drop-ins anywhere in the groups' search path, nested groups
/// included. Files whose names are no group names are returned apart, for `check` to report.
pub fn names(groups: &SearchPath) -> Result<(BTreeSet<Group>, Vec<PathBuf>), SearchError> {
    let mut names = BTreeSet::new();
    let mut invalid = Vec::new();
    for dir in &groups.0 {
        walk(dir, "", &mut names, &mut invalid)?;
    }
    Ok((names, invalid))
}

fn walk(
    dir: &Path,
    prefix: &str,
    names: &mut BTreeSet<Group>,
    invalid: &mut Vec<PathBuf>,
) -> Result<(), SearchError> {
    for (file, path) in entries(dir)? {
        if file.starts_with('.') {
            continue;
        }
        let stem = if let Some(stem) = file.strip_suffix(".toml.d") {
            stem
        } else if is_toml(&file) {
            file.trim_end_matches(".toml")
        } else {
            if path.is_dir() {
                walk(&path, &format!("{prefix}{file}/"), names, invalid)?;
            }
            continue;
        };
        match Group::new(&format!("{prefix}{stem}")) {
            Ok(g) => {
                names.insert(g);
            }
            Err(_) => invalid.push(path),
        }
    }
    Ok(())
}

/// A file on the groups' search path whose name is no group name, as `berth check` reports it.
pub fn invalid_file_name(path: &Path) -> Diagnostic {
    let stem = super::file_stem(path);
    let why = Group::new(&stem)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    Diagnostic::new(format!("`{stem}` is not a valid group name: {why}"))
        .at(&Source::new(path, ""), None)
        .expected("at most 64 characters of letters, digits, `_`, `.` and `-` per level")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::model::Limit;
    use crate::testing::TempTree;

    fn group(s: &str) -> Group {
        Group::new(s).unwrap()
    }

    fn errors(text: &str) -> Vec<String> {
        let sources = vec![Source::new("/g/web.toml", text)];
        match from_sources(&group("web"), sources) {
            Ok(_) => Vec::new(),
            Err(e) => e.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn groups_are_beside_the_containers() {
        let containers = SearchPath::parse("/etc/berth/containers:/run/berth/containers");
        assert_eq!(
            search_path(&containers),
            SearchPath::parse("/etc/berth/groups:/run/berth/groups")
        );
    }

    #[test]
    fn a_group_file_holds_resources() {
        let sources = vec![
            Source::new(
                "/g/web.toml",
                "description = \"web tier\"\n[resources]\nmemory_max = \"64M\"\ncpu_quota = \"50%\"\n",
            ),
            Source::new("/g/web.toml.d/10.toml", "[resources]\nmemory_max = \"1G\"\n"),
        ];
        let g = from_sources(&group("web"), sources).unwrap();
        assert_eq!(g.description, "web tier");
        assert_eq!(g.resources.memory_max, Some(Limit::Value(1 << 30)));
        assert_eq!(g.resources.cpu_quota_permyriad, Some(5000));
        assert_eq!(g.digest().len(), 64);
    }

    #[test]
    fn group_files_are_checked_with_positions() {
        let e = errors("[exec]\ncommand = [\"/bin/true\"]\n");
        assert!(
            e[0].starts_with("error: unknown key `exec` in the top level\n  --> /g/web.toml:1:2\n"),
            "{e:?}"
        );
        assert!(
            e[0].contains("= expected: one of description, resources\n"),
            "{e:?}"
        );
        let e = errors("[resources]\nmemory_max = \"lots\"\n");
        assert!(
            e[0].starts_with("error: invalid value for `resources.memory_max`"),
            "{e:?}"
        );
        assert!(e[0].contains("/g/web.toml:2:14"), "{e:?}");
        let e = errors("[resources.devices]\n\"/dev/fuse\" = \"rw\"\n");
        assert!(
            e[0].starts_with("error: a group's slice takes no `devices`"),
            "{e:?}"
        );
        assert!(e[0].contains("/g/web.toml:2:"), "{e:?}");
    }

    #[test]
    fn nested_groups_masks_and_dropins_alone() {
        let t = TempTree::new("groups", &["etc", "lib"]);
        let path = SearchPath(vec![t.join("etc"), t.join("lib")]);
        t.write("lib/web.toml", "[resources]\nmemory_max = \"64M\"\n");
        t.write("etc/web/front.toml", "[resources]\ntasks_max = 10\n");
        t.write("etc/db.toml.d/10.toml", "[resources]\ncpu_weight = 50\n");
        t.write("etc/bad name.toml", "");
        let (names, invalid) = names(&path).unwrap();
        let names: Vec<String> = names.iter().map(ToString::to_string).collect();
        assert_eq!(names, ["db", "web", "web/front"]);
        assert_eq!(invalid, [t.join("etc/bad name.toml")]);
        let front = load(&path, &group("web/front")).unwrap().unwrap();
        assert_eq!(front.resources.tasks_max, Some(Limit::Value(10)));
        let db = load(&path, &group("db")).unwrap().unwrap();
        assert_eq!(db.resources.cpu_weight, Some(50));
        std::os::unix::fs::symlink("/dev/null", t.join("etc/web.toml")).unwrap();
        assert!(load(&path, &group("web")).unwrap().is_none());
        assert!(load(&path, &group("none")).unwrap().is_none());
    }
}
