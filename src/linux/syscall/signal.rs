//! Signal system calls. `rt_sigaction` keeps the guest's own sigaction table (guest
//! handlers never run as host handlers: the host gets ferrite's queueing handler, or
//! SIG_IGN/SIG_DFL mirrored); masks and pending sets are the host thread's, with signal
//! numbers mapped by [`signal::map_sig`]; `sigaltstack` is emulated per thread;
//! `rt_sigreturn` restores a frame built by [`signal`]. Calls that name signals
//! (kill, tgkill, sigqueue, timers, signalfd, ppoll/pselect6 masks) map their numbers.
//!
//! Known limit: `signalfd` reads return the host's `struct signalfd_siginfo`, so a
//! guest real-time signal 32, 33, 63 or 64 shows its host number in `ssi_signo`.

use super::{Action, SyscallCtx};
use crate::linux::guest;
use crate::linux::signal::{self, map_mask, map_sig, UNBLOCKABLE};
use syscalls::Sysno;

const EINVAL: i64 = -(libc::EINVAL as i64);
const EINTR: i64 = -(libc::EINTR as i64);

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

fn host(nr: Sysno, a: [u64; 6]) -> i64 {
    super::host_syscall(nr.id() as u32, a)
}

fn safe(nr: Sysno, a: [u64; 6]) -> i64 {
    signal::safe_syscall(nr.id() as u32, a)
}

/// A guest signal-number argument for the host: 0..=64 are mapped, anything else is
/// passed on for the host to refuse.
fn sig_arg(sig: u64) -> u64 {
    let s = sig as i32;
    if (0..=64).contains(&s) && sig >> 32 == 0 {
        map_sig(s) as u64
    } else {
        sig
    }
}

pub fn rt_sigaction(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let sig = a[0] as i32;
    if a[3] != 8 {
        return EINVAL;
    }
    let new = if a[1] != 0 {
        match guest::read_val::<GuestSigaction>(a[1]) {
            Ok(n) => Some(n),
            Err(e) => return e,
        }
    } else {
        None
    };
    if !(1..=64).contains(&sig)
        || a[0] >> 32 != 0
        || (new.is_some() && (sig == libc::SIGKILL || sig == libc::SIGSTOP))
    {
        return EINVAL;
    }
    let new = new.map(|n| GuestSigaction {
        flags: n.flags & signal::SA_KNOWN,
        mask: n.mask & !UNBLOCKABLE,
        ..n
    });
    let old = ctx.process.sigaction(sig, new);
    if let Some(n) = new {
        signal::apply_host_disposition(sig, &n);
    }
    if a[2] != 0 {
        if let Err(e) = guest::write_val(a[2], &old) {
            return e;
        }
    }
    0
}

pub fn rt_sigprocmask(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let (how, set, oldset, size) = (a[0] as i32, a[1], a[2], a[3]);
    if size != 8 {
        return EINVAL;
    }
    if signal::queued() {
        // A signal arrived before this call could change the mask: deliver it first
        // (with the mask it arrived under), then run the call again.
        return -signal::ERESTARTSYS;
    }
    let old = signal::current_mask();
    if set != 0 {
        let m = match guest::read_val::<u64>(set) {
            Ok(m) => m & !UNBLOCKABLE,
            Err(e) => return e,
        };
        let new = match how {
            libc::SIG_BLOCK => old | m,
            libc::SIG_UNBLOCK => old & !m,
            libc::SIG_SETMASK => m,
            _ => return EINVAL,
        };
        signal::set_mask(new);
    }
    if oldset != 0 {
        if let Err(e) = guest::write_val(oldset, &old) {
            return e;
        }
    }
    0
}

pub fn rt_sigpending(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let size = a[1];
    if size > 8 {
        return EINVAL;
    }
    let mut hp = 0u64;
    let r = host(
        Sysno::rt_sigpending,
        [&mut hp as *mut u64 as u64, 8, 0, 0, 0, 0],
    );
    if r < 0 {
        return r;
    }
    let pending = map_mask(hp) | (signal::deferred_pending() & signal::current_mask());
    match guest::write_bytes(a[0], &pending.to_le_bytes()[..size as usize]) {
        Ok(()) => 0,
        Err(e) => e,
    }
}

pub fn rt_sigsuspend(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    if a[1] != 8 {
        return EINVAL;
    }
    let temp = match guest::read_val::<u64>(a[0]) {
        Ok(m) => m & !UNBLOCKABLE,
        Err(e) => return e,
    };
    signal::begin_temp_mask(temp);
    let hm = signal::host_mask_of(temp);
    loop {
        let r = safe(
            Sysno::rt_sigsuspend,
            [&hm as *const u64 as u64, 8, 0, 0, 0, 0],
        );
        if r == -signal::ERESTARTSYS {
            signal::end_temp_mask();
            return r;
        }
        if r == EINTR {
            if signal::queued() || signal::deferred_pending() & !temp != 0 {
                // The saved mask stays for the handler's frame (see `deliver_pending`).
                return EINTR;
            }
            // Interrupted by something that is not a guest signal: keep waiting.
            continue;
        }
        signal::end_temp_mask();
        return r;
    }
}

pub fn rt_sigtimedwait(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let (uset, uinfo, uts, size) = (a[0], a[1], a[2], a[3]);
    if size != 8 {
        return EINVAL;
    }
    let set = match guest::read_val::<u64>(uset) {
        Ok(m) => m & !UNBLOCKABLE,
        Err(e) => return e,
    };
    let deliver = |info: [u64; 16]| -> i64 {
        if uinfo != 0 {
            if let Err(e) = guest::write_val(uinfo, &info) {
                return e;
            }
        }
        info[0] as u32 as i64
    };
    if let Some(info) = signal::take_deferred(set) {
        return deliver(info);
    }
    let hset = map_mask(set);
    let mut info = [0u64; 16];
    let r = safe(
        Sysno::rt_sigtimedwait,
        [
            &hset as *const u64 as u64,
            info.as_mut_ptr() as u64,
            uts,
            8,
            0,
            0,
        ],
    );
    if r <= 0 {
        return r;
    }
    signal::map_siginfo(&mut info);
    deliver(info)
}

pub fn rt_sigqueueinfo(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let mut info = match guest::read_val::<[u64; 16]>(a[2]) {
        Ok(i) => i,
        Err(e) => return e,
    };
    signal::map_siginfo(&mut info);
    host(
        Sysno::rt_sigqueueinfo,
        [a[0], sig_arg(a[1]), info.as_ptr() as u64, 0, 0, 0],
    )
}

pub fn rt_tgsigqueueinfo(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let mut info = match guest::read_val::<[u64; 16]>(a[3]) {
        Ok(i) => i,
        Err(e) => return e,
    };
    signal::map_siginfo(&mut info);
    host(
        Sysno::rt_tgsigqueueinfo,
        [a[0], a[1], sig_arg(a[2]), info.as_ptr() as u64, 0, 0],
    )
}

pub fn kill(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    host(Sysno::kill, [a[0], sig_arg(a[1]), 0, 0, 0, 0])
}

pub fn tkill(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    host(Sysno::tkill, [a[0], sig_arg(a[1]), 0, 0, 0, 0])
}

pub fn tgkill(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    host(Sysno::tgkill, [a[0], a[1], sig_arg(a[2]), 0, 0, 0])
}

pub fn pidfd_send_signal(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let info = if a[2] != 0 {
        match guest::read_val::<[u64; 16]>(a[2]) {
            Ok(mut i) => {
                signal::map_siginfo(&mut i);
                Some(i)
            }
            Err(e) => return e,
        }
    } else {
        None
    };
    let p = info.as_ref().map_or(0, |i| i.as_ptr() as u64);
    host(
        Sysno::pidfd_send_signal,
        [a[0], sig_arg(a[1]), p, a[3], 0, 0],
    )
}

pub fn rt_sigreturn(ctx: &mut SyscallCtx, _a: [u64; 6]) -> i64 {
    signal::sigreturn(ctx.process, ctx.cpu);
    ctx.action = Action::NoReturnValue;
    0
}

pub fn restart_syscall(_ctx: &mut SyscallCtx, _a: [u64; 6]) -> i64 {
    // ferrite restarts interrupted calls by re-executing them, never through a restart
    // block, so there is nothing to restart: the kernel's do_no_restart_syscall.
    EINTR
}

/// The arm64 `stack_t`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
struct StackT {
    sp: u64,
    flags: i32,
    _pad: i32,
    size: u64,
}

pub fn sigaltstack(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let new = if a[0] != 0 {
        match guest::read_val::<StackT>(a[0]) {
            Ok(s) => Some((s.sp, s.flags as u32, s.size)),
            Err(e) => return e,
        }
    } else {
        None
    };
    let old = match signal::do_sigaltstack(ctx.cpu.x[31], new) {
        Ok(o) => o,
        Err(e) => return e,
    };
    if a[1] != 0 {
        let s = StackT {
            sp: old.0,
            flags: old.1 as i32,
            _pad: 0,
            size: old.2,
        };
        if let Err(e) = guest::write_val(a[1], &s) {
            return e;
        }
    }
    0
}

pub fn signalfd4(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    if a[2] != 8 {
        return EINVAL;
    }
    let m = match guest::read_val::<u64>(a[1]) {
        Ok(m) => map_mask(m),
        Err(e) => return e,
    };
    // SFD_CLOEXEC and SFD_NONBLOCK are O_CLOEXEC and O_NONBLOCK, equal on both ABIs.
    host(
        Sysno::signalfd4,
        [a[0], &m as *const u64 as u64, 8, a[3], 0, 0],
    )
}

/// A guest `const sigset_t *` argument (with its size) as the host needs it: a pointer
/// to `buf` holding the mapped mask, or the guest's own pointer when the host must
/// refuse it (bad size or address) with the same error.
fn sigmask_arg(ptr: u64, size: u64, buf: &mut u64) -> u64 {
    if ptr == 0 || size != 8 {
        return ptr;
    }
    match guest::read_val::<u64>(ptr) {
        Ok(m) => {
            *buf = signal::host_mask_of(m & !UNBLOCKABLE);
            buf as *mut u64 as u64
        }
        Err(_) => ptr,
    }
}

/// `epoll_pwait`-style sigmask arguments, for the event handlers.
pub fn host_sigmask_arg(ptr: u64, size: u64, buf: &mut u64) -> u64 {
    sigmask_arg(ptr, size, buf)
}

pub fn ppoll(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let mut m = 0u64;
    let mp = sigmask_arg(a[3], a[4], &mut m);
    safe(Sysno::ppoll, [a[0], a[1], a[2], mp, a[4], 0])
}

pub fn pselect6(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    // The sixth argument points at { const sigset_t *ss; size_t ss_len; }.
    let mut m = 0u64;
    let arg = if a[5] != 0 {
        guest::read_val::<[u64; 2]>(a[5])
            .ok()
            .map(|[ss, len]| [sigmask_arg(ss, len, &mut m), len])
    } else {
        None
    };
    let p = match &arg {
        Some(x) => x.as_ptr() as u64,
        None => a[5],
    };
    // `arg` and `m` live until the call returns.
    safe(Sysno::pselect6, [a[0], a[1], a[2], a[3], a[4], p])
}

/// A `struct sigevent` (64 bytes, same layout on both ABIs) with its signal mapped, or
/// the guest pointer itself if it cannot be read (the host then answers EFAULT).
fn sigevent_arg(ptr: u64, buf: &mut [u64; 8]) -> u64 {
    if ptr == 0 {
        return 0;
    }
    match guest::read_val::<[u64; 8]>(ptr) {
        Ok(ev) => {
            *buf = ev;
            let signo = ev[1] as u32 as i32;
            if (1..=64).contains(&signo) {
                buf[1] = (ev[1] & !0xffff_ffff) | map_sig(signo) as u32 as u64;
            }
            buf.as_ptr() as u64
        }
        Err(_) => ptr,
    }
}

pub fn timer_create(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let mut ev = [0u64; 8];
    let p = sigevent_arg(a[1], &mut ev);
    host(Sysno::timer_create, [a[0], p, a[2], 0, 0, 0])
}

pub fn mq_notify(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let mut ev = [0u64; 8];
    let p = sigevent_arg(a[1], &mut ev);
    host(Sysno::mq_notify, [a[0], p, 0, 0, 0, 0])
}
