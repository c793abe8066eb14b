//! Event descriptors: eventfd2, timerfd_create, epoll_create1 (their flag bits equal
//! O_CLOEXEC/O_NONBLOCK, identical on both ABIs) and epoll_ctl/epoll_pwait, which
//! convert between arm64's 16-byte `struct epoll_event` and x86-64's packed 12 bytes.

use super::{host_syscall, SyscallCtx};
use crate::linux::guest;
use syscalls::Sysno;

pub fn eventfd2(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    host_syscall(Sysno::eventfd2.id() as u32, a)
}

pub fn timerfd_create(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    host_syscall(Sysno::timerfd_create.id() as u32, a)
}

pub fn epoll_create1(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    host_syscall(Sysno::epoll_create1.id() as u32, a)
}

/// x86-64's packed `struct epoll_event`.
#[repr(C, packed)]
#[derive(Clone, Copy, Default)]
struct HostEvent {
    events: u32,
    data: u64,
}

/// arm64's naturally aligned `struct epoll_event`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct GuestEvent {
    events: u32,
    pad: u32,
    data: u64,
}

pub fn epoll_ctl(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let op = a[1] as i32;
    let mut host = HostEvent::default();
    let ptr = if op == libc::EPOLL_CTL_DEL && a[3] == 0 {
        0
    } else {
        match guest::read_val::<GuestEvent>(a[3]) {
            Ok(g) => {
                host = HostEvent {
                    events: g.events,
                    data: g.data,
                };
                &mut host as *mut HostEvent as u64
            }
            Err(e) => return e,
        }
    };
    host_syscall(Sysno::epoll_ctl.id() as u32, [a[0], a[1], a[2], ptr, 0, 0])
}

/// The kernel's EP_MAX_EVENTS for the guest's structure size.
const EP_MAX_EVENTS: i64 = i32::MAX as i64 / 16;

pub fn epoll_pwait(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let max = a[2] as i32 as i64;
    if max <= 0 || max > EP_MAX_EVENTS {
        return -(libc::EINVAL as i64);
    }
    // Fewer events than asked for is always a valid answer; bound the buffer.
    let n = max.min(1024) as usize;
    let mut buf = vec![HostEvent::default(); n];
    let r = host_syscall(
        Sysno::epoll_pwait.id() as u32,
        [a[0], buf.as_mut_ptr() as u64, n as u64, a[3], a[4], a[5]],
    );
    if r <= 0 {
        return r;
    }
    for (i, h) in buf[..r as usize].iter().enumerate() {
        let g = GuestEvent {
            events: h.events,
            pad: 0,
            data: h.data,
        };
        if let Err(e) = guest::write_val(a[1] + 16 * i as u64, &g) {
            return e;
        }
    }
    r
}
