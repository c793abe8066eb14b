//! Memory syscalls, all emulated through the guest memory map ([`crate::linux::mm`]):
//! mmap, munmap, mprotect, mremap, madvise, brk. The memory map checks arguments in the
//! arm64 kernel's order and keeps the guest off ferrite's own memory; this layer adds
//! invalidation of translations whose guest code was unmapped, replaced, discarded or
//! made non-executable.

use super::SyscallCtx;
use crate::linux::mm::MemoryMap;

/// Run `f` on the memory map, then drop translations of code it made stale.
fn with_mm(ctx: &mut SyscallCtx, f: impl FnOnce(&mut MemoryMap) -> i64) -> i64 {
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

pub fn mmap(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    with_mm(ctx, |mm| mm.mmap(a[0], a[1], a[2], a[3], a[4], a[5]))
}

pub fn munmap(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    with_mm(ctx, |mm| mm.munmap(a[0], a[1]))
}

pub fn mprotect(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    with_mm(ctx, |mm| mm.mprotect(a[0], a[1], a[2]))
}

pub fn mremap(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    with_mm(ctx, |mm| mm.mremap(a[0], a[1], a[2], a[3], a[4]))
}

pub fn madvise(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    with_mm(ctx, |mm| mm.madvise(a[0], a[1], a[2]))
}

pub fn brk(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    with_mm(ctx, |mm| mm.brk(a[0]) as i64)
}
