//! System calls: the arm64 (asm-generic) table in `syscall-tables/aarch64.tbl`, turned
//! into a `dispatch` function by `build.rs`, and the handlers by family.
//!
//! Every guest syscall number is either passed through to the host unchanged (same
//! ABI, guest pointers are host pointers), handled by a translating/emulating handler in
//! [`handlers`], or answered with exactly `-ENOSYS` (reported once under `-d unimp`).
//! Handlers return the raw kernel result: a value ≥ 0 or a negative errno.

pub mod aio;
pub mod events;
pub mod fs;
pub mod handlers;
pub mod ipc;
pub mod mem;
pub mod misc;
pub mod process;
pub mod robust;
pub mod signal;
pub mod sock;
pub mod strace;
pub mod table;
pub mod uffd;

use std::collections::HashSet;
use std::sync::Mutex;

use crate::arm64::cpu::Cpu;
use crate::linux::Process;
use crate::log::{self, Item};

/// What a syscall asks of the run loop besides returning a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Store the result in X0 and continue.
    Continue,
    /// `exit_group(status)`: the whole process ends.
    ExitGroup(i32),
    /// `exit(status)`: this thread ends (the process, when it is the last one).
    ExitThread(i32),
    /// The handler already set up the CPU state (e.g. `rt_sigreturn`): don't touch X0.
    NoReturnValue,
}

/// Everything a handler may use.
pub struct SyscallCtx<'a> {
    pub cpu: &'a mut Cpu,
    pub process: &'static Process,
    pub action: Action,
}

/// Forward a call with an identical ABI to the host; returns the raw kernel result, or
/// `-ERESTARTSYS` (never seen by the guest: the run loop restarts the call after the
/// handler) when a guest signal was queued before the call could block — see
/// [`crate::linux::signal::safe_syscall`].
pub fn pass_through(host_nr: u32, a: [u64; 6]) -> i64 {
    crate::linux::signal::safe_syscall(host_nr, a)
}

/// Make a raw host system call; returns the raw kernel result (negative errno on error).
pub fn host_syscall(host_nr: u32, a: [u64; 6]) -> i64 {
    // SAFETY: callers only forward calls whose arguments mean the same on both ABIs
    // (the table marks them `pass`) or that a handler has translated; guest pointers are
    // host pointers and the kernel validates them (EFAULT), so ferrite's own memory is
    // not at risk from the call itself.
    unsafe {
        syscalls::raw::syscall6(
            host_nr as usize,
            a[0] as usize,
            a[1] as usize,
            a[2] as usize,
            a[3] as usize,
            a[4] as usize,
            a[5] as usize,
        ) as i64
    }
}

/// Convert a libc-style result (`-1` + errno) into a raw kernel result.
pub fn from_libc(r: i64) -> i64 {
    if r == -1 {
        -(std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO) as i64)
    } else {
        r
    }
}

static REPORTED: Mutex<Option<HashSet<u64>>> = Mutex::new(None);

/// The answer for an unimplemented syscall: exactly `-ENOSYS`, reported once.
pub fn enosys(_ctx: &mut SyscallCtx, nr: u64) -> i64 {
    if log::enabled(Item::Unimp) {
        let mut r = REPORTED.lock().unwrap_or_else(|e| e.into_inner());
        if r.get_or_insert_with(HashSet::new).insert(nr) {
            let why = table::info(nr)
                .map(|i| format!("{} ({})", i.name, i.reason))
                .unwrap_or_else(|| "unknown syscall number".into());
            log::write(&format!("Unsupported syscall: {nr} {why} -> ENOSYS"));
        }
    }
    -(libc::ENOSYS as i64)
}

/// Run guest syscall `nr` with arguments X0..X5.
pub fn syscall(ctx: &mut SyscallCtx, nr: u64) -> i64 {
    let a = [
        ctx.cpu.x[0],
        ctx.cpu.x[1],
        ctx.cpu.x[2],
        ctx.cpu.x[3],
        ctx.cpu.x[4],
        ctx.cpu.x[5],
    ];
    let strace = log::enabled(Item::Strace);
    if strace {
        strace::enter(nr, &a);
        strace::end_line_without_result(nr);
    }
    let mut r = table::dispatch(ctx, nr, a);
    if r == -(libc::EFAULT as i64) && crate::linux::smc::release_for_syscall(ctx.process, &a) {
        // Maybe the host kernel had to write to a page watched for self-modifying code
        // (see `smc`); with every page released, once more.
        r = table::dispatch(ctx, nr, a);
    }
    if strace {
        strace::leave(nr, r);
    }
    r
}
