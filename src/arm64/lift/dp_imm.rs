//! Lifters for the A64 "Data Processing -- Immediate" group, complete for ARMv8.0-A:
//! ADR/ADRP, ADD/ADDS/SUB/SUBS (immediate), AND/ORR/EOR/ANDS (immediate), MOVN/MOVZ/MOVK,
//! the bitfield moves SBFM/BFM/UBFM (with all their aliases) and EXTR.
//!
//! Everything that can be computed from the instruction word (immediates, bitmask
//! immediates, shifted constants, masks) is computed here in Rust; the IR only sees
//! the register work. The common bitfield aliases (LSL/LSR/ASR, UBFX/SBFX, SXT*/UXT*,
//! UBFIZ/SBFIZ) become one or two shifts/extends/masks, never a generic rotate+mask.
//!
//! Encodings of later architecture versions that live in this group (ADDG/SUBG of
//! FEAT_MTE, the min/max immediates of FEAT_CSSC) are not listed, so they decode as
//! undefined. This module only builds IR through [`Lifter`].

use super::{bit, bits, sext, Flow, LiftError, Lifted, Lifter};
use crate::arm64::decode::{Class, Encoding};
use crate::arm64::disas;
use crate::ir::{BinOp, FlagOp, UnOp, Val, W};

#[rustfmt::skip]
pub const ENCODINGS: &[Encoding] = &[
    Encoding::new("ADR", "0xx10000_xxxxxxxx_xxxxxxxx_xxxxxxxx", Class::DpImm, lift_adr, dis_adr),
    Encoding::new("ADRP", "1xx10000_xxxxxxxx_xxxxxxxx_xxxxxxxx", Class::DpImm, lift_adr, dis_adr),
    Encoding::new("ADD (immediate)", "x0010001_0xxxxxxx_xxxxxxxx_xxxxxxxx", Class::DpImm, lift_addsub, dis_addsub),
    Encoding::new("ADDS (immediate)", "x0110001_0xxxxxxx_xxxxxxxx_xxxxxxxx", Class::DpImm, lift_addsub, dis_addsub),
    Encoding::new("SUB (immediate)", "x1010001_0xxxxxxx_xxxxxxxx_xxxxxxxx", Class::DpImm, lift_addsub, dis_addsub),
    Encoding::new("SUBS (immediate)", "x1110001_0xxxxxxx_xxxxxxxx_xxxxxxxx", Class::DpImm, lift_addsub, dis_addsub),
    Encoding::new("AND (immediate)", "x0010010_0xxxxxxx_xxxxxxxx_xxxxxxxx", Class::DpImm, lift_logical, dis_logical),
    Encoding::new("ORR (immediate)", "x0110010_0xxxxxxx_xxxxxxxx_xxxxxxxx", Class::DpImm, lift_logical, dis_logical),
    Encoding::new("EOR (immediate)", "x1010010_0xxxxxxx_xxxxxxxx_xxxxxxxx", Class::DpImm, lift_logical, dis_logical),
    Encoding::new("ANDS (immediate)", "x1110010_0xxxxxxx_xxxxxxxx_xxxxxxxx", Class::DpImm, lift_logical, dis_logical),
    Encoding::new("MOVN", "x0010010_1xxxxxxx_xxxxxxxx_xxxxxxxx", Class::DpImm, lift_movewide, dis_movewide),
    Encoding::new("MOVZ", "x1010010_1xxxxxxx_xxxxxxxx_xxxxxxxx", Class::DpImm, lift_movewide, dis_movewide),
    Encoding::new("MOVK", "x1110010_1xxxxxxx_xxxxxxxx_xxxxxxxx", Class::DpImm, lift_movewide, dis_movewide),
    Encoding::new("SBFM", "x0010011_0xxxxxxx_xxxxxxxx_xxxxxxxx", Class::DpImm, lift_bitfield, dis_bitfield),
    Encoding::new("BFM", "x0110011_0xxxxxxx_xxxxxxxx_xxxxxxxx", Class::DpImm, lift_bitfield, dis_bitfield),
    Encoding::new("UBFM", "x1010011_0xxxxxxx_xxxxxxxx_xxxxxxxx", Class::DpImm, lift_bitfield, dis_bitfield),
    Encoding::new("EXTR", "x0010011_1x0xxxxx_xxxxxxxx_xxxxxxxx", Class::DpImm, lift_extr, dis_extr),
];

// ---- shared helpers -------------------------------------------------------------

/// `n` ones in the low bits (`n` may be 0..=64).
const fn ones(n: u32) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

/// Rotate the low `esize` bits of `x` right by `r` (`r < esize`).
const fn ror_e(x: u64, r: u32, esize: u32) -> u64 {
    if r == 0 {
        x
    } else {
        ((x >> r) | (x << (esize - r))) & ones(esize)
    }
}

/// Replicate the `esize`-bit element `x` to fill `m` bits.
const fn replicate(x: u64, esize: u32, m: u32) -> u64 {
    let mut v = x;
    let mut n = esize;
    while n < m {
        v |= v << n;
        n *= 2;
    }
    v & ones(m)
}

/// The Arm ARM's `DecodeBitMasks(immN, imms, immr, immediate, M)`: `(wmask, tmask)`
/// for an `m`-bit operation, or `None` where the pseudocode says UNDEFINED (no
/// element size, an all-ones element for a logical immediate, or an element wider
/// than `m`).
pub fn decode_bit_masks(
    n: u32,
    imms: u32,
    immr: u32,
    immediate: bool,
    m: u32,
) -> Option<(u64, u64)> {
    let combined = ((n & 1) << 6) | (!imms & 0x3f);
    if combined == 0 {
        return None;
    }
    let len = 31 - combined.leading_zeros();
    if len < 1 || (1u32 << len) > m {
        return None;
    }
    let levels = (1u32 << len) - 1;
    if immediate && imms & levels == levels {
        return None;
    }
    let s = imms & levels;
    let r = immr & levels;
    let d = s.wrapping_sub(r) & levels;
    let esize = 1u32 << len;
    let welem = ones(s + 1);
    let telem = ones(d + 1);
    let wmask = replicate(ror_e(welem, r, esize), esize, m);
    let tmask = replicate(telem, esize, m);
    Some((wmask, tmask))
}

/// The bitmask immediate of a logical (immediate) instruction, if the encoding is valid.
fn logical_imm(word: u32) -> Option<u64> {
    let sf = bit(word, 31);
    let n = bit(word, 22);
    if sf == 0 && n == 1 {
        return None;
    }
    let m = if sf == 1 { 64 } else { 32 };
    decode_bit_masks(n, bits(word, 15, 10), bits(word, 21, 16), true, m).map(|(w, _)| w)
}

/// The word as objdump shows an encoding it cannot decode.
fn undefined(word: u32) -> String {
    format!(".inst {word:#010x} ; undefined")
}

/// `v << k`, nothing for 0.
fn shl_k(l: &mut Lifter, w: W, v: Val, k: u32) -> Val {
    if k == 0 {
        return v;
    }
    let c = l.konst(k as u64);
    l.b.shl(w, v, c)
}

/// `v >> k` (logical), nothing for 0.
fn lshr_k(l: &mut Lifter, w: W, v: Val, k: u32) -> Val {
    if k == 0 {
        return v;
    }
    let c = l.konst(k as u64);
    l.b.lshr(w, v, c)
}

/// `v >> k` (arithmetic), nothing for 0.
fn ashr_k(l: &mut Lifter, w: W, v: Val, k: u32) -> Val {
    if k == 0 {
        return v;
    }
    let c = l.konst(k as u64);
    l.b.ashr(w, v, c)
}

/// `v & m` for a constant mask.
fn and_k(l: &mut Lifter, w: W, v: Val, m: u64) -> Val {
    let c = l.konst(m & w.mask());
    l.b.and(w, v, c)
}

/// The low `width` bits of `v`, zero-extended (`width < size`): an extend where x86 has
/// one, else a mask.
fn zext_field(l: &mut Lifter, w: W, v: Val, width: u32) -> Val {
    match width {
        8 => l.b.un(UnOp::Zext8, w, v),
        16 => l.b.un(UnOp::Zext16, w, v),
        32 if w == W::W64 => l.b.un(UnOp::Zext32, w, v),
        _ => and_k(l, w, v, ones(width)),
    }
}

// ---- ADR / ADRP -----------------------------------------------------------------

fn adr_target(word: u32, pc: u64) -> u64 {
    let imm = sext(((bits(word, 23, 5) << 2) | bits(word, 30, 29)) as u64, 21);
    if bit(word, 31) == 1 {
        (pc & !0xfff).wrapping_add((imm << 12) as u64)
    } else {
        pc.wrapping_add(imm as u64)
    }
}

fn lift_adr(l: &mut Lifter, word: u32) -> Lifted {
    let v = l.konst(adr_target(word, l.pc));
    l.set_x(W::W64, bits(word, 4, 0), v);
    Ok(Flow::Next)
}

fn dis_adr(word: u32, pc: u64) -> String {
    let m = if bit(word, 31) == 1 { "adrp" } else { "adr" };
    format!(
        "{m} {}, {:#x}",
        disas::r(bits(word, 4, 0), true),
        adr_target(word, pc)
    )
}

// ---- ADD/ADDS/SUB/SUBS (immediate) ----------------------------------------------

fn addsub_imm(word: u32) -> u64 {
    (bits(word, 21, 10) as u64) << (12 * bit(word, 22))
}

fn lift_addsub(l: &mut Lifter, word: u32) -> Lifted {
    let w = W::from_sf(bit(word, 31));
    let sub = bit(word, 30) == 1;
    let setflags = bit(word, 29) == 1;
    let rn = bits(word, 9, 5);
    let rd = bits(word, 4, 0);
    let imm = addsub_imm(word);
    let a = l.xsp(rn);
    if setflags {
        let k = l.konst(imm);
        let (op, fop) = if sub {
            (BinOp::Sub, FlagOp::Sub)
        } else {
            (BinOp::Add, FlagOp::Add)
        };
        let nzcv = l.b.flags(fop, w, a, k, a);
        l.b.set_nzcv(nzcv);
        if rd != 31 {
            let r = l.b.bin(op, w, a, k);
            l.set_x(w, rd, r);
        }
    } else {
        // `mov sp, xN` / `mov xN, sp` (imm 0) is a plain copy.
        let r = if imm == 0 {
            a
        } else if sub {
            let k = l.konst(imm);
            l.b.sub(w, a, k)
        } else {
            l.b.add_imm(w, a, imm)
        };
        l.set_xsp(w, rd, r);
    }
    Ok(Flow::Next)
}

fn dis_addsub(word: u32, _pc: u64) -> String {
    let sf = bit(word, 31) == 1;
    let sub = bit(word, 30) == 1;
    let setflags = bit(word, 29) == 1;
    let sh = bit(word, 22) == 1;
    let imm12 = bits(word, 21, 10);
    let rn = bits(word, 9, 5);
    let rd = bits(word, 4, 0);
    let imm = if sh {
        format!("#{imm12:#x}, lsl #12")
    } else {
        format!("#{imm12:#x}")
    };
    let n = disas::rsp(rn, sf);
    match (sub, setflags) {
        (false, false) if !sh && imm12 == 0 && (rd == 31 || rn == 31) => {
            format!("mov {}, {n}", disas::rsp(rd, sf))
        }
        (false, true) if rd == 31 => format!("cmn {n}, {imm}"),
        (true, true) if rd == 31 => format!("cmp {n}, {imm}"),
        _ => {
            let m = ["add", "adds", "sub", "subs"][(sub as usize) * 2 + setflags as usize];
            let d = if setflags {
                disas::r(rd, sf)
            } else {
                disas::rsp(rd, sf)
            };
            format!("{m} {d}, {n}, {imm}")
        }
    }
}

// ---- logical (immediate) --------------------------------------------------------

fn lift_logical(l: &mut Lifter, word: u32) -> Lifted {
    let w = W::from_sf(bit(word, 31));
    let opc = bits(word, 30, 29);
    let rn = bits(word, 9, 5);
    let rd = bits(word, 4, 0);
    let imm = logical_imm(word).ok_or(LiftError::Undefined)?;
    let r = if rn == 31 {
        // XZR source: the result is a constant (`mov xN, #bitmask` is ORR XZR).
        l.konst(match opc {
            0 | 3 => 0,
            _ => imm,
        })
    } else {
        let a = l.x(rn);
        let k = l.konst(imm);
        let op = match opc {
            0 | 3 => BinOp::And,
            1 => BinOp::Or,
            _ => BinOp::Xor,
        };
        l.b.bin(op, w, a, k)
    };
    if opc == 3 {
        let nzcv = if rn == 31 {
            l.konst(0x4000_0000) // Z
        } else {
            l.b.flags(FlagOp::Logic, w, r, r, r)
        };
        l.b.set_nzcv(nzcv);
        l.set_x(w, rd, r);
    } else {
        l.set_xsp(w, rd, r);
    }
    Ok(Flow::Next)
}

/// Would MOVZ or MOVN produce this bitmask immediate? Then objdump shows `ORR Rd, ZR`
/// as itself rather than as `mov` (unless Rd is SP, which MOVZ/MOVN cannot write).
/// Like binutils, this looks at the value, which also covers the 32-bit encodings
/// with immr<5> set, where the Arm ARM's `MoveWidePreferred` is not exact.
fn move_wide_preferred(imm: u64, w: W) -> bool {
    let one_halfword = |v: u64| (0..w.bits()).step_by(16).any(|k| v & !(0xffff << k) == 0);
    one_halfword(imm) || one_halfword(!imm & w.mask())
}

fn dis_logical(word: u32, _pc: u64) -> String {
    let Some(imm) = logical_imm(word) else {
        return undefined(word);
    };
    let sf = bit(word, 31);
    let opc = bits(word, 30, 29);
    let rn = bits(word, 9, 5);
    let rd = bits(word, 4, 0);
    let s = sf == 1;
    match opc {
        3 if rd == 31 => format!("tst {}, #{imm:#x}", disas::r(rn, s)),
        1 if rn == 31 && (rd == 31 || !move_wide_preferred(imm, W::from_sf(sf))) => {
            format!("mov {}, #{imm:#x}", disas::rsp(rd, s))
        }
        _ => {
            let m = ["and", "orr", "eor", "ands"][opc as usize];
            let d = if opc == 3 {
                disas::r(rd, s)
            } else {
                disas::rsp(rd, s)
            };
            format!("{m} {d}, {}, #{imm:#x}", disas::r(rn, s))
        }
    }
}

// ---- move wide ------------------------------------------------------------------

fn lift_movewide(l: &mut Lifter, word: u32) -> Lifted {
    let sf = bit(word, 31);
    let w = W::from_sf(sf);
    let opc = bits(word, 30, 29);
    let hw = bits(word, 22, 21);
    if sf == 0 && hw >= 2 {
        return Err(LiftError::Undefined);
    }
    let rd = bits(word, 4, 0);
    if rd == 31 {
        return Ok(Flow::Next); // reads and writes XZR: no effect
    }
    let pos = hw * 16;
    let field = (bits(word, 20, 5) as u64) << pos;
    let r = match opc {
        0 => l.konst(!field & w.mask()),
        2 => l.konst(field),
        _ => {
            // MOVK: keep every bit of Rd outside the halfword.
            let d = l.x(rd);
            let kept = and_k(l, w, d, !(0xffffu64 << pos));
            if field == 0 {
                kept
            } else {
                let k = l.konst(field);
                l.b.or(w, kept, k)
            }
        }
    };
    l.set_x(w, rd, r);
    Ok(Flow::Next)
}

fn dis_movewide(word: u32, _pc: u64) -> String {
    let sf = bit(word, 31);
    let opc = bits(word, 30, 29);
    let hw = bits(word, 22, 21);
    if sf == 0 && hw >= 2 {
        return undefined(word);
    }
    let imm16 = bits(word, 20, 5);
    let pos = hw * 16;
    let d = disas::r(bits(word, 4, 0), sf == 1);
    let mask = W::from_sf(sf).mask();
    let alias = !(imm16 == 0 && hw != 0);
    match opc {
        2 if alias => format!("mov {d}, #{:#x}", (imm16 as u64) << pos),
        0 if alias && !(sf == 0 && imm16 == 0xffff) => {
            format!("mov {d}, #{:#x}", !((imm16 as u64) << pos) & mask)
        }
        _ => {
            let m = match opc {
                0 => "movn",
                2 => "movz",
                _ => "movk",
            };
            if pos == 0 {
                format!("{m} {d}, #{imm16:#x}")
            } else {
                format!("{m} {d}, #{imm16:#x}, lsl #{pos}")
            }
        }
    }
}

// ---- bitfield -------------------------------------------------------------------

/// `(w, immr, imms)` of a bitfield word, or `None` for the unallocated sf/N/immr/imms
/// combinations.
fn bitfield_fields(word: u32) -> Option<(W, u32, u32)> {
    let sf = bit(word, 31);
    let r = bits(word, 21, 16);
    let s = bits(word, 15, 10);
    if sf != bit(word, 22) || (sf == 0 && (r >= 32 || s >= 32)) {
        return None;
    }
    Some((W::from_sf(sf), r, s))
}

/// UBFM: the field of `src` moved into place with zeros around it. S >= R: bits S..R
/// to bit 0 (LSR, UBFX, UXTB/UXTH); S < R: bits S..0 to bit size-R (LSL, UBFIZ).
fn ubfm(l: &mut Lifter, w: W, src: Val, r: u32, s: u32) -> Val {
    let size = w.bits();
    if s >= r {
        let t = lshr_k(l, w, src, r);
        if s == size - 1 {
            t // LSR: nothing above the field
        } else {
            zext_field(l, w, t, s - r + 1)
        }
    } else {
        let (width, pos) = (s + 1, size - r);
        if pos + width == size {
            shl_k(l, w, src, pos) // LSL: nothing above the field
        } else {
            let t = zext_field(l, w, src, width);
            shl_k(l, w, t, pos)
        }
    }
}

fn lift_bitfield(l: &mut Lifter, word: u32) -> Lifted {
    let (w, r, s) = bitfield_fields(word).ok_or(LiftError::Undefined)?;
    let opc = bits(word, 30, 29);
    let rn = bits(word, 9, 5);
    let rd = bits(word, 4, 0);
    if rd == 31 {
        return Ok(Flow::Next); // result discarded, no flags
    }
    let size = w.bits();
    let src = l.x(rn);
    // With the element size equal to the register size (always so for the bitfield
    // moves), DecodeBitMasks reduces to two cases: S >= R extracts bits S..R of the
    // source to bit 0 (width S-R+1); S < R inserts bits S..0 at bit size-R (width S+1).
    let v = match opc {
        // SBFM
        0 => {
            if s >= r {
                let width = s - r + 1;
                if s == size - 1 {
                    ashr_k(l, w, src, r) // ASR
                } else if r == 0 && matches!(width, 8 | 16 | 32) {
                    let op = match width {
                        8 => UnOp::Sext8,
                        16 => UnOp::Sext16,
                        _ => UnOp::Sext32,
                    };
                    l.b.un(op, w, src) // SXTB/SXTH/SXTW
                } else {
                    // SBFX: move the field to the top, then shift it down arithmetically.
                    let t = shl_k(l, w, src, size - 1 - s);
                    ashr_k(l, w, t, size - width)
                }
            } else {
                // SBFIZ: sign-extended field, shifted up.
                let width = s + 1;
                let pos = size - r;
                if matches!(width, 8 | 16) || (width == 32 && w == W::W64) {
                    let op = match width {
                        8 => UnOp::Sext8,
                        16 => UnOp::Sext16,
                        _ => UnOp::Sext32,
                    };
                    let t = l.b.un(op, w, src);
                    shl_k(l, w, t, pos)
                } else {
                    let t = shl_k(l, w, src, size - width);
                    ashr_k(l, w, t, size - width - pos)
                }
            }
        }
        // UBFM
        2 => ubfm(l, w, src, r, s),
        // BFM (opc 3 has no row)
        _ => {
            let (width, pos) = if s >= r {
                (s - r + 1, 0)
            } else {
                (s + 1, size - r)
            };
            let field_mask = ones(width) << pos;
            if field_mask & w.mask() == w.mask() {
                // BFXIL of the whole register: a copy.
                src
            } else {
                let dst = l.x(rd);
                let kept = and_k(l, w, dst, !field_mask);
                if rn == 31 {
                    kept // BFC
                } else {
                    // The field placed as UBFM places it, zeros around it.
                    let field = ubfm(l, w, src, r, s);
                    l.b.or(w, kept, field)
                }
            }
        }
    };
    l.set_x(w, rd, v);
    Ok(Flow::Next)
}

/// The Arm ARM's `BFXPreferred`: is UBFX/SBFX the preferred disassembly?
fn bfx_preferred(sf: u32, uns: bool, imms: u32, immr: u32) -> bool {
    if imms < immr {
        return false;
    }
    if imms == (sf << 5) | 0x1f {
        return false;
    }
    if immr == 0 {
        if sf == 0 && matches!(imms, 7 | 15) {
            return false;
        }
        if sf == 1 && !uns && matches!(imms, 7 | 15 | 31) {
            return false;
        }
    }
    true
}

fn dis_bitfield(word: u32, _pc: u64) -> String {
    let Some((w, r, s)) = bitfield_fields(word) else {
        return undefined(word);
    };
    let sf = bit(word, 31);
    let opc = bits(word, 30, 29);
    let size = w.bits();
    let rn = bits(word, 9, 5);
    let d = disas::r(bits(word, 4, 0), sf == 1);
    let n = disas::r(rn, sf == 1);
    let wn = disas::r(rn, false);
    // (mnemonic, lsb, width) of the insert and extract forms.
    let ins = |m: &str| format!("{m} {d}, {n}, #{}, #{}", size - r, s + 1);
    let ext = |m: &str| format!("{m} {d}, {n}, #{r}, #{}", s - r + 1);
    match opc {
        0 => {
            if s == size - 1 {
                format!("asr {d}, {n}, #{r}")
            } else if s < r {
                ins("sbfiz")
            } else if bfx_preferred(sf, false, s, r) {
                ext("sbfx")
            } else {
                let m = match s {
                    7 => "sxtb",
                    15 => "sxth",
                    _ => "sxtw",
                };
                format!("{m} {d}, {wn}")
            }
        }
        2 => {
            if s != size - 1 && s + 1 == r {
                format!("lsl {d}, {n}, #{}", size - 1 - s)
            } else if s == size - 1 {
                format!("lsr {d}, {n}, #{r}")
            } else if s < r {
                ins("ubfiz")
            } else if bfx_preferred(sf, true, s, r) {
                ext("ubfx")
            } else {
                let m = if s == 7 { "uxtb" } else { "uxth" };
                format!("{m} {d}, {wn}")
            }
        }
        _ => {
            if s < r && rn == 31 {
                format!("bfc {d}, #{}, #{}", size - r, s + 1)
            } else if s < r {
                ins("bfi")
            } else {
                ext("bfxil")
            }
        }
    }
}

// ---- EXTR -----------------------------------------------------------------------

fn extr_fields(word: u32) -> Option<(W, u32)> {
    let sf = bit(word, 31);
    let lsb = bits(word, 15, 10);
    if sf != bit(word, 22) || (sf == 0 && lsb >= 32) {
        return None;
    }
    Some((W::from_sf(sf), lsb))
}

fn lift_extr(l: &mut Lifter, word: u32) -> Lifted {
    let (w, lsb) = extr_fields(word).ok_or(LiftError::Undefined)?;
    let rm = bits(word, 20, 16);
    let rn = bits(word, 9, 5);
    let rd = bits(word, 4, 0);
    let v = if lsb == 0 {
        l.x(rm)
    } else if rn == rm {
        let a = l.x(rn);
        let k = l.konst(lsb as u64);
        l.b.bin(BinOp::Ror, w, a, k) // ROR (immediate)
    } else {
        let lo = l.x(rm);
        let hi = l.x(rn);
        let lo = lshr_k(l, w, lo, lsb);
        let hi = shl_k(l, w, hi, w.bits() - lsb);
        l.b.or(w, hi, lo)
    };
    l.set_x(w, rd, v);
    Ok(Flow::Next)
}

fn dis_extr(word: u32, _pc: u64) -> String {
    let Some((w, lsb)) = extr_fields(word) else {
        return undefined(word);
    };
    let sf = w == W::W64;
    let rm = bits(word, 20, 16);
    let rn = bits(word, 9, 5);
    let d = disas::r(bits(word, 4, 0), sf);
    if rn == rm {
        format!("ror {d}, {}, #{lsb}", disas::r(rn, sf))
    } else {
        format!(
            "extr {d}, {}, {}, #{lsb}",
            disas::r(rn, sf),
            disas::r(rm, sf)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arm64::cpu::Cpu;
    use crate::arm64::decode;
    use crate::engine::testing::{run, run_ok, CODE_BASE};
    use crate::engine::Exit;

    const N: u64 = 1 << 31;
    const Z: u64 = 1 << 30;
    const C: u64 = 1 << 29;
    const V: u64 = 1 << 28;

    // ---- encoders (checked against the assembler in `encoders_match_assembler`) ----

    fn addsub(sf: u32, op: u32, s: u32, sh: u32, imm12: u32, rn: u32, rd: u32) -> u32 {
        sf << 31 | op << 30 | s << 29 | 0b100010 << 23 | sh << 22 | imm12 << 10 | rn << 5 | rd
    }
    fn logical(sf: u32, opc: u32, n: u32, immr: u32, imms: u32, rn: u32, rd: u32) -> u32 {
        sf << 31 | opc << 29 | 0b100100 << 23 | n << 22 | immr << 16 | imms << 10 | rn << 5 | rd
    }
    fn movewide(sf: u32, opc: u32, hw: u32, imm16: u32, rd: u32) -> u32 {
        sf << 31 | opc << 29 | 0b100101 << 23 | hw << 21 | imm16 << 5 | rd
    }
    fn bitfield(sf: u32, opc: u32, immr: u32, imms: u32, rn: u32, rd: u32) -> u32 {
        sf << 31 | opc << 29 | 0b100110 << 23 | sf << 22 | immr << 16 | imms << 10 | rn << 5 | rd
    }
    fn extr(sf: u32, rm: u32, imms: u32, rn: u32, rd: u32) -> u32 {
        sf << 31 | 0b100111 << 23 | sf << 22 | rm << 16 | imms << 10 | rn << 5 | rd
    }

    /// Run one word with registers set by `init`.
    fn run1(word: u32, init: impl FnOnce(&mut Cpu)) -> Box<Cpu> {
        let mut cpu = Cpu::new();
        init(&mut cpu);
        run_ok(&[word], &mut cpu);
        cpu
    }

    fn undefined(word: u32) {
        let mut cpu = Cpu::new();
        assert_eq!(
            run(&[word], &mut cpu),
            Exit::Undefined(word),
            "{word:#010x}"
        );
        assert_eq!(cpu.pc, CODE_BASE);
    }

    /// Reference AddWithCarry of the Arm ARM: (result, NZCV).
    fn add_with_carry(bits: u32, x: u64, y: u64, c: u64) -> (u64, u64) {
        let mask = ones(bits);
        let (x, y) = (x & mask, y & mask);
        let usum = x as u128 + y as u128 + c as u128;
        let sx = sext(x, bits) as i128;
        let sy = sext(y, bits) as i128;
        let ssum = sx + sy + c as i128;
        let r = (usum as u64) & mask;
        let mut f = 0;
        if r >> (bits - 1) & 1 == 1 {
            f |= N;
        }
        if r == 0 {
            f |= Z;
        }
        if r as u128 != usum {
            f |= C;
        }
        if sext(r, bits) as i128 != ssum {
            f |= V;
        }
        (r, f)
    }

    /// A small deterministic generator.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            // splitmix64
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: u32) -> u32 {
            (self.next() % n as u64) as u32
        }
        /// Random values biased towards the interesting edges.
        fn value(&mut self) -> u64 {
            const EDGES: [u64; 10] = [
                0,
                1,
                u64::MAX,
                0x7fff_ffff,
                0x8000_0000,
                0xffff_ffff,
                0x1_0000_0000,
                i64::MAX as u64,
                i64::MIN as u64,
                0xffff_ffff_0000_0000,
            ];
            match self.below(4) {
                0 => EDGES[self.below(10) as usize],
                _ => self.next(),
            }
        }
    }

    // ---- ADD/SUB (immediate) ---------------------------------------------------

    #[test]
    fn adds_subs_flags_32() {
        // (op, x1, imm, result, nzcv)
        let cases: &[(u32, u64, u32, u64, u64)] = &[
            (0, 0x7fff_ffff, 1, 0x8000_0000, N | V),
            (0, 0xffff_ffff, 1, 0, Z | C),
            (0, 0xffff_fffe, 1, 0xffff_ffff, N),
            (0, 0x1234, 0, 0x1234, 0),
            // the high half of the source is ignored
            (0, 0xdead_beef_0000_0001, 1, 2, 0),
            (1, 0, 1, 0xffff_ffff, N),
            (1, 1, 1, 0, Z | C),
            (1, 0x8000_0000, 1, 0x7fff_ffff, C | V),
            (1, 5, 3, 2, C),
            (1, 0xffff_ffff_0000_0000, 1, 0xffff_ffff, N),
        ];
        for &(op, a, imm, r, f) in cases {
            let word = addsub(0, op, 1, 0, imm, 1, 0);
            let cpu = run1(word, |c| {
                c.x[1] = a;
                c.nzcv = 0xf000_0000;
            });
            assert_eq!(cpu.x[0], r, "{word:#010x} with {a:#x}");
            assert_eq!(cpu.nzcv, f, "{word:#010x} with {a:#x}");
        }
    }

    #[test]
    fn adds_subs_flags_64() {
        let cases: &[(u32, u64, u32, u64, u64)] = &[
            (0, i64::MAX as u64, 1, i64::MIN as u64, N | V),
            (0, u64::MAX, 1, 0, Z | C),
            (0, 0x7fff_ffff, 1, 0x8000_0000, 0),
            (0, 0xffff_ffff, 1, 0x1_0000_0000, 0),
            (1, 0, 1, u64::MAX, N),
            (1, i64::MIN as u64, 1, i64::MAX as u64, C | V),
            (1, 1, 1, 0, Z | C),
            (1, 0x1_0000_0000, 1, 0xffff_ffff, C),
        ];
        for &(op, a, imm, r, f) in cases {
            let word = addsub(1, op, 1, 0, imm, 1, 0);
            let cpu = run1(word, |c| c.x[1] = a);
            assert_eq!(cpu.x[0], r, "{word:#010x} with {a:#x}");
            assert_eq!(cpu.nzcv, f, "{word:#010x} with {a:#x}");
        }
    }

    #[test]
    fn add_sub_shifted_and_sp() {
        // add sp, x1, #1, lsl #12
        let cpu = run1(0x9140_043f, |c| c.x[1] = 0x10);
        assert_eq!(cpu.x[31], 0x1010);
        // add x0, sp, #0x10
        let cpu = run1(0x9100_43e0, |c| c.x[31] = 0x7fff_fff0);
        assert_eq!(cpu.x[0], 0x8000_0000);
        // sub w0, wsp, #1: 32-bit, zero-extended
        let cpu = run1(0x5100_07e0, |c| c.x[31] = 0x1_0000_0000);
        assert_eq!(cpu.x[0], 0xffff_ffff);
        // add w0, w1, #0xfff
        let cpu = run1(0x113f_fc20, |c| c.x[1] = 0xffff_ffff_ffff_f001);
        assert_eq!(cpu.x[0], 0);
        // mov sp, x1 / mov x0, sp
        let cpu = run1(0x9100_003f, |c| c.x[1] = 0x1234_5678_9abc);
        assert_eq!(cpu.x[31], 0x1234_5678_9abc);
        let cpu = run1(0x9100_03e0, |c| c.x[31] = 0xfeed_0000);
        assert_eq!(cpu.x[0], 0xfeed_0000);
        // mov wsp, w1 (add wsp, w1, #0) zero-extends into SP
        let cpu = run1(addsub(0, 0, 0, 0, 0, 1, 31), |c| c.x[1] = u64::MAX);
        assert_eq!(cpu.x[31], 0xffff_ffff);
        // sub x0, x1, #0xfff, lsl #12
        let cpu = run1(addsub(1, 1, 0, 1, 0xfff, 1, 0), |c| c.x[1] = 0);
        assert_eq!(cpu.x[0], 0u64.wrapping_sub(0xfff000));
        // ADD/SUB do not touch the flags
        let cpu = run1(addsub(1, 1, 0, 0, 1, 1, 0), |c| {
            c.x[1] = 0;
            c.nzcv = Z | V;
        });
        assert_eq!((cpu.x[0], cpu.nzcv), (u64::MAX, Z | V));
    }

    #[test]
    fn cmp_cmn_with_sp_and_zr() {
        // cmp sp, #0x10: Rn = SP, result to XZR (SP unchanged)
        let cpu = run1(0xf100_43ff, |c| c.x[31] = 0x10);
        assert_eq!((cpu.x[31], cpu.nzcv), (0x10, Z | C));
        let cpu = run1(0xf100_43ff, |c| c.x[31] = 0x8);
        assert_eq!((cpu.x[31], cpu.nzcv), (0x8, N));
        // cmn w1, #1, lsl #12
        let cpu = run1(0x3140_043f, |c| c.x[1] = 0xffff_f000);
        assert_eq!(cpu.nzcv, Z | C);
        // cmp wsp, #0xfff, lsl #12
        let cpu = run1(0x717f_ffff, |c| c.x[31] = 0xdead_0000_00ff_f000);
        assert_eq!((cpu.x[31], cpu.nzcv), (0xdead_0000_00ff_f000, Z | C));
        // adds x0, sp, #0 reads SP, not XZR
        let cpu = run1(addsub(1, 0, 1, 0, 0, 31, 0), |c| {
            c.x[31] = 0x8000_0000_0000_0000
        });
        assert_eq!((cpu.x[0], cpu.nzcv), (0x8000_0000_0000_0000, N));
    }

    #[test]
    fn addsub_random_against_reference() {
        let mut rng = Rng(1);
        for _ in 0..40 {
            let mut cpu = Cpu::new();
            let mut words = Vec::new();
            let mut expect = Vec::new();
            for r in 1..=4 {
                cpu.x[r] = rng.value();
            }
            cpu.x[31] = rng.value();
            for rd in 5..30u32 {
                let (sf, op, sh) = (rng.below(2), rng.below(2), rng.below(2));
                let imm12 = if rng.below(4) == 0 {
                    0
                } else {
                    rng.below(4096)
                };
                let rn = [1, 2, 3, 4, 31][rng.below(5) as usize];
                let bits = if sf == 1 { 64 } else { 32 };
                let imm = (imm12 as u64) << (12 * sh);
                let a = cpu.x[rn as usize];
                let (res, _) = if op == 0 {
                    add_with_carry(bits, a, imm, 0)
                } else {
                    add_with_carry(bits, a, !imm, 1)
                };
                words.push(addsub(sf, op, 0, sh, imm12, rn, rd));
                expect.push((rd, res));
            }
            // One flag-setting op last, so its flags survive.
            let (sf, op) = (rng.below(2), rng.below(2));
            let imm12 = rng.below(4096);
            let bits = if sf == 1 { 64 } else { 32 };
            let a = cpu.x[1];
            let (res, f) = if op == 0 {
                add_with_carry(bits, a, imm12 as u64, 0)
            } else {
                add_with_carry(bits, a, !(imm12 as u64), 1)
            };
            words.push(addsub(sf, op, 1, 0, imm12, 1, 30));
            run_ok(&words, &mut cpu);
            for (rd, res) in expect {
                assert_eq!(cpu.x[rd as usize], res, "x{rd}");
            }
            assert_eq!((cpu.x[30], cpu.nzcv), (res, f));
        }
    }

    // ---- logical (immediate) ---------------------------------------------------

    #[test]
    fn bitmask_decoding() {
        let imm = |w: u32| logical_imm(w);
        assert_eq!(imm(0x9208_9c20), Some(0xff00_ff00_ff00_ff00));
        assert_eq!(imm(0x1200_cc20), Some(0x0f0f_0f0f));
        assert_eq!(imm(0xb200_f3e0), Some(0x5555_5555_5555_5555));
        assert_eq!(imm(0x3201_f3e0), Some(0xaaaa_aaaa));
        assert_eq!(imm(0xd260_7c20), Some(0xffff_ffff_0000_0000));
        assert_eq!(imm(0xb240_43ff), Some(0x1_ffff));
        assert_eq!(imm(0xb270_dfe0), Some(0xffff_ffff_ffff_00ff));
        // all-ones elements are reserved
        assert_eq!(imm(logical(1, 1, 1, 0, 0b111111, 1, 0)), None);
        assert_eq!(imm(logical(0, 1, 0, 0, 0b011111, 1, 0)), None);
        assert_eq!(imm(logical(1, 1, 0, 0, 0b111101, 1, 0)), None);
        // N:NOT(imms) == 0: no element size
        assert_eq!(imm(0xb200_ffe0), None);
        // N = 1 with sf = 0
        assert_eq!(imm(logical(0, 0, 1, 0, 0, 1, 0)), None);
        // 2-bit element: 01 replicated
        assert_eq!(
            imm(logical(1, 0, 0, 0, 0b111100, 1, 0)),
            Some(0x5555_5555_5555_5555)
        );
        assert_eq!(imm(logical(0, 0, 0, 1, 0b111100, 1, 0)), Some(0xaaaa_aaaa));
        // DecodeBitMasks for the bitfield form (immediate = false)
        assert_eq!(
            decode_bit_masks(1, 7, 4, false, 64),
            Some((0xf000_0000_0000_000f, 0xf))
        );
        assert_eq!(
            decode_bit_masks(1, 63, 0, false, 64),
            Some((u64::MAX, u64::MAX))
        );
        assert_eq!(decode_bit_masks(1, 0, 0, false, 32), None);
    }

    #[test]
    fn logical_immediates() {
        let v = 0x0123_4567_89ab_cdef;
        // and x0, x1, #0xff00ff00ff00ff00
        let cpu = run1(0x9208_9c20, |c| c.x[1] = v);
        assert_eq!(cpu.x[0], v & 0xff00_ff00_ff00_ff00);
        // and w0, w1, #0xf0f0f0f: 32-bit replication, top half cleared
        let cpu = run1(0x1200_cc20, |c| c.x[1] = v);
        assert_eq!(cpu.x[0], 0x89ab_cdef & 0x0f0f_0f0f);
        // mov x0, #0x5555555555555555 (orr xzr)
        let cpu = run1(0xb200_f3e0, |c| c.x[0] = 7);
        assert_eq!(cpu.x[0], 0x5555_5555_5555_5555);
        // mov w0, #0xaaaaaaaa
        let cpu = run1(0x3201_f3e0, |c| c.x[0] = u64::MAX);
        assert_eq!(cpu.x[0], 0xaaaa_aaaa);
        // eor x0, x1, #0xffffffff00000000
        let cpu = run1(0xd260_7c20, |c| c.x[1] = v);
        assert_eq!(cpu.x[0], v ^ 0xffff_ffff_0000_0000);
        // eor w0, w1, #1 zero-extends
        let cpu = run1(logical(0, 2, 0, 0, 0, 1, 0), |c| c.x[1] = u64::MAX);
        assert_eq!(cpu.x[0], 0xffff_fffe);
        // mov sp, #0x1ffff: Rd = 31 is SP for ORR
        let cpu = run1(0xb240_43ff, |_| {});
        assert_eq!(cpu.x[31], 0x1_ffff);
        // orr sp, x1, #1
        let cpu = run1(0xb240_003f, |c| c.x[1] = 0x1000);
        assert_eq!(cpu.x[31], 0x1001);
        // orr w0, w1, #0x80000001 style rotation: imms=1, immr=1 → 0x80000001
        let cpu = run1(logical(0, 1, 0, 1, 1, 1, 0), |c| c.x[1] = 0x10);
        assert_eq!(cpu.x[0], 0x8000_0011);
        // and x0, xzr, #imm → 0; eor x0, xzr, #imm → imm
        let cpu = run1(logical(1, 0, 1, 0, 0, 31, 0), |c| c.x[0] = 5);
        assert_eq!(cpu.x[0], 0);
        let cpu = run1(logical(1, 2, 1, 0, 0, 31, 0), |c| c.x[0] = 5);
        assert_eq!(cpu.x[0], 1);
        // AND/ORR/EOR keep the flags
        let cpu = run1(0x9208_9c20, |c| c.nzcv = N | C);
        assert_eq!(cpu.nzcv, N | C);
    }

    #[test]
    fn ands_and_tst() {
        // ands w0, w1, #0x80000000
        let cpu = run1(0x7201_0020, |c| {
            c.x[1] = 0xffff_ffff_8000_0000;
            c.nzcv = C | V;
        });
        assert_eq!((cpu.x[0], cpu.nzcv), (0x8000_0000, N));
        let cpu = run1(0x7201_0020, |c| {
            c.x[1] = 0x7fff_ffff;
            c.nzcv = C | V;
        });
        assert_eq!((cpu.x[0], cpu.nzcv), (0, Z));
        // tst x1, #0x8000000000000000: Rd = 31 is XZR, SP untouched
        let cpu = run1(0xf241_003f, |c| {
            c.x[1] = 1 << 63;
            c.x[31] = 0x5000;
        });
        assert_eq!((cpu.x[31], cpu.nzcv), (0x5000, N));
        // ands x0, xzr, #1 → Z
        let cpu = run1(logical(1, 3, 1, 0, 0, 31, 0), |c| c.x[0] = 9);
        assert_eq!((cpu.x[0], cpu.nzcv), (0, Z));
    }

    #[test]
    fn logical_random_against_reference() {
        let mut rng = Rng(2);
        for _ in 0..30 {
            let mut cpu = Cpu::new();
            for r in 1..=4 {
                cpu.x[r] = rng.value();
            }
            cpu.nzcv = 0;
            let before = cpu.x;
            let mut expect = before;
            let mut words = Vec::new();
            let mut flags = 0;
            while words.len() < 25 {
                let sf = rng.below(2);
                let n = if sf == 1 { rng.below(2) } else { 0 };
                let (immr, imms) = (rng.below(64), rng.below(64));
                let m = if sf == 1 { 64 } else { 32 };
                let Some((imm, _)) = decode_bit_masks(n, imms, immr, true, m) else {
                    continue;
                };
                // (32-bit words with immr<5> set are valid: R is immr modulo the element.)
                let opc = rng.below(4);
                let rn = [1, 2, 3, 4, 31][rng.below(5) as usize];
                let rd = 5 + words.len() as u32;
                let a = if rn == 31 { 0 } else { before[rn as usize] };
                let r = match opc {
                    0 | 3 => a & imm,
                    1 => a | imm,
                    _ => a ^ imm,
                } & ones(m);
                if opc == 3 {
                    flags = if r == 0 { Z } else { 0 } | if r >> (m - 1) == 1 { N } else { 0 };
                }
                expect[rd as usize] = r;
                words.push(logical(sf, opc, n, immr, imms, rn, rd));
            }
            run_ok(&words, &mut cpu);
            for (k, w) in words.iter().enumerate() {
                assert_eq!(
                    cpu.x[5 + k],
                    expect[5 + k],
                    "{}",
                    decode::disassemble(*w, 0)
                );
            }
            // The last ANDS decides the flags (none: still zero).
            assert_eq!(cpu.nzcv, flags);
        }
    }

    #[test]
    fn logical_reserved_is_undefined() {
        undefined(0xb200_ffe0);
        undefined(logical(0, 0, 1, 0, 0, 1, 0)); // N = 1 with sf = 0
        undefined(logical(1, 1, 1, 0, 0b111111, 1, 0));
        undefined(logical(0, 3, 0, 0, 0b011111, 1, 0));
    }

    // ---- move wide -------------------------------------------------------------

    #[test]
    fn move_wide() {
        // movk x0, #0x1234, lsl #32 keeps the other bits
        let cpu = run1(0xf2c2_4680, |c| c.x[0] = 0xaaaa_bbbb_cccc_dddd);
        assert_eq!(cpu.x[0], 0xaaaa_1234_cccc_dddd);
        // movk w0, #0xbeef, lsl #16 keeps the low half, clears the top 32
        let cpu = run1(0x72b7_dde0, |c| c.x[0] = 0xffff_ffff_0000_1234);
        assert_eq!(cpu.x[0], 0xbeef_1234);
        // movk x0, #0, lsl #48
        let cpu = run1(movewide(1, 3, 3, 0, 0), |c| c.x[0] = u64::MAX);
        assert_eq!(cpu.x[0], 0x0000_ffff_ffff_ffff);
        // mov x0, #0xabcd000000000000 (movz)
        let cpu = run1(0xd2f5_79a0, |c| c.x[0] = 0x1111);
        assert_eq!(cpu.x[0], 0xabcd_0000_0000_0000);
        // mov w0, #0xedcbffff (movn, lsl 16)
        let cpu = run1(0x12a2_4680, |c| c.x[0] = u64::MAX);
        assert_eq!(cpu.x[0], 0xedcb_ffff);
        // mov x0, #-1 (movn x0, #0)
        let cpu = run1(0x9280_0000, |_| {});
        assert_eq!(cpu.x[0], u64::MAX);
        // movn x0, #0x1234, lsl #16
        let cpu = run1(movewide(1, 0, 1, 0x1234, 0), |_| {});
        assert_eq!(cpu.x[0], !0x1234_0000u64);
        // movz w0, #0xffff, lsl #16
        let cpu = run1(movewide(0, 2, 1, 0xffff, 0), |c| c.x[0] = u64::MAX);
        assert_eq!(cpu.x[0], 0xffff_0000);
        // a MOVK chain building a 64-bit constant
        let mut cpu = Cpu::new();
        run_ok(
            &[
                movewide(1, 2, 0, 0xdef0, 3),
                movewide(1, 3, 1, 0x9abc, 3),
                movewide(1, 3, 2, 0x5678, 3),
                movewide(1, 3, 3, 0x1234, 3),
            ],
            &mut cpu,
        );
        assert_eq!(cpu.x[3], 0x1234_5678_9abc_def0);
        // Rd = 31 is XZR: SP unchanged
        let cpu = run1(movewide(1, 2, 0, 5, 31), |c| c.x[31] = 0x100);
        assert_eq!(cpu.x[31], 0x100);
        // flags untouched
        let cpu = run1(movewide(1, 2, 0, 0, 0), |c| c.nzcv = N | Z | C | V);
        assert_eq!(cpu.nzcv, N | Z | C | V);
    }

    #[test]
    fn move_wide_undefined() {
        undefined(movewide(0, 2, 2, 1, 0)); // movz w0, #1, lsl #32
        undefined(movewide(0, 0, 3, 1, 0));
        undefined(movewide(0, 3, 2, 1, 0));
        // opc = 01 is unallocated: no row
        assert!(decode::decode(movewide(1, 1, 0, 1, 0)).is_none());
    }

    // ---- ADR / ADRP ------------------------------------------------------------

    #[test]
    fn adr_adrp() {
        let adr = |imm: i64, rd: u32| {
            let imm = imm as u32 & 0x1f_ffff;
            (imm & 3) << 29 | 0x1000_0000 | (imm >> 2) << 5 | rd
        };
        let adrp = |imm: i64, rd: u32| adr(imm, rd) | 1 << 31;
        // adr x0, . ; adr x1, .+0xfffff ; adr x2, .-0x100000
        let mut cpu = Cpu::new();
        run_ok(&[adr(0, 0), adr(0xfffff, 1), adr(-0x100000, 2)], &mut cpu);
        assert_eq!(cpu.x[0], CODE_BASE);
        assert_eq!(cpu.x[1], CODE_BASE + 4 + 0xfffff);
        assert_eq!(cpu.x[2], (CODE_BASE + 8).wrapping_sub(0x100000));
        // adrp: page of the PC plus pages; the low 12 bits of the PC do not matter
        let mut cpu = Cpu::new();
        const NOP: u32 = 0xd503_201f;
        let words = [
            NOP, // moves the PC off the page start
            NOP,
            NOP,
            adrp(0, 0),
            adrp(1, 1),
            adrp(-1, 2),
            adrp(0xfffff, 3),
            adrp(-0x100000, 4),
        ];
        run_ok(&words, &mut cpu);
        let page = CODE_BASE & !0xfff;
        assert_eq!(cpu.x[0], page);
        assert_eq!(cpu.x[1], page + 0x1000);
        assert_eq!(cpu.x[2], page - 0x1000);
        assert_eq!(cpu.x[3], page.wrapping_add(0xfffff << 12));
        assert_eq!(cpu.x[4], page.wrapping_sub(0x1_0000_0000));
        // Rd = 31 is XZR
        let cpu = run1(adrp(1, 31), |c| c.x[31] = 0x40);
        assert_eq!(cpu.x[31], 0x40);
        // the assembler's words
        assert_eq!(adrp(0, 0), 0x9000_0000);
        assert_eq!(adr_target(0xb000_0001, 0x1234), 0x2000);
        assert_eq!(adr_target(0x7000_0000, 0x1234), 0x1237);
    }

    // ---- bitfield --------------------------------------------------------------

    /// The Arm ARM's SBFM/BFM/UBFM pseudocode, straight.
    fn bitfield_ref(sf: u32, opc: u32, immr: u32, imms: u32, dst: u64, src: u64) -> u64 {
        let size = if sf == 1 { 64 } else { 32 };
        let (wmask, tmask) = decode_bit_masks(sf, imms, immr, false, size).unwrap();
        let mask = ones(size);
        let (inzero, extend) = match opc {
            0 => (true, true),
            1 => (false, false),
            _ => (true, false),
        };
        let src = src & mask;
        let dst = if inzero { 0 } else { dst & mask };
        let rot = ror_e(src, immr, size);
        let bot = (dst & !wmask) | (rot & wmask);
        let top = if extend && src >> imms & 1 == 1 {
            mask
        } else if extend {
            0
        } else {
            dst
        };
        ((top & !tmask) | (bot & tmask)) & mask
    }

    fn check_bitfield(word: u32, dst: u64, src: u64, expect: u64) {
        let cpu = run1(word, |c| {
            c.x[0] = dst;
            c.x[1] = src;
        });
        assert_eq!(cpu.x[0], expect, "{} ({word:#010x})", dis_bitfield(word, 0));
        let (sf, opc) = (bit(word, 31), bits(word, 30, 29));
        let (immr, imms) = (bits(word, 21, 16), bits(word, 15, 10));
        let src = if bits(word, 9, 5) == 31 { 0 } else { src };
        assert_eq!(
            bitfield_ref(sf, opc, immr, imms, dst, src),
            expect,
            "reference"
        );
    }

    #[test]
    fn bitfield_aliases() {
        let s = 0x8123_4567_89ab_cdef_u64;
        let d = 0xfedc_ba98_7654_3210_u64;
        // asr x0, x1, #3 / asr w0, w1, #0 / asr x0, x1, #63
        check_bitfield(0x9343_fc20, d, s, ((s as i64) >> 3) as u64);
        check_bitfield(0x1300_7c20, d, s, 0x89ab_cdef);
        check_bitfield(bitfield(1, 0, 63, 63, 1, 0), d, s, u64::MAX);
        check_bitfield(bitfield(0, 0, 31, 31, 1, 0), d, s, 0xffff_ffff);
        check_bitfield(bitfield(0, 0, 4, 31, 1, 0), d, s, 0xf89a_bcde);
        // sxtb / sxth / sxtw (x and w forms)
        check_bitfield(0x9340_1c20, d, s, 0xffff_ffff_ffff_ffef);
        check_bitfield(0x1300_3c20, d, s, 0xffff_cdef);
        check_bitfield(0x9340_7c20, d, s, 0xffff_ffff_89ab_cdef);
        check_bitfield(0x1300_1c20, d, 0x7f, 0x7f);
        check_bitfield(0x9340_3c20, d, 0x7fff, 0x7fff);
        // sbfx x0, x1, #4, #8 / sbfx w0, w1, #28, #4
        check_bitfield(0x9344_2c20, d, s, 0xffff_ffff_ffff_ffde);
        check_bitfield(bitfield(0, 0, 28, 31, 1, 0), d, s, 0xffff_fff8);
        check_bitfield(
            bitfield(1, 0, 1, 62, 1, 0),
            d,
            s,
            (((s << 1) as i64) >> 2) as u64,
        );
        // sbfiz x0, x1, #4, #8 / sbfiz x0, x1, #2, #32 / sbfiz w0, w1, #31, #1
        check_bitfield(0x937c_1c20, d, s, 0xffff_ffff_ffff_fef0);
        check_bitfield(bitfield(1, 0, 62, 31, 1, 0), d, s, 0xffff_fffe_26af_37bc);
        check_bitfield(bitfield(0, 0, 1, 0, 1, 0), d, 1, 0x8000_0000);
        check_bitfield(bitfield(1, 0, 1, 0, 1, 0), d, 1, 1 << 63);
        check_bitfield(bitfield(1, 0, 60, 2, 1, 0), d, 5, 0xffff_ffff_ffff_ffd0);
        // lsl x0, x1, #3 / lsl w0, w1, #31 / lsl x0, x1, #63
        check_bitfield(0xd37d_f020, d, s, s << 3);
        check_bitfield(0x5301_0020, d, s, 0x8000_0000);
        check_bitfield(bitfield(1, 2, 1, 0, 1, 0), d, s, 1 << 63);
        // lsr x0, x1, #3 / lsr w0, w1, #0 / lsr x0, x1, #63
        check_bitfield(0xd343_fc20, d, s, s >> 3);
        check_bitfield(0x5300_7c20, d, s, 0x89ab_cdef);
        check_bitfield(bitfield(1, 2, 63, 63, 1, 0), d, s, 1);
        // lsr x0, x1, #0 (ubfm x0, x1, #0, #63): a copy
        check_bitfield(bitfield(1, 2, 0, 63, 1, 0), d, s, s);
        // ubfx x0, x1, #4, #8 / ubfx x0, x1, #0, #32 / ubfx x0, x1, #0, #8 / #1, #62
        check_bitfield(0xd344_2c20, d, s, 0xde);
        check_bitfield(0xd340_7c20, d, s, 0x89ab_cdef);
        check_bitfield(0xd340_1c20, d, s, 0xef);
        check_bitfield(bitfield(1, 2, 1, 62, 1, 0), d, s, (s >> 1) & ones(62));
        check_bitfield(
            bitfield(0, 2, 3, 30, 1, 0),
            d,
            s,
            (0x89ab_cdef >> 3) & ones(28),
        );
        // uxtb / uxth
        check_bitfield(0x5300_1c20, d, s, 0xef);
        check_bitfield(0x5300_3c20, d, s, 0xcdef);
        // ubfiz x0, x1, #4, #8 / ubfiz x0, x1, #32, #16 / ubfiz w0, w1, #1, #30
        check_bitfield(0xd37c_1c20, d, s, 0xef0);
        check_bitfield(bitfield(1, 2, 32, 15, 1, 0), d, s, 0xcdef_0000_0000);
        check_bitfield(
            bitfield(0, 2, 31, 29, 1, 0),
            d,
            s,
            (0x89ab_cdef & ones(30)) << 1,
        );
        // bfi x0, x1, #4, #8 / bfxil x0, x1, #4, #8
        check_bitfield(0xb37c_1c20, d, s, (d & !0xff0) | 0xef0);
        check_bitfield(0xb344_2c20, d, s, (d & !0xff) | 0xde);
        // bfi x0, x1, #56, #8 (field reaching the top) / bfxil x0, x1, #56, #8
        check_bitfield(
            bitfield(1, 1, 8, 7, 1, 0),
            d,
            s,
            (d & ones(56)) | 0xef << 56,
        );
        check_bitfield(bitfield(1, 1, 56, 63, 1, 0), d, s, (d & !0xff) | 0x81);
        // bfxil x0, x1, #0, #64 (whole register) / bfxil w0, w1, #0, #32
        check_bitfield(bitfield(1, 1, 0, 63, 1, 0), d, s, s);
        check_bitfield(bitfield(0, 1, 0, 31, 1, 0), d, s, 0x89ab_cdef);
        // bfi w0, w1, #8, #16 clears the top half of x0
        check_bitfield(bitfield(0, 1, 24, 15, 1, 0), d, s, 0x76cd_ef10);
        // bfc x0, #4, #8 / bfxil x0, xzr, #4, #4
        check_bitfield(0xb37c_1fe0, d, s, d & !0xff0);
        check_bitfield(0xb344_1fe0, d, s, d & !0xf);
        // bfm with imms < immr wrapping: bfi x0, x1, #1, #63
        check_bitfield(bitfield(1, 1, 63, 62, 1, 0), d, s, (s << 1) | (d & 1));
    }

    #[test]
    fn bitfield_random_against_reference() {
        let mut rng = Rng(3);
        for _ in 0..60 {
            let mut cpu = Cpu::new();
            for r in 1..=29 {
                cpu.x[r] = rng.value();
            }
            let before = cpu.x;
            let mut words = Vec::new();
            let mut expect = before;
            for rd in 5..30u32 {
                let sf = rng.below(2);
                let size = if sf == 1 { 64 } else { 32 };
                let opc = [0, 1, 2][rng.below(3) as usize];
                let (immr, imms) = (rng.below(size), rng.below(size));
                let rn = [1, 2, 3, 4, 31][rng.below(5) as usize];
                let src = if rn == 31 { 0 } else { before[rn as usize] };
                expect[rd as usize] = bitfield_ref(sf, opc, immr, imms, before[rd as usize], src);
                words.push(bitfield(sf, opc, immr, imms, rn, rd));
            }
            run_ok(&words, &mut cpu);
            for rd in 5..30 {
                assert_eq!(
                    cpu.x[rd],
                    expect[rd],
                    "{} ({:#010x}) src regs {:x?} dst {:#x}",
                    dis_bitfield(words[rd - 5], 0),
                    words[rd - 5],
                    &before[1..5],
                    before[rd]
                );
            }
        }
    }

    #[test]
    fn bitfield_undefined() {
        // sf != N
        undefined(bitfield(1, 2, 3, 4, 1, 0) & !(1 << 22));
        undefined(bitfield(0, 2, 3, 4, 1, 0) | 1 << 22);
        // 32-bit with immr<5> or imms<5> set
        undefined(bitfield(0, 0, 32, 4, 1, 0));
        undefined(bitfield(0, 1, 3, 33, 1, 0));
        // opc = 11 has no row
        assert!(decode::decode(bitfield(1, 3, 3, 4, 1, 0)).is_none());
    }

    // ---- EXTR ------------------------------------------------------------------

    #[test]
    fn extr_and_ror() {
        let a = 0x0123_4567_89ab_cdef_u64;
        let b = 0xfedc_ba98_7654_3210_u64;
        let go = |w: u32| {
            run1(w, |c| {
                c.x[1] = a;
                c.x[2] = b;
                c.x[0] = 0x5555;
            })
            .x[0]
        };
        // extr x0, x1, x2, #3
        assert_eq!(go(0x93c2_0c20), (b >> 3) | (a << 61));
        // ror x0, x1, #3 / ror w0, w1, #0 / ror x0, x1, #0 / ror w0, w1, #31
        assert_eq!(go(0x93c1_0c20), a.rotate_right(3));
        assert_eq!(go(0x1381_0020), 0x89ab_cdef);
        assert_eq!(go(extr(1, 1, 0, 1, 0)), a);
        assert_eq!(
            go(extr(0, 1, 31, 1, 0)),
            (0x89ab_cdef_u32).rotate_right(31) as u64
        );
        // extr w0, w1, w2, #31
        assert_eq!(
            go(0x1382_7c20),
            ((b & ones(32)) >> 31 | (a & ones(32)) << 1) & ones(32)
        );
        // lsb = 0 gives Rm
        assert_eq!(go(extr(1, 2, 0, 1, 0)), b);
        assert_eq!(go(extr(0, 2, 0, 1, 0)), 0x7654_3210);
        // lsb = 63
        assert_eq!(go(extr(1, 2, 63, 1, 0)), (b >> 63) | (a << 1));
        // XZR operands
        assert_eq!(go(extr(1, 31, 8, 1, 0)), a << 56);
        assert_eq!(go(extr(1, 2, 8, 31, 0)), b >> 8);
        // undefined: sf != N, 32-bit lsb >= 32
        undefined(extr(1, 2, 3, 1, 0) & !(1 << 22));
        undefined(extr(0, 2, 3, 1, 0) | 1 << 22);
        undefined(extr(0, 2, 32, 1, 0));
        // op21 / o0 other than 0 have no row
        assert!(decode::decode(extr(1, 2, 3, 1, 0) | 1 << 21).is_none());
        assert!(decode::decode(extr(1, 2, 3, 1, 0) | 1 << 29).is_none());
    }

    // ---- encoders and disassembly -------------------------------------------------

    #[test]
    fn encoders_match_assembler() {
        assert_eq!(addsub(1, 1, 1, 0, 0x10, 31, 31), 0xf100_43ff);
        assert_eq!(addsub(0, 0, 1, 1, 1, 1, 31), 0x3140_043f);
        assert_eq!(logical(1, 0, 0, 8, 0b100111, 1, 0), 0x9208_9c20);
        assert_eq!(logical(0, 3, 0, 1, 0, 1, 0), 0x7201_0020);
        assert_eq!(movewide(1, 3, 2, 0x1234, 0), 0xf2c2_4680);
        assert_eq!(movewide(0, 0, 1, 0x1234, 0), 0x12a2_4680);
        assert_eq!(bitfield(1, 0, 0x3c, 7, 1, 0), 0x937c_1c20);
        assert_eq!(bitfield(0, 2, 1, 0, 1, 0), 0x5301_0020);
        assert_eq!(extr(1, 2, 3, 1, 0), 0x93c2_0c20);
        assert_eq!(extr(0, 1, 0, 1, 0), 0x1381_0020);
    }

    /// Words and `aarch64-linux-gnu-objdump -d` output (comments dropped, tab → space).
    const OBJDUMP: &[(u32, &str)] = &[
        (0x9100_0420, "add x0, x1, #0x1"),
        (0x9100_0020, "add x0, x1, #0x0"),
        (0x9100_03e0, "mov x0, sp"),
        (0x9100_007f, "mov sp, x3"),
        (0x1100_03e0, "mov w0, wsp"),
        (0x9140_0420, "add x0, x1, #0x1, lsl #12"),
        (0x9140_0020, "add x0, x1, #0x0, lsl #12"),
        (0xb100_1420, "adds x0, x1, #0x5"),
        (0xb100_143f, "cmn x1, #0x5"),
        (0xf100_43ff, "cmp sp, #0x10"),
        (0x717f_ffff, "cmp wsp, #0xfff, lsl #12"),
        (0xd100_83ff, "sub sp, sp, #0x20"),
        (0x5100_07e0, "sub w0, wsp, #0x1"),
        (0x9140_043f, "add sp, x1, #0x1, lsl #12"),
        (0x9240_1c20, "and x0, x1, #0xff"),
        (0x1200_f020, "and w0, w1, #0x55555555"),
        (0xb240_1fe0, "orr x0, xzr, #0xff"),
        (0x3200_3fe0, "orr w0, wzr, #0xffff"),
        (0xb270_3fe0, "orr x0, xzr, #0xffff0000"),
        (0xb260_3fe0, "orr x0, xzr, #0xffff00000000"),
        (0xb270_dfe0, "orr x0, xzr, #0xffffffffffff00ff"),
        (0xb200_ffe0, ".inst 0xb200ffe0 ; undefined"),
        (0xb200_f3e0, "mov x0, #0x5555555555555555"),
        (0x3201_f3e0, "mov w0, #0xaaaaaaaa"),
        (0xb240_43ff, "mov sp, #0x1ffff"),
        (0xb240_003f, "orr sp, x1, #0x1"),
        (0x5200_0020, "eor w0, w1, #0x1"),
        (0xf240_0020, "ands x0, x1, #0x1"),
        (0x7201_003f, "tst w1, #0x80000000"),
        (0x9208_9c20, "and x0, x1, #0xff00ff00ff00ff00"),
        (0x1200_cc20, "and w0, w1, #0xf0f0f0f"),
        (0xd260_7c20, "eor x0, x1, #0xffffffff00000000"),
        (0xd280_0000, "mov x0, #0x0"),
        (0xd2a0_0000, "movz x0, #0x0, lsl #16"),
        (0xd2a0_0020, "mov x0, #0x10000"),
        (0x9280_0000, "mov x0, #0xffffffffffffffff"),
        (0x92a0_0000, "movn x0, #0x0, lsl #16"),
        (0x9280_0020, "mov x0, #0xfffffffffffffffe"),
        (0x129f_ffe0, "movn w0, #0xffff"),
        (0x1280_0020, "mov w0, #0xfffffffe"),
        (0x1280_0000, "mov w0, #0xffffffff"),
        (0x12a0_0000, "movn w0, #0x0, lsl #16"),
        (0x12a2_4680, "mov w0, #0xedcbffff"),
        (0xd2f5_79a0, "mov x0, #0xabcd000000000000"),
        (0xf2e2_4680, "movk x0, #0x1234, lsl #48"),
        (0x7282_4680, "movk w0, #0x1234"),
        (0x72b7_dde0, "movk w0, #0xbeef, lsl #16"),
        (0x9343_fc20, "asr x0, x1, #3"),
        (0x1300_7c20, "asr w0, w1, #0"),
        (0x9340_1c20, "sxtb x0, w1"),
        (0x1300_3c20, "sxth w0, w1"),
        (0x9340_7c20, "sxtw x0, w1"),
        (0x937c_1c20, "sbfiz x0, x1, #4, #8"),
        (0x9344_2c20, "sbfx x0, x1, #4, #8"),
        (0x1300_1c20, "sxtb w0, w1"),
        (0xd37d_f020, "lsl x0, x1, #3"),
        (0x5301_0020, "lsl w0, w1, #31"),
        (0xd343_fc20, "lsr x0, x1, #3"),
        (0x5300_7c20, "lsr w0, w1, #0"),
        (0xd37c_1c20, "ubfiz x0, x1, #4, #8"),
        (0xd344_2c20, "ubfx x0, x1, #4, #8"),
        (0x5300_1c20, "uxtb w0, w1"),
        (0x5300_3c20, "uxth w0, w1"),
        (0xd340_1c20, "ubfx x0, x1, #0, #8"),
        (0xd340_7c20, "ubfx x0, x1, #0, #32"),
        (0xb37c_1c20, "bfi x0, x1, #4, #8"),
        (0xb344_2c20, "bfxil x0, x1, #4, #8"),
        (0xb37c_1fe0, "bfc x0, #4, #8"),
        (0xb344_1fe0, "bfxil x0, xzr, #4, #4"),
        (0x93c2_0c20, "extr x0, x1, x2, #3"),
        (0x93c1_0c20, "ror x0, x1, #3"),
        (0x1381_0020, "ror w0, w1, #0"),
        (0x1382_7c20, "extr w0, w1, w2, #31"),
    ];

    #[test]
    fn disassembly_matches_objdump() {
        for &(w, text) in OBJDUMP {
            let e = decode::decode(w).unwrap_or_else(|| panic!("{w:#010x} does not decode"));
            assert_eq!((e.disas)(w, 0), text, "{w:#010x} ({})", e.name);
        }
        // ADR/ADRP print the target address.
        assert_eq!(dis_adr(0x1000_0000, 0x94), "adr x0, 0x94");
        assert_eq!(dis_adr(0x9000_0000, 0x98), "adrp x0, 0x0");
        assert_eq!(dis_adr(0xb000_0001, 0x1234), "adrp x1, 0x2000");
    }

    /// Random words of every row, disassembled by us and by binutils.
    /// `cargo test --lib arm64::lift::dp_imm -- --ignored` (needs aarch64-linux-gnu-as/objdump).
    #[test]
    #[ignore]
    fn disassembly_sweep_against_objdump() {
        use std::fmt::Write as _;
        use std::process::Command;
        let mut rng = Rng(4);
        let mut words = Vec::new();
        for e in ENCODINGS.iter().filter(|e| !e.name.starts_with("ADR")) {
            for _ in 0..3000 {
                let w = (rng.next() as u32 & !e.mask) | e.value;
                words.push(w);
            }
        }
        let dir = std::env::temp_dir().join(format!("ferrite-dp-imm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut src = String::new();
        for w in &words {
            writeln!(src, ".inst {w:#010x}").unwrap();
        }
        std::fs::write(dir.join("t.s"), src).unwrap();
        let st = Command::new("aarch64-linux-gnu-as")
            .arg("-o")
            .arg(dir.join("t.o"))
            .arg(dir.join("t.s"))
            .status()
            .unwrap();
        assert!(st.success());
        let out = Command::new("aarch64-linux-gnu-objdump")
            .arg("-d")
            .arg(dir.join("t.o"))
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let mut bad = Vec::new();
        let mut k = 0;
        for line in text.lines() {
            let parts: Vec<&str> = line.splitn(3, '\t').collect();
            if parts.len() < 3 || !parts[0].trim_end().ends_with(':') {
                continue;
            }
            let w = u32::from_str_radix(parts[1].trim(), 16).unwrap();
            assert_eq!(w, words[k]);
            k += 1;
            let theirs = parts[2]
                .split("//")
                .next()
                .unwrap()
                .trim()
                .replace('\t', " ");
            let ours = decode::disassemble(w, 0);
            if theirs != ours {
                bad.push(format!("{w:#010x}: objdump `{theirs}` ours `{ours}`"));
            }
        }
        assert_eq!(k, words.len());
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            bad.is_empty(),
            "{} mismatches:\n{}",
            bad.len(),
            bad.join("\n")
        );
    }
}
