//! berth(1), rendered from the clap definition ([`super::command`]) with clap_mangen, so that
//! every verb and option on the page is one `berth` accepts: the name, synopsis, description
//! and global options by clap_mangen, a COMMANDS section with each verb's arguments, and
//! what clap does not know: EXIT STATUS ([`EXIT_STATUS`]), JSON OUTPUT (from
//! [`super::json::OUTPUTS`]), ENVIRONMENT, FILES, EXAMPLES.
//!
//! `cargo xtask man` writes it to man/berth.1; tests/manpage.rs checks that the committed page
//! is what this renders and that mandoc finds nothing to report in it.

use clap::{Arg, ArgAction, Command};
use clap_mangen::roff::{bold, italic, roman, Inline, Roff};

use super::json::{Field, Shape, OUTPUTS};

/// Where the packages install the JSON Schema of the `--json` output.
pub const SCHEMA_PATH: &str = "/usr/share/berth/berth.schema.json";

/// The date on the page: when its content last changed in substance (update with it).
pub const DATE: &str = "2026-12-01";

/// What each verb's exit status means, verb by verb (`berth VERB`, in the order of `--help`).
/// Every verb has an entry; tests/manpage.rs checks that against the clap definition.
pub const EXIT_STATUS: &[(&str, &[(&str, &str)])] = &[
    (
        "check",
        &[
            (
                "0",
                "Every definition checked is valid. Masked definitions and drop-ins without a \
                   main file are reported as notes, not errors.",
            ),
            (
                "1",
                "A definition is invalid, a named container has no definition, or a \
                   directory of the search path cannot be read.",
            ),
        ],
    ),
    (
        "show",
        &[
            ("0", "The definition was printed."),
            (
                "1",
                "It is missing, masked or invalid, or the name is not valid.",
            ),
        ],
    ),
    (
        "cat",
        &[
            ("0", "Every file was printed."),
            (
                "1",
                "No definition, a masked one, or a file that cannot be read (the others are \
                   printed).",
            ),
        ],
    ),
    (
        "list",
        &[
            ("0", "The list was printed."),
            (
                "1",
                "systemd cannot be reached over the system bus, or the search path cannot be \
                   read.",
            ),
        ],
    ),
    (
        "status",
        &[
            (
                "0",
                "The status was printed, whether the container runs or not (to test whether it \
                   runs: \\fBsystemctl is\\-active berth\\-\\fINAME\\fB.scope\\fR, or the \
                   \\fBstate\\fR of \\fB\\-\\-json\\fR).",
            ),
            (
                "1",
                "It neither runs nor has a definition, the name is not valid, or systemd \
                   cannot be reached.",
            ),
        ],
    ),
    (
        "start",
        &[
            ("0", "Every container named was started."),
            (
                "1",
                "A container could not be started (it is already running, its definition is \
                   invalid, or a step failed and was rolled back); the others named were \
                   started. An invalid name stops before the names after it.",
            ),
        ],
    ),
    (
        "stop",
        &[
            (
                "0",
                "Every container named is stopped now, including those that were not \
                   running.",
            ),
            (
                "1",
                "A container could not be stopped, or something of it was left behind.",
            ),
        ],
    ),
    (
        "restart",
        &[
            ("0", "Every container named was stopped and started again."),
            (
                "1",
                "Stopping or starting one failed; when stopping fails, nothing is started.",
            ),
        ],
    ),
    (
        "kill",
        &[
            (
                "0",
                "The signal was sent to every process of the container.",
            ),
            ("1", "The container is not running, or systemd refused."),
            ("2", "The signal is unknown."),
        ],
    ),
    (
        "create",
        &[
            (
                "0",
                "The definition was written (or printed, with \\fB\\-\\-dry\\-run\\fR).",
            ),
            (
                "1",
                "The unit is not found, is a template without an instance, cannot run in a \
                   container, or the container is defined already; nothing was written.",
            ),
        ],
    ),
    (
        "pause",
        &[
            (
                "0",
                "Every container named is paused now (also one that already was).",
            ),
            (
                "1",
                "A container is not running, or this host cannot freeze it (berth says what \
                   it lacks); the others named were paused.",
            ),
        ],
    ),
    (
        "resume",
        &[
            (
                "0",
                "Every container named runs unfrozen now (also one that was not paused).",
            ),
            ("1", "A container is not running, or thawing it failed."),
        ],
    ),
    (
        "exec",
        &[
            (
                "0\\(en255",
                "The command's own exit status; 128 + N when signal N killed it, 127 \
                          when it cannot be executed.",
            ),
            (
                "1",
                "Also when the container is not running or berth cannot enter it (berth says \
                   so on standard error).",
            ),
        ],
    ),
    (
        "shell",
        &[(
            "0\\(en255",
            "As for \\fBexec\\fR: the shell's exit status, or 1 when berth cannot enter the \
             container.",
        )],
    ),
    (
        "logs",
        &[
            (
                "0",
                "The journal was shown (by \\fBjournalctl\\fR(1), whose status this is).",
            ),
            ("1", "journalctl failed or cannot be run."),
        ],
    ),
    (
        "image",
        &[
            ("0", "The image was imported, listed or removed."),
            (
                "1",
                "The image name is not valid, the tarball cannot be unpacked or holds no root \\
                   tree, the image exists already (import) or not at all, or a container's \\
                   layer sits on it (remove). A failed import leaves nothing behind.",
            ),
            ("2", "Usage: an unknown subcommand or a missing argument."),
        ],
    ),
    (
        "reset",
        &[
            (
                "0",
                "The container's persistent data is gone (also when it had none).",
            ),
            (
                "1",
                "The container is running, the name is not valid, or the data cannot be \\
                   removed.",
            ),
        ],
    ),
    (
        "apply",
        &[
            ("0", "Nothing failed: the host matches the definitions."),
            (
                "1",
                "Something failed (an invalid definition, a container that could not be \\
                   started, stopped or changed); the rest was applied.",
            ),
            ("2", "Usage: an invalid name."),
            (
                "3",
                "Nothing was applied: the apply lock, systemd or the search path could not \\
                   be had.",
            ),
        ],
    ),
    (
        "enable",
        &[
            (
                "0",
                "Autostart is on (and with \\fB\\-\\-now\\fR the container runs).",
            ),
            (
                "1",
                "The container has no valid definition, the drop-in cannot be written, or \\
                   with \\fB\\-\\-now\\fR it could not be started.",
            ),
        ],
    ),
    (
        "disable",
        &[
            (
                "0",
                "Autostart is off (and with \\fB\\-\\-now\\fR the container is stopped).",
            ),
            (
                "1",
                "The drop-in cannot be written, or with \\fB\\-\\-now\\fR the container \\
                   could not be stopped.",
            ),
        ],
    ),
];

// Every verb has its entry above: tests/manpage.rs fails for one without.

/// The exit statuses of `verb`.
pub fn exit_status(verb: &str) -> Option<&'static [(&'static str, &'static str)]> {
    EXIT_STATUS
        .iter()
        .find(|(v, _)| *v == verb)
        .map(|(_, s)| *s)
}

fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// berth(1) as roff.
pub fn render() -> String {
    let mut cmd = super::command();
    cmd.build();
    let man = clap_mangen::Man::new(cmd.clone())
        .title("BERTH")
        .section("1")
        .date(DATE)
        .source(format!("berth {}", version()))
        .manual("General Commands Manual");
    let mut text = String::from(
        ".\\\" berth(1), generated from the clap definition of the command line\n\
         .\\\" (src/cli/) by `cargo xtask man`; do not edit.\n",
    );
    text.push_str(APOSTROPHE_PREAMBLE);
    for part in [
        clap_mangen::Man::render_title,
        clap_mangen::Man::render_name_section,
        clap_mangen::Man::render_synopsis_section,
        clap_mangen::Man::render_description_section,
        clap_mangen::Man::render_options_section,
    ] {
        let mut out = Vec::new();
        part(&man, &mut out).expect("writing to a Vec cannot fail");
        text.push_str(without_preamble(String::from_utf8(out).expect("roff is UTF-8")).as_str());
    }
    let mut roff = Roff::new();
    commands(&mut roff, &cmd);
    exit_section(&mut roff);
    json_section(&mut roff);
    environment(&mut roff);
    files(&mut roff);
    examples(&mut roff);
    see_also(&mut roff);
    text.push_str(&without_preamble(roff.render()));
    wrap(&text)
}

/// Text lines broken at spaces to at most 80 bytes (mandoc's style; roff fills them into
/// paragraphs again), except in no-fill blocks. A piece that would start with `.` or `'`, a
/// control character, is guarded with `\&`.
fn wrap(page: &str) -> String {
    const WIDTH: usize = 80;
    let mut out = String::with_capacity(page.len() + page.len() / 40);
    let mut no_fill = false;
    for line in page.lines() {
        if line.starts_with(".nf") {
            no_fill = true;
        } else if line.starts_with(".fi") {
            no_fill = false;
        }
        if no_fill || line.len() <= WIDTH || line.starts_with(['.', '\'']) {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let mut current = String::new();
        for word in line.split(' ') {
            if !current.is_empty() && current.len() + 1 + word.len() > WIDTH {
                out.push_str(&current);
                out.push('\n');
                current.clear();
            }
            if current.is_empty() {
                if word.starts_with(['.', '\'']) {
                    current.push_str("\\&");
                }
            } else {
                current.push(' ');
            }
            current.push_str(word);
        }
        out.push_str(&current);
        out.push('\n');
    }
    out
}

/// What the roff crate puts before every rendering it makes (so that an apostrophe prints as
/// one): once at the top of the page is enough.
const APOSTROPHE_PREAMBLE: &str = ".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n";

fn without_preamble(s: String) -> String {
    match s.strip_prefix(APOSTROPHE_PREAMBLE) {
        Some(rest) => rest.to_owned(),
        None => s,
    }
}

fn verbs(cmd: &Command) -> impl Iterator<Item = &Command> {
    cmd.get_subcommands()
        .filter(|c| !c.is_hide_set() && c.get_name() != "help")
}

/// Paragraphs of a help text: lines joined, blank lines between paragraphs, each a sentence
/// (clap's one-line helps have no final period).
fn paragraphs(roff: &mut Roff, text: &str) {
    for (i, p) in text.split("\n\n").enumerate() {
        if i > 0 {
            roff.control("PP", []);
        }
        let mut p = p.split_whitespace().collect::<Vec<_>>().join(" ");
        if !p.ends_with(['.', ')', ':']) {
            p.push('.');
        }
        roff.text([roman(p)]);
    }
}

fn value_name(arg: &Arg) -> String {
    arg.get_value_names()
        .map(|v| v.join(" "))
        .unwrap_or_else(|| arg.get_id().as_str().to_uppercase())
}

fn takes_value(arg: &Arg) -> bool {
    arg.get_num_args().is_some_and(|r| r.takes_values())
        && !matches!(
            arg.get_action(),
            ArgAction::SetTrue | ArgAction::SetFalse | ArgAction::Count
        )
}

fn repeats(arg: &Arg) -> bool {
    arg.get_num_args().is_some_and(|r| r.max_values() > 1)
}

/// `berth start NAME...`, `berth kill [-s SIGNAL] NAME`, ...
fn synopsis(roff: &mut Roff, verb: &Command) {
    let mut line = vec![bold(format!("berth {}", verb.get_name()))];
    let options = verb.get_arguments().filter(|a| {
        !a.is_hide_set()
            && !a.is_positional()
            && !a.is_global_set()
            && !matches!(a.get_action(), ArgAction::Help | ArgAction::Version)
    });
    for arg in options {
        let flag = match (arg.get_short(), arg.get_long()) {
            (_, Some(long)) => format!("--{long}"),
            (Some(short), None) => format!("-{short}"),
            (None, None) => continue,
        };
        line.push(roman(" ["));
        line.push(bold(flag));
        if takes_value(arg) {
            line.push(roman(" "));
            line.push(italic(value_name(arg)));
        }
        line.push(roman("]"));
    }
    for arg in verb.get_positionals().filter(|a| !a.is_hide_set()) {
        let (open, close) = if arg.is_required_set() {
            (" ", "")
        } else {
            (" [", "]")
        };
        line.push(roman(open));
        line.push(italic(value_name(arg)));
        if repeats(arg) {
            line.push(roman("..."));
        }
        line.push(roman(close));
    }
    roff.text(line);
}

fn arguments(roff: &mut Roff, verb: &Command) {
    let args: Vec<&Arg> = verb
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !a.is_global_set())
        .filter(|a| !matches!(a.get_action(), ArgAction::Help | ArgAction::Version))
        .collect();
    // A NAME says what it is in the synopsis; positionals with more to say have a help.
    for arg in args
        .iter()
        .filter(|a| a.is_positional() && a.get_help().is_some())
    {
        roff.control("TP", []);
        let mut term = vec![italic(value_name(arg))];
        if repeats(arg) {
            term.push(roman("..."));
        }
        roff.text(term);
        help(roff, arg);
    }
    for arg in args.iter().filter(|a| !a.is_positional()) {
        roff.control("TP", []);
        let mut term = Vec::new();
        if let Some(short) = arg.get_short() {
            term.push(bold(format!("-{short}")));
            if arg.get_long().is_some() {
                term.push(roman(", "));
            }
        }
        if let Some(long) = arg.get_long() {
            term.push(bold(format!("--{long}")));
        }
        if takes_value(arg) {
            term.push(roman(" "));
            term.push(italic(value_name(arg)));
        }
        roff.text(term);
        help(roff, arg);
    }
}

fn help(roff: &mut Roff, arg: &Arg) {
    let text = arg
        .get_long_help()
        .or_else(|| arg.get_help())
        .map(|h| h.to_string())
        .unwrap_or_default();
    let mut text = text.trim_end().trim_end_matches('.').to_owned();
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    if !defaults.is_empty() && !arg.is_hide_default_value_set() && takes_value(arg) {
        text.push_str(&format!(" (default: {}).", defaults.join(", ")));
    }
    paragraphs(roff, &text);
}

fn commands(roff: &mut Roff, cmd: &Command) {
    roff.control("SH", ["COMMANDS"]);
    roff.text([roman(
        "Each command takes the global options above as well. NAME is a container's name: the \
         file name of its definition without .toml.",
    )]);
    for verb in verbs(cmd) {
        roff.control("SS", [verb.get_name()]);
        synopsis(roff, verb);
        roff.control("PP", []);
        let about = verb
            .get_long_about()
            .or_else(|| verb.get_about())
            .map(|a| a.to_string())
            .unwrap_or_default();
        paragraphs(roff, &about);
        arguments(roff, verb);
    }
}

/// A string with `\fB...\fR` escapes, as inlines (the roff crate escapes backslashes).
fn marked(text: &str) -> Vec<Inline> {
    let mut out = Vec::new();
    let mut font = 'R';
    let mut rest = text;
    while let Some(at) = rest.find("\\f") {
        let (before, after) = rest.split_at(at);
        push_font(&mut out, font, &unescape(before));
        font = after[2..].chars().next().unwrap_or('R');
        rest = &after[3..];
    }
    push_font(&mut out, font, &unescape(rest));
    out
}

fn unescape(s: &str) -> String {
    s.replace("\\-", "-").replace("\\(en", "\u{2013}")
}

fn push_font(out: &mut Vec<Inline>, font: char, s: &str) {
    if s.is_empty() {
        return;
    }
    out.push(match font {
        'B' => bold(s),
        'I' => italic(s),
        _ => roman(s),
    });
}

fn exit_section(roff: &mut Roff) {
    roff.control("SH", ["EXIT STATUS"]);
    roff.text([roman(
        "Every command exits 0 on success, 1 when what it was asked to do failed (berth says \
         why on standard error, naming the operation and the file or unit), and 2 when the \
         command line is wrong (an unknown verb or option, a missing argument). Verb by verb:",
    )]);
    for (verb, statuses) in EXIT_STATUS {
        roff.control("SS", [*verb]);
        for (code, what) in *statuses {
            roff.control("TP", []);
            roff.text(marked(&format!("\\fB{code}\\fR")));
            roff.text(marked(what));
        }
        if !statuses.iter().any(|(c, _)| *c == "2") {
            roff.control("TP", []);
            roff.text([bold("2")]);
            roff.text([roman("The command line is wrong.")]);
        }
    }
}

fn shape_words(shape: &Shape) -> String {
    match shape {
        Shape::String => "string".into(),
        Shape::Count => "unsigned integer".into(),
        Shape::Integer => "integer".into(),
        Shape::Boolean => "boolean".into(),
        Shape::OneOf(choices) => format!("string: {}", choices.join(", ")),
        Shape::Nullable(inner) => format!("{} or null", shape_words(inner)),
        Shape::Array(item) => format!("array of {}", plural(item)),
        Shape::Object(_) => "object".into(),
        Shape::Map { what, value } => format!("object: {what} to {}", plural(value)),
        Shape::Definition => "object, see berth.toml(5)".into(),
        Shape::Any => "any value".into(),
    }
}

fn plural(shape: &Shape) -> String {
    match shape {
        Shape::String => "strings".into(),
        Shape::Object(_) => "objects".into(),
        Shape::Count => "unsigned integers".into(),
        Shape::Integer => "integers".into(),
        Shape::Any => "values of any type".into(),
        other => shape_words(other),
    }
}

/// The object inside `shape` whose keys are listed below its entry, if any.
fn inner_fields(shape: &Shape) -> Option<&'static [Field]> {
    match shape {
        Shape::Object(fields) => Some(fields),
        Shape::Nullable(inner) | Shape::Array(inner) => inner_fields(inner),
        _ => None,
    }
}

fn fields(roff: &mut Roff, fields: &[Field]) {
    for f in fields {
        roff.control("TP", []);
        roff.text([
            bold(f.name),
            roman(" ("),
            italic(shape_words(&f.shape)),
            roman(")"),
        ]);
        let mut doc = f.doc.to_owned();
        if let Some(option) = f.only_with {
            doc.push_str(&format!("; only with {option}"));
        }
        let mut first = doc.chars();
        let doc = match first.next() {
            Some(c) => c.to_uppercase().chain(first).collect::<String>(),
            None => doc,
        };
        roff.text([roman(format!("{doc}."))]);
        if let Some(inner) = inner_fields(&f.shape) {
            roff.control("RS", []);
            self::fields(roff, inner);
            roff.control("RE", []);
        }
    }
}

fn json_section(roff: &mut Roff) {
    roff.control("SH", ["JSON OUTPUT"]);
    roff.text([roman(
        "With --json, list, status, show and check print one JSON document on standard output \
         (nothing else goes there) and their messages on standard error. When a command \
         fails before it has something to show (exit status 1 for list, status and show), \
         standard output stays empty. For scripts: every key below is always present, null \
         when the value is unknown or does not apply, except where it says \"only with\"; \
         within a major version of berth no key is removed or changes its type, while new \
         keys may be added and enumerations may gain values, so ignore keys you do not know. \
         Sizes are bytes, times are microseconds (usec) or nanoseconds (nsec) since the Unix \
         epoch or of CPU time, as the key's name says.",
    )]);
    roff.control("PP", []);
    roff.text([
        roman("The same schema as a JSON Schema document (draft 2020-12) is installed as "),
        italic(SCHEMA_PATH),
        roman(" (man/berth.schema.json in berth's sources)."),
    ]);
    for output in OUTPUTS {
        roff.control("SS", [format!("berth {} --json", output.verb).as_str()]);
        roff.text([roman(output.doc)]);
        if let Some(inner) = inner_fields(&output.shape) {
            fields(roff, inner);
        }
    }
}

fn environment(roff: &mut Roff) {
    roff.control("SH", ["ENVIRONMENT"]);
    for (name, what) in [
        (
            "BERTH_CONTAINERS_PATH",
            "The search path for definitions, as --containers-path takes it (which wins over \
             it).",
        ),
        (
            "BERTH_LOG",
            "What berth logs about itself, as a tracing filter such as warn (the default), \
             info or debug. On a terminal the messages go to standard error, otherwise (in a \
             unit, a timer, from configuration management) to the journal with the \
             identifier berth.",
        ),
        (
            "BERTH_HELPER",
            "The berth-helper program to use instead of the one installed with berth (for \
             tests).",
        ),
        (
            super::complete::ENV,
            "Set by the shell completion scripts: berth then prints completions for the words \
             after -- and does nothing else.",
        ),
    ] {
        roff.control("TP", []);
        roff.text([bold(name)]);
        roff.text([roman(what)]);
    }
}

fn files(roff: &mut Roff) {
    roff.control("SH", ["FILES"]);
    for (path, what) in [
        (
            "/etc/berth/containers/\\fINAME\\fB.toml",
            "Definitions of the administrator, over those in /run/berth/containers and \
             /usr/lib/berth/containers (of packages); drop-ins in \\fINAME\\fR.toml.d/; see \
             \\fBberth.toml\\fR(5).",
        ),
        (
            "/etc/berth/groups/\\fIGROUP\\fB.toml",
            "Group files: the limits of a group's slice, shared by all its containers, over \
             those in /run/berth/groups and /usr/lib/berth/groups; drop-ins in \
             \\fIGROUP\\fR.toml.d/; see GROUPS in \\fBberth.toml\\fR(5).",
        ),
        (
            "/etc/berth/berth.toml",
            "berth's own settings for the host (optional): the MCS categories containers' \
             SELinux levels are drawn from.",
        ),
        (
            "/run/berth/",
            "Runtime state: a directory per existing container, locks, how the last payload \
             ended.",
        ),
        (
            "/var/lib/berth/\\fINAME\\fB/",
            "Persistent data of a container: its private /etc and /var.",
        ),
        (
            "/usr/libexec/berth/berth-helper",
            "The helper that builds a container inside its scope and stays its PID 1; berth \
             runs it, people do not.",
        ),
    ] {
        roff.control("TP", []);
        roff.text(marked(&format!("\\fB{path}\\fR")));
        roff.text(marked(what));
    }
}

fn examples(roff: &mut Roff) {
    roff.control("SH", ["EXAMPLES"]);
    for (i, (what, command)) in [
        (
            "Check every definition, then start one and look at it:",
            "berth check\nberth start web\nberth status web",
        ),
        (
            "The names of the running containers, with jq(1):",
            "berth list --json |\n    jq -r '.[] | select(.state == \"running\") | .name'",
        ),
        (
            "A shell inside a running container, then its journal since an hour ago:",
            "berth shell web\nberth logs web --since -1h",
        ),
    ]
    .iter()
    .enumerate()
    {
        if i > 0 {
            roff.control("PP", []);
        }
        roff.text([roman(*what)]);
        roff.control("PP", []);
        roff.control("RS", ["4"]);
        roff.control("nf", []);
        for line in command.lines() {
            roff.text([roman(line)]);
        }
        roff.control("fi", []);
        roff.control("RE", []);
    }
}

fn see_also(roff: &mut Roff) {
    roff.control("SH", ["SEE ALSO"]);
    let pages = [
        ("berth.toml", "5"),
        ("systemctl", "1"),
        ("systemd.scope", "5"),
        ("systemd.resource-control", "5"),
        ("journalctl", "1"),
        ("machinectl", "1"),
    ];
    let mut line = Vec::new();
    for (i, (page, section)) in pages.iter().enumerate() {
        line.push(bold(*page));
        let sep = if i + 1 == pages.len() { "" } else { ", " };
        line.push(roman(format!("({section}){sep}")));
    }
    roff.text(line);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_wrapped_without_making_control_lines() {
        let long = format!("{} .toml 'quoted {}", "word ".repeat(15), "x ".repeat(30));
        let page = format!(".TH X 1\n{long}\n.nf\n{long}\n.fi\n");
        let wrapped = wrap(&page);
        let lines: Vec<&str> = wrapped.lines().collect();
        assert!(lines.iter().filter(|l| **l != long).all(|l| l.len() <= 80));
        assert!(lines.contains(&long.as_str()), "no-fill lines stay");
        assert!(lines
            .iter()
            .all(|l| !l.starts_with(".toml") && !l.starts_with('\'')));
        let words = |s: &str| s.replace("\\&", "").split_whitespace().count();
        assert_eq!(words(&wrapped), words(&page));
    }

    #[test]
    fn marked_text_becomes_fonts() {
        let r = {
            let mut roff = Roff::new();
            roff.text(marked("a \\fBb\\fR c \\fId\\fR"));
            roff.to_roff()
        };
        assert_eq!(r, "a \\fBb\\fR c \\fId\\fR\n");
    }
}
