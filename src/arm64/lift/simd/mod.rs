//! Lifters for the Advanced SIMD (NEON) integer instructions and the SIMD structure
//! loads/stores.
//!
//! The hottest and simplest instructions (bitwise ops, MOVI/MVNI, DUP, INS, UMOV/SMOV,
//! EXT, LD1/ST1 of whole registers, single-lane loads/stores) become inline IR on the
//! 64-bit vector lanes ([`copy`], [`mem`]). Everything else is lifted to a call of one
//! Rust helper per encoding class, which receives the instruction word as a constant,
//! decodes its fields and operates on `Cpu::v` directly, using the pure element
//! semantics of [`elem`]. Every lifter validates the word first, so reserved field
//! combinations inside a row are `LiftError::Undefined` at translation time and a
//! helper never sees them.
//!
//! Modules: [`elem`] (pure semantics on 128-bit values), [`dis`] (operand formatting),
//! [`copy`], [`arith`] (three-same, three-different, two-register misc, across lanes,
//! pairwise, by element), [`shift`] (shift by immediate), [`perm`] (ZIP/UZP/TRN,
//! TBL/TBX), [`mem`] (LD1–LD4/ST1–ST4 and LDnR).
//!
//! This module touches the guest CPU state only through generated IR and through the
//! helpers it registers; it knows nothing of Linux or of a machine.

pub mod copy;
pub mod dis;
pub mod elem;

use crate::arm64::cpu::{Cpu, VReg};
use crate::arm64::decode::{Class, Encoding};
use crate::arm64::lift::{helper, Flow, Lifted, Lifter};
use crate::ir::HelperFn;

/// Vector register `n` as a 128-bit value.
#[inline]
pub fn vget(cpu: &Cpu, n: u32) -> u128 {
    cpu.v[(n & 31) as usize].as_u128()
}

/// Write vector register `n` (all 128 bits; pass a value with zero upper bits for a
/// 64-bit result).
#[inline]
pub fn vset(cpu: &mut Cpu, n: u32, v: u128) {
    cpu.v[(n & 31) as usize] = VReg::from_u128(v);
}

/// FPSR.QC, the cumulative saturation flag.
pub const FPSR_QC: u64 = 1 << 27;

/// Set FPSR.QC when `sat` is true.
#[inline]
pub fn set_qc(cpu: &mut Cpu, sat: bool) {
    if sat {
        cpu.fpsr |= FPSR_QC;
    }
}

/// Define `unsafe extern "C" fn $name(cpu, word, ..)` calling the safe
/// `$f(&mut Cpu, u32)`: the shape of every per-class helper.
macro_rules! word_helper {
    ($name:ident, $f:path) => {
        unsafe extern "C" fn $name(cpu: *mut u8, w: u64, _: u64, _: u64, _: u64) -> u64 {
            // SAFETY: generated code passes its own `Cpu` pointer as the first
            // argument, and no other reference to that `Cpu` is live during the call.
            let cpu = unsafe { &mut *(cpu as *mut $crate::arm64::cpu::Cpu) };
            $f(cpu, w as u32);
            0
        }
    };
}
#[allow(unused_imports)]
pub(crate) use word_helper;

/// Emit a call of a per-class helper with the instruction word as its argument.
pub fn call_word(l: &mut Lifter, name: &'static str, f: HelperFn, w: u32) -> Lifted {
    let k = l.konst(w as u64);
    l.b.call(helper(name, f), &[k]);
    Ok(Flow::Next)
}

const S: Class = Class::Simd;

#[rustfmt::skip]
pub const ENCODINGS: &[Encoding] = &[
    // ---- copy ----
    Encoding::new("DUP (element)", "0x001110_000xxxxx_000001xx_xxxxxxxx", S, copy::lift_dup_elem, copy::dis_dup_elem),
    Encoding::new("DUP (general)", "0x001110_000xxxxx_000011xx_xxxxxxxx", S, copy::lift_dup_gen, copy::dis_dup_gen),
    Encoding::new("SMOV", "0x001110_000xxxxx_001011xx_xxxxxxxx", S, copy::lift_smov, copy::dis_smov),
    Encoding::new("UMOV", "0x001110_000xxxxx_001111xx_xxxxxxxx", S, copy::lift_umov, copy::dis_umov),
    Encoding::new("INS (general)", "01001110_000xxxxx_000111xx_xxxxxxxx", S, copy::lift_ins_gen, copy::dis_ins_gen),
    Encoding::new("INS (element)", "01101110_000xxxxx_0xxxx1xx_xxxxxxxx", S, copy::lift_ins_elem, copy::dis_ins_elem),
    Encoding::new("DUP (element, scalar)", "01011110_000xxxxx_000001xx_xxxxxxxx", S, copy::lift_dup_scalar, copy::dis_dup_scalar),
    // ---- modified immediate ----
    Encoding::new("MOVI (32-bit shifted)", "0x001111_00000xxx_0xx001xx_xxxxxxxx", S, copy::lift_modimm, copy::dis_modimm),
    Encoding::new("MVNI (32-bit shifted)", "0x101111_00000xxx_0xx001xx_xxxxxxxx", S, copy::lift_modimm, copy::dis_modimm),
    Encoding::new("ORR (vector, immediate, 32-bit)", "0x001111_00000xxx_0xx101xx_xxxxxxxx", S, copy::lift_modimm, copy::dis_modimm),
    Encoding::new("BIC (vector, immediate, 32-bit)", "0x101111_00000xxx_0xx101xx_xxxxxxxx", S, copy::lift_modimm, copy::dis_modimm),
    Encoding::new("MOVI (16-bit shifted)", "0x001111_00000xxx_10x001xx_xxxxxxxx", S, copy::lift_modimm, copy::dis_modimm),
    Encoding::new("MVNI (16-bit shifted)", "0x101111_00000xxx_10x001xx_xxxxxxxx", S, copy::lift_modimm, copy::dis_modimm),
    Encoding::new("ORR (vector, immediate, 16-bit)", "0x001111_00000xxx_10x101xx_xxxxxxxx", S, copy::lift_modimm, copy::dis_modimm),
    Encoding::new("BIC (vector, immediate, 16-bit)", "0x101111_00000xxx_10x101xx_xxxxxxxx", S, copy::lift_modimm, copy::dis_modimm),
    Encoding::new("MOVI (32-bit shifting ones)", "0x001111_00000xxx_110x01xx_xxxxxxxx", S, copy::lift_modimm, copy::dis_modimm),
    Encoding::new("MVNI (32-bit shifting ones)", "0x101111_00000xxx_110x01xx_xxxxxxxx", S, copy::lift_modimm, copy::dis_modimm),
    Encoding::new("MOVI (8-bit)", "0x001111_00000xxx_111001xx_xxxxxxxx", S, copy::lift_modimm, copy::dis_modimm),
    Encoding::new("MOVI (64-bit)", "0x101111_00000xxx_111001xx_xxxxxxxx", S, copy::lift_modimm, copy::dis_modimm),
    Encoding::new("FMOV (vector, immediate)", "0xx01111_00000xxx_111101xx_xxxxxxxx", S, copy::lift_modimm, copy::dis_modimm),
    // ---- bitwise (three same, U:size = opc) ----
    Encoding::new("AND (vector)", "0x001110_001xxxxx_000111xx_xxxxxxxx", S, copy::lift_logic, copy::dis_logic),
    Encoding::new("BIC (vector, register)", "0x001110_011xxxxx_000111xx_xxxxxxxx", S, copy::lift_logic, copy::dis_logic),
    Encoding::new("ORR (vector, register)", "0x001110_101xxxxx_000111xx_xxxxxxxx", S, copy::lift_logic, copy::dis_logic),
    Encoding::new("ORN (vector)", "0x001110_111xxxxx_000111xx_xxxxxxxx", S, copy::lift_logic, copy::dis_logic),
    Encoding::new("EOR (vector)", "0x101110_001xxxxx_000111xx_xxxxxxxx", S, copy::lift_logic, copy::dis_logic),
    Encoding::new("BSL", "0x101110_011xxxxx_000111xx_xxxxxxxx", S, copy::lift_logic, copy::dis_logic),
    Encoding::new("BIT", "0x101110_101xxxxx_000111xx_xxxxxxxx", S, copy::lift_logic, copy::dis_logic),
    Encoding::new("BIF", "0x101110_111xxxxx_000111xx_xxxxxxxx", S, copy::lift_logic, copy::dis_logic),
    Encoding::new("NOT", "0x101110_00100000_010110xx_xxxxxxxx", S, copy::lift_not, copy::dis_not),
    Encoding::new("EXT", "0x101110_000xxxxx_0xxxx0xx_xxxxxxxx", S, copy::lift_ext, copy::dis_ext),
];

#[cfg(test)]
mod tests;
