//! Element-level semantics of the Advanced SIMD integer instructions, as plain Rust on
//! 128-bit values (element 0 in the low bits, as `VReg::as_u128` gives them).
//!
//! Everything here is pure: no CPU state, no IR. The run-time helpers of the other
//! `simd` modules are written with these functions, and a later pass that emits host
//! SSE code inline can check itself against them.

use crate::arm64::lift::sext;

/// All-ones in the low `esize` bits (`esize` = 8, 16, 32 or 64).
#[inline]
pub fn mask(esize: u32) -> u64 {
    if esize >= 64 {
        u64::MAX
    } else {
        (1u64 << esize) - 1
    }
}

/// Element `i` of `v`, zero-extended.
#[inline]
pub fn get(v: u128, esize: u32, i: usize) -> u64 {
    ((v >> (i as u32 * esize)) as u64) & mask(esize)
}

/// Replace element `i` of `v` by the low `esize` bits of `x`.
#[inline]
pub fn set(v: &mut u128, esize: u32, i: usize, x: u64) {
    let sh = i as u32 * esize;
    let m = (mask(esize) as u128) << sh;
    *v = (*v & !m) | (((x & mask(esize)) as u128) << sh);
}

/// Element value `x` (low `esize` bits) as a signed integer.
#[inline]
pub fn sx(x: u64, esize: u32) -> i64 {
    sext(x, esize)
}

/// Element value `x` as a signed (`signed`) or unsigned integer.
#[inline]
pub fn int(x: u64, esize: u32, signed: bool) -> i128 {
    if signed {
        sx(x, esize) as i128
    } else {
        (x & mask(esize)) as i128
    }
}

/// Number of `esize`-bit elements in `datasize` bits.
#[inline]
pub fn count(datasize: u32, esize: u32) -> usize {
    (datasize / esize) as usize
}

/// The low `datasize` bits of `v` (64 or 128).
#[inline]
pub fn trunc(v: u128, datasize: u32) -> u128 {
    if datasize >= 128 {
        v
    } else {
        v & ((1u128 << datasize) - 1)
    }
}

/// Apply `f` to each element of `a`; the result has `datasize` bits (upper bits zero).
pub fn map1(datasize: u32, esize: u32, a: u128, mut f: impl FnMut(u64) -> u64) -> u128 {
    let mut r = 0u128;
    for i in 0..count(datasize, esize) {
        set(&mut r, esize, i, f(get(a, esize, i)));
    }
    r
}

/// Apply `f` to each pair of elements of `a` and `b` (elementwise).
pub fn map2(
    datasize: u32,
    esize: u32,
    a: u128,
    b: u128,
    mut f: impl FnMut(u64, u64) -> u64,
) -> u128 {
    let mut r = 0u128;
    for i in 0..count(datasize, esize) {
        set(&mut r, esize, i, f(get(a, esize, i), get(b, esize, i)));
    }
    r
}

/// Apply `f` to each triple of elements of `a`, `b` and `c` (elementwise).
pub fn map3(
    datasize: u32,
    esize: u32,
    a: u128,
    b: u128,
    c: u128,
    mut f: impl FnMut(u64, u64, u64) -> u64,
) -> u128 {
    let mut r = 0u128;
    for i in 0..count(datasize, esize) {
        let x = f(get(a, esize, i), get(b, esize, i), get(c, esize, i));
        set(&mut r, esize, i, x);
    }
    r
}

/// Pairwise: the elements of `b:a` (a's elements first) taken two at a time, combined
/// by `f` into `datasize / esize` result elements.
pub fn pairwise(
    datasize: u32,
    esize: u32,
    a: u128,
    b: u128,
    mut f: impl FnMut(u64, u64) -> u64,
) -> u128 {
    let n = count(datasize, esize);
    let half = n / 2;
    let mut r = 0u128;
    for i in 0..n {
        let (src, j) = if i < half {
            (a, 2 * i)
        } else {
            (b, 2 * (i - half))
        };
        set(
            &mut r,
            esize,
            i,
            f(get(src, esize, j), get(src, esize, j + 1)),
        );
    }
    r
}

/// `SatQ`: `x` saturated to an `esize`-bit signed or unsigned integer; the flag says
/// whether saturation happened.
#[inline]
pub fn sat(x: i128, esize: u32, signed: bool) -> (u64, bool) {
    let (lo, hi) = if signed {
        (-(1i128 << (esize - 1)), (1i128 << (esize - 1)) - 1)
    } else {
        (0, (1i128 << esize) - 1)
    };
    if x > hi {
        (hi as u64 & mask(esize), true)
    } else if x < lo {
        (lo as u64 & mask(esize), true)
    } else {
        (x as u64 & mask(esize), false)
    }
}

/// [`sat`] that records saturation in `qc`.
#[inline]
pub fn satq(x: i128, esize: u32, signed: bool, qc: &mut bool) -> u64 {
    let (r, s) = sat(x, esize, signed);
    *qc |= s;
    r
}

/// `(x + round_const) << shift` of the SSHL/SRSHL/SQSHL/SQRSHL family, for an element
/// value `x` (|x| < 2^64) and a shift in -128..=127 (negative = right). The result is
/// exact where it matters: its low `esize` bits are the truncated result and [`sat`]
/// of it is the saturated result (huge left shifts return ±2^(esize+1)).
pub fn shift_int(x: i128, shift: i32, rounding: bool, esize: u32) -> i128 {
    if shift >= 0 {
        if shift as u32 >= esize {
            x.signum() << (esize + 1)
        } else {
            x << shift
        }
    } else {
        // Right shifts by more than esize+1 give what esize+1 gives.
        let s = (-shift).min(esize as i32 + 1) as u32;
        let round = if rounding { 1i128 << (s - 1) } else { 0 };
        (x + round) >> s
    }
}

/// Polynomial (carry-less) multiplication of two 64-bit values, 128-bit result:
/// PCLMULQDQ when the host has it.
pub fn pmul(a: u64, b: u64) -> u128 {
    if std::is_x86_feature_detected!("pclmulqdq") {
        // SAFETY: PCLMULQDQ was detected just above.
        return unsafe { pmul_clmul(a, b) };
    }
    pmul_soft(a, b)
}

/// # Safety
/// The host must have PCLMULQDQ.
#[target_feature(enable = "pclmulqdq")]
unsafe fn pmul_clmul(a: u64, b: u64) -> u128 {
    use std::arch::x86_64::*;
    let r = _mm_clmulepi64_si128(_mm_cvtsi64_si128(a as i64), _mm_cvtsi64_si128(b as i64), 0);
    // SAFETY: 16 plain bytes, little-endian like u128.
    unsafe { std::mem::transmute::<__m128i, u128>(r) }
}

/// [`pmul`] from the definition.
pub fn pmul_soft(a: u64, b: u64) -> u128 {
    let mut r = 0u128;
    for i in 0..64 {
        if (b >> i) & 1 != 0 {
            r ^= (a as u128) << i;
        }
    }
    r
}

/// Count leading zeros of an `esize`-bit element.
#[inline]
pub fn clz(x: u64, esize: u32) -> u64 {
    let x = x & mask(esize);
    (x.leading_zeros() - (64 - esize)) as u64
}

/// Count leading sign bits of an `esize`-bit element (not counting the sign bit).
#[inline]
pub fn cls(x: u64, esize: u32) -> u64 {
    let y = sx(x, esize);
    let z = if y < 0 { !y } else { y };
    (z.leading_zeros() - (64 - esize) - 1) as u64
}

/// Absolute difference of two elements as integers.
#[inline]
pub fn abd(a: i128, b: i128) -> u64 {
    (a - b).unsigned_abs() as u64
}

/// Reverse the order of `esize`-bit elements inside each `container`-bit container.
pub fn rev(datasize: u32, esize: u32, container: u32, a: u128) -> u128 {
    let per = (container / esize) as usize;
    let mut r = 0u128;
    for i in 0..count(datasize, esize) {
        let base = i / per * per;
        let j = base + (per - 1 - i % per);
        set(&mut r, esize, i, get(a, esize, j));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_set_roundtrip() {
        let mut v = 0u128;
        set(&mut v, 16, 7, 0x1_2345);
        assert_eq!(v, 0x2345u128 << 112);
        assert_eq!(get(v, 16, 7), 0x2345);
        assert_eq!(get(u128::MAX, 64, 1), u64::MAX);
    }

    #[test]
    fn saturation() {
        assert_eq!(sat(128, 8, true), (0x7f, true));
        assert_eq!(sat(-129, 8, true), (0x80, true));
        assert_eq!(sat(-1, 8, false), (0, true));
        assert_eq!(sat(255, 8, false), (255, false));
        assert_eq!(sat(1 << 64, 64, false), (u64::MAX, true));
        assert_eq!(sat(-(1 << 63), 64, true), (1 << 63, false));
    }

    #[test]
    fn shifts() {
        assert_eq!(shift_int(-1, -200, false, 8), -1);
        assert_eq!(shift_int(-1, -8, true, 8), 0);
        assert_eq!(shift_int(0x80, -8, true, 8), 1);
        assert_eq!(shift_int(u64::MAX as i128, 63, false, 64) as u64, 1 << 63);
        assert_eq!(
            sat(shift_int(1, 64, false, 64), 64, true),
            (i64::MAX as u64, true)
        );
        assert_eq!(shift_int(0, 100, false, 64), 0);
        assert_eq!(shift_int(u64::MAX as i128, -65, true, 64), 0);
        assert_eq!(shift_int(u64::MAX as i128, -64, true, 64), 1);
    }

    #[test]
    fn counts() {
        assert_eq!(clz(0, 8), 8);
        assert_eq!(clz(1, 32), 31);
        assert_eq!(cls(0, 16), 15);
        assert_eq!(cls(0xffff, 16), 15);
        assert_eq!(cls(0x40, 8), 0);
        assert_eq!(cls(0xe0, 8), 2);
        assert_eq!(pmul(0b11, 0b11), 0b101);
    }
}
