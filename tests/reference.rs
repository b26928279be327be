//! berth.toml(5) is written by hand; these tests keep it complete and well-formed.
//!
//! Every key of the schema must be a `.TP` term in the page's subsection for its table (`Top
//! level`, `[exec]`, `[filesystem.binds."PATH"]`, ...), and its entry must give the type, the
//! default (a literal default word for word), the merge rule that matches the key's kind, the
//! systemd properties its schema line names, every choice, and an example. A subsection must
//! not document a key the schema does not have. (tests/manpage.rs has mandoc lint the page.)

use std::collections::BTreeMap;
use std::path::Path;

use berth::definition::schema::{self, Default, Entry, Key, Kind};
use berth::definition::value::{MapKey, Scalar};

const PAGE: &str = "man/berth.toml.5";

fn page() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(PAGE);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Resolves the escapes the page uses: fonts, `\-`, `\&`, `\e`, `\c` and `\(xx` glyphs.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('(') => {
                let name: String = chars.by_ref().take(2).collect();
                out.push_str(match name.as_str() {
                    "dq" => "\"",
                    "mu" => "×",
                    "bu" => "•",
                    other => panic!("unknown glyph \\({other} in {s:?}"),
                });
            }
            Some('f') => {
                chars.next();
            }
            Some('-') => out.push('-'),
            Some('e') => out.push('\\'),
            Some('&' | 'c') | None => {}
            Some(other) => out.push(other),
        }
    }
    out
}

/// The arguments of a macro line, split as roff does: by spaces, with `"..."` quoting.
fn arguments(s: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        let (arg, tail) = match rest.strip_prefix('"') {
            Some(quoted) => quoted.split_once('"').unwrap_or((quoted, "")),
            None => rest.split_once(' ').unwrap_or((rest, "")),
        };
        args.push(unescape(arg));
        rest = tail.trim_start();
    }
    args
}

/// One input line as printed text; `None` for requests that print nothing of their own.
fn text(line: &str) -> Option<String> {
    let Some(request) = line.strip_prefix('.') else {
        return Some(unescape(line));
    };
    let (name, args) = request.split_once(' ').unwrap_or((request, ""));
    let args = arguments(args);
    match name {
        "B" | "I" | "SM" | "SB" | "SS" | "SH" => Some(args.join(" ")),
        "BR" | "RB" | "BI" | "IB" | "IR" | "RI" => Some(args.concat()),
        _ => None,
    }
}

/// A `.TP` entry: its term (the first word of the tag) and its text.
struct Term {
    name: String,
    body: String,
}

/// The `.TP` entries of every `.SS` subsection, by the subsection's printed title.
fn subsections(page: &str) -> BTreeMap<String, Vec<Term>> {
    let mut out: BTreeMap<String, Vec<Term>> = BTreeMap::new();
    let mut section: Option<String> = None;
    let mut in_term = false;
    let mut lines = page.lines().filter(|l| !l.starts_with(".\\\""));
    while let Some(line) = lines.next() {
        let request = line.split(' ').next().unwrap_or("");
        match request {
            ".SH" => {
                section = None;
                in_term = false;
            }
            ".SS" => {
                let title = text(line).unwrap_or_default();
                out.entry(title.clone()).or_default();
                section = Some(title);
                in_term = false;
            }
            ".TP" => {
                in_term = false;
                if let Some(title) = &section {
                    let tag = lines.next().and_then(text).unwrap_or_default();
                    let name = tag.split_whitespace().next().unwrap_or("").to_owned();
                    let terms = out.entry(title.clone()).or_default();
                    terms.push(Term {
                        name,
                        body: String::new(),
                    });
                    in_term = true;
                }
            }
            ".PP" | ".IP" | ".EX" => in_term = false,
            _ if in_term => {
                if let (Some(title), Some(t)) = (&section, text(line)) {
                    if let Some(term) = out.get_mut(title).and_then(|v| v.last_mut()) {
                        term.body.push(' ');
                        term.body.push_str(&t);
                    }
                }
            }
            _ => {}
        }
    }
    for terms in out.values_mut() {
        for term in terms {
            term.body = term.body.split_whitespace().collect::<Vec<_>>().join(" ");
        }
    }
    out
}

/// The page's name for the entries of an identity-keyed table.
fn placeholder(key: MapKey) -> &'static str {
    match key {
        MapKey::EnvName => "NAME",
        MapKey::AbsPath => "PATH",
        MapKey::Device => "DEVICE",
    }
}

/// Every table of keys with the title of its subsection, and the titles of the identity-keyed
/// tables of scalars, which have a subsection of their own but no keys.
fn tables(
    keys: &'static [Key],
    title: String,
    path: &str,
    out: &mut Vec<(String, &'static [Key])>,
    maps: &mut Vec<String>,
) {
    out.push((title, keys));
    for k in keys {
        let sub = if path.is_empty() {
            k.name.to_owned()
        } else {
            format!("{path}.{}", k.name)
        };
        match &k.kind {
            Kind::Table(inner) => tables(inner, format!("[{sub}]"), &sub, out, maps),
            Kind::Map(key, Entry::Table(inner)) => {
                let title = format!("[{sub}.\"{}\"]", placeholder(*key));
                tables(inner, title, &sub, out, maps);
            }
            Kind::Map(_, Entry::Scalar(_)) => maps.push(format!("[{sub}]")),
            Kind::Scalar(_) | Kind::List(_) => {}
        }
    }
}

/// Unit property names a schema line mentions, such as `MemoryMax=`.
fn properties(doc: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for (i, _) in doc.match_indices('=') {
        let start = doc[..i]
            .rfind(|c: char| !c.is_ascii_alphanumeric())
            .map_or(0, |j| j + 1);
        let word = &doc[start..=i];
        if word.len() > 2 && word.starts_with(|c: char| c.is_ascii_uppercase()) {
            out.push(word);
        }
    }
    out
}

/// What is missing from the documentation of one key.
fn check_key(k: &Key, body: &str) -> Vec<String> {
    let mut wanted: Vec<String> = ["Type:", "Default:", "Merge:"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    wanted.push(format!("Example: {}", k.name));
    if let Default::Literal(literal) = k.default {
        wanted.push(format!("Default: {literal}"));
    }
    wanted.push(
        match k.kind {
            Kind::Scalar(_) => "Merge: replaced",
            Kind::List(_) => "Merge: appended",
            Kind::Map(..) => "Merge: by entry",
            Kind::Table(_) => unreachable!("tables have subsections"),
        }
        .to_owned(),
    );
    if let Kind::Scalar(Scalar::Choice(choices)) = k.kind {
        wanted.extend(choices.iter().map(|c| format!("\"{c}\"")));
    }
    wanted.extend(properties(k.doc).into_iter().map(str::to_owned));
    wanted
        .into_iter()
        .filter(|w| !body.contains(w.as_str()))
        .map(|w| format!("`{w}`"))
        .collect()
}

#[test]
fn every_key_is_documented_in_its_table() {
    let page = page();
    let sections = subsections(&page);
    let mut tables_found = Vec::new();
    let mut maps = Vec::new();
    tables(
        schema::ROOT,
        "Top level".into(),
        "",
        &mut tables_found,
        &mut maps,
    );

    let mut problems = Vec::new();
    for title in &maps {
        if !sections.contains_key(title) {
            problems.push(format!("no subsection {title}"));
        }
    }
    for (title, keys) in &tables_found {
        let Some(terms) = sections.get(title) else {
            problems.push(format!("no subsection {title}"));
            continue;
        };
        for k in keys.iter().filter(|k| !matches!(k.kind, Kind::Table(_))) {
            let found: Vec<&Term> = terms.iter().filter(|t| t.name == k.name).collect();
            match found.as_slice() {
                [] => problems.push(format!("{title}: key `{}` is not documented", k.name)),
                [term] => {
                    let missing = check_key(k, &term.body);
                    if !missing.is_empty() {
                        problems.push(format!(
                            "{title}: the entry for `{}` lacks {}",
                            k.name,
                            missing.join(", ")
                        ));
                    }
                }
                _ => problems.push(format!("{title}: key `{}` is documented twice", k.name)),
            }
        }
        for term in terms {
            let known = keys
                .iter()
                .any(|k| k.name == term.name && !matches!(k.kind, Kind::Table(_)));
            if !known {
                problems.push(format!(
                    "{title}: `{}` is documented but is not a key of this table",
                    term.name
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{PAGE} does not match src/definition/schema.rs:\n  {}",
        problems.join("\n  ")
    );
}

/// The checks above must not pass by reading nothing.
#[test]
fn the_page_reader_finds_terms_and_bodies() {
    let sections = subsections(&page());
    let resources = &sections["[resources]"];
    let memory_max = resources
        .iter()
        .find(|t| t.name == "memory_max")
        .expect("memory_max in [resources]");
    assert!(
        memory_max
            .body
            .contains("systemd: MemoryMax= on cgroup v2, MemoryLimit= on cgroup v1."),
        "{}",
        memory_max.body
    );
    assert!(
        memory_max.body.contains("Example: memory_max = \"512M\""),
        "{}",
        memory_max.body
    );
    assert!(sections.contains_key("[filesystem.binds.\"PATH\"]"));
    assert_eq!(
        properties("(MemoryMax=; MemoryLimit= on v1), container=berth"),
        ["MemoryMax=", "MemoryLimit="]
    );
    assert_eq!(text(".BR \\(dq30s\\(dq ."), Some("\"30s\".".to_owned()));
    assert_eq!(
        text(".B \"kind = \\(dqimage\\(dq\""),
        Some("kind = \"image\"".to_owned())
    );
}
