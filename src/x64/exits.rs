//! Block entry and exits: the interrupt check at entry, chainable jumps and their stubs,
//! indirect-branch lookup, and the exits that return an exit code to the dispatcher.

use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi};

use super::abi::JT_HOST_UNITS;
use super::analysis::SelfLoop;
use super::{exit, x86_cond, ChainExit, Emitter, Loc, LoopState, JT_ENTRIES, RAX, RCX, RDX};
use crate::arm64::cpu::off;
use crate::ir::FlagOp;
use crate::ir::{Op, Term, Trap};

impl Emitter<'_> {
    pub(super) fn prologue(&mut self) {
        // A dynamic label: cheaper to emit than a local one (dynasm keeps those in a
        // hash map). Moving the interrupt exit out of line (a not-taken jne instead of
        // this taken je) made the int-interp kernel 60 % slower: not done.
        let pc = self.block.pc;
        let epi = self.rt.epilogue;
        let go = self.asm.new_dynamic_label();
        dynasm!(self.asm
            ; .arch x64
            ; cmp DWORD [rbp + off::INTERRUPT], 0
            ; je =>go
            ; mov rax, QWORD pc as i64
            ; mov [rbp + off::PC], rax
            ; mov eax, exit::INTERRUPT as i32
            ; jmp extern epi
            ; =>go
        );
    }

    /// Emit a patchable `jmp rel32` that initially goes to a stub returning CHAIN.
    pub(super) fn chain_exit(&mut self, target: u64) {
        // Align the rel32 field to 4 bytes so patching it is a single atomic store.
        while !(self.offset() + 1).is_multiple_of(4) {
            dynasm!(self.asm ; .arch x64 ; nop);
        }
        let stub = self.asm.new_dynamic_label();
        let after = self.asm.new_dynamic_label();
        dynasm!(self.asm
            ; .arch x64
            ; jmp =>stub
            ; =>after
        );
        // dynasm-rs always encodes label jumps with a rel32 displacement.
        let end = self.offset();
        self.exits.push(ChainExit {
            slot_end: end,
            target,
        });
        self.chain_stubs.push((stub, after, target));
    }

    pub(super) fn exit_with(&mut self, code: u64, pc: u64, arg: Option<u64>) {
        let epi = self.rt.epilogue;
        dynasm!(self.asm
            ; .arch x64
            ; mov rax, QWORD pc as i64
            ; mov [rbp + off::PC], rax
        );
        if let Some(a) = arg {
            dynasm!(self.asm
                ; .arch x64
                ; mov rax, QWORD a as i64
                ; mov [rbp + off::EXIT_ARG], rax
            );
        }
        dynasm!(self.asm
            ; .arch x64
            ; mov eax, code as i32
            ; jmp extern epi
        );
    }

    pub(super) fn term(&mut self) {
        self.rax_cache = None;
        let term = self.block.term.clone();
        match term {
            Term::Goto(t) => self.edge(t, None),
            Term::Branch {
                cond,
                taken,
                not_taken,
            } => {
                // The taken edge falls through (a self-loop's back edge is always the
                // taken one: the other is the next address).
                let other = self.asm.new_dynamic_label();
                // NZCV written just before the branch: packed on each exit path from
                // the one compare (lahf and seto leave the x86 flags for the jcc).
                let mut nzcv_late = None;
                match self.branch_cond {
                    Some(k) => {
                        let Op::Cond(cc, f) = self.block.insts[k].op else {
                            unreachable!()
                        };
                        let (fop, _) = self.compare(f, self.block.insts.len());
                        let xc = x86_cond(fop, cc).expect("checked when fusing");
                        if self.nzcv_at_exit.is_some() {
                            dynasm!(self.asm ; .arch x64 ; lahf ; seto al);
                            nzcv_late = Some(fop);
                        }
                        self.jcc(xc.not(), other);
                    }
                    None => {
                        self.load(RAX, cond);
                        dynasm!(self.asm
                            ; .arch x64
                            ; test rax, rax
                            ; jz =>other
                        );
                    }
                }
                self.edge(taken, nzcv_late);
                dynasm!(self.asm ; .arch x64 ; =>other);
                self.edge(not_taken, nzcv_late);
            }
            Term::Indirect(v, _kind) => {
                // Inline lookup in the indirect-branch table; a miss (or a disabled
                // table) returns to the dispatcher, which fills the entry.
                self.load(RAX, v);
                let epi = self.rt.epilogue;
                if let Some(jt) = self.rt.jump_table_for(self.block.ctx) {
                    // One load of the entry (see `JtEntry`): hit when its PC tag equals
                    // pc >> 18, then jump to cache_base + 16 * offset.
                    let mask = (JT_ENTRIES - 1) as i32;
                    let base = self.rt.cache_base as i64;
                    if super::jt_high(self.block.ctx) {
                        // This table holds upper-range PCs without their top 16 bits.
                        dynasm!(self.asm
                            ; .arch x64
                            ; mov rcx, rax
                            ; shr rcx, 48
                            ; cmp ecx, 0xffff
                            ; jne >miss
                        );
                    } else {
                        dynasm!(self.asm
                            ; .arch x64
                            ; mov rcx, rax
                            ; shr rcx, 48
                            ; jnz >miss
                        );
                    }
                    dynasm!(self.asm
                        ; .arch x64
                        ; mov rcx, rax
                        ; shr rcx, 2
                        ; and ecx, mask
                        ; mov rdx, QWORD jt as i64
                        ; mov rdx, [rdx + rcx * 8]
                        ; not rdx
                        ; mov rcx, rax
                    );
                    if super::jt_high(self.block.ctx) {
                        dynasm!(self.asm ; .arch x64 ; shl rcx, 16 ; shr rcx, 34);
                    } else {
                        dynasm!(self.asm ; .arch x64 ; shr rcx, 18);
                    }
                    dynasm!(self.asm
                        ; .arch x64
                        ; shl rcx, 24
                        ; xor rdx, rcx
                        ; cmp rdx, (JT_HOST_UNITS - 1) as i32
                        ; ja >miss
                        ; shl rdx, 4
                        ; mov rcx, QWORD base
                        ; add rdx, rcx
                        ; jmp rdx
                        ; miss:
                    );
                }
                dynasm!(self.asm
                    ; .arch x64
                    ; mov [rbp + off::PC], rax
                    ; mov eax, exit::LOOKUP as i32
                    ; jmp extern epi
                );
            }
            Term::Trap { trap, pc } => {
                let (code, arg) = match trap {
                    Trap::Svc(imm) => (exit::SVC, Some(imm as u64)),
                    Trap::Brk(imm) => (exit::BRK, Some(imm as u64)),
                    Trap::Undefined(w) => (exit::UNDEFINED, Some(w as u64)),
                    Trap::Privileged(w) => (exit::PRIVILEGED, Some(w as u64)),
                    Trap::FetchFault(a) => (exit::FETCH_FAULT, Some(a)),
                    Trap::IcInvalidate => (exit::IC_INVALIDATE, None),
                    Trap::Resync => (exit::RESYNC, None),
                };
                self.exit_with(code, pc, arg);
            }
        }
    }

    /// Leave for `target`: the back edge of a self-loop, else a chainable exit. `late`:
    /// NZCV is to be stored from `ax` (`lahf; seto al` after the branch's compare).
    fn edge(&mut self, target: u64, late: Option<FlagOp>) {
        if self.self_loop.is_some() && target == self.block.pc {
            self.loop_back(late);
        } else {
            self.store_nzcv_at_exit(late);
            self.chain_exit(target);
        }
    }

    /// The index of a self-loop's `SetNzcv` that is stored only where the loop is left
    /// (see [`SelfLoop::nzcv_deferred`]).
    pub(super) fn nzcv_deferred(&self) -> Option<usize> {
        self.self_loop.as_ref()?.plan.nzcv_deferred
    }

    /// On a way out of the block: store NZCV when its `SetNzcv` was left for the exits.
    fn store_nzcv_at_exit(&mut self, late: Option<FlagOp>) {
        if let Some(fop) = late {
            self.store_late_nzcv(fop);
            return;
        }
        let Some(k) = self.nzcv_deferred() else {
            return;
        };
        let Op::SetNzcv(f) = self.block.insts[k].op else {
            unreachable!()
        };
        if self.fused[f.0 as usize] {
            // Redo the compare on its operands (kept alive; never released here).
            let (fop, _) = self.compare(f, usize::MAX);
            self.pack_flags(fop);
        } else {
            self.load(RAX, f);
        }
        dynasm!(self.asm ; .arch x64 ; mov [rbp + off::NZCV], rax);
    }

    /// Start of a self-loop (after the entry check): load the carried registers into
    /// the locations of their `GetReg`s, then place the loop head.
    pub(super) fn loop_head(&mut self, plan: SelfLoop) {
        let mut hoisted = vec![false; self.block.insts.len()];
        for &(g, _) in &plan.carried {
            let Op::GetReg(r) = self.block.insts[g].op else {
                unreachable!("carried value is not a GetReg")
            };
            hoisted[g] = true;
            let o = off::x(r);
            match self.alloc(g) {
                Loc::Reg(h) => dynasm!(self.asm ; .arch x64 ; mov Rq(h), [rbp + o]),
                Loc::Slot(s) => {
                    let so = off::spill(s as usize);
                    dynasm!(self.asm ; .arch x64 ; mov rax, [rbp + o] ; mov [rbp + so], rax);
                }
                _ => unreachable!(),
            }
        }
        let head = self.asm.new_dynamic_label();
        dynasm!(self.asm ; .arch x64 ; =>head);
        self.rax_cache = None;
        self.self_loop = Some(LoopState {
            plan,
            head,
            hoisted,
        });
    }

    /// The back edge of a self-loop: the interrupt check, which leaves with the CPU
    /// state exact (every `SetReg` was stored; NZCV is stored on the way out when its
    /// store was deferred), then the values written to carried registers move into the
    /// locations their reads had at the loop head (a parallel move; `rcx` breaks cycles,
    /// `rdx` carries memory-to-memory moves).
    fn loop_back(&mut self, late: Option<FlagOp>) {
        let st = self.self_loop.as_ref().expect("not a self-loop");
        let head = st.head;
        let deferred = st.plan.nzcv_deferred.is_some();
        if !deferred {
            self.store_nzcv_at_exit(late);
        }
        // Interrupts first, while every value of this iteration is where it was.
        let cold = self.asm.new_dynamic_label();
        dynasm!(self.asm
            ; .arch x64
            ; cmp DWORD [rbp + off::INTERRUPT], 0
            ; jne =>cold
        );
        let st = self.self_loop.as_ref().expect("not a self-loop");
        // (destination, source); `Loc::None` as a source stands for rcx.
        let mut moves: Vec<(Loc, Loc)> = st
            .plan
            .carried
            .iter()
            .map(|&(g, v)| (self.loc[g], self.loc[v.0 as usize]))
            .filter(|(d, s)| d != s)
            .collect();
        while !moves.is_empty() {
            let ready = (0..moves.len()).find(|&k| {
                let d = moves[k].0;
                !moves.iter().any(|&(_, s)| s == d)
            });
            match ready {
                Some(k) => {
                    let (d, s) = moves.swap_remove(k);
                    self.move_loc(d, s);
                }
                None => {
                    // Only cycles left: free the first destination by copying what it
                    // holds to rcx for the moves that read it.
                    let d = moves[0].0;
                    self.move_to_rcx(d);
                    for m in moves.iter_mut() {
                        if m.1 == d {
                            m.1 = Loc::None;
                        }
                    }
                }
            }
        }
        dynasm!(self.asm ; .arch x64 ; jmp =>head ; =>cold);
        if deferred {
            self.store_nzcv_at_exit(late);
        }
        let pc = self.block.pc;
        let epi = self.rt.epilogue;
        dynasm!(self.asm
            ; .arch x64
            ; mov rax, QWORD pc as i64
            ; mov [rbp + off::PC], rax
            ; mov eax, exit::INTERRUPT as i32
            ; jmp extern epi
        );
    }

    fn move_to_rcx(&mut self, l: Loc) {
        match l {
            Loc::Reg(r) => dynasm!(self.asm ; .arch x64 ; mov rcx, Rq(r)),
            Loc::Slot(s) => {
                let o = off::spill(s as usize);
                dynasm!(self.asm ; .arch x64 ; mov rcx, [rbp + o]);
            }
            _ => unreachable!("a move destination is a register or a slot"),
        }
    }

    /// One move of the back edge (`Loc::None` as the source: rcx).
    fn move_loc(&mut self, d: Loc, s: Loc) {
        if let (Loc::Reg(r), Loc::Const(c)) = (d, s) {
            self.mov_imm(r, c);
            return;
        }
        let src = match s {
            Loc::None => RCX,
            Loc::Reg(r) => r,
            Loc::Const(c) => {
                self.mov_imm(RDX, c);
                RDX
            }
            Loc::Slot(k) => {
                let o = off::spill(k as usize);
                dynasm!(self.asm ; .arch x64 ; mov rdx, [rbp + o]);
                RDX
            }
        };
        match d {
            Loc::Reg(r) => dynasm!(self.asm ; .arch x64 ; mov Rq(r), Rq(src)),
            Loc::Slot(k) => {
                let o = off::spill(k as usize);
                dynasm!(self.asm ; .arch x64 ; mov [rbp + o], Rq(src));
            }
            _ => unreachable!("a move destination is a register or a slot"),
        }
    }

    /// The label of the block's exception exit (emitted with the stubs): leave with
    /// [`exit::EXCEPTION`], `cpu.pc` and the guest registers already exact.
    pub(super) fn exception_exit(&mut self) -> DynamicLabel {
        match self.exception_exit {
            Some(l) => l,
            None => {
                let l = self.asm.new_dynamic_label();
                self.exception_exit = Some(l);
                l
            }
        }
    }

    pub(super) fn stubs(&mut self) {
        let epi = self.rt.epilogue;
        if let Some(l) = self.exception_exit {
            dynasm!(self.asm
                ; .arch x64
                ; =>l
                ; mov eax, exit::EXCEPTION as i32
                ; jmp extern epi
            );
        }
        let stubs = std::mem::take(&mut self.chain_stubs);
        for (stub, after, target) in stubs {
            dynasm!(self.asm
                ; .arch x64
                ; =>stub
                ; mov rax, QWORD target as i64
                ; mov [rbp + off::PC], rax
                ; lea rax, [=>after]
                ; mov [rbp + off::CHAIN_SLOT], rax
                ; mov eax, exit::CHAIN as i32
                ; jmp extern epi
            );
        }
    }
}

#[cfg(test)]
mod tests {
    //! Self-loops (blocks branching to their own start) against the same loops computed
    //! in Rust: carried registers, cycles among them, spill slots, loads.
    use crate::arm64::cpu::Cpu;
    use crate::engine::testing::run_ok;

    #[test]
    fn fibonacci_chain_of_moves() {
        // fib: add x3, x1, x2; mov x1, x2; mov x2, x3; subs x0, x0, #1; b.ne fib
        let words = [
            0x8b02_0023,
            0xaa02_03e1,
            0xaa03_03e2,
            0xf100_0400,
            0x54ff_ff81,
        ];
        let mut cpu = Cpu::new();
        (cpu.x[0], cpu.x[1], cpu.x[2]) = (90, 0, 1);
        run_ok(&words, &mut cpu);
        let (mut a, mut b) = (0u64, 1u64);
        for _ in 0..90 {
            (a, b) = (b, a.wrapping_add(b));
        }
        assert_eq!((cpu.x[0], cpu.x[1], cpu.x[2], cpu.x[3]), (0, a, b, b));
        assert_eq!(cpu.nzcv, 0x6000_0000, "Z and C from the last subs");
    }

    #[test]
    fn swap_is_a_cycle() {
        // swap: mov x3, x1; mov x1, x2; mov x2, x3; add x4, x4, x1; sub x0, x0, #1;
        // cbnz x0, swap
        let words = [
            0xaa01_03e3,
            0xaa02_03e1,
            0xaa03_03e2,
            0x8b01_0084,
            0xd100_0400,
            0xb5ff_ff60,
        ];
        let mut cpu = Cpu::new();
        (cpu.x[0], cpu.x[1], cpu.x[2], cpu.x[4]) = (5, 10, 1000, 7);
        run_ok(&words, &mut cpu);
        // x1 = 1000, 10, 1000, 10, 1000 after each iteration.
        assert_eq!(cpu.x[..5], [0, 1000, 10, 10, 7 + 3 * 1000 + 2 * 10]);
    }

    #[test]
    fn rotation_through_spill_slots() {
        // rot: mov x17, x1; mov x1, x2; ...; mov x15, x16; mov x16, x17;
        // add x18, x18, x1; subs x0, x0, #1; b.ne rot (more carried registers than
        // host registers: some live in spill slots across the back edge)
        let mut words: Vec<u32> = vec![0xaa01_03f1];
        for r in 1..16u32 {
            words.push(0xaa00_03e0 | (r + 1) << 16 | r); // mov xr, x(r+1)
        }
        words.extend([0xaa11_03f0, 0x8b01_0252, 0xf100_0400, 0x54ff_fda1]);
        let mut cpu = Cpu::new();
        let mut want = [0u64; 17];
        for (r, w) in want.iter_mut().enumerate().skip(1) {
            *w = 100 * r as u64;
            cpu.x[r] = *w;
        }
        cpu.x[0] = 23;
        let mut sum = 0u64;
        for _ in 0..23 {
            let first = want[1];
            want.copy_within(2..17, 1);
            want[16] = first;
            sum += want[1];
        }
        run_ok(&words, &mut cpu);
        assert_eq!(cpu.x[1..17], want[1..17]);
        assert_eq!((cpu.x[0], cpu.x[17], cpu.x[18]), (0, want[16], sum));
    }

    #[test]
    fn interrupt_leaves_a_loop_with_exact_state() {
        // subs x0, x0, #1; add x1, x1, #2; b.ne back: nothing observes NZCV inside the
        // loop, so only the exits store it; an interrupt from another thread must
        // still find it (and x0, x1) exact at the loop start.
        use crate::engine::{raise_interrupt, testing::CODE_BASE, Exit, INT_SIGNAL};
        let words = [0xf100_0400, 0x9100_0821, 0x54ff_ffc1];
        let mut cpu = Cpu::new();
        let start = 1u64 << 40;
        cpu.x[0] = start;
        let addr = &mut *cpu as *mut Cpu as usize;
        let t = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(30));
            raise_interrupt(addr as *mut Cpu, INT_SIGNAL);
        });
        let e = crate::engine::testing::run(&words, &mut cpu);
        t.join().unwrap();
        assert_eq!(e, Exit::Interrupt);
        assert_eq!(cpu.pc, CODE_BASE);
        let done = start - cpu.x[0];
        assert!(done > 0 && cpu.x[0] > 0, "interrupted inside the loop");
        assert_eq!(cpu.x[1], 2 * done);
        assert_eq!(cpu.nzcv, 0x2000_0000, "C from the last subs, nothing else");
    }

    #[test]
    fn load_loop_sums_a_buffer() {
        // sum: ldrb w3, [x1], #1; add x0, x0, x3; cmp x1, x2; b.ne sum
        let words = [0x3840_1423, 0x8b03_0000, 0xeb02_003f, 0x54ff_ffa1];
        let buf: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut cpu = Cpu::new();
        cpu.x[0] = 5;
        cpu.x[1] = buf.as_ptr() as u64;
        cpu.x[2] = cpu.x[1] + buf.len() as u64;
        run_ok(&words, &mut cpu);
        let want: u64 = 5 + buf.iter().map(|&b| b as u64).sum::<u64>();
        assert_eq!(
            (cpu.x[0], cpu.x[1], cpu.x[3]),
            (want, cpu.x[2], buf[999] as u64)
        );
        assert_eq!(cpu.nzcv, 0x6000_0000);
    }
}
