//! The guest address space: guest mappings (VMAs), their protections and the brk heap,
//! and the memory syscalls that change them (mmap, munmap, mprotect, mremap, madvise,
//! brk), with the arm64 kernel's argument checks and errnos.
//!
//! Guest addresses are host addresses (guest_base = 0), so ferrite's own memory (code
//! cache, heap, thread stacks, its binary, the host vDSO) lives in the same address
//! space. The guest must never map over, unmap, reprotect or advise that memory. The rule
//! used here: **every host mapping that is not a recorded guest VMA is ferrite's**, and
//! the guest sees it as a hole:
//! - `munmap` over it unmaps only the guest VMAs in the range (unmapping a hole is a
//!   no-op on a real kernel too);
//! - `mprotect`/`madvise` over it apply to the guest VMAs before the hole and fail with
//!   `ENOMEM`, as the kernel does for an unmapped range;
//! - `mmap(MAP_FIXED)`/`mremap(MREMAP_FIXED)` whose target is not all guest memory first
//!   claim the non-guest parts with `MAP_FIXED_NOREPLACE` placeholders: a claim fails
//!   exactly where something (ferrite's memory) is mapped, and the request then fails
//!   with `ENOMEM` without having touched anything. Claiming is atomic in the host
//!   kernel, so another ferrite thread allocating at the same time cannot be clobbered.
//!   `/proc/self/maps` is read only to release placeholders after a failed host call.
//!
//! This module may use the host syscall interface and `/proc/self/maps`; it knows nothing
//! of the engine. Ranges whose executable guest mappings went away or lost `PROT_EXEC`
//! are queued in [`MemoryMap::stale_code`] for the syscall layer to invalidate.

use std::collections::BTreeMap;

use super::syscall::host_syscall;
use syscalls::Sysno;

pub const PAGE: u64 = 4096;
/// Guest addresses stay below 2^47 (the x86-64 user address space limit).
pub const GUEST_LIMIT: u64 = 1 << 47;
/// The arm64 kernel's TASK_SIZE with 48-bit virtual addresses: the bound its argument
/// checks use (`munmap`, `mremap`), even though ferrite can only hand out addresses below
/// [`GUEST_LIMIT`].
pub const ARM64_TASK_SIZE: u64 = 1 << 48;

const ENOMEM: i64 = -(libc::ENOMEM as i64);
const EINVAL: i64 = -(libc::EINVAL as i64);
const EFAULT: i64 = -(libc::EFAULT as i64);
const EBADF: i64 = -(libc::EBADF as i64);
const EPERM: i64 = -(libc::EPERM as i64);

/// arm64-only protection bits that x86-64 does not know.
pub const PROT_BTI: u64 = 0x10;
pub const PROT_MTE: u64 = 0x20;
const PROT_SEM: u64 = 0x8;
const PROT_GROWSDOWN: u64 = 0x0100_0000;
const PROT_GROWSUP: u64 = 0x0200_0000;
const PROT_RWX: u64 = (libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC) as u64;
const PROT_EXEC: u64 = libc::PROT_EXEC as u64;

const MAP_TYPE: u64 = 0x0f;
const MAP_SHARED: u64 = 0x01;
const MAP_SHARED_VALIDATE: u64 = 0x03;
/// x86-64's MAP_32BIT. arm64 has no such flag: its kernel ignores the bit (or rejects it
/// under MAP_SHARED_VALIDATE, as x86-64 does too).
const MAP_32BIT: u64 = 0x40;
const MAP_FIXED: u64 = libc::MAP_FIXED as u64;
const MAP_FIXED_NOREPLACE: u64 = libc::MAP_FIXED_NOREPLACE as u64;
const MAP_ANONYMOUS: u64 = libc::MAP_ANONYMOUS as u64;

const MREMAP_MAYMOVE: u64 = 1;
const MREMAP_FIXED: u64 = 2;
const MREMAP_DONTUNMAP: u64 = 4;

// Advice values that discard or replace page contents.
const MADV_DONTNEED: u64 = 4;
const MADV_FREE: u64 = 8;
const MADV_REMOVE: u64 = 9;
const MADV_DONTNEED_LOCKED: u64 = 24;
const MADV_DONTFORK: u64 = 10;
const MADV_WIPEONFORK: u64 = 18;

/// What a guest mapping is, for /proc/self/maps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VmaKind {
    Anon,
    File(String),
    Heap,
    Stack,
    /// A SysV shared memory attachment (`shmat`): `base` is the guest address of the
    /// segment's first byte in this attachment (so `shmdt(base)` detaches it), `att` a
    /// number unique to the attachment.
    Shm {
        base: u64,
        att: u64,
    },
    /// The completion ring the kernel maps for an AIO context (`io_setup`).
    Aio,
}

#[derive(Clone, Debug)]
pub struct Vma {
    pub end: u64,
    pub prot: u64,
    pub kind: VmaKind,
    /// Shared (`MAP_SHARED`, SysV shm, the AIO ring): `s` in /proc/self/maps.
    pub shared: bool,
    /// Sealed by `mseal`: no unmapping, remapping, reprotecting or discarding.
    pub sealed: bool,
}

impl Vma {
    pub fn new(end: u64, prot: u64, kind: VmaKind) -> Vma {
        Vma {
            end,
            prot,
            kind,
            shared: false,
            sealed: false,
        }
    }
}

pub fn page_up(x: u64) -> u64 {
    x.wrapping_add(PAGE - 1) & !(PAGE - 1)
}

fn sys(nr: Sysno, a: [u64; 6]) -> i64 {
    host_syscall(nr.id() as u32, a)
}

/// The guest's address space.
pub struct MemoryMap {
    /// Guest mappings by start address (non-overlapping).
    pub vmas: BTreeMap<u64, Vma>,
    /// Host ranges known to belong to ferrite itself (the code cache). Everything that is
    /// not a guest VMA is treated as ferrite's anyway; these are refused without asking
    /// the host.
    protected: Vec<(u64, u64)>,
    pub brk_start: u64,
    pub brk_cur: u64,
    /// The guest's RLIMIT_AS (bytes), enforced here because the host limit is not
    /// changed for the guest (it would constrain ferrite). `u64::MAX`: unlimited.
    pub as_limit: u64,
    /// Guest ranges whose translations are stale (an executable mapping was unmapped,
    /// replaced or lost PROT_EXEC). The syscall layer drains it and invalidates.
    pub stale_code: Vec<(u64, u64)>,
}

impl MemoryMap {
    pub fn new(protected: Vec<(u64, u64)>) -> MemoryMap {
        MemoryMap {
            vmas: BTreeMap::new(),
            protected,
            brk_start: 0,
            brk_cur: 0,
            as_limit: u64::MAX,
            stale_code: Vec::new(),
        }
    }

    fn hits_protected(&self, start: u64, end: u64) -> bool {
        self.protected.iter().any(|&(s, e)| start < e && s < end)
    }

    /// Record [start, end) as a guest mapping, replacing what was there.
    pub fn insert(&mut self, start: u64, end: u64, prot: u64, kind: VmaKind) {
        self.insert_vma(start, Vma::new(end, prot, kind));
    }

    /// Record `v` (which ends at `v.end`) as the guest mapping at `start`, replacing
    /// what was there.
    pub fn insert_vma(&mut self, start: u64, v: Vma) {
        self.remove(start, v.end);
        self.vmas.insert(start, v);
    }

    /// Is any guest mapping overlapping [start, end) sealed (`mseal`)?
    pub fn sealed_in(&self, start: u64, end: u64) -> bool {
        self.overlapping(start, end)
            .iter()
            .any(|(_, _, v)| v.sealed)
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
            let Some(v) = self.vmas.remove(&s) else {
                continue;
            };
            if v.prot & PROT_EXEC != 0 {
                self.stale_code.push((s.max(start), v.end.min(end)));
            }
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
            .is_some_and(|(_, v)| v.prot & PROT_EXEC != 0)
    }

    /// The guest VMAs overlapping [start, end), clipped to it, in address order.
    fn overlapping(&self, start: u64, end: u64) -> Vec<(u64, u64, Vma)> {
        if start >= end {
            return Vec::new();
        }
        let first = self.find(start).map_or(start, |(s, _)| s);
        self.vmas
            .range(first..end)
            .filter(|(_, v)| v.end > start)
            .map(|(s, v)| ((*s).max(start), v.end.min(end), v.clone()))
            .collect()
    }

    /// The covered parts of [start, end), adjacent VMAs merged.
    pub fn pieces(&self, start: u64, end: u64) -> Vec<(u64, u64)> {
        let mut out: Vec<(u64, u64)> = Vec::new();
        for (s, e, _) in self.overlapping(start, end) {
            match out.last_mut() {
                Some(last) if last.1 == s => last.1 = e,
                _ => out.push((s, e)),
            }
        }
        out
    }

    /// The parts of [start, end) that are not guest memory.
    pub fn gaps(&self, start: u64, end: u64) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut at = start;
        for (s, e) in self.pieces(start, end) {
            if s > at {
                out.push((at, s));
            }
            at = e;
        }
        if at < end {
            out.push((at, end));
        }
        out
    }

    /// The first address of [start, end) that is not guest memory, if any.
    pub fn first_gap(&self, start: u64, end: u64) -> Option<u64> {
        self.gaps(start, end).first().map(|g| g.0)
    }

    /// Bytes of guest memory inside [start, end).
    fn bytes_in(&self, start: u64, end: u64) -> u64 {
        self.pieces(start, end).iter().map(|(s, e)| e - s).sum()
    }

    /// Total guest memory (the kernel's total_vm, in bytes).
    pub fn mapped_bytes(&self) -> u64 {
        self.vmas.iter().map(|(s, v)| v.end - s).sum()
    }

    /// Would growing the guest by `grow` bytes (after `freed` are released) break
    /// RLIMIT_AS? Cheap when no limit is set.
    fn over_as_limit(&self, grow: u64, freed: u64) -> bool {
        self.as_limit != u64::MAX
            && (self.mapped_bytes() - freed).saturating_add(grow) > self.as_limit
    }

    /// Claim the non-guest parts of [start, end) with PROT_NONE placeholders so a
    /// following MAP_FIXED/MREMAP_FIXED can only replace guest memory. Returns the
    /// claimed ranges, or `None` (having released any partial claim) when some part is
    /// occupied by ferrite's memory.
    pub(crate) fn claim_gaps(&mut self, start: u64, end: u64) -> Option<Vec<(u64, u64)>> {
        if self.hits_protected(start, end) {
            return None;
        }
        let mut claimed = Vec::new();
        for (s, e) in self.gaps(start, end) {
            let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
            let r = sys(
                Sysno::mmap,
                [
                    s,
                    e - s,
                    libc::PROT_NONE as u64,
                    (flags | libc::MAP_FIXED_NOREPLACE) as u64,
                    u64::MAX,
                    0,
                ],
            );
            if r == s as i64 {
                claimed.push((s, e));
                continue;
            }
            if r >= 0 {
                // A kernel that ignored MAP_FIXED_NOREPLACE put it elsewhere: undo.
                sys(Sysno::munmap, [r as u64, e - s, 0, 0, 0, 0]);
            }
            release_claims(&claimed);
            return None;
        }
        Some(claimed)
    }

    /// `mmap(addr, len, prot, flags, fd, off)` with arm64 semantics.
    pub fn mmap(&mut self, addr: u64, len: u64, prot: u64, flags: u64, fd: u64, off: u64) -> i64 {
        // The arm64 kernel ignores PROT_BTI/PROT_MTE in mmap when the CPU lacks them
        // (ferrite advertises neither); x86-64 would ignore them too, but they must not
        // reach the host as bits it might one day define.
        let host_prot = prot & !(PROT_BTI | PROT_MTE);
        let mut host_flags = flags;
        if flags & MAP_TYPE != MAP_SHARED_VALIDATE {
            host_flags &= !MAP_32BIT;
        }
        let len_pg = page_up(len);
        let fixed = flags & MAP_FIXED != 0;
        let mut hint = addr;
        let mut claims = Vec::new();
        if fixed || flags & MAP_FIXED_NOREPLACE != 0 {
            let end = addr.wrapping_add(len_pg);
            if fixed && end > addr && self.sealed_in(addr, end) {
                if let Some(e) = mmap_precheck(addr, len, flags, fd, off) {
                    return e;
                }
                return EPERM;
            }
            let all_guest = len_pg != 0 && end > addr && self.first_gap(addr, end).is_none();
            if !all_guest || end > GUEST_LIMIT {
                // The rare path: check arguments in the kernel's order before refusing.
                if let Some(e) = mmap_precheck(addr, len, flags, fd, off) {
                    return e;
                }
                if end > GUEST_LIMIT || end <= addr {
                    return ENOMEM;
                }
                if fixed && flags & MAP_FIXED_NOREPLACE == 0 {
                    match self.claim_gaps(addr, end) {
                        Some(c) => claims = c,
                        None => return ENOMEM,
                    }
                } else if self.hits_protected(addr, end) {
                    return -(libc::EEXIST as i64);
                }
            }
            if self.over_as_limit(len_pg, if fixed { self.bytes_in(addr, end) } else { 0 }) {
                release_claims(&claims);
                return ENOMEM;
            }
        } else {
            if addr >= GUEST_LIMIT || addr.saturating_add(len_pg) > GUEST_LIMIT {
                // A hint the guest cannot have: the kernel treats hints as hints.
                hint = 0;
            }
            if len_pg != 0 && self.over_as_limit(len_pg, 0) {
                if let Some(e) = mmap_precheck(addr, len, flags, fd, off) {
                    return e;
                }
                return ENOMEM;
            }
        }
        let r = sys(Sysno::mmap, [hint, len, host_prot, host_flags, fd, off]);
        if r < 0 {
            release_claims(&claims);
            return r;
        }
        let start = r as u64;
        if start.saturating_add(len_pg) > GUEST_LIMIT {
            // Only possible on a 5-level-paging host; the guest cannot use it.
            sys(Sysno::munmap, [start, len, 0, 0, 0, 0]);
            return ENOMEM;
        }
        let kind = if flags & MAP_ANONYMOUS != 0 {
            VmaKind::Anon
        } else {
            VmaKind::File(
                std::fs::read_link(format!("/proc/self/fd/{}", fd as i32))
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            )
        };
        let mut v = Vma::new(start + len_pg, prot & (PROT_RWX | PROT_SEM), kind);
        v.shared = matches!(flags & MAP_TYPE, MAP_SHARED | MAP_SHARED_VALIDATE);
        self.insert_vma(start, v);
        r
    }

    /// `munmap(addr, len)`: unmaps the guest memory in the range; ferrite's memory in it
    /// is left alone (to the guest it is a hole, and unmapping a hole succeeds).
    pub fn munmap(&mut self, addr: u64, len: u64) -> i64 {
        let len_pg = page_up(len);
        if !addr.is_multiple_of(PAGE)
            || addr > ARM64_TASK_SIZE
            || len > ARM64_TASK_SIZE - addr
            || len_pg == 0
        {
            return EINVAL;
        }
        let end = (addr + len_pg).min(GUEST_LIMIT);
        if addr >= end {
            return 0;
        }
        if self.sealed_in(addr, end) {
            return EPERM;
        }
        if !self.hits_protected(addr, end) && self.first_gap(addr, end).is_none() {
            let r = sys(Sysno::munmap, [addr, end - addr, 0, 0, 0, 0]);
            if r == 0 {
                self.remove(addr, end);
            }
            return r;
        }
        for (s, e) in self.pieces(addr, end) {
            let r = sys(Sysno::munmap, [s, e - s, 0, 0, 0, 0]);
            if r < 0 {
                return r;
            }
            self.remove(s, e);
        }
        0
    }

    /// `mprotect(addr, len, prot)`.
    pub fn mprotect(&mut self, addr: u64, len: u64, prot: u64) -> i64 {
        // The kernel's checks, in its order (mm/mprotect.c).
        let grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
        if grows == PROT_GROWSDOWN | PROT_GROWSUP || !addr.is_multiple_of(PAGE) {
            return EINVAL;
        }
        if len == 0 {
            return 0;
        }
        let len_pg = page_up(len);
        let end = addr.wrapping_add(len_pg);
        if end <= addr {
            return ENOMEM;
        }
        // arch_validate_prot: PROT_BTI/PROT_MTE only exist when the CPU has BTI/MTE,
        // which ferrite does not advertise.
        if (prot & !grows) & !(PROT_RWX | PROT_SEM) != 0 {
            return EINVAL;
        }
        if self.sealed_in(addr, end) {
            return EPERM;
        }
        // As the kernel: the contiguous guest mappings from `addr` change, up to the first
        // hole (ferrite's own memory is one), which gives ENOMEM.
        let upto = self.first_gap(addr, end);
        let (host_end, result) = match upto {
            None => (end, 0),
            Some(g) => (g, ENOMEM),
        };
        if host_end > addr {
            let r = sys(Sysno::mprotect, [addr, host_end - addr, prot, 0, 0, 0]);
            if r < 0 {
                return r;
            }
            self.reprotect(addr, host_end, prot & (PROT_RWX | PROT_SEM));
        }
        result
    }

    /// Record a protection change of guest memory in [start, end).
    fn reprotect(&mut self, start: u64, end: u64, prot: u64) {
        for (s, e, v) in self.overlapping(start, end) {
            // Code that lost PROT_EXEC is stale. So is code translated while its page
            // was not writable that becomes writable and stays executable: it was not
            // watched for writes (see `smc`), so the guest could change it with plain
            // stores that no translation would notice.
            let write = libc::PROT_WRITE as u64;
            let gains_write = v.prot & write == 0 && prot & write != 0;
            if v.prot & PROT_EXEC != 0 && (prot & PROT_EXEC == 0 || gains_write) {
                self.stale_code.push((s, e));
            }
            // Re-inserting must not count as losing the code when it stays executable.
            let stale = self.stale_code.len();
            self.insert_vma(s, Vma { end: e, prot, ..v });
            self.stale_code.truncate(stale);
        }
    }

    /// `mremap(old, old_len, new_len, flags, new_addr)`.
    pub fn mremap(
        &mut self,
        old: u64,
        old_len: u64,
        new_len: u64,
        flags: u64,
        new_addr: u64,
    ) -> i64 {
        // The kernel's checks, in its order (mm/mremap.c).
        if flags & !(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP) != 0
            || (flags & MREMAP_FIXED != 0 && flags & MREMAP_MAYMOVE == 0)
            || (flags & MREMAP_DONTUNMAP != 0
                && (flags & MREMAP_MAYMOVE == 0 || old_len != new_len))
            || !old.is_multiple_of(PAGE)
        {
            return EINVAL;
        }
        let old_pg = page_up(old_len);
        let new_pg = page_up(new_len);
        if new_pg == 0 || (old_len != 0 && old_pg == 0) {
            return EINVAL;
        }
        // Parameter checks before the source lookup (check_mremap_params, Linux 6.15+).
        if new_pg > ARM64_TASK_SIZE {
            return EINVAL;
        }
        if flags & (MREMAP_FIXED | MREMAP_DONTUNMAP) != 0
            && (new_addr > ARM64_TASK_SIZE - new_pg
                || !new_addr.is_multiple_of(PAGE)
                || (flags & MREMAP_FIXED != 0
                    && old.saturating_add(old_pg) > new_addr
                    && new_addr + new_pg > old))
        {
            return EINVAL;
        }
        // mseal: neither the source nor a fixed target may be sealed.
        if self.sealed_in(old, old.saturating_add(old_pg.max(PAGE)))
            || (flags & MREMAP_FIXED != 0 && self.sealed_in(new_addr, new_addr + new_pg))
        {
            return EPERM;
        }
        // The source must be guest memory: anything else looks unmapped (EFAULT).
        if self.hits_protected(old, old + 1) || self.find(old).is_none() {
            return EFAULT;
        }
        if flags & (MREMAP_FIXED | MREMAP_DONTUNMAP) == 0 && new_pg <= old_pg {
            // Same size: nothing to do. Shrinking: the tail is unmapped (the kernel does
            // not require one VMA here, so the tail may span holes, or ferrite's memory,
            // which stays).
            if new_pg < old_pg {
                let r = self.munmap(old + new_pg, old_pg - new_pg);
                if r < 0 {
                    return r;
                }
            }
            return old as i64;
        }
        let src_end = old.saturating_add(old_pg);
        if self.hits_protected(old, src_end) || self.first_gap(old, src_end).is_some() {
            return EFAULT;
        }
        let proto = self
            .find(old)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| Vma::new(0, 0, VmaKind::Anon));
        let prot = proto.prot;
        if new_pg > old_pg && self.over_as_limit(new_pg - old_pg, 0) {
            return ENOMEM;
        }
        let mut claims = Vec::new();
        if flags & MREMAP_FIXED != 0 {
            let tend = new_addr + new_pg;
            if tend > GUEST_LIMIT {
                return ENOMEM;
            }
            match self.claim_gaps(new_addr, tend) {
                Some(c) => claims = c,
                None => return ENOMEM,
            }
        }
        let r = sys(Sysno::mremap, [old, old_len, new_len, flags, new_addr, 0]);
        if r < 0 {
            release_claims(&claims);
            return r;
        }
        let start = r as u64;
        if flags & MREMAP_FIXED != 0 {
            self.remove(new_addr, new_addr + new_pg);
        }
        if flags & MREMAP_DONTUNMAP == 0 && old_len != 0 {
            self.remove(old, old + old_pg);
        } else if flags & MREMAP_DONTUNMAP != 0 && prot & PROT_EXEC != 0 {
            // The old range stays mapped but its pages are gone.
            self.stale_code.push((old, old + old_pg));
        }
        let kind = match proto.kind {
            // A moved attachment is detached at its new place.
            VmaKind::Shm { base, att } => VmaKind::Shm {
                base: start.wrapping_sub(old.wrapping_sub(base)),
                att,
            },
            k => k,
        };
        self.insert_vma(
            start,
            Vma {
                end: start + new_pg,
                kind,
                ..proto
            },
        );
        r
    }

    /// `madvise(addr, len, advice)`.
    pub fn madvise(&mut self, addr: u64, len: u64, advice: u64) -> i64 {
        let len_pg = page_up(len);
        let end = addr.wrapping_add(len_pg);
        let discards = matches!(
            advice,
            MADV_DONTNEED | MADV_FREE | MADV_REMOVE | MADV_DONTNEED_LOCKED
        );
        // mseal: advice that would discard a sealed read-only private anonymous
        // mapping's contents is refused.
        if (discards || matches!(advice, MADV_DONTFORK | MADV_WIPEONFORK))
            && len_pg != 0
            && end > addr
            && self.overlapping(addr, end).iter().any(|(_, _, v)| {
                v.sealed && !v.shared && v.prot & libc::PROT_WRITE as u64 == 0 && {
                    matches!(v.kind, VmaKind::Anon | VmaKind::Heap | VmaKind::Stack)
                }
            })
        {
            return EPERM;
        }
        let covered = len_pg != 0
            && end > addr
            && !self.hits_protected(addr, end)
            && self.first_gap(addr, end).is_none();
        if covered || len == 0 {
            let r = sys(Sysno::madvise, [addr, len, advice, 0, 0, 0]);
            if r == 0 && discards && len_pg != 0 {
                self.discarded(addr, end);
            }
            return r;
        }
        // The kernel's checks (advice, alignment: a zero-length call does just those),
        // then the length; then the advice applies to the mapped parts and the
        // unmapped ones (here also ferrite's memory) give ENOMEM.
        let r = sys(Sysno::madvise, [addr, 0, advice, 0, 0, 0]);
        if r < 0 {
            return r;
        }
        if len_pg == 0 || end < addr {
            return EINVAL;
        }
        let end = end.min(GUEST_LIMIT);
        for (s, e) in self.pieces(addr, end) {
            let r = sys(Sysno::madvise, [s, e - s, advice, 0, 0, 0]);
            if r < 0 {
                return r;
            }
            if discards {
                self.discarded(s, e);
            }
        }
        ENOMEM
    }

    /// `mseal(addr, len, flags)`: the mappings in the range can no longer be unmapped,
    /// moved, reprotected or discarded (Linux 6.10+). Only the guest's view is sealed;
    /// the host mappings stay ordinary, so ferrite can still write-protect translated code.
    pub fn mseal(&mut self, addr: u64, len: u64, flags: u64) -> i64 {
        if flags != 0 || !addr.is_multiple_of(PAGE) {
            return EINVAL;
        }
        let len_pg = page_up(len);
        if len != 0 && len_pg == 0 {
            return EINVAL;
        }
        let end = addr.wrapping_add(len_pg);
        if end < addr {
            return EINVAL;
        }
        if end == addr {
            return 0;
        }
        // Every page must be mapped (ferrite's memory is a hole to the guest).
        if end > GUEST_LIMIT
            || self.hits_protected(addr, end)
            || self.first_gap(addr, end).is_some()
        {
            return ENOMEM;
        }
        for (s, e, v) in self.overlapping(addr, end) {
            let stale = self.stale_code.len();
            self.insert_vma(
                s,
                Vma {
                    end: e,
                    sealed: true,
                    ..v
                },
            );
            self.stale_code.truncate(stale);
        }
        0
    }

    /// Contents of [start, end) were discarded: translations of code there are stale.
    fn discarded(&mut self, start: u64, end: u64) {
        for (s, e, v) in self.overlapping(start, end) {
            if v.prot & PROT_EXEC != 0 {
                self.stale_code.push((s, e));
            }
        }
    }

    /// `brk(new)`: returns the new (or unchanged) break, as the kernel does.
    pub fn brk(&mut self, new: u64) -> u64 {
        if new < self.brk_start || new > GUEST_LIMIT {
            return self.brk_cur;
        }
        let old_top = page_up(self.brk_cur);
        let new_top = page_up(new);
        if new_top > old_top {
            // The kernel keeps a page of gap below the next mapping.
            let guard = new_top.saturating_add(PAGE).min(GUEST_LIMIT);
            if !self.pieces(old_top, guard).is_empty() || self.over_as_limit(new_top - old_top, 0) {
                return self.brk_cur;
            }
            let r = sys(
                Sysno::mmap,
                [
                    old_top,
                    new_top - old_top,
                    (libc::PROT_READ | libc::PROT_WRITE) as u64,
                    (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE) as u64,
                    u64::MAX,
                    0,
                ],
            );
            if r != old_top as i64 {
                if r >= 0 {
                    sys(Sysno::munmap, [r as u64, new_top - old_top, 0, 0, 0, 0]);
                }
                return self.brk_cur;
            }
            let prot = (libc::PROT_READ | libc::PROT_WRITE) as u64;
            self.insert(old_top, new_top, prot, VmaKind::Heap);
        } else if new_top < old_top && self.munmap(new_top, old_top - new_top) < 0 {
            return self.brk_cur;
        }
        self.brk_cur = new;
        new
    }
}

/// The checks `mmap` makes before it looks at the address space, in the arm64 kernel's
/// order (sys_mmap, ksys_mmap_pgoff, do_mmap), for the paths that refuse a request
/// without asking the host.
fn mmap_precheck(addr: u64, len: u64, flags: u64, fd: u64, off: u64) -> Option<i64> {
    if !off.is_multiple_of(PAGE) {
        return Some(EINVAL);
    }
    if flags & MAP_ANONYMOUS == 0 {
        // SAFETY: F_GETFD only queries the descriptor table.
        if unsafe { libc::fcntl(fd as i32, libc::F_GETFD) } < 0 {
            return Some(EBADF);
        }
    }
    if len == 0 {
        return Some(EINVAL);
    }
    if page_up(len) == 0 {
        return Some(ENOMEM);
    }
    if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0 && !addr.is_multiple_of(PAGE) {
        return Some(EINVAL);
    }
    None
}

/// Release PROT_NONE placeholders taken by `claim_gaps` after the host call they guarded
/// failed. A failed call may already have unmapped them (and another ferrite thread may
/// have mapped something there since), so only what is still an anonymous PROT_NONE
/// mapping inside a claimed range is unmapped. Reads /proc/self/maps: this is the rare
/// path of a rare path.
pub(crate) fn release_claims(claims: &[(u64, u64)]) {
    if claims.is_empty() {
        return;
    }
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    for line in maps.lines() {
        let Some((s, e, perms, anon)) = parse_maps_line(line) else {
            continue;
        };
        if perms != "---p" || !anon {
            continue;
        }
        for &(cs, ce) in claims {
            let (a, b) = (s.max(cs), e.min(ce));
            if a < b {
                sys(Sysno::munmap, [a, b - a, 0, 0, 0, 0]);
            }
        }
    }
}

/// One /proc/self/maps line: start, end, permissions, and whether it is anonymous.
fn parse_maps_line(line: &str) -> Option<(u64, u64, &str, bool)> {
    let mut it = line.split_ascii_whitespace();
    let range = it.next()?;
    let perms = it.next()?;
    let _off = it.next()?;
    let _dev = it.next()?;
    let inode = it.next()?;
    let path = it.next();
    let (s, e) = range.split_once('-')?;
    let s = u64::from_str_radix(s, 16).ok()?;
    let e = u64::from_str_radix(e, 16).ok()?;
    Some((s, e, perms, inode == "0" && path.is_none()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map_with(ranges: &[(u64, u64, u64)]) -> MemoryMap {
        let mut m = MemoryMap::new(vec![]);
        for &(s, e, p) in ranges {
            m.insert(s, e, p, VmaKind::Anon);
        }
        m
    }

    #[test]
    fn pieces_and_gaps() {
        let m = map_with(&[
            (0x1000, 0x3000, 3),
            (0x3000, 0x4000, 1),
            (0x6000, 0x8000, 3),
        ]);
        assert_eq!(
            m.pieces(0x0, 0x9000),
            vec![(0x1000, 0x4000), (0x6000, 0x8000)]
        );
        assert_eq!(
            m.gaps(0x0, 0x9000),
            vec![(0x0, 0x1000), (0x4000, 0x6000), (0x8000, 0x9000)]
        );
        assert_eq!(m.gaps(0x2000, 0x4000), vec![]);
        assert_eq!(m.first_gap(0x2000, 0x7000), Some(0x4000));
        assert_eq!(m.bytes_in(0x2000, 0x7000), 0x3000);
        assert_eq!(m.mapped_bytes(), 0x5000);
    }

    #[test]
    fn remove_splits_and_marks_code_stale() {
        let mut m = map_with(&[(0x1000, 0x5000, 5)]);
        m.remove(0x2000, 0x3000);
        assert_eq!(
            m.pieces(0, 0x6000),
            vec![(0x1000, 0x2000), (0x3000, 0x5000)]
        );
        assert_eq!(m.stale_code, vec![(0x2000, 0x3000)]);
    }

    #[test]
    fn reprotect_marks_lost_exec_and_gained_write() {
        let mut m = map_with(&[(0x1000, 0x3000, 5), (0x5000, 0x6000, 1)]);
        // RX -> RWX: code that was not watched for writes is stale.
        m.reprotect(0x1000, 0x2000, 7);
        assert_eq!(m.stale_code, vec![(0x1000, 0x2000)]);
        m.stale_code.clear();
        // RWX -> RWX and RWX -> RX: nothing lost.
        m.reprotect(0x1000, 0x2000, 7);
        m.reprotect(0x1000, 0x2000, 5);
        assert!(m.stale_code.is_empty());
        // R -> RW: no code.
        m.reprotect(0x5000, 0x6000, 3);
        assert!(m.stale_code.is_empty());
        // RX -> RW: PROT_EXEC lost.
        m.reprotect(0x1000, 0x2000, 3);
        assert_eq!(m.stale_code, vec![(0x1000, 0x2000)]);
        assert_eq!(m.find(0x1000).unwrap().1.prot, 3);
        assert_eq!(m.find(0x2000).unwrap().1.prot, 5);
    }

    #[test]
    fn maps_line() {
        let l = "7f0000000000-7f0000001000 ---p 00000000 00:00 0 ";
        assert_eq!(
            parse_maps_line(l),
            Some((0x7f00_0000_0000, 0x7f00_0000_1000, "---p", true))
        );
        let l = "555555554000-555555556000 r--p 00000000 08:01 1234   /bin/x";
        assert_eq!(parse_maps_line(l).map(|x| x.3), Some(false));
    }

    /// A private anonymous host mapping for the tests below.
    fn host_map(len: u64) -> u64 {
        let r = sys(
            Sysno::mmap,
            [
                0,
                len,
                3,
                (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as u64,
                u64::MAX,
                0,
            ],
        );
        assert!(r > 0);
        r as u64
    }

    #[test]
    fn fixed_map_over_non_guest_memory_is_refused() {
        // Four pages: the guest owns the first two, "ferrite" the last two.
        let base = host_map(4 * PAGE);
        let mut m = MemoryMap::new(vec![]);
        m.insert(base, base + 2 * PAGE, 3, VmaKind::Anon);
        let flags = (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED) as u64;
        assert_eq!(m.mmap(base + PAGE, 2 * PAGE, 3, flags, u64::MAX, 0), ENOMEM);
        // Nothing was touched: the "ferrite" page still holds its data.
        // SAFETY: base+2 pages is inside the test's own RW mapping.
        unsafe { *((base + 2 * PAGE) as *mut u8) = 7 };
        assert_eq!(m.mmap(base, 2 * PAGE, 3, flags, u64::MAX, 0), base as i64);
        // SAFETY: as above.
        assert_eq!(unsafe { *((base + 2 * PAGE) as *const u8) }, 7);
        // munmap over both unmaps only the guest part.
        assert_eq!(m.munmap(base, 4 * PAGE), 0);
        // SAFETY: as above; the page was not unmapped.
        assert_eq!(unsafe { *((base + 2 * PAGE) as *const u8) }, 7);
        // mprotect over a hole or ferrite memory: ENOMEM.
        assert_eq!(m.mprotect(base + 2 * PAGE, PAGE, 1), ENOMEM);
        sys(Sysno::munmap, [base, 4 * PAGE, 0, 0, 0, 0]);
    }

    #[test]
    fn mremap_and_madvise_leave_non_guest_memory_alone() {
        // Six pages: guest owns 0-1 and 4-5; "ferrite" owns 2-3.
        let base = host_map(6 * PAGE);
        let mut m = MemoryMap::new(vec![]);
        m.insert(base, base + 2 * PAGE, 3, VmaKind::Anon);
        m.insert(base + 4 * PAGE, base + 6 * PAGE, 3, VmaKind::Anon);
        let at = |i: u64| (base + i * PAGE) as *mut u8;
        for i in 0..6 {
            // SAFETY: every page of the test's own RW mapping.
            unsafe { *at(i) = 10 + i as u8 };
        }
        // madvise(DONTNEED) over everything: guest pages zeroed, the rest kept, ENOMEM.
        assert_eq!(m.madvise(base, 6 * PAGE, MADV_DONTNEED), ENOMEM);
        // SAFETY: as above.
        unsafe {
            assert_eq!((*at(0), *at(2), *at(3), *at(5)), (0, 12, 13, 0));
        }
        // mremap with ferrite memory as the source: EFAULT.
        assert_eq!(m.mremap(base + 2 * PAGE, PAGE, PAGE, 0, 0), EFAULT);
        // MREMAP_FIXED onto ferrite memory: ENOMEM, nothing moved.
        let fixed = MREMAP_MAYMOVE | MREMAP_FIXED;
        assert_eq!(
            m.mremap(base + 4 * PAGE, 2 * PAGE, 2 * PAGE, fixed, base + PAGE),
            ENOMEM
        );
        // SAFETY: as above; the pages are still mapped.
        unsafe { assert_eq!(*at(2), 12) };
        assert!(m.first_gap(base + 4 * PAGE, base + 6 * PAGE).is_none());
        // Onto guest memory it works, and the map follows.
        assert_eq!(
            m.mremap(base + 4 * PAGE, PAGE, PAGE, fixed, base),
            base as i64
        );
        assert!(m.find(base + 4 * PAGE).is_none());
        assert!(m.find(base).is_some());
        // Shrinking a source whose tail spans ferrite memory unmaps only guest pages.
        assert_eq!(m.mremap(base, 6 * PAGE, PAGE, 0, 0), base as i64);
        // SAFETY: pages 2-3 were never the guest's and must still be mapped.
        unsafe { assert_eq!(*at(3), 13) };
        assert!(m.find(base + PAGE).is_none());
        sys(Sysno::munmap, [base, 6 * PAGE, 0, 0, 0, 0]);
    }

    #[test]
    fn fixed_map_into_free_gap_works() {
        let base = host_map(3 * PAGE);
        sys(Sysno::munmap, [base + PAGE, 2 * PAGE, 0, 0, 0, 0]);
        let mut m = MemoryMap::new(vec![]);
        m.insert(base, base + PAGE, 3, VmaKind::Anon);
        let flags = (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED) as u64;
        assert_eq!(m.mmap(base, 3 * PAGE, 3, flags, u64::MAX, 0), base as i64);
        assert!(m.first_gap(base, base + 3 * PAGE).is_none());
        assert_eq!(m.munmap(base, 3 * PAGE), 0);
    }

    #[test]
    fn sealed_mappings_refuse_changes() {
        let mut m = map_with(&[(0x10000, 0x14000, 3), (0x20000, 0x21000, 1)]);
        assert_eq!(m.mseal(0x10000, PAGE, 1), EINVAL);
        assert_eq!(m.mseal(0x10001, PAGE, 0), EINVAL);
        assert_eq!(m.mseal(0x10000, 0, 0), 0);
        // A hole in the range: ENOMEM, nothing sealed.
        assert_eq!(m.mseal(0x13000, 0xe000, 0), ENOMEM);
        assert!(!m.sealed_in(0x10000, 0x21000));
        assert_eq!(m.mseal(0x11000, 2 * PAGE, 0), 0);
        assert!(m.sealed_in(0x12000, 0x12001));
        assert!(!m.sealed_in(0x10000, 0x11000));
        // The seal splits the mapping but keeps its protection.
        assert_eq!(
            m.find(0x11000).map(|(s, v)| (s, v.end, v.prot)),
            Some((0x11000, 0x13000, 3))
        );
        // Refused before any host call.
        assert_eq!(m.munmap(0x10000, 4 * PAGE), EPERM);
        assert_eq!(m.mprotect(0x12000, PAGE, 1), EPERM);
        assert_eq!(m.mremap(0x11000, PAGE, 2 * PAGE, MREMAP_MAYMOVE, 0), EPERM);
        let fixed = (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED) as u64;
        assert_eq!(m.mmap(0x12000, PAGE, 3, fixed, u64::MAX, 0), EPERM);
        // Discarding a sealed read-only anonymous mapping is refused.
        assert_eq!(m.mseal(0x20000, PAGE, 0), 0);
        assert_eq!(m.madvise(0x20000, PAGE, MADV_DONTNEED), EPERM);
    }

    #[test]
    fn argument_errors() {
        let mut m = MemoryMap::new(vec![]);
        let anon = (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as u64;
        assert_eq!(m.mmap(0, 0, 3, anon, u64::MAX, 0), EINVAL);
        assert_eq!(m.mmap(0, PAGE, 3, anon, u64::MAX, 1), EINVAL);
        assert_eq!(m.mmap(1, PAGE, 3, anon | MAP_FIXED, u64::MAX, 0), EINVAL);
        assert_eq!(
            m.mmap(0, PAGE, 3, libc::MAP_PRIVATE as u64, 12345, 0),
            EBADF
        );
        assert_eq!(m.munmap(1, PAGE), EINVAL);
        assert_eq!(m.munmap(0, 0), EINVAL);
        assert_eq!(m.mprotect(1, PAGE, 1), EINVAL);
        assert_eq!(m.mprotect(0x10000, 0, 1), 0);
        assert_eq!(m.mprotect(0x10000, PAGE, 1 | PROT_BTI), EINVAL);
        assert_eq!(m.mremap(0x10000, PAGE, PAGE, 0x100, 0), EINVAL);
        assert_eq!(m.mremap(0x10001, PAGE, PAGE, 0, 0), EINVAL);
        assert_eq!(m.mremap(0x10000, PAGE, PAGE, 0, 0), EFAULT);
    }
}
