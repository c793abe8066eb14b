//! Advanced SIMD integer arithmetic, comparisons and reductions, lifted to one Rust
//! helper call per encoding class (the helper decodes the word itself):
//!
//! - three same (vector and scalar): halving/saturating add and subtract, compares,
//!   register shifts, max/min, absolute difference, ADD/SUB, CMTST/CMEQ, MLA/MLS,
//!   MUL/PMUL, pairwise max/min/add, SQDMULH/SQRDMULH;
//! - three different (vector and scalar): the long, wide and narrowing-high forms;
//! - two-register miscellaneous (vector and scalar): REV*, pairwise long add, CLS/CLZ,
//!   CNT, RBIT, SQABS/SQNEG/ABS/NEG, SUQADD/USQADD, compares against zero, XTN and the
//!   saturating narrows, SHLL;
//! - across lanes (ADDV, [SU]ADDLV, [SU]MAXV, [SU]MINV) and scalar pairwise ADDP;
//! - vector and scalar "by element" multiplies.

use super::elem::{self, count, get, int, map2, map3, mask, pairwise, satq, set, sx};
use super::{call_word, dis, set_qc, vget, vset, word_helper};
use crate::arm64::cpu::Cpu;
use crate::arm64::lift::{bit, bits, LiftError, Lifted, Lifter};

/// Fields common to most Advanced SIMD data-processing encodings.
#[derive(Clone, Copy)]
struct F {
    q: u32,
    u: u32,
    size: u32,
    rm: u32,
    rn: u32,
    rd: u32,
}

impl F {
    fn new(w: u32) -> F {
        F {
            q: bit(w, 30),
            u: bit(w, 29),
            size: bits(w, 23, 22),
            rm: bits(w, 20, 16),
            rn: bits(w, 9, 5),
            rd: bits(w, 4, 0),
        }
    }
    fn esize(&self) -> u32 {
        8 << self.size
    }
    fn datasize(&self) -> u32 {
        64 << self.q
    }
    /// The `size:Q == 11:0` (1D) arrangement, reserved for most vector forms.
    fn is_1d(&self) -> bool {
        self.size == 3 && self.q == 0
    }
    fn signed(&self) -> bool {
        self.u == 0
    }
}

/// The `U` bit.
fn f_u(w: u32) -> u32 {
    bit(w, 29)
}

fn ones(b: bool, esize: u32) -> u64 {
    if b {
        mask(esize)
    } else {
        0
    }
}

fn undef_if(c: bool) -> Result<(), LiftError> {
    if c {
        Err(LiftError::Undefined)
    } else {
        Ok(())
    }
}

// ---- three same ---------------------------------------------------------------------------

/// One element of a non-pairwise three-same operation (`u`, `opc` = bits 29, 15:11):
/// `a` from Vn, `b` from Vm, `d` the old Vd element (accumulating forms).
#[allow(clippy::too_many_arguments)]
pub fn same_elem(u: u32, opc: u32, esize: u32, a: u64, b: u64, d: u64, qc: &mut bool) -> u64 {
    let s = u == 0;
    let (ia, ib) = (int(a, esize, s), int(b, esize, s));
    let shift = sx(b & 0xff, 8) as i32;
    let r = match opc {
        0b00000 => ((ia + ib) >> 1) as u64,
        0b00001 => satq(ia + ib, esize, s, qc),
        0b00010 => ((ia + ib + 1) >> 1) as u64,
        0b00100 => ((ia - ib) >> 1) as u64,
        0b00101 => satq(ia - ib, esize, s, qc),
        0b00110 => ones(ia > ib, esize),
        0b00111 => ones(ia >= ib, esize),
        0b01000 => elem::shift_int(ia, shift, false, esize) as u64,
        0b01001 => satq(elem::shift_int(ia, shift, false, esize), esize, s, qc),
        0b01010 => elem::shift_int(ia, shift, true, esize) as u64,
        0b01011 => satq(elem::shift_int(ia, shift, true, esize), esize, s, qc),
        0b01100 => ia.max(ib) as u64,
        0b01101 => ia.min(ib) as u64,
        0b01110 => elem::abd(ia, ib),
        0b01111 => d.wrapping_add(elem::abd(ia, ib)),
        0b10000 if u == 0 => a.wrapping_add(b),
        0b10000 => a.wrapping_sub(b),
        0b10001 if u == 0 => ones(a & b & mask(esize) != 0, esize),
        0b10001 => ones((a ^ b) & mask(esize) == 0, esize),
        0b10010 if u == 0 => d.wrapping_add(a.wrapping_mul(b)),
        0b10010 => d.wrapping_sub(a.wrapping_mul(b)),
        0b10011 if u == 0 => a.wrapping_mul(b),
        0b10011 => elem::pmul(a & 0xff, b & 0xff) as u64,
        0b10110 => {
            // SQDMULH / SQRDMULH (always signed)
            let p = 2 * sx(a, esize) as i128 * sx(b, esize) as i128;
            let round = if u == 1 { 1i128 << (esize - 1) } else { 0 };
            satq((p + round) >> esize, esize, true, qc)
        }
        _ => unreachable!("three-same opcode {opc:#b} validated at lift time"),
    };
    r & mask(esize)
}

/// One pairwise three-same operation (SMAXP..ADDP) on two adjacent elements.
fn pair_elem(u: u32, opc: u32, esize: u32, a: u64, b: u64) -> u64 {
    let s = u == 0;
    let (ia, ib) = (int(a, esize, s), int(b, esize, s));
    match opc {
        0b10100 => ia.max(ib) as u64,
        0b10101 => ia.min(ib) as u64,
        _ => a.wrapping_add(b),
    }
}

fn same_check(w: u32) -> Result<(), LiftError> {
    let f = F::new(w);
    let opc = bits(w, 15, 11);
    undef_if(match opc {
        0b00000 | 0b00010 | 0b00100 | 0b01100..=0b01111 | 0b10010 | 0b10100 | 0b10101 => {
            f.size == 3
        }
        0b10011 => {
            if f.u == 1 {
                f.size != 0
            } else {
                f.size == 3
            }
        }
        0b10110 => f.size == 0 || f.size == 3,
        0b10111 => f.u == 1 || f.is_1d(),
        0b00001 | 0b00101..=0b01011 | 0b10000 | 0b10001 => f.is_1d(),
        _ => true,
    })
}

fn exec_same(cpu: &mut Cpu, w: u32) {
    let f = F::new(w);
    let opc = bits(w, 15, 11);
    let (a, b, d) = (vget(cpu, f.rn), vget(cpu, f.rm), vget(cpu, f.rd));
    let (ds, es) = (f.datasize(), f.esize());
    let mut qc = false;
    let r = match opc {
        0b10100 | 0b10101 | 0b10111 => pairwise(ds, es, a, b, |x, y| pair_elem(f.u, opc, es, x, y)),
        _ => map3(ds, es, a, b, d, |x, y, z| {
            same_elem(f.u, opc, es, x, y, z, &mut qc)
        }),
    };
    vset(cpu, f.rd, r);
    set_qc(cpu, qc);
}
word_helper!(h_same, exec_same);

pub fn lift_same(l: &mut Lifter, w: u32) -> Lifted {
    same_check(w)?;
    match bits(w, 15, 11) {
        0b10000 => return super::inline::add_sub(l, w),
        0b10001 => return super::inline::cmeq_cmtst(l, w, false),
        _ => {}
    }
    if let Some((name, f)) = super::fast::same(w) {
        return call_word(l, name, f, w);
    }
    call_word(l, "simd_3same", h_same, w)
}

const SAME_S: [&str; 24] = [
    "shadd", "sqadd", "srhadd", "", "shsub", "sqsub", "cmgt", "cmge", "sshl", "sqshl", "srshl",
    "sqrshl", "smax", "smin", "sabd", "saba", "add", "cmtst", "mla", "mul", "smaxp", "sminp",
    "sqdmulh", "addp",
];
const SAME_U: [&str; 24] = [
    "uhadd", "uqadd", "urhadd", "", "uhsub", "uqsub", "cmhi", "cmhs", "ushl", "uqshl", "urshl",
    "uqrshl", "umax", "umin", "uabd", "uaba", "sub", "cmeq", "mls", "pmul", "umaxp", "uminp",
    "sqrdmulh", "",
];

fn same_name(u: u32, opc: u32) -> &'static str {
    let t = if u == 0 { &SAME_S } else { &SAME_U };
    t.get(opc as usize).copied().unwrap_or("?")
}

pub fn dis_same(w: u32, _pc: u64) -> String {
    let f = F::new(w);
    format!(
        "{} {}, {}, {}",
        same_name(f.u, bits(w, 15, 11)),
        dis::va(f.rd, f.size, f.q),
        dis::va(f.rn, f.size, f.q),
        dis::va(f.rm, f.size, f.q)
    )
}

fn same_scalar_check(w: u32) -> Result<(), LiftError> {
    let f = F::new(w);
    undef_if(match bits(w, 15, 11) {
        0b00001 | 0b00101 | 0b01001 | 0b01011 => false,
        0b00110 | 0b00111 | 0b01000 | 0b01010 | 0b10000 | 0b10001 => f.size != 3,
        0b10110 => f.size == 0 || f.size == 3,
        _ => true,
    })
}

fn exec_same_scalar(cpu: &mut Cpu, w: u32) {
    let f = F::new(w);
    let es = f.esize();
    let (a, b) = (vget(cpu, f.rn) as u64, vget(cpu, f.rm) as u64);
    let mut qc = false;
    let r = same_elem(
        f.u,
        bits(w, 15, 11),
        es,
        a & mask(es),
        b & mask(es),
        0,
        &mut qc,
    );
    vset(cpu, f.rd, r as u128);
    set_qc(cpu, qc);
}
word_helper!(h_same_scalar, exec_same_scalar);

pub fn lift_same_scalar(l: &mut Lifter, w: u32) -> Lifted {
    same_scalar_check(w)?;
    match bits(w, 15, 11) {
        0b10000 => return super::inline::add_sub_scalar(l, w),
        0b10001 => return super::inline::cmeq_cmtst(l, w, true),
        _ => {}
    }
    call_word(l, "simd_3same_scalar", h_same_scalar, w)
}

pub fn dis_same_scalar(w: u32, _pc: u64) -> String {
    let f = F::new(w);
    format!(
        "{} {}, {}, {}",
        same_name(f.u, bits(w, 15, 11)),
        dis::scalar(f.rd, f.size),
        dis::scalar(f.rn, f.size),
        dis::scalar(f.rm, f.size)
    )
}

// ---- three different -------------------------------------------------------------------

/// Saturating doubling multiply of two `esize`-bit signed elements into `2*esize` bits.
fn sqdmull(a: u64, b: u64, esize: u32, qc: &mut bool) -> i128 {
    let p = 2 * sx(a, esize) as i128 * sx(b, esize) as i128;
    sx(satq(p, 2 * esize, true, qc), 2 * esize) as i128
}

/// One long/wide element of a three-different operation: `a` and `b` as integers of
/// their own widths, `d` the old (double-width) Vd element. Returns `2*esize` bits.
fn diff_long(opc: u32, s: bool, esize: u32, a: u64, b: u64, d: u64, qc: &mut bool) -> u64 {
    let e2 = 2 * esize;
    let (ia, ib) = (int(a, esize, s), int(b, esize, s));
    let r = match opc {
        0b0000 => ia + ib,
        0b0010 => ia - ib,
        // wide forms: `a` is already double width
        0b0001 => int(a, e2, s) + ib,
        0b0011 => int(a, e2, s) - ib,
        0b0101 => d as i128 + elem::abd(ia, ib) as i128,
        0b0111 => elem::abd(ia, ib) as i128,
        0b1000 => d as i128 + ia * ib,
        0b1010 => d as i128 - ia * ib,
        0b1100 => ia * ib,
        0b1001 => return satq(sx(d, e2) as i128 + sqdmull(a, b, esize, qc), e2, true, qc),
        0b1011 => return satq(sx(d, e2) as i128 - sqdmull(a, b, esize, qc), e2, true, qc),
        0b1101 => return sqdmull(a, b, esize, qc) as u64 & mask(e2),
        0b1110 => elem::pmul(a, b) as i128,
        _ => unreachable!("three-different opcode {opc:#b} validated at lift time"),
    };
    r as u64 & mask(e2)
}

fn diff_check(w: u32) -> Result<(), LiftError> {
    let f = F::new(w);
    undef_if(match bits(w, 15, 12) {
        0b1001 | 0b1011 | 0b1101 => f.u == 1 || f.size == 0 || f.size == 3,
        // PMULL: 8-bit, or 64-bit (FEAT_PMULL)
        0b1110 => f.u == 1 || (f.size != 0 && f.size != 3),
        0b1111 => true,
        _ => f.size == 3,
    })
}

fn exec_diff(cpu: &mut Cpu, w: u32) {
    let f = F::new(w);
    let opc = bits(w, 15, 12);
    let (a, b, d) = (vget(cpu, f.rn), vget(cpu, f.rm), vget(cpu, f.rd));
    let es = f.esize();
    let n = count(64, es);
    let off = f.q as usize * n;
    let s = f.signed();
    let mut qc = false;
    let r = if opc == 0b1110 && f.size == 3 {
        // PMULL/PMULL2 with 64-bit elements: one 128-bit product.
        elem::pmul(get(a, 64, f.q as usize), get(b, 64, f.q as usize))
    } else if opc == 0b0100 || opc == 0b0110 {
        // ADDHN/RADDHN/SUBHN/RSUBHN: high halves of double-width sums.
        let mut lo = 0u128;
        for e in 0..n {
            let (x, y) = (get(a, 2 * es, e) as u128, get(b, 2 * es, e) as u128);
            let mut t = if opc == 0b0100 {
                x.wrapping_add(y)
            } else {
                x.wrapping_sub(y)
            };
            if f.u == 1 {
                t = t.wrapping_add(1 << (es - 1));
            }
            set(&mut lo, es, e, (t >> es) as u64);
        }
        if f.q == 1 {
            (d & u64::MAX as u128) | (lo << 64)
        } else {
            lo
        }
    } else {
        let mut out = 0u128;
        for e in 0..n {
            let x = if opc == 0b0001 || opc == 0b0011 {
                get(a, 2 * es, e)
            } else {
                get(a, es, e + off)
            };
            let y = get(b, es, e + off);
            let acc = get(d, 2 * es, e);
            set(
                &mut out,
                2 * es,
                e,
                diff_long(opc, s, es, x, y, acc, &mut qc),
            );
        }
        out
    };
    vset(cpu, f.rd, r);
    set_qc(cpu, qc);
}
word_helper!(h_diff, exec_diff);

pub fn lift_diff(l: &mut Lifter, w: u32) -> Lifted {
    diff_check(w)?;
    if let Some((name, f)) = super::fast::diff(w) {
        return call_word(l, name, f, w);
    }
    call_word(l, "simd_3diff", h_diff, w)
}

const DIFF_S: [&str; 15] = [
    "saddl", "saddw", "ssubl", "ssubw", "addhn", "sabal", "subhn", "sabdl", "smlal", "sqdmlal",
    "smlsl", "sqdmlsl", "smull", "sqdmull", "pmull",
];
const DIFF_U: [&str; 15] = [
    "uaddl", "uaddw", "usubl", "usubw", "raddhn", "uabal", "rsubhn", "uabdl", "umlal", "?",
    "umlsl", "?", "umull", "?", "?",
];

pub fn dis_diff(w: u32, _pc: u64) -> String {
    let f = F::new(w);
    let opc = bits(w, 15, 12);
    let name = if f.u == 0 { DIFF_S } else { DIFF_U }
        .get(opc as usize)
        .copied()
        .unwrap_or("?");
    let two = if f.q == 1 { "2" } else { "" };
    if f.size == 3 {
        let t = if f.q == 1 { "2d" } else { "1d" };
        return format!(
            "{name}{two} v{}.1q, {}, {}",
            f.rd,
            dis::v(f.rn, t),
            dis::v(f.rm, t)
        );
    }
    let (narrow, wide) = (dis::arr(f.size, f.q), dis::arr(f.size + 1, 1));
    let (d, n, m) = match opc {
        0b0001 | 0b0011 => (wide, wide, narrow),
        0b0100 | 0b0110 => (narrow, wide, wide),
        _ => (wide, narrow, narrow),
    };
    format!(
        "{name}{two} {}, {}, {}",
        dis::v(f.rd, d),
        dis::v(f.rn, n),
        dis::v(f.rm, m)
    )
}

fn exec_diff_scalar(cpu: &mut Cpu, w: u32) {
    let f = F::new(w);
    let es = f.esize();
    let (a, b, d) = (
        vget(cpu, f.rn) as u64,
        vget(cpu, f.rm) as u64,
        vget(cpu, f.rd) as u64,
    );
    let mut qc = false;
    let r = diff_long(
        bits(w, 15, 12),
        true,
        es,
        a & mask(es),
        b & mask(es),
        d & mask(2 * es),
        &mut qc,
    );
    vset(cpu, f.rd, r as u128);
    set_qc(cpu, qc);
}
word_helper!(h_diff_scalar, exec_diff_scalar);

pub fn lift_diff_scalar(l: &mut Lifter, w: u32) -> Lifted {
    let f = F::new(w);
    undef_if(f.size == 0 || f.size == 3)?;
    call_word(l, "simd_3diff_scalar", h_diff_scalar, w)
}

pub fn dis_diff_scalar(w: u32, _pc: u64) -> String {
    let f = F::new(w);
    format!(
        "{} {}, {}, {}",
        DIFF_S[bits(w, 15, 12) as usize],
        dis::scalar(f.rd, f.size + 1),
        dis::scalar(f.rn, f.size),
        dis::scalar(f.rm, f.size)
    )
}

// ---- two-register miscellaneous --------------------------------------------------------

/// One element of an elementwise two-register-misc operation; `d` is the old Vd
/// element (SUQADD/USQADD).
fn misc_elem(u: u32, opc: u32, esize: u32, a: u64, d: u64, qc: &mut bool) -> u64 {
    let sa = sx(a, esize) as i128;
    let r = match (u, opc) {
        (0, 0b00011) => satq(
            sx(d, esize) as i128 + (a & mask(esize)) as i128,
            esize,
            true,
            qc,
        ),
        (1, 0b00011) => satq((d & mask(esize)) as i128 + sa, esize, false, qc),
        (0, 0b00100) => elem::cls(a, esize),
        (1, 0b00100) => elem::clz(a, esize),
        (0, 0b00101) => (a & 0xff).count_ones() as u64,
        (1, 0b00101) => (a as u8).reverse_bits() as u64,
        (0, 0b00111) => satq(sa.abs(), esize, true, qc),
        (1, 0b00111) => satq(-sa, esize, true, qc),
        (0, 0b01000) => ones(sa > 0, esize),
        (1, 0b01000) => ones(sa >= 0, esize),
        (0, 0b01001) => ones(sa == 0, esize),
        (1, 0b01001) => ones(sa <= 0, esize),
        (0, 0b01010) => ones(sa < 0, esize),
        (0, 0b01011) => sa.unsigned_abs() as u64,
        (1, 0b01011) => (-sa) as u64,
        _ => unreachable!("two-reg-misc opcode {u}:{opc:#b} validated at lift time"),
    };
    r & mask(esize)
}

/// One narrowing step (XTN, SQXTUN, SQXTN, UQXTN): a `2*esize` element to `esize`.
fn narrow_elem(u: u32, opc: u32, esize: u32, a: u64, qc: &mut bool) -> u64 {
    let e2 = 2 * esize;
    match (u, opc) {
        (0, 0b10010) => a & mask(esize),
        (1, 0b10010) => satq(sx(a, e2) as i128, esize, false, qc),
        (0, 0b10100) => satq(sx(a, e2) as i128, esize, true, qc),
        _ => satq((a & mask(e2)) as i128, esize, false, qc),
    }
}

fn misc_check(w: u32) -> Result<(), LiftError> {
    let f = F::new(w);
    undef_if(match (f.u, bits(w, 16, 12)) {
        (0, 0b00000) => f.size == 3,
        (1, 0b00000) => f.size >= 2,
        (0, 0b00001) => f.size != 0,
        (_, 0b00010) | (_, 0b00110) | (_, 0b00100) => f.size == 3,
        (0, 0b00101) => f.size != 0,
        (1, 0b00101) => f.size != 1,
        (_, 0b00011) | (_, 0b00111) | (_, 0b01000) | (_, 0b01001) | (0, 0b01010) => f.is_1d(),
        (_, 0b01011) => f.is_1d(),
        (_, 0b10010) | (_, 0b10100) | (1, 0b10011) => f.size == 3,
        _ => true,
    })
}

fn exec_misc(cpu: &mut Cpu, w: u32) {
    let f = F::new(w);
    let opc = bits(w, 16, 12);
    let (a, d) = (vget(cpu, f.rn), vget(cpu, f.rd));
    let (ds, es) = (f.datasize(), f.esize());
    let mut qc = false;
    let r = match (f.u, opc) {
        (0, 0b00000) => elem::rev(ds, es, 64, a),
        (1, 0b00000) => elem::rev(ds, es, 32, a),
        (0, 0b00001) => elem::rev(ds, es, 16, a),
        (_, 0b00010) | (_, 0b00110) => {
            // [SU]ADDLP / [SU]ADALP
            let mut r = 0u128;
            for e in 0..count(ds, 2 * es) {
                let sum = int(get(a, es, 2 * e), es, f.signed())
                    + int(get(a, es, 2 * e + 1), es, f.signed());
                let acc = if opc == 0b00110 {
                    get(d, 2 * es, e) as i128
                } else {
                    0
                };
                set(&mut r, 2 * es, e, (sum + acc) as u64);
            }
            r
        }
        // CNT, RBIT and NOT work on bytes whatever `size` says.
        (_, 0b00101) => map2(ds, 8, a, d, |x, y| misc_elem(f.u, opc, 8, x, y, &mut qc)),
        (_, 0b10010) | (_, 0b10100) => {
            let mut lo = 0u128;
            for e in 0..count(64, es) {
                set(
                    &mut lo,
                    es,
                    e,
                    narrow_elem(f.u, opc, es, get(a, 2 * es, e), &mut qc),
                );
            }
            if f.q == 1 {
                (d & u64::MAX as u128) | (lo << 64)
            } else {
                lo
            }
        }
        (1, 0b10011) => {
            // SHLL/SHLL2
            let mut r = 0u128;
            let n = count(64, es);
            for e in 0..n {
                set(&mut r, 2 * es, e, get(a, es, e + f.q as usize * n) << es);
            }
            r
        }
        _ => map2(ds, es, a, d, |x, y| misc_elem(f.u, opc, es, x, y, &mut qc)),
    };
    vset(cpu, f.rd, r);
    set_qc(cpu, qc);
}
word_helper!(h_misc, exec_misc);

pub fn lift_misc(l: &mut Lifter, w: u32) -> Lifted {
    misc_check(w)?;
    if (f_u(w), bits(w, 16, 12)) == (0, 0b01001) {
        return super::inline::cmeq_zero(l, w, false);
    }
    if let Some((name, f)) = super::fast::misc(w) {
        return call_word(l, name, f, w);
    }
    call_word(l, "simd_2misc", h_misc, w)
}

fn misc_name(u: u32, opc: u32, size: u32) -> &'static str {
    match (u, opc) {
        (0, 0b00000) => "rev64",
        (1, 0b00000) => "rev32",
        (0, 0b00001) => "rev16",
        (0, 0b00010) => "saddlp",
        (1, 0b00010) => "uaddlp",
        (0, 0b00011) => "suqadd",
        (1, 0b00011) => "usqadd",
        (0, 0b00100) => "cls",
        (1, 0b00100) => "clz",
        (0, 0b00101) => "cnt",
        (1, 0b00101) if size == 0 => "mvn",
        (1, 0b00101) => "rbit",
        (0, 0b00110) => "sadalp",
        (1, 0b00110) => "uadalp",
        (0, 0b00111) => "sqabs",
        (1, 0b00111) => "sqneg",
        (0, 0b01000) => "cmgt",
        (1, 0b01000) => "cmge",
        (0, 0b01001) => "cmeq",
        (1, 0b01001) => "cmle",
        (0, 0b01010) => "cmlt",
        (0, 0b01011) => "abs",
        (1, 0b01011) => "neg",
        (0, 0b10010) => "xtn",
        (1, 0b10010) => "sqxtun",
        (1, 0b10011) => "shll",
        (0, 0b10100) => "sqxtn",
        (1, 0b10100) => "uqxtn",
        _ => "?",
    }
}

pub fn dis_misc(w: u32, _pc: u64) -> String {
    let f = F::new(w);
    let opc = bits(w, 16, 12);
    let name = misc_name(f.u, opc, f.size);
    let two = if f.q == 1 { "2" } else { "" };
    let t = dis::arr(f.size, f.q);
    match opc {
        0b00010 | 0b00110 => format!(
            "{name} {}, {}",
            dis::va(f.rd, f.size + 1, f.q),
            dis::v(f.rn, t)
        ),
        0b00101 => {
            let t = if f.q == 1 { "16b" } else { "8b" };
            format!("{name} {}, {}", dis::v(f.rd, t), dis::v(f.rn, t))
        }
        0b01000..=0b01010 => format!("{name} {}, {}, #0", dis::v(f.rd, t), dis::v(f.rn, t)),
        0b10010 | 0b10100 => format!(
            "{name}{two} {}, {}",
            dis::v(f.rd, t),
            dis::va(f.rn, f.size + 1, 1)
        ),
        0b10011 => format!(
            "{name}{two} {}, {}, #{}",
            dis::va(f.rd, f.size + 1, 1),
            dis::v(f.rn, t),
            f.esize()
        ),
        _ => format!("{name} {}, {}", dis::v(f.rd, t), dis::v(f.rn, t)),
    }
}

fn misc_scalar_check(w: u32) -> Result<(), LiftError> {
    let f = F::new(w);
    undef_if(match (f.u, bits(w, 16, 12)) {
        (_, 0b00011) | (_, 0b00111) => false,
        (_, 0b01000) | (_, 0b01001) | (0, 0b01010) | (_, 0b01011) => f.size != 3,
        (1, 0b10010) | (_, 0b10100) => f.size == 3,
        _ => true,
    })
}

fn exec_misc_scalar(cpu: &mut Cpu, w: u32) {
    let f = F::new(w);
    let opc = bits(w, 16, 12);
    let (a, d) = (vget(cpu, f.rn) as u64, vget(cpu, f.rd) as u64);
    let es = f.esize();
    let mut qc = false;
    let r = match opc {
        0b10010 | 0b10100 => narrow_elem(f.u, opc, es, a & mask(2 * es), &mut qc),
        _ => misc_elem(f.u, opc, es, a & mask(es), d & mask(es), &mut qc),
    };
    vset(cpu, f.rd, r as u128);
    set_qc(cpu, qc);
}
word_helper!(h_misc_scalar, exec_misc_scalar);

pub fn lift_misc_scalar(l: &mut Lifter, w: u32) -> Lifted {
    misc_scalar_check(w)?;
    if (f_u(w), bits(w, 16, 12)) == (0, 0b01001) {
        return super::inline::cmeq_zero(l, w, true);
    }
    call_word(l, "simd_2misc_scalar", h_misc_scalar, w)
}

pub fn dis_misc_scalar(w: u32, _pc: u64) -> String {
    let f = F::new(w);
    let opc = bits(w, 16, 12);
    let name = misc_name(f.u, opc, f.size);
    let (d, n) = (dis::scalar(f.rd, f.size), dis::scalar(f.rn, f.size));
    match opc {
        0b01000..=0b01010 => format!("{name} {d}, {n}, #0"),
        0b10010 | 0b10100 => format!("{name} {d}, {}", dis::scalar(f.rn, f.size + 1)),
        _ => format!("{name} {d}, {n}"),
    }
}

// ---- across lanes and scalar pairwise ----------------------------------------------------

fn exec_across(cpu: &mut Cpu, w: u32) {
    let f = F::new(w);
    let opc = bits(w, 16, 12);
    let a = vget(cpu, f.rn);
    let (ds, es) = (f.datasize(), f.esize());
    let s = f.signed();
    let xs = (0..count(ds, es)).map(|i| int(get(a, es, i), es, s));
    let r = match opc {
        0b00011 => xs.sum::<i128>() as u64 & mask(2 * es),
        0b01010 => xs.max().unwrap_or(0) as u64 & mask(es),
        0b11010 => xs.min().unwrap_or(0) as u64 & mask(es),
        _ => xs.sum::<i128>() as u64 & mask(es),
    };
    vset(cpu, f.rd, r as u128);
}
word_helper!(h_across, exec_across);

pub fn lift_across(l: &mut Lifter, w: u32) -> Lifted {
    let f = F::new(w);
    undef_if(f.size == 3 || (f.size == 2 && f.q == 0))?;
    if let Some((name, f)) = super::fast::across(w) {
        return call_word(l, name, f, w);
    }
    call_word(l, "simd_across", h_across, w)
}

pub fn dis_across(w: u32, _pc: u64) -> String {
    let f = F::new(w);
    let opc = bits(w, 16, 12);
    let p = if f.u == 0 { "s" } else { "u" };
    let (name, dsize) = match opc {
        0b00011 => (format!("{p}addlv"), f.size + 1),
        0b01010 => (format!("{p}maxv"), f.size),
        0b11010 => (format!("{p}minv"), f.size),
        _ => ("addv".to_string(), f.size),
    };
    format!(
        "{name} {}, {}",
        dis::scalar(f.rd, dsize),
        dis::va(f.rn, f.size, f.q)
    )
}

pub fn lift_addp_scalar(l: &mut Lifter, w: u32) -> Lifted {
    super::inline::addp_scalar(l, w)
}

pub fn dis_addp_scalar(w: u32, _pc: u64) -> String {
    let f = F::new(w);
    format!("addp d{}, v{}.2d", f.rd, f.rn)
}

// ---- by element --------------------------------------------------------------------------

/// Element index and Vm register number of a by-element encoding with `size` 1 or 2.
fn index_rm(w: u32) -> (u32, u32) {
    let (h, l, m) = (bit(w, 11), bit(w, 21), bit(w, 20));
    if bits(w, 23, 22) == 1 {
        ((h << 2) | (l << 1) | m, bits(w, 19, 16))
    } else {
        ((h << 1) | l, bits(w, 20, 16))
    }
}

fn elem_check(w: u32) -> Result<(), LiftError> {
    let f = F::new(w);
    undef_if(f.size == 0 || f.size == 3)
}

fn exec_by_elem(cpu: &mut Cpu, w: u32) {
    let f = F::new(w);
    let opc = bits(w, 15, 12);
    let (index, rm) = index_rm(w);
    let es = f.esize();
    let (a, d) = (vget(cpu, f.rn), vget(cpu, f.rd));
    let m = get(vget(cpu, rm), es, index as usize);
    let s = f.signed();
    let mut qc = false;
    let r = match opc {
        // MLA, MLS, MUL
        0b0000 => map2(f.datasize(), es, a, d, |x, y| {
            y.wrapping_add(x.wrapping_mul(m))
        }),
        0b0100 => map2(f.datasize(), es, a, d, |x, y| {
            y.wrapping_sub(x.wrapping_mul(m))
        }),
        0b1000 => map2(f.datasize(), es, a, d, |x, _| x.wrapping_mul(m)),
        // SQDMULH, SQRDMULH
        0b1100 | 0b1101 => {
            let u = opc & 1;
            map2(f.datasize(), es, a, d, |x, _| {
                same_elem(u, 0b10110, es, x, m, 0, &mut qc)
            })
        }
        _ => {
            // long forms: [SU]MLAL, [SU]MLSL, [SU]MULL, SQDMLAL, SQDMLSL, SQDMULL
            let dop = match opc {
                0b0010 => 0b1000,
                0b0110 => 0b1010,
                0b1010 => 0b1100,
                0b0011 => 0b1001,
                0b0111 => 0b1011,
                _ => 0b1101,
            };
            let n = count(64, es);
            let mut r = 0u128;
            for e in 0..n {
                let x = get(a, es, e + f.q as usize * n);
                let acc = get(d, 2 * es, e);
                set(&mut r, 2 * es, e, diff_long(dop, s, es, x, m, acc, &mut qc));
            }
            r
        }
    };
    vset(cpu, f.rd, r);
    set_qc(cpu, qc);
}
word_helper!(h_by_elem, exec_by_elem);

pub fn lift_by_elem(l: &mut Lifter, w: u32) -> Lifted {
    elem_check(w)?;
    call_word(l, "simd_by_elem", h_by_elem, w)
}

fn elem_name(u: u32, opc: u32) -> String {
    let p = if u == 0 { "s" } else { "u" };
    match opc {
        0b0000 => "mla".into(),
        0b0100 => "mls".into(),
        0b1000 => "mul".into(),
        0b0010 => format!("{p}mlal"),
        0b0110 => format!("{p}mlsl"),
        0b1010 => format!("{p}mull"),
        0b0011 => "sqdmlal".into(),
        0b0111 => "sqdmlsl".into(),
        0b1011 => "sqdmull".into(),
        0b1100 => "sqdmulh".into(),
        _ => "sqrdmulh".into(),
    }
}

pub fn dis_by_elem(w: u32, _pc: u64) -> String {
    let f = F::new(w);
    let opc = bits(w, 15, 12);
    let (index, rm) = index_rm(w);
    let m = dis::elem(rm, f.size, index);
    let name = elem_name(f.u, opc);
    match opc {
        0b0000 | 0b0100 | 0b1000 | 0b1100 | 0b1101 => format!(
            "{name} {}, {}, {m}",
            dis::va(f.rd, f.size, f.q),
            dis::va(f.rn, f.size, f.q)
        ),
        _ => format!(
            "{name}{} {}, {}, {m}",
            if f.q == 1 { "2" } else { "" },
            dis::va(f.rd, f.size + 1, 1),
            dis::va(f.rn, f.size, f.q)
        ),
    }
}

fn exec_by_elem_scalar(cpu: &mut Cpu, w: u32) {
    let f = F::new(w);
    let opc = bits(w, 15, 12);
    let (index, rm) = index_rm(w);
    let es = f.esize();
    let (a, d) = (vget(cpu, f.rn) as u64, vget(cpu, f.rd) as u64);
    let m = get(vget(cpu, rm), es, index as usize);
    let mut qc = false;
    let r = match opc {
        0b1100 | 0b1101 => same_elem(opc & 1, 0b10110, es, a & mask(es), m, 0, &mut qc),
        _ => {
            let dop = match opc {
                0b0011 => 0b1001,
                0b0111 => 0b1011,
                _ => 0b1101,
            };
            diff_long(dop, true, es, a & mask(es), m, d & mask(2 * es), &mut qc)
        }
    };
    vset(cpu, f.rd, r as u128);
    set_qc(cpu, qc);
}
word_helper!(h_by_elem_scalar, exec_by_elem_scalar);

pub fn lift_by_elem_scalar(l: &mut Lifter, w: u32) -> Lifted {
    elem_check(w)?;
    call_word(l, "simd_by_elem_scalar", h_by_elem_scalar, w)
}

pub fn dis_by_elem_scalar(w: u32, _pc: u64) -> String {
    let f = F::new(w);
    let opc = bits(w, 15, 12);
    let (index, rm) = index_rm(w);
    let dsize = if opc >= 0b1100 { f.size } else { f.size + 1 };
    format!(
        "{} {}, {}, {}",
        elem_name(0, opc),
        dis::scalar(f.rd, dsize),
        dis::scalar(f.rn, f.size),
        dis::elem(rm, f.size, index)
    )
}
