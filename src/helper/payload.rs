//! The last steps before a container's program runs, shared by the payload and `berth exec`:
//! user, environment, working directory, confinement, exec. Runs inside the container's root.

use std::convert::Infallible;
use std::ffi::CString;
use std::fs;
use std::path::Path;

use nix::unistd::{execve, setgid, setgroups, setuid, Gid, Uid};

use super::confine::{self, Filter};
use super::{Step, StepError};
use crate::container::plan::Payload;

/// A user from the container's /etc/passwd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    pub shell: String,
    pub groups: Vec<u32>,
}

/// Looks `user` (a name or a numeric ID) up in passwd and group texts.
pub fn lookup(user: &str, passwd: &str, group: &str) -> Option<User> {
    let numeric: Option<u32> = user.parse().ok();
    let entry = passwd.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 7 {
            return None;
        }
        let uid: u32 = f[2].parse().ok()?;
        (f[0] == user || numeric == Some(uid))
            .then(|| (f[0].to_owned(), uid, f[3].parse().ok(), f[5], f[6]))
    });
    let (name, uid, gid, home, shell) = match entry {
        Some((name, uid, gid, home, shell)) => (name, uid, gid?, home.to_owned(), shell.to_owned()),
        // A numeric ID without an entry runs with that ID as its group too, like runc.
        None => (
            user.to_owned(),
            numeric?,
            numeric?,
            "/".to_owned(),
            "/bin/sh".to_owned(),
        ),
    };
    let groups = group
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            let members = f.get(3)?;
            (members.split(',').any(|m| m == name)).then(|| f.get(2)?.parse().ok())?
        })
        .collect();
    Some(User {
        name,
        uid,
        gid,
        home,
        shell,
        groups,
    })
}

/// Switches to the payload's user and environment and executes it, under its confinement and
/// the compiled `filter`. Returns only on failure.
pub fn exec(payload: &Payload, filter: &Filter, argv: &[String]) -> Result<Infallible, StepError> {
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    let group = fs::read_to_string("/etc/group").unwrap_or_default();
    let user = lookup(&payload.user, &passwd, &group).ok_or_else(|| {
        Step::User.refused(format!(
            "no user `{}` in the container's /etc/passwd",
            payload.user
        ))
    })?;
    let argv: Vec<String> = if argv.is_empty() {
        vec![user.shell.clone()]
    } else {
        argv.to_vec()
    };

    let mut env: Vec<(String, String)> = vec![
        ("HOME".into(), user.home.clone()),
        ("USER".into(), user.name.clone()),
        ("LOGNAME".into(), user.name.clone()),
        ("SHELL".into(), user.shell.clone()),
    ];
    if let Ok(term) = std::env::var("TERM") {
        env.push(("TERM".into(), term));
    }
    for (k, v) in &payload.environment {
        env.retain(|(name, _)| name != k);
        env.push((k.clone(), v.clone()));
    }
    let path = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let program = resolve(&argv[0], &path).ok_or_else(|| {
        Step::Exec.refused(format!(
            "cannot find {} in the container (PATH={path})",
            argv[0]
        ))
    })?;

    confine::keep_capabilities_across_setuid()?;
    let groups: Vec<Gid> = user.groups.iter().map(|g| Gid::from_raw(*g)).collect();
    setgroups(&groups).map_err(Step::User.syscall(format!("setgroups for {}", user.name)))?;
    setgid(Gid::from_raw(user.gid)).map_err(Step::User.syscall(format!("setgid {}", user.gid)))?;
    setuid(Uid::from_raw(user.uid)).map_err(Step::User.syscall(format!("setuid {}", user.uid)))?;
    nix::unistd::chdir(&payload.working_directory)
        .map_err(Step::WorkingDirectory.on("chdir to", &payload.working_directory))?;

    // The confinement comes last: from here on, only the execve itself is left to do.
    confine::confine(&payload.confinement, filter, user.uid)?;

    let cstr =
        |s: &str| CString::new(s).map_err(|_| Step::Exec.refused(format!("NUL byte in {s:?}")));
    let c_argv = argv
        .iter()
        .map(|a| cstr(a))
        .collect::<Result<Vec<_>, _>>()?;
    let c_env = env
        .iter()
        .map(|(k, v)| cstr(&format!("{k}={v}")))
        .collect::<Result<Vec<_>, _>>()?;
    let c_program = cstr(&program)?;
    let e = execve(&c_program, &c_argv, &c_env).unwrap_err();
    Err(Step::Exec.on("execute", Path::new(&program))(e))
}

/// The program as execvp would find it, searching `path` for a name without `/`.
fn resolve(program: &str, path: &str) -> Option<String> {
    if program.contains('/') {
        return Some(program.to_owned());
    }
    path.split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|p| p.is_file())
        .map(|p| p.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str =
        "root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n";
    const GROUP: &str = "root:x:0:\nwww-data:x:33:\nadm:x:4:www-data,syslog\n";

    #[test]
    fn users_by_name_and_id() {
        let u = lookup("www-data", PASSWD, GROUP).unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (33, 33, "/var/www"));
        assert_eq!(u.groups, [4]);
        assert_eq!(lookup("0", PASSWD, GROUP).unwrap().name, "root");
        let anonymous = lookup("4242", PASSWD, GROUP).unwrap();
        assert_eq!((anonymous.uid, anonymous.gid), (4242, 4242));
        assert!(lookup("nobody-here", PASSWD, GROUP).is_none());
    }

    #[test]
    fn resolves_like_execvp() {
        assert_eq!(resolve("/x/y", ""), Some("/x/y".into()));
        assert_eq!(resolve("sh", "/nonexistent:/bin"), Some("/bin/sh".into()));
        assert_eq!(resolve("no-such-program", "/bin"), None);
    }
}
