//! The real `berth` binary on fixture directories: check, show and cat, as an administrator
//! would run them. No root, no systemd.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixtures(set: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(set)
}

/// The search path of the `valid` fixture: etc > run > usr, like /etc > /run > /usr/lib.
fn valid_path() -> String {
    let root = fixtures("valid");
    ["etc", "run", "usr"]
        .iter()
        .map(|d| root.join(d).display().to_string())
        .collect::<Vec<_>>()
        .join(":")
}

fn berth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .env_remove("BERTH_CONTAINERS_PATH")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("berth runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn check_all_valid_definitions() {
    let o = berth(&["--containers-path", &valid_path(), "check"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "2 definition(s) checked, all valid\n");
    let db = fixtures("valid").join("etc/db.toml");
    assert_eq!(
        stderr(&o),
        format!("note: db: masked by {}\n", db.display())
    );
}

#[test]
fn check_reports_every_error_with_position_and_exits_1() {
    let o = berth(&["check", "tests/fixtures/invalid/web.toml"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stdout(&o),
        "1 definition(s) checked, 1 invalid, 6 error(s)\n"
    );
    assert_eq!(
        stderr(&o),
        r#"error: invalid TOML: string values must be quoted, expected literal string
  --> tests/fixtures/invalid/web.toml:3:13
  |
3 | autostart = yes
  |             ^^^

error: unknown key `memroy_max` in [resources]
  --> tests/fixtures/invalid/web.toml:9:1
  |
9 | memroy_max = "256M"
  | ^^^^^^^^^^
  = key: resources.memroy_max
  = expected: one of memory_max, memory_high, memory_swap_max, memory_low, cpu_quota, cpu_weight, io_weight, io_read_bandwidth_max, io_write_bandwidth_max, io_read_iops_max, io_write_iops_max, tasks_max, allowed_cpus, allowed_memory_nodes, devices
  = help: did you mean `memory_max`?

error: invalid value for `resources.cpu_quota`: "50" is not a percentage
   --> tests/fixtures/invalid/web.toml:10:13
   |
10 | cpu_quota = "50"
   |             ^^^^
   = key: resources.cpu_quota
   = expected: a percentage such as "50%" or "150%" (100% is one whole CPU)

error: invalid value for `resources.cpu_weight`: 20000 is outside 1-10000
   --> tests/fixtures/invalid/web.toml:11:14
   |
11 | cpu_weight = 20000
   |              ^^^^^
   = key: resources.cpu_weight
   = expected: a whole number from 1 to 10000

error: invalid value for `resources.allowed_cpus`: `x` is not a CPU number (0-8191)
   --> tests/fixtures/invalid/web.toml:12:16
   |
12 | allowed_cpus = "0-3,x"
   |                ^^^^^^^
   = key: resources.allowed_cpus
   = expected: a list of CPU numbers and ranges such as "0-3,6"

error: invalid value for `network.mode`: unknown value "bridge"
   --> tests/fixtures/invalid/web.toml:15:8
   |
15 | mode = "bridge"
   |        ^^^^^^^^
   = key: network.mode
   = expected: one of "host", "none" or "private"

"#
    );
}

#[test]
fn check_by_name_and_json() {
    let dir = fixtures("invalid").display().to_string();
    let o = berth(&["--containers-path", &dir, "check", "ok"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let o = berth(&["--containers-path", &dir, "check", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["valid"], false);
    let web = &v["containers"][1];
    assert_eq!(web["name"], "web");
    assert_eq!(web["errors"][1]["key"], "resources.memroy_max");
    assert_eq!(web["errors"][1]["line"], 9);
    assert_eq!(web["errors"][1]["column"], 1);
    assert_eq!(web["errors"][1]["help"], "did you mean `memory_max`?");
}

/// `check --as`: a file under any name (Ansible's temporary `.source.toml`) checked in the
/// place it is going to, with what it merges with there.
#[test]
fn check_as_checks_a_file_in_its_place() {
    let dir = std::env::temp_dir().join(format!("berth-check-as-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("web.toml.d")).unwrap();
    std::fs::write(dir.join("web.toml"), "[exec]\ncommand = [\"/bin/true\"]\n").unwrap();
    let tmp = dir.join(".source.toml");
    let path = dir.display().to_string();
    let check = |place: &str, text: &str| {
        std::fs::write(&tmp, text).unwrap();
        berth(&[
            "--containers-path",
            &path,
            "check",
            "--as",
            place,
            tmp.to_str().unwrap(),
        ])
    };
    let limits = "[resources]\nmemory_max = \"64M\"\n";
    let o = check("web.toml.d/40-limits.toml", limits);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Alone, the drop-in is no definition: its place is what makes it valid.
    let o = check("other", limits);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("needs a command"), "{}", stderr(&o));
    let o = check(
        "web.toml.d/40-limits.toml",
        "[resources]\nmemroy_max = \"64M\"\n",
    );
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains(".source.toml:2:1"), "{err}");
    assert!(err.contains("did you mean `memory_max`?"), "{err}");
    let o = check("web", "[exec]\ncommand = []\n");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("exec.command"), "{}", stderr(&o));
    let o = check("ghost.toml.d/40-limits.toml", limits);
    assert!(stderr(&o).contains("no main file"), "{}", stderr(&o));
    let o = berth(&["check", "--as", "web", "a.toml", "b.toml"]);
    assert_eq!(o.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn check_unknown_name_fails() {
    let o = berth(&["--containers-path", &valid_path(), "check", "nope"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).starts_with("error: no definition for container `nope` in "));
}

#[test]
fn search_path_from_environment() {
    let o = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["show", "web"])
        .env("BERTH_CONTAINERS_PATH", valid_path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn show_merges_dropins_in_order_with_masking() {
    let o = berth(&["--containers-path", &valid_path(), "show", "web"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        r#"description = "Static web server"
kind = "host"
mode = "app"
group = "web"
autostart = true
register_machine = true
hostname = "web"

[exec]
command = ["/usr/bin/python3", "-m", "http.server", "8080"]
user = "root"
working_directory = "/"
stop_signal = "SIGTERM"
stop_timeout = "30s"

[resources]
memory_max = "1G"
cpu_quota = "50%"
tasks_max = 128

[filesystem]
etc = "persistent"
var = "persistent"

[filesystem.binds."/srv/www"]
source = "/var/www"
read_only = true

[network]
mode = "host"

[security]
no_new_privileges = true
seccomp = "default"
user_namespace = "off"
selinux = "auto"
selinux_type = "container_t"
"#
    );
}

#[test]
fn show_origin_and_json() {
    let root = fixtures("valid");
    let o = berth(&[
        "--containers-path",
        &valid_path(),
        "show",
        "--origin",
        "web",
    ]);
    let out = stdout(&o);
    let memory = format!(
        "memory_max = \"1G\"  # {}:3:14",
        root.join("etc/web.toml.d/50-memory.toml").display()
    );
    assert!(out.contains(&memory), "{out}");
    assert!(out.contains("# default"), "{out}");

    let o = berth(&[
        "--containers-path",
        &valid_path(),
        "show",
        "--json",
        "--origin",
        "web",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["name"], "web");
    assert_eq!(v["definition"]["resources"]["tasks_max"], 128);
    assert_eq!(
        v["definition"]["filesystem"]["binds"]["/srv/www"]["source"],
        "/var/www"
    );
    assert_eq!(
        v["origins"]["resources.tasks_max"],
        format!(
            "{}:2:13",
            root.join("run/web.toml.d/60-tasks.toml").display()
        )
    );
}

#[test]
fn show_refuses_masked_and_invalid() {
    let o = berth(&["--containers-path", &valid_path(), "show", "db"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("container `db` is masked by"),
        "{}",
        stderr(&o)
    );

    let dir = fixtures("invalid").display().to_string();
    let o = berth(&["--containers-path", &dir, "show", "web"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).ends_with("error: the definition of `web` is invalid; see `berth check web`\n")
    );
    assert!(stdout(&o).is_empty());
}

#[test]
fn cat_prints_files_in_applied_order() {
    let root = fixtures("valid");
    let o = berth(&["--containers-path", &valid_path(), "cat", "web"]);
    assert_eq!(o.status.code(), Some(0));
    let headers: Vec<String> = stdout(&o)
        .lines()
        .filter(|l| l.starts_with("# /"))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        headers,
        [
            format!("# {}", root.join("usr/web.toml").display()),
            format!("# {}", root.join("etc/web.toml.d/50-memory.toml").display()),
            format!("# {}", root.join("run/web.toml.d/60-tasks.toml").display()),
        ]
    );
}

#[test]
fn invalid_names_are_refused() {
    let o = berth(&["--containers-path", &valid_path(), "show", "../etc"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "error: `../etc` is not a valid container name: the name contains `/`; only letters, digits, `_`, `.` and `-` are allowed\n"
    );
}

#[test]
fn usage_errors_exit_2() {
    let o = berth(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
}

/// The worked example of berth.toml(5), MERGING DROP-INS, does what the page says.
#[test]
fn the_man_page_merge_example_holds() {
    let root = fixtures("manpage");
    let path = format!(
        "{}:{}",
        root.join("etc").display(),
        root.join("usr").display()
    );
    let o = berth(&["--containers-path", &path, "show", "--json", "web"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let d = &v["definition"];
    assert_eq!(d["resources"]["memory_max"], "1G");
    assert_eq!(
        d["exec"]["environment"],
        serde_json::json!({ "PYTHONUNBUFFERED": "1" })
    );
    assert!(d["filesystem"].get("binds").is_none(), "{d}");
    assert_eq!(
        d["security"]["capabilities_add"],
        serde_json::json!(["NET_ADMIN"])
    );
}

/// Every example definition in berth.toml(5), EXAMPLES, is valid as printed.
#[test]
fn the_man_page_examples_are_valid() {
    let page =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("man/berth.toml.5"))
            .unwrap();
    let dir = std::env::temp_dir().join(format!("berth-man-examples-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let examples = &page[page.find(".SH EXAMPLES").expect("an EXAMPLES section")..];
    let mut names = Vec::new();
    for part in examples.split(".IR /etc/berth/containers/").skip(1) {
        let name = part.split(".toml").next().unwrap().to_owned();
        let body = part
            .split(".EX\n")
            .nth(1)
            .and_then(|b| b.split(".EE").next())
            .expect("an .EX block");
        let text = body.replace("\\-", "-").replace("\\(dq", "\"");
        std::fs::write(dir.join(format!("{name}.toml")), text).unwrap();
        names.push(name);
    }
    assert!(names.len() >= 3, "{names:?}");
    let o = berth(&["--containers-path", dir.to_str().unwrap(), "check"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The `--json` output as berth(1), JSON OUTPUT, documents it (src/cli/json.rs): every key,
/// of its type, and no other.
fn assert_documented(verb: &str, out: &Output, options: &[&str]) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("berth {verb} --json printed no JSON ({e}): {}", stdout(out)));
    let shape = berth::cli::json::output(verb)
        .expect("a documented output")
        .shape;
    if let Err(e) = berth::cli::json::validate(&v, &shape, options) {
        panic!("berth {verb} --json is not as documented: {e}\n{v:#}");
    }
    v
}

#[test]
fn check_json_is_as_documented() {
    let dir = fixtures("invalid").display().to_string();
    let o = berth(&["--containers-path", &dir, "check", "--json"]);
    let v = assert_documented("check", &o, &[]);
    assert_eq!(v["containers"].as_array().unwrap().len(), 2);
    let o = berth(&["--containers-path", &valid_path(), "check", "--json"]);
    assert_eq!(o.status.code(), Some(0));
    let v = assert_documented("check", &o, &[]);
    assert_eq!(v["valid"], true);
    let db = v["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "db")
        .expect("the masked db is listed");
    assert_eq!(db["notes"].as_array().unwrap().len(), 1, "{db}");
    // A file checked by path, with a problem that has no position.
    let o = berth(&["check", "--json", "tests/fixtures/valid/usr/web.toml"]);
    assert_documented("check", &o, &[]);
}

#[test]
fn show_json_is_as_documented() {
    let o = berth(&["--containers-path", &valid_path(), "show", "--json", "web"]);
    let v = assert_documented("show", &o, &[]);
    assert!(v.get("origins").is_none());
    let o = berth(&[
        "--containers-path",
        &valid_path(),
        "show",
        "--json",
        "--origin",
        "web",
    ]);
    assert_documented("show", &o, &["--origin"]);
    // Failing, it prints nothing on stdout.
    let o = berth(&["--containers-path", &valid_path(), "show", "--json", "db"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
}

/// `berth check` with no names checks the group files beside the search path too, with
/// positions, nested groups and drop-ins included.
#[test]
fn check_checks_group_files() {
    let dir = std::env::temp_dir().join(format!("berth-cli-groups-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let write = |rel: &str, text: &str| {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write(
        "containers/web.toml",
        "group = \"web/front\"\n[exec]\ncommand = [\"/bin/true\"]\n",
    );
    write(
        "groups/web/front.toml",
        "description = \"front ends\"\n[resources]\nmemory_max = \"64M\"\n",
    );
    write(
        "groups/web/front.toml.d/10-cpu.toml",
        "[resources]\ncpu_quota = \"50%\"\n",
    );
    write("groups/db.toml", "[resources]\nmemroy_max = \"1G\"\n");
    let containers = dir.join("containers");
    let path = containers.to_str().unwrap();

    let o = berth(&["--containers-path", path, "check"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "3 definition(s) checked, 1 invalid, 1 error(s)\n"
    );
    let db = dir.join("groups/db.toml");
    assert!(
        stderr(&o).starts_with(&format!(
            "error: unknown key `memroy_max` in [resources]\n  --> {}:2:1\n",
            db.display()
        )),
        "{}",
        stderr(&o)
    );

    std::fs::remove_file(&db).unwrap();
    let o = berth(&["--containers-path", path, "check", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report = assert_documented("check", &o, &[]);
    let group = report["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "group web/front")
        .unwrap_or_else(|| panic!("{report:#}"))
        .clone();
    assert_eq!(group["valid"], true);
    assert_eq!(group["files"].as_array().unwrap().len(), 2, "{group:#}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Several `--from-unit` are refused before anything is read: a container runs one payload.
#[test]
fn create_refuses_several_units() {
    let o = berth(&[
        "create",
        "web",
        "--from-unit",
        "nginx.service",
        "--from-unit",
        "php-fpm.service",
        "--dry-run",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with(
            "error: berth create takes one --from-unit, not 2: a container runs one payload"
        ),
        "{}",
        stderr(&o)
    );
}
