//! The ELF loader: maps an arm64 executable (ET_EXEC, static-PIE or dynamic PIE) and
//! its `PT_INTERP` (looked up through the `-L` prefix) into the guest address space,
//! and builds the initial stack and auxiliary vector the way the arm64 kernel does.
//!
//! The main program is read from its path, or from the descriptor binfmt_misc passed
//! (`AT_EXECFD`, flag `O`), which also works for execute-only files.
//!
//! Every error a user can cause (not an ELF, wrong architecture, truncated or corrupt
//! headers, missing interpreter) is a [`LoadError`] with a one-line message.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::cli::io_text;

use goblin::container::{Container, Ctx, Endian};
use goblin::elf::header::{EM_AARCH64, ET_DYN, ET_EXEC};
use goblin::elf::program_header::{PF_R, PF_W, PF_X, PT_INTERP, PT_LOAD, PT_PHDR};
use goblin::elf::{Elf, Header, ProgramHeader};

use super::mm::{page_up, MemoryMap, VmaKind, GUEST_LIMIT, PAGE};
use super::syscall::host_syscall;
use syscalls::Sysno;

/// A loading error: one line for the user.
#[derive(Debug)]
pub struct LoadError(pub String);

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a PIE main program is placed (as qemu-aarch64 does, below 2^47).
pub const PIE_BASE: u64 = 0x55_0000_0000;
/// The arm64 kernel's default `stack_guard_gap`: 256 pages kept free below the stack.
const STACK_GUARD_GAP: u64 = 256 * PAGE;

/// Default guest stack size (8 MiB, or RLIMIT_STACK if larger and finite).
pub const DEFAULT_STACK: u64 = 8 << 20;

// auxv tags.
const AT_NULL: u64 = 0;
const AT_PHDR: u64 = 3;
const AT_PHENT: u64 = 4;
const AT_PHNUM: u64 = 5;
const AT_PAGESZ: u64 = 6;
const AT_BASE: u64 = 7;
const AT_FLAGS: u64 = 8;
const AT_ENTRY: u64 = 9;
const AT_UID: u64 = 11;
const AT_EUID: u64 = 12;
const AT_GID: u64 = 13;
const AT_EGID: u64 = 14;
const AT_PLATFORM: u64 = 15;
const AT_HWCAP: u64 = 16;
const AT_CLKTCK: u64 = 17;
const AT_SECURE: u64 = 23;
const AT_RANDOM: u64 = 25;
const AT_HWCAP2: u64 = 26;
const AT_EXECFN: u64 = 31;
const AT_MINSIGSTKSZ: u64 = 51;

/// AT_MINSIGSTKSZ: what an arm64 kernel without SVE/SME reports — the size of its
/// `rt_sigframe` with fpsimd/esr records, a frame record and alignment padding.
pub const MINSIGSTKSZ: u64 = 4720;

/// One mapped ELF object.
#[derive(Debug, Clone, Copy)]
pub struct Mapped {
    pub entry: u64,
    pub bias: u64,
    pub phdr: u64,
    pub phnum: u64,
    pub phent: u64,
    /// End of the highest segment (page-aligned), for the brk start.
    pub end: u64,
    /// The lowest address and the end of the file contents of the executable
    /// segments (`start_code`, `end_code`) and of the writable ones (`start_data`,
    /// `end_data`), as the kernel's `mm` records them; 0 when there are none.
    pub code: (u64, u64),
    pub data: (u64, u64),
}

/// The result of loading a program.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub main: Mapped,
    pub interp: Option<Mapped>,
    /// Where execution starts (the interpreter's entry if there is one).
    pub pc: u64,
    pub sp: u64,
    /// The auxiliary vector as written to the stack (for /proc/self/auxv).
    pub auxv: Vec<(u64, u64)>,
    /// Guest address range of the stack mapping.
    pub stack: (u64, u64),
}

/// What the loader needs to know about the process being started.
pub struct LoadParams<'a> {
    /// Path of the program as the guest should see it (AT_EXECFN).
    pub exec_path: &'a str,
    /// Host path to open.
    pub host_path: &'a Path,
    pub argv: &'a [CString],
    pub envp: &'a [CString],
    /// Look up absolute interpreter paths here first (`-L`).
    pub prefix: Option<&'a Path>,
    pub stack_size: u64,
    pub hwcap: u64,
    pub hwcap2: u64,
    /// AT_FLAGS (bit 0: binfmt_misc preserved argv[0]).
    pub at_flags: u64,
    /// Read the main program from this descriptor instead of `host_path` (binfmt_misc
    /// `O`). The caller keeps ownership.
    pub exec_fd: Option<i32>,
}

fn err<T>(msg: impl Into<String>) -> Result<T, LoadError> {
    Err(LoadError(msg.into()))
}

/// Check the identification bytes and say precisely what is wrong.
pub fn check_ident(path: &str, bytes: &[u8]) -> Result<(), LoadError> {
    if bytes.len() < 4 || &bytes[..4] != b"\x7fELF" {
        if bytes.starts_with(b"#!") {
            return err(format!(
                "{path}: is a script; run its interpreter instead (or register ferrite with binfmt_misc)"
            ));
        }
        return err(format!("{path}: not an ELF file"));
    }
    if bytes.len() < 20 {
        return err(format!("{path}: truncated ELF header"));
    }
    let class = bytes[4];
    let machine = u16::from_le_bytes([bytes[18], bytes[19]]);
    if class == 1 {
        return err(match machine {
            40 => {
                format!("{path}: 32-bit ARM ELF is not supported (ferrite runs AArch64 programs)")
            }
            _ => format!("{path}: 32-bit ELF is not supported (ferrite runs AArch64 programs)"),
        });
    }
    if class != 2 || bytes[5] != 1 {
        return err(format!("{path}: not a 64-bit little-endian ELF file"));
    }
    if machine != EM_AARCH64 {
        let what = match machine {
            62 => "an x86-64 ELF: run it natively",
            3 => "an i386 ELF",
            243 => "a RISC-V ELF",
            _ => "not an AArch64 ELF",
        };
        return err(format!("{path}: {what}"));
    }
    if bytes.len() < 64 {
        return err(format!("{path}: truncated ELF header"));
    }
    Ok(())
}

fn prot_of(flags: u32) -> u64 {
    let mut p = 0;
    if flags & PF_R != 0 {
        p |= libc::PROT_READ;
    }
    if flags & PF_W != 0 {
        p |= libc::PROT_WRITE;
    }
    if flags & PF_X != 0 {
        p |= libc::PROT_EXEC;
    }
    p as u64
}

fn page_down(x: u64) -> u64 {
    x & !(PAGE - 1)
}

fn host_mmap(addr: u64, len: u64, prot: u64, flags: i32, fd: i32, off: u64) -> Result<u64, i64> {
    let r = host_syscall(
        Sysno::mmap.id() as u32,
        [addr, len, prot, flags as u64, fd as i64 as u64, off],
    );
    if r < 0 {
        Err(r)
    } else {
        Ok(r as u64)
    }
}

/// An ELF file to map: open, and its contents.
struct Object {
    file: File,
    bytes: Vec<u8>,
}

/// Open and read the file at `host_path`.
fn read_path(path: &str, host_path: &Path) -> Result<Object, LoadError> {
    let mut file =
        File::open(host_path).map_err(|e| LoadError(format!("{path}: {}", io_text(&e))))?;
    // Sized up front: growing the buffer step by step showed in start-up profiles.
    let size = file.metadata().map_or(0, |m| m.len() as usize);
    let mut bytes = Vec::with_capacity(size + 1);
    std::io::Read::read_to_end(&mut file, &mut bytes)
        .map_err(|e| LoadError(format!("{path}: {}", io_text(&e))))?;
    Ok(Object { file, bytes })
}

/// Read the file open on `fd` (from offset 0, whatever the descriptor's offset).
fn read_fd(path: &str, fd: i32) -> Result<Object, LoadError> {
    // SAFETY: dup of a descriptor the caller owns; the copy is owned by the File.
    let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if dup < 0 {
        let e = std::io::Error::last_os_error();
        return err(format!("{path}: AT_EXECFD {fd}: {}", io_text(&e)));
    }
    // SAFETY: `dup` is a fresh descriptor nobody else owns.
    let file = unsafe { File::from_raw_fd(dup) };
    let mut bytes = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file
            .read_at(&mut buf, bytes.len() as u64)
            .map_err(|e| LoadError(format!("{path}: {}", io_text(&e))))?;
        if n == 0 {
            break;
        }
        bytes.extend_from_slice(&buf[..n]);
    }
    Ok(Object { file, bytes })
}

/// The parts of an ELF file the loader uses: its header and program headers (what the
/// kernel reads too; sections and symbols are the dynamic linker's business, and
/// parsing them cost measurable start-up time).
struct Headers {
    header: Header,
    program_headers: Vec<ProgramHeader>,
}

/// Parse the ELF header and program headers of `bytes` (identification already checked:
/// 64-bit little-endian).
fn parse_headers(path: &str, bytes: &[u8]) -> Result<Headers, LoadError> {
    let bad = |e: &dyn std::fmt::Display| LoadError(format!("{path}: malformed ELF: {e}"));
    let header = Elf::parse_header(bytes).map_err(|e| bad(&e))?;
    let ctx = Ctx::new(Container::Big, Endian::Little);
    if header.e_phnum > 0 && header.e_phentsize as usize != ProgramHeader::size(ctx) {
        return Err(bad(&format!(
            "program header size {} (expected 56)",
            header.e_phentsize
        )));
    }
    let program_headers =
        ProgramHeader::parse(bytes, header.e_phoff as usize, header.e_phnum as usize, ctx)
            .map_err(|e| bad(&e))?;
    Ok(Headers {
        header,
        program_headers,
    })
}

/// Map one ELF file. `hint` is where an ET_DYN object should go (0: anywhere).
fn map_object(
    path: &str,
    obj: &Object,
    mm: &mut MemoryMap,
    hint: u64,
) -> Result<Mapped, LoadError> {
    let (file, bytes) = (&obj.file, &obj.bytes);
    check_ident(path, bytes)?;
    let elf = parse_headers(path, bytes)?;
    let et = elf.header.e_type;
    if et != ET_EXEC && et != ET_DYN {
        return err(format!(
            "{path}: not an executable or shared object (e_type {et})"
        ));
    }
    let loads: Vec<_> = elf
        .program_headers
        .iter()
        .filter(|p| p.p_type == PT_LOAD && p.p_memsz > 0)
        .collect();
    if loads.is_empty() {
        return err(format!("{path}: malformed ELF: no loadable segments"));
    }
    for p in &loads {
        let bad = p.p_filesz > p.p_memsz
            || p.p_offset
                .checked_add(p.p_filesz)
                .is_none_or(|e| e > bytes.len() as u64)
            || p.p_vaddr
                .checked_add(p.p_memsz)
                .is_none_or(|e| e > GUEST_LIMIT)
            || (p.p_align > 1 && (p.p_vaddr % PAGE) != (p.p_offset % PAGE));
        if bad {
            return err(format!("{path}: malformed ELF: bad PT_LOAD segment"));
        }
    }
    let lo = page_down(loads.iter().map(|p| p.p_vaddr).min().unwrap());
    let hi = page_up(loads.iter().map(|p| p.p_vaddr + p.p_memsz).max().unwrap());
    let span = hi - lo;
    // Reserve the whole span first so segments land where the file expects them
    // relative to each other, and nothing else is in the way.
    let bias = if et == ET_DYN {
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
        let got = host_mmap(hint, span, 0, flags, -1, 0).map_err(|e| {
            LoadError(format!(
                "{path}: cannot reserve {span:#x} bytes: errno {}",
                -e
            ))
        })?;
        if got + span > GUEST_LIMIT {
            return err(format!("{path}: no room below 2^47"));
        }
        got.wrapping_sub(lo)
    } else {
        let flags = libc::MAP_PRIVATE
            | libc::MAP_ANONYMOUS
            | libc::MAP_NORESERVE
            | libc::MAP_FIXED_NOREPLACE;
        host_mmap(lo, span, 0, flags, -1, 0).map_err(|_| {
            LoadError(format!(
                "{path}: cannot map at {lo:#x}-{hi:#x}: the range is in use"
            ))
        })?;
        0
    };
    let fd = file.as_raw_fd();
    for p in &loads {
        let prot = prot_of(p.p_flags);
        let vaddr = p.p_vaddr + bias;
        let start = page_down(vaddr);
        let file_end = vaddr + p.p_filesz;
        let mem_end = page_up(vaddr + p.p_memsz);
        let writable_prot = prot | libc::PROT_WRITE as u64;
        let needs_zeroing = p.p_memsz > p.p_filesz && file_end % PAGE != 0;
        if p.p_filesz > 0 {
            let len = file_end - start;
            let map_prot = if needs_zeroing { writable_prot } else { prot };
            host_mmap(
                start,
                len,
                map_prot,
                libc::MAP_PRIVATE | libc::MAP_FIXED,
                fd,
                page_down(p.p_offset),
            )
            .map_err(|e| LoadError(format!("{path}: cannot map segment: errno {}", -e)))?;
        }
        if p.p_memsz > p.p_filesz {
            // Zero the rest of the last file page, then map anonymous pages for .bss.
            if needs_zeroing && p.p_filesz > 0 {
                let n = (PAGE - file_end % PAGE) as usize;
                // SAFETY: [file_end, file_end+n) is inside the page just mapped writable.
                unsafe { std::ptr::write_bytes(file_end as *mut u8, 0, n) };
            }
            let bss = if p.p_filesz > 0 {
                page_up(file_end)
            } else {
                start
            };
            if mem_end > bss {
                host_mmap(
                    bss,
                    mem_end - bss,
                    prot,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                    -1,
                    0,
                )
                .map_err(|e| LoadError(format!("{path}: cannot map .bss: errno {}", -e)))?;
            }
            if needs_zeroing && p.p_filesz > 0 && prot != writable_prot {
                host_syscall(
                    Sysno::mprotect.id() as u32,
                    [start, page_up(file_end) - start, prot, 0, 0, 0],
                );
            }
        }
        mm.insert(start, mem_end, prot, VmaKind::File(path.to_string()));
    }
    let phdr = elf
        .program_headers
        .iter()
        .find(|p| p.p_type == PT_PHDR)
        .map(|p| p.p_vaddr + bias)
        .or_else(|| {
            let off = elf.header.e_phoff;
            loads
                .iter()
                .find(|p| off >= p.p_offset && off < p.p_offset + p.p_filesz)
                .map(|p| p.p_vaddr + (off - p.p_offset) + bias)
        })
        .unwrap_or(0);
    let range_of = |flag: u32| {
        let segs = loads.iter().filter(|p| p.p_flags & flag != 0);
        let start = segs.clone().map(|p| p.p_vaddr + bias).min().unwrap_or(0);
        let end = segs
            .map(|p| p.p_vaddr + p.p_filesz + bias)
            .max()
            .unwrap_or(0);
        (start, end)
    };
    Ok(Mapped {
        code: range_of(goblin::elf::program_header::PF_X),
        data: range_of(goblin::elf::program_header::PF_W),
        entry: elf.header.e_entry.wrapping_add(bias),
        bias,
        phdr,
        phnum: elf.header.e_phnum as u64,
        phent: elf.header.e_phentsize as u64,
        end: hi + bias,
    })
}

/// The interpreter path named by `PT_INTERP`, if any.
fn interp_of(path: &str, bytes: &[u8]) -> Result<Option<String>, LoadError> {
    check_ident(path, bytes)?;
    let elf = parse_headers(path, bytes)?;
    for p in &elf.program_headers {
        if p.p_type == PT_INTERP {
            let s = p.p_offset as usize;
            let e = s.saturating_add(p.p_filesz as usize);
            let raw = bytes
                .get(s..e)
                .ok_or_else(|| LoadError(format!("{path}: malformed ELF: bad PT_INTERP")))?;
            let raw = raw.split(|&b| b == 0).next().unwrap_or(&[]);
            return Ok(Some(String::from_utf8_lossy(raw).into_owned()));
        }
    }
    Ok(None)
}

/// Resolve an absolute guest path through the `-L` prefix (prefix first, then host).
pub fn resolve(prefix: Option<&Path>, p: &str) -> PathBuf {
    if let (Some(pre), true) = (prefix, p.starts_with('/')) {
        let cand = pre.join(p.trim_start_matches('/'));
        if std::fs::symlink_metadata(&cand).is_ok() {
            return cand;
        }
    }
    PathBuf::from(p)
}

/// Load the program and build its stack.
pub fn load(params: &LoadParams, mm: &mut MemoryMap) -> Result<Loaded, LoadError> {
    let program = match params.exec_fd {
        Some(fd) => read_fd(params.exec_path, fd)?,
        None => read_path(params.exec_path, params.host_path)?,
    };
    let interp_path = interp_of(params.exec_path, &program.bytes)?;
    let main = map_object(params.exec_path, &program, mm, PIE_BASE)?;
    drop(program);
    let interp = match &interp_path {
        Some(ip) => {
            let host = resolve(params.prefix, ip);
            // Escaped in messages: a corrupt PT_INTERP may hold newlines or control bytes.
            let shown = ip.escape_debug().to_string();
            if !host.exists() {
                return err(format!("cannot open ELF interpreter {shown}: use -L"));
            }
            Some(map_object(&shown, &read_path(&shown, &host)?, mm, 0)?)
        }
        None => None,
    };
    mm.brk_start = main.end;
    mm.brk_cur = main.end;

    // The stack: a fresh mapping below whatever the kernel picks, with the kernel's
    // stack_guard_gap (256 pages) below it kept free: a PROT_NONE reservation that is
    // not guest memory, so the host places no later mapping there and an overflowing
    // guest stack faults (SEGV_MAPERR, as on the kernel) instead of running into them.
    let size = page_up(params.stack_size.max(128 * 1024));
    let rw = (libc::PROT_READ | libc::PROT_WRITE) as u64;
    let low = host_mmap(
        0,
        STACK_GUARD_GAP + size,
        0,
        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
        -1,
        0,
    )
    .map_err(|e| LoadError(format!("cannot allocate the guest stack: errno {}", -e)))?;
    let base = low + STACK_GUARD_GAP;
    let r = host_syscall(Sysno::mprotect.id() as u32, [base, size, rw, 0, 0, 0]);
    if r < 0 {
        return err(format!("cannot allocate the guest stack: errno {}", -r));
    }
    mm.insert(base, base + size, rw, VmaKind::Stack);
    let top = base + size;

    let mut w = StackWriter { sp: top };
    let execfn = w.push_str(params.exec_path.as_bytes());
    let platform = w.push_str(b"aarch64");
    let mut random = [0u8; 16];
    super::random::fill(&mut random)
        .map_err(|e| LoadError(format!("cannot read random bytes for AT_RANDOM: {e}")))?;
    let random_at = w.push_bytes(&random);
    let env_ptrs: Vec<u64> = params
        .envp
        .iter()
        .map(|s| w.push_str(s.as_bytes()))
        .collect();
    let arg_ptrs: Vec<u64> = params
        .argv
        .iter()
        .map(|s| w.push_str(s.as_bytes()))
        .collect();

    // SAFETY: getuid() and friends cannot fail.
    let (uid, euid, gid, egid) = unsafe {
        (
            libc::getuid(),
            libc::geteuid(),
            libc::getgid(),
            libc::getegid(),
        )
    };
    let auxv: Vec<(u64, u64)> = vec![
        (AT_MINSIGSTKSZ, MINSIGSTKSZ),
        (AT_HWCAP, params.hwcap),
        (AT_PAGESZ, PAGE),
        (AT_CLKTCK, 100),
        (AT_PHDR, main.phdr),
        (AT_PHENT, main.phent),
        (AT_PHNUM, main.phnum),
        (AT_BASE, interp.map(|i| i.bias).unwrap_or(0)),
        (AT_FLAGS, params.at_flags),
        (AT_ENTRY, main.entry),
        (AT_UID, uid as u64),
        (AT_EUID, euid as u64),
        (AT_GID, gid as u64),
        (AT_EGID, egid as u64),
        (AT_SECURE, secure(uid, euid, gid, egid) as u64),
        (AT_RANDOM, random_at),
        (AT_HWCAP2, params.hwcap2),
        (AT_EXECFN, execfn),
        (AT_PLATFORM, platform),
        (AT_NULL, 0),
    ];

    // argc, argv[], NULL, envp[], NULL, auxv pairs: 16-byte aligned at argc.
    let words = 1 + arg_ptrs.len() + 1 + env_ptrs.len() + 1 + 2 * auxv.len();
    w.sp = (w.sp - 8 * words as u64) & !15;
    let sp = w.sp;
    let mut p = sp;
    let mut put = |v: u64| {
        // SAFETY: [sp, sp + 8*words) lies inside the stack mapping made above.
        unsafe { std::ptr::write(p as *mut u64, v) };
        p += 8;
    };
    put(arg_ptrs.len() as u64);
    arg_ptrs.iter().for_each(|&a| put(a));
    put(0);
    env_ptrs.iter().for_each(|&a| put(a));
    put(0);
    for &(k, v) in &auxv {
        put(k);
        put(v);
    }
    Ok(Loaded {
        main,
        interp,
        pc: interp.map(|i| i.entry).unwrap_or(main.entry),
        sp,
        auxv,
        stack: (base, top),
    })
}

/// AT_SECURE for the guest: what the kernel decided for ferrite's own exec (under
/// binfmt_misc `C` that is the guest program's exec: set-user-ID, set-group-ID, file
/// capabilities), or differing real and effective ids.
fn secure(uid: u32, euid: u32, gid: u32, egid: u32) -> bool {
    // SAFETY: getauxval only reads the process's auxiliary vector.
    let host = unsafe { libc::getauxval(AT_SECURE as libc::c_ulong) } != 0;
    host || uid != euid || gid != egid
}

struct StackWriter {
    sp: u64,
}

impl StackWriter {
    fn push_bytes(&mut self, b: &[u8]) -> u64 {
        self.sp -= b.len() as u64;
        // SAFETY: the writer starts at the top of the fresh stack mapping and only
        // moves down by the sizes written; the mapping is at least 128 KiB and
        // argument/environment size is bounded by the host's ARG_MAX.
        unsafe { std::ptr::copy_nonoverlapping(b.as_ptr(), self.sp as *mut u8, b.len()) };
        self.sp
    }
    fn push_str(&mut self, s: &[u8]) -> u64 {
        self.push_bytes(&[0]);
        self.push_bytes(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ident_errors_are_specific() {
        let mut x86 = vec![0u8; 64];
        x86[..4].copy_from_slice(b"\x7fELF");
        x86[4] = 2;
        x86[5] = 1;
        x86[18] = 62;
        assert!(check_ident("a", &x86).unwrap_err().0.contains("x86-64"));
        let mut arm32 = x86.clone();
        arm32[4] = 1;
        arm32[18] = 40;
        assert!(check_ident("a", &arm32)
            .unwrap_err()
            .0
            .contains("32-bit ARM"));
        assert!(check_ident("a", b"hello")
            .unwrap_err()
            .0
            .contains("not an ELF"));
        assert!(check_ident("a", b"\x7fELF\x02")
            .unwrap_err()
            .0
            .contains("truncated"));
    }
}
