//! Where definitions are found, systemd-style: `NAME.toml` in the first directory of the search
//! path that has it, drop-ins `NAME.toml.d/*.toml` from all of them (a higher directory's file
//! masking a same-named lower one) in lexical order of file name, and a symlink to /dev/null
//! masking a file.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use crate::name::Name;

pub const DEFAULT_SEARCH_PATH: [&str; 3] = [
    "/etc/berth/containers",
    "/run/berth/containers",
    "/usr/lib/berth/containers",
];

/// The environment variable that overrides the search path (`:`-separated, highest first).
pub const SEARCH_PATH_ENV: &str = "BERTH_CONTAINERS_PATH";

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("cannot read directory {path}: {source}")]
    ReadDir { path: PathBuf, source: io::Error },
    #[error("cannot inspect {path}: {source}")]
    Stat { path: PathBuf, source: io::Error },
}

/// Directories searched for definitions, highest priority first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPath(pub Vec<PathBuf>);

impl Default for SearchPath {
    fn default() -> Self {
        SearchPath(DEFAULT_SEARCH_PATH.iter().map(PathBuf::from).collect())
    }
}

impl SearchPath {
    /// `a:b:c`, highest first; empty parts are skipped.
    pub fn parse(s: &str) -> Self {
        SearchPath(
            s.split(':')
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
                .collect(),
        )
    }
}

/// The files that make up one container's definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Defined {
        main: PathBuf,
        dropins: Vec<PathBuf>,
    },
    /// The highest main file is a symlink to /dev/null.
    Masked(PathBuf),
    /// Drop-ins but no main file anywhere: nothing to start, but `check` reports them.
    DropinsOnly(Vec<PathBuf>),
    NotFound,
}

/// A file is masked when it is a symlink to /dev/null (or /dev/null itself).
fn is_masked(path: &Path) -> Result<bool, SearchError> {
    let stat = |path: &Path| SearchError::Stat {
        path: path.to_owned(),
        source: io::Error::last_os_error(),
    };
    let meta = fs::symlink_metadata(path).map_err(|source| SearchError::Stat {
        path: path.to_owned(),
        source,
    })?;
    if meta.file_type().is_symlink() {
        let target = fs::read_link(path).map_err(|_| stat(path))?;
        return Ok(target == Path::new("/dev/null"));
    }
    Ok(meta.file_type().is_char_device())
}

/// Entries of a directory, or none if it does not exist.
pub(crate) fn entries(dir: &Path) -> Result<Vec<(String, PathBuf)>, SearchError> {
    let read = match fs::read_dir(dir) {
        Ok(r) => r,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(Vec::new())
        }
        Err(source) => {
            return Err(SearchError::ReadDir {
                path: dir.to_owned(),
                source,
            })
        }
    };
    let mut out = Vec::new();
    for entry in read {
        let entry = entry.map_err(|source| SearchError::ReadDir {
            path: dir.to_owned(),
            source,
        })?;
        if let Some(name) = entry.file_name().to_str() {
            out.push((name.to_owned(), entry.path()));
        }
    }
    Ok(out)
}

pub(crate) fn is_toml(name: &str) -> bool {
    Path::new(name).extension() == Some(OsStr::new("toml")) && !name.starts_with('.')
}

impl SearchPath {
    /// The files for `name`.
    pub fn find(&self, name: &Name) -> Result<Found, SearchError> {
        self.find_stem(name.as_str())
    }

    /// The files for `STEM.toml`; a stem with `/` (a nested group's `web/front`) is found in a
    /// subdirectory.
    pub fn find_stem(&self, name: &str) -> Result<Found, SearchError> {
        let file = format!("{name}.toml");
        let mut main = None;
        for dir in &self.0 {
            let candidate = dir.join(&file);
            match fs::symlink_metadata(&candidate) {
                Ok(_) => {
                    main = Some(candidate);
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(SearchError::Stat {
                        path: candidate,
                        source,
                    })
                }
            }
        }
        let dropins = self.dropins(name)?;
        Ok(match main {
            Some(main) if is_masked(&main)? => Found::Masked(main),
            Some(main) => Found::Defined { main, dropins },
            None if dropins.is_empty() => Found::NotFound,
            None => Found::DropinsOnly(dropins),
        })
    }

    /// `NAME.toml.d/*.toml` from every directory, the highest directory winning per file name,
    /// masked ones left out, in lexical order of file name.
    fn dropins(&self, name: &str) -> Result<Vec<PathBuf>, SearchError> {
        let mut by_name: BTreeMap<String, PathBuf> = BTreeMap::new();
        for dir in &self.0 {
            for (file, path) in entries(&dir.join(format!("{name}.toml.d")))? {
                if is_toml(&file) {
                    by_name.entry(file).or_insert(path);
                }
            }
        }
        let mut out = Vec::with_capacity(by_name.len());
        for path in by_name.into_values() {
            if !is_masked(&path)? {
                out.push(path);
            }
        }
        Ok(out)
    }

    /// A digest of every entry of the search path's directories and of their drop-in
    /// directories (name, inode, size, modification time): it differs when any definition
    /// file was added, removed, replaced or written. Unreadable directories count as empty.
    pub fn fingerprint(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        use std::os::unix::fs::MetadataExt;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        let mut dirs: Vec<PathBuf> = self.0.clone();
        let mut i = 0;
        while i < dirs.len() {
            let dir = dirs[i].clone();
            let mut listed: Vec<(String, PathBuf)> = entries(&dir).unwrap_or_default();
            listed.sort();
            dir.hash(&mut h);
            for (name, path) in listed {
                let Ok(m) = fs::symlink_metadata(&path) else {
                    continue;
                };
                (&name, m.ino(), m.size(), m.mtime(), m.mtime_nsec()).hash(&mut h);
                if i < self.0.len() && name.ends_with(".toml.d") && m.is_dir() {
                    dirs.push(path);
                }
            }
            i += 1;
        }
        h.finish()
    }

    /// Every name with a main file or drop-ins anywhere in the search path. Files whose names
    /// are not valid container names are returned apart, for `check` to report.
    pub fn names(&self) -> Result<(BTreeSet<Name>, Vec<PathBuf>), SearchError> {
        let mut names = BTreeSet::new();
        let mut invalid = Vec::new();
        for dir in &self.0 {
            for (file, path) in entries(dir)? {
                let stem = file
                    .strip_suffix(".toml.d")
                    .or_else(|| file.strip_suffix(".toml"));
                let Some(stem) = stem.filter(|_| !file.starts_with('.')) else {
                    continue;
                };
                match Name::new(stem) {
                    Ok(n) => {
                        names.insert(n);
                    }
                    Err(_) => invalid.push(path),
                }
            }
        }
        Ok((names, invalid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TempTree;
    use std::os::unix::fs::symlink;

    struct Tree(TempTree);

    impl Tree {
        fn new(tag: &str) -> Tree {
            Tree(TempTree::new(
                &format!("search-{tag}"),
                &["etc", "run", "lib"],
            ))
        }
        fn path(&self) -> SearchPath {
            SearchPath(
                ["etc", "run", "lib"]
                    .iter()
                    .map(|d| self.0.join(d))
                    .collect(),
            )
        }
        fn write(&self, rel: &str) -> PathBuf {
            self.0.write(rel, "")
        }
        fn mask(&self, rel: &str) -> PathBuf {
            let p = self.0.join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            symlink("/dev/null", &p).unwrap();
            p
        }
    }

    fn web() -> Name {
        Name::new("web").unwrap()
    }

    #[test]
    fn higher_directory_wins_and_dropins_merge_by_file_name() {
        let t = Tree::new("prio");
        t.write("lib/web.toml");
        let main = t.write("run/web.toml");
        t.write("lib/web.toml.d/10-a.toml");
        let b = t.write("lib/web.toml.d/20-b.toml");
        let a = t.write("etc/web.toml.d/10-a.toml");
        t.write("etc/web.toml.d/README");
        let c = t.write("run/web.toml.d/15-c.toml");
        assert_eq!(
            t.path().find(&web()).unwrap(),
            Found::Defined {
                main,
                dropins: vec![a, c, b]
            }
        );
    }

    #[test]
    fn dev_null_masks() {
        let t = Tree::new("mask");
        t.write("lib/web.toml");
        let masked = t.mask("etc/web.toml");
        assert_eq!(t.path().find(&web()).unwrap(), Found::Masked(masked));

        let t = Tree::new("maskdropin");
        let main = t.write("lib/web.toml");
        t.write("lib/web.toml.d/10-a.toml");
        t.mask("etc/web.toml.d/10-a.toml");
        assert_eq!(
            t.path().find(&web()).unwrap(),
            Found::Defined {
                main,
                dropins: vec![]
            }
        );
    }

    #[test]
    fn dropins_without_main_file() {
        let t = Tree::new("orphan");
        let d = t.write("etc/web.toml.d/x.toml");
        assert_eq!(t.path().find(&web()).unwrap(), Found::DropinsOnly(vec![d]));
        assert_eq!(
            t.path().find(&Name::new("db").unwrap()).unwrap(),
            Found::NotFound
        );
    }

    #[test]
    fn names_lists_all_and_separates_invalid() {
        let t = Tree::new("names");
        t.write("lib/web.toml");
        t.write("etc/db.toml.d/x.toml");
        t.write("etc/notes.txt");
        let bad = t.write("run/bad name.toml");
        let (names, invalid) = t.path().names().unwrap();
        let names: Vec<&str> = names.iter().map(Name::as_str).collect();
        assert_eq!(names, ["db", "web"]);
        assert_eq!(invalid, [bad]);
    }

    #[test]
    fn the_fingerprint_changes_with_any_definition_file() {
        let t = Tree::new("fingerprint");
        let p = t.path();
        let empty = p.fingerprint();
        assert_eq!(p.fingerprint(), empty);
        t.write("lib/web.toml");
        let one = p.fingerprint();
        assert_ne!(one, empty);
        let dropin = t.write("etc/web.toml.d/10-a.toml");
        let two = p.fingerprint();
        assert_ne!(two, one);
        fs::write(&dropin, "[resources]\nmemory_max = \"1G\"\n").unwrap();
        assert_ne!(p.fingerprint(), two, "a drop-in written in place");
    }

    #[test]
    fn search_path_parses() {
        assert_eq!(
            SearchPath::parse("/a::/b"),
            SearchPath(vec!["/a".into(), "/b".into()])
        );
    }
}
