//! Lifters for branches: B, BL, B.cond, CBZ/CBNZ, TBZ/TBNZ, BR, BLR, RET.
//!
//! Pointer-authenticated forms (BRAA, RETAA…) are not listed: FEAT_PAuth is not
//! implemented or advertised, so they decode as undefined (SIGILL), as on such a CPU.

use super::{bit, bits, sext, Flow, Lifted, Lifter};
use crate::arm64::decode::{Class, Encoding};
use crate::arm64::disas;
use crate::ir::{BinOp, IndKind, Term, W};

pub const ENCODINGS: &[Encoding] = &[
    Encoding::new(
        "B",
        "000101xx_xxxxxxxx_xxxxxxxx_xxxxxxxx",
        Class::Branch,
        lift_b,
        dis_b,
    ),
    Encoding::new(
        "BL",
        "100101xx_xxxxxxxx_xxxxxxxx_xxxxxxxx",
        Class::Branch,
        lift_b,
        dis_b,
    ),
    Encoding::new(
        "B.cond",
        "01010100_xxxxxxxx_xxxxxxxx_xxx0xxxx",
        Class::Branch,
        lift_bcond,
        dis_bcond,
    ),
    Encoding::new(
        "CBZ/CBNZ",
        "x011010x_xxxxxxxx_xxxxxxxx_xxxxxxxx",
        Class::Branch,
        lift_cbz,
        dis_cbz,
    ),
    Encoding::new(
        "TBZ/TBNZ",
        "x011011x_xxxxxxxx_xxxxxxxx_xxxxxxxx",
        Class::Branch,
        lift_tbz,
        dis_tbz,
    ),
    Encoding::new(
        "BR",
        "11010110_00011111_000000xx_xxx00000",
        Class::Branch,
        lift_br,
        dis_br,
    ),
    Encoding::new(
        "BLR",
        "11010110_00111111_000000xx_xxx00000",
        Class::Branch,
        lift_br,
        dis_br,
    ),
    Encoding::new(
        "RET",
        "11010110_01011111_000000xx_xxx00000",
        Class::Branch,
        lift_br,
        dis_br,
    ),
];

fn imm26(w: u32) -> i64 {
    sext(bits(w, 25, 0) as u64, 26) << 2
}
fn imm19(w: u32) -> i64 {
    sext(bits(w, 23, 5) as u64, 19) << 2
}
fn imm14(w: u32) -> i64 {
    sext(bits(w, 18, 5) as u64, 14) << 2
}

fn lift_b(l: &mut Lifter, w: u32) -> Lifted {
    let target = l.pc.wrapping_add(imm26(w) as u64);
    if bit(w, 31) == 1 {
        let ret = l.konst(l.next_pc());
        l.set_x(W::W64, 30, ret);
    }
    Ok(Flow::End(Term::Goto(target)))
}

fn dis_b(w: u32, pc: u64) -> String {
    let m = if bit(w, 31) == 1 { "bl" } else { "b" };
    format!("{m} {}", disas::target(pc, imm26(w)))
}

fn lift_bcond(l: &mut Lifter, w: u32) -> Lifted {
    let cc = bits(w, 3, 0) as u8;
    let target = l.pc.wrapping_add(imm19(w) as u64);
    if cc >= 14 {
        // AL and NV both mean "always".
        return Ok(Flow::End(Term::Goto(target)));
    }
    let nzcv = l.b.get_nzcv();
    let c = l.b.cond(cc, nzcv);
    Ok(Flow::End(Term::Branch {
        cond: c,
        taken: target,
        not_taken: l.next_pc(),
    }))
}

fn dis_bcond(w: u32, pc: u64) -> String {
    format!(
        "b.{} {}",
        disas::cond(bits(w, 3, 0)),
        disas::target(pc, imm19(w))
    )
}

fn lift_cbz(l: &mut Lifter, w: u32) -> Lifted {
    let sf = W::from_sf(bit(w, 31));
    let rt = l.x(bits(w, 4, 0));
    let zero = l.konst(0);
    // CBZ: (rt == 0); CBNZ: (rt != 0). Compute with the flags of `rt - 0`.
    let f = l.b.flags(crate::ir::FlagOp::Sub, sf, rt, zero, rt);
    let cc = if bit(w, 24) == 0 { 0 } else { 1 }; // EQ / NE
    let c = l.b.cond(cc, f);
    Ok(Flow::End(Term::Branch {
        cond: c,
        taken: l.pc.wrapping_add(imm19(w) as u64),
        not_taken: l.next_pc(),
    }))
}

fn dis_cbz(w: u32, pc: u64) -> String {
    let m = if bit(w, 24) == 0 { "cbz" } else { "cbnz" };
    format!(
        "{m} {}, {}",
        disas::r(bits(w, 4, 0), bit(w, 31) == 1),
        disas::target(pc, imm19(w))
    )
}

fn tbz_bit(w: u32) -> u32 {
    (bit(w, 31) << 5) | bits(w, 23, 19)
}

fn lift_tbz(l: &mut Lifter, w: u32) -> Lifted {
    let rt = l.x(bits(w, 4, 0));
    let sh = l.konst(tbz_bit(w) as u64);
    let shifted = l.b.bin(BinOp::Lshr, W::W64, rt, sh);
    let one = l.konst(1);
    let set = l.b.bin(BinOp::And, W::W64, shifted, one);
    // TBZ branches when the bit is clear, TBNZ when set.
    let c = if bit(w, 24) == 0 {
        l.b.bin(BinOp::Xor, W::W64, set, one)
    } else {
        set
    };
    Ok(Flow::End(Term::Branch {
        cond: c,
        taken: l.pc.wrapping_add(imm14(w) as u64),
        not_taken: l.next_pc(),
    }))
}

fn dis_tbz(w: u32, pc: u64) -> String {
    let m = if bit(w, 24) == 0 { "tbz" } else { "tbnz" };
    let b = tbz_bit(w);
    format!(
        "{m} {}, #{b}, {}",
        disas::r(bits(w, 4, 0), b >= 32),
        disas::target(pc, imm14(w))
    )
}

fn lift_br(l: &mut Lifter, w: u32) -> Lifted {
    let opc = bits(w, 22, 21);
    // Read the target before BLR writes X30 (BLR X30 must branch to the old X30).
    let target = l.x(bits(w, 9, 5));
    let kind = match opc {
        0 => IndKind::Jump,
        1 => {
            let ret = l.konst(l.next_pc());
            l.set_x(W::W64, 30, ret);
            IndKind::Call
        }
        _ => IndKind::Ret,
    };
    l.indirect(target, kind)
}

fn dis_br(w: u32, _pc: u64) -> String {
    let rn = bits(w, 9, 5);
    match bits(w, 22, 21) {
        0 => format!("br x{rn}"),
        1 => format!("blr x{rn}"),
        _ if rn == 30 => "ret".into(),
        _ => format!("ret x{rn}"),
    }
}
