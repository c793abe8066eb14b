//! Inline IR (no helper call) for the simplest lane arithmetic, computed SWAR-style on
//! 64-bit lanes: ADD/SUB (vector, any element size, and scalar D), ADDP (scalar),
//! CMEQ/CMTST (register) and CMEQ (zero) of any element size, and SHL/USHR (any
//! element size) and SSHR (64-bit elements) by immediate, vector and scalar D. The
//! lifters of the other modules call these after validating the word.

use super::copy::write;
use crate::arm64::lift::{bit, bits, Flow, Lifted, Lifter};
use crate::ir::{BinOp, Val, W};

/// The high bit of every `esize`-bit element of a 64-bit lane.
fn high_bits(esize: u32) -> u64 {
    match esize {
        8 => 0x8080_8080_8080_8080,
        16 => 0x8000_8000_8000_8000,
        32 => 0x8000_0000_8000_0000,
        _ => 0x8000_0000_0000_0000,
    }
}

/// `a + b` (or `a - b`) of every `esize`-bit element of a lane.
fn lane_addsub(l: &mut Lifter, sub: bool, esize: u32, a: Val, b: Val) -> Val {
    if esize == 64 {
        return if sub {
            l.b.sub(W::W64, a, b)
        } else {
            l.b.add(W::W64, a, b)
        };
    }
    let h = l.konst(high_bits(esize));
    let nh = l.konst(!high_bits(esize));
    if sub {
        // ((a | H) - (b & ~H)) ^ ((a ^ ~b) & H)
        let ah = l.b.or(W::W64, a, h);
        let bl = l.b.and(W::W64, b, nh);
        let d = l.b.sub(W::W64, ah, bl);
        let x = l.b.bin(BinOp::XorNot, W::W64, a, b);
        let xh = l.b.and(W::W64, x, h);
        l.b.xor(W::W64, d, xh)
    } else {
        // ((a & ~H) + (b & ~H)) ^ ((a ^ b) & H)
        let al = l.b.and(W::W64, a, nh);
        let bl = l.b.and(W::W64, b, nh);
        let s = l.b.add(W::W64, al, bl);
        let x = l.b.xor(W::W64, a, b);
        let xh = l.b.and(W::W64, x, h);
        l.b.xor(W::W64, s, xh)
    }
}

/// ADD/SUB (vector): `Q`, `U` (subtract) and `size` from the word.
pub fn add_sub(l: &mut Lifter, w: u32) -> Lifted {
    let (q, sub, esize) = (bit(w, 30), bit(w, 29) == 1, 8 << bits(w, 23, 22));
    let (rm, rn, rd) = (bits(w, 20, 16) as u8, bits(w, 9, 5) as u8, bits(w, 4, 0));
    let lanes = 1 + q as u8;
    let ins: Vec<(Val, Val)> = (0..lanes)
        .map(|i| (l.b.get_vlane(rn, i), l.b.get_vlane(rm, i)))
        .collect();
    let out: Vec<Val> = ins
        .into_iter()
        .map(|(a, b)| lane_addsub(l, sub, esize, a, b))
        .collect();
    write(l, rd, out[0], out.get(1).copied());
    Ok(Flow::Next)
}

/// ADD/SUB (scalar, D).
pub fn add_sub_scalar(l: &mut Lifter, w: u32) -> Lifted {
    let sub = bit(w, 29) == 1;
    let a = l.b.get_vlane(bits(w, 9, 5) as u8, 0);
    let b = l.b.get_vlane(bits(w, 20, 16) as u8, 0);
    let r = lane_addsub(l, sub, 64, a, b);
    write(l, bits(w, 4, 0), r, None);
    Ok(Flow::Next)
}

/// ADDP (scalar): `Dd = Vn.d[0] + Vn.d[1]`.
pub fn addp_scalar(l: &mut Lifter, w: u32) -> Lifted {
    let rn = bits(w, 9, 5) as u8;
    let a = l.b.get_vlane(rn, 0);
    let b = l.b.get_vlane(rn, 1);
    let r = l.b.add(W::W64, a, b);
    write(l, bits(w, 4, 0), r, None);
    Ok(Flow::Next)
}

/// Replicate the low `esize` bits of `x` across 64 bits.
fn rep(x: u64, esize: u32) -> u64 {
    let x = x & super::elem::mask(esize);
    match esize {
        8 => x * 0x0101_0101_0101_0101,
        16 => x * 0x0001_0001_0001_0001,
        32 => x * 0x0000_0001_0000_0001,
        _ => x,
    }
}

/// One lane of SHL (`kind` 0), USHR (1) or SSHR (2, 64-bit elements only) by `n`.
fn lane_shift(l: &mut Lifter, kind: u32, esize: u32, n: u32, x: Val) -> Val {
    if kind != 0 && n >= esize {
        // USHR by esize gives 0; SSHR by 64 gives the sign.
        return if kind == 1 {
            l.konst(0)
        } else {
            let k = l.konst(63);
            l.b.ashr(W::W64, x, k)
        };
    }
    let k = l.konst(n as u64);
    match kind {
        0 => {
            let s = l.b.shl(W::W64, x, k);
            if esize == 64 {
                s
            } else {
                let m = l.konst(rep(super::elem::mask(esize) << n, esize));
                l.b.and(W::W64, s, m)
            }
        }
        1 => {
            let s = l.b.lshr(W::W64, x, k);
            if esize == 64 {
                s
            } else {
                let m = l.konst(rep(super::elem::mask(esize) >> n, esize));
                l.b.and(W::W64, s, m)
            }
        }
        _ => l.b.ashr(W::W64, x, k),
    }
}

/// Shift kind and amount of a SHL/USHR/SSHR word, if it has an inline form.
fn shift_kind(w: u32, esize: u32) -> Option<(u32, u32)> {
    let imm = bits(w, 22, 16);
    match (bit(w, 29), bits(w, 15, 11)) {
        (0, 0b01010) => Some((0, imm - esize)),
        (1, 0b00000) => Some((1, 2 * esize - imm)),
        (0, 0b00000) if esize == 64 => Some((2, 2 * esize - imm)),
        _ => None,
    }
}

/// SHL/USHR (any size) and SSHR (.2d) by immediate, vector; `None` when the word has
/// no inline form. The word is already validated.
pub fn shift_vector(l: &mut Lifter, w: u32) -> Option<Lifted> {
    let esize = 8 << (31 - bits(w, 22, 19).leading_zeros());
    let (kind, n) = shift_kind(w, esize)?;
    let (rn, rd) = (bits(w, 9, 5) as u8, bits(w, 4, 0));
    let lanes = 1 + bit(w, 30) as u8;
    let ins: Vec<Val> = (0..lanes).map(|i| l.b.get_vlane(rn, i)).collect();
    let out: Vec<Val> = ins
        .into_iter()
        .map(|x| lane_shift(l, kind, esize, n, x))
        .collect();
    write(l, rd, out[0], out.get(1).copied());
    Some(Ok(Flow::Next))
}

/// SHL/USHR/SSHR (scalar, D); `None` when the word has no inline form.
pub fn shift_scalar(l: &mut Lifter, w: u32) -> Option<Lifted> {
    if bit(w, 22) == 0 {
        return None;
    }
    let (kind, n) = shift_kind(w, 64)?;
    let x = l.b.get_vlane(bits(w, 9, 5) as u8, 0);
    let r = lane_shift(l, kind, 64, n, x);
    write(l, bits(w, 4, 0), r, None);
    Some(Ok(Flow::Next))
}

/// All-ones in every `esize`-bit element of a lane whose value `t` is zero (`zero`) or
/// non-zero (`!zero`).
fn lane_mask_zero(l: &mut Lifter, esize: u32, t: Val, zero: bool) -> Val {
    let h = l.konst(high_bits(esize));
    let low = l.konst(!high_bits(esize));
    // High bit of (t & L) + L | t is set iff the element is non-zero.
    let tl = l.b.and(W::W64, t, low);
    let u = l.b.add(W::W64, tl, low);
    let v = l.b.or(W::W64, u, t);
    let hb = if zero {
        l.b.bin(BinOp::AndNot, W::W64, h, v)
    } else {
        l.b.and(W::W64, v, h)
    };
    // Spread each element's high bit over the element.
    let k = l.konst(esize as u64 - 1);
    let lsb = l.b.lshr(W::W64, hb, k);
    let fill = l.b.sub(W::W64, hb, lsb);
    l.b.or(W::W64, fill, hb)
}

/// CMEQ (register, `U`=1) and CMTST (`U`=0), vector and scalar D (`scalar`).
pub fn cmeq_cmtst(l: &mut Lifter, w: u32, scalar: bool) -> Lifted {
    let eq = bit(w, 29) == 1;
    let esize = if scalar { 64 } else { 8 << bits(w, 23, 22) };
    let (rm, rn, rd) = (bits(w, 20, 16) as u8, bits(w, 9, 5) as u8, bits(w, 4, 0));
    let lanes = if scalar { 1 } else { 1 + bit(w, 30) as u8 };
    let ins: Vec<(Val, Val)> = (0..lanes)
        .map(|i| (l.b.get_vlane(rn, i), l.b.get_vlane(rm, i)))
        .collect();
    let out: Vec<Val> = ins
        .into_iter()
        .map(|(a, b)| {
            let t = if eq {
                l.b.xor(W::W64, a, b)
            } else {
                l.b.and(W::W64, a, b)
            };
            lane_mask_zero(l, esize, t, eq)
        })
        .collect();
    write(l, rd, out[0], out.get(1).copied());
    Ok(Flow::Next)
}

/// CMEQ (zero), vector and scalar D (`scalar`).
pub fn cmeq_zero(l: &mut Lifter, w: u32, scalar: bool) -> Lifted {
    let esize = if scalar { 64 } else { 8 << bits(w, 23, 22) };
    let (rn, rd) = (bits(w, 9, 5) as u8, bits(w, 4, 0));
    let lanes = if scalar { 1 } else { 1 + bit(w, 30) as u8 };
    let ins: Vec<Val> = (0..lanes).map(|i| l.b.get_vlane(rn, i)).collect();
    let out: Vec<Val> = ins
        .into_iter()
        .map(|t| lane_mask_zero(l, esize, t, true))
        .collect();
    write(l, rd, out[0], out.get(1).copied());
    Ok(Flow::Next)
}
