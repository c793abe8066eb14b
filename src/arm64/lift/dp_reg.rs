//! Lifters for the A64 "Data Processing -- Register" group (ARMv8.0-A plus FEAT_CRC32):
//! logical and add/sub with a shifted register, add/sub with an extended register,
//! ADC/SBC(S), conditional compare (register and immediate), conditional select,
//! the 1-source ops (RBIT, REV16, REV, REV32, CLZ, CLS), the 2-source ops (UDIV, SDIV,
//! LSLV, LSRV, ASRV, RORV, CRC32*/CRC32C*) and the 3-source multiplies (MADD, MSUB,
//! SMADDL, SMSUBL, UMADDL, UMSUBL, SMULH, UMULH).
//!
//! Everything is plain IR except CRC32, which calls a pure helper (a table-driven
//! software CRC; CRC32C uses the host's SSE4.2 `crc32` instruction when present).
//! Operations whose operands are known at lift time (XZR operands, zero shift amounts)
//! are folded here, so aliases such as MOV, MVN, NEG, MUL or CSET cost no extra IR.
//! Later extensions of the group (FEAT_FlagM RMIF/SETF, FEAT_PAuth, FEAT_MTE, FEAT_CSSC)
//! are not in the table and decode as undefined.

use super::{bit, bits, pure_helper, Flow, LiftError, Lifted, Lifter};
use crate::arm64::decode::{Class, Encoding};
use crate::arm64::disas;
use crate::ir::{eval_bin, eval_un, BinOp, FlagOp, Helper, UnOp, Val, W};

const C: Class = Class::DpReg;

#[rustfmt::skip]
pub const ENCODINGS: &[Encoding] = &[
    // Logical (shifted register): sf opc 01010 shift N Rm imm6 Rn Rd
    Encoding::new("AND (shifted register)", "x0001010_xx0xxxxx_xxxxxxxx_xxxxxxxx", C, lift_logical, dis_logical),
    Encoding::new("BIC (shifted register)", "x0001010_xx1xxxxx_xxxxxxxx_xxxxxxxx", C, lift_logical, dis_logical),
    Encoding::new("ORR (shifted register)", "x0101010_xx0xxxxx_xxxxxxxx_xxxxxxxx", C, lift_logical, dis_logical),
    Encoding::new("ORN (shifted register)", "x0101010_xx1xxxxx_xxxxxxxx_xxxxxxxx", C, lift_logical, dis_logical),
    Encoding::new("EOR (shifted register)", "x1001010_xx0xxxxx_xxxxxxxx_xxxxxxxx", C, lift_logical, dis_logical),
    Encoding::new("EON (shifted register)", "x1001010_xx1xxxxx_xxxxxxxx_xxxxxxxx", C, lift_logical, dis_logical),
    Encoding::new("ANDS (shifted register)", "x1101010_xx0xxxxx_xxxxxxxx_xxxxxxxx", C, lift_logical, dis_logical),
    Encoding::new("BICS (shifted register)", "x1101010_xx1xxxxx_xxxxxxxx_xxxxxxxx", C, lift_logical, dis_logical),
    // Add/subtract (shifted register): sf op S 01011 shift 0 Rm imm6 Rn Rd
    Encoding::new("ADD (shifted register)", "x0001011_xx0xxxxx_xxxxxxxx_xxxxxxxx", C, lift_addsub_shifted, dis_addsub_shifted),
    Encoding::new("ADDS (shifted register)", "x0101011_xx0xxxxx_xxxxxxxx_xxxxxxxx", C, lift_addsub_shifted, dis_addsub_shifted),
    Encoding::new("SUB (shifted register)", "x1001011_xx0xxxxx_xxxxxxxx_xxxxxxxx", C, lift_addsub_shifted, dis_addsub_shifted),
    Encoding::new("SUBS (shifted register)", "x1101011_xx0xxxxx_xxxxxxxx_xxxxxxxx", C, lift_addsub_shifted, dis_addsub_shifted),
    // Add/subtract (extended register): sf op S 01011 00 1 Rm option imm3 Rn Rd
    Encoding::new("ADD (extended register)", "x0001011_001xxxxx_xxxxxxxx_xxxxxxxx", C, lift_addsub_ext, dis_addsub_ext),
    Encoding::new("ADDS (extended register)", "x0101011_001xxxxx_xxxxxxxx_xxxxxxxx", C, lift_addsub_ext, dis_addsub_ext),
    Encoding::new("SUB (extended register)", "x1001011_001xxxxx_xxxxxxxx_xxxxxxxx", C, lift_addsub_ext, dis_addsub_ext),
    Encoding::new("SUBS (extended register)", "x1101011_001xxxxx_xxxxxxxx_xxxxxxxx", C, lift_addsub_ext, dis_addsub_ext),
    // Add/subtract (with carry): sf op S 11010000 Rm 000000 Rn Rd
    Encoding::new("ADC", "x0011010_000xxxxx_000000xx_xxxxxxxx", C, lift_adc, dis_adc),
    Encoding::new("ADCS", "x0111010_000xxxxx_000000xx_xxxxxxxx", C, lift_adc, dis_adc),
    Encoding::new("SBC", "x1011010_000xxxxx_000000xx_xxxxxxxx", C, lift_adc, dis_adc),
    Encoding::new("SBCS", "x1111010_000xxxxx_000000xx_xxxxxxxx", C, lift_adc, dis_adc),
    // Conditional compare: sf op 1 11010010 Rm|imm5 cond reg/imm 0 Rn 0 nzcv
    Encoding::new("CCMN (register)", "x0111010_010xxxxx_xxxx00xx_xxx0xxxx", C, lift_ccmp, dis_ccmp),
    Encoding::new("CCMP (register)", "x1111010_010xxxxx_xxxx00xx_xxx0xxxx", C, lift_ccmp, dis_ccmp),
    Encoding::new("CCMN (immediate)", "x0111010_010xxxxx_xxxx10xx_xxx0xxxx", C, lift_ccmp, dis_ccmp),
    Encoding::new("CCMP (immediate)", "x1111010_010xxxxx_xxxx10xx_xxx0xxxx", C, lift_ccmp, dis_ccmp),
    // Conditional select: sf op 0 11010100 Rm cond op2 Rn Rd
    Encoding::new("CSEL", "x0011010_100xxxxx_xxxx00xx_xxxxxxxx", C, lift_csel, dis_csel),
    Encoding::new("CSINC", "x0011010_100xxxxx_xxxx01xx_xxxxxxxx", C, lift_csel, dis_csel),
    Encoding::new("CSINV", "x1011010_100xxxxx_xxxx00xx_xxxxxxxx", C, lift_csel, dis_csel),
    Encoding::new("CSNEG", "x1011010_100xxxxx_xxxx01xx_xxxxxxxx", C, lift_csel, dis_csel),
    // Data-processing (1 source): sf 1 0 11010110 00000 opcode Rn Rd
    Encoding::new("RBIT", "x1011010_11000000_000000xx_xxxxxxxx", C, lift_dp1, dis_dp1),
    Encoding::new("REV16", "x1011010_11000000_000001xx_xxxxxxxx", C, lift_dp1, dis_dp1),
    Encoding::new("REV", "01011010_11000000_000010xx_xxxxxxxx", C, lift_dp1, dis_dp1),
    Encoding::new("REV32", "11011010_11000000_000010xx_xxxxxxxx", C, lift_dp1, dis_dp1),
    Encoding::new("REV", "11011010_11000000_000011xx_xxxxxxxx", C, lift_dp1, dis_dp1),
    Encoding::new("CLZ", "x1011010_11000000_000100xx_xxxxxxxx", C, lift_dp1, dis_dp1),
    Encoding::new("CLS", "x1011010_11000000_000101xx_xxxxxxxx", C, lift_dp1, dis_dp1),
    // Data-processing (2 source): sf 0 0 11010110 Rm opcode Rn Rd
    Encoding::new("UDIV", "x0011010_110xxxxx_000010xx_xxxxxxxx", C, lift_dp2, dis_dp2),
    Encoding::new("SDIV", "x0011010_110xxxxx_000011xx_xxxxxxxx", C, lift_dp2, dis_dp2),
    Encoding::new("LSLV", "x0011010_110xxxxx_001000xx_xxxxxxxx", C, lift_dp2, dis_dp2),
    Encoding::new("LSRV", "x0011010_110xxxxx_001001xx_xxxxxxxx", C, lift_dp2, dis_dp2),
    Encoding::new("ASRV", "x0011010_110xxxxx_001010xx_xxxxxxxx", C, lift_dp2, dis_dp2),
    Encoding::new("RORV", "x0011010_110xxxxx_001011xx_xxxxxxxx", C, lift_dp2, dis_dp2),
    Encoding::new("CRC32", "x0011010_110xxxxx_0100xxxx_xxxxxxxx", C, lift_crc32, dis_dp2),
    Encoding::new("CRC32C", "x0011010_110xxxxx_0101xxxx_xxxxxxxx", C, lift_crc32, dis_dp2),
    // Data-processing (3 source): sf 00 11011 op31 Rm o0 Ra Rn Rd
    Encoding::new("MADD", "x0011011_000xxxxx_0xxxxxxx_xxxxxxxx", C, lift_dp3, dis_dp3),
    Encoding::new("MSUB", "x0011011_000xxxxx_1xxxxxxx_xxxxxxxx", C, lift_dp3, dis_dp3),
    Encoding::new("SMADDL", "10011011_001xxxxx_0xxxxxxx_xxxxxxxx", C, lift_dp3, dis_dp3),
    Encoding::new("SMSUBL", "10011011_001xxxxx_1xxxxxxx_xxxxxxxx", C, lift_dp3, dis_dp3),
    Encoding::new("SMULH", "10011011_010xxxxx_0xxxxxxx_xxxxxxxx", C, lift_dp3, dis_dp3),
    Encoding::new("UMADDL", "10011011_101xxxxx_0xxxxxxx_xxxxxxxx", C, lift_dp3, dis_dp3),
    Encoding::new("UMSUBL", "10011011_101xxxxx_1xxxxxxx_xxxxxxxx", C, lift_dp3, dis_dp3),
    Encoding::new("UMULH", "10011011_110xxxxx_0xxxxxxx_xxxxxxxx", C, lift_dp3, dis_dp3),
];

// ---- common fields ---------------------------------------------------------------

fn rd(w: u32) -> u32 {
    bits(w, 4, 0)
}
fn rn(w: u32) -> u32 {
    bits(w, 9, 5)
}
fn rm(w: u32) -> u32 {
    bits(w, 20, 16)
}
fn sf(w: u32) -> bool {
    bit(w, 31) == 1
}
fn width(w: u32) -> W {
    W::from_sf(bit(w, 31))
}

// ---- lift-time constant folding ----------------------------------------------------

/// `Bin(op, w, a, b)`, folded when an operand is a constant that decides the result.
/// A folded result may be an operand itself, not narrowed to `w`: every consumer here
/// is width-aware, and [`Lifter::set_x`] narrows what it writes.
fn bin(l: &mut Lifter, op: BinOp, w: W, a: Val, b: Val) -> Val {
    let ca = l.b.block.const_of(a);
    let cb = l.b.block.const_of(b).map(|c| c & w.mask());
    if let (Some(x), Some(y)) = (ca, cb) {
        return l.konst(eval_bin(op, w, x, y));
    }
    let ca = ca.map(|c| c & w.mask());
    let shift = matches!(op, BinOp::Shl | BinOp::Lshr | BinOp::Ashr | BinOp::Ror);
    match (op, ca, cb) {
        (BinOp::Add | BinOp::Or | BinOp::Xor, Some(0), _) => b,
        (BinOp::Add | BinOp::Sub | BinOp::Or | BinOp::Xor | BinOp::AndNot, _, Some(0)) => a,
        (BinOp::Sub, Some(0), _) => un(l, UnOp::Neg, w, b),
        (BinOp::OrNot | BinOp::XorNot, Some(0), _) => un(l, UnOp::Not, w, b),
        (BinOp::And | BinOp::AndNot | BinOp::Mul, Some(0), _)
        | (BinOp::And | BinOp::Mul | BinOp::UDiv | BinOp::SDiv, _, Some(0)) => l.konst(0),
        _ if shift && ca == Some(0) => l.konst(0),
        _ if shift && cb.is_some_and(|c| c % w.bits() as u64 == 0) => a,
        _ => l.b.bin(op, w, a, b),
    }
}

/// `Un(op, w, a)`, folded when `a` is a constant.
fn un(l: &mut Lifter, op: UnOp, w: W, a: Val) -> Val {
    match l.b.block.const_of(a) {
        Some(c) => l.konst(eval_un(op, w, c)),
        None => l.b.un(op, w, a),
    }
}

// ---- operands ----------------------------------------------------------------------

const SHIFT_OPS: [BinOp; 4] = [BinOp::Shl, BinOp::Lshr, BinOp::Ashr, BinOp::Ror];
const SHIFT_NAMES: [&str; 4] = ["lsl", "lsr", "asr", "ror"];

/// `ShiftReg(Rm, shift, imm6)` at width `w` (XZR for 31).
fn shifted_rm(l: &mut Lifter, w: W, word: u32) -> Val {
    let v = l.x(rm(word));
    let amount = bits(word, 15, 10) as u64;
    let k = l.konst(amount);
    bin(l, SHIFT_OPS[bits(word, 23, 22) as usize], w, v, k)
}

/// `ExtendReg(Rm, option, imm3)` at width `w` (XZR for 31).
fn extended_rm(l: &mut Lifter, w: W, word: u32) -> Val {
    let v = l.x(rm(word));
    let ext = match (bits(word, 15, 13), w) {
        (0, _) => Some(UnOp::Zext8),
        (1, _) => Some(UnOp::Zext16),
        (4, _) => Some(UnOp::Sext8),
        (5, _) => Some(UnOp::Sext16),
        (2, W::W64) => Some(UnOp::Zext32),
        (6, W::W64) => Some(UnOp::Sext32),
        // UXTW/SXTW at 32 bits and UXTX/SXTX: the value as it is.
        _ => None,
    };
    let v = match ext {
        Some(op) => un(l, op, w, v),
        None => v,
    };
    let k = l.konst(bits(word, 12, 10) as u64);
    bin(l, BinOp::Shl, w, v, k)
}

/// The C flag (0 or 1) from the current NZCV.
fn carry_in(l: &mut Lifter) -> Val {
    let nzcv = l.b.get_nzcv();
    let k = l.konst(29);
    l.b.bin(BinOp::Lshr, W::W32, nzcv, k)
}

// ---- logical (shifted register) ----------------------------------------------------

fn lift_logical(l: &mut Lifter, word: u32) -> Lifted {
    let w = width(word);
    if !sf(word) && bit(word, 15) == 1 {
        return Err(LiftError::Undefined);
    }
    let opc = bits(word, 30, 29);
    let invert = bit(word, 21) == 1;
    let op = match (opc, invert) {
        (0 | 3, false) => BinOp::And,
        (0 | 3, true) => BinOp::AndNot,
        (1, false) => BinOp::Or,
        (1, true) => BinOp::OrNot,
        (_, false) => BinOp::Xor,
        (_, true) => BinOp::XorNot,
    };
    let a = l.x(rn(word));
    let b = shifted_rm(l, w, word);
    let r = bin(l, op, w, a, b);
    if opc == 3 {
        let f = l.b.flags(FlagOp::Logic, w, r, r, r);
        l.b.set_nzcv(f);
    }
    l.set_x(w, rd(word), r);
    Ok(Flow::Next)
}

/// Text for a shift operand (`""` for LSL #0, as objdump omits it).
fn shift_text(word: u32) -> String {
    let ty = bits(word, 23, 22) as usize;
    let amount = bits(word, 15, 10);
    if ty == 0 && amount == 0 {
        String::new()
    } else {
        format!(", {} #{amount}", SHIFT_NAMES[ty])
    }
}

fn undefined(word: u32) -> String {
    format!(".inst {word:#010x} ; undefined")
}

fn dis_logical(word: u32, _pc: u64) -> String {
    let s = sf(word);
    if !s && bit(word, 15) == 1 {
        return undefined(word);
    }
    let (d, n, m) = (disas::r(rd(word), s), rn(word), disas::r(rm(word), s));
    let opc = bits(word, 30, 29);
    let invert = bit(word, 21);
    let sh = shift_text(word);
    match (opc, invert) {
        (1, 0) if n == 31 && sh.is_empty() && bits(word, 23, 22) == 0 => format!("mov {d}, {m}"),
        (1, 1) if n == 31 => format!("mvn {d}, {m}{sh}"),
        (3, 0) if rd(word) == 31 => format!("tst {}, {m}{sh}", disas::r(n, s)),
        _ => {
            let name = ["and", "bic", "orr", "orn", "eor", "eon", "ands", "bics"]
                [(opc * 2 + invert) as usize];
            format!("{name} {d}, {}, {m}{sh}", disas::r(n, s))
        }
    }
}

// ---- add/subtract ------------------------------------------------------------------

/// `a + b` or `a - b`, setting NZCV when `setflags`.
fn add_sub(l: &mut Lifter, w: W, sub: bool, setflags: bool, a: Val, b: Val) -> Val {
    let (op, fop) = if sub {
        (BinOp::Sub, FlagOp::Sub)
    } else {
        (BinOp::Add, FlagOp::Add)
    };
    if setflags {
        let f = l.b.flags(fop, w, a, b, a);
        l.b.set_nzcv(f);
    }
    bin(l, op, w, a, b)
}

fn lift_addsub_shifted(l: &mut Lifter, word: u32) -> Lifted {
    let w = width(word);
    if bits(word, 23, 22) == 3 || (!sf(word) && bit(word, 15) == 1) {
        return Err(LiftError::Undefined);
    }
    let a = l.x(rn(word));
    let b = shifted_rm(l, w, word);
    let r = add_sub(l, w, bit(word, 30) == 1, bit(word, 29) == 1, a, b);
    l.set_x(w, rd(word), r);
    Ok(Flow::Next)
}

fn dis_addsub_shifted(word: u32, _pc: u64) -> String {
    let s = sf(word);
    if bits(word, 23, 22) == 3 || (!s && bit(word, 15) == 1) {
        return undefined(word);
    }
    let (d, n) = (rd(word), rn(word));
    let (ds, ns, ms) = (disas::r(d, s), disas::r(n, s), disas::r(rm(word), s));
    let sh = shift_text(word);
    let (sub, setflags) = (bit(word, 30) == 1, bit(word, 29) == 1);
    match (sub, setflags) {
        (false, true) if d == 31 => format!("cmn {ns}, {ms}{sh}"),
        (true, true) if d == 31 => format!("cmp {ns}, {ms}{sh}"),
        (true, false) if n == 31 => format!("neg {ds}, {ms}{sh}"),
        (true, true) if n == 31 => format!("negs {ds}, {ms}{sh}"),
        _ => {
            let name = ["add", "adds", "sub", "subs"][(sub as usize) * 2 + setflags as usize];
            format!("{name} {ds}, {ns}, {ms}{sh}")
        }
    }
}

fn lift_addsub_ext(l: &mut Lifter, word: u32) -> Lifted {
    let w = width(word);
    if bits(word, 12, 10) > 4 {
        return Err(LiftError::Undefined);
    }
    let setflags = bit(word, 29) == 1;
    let a = l.xsp(rn(word));
    let b = extended_rm(l, w, word);
    let r = add_sub(l, w, bit(word, 30) == 1, setflags, a, b);
    if setflags {
        l.set_x(w, rd(word), r);
    } else {
        l.set_xsp(w, rd(word), r);
    }
    Ok(Flow::Next)
}

fn dis_addsub_ext(word: u32, _pc: u64) -> String {
    let s = sf(word);
    let imm3 = bits(word, 12, 10);
    if imm3 > 4 {
        return undefined(word);
    }
    let (d, n) = (rd(word), rn(word));
    let (sub, setflags) = (bit(word, 30) == 1, bit(word, 29) == 1);
    let option = bits(word, 15, 13);
    let ds = if setflags {
        disas::r(d, s)
    } else {
        disas::rsp(d, s)
    };
    let ns = disas::rsp(n, s);
    let ms = disas::r(rm(word), s && option & 3 == 3);
    // LSL is the preferred spelling of UXTX (UXTW at 32 bits) when SP is involved.
    let lsl = option == if s { 3 } else { 2 } && (n == 31 || (!setflags && d == 31));
    let ext = if lsl {
        if imm3 == 0 {
            String::new()
        } else {
            format!(", lsl #{imm3}")
        }
    } else {
        let name = [
            "uxtb", "uxth", "uxtw", "uxtx", "sxtb", "sxth", "sxtw", "sxtx",
        ][option as usize];
        if imm3 == 0 {
            format!(", {name}")
        } else {
            format!(", {name} #{imm3}")
        }
    };
    match (sub, setflags) {
        (false, true) if d == 31 => format!("cmn {ns}, {ms}{ext}"),
        (true, true) if d == 31 => format!("cmp {ns}, {ms}{ext}"),
        _ => {
            let name = ["add", "adds", "sub", "subs"][(sub as usize) * 2 + setflags as usize];
            format!("{name} {ds}, {ns}, {ms}{ext}")
        }
    }
}

// ---- add/subtract with carry -------------------------------------------------------

fn lift_adc(l: &mut Lifter, word: u32) -> Lifted {
    let w = width(word);
    let sub = bit(word, 30) == 1;
    let a = l.x(rn(word));
    let b = l.x(rm(word));
    let c = carry_in(l);
    if bit(word, 29) == 1 {
        let fop = if sub { FlagOp::Sbc } else { FlagOp::Adc };
        let f = l.b.flags(fop, w, a, b, c);
        l.b.set_nzcv(f);
    }
    let r = if sub {
        l.b.sbc(w, a, b, c)
    } else {
        l.b.adc(w, a, b, c)
    };
    l.set_x(w, rd(word), r);
    Ok(Flow::Next)
}

fn dis_adc(word: u32, _pc: u64) -> String {
    let s = sf(word);
    let (sub, setflags) = (bit(word, 30) == 1, bit(word, 29) == 1);
    let (ds, ms) = (disas::r(rd(word), s), disas::r(rm(word), s));
    let sfx = if setflags { "s" } else { "" };
    if sub && rn(word) == 31 {
        format!("ngc{sfx} {ds}, {ms}")
    } else {
        let name = if sub { "sbc" } else { "adc" };
        format!("{name}{sfx} {ds}, {}, {ms}", disas::r(rn(word), s))
    }
}

// ---- conditional compare -----------------------------------------------------------

fn lift_ccmp(l: &mut Lifter, word: u32) -> Lifted {
    let w = width(word);
    let cc = bits(word, 15, 12) as u8;
    let a = l.x(rn(word));
    let b = if bit(word, 11) == 1 {
        l.konst(rm(word) as u64)
    } else {
        l.x(rm(word))
    };
    let fop = if bit(word, 30) == 1 {
        FlagOp::Sub
    } else {
        FlagOp::Add
    };
    let nzcv = if cc >= 14 {
        l.b.flags(fop, w, a, b, a)
    } else {
        let old = l.b.get_nzcv();
        let holds = l.b.cond(cc, old);
        let f = l.b.flags(fop, w, a, b, a);
        let imm = l.konst((bits(word, 3, 0) as u64) << 28);
        l.b.select(holds, f, imm)
    };
    l.b.set_nzcv(nzcv);
    Ok(Flow::Next)
}

fn dis_ccmp(word: u32, _pc: u64) -> String {
    let s = sf(word);
    let name = if bit(word, 30) == 1 { "ccmp" } else { "ccmn" };
    let b = if bit(word, 11) == 1 {
        format!("#{:#x}", rm(word))
    } else {
        disas::r(rm(word), s)
    };
    format!(
        "{name} {}, {b}, #{:#x}, {}",
        disas::r(rn(word), s),
        bits(word, 3, 0),
        disas::cond(bits(word, 15, 12))
    )
}

// ---- conditional select ------------------------------------------------------------

fn lift_csel(l: &mut Lifter, word: u32) -> Lifted {
    let w = width(word);
    let cc = bits(word, 15, 12) as u8;
    let (d, n, m) = (rd(word), rn(word), rm(word));
    let (inv, inc) = (bit(word, 30) == 1, bit(word, 10) == 1);
    if cc >= 14 {
        // AL and NV: always Rn.
        let v = l.x(n);
        l.set_x(w, d, v);
        return Ok(Flow::Next);
    }
    if n == 31 && m == 31 && inc != inv {
        // CSET (CSINC Rd, ZR, ZR, !cc) and CSETM (CSINV Rd, ZR, ZR, !cc).
        let nzcv = l.b.get_nzcv();
        let c = l.b.cond(cc ^ 1, nzcv);
        let v = if inv { l.b.un(UnOp::Neg, w, c) } else { c };
        l.set_x(w, d, v);
        return Ok(Flow::Next);
    }
    let a = l.x(n);
    let b = l.x(m);
    let b = match (inv, inc) {
        (false, false) => b,
        (false, true) => {
            let one = l.konst(1);
            bin(l, BinOp::Add, w, b, one)
        }
        (true, false) => un(l, UnOp::Not, w, b),
        (true, true) => un(l, UnOp::Neg, w, b),
    };
    let nzcv = l.b.get_nzcv();
    let c = l.b.cond(cc, nzcv);
    let v = l.b.select(c, a, b);
    l.set_x(w, d, v);
    Ok(Flow::Next)
}

fn dis_csel(word: u32, _pc: u64) -> String {
    let s = sf(word);
    let cc = bits(word, 15, 12);
    let (n, m) = (rn(word), rm(word));
    let (ds, ns, ms) = (disas::r(rd(word), s), disas::r(n, s), disas::r(m, s));
    let (inv, inc) = (bit(word, 30) == 1, bit(word, 10) == 1);
    let icc = disas::cond(cc ^ 1);
    if cc < 14 && n == m {
        match (inv, inc) {
            (false, true) if m == 31 => return format!("cset {ds}, {icc}"),
            (true, false) if m == 31 => return format!("csetm {ds}, {icc}"),
            (false, true) => return format!("cinc {ds}, {ns}, {icc}"),
            (true, false) => return format!("cinv {ds}, {ns}, {icc}"),
            (true, true) => return format!("cneg {ds}, {ns}, {icc}"),
            _ => {}
        }
    }
    let name = ["csel", "csinc", "csinv", "csneg"][(inv as usize) * 2 + inc as usize];
    format!("{name} {ds}, {ns}, {ms}, {}", disas::cond(cc))
}

// ---- data-processing (1 source) ----------------------------------------------------

fn lift_dp1(l: &mut Lifter, word: u32) -> Lifted {
    let w = width(word);
    let op = match (bits(word, 15, 10), w) {
        (0, _) => UnOp::Rbit,
        (1, _) => UnOp::Rev16,
        (2, W::W32) | (3, W::W64) => UnOp::Rev,
        (2, W::W64) => UnOp::Rev32,
        (4, _) => UnOp::Clz,
        (5, _) => UnOp::Cls,
        _ => return Err(LiftError::Undefined),
    };
    let a = l.x(rn(word));
    let r = un(l, op, w, a);
    l.set_x(w, rd(word), r);
    Ok(Flow::Next)
}

fn dis_dp1(word: u32, _pc: u64) -> String {
    let s = sf(word);
    let name = match (bits(word, 15, 10), s) {
        (0, _) => "rbit",
        (1, _) => "rev16",
        (2, false) | (3, true) => "rev",
        (2, true) => "rev32",
        (4, _) => "clz",
        (5, _) => "cls",
        _ => return undefined(word),
    };
    format!(
        "{name} {}, {}",
        disas::r(rd(word), s),
        disas::r(rn(word), s)
    )
}

// ---- data-processing (2 source) ----------------------------------------------------

fn lift_dp2(l: &mut Lifter, word: u32) -> Lifted {
    let w = width(word);
    let op = match bits(word, 15, 10) {
        2 => BinOp::UDiv,
        3 => BinOp::SDiv,
        8 => BinOp::Shl,
        9 => BinOp::Lshr,
        10 => BinOp::Ashr,
        11 => BinOp::Ror,
        _ => return Err(LiftError::Undefined),
    };
    let a = l.x(rn(word));
    let b = l.x(rm(word));
    let r = bin(l, op, w, a, b);
    l.set_x(w, rd(word), r);
    Ok(Flow::Next)
}

fn dis_dp2(word: u32, _pc: u64) -> String {
    let s = sf(word);
    let opcode = bits(word, 15, 10);
    let (ds, ns, ms) = (
        disas::r(rd(word), s),
        disas::r(rn(word), s),
        disas::r(rm(word), s),
    );
    let name = match opcode {
        2 => "udiv",
        3 => "sdiv",
        8 => "lsl",
        9 => "lsr",
        10 => "asr",
        11 => "ror",
        0x10..=0x17 => {
            let sz = opcode & 3;
            if (sz == 3) != s {
                return undefined(word);
            }
            let c = if opcode & 4 != 0 { "c" } else { "" };
            let suffix = ["b", "h", "w", "x"][sz as usize];
            return format!(
                "crc32{c}{suffix} {}, {}, {ms}",
                disas::r(rd(word), false),
                disas::r(rn(word), false)
            );
        }
        _ => return undefined(word),
    };
    format!("{name} {ds}, {ns}, {ms}")
}

// ---- CRC32 / CRC32C ----------------------------------------------------------------

/// The byte-at-a-time table of a reflected CRC-32 with reflected polynomial `poly`.
const fn crc_table(poly: u32) -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ poly } else { c >> 1 };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
}

/// CRC-32 (polynomial 0x04C11DB7, bit-reflected: 0xEDB88320).
static CRC32_TABLE: [u32; 256] = crc_table(0xedb8_8320);
/// CRC-32C (Castagnoli, polynomial 0x1EDC6F41, bit-reflected: 0x82F63B78).
static CRC32C_TABLE: [u32; 256] = crc_table(0x82f6_3b78);

/// The Arm CRC32 update: `bytes` low bytes of `val`, least significant first, into
/// `acc`, with no pre- or post-inversion (the program does those).
fn crc_sw(table: &[u32; 256], mut acc: u32, val: u64, bytes: u32) -> u32 {
    for i in 0..bytes {
        let b = (val >> (8 * i)) as u32 & 0xff;
        acc = table[((acc ^ b) & 0xff) as usize] ^ (acc >> 8);
    }
    acc
}

macro_rules! crc_sw_helper {
    ($name:ident, $table:ident, $bytes:expr) => {
        unsafe extern "C" fn $name(_cpu: *mut u8, acc: u64, val: u64, _: u64, _: u64) -> u64 {
            crc_sw(&$table, acc as u32, val, $bytes) as u64
        }
    };
}

crc_sw_helper!(h_crc32b, CRC32_TABLE, 1);
crc_sw_helper!(h_crc32h, CRC32_TABLE, 2);
crc_sw_helper!(h_crc32w, CRC32_TABLE, 4);
crc_sw_helper!(h_crc32x, CRC32_TABLE, 8);
crc_sw_helper!(h_crc32cb_sw, CRC32C_TABLE, 1);
crc_sw_helper!(h_crc32ch_sw, CRC32C_TABLE, 2);
crc_sw_helper!(h_crc32cw_sw, CRC32C_TABLE, 4);
crc_sw_helper!(h_crc32cx_sw, CRC32C_TABLE, 8);

const CRC32_HELPERS: [Helper; 4] = [
    pure_helper("crc32b", h_crc32b),
    pure_helper("crc32h", h_crc32h),
    pure_helper("crc32w", h_crc32w),
    pure_helper("crc32x", h_crc32x),
];
const CRC32C_SW_HELPERS: [Helper; 4] = [
    pure_helper("crc32cb", h_crc32cb_sw),
    pure_helper("crc32ch", h_crc32ch_sw),
    pure_helper("crc32cw", h_crc32cw_sw),
    pure_helper("crc32cx", h_crc32cx_sw),
];

/// CRC32C with the SSE4.2 `crc32` instruction (same polynomial, same bit order and no
/// inversion, so it computes exactly Arm's CRC32C*).
#[cfg(target_arch = "x86_64")]
mod hw {
    use core::arch::x86_64::{_mm_crc32_u16, _mm_crc32_u32, _mm_crc32_u64, _mm_crc32_u8};

    #[target_feature(enable = "sse4.2")]
    pub unsafe extern "C" fn crc32cb(_: *mut u8, acc: u64, val: u64, _: u64, _: u64) -> u64 {
        _mm_crc32_u8(acc as u32, val as u8) as u64
    }
    #[target_feature(enable = "sse4.2")]
    pub unsafe extern "C" fn crc32ch(_: *mut u8, acc: u64, val: u64, _: u64, _: u64) -> u64 {
        _mm_crc32_u16(acc as u32, val as u16) as u64
    }
    #[target_feature(enable = "sse4.2")]
    pub unsafe extern "C" fn crc32cw(_: *mut u8, acc: u64, val: u64, _: u64, _: u64) -> u64 {
        _mm_crc32_u32(acc as u32, val as u32) as u64
    }
    #[target_feature(enable = "sse4.2")]
    pub unsafe extern "C" fn crc32cx(_: *mut u8, acc: u64, val: u64, _: u64, _: u64) -> u64 {
        // The 64-bit form zero-extends its 32-bit accumulator and result.
        _mm_crc32_u64(acc as u32 as u64, val)
    }

    pub fn available() -> bool {
        std::is_x86_feature_detected!("sse4.2")
    }
}

/// The CRC32C helpers to use: hardware ones only when the host has SSE4.2 (they are
/// chosen at lift time, so generated code never runs them on a host without it).
#[cfg(target_arch = "x86_64")]
fn crc32c_helpers() -> [Helper; 4] {
    if hw::available() {
        [
            pure_helper("crc32cb", hw::crc32cb),
            pure_helper("crc32ch", hw::crc32ch),
            pure_helper("crc32cw", hw::crc32cw),
            pure_helper("crc32cx", hw::crc32cx),
        ]
    } else {
        CRC32C_SW_HELPERS
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn crc32c_helpers() -> [Helper; 4] {
    CRC32C_SW_HELPERS
}

fn lift_crc32(l: &mut Lifter, word: u32) -> Lifted {
    let sz = bits(word, 11, 10) as usize;
    if !l.features.crc32 || (sz == 3) != sf(word) {
        return Err(LiftError::Undefined);
    }
    let h = if bit(word, 12) == 1 {
        crc32c_helpers()[sz]
    } else {
        CRC32_HELPERS[sz]
    };
    let acc = l.x(rn(word));
    let val = l.x(rm(word));
    let r = l.b.call(h, &[acc, val]);
    l.set_x(W::W32, rd(word), r);
    Ok(Flow::Next)
}

// ---- data-processing (3 source) ----------------------------------------------------

fn lift_dp3(l: &mut Lifter, word: u32) -> Lifted {
    let w = width(word);
    let sub = bit(word, 15) == 1;
    let a = l.x(rn(word));
    let b = l.x(rm(word));
    let (prod, w) = match bits(word, 23, 21) {
        0 => (bin(l, BinOp::Mul, w, a, b), w),
        1 | 5 => {
            let ext = if bits(word, 23, 21) == 1 {
                UnOp::Sext32
            } else {
                UnOp::Zext32
            };
            let a = un(l, ext, W::W64, a);
            let b = un(l, ext, W::W64, b);
            (bin(l, BinOp::Mul, W::W64, a, b), W::W64)
        }
        2 => (bin(l, BinOp::SMulH, W::W64, a, b), W::W64),
        6 => (bin(l, BinOp::UMulH, W::W64, a, b), W::W64),
        _ => return Err(LiftError::Undefined),
    };
    let r = if matches!(bits(word, 23, 21), 2 | 6) {
        prod
    } else {
        let acc = l.x(bits(word, 14, 10));
        let op = if sub { BinOp::Sub } else { BinOp::Add };
        bin(l, op, w, acc, prod)
    };
    l.set_x(w, rd(word), r);
    Ok(Flow::Next)
}

fn dis_dp3(word: u32, _pc: u64) -> String {
    let s = sf(word);
    let ra = bits(word, 14, 10);
    let sub = bit(word, 15) as usize;
    let op31 = bits(word, 23, 21);
    let (ds, ras) = (disas::r(rd(word), true), disas::r(ra, true));
    let (name, alias, narrow) = match op31 {
        0 => (["madd", "msub"][sub], ["mul", "mneg"][sub], !s),
        1 => (["smaddl", "smsubl"][sub], ["smull", "smnegl"][sub], true),
        5 => (["umaddl", "umsubl"][sub], ["umull", "umnegl"][sub], true),
        2 | 6 => {
            let name = if op31 == 2 { "smulh" } else { "umulh" };
            return format!(
                "{name} {ds}, {}, {}",
                disas::r(rn(word), true),
                disas::r(rm(word), true)
            );
        }
        _ => return undefined(word),
    };
    let ds = if op31 == 0 { disas::r(rd(word), s) } else { ds };
    let (ns, ms) = (disas::r(rn(word), !narrow), disas::r(rm(word), !narrow));
    if ra == 31 {
        format!("{alias} {ds}, {ns}, {ms}")
    } else {
        let ras = if op31 == 0 { disas::r(ra, s) } else { ras };
        format!("{name} {ds}, {ns}, {ms}, {ras}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arm64::cpu::Cpu;
    use crate::arm64::lift::CpuFeatures;
    use crate::engine::testing::{run, run_ok, run_with};
    use crate::engine::Exit;

    const N: u64 = 0x8000_0000;
    const Z: u64 = 0x4000_0000;
    const CF: u64 = 0x2000_0000;
    const V: u64 = 0x1000_0000;

    /// Run `words` with registers `regs` (index 31 = SP) and NZCV `nzcv`.
    fn exec(words: &[u32], regs: &[(usize, u64)], nzcv: u64) -> Box<Cpu> {
        let mut cpu = Cpu::new();
        for &(r, v) in regs {
            cpu.x[r] = v;
        }
        cpu.nzcv = nzcv;
        run_ok(words, &mut cpu);
        cpu
    }

    fn assert_undefined(word: u32) {
        let mut cpu = Cpu::new();
        assert_eq!(
            run(&[word], &mut cpu),
            Exit::Undefined(word),
            "{word:#010x}"
        );
    }

    /// Replace the Rd field.
    fn with_rd(word: u32, rd: u32) -> u32 {
        (word & !0x1f) | rd
    }

    /// Replace the Rm field.
    fn with_rm(word: u32, rm: u32) -> u32 {
        (word & !(0x1f << 16)) | (rm << 16)
    }

    /// Arm's AddWithCarry: (result, NZCV) at 32 or 64 bits.
    fn add_with_carry(x: u64, y: u64, carry: u64, w64: bool) -> (u64, u64) {
        let n = if w64 { 64 } else { 32 };
        let m = if w64 { u64::MAX } else { 0xffff_ffff };
        let (x, y) = (x & m, y & m);
        let usum = x as u128 + y as u128 + carry as u128;
        let ssum = sext(x, n) as i128 + sext(y, n) as i128 + carry as i128;
        let r = usum as u64 & m;
        let mut f = 0;
        if r >> (n - 1) & 1 == 1 {
            f |= N;
        }
        if r == 0 {
            f |= Z;
        }
        if r as u128 != usum {
            f |= CF;
        }
        if sext(r, n) as i128 != ssum {
            f |= V;
        }
        (r, f)
    }

    use super::super::sext;

    const EDGES: [u64; 13] = [
        0,
        1,
        2,
        0x7fff_ffff,
        0x8000_0000,
        0x8000_0001,
        0xffff_fffe,
        0xffff_ffff,
        0x1_0000_0000,
        0x7fff_ffff_ffff_ffff,
        0x8000_0000_0000_0000,
        0xffff_ffff_ffff_ffff,
        0x1234_5678_9abc_def0,
    ];

    #[test]
    fn flag_setting_arithmetic_matches_add_with_carry() {
        // adds x4 / mrs x3 ; subs x6 / mrs x5 ; msr nzcv, x20 ; adcs x8 / mrs x7 ;
        // msr nzcv, x20 ; sbcs x10 / mrs x9  (and the same with W registers).
        let prog = |w64: bool| -> Vec<u32> {
            let sf = if w64 { 0x8000_0000 } else { 0 };
            vec![
                0x2b02_0024 | sf,
                0xd53b_4203,
                0x6b02_0026 | sf,
                0xd53b_4205,
                0xd51b_4214,
                0x3a02_0028 | sf,
                0xd53b_4207,
                0xd51b_4214,
                0x7a02_002a | sf,
                0xd53b_4209,
            ]
        };
        for w64 in [false, true] {
            let words = prog(w64);
            for &a in &EDGES {
                for &b in &EDGES {
                    for c in [0u64, 1] {
                        let cpu = exec(&words, &[(1, a), (2, b), (20, c << 29)], c << 29);
                        let ctx = format!("w64={w64} a={a:#x} b={b:#x} c={c}");
                        let add = add_with_carry(a, b, 0, w64);
                        let sub = add_with_carry(a, !b, 1, w64);
                        let adc = add_with_carry(a, b, c, w64);
                        let sbc = add_with_carry(a, !b, c, w64);
                        assert_eq!((cpu.x[4], cpu.x[3]), add, "adds {ctx}");
                        assert_eq!((cpu.x[6], cpu.x[5]), sub, "subs {ctx}");
                        assert_eq!((cpu.x[8], cpu.x[7]), adc, "adcs {ctx}");
                        assert_eq!((cpu.x[10], cpu.x[9]), sbc, "sbcs {ctx}");
                    }
                }
            }
        }
    }

    #[test]
    fn adds_subs_known_flags() {
        // adds x0, x1, x2: MAX + 1 overflows into the sign bit.
        let cpu = exec(&[0xab020020], &[(1, i64::MAX as u64), (2, 1)], 0);
        assert_eq!(cpu.x[0], 1 << 63);
        assert_eq!(cpu.nzcv, N | V);
        // adds x0, x1, x2: all-ones + 1 = 0 with carry.
        let cpu = exec(&[0xab020020], &[(1, u64::MAX), (2, 1)], 0);
        assert_eq!((cpu.x[0], cpu.nzcv), (0, Z | CF));
        // adds w0, w1, w2: 32-bit carry and zero, upper halves ignored, result zero-extended.
        let cpu = exec(
            &[0x2b020020],
            &[(1, 0xdead_0000_ffff_ffff), (2, 0xbeef_0000_0000_0001)],
            0,
        );
        assert_eq!((cpu.x[0], cpu.nzcv), (0, Z | CF));
        // subs w0, w1, w2: 0 - 1 borrows (C clear), negative.
        let cpu = exec(&[0x6b020020], &[(1, 0), (2, 1)], CF | V);
        assert_eq!((cpu.x[0], cpu.nzcv), (0xffff_ffff, N));
        // subs x0, x1, x2: equal operands.
        let cpu = exec(&[0xeb020020], &[(1, 42), (2, 42)], 0);
        assert_eq!((cpu.x[0], cpu.nzcv), (0, Z | CF));
        // subs w0, w1, w2: MIN - 1 overflows.
        let cpu = exec(&[0x6b020020], &[(1, 0x8000_0000), (2, 1)], 0);
        assert_eq!((cpu.x[0], cpu.nzcv), (0x7fff_ffff, CF | V));
        // negs w0, w2 of MIN: 0 - MIN = MIN, overflow, borrow.
        let cpu = exec(&[0x6b0203e0], &[(2, 0x8000_0000)], 0);
        assert_eq!((cpu.x[0], cpu.nzcv), (0x8000_0000, N | V));
        // cmp x1, x2 / cmn w1, w2 write flags only (Rd = 31 is XZR, not SP).
        let cpu = exec(&[0xeb02003f], &[(1, 5), (2, 7), (31, 0x5555)], 0);
        assert_eq!((cpu.x[31], cpu.nzcv), (0x5555, N));
        let cpu = exec(&[0x2b02003f], &[(1, 0xffff_fff9), (2, 7), (31, 0x5555)], 0);
        assert_eq!((cpu.x[31], cpu.nzcv), (0x5555, Z | CF));
    }

    #[test]
    fn logical_shifted_register() {
        let (x1, x2) = (0x0123_4567_89ab_cdefu64, 0xfedc_ba98_7654_3210u64);
        let (w1, w2) = (x1 as u32, x2 as u32);
        let words = [
            0x8a021020, // and x0, x1, x2, lsl #4
            0x0ae21023, // bic w3, w1, w2, ror #4
            0xaa422024, // orr x4, x1, x2, lsr #8
            0x2aa20425, // orn w5, w1, w2, asr #1
            0xcac2f026, // eor x6, x1, x2, ror #60
            0x4a220027, // eon w7, w1, w2
            0xaa0203e8, // mov x8, x2
            0x2a2203e9, // mvn w9, w2
            0xea02002a, // ands x10, x1, x2
            0x6a22002b, // bics w11, w1, w2
        ];
        let cpu = exec(&words, &[(1, x1), (2, x2)], N | Z | CF | V);
        assert_eq!(cpu.x[0], x1 & (x2 << 4));
        assert_eq!(cpu.x[3], (w1 & !w2.rotate_right(4)) as u64);
        assert_eq!(cpu.x[4], x1 | (x2 >> 8));
        assert_eq!(cpu.x[5], (w1 | !((w2 as i32 >> 1) as u32)) as u64);
        assert_eq!(cpu.x[6], x1 ^ x2.rotate_right(60));
        assert_eq!(cpu.x[7], (w1 ^ !w2) as u64);
        assert_eq!(cpu.x[8], x2);
        assert_eq!(cpu.x[9], !w2 as u64);
        assert_eq!(cpu.x[10], x1 & x2);
        assert_eq!(cpu.x[11], (w1 & !w2) as u64);
        // Flags of the last (BICS w): N from bit 31, C and V cleared.
        let r = w1 & !w2;
        assert_eq!(
            cpu.nzcv,
            if r >> 31 == 1 { N } else { 0 } | if r == 0 { Z } else { 0 }
        );
    }

    #[test]
    fn logical_flags() {
        // tst x1, x2: disjoint bits → Z; C and V are cleared.
        let cpu = exec(&[0xea02003f], &[(1, 0xf0), (2, 0x0f), (31, 0x1234)], CF | V);
        assert_eq!((cpu.nzcv, cpu.x[31]), (Z, 0x1234));
        // tst w1, w2 looks at 32 bits only.
        let cpu = exec(
            &[0x6a02003f],
            &[(1, 0xffff_ffff_0000_0000), (2, u64::MAX)],
            N,
        );
        assert_eq!(cpu.nzcv, Z);
        // ands w12, w1, w2, lsl #31 → negative 32-bit result, zero-extended.
        let cpu = exec(&[0x6a027c2c], &[(1, u64::MAX), (2, 1)], Z | CF | V);
        assert_eq!((cpu.x[12], cpu.nzcv), (0x8000_0000, N));
        // ands x10, x1, x2 with a negative 64-bit result.
        let cpu = exec(&[0xea02002a], &[(1, u64::MAX), (2, 1 << 63)], 0);
        assert_eq!((cpu.x[10], cpu.nzcv), (1 << 63, N));
    }

    #[test]
    fn reserved_encodings_are_undefined() {
        assert_undefined(0x0a028020); // and w0, w1, w2, lsl #32
        assert_undefined(0x0b028020); // add w0, w1, w2, lsl #32
        assert_undefined(0x8bc20020); // add x0, x1, x2, ror #0
        assert_undefined(0x8b227420); // add x0, x1, x2, uxtx #5
        assert_undefined(0x8b227c20); // add x0, x1, x2, uxtx #7
        assert_undefined(0x1ac14c00); // crc32x with sf = 0
        assert_undefined(0x9ac14000); // crc32b with sf = 1
        assert_undefined(0x9ac15000); // crc32cb with sf = 1
        assert_undefined(0x5ac00c20); // rev with opc = 11 and sf = 0
                                      // Encodings of the group this CPU model lacks have no row at all.
        assert!(crate::arm64::decode::decode(0x9ac03020).is_none()); // FEAT_PAuth PACGA
        assert!(crate::arm64::decode::decode(0xdac01820).is_none()); // FEAT_CSSC CTZ
        assert!(crate::arm64::decode::decode(0x3a00080d).is_none()); // FEAT_FlagM SETF8
    }

    #[test]
    fn add_sub_shifted_register() {
        let (x1, x2) = (0x1111_2222_3333_4444u64, 0x8000_0000_f000_0001u64);
        let words = [
            0x8b020c23, // add x3, x1, x2, lsl #3
            0x4b827c24, // sub w4, w1, w2, asr #31
            0xcb4207e5, // neg x5, x2, lsr #1
        ];
        let cpu = exec(&words, &[(1, x1), (2, x2)], 0);
        assert_eq!(cpu.x[3], x1.wrapping_add(x2 << 3));
        assert_eq!(
            cpu.x[4],
            (x1 as u32).wrapping_sub(((x2 as i32) >> 31) as u32) as u64
        );
        assert_eq!(cpu.x[5], (x2 >> 1).wrapping_neg());
    }

    #[test]
    fn add_sub_extended_register() {
        let x1 = 0x1000_0000_0000_0000u64;
        let x2 = 0xdead_beef_ffff_ff80u64; // w2 = -128, byte 0x80, half 0xff80
        let words = [
            0x8b22c823, // add x3, x1, w2, sxtw #2
            0x8b220024, // add x4, x1, w2, uxtb
            0x8b223025, // add x5, x1, w2, uxth #4
            0x8b228426, // add x6, x1, w2, sxtb #1
            0x8b22a027, // add x7, x1, w2, sxth
            0x8b224028, // add x8, x1, w2, uxtw
            0x8b22ec29, // add x9, x1, x2, sxtx #3
            0x0b22802a, // add w10, w1, w2, sxtb
            0x0b22682b, // add w11, w1, w2, uxtx #2
            0x0b22c42c, // add w12, w1, w2, sxtw #1
        ];
        let x1w = 0x0000_0000_0000_1000u64 | x1;
        let cpu = exec(&words, &[(1, x1w), (2, x2)], 0);
        let w1 = x1w as u32;
        assert_eq!(cpu.x[3], x1w.wrapping_add((-128i64 * 4) as u64));
        assert_eq!(cpu.x[4], x1w + 0x80);
        assert_eq!(cpu.x[5], x1w + (0xff80 << 4));
        assert_eq!(cpu.x[6], x1w.wrapping_add((-128i64 * 2) as u64));
        assert_eq!(cpu.x[7], x1w.wrapping_sub(128));
        assert_eq!(cpu.x[8], x1w + 0xffff_ff80);
        assert_eq!(cpu.x[9], x1w.wrapping_add(x2 << 3));
        assert_eq!(cpu.x[10], w1.wrapping_sub(128) as u64);
        assert_eq!(cpu.x[11], w1.wrapping_add((x2 as u32) << 2) as u64);
        assert_eq!(cpu.x[12], w1.wrapping_add((x2 as u32) << 1) as u64);
        // subs w0, w1, w2, uxth
        let cpu = exec(&[0x6b222020], &[(1, 0xff80), (2, 0xffff_ff80)], 0);
        assert_eq!((cpu.x[0], cpu.nzcv), (0, Z | CF));
    }

    #[test]
    fn extended_register_with_sp() {
        let sp = 0x7ff0_0000u64;
        // add sp, sp, x1
        let cpu = exec(&[0x8b2163ff], &[(31, sp), (1, 0x100)], 0);
        assert_eq!(cpu.x[31], sp + 0x100);
        // add x0, sp, w1, uxtw #1
        let cpu = exec(&[0x8b2147e0], &[(31, sp), (1, 0xffff_ffff_8000_0000)], 0);
        assert_eq!(cpu.x[0], sp + 0x1_0000_0000);
        // sub sp, sp, w1, sxtw (w1 = -16)
        let cpu = exec(&[0xcb21c3ff], &[(31, sp), (1, 0xffff_fff0)], 0);
        assert_eq!(cpu.x[31], sp + 16);
        // adds x0, sp, x1: Rn is SP, Rd is X0.
        let cpu = exec(&[0xab2163e0], &[(31, u64::MAX), (1, 1)], 0);
        assert_eq!((cpu.x[0], cpu.nzcv, cpu.x[31]), (0, Z | CF, u64::MAX));
        // cmp sp, x1: Rd = 31 is XZR for the flag-setting form; SP stays.
        let cpu = exec(&[0xeb2163ff], &[(31, sp), (1, sp)], 0);
        assert_eq!((cpu.nzcv, cpu.x[31]), (Z | CF, sp));
        // add wsp, wsp, w1: 32-bit result zero-extended into SP.
        let cpu = exec(&[0x0b2143ff], &[(31, 0xffff_ffff_0000_0010), (1, 0x10)], 0);
        assert_eq!(cpu.x[31], 0x20);
    }

    #[test]
    fn adc_sbc() {
        let (x1, x2) = (0x8000_0000_0000_0005u64, 0x1234_5678_9abc_def0u64);
        let words = [
            0x9a020023, // adc x3, x1, x2
            0x1a020024, // adc w4, w1, w2
            0xda020025, // sbc x5, x1, x2
            0x5a020026, // sbc w6, w1, w2
            0xda0203e7, // ngc x7, x2
        ];
        for c in [0u64, 1] {
            let cpu = exec(&words, &[(1, x1), (2, x2)], c << 29 | N | Z | V);
            assert_eq!(cpu.x[3], x1.wrapping_add(x2).wrapping_add(c));
            assert_eq!(
                cpu.x[4],
                (x1 as u32).wrapping_add(x2 as u32).wrapping_add(c as u32) as u64
            );
            assert_eq!(cpu.x[5], x1.wrapping_sub(x2).wrapping_sub(1 - c));
            assert_eq!(
                cpu.x[6],
                (x1 as u32)
                    .wrapping_sub(x2 as u32)
                    .wrapping_sub(1 - c as u32) as u64
            );
            assert_eq!(cpu.x[7], 0u64.wrapping_sub(x2).wrapping_sub(1 - c));
            // Non-flag-setting forms leave NZCV alone.
            assert_eq!(cpu.nzcv, c << 29 | N | Z | V);
        }
        // adcs w0, w1, w2: 0xffffffff + 0 + 1 carries out to zero.
        let cpu = exec(&[0x3a020020], &[(1, 0xffff_ffff), (2, 0)], CF);
        assert_eq!((cpu.x[0], cpu.nzcv), (0, Z | CF));
        // adcs x0, x1, x2: MAX + 0 + 1 overflows.
        let cpu = exec(&[0xba020020], &[(1, i64::MAX as u64), (2, 0)], CF);
        assert_eq!((cpu.x[0], cpu.nzcv), (1 << 63, N | V));
        // sbcs x0, x1, x2: 0 - 0 - borrow = -1, borrow out (C clear).
        let cpu = exec(&[0xfa020020], &[(1, 0), (2, 0)], 0);
        assert_eq!((cpu.x[0], cpu.nzcv), (u64::MAX, N));
        // sbcs w0, w1, w2 with no borrow: 5 - 5 = 0, C set.
        let cpu = exec(&[0x7a020020], &[(1, 5), (2, 5)], CF);
        assert_eq!((cpu.x[0], cpu.nzcv), (0, Z | CF));
        // ngcs w0, w2 with C set: 0 - w2.
        let cpu = exec(&[0x7a0203e0], &[(2, 1)], CF);
        assert_eq!((cpu.x[0], cpu.nzcv), (0xffff_ffff, N));
    }

    #[test]
    fn conditional_compare() {
        // ccmp x1, x2, #5, eq
        let w = 0xfa420025;
        let cpu = exec(&[w], &[(1, 9), (2, 9)], Z);
        assert_eq!(cpu.nzcv, Z | CF); // condition held: flags of 9 - 9
        let cpu = exec(&[w], &[(1, 9), (2, 9)], 0);
        assert_eq!(cpu.nzcv, 0x5000_0000); // failed: #nzcv
                                           // ccmn w1, w2, #2, ne
        let w = 0x3a421022;
        let cpu = exec(&[w], &[(1, 0x7fff_ffff), (2, 1)], 0);
        assert_eq!(cpu.nzcv, N | V);
        let cpu = exec(&[w], &[(1, 0x7fff_ffff), (2, 1)], Z);
        assert_eq!(cpu.nzcv, 0x2000_0000);
        // ccmp x1, #3, #9, ge
        let w = 0xfa43a829;
        let cpu = exec(&[w], &[(1, 2)], N | V);
        assert_eq!(cpu.nzcv, N);
        let cpu = exec(&[w], &[(1, 2)], N);
        assert_eq!(cpu.nzcv, 0x9000_0000);
        // ccmn x1, #1, #0, al: always compares.
        let cpu = exec(&[0xba41e820], &[(1, u64::MAX)], N);
        assert_eq!(cpu.nzcv, Z | CF);
        // ccmp w1, #0, #15, nv: NV also always holds.
        let cpu = exec(&[0x7a40f82f], &[(1, 0x1_0000_0000)], 0);
        assert_eq!(cpu.nzcv, Z | CF);
    }

    #[test]
    fn conditional_select() {
        let (x1, x2) = (0xaaaa_bbbb_cccc_dddd_u64, 0x1111_2222_3333_4444_u64);
        let regs = [(1, x1), (2, x2)];
        let one = |w: u32, nzcv: u64| exec(&[w], &regs, nzcv).x[0];
        // csel x0, x1, x2, eq
        assert_eq!(one(0x9a820020, Z), x1);
        assert_eq!(one(0x9a820020, 0), x2);
        // csel w0, w1, w2, lt (N != V)
        assert_eq!(one(0x1a82b020, N), x1 & 0xffff_ffff);
        assert_eq!(one(0x1a82b020, N | V), x2 & 0xffff_ffff);
        // csinc / csinv / csneg x0, x1, x2, eq
        assert_eq!(one(0x9a820420, Z), x1);
        assert_eq!(one(0x9a820420, 0), x2 + 1);
        assert_eq!(one(0xda820020, 0), !x2);
        assert_eq!(one(0xda820420, 0), x2.wrapping_neg());
        assert_eq!(one(0xda820420, Z), x1);
        // csneg w0, w1, w2, eq
        assert_eq!(one(0x5a820420, 0), (x2 as u32).wrapping_neg() as u64);
        // csinc with all-ones wraps to 0.
        assert_eq!(exec(&[0x9a820420], &[(2, u64::MAX)], 0).x[0], 0);
        // cset x0, eq / cset w0, hi
        assert_eq!(one(0x9a9f17e0, Z), 1);
        assert_eq!(one(0x9a9f17e0, 0), 0);
        assert_eq!(one(0x1a9f97e0, CF), 1);
        assert_eq!(one(0x1a9f97e0, CF | Z), 0);
        // csetm x0, eq / csetm w0, ne
        assert_eq!(one(0xda9f13e0, Z), u64::MAX);
        assert_eq!(one(0xda9f13e0, 0), 0);
        assert_eq!(one(0x5a9f03e0, 0), 0xffff_ffff);
        assert_eq!(one(0x5a9f03e0, Z), 0);
        // cinc x0, x1, ne / cinv w0, w1, ne / cneg x0, x1, mi
        assert_eq!(one(0x9a810420, 0), x1 + 1);
        assert_eq!(one(0x9a810420, Z), x1);
        assert_eq!(one(0x5a810020, 0), !(x1 as u32) as u64);
        assert_eq!(one(0xda815420, N), x1.wrapping_neg());
        assert_eq!(one(0xda815420, 0), x1);
        // AL / NV select Rn.
        assert_eq!(one(0x9a82e020, 0), x1);
        assert_eq!(one(0x9a82f420, 0), x1);
    }

    #[test]
    fn one_source() {
        let x1 = 0x0123_4567_89ab_cdef_u64;
        let w1 = x1 as u32;
        let words = [
            0xdac00020, // rbit x0, x1
            0x5ac00023, // rbit w3, w1
            0xdac00424, // rev16 x4, x1
            0x5ac00425, // rev16 w5, w1
            0xdac00c26, // rev x6, x1
            0x5ac00827, // rev w7, w1
            0xdac00828, // rev32 x8, x1
        ];
        let cpu = exec(&words, &[(1, x1)], 0);
        assert_eq!(cpu.x[0], x1.reverse_bits());
        assert_eq!(cpu.x[3], w1.reverse_bits() as u64);
        assert_eq!(cpu.x[4], 0x2301_6745_ab89_efcd);
        assert_eq!(cpu.x[5], 0xab89_efcd);
        assert_eq!(cpu.x[6], x1.swap_bytes());
        assert_eq!(cpu.x[7], w1.swap_bytes() as u64);
        assert_eq!(cpu.x[8], 0x6745_2301_efcd_ab89);
    }

    #[test]
    fn count_leading() {
        let clz_x = 0xdac01020;
        let clz_w = 0x5ac01020;
        let cls_x = 0xdac01420;
        let cls_w = 0x5ac01420;
        let one = |w: u32, v: u64| exec(&[w], &[(1, v)], 0).x[0];
        assert_eq!(one(clz_x, 0), 64);
        assert_eq!(one(clz_x, u64::MAX), 0);
        assert_eq!(one(clz_x, 1), 63);
        assert_eq!(one(clz_w, 0xffff_ffff_0000_0000), 32);
        assert_eq!(one(clz_w, u64::MAX), 0);
        assert_eq!(one(clz_w, 0x0001_0000), 15);
        assert_eq!(one(cls_x, 0), 63);
        assert_eq!(one(cls_x, u64::MAX), 63);
        assert_eq!(one(cls_x, 1), 62);
        assert_eq!(one(cls_x, 1 << 63), 0);
        assert_eq!(one(cls_x, 0xc000_0000_0000_0000), 1);
        assert_eq!(one(cls_w, 0xffff_ffff_0000_0000), 31);
        assert_eq!(one(cls_w, 0xffff_ffff), 31);
        assert_eq!(one(cls_w, 0x4000_0000), 0);
        assert_eq!(one(cls_w, 0xffff_8000), 16);
        // With XZR (folded at lift time): clz x0, xzr; cls w0, wzr.
        assert_eq!(exec(&[0xdac013e0], &[], 0).x[0], 64);
        assert_eq!(exec(&[0x5ac017e0], &[], 0).x[0], 31);
    }

    #[test]
    fn divide() {
        let udiv_x = 0x9ac20820;
        let udiv_w = 0x1ac20820;
        let sdiv_x = 0x9ac20c20;
        let sdiv_w = 0x1ac20c20;
        let one = |w: u32, a: u64, b: u64| exec(&[w], &[(1, a), (2, b), (0, 0x5a5a)], 0).x[0];
        assert_eq!(one(udiv_x, 100, 7), 14);
        assert_eq!(one(udiv_x, 100, 0), 0);
        assert_eq!(one(udiv_x, u64::MAX, 1), u64::MAX);
        assert_eq!(
            one(udiv_w, 0xffff_ffff_0000_0064, 0xffff_ffff_0000_0007),
            14
        );
        assert_eq!(one(udiv_w, 0xffff_ffff, 0x1_0000_0000), 0);
        assert_eq!(one(udiv_w, 0xffff_ffff, 1), 0xffff_ffff);
        assert_eq!(one(sdiv_x, (-7i64) as u64, 2), (-3i64) as u64);
        assert_eq!(one(sdiv_x, 7, (-2i64) as u64), (-3i64) as u64);
        assert_eq!(one(sdiv_x, 5, 0), 0);
        assert_eq!(one(sdiv_x, 1 << 63, u64::MAX), 1 << 63);
        assert_eq!(one(sdiv_w, 0x8000_0000, 0xffff_ffff), 0x8000_0000);
        assert_eq!(one(sdiv_w, 0x8000_0000, 0), 0);
        assert_eq!(one(sdiv_w, 0xffff_fff9, 2), 0xffff_fffd);
        assert_eq!(one(sdiv_w, 0x1234_5678_ffff_fff9, 0xffff_ffff), 7);
        // udiv x0, x1, xzr and sdiv w0, wzr, w1 fold at lift time.
        assert_eq!(exec(&[0x9adf0820], &[(1, 9), (0, 3)], 0).x[0], 0);
        assert_eq!(exec(&[0x1ac10fe0], &[(1, 9), (0, 3)], 0).x[0], 0);
    }

    #[test]
    fn variable_shifts_take_amount_mod_width() {
        let x1 = 0x8123_4567_89ab_cdef_u64;
        let w1 = x1 as u32;
        let cases: [(u32, u64, u64); 12] = [
            (0x9ac22020, 65, x1 << 1),                             // lsl x
            (0x1ac22020, 33, (w1 << 1) as u64),                    // lsl w
            (0x9ac22420, 64, x1),                                  // lsr x
            (0x9ac22420, 127, x1 >> 63),                           // lsr x
            (0x1ac22420, 0xffff_ffff_0000_0024, (w1 >> 4) as u64), // lsr w
            (0x9ac22820, 63, u64::MAX),                            // asr x
            (0x1ac22820, 63, ((w1 as i32) >> 31) as u32 as u64),   // asr w
            (0x1ac22820, 32, w1 as u64),                           // asr w
            (0x9ac22c20, 68, x1.rotate_right(4)),                  // ror x
            (0x1ac22c20, 36, w1.rotate_right(4) as u64),           // ror w
            (0x1ac22c20, 0, w1 as u64),                            // ror w
            (0x9ac22020, 0, x1),                                   // lsl x
        ];
        for (w, amount, want) in cases {
            let cpu = exec(&[w], &[(1, x1), (2, amount)], 0);
            assert_eq!(cpu.x[0], want, "{} by {amount}", decode::disassemble(w, 0));
        }
        // lsl x0, x1, xzr (shift by constant 0) is a move.
        assert_eq!(exec(&[0x9adf2020], &[(1, x1)], 0).x[0], x1);
    }

    use crate::arm64::decode;

    #[test]
    fn multiply_accumulate() {
        let (x1, x2, x3) = (
            0x1234_5678_ffff_fffe_u64,
            0x9abc_def0_7fff_ffff_u64,
            0x0fed_cba9_8765_4321_u64,
        );
        let (w1, w2, w3) = (x1 as u32, x2 as u32, x3 as u32);
        let words = [
            0x9b020c24, // madd x4, x1, x2, x3
            0x1b020c25, // madd w5, w1, w2, w3
            0x9b028c26, // msub x6, x1, x2, x3
            0x1b028c27, // msub w7, w1, w2, w3
            0x9b027c28, // mul x8, x1, x2
            0x1b02fc29, // mneg w9, w1, w2
            0x9b220c2a, // smaddl x10, w1, w2, x3
            0x9b228c2b, // smsubl x11, w1, w2, x3
            0x9b227c2c, // smull x12, w1, w2
            0x9ba20c2d, // umaddl x13, w1, w2, x3
            0x9ba28c2e, // umsubl x14, w1, w2, x3
            0x9ba27c2f, // umull x15, w1, w2
        ];
        let cpu = exec(&words, &[(1, x1), (2, x2), (3, x3)], 0);
        let sp = (w1 as i32 as i64).wrapping_mul(w2 as i32 as i64) as u64;
        let up = (w1 as u64) * (w2 as u64);
        assert_eq!(cpu.x[4], x3.wrapping_add(x1.wrapping_mul(x2)));
        assert_eq!(cpu.x[5], w3.wrapping_add(w1.wrapping_mul(w2)) as u64);
        assert_eq!(cpu.x[6], x3.wrapping_sub(x1.wrapping_mul(x2)));
        assert_eq!(cpu.x[7], w3.wrapping_sub(w1.wrapping_mul(w2)) as u64);
        assert_eq!(cpu.x[8], x1.wrapping_mul(x2));
        assert_eq!(cpu.x[9], w1.wrapping_mul(w2).wrapping_neg() as u64);
        assert_eq!(cpu.x[10], x3.wrapping_add(sp));
        assert_eq!(cpu.x[11], x3.wrapping_sub(sp));
        assert_eq!(cpu.x[12], sp);
        assert_eq!(sp, (-2i64 * 0x7fff_ffff) as u64);
        assert_eq!(cpu.x[13], x3.wrapping_add(up));
        assert_eq!(cpu.x[14], x3.wrapping_sub(up));
        assert_eq!(cpu.x[15], up);
        // mul x0, x1, xzr and smull x0, wzr, w1 fold to zero.
        assert_eq!(exec(&[0x9b1f7c20], &[(1, 7), (0, 3)], 0).x[0], 0);
        assert_eq!(exec(&[0x9b217fe0], &[(1, 7), (0, 3)], 0).x[0], 0);
    }

    #[test]
    fn multiply_high() {
        let smulh = 0x9b427c20;
        let umulh = 0x9bc27c20;
        let one = |w: u32, a: u64, b: u64| exec(&[w], &[(1, a), (2, b)], 0).x[0];
        let min = 1u64 << 63;
        let max = i64::MAX as u64;
        assert_eq!(one(smulh, min, min), 0x4000_0000_0000_0000);
        assert_eq!(one(smulh, min, u64::MAX), 0);
        assert_eq!(one(smulh, min, 1), u64::MAX);
        assert_eq!(one(smulh, u64::MAX, u64::MAX), 0);
        assert_eq!(one(smulh, u64::MAX, 1), u64::MAX);
        assert_eq!(one(smulh, max, max), 0x3fff_ffff_ffff_ffff);
        assert_eq!(one(smulh, max, min), 0xc000_0000_0000_0000);
        assert_eq!(one(umulh, u64::MAX, u64::MAX), 0xffff_ffff_ffff_fffe);
        assert_eq!(one(umulh, min, 2), 1);
        assert_eq!(one(umulh, u64::MAX, 1), 0);
        assert_eq!(one(umulh, min, min), 0x4000_0000_0000_0000);
    }

    const CRC_INPUT: &[u8] = b"123456789";
    const CRC32_CHECK: u32 = 0xcbf4_3926;
    const CRC32C_CHECK: u32 = 0xe306_9283;

    /// Feed CRC_INPUT in chunks of `size` bytes (last chunk in bytes) through the
    /// CRC32(C) instruction family `base` (the CRC32B/CRC32CB word for w0, w0, w1).
    fn crc_of(c: bool, chunk: usize) -> u32 {
        let base: u32 = if c { 0x1ac15000 } else { 0x1ac14000 };
        let mut cpu = Cpu::new();
        // Garbage in the upper half of the accumulator must be ignored.
        cpu.x[0] = 0xdead_beef_ffff_ffff;
        let mut rest = CRC_INPUT;
        while !rest.is_empty() {
            let n = chunk.min(rest.len()).next_power_of_two().min(chunk);
            let n = if n > rest.len() { 1 } else { n };
            let sz = n.trailing_zeros();
            let word = base | (sz << 10) | if sz == 3 { 0x8000_0000 } else { 0 };
            let mut v = [0u8; 8];
            v[..n].copy_from_slice(&rest[..n]);
            // Bytes above the operand size must be ignored too.
            cpu.x[1] = u64::from_le_bytes(v) | if n < 8 { 0xa5u64 << 56 } else { 0 };
            run_ok(&[word], &mut cpu);
            assert_eq!(cpu.x[0] >> 32, 0, "result is zero-extended");
            rest = &rest[n..];
        }
        !(cpu.x[0] as u32)
    }

    #[test]
    fn crc32_known_values() {
        for chunk in [1, 2, 4, 8] {
            assert_eq!(crc_of(false, chunk), CRC32_CHECK, "crc32 by {chunk}");
            assert_eq!(crc_of(true, chunk), CRC32C_CHECK, "crc32c by {chunk}");
        }
    }

    #[test]
    fn crc32_needs_the_feature() {
        let features = CpuFeatures {
            crc32: false,
            ..CpuFeatures::default()
        };
        for word in [0x1ac14000, 0x9ac15c00] {
            let mut cpu = Cpu::new();
            assert_eq!(run_with(&[word], &mut cpu, features), Exit::Undefined(word));
        }
    }

    #[test]
    fn crc32c_hardware_matches_software() {
        let sw = CRC32C_SW_HELPERS;
        let hw = crc32c_helpers();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..1000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let acc = x.rotate_left(17);
            for k in 0..4 {
                // SAFETY: the helpers are pure and never touch the CPU pointer; the
                // hardware ones are only returned when the host has SSE4.2.
                let (a, b) = unsafe {
                    (
                        (sw[k].f)(std::ptr::null_mut(), acc, x, 0, 0),
                        (hw[k].f)(std::ptr::null_mut(), acc, x, 0, 0),
                    )
                };
                assert_eq!(a, b, "{} acc={acc:#x} val={x:#x}", sw[k].name);
            }
        }
    }

    /// The lift-time folder must compute exactly what the generated code computes.
    #[test]
    fn folding_agrees_with_generated_code() {
        type Case = (u32, Option<BinOp>, Option<UnOp>);
        let bin_cases: [(u32, BinOp); 15] = [
            (0x0b020020, BinOp::Add),
            (0x4b020020, BinOp::Sub),
            (0x0a020020, BinOp::And),
            (0x0a220020, BinOp::AndNot),
            (0x2a020020, BinOp::Or),
            (0x2a220020, BinOp::OrNot),
            (0x4a020020, BinOp::Xor),
            (0x4a220020, BinOp::XorNot),
            (0x1ac20820, BinOp::UDiv),
            (0x1ac20c20, BinOp::SDiv),
            (0x1ac22020, BinOp::Shl),
            (0x1ac22420, BinOp::Lshr),
            (0x1ac22820, BinOp::Ashr),
            (0x1ac22c20, BinOp::Ror),
            (0x1b027c20, BinOp::Mul),
        ];
        let un_cases: [(u32, UnOp); 6] = [
            (0x5ac00020, UnOp::Rbit),
            (0x5ac00420, UnOp::Rev16),
            (0x5ac00820, UnOp::Rev),
            (0x5ac01020, UnOp::Clz),
            (0x5ac01420, UnOp::Cls),
            (0x5a0203e0, UnOp::Neg), // ngc with C set = neg
        ];
        let mut cases: Vec<(Case, W)> = Vec::new();
        for w in [W::W32, W::W64] {
            let sf = if w == W::W64 { 0x8000_0000 } else { 0 };
            for (word, op) in bin_cases {
                cases.push(((word | sf, Some(op), None), w));
            }
            for (word, op) in un_cases {
                // REV's 64-bit opcode is 3 (2 is REV32).
                let word = if w == W::W64 && op == UnOp::Rev {
                    word | 0x400
                } else {
                    word
                };
                cases.push(((word | sf, None, Some(op)), w));
            }
        }
        cases.push(((0x9b427c20, Some(BinOp::SMulH), None), W::W64));
        cases.push(((0x9bc27c20, Some(BinOp::UMulH), None), W::W64));
        cases.push(((0xdac00820, None, Some(UnOp::Rev32)), W::W64));
        // Destinations x3.. so one run checks every op on a pair of inputs.
        let words: Vec<u32> = cases
            .iter()
            .enumerate()
            .map(|(i, ((w, ..), _))| with_rd(*w, 3 + (i as u32 % 27)))
            .collect();
        let mut vals: Vec<u64> = EDGES.to_vec();
        vals.extend([63, 64, 31, 32, 0xffff_ffff_ffff_ff80, 0x8000_0000_ffff_ffff]);
        for chunk in (0..cases.len()).collect::<Vec<_>>().chunks(27) {
            for &a in &vals {
                for &b in &vals {
                    let ws: Vec<u32> = chunk.iter().map(|&i| words[i]).collect();
                    let cpu = exec(&ws, &[(1, a), (2, b)], CF);
                    for &i in chunk {
                        let ((word, bop, uop), w) = cases[i];
                        let want = match (bop, uop) {
                            (Some(op), _) => eval_bin(op, w, a, b),
                            (_, Some(op)) => eval_un(op, w, if op == UnOp::Neg { b } else { a }),
                            _ => unreachable!(),
                        };
                        let got = cpu.x[3 + i % 27];
                        assert_eq!(
                            got,
                            want,
                            "{} a={a:#x} b={b:#x}",
                            decode::disassemble(word, 0)
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn folded_operands() {
        let x1 = 0xffff_0000_1234_5678_u64;
        let x2 = 0x8765_4321_0000_ffff_u64;
        let words = [
            0x8b0203e3,                         // add x3, xzr, x2
            with_rd(0x4a1f0020, 4),             // eor w4, w1, wzr
            with_rd(0x2a0113e0, 5),             // orr w5, wzr, w1, lsl #4
            with_rd(0xaa3f03e0, 6),             // mvn x6, xzr
            with_rd(0xdac003e0, 7),             // rbit x7, xzr
            with_rd(0x9b02fc20, 8),             // mneg x8, x1, x2
            with_rd(with_rm(0xcb0203e0, 1), 9), // neg x9, x1
        ];
        let cpu = exec(&words, &[(1, x1), (2, x2)], 0);
        assert_eq!(cpu.x[3], x2);
        assert_eq!(cpu.x[4], x1 & 0xffff_ffff);
        assert_eq!(cpu.x[5], ((x1 as u32) << 4) as u64);
        assert_eq!(cpu.x[6], u64::MAX);
        assert_eq!(cpu.x[7], 0);
        assert_eq!(cpu.x[8], x1.wrapping_mul(x2).wrapping_neg());
        assert_eq!(cpu.x[9], x1.wrapping_neg());
    }

    /// Words and `aarch64-linux-gnu-objdump -d` text (tab → space, comments dropped).
    #[test]
    fn disassembly_matches_objdump() {
        let cases: &[(u32, &str)] = &[
            (0xaa0103e0, "mov x0, x1"),
            (0xaa0107e0, "orr x0, xzr, x1, lsl #1"),
            (0xaa4103e0, "orr x0, xzr, x1, lsr #0"),
            (0x2ae10fe0, "mvn w0, w1, ror #3"),
            (0x2a210040, "orn w0, w2, w1"),
            (0xea82143f, "tst x1, x2, asr #5"),
            (0xea22003f, "bics xzr, x1, x2"),
            (0x0a257c83, "bic w3, w4, w5, lsl #31"),
            (0x0a028020, ".inst 0x0a028020 ; undefined"),
            (0xab02003f, "cmn x1, x2"),
            (0xeb020c3f, "cmp x1, x2, lsl #3"),
            (0xcb0203e0, "neg x0, x2"),
            (0x6b820fe0, "negs w0, w2, asr #3"),
            (0xeb0203ff, "cmp xzr, x2"),
            (0x8b0203e0, "add x0, xzr, x2"),
            (0xcb82fc20, "sub x0, x1, x2, asr #63"),
            (0x8b2163e0, "add x0, sp, x1"),
            (0x8b21601f, "add sp, x0, x1"),
            (0x8b2143e0, "add x0, sp, w1, uxtw"),
            (0x0b2143e0, "add w0, wsp, w1"),
            (0x0b214be0, "add w0, wsp, w1, lsl #2"),
            (0x8b22c820, "add x0, x1, w2, sxtw #2"),
            (0x8b226020, "add x0, x1, x2, uxtx"),
            (0xab2163ff, "cmn sp, x1"),
            (0xab22603f, "cmn x1, x2, uxtx"),
            (0xeb22043f, "cmp x1, w2, uxtb #1"),
            (0x0b2263e0, "add w0, wsp, w2, uxtx"),
            (0x8b217be0, ".inst 0x8b217be0 ; undefined"),
            (0xda0203e0, "ngc x0, x2"),
            (0x7a0203e0, "ngcs w0, w2"),
            (0xda020020, "sbc x0, x1, x2"),
            (0x3a020020, "adcs w0, w1, w2"),
            (0xfa421024, "ccmp x1, x2, #0x4, ne"),
            (0x3a5fe82f, "ccmn w1, #0x1f, #0xf, al"),
            (0xfa40f820, "ccmp x1, #0x0, #0x0, nv"),
            (0x9a820020, "csel x0, x1, x2, eq"),
            (0x9a811420, "cinc x0, x1, eq"),
            (0x9a9f17e0, "cset x0, eq"),
            (0x9a81e420, "csinc x0, x1, x1, al"),
            (0x1a828420, "csinc w0, w1, w2, hi"),
            (0xda81b020, "cinv x0, x1, ge"),
            (0xda9fa3e0, "csetm x0, lt"),
            (0xda81b420, "cneg x0, x1, ge"),
            (0xda9fb7e0, "cneg x0, xzr, ge"),
            (0xda9ff3e0, "csinv x0, xzr, xzr, nv"),
            (0xdac00020, "rbit x0, x1"),
            (0x5ac00420, "rev16 w0, w1"),
            (0x5ac00820, "rev w0, w1"),
            (0xdac00820, "rev32 x0, x1"),
            (0xdac00c20, "rev x0, x1"),
            (0x5ac01020, "clz w0, w1"),
            (0xdac01420, "cls x0, x1"),
            (0x1ac20820, "udiv w0, w1, w2"),
            (0x9ac20c20, "sdiv x0, x1, x2"),
            (0x9ac22020, "lsl x0, x1, x2"),
            (0x1ac22c20, "ror w0, w1, w2"),
            (0x1ac24020, "crc32b w0, w1, w2"),
            (0x9ac25c20, "crc32cx w0, w1, x2"),
            (0x1ac14c00, ".inst 0x1ac14c00 ; undefined"),
            (0x9b020c20, "madd x0, x1, x2, x3"),
            (0x1b027c20, "mul w0, w1, w2"),
            (0x9b02fc20, "mneg x0, x1, x2"),
            (0x9b220c20, "smaddl x0, w1, w2, x3"),
            (0x9b22fc20, "smnegl x0, w1, w2"),
            (0x9ba27c20, "umull x0, w1, w2"),
            (0x9ba29020, "umsubl x0, w1, w2, x4"),
            (0x9b420c20, "smulh x0, x1, x2"),
            (0x9bc27c20, "umulh x0, x1, x2"),
        ];
        for &(word, want) in cases {
            assert_eq!(decode::disassemble(word, 0), want, "{word:#010x}");
        }
    }
}
