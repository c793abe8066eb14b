//! `-strace` output in qemu-aarch64's format, so logs of the two can be compared line by
//! line and tools that read qemu's output keep working.
//!
//! A call is printed in two parts, as qemu does: `PID name(args)` when it starts and
//! ` = result` when it returns, so output the call itself writes (or another thread's
//! line) can appear in between. Results are decimal, or `-1 errno=N (text)` for an
//! error; `brk`, `mmap` and `mremap` return addresses, printed `0x%016x`. `exit` and
//! `exit_group` print no result. A number without a name prints `Unknown syscall N`.
//! An `execve` line is printed whole just before the host exec (so the new program's
//! first line starts a line of its own); if that exec fails, the line is printed again
//! with its result.
//!
//! Arguments: the calls in [`FORMATS`] are decoded as qemu decodes them (paths as
//! quoted strings, `AT_FDCWD`, `O_*`/`PROT_*`/`MAP_*`/`*_OK`/`AT_*` flags by name (the
//! flags qemu knows for that call) with
//! any unknown bits as `|0x…`, signal names, `NULL`; the formats' own pointer styles:
//! padded `0x%016x`, C's `%p` with `(nil)`, or the low 32 bits in hex); every other
//! call prints its six argument registers in decimal, which is qemu's form for calls it
//! has no format for. A signal taken by the guest prints `--- SIGNAME {siginfo} ---`.

use crate::linux::guest;
use crate::log;

/// How one argument is printed.
#[derive(Clone, Copy)]
enum Arg {
    /// The low 32 bits as a signed int (`%d`).
    Int,
    /// The low 32 bits unsigned (`%u`).
    Uint,
    /// The whole register, signed decimal.
    Long,
    /// `NULL`, or `0x` and 16 hex digits.
    Ptr,
    /// C's `%p`: `(nil)` or `0x…` without padding.
    CPtr,
    /// `%#x` of the low 32 bits.
    Hex,
    /// `%#x` of the whole register.
    Hex64,
    /// An ioctl request: the terminal requests by name, others in hex.
    IoctlCmd,
    /// `%#o` of the low 32 bits (file modes).
    Oct,
    /// A NUL-terminated guest string, quoted; `NULL` for 0.
    Str,
    /// A NULL-terminated array of strings: `{"a","b",NULL}`.
    StrArray,
    /// A directory descriptor: `AT_FDCWD` or `%d`.
    Dirfd,
    /// `open` flags: the access mode, then the other flags.
    OpenFlags,
    /// `access` modes (`F_OK`, `R_OK|W_OK`…).
    Access,
    /// `AT_*` flags of `faccessat`.
    AtFlags,
    /// `unlinkat`'s flags.
    UnlinkFlags,
    /// `PROT_*`.
    Prot,
    /// `MAP_*`.
    MapFlags,
    /// A signal number by name.
    Signal,
    /// `SIG_BLOCK`, `SIG_UNBLOCK`, `SIG_SETMASK`.
    SigHow,
}

/// How the result is printed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ret {
    Decimal,
    Address,
    None,
}

use Arg::*;

/// The calls decoded argument by argument (the rest print six decimal registers).
const FORMATS: &[(&str, &[Arg], Ret)] = &[
    ("brk", &[Ptr], Ret::Address),
    (
        "mmap",
        &[Ptr, Long, Prot, MapFlags, Int, Hex64],
        Ret::Address,
    ),
    ("ioctl", &[Int, IoctlCmd, Ptr], Ret::Decimal),
    ("execve", &[Str, StrArray], Ret::Decimal),
    ("dup3", &[Int, Int, Int], Ret::Decimal),
    ("mremap", &[Ptr, Long, Long, Hex, Ptr], Ret::Address),
    ("munmap", &[Ptr, Long], Ret::Decimal),
    ("mprotect", &[Ptr, Long, Prot], Ret::Decimal),
    ("openat", &[Dirfd, Str, OpenFlags], Ret::Decimal),
    ("close", &[Int], Ret::Decimal),
    ("read", &[Int, Hex, Int], Ret::Decimal),
    ("write", &[Int, Hex, Int], Ret::Decimal),
    ("faccessat", &[Dirfd, Str, Access, AtFlags], Ret::Decimal),
    ("newfstatat", &[Dirfd, Str, Ptr, Hex], Ret::Decimal),
    ("readlinkat", &[Dirfd, Str, Ptr, Long], Ret::Decimal),
    ("unlinkat", &[Dirfd, Str, UnlinkFlags], Ret::Decimal),
    ("mkdirat", &[Dirfd, Str, Oct], Ret::Decimal),
    ("chdir", &[Str], Ret::Decimal),
    ("getcwd", &[CPtr, Int], Ret::Decimal),
    ("getrandom", &[CPtr, Uint, Uint], Ret::Decimal),
    ("uname", &[CPtr], Ret::Decimal),
    ("kill", &[Int, Signal], Ret::Decimal),
    ("tgkill", &[Int, Int, Signal], Ret::Decimal),
    ("rt_sigaction", &[Signal, Ptr, Ptr], Ret::Decimal),
    ("rt_sigprocmask", &[SigHow, Ptr, Ptr], Ret::Decimal),
    ("getpid", &[], Ret::Decimal),
    ("getppid", &[], Ret::Decimal),
    ("gettid", &[], Ret::Decimal),
    ("getuid", &[], Ret::Decimal),
    ("geteuid", &[], Ret::Decimal),
    ("getgid", &[], Ret::Decimal),
    ("getegid", &[], Ret::Decimal),
    ("exit", &[Int], Ret::None),
    ("exit_group", &[Int], Ret::None),
];

fn format_of(name: &str) -> Option<(&'static [Arg], Ret)> {
    FORMATS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, a, r)| (*a, *r))
}

/// Flag names in the order qemu prints them; a zero value names the empty set.
type Flags = &'static [(&'static str, u64)];

const OPEN_FLAGS: Flags = &[
    ("O_APPEND", 0o2000),
    ("O_CREAT", 0o100),
    ("O_DIRECTORY", 0o40000),
    ("O_EXCL", 0o200),
    ("O_LARGEFILE", 0o400000),
    ("O_NOCTTY", 0o400),
    ("O_NOFOLLOW", 0o100000),
    ("O_NONBLOCK", 0o4000),
    ("O_DSYNC", 0o10000),
    ("__O_SYNC", 0o4000000),
    ("O_TRUNC", 0o1000),
    ("O_DIRECT", 0o200000),
    ("O_NOATIME", 0o1000000),
    ("O_CLOEXEC", 0o2000000),
    ("O_PATH", 0o10000000),
];
const O_CREAT: u64 = 0o100;
const O_TMPFILE: u64 = 0o20000000;

const ACCESS: Flags = &[("F_OK", 0), ("R_OK", 4), ("W_OK", 2), ("X_OK", 1)];

/// The flags qemu decodes for `faccessat`.
const AT_FLAGS: Flags = &[("AT_EACCESS", 0x200), ("AT_SYMLINK_NOFOLLOW", 0x100)];
/// The flag qemu decodes for `unlinkat`.
const UNLINK_FLAGS: Flags = &[("AT_REMOVEDIR", 0x200)];

const PROT: Flags = &[
    ("PROT_NONE", 0),
    ("PROT_EXEC", 4),
    ("PROT_READ", 1),
    ("PROT_WRITE", 2),
];

const MAP_FLAGS: Flags = &[
    ("MAP_SHARED", 0x01),
    ("MAP_PRIVATE", 0x02),
    ("MAP_ANONYMOUS", 0x20),
    ("MAP_DENYWRITE", 0x800),
    ("MAP_FIXED", 0x10),
    ("MAP_GROWSDOWN", 0x100),
    ("MAP_EXECUTABLE", 0x1000),
    ("MAP_LOCKED", 0x2000),
    ("MAP_NONBLOCK", 0x10000),
    ("MAP_NORESERVE", 0x4000),
    ("MAP_POPULATE", 0x8000),
    ("MAP_STACK", 0x20000),
    ("MAP_HUGETLB", 0x40000),
    ("MAP_FIXED_NOREPLACE", 0x100000),
];

/// C's `%#x`: `0` for zero, `0x…` otherwise.
fn c_hex(v: u64) -> String {
    if v == 0 {
        "0".into()
    } else {
        format!("{v:#x}")
    }
}

fn flags(v: u64, table: Flags) -> String {
    let mut left = v;
    let mut names: Vec<&str> = Vec::new();
    for &(name, bits) in table {
        if bits == 0 {
            if v == 0 {
                names.push(name);
            }
        } else if left & bits == bits {
            names.push(name);
            left &= !bits;
        }
    }
    match (names.is_empty(), left) {
        (true, _) => c_hex(v),
        (false, 0) => names.join("|"),
        (false, rest) => format!("{}|{rest:#x}", names.join("|")),
    }
}

const SIGNALS: [&str; 32] = [
    "0",
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGILL",
    "SIGTRAP",
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGKILL",
    "SIGUSR1",
    "SIGSEGV",
    "SIGUSR2",
    "SIGPIPE",
    "SIGALRM",
    "SIGTERM",
    "SIGSTKFLT",
    "SIGCHLD",
    "SIGCONT",
    "SIGSTOP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
    "SIGWINCH",
    "SIGIO",
    "SIGPWR",
    "SIGSYS",
];

fn signal_name(sig: i32) -> String {
    match usize::try_from(sig) {
        Ok(s) if (1..32).contains(&s) => SIGNALS[s].to_string(),
        _ => sig.to_string(),
    }
}

fn ptr(v: u64) -> String {
    if v == 0 {
        "NULL".into()
    } else {
        format!("0x{v:016x}")
    }
}

fn arg(kind: Arg, v: u64) -> String {
    match kind {
        Int => (v as i32).to_string(),
        Uint => (v as u32).to_string(),
        Long => (v as i64).to_string(),
        Ptr => ptr(v),
        CPtr if v == 0 => "(nil)".into(),
        CPtr => format!("{v:#x}"),
        Hex => c_hex(u64::from(v as u32)),
        Hex64 => c_hex(v),
        IoctlCmd => match v as u32 {
            0x5401 => "TCGETS".into(),
            0x5402 => "TCSETS".into(),
            0x5403 => "TCSETSW".into(),
            0x5404 => "TCSETSF".into(),
            0x540f => "TIOCGPGRP".into(),
            0x5410 => "TIOCSPGRP".into(),
            0x5413 => "TIOCGWINSZ".into(),
            0x5414 => "TIOCSWINSZ".into(),
            0x541b => "FIONREAD".into(),
            0x5421 => "FIONBIO".into(),
            c => c_hex(u64::from(c)),
        },
        // C's `%#o`: a leading 0.
        Oct if v as u32 == 0 => "0".into(),
        Oct => format!("0{:o}", v as u32),
        Str if v == 0 => "NULL".into(),
        Str => match guest::read_cstr(v, 4096) {
            Ok(s) => format!("\"{}\"", String::from_utf8_lossy(s.as_bytes())),
            Err(_) => format!("0x{v:016x}"),
        },
        StrArray if v == 0 => "NULL".into(),
        StrArray => match guest::read_cstr_array(v) {
            Ok(items) => {
                let mut parts: Vec<String> = items
                    .iter()
                    .map(|s| format!("\"{}\"", String::from_utf8_lossy(s.as_bytes())))
                    .collect();
                parts.push("NULL".into());
                format!("{{{}}}", parts.join(","))
            }
            Err(_) => ptr(v),
        },
        Dirfd if v as i64 == -100 => "AT_FDCWD".into(),
        Dirfd => (v as i32).to_string(),
        OpenFlags => {
            let mode = ["O_RDONLY", "O_WRONLY", "O_RDWR", "3"][(v & 3) as usize];
            let rest = v & !3;
            if rest == 0 {
                mode.into()
            } else {
                format!("{mode}|{}", flags(rest, OPEN_FLAGS))
            }
        }
        Access => flags(v, ACCESS),
        AtFlags => flags(v, AT_FLAGS),
        UnlinkFlags => flags(v, UNLINK_FLAGS),
        Prot => flags(v, PROT),
        MapFlags => flags(v, MAP_FLAGS),
        Signal => signal_name(v as i32),
        SigHow => match v {
            0 => "SIG_BLOCK".into(),
            1 => "SIG_UNBLOCK".into(),
            2 => "SIG_SETMASK".into(),
            _ => (v as i32).to_string(),
        },
    }
}

/// The first part of a call's line: `PID name(args)`.
pub(super) fn enter(nr: u64, a: &[u64; 6]) {
    let pid = std::process::id();
    let Some(name) = super::table::name(nr) else {
        log::write(&format!("{pid} Unknown syscall {nr}"));
        return;
    };
    let args: Vec<String> = match format_of(name) {
        Some((kinds, _)) => {
            let mut v: Vec<String> = kinds.iter().zip(a).map(|(k, &x)| arg(*k, x)).collect();
            // The mode exists only when the flags create a file.
            if name == "openat" && (a[2] & O_CREAT != 0 || a[2] & O_TMPFILE == O_TMPFILE) {
                v.push(arg(Oct, a[3]));
            }
            v
        }
        None => a.iter().map(|&x| (x as i64).to_string()).collect(),
    };
    let line = format!("{pid} {name}({})", args.join(","));
    if name == "execve" || name == "execveat" {
        // Held back: a successful exec never returns, and the new program's first line
        // must not join this one (see `before_exec`).
        EXEC_LINE.with(|l| *l.borrow_mut() = Some((line, false)));
    } else {
        log::write_part(&line);
    }
}

thread_local! {
    /// The pending `execve` line of this thread, and whether it was already printed
    /// whole by [`before_exec`].
    static EXEC_LINE: std::cell::RefCell<Option<(String, bool)>> =
        const { std::cell::RefCell::new(None) };
}

/// Called just before the host exec that replaces this process: print the pending
/// `execve` line whole (a successful exec has no result). Should the host exec fail
/// after all, [`leave`] prints the line again with its result.
pub(crate) fn before_exec() {
    EXEC_LINE.with(|l| {
        if let Some((line, printed)) = l.borrow_mut().as_mut() {
            log::write(line);
            *printed = true;
        }
    });
}

/// The second part: ` = result`.
pub(super) fn leave(nr: u64, r: i64) {
    let Some(name) = super::table::name(nr) else {
        return;
    };
    // An exec that failed (or was never attempted): its line is still pending.
    if let Some((line, _)) = EXEC_LINE.with(|l| l.borrow_mut().take()) {
        log::write_part(&line);
    }
    let ret = format_of(name).map_or(Ret::Decimal, |(_, r)| r);
    let text = if (-4095..0).contains(&r) {
        let e = std::io::Error::from_raw_os_error(-r as i32);
        format!(" = -1 errno={} ({})", -r, crate::linux::cli::io_text(&e))
    } else {
        match ret {
            Ret::None => return,
            Ret::Address => format!(" = 0x{:016x}", r as u64),
            Ret::Decimal => format!(" = {r}"),
        }
    };
    log::write(&text);
}

/// `exit`/`exit_group` print no result: end their line.
pub(super) fn end_line_without_result(nr: u64) {
    if let Some(name) = super::table::name(nr) {
        if format_of(name).is_some_and(|(_, r)| r == Ret::None) {
            log::write("");
        }
    }
}

fn si_code_name(code: i32) -> String {
    match code {
        0 => "SI_USER".into(),
        0x80 => "SI_KERNEL".into(),
        -1 => "SI_QUEUE".into(),
        -2 => "SI_TIMER".into(),
        -3 => "SI_MESGQ".into(),
        -4 => "SI_ASYNCIO".into(),
        -5 => "SI_SIGIO".into(),
        -6 => "SI_TKILL".into(),
        c => c.to_string(),
    }
}

/// `--- SIGNAME {si_signo=…, si_code=…, …} ---` for a signal the guest takes; `info` is
/// the guest's siginfo (128 bytes as 16 words).
pub(crate) fn signal(info: &[u64; 16]) {
    let b: Vec<u8> = info.iter().flat_map(|w| w.to_le_bytes()).collect();
    let i32_at = |o: usize| i32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
    let sig = i32_at(0);
    let code = i32_at(8);
    let name = signal_name(sig);
    let mut s = format!(
        "--- {name} {{si_signo={name}, si_code={}",
        si_code_name(code)
    );
    let fault = matches!(sig, 4 | 5 | 7 | 8 | 11);
    if code > 0 && fault {
        s += &format!(", si_addr={}", ptr(u64_at(16)));
    } else if code > 0 && sig == 17 {
        s += &format!(
            ", si_pid={}, si_uid={}, si_status={}, si_utime={}, si_stime={}",
            u32_at(16),
            u32_at(20),
            i32_at(24),
            u64_at(32) as i64,
            u64_at(40) as i64
        );
    } else if code == -2 {
        s += &format!(
            ", si_timerid={}, si_overrun={}, si_value={}",
            i32_at(16),
            i32_at(20),
            c_hex(u64_at(24))
        );
    } else if code == -1 {
        s += &format!(
            ", si_pid={}, si_uid={}, si_sigval={}",
            u32_at(16),
            u32_at(20),
            c_hex(u64_at(24))
        );
    } else {
        s += &format!(", si_pid={}, si_uid={}", u32_at(16), u32_at(20));
    }
    s += "} ---";
    log::write(&s);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_as_qemu_prints_them() {
        assert_eq!(arg(OpenFlags, 0o2000000), "O_RDONLY|O_CLOEXEC");
        assert_eq!(
            arg(OpenFlags, 1 | 0o100 | 0o1000 | 0o2000),
            "O_WRONLY|O_APPEND|O_CREAT|O_TRUNC"
        );
        assert_eq!(arg(Access, 0), "F_OK");
        assert_eq!(arg(Access, 6), "R_OK|W_OK");
        assert_eq!(arg(AtFlags, 0x100 | 0x3eca0), "AT_SYMLINK_NOFOLLOW|0x3eca0");
        assert_eq!(arg(AtFlags, 0), "0");
        assert_eq!(arg(AtFlags, 0x300), "AT_EACCESS|AT_SYMLINK_NOFOLLOW");
        assert_eq!(arg(UnlinkFlags, 0x200), "AT_REMOVEDIR");
        assert_eq!(arg(Prot, 0), "PROT_NONE");
        assert_eq!(arg(Prot, 3), "PROT_READ|PROT_WRITE");
        assert_eq!(arg(Prot, 5), "PROT_EXEC|PROT_READ");
        assert_eq!(arg(IoctlCmd, 0x5401), "TCGETS");
        assert_eq!(arg(MapFlags, 0x22), "MAP_PRIVATE|MAP_ANONYMOUS");
        assert_eq!(arg(Ptr, 0), "NULL");
        assert_eq!(arg(Ptr, 0x48c000), "0x000000000048c000");
        assert_eq!(arg(CPtr, 0), "(nil)");
        assert_eq!(arg(Hex, 0x55_0080_2000), "0x802000");
        assert_eq!(arg(Dirfd, -100i64 as u64), "AT_FDCWD");
        assert_eq!(arg(Dirfd, 0xffff_ff9c), "-100");
        assert_eq!(arg(Signal, 10), "SIGUSR1");
        assert_eq!(arg(Oct, 0o644), "0644");
    }
}
