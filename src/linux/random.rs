//! The guest's randomness: the 16 `AT_RANDOM` bytes of the initial stack and the
//! `getrandom` system call.
//!
//! By default both come from the host kernel. With `-seed N` (`FERRITE_RAND_SEED`, or
//! `QEMU_RAND_SEED` as in qemu-aarch64) they come from one deterministic generator
//! seeded with N, so a run can be repeated exactly: the same seed gives the same
//! `AT_RANDOM` bytes (hence the same stack-protector canary and pointer guard in glibc)
//! and the same `getrandom` output, call after call. The generator is SplitMix64; it is
//! not meant to be secure, which is the point of the option. A forked child continues
//! from its parent's state.

use std::sync::Mutex;

use super::guest;

/// SplitMix64 state, when `-seed` was given.
static SEEDED: Mutex<Option<u64>> = Mutex::new(None);

/// Make every later `fill` deterministic, starting from `seed`.
pub(crate) fn set_seed(seed: u64) {
    *SEEDED.lock().unwrap_or_else(|e| e.into_inner()) = Some(seed);
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Fill `buf` from the seeded generator; `false` when no seed was given.
fn fill_seeded(buf: &mut [u8]) -> bool {
    let mut g = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let Some(state) = g.as_mut() else {
        return false;
    };
    for chunk in buf.chunks_mut(8) {
        let v = splitmix(state).to_le_bytes();
        chunk.copy_from_slice(&v[..chunk.len()]);
    }
    true
}

/// Fill `buf` with random bytes: the seeded generator, or the host kernel.
pub(crate) fn fill(buf: &mut [u8]) -> Result<(), String> {
    if fill_seeded(buf) {
        return Ok(());
    }
    let mut done = 0;
    while done < buf.len() {
        // SAFETY: the pointer and length describe the unfilled tail of `buf`.
        let n = unsafe {
            libc::getrandom(
                buf[done..].as_mut_ptr() as *mut libc::c_void,
                buf.len() - done,
                0,
            )
        };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(super::cli::io_text(&e));
        }
        done += n as usize;
    }
    Ok(())
}

const GRND_NONBLOCK: u64 = 1;
const GRND_RANDOM: u64 = 2;
const GRND_INSECURE: u64 = 4;

/// `getrandom(buf, len, flags)` under `-seed`: the kernel's flag checks, then `len`
/// bytes from the generator (as the kernel, at most `i32::MAX` bytes per call; a buffer
/// that becomes unwritable part way gives the count written so far, or EFAULT).
/// `None` without a seed: the host kernel answers.
pub(crate) fn getrandom_seeded(addr: u64, len: u64, flags: u64) -> Option<i64> {
    if SEEDED.lock().unwrap_or_else(|e| e.into_inner()).is_none() {
        return None;
    }
    if flags & !(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) != 0
        || flags & (GRND_RANDOM | GRND_INSECURE) == GRND_RANDOM | GRND_INSECURE
    {
        return Some(-(libc::EINVAL as i64));
    }
    let len = len.min(i32::MAX as u64) as usize;
    let mut done = 0usize;
    let mut chunk = [0u8; 256];
    while done < len {
        // Never across a page boundary: a fault then stops exactly where the kernel's
        // copy would.
        let at = addr.wrapping_add(done as u64);
        let n = (len - done)
            .min(chunk.len())
            .min(4096 - (at & 4095) as usize);
        fill_seeded(&mut chunk[..n]);
        if guest::write_bytes(at, &chunk[..n]).is_err() {
            return Some(if done > 0 {
                done as i64
            } else {
                -(libc::EFAULT as i64)
            });
        }
        done += n;
    }
    Some(done as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_is_the_published_sequence() {
        // SplitMix64 from state 0: the first outputs of the reference implementation.
        let mut s = 0u64;
        assert_eq!(splitmix(&mut s), 0xe220_a839_7b1d_cdaf);
        assert_eq!(splitmix(&mut s), 0x6e78_9e6a_a1b9_65f4);
    }
}
