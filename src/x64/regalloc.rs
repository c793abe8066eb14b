//! Register allocation: where each IR value lives (constant, pool register, spill
//! slot), loading values into registers, releasing dead ones, and spilling caller-saved
//! registers around helper calls.

use dynasmrt::{dynasm, DynasmApi};

use super::{caller_saved, Emitter, POOL};
use crate::arm64::cpu::{off, SPILL_SLOTS};
use crate::ir::{Op, Val};

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Loc {
    None,
    Const(u64),
    Reg(u8),
    Slot(u16),
}

impl Emitter<'_> {
    /// Load value `v` into host register `dst`.
    pub(super) fn load(&mut self, dst: u8, v: Val) {
        match self.loc[v.0 as usize] {
            Loc::Const(c) => self.mov_imm(dst, c),
            Loc::Reg(r) => {
                if r != dst {
                    dynasm!(self.asm ; .arch x64 ; mov Rq(dst), Rq(r));
                }
            }
            Loc::Slot(s) => {
                let o = off::spill(s as usize);
                dynasm!(self.asm ; .arch x64 ; mov Rq(dst), [rbp + o]);
            }
            Loc::None => panic!("x64 backend: use of undefined value {v:?}"),
        }
    }

    pub(super) fn mov_imm(&mut self, dst: u8, c: u64) {
        if c == 0 {
            dynasm!(self.asm ; .arch x64 ; xor Rd(dst), Rd(dst));
        } else if c <= u32::MAX as u64 {
            dynasm!(self.asm ; .arch x64 ; mov Rd(dst), c as i32);
        } else if c as i64 >= i32::MIN as i64 && (c as i64) < 0 {
            dynasm!(self.asm ; .arch x64 ; mov Rq(dst), c as i32);
        } else {
            dynasm!(self.asm ; .arch x64 ; mov Rq(dst), QWORD c as i64);
        }
    }

    /// Release the locations of operands of instruction `i` whose last use it is.
    pub(super) fn free_dead(&mut self, i: usize) {
        let op = &self.block.insts[i].op;
        let (mut dead, mut n) = ([Val(0); 8], 0);
        op.for_each_arg(|a| {
            if self.last_use[a.0 as usize] == i as u32 {
                dead[n] = a;
                n += 1;
            }
        });
        for &a in &dead[..n] {
            self.release(a);
        }
    }

    pub(super) fn release(&mut self, a: Val) {
        match self.loc[a.0 as usize] {
            Loc::Reg(r) if self.reg_holds[r as usize] == Some(a) => {
                self.reg_holds[r as usize] = None;
                self.free_regs.push(r);
            }
            Loc::Slot(s) => self.free_slots.push(s),
            _ => {}
        }
        self.loc[a.0 as usize] = Loc::None;
    }

    /// A free spill slot.
    pub(super) fn spill_slot(&mut self) -> u16 {
        self.free_slots.pop().unwrap_or_else(|| {
            let s = self.next_slot;
            assert!(
                (s as usize) < SPILL_SLOTS,
                "x64 backend: out of spill slots"
            );
            self.next_slot += 1;
            s
        })
    }

    /// Choose a location for the value defined by instruction `i` (not yet written).
    pub(super) fn alloc(&mut self, i: usize) -> Loc {
        let l = if let Some(r) = self.free_regs.pop() {
            self.reg_holds[r as usize] = Some(Val(i as u32));
            Loc::Reg(r)
        } else {
            Loc::Slot(self.spill_slot())
        };
        self.loc[i] = l;
        l
    }

    /// Store `rax` as the value of instruction `i` (an instruction's last emission).
    pub(super) fn def_rax(&mut self, i: usize) {
        self.rax_cache = Some(Val(i as u32));
        if self.last_use[i] <= i as u32 && !self.used_by_term(i) {
            return; // never used
        }
        if self.only_next_takes_from_rax(i) {
            return; // its one reader finds it in rax
        }
        match self.alloc(i) {
            Loc::Reg(r) => dynasm!(self.asm ; .arch x64 ; mov Rq(r), rax),
            Loc::Slot(s) => {
                let o = off::spill(s as usize);
                dynasm!(self.asm ; .arch x64 ; mov [rbp + o], rax)
            }
            _ => unreachable!(),
        }
    }

    /// Is the value of `i` read exactly once, as the first operand of the next
    /// instruction that emits code, which takes it from rax (see `rax_cache`)?
    pub(super) fn only_next_takes_from_rax(&self, i: usize) -> bool {
        let insts = &self.block.insts;
        let mut j = i + 1;
        while j < insts.len() {
            match insts[j].op {
                Op::InsnStart(_) | Op::Const(_) => j += 1,
                Op::Flags(..) if self.fused[j] => j += 1,
                Op::Cond(..) if self.branch_cond == Some(j) => j += 1,
                _ => break,
            }
        }
        if j >= insts.len() || self.last_use[i] != j as u32 {
            return false;
        }
        let op = &insts[j].op;
        match op {
            Op::Call(..) => return false,
            Op::SetNzcv(f) | Op::Cond(_, f) if self.fused[f.0 as usize] => return false,
            _ => {}
        }
        let (mut first, mut count, mut k) = (false, 0, 0);
        op.for_each_arg(|a| {
            if a.0 == i as u32 {
                first |= k == 0;
                count += 1;
            }
            k += 1;
        });
        first && count == 1
    }

    pub(super) fn used_by_term(&self, i: usize) -> bool {
        self.last_use[i] == self.block.insts.len() as u32
    }

    /// Move every live value out of caller-saved registers (before a helper call).
    /// Values whose last use is instruction `i` (the call itself) move too, so the
    /// argument set-up never reads a register it has already overwritten.
    pub(super) fn evict_caller_saved(&mut self, _i: usize) {
        for r in POOL {
            if !caller_saved(r) {
                continue;
            }
            if let Some(v) = self.reg_holds[r as usize] {
                let s = self.spill_slot();
                let o = off::spill(s as usize);
                dynasm!(self.asm ; .arch x64 ; mov [rbp + o], Rq(r));
                self.loc[v.0 as usize] = Loc::Slot(s);
                self.reg_holds[r as usize] = None;
                self.free_regs.push(r);
            }
        }
    }
}
