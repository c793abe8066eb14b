//! `vfork` semantics for `clone(CLONE_VM|CLONE_VFORK)` without sharing ferrite's memory.
//!
//! A guest vfork child runs guest code in the parent's address space until it calls
//! `execve` or exits, and the parent's calling thread sleeps until then. glibc's
//! `posix_spawn` relies on both: its child writes the exec error into the parent's
//! memory before `_exit(127)`. ferrite cannot let a second process run inside its own
//! address space (the child would share the code cache, the heap and every lock with
//! the parent), so the host gets `clone(CLONE_VFORK)` *without* `CLONE_VM`: a forked
//! child, and a parent that the host kernel suspends until the child execs or exits.
//! The child's writes to guest memory are then carried back:
//!
//! - before each `execve` attempt and when it ends, the child finds the guest pages it
//!   wrote since the fork: private pages that are present and mapped by it alone
//!   (`/proc/self/pagemap` bit 56, "exclusively mapped": a write breaks the copy-on-write
//!   sharing with the parent), in guest VMAs that are writable;
//! - it appends them (address, 4 KiB of contents) to a `MAP_SHARED` buffer that the
//!   parent mapped before the clone (ferrite's memory: the guest cannot unmap it);
//! - when the host clone returns in the parent (the child has exec'd or exited), the
//!   parent copies those pages into its own guest memory, where it is writable.
//!
//! Since the parent's memory did not change meanwhile, the result is what sharing would
//! have given. That holds only while no other guest thread of the parent runs: a
//! multi-threaded parent's other threads may write to the same pages, and copying whole
//! pages back would undo their writes. A multi-threaded parent therefore gets plain
//! fork semantics (what qemu-aarch64 gives every vfork). Nor are pages carried back
//! when the child dies by a signal, or when the buffer overflows (reported once under
//! `-d unimp`).
//!
//! Touches: the host's `/proc/self/pagemap`, the guest memory map, raw guest memory.

use std::io::{Read, Seek, SeekFrom};
use std::sync::Mutex;

use super::mm::PAGE;
use super::Process;
use crate::log::{self, Item};

/// Size of the buffer (address space reserved; only what is written uses memory).
const BUF_SIZE: usize = 256 << 20;
/// Header: bytes used (records), overflow flag.
const HEADER: usize = 16;
const RECORD: usize = 8 + PAGE as usize;

/// The buffer shared by a vfork parent and its child.
#[derive(Debug)]
pub struct Channel {
    base: *mut u8,
}

// SAFETY: the buffer is plain shared memory; the parent only reads it after the child
// has exec'd or exited, and the child only writes it.
unsafe impl Send for Channel {}

/// The channel of this process when it is a vfork child that has not exec'd yet.
static CHILD: Mutex<Option<Channel>> = Mutex::new(None);

impl Channel {
    /// Parent, before the clone: a channel if vfork semantics can be given (one guest
    /// thread), else `None` (fork semantics).
    pub fn open(process: &Process) -> Option<Channel> {
        if process.threads.load(std::sync::atomic::Ordering::SeqCst) != 1 {
            return None;
        }
        // SAFETY: a fresh anonymous shared mapping, owned by the Channel.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                BUF_SIZE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return None;
        }
        Some(Channel { base: p as *mut u8 })
    }

    fn header(&self) -> (usize, bool) {
        // SAFETY: the header lies at the start of the mapping.
        unsafe {
            let used = std::ptr::read_volatile(self.base as *const u64) as usize;
            let over = std::ptr::read_volatile((self.base as *const u64).add(1)) != 0;
            (used, over)
        }
    }

    fn set_header(&self, used: usize, overflow: bool) {
        // SAFETY: as in `header`.
        unsafe {
            std::ptr::write_volatile(self.base as *mut u64, used as u64);
            std::ptr::write_volatile((self.base as *mut u64).add(1), overflow as u64);
        }
    }

    /// Parent, after the host clone returned: copy the child's pages into guest memory.
    pub fn apply(self, process: &Process) {
        let (used, overflow) = self.header();
        if overflow && log::enabled(Item::Unimp) {
            log::write(
                "ferrite: unimplemented: a vfork child wrote more guest memory than ferrite carries back to its parent",
            );
        }
        let mm = process.mm();
        let mut off = HEADER;
        while off + RECORD <= HEADER + used {
            // SAFETY: records lie inside the used part of the mapping.
            let addr = unsafe { std::ptr::read_unaligned(self.base.add(off) as *const u64) };
            let writable = mm
                .vmas
                .range(..=addr)
                .next_back()
                .is_some_and(|(_, v)| addr < v.end && v.prot & libc::PROT_WRITE as u64 != 0);
            if writable {
                // SAFETY: [addr, addr + PAGE) is a writable guest page of this process
                // (checked against the memory map, held locked), and the source is a
                // record of the channel.
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        self.base.add(off + 8),
                        addr as *mut u8,
                        PAGE as usize,
                    )
                };
            }
            off += RECORD;
        }
    }

    /// Child, right after the clone: remember the channel for [`flush`].
    pub fn enter_child(self) {
        self.set_header(0, false);
        *CHILD.lock().unwrap_or_else(|e| e.into_inner()) = Some(self);
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        // SAFETY: unmapping the mapping this Channel owns.
        unsafe { libc::munmap(self.base as *mut libc::c_void, BUF_SIZE) };
    }
}

/// In a vfork child: append the guest pages written since the fork to the channel.
/// Called before each execve attempt and when the child ends; a no-op otherwise.
pub fn flush(process: &Process) {
    let guard = CHILD.lock().unwrap_or_else(|e| e.into_inner());
    let Some(ch) = guard.as_ref() else {
        return;
    };
    let Ok(mut pagemap) = std::fs::File::open("/proc/self/pagemap") else {
        return;
    };
    let (mut used, mut overflow) = ch.header();
    let ranges: Vec<(u64, u64)> = process
        .mm()
        .vmas
        .iter()
        .filter(|(_, v)| v.prot & libc::PROT_WRITE as u64 != 0)
        .map(|(&s, v)| (s, v.end))
        .collect();
    let mut entries = Vec::new();
    for (start, end) in ranges {
        let pages = ((end - start) / PAGE) as usize;
        entries.resize(pages * 8, 0u8);
        if pagemap.seek(SeekFrom::Start(start / PAGE * 8)).is_err()
            || pagemap.read_exact(&mut entries).is_err()
        {
            continue;
        }
        for (i, e) in entries.chunks_exact(8).enumerate() {
            let e = u64::from_le_bytes(e.try_into().unwrap());
            let present = e >> 63 & 1 != 0;
            let exclusive = e >> 56 & 1 != 0;
            if !(present && exclusive) {
                continue;
            }
            if HEADER + used + RECORD > BUF_SIZE {
                overflow = true;
                break;
            }
            let addr = start + i as u64 * PAGE;
            // SAFETY: the record lies inside the mapping (checked above); the source is
            // a present guest page of this process.
            unsafe {
                let rec = ch.base.add(HEADER + used);
                std::ptr::write_unaligned(rec as *mut u64, addr);
                std::ptr::copy_nonoverlapping(addr as *const u8, rec.add(8), PAGE as usize);
            }
            used += RECORD;
        }
    }
    ch.set_header(used, overflow);
}
