//! The gdbstub (`-g`) driven by a real gdb: `gdb-multiarch` in batch mode against
//! ferrite running `tests/gdb/debugme.c`, built here for arm64 with `-g -O0` (static,
//! and dynamic PIE under `-L`). Each test is one debugging session: ferrite waits on
//! a Unix socket (or a TCP port, or the socket named by `QEMU_GDB`), gdb connects and
//! runs its commands, and the test checks what gdb printed and how the guest ended.
//! Every session has a time limit: a hang kills both processes and fails the test.
//!
//! Needs `gdb-multiarch` and the arm64 cross compiler (`scripts/setup` installs both);
//! without them the tests skip loudly (and fail under `FERRITE_REQUIRE_ALL`).

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const FERRITE: &str = env!("CARGO_BIN_EXE_ferrite-aarch64");
const SYSROOT: &str = "/usr/aarch64-linux-gnu";
/// How long one gdb session may take before it counts as hung.
const SESSION_LIMIT: Duration = Duration::from_secs(90);

fn source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gdb/debugme.c")
}

/// The line of `debugme.c` carrying the comment `/* line: {marker} */`.
fn line_of(marker: &str) -> usize {
    let text = std::fs::read_to_string(source()).unwrap();
    let tag = format!("/* line: {marker} */");
    text.lines()
        .position(|l| l.contains(&tag))
        .unwrap_or_else(|| panic!("no {tag} in debugme.c"))
        + 1
}

struct Programs {
    static_exe: PathBuf,
    dynamic_exe: PathBuf,
}

/// The two builds of debugme.c, or `None` after a loud skip when a tool is missing.
fn programs(test: &str) -> Option<&'static Programs> {
    static P: OnceLock<Result<Programs, String>> = OnceLock::new();
    let r = P.get_or_init(|| {
        match Command::new("gdb-multiarch").arg("--version").output() {
            Ok(o) if o.status.success() => {}
            _ => return Err("gdb-multiarch not found (scripts/setup installs it)".into()),
        }
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("gdb");
        std::fs::create_dir_all(&dir).unwrap();
        let build = |out: &Path, extra: &[&str]| -> Result<(), String> {
            let o = Command::new("aarch64-linux-gnu-gcc")
                .args(["-g", "-O0", "-Wall", "-pthread"])
                .args(extra)
                .arg("-o")
                .arg(out)
                // Built where it lies, by its bare name: gdb prints `debugme.c:LINE`.
                .arg("debugme.c")
                .current_dir(source().parent().unwrap())
                .output()
                .map_err(|e| format!("aarch64-linux-gnu-gcc: {e} (scripts/setup installs it)"))?;
            assert!(
                o.status.success(),
                "cannot build debugme.c:\n{}",
                String::from_utf8_lossy(&o.stderr)
            );
            Ok(())
        };
        let p = Programs {
            static_exe: dir.join("debugme-static"),
            dynamic_exe: dir.join("debugme-dyn"),
        };
        build(&p.static_exe, &["-static"])?;
        build(&p.dynamic_exe, &[])?;
        Ok(p)
    });
    match r {
        Ok(p) => Some(p),
        Err(why) => {
            common::debs::skip(test, why);
            None
        }
    }
}

/// Where ferrite listens for gdb.
enum Listen<'a> {
    /// `-g <unix socket path>`.
    Socket(&'a str),
    /// `-g <free TCP port>`.
    Tcp,
    /// `<var>=<unix socket path>` in ferrite's environment, no `-g`.
    Env(&'static str, &'a str),
}

struct Session {
    /// What gdb printed (stdout and stderr).
    gdb: String,
    /// How ferrite ended, and what the guest printed.
    status: ExitStatus,
    guest_stdout: String,
    guest_stderr: String,
}

fn wait_limited(child: &mut Child, until: Instant) -> Option<ExitStatus> {
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return Some(s);
        }
        if Instant::now() >= until {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// One session: ferrite runs `exe args` waiting for gdb as `listen` says, gdb runs
/// `commands` (after connecting) in batch mode. `interrupt_when`: send gdb SIGINT (a
/// user's Ctrl-C) once the guest has printed this line (it runs, so gdb is waiting in
/// `continue`).
#[allow(clippy::too_many_arguments)]
fn session(
    name: &str,
    ferrite_args: &[&str],
    exe: &Path,
    args: &[&str],
    listen: Listen,
    gdb_setup: &[&str],
    commands: &[&str],
    interrupt_when: Option<&str>,
) -> Session {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("gdb");
    let sock_path = |s: &str| dir.join(format!("{name}-{s}.sock"));
    let mut f = Command::new(FERRITE);
    f.args(ferrite_args)
        .env_remove("QEMU_GDB")
        .env_remove("FERRITE_GDB");
    let target = match listen {
        Listen::Socket(s) => {
            let p = sock_path(s);
            let _ = std::fs::remove_file(&p);
            f.arg("-g").arg(&p);
            p.display().to_string()
        }
        Listen::Tcp => {
            let port = free_port();
            f.arg("-g").arg(port.to_string());
            format!("127.0.0.1:{port}")
        }
        Listen::Env(var, s) => {
            let p = sock_path(s);
            let _ = std::fs::remove_file(&p);
            f.env(var, &p);
            p.display().to_string()
        }
    };
    let guest_out = dir.join(format!("{name}.guest-output"));
    f.arg(exe)
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&guest_out).unwrap())
        .stderr(Stdio::piped());
    let mut ferrite = f.spawn().expect("start ferrite");
    let until = Instant::now() + SESSION_LIMIT;
    // A Unix socket exists once ferrite listens; gdb retries TCP connections itself.
    if !target.contains(':') {
        while !Path::new(&target).exists() {
            if Instant::now() >= until || ferrite.try_wait().unwrap().is_some() {
                let _ = ferrite.kill();
                let o = ferrite.wait_with_output().unwrap();
                panic!(
                    "{name}: ferrite never listened on {target}: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let gdb_out = dir.join(format!("{name}.gdb-output"));
    let mut g = Command::new("gdb-multiarch");
    g.args([
        "-batch",
        "-nx",
        "-ex",
        "set pagination off",
        "-ex",
        "set width 0",
    ])
    .args(["-ex", "set confirm off"]);
    for c in gdb_setup {
        g.args(["-ex", c]);
    }
    g.args(["-ex", &format!("target remote {target}")]);
    for c in commands {
        g.args(["-ex", c]);
    }
    g.arg(exe)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&gdb_out).unwrap())
        .stderr(std::fs::File::create(dir.join(format!("{name}.gdb-errors"))).unwrap());
    let mut gdb = g.spawn().expect("start gdb-multiarch");
    if let Some(line) = interrupt_when {
        let want = format!("{line}\n");
        while !std::fs::read_to_string(&guest_out).is_ok_and(|o| o.contains(&want))
            && Instant::now() < until
            && gdb.try_wait().unwrap().is_none()
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        // A moment for gdb to be waiting for the stop, not still sending `continue`.
        std::thread::sleep(Duration::from_millis(300));
        // SAFETY: kill of our own child's pid.
        unsafe { libc::kill(gdb.id() as i32, libc::SIGINT) };
    }
    let gdb_status = wait_limited(&mut gdb, until);
    let status = wait_limited(&mut ferrite, until + Duration::from_secs(10));
    let read = |p: PathBuf| std::fs::read_to_string(p).unwrap_or_default();
    let text = read(gdb_out) + &read(dir.join(format!("{name}.gdb-errors")));
    if gdb_status.is_none() || status.is_none() {
        let _ = gdb.kill();
        let _ = ferrite.kill();
        let _ = gdb.wait();
        let o = ferrite.wait_with_output().unwrap();
        panic!(
            "{name}: the session hung (gdb {}, ferrite {}); gdb printed:\n{text}\nferrite's stderr:\n{}",
            if gdb_status.is_none() { "running" } else { "done" },
            if status.is_none() { "running" } else { "done" },
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let o = ferrite.wait_with_output().unwrap();
    Session {
        gdb: text,
        status: status.unwrap(),
        guest_stdout: read(guest_out),
        guest_stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

impl Session {
    /// Assert that gdb printed each of `wanted`, in this order.
    fn expect(&self, wanted: &[&str]) {
        let mut at = 0;
        for w in wanted {
            match self.gdb[at..].find(w) {
                Some(i) => at += i + w.len(),
                None => panic!(
                    "gdb did not print {w:?} (after offset {at}); it printed:\n{}\n\
                     guest stdout: {}\nguest stderr: {}",
                    self.gdb, self.guest_stdout, self.guest_stderr
                ),
            }
        }
    }
}

/// break main, continue, a backtrace; `step` into a function, its backtrace and
/// argument, `finish` with its value; `next` over a call (the callee runs: its result
/// is stored); `stepi` advances the pc by one instruction; a breakpoint in a callback
/// called by libc's qsort, backtrace through libc; registers; the end of the program.
#[test]
fn breakpoints_steps_backtraces_and_locals() {
    let Some(p) = programs("gdb breakpoints_steps_backtraces_and_locals") else {
        return;
    };
    let sum = line_of("the sum");
    let s = session(
        "steps",
        &[],
        &p.static_exe,
        &[],
        Listen::Socket("steps"),
        &[],
        &[
            "break main",
            "continue",
            "bt",
            &format!("break debugme.c:{sum}"),
            "continue",
            "step",
            "bt",
            "print n",
            "next",
            "next",
            "next",
            "next",
            "print total",
            "finish",
            "next",
            "print s",
            "print/x $pc",
            "stepi",
            "print/x $pc",
            "break compare",
            "continue",
            "bt",
            "print *(const int *)a + *(const int *)b",
            "info registers x0 sp cpsr fpcr",
            "delete",
            "continue",
        ],
        None,
    );
    s.expect(&[
        "Breakpoint 1, main (argc=1, argv=",
        "#0  main (argc=1, argv=",
        "Breakpoint 2, main (argc=1, argv=",
        &format!("at debugme.c:{sum}"),
        // step: into sum_of_squares, with main as its caller.
        "sum_of_squares (n=4) at debugme.c:",
        "#0  sum_of_squares (n=4) at debugme.c:",
        "#1  0x",
        "in main (argc=1, argv=",
        "$1 = 4",
        // next, next, next, next: over square(1) (its result is added) and back to
        // the loop head.
        "$2 = 1",
        "Value returned is $3 = 30",
        // next from the middle of the line: the assignment is done.
        "$4 = 30",
    ]);
    // stepi: one instruction.
    let pcs: Vec<u64> = s
        .gdb
        .lines()
        .filter_map(|l| {
            l.strip_prefix("$5 = 0x")
                .or_else(|| l.strip_prefix("$6 = 0x"))
        })
        .map(|h| u64::from_str_radix(h.trim(), 16).unwrap())
        .collect();
    assert_eq!(pcs.len(), 2, "two pcs around stepi:\n{}", s.gdb);
    assert_eq!(pcs[1], pcs[0] + 4, "stepi moved the pc by one instruction");
    s.expect(&[
        "Breakpoint 3, compare (a=",
        &format!("at debugme.c:{}", line_of("compare body") - 1),
        "#0  compare (a=",
        " in msort_with_tmp",
        " in qsort_r ()",
        " in main (argc=1, argv=",
        "$7 = ",
        "x0 ",
        "sp ",
        "cpsr ",
        "fpcr ",
        "exited normally]",
    ]);
    assert_eq!(s.guest_stdout, "sum 30 first 1\n");
    assert_eq!(s.status.code(), Some(0), "{}", s.guest_stderr);
}

/// A null-pointer write stops with SIGSEGV at the faulting line, with its caller in the
/// backtrace; continuing delivers it, and the guest dies by it.
#[test]
fn sigsegv_stops_at_the_faulting_line() {
    let Some(p) = programs("gdb sigsegv_stops_at_the_faulting_line") else {
        return;
    };
    let s = session(
        "segv",
        &[],
        &p.static_exe,
        &["segv"],
        Listen::Socket("segv"),
        &[],
        &["continue", "bt", "print where", "continue"],
        None,
    );
    s.expect(&[
        "Program received signal SIGSEGV, Segmentation fault.",
        "in crash (where=0x0) at debugme.c:",
        &format!("{}\t    *where = 42;", line_of("the fault")),
        "#0  ",
        "in crash (where=0x0) at debugme.c:",
        "#1  ",
        "in main (argc=2, argv=",
        "$1 = (int *) 0x0",
        "Program terminated with signal SIGSEGV, Segmentation fault.",
    ]);
    assert_eq!(s.status.signal(), Some(libc::SIGSEGV), "{}", s.guest_stderr);
}

/// A program with three worker threads: gdb lists all four at a breakpoint, each with
/// its own registers and stack; `kill` ends the guest (SIGKILL, as a native kill).
#[test]
fn threads_are_listed_and_kill_ends_the_guest() {
    let Some(p) = programs("gdb threads_are_listed_and_kill_ends_the_guest") else {
        return;
    };
    let s = session(
        "threads",
        &[],
        &p.static_exe,
        &["threads"],
        Listen::Socket("threads"),
        &[],
        &[
            "break all_started",
            "continue",
            "info threads",
            "thread 3",
            "bt",
            "thread 1",
            "bt",
            "kill",
        ],
        None,
    );
    s.expect(&[
        "hit Breakpoint 1, all_started () at debugme.c:",
        "* 1    Thread ",
        "all_started () at debugme.c:",
    ]);
    let workers = s
        .gdb
        .lines()
        .filter(|l| l.contains("Thread ") && l.contains(" in worker (arg=0x0) at debugme.c:"))
        .count();
    assert_eq!(workers, 3, "three workers in info threads:\n{}", s.gdb);
    s.expect(&[
        "[Switching to thread 3 ",
        "#0  ",
        " in worker (arg=0x0) at debugme.c:",
        "in start_thread ()",
        "[Switching to thread 1 ",
        "#0  all_started () at debugme.c:",
        "#1  ",
        " in main (argc=2, argv=",
    ]);
    assert_eq!(s.status.signal(), Some(libc::SIGKILL));
    assert_eq!(s.guest_stdout, "");
}

/// Ctrl-C stops a guest spinning in a loop (SIGINT, where it was); gdb changes a
/// variable and detaches; the guest finishes on its own.
#[test]
fn interrupt_then_detach() {
    let Some(p) = programs("gdb interrupt_then_detach") else {
        return;
    };
    let s = session(
        "spin",
        &[],
        &p.static_exe,
        &["spin"],
        Listen::Socket("spin"),
        &[],
        &["continue", "bt", "set var spins_left = 1000", "detach"],
        Some("spinning"),
    );
    s.expect(&[
        "Program received signal SIGINT, Interrupt.",
        "#0  ",
        "spin () at debugme.c:",
        " in main (argc=2, argv=",
        "[Inferior 1 (process 1) detached]",
    ]);
    assert_eq!(s.guest_stdout, "spinning\nspun\n");
    assert_eq!(s.status.code(), Some(0), "{}", s.guest_stderr);
}

/// A dynamic PIE under `-L`, gdb on a TCP port with the same sysroot: gdb relocates the
/// executable (from the auxv), finds ld.so and libc, and backtraces through libc.
#[test]
fn dynamic_pie_over_tcp() {
    let Some(p) = programs("gdb dynamic_pie_over_tcp") else {
        return;
    };
    let sysroot = format!("set sysroot {SYSROOT}");
    let s = session(
        "dyn",
        &["-L", SYSROOT],
        &p.dynamic_exe,
        &[],
        Listen::Tcp,
        &[&sysroot],
        &[
            "break compare",
            "continue",
            "bt",
            "info sharedlibrary",
            "delete",
            "continue",
        ],
        None,
    );
    s.expect(&[
        "Breakpoint 1, compare (a=",
        "#0  compare (a=",
        "from /usr/aarch64-linux-gnu/lib/libc.so.6",
        " in main (argc=1, argv=",
        "/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1",
        "/usr/aarch64-linux-gnu/lib/libc.so.6",
        "exited normally]",
    ]);
    assert_eq!(s.guest_stdout, "sum 30 first 1\n");
    assert_eq!(s.status.code(), Some(0), "{}", s.guest_stderr);
}

/// `QEMU_GDB` and `FERRITE_GDB` do what `-g` does.
#[test]
fn gdb_environment_variables() {
    let Some(p) = programs("gdb gdb_environment_variables") else {
        return;
    };
    for var in ["QEMU_GDB", "FERRITE_GDB"] {
        let s = session(
            &format!("env-{var}"),
            &[],
            &p.static_exe,
            &[],
            Listen::Env(var, "env"),
            &[],
            &["break square", "continue", "print v", "delete", "continue"],
            None,
        );
        s.expect(&[
            "Breakpoint 1, square (v=1) at debugme.c:",
            "$1 = 1",
            "exited normally]",
        ]);
        assert_eq!(s.guest_stdout, "sum 30 first 1\n", "{var}");
    }
}
