//! Guest-program tests: the C and C++ programs in `tests/guest/`, each built
//! for arm64 (static, dynamic and a few other flavours) and natively for
//! x86-64 by `tests/guest/Makefile`, are run under `ferrite-aarch64` and
//! natively with the same arguments, environment and stdin. Standard output
//! must match byte for byte and the exit status (or terminating signal) must
//! be identical. The native run is the oracle; every case also states the
//! status the native run must have, so a broken test program is caught too.
//!
//! Two tests:
//! * `guest_programs_match_native` — ferrite versus native (the real test).
//! * `oracle_qemu_matches_native` — `qemu-aarch64-static` versus native. It
//!   checks the test programs themselves (arm64 and x86-64 builds of the same
//!   source must agree), independently of ferrite; a failure there is
//!   reported as the oracle's (qemu's or the program's), never ferrite's.
//!   Skipped, loudly, when qemu-aarch64-static is not installed (a failure
//!   under `FERRITE_REQUIRE_ALL`). Cases qemu cannot run as it is (its
//!   reviewed deviations, and `exec` when no binfmt_misc entry could start
//!   the exec'd arm64 child with the sysroot) are skipped with the reason.
//!
//! Programs in [`XFAIL`] are expected to fail under ferrite for now: their
//! failures are reported as XFAIL and do not fail the test; if one passes it
//! is reported as XPASS (time to remove it from the list).
//!
//! Uses only std. Knobs (environment variables):
//! * `FERRITE_GUEST_FILTER=substr[,substr…]` — run only rows whose
//!   `program/case/flavour` label contains one of the substrings.
//! * `FERRITE_GUEST_TIMEOUT=secs` — per-run timeout (default 120).
//! * `FERRITE_GUEST_JOBS=n` — parallel runs (default: available CPUs).
//! * `FERRITE_GUEST_BUILD=dir` — build directory (default `target/guest`).
//! * `FERRITE_GUEST_SYSROOT=dir` — the `-L` prefix (default `/usr/aarch64-linux-gnu`).
//! * `FERRITE_GUEST_VERBOSE=1` — print every command line.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Programs expected to fail under ferrite for now, with the reason.
const XFAIL: &[(&str, &str)] = &[];

const SIGABRT: i32 = 6;
const SIGSEGV: i32 = 11;
const SIGTERM: i32 = 15;

// ---------------------------------------------------------------------------
// Test cases
// ---------------------------------------------------------------------------

/// How a process ended.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Status {
    Exited(i32),
    Signaled(i32),
    TimedOut(Duration),
    SpawnFailed(String),
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Exited(c) => write!(f, "exited {c}"),
            Status::Signaled(s) => write!(f, "killed by signal {s} ({})", signal_name(*s)),
            Status::TimedOut(d) => write!(f, "timed out after {}s (killed)", d.as_secs()),
            Status::SpawnFailed(e) => write!(f, "could not be started: {e}"),
        }
    }
}

fn signal_name(s: i32) -> &'static str {
    match s {
        1 => "SIGHUP",
        2 => "SIGINT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        11 => "SIGSEGV",
        12 => "SIGUSR2",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        31 => "SIGSYS",
        _ => "?",
    }
}

struct Case {
    /// Program (source file stem in tests/guest/).
    prog: &'static str,
    /// Short label distinguishing several cases of one program.
    label: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Option<Vec<u8>>,
    /// What the native (oracle) run must do.
    expect: Status,
}

fn case(prog: &'static str, label: &str, args: &[&str], expect: Status) -> Case {
    Case {
        prog,
        label: label.to_string(),
        args: args.iter().map(|s| s.to_string()).collect(),
        env: Vec::new(),
        stdin: None,
        expect,
    }
}

fn ok(prog: &'static str) -> Case {
    case(prog, "-", &[], Status::Exited(0))
}

fn cases() -> Vec<Case> {
    use Status::*;
    let mut v = vec![
        ok("hello"),
        ok("atomicfault"),
        ok("intmath"),
        ok("strings"),
        ok("stdio"),
        ok("fpbasic"),
        ok("fpenv"),
        ok("fileio"),
        ok("mmap"),
        ok("signals"),
        ok("sigextra"),
        ok("threads"),
        ok("process"),
        ok("ipc"),
        ok("aio"),
        ok("notify"),
        case("notify", "fanotify", &["fanotify"], Exited(0)),
        ok("sockintr"),
        ok("robust"),
        ok("memx"),
        case("memx", "mseal", &["mseal"], Exited(0)),
        ok("clone3"),
        ok("uffd"),
        ok("procmisc"),
        ok("forkthreads"),
        ok("branchrace"),
        ok("exec").with_expect(Exited(42)),
        // the exec'd side alone (also runs under qemu without binfmt_misc)
        case("exec", "child-mode", &["child", "a", "b c"], Exited(42))
            .with_env(&[("EXEC_TEST_VAR", "v")]),
        case("sysinfo", "-", &["first arg", "second"], Exited(0)),
        ok("vector"),
        ok("neon"),
        ok("jit"),
        ok("cxx"),
        // exit paths
        case("exitcode", "exit-3", &["exit", "3"], Exited(3)),
        case("exitcode", "exit-256", &["exit", "256"], Exited(0)),
        case("exitcode", "return-42", &["return", "42"], Exited(42)),
        case("exitcode", "_exit-255", &["_exit", "255"], Exited(255)),
        case("exitcode", "abort", &["abort"], Signaled(SIGABRT)),
        case("exitcode", "kill-term", &["kill", "15"], Signaled(SIGTERM)),
        case("exitcode", "segv", &["segv"], Signaled(SIGSEGV)),
        // argv / environment
        case("args", "none", &[], Exited(0)),
        case(
            "args",
            "mixed",
            &[
                "7",
                "hello world",
                "",
                "\u{fc}n\u{ef}c\u{f6}d\u{e9}",
                "--flag=x",
                "tab\there",
                "quote\"s'",
            ],
            Exited(7),
        )
        .with_env(&[
            ("ARGS_SHOW", "FOO,EMPTY,UNSET,LANG,UTF"),
            ("FOO", "bar baz"),
            ("EMPTY", ""),
            ("UTF", "\u{e9}t\u{e9}"),
        ]),
    ];
    // many and long arguments: exercises the initial stack layout
    let mut many = case("args", "many", &["0"], Exited(0));
    for i in 0..300 {
        many.args.push(format!("arg{i:03}-{}", "x".repeat(i % 37)));
    }
    many.args.push("y".repeat(100_000));
    many.env = (0..100)
        .map(|i| (format!("MANY_{i}"), "v".repeat(i * 10)))
        .chain([("ARGS_SHOW".to_string(), "MANY_0,MANY_99".to_string())])
        .collect();
    v.push(many);
    // stdin plumbing
    let mut text = Vec::new();
    for i in 0..2000 {
        writeln!(
            text,
            "line {i}: the quick brown fox jumps over the lazy dog {}",
            i * i
        )
        .unwrap();
    }
    text.extend_from_slice(b"binary:\x00\x01\xff\xfe tail without newline");
    let mut raw = case("stdin", "raw", &["raw"], Exited(255));
    raw.stdin = Some(text.clone());
    let mut stdio = case("stdin", "stdio", &["stdio"], Exited(255));
    stdio.stdin = Some(text);
    let mut small = case("stdin", "small", &[], Exited(2));
    small.stdin = Some(b"hello\nworld\n".to_vec());
    let mut empty = case("stdin", "empty", &[], Exited(0));
    empty.stdin = Some(Vec::new());
    v.extend([raw, stdio, small, empty]);
    v
}

impl Case {
    fn with_env(mut self, env: &[(&str, &str)]) -> Case {
        self.env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self
    }
    fn with_expect(mut self, s: Status) -> Case {
        self.expect = s;
        self
    }
}

// ---------------------------------------------------------------------------
// Building
// ---------------------------------------------------------------------------

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn build_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("FERRITE_GUEST_BUILD") {
        return PathBuf::from(d);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"));
    let target = if target.is_absolute() {
        target
    } else {
        repo_root().join(target)
    };
    target.join("guest")
}

fn sysroot() -> PathBuf {
    std::env::var_os("FERRITE_GUEST_SYSROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/aarch64-linux-gnu"))
}

/// One build variant of a program (e.g. `intmath-O0`): its native oracle and
/// its arm64 flavours.
struct Variant {
    prog: String,
    x86: PathBuf,
    arm: Vec<(String, PathBuf)>,
}

struct Built {
    variants: BTreeMap<String, Variant>,
    progs: BTreeSet<String>,
}

fn have_command(cmd: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(cmd).is_file()))
        .unwrap_or(false)
}

fn make(args: &[&str]) -> Result<String, String> {
    let dir = repo_root().join("tests/guest");
    let build = build_dir();
    let out = Command::new("make")
        .arg("-C")
        .arg(&dir)
        .arg(format!("BUILD={}", build.display()))
        .args(args)
        .output()
        .map_err(|e| format!("cannot run make ({e}): run scripts/setup"))?;
    if !out.status.success() {
        return Err(format!(
            "`make -C tests/guest BUILD={} {}` failed ({}):\n{}{}",
            build.display(),
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn build() -> Result<&'static Built, String> {
    static BUILT: OnceLock<Result<Built, String>> = OnceLock::new();
    BUILT
        .get_or_init(build_uncached)
        .as_ref()
        .map_err(|e| e.clone())
}

fn build_uncached() -> Result<Built, String> {
    let missing: Vec<&str> = [
        "aarch64-linux-gnu-gcc",
        "aarch64-linux-gnu-g++",
        "gcc",
        "g++",
        "make",
    ]
    .into_iter()
    .filter(|c| !have_command(c))
    .collect();
    if !missing.is_empty() {
        return Err(format!(
            "missing tools: {}. Run scripts/setup (as root) to install the cross toolchains.",
            missing.join(", ")
        ));
    }
    if !sysroot().join("lib").is_dir() {
        return Err(format!(
            "arm64 sysroot {} is missing: run scripts/setup (libc6-dev-arm64-cross)",
            sysroot().display()
        ));
    }
    let jobs = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    make(&[&format!("-j{jobs}"), "all"])
        .map_err(|e| format!("{e}\n(if a compiler is missing, run scripts/setup)"))?;
    let progs: BTreeSet<String> = make(&["-s", "print-progs"])?
        .lines()
        .map(str::to_string)
        .collect();
    let mut variants: BTreeMap<String, Variant> = BTreeMap::new();
    for line in make(&["-s", "print-targets"])?.lines() {
        let path = PathBuf::from(line);
        let path = if path.is_absolute() {
            path
        } else {
            repo_root().join("tests/guest").join(path)
        };
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let (variant, kind) = file
            .split_once('.')
            .ok_or_else(|| format!("odd target name {file}"))?;
        let prog = variant
            .trim_end_matches("-O0")
            .trim_end_matches("-O3")
            .to_string();
        let entry = variants
            .entry(variant.to_string())
            .or_insert_with(|| Variant {
                prog: prog.clone(),
                x86: PathBuf::new(),
                arm: Vec::new(),
            });
        if !path.is_file() {
            return Err(format!(
                "make succeeded but {} does not exist",
                path.display()
            ));
        }
        if kind == "x86" {
            entry.x86 = path;
        } else if let Some(flavour) = kind.strip_prefix("arm64-") {
            entry.arm.push((flavour.to_string(), path));
        } else {
            return Err(format!("odd target name {file}"));
        }
    }
    for (name, v) in &variants {
        if v.x86.as_os_str().is_empty() || v.arm.is_empty() {
            return Err(format!("variant {name} lacks a native or an arm64 build"));
        }
    }
    Ok(Built { variants, progs })
}

// ---------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------

#[repr(C)]
struct RLimit {
    cur: u64,
    max: u64,
}

extern "C" {
    fn setrlimit(resource: i32, rlim: *const RLimit) -> i32;
    fn kill(pid: i32, sig: i32) -> i32;
}

const RLIMIT_CORE: i32 = 4;
const SIGKILL: i32 = 9;

struct RunOutput {
    status: Status,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    elapsed: Duration,
}

fn timeout() -> Duration {
    let secs = std::env::var("FERRITE_GUEST_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120);
    Duration::from_secs(secs)
}

fn verbose() -> bool {
    std::env::var_os("FERRITE_GUEST_VERBOSE").is_some_and(|v| v != "0")
}

/// Runs `cmd` (its own process group, no core dumps, fresh scratch dir as
/// cwd/TMPDIR/HOME) with the case's args, env and stdin.
fn run(
    prefix: &[OsString],
    extra_env: &[(OsString, OsString)],
    program: &Path,
    case: &Case,
    scratch: &Path,
) -> RunOutput {
    let _ = std::fs::remove_dir_all(scratch);
    std::fs::create_dir_all(scratch).expect("create scratch dir");
    let mut cmd = if prefix.is_empty() {
        Command::new(program)
    } else {
        let mut c = Command::new(&prefix[0]);
        c.args(&prefix[1..]).arg(program);
        c
    };
    cmd.args(&case.args)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("LANG", "C")
        .env("LC_ALL", "C")
        .env("HOME", scratch)
        .env("TMPDIR", scratch)
        .current_dir(scratch)
        .stdin(if case.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    for (k, v) in &case.env {
        cmd.env(k, v);
    }
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    if !prefix.is_empty() {
        // debugging knobs for the emulator itself
        for (k, v) in std::env::vars_os() {
            let ks = k.to_string_lossy();
            if ks.starts_with("FERRITE_") && !ks.starts_with("FERRITE_GUEST_")
                || ks == "RUST_BACKTRACE"
            {
                cmd.env(k, v);
            }
        }
    }
    // SAFETY: the closure runs in the forked child before exec and only calls
    // setrlimit, which is async-signal-safe; the struct lives on its stack.
    unsafe {
        cmd.pre_exec(|| {
            let lim = RLimit { cur: 0, max: 0 };
            setrlimit(RLIMIT_CORE, &lim);
            Ok(())
        });
    }
    if verbose() {
        eprintln!("[guest] run {:?}", cmd);
    }
    let start = Instant::now();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return RunOutput {
                status: Status::SpawnFailed(format!(
                    "{}: {e}",
                    prefix.first().map(Path::new).unwrap_or(program).display()
                )),
                stdout: Vec::new(),
                stderr: Vec::new(),
                elapsed: start.elapsed(),
            }
        }
    };
    let pgid = child.id() as i32;
    let stdin_thread = case.stdin.clone().map(|data| {
        let mut w = child.stdin.take().unwrap();
        // a guest that exits without reading everything gives EPIPE: ignore
        std::thread::spawn(move || {
            let _ = w.write_all(&data);
        })
    });
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let out_thread = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = so.read_to_end(&mut b);
        b
    });
    let err_thread = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = se.read_to_end(&mut b);
        b
    });
    let limit = timeout();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => {
                break match (st.code(), st.signal()) {
                    (Some(c), _) => Status::Exited(c),
                    (None, Some(s)) => Status::Signaled(s),
                    _ => Status::SpawnFailed(format!("odd status {st:?}")),
                }
            }
            Ok(None) => {}
            Err(e) => break Status::SpawnFailed(format!("wait: {e}")),
        }
        if start.elapsed() > limit {
            // SAFETY: plain syscall on the process group we created (pgid = child pid).
            unsafe { kill(-pgid, SIGKILL) };
            let _ = child.wait();
            break Status::TimedOut(limit);
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let elapsed = start.elapsed();
    // Leftover descendants (a guest that leaked a background child) would
    // keep the pipes open: kill what remains of the group.
    // SAFETY: plain syscall on the process group we created.
    unsafe { kill(-pgid, SIGKILL) };
    let stdout = out_thread.join().unwrap_or_default();
    let stderr = err_thread.join().unwrap_or_default();
    if let Some(t) = stdin_thread {
        let _ = t.join();
    }
    let _ = std::fs::remove_dir_all(scratch);
    RunOutput {
        status,
        stdout,
        stderr,
        elapsed,
    }
}

// ---------------------------------------------------------------------------
// Comparing and reporting
// ---------------------------------------------------------------------------

fn show_line(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    let mut e: String = s.escape_debug().collect();
    if e.len() > 240 {
        let mut cut = 240;
        while !e.is_char_boundary(cut) {
            cut -= 1;
        }
        e.truncate(cut);
        e.push('…');
    }
    e
}

/// Describes how two outputs differ (first differing line, then a few more),
/// or None if they are equal.
fn first_difference(want: &[u8], got: &[u8]) -> Option<String> {
    if want == got {
        return None;
    }
    let wl: Vec<&[u8]> = want.split_inclusive(|&b| b == b'\n').collect();
    let gl: Vec<&[u8]> = got.split_inclusive(|&b| b == b'\n').collect();
    let show = |l: Option<&&[u8]>| {
        l.map(|l| format!("\"{}\"", show_line(l)))
            .unwrap_or_else(|| "<end of output>".into())
    };
    let differing: Vec<usize> = (0..wl.len().max(gl.len()))
        .filter(|&i| wl.get(i) != gl.get(i))
        .collect();
    let first = differing[0];
    let mut d = format!(
        "stdout differs at line {} ({} differing lines; native {} bytes/{} lines, guest {} bytes/{} lines):\n      native: {}\n      guest:  {}",
        first + 1,
        differing.len(),
        want.len(),
        wl.len(),
        got.len(),
        gl.len(),
        show(wl.get(first)),
        show(gl.get(first)),
    );
    for &i in differing.iter().skip(1).take(4) {
        d.push_str(&format!(
            "\n    line {}:\n      native: {}\n      guest:  {}",
            i + 1,
            show(wl.get(i)),
            show(gl.get(i))
        ));
    }
    if differing.len() > 5 {
        d.push_str(&format!(
            "\n    … {} more differing lines",
            differing.len() - 5
        ));
    }
    Some(d)
}

fn stderr_tail(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    let lines: Vec<&str> = s.lines().collect();
    let start = lines.len().saturating_sub(8);
    lines[start..]
        .iter()
        .map(|l| format!("      | {}\n", show_line(l.as_bytes())))
        .collect()
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Verdict {
    Pass,
    Fail,
    XFail,
    XPass,
    Skip,
    /// Matches only after rewriting known emulator bugs (see `Tolerance`).
    Tolerated,
}

impl Verdict {
    fn tag(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::XFail => "XFAIL",
            Verdict::XPass => "XPASS",
            Verdict::Skip => "SKIP",
            Verdict::Tolerated => "PASS*",
        }
    }
}

struct Row {
    label: String,
    verdict: Verdict,
    detail: String,
    secs: f64,
}

/// A guest runner: ferrite or qemu, with its fixed leading arguments.
struct Emulator {
    name: &'static str,
    prefix: Vec<OsString>,
    /// Extra environment of the emulator's runs.
    env: Vec<(OsString, OsString)>,
    /// An oracle (qemu), not the emulator under test: its failures say so.
    oracle: bool,
    /// Programs expected to fail under this emulator (XFAIL), with reasons.
    xfail: Vec<(&'static str, String)>,
    /// Cases (`program/case-label`) not run at all under this emulator, with reasons.
    skip: Vec<(&'static str, String)>,
    /// Known, understood bugs of this emulator (not of the test programs):
    /// in program `.0`'s output, the emulator's line `.2` stands for the
    /// native line `.1`. Reported, but not a failure.
    tolerate: Vec<Tolerance>,
    /// Only these flavours (`static`, `dyn`, …) are run, when set.
    flavours: Option<&'static [&'static str]>,
}

struct Tolerance {
    prog: &'static str,
    native: &'static str,
    emulated: &'static str,
    why: &'static str,
}

/// Rewrites tolerated emulator lines to their native form; returns the new
/// output and the reasons of the tolerances that applied.
fn apply_tolerances(
    emu: &Emulator,
    prog: &str,
    native: &[u8],
    guest: &[u8],
) -> (Vec<u8>, Vec<&'static str>) {
    let mut used = Vec::new();
    let applicable: Vec<&Tolerance> = emu.tolerate.iter().filter(|t| t.prog == prog).collect();
    if applicable.is_empty() {
        return (guest.to_vec(), used);
    }
    let native_lines: Vec<&[u8]> = native.split_inclusive(|&b| b == b'\n').collect();
    let mut out = Vec::with_capacity(guest.len());
    for (i, line) in guest.split_inclusive(|&b| b == b'\n').enumerate() {
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        let fix = applicable.iter().find(|t| {
            body == t.emulated.as_bytes()
                && native_lines
                    .get(i)
                    .map(|n| n.strip_suffix(b"\n").unwrap_or(n))
                    == Some(t.native.as_bytes())
        });
        match fix {
            Some(t) => {
                out.extend_from_slice(native_lines[i]);
                used.push(t.why);
            }
            None => out.extend_from_slice(line),
        }
    }
    (out, used)
}

fn write_report(s: &str) {
    // Straight to fd 2: libtest captures print!/eprint!, not direct writes,
    // so the table is visible even when the test passes.
    let mut e = std::io::stderr().lock();
    let _ = e.write_all(s.as_bytes());
    let _ = e.flush();
}

fn filter_matches(label: &str) -> bool {
    match std::env::var("FERRITE_GUEST_FILTER") {
        Ok(f) if !f.is_empty() => f.split(',').any(|p| label.contains(p)),
        _ => true,
    }
}

fn run_suite(emu: &Emulator) {
    let built = match build() {
        Ok(b) => b,
        Err(e) => panic!("\n\nGUEST PROGRAMS COULD NOT BE BUILT:\n{e}\n"),
    };
    let all_cases = cases();
    // every program has at least one case and every case a program
    let case_progs: BTreeSet<&str> = all_cases.iter().map(|c| c.prog).collect();
    let no_case: Vec<&String> = built
        .progs
        .iter()
        .filter(|p| !case_progs.contains(p.as_str()))
        .collect();
    assert!(
        no_case.is_empty(),
        "tests/guest programs without a case in tests/guest_programs.rs: {no_case:?}"
    );
    let no_prog: Vec<&&str> = case_progs
        .iter()
        .filter(|p| !built.progs.contains(**p))
        .collect();
    assert!(
        no_prog.is_empty(),
        "cases for programs that tests/guest does not build: {no_prog:?}"
    );

    // jobs: (variant, case); each runs native once, then every arm64 flavour
    let mut jobs: Vec<(&Variant, &str, &Case)> = Vec::new();
    for (vname, v) in &built.variants {
        for c in all_cases.iter().filter(|c| c.prog == v.prog) {
            let any = v
                .arm
                .iter()
                .any(|(f, _)| filter_matches(&format!("{vname}/{}/{f}", c.label)));
            if any {
                jobs.push((v, vname.as_str(), c));
            }
        }
    }
    let nworkers = std::env::var("FERRITE_GUEST_JOBS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        })
        .max(1);
    let scratch_root = build_dir()
        .join("run")
        .join(format!("{}-{}", emu.name, std::process::id()));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Vec<Row>)>> = Mutex::new(Vec::new());
    write_report(&format!(
        "\n=== guest programs: {} vs native x86-64 ({} jobs, {} workers, timeout {}s) ===\n",
        emu.name,
        jobs.len(),
        nworkers,
        timeout().as_secs()
    ));
    std::thread::scope(|s| {
        for w in 0..nworkers {
            let (jobs, next, results, scratch_root) = (&jobs, &next, &results, &scratch_root);
            s.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(&(v, vname, c)) = jobs.get(i) else {
                    break;
                };
                let rows = run_job(emu, v, vname, c, &scratch_root.join(format!("w{w}")));
                let mut text = String::new();
                for r in &rows {
                    text.push_str(&format!(
                        "  [{}] {:<6} {:<44} {:>6.2}s\n",
                        emu.name,
                        r.verdict.tag(),
                        r.label,
                        r.secs
                    ));
                }
                write_report(&text);
                results.lock().unwrap().push((i, rows));
            });
        }
    });
    let _ = std::fs::remove_dir_all(&scratch_root);
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(i, _)| *i);
    let rows: Vec<Row> = results.into_iter().flat_map(|(_, r)| r).collect();

    // final table, sorted, then details
    let mut report = format!("\n=== {} results ===\n", emu.name);
    for r in &rows {
        report.push_str(&format!("  {:<6} {}\n", r.verdict.tag(), r.label));
    }
    let count = |v: Verdict| rows.iter().filter(|r| r.verdict == v).count();
    let summary = format!(
        "{} passed, {} passed with tolerated emulator bugs, {} FAILED, {} xfail, {} XPASS, {} skipped (of {})",
        count(Verdict::Pass),
        count(Verdict::Tolerated),
        count(Verdict::Fail),
        count(Verdict::XFail),
        count(Verdict::XPass),
        count(Verdict::Skip),
        rows.len()
    );
    report.push_str(&format!("=== {}: {} ===\n", emu.name, summary));
    for r in rows.iter().filter(|r| r.verdict != Verdict::Pass) {
        report.push_str(&format!(
            "\n--- {} {}\n{}\n",
            r.verdict.tag(),
            r.label,
            r.detail.trim_end()
        ));
    }
    if count(Verdict::XPass) > 0 {
        report.push_str(&format!(
            "\n!!! XPASS: some expected failures now pass under {}: remove them from the XFAIL list in tests/guest_programs.rs !!!\n",
            emu.name
        ));
    }
    if count(Verdict::XFail) > 0 {
        report.push_str(&format!(
            "\n!!! {} expected failure(s) (XFAIL) under {}: see above !!!\n",
            count(Verdict::XFail),
            emu.name
        ));
    }
    write_report(&report);

    let failed: Vec<String> = rows
        .iter()
        .filter(|r| r.verdict == Verdict::Fail)
        .map(|r| format!("{}: {}", r.label, r.detail.lines().next().unwrap_or("")))
        .collect();
    if !failed.is_empty() && emu.oracle {
        panic!(
            "\nTHE ORACLE FAILED, NOT FERRITE: {} of the guest programs run under {} (the reference \
             emulator) disagree with their native x86-64 builds ({summary}):\n  {}\n\
             Either the test program depends on the architecture or {} has a bug or limitation \
             not yet reviewed (see the skip and tolerance lists of oracle_qemu_matches_native). \
             Details above.",
            failed.len(),
            emu.name,
            failed.join("\n  "),
            emu.name
        );
    }
    if !failed.is_empty() {
        panic!(
            "\n{} guest program mismatch(es) under {} ({summary}):\n  {}\n(details above)",
            failed.len(),
            emu.name,
            failed.join("\n  ")
        );
    }
}

fn run_job(emu: &Emulator, v: &Variant, vname: &str, c: &Case, scratch: &Path) -> Vec<Row> {
    let mut rows = Vec::new();
    let flavours: Vec<&(String, PathBuf)> = v
        .arm
        .iter()
        .filter(|(f, _)| filter_matches(&format!("{vname}/{}/{f}", c.label)))
        .filter(|(f, _)| emu.flavours.is_none_or(|fl| fl.contains(&f.as_str())))
        .collect();
    if flavours.is_empty() {
        return Vec::new();
    }
    let label = |f: &str| format!("{vname}/{}/{f}", c.label);
    if let Some((_, why)) = emu
        .skip
        .iter()
        .find(|(k, _)| *k == format!("{}/{}", v.prog, c.label))
    {
        for (f, _) in flavours {
            rows.push(Row {
                label: label(f),
                verdict: Verdict::Skip,
                detail: format!("    skipped: {why}"),
                secs: 0.0,
            });
        }
        return rows;
    }
    let native = run(&[], &[], &v.x86, c, &scratch.join("native"));
    let native_broken = if native.status != c.expect {
        Some(format!(
            "    NATIVE ORACLE BROKEN: {} {:?} should have {} but {}\n    (the test program itself is wrong, not the emulator)\n{}",
            v.x86.display(),
            c.args.iter().map(|a| show_line(a.as_bytes())).take(8).collect::<Vec<_>>(),
            c.expect,
            native.status,
            stderr_tail(&native.stderr)
        ))
    } else {
        None
    };
    let xfail = emu
        .xfail
        .iter()
        .find(|(p, _)| *p == v.prog)
        .map(|(_, w)| w.clone());
    for (flavour, path) in flavours {
        if let Some(b) = &native_broken {
            rows.push(Row {
                label: label(flavour),
                verdict: Verdict::Fail,
                detail: b.clone(),
                secs: native.elapsed.as_secs_f64(),
            });
            continue;
        }
        let guest = run(&emu.prefix, &emu.env, path, c, &scratch.join("guest"));
        let mut problems = Vec::new();
        if guest.status != native.status {
            problems.push(format!(
                "status: native {}, {} {}",
                native.status, emu.name, guest.status
            ));
        }
        let (guest_stdout, tolerated) =
            apply_tolerances(emu, &v.prog, &native.stdout, &guest.stdout);
        if let Some(d) = first_difference(&native.stdout, &guest_stdout) {
            problems.push(d);
        }
        let cmdline = format!(
            "    command: {}{} {}{}",
            emu.env
                .iter()
                .map(|(k, v)| format!("{}={} ", k.to_string_lossy(), v.to_string_lossy()))
                .collect::<String>(),
            emu.prefix
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" "),
            path.display(),
            if c.args.is_empty() {
                String::new()
            } else {
                format!(" <{} args>", c.args.len())
            }
        );
        let (verdict, detail) = match (problems.is_empty(), &xfail) {
            (true, None) if tolerated.is_empty() => (Verdict::Pass, String::new()),
            (true, None) => (
                Verdict::Tolerated,
                format!(
                    "    passes only because of known {} deviations: {}",
                    emu.name,
                    tolerated.join("; ")
                ),
            ),
            (true, Some(w)) => (
                Verdict::XPass,
                format!("    passes although listed as expected failure ({w})"),
            ),
            (false, x) => {
                let mut d = format!("    {}\n{cmdline}\n", problems.join("\n    "));
                if emu.oracle {
                    d.insert_str(
                        0,
                        &format!(
                            "    THE ORACLE FAILED: {} disagrees with the native run (ferrite is not involved)\n",
                            emu.name
                        ),
                    );
                }
                if !guest.stderr.is_empty() {
                    d.push_str(&format!(
                        "    {} stderr (last lines):\n{}",
                        emu.name,
                        stderr_tail(&guest.stderr)
                    ));
                }
                match x {
                    None => (Verdict::Fail, d),
                    Some(w) => (Verdict::XFail, format!("    expected failure: {w}\n{d}")),
                }
            }
        };
        rows.push(Row {
            label: label(flavour),
            verdict,
            detail,
            secs: guest.elapsed.as_secs_f64(),
        });
    }
    rows
}

/// An enabled binfmt_misc entry of the host that recognises files by magic bytes.
struct BinfmtEntry {
    name: String,
    interpreter: PathBuf,
    offset: usize,
    magic: Vec<u8>,
    mask: Vec<u8>,
}

impl BinfmtEntry {
    /// Whether the kernel would hand a file starting with `head` to this entry.
    fn matches(&self, head: &[u8]) -> bool {
        let Some(h) = head.get(self.offset..self.offset + self.magic.len()) else {
            return false;
        };
        h.iter().zip(&self.magic).enumerate().all(|(i, (b, m))| {
            let k = self.mask.get(i).copied().unwrap_or(0xff);
            b & k == m & k
        })
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

/// The enabled magic-type entries of /proc/sys/fs/binfmt_misc.
fn binfmt_entries() -> Vec<BinfmtEntry> {
    let Ok(dir) = std::fs::read_dir("/proc/sys/fs/binfmt_misc") else {
        return Vec::new();
    };
    let mut v = Vec::new();
    for e in dir.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name == "status" || name == "register" {
            continue;
        }
        if let Some(entry) = std::fs::read_to_string(e.path())
            .ok()
            .and_then(|text| parse_binfmt_entry(&name, &text))
        {
            v.push(entry);
        }
    }
    v
}

/// One `/proc/sys/fs/binfmt_misc/NAME` file, if it is an enabled magic-type entry.
fn parse_binfmt_entry(name: &str, text: &str) -> Option<BinfmtEntry> {
    if !text.starts_with("enabled") {
        return None;
    }
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k).map(|r| r.trim().to_string()))
    };
    let interp = field("interpreter ")?;
    let magic = unhex(&field("magic ")?)?;
    let mask = field("mask ").and_then(|m| unhex(&m)).unwrap_or_default();
    let offset = field("offset ").and_then(|o| o.parse().ok()).unwrap_or(0);
    Some(BinfmtEntry {
        name: name.to_string(),
        interpreter: PathBuf::from(interp),
        offset,
        magic,
        mask,
    })
}

/// What a binfmt_misc interpreter is, from its `-version` line (Debian's
/// `qemu-binfmt/*-binfmt-P` names are symlinks to the qemu binary, which
/// refuses `-version` under that name, hence the canonical path). Both
/// qemu-aarch64 and ferrite-aarch64 take the library prefix from
/// `QEMU_LD_PREFIX` when they get no `-L`.
fn honours_qemu_ld_prefix(interp: &Path) -> Result<(), String> {
    let real = std::fs::canonicalize(interp).map_err(|e| {
        format!(
            "its interpreter {} cannot be resolved ({e})",
            interp.display()
        )
    })?;
    let out = Command::new(&real)
        .arg("-version")
        .env_clear()
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("its interpreter {} cannot be run ({e})", real.display()))?;
    let first = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    if first.starts_with("qemu-aarch64 version") || first.starts_with("ferrite-aarch64 version") {
        Ok(())
    } else {
        Err(format!(
            "its interpreter {} (`-version`: {first:?}) is neither qemu-aarch64 nor \
             ferrite-aarch64, so it is not known to take the sysroot from QEMU_LD_PREFIX",
            real.display()
        ))
    }
}

/// Whether qemu can run `exec`'s exec'd arm64 children here. qemu-user does
/// not translate an execve itself: it hands the file to the host kernel, which
/// can start an arm64 program only through a binfmt_misc entry, and that
/// entry's interpreter gets no `-L`. It finds a dynamic child's libraries
/// only because the oracle runs with `QEMU_LD_PREFIX` set and `exec.c`
/// forwards that variable to its children. `Err` says why the case cannot run.
fn qemu_can_run_exec_children(built: &Built) -> Result<(), String> {
    let heads: Vec<(String, Vec<u8>)> = built
        .variants
        .values()
        .filter(|v| v.prog == "exec")
        .flat_map(|v| v.arm.iter())
        .map(|(f, p)| {
            let mut head = vec![0u8; 256];
            let n = std::fs::File::open(p)
                .and_then(|mut f| f.read(&mut head))
                .unwrap_or(0);
            head.truncate(n);
            (f.clone(), head)
        })
        .collect();
    let entries = binfmt_entries();
    for (flavour, head) in &heads {
        let routes: Vec<&BinfmtEntry> = entries.iter().filter(|e| e.matches(head)).collect();
        if routes.is_empty() {
            return Err(format!(
                "qemu limitation, not a missing prerequisite: qemu-aarch64 hands an execve to the \
                 host kernel, and no enabled binfmt_misc entry here claims the arm64 `exec` \
                 program ({flavour}), so its exec'd children cannot start under qemu"
            ));
        }
        for e in routes {
            honours_qemu_ld_prefix(&e.interpreter).map_err(|why| {
                format!(
                    "qemu limitation: the exec'd arm64 children would start through binfmt_misc \
                     entry `{}`, and {why}",
                    e.name
                )
            })?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

#[test]
fn guest_programs_match_native() {
    let ferrite = PathBuf::from(env!("CARGO_BIN_EXE_ferrite-aarch64"));
    let emu = Emulator {
        name: "ferrite",
        prefix: vec![ferrite.into(), "-L".into(), sysroot().into()],
        env: Vec::new(),
        oracle: false,
        xfail: XFAIL.iter().map(|(p, w)| (*p, w.to_string())).collect(),
        skip: Vec::new(),
        tolerate: Vec::new(),
        flavours: None,
    };
    run_suite(&emu);
}

/// The same programs with every guest memory access sent through the memory lowering's
/// slow path (`-d slowmem`): the out-of-line stubs (live-register saving, arguments,
/// results, faults inside the slow path) must give exactly the fast path's results.
#[test]
fn guest_programs_match_native_slowmem() {
    let ferrite = PathBuf::from(env!("CARGO_BIN_EXE_ferrite-aarch64"));
    let emu = Emulator {
        name: "ferrite-slowmem",
        prefix: vec![
            ferrite.into(),
            "-d".into(),
            "slowmem".into(),
            "-L".into(),
            sysroot().into(),
        ],
        env: Vec::new(),
        oracle: false,
        xfail: XFAIL.iter().map(|(p, w)| (*p, w.to_string())).collect(),
        skip: Vec::new(),
        tolerate: Vec::new(),
        flavours: Some(&["static", "dyn"]),
    };
    run_suite(&emu);
}

#[test]
fn oracle_qemu_matches_native() {
    let qemu = "qemu-aarch64-static";
    if !have_command(qemu) {
        common::debs::skip(
            "oracle_qemu_matches_native",
            "qemu-aarch64-static not found: the guest programs are NOT validated against a \
             reference emulator. Run scripts/setup (qemu-user-static).",
        );
        return;
    }
    let built = match build() {
        Ok(b) => b,
        Err(e) => panic!("\n\nGUEST PROGRAMS COULD NOT BE BUILT:\n{e}\n"),
    };
    // Reviewed limitations of qemu-aarch64 7.2 (what qemu is, not a missing
    // prerequisite of the host): these cases are not run under the oracle.
    let mut skip = Vec::new();
    if let Err(why) = qemu_can_run_exec_children(built) {
        skip.push(("exec/-", why));
    }
    skip.push((
        "notify/fanotify",
        "qemu limitation (reviewed): qemu 7.2 has no fanotify_init (ENOSYS)".to_string(),
    ));
    skip.push(("robust/-", "qemu limitation (reviewed): qemu 7.2 returns ENOSYS for set_robust_list: a robust mutex whose owner dies is never marked, and the next locker hangs".to_string()));
    skip.push((
        "memx/mseal",
        "qemu limitation (reviewed): qemu 7.2 predates mseal (Linux 6.10): ENOSYS".to_string(),
    ));
    skip.push((
        "memx/-",
        "qemu limitation (reviewed): qemu 7.2 returns ENOSYS for remap_file_pages and the pkey calls".to_string(),
    ));
    skip.push((
        "uffd/-",
        "qemu limitation (reviewed): qemu 7.2 returns ENOSYS for userfaultfd".to_string(),
    ));
    skip.push((
        "clone3/-",
        "qemu limitation (reviewed): qemu 7.2 returns ENOSYS for clone3".to_string(),
    ));
    skip.push((
        "aio/-",
        "qemu limitation (reviewed): qemu 7.2 has no native AIO (io_setup returns ENOSYS)"
            .to_string(),
    ));
    skip.push(("procmisc/-", "qemu limitation (reviewed): qemu 7.2 has no execveat (ENOSYS), leaves the process named qemu-aarch64-static instead of the guest program, and raises SIGILL for the AArch32 ID registers (CRm 2 and 3) that the arm64 kernel emulates as zero".to_string()));
    skip.push(("sigextra/-", "qemu limitation (reviewed): qemu 7.2 cannot deliver SIGRTMAX (it maps guest real-time signals linearly from host SIGRTMIN+2 and runs out of host signals), then hangs".to_string()));
    let tolerate = vec![Tolerance {
        prog: "mmap",
        native: "mprotect len 0: 0",
        emulated: "mprotect len 0: -1 ENOMEM",
        why: "qemu 7.2 fails mprotect(addr, 0, …) with ENOMEM; Linux returns 0",
    }, Tolerance {
        prog: "mmap",
        native: "MAP_FIXED_NOREPLACE over mapping: MAP_FAILED EEXIST",
        emulated: "MAP_FIXED_NOREPLACE over mapping: ok",
        why: "qemu 7.2 treats MAP_FIXED_NOREPLACE as a hint (maps elsewhere) instead of failing with EEXIST",
    }, Tolerance {
        prog: "process",
        native: "posix_spawn missing program: rc=ENOENT",
        emulated: "posix_spawn missing program: rc=0",
        why: "qemu 7.2 runs clone(CLONE_VM|CLONE_VFORK) as a fork, so glibc's posix_spawn cannot see the child's exec error",
    }, Tolerance {
        prog: "process",
        native: "vfork child's write seen by the parent: 2",
        emulated: "vfork child's write seen by the parent: 0",
        why: "qemu 7.2 runs vfork as a fork: the parent does not share the child's memory",
    }, Tolerance {
        prog: "jit",
        native: "dual mapping: 11 then 22",
        emulated: "dual mapping: 11 then 11",
        why: "qemu 7.2 ignores IC IVAU in user mode and finds modified code by write-protecting the pages it translated, which misses a write through a second mapping",
    }, Tolerance {
        prog: "ipc",
        native: "remapped exec: rwxs off=0 pages=4 inode-is-id=1 name=/SYSV00000000 (deleted)",
        emulated: "remapped exec: rw-s off=0 pages=4 inode-is-id=1 name=/SYSV00000000 (deleted)",
        why: "qemu 7.2 drops SHM_EXEC from its record of the attachment",
    }, Tolerance {
        prog: "ipc",
        native: "shm: SHM_REMAP with NULL: 1 errno=22",
        emulated: "shm: SHM_REMAP with NULL: 0 errno=0",
        why: "qemu 7.2 picks an address itself for shmat(NULL, SHM_REMAP), which Linux refuses",
    }, Tolerance {
        prog: "ipc",
        native: "msg: lrpid-is-me=1 qnum=0",
        emulated: "msg: lrpid-is-me=0 qnum=0",
        why: "qemu 7.2's msqid_ds conversion loses msg_lrpid",
    }, Tolerance {
        prog: "ipc",
        native: "bad cmd IPC_64|IPC_STAT: -1 errno=22",
        emulated: "bad cmd IPC_64|IPC_STAT: -1 errno=14",
        why: "qemu 7.2 strips IPC_64 and converts the NULL buffer (EFAULT); neither 64-bit kernel accepts the bit (EINVAL)",
    }];
    let emu = Emulator {
        name: "qemu-aarch64-static",
        prefix: vec![qemu.into(), "-L".into(), sysroot().into()],
        // for the exec'd children that binfmt_misc starts without -L
        env: vec![("QEMU_LD_PREFIX".into(), sysroot().into())],
        oracle: true,
        xfail: Vec::new(),
        skip,
        tolerate,
        flavours: None,
    };
    run_suite(&emu);
}

/// The binfmt_misc matching used to decide whether qemu can run `exec`'s children:
/// qemu-user-static's entry (as Debian registers it) claims arm64 ELF executables and
/// shared objects, not x86-64 ones, and not disabled entries; a tagged entry like the
/// chroot test's claims only files carrying its tag.
#[test]
fn binfmt_entries_match_as_the_kernel_does() {
    let qemu =
        "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: POF\noffset 0\n\
                magic 7f454c460201010000000000000000000200b700\n\
                mask ffffffffffffff00fffffffffffffffffeffffff\n";
    let e = parse_binfmt_entry("qemu-aarch64", qemu).expect("parsed");
    assert_eq!(
        e.interpreter,
        Path::new("/usr/libexec/qemu-binfmt/aarch64-binfmt-P")
    );
    let mut arm64 = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    arm64.extend_from_slice(&[2, 0, 0xb7, 0]); // ET_EXEC, EM_AARCH64
    assert!(e.matches(&arm64));
    let mut dyn_ = arm64.clone();
    dyn_[16] = 3; // ET_DYN (the mask ignores bit 0 of e_type)
    assert!(e.matches(&dyn_));
    let mut x86 = arm64.clone();
    x86[18] = 0x3e; // EM_X86_64
    assert!(!e.matches(&x86));
    assert!(!e.matches(&arm64[..10]), "a short file matches nothing");
    assert!(parse_binfmt_entry("q", &qemu.replacen("enabled", "disabled", 1)).is_none());
    // The same mask covers e_ident[15], where the chroot test puts its tag.
    let tagged = qemu.replace(
        "magic 7f454c460201010000000000000000000200b700",
        "magic 7f454c4602010100000000000000002a0200b700",
    );
    let t = parse_binfmt_entry("ferrite-test", &tagged).expect("parsed");
    assert!(!t.matches(&arm64), "untagged programs are not claimed");
    let mut marked = arm64.clone();
    marked[15] = 0x2a;
    assert!(t.matches(&marked));
}
