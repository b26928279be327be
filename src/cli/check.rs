//! `berth check [NAME|PATH...]`: validate definitions, report every error, change nothing.

use std::path::{Path, PathBuf};

use super::{exit, is_path, sibling_dropins};
use crate::definition::{self, LoadError, SearchPath};
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

pub fn run(search: &SearchPath, targets: &[String], json: bool) -> u8 {
    let results = if targets.is_empty() {
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
        Err(e) => {
            return vec![Checked {
                label: "search path".into(),
                files: Vec::new(),
                problems: vec![Diagnostic::new(e.to_string())],
                notes: Vec::new(),
            }]
        }
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
    out
}

fn check_target(search: &SearchPath, target: &str) -> Checked {
    if is_path(target) {
        return check_path(Path::new(target));
    }
    match Name::new(target) {
        Ok(name) => check_name(search, &name),
        Err(e) => Checked {
            label: target.to_owned(),
            files: Vec::new(),
            problems: vec![Diagnostic::new(format!(
                "`{target}` is not a valid container name: {e}"
            ))],
            notes: Vec::new(),
        },
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
        Ok(name) => match definition::load_files(&name, path, &dropins) {
            Ok(_) => Vec::new(),
            Err(LoadError::Invalid { problems, .. }) => problems,
            Err(e) => vec![Diagnostic::new(e.to_string())],
        },
    };
    Checked {
        label: path.display().to_string(),
        files,
        problems,
        notes: Vec::new(),
    }
}
