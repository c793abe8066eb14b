//! Memory syscalls, all emulated through the guest memory map ([`crate::linux::mm`]):
//! mmap, munmap, mprotect, mremap, madvise, brk. The memory map checks arguments in the
//! arm64 kernel's order and keeps the guest off ferrite's own memory; this layer adds
//! invalidation of translations whose guest code was unmapped, replaced, discarded or
//! made non-executable.

use super::SyscallCtx;
use crate::linux::mm::{MemoryMap, PAGE};
use crate::linux::smc;

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
