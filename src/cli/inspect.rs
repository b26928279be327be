//! `berth show` and `berth cat`: what a definition says, merged or file by file.

use super::exit;
use crate::definition::{self, render, Found, LoadError, SearchPath};
use crate::name::Name;

fn parse_name(name: &str) -> Result<Name, u8> {
    Name::new(name).map_err(|e| {
        eprintln!("error: `{name}` is not a valid container name: {e}");
        exit::FAILED
    })
}

pub fn show(search: &SearchPath, name: &str, origin: bool, json: bool) -> u8 {
    let name = match parse_name(name) {
        Ok(n) => n,
        Err(code) => return code,
    };
    match definition::load(search, &name) {
        Ok(loaded) => {
            if json {
                let out = render::to_json(name.as_str(), &loaded.settings, origin);
                println!("{out:#}");
            } else {
                print!("{}", render::to_toml(&loaded.settings, origin));
            }
            exit::OK
        }
        Err(LoadError::Invalid { problems, .. }) => {
            for p in &problems {
                eprint!("{p}");
            }
            eprintln!("error: the definition of `{name}` is invalid; see `berth check {name}`");
            exit::FAILED
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit::FAILED
        }
    }
}

/// Like `systemctl cat`: each file under a comment naming it, in the order applied. Works on
/// invalid definitions too, since that is when one wants to read them.
pub fn cat(search: &SearchPath, name: &str) -> u8 {
    let name = match parse_name(name) {
        Ok(n) => n,
        Err(code) => return code,
    };
    let files = match search.find(&name) {
        Ok(Found::Defined { main, dropins }) => std::iter::once(main).chain(dropins).collect(),
        Ok(Found::DropinsOnly(dropins)) => dropins,
        Ok(Found::Masked(path)) => {
            eprintln!("error: container `{name}` is masked by {}", path.display());
            return exit::FAILED;
        }
        Ok(Found::NotFound) => {
            eprintln!("error: no definition for container `{name}`");
            return exit::FAILED;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return exit::FAILED;
        }
    };
    let mut code = exit::OK;
    for (i, path) in files.iter().enumerate() {
        if i > 0 {
            println!();
        }
        println!("# {}", path.display());
        match definition::read_source(path) {
            Ok(source) => {
                print!("{}", source.text);
                if !source.text.ends_with('\n') && !source.text.is_empty() {
                    println!();
                }
            }
            Err(d) => {
                eprint!("{d}");
                code = exit::FAILED;
            }
        }
    }
    code
}
