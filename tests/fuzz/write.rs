//! Writing generated documents out: through the `toml` crate, by hand in every spelling TOML
//! allows (and some it does not), and damaged.

use crate::generate::V;

/// Whether a TOML integer literal is one that TOML accepts: a 64-bit signed value.
fn fits_i64(literal: &str) -> Option<i64> {
    let digits = literal.replace('_', "");
    match digits.get(..2) {
        Some("0x") => i64::from_str_radix(&digits[2..], 16).ok(),
        Some("0o") => i64::from_str_radix(&digits[2..], 8).ok(),
        Some("0b") => i64::from_str_radix(&digits[2..], 2).ok(),
        _ => digits.parse().ok(),
    }
}

/// The value as the `toml` crate holds it; literals it cannot hold become the nearest value.
fn to_toml_value(v: &V) -> toml::Value {
    use toml::Value as T;
    match v {
        V::Str(s) => T::String(s.clone()),
        V::Int(lit) => T::Integer(fits_i64(lit).unwrap_or(if lit.starts_with('-') {
            i64::MIN
        } else {
            i64::MAX
        })),
        V::Float(lit) => T::Float(match lit.trim_start_matches('+') {
            "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            l if l.ends_with("nan") => f64::NAN,
            l => l.replace('_', "").parse().unwrap_or(0.5),
        }),
        V::Bool(b) => T::Boolean(*b),
        V::Datetime(lit) => lit
            .parse()
            .map(T::Datetime)
            .unwrap_or_else(|_| T::String(lit.clone())),
        V::Array(items) => T::Array(items.iter().map(to_toml_value).collect()),
        V::Table(entries) => T::Table(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), to_toml_value(v)))
                .collect(),
        ),
    }
}

/// Whether the text holds something spelled like an integer beyond 64 bits.
pub fn has_huge_integer(text: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-')))
        .any(|word| {
            let unsigned = word.trim_start_matches(['+', '-']).replace('_', "");
            let (radix, body) = match unsigned.get(..2) {
                Some("0x") => (16, &unsigned[2..]),
                Some("0o") => (8, &unsigned[2..]),
                Some("0b") => (2, &unsigned[2..]),
                _ => (10, unsigned.as_str()),
            };
            !body.is_empty() && body.chars().all(|c| c.is_digit(radix)) && fits_i64(word).is_none()
        })
}

/// Serialized by the `toml` crate.
pub fn toml_crate_text(root: &[(String, V)]) -> String {
    let table: toml::Table = root
        .iter()
        .map(|(k, v)| (k.clone(), to_toml_value(v)))
        .collect();
    toml::to_string(&table).unwrap_or_else(|e| panic!("toml cannot write {table:?}: {e}"))
}

/// A small deterministic generator for the writer's choices of spelling.
struct Choices(u64);

impl Choices {
    fn below(&mut self, n: u64) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n
    }
}

/// Written by hand, in a spelling chosen by `seed`: bare, quoted or literal keys; basic,
/// literal, escaped or multi-line strings; tables as `[headers]`, dotted keys or inline tables;
/// arrays of tables as `[[headers]]`; integers in any base.
pub fn handwritten_text(root: &[(String, V)], seed: u64) -> String {
    let mut w = Writer {
        out: String::new(),
        choose: Choices(seed),
    };
    w.body(&[], root);
    w.out
}

struct Writer {
    out: String,
    choose: Choices,
}

fn is_table(v: &V) -> bool {
    matches!(v, V::Table(_))
}

impl Writer {
    /// The entries of the table at `path`, whose header (if any) was just written.
    fn body(&mut self, path: &[String], entries: &[(String, V)]) {
        let mut headed = Vec::new();
        for (k, v) in entries {
            match v {
                V::Table(t) => match self.choose.below(3) {
                    0 => headed.push((k, v)),
                    1 if !t.is_empty() => self.dotted(std::slice::from_ref(k), t),
                    _ => self.line(std::slice::from_ref(k), v),
                },
                V::Array(items)
                    if !items.is_empty()
                        && items.iter().all(is_table)
                        && self.choose.below(2) == 0 =>
                {
                    headed.push((k, v));
                }
                _ => self.line(std::slice::from_ref(k), v),
            }
        }
        for (k, v) in headed {
            let mut here = path.to_vec();
            here.push(k.clone());
            match v {
                V::Table(t) => {
                    self.out.push_str("\n[");
                    self.key_path(&here);
                    self.out.push_str("]\n");
                    self.body(&here, t);
                }
                V::Array(items) => {
                    for item in items {
                        if let V::Table(t) = item {
                            self.out.push_str("\n[[");
                            self.key_path(&here);
                            self.out.push_str("]]\n");
                            self.body(&here, t);
                        }
                    }
                }
                _ => unreachable!("only tables and arrays of tables get headers"),
            }
        }
    }

    /// `prefix.key = value` for every entry, nested tables dotted further or inline.
    fn dotted(&mut self, prefix: &[String], entries: &[(String, V)]) {
        for (k, v) in entries {
            let mut here = prefix.to_vec();
            here.push(k.clone());
            match v {
                V::Table(t) if !t.is_empty() && self.choose.below(2) == 0 => self.dotted(&here, t),
                _ => self.line(&here, v),
            }
        }
    }

    fn line(&mut self, keys: &[String], v: &V) {
        self.key_path(keys);
        self.out.push_str(" = ");
        self.inline(v);
        match self.choose.below(8) {
            0 => self.out.push_str(" # comment"),
            1 => self.out.push('\r'),
            _ => {}
        }
        self.out.push('\n');
    }

    fn key_path(&mut self, keys: &[String]) {
        for (i, k) in keys.iter().enumerate() {
            if i > 0 {
                self.out
                    .push_str([".", " . ", "."][self.choose.below(3) as usize]);
            }
            self.key(k);
        }
    }

    fn key(&mut self, k: &str) {
        let bare = !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        match self.choose.below(4) {
            0 | 1 if bare => self.out.push_str(k),
            2 if literal_ok(k, false) => {
                self.out.push('\'');
                self.out.push_str(k);
                self.out.push('\'');
            }
            _ => self.basic(k, false),
        }
    }

    fn inline(&mut self, v: &V) {
        match v {
            V::Str(s) => self.string(s),
            V::Int(lit) => self.integer(lit),
            V::Float(lit) | V::Datetime(lit) => self.out.push_str(lit),
            V::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            V::Array(items) => {
                let multiline = self.choose.below(4) == 0;
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    if multiline {
                        self.out.push_str("\n  ");
                    }
                    self.inline(item);
                }
                if multiline && !items.is_empty() {
                    self.out.push_str(",\n");
                }
                self.out.push(']');
            }
            V::Table(entries) => {
                self.out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    self.out.push_str(if i > 0 { ", " } else { " " });
                    self.key(k);
                    self.out.push_str(" = ");
                    self.inline(v);
                }
                self.out
                    .push_str(if entries.is_empty() { "}" } else { " }" });
            }
        }
    }

    /// An integer in the base it was generated in, or another one.
    fn integer(&mut self, lit: &str) {
        match (fits_i64(lit), self.choose.below(6)) {
            (Some(n), 0) if n >= 0 => self.out.push_str(&format!("0x{n:x}")),
            (Some(n), 1) if n >= 0 => self.out.push_str(&format!("0o{n:o}")),
            (Some(n), 2) if n >= 0 => self.out.push_str(&format!("0b{n:b}")),
            (Some(n), 3) if n > 0 => self.out.push_str(&format!("+{n}")),
            (Some(n), 4) if n >= 1000 => {
                let s = n.to_string();
                let (a, b) = s.split_at(s.len() - 3);
                self.out.push_str(&format!("{a}_{b}"));
            }
            _ => self.out.push_str(lit),
        }
    }

    fn string(&mut self, s: &str) {
        match self.choose.below(6) {
            0 if literal_ok(s, false) => {
                self.out.push('\'');
                self.out.push_str(s);
                self.out.push('\'');
            }
            1 if literal_ok(s, true) && !s.contains("'''") && !s.ends_with('\'') => {
                self.out.push_str("'''\n");
                self.out.push_str(s);
                self.out.push_str("'''");
            }
            2 => {
                self.out.push_str("\"\"\"\n");
                self.escaped(s, true, true);
                self.out.push_str("\"\"\"");
            }
            3 => self.basic(s, true),
            _ => self
                .out
                .push_str(&toml::Value::String(s.to_owned()).to_string()),
        }
    }

    fn basic(&mut self, s: &str, unicode_escapes: bool) {
        self.out.push('"');
        self.escaped(s, unicode_escapes, false);
        self.out.push('"');
    }

    fn escaped(&mut self, s: &str, unicode_escapes: bool, multiline: bool) {
        for c in s.chars() {
            match c {
                '"' => self.out.push_str("\\\""),
                '\\' => self.out.push_str("\\\\"),
                '\n' if multiline => self.out.push('\n'),
                '\n' => self.out.push_str("\\n"),
                '\t' => self.out.push_str("\\t"),
                c if c.is_control() => self.out.push_str(&format!("\\u{:04X}", c as u32)),
                c if unicode_escapes && !c.is_ascii() => {
                    if (c as u32) < 0x10000 {
                        self.out.push_str(&format!("\\u{:04x}", c as u32));
                    } else {
                        self.out.push_str(&format!("\\U{:08X}", c as u32));
                    }
                }
                c => self.out.push(c),
            }
        }
    }
}

/// Whether `s` can be written as a literal string: no `'`, no control characters but tab (and
/// newline, in a multi-line one).
fn literal_ok(s: &str, multiline: bool) -> bool {
    s.chars()
        .all(|c| c == '\t' || (multiline && c == '\n') || !(c.is_control() || c == '\''))
        && (multiline || !s.contains('\''))
}

/// Damage done to a document: bytes deleted, TOML punctuation inserted, a line cut short.
pub fn mangle(text: &str, edits: &[(usize, usize, &'static str)]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for &(at, what, token) in edits {
        let at = if bytes.is_empty() {
            0
        } else {
            at % (bytes.len() + 1)
        };
        match what % 4 {
            0 => {
                let end = (at + 1 + what % 7).min(bytes.len());
                bytes.drain(at..end);
            }
            1 => {
                bytes.splice(at..at, token.bytes());
            }
            2 => {
                if let Some(nl) = bytes[at..].iter().position(|b| *b == b'\n') {
                    bytes.drain(at..at + nl);
                }
            }
            _ => {
                let copy: Vec<u8> = bytes[at..].iter().take(40).copied().collect();
                bytes.splice(at..at, copy);
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// TOML's own punctuation and spellings, whole lines among them: for text that is nearly
/// TOML, and for damage done to documents.
pub const TOKENS: &[&str] = &[
    "[",
    "]",
    "[[",
    "]]",
    "{",
    "}",
    "=",
    ",",
    ".",
    "\"",
    "'",
    "\"\"\"",
    "'''",
    "\\",
    "\\u",
    "\\U0010FFFF",
    "\\x",
    "#",
    "\n",
    "\r",
    "\r\n",
    "\t",
    " ",
    "\u{0}",
    "\u{feff}",
    "0x",
    "0o",
    "1e",
    "_",
    "+",
    "-",
    "inf",
    "nan",
    "true",
    "T",
    "Z",
    ":",
    "é",
    "[exec]\n",
    "[resources]\n",
    "a.b.c = 1\n",
    "command = []\n",
    "= =",
];
