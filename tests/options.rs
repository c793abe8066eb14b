//! The qemu-aarch64 options that change what the guest sees or how it is translated:
//! `-r` (uname release), `-seed` (deterministic AT_RANDOM and getrandom),
//! `-one-insn-per-tb`/`-singlestep`, and their `FERRITE_*`/`QEMU_*` variables. The guest
//! is `tests/options/probe.c`, built static for arm64 here. Errors for bad values and
//! the `-B`/`-R` answers are in `tests/bad_input.rs`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

const FERRITE: &str = env!("CARGO_BIN_EXE_ferrite-aarch64");

/// The arm64 probe, or `None` after a loud skip when the cross compiler is missing.
fn probe() -> Option<&'static Path> {
    static P: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let r = P.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/options/probe.c");
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("options-probe");
        let o = Command::new("aarch64-linux-gnu-gcc")
            .args(["-O2", "-static", "-Wall", "-o"])
            .arg(&out)
            .arg(&src)
            .output()
            .map_err(|e| format!("aarch64-linux-gnu-gcc: {e} (scripts/setup installs it)"))?;
        if !o.status.success() {
            panic!(
                "cannot build {}:\n{}",
                src.display(),
                String::from_utf8_lossy(&o.stderr)
            );
        }
        Ok(out)
    });
    match r {
        Ok(p) => Some(p.as_path()),
        Err(why) => {
            common::debs::skip("options", why);
            None
        }
    }
}

/// ferrite with `args`, then the probe with `mode`; a clean environment plus `env`.
fn run(args: &[&str], env: &[(&str, &str)], mode: &str) -> Output {
    let mut c = Command::new(FERRITE);
    c.args(args)
        .arg(probe().unwrap())
        .arg(mode)
        .env_clear()
        .env("PATH", "/usr/bin:/bin");
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().expect("run ferrite");
    assert!(
        o.status.success(),
        "ferrite {args:?} probe {mode} (env {env:?}) failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn line<'a>(out: &'a str, prefix: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line {prefix:?} in {out}"))
}

#[test]
fn uname_release() {
    if probe().is_none() {
        return;
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let out = stdout(&run(&[], &[], "uname"));
    assert_eq!(out, format!("release={}\nmachine=aarch64\n", host.trim()));
    let out = stdout(&run(&["-r", "9.9.9-ferrite"], &[], "uname"));
    assert_eq!(out, "release=9.9.9-ferrite\nmachine=aarch64\n");
    let long = "x".repeat(64);
    let out = stdout(&run(&["-r", &long], &[], "uname"));
    assert_eq!(out, format!("release={long}\nmachine=aarch64\n"));
    for var in ["FERRITE_UNAME", "QEMU_UNAME"] {
        let out = stdout(&run(&[], &[(var, "1.2.3")], "uname"));
        assert_eq!(out, "release=1.2.3\nmachine=aarch64\n", "{var}");
    }
    // An exec'd arm64 program runs under ferrite with the same options.
    let out = stdout(&run(&["-r", "7.7.7"], &[], "exec-uname"));
    assert_eq!(out, "release=7.7.7\nmachine=aarch64\n");
    // The command line wins over the environment.
    let out = stdout(&run(&["-r", "4.5.6"], &[("QEMU_UNAME", "1.2.3")], "uname"));
    assert!(out.starts_with("release=4.5.6\n"), "{out}");
}

#[test]
fn seed_makes_randomness_repeatable() {
    if probe().is_none() {
        return;
    }
    let a = stdout(&run(&["-seed", "42"], &[], "random"));
    let b = stdout(&run(&["-seed", "42"], &[], "random"));
    assert_eq!(a, b, "the same seed must give the same bytes");
    assert_eq!(b, stdout(&run(&["-seed", "0x2a"], &[], "random")));
    for var in ["FERRITE_RAND_SEED", "QEMU_RAND_SEED"] {
        assert_eq!(a, stdout(&run(&[], &[(var, "42")], "random")), "{var}");
    }
    let c = stdout(&run(&["-seed", "43"], &[], "random"));
    for what in ["at_random", "bytes", "getrandom 100000"] {
        assert_ne!(line(&a, what), line(&c, what), "seeds 42 and 43: {what}");
    }
    // Without a seed the host's randomness: two runs differ.
    let u1 = stdout(&run(&[], &[], "random"));
    let u2 = stdout(&run(&[], &[], "random"));
    assert_ne!(line(&u1, "at_random"), line(&u2, "at_random"));
    assert_ne!(line(&u1, "bytes"), line(&u2, "bytes"));
    // The kernel's answers stay the same with a seed: counts, EINVAL, EFAULT.
    for what in [
        "getrandom 40:",
        "RANDOM|INSECURE:",
        "unknown flag:",
        "bad buffer:",
    ] {
        assert_eq!(line(&a, what), line(&u1, what), "{what}");
    }
    assert!(line(&a, "getrandom 100000:").starts_with("getrandom 100000: 100000 "));
    // AT_RANDOM and getrandom are different bytes of the one stream.
    let at = line(&a, "at_random ").trim_start_matches("at_random ");
    assert!(!line(&a, "bytes ").contains(at), "{a}");
}

/// Each `IN:` block of a `-d in_asm` log.
fn blocks(log: &str) -> Vec<Vec<&str>> {
    let mut v: Vec<Vec<&str>> = Vec::new();
    for l in log.lines() {
        if l.starts_with("IN:") {
            v.push(Vec::new());
        } else if let Some(b) = v.last_mut() {
            if l.starts_with("0x") {
                b.push(l);
            }
        }
    }
    v
}

#[test]
fn one_instruction_per_block() {
    if probe().is_none() {
        return;
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let normal_log = dir.join("options-normal.log");
    let normal = run(
        &["-d", "in_asm", "-D", normal_log.to_str().unwrap()],
        &[],
        "work",
    );
    let normal_log = std::fs::read_to_string(&normal_log).unwrap();
    let longest = blocks(&normal_log).iter().map(Vec::len).max().unwrap_or(0);
    assert!(longest > 1, "normal blocks hold several instructions");
    for (args, env) in [
        (vec!["-one-insn-per-tb"], vec![]),
        (vec!["-singlestep"], vec![]),
        (vec![], vec![("FERRITE_ONE_INSN_PER_TB", "1")]),
        (vec![], vec![("QEMU_SINGLESTEP", "1")]),
    ] {
        let log = dir.join("options-one.log");
        let mut a = args.clone();
        a.extend(["-d", "in_asm", "-D", log.to_str().unwrap()]);
        let o = run(&a, &env, "work");
        assert_eq!(stdout(&o), stdout(&normal), "{args:?} {env:?}");
        let log = std::fs::read_to_string(&log).unwrap();
        let b = blocks(&log);
        assert!(b.len() > 100, "{args:?} {env:?}: {} blocks", b.len());
        assert!(
            b.iter().all(|b| b.len() == 1),
            "{args:?} {env:?}: a block with several instructions"
        );
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// `-jitdump` writes perf's jitdump file: a header, then one code-load record per
/// translated block with its name and host code; the blocks are those `-perfmap` lists.
#[test]
fn jitdump_records_every_block() {
    if probe().is_none() {
        return;
    }
    let mut c = Command::new(FERRITE);
    c.args(["-jitdump", "-perfmap"])
        .arg(probe().unwrap())
        .arg("work")
        .env_clear();
    let child = c.stdout(std::process::Stdio::piped()).spawn().unwrap();
    let pid = child.id();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    let dump_path = format!("/tmp/jit-{pid}.dump");
    let map_path = format!("/tmp/perf-{pid}.map");
    let dump = std::fs::read(&dump_path).expect("the jitdump file");
    let map = std::fs::read_to_string(&map_path).expect("the perf map");
    let _ = std::fs::remove_file(&dump_path);
    let _ = std::fs::remove_file(&map_path);

    assert_eq!(u32_at(&dump, 0), 0x4a69_5444, "magic");
    assert_eq!(u32_at(&dump, 4), 1, "version");
    assert_eq!(u32_at(&dump, 8), 40, "header size");
    assert_eq!(u32_at(&dump, 12), 62, "EM_X86_64");
    assert_eq!(u32_at(&dump, 20), pid, "pid");
    let mut at = 40;
    let mut records = Vec::new();
    let mut last_time = 0;
    while at < dump.len() {
        let (id, size, time) = (
            u32_at(&dump, at),
            u32_at(&dump, at + 4) as usize,
            u64_at(&dump, at + 8),
        );
        assert_eq!(id, 0, "JIT_CODE_LOAD");
        assert!(time >= last_time, "timestamps go forward");
        last_time = time;
        let body = &dump[at + 16..at + size];
        assert_eq!(u32_at(body, 0), pid);
        let (vma, addr, len, index) = (
            u64_at(body, 8),
            u64_at(body, 16),
            u64_at(body, 24) as usize,
            u64_at(body, 32),
        );
        assert_eq!(vma, addr);
        assert_eq!(index, records.len() as u64, "code indexes count up");
        let name_end = 40 + body[40..].iter().position(|&b| b == 0).unwrap();
        let name = std::str::from_utf8(&body[40..name_end])
            .unwrap()
            .to_string();
        assert_eq!(body.len() - name_end - 1, len, "code bytes follow the name");
        assert!(len > 0);
        records.push(format!("{addr:x} {len:x} {name}"));
        at += size;
    }
    assert_eq!(at, dump.len(), "no truncated record");
    let listed: Vec<&str> = map.lines().collect();
    assert!(listed.len() > 100, "{} blocks", listed.len());
    assert_eq!(records, listed, "jitdump and perf map disagree");
}

extern "C" {
    fn getuid() -> u32;
}

/// `PID` for the process id, `0xADDR` for every hexadecimal number (addresses differ
/// from run to run).
fn normalise(text: &str, pid: u32) -> String {
    let text = text.replace(&pid.to_string(), "PID");
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("0x") {
        out.push_str(&rest[..i]);
        let hex = rest[i + 2..]
            .find(|c: char| !c.is_ascii_hexdigit())
            .unwrap_or(rest.len() - i - 2);
        out.push_str(if hex > 0 { "0xADDR" } else { "0x" });
        rest = &rest[i + 2 + hex..];
    }
    out.push_str(rest);
    out
}

/// `-strace` prints qemu-aarch64's lines: the expected text below is what
/// qemu-aarch64 7.2 prints for the same program (addresses and the pid normalised). Only
/// the line of rt_sigreturn differs (qemu shows its internal return code there), so it
/// is left out.
#[test]
fn strace_prints_qemus_lines() {
    if probe().is_none() {
        return;
    }
    let run_strace = |mode: &str| {
        let child = Command::new(FERRITE)
            .arg("-strace")
            .arg(probe().unwrap())
            .arg(mode)
            .env_clear()
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let o = child.wait_with_output().unwrap();
        (pid, o)
    };
    let (pid, o) = run_strace("strace");
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(stdout(&o), "hi\n");
    let log = String::from_utf8_lossy(&o.stderr);
    let start = log
        .find(&format!("{pid} openat(AT_FDCWD,\"/nonexistent/x\""))
        .unwrap_or_else(|| panic!("no openat line: {log}"));
    let got: Vec<String> = normalise(&log[start..], pid)
        .lines()
        .filter(|l| !l.starts_with("PID rt_sigreturn("))
        .map(String::from)
        .collect();
    // SAFETY: getuid cannot fail.
    let uid = unsafe { getuid() };
    let want = format!(
        "\
PID openat(AT_FDCWD,\"/nonexistent/x\",O_RDONLY|O_CLOEXEC) = -1 errno=2 (No such file or directory)
PID openat(-100,\"/nonexistent/y\",O_WRONLY|O_APPEND|O_CREAT|O_TRUNC,0644) = -1 errno=2 (No such file or directory)
PID close(-1) = -1 errno=9 (Bad file descriptor)
PID faccessat(AT_FDCWD,\"/\",F_OK,0) = 0
PID mmap(NULL,4096,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0) = 0xADDR
PID munmap(0xADDR,4096) = 0
PID mprotect(NULL,0,PROT_NONE) = 0
PID rt_sigaction(SIGUSR1,0xADDR,NULL) = 0
PID getpid() = PID
PID kill(PID,SIGUSR1) = 0
--- SIGUSR1 {{si_signo=SIGUSR1, si_code=SI_USER, si_pid=PID, si_uid={uid}}} ---
PID execve(\"/nonexistent/z\",{{\"z\",NULL}}) = -1 errno=2 (No such file or directory)
PID write(1,0xADDR,3) = 3
PID exit_group(3)"
    );
    assert_eq!(got.join("\n"), want, "full log:\n{log}");

    let (_, o) = run_strace("segv");
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(
        log.contains(
            "\n--- SIGSEGV {si_signo=SIGSEGV, si_code=1, si_addr=0x0000000000000008} ---\n"
        ),
        "{log}"
    );
    // A successful exec: its line is whole, and the new program's lines follow.
    let (pid, o) = run_strace("exec-uname");
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(
        log.contains(&format!(
            "{pid} execve(\"/proc/self/exe\",{{\"probe\",\"uname\",NULL}})\n{pid} brk(NULL) = 0x"
        )),
        "{log}"
    );
    assert!(stdout(&o).starts_with("release="), "{log}");
    // Earlier calls of the C library's start-up, in the same form.
    assert!(log.contains(&format!("{pid} brk(NULL) = 0x")), "{log}");
}

/// `-d page` prints the guest memory map after loading as qemu-aarch64 does: the
/// "page layout changed following binary load" table (`start-end size prot`, 16 hex
/// digits each) and the layout fields. For the static probe, the executable's own rows
/// and its code/data/entry fields must equal qemu's (the stack is elsewhere in each).
#[test]
fn d_page_prints_qemus_layout() {
    let Some(probe) = probe() else {
        return;
    };
    let ours = Command::new(FERRITE)
        .args(["-d", "page"])
        .arg(probe)
        .arg("uname")
        .output()
        .unwrap();
    assert!(ours.status.success());
    let ours = String::from_utf8_lossy(&ours.stderr).into_owned();
    let Ok(qemu) = Command::new("qemu-aarch64-static")
        .args(["-d", "page"])
        .arg(probe)
        .arg("uname")
        .output()
    else {
        common::skip_part(
            "d_page_prints_qemus_layout",
            "qemu-aarch64-static not found",
        );
        return;
    };
    let qemu = String::from_utf8_lossy(&qemu.stderr).into_owned();
    // qemu prints the table again after every mmap; the first one after loading counts.
    let after_load = |text: &str| -> Vec<String> {
        let start = text
            .find("page layout changed following binary load\n")
            .unwrap_or_else(|| panic!("no binary-load table in:\n{text}"));
        text[start..]
            .lines()
            .skip(1)
            .take_while(|l| !l.starts_with("page layout changed"))
            .map(str::to_string)
            .collect()
    };
    let (o, q) = (after_load(&ours), after_load(&qemu));
    assert_eq!(
        o[0],
        "start            end              size             prot"
    );
    assert_eq!(o[0], q[0]);
    let row = |l: &str| {
        let b = l.as_bytes();
        l.len() == 54
            && b[16] == b'-'
            && b[33] == b' '
            && b[50] == b' '
            && l[51..].chars().all(|c| "rwx-".contains(c))
    };
    let rows: Vec<&String> = o[1..].iter().take_while(|l| row(l)).collect();
    assert!(rows.len() >= 2, "rows:\n{ours}");
    // The executable's code segment: the same row in both.
    let code_row = rows[0];
    assert!(code_row.ends_with(" r-x"), "{ours}");
    assert!(
        q.contains(code_row),
        "qemu has no row {code_row:?}:\n{qemu}"
    );
    let field = |lines: &[String], name: &str| -> String {
        lines
            .iter()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no {name} line"))
            .clone()
    };
    for name in ["end_code", "start_code", "start_data", "end_data", "entry"] {
        assert_eq!(field(&o, name), field(&q, name), "{name}");
    }
    for name in [
        "start_brk",
        "start_stack",
        "brk",
        "argv_start",
        "env_start",
        "auxv_start",
    ] {
        let l = field(&o, name);
        assert_eq!(l.len(), 12 + 18, "{l:?}");
        assert!(l[12..].starts_with("0x"), "{l:?}");
    }
}

/// `-dfilter` restricts `-d in_asm` (and `op`, `out_asm`) to blocks starting in its
/// ranges: with the 4 bytes at the entry point, exactly the entry block is listed.
#[test]
fn dfilter_limits_block_logs() {
    let Some(probe) = probe() else {
        return;
    };
    let elf = std::fs::read(probe).unwrap();
    let entry = u64::from_le_bytes(elf[24..32].try_into().unwrap());
    let blocks = |args: &[&str]| -> Vec<String> {
        let o = Command::new(FERRITE)
            .args(args)
            .arg(probe)
            .arg("uname")
            .output()
            .unwrap();
        assert!(o.status.success());
        String::from_utf8_lossy(&o.stderr)
            .lines()
            .filter(|l| l.starts_with("IN: ") || l.starts_with("OUT: "))
            .map(str::to_string)
            .collect()
    };
    let all = blocks(&["-d", "in_asm"]);
    assert!(all.len() > 10, "{all:?}");
    for spec in [
        format!("{entry:#x}+4"),
        format!("{:#x}-4", entry + 3),
        format!("1..2,{entry:#x}..{:#x}", entry + 3),
    ] {
        let some = blocks(&["-d", "in_asm,out_asm", "-dfilter", &spec]);
        assert_eq!(some.len(), 2, "-dfilter {spec}: {some:?}");
        assert_eq!(some[0], format!("IN: {entry:#x}"), "-dfilter {spec}");
        assert!(some[1].starts_with("OUT: "), "-dfilter {spec}");
    }
}
