//! Bit-exact Arm scalar floating-point semantics (FPCR.AH = 0, no FEAT_FP16 arithmetic),
//! as plain Rust functions on raw bit patterns.
//!
//! Every operation takes its operands as `u64` bit patterns (single precision in the low
//! 32 bits), the guest FPCR, and the guest FPSR to OR cumulative exception flags into,
//! and returns the result bit pattern. They follow the Arm ARM pseudocode (FPUnpack,
//! FPProcessNaNs, FPRoundBase, FPToFixed, FPRoundInt, FPConvert, FPCompare, FPMax…):
//!
//! - FPCR.FZ flushes denormal single/double inputs to zero (setting IDC) and tiny
//!   results to zero (setting UFC only); FPCR.DN selects the (positive) default NaN;
//!   FPCR.RMode rounds arithmetic, FCVT, SCVTF/UCVTF, FRINTX/FRINTI; FPCR.AHP selects
//!   the alternative half-precision format for FCVT.
//! - NaN operands are handled here, before the host sees them, in Arm's priority order.
//! - Add/sub/mul/div/sqrt/fused multiply-add run on the host ([`super::host`]) with the
//!   guest rounding mode; the host result is then fixed up where x86 and Arm differ:
//!   x86's negative default NaN, tininess detected after rounding (Arm: before), and
//!   flush-to-zero done by hand so that IDC/UFC/IXC come out as Arm sets them.
//! - Conversions, rounding to integral and the software fused multiply-add fallback use
//!   the exact software rounder [`round`] (Arm's FPRoundBase).
//! - Fast paths skip MXCSR altogether in the common case (FPCR.RMode = nearest, zero or
//!   normal operands, a result well inside the normal range): the host's default
//!   environment gives the Arm result, and Inexact is found with an error-free
//!   transformation, or not needed because FPSR.IXC is already set.
//!
//! This module touches no guest state: the helpers in `super` pass FPCR/FPSR in.

use std::cmp::Ordering;

use super::host::{self, HostOps, Native, Op2};

/// FPSR cumulative exception bits.
pub const IOC: u64 = 1 << 0;
pub const DZC: u64 = 1 << 1;
pub const OFC: u64 = 1 << 2;
pub const UFC: u64 = 1 << 3;
pub const IXC: u64 = 1 << 4;
pub const IDC: u64 = 1 << 7;

/// FPCR control bits.
pub const FPCR_AHP: u64 = 1 << 26;
pub const FPCR_DN: u64 = 1 << 25;
pub const FPCR_FZ: u64 = 1 << 24;
pub const FPCR_RMODE_SHIFT: u32 = 22;
pub const FPCR_RMODE: u64 = 3 << FPCR_RMODE_SHIFT;

/// Arm rounding modes (FPRounding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounding {
    TieEven,
    PosInf,
    NegInf,
    Zero,
    TieAway,
}

impl Rounding {
    /// FPRoundingMode(FPCR): RMode is FPCR bits 23:22.
    pub fn from_fpcr(fpcr: u64) -> Rounding {
        Rounding::from_rmode(((fpcr >> FPCR_RMODE_SHIFT) & 3) as u32)
    }

    /// The mode named by a 2-bit RMode field (00 N, 01 P, 10 M, 11 Z).
    pub fn from_rmode(r: u32) -> Rounding {
        match r & 3 {
            0 => Rounding::TieEven,
            1 => Rounding::PosInf,
            2 => Rounding::NegInf,
            _ => Rounding::Zero,
        }
    }

    /// Should a magnitude with integer part `odd`-ness `odd`, fraction compared to one
    /// half `half`, non-zero fraction `inexact`, and sign `neg` be rounded away from zero?
    fn round_up(self, neg: bool, odd: bool, half: Ordering, inexact: bool) -> bool {
        match self {
            Rounding::TieEven => half == Ordering::Greater || (half == Ordering::Equal && odd),
            Rounding::TieAway => half != Ordering::Less,
            Rounding::PosInf => inexact && !neg,
            Rounding::NegInf => inexact && neg,
            Rounding::Zero => false,
        }
    }
}

/// An IEEE binary format: `N` bits, `E` exponent bits, `F` fraction bits.
pub trait Fmt: Copy + 'static {
    const N: u32;
    const E: u32;
    const F: u32;
    const MASK: u64 = u64::MAX >> (64 - Self::N);
    const SIGN: u64 = 1 << (Self::N - 1);
    const EXP_MASK: u64 = ((1 << Self::E) - 1) << Self::F;
    const FRAC_MASK: u64 = (1 << Self::F) - 1;
    const QUIET: u64 = 1 << (Self::F - 1);
    const INF: u64 = Self::EXP_MASK;
    const DEFAULT_NAN: u64 = Self::EXP_MASK | Self::QUIET;
    const MIN_NORMAL: u64 = 1 << Self::F;
    const MAX_NORMAL: u64 = Self::EXP_MASK - 1;
    const BIAS: i32 = (1 << (Self::E - 1)) - 1;
}

/// Half precision (only FCVT uses it).
#[derive(Clone, Copy, Debug)]
pub struct F16;
/// Single precision.
#[derive(Clone, Copy, Debug)]
pub struct F32;
/// Double precision.
#[derive(Clone, Copy, Debug)]
pub struct F64;

impl Fmt for F16 {
    const N: u32 = 16;
    const E: u32 = 5;
    const F: u32 = 10;
}
impl Fmt for F32 {
    const N: u32 = 32;
    const E: u32 = 8;
    const F: u32 = 23;
}
impl Fmt for F64 {
    const N: u32 = 64;
    const E: u32 = 11;
    const F: u32 = 52;
}

/// The formats arithmetic runs on (single and double).
pub trait Float: Fmt + HostOps + Native {}
impl Float for F32 {}
impl Float for F64 {}

#[inline]
fn sign<F: Fmt>(x: u64) -> bool {
    x & F::SIGN != 0
}
#[inline]
fn sign_bit<F: Fmt>(s: bool) -> u64 {
    if s {
        F::SIGN
    } else {
        0
    }
}
#[inline]
pub fn is_nan<F: Fmt>(x: u64) -> bool {
    x & F::EXP_MASK == F::EXP_MASK && x & F::FRAC_MASK != 0
}
#[inline]
pub fn is_snan<F: Fmt>(x: u64) -> bool {
    is_nan::<F>(x) && x & F::QUIET == 0
}
#[inline]
pub fn is_qnan<F: Fmt>(x: u64) -> bool {
    is_nan::<F>(x) && x & F::QUIET != 0
}
#[inline]
fn is_inf<F: Fmt>(x: u64) -> bool {
    x & !F::SIGN & F::MASK == F::INF
}
#[inline]
fn is_zero<F: Fmt>(x: u64) -> bool {
    x & !F::SIGN & F::MASK == 0
}
#[inline]
fn is_denormal<F: Fmt>(x: u64) -> bool {
    x & F::EXP_MASK == 0 && x & F::FRAC_MASK != 0
}

/// `|x| = mant * 2^exp` for a finite, non-zero `x` (a denormal has no hidden bit; an
/// alternative-half-precision value with exponent 31 is an ordinary normal number).
fn unpack<F: Fmt>(x: u64) -> (u64, i32) {
    let e = ((x & F::EXP_MASK) >> F::F) as i32;
    let f = x & F::FRAC_MASK;
    if e == 0 {
        (f, 1 - F::BIAS - F::F as i32)
    } else {
        (f | F::MIN_NORMAL, e - F::BIAS - F::F as i32)
    }
}

/// FPUnpack's treatment of denormal inputs: with FPCR.FZ a single/double denormal reads
/// as a zero of the same sign and raises Input Denormal (IDC).
#[inline]
pub fn flush_input<F: Fmt>(x: u64, fpcr: u64, fpsr: &mut u64) -> u64 {
    let x = x & F::MASK;
    if F::N != 16 && fpcr & FPCR_FZ != 0 && is_denormal::<F>(x) {
        *fpsr |= IDC;
        x & F::SIGN
    } else {
        x
    }
}

/// FPProcessNaN: quiet a NaN (Invalid Operation if it was signalling), or the default
/// NaN when FPCR.DN is set.
pub fn process_nan<F: Fmt>(x: u64, fpcr: u64, fpsr: &mut u64) -> u64 {
    if is_snan::<F>(x) {
        *fpsr |= IOC;
    }
    if fpcr & FPCR_DN != 0 {
        F::DEFAULT_NAN
    } else {
        x | F::QUIET
    }
}

/// FPProcessNaNs: signalling NaNs first (op1, op2), then quiet ones (op1, op2).
pub fn process_nans<F: Fmt>(a: u64, b: u64, fpcr: u64, fpsr: &mut u64) -> Option<u64> {
    process_nans_n::<F>(&[a, b], fpcr, fpsr)
}

/// FPProcessNaNs3 (for FPMulAdd the order is addend, op1, op2).
pub fn process_nans3<F: Fmt>(a: u64, b: u64, c: u64, fpcr: u64, fpsr: &mut u64) -> Option<u64> {
    process_nans_n::<F>(&[a, b, c], fpcr, fpsr)
}

fn process_nans_n<F: Fmt>(ops: &[u64], fpcr: u64, fpsr: &mut u64) -> Option<u64> {
    let pick = ops
        .iter()
        .find(|&&x| is_snan::<F>(x))
        .or_else(|| ops.iter().find(|&&x| is_qnan::<F>(x)))?;
    Some(process_nan::<F>(*pick, fpcr, fpsr))
}

/// The biased exponent field.
#[inline]
fn biased_exp<F: Fmt>(x: u64) -> u64 {
    (x & F::EXP_MASK) >> F::F
}

/// Zero or normal: an operand the fast paths take (no IDC, NaN or infinity cases).
#[inline]
fn plain<F: Fmt>(x: u64) -> bool {
    let e = biased_exp::<F>(x);
    (e != 0 && x & F::EXP_MASK != F::EXP_MASK) || is_zero::<F>(x)
}

/// Finite and at least 2^(F+2) times the smallest normal: a fast-path result that can
/// neither have underflowed (nor be tiny before rounding) nor overflowed, and for which
/// the FMA residual checks of [`Native`] are exact.
#[inline]
fn roomy<F: Fmt>(x: u64) -> bool {
    let e = biased_exp::<F>(x);
    e >= F::F as u64 + 3 && x & F::EXP_MASK != F::EXP_MASK
}

/// The common case of [`arith`] without MXCSR: round to nearest, zero or normal
/// operands and a comfortably normal (or exactly zero) result. Then the only possible
/// exception is Inexact, found with an error-free transformation (skipped when FPSR.IXC
/// is already set). `None` sends the operation down the general path.
#[inline(always)]
fn fast_arith<F: Float>(op: Op2, a: u64, b: u64, fpcr: u64, fpsr: &mut u64) -> Option<u64> {
    if fpcr & FPCR_RMODE != 0 || !plain::<F>(a) || !plain::<F>(b) {
        return None;
    }
    let r = F::native_op2(op, a, b);
    if is_zero::<F>(r) {
        // Zero results that cannot come from underflow are exact.
        let exact_zero = match op {
            Op2::Add | Op2::Sub => true,
            Op2::Mul => is_zero::<F>(a) || is_zero::<F>(b),
            Op2::Div => is_zero::<F>(a) && !is_zero::<F>(b),
        };
        return exact_zero.then_some(r);
    }
    if !roomy::<F>(r) || (op == Op2::Div && !roomy::<F>(a)) {
        return None;
    }
    if *fpsr & IXC == 0 && !F::native_exact(op, a, b, r)? {
        *fpsr |= IXC;
    }
    Some(r)
}

#[cfg(test)]
macro_rules! fast_arith_lanes {
    ($name:ident, $fmt:ty, $u:ty, $f:ty, $n:literal) => {
        /// [`fast_arith`] for a whole vector of
        #[doc = concat!(stringify!($n), " ", stringify!($f), " lanes")]
        /// (the low `lanes` of them), with one decision for all: `Some` only when every
        /// element qualifies for the fast path, so that the result and FPSR.IXC are exactly
        /// what element-by-element evaluation gives; `None` to go element by element. The
        /// checks are branch-free over fixed-size arrays, so the compiler vectorises them.
        #[inline(always)]
        pub fn $name(
            op: Op2,
            x: u128,
            y: u128,
            lanes: usize,
            fpcr: u64,
            fpsr: &mut u64,
        ) -> Option<u128> {
            const W: usize = std::mem::size_of::<$u>();
            const EXP: $u = <$fmt>::EXP_MASK as $u;
            const MAG: $u = (<$fmt>::MASK & !<$fmt>::SIGN) as $u;
            // Biased exponent >= F + 3 (see `roomy`).
            const ROOMY: $u = ((<$fmt>::F as $u) + 3) << <$fmt>::F;
            if fpcr & FPCR_RMODE != 0 {
                return None;
            }
            let split = |v: u128| -> [$u; $n] { std::array::from_fn(|i| (v >> (i * 8 * W)) as $u) };
            let (a, b) = (split(x), split(y));
            let mut r = [0 as $u; $n];
            let mut bad = 0u32;
            let mut nonzero = 0u32;
            for i in 0..$n {
                let (fa, fb) = (<$f>::from_bits(a[i]), <$f>::from_bits(b[i]));
                let v = match op {
                    Op2::Add => fa + fb,
                    Op2::Sub => fa - fb,
                    Op2::Mul => fa * fb,
                    Op2::Div => fa / fb,
                }
                .to_bits();
                r[i] = v;
                let (ea, eb, ev) = (a[i] & EXP, b[i] & EXP, v & EXP);
                let (za, zb, zv) = (a[i] & MAG == 0, b[i] & MAG == 0, v & MAG == 0);
                let plain_a = (ea != 0 && ea != EXP) || za;
                let plain_b = (eb != 0 && eb != EXP) || zb;
                let zero_ok = match op {
                    Op2::Add | Op2::Sub => true,
                    Op2::Mul => za || zb,
                    Op2::Div => za && !zb,
                };
                let roomy_v = ev >= ROOMY && ev != EXP;
                let roomy_a = ea >= ROOMY && ea != EXP;
                let res_ok = roomy_v && (op != Op2::Div || roomy_a);
                let ok = plain_a && plain_b && (res_ok || (zv && zero_ok));
                let live = i < lanes;
                bad |= (live && !ok) as u32;
                nonzero |= (live && !zv) as u32;
            }
            if bad != 0 {
                return None;
            }
            if *fpsr & IXC == 0 && nonzero != 0 {
                for i in 0..lanes {
                    if r[i] & MAG != 0
                        && !<$fmt>::native_exact(op, a[i] as u64, b[i] as u64, r[i] as u64)?
                    {
                        *fpsr |= IXC;
                        break;
                    }
                }
            }
            let mut out = 0u128;
            for (i, &v) in r.iter().enumerate() {
                let keep = if i < lanes { <$u>::MAX } else { 0 };
                out |= ((v & keep) as u128) << (i * 8 * W);
            }
            Some(out)
        }
    };
}
// The lane-by-lane versions are the reference the SSE2 ones are tested against.
#[cfg(test)]
fast_arith_lanes!(fast_arith_4s_lanes, F32, u32, f32, 4);
#[cfg(test)]
fast_arith_lanes!(fast_arith_2d_lanes, F64, u64, f64, 2);

/// The format constants of [`sse_lane_checks`], per 32-bit lane: the exponent and
/// magnitude masks, the smallest "roomy" exponent field minus one; `wide` means 64-bit
/// elements, whose exponent sits in the high 32 bits and whose zero test needs both halves.
#[derive(Clone, Copy)]
struct LaneMasks {
    exp: std::arch::x86_64::__m128i,
    mag: std::arch::x86_64::__m128i,
    roomy_min: std::arch::x86_64::__m128i,
    wide: bool,
}

/// The per-lane checks of [`fast_arith`] on whole SSE2 vectors: which lanes of the
/// operands `a`, `b` and the result `r` qualify (all ones) for the fast path, and which
/// results are non-zero.
///
/// # Safety
/// Plain SSE2 (part of x86-64) on values; nothing is read or written.
#[inline(always)]
unsafe fn sse_lane_checks(
    op: Op2,
    a: std::arch::x86_64::__m128i,
    b: std::arch::x86_64::__m128i,
    r: std::arch::x86_64::__m128i,
    m: LaneMasks,
) -> (std::arch::x86_64::__m128i, std::arch::x86_64::__m128i) {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of the x86-64 baseline; these intrinsics only compute on the
    // vector values passed in (the caller's contract, see `# Safety`).
    unsafe {
        let LaneMasks {
            exp,
            mag,
            roomy_min,
            wide,
        } = m;
        let zero = _mm_setzero_si128();
        let ones = _mm_set1_epi32(-1);
        // Exponent tests per 32-bit lane; for 64-bit elements the high lane's answer counts.
        let hi = |v: __m128i| {
            if wide {
                _mm_shuffle_epi32::<0b11_11_01_01>(v)
            } else {
                v
            }
        };
        // Zero magnitude; for 64-bit elements both halves must be zero.
        let is_zero = |v: __m128i| {
            let z = _mm_cmpeq_epi32(_mm_and_si128(v, mag), zero);
            if wide {
                _mm_and_si128(z, _mm_shuffle_epi32::<0b10_11_00_01>(z))
            } else {
                z
            }
        };
        let (ea, eb, er) = (
            _mm_and_si128(a, exp),
            _mm_and_si128(b, exp),
            _mm_and_si128(r, exp),
        );
        let (za, zb, zr) = (is_zero(a), is_zero(b), is_zero(r));
        let normal = |e: __m128i| {
            hi(_mm_andnot_si128(
                _mm_or_si128(_mm_cmpeq_epi32(e, zero), _mm_cmpeq_epi32(e, exp)),
                ones,
            ))
        };
        let roomy = |e: __m128i| {
            hi(_mm_andnot_si128(
                _mm_cmpeq_epi32(e, exp),
                _mm_cmpgt_epi32(e, roomy_min),
            ))
        };
        let plain_a = _mm_or_si128(normal(ea), za);
        let plain_b = _mm_or_si128(normal(eb), zb);
        let zero_ok = match op {
            Op2::Add | Op2::Sub => ones,
            Op2::Mul => _mm_or_si128(za, zb),
            Op2::Div => _mm_andnot_si128(zb, za),
        };
        let res_ok = match op {
            Op2::Div => _mm_and_si128(roomy(er), roomy(ea)),
            _ => roomy(er),
        };
        let ok = _mm_and_si128(
            _mm_and_si128(plain_a, plain_b),
            _mm_or_si128(res_ok, _mm_and_si128(zr, zero_ok)),
        );
        (ok, _mm_andnot_si128(zr, ones))
    }
}

/// [`fast_arith`] for 4 single-precision lanes, the operation and the checks done on SSE2
/// vectors: the same decision and result as lane by lane (which the tests check); the
/// exactness check, needed only while FPSR.IXC is clear, stays per lane.
#[inline(always)]
pub fn fast_arith_4s(
    op: Op2,
    x: u128,
    y: u128,
    lanes: usize,
    fpcr: u64,
    fpsr: &mut u64,
) -> Option<u128> {
    use std::arch::x86_64::*;
    if fpcr & FPCR_RMODE != 0 {
        return None;
    }
    // SAFETY: SSE2 is part of x86-64; the transmutes are between 16-byte plain values.
    let (r, ok, nonzero) = unsafe {
        let a = std::mem::transmute::<u128, __m128i>(x);
        let b = std::mem::transmute::<u128, __m128i>(y);
        let (fa, fb) = (_mm_castsi128_ps(a), _mm_castsi128_ps(b));
        let r = _mm_castps_si128(match op {
            Op2::Add => _mm_add_ps(fa, fb),
            Op2::Sub => _mm_sub_ps(fa, fb),
            Op2::Mul => _mm_mul_ps(fa, fb),
            Op2::Div => _mm_div_ps(fa, fb),
        });
        let (ok, nz) = sse_lane_checks(
            op,
            a,
            b,
            r,
            LaneMasks {
                exp: _mm_set1_epi32(F32::EXP_MASK as i32),
                mag: _mm_set1_epi32((F32::MASK & !F32::SIGN) as i32),
                roomy_min: _mm_set1_epi32((((F32::F + 3) << F32::F) - 1) as i32),
                wide: false,
            },
        );
        (
            std::mem::transmute::<__m128i, u128>(r),
            _mm_movemask_ps(_mm_castsi128_ps(ok)),
            _mm_movemask_ps(_mm_castsi128_ps(nz)),
        )
    };
    finish_vec::<F32>(op, x, y, r, ok, nonzero, lanes, fpsr)
}

/// [`fast_arith`] for 2 double-precision lanes on SSE2 vectors, as [`fast_arith_4s`].
#[inline(always)]
pub fn fast_arith_2d(
    op: Op2,
    x: u128,
    y: u128,
    lanes: usize,
    fpcr: u64,
    fpsr: &mut u64,
) -> Option<u128> {
    use std::arch::x86_64::*;
    if fpcr & FPCR_RMODE != 0 {
        return None;
    }
    let hi32 = |m: u64| (m >> 32) as u32 as i32;
    // SAFETY: as in `fast_arith_4s`.
    let (r, ok, nonzero) = unsafe {
        let a = std::mem::transmute::<u128, __m128i>(x);
        let b = std::mem::transmute::<u128, __m128i>(y);
        let (fa, fb) = (_mm_castsi128_pd(a), _mm_castsi128_pd(b));
        let r = _mm_castpd_si128(match op {
            Op2::Add => _mm_add_pd(fa, fb),
            Op2::Sub => _mm_sub_pd(fa, fb),
            Op2::Mul => _mm_mul_pd(fa, fb),
            Op2::Div => _mm_div_pd(fa, fb),
        });
        // Per 32-bit lane: the exponent masks apply to the high halves (the low halves'
        // answers are replaced by the high ones'); the magnitude mask to both.
        let (ok, nz) = sse_lane_checks(
            op,
            a,
            b,
            r,
            LaneMasks {
                exp: _mm_set_epi32(hi32(F64::EXP_MASK), 0, hi32(F64::EXP_MASK), 0),
                mag: _mm_set_epi32(0x7fff_ffff, -1, 0x7fff_ffff, -1),
                roomy_min: _mm_set1_epi32(hi32(((F64::F as u64 + 3) << F64::F) - (1 << 32))),
                wide: true,
            },
        );
        (
            std::mem::transmute::<__m128i, u128>(r),
            _mm_movemask_pd(_mm_castsi128_pd(ok)),
            _mm_movemask_pd(_mm_castsi128_pd(nz)),
        )
    };
    finish_vec::<F64>(op, x, y, r, ok, nonzero, lanes, fpsr)
}

/// The end of the SSE2 fast paths: `ok` and `nonzero` are the per-lane masks of the
/// checks; only the low `lanes` lanes count. `Some` result (upper lanes zeroed), with
/// FPSR.IXC set when a lane is inexact (checked only while IXC is clear), or `None`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn finish_vec<F: Float>(
    op: Op2,
    x: u128,
    y: u128,
    r: u128,
    ok: i32,
    nonzero: i32,
    lanes: usize,
    fpsr: &mut u64,
) -> Option<u128> {
    let live = (1i32 << lanes) - 1;
    if ok & live != live {
        return None;
    }
    let es = F::N as usize;
    let lane = |v: u128, i: usize| (v >> (es * i)) as u64 & F::MASK;
    if *fpsr & IXC == 0 && nonzero & live != 0 {
        for i in 0..lanes {
            let (a, b, v) = (lane(x, i), lane(y, i), lane(r, i));
            if v & !F::SIGN != 0 && !F::native_exact(op, a, b, v)? {
                *fpsr |= IXC;
                break;
            }
        }
    }
    Some(if es * lanes == 128 {
        r
    } else {
        r & ((1u128 << (es * lanes)) - 1)
    })
}

/// Turn a host result and its MXCSR flags into the Arm result and FPSR flags.
/// The operands were already flushed and free of NaNs, so a NaN result can only be
/// x86's default NaN from an invalid operation. `rz` recomputes the operation rounding
/// towards zero: it tells whether a result of exactly ±2^Emin was tiny before rounding.
fn finish<F: Fmt>(r: u64, x86: u32, fpcr: u64, fpsr: &mut u64, rz: impl FnOnce() -> u64) -> u64 {
    let mut r = r & F::MASK;
    if is_nan::<F>(r) {
        r = F::DEFAULT_NAN;
    }
    let mag = r & !F::SIGN;
    let inexact = x86 & host::PE != 0;
    let tiny = (mag != 0 && mag < F::MIN_NORMAL)
        || (mag == 0 && x86 & host::UE != 0)
        || (mag == F::MIN_NORMAL && inexact && (rz() & !F::SIGN & F::MASK) < F::MIN_NORMAL);
    let mut flags = 0;
    if x86 & host::IE != 0 {
        flags |= IOC;
    }
    if x86 & host::ZE != 0 {
        flags |= DZC;
    }
    if x86 & host::OE != 0 {
        flags |= OFC;
    }
    if tiny && fpcr & FPCR_FZ != 0 {
        // Flush to zero: Underflow only, never Inexact.
        *fpsr |= flags | UFC;
        return r & F::SIGN;
    }
    if tiny && inexact {
        flags |= UFC;
    }
    if inexact {
        flags |= IXC;
    }
    *fpsr |= flags;
    r
}

/// FPAdd / FPSub / FPMul / FPDiv. Inlined, so that a caller with a constant `op` (one
/// helper per operation) gets a straight-line fast path; the general path stays out of
/// line.
#[inline(always)]
pub fn arith<F: Float>(op: Op2, a: u64, b: u64, fpcr: u64, fpsr: &mut u64) -> u64 {
    arith_impl::<F>(op, a, b, fpcr, fpsr, true)
}

#[inline(always)]
pub(super) fn arith_impl<F: Float>(
    op: Op2,
    a: u64,
    b: u64,
    fpcr: u64,
    fpsr: &mut u64,
    allow_fast: bool,
) -> u64 {
    let (a, b) = (a & F::MASK, b & F::MASK);
    if allow_fast {
        if let Some(r) = fast_arith::<F>(op, a, b, fpcr, fpsr) {
            return r;
        }
    }
    arith_general::<F>(op, a, b, fpcr, fpsr)
}

#[inline(never)]
#[cold]
fn arith_general<F: Float>(op: Op2, a: u64, b: u64, fpcr: u64, fpsr: &mut u64) -> u64 {
    let a = flush_input::<F>(a, fpcr, fpsr);
    let b = flush_input::<F>(b, fpcr, fpsr);
    if let Some(r) = process_nans::<F>(a, b, fpcr, fpsr) {
        return r;
    }
    let (r, fl) = F::op2(op, a, b, host::mxcsr(Rounding::from_fpcr(fpcr)));
    finish::<F>(r, fl, fpcr, fpsr, || {
        F::op2(op, a, b, host::mxcsr(Rounding::Zero)).0
    })
}

pub fn fadd<F: Float>(a: u64, b: u64, fpcr: u64, fpsr: &mut u64) -> u64 {
    arith::<F>(Op2::Add, a, b, fpcr, fpsr)
}
pub fn fsub<F: Float>(a: u64, b: u64, fpcr: u64, fpsr: &mut u64) -> u64 {
    arith::<F>(Op2::Sub, a, b, fpcr, fpsr)
}
pub fn fmul<F: Float>(a: u64, b: u64, fpcr: u64, fpsr: &mut u64) -> u64 {
    arith::<F>(Op2::Mul, a, b, fpcr, fpsr)
}
pub fn fdiv<F: Float>(a: u64, b: u64, fpcr: u64, fpsr: &mut u64) -> u64 {
    arith::<F>(Op2::Div, a, b, fpcr, fpsr)
}

/// FPSqrt.
pub fn fsqrt<F: Float>(a: u64, fpcr: u64, fpsr: &mut u64) -> u64 {
    fsqrt_impl::<F>(a, fpcr, fpsr, true)
}

pub(super) fn fsqrt_impl<F: Float>(a: u64, fpcr: u64, fpsr: &mut u64, allow_fast: bool) -> u64 {
    let a = a & F::MASK;
    if allow_fast && fpcr & FPCR_RMODE == 0 && a & F::SIGN == 0 && roomy::<F>(a) {
        // Round to nearest, a comfortably normal positive operand: only Inexact.
        let r = F::native_sqrt(a);
        if *fpsr & IXC != 0 {
            return r;
        }
        if let Some(exact) = F::native_sqrt_exact(a, r) {
            if !exact {
                *fpsr |= IXC;
            }
            return r;
        }
    }
    let a = flush_input::<F>(a, fpcr, fpsr);
    if is_nan::<F>(a) {
        return process_nan::<F>(a, fpcr, fpsr);
    }
    let (r, fl) = F::sqrt(a, host::mxcsr(Rounding::from_fpcr(fpcr)));
    finish::<F>(r, fl, fpcr, fpsr, || {
        F::sqrt(a, host::mxcsr(Rounding::Zero)).0
    })
}

/// FPMulAdd: `addend + op1 * op2` with a single rounding. FMSUB/FNMADD/FNMSUB negate
/// operands (FPNeg, a plain sign flip that also applies to NaNs) before calling this.
pub fn fmuladd<F: Float>(addend: u64, op1: u64, op2: u64, fpcr: u64, fpsr: &mut u64) -> u64 {
    fmuladd_impl::<F>(addend, op1, op2, fpcr, fpsr, false)
}

/// [`fmuladd`], optionally forcing the software path (which also skips the fast path).
pub(super) fn fmuladd_impl<F: Float>(
    addend: u64,
    op1: u64,
    op2: u64,
    fpcr: u64,
    fpsr: &mut u64,
    force_soft: bool,
) -> u64 {
    let (addend, op1, op2) = (addend & F::MASK, op1 & F::MASK, op2 & F::MASK);
    if !force_soft
        && fpcr & FPCR_RMODE == 0
        && *fpsr & IXC != 0
        && plain::<F>(addend)
        && plain::<F>(op1)
        && plain::<F>(op2)
    {
        // Round to nearest with Inexact already set: a comfortably normal result can
        // raise nothing new.
        if let Some(r) = F::native_fma(addend, op1, op2).filter(|&r| roomy::<F>(r)) {
            return r;
        }
    }
    let a = flush_input::<F>(addend, fpcr, fpsr);
    let x = flush_input::<F>(op1, fpcr, fpsr);
    let y = flush_input::<F>(op2, fpcr, fpsr);
    let inf_times_zero = (is_inf::<F>(x) && is_zero::<F>(y)) || (is_zero::<F>(x) && is_inf::<F>(y));
    let nan = process_nans3::<F>(a, x, y, fpcr, fpsr);
    if is_qnan::<F>(a) && inf_times_zero {
        *fpsr |= IOC;
        return F::DEFAULT_NAN;
    }
    if let Some(r) = nan {
        return r;
    }
    let rm = Rounding::from_fpcr(fpcr);
    if !force_soft {
        if let Some((r, fl)) = F::fma(a, x, y, host::mxcsr(rm)) {
            return finish::<F>(r, fl, fpcr, fpsr, || {
                F::fma(a, x, y, host::mxcsr(Rounding::Zero)).map_or(0, |v| v.0)
            });
        }
    }
    soft_muladd::<F>(a, x, y, rm, fpcr, fpsr)
}

/// The exact software FPMulAdd for hosts without FMA3 (operands flushed, not NaN).
fn soft_muladd<F: Fmt>(a: u64, x: u64, y: u64, rm: Rounding, fpcr: u64, fpsr: &mut u64) -> u64 {
    let sa = sign::<F>(a);
    let sp = sign::<F>(x) ^ sign::<F>(y);
    let inf_a = is_inf::<F>(a);
    let inf_p = is_inf::<F>(x) || is_inf::<F>(y);
    let zero_a = is_zero::<F>(a);
    let zero_p = is_zero::<F>(x) || is_zero::<F>(y);
    let invalid = (is_inf::<F>(x) && is_zero::<F>(y))
        || (is_zero::<F>(x) && is_inf::<F>(y))
        || (inf_a && inf_p && sa != sp);
    if invalid {
        *fpsr |= IOC;
        return F::DEFAULT_NAN;
    }
    if (inf_a && !sa) || (inf_p && !sp) {
        return F::INF;
    }
    if (inf_a && sa) || (inf_p && sp) {
        return F::INF | F::SIGN;
    }
    if zero_a && zero_p && sa == sp {
        return sign_bit::<F>(sa);
    }
    // Exact terms: product = mp * 2^ep, addend = ma * 2^ea.
    let (mp, ep) = if zero_p {
        (0u128, 0)
    } else {
        let (mx, ex) = unpack::<F>(x);
        let (my, ey) = unpack::<F>(y);
        (mx as u128 * my as u128, ex + ey)
    };
    let (ma, ea) = if zero_a {
        (0u128, 0)
    } else {
        let (m, e) = unpack::<F>(a);
        (m as u128, e)
    };
    let (sign, mant, exp, sticky) = if mp == 0 {
        (sa, ma, ea, false)
    } else if ma == 0 {
        (sp, mp, ep, false)
    } else {
        add_exact((sp, mp, ep), (sa, ma, ea))
    };
    if mant == 0 && !sticky {
        // An exact zero sum: +0, or -0 when rounding towards -inf.
        return sign_bit::<F>(rm == Rounding::NegInf);
    }
    round::<F>(
        sign,
        mant,
        exp,
        sticky,
        rm,
        fpcr & FPCR_FZ != 0,
        false,
        fpsr,
    )
}

/// Add two signed terms `m * 2^e` (each `m` non-zero and below 2^107). The result is
/// `(sign, mant, exp, sticky)`: exactly `mant * 2^exp`, or when `sticky`, strictly between
/// that and `(mant + 1) * 2^exp` with `mant` wide enough (≥ 2^124) to round correctly.
fn add_exact(p: (bool, u128, i32), q: (bool, u128, i32)) -> (bool, u128, i32, bool) {
    let top = |t: &(bool, u128, i32)| t.2 + 127 - t.1.leading_zeros() as i32;
    let (hi, lo) = if top(&p) >= top(&q) { (p, q) } else { (q, p) };
    // Put hi's leading bit at bit 125.
    let sh = hi.1.leading_zeros() as i32 - 2;
    let (hs, hm, he) = (hi.0, hi.1 << sh, hi.2 - sh);
    // Align lo to hi's exponent.
    let d = lo.2 - he;
    let (lm, mut sticky) = if d >= 0 {
        (lo.1 << d, false)
    } else if -d >= 128 {
        (0, true)
    } else {
        let s = (-d) as u32;
        (lo.1 >> s, lo.1 & ((1u128 << s) - 1) != 0)
    };
    if hs == lo.0 {
        return (hs, hm + lm, he, sticky);
    }
    match hm.cmp(&lm) {
        Ordering::Greater => {
            let mut m = hm - lm;
            if sticky {
                // The true value lies strictly between m - 1 and m.
                m -= 1;
            }
            (hs, m, he, sticky)
        }
        Ordering::Less => (lo.0, lm - hm, he, false),
        Ordering::Equal => {
            sticky = false;
            (hs, 0, he, sticky)
        }
    }
}

/// FPRoundBase: round the exact non-zero value `mant * 2^exp` (plus a fraction of one
/// unit of `mant` when `sticky`) to format `F`, raising Underflow (tininess before
/// rounding), Overflow and Inexact as Arm does. `fz` flushes tiny single/double results
/// to zero; `ahp` selects the alternative half-precision format (no infinities or NaNs).
#[allow(clippy::too_many_arguments)]
pub fn round<F: Fmt>(
    sign: bool,
    mant: u128,
    exp: i32,
    sticky: bool,
    rm: Rounding,
    fz: bool,
    ahp: bool,
    fpsr: &mut u64,
) -> u64 {
    debug_assert!(mant != 0);
    // Normalise so that the leading bit is bit 126.
    let (mut mant, mut exp, mut sticky) = (mant, exp, sticky);
    let lz = mant.leading_zeros() as i32;
    if lz >= 1 {
        mant <<= lz - 1;
        exp -= lz - 1;
    } else {
        sticky |= mant & 1 != 0;
        mant >>= 1;
        exp += 1;
    }
    let e = exp + 126; // floor(log2(|value|))
    let sbit = sign_bit::<F>(sign);
    let min_exp = 1 - F::BIAS;
    if fz && F::N != 16 && e < min_exp {
        *fpsr |= UFC;
        return sbit;
    }
    let (mut biased, ulp) = if e < min_exp {
        (0, min_exp - F::F as i32)
    } else {
        (e - min_exp + 1, e - F::F as i32)
    };
    let shift = (ulp - exp) as u32; // at least 126 - 52
    let (int_mant, half, exact) = if shift >= 128 {
        (0u64, Ordering::Less, false)
    } else {
        let rem = mant & ((1u128 << shift) - 1);
        let h = 1u128 << (shift - 1);
        let half = match rem.cmp(&h) {
            Ordering::Equal if sticky => Ordering::Greater,
            o => o,
        };
        ((mant >> shift) as u64, half, rem == 0 && !sticky)
    };
    if biased == 0 && !exact {
        *fpsr |= UFC;
    }
    let mut int_mant = int_mant;
    if rm.round_up(sign, int_mant & 1 == 1, half, !exact) {
        int_mant += 1;
        if int_mant == 1 << F::F {
            biased = 1; // rounded up from denormal to normal
        }
        if int_mant == 1 << (F::F + 1) {
            biased += 1;
            int_mant >>= 1;
        }
    }
    if ahp {
        if biased >= 1 << F::E {
            *fpsr |= IOC;
            return sbit | (F::MASK >> 1);
        }
    } else if biased >= (1 << F::E) - 1 {
        *fpsr |= OFC | IXC;
        let to_inf = match rm {
            Rounding::TieEven | Rounding::TieAway => true,
            Rounding::PosInf => !sign,
            Rounding::NegInf => sign,
            Rounding::Zero => false,
        };
        return sbit | if to_inf { F::INF } else { F::MAX_NORMAL };
    }
    if !exact {
        *fpsr |= IXC;
    }
    sbit | (biased as u64) << F::F | (int_mant & F::FRAC_MASK)
}

/// Which of FMAX, FMIN, FMAXNM, FMINNM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MinMax {
    Max,
    Min,
    MaxNum,
    MinNum,
}

/// A key that orders non-NaN values numerically (both zeros compare equal).
fn order_key<F: Fmt>(x: u64) -> i64 {
    let mag = (x & !F::SIGN & F::MASK) as i64;
    if sign::<F>(x) {
        -mag
    } else {
        mag
    }
}

/// FPMax / FPMin / FPMaxNum / FPMinNum.
pub fn minmax<F: Fmt>(op: MinMax, a: u64, b: u64, fpcr: u64, fpsr: &mut u64) -> u64 {
    let mut a = flush_input::<F>(a, fpcr, fpsr);
    let mut b = flush_input::<F>(b, fpcr, fpsr);
    let max = matches!(op, MinMax::Max | MinMax::MaxNum);
    if matches!(op, MinMax::MaxNum | MinMax::MinNum) {
        // A single quiet NaN loses against any number: it becomes -inf (max) / +inf (min).
        let repl = F::INF | sign_bit::<F>(max);
        match (is_qnan::<F>(a), is_qnan::<F>(b)) {
            (true, false) => a = repl,
            (false, true) => b = repl,
            _ => {}
        }
    }
    if let Some(r) = process_nans::<F>(a, b, fpcr, fpsr) {
        return r;
    }
    let (ka, kb) = (order_key::<F>(a), order_key::<F>(b));
    let pick = if max {
        if ka > kb {
            a
        } else {
            b
        }
    } else if ka < kb {
        a
    } else {
        b
    };
    if is_zero::<F>(pick) {
        // max(-0, +0) = +0, min(-0, +0) = -0.
        let s = if max {
            sign::<F>(a) && sign::<F>(b)
        } else {
            sign::<F>(a) || sign::<F>(b)
        };
        return sign_bit::<F>(s);
    }
    pick
}

/// FPCompare: NZCV in bits 31..28. Unordered is 0011; `signal` (FCMPE) makes any NaN
/// raise Invalid Operation, otherwise only signalling NaNs do.
pub fn compare<F: Fmt>(a: u64, b: u64, signal: bool, fpcr: u64, fpsr: &mut u64) -> u64 {
    let a = flush_input::<F>(a, fpcr, fpsr);
    let b = flush_input::<F>(b, fpcr, fpsr);
    let nzcv = if is_nan::<F>(a) || is_nan::<F>(b) {
        if signal || is_snan::<F>(a) || is_snan::<F>(b) {
            *fpsr |= IOC;
        }
        0b0011
    } else {
        match order_key::<F>(a).cmp(&order_key::<F>(b)) {
            Ordering::Equal => 0b0110,
            Ordering::Less => 0b1000,
            Ordering::Greater => 0b0010,
        }
    };
    nzcv << 28
}

/// Split the magnitude `mant * 2^exp` into its integer part and how the fraction
/// compares with one half (and whether it is non-zero).
fn int_part(mant: u64, exp: i32) -> Option<(u128, Ordering, bool)> {
    if exp >= 0 {
        // mant < 2^53: anything shifted past bit 127 is out of every range we need.
        if exp > 74 {
            return None;
        }
        return Some(((mant as u128) << exp, Ordering::Less, false));
    }
    let s = (-exp) as u32;
    if s > 64 {
        return Some((0, Ordering::Less, mant != 0));
    }
    let m = mant as u128;
    let rem = m & ((1u128 << s) - 1);
    Some((m >> s, rem.cmp(&(1u128 << (s - 1))), rem != 0))
}

/// FPToFixed: convert to a `bits`-wide (32 or 64) signed or unsigned integer with
/// `fbits` fraction bits, saturating (NaN gives 0), raising Invalid Operation on NaN or
/// overflow and Inexact otherwise when the value was not exact.
pub fn to_fixed<F: Fmt>(
    x: u64,
    fbits: u32,
    unsigned: bool,
    bits: u32,
    rm: Rounding,
    fpcr: u64,
    fpsr: &mut u64,
) -> u64 {
    let x = flush_input::<F>(x, fpcr, fpsr);
    let mask = u64::MAX >> (64 - bits);
    let neg = sign::<F>(x);
    let (max, min) = if unsigned {
        (mask, 0u64)
    } else {
        (mask >> 1, (1u64 << (bits - 1)) & mask)
    };
    if is_nan::<F>(x) {
        *fpsr |= IOC;
        return 0;
    }
    if is_zero::<F>(x) {
        return 0;
    }
    let parts = if is_inf::<F>(x) {
        None
    } else {
        let (m, e) = unpack::<F>(x);
        int_part(m, e + fbits as i32)
    };
    let Some((mut int, half, inexact)) = parts else {
        *fpsr |= IOC;
        return if neg { min } else { max };
    };
    if rm.round_up(neg, int & 1 == 1, half, inexact) {
        int += 1;
    }
    let limit = if neg {
        if unsigned {
            0
        } else {
            1u128 << (bits - 1)
        }
    } else {
        max as u128
    };
    if int > limit {
        *fpsr |= IOC;
        return if neg { min } else { max };
    }
    if inexact {
        *fpsr |= IXC;
    }
    let v = int as u64;
    if neg {
        v.wrapping_neg() & mask
    } else {
        v
    }
}

/// FixedToFP: the `bits`-wide (32 or 64) signed or unsigned integer `x` with `fbits`
/// fraction bits, rounded to `F` with the FPCR rounding mode.
pub fn from_fixed<F: Fmt>(
    x: u64,
    fbits: u32,
    unsigned: bool,
    bits: u32,
    fpcr: u64,
    fpsr: &mut u64,
) -> u64 {
    let v: i128 = match (bits, unsigned) {
        (32, true) => x as u32 as i128,
        (32, false) => x as u32 as i32 as i128,
        (_, true) => x as i128,
        (_, false) => x as i64 as i128,
    };
    if v == 0 {
        return 0;
    }
    if fpcr & FPCR_RMODE == 0 && F::N != 16 {
        // Round to nearest: Rust's integer-to-float `as` rounds to nearest, ties to
        // even. (Every 64-bit value fits a negative i64 or a u64.) The result is at
        // least 1 in magnitude, so scaling by 2^-fbits stays exact and normal.
        // Exact iff converting back gives `v` (2^64, the rounding of values near
        // u64::MAX, would saturate back to u64::MAX, so it is checked first).
        let (bits, exact) = if F::N == 32 {
            let f = if v < 0 {
                v as i64 as f32
            } else {
                v as u64 as f32
            };
            let back = if v < 0 {
                f as i64 as i128
            } else if f < 18446744073709551616.0 {
                f as u64 as i128
            } else {
                -1
            };
            (f.to_bits() as u64, back == v)
        } else {
            let f = if v < 0 {
                v as i64 as f64
            } else {
                v as u64 as f64
            };
            let back = if v < 0 {
                f as i64 as i128
            } else if f < 18446744073709551616.0 {
                f as u64 as i128
            } else {
                -1
            };
            (f.to_bits(), back == v)
        };
        if !exact {
            *fpsr |= IXC;
        }
        return bits - ((fbits as u64) << F::F);
    }
    let rm = Rounding::from_fpcr(fpcr);
    let fz = fpcr & FPCR_FZ != 0;
    round::<F>(
        v < 0,
        v.unsigned_abs(),
        -(fbits as i32),
        false,
        rm,
        fz,
        false,
        fpsr,
    )
}

/// FPRoundInt: round to an integral value in the same format. `exact` (FRINTX) raises
/// Inexact when the value changed; the others never do.
pub fn round_int<F: Fmt>(x: u64, rm: Rounding, exact: bool, fpcr: u64, fpsr: &mut u64) -> u64 {
    let x = flush_input::<F>(x, fpcr, fpsr);
    if is_nan::<F>(x) {
        return process_nan::<F>(x, fpcr, fpsr);
    }
    if is_inf::<F>(x) || is_zero::<F>(x) {
        return x;
    }
    let (m, e) = unpack::<F>(x);
    if e >= 0 {
        return x; // already integral
    }
    let neg = sign::<F>(x);
    let (mut int, half, inexact) = int_part(m, e).expect("negative exponent");
    if rm.round_up(neg, int & 1 == 1, half, inexact) {
        int += 1;
    }
    if inexact && exact {
        *fpsr |= IXC;
    }
    if int == 0 {
        return sign_bit::<F>(neg);
    }
    // An integer below 2^F+1 is exactly representable: no flags.
    let mut scratch = 0;
    round::<F>(
        neg,
        int,
        0,
        false,
        Rounding::Zero,
        false,
        false,
        &mut scratch,
    )
}

/// FPConvertNaN: a NaN of format `S` as a quiet NaN of format `D`, keeping the sign and
/// the most significant payload bits.
fn convert_nan<S: Fmt, D: Fmt>(x: u64) -> u64 {
    let payload = x & (S::QUIET - 1); // S::F - 1 bits below the quiet bit
    let wide = payload << (51 - (S::F - 1)); // as a double's 51 payload bits
    let narrow = wide >> (51 - (D::F - 1));
    sign_bit::<D>(sign::<S>(x)) | D::EXP_MASK | D::QUIET | narrow
}

/// FPConvert (FCVT): between half, single and double precision, rounding with the FPCR
/// mode. FPCR.FZ applies to single/double operands and results only; FPCR.AHP selects
/// the alternative half-precision format.
pub fn convert<S: Fmt, D: Fmt>(x: u64, fpcr: u64, fpsr: &mut u64) -> u64 {
    let ahp = fpcr & FPCR_AHP != 0;
    let in_ahp = S::N == 16 && ahp;
    let out_ahp = D::N == 16 && ahp;
    let x = flush_input::<S>(x, fpcr, fpsr);
    let neg = sign::<S>(x);
    if !in_ahp && is_nan::<S>(x) {
        if is_snan::<S>(x) || out_ahp {
            *fpsr |= IOC;
        }
        return if out_ahp {
            sign_bit::<D>(neg)
        } else if fpcr & FPCR_DN != 0 {
            D::DEFAULT_NAN
        } else {
            convert_nan::<S, D>(x)
        };
    }
    if !in_ahp && is_inf::<S>(x) {
        if out_ahp {
            *fpsr |= IOC;
            return sign_bit::<D>(neg) | (D::MASK >> 1);
        }
        return sign_bit::<D>(neg) | D::INF;
    }
    if is_zero::<S>(x) {
        return sign_bit::<D>(neg);
    }
    let (m, e) = unpack::<S>(x);
    let rm = Rounding::from_fpcr(fpcr);
    round::<D>(
        neg,
        m as u128,
        e,
        false,
        rm,
        fpcr & FPCR_FZ != 0,
        out_ahp,
        fpsr,
    )
}

/// VFPExpandImm: the 8-bit FMOV immediate as a value of format `F` (single or double).
pub fn expand_imm<F: Fmt>(imm8: u32) -> u64 {
    let imm8 = imm8 as u64;
    let s = (imm8 >> 7) & 1;
    let b6 = (imm8 >> 6) & 1;
    // exp = NOT(b6) : Replicate(b6, E-3) : imm8<5:4>
    let rep = if b6 == 1 { (1u64 << (F::E - 3)) - 1 } else { 0 };
    let exp = ((b6 ^ 1) << (F::E - 1)) | (rep << 2) | ((imm8 >> 4) & 3);
    let frac = (imm8 & 15) << (F::F - 4);
    (s << (F::N - 1)) | (exp << F::F) | frac
}
