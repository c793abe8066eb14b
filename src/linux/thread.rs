//! Guest threads: one host thread per guest thread, each with its own [`Cpu`], all
//! sharing the process's engine (and so its code cache), memory map and tables.
//!
//! `clone` with `CLONE_VM|CLONE_SIGHAND|CLONE_THREAD` (what glibc's pthread_create
//! uses) starts a host thread that runs the guest from the instruction after the `svc`
//! with X0 = 0, the new stack pointer and, with `CLONE_SETTLS`, the new TPIDR_EL0.
//! `CLONE_PARENT_SETTID`/`CLONE_CHILD_SETTID` are written before the child runs guest
//! code; `CLONE_CHILD_CLEARTID` (and `set_tid_address`) are honoured when the thread
//! exits: the word is zeroed and a futex waiter woken, as the kernel does, which is
//! what `pthread_join` waits for. Guest thread IDs are the host thread IDs.
//!
//! `exit` ends one thread; the last thread's `exit` ends the process with its status.
//! `exit_group` ends the process.

use std::cell::Cell;
use std::sync::atomic::Ordering;

use super::{guest, run_thread, Ending, Process};
use crate::arm64::cpu::Cpu;

thread_local! {
    /// `set_tid_address`/`CLONE_CHILD_CLEARTID` address of this thread (0: none).
    static CLEAR_CHILD_TID: Cell<u64> = const { Cell::new(0) };
}

/// Remember this thread's clear-child-tid address.
pub fn set_clear_child_tid(addr: u64) {
    CLEAR_CHILD_TID.with(|c| c.set(addr));
}

fn gettid() -> i32 {
    // SAFETY: gettid has no arguments and cannot fail.
    unsafe { libc::gettid() }
}

const EINVAL: i64 = -(libc::EINVAL as i64);

/// Namespace and other flags a thread cannot be created with.
const NOT_FOR_THREADS: u64 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWCGROUP
    | libc::CLONE_VFORK) as u64;

/// Start a guest thread (the `clone` flags include `CLONE_VM`). Returns the new
/// thread's ID or a negative errno.
pub fn spawn(
    process: &'static Process,
    parent: &Cpu,
    flags: u64,
    newsp: u64,
    parent_tid: u64,
    tls: u64,
    child_tid: u64,
) -> i64 {
    let has = |f: i32| flags & f as u64 != 0;
    // The kernel's consistency rules.
    if has(libc::CLONE_THREAD) && !has(libc::CLONE_SIGHAND) {
        return EINVAL;
    }
    if has(libc::CLONE_SIGHAND) && !has(libc::CLONE_VM) {
        return EINVAL;
    }
    if flags & NOT_FOR_THREADS != 0 {
        return EINVAL;
    }
    if !has(libc::CLONE_THREAD) {
        // A separate process sharing the address space: not supported.
        return -(libc::ENOSYS as i64);
    }
    let mut cpu = Cpu::new();
    cpu.x = parent.x;
    cpu.v = parent.v;
    cpu.nzcv = parent.nzcv;
    cpu.fpcr = parent.fpcr;
    cpu.fpsr = parent.fpsr;
    cpu.tpidr_el0 = parent.tpidr_el0;
    cpu.tpidrro_el0 = parent.tpidrro_el0;
    cpu.pc = parent.pc;
    cpu.x[0] = 0;
    if newsp != 0 {
        cpu.x[31] = newsp;
    }
    if has(libc::CLONE_SETTLS) {
        cpu.tpidr_el0 = tls;
    }
    let parent_mask = super::signal::current_mask();
    let share_files = has(libc::CLONE_FILES);
    let share_fs = has(libc::CLONE_FS);
    let (tx, rx) = std::sync::mpsc::channel::<i64>();
    process.threads.fetch_add(1, Ordering::SeqCst);
    // No thread name: the host thread keeps the comm it inherits from its creator, as a
    // thread made by the arm64 kernel's clone does (see /proc/PID/task/TID/comm).
    let spawned = std::thread::Builder::new()
        .stack_size(4 << 20)
        .spawn(move || {
            let tid = gettid();
            // Unshare what the guest did not ask to share.
            let mut unshare = 0;
            if !share_files {
                unshare |= libc::CLONE_FILES;
            }
            if !share_fs {
                unshare |= libc::CLONE_FS;
            }
            // SAFETY: unshare only affects this (new) host thread's own tables.
            if unshare != 0 && unsafe { libc::unshare(unshare) } != 0 {
                let _ = tx.send(
                    -(std::io::Error::last_os_error()
                        .raw_os_error()
                        .unwrap_or(libc::EINVAL) as i64),
                );
                process.threads.fetch_sub(1, Ordering::SeqCst);
                return;
            }
            if flags & libc::CLONE_PARENT_SETTID as u64 != 0 {
                let _ = guest::write_val(parent_tid, &tid);
            }
            if flags & libc::CLONE_CHILD_SETTID as u64 != 0 {
                let _ = guest::write_val(child_tid, &tid);
            }
            if flags & libc::CLONE_CHILD_CLEARTID as u64 != 0 {
                set_clear_child_tid(child_tid);
            }
            // The new thread starts with its parent's guest signal mask.
            super::signal::thread_start(parent_mask);
            let _ = tx.send(tid as i64);
            let ending = run_thread(process, &mut cpu);
            finish(process, ending);
        });
    match spawned {
        Ok(_) => rx.recv().unwrap_or(-(libc::EAGAIN as i64)),
        Err(_) => {
            process.threads.fetch_sub(1, Ordering::SeqCst);
            -(libc::EAGAIN as i64)
        }
    }
}

/// What happens after a guest thread's run loop ended. Returns only for a thread
/// `exit` that is not the last (the caller's host thread then ends or parks).
pub fn finish(process: &Process, ending: Ending) {
    match ending {
        Ending::Exit(status) => {
            super::gdb::process_end(crate::gdb::Stop::Exited(status));
            super::report_stats(process);
            super::vfork::flush(process);
            std::process::exit(status)
        }
        Ending::Signal(sig) => super::fault::die_by_signal(sig),
        Ending::ThreadExit(status) => {
            let left = process.threads.fetch_sub(1, Ordering::SeqCst) - 1;
            if left == 0 {
                super::gdb::process_end(crate::gdb::Stop::Exited(status));
                super::report_stats(process);
                super::vfork::flush(process);
                std::process::exit(status);
            }
            // Robust futexes before the clear-child-tid wake-up, as the kernel orders them.
            crate::linux::syscall::robust::on_thread_exit(process, gettid() as u32);
            let addr = CLEAR_CHILD_TID.with(|c| c.get());
            if addr != 0 {
                let _ = guest::write_val(addr, &0u32);
                // SAFETY: a futex wake on a guest word (guest addresses are host
                // addresses); the kernel validates the address.
                unsafe {
                    libc::syscall(
                        libc::SYS_futex,
                        addr,
                        libc::FUTEX_WAKE,
                        1,
                        0usize,
                        0usize,
                        0u32,
                    )
                };
            }
        }
    }
}
