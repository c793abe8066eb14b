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
            Loc::Slot(s) => {
                self.free_slots.push(s);
                self.freed_now.push(s);
            }
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
        let l = if let Some(r) = self.free_regs.pop().or_else(|| self.evict_for(i, None)) {
            self.reg_holds[r as usize] = Some(Val(i as u32));
            Loc::Reg(r)
        } else {
            Loc::Slot(self.spill_slot())
        };
        self.loc[i] = l;
        l
    }

    /// With no register free for the value of instruction `i`: free the register of
    /// the live value read next furthest ahead, when that is after `i`'s own first
    /// reader (Belady's choice), by moving that value to a spill slot. Never the operands of `i` (their registers may already be in use
    /// by its emission), `avoid`, or a self-loop's hoisted reads (their registers are
    /// the loop head's). Without this, the new value took the slot, and in long blocks
    /// (SHA-256's rounds) every later value did too while early, long-lived values kept
    /// the registers.
    pub(super) fn evict_for(&mut self, i: usize, avoid: Option<u8>) -> Option<u8> {
        let (mut args, mut n) = ([Val(u32::MAX); 8], 0);
        self.block.insts[i].op.for_each_arg(|a| {
            if n < args.len() {
                args[n] = a;
                n += 1;
            }
        });
        let args = &args[..n];
        let pinned = self.block.insts.len() as u32 + 1;
        // Candidates, then their next readers (an operand of a fused op counts as read
        // where that op stands, or at the end when it stood before `i`: a guess).
        let (mut cand, mut nc) = ([(0u32, 0u8, Val(0)); 16], 0);
        for r in 0..16u8 {
            let Some(v) = self.reg_holds[r as usize] else {
                continue;
            };
            let lu = self.last_use[v.0 as usize];
            if Some(r) == avoid || lu >= pinned || args.contains(&v) {
                continue;
            }
            cand[nc] = (lu, r, v);
            nc += 1;
        }
        if nc == 0 {
            return None;
        }
        let cand = &mut cand[..nc];
        let mine = Val(i as u32);
        let mut my_next = self.last_use[i];
        let mut found = 0;
        for j in i + 1..self.block.insts.len() {
            if found == cand.len() && my_next <= j as u32 {
                break;
            }
            self.block.insts[j].op.for_each_arg(|a| {
                if a == mine && my_next > j as u32 {
                    my_next = j as u32;
                }
                for c in cand.iter_mut() {
                    if c.2 == a && c.0 > j as u32 {
                        c.0 = j as u32;
                        found += 1;
                    }
                }
            });
        }
        let &(next, r, v) = cand.iter().max_by_key(|c| c.0)?;
        if next <= my_next {
            return None;
        }
        // A slot no operand of this instruction was just read from.
        let s = match self
            .free_slots
            .iter()
            .rposition(|s| !self.freed_now.contains(s))
        {
            Some(k) => self.free_slots.remove(k),
            None if (self.next_slot as usize) < SPILL_SLOTS => {
                self.next_slot += 1;
                self.next_slot - 1
            }
            None => return None,
        };
        let o = off::spill(s as usize);
        dynasm!(self.asm ; .arch x64 ; mov [rbp + o], Rq(r));
        self.loc[v.0 as usize] = Loc::Slot(s);
        self.reg_holds[r as usize] = None;
        Some(r)
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

#[cfg(test)]
mod tests {
    //! Register pressure: long blocks that keep more values live than there are host
    //! registers (evictions to spill slots, slots reused), against a model in Rust.
    use crate::arm64::cpu::Cpu;
    use crate::engine::testing::run_ok;

    /// `add xd, xn, xm` or `eor xd, xn, xm, ror #k` over x0..x28, SHA-like mixing.
    fn mixing_block(seed: u64, len: usize) -> (Vec<u32>, impl Fn(&mut [u64; 32])) {
        let mut s = seed;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let mut ops = Vec::new();
        for _ in 0..len {
            let r = next();
            let (d, n, m) = ((r % 29) as u32, (r >> 8) as u32 % 29, (r >> 16) as u32 % 29);
            let k = (r >> 24) as u32 % 64;
            let add = (r >> 40) & 1 == 0;
            ops.push((add, d, n, m, k));
        }
        let words = ops
            .iter()
            .map(|&(add, d, n, m, k)| {
                if add {
                    0x8b00_0000 | m << 16 | n << 5 | d
                } else {
                    0xca00_0000 | 3 << 22 | m << 16 | k << 10 | n << 5 | d
                }
            })
            .collect();
        let model = move |x: &mut [u64; 32]| {
            for &(add, d, n, m, k) in &ops {
                let (a, b) = (x[n as usize], x[m as usize]);
                x[d as usize] = if add {
                    a.wrapping_add(b)
                } else {
                    a ^ b.rotate_right(k)
                };
            }
        };
        (words, model)
    }

    #[test]
    fn long_blocks_under_register_pressure_match_a_model() {
        for seed in 1..40u64 {
            let (words, model) = mixing_block(seed * 0x9e37_79b9, 120);
            let mut cpu = Cpu::new();
            let mut want = [0u64; 32];
            for (r, w) in want.iter_mut().enumerate().take(29) {
                *w = (r as u64 + 1).wrapping_mul(0x0123_4567_89ab_cdef) ^ seed;
            }
            cpu.x = want;
            run_ok(&words, &mut cpu);
            model(&mut want);
            assert_eq!(cpu.x[..29], want[..29], "seed {seed}");
        }
    }
}
