//! Safe access to guest memory from syscall handlers.
//!
//! In user mode guest addresses are host addresses, but a guest pointer may be bad, or
//! hostile: ferrite's own heap, stacks and code cache share the address space. A copy is
//! first checked against the guest's memory map — every byte must lie in a guest mapping
//! that allows the access (any of read, write or execute for a read, as arm64 EL0 pages
//! are readable whenever they are mapped; write for a write), as the kernel's
//! `access_ok` and page-table walk would require — and then goes through
//! `process_vm_readv`/`process_vm_writev` on our own process, which fail with `EFAULT`
//! on memory the host cannot access instead of faulting ferrite: the answer a kernel
//! `copy_from_user`/`copy_to_user` gives.
//!
//! The map is not consulted when the calling thread already holds its lock (ferrite's
//! own bookkeeping, e.g. the tid words a fork writes while every lock is held) or when
//! no guest process exists (unit tests).

use std::ffi::CString;

/// A negative errno, as syscall handlers return it.
pub type Errno = i64;

pub const EFAULT: Errno = -(libc::EFAULT as i64);

/// May the guest access [addr, addr + len) (`write`: for writing), by its memory map?
fn guest_may_access(addr: u64, len: usize, write: bool) -> bool {
    let Some(process) = super::fault::process() else {
        return true;
    };
    let Some(mm) = process.mm_unless_held() else {
        return true;
    };
    let Some(end) = addr.checked_add(len as u64) else {
        return false;
    };
    let need = if write {
        libc::PROT_WRITE
    } else {
        libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC
    } as u64;
    let mut at = addr;
    while at < end {
        match mm.find(at) {
            Some((_, v)) if v.prot & need != 0 => at = v.end,
            _ => return false,
        }
    }
    true
}

fn vm_copy(local: *mut u8, remote: u64, len: usize, write: bool) -> Result<(), Errno> {
    if len == 0 {
        return Ok(());
    }
    if !guest_may_access(remote, len, write) {
        return Err(EFAULT);
    }
    let l = libc::iovec {
        iov_base: local as *mut libc::c_void,
        iov_len: len,
    };
    let r = libc::iovec {
        iov_base: remote as *mut libc::c_void,
        iov_len: len,
    };
    // SAFETY: `local` is valid for `len` bytes (caller's buffer); the remote side is
    // checked by the kernel, which returns EFAULT instead of faulting.
    let n = unsafe {
        if write {
            libc::process_vm_writev(libc::getpid(), &l, 1, &r, 1, 0)
        } else {
            libc::process_vm_readv(libc::getpid(), &l, 1, &r, 1, 0)
        }
    };
    if n == len as isize {
        Ok(())
    } else {
        Err(EFAULT)
    }
}

/// Copy `len` bytes from guest address `addr`.
pub fn read_bytes(addr: u64, len: usize) -> Result<Vec<u8>, Errno> {
    let mut v = vec![0u8; len];
    vm_copy(v.as_mut_ptr(), addr, len, false)?;
    Ok(v)
}

/// Copy `data` to guest address `addr`.
pub fn write_bytes(addr: u64, data: &[u8]) -> Result<(), Errno> {
    vm_copy(data.as_ptr() as *mut u8, addr, data.len(), true)
}

/// Read a plain-data value (a `#[repr(C)]` struct of integers) from the guest.
pub fn read_val<T: Copy>(addr: u64) -> Result<T, Errno> {
    let mut v = std::mem::MaybeUninit::<T>::uninit();
    vm_copy(
        v.as_mut_ptr() as *mut u8,
        addr,
        std::mem::size_of::<T>(),
        false,
    )?;
    // SAFETY: all bytes were written by the copy; callers only use plain-data `T`
    // (integers and arrays of them), for which any bit pattern is valid.
    Ok(unsafe { v.assume_init() })
}

/// Write a plain-data value to the guest.
pub fn write_val<T: Copy>(addr: u64, v: &T) -> Result<(), Errno> {
    vm_copy(
        v as *const T as *mut u8,
        addr,
        std::mem::size_of::<T>(),
        true,
    )
}

/// Read a NUL-terminated string of at most `max` bytes (ENAMETOOLONG beyond).
pub fn read_cstr(addr: u64, max: usize) -> Result<CString, Errno> {
    let mut out = Vec::new();
    let mut a = addr;
    while out.len() < max {
        // Read up to the end of the page so we never cross into an unmapped one early.
        let chunk = (4096 - (a & 4095)) as usize;
        let buf = read_bytes(a, chunk)?;
        if let Some(i) = memchr::memchr(0, &buf) {
            out.extend_from_slice(&buf[..i]);
            // SAFETY-free: `out` has no interior NUL (we stopped at the first one).
            return CString::new(out).map_err(|_| EFAULT);
        }
        out.extend_from_slice(&buf);
        a += chunk as u64;
    }
    Err(-(libc::ENAMETOOLONG as i64))
}

/// Read a NULL-terminated array of guest pointers to strings (argv/envp style).
pub fn read_cstr_array(addr: u64) -> Result<Vec<CString>, Errno> {
    let mut out = Vec::new();
    if addr == 0 {
        return Ok(out);
    }
    let mut a = addr;
    loop {
        let p: u64 = read_val(a)?;
        if p == 0 {
            return Ok(out);
        }
        out.push(read_cstr(p, 128 * 1024)?);
        a += 8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_faults() {
        let s = b"hello\0world";
        let c = read_cstr(s.as_ptr() as u64, 100).unwrap();
        assert_eq!(c.to_bytes(), b"hello");
        assert_eq!(read_bytes(8, 8), Err(EFAULT));
        let x: u64 = 0x1122;
        assert_eq!(read_val::<u64>(&x as *const u64 as u64), Ok(0x1122));
    }
}
