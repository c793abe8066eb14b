//! Lifters for the ARMv8.0-A loads and stores that are not exclusive, ordered or atomic:
//! single registers in every addressing mode (unsigned scaled offset, pre/post-index,
//! unscaled LDUR/STUR, unprivileged LDTR/STTR, register offset), PC-relative literal
//! loads, register pairs (LDP/STP/LDPSW/LDNP/STNP) and their SIMD&FP forms (B/H/S/D/Q),
//! plus the prefetch hints PRFM/PRFUM (no-ops that must not fault). The exclusive,
//! acquire/release and LSE atomic groups live in `atomic.rs`.
//!
//! Lifters only build IR (plain-ordered `Load`/`Store`/`LoadV`/`StoreV`); every address
//! is a 64-bit wrapping sum, and the base register is read before any register is
//! written.
//!
//! CONSTRAINED UNPREDICTABLE choices (all as qemu-aarch64 7.2 behaves, checked with it):
//! - load with writeback and `Rt == Rn` (`ldr x1, [x1], #8`, `ldp x1, x2, [x1], #16`):
//!   the loaded value is written first, then the writeback, so `Rn` ends up holding the
//!   written-back address;
//! - store with writeback and `Rt == Rn`: the value stored is the register's value before
//!   the instruction (Arm's `Constraint_NONE`);
//! - integer `LDP`/`LDNP`/`LDPSW` with `Rt == Rt2`: the register gets the value from the
//!   lower address; SIMD&FP `LDP` with `Rt == Rt2`: it gets the value from the higher
//!   address (qemu loads the two halves in order into the registers).
//!
//! LDTR/STTR behave like LDR/STR at EL0 (all of user mode), where the unprivileged forms
//! are ordinary accesses; at EL1 they become `unpriv` loads and stores, which the memory
//! lowering checks with EL0 permissions. Prefetches emit no IR at all.

use super::{bit, bits, sext, Flow, LiftError, Lifted, Lifter};
use crate::arm64::decode::{Class, Encoding};
use crate::arm64::disas;
use crate::ir::{Order, UnOp, Val, W};

#[rustfmt::skip]
pub const ENCODINGS: &[Encoding] = &[
    // Load register (literal): bits 29:27 = 011, 25:24 = 00.
    Encoding::new("LDR (literal)", "xx011000_xxxxxxxx_xxxxxxxx_xxxxxxxx", Class::LoadStore, lift_literal, dis_literal),
    Encoding::new("LDR (literal, SIMD&FP)", "xx011100_xxxxxxxx_xxxxxxxx_xxxxxxxx", Class::LoadStore, lift_literal, dis_literal),
    // Load/store pair: bits 29:27 = 101, 25 = 0, 24:23 = addressing mode.
    Encoding::new("LDNP/STNP", "xx101000_0xxxxxxx_xxxxxxxx_xxxxxxxx", Class::LoadStore, lift_pair, dis_pair),
    Encoding::new("LDP/STP (post-index)", "xx101000_1xxxxxxx_xxxxxxxx_xxxxxxxx", Class::LoadStore, lift_pair, dis_pair),
    Encoding::new("LDP/STP (signed offset)", "xx101001_0xxxxxxx_xxxxxxxx_xxxxxxxx", Class::LoadStore, lift_pair, dis_pair),
    Encoding::new("LDP/STP (pre-index)", "xx101001_1xxxxxxx_xxxxxxxx_xxxxxxxx", Class::LoadStore, lift_pair, dis_pair),
    Encoding::new("LDNP/STNP (SIMD&FP)", "xx101100_0xxxxxxx_xxxxxxxx_xxxxxxxx", Class::LoadStore, lift_pair, dis_pair),
    Encoding::new("LDP/STP (SIMD&FP, post-index)", "xx101100_1xxxxxxx_xxxxxxxx_xxxxxxxx", Class::LoadStore, lift_pair, dis_pair),
    Encoding::new("LDP/STP (SIMD&FP, signed offset)", "xx101101_0xxxxxxx_xxxxxxxx_xxxxxxxx", Class::LoadStore, lift_pair, dis_pair),
    Encoding::new("LDP/STP (SIMD&FP, pre-index)", "xx101101_1xxxxxxx_xxxxxxxx_xxxxxxxx", Class::LoadStore, lift_pair, dis_pair),
    // Load/store register: bits 29:27 = 111, 25 = 0. With bit 24 = 0, bit 21 and
    // bits 11:10 select the form (bit 21 = 1 with 11:10 = 00 is the atomics, x1 PAuth).
    Encoding::new("LDUR/STUR", "xx111000_xx0xxxxx_xxxx00xx_xxxxxxxx", Class::LoadStore, lift_imm9, dis_imm9),
    Encoding::new("LDR/STR (immediate, post-index)", "xx111000_xx0xxxxx_xxxx01xx_xxxxxxxx", Class::LoadStore, lift_imm9, dis_imm9),
    Encoding::new("LDTR/STTR", "xx111000_xx0xxxxx_xxxx10xx_xxxxxxxx", Class::LoadStore, lift_imm9, dis_imm9),
    Encoding::new("LDR/STR (immediate, pre-index)", "xx111000_xx0xxxxx_xxxx11xx_xxxxxxxx", Class::LoadStore, lift_imm9, dis_imm9),
    Encoding::new("LDR/STR (register)", "xx111000_xx1xxxxx_xxxx10xx_xxxxxxxx", Class::LoadStore, lift_regoff, dis_regoff),
    Encoding::new("LDR/STR (unsigned immediate)", "xx111001_xxxxxxxx_xxxxxxxx_xxxxxxxx", Class::LoadStore, lift_uimm, dis_uimm),
    Encoding::new("LDUR/STUR (SIMD&FP)", "xx111100_xx0xxxxx_xxxx00xx_xxxxxxxx", Class::LoadStore, lift_imm9, dis_imm9),
    Encoding::new("LDR/STR (SIMD&FP, post-index)", "xx111100_xx0xxxxx_xxxx01xx_xxxxxxxx", Class::LoadStore, lift_imm9, dis_imm9),
    Encoding::new("LDR/STR (SIMD&FP, pre-index)", "xx111100_xx0xxxxx_xxxx11xx_xxxxxxxx", Class::LoadStore, lift_imm9, dis_imm9),
    Encoding::new("LDR/STR (SIMD&FP, register)", "xx111100_xx1xxxxx_xxxx10xx_xxxxxxxx", Class::LoadStore, lift_regoff, dis_regoff),
    Encoding::new("LDR/STR (SIMD&FP, unsigned immediate)", "xx111101_xxxxxxxx_xxxxxxxx_xxxxxxxx", Class::LoadStore, lift_uimm, dis_uimm),
];

/// What one single-register access transfers.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Xfer {
    /// Store the low `size` bytes of Xt/Wt.
    StoreX { size: u8 },
    /// Load `size` bytes, zero- or sign-extended, into Wt (`W32`) or Xt (`W64`).
    LoadX { size: u8, signed: bool, w: W },
    /// Store the low `size` bytes of Vt.
    StoreV { size: u8 },
    /// Load `size` bytes into Vt, zeroing the rest of it.
    LoadV { size: u8 },
    /// PRFM/PRFUM: a hint; no access, no fault.
    Prefetch,
}

impl Xfer {
    /// log2 of the access size (the scale of scaled offsets). A prefetch (PRFM) is
    /// scaled like a doubleword access, so 3.
    fn scale(self) -> u32 {
        match self {
            Xfer::StoreX { size }
            | Xfer::LoadX { size, .. }
            | Xfer::StoreV { size }
            | Xfer::LoadV { size } => size.trailing_zeros(),
            Xfer::Prefetch => 3,
        }
    }
}

/// Decode size (31:30), V (26) and opc (23:22) of a single-register load/store.
fn single_kind(w: u32) -> Option<Xfer> {
    let size = bits(w, 31, 30);
    let opc = bits(w, 23, 22);
    let bytes = 1u8 << size;
    if bit(w, 26) == 0 {
        Some(match (opc, size) {
            (0, _) => Xfer::StoreX { size: bytes },
            (1, _) => Xfer::LoadX {
                size: bytes,
                signed: false,
                w: if size == 3 { W::W64 } else { W::W32 },
            },
            (2, 3) => Xfer::Prefetch,
            (2, _) => Xfer::LoadX {
                size: bytes,
                signed: true,
                w: W::W64,
            },
            (3, 0 | 1) => Xfer::LoadX {
                size: bytes,
                signed: true,
                w: W::W32,
            },
            _ => return None,
        })
    } else {
        Some(match (opc, size) {
            (0, _) => Xfer::StoreV { size: bytes },
            (1, _) => Xfer::LoadV { size: bytes },
            (2, 0) => Xfer::StoreV { size: 16 },
            (3, 0) => Xfer::LoadV { size: 16 },
            _ => return None,
        })
    }
}

/// Perform one access of kind `x` on register `rt` at `addr`.
fn access(l: &mut Lifter, x: Xfer, rt: u32, addr: Val) {
    match x {
        Xfer::StoreX { size } => {
            let v = l.x(rt);
            l.b.store(size, addr, v, Order::Plain);
        }
        Xfer::LoadX { size, signed, w } => {
            let v = l.b.load(size, signed, addr, Order::Plain);
            l.set_x(w, rt, v);
        }
        Xfer::StoreV { size } => l.b.store_v(rt as u8, size, addr),
        Xfer::LoadV { size } => l.b.load_v(rt as u8, size, addr),
        Xfer::Prefetch => {}
    }
}

/// `base + off` (64-bit, wrapping); no op for a zero offset.
fn offset(l: &mut Lifter, base: Val, off: i64) -> Val {
    if off == 0 {
        base
    } else {
        l.b.add_imm(W::W64, base, off as u64)
    }
}

// ---- unsigned scaled immediate -------------------------------------------------------

fn lift_uimm(l: &mut Lifter, w: u32) -> Lifted {
    let x = single_kind(w).ok_or(LiftError::Undefined)?;
    if x == Xfer::Prefetch {
        return Ok(Flow::Next);
    }
    let off = (bits(w, 21, 10) as i64) << x.scale();
    let base = l.xsp(bits(w, 9, 5));
    let addr = offset(l, base, off);
    access(l, x, bits(w, 4, 0), addr);
    Ok(Flow::Next)
}

fn dis_uimm(w: u32, _pc: u64) -> String {
    let Some(x) = single_kind(w) else {
        return undefined(w);
    };
    let off = (bits(w, 21, 10) as i64) << x.scale();
    let base = disas::rsp(bits(w, 9, 5), true);
    let mem = if off == 0 {
        format!("[{base}]")
    } else {
        format!("[{base}, #{off}]")
    };
    format!("{} {}, {mem}", mnemonic(x, "r"), rt_name(x, w))
}

// ---- 9-bit signed immediate: unscaled, post-index, unprivileged, pre-index -------------

/// The form selected by bits 11:10 of the imm9 group.
#[derive(Clone, Copy, PartialEq)]
enum Imm9Form {
    Unscaled,
    Post,
    Unpriv,
    Pre,
}

fn imm9_form(w: u32) -> Imm9Form {
    match bits(w, 11, 10) {
        0 => Imm9Form::Unscaled,
        1 => Imm9Form::Post,
        2 => Imm9Form::Unpriv,
        _ => Imm9Form::Pre,
    }
}

/// The access an imm9-group word performs, or `None` when unallocated (prefetch is
/// only allocated in the unscaled form, PRFUM; SIMD&FP has no unprivileged form).
fn imm9_kind(w: u32) -> Option<Xfer> {
    let x = single_kind(w)?;
    let form = imm9_form(w);
    match x {
        Xfer::Prefetch if form != Imm9Form::Unscaled => None,
        Xfer::StoreV { .. } | Xfer::LoadV { .. } if form == Imm9Form::Unpriv => None,
        _ => Some(x),
    }
}

fn lift_imm9(l: &mut Lifter, w: u32) -> Lifted {
    let x = imm9_kind(w).ok_or(LiftError::Undefined)?;
    if x == Xfer::Prefetch {
        return Ok(Flow::Next);
    }
    let imm = sext(bits(w, 20, 12) as u64, 9);
    let rn = bits(w, 9, 5);
    let rt = bits(w, 4, 0);
    let base = l.xsp(rn);
    let moved = offset(l, base, imm);
    match imm9_form(w) {
        Imm9Form::Unscaled => access(l, x, rt, moved),
        // At EL0 (all of user mode) the unprivileged forms are ordinary accesses.
        Imm9Form::Unpriv if l.el() == 0 => access(l, x, rt, moved),
        Imm9Form::Unpriv => match x {
            Xfer::StoreX { size } => {
                let v = l.x(rt);
                l.b.store_unpriv(size, moved, v);
            }
            Xfer::LoadX { size, signed, w } => {
                let v = l.b.load_unpriv(size, signed, moved);
                l.set_x(w, rt, v);
            }
            // imm9_kind: no SIMD&FP or prefetch form is unprivileged.
            _ => return Err(LiftError::Undefined),
        },
        Imm9Form::Pre => {
            access(l, x, rt, moved);
            l.set_xsp(W::W64, rn, moved);
        }
        Imm9Form::Post => {
            access(l, x, rt, base);
            l.set_xsp(W::W64, rn, moved);
        }
    }
    Ok(Flow::Next)
}

fn dis_imm9(w: u32, _pc: u64) -> String {
    let Some(x) = imm9_kind(w) else {
        return undefined(w);
    };
    let imm = sext(bits(w, 20, 12) as u64, 9);
    let base = disas::rsp(bits(w, 9, 5), true);
    let form = imm9_form(w);
    let infix = match form {
        Imm9Form::Unscaled => "ur",
        Imm9Form::Unpriv => "tr",
        _ => "r",
    };
    let mem = match form {
        Imm9Form::Unscaled | Imm9Form::Unpriv if imm == 0 => format!("[{base}]"),
        Imm9Form::Unscaled | Imm9Form::Unpriv => format!("[{base}, #{imm}]"),
        Imm9Form::Pre => format!("[{base}, #{imm}]!"),
        Imm9Form::Post => format!("[{base}], #{imm}"),
    };
    format!("{} {}, {mem}", mnemonic(x, infix), rt_name(x, w))
}

// ---- register offset ---------------------------------------------------------------

fn lift_regoff(l: &mut Lifter, w: u32) -> Lifted {
    let x = single_kind(w).ok_or(LiftError::Undefined)?;
    let option = bits(w, 15, 13);
    if option & 2 == 0 {
        return Err(LiftError::Undefined);
    }
    if x == Xfer::Prefetch {
        return Ok(Flow::Next);
    }
    let shift = if bit(w, 12) == 1 { x.scale() } else { 0 };
    let base = l.xsp(bits(w, 9, 5));
    let idx = l.x(bits(w, 20, 16));
    let idx = match option {
        2 => l.b.un(UnOp::Zext32, W::W64, idx),
        6 => l.b.un(UnOp::Sext32, W::W64, idx),
        _ => idx, // 3 (LSL/UXTX), 7 (SXTX): the whole register
    };
    let idx = if shift == 0 {
        idx
    } else {
        let k = l.konst(shift as u64);
        l.b.shl(W::W64, idx, k)
    };
    let addr = l.b.add(W::W64, base, idx);
    access(l, x, bits(w, 4, 0), addr);
    Ok(Flow::Next)
}

fn dis_regoff(w: u32, _pc: u64) -> String {
    let option = bits(w, 15, 13);
    let Some(x) = single_kind(w).filter(|_| option & 2 != 0) else {
        return undefined(w);
    };
    let base = disas::rsp(bits(w, 9, 5), true);
    let idx = disas::r(bits(w, 20, 16), option & 1 == 1);
    let ext = match option {
        2 => "uxtw",
        3 => "lsl",
        6 => "sxtw",
        _ => "sxtx",
    };
    let mem = match (option, bit(w, 12)) {
        (3, 0) => format!("[{base}, {idx}]"),
        (_, 0) => format!("[{base}, {idx}, {ext}]"),
        _ => format!("[{base}, {idx}, {ext} #{}]", x.scale()),
    };
    format!("{} {}, {mem}", mnemonic(x, "r"), rt_name(x, w))
}

// ---- literal -------------------------------------------------------------------------

/// The access of a literal load (opc 31:30, V 26).
fn literal_kind(w: u32) -> Option<Xfer> {
    Some(match (bit(w, 26), bits(w, 31, 30)) {
        (0, 0) => Xfer::LoadX {
            size: 4,
            signed: false,
            w: W::W32,
        },
        (0, 1) => Xfer::LoadX {
            size: 8,
            signed: false,
            w: W::W64,
        },
        (0, 2) => Xfer::LoadX {
            size: 4,
            signed: true,
            w: W::W64,
        },
        (0, _) => Xfer::Prefetch,
        (_, 0) => Xfer::LoadV { size: 4 },
        (_, 1) => Xfer::LoadV { size: 8 },
        (_, 2) => Xfer::LoadV { size: 16 },
        _ => return None,
    })
}

fn literal_off(w: u32) -> i64 {
    sext(bits(w, 23, 5) as u64, 19) << 2
}

fn lift_literal(l: &mut Lifter, w: u32) -> Lifted {
    let x = literal_kind(w).ok_or(LiftError::Undefined)?;
    if x == Xfer::Prefetch {
        return Ok(Flow::Next);
    }
    let addr = l.konst(l.pc.wrapping_add(literal_off(w) as u64));
    access(l, x, bits(w, 4, 0), addr);
    Ok(Flow::Next)
}

fn dis_literal(w: u32, pc: u64) -> String {
    let Some(x) = literal_kind(w) else {
        return undefined(w);
    };
    let m = match x {
        Xfer::LoadX { signed: true, .. } => "ldrsw",
        Xfer::Prefetch => "prfm",
        _ => "ldr",
    };
    format!(
        "{m} {}, {}",
        rt_name(x, w),
        disas::target(pc, literal_off(w))
    )
}

// ---- pairs ---------------------------------------------------------------------------

/// The per-register access of a pair word (opc 31:30, V 26, L 22), or `None` when
/// unallocated: opc = 11; opc = 01 for the integer store (STGP, FEAT_MTE) and for the
/// integer non-temporal forms.
fn pair_kind(w: u32) -> Option<Xfer> {
    let opc = bits(w, 31, 30);
    let load = bit(w, 22) == 1;
    let no_alloc = bits(w, 24, 23) == 0;
    if bit(w, 26) == 0 {
        let (size, signed, width) = match opc {
            0 => (4, false, W::W32),
            1 if load && !no_alloc => (4, true, W::W64),
            2 => (8, false, W::W64),
            _ => return None,
        };
        Some(if load {
            Xfer::LoadX {
                size,
                signed,
                w: width,
            }
        } else {
            Xfer::StoreX { size }
        })
    } else {
        let size = match opc {
            0 => 4,
            1 => 8,
            2 => 16,
            _ => return None,
        };
        Some(if load {
            Xfer::LoadV { size }
        } else {
            Xfer::StoreV { size }
        })
    }
}

fn lift_pair(l: &mut Lifter, w: u32) -> Lifted {
    let x = pair_kind(w).ok_or(LiftError::Undefined)?;
    let mode = bits(w, 24, 23); // 0 no-allocate, 1 post, 2 offset, 3 pre
    let off = sext(bits(w, 21, 15) as u64, 7) << x.scale();
    let rt = bits(w, 4, 0);
    let rt2 = bits(w, 14, 10);
    let rn = bits(w, 9, 5);
    let base = l.xsp(rn);
    let moved = offset(l, base, off);
    let addr = if mode == 1 { base } else { moved };
    let size = 1i64 << x.scale();
    match x {
        Xfer::LoadX {
            size,
            signed,
            w: width,
        } => {
            // Both loads before any register write: a fault on the second leaves the
            // registers untouched, and `Rt == Rt2` keeps the lower value (as qemu).
            let addr2 = offset(l, addr, size as i64);
            let v1 = l.b.load(size, signed, addr, Order::Plain);
            let v2 = l.b.load(size, signed, addr2, Order::Plain);
            l.set_x(width, rt2, v2);
            l.set_x(width, rt, v1);
        }
        Xfer::StoreX { size } => {
            let addr2 = offset(l, addr, size as i64);
            let v1 = l.x(rt);
            let v2 = l.x(rt2);
            l.b.store(size, addr, v1, Order::Plain);
            l.b.store(size, addr2, v2, Order::Plain);
        }
        _ => {
            access(l, x, rt, addr);
            let addr2 = offset(l, addr, size);
            access(l, x, rt2, addr2);
        }
    }
    if mode & 1 == 1 {
        l.set_xsp(W::W64, rn, moved);
    }
    Ok(Flow::Next)
}

fn dis_pair(w: u32, _pc: u64) -> String {
    let Some(x) = pair_kind(w) else {
        return undefined(w);
    };
    let mode = bits(w, 24, 23);
    let off = sext(bits(w, 21, 15) as u64, 7) << x.scale();
    let base = disas::rsp(bits(w, 9, 5), true);
    let m = match (x, mode) {
        (Xfer::LoadX { signed: true, .. }, _) => "ldpsw",
        (Xfer::LoadX { .. } | Xfer::LoadV { .. }, 0) => "ldnp",
        (Xfer::LoadX { .. } | Xfer::LoadV { .. }, _) => "ldp",
        (_, 0) => "stnp",
        _ => "stp",
    };
    let mem = match mode {
        1 => format!("[{base}], #{off}"),
        3 => format!("[{base}, #{off}]!"),
        _ if off == 0 => format!("[{base}]"),
        _ => format!("[{base}, #{off}]"),
    };
    let rt2 = bits(w, 14, 10);
    format!(
        "{m} {}, {}, {mem}",
        reg_name(x, bits(w, 4, 0)),
        reg_name(x, rt2)
    )
}

// ---- disassembly helpers -------------------------------------------------------------

/// objdump's text for a word a row matches but the architecture leaves unallocated.
fn undefined(w: u32) -> String {
    format!(".inst {w:#010x} ; undefined")
}

/// `ld`/`st` + `infix` (`r`, `ur`, `tr`) + sign/size suffix, e.g. `ldursb`, `sttrh`.
fn mnemonic(x: Xfer, infix: &str) -> String {
    let (op, suffix) = match x {
        Xfer::Prefetch => return if infix == "ur" { "prfum" } else { "prfm" }.into(),
        Xfer::StoreV { .. } => ("st", ""),
        Xfer::LoadV { .. } => ("ld", ""),
        Xfer::StoreX { size } => ("st", size_suffix(size, false)),
        Xfer::LoadX { size, signed, .. } => ("ld", size_suffix(size, signed)),
    };
    format!("{op}{infix}{suffix}")
}

fn size_suffix(size: u8, signed: bool) -> &'static str {
    match (size, signed) {
        (1, false) => "b",
        (2, false) => "h",
        (1, true) => "sb",
        (2, true) => "sh",
        (4, true) => "sw",
        _ => "",
    }
}

/// The transfer register of a single-register word (bits 4:0).
fn rt_name(x: Xfer, w: u32) -> String {
    reg_name(x, bits(w, 4, 0))
}

fn reg_name(x: Xfer, r: u32) -> String {
    match x {
        Xfer::StoreX { size } => disas::r(r, size == 8),
        Xfer::LoadX { w, .. } => disas::r(r, w == W::W64),
        Xfer::StoreV { size } | Xfer::LoadV { size } => {
            let c = match size {
                1 => 'b',
                2 => 'h',
                4 => 's',
                8 => 'd',
                _ => 'q',
            };
            format!("{c}{r}")
        }
        Xfer::Prefetch => prfop(r),
    }
}

/// The prefetch operation name (`pldl1keep`…) or `#0x..` when it has none.
fn prfop(r: u32) -> String {
    let ty = match r >> 3 {
        0 => "pld",
        1 => "pli",
        2 => "pst",
        _ => return format!("#{r:#04x}"),
    };
    let target = match (r >> 1) & 3 {
        0 => "l1",
        1 => "l2",
        2 => "l3",
        _ => return format!("#{r:#04x}"),
    };
    let policy = if r & 1 == 0 { "keep" } else { "strm" };
    format!("{ty}{target}{policy}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arm64::cpu::{Cpu, VReg};
    use crate::arm64::decode;
    use crate::engine::testing::{run, run_ok, CODE_BASE};
    use crate::engine::Exit;

    /// A 16-byte aligned scratch buffer.
    #[repr(C, align(16))]
    struct Buf([u8; 128]);

    impl Buf {
        fn new() -> Box<Buf> {
            let mut b = Box::new(Buf([0; 128]));
            for (i, v) in b.0.iter_mut().enumerate() {
                *v = i as u8;
            }
            b
        }
        fn addr(&mut self, off: usize) -> u64 {
            self.0.as_mut_ptr() as u64 + off as u64
        }
        fn u64(&self, off: usize) -> u64 {
            u64::from_le_bytes(self.0[off..off + 8].try_into().unwrap())
        }
        fn set_u64(&mut self, off: usize, v: u64) {
            self.0[off..off + 8].copy_from_slice(&v.to_le_bytes());
        }
    }

    #[test]
    fn unsigned_offset_int() {
        let mut b = Buf::new();
        let mut cpu = Cpu::new();
        cpu.x[0] = 0x1122_3344_5566_7788;
        cpu.x[1] = b.addr(0);
        run_ok(
            &[
                0xf9000420, // str x0, [x1, #8]
                0xf9400422, // ldr x2, [x1, #8]
            ],
            &mut cpu,
        );
        assert_eq!(b.u64(8), 0x1122_3344_5566_7788);
        assert_eq!(cpu.x[2], 0x1122_3344_5566_7788);
        assert_eq!(cpu.x[1], b.addr(0));

        let mut b = Buf::new();
        let mut cpu = Cpu::new();
        cpu.x[0] = 0xffff_ffff_8899_aabb;
        cpu.x[1] = b.addr(0);
        cpu.x[3] = u64::MAX;
        cpu.x[4] = u64::MAX;
        cpu.x[5] = u64::MAX;
        run_ok(
            &[
                0x39000420, // strb w0, [x1, #1]
                0x79000420, // strh w0, [x1, #2]
                0xb9000420, // str w0, [x1, #4]
                0x39400423, // ldrb w3, [x1, #1]
                0x79400424, // ldrh w4, [x1, #2]
                0xb9400425, // ldr w5, [x1, #4]
            ],
            &mut cpu,
        );
        assert_eq!(b.u64(0), 0x8899_aabb_aabb_bb00);
        assert_eq!(b.0[8], 8, "stores wrote past their size");
        assert_eq!(cpu.x[3], 0xbb);
        assert_eq!(cpu.x[4], 0xaabb);
        assert_eq!(cpu.x[5], 0x8899_aabb);
    }

    #[test]
    fn sign_extension() {
        let words = [
            0x39c00020, // ldrsb w0, [x1]
            0x39800022, // ldrsb x2, [x1]
            0x79c00423, // ldrsh w3, [x1, #2]
            0x79800424, // ldrsh x4, [x1, #2]
            0xb9800425, // ldrsw x5, [x1, #4]
        ];
        let mut b = Buf::new();
        b.set_u64(0, 0x8000_0001_8001_0080);
        let mut cpu = Cpu::new();
        cpu.x[1] = b.addr(0);
        run_ok(&words, &mut cpu);
        assert_eq!(cpu.x[0], 0xffff_ff80);
        assert_eq!(cpu.x[2], 0xffff_ffff_ffff_ff80);
        assert_eq!(cpu.x[3], 0xffff_8001);
        assert_eq!(cpu.x[4], 0xffff_ffff_ffff_8001);
        assert_eq!(cpu.x[5], 0xffff_ffff_8000_0001);

        // Positive values: no extension, and W destinations clear the top half.
        b.set_u64(0, 0x7fff_fffe_7ffe_007f);
        let mut cpu = Cpu::new();
        cpu.x = [u64::MAX; 32];
        cpu.x[1] = b.addr(0);
        run_ok(&words, &mut cpu);
        assert_eq!(cpu.x[0], 0x7f);
        assert_eq!(cpu.x[2], 0x7f);
        assert_eq!(cpu.x[3], 0x7ffe);
        assert_eq!(cpu.x[4], 0x7ffe);
        assert_eq!(cpu.x[5], 0x7fff_fffe);
    }

    #[test]
    fn pre_and_post_index() {
        let mut b = Buf::new();
        let mut cpu = Cpu::new();
        cpu.x[1] = b.addr(0);
        cpu.x[3] = b.addr(16);
        cpu.x[4] = b.addr(32);
        cpu.x[6] = b.addr(2);
        cpu.v[0] = VReg([0x0101_0101_0101_0101, 0x0202_0202_0202_0202]);
        b.0[0] = 0xfe;
        b.0[1] = 0xff;
        run_ok(
            &[
                0xf8408c20, // ldr x0, [x1, #8]!
                0xf85f8462, // ldr x2, [x3], #-8
                0x3c810480, // str q0, [x4], #16
                0x78dfecc5, // ldrsh w5, [x6, #-2]!
            ],
            &mut cpu,
        );
        assert_eq!(cpu.x[0], 0x0f0e_0d0c_0b0a_0908);
        assert_eq!(cpu.x[1], b.addr(8));
        assert_eq!(cpu.x[2], 0x1716_1514_1312_1110);
        assert_eq!(cpu.x[3], b.addr(8));
        assert_eq!(b.u64(32), 0x0101_0101_0101_0101);
        assert_eq!(b.u64(40), 0x0202_0202_0202_0202);
        assert_eq!(cpu.x[4], b.addr(48));
        assert_eq!(cpu.x[5], 0xffff_fffe);
        assert_eq!(cpu.x[6], b.addr(0));
    }

    /// The CONSTRAINED UNPREDICTABLE overlaps, resolved as qemu-aarch64 does.
    #[test]
    fn writeback_overlap() {
        let mut b = Buf::new();
        let mut cpu = Cpu::new();
        cpu.x[1] = b.addr(0);
        run_ok(&[0xf8408421], &mut cpu); // ldr x1, [x1], #8
        assert_eq!(cpu.x[1], b.addr(8));

        let mut cpu = Cpu::new();
        cpu.x[1] = b.addr(16);
        run_ok(&[0xf8008421], &mut cpu); // str x1, [x1], #8
        assert_eq!(b.u64(16), b.addr(16));
        assert_eq!(cpu.x[1], b.addr(24));

        let mut cpu = Cpu::new();
        cpu.x[1] = b.addr(64);
        cpu.x[2] = 0x2222;
        run_ok(&[0xa9bf0821], &mut cpu); // stp x1, x2, [x1, #-16]!
        assert_eq!(b.u64(48), b.addr(64));
        assert_eq!(b.u64(56), 0x2222);
        assert_eq!(cpu.x[1], b.addr(48));

        let mut b = Buf::new();
        let mut cpu = Cpu::new();
        cpu.x[1] = b.addr(0);
        run_ok(&[0xa8c10821], &mut cpu); // ldp x1, x2, [x1], #16
        assert_eq!(cpu.x[1], b.addr(16));
        assert_eq!(cpu.x[2], b.u64(8));

        let mut cpu = Cpu::new();
        cpu.x[1] = b.addr(0);
        run_ok(&[0xa9400020], &mut cpu); // ldp x0, x0, [x1]
        assert_eq!(cpu.x[0], b.u64(0));

        let mut cpu = Cpu::new();
        cpu.x[1] = b.addr(0);
        run_ok(&[0xad400020], &mut cpu); // ldp q0, q0, [x1]
        assert_eq!(cpu.v[0], VReg([b.u64(16), b.u64(24)]));
    }

    #[test]
    fn unscaled_and_unprivileged() {
        let mut b = Buf::new();
        let mut cpu = Cpu::new();
        cpu.x[1] = b.addr(8);
        cpu.x[2] = 0xdead_beef_cafe_f00d;
        run_ok(
            &[
                0xf85ff020, // ldur x0, [x1, #-1]
                0xb8003022, // stur w2, [x1, #3]
                0x38dff023, // ldursb w3, [x1, #-1]
                0x78801024, // ldursh x4, [x1, #1]
            ],
            &mut cpu,
        );
        assert_eq!(cpu.x[0], 0x0e0d_0c0b_0a09_0807);
        assert_eq!(&b.0[11..15], &[0x0d, 0xf0, 0xfe, 0xca]);
        assert_eq!(b.0[15], 15);
        assert_eq!(cpu.x[3], 7);
        assert_eq!(cpu.x[4], 0x0a09);
        assert_eq!(cpu.x[1], b.addr(8));

        let mut b = Buf::new();
        b.set_u64(8, 0x8765_4321_0000_0000);
        let mut cpu = Cpu::new();
        cpu.x[1] = b.addr(4);
        cpu.x[2] = 0x1ff;
        run_ok(
            &[
                0xf8408820, // ldtr x0, [x1, #8]
                0x38001822, // sttrb w2, [x1, #1]
                0xb8808823, // ldtrsw x3, [x1, #8]
            ],
            &mut cpu,
        );
        assert_eq!(cpu.x[0], 0x1312_1110_8765_4321);
        assert_eq!(&b.0[4..7], &[4, 0xff, 6]);
        assert_eq!(cpu.x[3], 0xffff_ffff_8765_4321);
        assert_eq!(cpu.x[1], b.addr(4));
    }

    #[test]
    fn register_offset() {
        let mut b = Buf::new();
        let mut cpu = Cpu::new();
        cpu.x[1] = b.addr(64);
        cpu.x[2] = 0x1234_5678_ffff_ffff; // as W: -1
        cpu.x[5] = 0xffff_ffff_0000_0003; // as W: 3
        cpu.x[7] = (-3i64) as u64;
        cpu.x[9] = 0x5555_6666_7777_8888;
        cpu.x[10] = (-64i64) as u64;
        cpu.x[12] = 5;
        run_ok(
            &[
                0xf862d823, // ldr x3, [x1, w2, sxtw #3]
                0xb8655824, // ldr w4, [x1, w5, uxtw #2]
                0x3867e826, // ldrb w6, [x1, x7, sxtx]
                0x7867f828, // ldrh w8, [x1, x7, sxtx #1]
                0xf82a6829, // str x9, [x1, x10]
                0x386c782b, // ldrb w11, [x1, x12, lsl #0]
            ],
            &mut cpu,
        );
        assert_eq!(cpu.x[3], 0x3f3e_3d3c_3b3a_3938);
        assert_eq!(cpu.x[4], 0x4f4e_4d4c);
        assert_eq!(cpu.x[6], 61);
        assert_eq!(cpu.x[8], 0x3b3a);
        assert_eq!(b.u64(0), 0x5555_6666_7777_8888);
        assert_eq!(cpu.x[11], 69);

        let mut cpu = Cpu::new();
        cpu.x[1] = b.addr(0);
        cpu.x[2] = 2;
        run_ok(&[0xf8627820], &mut cpu); // ldr x0, [x1, x2, lsl #3]
        assert_eq!(cpu.x[0], b.u64(16));
    }

    #[test]
    fn register_offset_bad_option_is_undefined() {
        for word in [
            0xf8620820u32, // ldr x0, [x1, w2, uxtb]: option 000
            0xf8623820,    // option 001
            0xf862a820,    // option 101
            0x3c62a820,    // SIMD&FP, option 101
            0xf8a20820,    // PRFM, option 000
        ] {
            let mut cpu = Cpu::new();
            assert_eq!(run(&[word], &mut cpu), Exit::Undefined(word), "{word:#x}");
            assert_eq!(cpu.pc, CODE_BASE);
        }
    }

    #[test]
    fn unallocated_single_forms() {
        for word in [
            0xb9c00020u32, // size=10 opc=11 (unsigned offset)
            0xf9c00020,    // size=11 opc=11
            0x7dc00020,    // SIMD&FP, size=01 opc=11
            0xf8800c20,    // prefetch, pre-index
            0xf8808420,    // prefetch, post-index
            0xf8800820,    // prefetch, unprivileged
            0x3c400820,    // SIMD&FP unprivileged: not even a row
            0xf8e26820,    // size=11 opc=11, register
        ] {
            let mut cpu = Cpu::new();
            assert_eq!(run(&[word], &mut cpu), Exit::Undefined(word), "{word:#x}");
        }
    }

    #[test]
    fn prefetch_never_faults() {
        let mut cpu = Cpu::new();
        cpu.x[1] = 8; // unmapped
        cpu.x[2] = 0x4000_0000;
        run_ok(
            &[
                0xf9800020, // prfm pldl1keep, [x1]
                0xf89fd033, // prfum pstl2strm, [x1, #-3]
                0xf8a27824, // prfm pldl3keep, [x1, x2, lsl #3]
                0xd8000000, // prfm pldl1keep, <here>
            ],
            &mut cpu,
        );
        assert_eq!(cpu.x[1], 8);
    }

    #[test]
    fn int_pairs() {
        let mut b = Buf::new();
        let mut cpu = Cpu::new();
        cpu.x[1] = b.addr(0);
        cpu.x[3] = 0x3333;
        cpu.x[4] = 0x4444_0000_0000_4444;
        cpu.x[5] = u64::MAX;
        cpu.x[6] = u64::MAX;
        run_ok(
            &[
                0xa9400820, // ldp x0, x2, [x1]
                0xa9011023, // stp x3, x4, [x1, #16]
                0x29441825, // ldp w5, w6, [x1, #32]
            ],
            &mut cpu,
        );
        assert_eq!(cpu.x[0], 0x0706_0504_0302_0100);
        assert_eq!(cpu.x[2], 0x0f0e_0d0c_0b0a_0908);
        assert_eq!(b.u64(16), 0x3333);
        assert_eq!(b.u64(24), 0x4444_0000_0000_4444);
        assert_eq!(cpu.x[5], 0x2322_2120);
        assert_eq!(cpu.x[6], 0x2726_2524);

        let mut b = Buf::new();
        b.0[88..92].copy_from_slice(&0x8000_0000u32.to_le_bytes());
        let mut cpu = Cpu::new();
        cpu.x[1] = b.addr(64);
        cpu.x[7] = 0xaaaa_aaaa_1111_1111;
        cpu.x[8] = 0x2222_2222;
        cpu.x[13] = 13;
        cpu.x[14] = 14;
        run_ok(
            &[
                0x29bf2027, // stp w7, w8, [x1, #-8]!
                0xa8c1a829, // ldp x9, x10, [x1], #24
                0x6940b02b, // ldpsw x11, x12, [x1, #4]
                0xa801382d, // stnp x13, x14, [x1, #16]
                0x2840402f, // ldnp w15, w16, [x1]
            ],
            &mut cpu,
        );
        assert_eq!(b.u64(56), 0x2222_2222_1111_1111);
        assert_eq!(cpu.x[9], 0x2222_2222_1111_1111);
        assert_eq!(cpu.x[10], 0x4746_4544_4342_4140);
        assert_eq!(cpu.x[1], b.addr(80));
        assert_eq!(cpu.x[11], 0x5756_5554);
        assert_eq!(cpu.x[12], 0xffff_ffff_8000_0000);
        assert_eq!(b.u64(96), 13);
        assert_eq!(b.u64(104), 14);
        assert_eq!(cpu.x[15], 0x5352_5150);
        assert_eq!(cpu.x[16], 0x5756_5554);
    }

    #[test]
    fn frame_push_pop() {
        let mut b = Buf::new();
        let mut cpu = Cpu::new();
        cpu.x[31] = b.addr(64);
        cpu.x[29] = 0x2929;
        cpu.x[30] = 0x3030;
        run_ok(&[0xa9bf7bfd], &mut cpu); // stp x29, x30, [sp, #-16]!
        assert_eq!(cpu.x[31], b.addr(48));
        assert_eq!((b.u64(48), b.u64(56)), (0x2929, 0x3030));
        cpu.x[29] = 0;
        cpu.x[30] = 0;
        run_ok(&[0xa8c17bfd], &mut cpu); // ldp x29, x30, [sp], #16
        assert_eq!(
            (cpu.x[29], cpu.x[30], cpu.x[31]),
            (0x2929, 0x3030, b.addr(64))
        );
    }

    #[test]
    fn unallocated_pairs() {
        for word in [
            0xe9400440u32, // opc=11 ldp
            0xec400440,    // SIMD&FP opc=11
            0x69000440,    // opc=01 store (STGP, not implemented)
            0x68400440,    // LDPSW form with no-allocate
            0x68000440,    // opc=01 stnp
        ] {
            let mut cpu = Cpu::new();
            assert_eq!(run(&[word], &mut cpu), Exit::Undefined(word), "{word:#x}");
        }
    }

    #[test]
    fn simd_single() {
        let mut b = Buf::new();
        let mut cpu = Cpu::new();
        cpu.x[1] = b.addr(0);
        for r in 0..5 {
            cpu.v[r] = VReg([u64::MAX, u64::MAX]);
        }
        run_ok(
            &[
                0x3d400420, // ldr b0, [x1, #1]
                0x7d400421, // ldr h1, [x1, #2]
                0xbd400422, // ldr s2, [x1, #4]
                0xfd400423, // ldr d3, [x1, #8]
                0x3dc00424, // ldr q4, [x1, #16]
            ],
            &mut cpu,
        );
        assert_eq!(cpu.v[0], VReg([0x01, 0]));
        assert_eq!(cpu.v[1], VReg([0x0302, 0]));
        assert_eq!(cpu.v[2], VReg([0x0706_0504, 0]));
        assert_eq!(cpu.v[3], VReg([0x0f0e_0d0c_0b0a_0908, 0]));
        assert_eq!(
            cpu.v[4],
            VReg([0x1716_1514_1312_1110, 0x1f1e_1d1c_1b1a_1918])
        );

        let mut b = Buf([0; 128]);
        let mut cpu = Cpu::new();
        cpu.x[1] = b.addr(0);
        for r in 5..10 {
            cpu.v[r] = VReg([0x8877_6655_4433_2211, 0xffee_ddcc_bbaa_9900]);
        }
        run_ok(
            &[
                0x3d000425, // str b5, [x1, #1]
                0x7d000426, // str h6, [x1, #2]
                0xbd000427, // str s7, [x1, #4]
                0xfd000428, // str d8, [x1, #8]
                0x3d800429, // str q9, [x1, #16]
            ],
            &mut cpu,
        );
        assert_eq!(b.u64(0), 0x4433_2211_2211_1100);
        assert_eq!(b.u64(8), 0x8877_6655_4433_2211);
        assert_eq!(b.u64(16), 0x8877_6655_4433_2211);
        assert_eq!(b.u64(24), 0xffee_ddcc_bbaa_9900);
        assert_eq!(b.u64(32), 0);

        let mut b = Buf::new();
        let mut cpu = Cpu::new();
        cpu.x[1] = b.addr(32);
        cpu.x[2] = (-2i64) as u64;
        cpu.v[13] = VReg([u64::MAX, u64::MAX]);
        run_ok(
            &[
                0x3ce2782a, // ldr q10, [x1, x2, lsl #4]
                0xfc5fd02b, // ldur d11, [x1, #-3]
                0xbc404c2c, // ldr s12, [x1, #4]!
                0x3c62c82d, // ldr b13, [x1, w2, sxtw]
            ],
            &mut cpu,
        );
        assert_eq!(
            cpu.v[10],
            VReg([0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908])
        );
        assert_eq!(cpu.v[11], VReg([0x2423_2221_201f_1e1d, 0]));
        assert_eq!(cpu.v[12], VReg([0x2726_2524, 0]));
        assert_eq!(cpu.x[1], b.addr(36));
        assert_eq!(cpu.v[13], VReg([34, 0]));
    }

    #[test]
    fn simd_pairs() {
        let mut b = Buf::new();
        let mut cpu = Cpu::new();
        cpu.x[1] = b.addr(0);
        cpu.v[2] = VReg([0x2020, 0x2121]);
        cpu.v[3] = VReg([0x3030, 0x3131]);
        run_ok(
            &[
                0xad400420, // ldp q0, q1, [x1]
                0xad810c22, // stp q2, q3, [x1, #32]!
            ],
            &mut cpu,
        );
        assert_eq!(cpu.v[0], VReg([b.u64(0), b.u64(8)]));
        assert_eq!(cpu.v[1], VReg([0x1716_1514_1312_1110, b.u64(24)]));
        assert_eq!(cpu.x[1], b.addr(32));
        assert_eq!(
            [b.u64(32), b.u64(40), b.u64(48), b.u64(56)],
            [0x2020, 0x2121, 0x3030, 0x3131]
        );

        let mut b = Buf::new();
        let mut cpu = Cpu::new();
        cpu.x[1] = b.addr(32);
        cpu.v[4] = VReg([1, 1]);
        cpu.v[5] = VReg([1, 1]);
        cpu.v[6] = VReg([0xaaaa_aaaa_6666_6666, 9]);
        cpu.v[7] = VReg([0xbbbb_bbbb_7777_7777, 9]);
        run_ok(
            &[
                0x6cff1424, // ldp d4, d5, [x1], #-16
                0x2c011c26, // stnp s6, s7, [x1, #8]
                0xac412428, // ldnp q8, q9, [x1, #32]
            ],
            &mut cpu,
        );
        assert_eq!(cpu.v[4], VReg([0x2726_2524_2322_2120, 0]));
        assert_eq!(cpu.v[5], VReg([0x2f2e_2d2c_2b2a_2928, 0]));
        assert_eq!(cpu.x[1], b.addr(16));
        assert_eq!(b.u64(24), 0x7777_7777_6666_6666);
        assert_eq!(b.u64(32), 0x2726_2524_2322_2120);
        assert_eq!(cpu.v[8], VReg([b.u64(48), b.u64(56)]));
        assert_eq!(cpu.v[9], VReg([b.u64(64), b.u64(72)]));
    }

    /// Map one page at a fixed low address (within literal range of [`CODE_BASE`]),
    /// or `None` when the host does not let us (then the caller skips, saying so).
    fn map_fixed(addr: u64) -> Option<&'static mut [u8]> {
        // SAFETY: MAP_FIXED_NOREPLACE never replaces an existing mapping; on success the
        // page is ours until `unmap`.
        let p = unsafe {
            libc::mmap(
                addr as *mut libc::c_void,
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return None;
        }
        if p as u64 != addr {
            // Old kernels treat the flag as a hint.
            // SAFETY: `p` is the page just mapped.
            unsafe { libc::munmap(p, 4096) };
            return None;
        }
        // SAFETY: the page is mapped read/write, 4096 bytes, and exclusively ours.
        Some(unsafe { std::slice::from_raw_parts_mut(p as *mut u8, 4096) })
    }

    fn unmap(page: &'static mut [u8]) {
        // SAFETY: `page` came from `map_fixed`; nothing uses it afterwards.
        unsafe { libc::munmap(page.as_mut_ptr() as *mut libc::c_void, 4096) };
    }

    /// A literal-load word `base | imm19 | rt` for the instruction at index `i` of a test
    /// (address `CODE_BASE + 4 * i`) loading from `target`.
    fn lit(base: u32, i: u64, target: u64, rt: u32) -> u32 {
        let off = target.wrapping_sub(CODE_BASE + 4 * i) as i64;
        assert!(off % 4 == 0 && (-(1 << 20)..1 << 20).contains(&off));
        base | ((((off >> 2) as u32) & 0x7ffff) << 5) | rt
    }

    #[test]
    fn literal_encoding_helper_matches_assembler() {
        // From aarch64-linux-gnu-as: `ldr x0, l` 0x100 bytes before l is 0x58000800.
        assert_eq!(lit(0x5800_0000, 0, CODE_BASE + 0x100, 0), 0x5800_0800);
        // `ldrsw x0, l` 8 bytes after l is 0x98ffffc0.
        assert_eq!(lit(0x9800_0000, 2, CODE_BASE, 0), 0x98ff_ffc0);
    }

    #[test]
    fn literal_loads() {
        // Data one page above the code (positive offsets) and one below (negative).
        const ABOVE: u64 = CODE_BASE + 0xc_0000;
        const BELOW: u64 = CODE_BASE - 0x1_0000;
        let (Some(hi), Some(lo)) = (map_fixed(ABOVE), map_fixed(BELOW)) else {
            eprintln!("literal_loads: cannot map low pages near CODE_BASE, skipped");
            return;
        };
        for (i, b) in hi.iter_mut().enumerate() {
            *b = 0x80 | i as u8;
        }
        for (i, b) in lo.iter_mut().enumerate() {
            *b = i as u8;
        }
        let words = [
            lit(0x5800_0000, 0, ABOVE + 8, 0),  // ldr x0, =ABOVE+8
            lit(0x1800_0000, 1, ABOVE + 16, 1), // ldr w1, =ABOVE+16
            lit(0x9800_0000, 2, ABOVE + 20, 2), // ldrsw x2, =ABOVE+20
            lit(0x5800_0000, 3, BELOW + 32, 3), // ldr x3, =BELOW+32
            lit(0x9800_0000, 4, BELOW + 4, 4),  // ldrsw x4, =BELOW+4
            lit(0x1c00_0000, 5, ABOVE + 4, 5),  // ldr s5, =ABOVE+4
            lit(0x5c00_0000, 6, BELOW + 8, 6),  // ldr d6, =BELOW+8
            lit(0x9c00_0000, 7, ABOVE + 48, 7), // ldr q7, =ABOVE+48
            lit(0xd800_0000, 8, ABOVE + 64, 0), // prfm pldl1keep, =ABOVE+64
        ];
        let mut cpu = Cpu::new();
        cpu.x[1] = u64::MAX;
        for r in 5..8 {
            cpu.v[r] = VReg([u64::MAX, u64::MAX]);
        }
        run_ok(&words, &mut cpu);
        let le = |p: &[u8], o: usize| u64::from_le_bytes(p[o..o + 8].try_into().unwrap());
        assert_eq!(cpu.x[0], le(hi, 8));
        assert_eq!(cpu.x[1], le(hi, 16) & 0xffff_ffff);
        assert_eq!(cpu.x[2], (le(hi, 20) as i32) as i64 as u64);
        assert!(cpu.x[2] >> 63 == 1);
        assert_eq!(cpu.x[3], le(lo, 32));
        assert_eq!(cpu.x[4], le(lo, 4) & 0xffff_ffff);
        assert_eq!(cpu.v[5], VReg([le(hi, 4) & 0xffff_ffff, 0]));
        assert_eq!(cpu.v[6], VReg([le(lo, 8), 0]));
        assert_eq!(cpu.v[7], VReg([le(hi, 48), le(hi, 56)]));
        unmap(hi);
        unmap(lo);
    }

    #[test]
    fn literal_undefined() {
        let word = 0xdc00_0000; // opc=11 V=1
        let mut cpu = Cpu::new();
        assert_eq!(run(&[word], &mut cpu), Exit::Undefined(word));
    }

    /// Words from the exclusive/ordered, atomic and PAuth groups are not ours.
    #[test]
    fn rows_leave_other_groups_alone() {
        for word in [
            0xc85f7c20u32, // ldxr x0, [x1]
            0xc8dffc20,    // ldar x0, [x1]
            0xc89ffc20,    // stlr x0, [x1]
            0x887f0440,    // ldxp w0, w1, [x2]
            0xf8200020,    // ldadd x0, x0, [x1]
            0xf8bfc020,    // ldapr x0, [x1]
            0xf8208020,    // swp x0, x0, [x1]
            0xf8200420,    // ldraa x0, [x1]
            0xf8200c20,    // ldraa x0, [x1]!
        ] {
            assert!(
                !ENCODINGS.iter().any(|e| e.matches(word)),
                "{word:#x} matched a load/store row"
            );
        }
    }

    #[test]
    fn disassembly_matches_objdump() {
        let cases: &[(u32, &str)] = &[
            (0xf9400020, "ldr x0, [x1]"),
            (0xb94fffe0, "ldr w0, [sp, #4092]"),
            (0x39c00020, "ldrsb w0, [x1]"),
            (0x39800c20, "ldrsb x0, [x1, #3]"),
            (0x79c00420, "ldrsh w0, [x1, #2]"),
            (0xb9800420, "ldrsw x0, [x1, #4]"),
            (0x3900003f, "strb wzr, [x1]"),
            (0x3d800420, "str q0, [x1, #16]"),
            (0x7d400420, "ldr h0, [x1, #2]"),
            (0xf9800433, "prfm pstl2strm, [x1, #8]"),
            (0xf9800038, "prfm #0x18, [x1]"),
            (0xf9800026, "prfm #0x06, [x1]"),
            (0xf8408c20, "ldr x0, [x1, #8]!"),
            (0xf85f8420, "ldr x0, [x1], #-8"),
            (0xf8500c20, "ldr x0, [x1, #-256]!"),
            (0x3c810400, "str q0, [x0], #16"),
            (0xf8400c20, "ldr x0, [x1, #0]!"),
            (0xf8400420, "ldr x0, [x1], #0"),
            (0xf8400020, "ldur x0, [x1]"),
            (0x38dff020, "ldursb w0, [x1, #-1]"),
            (0xf89ff020, "prfum pldl1keep, [x1, #-1]"),
            (0xf85f8820, "ldtr x0, [x1, #-8]"),
            (0x38001820, "sttrb w0, [x1, #1]"),
            (0xb8804820, "ldtrsw x0, [x1, #4]"),
            (0xf8626820, "ldr x0, [x1, x2]"),
            (0xf8627820, "ldr x0, [x1, x2, lsl #3]"),
            (0xf8624820, "ldr x0, [x1, w2, uxtw]"),
            (0xf862d820, "ldr x0, [x1, w2, sxtw #3]"),
            (0xf862e820, "ldr x0, [x1, x2, sxtx]"),
            (0x38627820, "ldrb w0, [x1, x2, lsl #0]"),
            (0x3862d820, "ldrb w0, [x1, w2, sxtw #0]"),
            (0x3ce27820, "ldr q0, [x1, x2, lsl #4]"),
            (0x3c626820, "ldr b0, [x1, x2]"),
            (0xf8a27820, "prfm pldl1keep, [x1, x2, lsl #3]"),
            (0xf87f6be0, "ldr x0, [sp, xzr]"),
            (0xf87f4820, "ldr x0, [x1, wzr, uxtw]"),
            (0xf8620820, ".inst 0xf8620820 ; undefined"),
            (0xa9400440, "ldp x0, x1, [x2]"),
            (0xa9c10440, "ldp x0, x1, [x2, #16]!"),
            (0xa8ff0440, "ldp x0, x1, [x2], #-16"),
            (0x297f07e0, "ldp w0, w1, [sp, #-8]"),
            (0x69410440, "ldpsw x0, x1, [x2, #8]"),
            (0xa9bf7bfd, "stp x29, x30, [sp, #-16]!"),
            (0xa8410440, "ldnp x0, x1, [x2, #16]"),
            (0x28000440, "stnp w0, w1, [x2]"),
            (0xa9c00440, "ldp x0, x1, [x2, #0]!"),
            (0xa94007ff, "ldp xzr, x1, [sp]"),
            (0xadc10420, "ldp q0, q1, [x1, #32]!"),
            (0x6c810420, "stp d0, d1, [x1], #16"),
            (0x2c7f0420, "ldnp s0, s1, [x1, #-8]"),
            (0xac1f8420, "stnp q0, q1, [x1, #1008]"),
            (0x68400440, ".inst 0x68400440 ; undefined"),
            (0xf97ffc20, "ldr x0, [x1, #32760]"),
            (0x78c00c20, "ldrsh w0, [x1, #0]!"),
        ];
        for &(word, want) in cases {
            assert_eq!(decode::disassemble(word, 0), want, "{word:#010x}");
        }
        // Literal forms: objdump prints `ldr x0, 100 <l>`; we print the address.
        assert_eq!(decode::disassemble(0x5800_0000, 0x100), "ldr x0, 0x100");
        assert_eq!(decode::disassemble(0x18ff_ffe0, 0x104), "ldr w0, 0x100");
        assert_eq!(decode::disassemble(0x98ff_ffc0, 0x108), "ldrsw x0, 0x100");
        assert_eq!(
            decode::disassemble(0xd8ff_ffa0, 0x10c),
            "prfm pldl1keep, 0x100"
        );
        assert_eq!(decode::disassemble(0x1cff_ff80, 0x110), "ldr s0, 0x100");
        assert_eq!(decode::disassemble(0x5cff_ff60, 0x114), "ldr d0, 0x100");
        assert_eq!(decode::disassemble(0x9cff_ff40, 0x118), "ldr q0, 0x100");
    }
}
