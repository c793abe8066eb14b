//! Register-direct emission of the common integer ops.
//!
//! The general path in the parent module computes every value in `rax` and copies it to
//! its location. Here the ops that x86 has a two-address (or `lea`) form for are emitted
//! straight into the register their value gets: `mov rd, ra` (left out when `a` dies here
//! and `rd` reuses its register) then `op rd, rb|imm`. Guest-register writes and memory
//! accesses take their operands from where they are, and fused flag computations compare
//! the operands' registers directly. Anything awkward (shifts by a register, division,
//! high multiplies, spill-slot operands, helper calls) is left to the general path: the
//! functions here return `false` without emitting anything when they do not apply.
//!
//! W32 results stay exactly zero-extended: every W32 op ends in a 32-bit x86 instruction
//! writing the destination, which clears its upper half.
//!
//! Like its parent, this module reads only `ir` and `arm64::cpu` offsets.

use dynasmrt::{dynasm, DynasmApi};

use super::mem::Src;
use super::{Emitter, Loc, RAX, RCX, RDX};
use crate::arm64::cpu::off;
use crate::ir::{BinOp, FlagOp, Op, UnOp, Val, W};

/// `c` as the immediate an x86 op of width `w` sees: sign-extended 32 bits for 64-bit
/// ops, the low 32 bits for 32-bit ops (which compute modulo 2^32).
pub(super) fn imm_of(c: u64, w: W) -> Option<i32> {
    match w {
        W::W64 => i32::try_from(c as i64).ok(),
        W::W32 => Some(c as u32 as i32),
    }
}

impl Emitter<'_> {
    /// After [`Emitter::compare`] for the fused branch and `lahf; seto al`, on one exit
    /// path: store the Arm NZCV of `fop` to the CPU state.
    pub(super) fn store_late_nzcv(&mut self, fop: FlagOp) {
        self.pack_ax(fop, matches!(fop, FlagOp::Sub));
        dynasm!(self.asm ; .arch x64 ; mov [rbp + off::NZCV], rax);
    }

    /// Put the guest address `addr` (the address operand of instruction `i`, a memory
    /// access) in `rax`: computed with one `lea` when it is fused, see
    /// [`super::analysis::fuse_addresses`]. Releases the fused ops' operands that die at `i`.
    pub(super) fn addr_to_rax(&mut self, i: usize, addr: Val, cached: Option<Val>) {
        let k = addr.0 as usize;
        if !self.addr_fused[k] {
            if cached != Some(addr) {
                self.load(RAX, addr);
            }
            return;
        }
        let Op::Bin(BinOp::Add, _, x, y) = self.block.insts[k].op else {
            unreachable!("fused address is not an Add")
        };
        let mut disp: i64 = 0;
        let (mut base, mut index): (Option<u8>, Option<(u8, u8)>) = (None, None);
        let mut scratch = [RCX, RDX].into_iter();
        let (mut dead, mut n_dead) = ([Val(0); 2], 0);
        for v in [x, y] {
            let (v, shift) = match self.block.insts[v.0 as usize].op {
                Op::Bin(BinOp::Shl, _, idx, c) if self.addr_fused[v.0 as usize] => {
                    (idx, self.block.const_of(c).unwrap_or(0) as u8)
                }
                _ => (v, 0),
            };
            if self.last_use[v.0 as usize] == i as u32 {
                dead[n_dead] = v;
                n_dead += 1;
            }
            let r = match self.loc[v.0 as usize] {
                Loc::Const(c) if shift == 0 => {
                    disp = disp.wrapping_add(c as i64);
                    continue;
                }
                Loc::Reg(r) => r,
                _ => {
                    let r = scratch.next().expect("two address operands");
                    self.load(r, v);
                    r
                }
            };
            if shift == 0 && base.is_none() {
                base = Some(r);
            } else {
                // The other operand is unscaled, so `index` is free.
                index = Some((r, shift));
            }
        }
        let (d, big) = match i32::try_from(disp) {
            Ok(d) => (d, false),
            Err(_) => (0, true),
        };
        match (base, index) {
            (None, None) => self.mov_imm(RAX, disp as u64),
            (Some(b), None) => dynasm!(self.asm ; .arch x64 ; lea rax, [Rq(b) + d]),
            (None, Some((ix, sh))) => match sh {
                0 => dynasm!(self.asm ; .arch x64 ; lea rax, [Rq(ix) + d]),
                1 => dynasm!(self.asm ; .arch x64 ; lea rax, [Rq(ix) * 2 + d]),
                2 => dynasm!(self.asm ; .arch x64 ; lea rax, [Rq(ix) * 4 + d]),
                _ => dynasm!(self.asm ; .arch x64 ; lea rax, [Rq(ix) * 8 + d]),
            },
            (Some(b), Some((ix, sh))) => match sh {
                0 => dynasm!(self.asm ; .arch x64 ; lea rax, [Rq(b) + Rq(ix) + d]),
                1 => dynasm!(self.asm ; .arch x64 ; lea rax, [Rq(b) + Rq(ix) * 2 + d]),
                2 => dynasm!(self.asm ; .arch x64 ; lea rax, [Rq(b) + Rq(ix) * 4 + d]),
                _ => dynasm!(self.asm ; .arch x64 ; lea rax, [Rq(b) + Rq(ix) * 8 + d]),
            },
        }
        if big && (base.is_some() || index.is_some()) {
            self.mov_imm(RCX, disp as u64);
            dynasm!(self.asm ; .arch x64 ; add rax, rcx);
        }
        for &v in &dead[..n_dead] {
            self.release(v);
        }
    }

    /// The host register holding operand `v` right now: its own, or `rax` when the
    /// previous instruction left it there (`cached`, see `rax_cache`).
    fn reg_of(&self, v: Val, cached: Option<Val>) -> Option<u8> {
        match self.loc[v.0 as usize] {
            Loc::Reg(r) => Some(r),
            _ if cached == Some(v) => Some(RAX),
            _ => None,
        }
    }

    /// Is the value of instruction `i` never read?
    /// Free op `i`'s dead operands and choose the register for its result, reusing
    /// first operand `a`'s register when `a` dies here (never `avoid`). Returns `a`'s
    /// register and location as they were before, and the result register; `None` when
    /// the result is unused (nothing is left to emit).
    fn result_reg(
        &mut self,
        i: usize,
        a: Val,
        cached: Option<Val>,
        avoid: Option<u8>,
    ) -> Option<(Option<u8>, Loc, u8)> {
        let (ra, la) = (self.reg_of(a, cached), self.loc[a.0 as usize]);
        if self.unused(i) {
            self.free_dead(i);
            return None;
        }
        let a_dies = self.last_use[a.0 as usize] == i as u32;
        self.free_dead(i);
        let prefer = ra.filter(|&r| a_dies && r != RAX);
        Some((ra, la, self.alloc_direct(i, prefer, avoid)))
    }

    pub(super) fn unused(&self, i: usize) -> bool {
        self.last_use[i] <= i as u32 && !self.used_by_term(i)
    }

    /// Choose the register for the value of instruction `i` (its dead operands already
    /// released): `prefer` when it is free, otherwise any free register but `avoid`.
    /// Without one the value gets a spill slot and is computed in `rax` (see
    /// [`Emitter::finish_direct`]).
    pub(super) fn alloc_direct(&mut self, i: usize, prefer: Option<u8>, avoid: Option<u8>) -> u8 {
        let pick = prefer.filter(|r| self.free_regs.contains(r)).or_else(|| {
            self.free_regs
                .iter()
                .rev()
                .copied()
                .find(|&r| Some(r) != avoid)
        });
        let pick = match pick {
            Some(r) => Some(r),
            None => self.evict_for(i, avoid),
        };
        match pick {
            Some(r) => {
                self.free_regs.retain(|&x| x != r);
                self.reg_holds[r as usize] = Some(Val(i as u32));
                self.loc[i] = Loc::Reg(r);
                r
            }
            None => {
                let s = self.spill_slot();
                self.loc[i] = Loc::Slot(s);
                RAX
            }
        }
    }

    /// The value of instruction `i` is in `rd`: if that is `rax` (a spill slot, or a
    /// value nobody reads), store it to its slot.
    pub(super) fn finish_direct(&mut self, i: usize, rd: u8) {
        if rd == RAX {
            if let Loc::Slot(s) = self.loc[i] {
                let o = off::spill(s as usize);
                dynasm!(self.asm ; .arch x64 ; mov [rbp + o], rax);
            }
            self.rax_cache = Some(Val(i as u32));
        } else {
            self.rax_cache = None;
        }
    }

    /// `rd = a` (a 32-bit move for W32, which zero-extends), from register `ra` or, when
    /// `a` is in none, from its location `la` (taken before `a` may have been released).
    fn copy_to(&mut self, rd: u8, la: Loc, ra: Option<u8>, w: W) {
        match (ra, la) {
            (Some(r), _) if r == rd => {}
            (Some(r), _) => match w {
                W::W64 => dynasm!(self.asm ; .arch x64 ; mov Rq(rd), Rq(r)),
                W::W32 => dynasm!(self.asm ; .arch x64 ; mov Rd(rd), Rd(r)),
            },
            (None, Loc::Const(c)) => self.mov_imm(rd, c),
            (None, Loc::Slot(s)) => {
                let o = off::spill(s as usize);
                dynasm!(self.asm ; .arch x64 ; mov Rq(rd), [rbp + o]);
            }
            (None, _) => panic!("x64 backend: operand without a location"),
        }
    }

    /// Emit instruction `i` (already known to emit code) register-direct, if it is one
    /// of the ops handled here. `cached` is what `rax` holds from the previous
    /// instruction.
    pub(super) fn direct(&mut self, i: usize, op: &Op, cached: Option<Val>) -> bool {
        match *op {
            Op::Bin(bop, w, a, b) => self.direct_bin(i, bop, w, a, b, cached),
            Op::Un(uop, w, a) => self.direct_un(i, uop, w, a, cached),
            Op::SetReg(r, v) => {
                let o = off::x(r);
                if let Some(rv) = self.reg_of(v, cached) {
                    dynasm!(self.asm ; .arch x64 ; mov [rbp + o], Rq(rv));
                } else if let Some(k) = self.block.const_of(v).and_then(|c| imm_of(c, W::W64)) {
                    dynasm!(self.asm ; .arch x64 ; mov QWORD [rbp + o], k);
                } else {
                    return false;
                }
                self.free_dead(i);
                true
            }
            _ => false,
        }
    }

    fn direct_bin(
        &mut self,
        i: usize,
        bop: BinOp,
        w: W,
        a: Val,
        b: Val,
        cached: Option<Val>,
    ) -> bool {
        use BinOp::*;
        let commutative = matches!(bop, Add | And | Or | Xor | Mul);
        let shift = matches!(bop, Shl | Lshr | Ashr | Ror);
        if !commutative && !shift && bop != Sub {
            return false;
        }
        let (mut a, mut b) = (a, b);
        if commutative && self.block.const_of(a).is_some() && self.block.const_of(b).is_none() {
            std::mem::swap(&mut a, &mut b);
        }
        let src = match self.loc[b.0 as usize] {
            Loc::Const(c) if shift => Src::Imm((c & (w.bits() as u64 - 1)) as i32),
            Loc::Const(c) => match imm_of(c, w) {
                Some(k) => Src::Imm(k),
                None => return false,
            },
            Loc::Reg(r) if !shift => Src::Reg(r),
            _ => return false,
        };
        let avoid = match src {
            Src::Reg(r) => Some(r),
            Src::Imm(_) => None,
        };
        let Some((ra, la, rd)) = self.result_reg(i, a, cached, avoid) else {
            return true;
        };
        let w64 = w == W::W64;
        // Three-operand forms when the result does not land in a's register.
        if let Some(r) = ra.filter(|&r| r != rd) {
            match (bop, src) {
                (Add, Src::Imm(k)) | (Sub, Src::Imm(k)) => {
                    let k = if bop == Sub { k.wrapping_neg() } else { k };
                    // A 64-bit subtraction of -2^31 has no negated immediate.
                    if !(w64 && bop == Sub && k == i32::MIN) {
                        if w64 {
                            dynasm!(self.asm ; .arch x64 ; lea Rq(rd), [Rq(r) + k]);
                        } else {
                            dynasm!(self.asm ; .arch x64 ; lea Rd(rd), [Rq(r) + k]);
                        }
                        self.finish_direct(i, rd);
                        return true;
                    }
                }
                (Add, Src::Reg(rb)) => {
                    if w64 {
                        dynasm!(self.asm ; .arch x64 ; lea Rq(rd), [Rq(r) + Rq(rb)]);
                    } else {
                        dynasm!(self.asm ; .arch x64 ; lea Rd(rd), [Rq(r) + Rq(rb)]);
                    }
                    self.finish_direct(i, rd);
                    return true;
                }
                (Mul, Src::Imm(k)) => {
                    if w64 {
                        dynasm!(self.asm ; .arch x64 ; imul Rq(rd), Rq(r), k);
                    } else {
                        dynasm!(self.asm ; .arch x64 ; imul Rd(rd), Rd(r), k);
                    }
                    self.finish_direct(i, rd);
                    return true;
                }
                _ => {}
            }
        }
        self.copy_to(rd, la, ra, w);
        match src {
            Src::Reg(rb) => match (bop, w64) {
                (Add, true) => dynasm!(self.asm ; .arch x64 ; add Rq(rd), Rq(rb)),
                (Add, false) => dynasm!(self.asm ; .arch x64 ; add Rd(rd), Rd(rb)),
                (Sub, true) => dynasm!(self.asm ; .arch x64 ; sub Rq(rd), Rq(rb)),
                (Sub, false) => dynasm!(self.asm ; .arch x64 ; sub Rd(rd), Rd(rb)),
                (And, true) => dynasm!(self.asm ; .arch x64 ; and Rq(rd), Rq(rb)),
                (And, false) => dynasm!(self.asm ; .arch x64 ; and Rd(rd), Rd(rb)),
                (Or, true) => dynasm!(self.asm ; .arch x64 ; or Rq(rd), Rq(rb)),
                (Or, false) => dynasm!(self.asm ; .arch x64 ; or Rd(rd), Rd(rb)),
                (Xor, true) => dynasm!(self.asm ; .arch x64 ; xor Rq(rd), Rq(rb)),
                (Xor, false) => dynasm!(self.asm ; .arch x64 ; xor Rd(rd), Rd(rb)),
                (Mul, true) => dynasm!(self.asm ; .arch x64 ; imul Rq(rd), Rq(rb)),
                (Mul, false) => dynasm!(self.asm ; .arch x64 ; imul Rd(rd), Rd(rb)),
                _ => unreachable!("direct_bin: {bop:?}"),
            },
            Src::Imm(k) => {
                let sh = k as i8;
                match (bop, w64) {
                    (Shl | Lshr | Ashr | Ror, true) if sh == 0 => {}
                    (Shl | Lshr | Ashr | Ror, false) if sh == 0 => {
                        dynasm!(self.asm ; .arch x64 ; mov Rd(rd), Rd(rd))
                    }
                    (Add, true) => dynasm!(self.asm ; .arch x64 ; add Rq(rd), k),
                    (Add, false) => dynasm!(self.asm ; .arch x64 ; add Rd(rd), k),
                    (Sub, true) => dynasm!(self.asm ; .arch x64 ; sub Rq(rd), k),
                    (Sub, false) => dynasm!(self.asm ; .arch x64 ; sub Rd(rd), k),
                    (And, true) => dynasm!(self.asm ; .arch x64 ; and Rq(rd), k),
                    (And, false) => dynasm!(self.asm ; .arch x64 ; and Rd(rd), k),
                    (Or, true) => dynasm!(self.asm ; .arch x64 ; or Rq(rd), k),
                    (Or, false) => dynasm!(self.asm ; .arch x64 ; or Rd(rd), k),
                    (Xor, true) => dynasm!(self.asm ; .arch x64 ; xor Rq(rd), k),
                    (Xor, false) => dynasm!(self.asm ; .arch x64 ; xor Rd(rd), k),
                    (Mul, true) => dynasm!(self.asm ; .arch x64 ; imul Rq(rd), Rq(rd), k),
                    (Mul, false) => dynasm!(self.asm ; .arch x64 ; imul Rd(rd), Rd(rd), k),
                    (Shl, true) => dynasm!(self.asm ; .arch x64 ; shl Rq(rd), sh),
                    (Shl, false) => dynasm!(self.asm ; .arch x64 ; shl Rd(rd), sh),
                    (Lshr, true) => dynasm!(self.asm ; .arch x64 ; shr Rq(rd), sh),
                    (Lshr, false) => dynasm!(self.asm ; .arch x64 ; shr Rd(rd), sh),
                    (Ashr, true) => dynasm!(self.asm ; .arch x64 ; sar Rq(rd), sh),
                    (Ashr, false) => dynasm!(self.asm ; .arch x64 ; sar Rd(rd), sh),
                    (Ror, true) => dynasm!(self.asm ; .arch x64 ; ror Rq(rd), sh),
                    (Ror, false) => dynasm!(self.asm ; .arch x64 ; ror Rd(rd), sh),
                    _ => unreachable!("direct_bin: {bop:?}"),
                }
            }
        }
        self.finish_direct(i, rd);
        true
    }

    fn direct_un(&mut self, i: usize, uop: UnOp, w: W, a: Val, cached: Option<Val>) -> bool {
        use UnOp::*;
        if !matches!(
            uop,
            Not | Neg | Rev | Zext8 | Zext16 | Zext32 | Sext8 | Sext16 | Sext32
        ) {
            return false;
        }
        let Some((ra, la, rd)) = self.result_reg(i, a, cached, None) else {
            return true;
        };
        let w64 = w == W::W64;
        // The extensions read a's register (or rd after loading a there).
        let r = match ra {
            Some(r) => r,
            None => {
                self.copy_to(rd, la, None, W::W64);
                rd
            }
        };
        match (uop, w64) {
            (Zext8, _) => dynasm!(self.asm ; .arch x64 ; movzx Rd(rd), Rb(r)),
            (Zext16, _) => dynasm!(self.asm ; .arch x64 ; movzx Rd(rd), Rw(r)),
            (Zext32, _) | (Sext32, false) => dynasm!(self.asm ; .arch x64 ; mov Rd(rd), Rd(r)),
            (Sext8, true) => dynasm!(self.asm ; .arch x64 ; movsx Rq(rd), Rb(r)),
            (Sext8, false) => dynasm!(self.asm ; .arch x64 ; movsx Rd(rd), Rb(r)),
            (Sext16, true) => dynasm!(self.asm ; .arch x64 ; movsx Rq(rd), Rw(r)),
            (Sext16, false) => dynasm!(self.asm ; .arch x64 ; movsx Rd(rd), Rw(r)),
            (Sext32, true) => dynasm!(self.asm ; .arch x64 ; movsxd Rq(rd), Rd(r)),
            _ => {
                self.copy_to(rd, la, Some(r), w);
                match (uop, w64) {
                    (Not, true) => dynasm!(self.asm ; .arch x64 ; not Rq(rd)),
                    (Not, false) => dynasm!(self.asm ; .arch x64 ; not Rd(rd)),
                    (Neg, true) => dynasm!(self.asm ; .arch x64 ; neg Rq(rd)),
                    (Neg, false) => dynasm!(self.asm ; .arch x64 ; neg Rd(rd)),
                    (Rev, true) => dynasm!(self.asm ; .arch x64 ; bswap Rq(rd)),
                    (Rev, false) => dynasm!(self.asm ; .arch x64 ; bswap Rd(rd)),
                    _ => unreachable!("direct_un: {uop:?}"),
                }
            }
        }
        self.finish_direct(i, rd);
        true
    }

    /// The x86 compare for fused flags value `f` (read at instruction `i`), straight on
    /// the operands' registers where it can be; releases operands whose last reader is
    /// `i`. The x86 flags are then those [`Emitter::flag_op`] would leave.
    pub(super) fn compare(&mut self, f: Val, i: usize) -> (FlagOp, W) {
        let Op::Flags(fop, w, a, b, c) = self.block.insts[f.0 as usize].op else {
            unreachable!("fused value is not a Flags op")
        };
        let w64 = w == W::W64;
        let src = match self.loc[b.0 as usize] {
            Loc::Reg(r) => Some(Src::Reg(r)),
            Loc::Const(c) => imm_of(c, w).map(Src::Imm),
            _ => None,
        };
        let ra = match self.loc[a.0 as usize] {
            Loc::Reg(r) => Some(r),
            _ => None,
        };
        match (fop, src) {
            (FlagOp::Sub, Some(s)) => {
                let r = ra.unwrap_or_else(|| {
                    self.load(RAX, a);
                    RAX
                });
                match (s, w64) {
                    (Src::Reg(rb), true) => dynasm!(self.asm ; .arch x64 ; cmp Rq(r), Rq(rb)),
                    (Src::Reg(rb), false) => dynasm!(self.asm ; .arch x64 ; cmp Rd(r), Rd(rb)),
                    (Src::Imm(k), true) => dynasm!(self.asm ; .arch x64 ; cmp Rq(r), k),
                    (Src::Imm(k), false) => dynasm!(self.asm ; .arch x64 ; cmp Rd(r), k),
                }
            }
            (FlagOp::Logic, _) if ra.is_some() => {
                let r = ra.unwrap_or(RAX);
                if w64 {
                    dynasm!(self.asm ; .arch x64 ; test Rq(r), Rq(r));
                } else {
                    dynasm!(self.asm ; .arch x64 ; test Rd(r), Rd(r));
                }
            }
            (FlagOp::Add, Some(s)) => {
                self.load(RAX, a);
                match (s, w64) {
                    (Src::Reg(rb), true) => dynasm!(self.asm ; .arch x64 ; add rax, Rq(rb)),
                    (Src::Reg(rb), false) => dynasm!(self.asm ; .arch x64 ; add eax, Rd(rb)),
                    (Src::Imm(k), true) => dynasm!(self.asm ; .arch x64 ; add rax, k),
                    (Src::Imm(k), false) => dynasm!(self.asm ; .arch x64 ; add eax, k),
                }
            }
            _ => {
                let r = self.load_flag_operands(f, i);
                self.flag_op(r.0, r.1);
                return r;
            }
        }
        for v in [a, b, c] {
            if self.last_use[v.0 as usize] == i as u32 {
                self.release(v);
            }
        }
        (fop, w)
    }
}
