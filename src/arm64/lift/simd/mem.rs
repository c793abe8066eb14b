//! Advanced SIMD structure loads and stores, except LD1/ST1 (multiple structures),
//! which `lift::simd_ldst` lifts:
//!
//! - LD2/LD3/LD4 and ST2/ST3/ST4 (multiple structures), without offset and
//!   post-indexed: loads bring the raw bytes into the destination registers with IR
//!   vector loads and then de-interleave them in place with a helper; stores ask a
//!   helper for each 8-byte chunk of the interleaved image and store it with IR stores;
//! - LD1–LD4 and ST1–ST4 (single structure, one lane) and LD1R–LD4R, entirely in IR.
//!
//! Every memory access is an IR load/store, so the environment's memory lowering (and
//! its fault reporting) applies exactly as for scalar accesses.

use super::copy::{extract, insert, replicate, write};
use super::{dis, vget, vset};
use crate::arm64::cpu::Cpu;
use crate::arm64::disas;
use crate::arm64::lift::{bit, bits, helper, Flow, LiftError, Lifted, Lifter};
use crate::ir::{Order, Val, W};

/// Base register writeback of a post-indexed form: `Rm == 31` means the immediate
/// `bytes` (the transfer size), anything else the register `Xm`.
fn writeback(l: &mut Lifter, w: u32, base: Val, bytes: u64) {
    if bit(w, 23) == 0 {
        return;
    }
    let rm = bits(w, 20, 16);
    let off = if rm == 31 { l.konst(bytes) } else { l.x(rm) };
    let nb = l.b.add(W::W64, base, off);
    l.set_xsp(W::W64, bits(w, 9, 5), nb);
}

fn addr_at(l: &mut Lifter, base: Val, off: u64) -> Val {
    if off == 0 {
        base
    } else {
        l.b.add_imm(W::W64, base, off)
    }
}

/// `, #imm` / `, xM` suffix of a post-indexed form, or nothing.
fn post_suffix(w: u32, bytes: u64) -> String {
    if bit(w, 23) == 0 {
        return String::new();
    }
    match bits(w, 20, 16) {
        31 => format!(", #{bytes}"),
        rm => format!(", {}", disas::r(rm, true)),
    }
}

// ---- multiple structures (LD2-LD4, ST2-ST4) --------------------------------------------

/// (number of structure elements, registers) for a multiple-structures opcode.
fn selem_of(opc: u32) -> u32 {
    match opc {
        0b0000 => 4,
        0b0100 => 3,
        _ => 2,
    }
}

struct Multi {
    q: u32,
    load: bool,
    selem: u32,
    size: u32,
    rt: u32,
}

impl Multi {
    fn new(w: u32) -> Multi {
        Multi {
            q: bit(w, 30),
            load: bit(w, 22) == 1,
            selem: selem_of(bits(w, 15, 12)),
            size: bits(w, 11, 10),
            rt: bits(w, 4, 0),
        }
    }
    fn datasize(&self) -> u32 {
        64 << self.q
    }
    fn esize(&self) -> u32 {
        8 << self.size
    }
    fn bytes(&self) -> u64 {
        (self.selem * self.datasize() / 8) as u64
    }
}

/// The registers `Vt..Vt+selem-1` hold the raw memory image, `datasize` bits each, in
/// order: distribute its elements (structure-major) into the registers.
pub fn deinterleave(regs: &mut [u128], datasize: u32, esize: u32) {
    match (regs.len(), esize) {
        (2, 8) => deinterleave_n::<2, 1>(regs, datasize),
        (2, 16) => deinterleave_n::<2, 2>(regs, datasize),
        (2, 32) => deinterleave_n::<2, 4>(regs, datasize),
        (2, _) => deinterleave_n::<2, 8>(regs, datasize),
        (3, 8) => deinterleave_n::<3, 1>(regs, datasize),
        (3, 16) => deinterleave_n::<3, 2>(regs, datasize),
        (3, 32) => deinterleave_n::<3, 4>(regs, datasize),
        (3, _) => deinterleave_n::<3, 8>(regs, datasize),
        (_, 8) => deinterleave_n::<4, 1>(regs, datasize),
        (_, 16) => deinterleave_n::<4, 2>(regs, datasize),
        (_, 32) => deinterleave_n::<4, 4>(regs, datasize),
        _ => deinterleave_n::<4, 8>(regs, datasize),
    }
}

fn deinterleave_n<const SELEM: usize, const EB: usize>(regs: &mut [u128], datasize: u32) {
    let rb = (datasize / 8) as usize;
    let mut raw = [0u8; 64];
    for (s, r) in regs.iter().enumerate().take(SELEM) {
        raw[s * rb..(s + 1) * rb].copy_from_slice(&r.to_le_bytes()[..rb]);
    }
    for (s, r) in regs.iter_mut().enumerate().take(SELEM) {
        let mut b = [0u8; 16];
        for e in 0..rb / EB {
            let src = (e * SELEM + s) * EB;
            b[e * EB..(e + 1) * EB].copy_from_slice(&raw[src..src + EB]);
        }
        *r = u128::from_le_bytes(b);
    }
}

/// The memory image of storing `regs` as structures: chunk `k` (8 bytes) of it.
pub fn interleaved_chunk(regs: &[u128], esize: u32, k: usize) -> u64 {
    match (regs.len(), esize) {
        (2, 8) => chunk_n::<2, 1>(regs, k),
        (2, 16) => chunk_n::<2, 2>(regs, k),
        (2, 32) => chunk_n::<2, 4>(regs, k),
        (2, _) => chunk_n::<2, 8>(regs, k),
        (3, 8) => chunk_n::<3, 1>(regs, k),
        (3, 16) => chunk_n::<3, 2>(regs, k),
        (3, 32) => chunk_n::<3, 4>(regs, k),
        (3, _) => chunk_n::<3, 8>(regs, k),
        (_, 8) => chunk_n::<4, 1>(regs, k),
        (_, 16) => chunk_n::<4, 2>(regs, k),
        (_, 32) => chunk_n::<4, 4>(regs, k),
        _ => chunk_n::<4, 8>(regs, k),
    }
}

fn chunk_n<const SELEM: usize, const EB: usize>(regs: &[u128], k: usize) -> u64 {
    let bytes: [[u8; 16]; SELEM] = std::array::from_fn(|s| regs[s].to_le_bytes());
    let mut out = [0u8; 8];
    for (i, o) in out.iter_mut().enumerate() {
        let byte = k * 8 + i;
        let (j, within) = (byte / EB, byte % EB);
        let (e, s) = (j / SELEM, j % SELEM);
        *o = bytes[s][e * EB + within];
    }
    u64::from_le_bytes(out)
}

/// `Vt..Vt+selem-1` (registers beyond `selem` are zero).
fn multi_regs(cpu: &Cpu, m: &Multi) -> [u128; 4] {
    let mut r = [0u128; 4];
    for (s, v) in r.iter_mut().enumerate().take(m.selem as usize) {
        *v = vget(cpu, (m.rt + s as u32) % 32);
    }
    r
}

unsafe extern "C" fn h_deinterleave(cpu: *mut u8, w: u64, _: u64, _: u64, _: u64) -> u64 {
    // SAFETY: generated code passes its own `Cpu` pointer as the first argument, and no
    // other reference to that `Cpu` is live during the call.
    let cpu = unsafe { &mut *(cpu as *mut Cpu) };
    let m = Multi::new(w as u32);
    let mut regs = multi_regs(cpu, &m);
    let regs = &mut regs[..m.selem as usize];
    deinterleave(regs, m.datasize(), m.esize());
    for (s, &r) in regs.iter().enumerate() {
        vset(cpu, (m.rt + s as u32) % 32, r);
    }
    0
}

unsafe extern "C" fn h_interleave(cpu: *mut u8, w: u64, k: u64, _: u64, _: u64) -> u64 {
    // SAFETY: generated code passes its own `Cpu` pointer as the first argument, and no
    // other reference to that `Cpu` is live during the call.
    let cpu = unsafe { &*(cpu as *const Cpu) };
    let m = Multi::new(w as u32);
    let regs = multi_regs(cpu, &m);
    interleaved_chunk(&regs[..m.selem as usize], m.esize(), k as usize)
}

pub fn lift_multi(l: &mut Lifter, w: u32) -> Lifted {
    let m = Multi::new(w);
    if m.size == 3 && m.q == 0 {
        return Err(LiftError::Undefined);
    }
    let base = l.xsp(bits(w, 9, 5));
    let regbytes = (m.datasize() / 8) as u8;
    if m.load {
        for s in 0..m.selem {
            let a = addr_at(l, base, (s * regbytes as u32) as u64);
            l.b.load_v(((m.rt + s) % 32) as u8, regbytes, a);
        }
        let k = l.konst(w as u64);
        l.b.call(helper("simd_ld_deinterleave", h_deinterleave), &[k]);
    } else {
        let k = l.konst(w as u64);
        for c in 0..m.bytes() / 8 {
            let ci = l.konst(c);
            let x =
                l.b.call(helper("simd_st_interleave", h_interleave), &[k, ci]);
            let a = addr_at(l, base, 8 * c);
            l.b.store(8, a, x, Order::Plain);
        }
    }
    writeback(l, w, base, m.bytes());
    Ok(Flow::Next)
}

pub fn dis_multi(w: u32, _pc: u64) -> String {
    let m = Multi::new(w);
    format!(
        "{}{} {}, [{}]{}",
        if m.load { "ld" } else { "st" },
        m.selem,
        dis::list(m.rt, m.selem, dis::arr(m.size, m.q)),
        disas::rsp(bits(w, 9, 5), true),
        post_suffix(w, m.bytes())
    )
}

// ---- single structure and replicate --------------------------------------------------------

struct Single {
    q: u32,
    load: bool,
    selem: u32,
    /// log2 of the element size in bytes.
    scale: u32,
    index: u32,
    replicate: bool,
    rt: u32,
}

fn single_fields(w: u32) -> Result<Single, LiftError> {
    let q = bit(w, 30);
    let opc = bits(w, 15, 13);
    let s = bit(w, 12);
    let size = bits(w, 11, 10);
    let selem = (((opc & 1) << 1) | bit(w, 21)) + 1;
    let (scale, index, replicate) = match opc >> 1 {
        0 => (0, (q << 3) | (s << 2) | size, false),
        1 if size & 1 == 0 => (1, (q << 2) | (s << 1) | (size >> 1), false),
        2 if size == 0 => (2, (q << 1) | s, false),
        2 if size == 1 && s == 0 => (3, q, false),
        3 if s == 0 && bit(w, 22) == 1 => (size, 0, true),
        _ => return Err(LiftError::Undefined),
    };
    Ok(Single {
        q,
        load: bit(w, 22) == 1,
        selem,
        scale,
        index,
        replicate,
        rt: bits(w, 4, 0),
    })
}

pub fn lift_single(l: &mut Lifter, w: u32) -> Lifted {
    let s = single_fields(w)?;
    let base = l.xsp(bits(w, 9, 5));
    let ebytes = 1u32 << s.scale;
    let esize = 8 * ebytes;
    for i in 0..s.selem {
        let a = addr_at(l, base, (i * ebytes) as u64);
        let t = (s.rt + i) % 32;
        if s.replicate {
            let x = l.b.load(ebytes as u8, false, a, Order::Plain);
            let r = replicate(l, x, esize);
            write(l, t, r, (s.q == 1).then_some(r));
        } else if s.load {
            let x = l.b.load(ebytes as u8, false, a, Order::Plain);
            insert(l, t, esize, s.index, x);
        } else {
            let x = extract(l, t, esize, s.index);
            l.b.store(ebytes as u8, a, x, Order::Plain);
        }
    }
    writeback(l, w, base, (s.selem * ebytes) as u64);
    Ok(Flow::Next)
}

pub fn dis_single(w: u32, _pc: u64) -> String {
    let Ok(s) = single_fields(w) else {
        return format!(".inst {w:#010x}");
    };
    let bytes = (s.selem << s.scale) as u64;
    let rn = disas::rsp(bits(w, 9, 5), true);
    let post = post_suffix(w, bytes);
    if s.replicate {
        let list = dis::list(s.rt, s.selem, dis::arr(s.scale, s.q));
        format!("ld{}r {list}, [{rn}]{post}", s.selem)
    } else {
        let list = dis::list(s.rt, s.selem, &dis::letter(s.scale).to_string());
        format!(
            "{}{} {list}[{}], [{rn}]{post}",
            if s.load { "ld" } else { "st" },
            s.selem,
            s.index
        )
    }
}
