//! Linux native AIO: `io_setup`, `io_destroy`, `io_submit`, `io_cancel`,
//! `io_getevents`, `io_pgetevents`.
//!
//! Choice: the host kernel's AIO, not an emulation. Everything the guest and the
//! kernel exchange has the same layout on arm64 and x86-64 — `struct iocb` (64 bytes:
//! `aio_data` echoed back, `aio_buf` and the `iovec` arrays of PREADV/PWRITEV, which
//! are guest addresses and so host addresses), `struct io_event` (32 bytes), the
//! opcodes and `IOCB_FLAG_*` — so the calls pass through. The one difference is the
//! address space: the `aio_context_t` is the address of a completion ring the kernel
//! maps into the process, which libaio reads directly (its user-space `io_getevents`
//! fast path checks the ring header's magic, then consumes events without a system
//! call). The host maps that ring at a host address, which is a guest address too, so
//! the guest reads the real ring; `io_setup` records it in the guest memory map as a
//! shared `/[aio] (deleted)` mapping (as the kernel shows it), and `io_destroy` removes
//! it again. A forked child keeps the mapping (but not the context, which
//! belongs to the parent), as on the kernel.
//!
//! `io_pgetevents` carries a signal mask, mapped like `pselect6`'s.

use super::mem::with_mm;
use super::{host_syscall, SyscallCtx};
use crate::linux::guest;
use crate::linux::mm::{page_up, Vma, VmaKind, GUEST_LIMIT};
use crate::linux::signal::safe_syscall;
use syscalls::Sysno;

fn sys(nr: Sysno, a: [u64; 6]) -> i64 {
    host_syscall(nr.id() as u32, a)
}

/// The end of the host mapping starting at `start` (from /proc/self/maps).
fn mapping_end(start: u64) -> Option<u64> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines().find_map(|l| {
        let range = l.split_ascii_whitespace().next()?;
        let (s, e) = range.split_once('-')?;
        if u64::from_str_radix(s, 16).ok()? == start {
            u64::from_str_radix(e, 16).ok()
        } else {
            None
        }
    })
}

/// `io_setup(nr_events, ctxp)`.
pub fn io_setup(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    with_mm(ctx, |mm| {
        let r = sys(Sysno::io_setup, [a[0], a[1], 0, 0, 0, 0]);
        if r < 0 {
            return r;
        }
        let Ok(ring) = guest::read_val::<u64>(a[1]) else {
            return r;
        };
        let end = mapping_end(ring).unwrap_or_else(|| page_up(ring + 1));
        if end > GUEST_LIMIT {
            // Only on a 5-level-paging host: a ring the guest cannot address.
            sys(Sysno::io_destroy, [ring, 0, 0, 0, 0, 0]);
            let _ = guest::write_val(a[1], &0u64);
            return -(libc::ENOMEM as i64);
        }
        let prot = (libc::PROT_READ | libc::PROT_WRITE) as u64;
        let mut v = Vma::new(end, prot, VmaKind::Aio);
        v.shared = true;
        mm.insert_vma(ring, v);
        r
    })
}

/// `io_destroy(ctx)`: the ring mapping goes away with the context.
pub fn io_destroy(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let ring = a[0];
    // io_destroy waits for outstanding requests: not under the memory-map lock.
    let r = sys(Sysno::io_destroy, [ring, 0, 0, 0, 0, 0]);
    if r == 0 {
        with_mm(ctx, |mm| {
            if let Some((s, v)) = mm.find(ring).map(|(s, v)| (s, v.clone())) {
                if s == ring && v.kind == VmaKind::Aio {
                    mm.remove(s, v.end);
                }
            }
            0
        });
    }
    r
}

/// `io_pgetevents(ctx, min_nr, nr, events, timeout, usig)`: `usig` points at
/// `{ const sigset_t *sigmask; size_t sigsetsize; }`, whose mask is mapped.
pub fn io_pgetevents(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let mut m = 0u64;
    let arg = if a[5] != 0 {
        guest::read_val::<[u64; 2]>(a[5])
            .ok()
            .map(|[ss, len]| [super::signal::host_sigmask_arg(ss, len, &mut m), len])
    } else {
        None
    };
    let p = match &arg {
        Some(x) => x.as_ptr() as u64,
        None => a[5],
    };
    // `arg` and `m` live until the call returns.
    safe_syscall(
        Sysno::io_pgetevents.id() as u32,
        [a[0], a[1], a[2], a[3], a[4], p],
    )
}
