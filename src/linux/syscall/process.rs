//! Process creation: `clone` (fork semantics) and `execve`/`execveat`.
//!
//! - `clone` without `CLONE_VM` is a fork: the host process forks (ferrite's state,
//!   code cache included, is duplicated with it) and the child continues the guest
//!   with X0 = 0. The arm64 argument order (flags, newsp, parent_tid, tls, child_tid)
//!   is reordered for the host, and `CLONE_SETTLS` sets the child's TPIDR_EL0 instead
//!   of the host's TLS register. `vfork` (`CLONE_VM|CLONE_VFORK`) is a host
//!   `clone(CLONE_VFORK)` without `CLONE_VM`: the parent sleeps until the child execs or
//!   exits, and the child's writes to guest memory are carried back to it (see
//!   [`crate::linux::vfork`]), so glibc's posix_spawn reports exec failures; a
//!   multi-threaded parent gets plain fork semantics, as qemu-aarch64 gives every vfork.
//!   Thread creation (`CLONE_VM` without `CLONE_VFORK`) starts a guest thread (see
//!   [`crate::linux::thread`]).
//! - `execve` of an arm64 ELF, or of a `#!` script whose interpreter is an arm64 ELF,
//!   re-executes ferrite itself with the same options, whether or not binfmt_misc is
//!   registered; anything else (host binaries, host scripts) is executed natively by
//!   the host kernel. `/proc/self/exe` means the guest program. When binfmt_misc
//!   started ferrite (and there is no `-L`), every execve goes to the host kernel,
//!   whose binfmt_misc entry brings arm64 programs back to ferrite.

use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt;

use super::{host_syscall, SyscallCtx};
use crate::linux::vfork::{self, Channel};
use crate::linux::{guest, Process};
use syscalls::Sysno;

pub fn clone(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let flags = a[0];
    let (newsp, parent_tid, tls, child_tid) = (a[1], a[2], a[3], a[4]);
    let vm = flags & libc::CLONE_VM as u64 != 0;
    let vfork = flags & libc::CLONE_VFORK as u64 != 0;
    if vm && !vfork {
        return crate::linux::thread::spawn(
            ctx.process,
            ctx.cpu,
            flags,
            newsp,
            parent_tid,
            tls,
            child_tid,
        );
    }
    if flags & libc::CLONE_THREAD as u64 != 0 || flags & libc::CLONE_SIGHAND as u64 != 0 {
        // CLONE_THREAD/CLONE_SIGHAND require CLONE_VM (kernel: EINVAL).
        return -(libc::EINVAL as i64);
    }
    // vfork: the host suspends the parent until the child execs or exits (CLONE_VFORK
    // kept), and the child's guest writes are carried back (see `vfork`); without a
    // channel (several guest threads), plain fork semantics.
    let channel = if vm && vfork {
        Channel::open(ctx.process)
    } else {
        None
    };
    let mut drop_flags = libc::CLONE_VM | libc::CLONE_SETTLS;
    if channel.is_none() {
        drop_flags |= libc::CLONE_VFORK;
    }
    let host_flags = flags & !(drop_flags as u64);
    // No lock of ferrite's may be held by another thread at the fork (the child would
    // inherit it locked).
    let guard = ctx.process.fork_guard();
    let tid_flags =
        (libc::CLONE_CHILD_SETTID | libc::CLONE_CHILD_CLEARTID | libc::CLONE_PARENT_SETTID) as u64;
    let plain_fork =
        host_flags & !(tid_flags | 0xff) == 0 && host_flags & 0xff == libc::SIGCHLD as u64;
    let r = if plain_fork
        && ctx
            .process
            .threads
            .load(std::sync::atomic::Ordering::SeqCst)
            > 1
    {
        fork_through_glibc(host_flags, parent_tid, child_tid)
    } else {
        // Host order: flags, newsp, parent_tid, child_tid, tls. The host child keeps the
        // host stack (newsp = 0); the guest stack pointer is set below.
        host_syscall(
            Sysno::clone.id() as u32,
            [host_flags, 0, parent_tid, child_tid, 0, 0],
        )
    };
    drop(guard);
    if r == 0 {
        // Child: only the calling guest thread lives on.
        ctx.process.after_fork_child(ctx.cpu);
        if let Some(ch) = channel {
            ch.enter_child();
        }
        if newsp != 0 {
            ctx.cpu.x[31] = newsp;
        }
        if flags & libc::CLONE_SETTLS as u64 != 0 {
            ctx.cpu.tpidr_el0 = tls;
        }
    } else if let Some(ch) = channel {
        // Parent: the child has exec'd or exited (or the clone failed: nothing to copy).
        ch.apply(ctx.process);
    }
    r
}

/// A plain fork (`host_flags`: SIGCHLD and tid flags only) of a process whose other
/// threads may be inside glibc (malloc's arena locks…): glibc's fork() runs the atfork
/// handlers that make the child's copy consistent, which a raw clone skips. The tid words
/// are then written here, as the kernel would have.
fn fork_through_glibc(host_flags: u64, parent_tid: u64, child_tid: u64) -> i64 {
    // SAFETY: fork in a multi-threaded process; the child only continues this thread's
    // guest code (the caller holds ferrite's own locks across the fork).
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return super::from_libc(-1);
    }
    if pid == 0 {
        if host_flags & libc::CLONE_CHILD_SETTID as u64 != 0 {
            // SAFETY: gettid cannot fail.
            let tid = unsafe { libc::gettid() } as u32;
            let _ = guest::write_val(child_tid, &tid);
        }
        if host_flags & libc::CLONE_CHILD_CLEARTID as u64 != 0 {
            host_syscall(
                Sysno::set_tid_address.id() as u32,
                [child_tid, 0, 0, 0, 0, 0],
            );
        }
    } else if host_flags & libc::CLONE_PARENT_SETTID as u64 != 0 {
        let _ = guest::write_val(parent_tid, &(pid as u32));
    }
    pid as i64
}

/// Is this file an arm64 ELF (by its header)?
fn is_arm64_elf(head: &[u8]) -> bool {
    head.len() >= 20
        && &head[..4] == b"\x7fELF"
        && head[4] == 2
        && head[5] == 1
        && head[18..20] == [0xb7, 0]
}

fn read_head(path: &CString) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut f = std::fs::File::open(OsStr::from_bytes(path.as_bytes())).ok()?;
    let mut buf = vec![0u8; 256];
    let n = f.read(&mut buf).ok()?;
    buf.truncate(n);
    Some(buf)
}

/// Parse a `#!` line: (interpreter, optional single argument), as the kernel does.
fn shebang(head: &[u8]) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    let rest = head.strip_prefix(b"#!")?;
    let line = rest.split(|&b| b == b'\n').next()?;
    let line: &[u8] = {
        let s = line.iter().position(|b| !b" \t".contains(b))?;
        let e = line.iter().rposition(|b| !b" \t\r".contains(b))? + 1;
        &line[s..e]
    };
    let split = line.iter().position(|b| b" \t".contains(b));
    match split {
        None => Some((line.to_vec(), None)),
        Some(i) => {
            let arg = &line[i..];
            let s = arg
                .iter()
                .position(|b| !b" \t".contains(b))
                .unwrap_or(arg.len());
            let arg = &arg[s..];
            Some((line[..i].to_vec(), (!arg.is_empty()).then(|| arg.to_vec())))
        }
    }
}

fn cstr(b: &[u8]) -> Result<CString, i64> {
    CString::new(b).map_err(|_| -(libc::EINVAL as i64))
}

/// Execute `argv` (already decided to run under ferrite) with `envp`.
fn exec_host(p: &Process, path: &CString, argv: &[CString], envp: &[CString]) -> i64 {
    // A vfork child's writes must reach its parent before the exec replaces its memory.
    vfork::flush(p);
    if crate::log::enabled(crate::log::Item::Strace) {
        super::strace::before_exec();
    }
    let mut av: Vec<*const libc::c_char> = argv.iter().map(|s| s.as_ptr()).collect();
    av.push(std::ptr::null());
    let mut ev: Vec<*const libc::c_char> = envp.iter().map(|s| s.as_ptr()).collect();
    ev.push(std::ptr::null());
    host_syscall(
        Sysno::execve.id() as u32,
        [
            path.as_ptr() as u64,
            av.as_ptr() as u64,
            ev.as_ptr() as u64,
            0,
            0,
            0,
        ],
    )
}

/// The host path of `rel` (a relative path, or empty for AT_EMPTY_PATH) looked up from
/// `dirfd`, through /proc/self/fd, with the errors the kernel's lookup gives for the
/// descriptor: EBADF when it is not open, ENOTDIR when a non-empty path starts from a
/// descriptor that is not a directory. `None`: the path is the host's as it stands
/// (relative to the current directory).
fn relative_to(dirfd: i32, rel: &[u8]) -> Result<Option<CString>, i64> {
    if dirfd == libc::AT_FDCWD {
        // AT_EMPTY_PATH with AT_FDCWD names the current directory itself.
        return Ok(rel.is_empty().then(|| cstr(b".").expect("literal")));
    }
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes a `struct stat` into `st`; a bad descriptor gives -1.
    if unsafe { libc::fstat(dirfd, st.as_mut_ptr()) } != 0 {
        return Err(super::from_libc(-1));
    }
    // SAFETY: fstat succeeded, so `st` is initialised.
    let st = unsafe { st.assume_init() };
    if !rel.is_empty() && st.st_mode & libc::S_IFMT != libc::S_IFDIR {
        return Err(-(libc::ENOTDIR as i64));
    }
    // The descriptor's own path when it still names the same file: a close-on-exec
    // descriptor (Python opens every file so) is gone by the time the re-executed
    // ferrite opens the program, so /proc/self/fd/N would not be found.
    let link = format!("/proc/self/fd/{dirfd}");
    let same_file = |p: &std::path::Path| {
        std::fs::metadata(p).is_ok_and(|m| {
            use std::os::unix::fs::MetadataExt;
            m.dev() == st.st_dev && m.ino() == st.st_ino
        })
    };
    let mut b = match std::fs::read_link(&link) {
        Ok(p) if p.is_absolute() && same_file(&p) => p.into_os_string().into_encoded_bytes(),
        _ => link.into_bytes(),
    };
    if !rel.is_empty() {
        b.push(b'/');
        b.extend_from_slice(rel);
    }
    cstr(&b).map(Some)
}

pub fn execve(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    do_execve(ctx, libc::AT_FDCWD as u64, a[0], a[1], a[2], 0)
}

pub fn execveat(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    do_execve(ctx, a[0], a[1], a[2], a[3], a[4])
}

fn do_execve(ctx: &mut SyscallCtx, dirfd: u64, path: u64, argv: u64, envp: u64, flags: u64) -> i64 {
    let raw = match guest::read_cstr(path, libc::PATH_MAX as usize) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let empty_path = flags & libc::AT_EMPTY_PATH as u64 != 0;
    // The kernel's order: the path name (an empty one needs AT_EMPTY_PATH), argv and envp,
    // then the flags, then the descriptor and the lookup.
    if raw.as_bytes().is_empty() && !empty_path {
        return -(libc::ENOENT as i64);
    }
    let argv = match guest::read_cstr_array(argv) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let envp = match guest::read_cstr_array(envp) {
        Ok(v) => v,
        Err(e) => return e,
    };
    if flags & !(libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW) as u64 != 0 {
        return -(libc::EINVAL as i64);
    }
    let p = ctx.process;
    // /proc/self/exe is the guest program.
    let raw = match p.magic_link(dirfd as i32, &raw) {
        Some(t) => cstr(t.as_bytes()).unwrap_or(raw),
        None => raw,
    };
    let mut host = p.host_path(raw.clone());
    if !raw.as_bytes().starts_with(b"/") {
        match relative_to(dirfd as i32, raw.as_bytes()) {
            Ok(Some(h)) => host = h,
            Ok(None) => {}
            Err(e) => return e,
        }
    }
    if p.options.binfmt.is_some() && p.options.prefix.is_none() {
        // Started by binfmt_misc: its entry brings arm64 programs and scripts back to
        // ferrite with the registration's flags (C: a set-user-ID program gets its
        // credentials, which re-executing ferrite by path would lose; F: ferrite need
        // not exist inside a chroot). The host kernel does everything else.
        //
        // fexecve (execveat(fd, "", AT_EMPTY_PATH)) and execveat(dirfd, "rel", …) with a
        // close-on-exec descriptor: the kernel names such a program /dev/fd/N[/rel] and
        // marks that name inaccessible after the exec (BINPRM_FLAGS_PATH_INACCESSIBLE in
        // fs/exec.c), and binfmt_misc then refuses it with ENOENT (fs/binfmt_misc.c,
        // load_misc_binary), while a native arm64 kernel would run it. So exec it by its
        // /proc/self/fd/N[/rel] name instead, as glibc's fexecve does without execveat
        // (needs /proc in the chroot; without it the result is ENOENT, as before).
        let (mut dirfd, mut flags, mut raw) = (dirfd, flags, raw);
        // SAFETY: F_GETFD on any integer is harmless; a bad descriptor gives -1.
        let fd_flags = unsafe { libc::fcntl(dirfd as i32, libc::F_GETFD) };
        if dirfd as i32 != libc::AT_FDCWD
            && !raw.as_bytes().starts_with(b"/")
            && fd_flags >= 0
            && fd_flags & libc::FD_CLOEXEC != 0
            && (!raw.as_bytes().is_empty() || flags & libc::AT_EMPTY_PATH as u64 != 0)
        {
            let mut b = format!("/proc/self/fd/{}", dirfd as i32).into_bytes();
            if raw.as_bytes().is_empty() {
                // The descriptor itself: following its magic link is the point.
                flags &= !(libc::AT_SYMLINK_NOFOLLOW as u64);
            } else {
                b.push(b'/');
                b.extend_from_slice(raw.as_bytes());
            }
            raw = match cstr(&b) {
                Ok(c) => c,
                Err(e) => return e,
            };
            dirfd = libc::AT_FDCWD as u64;
            flags &= !(libc::AT_EMPTY_PATH as u64);
        }
        let mut av: Vec<*const libc::c_char> = argv.iter().map(|s| s.as_ptr()).collect();
        av.push(std::ptr::null());
        let mut ev: Vec<*const libc::c_char> = envp.iter().map(|s| s.as_ptr()).collect();
        ev.push(std::ptr::null());
        vfork::flush(p);
        if crate::log::enabled(crate::log::Item::Strace) {
            super::strace::before_exec();
        }
        return host_syscall(
            Sysno::execveat.id() as u32,
            [
                dirfd,
                raw.as_ptr() as u64,
                av.as_ptr() as u64,
                ev.as_ptr() as u64,
                flags,
                0,
            ],
        );
    }
    // The kernel's permission checks come first: ENOENT, EACCES…
    // SAFETY: `host` is a valid NUL-terminated path.
    if unsafe { libc::access(host.as_ptr(), libc::X_OK) } != 0 {
        return super::from_libc(-1);
    }
    let Some(head) = read_head(&host) else {
        return exec_host(p, &host, &argv, &envp);
    };
    let mut guest_argv: Vec<CString> = argv.clone();
    let program: CString;
    if is_arm64_elf(&head) {
        program = host.clone();
    } else if let Some((interp, arg)) = shebang(&head) {
        let ih = p.host_path(match cstr(&interp) {
            Ok(c) => c,
            Err(e) => return e,
        });
        match read_head(&ih) {
            Some(h) if is_arm64_elf(&h) => {
                // argv becomes: interp [arg] path argv[1..]
                let mut v = vec![match cstr(&interp) {
                    Ok(c) => c,
                    Err(e) => return e,
                }];
                if let Some(arg) = arg {
                    v.push(match cstr(&arg) {
                        Ok(c) => c,
                        Err(e) => return e,
                    });
                }
                v.push(raw.clone());
                v.extend(argv.iter().skip(1).cloned());
                guest_argv = v;
                program = ih;
            }
            // Host interpreter (or none found): let the host kernel do it.
            _ => return exec_host(p, &host, &argv, &envp),
        }
    } else {
        // A host binary or something the kernel will refuse (ENOEXEC).
        return exec_host(p, &host, &argv, &envp);
    }
    let mut args: Vec<CString> = vec![cstr(b"ferrite-aarch64").unwrap()];
    args.extend(p.reexec_options());
    if let Some(a0) = guest_argv.first() {
        args.push(cstr(b"-0").unwrap());
        args.push(a0.clone());
    }
    args.push(cstr(b"--").unwrap());
    args.push(program);
    args.extend(guest_argv.into_iter().skip(1));
    let me = p.ferrite_path();
    exec_host(p, &me, &args, &envp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebang_lines() {
        assert_eq!(
            shebang(b"#!/bin/sh\necho"),
            Some((b"/bin/sh".to_vec(), None))
        );
        assert_eq!(
            shebang(b"#! /usr/bin/env  python3 \nx"),
            Some((b"/usr/bin/env".to_vec(), Some(b"python3".to_vec())))
        );
        assert_eq!(shebang(b"#!\n"), None);
        assert_eq!(shebang(b"ELF"), None);
    }
}

// ---- clone3 ----------------------------------------------------------------------------

/// `struct clone_args` sizes: VER0 (up to `tls`), VER1 (+ `set_tid`, `set_tid_size`),
/// VER2 (+ `cgroup`). The layout is the same on every architecture.
const CLONE_ARGS_SIZE_VER0: u64 = 64;
const CLONE_ARGS_SIZE_VER2: u64 = 88;
const CLONE_CLEAR_SIGHAND: u64 = 0x1_0000_0000;
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
const CLONE_PIDFD: u64 = libc::CLONE_PIDFD as u64;
const CSIGNAL: u64 = 0xff;
/// The kernel's MAX_PID_NS_LEVEL.
const MAX_PID_NS_LEVEL: u64 = 32;

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// Read and check `struct clone_args` as the kernel does (copy_clone_args_from_user,
/// clone3_args_valid).
fn clone3_args(addr: u64, size: u64) -> Result<CloneArgs, i64> {
    let einval = -(libc::EINVAL as i64);
    if size > 4096 {
        return Err(-(libc::E2BIG as i64));
    }
    if size < CLONE_ARGS_SIZE_VER0 {
        return Err(einval);
    }
    let bytes = guest::read_bytes(addr, size as usize)?;
    let known = std::mem::size_of::<CloneArgs>();
    if bytes.len() > known && bytes[known..].iter().any(|&b| b != 0) {
        return Err(-(libc::E2BIG as i64));
    }
    let mut raw = [0u8; std::mem::size_of::<CloneArgs>()];
    let n = bytes.len().min(known);
    raw[..n].copy_from_slice(&bytes[..n]);
    let w = |i: usize| u64::from_le_bytes(raw[i * 8..i * 8 + 8].try_into().unwrap_or_default());
    let a = CloneArgs {
        flags: w(0),
        pidfd: w(1),
        child_tid: w(2),
        parent_tid: w(3),
        exit_signal: w(4),
        stack: w(5),
        stack_size: w(6),
        tls: w(7),
        set_tid: w(8),
        set_tid_size: w(9),
        cgroup: w(10),
    };
    if a.set_tid_size > MAX_PID_NS_LEVEL
        || (a.set_tid == 0 && a.set_tid_size > 0)
        || (a.set_tid != 0 && a.set_tid_size == 0)
    {
        return Err(einval);
    }
    if a.exit_signal & !CSIGNAL != 0 || a.exit_signal > 64 {
        return Err(einval);
    }
    if a.flags & CLONE_INTO_CGROUP != 0
        && (a.cgroup > i32::MAX as u64 || size < CLONE_ARGS_SIZE_VER2)
    {
        return Err(einval);
    }
    let f = a.flags;
    if f & !(0xffff_ffff | CLONE_CLEAR_SIGHAND | CLONE_INTO_CGROUP) != 0 || f & CSIGNAL != 0 {
        return Err(einval);
    }
    if f & (libc::CLONE_THREAD | libc::CLONE_PARENT) as u64 != 0 && a.exit_signal != 0 {
        return Err(einval);
    }
    if (a.stack == 0) != (a.stack_size == 0)
        || a.stack
            .checked_add(a.stack_size)
            .is_none_or(|e| e > crate::linux::mm::ARM64_TASK_SIZE)
    {
        return Err(einval);
    }
    if f & CLONE_CLEAR_SIGHAND != 0 && f & libc::CLONE_SIGHAND as u64 != 0 {
        return Err(einval);
    }
    Ok(a)
}

/// `clone3(args, size)`: the same process and thread creation as `clone`, described by
/// `struct clone_args` (the stack is given as base and size; the pidfd has its own
/// field; 64-bit flags). Routed through [`clone`]; `CLONE_CLEAR_SIGHAND` resets the
/// child's guest handlers; `set_tid` and `CLONE_INTO_CGROUP` of a new process are
/// honoured by the host's own clone3.
pub fn clone3(ctx: &mut SyscallCtx, a: [u64; 6]) -> i64 {
    let args = match clone3_args(a[0], a[1]) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let f = args.flags;
    let sp = if args.stack != 0 {
        args.stack + args.stack_size
    } else {
        0
    };
    let special = args.set_tid_size != 0 || f & CLONE_INTO_CGROUP != 0;
    let vm = f & libc::CLONE_VM as u64 != 0;
    let r = if special {
        if vm {
            // A thread runs on a host thread ferrite creates itself: its TID and cgroup
            // cannot be chosen.
            return super::enosys(ctx, 435);
        }
        fork_clone3(ctx, &args, sp)
    } else {
        // CLONE_PIDFD with CLONE_PARENT_SETTID (clone3 only): the pidfd goes through
        // `clone`, the TID is written here once the call returns in the parent.
        let pidfd_both = f & CLONE_PIDFD != 0 && f & libc::CLONE_PARENT_SETTID as u64 != 0;
        // `clone` takes the pidfd pointer in the parent_tid slot.
        let (ptid_slot, legacy) = if f & CLONE_PIDFD != 0 {
            (
                args.pidfd,
                (f & 0xffff_ffff & !(libc::CLONE_PARENT_SETTID as u64)),
            )
        } else {
            (args.parent_tid, f & 0xffff_ffff)
        };
        let r = clone(
            ctx,
            [
                legacy | args.exit_signal,
                sp,
                ptid_slot,
                args.tls,
                args.child_tid,
                0,
            ],
        );
        if r > 0 && pidfd_both {
            let _ = guest::write_val(args.parent_tid, &(r as u32));
        }
        r
    };
    if r == 0 && f & CLONE_CLEAR_SIGHAND != 0 {
        clear_sighand(ctx.process);
    }
    r
}

/// CLONE_CLEAR_SIGHAND in the child: every handled signal back to SIG_DFL (ignored ones
/// stay ignored), flags and masks cleared, as the kernel's flush of the handlers.
fn clear_sighand(process: &Process) {
    use super::signal::{GuestSigaction, SIG_IGN};
    for sig in 1..=64 {
        let old = process.sigaction(sig, None);
        let new = GuestSigaction {
            handler: if old.handler == SIG_IGN { SIG_IGN } else { 0 },
            ..Default::default()
        };
        process.sigaction(sig, Some(new));
        crate::linux::signal::apply_host_disposition(sig, &new);
    }
}

/// A new process with `set_tid` or `CLONE_INTO_CGROUP`: the host's clone3, on the host
/// stack (the guest stack pointer is set in the child), without CLONE_VM/CLONE_VFORK
/// (plain fork semantics) and CLONE_SETTLS (TPIDR_EL0 is the guest's TLS).
fn fork_clone3(ctx: &mut SyscallCtx, args: &CloneArgs, sp: u64) -> i64 {
    let drop_flags = (libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_SETTLS) as u64;
    let host = CloneArgs {
        flags: args.flags & !drop_flags,
        stack: 0,
        stack_size: 0,
        tls: 0,
        ..*args
    };
    let guard = ctx.process.fork_guard();
    let r = host_syscall(
        Sysno::clone3.id() as u32,
        [
            &host as *const CloneArgs as u64,
            std::mem::size_of::<CloneArgs>() as u64,
            0,
            0,
            0,
            0,
        ],
    );
    drop(guard);
    if r == 0 {
        if sp != 0 {
            ctx.cpu.x[31] = sp;
        }
        if args.flags & libc::CLONE_SETTLS as u64 != 0 {
            ctx.cpu.tpidr_el0 = args.tls;
        }
    }
    r
}
