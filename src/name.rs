//! Container and group names, and how they become systemd unit names.
//!
//! A container name is what machined accepts as a machine name: at most 64 characters of
//! `[a-zA-Z0-9_.-]`, not starting with `.` or `-`, not ending with `.`, no `..`. Unit names are
//! made with systemd's escaping (`systemd-escape`), so `my-app` runs as `berth-my\x2dapp.scope`:
//! in a unit name a `-` separates slice levels.

use std::fmt;

pub const MAX_NAME_LEN: usize = 64;

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("the name is empty")]
    Empty,
    #[error("the name is {0} characters long; at most {MAX_NAME_LEN} are allowed")]
    TooLong(usize),
    #[error("the name contains `{0}`; only letters, digits, `_`, `.` and `-` are allowed")]
    BadChar(char),
    #[error("the name must not start with `{0}`")]
    BadStart(char),
    #[error("the name must not end with `.`")]
    TrailingDot,
    #[error("the name must not contain `..`")]
    DoubleDot,
}

/// A validated container name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(String);

impl Name {
    pub fn new(s: &str) -> Result<Self, NameError> {
        check_component(s)?;
        Ok(Name(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `berth-NAME.scope`, escaped.
    pub fn scope_unit(&self) -> String {
        format!("berth-{}.scope", escape(&self.0))
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn check_component(s: &str) -> Result<(), NameError> {
    if s.is_empty() {
        return Err(NameError::Empty);
    }
    let len = s.chars().count();
    if len > MAX_NAME_LEN {
        return Err(NameError::TooLong(len));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(NameError::BadChar(c));
    }
    if let Some(c) = s.chars().next().filter(|c| matches!(c, '.' | '-')) {
        return Err(NameError::BadStart(c));
    }
    if s.ends_with('.') {
        return Err(NameError::TrailingDot);
    }
    if s.contains("..") {
        return Err(NameError::DoubleDot);
    }
    Ok(())
}

/// A slice group: one or more names joined by `/`, e.g. `web` or `web/frontend`, giving
/// `berth-web.slice` and `berth-web-frontend.slice` inside it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Group(Vec<String>);

/// systemd limits a unit name to 255 characters.
const MAX_UNIT_NAME_LEN: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupError {
    #[error("group level `{level}`: {error}")]
    Level { level: String, error: NameError },
    #[error("the slice name `{0}` would be longer than systemd's 255 characters")]
    TooLong(String),
}

impl Group {
    pub fn new(s: &str) -> Result<Self, GroupError> {
        let levels: Vec<String> = s.split('/').map(str::to_owned).collect();
        for level in &levels {
            check_component(level).map_err(|error| GroupError::Level {
                level: level.clone(),
                error,
            })?;
        }
        let group = Group(levels);
        let leaf = group.slice_chain().pop().unwrap_or_default();
        if leaf.len() > MAX_UNIT_NAME_LEN {
            return Err(GroupError::TooLong(leaf));
        }
        Ok(group)
    }

    /// The slices from `berth.slice` down to this group's own, parents first.
    pub fn slice_chain(&self) -> Vec<String> {
        slice_chain(Some(self))
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("/"))
    }
}

/// `berth.slice`, then one slice per group level: each level's name is escaped on its own, and
/// the levels are joined by `-`, which is how systemd spells slice nesting.
pub fn slice_chain(group: Option<&Group>) -> Vec<String> {
    let mut prefix = String::from("berth");
    let mut chain = vec![format!("{prefix}.slice")];
    for level in group.map(|g| g.0.as_slice()).unwrap_or_default() {
        prefix = format!("{prefix}-{}", escape(level));
        chain.push(format!("{prefix}.slice"));
    }
    chain
}

/// systemd's string escaping (`systemd-escape STRING`, `unit_name_escape()`): `/` becomes `-`,
/// a leading `.` and every byte outside `[a-zA-Z0-9:_.]` become `\xNN`.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'/' => out.push('-'),
            b'.' if i == 0 => out.push_str("\\x2e"),
            b if b.is_ascii_alphanumeric() || matches!(b, b':' | b'_' | b'.') => {
                out.push(b as char)
            }
            b => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

/// The container name back from a `berth-NAME.scope` unit name, if it is one of ours.
pub fn name_from_scope_unit(unit: &str) -> Option<Name> {
    let escaped = unit.strip_prefix("berth-")?.strip_suffix(".scope")?;
    Name::new(&unescape(escaped)?).ok()
}

/// systemd's unescaping (`systemd-escape --unescape`).
pub fn unescape(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'-' => out.push(b'/'),
            b'\\' => {
                let hex = s
                    .get(i + 2..i + 4)
                    .filter(|_| bytes.get(i + 1) == Some(&b'x'))?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_machined_names() {
        for ok in ["web", "a", "my-app", "db_1", "x.y", &"a".repeat(64)] {
            assert!(Name::new(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_bad_names() {
        assert_eq!(Name::new(""), Err(NameError::Empty));
        assert_eq!(Name::new(&"a".repeat(65)), Err(NameError::TooLong(65)));
        assert_eq!(Name::new("a b"), Err(NameError::BadChar(' ')));
        assert_eq!(Name::new("a/b"), Err(NameError::BadChar('/')));
        assert_eq!(Name::new("é"), Err(NameError::BadChar('é')));
        assert_eq!(Name::new(".a"), Err(NameError::BadStart('.')));
        assert_eq!(Name::new("-a"), Err(NameError::BadStart('-')));
        assert_eq!(Name::new("a."), Err(NameError::TrailingDot));
        assert_eq!(Name::new("a..b"), Err(NameError::DoubleDot));
    }

    /// Expected values are what `systemd-escape` (systemd 252) prints for the same input.
    #[test]
    fn escapes_like_systemd_escape() {
        assert_eq!(escape("web"), "web");
        assert_eq!(escape("my-app"), "my\\x2dapp");
        assert_eq!(escape("a.b_c:d"), "a.b_c:d");
        assert_eq!(escape(".hidden"), "\\x2ehidden");
        assert_eq!(escape("a/b"), "a-b");
        assert_eq!(escape("a b"), "a\\x20b");
        assert_eq!(escape("ü"), "\\xc3\\xbc");
    }

    #[test]
    fn unescape_inverts_escape() {
        for s in ["web", "my-app", "a.b_c", "x-y-z", "a b"] {
            assert_eq!(unescape(&escape(s)).as_deref(), Some(s));
        }
        assert_eq!(unescape("bad\\x"), None);
        assert_eq!(unescape("bad\\xzz"), None);
    }

    #[test]
    fn scope_units_and_back() {
        let n = Name::new("my-app").unwrap();
        assert_eq!(n.scope_unit(), "berth-my\\x2dapp.scope");
        assert_eq!(name_from_scope_unit(&n.scope_unit()), Some(n));
        assert_eq!(name_from_scope_unit("berth-web.service"), None);
        assert_eq!(name_from_scope_unit("other-web.scope"), None);
    }

    #[test]
    fn slice_chains_nest() {
        assert_eq!(slice_chain(None), ["berth.slice"]);
        let g = Group::new("web").unwrap();
        assert_eq!(g.slice_chain(), ["berth.slice", "berth-web.slice"]);
        let g = Group::new("web/front-end").unwrap();
        assert_eq!(
            g.slice_chain(),
            [
                "berth.slice",
                "berth-web.slice",
                "berth-web-front\\x2dend.slice"
            ]
        );
        assert_eq!(g.to_string(), "web/front-end");
    }

    #[test]
    fn refuses_bad_groups() {
        assert!(Group::new("").is_err());
        assert!(Group::new("web/").is_err());
        assert!(Group::new("/web").is_err());
        assert!(matches!(
            Group::new(&vec!["abcdefghij"; 30].join("/")),
            Err(GroupError::TooLong(_))
        ));
    }
}
