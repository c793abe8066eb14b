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

pub mod arith;
pub mod copy;
pub mod crypto;
pub mod dis;
pub mod elem;
pub mod fast;
pub mod fpv;
pub mod inline;
pub mod mem;
pub mod perm;
pub mod shift;

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
        pub(super) unsafe extern "C" fn $name(cpu: *mut u8, w: u64, _: u64, _: u64, _: u64) -> u64 {
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

macro_rules! same {
    ($name:expr, $u:literal, $opc:literal) => {
        Encoding::new(
            $name,
            concat!("0x", $u, "01110_xx1xxxxx_", $opc, "1xx_xxxxxxxx"),
            S,
            arith::lift_same,
            arith::dis_same,
        )
    };
}
macro_rules! same_scalar {
    ($name:expr, $u:literal, $size:literal, $opc:literal) => {
        Encoding::new(
            $name,
            concat!("01", $u, "11110_", $size, "1xxxxx_", $opc, "1xx_xxxxxxxx"),
            S,
            arith::lift_same_scalar,
            arith::dis_same_scalar,
        )
    };
}
macro_rules! diff {
    ($name:expr, $u:literal, $opc:literal) => {
        Encoding::new(
            $name,
            concat!("0x", $u, "01110_xx1xxxxx_", $opc, "00xx_xxxxxxxx"),
            S,
            arith::lift_diff,
            arith::dis_diff,
        )
    };
}
macro_rules! diff_scalar {
    ($name:expr, $opc:literal) => {
        Encoding::new(
            $name,
            concat!("01011110_xx1xxxxx_", $opc, "00xx_xxxxxxxx"),
            S,
            arith::lift_diff_scalar,
            arith::dis_diff_scalar,
        )
    };
}
macro_rules! misc {
    ($name:expr, $u:literal, $size:literal, $o1:literal, $o4:literal) => {
        Encoding::new(
            $name,
            concat!(
                "0x",
                $u,
                "01110_",
                $size,
                "10000",
                $o1,
                "_",
                $o4,
                "10xx_xxxxxxxx"
            ),
            S,
            arith::lift_misc,
            arith::dis_misc,
        )
    };
}
macro_rules! misc_scalar {
    ($name:expr, $u:literal, $size:literal, $o1:literal, $o4:literal) => {
        Encoding::new(
            $name,
            concat!(
                "01",
                $u,
                "11110_",
                $size,
                "10000",
                $o1,
                "_",
                $o4,
                "10xx_xxxxxxxx"
            ),
            S,
            arith::lift_misc_scalar,
            arith::dis_misc_scalar,
        )
    };
}
macro_rules! across {
    ($name:expr, $u:literal, $o1:literal, $o4:literal) => {
        Encoding::new(
            $name,
            concat!("0x", $u, "01110_xx11000", $o1, "_", $o4, "10xx_xxxxxxxx"),
            S,
            arith::lift_across,
            arith::dis_across,
        )
    };
}
macro_rules! by_elem {
    ($name:expr, $u:literal, $opc:literal) => {
        Encoding::new(
            $name,
            concat!("0x", $u, "01111_xxxxxxxx_", $opc, "x0xx_xxxxxxxx"),
            S,
            arith::lift_by_elem,
            arith::dis_by_elem,
        )
    };
}
macro_rules! by_elem_scalar {
    ($name:expr, $opc:literal) => {
        Encoding::new(
            $name,
            concat!("01011111_xxxxxxxx_", $opc, "x0xx_xxxxxxxx"),
            S,
            arith::lift_by_elem_scalar,
            arith::dis_by_elem_scalar,
        )
    };
}

/// Shift-by-immediate rows: one row per `immh` pattern listed (they encode the
/// element size; `immh == 0000` belongs to the modified-immediate group).
macro_rules! shift_rows {
    ($lift:path, $dis:path, $pre:literal, $mid:literal; $($name:literal $u:literal $opc:literal [$($immh:literal)*])*) => {
        &[$($(Encoding::new($name, concat!($pre, $u, $mid, $immh, "xxx_", $opc, "1xx_xxxxxxxx"), S, $lift, $dis),)*)*]
    };
}

/// Structure load/store rows: for each `[bits 15:13 patterns]`, the no-offset row and
/// the post-indexed row (`Rm` in bits 20:16).
macro_rules! mem_rows {
    ($lift:path, $dis:path, $pre:literal; $($name:literal $lr:literal [$($opc:literal)*])*) => {
        &[$($(
            Encoding::new($name, concat!($pre, "0", $lr, "00000_", $opc, "_xxxxxxxx"), S, $lift, $dis),
            Encoding::new(concat!($name, ", post-index"), concat!($pre, "1", $lr, "xxxxx_", $opc, "_xxxxxxxx"), S, $lift, $dis),
        )*)*]
    };
}

/// Concatenate row groups into one array (stable Rust has no const slice concat).
const fn join<const N: usize>(parts: &[&[Encoding]]) -> [Encoding; N] {
    let mut out = [parts[0][0]; N];
    let (mut k, mut i) = (0, 0);
    while i < parts.len() {
        let mut j = 0;
        while j < parts[i].len() {
            out[k] = parts[i][j];
            k += 1;
            j += 1;
        }
        i += 1;
    }
    assert!(k == N, "row count mismatch");
    out
}

const fn total(parts: &[&[Encoding]]) -> usize {
    let (mut n, mut i) = (0, 0);
    while i < parts.len() {
        n += parts[i].len();
        i += 1;
    }
    n
}

const PARTS: &[&[Encoding]] = &[
    ROWS,
    SHIFT_ROWS,
    SHIFT_SCALAR_ROWS,
    MULTI_ROWS,
    SINGLE_ROWS,
    FP_ROWS,
    FP_FIXED_ROWS,
    FP_FIXED_SCALAR_ROWS,
    CRYPTO_ROWS,
];
static ALL: [Encoding; total(PARTS)] = join(PARTS);

/// Every Advanced SIMD row, in decode priority order.
pub const ENCODINGS: &[Encoding] = &ALL;

#[rustfmt::skip]
const ROWS: &[Encoding] = &[
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
    // ---- three same ----
    same!("SHADD", "0", "00000"), same!("UHADD", "1", "00000"),
    same!("SQADD", "0", "00001"), same!("UQADD", "1", "00001"),
    same!("SRHADD", "0", "00010"), same!("URHADD", "1", "00010"),
    same!("SHSUB", "0", "00100"), same!("UHSUB", "1", "00100"),
    same!("SQSUB", "0", "00101"), same!("UQSUB", "1", "00101"),
    same!("CMGT (register)", "0", "00110"), same!("CMHI (register)", "1", "00110"),
    same!("CMGE (register)", "0", "00111"), same!("CMHS (register)", "1", "00111"),
    same!("SSHL", "0", "01000"), same!("USHL", "1", "01000"),
    same!("SQSHL (register)", "0", "01001"), same!("UQSHL (register)", "1", "01001"),
    same!("SRSHL", "0", "01010"), same!("URSHL", "1", "01010"),
    same!("SQRSHL", "0", "01011"), same!("UQRSHL", "1", "01011"),
    same!("SMAX", "0", "01100"), same!("UMAX", "1", "01100"),
    same!("SMIN", "0", "01101"), same!("UMIN", "1", "01101"),
    same!("SABD", "0", "01110"), same!("UABD", "1", "01110"),
    same!("SABA", "0", "01111"), same!("UABA", "1", "01111"),
    same!("ADD (vector)", "0", "10000"), same!("SUB (vector)", "1", "10000"),
    same!("CMTST", "0", "10001"), same!("CMEQ (register)", "1", "10001"),
    same!("MLA (vector)", "0", "10010"), same!("MLS (vector)", "1", "10010"),
    same!("MUL (vector)", "0", "10011"), same!("PMUL", "1", "10011"),
    same!("SMAXP", "0", "10100"), same!("UMAXP", "1", "10100"),
    same!("SMINP", "0", "10101"), same!("UMINP", "1", "10101"),
    same!("SQDMULH (vector)", "0", "10110"), same!("SQRDMULH (vector)", "1", "10110"),
    same!("ADDP (vector)", "0", "10111"),
    // ---- scalar three same ----
    same_scalar!("SQADD (scalar)", "0", "xx", "00001"), same_scalar!("UQADD (scalar)", "1", "xx", "00001"),
    same_scalar!("SQSUB (scalar)", "0", "xx", "00101"), same_scalar!("UQSUB (scalar)", "1", "xx", "00101"),
    same_scalar!("CMGT (register, scalar)", "0", "11", "00110"), same_scalar!("CMHI (register, scalar)", "1", "11", "00110"),
    same_scalar!("CMGE (register, scalar)", "0", "11", "00111"), same_scalar!("CMHS (register, scalar)", "1", "11", "00111"),
    same_scalar!("SSHL (scalar)", "0", "11", "01000"), same_scalar!("USHL (scalar)", "1", "11", "01000"),
    same_scalar!("SQSHL (register, scalar)", "0", "xx", "01001"), same_scalar!("UQSHL (register, scalar)", "1", "xx", "01001"),
    same_scalar!("SRSHL (scalar)", "0", "11", "01010"), same_scalar!("URSHL (scalar)", "1", "11", "01010"),
    same_scalar!("SQRSHL (scalar)", "0", "xx", "01011"), same_scalar!("UQRSHL (scalar)", "1", "xx", "01011"),
    same_scalar!("ADD (scalar)", "0", "11", "10000"), same_scalar!("SUB (scalar)", "1", "11", "10000"),
    same_scalar!("CMTST (scalar)", "0", "11", "10001"), same_scalar!("CMEQ (register, scalar)", "1", "11", "10001"),
    same_scalar!("SQDMULH (scalar)", "0", "xx", "10110"), same_scalar!("SQRDMULH (scalar)", "1", "xx", "10110"),
    // ---- three different ----
    diff!("SADDL", "0", "0000"), diff!("UADDL", "1", "0000"),
    diff!("SADDW", "0", "0001"), diff!("UADDW", "1", "0001"),
    diff!("SSUBL", "0", "0010"), diff!("USUBL", "1", "0010"),
    diff!("SSUBW", "0", "0011"), diff!("USUBW", "1", "0011"),
    diff!("ADDHN", "0", "0100"), diff!("RADDHN", "1", "0100"),
    diff!("SABAL", "0", "0101"), diff!("UABAL", "1", "0101"),
    diff!("SUBHN", "0", "0110"), diff!("RSUBHN", "1", "0110"),
    diff!("SABDL", "0", "0111"), diff!("UABDL", "1", "0111"),
    diff!("SMLAL (vector)", "0", "1000"), diff!("UMLAL (vector)", "1", "1000"),
    diff!("SQDMLAL (vector)", "0", "1001"),
    diff!("SMLSL (vector)", "0", "1010"), diff!("UMLSL (vector)", "1", "1010"),
    diff!("SQDMLSL (vector)", "0", "1011"),
    diff!("SMULL (vector)", "0", "1100"), diff!("UMULL (vector)", "1", "1100"),
    diff!("SQDMULL (vector)", "0", "1101"),
    diff!("PMULL", "0", "1110"),
    diff_scalar!("SQDMLAL (scalar)", "1001"), diff_scalar!("SQDMLSL (scalar)", "1011"), diff_scalar!("SQDMULL (scalar)", "1101"),
    // ---- two-register miscellaneous ----
    misc!("REV64", "0", "xx", "0", "0000"), misc!("REV32", "1", "xx", "0", "0000"),
    misc!("REV16 (vector)", "0", "xx", "0", "0001"),
    misc!("SADDLP", "0", "xx", "0", "0010"), misc!("UADDLP", "1", "xx", "0", "0010"),
    misc!("SUQADD", "0", "xx", "0", "0011"), misc!("USQADD", "1", "xx", "0", "0011"),
    misc!("CLS (vector)", "0", "xx", "0", "0100"), misc!("CLZ (vector)", "1", "xx", "0", "0100"),
    misc!("CNT", "0", "00", "0", "0101"), misc!("RBIT (vector)", "1", "01", "0", "0101"),
    misc!("SADALP", "0", "xx", "0", "0110"), misc!("UADALP", "1", "xx", "0", "0110"),
    misc!("SQABS", "0", "xx", "0", "0111"), misc!("SQNEG", "1", "xx", "0", "0111"),
    misc!("CMGT (zero)", "0", "xx", "0", "1000"), misc!("CMGE (zero)", "1", "xx", "0", "1000"),
    misc!("CMEQ (zero)", "0", "xx", "0", "1001"), misc!("CMLE (zero)", "1", "xx", "0", "1001"),
    misc!("CMLT (zero)", "0", "xx", "0", "1010"),
    misc!("ABS", "0", "xx", "0", "1011"), misc!("NEG (vector)", "1", "xx", "0", "1011"),
    misc!("XTN", "0", "xx", "1", "0010"), misc!("SQXTUN", "1", "xx", "1", "0010"),
    misc!("SHLL", "1", "xx", "1", "0011"),
    misc!("SQXTN", "0", "xx", "1", "0100"), misc!("UQXTN", "1", "xx", "1", "0100"),
    // ---- scalar two-register miscellaneous ----
    misc_scalar!("SUQADD (scalar)", "0", "xx", "0", "0011"), misc_scalar!("USQADD (scalar)", "1", "xx", "0", "0011"),
    misc_scalar!("SQABS (scalar)", "0", "xx", "0", "0111"), misc_scalar!("SQNEG (scalar)", "1", "xx", "0", "0111"),
    misc_scalar!("CMGT (zero, scalar)", "0", "11", "0", "1000"), misc_scalar!("CMGE (zero, scalar)", "1", "11", "0", "1000"),
    misc_scalar!("CMEQ (zero, scalar)", "0", "11", "0", "1001"), misc_scalar!("CMLE (zero, scalar)", "1", "11", "0", "1001"),
    misc_scalar!("CMLT (zero, scalar)", "0", "11", "0", "1010"),
    misc_scalar!("ABS (scalar)", "0", "11", "0", "1011"), misc_scalar!("NEG (scalar)", "1", "11", "0", "1011"),
    misc_scalar!("SQXTUN (scalar)", "1", "xx", "1", "0010"),
    misc_scalar!("SQXTN (scalar)", "0", "xx", "1", "0100"), misc_scalar!("UQXTN (scalar)", "1", "xx", "1", "0100"),
    // ---- across lanes, scalar pairwise ----
    across!("SADDLV", "0", "0", "0011"), across!("UADDLV", "1", "0", "0011"),
    across!("SMAXV", "0", "0", "1010"), across!("UMAXV", "1", "0", "1010"),
    across!("SMINV", "0", "1", "1010"), across!("UMINV", "1", "1", "1010"),
    across!("ADDV", "0", "1", "1011"),
    Encoding::new("ADDP (scalar)", "01011110_11110001_101110xx_xxxxxxxx", S, arith::lift_addp_scalar, arith::dis_addp_scalar),
    // ---- by element ----
    by_elem!("MLA (by element)", "1", "0000"), by_elem!("MLS (by element)", "1", "0100"),
    by_elem!("MUL (by element)", "0", "1000"),
    by_elem!("SMLAL (by element)", "0", "0010"), by_elem!("UMLAL (by element)", "1", "0010"),
    by_elem!("SMLSL (by element)", "0", "0110"), by_elem!("UMLSL (by element)", "1", "0110"),
    by_elem!("SMULL (by element)", "0", "1010"), by_elem!("UMULL (by element)", "1", "1010"),
    by_elem!("SQDMLAL (by element)", "0", "0011"), by_elem!("SQDMLSL (by element)", "0", "0111"),
    by_elem!("SQDMULL (by element)", "0", "1011"),
    by_elem!("SQDMULH (by element)", "0", "1100"), by_elem!("SQRDMULH (by element)", "0", "1101"),
    by_elem_scalar!("SQDMLAL (by element, scalar)", "0011"), by_elem_scalar!("SQDMLSL (by element, scalar)", "0111"),
    by_elem_scalar!("SQDMULL (by element, scalar)", "1011"),
    by_elem_scalar!("SQDMULH (by element, scalar)", "1100"), by_elem_scalar!("SQRDMULH (by element, scalar)", "1101"),
    // ---- permute, table lookup ----
    Encoding::new("UZP1", "0x001110_xx0xxxxx_000110xx_xxxxxxxx", S, perm::lift_permute, perm::dis_permute),
    Encoding::new("TRN1", "0x001110_xx0xxxxx_001010xx_xxxxxxxx", S, perm::lift_permute, perm::dis_permute),
    Encoding::new("ZIP1", "0x001110_xx0xxxxx_001110xx_xxxxxxxx", S, perm::lift_permute, perm::dis_permute),
    Encoding::new("UZP2", "0x001110_xx0xxxxx_010110xx_xxxxxxxx", S, perm::lift_permute, perm::dis_permute),
    Encoding::new("TRN2", "0x001110_xx0xxxxx_011010xx_xxxxxxxx", S, perm::lift_permute, perm::dis_permute),
    Encoding::new("ZIP2", "0x001110_xx0xxxxx_011110xx_xxxxxxxx", S, perm::lift_permute, perm::dis_permute),
    Encoding::new("TBL", "0x001110_000xxxxx_0xx000xx_xxxxxxxx", S, perm::lift_table, perm::dis_table),
    Encoding::new("TBX", "0x001110_000xxxxx_0xx100xx_xxxxxxxx", S, perm::lift_table, perm::dis_table),
];

// ---- shift by immediate ----
#[rustfmt::skip]
const SHIFT_ROWS: &[Encoding] = shift_rows!(shift::lift_vector, shift::dis_vector, "0x", "011110";
    "SSHR" "0" "00000" ["1xxx" "01xx" "001x" "0001"]
    "USHR" "1" "00000" ["1xxx" "01xx" "001x" "0001"]
    "SSRA" "0" "00010" ["1xxx" "01xx" "001x" "0001"]
    "USRA" "1" "00010" ["1xxx" "01xx" "001x" "0001"]
    "SRSHR" "0" "00100" ["1xxx" "01xx" "001x" "0001"]
    "URSHR" "1" "00100" ["1xxx" "01xx" "001x" "0001"]
    "SRSRA" "0" "00110" ["1xxx" "01xx" "001x" "0001"]
    "URSRA" "1" "00110" ["1xxx" "01xx" "001x" "0001"]
    "SRI" "1" "01000" ["1xxx" "01xx" "001x" "0001"]
    "SHL" "0" "01010" ["1xxx" "01xx" "001x" "0001"]
    "SLI" "1" "01010" ["1xxx" "01xx" "001x" "0001"]
    "SQSHLU" "1" "01100" ["1xxx" "01xx" "001x" "0001"]
    "SQSHL (immediate)" "0" "01110" ["1xxx" "01xx" "001x" "0001"]
    "UQSHL (immediate)" "1" "01110" ["1xxx" "01xx" "001x" "0001"]
    "SHRN" "0" "10000" ["01xx" "001x" "0001"]
    "SQSHRUN" "1" "10000" ["01xx" "001x" "0001"]
    "RSHRN" "0" "10001" ["01xx" "001x" "0001"]
    "SQRSHRUN" "1" "10001" ["01xx" "001x" "0001"]
    "SQSHRN" "0" "10010" ["01xx" "001x" "0001"]
    "UQSHRN" "1" "10010" ["01xx" "001x" "0001"]
    "SQRSHRN" "0" "10011" ["01xx" "001x" "0001"]
    "UQRSHRN" "1" "10011" ["01xx" "001x" "0001"]
    "SSHLL" "0" "10100" ["01xx" "001x" "0001"]
    "USHLL" "1" "10100" ["01xx" "001x" "0001"]
);
#[rustfmt::skip]
const SHIFT_SCALAR_ROWS: &[Encoding] = shift_rows!(shift::lift_scalar, shift::dis_scalar, "01", "111110";
    "SSHR (scalar)" "0" "00000" ["1xxx"]
    "USHR (scalar)" "1" "00000" ["1xxx"]
    "SSRA (scalar)" "0" "00010" ["1xxx"]
    "USRA (scalar)" "1" "00010" ["1xxx"]
    "SRSHR (scalar)" "0" "00100" ["1xxx"]
    "URSHR (scalar)" "1" "00100" ["1xxx"]
    "SRSRA (scalar)" "0" "00110" ["1xxx"]
    "URSRA (scalar)" "1" "00110" ["1xxx"]
    "SRI (scalar)" "1" "01000" ["1xxx"]
    "SHL (scalar)" "0" "01010" ["1xxx"]
    "SLI (scalar)" "1" "01010" ["1xxx"]
    "SQSHLU (scalar)" "1" "01100" ["1xxx" "01xx" "001x" "0001"]
    "SQSHL (immediate, scalar)" "0" "01110" ["1xxx" "01xx" "001x" "0001"]
    "UQSHL (immediate, scalar)" "1" "01110" ["1xxx" "01xx" "001x" "0001"]
    "SQSHRUN (scalar)" "1" "10000" ["01xx" "001x" "0001"]
    "SQRSHRUN (scalar)" "1" "10001" ["01xx" "001x" "0001"]
    "SQSHRN (scalar)" "0" "10010" ["01xx" "001x" "0001"]
    "UQSHRN (scalar)" "1" "10010" ["01xx" "001x" "0001"]
    "SQRSHRN (scalar)" "0" "10011" ["01xx" "001x" "0001"]
    "UQRSHRN (scalar)" "1" "10011" ["01xx" "001x" "0001"]
);

// ---- structure loads/stores (LD1/ST1 multiple structures are in `lift::simd_ldst`) ----
#[rustfmt::skip]
const MULTI_ROWS: &[Encoding] = mem_rows!(mem::lift_multi, mem::dis_multi, "0x001100_";
    "ST4 (multiple structures)" "00" ["0000xxxx"]
    "ST3 (multiple structures)" "00" ["0100xxxx"]
    "ST2 (multiple structures)" "00" ["1000xxxx"]
    "LD4 (multiple structures)" "10" ["0000xxxx"]
    "LD3 (multiple structures)" "10" ["0100xxxx"]
    "LD2 (multiple structures)" "10" ["1000xxxx"]
);
#[rustfmt::skip]
const SINGLE_ROWS: &[Encoding] = mem_rows!(mem::lift_single, mem::dis_single, "0x001101_";
    "ST1 (single structure)" "00" ["000xxxxx" "010xxxxx" "100xxxxx"]
    "ST3 (single structure)" "00" ["001xxxxx" "011xxxxx" "101xxxxx"]
    "ST2 (single structure)" "01" ["000xxxxx" "010xxxxx" "100xxxxx"]
    "ST4 (single structure)" "01" ["001xxxxx" "011xxxxx" "101xxxxx"]
    "LD1 (single structure)" "10" ["000xxxxx" "010xxxxx" "100xxxxx"]
    "LD3 (single structure)" "10" ["001xxxxx" "011xxxxx" "101xxxxx"]
    "LD2 (single structure)" "11" ["000xxxxx" "010xxxxx" "100xxxxx"]
    "LD4 (single structure)" "11" ["001xxxxx" "011xxxxx" "101xxxxx"]
    "LD1R" "10" ["1100xxxx"]
    "LD3R" "10" ["1110xxxx"]
    "LD2R" "11" ["1100xxxx"]
    "LD4R" "11" ["1110xxxx"]
);

// ---- floating point (single and double precision) ----
#[rustfmt::skip]
const FP_ROWS: &[Encoding] = &[
    Encoding::new("FMAXNM (vector)", "0x001110_0x1xxxxx_110001xx_xxxxxxxx", S, fpv::lift_same, fpv::dis_same),
    Encoding::new("FMLA (vector)", "0x001110_0x1xxxxx_110011xx_xxxxxxxx", S, fpv::lift_same, fpv::dis_same),
    Encoding::new("FADD (vector)", "0x001110_0x1xxxxx_110101xx_xxxxxxxx", S, fpv::lift_same, fpv::dis_same),
    Encoding::new("FMULX (vector)", "0x001110_0x1xxxxx_110111xx_xxxxxxxx", S, fpv::lift_same, fpv::dis_same),
    Encoding::new("FCMEQ (register, vector)", "0x001110_0x1xxxxx_111001xx_xxxxxxxx", S, fpv::lift_same, fpv::dis_same),
    Encoding::new("FMAX (vector)", "0x001110_0x1xxxxx_111101xx_xxxxxxxx", S, fpv::lift_same, fpv::dis_same),
    Encoding::new("FRECPS (vector)", "0x001110_0x1xxxxx_111111xx_xxxxxxxx", S, fpv::lift_same, fpv::dis_same),
    Encoding::new("FMINNM (vector)", "0x001110_1x1xxxxx_110001xx_xxxxxxxx", S, fpv::lift_same, fpv::dis_same),
    Encoding::new("FMLS (vector)", "0x001110_1x1xxxxx_110011xx_xxxxxxxx", S, fpv::lift_same, fpv::dis_same),
    Encoding::new("FSUB (vector)", "0x001110_1x1xxxxx_110101xx_xxxxxxxx", S, fpv::lift_same, fpv::dis_same),
    Encoding::new("FMIN (vector)", "0x001110_1x1xxxxx_111101xx_xxxxxxxx", S, fpv::lift_same, fpv::dis_same),
    Encoding::new("FRSQRTS (vector)", "0x001110_1x1xxxxx_111111xx_xxxxxxxx", S, fpv::lift_same, fpv::dis_same),
    Encoding::new("FMAXNMP (vector)", "0x101110_0x1xxxxx_110001xx_xxxxxxxx", S, fpv::lift_same, fpv::dis_same),
    Encoding::new("FADDP (vector)", "0x101110_0x1xxxxx_110101xx_xxxxxxxx", S, fpv::lift_same, fpv::dis_same),
    Encoding::new("FMUL (vector)", "0x101110_0x1xxxxx_110111xx_xxxxxxxx", S, fpv::lift_same, fpv::dis_same),
    Encoding::new("FCMGE (register, vector)", "0x101110_0x1xxxxx_111001xx_xxxxxxxx", S, fpv::lift_same, fpv::dis_same),
    Encoding::new("FACGE (vector)", "0x101110_0x1xxxxx_111011xx_xxxxxxxx", S, fpv::lift_same, fpv::dis_same),
    Encoding::new("FMAXP (vector)", "0x101110_0x1xxxxx_111101xx_xxxxxxxx", S, fpv::lift_same, fpv::dis_same),
    Encoding::new("FDIV (vector)", "0x101110_0x1xxxxx_111111xx_xxxxxxxx", S, fpv::lift_same, fpv::dis_same),
    Encoding::new("FMINNMP (vector)", "0x101110_1x1xxxxx_110001xx_xxxxxxxx", S, fpv::lift_same, fpv::dis_same),
    Encoding::new("FABD (vector)", "0x101110_1x1xxxxx_110101xx_xxxxxxxx", S, fpv::lift_same, fpv::dis_same),
    Encoding::new("FCMGT (register, vector)", "0x101110_1x1xxxxx_111001xx_xxxxxxxx", S, fpv::lift_same, fpv::dis_same),
    Encoding::new("FACGT (vector)", "0x101110_1x1xxxxx_111011xx_xxxxxxxx", S, fpv::lift_same, fpv::dis_same),
    Encoding::new("FMINP (vector)", "0x101110_1x1xxxxx_111101xx_xxxxxxxx", S, fpv::lift_same, fpv::dis_same),
    Encoding::new("FMULX (scalar)", "01011110_0x1xxxxx_110111xx_xxxxxxxx", S, fpv::lift_same_scalar, fpv::dis_same_scalar),
    Encoding::new("FCMEQ (register, scalar)", "01011110_0x1xxxxx_111001xx_xxxxxxxx", S, fpv::lift_same_scalar, fpv::dis_same_scalar),
    Encoding::new("FRECPS (scalar)", "01011110_0x1xxxxx_111111xx_xxxxxxxx", S, fpv::lift_same_scalar, fpv::dis_same_scalar),
    Encoding::new("FRSQRTS (scalar)", "01011110_1x1xxxxx_111111xx_xxxxxxxx", S, fpv::lift_same_scalar, fpv::dis_same_scalar),
    Encoding::new("FCMGE (register, scalar)", "01111110_0x1xxxxx_111001xx_xxxxxxxx", S, fpv::lift_same_scalar, fpv::dis_same_scalar),
    Encoding::new("FACGE (scalar)", "01111110_0x1xxxxx_111011xx_xxxxxxxx", S, fpv::lift_same_scalar, fpv::dis_same_scalar),
    Encoding::new("FABD (scalar)", "01111110_1x1xxxxx_110101xx_xxxxxxxx", S, fpv::lift_same_scalar, fpv::dis_same_scalar),
    Encoding::new("FCMGT (register, scalar)", "01111110_1x1xxxxx_111001xx_xxxxxxxx", S, fpv::lift_same_scalar, fpv::dis_same_scalar),
    Encoding::new("FACGT (scalar)", "01111110_1x1xxxxx_111011xx_xxxxxxxx", S, fpv::lift_same_scalar, fpv::dis_same_scalar),
    Encoding::new("FCVTN", "0x001110_0x100001_011010xx_xxxxxxxx", S, fpv::lift_misc, fpv::dis_misc),
    Encoding::new("FCVTXN (vector)", "0x101110_0x100001_011010xx_xxxxxxxx", S, fpv::lift_misc, fpv::dis_misc),
    Encoding::new("FCVTL", "0x001110_0x100001_011110xx_xxxxxxxx", S, fpv::lift_misc, fpv::dis_misc),
    Encoding::new("FRINTN (vector)", "0x001110_0x100001_100010xx_xxxxxxxx", S, fpv::lift_misc, fpv::dis_misc),
    Encoding::new("FRINTM (vector)", "0x001110_0x100001_100110xx_xxxxxxxx", S, fpv::lift_misc, fpv::dis_misc),
    Encoding::new("FCVTNS (vector)", "0x001110_0x100001_101010xx_xxxxxxxx", S, fpv::lift_misc, fpv::dis_misc),
    Encoding::new("FCVTMS (vector)", "0x001110_0x100001_101110xx_xxxxxxxx", S, fpv::lift_misc, fpv::dis_misc),
    Encoding::new("FCVTAS (vector)", "0x001110_0x100001_110010xx_xxxxxxxx", S, fpv::lift_misc, fpv::dis_misc),
    Encoding::new("SCVTF (vector, integer)", "0x001110_0x100001_110110xx_xxxxxxxx", S, fpv::lift_misc, fpv::dis_misc),
    Encoding::new("FCMGT (zero, vector)", "0x001110_1x100000_110010xx_xxxxxxxx", S, fpv::lift_misc, fpv::dis_misc),
    Encoding::new("FCMEQ (zero, vector)", "0x001110_1x100000_110110xx_xxxxxxxx", S, fpv::lift_misc, fpv::dis_misc),
    Encoding::new("FCMLT (zero, vector)", "0x001110_1x100000_111010xx_xxxxxxxx", S, fpv::lift_misc, fpv::dis_misc),
    Encoding::new("FABS (vector)", "0x001110_1x100000_111110xx_xxxxxxxx", S, fpv::lift_misc, fpv::dis_misc),
    Encoding::new("FRINTP (vector)", "0x001110_1x100001_100010xx_xxxxxxxx", S, fpv::lift_misc, fpv::dis_misc),
    Encoding::new("FRINTZ (vector)", "0x001110_1x100001_100110xx_xxxxxxxx", S, fpv::lift_misc, fpv::dis_misc),
    Encoding::new("FCVTPS (vector)", "0x001110_1x100001_101010xx_xxxxxxxx", S, fpv::lift_misc, fpv::dis_misc),
    Encoding::new("FCVTZS (vector, integer)", "0x001110_1x100001_101110xx_xxxxxxxx", S, fpv::lift_misc, fpv::dis_misc),
    Encoding::new("URECPE", "0x001110_1x100001_110010xx_xxxxxxxx", S, fpv::lift_misc, fpv::dis_misc),
    Encoding::new("FRECPE (vector)", "0x001110_1x100001_110110xx_xxxxxxxx", S, fpv::lift_misc, fpv::dis_misc),
    Encoding::new("FRINTA (vector)", "0x101110_0x100001_100010xx_xxxxxxxx", S, fpv::lift_misc, fpv::dis_misc),
    Encoding::new("FRINTX (vector)", "0x101110_0x100001_100110xx_xxxxxxxx", S, fpv::lift_misc, fpv::dis_misc),
    Encoding::new("FCVTNU (vector)", "0x101110_0x100001_101010xx_xxxxxxxx", S, fpv::lift_misc, fpv::dis_misc),
    Encoding::new("FCVTMU (vector)", "0x101110_0x100001_101110xx_xxxxxxxx", S, fpv::lift_misc, fpv::dis_misc),
    Encoding::new("FCVTAU (vector)", "0x101110_0x100001_110010xx_xxxxxxxx", S, fpv::lift_misc, fpv::dis_misc),
    Encoding::new("UCVTF (vector, integer)", "0x101110_0x100001_110110xx_xxxxxxxx", S, fpv::lift_misc, fpv::dis_misc),
    Encoding::new("FCMGE (zero, vector)", "0x101110_1x100000_110010xx_xxxxxxxx", S, fpv::lift_misc, fpv::dis_misc),
    Encoding::new("FCMLE (zero, vector)", "0x101110_1x100000_110110xx_xxxxxxxx", S, fpv::lift_misc, fpv::dis_misc),
    Encoding::new("FNEG (vector)", "0x101110_1x100000_111110xx_xxxxxxxx", S, fpv::lift_misc, fpv::dis_misc),
    Encoding::new("FRINTI (vector)", "0x101110_1x100001_100110xx_xxxxxxxx", S, fpv::lift_misc, fpv::dis_misc),
    Encoding::new("FCVTPU (vector)", "0x101110_1x100001_101010xx_xxxxxxxx", S, fpv::lift_misc, fpv::dis_misc),
    Encoding::new("FCVTZU (vector, integer)", "0x101110_1x100001_101110xx_xxxxxxxx", S, fpv::lift_misc, fpv::dis_misc),
    Encoding::new("URSQRTE", "0x101110_1x100001_110010xx_xxxxxxxx", S, fpv::lift_misc, fpv::dis_misc),
    Encoding::new("FRSQRTE (vector)", "0x101110_1x100001_110110xx_xxxxxxxx", S, fpv::lift_misc, fpv::dis_misc),
    Encoding::new("FSQRT (vector)", "0x101110_1x100001_111110xx_xxxxxxxx", S, fpv::lift_misc, fpv::dis_misc),
    Encoding::new("FCVTNS (scalar SIMD)", "01011110_0x100001_101010xx_xxxxxxxx", S, fpv::lift_misc_scalar, fpv::dis_misc_scalar),
    Encoding::new("FCVTMS (scalar SIMD)", "01011110_0x100001_101110xx_xxxxxxxx", S, fpv::lift_misc_scalar, fpv::dis_misc_scalar),
    Encoding::new("FCVTAS (scalar SIMD)", "01011110_0x100001_110010xx_xxxxxxxx", S, fpv::lift_misc_scalar, fpv::dis_misc_scalar),
    Encoding::new("SCVTF (scalar SIMD, integer)", "01011110_0x100001_110110xx_xxxxxxxx", S, fpv::lift_misc_scalar, fpv::dis_misc_scalar),
    Encoding::new("FCMGT (zero, scalar)", "01011110_1x100000_110010xx_xxxxxxxx", S, fpv::lift_misc_scalar, fpv::dis_misc_scalar),
    Encoding::new("FCMEQ (zero, scalar)", "01011110_1x100000_110110xx_xxxxxxxx", S, fpv::lift_misc_scalar, fpv::dis_misc_scalar),
    Encoding::new("FCMLT (zero, scalar)", "01011110_1x100000_111010xx_xxxxxxxx", S, fpv::lift_misc_scalar, fpv::dis_misc_scalar),
    Encoding::new("FCVTPS (scalar SIMD)", "01011110_1x100001_101010xx_xxxxxxxx", S, fpv::lift_misc_scalar, fpv::dis_misc_scalar),
    Encoding::new("FCVTZS (scalar SIMD, integer)", "01011110_1x100001_101110xx_xxxxxxxx", S, fpv::lift_misc_scalar, fpv::dis_misc_scalar),
    Encoding::new("FRECPE (scalar)", "01011110_1x100001_110110xx_xxxxxxxx", S, fpv::lift_misc_scalar, fpv::dis_misc_scalar),
    Encoding::new("FRECPX", "01011110_1x100001_111110xx_xxxxxxxx", S, fpv::lift_misc_scalar, fpv::dis_misc_scalar),
    Encoding::new("FCVTXN (scalar)", "01111110_0x100001_011010xx_xxxxxxxx", S, fpv::lift_misc_scalar, fpv::dis_misc_scalar),
    Encoding::new("FCVTNU (scalar SIMD)", "01111110_0x100001_101010xx_xxxxxxxx", S, fpv::lift_misc_scalar, fpv::dis_misc_scalar),
    Encoding::new("FCVTMU (scalar SIMD)", "01111110_0x100001_101110xx_xxxxxxxx", S, fpv::lift_misc_scalar, fpv::dis_misc_scalar),
    Encoding::new("FCVTAU (scalar SIMD)", "01111110_0x100001_110010xx_xxxxxxxx", S, fpv::lift_misc_scalar, fpv::dis_misc_scalar),
    Encoding::new("UCVTF (scalar SIMD, integer)", "01111110_0x100001_110110xx_xxxxxxxx", S, fpv::lift_misc_scalar, fpv::dis_misc_scalar),
    Encoding::new("FCMGE (zero, scalar)", "01111110_1x100000_110010xx_xxxxxxxx", S, fpv::lift_misc_scalar, fpv::dis_misc_scalar),
    Encoding::new("FCMLE (zero, scalar)", "01111110_1x100000_110110xx_xxxxxxxx", S, fpv::lift_misc_scalar, fpv::dis_misc_scalar),
    Encoding::new("FCVTPU (scalar SIMD)", "01111110_1x100001_101010xx_xxxxxxxx", S, fpv::lift_misc_scalar, fpv::dis_misc_scalar),
    Encoding::new("FCVTZU (scalar SIMD, integer)", "01111110_1x100001_101110xx_xxxxxxxx", S, fpv::lift_misc_scalar, fpv::dis_misc_scalar),
    Encoding::new("FRSQRTE (scalar)", "01111110_1x100001_110110xx_xxxxxxxx", S, fpv::lift_misc_scalar, fpv::dis_misc_scalar),
    Encoding::new("FMAXNMP (scalar)", "01111110_0x110000_110010xx_xxxxxxxx", S, fpv::lift_pair_scalar, fpv::dis_pair_scalar),
    Encoding::new("FADDP (scalar)", "01111110_0x110000_110110xx_xxxxxxxx", S, fpv::lift_pair_scalar, fpv::dis_pair_scalar),
    Encoding::new("FMAXP (scalar)", "01111110_0x110000_111110xx_xxxxxxxx", S, fpv::lift_pair_scalar, fpv::dis_pair_scalar),
    Encoding::new("FMINNMP (scalar)", "01111110_1x110000_110010xx_xxxxxxxx", S, fpv::lift_pair_scalar, fpv::dis_pair_scalar),
    Encoding::new("FMINP (scalar)", "01111110_1x110000_111110xx_xxxxxxxx", S, fpv::lift_pair_scalar, fpv::dis_pair_scalar),
    Encoding::new("FMAXNMV", "0x101110_0x110000_110010xx_xxxxxxxx", S, fpv::lift_across, fpv::dis_across),
    Encoding::new("FMAXV", "0x101110_0x110000_111110xx_xxxxxxxx", S, fpv::lift_across, fpv::dis_across),
    Encoding::new("FMINNMV", "0x101110_1x110000_110010xx_xxxxxxxx", S, fpv::lift_across, fpv::dis_across),
    Encoding::new("FMINV", "0x101110_1x110000_111110xx_xxxxxxxx", S, fpv::lift_across, fpv::dis_across),
    Encoding::new("FMLA (by element)", "0x001111_1xxxxxxx_0001x0xx_xxxxxxxx", S, fpv::lift_by_elem, fpv::dis_by_elem),
    Encoding::new("FMLS (by element)", "0x001111_1xxxxxxx_0101x0xx_xxxxxxxx", S, fpv::lift_by_elem, fpv::dis_by_elem),
    Encoding::new("FMUL (by element)", "0x001111_1xxxxxxx_1001x0xx_xxxxxxxx", S, fpv::lift_by_elem, fpv::dis_by_elem),
    Encoding::new("FMULX (by element)", "0x101111_1xxxxxxx_1001x0xx_xxxxxxxx", S, fpv::lift_by_elem, fpv::dis_by_elem),
    Encoding::new("FMLA (by element, scalar)", "01011111_1xxxxxxx_0001x0xx_xxxxxxxx", S, fpv::lift_by_elem_scalar, fpv::dis_by_elem_scalar),
    Encoding::new("FMLS (by element, scalar)", "01011111_1xxxxxxx_0101x0xx_xxxxxxxx", S, fpv::lift_by_elem_scalar, fpv::dis_by_elem_scalar),
    Encoding::new("FMUL (by element, scalar)", "01011111_1xxxxxxx_1001x0xx_xxxxxxxx", S, fpv::lift_by_elem_scalar, fpv::dis_by_elem_scalar),
    Encoding::new("FMULX (by element, scalar)", "01111111_1xxxxxxx_1001x0xx_xxxxxxxx", S, fpv::lift_by_elem_scalar, fpv::dis_by_elem_scalar),
];
#[rustfmt::skip]
const FP_FIXED_ROWS: &[Encoding] = shift_rows!(fpv::lift_fixed, fpv::dis_fixed, "0x", "011110";
    "SCVTF (vector, fixed-point)" "0" "11100" ["1xxx" "01xx"]
    "UCVTF (vector, fixed-point)" "1" "11100" ["1xxx" "01xx"]
    "FCVTZS (vector, fixed-point)" "0" "11111" ["1xxx" "01xx"]
    "FCVTZU (vector, fixed-point)" "1" "11111" ["1xxx" "01xx"]
);
#[rustfmt::skip]
const FP_FIXED_SCALAR_ROWS: &[Encoding] = shift_rows!(fpv::lift_fixed_scalar, fpv::dis_fixed_scalar, "01", "111110";
    "SCVTF (scalar SIMD, fixed-point)" "0" "11100" ["1xxx" "01xx"]
    "UCVTF (scalar SIMD, fixed-point)" "1" "11100" ["1xxx" "01xx"]
    "FCVTZS (scalar SIMD, fixed-point)" "0" "11111" ["1xxx" "01xx"]
    "FCVTZU (scalar SIMD, fixed-point)" "1" "11111" ["1xxx" "01xx"]
);

// ---- cryptographic extension ----
const C: Class = Class::Crypto;
#[rustfmt::skip]
const CRYPTO_ROWS: &[Encoding] = &[
    Encoding::new("AESE", "01001110_00101000_010010xx_xxxxxxxx", C, crypto::lift_aes, crypto::dis_aes),
    Encoding::new("AESD", "01001110_00101000_010110xx_xxxxxxxx", C, crypto::lift_aes, crypto::dis_aes),
    Encoding::new("AESMC", "01001110_00101000_011010xx_xxxxxxxx", C, crypto::lift_aes, crypto::dis_aes),
    Encoding::new("AESIMC", "01001110_00101000_011110xx_xxxxxxxx", C, crypto::lift_aes, crypto::dis_aes),
    Encoding::new("SHA1C", "01011110_000xxxxx_000000xx_xxxxxxxx", C, crypto::lift_sha3, crypto::dis_sha3),
    Encoding::new("SHA1P", "01011110_000xxxxx_000100xx_xxxxxxxx", C, crypto::lift_sha3, crypto::dis_sha3),
    Encoding::new("SHA1M", "01011110_000xxxxx_001000xx_xxxxxxxx", C, crypto::lift_sha3, crypto::dis_sha3),
    Encoding::new("SHA1SU0", "01011110_000xxxxx_001100xx_xxxxxxxx", C, crypto::lift_sha3, crypto::dis_sha3),
    Encoding::new("SHA256H", "01011110_000xxxxx_010000xx_xxxxxxxx", C, crypto::lift_sha3, crypto::dis_sha3),
    Encoding::new("SHA256H2", "01011110_000xxxxx_010100xx_xxxxxxxx", C, crypto::lift_sha3, crypto::dis_sha3),
    Encoding::new("SHA256SU1", "01011110_000xxxxx_011000xx_xxxxxxxx", C, crypto::lift_sha3, crypto::dis_sha3),
    Encoding::new("SHA1H", "01011110_00101000_000010xx_xxxxxxxx", C, crypto::lift_sha2, crypto::dis_sha2),
    Encoding::new("SHA1SU1", "01011110_00101000_000110xx_xxxxxxxx", C, crypto::lift_sha2, crypto::dis_sha2),
    Encoding::new("SHA256SU0", "01011110_00101000_001010xx_xxxxxxxx", C, crypto::lift_sha2, crypto::dis_sha2),
];

#[cfg(test)]
pub(crate) mod tests;
