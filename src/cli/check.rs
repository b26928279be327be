//! `berth check [NAME|PATH...]`: validate definitions, report every error, change nothing.

use std::path::{Path, PathBuf};

use super::{exit, is_path, sibling_dropins};
use crate::definition::group::{self, GroupError};
use crate::definition::{self, Found, LoadError, SearchPath};
use crate::diagnostic::Diagnostic;
use crate::name::Name;

/// The outcome for one container or file.
struct Checked {
    label: String,
    files: Vec<PathBuf>,
    problems: Vec<Diagnostic>,
    /// Said but not an error (masked, drop-ins without a main file).
    notes: Vec<String>,
}

impl Checked {
    /// Nothing could be checked, for this one reason.
    fn failed(label: impl Into<String>, message: String) -> Checked {
        Checked {
            label: label.into(),
            files: Vec::new(),
            problems: vec![Diagnostic::new(message)],
            notes: Vec::new(),
        }
    }
}

pub fn run(search: &SearchPath, targets: &[String], place: Option<&str>, json: bool) -> u8 {
    let results = if let Some(place) = place {
        let [file] = targets else {
            eprintln!("error: --as checks one file: berth check --as PLACE FILE");
            return exit::USAGE;
        };
        vec![check_in_place(search, Path::new(file), place)]
    } else if targets.is_empty() {
        check_all(search)
    } else {
        targets.iter().map(|t| check_target(search, t)).collect()
    };
    let valid = results.iter().all(|r| r.problems.is_empty());
    if json {
        let containers: Vec<serde_json::Value> = results
            .iter()
            .map(|r| {
                serde_json::json!({
                    "name": r.label,
                    "valid": r.problems.is_empty(),
                    "files": r.files,
                    "errors": r.problems.iter().map(Diagnostic::to_json).collect::<Vec<_>>(),
                    "notes": r.notes,
                })
            })
            .collect();
        let out = serde_json::json!({ "valid": valid, "containers": containers });
        println!("{out:#}");
    } else {
        for r in &results {
            for p in &r.problems {
                eprintln!("{p}");
            }
            for n in &r.notes {
                eprintln!("note: {n}");
            }
        }
        let invalid = results.iter().filter(|r| !r.problems.is_empty()).count();
        let errors: usize = results.iter().map(|r| r.problems.len()).sum();
        if invalid == 0 {
            println!("{} definition(s) checked, all valid", results.len());
        } else {
            println!(
                "{} definition(s) checked, {invalid} invalid, {errors} error(s)",
                results.len()
            );
        }
    }
    if valid {
        exit::OK
    } else {
        exit::FAILED
    }
}

fn check_all(search: &SearchPath) -> Vec<Checked> {
    let (names, invalid_files) = match search.names() {
        Ok(found) => found,
        Err(e) => return vec![Checked::failed("search path", e.to_string())],
    };
    let mut out: Vec<Checked> = invalid_files
        .into_iter()
        .map(|path| Checked {
            label: definition::file_stem(&path),
            problems: vec![definition::invalid_file_name(&path)],
            files: vec![path],
            notes: Vec::new(),
        })
        .collect();
    out.extend(names.iter().map(|n| check_name(search, n)));
    out.extend(check_groups(&group::search_path(search)));
    out
}

/// Every group file on the groups' search path, labelled `group NAME`.
fn check_groups(groups: &SearchPath) -> Vec<Checked> {
    let (names, invalid_files) = match group::names(groups) {
        Ok(found) => found,
        Err(e) => return vec![Checked::failed("group search path", e.to_string())],
    };
    let mut out: Vec<Checked> = invalid_files
        .into_iter()
        .map(|path| Checked {
            label: format!("group {}", definition::file_stem(&path)),
            problems: vec![group::invalid_file_name(&path)],
            files: vec![path],
            notes: Vec::new(),
        })
        .collect();
    for g in names {
        let mut checked = Checked {
            label: format!("group {g}"),
            files: Vec::new(),
            problems: Vec::new(),
            notes: Vec::new(),
        };
        match group::load(groups, &g) {
            Ok(Some(loaded)) => {
                checked.files = loaded.sources.into_iter().map(|s| s.path).collect();
            }
            Ok(None) => checked.notes.push(format!("group {g}: masked")),
            Err(GroupError::Invalid { problems, .. }) => checked.problems = problems,
            Err(e) => checked.problems.push(Diagnostic::new(e.to_string())),
        }
        out.push(checked);
    }
    out
}

fn check_target(search: &SearchPath, target: &str) -> Checked {
    if is_path(target) {
        return check_path(Path::new(target));
    }
    match Name::new(target) {
        Ok(name) => check_name(search, &name),
        Err(e) => Checked::failed(
            target,
            format!("`{target}` is not a valid container name: {e}"),
        ),
    }
}

fn check_name(search: &SearchPath, name: &Name) -> Checked {
    let mut checked = Checked {
        label: name.to_string(),
        files: Vec::new(),
        problems: Vec::new(),
        notes: Vec::new(),
    };
    match definition::load(search, name) {
        Ok(loaded) => checked.files = loaded.sources.into_iter().map(|s| s.path).collect(),
        Err(LoadError::Masked(_, path)) => {
            checked
                .notes
                .push(format!("{name}: masked by {}", path.display()));
            checked.files.push(path);
        }
        Err(e @ LoadError::DropinsOnly { .. }) => {
            if let LoadError::DropinsOnly { dropins, .. } = &e {
                checked.files.clone_from(dropins);
            }
            checked.notes.push(e.to_string());
        }
        Err(LoadError::Invalid { problems, .. }) => checked.problems = problems,
        Err(e) => checked.problems.push(Diagnostic::new(e.to_string())),
    }
    checked
}

/// A file named on the command line, with the drop-ins in `FILE.d/` beside it.
fn check_path(path: &Path) -> Checked {
    let stem = path
        .file_name()
        .and_then(|f| f.to_str())
        .map(|f| f.strip_suffix(".toml").unwrap_or(f).to_owned())
        .unwrap_or_default();
    let dropins = sibling_dropins(path);
    let mut files = vec![path.to_owned()];
    files.extend(dropins.iter().cloned());
    let problems = match Name::new(&stem) {
        Err(e) => vec![
            Diagnostic::new(format!("`{stem}` is not a valid container name: {e}"))
                .at(&crate::diagnostic::Source::new(path, ""), None),
        ],
        Ok(name) => load_problems(&name, path, &dropins),
    };
    Checked {
        label: path.display().to_string(),
        files,
        problems,
        notes: Vec::new(),
    }
}

/// What is wrong with the definition `name` made of `main` and `dropins`, in that order.
fn load_problems(name: &Name, main: &Path, dropins: &[PathBuf]) -> Vec<Diagnostic> {
    match definition::load_files(name, main, dropins) {
        Ok(_) => Vec::new(),
        Err(LoadError::Invalid { problems, .. }) => problems,
        Err(e) => vec![Diagnostic::new(e.to_string())],
    }
}

/// Where `--as` puts the file: as the main file of a container, or as one of its drop-ins.
#[derive(Debug, PartialEq, Eq)]
enum Place {
    Main(String),
    Dropin { name: String, file: String },
}

/// `NAME`, `NAME.toml` or `NAME.toml.d/FILE.toml`.
fn parse_place(place: &str) -> Result<Place, String> {
    let Some((dir, file)) = place.split_once('/') else {
        let name = place.strip_suffix(".toml").unwrap_or(place);
        return Ok(Place::Main(name.to_owned()));
    };
    let name = dir.strip_suffix(".toml.d").ok_or_else(|| {
        format!("`{place}`: a drop-in's place is NAME.toml.d/FILE.toml, not under `{dir}`")
    })?;
    if file.contains('/') || !file.ends_with(".toml") {
        return Err(format!(
            "`{place}`: a drop-in's place is NAME.toml.d/FILE.toml (one file, ending in .toml)"
        ));
    }
    Ok(Place::Dropin {
        name: name.to_owned(),
        file: file.to_owned(),
    })
}

/// `--as PLACE FILE`: FILE checked as if it were at PLACE in the search path, merged with the
/// files it would be merged with there. What configuration management needs before it puts a
/// file in place (Ansible's `validate:` checks a temporary file, whatever its name), drop-ins
/// included: a drop-in is only valid with its main file.
fn check_in_place(search: &SearchPath, file: &Path, place: &str) -> Checked {
    match files_in_place(search, file, place) {
        Ok((name, main, dropins)) => Checked {
            label: place.to_owned(),
            problems: load_problems(&name, &main, &dropins),
            files: std::iter::once(main).chain(dropins).collect(),
            notes: Vec::new(),
        },
        Err(message) => Checked::failed(place, message),
    }
}

/// The container FILE would belong to at `place`, and the files of its definition then: the
/// main file and the drop-ins, in the order they apply.
fn files_in_place(
    search: &SearchPath,
    file: &Path,
    place: &str,
) -> Result<(Name, PathBuf, Vec<PathBuf>), String> {
    let parsed = parse_place(place)?;
    let (Place::Main(raw) | Place::Dropin { name: raw, .. }) = &parsed;
    let name = Name::new(raw).map_err(|e| format!("`{raw}` is not a valid container name: {e}"))?;
    let found = search.find(&name).map_err(|e| e.to_string())?;
    let (main, dropins) = match (parsed, found) {
        (Place::Main(_), Found::Defined { dropins, .. } | Found::DropinsOnly(dropins)) => {
            (file.to_owned(), dropins)
        }
        (Place::Main(_), Found::Masked(_) | Found::NotFound) => (file.to_owned(), Vec::new()),
        (Place::Dropin { file: slot, .. }, Found::Defined { main, dropins }) => {
            (main, with_dropin(dropins, &slot, file))
        }
        (Place::Dropin { .. }, Found::Masked(path)) => {
            return Err(format!(
                "`{name}` is masked by {}: a drop-in for it has no effect",
                path.display()
            ))
        }
        (Place::Dropin { .. }, Found::DropinsOnly(_) | Found::NotFound) => {
            return Err(format!(
                "`{name}` has no main file in the search path: a drop-in is checked with it"
            ))
        }
    };
    Ok((name, main, dropins))
}

/// `dropins` (in the order they apply) with `file` in the place of the one named `slot`, or
/// added where a drop-in of that name would apply.
fn with_dropin(dropins: Vec<PathBuf>, slot: &str, file: &Path) -> Vec<PathBuf> {
    let slot_of = |p: &PathBuf| p.file_name().map(|f| f.to_string_lossy().into_owned());
    let mut named: Vec<(String, PathBuf)> = dropins
        .into_iter()
        .filter_map(|p| Some((slot_of(&p)?, p)))
        .filter(|(n, _)| n != slot)
        .collect();
    named.push((slot.to_owned(), file.to_owned()));
    named.sort_by(|a, b| a.0.cmp(&b.0));
    named.into_iter().map(|(_, p)| p).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_name_a_main_file_or_a_dropin() {
        assert_eq!(parse_place("web"), Ok(Place::Main("web".into())));
        assert_eq!(parse_place("web.toml"), Ok(Place::Main("web".into())));
        assert_eq!(
            parse_place("web.toml.d/40-limits.toml"),
            Ok(Place::Dropin {
                name: "web".into(),
                file: "40-limits.toml".into()
            })
        );
        assert!(parse_place("web/40.toml").is_err());
        assert!(parse_place("web.toml.d/40.conf").is_err());
        assert!(parse_place("web.toml.d/a/b.toml").is_err());
    }

    #[test]
    fn a_dropin_takes_its_slot_in_lexical_order() {
        let have = vec![
            PathBuf::from("/etc/x.toml.d/10-a.toml"),
            PathBuf::from("/usr/lib/x.toml.d/50-b.toml"),
        ];
        let tmp = Path::new("/tmp/.source.toml");
        assert_eq!(
            with_dropin(have.clone(), "30-new.toml", tmp),
            [have[0].clone(), tmp.to_owned(), have[1].clone()]
        );
        assert_eq!(
            with_dropin(have.clone(), "50-b.toml", tmp),
            [have[0].clone(), tmp.to_owned()]
        );
    }
}
