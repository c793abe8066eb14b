//! The x86-64 backend: IR block → host machine code, emitted with `dynasm`.
//!
//! Register conventions inside generated code:
//! - `rbp` holds the guest [`Cpu`](crate::arm64::cpu::Cpu) pointer (pinned);
//! - `rax`, `rcx`, `rdx` and `xmm0`–`xmm2` are scratch, never holding a value across ops;
//! - `r15` is reserved for a memory lowering that asks for it
//!   ([`MemLowering::uses_r15`], system mode's TLB base); otherwise it holds IR values;
//! - `rbx`, `r12`–`r14`, `rsi`, `rdi`, `r8`–`r11` hold IR values, allocated by a linear
//!   scan over the block (values live past a helper call are moved out of caller-saved
//!   registers first); values that do not fit live in the CPU state's spill slots.
//! - `rsp` stays 16-byte aligned, so helpers can be called directly.
//!
//! Exits: every block ends in one or more exits. A chainable exit is a `jmp rel32`
//! (its displacement 4-byte aligned so it can be patched atomically) that first points
//! at a stub which records the target PC and the jump's address and returns to the
//! dispatcher; the engine later patches the jump to go straight to the target block.
//!
//! This module depends only on `ir` and `arm64::cpu` (for field offsets); the memory
//! lowering is supplied by the environment through [`MemLowering`].

// dynasm's expansion of dynamic registers (`Rq(n)` with `n: u8`) converts `u8` to `u8`.
#![allow(clippy::useless_conversion)]

mod abi;
mod alu;
mod analysis;
mod cond;
pub mod disas;
mod exits;
mod fp;
mod int;
mod mem;
mod regalloc;

use dynasmrt::{dynasm, DynamicLabel, DynasmApi, VecAssembler};

use crate::arm64::cpu::off;
use crate::ir::{BinOp, Block, Op, Val, W};

use abi::{caller_saved, POOL, R10, R11, R15, R8, R9, RAX, RCX, RDI, RDX, RSI};
pub use abi::{
    exit, fault_regs, jt_encode, jt_high, jt_index, jt_pc, jt_slot, runtime_stubs, JtEntry,
    Runtime, JT_CONTEXTS, JT_EMPTY, JT_ENTRIES,
};
use cond::x86_cond;
pub use cond::COND_TABLE;
pub use mem::{info, Access, Identity, MemLowering, SlowIdentity, SlowPath, SlowResult};
use regalloc::Loc;

pub type Asm = VecAssembler<dynasmrt::x64::X64Relocation>;

/// A chainable exit in emitted code.
#[derive(Clone, Copy, Debug)]
pub struct ChainExit {
    /// Offset (from the block start) just after the `jmp rel32`.
    pub slot_end: usize,
    pub target: u64,
}

/// The result of compiling one block.
pub struct Compiled {
    pub code: Vec<u8>,
    pub exits: Vec<ChainExit>,
    /// (host offset of a possibly-faulting instruction, guest PC), ascending.
    pub pc_map: Vec<(u32, u64)>,
    /// The block runs as a host loop while it branches to its own start (see
    /// `analysis::self_loop`): invalidating it must also make threads inside it leave.
    pub self_loop: bool,
}

struct Emitter<'a> {
    asm: Asm,
    block: &'a Block,
    mem: &'a dyn MemLowering,
    rt: Runtime,
    loc: Vec<Loc>,
    last_use: Vec<u32>,
    free_regs: Vec<u8>,
    /// Spill slots released by dead values (reused first).
    free_slots: Vec<u16>,
    /// Slots released while emitting the current instruction: its operands may still
    /// be read from them, so an eviction ([`Emitter::evict_for`]) must not reuse them.
    freed_now: Vec<u16>,
    /// Slots from here on have never been used in this block (so that a block does not
    /// start by listing all [`SPILL_SLOTS`]).
    next_slot: u16,
    /// Which value each pool register holds.
    reg_holds: [Option<Val>; 16],
    exits: Vec<ChainExit>,
    pc_map: Vec<(u32, u64)>,
    cur_pc: u64,
    /// Stubs to emit after the block body: (label, target pc).
    chain_stubs: Vec<(DynamicLabel, DynamicLabel, u64)>,
    /// `Flags` values that are never materialised: their only readers (SetNzcv and
    /// Cond) redo the x86 flag operation on the original operands.
    fused: Vec<bool>,
    /// Address arithmetic folded into the one memory access that reads it (see
    /// [`analysis::fuse_addresses`]); emits no code of its own.
    addr_fused: Vec<bool>,
    /// The `Cond` value folded into the terminating branch (`cmp` + `jcc`).
    branch_cond: Option<usize>,
    /// A `SetNzcv` of the branch's flags done at the exits instead (see
    /// [`analysis::nzcv_at_exit`]).
    nzcv_at_exit: Option<usize>,
    /// The value `rax` still holds from the last instruction that defined one
    /// ([`Emitter::def_rax`] is always an instruction's last emission). Only the next
    /// emitting instruction may use it, for its first operand, before emitting
    /// anything: it saves the reload of a result that feeds the next operation.
    rax_cache: Option<Val>,
    /// Slow paths of inline floating-point fast paths, emitted after the block body.
    fp_slow: Vec<fp::FpSlow>,
    /// Slow paths of guest accesses (when the lowering has them), emitted after the
    /// block body.
    mem_slow: Vec<mem::MemSlow>,
    /// The block's shared exception exit (returns [`exit::EXCEPTION`]), once needed.
    exception_exit: Option<DynamicLabel>,
    /// A block that loops to its own start: the carried registers and the loop head
    /// (see [`analysis::self_loop`]).
    self_loop: Option<LoopState>,
}

/// Emission state of a self-loop block.
struct LoopState {
    plan: analysis::SelfLoop,
    /// Where the back edge jumps: after the entry check and the hoisted `GetReg`s.
    head: DynamicLabel,
    /// Per instruction: a hoisted `GetReg` (emitted before the loop head).
    hoisted: Vec<bool>,
}

/// Compile `block` for placement at host address `base`.
pub fn compile(block: &Block, base: usize, rt: Runtime, mem: &dyn MemLowering) -> Compiled {
    let n = block.insts.len();
    let mut sc = analysis::Scratch::take();
    let mut an = analysis::analyse(block, &mut sc);
    let self_loop = if rt.self_loops {
        analysis::self_loop(block, &an.fused, &mut an.last_use)
    } else {
        None
    };
    // Room for the whole block up front (a block is typically 10-40 bytes per IR
    // instruction): growing the buffer step by step showed in start-up profiles.
    let mut asm = Asm::new(base);
    asm.reserve_ops(32 * n + 256);
    let mut e = Emitter {
        asm,
        block,
        mem,
        rt,
        loc: analysis::refill(&mut sc.loc, n, Loc::None),
        last_use: an.last_use,
        // Popped from the end: the pool's order, r15 (callee-saved) first when free.
        free_regs: POOL
            .iter()
            .rev()
            .copied()
            .chain((!mem.uses_r15()).then_some(R15))
            .collect(),
        free_slots: Vec::new(),
        freed_now: Vec::new(),
        next_slot: 0,
        reg_holds: [None; 16],
        exits: Vec::new(),
        pc_map: Vec::new(),
        cur_pc: block.pc,
        chain_stubs: Vec::new(),
        fused: an.fused,
        addr_fused: an.addr_fused,
        branch_cond: an.branch_cond,
        nzcv_at_exit: an.nzcv_at_exit,
        rax_cache: None,
        fp_slow: Vec::new(),
        mem_slow: Vec::new(),
        exception_exit: None,
        self_loop: None,
    };
    e.prologue();
    if let Some(plan) = self_loop {
        e.loop_head(plan);
    }
    for i in 0..n {
        if e.self_loop.as_ref().is_some_and(|l| l.hoisted[i]) {
            continue;
        }
        e.inst(i);
    }
    e.term();
    e.stubs();
    e.fp_stubs();
    e.mem_stubs();
    let self_loop = e.self_loop.is_some();
    let code = e.asm.finalize().expect("x64 backend: unresolved label");
    (sc.last_use, sc.fused, sc.addr_fused, sc.loc) = (e.last_use, e.fused, e.addr_fused, e.loc);
    sc.put_back();
    Compiled {
        code,
        exits: e.exits,
        pc_map: e.pc_map,
        self_loop,
    }
}

impl Emitter<'_> {
    fn offset(&self) -> usize {
        self.asm.offset().0
    }

    fn inst(&mut self, i: usize) {
        let block = self.block;
        self.freed_now.clear();
        if let Op::Call(h, args) = &block.insts[i].op {
            // (Matched by reference: cloning the op would copy its argument vector.)
            self.rax_cache = None;
            if !self.fast_fp_call(i, h, args) {
                self.call(i, h.f as usize, args, h.side_effects);
            }
            return;
        }
        let op = block.insts[i].op.clone();
        match op {
            Op::InsnStart(pc) => {
                self.cur_pc = pc;
                return;
            }
            Op::Const(c) => {
                self.loc[i] = Loc::Const(c);
                return;
            }
            _ => {}
        }
        match op {
            // No code: `rax` keeps what it holds.
            Op::Flags(..) if self.fused[i] => return,
            Op::Bin(..) if self.addr_fused[i] => return,
            Op::SetNzcv(_) if self.nzcv_at_exit == Some(i) => return,
            Op::SetNzcv(_) if self.nzcv_deferred() == Some(i) => return,
            Op::Cond(..) if self.branch_cond == Some(i) => return,
            _ => {}
        }
        // From here on this instruction emits code; only its first operand load may use
        // what `rax` holds.
        let cached = self.rax_cache.take();
        match op {
            Op::SetNzcv(f) if self.fused[f.0 as usize] => {
                let (fop, _) = self.compare(f, i);
                self.pack_flags(fop);
                dynasm!(self.asm ; .arch x64 ; mov [rbp + off::NZCV], rax);
                return;
            }
            Op::Cond(cc, f) if self.fused[f.0 as usize] => {
                let (fop, _) = self.compare(f, i);
                match x86_cond(fop, cc) {
                    Some(xc) => self.setcc(xc),
                    None => {
                        self.pack_flags(fop);
                        self.cond_from_packed(cc);
                    }
                }
                self.def_rax(i);
                return;
            }
            _ => {}
        }
        if matches!(
            op,
            Op::Load { .. } | Op::Store { .. } | Op::LoadV { .. } | Op::StoreV { .. }
        ) {
            self.guest_access(i, &op, cached);
            return;
        }
        if self.direct(i, &op, cached) {
            return;
        }
        if let Op::Bin(bop, w, a, b) = op {
            if let Loc::Const(c) = self.loc[b.0 as usize] {
                if self.bin_imm(bop, w, a, c, cached == Some(a)) {
                    self.free_dead(i);
                    self.def_rax(i);
                    return;
                }
            }
            // The second operand straight from its register (no copy to rcx).
            if let Loc::Reg(r) = self.loc[b.0 as usize] {
                if matches!(
                    bop,
                    BinOp::Add | BinOp::Sub | BinOp::And | BinOp::Or | BinOp::Xor | BinOp::Mul
                ) {
                    if cached != Some(a) {
                        self.load(RAX, a);
                    }
                    self.bin_reg(bop, w, r);
                    self.free_dead(i);
                    self.def_rax(i);
                    return;
                }
            }
        }
        if let Op::GetReg(g) = op {
            // Straight into the register the value gets.
            let unused = self.last_use[i] <= i as u32 && !self.used_by_term(i);
            if !unused {
                if let Loc::Reg(r) = self.alloc(i) {
                    let o = off::x(g);
                    dynasm!(self.asm ; .arch x64 ; mov Rq(r), [rbp + o]);
                    return;
                }
                // A spill slot: the usual way, through rax.
                self.release(Val(i as u32));
            }
        }
        // Load operands into scratch registers: rax, rcx, rdx in argument order.
        let scratch = [RAX, RCX, RDX];
        let mut k = 0;
        op.for_each_arg(|a| {
            if !(k == 0 && cached == Some(a)) {
                self.load(scratch[k], a); // (operand 0 may already be in rax)
            }
            k += 1;
        });
        self.free_dead(i);
        match op {
            Op::GetReg(r) => {
                let o = off::x(r);
                dynasm!(self.asm ; .arch x64 ; mov rax, [rbp + o]);
                self.def_rax(i);
            }
            Op::SetReg(r, _) => {
                let o = off::x(r);
                dynasm!(self.asm ; .arch x64 ; mov [rbp + o], rax);
            }
            Op::GetNzcv => {
                dynasm!(self.asm ; .arch x64 ; mov rax, [rbp + off::NZCV]);
                self.def_rax(i);
            }
            Op::SetNzcv(_) => {
                dynasm!(self.asm ; .arch x64 ; mov [rbp + off::NZCV], rax);
            }
            Op::Bin(bop, w, _, _) => {
                self.bin(bop, w);
                self.def_rax(i);
            }
            Op::Un(uop, w, _) => {
                self.un(uop, w);
                self.def_rax(i);
            }
            Op::Adc(w, _, _, _) => {
                dynasm!(self.asm ; .arch x64 ; bt edx, 0);
                match w {
                    W::W64 => dynasm!(self.asm ; .arch x64 ; adc rax, rcx),
                    W::W32 => dynasm!(self.asm ; .arch x64 ; adc eax, ecx),
                }
                self.def_rax(i);
            }
            Op::Sbc(w, _, _, _) => {
                dynasm!(self.asm ; .arch x64 ; bt edx, 0 ; cmc);
                match w {
                    W::W64 => dynasm!(self.asm ; .arch x64 ; sbb rax, rcx),
                    W::W32 => dynasm!(self.asm ; .arch x64 ; sbb eax, ecx),
                }
                self.def_rax(i);
            }
            Op::Flags(fop, w, _, _, _) => {
                self.flags(fop, w);
                self.def_rax(i);
            }
            Op::Cond(cc, _) => {
                self.cond_from_packed(cc);
                self.def_rax(i);
            }
            Op::Select(..) => {
                // rax = c, rcx = a, rdx = b
                dynasm!(self.asm
                    ; .arch x64
                    ; test rax, rax
                    ; mov rax, rcx
                    ; cmovz rax, rdx
                );
                self.def_rax(i);
            }
            Op::GetVLane(v, lane) => {
                let o = off::vlane(v, lane);
                dynasm!(self.asm ; .arch x64 ; mov rax, [rbp + o]);
                self.def_rax(i);
            }
            Op::SetVLane(v, lane, _) => {
                let o = off::vlane(v, lane);
                dynasm!(self.asm ; .arch x64 ; mov [rbp + o], rax);
            }
            Op::Load { .. } | Op::Store { .. } | Op::LoadV { .. } | Op::StoreV { .. } => {
                unreachable!("memory accesses go through guest_access")
            }
            Op::Fence => {
                dynasm!(self.asm ; .arch x64 ; mfence);
            }
            Op::InsnStart(_) | Op::Const(_) | Op::Call(..) => unreachable!(),
        }
    }
}
