//! `berth create NAME --from-unit UNIT`: writes a definition made from a host service. One
//! unit only: see [`ONE_UNIT`].

use std::fs;
use std::io::Write;

use super::exit;
use super::run::name;
use crate::definition::from_unit::{self, FromUnitError};
use crate::definition::search::Found;
use crate::definition::{from_sources, Loaded};
use crate::diagnostic::Source;
use crate::lifecycle::Context;
use crate::systemd::Systemd;

/// Why several `--from-unit` are refused, for the error and berth(1).
pub const ONE_UNIT: &str = "a container runs one payload, exec.command, under berth's small \
     init, which starts nothing else and restarts nothing: several services in one container \
     would need a service manager inside it. Make one container per unit (`group` puts them in \
     one slice, and a group file gives them a shared budget), or a boot-mode container whose \
     own systemd runs the units";

pub fn from_unit(ctx: &Context, raw: &str, units: &[String], dry_run: bool) -> u8 {
    let n = match name(raw) {
        Ok(n) => n,
        Err(c) => return c,
    };
    let unit = match units {
        [unit] => unit.as_str(),
        _ => {
            eprintln!(
                "error: berth create takes one --from-unit, not {}: {ONE_UNIT}",
                units.len()
            );
            return exit::USAGE;
        }
    };
    let Some(dir) = ctx.search.0.first() else {
        eprintln!("error: the search path is empty: there is no directory to write {n}.toml in");
        return exit::FAILED;
    };
    let path = dir.join(format!("{n}.toml"));
    if !dry_run {
        match ctx.search.find(&n) {
            Ok(Found::Defined { main, .. }) => {
                eprintln!(
                    "error: container `{n}` is defined already, in {}; nothing was written",
                    main.display()
                );
                return exit::FAILED;
            }
            Ok(_) => {}
            Err(e) => {
                eprintln!("error: {e}");
                return exit::FAILED;
            }
        }
    }
    let text = match make(unit) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::FAILED;
        }
    };
    // What berth check would say of the file: nothing, or it is not written.
    if let Err(problems) = check(&n, &path, &text) {
        for p in problems {
            eprint!("{p}");
        }
        eprintln!("error: the definition made from {unit} is invalid; nothing was written");
        return exit::FAILED;
    }
    if dry_run {
        print!("{text}");
        return exit::OK;
    }
    let written = fs::create_dir_all(dir).and_then(|()| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        file.write_all(text.as_bytes())
    });
    match written {
        Ok(()) => {
            println!("wrote {} from {unit}", path.display());
            exit::OK
        }
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", path.display());
            exit::FAILED
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum MakeError {
    #[error(transparent)]
    FromUnit(#[from] FromUnitError),
    #[error(transparent)]
    Systemd(#[from] crate::systemd::SystemdError),
}

fn make(unit: &str) -> Result<String, MakeError> {
    from_unit::check_unit_name(unit)?;
    let systemd = Systemd::connect()?;
    let host = systemd
        .host_unit(unit)?
        .ok_or_else(|| FromUnitError::NotFound {
            unit: unit.to_owned(),
        })?;
    let read = |path: &str| fs::read_to_string(path);
    Ok(from_unit::definition(
        &host,
        systemd.default_tasks_max()?,
        &read,
    )?)
}

fn check(
    n: &crate::name::Name,
    path: &std::path::Path,
    text: &str,
) -> Result<Loaded, Vec<crate::diagnostic::Diagnostic>> {
    from_sources(n, vec![Source::new(path, text)])
}
