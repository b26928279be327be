//! Typed values of definition keys, and the parsers that turn TOML values into them.
//!
//! Each parser answers either a [`Value`] or a [`Problem`] that says what was wrong; the caller
//! adds where (file, line, column, key).

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use toml::de::DeValue;

use super::choices::SeccompBuiltin;
use crate::diagnostic::did_you_mean;
use crate::name::{Group, Name};

/// A validated value, in canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Bool(bool),
    Int(u64),
    /// Text, an enumeration choice, a path, a user: anything whose canonical form is a string.
    Str(String),
    /// A list (a command, or a list key after merging).
    List(Vec<String>),
    Bytes(u64),
    /// "infinity" for sizes and counts.
    Infinity,
    /// Percentages in hundredths of a percent, as systemd's "permyriad".
    Permyriad(u64),
    Cpus(BTreeSet<u32>),
    Signal(Signal),
    /// Microseconds; `u64::MAX` is "infinity".
    Usec(u64),
}

impl Value {
    /// The value as it is written in a definition file.
    pub fn to_toml(&self) -> toml::Value {
        use toml::Value as T;
        match self {
            Value::Bool(b) => T::Boolean(*b),
            Value::Int(i) => T::Integer(i64::try_from(*i).unwrap_or(i64::MAX)),
            Value::Str(s) => T::String(s.clone()),
            Value::List(l) => T::Array(l.iter().cloned().map(T::String).collect()),
            Value::Bytes(b) => T::String(format_bytes(*b)),
            Value::Infinity => T::String("infinity".into()),
            Value::Permyriad(p) => T::String(format_permyriad(*p)),
            Value::Cpus(c) => T::String(format_cpus(c)),
            Value::Signal(s) => T::String(s.to_string()),
            Value::Usec(u) => T::String(format_usec(*u)),
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        match self.to_toml() {
            toml::Value::Boolean(b) => b.into(),
            toml::Value::Integer(i) => i.into(),
            toml::Value::String(s) => s.into(),
            toml::Value::Array(a) => a
                .into_iter()
                .map(|v| serde_json::Value::String(v.as_str().unwrap_or_default().into()))
                .collect(),
            other => other.to_string().into(),
        }
    }
}

/// What was wrong with a value; the expected form is the key's, added by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub detail: Option<String>,
    pub help: Option<String>,
}

impl Problem {
    fn plain() -> Self {
        Problem {
            detail: None,
            help: None,
        }
    }
    fn detail(d: impl Into<String>) -> Self {
        Problem {
            detail: Some(d.into()),
            help: None,
        }
    }
    fn with_help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }
}

type Parsed = Result<Value, Problem>;

/// The kinds of scalar a key can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    Bool,
    Text,
    Choice(&'static [&'static str]),
    Size,
    Percent,
    Weight,
    Tasks,
    Cpus,
    Signal,
    Duration,
    AbsPath,
    User,
    Hostname,
    Group,
    ImageName,
    Command,
    Capability,
    SelinuxType,
    SelinuxLevel,
    DeviceAccess,
    Mode,
    Seccomp,
}

impl Scalar {
    /// What an administrator has to write, for error messages and the reference.
    pub fn expected(self) -> String {
        match self {
            Scalar::Bool => "true or false".into(),
            Scalar::Text => "a string".into(),
            Scalar::Choice(c) => format!("one of {}", quoted_list(c)),
            Scalar::Size => "a size in bytes such as \"512M\" or \"2G\" (suffixes K, M, G, T, P, E; base 1024), a number of bytes, or \"infinity\"".into(),
            Scalar::Percent => "a percentage such as \"50%\" or \"150%\" (100% is one whole CPU)".into(),
            Scalar::Weight => "a whole number from 1 to 10000".into(),
            Scalar::Tasks => "a whole number of at least 1, or \"infinity\"".into(),
            Scalar::Cpus => "a list of CPU numbers and ranges such as \"0-3,6\"".into(),
            Scalar::Signal => "a signal name such as \"SIGTERM\", \"SIGINT\" or \"SIGRTMIN+3\"".into(),
            Scalar::Duration => "a time span such as \"30s\", \"1min 30s\" or \"500ms\", a number of seconds, or \"infinity\"".into(),
            Scalar::AbsPath => "an absolute path without `..`".into(),
            Scalar::User => "a user name such as \"www-data\", or a numeric user ID".into(),
            Scalar::Hostname => "a host name of at most 64 characters: letters, digits and `-`, in labels separated by `.`".into(),
            Scalar::Group => "a group name such as \"web\", or nested groups such as \"web/frontend\" (each level: at most 64 characters of letters, digits, `_`, `.`, `-`)".into(),
            Scalar::ImageName => "an image name: at most 64 characters of letters, digits, `_`, `.`, `-`".into(),
            Scalar::Command => "a non-empty list of strings: the program and its arguments".into(),
            Scalar::Capability => "a capability name such as \"NET_ADMIN\" or \"CAP_NET_ADMIN\"".into(),
            Scalar::SelinuxType => "an SELinux type such as \"container_t\"".into(),
            Scalar::SelinuxLevel => "an MCS level such as \"s0:c1,c2\"".into(),
            Scalar::DeviceAccess => "a combination of `r` (read), `w` (write) and `m` (mknod), such as \"rw\"".into(),
            Scalar::Mode => "an octal file mode such as \"0755\"".into(),
            Scalar::Seccomp => format!(
                "{}, or the absolute path of a profile file",
                quoted(SeccompBuiltin::NAMES).join(", ")
            ),
        }
    }

    pub fn parse(self, v: &DeValue<'_>) -> Parsed {
        match self {
            Scalar::Bool => match v {
                DeValue::Boolean(b) => Ok(Value::Bool(*b)),
                other => Err(wrong_type(other)),
            },
            Scalar::Text => string(v).map(|s| Value::Str(s.to_owned())),
            Scalar::Choice(choices) => {
                let s = string(v)?;
                if choices.contains(&s) {
                    Ok(Value::Str(s.to_owned()))
                } else {
                    Err(Problem::detail(format!("unknown value \"{s}\""))
                        .with_help(did_you_mean(s, choices.iter().copied())))
                }
            }
            Scalar::Size => size(v),
            Scalar::Percent => percent(string(v)?),
            Scalar::Weight => match integer(v)? {
                n @ 1..=10000 => Ok(Value::Int(n)),
                n => Err(Problem::detail(format!("{n} is outside 1-10000"))),
            },
            Scalar::Tasks => match v {
                DeValue::String(s) if s == "infinity" => Ok(Value::Infinity),
                _ => match integer(v)? {
                    0 => Err(Problem::detail("0 would forbid every process")),
                    n => Ok(Value::Int(n)),
                },
            },
            Scalar::Cpus => cpus(string(v)?),
            Scalar::Signal => {
                let s = string(v)?;
                s.parse::<Signal>().map(Value::Signal).map_err(|()| {
                    Problem::detail(format!("unknown signal \"{s}\"")).with_help(did_you_mean(
                        &s.to_ascii_uppercase(),
                        SIGNALS.iter().map(|(n, _)| *n),
                    ))
                })
            }
            Scalar::Duration => duration(v),
            Scalar::AbsPath => abs_path(string(v)?).map(Value::Str),
            Scalar::User => user(v),
            Scalar::Hostname => hostname(string(v)?),
            Scalar::Group => {
                let s = string(v)?;
                Group::new(s)
                    .map(|g| Value::Str(g.to_string()))
                    .map_err(|e| Problem::detail(e.to_string()))
            }
            Scalar::ImageName => {
                let s = string(v)?;
                Name::new(s)
                    .map(|_| Value::Str(s.to_owned()))
                    .map_err(|e| Problem::detail(e.to_string()))
            }
            Scalar::Command => command(v),
            Scalar::Capability => capability(string(v)?),
            Scalar::SelinuxType => selinux_type(string(v)?),
            Scalar::SelinuxLevel => selinux_level(string(v)?),
            Scalar::DeviceAccess => device_access(string(v)?),
            Scalar::Mode => mode(v),
            Scalar::Seccomp => match string(v)? {
                s if SeccompBuiltin::from_name(s).is_some() => Ok(Value::Str(s.to_owned())),
                s if s.starts_with('/') => abs_path(s).map(Value::Str),
                s => Err(Problem::detail(format!("unknown profile \"{s}\""))
                    .with_help(did_you_mean(s, SeccompBuiltin::NAMES.iter().copied()))),
            },
        }
    }
}

fn quoted(items: &[&str]) -> Vec<String> {
    items.iter().map(|c| format!("\"{c}\"")).collect()
}

fn quoted_list(items: &[&str]) -> String {
    let q = quoted(items);
    match q.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => q.join(""),
    }
}

pub fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

fn wrong_type(v: &DeValue<'_>) -> Problem {
    Problem::detail(format!("found {}", type_name(v)))
}

fn string<'a>(v: &'a DeValue<'_>) -> Result<&'a str, Problem> {
    match v {
        DeValue::String(s) => Ok(s),
        other => Err(wrong_type(other)),
    }
}

fn integer(v: &DeValue<'_>) -> Result<u64, Problem> {
    match v {
        DeValue::Integer(i) => {
            let digits = i.as_str();
            if digits.starts_with('-') {
                return Err(Problem::detail(format!("{i} is negative")));
            }
            // TOML integers are 64-bit signed: a larger literal is not TOML, and could not be
            // written back by `berth show`.
            u64::from_str_radix(digits.trim_start_matches('+'), i.radix())
                .ok()
                .filter(|n| i64::try_from(*n).is_ok())
                .ok_or_else(|| {
                    Problem::detail(format!(
                        "{i} is too large (TOML integers go up to 9223372036854775807)"
                    ))
                })
        }
        other => Err(wrong_type(other)),
    }
}

const SIZE_SUFFIXES: [(char, u32); 6] = [
    ('K', 10),
    ('M', 20),
    ('G', 30),
    ('T', 40),
    ('P', 50),
    ('E', 60),
];

fn size(v: &DeValue<'_>) -> Parsed {
    let s = match v {
        DeValue::Integer(_) => return integer(v).map(Value::Bytes),
        v => string(v)?,
    };
    if s == "infinity" {
        return Ok(Value::Infinity);
    }
    let (number, shift) = match s.chars().last() {
        Some(c) if c.is_ascii_digit() => (s, 0),
        Some(c) => match SIZE_SUFFIXES
            .iter()
            .find(|(k, _)| *k == c.to_ascii_uppercase())
        {
            Some((_, shift)) => (&s[..s.len() - 1], *shift),
            None => return Err(Problem::detail(format!("unknown size suffix `{c}`"))),
        },
        None => return Err(Problem::detail("the value is empty")),
    };
    let bytes = decimal_scaled(number, 1u128 << shift)
        .ok_or_else(|| Problem::detail(format!("\"{s}\" is not a size")))?;
    u64::try_from(bytes)
        .map(Value::Bytes)
        .map_err(|_| Problem::detail(format!("\"{s}\" is too large")))
}

/// `"1.5"` times `unit`, exactly, rounding down; `None` unless it is digits with at most one `.`.
fn decimal_scaled(s: &str, unit: u128) -> Option<u128> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !all_digits(int) || !all_digits(frac) || int.len() + frac.len() > 30 {
        return None;
    }
    let int: u128 = int.parse().ok()?;
    let mut value = int.checked_mul(unit)?;
    let mut scale = 1u128;
    let mut frac_value = 0u128;
    for b in frac.bytes().take(18) {
        scale *= 10;
        frac_value = frac_value * 10 + u128::from(b - b'0');
    }
    value = value.checked_add(frac_value.checked_mul(unit)? / scale)?;
    Some(value)
}

fn percent(s: &str) -> Parsed {
    let bad = || Problem::detail(format!("\"{s}\" is not a percentage"));
    let number = s.strip_suffix('%').ok_or_else(bad)?;
    let permyriad = decimal_scaled(number, 100).ok_or_else(bad)?;
    match u64::try_from(permyriad) {
        Ok(0) => Err(Problem::detail(
            "0% would stop the container from running at all",
        )),
        Ok(p) if p <= 100 * 100 * 10_000 => Ok(Value::Permyriad(p)),
        _ => Err(Problem::detail(format!("\"{s}\" is too large"))),
    }
}

/// Linux's limit on CPU numbers (NR_CPUS can be set up to 8192).
const MAX_CPU: u32 = 8191;

fn cpus(s: &str) -> Parsed {
    let mut set = BTreeSet::new();
    for part in s.split(',').map(str::trim) {
        let number = |n: &str| {
            n.trim()
                .parse::<u32>()
                .ok()
                .filter(|c| *c <= MAX_CPU)
                .ok_or_else(|| Problem::detail(format!("`{n}` is not a CPU number (0-{MAX_CPU})")))
        };
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (number(a)?, number(b)?),
            None => {
                let n = number(part)?;
                (n, n)
            }
        };
        if a > b {
            return Err(Problem::detail(format!("the range `{part}` is backwards")));
        }
        set.extend(a..=b);
    }
    Ok(Value::Cpus(set))
}

pub fn format_cpus(set: &BTreeSet<u32>) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut iter = set.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end + 1)) {
            end = iter.next().unwrap_or(end);
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
    }
    out.join(",")
}

const USEC_UNITS: [(&str, u64); 16] = [
    ("us", 1),
    ("usec", 1),
    ("ms", 1_000),
    ("msec", 1_000),
    ("s", 1_000_000),
    ("sec", 1_000_000),
    ("second", 1_000_000),
    ("seconds", 1_000_000),
    ("m", 60_000_000),
    ("min", 60_000_000),
    ("minute", 60_000_000),
    ("minutes", 60_000_000),
    ("h", 3_600_000_000),
    ("hr", 3_600_000_000),
    ("hour", 3_600_000_000),
    ("hours", 3_600_000_000),
];

fn duration(v: &DeValue<'_>) -> Parsed {
    let s = match v {
        DeValue::Integer(_) => {
            return integer(v)?
                .checked_mul(1_000_000)
                .map(Value::Usec)
                .ok_or_else(|| Problem::detail("too large"))
        }
        v => string(v)?.trim(),
    };
    if s == "infinity" {
        return Ok(Value::Usec(u64::MAX));
    }
    let bad = |d: String| Problem::detail(d);
    let mut total: u64 = 0;
    let mut rest = s;
    if rest.is_empty() {
        return Err(bad("the value is empty".into()));
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(digits);
        let tail = tail.trim_start();
        let unit_len = tail
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let scale = if unit.is_empty() {
            1_000_000
        } else {
            USEC_UNITS
                .iter()
                .find(|(u, _)| *u == unit)
                .map(|(_, f)| *f)
                .ok_or_else(|| {
                    Problem::detail(format!("unknown time unit `{unit}`"))
                        .with_help(did_you_mean(unit, USEC_UNITS.iter().map(|(u, _)| *u)))
                })?
        };
        let part = decimal_scaled(number, u128::from(scale))
            .and_then(|p| u64::try_from(p).ok())
            .ok_or_else(|| bad(format!("\"{s}\" is not a time span")))?;
        total = total
            .checked_add(part)
            .filter(|t| *t < u64::MAX)
            .ok_or_else(|| bad(format!("\"{s}\" is too long")))?;
        rest = tail.trim_start();
    }
    Ok(Value::Usec(total))
}

pub fn format_usec(usec: u64) -> String {
    if usec == u64::MAX {
        return "infinity".into();
    }
    let mut parts = Vec::new();
    let mut rest = usec;
    for (unit, size) in [
        ("h", 3_600_000_000),
        ("min", 60_000_000),
        ("s", 1_000_000),
        ("ms", 1_000),
        ("us", 1),
    ] {
        if rest >= size {
            parts.push(format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    if parts.is_empty() {
        "0".into()
    } else {
        parts.join(" ")
    }
}

pub fn format_bytes(bytes: u64) -> String {
    for (suffix, shift) in SIZE_SUFFIXES.iter().rev() {
        let unit = 1u64 << shift;
        if bytes >= unit && bytes % unit == 0 {
            return format!("{}{suffix}", bytes / unit);
        }
    }
    bytes.to_string()
}

pub fn format_permyriad(p: u64) -> String {
    if p % 100 == 0 {
        format!("{}%", p / 100)
    } else {
        format!("{}.{:02}%", p / 100, p % 100).replace("0%", "%")
    }
}

/// An absolute path, canonical: no `.`, `..`, doubled or trailing `/`, no control characters.
pub fn abs_path(s: &str) -> Result<String, Problem> {
    if !s.starts_with('/') {
        return Err(Problem::detail(format!("\"{s}\" is not absolute")));
    }
    if let Some(c) = s.chars().find(|c| c.is_control()) {
        return Err(Problem::detail(format!(
            "the path contains the control character {c:?}"
        )));
    }
    let mut parts = Vec::new();
    for part in s.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(Problem::detail(format!("\"{s}\" contains `..`"))),
            p => parts.push(p),
        }
    }
    Ok(format!("/{}", parts.join("/")))
}

fn user(v: &DeValue<'_>) -> Parsed {
    if let DeValue::Integer(_) = v {
        return integer(v)
            .ok()
            .filter(|u| *u < u64::from(u32::MAX))
            .map(|u| Value::Str(u.to_string()))
            .ok_or_else(|| Problem::detail("not a valid user ID"));
    }
    let s = string(v)?;
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return match s.parse::<u32>() {
            Ok(u) if u != u32::MAX => Ok(Value::Str(s.to_owned())),
            _ => Err(Problem::detail(format!("{s} is not a valid user ID"))),
        };
    }
    // The portable user name rule (shadow's useradd, systemd's valid_user_group_name).
    let ok = !s.is_empty()
        && s.len() <= 32
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_uppercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(Value::Str(s.to_owned()))
    } else {
        Err(Problem::detail(format!("\"{s}\" is not a valid user name")))
    }
}

fn hostname(s: &str) -> Parsed {
    let label_ok = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if s.len() <= 64 && s.split('.').all(label_ok) {
        Ok(Value::Str(s.to_owned()))
    } else {
        Err(Problem::detail(format!("\"{s}\" is not a valid host name")))
    }
}

fn command(v: &DeValue<'_>) -> Parsed {
    let DeValue::Array(items) = v else {
        return Err(wrong_type(v));
    };
    let mut argv = Vec::with_capacity(items.len());
    for item in items {
        match item.get_ref() {
            DeValue::String(s) => argv.push(s.to_string()),
            other => {
                return Err(Problem::detail(format!(
                    "argument {} is {}",
                    argv.len() + 1,
                    type_name(other)
                )))
            }
        }
    }
    match argv.first() {
        None => Err(Problem::detail("the list is empty")),
        Some(p) if p.is_empty() => Err(Problem::detail("the program name is empty")),
        Some(_) if argv.iter().any(|a| a.contains('\0')) => {
            Err(Problem::detail("an argument contains a NUL character"))
        }
        Some(_) => Ok(Value::List(argv)),
    }
}

pub fn capability_names() -> Vec<String> {
    let mut names: Vec<String> = caps::all()
        .into_iter()
        .map(|c| c.to_string().trim_start_matches("CAP_").to_owned())
        .collect();
    names.sort();
    names
}

fn capability(s: &str) -> Parsed {
    let upper = s.to_ascii_uppercase();
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    match caps::Capability::from_str(&full) {
        Ok(c) => Ok(Value::Str(
            c.to_string().trim_start_matches("CAP_").to_owned(),
        )),
        Err(_) => {
            let names = capability_names();
            let bare = full.trim_start_matches("CAP_");
            Err(Problem::detail(format!("unknown capability \"{s}\""))
                .with_help(did_you_mean(bare, names.iter().map(String::as_str))))
        }
    }
}

fn selinux_type(s: &str) -> Parsed {
    if s.ends_with("_t") && s.len() > 2 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        Ok(Value::Str(s.to_owned()))
    } else {
        Err(Problem::detail(format!("\"{s}\" is not an SELinux type")))
    }
}

/// `s0`, `s0:c1,c2`, `s0:c0.c5,c9`, `s0-s0:c0.c1023`: sensitivities and categories up to c1023.
fn selinux_level(s: &str) -> Parsed {
    let sensitivity = |t: &str| {
        t.strip_prefix('s')
            .is_some_and(|n| !n.is_empty() && n.len() <= 4 && n.bytes().all(|b| b.is_ascii_digit()))
    };
    let category = |t: &str| {
        t.strip_prefix('c')
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| n <= 1023)
    };
    let level = |l: &str| {
        let (sens, cats) = l.split_once(':').unwrap_or((l, ""));
        sensitivity(sens)
            && (cats.is_empty()
                || cats.split(',').all(|c| match c.split_once('.') {
                    Some((a, b)) => category(a) && category(b),
                    None => category(c),
                }))
    };
    let ok = match s.split_once('-') {
        Some((low, high)) => level(low) && level(high),
        None => level(s),
    };
    if ok {
        Ok(Value::Str(s.to_owned()))
    } else {
        Err(Problem::detail(format!("\"{s}\" is not an MCS level")))
    }
}

fn device_access(s: &str) -> Parsed {
    let mut seen = String::new();
    for c in s.chars() {
        if !"rwm".contains(c) || seen.contains(c) {
            return Err(Problem::detail(format!("\"{s}\" is not an access mode")));
        }
        seen.push(c);
    }
    if seen.is_empty() {
        return Err(Problem::detail("the access mode is empty"));
    }
    // Canonical order, as systemd prints it.
    Ok(Value::Str(
        "rwm".chars().filter(|c| seen.contains(*c)).collect(),
    ))
}

fn mode(v: &DeValue<'_>) -> Parsed {
    let n = match v {
        DeValue::Integer(i) if i.radix() == 8 => integer(v)?,
        DeValue::Integer(_) => {
            return Err(Problem::detail(
                "write the mode as a string such as \"0755\" or as 0o755",
            ))
        }
        v => {
            let s = string(v)?;
            u64::from_str_radix(s, 8)
                .map_err(|_| Problem::detail(format!("\"{s}\" is not an octal mode")))?
        }
    };
    if n <= 0o7777 {
        Ok(Value::Str(format!("{n:04o}")))
    } else {
        Err(Problem::detail(format!("{n:o} is larger than 7777")))
    }
}

/// A signal by name, Linux numbering (the same on x86_64 and aarch64).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signal(pub i32);

const SIGRTMIN: i32 = 34;
const SIGRTMAX: i32 = 64;

const SIGNALS: [(&str, i32); 31] = [
    ("SIGHUP", 1),
    ("SIGINT", 2),
    ("SIGQUIT", 3),
    ("SIGILL", 4),
    ("SIGTRAP", 5),
    ("SIGABRT", 6),
    ("SIGBUS", 7),
    ("SIGFPE", 8),
    ("SIGKILL", 9),
    ("SIGUSR1", 10),
    ("SIGSEGV", 11),
    ("SIGUSR2", 12),
    ("SIGPIPE", 13),
    ("SIGALRM", 14),
    ("SIGTERM", 15),
    ("SIGSTKFLT", 16),
    ("SIGCHLD", 17),
    ("SIGCONT", 18),
    ("SIGSTOP", 19),
    ("SIGTSTP", 20),
    ("SIGTTIN", 21),
    ("SIGTTOU", 22),
    ("SIGURG", 23),
    ("SIGXCPU", 24),
    ("SIGXFSZ", 25),
    ("SIGVTALRM", 26),
    ("SIGPROF", 27),
    ("SIGWINCH", 28),
    ("SIGIO", 29),
    ("SIGPWR", 30),
    ("SIGSYS", 31),
];

impl Signal {
    pub const TERM: Signal = Signal(15);
    /// What systemd as a container's PID 1 takes as "halt".
    pub const RTMIN_3: Signal = Signal(SIGRTMIN + 3);

    pub fn number(self) -> i32 {
        self.0
    }
}

impl FromStr for Signal {
    type Err = ();

    /// "SIGTERM", "TERM", "sigterm", "SIGRTMIN+3", "RTMAX-1", or a number.
    fn from_str(s: &str) -> Result<Self, ()> {
        if let Ok(n) = s.parse::<i32>() {
            return (1..=SIGRTMAX).contains(&n).then_some(Signal(n)).ok_or(());
        }
        let upper = s.to_ascii_uppercase();
        let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
        if let Some((_, n)) = SIGNALS.iter().find(|(name, _)| &name[3..] == bare) {
            return Ok(Signal(*n));
        }
        let rt = |base: i32, rest: &str, sign: i32| -> Option<Signal> {
            let offset: i32 = if rest.is_empty() {
                0
            } else {
                rest.parse().ok()?
            };
            let n = base + sign * offset;
            (SIGRTMIN..=SIGRTMAX).contains(&n).then_some(Signal(n))
        };
        let parsed = if let Some(rest) = bare.strip_prefix("RTMIN") {
            rt(SIGRTMIN, rest.strip_prefix('+').unwrap_or(rest), 1)
        } else if let Some(rest) = bare.strip_prefix("RTMAX") {
            rt(SIGRTMAX, rest.strip_prefix('-').unwrap_or(rest), -1)
        } else {
            None
        };
        parsed.ok_or(())
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match SIGNALS.iter().find(|(_, n)| *n == self.0) {
            Some((name, _)) => f.write_str(name),
            None if self.0 >= SIGRTMIN => write!(f, "SIGRTMIN+{}", self.0 - SIGRTMIN),
            None => write!(f, "{}", self.0),
        }
    }
}

/// Keys of identity-keyed tables ([exec.environment], [filesystem.binds], ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapKey {
    EnvName,
    AbsPath,
    Device,
}

impl MapKey {
    pub fn expected(self) -> &'static str {
        match self {
            MapKey::EnvName => "a variable name: letters, digits and `_`, not starting with a digit",
            MapKey::AbsPath => "an absolute path without `..`",
            MapKey::Device => "a device node path under /dev, or a device class such as \"char-pts\" or \"block-loop\"",
        }
    }

    /// The canonical form of the key, or what is wrong with it.
    pub fn check(self, k: &str) -> Result<String, Problem> {
        match self {
            MapKey::EnvName => {
                let ok = k.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                ok.then(|| k.to_owned()).ok_or_else(Problem::plain)
            }
            MapKey::AbsPath => abs_path(k),
            MapKey::Device => {
                if let Some(class) = k.strip_prefix("char-").or_else(|| k.strip_prefix("block-")) {
                    let ok = !class.is_empty()
                        && class
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/'));
                    return ok.then(|| k.to_owned()).ok_or_else(Problem::plain);
                }
                let p = abs_path(k)?;
                if p.starts_with("/dev/") {
                    Ok(p)
                } else {
                    Err(Problem::detail(format!("\"{k}\" is not under /dev")))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(kind: Scalar, toml_value: &str) -> Parsed {
        let v = DeValue::parse(toml_value).expect("test input is TOML");
        kind.parse(v.get_ref())
    }

    fn detail(r: Parsed) -> String {
        r.unwrap_err().detail.unwrap_or_default()
    }

    #[test]
    fn seccomp_profiles() {
        assert_eq!(
            Scalar::Seccomp.expected(),
            "\"default\", \"unconfined\", or the absolute path of a profile file"
        );
        assert_eq!(
            parse(Scalar::Seccomp, "\"unconfined\""),
            Ok(Value::Str("unconfined".into()))
        );
        assert_eq!(
            parse(Scalar::Seccomp, "\"defualt\"")
                .unwrap_err()
                .help
                .as_deref(),
            Some("did you mean `default`?")
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(parse(Scalar::Size, "\"512M\""), Ok(Value::Bytes(512 << 20)));
        assert_eq!(parse(Scalar::Size, "\"2g\""), Ok(Value::Bytes(2 << 30)));
        assert_eq!(parse(Scalar::Size, "\"1.5K\""), Ok(Value::Bytes(1536)));
        assert_eq!(parse(Scalar::Size, "4096"), Ok(Value::Bytes(4096)));
        assert_eq!(parse(Scalar::Size, "\"4096\""), Ok(Value::Bytes(4096)));
        assert_eq!(parse(Scalar::Size, "\"infinity\""), Ok(Value::Infinity));
        assert_eq!(
            detail(parse(Scalar::Size, "\"256X\"")),
            "unknown size suffix `X`"
        );
        assert_eq!(detail(parse(Scalar::Size, "\"M\"")), "\"M\" is not a size");
        assert_eq!(detail(parse(Scalar::Size, "-1")), "-1 is negative");
        assert_eq!(
            detail(parse(Scalar::Size, "\"16E\"")),
            "\"16E\" is too large"
        );
        assert_eq!(detail(parse(Scalar::Size, "true")), "found a boolean");
        assert_eq!(format_bytes(256 << 20), "256M");
        assert_eq!(format_bytes(1536), "1536");
    }

    #[test]
    fn percentages() {
        for (text, permyriad) in [("\"50%\"", 5000), ("\"150%\"", 15000), ("\"12.5%\"", 1250)] {
            assert_eq!(
                parse(Scalar::Percent, text),
                Ok(Value::Permyriad(permyriad)),
                "{text}"
            );
        }
        assert_eq!(
            detail(parse(Scalar::Percent, "\"50\"")),
            "\"50\" is not a percentage"
        );
        assert!(parse(Scalar::Percent, "\"0%\"").is_err());
        assert_eq!(format_permyriad(1250), "12.5%");
        assert_eq!(format_permyriad(15000), "150%");
        assert_eq!(format_permyriad(1205), "12.05%");
    }

    #[test]
    fn cpu_lists() {
        let Ok(Value::Cpus(set)) = parse(Scalar::Cpus, "\"0-3,6\"") else {
            panic!()
        };
        assert_eq!(set.iter().copied().collect::<Vec<_>>(), [0, 1, 2, 3, 6]);
        assert_eq!(format_cpus(&set), "0-3,6");
        assert_eq!(
            detail(parse(Scalar::Cpus, "\"3-1\"")),
            "the range `3-1` is backwards"
        );
        assert_eq!(
            detail(parse(Scalar::Cpus, "\"0,x\"")),
            "`x` is not a CPU number (0-8191)"
        );
    }

    #[test]
    fn signals_round_trip() {
        for (name, n) in SIGNALS {
            assert_eq!(name.parse::<Signal>(), Ok(Signal(n)));
            assert_eq!(Signal(n).to_string(), name);
        }
        assert_eq!("term".parse::<Signal>(), Ok(Signal::TERM));
        assert_eq!("SIGRTMIN+3".parse::<Signal>(), Ok(Signal::RTMIN_3));
        assert_eq!(Signal::RTMIN_3.to_string(), "SIGRTMIN+3");
        assert_eq!("RTMAX-1".parse::<Signal>(), Ok(Signal(63)));
        assert!("SIGFOO".parse::<Signal>().is_err());
        assert!("RTMIN+40".parse::<Signal>().is_err());
        assert_eq!(
            parse(Scalar::Signal, "\"SIGTREM\"")
                .unwrap_err()
                .help
                .as_deref(),
            Some("did you mean `SIGTERM`?")
        );
    }

    #[test]
    fn durations() {
        for (text, usec) in [
            ("\"30s\"", 30_000_000),
            ("\"1min 30s\"", 90_000_000),
            ("\"500ms\"", 500_000),
            ("\"1.5s\"", 1_500_000),
            ("10", 10_000_000),
            ("\"infinity\"", u64::MAX),
        ] {
            assert_eq!(
                parse(Scalar::Duration, text),
                Ok(Value::Usec(usec)),
                "{text}"
            );
        }
        assert_eq!(
            detail(parse(Scalar::Duration, "\"3 fortnights\"")),
            "unknown time unit `fortnights`"
        );
        assert_eq!(format_usec(90_000_000), "1min 30s");
        assert_eq!(format_usec(500_000), "500ms");
    }

    #[test]
    fn paths_are_canonical() {
        assert_eq!(abs_path("/srv//data/"), Ok("/srv/data".into()));
        assert_eq!(abs_path("/a/./b"), Ok("/a/b".into()));
        assert_eq!(abs_path("/"), Ok("/".into()));
        assert!(abs_path("srv").is_err());
        assert!(abs_path("/a/../b").is_err());
        assert!(abs_path("/a\nb").is_err());
    }

    #[test]
    fn users_capabilities_levels_modes() {
        assert_eq!(
            parse(Scalar::User, "\"www-data\""),
            Ok(Value::Str("www-data".into()))
        );
        assert_eq!(parse(Scalar::User, "1000"), Ok(Value::Str("1000".into())));
        assert!(parse(Scalar::User, "\"bad user\"").is_err());
        assert!(parse(Scalar::User, "\"4294967295\"").is_err());
        assert_eq!(
            parse(Scalar::Capability, "\"net_admin\""),
            Ok(Value::Str("NET_ADMIN".into()))
        );
        assert_eq!(
            parse(Scalar::Capability, "\"CAP_CHOWN\""),
            Ok(Value::Str("CHOWN".into()))
        );
        assert_eq!(
            parse(Scalar::Capability, "\"NET_ADMN\"")
                .unwrap_err()
                .help
                .as_deref(),
            Some("did you mean `NET_ADMIN`?")
        );
        assert!(parse(Scalar::SelinuxLevel, "\"s0:c1,c2\"").is_ok());
        assert!(parse(Scalar::SelinuxLevel, "\"s0-s0:c0.c1023\"").is_ok());
        assert!(parse(Scalar::SelinuxLevel, "\"s0:c1024\"").is_err());
        assert!(parse(Scalar::SelinuxLevel, "\"c1,c2\"").is_err());
        assert_eq!(
            parse(Scalar::Mode, "\"755\""),
            Ok(Value::Str("0755".into()))
        );
        assert_eq!(parse(Scalar::Mode, "0o1777"), Ok(Value::Str("1777".into())));
        assert!(parse(Scalar::Mode, "755").is_err());
        assert_eq!(
            parse(Scalar::DeviceAccess, "\"wr\""),
            Ok(Value::Str("rw".into()))
        );
        assert!(parse(Scalar::DeviceAccess, "\"rx\"").is_err());
    }

    #[test]
    fn map_keys() {
        assert!(MapKey::EnvName.check("PYTHONUNBUFFERED").is_ok());
        assert!(MapKey::EnvName.check("1X").is_err());
        assert_eq!(MapKey::Device.check("/dev/fuse"), Ok("/dev/fuse".into()));
        assert_eq!(MapKey::Device.check("char-pts"), Ok("char-pts".into()));
        assert!(MapKey::Device.check("/etc/passwd").is_err());
    }
}
