//! Memory syscalls, all emulated through the guest memory map ([`crate::linux::mm`]):
//! mmap, munmap, mprotect, mremap, madvise, brk. The memory map checks arguments in the
//! arm64 kernel's order and keeps the guest off ferrite's own memory; this layer adds
//! invalidation of translations whose guest code was unmapped, replaced, discarded or
//! made non-executable.

use super::SyscallCtx;
use crate::linux::mm::{MemoryMap, PAGE};
use crate::linux::smc;
use syscalls::Sysno;

/// Run `f` on the memory map, then drop translations of code it made stale.
pub(super) fn with_mm(ctx: &mut SyscallCtx, f: impl FnOnce(&mut MemoryMap) -> i64) -> i64 {
    let (r, stale) = {
        let mut mm = ctx.process.mm();
        let r = f(&mut mm);
        (r, std::mem::take(&mut mm.stale_code))
    };
    for (s, e) in stale {
        ctx.process.engine.invalidate(s, e);
    }
    r
}

/// Release the pages watched for self-modifying code in [addr, addr + len) before the
/// memory map changes there (see `smc`).
pub(super) fn release(ctx: &SyscallCtx, addr: u64, len: u64) {
    smc::release_range(
        ctx.process,
        addr,
        addr.saturating_add(len).saturating_add(PAGE - 1),
    );
}

pub fn mmap(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    if a[3] & (libc::MAP_FIXED | libc::MAP_FIXED_NOREPLACE) as u64 != 0 {
        release(ctx, a[0], a[1]);
    }
    with_mm(ctx, |mm| mm.mmap(a[0], a[1], a[2], a[3], a[4], a[5]))
}

pub fn munmap(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    release(ctx, a[0], a[1]);
    with_mm(ctx, |mm| mm.munmap(a[0], a[1]))
}

pub fn mprotect(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    release(ctx, a[0], a[1]);
    with_mm(ctx, |mm| mm.mprotect(a[0], a[1], a[2]))
}

pub fn mremap(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    release(ctx, a[0], a[1]);
    if a[3] & 2 != 0 {
        // MREMAP_FIXED: the target range is replaced.
        release(ctx, a[4], a[2]);
    }
    with_mm(ctx, |mm| mm.mremap(a[0], a[1], a[2], a[3], a[4]))
}

pub fn madvise(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    with_mm(ctx, |mm| mm.madvise(a[0], a[1], a[2]))
}

pub fn brk(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    if smc::active() {
        let cur = ctx.process.mm().brk_cur;
        if a[0] != 0 && a[0] < cur {
            release(ctx, a[0], cur - a[0]);
        }
    }
    with_mm(ctx, |mm| mm.brk(a[0]) as i64)
}

/// `mseal(addr, len, flags)` (Linux 6.10+): sealing is recorded in the guest memory
/// map, which then refuses to unmap, move, reprotect or discard the sealed mappings
/// (EPERM). The host mappings are not sealed, so ferrite can still write-protect pages
/// holding translated code and unmap everything at exit.
pub fn mseal(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    with_mm(ctx, |mm| mm.mseal(a[0], a[1], a[2]))
}

/// `remap_file_pages(start, size, prot, pgoff, flags)`: deprecated; since Linux 4.0 the
/// kernel emulates it by mapping the file again over part of a shared file mapping.
/// The host kernel does exactly that at the same addresses, once the range (rounded down
/// to pages, as the kernel does) is known to be guest memory: a range with a hole (or
/// ferrite's memory) in it is EINVAL, as for a range the kernel does not find mapped.
/// The guest mappings keep their kind and protection; translations there are stale.
pub fn remap_file_pages(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let start = a[0] & !(PAGE - 1);
    let end = start.wrapping_add(a[1] & !(PAGE - 1));
    if a[2] != 0 || end <= start {
        // The kernel's first checks: no protection, a non-empty range.
        return -(libc::EINVAL as i64);
    }
    release(ctx, start, end - start);
    with_mm(ctx, |mm| {
        if mm.first_gap(start, end).is_some() {
            return -(libc::EINVAL as i64);
        }
        if mm.sealed_in(start, end) {
            return -(libc::EPERM as i64);
        }
        let r = super::host_syscall(Sysno::remap_file_pages.id() as u32, a);
        if r == 0 && mm.is_executable(start) {
            mm.stale_code.push((start, end));
        }
        r
    })
}

// ---- memory protection keys ---------------------------------------------------------
//
// arm64 protection keys are FEAT_S1POE (Linux 6.12+, CONFIG_ARM64_POE). ferrite does not
// implement POE (no HWCAP2_POE, no POR_EL0), so these answer as an arm64 kernel built
// with POE support does on a CPU without it: pkey_alloc finds no free key (ENOSPC), key 0
// is the default and always allocated (so pkey_mprotect with key 0 or -1 is mprotect,
// and pkey_free(0) releases it), any other key is not allocated (EINVAL). Host keys
// (x86 PKU) are never used: they would govern ferrite's own accesses.

/// Allocated keys of this process (bit n: key n); key 0 from the start. A fork copies
/// it with the process, as the kernel copies the mm's map.
static PKEYS: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(1);
/// arm64's PKEY_DISABLE_ACCESS | WRITE | EXECUTE | READ.
const PKEY_ACCESS_MASK: u64 = 0xf;
const ARM64_MAX_PKEY: u64 = 8;

fn pkey_allocated(key: u64) -> bool {
    key < ARM64_MAX_PKEY && PKEYS.load(std::sync::atomic::Ordering::Relaxed) & (1 << key) != 0
}

pub fn pkey_alloc(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    if a[0] != 0 || a[1] & !PKEY_ACCESS_MASK != 0 {
        return -(libc::EINVAL as i64);
    }
    -(libc::ENOSPC as i64)
}

pub fn pkey_free(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let key = a[0] as i32;
    if key < 0 || !pkey_allocated(key as u64) {
        return -(libc::EINVAL as i64);
    }
    PKEYS.fetch_and(!(1u8 << key), std::sync::atomic::Ordering::Relaxed);
    0
}

pub fn pkey_mprotect(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let (addr, len, prot, key) = (a[0], a[1], a[2], a[3] as i32);
    if key != -1 && (key < 0 || !pkey_allocated(key as u64)) {
        // The kernel checks the key after the address arguments (do_mprotect_pkey).
        let end = addr.wrapping_add(crate::linux::mm::page_up(len));
        if !addr.is_multiple_of(PAGE) {
            return -(libc::EINVAL as i64);
        }
        if len == 0 {
            return 0;
        }
        if end <= addr {
            return -(libc::ENOMEM as i64);
        }
        return -(libc::EINVAL as i64);
    }
    mprotect(ctx, [addr, len, prot, 0, 0, 0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkeys_answer_as_arm64_without_poe() {
        assert!(pkey_allocated(0));
        assert!(!pkey_allocated(1));
        assert!(!pkey_allocated(8));
        assert_eq!(PKEY_ACCESS_MASK, 0xf);
    }
}
