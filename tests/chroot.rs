//! Foreign-chroot test: ferrite registered with binfmt_misc runs a small arm64 Debian
//! root, the way `debootstrap --foreign` + `chroot` use qemu-user-static.
//!
//! The root is built from real Debian arm64 packages (`apt-get download`: busybox-static,
//! libc6, bash, coreutils, dash and their libraries; the .debs are cached in
//! `target/tmp/chroot-debs`) unpacked with `dpkg-deb -x`. ferrite is registered with
//! `ferrite-aarch64 --binfmt install --name ferrite-test-<pid> --flags POCF --tag N`:
//! `--tag N` makes the entry match only arm64 executables whose e_ident\[15\] (the last
//! padding byte, 0 in every normal ELF file) is N, and the test marks the executables of
//! its root that way. So the test's entry never captures other arm64 programs on the
//! machine (other tests, qemu's oracle runs, other people's chroots), and it is removed
//! when the test ends, even on failure (a Drop guard).
//!
//! Under `chroot`, through the kernel: a dynamic program (`bash -c`), a static one
//! (busybox), a `#!` script, a pipeline, argv\[0\] kept (P), guest arguments that look
//! like ferrite options, `/proc/self/exe`, `/proc/cpuinfo`, `uname -m`; with /proc
//! mounted (in a private mount namespace): the descriptor of the O flag is not left
//! open, the arm64 cpuinfo and smaps views; as an unprivileged user: an execute-only
//! program (O), a set-user-ID copy of `id` (C; skipped if the root's file system is
//! `nosuid`) that must also run with AT_SECURE (the guest's ld.so ignores LD_PRELOAD,
//! ferrite ignores FERRITE_* variables). Finally `--binfmt status` and `uninstall`.
//!
//! Skipped, with a loud message and a passing result, when not root, when binfmt_misc
//! cannot be mounted, when the packages cannot be downloaded, or when ferrite-aarch64
//! is not statically linked (a RUSTC_WRAPPER overriding `.cargo/config.toml`); failed
//! instead under `FERRITE_REQUIRE_ALL=1` (set by `.ci/run`).
//! `FERRITE_CHROOT_KEEP=1` keeps the root directory for inspection.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::debs::{self, report, run};

const PACKAGES: &[&str] = &[
    "busybox-static",
    "libc6",
    "libgcc-s1",
    "bash",
    "libtinfo6",
    "coreutils",
    "libacl1",
    "libattr1",
    "libgmp10",
    "libselinux1",
    "libpcre2-8-0",
    "dash",
];

const FERRITE: &str = env!("CARGO_BIN_EXE_ferrite-aarch64");
/// By absolute path: the commands run with the chroot's PATH, and Debian keeps chroot
/// in /usr/sbin.
const CHROOT: &str = "/usr/sbin/chroot";

fn skip(why: &str) {
    debs::skip(
        "chroot test (binfmt_misc + arm64 chroot)",
        &format!("{why}\nferrite's binfmt_misc integration was NOT tested."),
    );
}

fn tmp_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Does the ELF file have a PT_INTERP program header?
fn dynamically_linked(path: &str) -> bool {
    let Ok(b) = std::fs::read(path) else {
        return true;
    };
    if b.len() < 64 {
        return true;
    }
    let phoff = u64::from_le_bytes(b[32..40].try_into().unwrap()) as usize;
    let phentsize = u16::from_le_bytes([b[54], b[55]]) as usize;
    let phnum = u16::from_le_bytes([b[56], b[57]]) as usize;
    (0..phnum).any(|i| {
        let o = phoff + i * phentsize;
        b.get(o..o + 4) == Some(&3u32.to_le_bytes()[..])
    })
}

/// Mark every arm64 executable in the root's bin directories with `tag`.
fn tag_executables(root: &Path, tag: u8) -> usize {
    let mut n = 0;
    for d in ["bin", "sbin", "usr/bin", "usr/sbin"] {
        let Ok(dir) = std::fs::read_dir(root.join(d)) else {
            continue;
        };
        for e in dir.flatten() {
            let p = e.path();
            let Ok(meta) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            if !meta.is_file() {
                continue;
            }
            let Ok(mut b) = std::fs::read(&p) else {
                continue;
            };
            if b.len() > 20 && b[..4] == *b"\x7fELF" && b[18..20] == [0xb7, 0] {
                b[15] = tag;
                std::fs::write(&p, &b).expect("rewrite executable");
                n += 1;
            }
        }
    }
    n
}

/// Removes the binfmt_misc entry and (unless FERRITE_CHROOT_KEEP) the root.
struct Cleanup {
    name: String,
    root: PathBuf,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let entry = Path::new("/proc/sys/fs/binfmt_misc").join(&self.name);
        if entry.exists() {
            let _ = Command::new(FERRITE)
                .args(["--binfmt", "uninstall", "--name", &self.name])
                .stdout(Stdio::null())
                .status();
            if entry.exists() {
                let _ = std::fs::write(&entry, "-1");
            }
        }
        if std::env::var_os("FERRITE_CHROOT_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.root);
        } else {
            report(&format!(
                "chroot test: root kept in {}\n",
                self.root.display()
            ));
        }
    }
}

/// One check: a command, the exit status and stdout it must give.
struct Case {
    label: &'static str,
    cmd: Command,
    status: i32,
    check: Check,
}

/// Judges a case's (stdout, stderr).
type Check = Box<dyn Fn(&str, &str) -> Result<(), String>>;

fn exact(want: &'static str) -> Check {
    Box::new(move |out, _| {
        if out == want {
            Ok(())
        } else {
            Err(format!("stdout {out:?}, want {want:?}"))
        }
    })
}

fn chroot(root: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(CHROOT);
    c.arg(root).args(args).env("PATH", "/usr/bin:/bin");
    c
}

fn chroot_as_nobody(root: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(CHROOT);
    c.arg("--userspec=65534:65534")
        .arg(root)
        .args(args)
        .env("PATH", "/usr/bin:/bin");
    c
}

fn nosuid(path: &Path) -> bool {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: `c` is a valid path; `st` is a valid statvfs to fill.
    unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        libc::statvfs(c.as_ptr(), &mut st) == 0 && st.f_flag & libc::ST_NOSUID != 0
    }
}

fn host_cpu_count() -> usize {
    std::fs::read_to_string("/proc/cpuinfo")
        .map(|s| s.lines().filter(|l| l.starts_with("processor")).count())
        .unwrap_or(0)
}

#[test]
fn arm64_chroot_through_binfmt_misc() {
    if !is_root() {
        skip("not running as root (registering with binfmt_misc and chroot need root)");
        return;
    }
    if dynamically_linked(FERRITE) {
        skip(&format!(
            "{FERRITE} is dynamically linked (is RUSTC_WRAPPER overriding .cargo/config.toml?)"
        ));
        return;
    }
    for tool in [CHROOT, "dpkg-deb", "apt-get"] {
        if run(Command::new(tool).arg("--version"), Duration::from_secs(30)).is_err() {
            skip(&format!("{tool} not found"));
            return;
        }
    }
    // binfmt_misc mounted? (`status` mounts it as root; exit 1 means unavailable.)
    let pid = std::process::id();
    let name = format!("ferrite-test-{pid}");
    let st = run(
        Command::new(FERRITE).args(["--binfmt", "status", "--name", &name]),
        Duration::from_secs(30),
    )
    .expect("ferrite --binfmt status");
    if st.status.code() == Some(1) {
        skip(&format!(
            "binfmt_misc unavailable: {}",
            String::from_utf8_lossy(&st.stderr).trim()
        ));
        return;
    }
    assert_eq!(
        st.status.code(),
        Some(3),
        "status of a missing entry: {}",
        String::from_utf8_lossy(&st.stdout)
    );

    let debs = match debs::fetch_debs(&tmp_dir().join("chroot-debs"), "arm64", PACKAGES) {
        Ok(d) => d,
        Err(debs::FetchError::Unavailable(e)) => {
            skip(&format!("cannot download the arm64 packages: {e}"));
            return;
        }
        Err(debs::FetchError::Broken(e)) => panic!("arm64 packages: {e}"),
    };
    let root = tmp_dir().join(format!("chroot-root-{pid}"));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let tag = (pid % 254 + 1) as u8;
    let guard = Cleanup {
        name: name.clone(),
        root: root.clone(),
    };
    for d in &debs {
        let o = run(
            Command::new("dpkg-deb").arg("-x").arg(d).arg(&root),
            Duration::from_secs(120),
        )
        .unwrap();
        assert!(o.status.success(), "dpkg-deb -x {}", d.display());
    }
    // bookworm's dash ships /bin/sh itself; older packages leave it to a postinst.
    if std::fs::symlink_metadata(root.join("bin/sh")).is_err() {
        std::os::unix::fs::symlink("dash", root.join("bin/sh")).unwrap();
    }
    std::fs::create_dir_all(root.join("proc")).unwrap();
    std::fs::create_dir_all(root.join("tmp")).unwrap();
    let tagged = tag_executables(&root, tag);
    assert!(tagged > 50, "only {tagged} arm64 executables in the root");
    let script = root.join("test-script.sh");
    std::fs::write(&script, "#!/bin/dash\necho \"script $0 $1\"\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let procscript = root.join("test-proc.sh");
    std::fs::write(
        &procscript,
        "#!/bin/dash\n\
         ls -l /proc/$$/fd > /tmp/fds\n\
         echo fds: $(busybox grep -c -e /dev/null -e /test-proc.sh -e dash /tmp/fds)\n\
         head -n 1 /proc/cpuinfo\n\
         busybox grep -c ^processor /proc/cpuinfo\n\
         busybox grep -c vendor_id /proc/cpuinfo\n\
         readlink /proc/self/exe\n\
         head -n 1 /proc/self/maps\n\
         busybox grep -m 3 -E '^(Size|KernelPageSize|VmFlags):' /proc/self/smaps\n",
    )
    .unwrap();
    std::fs::set_permissions(&procscript, std::fs::Permissions::from_mode(0o755)).unwrap();
    // An execute-only copy of busybox (O) and a set-user-ID copy of id (C).
    std::fs::copy(root.join("bin/busybox"), root.join("bin/busybox-xonly")).unwrap();
    std::fs::set_permissions(
        root.join("bin/busybox-xonly"),
        std::fs::Permissions::from_mode(0o111),
    )
    .unwrap();
    let setuid_ok = !nosuid(&root);
    if setuid_ok {
        std::fs::copy(root.join("usr/bin/id"), root.join("usr/bin/id-suid")).unwrap();
        std::fs::set_permissions(
            root.join("usr/bin/id-suid"),
            std::fs::Permissions::from_mode(0o4755),
        )
        .unwrap();
    }

    // Register.
    let tag_arg = format!("{tag:02x}");
    let o = run(
        Command::new(FERRITE).args([
            "--binfmt", "install", "--name", &name, "--flags", "FPC", "--tag", &tag_arg,
        ]),
        Duration::from_secs(30),
    )
    .unwrap();
    assert!(
        o.status.success(),
        "--binfmt install: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let entry = std::fs::read_to_string(Path::new("/proc/sys/fs/binfmt_misc").join(&name))
        .expect("the entry file");
    assert!(entry.starts_with("enabled\n"), "{entry}");
    assert!(
        entry.contains(&format!("interpreter {FERRITE}\n")),
        "{entry}"
    );
    assert!(entry.contains("flags: POCF\n"), "{entry}");
    assert!(
        entry.contains(&format!(
            "magic 7f454c460201010000000000000000{tag:02x}0200b700\n"
        )),
        "{entry}"
    );
    assert!(
        entry.contains("mask ffffffffffffff00fffffffffffffffffeffffff\n"),
        "{entry}"
    );

    let cpus = host_cpu_count();
    let r = root.as_path();
    let mut cases = vec![
        Case {
            label: "dynamic program (bash -c)",
            cmd: chroot(r, &["/bin/bash", "-c", "echo dyn $((6*7)) \"$0\""]),
            status: 0,
            check: exact("dyn 42 /bin/bash\n"),
        },
        Case {
            label: "static program (busybox)",
            cmd: chroot(r, &["/bin/busybox", "echo", "static", "busybox"]),
            status: 0,
            check: exact("static busybox\n"),
        },
        Case {
            label: "#! script",
            cmd: chroot(r, &["/test-script.sh", "one"]),
            status: 0,
            check: exact("script /test-script.sh one\n"),
        },
        Case {
            label: "pipeline",
            cmd: chroot(
                r,
                &[
                    "/bin/bash",
                    "-c",
                    "printf 'b\\na\\nc\\n' | sort | head -n 2 | tr '\\n' ,; echo; ls / | wc -l",
                ],
            ),
            status: 0,
            check: Box::new(|out, _| {
                let mut l = out.lines();
                if l.next() != Some("a,b,") {
                    return Err(format!("sort|head|tr gave {out:?}"));
                }
                match l.next().and_then(|n| n.trim().parse::<u32>().ok()) {
                    Some(n) if n >= 5 => Ok(()),
                    _ => Err(format!("ls / | wc -l gave {out:?}")),
                }
            }),
        },
        Case {
            label: "exit status",
            cmd: chroot(r, &["/bin/bash", "-c", "exit 7"]),
            status: 7,
            check: exact(""),
        },
        Case {
            label: "argv[0] preserved (P)",
            cmd: chroot(
                r,
                &[
                    "/bin/bash",
                    "-c",
                    "exec -a custom-name /bin/dash -c 'echo $0'",
                ],
            ),
            status: 0,
            check: exact("custom-name\n"),
        },
        Case {
            label: "guest arguments that look like ferrite options",
            cmd: chroot(r, &["/bin/echo", "-h", "-L", "/x", "--version", "--"]),
            status: 0,
            check: exact("-h -L /x --version --\n"),
        },
        Case {
            label: "/proc/self/exe and /proc/<pid>/exe",
            cmd: chroot(
                r,
                &[
                    "/bin/bash",
                    "-c",
                    // `exec`: /proc/<pid>/exe read by the process <pid> itself.
                    "readlink /proc/self/exe; exec readlink /proc/$$/exe",
                ],
            ),
            status: 0,
            check: exact("/bin/readlink\n/bin/readlink\n"),
        },
        Case {
            label: "uname -m",
            cmd: chroot(r, &["/bin/uname", "-m"]),
            status: 0,
            check: exact("aarch64\n"),
        },
        Case {
            label: "/proc/cpuinfo (arm64 format, without /proc mounted)",
            cmd: chroot(r, &["/bin/cat", "/proc/cpuinfo"]),
            status: 0,
            check: Box::new(move |out, _| {
                let procs = out
                    .lines()
                    .filter(|l| l.starts_with("processor\t: "))
                    .count();
                for want in [
                    "processor\t: 0\n",
                    "BogoMIPS\t: ",
                    "Features\t: fp asimd",
                    " cpuid",
                    "CPU implementer\t: 0x",
                    "CPU architecture: 8\n",
                    "CPU variant\t: 0x",
                    "CPU part\t: 0x",
                    "CPU revision\t: ",
                ] {
                    if !out.contains(want) {
                        return Err(format!("no {want:?} in {out:?}"));
                    }
                }
                if out.contains("vendor_id") || out.contains("flags\t\t:") {
                    return Err(format!("host cpuinfo leaked: {out:?}"));
                }
                if cpus > 0 && procs != cpus {
                    return Err(format!("{procs} processors, host has {cpus}"));
                }
                Ok(())
            }),
        },
        Case {
            label: "/proc mounted: no AT_EXECFD left open, cpuinfo, exe, maps, smaps",
            cmd: {
                let mut c = Command::new("unshare");
                c.args(["--mount", "--propagation", "private", "/bin/sh", "-c"])
                    .arg("mount -t proc proc \"$1/proc\" && exec chroot \"$1\" /test-proc.sh")
                    .arg("sh")
                    .arg(r)
                    .env("PATH", "/usr/bin:/bin:/usr/sbin:/sbin");
                c
            },
            status: 0,
            check: Box::new(move |out, _| {
                let l: Vec<&str> = out.lines().collect();
                if l.len() < 9 {
                    return Err(format!("short output {out:?}"));
                }
                // stdin (/dev/null) and the script dash reads; not the dash binary that
                // binfmt_misc opened for ferrite (AT_EXECFD).
                if l[0] != "fds: 2" {
                    return Err(format!("descriptors of the script's shell: {:?}", l[0]));
                }
                let checks = [
                    (l[1] == "processor\t: 0", "first cpuinfo line"),
                    (
                        cpus == 0 || l[2] == cpus.to_string(),
                        "processor count with /proc mounted",
                    ),
                    (l[3] == "0", "no host vendor_id with /proc mounted"),
                    (l[4] == "/bin/readlink", "/proc/self/exe with /proc mounted"),
                    (
                        l[5].contains(" r-xp ") && l[5].ends_with("/usr/bin/head"),
                        "first maps line is the guest program's code",
                    ),
                    (
                        l[6].starts_with("Size:") && l[6].ends_with(" kB"),
                        "smaps Size",
                    ),
                    (
                        l[7] == "KernelPageSize:        4 kB",
                        "smaps KernelPageSize",
                    ),
                    (l[8].starts_with("VmFlags: rd ex"), "smaps VmFlags"),
                ];
                for (ok, what) in checks {
                    if !ok {
                        return Err(format!("{what}: {out:?}"));
                    }
                }
                Ok(())
            }),
        },
        Case {
            label: "execute-only program as an unprivileged user (O)",
            cmd: chroot_as_nobody(r, &["/bin/busybox-xonly", "echo", "xonly"]),
            status: 0,
            check: exact("xonly\n"),
        },
        Case {
            label: "unprivileged user, no setuid: FERRITE_* and LD_PRELOAD honoured",
            cmd: {
                // Set through env(1) inside the root: the host's chroot(1) is dynamic and
                // must not see LD_PRELOAD itself.
                chroot_as_nobody(
                    r,
                    &[
                        "/usr/bin/env",
                        "FERRITE_STRACE=1",
                        "LD_PRELOAD=/nonexistent.so",
                        "/usr/bin/id",
                        "-u",
                    ],
                )
            },
            status: 0,
            check: Box::new(|out, err| {
                if out != "65534\n" {
                    return Err(format!("stdout {out:?}"));
                }
                // (`id` closes its stderr before exit_group, so look for geteuid.)
                if !err.contains("cannot be preloaded") || !err.contains("geteuid") {
                    return Err(format!("stderr lacks the ld.so warning or strace: {err:?}"));
                }
                Ok(())
            }),
        },
    ];
    if setuid_ok {
        cases.push(Case {
            label: "set-user-ID program (C): euid 0, secure start",
            cmd: {
                chroot_as_nobody(
                    r,
                    &[
                        "/usr/bin/env",
                        "FERRITE_STRACE=1",
                        "LD_PRELOAD=/nonexistent.so",
                        "/usr/bin/id-suid",
                    ],
                )
            },
            status: 0,
            check: Box::new(|out, err| {
                if !out.contains("uid=65534") || !out.contains("euid=0") {
                    return Err(format!("stdout {out:?}"));
                }
                if !err.is_empty() {
                    return Err(format!(
                        "a secure start must ignore FERRITE_STRACE and LD_PRELOAD: {err:?}"
                    ));
                }
                Ok(())
            }),
        });
    } else {
        common::skip_part(
            "chroot",
            "the root's file system is nosuid: set-user-ID check skipped",
        );
    }

    let mut failures = Vec::new();
    let mut summary = String::from("\n=== chroot test (arm64 root through binfmt_misc) ===\n");
    for mut c in cases {
        let res = run(&mut c.cmd, Duration::from_secs(120)).and_then(|o| {
            let out = String::from_utf8_lossy(&o.stdout).into_owned();
            let err = String::from_utf8_lossy(&o.stderr).into_owned();
            if o.status.code() != Some(c.status) {
                return Err(format!(
                    "status {:?}, want {}; stdout {out:?}; stderr {err:?}",
                    o.status, c.status
                ));
            }
            (c.check)(&out, &err).map_err(|e| format!("{e}; stderr {err:?}"))
        });
        match res {
            Ok(()) => summary += &format!("  PASS  {}\n", c.label),
            Err(e) => {
                summary += &format!("  FAIL  {}\n        {e}\n", c.label);
                failures.push(c.label);
            }
        }
    }

    // status / uninstall through the CLI.
    let o = run(
        Command::new(FERRITE).args(["--binfmt", "status", "--name", &name]),
        Duration::from_secs(30),
    )
    .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    if o.status.code() == Some(0) && out.contains("is enabled") && out.contains("POCF") {
        summary += "  PASS  --binfmt status\n";
    } else {
        summary += &format!("  FAIL  --binfmt status: {:?} {out:?}\n", o.status);
        failures.push("--binfmt status");
    }
    let o = run(
        Command::new(FERRITE).args(["--binfmt", "uninstall", "--name", &name]),
        Duration::from_secs(30),
    )
    .unwrap();
    let gone = !Path::new("/proc/sys/fs/binfmt_misc").join(&name).exists();
    if o.status.success() && gone {
        summary += "  PASS  --binfmt uninstall\n";
    } else {
        summary += &format!("  FAIL  --binfmt uninstall: {:?}\n", o.status);
        failures.push("--binfmt uninstall");
    }
    report(&summary);
    drop(guard);
    assert!(failures.is_empty(), "chroot test failures: {failures:?}");
}

/// Run by [`skips_fail_under_require_all`] in a child process; ignored otherwise.
#[test]
#[ignore = "a probe run by skips_fail_under_require_all"]
fn require_all_probe() {
    common::skip_part("require_all_probe", "a deliberate partial skip");
    debs::skip("require_all_probe", "a deliberate skip");
}

/// `FERRITE_REQUIRE_ALL` (set by `.ci/run`) turns the skip helpers into failures; unset
/// or `0`, they only print their banner.
#[test]
fn skips_fail_under_require_all() {
    let exe = std::env::current_exe().expect("current_exe");
    let probe = |val: Option<&str>| {
        let mut c = Command::new(&exe);
        c.args([
            "--exact",
            "require_all_probe",
            "--ignored",
            "--test-threads=1",
        ])
        .env_remove(common::REQUIRE_ALL);
        if let Some(v) = val {
            c.env(common::REQUIRE_ALL, v);
        }
        let o = c.output().expect("run the probe");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            text.contains("1 passed") || text.contains("1 failed"),
            "the probe did not run: {text}"
        );
        (o.status.success(), text)
    };
    let (ok, text) = probe(None);
    assert!(ok, "a skip without FERRITE_REQUIRE_ALL must pass: {text}");
    assert!(text.contains("SKIPPED"), "no skip banner: {text}");
    let (ok, _) = probe(Some("0"));
    assert!(ok, "FERRITE_REQUIRE_ALL=0 must not fail a skip");
    let (ok, text) = probe(Some("1"));
    assert!(!ok, "a skip under FERRITE_REQUIRE_ALL=1 must fail: {text}");
    assert!(
        text.contains("a deliberate partial skip") && text.contains("a skip is a failure"),
        "the failure must name the skip: {text}"
    );
}
