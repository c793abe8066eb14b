//! Block entry and exits: the interrupt check at entry, chainable jumps and their stubs,
//! indirect-branch lookup, and the exits that return an exit code to the dispatcher.

use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi};

use super::abi::JT_HOST_UNITS;
use super::{exit, x86_cond, ChainExit, Emitter, JT_ENTRIES, RAX};
use crate::arm64::cpu::off;
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
            Term::Goto(t) => self.chain_exit(t),
            Term::Branch {
                cond,
                taken,
                not_taken,
            } => {
                let nt = self.asm.new_dynamic_label();
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
                        self.jcc(xc.not(), nt);
                    }
                    None => {
                        self.load(RAX, cond);
                        dynasm!(self.asm
                            ; .arch x64
                            ; test rax, rax
                            ; jz =>nt
                        );
                    }
                }
                if let Some(fop) = nzcv_late {
                    self.store_late_nzcv(fop);
                }
                self.chain_exit(taken);
                dynasm!(self.asm ; .arch x64 ; =>nt);
                if let Some(fop) = nzcv_late {
                    self.store_late_nzcv(fop);
                }
                self.chain_exit(not_taken);
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
