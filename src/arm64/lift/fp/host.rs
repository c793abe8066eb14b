//! Host (x86-64 SSE/FMA) primitives for the floating-point semantics in [`super::sem`].
//!
//! Each primitive is one inline-assembly block that saves the host MXCSR, loads the
//! requested one (rounding control, all exceptions masked, flags clear, FTZ/DAZ off),
//! performs a single SSE (or FMA3) instruction, reads back the exception flags and
//! restores the saved MXCSR. Doing all of that in one `asm!` block is what keeps the
//! compiler from constant-folding the operation or moving it across the MXCSR change
//! (which is why `_mm_setcsr` is deprecated). These functions know nothing about Arm;
//! [`super::sem`] turns their (result, flags) into Arm results and FPSR bits.
//!
//! [`Native`] has the MXCSR-free counterparts used by the fast paths: plain operations
//! in Rust's default environment (round to nearest) and exactness checks.
//!
//! Touches nothing but the host floating-point unit.

use std::arch::asm;

use super::sem::Rounding;

/// MXCSR exception flags (bits 5..0) as returned by the primitives.
pub const IE: u32 = 1 << 0;
pub const ZE: u32 = 1 << 2;
pub const OE: u32 = 1 << 3;
pub const UE: u32 = 1 << 4;
pub const PE: u32 = 1 << 5;

/// All six exception masks (bits 12..7): exceptions never trap.
const MASKS: u32 = 0x1f80;

/// The MXCSR value that rounds like `rm` (FTZ, DAZ and all flags clear).
/// Arm FPCR.RMode 01 is towards +inf and 10 towards -inf; x86 RC swaps them.
pub fn mxcsr(rm: Rounding) -> u32 {
    let rc = match rm {
        Rounding::TieEven | Rounding::TieAway => 0,
        Rounding::NegInf => 1,
        Rounding::PosInf => 2,
        Rounding::Zero => 3,
    };
    MASKS | (rc << 13)
}

/// A two-operand arithmetic operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op2 {
    Add,
    Sub,
    Mul,
    Div,
}

macro_rules! sse2 {
    ($name:ident, $ty:ty, $insn:literal) => {
        #[inline]
        fn $name(a: $ty, b: $ty, csr: u32) -> ($ty, u32) {
            // [new MXCSR, MXCSR after the operation, saved MXCSR]
            let mut st = [csr, 0u32, 0u32];
            let mut x = a;
            // SAFETY: the block only reads and writes the three words of `st` (through
            // `p`) and the named xmm registers, and leaves MXCSR as it found it.
            unsafe {
                asm!(
                    "stmxcsr [{p} + 8]",
                    "ldmxcsr [{p}]",
                    concat!($insn, " {x}, {y}"),
                    "stmxcsr [{p} + 4]",
                    "ldmxcsr [{p} + 8]",
                    p = in(reg) st.as_mut_ptr(),
                    x = inout(xmm_reg) x,
                    y = in(xmm_reg) b,
                    options(nostack, preserves_flags),
                );
            }
            (x, st[1] & 0x3f)
        }
    };
}

sse2!(addss, f32, "addss");
sse2!(subss, f32, "subss");
sse2!(mulss, f32, "mulss");
sse2!(divss, f32, "divss");
sse2!(sqrtss, f32, "sqrtss");
sse2!(addsd, f64, "addsd");
sse2!(subsd, f64, "subsd");
sse2!(mulsd, f64, "mulsd");
sse2!(divsd, f64, "divsd");
sse2!(sqrtsd, f64, "sqrtsd");

macro_rules! fma3 {
    ($name:ident, $ty:ty, $insn:literal) => {
        /// `a + n * m` with one rounding.
        ///
        /// # Safety
        /// The host must have FMA3 (`is_x86_feature_detected!("fma")`).
        #[target_feature(enable = "fma")]
        unsafe fn $name(a: $ty, n: $ty, m: $ty, csr: u32) -> ($ty, u32) {
            let mut st = [csr, 0u32, 0u32];
            let mut x = a;
            // SAFETY: as for the SSE primitives; the caller guarantees FMA3 exists.
            unsafe {
                asm!(
                    "stmxcsr [{p} + 8]",
                    "ldmxcsr [{p}]",
                    concat!($insn, " {x}, {n}, {m}"),
                    "stmxcsr [{p} + 4]",
                    "ldmxcsr [{p} + 8]",
                    p = in(reg) st.as_mut_ptr(),
                    x = inout(xmm_reg) x,
                    n = in(xmm_reg) n,
                    m = in(xmm_reg) m,
                    options(nostack, preserves_flags),
                );
            }
            (x, st[1] & 0x3f)
        }
    };
}

fma3!(fmass, f32, "vfmadd231ss");
fma3!(fmasd, f64, "vfmadd231sd");

/// Does the host have FMA3? (Cached by the standard library after the first query.)
#[inline]
pub fn has_fma() -> bool {
    std::is_x86_feature_detected!("fma")
}

/// Host operations on one IEEE format, on raw bit patterns. Each returns the host
/// result and the MXCSR exception flags it raised.
pub trait HostOps {
    fn op2(op: Op2, a: u64, b: u64, csr: u32) -> (u64, u32);
    fn sqrt(a: u64, csr: u32) -> (u64, u32);
    /// `a + n * m`, fused. `None` when the host has no FMA3.
    fn fma(a: u64, n: u64, m: u64, csr: u32) -> Option<(u64, u32)>;
}

impl HostOps for super::sem::F32 {
    fn op2(op: Op2, a: u64, b: u64, csr: u32) -> (u64, u32) {
        let (a, b) = (f32::from_bits(a as u32), f32::from_bits(b as u32));
        let (r, f) = match op {
            Op2::Add => addss(a, b, csr),
            Op2::Sub => subss(a, b, csr),
            Op2::Mul => mulss(a, b, csr),
            Op2::Div => divss(a, b, csr),
        };
        (r.to_bits() as u64, f)
    }
    fn sqrt(a: u64, csr: u32) -> (u64, u32) {
        let a = f32::from_bits(a as u32);
        // sqrtss x, y writes sqrt(y) into the low lane of x.
        let (r, f) = sqrtss(a, a, csr);
        (r.to_bits() as u64, f)
    }
    fn fma(a: u64, n: u64, m: u64, csr: u32) -> Option<(u64, u32)> {
        if !has_fma() {
            return None;
        }
        let f = |x: u64| f32::from_bits(x as u32);
        // SAFETY: FMA3 was detected just above.
        let (r, fl) = unsafe { fmass(f(a), f(n), f(m), csr) };
        Some((r.to_bits() as u64, fl))
    }
}

impl HostOps for super::sem::F64 {
    fn op2(op: Op2, a: u64, b: u64, csr: u32) -> (u64, u32) {
        let (a, b) = (f64::from_bits(a), f64::from_bits(b));
        let (r, f) = match op {
            Op2::Add => addsd(a, b, csr),
            Op2::Sub => subsd(a, b, csr),
            Op2::Mul => mulsd(a, b, csr),
            Op2::Div => divsd(a, b, csr),
        };
        (r.to_bits(), f)
    }
    fn sqrt(a: u64, csr: u32) -> (u64, u32) {
        let a = f64::from_bits(a);
        let (r, f) = sqrtsd(a, a, csr);
        (r.to_bits(), f)
    }
    fn fma(a: u64, n: u64, m: u64, csr: u32) -> Option<(u64, u32)> {
        if !has_fma() {
            return None;
        }
        // SAFETY: FMA3 was detected just above.
        let (r, fl) =
            unsafe { fmasd(f64::from_bits(a), f64::from_bits(n), f64::from_bits(m), csr) };
        Some((r.to_bits(), fl))
    }
}

/// Round-to-nearest operations in the host's default floating-point environment (the
/// one Rust code runs in: round to nearest, no FTZ/DAZ), without touching MXCSR, plus
/// error-free checks of whether a result was exact. [`super::sem`] uses them only where
/// the Arm result and flags are known to follow from the value alone.
pub trait Native: HostOps {
    fn native_op2(op: Op2, a: u64, b: u64) -> u64;
    fn native_sqrt(a: u64) -> u64;
    /// `a + n * m`, fused; `None` without FMA3.
    fn native_fma(a: u64, n: u64, m: u64) -> Option<u64>;
    /// Was `r = op(a, b)` exact? Exact for add/sub (TwoSum); for mul/div/sqrt the
    /// residual `op(a, b) - r` is computed with one FMA, which is exact only when its
    /// granularity is above the smallest denormal: the caller guarantees that by only
    /// asking about results (and, for div/sqrt, dividends) with biased exponent ≥ F + 3.
    /// `None` without FMA3.
    fn native_exact(op: Op2, a: u64, b: u64, r: u64) -> Option<bool>;
    fn native_sqrt_exact(a: u64, r: u64) -> Option<bool>;
}

#[target_feature(enable = "fma")]
fn fma32(a: f32, b: f32, c: f32) -> f32 {
    a.mul_add(b, c)
}

#[target_feature(enable = "fma")]
fn fma64(a: f64, b: f64, c: f64) -> f64 {
    a.mul_add(b, c)
}

macro_rules! native {
    ($fmt:ty, $t:ty, $bits:ty, $fma:ident) => {
        impl Native for $fmt {
            #[inline]
            fn native_op2(op: Op2, a: u64, b: u64) -> u64 {
                let (x, y) = (<$t>::from_bits(a as $bits), <$t>::from_bits(b as $bits));
                let r = match op {
                    Op2::Add => x + y,
                    Op2::Sub => x - y,
                    Op2::Mul => x * y,
                    Op2::Div => x / y,
                };
                r.to_bits() as u64
            }
            #[inline]
            fn native_sqrt(a: u64) -> u64 {
                <$t>::from_bits(a as $bits).sqrt().to_bits() as u64
            }
            #[inline]
            fn native_fma(a: u64, n: u64, m: u64) -> Option<u64> {
                if !has_fma() {
                    return None;
                }
                let f = |v: u64| <$t>::from_bits(v as $bits);
                // SAFETY: FMA3 was detected just above.
                Some(unsafe { $fma(f(n), f(m), f(a)) }.to_bits() as u64)
            }
            #[inline]
            fn native_exact(op: Op2, a: u64, b: u64, r: u64) -> Option<bool> {
                let (x, y, r) = (
                    <$t>::from_bits(a as $bits),
                    <$t>::from_bits(b as $bits),
                    <$t>::from_bits(r as $bits),
                );
                let two_sum_err = |x: $t, y: $t| {
                    let yy = r - x;
                    (x - (r - yy)) + (y - yy)
                };
                match op {
                    Op2::Add => Some(two_sum_err(x, y) == 0.0),
                    Op2::Sub => Some(two_sum_err(x, -y) == 0.0),
                    _ if !has_fma() => None,
                    // SAFETY: FMA3 was detected just above.
                    Op2::Mul => Some(unsafe { $fma(x, y, -r) } == 0.0),
                    // SAFETY: FMA3 was detected just above.
                    Op2::Div => Some(unsafe { $fma(-r, y, x) } == 0.0),
                }
            }
            #[inline]
            fn native_sqrt_exact(a: u64, r: u64) -> Option<bool> {
                if !has_fma() {
                    return None;
                }
                let (x, r) = (<$t>::from_bits(a as $bits), <$t>::from_bits(r as $bits));
                // SAFETY: FMA3 was detected just above.
                Some(unsafe { $fma(-r, r, x) } == 0.0)
            }
        }
    };
}

native!(super::sem::F32, f32, u32, fma32);
native!(super::sem::F64, f64, u64, fma64);
