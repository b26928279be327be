//! The system call filter: berth's default profile, profiles in the OCI format that podman,
//! Docker and crun read (so `/usr/share/containers/seccomp.json` works as it is), and their
//! compilation with libseccomp.
//!
//! A profile is plain data in the container plan; berth reads and checks a profile file when
//! it plans a start, and the helper compiles it for the machine's architecture.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use serde::{Deserialize, Serialize};

/// What a filter answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Allow,
    Errno(u16),
    KillProcess,
    KillThread,
    Trap,
    Log,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Ne,
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    /// `(arg & mask) == value`.
    MaskedEq {
        mask: u64,
    },
}

/// A condition on one argument of the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArgCmp {
    pub index: u32,
    pub op: Op,
    pub value: u64,
}

/// Calls named here answer `action` when all of `args` hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub syscalls: Vec<String>,
    pub action: Action,
    pub args: Vec<ArgCmp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// What calls that no rule names answer.
    pub default: Action,
    pub rules: Vec<Rule>,
}

const EPERM: u16 = libc::EPERM as u16;
const ENOSYS: u16 = libc::ENOSYS as u16;

/// Refused outright with EPERM, in groups that say why.
const REFUSED: &[(&str, &[&str])] = &[
    (
        "kernel modules and kexec",
        &[
            "init_module",
            "finit_module",
            "delete_module",
            "create_module",
            "kexec_load",
            "kexec_file_load",
        ],
    ),
    ("rebooting the host, swap", &["reboot", "swapon", "swapoff"]),
    (
        "setting the clock",
        &[
            "settimeofday",
            "clock_settime",
            "clock_adjtime",
            "adjtimex",
            "stime",
        ],
    ),
    ("the kernel keyring", &["keyctl", "add_key", "request_key"]),
    (
        "kernel tracing and programs",
        &["bpf", "perf_event_open", "lookup_dcookie", "kcmp"],
    ),
    (
        "other processes' memory",
        &["process_vm_readv", "process_vm_writev"],
    ),
    (
        "userfaultfd and file handles",
        &["userfaultfd", "open_by_handle_at"],
    ),
    (
        "mounts, after the container is built",
        &[
            "mount",
            "umount",
            "umount2",
            "pivot_root",
            "fsopen",
            "fsconfig",
            "fsmount",
            "fspick",
            "move_mount",
            "open_tree",
            "mount_setattr",
        ],
    ),
    (
        "host administration",
        &[
            "acct",
            "quotactl",
            "quotactl_fd",
            "nfsservctl",
            "vhangup",
            "iopl",
            "ioperm",
            "syslog",
            "uselib",
            "ustat",
            "sysfs",
            "_sysctl",
            "get_kernel_syms",
            "query_module",
            "vm86",
            "vm86old",
            "fanotify_init",
        ],
    ),
    (
        "io_uring, which bypasses system call filters",
        &["io_uring_setup", "io_uring_enter", "io_uring_register"],
    ),
];

/// Every CLONE_NEW* flag: a namespace of its own would escape the container's (mount, PID,
/// network) or the confinement built on them.
const NAMESPACE_FLAGS: [u64; 8] = [
    libc::CLONE_NEWNS as u64,
    libc::CLONE_NEWCGROUP as u64,
    libc::CLONE_NEWUTS as u64,
    libc::CLONE_NEWIPC as u64,
    libc::CLONE_NEWUSER as u64,
    libc::CLONE_NEWPID as u64,
    libc::CLONE_NEWNET as u64,
    0x80, // CLONE_NEWTIME
];

/// What a booted init system does as a matter of course, inside the container's own
/// namespaces: mounts for its services, namespaces for their sandboxing, reboot(2) to end the
/// container (in a PID namespace, it only ends that).
const BOOT_NEEDS: [&str; 2] = [
    "mounts, after the container is built",
    "rebooting the host, swap",
];

/// berth's default: everything not named is allowed; what containers must not do answers
/// EPERM. `clone3` answers ENOSYS, so that the C library falls back to `clone`, whose flags
/// a filter can see. Namespace creation is refused unless the container has a user namespace
/// of its own, where new namespaces give nothing over the host, or boots its own init.
pub fn default_profile(user_namespace: bool, boot: bool) -> Profile {
    let mut rules: Vec<Rule> = REFUSED
        .iter()
        .filter(|(why, _)| !(boot && BOOT_NEEDS.contains(why)))
        .map(|(_, calls)| Rule {
            syscalls: calls.iter().map(|c| (*c).to_owned()).collect(),
            action: Action::Errno(EPERM),
            args: Vec::new(),
        })
        .collect();
    if boot {
        // swapon and swapoff stay refused.
        rules.push(Rule {
            syscalls: vec!["swapon".into(), "swapoff".into()],
            action: Action::Errno(EPERM),
            args: Vec::new(),
        });
    }
    if !user_namespace && !boot {
        rules.push(Rule {
            syscalls: vec!["setns".into()],
            action: Action::Errno(EPERM),
            args: Vec::new(),
        });
        rules.push(Rule {
            syscalls: vec!["clone3".into()],
            action: Action::Errno(ENOSYS),
            args: Vec::new(),
        });
        // clone(flags, ...) and unshare(flags) take the flags first on x86_64 and aarch64.
        for call in ["clone", "unshare"] {
            for flag in NAMESPACE_FLAGS {
                rules.push(Rule {
                    syscalls: vec![call.into()],
                    action: Action::Errno(EPERM),
                    args: vec![ArgCmp {
                        index: 0,
                        op: Op::MaskedEq { mask: flag },
                        value: flag,
                    }],
                });
            }
        }
    }
    Profile {
        default: Action::Allow,
        rules,
    }
}

/// The refused groups, for the manual and `berth show`.
pub fn refused_groups() -> &'static [(&'static str, &'static [&'static str])] {
    REFUSED
}

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot read the seccomp profile {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the seccomp profile {path} is not valid: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// The OCI runtime-spec form of a profile, with the `includes`/`excludes` that podman's and
/// Docker's profiles use to select rules by capability, architecture and kernel.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OciProfile {
    default_action: String,
    default_errno_ret: Option<u16>,
    #[serde(default)]
    syscalls: Vec<OciRule>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OciRule {
    #[serde(default)]
    names: Vec<String>,
    name: Option<String>,
    action: String,
    errno_ret: Option<u16>,
    #[serde(default)]
    args: Vec<OciArg>,
    #[serde(default)]
    includes: OciFilter,
    #[serde(default)]
    excludes: OciFilter,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OciArg {
    index: u32,
    value: u64,
    #[serde(default)]
    value_two: u64,
    op: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OciFilter {
    #[serde(default)]
    caps: Vec<String>,
    #[serde(default)]
    arches: Vec<String>,
    min_kernel: Option<String>,
}

/// What a profile's `includes` and `excludes` are matched against.
#[derive(Debug, Clone)]
pub struct Target {
    /// The container's bounding set, names without `CAP_`.
    pub capabilities: BTreeSet<String>,
    /// Go's names, as OCI profiles use them: "amd64", "arm64".
    pub arch: &'static str,
    /// (major, minor) of the running kernel.
    pub kernel: (u32, u32),
}

impl Target {
    pub fn of_this_host(capabilities: BTreeSet<String>) -> Target {
        let release = nix::sys::utsname::uname()
            .map(|u| u.release().to_string_lossy().into_owned())
            .unwrap_or_default();
        Target {
            capabilities,
            arch: if cfg!(target_arch = "aarch64") {
                "arm64"
            } else {
                "amd64"
            },
            kernel: kernel_version(&release).unwrap_or((0, 0)),
        }
    }
}

fn kernel_version(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// Reads an OCI seccomp profile file for a container.
pub fn read_profile(path: &Path, target: &Target) -> Result<Profile, ProfileError> {
    let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_profile(&text, target).map_err(|message| ProfileError::Invalid {
        path: path.to_owned(),
        message,
    })
}

pub fn parse_profile(text: &str, target: &Target) -> Result<Profile, String> {
    let oci: OciProfile = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let default_errno = oci.default_errno_ret.unwrap_or(EPERM);
    let default = oci_action(&oci.default_action, default_errno)?;
    let mut rules = Vec::new();
    for (i, rule) in oci.syscalls.iter().enumerate() {
        let context = |e: String| format!("syscalls[{i}]: {e}");
        if !selected(&rule.includes, &rule.excludes, target).map_err(context)? {
            continue;
        }
        let mut syscalls = rule.names.clone();
        syscalls.extend(rule.name.clone());
        if syscalls.is_empty() {
            return Err(context("names no system call".into()));
        }
        let action = oci_action(&rule.action, rule.errno_ret.unwrap_or(EPERM)).map_err(context)?;
        let args = rule
            .args
            .iter()
            .map(|a| oci_arg(a).map_err(context))
            .collect::<Result<_, _>>()?;
        rules.push(Rule {
            syscalls,
            action,
            args,
        });
    }
    Ok(Profile { default, rules })
}

fn selected(includes: &OciFilter, excludes: &OciFilter, target: &Target) -> Result<bool, String> {
    let has = |cap: &String| target.capabilities.contains(cap.trim_start_matches("CAP_"));
    let kernel_at_least = |v: &Option<String>| -> Result<bool, String> {
        match v {
            None => Ok(true),
            Some(v) => {
                let want = kernel_version(v).ok_or_else(|| format!("bad minKernel \"{v}\""))?;
                Ok(target.kernel >= want)
            }
        }
    };
    let included = includes.caps.iter().all(has)
        && (includes.arches.is_empty() || includes.arches.iter().any(|a| a == target.arch))
        && kernel_at_least(&includes.min_kernel)?;
    let excluded = (!excludes.caps.is_empty() && excludes.caps.iter().any(has))
        || excludes.arches.iter().any(|a| a == target.arch)
        || (excludes.min_kernel.is_some() && kernel_at_least(&excludes.min_kernel)?);
    Ok(included && !excluded)
}

fn oci_action(name: &str, errno: u16) -> Result<Action, String> {
    Ok(match name {
        "SCMP_ACT_ALLOW" => Action::Allow,
        "SCMP_ACT_ERRNO" => Action::Errno(errno),
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => Action::KillThread,
        "SCMP_ACT_KILL_PROCESS" => Action::KillProcess,
        "SCMP_ACT_TRAP" => Action::Trap,
        "SCMP_ACT_LOG" => Action::Log,
        other => return Err(format!("unsupported action \"{other}\"")),
    })
}

fn oci_arg(a: &OciArg) -> Result<ArgCmp, String> {
    let op = match a.op.as_str() {
        "SCMP_CMP_NE" => Op::Ne,
        "SCMP_CMP_LT" => Op::Lt,
        "SCMP_CMP_LE" => Op::Le,
        "SCMP_CMP_EQ" => Op::Eq,
        "SCMP_CMP_GE" => Op::Ge,
        "SCMP_CMP_GT" => Op::Gt,
        // OCI's masked comparison: `value` is the mask, `valueTwo` what the masked bits equal.
        "SCMP_CMP_MASKED_EQ" => {
            return Ok(ArgCmp {
                index: a.index,
                op: Op::MaskedEq { mask: a.value },
                value: a.value_two,
            })
        }
        other => return Err(format!("unsupported comparison \"{other}\"")),
    };
    if a.index > 5 {
        return Err(format!("argument index {} is beyond the sixth", a.index));
    }
    Ok(ArgCmp {
        index: a.index,
        op,
        value: a.value,
    })
}

#[derive(Debug, thiserror::Error)]
#[error("cannot build the seccomp filter: {0}")]
pub struct CompileError(String);

fn scmp_action(a: Action) -> ScmpAction {
    match a {
        Action::Allow => ScmpAction::Allow,
        Action::Errno(e) => ScmpAction::Errno(i32::from(e)),
        Action::KillProcess => ScmpAction::KillProcess,
        Action::KillThread => ScmpAction::KillThread,
        Action::Trap => ScmpAction::Trap,
        Action::Log => ScmpAction::Log,
    }
}

/// A compiled filter, and the names in the profile that this libseccomp does not know (newer
/// system calls in a profile written for a newer kernel, or typing errors), which it skips as
/// crun does.
pub struct Compiled {
    pub filter: ScmpFilterContext,
    pub unknown: Vec<String>,
}

/// Compiles a profile for the given architectures (the first is the native one). Calls that
/// an architecture does not have are skipped there. The filter does not set no_new_privs
/// itself: the caller decides.
pub fn compile(profile: &Profile, arches: &[ScmpArch]) -> Result<Compiled, CompileError> {
    let fail =
        |what: &str, e: libseccomp::error::SeccompError| CompileError(format!("{what}: {e}"));
    let mut ctx = ScmpFilterContext::new(scmp_action(profile.default))
        .map_err(|e| fail("create the filter", e))?;
    ctx.set_ctl_nnp(false)
        .map_err(|e| fail("configure the filter", e))?;
    for arch in arches.iter().skip(1) {
        ctx.add_arch(*arch)
            .map_err(|e| fail("add an architecture", e))?;
    }
    let mut unknown = Vec::new();
    for rule in &profile.rules {
        // A rule that says what the default already says adds nothing; libseccomp refuses it.
        if rule.action == profile.default {
            continue;
        }
        let conditions: Vec<ScmpArgCompare> = rule
            .args
            .iter()
            .map(|a| {
                let op = match a.op {
                    Op::Ne => ScmpCompareOp::NotEqual,
                    Op::Lt => ScmpCompareOp::Less,
                    Op::Le => ScmpCompareOp::LessOrEqual,
                    Op::Eq => ScmpCompareOp::Equal,
                    Op::Ge => ScmpCompareOp::GreaterEqual,
                    Op::Gt => ScmpCompareOp::Greater,
                    Op::MaskedEq { mask } => ScmpCompareOp::MaskedEqual(mask),
                };
                ScmpArgCompare::new(a.index, op, a.value)
            })
            .collect();
        for name in &rule.syscalls {
            let present: Vec<ScmpArch> = arches
                .iter()
                .copied()
                .filter(|arch| {
                    ScmpSyscall::from_name_by_arch(name, *arch)
                        .is_ok_and(|s| s.as_raw_syscall() >= 0)
                })
                .collect();
            if present.is_empty() {
                if ScmpSyscall::from_name(name).is_err() && !unknown.contains(name) {
                    unknown.push(name.clone());
                }
                continue;
            }
            let syscall =
                ScmpSyscall::from_name(name).map_err(|e| fail(&format!("resolve {name}"), e))?;
            ctx.add_rule_conditional(scmp_action(rule.action), syscall, &conditions)
                .map_err(|e| fail(&format!("add the rule for {name}"), e))?;
        }
    }
    Ok(Compiled {
        filter: ctx,
        unknown,
    })
}

/// The architectures a filter must cover on this machine.
pub fn native_arches() -> Vec<ScmpArch> {
    vec![ScmpArch::native()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            capabilities: ["CHOWN", "SYS_ADMIN"]
                .iter()
                .map(|c| (*c).to_owned())
                .collect(),
            arch: "amd64",
            kernel: (6, 1),
        }
    }

    #[test]
    fn the_default_compiles_for_x86_64_and_aarch64() {
        for (userns, boot) in [(false, false), (true, false), (false, true)] {
            let profile = default_profile(userns, boot);
            for arches in [
                [ScmpArch::X8664, ScmpArch::Aarch64],
                [ScmpArch::Aarch64, ScmpArch::X8664],
            ] {
                let compiled = compile(&profile, &arches).unwrap();
                assert!(compiled.unknown.is_empty(), "{:?}", compiled.unknown);
                let (r, w) = nix::unistd::pipe().unwrap();
                compiled.filter.export_bpf(&w).unwrap();
                drop(w);
                let mut bpf = Vec::new();
                std::io::Read::read_to_end(&mut std::fs::File::from(r), &mut bpf).unwrap();
                assert!(bpf.len() > 8 * profile.rules.len(), "{} bytes", bpf.len());
            }
        }
    }

    #[test]
    fn the_default_refuses_what_containers_must_not_do() {
        let profile = default_profile(false, false);
        let action_of = |call: &str| {
            profile
                .rules
                .iter()
                .find(|r| r.syscalls.iter().any(|s| s == call) && r.args.is_empty())
                .map(|r| r.action)
        };
        for call in [
            "init_module",
            "kexec_load",
            "reboot",
            "mount",
            "pivot_root",
            "swapon",
            "clock_settime",
            "keyctl",
            "bpf",
            "perf_event_open",
            "userfaultfd",
            "open_by_handle_at",
            "setns",
        ] {
            assert_eq!(action_of(call), Some(Action::Errno(EPERM)), "{call}");
        }
        assert_eq!(action_of("clone3"), Some(Action::Errno(ENOSYS)));
        assert_eq!(action_of("read"), None);
        let unshare_rules = profile
            .rules
            .iter()
            .filter(|r| r.syscalls == ["unshare"])
            .count();
        assert_eq!(unshare_rules, NAMESPACE_FLAGS.len());
        assert!(default_profile(true, false)
            .rules
            .iter()
            .all(|r| r.syscalls != ["setns"]));
        let boot = default_profile(false, true);
        let named =
            |p: &Profile, call: &str| p.rules.iter().any(|r| r.syscalls.iter().any(|s| s == call));
        assert!(!named(&boot, "mount") && !named(&boot, "reboot") && !named(&boot, "unshare"));
        assert!(named(&boot, "swapon") && named(&boot, "kexec_load") && named(&boot, "bpf"));
    }

    #[test]
    fn oci_profiles_select_rules_like_podman() {
        let text = r#"{
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 38,
            "syscalls": [
                {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
                {"names": ["reboot"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_BOOT"]}},
                {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64"]}},
                {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
                {"names": ["bpf"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_CHOWN"]}},
                {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
                {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]}
            ]
        }"#;
        let p = parse_profile(text, &target()).unwrap();
        assert_eq!(p.default, Action::Errno(38));
        let names: Vec<&str> = p
            .rules
            .iter()
            .flat_map(|r| r.syscalls.iter().map(String::as_str))
            .collect();
        assert_eq!(
            names,
            [
                "read",
                "write",
                "mount",
                "arch_prctl",
                "ptrace",
                "personality",
                "clone"
            ]
        );
        assert_eq!(
            p.rules.last().unwrap().args,
            [ArgCmp {
                index: 0,
                op: Op::MaskedEq { mask: 2114060288 },
                value: 0
            }]
        );
        compile(&p, &[ScmpArch::X8664]).unwrap();
    }

    #[test]
    fn bad_profiles_say_what_is_wrong() {
        let t = target();
        assert_eq!(
            parse_profile(r#"{"defaultAction": "SCMP_ACT_NOPE"}"#, &t).unwrap_err(),
            "unsupported action \"SCMP_ACT_NOPE\""
        );
        assert_eq!(
            parse_profile(r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 9, "value": 1, "op": "SCMP_CMP_EQ"}]}]}"#, &t).unwrap_err(),
            "syscalls[0]: argument index 9 is beyond the sixth"
        );
        let p = parse_profile(r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["no_such_call"], "action": "SCMP_ACT_ERRNO"}]}"#, &t).unwrap();
        assert_eq!(
            compile(&p, &[ScmpArch::X8664]).unwrap().unknown,
            ["no_such_call"]
        );
    }

    #[test]
    fn kernel_versions() {
        assert_eq!(kernel_version("6.18.44-fc-v1045"), Some((6, 18)));
        assert_eq!(kernel_version("4.8"), Some((4, 8)));
        assert_eq!(kernel_version("x"), None);
    }
}
