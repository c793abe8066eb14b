//! Lifters: A64 instruction words → IR, one file per encoding group.
//!
//! A lifter gets a [`Lifter`] (the block being built plus the current PC) and the
//! instruction word, appends IR, and says whether the block continues
//! ([`Flow::Next`]) or ends with a terminal ([`Flow::End`]). A word that a row matches
//! but that is unallocated or reserved returns [`LiftError::Undefined`], which becomes
//! a SIGILL trap exactly like a word no row matches.
//!
//! Lifters only build IR: they never touch the CPU state or memory directly (helpers
//! called from generated code may).

pub mod atomic;
pub mod branch;
pub mod dp_imm;
pub mod dp_reg;
pub mod fp;
pub mod ldst;
pub mod simd;
pub mod simd_ldst;
pub mod system;

use super::decode::{self, Encoding};
use crate::ir::{self, Block, Builder, Ctx, IndKind, Op, Reg, Term, Trap, UnOp, Val, W};

/// The decode table's rows, group by group, in priority order.
pub const GROUPS: &[&[Encoding]] = &[
    branch::ENCODINGS,
    system::ENCODINGS,
    dp_imm::ENCODINGS,
    dp_reg::ENCODINGS,
    ldst::ENCODINGS,
    atomic::ENCODINGS,
    fp::ENCODINGS,
    simd_ldst::ENCODINGS,
    simd::ENCODINGS,
];

/// What a lifter did with its instruction.
pub enum Flow {
    /// Fall through to the next instruction.
    Next,
    /// The block ends here with this terminal.
    End(Term),
}

#[derive(Debug, PartialEq, Eq)]
pub enum LiftError {
    /// Unallocated, reserved or (for this CPU model) unimplemented: SIGILL.
    Undefined,
}

pub type Lifted = Result<Flow, LiftError>;

/// Features of the CPU model the lifters may depend on.
#[derive(Clone, Copy, Debug)]
pub struct CpuFeatures {
    /// FEAT_LSE atomics (LDADD, CAS, SWP…).
    pub lse: bool,
    /// FEAT_CRC32.
    pub crc32: bool,
    /// FEAT_LRCPC (LDAPR).
    pub rcpc: bool,
    /// ID registers readable at EL0 (HWCAP_CPUID): MRS of MIDR_EL1 etc. is emulated.
    pub cpuid: bool,
    /// Value returned for MIDR_EL1.
    pub midr: u64,
}

impl Default for CpuFeatures {
    fn default() -> Self {
        CpuFeatures {
            lse: true,
            crc32: true,
            rcpc: true,
            cpuid: true,
            midr: 0x000f_0510,
        }
    }
}

/// The state of one block being lifted.
pub struct Lifter<'a> {
    pub b: Builder,
    /// Address of the instruction being lifted.
    pub pc: u64,
    pub features: &'a CpuFeatures,
}

impl Lifter<'_> {
    /// The exception level the block runs at (its translation context's): EL0-only
    /// behaviour (privileged instructions trap) is today's; system mode lifts EL1
    /// system registers and instructions where this says EL1.
    pub fn el(&self) -> u8 {
        self.b.block.ctx.el()
    }

    /// Address of the next instruction.
    pub fn next_pc(&self) -> u64 {
        self.pc.wrapping_add(4)
    }

    /// Read Xn/Wn where 31 is XZR. (For W reads, ops of width W32 ignore the top half.)
    pub fn x(&mut self, r: u32) -> Val {
        if r == 31 {
            self.b.konst(0)
        } else {
            self.b.get_reg(r as Reg)
        }
    }

    /// Read Xn/Wn where 31 is SP.
    pub fn xsp(&mut self, r: u32) -> Val {
        self.b.get_reg(r as Reg)
    }

    /// Write Xd (W64) or Wd (W32, zero-extending); 31 is XZR (discarded).
    pub fn set_x(&mut self, w: W, r: u32, v: Val) {
        if r == 31 {
            return;
        }
        let v = self.narrow(w, v);
        self.b.set_reg(r as Reg, v);
    }

    /// Write Xd/Wd where 31 is SP.
    pub fn set_xsp(&mut self, w: W, r: u32, v: Val) {
        let v = self.narrow(w, v);
        self.b.set_reg(r as Reg, v);
    }

    /// For W32, make sure `v` is zero-extended from 32 bits (inserting a `Zext32` only
    /// when the producing op does not already guarantee it).
    pub fn narrow(&mut self, w: W, v: Val) -> Val {
        if w == W::W64 || self.is_zext32(v) {
            v
        } else {
            self.b.un(UnOp::Zext32, W::W64, v)
        }
    }

    fn is_zext32(&self, v: Val) -> bool {
        match self.b.block.def(v) {
            Op::Const(c) => *c <= u32::MAX as u64,
            Op::Bin(_, W::W32, ..)
            | Op::Un(_, W::W32, _)
            | Op::Adc(W::W32, ..)
            | Op::Sbc(W::W32, ..)
            | Op::Un(UnOp::Zext32 | UnOp::Zext16 | UnOp::Zext8, _, _)
            | Op::Cond(..) => true,
            Op::Load {
                size,
                signed: false,
                ..
            } => *size <= 4,
            _ => false,
        }
    }

    pub fn konst(&mut self, c: u64) -> Val {
        self.b.konst(c)
    }

    /// End the block with an indirect branch to `target`.
    pub fn indirect(&mut self, target: Val, kind: IndKind) -> Lifted {
        Ok(Flow::End(Term::Indirect(target, kind)))
    }

    /// End the block with a trap at the current instruction.
    pub fn trap(&mut self, trap: Trap) -> Lifted {
        Ok(Flow::End(Term::Trap { trap, pc: self.pc }))
    }
}

/// Extract bits `hi..=lo` of `w`.
#[inline]
pub const fn bits(w: u32, hi: u32, lo: u32) -> u32 {
    (((w as u64) >> lo) & ((1u64 << (hi - lo + 1)) - 1)) as u32
}

/// Extract one bit.
#[inline]
pub const fn bit(w: u32, b: u32) -> u32 {
    (w >> b) & 1
}

/// Sign-extend the low `n` bits of `v`.
#[inline]
pub const fn sext(v: u64, n: u32) -> i64 {
    ((v << (64 - n)) as i64) >> (64 - n)
}

/// Limits on block formation.
pub const MAX_BLOCK_INSNS: usize = 128;

/// Why [`translate`] could not start a block at all.
#[derive(Debug)]
pub struct FetchError;

/// Lift a block starting at `pc`. `fetch(addr)` returns the instruction word at `addr`
/// or `None` when it is not executable. `on_undefined(word, pc)` is called for each
/// word that no row (or no allocated encoding) covers, for `-d unimp` reports.
pub fn translate(
    pc: u64,
    ctx: Ctx,
    features: &CpuFeatures,
    fetch: &mut dyn FnMut(u64) -> Option<u32>,
    on_undefined: &mut dyn FnMut(u32, u64),
) -> Block {
    let mut l = Lifter {
        b: Builder::new(pc),
        pc,
        features,
    };
    l.b.block.ctx = ctx;
    let page_end = (pc | 0xfff).wrapping_add(1);
    let mut n = 0usize;
    loop {
        let Some(word) = fetch(l.pc) else {
            let term = if n == 0 {
                Term::Trap {
                    trap: Trap::FetchFault(l.pc),
                    pc: l.pc,
                }
            } else {
                Term::Goto(l.pc)
            };
            return l.b.finish(term, l.pc - pc);
        };
        l.b.push(Op::InsnStart(l.pc));
        let mark = l.b.block.insts.len();
        let res = match decode::decode(word) {
            Some(e) => (e.lift)(&mut l, word),
            None => Err(LiftError::Undefined),
        };
        n += 1;
        match res {
            Ok(Flow::Next) => {}
            Ok(Flow::End(term)) => {
                let len = l.pc + 4 - pc;
                return l.b.finish(term, len);
            }
            Err(LiftError::Undefined) => {
                on_undefined(word, l.pc);
                // Drop any IR the lifter emitted before it gave up.
                l.b.block.insts.truncate(mark);
                let term = Term::Trap {
                    trap: Trap::Undefined(word),
                    pc: l.pc,
                };
                let len = l.pc + 4 - pc;
                return l.b.finish(term, len);
            }
        }
        l.pc += 4;
        if n >= MAX_BLOCK_INSNS || l.pc == page_end {
            let len = l.pc - pc;
            return l.b.finish(Term::Goto(l.pc), len);
        }
    }
}

/// A helper value for the IR: `ir::Helper` with side effects.
pub const fn helper(name: &'static str, f: ir::HelperFn) -> ir::Helper {
    ir::Helper {
        name,
        f,
        side_effects: true,
        fast: None,
    }
}

/// A helper without side effects (pure function of its arguments).
pub const fn pure_helper(name: &'static str, f: ir::HelperFn) -> ir::Helper {
    ir::Helper {
        name,
        f,
        side_effects: false,
        fast: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_helpers() {
        assert_eq!(bits(0xd400_0001, 31, 24), 0xd4);
        assert_eq!(bits(0xffff_ffff, 31, 0), 0xffff_ffff);
        assert_eq!(bits(0b1010_0000, 7, 5), 0b101);
        assert_eq!(sext(0x1ff, 9), -1);
        assert_eq!(sext(0x0ff, 9), 255);
    }
}
