//! Self-modifying code that does not use `IC IVAU`: guest pages that are both writable
//! and executable (JIT buffers, RWX mappings) are *watched* while translations of their
//! code may exist.
//!
//! - Translating code from such a page removes the host's write permission from it
//!   ([`watch`], called by instruction fetch). The guest's own view (its memory map,
//!   `/proc/self/maps`) still says RWX.
//! - The first write to the page faults. The fault handler calls [`on_write_fault`], which
//!   gives the write permission back, drops the translations of that page, and lets the
//!   store run again: the next execution translates the new code. This holds for stores
//!   of any thread, in generated code, in helpers or in ferrite itself.
//! - The host kernel cannot fault on our behalf: a system call that writes into a watched
//!   page fails with `EFAULT`. [`release_for_syscall`] then unwatches the pages its buffers
//!   may cover, and the syscall layer runs the call once more.
//! - Changes to the guest memory map release the pages they touch ([`release_range`]), so
//!   the host protection never disagrees with the map for an unwatched page, and a page
//!   that stays RWX is watched again by its next translation.
//!
//! Code in pages that are not writable needs none of this: changing it takes an
//! `mprotect` (making it writable, or taking away `PROT_EXEC`) or `munmap`, which drop
//! its translations. Code changed through a second
//! (writable) mapping of the same file is covered by `IC IVAU`, which the architecture
//! requires (ferrite's CTR_EL0 has DIC = 0).
//!
//! Lock order: memory map, then the watch set; engine locks are never taken while the
//! watch set is held.
//!
//! Touches: host page protections of watched pages, the engine's translations.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use super::mm::PAGE;
use super::syscall::host_syscall;
use super::Process;
use syscalls::Sysno;

static WATCHED: Mutex<BTreeSet<u64>> = Mutex::new(BTreeSet::new());
/// Whether any page is watched (checked without the lock on the fast paths).
static ANY: AtomicBool = AtomicBool::new(false);

/// Whether any page is watched now (cheap: no lock).
pub fn active() -> bool {
    ANY.load(Ordering::Acquire)
}

const RX: u64 = (libc::PROT_READ | libc::PROT_EXEC) as u64;
const RWX: u64 = (libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC) as u64;

fn set() -> std::sync::MutexGuard<'static, BTreeSet<u64>> {
    WATCHED.lock().unwrap_or_else(|e| e.into_inner())
}

fn protect(page: u64, prot: u64) {
    host_syscall(Sysno::mprotect.id() as u32, [page, PAGE, prot, 0, 0, 0]);
}

/// The watch set's lock, held across a host fork (see [`super::Process::fork_guard`]).
pub struct ForkGuard(#[allow(dead_code)] std::sync::MutexGuard<'static, BTreeSet<u64>>);

/// Take the watch set's lock for a host fork (after the memory map's).
pub fn fork_guard() -> ForkGuard {
    ForkGuard(set())
}

/// Instruction fetch at `pc`, in a guest mapping with protection `prot` (the memory map
/// is held by the caller): watch the page if the guest may also write it.
pub fn watch(pc: u64, prot: u64) {
    if prot & RWX != RWX {
        return;
    }
    let page = pc & !(PAGE - 1);
    let mut w = set();
    if w.insert(page) {
        protect(page, RX);
        ANY.store(true, Ordering::Release);
    }
}

/// A write fault at `addr`: if it hit a watched page, unwatch it, drop its translations
/// and return true (the faulting store is to be run again); false for any other fault.
pub fn on_write_fault(process: &Process, addr: u64) -> bool {
    if !ANY.load(Ordering::Acquire) {
        return false;
    }
    let page = addr & !(PAGE - 1);
    {
        let mut w = set();
        if !w.remove(&page) {
            drop(w);
            // Another thread's store to the same page may have released it since this
            // store faulted: then the page is guest RWX and the store must simply run
            // again. (Without the memory map at hand, run it again too: a real fault
            // comes back.)
            return match process.try_guest_prot(page) {
                Some(Some(prot)) => prot & RWX == RWX,
                Some(None) => false,
                None => true,
            };
        }
        protect(page, RWX);
    }
    // After the set is released (translation takes the engine's locks before the set's).
    // A translation made meanwhile re-watches the page: the store then faults once more.
    process.engine.invalidate(page, page + PAGE);
    true
}

/// Unwatch the watched pages in [start, end) (the guest memory map is about to change
/// there, or the host kernel must write there): give back the guest's RWX and drop their
/// translations.
pub fn release_range(process: &Process, start: u64, end: u64) {
    if !ANY.load(Ordering::Acquire) || start >= end {
        return;
    }
    let pages: Vec<u64> = {
        let mut w = set();
        let pages: Vec<u64> = w.range(start & !(PAGE - 1)..end).copied().collect();
        for p in &pages {
            w.remove(p);
            protect(*p, RWX);
        }
        pages
    };
    for p in pages {
        process.engine.invalidate(p, p + PAGE);
    }
}

/// A system call with arguments `args` failed with EFAULT: if a watched page lies in the
/// 16 MiB after any argument (a buffer the host kernel may have had to write), unwatch
/// those pages and return true, so that the call is run once more. Calls whose EFAULT has
/// nothing to do with watched pages (a bad pointer) are not repeated.
pub fn release_for_syscall(process: &Process, args: &[u64]) -> bool {
    if !ANY.load(Ordering::Acquire) {
        return false;
    }
    const REACH: u64 = 16 << 20;
    let mut any = false;
    for &a in args {
        let start = a & !(PAGE - 1);
        let end = a.saturating_add(REACH);
        let hit = set().range(start..end).next().is_some();
        if hit {
            release_range(process, start, end);
            any = true;
        }
    }
    any
}
