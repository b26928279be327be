//! berth(1) is generated from the clap definition (src/cli/manpage.rs): the committed
//! man/berth.1 must be what it renders now, every verb and option must be on it with its exit
//! statuses, every `--json` verb must have its schema there, and mandoc must find nothing to
//! report in either page.

use std::path::Path;
use std::process::Command;

use berth::cli::{json, manpage};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn verbs() -> Vec<clap::Command> {
    let mut cmd = berth::cli::command();
    cmd.build();
    cmd.get_subcommands()
        .filter(|c| c.get_name() != "help" && !c.is_hide_set())
        .cloned()
        .collect()
}

#[test]
fn the_committed_page_is_up_to_date() {
    let committed = std::fs::read_to_string(root().join("man/berth.1")).expect("man/berth.1");
    let rendered = manpage::render();
    if committed != rendered {
        let line = committed
            .lines()
            .zip(rendered.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(rendered.lines().count()));
        panic!(
            "man/berth.1 is not what src/cli/ renders (first difference at line {}): run \
             `cargo xtask man` and commit the result",
            line + 1
        );
    }
}

#[test]
fn the_committed_json_schema_is_up_to_date() {
    let committed = std::fs::read_to_string(root().join("man/berth.schema.json"))
        .expect("man/berth.schema.json");
    assert!(
        committed == json::json_schema_text(),
        "man/berth.schema.json is not what src/cli/json.rs describes: run `cargo xtask man` \
         and commit the result"
    );
    let parsed: serde_json::Value = serde_json::from_str(&committed).expect("JSON");
    assert_eq!(
        parsed["$defs"].as_object().unwrap().len(),
        json::OUTPUTS.len()
    );
}

#[test]
fn every_verb_and_option_is_on_the_page() {
    let page = manpage::render().replace("\\-", "-");
    let commands = page
        .split("\n.SH COMMANDS\n")
        .nth(1)
        .and_then(|s| s.split("\n.SH ").next())
        .expect("a COMMANDS section");
    for verb in verbs() {
        let name = verb.get_name();
        let section = commands
            .split(&format!(".SS {name}\n"))
            .nth(1)
            .and_then(|s| s.split("\n.SS ").next())
            .unwrap_or_else(|| panic!("no subsection for `{name}` in COMMANDS"));
        for arg in verb.get_arguments() {
            if arg.is_global_set() || arg.is_hide_set() || arg.get_id() == "help" {
                continue;
            }
            if let Some(long) = arg.get_long() {
                assert!(
                    section.contains(&format!("--{long}")),
                    "`berth {name} --{long}` is not in its subsection"
                );
            }
        }
    }
    for global in ["--containers-path", "--help", "--version"] {
        assert!(page.contains(global), "{global}");
    }
}

#[test]
fn every_verb_has_its_exit_statuses() {
    let names: Vec<String> = verbs().iter().map(|v| v.get_name().to_owned()).collect();
    for name in &names {
        assert!(
            manpage::exit_status(name).is_some(),
            "`berth {name}` has no entry in manpage::EXIT_STATUS"
        );
    }
    for (verb, statuses) in manpage::EXIT_STATUS {
        assert!(
            names.iter().any(|n| n == verb),
            "EXIT_STATUS documents `{verb}`, which is no verb"
        );
        assert!(!statuses.is_empty(), "{verb}");
    }
    let page = manpage::render();
    let section = page.split("\n.SH \"EXIT STATUS\"\n").nth(1).unwrap();
    for name in &names {
        assert!(section.contains(&format!("\n.SS {name}\n")), "{name}");
    }
}

#[test]
fn every_json_verb_has_its_schema() {
    for verb in verbs() {
        let name = verb.get_name();
        let has_json = verb.get_arguments().any(|a| a.get_long() == Some("json"));
        assert_eq!(
            has_json,
            json::output(name).is_some(),
            "`berth {name}`: --json and an entry in json::OUTPUTS go together"
        );
        if has_json {
            let page = manpage::render().replace("\\-", "-");
            assert!(
                page.contains(&format!(".SS \"berth {name} --json\"")),
                "{name}"
            );
        }
    }
}

fn mandoc_lint(page: &str) {
    let run = Command::new("mandoc")
        .args(["-Tlint", page])
        .current_dir(root())
        .output();
    let out = match run {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("mandoc is not installed; .ci/run installs it (scripts/deps test)");
            }
            eprintln!("SKIP: mandoc is not installed (apt-get install mandoc)");
            return;
        }
        Err(e) => panic!("cannot run mandoc: {e}"),
    };
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && report.is_empty(),
        "mandoc -Tlint {page}:\n{report}"
    );
}

/// Not only warnings: style too (line length, whitespace), as Debian's lintian asks.
#[test]
fn mandoc_reports_nothing_for_either_page() {
    mandoc_lint("man/berth.1");
    mandoc_lint("man/berth.toml.5");
}
