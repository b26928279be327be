//! Checking one input: the parser answers within the time limit, with a definition that
//! `berth show` prints as what reads back the same, or with problems that each render as an
//! error.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use berth::definition::render::{to_json, to_toml};
use berth::definition::{from_sources, Loaded};
use berth::diagnostic::Source;
use berth::name::Name;

use crate::write::has_huge_integer;

fn case_limit() -> Duration {
    let secs = std::env::var("FUZZ_CASE_TIMEOUT_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    Duration::from_secs(secs)
}

/// Runs `f` on a thread of its own: a panic is passed on (so that proptest shrinks the input); no
/// answer within the time limit prints the input and aborts, as shrinking a hang would only hang
/// again.
fn within_limit<T: Send + 'static>(
    input: impl FnOnce() -> String,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (done, finished) = mpsc::channel();
    let worker = thread::spawn(move || {
        let answer = f();
        let _ = done.send(());
        answer
    });
    match finished.recv_timeout(case_limit()) {
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Ok(answer) => answer,
            Err(panic) => std::panic::resume_unwind(panic),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            eprintln!(
                "no answer within {:?}; the input was:\n{}",
                case_limit(),
                input()
            );
            std::process::abort();
        }
    }
}

/// Every answer is a definition, or problems that each render as an error.
pub fn check(name: &Name, texts: &[String]) -> Option<Loaded> {
    let (owned_name, owned_texts) = (name.clone(), texts.to_vec());
    within_limit(
        || format!("name {name}, files {texts:#?}"),
        move || check_now(&owned_name, &owned_texts),
    )
}

fn check_now(name: &Name, texts: &[String]) -> Option<Loaded> {
    let sources = texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let path = if i == 0 {
                format!("/fuzz/{name}.toml")
            } else {
                format!("/fuzz/{name}.toml.d/{i}0-fuzz.toml")
            };
            Source::new(path, t.as_str())
        })
        .collect();
    match from_sources(name, sources) {
        Ok(loaded) => {
            // Every way of printing it answers.
            let _ = to_toml(&loaded.settings, true);
            let _ = to_json(name.as_str(), &loaded.settings, true);
            Some(loaded)
        }
        Err(problems) => {
            assert!(!problems.is_empty(), "an error without problems");
            for p in &problems {
                let text = p.to_string();
                assert!(text.starts_with("error: "), "{text:?}");
                assert!(text.len() > "error: ".len(), "{text:?}");
                let _ = p.to_json();
            }
            None
        }
    }
}

/// What `show` prints is a definition with the same meaning: it reads back to the same text
/// and, unless `same_meaning` is false, to the same definition.
pub fn round_trip(name: &Name, loaded: &Loaded, same_meaning: bool) {
    let shown = to_toml(&loaded.settings, false);
    let again = check(name, std::slice::from_ref(&shown))
        .unwrap_or_else(|| panic!("show output is invalid:\n{shown}"));
    assert_eq!(to_toml(&again.settings, false), shown);
    if same_meaning {
        assert_eq!(
            again.definition, loaded.definition,
            "show output has another meaning:\n{shown}"
        );
    }
}

/// Checks a main file and its drop-ins, alone and together, and round-trips what is valid.
/// Where a file spells an integer beyond 64 bits anywhere (in a string too), only the text
/// round trip is asked for: a leftover of when `show` changed such integers. berth refuses them
/// now, and `out_of_range_integers_are_refused_or_kept` (documents.rs) asks the same meaning of
/// them.
pub fn check_documents(name: &Name, files: &[String]) {
    let same_meaning = !files.iter().any(|f| has_huge_integer(f));
    if let Some(loaded) = check(name, &files[..1]) {
        round_trip(name, &loaded, same_meaning);
    }
    if files.len() > 1 {
        if let Some(loaded) = check(name, files) {
            round_trip(name, &loaded, same_meaning);
        }
    }
}

pub fn fuzz_name() -> Name {
    Name::new("fuzz").expect("valid name")
}
