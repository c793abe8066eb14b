//! Lifters for exception-generating and system instructions: SVC, BRK, UDF, HVC/SMC/HLT
//! (SIGILL at EL0), hints (NOP, YIELD, WFE, WFI, SEV, BTI and the PAC hints, which are
//! NOPs on a CPU without FEAT_PAuth), CLREX, DMB/DSB/ISB, MRS/MSR of the EL0-visible
//! system registers (and the ID registers, as Linux's CPUID emulation exposes them),
//! and the EL0 cache maintenance operations DC ZVA/CVAU/CVAC/CIVAC/CVAP and IC IVAU.
//!
//! In a system-mode context ([`Ctx::system`](crate::ir::Ctx::system)) the CPU has EL1
//! and an environment that models it. Then every MRS, MSR (register and immediate) and
//! SYS that is not one of the EL0 registers or cache operations above calls the
//! environment's hook [`Cpu::sys`] with the instruction word: it reads or writes the
//! system register, or does the TLB/cache/address-translation operation, checking the
//! exception level itself (an EL0 access to an EL1 register traps with EC 0x18, an
//! unknown register is UNDEFINED), and records any exception in `cpu.exception`. A
//! write that changes how code is translated (SCTLR, TCR, TTBRx, SPSel) or TLB
//! maintenance ends the block with a resync; one that may unmask interrupts (DAIF,
//! DAIFClr) ends it with a plain jump, so the next block's entry check sees a pending
//! interrupt. ERET and WFI (and HVC, SMC, HLT as in user mode) end the block with a
//! `Privileged` exit that the environment's run loop carries out. In user mode all of
//! this stays exactly as it was: EL1 registers and instructions are undefined.

use super::{bit, bits, helper, Flow, Lifted, Lifter};
use crate::arm64::cpu::{ec, Cpu, Exception};
use crate::arm64::decode::{Class, Encoding};
use crate::arm64::disas;
use crate::ir::{Term, Trap, W};

pub const ENCODINGS: &[Encoding] = &[
    Encoding::new(
        "SVC",
        "11010100_000xxxxx_xxxxxxxx_xxx00001",
        Class::System,
        lift_svc,
        dis_exc,
    ),
    Encoding::new(
        "HVC",
        "11010100_000xxxxx_xxxxxxxx_xxx00010",
        Class::System,
        lift_priv,
        dis_exc,
    ),
    Encoding::new(
        "SMC",
        "11010100_000xxxxx_xxxxxxxx_xxx00011",
        Class::System,
        lift_priv,
        dis_exc,
    ),
    Encoding::new(
        "BRK",
        "11010100_001xxxxx_xxxxxxxx_xxx00000",
        Class::System,
        lift_brk,
        dis_exc,
    ),
    Encoding::new(
        "HLT",
        "11010100_010xxxxx_xxxxxxxx_xxx00000",
        Class::System,
        lift_priv,
        dis_exc,
    ),
    Encoding::new(
        "UDF",
        "00000000_00000000_xxxxxxxx_xxxxxxxx",
        Class::System,
        lift_udf,
        dis_udf,
    ),
    Encoding::new(
        "HINT",
        "11010101_00000011_0010xxxx_xxx11111",
        Class::System,
        lift_hint,
        dis_hint,
    ),
    Encoding::new(
        "MSR (immediate)",
        "11010101_00000xxx_0100xxxx_xxx11111",
        Class::System,
        lift_msr_imm,
        dis_msr_imm,
    ),
    Encoding::new(
        "ERET",
        "11010110_10011111_00000011_11100000",
        Class::System,
        lift_eret,
        dis_eret,
    ),
    Encoding::new(
        "CLREX",
        "11010101_00000011_0011xxxx_01011111",
        Class::System,
        lift_clrex,
        dis_barrier,
    ),
    Encoding::new(
        "DSB",
        "11010101_00000011_0011xxxx_10011111",
        Class::System,
        lift_fence,
        dis_barrier,
    ),
    Encoding::new(
        "DMB",
        "11010101_00000011_0011xxxx_10111111",
        Class::System,
        lift_fence,
        dis_barrier,
    ),
    Encoding::new(
        "ISB",
        "11010101_00000011_0011xxxx_11011111",
        Class::System,
        lift_nop,
        dis_barrier,
    ),
    Encoding::new(
        "SYS",
        "11010101_00001xxx_xxxxxxxx_xxxxxxxx",
        Class::System,
        lift_sys,
        dis_sys,
    ),
    Encoding::new(
        "MSR (register)",
        "11010101_0001xxxx_xxxxxxxx_xxxxxxxx",
        Class::System,
        lift_msr,
        dis_mrs,
    ),
    Encoding::new(
        "MRS",
        "11010101_0011xxxx_xxxxxxxx_xxxxxxxx",
        Class::System,
        lift_mrs,
        dis_mrs,
    ),
];

fn lift_svc(l: &mut Lifter, w: u32) -> Lifted {
    let imm = bits(w, 20, 5) as u16;
    Ok(Flow::End(Term::Trap {
        trap: Trap::Svc(imm),
        pc: l.next_pc(),
    }))
}

fn lift_brk(l: &mut Lifter, w: u32) -> Lifted {
    l.trap(Trap::Brk(bits(w, 20, 5) as u16))
}

fn lift_priv(l: &mut Lifter, w: u32) -> Lifted {
    l.trap(Trap::Privileged(w))
}

fn lift_udf(l: &mut Lifter, w: u32) -> Lifted {
    // Permanently undefined by design: SIGILL, but not an "unimplemented" report.
    l.trap(Trap::Undefined(w))
}

fn dis_exc(w: u32, _pc: u64) -> String {
    let m = match (bits(w, 23, 21), bits(w, 1, 0)) {
        (0, 1) => "svc",
        (0, 2) => "hvc",
        (0, 3) => "smc",
        (1, _) => "brk",
        _ => "hlt",
    };
    format!("{m} #{:#x}", bits(w, 20, 5))
}

fn dis_udf(w: u32, _pc: u64) -> String {
    format!("udf #{}", bits(w, 15, 0))
}

fn lift_nop(_l: &mut Lifter, _w: u32) -> Lifted {
    Ok(Flow::Next)
}

/// Hints are NOPs, except WFI in system mode: the environment's run loop waits for an
/// interrupt there. (WFE stays a NOP: with one CPU nothing else sends an event, and
/// spinning on WFE is what a woken CPU would do anyway.)
fn lift_hint(l: &mut Lifter, w: u32) -> Lifted {
    if l.b.block.ctx.system() && bits(w, 11, 5) == 3 {
        return l.trap(Trap::Privileged(w));
    }
    Ok(Flow::Next)
}

/// The environment's hook for a system instruction (see [`Cpu::sys`]). Without one
/// (not possible in a system-mode block) the instruction is undefined.
unsafe extern "C" fn h_sys(cpu: *mut u8, word: u64, val: u64, _: u64, _: u64) -> u64 {
    // SAFETY: generated code passes its own `Cpu` pointer as the first argument.
    let cpu = unsafe { &mut *(cpu as *mut Cpu) };
    match cpu.sys {
        // SAFETY: the environment's function, given this live Cpu.
        Some(f) => unsafe { f(cpu, word, val) },
        None => {
            cpu.exception = Exception::new(ec::UNKNOWN, 0, 0);
            0
        }
    }
}

/// Call the environment's hook for instruction `w` with Xt = `val`.
fn sys_hook(l: &mut Lifter, w: u32, val: Option<crate::ir::Val>) -> crate::ir::Val {
    let word = l.konst(w as u64);
    let v = match val {
        Some(v) => v,
        None => l.konst(0),
    };
    l.b.call(helper("sys", h_sys), &[word, v])
}

/// How a system-mode block goes on after a system instruction handled by the hook.
fn after_hook(l: &mut Lifter, how: After) -> Lifted {
    Ok(match how {
        After::Next => Flow::Next,
        After::Jump => Flow::End(Term::Goto(l.next_pc())),
        After::Resync => Flow::End(Term::Trap {
            trap: Trap::Resync,
            pc: l.next_pc(),
        }),
    })
}

/// See [`after_hook`].
enum After {
    /// Nothing the translation depends on changed.
    Next,
    /// Interrupts may have been unmasked: a chainable jump, whose target's entry
    /// checks for a pending interrupt.
    Jump,
    /// The translation context (EL, SPSel, MMU) or the TLB may have changed: look the
    /// next block up again.
    Resync,
}

/// MSR (immediate): PSTATE fields. Only system mode has any (DAIFSet, DAIFClr, SPSel
/// and what the environment implements); in user mode they are undefined, as before.
fn lift_msr_imm(l: &mut Lifter, w: u32) -> Lifted {
    if !l.b.block.ctx.system() {
        return Err(super::LiftError::Undefined);
    }
    sys_hook(l, w, None);
    let how = match (bits(w, 18, 16), bits(w, 7, 5)) {
        // DAIFSet: masks only.
        (3, 6) => After::Next,
        // DAIFClr: may unmask a pending interrupt.
        (3, 7) => After::Jump,
        _ => After::Resync,
    };
    after_hook(l, how)
}

fn dis_msr_imm(w: u32, _pc: u64) -> String {
    let imm = bits(w, 11, 8);
    let field = match (bits(w, 18, 16), bits(w, 7, 5)) {
        (0, 3) => "uao",
        (0, 4) => "pan",
        (0, 5) => "spsel",
        (3, 1) => "ssbs",
        (3, 2) => "dit",
        (3, 4) => "tco",
        (3, 6) => "daifset",
        (3, 7) => "daifclr",
        (op1, op2) => return format!("msr s0_{op1}_c4_c{imm}_{op2}, xzr"),
    };
    format!("msr {field}, #{imm:#x}")
}

/// ERET: the environment's run loop restores PSTATE and PC (EL1 of system mode only).
fn lift_eret(l: &mut Lifter, w: u32) -> Lifted {
    if l.b.block.ctx.system() && l.el() >= 1 {
        return l.trap(Trap::Privileged(w));
    }
    Err(super::LiftError::Undefined)
}

fn dis_eret(_w: u32, _pc: u64) -> String {
    "eret".into()
}

fn dis_hint(w: u32, _pc: u64) -> String {
    let n = bits(w, 11, 5);
    match n {
        0 => "nop".into(),
        1 => "yield".into(),
        2 => "wfe".into(),
        3 => "wfi".into(),
        4 => "sev".into(),
        5 => "sevl".into(),
        7 => "xpaclri".into(),
        8 => "pacia1716".into(),
        25 => "paciasp".into(),
        29 => "autiasp".into(),
        32 => "bti".into(),
        34 => "bti c".into(),
        36 => "bti j".into(),
        38 => "bti jc".into(),
        _ => format!("hint #{n}"),
    }
}

fn lift_fence(l: &mut Lifter, _w: u32) -> Lifted {
    l.b.fence();
    Ok(Flow::Next)
}

unsafe extern "C" fn h_clrex(cpu: *mut u8, _: u64, _: u64, _: u64, _: u64) -> u64 {
    // SAFETY: generated code passes its own `Cpu` pointer as the first argument.
    let cpu = unsafe { &mut *(cpu as *mut Cpu) };
    cpu.monitor.addr = u64::MAX;
    0
}

fn lift_clrex(l: &mut Lifter, _w: u32) -> Lifted {
    l.b.call(helper("clrex", h_clrex), &[]);
    Ok(Flow::Next)
}

fn dis_barrier(w: u32, _pc: u64) -> String {
    let crm = bits(w, 11, 8);
    let opt = match crm {
        15 => "sy",
        14 => "st",
        13 => "ld",
        11 => "ish",
        10 => "ishst",
        9 => "ishld",
        7 => "nsh",
        6 => "nshst",
        5 => "nshld",
        3 => "osh",
        2 => "oshst",
        1 => "oshld",
        _ => "",
    };
    match bits(w, 7, 5) {
        2 => "clrex".into(),
        4 => format!("dsb {opt}"),
        5 => format!("dmb {opt}"),
        _ => "isb".into(),
    }
}

/// A system register as (op0, op1, CRn, CRm, op2).
const fn sr(op0: u32, op1: u32, crn: u32, crm: u32, op2: u32) -> u32 {
    (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2
}

/// The system-register field (op0:op1:CRn:CRm:op2) of an MRS/MSR word.
fn sysreg(w: u32) -> u32 {
    ((2 | bit(w, 19)) << 14) | bits(w, 18, 5)
}

const NZCV: u32 = sr(3, 3, 4, 2, 0);
const FPCR: u32 = sr(3, 3, 4, 4, 0);
const FPSR: u32 = sr(3, 3, 4, 4, 1);
const TPIDR_EL0: u32 = sr(3, 3, 13, 0, 2);
const TPIDRRO_EL0: u32 = sr(3, 3, 13, 0, 3);
const DCZID_EL0: u32 = sr(3, 3, 0, 0, 7);
const CTR_EL0: u32 = sr(3, 3, 0, 0, 1);
const CNTFRQ_EL0: u32 = sr(3, 3, 14, 0, 0);
const CNTPCT_EL0: u32 = sr(3, 3, 14, 0, 1);
const CNTVCT_EL0: u32 = sr(3, 3, 14, 0, 2);
const MIDR_EL1: u32 = sr(3, 0, 0, 0, 0);
const MPIDR_EL1: u32 = sr(3, 0, 0, 0, 5);
const REVIDR_EL1: u32 = sr(3, 0, 0, 0, 6);
const ID_AA64PFR0_EL1: u32 = sr(3, 0, 0, 4, 0);
const ID_AA64ISAR0_EL1: u32 = sr(3, 0, 0, 6, 0);
const ID_AA64ISAR1_EL1: u32 = sr(3, 0, 0, 6, 1);
const ID_AA64MMFR0_EL1: u32 = sr(3, 0, 0, 7, 0);
const SCTLR_EL1: u32 = sr(3, 0, 1, 0, 0);
const TTBR0_EL1: u32 = sr(3, 0, 2, 0, 0);
const TTBR1_EL1: u32 = sr(3, 0, 2, 0, 1);
const TCR_EL1: u32 = sr(3, 0, 2, 0, 2);
const SPSEL: u32 = sr(3, 0, 4, 2, 0);
const DAIF: u32 = sr(3, 3, 4, 2, 1);

/// DCZID_EL0: DC ZVA is allowed and zeroes 2^4 words = 64 bytes.
pub const DCZID: u64 = 4;
/// The DC ZVA block size in bytes implied by [`DCZID`].
pub const ZVA_BYTES: u64 = 4 << (DCZID & 15);
/// CTR_EL0 of a Cortex-A72: 64-byte I and D cache lines.
pub const CTR: u64 = 0x8444_c004;
/// CNTFRQ_EL0: the virtual counter runs at 62.5 MHz (host nanoseconds / 16).
pub const CNTFRQ: u64 = 62_500_000;

fn name_of(reg: u32) -> Option<&'static str> {
    Some(match reg {
        NZCV => "nzcv",
        FPCR => "fpcr",
        FPSR => "fpsr",
        TPIDR_EL0 => "tpidr_el0",
        TPIDRRO_EL0 => "tpidrro_el0",
        DCZID_EL0 => "dczid_el0",
        CTR_EL0 => "ctr_el0",
        CNTFRQ_EL0 => "cntfrq_el0",
        CNTPCT_EL0 => "cntpct_el0",
        CNTVCT_EL0 => "cntvct_el0",
        MIDR_EL1 => "midr_el1",
        MPIDR_EL1 => "mpidr_el1",
        REVIDR_EL1 => "revidr_el1",
        ID_AA64PFR0_EL1 => "id_aa64pfr0_el1",
        ID_AA64ISAR0_EL1 => "id_aa64isar0_el1",
        ID_AA64ISAR1_EL1 => "id_aa64isar1_el1",
        ID_AA64MMFR0_EL1 => "id_aa64mmfr0_el1",
        SCTLR_EL1 => "sctlr_el1",
        TTBR0_EL1 => "ttbr0_el1",
        TTBR1_EL1 => "ttbr1_el1",
        TCR_EL1 => "tcr_el1",
        SPSEL => "spsel",
        DAIF => "daif",
        r => return EL1_NAMES.iter().find(|n| n.0 == r).map(|n| n.1),
    })
}

/// Names of other EL1 registers, for disassembly (`-d in_asm`).
const EL1_NAMES: &[(u32, &str)] = &[
    (sr(3, 0, 1, 0, 2), "cpacr_el1"),
    (sr(3, 0, 4, 0, 0), "spsr_el1"),
    (sr(3, 0, 4, 0, 1), "elr_el1"),
    (sr(3, 0, 4, 1, 0), "sp_el0"),
    (sr(3, 0, 4, 2, 2), "currentel"),
    (sr(3, 0, 5, 2, 0), "esr_el1"),
    (sr(3, 0, 6, 0, 0), "far_el1"),
    (sr(3, 0, 7, 4, 0), "par_el1"),
    (sr(3, 0, 10, 2, 0), "mair_el1"),
    (sr(3, 0, 12, 0, 0), "vbar_el1"),
    (sr(3, 0, 12, 1, 0), "isr_el1"),
    (sr(3, 0, 13, 0, 1), "contextidr_el1"),
    (sr(3, 0, 13, 0, 4), "tpidr_el1"),
    (sr(3, 0, 14, 1, 0), "cntkctl_el1"),
    (sr(3, 3, 14, 2, 0), "cntp_tval_el0"),
    (sr(3, 3, 14, 2, 1), "cntp_ctl_el0"),
    (sr(3, 3, 14, 2, 2), "cntp_cval_el0"),
    (sr(3, 3, 14, 3, 0), "cntv_tval_el0"),
    (sr(3, 3, 14, 3, 1), "cntv_ctl_el0"),
    (sr(3, 3, 14, 3, 2), "cntv_cval_el0"),
    (sr(2, 0, 0, 2, 2), "mdscr_el1"),
    (sr(2, 0, 1, 0, 4), "oslar_el1"),
];

fn dis_mrs(w: u32, _pc: u64) -> String {
    let reg = sysreg(w);
    let name = name_of(reg).map(String::from).unwrap_or_else(|| {
        format!(
            "s{}_{}_c{}_c{}_{}",
            reg >> 14,
            (reg >> 11) & 7,
            (reg >> 7) & 15,
            (reg >> 3) & 15,
            reg & 7
        )
    });
    let rt = disas::r(bits(w, 4, 0), true);
    if bit(w, 21) == 1 {
        format!("mrs {rt}, {name}")
    } else {
        format!("msr {name}, {rt}")
    }
}

unsafe extern "C" fn h_counter(cpu: *mut u8, _: u64, _: u64, _: u64, _: u64) -> u64 {
    // SAFETY: generated code passes its own `Cpu` pointer as the first argument.
    let cpu = unsafe { &mut *(cpu as *mut Cpu) };
    if let Some(f) = cpu.counter {
        // SAFETY: the environment's function, given this live Cpu.
        return unsafe { f(cpu) };
    }
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    let ns = ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64;
    ns / (1_000_000_000 / CNTFRQ)
}

/// The ID register values the Linux kernel would show a process on this CPU model
/// (only fields for implemented features are non-zero).
fn id_reg(l: &Lifter, reg: u32) -> Option<u64> {
    let f = l.features;
    Some(match reg {
        MIDR_EL1 => f.midr,
        // Linux reports MPIDR with only bit 31 (RES1) set to user space.
        MPIDR_EL1 => 0x8000_0000,
        REVIDR_EL1 => 0,
        // EL0 is AArch64-only (1), FP (0) and AdvSIMD (0) implemented.
        ID_AA64PFR0_EL1 => 0x0000_0000_0000_0011,
        ID_AA64ISAR0_EL1 => {
            // AES with PMULL (0b0010), SHA1 (1), SHA2 (SHA256 only, 1).
            let mut v = (2 << 4) | (1 << 8) | (1 << 12);
            if f.crc32 {
                v |= 1 << 16;
            }
            if f.lse {
                v |= 2 << 20;
            }
            v
        }
        ID_AA64ISAR1_EL1 => {
            if f.rcpc {
                1 << 20
            } else {
                0
            }
        }
        ID_AA64MMFR0_EL1 => 0,
        // Linux emulates EL0 reads of the ID space op0=3, op1=0, CRn=0 only for CRm = 0
        // (MIDR, MPIDR, REVIDR above; anything else there is SIGILL) and CRm = 2..=7. In
        // CRm = 4..=7 (ID_AA64*) a register it does not track reads as zero. CRm = 2 and 3
        // hold AArch32 ID registers (ID_ISAR*, ID_MMFR4/5, MVFR*, ID_PFR2, ID_DFR1): they
        // are sanitised from the boot CPU only when EL0 has AArch32, which ours has not
        // (ID_AA64PFR0_EL1.EL0 = 1), so every field a process can see reads as zero. CRm =
        // 1 (ID_PFR0/1, ID_DFR0, ID_AFR0, ID_MMFR0-3) and CRm >= 8 are not emulated: the
        // MRS is undefined at EL0 (SIGILL).
        r if r >> 7 == sr(3, 0, 0, 0, 0) >> 7 && (2..=7).contains(&((r >> 3) & 15)) => 0,
        _ => return None,
    })
}

fn lift_mrs(l: &mut Lifter, w: u32) -> Lifted {
    let rt = bits(w, 4, 0);
    let reg = sysreg(w);
    let system = l.b.block.ctx.system();
    let v = match reg {
        NZCV => l.b.get_nzcv(),
        TPIDR_EL0 | TPIDRRO_EL0 | FPCR | FPSR => {
            let h = match reg {
                TPIDR_EL0 => helper("mrs_tpidr_el0", h_get_tpidr),
                TPIDRRO_EL0 => helper("mrs_tpidrro_el0", h_get_tpidrro),
                FPCR => helper("mrs_fpcr", h_get_fpcr),
                _ => helper("mrs_fpsr", h_get_fpsr),
            };
            l.b.call(h, &[])
        }
        DCZID_EL0 => l.konst(DCZID),
        CTR_EL0 => l.konst(CTR),
        CNTFRQ_EL0 => l.konst(CNTFRQ),
        CNTVCT_EL0 | CNTPCT_EL0 => l.b.call(helper("cntvct", h_counter), &[]),
        // Everything else is the environment's in system mode (at EL0 too: the ID
        // registers trap there, for the kernel to emulate).
        _ if system => sys_hook(l, w, None),
        _ => match (l.features.cpuid, id_reg(l, reg)) {
            (true, Some(v)) => l.konst(v),
            _ => return Err(super::LiftError::Undefined),
        },
    };
    l.set_x(W::W64, rt, v);
    Ok(Flow::Next)
}

macro_rules! cpu_field_helpers {
    ($get:ident, $set:ident, $field:ident, $mask:expr) => {
        unsafe extern "C" fn $get(cpu: *mut u8, _: u64, _: u64, _: u64, _: u64) -> u64 {
            // SAFETY: generated code passes its own `Cpu` pointer as the first argument.
            unsafe { (*(cpu as *mut Cpu)).$field }
        }
        unsafe extern "C" fn $set(cpu: *mut u8, v: u64, _: u64, _: u64, _: u64) -> u64 {
            // SAFETY: generated code passes its own `Cpu` pointer as the first argument.
            unsafe { (*(cpu as *mut Cpu)).$field = v & $mask };
            0
        }
    };
}

cpu_field_helpers!(h_get_tpidr, h_set_tpidr, tpidr_el0, u64::MAX);
unsafe extern "C" fn h_get_tpidrro(cpu: *mut u8, _: u64, _: u64, _: u64, _: u64) -> u64 {
    // SAFETY: generated code passes its own `Cpu` pointer as the first argument.
    unsafe { (*(cpu as *mut Cpu)).tpidrro_el0 }
}
// FPCR: AHP (26), DN (25), FZ (24), RMode (23:22). The trap enables (IOE…IDE) read as
// zero and ignore writes, as on cores without FP exception trapping, so software can
// tell trapping is unsupported; FZ16 needs FEAT_FP16, which is not implemented.
cpu_field_helpers!(h_get_fpcr, h_set_fpcr, fpcr, 0x07c0_0000);
// FPSR: N Z C V QC and the cumulative exception flags IDC IXC UFC OFC DZC IOC.
cpu_field_helpers!(h_get_fpsr, h_set_fpsr, fpsr, 0xf800_009f);

fn lift_msr(l: &mut Lifter, w: u32) -> Lifted {
    let reg = sysreg(w);
    let v = l.x(bits(w, 4, 0));
    match reg {
        NZCV => {
            let k = l.konst(0xf000_0000);
            let m = l.b.and(W::W64, v, k);
            l.b.set_nzcv(m);
        }
        TPIDR_EL0 => {
            l.b.call(helper("msr_tpidr_el0", h_set_tpidr), &[v]);
        }
        FPCR => {
            l.b.call(helper("msr_fpcr", h_set_fpcr), &[v]);
        }
        FPSR => {
            l.b.call(helper("msr_fpsr", h_set_fpsr), &[v]);
        }
        _ if l.b.block.ctx.system() => {
            sys_hook(l, w, Some(v));
            let how = match reg {
                SCTLR_EL1 | TCR_EL1 | TTBR0_EL1 | TTBR1_EL1 | SPSEL => After::Resync,
                DAIF => After::Jump,
                _ => After::Next,
            };
            return after_hook(l, how);
        }
        // TPIDRRO_EL0 and everything else is read-only or privileged at EL0.
        _ => return Err(super::LiftError::Undefined),
    }
    Ok(Flow::Next)
}

unsafe extern "C" fn h_dc_zva(cpu: *mut u8, addr: u64, _: u64, _: u64, _: u64) -> u64 {
    // SAFETY: generated code passes its own `Cpu` pointer as the first argument.
    let cpu = unsafe { &mut *(cpu as *mut Cpu) };
    // The block is zeroed through the environment's translation (user mode: 1:1; a bad
    // address faults exactly like the guest's own store would, and the fault handler
    // attributes it to this instruction). TBI applies to the address before alignment.
    let base = crate::arm64::untag(addr) & !(ZVA_BYTES - 1);
    let Some(p) = cpu.translate(base, ZVA_BYTES, true) else {
        // The abort reports the instruction's address operand, not the block's start
        // (as qemu-system-aarch64 does).
        cpu.exception.far = addr;
        return 0;
    };
    // SAFETY: the environment's host address for ZVA_BYTES writable guest bytes.
    unsafe { std::ptr::write_bytes(p, 0, ZVA_BYTES as usize) };
    0
}

unsafe extern "C" fn h_set_exit_arg(cpu: *mut u8, v: u64, _: u64, _: u64, _: u64) -> u64 {
    // SAFETY: generated code passes its own `Cpu` pointer as the first argument.
    unsafe { (*(cpu as *mut Cpu)).exit_arg = v };
    0
}

fn lift_sys(l: &mut Lifter, w: u32) -> Lifted {
    // SYS #op1, Cn, Cm, #op2, Xt
    let op1 = bits(w, 18, 16);
    let crn = bits(w, 15, 12);
    let crm = bits(w, 11, 8);
    let op2 = bits(w, 7, 5);
    let rt = bits(w, 4, 0);
    match (op1, crn, crm, op2) {
        // DC ZVA
        (3, 7, 4, 1) => {
            let a = l.x(rt);
            l.b.call(helper("dc_zva", h_dc_zva), &[a]);
            Ok(Flow::Next)
        }
        // DC CVAC, DC CVAU, DC CVAP, DC CVADP, DC CIVAC: no effect on a coherent host.
        (3, 7, 10, 1) | (3, 7, 11, 1) | (3, 7, 12, 1) | (3, 7, 13, 1) | (3, 7, 14, 1) => {
            Ok(Flow::Next)
        }
        // IC IVAU in system mode: nothing to do. The environment tracks stores into
        // pages holding translated code by physical page and drops those translations
        // at the store itself (stronger than the architecture asks); invalidating by
        // VA here would scan every block for each 64-byte line the kernel maintains
        // (tens of thousands per boot).
        (3, 7, 5, 1) if l.b.block.ctx.system() => Ok(Flow::Next),
        // IC IVAU: the translations of that line must go. Hand the address to the
        // environment and end the block so nothing stale runs after it.
        (3, 7, 5, 1) => {
            let a = l.x(rt);
            l.b.call(helper("ic_ivau", h_set_exit_arg), &[a]);
            Ok(Flow::End(Term::Trap {
                trap: Trap::IcInvalidate,
                pc: l.next_pc(),
            }))
        }
        // System mode: TLB maintenance, address translation, the EL1 cache
        // operations and anything else go to the environment. TLB maintenance and
        // IC IALLU(IS) may drop translations: look the next block up again.
        _ if l.b.block.ctx.system() => {
            let v = l.x(rt);
            sys_hook(l, w, Some(v));
            let how = match (op1, crn, crm) {
                (_, 8, _) | (0, 7, 1) | (0, 7, 5) => After::Resync,
                _ => After::Next,
            };
            after_hook(l, how)
        }
        _ => Err(super::LiftError::Undefined),
    }
}

fn dis_sys(w: u32, _pc: u64) -> String {
    let rt = disas::r(bits(w, 4, 0), true);
    match (
        bits(w, 18, 16),
        bits(w, 15, 12),
        bits(w, 11, 8),
        bits(w, 7, 5),
    ) {
        (3, 7, 4, 1) => format!("dc zva, {rt}"),
        (3, 7, 10, 1) => format!("dc cvac, {rt}"),
        (3, 7, 11, 1) => format!("dc cvau, {rt}"),
        (3, 7, 12, 1) => format!("dc cvap, {rt}"),
        (3, 7, 13, 1) => format!("dc cvadp, {rt}"),
        (3, 7, 14, 1) => format!("dc civac, {rt}"),
        (3, 7, 5, 1) => format!("ic ivau, {rt}"),
        (0, 7, 1, 0) => "ic ialluis".into(),
        (0, 7, 5, 0) => "ic iallu".into(),
        (0, 7, 6, 1) => format!("dc ivac, {rt}"),
        (0, 7, 6, 2) => format!("dc isw, {rt}"),
        (0, 7, 10, 2) => format!("dc csw, {rt}"),
        (0, 7, 14, 2) => format!("dc cisw, {rt}"),
        (0, 7, 8, op2 @ 0..=3) => {
            let n = ["s1e1r", "s1e1w", "s1e0r", "s1e0w"][op2 as usize];
            format!("at {n}, {rt}")
        }
        (0, 8, crm, op2) => {
            let name = match (crm, op2) {
                (3, 0) => "vmalle1is",
                (3, 1) => "vae1is",
                (3, 2) => "aside1is",
                (3, 3) => "vaae1is",
                (3, 5) => "vale1is",
                (3, 7) => "vaale1is",
                (7, 0) => "vmalle1",
                (7, 1) => "vae1",
                (7, 2) => "aside1",
                (7, 3) => "vaae1",
                (7, 5) => "vale1",
                (7, 7) => "vaale1",
                _ => return format!("sys #0, c8, c{crm}, #{op2}, {rt}"),
            };
            if matches!((crm, op2), (3, 0) | (7, 0)) {
                format!("tlbi {name}")
            } else {
                format!("tlbi {name}, {rt}")
            }
        }
        (op1, crn, crm, op2) => format!("sys #{op1}, c{crn}, c{crm}, #{op2}, {rt}"),
    }
}

#[cfg(test)]
mod tests {
    use crate::arm64::cpu::Cpu;
    use crate::engine::testing::run_ok;

    /// The environment's counter.
    unsafe extern "sysv64" fn fixed_counter(_cpu: *mut Cpu) -> u64 {
        0x1234_5678
    }

    /// CNTVCT_EL0 and CNTPCT_EL0 come from the environment's counter when it has one;
    /// without one (user mode), from the host clock, which moves forward.
    #[test]
    fn counter_reads_come_from_the_environment() {
        // mrs x0, cntvct_el0; mrs x1, cntpct_el0
        let words = [0xd53b_e040, 0xd53b_e021];
        let mut cpu = Cpu::new();
        cpu.counter = Some(fixed_counter);
        run_ok(&words, &mut cpu);
        assert_eq!((cpu.x[0], cpu.x[1]), (0x1234_5678, 0x1234_5678));
        let mut cpu = Cpu::new();
        run_ok(&words, &mut cpu);
        assert!(cpu.x[0] != 0 && cpu.x[1] >= cpu.x[0]);
    }
}
