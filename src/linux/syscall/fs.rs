//! File and descriptor syscalls that need translation: `openat` (O_* bits, `-L`
//! prefix), `newfstatat`/`fstat` (arm64 `struct stat`), `readlinkat`, `fcntl`
//! (F_GETFL/F_SETFL flag bits), `pipe2`, `dup3`, `ioctl`.

use super::{host_syscall, SyscallCtx};
use crate::linux::guest;
use syscalls::Sysno;

/// The four O_* bits whose values differ (guest value, host value).
const O_SWAPS: [(u64, u64); 4] = [
    (0o40000, libc::O_DIRECTORY as u64),  // guest O_DIRECTORY
    (0o100000, libc::O_NOFOLLOW as u64),  // guest O_NOFOLLOW
    (0o200000, libc::O_DIRECT as u64),    // guest O_DIRECT
    (0o400000, libc::O_LARGEFILE as u64), // guest O_LARGEFILE
];

const SWAP_MASK_GUEST: u64 = 0o40000 | 0o100000 | 0o200000 | 0o400000;

/// arm64 open flags → host open flags.
pub fn open_flags_to_host(g: u64) -> u64 {
    let mut h = g & !SWAP_MASK_GUEST;
    for (gb, hb) in O_SWAPS {
        if g & gb != 0 {
            h |= hb;
        }
    }
    h
}

/// Host open flags → arm64 open flags (F_GETFL). The arm64 kernel always reports
/// O_LARGEFILE for files opened by 64-bit processes.
pub fn open_flags_to_guest(h: u64) -> u64 {
    let host_mask: u64 = O_SWAPS.iter().fold(0, |m, (_, hb)| m | hb);
    let mut g = h & !host_mask;
    for (gb, hb) in O_SWAPS {
        if h & hb != 0 {
            g |= gb;
        }
    }
    g | 0o400000
}

fn sys(nr: Sysno, a: [u64; 6]) -> i64 {
    host_syscall(nr.id() as u32, a)
}

pub fn openat(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let path = match ctx.process.guest_path(a[1]) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let flags = open_flags_to_host(a[2]);
    sys(
        Sysno::openat,
        [a[0], path.as_ptr() as u64, flags, a[3], 0, 0],
    )
}

/// The arm64 `struct stat` (128 bytes).
#[repr(C)]
#[derive(Clone, Copy, Default)]
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

pub fn newfstatat(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let path = match ctx.process.guest_path(a[1]) {
        Ok(p) => p,
        Err(e) => return e,
    };
    // SAFETY: all-zero is a valid `stat`.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let r = sys(
        Sysno::newfstatat,
        [a[0], path.as_ptr() as u64, &mut st as *mut _ as u64, a[3], 0, 0],
    );
    if r < 0 {
        return r;
    }
    put_stat(a[2], &st)
}

pub fn fstat(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    // SAFETY: all-zero is a valid `stat`.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let r = sys(Sysno::fstat, [a[0], &mut st as *mut _ as u64, 0, 0, 0, 0]);
    if r < 0 {
        return r;
    }
    put_stat(a[1], &st)
}

pub fn readlinkat(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let path = match ctx.process.guest_path(a[1]) {
        Ok(p) => p,
        Err(e) => return e,
    };
    if let Some(target) = ctx.process.magic_link(a[0] as i32, &path) {
        let bytes = target.as_encoded_bytes();
        let n = bytes.len().min(a[3] as usize);
        if (a[3] as i64) <= 0 {
            return -(libc::EINVAL as i64);
        }
        return match guest::write_bytes(a[2], &bytes[..n]) {
            Ok(()) => n as i64,
            Err(e) => e,
        };
    }
    sys(
        Sysno::readlinkat,
        [a[0], path.as_ptr() as u64, a[2], a[3], 0, 0],
    )
}

pub fn fcntl(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let cmd = a[1] as i32;
    match cmd {
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
            [a[0], a[1], open_flags_to_host(a[2]), 0, 0, 0],
        ),
        // Every other command (F_DUPFD*, F_GETFD/SETFD, locks with the identical
        // `struct flock`, F_SETOWN, leases, pipe sizes, seals…) has the same ABI.
        _ => sys(Sysno::fcntl, a),
    }
}

pub fn pipe2(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let mut fds = [0i32; 2];
    let r = sys(
        Sysno::pipe2,
        [fds.as_mut_ptr() as u64, open_flags_to_host(a[1]), 0, 0, 0, 0],
    );
    if r < 0 {
        return r;
    }
    if let Err(e) = guest::write_val(a[0], &fds) {
        // SAFETY: closing the two descriptors we just created.
        unsafe {
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
        return e;
    }
    0
}

pub fn dup3(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    // dup3 only accepts O_CLOEXEC, which has the same value on both ABIs; other
    // bits must still be rejected by the host (EINVAL), so translate and forward.
    sys(Sysno::dup3, [a[0], a[1], open_flags_to_host(a[2]), 0, 0, 0])
}

pub fn ioctl(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    // The terminal (TCGETS/TCSETS*/TIOCGWINSZ/TIOCSWINSZ/TIOCGPGRP/…), FIO* (FIONREAD,
    // FIONBIO, FIOCLEX, FIONCLEX, FIOASYNC) and block/loop ioctls have identical
    // numbers and structures on arm64 and x86-64 (asm-generic ioctl encoding, kernel
    // `termios` of 36 bytes), so they are forwarded.
    sys(Sysno::ioctl, a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn o_flag_swap_round_trip() {
        let g_dir = 0o40000u64;
        assert_eq!(open_flags_to_host(g_dir), libc::O_DIRECTORY as u64);
        assert_eq!(open_flags_to_host(0o100000), libc::O_NOFOLLOW as u64);
        assert_eq!(open_flags_to_host(0o200000), libc::O_DIRECT as u64);
        assert_eq!(open_flags_to_host(0o400000), libc::O_LARGEFILE as u64);
        let common = (libc::O_CREAT | libc::O_APPEND | libc::O_CLOEXEC | libc::O_RDWR) as u64;
        assert_eq!(open_flags_to_host(common | g_dir), common | libc::O_DIRECTORY as u64);
        assert_eq!(
            open_flags_to_guest(libc::O_DIRECTORY as u64 | libc::O_RDONLY as u64),
            0o40000 | 0o400000
        );
    }
}
