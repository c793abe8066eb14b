//! Lifters for the load/store exclusive and ordered group and the LSE atomics:
//! LDXR/LDAXR/STXR/STLXR (B, H, W, X), LDXP/LDAXP/STXP/STLXP (W and X pairs),
//! LDAR/STLR (B, H, W, X), CAS/CASP in all orderings (FEAT_LSE), LDADD, LDCLR, LDEOR,
//! LDSET, LDSMAX, LDSMIN, LDUMAX, LDUMIN and SWP in all orderings and sizes (FEAT_LSE,
//! with their ST* aliases), and LDAPR (FEAT_LRCPC).
//!
//! Exclusives follow QEMU's "compare on store" model, which stays correct when several
//! host threads contend: a load-exclusive records in the CPU's [`Monitor`] the address,
//! access size, pair flag and the value(s) it read; a store-exclusive succeeds only if
//! the monitor is armed for the same address and shape *and* a host compare-and-swap
//! (`lock cmpxchg`/`lock cmpxchg16b`) from the recorded value(s) to the new one(s)
//! succeeds. Every store-exclusive clears the monitor. (As in QEMU, a location changed
//! and changed back between the two is not noticed: the ABA case is accepted.)
//!
//! The exclusives, CAS and the atomic memory operations run as Rust helpers on the host
//! address the environment gives for the guest address ([`Cpu::translate`]: user mode
//! maps it 1:1). A misaligned exclusive or atomic access records the architectural
//! alignment fault (a data abort, DFSC 0x21, FAR = the address) in `cpu.exception` and
//! touches nothing; generated code then leaves the block with an exception exit, which
//! user mode turns into SIGBUS (`BUS_ADRALN`) as the arm64 kernel does. LDAR, STLR and LDAPR
//! are inline IR loads/stores with acquire/release ordering (on x86 a release store is
//! an `xchg`, which also gives the RCsc ordering STLR→LDAR needs).
//!
//! Choices for CONSTRAINED UNPREDICTABLE encodings, all permitted by the Arm ARM and
//! matching what `qemu-aarch64` does:
//! - STXR/STXP with Ws equal to Rt/Rt2 or to Rn (Rn ≠ SP): executes; the address and
//!   data are the register values before the status is written, then Ws gets the status.
//! - LDXP/LDAXP with Rt == Rt2: executes; the register gets the second (higher) value.
//! - Should-be-one fields (Rs of LDXR/LDAR/STLR/LDXP, Rt2 of LDXR/STXR/LDAR/STLR) that
//!   are not all ones: ignored, the instruction behaves as if they were.
//!
//! LDLAR/STLLR (FEAT_LOR) are not implemented (the ID registers do not advertise
//! LORegions), so they decode as undefined, as on a CPU without the feature.
//!
//! This module may use `ir`, `arm64::{cpu, decode, disas}` and `libc`.

use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicI16, AtomicI32, AtomicI64, AtomicI8};
use std::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, AtomicU8};

use super::{bit, bits, helper, Flow, LiftError, Lifted, Lifter};
use crate::arm64::cpu::{ec, esr, Cpu, Exception, Monitor};
use crate::arm64::decode::{Class, Encoding};
use crate::arm64::disas;
use crate::ir::{BinOp, Helper, Order, UnOp, W};

#[rustfmt::skip]
pub const ENCODINGS: &[Encoding] = &[
    Encoding::new("STXR/STLXR", "xx001000_000xxxxx_xxxxxxxx_xxxxxxxx", Class::Atomic, lift_stxr, dis_excl),
    Encoding::new("LDXR/LDAXR", "xx001000_010xxxxx_xxxxxxxx_xxxxxxxx", Class::Atomic, lift_ldxr, dis_excl),
    Encoding::new("STXP/STLXP", "1x001000_001xxxxx_xxxxxxxx_xxxxxxxx", Class::Atomic, lift_stxp, dis_excl),
    Encoding::new("LDXP/LDAXP", "1x001000_011xxxxx_xxxxxxxx_xxxxxxxx", Class::Atomic, lift_ldxp, dis_excl),
    Encoding::new("CASP/CASPA/CASPL/CASPAL", "0x001000_0x1xxxxx_x11111xx_xxxxxxxx", Class::Atomic, lift_casp, dis_casp),
    Encoding::new("STLR", "xx001000_100xxxxx_1xxxxxxx_xxxxxxxx", Class::Atomic, lift_stlr, dis_ordered),
    Encoding::new("LDAR", "xx001000_110xxxxx_1xxxxxxx_xxxxxxxx", Class::Atomic, lift_ldar, dis_ordered),
    Encoding::new("CAS/CASA/CASL/CASAL", "xx001000_1x1xxxxx_x11111xx_xxxxxxxx", Class::Atomic, lift_cas, dis_cas),
    Encoding::new("LDADD/LDCLR/LDEOR/LDSET/LDSMAX/LDSMIN/LDUMAX/LDUMIN", "xx111000_xx1xxxxx_0xxx00xx_xxxxxxxx", Class::Atomic, lift_ldop, dis_ldop),
    Encoding::new("SWP", "xx111000_xx1xxxxx_100000xx_xxxxxxxx", Class::Atomic, lift_swp, dis_swp),
    Encoding::new("LDAPR", "xx111000_10111111_110000xx_xxxxxxxx", Class::Atomic, lift_ldapr, dis_ldapr),
];

// ---- field helpers ---------------------------------------------------------------

fn rt(w: u32) -> u32 {
    bits(w, 4, 0)
}
fn rn(w: u32) -> u32 {
    bits(w, 9, 5)
}
fn rt2(w: u32) -> u32 {
    bits(w, 14, 10)
}
fn rs(w: u32) -> u32 {
    bits(w, 20, 16)
}
/// log2 of the access size (bits 31:30).
fn size_log2(w: u32) -> usize {
    bits(w, 31, 30) as usize
}

/// `b`/`h` suffix for byte and halfword forms.
fn size_suffix(w: u32) -> &'static str {
    match bits(w, 31, 30) {
        0 => "b",
        1 => "h",
        _ => "",
    }
}

/// `[xN]` / `[sp]`.
fn base(w: u32) -> String {
    format!("[{}]", disas::rsp(rn(w), true))
}

// ---- the host side: atomic accesses on guest memory ------------------------------

/// The generated code's CPU pointer as the `Cpu` it is.
///
/// # Safety
/// `cpu` must be the `Cpu` pointer generated code passes to every helper.
unsafe fn cpu_of<'a>(cpu: *mut u8) -> &'a mut Cpu {
    // SAFETY: guaranteed by the caller (generated code passes its own `Cpu`).
    unsafe { &mut *(cpu as *mut Cpu) }
}

/// Record the alignment fault an arm64 CPU raises for a misaligned exclusive or atomic
/// access at `addr` (a data abort with DFSC "alignment fault", WnR for accesses that
/// write). The monitor is cleared, as the exception return would clear it. The EC says
/// "from a lower exception level"; an environment running code at EL1 adjusts it when
/// it takes the exception.
#[cold]
fn alignment_fault(cpu: &mut Cpu, addr: u64, write: bool) {
    cpu.monitor.addr = u64::MAX;
    let wnr = if write { esr::WNR } else { 0 };
    cpu.exception = Exception::new(ec::DABT_LOW, esr::FSC_ALIGN | wnr, addr);
}

/// The host address of the `size` bytes at guest `addr` for an exclusive or atomic
/// access, which must be `size`-aligned: `None` with the exception recorded (alignment
/// fault, or whatever the environment's translation raises) otherwise. An environment
/// with a translation of its own checks the alignment itself (it knows the exception
/// level, which the syndrome depends on).
#[inline]
fn guest_access(cpu: &mut Cpu, addr: u64, size: u64, write: bool) -> Option<u64> {
    if cpu.mem_translate.is_none() && addr & (size - 1) != 0 {
        alignment_fault(cpu, addr, write);
        return None;
    }
    cpu.translate(addr, size, write).map(|p| p as u64)
}

fn mask_of(n: u32) -> u64 {
    if n >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * n)) - 1
    }
}

/// Single-copy-atomic load of `n` (1, 2, 4, 8) bytes at `addr`, zero-extended.
///
/// # Safety
/// `addr` is `n`-aligned and is a guest address, which user mode maps 1:1 to host
/// memory. Generated code accesses the same memory with plain x86 instructions; an
/// aligned x86 access is single-copy atomic with respect to them, which is the
/// property relied on. (An unmapped address faults like the guest's own access would,
/// and the fault handler attributes it to the guest PC the helper call stored.)
unsafe fn load_n(n: u32, addr: u64) -> u64 {
    // SAFETY: alignment and validity as documented above.
    unsafe {
        match n {
            1 => AtomicU8::from_ptr(addr as *mut u8).load(SeqCst) as u64,
            2 => AtomicU16::from_ptr(addr as *mut u16).load(SeqCst) as u64,
            4 => AtomicU32::from_ptr(addr as *mut u32).load(SeqCst) as u64,
            _ => AtomicU64::from_ptr(addr as *mut u64).load(SeqCst),
        }
    }
}

/// `lock cmpxchg` of `n` (1, 2, 4, 8) bytes at `addr`: replaces `expected` by `new`
/// (both truncated to `n` bytes) and returns the previous value, zero-extended. The
/// exchange happened iff the result equals the truncated `expected`.
///
/// # Safety
/// As for [`load_n`].
unsafe fn cas_n(n: u32, addr: u64, expected: u64, new: u64) -> u64 {
    fn either<T>(r: Result<T, T>) -> T {
        match r {
            Ok(v) | Err(v) => v,
        }
    }
    // SAFETY: alignment and validity as documented on `load_n`.
    unsafe {
        match n {
            1 => either(AtomicU8::from_ptr(addr as *mut u8).compare_exchange(
                expected as u8,
                new as u8,
                SeqCst,
                SeqCst,
            )) as u64,
            2 => either(AtomicU16::from_ptr(addr as *mut u16).compare_exchange(
                expected as u16,
                new as u16,
                SeqCst,
                SeqCst,
            )) as u64,
            4 => either(AtomicU32::from_ptr(addr as *mut u32).compare_exchange(
                expected as u32,
                new as u32,
                SeqCst,
                SeqCst,
            )) as u64,
            _ => either(
                AtomicU64::from_ptr(addr as *mut u64)
                    .compare_exchange(expected, new, SeqCst, SeqCst),
            ),
        }
    }
}

/// Serialises 128-bit compare-and-swaps on hosts without `cmpxchg16b` (none that run a
/// current Linux, but the instruction is optional in x86-64 v1).
static CAS128_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// 128-bit compare-and-swap at 16-aligned `addr` (`lock cmpxchg16b`): replaces
/// `expected` by `new` and returns the previous contents, as (low, high) 64-bit halves.
///
/// # Safety
/// As for [`load_n`], with 16-byte alignment.
unsafe fn cas_16(addr: u64, expected: (u64, u64), new: (u64, u64)) -> (u64, u64) {
    if std::is_x86_feature_detected!("cmpxchg16b") {
        let (lo, hi): (u64, u64);
        // SAFETY: `addr` is 16-aligned and valid (caller); cmpxchg16b is available.
        // rbx is reserved by LLVM, so the low half of the new value travels in another
        // register and is swapped into rbx around the instruction, then restored.
        unsafe {
            std::arch::asm!(
                "xchg {new_lo}, rbx",
                "lock cmpxchg16b xmmword ptr [{p}]",
                "mov rbx, {new_lo}",
                p = in(reg) addr,
                new_lo = inout(reg) new.0 => _,
                in("rcx") new.1,
                inout("rax") expected.0 => lo,
                inout("rdx") expected.1 => hi,
                options(nostack),
            );
        }
        (lo, hi)
    } else {
        let _g = CAS128_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let p = addr as *mut u64;
        // SAFETY: `addr` is valid and 16-aligned (caller); the lock keeps other 128-bit
        // helpers out (plain guest stores are not excluded: the documented fallback).
        unsafe {
            let old = (p.read_volatile(), p.add(1).read_volatile());
            if old == expected {
                p.write_volatile(new.0);
                p.add(1).write_volatile(new.1);
            }
            old
        }
    }
}

// ---- exclusive helpers -------------------------------------------------------------

/// Arm the monitor.
fn arm(m: &mut Monitor, addr: u64, val: u64, val2: u64, size: u32, pair: bool) {
    *m = Monitor {
        addr,
        val,
        val2,
        size,
        pair: pair as u32,
    };
}

/// Is the monitor armed for this address and access shape? Clears it either way (every
/// store-exclusive does) and returns the recorded values when it was.
fn disarm(m: &mut Monitor, addr: u64, size: u32, pair: bool) -> Option<(u64, u64)> {
    let ok = m.addr == addr && m.size == size && m.pair == pair as u32;
    m.addr = u64::MAX;
    ok.then_some((m.val, m.val2))
}

/// LDXR (`PAIR` = 0) and LDXP of W registers (`SIZE` = 4, `PAIR` = 1, returning both
/// words as one 64-bit value, the first register's in the low half).
unsafe extern "C" fn h_ldx<const SIZE: u32, const PAIR: u32>(
    cpu: *mut u8,
    addr: u64,
    _: u64,
    _: u64,
    _: u64,
) -> u64 {
    let addr = crate::arm64::untag(addr);
    // SAFETY: called from generated code with its CPU pointer.
    let cpu = unsafe { cpu_of(cpu) };
    let total = SIZE * (1 + PAIR);
    let Some(host) = guest_access(cpu, addr, total as u64, false) else {
        return 0;
    };
    // SAFETY: aligned (checked) guest address; see `load_n`.
    let v = unsafe { load_n(total, host) };
    arm(&mut cpu.monitor, addr, v, 0, SIZE, PAIR != 0);
    v
}

/// STXR and STXP of W registers (`val` holds both words): status 0 on success, 1 on
/// failure.
unsafe extern "C" fn h_stx<const SIZE: u32, const PAIR: u32>(
    cpu: *mut u8,
    addr: u64,
    val: u64,
    _: u64,
    _: u64,
) -> u64 {
    let addr = crate::arm64::untag(addr);
    // SAFETY: called from generated code with its CPU pointer.
    let cpu = unsafe { cpu_of(cpu) };
    let total = SIZE * (1 + PAIR);
    let Some(host) = guest_access(cpu, addr, total as u64, true) else {
        return 1;
    };
    let Some((expected, _)) = disarm(&mut cpu.monitor, addr, SIZE, PAIR != 0) else {
        return 1;
    };
    // SAFETY: aligned (checked) guest address; see `load_n`.
    let old = unsafe { cas_n(total, host, expected, val) };
    (old != expected & mask_of(total)) as u64
}

/// LDXP of X registers: returns the first, leaves the second in the monitor (read it
/// with [`h_monitor_hi`]).
unsafe extern "C" fn h_ldxp_x(cpu: *mut u8, addr: u64, _: u64, _: u64, _: u64) -> u64 {
    let addr = crate::arm64::untag(addr);
    // SAFETY: called from generated code with its CPU pointer.
    let cpu = unsafe { cpu_of(cpu) };
    let Some(host) = guest_access(cpu, addr, 16, false) else {
        return 0;
    };
    // SAFETY: aligned (checked) guest address; see `load_n`. The two halves are read
    // separately: a successful STXP compares all 128 bits, which is what makes the pair
    // single-copy atomic.
    let (lo, hi) = unsafe { (load_n(8, host), load_n(8, host + 8)) };
    arm(&mut cpu.monitor, addr, lo, hi, 8, true);
    lo
}

/// The second value recorded by the last LDXP of X registers.
unsafe extern "C" fn h_monitor_hi(cpu: *mut u8, _: u64, _: u64, _: u64, _: u64) -> u64 {
    // SAFETY: called from generated code with its CPU pointer.
    unsafe { cpu_of(cpu) }.monitor.val2
}

/// STXP of X registers.
unsafe extern "C" fn h_stxp_x(cpu: *mut u8, addr: u64, lo: u64, hi: u64, _: u64) -> u64 {
    let addr = crate::arm64::untag(addr);
    // SAFETY: called from generated code with its CPU pointer.
    let cpu = unsafe { cpu_of(cpu) };
    let Some(host) = guest_access(cpu, addr, 16, true) else {
        return 1;
    };
    let Some(expected) = disarm(&mut cpu.monitor, addr, 8, true) else {
        return 1;
    };
    // SAFETY: aligned (checked) guest address; see `cas_16`.
    let old = unsafe { cas_16(host, expected, (lo, hi)) };
    (old != expected) as u64
}

const LDXR: [Helper; 4] = [
    helper("ldxrb", h_ldx::<1, 0>),
    helper("ldxrh", h_ldx::<2, 0>),
    helper("ldxr_w", h_ldx::<4, 0>),
    helper("ldxr_x", h_ldx::<8, 0>),
];
const STXR: [Helper; 4] = [
    helper("stxrb", h_stx::<1, 0>),
    helper("stxrh", h_stx::<2, 0>),
    helper("stxr_w", h_stx::<4, 0>),
    helper("stxr_x", h_stx::<8, 0>),
];
const LDXP_W: Helper = helper("ldxp_w", h_ldx::<4, 1>);
const STXP_W: Helper = helper("stxp_w", h_stx::<4, 1>);
const LDXP_X: Helper = helper("ldxp_x", h_ldxp_x);
const LDXP_X_HI: Helper = helper("ldxp_x_hi", h_monitor_hi);
const STXP_X: Helper = helper("stxp_x", h_stxp_x);

// ---- CAS helpers -------------------------------------------------------------------

/// CAS of `SIZE` bytes (also CASP of W registers with `SIZE` = 8): returns the old value.
unsafe extern "C" fn h_cas<const SIZE: u32>(
    cpu: *mut u8,
    addr: u64,
    expected: u64,
    new: u64,
    _: u64,
) -> u64 {
    let addr = crate::arm64::untag(addr);
    // SAFETY: called from generated code with its CPU pointer.
    let cpu = unsafe { cpu_of(cpu) };
    let Some(host) = guest_access(cpu, addr, SIZE as u64, true) else {
        return 0;
    };
    // SAFETY: aligned (checked) guest address; see `load_n`.
    unsafe { cas_n(SIZE, host, expected, new) }
}

/// CASP of X registers. Five inputs do not fit a helper call, so this one reads
/// Xs, Xs+1, Xt, Xt+1 (register numbers `rs`, `rt`, even; 31 is XZR) from the CPU
/// state and writes the old memory contents back to Xs, Xs+1 itself (the IR contract
/// lets side-effecting helpers access guest registers).
unsafe extern "C" fn h_casp_x(cpu: *mut u8, addr: u64, rs: u64, rt: u64, _: u64) -> u64 {
    let addr = crate::arm64::untag(addr);
    // SAFETY: called from generated code with its CPU pointer.
    let cpu = unsafe { cpu_of(cpu) };
    let Some(host) = guest_access(cpu, addr, 16, true) else {
        return 0;
    };
    let (rs, rt) = (rs as u32, rt as u32);
    let expected = (cpu.xreg(rs), cpu.xreg(rs + 1));
    let new = (cpu.xreg(rt), cpu.xreg(rt + 1));
    // SAFETY: aligned (checked) guest address; see `cas_16`.
    let old = unsafe { cas_16(host, expected, new) };
    cpu.set_xreg(rs, old.0);
    cpu.set_xreg(rs + 1, old.1);
    0
}

const CAS: [Helper; 4] = [
    helper("casb", h_cas::<1>),
    helper("cash", h_cas::<2>),
    helper("cas_w", h_cas::<4>),
    helper("cas_x", h_cas::<8>),
];
const CASP_X: Helper = helper("casp_x", h_casp_x);

// ---- atomic memory operation helpers ----------------------------------------------

const OP_ADD: u32 = 0;
const OP_CLR: u32 = 1;
const OP_EOR: u32 = 2;
const OP_SET: u32 = 3;
const OP_SMAX: u32 = 4;
const OP_SMIN: u32 = 5;
const OP_UMAX: u32 = 6;
const OP_UMIN: u32 = 7;
const OP_SWP: u32 = 8;

macro_rules! rmw {
    ($au:ty, $as:ty, $u:ty, $s:ty, $addr:expr, $v:expr) => {{
        let p = $addr as *mut $u;
        let v = $v as $u;
        // SAFETY: `p` is aligned (checked by the caller) and a guest address mapped 1:1
        // to host memory; see `load_n`.
        let a = unsafe { <$au>::from_ptr(p) };
        // SAFETY: as above; the signed view is the same memory.
        let sa = || unsafe { <$as>::from_ptr(p as *mut $s) };
        let old: $u = match OP {
            OP_ADD => a.fetch_add(v, SeqCst),
            OP_CLR => a.fetch_and(!v, SeqCst),
            OP_EOR => a.fetch_xor(v, SeqCst),
            OP_SET => a.fetch_or(v, SeqCst),
            OP_SMAX => sa().fetch_max(v as $s, SeqCst) as $u,
            OP_SMIN => sa().fetch_min(v as $s, SeqCst) as $u,
            OP_UMAX => a.fetch_max(v, SeqCst),
            OP_UMIN => a.fetch_min(v, SeqCst),
            _ => a.swap(v, SeqCst),
        };
        old as u64
    }};
}

/// An atomic read-modify-write of `SIZE` bytes at `addr` with operand `v`: returns the
/// old value, zero-extended. All orderings are sequentially consistent (x86 `lock`).
unsafe extern "C" fn h_rmw<const OP: u32, const SIZE: u32>(
    cpu: *mut u8,
    addr: u64,
    v: u64,
    _: u64,
    _: u64,
) -> u64 {
    let addr = crate::arm64::untag(addr);
    // SAFETY: called from generated code with its CPU pointer.
    let cpu = unsafe { cpu_of(cpu) };
    let Some(host) = guest_access(cpu, addr, SIZE as u64, true) else {
        return 0;
    };
    match SIZE {
        1 => rmw!(AtomicU8, AtomicI8, u8, i8, host, v),
        2 => rmw!(AtomicU16, AtomicI16, u16, i16, host, v),
        4 => rmw!(AtomicU32, AtomicI32, u32, i32, host, v),
        _ => rmw!(AtomicU64, AtomicI64, u64, i64, host, v),
    }
}

macro_rules! rmw_row {
    ($op:expr, $name:literal) => {
        [
            helper(concat!($name, "b"), h_rmw::<{ $op }, 1>),
            helper(concat!($name, "h"), h_rmw::<{ $op }, 2>),
            helper(concat!($name, "_w"), h_rmw::<{ $op }, 4>),
            helper(concat!($name, "_x"), h_rmw::<{ $op }, 8>),
        ]
    };
}

/// Indexed by [operation][log2 size].
const RMW: [[Helper; 4]; 9] = [
    rmw_row!(OP_ADD, "ldadd"),
    rmw_row!(OP_CLR, "ldclr"),
    rmw_row!(OP_EOR, "ldeor"),
    rmw_row!(OP_SET, "ldset"),
    rmw_row!(OP_SMAX, "ldsmax"),
    rmw_row!(OP_SMIN, "ldsmin"),
    rmw_row!(OP_UMAX, "ldumax"),
    rmw_row!(OP_UMIN, "ldumin"),
    rmw_row!(OP_SWP, "swp"),
];

// ---- lifters -----------------------------------------------------------------------

fn lift_ldxr(l: &mut Lifter, w: u32) -> Lifted {
    let addr = l.xsp(rn(w));
    let v = l.b.call(LDXR[size_log2(w)], &[addr]);
    // The helper zero-extends, which is what a W (or B/H) destination needs.
    l.set_x(W::W64, rt(w), v);
    Ok(Flow::Next)
}

fn lift_stxr(l: &mut Lifter, w: u32) -> Lifted {
    let addr = l.xsp(rn(w));
    let val = l.x(rt(w));
    let status = l.b.call(STXR[size_log2(w)], &[addr, val]);
    l.set_x(W::W64, rs(w), status);
    Ok(Flow::Next)
}

fn lift_ldxp(l: &mut Lifter, w: u32) -> Lifted {
    let addr = l.xsp(rn(w));
    let (first, second) = if bit(w, 30) == 0 {
        let v = l.b.call(LDXP_W, &[addr]);
        let lo = l.b.un(UnOp::Zext32, W::W64, v);
        let k = l.konst(32);
        let hi = l.b.bin(BinOp::Lshr, W::W64, v, k);
        (lo, hi)
    } else {
        let lo = l.b.call(LDXP_X, &[addr]);
        let hi = l.b.call(LDXP_X_HI, &[]);
        (lo, hi)
    };
    // Rt == Rt2 (CONSTRAINED UNPREDICTABLE): the second value wins, as in QEMU.
    l.set_x(W::W64, rt(w), first);
    l.set_x(W::W64, rt2(w), second);
    Ok(Flow::Next)
}

fn lift_stxp(l: &mut Lifter, w: u32) -> Lifted {
    let addr = l.xsp(rn(w));
    let a = l.x(rt(w));
    let b = l.x(rt2(w));
    let status = if bit(w, 30) == 0 {
        let v = concat32(l, a, b);
        l.b.call(STXP_W, &[addr, v])
    } else {
        l.b.call(STXP_X, &[addr, a, b])
    };
    l.set_x(W::W64, rs(w), status);
    Ok(Flow::Next)
}

/// `lo<31:0> | hi<31:0> << 32`: a pair of W registers as they sit in memory.
fn concat32(l: &mut Lifter, lo: crate::ir::Val, hi: crate::ir::Val) -> crate::ir::Val {
    let lo = l.b.un(UnOp::Zext32, W::W64, lo);
    let k = l.konst(32);
    let hi = l.b.shl(W::W64, hi, k);
    l.b.or(W::W64, lo, hi)
}

fn lift_ldar(l: &mut Lifter, w: u32) -> Lifted {
    let addr = l.xsp(rn(w));
    let v = l.b.load(1 << size_log2(w), false, addr, Order::Acquire);
    l.set_x(W::W64, rt(w), v);
    Ok(Flow::Next)
}

fn lift_stlr(l: &mut Lifter, w: u32) -> Lifted {
    let addr = l.xsp(rn(w));
    let v = l.x(rt(w));
    l.b.store(1 << size_log2(w), addr, v, Order::Release);
    Ok(Flow::Next)
}

fn lift_cas(l: &mut Lifter, w: u32) -> Lifted {
    if !l.features.lse {
        return Err(LiftError::Undefined);
    }
    let addr = l.xsp(rn(w));
    let expected = l.x(rs(w));
    let new = l.x(rt(w));
    let old = l.b.call(CAS[size_log2(w)], &[addr, expected, new]);
    l.set_x(W::W64, rs(w), old);
    Ok(Flow::Next)
}

fn lift_casp(l: &mut Lifter, w: u32) -> Lifted {
    let (s, t) = (rs(w), rt(w));
    if !l.features.lse || s & 1 == 1 || t & 1 == 1 {
        return Err(LiftError::Undefined);
    }
    let addr = l.xsp(rn(w));
    if bit(w, 30) == 0 {
        let s0 = l.x(s);
        let s1 = l.x(s + 1);
        let t0 = l.x(t);
        let t1 = l.x(t + 1);
        let expected = concat32(l, s0, s1);
        let new = concat32(l, t0, t1);
        let old = l.b.call(CAS[3], &[addr, expected, new]);
        let lo = l.b.un(UnOp::Zext32, W::W64, old);
        let k = l.konst(32);
        let hi = l.b.bin(BinOp::Lshr, W::W64, old, k);
        l.set_x(W::W64, s, lo);
        l.set_x(W::W64, s + 1, hi);
    } else {
        let rs_k = l.konst(s as u64);
        let rt_k = l.konst(t as u64);
        l.b.call(CASP_X, &[addr, rs_k, rt_k]);
    }
    Ok(Flow::Next)
}

fn lift_ldop(l: &mut Lifter, w: u32) -> Lifted {
    if !l.features.lse {
        return Err(LiftError::Undefined);
    }
    rmw(l, w, bits(w, 14, 12) as usize)
}

fn lift_swp(l: &mut Lifter, w: u32) -> Lifted {
    if !l.features.lse {
        return Err(LiftError::Undefined);
    }
    rmw(l, w, OP_SWP as usize)
}

fn rmw(l: &mut Lifter, w: u32, op: usize) -> Lifted {
    let addr = l.xsp(rn(w));
    let v = l.x(rs(w));
    let old = l.b.call(RMW[op][size_log2(w)], &[addr, v]);
    l.set_x(W::W64, rt(w), old);
    Ok(Flow::Next)
}

fn lift_ldapr(l: &mut Lifter, w: u32) -> Lifted {
    if !l.features.rcpc {
        return Err(LiftError::Undefined);
    }
    lift_ldar(l, w)
}

// ---- disassembly -------------------------------------------------------------------

/// STXR, LDXR, STXP, LDXP and their acquire/release forms.
fn dis_excl(w: u32, _pc: u64) -> String {
    let load = bit(w, 22) == 1;
    let pair = bit(w, 21) == 1;
    let ord = bit(w, 15) == 1;
    let x = if pair {
        bit(w, 30) == 1
    } else {
        size_log2(w) == 3
    };
    let m = format!(
        "{}{}x{}{}",
        if load { "ld" } else { "st" },
        match (ord, load) {
            (false, _) => "",
            (true, true) => "a",
            (true, false) => "l",
        },
        if pair { "p" } else { "r" },
        if pair { "" } else { size_suffix(w) },
    );
    let mut ops = Vec::new();
    if !load {
        ops.push(disas::r(rs(w), false));
    }
    ops.push(disas::r(rt(w), x));
    if pair {
        ops.push(disas::r(rt2(w), x));
    }
    ops.push(base(w));
    format!("{m} {}", ops.join(", "))
}

/// LDAR and STLR.
fn dis_ordered(w: u32, _pc: u64) -> String {
    let m = if bit(w, 22) == 1 { "ldar" } else { "stlr" };
    dis_single(m, w)
}

fn dis_ldapr(w: u32, _pc: u64) -> String {
    dis_single("ldapr", w)
}

fn dis_single(m: &str, w: u32) -> String {
    format!(
        "{m}{} {}, {}",
        size_suffix(w),
        disas::r(rt(w), size_log2(w) == 3),
        base(w)
    )
}

/// `a`, `l` or `al` from an acquire bit and a release bit.
fn ordering(acquire: bool, release: bool) -> &'static str {
    match (acquire, release) {
        (false, false) => "",
        (true, false) => "a",
        (false, true) => "l",
        (true, true) => "al",
    }
}

fn dis_cas(w: u32, _pc: u64) -> String {
    let x = size_log2(w) == 3;
    format!(
        "cas{}{} {}, {}, {}",
        ordering(bit(w, 22) == 1, bit(w, 15) == 1),
        size_suffix(w),
        disas::r(rs(w), x),
        disas::r(rt(w), x),
        base(w)
    )
}

fn dis_casp(w: u32, _pc: u64) -> String {
    let (s, t) = (rs(w), rt(w));
    if s & 1 == 1 || t & 1 == 1 {
        return format!(".inst {w:#010x} ; undefined");
    }
    let x = bit(w, 30) == 1;
    format!(
        "casp{} {}, {}, {}, {}, {}",
        ordering(bit(w, 22) == 1, bit(w, 15) == 1),
        disas::r(s, x),
        disas::r(s + 1, x),
        disas::r(t, x),
        disas::r(t + 1, x),
        base(w)
    )
}

const LDOP_NAMES: [&str; 8] = ["add", "clr", "eor", "set", "smax", "smin", "umax", "umin"];

fn dis_ldop(w: u32, _pc: u64) -> String {
    let x = size_log2(w) == 3;
    let op = LDOP_NAMES[bits(w, 14, 12) as usize];
    let acquire = bit(w, 23) == 1;
    let release = bit(w, 22) == 1;
    if rt(w) == 31 && !acquire {
        // ST<op>{L}: the alias when the old value is discarded without acquire.
        format!(
            "st{op}{}{} {}, {}",
            ordering(false, release),
            size_suffix(w),
            disas::r(rs(w), x),
            base(w)
        )
    } else {
        format!(
            "ld{op}{}{} {}, {}, {}",
            ordering(acquire, release),
            size_suffix(w),
            disas::r(rs(w), x),
            disas::r(rt(w), x),
            base(w)
        )
    }
}

fn dis_swp(w: u32, _pc: u64) -> String {
    let x = size_log2(w) == 3;
    format!(
        "swp{}{} {}, {}, {}",
        ordering(bit(w, 23) == 1, bit(w, 22) == 1),
        size_suffix(w),
        disas::r(rs(w), x),
        disas::r(rt(w), x),
        base(w)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arm64::decode;
    use crate::arm64::lift::CpuFeatures;
    use crate::engine::testing::{run, run_ok, run_with, END_BRK};
    use crate::engine::Exit;

    // ---- encoders (checked against the disassembly table below) --------------------

    fn ldxr(size: u32, acq: u32, rn: u32, rt: u32) -> u32 {
        size << 30 | 0x085f_7c00 | acq << 15 | rn << 5 | rt
    }
    fn stxr(size: u32, rel: u32, rs: u32, rn: u32, rt: u32) -> u32 {
        size << 30 | 0x0800_7c00 | rs << 16 | rel << 15 | rn << 5 | rt
    }
    fn ldxp(sz: u32, acq: u32, rn: u32, rt: u32, rt2: u32) -> u32 {
        0x887f_0000 | sz << 30 | acq << 15 | rt2 << 10 | rn << 5 | rt
    }
    fn stxp(sz: u32, rel: u32, rs: u32, rn: u32, rt: u32, rt2: u32) -> u32 {
        0x8820_0000 | sz << 30 | rs << 16 | rel << 15 | rt2 << 10 | rn << 5 | rt
    }
    fn ldar(size: u32, rn: u32, rt: u32) -> u32 {
        size << 30 | 0x08df_fc00 | rn << 5 | rt
    }
    fn stlr(size: u32, rn: u32, rt: u32) -> u32 {
        size << 30 | 0x089f_fc00 | rn << 5 | rt
    }
    fn ldapr(size: u32, rn: u32, rt: u32) -> u32 {
        size << 30 | 0x38bf_c000 | rn << 5 | rt
    }
    fn cas(size: u32, acq: u32, rel: u32, rs: u32, rn: u32, rt: u32) -> u32 {
        size << 30 | 0x08a0_7c00 | acq << 22 | rs << 16 | rel << 15 | rn << 5 | rt
    }
    fn casp(sz: u32, acq: u32, rel: u32, rs: u32, rn: u32, rt: u32) -> u32 {
        sz << 30 | 0x0820_7c00 | acq << 22 | rs << 16 | rel << 15 | rn << 5 | rt
    }
    fn ldop(size: u32, ord: u32, opc: u32, rs: u32, rn: u32, rt: u32) -> u32 {
        size << 30 | 0x3820_0000 | ord << 22 | rs << 16 | opc << 12 | rn << 5 | rt
    }
    fn swp(size: u32, ord: u32, rs: u32, rn: u32, rt: u32) -> u32 {
        ldop(size, ord, 0, rs, rn, rt) | 0x8000
    }
    const CLREX: u32 = 0xd503_305f;

    /// A 16-byte-aligned scratch buffer the guest code works on.
    #[repr(C, align(16))]
    struct Buf([u64; 4]);

    impl Buf {
        fn new(v: [u64; 4]) -> Box<Buf> {
            Box::new(Buf(v))
        }
        fn addr(&mut self) -> u64 {
            self.0.as_mut_ptr() as u64
        }
        fn get(&self, i: usize) -> u64 {
            // SAFETY: in bounds; generated code wrote it through a raw pointer.
            unsafe { std::ptr::read_volatile(&self.0[i]) }
        }
    }

    fn no_lse() -> CpuFeatures {
        CpuFeatures {
            lse: false,
            rcpc: false,
            ..CpuFeatures::default()
        }
    }

    // ---- disassembly ---------------------------------------------------------------

    /// Expected text from `aarch64-linux-gnu-objdump -d` (tab replaced by a space).
    const OBJDUMP: &[(u32, &str)] = &[
        (0xc8037c01, "stxr w3, x1, [x0]"),
        (0x08037fe1, "stxrb w3, w1, [sp]"),
        (0x4803fc01, "stlxrh w3, w1, [x0]"),
        (0x8803fc01, "stlxr w3, w1, [x0]"),
        (0xc85f7c01, "ldxr x1, [x0]"),
        (0x085ffc01, "ldaxrb w1, [x0]"),
        (0x485f7fe1, "ldxrh w1, [sp]"),
        (0xc8240801, "stxp w4, x1, x2, [x0]"),
        (0x88248801, "stlxp w4, w1, w2, [x0]"),
        (0xc87f0801, "ldxp x1, x2, [x0]"),
        (0x887f8be1, "ldaxp w1, w2, [sp]"),
        (0xc89ffc01, "stlr x1, [x0]"),
        (0x089ffc01, "stlrb w1, [x0]"),
        (0x489fffe1, "stlrh w1, [sp]"),
        (0x88dffc01, "ldar w1, [x0]"),
        (0x08dffc01, "ldarb w1, [x0]"),
        (0x48dffc01, "ldarh w1, [x0]"),
        (0x88a17c02, "cas w1, w2, [x0]"),
        (0xc8e17fe2, "casa x1, x2, [sp]"),
        (0x88a1fc02, "casl w1, w2, [x0]"),
        (0xc8e1fc02, "casal x1, x2, [x0]"),
        (0x08a17c02, "casb w1, w2, [x0]"),
        (0x08e17c02, "casab w1, w2, [x0]"),
        (0x48a1fc02, "caslh w1, w2, [x0]"),
        (0x48e1fc02, "casalh w1, w2, [x0]"),
        (0x48207c82, "casp x0, x1, x2, x3, [x4]"),
        (0x0860ffe2, "caspal w0, w1, w2, w3, [sp]"),
        (0x48607c82, "caspa x0, x1, x2, x3, [x4]"),
        (0x483efc82, "caspl x30, xzr, x2, x3, [x4]"),
        (0xb8210002, "ldadd w1, w2, [x0]"),
        (0xf8e10002, "ldaddal x1, x2, [x0]"),
        (0x38210002, "ldaddb w1, w2, [x0]"),
        (0x78610002, "ldaddlh w1, w2, [x0]"),
        (0xb8a11002, "ldclra w1, w2, [x0]"),
        (0xf8612002, "ldeorl x1, x2, [x0]"),
        (0xb8213002, "ldset w1, w2, [x0]"),
        (0xb8214002, "ldsmax w1, w2, [x0]"),
        (0x38a15002, "ldsminab w1, w2, [x0]"),
        (0x78216002, "ldumaxh w1, w2, [x0]"),
        (0xf8217002, "ldumin x1, x2, [x0]"),
        (0xb821001f, "stadd w1, [x0]"),
        (0xf861001f, "staddl x1, [x0]"),
        (0xb8a1001f, "ldadda w1, wzr, [x0]"),
        (0x3821101f, "stclrb w1, [x0]"),
        (0x7861401f, "stsmaxlh w1, [x0]"),
        (0xb8218002, "swp w1, w2, [x0]"),
        (0xf8e183e2, "swpal x1, x2, [sp]"),
        (0x3821801f, "swpb w1, wzr, [x0]"),
        (0x78618002, "swplh w1, w2, [x0]"),
        (0xf8bfc001, "ldapr x1, [x0]"),
        (0x38bfc001, "ldaprb w1, [x0]"),
        (0x78bfc3e1, "ldaprh w1, [sp]"),
        (0xb8bfc001, "ldapr w1, [x0]"),
        // Should-be-one fields that are not all ones.
        (0x88407c01, "ldxr w1, [x0]"),
        (0x885f0001, "ldxr w1, [x0]"),
        (0xc89ff001, "stlr x1, [x0]"),
        // CAS with Rs == Rt.
        (0x88a0fc01, "casl w0, w1, [x0]"),
        (0x48a07c01, "cash w0, w1, [x0]"),
        (0x08a17c01, "casb w1, w1, [x0]"),
        // CASP with odd registers.
        (0x48217c82, ".inst 0x48217c82 ; undefined"),
        (0x48207c83, ".inst 0x48207c83 ; undefined"),
        (0x08207c82, "casp w0, w1, w2, w3, [x4]"),
        (0x48207c02, "casp x0, x1, x2, x3, [x0]"),
    ];

    #[test]
    fn disassembly_matches_objdump() {
        for &(w, text) in OBJDUMP {
            let e = decode::decode(w).unwrap_or_else(|| panic!("{w:#010x} does not decode"));
            assert_eq!(e.class, Class::Atomic, "{w:#010x} decodes as {}", e.name);
            assert_eq!((e.disas)(w, 0), text, "{w:#010x}");
        }
        // Unallocated: LDAPR with Rs != 11111, o3=1 with opc=111, CAS with Rt2 != 11111,
        // LDLAR/STLLR (FEAT_LOR, not implemented).
        for w in [
            0xb8a1c001u32,
            0xb8a0f001,
            0x48207883,
            0x88a07801,
            0xc8df7c01,
            0x889f7c01,
        ] {
            assert!(
                decode::decode(w).is_none_or(|e| e.class != Class::Atomic),
                "{w:#010x} must not decode as an atomic"
            );
        }
    }

    #[test]
    fn encoders_agree_with_objdump() {
        assert_eq!(stxr(3, 0, 3, 0, 1), 0xc8037c01);
        assert_eq!(ldxr(0, 1, 0, 1), 0x085ffc01);
        assert_eq!(stxp(1, 0, 4, 0, 1, 2), 0xc8240801);
        assert_eq!(ldxp(0, 1, 31, 1, 2), 0x887f8be1);
        assert_eq!(stlr(0, 0, 1), 0x089ffc01);
        assert_eq!(ldar(2, 0, 1), 0x88dffc01);
        assert_eq!(ldapr(1, 31, 1), 0x78bfc3e1);
        assert_eq!(cas(1, 1, 1, 1, 0, 2), 0x48e1fc02);
        assert_eq!(casp(0, 1, 1, 0, 31, 2), 0x0860ffe2);
        assert_eq!(ldop(0, 2, 5, 1, 0, 2), 0x38a15002);
        assert_eq!(swp(3, 3, 1, 31, 2), 0xf8e183e2);
    }

    // ---- exclusives ----------------------------------------------------------------

    #[test]
    fn ldxr_stxr_success() {
        for (size, acq_rel) in [(3u32, 0u32), (3, 1), (2, 0), (2, 1), (1, 0), (0, 1)] {
            let mut buf = Buf::new([0x8877_6655_4433_2211, 0, 0, 0]);
            let mut cpu = Cpu::new();
            cpu.x[0] = buf.addr();
            cpu.x[1] = 0xdead_beef_dead_beef;
            cpu.x[3] = 0xaaaa_bbbb_cccc_dddd;
            cpu.x[2] = 77;
            run_ok(
                &[ldxr(size, acq_rel, 0, 1), stxr(size, acq_rel, 2, 0, 3)],
                &mut cpu,
            );
            let m = mask_of(1 << size);
            assert_eq!(cpu.x[1], 0x8877_6655_4433_2211 & m, "size {size}");
            assert_eq!(cpu.x[2], 0, "status, size {size}");
            assert_eq!(
                buf.get(0),
                (0x8877_6655_4433_2211 & !m) | (0xaaaa_bbbb_cccc_dddd & m)
            );
            assert_eq!(cpu.monitor.addr, u64::MAX, "STXR clears the monitor");
        }
    }

    #[test]
    fn ldxr_stxr_on_sp_base() {
        let mut buf = Buf::new([5, 0, 0, 0]);
        let mut cpu = Cpu::new();
        cpu.x[31] = buf.addr();
        cpu.x[3] = 6;
        run_ok(&[ldxr(3, 0, 31, 1), stxr(3, 0, 2, 31, 3)], &mut cpu);
        assert_eq!((cpu.x[1], cpu.x[2], buf.get(0)), (5, 0, 6));
    }

    #[test]
    fn stxr_fails_without_ldxr_or_after_clrex() {
        let mut buf = Buf::new([1, 0, 0, 0]);
        let mut cpu = Cpu::new();
        cpu.x[0] = buf.addr();
        cpu.x[3] = 9;
        run_ok(&[stxr(3, 0, 2, 0, 3)], &mut cpu);
        assert_eq!((cpu.x[2], buf.get(0)), (1, 1));

        let mut cpu = Cpu::new();
        cpu.x[0] = buf.addr();
        cpu.x[3] = 9;
        run_ok(&[ldxr(3, 0, 0, 1), CLREX, stxr(3, 0, 2, 0, 3)], &mut cpu);
        assert_eq!((cpu.x[2], buf.get(0)), (1, 1));

        // A second STXR after a successful one fails: the monitor was cleared.
        let mut cpu = Cpu::new();
        cpu.x[0] = buf.addr();
        cpu.x[3] = 9;
        cpu.x[4] = 10;
        run_ok(
            &[ldxr(3, 0, 0, 1), stxr(3, 0, 2, 0, 3), stxr(3, 0, 5, 0, 4)],
            &mut cpu,
        );
        assert_eq!((cpu.x[2], cpu.x[5], buf.get(0)), (0, 1, 9));
    }

    #[test]
    fn stxr_fails_when_memory_changed() {
        let mut buf = Buf::new([1, 0, 0, 0]);
        let mut cpu = Cpu::new();
        cpu.x[0] = buf.addr();
        cpu.x[3] = 9;
        run_ok(&[ldxr(3, 0, 0, 1)], &mut cpu);
        buf.0[0] = 2; // another agent writes
        run_ok(&[stxr(3, 0, 2, 0, 3)], &mut cpu);
        assert_eq!((cpu.x[1], cpu.x[2], buf.get(0)), (1, 1, 2));

        // The same with the write done by the guest itself in between (STLR).
        let mut cpu = Cpu::new();
        cpu.x[0] = buf.addr();
        cpu.x[3] = 9;
        cpu.x[4] = 3;
        run_ok(
            &[ldxr(3, 0, 0, 1), stlr(3, 0, 4), stxr(3, 0, 2, 0, 3)],
            &mut cpu,
        );
        assert_eq!((cpu.x[1], cpu.x[2], buf.get(0)), (2, 1, 3));
    }

    #[test]
    fn stxr_fails_for_other_address_or_size() {
        let mut buf = Buf::new([1, 2, 0, 0]);
        let mut cpu = Cpu::new();
        cpu.x[0] = buf.addr();
        cpu.x[4] = buf.addr() + 8;
        cpu.x[3] = 9;
        run_ok(&[ldxr(3, 0, 0, 1), stxr(3, 0, 2, 4, 3)], &mut cpu);
        assert_eq!((cpu.x[2], buf.get(0), buf.get(1)), (1, 1, 2));
        // LDXR (64-bit) then STXR W at the same address.
        let mut cpu = Cpu::new();
        cpu.x[0] = buf.addr();
        cpu.x[3] = 9;
        run_ok(&[ldxr(3, 0, 0, 1), stxr(2, 0, 2, 0, 3)], &mut cpu);
        assert_eq!((cpu.x[2], buf.get(0)), (1, 1));
    }

    #[test]
    fn stxr_status_register_overlaps() {
        // stxr w1, x1, [x0] (Ws == Rt): stores the old X1, then X1 = status.
        let mut buf = Buf::new([4, 0, 0, 0]);
        let mut cpu = Cpu::new();
        cpu.x[0] = buf.addr();
        cpu.x[1] = 0x1234_5678_9abc_def0;
        run_ok(&[ldxr(3, 0, 0, 5), stxr(3, 0, 1, 0, 1)], &mut cpu);
        assert_eq!((cpu.x[1], buf.get(0)), (0, 0x1234_5678_9abc_def0));
        // stxr w0, x2, [x0] (Ws == Rn): the address is read first.
        let mut cpu = Cpu::new();
        let a = buf.addr();
        cpu.x[0] = a;
        cpu.x[2] = 77;
        run_ok(&[ldxr(3, 0, 0, 5), stxr(3, 0, 0, 0, 2)], &mut cpu);
        assert_eq!((cpu.x[0], buf.get(0)), (0, 77));
        // The status is written as a W register (upper half cleared).
        let mut cpu = Cpu::new();
        cpu.x[0] = a;
        cpu.x[2] = u64::MAX;
        run_ok(&[stxr(3, 0, 2, 0, 2)], &mut cpu);
        assert_eq!(cpu.x[2], 1);
    }

    #[test]
    fn exclusive_pairs() {
        // W pair.
        let mut buf = Buf::new([0x2222_2222_1111_1111, 0, 0, 0]);
        let mut cpu = Cpu::new();
        cpu.x[0] = buf.addr();
        cpu.x[1] = u64::MAX;
        cpu.x[2] = u64::MAX;
        cpu.x[5] = 0xffff_ffff_aaaa_aaaa;
        cpu.x[6] = 0xbbbb_bbbb;
        run_ok(&[ldxp(0, 1, 0, 1, 2), stxp(0, 1, 4, 0, 5, 6)], &mut cpu);
        assert_eq!(
            (cpu.x[1], cpu.x[2], cpu.x[4]),
            (0x1111_1111, 0x2222_2222, 0)
        );
        assert_eq!(buf.get(0), 0xbbbb_bbbb_aaaa_aaaa);
        // X pair (128-bit, cmpxchg16b).
        let mut buf = Buf::new([1, 2, 3, 4]);
        let mut cpu = Cpu::new();
        cpu.x[0] = buf.addr() + 16;
        cpu.x[5] = 0x55;
        cpu.x[6] = 0x66;
        run_ok(&[ldxp(1, 0, 0, 1, 2), stxp(1, 0, 4, 0, 5, 6)], &mut cpu);
        assert_eq!((cpu.x[1], cpu.x[2], cpu.x[4]), (3, 4, 0));
        assert_eq!(
            (buf.get(0), buf.get(1), buf.get(2), buf.get(3)),
            (1, 2, 0x55, 0x66)
        );
        // X pair fails when only the high half changed.
        let mut cpu = Cpu::new();
        cpu.x[0] = buf.addr();
        run_ok(&[ldxp(1, 0, 0, 1, 2)], &mut cpu);
        buf.0[1] = 7;
        run_ok(&[stxp(1, 0, 4, 0, 5, 6)], &mut cpu);
        assert_eq!((cpu.x[4], buf.get(0), buf.get(1)), (1, 1, 7));
        // A single-register LDXR does not arm the monitor for a pair store.
        let mut cpu = Cpu::new();
        cpu.x[0] = buf.addr();
        run_ok(&[ldxr(3, 0, 0, 1), stxp(1, 0, 4, 0, 5, 6)], &mut cpu);
        assert_eq!((cpu.x[4], buf.get(0)), (1, 1));
        // LDXP with Rt == Rt2: the second value wins.
        let mut cpu = Cpu::new();
        cpu.x[0] = buf.addr();
        run_ok(&[ldxp(1, 0, 0, 3, 3)], &mut cpu);
        assert_eq!(cpu.x[3], 7);
    }

    // ---- ordered -------------------------------------------------------------------

    #[test]
    fn ldar_stlr_ldapr() {
        let mut buf = Buf::new([0x8899_aabb_ccdd_eeff, 0, 0, 0]);
        for size in 0..4u32 {
            let m = mask_of(1 << size);
            let mut cpu = Cpu::new();
            cpu.x[0] = buf.addr();
            cpu.x[1] = u64::MAX;
            cpu.x[2] = u64::MAX;
            run_ok(&[ldar(size, 0, 1), ldapr(size, 0, 2)], &mut cpu);
            assert_eq!(cpu.x[1], 0x8899_aabb_ccdd_eeff & m);
            assert_eq!(cpu.x[2], 0x8899_aabb_ccdd_eeff & m);
        }
        for size in 0..4u32 {
            let m = mask_of(1 << size);
            buf.0[1] = 0;
            let mut cpu = Cpu::new();
            cpu.x[0] = buf.addr() + 8;
            cpu.x[1] = 0x0102_0304_0506_0708;
            run_ok(&[stlr(size, 0, 1)], &mut cpu);
            assert_eq!(buf.get(1), 0x0102_0304_0506_0708 & m);
        }
        let mut cpu = Cpu::new();
        cpu.x[0] = buf.addr();
        let e = run_with(&[ldapr(3, 0, 1)], &mut cpu, no_lse());
        assert_eq!(e, Exit::Undefined(ldapr(3, 0, 1)));
    }

    // ---- CAS -----------------------------------------------------------------------

    #[test]
    fn cas_success_and_failure() {
        for size in 0..4u32 {
            let m = mask_of(1 << size);
            let init = 0x8182_8384_8586_8788u64;
            for (ord_a, ord_l) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                // Success: Rs holds the current value (upper bits ignored).
                let mut buf = Buf::new([init, 0, 0, 0]);
                let mut cpu = Cpu::new();
                cpu.x[0] = buf.addr();
                cpu.x[1] = (init & m) | (0xdead_0000_0000_0000 & !m);
                cpu.x[2] = 0x1111_2222_3333_4444;
                run_ok(&[cas(size, ord_a, ord_l, 1, 0, 2)], &mut cpu);
                assert_eq!(cpu.x[1], init & m, "size {size}: Rs = old value");
                assert_eq!(buf.get(0), (init & !m) | (0x1111_2222_3333_4444 & m));
                // Failure: memory unchanged, Rs = current value.
                let mut buf = Buf::new([init, 0, 0, 0]);
                let mut cpu = Cpu::new();
                cpu.x[0] = buf.addr();
                cpu.x[1] = !init;
                cpu.x[2] = 0x1111_2222_3333_4444;
                run_ok(&[cas(size, ord_a, ord_l, 1, 0, 2)], &mut cpu);
                assert_eq!(cpu.x[1], init & m, "size {size}: Rs = current value");
                assert_eq!(buf.get(0), init);
            }
        }
        // Rs == XZR: compare with zero, result discarded.
        let mut buf = Buf::new([0, 0, 0, 0]);
        let mut cpu = Cpu::new();
        cpu.x[0] = buf.addr();
        cpu.x[2] = 5;
        run_ok(&[cas(3, 0, 0, 31, 0, 2)], &mut cpu);
        assert_eq!(buf.get(0), 5);
        let e = run_with(&[cas(3, 0, 0, 1, 0, 2)], &mut cpu, no_lse());
        assert_eq!(e, Exit::Undefined(cas(3, 0, 0, 1, 0, 2)));
    }

    #[test]
    fn casp_w_and_x() {
        // W pair: success.
        let mut buf = Buf::new([0x2222_2222_1111_1111, 0, 0, 0]);
        let mut cpu = Cpu::new();
        cpu.x[4] = buf.addr();
        cpu.x[0] = 0xffff_ffff_1111_1111;
        cpu.x[1] = 0x2222_2222;
        cpu.x[2] = 0xaaaa_aaaa;
        cpu.x[3] = 0xbbbb_bbbb;
        run_ok(&[casp(0, 1, 1, 0, 4, 2)], &mut cpu);
        assert_eq!((cpu.x[0], cpu.x[1]), (0x1111_1111, 0x2222_2222));
        assert_eq!(buf.get(0), 0xbbbb_bbbb_aaaa_aaaa);
        // W pair: failure returns the current contents.
        let mut cpu = Cpu::new();
        cpu.x[4] = buf.addr();
        run_ok(&[casp(0, 0, 0, 0, 4, 2)], &mut cpu);
        assert_eq!((cpu.x[0], cpu.x[1]), (0xaaaa_aaaa, 0xbbbb_bbbb));
        assert_eq!(buf.get(0), 0xbbbb_bbbb_aaaa_aaaa);
        // X pair: success.
        let mut buf = Buf::new([10, 20, 0, 0]);
        let mut cpu = Cpu::new();
        cpu.x[8] = buf.addr();
        cpu.x[2] = 10;
        cpu.x[3] = 20;
        cpu.x[6] = 30;
        cpu.x[7] = 40;
        run_ok(&[casp(1, 0, 1, 2, 8, 6)], &mut cpu);
        assert_eq!((cpu.x[2], cpu.x[3]), (10, 20));
        assert_eq!((buf.get(0), buf.get(1)), (30, 40));
        // X pair: failure (low half matches, high half does not).
        let mut cpu = Cpu::new();
        cpu.x[8] = buf.addr();
        cpu.x[2] = 30;
        cpu.x[3] = 41;
        cpu.x[6] = 1;
        cpu.x[7] = 2;
        run_ok(&[casp(1, 1, 0, 2, 8, 6)], &mut cpu);
        assert_eq!((cpu.x[2], cpu.x[3]), (30, 40));
        assert_eq!((buf.get(0), buf.get(1)), (30, 40));
        // X30:XZR as the new value.
        let mut cpu = Cpu::new();
        cpu.x[8] = buf.addr();
        cpu.x[2] = 30;
        cpu.x[3] = 40;
        cpu.x[30] = 99;
        run_ok(&[casp(1, 0, 0, 2, 8, 30)], &mut cpu);
        assert_eq!((buf.get(0), buf.get(1)), (99, 0));
        // Odd registers are undefined.
        for w in [casp(1, 0, 0, 1, 8, 2), casp(0, 0, 0, 2, 8, 3)] {
            let mut cpu = Cpu::new();
            assert_eq!(run(&[w], &mut cpu), Exit::Undefined(w));
        }
        let w = casp(1, 0, 0, 2, 8, 6);
        assert_eq!(
            run_with(&[w], &mut Cpu::new(), no_lse()),
            Exit::Undefined(w)
        );
    }

    // ---- atomic memory operations --------------------------------------------------

    /// The reference: new memory value for op `opc` (0..=7, 8 = SWP) on `size_log2`.
    fn model(opc: u32, size: u32, mem: u64, v: u64) -> u64 {
        let bits = 8 << size;
        let m = mask_of(1 << size);
        let (a, b) = (mem & m, v & m);
        let sx = |x: u64| super::super::sext(x, bits);
        let r = match opc {
            0 => a.wrapping_add(b),
            1 => a & !b,
            2 => a ^ b,
            3 => a | b,
            4 => {
                if sx(a) >= sx(b) {
                    a
                } else {
                    b
                }
            }
            5 => {
                if sx(a) <= sx(b) {
                    a
                } else {
                    b
                }
            }
            6 => a.max(b),
            7 => a.min(b),
            _ => b,
        };
        r & m
    }

    const EDGE: [u64; 10] = [
        0,
        1,
        0x7f,
        0x80,
        0xff,
        0x7fff,
        0x8000,
        0xffff_ffff,
        0x8000_0000_0000_0000,
        0xffff_ffff_ffff_fffe,
    ];

    #[test]
    fn every_atomic_op_size_and_ordering() {
        for opc in 0..9u32 {
            for size in 0..4u32 {
                let m = mask_of(1 << size);
                for (k, &mem) in EDGE.iter().enumerate() {
                    let v = EDGE[(k * 7 + 3) % EDGE.len()] ^ (k as u64 * 0x0101);
                    for ord in 0..4u32 {
                        let w = if opc == 8 {
                            swp(size, ord, 1, 0, 2)
                        } else {
                            ldop(size, ord, opc, 1, 0, 2)
                        };
                        // Guard bytes around the operand must stay untouched.
                        let guard = 0x5a5a_5a5a_5a5a_5a5a;
                        let mut buf = Buf::new([guard, (mem & m) | (guard & !m), guard, 0]);
                        let mut cpu = Cpu::new();
                        cpu.x[0] = buf.addr() + 8;
                        cpu.x[1] = v;
                        cpu.x[2] = 0xdead_dead_dead_dead;
                        run_ok(&[w], &mut cpu);
                        let what = format!("{} mem {mem:#x} v {v:#x}", decode::disassemble(w, 0));
                        assert_eq!(cpu.x[2], mem & m, "{what}: old value");
                        assert_eq!(
                            buf.get(1),
                            model(opc, size, mem, v) | (guard & !m),
                            "{what}"
                        );
                        assert_eq!((buf.get(0), buf.get(2)), (guard, guard), "{what}");
                        assert_eq!(cpu.x[1], v, "{what}: Rs unchanged");
                    }
                }
            }
        }
    }

    #[test]
    fn signed_max_min_on_narrow_sizes() {
        // ldsmaxb: memory -1 (0xff), operand 1 → 1; old value returned zero-extended.
        let cases: &[(u32, u32, u64, u64, u64)] = &[
            (4, 0, 0xff, 1, 1),
            (4, 0, 0x80, 0xff, 0xff),
            (5, 0, 0x7f, 0x80, 0x80),
            (4, 1, 0xffff, 0x7fff, 0x7fff),
            (5, 1, 0x8000, 0xffff, 0x8000),
            (4, 2, 0xffff_ffff, 0, 0),
            (5, 3, 0, u64::MAX, u64::MAX),
            (6, 0, 0x7f, 0x80, 0x80),
            (7, 1, 0x8000, 0x7fff, 0x7fff),
        ];
        for &(opc, size, mem, v, new) in cases {
            let mut buf = Buf::new([mem, 0, 0, 0]);
            let mut cpu = Cpu::new();
            cpu.x[0] = buf.addr();
            cpu.x[1] = v;
            run_ok(&[ldop(size, 0, opc, 1, 0, 2)], &mut cpu);
            assert_eq!((cpu.x[2], buf.get(0)), (mem, new), "opc {opc} size {size}");
        }
    }

    #[test]
    fn st_aliases_and_swp_with_zero_register() {
        // stadd w1, [x0]: memory updated, XZR not written (nothing to check but memory).
        let mut buf = Buf::new([40, 0, 0, 0]);
        let mut cpu = Cpu::new();
        cpu.x[0] = buf.addr();
        cpu.x[1] = 2;
        run_ok(&[ldop(2, 0, 0, 1, 0, 31), swp(3, 0, 31, 0, 31)], &mut cpu);
        assert_eq!(buf.get(0), 0);
        assert_eq!(cpu.x[1], 2);
        // swp x1, x1, [x0]: the register gets the old value.
        buf.0[0] = 5;
        cpu.x[1] = 6;
        run_ok(&[swp(3, 3, 1, 0, 1)], &mut cpu);
        assert_eq!((cpu.x[1], buf.get(0)), (5, 6));
        for w in [ldop(3, 0, 0, 1, 0, 2), swp(3, 0, 1, 0, 2)] {
            assert_eq!(run_with(&[w], &mut cpu, no_lse()), Exit::Undefined(w));
        }
    }

    // ---- alignment faults ----------------------------------------------------------

    /// Misaligned accesses: (instruction, offset of the address from 16-aligned).
    fn misaligned_cases() -> Vec<(u32, u64)> {
        vec![
            (ldxr(3, 0, 0, 1), 4),
            (ldxr(1, 1, 0, 1), 1),
            (stxr(2, 0, 2, 0, 1), 2),
            (ldxp(1, 0, 0, 1, 2), 8),
            (stxp(0, 0, 4, 0, 1, 2), 4),
            (stxp(1, 1, 4, 0, 1, 2), 8),
            (cas(1, 0, 0, 1, 0, 2), 1),
            (casp(1, 0, 0, 2, 0, 4), 8),
            (casp(0, 0, 0, 2, 0, 4), 4),
            (ldop(2, 0, 0, 1, 0, 2), 2),
            (swp(3, 0, 1, 0, 2), 4),
        ]
    }

    /// A misaligned exclusive or atomic access leaves the block with the architectural
    /// alignment fault (data abort, DFSC 0x21, FAR = the address, WnR for writes), at
    /// the instruction, with memory and the destination registers untouched and the
    /// monitor cleared. (User mode turns it into SIGBUS/BUS_ADRALN: the guest programs
    /// check that.)
    #[test]
    fn misaligned_exclusives_and_atomics_raise_alignment_faults() {
        for (w, off) in misaligned_cases() {
            let mut buf = Buf::new([0x1111, 0x2222, 0x3333, 0x4444]);
            let mut cpu = Cpu::new();
            cpu.x[0] = buf.addr() + off;
            cpu.x[1] = 0x55;
            cpu.x[2] = 0x66;
            cpu.x[4] = 0x77;
            cpu.x[5] = 0x88;
            cpu.monitor.addr = cpu.x[0];
            let before = cpu.x;
            let e = run(&[w], &mut cpu);
            let what = decode::disassemble(w, 0);
            let Exit::Exception(ex) = e else {
                panic!("{what}: {e:?}");
            };
            assert_eq!(
                ex.kind(),
                crate::arm64::cpu::ExceptionKind::DataAbort,
                "{what}"
            );
            assert_eq!(ex.esr & 0x3f, esr::FSC_ALIGN, "{what}");
            assert_eq!(ex.far, buf.addr() + off, "{what}");
            let is_load = what.starts_with("ldx") || what.starts_with("ldax");
            assert_eq!(ex.esr & esr::WNR != 0, !is_load, "{what}: WnR");
            assert_eq!(cpu.pc, crate::engine::testing::CODE_BASE, "{what}");
            assert_eq!(cpu.x, before, "{what}: registers changed");
            assert_eq!(cpu.monitor.addr, u64::MAX, "{what}: monitor");
            assert_eq!(
                (buf.get(0), buf.get(1), buf.get(2), buf.get(3)),
                (0x1111, 0x2222, 0x3333, 0x4444),
                "{what}: memory changed"
            );
        }
    }

    // ---- contention ----------------------------------------------------------------

    const ITERS: u64 = 10_000;

    /// Run `words` on `threads` host threads at once, each with its own CPU and engine,
    /// X0 = `addr`, X3 = [`ITERS`], X9 = 1.
    fn hammer(words: &'static [u32], threads: usize, addr: u64) {
        let start = std::sync::Arc::new(std::sync::Barrier::new(threads));
        let hs: Vec<_> = (0..threads)
            .map(|_| {
                let start = start.clone();
                std::thread::spawn(move || {
                    let mut cpu = Cpu::new();
                    cpu.x[0] = addr;
                    cpu.x[3] = ITERS;
                    cpu.x[9] = 1;
                    start.wait();
                    let e = run_with(words, &mut cpu, CpuFeatures::default());
                    assert_eq!(e, Exit::Brk(END_BRK));
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    }

    /// 0: ldxr x1, [x0]; add x1, x1, #1; stxr w2, x1, [x0]; cbnz w2, 0b;
    ///    sub x3, x3, #1; cbnz x3, 0b
    const LDXR_LOOP: &[u32] = &[
        0xc85f7c01, 0x91000421, 0xc8027c01, 0x35ffffa2, 0xd1000463, 0xb5ffff63,
    ];
    /// The same with ldaxr/stlxr on a W counter.
    const LDAXR_W_LOOP: &[u32] = &[
        0x885ffc01, 0x11000421, 0x8802fc01, 0x35ffffa2, 0xd1000463, 0xb5ffff63,
    ];
    /// 0: stadd x9, [x0]; sub x3, x3, #1; cbnz x3, 0b
    const STADD_LOOP: &[u32] = &[0xf829001f, 0xd1000463, 0xb5ffffc3];
    /// 0: ldxp x4, x5, [x0]; add x4, x4, #1; add x5, x5, #2; stxp w2, x4, x5, [x0];
    ///    cbnz w2, 0b; sub x3, x3, #1; cbnz x3, 0b
    const LDXP_LOOP: &[u32] = &[
        0xc87f1404, 0x91000484, 0x910008a5, 0xc8221404, 0x35ffff82, 0xd1000463, 0xb5ffff43,
    ];

    #[test]
    fn contended_ldxr_stxr_counter_is_exact() {
        let mut buf = Buf::new([0; 4]);
        hammer(LDXR_LOOP, 4, buf.addr());
        assert_eq!(buf.get(0), 4 * ITERS);
        let mut buf = Buf::new([0; 4]);
        hammer(LDAXR_W_LOOP, 4, buf.addr());
        assert_eq!(buf.get(0), 4 * ITERS);
    }

    #[test]
    fn contended_ldadd_counter_is_exact() {
        let mut buf = Buf::new([0; 4]);
        hammer(STADD_LOOP, 4, buf.addr());
        assert_eq!(buf.get(0), 4 * ITERS);
    }

    #[test]
    fn contended_mixed_exclusive_and_ldadd_is_exact() {
        let mut buf = Buf::new([0; 4]);
        let addr = buf.addr();
        let a = std::thread::spawn(move || hammer(LDXR_LOOP, 2, addr));
        let b = std::thread::spawn(move || hammer(STADD_LOOP, 2, addr));
        a.join().unwrap();
        b.join().unwrap();
        assert_eq!(buf.get(0), 4 * ITERS);
    }

    #[test]
    fn contended_128_bit_pair_is_exact() {
        let mut buf = Buf::new([0; 4]);
        hammer(LDXP_LOOP, 4, buf.addr());
        assert_eq!((buf.get(0), buf.get(1)), (4 * ITERS, 8 * ITERS));
    }
}
