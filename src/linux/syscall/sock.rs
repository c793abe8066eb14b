//! Socket details that are not argument translation (socket structures and constants
//! are the same on both ABIs, so the calls themselves pass through).
//!
//! The kernel never restarts a blocking socket call that has a timeout: a receive on
//! a socket with SO_RCVTIMEO, or a send with SO_SNDTIMEO, interrupted by a signal fails
//! with EINTR even when the handler has SA_RESTART (the socket layer returns EINTR
//! rather than ERESTARTSYS when the wait was timed; see signal(7)). ferrite's host
//! handlers never have SA_RESTART, so the host call always ends with EINTR and the
//! signal code decides about restarting; it asks [`timed_socket_call`].

/// Which socket timeout governs a blocking call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dir {
    Receive,
    Send,
}

/// The timeout direction of arm64 call `nr` if it can block on a socket.
fn direction(nr: u64) -> Option<Dir> {
    match nr {
        // read readv recvfrom recvmsg recvmmsg accept accept4
        63 | 65 | 207 | 212 | 243 | 202 | 242 => Some(Dir::Receive),
        // write writev sendto sendmsg sendmmsg connect
        64 | 66 | 206 | 211 | 269 | 203 => Some(Dir::Send),
        _ => None,
    }
}

/// Is guest call `nr` on descriptor `fd` a socket call with a timeout set for its
/// direction (so that the kernel would not restart it after a signal handler)?
pub fn timed_socket_call(nr: u64, fd: u64) -> bool {
    let Some(dir) = direction(nr) else {
        return false;
    };
    let opt = match dir {
        Dir::Receive => libc::SO_RCVTIMEO,
        Dir::Send => libc::SO_SNDTIMEO,
    };
    let mut tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 0,
    };
    let mut len = std::mem::size_of::<libc::timeval>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `tv`; a descriptor that is not
    // a socket just fails (ENOTSOCK/EBADF).
    let r = unsafe {
        libc::getsockopt(
            fd as i32,
            libc::SOL_SOCKET,
            opt,
            &mut tv as *mut libc::timeval as *mut libc::c_void,
            &mut len,
        )
    };
    r == 0 && (tv.tv_sec != 0 || tv.tv_usec != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn timeouts_by_direction() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let fd = a.as_raw_fd() as u64;
        assert!(!timed_socket_call(63, fd));
        a.set_read_timeout(Some(std::time::Duration::from_millis(500)))
            .unwrap();
        assert!(timed_socket_call(63, fd));
        assert!(timed_socket_call(212, fd));
        assert!(!timed_socket_call(64, fd));
        assert!(!timed_socket_call(56, fd));
        // Not a socket.
        let f = std::fs::File::open("/proc/self/stat").unwrap();
        assert!(!timed_socket_call(63, f.as_raw_fd() as u64));
    }
}
