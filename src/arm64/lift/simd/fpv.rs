//! Advanced SIMD floating point (single and double precision; the FEAT_FP16 forms have
//! no rows): three same (vector and scalar), pairwise, two-register miscellaneous
//! (compares against zero, FABS/FNEG/FSQRT, FRINT*, FCVT* to integer, SCVTF/UCVTF,
//! FCVTN/FCVTL/FCVTXN, the reciprocal (square root) estimates), across lanes, by
//! element, and the fixed-point conversions of the shift-by-immediate group.
//!
//! The Arm semantics of each element come from `lift::fp::sem` (bit-exact FPCR/FPSR
//! handling); this module adds the vector plumbing and the few operations only
//! Advanced SIMD has (FMULX, FRECPS/FRSQRTS, FRECPE/FRSQRTE/FRECPX, URECPE/URSQRTE,
//! FCVTXN, the absolute compares). One helper call per class, decoding the word itself.

use super::elem::{count, get, mask, set};
use super::{call_word, dis, vget, vset, word_helper};
use crate::arm64::cpu::Cpu;
use crate::arm64::lift::fp::host::Op2;
use crate::arm64::lift::fp::sem::{
    self, Float, Fmt, MinMax, Rounding, DZC, F16, F32, F64, FPCR_FZ, IOC, IXC, OFC, UFC,
};
use crate::arm64::lift::{bit, bits, helper, Flow, LiftError, Lifted, Lifter};
use crate::ir::{FastFp, FpOp};

// ---- element operations --------------------------------------------------------------------

fn is_inf<F: Fmt>(x: u64) -> bool {
    x & !F::SIGN & F::MASK == F::INF
}
fn is_zero<F: Fmt>(x: u64) -> bool {
    x & !F::SIGN & F::MASK == 0
}
fn neg<F: Fmt>(x: u64) -> u64 {
    (x ^ F::SIGN) & F::MASK
}
/// `±2.0`.
fn two<F: Fmt>(negative: bool) -> u64 {
    (if negative { F::SIGN } else { 0 }) | ((F::BIAS as u64 + 1) << F::F)
}

fn ones(b: bool) -> u64 {
    if b {
        u64::MAX
    } else {
        0
    }
}

/// FPMulX: FMUL, except that infinity times zero is ±2.0.
fn fmulx<F: Float>(a: u64, b: u64, fpcr: u64, fpsr: &mut u64) -> u64 {
    let a = sem::flush_input::<F>(a, fpcr, fpsr);
    let b = sem::flush_input::<F>(b, fpcr, fpsr);
    if let Some(r) = sem::process_nans::<F>(a, b, fpcr, fpsr) {
        return r;
    }
    if (is_inf::<F>(a) && is_zero::<F>(b)) || (is_zero::<F>(a) && is_inf::<F>(b)) {
        return two::<F>((a ^ b) & F::SIGN != 0);
    }
    sem::fmul::<F>(a, b, fpcr, fpsr)
}

/// FPRecipStepFused: `2.0 - a * b` (one rounding); infinity times zero gives 2.0.
fn frecps<F: Float>(a: u64, b: u64, fpcr: u64, fpsr: &mut u64) -> u64 {
    let a = sem::flush_input::<F>(neg::<F>(a), fpcr, fpsr);
    let b = sem::flush_input::<F>(b, fpcr, fpsr);
    if let Some(r) = sem::process_nans::<F>(a, b, fpcr, fpsr) {
        return r;
    }
    if (is_inf::<F>(a) && is_zero::<F>(b)) || (is_zero::<F>(a) && is_inf::<F>(b)) {
        return two::<F>(false);
    }
    sem::fmuladd::<F>(two::<F>(false), a, b, fpcr, fpsr)
}

/// FPRSqrtStepFused: `(3.0 - a * b) / 2` (one rounding); infinity times zero gives 1.5.
fn frsqrts<F: Float>(a: u64, b: u64, fpcr: u64, fpsr: &mut u64) -> u64 {
    let a = sem::flush_input::<F>(neg::<F>(a), fpcr, fpsr);
    let b = sem::flush_input::<F>(b, fpcr, fpsr);
    if let Some(r) = sem::process_nans::<F>(a, b, fpcr, fpsr) {
        return r;
    }
    let one_half = ((F::BIAS as u64) << F::F) | (1 << (F::F - 1));
    if (is_inf::<F>(a) && is_zero::<F>(b)) || (is_zero::<F>(a) && is_inf::<F>(b)) {
        return one_half;
    }
    let exp = |x: u64| (x & F::EXP_MASK) >> F::F;
    // 1.5 + (x/2) * y with whichever operand can be halved exactly; when neither can,
    // the product is tiny, 3 + a*b is far from the overflow and denormal ranges and
    // halving the rounded sum is exact.
    if exp(a) >= 2 && !is_inf::<F>(a) {
        sem::fmuladd::<F>(one_half, a - (1 << F::F), b, fpcr, fpsr)
    } else if exp(b) >= 2 && !is_inf::<F>(b) {
        sem::fmuladd::<F>(one_half, a, b - (1 << F::F), fpcr, fpsr)
    } else if is_inf::<F>(a) || is_inf::<F>(b) {
        (if (a ^ b) & F::SIGN != 0 { F::SIGN } else { 0 }) | F::INF
    } else {
        let three = two::<F>(false) | (1 << (F::F - 1));
        let r = sem::fmuladd::<F>(three, a, b, fpcr, fpsr);
        if is_zero::<F>(r) {
            r
        } else {
            r - (1 << F::F)
        }
    }
}

/// `RecipEstimate`: 256..512 → 256..512.
fn recip_estimate(a: u64) -> u64 {
    let a = a * 2 + 1;
    let b = (1u64 << 19) / a;
    b.div_ceil(2)
}

/// `RecipSqrtEstimate`: 128..512 → 256..512.
fn recip_sqrt_estimate(a: u64) -> u64 {
    let a = if a < 256 {
        a * 2 + 1
    } else {
        (((a >> 1) << 1) + 1) * 2
    };
    let mut b = 512u64;
    while a * (b + 1) * (b + 1) < 1 << 28 {
        b += 1;
    }
    b.div_ceil(2)
}

fn overflow_to_inf(rm: Rounding, negative: bool) -> bool {
    match rm {
        Rounding::TieEven | Rounding::TieAway => true,
        Rounding::PosInf => !negative,
        Rounding::NegInf => negative,
        Rounding::Zero => false,
    }
}

/// The 52-bit fraction and biased exponent of `x` (format `F`), as FPRecipEstimate
/// reads them.
fn frac52<F: Fmt>(x: u64) -> (u64, i64) {
    (
        (x & F::FRAC_MASK) << (52 - F::F),
        ((x & F::EXP_MASK) >> F::F) as i64,
    )
}

/// FPRecipEstimate (FRECPE).
fn frecpe<F: Fmt>(x: u64, fpcr: u64, fpsr: &mut u64) -> u64 {
    let x = sem::flush_input::<F>(x, fpcr, fpsr);
    let negative = x & F::SIGN != 0;
    let sbit = x & F::SIGN;
    if sem::is_nan::<F>(x) {
        return sem::process_nan::<F>(x, fpcr, fpsr);
    }
    if is_inf::<F>(x) {
        return sbit;
    }
    if is_zero::<F>(x) {
        *fpsr |= DZC;
        return sbit | F::INF;
    }
    let mag = x & !F::SIGN;
    // |x| < 2^-(BIAS+1): a denormal whose reciprocal overflows.
    if mag < 1 << (F::F - 2) {
        *fpsr |= OFC | IXC;
        return sbit
            | if overflow_to_inf(Rounding::from_fpcr(fpcr), negative) {
                F::INF
            } else {
                F::MAX_NORMAL
            };
    }
    // |x| >= 2^(BIAS-1) with FZ: the result would be denormal, flushed.
    if fpcr & FPCR_FZ != 0 && mag >= ((2 * F::BIAS as u64 - 1) << F::F) {
        *fpsr |= UFC;
        return sbit;
    }
    let (mut fraction, mut exp) = frac52::<F>(x);
    if exp == 0 {
        if fraction >> 51 == 0 {
            exp = -1;
            fraction = (fraction << 2) & ((1 << 52) - 1);
        } else {
            fraction = (fraction << 1) & ((1 << 52) - 1);
        }
    }
    let scaled = (1 << 8) | (fraction >> 44);
    let mut result_exp = 2 * F::BIAS as i64 - 1 - exp;
    let estimate = recip_estimate(scaled);
    let mut fraction = (estimate & 0xff) << 44;
    if result_exp == 0 {
        fraction = (1 << 51) | (fraction >> 1);
    } else if result_exp == -1 {
        fraction = (1 << 50) | (fraction >> 2);
        result_exp = 0;
    }
    sbit | ((result_exp as u64) << F::F) | (fraction >> (52 - F::F))
}

/// FPRSqrtEstimate (FRSQRTE).
fn frsqrte<F: Fmt>(x: u64, fpcr: u64, fpsr: &mut u64) -> u64 {
    let x = sem::flush_input::<F>(x, fpcr, fpsr);
    if sem::is_nan::<F>(x) {
        return sem::process_nan::<F>(x, fpcr, fpsr);
    }
    if is_zero::<F>(x) {
        *fpsr |= DZC;
        return (x & F::SIGN) | F::INF;
    }
    if x & F::SIGN != 0 {
        *fpsr |= IOC;
        return F::DEFAULT_NAN;
    }
    if is_inf::<F>(x) {
        return 0;
    }
    let (mut fraction, mut exp) = frac52::<F>(x);
    if exp == 0 {
        while fraction >> 51 == 0 {
            fraction <<= 1;
            exp -= 1;
        }
        fraction = (fraction << 1) & ((1 << 52) - 1);
    }
    let scaled = if exp & 1 == 0 {
        (1 << 8) | (fraction >> 44)
    } else {
        (1 << 7) | (fraction >> 45)
    };
    let result_exp = (3 * F::BIAS as i64 - 1 - exp).div_euclid(2);
    let estimate = recip_sqrt_estimate(scaled);
    ((result_exp as u64) << F::F) | ((estimate & 0xff) << (F::F - 8))
}

/// FPRecpX (FRECPX).
fn frecpx<F: Fmt>(x: u64, fpcr: u64, fpsr: &mut u64) -> u64 {
    let y = sem::flush_input::<F>(x, fpcr, fpsr);
    if sem::is_nan::<F>(y) {
        return sem::process_nan::<F>(y, fpcr, fpsr);
    }
    let exp = (x & F::EXP_MASK) >> F::F;
    let max_exp = (1u64 << F::E) - 2;
    let e = if exp == 0 {
        max_exp
    } else {
        !exp & ((1 << F::E) - 1)
    };
    (x & F::SIGN) | (e << F::F)
}

/// FCVTXN's FPConvert with round-to-odd: double to single.
fn fcvtxn(x: u64, fpcr: u64, fpsr: &mut u64) -> u64 {
    let mut fl = 0u64;
    let r = sem::convert::<F64, F32>(x, fpcr | (3 << 22), &mut fl);
    *fpsr |= fl;
    if fl & IXC != 0 && !sem::is_nan::<F32>(r) {
        r | 1
    } else {
        r
    }
}

/// UnsignedRecipEstimate (URECPE).
fn urecpe(x: u64) -> u64 {
    if x & 0x8000_0000 == 0 {
        0xffff_ffff
    } else {
        recip_estimate((x >> 23) & 0x1ff) << 23
    }
}

/// UnsignedRSqrtEstimate (URSQRTE).
fn ursqrte(x: u64) -> u64 {
    if x & 0xc000_0000 == 0 {
        0xffff_ffff
    } else {
        recip_sqrt_estimate((x >> 23) & 0x1ff) << 23
    }
}

/// Compare `a` and `b`: EQ (quiet), GE or GT (signalling).
fn fcmp<F: Fmt>(kind: u32, a: u64, b: u64, fpcr: u64, fpsr: &mut u64) -> bool {
    let nzcv = sem::compare::<F>(a, b, kind != 0, fpcr, fpsr) >> 28;
    match kind {
        0 => nzcv == 0b0110,
        1 => nzcv == 0b0110 || nzcv == 0b0010,
        _ => nzcv == 0b0010,
    }
}

fn fabs<F: Fmt>(x: u64) -> u64 {
    x & !F::SIGN & F::MASK
}

/// One element of a three-same FP operation: `u`, `a` (bit 23) and `opc` (bits 15:11).
#[allow(clippy::too_many_arguments)]
fn same_elem<F: Float>(
    u: u32,
    a: u32,
    opc: u32,
    x: u64,
    y: u64,
    d: u64,
    fpcr: u64,
    fpsr: &mut u64,
) -> u64 {
    let r = match (u, a, opc) {
        (0, 0, 0b11000) | (1, 0, 0b11000) => sem::minmax::<F>(MinMax::MaxNum, x, y, fpcr, fpsr),
        (0, 1, 0b11000) | (1, 1, 0b11000) => sem::minmax::<F>(MinMax::MinNum, x, y, fpcr, fpsr),
        (0, 0, 0b11001) => sem::fmuladd::<F>(d, x, y, fpcr, fpsr),
        (0, 1, 0b11001) => sem::fmuladd::<F>(d, neg::<F>(x), y, fpcr, fpsr),
        (0, 0, 0b11010) | (1, 0, 0b11010) => sem::fadd::<F>(x, y, fpcr, fpsr),
        (0, 1, 0b11010) => sem::fsub::<F>(x, y, fpcr, fpsr),
        (1, 1, 0b11010) => fabs::<F>(sem::fsub::<F>(x, y, fpcr, fpsr)),
        (0, 0, 0b11011) => fmulx::<F>(x, y, fpcr, fpsr),
        (1, 0, 0b11011) => sem::fmul::<F>(x, y, fpcr, fpsr),
        (0, 0, 0b11100) => ones(fcmp::<F>(0, x, y, fpcr, fpsr)),
        (1, 0, 0b11100) => ones(fcmp::<F>(1, x, y, fpcr, fpsr)),
        (1, 1, 0b11100) => ones(fcmp::<F>(2, x, y, fpcr, fpsr)),
        (1, 0, 0b11101) => ones(fcmp::<F>(1, fabs::<F>(x), fabs::<F>(y), fpcr, fpsr)),
        (1, 1, 0b11101) => ones(fcmp::<F>(2, fabs::<F>(x), fabs::<F>(y), fpcr, fpsr)),
        (_, 0, 0b11110) => sem::minmax::<F>(MinMax::Max, x, y, fpcr, fpsr),
        (_, 1, 0b11110) => sem::minmax::<F>(MinMax::Min, x, y, fpcr, fpsr),
        (0, 0, 0b11111) => frecps::<F>(x, y, fpcr, fpsr),
        (0, 1, 0b11111) => frsqrts::<F>(x, y, fpcr, fpsr),
        (1, 0, 0b11111) => sem::fdiv::<F>(x, y, fpcr, fpsr),
        _ => unreachable!("FP three-same {u}:{a}:{opc:#b} validated at lift time"),
    };
    r & F::MASK
}

/// Is (u, a, opc) an allocated single/double three-same FP operation?
fn same_allocated(u: u32, a: u32, opc: u32, scalar: bool) -> bool {
    let vector_only = matches!(
        (u, a, opc),
        (0, _, 0b11000)
            | (0, _, 0b11001)
            | (0, _, 0b11010)
            | (0, _, 0b11110)
            | (1, _, 0b11000)
            | (1, 0, 0b11010)
            | (1, _, 0b11110)
            | (1, 0, 0b11011)
            | (1, 0, 0b11111)
    );
    let both = matches!(
        (u, a, opc),
        (0, 0, 0b11011)
            | (0, 0, 0b11100)
            | (0, _, 0b11111)
            | (1, _, 0b11100)
            | (1, _, 0b11101)
            | (1, 1, 0b11010)
    );
    both || (vector_only && !scalar)
}

/// Pairwise forms: FADDP, FMAXP, FMINP, FMAXNMP, FMINNMP (U=1).
fn is_pairwise(u: u32, a: u32, opc: u32) -> bool {
    u == 1 && (opc == 0b11000 || opc == 0b11110 || (opc == 0b11010 && a == 0))
}

#[derive(Clone, Copy)]
struct Fv {
    q: u32,
    u: u32,
    a: u32,
    sz: u32,
    rm: u32,
    rn: u32,
    rd: u32,
}

impl Fv {
    fn new(w: u32) -> Fv {
        Fv {
            q: bit(w, 30),
            u: bit(w, 29),
            a: bit(w, 23),
            sz: bit(w, 22),
            rm: bits(w, 20, 16),
            rn: bits(w, 9, 5),
            rd: bits(w, 4, 0),
        }
    }
    fn esize(&self) -> u32 {
        32 << self.sz
    }
    fn datasize(&self) -> u32 {
        64 << self.q
    }
    /// `sz:Q == 10`: a 1D arrangement, reserved.
    fn is_1d(&self) -> bool {
        self.sz == 1 && self.q == 0
    }
    /// Size letter of the element (2 = s, 3 = d).
    fn size(&self) -> u32 {
        2 + self.sz
    }
}

/// Run `$body` with `$F` bound to `F32` or `F64` according to `$sz`.
macro_rules! by_sz {
    ($sz:expr, $F:ident => $body:expr) => {
        if $sz == 0 {
            type $F = F32;
            $body
        } else {
            type $F = F64;
            $body
        }
    };
}

fn exec_same(cpu: &mut Cpu, w: u32) {
    let f = Fv::new(w);
    let opc = bits(w, 15, 11);
    let (x, y, d) = (vget(cpu, f.rn), vget(cpu, f.rm), vget(cpu, f.rd));
    let (ds, es, fpcr) = (f.datasize(), f.esize(), cpu.fpcr);
    let mut fpsr = cpu.fpsr;
    let r = if is_pairwise(f.u, f.a, opc) {
        by_sz!(f.sz, F => super::elem::pairwise(ds, es, x, y, |p, q| {
            same_elem::<F>(f.u, f.a, opc, p, q, 0, fpcr, &mut fpsr)
        }))
    } else {
        by_sz!(f.sz, F => super::elem::map3(ds, es, x, y, d, |p, q, r| {
            same_elem::<F>(f.u, f.a, opc, p, q, r, fpcr, &mut fpsr)
        }))
    };
    vset(cpu, f.rd, r);
    cpu.fpsr = fpsr;
}
word_helper!(h_same, exec_same);

// The common arithmetic (FADD, FSUB, FMUL, FDIV, FMLA, FMLS) gets one helper per
// operation and element size, so nothing but the register numbers is decoded at run
// time; each element still goes through `sem` (whose fast path handles round to
// nearest with ordinary operands without touching MXCSR).
const ADD: u8 = 0;
const SUB: u8 = 1;
const MUL: u8 = 2;
const DIV: u8 = 3;
const FMLA: u8 = 4;
const FMLS: u8 = 5;

#[inline(always)]
fn exec_arith<F: Float, const ES: u32, const OP: u8>(cpu: &mut Cpu, w: u32) {
    let lanes = (64u32 << bit(w, 30)) / ES;
    let (rd, rn, rm) = (bits(w, 4, 0), bits(w, 9, 5), bits(w, 20, 16));
    let (x, y, d) = (vget(cpu, rn), vget(cpu, rm), vget(cpu, rd));
    let (fpcr, mut fpsr) = (cpu.fpcr, cpu.fpsr);
    let op2 = match OP {
        ADD => Some(Op2::Add),
        SUB => Some(Op2::Sub),
        MUL => Some(Op2::Mul),
        DIV => Some(Op2::Div),
        _ => None,
    };
    if let Some(op2) = op2 {
        let lanes = lanes as usize;
        let fast = if ES == 32 {
            sem::fast_arith_4s(op2, x, y, lanes, fpcr, &mut fpsr)
        } else {
            sem::fast_arith_2d(op2, x, y, lanes, fpcr, &mut fpsr)
        };
        if let Some(r) = fast {
            vset(cpu, rd, r);
            cpu.fpsr = fpsr;
            return;
        }
    }
    let m = mask(ES);
    let mut r = 0u128;
    for i in 0..lanes {
        let sh = i * ES;
        let (a, b) = ((x >> sh) as u64 & m, (y >> sh) as u64 & m);
        let v = match OP {
            ADD => sem::fadd::<F>(a, b, fpcr, &mut fpsr),
            SUB => sem::fsub::<F>(a, b, fpcr, &mut fpsr),
            MUL => sem::fmul::<F>(a, b, fpcr, &mut fpsr),
            DIV => sem::fdiv::<F>(a, b, fpcr, &mut fpsr),
            FMLA => sem::fmuladd::<F>((d >> sh) as u64 & m, a, b, fpcr, &mut fpsr),
            _ => sem::fmuladd::<F>((d >> sh) as u64 & m, neg::<F>(a), b, fpcr, &mut fpsr),
        };
        r |= ((v & m) as u128) << sh;
    }
    vset(cpu, rd, r);
    cpu.fpsr = fpsr;
}

macro_rules! arith_helpers {
    ($($name:ident = $F:ty, $es:literal, $op:ident;)*) => {$(
        fn $name(cpu: &mut Cpu, w: u32) {
            exec_arith::<$F, $es, $op>(cpu, w)
        }
    )*};
}
arith_helpers! {
    fadd_s = F32, 32, ADD; fsub_s = F32, 32, SUB; fmul_s = F32, 32, MUL;
    fdiv_s = F32, 32, DIV; fmla_s = F32, 32, FMLA; fmls_s = F32, 32, FMLS;
    fadd_d = F64, 64, ADD; fsub_d = F64, 64, SUB; fmul_d = F64, 64, MUL;
    fdiv_d = F64, 64, DIV; fmla_d = F64, 64, FMLA; fmls_d = F64, 64, FMLS;
}
word_helper!(h_fadd_s, fadd_s);
word_helper!(h_fsub_s, fsub_s);
word_helper!(h_fmul_s, fmul_s);
word_helper!(h_fdiv_s, fdiv_s);
word_helper!(h_fmla_s, fmla_s);
word_helper!(h_fmls_s, fmls_s);
word_helper!(h_fadd_d, fadd_d);
word_helper!(h_fsub_d, fsub_d);
word_helper!(h_fmul_d, fmul_d);
word_helper!(h_fdiv_d, fdiv_d);
word_helper!(h_fmla_d, fmla_d);
word_helper!(h_fmls_d, fmls_d);

pub fn lift_same(l: &mut Lifter, w: u32) -> Lifted {
    let f = Fv::new(w);
    let opc = bits(w, 15, 11);
    if f.is_1d() || !same_allocated(f.u, f.a, opc, false) {
        return Err(LiftError::Undefined);
    }
    let fast = match (f.u, f.a, opc, f.sz) {
        (0, 0, 0b11010, 0) => Some(("simd_fadd_s", h_fadd_s as super::HelperFn, FpOp::Add)),
        (0, 1, 0b11010, 0) => Some(("simd_fsub_s", h_fsub_s as super::HelperFn, FpOp::Sub)),
        (1, 0, 0b11011, 0) => Some(("simd_fmul_s", h_fmul_s as super::HelperFn, FpOp::Mul)),
        (1, 0, 0b11111, 0) => Some(("simd_fdiv_s", h_fdiv_s as super::HelperFn, FpOp::Div)),
        (0, 0, 0b11001, 0) => Some(("simd_fmla_s", h_fmla_s as super::HelperFn, FpOp::MulAdd)),
        (0, 1, 0b11001, 0) => Some(("simd_fmls_s", h_fmls_s as super::HelperFn, FpOp::MulSub)),
        (0, 0, 0b11010, 1) => Some(("simd_fadd_d", h_fadd_d as super::HelperFn, FpOp::Add)),
        (0, 1, 0b11010, 1) => Some(("simd_fsub_d", h_fsub_d as super::HelperFn, FpOp::Sub)),
        (1, 0, 0b11011, 1) => Some(("simd_fmul_d", h_fmul_d as super::HelperFn, FpOp::Mul)),
        (1, 0, 0b11111, 1) => Some(("simd_fdiv_d", h_fdiv_d as super::HelperFn, FpOp::Div)),
        (0, 0, 0b11001, 1) => Some(("simd_fmla_d", h_fmla_d as super::HelperFn, FpOp::MulAdd)),
        (0, 1, 0b11001, 1) => Some(("simd_fmls_d", h_fmls_d as super::HelperFn, FpOp::MulSub)),
        _ => None,
    };
    match fast {
        Some((name, h, op)) => {
            // The backend may do it inline on the registers (see `FastFp::Vec`).
            let h = helper(name, h).with_fast(FastFp::Vec {
                op,
                double: f.sz == 1,
                q: f.q == 1,
                rd: f.rd as u8,
                rn: f.rn as u8,
                rm: f.rm as u8,
            });
            let k = l.konst(w as u64);
            l.b.call(h, &[k]);
            Ok(Flow::Next)
        }
        None => call_word(l, "simd_fp_3same", h_same, w),
    }
}

fn same_name(u: u32, a: u32, opc: u32) -> &'static str {
    match (u, a, opc) {
        (0, 0, 0b11000) => "fmaxnm",
        (0, 0, 0b11001) => "fmla",
        (0, 0, 0b11010) => "fadd",
        (0, 0, 0b11011) => "fmulx",
        (0, 0, 0b11100) => "fcmeq",
        (0, 0, 0b11110) => "fmax",
        (0, 0, 0b11111) => "frecps",
        (0, 1, 0b11000) => "fminnm",
        (0, 1, 0b11001) => "fmls",
        (0, 1, 0b11010) => "fsub",
        (0, 1, 0b11110) => "fmin",
        (0, 1, 0b11111) => "frsqrts",
        (1, 0, 0b11000) => "fmaxnmp",
        (1, 0, 0b11010) => "faddp",
        (1, 0, 0b11011) => "fmul",
        (1, 0, 0b11100) => "fcmge",
        (1, 0, 0b11101) => "facge",
        (1, 0, 0b11110) => "fmaxp",
        (1, 0, 0b11111) => "fdiv",
        (1, 1, 0b11000) => "fminnmp",
        (1, 1, 0b11010) => "fabd",
        (1, 1, 0b11100) => "fcmgt",
        (1, 1, 0b11101) => "facgt",
        (1, 1, 0b11110) => "fminp",
        _ => "?",
    }
}

pub fn dis_same(w: u32, _pc: u64) -> String {
    let f = Fv::new(w);
    format!(
        "{} {}, {}, {}",
        same_name(f.u, f.a, bits(w, 15, 11)),
        dis::va(f.rd, f.size(), f.q),
        dis::va(f.rn, f.size(), f.q),
        dis::va(f.rm, f.size(), f.q)
    )
}

fn exec_same_scalar(cpu: &mut Cpu, w: u32) {
    let f = Fv::new(w);
    let opc = bits(w, 15, 11);
    let (x, y) = (vget(cpu, f.rn) as u64, vget(cpu, f.rm) as u64);
    let (fpcr, es) = (cpu.fpcr, f.esize());
    let mut fpsr = cpu.fpsr;
    let r = by_sz!(f.sz, F => same_elem::<F>(f.u, f.a, opc, x & mask(es), y & mask(es), 0, fpcr, &mut fpsr));
    vset(cpu, f.rd, r as u128);
    cpu.fpsr = fpsr;
}
word_helper!(h_same_scalar, exec_same_scalar);

pub fn lift_same_scalar(l: &mut Lifter, w: u32) -> Lifted {
    let f = Fv::new(w);
    if !same_allocated(f.u, f.a, bits(w, 15, 11), true) {
        return Err(LiftError::Undefined);
    }
    call_word(l, "simd_fp_3same_scalar", h_same_scalar, w)
}

pub fn dis_same_scalar(w: u32, _pc: u64) -> String {
    let f = Fv::new(w);
    format!(
        "{} {}, {}, {}",
        same_name(f.u, f.a, bits(w, 15, 11)),
        dis::scalar(f.rd, f.size()),
        dis::scalar(f.rn, f.size()),
        dis::scalar(f.rm, f.size())
    )
}

// ---- pairwise scalar and across lanes ------------------------------------------------------

fn pair_op<F: Float>(op: u32, x: u64, y: u64, fpcr: u64, fpsr: &mut u64) -> u64 {
    // op = a:opcode<1:0> style selector: 0 maxnm, 1 add, 3 max, 4 minnm, 7 min
    match op {
        0 => sem::minmax::<F>(MinMax::MaxNum, x, y, fpcr, fpsr),
        1 => sem::fadd::<F>(x, y, fpcr, fpsr),
        3 => sem::minmax::<F>(MinMax::Max, x, y, fpcr, fpsr),
        4 => sem::minmax::<F>(MinMax::MinNum, x, y, fpcr, fpsr),
        _ => sem::minmax::<F>(MinMax::Min, x, y, fpcr, fpsr),
    }
}

/// The pairwise/across selector of a word: `a:opcode<1:0>` (opcode 011xx).
fn pair_sel(w: u32) -> u32 {
    (bit(w, 23) << 2) | bits(w, 13, 12)
}

fn exec_pair_scalar(cpu: &mut Cpu, w: u32) {
    let f = Fv::new(w);
    let x = vget(cpu, f.rn);
    let (es, fpcr) = (f.esize(), cpu.fpcr);
    let mut fpsr = cpu.fpsr;
    let (p, q) = (get(x, es, 0), get(x, es, 1));
    let r = by_sz!(f.sz, F => pair_op::<F>(pair_sel(w), p, q, fpcr, &mut fpsr));
    vset(cpu, f.rd, r as u128);
    cpu.fpsr = fpsr;
}
word_helper!(h_pair_scalar, exec_pair_scalar);

pub fn lift_pair_scalar(l: &mut Lifter, w: u32) -> Lifted {
    call_word(l, "simd_fp_pair_scalar", h_pair_scalar, w)
}

fn pair_name(sel: u32) -> &'static str {
    ["fmaxnm", "fadd", "?", "fmax", "fminnm", "?", "?", "fmin"][sel as usize & 7]
}

pub fn dis_pair_scalar(w: u32, _pc: u64) -> String {
    let f = Fv::new(w);
    format!(
        "{}p {}, {}",
        pair_name(pair_sel(w)),
        dis::scalar(f.rd, f.size()),
        dis::va(f.rn, f.size(), f.sz)
    )
}

/// Arm's `Reduce`: recursive halving, `op(lower half, upper half)`.
fn reduce(xs: &[u64], op: &mut impl FnMut(u64, u64) -> u64) -> u64 {
    if xs.len() == 1 {
        return xs[0];
    }
    let (lo, hi) = xs.split_at(xs.len() / 2);
    let l = reduce(lo, op);
    let h = reduce(hi, op);
    op(l, h)
}

fn exec_across(cpu: &mut Cpu, w: u32) {
    let f = Fv::new(w);
    let x = vget(cpu, f.rn);
    let fpcr = cpu.fpcr;
    let mut fpsr = cpu.fpsr;
    let xs: Vec<u64> = (0..4).map(|i| get(x, 32, i)).collect();
    let r = reduce(&xs, &mut |p, q| {
        pair_op::<F32>(pair_sel(w), p, q, fpcr, &mut fpsr)
    });
    vset(cpu, f.rd, r as u128);
    cpu.fpsr = fpsr;
}
word_helper!(h_across, exec_across);

pub fn lift_across(l: &mut Lifter, w: u32) -> Lifted {
    // Only the 4S arrangement exists (the half-precision forms need FEAT_FP16).
    if bit(w, 30) == 0 || bit(w, 22) == 1 {
        return Err(LiftError::Undefined);
    }
    call_word(l, "simd_fp_across", h_across, w)
}

pub fn dis_across(w: u32, _pc: u64) -> String {
    let f = Fv::new(w);
    format!("{}v s{}, v{}.4s", pair_name(pair_sel(w)), f.rd, f.rn)
}

// ---- two-register miscellaneous --------------------------------------------------------------

/// One element of an elementwise two-register-misc FP operation, selected by
/// `u`, `a` and `opc` (bits 16:12).
fn misc_elem<F: Float>(u: u32, a: u32, opc: u32, x: u64, fpcr: u64, fpsr: &mut u64) -> u64 {
    let zero = 0;
    let n = F::N;
    let rnd =
        |rm: Rounding, exact: bool, fpsr: &mut u64| sem::round_int::<F>(x, rm, exact, fpcr, fpsr);
    let cvt = |rm: Rounding, unsigned: bool, fpsr: &mut u64| {
        sem::to_fixed::<F>(x, 0, unsigned, n, rm, fpcr, fpsr)
    };
    let r = match (u, a, opc) {
        (0, 1, 0b01100) => ones(fcmp::<F>(2, x, zero, fpcr, fpsr)),
        (0, 1, 0b01101) => ones(fcmp::<F>(0, x, zero, fpcr, fpsr)),
        (0, 1, 0b01110) => ones(fcmp::<F>(2, zero, x, fpcr, fpsr)),
        (1, 1, 0b01100) => ones(fcmp::<F>(1, x, zero, fpcr, fpsr)),
        (1, 1, 0b01101) => ones(fcmp::<F>(1, zero, x, fpcr, fpsr)),
        (0, 1, 0b01111) => fabs::<F>(x),
        (1, 1, 0b01111) => neg::<F>(x),
        (1, 1, 0b11111) => sem::fsqrt::<F>(x, fpcr, fpsr),
        (0, 0, 0b11000) => rnd(Rounding::TieEven, false, fpsr),
        (0, 0, 0b11001) => rnd(Rounding::NegInf, false, fpsr),
        (0, 1, 0b11000) => rnd(Rounding::PosInf, false, fpsr),
        (0, 1, 0b11001) => rnd(Rounding::Zero, false, fpsr),
        (1, 0, 0b11000) => rnd(Rounding::TieAway, false, fpsr),
        (1, 0, 0b11001) => rnd(Rounding::from_fpcr(fpcr), true, fpsr),
        (1, 1, 0b11001) => rnd(Rounding::from_fpcr(fpcr), false, fpsr),
        (_, 0, 0b11010) => cvt(Rounding::TieEven, u == 1, fpsr),
        (_, 0, 0b11011) => cvt(Rounding::NegInf, u == 1, fpsr),
        (_, 0, 0b11100) => cvt(Rounding::TieAway, u == 1, fpsr),
        (_, 1, 0b11010) => cvt(Rounding::PosInf, u == 1, fpsr),
        (_, 1, 0b11011) => cvt(Rounding::Zero, u == 1, fpsr),
        (_, 0, 0b11101) => sem::from_fixed::<F>(x, 0, u == 1, n, fpcr, fpsr),
        (0, 1, 0b11101) => frecpe::<F>(x, fpcr, fpsr),
        (1, 1, 0b11101) => frsqrte::<F>(x, fpcr, fpsr),
        (0, 1, 0b11111) => frecpx::<F>(x, fpcr, fpsr),
        // URECPE, URSQRTE (single only, checked at lift time)
        (0, 1, 0b11100) => urecpe(x),
        (1, 1, 0b11100) => ursqrte(x),
        _ => unreachable!("FP two-reg misc {u}:{a}:{opc:#b} validated at lift time"),
    };
    r & F::MASK
}

/// Classes of two-register-misc FP encodings.
#[derive(PartialEq)]
enum MiscKind {
    Elementwise,
    /// FCVTN/FCVTXN: narrow to the half `Q` of Vd.
    Narrow,
    /// FCVTL: widen the half `Q` of Vn.
    Long,
}

fn misc_kind(u: u32, a: u32, opc: u32, sz: u32, scalar: bool) -> Option<MiscKind> {
    use MiscKind::*;
    let vector = !scalar;
    let ok = |c: bool, k: MiscKind| if c { Some(k) } else { None };
    match (u, a, opc) {
        (0, 0, 0b10110) => ok(vector, Narrow),
        (1, 0, 0b10110) => ok(sz == 1, Narrow),
        (0, 0, 0b10111) => ok(vector, Long),
        // FCMGT/FCMGE, FCMEQ/FCMLE, FCMLT against zero
        (_, 1, 0b01100) | (_, 1, 0b01101) | (0, 1, 0b01110) => Some(Elementwise),
        // FCVTN*, FCVTM*, FCVTA*, [SU]CVTF, FCVTP*, FCVTZ*, FRECPE, FRSQRTE
        (_, 0, 0b11010..=0b11101) | (_, 1, 0b11010) | (_, 1, 0b11011) | (_, 1, 0b11101) => {
            Some(Elementwise)
        }
        (0, 1, 0b11111) => ok(scalar, Elementwise),
        // URECPE, URSQRTE
        (_, 1, 0b11100) => ok(vector && sz == 0, Elementwise),
        // FABS, FNEG, FSQRT, FRINT[NMPZAXI]
        (_, 1, 0b01111) | (1, 1, 0b11111) => ok(vector, Elementwise),
        (_, 0, 0b11000) | (_, 0, 0b11001) | (0, 1, 0b11000) | (0, 1, 0b11001) | (1, 1, 0b11001) => {
            ok(vector, Elementwise)
        }
        _ => None,
    }
}

fn exec_misc_common(cpu: &mut Cpu, w: u32, scalar: bool) {
    let f = Fv::new(w);
    let opc = bits(w, 16, 12);
    let x = vget(cpu, f.rn);
    let fpcr = cpu.fpcr;
    let mut fpsr = cpu.fpsr;
    let kind = misc_kind(f.u, f.a, opc, f.sz, scalar).expect("validated at lift time");
    let r = match kind {
        MiscKind::Elementwise => {
            let ds = if scalar { f.esize() } else { f.datasize() };
            by_sz!(f.sz, F => super::elem::map1(ds, f.esize(), x, |p| {
                misc_elem::<F>(f.u, f.a, opc, p, fpcr, &mut fpsr)
            }))
        }
        MiscKind::Narrow => {
            // FCVTN: sz=0 single -> half, sz=1 double -> single; FCVTXN double -> single.
            let es = 16 << f.sz;
            let n = if scalar { 1 } else { count(64, es) };
            let mut lo = 0u128;
            for e in 0..n {
                let p = get(x, 2 * es, e);
                let v = if f.u == 1 {
                    fcvtxn(p, fpcr, &mut fpsr)
                } else if f.sz == 0 {
                    sem::convert::<F32, F16>(p, fpcr, &mut fpsr)
                } else {
                    sem::convert::<F64, F32>(p, fpcr, &mut fpsr)
                };
                set(&mut lo, es, e, v);
            }
            if f.q == 1 && !scalar {
                (vget(cpu, f.rd) & u64::MAX as u128) | (lo << 64)
            } else {
                lo
            }
        }
        MiscKind::Long => {
            let es = 16 << f.sz;
            let n = count(64, es);
            let mut r = 0u128;
            for e in 0..n {
                let p = get(x, es, e + f.q as usize * n);
                let v = if f.sz == 0 {
                    sem::convert::<F16, F32>(p, fpcr, &mut fpsr)
                } else {
                    sem::convert::<F32, F64>(p, fpcr, &mut fpsr)
                };
                set(&mut r, 2 * es, e, v);
            }
            r
        }
    };
    vset(cpu, f.rd, r);
    cpu.fpsr = fpsr;
}

fn exec_misc(cpu: &mut Cpu, w: u32) {
    exec_misc_common(cpu, w, false)
}
fn exec_misc_scalar(cpu: &mut Cpu, w: u32) {
    exec_misc_common(cpu, w, true)
}
word_helper!(h_misc, exec_misc);
word_helper!(h_misc_scalar, exec_misc_scalar);

pub fn lift_misc(l: &mut Lifter, w: u32) -> Lifted {
    let f = Fv::new(w);
    let kind = misc_kind(f.u, f.a, bits(w, 16, 12), f.sz, false).ok_or(LiftError::Undefined)?;
    if kind == MiscKind::Elementwise && f.is_1d() {
        return Err(LiftError::Undefined);
    }
    call_word(l, "simd_fp_2misc", h_misc, w)
}

pub fn lift_misc_scalar(l: &mut Lifter, w: u32) -> Lifted {
    let f = Fv::new(w);
    misc_kind(f.u, f.a, bits(w, 16, 12), f.sz, true).ok_or(LiftError::Undefined)?;
    call_word(l, "simd_fp_2misc_scalar", h_misc_scalar, w)
}

fn misc_name(u: u32, a: u32, opc: u32) -> &'static str {
    match (u, a, opc) {
        (0, 0, 0b10110) => "fcvtn",
        (1, 0, 0b10110) => "fcvtxn",
        (0, 0, 0b10111) => "fcvtl",
        (0, 1, 0b01100) => "fcmgt",
        (0, 1, 0b01101) => "fcmeq",
        (0, 1, 0b01110) => "fcmlt",
        (1, 1, 0b01100) => "fcmge",
        (1, 1, 0b01101) => "fcmle",
        (0, 1, 0b01111) => "fabs",
        (1, 1, 0b01111) => "fneg",
        (1, 1, 0b11111) => "fsqrt",
        (0, 1, 0b11111) => "frecpx",
        (0, 0, 0b11000) => "frintn",
        (0, 0, 0b11001) => "frintm",
        (0, 1, 0b11000) => "frintp",
        (0, 1, 0b11001) => "frintz",
        (1, 0, 0b11000) => "frinta",
        (1, 0, 0b11001) => "frintx",
        (1, 1, 0b11001) => "frinti",
        (0, 0, 0b11010) => "fcvtns",
        (0, 0, 0b11011) => "fcvtms",
        (0, 0, 0b11100) => "fcvtas",
        (0, 0, 0b11101) => "scvtf",
        (0, 1, 0b11010) => "fcvtps",
        (0, 1, 0b11011) => "fcvtzs",
        (0, 1, 0b11100) => "urecpe",
        (0, 1, 0b11101) => "frecpe",
        (1, 0, 0b11010) => "fcvtnu",
        (1, 0, 0b11011) => "fcvtmu",
        (1, 0, 0b11100) => "fcvtau",
        (1, 0, 0b11101) => "ucvtf",
        (1, 1, 0b11010) => "fcvtpu",
        (1, 1, 0b11011) => "fcvtzu",
        (1, 1, 0b11100) => "ursqrte",
        (1, 1, 0b11101) => "frsqrte",
        _ => "?",
    }
}

pub fn dis_misc(w: u32, _pc: u64) -> String {
    let f = Fv::new(w);
    let opc = bits(w, 16, 12);
    let name = misc_name(f.u, f.a, opc);
    let two = if f.q == 1 { "2" } else { "" };
    match (f.u, f.a, opc) {
        (_, 0, 0b10110) => format!(
            "{name}{two} {}, {}",
            dis::va(f.rd, 1 + f.sz, f.q),
            dis::va(f.rn, 2 + f.sz, 1)
        ),
        (0, 0, 0b10111) => format!(
            "{name}{two} {}, {}",
            dis::va(f.rd, 2 + f.sz, 1),
            dis::va(f.rn, 1 + f.sz, f.q)
        ),
        (_, 1, 0b01100..=0b01110) => format!(
            "{name} {}, {}, #0.0",
            dis::va(f.rd, f.size(), f.q),
            dis::va(f.rn, f.size(), f.q)
        ),
        _ => format!(
            "{name} {}, {}",
            dis::va(f.rd, f.size(), f.q),
            dis::va(f.rn, f.size(), f.q)
        ),
    }
}

pub fn dis_misc_scalar(w: u32, _pc: u64) -> String {
    let f = Fv::new(w);
    let opc = bits(w, 16, 12);
    let name = misc_name(f.u, f.a, opc);
    match (f.a, opc) {
        (0, 0b10110) => format!("{name} s{}, d{}", f.rd, f.rn),
        (1, 0b01100..=0b01110) => format!(
            "{name} {}, {}, #0.0",
            dis::scalar(f.rd, f.size()),
            dis::scalar(f.rn, f.size())
        ),
        _ => format!(
            "{name} {}, {}",
            dis::scalar(f.rd, f.size()),
            dis::scalar(f.rn, f.size())
        ),
    }
}

// ---- by element --------------------------------------------------------------------------------

/// Element index and Vm of an FP by-element encoding (`sz` = bit 22).
fn index_rm(w: u32) -> (u32, u32) {
    let idx = if bit(w, 22) == 0 {
        (bit(w, 11) << 1) | bit(w, 21)
    } else {
        bit(w, 11)
    };
    (idx, bits(w, 20, 16))
}

fn elem_op<F: Float>(u: u32, opc: u32, x: u64, m: u64, d: u64, fpcr: u64, fpsr: &mut u64) -> u64 {
    let r = match (u, opc) {
        (0, 0b0001) => sem::fmuladd::<F>(d, x, m, fpcr, fpsr),
        (0, 0b0101) => sem::fmuladd::<F>(d, neg::<F>(x), m, fpcr, fpsr),
        (0, 0b1001) => sem::fmul::<F>(x, m, fpcr, fpsr),
        _ => fmulx::<F>(x, m, fpcr, fpsr),
    };
    r & F::MASK
}

fn exec_by_elem_common(cpu: &mut Cpu, w: u32, scalar: bool) {
    let f = Fv::new(w);
    let opc = bits(w, 15, 12);
    let (idx, rm) = index_rm(w);
    let es = f.esize();
    let m = get(vget(cpu, rm), es, idx as usize);
    let (x, d) = (vget(cpu, f.rn), vget(cpu, f.rd));
    let fpcr = cpu.fpcr;
    let mut fpsr = cpu.fpsr;
    let ds = if scalar { es } else { f.datasize() };
    let r = by_sz!(f.sz, F => super::elem::map2(ds, es, x, d, |p, q| {
        elem_op::<F>(f.u, opc, p, m, q, fpcr, &mut fpsr)
    }));
    vset(cpu, f.rd, r);
    cpu.fpsr = fpsr;
}

fn exec_by_elem(cpu: &mut Cpu, w: u32) {
    exec_by_elem_common(cpu, w, false)
}
fn exec_by_elem_scalar(cpu: &mut Cpu, w: u32) {
    exec_by_elem_common(cpu, w, true)
}
word_helper!(h_by_elem, exec_by_elem);
word_helper!(h_by_elem_scalar, exec_by_elem_scalar);

fn by_elem_check(w: u32, scalar: bool) -> Result<(), LiftError> {
    let f = Fv::new(w);
    // size must be 1x (single/double); double needs L = 0 and (vector) Q = 1.
    if f.a == 0 || (f.sz == 1 && (bit(w, 21) == 1 || (!scalar && f.q == 0))) {
        Err(LiftError::Undefined)
    } else {
        Ok(())
    }
}

pub fn lift_by_elem(l: &mut Lifter, w: u32) -> Lifted {
    by_elem_check(w, false)?;
    call_word(l, "simd_fp_by_elem", h_by_elem, w)
}

pub fn lift_by_elem_scalar(l: &mut Lifter, w: u32) -> Lifted {
    by_elem_check(w, true)?;
    call_word(l, "simd_fp_by_elem_scalar", h_by_elem_scalar, w)
}

fn elem_name(u: u32, opc: u32) -> &'static str {
    match (u, opc) {
        (0, 0b0001) => "fmla",
        (0, 0b0101) => "fmls",
        (0, 0b1001) => "fmul",
        _ => "fmulx",
    }
}

pub fn dis_by_elem(w: u32, _pc: u64) -> String {
    let f = Fv::new(w);
    let (idx, rm) = index_rm(w);
    format!(
        "{} {}, {}, {}",
        elem_name(f.u, bits(w, 15, 12)),
        dis::va(f.rd, f.size(), f.q),
        dis::va(f.rn, f.size(), f.q),
        dis::elem(rm, f.size(), idx)
    )
}

pub fn dis_by_elem_scalar(w: u32, _pc: u64) -> String {
    let f = Fv::new(w);
    let (idx, rm) = index_rm(w);
    format!(
        "{} {}, {}, {}",
        elem_name(f.u, bits(w, 15, 12)),
        dis::scalar(f.rd, f.size()),
        dis::scalar(f.rn, f.size()),
        dis::elem(rm, f.size(), idx)
    )
}

// ---- fixed-point conversions (shift by immediate group) ---------------------------------------

/// (esize, fbits) of SCVTF/UCVTF/FCVTZS/FCVTZU (fixed-point); `None` for the half
/// precision and reserved `immh` values.
fn fixed_fields(w: u32) -> Option<(u32, u32)> {
    let immh = bits(w, 22, 19);
    let imm = bits(w, 22, 16);
    let es = if immh >> 3 == 1 {
        64
    } else if immh >> 2 == 1 {
        32
    } else {
        return None;
    };
    Some((es, 2 * es - imm))
}

fn exec_fixed_common(cpu: &mut Cpu, w: u32, scalar: bool) {
    let (es, fbits) = fixed_fields(w).expect("validated at lift time");
    let u = bit(w, 29) == 1;
    let to_int = bits(w, 15, 11) == 0b11111;
    let ds = if scalar { es } else { 64 << bit(w, 30) };
    let x = vget(cpu, bits(w, 9, 5));
    let fpcr = cpu.fpcr;
    let mut fpsr = cpu.fpsr;
    let r = by_sz!((es == 64) as u32, F => super::elem::map1(ds, es, x, |p| {
        if to_int {
            sem::to_fixed::<F>(p, fbits, u, es, Rounding::Zero, fpcr, &mut fpsr)
        } else {
            sem::from_fixed::<F>(p, fbits, u, es, fpcr, &mut fpsr)
        }
    }));
    vset(cpu, bits(w, 4, 0), r);
    cpu.fpsr = fpsr;
}

fn exec_fixed(cpu: &mut Cpu, w: u32) {
    exec_fixed_common(cpu, w, false)
}
fn exec_fixed_scalar(cpu: &mut Cpu, w: u32) {
    exec_fixed_common(cpu, w, true)
}
word_helper!(h_fixed, exec_fixed);
word_helper!(h_fixed_scalar, exec_fixed_scalar);

pub fn lift_fixed(l: &mut Lifter, w: u32) -> Lifted {
    match fixed_fields(w) {
        Some((64, _)) if bit(w, 30) == 0 => Err(LiftError::Undefined),
        Some(_) => call_word(l, "simd_fp_fixed", h_fixed, w),
        None => Err(LiftError::Undefined),
    }
}

pub fn lift_fixed_scalar(l: &mut Lifter, w: u32) -> Lifted {
    fixed_fields(w).ok_or(LiftError::Undefined)?;
    call_word(l, "simd_fp_fixed_scalar", h_fixed_scalar, w)
}

fn fixed_name(w: u32) -> String {
    let u = if bit(w, 29) == 1 { "u" } else { "s" };
    if bits(w, 15, 11) == 0b11111 {
        format!("fcvtz{u}")
    } else {
        format!("{u}cvtf")
    }
}

pub fn dis_fixed(w: u32, _pc: u64) -> String {
    let (es, fbits) = fixed_fields(w).unwrap_or((32, 0));
    let t = dis::arr(if es == 64 { 3 } else { 2 }, bit(w, 30));
    format!(
        "{} {}, {}, #{fbits}",
        fixed_name(w),
        dis::v(bits(w, 4, 0), t),
        dis::v(bits(w, 9, 5), t)
    )
}

pub fn dis_fixed_scalar(w: u32, _pc: u64) -> String {
    let (es, fbits) = fixed_fields(w).unwrap_or((32, 0));
    let size = if es == 64 { 3 } else { 2 };
    format!(
        "{} {}, {}, #{fbits}",
        fixed_name(w),
        dis::scalar(bits(w, 4, 0), size),
        dis::scalar(bits(w, 9, 5), size)
    )
}
