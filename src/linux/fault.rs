//! Host signal handlers for guest faults, and the guest's death by a signal.
//!
//! A guest memory access that faults raises SIGSEGV/SIGBUS on the host inside
//! generated code (or inside a helper acting for a guest instruction). The handler
//! finds the guest PC (through the engine's side tables, or the PC a helper call
//! stored) and applies the guest's default action: a one-line report as qemu-aarch64
//! prints it, then death by the same signal, so the parent sees what it would see on
//! arm64. Delivery to guest handlers comes with the signals work.

use std::cell::Cell;
use std::sync::atomic::{AtomicPtr, Ordering};

use super::Process;
use crate::arm64::cpu::Cpu;

static PROCESS: AtomicPtr<Process> = AtomicPtr::new(std::ptr::null_mut());

thread_local! {
    static CURRENT_CPU: Cell<*const Cpu> = const { Cell::new(std::ptr::null()) };
}

/// Remember the CPU state of the guest thread running on this host thread.
pub fn set_current_cpu(cpu: &Cpu) {
    CURRENT_CPU.with(|c| c.set(cpu as *const Cpu));
}

fn signal_name(sig: i32) -> String {
    // SAFETY: strsignal returns a pointer to a static or thread-local string.
    let p = unsafe { libc::strsignal(sig) };
    if p.is_null() {
        return format!("signal {sig}");
    }
    // SAFETY: non-null, NUL-terminated string from libc.
    unsafe { std::ffi::CStr::from_ptr(p) }
        .to_string_lossy()
        .into_owned()
}

fn dumps_core(sig: i32) -> bool {
    matches!(
        sig,
        libc::SIGQUIT
            | libc::SIGILL
            | libc::SIGTRAP
            | libc::SIGABRT
            | libc::SIGBUS
            | libc::SIGFPE
            | libc::SIGSEGV
            | libc::SIGSYS
            | libc::SIGXCPU
            | libc::SIGXFSZ
    )
}

/// Print the report for a guest killed by `sig` at guest `pc`.
pub fn report_uncaught(sig: i32, pc: u64) {
    let how = if dumps_core(sig) {
        "core dumped"
    } else {
        "exiting"
    };
    crate::log::write(&format!(
        "ferrite: uncaught target signal {sig} ({}) at pc {pc:#x} - {how}",
        signal_name(sig)
    ));
}

/// End the process by `sig` with the default action (so the parent's wait status
/// shows the signal).
pub fn die_by_signal(sig: i32) -> ! {
    // SAFETY: resetting a disposition to SIG_DFL and raising the signal are
    // async-signal-safe and affect only this process.
    unsafe {
        // No core file from ferrite's own image: it would describe the host process.
        let r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::setrlimit(libc::RLIMIT_CORE, &r);
        libc::signal(sig, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::raise(sig);
    }
    std::process::exit(128 + sig)
}

extern "C" fn on_fault(sig: i32, info: *mut libc::siginfo_t, uc: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid ucontext for SA_SIGINFO handlers.
    let host_pc =
        unsafe { (*(uc as *const libc::ucontext_t)).uc_mcontext.gregs[libc::REG_RIP as usize] }
            as usize;
    let process = PROCESS.load(Ordering::Acquire);
    let mut guest_pc = None;
    if !process.is_null() {
        // SAFETY: PROCESS points at the Process that lives for the whole run.
        let p = unsafe { &*process };
        if p.engine.in_cache(host_pc) {
            guest_pc = p.engine.guest_pc_of(host_pc);
        }
    }
    let guest_pc = guest_pc.or_else(|| {
        // A helper acting for a guest instruction stored the guest PC first.
        let cpu = CURRENT_CPU.with(|c| c.get());
        // SAFETY: the pointer was set by this thread's run loop and the Cpu outlives it.
        (!cpu.is_null()).then(|| unsafe { (*cpu).pc })
    });
    let _ = info;
    match guest_pc {
        Some(pc) => report_uncaught(sig, pc),
        None => crate::log::write(&format!(
            "ferrite: internal error: signal {sig} at host pc {host_pc:#x}"
        )),
    }
    die_by_signal(sig);
}

/// Install the fault handlers (once, at start-up).
pub fn install(process: &Process) {
    PROCESS.store(process as *const Process as *mut Process, Ordering::Release);
    for sig in [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE] {
        // SAFETY: `on_fault` is an SA_SIGINFO handler with the matching signature; the
        // sigaction struct is fully initialised.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_fault as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_NODEFER;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}
