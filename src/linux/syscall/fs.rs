//! File and descriptor syscalls that need translation or emulation.
//!
//! - **O_\* flags** (`openat`, `openat2`'s `struct open_how`, `fcntl` F_GETFL/F_SETFL,
//!   `pipe2`): arm64 and x86-64 swap four bits (O_DIRECTORY, O_NOFOLLOW, O_DIRECT,
//!   O_LARGEFILE); every other O_\* bit is equal, so the translation is a bijection on
//!   the valid flags and the host rejects exactly what the arm64 kernel rejects.
//! - **`struct stat`** (`newfstatat`, `fstat`): 128 bytes on arm64, 144 on x86-64.
//!   `statx` has one layout and is forwarded.
//! - **Path lookups and `-L`**: like qemu-user's `path()`, an absolute path is looked up
//!   under the `-L` prefix first and falls back to the host path. This applies to the
//!   calls that look a name up without creating or changing it by name: `openat`,
//!   `openat2`, `newfstatat`, `statx`, `faccessat`, `faccessat2`, `readlinkat`, plus the
//!   two qemu also prefixes, `utimensat` and `inotify_add_watch`, and `acct`. Calls that
//!   create, remove or rename names (`mkdirat`, `unlinkat`, `renameat*`, `linkat`,
//!   `symlinkat`, `mknodat`), change attributes by name (`fchmodat`, `fchownat`,
//!   `truncate`, the xattr calls) or change directory (`chdir`, `chroot`) act on host
//!   paths, as in qemu.
//! - **`/proc/self/{cmdline,maps,auxv,stat}`**: `openat`/`openat2` for reading open
//!   the guest's view from [`crate::linux::procfs`].
//! - **`/proc/self/exe`** (and `/proc/<pid>/exe`): `readlinkat` returns the guest
//!   program's path; `openat`/`openat2`, `newfstatat`, `statx`, `faccessat*` and
//!   `utimensat` that follow it act on the guest program. Calls that do not follow the
//!   last link (`O_NOFOLLOW`, `AT_SYMLINK_NOFOLLOW`) see the host's magic link, which is
//!   what a kernel shows too (a symlink, or `ELOOP`).
//! - **ferrite's own descriptors**: the only one ferrite keeps open while the guest
//!   runs is the `-D` log file ([`crate::log::file_fd`]), which it moves to a high
//!   number. `close`, `close_range`, `dup`, `dup3`, `fcntl` and `ioctl` treat it as a
//!   closed descriptor (`EBADF`; `close_range` skips it), so the guest can neither close
//!   nor replace it; other calls are not filtered.
//!
//! A path argument that cannot be read (bad pointer, too long) is forwarded to the host
//! as the guest pointer itself, so the host kernel reports `EFAULT`/`ENAMETOOLONG` after
//! its own flag checks, in the same order as the arm64 kernel.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;

use super::{host_syscall, SyscallCtx};
use crate::linux::guest;
use syscalls::Sysno;

const EINVAL: i64 = -(libc::EINVAL as i64);
const EBADF: i64 = -(libc::EBADF as i64);

/// arm64 (asm-generic) values of the O_* bits that differ from x86-64.
pub mod arm64 {
    pub const O_DIRECTORY: u64 = 0o40000;
    pub const O_NOFOLLOW: u64 = 0o100000;
    pub const O_DIRECT: u64 = 0o200000;
    pub const O_LARGEFILE: u64 = 0o400000;
    /// `__O_TMPFILE | O_DIRECTORY`.
    pub const O_TMPFILE: u64 = 0o20000000 | O_DIRECTORY;
    /// The kernel's VALID_OPEN_FLAGS for arm64 (openat2 rejects anything else).
    pub const VALID_OPEN_FLAGS: u64 = 0o37777703;
}

/// x86-64 kernel values of the same bits. Not taken from `libc`: glibc (and so the
/// `libc` crate) defines O_LARGEFILE as 0 on x86-64, but the kernel uses 0o100000 and
/// reports it in F_GETFL.
pub mod x86_64 {
    pub const O_DIRECT: u64 = 0o40000;
    pub const O_LARGEFILE: u64 = 0o100000;
    pub const O_DIRECTORY: u64 = 0o200000;
    pub const O_NOFOLLOW: u64 = 0o400000;
    pub const O_TMPFILE: u64 = 0o20000000 | O_DIRECTORY;
    pub const VALID_OPEN_FLAGS: u64 = 0o37777703;
}

/// The four O_* bits whose values differ (guest value, host value).
const O_SWAPS: [(u64, u64); 4] = [
    (arm64::O_DIRECTORY, x86_64::O_DIRECTORY),
    (arm64::O_NOFOLLOW, x86_64::O_NOFOLLOW),
    (arm64::O_DIRECT, x86_64::O_DIRECT),
    (arm64::O_LARGEFILE, x86_64::O_LARGEFILE),
];

const SWAP_MASK_GUEST: u64 =
    arm64::O_DIRECTORY | arm64::O_NOFOLLOW | arm64::O_DIRECT | arm64::O_LARGEFILE;
const SWAP_MASK_HOST: u64 =
    x86_64::O_DIRECTORY | x86_64::O_NOFOLLOW | x86_64::O_DIRECT | x86_64::O_LARGEFILE;

/// arm64 open flags → host open flags (all 64 bits; unknown bits are kept in place, so
/// the host rejects them where the arm64 kernel would).
pub fn open_flags_to_host(g: u64) -> u64 {
    let mut h = g & !SWAP_MASK_GUEST;
    for (gb, hb) in O_SWAPS {
        if g & gb != 0 {
            h |= hb;
        }
    }
    h
}

/// Host open flags → arm64 open flags (F_GETFL). O_LARGEFILE maps like the other
/// bits: both 64-bit kernels force it on files opened by path, and neither sets it on
/// pipes, sockets or event descriptors.
pub fn open_flags_to_guest(h: u64) -> u64 {
    let mut g = h & !SWAP_MASK_HOST;
    for (gb, hb) in O_SWAPS {
        if h & hb != 0 {
            g |= gb;
        }
    }
    g
}

fn sys(nr: Sysno, a: [u64; 6]) -> i64 {
    host_syscall(nr.id() as u32, a)
}

/// Is `fd` a descriptor ferrite keeps for itself (hidden from the guest)?
pub fn is_ferrite_fd(fd: u64) -> bool {
    crate::log::file_fd().is_some_and(|own| own == fd as i32)
}

// ---------------------------------------------------------------------------------------
// Paths

/// A path argument as it is handed to the host.
enum HostPath {
    /// The guest string could not be read: forward the guest pointer itself.
    Guest(u64),
    Host(CString),
}

impl HostPath {
    fn ptr(&self) -> u64 {
        match self {
            HostPath::Guest(a) => *a,
            HostPath::Host(c) => c.as_ptr() as u64,
        }
    }
}

fn read_path(addr: u64) -> Result<CString, i64> {
    guest::read_cstr(addr, libc::PATH_MAX as usize)
}

/// An address in no process's reach (the top of the x86-64 kernel half): the host fails
/// any access to it with EFAULT.
const NO_ACCESS: u64 = 0xffff_ffff_ffff_f000;

/// A path that [`read_path`] could not read (`err`), for the host call: the guest
/// pointer itself, so that the host answers (and checks its other arguments first) as a
/// kernel would, unless the guest may not read it: then an address the host also cannot
/// read, so that the host never reads ferrite's memory for the guest and still gives
/// EFAULT where the kernel does.
fn unread(addr: u64, err: i64) -> HostPath {
    HostPath::Guest(if err == guest::EFAULT {
        NO_ACCESS
    } else {
        addr
    })
}

/// The guest program's path, if `raw` names `/proc/self/exe` or `/proc/<pid>/exe`.
fn self_exe(ctx: &SyscallCtx, raw: &CString) -> Option<CString> {
    let exe = ctx.process.magic_link(libc::AT_FDCWD, raw)?;
    CString::new(exe.as_bytes()).ok()
}

/// A path for a lookup: `/proc/self/exe` becomes the guest program when the call
/// follows the last link (`follow`); otherwise the `-L` prefix applies.
fn lookup(ctx: &SyscallCtx, addr: u64, follow: bool) -> HostPath {
    match read_path(addr) {
        Ok(raw) => HostPath::Host(lookup_read(ctx, raw, follow)),
        Err(e) => unread(addr, e),
    }
}

/// [`lookup`] of a path already read from the guest.
fn lookup_read(ctx: &SyscallCtx, raw: CString, follow: bool) -> CString {
    if follow {
        if let Some(exe) = self_exe(ctx, &raw) {
            return exe;
        }
    }
    ctx.process.host_path(raw)
}

// ---------------------------------------------------------------------------------------
// open

/// Flags with which an emulated `/proc/self` file ([`crate::linux::procfs`]) is opened
/// as a read-only snapshot. Anything else (write access, O_PATH, O_DIRECTORY,
/// O_TMPFILE, O_EXCL, O_DIRECT…) goes to the host, which answers as a kernel would.
const PROC_OPEN_OK: u64 = (libc::O_CLOEXEC
    | libc::O_NONBLOCK
    | libc::O_NOCTTY
    | libc::O_NOATIME
    | libc::O_CREAT
    | libc::O_SYNC
    | libc::O_DSYNC
    | libc::O_ASYNC) as u64
    | arm64::O_LARGEFILE
    | arm64::O_NOFOLLOW;

/// Open an emulated `/proc/self` file if `raw` names one and `flags` allow it.
fn open_procfs(ctx: &SyscallCtx, raw: &CString, flags: u64) -> Option<i64> {
    if flags & !PROC_OPEN_OK != 0 {
        return None;
    }
    let cloexec = flags & libc::O_CLOEXEC as u64 != 0;
    crate::linux::procfs::open(ctx.process, raw.as_bytes(), cloexec)
}

/// The path argument of `openat`/`openat2`: an emulated /proc file, or the host path
/// (`/proc/self/exe` followed unless `follow` is false), or the unreadable pointer.
enum OpenPath {
    Done(i64),
    Path(HostPath),
}

fn open_path(ctx: &SyscallCtx, addr: u64, flags: u64, follow: bool, procfs: bool) -> OpenPath {
    let raw = match read_path(addr) {
        Ok(raw) => raw,
        Err(e) => return OpenPath::Path(unread(addr, e)),
    };
    if procfs {
        if let Some(r) = open_procfs(ctx, &raw, flags) {
            return OpenPath::Done(r);
        }
    }
    OpenPath::Path(HostPath::Host(lookup_read(ctx, raw, follow)))
}

pub fn openat(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let flags = a[2];
    // With O_NOFOLLOW the last component is not followed: `/proc/self/exe` then is the
    // host's magic link (ELOOP, or the link itself with O_PATH), as on a kernel.
    let path = match open_path(ctx, a[1], flags, flags & arm64::O_NOFOLLOW == 0, true) {
        OpenPath::Done(r) => return r,
        OpenPath::Path(p) => p,
    };
    sys(
        Sysno::openat,
        [a[0], path.ptr(), open_flags_to_host(flags), a[3], 0, 0],
    )
}

/// `struct open_how` (identical on both ABIs apart from the O_* bits in `flags`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenHow {
    pub flags: u64,
    pub mode: u64,
    pub resolve: u64,
}

/// `OPEN_HOW_SIZE_VER0`.
const OPEN_HOW_SIZE: u64 = 24;
const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_NO_SYMLINKS: u64 = 0x04;
const RESOLVE_BENEATH: u64 = 0x08;
const RESOLVE_IN_ROOT: u64 = 0x10;

/// A guest `open_how` for the host: only the O_* bits change.
pub fn open_how_to_host(g: &OpenHow) -> OpenHow {
    OpenHow {
        flags: open_flags_to_host(g.flags),
        ..*g
    }
}

pub fn openat2(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let (how_addr, size) = (a[2], a[3]);
    // Sizes the kernel refuses before reading (EINVAL below VER0, E2BIG above a page)
    // go to the host unchanged, as do unreadable structures (EFAULT).
    if !(OPEN_HOW_SIZE..=mm_page()).contains(&size) {
        return sys(Sysno::openat2, a);
    }
    // Copy the whole structure the guest declared: the kernel checks that bytes past
    // the ones it knows are zero (E2BIG), and the host does that check on this copy.
    let Ok(mut bytes) = guest::read_bytes(how_addr, size as usize) else {
        return sys(Sysno::openat2, a);
    };
    // SAFETY: `bytes` holds at least 24 bytes (size >= OPEN_HOW_SIZE) and `OpenHow` is
    // three u64s, valid for any bit pattern; read_unaligned copes with the alignment.
    let how = unsafe { std::ptr::read_unaligned(bytes.as_ptr() as *const OpenHow) };
    let host = open_how_to_host(&how);
    // SAFETY: writes 24 bytes inside `bytes` (at least 24 long).
    unsafe { std::ptr::write_unaligned(bytes.as_mut_ptr() as *mut OpenHow, host) };
    // RESOLVE_BENEATH/IN_ROOT resolve absolute paths relative to dirfd (or refuse
    // them): neither the prefix nor /proc/self/exe applies. The magic link is followed
    // only when symlinks and magic links are allowed (qemu answers ELOOP otherwise; the
    // host's own magic link gives the same).
    let path = if how.resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT) != 0 {
        match read_path(a[1]) {
            Ok(raw) => HostPath::Host(raw),
            Err(e) => unread(a[1], e),
        }
    } else {
        let follow = how.flags & arm64::O_NOFOLLOW == 0
            && how.resolve & (RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS) == 0;
        // /proc/self is a symlink: RESOLVE_NO_SYMLINKS refuses it (the host says so).
        let procfs = how.resolve & RESOLVE_NO_SYMLINKS == 0;
        match open_path(ctx, a[1], how.flags, follow, procfs) {
            OpenPath::Done(r) => return r,
            OpenPath::Path(p) => p,
        }
    };
    sys(
        Sysno::openat2,
        [a[0], path.ptr(), bytes.as_ptr() as u64, size, 0, 0],
    )
}

fn mm_page() -> u64 {
    crate::linux::mm::PAGE
}

// ---------------------------------------------------------------------------------------
// stat

/// The arm64 `struct stat` (128 bytes, asm-generic).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct GuestStat {
    pub st_dev: u64,
    pub st_ino: u64,
    pub st_mode: u32,
    pub st_nlink: u32,
    pub st_uid: u32,
    pub st_gid: u32,
    pub st_rdev: u64,
    pub pad1: u64,
    pub st_size: i64,
    pub st_blksize: i32,
    pub pad2: i32,
    pub st_blocks: i64,
    pub st_atime: i64,
    pub st_atime_nsec: u64,
    pub st_mtime: i64,
    pub st_mtime_nsec: u64,
    pub st_ctime: i64,
    pub st_ctime_nsec: u64,
    pub unused: [u32; 2],
}

const _: () = assert!(std::mem::size_of::<GuestStat>() == 128);

/// Host `struct stat` → arm64 `struct stat`. The narrower fields cannot overflow: the
/// kernel's `kstat` holds nlink and blksize as 32-bit values on every architecture.
pub fn stat_to_guest(s: &libc::stat) -> GuestStat {
    GuestStat {
        st_dev: s.st_dev,
        st_ino: s.st_ino,
        st_mode: s.st_mode,
        st_nlink: s.st_nlink as u32,
        st_uid: s.st_uid,
        st_gid: s.st_gid,
        st_rdev: s.st_rdev,
        st_size: s.st_size,
        st_blksize: s.st_blksize as i32,
        st_blocks: s.st_blocks,
        st_atime: s.st_atime,
        st_atime_nsec: s.st_atime_nsec as u64,
        st_mtime: s.st_mtime,
        st_mtime_nsec: s.st_mtime_nsec as u64,
        st_ctime: s.st_ctime,
        st_ctime_nsec: s.st_ctime_nsec as u64,
        ..Default::default()
    }
}

fn put_stat(addr: u64, st: &libc::stat) -> i64 {
    match guest::write_val(addr, &stat_to_guest(st)) {
        Ok(()) => 0,
        Err(e) => e,
    }
}

fn zeroed_stat() -> libc::stat {
    // SAFETY: all-zero is a valid `stat` (plain integers).
    unsafe { std::mem::zeroed() }
}

pub fn newfstatat(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let follow = a[3] & libc::AT_SYMLINK_NOFOLLOW as u64 == 0;
    let path = lookup(ctx, a[1], follow);
    let mut st = zeroed_stat();
    let r = sys(
        Sysno::newfstatat,
        [a[0], path.ptr(), &mut st as *mut _ as u64, a[3], 0, 0],
    );
    if r < 0 {
        return r;
    }
    put_stat(a[2], &st)
}

pub fn fstat(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let mut st = zeroed_stat();
    let r = sys(Sysno::fstat, [a[0], &mut st as *mut _ as u64, 0, 0, 0, 0]);
    if r < 0 {
        return r;
    }
    put_stat(a[1], &st)
}

/// `statx(dirfd, path, flags, mask, buf)`: one layout (256 bytes) on both ABIs; only
/// the path is translated.
pub fn statx(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let follow = a[2] & libc::AT_SYMLINK_NOFOLLOW as u64 == 0;
    // A NULL path (allowed with AT_EMPTY_PATH since Linux 6.11) is the host's business.
    let path = if a[1] == 0 {
        HostPath::Guest(0)
    } else {
        lookup(ctx, a[1], follow)
    };
    sys(Sysno::statx, [a[0], path.ptr(), a[2], a[3], a[4], 0])
}

// ---------------------------------------------------------------------------------------
// Other lookups

/// `faccessat(dirfd, path, mode)` (no flags argument in the raw call).
pub fn faccessat(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let path = lookup(ctx, a[1], true);
    sys(Sysno::faccessat, [a[0], path.ptr(), a[2], 0, 0, 0])
}

pub fn faccessat2(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let follow = a[3] & libc::AT_SYMLINK_NOFOLLOW as u64 == 0;
    let path = lookup(ctx, a[1], follow);
    sys(Sysno::faccessat2, [a[0], path.ptr(), a[2], a[3], 0, 0])
}

pub fn readlinkat(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    // The kernel checks the size before it reads the path.
    if a[3] as i32 <= 0 {
        return EINVAL;
    }
    let raw = match read_path(a[1]) {
        Ok(raw) => raw,
        Err(e) => {
            let path = unread(a[1], e);
            return sys(Sysno::readlinkat, [a[0], path.ptr(), a[2], a[3], 0, 0]);
        }
    };
    if let Some(exe) = self_exe(ctx, &raw) {
        // Truncated to the buffer, not NUL-terminated, as readlink(2) does.
        let bytes = exe.as_bytes();
        let n = bytes.len().min(a[3] as i32 as usize);
        return match guest::write_bytes(a[2], &bytes[..n]) {
            Ok(()) => n as i64,
            Err(e) => e,
        };
    }
    let path = ctx.process.host_path(raw);
    sys(
        Sysno::readlinkat,
        [a[0], path.as_ptr() as u64, a[2], a[3], 0, 0],
    )
}

/// `utimensat(dirfd, path, times, flags)`; a NULL path means dirfd itself.
pub fn utimensat(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let path = if a[1] == 0 {
        HostPath::Guest(0)
    } else {
        lookup(ctx, a[1], a[3] & libc::AT_SYMLINK_NOFOLLOW as u64 == 0)
    };
    sys(Sysno::utimensat, [a[0], path.ptr(), a[2], a[3], 0, 0])
}

/// `inotify_add_watch(fd, path, mask)`: qemu looks the path up under the prefix.
pub fn inotify_add_watch(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let follow = a[2] & libc::IN_DONT_FOLLOW as u64 == 0;
    let path = lookup(ctx, a[1], follow);
    sys(Sysno::inotify_add_watch, [a[0], path.ptr(), a[2], 0, 0, 0])
}

/// `fanotify_init(flags, event_f_flags)`: `event_f_flags` are the O_* flags of the
/// descriptors events carry, whose bits differ; the `FAN_*` flags and the event records
/// (`fanotify_event_metadata`, info records) are the same on both. Without
/// CAP_SYS_ADMIN the host refuses (EPERM) just as an arm64 kernel would.
pub fn fanotify_init(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    sys(
        Sysno::fanotify_init,
        [a[0], open_flags_to_host(a[1] & 0xffff_ffff), 0, 0, 0, 0],
    )
}

/// `open_by_handle_at(mount_fd, handle, flags)`: O_* flags translated; `struct
/// file_handle` is the same on both. Needs CAP_DAC_READ_SEARCH, which the host checks.
pub fn open_by_handle_at(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    if is_ferrite_fd(a[0]) {
        return EBADF;
    }
    sys(
        Sysno::open_by_handle_at,
        [a[0], a[1], open_flags_to_host(a[2] & 0xffff_ffff), 0, 0, 0],
    )
}

/// `acct(path)`: qemu looks the path up under the prefix; NULL turns accounting off.
pub fn acct(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let path = if a[0] == 0 {
        HostPath::Guest(0)
    } else {
        lookup(ctx, a[0], true)
    };
    sys(Sysno::acct, [path.ptr(), 0, 0, 0, 0, 0])
}

// ---------------------------------------------------------------------------------------
// Descriptors

pub fn close(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    if is_ferrite_fd(a[0]) {
        return EBADF;
    }
    sys(Sysno::close, a)
}

const CLOSE_RANGE_UNSHARE: u64 = 2;
const CLOSE_RANGE_CLOEXEC: u64 = 4;

/// `close_range(first, last, flags)`, skipping ferrite's own descriptor.
pub fn close_range(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let (first, last, flags) = (a[0] as u32, a[1] as u32, a[2] as u32 as u64);
    if flags & !(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) != 0 || first > last {
        return EINVAL;
    }
    let call = |f: u32, l: u32, fl: u64| sys(Sysno::close_range, [f as u64, l as u64, fl, 0, 0, 0]);
    let own = crate::log::file_fd()
        .map(|fd| fd as u32)
        .filter(|fd| (first..=last).contains(fd));
    let Some(own) = own else {
        return call(first, last, flags);
    };
    let mut flags = flags;
    if own > first {
        let r = call(first, own - 1, flags);
        if r < 0 {
            return r;
        }
        // The table is unshared now; the second part must not unshare it again.
        flags &= !CLOSE_RANGE_UNSHARE;
    }
    if own < last {
        return call(own + 1, last, flags);
    }
    0
}

pub fn dup(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    if is_ferrite_fd(a[0]) {
        return EBADF;
    }
    sys(Sysno::dup, a)
}

pub fn dup3(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    // dup3 accepts only O_CLOEXEC (equal on both ABIs); checked in the kernel's order.
    if a[2] & !(libc::O_CLOEXEC as u64) != 0 || a[0] as i32 == a[1] as i32 {
        return EINVAL;
    }
    // Replacing ferrite's descriptor is refused like a descriptor beyond the limit.
    if is_ferrite_fd(a[0]) || is_ferrite_fd(a[1]) {
        return EBADF;
    }
    sys(Sysno::dup3, [a[0], a[1], a[2], 0, 0, 0])
}

pub fn fcntl(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    if is_ferrite_fd(a[0]) {
        return EBADF;
    }
    match a[1] as i32 {
        libc::F_GETFL => {
            let r = sys(Sysno::fcntl, [a[0], a[1], 0, 0, 0, 0]);
            if r < 0 {
                r
            } else {
                open_flags_to_guest(r as u64) as i64
            }
        }
        libc::F_SETFL => sys(
            Sysno::fcntl,
            [a[0], a[1], open_flags_to_host(a[2] as u32 as u64), 0, 0, 0],
        ),
        // Every other command (F_DUPFD*, F_GETFD/SETFD, locks with the identical
        // `struct flock`, F_SETOWN*, F_SETSIG, leases, notify, pipe sizes, seals, hints)
        // has the same numbers and structures on both ABIs.
        _ => sys(Sysno::fcntl, a),
    }
}

pub fn pipe2(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    // The guest array is host memory: the host writes it (or answers EFAULT, having
    // closed the new descriptors, as the arm64 kernel does). Flags: O_CLOEXEC,
    // O_NONBLOCK and O_NOTIFICATION_PIPE (= O_EXCL) are equal; O_DIRECT is swapped.
    sys(
        Sysno::pipe2,
        [a[0], open_flags_to_host(a[1] as u32 as u64), 0, 0, 0, 0],
    )
}

pub fn ioctl(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    if is_ferrite_fd(a[0]) {
        return EBADF;
    }
    if let Some(r) = super::uffd::check_ioctl(ctx.process, a[0], a[1], a[2]) {
        return r;
    }
    if a[1] as u32 as u64 == crate::linux::procfs::PROCMAP_QUERY
        && crate::linux::procfs::is_maps_fd(a[0])
    {
        return crate::linux::procfs::procmap_query(ctx.process, a[2]);
    }
    // The terminal (TCGETS/TCSETS*/TCGETS2, TIOCGWINSZ/TIOCSWINSZ, TIOCGPGRP/TIOCSPGRP,
    // TIOCSCTTY, TIOCGPTN…), FIO* (FIONREAD, FIONBIO, FIOCLEX, FIONCLEX, FIOASYNC) and
    // file-system/block/loop ioctls have identical numbers and structures on arm64 and
    // x86-64: both use the asm-generic ioctl encoding, ioctls.h and termbits.h (kernel
    // `termios` of 36 bytes, `termios2` of 44), and LP64 layouts.
    sys(Sysno::ioctl, a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::offset_of;

    #[test]
    fn o_flag_swaps_both_ways() {
        // x86-64 octal values (asm-generic on arm64 differs in exactly these four bits).
        let pairs = [
            (arm64::O_DIRECTORY, 0o200000),
            (arm64::O_NOFOLLOW, 0o400000),
            (arm64::O_DIRECT, 0o40000),
            (arm64::O_LARGEFILE, 0o100000),
        ];
        for (g, h) in pairs {
            assert_eq!(open_flags_to_host(g), h, "{g:o}");
            assert_eq!(open_flags_to_guest(h), g, "{h:o}");
        }
        // libc agrees except for O_LARGEFILE, which glibc defines as 0 on x86-64.
        assert_eq!(libc::O_DIRECT as u64, x86_64::O_DIRECT);
        assert_eq!(libc::O_DIRECTORY as u64, x86_64::O_DIRECTORY);
        assert_eq!(libc::O_NOFOLLOW as u64, x86_64::O_NOFOLLOW);
        assert_eq!(libc::O_LARGEFILE, 0);
        let common = (libc::O_CREAT
            | libc::O_EXCL
            | libc::O_NOCTTY
            | libc::O_TRUNC
            | libc::O_APPEND
            | libc::O_NONBLOCK
            | libc::O_SYNC
            | libc::O_DSYNC
            | libc::O_ASYNC
            | libc::O_NOATIME
            | libc::O_CLOEXEC
            | libc::O_PATH
            | libc::O_RDWR) as u64;
        assert_eq!(open_flags_to_host(common), common);
        assert_eq!(open_flags_to_guest(common), common);
        assert_eq!(
            open_flags_to_host(common | arm64::O_DIRECTORY),
            common | libc::O_DIRECTORY as u64
        );
        // Unknown and high bits stay where they are (the host rejects them).
        assert_eq!(open_flags_to_host(1 << 40 | 0o4), 1 << 40 | 0o4);
    }

    #[test]
    fn o_flags_round_trip_every_valid_bit() {
        for bit in 0..32 {
            let g = 1u64 << bit;
            assert_eq!(open_flags_to_guest(open_flags_to_host(g)), g, "bit {bit}");
        }
        // The valid set maps onto the host's valid set.
        assert_eq!(
            open_flags_to_host(arm64::VALID_OPEN_FLAGS),
            x86_64::VALID_OPEN_FLAGS
        );
    }

    #[test]
    fn o_tmpfile() {
        assert_eq!(arm64::O_TMPFILE, 0o20040000);
        assert_eq!(open_flags_to_host(arm64::O_TMPFILE), x86_64::O_TMPFILE);
        assert_eq!(libc::O_TMPFILE as u64, x86_64::O_TMPFILE);
        assert_eq!(
            open_flags_to_host(arm64::O_TMPFILE | libc::O_RDWR as u64),
            (libc::O_TMPFILE | libc::O_RDWR) as u64
        );
        assert_eq!(open_flags_to_guest(x86_64::O_TMPFILE), arm64::O_TMPFILE);
        // F_GETFL of a regular file on the host: O_RDWR | O_LARGEFILE (forced).
        assert_eq!(
            open_flags_to_guest(0o2 | x86_64::O_LARGEFILE),
            0o2 | arm64::O_LARGEFILE
        );
    }

    #[test]
    fn open_how_conversion() {
        assert_eq!(std::mem::size_of::<OpenHow>(), OPEN_HOW_SIZE as usize);
        let g = OpenHow {
            flags: arm64::O_DIRECTORY | arm64::O_NOFOLLOW | libc::O_CLOEXEC as u64,
            mode: 0o644,
            resolve: RESOLVE_BENEATH,
        };
        let h = open_how_to_host(&g);
        assert_eq!(
            h.flags,
            x86_64::O_DIRECTORY | x86_64::O_NOFOLLOW | libc::O_CLOEXEC as u64
        );
        assert_eq!((h.mode, h.resolve), (0o644, RESOLVE_BENEATH));
        assert_eq!(offset_of!(OpenHow, flags), 0);
        assert_eq!(offset_of!(OpenHow, mode), 8);
        assert_eq!(offset_of!(OpenHow, resolve), 16);
    }

    #[test]
    fn guest_stat_layout() {
        // Offsets of the asm-generic `struct stat` that arm64 uses (include/uapi/asm-generic/stat.h).
        assert_eq!(offset_of!(GuestStat, st_dev), 0);
        assert_eq!(offset_of!(GuestStat, st_ino), 8);
        assert_eq!(offset_of!(GuestStat, st_mode), 16);
        assert_eq!(offset_of!(GuestStat, st_nlink), 20);
        assert_eq!(offset_of!(GuestStat, st_uid), 24);
        assert_eq!(offset_of!(GuestStat, st_gid), 28);
        assert_eq!(offset_of!(GuestStat, st_rdev), 32);
        assert_eq!(offset_of!(GuestStat, st_size), 48);
        assert_eq!(offset_of!(GuestStat, st_blksize), 56);
        assert_eq!(offset_of!(GuestStat, st_blocks), 64);
        assert_eq!(offset_of!(GuestStat, st_atime), 72);
        assert_eq!(offset_of!(GuestStat, st_atime_nsec), 80);
        assert_eq!(offset_of!(GuestStat, st_mtime), 88);
        assert_eq!(offset_of!(GuestStat, st_mtime_nsec), 96);
        assert_eq!(offset_of!(GuestStat, st_ctime), 104);
        assert_eq!(offset_of!(GuestStat, st_ctime_nsec), 112);
        assert_eq!(std::mem::size_of::<GuestStat>(), 128);
        // And the host layout it converts from (x86-64, 144 bytes).
        assert_eq!(std::mem::size_of::<libc::stat>(), 144);
        assert_eq!(offset_of!(libc::stat, st_nlink), 16);
        assert_eq!(offset_of!(libc::stat, st_mode), 24);
        assert_eq!(offset_of!(libc::stat, st_uid), 28);
        assert_eq!(offset_of!(libc::stat, st_rdev), 40);
        assert_eq!(offset_of!(libc::stat, st_blksize), 56);
    }

    #[test]
    fn stat_conversion_field_by_field() {
        let mut h = zeroed_stat();
        h.st_dev = 0x0102;
        h.st_ino = 0x0304;
        h.st_nlink = 7;
        h.st_mode = 0o100644;
        h.st_uid = 1000;
        h.st_gid = 1001;
        h.st_rdev = 0x0506;
        h.st_size = 12345;
        h.st_blksize = 4096;
        h.st_blocks = 24;
        h.st_atime = 1;
        h.st_atime_nsec = 2;
        h.st_mtime = 3;
        h.st_mtime_nsec = 4;
        h.st_ctime = 5;
        h.st_ctime_nsec = 6;
        let g = stat_to_guest(&h);
        // SAFETY: GuestStat is plain data of 128 bytes.
        let b: [u8; 128] = unsafe { std::mem::transmute(g) };
        let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
        let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
        assert_eq!(u64_at(0), 0x0102);
        assert_eq!(u64_at(8), 0x0304);
        assert_eq!(u32_at(16), 0o100644);
        assert_eq!(u32_at(20), 7);
        assert_eq!(u32_at(24), 1000);
        assert_eq!(u32_at(28), 1001);
        assert_eq!(u64_at(32), 0x0506);
        assert_eq!(u64_at(40), 0);
        assert_eq!(u64_at(48), 12345);
        assert_eq!(u32_at(56), 4096);
        assert_eq!(u32_at(60), 0);
        assert_eq!(u64_at(64), 24);
        assert_eq!((u64_at(72), u64_at(80)), (1, 2));
        assert_eq!((u64_at(88), u64_at(96)), (3, 4));
        assert_eq!((u64_at(104), u64_at(112)), (5, 6));
        assert_eq!(u64_at(120), 0);
    }
}
