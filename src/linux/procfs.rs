//! The guest's view of its own `/proc` files.
//!
//! `open` of `/proc/self/X`, `/proc/<own pid>/X` or `/proc/thread-self/X` for the files
//! below returns a memfd filled with what an arm64 kernel would show this process
//! (the approach qemu-aarch64 takes):
//! - `cmdline`: the guest's argv;
//! - `maps`: guest mappings only (ferrite's own code cache, heap and binary are
//!   hidden), with `[stack]` and `[heap]` labels, and the offset/device/inode/path of
//!   file mappings taken from the host's view of the same address;
//! - `auxv`: the auxiliary vector given to the guest;
//! - `stat`: the host's line with the guest's command name and stack start.
//!
//! `exe` is a link to the guest program (see `Process::magic_link`).

use std::io::Write;
use std::os::fd::{FromRawFd, IntoRawFd};

use super::mm::VmaKind;
use super::Process;

/// Which emulated file a path names, if any.
fn which(path: &[u8]) -> Option<&'static str> {
    let rest = path.strip_prefix(b"/proc/")?;
    let (who, file) = {
        let i = rest.iter().position(|&b| b == b'/')?;
        (&rest[..i], &rest[i + 1..])
    };
    let pid = std::process::id().to_string();
    if who != b"self" && who != b"thread-self" && who != pid.as_bytes() {
        return None;
    }
    Some(match file {
        b"cmdline" => "cmdline",
        b"maps" => "maps",
        b"auxv" => "auxv",
        b"stat" => "stat",
        _ => return None,
    })
}

fn perms(prot: u64) -> String {
    let r = if prot & libc::PROT_READ as u64 != 0 { 'r' } else { '-' };
    let w = if prot & libc::PROT_WRITE as u64 != 0 { 'w' } else { '-' };
    let x = if prot & libc::PROT_EXEC as u64 != 0 { 'x' } else { '-' };
    format!("{r}{w}{x}p")
}

/// The host's /proc/self/maps, parsed: (start, end, offset, dev, inode, path).
fn host_maps() -> Vec<(u64, u64, u64, String, u64, String)> {
    let text = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let range = it.next()?;
            let _perms = it.next()?;
            let off = u64::from_str_radix(it.next()?, 16).ok()?;
            let dev = it.next()?.to_string();
            let inode = it.next()?.parse().ok()?;
            let path = it.collect::<Vec<_>>().join(" ");
            let (s, e) = range.split_once('-')?;
            Some((
                u64::from_str_radix(s, 16).ok()?,
                u64::from_str_radix(e, 16).ok()?,
                off,
                dev,
                inode,
                path,
            ))
        })
        .collect()
}

/// The text of the guest's /proc/self/maps.
pub fn maps(process: &Process) -> String {
    let host = host_maps();
    let mm = process.mm();
    let mut out = String::new();
    for (&start, v) in &mm.vmas {
        let h = host.iter().find(|h| h.0 <= start && start < h.1);
        let (off, dev, inode, hpath) = match (h, &v.kind) {
            (Some(h), VmaKind::File(_)) => (h.2 + (start - h.0), h.3.clone(), h.4, h.5.clone()),
            _ => (0, "00:00".to_string(), 0, String::new()),
        };
        let name = match &v.kind {
            VmaKind::Stack => "[stack]".to_string(),
            VmaKind::Heap => "[heap]".to_string(),
            VmaKind::File(p) if !hpath.is_empty() => {
                let _ = p;
                hpath
            }
            VmaKind::File(p) => p.clone(),
            VmaKind::Anon => String::new(),
        };
        let line = format!(
            "{start:08x}-{:08x} {} {off:08x} {dev} {inode}",
            v.end,
            perms(v.prot)
        );
        if name.is_empty() {
            out += &format!("{line}\n");
        } else {
            out += &format!("{line:<72} {name}\n");
        }
    }
    out
}

fn cmdline(process: &Process) -> Vec<u8> {
    let mut v = Vec::new();
    for a in &process.argv {
        v.extend_from_slice(a.as_bytes());
        v.push(0);
    }
    v
}

fn auxv(process: &Process) -> Vec<u8> {
    let mut v = Vec::new();
    for (k, val) in &process.auxv {
        v.extend_from_slice(&k.to_le_bytes());
        v.extend_from_slice(&val.to_le_bytes());
    }
    v
}

fn stat(process: &Process) -> Vec<u8> {
    let host = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // "pid (comm) state ppid …": replace comm, keep the rest.
    let (Some(open), Some(close)) = (host.find('('), host.rfind(')')) else {
        return host.into_bytes();
    };
    let comm: String = process
        .exe_path
        .file_name()
        .map(|n| n.to_string_lossy().chars().take(15).collect())
        .unwrap_or_default();
    let mut fields: Vec<String> = host[close + 2..]
        .split_whitespace()
        .map(String::from)
        .collect();
    // Field 28 (startstack) is index 25 after pid and comm; show the guest's.
    if let Some(f) = fields.get_mut(25) {
        *f = process.stack_start.to_string();
    }
    format!("{}({comm}) {}\n", &host[..open], fields.join(" ")).into_bytes()
}

/// If `path` is one of the emulated files, open it: `Some(fd or -errno)`.
/// `cloexec` is whether the guest asked for O_CLOEXEC.
pub fn open(process: &Process, path: &[u8], cloexec: bool) -> Option<i64> {
    let file = which(path)?;
    let data = match file {
        "cmdline" => cmdline(process),
        "maps" => maps(process).into_bytes(),
        "auxv" => auxv(process),
        _ => stat(process),
    };
    let flags = if cloexec { libc::MFD_CLOEXEC } else { 0 };
    // SAFETY: the name is a valid C string; memfd_create returns a new descriptor.
    let fd = unsafe { libc::memfd_create(c"ferrite-proc".as_ptr(), flags) };
    if fd < 0 {
        return Some(-(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO) as i64));
    }
    // SAFETY: `fd` is a fresh descriptor we own; the File gives it back with into_raw_fd.
    let mut f = unsafe { std::fs::File::from_raw_fd(fd) };
    if f.write_all(&data).is_err() {
        return Some(-(libc::EIO as i64));
    }
    let fd = f.into_raw_fd();
    // SAFETY: rewinding our own descriptor.
    unsafe { libc::lseek(fd, 0, libc::SEEK_SET) };
    Some(fd as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_matching() {
        assert_eq!(which(b"/proc/self/maps"), Some("maps"));
        assert_eq!(which(b"/proc/thread-self/cmdline"), Some("cmdline"));
        let own = format!("/proc/{}/auxv", std::process::id());
        assert_eq!(which(own.as_bytes()), Some("auxv"));
        assert_eq!(which(b"/proc/1/maps"), None);
        assert_eq!(which(b"/proc/self/status"), None);
        assert_eq!(which(b"/etc/passwd"), None);
    }
}
