//! Signal syscalls: `rt_sigaction` keeps the guest's own sigaction table (guest
//! handlers are never installed on the host), `rt_sigprocmask` applies the guest mask.
//!
//! Delivery of guest handlers with an arm64 `rt_sigframe` belongs to the signals work;
//! until then a handled signal's host disposition stays at the default action, and
//! `SIG_IGN` is applied on the host so ignoring (e.g. SIGPIPE) behaves exactly.

use super::{host_syscall, SyscallCtx};
use crate::linux::guest;
use syscalls::Sysno;

const EINVAL: i64 = -(libc::EINVAL as i64);

/// The arm64 `struct sigaction` as the kernel sees it (rt_sigaction).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct GuestSigaction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

pub const SIG_DFL: u64 = 0;
pub const SIG_IGN: u64 = 1;

pub fn rt_sigaction(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let sig = a[0] as i32;
    if a[3] != 8 || !(1..=64).contains(&sig) {
        return EINVAL;
    }
    let new = if a[1] != 0 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            return EINVAL;
        }
        match guest::read_val::<GuestSigaction>(a[1]) {
            Ok(n) => Some(n),
            Err(e) => return e,
        }
    } else {
        None
    };
    let old = ctx.process.sigaction(sig, new);
    if let Some(n) = new {
        // Mirror ignore/default dispositions on the host so the kernel behaves as the
        // guest asked (SIGPIPE ignored → EPIPE, SIGCHLD ignored → no zombies…). Signals
        // ferrite needs for itself keep their host handlers.
        let own = matches!(
            sig,
            libc::SIGSEGV | libc::SIGBUS | libc::SIGILL | libc::SIGFPE | libc::SIGTRAP
        );
        if !own {
            let disp = if n.handler == SIG_IGN {
                libc::SIG_IGN
            } else {
                libc::SIG_DFL
            };
            // SAFETY: installs SIG_IGN or SIG_DFL, which run no code in this process.
            unsafe { libc::signal(sig, disp) };
        }
    }
    if a[2] != 0 {
        if let Err(e) = guest::write_val(a[2], &old) {
            return e;
        }
    }
    0
}

pub fn rt_sigprocmask(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    // Same sigset layout (64 bits) and `how` values on both ABIs.
    host_syscall(Sysno::rt_sigprocmask.id() as u32, a)
}
