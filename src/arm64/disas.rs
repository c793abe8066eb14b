//! Small formatting helpers shared by the per-group disassembly functions
//! (each decode-table row carries its own formatter; these keep them consistent).

/// `x5`/`w5`, with 31 shown as `xzr`/`wzr`.
pub fn r(n: u32, sf: bool) -> String {
    match (n, sf) {
        (31, true) => "xzr".into(),
        (31, false) => "wzr".into(),
        (n, true) => format!("x{n}"),
        (n, false) => format!("w{n}"),
    }
}

/// `x5`/`w5`, with 31 shown as `sp`/`wsp`.
pub fn rsp(n: u32, sf: bool) -> String {
    match (n, sf) {
        (31, true) => "sp".into(),
        (31, false) => "wsp".into(),
        _ => r(n, sf),
    }
}

/// Condition-code mnemonic for an A64 `cond` field.
pub fn cond(cc: u32) -> &'static str {
    [
        "eq", "ne", "cs", "cc", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "al",
        "nv",
    ][(cc & 15) as usize]
}

/// An immediate the way objdump prints it (`#0x10`, `#-8`).
pub fn imm(v: i64) -> String {
    if (-9..=9).contains(&v) {
        format!("#{v}")
    } else if v < 0 {
        format!("#-{:#x}", v.unsigned_abs())
    } else {
        format!("#{v:#x}")
    }
}

/// A branch target.
pub fn target(pc: u64, off: i64) -> String {
    format!("{:#x}", pc.wrapping_add(off as u64))
}
