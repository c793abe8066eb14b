//! Process identity and control: `uname` (machine "aarch64", release `-r`),
//! `getrandom` (deterministic under `-seed`), `exit`, `exit_group`,
//! `set_tid_address`, `prctl` (the generic options; arm64-specific ones answer as a CPU
//! without SVE/SME/PAC/MTE would), and the resource limits (`prlimit64`, `getrlimit`,
//! `setrlimit`), which keep RLIMIT_AS/DATA/STACK for the guest.

use super::{host_syscall, Action, SyscallCtx};
use crate::linux::guest;
use std::sync::Mutex;

use syscalls::Sysno;

const EINVAL: i64 = -(libc::EINVAL as i64);

pub fn uname(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    // SAFETY: all-zero is a valid `utsname`.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid, writable utsname.
    if unsafe { libc::uname(&mut u) } != 0 {
        return -(libc::EFAULT as i64);
    }
    u.machine = [0; 65];
    for (d, s) in u.machine.iter_mut().zip(b"aarch64") {
        *d = *s as libc::c_char;
    }
    // `-r`: the release the guest sees (at most 64 bytes, NUL-terminated; checked by
    // the command line).
    if let Some(r) = &ctx.process.options.uname_release {
        u.release = [0; 65];
        for (d, s) in u.release.iter_mut().zip(r.as_bytes().iter().take(64)) {
            *d = *s as libc::c_char;
        }
    }
    // `struct new_utsname` is six 65-byte fields on both ABIs.
    match guest::write_val(a[0], &u) {
        Ok(()) => 0,
        Err(e) => e,
    }
}

/// `getrandom`: deterministic under `-seed` (see [`crate::linux::random`]), the host's
/// call otherwise.
pub fn getrandom(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    match crate::linux::random::getrandom_seeded(a[0], a[1], a[2]) {
        Some(r) => r,
        None => host_syscall(Sysno::getrandom.id() as u32, a),
    }
}

pub fn exit(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    ctx.action = Action::ExitThread(a[0] as i32);
    0
}

pub fn exit_group(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    ctx.action = Action::ExitGroup(a[0] as i32);
    0
}

pub fn set_tid_address(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    ctx.process.set_clear_child_tid(a[0]);
    host_syscall(Sysno::gettid.id() as u32, [0; 6])
}

// arm64-specific prctl options (include/uapi/linux/prctl.h).
const PR_SVE_SET_VL: u64 = 50;
const PR_SVE_GET_VL: u64 = 51;
const PR_PAC_RESET_KEYS: u64 = 54;
const PR_SET_TAGGED_ADDR_CTRL: u64 = 55;
const PR_GET_TAGGED_ADDR_CTRL: u64 = 56;
const PR_PAC_SET_ENABLED_KEYS: u64 = 60;
const PR_PAC_GET_ENABLED_KEYS: u64 = 61;
const PR_SME_SET_VL: u64 = 63;
const PR_SME_GET_VL: u64 = 64;

pub fn prctl(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    match a[0] {
        // Not implemented features: the kernel answers EINVAL on a CPU without them.
        PR_SVE_SET_VL
        | PR_SVE_GET_VL
        | PR_SME_SET_VL
        | PR_SME_GET_VL
        | PR_PAC_RESET_KEYS
        | PR_PAC_SET_ENABLED_KEYS
        | PR_PAC_GET_ENABLED_KEYS => EINVAL,
        // Data accesses ignore the top byte (TBI) regardless; the tagged address ABI
        // (tagged pointers passed to system calls) is not implemented.
        PR_SET_TAGGED_ADDR_CTRL | PR_GET_TAGGED_ADDR_CTRL => EINVAL,
        // Generic options that only affect the calling process/thread the way the guest
        // means them.
        o if [
            libc::PR_SET_PDEATHSIG,
            libc::PR_GET_PDEATHSIG,
            libc::PR_GET_DUMPABLE,
            libc::PR_SET_DUMPABLE,
            libc::PR_GET_KEEPCAPS,
            libc::PR_SET_KEEPCAPS,
            libc::PR_SET_NAME,
            libc::PR_GET_NAME,
            libc::PR_GET_TIMERSLACK,
            libc::PR_SET_TIMERSLACK,
            libc::PR_SET_CHILD_SUBREAPER,
            libc::PR_GET_CHILD_SUBREAPER,
            libc::PR_SET_NO_NEW_PRIVS,
            libc::PR_GET_NO_NEW_PRIVS,
            libc::PR_CAPBSET_READ,
            // Capability state is per (host) thread, which is the guest thread; the
            // kernel's own checks give EPERM to an unprivileged caller.
            libc::PR_CAPBSET_DROP,
            libc::PR_GET_SECUREBITS,
            libc::PR_SET_SECUREBITS,
            libc::PR_SET_THP_DISABLE,
            libc::PR_GET_THP_DISABLE,
            libc::PR_CAP_AMBIENT,
            libc::PR_SET_VMA,
        ]
        .contains(&(o as i32)) =>
        {
            host_syscall(Sysno::prctl.id() as u32, a)
        }
        // Anything else (seccomp, PR_SET_MM, timing, speculation control…) could change
        // ferrite itself; refuse it like an unknown option.
        _ => EINVAL,
    }
}

// ---------------------------------------------------------------------------------------
// Resource limits

/// Limits ferrite keeps for the guest instead of applying them to the host process:
/// RLIMIT_AS, RLIMIT_DATA and RLIMIT_STACK would constrain ferrite's own memory (code
/// cache, heap, thread stacks), so, like qemu-user, they are not forwarded. Unlike qemu,
/// the guest reads back what it set, and the soft RLIMIT_AS is enforced on guest
/// mappings by the memory map. Starts as the host's values.
const KEPT: [u32; 3] = [libc::RLIMIT_AS, libc::RLIMIT_DATA, libc::RLIMIT_STACK];

static GUEST_LIMITS: Mutex<Option<[[u64; 2]; 3]>> = Mutex::new(None);

fn kept_index(resource: u32) -> Option<usize> {
    KEPT.iter().position(|&r| r == resource)
}

fn with_limits<R>(f: impl FnOnce(&mut [[u64; 2]; 3]) -> R) -> R {
    let mut g = GUEST_LIMITS.lock().unwrap_or_else(|e| e.into_inner());
    let limits = g.get_or_insert_with(|| {
        KEPT.map(|res| {
            let mut old = [u64::MAX; 2];
            host_syscall(
                Sysno::prlimit64.id() as u32,
                [0, res as u64, 0, old.as_mut_ptr() as u64, 0, 0],
            );
            old
        })
    });
    f(limits)
}

/// Does the calling thread have CAP_SYS_RESOURCE (needed to raise a hard limit)?
fn has_cap_sys_resource() -> bool {
    const VERSION_3: u32 = 0x2008_0522;
    const CAP_SYS_RESOURCE: u32 = 24;
    let mut header = [VERSION_3, 0u32];
    let mut data = [0u32; 6];
    let r = host_syscall(
        Sysno::capget.id() as u32,
        [
            header.as_mut_ptr() as u64,
            data.as_mut_ptr() as u64,
            0,
            0,
            0,
            0,
        ],
    );
    r == 0 && data[0] & (1 << CAP_SYS_RESOURCE) != 0
}

/// The kernel's do_prlimit for a kept resource of the calling process; `old_addr` (if
/// not 0) receives the previous value after the change, as the kernel writes it.
fn kept_prlimit(ctx: &SyscallCtx, idx: usize, new: Option<[u64; 2]>, old_addr: u64) -> i64 {
    let old = match with_limits(|l| {
        let old = l[idx];
        if let Some([cur, max]) = new {
            if cur > max {
                return Err(EINVAL);
            }
            if max > old[1] && !has_cap_sys_resource() {
                return Err(-(libc::EPERM as i64));
            }
            l[idx] = [cur, max];
        }
        Ok(old)
    }) {
        Ok(o) => o,
        Err(e) => return e,
    };
    if let (Some([cur, _]), libc::RLIMIT_AS) = (new, KEPT[idx]) {
        ctx.process.mm().as_limit = cur;
    }
    if old_addr != 0 {
        if let Err(e) = guest::write_val(old_addr, &old) {
            return e;
        }
    }
    0
}

/// Does `pid` name this process (0, its pid, or any of its threads: limits are shared
/// by the thread group)?
fn is_self(pid: i32) -> bool {
    // SAFETY: getpid/gettid have no preconditions.
    pid == 0
        || pid == unsafe { libc::getpid() }
        || pid == unsafe { libc::gettid() }
        || (pid > 0 && std::path::Path::new(&format!("/proc/self/task/{pid}")).exists())
}

/// `prlimit64(pid, resource, new, old)`.
pub fn prlimit64(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let (pid, resource) = (a[0] as i32, a[1] as u32);
    let Some(idx) = kept_index(resource).filter(|_| is_self(pid)) else {
        return host_syscall(Sysno::prlimit64.id() as u32, a);
    };
    // The kernel reads the new limit before anything else.
    let new = if a[2] != 0 {
        match guest::read_val::<[u64; 2]>(a[2]) {
            Ok(n) => Some(n),
            Err(e) => return e,
        }
    } else {
        None
    };
    kept_prlimit(ctx, idx, new, a[3])
}

/// `getrlimit(resource, rlim)`: struct rlimit and RLIMIT_* are equal on both ABIs.
pub fn getrlimit(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    match kept_index(a[0] as u32) {
        Some(idx) => kept_prlimit(ctx, idx, None, a[1]),
        None => host_syscall(Sysno::getrlimit.id() as u32, a),
    }
}

/// `setrlimit(resource, rlim)`: the same filtering as `prlimit64`.
pub fn setrlimit(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let Some(idx) = kept_index(a[0] as u32) else {
        return host_syscall(Sysno::setrlimit.id() as u32, a);
    };
    match guest::read_val::<[u64; 2]>(a[1]) {
        Ok(n) => kept_prlimit(ctx, idx, Some(n), 0),
        Err(e) => e,
    }
}

/// `personality` as arm64's `arm64_personality`: PER_LINUX32 is refused (no AArch32 at
/// EL0, `EINVAL`), `0xffffffff` only queries. The persona bits that would change how the
/// host treats ferrite itself (READ_IMPLIES_EXEC, ADDR_LIMIT_32BIT, ADDR_LIMIT_3GB,
/// MMAP_PAGE_ZERO) are kept for the guest here; the rest (ADDR_NO_RANDOMIZE…) go to the
/// host, so that they also reach the programs the guest executes, as on a real kernel.
pub fn personality(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    const PER_MASK: u32 = 0xff;
    const PER_LINUX32: u32 = 0x0008;
    const GUEST_ONLY: u32 = 0x0040_0000 | 0x0080_0000 | 0x0800_0000 | 0x0010_0000;
    static KEPT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let p = a[0] as u32;
    let host_old = host_syscall(Sysno::personality.id() as u32, [0xffff_ffff, 0, 0, 0, 0, 0]);
    if host_old < 0 {
        return host_old;
    }
    let old = host_old as u32 | KEPT.load(std::sync::atomic::Ordering::Relaxed);
    if p == 0xffff_ffff {
        return old as i64;
    }
    if p & PER_MASK == PER_LINUX32 {
        return EINVAL;
    }
    let r = host_syscall(
        Sysno::personality.id() as u32,
        [(p & !GUEST_ONLY) as u64, 0, 0, 0, 0, 0],
    );
    if r < 0 {
        return r;
    }
    KEPT.store(p & GUEST_ONLY, std::sync::atomic::Ordering::Relaxed);
    old as i64
}
