//! `cargo xtask`: generates what berth installs besides its binaries, from the library, at
//! build time (the packages run it; nothing here is installed).
//!
//! ```text
//! cargo xtask man [DIR]      berth(1) and the JSON Schema of --json to DIR/berth.1 and
//!                            DIR/berth.schema.json (default: man/, the committed copies)
//! cargo xtask generated DIR  everything the packages install, under DIR:
//!                              berth.1, berth.bash, _berth (zsh), berth.fish,
//!                              berth.schema.json
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use berth::cli::complete::{self, Shell};
use berth::cli::{json, manpage};

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create directory {}: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}

fn man(dir: &Path) -> Result<(), String> {
    write(&dir.join("berth.1"), &manpage::render())?;
    write(&dir.join("berth.schema.json"), &json::json_schema_text())
}

/// The file names under `generated DIR`.
fn generated(dir: &Path) -> Result<(), String> {
    write(&dir.join("berth.1"), &manpage::render())?;
    for shell in Shell::ALL {
        let name = match shell {
            Shell::Bash => "berth.bash",
            Shell::Zsh | Shell::Fish => shell.file_name(),
        };
        write(&dir.join(name), &complete::script(shell))?;
    }
    write(&dir.join("berth.schema.json"), &json::json_schema_text())
}

fn run(args: &[String]) -> Result<(), String> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask/ is inside the checkout")
        .to_owned();
    match args {
        [verb] if verb == "man" => man(&manifest.join("man")),
        [verb, dir] if verb == "man" => man(&PathBuf::from(dir)),
        [verb, dir] if verb == "generated" => generated(Path::new(dir)),
        _ => Err("usage: cargo xtask man [DIR] | cargo xtask generated DIR".into()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
