//! Process identity and control: `uname` (machine "aarch64"), `exit`, `exit_group`,
//! `set_tid_address`, `prctl` (the generic options; arm64-specific ones answer as a CPU
//! without SVE/SME/PAC/MTE would), `prlimit64`.

use super::{host_syscall, Action, SyscallCtx};
use crate::linux::guest;
use syscalls::Sysno;

const EINVAL: i64 = -(libc::EINVAL as i64);

pub fn uname(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
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
    // `struct new_utsname` is six 65-byte fields on both ABIs.
    match guest::write_val(a[0], &u) {
        Ok(()) => 0,
        Err(e) => e,
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
        PR_SVE_SET_VL | PR_SVE_GET_VL | PR_SME_SET_VL | PR_SME_GET_VL | PR_PAC_RESET_KEYS
        | PR_PAC_SET_ENABLED_KEYS | PR_PAC_GET_ENABLED_KEYS => EINVAL,
        // Tagged addresses are not supported (no TBI in generated code yet).
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
            libc::PR_GET_SECUREBITS,
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

pub fn prlimit64(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let resource = a[1] as u32;
    let pid = a[0] as i32;
    // Limits on the address space, data and stack would constrain ferrite's own
    // memory (code cache, translator heap): like qemu-user, do not apply them to the
    // host for the calling process; report the old values truthfully.
    let self_ = pid == 0 || pid as u32 == std::process::id();
    let translator_limit = matches!(
        resource,
        libc::RLIMIT_AS | libc::RLIMIT_DATA | libc::RLIMIT_STACK
    );
    if a[2] != 0 && self_ && translator_limit {
        let r = host_syscall(Sysno::prlimit64.id() as u32, [a[0], a[1], 0, a[3], 0, 0]);
        if r < 0 {
            return r;
        }
        // Validate the new limit like the kernel (rlim_cur <= rlim_max).
        return match guest::read_val::<[u64; 2]>(a[2]) {
            Ok([cur, max]) if cur <= max => 0,
            Ok(_) => EINVAL,
            Err(e) => e,
        };
    }
    host_syscall(Sysno::prlimit64.id() as u32, a)
}
