//! The arm64 (asm-generic, 64-bit) syscall table: for every guest syscall
//! number, its kernel name, what ferrite does with it ([`Policy`]), the x86-64
//! host number of the call with the same name, and a reason.
//!
//! The data lives in `syscall-tables/aarch64.tbl` (format and policies in
//! `syscall-tables/README.md`); `build.rs` turns it into `SYSCALLS`, the [`nr`]
//! constants and [`dispatch`], which are included here. `dispatch` forwards
//! `pass` rows with `super::pass_through`, sends `translate`/`emulate` rows to
//! the handler of the same name in `super::handlers`, and everything else to
//! `super::enosys`. To implement a call, write its handler and flip its policy
//! in the table; do not edit the generated code.
//!
//! This module only describes and routes calls: it touches no guest state.

use core::fmt;

/// What ferrite does with a guest syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Policy {
    /// Identical ABI on arm64 and x86-64: forwarded unchanged to `host_nr`.
    Pass,
    /// Needs argument, struct or flag conversion: done by a handler, then the host call.
    Translate,
    /// Implemented by ferrite itself (address space, signals, threads, /proc views…).
    Emulate,
    /// Returns `-ENOSYS`; the row's `reason` says why.
    Enosys,
}

impl Policy {
    /// The spelling used in the table file.
    pub const fn as_str(self) -> &'static str {
        match self {
            Policy::Pass => "pass",
            Policy::Translate => "translate",
            Policy::Emulate => "emulate",
            Policy::Enosys => "enosys",
        }
    }

    /// Whether ferrite does something other than return `-ENOSYS`.
    pub const fn is_implemented(self) -> bool {
        !matches!(self, Policy::Enosys)
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of the syscall table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyscallInfo {
    /// Guest (arm64) syscall number.
    pub nr: u32,
    /// Kernel name (`__NR_<name>`); also the handler name for translate/emulate rows.
    pub name: &'static str,
    /// What ferrite does with the call.
    pub policy: Policy,
    /// x86-64 number of the call with the same name, if x86-64 has one.
    pub host_nr: Option<u32>,
    /// Why the row has its policy (empty if the table gives none).
    pub reason: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/syscall_table.rs"));

/// The table row for guest syscall `nr`, or `None` if `nr` is not an arm64 syscall.
pub fn info(nr: u64) -> Option<&'static SyscallInfo> {
    SYSCALLS.get(usize::try_from(nr).ok()?)?.as_ref()
}

/// The kernel name of guest syscall `nr` (for `-strace` and `-d unimp`).
pub fn name(nr: u64) -> Option<&'static str> {
    info(nr).map(|i| i.name)
}

/// The table row for the syscall called `name`.
pub fn by_name(name: &str) -> Option<&'static SyscallInfo> {
    SYSCALLS.iter().flatten().find(|i| i.name == name)
}

/// Every row of the table, in guest-number order.
pub fn all() -> impl Iterator<Item = &'static SyscallInfo> {
    SYSCALLS.iter().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::str::FromStr;
    use syscalls::Sysno;

    #[test]
    fn numbers_and_names_are_unique_and_indexed() {
        let mut names = HashSet::new();
        for (i, slot) in SYSCALLS.iter().enumerate() {
            if let Some(s) = slot {
                assert_eq!(s.nr as usize, i, "{} sits in slot {i}", s.name);
                assert!(names.insert(s.name), "duplicate name {}", s.name);
            }
        }
        assert_eq!(SYSCALLS.len(), TABLE_LEN);
        assert!(
            SYSCALLS[TABLE_LEN - 1].is_some(),
            "the last slot is a real syscall"
        );
    }

    #[test]
    fn spot_checks() {
        let expect = [
            ("io_setup", 0),
            ("getcwd", 17),
            ("fcntl", 25),
            ("ioctl", 29),
            ("openat", 56),
            ("close", 57),
            ("read", 63),
            ("write", 64),
            ("newfstatat", 79),
            ("fstat", 80),
            ("exit", 93),
            ("exit_group", 94),
            ("futex", 98),
            ("rt_sigreturn", 139),
            ("uname", 160),
            ("getrlimit", 163),
            ("setrlimit", 164),
            ("brk", 214),
            ("clone", 220),
            ("execve", 221),
            ("mmap", 222),
            ("mprotect", 226),
            ("wait4", 260),
            ("prlimit64", 261),
            ("rseq", 293),
            ("clone3", 435),
            ("faccessat2", 439),
            ("mseal", 462),
        ];
        for (n, nr) in expect {
            assert_eq!(by_name(n).map(|i| i.nr), Some(nr), "{n}");
            assert_eq!(name(u64::from(nr)), Some(n));
        }
        assert_eq!(nr::OPENAT, 56);
        assert_eq!(nr::RT_SIGRETURN, 139);
        assert_eq!(info(56).and_then(|i| i.host_nr), Some(257));
        assert_eq!(info(63).map(|i| i.policy), Some(Policy::Pass));
    }

    #[test]
    fn unassigned_numbers_have_no_row() {
        for nr in [244u64, 250, 259, 295, 402, 403, 415, 423] {
            assert!(info(nr).is_none(), "{nr} is unassigned on arm64");
        }
        // 42 (nfsservctl) was removed from Linux but keeps its slot; -ENOSYS either way.
        assert_eq!(info(42).map(|i| i.policy), Some(Policy::Enosys));
        assert!(info(TABLE_LEN as u64).is_none());
        assert!(info(u64::MAX).is_none());
        // Legacy calls arm64 never had.
        for n in [
            "open", "stat", "lstat", "pipe", "dup2", "fork", "vfork", "getdents", "poll", "select",
        ] {
            assert!(by_name(n).is_none(), "{n} does not exist on arm64");
        }
    }

    /// Every host number must be the x86-64 number of the call with the same
    /// name, so a typo cannot forward a guest call to the wrong host call.
    #[test]
    fn host_numbers_match_host_names() {
        for s in all() {
            match (Sysno::from_str(s.name), s.host_nr) {
                (Ok(host), Some(h)) => {
                    assert_eq!(host.id() as u32, h, "{}: host number", s.name)
                }
                (Ok(host), None) => {
                    panic!(
                        "{} exists on x86-64 as {}: fill in host_nr",
                        s.name,
                        host.id()
                    )
                }
                (Err(()), Some(h)) => {
                    // Newer than the `syscalls` crate: only the unified numbering
                    // (424 and up, equal on every architecture) is accepted.
                    assert!(
                        s.nr >= 424 && h == s.nr,
                        "{}: host {h} cannot be checked",
                        s.name
                    )
                }
                (Err(()), None) => {}
            }
        }
    }

    #[test]
    fn policies_are_consistent() {
        for s in all() {
            if s.policy == Policy::Pass {
                assert!(
                    s.host_nr.is_some(),
                    "{} is pass without a host number",
                    s.name
                );
            } else {
                assert!(
                    !s.reason.is_empty(),
                    "{} ({}) needs a reason",
                    s.name,
                    s.policy
                );
            }
        }
        // Calls whose ABI is known to differ must never be forwarded unchanged.
        for n in [
            "openat",
            "openat2",
            "newfstatat",
            "fstat",
            "fcntl",
            "pipe2",
            "epoll_ctl",
            "epoll_pwait",
            "epoll_pwait2",
            "semctl",
            "clone",
            "clone3",
            "execve",
            "mmap",
            "munmap",
            "mprotect",
            "mremap",
            "brk",
            "madvise",
            "rt_sigaction",
            "rt_sigprocmask",
            "rt_sigreturn",
            "sigaltstack",
            "uname",
            "prctl",
            "exit",
            "exit_group",
            "set_tid_address",
            "readlinkat",
            "shmat",
            "shmdt",
            "setrlimit",
            "prlimit64",
            "ioctl",
            "close_range",
            "mseal",
        ] {
            let p = by_name(n).unwrap_or_else(|| panic!("{n} missing")).policy;
            assert_ne!(p, Policy::Pass, "{n} must not be pass");
        }
    }
}
