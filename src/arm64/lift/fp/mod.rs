//! Lifters for scalar floating point: the A64 "Floating-point data-processing (1, 2 and
//! 3 source)", "Floating-point compare / conditional compare / conditional select /
//! immediate" and "Conversion between floating-point and integer / fixed-point" groups,
//! single and double precision (half precision only as an FCVT operand or result;
//! FEAT_FP16 arithmetic, BFCVT, FJCVTZS and FRINT32/64 are not implemented and have no
//! rows, so they raise SIGILL).
//!
//! Data movement (FMOV, FABS, FNEG, FCSEL) is plain IR on vector lanes. Everything that
//! rounds, raises FPSR flags or depends on FPCR calls a helper: the helper reads FPCR,
//! ORs the cumulative exception flags into FPSR, and returns the result bits, which the
//! IR writes back (a scalar S/D write zeroes the rest of the 128-bit register). The
//! Arm semantics live in [`sem`] as ordinary functions on bit patterns, built on host
//! SSE/FMA primitives in `host`.

pub mod host;
pub mod sem;
#[cfg(test)]
mod tests;

use super::{bit, bits, helper, Flow, LiftError, Lifted, Lifter};
use crate::arm64::cpu::Cpu;
use crate::arm64::decode::{Class, Encoding, LiftFn};
use crate::arm64::disas;
use crate::ir::{FastFp, FpOp, Helper, Val, W};
use host::Op2;
use sem::{Float, Fmt, MinMax, Rounding, F16, F32, F64};

const fn row(name: &'static str, pat: &'static str, lift: LiftFn) -> Encoding {
    Encoding::new(name, pat, Class::Fp, lift, disassemble)
}

// Field layout reminders (ftype "0x" = single or double only):
//   1 source:     000 11110 ftype 1 opcode(6) 10000 Rn Rd
//   2 source:     000 11110 ftype 1 Rm opcode(4) 10 Rn Rd
//   3 source:     000 11111 ftype o1 Rm o0 Ra Rn Rd
//   compare:      000 11110 ftype 1 Rm 00 1000 Rn opc(2) 000
//   cond compare: 000 11110 ftype 1 Rm cond 01 Rn op nzcv
//   cond select:  000 11110 ftype 1 Rm cond 11 Rn Rd
//   immediate:    000 11110 ftype 1 imm8 100 00000 Rd
//   integer:      sf 00 11110 ftype 1 rmode opcode(3) 000000 Rn Rd
//   fixed-point:  sf 00 11110 ftype 0 rmode opcode(3) scale(6) Rn Rd
#[rustfmt::skip]
pub const ENCODINGS: &[Encoding] = &[
    row("FMOV (register)",  "000 11110 0x 1 000000 10000 xxxxx xxxxx", lift_fmov_reg),
    row("FABS (scalar)",    "000 11110 0x 1 000001 10000 xxxxx xxxxx", lift_fabs_fneg),
    row("FNEG (scalar)",    "000 11110 0x 1 000010 10000 xxxxx xxxxx", lift_fabs_fneg),
    row("FSQRT (scalar)",   "000 11110 0x 1 000011 10000 xxxxx xxxxx", lift_fsqrt),
    row("FCVT",             "000 11110 00 1 000101 10000 xxxxx xxxxx", lift_fcvt),
    row("FCVT",             "000 11110 00 1 000111 10000 xxxxx xxxxx", lift_fcvt),
    row("FCVT",             "000 11110 01 1 000100 10000 xxxxx xxxxx", lift_fcvt),
    row("FCVT",             "000 11110 01 1 000111 10000 xxxxx xxxxx", lift_fcvt),
    row("FCVT",             "000 11110 11 1 000100 10000 xxxxx xxxxx", lift_fcvt),
    row("FCVT",             "000 11110 11 1 000101 10000 xxxxx xxxxx", lift_fcvt),
    row("FRINTN (scalar)",  "000 11110 0x 1 001000 10000 xxxxx xxxxx", lift_frint),
    row("FRINTP (scalar)",  "000 11110 0x 1 001001 10000 xxxxx xxxxx", lift_frint),
    row("FRINTM (scalar)",  "000 11110 0x 1 001010 10000 xxxxx xxxxx", lift_frint),
    row("FRINTZ (scalar)",  "000 11110 0x 1 001011 10000 xxxxx xxxxx", lift_frint),
    row("FRINTA (scalar)",  "000 11110 0x 1 001100 10000 xxxxx xxxxx", lift_frint),
    row("FRINTX (scalar)",  "000 11110 0x 1 001110 10000 xxxxx xxxxx", lift_frint),
    row("FRINTI (scalar)",  "000 11110 0x 1 001111 10000 xxxxx xxxxx", lift_frint),
    row("FMUL (scalar)",    "000 11110 0x 1 xxxxx 0000 10 xxxxx xxxxx", lift_fp2),
    row("FDIV (scalar)",    "000 11110 0x 1 xxxxx 0001 10 xxxxx xxxxx", lift_fp2),
    row("FADD (scalar)",    "000 11110 0x 1 xxxxx 0010 10 xxxxx xxxxx", lift_fp2),
    row("FSUB (scalar)",    "000 11110 0x 1 xxxxx 0011 10 xxxxx xxxxx", lift_fp2),
    row("FMAX (scalar)",    "000 11110 0x 1 xxxxx 0100 10 xxxxx xxxxx", lift_fp2),
    row("FMIN (scalar)",    "000 11110 0x 1 xxxxx 0101 10 xxxxx xxxxx", lift_fp2),
    row("FMAXNM (scalar)",  "000 11110 0x 1 xxxxx 0110 10 xxxxx xxxxx", lift_fp2),
    row("FMINNM (scalar)",  "000 11110 0x 1 xxxxx 0111 10 xxxxx xxxxx", lift_fp2),
    row("FNMUL (scalar)",   "000 11110 0x 1 xxxxx 1000 10 xxxxx xxxxx", lift_fp2),
    row("FMADD",            "000 11111 0x 0 xxxxx 0 xxxxx xxxxx xxxxx", lift_fp3),
    row("FMSUB",            "000 11111 0x 0 xxxxx 1 xxxxx xxxxx xxxxx", lift_fp3),
    row("FNMADD",           "000 11111 0x 1 xxxxx 0 xxxxx xxxxx xxxxx", lift_fp3),
    row("FNMSUB",           "000 11111 0x 1 xxxxx 1 xxxxx xxxxx xxxxx", lift_fp3),
    row("FCMP",             "000 11110 0x 1 xxxxx 00 1000 xxxxx 0x 000", lift_fcmp),
    row("FCMPE",            "000 11110 0x 1 xxxxx 00 1000 xxxxx 1x 000", lift_fcmp),
    row("FCCMP",            "000 11110 0x 1 xxxxx xxxx 01 xxxxx 0 xxxx", lift_fccmp),
    row("FCCMPE",           "000 11110 0x 1 xxxxx xxxx 01 xxxxx 1 xxxx", lift_fccmp),
    row("FCSEL",            "000 11110 0x 1 xxxxx xxxx 11 xxxxx xxxxx", lift_fcsel),
    row("FMOV (scalar, immediate)", "000 11110 0x 1 xxxxxxxx 100 00000 xxxxx", lift_fmov_imm),
    row("FCVTNS (scalar)",  "x 00 11110 0x 1 00 000 000000 xxxxx xxxxx", lift_to_int),
    row("FCVTNU (scalar)",  "x 00 11110 0x 1 00 001 000000 xxxxx xxxxx", lift_to_int),
    row("SCVTF (scalar, integer)", "x 00 11110 0x 1 00 010 000000 xxxxx xxxxx", lift_from_int),
    row("UCVTF (scalar, integer)", "x 00 11110 0x 1 00 011 000000 xxxxx xxxxx", lift_from_int),
    row("FCVTAS (scalar)",  "x 00 11110 0x 1 00 100 000000 xxxxx xxxxx", lift_to_int),
    row("FCVTAU (scalar)",  "x 00 11110 0x 1 00 101 000000 xxxxx xxxxx", lift_to_int),
    row("FMOV (general)",   "0 00 11110 00 1 00 11x 000000 xxxxx xxxxx", lift_fmov_gen),
    row("FMOV (general)",   "1 00 11110 01 1 00 11x 000000 xxxxx xxxxx", lift_fmov_gen),
    row("FMOV (general)",   "1 00 11110 10 1 01 11x 000000 xxxxx xxxxx", lift_fmov_gen),
    row("FCVTPS (scalar)",  "x 00 11110 0x 1 01 000 000000 xxxxx xxxxx", lift_to_int),
    row("FCVTPU (scalar)",  "x 00 11110 0x 1 01 001 000000 xxxxx xxxxx", lift_to_int),
    row("FCVTMS (scalar)",  "x 00 11110 0x 1 10 000 000000 xxxxx xxxxx", lift_to_int),
    row("FCVTMU (scalar)",  "x 00 11110 0x 1 10 001 000000 xxxxx xxxxx", lift_to_int),
    row("FCVTZS (scalar, integer)", "x 00 11110 0x 1 11 000 000000 xxxxx xxxxx", lift_to_int),
    row("FCVTZU (scalar, integer)", "x 00 11110 0x 1 11 001 000000 xxxxx xxxxx", lift_to_int),
    row("SCVTF (scalar, fixed-point)",  "x 00 11110 0x 0 00 010 xxxxxx xxxxx xxxxx", lift_from_int),
    row("UCVTF (scalar, fixed-point)",  "x 00 11110 0x 0 00 011 xxxxxx xxxxx xxxxx", lift_from_int),
    row("FCVTZS (scalar, fixed-point)", "x 00 11110 0x 0 11 000 xxxxxx xxxxx xxxxx", lift_to_int),
    row("FCVTZU (scalar, fixed-point)", "x 00 11110 0x 0 11 001 xxxxxx xxxxx xxxxx", lift_to_int),
];

// ---- helpers called from generated code ------------------------------------------------

/// The guest CPU state behind a helper's first argument.
///
/// # Safety
/// `cpu` must be the `Cpu` pointer that generated code passes to every helper, and no
/// other reference to that `Cpu` may be live while the result is used.
unsafe fn cpu_of<'a>(cpu: *mut u8) -> &'a mut Cpu {
    // SAFETY: guaranteed by the caller (see above).
    unsafe { &mut *(cpu as *mut Cpu) }
}

/// Run `f(fpcr, &mut fpsr)` on the guest's FP control and status registers.
///
/// # Safety
/// As for [`cpu_of`].
unsafe fn with_fp(cpu: *mut u8, f: impl FnOnce(u64, &mut u64) -> u64) -> u64 {
    // SAFETY: guaranteed by the caller.
    let cpu = unsafe { cpu_of(cpu) };
    f(cpu.fpcr, &mut cpu.fpsr)
}

const ADD: u8 = 0;
const SUB: u8 = 1;
const MUL: u8 = 2;
const DIV: u8 = 3;

unsafe extern "C" fn h_arith<F: Float, const OP: u8>(
    c: *mut u8,
    a: u64,
    b: u64,
    _: u64,
    _: u64,
) -> u64 {
    let op = match OP {
        ADD => Op2::Add,
        SUB => Op2::Sub,
        MUL => Op2::Mul,
        _ => Op2::Div,
    };
    // SAFETY: generated code passes its own `Cpu` pointer as the first argument.
    unsafe { with_fp(c, |fpcr, fpsr| sem::arith::<F>(op, a, b, fpcr, fpsr)) }
}

const MAX: u8 = 0;
const MIN: u8 = 1;
const MAXNM: u8 = 2;
const MINNM: u8 = 3;

unsafe extern "C" fn h_minmax<F: Fmt, const OP: u8>(
    c: *mut u8,
    a: u64,
    b: u64,
    _: u64,
    _: u64,
) -> u64 {
    let op = match OP {
        MAX => MinMax::Max,
        MIN => MinMax::Min,
        MAXNM => MinMax::MaxNum,
        _ => MinMax::MinNum,
    };
    // SAFETY: generated code passes its own `Cpu` pointer as the first argument.
    unsafe { with_fp(c, |fpcr, fpsr| sem::minmax::<F>(op, a, b, fpcr, fpsr)) }
}

unsafe extern "C" fn h_fsqrt<F: Float>(c: *mut u8, a: u64, _: u64, _: u64, _: u64) -> u64 {
    // SAFETY: generated code passes its own `Cpu` pointer as the first argument.
    unsafe { with_fp(c, |fpcr, fpsr| sem::fsqrt::<F>(a, fpcr, fpsr)) }
}

/// `addend + n * m`, fused.
unsafe extern "C" fn h_fmuladd<F: Float>(c: *mut u8, addend: u64, n: u64, m: u64, _: u64) -> u64 {
    // SAFETY: generated code passes its own `Cpu` pointer as the first argument.
    unsafe { with_fp(c, |fpcr, fpsr| sem::fmuladd::<F>(addend, n, m, fpcr, fpsr)) }
}

/// FCMP/FCMPE: returns NZCV.
unsafe extern "C" fn h_fcmp<F: Fmt, const E: bool>(
    c: *mut u8,
    a: u64,
    b: u64,
    _: u64,
    _: u64,
) -> u64 {
    // SAFETY: generated code passes its own `Cpu` pointer as the first argument.
    unsafe { with_fp(c, |fpcr, fpsr| sem::compare::<F>(a, b, E, fpcr, fpsr)) }
}

/// FCCMP/FCCMPE: NZCV of the comparison when `holds`, else `nzcv` (no flags raised).
unsafe extern "C" fn h_fccmp<F: Fmt, const E: bool>(
    c: *mut u8,
    a: u64,
    b: u64,
    holds: u64,
    nzcv: u64,
) -> u64 {
    if holds == 0 {
        return nzcv;
    }
    // SAFETY: generated code passes its own `Cpu` pointer as the first argument.
    unsafe { with_fp(c, |fpcr, fpsr| sem::compare::<F>(a, b, E, fpcr, fpsr)) }
}

unsafe extern "C" fn h_fcvt<S: Fmt, D: Fmt>(c: *mut u8, a: u64, _: u64, _: u64, _: u64) -> u64 {
    // SAFETY: generated code passes its own `Cpu` pointer as the first argument.
    unsafe { with_fp(c, |fpcr, fpsr| sem::convert::<S, D>(a, fpcr, fpsr)) }
}

/// Rounding-mode field of a helper configuration word: 0..=4 name a [`Rounding`]
/// (N, P, M, Z, A); [`CFG_RM_FPCR`] means "FPCR.RMode".
const CFG_RM_FPCR: u64 = 7;
const CFG_EXACT: u64 = 1 << 11;
const CFG_UNSIGNED: u64 = 1 << 12;
const CFG_X: u64 = 1 << 13;

fn cfg_rounding(cfg: u64, fpcr: u64) -> Rounding {
    match (cfg >> 8) & 7 {
        0 => Rounding::TieEven,
        1 => Rounding::PosInf,
        2 => Rounding::NegInf,
        3 => Rounding::Zero,
        4 => Rounding::TieAway,
        _ => Rounding::from_fpcr(fpcr),
    }
}

fn rounding_code(r: Rounding) -> u64 {
    match r {
        Rounding::TieEven => 0,
        Rounding::PosInf => 1,
        Rounding::NegInf => 2,
        Rounding::Zero => 3,
        Rounding::TieAway => 4,
    }
}

/// FRINT*: `cfg` = rounding << 8 | exact.
unsafe extern "C" fn h_frint<F: Fmt>(c: *mut u8, a: u64, cfg: u64, _: u64, _: u64) -> u64 {
    // SAFETY: generated code passes its own `Cpu` pointer as the first argument.
    unsafe {
        with_fp(c, |fpcr, fpsr| {
            let rm = cfg_rounding(cfg, fpcr);
            sem::round_int::<F>(a, rm, cfg & CFG_EXACT != 0, fpcr, fpsr)
        })
    }
}

/// FCVT[NPMZA][SU]: `cfg` = fbits | rounding << 8 | unsigned | 64-bit.
unsafe extern "C" fn h_to_int<F: Fmt>(c: *mut u8, a: u64, cfg: u64, _: u64, _: u64) -> u64 {
    let fbits = (cfg & 0x7f) as u32;
    let unsigned = cfg & CFG_UNSIGNED != 0;
    let width = if cfg & CFG_X != 0 { 64 } else { 32 };
    // SAFETY: generated code passes its own `Cpu` pointer as the first argument.
    unsafe {
        with_fp(c, |fpcr, fpsr| {
            let rm = cfg_rounding(cfg, fpcr);
            sem::to_fixed::<F>(a, fbits, unsigned, width, rm, fpcr, fpsr)
        })
    }
}

/// SCVTF/UCVTF: `cfg` = fbits | unsigned | 64-bit source.
unsafe extern "C" fn h_from_int<F: Fmt>(c: *mut u8, x: u64, cfg: u64, _: u64, _: u64) -> u64 {
    let fbits = (cfg & 0x7f) as u32;
    let unsigned = cfg & CFG_UNSIGNED != 0;
    let width = if cfg & CFG_X != 0 { 64 } else { 32 };
    // SAFETY: generated code passes its own `Cpu` pointer as the first argument.
    unsafe {
        with_fp(c, |fpcr, fpsr| {
            sem::from_fixed::<F>(x, fbits, unsigned, width, fpcr, fpsr)
        })
    }
}

/// Single- and double-precision versions of a helper, indexed by `ftype<0>`.
type Pair = [Helper; 2];

macro_rules! pair {
    ($s:literal, $d:literal, $f:ident $(, $c:expr)*) => {
        [
            helper($s, $f::<F32 $(, $c)*>),
            helper($d, $f::<F64 $(, $c)*>),
        ]
    };
}

const H_FADD: Pair = pair!("fadd_s", "fadd_d", h_arith, ADD);
const H_FSUB: Pair = pair!("fsub_s", "fsub_d", h_arith, SUB);
const H_FMUL: Pair = pair!("fmul_s", "fmul_d", h_arith, MUL);
const H_FDIV: Pair = pair!("fdiv_s", "fdiv_d", h_arith, DIV);
const H_FMAX: Pair = pair!("fmax_s", "fmax_d", h_minmax, MAX);
const H_FMIN: Pair = pair!("fmin_s", "fmin_d", h_minmax, MIN);
const H_FMAXNM: Pair = pair!("fmaxnm_s", "fmaxnm_d", h_minmax, MAXNM);
const H_FMINNM: Pair = pair!("fminnm_s", "fminnm_d", h_minmax, MINNM);
const H_FSQRT: Pair = pair!("fsqrt_s", "fsqrt_d", h_fsqrt);
const H_FMULADD: Pair = pair!("fmuladd_s", "fmuladd_d", h_fmuladd);
const H_FCMP: Pair = pair!("fcmp_s", "fcmp_d", h_fcmp, false);
const H_FCMPE: Pair = pair!("fcmpe_s", "fcmpe_d", h_fcmp, true);
const H_FCCMP: Pair = pair!("fccmp_s", "fccmp_d", h_fccmp, false);
const H_FCCMPE: Pair = pair!("fccmpe_s", "fccmpe_d", h_fccmp, true);
const H_FRINT: Pair = pair!("frint_s", "frint_d", h_frint);
const H_TO_INT: Pair = pair!("fcvt_to_int_s", "fcvt_to_int_d", h_to_int);
const H_FROM_INT: Pair = pair!("cvtf_s", "cvtf_d", h_from_int);

// ---- lifters ---------------------------------------------------------------------------

fn rd(w: u32) -> u32 {
    bits(w, 4, 0)
}
fn rn(w: u32) -> u32 {
    bits(w, 9, 5)
}
fn rm(w: u32) -> u32 {
    bits(w, 20, 16)
}
/// Double (rather than single) precision, from `ftype` of an S/D-only row.
fn dbl(w: u32) -> bool {
    bit(w, 22) == 1
}
fn idx(w: u32) -> usize {
    bit(w, 22) as usize
}

/// The low 64 bits of V`r` (a single-precision operand is in the low 32).
fn vread(l: &mut Lifter, r: u32) -> Val {
    l.b.get_vlane(r as u8, 0)
}

/// Write a scalar result (a single already zero-extended to 64 bits) to V`r` and zero
/// bits 127..64.
fn vwrite(l: &mut Lifter, r: u32, v: Val) {
    l.b.set_vlane(r as u8, 0, v);
    let z = l.konst(0);
    l.b.set_vlane(r as u8, 1, z);
}

fn sign_mask(d: bool) -> u64 {
    if d {
        1 << 63
    } else {
        1 << 31
    }
}

fn lift_fmov_reg(l: &mut Lifter, w: u32) -> Lifted {
    let mut v = vread(l, rn(w));
    if !dbl(w) {
        v = l.b.un(crate::ir::UnOp::Zext32, W::W64, v);
    }
    vwrite(l, rd(w), v);
    Ok(Flow::Next)
}

/// FABS clears and FNEG flips the sign bit: no exceptions, NaNs included.
fn lift_fabs_fneg(l: &mut Lifter, w: u32) -> Lifted {
    let d = dbl(w);
    let width = if d { W::W64 } else { W::W32 };
    let v = vread(l, rn(w));
    let r = if bits(w, 20, 15) == 1 {
        let k = l.konst(!sign_mask(d) & width.mask());
        l.b.and(width, v, k)
    } else {
        let k = l.konst(sign_mask(d));
        l.b.xor(width, v, k)
    };
    vwrite(l, rd(w), r);
    Ok(Flow::Next)
}

fn lift_fsqrt(l: &mut Lifter, w: u32) -> Lifted {
    let v = vread(l, rn(w));
    let h = H_FSQRT[idx(w)].with_fast(FastFp::Sqrt { double: dbl(w) });
    let r = l.b.call(h, &[v]);
    vwrite(l, rd(w), r);
    Ok(Flow::Next)
}

fn lift_fcvt(l: &mut Lifter, w: u32) -> Lifted {
    let h = match (bits(w, 23, 22), bits(w, 16, 15)) {
        (0, 1) => helper("fcvt_s_d", h_fcvt::<F32, F64>).with_fast(FastFp::Cvt { to_double: true }),
        (0, 3) => helper("fcvt_s_h", h_fcvt::<F32, F16>),
        (1, 0) => {
            helper("fcvt_d_s", h_fcvt::<F64, F32>).with_fast(FastFp::Cvt { to_double: false })
        }
        (1, 3) => helper("fcvt_d_h", h_fcvt::<F64, F16>),
        (3, 0) => helper("fcvt_h_s", h_fcvt::<F16, F32>),
        (3, 1) => helper("fcvt_h_d", h_fcvt::<F16, F64>),
        _ => return Err(LiftError::Undefined),
    };
    let v = vread(l, rn(w));
    let r = l.b.call(h, &[v]);
    vwrite(l, rd(w), r);
    Ok(Flow::Next)
}

fn lift_frint(l: &mut Lifter, w: u32) -> Lifted {
    let cfg = match bits(w, 17, 15) {
        m @ 0..=3 => (m as u64) << 8,
        4 => rounding_code(Rounding::TieAway) << 8,
        6 => CFG_RM_FPCR << 8 | CFG_EXACT,
        7 => CFG_RM_FPCR << 8,
        _ => return Err(LiftError::Undefined),
    };
    let v = vread(l, rn(w));
    let k = l.konst(cfg);
    let r = l.b.call(H_FRINT[idx(w)], &[v, k]);
    vwrite(l, rd(w), r);
    Ok(Flow::Next)
}

fn lift_fp2(l: &mut Lifter, w: u32) -> Lifted {
    let i = idx(w);
    let op = bits(w, 15, 12);
    let arith = |h: Helper, op| h.with_fast(FastFp::Arith { op, double: dbl(w) });
    let h = match op {
        0 | 8 => arith(H_FMUL[i], FpOp::Mul),
        1 => arith(H_FDIV[i], FpOp::Div),
        2 => arith(H_FADD[i], FpOp::Add),
        3 => arith(H_FSUB[i], FpOp::Sub),
        4 => H_FMAX[i],
        5 => H_FMIN[i],
        6 => H_FMAXNM[i],
        7 => H_FMINNM[i],
        _ => return Err(LiftError::Undefined),
    };
    let a = vread(l, rn(w));
    let b = vread(l, rm(w));
    let mut r = l.b.call(h, &[a, b]);
    if op == 8 {
        // FNMUL = FPNeg(FPMul(...)): the sign flip applies to NaN results too.
        let k = l.konst(sign_mask(dbl(w)));
        r = l.b.xor(W::W64, r, k);
    }
    vwrite(l, rd(w), r);
    Ok(Flow::Next)
}

fn lift_fp3(l: &mut Lifter, w: u32) -> Lifted {
    let (o1, o0) = (bit(w, 21), bit(w, 15));
    let mut a = vread(l, bits(w, 14, 10));
    let mut n = vread(l, rn(w));
    let m = vread(l, rm(w));
    // FMSUB: a + (-n)m; FNMADD: (-a) + (-n)m; FNMSUB: (-a) + nm. FPNeg happens before
    // NaN processing, so a NaN operand comes out with its sign flipped.
    let k = l.konst(sign_mask(dbl(w)));
    if o1 != o0 {
        n = l.b.xor(W::W64, n, k);
    }
    if o1 == 1 {
        a = l.b.xor(W::W64, a, k);
    }
    let h = H_FMULADD[idx(w)].with_fast(FastFp::MulAdd { double: dbl(w) });
    let r = l.b.call(h, &[a, n, m]);
    vwrite(l, rd(w), r);
    Ok(Flow::Next)
}

fn lift_fcmp(l: &mut Lifter, w: u32) -> Lifted {
    let a = vread(l, rn(w));
    let b = if bit(w, 3) == 1 {
        l.konst(0)
    } else {
        vread(l, rm(w))
    };
    let h = if bit(w, 4) == 1 { H_FCMPE } else { H_FCMP }[idx(w)];
    // Ordered operands raise nothing for either form.
    let h = h.with_fast(FastFp::Cmp { double: dbl(w) });
    let r = l.b.call(h, &[a, b]);
    l.b.set_nzcv(r);
    Ok(Flow::Next)
}

fn lift_fccmp(l: &mut Lifter, w: u32) -> Lifted {
    let a = vread(l, rn(w));
    let b = vread(l, rm(w));
    let nzcv = l.b.get_nzcv();
    let holds = l.b.cond(bits(w, 15, 12) as u8, nzcv);
    let imm = l.konst((bits(w, 3, 0) as u64) << 28);
    let h = if bit(w, 4) == 1 { H_FCCMPE } else { H_FCCMP }[idx(w)];
    let r = l.b.call(h, &[a, b, holds, imm]);
    l.b.set_nzcv(r);
    Ok(Flow::Next)
}

fn lift_fcsel(l: &mut Lifter, w: u32) -> Lifted {
    let a = vread(l, rn(w));
    let b = vread(l, rm(w));
    let nzcv = l.b.get_nzcv();
    let c = l.b.cond(bits(w, 15, 12) as u8, nzcv);
    let mut r = l.b.select(c, a, b);
    if !dbl(w) {
        r = l.b.un(crate::ir::UnOp::Zext32, W::W64, r);
    }
    vwrite(l, rd(w), r);
    Ok(Flow::Next)
}

fn fmov_imm_value(w: u32) -> u64 {
    let imm8 = bits(w, 20, 13);
    if dbl(w) {
        sem::expand_imm::<F64>(imm8)
    } else {
        sem::expand_imm::<F32>(imm8)
    }
}

fn lift_fmov_imm(l: &mut Lifter, w: u32) -> Lifted {
    let v = l.konst(fmov_imm_value(w));
    vwrite(l, rd(w), v);
    Ok(Flow::Next)
}

fn lift_fmov_gen(l: &mut Lifter, w: u32) -> Lifted {
    let to_fp = bit(w, 16) == 1;
    match (bit(w, 31), bits(w, 23, 22)) {
        (0, 0) if to_fp => {
            let x = l.x(rn(w));
            let x = l.narrow(W::W32, x);
            vwrite(l, rd(w), x);
        }
        (0, 0) => {
            let v = vread(l, rn(w));
            l.set_x(W::W32, rd(w), v);
        }
        (1, 1) if to_fp => {
            let x = l.x(rn(w));
            vwrite(l, rd(w), x);
        }
        (1, 1) => {
            let v = vread(l, rn(w));
            l.set_x(W::W64, rd(w), v);
        }
        // FMOV Vd.D[1], Xn writes only the top half.
        (1, 2) if to_fp => {
            let x = l.x(rn(w));
            l.b.set_vlane(rd(w) as u8, 1, x);
        }
        (1, 2) => {
            let v = l.b.get_vlane(rn(w) as u8, 1);
            l.set_x(W::W64, rd(w), v);
        }
        _ => return Err(LiftError::Undefined),
    }
    Ok(Flow::Next)
}

/// The number of fraction bits of a fixed-point conversion, if the scale is allocated.
fn fbits_of(w: u32) -> Option<u32> {
    let scale = bits(w, 15, 10);
    if bit(w, 31) == 0 && scale < 32 {
        return None;
    }
    Some(64 - scale)
}

fn is_fixed(w: u32) -> bool {
    bit(w, 21) == 0
}

fn lift_to_int(l: &mut Lifter, w: u32) -> Lifted {
    let sf = bit(w, 31) == 1;
    let opcode = bits(w, 18, 16);
    let (fbits, rm) = if is_fixed(w) {
        (fbits_of(w).ok_or(LiftError::Undefined)?, Rounding::Zero)
    } else if opcode & 4 != 0 {
        (0, Rounding::TieAway)
    } else {
        (0, Rounding::from_rmode(bits(w, 20, 19)))
    };
    let mut cfg = fbits as u64 | rounding_code(rm) << 8;
    if opcode & 1 != 0 {
        cfg |= CFG_UNSIGNED;
    }
    if sf {
        cfg |= CFG_X;
    }
    let mut h = H_TO_INT[idx(w)];
    let unsigned = opcode & 1 != 0;
    if fbits == 0 && rm == Rounding::Zero && !(sf && unsigned) {
        h = h.with_fast(FastFp::ToInt {
            double: dbl(w),
            x: sf,
            unsigned,
        });
    }
    let v = vread(l, rn(w));
    let k = l.konst(cfg);
    let r = l.b.call(h, &[v, k]);
    l.set_x(W::from_sf(bit(w, 31)), rd(w), r);
    Ok(Flow::Next)
}

fn lift_from_int(l: &mut Lifter, w: u32) -> Lifted {
    let fbits = if is_fixed(w) {
        fbits_of(w).ok_or(LiftError::Undefined)?
    } else {
        0
    };
    let mut cfg = fbits as u64;
    if bit(w, 16) == 1 {
        cfg |= CFG_UNSIGNED;
    }
    if bit(w, 31) == 1 {
        cfg |= CFG_X;
    }
    let mut h = H_FROM_INT[idx(w)];
    let (x64, unsigned) = (bit(w, 31) == 1, bit(w, 16) == 1);
    if fbits == 0 && !(x64 && unsigned) {
        h = h.with_fast(FastFp::FromInt {
            double: dbl(w),
            x: x64,
            unsigned,
        });
    }
    let x = l.x(rn(w));
    let k = l.konst(cfg);
    let r = l.b.call(h, &[x, k]);
    vwrite(l, rd(w), r);
    Ok(Flow::Next)
}

// ---- disassembly -----------------------------------------------------------------------

/// `s3`/`d3`/`h3` for an `ftype` value.
fn fpr(n: u32, ftype: u32) -> String {
    let p = match ftype {
        0 => 's',
        1 => 'd',
        3 => 'h',
        _ => 'q',
    };
    format!("{p}{n}")
}

/// A floating-point immediate as objdump prints it (C's `%.18e`).
fn fimm(v: f64) -> String {
    let s = format!("{v:.18e}");
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    let sign = if e < 0 { '-' } else { '+' };
    format!("#{m}e{sign}{:02}", e.unsigned_abs())
}

/// One formatter for every row: the fields tell the groups apart.
fn disassemble(w: u32, _pc: u64) -> String {
    let ft = bits(w, 23, 22);
    let (d, n, m) = (fpr(rd(w), ft), fpr(rn(w), ft), fpr(rm(w), ft));
    if bits(w, 28, 24) == 0b11111 {
        let mn = ["fmadd", "fmsub", "fnmadd", "fnmsub"][(bit(w, 21) * 2 + bit(w, 15)) as usize];
        let a = fpr(bits(w, 14, 10), ft);
        return format!("{mn} {d}, {n}, {m}, {a}");
    }
    if bit(w, 21) == 0 || bits(w, 15, 10) == 0 {
        return dis_conv(w);
    }
    if bits(w, 14, 10) == 0b10000 {
        let op = bits(w, 20, 15);
        let mn = match op {
            0 => "fmov",
            1 => "fabs",
            2 => "fneg",
            3 => "fsqrt",
            4 | 5 | 7 => "fcvt",
            8 => "frintn",
            9 => "frintp",
            10 => "frintm",
            11 => "frintz",
            12 => "frinta",
            14 => "frintx",
            _ => "frinti",
        };
        let d = if (4..=7).contains(&op) {
            fpr(rd(w), op & 3)
        } else {
            d
        };
        return format!("{mn} {d}, {n}");
    }
    match bits(w, 11, 10) {
        0b10 => {
            let mn = [
                "fmul", "fdiv", "fadd", "fsub", "fmax", "fmin", "fmaxnm", "fminnm", "fnmul",
            ][bits(w, 15, 12).min(8) as usize];
            format!("{mn} {d}, {n}, {m}")
        }
        0b01 => {
            let mn = if bit(w, 4) == 1 { "fccmpe" } else { "fccmp" };
            let cc = disas::cond(bits(w, 15, 12));
            format!("{mn} {n}, {m}, #{:#x}, {cc}", bits(w, 3, 0))
        }
        0b11 => format!("fcsel {d}, {n}, {m}, {}", disas::cond(bits(w, 15, 12))),
        _ if bit(w, 12) == 1 => {
            let v = fmov_imm_value(w);
            let f = if dbl(w) {
                f64::from_bits(v)
            } else {
                f32::from_bits(v as u32) as f64
            };
            format!("fmov {d}, {}", fimm(f))
        }
        _ => {
            let mn = if bit(w, 4) == 1 { "fcmpe" } else { "fcmp" };
            if bit(w, 3) == 1 {
                format!("{mn} {n}, #0.0")
            } else {
                format!("{mn} {n}, {m}")
            }
        }
    }
}

fn dis_conv(w: u32) -> String {
    let sf = bit(w, 31) == 1;
    let ft = bits(w, 23, 22);
    let opcode = bits(w, 18, 16);
    let rmode = bits(w, 20, 19);
    let (x, v) = (disas::r(rd(w), sf), fpr(rn(w), ft));
    if is_fixed(w) {
        let fb = 64 - bits(w, 15, 10);
        return match opcode {
            2 => format!("scvtf {}, {}, #{fb}", fpr(rd(w), ft), disas::r(rn(w), sf)),
            3 => format!("ucvtf {}, {}, #{fb}", fpr(rd(w), ft), disas::r(rn(w), sf)),
            0 => format!("fcvtzs {x}, {v}, #{fb}"),
            _ => format!("fcvtzu {x}, {v}, #{fb}"),
        };
    }
    match opcode {
        2 | 3 => {
            let mn = if opcode == 2 { "scvtf" } else { "ucvtf" };
            format!("{mn} {}, {}", fpr(rd(w), ft), disas::r(rn(w), sf))
        }
        6 if ft == 2 => format!("fmov {x}, v{}.d[1]", rn(w)),
        7 if ft == 2 => format!("fmov v{}.d[1], {}", rd(w), disas::r(rn(w), sf)),
        6 => format!("fmov {x}, {v}"),
        7 => format!("fmov {}, {}", fpr(rd(w), ft), disas::r(rn(w), sf)),
        _ => {
            let r = if opcode & 4 != 0 {
                'a'
            } else {
                ['n', 'p', 'm', 'z'][rmode as usize]
            };
            let u = if opcode & 1 != 0 { 'u' } else { 's' };
            format!("fcvt{r}{u} {x}, {v}")
        }
    }
}
