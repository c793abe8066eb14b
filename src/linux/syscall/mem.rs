//! Memory syscalls, all emulated through the guest memory map ([`crate::linux::mm`]):
//! mmap, munmap, mprotect, mremap, madvise, brk.

use super::SyscallCtx;

pub fn mmap(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    ctx.process.mm().mmap(a[0], a[1], a[2], a[3], a[4], a[5])
}

pub fn munmap(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    ctx.process.mm().munmap(a[0], a[1])
}

pub fn mprotect(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    ctx.process.mm().mprotect(a[0], a[1], a[2])
}

pub fn mremap(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    ctx.process.mm().mremap(a[0], a[1], a[2], a[3], a[4])
}

pub fn madvise(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    ctx.process.mm().madvise(a[0], a[1], a[2])
}

pub fn brk(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    ctx.process.mm().brk(a[0]) as i64
}
