//! `berth enable` and `berth disable`: autostart switched through a drop-in that belongs to
//! berth, `NAME.toml.d/50-berth-enable.toml` in the highest directory of the search path
//! (/etc/berth/containers). The definition itself and every other drop-in may be owned by a
//! package or by configuration management, and are never rewritten.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::ApplyError;
use crate::definition::{self, layer::KeyPath, Loaded};
use crate::lifecycle::Context;
use crate::name::Name;
use crate::store::{write_atomic, At, IoError};

/// berth's own drop-in: applied after the usual `10-`..`49-` local ones, and before the
/// `60-`..`90-` ones an administrator uses to override everything.
pub const DROPIN: &str = "50-berth-enable.toml";

#[derive(Debug, PartialEq, Eq)]
pub enum Autostart {
    /// The drop-in was written (or rewritten).
    Written(PathBuf),
    /// Autostart was already as asked; nothing was written.
    Already,
}

fn text(on: bool) -> String {
    format!(
        "# Written by `berth {}`; `berth enable` and `berth disable` rewrite it.\nautostart = {on}\n",
        if on { "enable" } else { "disable" }
    )
}

/// Where `berth enable` writes for `name`.
pub fn dropin_path(ctx: &Context, name: &Name) -> Option<PathBuf> {
    let top = ctx.search.0.first()?;
    Some(top.join(format!("{name}.toml.d")).join(DROPIN))
}

/// Sets autostart of `name` to `on`. The definition must exist and be valid; afterwards it is
/// read again, and if a later drop-in still decides otherwise the old drop-in is put back and
/// the error names the file that decides.
pub fn set_autostart(ctx: &Context, name: &Name, on: bool) -> Result<Autostart, ApplyError> {
    let loaded = definition::load(&ctx.search, name)?;
    let path = dropin_path(ctx, name).ok_or(ApplyError::EmptySearchPath)?;
    let previous = match fs::read_to_string(&path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(source) => return Err(IoError::new("read", &path, source).into()),
    };
    if loaded.definition.autostart == on {
        return Ok(Autostart::Already);
    }
    write_dropin(&path, &text(on))?;
    let after = match definition::load(&ctx.search, name) {
        Ok(l) => l,
        Err(e) => {
            restore(&path, previous.as_deref())?;
            return Err(e.into());
        }
    };
    if after.definition.autostart != on {
        restore(&path, previous.as_deref())?;
        return Err(ApplyError::Overridden {
            name: name.clone(),
            stays: !on,
            origin: autostart_origin(&after),
            dropin: path,
        });
    }
    Ok(Autostart::Written(path))
}

fn autostart_origin(loaded: &Loaded) -> String {
    loaded
        .settings
        .get(&KeyPath::of(&["autostart"]))
        .map(|s| s.origin.to_string())
        .unwrap_or_else(|| "a later drop-in".into())
}

/// Through a hidden temporary file in the same directory, which is no drop-in (it does not end
/// in `.toml`), renamed into place: a reader sees the old file or the new one.
fn write_dropin(path: &Path, text: &str) -> Result<(), IoError> {
    let dir = path.parent().expect("a drop-in has a directory");
    fs::create_dir_all(dir).at("create", dir)?;
    write_atomic(path, &dir.join(format!(".{DROPIN}.tmp")), text.as_bytes())
}

fn restore(path: &Path, previous: Option<&str>) -> Result<(), IoError> {
    match previous {
        Some(text) => write_dropin(path, text),
        None => fs::remove_file(path).at("remove", path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::SearchPath;
    use crate::testing::TempTree;

    struct Tree(TempTree);

    impl Tree {
        fn new(tag: &str) -> Tree {
            Tree(TempTree::new(&format!("enable-{tag}"), &["etc", "usr"]))
        }
        fn ctx(&self) -> Context {
            Context {
                search: SearchPath(vec![self.0.join("etc"), self.0.join("usr")]),
                ..Context::default()
            }
        }
        fn write(&self, rel: &str, text: &str) {
            self.0.write(rel, text);
        }
    }

    const WEB: &str = "[exec]\ncommand = [\"/bin/true\"]\n";

    fn autostart(ctx: &Context) -> bool {
        definition::load(&ctx.search, &Name::new("web").unwrap())
            .unwrap()
            .definition
            .autostart
    }

    #[test]
    fn enable_writes_berths_own_dropin_and_leaves_the_packaged_file_alone() {
        let t = Tree::new("own");
        t.write("usr/web.toml", WEB);
        let ctx = t.ctx();
        let web = Name::new("web").unwrap();
        let path = t.0.join("etc/web.toml.d/50-berth-enable.toml");
        assert_eq!(
            set_autostart(&ctx, &web, true).unwrap(),
            Autostart::Written(path.clone())
        );
        assert!(autostart(&ctx));
        assert_eq!(fs::read_to_string(t.0.join("usr/web.toml")).unwrap(), WEB);
        assert_eq!(set_autostart(&ctx, &web, true).unwrap(), Autostart::Already);
        assert_eq!(
            set_autostart(&ctx, &web, false).unwrap(),
            Autostart::Written(path.clone())
        );
        assert!(!autostart(&ctx));
        assert!(fs::read_to_string(&path)
            .unwrap()
            .contains("autostart = false"));
        // No temporary file is left in the drop-in directory.
        assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn a_later_dropin_that_decides_is_named_and_nothing_changes() {
        let t = Tree::new("later");
        t.write("usr/web.toml", WEB);
        t.write("etc/web.toml.d/90-local.toml", "autostart = false\n");
        let ctx = t.ctx();
        let e = set_autostart(&ctx, &Name::new("web").unwrap(), true).unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("autostart of `web` stays false: "),
            "{text}"
        );
        assert!(text.contains("90-local.toml:1:13 sets it"), "{text}");
        assert!(!t.0.join("etc/web.toml.d/50-berth-enable.toml").exists());
    }

    #[test]
    fn no_definition_or_an_invalid_one_writes_nothing() {
        let t = Tree::new("none");
        let ctx = t.ctx();
        let web = Name::new("web").unwrap();
        assert!(matches!(
            set_autostart(&ctx, &web, true),
            Err(ApplyError::Definition(definition::LoadError::NotFound(..)))
        ));
        t.write("etc/web.toml", "[exec]\ncommand = 1\n");
        assert!(matches!(
            set_autostart(&ctx, &web, true),
            Err(ApplyError::Definition(
                definition::LoadError::Invalid { .. }
            ))
        ));
        assert!(!t.0.join("etc/web.toml.d").exists());
    }
}
