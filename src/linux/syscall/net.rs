//! Socket creation calls. SOCK_NONBLOCK and SOCK_CLOEXEC have the same values on
//! arm64 and x86-64 (they are O_NONBLOCK and O_CLOEXEC, which do not differ), and the
//! socket address and message structures are identical, so these forward after
//! checking the flag bits are ones both ABIs define.

use super::{host_syscall, SyscallCtx};
use syscalls::Sysno;

const TYPE_FLAGS: u64 = (libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) as u64;

pub fn socket(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    host_syscall(Sysno::socket.id() as u32, a)
}

pub fn socketpair(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    host_syscall(Sysno::socketpair.id() as u32, a)
}

pub fn accept4(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    if a[3] & !TYPE_FLAGS != 0 {
        return -(libc::EINVAL as i64);
    }
    host_syscall(Sysno::accept4.id() as u32, a)
}
