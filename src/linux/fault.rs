//! Host signal handlers for guest faults, the current thread's CPU pointer, and the
//! guest's death by a signal.
//!
//! A guest memory access that faults raises SIGSEGV/SIGBUS on the host inside generated
//! code, or inside a helper called by generated code for a guest instruction (atomics
//! raise SIGBUS themselves for misaligned accesses). [`on_fault`] asks the engine for
//! the guest PC ([`crate::engine::Engine::fault_site`]), builds the guest siginfo
//! (si_addr, SEGV_MAPERR/ACCERR, BUS_*) and ESR, queues it as a synchronous signal
//! ([`super::signal::queue_sync`]) and has the engine leave generated code
//! ([`crate::engine::Engine::resume_in_dispatcher`]). The run loop then
//! delivers the signal to the guest handler, or applies the default action: a one-line
//! report as qemu-aarch64 prints it, then death by the same signal, so the parent sees
//! what it would see on arm64. Guest registers in the `Cpu` are exact at every point
//! that may fault (the backend writes them before each possibly-faulting operation).
//!
//! Fault-type signals that were *sent* (kill, sigqueue: `si_code` ≤ 0) are handed to
//! [`super::signal`] as asynchronous signals. A fault anywhere else in ferrite is an
//! internal error: reported, then death by the signal.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use super::signal::{self, esr};
use super::Process;
use crate::arm64::cpu::{self, Cpu, Exception, ExceptionKind};
use crate::engine::fault::Resume;
use crate::engine::{self, INT_SIGNAL};
use crate::ir::Ctx;

static PROCESS: AtomicPtr<Process> = AtomicPtr::new(std::ptr::null_mut());

/// Set (for good) when the guest has accessed memory through a tagged pointer: user
/// mode's translation context then asks the lowering to untag every address
/// ([`crate::x64::Identity::UNTAG`], see [`translation_context`]).
static TAGGED_POINTERS: AtomicBool = AtomicBool::new(false);

/// User mode's translation context (the same for every PC): EL0, and Top Byte Ignore
/// inline once a tagged pointer was seen.
pub fn translation_context() -> Ctx {
    if TAGGED_POINTERS.load(Ordering::Relaxed) {
        Ctx(crate::x64::Identity::UNTAG as u32)
    } else {
        Ctx::default()
    }
}

thread_local! {
    static CURRENT_CPU: Cell<*mut Cpu> = const { Cell::new(std::ptr::null_mut()) };
}

/// Remember the CPU state of the guest thread running on this host thread (call at the
/// start of the thread's run loop, with the `Cpu` it runs).
#[inline(never)]
pub fn set_current_cpu(cpu: &Cpu) {
    CURRENT_CPU.with(|c| c.set(cpu as *const Cpu as *mut Cpu));
}

/// Set bit 0 ([`INT_SIGNAL`]) of the current thread's `cpu.interrupt` ("signal
/// pending: return to the run loop"). Async-signal-safe.
pub fn raise_interrupt() {
    let cpu = CURRENT_CPU.with(|c| c.get());
    if !cpu.is_null() {
        engine::raise_interrupt(cpu, INT_SIGNAL);
    }
}

/// Clear bit 0 of `cpu.interrupt` (the other bits belong to the engine).
pub fn clear_interrupt(cpu: &mut Cpu) {
    engine::clear_interrupt(cpu, INT_SIGNAL);
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

/// Whether `sig`'s default action dumps core (and so earns a report, as in qemu).
pub fn dumps_core(sig: i32) -> bool {
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

/// Print the report for a guest killed by `sig` at guest `pc`, as qemu does, but only where
/// no program reads it: when `-d signal` asks for it (it then goes to the `-D` log if there
/// is one) or when stderr is a terminal. The arm64 kernel writes nothing to a dying
/// process's stderr (its own report goes to the kernel log), and programs that capture a
/// child's stderr compare it (CPython's test_faulthandler expects exactly nothing).
pub fn report_uncaught(sig: i32, pc: u64) {
    // SAFETY: isatty only queries descriptor 2.
    if crate::log::enabled(crate::log::Item::Signal) || unsafe { libc::isatty(2) } == 1 {
        write_report(sig, pc);
    }
}

fn write_report(sig: i32, pc: u64) {
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

/// End the process by `sig` (a guest signal number, raised as the same host number) with
/// the default action, so the parent's wait status shows the signal.
pub fn die_by_signal(sig: i32) -> ! {
    // SAFETY: setrlimit on a local struct; the rest are raw calls on this process's own
    // signal state (raw, because glibc refuses its reserved signals 32 and 33).
    unsafe {
        // No core file from ferrite's own image: it would describe the host process.
        let r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::setrlimit(libc::RLIMIT_CORE, &r);
        let dfl = signal::KSigaction::default();
        signal::host_sigaction(sig, Some(&dfl), None);
        let set: u64 = signal::bit(sig);
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_UNBLOCK,
            &set as *const u64,
            0usize,
            8usize,
        );
        libc::syscall(
            libc::SYS_tgkill,
            libc::getpid(),
            libc::syscall(libc::SYS_gettid),
            sig,
        );
    }
    std::process::exit(128 + sig)
}

thread_local! {
    /// The guest PC of this thread's last tagged-access retry and how many times in a
    /// row it was retried (see [`tagged_access_retry`]).
    static TAG_RETRY: Cell<(u64, u32)> = const { Cell::new((u64::MAX, 0)) };
}

/// A general-protection fault in generated code at guest `pc` with address `raw`: if it
/// is an access through a tagged pointer (the address without its tag is canonical)
/// made by a block translated without Top Byte Ignore, switch TBI on for good and say
/// so; the caller then has every block translated again and resumes at `pc`. A third such fault in a row at the same instruction is not about the tag (a
/// block untags once TBI is on): it is reported instead.
fn tagged_access_retry(pc: u64, raw: u64) -> bool {
    let untagged = crate::arm64::untag(raw);
    let canonical = ((untagged << 16) as i64 >> 16) as u64 == untagged;
    if untagged == raw || !canonical {
        return false;
    }
    let (last, n) = TAG_RETRY.with(|t| t.get());
    let n = if last == pc { n + 1 } else { 1 };
    TAG_RETRY.with(|t| t.set((pc, n)));
    if n > 2 {
        return false;
    }
    TAGGED_POINTERS.store(true, Ordering::Relaxed);
    true
}

/// `si_code` of a fault the kernel raised itself (x86: general protection).
const SI_KERNEL: i32 = 0x80;

/// Map the host siginfo of a fault to the guest's, with the ESR and fault address the
/// arm64 kernel would record.
fn guest_fault(sig: i32, code: i32, addr: u64, write: bool) -> ([u64; 16], Option<(u64, u64)>) {
    let wnr = if write { esr::WNR } else { 0 };
    let dabt = esr::DABT_LOW | esr::IL | wnr;
    match (sig, code) {
        (libc::SIGSEGV, signal::SEGV_ACCERR) => (
            signal::fault_info(sig, code, addr),
            Some((addr, dabt | esr::FSC_PERM_L3)),
        ),
        (libc::SIGSEGV, _) => (
            // MAPERR; also x86's general-protection faults (SI_KERNEL, no address: a
            // non-canonical address), which arm64 reports as translation faults.
            signal::fault_info(sig, signal::SEGV_MAPERR, addr),
            Some((addr, dabt | esr::FSC_TRANS_L3)),
        ),
        (libc::SIGBUS, signal::BUS_ADRALN) => (
            signal::fault_info(sig, code, addr),
            Some((0, dabt | esr::FSC_ALIGN)),
        ),
        (libc::SIGBUS, _) => (
            signal::fault_info(sig, code, addr),
            Some((addr, dabt | esr::FSC_TRANS_L3)),
        ),
        _ => (signal::fault_info(sig, code, addr), Some((0, 0))),
    }
}

/// `si_code` of a synchronous external abort (BUS_OBJERR).
const BUS_OBJERR: i32 = 3;

/// The guest signal (siginfo, and the FAR/ESR for the signal frame's `esr_context`)
/// the arm64 kernel sends for synchronous exception `e`, taken at EL0 by the
/// instruction at `pc`.
pub fn exception_signal(pc: u64, e: Exception) -> ([u64; 16], Option<(u64, u64)>) {
    let fsc = e.esr & 0x3f;
    match e.kind() {
        ExceptionKind::DataAbort | ExceptionKind::InstructionAbort => {
            let (sig, code) = match fsc {
                cpu::esr::FSC_ALIGN => (libc::SIGBUS, signal::BUS_ADRALN),
                cpu::esr::FSC_SEA => (libc::SIGBUS, BUS_OBJERR),
                // Access flag and permission faults.
                0x08..=0x0f => (libc::SIGSEGV, signal::SEGV_ACCERR),
                // Translation and address-size faults.
                _ => (libc::SIGSEGV, signal::SEGV_MAPERR),
            };
            let far = crate::arm64::untag(e.far);
            // The kernel does not report the address of an alignment fault in the
            // signal frame's fault address.
            let frame_far = if code == signal::BUS_ADRALN && sig == libc::SIGBUS {
                0
            } else {
                far
            };
            (signal::fault_info(sig, code, far), Some((frame_far, e.esr)))
        }
        ExceptionKind::PcAlignment | ExceptionKind::SpAlignment => (
            signal::fault_info(libc::SIGBUS, signal::BUS_ADRALN, e.far),
            Some((0, e.esr)),
        ),
        ExceptionKind::Brk => (
            signal::fault_info(libc::SIGTRAP, signal::TRAP_BRKPT, pc),
            None,
        ),
        // Undefined instructions, and at EL0 every trapped system instruction, HVC,
        // SMC, ERET or WFx that reaches here.
        _ => (
            signal::fault_info(libc::SIGILL, signal::ILL_ILLOPC, pc),
            Some((0, 0)),
        ),
    }
}

/// The host handler of SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGTRAP.
extern "C" fn on_fault(sig: i32, info: *mut libc::siginfo_t, uc: *mut libc::c_void) {
    let mut host_info = [0u64; 16];
    // SAFETY: the kernel passes a valid 128-byte siginfo to an SA_SIGINFO handler.
    unsafe { std::ptr::copy_nonoverlapping(info as *const u64, host_info.as_mut_ptr(), 16) };
    let code = host_info[1] as u32 as i32;
    if code <= 0 {
        // Sent by a process (kill, tgkill, sigqueue), not caused by an instruction.
        signal::queue_sent_fault_sig(sig, &host_info);
        return;
    }
    let addr = host_info[2];
    let uc = uc as *mut libc::ucontext_t;
    // SAFETY: the kernel passes a valid ucontext for SA_SIGINFO handlers.
    let gregs = unsafe { &mut (*uc).uc_mcontext.gregs };
    let host_pc = gregs[libc::REG_RIP as usize] as usize;
    let rsp = gregs[libc::REG_RSP as usize] as usize;
    // x86 page-fault error code bit 1: the access was a write.
    let write = gregs[libc::REG_ERR as usize] & 2 != 0;
    let process = PROCESS.load(Ordering::Acquire);
    // A store to a page of translated code that the guest may write (see `smc`): release
    // the page and run the store again, wherever it came from.
    if sig == libc::SIGSEGV && code == signal::SEGV_ACCERR && write && !process.is_null() {
        // SAFETY: PROCESS points at the Process that lives for the whole run.
        if super::smc::on_write_fault(unsafe { &*process }, addr) {
            return;
        }
    }
    let cpu = CURRENT_CPU.with(|c| c.get());
    if process.is_null() || cpu.is_null() {
        crate::log::write(&format!(
            "ferrite: internal error: signal {sig} at host pc {host_pc:#x}"
        ));
        die_by_signal(sig);
    }
    // SAFETY: PROCESS points at the Process that lives for the whole run.
    let p = unsafe { &*process };
    // SAFETY: the pointer was set by this thread's run loop; the Cpu outlives it, and the
    // code using it (generated code or a helper) is interrupted.
    let site = unsafe { p.engine.fault_site(cpu, host_pc, rsp, &gregs[..]) };
    let Some(site) = site else {
        if p.engine.in_cache(host_pc) {
            crate::log::write(&format!(
                "ferrite: internal error: signal {sig} in the code cache outside any block (host pc {host_pc:#x})"
            ));
        } else {
            // Not guest code: a fault of ferrite itself. Report it (always: it is not
            // the guest's doing) against the last guest PC known.
            // SAFETY: as above.
            write_report(sig, unsafe {
                std::ptr::read_volatile(std::ptr::addr_of!((*cpu).pc))
            });
        }
        die_by_signal(sig);
    };
    // x86 reports a non-canonical address (a general-protection fault, SI_KERNEL) without
    // the address; the engine gives the access's. The arm64 kernel reports it without
    // its tag.
    let gp_addr = site
        .access_addr
        .filter(|_| sig == libc::SIGSEGV && code == SI_KERNEL);
    if let Some(raw) = gp_addr {
        if tagged_access_retry(site.guest_pc, raw) {
            // Run the access again in a block that untags (see `x64::Identity`).
            // SAFETY: as above; the handler returns to this context.
            unsafe {
                p.engine.resume_in_dispatcher(
                    cpu,
                    site.guest_pc,
                    &mut gregs[..],
                    Resume::Retranslate,
                )
            };
            return;
        }
    }
    let addr = gp_addr.map_or(addr, crate::arm64::untag);
    // A PROT_NONE reservation of ferrite's (such as the gap below the guest stack) is
    // a hole for the guest: the kernel would report a translation fault there.
    let code = if sig == libc::SIGSEGV
        && code == signal::SEGV_ACCERR
        && p.try_is_guest(addr) == Some(false)
    {
        signal::SEGV_MAPERR
    } else {
        code
    };
    let (ginfo, fault) = guest_fault(sig, code, addr, write);
    signal::queue_sync(ginfo, fault);
    // Leave generated code: the dispatcher returns Exit::Interrupt to the run loop,
    // which delivers the signal.
    // SAFETY: as above.
    unsafe {
        p.engine
            .resume_in_dispatcher(cpu, site.guest_pc, &mut gregs[..], Resume::Interrupt)
    };
}

/// The running process, once [`install`] ran.
pub fn process() -> Option<&'static Process> {
    let p = PROCESS.load(Ordering::Acquire);
    // SAFETY: PROCESS is only ever set to the Process that lives for the whole run.
    (!p.is_null()).then(|| unsafe { &*p })
}

/// Install the fault handlers and the process's signal state (once, at start-up).
pub fn install(process: &Process) {
    PROCESS.store(process as *const Process as *mut Process, Ordering::Release);
    for sig in signal::FAULT_SIGS {
        let sa = signal::KSigaction {
            handler: on_fault as *const () as u64,
            flags: signal::SA_SIGINFO | signal::SA_NODEFER,
            restorer: 0,
            mask: 0,
        };
        signal::host_sigaction(sig, Some(&sa), None);
    }
    signal::init_process(process);
}
