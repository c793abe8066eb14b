//! Robust futex lists: `set_robust_list` and `get_robust_list`.
//!
//! `struct robust_list_head` (`{ next, futex_offset, list_op_pending }`, 24 bytes) and
//! the list entries are the same on arm64 and x86-64 (LP64, little-endian), the futex
//! word bits (`FUTEX_WAITERS`, `FUTEX_OWNER_DIED`, the TID mask) are generic, guest
//! addresses are host addresses and guest thread IDs are host thread IDs. So the guest's
//! list is registered with the host kernel for the host thread that runs the guest
//! thread, and the host kernel walks it — marking futexes the dying thread held
//! `FUTEX_OWNER_DIED` and waking a waiter — whenever that host thread dies with the
//! process (exit_group, a fatal signal, execve). `get_robust_list` passes through.
//!
//! One case needs ferrite: a guest thread that ends with `exit` while the process goes
//! on. Its host thread does not die at once (it unwinds through ferrite, and ferrite
//! already did the guest's `CLONE_CHILD_CLEARTID` wake-up, after which the guest may
//! free or reuse the memory holding the list). So [`on_thread_exit`] walks the guest's
//! list first, as the kernel does at thread death, and then gives the host thread back
//! the registration host glibc made for it.

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, Ordering};

use super::{host_syscall, SyscallCtx};
use crate::linux::{guest, smc, Process};
use syscalls::Sysno;

const HEAD_SIZE: u64 = 24;
const FUTEX_WAITERS: u32 = 0x8000_0000;
const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
/// The kernel's ROBUST_LIST_LIMIT: at most this many entries are walked.
const LIST_LIMIT: u32 = 2048;

thread_local! {
    /// The host thread's own registration (host glibc's), saved before the guest's first
    /// `set_robust_list` on this thread; `None` while the guest has none registered.
    static HOST_HEAD: Cell<Option<(u64, u64)>> = const { Cell::new(None) };
}

fn sys(nr: Sysno, a: [u64; 6]) -> i64 {
    host_syscall(nr.id() as u32, a)
}

pub fn set_robust_list(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    if a[1] != HEAD_SIZE {
        return -(libc::EINVAL as i64);
    }
    if HOST_HEAD.with(|h| h.get()).is_none() {
        let (mut head, mut len) = (0u64, 0u64);
        let r = sys(
            Sysno::get_robust_list,
            [
                0,
                &mut head as *mut u64 as u64,
                &mut len as *mut u64 as u64,
                0,
                0,
                0,
            ],
        );
        let saved = if r == 0 { (head, len) } else { (0, HEAD_SIZE) };
        HOST_HEAD.with(|h| h.set(Some(saved)));
    }
    sys(Sysno::set_robust_list, [a[0], a[1], 0, 0, 0, 0])
}

/// One list entry pointer: the address, and whether bit 0 marks a PI futex.
fn entry(raw: u64) -> (u64, bool) {
    (raw & !1, raw & 1 != 0)
}

/// The guest thread `tid` is ending while its process goes on: handle the futexes on its
/// robust list as the kernel does at thread death, then hand the host thread back its
/// own registration.
pub fn on_thread_exit(process: &Process, tid: u32) {
    let Some((host_head, host_len)) = HOST_HEAD.with(|h| h.take()) else {
        return;
    };
    let (mut head, mut len) = (0u64, 0u64);
    let r = sys(
        Sysno::get_robust_list,
        [
            0,
            &mut head as *mut u64 as u64,
            &mut len as *mut u64 as u64,
            0,
            0,
            0,
        ],
    );
    if r == 0 && head != 0 {
        walk(process, head, tid);
    }
    sys(Sysno::set_robust_list, [host_head, host_len, 0, 0, 0, 0]);
}

fn walk(process: &Process, head: u64, tid: u32) {
    let Ok(first) = guest::read_val::<u64>(head) else {
        return;
    };
    let Ok(offset) = guest::read_val::<i64>(head + 8) else {
        return;
    };
    let Ok(pending) = guest::read_val::<u64>(head + 16) else {
        return;
    };
    let (pending, pending_pi) = entry(pending);
    let (mut e, mut pi) = entry(first);
    let mut limit = LIST_LIMIT;
    while e != head {
        let next = guest::read_val::<u64>(e);
        if e != pending && !owner_died(process, e.wrapping_add(offset as u64), tid, pi, false) {
            return;
        }
        let Ok(next) = next else {
            return;
        };
        (e, pi) = entry(next);
        limit -= 1;
        if limit == 0 {
            break;
        }
    }
    if pending != 0 {
        owner_died(
            process,
            pending.wrapping_add(offset as u64),
            tid,
            pending_pi,
            true,
        );
    }
}

fn futex_wake(addr: u64) {
    // Shared (no FUTEX_PRIVATE_FLAG): the futex may live in memory shared with other
    // processes, as the kernel's own wake-up assumes.
    sys(Sysno::futex, [addr, libc::FUTEX_WAKE as u64, 1, 0, 0, 0]);
}

/// The kernel's treatment of one futex word of a dying thread; false when the word
/// cannot be accessed (the walk stops, as the kernel's does).
fn owner_died(process: &Process, addr: u64, tid: u32, pi: bool, pending: bool) -> bool {
    if !addr.is_multiple_of(4) {
        return false;
    }
    let page = addr & !(crate::linux::mm::PAGE - 1);
    // A page watched for self-modifying code is made writable again first.
    smc::release_range(process, page, page + crate::linux::mm::PAGE);
    let mm = process.mm();
    let rw = (libc::PROT_READ | libc::PROT_WRITE) as u64;
    if mm.find(addr).is_none_or(|(_, v)| v.prot & rw != rw) {
        return false;
    }
    // SAFETY: `addr` is 4-byte aligned and inside a readable and writable guest mapping,
    // which cannot be unmapped while the memory map is locked; guest memory is host
    // memory, and the kernel itself updates these words with atomic operations.
    let word = unsafe { &*(addr as *const AtomicU32) };
    let mut val = word.load(Ordering::SeqCst);
    loop {
        let owner = val & FUTEX_TID_MASK;
        if pending && !pi && owner == 0 {
            // A lock being released when the thread died: wake a waiter.
            drop(mm);
            futex_wake(addr);
            return true;
        }
        if owner != tid {
            return true;
        }
        let new = (val & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
        match word.compare_exchange(val, new, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => break,
            Err(v) => val = v,
        }
    }
    drop(mm);
    // PI futexes are handed on by the host kernel when the host thread ends.
    if !pi && val & FUTEX_WAITERS != 0 {
        futex_wake(addr);
    }
    true
}
