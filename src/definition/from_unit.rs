//! `berth create NAME --from-unit UNIT`: a container definition made from a host service as
//! systemd loaded it ([`HostUnit`]), with comments saying what did not map and why. Pure: the
//! command line reads the unit and writes the file.

use std::fmt::Write as _;

use super::value::Signal;
use crate::systemd::HostUnit;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FromUnitError {
    #[error("{unit} is a template: name an instance, such as {example}")]
    Template { unit: String, example: String },
    #[error("{unit} is not a service: only a .service unit runs a command berth can take over")]
    NotAService { unit: String },
    #[error("no unit {unit} on this host")]
    NotFound { unit: String },
    #[error("{unit} cannot run in a container: {why}")]
    Cannot { unit: String, why: String },
}

/// Refuses names that cannot be read as one service: templates without an instance, and
/// other unit types.
pub fn check_unit_name(unit: &str) -> Result<(), FromUnitError> {
    let Some(stem) = unit.strip_suffix(".service") else {
        return Err(FromUnitError::NotAService {
            unit: unit.to_owned(),
        });
    };
    if let Some(prefix) = stem.strip_suffix('@') {
        return Err(FromUnitError::Template {
            unit: unit.to_owned(),
            example: format!("{prefix}@INSTANCE.service"),
        });
    }
    Ok(())
}

/// Where a container sees the host's programs: its /usr is the host's, and on a merged-/usr
/// host /bin, /sbin and /lib lead there.
const VISIBLE: [&str; 4] = ["/usr/", "/bin/", "/sbin/", "/lib/"];

const SHELLS: [&str; 5] = ["sh", "bash", "dash", "zsh", "ksh"];

fn base(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The one command of `u`, or why it cannot run in a container.
fn command(u: &HostUnit) -> Result<Vec<String>, String> {
    let (path, argv) = match u.exec_start.as_slice() {
        [] => return Err("it has no ExecStart=, so there is nothing to run".into()),
        [one] => one,
        more => {
            return Err(format!(
                "it has {} ExecStart= commands (Type=oneshot); a container runs one",
                more.len()
            ))
        }
    };
    if u.service_type == "forking" {
        return Err(
            "Type=forking: the daemon puts itself in the background, and a container \
                    ends when its command exits; run it in the foreground (most daemons have \
                    an option for it) in a unit of Type=simple, exec or notify"
                .into(),
        );
    }
    let script = argv.iter().skip(1).any(|a| a.contains("systemctl"));
    if base(path) == "systemctl" || (SHELLS.contains(&base(path)) && script) {
        return Err(format!(
            "its ExecStart= ({}) runs systemctl, which needs the host's PID 1; a container \
             has its own",
            argv.join(" ")
        ));
    }
    if !VISIBLE.iter().any(|p| path.starts_with(p)) {
        return Err(format!(
            "its program {path} is outside /usr: a container sees the host's /usr only (bind \
             its directory in with [filesystem.binds] and write the definition by hand)"
        ));
    }
    let mut command = argv.clone();
    match command.first_mut() {
        // systemd's argv[0] may differ from the path ("@" in ExecStart=); berth runs
        // command[0] itself.
        Some(first) => first.clone_from(path),
        None => command.push(path.clone()),
    }
    Ok(command)
}

fn quoted(s: &str) -> String {
    // A JSON string is a TOML basic string: the same escapes.
    serde_json::to_string(s).expect("a string serialises")
}

/// Bytes as berth.toml writes sizes: with the largest suffix that divides them.
fn size(bytes: u64) -> String {
    for (suffix, unit) in [("G", 1u64 << 30), ("M", 1 << 20), ("K", 1 << 10)] {
        if bytes >= unit && bytes % unit == 0 {
            return quoted(&format!("{}{suffix}", bytes / unit));
        }
    }
    bytes.to_string()
}

fn duration(usec: u64) -> String {
    if usec == u64::MAX {
        quoted("infinity")
    } else if usec % 1_000_000 == 0 {
        quoted(&format!("{}s", usec / 1_000_000))
    } else {
        quoted(&format!("{}ms", usec.div_ceil(1000)))
    }
}

/// CPUQuotaPerSecUSec as a percentage: 10 ms per second is 1%.
fn percent(usec: u64) -> String {
    let text = if usec % 10_000 == 0 {
        format!("{}%", usec / 10_000)
    } else {
        format!("{:.2}%", usec as f64 / 10_000.0)
    };
    quoted(&text)
}

/// The variables of an environment file as systemd reads it (`NAME=value` lines, `#` and `;`
/// comments, values in single or double quotes, a trailing backslash continuing a line), and
/// the numbers of the lines that are none of these.
fn environment_file(text: &str) -> (Vec<(String, String)>, Vec<usize>) {
    let mut vars = Vec::new();
    let mut bad = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((i, line)) = lines.next() {
        let mut line = line.to_owned();
        while line.ends_with('\\') {
            line.pop();
            match lines.next() {
                Some((_, more)) => line.push_str(more),
                None => break,
            }
        }
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            bad.push(i + 1);
            continue;
        };
        let k = k.trim();
        if !env_name_ok(k) {
            bad.push(i + 1);
            continue;
        }
        let v = v.trim();
        let value = if let Some(inner) = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            let mut out = String::new();
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => out.extend(chars.next()),
                    c => out.push(c),
                }
            }
            out
        } else if let Some(inner) = v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
            inner.to_owned()
        } else {
            v.to_owned()
        };
        vars.push((k.to_owned(), value));
    }
    (vars, bad)
}

fn env_name_ok(k: &str) -> bool {
    k.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The definition of a container running `u`'s command, as berth.toml text.
/// `default_tasks_max`: what systemd reports for a unit that sets no TasksMax=, which is not
/// copied.
/// `read_file` reads an EnvironmentFile= (the command line passes `fs::read_to_string`): its
/// variables are inlined, since berth has no environment files of its own.
pub fn definition(
    u: &HostUnit,
    default_tasks_max: u64,
    read_file: &dyn Fn(&str) -> std::io::Result<String>,
) -> Result<String, FromUnitError> {
    let cannot = |why: String| FromUnitError::Cannot {
        unit: u.id.clone(),
        why,
    };
    let command = command(u).map_err(cannot)?;
    let mut not_mapped: Vec<String> = Vec::new();
    let mut out = String::new();
    let _ = writeln!(out, "# Made by berth create --from-unit {}, from", u.id);
    for f in &u.files {
        let _ = writeln!(out, "#   {f}");
    }
    let _ = writeln!(
        out,
        "# The host unit is unchanged. Once this container runs, disable it with\n\
         #   systemctl disable --now {}",
        u.id
    );
    if !u.description.is_empty() {
        let _ = writeln!(out, "description = {}", quoted(&u.description));
    }

    out.push_str("\n[exec]\n");
    let items: Vec<String> = command.iter().map(|a| quoted(a)).collect();
    let _ = writeln!(out, "command = [{}]", items.join(", "));
    if !u.user.is_empty() {
        let _ = writeln!(out, "user = {}", quoted(&u.user));
    }
    if u.working_directory.starts_with('/') {
        let _ = writeln!(
            out,
            "working_directory = {}",
            quoted(u.working_directory.trim_start_matches(['-', '!']))
        );
    } else if !u.working_directory.is_empty() {
        not_mapped.push(format!(
            "WorkingDirectory={}: berth takes an absolute path only",
            u.working_directory
        ));
    }
    if let Some(sig) = u.kill_signal.filter(|s| *s != libc::SIGTERM) {
        let _ = writeln!(out, "stop_signal = {}", quoted(&Signal(sig).to_string()));
    }
    if let Some(t) = u.timeout_stop_usec {
        let _ = writeln!(out, "stop_timeout = {}", duration(t));
    }

    // systemd applies the environment files after Environment=, in order: a later value of
    // a variable replaces an earlier one. Each value remembers the file it came from.
    let mut environment: Vec<(String, String, Option<&str>)> = Vec::new();
    fn set<'a>(
        environment: &mut Vec<(String, String, Option<&'a str>)>,
        k: &str,
        v: String,
        from: Option<&'a str>,
    ) {
        environment.retain(|(name, ..)| name != k);
        environment.push((k.to_owned(), v, from));
    }
    for assignment in &u.environment {
        match assignment.split_once('=') {
            Some((k, v)) if env_name_ok(k) => set(&mut environment, k, v.to_owned(), None),
            _ => not_mapped.push(format!(
                "Environment={assignment}: not a NAME=value berth can set"
            )),
        }
    }
    for f in &u.environment_files {
        let (optional, path) = match f.strip_prefix('-') {
            Some(path) => (true, path),
            None => (false, f.as_str()),
        };
        match read_file(path) {
            Ok(text) => {
                let (vars, bad) = environment_file(&text);
                for (k, v) in vars {
                    set(&mut environment, &k, v, Some(path));
                }
                for line in bad {
                    not_mapped.push(format!(
                        "EnvironmentFile={path} line {line}: not a NAME=value berth can set"
                    ));
                }
            }
            Err(e) if optional && e.kind() == std::io::ErrorKind::NotFound => {
                not_mapped.push(format!(
                    "EnvironmentFile={f}: there is no such file (the unit allows that), so \
                     there was nothing to inline"
                ));
            }
            Err(e) => not_mapped.push(format!(
                "EnvironmentFile={f}: cannot be read ({e}); set its variables in \
                 [exec.environment]"
            )),
        }
    }
    if !environment.is_empty() {
        out.push_str("\n[exec.environment]\n");
        let mut last: Option<&str> = None;
        for (k, v, from) in &environment {
            if let Some(file) = from.filter(|f| Some(*f) != last) {
                let _ = writeln!(
                    out,
                    "# From EnvironmentFile={file}, as it was when this file was made: berth \
                     has no environment files, so later changes to it do not reach the container"
                );
            }
            last = *from;
            let _ = writeln!(out, "{k} = {}", quoted(v));
        }
    }

    let mut resources = String::new();
    let mut limit = |key: &str, value: Option<String>| {
        if let Some(v) = value {
            let _ = writeln!(resources, "{key} = {v}");
        }
    };
    limit("memory_max", u.memory_max.map(size));
    limit("memory_high", u.memory_high.map(size));
    limit("memory_low", u.memory_low.map(size));
    limit("cpu_quota", u.cpu_quota_per_sec_usec.map(percent));
    limit("cpu_weight", u.cpu_weight.map(|w| w.to_string()));
    limit("io_weight", u.io_weight.map(|w| w.to_string()));
    limit(
        "tasks_max",
        u.tasks_max
            .filter(|t| *t != default_tasks_max)
            .map(|t| t.to_string()),
    );
    if !resources.is_empty() {
        out.push_str("\n[resources]\n");
        out.push_str(&resources);
    }

    if !u.group.is_empty() {
        not_mapped.push(format!(
            "Group={}: berth runs the command with the user's own groups",
            u.group
        ));
    }
    match u.service_type.as_str() {
        "" | "simple" | "exec" | "idle" => {}
        "notify" | "notify-reload" => not_mapped.push(format!(
            "Type={}: berth does not wait for the service's readiness notification; the \
             container counts as started once its command runs",
            u.service_type
        )),
        other => not_mapped.push(format!(
            "Type={other}: the container counts as started once its command runs"
        )),
    }
    if !u.root_directory.is_empty() {
        not_mapped.push(format!(
            "RootDirectory={}: a container of kind \"host\" runs on the host's /usr; see \
             kind = \"image\" and root in berth.toml(5)",
            u.root_directory
        ));
    }
    if !not_mapped.is_empty() {
        out.push_str("\n# Not mapped:\n");
        for n in &not_mapped {
            let _ = writeln!(out, "#   {n}");
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::from_sources;
    use crate::diagnostic::Source;
    use crate::name::Name;

    fn no_files(_: &str) -> std::io::Result<String> {
        Err(std::io::ErrorKind::NotFound.into())
    }

    #[test]
    fn environment_files_are_inlined_after_environment() {
        let mut u = nginx();
        u.environment = vec!["LANG=C.UTF-8".into(), "A=1".into()];
        u.environment_files = vec![
            "/etc/default/nginx".into(),
            "/etc/secret".into(),
            "-/etc/none".into(),
        ];
        let read = |p: &str| -> std::io::Result<String> {
            match p {
                "/etc/default/nginx" => Ok("# comment\n; too\n\nA=\"two \\\"words\\\"\"\nB='$x'\nC = long \\\nline\nnot a line\n".into()),
                "/etc/secret" => Err(std::io::ErrorKind::PermissionDenied.into()),
                _ => Err(std::io::ErrorKind::NotFound.into()),
            }
        };
        let text = definition(&u, 4915, &read).unwrap();
        assert!(
            text.contains(
                "[exec.environment]\nLANG = \"C.UTF-8\"\n# From EnvironmentFile=/etc/default/nginx, \
                 as it was when this file was made: berth has no environment files, so later \
                 changes to it do not reach the container\nA = \"two \\\"words\\\"\"\nB = \"$x\"\nC = \"long line\"\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("#   EnvironmentFile=/etc/default/nginx line 8: not a NAME=value"),
            "{text}"
        );
        assert!(
            text.contains("#   EnvironmentFile=/etc/secret: cannot be read ("),
            "{text}"
        );
        assert!(
            text.contains("#   EnvironmentFile=-/etc/none: there is no such file"),
            "{text}"
        );
        let name = Name::new("web").unwrap();
        let loaded = from_sources(&name, vec![Source::new("/w.toml", text)]).unwrap();
        let env = &loaded.definition.exec.environment;
        assert_eq!(env["A"], "two \"words\"");
        assert_eq!(env["B"], "$x");
        assert_eq!(env["C"], "long line");
        assert_eq!(env["LANG"], "C.UTF-8");
    }

    fn nginx() -> HostUnit {
        HostUnit {
            id: "nginx.service".into(),
            description: "A \"high\" performance web server".into(),
            files: vec![
                "/lib/systemd/system/nginx.service".into(),
                "/etc/systemd/system/nginx.service.d/override.conf".into(),
            ],
            exec_start: vec![(
                "/usr/sbin/nginx".into(),
                vec!["/usr/sbin/nginx".into(), "-g".into(), "daemon off;".into()],
            )],
            user: "www-data".into(),
            group: "www-data".into(),
            environment: vec!["LANG=C.UTF-8".into(), "bad name=x".into()],
            environment_files: vec!["-/etc/default/nginx".into()],
            working_directory: "/var/www".into(),
            service_type: "notify".into(),
            memory_max: Some(256 << 20),
            cpu_quota_per_sec_usec: Some(500_000),
            tasks_max: Some(4915),
            kill_signal: Some(libc::SIGQUIT),
            timeout_stop_usec: Some(5_000_000),
            ..HostUnit::default()
        }
    }

    #[test]
    fn a_service_becomes_a_definition_that_checks_clean() {
        let text = definition(&nginx(), 4915, &no_files).unwrap();
        assert_eq!(
            text,
            r#"# Made by berth create --from-unit nginx.service, from
#   /lib/systemd/system/nginx.service
#   /etc/systemd/system/nginx.service.d/override.conf
# The host unit is unchanged. Once this container runs, disable it with
#   systemctl disable --now nginx.service
description = "A \"high\" performance web server"

[exec]
command = ["/usr/sbin/nginx", "-g", "daemon off;"]
user = "www-data"
working_directory = "/var/www"
stop_signal = "SIGQUIT"
stop_timeout = "5s"

[exec.environment]
LANG = "C.UTF-8"

[resources]
memory_max = "256M"
cpu_quota = "50%"

# Not mapped:
#   Environment=bad name=x: not a NAME=value berth can set
#   EnvironmentFile=-/etc/default/nginx: there is no such file (the unit allows that), so there was nothing to inline
#   Group=www-data: berth runs the command with the user's own groups
#   Type=notify: berth does not wait for the service's readiness notification; the container counts as started once its command runs
"#
        );
        let name = Name::new("web").unwrap();
        let loaded = from_sources(
            &name,
            vec![Source::new("/etc/berth/containers/web.toml", text)],
        )
        .unwrap_or_else(|p| panic!("{p:?}"));
        assert_eq!(
            loaded.definition.description,
            "A \"high\" performance web server"
        );
    }

    #[test]
    fn what_cannot_run_in_a_container_is_refused_with_why() {
        let why = |u: HostUnit| match definition(&u, 0, &no_files) {
            Err(FromUnitError::Cannot { why, .. }) => why,
            other => panic!("{other:?}"),
        };
        let wrapper = HostUnit {
            exec_start: vec![(
                "/bin/sh".into(),
                vec![
                    "/bin/sh".into(),
                    "-c".into(),
                    "systemctl start foo && exec bar".into(),
                ],
            )],
            ..nginx()
        };
        assert!(why(wrapper).contains("runs systemctl, which needs the host's PID 1"));
        let forking = HostUnit {
            service_type: "forking".into(),
            ..nginx()
        };
        assert!(why(forking).starts_with("Type=forking"));
        let opt = HostUnit {
            exec_start: vec![("/opt/app/run".into(), vec!["run".into()])],
            ..nginx()
        };
        assert!(why(opt).starts_with("its program /opt/app/run is outside /usr"));
        let none = HostUnit {
            exec_start: vec![],
            ..nginx()
        };
        assert!(why(none).contains("no ExecStart="));
    }

    #[test]
    fn templates_need_an_instance() {
        assert_eq!(
            check_unit_name("getty@.service"),
            Err(FromUnitError::Template {
                unit: "getty@.service".into(),
                example: "getty@INSTANCE.service".into()
            })
        );
        assert_eq!(check_unit_name("getty@tty1.service"), Ok(()));
        assert!(matches!(
            check_unit_name("sshd.socket"),
            Err(FromUnitError::NotAService { .. })
        ));
    }

    #[test]
    fn values_in_berths_units() {
        assert_eq!(size(1 << 30), "\"1G\"");
        assert_eq!(size(1536 << 10), "\"1536K\"");
        assert_eq!(size(1000), "1000");
        assert_eq!(duration(90_500_000), "\"90500ms\"");
        assert_eq!(duration(u64::MAX), "\"infinity\"");
        assert_eq!(percent(1_250_000), "\"125%\"");
        assert_eq!(percent(5_000), "\"0.50%\"");
    }
}
