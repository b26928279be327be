//! The shell completion scripts, as the packages install them (src/cli/complete.rs), loaded in
//! real bash, zsh and fish against the real `berth` on the fixture definitions: verbs, options,
//! and the names of defined containers. A shell that is not installed fails the test under
//! CI=true and is skipped (saying SKIP) otherwise.

use std::path::{Path, PathBuf};
use std::process::Command;

use berth::cli::complete::{script, Shell};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The search path of the `valid` fixture: `web` is defined, `db` masked.
fn valid_path() -> String {
    let root = fixtures().join("valid");
    ["etc", "run", "usr"]
        .iter()
        .map(|d| root.join(d).display().to_string())
        .collect::<Vec<_>>()
        .join(":")
}

/// The script for `shell`, written where the shell can read it. Tests run at once: each
/// writes a file of its own and renames it into place, so no shell reads one half written.
fn script_file(shell: Shell) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("completions");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(shell.file_name());
    let tmp = dir.join(format!(
        ".{}.{}.{}",
        shell.file_name(),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&tmp, script(shell)).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    path
}

/// `PATH` with the `berth` under test first: the scripts call `berth` as installed.
fn path_with_berth() -> String {
    let bin = Path::new(env!("CARGO_BIN_EXE_berth")).parent().unwrap();
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn have(shell: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {shell}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{shell} is not installed; .ci/run installs it (scripts/deps test)");
        }
        eprintln!("SKIP: {shell} is not installed (apt-get install {shell})");
    }
    found
}

/// Runs `shell -c code` with the berth under test on PATH and the fixtures as search path;
/// its stdout, one candidate a line.
fn run(shell: &str, args: &[&str], code: &str) -> Vec<String> {
    let out = Command::new(shell)
        .args(args)
        .arg("-c")
        .arg(code)
        .env("PATH", path_with_berth())
        .env("BERTH_CONTAINERS_PATH", valid_path())
        .env("HOME", env!("CARGO_TARGET_TMPDIR"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {shell}: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{shell} failed: {stderr}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The candidates that are no options.
fn values(candidates: Vec<String>) -> Vec<String> {
    candidates
        .into_iter()
        .filter(|c| !c.starts_with('-'))
        .collect()
}

/// Completes the last word of `line` in bash, through the function the script registers for
/// `berth`, and prints COMPREPLY.
fn bash_complete(line: &str) -> Vec<String> {
    let file = script_file(Shell::Bash);
    let code = format!(
        r#"source {file}
        line={line:?}
        read -ra COMP_WORDS <<< "$line"
        [[ $line == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
        COMP_LINE=$line; COMP_POINT=${{#line}}; COMP_TYPE=9
        func=$(complete -p berth | sed -n 's/.*-F \([^ ]*\) berth$/\1/p')
        [ -n "$func" ] || {{ echo "berth has no completion function" >&2; exit 1; }}
        "$func" berth "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
        printf '%s\n' "${{COMPREPLY[@]}}""#,
        file = file.display()
    );
    run("bash", &["--norc", "--noprofile"], &code)
}

#[test]
fn bash_completes_verbs_options_and_defined_names() {
    if !have("bash") {
        return;
    }
    assert_eq!(bash_complete("berth st"), ["status", "start", "stop"]);
    // Defined names (clap offers the options too on an empty word); the masked `db` is no
    // container to start.
    assert_eq!(values(bash_complete("berth start ")), ["web"]);
    assert_eq!(bash_complete("berth start w"), ["web"]);
    assert_eq!(bash_complete("berth status we"), ["web"]);
    let options = bash_complete("berth stop --");
    assert!(options.contains(&"--timeout".to_owned()), "{options:?}");
    assert!(
        options.contains(&"--containers-path".to_owned()),
        "{options:?}"
    );
    // --containers-path on the line being completed wins over the environment.
    let other = fixtures().join("invalid").display().to_string();
    assert_eq!(
        values(bash_complete(&format!(
            "berth --containers-path {other} show "
        ))),
        ["ok", "web"]
    );
}

/// The script also loads through bash-completion, as an installed one does.
#[test]
fn bash_completion_framework_loads_the_script() {
    let framework = Path::new("/usr/share/bash-completion/bash_completion");
    if !framework.exists() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("bash-completion is not installed; .ci/run installs it (scripts/deps test)");
        }
        eprintln!("SKIP: bash-completion is not installed");
        return;
    }
    let dir = script_file(Shell::Bash).parent().unwrap().to_owned();
    let code = format!(
        "source {}\nBASH_COMPLETION_USER_DIR={}\nexport BASH_COMPLETION_USER_DIR\n\
         mkdir -p {dir}/completions && cp {dir}/berth {dir}/completions/berth\n\
         _completion_loader berth\ncomplete -p berth",
        framework.display(),
        dir.display(),
        dir = dir.display()
    );
    let out = run("bash", &["--norc", "--noprofile", "-i"], &code);
    assert!(
        out.iter()
            .any(|l| l.contains("-F _clap_complete_berth berth")),
        "{out:?}"
    );
}

#[test]
fn zsh_script_parses_and_completes_names() {
    if !have("zsh") {
        return;
    }
    let file = script_file(Shell::Zsh);
    run("zsh", &["-n"], &format!("source {}", file.display()));
    // The completion system's own functions replaced by ones that print what they are given:
    // the candidates the script hands to _describe.
    let code = format!(
        r#"compdef() {{ }}
        _describe() {{ print -rl -- "${{(@P)3}}" }}
        source {}
        words=(berth start "")
        CURRENT=3
        _clap_dynamic_completer_berth
        words=(berth s)
        CURRENT=2
        _clap_dynamic_completer_berth"#,
        file.display()
    );
    let out = run("zsh", &["-f"], &code);
    assert_eq!(out.first().map(String::as_str), Some("web"), "{out:?}");
    assert!(out.iter().any(|l| l.starts_with("start:")), "{out:?}");
    assert!(out.iter().any(|l| l.starts_with("shell:")), "{out:?}");
}

#[test]
fn fish_script_parses_and_completes_names() {
    if !have("fish") {
        return;
    }
    let file = script_file(Shell::Fish);
    run(
        "fish",
        &["--no-config", "-n"],
        &format!("source {}", file.display()),
    );
    let complete = |line: &str| {
        run(
            "fish",
            &["--no-config"],
            &format!("source {}; complete -C {line:?}", file.display()),
        )
    };
    assert_eq!(values(complete("berth start ")), ["web"]);
    let verbs = complete("berth st");
    let names: Vec<&str> = verbs
        .iter()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(names, ["status", "start", "stop"], "{verbs:?}");
}

/// What `berth` prints for `BERTH_COMPLETE=SHELL berth` (for `source <(...)` by hand) is the
/// installed script, short of zsh's autoload addition.
#[test]
fn the_binary_prints_the_same_registration() {
    for shell in Shell::ALL {
        let out = Command::new(env!("CARGO_BIN_EXE_berth"))
            .env(berth::cli::complete::ENV, shell.name())
            .output()
            .unwrap();
        assert!(out.status.success());
        let printed = String::from_utf8(out.stdout).unwrap();
        let printed = printed.replace(env!("CARGO_BIN_EXE_berth"), "berth");
        assert!(
            script(shell).starts_with(&printed),
            "{shell:?}:\n{printed}\nvs\n{}",
            script(shell)
        );
    }
}
