//! userfaultfd: user-space handling of page faults in guest memory.
//!
//! The flags (`O_CLOEXEC`, `O_NONBLOCK`, `UFFD_USER_MODE_ONLY`), the ioctl numbers (the
//! asm-generic encoding on both) and every structure (`uffdio_api`, `uffdio_register`,
//! `uffdio_copy`, `uffd_msg`…) are the same on arm64 and x86-64, and guest addresses are
//! host addresses, so the descriptor is the host's and its ioctls and reads pass through:
//! a guest load or store that touches a registered missing page faults in the host
//! thread running the guest, which blocks in the host kernel until the guest's handler
//! thread resolves it (UFFDIO_COPY/ZEROPAGE/…), exactly as on an arm64 kernel; the
//! messages carry the guest address. The privilege rules (vm.unprivileged_userfaultfd,
//! UFFD_USER_MODE_ONLY) are the host's, which match the kernel's.
//!
//! What ferrite checks: `UFFDIO_REGISTER` only over guest memory, and `UFFDIO_MOVE`
//! only between guest ranges, so a guest can neither make ferrite's own accesses block
//! on it nor move ferrite's pages away (EINVAL, as for a range the kernel does not find
//! mapped).

use super::{host_syscall, SyscallCtx};
use crate::linux::{guest, Process};
use syscalls::Sysno;

/// `_IOWR(0xAA, 0x00, struct uffdio_register)` (32 bytes).
const UFFDIO_REGISTER: u64 = 0xc020_aa00;
/// `_IOWR(0xAA, 0x05, struct uffdio_move)` (40 bytes, Linux 6.8+).
const UFFDIO_MOVE: u64 = 0xc028_aa05;

pub fn userfaultfd(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    host_syscall(Sysno::userfaultfd.id() as u32, [a[0], 0, 0, 0, 0, 0])
}

fn is_userfaultfd(fd: u64) -> bool {
    std::fs::read_link(format!("/proc/self/fd/{}", fd as i32))
        .is_ok_and(|p| p.as_os_str() == "anon_inode:[userfaultfd]")
}

/// Is [start, start + len) all guest memory? (An empty or wrapping range is left to the
/// host, which refuses it.)
fn guest_range(process: &Process, start: u64, len: u64) -> bool {
    let Some(end) = start.checked_add(len) else {
        return true;
    };
    len == 0 || process.mm().first_gap(start, end).is_none()
}

/// For `ioctl(fd, req, arg)`: the answer when the request must not reach the host.
pub fn check_ioctl(process: &Process, fd: u64, req: u64, arg: u64) -> Option<i64> {
    let req = req & 0xffff_ffff;
    if req != UFFDIO_REGISTER && req != UFFDIO_MOVE {
        return None;
    }
    if !is_userfaultfd(fd) {
        return None;
    }
    let einval = Some(-(libc::EINVAL as i64));
    if req == UFFDIO_REGISTER {
        // struct uffdio_register { struct uffdio_range { start, len }; mode; ioctls; }
        let [start, len] = match guest::read_val::<[u64; 2]>(arg) {
            Ok(r) => r,
            Err(e) => return Some(e),
        };
        return (!guest_range(process, start, len))
            .then_some(einval)
            .flatten();
    }
    // struct uffdio_move { dst, src, len, mode; s64 move; }
    let [dst, src, len] = match guest::read_val::<[u64; 3]>(arg) {
        Ok(r) => r,
        Err(e) => return Some(e),
    };
    if !guest_range(process, src, len) || !guest_range(process, dst, len) {
        return einval;
    }
    None
}
