//! Advanced SIMD copy, modified-immediate and bitwise instructions, lifted to inline IR
//! on 64-bit vector lanes (no helper calls): DUP (element, general, scalar), INS
//! (element, general), UMOV, SMOV, MOVI/MVNI/ORR/BIC/FMOV (vector immediate),
//! AND/BIC/ORR/ORN/EOR/BSL/BIT/BIF (vector), NOT and EXT.

use super::dis;
use crate::arm64::disas;
use crate::arm64::lift::{bit, bits, Flow, LiftError, Lifted, Lifter};
use crate::ir::{BinOp, UnOp, Val, W};

// ---- IR building blocks shared by the inline lifters ----------------------------------

/// Element `index` of `Vn` (element size `esize`), zero-extended to 64 bits.
pub fn extract(l: &mut Lifter, n: u32, esize: u32, index: u32) -> Val {
    let pos = index * esize;
    let lane = l.b.get_vlane(n as u8, (pos / 64) as u8);
    let sh = pos % 64;
    let v = if sh != 0 {
        let k = l.konst(sh as u64);
        l.b.lshr(W::W64, lane, k)
    } else {
        lane
    };
    zext(l, v, esize)
}

/// The low `esize` bits of `v`, zero-extended.
pub fn zext(l: &mut Lifter, v: Val, esize: u32) -> Val {
    match esize {
        8 => l.b.un(UnOp::Zext8, W::W64, v),
        16 => l.b.un(UnOp::Zext16, W::W64, v),
        32 => l.b.un(UnOp::Zext32, W::W64, v),
        _ => v,
    }
}

/// Replace element `index` of `Vd` by the low `esize` bits of `x` (other bits kept).
pub fn insert(l: &mut Lifter, d: u32, esize: u32, index: u32, x: Val) {
    let pos = index * esize;
    let lane = (pos / 64) as u8;
    if esize == 64 {
        l.b.set_vlane(d as u8, lane, x);
        return;
    }
    let sh = pos % 64;
    let old = l.b.get_vlane(d as u8, lane);
    let keep = l.konst(!(super::elem::mask(esize) << sh));
    let kept = l.b.and(W::W64, old, keep);
    let x = zext(l, x, esize);
    let x = if sh != 0 {
        let k = l.konst(sh as u64);
        l.b.shl(W::W64, x, k)
    } else {
        x
    };
    let new = l.b.or(W::W64, kept, x);
    l.b.set_vlane(d as u8, lane, new);
}

/// A 64-bit lane holding `x` (an `esize`-bit value, higher bits ignored) in every element.
pub fn replicate(l: &mut Lifter, x: Val, esize: u32) -> Val {
    let pat = match esize {
        8 => 0x0101_0101_0101_0101u64,
        16 => 0x0001_0001_0001_0001,
        32 => 0x0000_0001_0000_0001,
        _ => return x,
    };
    let x = zext(l, x, esize);
    let k = l.konst(pat);
    l.b.bin(BinOp::Mul, W::W64, x, k)
}

/// Write `Vd`: lane 0 = `lo`, lane 1 = `hi`, or zero when `hi` is `None` (a 64-bit
/// result clears the upper half).
pub fn write(l: &mut Lifter, d: u32, lo: Val, hi: Option<Val>) {
    l.b.set_vlane(d as u8, 0, lo);
    let hi = match hi {
        Some(h) => h,
        None => l.konst(0),
    };
    l.b.set_vlane(d as u8, 1, hi);
}

/// Element size (log2 bytes) encoded by a copy instruction's `imm5`: its lowest set bit.
pub fn imm5_size(imm5: u32) -> Option<u32> {
    (0..4).find(|s| (imm5 >> s) & 1 == 1)
}

// ---- copy -------------------------------------------------------------------------------

struct Copy {
    q: u32,
    size: u32,
    index: u32,
    rn: u32,
    rd: u32,
}

fn copy_fields(w: u32) -> Result<Copy, LiftError> {
    let imm5 = bits(w, 20, 16);
    let size = imm5_size(imm5).ok_or(LiftError::Undefined)?;
    Ok(Copy {
        q: bit(w, 30),
        size,
        index: imm5 >> (size + 1),
        rn: bits(w, 9, 5),
        rd: bits(w, 4, 0),
    })
}

pub fn lift_dup_elem(l: &mut Lifter, w: u32) -> Lifted {
    let c = copy_fields(w)?;
    if c.size == 3 && c.q == 0 {
        return Err(LiftError::Undefined);
    }
    let esize = 8 << c.size;
    let x = extract(l, c.rn, esize, c.index);
    let r = replicate(l, x, esize);
    write(l, c.rd, r, (c.q == 1).then_some(r));
    Ok(Flow::Next)
}

pub fn dis_dup_elem(w: u32, _pc: u64) -> String {
    let Ok(c) = copy_fields(w) else {
        return format!(".inst {w:#010x}");
    };
    format!(
        "dup {}, {}",
        dis::va(c.rd, c.size, c.q),
        dis::elem(c.rn, c.size, c.index)
    )
}

pub fn lift_dup_gen(l: &mut Lifter, w: u32) -> Lifted {
    let c = copy_fields(w)?;
    if c.size == 3 && c.q == 0 {
        return Err(LiftError::Undefined);
    }
    let x = l.x(c.rn);
    let r = replicate(l, x, 8 << c.size);
    write(l, c.rd, r, (c.q == 1).then_some(r));
    Ok(Flow::Next)
}

pub fn dis_dup_gen(w: u32, _pc: u64) -> String {
    let Ok(c) = copy_fields(w) else {
        return format!(".inst {w:#010x}");
    };
    format!(
        "dup {}, {}",
        dis::va(c.rd, c.size, c.q),
        disas::r(c.rn, c.size == 3)
    )
}

pub fn lift_dup_scalar(l: &mut Lifter, w: u32) -> Lifted {
    let c = copy_fields(w)?;
    let x = extract(l, c.rn, 8 << c.size, c.index);
    write(l, c.rd, x, None);
    Ok(Flow::Next)
}

pub fn dis_dup_scalar(w: u32, _pc: u64) -> String {
    let Ok(c) = copy_fields(w) else {
        return format!(".inst {w:#010x}");
    };
    format!(
        "mov {}, {}",
        dis::scalar(c.rd, c.size),
        dis::elem(c.rn, c.size, c.index)
    )
}

fn smov_ok(c: &Copy) -> bool {
    if c.q == 0 {
        c.size <= 1
    } else {
        c.size <= 2
    }
}

pub fn lift_smov(l: &mut Lifter, w: u32) -> Lifted {
    let c = copy_fields(w)?;
    if !smov_ok(&c) {
        return Err(LiftError::Undefined);
    }
    let x = extract(l, c.rn, 8 << c.size, c.index);
    let wd = W::from_sf(c.q);
    let op = [UnOp::Sext8, UnOp::Sext16, UnOp::Sext32][c.size as usize];
    let r = l.b.un(op, wd, x);
    l.set_x(wd, c.rd, r);
    Ok(Flow::Next)
}

pub fn dis_smov(w: u32, _pc: u64) -> String {
    let Ok(c) = copy_fields(w) else {
        return format!(".inst {w:#010x}");
    };
    format!(
        "smov {}, {}",
        disas::r(c.rd, c.q == 1),
        dis::elem(c.rn, c.size, c.index)
    )
}

fn umov_ok(c: &Copy) -> bool {
    if c.q == 0 {
        c.size <= 2
    } else {
        c.size == 3
    }
}

pub fn lift_umov(l: &mut Lifter, w: u32) -> Lifted {
    let c = copy_fields(w)?;
    if !umov_ok(&c) {
        return Err(LiftError::Undefined);
    }
    let x = extract(l, c.rn, 8 << c.size, c.index);
    l.set_x(W::W64, c.rd, x);
    Ok(Flow::Next)
}

pub fn dis_umov(w: u32, _pc: u64) -> String {
    let Ok(c) = copy_fields(w) else {
        return format!(".inst {w:#010x}");
    };
    let m = if c.size >= 2 { "mov" } else { "umov" };
    format!(
        "{m} {}, {}",
        disas::r(c.rd, c.q == 1),
        dis::elem(c.rn, c.size, c.index)
    )
}

pub fn lift_ins_gen(l: &mut Lifter, w: u32) -> Lifted {
    let c = copy_fields(w)?;
    let x = l.x(c.rn);
    insert(l, c.rd, 8 << c.size, c.index, x);
    Ok(Flow::Next)
}

pub fn dis_ins_gen(w: u32, _pc: u64) -> String {
    let Ok(c) = copy_fields(w) else {
        return format!(".inst {w:#010x}");
    };
    format!(
        "mov {}, {}",
        dis::elem(c.rd, c.size, c.index),
        disas::r(c.rn, c.size == 3)
    )
}

pub fn lift_ins_elem(l: &mut Lifter, w: u32) -> Lifted {
    let c = copy_fields(w)?;
    let index2 = bits(w, 14, 11) >> c.size;
    let esize = 8 << c.size;
    let x = extract(l, c.rn, esize, index2);
    insert(l, c.rd, esize, c.index, x);
    Ok(Flow::Next)
}

pub fn dis_ins_elem(w: u32, _pc: u64) -> String {
    let Ok(c) = copy_fields(w) else {
        return format!(".inst {w:#010x}");
    };
    let index2 = bits(w, 14, 11) >> c.size;
    format!(
        "mov {}, {}",
        dis::elem(c.rd, c.size, c.index),
        dis::elem(c.rn, c.size, index2)
    )
}

// ---- modified immediate -------------------------------------------------------------

/// `AdvSIMDExpandImm(op, cmode, imm8)`.
pub fn expand_imm(op: u32, cmode: u32, imm8: u32) -> u64 {
    let i = imm8 as u64;
    let rep2 = |x: u64| x | (x << 32);
    let rep4 = |x: u64| x * 0x0001_0001_0001_0001;
    match cmode >> 1 {
        0 => rep2(i),
        1 => rep2(i << 8),
        2 => rep2(i << 16),
        3 => rep2(i << 24),
        4 => rep4(i),
        5 => rep4(i << 8),
        6 => {
            if cmode & 1 == 0 {
                rep2((i << 8) | 0xff)
            } else {
                rep2((i << 16) | 0xffff)
            }
        }
        _ => match (cmode & 1, op) {
            (0, 0) => i * 0x0101_0101_0101_0101,
            (0, _) => (0..8).fold(0u64, |acc, b| {
                acc | if (i >> b) & 1 != 0 {
                    0xff << (8 * b)
                } else {
                    0
                }
            }),
            (_, 0) => rep2(fp32_imm(imm8) as u64),
            _ => fp64_imm(imm8),
        },
    }
}

/// `VFPExpandImm` for single precision.
fn fp32_imm(imm8: u32) -> u32 {
    let a = (imm8 >> 7) & 1;
    let b = (imm8 >> 6) & 1;
    let cdefgh = imm8 & 0x3f;
    let bbbbb = if b == 1 { 0b11111 } else { 0 };
    let exp = ((b ^ 1) << 7) | (bbbbb << 2) | (cdefgh >> 4);
    (a << 31) | (exp << 23) | ((cdefgh & 0xf) << 19)
}

/// `VFPExpandImm` for double precision.
fn fp64_imm(imm8: u32) -> u64 {
    let a = ((imm8 >> 7) & 1) as u64;
    let b = ((imm8 >> 6) & 1) as u64;
    let cdefgh = (imm8 & 0x3f) as u64;
    let b8 = if b == 1 { 0xff } else { 0 };
    let exp = ((b ^ 1) << 10) | (b8 << 2) | (cdefgh >> 4);
    (a << 63) | (exp << 52) | ((cdefgh & 0xf) << 48)
}

#[derive(PartialEq)]
enum ImmOp {
    Movi,
    Mvni,
    Orr,
    Bic,
    Fmov,
}

struct ModImm {
    q: u32,
    op: u32,
    cmode: u32,
    imm8: u32,
    rd: u32,
    kind: ImmOp,
}

fn modimm_fields(w: u32) -> Result<ModImm, LiftError> {
    let q = bit(w, 30);
    let op = bit(w, 29);
    let cmode = bits(w, 15, 12);
    if bit(w, 11) != 0 {
        // o2 = 1: FMOV (vector, immediate, half precision) needs FEAT_FP16.
        return Err(LiftError::Undefined);
    }
    let kind = match (cmode, op) {
        (0b1111, 1) if q == 0 => return Err(LiftError::Undefined),
        (0b1111, _) => ImmOp::Fmov,
        (0b1110, _) => ImmOp::Movi,
        (c, 0) if c < 0b1100 && c & 1 == 1 => ImmOp::Orr,
        (c, 1) if c < 0b1100 && c & 1 == 1 => ImmOp::Bic,
        (_, 0) => ImmOp::Movi,
        _ => ImmOp::Mvni,
    };
    Ok(ModImm {
        q,
        op,
        cmode,
        imm8: (bits(w, 18, 16) << 5) | bits(w, 9, 5),
        rd: bits(w, 4, 0),
        kind,
    })
}

pub fn lift_modimm(l: &mut Lifter, w: u32) -> Lifted {
    let m = modimm_fields(w)?;
    let imm = expand_imm(m.op, m.cmode, m.imm8);
    let lanes = if m.q == 1 { 2 } else { 1 };
    let mut out = [None, None];
    for (lane, o) in out.iter_mut().enumerate().take(lanes) {
        *o = Some(match m.kind {
            ImmOp::Movi | ImmOp::Fmov => l.konst(imm),
            ImmOp::Mvni => l.konst(!imm),
            ImmOp::Orr | ImmOp::Bic => {
                let old = l.b.get_vlane(m.rd as u8, lane as u8);
                let k = l.konst(if m.kind == ImmOp::Orr { imm } else { !imm });
                let op = if m.kind == ImmOp::Orr {
                    BinOp::Or
                } else {
                    BinOp::And
                };
                l.b.bin(op, W::W64, old, k)
            }
        });
    }
    let lo = out[0].expect("lane 0 computed");
    write(l, m.rd, lo, out[1]);
    Ok(Flow::Next)
}

pub fn dis_modimm(w: u32, _pc: u64) -> String {
    let Ok(m) = modimm_fields(w) else {
        return format!(".inst {w:#010x}");
    };
    let name = match m.kind {
        ImmOp::Movi => "movi",
        ImmOp::Mvni => "mvni",
        ImmOp::Orr => "orr",
        ImmOp::Bic => "bic",
        ImmOp::Fmov => "fmov",
    };
    let imm8 = m.imm8 as u64;
    match m.cmode {
        0b1111 => {
            let (val, a) = if m.op == 1 {
                (f64::from_bits(fp64_imm(m.imm8)), "2d")
            } else {
                (f32::from_bits(fp32_imm(m.imm8)) as f64, dis::arr(2, m.q))
            };
            format!("fmov {}, {}", dis::v(m.rd, a), dis::fimm(val))
        }
        0b1110 if m.op == 1 => {
            let imm = expand_imm(1, 0b1110, m.imm8);
            if m.q == 0 {
                format!("movi d{}, #{imm:#x}", m.rd)
            } else {
                format!("movi v{}.2d, #{imm:#x}", m.rd)
            }
        }
        0b1110 => format!("movi {}, #{imm8:#x}", dis::va(m.rd, 0, m.q)),
        c if c >> 1 == 0b110 => format!(
            "{name} {}, #{imm8:#x}, msl #{}",
            dis::va(m.rd, 2, m.q),
            8 << (c & 1)
        ),
        c => {
            let (size, shift) = if c < 8 {
                (2, ((c >> 1) & 3) * 8)
            } else {
                (1, ((c >> 1) & 1) * 8)
            };
            let sh = if shift != 0 {
                format!(", lsl #{shift}")
            } else {
                String::new()
            };
            format!("{name} {}, #{imm8:#x}{sh}", dis::va(m.rd, size, m.q))
        }
    }
}

// ---- bitwise ----------------------------------------------------------------------------

/// AND/BIC/ORR/ORN (U=0) and EOR/BSL/BIT/BIF (U=1) of the three-same group.
pub fn lift_logic(l: &mut Lifter, w: u32) -> Lifted {
    let q = bit(w, 30);
    let opc = (bit(w, 29) << 2) | bits(w, 23, 22);
    let (rm, rn, rd) = (
        bits(w, 20, 16) as u8,
        bits(w, 9, 5) as u8,
        bits(w, 4, 0) as u8,
    );
    let lanes = if q == 1 { 2 } else { 1 };
    let mut out = [None, None];
    // Read every input lane before writing Vd (it may also be a source).
    let mut ins = Vec::with_capacity(lanes);
    for lane in 0..lanes as u8 {
        let n = l.b.get_vlane(rn, lane);
        let m = l.b.get_vlane(rm, lane);
        let d = if opc >= 5 {
            Some(l.b.get_vlane(rd, lane))
        } else {
            None
        };
        ins.push((n, m, d));
    }
    for (lane, &(n, m, d)) in ins.iter().enumerate() {
        let r = match opc {
            0 => l.b.bin(BinOp::And, W::W64, n, m),
            1 => l.b.bin(BinOp::AndNot, W::W64, n, m),
            2 => l.b.bin(BinOp::Or, W::W64, n, m),
            3 => l.b.bin(BinOp::OrNot, W::W64, n, m),
            4 => l.b.bin(BinOp::Xor, W::W64, n, m),
            _ => {
                let d = d.expect("read above");
                // BSL: m ^ ((m ^ n) & d); BIT: d ^ ((d ^ n) & m); BIF: d ^ ((d ^ n) & !m)
                match opc {
                    5 => {
                        let x = l.b.xor(W::W64, m, n);
                        let a = l.b.and(W::W64, x, d);
                        l.b.xor(W::W64, m, a)
                    }
                    6 => {
                        let x = l.b.xor(W::W64, d, n);
                        let a = l.b.and(W::W64, x, m);
                        l.b.xor(W::W64, d, a)
                    }
                    _ => {
                        let x = l.b.xor(W::W64, d, n);
                        let a = l.b.bin(BinOp::AndNot, W::W64, x, m);
                        l.b.xor(W::W64, d, a)
                    }
                }
            }
        };
        out[lane] = Some(r);
    }
    write(l, rd as u32, out[0].expect("lane 0"), out[1]);
    Ok(Flow::Next)
}

pub fn dis_logic(w: u32, _pc: u64) -> String {
    let q = bit(w, 30);
    let opc = (bit(w, 29) << 2) | bits(w, 23, 22);
    let (rm, rn, rd) = (bits(w, 20, 16), bits(w, 9, 5), bits(w, 4, 0));
    let a = if q == 1 { "16b" } else { "8b" };
    if opc == 2 && rm == rn {
        return format!("mov {}, {}", dis::v(rd, a), dis::v(rn, a));
    }
    let name = ["and", "bic", "orr", "orn", "eor", "bsl", "bit", "bif"][opc as usize];
    format!(
        "{name} {}, {}, {}",
        dis::v(rd, a),
        dis::v(rn, a),
        dis::v(rm, a)
    )
}

/// NOT (MVN) of the two-register miscellaneous group.
pub fn lift_not(l: &mut Lifter, w: u32) -> Lifted {
    let q = bit(w, 30);
    let (rn, rd) = (bits(w, 9, 5) as u8, bits(w, 4, 0));
    let a = l.b.get_vlane(rn, 0);
    let lo = l.b.un(UnOp::Not, W::W64, a);
    let hi = if q == 1 {
        let b = l.b.get_vlane(rn, 1);
        Some(l.b.un(UnOp::Not, W::W64, b))
    } else {
        None
    };
    write(l, rd, lo, hi);
    Ok(Flow::Next)
}

pub fn dis_not(w: u32, _pc: u64) -> String {
    let a = if bit(w, 30) == 1 { "16b" } else { "8b" };
    format!(
        "mvn {}, {}",
        dis::v(bits(w, 4, 0), a),
        dis::v(bits(w, 9, 5), a)
    )
}

/// EXT: bytes `imm4..` of `Vm:Vn`.
pub fn lift_ext(l: &mut Lifter, w: u32) -> Lifted {
    let q = bit(w, 30);
    let imm4 = bits(w, 14, 11);
    if q == 0 && imm4 >= 8 {
        return Err(LiftError::Undefined);
    }
    let (rm, rn, rd) = (bits(w, 20, 16) as u8, bits(w, 9, 5) as u8, bits(w, 4, 0));
    // The concatenation m:n as 64-bit lanes, lowest first.
    let cat: Vec<Val> = if q == 1 {
        let n0 = l.b.get_vlane(rn, 0);
        let n1 = l.b.get_vlane(rn, 1);
        let m0 = l.b.get_vlane(rm, 0);
        let m1 = l.b.get_vlane(rm, 1);
        vec![n0, n1, m0, m1]
    } else {
        let n0 = l.b.get_vlane(rn, 0);
        let m0 = l.b.get_vlane(rm, 0);
        vec![n0, m0]
    };
    let pos = imm4 * 8;
    let (j, r) = ((pos / 64) as usize, pos % 64);
    let lanes = if q == 1 { 2 } else { 1 };
    let mut out = [None, None];
    for (i, o) in out.iter_mut().enumerate().take(lanes) {
        let lo = cat[j + i];
        *o = Some(if r == 0 {
            lo
        } else {
            let k = l.konst(r as u64);
            let a = l.b.lshr(W::W64, lo, k);
            // For Q=0 the bytes above the 16-byte concatenation are never reached.
            match cat.get(j + i + 1) {
                Some(&hi) => {
                    let k2 = l.konst(64 - r as u64);
                    let b = l.b.shl(W::W64, hi, k2);
                    l.b.or(W::W64, a, b)
                }
                None => a,
            }
        });
    }
    write(l, rd, out[0].expect("lane 0"), out[1]);
    Ok(Flow::Next)
}

pub fn dis_ext(w: u32, _pc: u64) -> String {
    let a = if bit(w, 30) == 1 { "16b" } else { "8b" };
    format!(
        "ext {}, {}, {}, #{}",
        dis::v(bits(w, 4, 0), a),
        dis::v(bits(w, 9, 5), a),
        dis::v(bits(w, 20, 16), a),
        bits(w, 14, 11)
    )
}
