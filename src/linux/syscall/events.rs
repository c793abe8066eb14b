//! epoll: `epoll_ctl`, `epoll_pwait` and `epoll_pwait2` convert between arm64's
//! naturally aligned 16-byte `struct epoll_event` and x86-64's packed 12-byte one.
//!
//! The other event-descriptor calls (`eventfd2`, `epoll_create1`, `timerfd_*`,
//! `ppoll`, `pselect6`) have identical flags and structures on both ABIs and are `pass`
//! rows of the table.

use super::{host_syscall, SyscallCtx};
use crate::linux::guest;
use syscalls::Sysno;

/// x86-64's packed `struct epoll_event`.
#[repr(C, packed)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct HostEvent {
    pub events: u32,
    pub data: u64,
}

/// arm64's naturally aligned `struct epoll_event`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct GuestEvent {
    pub events: u32,
    pub pad: u32,
    pub data: u64,
}

const _: () = assert!(std::mem::size_of::<HostEvent>() == 12);
const _: () = assert!(std::mem::size_of::<GuestEvent>() == 16);

pub fn event_to_host(g: &GuestEvent) -> HostEvent {
    HostEvent {
        events: g.events,
        data: g.data,
    }
}

pub fn event_to_guest(h: &HostEvent) -> GuestEvent {
    GuestEvent {
        events: h.events,
        pad: 0,
        data: h.data,
    }
}

fn sys(nr: Sysno, a: [u64; 6]) -> i64 {
    host_syscall(nr.id() as u32, a)
}

pub fn epoll_ctl(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    // The kernel copies the event first for every op but EPOLL_CTL_DEL (whose pointer
    // it ignores), so a bad pointer is EFAULT before any descriptor check.
    if a[1] as i32 == libc::EPOLL_CTL_DEL {
        return sys(Sysno::epoll_ctl, [a[0], a[1], a[2], 0, 0, 0]);
    }
    let mut host = match guest::read_val::<GuestEvent>(a[3]) {
        Ok(g) => event_to_host(&g),
        Err(e) => return e,
    };
    sys(
        Sysno::epoll_ctl,
        [a[0], a[1], a[2], &mut host as *mut HostEvent as u64, 0, 0],
    )
}

/// The kernel's EP_MAX_EVENTS for the guest's 16-byte events.
const EP_MAX_EVENTS: i64 = i32::MAX as i64 / 16;
/// The most events taken per call. Programs expect every ready event, up to
/// `maxevents`, from one call (CPython's test_selectors waits on 10,000 descriptors and
/// counts them), so the host buffer is as large as the guest's up to this bound (12 MiB
/// of host events); beyond it, returning fewer than are ready is still valid (the rest
/// stay ready for the next call).
const BATCH: usize = 1 << 20;
/// A kernel address: the host's `access_ok` refuses it (EFAULT) at the point where the
/// arm64 kernel checks the guest's buffer.
const BAD_POINTER: u64 = u64::MAX - 4095;

/// The common part of `epoll_pwait` and `epoll_pwait2`: `a` with the events buffer and
/// count replaced by a host buffer, then the events converted back to the guest.
fn pwait(nr: Sysno, a: [u64; 6]) -> i64 {
    let (events, max) = (a[1], a[2] as i32 as i64);
    // Invalid counts: the host reports EINVAL after its timeout and sigmask checks, as
    // arm64 does.
    if max <= 0 || max > EP_MAX_EVENTS {
        return sys(nr, [a[0], a[1], u64::MAX, a[3], a[4], a[5]]);
    }
    if events
        .checked_add(max as u64 * 16)
        .is_none_or(|end| end > crate::linux::mm::ARM64_TASK_SIZE)
    {
        return sys(nr, [a[0], BAD_POINTER, 1, a[3], a[4], a[5]]);
    }
    let n = (max as usize).min(BATCH);
    let mut buf = vec![HostEvent::default(); n];
    // The sigmask with the RT signal map applied; the wait goes through safe_syscall.
    let mut mask = 0u64;
    let sigmask = super::signal::host_sigmask_arg(a[4], a[5], &mut mask);
    let r = crate::linux::signal::safe_syscall(
        nr.id() as u32,
        [a[0], buf.as_mut_ptr() as u64, n as u64, a[3], sigmask, a[5]],
    );
    if r <= 0 {
        return r;
    }
    let out: Vec<GuestEvent> = buf[..r as usize].iter().map(event_to_guest).collect();
    // SAFETY: `out` is a slice of plain-data structs; viewing it as bytes is sound.
    let bytes = unsafe { std::slice::from_raw_parts(out.as_ptr() as *const u8, out.len() * 16) };
    match guest::write_bytes(events, bytes) {
        Ok(()) => r,
        // The kernel stops at the first event it cannot store and reports EFAULT
        // only if none was stored; find how many fit.
        Err(e) => {
            let stored = (0..out.len())
                .take_while(|&i| guest::write_val(events + 16 * i as u64, &out[i]).is_ok())
                .count();
            if stored == 0 {
                e
            } else {
                stored as i64
            }
        }
    }
}

/// `epoll_pwait(epfd, events, maxevents, timeout_ms, sigmask, sigsetsize)`.
pub fn epoll_pwait(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    pwait(Sysno::epoll_pwait, a)
}

/// `epoll_pwait2(epfd, events, maxevents, timeout *timespec, sigmask, sigsetsize)`; the
/// `timespec` is identical on both ABIs.
pub fn epoll_pwait2(_ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    pwait(Sysno::epoll_pwait2, a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::offset_of;

    #[test]
    fn layouts() {
        assert_eq!(offset_of!(GuestEvent, events), 0);
        assert_eq!(offset_of!(GuestEvent, data), 8);
        assert_eq!(offset_of!(HostEvent, events), 0);
        assert_eq!(offset_of!(HostEvent, data), 4);
    }

    #[test]
    fn event_conversion_both_ways() {
        let g = GuestEvent {
            events: (libc::EPOLLIN | libc::EPOLLET) as u32,
            pad: 0xdead,
            data: 0x1122_3344_5566_7788,
        };
        let h = event_to_host(&g);
        // SAFETY: HostEvent is 12 bytes of plain data.
        let hb: [u8; 12] = unsafe { std::mem::transmute(h) };
        assert_eq!(u32::from_le_bytes(hb[0..4].try_into().unwrap()), g.events);
        assert_eq!(
            u64::from_le_bytes(hb[4..12].try_into().unwrap()),
            0x1122_3344_5566_7788
        );
        let back = event_to_guest(&h);
        assert_eq!(back, GuestEvent { pad: 0, ..g });
        // SAFETY: GuestEvent is 16 bytes of plain data.
        let gb: [u8; 16] = unsafe { std::mem::transmute(back) };
        assert_eq!(&gb[4..8], &[0, 0, 0, 0]);
        assert_eq!(
            u64::from_le_bytes(gb[8..16].try_into().unwrap()),
            0x1122_3344_5566_7788
        );
    }
}
