//! SysV IPC: shared memory, semaphores and message queues.
//!
//! The arm64 (asm-generic) and x86-64 layouts of `ipc64_perm` (48 bytes), `shmid64_ds`
//! (112), `msqid64_ds` (120), `seminfo`, `shminfo64`, `shm_info` and `msginfo` are the
//! same, as are `struct sembuf`, `struct msgbuf` and the command numbers; neither
//! 64-bit kernel parses the `IPC_64` bit (glibc does not pass it; a caller that does
//! gets EINVAL on both). So `shmget`, `shmctl`, `semget`, `semop`, `semtimedop` and the
//! `msg*` calls pass through, and the segments, semaphores and queues are the host's,
//! shared with every other process as on a real kernel.
//!
//! What differs:
//! - `semid64_ds`: arm64 has no padding after `sem_otime`/`sem_ctime` (88 bytes,
//!   `sem_nsems` at 64), x86-64 has (104 bytes, `sem_nsems` at 80). `semctl`
//!   converts it for IPC_STAT, SEM_STAT, SEM_STAT_ANY (out) and IPC_SET (in).
//! - `shmat`/`shmdt` change the guest address space: the attachment is made by the host
//!   kernel (guest addresses are host addresses) and recorded in the guest memory map
//!   ([`crate::linux::mm`]) as a shared mapping of kind `Shm`, so `/proc/self/maps`
//!   shows it as the kernel does (`rw-s … /SYSV<key> (deleted)`), the guest's munmap
//!   and mprotect see it, and `shmdt` removes exactly the mappings of the attachment
//!   it detaches. `SHM_REMAP` may only replace guest memory, never ferrite's.
//!
//! May use the memory map, guest memory access and host system calls.

use std::sync::atomic::{AtomicU64, Ordering};

use super::mem::{release, with_mm};
use super::{host_syscall, SyscallCtx};
use crate::linux::guest;
use crate::linux::mm::{page_up, MemoryMap, Vma, VmaKind, GUEST_LIMIT, PAGE};
use syscalls::Sysno;

const EINVAL: i64 = -(libc::EINVAL as i64);
const ENOMEM: i64 = -(libc::ENOMEM as i64);

const IPC_SET: u64 = 1;
const IPC_STAT: u64 = 2;
const SEM_STAT: u64 = 18;
const SEM_STAT_ANY: u64 = 20;

const SHM_RDONLY: u64 = 0o10000;
const SHM_RND: u64 = 0o20000;
const SHM_REMAP: u64 = 0o40000;
const SHM_EXEC: u64 = 0o100000;
/// arm64's SHMLBA for 64-bit tasks is PAGE_SIZE (the 16 KiB value is for AArch32
/// compat tasks only); x86-64's is the same.
const SHMLBA: u64 = PAGE;

fn sys(nr: Sysno, a: [u64; 6]) -> i64 {
    host_syscall(nr.id() as u32, a)
}

/// `struct ipc64_perm`, identical on both.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Ipc64Perm {
    pub key: i32,
    pub uid: u32,
    pub gid: u32,
    pub cuid: u32,
    pub cgid: u32,
    pub mode: u32,
    pub seq: u16,
    pub pad2: u16,
    /// Alignment padding before `__unused1` (implicit in the C struct).
    pub pad3: u32,
    pub unused1: u64,
    pub unused2: u64,
}

/// arm64 (asm-generic, 64-bit) `struct semid64_ds`: 88 bytes.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct GuestSemid64 {
    pub perm: Ipc64Perm,
    pub otime: i64,
    pub ctime: i64,
    pub nsems: u64,
    pub unused3: u64,
    pub unused4: u64,
}

/// x86-64 `struct semid64_ds`: 104 bytes.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct HostSemid64 {
    pub perm: Ipc64Perm,
    pub otime: i64,
    pub unused1: u64,
    pub ctime: i64,
    pub unused2: u64,
    pub nsems: u64,
    pub unused3: u64,
    pub unused4: u64,
}

pub fn semid_to_guest(h: &HostSemid64) -> GuestSemid64 {
    GuestSemid64 {
        perm: h.perm,
        otime: h.otime,
        ctime: h.ctime,
        nsems: h.nsems,
        unused3: h.unused3,
        unused4: h.unused4,
    }
}

pub fn semid_to_host(g: &GuestSemid64) -> HostSemid64 {
    HostSemid64 {
        perm: g.perm,
        otime: g.otime,
        ctime: g.ctime,
        nsems: g.nsems,
        unused3: g.unused3,
        unused4: g.unused4,
        ..Default::default()
    }
}

/// `semctl(semid, semnum, cmd, arg)`: `arg` (the union, passed by value) is a pointer
/// to a `semid64_ds` for the STAT and SET commands, which are converted; for the others
/// (GETALL/SETALL arrays of u16, SETVAL's int, IPC_INFO/SEM_INFO's `seminfo`) it means
/// the same on both.
pub fn semctl(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let cmd = a[2] & 0xffff_ffff;
    match cmd {
        IPC_STAT | SEM_STAT | SEM_STAT_ANY => {
            let mut h = HostSemid64::default();
            let r = sys(
                Sysno::semctl,
                [a[0], a[1], a[2], &mut h as *mut HostSemid64 as u64, 0, 0],
            );
            if r < 0 {
                return r;
            }
            match guest::write_val(a[3], &semid_to_guest(&h)) {
                Ok(()) => r,
                Err(e) => e,
            }
        }
        IPC_SET => {
            let g: GuestSemid64 = match guest::read_val(a[3]) {
                Ok(g) => g,
                // The kernel copies the buffer in before looking the set up.
                Err(e) => return e,
            };
            let h = semid_to_host(&g);
            sys(
                Sysno::semctl,
                [a[0], a[1], a[2], &h as *const HostSemid64 as u64, 0, 0],
            )
        }
        _ => sys(Sysno::semctl, [a[0], a[1], a[2], a[3], 0, 0]),
    }
}

/// A number for each attachment, so `shmdt` removes the mappings of one attachment only.
static ATTACHMENTS: AtomicU64 = AtomicU64::new(1);

/// The size of segment `id`, if the caller may read its status (`shmat` needs at least
/// read permission too).
fn segment_size(id: u64) -> Option<u64> {
    let mut ds = [0u64; 14]; // struct shmid64_ds, 112 bytes
    let r = sys(
        Sysno::shmctl,
        [id, IPC_STAT, ds.as_mut_ptr() as u64, 0, 0, 0],
    );
    // shm_segsz is at offset 48.
    (r >= 0).then_some(ds[6])
}

/// The end of the host mapping that starts at `start`, from /proc/self/maps.
fn host_mapping_end(start: u64) -> Option<u64> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines().find_map(|l| {
        let range = l.split_ascii_whitespace().next()?;
        let (s, e) = range.split_once('-')?;
        (u64::from_str_radix(s, 16).ok()? == start)
            .then(|| u64::from_str_radix(e, 16).ok())
            .flatten()
    })
}

/// `shmat(shmid, addr, flags)`.
pub fn shmat(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let (id, addr, flags) = (a[0], a[1], a[2]);
    let mut want = addr;
    if addr != 0 && flags & SHM_RND != 0 {
        want = addr & !(SHMLBA - 1);
    }
    let size = segment_size(id);
    if want != 0 && flags & SHM_REMAP != 0 {
        if let Some(sz) = size {
            release(ctx, want, page_up(sz));
        }
    }
    with_mm(ctx, |mm| attach(mm, id, addr, want, flags, size))
}

fn attach(mm: &mut MemoryMap, id: u64, addr: u64, want: u64, flags: u64, size: Option<u64>) -> i64 {
    let mut claims = Vec::new();
    if want != 0 && want.is_multiple_of(SHMLBA) {
        if let Some(sz) = size {
            let end = want.saturating_add(page_up(sz));
            if end > GUEST_LIMIT {
                // Valid on a 48-bit arm64 kernel, but ferrite cannot hand it out.
                return ENOMEM;
            }
            if flags & SHM_REMAP != 0 {
                if mm.sealed_in(want, end) {
                    return -(libc::EPERM as i64);
                }
                // Replacing is allowed over guest memory only, as for MAP_FIXED.
                match mm.claim_gaps(want, end) {
                    Some(c) => claims = c,
                    None => return ENOMEM,
                }
            }
        }
    }
    let r = sys(Sysno::shmat, [id, addr, flags, 0, 0, 0]);
    if r < 0 {
        crate::linux::mm::release_claims(&claims);
        return r;
    }
    let start = r as u64;
    let len = match size {
        Some(sz) => page_up(sz),
        None => match host_mapping_end(start) {
            Some(e) => e - start,
            None => PAGE,
        },
    };
    if start.saturating_add(len) > GUEST_LIMIT {
        // Only possible on a 5-level-paging host: the guest cannot use it.
        sys(Sysno::shmdt, [start, 0, 0, 0, 0, 0]);
        return ENOMEM;
    }
    let mut prot = libc::PROT_READ as u64;
    if flags & SHM_RDONLY == 0 {
        prot |= libc::PROT_WRITE as u64;
    }
    if flags & SHM_EXEC != 0 {
        prot |= libc::PROT_EXEC as u64;
    }
    let att = ATTACHMENTS.fetch_add(1, Ordering::Relaxed);
    let mut v = Vma::new(start + len, prot, VmaKind::Shm { base: start, att });
    v.shared = true;
    mm.insert_vma(start, v);
    r
}

/// `shmdt(addr)`: detaches the attachment whose first byte is (or would be, had the
/// guest not unmapped it) at `addr`, removing all of that attachment's mappings, as the
/// kernel does; EINVAL when there is none.
pub fn shmdt(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let addr = a[0];
    if !addr.is_multiple_of(PAGE) {
        return EINVAL;
    }
    let found = {
        let mm = ctx.process.mm();
        mm.vmas.range(addr..).find_map(|(s, v)| match v.kind {
            VmaKind::Shm { base, att } if base == addr => Some((*s, att)),
            _ => None,
        })
    };
    let Some((_, att)) = found else {
        return EINVAL;
    };
    with_mm(ctx, |mm| {
        let r = sys(Sysno::shmdt, [addr, 0, 0, 0, 0, 0]);
        if r < 0 {
            return r;
        }
        let mine: Vec<(u64, u64)> = mm
            .vmas
            .range(addr..)
            .filter(|(_, v)| matches!(v.kind, VmaKind::Shm { att: x, .. } if x == att))
            .map(|(s, v)| (*s, v.end))
            .collect();
        for (s, e) in mine {
            mm.remove(s, e);
        }
        r
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    #[test]
    fn layouts() {
        assert_eq!(size_of::<Ipc64Perm>(), 48);
        assert_eq!(offset_of!(Ipc64Perm, seq), 24);
        assert_eq!(size_of::<GuestSemid64>(), 88);
        assert_eq!(offset_of!(GuestSemid64, nsems), 64);
        assert_eq!(size_of::<HostSemid64>(), 104);
        assert_eq!(offset_of!(HostSemid64, nsems), 80);
        assert_eq!(offset_of!(HostSemid64, ctime), 64);
    }

    #[test]
    fn semid_round_trip() {
        let g = GuestSemid64 {
            perm: Ipc64Perm {
                key: 7,
                mode: 0o600,
                seq: 3,
                ..Default::default()
            },
            otime: 11,
            ctime: 12,
            nsems: 5,
            ..Default::default()
        };
        let h = semid_to_host(&g);
        assert_eq!((h.otime, h.ctime, h.nsems), (11, 12, 5));
        assert_eq!(semid_to_guest(&h), g);
    }
}
