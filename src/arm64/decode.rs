//! The A64 decode table: one row per encoding (name, bit pattern, class, lifter,
//! formatter), written once and used by the decoder, the disassembler (`-d in_asm`),
//! the "unimplemented instruction" report and the random-instruction tester.
//!
//! Each lifter file contributes a `pub const ENCODINGS: &[Encoding]`; [`table`]
//! concatenates them in a fixed order. Rows must not overlap, except that a more
//! specific row may come before a more general one (a test checks this).
//!
//! Decoding uses an index of the rows by instruction bits 31..21 built once, so a lookup
//! scans only the few rows that can match.

use std::sync::OnceLock;

use super::lift::{self, Lifted, Lifter};

/// Broad instruction class, used by `-d unimp` reports and the random tester.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    Branch,
    System,
    DpImm,
    DpReg,
    LoadStore,
    Atomic,
    Fp,
    Simd,
    Crypto,
}

/// A lifter: appends IR for the instruction word to the lifter's block.
pub type LiftFn = fn(&mut Lifter, u32) -> Lifted;
/// A formatter: `(word, pc) -> "mnemonic operands"`.
pub type DisasFn = fn(u32, u64) -> String;

/// One row of the decode table.
#[derive(Clone, Copy)]
pub struct Encoding {
    /// Mnemonic as the Arm ARM names the encoding, e.g. `"ADD (immediate)"`.
    pub name: &'static str,
    /// Bits that must match.
    pub mask: u32,
    /// Their values.
    pub value: u32,
    pub class: Class,
    pub lift: LiftFn,
    pub disas: DisasFn,
}

/// Parse a pattern of 32 `0`/`1`/`x` characters (MSB first; `_` and spaces ignored)
/// into `(mask, value)`. Panics at compile time on a malformed pattern.
pub const fn pattern(p: &str) -> (u32, u32) {
    let b = p.as_bytes();
    let mut mask = 0u32;
    let mut value = 0u32;
    let mut n = 0;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        i += 1;
        if c == b'_' || c == b' ' {
            continue;
        }
        mask <<= 1;
        value <<= 1;
        match c {
            b'0' => mask |= 1,
            b'1' => {
                mask |= 1;
                value |= 1
            }
            b'x' => {}
            _ => panic!("bad character in encoding pattern"),
        }
        n += 1;
    }
    assert!(n == 32, "encoding pattern must have 32 bits");
    (mask, value)
}

impl Encoding {
    /// A row from a 32-character bit pattern (see [`pattern`]).
    pub const fn new(
        name: &'static str,
        pat: &'static str,
        class: Class,
        lift: LiftFn,
        disas: DisasFn,
    ) -> Encoding {
        let (mask, value) = pattern(pat);
        Encoding {
            name,
            mask,
            value,
            class,
            lift,
            disas,
        }
    }

    pub fn matches(&self, word: u32) -> bool {
        word & self.mask == self.value
    }
}

/// All rows, in priority order.
pub fn table() -> &'static [Encoding] {
    static TABLE: OnceLock<Vec<Encoding>> = OnceLock::new();
    TABLE.get_or_init(|| {
        lift::GROUPS
            .iter()
            .flat_map(|g| g.iter().copied())
            .collect()
    })
}

const INDEX_SHIFT: u32 = 21;
const INDEX_SIZE: usize = 1 << (32 - INDEX_SHIFT);

fn index() -> &'static [Vec<u16>] {
    static INDEX: OnceLock<Vec<Vec<u16>>> = OnceLock::new();
    INDEX.get_or_init(|| {
        // Each row goes into every bucket its top bits allow (the subsets of the bits its
        // mask leaves free there), rows in priority order: cheap enough for every start.
        let mut idx = vec![Vec::new(); INDEX_SIZE];
        let top = (INDEX_SIZE - 1) as u32;
        for (i, e) in table().iter().enumerate() {
            let mask = e.mask >> INDEX_SHIFT;
            let fixed = (e.value >> INDEX_SHIFT) & mask;
            let free = !mask & top;
            let mut sub = 0u32;
            loop {
                idx[(fixed | sub) as usize].push(i as u16);
                if sub == free {
                    break;
                }
                sub = sub.wrapping_sub(free) & free;
            }
        }
        idx
    })
}

/// The row that decodes `word`, if any.
pub fn decode(word: u32) -> Option<&'static Encoding> {
    let t = table();
    index()[(word >> INDEX_SHIFT) as usize]
        .iter()
        .map(|&i| &t[i as usize])
        .find(|e| e.matches(word))
}

/// Disassemble one instruction (`.inst 0x…` when it does not decode).
pub fn disassemble(word: u32, pc: u64) -> String {
    match decode(word) {
        Some(e) => (e.disas)(word, pc),
        None => format!(".inst {word:#010x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_parses() {
        assert_eq!(
            pattern("1101_0100_000x_xxxx_xxxx_xxxx_xxx0_0001"),
            (0xffe0_001f, 0xd400_0001)
        );
    }

    /// Two rows overlap when some word matches both. That is only allowed when the
    /// earlier row is strictly more specific (every word it matches, the later one
    /// matches too): a deliberate special case. Anything else is a table bug.
    #[test]
    fn no_unintended_overlaps() {
        let t = table();
        let mut bad = Vec::new();
        for (i, a) in t.iter().enumerate() {
            for b in &t[i + 1..] {
                let common = a.mask & b.mask;
                if (a.value ^ b.value) & common != 0 {
                    continue; // disjoint
                }
                // `a` ⊆ `b` iff a fixes every bit b fixes, with the same value.
                let a_in_b = a.mask & b.mask == b.mask && (a.value ^ b.value) & b.mask == 0;
                if !a_in_b {
                    bad.push(format!("{} / {}", a.name, b.name));
                }
            }
        }
        assert!(bad.is_empty(), "overlapping rows:\n{}", bad.join("\n"));
    }

    #[test]
    fn index_agrees_with_linear_scan() {
        let t = table();
        let mut x: u32 = 0x1234_5678;
        for _ in 0..200_000 {
            // xorshift
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let lin = t.iter().find(|e| e.matches(x)).map(|e| e.name);
            assert_eq!(decode(x).map(|e| e.name), lin, "word {x:#010x}");
        }
    }
}
