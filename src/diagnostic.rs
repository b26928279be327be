//! Errors in definition files, rendered the way compilers render them: file, line and column,
//! the offending line with a caret under the span, what was expected, and a hint.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A file's text, shared by every diagnostic that points into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub path: PathBuf,
    pub text: Arc<str>,
}

impl Source {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<Arc<str>>) -> Self {
        Source {
            path: path.into(),
            text: text.into(),
        }
    }

    /// One-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(&self.text, offset.min(self.text.len()));
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() + 1;
        (line, col)
    }

    fn line_text(&self, line: usize) -> &str {
        self.text.lines().nth(line - 1).unwrap_or("")
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Where a diagnostic points: a span in a file, or a whole file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub source: Source,
    pub span: Option<Range<usize>>,
}

impl Location {
    pub fn path(&self) -> &Path {
        &self.source.path
    }

    /// One-based line and column, if the location is a span.
    pub fn line_col(&self) -> Option<(usize, usize)> {
        self.span.as_ref().map(|s| self.source.line_col(s.start))
    }
}

/// One problem in a definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// What is wrong, in one line.
    pub message: String,
    /// The dotted key the problem is about, when there is one.
    pub key: Option<String>,
    pub location: Option<Location>,
    /// What would have been accepted.
    pub expected: Option<String>,
    /// A suggestion such as "did you mean `memory_max`?".
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(message: impl Into<String>) -> Self {
        Diagnostic {
            message: message.into(),
            key: None,
            location: None,
            expected: None,
            help: None,
        }
    }

    pub fn at(mut self, source: &Source, span: Option<Range<usize>>) -> Self {
        self.location = Some(Location {
            source: source.clone(),
            span,
        });
        self
    }

    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    pub fn expected(mut self, expected: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self
    }

    pub fn help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    /// Machine-readable form for `--json`.
    pub fn to_json(&self) -> serde_json::Value {
        let (path, line, column) = match &self.location {
            Some(loc) => {
                let (line, column) = loc.line_col().unzip();
                (Some(loc.path().display().to_string()), line, column)
            }
            None => (None, None, None),
        };
        serde_json::json!({
            "message": self.message,
            "key": self.key,
            "file": path,
            "line": line,
            "column": column,
            "expected": self.expected,
            "help": self.help,
        })
    }
}

impl fmt::Display for Diagnostic {
    /// ```text
    /// error: unknown key `memroy_max` in [resources]
    ///   --> /etc/berth/containers/web.toml:9:1
    ///    |
    ///  9 | memroy_max = "256M"
    ///    | ^^^^^^^^^^
    ///    = expected: one of ...
    ///    = help: did you mean `memory_max`?
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        let mut gutter = 1;
        if let Some(loc) = &self.location {
            match (&loc.span, loc.line_col()) {
                (Some(span), Some((line, col))) => {
                    let text = loc.source.line_text(line);
                    gutter = line.to_string().len() + 1;
                    let pad = " ".repeat(gutter);
                    writeln!(f, "{pad}--> {}:{line}:{col}", loc.path().display())?;
                    writeln!(f, "{pad}|")?;
                    writeln!(f, "{line:>w$} | {text}", w = gutter - 1)?;
                    let width = caret_width(text, col, span.len());
                    writeln!(
                        f,
                        "{pad}| {}{}",
                        " ".repeat(col - 1),
                        "^".repeat(width.max(1))
                    )?;
                }
                _ => writeln!(f, "  --> {}", loc.path().display())?,
            }
        }
        let pad = " ".repeat(gutter);
        if let Some(key) = &self.key {
            writeln!(f, "{pad}= key: {key}")?;
        }
        if let Some(expected) = &self.expected {
            writeln!(f, "{pad}= expected: {expected}")?;
        }
        if let Some(help) = &self.help {
            writeln!(f, "{pad}= help: {help}")?;
        }
        Ok(())
    }
}

/// The caret covers the span, but never runs past the end of the line it starts on.
fn caret_width(line: &str, col: usize, span_bytes: usize) -> usize {
    let rest: String = line.chars().skip(col - 1).collect();
    let mut bytes = 0;
    let mut chars = 0;
    for c in rest.chars() {
        if bytes >= span_bytes {
            break;
        }
        bytes += c.len_utf8();
        chars += 1;
    }
    chars
}

/// The candidate nearest to `word`, if it is near enough to be a plausible typo.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3) && *d < c.len().max(word.len()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    nearest(word, candidates).map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_caret_under_span() {
        let src = Source::new("/x/web.toml", "[resources]\nmemroy_max = \"256M\"\n");
        let d = Diagnostic::new("unknown key `memroy_max` in [resources]")
            .at(&src, Some(12..22))
            .key("resources.memroy_max")
            .help(did_you_mean("memroy_max", ["memory_max", "memory_high"]));
        assert_eq!(
            d.to_string(),
            "error: unknown key `memroy_max` in [resources]\n  \
             --> /x/web.toml:2:1\n  \
             |\n\
             2 | memroy_max = \"256M\"\n  \
             | ^^^^^^^^^^\n  \
             = key: resources.memroy_max\n  \
             = help: did you mean `memory_max`?\n"
        );
    }

    #[test]
    fn line_col_counts_characters() {
        let src = Source::new("f", "a = \"é\"\nb = 1\n");
        assert_eq!(src.line_col(0), (1, 1));
        assert_eq!(src.line_col(src.text.find('b').unwrap()), (2, 1));
        assert_eq!(src.line_col(6), (1, 6));
    }

    #[test]
    fn nearest_finds_typos_only() {
        let keys = ["memory_max", "memory_high", "tasks_max"];
        assert_eq!(nearest("memroy_max", keys), Some("memory_max"));
        assert_eq!(nearest("task_max", keys), Some("tasks_max"));
        assert_eq!(nearest("colour", keys), None);
    }
}
