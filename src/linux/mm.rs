//! The guest address space: guest mappings, protections and the brk heap.
//!
//! Guest addresses are host addresses (guest_base = 0). The guest may never map
//! over, unmap or reprotect memory that is not its own (ferrite's code cache, heap,
//! stacks and binary): such requests fail as the kernel fails a request for memory it
//! cannot give (ENOMEM; EEXIST for MAP_FIXED_NOREPLACE).

use std::collections::BTreeMap;

pub const PAGE: u64 = 4096;
/// Guest addresses stay below 2^47 (the x86-64 user address space limit).
pub const GUEST_LIMIT: u64 = 1 << 47;

const ENOMEM: i64 = -(libc::ENOMEM as i64);
const EINVAL: i64 = -(libc::EINVAL as i64);
const EEXIST: i64 = -(libc::EEXIST as i64);

/// arm64-only protection bits that x86-64 does not know.
pub const PROT_BTI: u64 = 0x10;
pub const PROT_MTE: u64 = 0x20;

/// What a guest mapping is, for /proc/self/maps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VmaKind {
    Anon,
    File(String),
    Heap,
    Stack,
}

#[derive(Clone, Debug)]
pub struct Vma {
    pub end: u64,
    pub prot: u64,
    pub kind: VmaKind,
}

pub fn page_up(x: u64) -> u64 {
    x.wrapping_add(PAGE - 1) & !(PAGE - 1)
}

/// The guest's address space.
pub struct MemoryMap {
    /// Guest mappings by start address (non-overlapping).
    pub vmas: BTreeMap<u64, Vma>,
    /// Host ranges that belong to ferrite itself.
    protected: Vec<(u64, u64)>,
    pub brk_start: u64,
    pub brk_cur: u64,
}

impl MemoryMap {
    pub fn new(protected: Vec<(u64, u64)>) -> MemoryMap {
        MemoryMap {
            vmas: BTreeMap::new(),
            protected,
            brk_start: 0,
            brk_cur: 0,
        }
    }

    fn hits_protected(&self, start: u64, end: u64) -> bool {
        self.protected.iter().any(|&(s, e)| start < e && s < end)
    }

    /// Record [start, end) as a guest mapping, replacing what was there.
    pub fn insert(&mut self, start: u64, end: u64, prot: u64, kind: VmaKind) {
        self.remove(start, end);
        self.vmas.insert(start, Vma { end, prot, kind });
    }

    /// Forget [start, end), splitting mappings that straddle the edges.
    pub fn remove(&mut self, start: u64, end: u64) {
        let keys: Vec<u64> = self
            .vmas
            .range(..end)
            .filter(|(s, v)| **s < end && v.end > start)
            .map(|(s, _)| *s)
            .collect();
        for s in keys {
            let v = self.vmas.remove(&s).unwrap();
            if s < start {
                self.vmas.insert(
                    s,
                    Vma {
                        end: start,
                        ..v.clone()
                    },
                );
            }
            if v.end > end {
                self.vmas.insert(end, Vma { end: v.end, ..v });
            }
        }
    }

    /// The guest mapping containing `addr`.
    pub fn find(&self, addr: u64) -> Option<(u64, &Vma)> {
        let (s, v) = self.vmas.range(..=addr).next_back()?;
        (addr < v.end).then_some((*s, v))
    }

    pub fn is_executable(&self, addr: u64) -> bool {
        self.find(addr)
            .is_some_and(|(_, v)| v.prot & libc::PROT_EXEC as u64 != 0)
    }

    pub fn mmap(&mut self, addr: u64, len: u64, prot: u64, flags: u64, fd: u64, off: u64) -> i64 {
        let host_prot = prot & !(PROT_BTI | PROT_MTE);
        if len == 0 {
            return EINVAL;
        }
        let len_pg = page_up(len);
        if len_pg == 0 || len_pg > GUEST_LIMIT {
            return ENOMEM;
        }
        let fixed = flags & (libc::MAP_FIXED | libc::MAP_FIXED_NOREPLACE) as u64 != 0;
        if fixed && self.hits_protected(addr, addr.saturating_add(len_pg)) {
            return if flags & libc::MAP_FIXED_NOREPLACE as u64 != 0 {
                EEXIST
            } else {
                ENOMEM
            };
        }
        let r = super::syscall::host_syscall(
            syscalls::Sysno::mmap.id() as u32,
            [addr, len, host_prot, flags, fd, off],
        );
        if r < 0 {
            return r;
        }
        let start = r as u64;
        let kind = if flags & libc::MAP_ANONYMOUS as u64 != 0 {
            VmaKind::Anon
        } else {
            VmaKind::File(
                std::fs::read_link(format!("/proc/self/fd/{}", fd as i32))
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            )
        };
        self.insert(start, start + len_pg, prot, kind);
        r
    }

    pub fn munmap(&mut self, addr: u64, len: u64) -> i64 {
        if addr % PAGE != 0 || len == 0 {
            return EINVAL;
        }
        let end = addr.saturating_add(page_up(len));
        if self.hits_protected(addr, end) {
            return EINVAL;
        }
        let r = super::syscall::host_syscall(
            syscalls::Sysno::munmap.id() as u32,
            [addr, len, 0, 0, 0, 0],
        );
        if r == 0 {
            self.remove(addr, end);
        }
        r
    }

    pub fn mprotect(&mut self, addr: u64, len: u64, prot: u64) -> i64 {
        if addr % PAGE != 0 {
            return EINVAL;
        }
        let end = addr.saturating_add(page_up(len));
        if self.hits_protected(addr, end) {
            return ENOMEM;
        }
        let r = super::syscall::host_syscall(
            syscalls::Sysno::mprotect.id() as u32,
            [addr, len, prot & !(PROT_BTI | PROT_MTE), 0, 0, 0],
        );
        if r == 0 {
            // Re-record the affected parts with the new protection.
            let parts: Vec<(u64, Vma)> = self
                .vmas
                .range(..end)
                .filter(|(s, v)| **s < end && v.end > addr)
                .map(|(s, v)| (*s, v.clone()))
                .collect();
            for (s, v) in parts {
                let (a, b) = (s.max(addr), v.end.min(end));
                self.insert(a, b, prot, v.kind.clone());
            }
        }
        r
    }

    pub fn mremap(&mut self, old: u64, old_len: u64, new_len: u64, flags: u64, new_addr: u64) -> i64 {
        if flags & libc::MREMAP_FIXED as u64 != 0
            && self.hits_protected(new_addr, new_addr.saturating_add(page_up(new_len)))
        {
            return EINVAL;
        }
        let r = super::syscall::host_syscall(
            syscalls::Sysno::mremap.id() as u32,
            [old, old_len, new_len, flags, new_addr, 0],
        );
        if r >= 0 {
            let (prot, kind) = self
                .find(old)
                .map(|(_, v)| (v.prot, v.kind.clone()))
                .unwrap_or((0, VmaKind::Anon));
            if flags & 4 == 0 {
                // Without MREMAP_DONTUNMAP the old range is gone.
                self.remove(old, old + page_up(old_len));
            }
            self.insert(r as u64, r as u64 + page_up(new_len), prot, kind);
        }
        r
    }

    pub fn madvise(&mut self, addr: u64, len: u64, advice: u64) -> i64 {
        super::syscall::host_syscall(
            syscalls::Sysno::madvise.id() as u32,
            [addr, len, advice, 0, 0, 0],
        )
    }

    /// `brk(new)`: returns the new (or unchanged) break, as the kernel does.
    pub fn brk(&mut self, new: u64) -> u64 {
        if new < self.brk_start {
            return self.brk_cur;
        }
        let old_top = page_up(self.brk_cur);
        let new_top = page_up(new);
        if new_top > old_top {
            let r = super::syscall::host_syscall(
                syscalls::Sysno::mmap.id() as u32,
                [
                    old_top,
                    new_top - old_top,
                    (libc::PROT_READ | libc::PROT_WRITE) as u64,
                    (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE) as u64,
                    u64::MAX,
                    0,
                ],
            );
            if r < 0 || r as u64 != old_top {
                return self.brk_cur;
            }
            let prot = (libc::PROT_READ | libc::PROT_WRITE) as u64;
            self.insert(old_top, new_top, prot, VmaKind::Heap);
        } else if new_top < old_top {
            super::syscall::host_syscall(
                syscalls::Sysno::munmap.id() as u32,
                [new_top, old_top - new_top, 0, 0, 0, 0],
            );
            self.remove(new_top, old_top);
        }
        self.brk_cur = new;
        new
    }
}
