//! Guest signals: the real-time signal map, per-thread signal state, the host handler
//! that queues signals, and delivery to guest handlers with a kernel-exact arm64
//! `rt_sigframe` (and `rt_sigreturn`, which undoes it).
//!
//! Design (ARCHITECTURE.md, "Signals and faults", has the overview):
//! - **Numbers.** Host glibc reserves signals 32 and 33 (SIGCANCEL, SIGSETXID). The guest
//!   gets all 64 signals through a swap: guest 32↔host 64, 33↔63, 63↔33, 64↔32
//!   ([`map_sig`], its own inverse). ferrite never uses pthread cancellation or glibc's
//!   set*id broadcast, and every host call touching signal state is a raw system call,
//!   so glibc never gets in the way of 32/33.
//! - **Masks.** The guest's blocked mask lives in this thread's state and is mirrored on
//!   the host thread ([`host_mask_of`]), except SIGSEGV/SIGBUS/SIGILL/SIGFPE/SIGTRAP,
//!   which ferrite needs for fault attribution. So the host kernel keeps the guest's
//!   blocked signals pending (merging standard ones, queueing real-time ones), and
//!   `rt_sigpending`, `rt_sigtimedwait` and `signalfd` work on the host's queues.
//! - **Queueing.** A signal the guest handles has [`on_async`] as host handler
//!   (SA_SIGINFO, never SA_RESTART, everything blocked while it runs). It copies the
//!   siginfo into this thread's one-entry slot, sets bit 0 of `cpu.interrupt` (so
//!   generated code returns to the run loop at the next block entry) and rewrites the
//!   interrupted context's mask to block every asynchronous signal: nothing else is
//!   taken from the host until this one is delivered. Delivery unblocks again (to the
//!   guest's new mask), at which point the next deliverable host signal arrives, so
//!   several pending signals stack frames just as the kernel's delivery loop does.
//! - **Safe points.** The run loop delivers: after a system call ([`after_syscall`]), on
//!   `Exit::Interrupt` ([`deliver_pending`]), and for synchronous exits
//!   ([`synchronous`]: BRK, undefined instructions, fetch faults). A fault inside
//!   generated code (or a helper it called) is turned by [`super::fault`] into a
//!   queued synchronous signal plus an `Exit::Interrupt` with the guest registers exact.
//! - **Blocking system calls.** Host handlers never have SA_RESTART, so an interrupted
//!   host call returns EINTR; [`after_syscall`] then restarts it (pc back to the SVC, x0
//!   restored) when the guest handler has SA_RESTART and the call is one the kernel
//!   restarts, or leaves -EINTR. The race between "is a signal queued?" and entering the
//!   host kernel is closed the way QEMU's `safe_syscall` closes it: [`safe_syscall`] is
//!   a small assembly routine that tests the slot flag immediately before its `syscall`
//!   instruction, and [`on_async`] rewinds a thread interrupted between that test and the
//!   `syscall` instruction to return `-ERESTARTSYS` instead: the call never started, so
//!   it is always restarted after the handler. Every `pass` row goes through it, as do
//!   the blocking calls emulated here (`rt_sigsuspend`, `rt_sigtimedwait`, `ppoll`,
//!   `pselect6`) and `epoll_pwait`. A translating handler that makes a blocking host
//!   call with plain `host_syscall` (ioctl, fcntl F_SETLKW, wait4…) keeps a window of a
//!   few instructions: a signal queued just before such a call is delivered when the
//!   call returns, not before it blocks.
//!
//! This module may use `arm64::cpu`, `engine` and the rest of `linux`.

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};
use std::sync::OnceLock;

use super::syscall::signal::{GuestSigaction, SIG_DFL, SIG_IGN};
use super::syscall::Action;
use super::{fault, guest, mm, Process};
use crate::arm64::cpu::{Cpu, VReg};
use crate::engine::Exit;

// ---- constants ------------------------------------------------------------------

pub const SA_NOCLDSTOP: u64 = 0x0000_0001;
pub const SA_NOCLDWAIT: u64 = 0x0000_0002;
pub const SA_SIGINFO: u64 = 0x0000_0004;
pub const SA_EXPOSE_TAGBITS: u64 = 0x0000_0800;
pub const SA_RESTORER: u64 = 0x0400_0000;
pub const SA_ONSTACK: u64 = 0x0800_0000;
pub const SA_RESTART: u64 = 0x1000_0000;
pub const SA_NODEFER: u64 = 0x4000_0000;
pub const SA_RESETHAND: u64 = 0x8000_0000;
/// The flags the kernel keeps (`UAPI_SA_FLAGS` plus arm64's SA_RESTORER); others are
/// cleared so that user space can detect unsupported ones.
pub const SA_KNOWN: u64 = SA_NOCLDSTOP
    | SA_NOCLDWAIT
    | SA_SIGINFO
    | SA_EXPOSE_TAGBITS
    | SA_RESTORER
    | SA_ONSTACK
    | SA_RESTART
    | SA_NODEFER
    | SA_RESETHAND;

pub const SS_ONSTACK: u32 = 1;
pub const SS_DISABLE: u32 = 2;
pub const SS_AUTODISARM: u32 = 1 << 31;
/// arm64 uapi MINSIGSTKSZ: the kernel's `sigaltstack` minimum.
pub const MINSIGSTKSZ: u64 = 5120;

/// The kernel's "restart this call" code; never reaches the guest.
pub const ERESTARTSYS: i64 = 512;
const EINTR: i64 = libc::EINTR as i64;

// si_code values (same on both ABIs).
pub const SI_KERNEL: i32 = 0x80;
/// si_code of a signal sent by kill().
pub const SI_USER: i32 = 0;
pub const SEGV_MAPERR: i32 = 1;
pub const SEGV_ACCERR: i32 = 2;
pub const BUS_ADRALN: i32 = 1;
pub const ILL_ILLOPC: i32 = 1;
pub const TRAP_BRKPT: i32 = 1;

/// Signals ferrite keeps its own host handler for (fault attribution).
pub const FAULT_SIGS: [i32; 5] = [
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGILL,
    libc::SIGFPE,
    libc::SIGTRAP,
];

/// Bit of `sig` in a kernel sigset.
pub const fn bit(sig: i32) -> u64 {
    1u64 << (sig - 1)
}

pub const UNBLOCKABLE: u64 = bit(libc::SIGKILL) | bit(libc::SIGSTOP);
const NEVER_BLOCK: u64 = UNBLOCKABLE
    | bit(libc::SIGSEGV)
    | bit(libc::SIGBUS)
    | bit(libc::SIGILL)
    | bit(libc::SIGFPE)
    | bit(libc::SIGTRAP);
/// The host mask while a queued signal waits for delivery: every asynchronous signal.
const ALL_ASYNC: u64 = !NEVER_BLOCK;

/// Is `sig` one of the signals ferrite keeps its own host handler for?
pub fn is_fault_sig(sig: i32) -> bool {
    FAULT_SIGS.contains(&sig)
}

// ---- the real-time signal map ----------------------------------------------------

/// Guest signal number → host signal number, and back (the map is its own inverse).
pub const fn map_sig(sig: i32) -> i32 {
    match sig {
        32 => 64,
        33 => 63,
        63 => 33,
        64 => 32,
        s => s,
    }
}

/// A sigset with its signal numbers mapped by [`map_sig`] (both directions).
pub const fn map_mask(m: u64) -> u64 {
    let swapped = bit(32) | bit(33) | bit(63) | bit(64);
    let mut r = m & !swapped;
    if m & bit(32) != 0 {
        r |= bit(64);
    }
    if m & bit(64) != 0 {
        r |= bit(32);
    }
    if m & bit(33) != 0 {
        r |= bit(63);
    }
    if m & bit(63) != 0 {
        r |= bit(33);
    }
    r
}

/// The host thread mask that mirrors guest mask `guest`.
pub const fn host_mask_of(guest: u64) -> u64 {
    map_mask(guest) & !NEVER_BLOCK
}

/// Map the signal numbers a siginfo carries (its `si_signo`, and the one in `si_status`
/// of a SIGCHLD for a killed, dumped, stopped or trapped child). Its own inverse.
pub fn map_siginfo(info: &mut [u64; 16]) {
    let signo = info[0] as u32 as i32;
    let code = info[1] as u32 as i32;
    info[0] = (info[0] & !0xffff_ffff) | map_sig(signo) as u32 as u64;
    if signo == libc::SIGCHLD && (2..=5).contains(&code) {
        let st = info[3] as u32 as i32;
        if (1..=64).contains(&st) {
            info[3] = (info[3] & !0xffff_ffff) | map_sig(st) as u32 as u64;
        }
    }
}

/// Build a siginfo for a fault: signo, code, address.
pub fn fault_info(sig: i32, code: i32, addr: u64) -> [u64; 16] {
    let mut i = [0u64; 16];
    i[0] = sig as u32 as u64;
    i[1] = code as u32 as u64;
    i[2] = addr;
    i
}

// ---- raw host calls ----------------------------------------------------------------

fn raw(nr: libc::c_long, a: [u64; 4]) -> i64 {
    // SAFETY: every caller passes arguments valid for `nr` (pointers to live buffers or
    // null); these calls only touch this process's signal state. The raw call returns
    // the kernel result (negative errno) and never touches `errno`, so it is safe from
    // a signal handler.
    unsafe {
        syscalls::raw::syscall4(
            nr as usize,
            a[0] as usize,
            a[1] as usize,
            a[2] as usize,
            a[3] as usize,
        ) as i64
    }
}

/// The kernel's `struct sigaction` on x86-64 (and arm64): handler, flags, restorer, mask.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct KSigaction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

std::arch::global_asm!(
    ".pushsection .text.ferrite_signal,\"ax\",@progbits",
    // The x86-64 rt_sigreturn restorer every host handler is installed with.
    ".globl ferrite_restore_rt",
    ".hidden ferrite_restore_rt",
    ".type ferrite_restore_rt, @function",
    ".p2align 4",
    "ferrite_restore_rt:",
    "    mov eax, 15",
    "    syscall",
    "    ud2",
    ".size ferrite_restore_rt, . - ferrite_restore_rt",
    // i64 ferrite_safe_syscall(const u32 *pending, u64 nr, u64 a0, .., u64 a5)
    // A signal handler that finds rip in [start, end) moves it to `restart`.
    ".globl ferrite_safe_syscall",
    ".hidden ferrite_safe_syscall",
    ".globl ferrite_safe_syscall_start",
    ".hidden ferrite_safe_syscall_start",
    ".globl ferrite_safe_syscall_end",
    ".hidden ferrite_safe_syscall_end",
    ".globl ferrite_safe_syscall_restart",
    ".hidden ferrite_safe_syscall_restart",
    ".type ferrite_safe_syscall, @function",
    ".p2align 4",
    "ferrite_safe_syscall:",
    "    mov r11, rdi",
    "    mov rax, rsi",
    "    mov rdi, rdx",
    "    mov rsi, rcx",
    "    mov rdx, r8",
    "    mov r10, r9",
    "    mov r8, [rsp + 8]",
    "    mov r9, [rsp + 16]",
    "ferrite_safe_syscall_start:",
    "    cmp dword ptr [r11], 0",
    "    jne ferrite_safe_syscall_restart",
    "    syscall",
    "ferrite_safe_syscall_end:",
    "    ret",
    "ferrite_safe_syscall_restart:",
    "    mov rax, -512",
    "    ret",
    ".size ferrite_safe_syscall, . - ferrite_safe_syscall",
    ".popsection",
);

extern "C" {
    fn ferrite_restore_rt();
    fn ferrite_safe_syscall(
        pending: *const u32,
        nr: u64,
        a0: u64,
        a1: u64,
        a2: u64,
        a3: u64,
        a4: u64,
        a5: u64,
    ) -> i64;
    static ferrite_safe_syscall_start: u8;
    static ferrite_safe_syscall_end: u8;
    static ferrite_safe_syscall_restart: u8;
}

/// Install `new` (if any) as the host action for host signal `hsig`; the old one goes to
/// `old`. Returns the raw kernel result.
pub fn host_sigaction(hsig: i32, new: Option<&KSigaction>, old: Option<&mut KSigaction>) -> i64 {
    let mut n = new.copied();
    if let Some(k) = &mut n {
        k.flags |= SA_RESTORER;
        k.restorer = ferrite_restore_rt as *const () as u64;
    }
    raw(
        libc::SYS_rt_sigaction,
        [
            hsig as u64,
            n.as_ref().map_or(0, |k| k as *const KSigaction as u64),
            old.map_or(0, |k| k as *mut KSigaction as u64),
            8,
        ],
    )
}

/// Set this host thread's signal mask.
pub fn set_host_mask(m: u64) {
    raw(
        libc::SYS_rt_sigprocmask,
        [libc::SIG_SETMASK as u64, &m as *const u64 as u64, 0, 8],
    );
}

/// This host thread's signal mask.
pub fn host_mask() -> u64 {
    let mut m = 0u64;
    raw(
        libc::SYS_rt_sigprocmask,
        [libc::SIG_BLOCK as u64, 0, &mut m as *mut u64 as u64, 8],
    );
    m
}

fn gettid() -> u64 {
    raw(libc::SYS_gettid, [0; 4]) as u64
}

fn getpid() -> u64 {
    raw(libc::SYS_getpid, [0; 4]) as u64
}

/// Send host signal `hsig` with `info` (host numbering) to this thread.
fn requeue_host(hsig: i32, info: &[u64; 16]) {
    let r = raw(
        libc::SYS_rt_tgsigqueueinfo,
        [getpid(), gettid(), hsig as u64, info.as_ptr() as u64],
    );
    if r < 0 {
        raw(libc::SYS_tgkill, [getpid(), gettid(), hsig as u64, 0]);
    }
}

/// Make host system call `nr`, or return `-ERESTARTSYS` without making it if a signal
/// is already queued for this thread (including one that arrives up to the `syscall`
/// instruction itself). See the module documentation.
pub fn safe_syscall(nr: u32, a: [u64; 6]) -> i64 {
    let pending = T.with(|t| t.slot_ready.as_ptr() as *const u32);
    // SAFETY: `pending` points at this thread's slot flag, which lives as long as the
    // thread; the routine only reads it and makes the system call, whose arguments the
    // caller vouches for exactly as for `host_syscall`.
    unsafe { ferrite_safe_syscall(pending, nr as u64, a[0], a[1], a[2], a[3], a[4], a[5]) }
}

// ---- per-thread state ----------------------------------------------------------------

/// The guest's alternate signal stack of one thread (`sigaltstack`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AltStack {
    pub sp: u64,
    pub size: u64,
    /// As stored by the kernel: the flags last given (SS_DISABLE when disabled).
    pub flags: u32,
}

impl AltStack {
    const DISABLED: AltStack = AltStack {
        sp: 0,
        size: 0,
        flags: SS_DISABLE,
    };

    /// The kernel's `on_sig_stack(sp)`.
    pub fn on_stack(&self, sp: u64) -> bool {
        if self.flags & SS_AUTODISARM != 0 {
            return false;
        }
        sp > self.sp && sp - self.sp <= self.size
    }

    /// The kernel's `sas_ss_flags(sp)`.
    pub fn ss_flags(&self, sp: u64) -> u32 {
        if self.size == 0 {
            SS_DISABLE
        } else if self.on_stack(sp) {
            SS_ONSTACK
        } else {
            0
        }
    }
}

/// A synchronous signal waiting for delivery: siginfo (guest numbering), and the
/// thread's fault state (address, ESR) it sets, if it sets it.
#[derive(Clone, Copy)]
struct SyncSignal {
    info: [u64; 16],
    fault: Option<(u64, u64)>,
}

/// Signal state of one guest thread (one host thread).
struct ThreadSignals {
    init: Cell<bool>,
    /// The guest's blocked mask.
    mask: Cell<u64>,
    /// The mask to restore after the next handler (set by `rt_sigsuspend`).
    saved_mask: Cell<Option<u64>>,
    alt: Cell<AltStack>,
    /// The last fault's address and ESR (the kernel's `thread.fault_address/code`).
    fault_address: Cell<u64>,
    fault_code: Cell<u64>,
    /// The asynchronous slot, filled by `on_async`.
    slot_ready: AtomicU32,
    slot: Cell<[u64; 16]>,
    /// A synchronous fault, filled by the fault handler or the run loop.
    sync_ready: AtomicU32,
    sync: Cell<SyncSignal>,
    /// Fault-type signals sent with kill() (their host handler is ferrite's own and never
    /// blocked), one per signal like the kernel's standard signals.
    deferred_ready: [AtomicU32; 5],
    deferred: [Cell<[u64; 16]>; 5],
}

thread_local! {
    static T: ThreadSignals = const {
        ThreadSignals {
            init: Cell::new(false),
            mask: Cell::new(0),
            saved_mask: Cell::new(None),
            alt: Cell::new(AltStack::DISABLED),
            fault_address: Cell::new(0),
            fault_code: Cell::new(0),
            slot_ready: AtomicU32::new(0),
            slot: Cell::new([0; 16]),
            sync_ready: AtomicU32::new(0),
            sync: Cell::new(SyncSignal { info: [0; 16], fault: None }),
            deferred_ready: [const { AtomicU32::new(0) }; 5],
            deferred: [const { Cell::new([0; 16]) }; 5],
        }
    };
}

/// First use on a thread: the guest mask is the host mask the thread started with
/// (inherited across execve and thread creation), and the fault signals are unblocked.
fn ensure_init(t: &ThreadSignals) {
    if !t.init.get() {
        t.init.set(true);
        t.mask.set(map_mask(host_mask()) & !UNBLOCKABLE);
        sync_host_mask(t);
    }
}

fn sync_host_mask(t: &ThreadSignals) {
    let m = if t.slot_ready.load(Ordering::Acquire) != 0 {
        ALL_ASYNC
    } else {
        host_mask_of(t.mask.get())
    };
    set_host_mask(m);
}

/// The guest signal mask of the calling thread.
pub fn current_mask() -> u64 {
    T.with(|t| {
        ensure_init(t);
        t.mask.get()
    })
}

/// Set the guest signal mask of the calling thread (and the host mask to match).
pub fn set_mask(m: u64) {
    T.with(|t| {
        t.init.set(true);
        t.mask.set(m & !UNBLOCKABLE);
        sync_host_mask(t);
    })
}

/// Start the signal state of a new guest thread on the calling (new) host thread: it
/// inherits `parent_mask` (the parent's [`current_mask`] at clone time); the alternate
/// stack starts disabled, as the kernel does for CLONE_VM threads.
pub fn thread_start(parent_mask: u64) {
    set_mask(parent_mask);
}

/// Run `sigsuspend`-style: the guest mask becomes `temp` until the next handler is set
/// up (whose frame saves the mask as it was before), or until [`end_temp_mask`].
pub fn begin_temp_mask(temp: u64) {
    T.with(|t| {
        ensure_init(t);
        t.saved_mask.set(Some(t.mask.get()));
        t.mask.set(temp & !UNBLOCKABLE);
    })
}

/// Undo [`begin_temp_mask`] if no handler consumed the saved mask.
pub fn end_temp_mask() {
    T.with(|t| {
        if let Some(m) = t.saved_mask.take() {
            t.mask.set(m);
            sync_host_mask(t);
        }
    })
}

/// Is an asynchronous signal queued for delivery on this thread?
pub fn queued() -> bool {
    T.with(|t| t.slot_ready.load(Ordering::Acquire) != 0)
}

/// Guest signals pending for this thread that ferrite holds itself (fault-type signals
/// sent with kill while blocked).
pub fn deferred_pending() -> u64 {
    T.with(|t| {
        let mut m = 0;
        for (i, s) in FAULT_SIGS.iter().enumerate() {
            if t.deferred_ready[i].load(Ordering::Acquire) != 0 {
                m |= bit(*s);
            }
        }
        m
    })
}

/// Take a deferred signal in `set` (for `rt_sigtimedwait`).
pub fn take_deferred(set: u64) -> Option<[u64; 16]> {
    T.with(|t| {
        for (i, s) in FAULT_SIGS.iter().enumerate() {
            if set & bit(*s) != 0 && t.deferred_ready[i].load(Ordering::Acquire) != 0 {
                let info = t.deferred[i].get();
                t.deferred_ready[i].store(0, Ordering::Release);
                return Some(info);
            }
        }
        None
    })
}

/// The guest alternate signal stack of this thread.
pub fn alt_stack() -> AltStack {
    T.with(|t| t.alt.get())
}

/// The kernel's `do_sigaltstack`: report the stack as seen from `sp` and, with `new`
/// = (ss_sp, ss_flags, ss_size), change it. Returns the old (ss_sp, ss_flags, ss_size).
pub fn do_sigaltstack(sp: u64, new: Option<(u64, u32, u64)>) -> Result<(u64, u32, u64), i64> {
    T.with(|t| {
        let cur = t.alt.get();
        let old = (
            cur.sp,
            cur.ss_flags(sp) | (cur.flags & SS_AUTODISARM),
            cur.size,
        );
        if let Some((ss_sp, flags, size)) = new {
            if cur.on_stack(sp) {
                return Err(-(libc::EPERM as i64));
            }
            let mode = flags & !SS_AUTODISARM;
            if mode != SS_DISABLE && mode != SS_ONSTACK && mode != 0 {
                return Err(-(libc::EINVAL as i64));
            }
            let (ss_sp, size) = if mode == SS_DISABLE {
                (0, 0)
            } else if size < MINSIGSTKSZ {
                return Err(-(libc::ENOMEM as i64));
            } else {
                (ss_sp, size)
            };
            t.alt.set(AltStack {
                sp: ss_sp,
                size,
                flags,
            });
        }
        Ok(old)
    })
}

// ---- host handlers --------------------------------------------------------------------

/// The host handler of every signal the guest handles (except the fault signals): queue
/// it for this thread and make the run loop deliver it. Async-signal-safe: it touches
/// only this thread's state, the CPU's interrupt word and raw system calls.
extern "C" fn on_async(hsig: i32, info: *mut libc::siginfo_t, uc: *mut libc::c_void) {
    let mut buf = [0u64; 16];
    // SAFETY: the kernel passes a valid 128-byte siginfo to an SA_SIGINFO handler.
    unsafe { std::ptr::copy_nonoverlapping(info as *const u64, buf.as_mut_ptr(), 16) };
    let host_info = buf;
    let queued = T.with(|t| {
        if t.slot_ready.load(Ordering::Relaxed) != 0 {
            return false;
        }
        map_siginfo(&mut buf);
        t.slot.set(buf);
        t.slot_ready.store(1, Ordering::Release);
        true
    });
    if !queued {
        // Only if something unblocked signals behind ferrite's back: put it back on the
        // host queue; the mask set below keeps it there until the slot is free.
        requeue_host(hsig, &host_info);
    }
    fault::raise_interrupt();
    // SAFETY: `uc` is the valid ucontext of this handler invocation; writing its mask and
    // rip changes what the kernel restores when the handler returns.
    unsafe {
        let uc = uc as *mut libc::ucontext_t;
        *(std::ptr::addr_of_mut!((*uc).uc_sigmask) as *mut u64) = ALL_ASYNC;
        let rip = &mut (*uc).uc_mcontext.gregs[libc::REG_RIP as usize];
        let start = std::ptr::addr_of!(ferrite_safe_syscall_start) as i64;
        let end = std::ptr::addr_of!(ferrite_safe_syscall_end) as i64;
        if *rip >= start && *rip < end {
            *rip = std::ptr::addr_of!(ferrite_safe_syscall_restart) as i64;
        }
    }
}

/// Install the host disposition that implements guest action `act` for guest `sig`.
pub fn apply_host_disposition(sig: i32, act: &GuestSigaction) {
    if is_fault_sig(sig) || sig == libc::SIGKILL || sig == libc::SIGSTOP {
        return;
    }
    let hsig = map_sig(sig);
    let chld = act.flags & (SA_NOCLDSTOP | SA_NOCLDWAIT);
    let k = if act.handler == SIG_IGN {
        KSigaction {
            handler: libc::SIG_IGN as u64,
            flags: chld,
            ..Default::default()
        }
    } else if act.handler == SIG_DFL && hsig == sig && !fault::dumps_core(sig) {
        KSigaction {
            handler: libc::SIG_DFL as u64,
            flags: chld,
            ..Default::default()
        }
    } else {
        // A guest handler; or the default action of a swapped signal, which ferrite
        // applies itself so that the process dies by the guest's signal number; or a
        // default action that dumps core (abort()'s SIGABRT…), which ferrite reports
        // first, as qemu does.
        KSigaction {
            handler: on_async as *const () as u64,
            flags: SA_SIGINFO | chld,
            restorer: 0,
            mask: ALL_ASYNC,
        }
    };
    host_sigaction(hsig, Some(&k), None);
}

/// SIGPIPE's disposition when ferrite was started: 0 not recorded, 1 default, 2 ignored.
static INHERITED_SIGPIPE: AtomicU8 = AtomicU8::new(0);

/// Record the SIGPIPE disposition ferrite inherited from its parent. Rust's runtime sets
/// SIGPIPE to SIG_IGN before `main`, which would otherwise look like an inherited
/// "ignored" to [`init_process`] (and a guest's default SIGPIPE — death on `kill` or on a
/// write to a broken pipe — would be lost). The binary calls this from an `.init_array`
/// constructor, which runs before the runtime's set-up; it only uses `sigaction`.
pub fn record_inherited_sigpipe() {
    let mut old = KSigaction::default();
    if host_sigaction(libc::SIGPIPE, None, Some(&mut old)) == 0 {
        let v = if old.handler == libc::SIG_IGN as u64 {
            2
        } else {
            1
        };
        INHERITED_SIGPIPE.store(v, Ordering::Relaxed);
    }
}

/// Was `sig` ignored when ferrite started? (`old` is its disposition now.)
fn inherited_ignored(sig: i32, old: &KSigaction) -> bool {
    if sig == libc::SIGPIPE {
        match INHERITED_SIGPIPE.load(Ordering::Relaxed) {
            1 => return false,
            2 => return true,
            _ => {}
        }
    }
    old.handler == libc::SIG_IGN as u64
}

/// Process start-up: take over inherited dispositions (ignored signals stay ignored
/// across execve), install ferrite's handler on the swapped signals, set up the calling
/// thread's mask and map the sigreturn trampoline.
pub fn init_process(process: &Process) {
    for sig in 1..=64 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP || is_fault_sig(sig) {
            continue;
        }
        let mut old = KSigaction::default();
        if host_sigaction(map_sig(sig), None, Some(&mut old)) == 0 && inherited_ignored(sig, &old) {
            process.sigaction(
                sig,
                Some(GuestSigaction {
                    handler: SIG_IGN,
                    ..Default::default()
                }),
            );
        } else if map_sig(sig) != sig || fault::dumps_core(sig) || sig == libc::SIGPIPE {
            apply_host_disposition(sig, &GuestSigaction::default());
        }
    }
    T.with(ensure_init);
    // Mapped now, like the kernel's vDSO at exec, so it never lands in a hole the
    // guest made later.
    trampoline(process);
}

// ---- queueing from the fault handler --------------------------------------------------

/// Queue a synchronous signal for this thread (from the fault handler or the run loop).
/// `fault` = (address, ESR) becomes the thread's fault state, which the kernel reports in
/// `sigcontext.fault_address` and (when the ESR is non-zero) an `esr_context` record of
/// this and later frames: page faults set both, alignment faults set the ESR with
/// address 0, undefined instructions clear both, BRK leaves them alone (`None`).
pub fn queue_sync(info: [u64; 16], fault: Option<(u64, u64)>) {
    T.with(|t| {
        t.sync.set(SyncSignal { info, fault });
        t.sync_ready.store(1, Ordering::Release);
    });
    fault::raise_interrupt();
}

/// Queue a fault-type signal that was sent (kill/tgkill/sigqueue) rather than caused.
/// Standard-signal semantics: a second one while the first is pending merges with it.
pub fn queue_sent_fault_sig(sig: i32, info: &[u64; 16]) {
    if let Some(i) = FAULT_SIGS.iter().position(|&s| s == sig) {
        T.with(|t| {
            if t.deferred_ready[i].load(Ordering::Relaxed) == 0 {
                t.deferred[i].set(*info);
                t.deferred_ready[i].store(1, Ordering::Release);
            }
        });
        fault::raise_interrupt();
    }
}

// ---- delivery ----------------------------------------------------------------------

enum Pending {
    Sync(SyncSignal),
    Async([u64; 16]),
}

fn take_next(t: &ThreadSignals) -> Option<Pending> {
    if t.sync_ready.load(Ordering::Acquire) != 0 {
        t.sync_ready.store(0, Ordering::Release);
        return Some(Pending::Sync(t.sync.get()));
    }
    for (i, s) in FAULT_SIGS.iter().enumerate() {
        if t.deferred_ready[i].load(Ordering::Acquire) != 0 && t.mask.get() & bit(*s) == 0 {
            let info = t.deferred[i].get();
            t.deferred_ready[i].store(0, Ordering::Release);
            return Some(Pending::Async(info));
        }
    }
    if t.slot_ready.load(Ordering::Acquire) != 0 {
        let info = t.slot.get();
        // Every asynchronous signal stays blocked on the host until `deliver` sets the
        // host mask again, so nothing refills the slot meanwhile.
        t.slot_ready.store(0, Ordering::Release);
        return Some(Pending::Async(info));
    }
    None
}

/// The asynchronous signal [`take_next`] would deliver next (without taking it).
fn next_async_sig(t: &ThreadSignals) -> Option<i32> {
    for (i, s) in FAULT_SIGS.iter().enumerate() {
        if t.deferred_ready[i].load(Ordering::Acquire) != 0 && t.mask.get() & bit(*s) == 0 {
            return Some(*s);
        }
    }
    (t.slot_ready.load(Ordering::Acquire) != 0).then(|| t.slot.get()[0] as u32 as i32)
}

fn anything_pending(t: &ThreadSignals) -> bool {
    t.sync_ready.load(Ordering::Acquire) != 0
        || t.slot_ready.load(Ordering::Acquire) != 0
        || t.deferred_ready
            .iter()
            .any(|d| d.load(Ordering::Acquire) != 0)
}

/// Deliver every deliverable pending signal of this thread to the guest (a safe point:
/// the CPU state is the guest's architectural state, `cpu.pc` where to resume). Each
/// handler gets its own frame, the last one set up runs first.
pub fn deliver_pending(process: &Process, cpu: &mut Cpu) {
    T.with(|t| {
        ensure_init(t);
        loop {
            fault::clear_interrupt(cpu);
            match take_next(t) {
                Some(p) => deliver(process, cpu, t, p),
                None => break,
            }
        }
        if let Some(m) = t.saved_mask.take() {
            t.mask.set(m);
            sync_host_mask(t);
        }
    })
}

/// Hook for the run loop after every system call: restart or fail an interrupted call,
/// then deliver pending signals. `orig_x0` is x0 before the call, `r` its result.
pub fn after_syscall(
    process: &Process,
    cpu: &mut Cpu,
    nr: u64,
    orig_x0: u64,
    r: i64,
    action: Action,
) {
    T.with(|t| {
        if action == Action::Continue {
            let restart = if r == -ERESTARTSYS {
                // The call never started (see `safe_syscall`), or was told to retry.
                true
            } else if r == -EINTR {
                match next_async_sig(t) {
                    Some(sig) => {
                        let act = process.sigaction(sig, None);
                        let handled = act.handler != SIG_DFL && act.handler != SIG_IGN;
                        !handled || (act.flags & SA_RESTART != 0 && restartable(nr, cpu, orig_x0))
                    }
                    // Interrupted by a fault-type signal the guest blocks: invisible to
                    // it, so the call goes on (the kernel would not have stopped it).
                    None => t
                        .deferred_ready
                        .iter()
                        .any(|d| d.load(Ordering::Acquire) != 0),
                }
            } else {
                false
            };
            if restart {
                cpu.pc = cpu.pc.wrapping_sub(4);
                cpu.x[0] = orig_x0;
            }
        }
        if anything_pending(t) || t.saved_mask.get().is_some() {
            deliver_pending(process, cpu);
        }
    })
}

/// Is guest call `nr` one the kernel restarts after a handler with SA_RESTART
/// (ERESTARTSYS)? The others (poll/select/epoll waits, sleeps, sigsuspend and
/// sigtimedwait, SysV IPC, timed futex waits) return EINTR, as do socket calls with a
/// SO_RCVTIMEO/SO_SNDTIMEO timeout (see [`crate::linux::syscall::sock`]). `fd` is the
/// call's first argument.
fn restartable(nr: u64, cpu: &Cpu, fd: u64) -> bool {
    // futex: FUTEX_WAIT/WAIT_BITSET with a timeout use a restart block (EINTR for a
    // handled signal); everything else restarts.
    if nr == 98 {
        let cmd = cpu.x[1] & 0x7f;
        return !(matches!(cmd, 0 | 9) && cpu.x[3] != 0);
    }
    RESTARTABLE.contains(&nr) && !super::syscall::sock::timed_socket_call(nr, fd)
}

/// arm64 numbers of the calls the kernel restarts under SA_RESTART (besides futex).
#[rustfmt::skip]
const RESTARTABLE: &[u64] = &[
    25,  // fcntl (F_SETLKW)
    29,  // ioctl
    32,  // flock
    56,  // openat
    63, 64, 65, 66, 67, 68, 69, 70, // read write readv writev pread64 pwrite64 preadv pwritev
    71,  // sendfile
    75, 76, 77, // vmsplice splice tee
    95,  // waitid
    182, 183, // mq_timedsend mq_timedreceive
    202, 203, // accept connect
    206, 207, // sendto recvfrom
    211, 212, // sendmsg recvmsg
    242, 243, // accept4 recvmmsg
    260, // wait4
    269, // sendmmsg
    278, // getrandom
    285, 286, 287, // copy_file_range preadv2 pwritev2
    437, // openat2
];

/// A synchronous exit of the engine: BRK (SIGTRAP), an undefined or privileged
/// instruction (SIGILL), a fetch fault (SIGSEGV, or SIGBUS for a misaligned pc).
/// Delivers to the guest's handler, or reports and ends the process.
pub fn synchronous(process: &Process, cpu: &mut Cpu, exit: Exit) {
    let pc = cpu.pc;
    let (info, fault) = match exit {
        Exit::Brk(_) => (fault_info(libc::SIGTRAP, TRAP_BRKPT, pc), None),
        Exit::Undefined(_) | Exit::Privileged(_) => {
            (fault_info(libc::SIGILL, ILL_ILLOPC, pc), Some((0, 0)))
        }
        Exit::FetchFault(_) => {
            if pc & 3 != 0 {
                (
                    fault_info(libc::SIGBUS, BUS_ADRALN, pc),
                    Some((0, esr::PC_ALIGN | esr::IL)),
                )
            } else {
                let mapped = process.mm().find(pc).is_some();
                let (code, fsc) = if mapped {
                    (SEGV_ACCERR, esr::FSC_PERM_L3)
                } else {
                    (SEGV_MAPERR, esr::FSC_TRANS_L3)
                };
                (
                    fault_info(libc::SIGSEGV, code, pc),
                    Some((pc, esr::IABT_LOW | esr::IL | fsc)),
                )
            }
        }
        _ => return,
    };
    queue_sync(info, fault);
    deliver_pending(process, cpu);
}

/// ESR_EL1 values reported in `esr_context` (arm64 kernel `esr.h`).
pub mod esr {
    pub const IL: u64 = 1 << 25;
    pub const IABT_LOW: u64 = 0x20 << 26;
    pub const PC_ALIGN: u64 = 0x22 << 26;
    pub const DABT_LOW: u64 = 0x24 << 26;
    pub const WNR: u64 = 1 << 6;
    pub const FSC_TRANS_L3: u64 = 0x07;
    pub const FSC_PERM_L3: u64 = 0x0f;
    pub const FSC_ALIGN: u64 = 0x21;
}

/// Default actions.
fn default_ignored(sig: i32) -> bool {
    matches!(
        sig,
        libc::SIGCHLD | libc::SIGURG | libc::SIGWINCH | libc::SIGCONT
    )
}

fn default_stops(sig: i32) -> bool {
    matches!(sig, libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU)
}

fn fatal(sig: i32, pc: u64, report: bool) -> ! {
    if let Some(p) = fault::process() {
        super::report_stats(p);
    }
    if report {
        fault::report_uncaught(sig, pc);
    }
    super::gdb::process_end(crate::gdb::Stop::Terminated(sig));
    fault::die_by_signal(sig)
}

/// Deliver signal `sig` that gdb asked a stopped thread to receive as it resumes (the
/// signal it stopped with was already handled; this one is new): like a signal sent to
/// the thread, without a stop for gdb.
pub fn deliver_from_debugger(process: &Process, cpu: &mut Cpu, sig: i32) {
    // SAFETY: getpid and getuid have no preconditions.
    let (pid, uid) = unsafe { (libc::getpid() as u32 as u64, libc::getuid() as u64) };
    let info = fault_info(sig, SI_USER, pid | uid << 32);
    T.with(|t| {
        ensure_init(t);
        deliver_unseen(process, cpu, t, Pending::Async(info));
    });
}

fn deliver(process: &Process, cpu: &mut Cpu, t: &ThreadSignals, p: Pending) {
    let (info, sync) = match p {
        Pending::Sync(s) => (s.info, true),
        Pending::Async(i) => (i, false),
    };
    let sig = info[0] as u32 as i32;
    let blocked = t.mask.get() & bit(sig) != 0;
    // gdb attached: it sees the signal first (as a ptrace signal-delivery stop) and
    // decides what the thread receives: this signal, another, or none.
    if super::gdb::active() && (1..=64).contains(&sig) && (sync || !blocked) {
        match super::gdb::signal_stop(cpu, sig) {
            Some(s) if s == sig => {}
            Some(other) => {
                deliver_from_debugger(process, cpu, other);
                sync_host_mask(t);
                return;
            }
            None => {
                sync_host_mask(t);
                return;
            }
        }
    }
    deliver_unseen(process, cpu, t, p)
}

fn deliver_unseen(process: &Process, cpu: &mut Cpu, t: &ThreadSignals, p: Pending) {
    let (info, fault, sync) = match p {
        Pending::Sync(s) => (s.info, s.fault, true),
        Pending::Async(i) => (i, None, false),
    };
    let sig = info[0] as u32 as i32;
    if !(1..=64).contains(&sig) {
        sync_host_mask(t);
        return;
    }
    let act = process.sigaction(sig, None);
    let blocked = t.mask.get() & bit(sig) != 0;
    // -strace: the signal is taken now (an asynchronous one blocked meanwhile goes
    // back to its queue instead).
    if crate::log::enabled(crate::log::Item::Strace) && (sync || !blocked) {
        super::syscall::strace::signal(&info);
    }
    if sync {
        if let Some((addr, esr)) = fault {
            t.fault_address.set(addr);
            t.fault_code.set(esr);
        }
        // The kernel forces synchronous signals: blocked or ignored means default.
        if blocked || act.handler == SIG_IGN || act.handler == SIG_DFL {
            fatal(sig, cpu.pc, true);
        }
    } else if blocked {
        // Queued while unblocked, blocked since (by the system call that was running):
        // back to the host queue, where it waits like any blocked signal.
        if is_fault_sig(sig) {
            queue_sent_fault_sig(sig, &info);
        } else {
            let mut host = info;
            map_siginfo(&mut host);
            requeue_host(map_sig(sig), &host);
        }
        sync_host_mask(t);
        return;
    }
    match act.handler {
        SIG_IGN => {}
        SIG_DFL => {
            if default_stops(sig) {
                let mut host = info;
                map_siginfo(&mut host);
                requeue_host(map_sig(sig), &host);
            } else if !default_ignored(sig) {
                // As qemu: a report for the signals whose default action dumps core
                // (abort() included); SIGTERM, SIGPIPE… end the process quietly.
                fatal(sig, cpu.pc, fault::dumps_core(sig));
            }
        }
        _ => {
            if setup_frame(process, cpu, t, sig, &info, &act).is_err() {
                // The kernel's force_sigsegv: a SIGSEGV that cannot be caught by the
                // handler that just failed.
                if sig == libc::SIGSEGV {
                    fatal(sig, cpu.pc, true);
                }
                t.sync.set(SyncSignal {
                    info: fault_info(libc::SIGSEGV, SI_KERNEL, 0),
                    fault: None,
                });
                t.sync_ready.store(1, Ordering::Release);
            }
        }
    }
    sync_host_mask(t);
}

// ---- the arm64 rt_sigframe -------------------------------------------------------------

/// Offsets in the arm64 `struct rt_sigframe` (arch/arm64/kernel/signal.c) and the
/// structures inside it (uapi `asm/ucontext.h`, `asm/sigcontext.h`).
pub mod frame {
    /// `struct siginfo info` (128 bytes).
    pub const INFO: usize = 0;
    /// `struct ucontext uc`.
    pub const UC: usize = 128;
    pub const UC_FLAGS: usize = UC;
    pub const UC_LINK: usize = UC + 8;
    /// `stack_t uc_stack`: ss_sp, ss_flags (int), ss_size.
    pub const UC_STACK_SP: usize = UC + 16;
    pub const UC_STACK_FLAGS: usize = UC + 24;
    pub const UC_STACK_SIZE: usize = UC + 32;
    /// `sigset_t uc_sigmask` (8 bytes), then padding to glibc's 1024-bit sigset.
    pub const UC_SIGMASK: usize = UC + 40;
    /// `struct sigcontext uc_mcontext` (16-byte aligned).
    pub const MCONTEXT: usize = UC + 176;
    pub const SC_FAULT_ADDRESS: usize = MCONTEXT;
    pub const SC_REGS: usize = MCONTEXT + 8;
    pub const SC_SP: usize = MCONTEXT + 256;
    pub const SC_PC: usize = MCONTEXT + 264;
    pub const SC_PSTATE: usize = MCONTEXT + 272;
    /// `__reserved[4096]`, 16-byte aligned: the records.
    pub const SC_RESERVED: usize = MCONTEXT + 288;
    pub const RESERVED_SIZE: usize = 4096;
    /// `sizeof(struct rt_sigframe)`.
    pub const SIZE: usize = SC_RESERVED + RESERVED_SIZE;
    /// `struct frame_record { fp, lr }`, above the frame.
    pub const RECORD_SIZE: usize = 16;

    pub const FPSIMD_MAGIC: u32 = 0x4650_8001;
    pub const FPSIMD_SIZE: usize = 528;
    pub const ESR_MAGIC: u32 = 0x4553_5201;
    pub const ESR_SIZE: usize = 16;
    pub const EXTRA_MAGIC: u32 = 0x4558_5401;
}

fn put64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

fn put32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

fn get64(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().expect("8 bytes"))
}

fn get32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().expect("4 bytes"))
}

/// What goes into a frame besides the CPU state.
pub struct FrameContents<'a> {
    pub info: &'a [u64; 16],
    /// The mask to restore on return (the interrupted code's).
    pub mask: u64,
    /// `uc_stack` as the kernel's `__save_altstack` writes it.
    pub stack: AltStack,
    pub fault_address: u64,
    /// ESR for the `esr_context` record; 0 for none.
    pub esr: u64,
}

/// The bytes of an rt_sigframe for `cpu`, followed by the frame record {x29, x30}.
pub fn build_frame(cpu: &Cpu, c: &FrameContents) -> Vec<u8> {
    use frame::*;
    let mut b = vec![0u8; SIZE + RECORD_SIZE];
    for (i, w) in c.info.iter().enumerate() {
        put64(&mut b, INFO + 8 * i, *w);
    }
    put64(&mut b, UC_FLAGS, 0);
    put64(&mut b, UC_LINK, 0);
    put64(&mut b, UC_STACK_SP, c.stack.sp);
    put32(&mut b, UC_STACK_FLAGS, c.stack.flags);
    put64(&mut b, UC_STACK_SIZE, c.stack.size);
    put64(&mut b, UC_SIGMASK, c.mask);
    put64(&mut b, SC_FAULT_ADDRESS, c.fault_address);
    for r in 0..31 {
        put64(&mut b, SC_REGS + 8 * r, cpu.x[r]);
    }
    put64(&mut b, SC_SP, cpu.x[31]);
    put64(&mut b, SC_PC, cpu.pc);
    put64(&mut b, SC_PSTATE, cpu.nzcv & 0xf000_0000);
    let mut off = SC_RESERVED;
    put32(&mut b, off, FPSIMD_MAGIC);
    put32(&mut b, off + 4, FPSIMD_SIZE as u32);
    put32(&mut b, off + 8, cpu.fpsr as u32);
    put32(&mut b, off + 12, cpu.fpcr as u32);
    for (i, v) in cpu.v.iter().enumerate() {
        b[off + 16 + 16 * i..off + 32 + 16 * i].copy_from_slice(&v.bytes());
    }
    off += FPSIMD_SIZE;
    if c.esr != 0 {
        put32(&mut b, off, ESR_MAGIC);
        put32(&mut b, off + 4, ESR_SIZE as u32);
        put64(&mut b, off + 8, c.esr);
        off += ESR_SIZE;
    }
    // The terminator {0, 0} (16 bytes reserved) is already zero.
    debug_assert!(off + 16 <= SC_RESERVED + RESERVED_SIZE);
    put64(&mut b, SIZE, cpu.x[29]);
    put64(&mut b, SIZE + 8, cpu.x[30]);
    b
}

/// The state an rt_sigframe restores.
#[derive(Clone, Debug)]
pub struct Restored {
    pub x: [u64; 31],
    pub sp: u64,
    pub pc: u64,
    pub pstate: u64,
    pub fpsr: u32,
    pub fpcr: u32,
    pub v: [VReg; 32],
    pub mask: u64,
    /// uc_stack: (ss_sp, ss_flags, ss_size).
    pub stack: (u64, u32, u64),
}

/// A signal frame `rt_sigreturn` refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadFrame;

/// Parse and validate an rt_sigframe as the kernel's `restore_sigframe` does: the
/// records must be well formed, with exactly one `fpsimd_context` of the right size;
/// `esr_context` is ignored; anything else (SVE, ZA, extra_context…) is refused because
/// ferrite never writes it. `pstate` must describe AArch64 EL0 with DAIF clear.
pub fn parse_frame(b: &[u8]) -> Result<Restored, BadFrame> {
    use frame::*;
    if b.len() < SIZE {
        return Err(BadFrame);
    }
    let mut fpsimd = None;
    let mut off = 0;
    loop {
        if RESERVED_SIZE - off < 8 || off % 16 != 0 {
            return Err(BadFrame);
        }
        let at = SC_RESERVED + off;
        let magic = get32(b, at);
        let size = get32(b, at + 4) as usize;
        if magic == 0 {
            if size != 0 {
                return Err(BadFrame);
            }
            break;
        }
        if size < 8 || RESERVED_SIZE - off < size {
            return Err(BadFrame);
        }
        match magic {
            FPSIMD_MAGIC => {
                if fpsimd.is_some() || size != FPSIMD_SIZE {
                    return Err(BadFrame);
                }
                fpsimd = Some(at);
            }
            ESR_MAGIC => {}
            _ => return Err(BadFrame),
        }
        off += size;
    }
    let fp = fpsimd.ok_or(BadFrame)?;
    let pstate = get64(b, SC_PSTATE);
    // M[4:0] = EL0t (AArch64), D, A, I, F clear.
    if pstate & 0x1f != 0 || pstate & (0xf << 6) != 0 {
        return Err(BadFrame);
    }
    let mut x = [0u64; 31];
    for (r, v) in x.iter_mut().enumerate() {
        *v = get64(b, SC_REGS + 8 * r);
    }
    let mut v = [VReg::default(); 32];
    for (i, reg) in v.iter_mut().enumerate() {
        let s = fp + 16 + 16 * i;
        *reg = VReg::from_bytes(b[s..s + 16].try_into().expect("16 bytes"));
    }
    Ok(Restored {
        x,
        sp: get64(b, SC_SP),
        pc: get64(b, SC_PC),
        pstate,
        fpsr: get32(b, fp + 8),
        fpcr: get32(b, fp + 12),
        v,
        mask: get64(b, UC_SIGMASK),
        stack: (
            get64(b, UC_STACK_SP),
            get32(b, UC_STACK_FLAGS),
            get64(b, UC_STACK_SIZE),
        ),
    })
}

/// Where the frame and its record go for a handler with flags `flags`, given the
/// interrupted `sp`: (frame address, frame record address), as the kernel's
/// `get_sigframe` computes them.
pub fn frame_position(sp: u64, flags: u64, alt: &AltStack) -> (u64, u64) {
    let top = if flags & SA_ONSTACK != 0 && alt.ss_flags(sp) == 0 {
        alt.sp.wrapping_add(alt.size)
    } else {
        sp
    };
    let record = top.wrapping_sub(frame::RECORD_SIZE as u64) & !15;
    let frame = (record & !15).wrapping_sub(frame::SIZE as u64);
    (frame, record)
}

/// The sigreturn trampoline (`mov x8, #139; svc #0`), mapped into the guest at start-up
/// as an unnamed r-x page (as qemu-aarch64 does); libgcc's unwinder recognises these two
/// words.
pub const TRAMPOLINE_CODE: [u32; 2] = [0xd280_1168, 0xd400_0001];

static TRAMPOLINE: OnceLock<u64> = OnceLock::new();

fn trampoline(process: &Process) -> u64 {
    *TRAMPOLINE.get_or_init(|| {
        let mut mm = process.mm();
        let prot_rw = (libc::PROT_READ | libc::PROT_WRITE) as u64;
        let flags = (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as u64;
        let r = mm.mmap(0, mm::PAGE, prot_rw, flags, u64::MAX, 0);
        if r < 0 {
            return 0;
        }
        let page = r as u64;
        for (i, w) in TRAMPOLINE_CODE.iter().enumerate() {
            // SAFETY: `page` is a fresh private read-write mapping of one page.
            unsafe { std::ptr::write((page as *mut u32).add(i), *w) };
        }
        mm.mprotect(page, mm::PAGE, (libc::PROT_READ | libc::PROT_EXEC) as u64);
        page
    })
}

fn setup_frame(
    process: &Process,
    cpu: &mut Cpu,
    t: &ThreadSignals,
    sig: i32,
    info: &[u64; 16],
    act: &GuestSigaction,
) -> Result<(), BadFrame> {
    let alt = t.alt.get();
    let (frame, record) = frame_position(cpu.x[31], act.flags, &alt);
    let old_mask = t.saved_mask.take().unwrap_or(t.mask.get());
    let fault_code = t.fault_code.get();
    let bytes = build_frame(
        cpu,
        &FrameContents {
            info,
            mask: old_mask,
            stack: alt,
            fault_address: t.fault_address.get(),
            esr: fault_code,
        },
    );
    if guest::write_bytes(frame, &bytes).is_err() {
        t.mask.set(old_mask);
        return Err(BadFrame);
    }
    if alt.flags & SS_AUTODISARM != 0 {
        t.alt.set(AltStack::DISABLED);
    }
    let restorer = if act.flags & SA_RESTORER != 0 {
        act.restorer
    } else {
        trampoline(process)
    };
    cpu.x[0] = sig as u64;
    if act.flags & SA_SIGINFO != 0 {
        cpu.x[1] = frame + frame::INFO as u64;
        cpu.x[2] = frame + frame::UC as u64;
    }
    cpu.x[29] = record;
    cpu.x[30] = restorer;
    cpu.x[31] = frame;
    cpu.pc = act.handler;
    let mut mask = t.mask.get() | act.mask;
    if act.flags & SA_NODEFER == 0 {
        mask |= bit(sig);
    }
    t.mask.set(mask & !UNBLOCKABLE);
    if act.flags & SA_RESETHAND != 0 {
        let reset = GuestSigaction {
            handler: SIG_DFL,
            ..*act
        };
        process.sigaction(sig, Some(reset));
        apply_host_disposition(sig, &reset);
    }
    Ok(())
}

/// `rt_sigreturn`: restore the state saved by the frame at SP. A bad frame raises
/// SIGSEGV (at SP), as the kernel's `arm64_notify_segfault` does.
pub fn sigreturn(process: &Process, cpu: &mut Cpu) {
    let sp = cpu.x[31];
    let restored = if sp & 15 != 0 {
        Err(BadFrame)
    } else {
        guest::read_bytes(sp, frame::SIZE)
            .map_err(|_| BadFrame)
            .and_then(|b| parse_frame(&b))
    };
    let r = match restored {
        Ok(r) => r,
        Err(BadFrame) => {
            let code = if process.mm().find(sp).is_some() {
                SEGV_ACCERR
            } else {
                SEGV_MAPERR
            };
            T.with(|t| {
                t.sync.set(SyncSignal {
                    info: fault_info(libc::SIGSEGV, code, sp),
                    fault: Some((0, 0)),
                });
                t.sync_ready.store(1, Ordering::Release);
            });
            return;
        }
    };
    cpu.x[..31].copy_from_slice(&r.x);
    cpu.x[31] = r.sp;
    cpu.pc = r.pc;
    cpu.nzcv = r.pstate & 0xf000_0000;
    cpu.fpsr = r.fpsr as u64;
    cpu.fpcr = r.fpcr as u64;
    cpu.v = r.v;
    T.with(|t| {
        t.saved_mask.set(None);
        t.mask.set(r.mask & !UNBLOCKABLE);
        sync_host_mask(t);
    });
    // restore_altstack: errors other than EFAULT are ignored (e.g. EPERM when the
    // code returned to still runs on the alternate stack).
    let _ = do_sigaltstack(r.sp, Some(r.stack));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_offsets_match_the_kernel() {
        use frame::*;
        // struct ucontext: uc_flags, uc_link, uc_stack (24), uc_sigmask + pad to 128
        assert_eq!(UC_SIGMASK - UC, 40);
        assert_eq!(MCONTEXT - UC, 176);
        // struct sigcontext: fault_address, regs[31], sp, pc, pstate, __reserved
        assert_eq!(SC_SP - MCONTEXT, 8 + 31 * 8);
        assert_eq!(SC_PC - MCONTEXT, 264);
        assert_eq!(SC_PSTATE - MCONTEXT, 272);
        assert_eq!(SC_RESERVED - MCONTEXT, 288);
        assert_eq!(SC_RESERVED % 16, 0);
        // sizeof(struct rt_sigframe) = 128 + 176 + 288 + 4096
        assert_eq!(SIZE, 4688);
        assert_eq!(SIZE % 16, 0);
        assert_eq!(FPSIMD_SIZE, 8 + 4 + 4 + 32 * 16);
        // libc's view of the same structures on the host agrees where arm64's does
        assert_eq!(std::mem::size_of::<libc::siginfo_t>(), 128);
        assert_eq!(std::mem::size_of::<libc::stack_t>(), 24);
    }

    #[test]
    fn rt_signal_map_is_an_involution() {
        for s in 1..=64 {
            assert_eq!(map_sig(map_sig(s)), s);
            assert_eq!(map_mask(bit(s)), bit(map_sig(s)));
        }
        assert_eq!(map_sig(32), 64);
        assert_eq!(map_sig(33), 63);
        assert_eq!(map_mask(u64::MAX), u64::MAX);
        let m = bit(1) | bit(32) | bit(40) | bit(63);
        assert_eq!(map_mask(map_mask(m)), m);
        // the fault signals are never blocked on the host
        assert_eq!(host_mask_of(u64::MAX) & bit(libc::SIGSEGV), 0);
    }

    fn sample_cpu() -> Box<Cpu> {
        let mut cpu = Cpu::new();
        for r in 0..32 {
            cpu.x[r] = 0x1000 + r as u64;
        }
        cpu.pc = 0x40_1234;
        cpu.nzcv = 0x6000_0000;
        cpu.fpsr = 0x0800_0010;
        cpu.fpcr = 0x0300_0000;
        for i in 0..32 {
            cpu.v[i] = VReg([i as u64, !(i as u64)]);
        }
        cpu
    }

    #[test]
    fn frame_round_trip() {
        let cpu = sample_cpu();
        let info = fault_info(libc::SIGSEGV, SEGV_MAPERR, 0xdead);
        let b = build_frame(
            &cpu,
            &FrameContents {
                info: &info,
                mask: 0x1234,
                stack: AltStack::DISABLED,
                fault_address: 0xdead,
                esr: esr::DABT_LOW | esr::IL | esr::FSC_TRANS_L3,
            },
        );
        assert_eq!(b.len(), frame::SIZE + 16);
        assert_eq!(get32(&b, 0), libc::SIGSEGV as u32);
        assert_eq!(get64(&b, frame::SC_FAULT_ADDRESS), 0xdead);
        assert_eq!(get64(&b, frame::SC_PC), 0x40_1234);
        assert_eq!(get32(&b, frame::UC_STACK_FLAGS), SS_DISABLE);
        // records: fpsimd, esr, terminator
        assert_eq!(get32(&b, frame::SC_RESERVED), frame::FPSIMD_MAGIC);
        assert_eq!(get32(&b, frame::SC_RESERVED + 528), frame::ESR_MAGIC);
        assert_eq!(get64(&b, frame::SC_RESERVED + 544), 0);
        // frame record after the frame: fp, lr
        assert_eq!(get64(&b, frame::SIZE), 0x1000 + 29);
        assert_eq!(get64(&b, frame::SIZE + 8), 0x1000 + 30);
        let r = parse_frame(&b).expect("valid frame");
        assert_eq!(r.x[0], 0x1000);
        assert_eq!(r.x[30], 0x1000 + 30);
        assert_eq!(r.sp, 0x1000 + 31);
        assert_eq!(r.pc, 0x40_1234);
        assert_eq!(r.pstate, 0x6000_0000);
        assert_eq!(r.fpsr, 0x0800_0010);
        assert_eq!(r.fpcr, 0x0300_0000);
        assert_eq!(r.v[7], VReg([7, !7]));
        assert_eq!(r.mask, 0x1234);
    }

    #[test]
    fn bad_frames_are_refused() {
        let cpu = sample_cpu();
        let info = [0u64; 16];
        let c = FrameContents {
            info: &info,
            mask: 0,
            stack: AltStack::DISABLED,
            fault_address: 0,
            esr: 0,
        };
        let good = build_frame(&cpu, &c);
        assert!(parse_frame(&good).is_ok());
        let mut b = good.clone();
        put32(&mut b, frame::SC_RESERVED, 0x1234_5678); // unknown record
        assert!(parse_frame(&b).is_err());
        let mut b = good.clone();
        put32(&mut b, frame::SC_RESERVED + 4, 512); // wrong fpsimd size
        assert!(parse_frame(&b).is_err());
        let mut b = good.clone();
        put32(&mut b, frame::SC_RESERVED, 0); // no fpsimd record at all
        put32(&mut b, frame::SC_RESERVED + 4, 0);
        assert!(parse_frame(&b).is_err());
        let mut b = good.clone();
        put64(&mut b, frame::SC_PSTATE, 0x3c5); // EL1h with DAIF set
        assert!(parse_frame(&b).is_err());
        let mut b = good;
        put64(&mut b, frame::SC_PSTATE, 0x10); // AArch32
        assert!(parse_frame(&b).is_err());
    }

    #[test]
    fn frame_placement() {
        let alt = AltStack {
            sp: 0x10_0000,
            size: 0x1_0000,
            flags: 0,
        };
        // on the normal stack: record just below sp, frame below the record
        let (f, r) = frame_position(0x7fff_0008, 0, &alt);
        assert_eq!(r, 0x7ffe_fff0);
        assert_eq!(f, r - frame::SIZE as u64);
        assert_eq!(f % 16, 0);
        // SA_ONSTACK: at the top of the alternate stack
        let (f, r) = frame_position(0x7fff_0000, SA_ONSTACK, &alt);
        assert_eq!(r, 0x10_fff0);
        assert_eq!(f, 0x10_fff0 - frame::SIZE as u64);
        // already on it: nested frames continue below sp
        let (_, r) = frame_position(0x10_8000, SA_ONSTACK, &alt);
        assert_eq!(r, 0x10_7ff0);
        // disabled alternate stack: normal stack
        let (_, r) = frame_position(0x7fff_0000, SA_ONSTACK, &AltStack::DISABLED);
        assert_eq!(r, 0x7ffe_fff0);
    }

    #[test]
    fn altstack_rules() {
        let alt = AltStack {
            sp: 0x1000,
            size: 0x2000,
            flags: 0,
        };
        assert!(alt.on_stack(0x2000));
        assert!(alt.on_stack(0x3000));
        assert!(!alt.on_stack(0x1000));
        assert_eq!(alt.ss_flags(0x2000), SS_ONSTACK);
        assert_eq!(alt.ss_flags(0x9000), 0);
        assert_eq!(AltStack::DISABLED.ss_flags(0x2000), SS_DISABLE);
        let autodisarm = AltStack {
            flags: SS_AUTODISARM,
            ..alt
        };
        assert!(!autodisarm.on_stack(0x2000));
    }
}
