//! The guest's view of `/proc` (and the arm64 ID registers in `/sys`).
//!
//! `open` of one of the files below returns a memfd filled with what an arm64 kernel
//! would show this process (the approach qemu-aarch64 takes). The process's own
//! directory is `/proc/self`, `/proc/thread-self`, `/proc/<pid>`, `/proc/<own tid>`, and
//! `task/<own tid>` below `/proc/self` and `/proc/<pid>` ([`own_file`]):
//! - `cmdline`: the guest's argv;
//! - `maps`: guest mappings only (ferrite's own code cache, heap and binary are
//!   hidden), with `[stack]` and `[heap]` labels, and the offset/device/inode/path of
//!   file mappings taken from the host's view of the same address;
//! - `smaps`: the same mappings, each with the kernel's fields: `Size`,
//!   `KernelPageSize` and `MMUPageSize` exact; the memory counters (`Rss`, `Pss`,
//!   `Anonymous`, `Swap`…) summed from the host's smaps over the same addresses (a host
//!   mapping that straddles a guest boundary counts in proportion to the overlap; all 0
//!   when the host's smaps cannot be read); `VmFlags` with the guest's `rd wr ex` and
//!   `gd` on the stack;
//! - `auxv`: the auxiliary vector given to the guest;
//! - `stat` (of the process and of each of its threads): the host's line, whose command
//!   name is the guest program's, with the guest's stack start.
//!
//! System-wide files:
//! - `/proc/cpuinfo`: the arm64 kernel's format, one block per online host CPU:
//!   `processor`, `BogoMIPS` (from the guest's 62.5 MHz generic timer, as the kernel
//!   derives it), `Features` (the kernel's names of the AT_HWCAP/AT_HWCAP2 bits given to
//!   the guest, in the kernel's order), `CPU implementer/architecture/variant/part/
//!   revision` from the `-cpu` model's MIDR_EL1;
//! - `/sys/devices/system/cpu/cpuN/regs/identification/midr_el1` and `revidr_el1`
//!   (online CPUs, only when HWCAP_CPUID is advertised, as on arm64).
//!
//! `exe` is a link to the guest program (see `Process::magic_link`).
//!
//! Paths are matched as given (no `..` or `//` normalisation).

use std::io::Write;
use std::os::fd::{FromRawFd, IntoRawFd};
use std::os::unix::ffi::OsStrExt;

use super::mm::{self, Vma, VmaKind};
use super::Process;

/// An emulated file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum File {
    Cmdline,
    Maps,
    Smaps,
    Auxv,
    Stat,
    Cpuinfo,
    /// `/sys/…/cpuN/regs/identification/{midr_el1,revidr_el1}`: (cpu, is MIDR).
    IdReg(u32, bool),
}

fn is_own_tid(b: &[u8]) -> bool {
    let Some(tid) = std::str::from_utf8(b)
        .ok()
        .and_then(|s| s.parse::<i32>().ok())
    else {
        return false;
    };
    if b.first() == Some(&b'0') {
        return false;
    }
    // SAFETY: gettid has no preconditions.
    tid == unsafe { libc::gettid() }
        || std::path::Path::new(&format!("/proc/self/task/{tid}")).exists()
}

/// If `path` names a file in this process's own /proc directory, the file's name
/// within it (`maps`, `exe`, `fd/3`…).
pub fn own_file(path: &[u8]) -> Option<&[u8]> {
    let rest = path.strip_prefix(b"/proc/")?;
    let i = rest.iter().position(|&b| b == b'/')?;
    let (who, file) = (&rest[..i], &rest[i + 1..]);
    let pid = std::process::id().to_string();
    let process_dir = who == b"self" || who == pid.as_bytes();
    if !(process_dir || who == b"thread-self" || is_own_tid(who)) {
        return None;
    }
    if process_dir {
        if let Some(t) = file.strip_prefix(b"task/") {
            let j = t.iter().position(|&b| b == b'/')?;
            return is_own_tid(&t[..j]).then_some(&t[j + 1..]);
        }
    }
    Some(file)
}

/// Which emulated file a path names, if any.
fn which(path: &[u8]) -> Option<File> {
    if path == b"/proc/cpuinfo" {
        return Some(File::Cpuinfo);
    }
    if let Some(rest) = path.strip_prefix(b"/sys/devices/system/cpu/cpu") {
        let i = rest.iter().position(|&b| !b.is_ascii_digit())?;
        let cpu = std::str::from_utf8(&rest[..i]).ok()?.parse().ok()?;
        return match &rest[i..] {
            b"/regs/identification/midr_el1" => Some(File::IdReg(cpu, true)),
            b"/regs/identification/revidr_el1" => Some(File::IdReg(cpu, false)),
            _ => None,
        };
    }
    Some(match own_file(path)? {
        b"cmdline" => File::Cmdline,
        b"maps" => File::Maps,
        b"smaps" => File::Smaps,
        b"auxv" => File::Auxv,
        b"stat" => File::Stat,
        _ => return None,
    })
}

fn perms(prot: u64, shared: bool) -> String {
    let r = if prot & libc::PROT_READ as u64 != 0 {
        'r'
    } else {
        '-'
    };
    let w = if prot & libc::PROT_WRITE as u64 != 0 {
        'w'
    } else {
        '-'
    };
    let x = if prot & libc::PROT_EXEC as u64 != 0 {
        'x'
    } else {
        '-'
    };
    let s = if shared { 's' } else { 'p' };
    format!("{r}{w}{x}{s}")
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

/// The maps line of one guest mapping (with its newline).
fn map_line(start: u64, v: &Vma, host: &[(u64, u64, u64, String, u64, String)]) -> String {
    {
        let h = host.iter().find(|h| h.0 <= start && start < h.1);
        let (off, dev, inode, hpath) = match (h, &v.kind) {
            (Some(h), VmaKind::File(_) | VmaKind::Shm { .. } | VmaKind::Aio) => {
                (h.2 + (start - h.0), h.3.clone(), h.4, h.5.clone())
            }
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
            // The kernel's names, should the host line be missing.
            VmaKind::Shm { .. } => hpath,
            VmaKind::Aio => "/[aio] (deleted)".to_string(),
            VmaKind::Anon => String::new(),
        };
        let line = format!(
            "{start:08x}-{:08x} {} {off:08x} {dev} {inode}",
            v.end,
            perms(v.prot, v.shared)
        );
        if name.is_empty() {
            format!("{line}\n")
        } else {
            format!("{line:<72} {name}\n")
        }
    }
}

/// The text of the guest's /proc/self/maps.
pub fn maps(process: &Process) -> String {
    let host = host_maps();
    let mm = process.mm();
    mm.vmas
        .iter()
        .map(|(&start, v)| map_line(start, v, &host))
        .collect()
}

/// One mapping of the host's /proc/self/smaps: range, `Name: N kB` fields in the
/// kernel's order, THPeligible, VmFlags.
struct HostSmap {
    start: u64,
    end: u64,
    fields: Vec<(String, u64)>,
    thp: u64,
    flags: Vec<String>,
}

fn host_smaps() -> Vec<HostSmap> {
    let text = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
    let mut v: Vec<HostSmap> = Vec::new();
    for l in text.lines() {
        // A mapping's first line: "start-end perms offset dev inode path".
        let first = l.split_whitespace().next().unwrap_or("");
        if let Some((s, e)) = first.split_once('-') {
            if let (Ok(s), Ok(e)) = (u64::from_str_radix(s, 16), u64::from_str_radix(e, 16)) {
                v.push(HostSmap {
                    start: s,
                    end: e,
                    fields: Vec::new(),
                    thp: 0,
                    flags: Vec::new(),
                });
                continue;
            }
        }
        let (Some((key, val)), Some(cur)) = (l.split_once(':'), v.last_mut()) else {
            continue;
        };
        match key {
            "VmFlags" => cur.flags = val.split_whitespace().map(String::from).collect(),
            "THPeligible" => cur.thp = val.trim().parse().unwrap_or(0),
            "ProtectionKey" => {}
            _ => {
                if let Some(n) = val.trim().strip_suffix(" kB") {
                    cur.fields
                        .push((key.to_string(), n.trim().parse().unwrap_or(0)));
                }
            }
        }
    }
    v
}

/// The counters an arm64 6.x kernel shows after `MMUPageSize`, for when the host's
/// smaps cannot be read.
const SMAPS_FIELDS: &[&str] = &[
    "Rss",
    "Pss",
    "Pss_Dirty",
    "Shared_Clean",
    "Shared_Dirty",
    "Private_Clean",
    "Private_Dirty",
    "Referenced",
    "Anonymous",
    "KSM",
    "LazyFree",
    "AnonHugePages",
    "ShmemPmdMapped",
    "FilePmdMapped",
    "Shared_Hugetlb",
    "Private_Hugetlb",
    "Swap",
    "SwapPss",
    "Locked",
];

/// The guest's VmFlags: the host's, with the guest's protection and `gd` on the stack.
fn vm_flags(v: &Vma, host: Option<&HostSmap>) -> String {
    let has = |p: i32| v.prot & p as u64 != 0;
    let mut out: Vec<&str> = Vec::new();
    for (p, n) in [
        (libc::PROT_READ, "rd"),
        (libc::PROT_WRITE, "wr"),
        (libc::PROT_EXEC, "ex"),
    ] {
        if has(p) {
            out.push(n);
        }
    }
    let rest: Vec<&str> = match host {
        Some(h) => h
            .flags
            .iter()
            .map(String::as_str)
            .filter(|f| !["rd", "wr", "ex", "gd"].contains(f))
            .collect(),
        None => {
            let mut r = vec!["mr", "mw", "me"];
            if has(libc::PROT_WRITE) {
                r.push("ac");
            }
            r
        }
    };
    let may = rest
        .iter()
        .take_while(|f| ["sh", "mr", "mw", "me", "ms"].contains(f))
        .count();
    out.extend(&rest[..may]);
    if v.kind == VmaKind::Stack {
        out.push("gd");
    }
    out.extend(&rest[may..]);
    let mut s = String::from("VmFlags:");
    for f in out {
        s.push(' ');
        s += f;
    }
    s + " \n"
}

/// The text of the guest's /proc/self/smaps.
pub fn smaps(process: &Process) -> String {
    let host = host_maps();
    let hs = host_smaps();
    let names: Vec<String> = match hs.first() {
        Some(h) => h
            .fields
            .iter()
            .map(|(n, _)| n.clone())
            .filter(|n| !["Size", "KernelPageSize", "MMUPageSize"].contains(&n.as_str()))
            .collect(),
        None => SMAPS_FIELDS.iter().map(|s| s.to_string()).collect(),
    };
    let mm = process.mm();
    let mut out = String::new();
    for (&start, v) in &mm.vmas {
        out += &map_line(start, v, &host);
        let kb = |n: u64| n / 1024;
        out += &format!("{:<16}{:>8} kB\n", "Size:", kb(v.end - start));
        out += &format!("{:<16}{:>8} kB\n", "KernelPageSize:", 4);
        out += &format!("{:<16}{:>8} kB\n", "MMUPageSize:", 4);
        let overlapping: Vec<&HostSmap> = hs
            .iter()
            .filter(|h| h.start < v.end && start < h.end)
            .collect();
        for name in &names {
            let mut total = 0u64;
            for h in &overlapping {
                let Some(&(_, val)) = h.fields.iter().find(|(n, _)| n == name) else {
                    continue;
                };
                let lo = h.start.max(start);
                let hi = h.end.min(v.end);
                let whole = h.end - h.start;
                total += (val as u128 * (hi - lo) as u128 / whole.max(1) as u128) as u64;
            }
            out += &format!("{:<16}{:>8} kB\n", format!("{name}:"), total);
        }
        let first = overlapping.first().copied();
        out += &format!("THPeligible:    {:>8}\n", first.map_or(0, |h| h.thp));
        out += &vm_flags(v, first);
    }
    out
}

/// HWCAP bit names, as the arm64 kernel prints them (`hwcap_str`, bits 0..).
const HWCAP_NAMES: &[&str] = &[
    "fp",
    "asimd",
    "evtstrm",
    "aes",
    "pmull",
    "sha1",
    "sha2",
    "crc32",
    "atomics",
    "fphp",
    "asimdhp",
    "cpuid",
    "asimdrdm",
    "jscvt",
    "fcma",
    "lrcpc",
    "dcpop",
    "sha3",
    "sm3",
    "sm4",
    "asimddp",
    "sha512",
    "sve",
    "asimdfhm",
    "dit",
    "uscat",
    "ilrcpc",
    "flagm",
    "ssbs",
    "sb",
    "paca",
    "pacg",
    "gcs",
    "cmpbr",
    "fprcvt",
    "f8mm8",
    "f8mm4",
    "svef16mm",
    "sveeltperm",
    "sveaes2",
    "svebfscale",
    "sve2p2",
    "sme2p2",
    "smesbitperm",
    "smeaes",
    "smesfexpa",
    "smestmop",
    "smesmop4",
];

/// HWCAP2 bit names (the kernel prints them after all HWCAP names).
const HWCAP2_NAMES: &[&str] = &[
    "dcpodp",
    "sve2",
    "sveaes",
    "svepmull",
    "svebitperm",
    "svesha3",
    "svesm4",
    "flagm2",
    "frint",
    "svei8mm",
    "svef32mm",
    "svef64mm",
    "svebf16",
    "i8mm",
    "bf16",
    "dgh",
    "rng",
    "bti",
    "mte",
    "ecv",
    "afp",
    "rpres",
    "mte3",
    "sme",
    "smei16i64",
    "smef64f64",
    "smei8i32",
    "smef16f32",
    "smeb16f32",
    "smef32f32",
    "smefa64",
    "wfxt",
    "ebf16",
    "sveebf16",
    "cssc",
    "rprfm",
    "sve2p1",
    "sme2",
    "sme2p1",
    "smei16i32",
    "smebi32i32",
    "smeb16b16",
    "smef16f16",
    "mops",
    "hbc",
    "sveb16b16",
    "lrcpc3",
    "lse128",
    "fpmr",
    "lut",
    "faminmax",
    "f8cvt",
    "f8fma",
    "f8dp4",
    "f8dp2",
    "f8e4m3",
    "f8e5m2",
    "smelutv2",
    "smef8f16",
    "smef8f32",
    "smesf8fma",
    "smesf8dp4",
    "smesf8dp2",
    "poe",
];

/// The `Features` line's words for these HWCAP/HWCAP2 values.
fn feature_names(hwcap: u64, hwcap2: u64) -> Vec<&'static str> {
    let bits = |v: u64, names: &'static [&'static str]| {
        names
            .iter()
            .enumerate()
            .filter(move |&(i, _)| v & (1 << i) != 0)
            .map(|(_, &n)| n)
    };
    bits(hwcap, HWCAP_NAMES)
        .chain(bits(hwcap2, HWCAP2_NAMES))
        .collect()
}

/// The host's online CPUs (`/sys/devices/system/cpu/online`, else the affinity mask).
fn online_cpus() -> Vec<u32> {
    if let Ok(s) = std::fs::read_to_string("/sys/devices/system/cpu/online") {
        let mut v = Vec::new();
        for part in s.trim().split(',').filter(|p| !p.is_empty()) {
            let (a, b) = part.split_once('-').unwrap_or((part, part));
            if let (Ok(a), Ok(b)) = (a.parse::<u32>(), b.parse::<u32>()) {
                v.extend(a..=b.min(a + 65535));
            }
        }
        if !v.is_empty() {
            return v;
        }
    }
    // SAFETY: a zeroed cpu_set_t is valid; sched_getaffinity fills it.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid cpu_set_t of the size passed.
    let ok = unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) } == 0;
    let v: Vec<u32> = (0..libc::CPU_SETSIZE as u32)
        // SAFETY: CPU_ISSET reads a bit of the set, in range.
        .filter(|&c| ok && unsafe { libc::CPU_ISSET(c as usize, &set) })
        .collect();
    if v.is_empty() {
        vec![0]
    } else {
        v
    }
}

fn auxv_value(process: &Process, tag: u64) -> u64 {
    process
        .auxv
        .iter()
        .find(|(k, _)| *k == tag)
        .map_or(0, |&(_, v)| v)
}

/// MIDR_EL1 of the guest's CPU model.
fn midr(process: &Process) -> u64 {
    let name = process.options.cpu.as_deref().unwrap_or("max");
    crate::arm64::model::find(name).map_or(0, |m| m.features.midr)
}

/// The text of /proc/cpuinfo, as arm64's `c_show` prints it for a 64-bit task.
pub fn cpuinfo(process: &Process) -> String {
    const AT_HWCAP: u64 = 16;
    const AT_HWCAP2: u64 = 26;
    let features = feature_names(
        auxv_value(process, AT_HWCAP),
        auxv_value(process, AT_HWCAP2),
    );
    let midr = midr(process);
    // The kernel's loops_per_jiffy comes from the timer frequency: BogoMIPS = 2 * f / 1e6.
    let hz = 250u64;
    let lpj = crate::arm64::lift::system::CNTFRQ / hz;
    let bogo = (lpj / (500_000 / hz), lpj / (5_000 / hz) % 100);
    let mut out = String::new();
    for cpu in online_cpus() {
        out += &format!("processor\t: {cpu}\n");
        out += &format!("BogoMIPS\t: {}.{:02}\n", bogo.0, bogo.1);
        out += "Features\t:";
        for f in &features {
            out.push(' ');
            out += f;
        }
        out += "\n";
        out += &format!("CPU implementer\t: 0x{:02x}\n", (midr >> 24) & 0xff);
        out += "CPU architecture: 8\n";
        out += &format!("CPU variant\t: 0x{:x}\n", (midr >> 20) & 0xf);
        out += &format!("CPU part\t: 0x{:03x}\n", (midr >> 4) & 0xfff);
        out += &format!("CPU revision\t: {}\n\n", midr & 0xf);
    }
    out
}

/// `midr_el1`/`revidr_el1` of an online CPU, when HWCAP_CPUID is advertised.
fn id_reg(process: &Process, cpu: u32, is_midr: bool) -> Option<String> {
    const AT_HWCAP: u64 = 16;
    if auxv_value(process, AT_HWCAP) & super::hwcap::CPUID == 0 || !online_cpus().contains(&cpu) {
        return None;
    }
    let v = if is_midr { midr(process) } else { 0 };
    Some(format!("0x{v:016x}\n"))
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

/// A `stat` file: the host's file at the same path (the guest's process and threads are
/// ferrite's, with the same pid and tids, and the host comm is the guest program's name:
/// see `set_comm`), with the guest's stack start.
fn stat(process: &Process, path: &[u8]) -> Vec<u8> {
    let host = std::fs::read(std::ffi::OsStr::from_bytes(path))
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default();
    // "pid (comm) state ppid …": the comm may hold spaces and parentheses.
    let Some(close) = host.rfind(')') else {
        return host.into_bytes();
    };
    let mut fields: Vec<String> = host[close + 2..]
        .split_whitespace()
        .map(String::from)
        .collect();
    // Field 28 (startstack) is index 25 after pid and comm; show the guest's.
    if let Some(f) = fields.get_mut(25) {
        *f = process.stack_start.to_string();
    }
    format!("{} {}\n", &host[..=close], fields.join(" ")).into_bytes()
}

/// If `path` is one of the emulated files, open it: `Some(fd or -errno)`.
/// `cloexec` is whether the guest asked for O_CLOEXEC.
pub fn open(process: &Process, path: &[u8], cloexec: bool) -> Option<i64> {
    let file = which(path)?;
    let data = match file {
        File::Cmdline => cmdline(process),
        File::Maps => maps(process).into_bytes(),
        File::Smaps => smaps(process).into_bytes(),
        File::Auxv => auxv(process),
        File::Stat => stat(process, path),
        File::Cpuinfo => cpuinfo(process).into_bytes(),
        File::IdReg(cpu, is_midr) => id_reg(process, cpu, is_midr)?.into_bytes(),
    };
    let flags = if cloexec { libc::MFD_CLOEXEC } else { 0 };
    // The maps snapshot has its own name: `PROCMAP_QUERY` recognises it (`is_maps_fd`).
    let name = if file == File::Maps {
        MAPS_MEMFD
    } else {
        c"ferrite-proc"
    };
    // SAFETY: the name is a valid C string; memfd_create returns a new descriptor.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), flags) };
    if fd < 0 {
        return Some(
            -(std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO) as i64),
        );
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

// ---- the PROCMAP_QUERY ioctl of /proc/self/maps --------------------------------------

/// The name of the memfd that holds a maps snapshot.
const MAPS_MEMFD: &std::ffi::CStr = c"ferrite-proc-maps";

/// `PROCMAP_QUERY`: `_IOWR('f', 17, struct procmap_query)` (104 bytes); the ioctl
/// encoding is asm-generic on arm64 and x86-64 alike.
pub const PROCMAP_QUERY: u64 = 0xc068_6611;

const Q_READABLE: u64 = 0x01;
const Q_WRITABLE: u64 = 0x02;
const Q_EXECUTABLE: u64 = 0x04;
const Q_SHARED: u64 = 0x08;
const Q_COVERING_OR_NEXT: u64 = 0x10;
const Q_FILE_BACKED: u64 = 0x20;

/// `struct procmap_query` (include/uapi/linux/fs.h), the same on arm64 and x86-64.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct ProcmapQuery {
    size: u64,
    query_flags: u64,
    query_addr: u64,
    vma_start: u64,
    vma_end: u64,
    vma_flags: u64,
    vma_page_size: u64,
    vma_offset: u64,
    inode: u64,
    dev_major: u32,
    dev_minor: u32,
    vma_name_size: u32,
    build_id_size: u32,
    vma_name_addr: u64,
    build_id_addr: u64,
}

/// Is `fd` a snapshot of /proc/self/maps that [`open`] made?
pub fn is_maps_fd(fd: u64) -> bool {
    let expect = format!("/memfd:{} (deleted)", MAPS_MEMFD.to_string_lossy());
    std::fs::read_link(format!("/proc/self/fd/{}", fd as i32))
        .is_ok_and(|l| l.as_os_str().as_encoded_bytes() == expect.as_bytes())
}

/// Does the host kernel answer `PROCMAP_QUERY` (asked once, on its own maps file)?
fn host_has_procmap_query() -> bool {
    static HAS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *HAS.get_or_init(|| {
        use std::os::fd::AsRawFd;
        let Ok(f) = std::fs::File::open("/proc/self/maps") else {
            return false;
        };
        let mut q = ProcmapQuery {
            size: std::mem::size_of::<ProcmapQuery>() as u64,
            query_flags: Q_COVERING_OR_NEXT,
            ..Default::default()
        };
        // SAFETY: PROCMAP_QUERY reads and writes one `struct procmap_query`, which `q`
        // is; older kernels fail with ENOTTY without touching it.
        let r = unsafe { libc::ioctl(f.as_raw_fd(), PROCMAP_QUERY as _, &mut q) };
        r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ENOTTY)
    })
}

/// The GNU build ID of the ELF file at `path` (its `NT_GNU_BUILD_ID` note), if any.
fn build_id(path: &str) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut head = vec![0u8; 64 * 1024];
    let n = std::fs::File::open(path).ok()?.read(&mut head).ok()?;
    head.truncate(n);
    let u16_at = |o: usize| Some(u16::from_le_bytes(head.get(o..o + 2)?.try_into().ok()?));
    let u32_at = |o: usize| Some(u32::from_le_bytes(head.get(o..o + 4)?.try_into().ok()?));
    let u64_at = |o: usize| Some(u64::from_le_bytes(head.get(o..o + 8)?.try_into().ok()?));
    if head.get(..5)? != b"\x7fELF\x02" || head[5] != 1 {
        return None;
    }
    let (phoff, phentsize, phnum) = (u64_at(32)? as usize, u16_at(54)? as usize, u16_at(56)?);
    for i in 0..phnum as usize {
        let ph = phoff + i * phentsize;
        if u32_at(ph)? != 4 {
            continue; // not PT_NOTE
        }
        let (off, size) = (u64_at(ph + 8)? as usize, u64_at(ph + 32)? as usize);
        let mut at = off;
        while at + 12 <= off + size {
            let (namesz, descsz, typ) = (
                u32_at(at)? as usize,
                u32_at(at + 4)? as usize,
                u32_at(at + 8)?,
            );
            let name = at + 12;
            let desc = name + namesz.next_multiple_of(4);
            if typ == 3 && head.get(name..name + namesz)? == b"GNU\0" {
                return Some(head.get(desc..desc + descsz)?.to_vec());
            }
            at = desc + descsz.next_multiple_of(4);
        }
    }
    None
}

/// `ioctl(fd, PROCMAP_QUERY, arg)` on a maps snapshot, as the kernel answers it (6.11+):
/// the guest mapping covering `query_addr` (or the next one) that has the asked-for
/// permissions, its range, flags, offset, device, inode, name and build ID.
pub fn procmap_query(process: &Process, arg: u64) -> i64 {
    use super::guest;
    const EINVAL: i64 = -(libc::EINVAL as i64);
    // The guest sees the host kernel's release (uname), so it gets this ioctl exactly
    // when the host kernel has it (Linux 6.11 and later).
    if !host_has_procmap_query() {
        return -(libc::ENOTTY as i64);
    }
    let usize_: u64 = match guest::read_val(arg) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let full = std::mem::size_of::<ProcmapQuery>() as u64;
    // At most a page; at least up to `query_addr`; a larger struct than ours only with a
    // zero tail (E2BIG).
    if usize_ > 4096 {
        return -(libc::E2BIG as i64);
    }
    if usize_ < 24 {
        return EINVAL;
    }
    let bytes = match guest::read_bytes(arg, usize_ as usize) {
        Ok(b) => b,
        Err(e) => return e,
    };
    if bytes.iter().skip(full as usize).any(|&b| b != 0) {
        return -(libc::E2BIG as i64);
    }
    let mut q = ProcmapQuery::default();
    let n = bytes.len().min(full as usize);
    // SAFETY: copies at most size_of::<ProcmapQuery>() bytes into a plain-integer struct.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), &mut q as *mut ProcmapQuery as *mut u8, n)
    };
    let valid =
        Q_READABLE | Q_WRITABLE | Q_EXECUTABLE | Q_SHARED | Q_COVERING_OR_NEXT | Q_FILE_BACKED;
    if q.query_flags & !valid != 0
        || (q.vma_name_size != 0) != (q.vma_name_addr != 0)
        || (q.build_id_size != 0) != (q.build_id_addr != 0)
    {
        return EINVAL;
    }
    let host = host_maps();
    let found = {
        let mm = process.mm();
        let perms = |v: &Vma| {
            let mut f = 0;
            if v.prot & libc::PROT_READ as u64 != 0 {
                f |= Q_READABLE;
            }
            if v.prot & libc::PROT_WRITE as u64 != 0 {
                f |= Q_WRITABLE;
            }
            if v.prot & libc::PROT_EXEC as u64 != 0 {
                f |= Q_EXECUTABLE;
            }
            if v.shared {
                f |= Q_SHARED;
            }
            f
        };
        let want = q.query_flags & (Q_READABLE | Q_WRITABLE | Q_EXECUTABLE | Q_SHARED);
        let first = mm.find(q.query_addr).map_or(q.query_addr, |(s, _)| s);
        mm.vmas
            .range(first..)
            .filter(|(_, v)| v.end > q.query_addr)
            .take(if q.query_flags & Q_COVERING_OR_NEXT != 0 {
                usize::MAX
            } else {
                1
            })
            .filter(|(s, _)| q.query_flags & Q_COVERING_OR_NEXT != 0 || **s <= q.query_addr)
            .find(|(_, v)| {
                perms(v) & want == want
                    && (q.query_flags & Q_FILE_BACKED == 0
                        || matches!(
                            v.kind,
                            VmaKind::File(_) | VmaKind::Shm { .. } | VmaKind::Aio
                        ))
            })
            .map(|(s, v)| (*s, v.clone(), perms(v)))
    };
    let Some((start, v, flags)) = found else {
        return -(libc::ENOENT as i64);
    };
    q.vma_start = start;
    q.vma_end = v.end;
    q.vma_flags = flags;
    q.vma_page_size = mm::PAGE;
    let h = host.iter().find(|h| h.0 <= start && start < h.1);
    let (mut file_path, mut name) = (None, None);
    match (&v.kind, h) {
        (VmaKind::File(_) | VmaKind::Shm { .. } | VmaKind::Aio, h) => {
            if let Some(h) = h {
                q.vma_offset = h.2 + (start - h.0);
                let (maj, min) = h.3.split_once(':').unwrap_or(("0", "0"));
                q.dev_major = u32::from_str_radix(maj, 16).unwrap_or(0);
                q.dev_minor = u32::from_str_radix(min, 16).unwrap_or(0);
                q.inode = h.4;
            }
            let host_path = h.map(|h| h.5.clone()).filter(|p| !p.is_empty());
            let path = match &v.kind {
                VmaKind::File(p) => host_path.unwrap_or(p.clone()),
                VmaKind::Aio => "/[aio] (deleted)".to_string(),
                _ => host_path.unwrap_or_default(),
            };
            if matches!(v.kind, VmaKind::File(_)) {
                file_path = Some(path.clone());
            }
            name = (!path.is_empty()).then_some(path);
        }
        (VmaKind::Stack, _) => name = Some("[stack]".to_string()),
        (VmaKind::Heap, _) => name = Some("[heap]".to_string()),
        (VmaKind::Anon, _) => {}
    }
    if q.build_id_size != 0 {
        let id = file_path.as_deref().and_then(build_id).unwrap_or_default();
        if id.len() > q.build_id_size as usize {
            return -(libc::ENAMETOOLONG as i64);
        }
        if let Err(e) = guest::write_bytes(q.build_id_addr, &id) {
            return e;
        }
        q.build_id_size = id.len() as u32;
    }
    if q.vma_name_size != 0 {
        let mut bytes = name.unwrap_or_default().into_bytes();
        if !bytes.is_empty() {
            bytes.push(0);
        }
        if bytes.len() > q.vma_name_size as usize {
            return -(libc::ENAMETOOLONG as i64);
        }
        if let Err(e) = guest::write_bytes(q.vma_name_addr, &bytes) {
            return e;
        }
        q.vma_name_size = bytes.len() as u32;
    }
    // SAFETY: viewing a plain-integer struct as its bytes.
    let out = unsafe {
        std::slice::from_raw_parts(&q as *const ProcmapQuery as *const u8, full as usize)
    };
    match guest::write_bytes(arg, &out[..n]) {
        Ok(()) => 0,
        Err(e) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_matching() {
        assert_eq!(which(b"/proc/self/maps"), Some(File::Maps));
        assert_eq!(which(b"/proc/self/smaps"), Some(File::Smaps));
        assert_eq!(which(b"/proc/thread-self/cmdline"), Some(File::Cmdline));
        let own = format!("/proc/{}/auxv", std::process::id());
        assert_eq!(which(own.as_bytes()), Some(File::Auxv));
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() };
        let task = format!("/proc/self/task/{tid}/stat");
        assert_eq!(which(task.as_bytes()), Some(File::Stat));
        let bare_tid = format!("/proc/{tid}/maps");
        assert_eq!(which(bare_tid.as_bytes()), Some(File::Maps));
        assert_eq!(which(b"/proc/self/task/1/stat"), None);
        assert_eq!(which(b"/proc/1/maps"), None);
        assert_eq!(which(b"/proc/self/status"), None);
        assert_eq!(which(b"/etc/passwd"), None);
        assert_eq!(which(b"/proc/cpuinfo"), Some(File::Cpuinfo));
        assert_eq!(
            which(b"/sys/devices/system/cpu/cpu12/regs/identification/midr_el1"),
            Some(File::IdReg(12, true))
        );
        assert_eq!(
            which(b"/sys/devices/system/cpu/cpu0/regs/identification/revidr_el1"),
            Some(File::IdReg(0, false))
        );
        assert_eq!(which(b"/sys/devices/system/cpu/cpu0/online"), None);
        assert_eq!(own_file(b"/proc/thread-self/exe"), Some(&b"exe"[..]));
        assert_eq!(own_file(b"/proc/self/fd/3"), Some(&b"fd/3"[..]));
    }

    #[test]
    fn feature_words_in_kernel_order() {
        // cortex-a53 under qemu: FP ASIMD AES PMULL SHA1 SHA2 CRC32 CPUID.
        assert_eq!(
            feature_names(0x8fb, 0).join(" "),
            "fp asimd aes pmull sha1 sha2 crc32 cpuid"
        );
        assert_eq!(
            feature_names(1 << 32 | 1, 1 << 63 | 1 << 43).join(" "),
            "fp gcs mops poe"
        );
        assert_eq!(HWCAP_NAMES.len(), 48);
        assert_eq!(HWCAP2_NAMES.len(), 64);
    }

    #[test]
    fn online_cpu_list() {
        let v = online_cpus();
        assert!(!v.is_empty());
        assert!(v.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn vm_flags_lines() {
        let stack = Vma {
            end: 0,
            prot: (libc::PROT_READ | libc::PROT_WRITE) as u64,
            kind: VmaKind::Stack,
            shared: false,
            sealed: false,
        };
        assert_eq!(vm_flags(&stack, None), "VmFlags: rd wr mr mw me gd ac \n");
        let host = HostSmap {
            start: 0,
            end: 0,
            fields: Vec::new(),
            thp: 0,
            flags: ["rd", "ex", "mr", "mw", "me", "dw", "sd"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        };
        let code = Vma {
            end: 0,
            prot: (libc::PROT_READ | libc::PROT_EXEC) as u64,
            kind: VmaKind::Anon,
            shared: false,
            sealed: false,
        };
        assert_eq!(
            vm_flags(&code, Some(&host)),
            "VmFlags: rd ex mr mw me dw sd \n"
        );
    }
}
