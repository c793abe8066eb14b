//! Seeded mutation fuzzing of ferrite's inputs (runs in the default suite, well under
//! a minute in release mode):
//!
//! - **ELF loader**: valid arm64 programs (static, static-PIE and dynamic `hello`
//!   cross-compiled from `tests/guest/hello.c`, and tiny hand-made ELF files) are
//!   mutated — byte flips in and beyond the headers, truncations, header and program
//!   header fields set to extreme values, a mangled `PT_INTERP` — and each result is
//!   run under `ferrite-aarch64` with a time limit. Every run must end with either a
//!   clean one-line `ferrite-aarch64: …` error and a non-zero exit, or a guest-level
//!   outcome: an exit status, or death by a signal that ferrite reported with its
//!   `uncaught target signal N` line. Never a Rust panic, a host crash without that
//!   report, or a hang (a run that times out is re-run under `qemu-aarch64-static`;
//!   it is accepted only if qemu hangs too, i.e. the guest code itself loops).
//!   Failing inputs are saved under `target/tmp/fuzz-inputs-failures/`.
//! - **Decoder and lifters**: a million random 32-bit words (half of them drawn from
//!   decode-table rows, so most lifters see valid encodings) go through
//!   `decode::decode`, `decode::disassemble` and `lift::translate`; none may panic.
//!
//! `FUZZ_SEED` and `FUZZ_ELF_RUNS` / `FUZZ_WORDS` override the seed and the sizes.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ferrite::arm64::decode;
use ferrite::arm64::lift::{self, CpuFeatures};

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Rng {
        let mut r = Rng(seed ^ stream.wrapping_mul(0xd6e8_feb8_6659_fd93));
        r.next();
        r
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        ((self.next() as u128 * n as u128) >> 64) as u64
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn tmp() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fuzz-inputs");
    std::fs::create_dir_all(&d).unwrap();
    d
}

// ---------------------------------------------------------------- seed programs

/// A program to mutate and the ferrite options to run it with.
struct SeedProg {
    name: &'static str,
    bytes: Vec<u8>,
    args: Vec<String>,
}

/// Cross-compile `tests/guest/hello.c` with `flags` (cached by file name).
fn cross_hello(name: &str, flags: &[&str]) -> Vec<u8> {
    let out = tmp().join(name);
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/guest/hello.c");
    let fresh = |o: &Path| {
        let (Ok(a), Ok(b)) = (std::fs::metadata(o), std::fs::metadata(&src)) else {
            return false;
        };
        a.modified().ok() >= b.modified().ok()
    };
    if !fresh(&out) {
        let st = Command::new("aarch64-linux-gnu-gcc")
            .args(flags)
            .arg("-O1")
            .arg("-o")
            .arg(&out)
            .arg(&src)
            .status()
            .unwrap_or_else(|e| {
                panic!("aarch64-linux-gnu-gcc: {e}: run scripts/setup (gcc-aarch64-linux-gnu)")
            });
        assert!(st.success(), "aarch64-linux-gnu-gcc {flags:?} failed");
    }
    std::fs::read(&out).unwrap()
}

/// A hand-made ELF64 arm64 file: `code` in an R+X PT_LOAD, optionally a RW PT_LOAD
/// with `data` followed by `bss` zero bytes, and optionally a PT_INTERP.
fn tiny_elf(
    et_dyn: bool,
    code: &[u32],
    data: Option<(&[u8], u64)>,
    interp: Option<&str>,
) -> Vec<u8> {
    let base = if et_dyn { 0 } else { 0x40_0000u64 };
    let nph = 1 + data.is_some() as u64 + interp.is_some() as u64;
    let interp_off = 64 + 56 * nph;
    let interp_bytes: Vec<u8> = interp
        .map(|s| s.bytes().chain([0]).collect())
        .unwrap_or_default();
    let code_off = (interp_off + interp_bytes.len() as u64 + 15) & !15;
    let text_end = code_off + 4 * code.len() as u64;
    let data_off = (text_end + 0xfff) & !0xfff;
    let data_vaddr = base + 0x1_0000 + data_off;
    let mut b = Vec::new();
    b.extend_from_slice(b"\x7fELF\x02\x01\x01\x00");
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&(if et_dyn { 3u16 } else { 2 }).to_le_bytes());
    b.extend_from_slice(&183u16.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&(base + code_off).to_le_bytes());
    b.extend_from_slice(&64u64.to_le_bytes());
    b.extend_from_slice(&0u64.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    for v in [64u16, 56, nph as u16, 64, 0, 0] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    let mut ph = |ty: u32, fl: u32, off: u64, va: u64, fsz: u64, msz: u64, al: u64| {
        for v in [ty, fl] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        for v in [off, va, va, fsz, msz, al] {
            b.extend_from_slice(&v.to_le_bytes());
        }
    };
    if interp.is_some() {
        let n = interp_bytes.len() as u64;
        ph(3, 4, interp_off, base + interp_off, n, n, 1);
    }
    ph(1, 5, 0, base, text_end, text_end, 0x1000);
    if let Some((d, bss)) = data {
        let n = d.len() as u64;
        ph(1, 6, data_off, data_vaddr, n, n + bss, 0x1000);
    }
    b.extend_from_slice(&interp_bytes);
    b.resize(code_off as usize, 0);
    for w in code {
        b.extend_from_slice(&w.to_le_bytes());
    }
    if let Some((d, _)) = data {
        b.resize(data_off as usize, 0);
        b.extend_from_slice(d);
    }
    b
}

/// `mov x0, #42; mov x8, #93; svc #0` — exit(42).
const EXIT42: [u32; 3] = [0xd280_0540, 0xd280_0ba8, 0xd400_0001];
/// write(1, msg, 3) with the address in x1 set by ADR, then exit(0).
const WRITE_EXIT: [u32; 8] = [
    0xd280_0020, // mov x0, #1
    0x1000_00e1, // adr x1, .+28 (the "ok\n" bytes after the code)
    0xd280_0062, // mov x2, #3
    0xd280_0808, // mov x8, #64
    0xd400_0001, // svc #0
    0xd280_0000, // mov x0, #0
    0xd280_0ba8, // mov x8, #93
    0xd400_0001, // svc #0
];

fn seeds() -> Vec<SeedProg> {
    let prefix = vec!["-L".to_string(), "/usr/aarch64-linux-gnu".to_string()];
    let mut write_exit = WRITE_EXIT.to_vec();
    write_exit.push(u32::from_le_bytes(*b"ok\n\0"));
    vec![
        SeedProg {
            name: "hello-static",
            bytes: cross_hello("hello-static", &["-static"]),
            args: vec![],
        },
        SeedProg {
            name: "hello-static-pie",
            bytes: cross_hello("hello-static-pie", &["-static-pie"]),
            args: vec![],
        },
        SeedProg {
            name: "hello-dynamic",
            bytes: cross_hello("hello-dynamic", &[]),
            args: prefix.clone(),
        },
        SeedProg {
            name: "tiny-exit42",
            bytes: tiny_elf(false, &EXIT42, None, None),
            args: vec![],
        },
        SeedProg {
            name: "tiny-write-data-bss",
            bytes: tiny_elf(
                false,
                &write_exit,
                Some((&[1, 2, 3, 4, 5, 6, 7, 8], 0x3000)),
                None,
            ),
            args: vec![],
        },
        SeedProg {
            name: "tiny-pie",
            bytes: tiny_elf(true, &write_exit, None, None),
            args: vec![],
        },
        SeedProg {
            name: "tiny-interp",
            bytes: tiny_elf(false, &EXIT42, None, Some("/lib/ld-linux-aarch64.so.1")),
            args: prefix,
        },
    ]
}

// ---------------------------------------------------------------- mutation

const EXTREMES: [u64; 22] = [
    0,
    1,
    2,
    0x7f,
    0x80,
    0xff,
    0xfff,
    0x1000,
    0x1001,
    0xffff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x7fff_ffff_f000,
    0x7fff_ffff_ffff,
    0x8000_0000_0000,
    0xffff_8000_0000_0000,
    0xffff_ffff_ffff_f000,
    i64::MAX as u64,
    i64::MIN as u64,
    u64::MAX,
];

/// (offset, size) of the ELF header fields.
const EHDR_FIELDS: [(usize, usize); 19] = [
    (4, 1),
    (5, 1),
    (6, 1),
    (7, 1),
    (8, 1),
    (16, 2),
    (18, 2),
    (20, 4),
    (24, 8),
    (32, 8),
    (40, 8),
    (48, 4),
    (52, 2),
    (54, 2),
    (56, 2),
    (58, 2),
    (60, 2),
    (62, 2),
    (0, 1),
];

/// (offset, size) of the program header fields.
const PHDR_FIELDS: [(usize, usize); 8] = [
    (0, 4),
    (4, 4),
    (8, 8),
    (16, 8),
    (24, 8),
    (32, 8),
    (40, 8),
    (48, 8),
];

/// Interesting p_type values.
const PTYPES: [u64; 11] = [
    0,
    1,
    2,
    3,
    4,
    6,
    7,
    0x6474_e550,
    0x6474_e551,
    0x6474_e553,
    0x7000_0000,
];

fn rd(b: &[u8], off: usize, size: usize) -> Option<u64> {
    let s = b.get(off..off + size)?;
    let mut v = [0u8; 8];
    v[..size].copy_from_slice(s);
    Some(u64::from_le_bytes(v))
}

fn wr(b: &mut [u8], off: usize, size: usize, v: u64) {
    if let Some(s) = b.get_mut(off..off + size) {
        s.copy_from_slice(&v.to_le_bytes()[..size]);
    }
}

/// An extreme, or a value near the field's current one.
fn extreme(rng: &mut Rng, cur: u64) -> u64 {
    match rng.below(4) {
        0 => cur.wrapping_add(rng.below(64)).wrapping_sub(32),
        1 => cur ^ (1 << rng.below(64)),
        _ => *rng.pick(&EXTREMES),
    }
}

/// The program header table as (offset of each entry).
fn phdrs(b: &[u8]) -> Vec<usize> {
    let (Some(off), Some(n), Some(sz)) = (rd(b, 32, 8), rd(b, 56, 2), rd(b, 54, 2)) else {
        return vec![];
    };
    (0..n.min(64))
        .filter_map(|i| {
            let o = (off as usize).checked_add(i as usize * sz.max(1) as usize)?;
            (o.checked_add(56)? <= b.len()).then_some(o)
        })
        .collect()
}

/// One random mutation of `b`; returns a description.
fn mutate_once(rng: &mut Rng, b: &mut Vec<u8>) -> String {
    let ph = phdrs(b);
    let hdr_end = ph.last().map(|&o| o + 56).unwrap_or(64).min(b.len());
    match rng.below(10) {
        0 | 1 => {
            // byte flips in the headers
            let n = 1 + rng.below(6);
            for _ in 0..n {
                let i = rng.below(hdr_end.max(1) as u64) as usize;
                if let Some(x) = b.get_mut(i) {
                    *x ^= 1 << rng.below(8);
                }
            }
            format!("{n} bit flips in the headers")
        }
        2 => {
            // random bytes anywhere in the first 16 KiB (headers, .interp, notes, code)
            let n = 1 + rng.below(16);
            let lim = b.len().min(0x4000) as u64;
            for _ in 0..n {
                let i = rng.below(lim.max(1)) as usize;
                if let Some(x) = b.get_mut(i) {
                    *x = rng.next() as u8;
                }
            }
            format!("{n} random bytes in the first 16 KiB")
        }
        3 => {
            let (off, size) = *rng.pick(&EHDR_FIELDS);
            let cur = rd(b, off, size).unwrap_or(0);
            let v = extreme(rng, cur);
            wr(b, off, size, v);
            format!("ehdr[{off}..+{size}] = {v:#x}")
        }
        4 | 5 if !ph.is_empty() => {
            let p = *rng.pick(&ph);
            let (off, size) = *rng.pick(&PHDR_FIELDS);
            let cur = rd(b, p + off, size).unwrap_or(0);
            let v = if off == 0 && rng.below(2) == 0 {
                *rng.pick(&PTYPES)
            } else {
                extreme(rng, cur)
            };
            wr(b, p + off, size, v);
            format!("phdr@{p:#x}[{off}..+{size}] = {v:#x}")
        }
        6 => {
            let len = if rng.below(2) == 0 {
                rng.below(hdr_end as u64 + 64)
            } else {
                rng.below(b.len() as u64)
            } as usize;
            b.truncate(len);
            format!("truncated to {len} bytes")
        }
        7 => {
            // PT_INTERP contents
            let interp = ph
                .iter()
                .find(|&&p| rd(b, p, 4) == Some(3))
                .and_then(|&p| Some((rd(b, p + 8, 8)? as usize, rd(b, p + 32, 8)? as usize)));
            match interp {
                Some((off, n)) if off < b.len() => {
                    let end = off.saturating_add(n).min(b.len());
                    match rng.below(3) {
                        0 => b[off..end].iter_mut().for_each(|x| *x = b'A'), // no NUL
                        1 => {
                            let i = off + rng.below((end - off).max(1) as u64) as usize;
                            if i < end {
                                b[i] = 0;
                            }
                        }
                        _ => b[off..end].iter_mut().for_each(|x| *x = rng.next() as u8),
                    }
                    "PT_INTERP contents mangled".into()
                }
                _ => mutate_once(rng, b),
            }
        }
        8 => {
            // a whole program header replaced by random fields / duplicated
            if ph.len() >= 2 {
                let (a, c) = (*rng.pick(&ph), *rng.pick(&ph));
                let src: Vec<u8> = b[c..c + 56].to_vec();
                b[a..a + 56].copy_from_slice(&src);
                format!("phdr@{c:#x} copied over phdr@{a:#x}")
            } else {
                mutate_once(rng, b)
            }
        }
        _ => {
            // bit flips anywhere
            let n = 1 + rng.below(32);
            for _ in 0..n {
                let i = rng.below(b.len().max(1) as u64) as usize;
                if let Some(x) = b.get_mut(i) {
                    *x ^= 1 << rng.below(8);
                }
            }
            format!("{n} bit flips anywhere")
        }
    }
}

// ---------------------------------------------------------------- running

#[derive(Debug, PartialEq)]
enum End {
    Code(i32),
    Signal(i32),
    Timeout,
}

struct Run {
    end: End,
    stderr: String,
}

fn run(prog: &Path, args: &[String], file: &Path, timeout: Duration) -> Run {
    // ferrite's report of a core-dumping guest signal tells it from a crash of its own.
    let report: &[&str] = if prog.ends_with("ferrite-aarch64") {
        &["-d", "signal"]
    } else {
        &[]
    };
    let mut child = Command::new(prog)
        .args(report)
        .args(args)
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .env_remove("FERRITE_LOG")
        .env_remove("QEMU_LOG")
        .spawn()
        .expect("spawn");
    let mut se = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = se.read_to_end(&mut v);
        v
    });
    let t0 = Instant::now();
    let end = loop {
        match child.try_wait().expect("wait") {
            Some(st) => {
                break match (st.code(), st.signal()) {
                    (Some(c), _) => End::Code(c),
                    (_, Some(s)) => End::Signal(s),
                    _ => End::Code(-1),
                }
            }
            None if t0.elapsed() > timeout => {
                // Our own child, by its handle.
                let _ = child.kill();
                let _ = child.wait();
                break End::Timeout;
            }
            None => std::thread::sleep(Duration::from_millis(1)),
        }
    };
    let stderr = String::from_utf8_lossy(&reader.join().unwrap_or_default()).into_owned();
    Run { end, stderr }
}

/// Is this outcome acceptable? `Err` says why not.
fn judge(r: &Run) -> Result<(), String> {
    let err = &r.stderr;
    if err.contains("panicked") || err.contains("RUST_BACKTRACE") {
        return Err("Rust panic".into());
    }
    let own: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("ferrite-aarch64:"))
        .collect();
    match r.end {
        End::Timeout => Err("hang".into()),
        End::Code(101) => Err("exit 101 (panic)".into()),
        End::Signal(s) => {
            // As qemu, ferrite reports only the signals whose default action dumps core.
            let core = [3, 4, 5, 6, 7, 8, 11, 24, 25, 31].contains(&s);
            if !core || err.contains(&format!("uncaught target signal {s} ")) {
                Ok(())
            } else {
                Err(format!(
                    "killed by host signal {s} without ferrite's `uncaught target signal` report"
                ))
            }
        }
        End::Code(c) => {
            if own.is_empty() {
                return Ok(()); // the guest's own exit status
            }
            let last = err.trim_end().lines().last().unwrap_or("");
            if c == 0 {
                Err("error message but exit status 0".into())
            } else if own.len() != 1 || last != own[0] {
                Err("ferrite's error is not one final line".into())
            } else if ["Os {", "kind:", "Custom {", "Error {", "backtrace"]
                .iter()
                .any(|p| last.contains(p))
            {
                Err("error line is a debug dump, not a message".into())
            } else {
                Ok(())
            }
        }
    }
}

#[test]
fn mutated_elf_files_fail_cleanly() {
    let ferrite = PathBuf::from(env!("CARGO_BIN_EXE_ferrite-aarch64"));
    let qemu = which("qemu-aarch64-static");
    let seed = env_num("FUZZ_SEED", 0xe1f_f022);
    let runs = env_num("FUZZ_ELF_RUNS", 2000) as usize;
    // hello runs in ~15 ms; a run this long is a hang (or a guest loop).
    let limit = Duration::from_secs(3);
    let seeds = seeds();
    // The unmutated seeds must run (so that mutations start from working programs).
    let dir = tmp();
    for s in &seeds {
        let p = dir.join(format!("seed-{}", s.name));
        std::fs::write(&p, &s.bytes).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        let r = run(&ferrite, &s.args, &p, Duration::from_secs(20));
        // (glibc's ld.so crashes on a program without PT_DYNAMIC, under qemu too.)
        let interp_only = s.name == "tiny-interp" && judge(&r).is_ok();
        assert!(
            interp_only || matches!(r.end, End::Code(0) | End::Code(42)),
            "seed {} does not run: {:?} {}",
            s.name,
            r.end,
            r.stderr
        );
    }
    let fail_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fuzz-inputs-failures");
    let _ = std::fs::remove_dir_all(&fail_dir);
    let failures = Mutex::new(Vec::<String>::new());
    let counts = Mutex::new(std::collections::BTreeMap::<String, usize>::new());
    let next = AtomicUsize::new(0);
    let t0 = Instant::now();
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(2, 8);
    std::thread::scope(|sc| {
        for w in 0..workers {
            let (seeds, ferrite, qemu, dir, fail_dir) = (&seeds, &ferrite, &qemu, &dir, &fail_dir);
            let (failures, counts, next) = (&failures, &counts, &next);
            sc.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= runs {
                    break;
                }
                let mut rng = Rng::new(seed, i as u64);
                let s = &seeds[i % seeds.len()];
                let mut b = s.bytes.clone();
                let mut what = Vec::new();
                for _ in 0..1 + rng.below(3) {
                    what.push(mutate_once(&mut rng, &mut b));
                }
                let p = dir.join(format!("w{w}.elf"));
                std::fs::write(&p, &b).unwrap();
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
                let mut r = run(ferrite, &s.args, &p, limit);
                let mut verdict = judge(&r);
                if r.end == End::Timeout {
                    // Accept a hang only if the guest code itself loops (qemu hangs too);
                    // if qemu finishes, give ferrite a second, longer chance first.
                    verdict = match qemu {
                        Some(q) => {
                            let qr = run(q, &s.args, &p, limit);
                            if qr.end == End::Timeout {
                                Ok(())
                            } else {
                                r = run(ferrite, &s.args, &p, 8 * limit);
                                match r.end {
                                    End::Timeout => Err(format!("hang (qemu: {:?})", qr.end)),
                                    _ => judge(&r),
                                }
                            }
                        }
                        None => Err("hang (qemu-aarch64-static missing: run scripts/setup)".into()),
                    };
                }
                let kind = match (&r.end, &verdict) {
                    (_, Err(_)) => "FAIL".to_string(),
                    (End::Code(c), _) if r.stderr.contains("ferrite-aarch64:") => {
                        format!("error exit {c}")
                    }
                    (End::Code(_), _) => "guest exit".to_string(),
                    (End::Signal(s), _) => format!("guest signal {s}"),
                    (End::Timeout, _) => "guest loops (qemu too)".to_string(),
                };
                *counts.lock().unwrap().entry(kind).or_insert(0) += 1;
                if let Err(why) = verdict {
                    std::fs::create_dir_all(fail_dir).unwrap();
                    let keep = fail_dir.join(format!("{}-{i}.elf", s.name));
                    let _ = std::fs::copy(&p, &keep);
                    failures.lock().unwrap().push(format!(
                        "{why}: {} (mutation {i} of seed {seed:#x}: {}; args {:?}); {:?}; stderr: {}",
                        keep.display(),
                        what.join(", "),
                        s.args,
                        r.end,
                        r.stderr.trim_end().lines().rev().take(3).collect::<Vec<_>>().join(" | ")
                    ));
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    println!(
        "{runs} mutated ELF runs in {:.1}s: {:?}",
        t0.elapsed().as_secs_f64(),
        counts.into_inner().unwrap()
    );
    assert!(
        failures.is_empty(),
        "{} of {runs} mutated inputs were not handled cleanly:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

// ---------------------------------------------------------------- decoder

#[test]
fn random_words_decode_disassemble_and_lift_without_panic() {
    let n = env_num("FUZZ_WORDS", 1_000_000);
    let seed = env_num("FUZZ_SEED", 0xe1f_f022);
    let table = decode::table();
    let features = [
        CpuFeatures::default(),
        CpuFeatures {
            lse: false,
            crc32: false,
            rcpc: false,
            cpuid: false,
            midr: 0x410f_d034,
        },
    ];
    let mut rng = Rng::new(seed, 0xdec0de);
    let mut defined = 0u64;
    let mut failures = Vec::new();
    for i in 0..n {
        let w = if i % 2 == 0 {
            rng.next() as u32
        } else {
            let e = rng.pick(table);
            e.value | (rng.next() as u32 & !e.mask)
        };
        let pc = (rng.next() & 0x0000_7fff_ffff_fffc) | 0x1000;
        let f = &features[(i % 7 == 0) as usize];
        let r = std::panic::catch_unwind(|| {
            let row = decode::decode(w);
            let text = decode::disassemble(w, pc);
            assert!(!text.is_empty());
            let mut undefined = false;
            let block = lift::translate(
                pc,
                Default::default(),
                f,
                &mut |a| (a == pc).then_some(w),
                &mut |_, _| undefined = true,
            );
            assert!(
                block.guest_len <= 4,
                "one word became {} bytes",
                block.guest_len
            );
            row.is_some() && !undefined
        });
        match r {
            Ok(true) => defined += 1,
            Ok(false) => {}
            Err(e) => {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!(
                    "{w:#010x} at pc {pc:#x} [{}]: {msg}",
                    decode::decode(w).map(|e| e.name).unwrap_or("no row")
                ));
                if failures.len() >= 50 {
                    break;
                }
            }
        }
    }
    println!("{n} words, {defined} decoded and lifted");
    assert!(
        failures.is_empty(),
        "decode/disassemble/translate panicked on {} word(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
