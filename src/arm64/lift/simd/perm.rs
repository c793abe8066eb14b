//! Advanced SIMD permutes (UZP1/UZP2, TRN1/TRN2, ZIP1/ZIP2) and table lookups
//! (TBL/TBX with one to four table registers), lifted to one Rust helper call per class.

use super::elem::{count, get, set};
use super::{call_word, dis, vget, vset, word_helper};
use crate::arm64::cpu::Cpu;
use crate::arm64::lift::{bit, bits, LiftError, Lifted, Lifter};

/// The permute of `opc` (bits 14:12: 1 UZP1, 2 TRN1, 3 ZIP1, 5 UZP2, 6 TRN2, 7 ZIP2)
/// of the low `datasize` bits of `n` and `m`.
pub fn permute(opc: u32, datasize: u32, esize: u32, n: u128, m: u128) -> u128 {
    let elems = count(datasize, esize);
    let pairs = elems / 2;
    let part = (opc >> 2) as usize & 1;
    let mut r = 0u128;
    match opc & 3 {
        1 => {
            // UZP: even (part 0) or odd (part 1) elements of m:n
            for i in 0..elems {
                let j = 2 * i + part;
                let x = if j < elems {
                    get(n, esize, j)
                } else {
                    get(m, esize, j - elems)
                };
                set(&mut r, esize, i, x);
            }
        }
        2 => {
            for p in 0..pairs {
                set(&mut r, esize, 2 * p, get(n, esize, 2 * p + part));
                set(&mut r, esize, 2 * p + 1, get(m, esize, 2 * p + part));
            }
        }
        _ => {
            let base = part * pairs;
            for p in 0..pairs {
                set(&mut r, esize, 2 * p, get(n, esize, base + p));
                set(&mut r, esize, 2 * p + 1, get(m, esize, base + p));
            }
        }
    }
    r
}

fn exec_permute(cpu: &mut Cpu, w: u32) {
    let (q, size) = (bit(w, 30), bits(w, 23, 22));
    let (rm, rn, rd) = (bits(w, 20, 16), bits(w, 9, 5), bits(w, 4, 0));
    let r = permute(
        bits(w, 14, 12),
        64 << q,
        8 << size,
        vget(cpu, rn),
        vget(cpu, rm),
    );
    vset(cpu, rd, r);
}
word_helper!(h_permute, exec_permute);

pub fn lift_permute(l: &mut Lifter, w: u32) -> Lifted {
    if bits(w, 23, 22) == 3 && bit(w, 30) == 0 {
        return Err(LiftError::Undefined);
    }
    if let Some((name, f)) = super::fast::permute(w) {
        return call_word(l, name, f, w);
    }
    call_word(l, "simd_permute", h_permute, w)
}

pub fn dis_permute(w: u32, _pc: u64) -> String {
    let name = ["?", "uzp1", "trn1", "zip1", "?", "uzp2", "trn2", "zip2"][bits(w, 14, 12) as usize];
    let (q, size) = (bit(w, 30), bits(w, 23, 22));
    format!(
        "{name} {}, {}, {}",
        dis::va(bits(w, 4, 0), size, q),
        dis::va(bits(w, 9, 5), size, q),
        dis::va(bits(w, 20, 16), size, q)
    )
}

/// TBL (`tbx` false) / TBX: bytes of the `regs`-register table selected by the bytes of
/// `idx`; out-of-range indices give 0 (TBL) or keep the byte of `d` (TBX).
pub fn table(datasize: u32, tbl: &[u128], idx: u128, d: u128, tbx: bool) -> u128 {
    let mut r = 0u128;
    for i in 0..count(datasize, 8) {
        let k = get(idx, 8, i) as usize;
        let x = if k < 16 * tbl.len() {
            get(tbl[k / 16], 8, k % 16)
        } else if tbx {
            get(d, 8, i)
        } else {
            0
        };
        set(&mut r, 8, i, x);
    }
    r
}

fn exec_table(cpu: &mut Cpu, w: u32) {
    let q = bit(w, 30);
    let (rm, rn, rd) = (bits(w, 20, 16), bits(w, 9, 5), bits(w, 4, 0));
    let regs = bits(w, 14, 13) as usize + 1;
    let mut tbl = [0u128; 4];
    for (i, t) in tbl.iter_mut().enumerate().take(regs) {
        *t = vget(cpu, (rn + i as u32) % 32);
    }
    let r = table(
        64 << q,
        &tbl[..regs],
        vget(cpu, rm),
        vget(cpu, rd),
        bit(w, 12) == 1,
    );
    vset(cpu, rd, r);
}
word_helper!(h_table, exec_table);

pub fn lift_table(l: &mut Lifter, w: u32) -> Lifted {
    call_word(l, "simd_tbl", h_table, w)
}

pub fn dis_table(w: u32, _pc: u64) -> String {
    let a = if bit(w, 30) == 1 { "16b" } else { "8b" };
    format!(
        "{} {}, {}, {}",
        if bit(w, 12) == 1 { "tbx" } else { "tbl" },
        dis::v(bits(w, 4, 0), a),
        dis::list(bits(w, 9, 5), bits(w, 14, 13) + 1, "16b"),
        dis::v(bits(w, 20, 16), a)
    )
}
