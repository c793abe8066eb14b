//! Diagnostic logging in QEMU's style: `-d item[,item]` selects what is logged and
//! `-D file` where it goes (stderr by default). Items are process-wide flags, set once
//! at start-up and read with a relaxed atomic load on every check.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::sync::Mutex;

/// One `-d` item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Item {
    /// Guest code of each translated block, disassembled.
    InAsm = 1,
    /// Host code of each translated block.
    OutAsm = 2,
    /// The IR of each block after optimisation.
    Op = 4,
    /// Unimplemented instructions and syscalls (each reported once).
    Unimp = 8,
    /// Every block as it is entered from the dispatcher (disables chaining).
    Exec = 16,
    /// Syscalls with arguments and results.
    Strace = 32,
    /// The guest memory map after loading, in qemu-aarch64's layout.
    Page = 64,
    /// Do not chain blocks.
    NoChain = 128,
    /// Describe each translated block in `/tmp/perf-PID.map` (`-perfmap`).
    PerfMap = 256,
    /// A summary of the translator's work when the process ends.
    Stats = 512,
    /// Record each translated block in `/tmp/jit-PID.dump` (`-jitdump`).
    JitDump = 1024,
    /// Send every guest memory access through the memory lowering's slow path (a test
    /// of the slow-path stubs; not part of `all`).
    SlowMem = 2048,
    /// Report a guest killed by a signal whose default action dumps core, with its PC
    /// (always on when ferrite's stderr is a terminal; see `linux::fault::report_uncaught`).
    Signal = 4096,
}

/// Names and help for `-d help`.
pub const ITEMS: &[(&str, Item, &str)] = &[
    (
        "in_asm",
        Item::InAsm,
        "show guest code of each translated block",
    ),
    (
        "out_asm",
        Item::OutAsm,
        "show host code of each translated block",
    ),
    ("op", Item::Op, "show the IR of each translated block"),
    (
        "unimp",
        Item::Unimp,
        "report unimplemented instructions and syscalls",
    ),
    (
        "exec",
        Item::Exec,
        "show each block as it is entered (disables chaining)",
    ),
    ("strace", Item::Strace, "log system calls and their results"),
    ("page", Item::Page, "show the guest memory map"),
    ("nochain", Item::NoChain, "do not chain translated blocks"),
    (
        "perfmap",
        Item::PerfMap,
        "write /tmp/perf-PID.map for perf (same as -perfmap)",
    ),
    (
        "stats",
        Item::Stats,
        "at exit: blocks translated, bytes emitted, translation time, exits by reason",
    ),
    (
        "jitdump",
        Item::JitDump,
        "write /tmp/jit-PID.dump for perf inject (same as -jitdump)",
    ),
    (
        "signal",
        Item::Signal,
        "report a guest killed by a core-dumping signal (default when stderr is a terminal)",
    ),
    (
        "slowmem",
        Item::SlowMem,
        "send every guest memory access through the slow path (testing; not in all)",
    ),
];

static FLAGS: AtomicU32 = AtomicU32::new(0);
static SINK: Mutex<Option<File>> = Mutex::new(None);

/// Parse a `-d` argument (`a,b,c`). Returns the unknown item on error.
pub fn parse_items(s: &str) -> Result<u32, String> {
    let mut bits = 0;
    for name in s.split(',').filter(|n| !n.is_empty()) {
        if name == "all" {
            bits |= ITEMS
                .iter()
                .filter(|(_, i, _)| *i != Item::SlowMem)
                .fold(0, |a, (_, i, _)| a | *i as u32);
            continue;
        }
        match ITEMS.iter().find(|(n, _, _)| *n == name) {
            Some((_, item, _)) => bits |= *item as u32,
            None => return Err(name.to_string()),
        }
    }
    Ok(bits)
}

/// `-dfilter`: the guest address ranges (inclusive) that `in_asm`, `op` and `out_asm`
/// log blocks of; unset, every block.
static DFILTER: std::sync::RwLock<Option<Vec<(u64, u64)>>> = std::sync::RwLock::new(None);

/// Parse a `-dfilter` argument in qemu's syntax: comma-separated ranges, each
/// `start+size` (size bytes from start), `start-size` (size bytes ending at start) or
/// `start..end` (inclusive); numbers decimal or `0x` hexadecimal.
pub fn parse_dfilter(spec: &str) -> Result<Vec<(u64, u64)>, String> {
    let num = |t: &str| -> Result<u64, String> {
        let t = t.trim();
        let r = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            Some(h) => u64::from_str_radix(h, 16),
            None => t.parse(),
        };
        r.map_err(|_| format!("-dfilter: '{t}' is not a number"))
    };
    let mut out = Vec::new();
    for r in spec.split(',') {
        let range = if let Some((a, b)) = r.split_once("..") {
            (num(a)?, num(b)?)
        } else if let Some(i) = r.get(1..).and_then(|t| t.find(['+', '-'])).map(|i| i + 1) {
            let (a, len) = (num(&r[..i])?, num(&r[i + 1..])?);
            if len == 0 {
                return Err(format!("-dfilter: empty range '{r}'"));
            }
            if r.as_bytes()[i] == b'+' {
                (a, a.saturating_add(len - 1))
            } else {
                (a.saturating_sub(len - 1), a)
            }
        } else {
            return Err(format!(
                "-dfilter: bad range '{r}' (expected start+size, start-size or start..end)"
            ));
        };
        if range.0 > range.1 {
            return Err(format!("-dfilter: range '{r}' ends before it starts"));
        }
        out.push(range);
    }
    Ok(out)
}

/// Set the `-dfilter` ranges (at start-up; the command line's replace the variable's).
pub fn set_dfilter(ranges: Vec<(u64, u64)>) {
    *DFILTER.write().unwrap_or_else(|e| e.into_inner()) = Some(ranges);
}

/// Whether a block at guest `pc` is to be logged under `in_asm`, `op`, `out_asm`.
pub fn in_dfilter(pc: u64) -> bool {
    DFILTER
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .is_none_or(|r| r.iter().any(|&(a, b)| a <= pc && pc <= b))
}

pub fn enable(bits: u32) {
    FLAGS.fetch_or(bits, Ordering::Relaxed);
}

#[inline]
pub fn enabled(item: Item) -> bool {
    FLAGS.load(Ordering::Relaxed) & item as u32 != 0
}

/// The enabled items as a `-d` argument (for re-executed children).
pub fn enabled_names() -> String {
    let bits = FLAGS.load(Ordering::Relaxed);
    ITEMS
        .iter()
        .filter(|(_, i, _)| bits & *i as u32 != 0)
        .map(|(n, _, _)| *n)
        .collect::<Vec<_>>()
        .join(",")
}

/// Send log output to `path` instead of stderr.
pub fn set_file(path: &str) -> std::io::Result<()> {
    let f = move_high(File::create(path)?);
    FILE_FD.store(f.as_raw_fd(), Ordering::Relaxed);
    *SINK.lock().unwrap_or_else(|e| e.into_inner()) = Some(f);
    Ok(())
}

/// The descriptor of the `-D` log file, if one is open: ferrite's only descriptor while
/// the guest runs. The syscall layer hides it from the guest (`close`/`dup3`/`fcntl`…
/// answer `EBADF`).
pub fn file_fd() -> Option<i32> {
    let fd = FILE_FD.load(Ordering::Relaxed);
    (fd >= 0).then_some(fd)
}

static FILE_FD: AtomicI32 = AtomicI32::new(-1);

/// Move the log file to the top of the guest's descriptor range (at most 1023), out of
/// the way of numbers guests pick themselves (`dup2(fd, 3)`, `exec 3>file`).
fn move_high(f: File) -> File {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid rlimit to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return f;
    }
    let target = lim.rlim_cur.min(1024).saturating_sub(1) as i32;
    if target <= f.as_raw_fd() {
        return f;
    }
    // SAFETY: duplicates a descriptor we own; the result is checked before use.
    let high = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_DUPFD_CLOEXEC, target) };
    if high < 0 {
        return f;
    }
    // SAFETY: `high` is a fresh descriptor owned by nobody else; `f` is dropped (closed).
    unsafe { File::from_raw_fd(high) }
}

/// Write one message (a trailing newline is added if missing).
pub fn write(msg: &str) {
    let mut sink = SINK.lock().unwrap_or_else(|e| e.into_inner());
    let nl = if msg.ends_with('\n') { "" } else { "\n" };
    match sink.as_mut() {
        Some(f) => {
            let _ = write!(f, "{msg}{nl}");
        }
        None => {
            let _ = write!(std::io::stderr(), "{msg}{nl}");
        }
    }
}

/// Write the first part of a line (no newline added): `-strace` prints a call when it
/// starts and its result when it returns.
pub fn write_part(msg: &str) {
    let mut sink = SINK.lock().unwrap_or_else(|e| e.into_inner());
    match sink.as_mut() {
        Some(f) => {
            let _ = f.write_all(msg.as_bytes());
        }
        None => {
            let _ = std::io::stderr().write_all(msg.as_bytes());
        }
    }
}

/// `log!(Item::X, "fmt", args…)`: format and write only when the item is enabled.
#[macro_export]
macro_rules! log {
    ($item:expr, $($arg:tt)*) => {
        if $crate::log::enabled($item) {
            $crate::log::write(&format!($($arg)*));
        }
    };
}

/// Append one translated block to `/tmp/perf-PID.map`, the file `perf report` reads to
/// name JIT code: `host-start size name`, the name giving the block's guest address.
/// The file is opened for each line (close-on-exec, append) so that no descriptor of
/// ferrite's stays open for the guest to see, and a forked child writes its own file.
pub fn perfmap(host: usize, len: usize, guest_pc: u64, guest_insns: usize) {
    let path = format!("/tmp/perf-{}.map", std::process::id());
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(f, "{host:x} {len:x} guest:{guest_pc:#x}[{guest_insns}]");
    }
}

/// The process (pid) whose `/tmp/jit-PID.dump` has been started; 0 for none. A forked
/// child has another pid and starts a file of its own.
static JITDUMP_PID: AtomicU32 = AtomicU32::new(0);
/// Index of the next code-load record.
static JITDUMP_INDEX: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

const JITDUMP_MAGIC: u32 = 0x4a69_5444;
const EM_X86_64: u32 = 62;
const JIT_CODE_LOAD: u32 = 0;

fn monotonic_ns() -> u64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid timespec to fill; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t) };
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// Start `/tmp/jit-PID.dump`: the file header, then a private executable mapping of
/// its first page, the event `perf record` notes so that `perf inject --jit` finds the
/// file. The descriptor is closed again (the guest sees none of ferrite's).
fn jitdump_start(path: &str, pid: u32) -> std::io::Result<()> {
    // Readable too: mmap needs it.
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    let mut h = Vec::with_capacity(40);
    h.extend_from_slice(&JITDUMP_MAGIC.to_le_bytes());
    h.extend_from_slice(&1u32.to_le_bytes()); // version
    h.extend_from_slice(&40u32.to_le_bytes()); // header size
    h.extend_from_slice(&EM_X86_64.to_le_bytes());
    h.extend_from_slice(&0u32.to_le_bytes()); // padding
    h.extend_from_slice(&pid.to_le_bytes());
    h.extend_from_slice(&monotonic_ns().to_le_bytes());
    h.extend_from_slice(&0u64.to_le_bytes()); // flags
    (&f).write_all(&h)?;
    // SAFETY: maps one page of a file we own, read/exec and private: nothing is ever
    // written through it, and it stays mapped (unused) for perf to see.
    let m = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_EXEC,
            libc::MAP_PRIVATE,
            f.as_raw_fd(),
            0,
        )
    };
    if m == libc::MAP_FAILED {
        // /tmp mounted noexec: the records are still written, perf just cannot find them.
        write("ferrite: -jitdump: cannot map the dump file executable (noexec /tmp?)");
    }
    Ok(())
}

/// Append one translated block to `/tmp/jit-PID.dump` (perf's jitdump format, version
/// 1): a code-load record naming the block `guest:0xADDR[insns]` and carrying its host
/// code, for `perf inject --jit` to turn into symbols and disassembly. Called with the
/// code cache locked, so records never interleave.
pub fn jitdump(host: usize, len: usize, guest_pc: u64, guest_insns: usize) {
    let pid = std::process::id();
    let path = format!("/tmp/jit-{pid}.dump");
    if JITDUMP_PID.load(Ordering::Relaxed) != pid {
        if let Err(e) = jitdump_start(&path, pid) {
            write(&format!("ferrite: -jitdump: {path}: {e}"));
        }
        JITDUMP_PID.store(pid, Ordering::Relaxed);
    }
    let name = format!("guest:{guest_pc:#x}[{guest_insns}]\0");
    // SAFETY: gettid cannot fail.
    let tid = unsafe { libc::gettid() } as u32;
    let total = 16 + 40 + name.len() + len;
    let mut r = Vec::with_capacity(total);
    r.extend_from_slice(&JIT_CODE_LOAD.to_le_bytes());
    r.extend_from_slice(&(total as u32).to_le_bytes());
    r.extend_from_slice(&monotonic_ns().to_le_bytes());
    r.extend_from_slice(&pid.to_le_bytes());
    r.extend_from_slice(&tid.to_le_bytes());
    r.extend_from_slice(&(host as u64).to_le_bytes()); // vma
    r.extend_from_slice(&(host as u64).to_le_bytes()); // code address
    r.extend_from_slice(&(len as u64).to_le_bytes());
    r.extend_from_slice(&JITDUMP_INDEX.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    r.extend_from_slice(name.as_bytes());
    // SAFETY: the caller just wrote `len` bytes of code at `host` in the code cache.
    r.extend_from_slice(unsafe { std::slice::from_raw_parts(host as *const u8, len) });
    if let Ok(mut f) = std::fs::OpenOptions::new().append(true).open(&path) {
        let _ = f.write_all(&r);
    }
}

#[cfg(test)]
mod dfilter_tests {
    use super::parse_dfilter;

    #[test]
    fn qemu_range_syntax() {
        assert_eq!(parse_dfilter("0x1000+0x100"), Ok(vec![(0x1000, 0x10ff)]));
        assert_eq!(parse_dfilter("0x1000-0x100"), Ok(vec![(0xf01, 0x1000)]));
        assert_eq!(
            parse_dfilter("0x1000..0x2000,4096+1"),
            Ok(vec![(0x1000, 0x2000), (4096, 4096)])
        );
        assert!(parse_dfilter("0x1000").is_err());
        assert!(parse_dfilter("0x2000..0x1000").is_err());
        assert!(parse_dfilter("x+1").is_err());
        assert!(parse_dfilter("0x1000+0").is_err());
    }
}
