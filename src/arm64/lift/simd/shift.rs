//! Advanced SIMD shift by immediate (vector and scalar): SSHR/USHR, SSRA/USRA,
//! SRSHR/URSHR, SRSRA/URSRA, SRI, SHL, SLI, SQSHLU, SQSHL/UQSHL (immediate), the
//! narrowing shifts SHRN/RSHRN/SQSHRN/UQSHRN/SQRSHRN/UQRSHRN/SQSHRUN/SQRSHRUN and
//! SSHLL/USHLL (SXTL/UXTL), lifted to one Rust helper call per class.
//!
//! Rows are split by the leading bit of `immh` (which also gives the element size),
//! because `immh == 0000` is the modified-immediate group.

use super::elem::{count, get, int, mask, satq, set, sx};
use super::{call_word, dis, set_qc, vget, vset, word_helper};
use crate::arm64::cpu::Cpu;
use crate::arm64::lift::{bit, bits, LiftError, Lifted, Lifter};

#[derive(Clone, Copy)]
struct Sh {
    q: u32,
    u: u32,
    /// log2 of the element size in bytes (the narrow size for narrowing/long forms).
    size: u32,
    /// `immh:immb`.
    imm: u32,
    opc: u32,
    rn: u32,
    rd: u32,
}

impl Sh {
    fn new(w: u32) -> Sh {
        let immh = bits(w, 22, 19);
        Sh {
            q: bit(w, 30),
            u: bit(w, 29),
            size: 31 - immh.max(1).leading_zeros(),
            imm: bits(w, 22, 16),
            opc: bits(w, 15, 11),
            rn: bits(w, 9, 5),
            rd: bits(w, 4, 0),
        }
    }
    fn esize(&self) -> u32 {
        8 << self.size
    }
    /// Right-shift amount (1..=esize).
    fn rshift(&self) -> u32 {
        2 * self.esize() - self.imm
    }
    /// Left-shift amount (0..esize).
    fn lshift(&self) -> u32 {
        self.imm - self.esize()
    }
    fn narrowing(&self) -> bool {
        self.opc >= 0b10000
    }
}

/// One element of a non-narrowing shift; `d` is the old Vd element.
fn shift_elem(s: &Sh, x: u64, d: u64, qc: &mut bool) -> u64 {
    let es = s.esize();
    let signed = s.u == 0;
    let ix = int(x, es, signed);
    let rsh = |round: bool| {
        let n = s.rshift();
        let r = if round { 1i128 << (n - 1) } else { 0 };
        ((ix + r) >> n) as u64
    };
    let r = match (s.u, s.opc) {
        (_, 0b00000) => rsh(false),
        (_, 0b00010) => d.wrapping_add(rsh(false)),
        (_, 0b00100) => rsh(true),
        (_, 0b00110) => d.wrapping_add(rsh(true)),
        (1, 0b01000) => {
            let n = s.rshift();
            let m = mask(es).checked_shr(n).unwrap_or(0);
            (d & !m) | ((x & mask(es)).checked_shr(n).unwrap_or(0))
        }
        (0, 0b01010) => x << s.lshift(),
        (1, 0b01010) => {
            let m = mask(es) << s.lshift();
            (d & !m) | ((x << s.lshift()) & m)
        }
        (1, 0b01100) => satq((sx(x, es) as i128) << s.lshift(), es, false, qc),
        (_, 0b01110) => satq(ix << s.lshift(), es, signed, qc),
        _ => unreachable!("shift opcode validated at lift time"),
    };
    r & mask(es)
}

/// One narrowing step: a `2*esize` element of Vn to `esize` bits.
fn narrow_elem(s: &Sh, x: u64, qc: &mut bool) -> u64 {
    let es = s.esize();
    let n = s.rshift();
    let round = if s.opc & 1 == 1 { 1i128 << (n - 1) } else { 0 };
    match (s.u, s.opc) {
        (0, 0b10000) | (0, 0b10001) => (((x as i128) + round) >> n) as u64 & mask(es),
        // SQSHRUN, SQRSHRUN: signed source, unsigned result
        (1, 0b10000) | (1, 0b10001) => satq((sx(x, 2 * es) as i128 + round) >> n, es, false, qc),
        _ => {
            let signed = s.u == 0;
            satq((int(x, 2 * es, signed) + round) >> n, es, signed, qc)
        }
    }
}

fn vector_check(w: u32) -> Result<(), LiftError> {
    let s = Sh::new(w);
    let wide = s.size == 3;
    if (s.narrowing() && wide) || (!s.narrowing() && wide && s.q == 0) {
        Err(LiftError::Undefined)
    } else {
        Ok(())
    }
}

fn exec_vector(cpu: &mut Cpu, w: u32) {
    let s = Sh::new(w);
    let es = s.esize();
    let (a, d) = (vget(cpu, s.rn), vget(cpu, s.rd));
    let mut qc = false;
    let r = match s.opc {
        0b10100 => {
            // SSHLL/USHLL
            let n = count(64, es);
            let mut r = 0u128;
            for e in 0..n {
                let x = int(get(a, es, e + s.q as usize * n), es, s.u == 0);
                set(&mut r, 2 * es, e, (x << s.lshift()) as u64);
            }
            r
        }
        o if o >= 0b10000 => {
            let mut lo = 0u128;
            for e in 0..count(64, es) {
                set(&mut lo, es, e, narrow_elem(&s, get(a, 2 * es, e), &mut qc));
            }
            if s.q == 1 {
                (d & u64::MAX as u128) | (lo << 64)
            } else {
                lo
            }
        }
        _ => super::elem::map2(64 << s.q, es, a, d, |x, y| shift_elem(&s, x, y, &mut qc)),
    };
    vset(cpu, s.rd, r);
    set_qc(cpu, qc);
}
word_helper!(h_vector, exec_vector);

pub fn lift_vector(l: &mut Lifter, w: u32) -> Lifted {
    vector_check(w)?;
    if let Some(r) = super::inline::shift_vector(l, w) {
        return r;
    }
    if let Some((name, f)) = super::fast::shift(w) {
        return call_word(l, name, f, w);
    }
    call_word(l, "simd_shift_imm", h_vector, w)
}

fn name(s: &Sh) -> &'static str {
    match (s.u, s.opc) {
        (0, 0b00000) => "sshr",
        (1, 0b00000) => "ushr",
        (0, 0b00010) => "ssra",
        (1, 0b00010) => "usra",
        (0, 0b00100) => "srshr",
        (1, 0b00100) => "urshr",
        (0, 0b00110) => "srsra",
        (1, 0b00110) => "ursra",
        (1, 0b01000) => "sri",
        (0, 0b01010) => "shl",
        (1, 0b01010) => "sli",
        (1, 0b01100) => "sqshlu",
        (0, 0b01110) => "sqshl",
        (1, 0b01110) => "uqshl",
        (0, 0b10000) => "shrn",
        (1, 0b10000) => "sqshrun",
        (0, 0b10001) => "rshrn",
        (1, 0b10001) => "sqrshrun",
        (0, 0b10010) => "sqshrn",
        (1, 0b10010) => "uqshrn",
        (0, 0b10011) => "sqrshrn",
        (1, 0b10011) => "uqrshrn",
        (0, 0b10100) => "sshll",
        (1, 0b10100) => "ushll",
        _ => "?",
    }
}

/// Left-shifting forms print `immh:immb - esize`, the others `2*esize - immh:immb`.
fn amount(s: &Sh) -> u32 {
    match s.opc {
        0b01010 | 0b01100 | 0b01110 | 0b10100 => s.lshift(),
        _ => s.rshift(),
    }
}

pub fn dis_vector(w: u32, _pc: u64) -> String {
    let s = Sh::new(w);
    let two = if s.q == 1 { "2" } else { "" };
    let t = dis::arr(s.size, s.q);
    match s.opc {
        0b10100 if s.lshift() == 0 => format!(
            "{}xtl{two} {}, {}",
            if s.u == 0 { "s" } else { "u" },
            dis::va(s.rd, s.size + 1, 1),
            dis::v(s.rn, t)
        ),
        0b10100 => format!(
            "{}{two} {}, {}, #{}",
            name(&s),
            dis::va(s.rd, s.size + 1, 1),
            dis::v(s.rn, t),
            s.lshift()
        ),
        o if o >= 0b10000 => format!(
            "{}{two} {}, {}, #{}",
            name(&s),
            dis::v(s.rd, t),
            dis::va(s.rn, s.size + 1, 1),
            s.rshift()
        ),
        _ => format!(
            "{} {}, {}, #{}",
            name(&s),
            dis::v(s.rd, t),
            dis::v(s.rn, t),
            amount(&s)
        ),
    }
}

fn scalar_check(w: u32) -> Result<(), LiftError> {
    let s = Sh::new(w);
    let ok = match s.opc {
        0b01100 | 0b01110 => true,
        o if o >= 0b10000 => s.size < 3,
        _ => s.size == 3,
    };
    if ok {
        Ok(())
    } else {
        Err(LiftError::Undefined)
    }
}

fn exec_scalar(cpu: &mut Cpu, w: u32) {
    let s = Sh::new(w);
    let es = s.esize();
    let (a, d) = (vget(cpu, s.rn) as u64, vget(cpu, s.rd) as u64);
    let mut qc = false;
    let r = if s.narrowing() {
        narrow_elem(&s, a & mask(2 * es), &mut qc)
    } else {
        shift_elem(&s, a & mask(es), d & mask(es), &mut qc)
    };
    vset(cpu, s.rd, r as u128);
    set_qc(cpu, qc);
}
word_helper!(h_scalar, exec_scalar);

pub fn lift_scalar(l: &mut Lifter, w: u32) -> Lifted {
    scalar_check(w)?;
    if let Some(r) = super::inline::shift_scalar(l, w) {
        return r;
    }
    call_word(l, "simd_shift_imm_scalar", h_scalar, w)
}

pub fn dis_scalar(w: u32, _pc: u64) -> String {
    let s = Sh::new(w);
    let nsize = if s.narrowing() { s.size + 1 } else { s.size };
    format!(
        "{} {}, {}, #{}",
        name(&s),
        dis::scalar(s.rd, s.size),
        dis::scalar(s.rn, nsize),
        amount(&s)
    )
}
