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

mod fp;

use std::sync::atomic::{AtomicBool, Ordering};

use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi, VecAssembler};

use crate::arm64::cpu::{off, SPILL_SLOTS};
use crate::ir::{BinOp, Block, FlagOp, Op, Order, Term, Trap, UnOp, Val, W};

mod int;

pub type Asm = VecAssembler<dynasmrt::x64::X64Relocation>;

/// Exit codes returned by generated code to the dispatcher (in `rax`).
pub mod exit {
    /// Chainable exit: `cpu.pc` is the target, `cpu.chain_slot` the jump to patch.
    pub const CHAIN: u64 = 1;
    /// Indirect branch: look up `cpu.pc`.
    pub const LOOKUP: u64 = 2;
    /// `cpu.interrupt` was set at block entry; `cpu.pc` is the block's address.
    pub const INTERRUPT: u64 = 3;
    /// SVC: `cpu.pc` is the next instruction, `cpu.exit_arg` the immediate.
    pub const SVC: u64 = 4;
    /// BRK: `cpu.pc` is the BRK, `cpu.exit_arg` the immediate.
    pub const BRK: u64 = 5;
    /// Undefined instruction: `cpu.pc` is it, `cpu.exit_arg` the word.
    pub const UNDEFINED: u64 = 6;
    /// Privileged instruction at EL0: `cpu.pc` is it, `cpu.exit_arg` the word.
    pub const PRIVILEGED: u64 = 7;
    /// Instruction fetch fault at `cpu.pc`.
    pub const FETCH_FAULT: u64 = 8;
    /// IC IVAU of `cpu.exit_arg`; continue at `cpu.pc`.
    pub const IC_INVALIDATE: u64 = 9;
    /// Re-look-up `cpu.pc`.
    pub const RESYNC: u64 = 10;
    /// Drop every translation, then continue at `cpu.pc` (set by the environment's fault
    /// handler after a change of the memory lowering, see [`super::Identity`]).
    pub const RETRANSLATE: u64 = 11;
}

/// How guest memory accesses become host accesses. User mode maps guest addresses 1:1
/// and emits nothing; system mode will emit an inline TLB probe with a slow path.
pub trait MemLowering {
    /// Emit code that turns the guest virtual address in host register `reg` (a
    /// dynasm register number, never `rax`'s partner scratch `rcx`/`rdx`) into a host
    /// address in the same register, for an access of `size` bytes.
    fn translate(&self, asm: &mut Asm, reg: u8, size: u8, write: bool);

    /// Does the emitted code use `r15` (which the register allocator then leaves alone)?
    fn uses_r15(&self) -> bool {
        true
    }
}

/// User-mode lowering: guest address = host address. Top Byte Ignore (see
/// [`crate::arm64::untag`]: bits 63:56 become copies of bit 55) is applied only once the
/// process has used a tagged pointer ([`TAGGED_POINTERS`]): until then an access
/// through one is a non-canonical address, which x86 faults on, and the environment's
/// fault handler sets the flag, has every block translated again ([`exit::RETRANSLATE`])
/// and runs the access once more. Untagged programs (nearly all) so pay nothing for TBI;
/// it cost two instructions on the address of every access.
pub struct Identity;

/// Set (for good) when the guest has accessed memory through a tagged pointer: blocks
/// translated from then on untag every address.
pub static TAGGED_POINTERS: AtomicBool = AtomicBool::new(false);

impl MemLowering for Identity {
    fn uses_r15(&self) -> bool {
        false
    }

    fn translate(&self, asm: &mut Asm, reg: u8, _size: u8, _write: bool) {
        if TAGGED_POINTERS.load(Ordering::Relaxed) {
            dynasm!(asm
                ; .arch x64
                ; shl Rq(reg), 8
                ; sar Rq(reg), 8
            );
        }
    }
}

/// Addresses of the shared stubs and tables blocks use.
#[derive(Clone, Copy, Debug)]
pub struct Runtime {
    /// Restores host registers and returns `rax` to the dispatcher.
    pub epilogue: usize,
    /// The indirect-branch table ([`JT_ENTRIES`] × [`JtEntry`]), or 0 to send every
    /// indirect branch to the dispatcher.
    pub jump_table: usize,
    /// The code cache's base address (entries hold host code as an offset from it).
    pub cache_base: usize,
}

/// Entries in the indirect-branch table (a power of two).
pub const JT_ENTRIES: usize = 1 << 16;

/// One entry of the indirect-branch table: guest PC → host code, packed into one word
/// so that generated code reads it with a single load. (A two-word entry could be read
/// half old, half new while another thread replaces it: the PC of one block with the
/// host code of another, i.e. a jump to the wrong guest code.) See [`jt_encode`]; the
/// word is stored inverted, so that zeroed memory is an empty entry.
#[repr(transparent)]
pub struct JtEntry(pub std::sync::atomic::AtomicU64);

/// The stored word of an empty [`JtEntry`].
pub const JT_EMPTY: u64 = 0;

/// Host code is at most this far into the code cache (24 bits of 16-byte units).
const JT_HOST_UNITS: u64 = 1 << 24;

/// The stored word of an entry for guest `pc` whose code is at `host` in the cache at
/// `cache_base`: `!((pc >> 18) << 24 | (host - cache_base) / 16)`. The slot index
/// ([`jt_index`]) supplies PC bits 2..17. `None` when the pair cannot be encoded (a PC
/// at or above 2^48, host code misaligned or out of range): it then stays uncached.
pub fn jt_encode(pc: u64, host: usize, cache_base: usize) -> Option<u64> {
    let off = (host as u64).checked_sub(cache_base as u64)?;
    if pc >> 48 != 0 || pc & 3 != 0 || off % 16 != 0 || off / 16 >= JT_HOST_UNITS {
        return None;
    }
    Some(!(((pc >> 18) << 24) | (off / 16)))
}

/// The table slot for guest `pc`.
pub fn jt_index(pc: u64) -> usize {
    ((pc >> 2) as usize) & (JT_ENTRIES - 1)
}

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
}

// Host register numbers (dynasm encoding).
const RAX: u8 = 0;
const RCX: u8 = 1;
const RDX: u8 = 2;
const RBX: u8 = 3;
const RSI: u8 = 6;
const RDI: u8 = 7;
const R8: u8 = 8;
const R9: u8 = 9;
const R10: u8 = 10;
const R11: u8 = 11;
const R12: u8 = 12;
const R13: u8 = 13;
const R14: u8 = 14;
const R15: u8 = 15;

/// Allocation order: callee-saved first (they survive helper calls).
const POOL: [u8; 10] = [RBX, R12, R13, R14, RSI, RDI, R8, R9, R10, R11];

fn caller_saved(r: u8) -> bool {
    matches!(r, RSI | RDI | R8 | R9 | R10 | R11)
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Loc {
    None,
    Const(u64),
    Reg(u8),
    Slot(u16),
}

/// A 16-bit table per condition code: bit `nzcv` (N=8, Z=4, C=2, V=1) is set when the
/// condition holds for those flags.
const fn cond_table() -> [u16; 16] {
    let mut t = [0u16; 16];
    let mut cc = 0;
    while cc < 16 {
        let mut f = 0;
        while f < 16 {
            let n = f & 8 != 0;
            let z = f & 4 != 0;
            let c = f & 2 != 0;
            let v = f & 1 != 0;
            let base = match cc >> 1 {
                0 => z,
                1 => c,
                2 => n,
                3 => v,
                4 => c && !z,
                5 => n == v,
                6 => n == v && !z,
                _ => true,
            };
            let r = if cc & 1 == 1 && cc != 15 { !base } else { base };
            if r {
                t[cc] |= 1 << f;
            }
            f += 1;
        }
        cc += 1;
    }
    t
}

pub const COND_TABLE: [u16; 16] = cond_table();

/// An x86 condition code (for `setcc`/`jcc`), or a constant outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum X86Cond {
    O,
    No,
    B,
    Ae,
    E,
    Ne,
    Be,
    A,
    S,
    Ns,
    L,
    Ge,
    Le,
    G,
    Always,
    Never,
}

/// The x86 condition that, right after the x86 instruction emitted for `op`, says
/// whether Arm condition `cc` holds for the Arm flags of `op` — when there is one.
fn x86_cond(op: FlagOp, cc: u8) -> Option<X86Cond> {
    use X86Cond::*;
    let c = match op {
        // cmp: x86 CF is a borrow, Arm C its inverse.
        FlagOp::Sub => match cc {
            0 => E,
            1 => Ne,
            2 => Ae,
            3 => B,
            4 => S,
            5 => Ns,
            6 => O,
            7 => No,
            8 => A,
            9 => Be,
            10 => Ge,
            11 => L,
            12 => G,
            13 => Le,
            _ => Always,
        },
        // add: x86 CF is Arm C; HI/LS (C and Z together) have no single x86 code.
        FlagOp::Add => match cc {
            0 => E,
            1 => Ne,
            2 => B,
            3 => Ae,
            4 => S,
            5 => Ns,
            6 => O,
            7 => No,
            10 => Ge,
            11 => L,
            12 => G,
            13 => Le,
            14 | 15 => Always,
            _ => return None,
        },
        // test: C = V = 0.
        FlagOp::Logic => match cc {
            0 => E,
            1 => Ne,
            2 => Never,
            3 => Always,
            4 => S,
            5 => Ns,
            6 => Never,
            7 => Always,
            8 => Never,
            9 => Always,
            10 => Ns,
            11 => S,
            12 => G,
            13 => Le,
            _ => Always,
        },
        FlagOp::Adc | FlagOp::Sbc => return None,
    };
    Some(c)
}

impl X86Cond {
    fn not(self) -> X86Cond {
        use X86Cond::*;
        match self {
            O => No,
            No => O,
            B => Ae,
            Ae => B,
            E => Ne,
            Ne => E,
            Be => A,
            A => Be,
            S => Ns,
            Ns => S,
            L => Ge,
            Ge => L,
            Le => G,
            G => Le,
            Always => Never,
            Never => Always,
        }
    }
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
    /// [`int::fuse_addresses`]); emits no code of its own.
    addr_fused: Vec<bool>,
    /// The `Cond` value folded into the terminating branch (`cmp` + `jcc`).
    branch_cond: Option<usize>,
    /// A `SetNzcv` of the branch's flags done at the exits instead (see
    /// [`int::nzcv_at_exit`]).
    nzcv_at_exit: Option<usize>,
    /// The value `rax` still holds from the last instruction that defined one
    /// ([`Emitter::def_rax`] is always an instruction's last emission). Only the next
    /// emitting instruction may use it, for its first operand, before emitting
    /// anything: it saves the reload of a result that feeds the next operation.
    rax_cache: Option<Val>,
    /// Slow paths of inline floating-point fast paths, emitted after the block body.
    fp_slow: Vec<fp::FpSlow>,
}

/// Per-value vectors of [`compile`], kept between blocks by each thread (allocating
/// them for every block showed in start-up profiles).
#[derive(Default)]
struct Scratch {
    last_use: Vec<u32>,
    readers: Vec<u32>,
    flag_readers_only: Vec<bool>,
    fused: Vec<bool>,
    addr_fused: Vec<bool>,
    loc: Vec<Loc>,
}

thread_local! {
    static SCRATCH: std::cell::Cell<Scratch> = std::cell::Cell::new(Scratch::default());
}

/// The vector kept in `v` (taken out), now `n` copies of `x`.
fn refill<T: Clone>(v: &mut Vec<T>, n: usize, x: T) -> Vec<T> {
    let mut v = std::mem::take(v);
    v.clear();
    v.resize(n, x);
    v
}

/// Compile `block` for placement at host address `base`.
pub fn compile(block: &Block, base: usize, rt: Runtime, mem: &dyn MemLowering) -> Compiled {
    let n = block.insts.len();
    let mut sc = SCRATCH.with(|s| s.take());
    let mut last_use = refill(&mut sc.last_use, n, 0);
    for (i, inst) in block.insts.iter().enumerate() {
        inst.op.for_each_arg(|a| last_use[a.0 as usize] = i as u32);
    }
    let term_use = n as u32;
    match &block.term {
        Term::Branch { cond, .. } => last_use[cond.0 as usize] = term_use,
        Term::Indirect(v, _) => last_use[v.0 as usize] = term_use,
        _ => {}
    }
    // Flag fusion: find Flags values read only by SetNzcv/Cond, and a Cond read only by
    // the terminating branch; keep their operands alive until those readers.
    // Per value: readers among the instructions, and whether all of them are
    // SetNzcv/Cond (the last reader is `last_use`). No per-value lists: this runs for
    // every block translated.
    let mut readers = refill(&mut sc.readers, n, 0);
    let mut flag_readers_only = refill(&mut sc.flag_readers_only, n, true);
    for inst in &block.insts {
        let flag_reader = matches!(inst.op, Op::SetNzcv(_) | Op::Cond(..));
        inst.op.for_each_arg(|a| {
            readers[a.0 as usize] += 1;
            flag_readers_only[a.0 as usize] &= flag_reader;
        });
    }
    let mut fused = refill(&mut sc.fused, n, false);
    for (i, inst) in block.insts.iter().enumerate() {
        if let Op::Flags(..) = inst.op {
            // Read, only by SetNzcv/Cond instructions (not by the terminator).
            if readers[i] > 0 && flag_readers_only[i] && last_use[i] < term_use {
                fused[i] = true;
                let end = last_use[i];
                inst.op.for_each_arg(|a| {
                    let l = &mut last_use[a.0 as usize];
                    *l = (*l).max(end);
                });
            }
        }
    }
    let mut addr_fused = std::mem::take(&mut sc.addr_fused);
    int::fuse_addresses(block, &readers, &mut last_use, &mut addr_fused);
    let mut branch_cond = None;
    if let Term::Branch { cond, .. } = &block.term {
        let k = cond.0 as usize;
        if let Op::Cond(cc, f) = block.insts[k].op {
            if let Op::Flags(fop, ..) = block.insts[f.0 as usize].op {
                // The Cond is read by the terminator alone.
                if fused[f.0 as usize] && readers[k] == 0 && x86_cond(fop, cc).is_some() {
                    branch_cond = Some(k);
                    block.insts[f.0 as usize].op.for_each_arg(|a| {
                        last_use[a.0 as usize] = term_use;
                    });
                }
            }
        }
    }
    // Room for the whole block up front (a block is typically 10-40 bytes per IR
    // instruction): growing the buffer step by step showed in start-up profiles.
    let mut asm = Asm::new(base);
    asm.reserve_ops(32 * n + 256);
    let mut e = Emitter {
        asm,
        block,
        mem,
        rt,
        loc: refill(&mut sc.loc, n, Loc::None),
        last_use,
        // Popped from the end: the pool's order, r15 (callee-saved) first when free.
        free_regs: POOL
            .iter()
            .rev()
            .copied()
            .chain((!mem.uses_r15()).then_some(R15))
            .collect(),
        free_slots: Vec::new(),
        next_slot: 0,
        reg_holds: [None; 16],
        exits: Vec::new(),
        pc_map: Vec::new(),
        cur_pc: block.pc,
        chain_stubs: Vec::new(),
        fused,
        addr_fused,
        branch_cond,
        nzcv_at_exit: int::nzcv_at_exit(block, branch_cond),
        rax_cache: None,
        fp_slow: Vec::new(),
    };
    e.prologue();
    for i in 0..n {
        e.inst(i);
    }
    e.term();
    e.stubs();
    e.fp_stubs();
    let code = e.asm.finalize().expect("x64 backend: unresolved label");
    (sc.last_use, sc.fused, sc.addr_fused, sc.loc) = (e.last_use, e.fused, e.addr_fused, e.loc);
    (sc.readers, sc.flag_readers_only) = (readers, flag_readers_only);
    SCRATCH.with(|s| s.set(sc));
    Compiled {
        code,
        exits: e.exits,
        pc_map: e.pc_map,
    }
}

impl Emitter<'_> {
    fn offset(&self) -> usize {
        self.asm.offset().0
    }

    fn prologue(&mut self) {
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

    // ---- value locations -------------------------------------------------------

    /// Load value `v` into host register `dst`.
    fn load(&mut self, dst: u8, v: Val) {
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

    fn mov_imm(&mut self, dst: u8, c: u64) {
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
    fn free_dead(&mut self, i: usize) {
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

    fn release(&mut self, a: Val) {
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
    fn spill_slot(&mut self) -> u16 {
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
    fn alloc(&mut self, i: usize) -> Loc {
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
    fn def_rax(&mut self, i: usize) {
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
    fn only_next_takes_from_rax(&self, i: usize) -> bool {
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

    fn used_by_term(&self, i: usize) -> bool {
        self.last_use[i] == self.block.insts.len() as u32
    }

    /// Move every live value out of caller-saved registers (before a helper call).
    /// Values whose last use is instruction `i` (the call itself) move too, so the
    /// argument set-up never reads a register it has already overwritten.
    fn evict_caller_saved(&mut self, _i: usize) {
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

    fn mark_fault_point(&mut self) {
        let o = self.offset() as u32;
        self.pc_map.push((o, self.cur_pc));
    }

    // ---- instructions ----------------------------------------------------------

    fn inst(&mut self, i: usize) {
        let block = self.block;
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
            Op::Load {
                size,
                signed,
                order: _,
                ..
            } => {
                // x86 loads already have acquire semantics (TSO).
                self.mem.translate(&mut self.asm, RAX, size, false);
                self.mark_fault_point();
                match (size, signed) {
                    (1, false) => dynasm!(self.asm ; .arch x64 ; movzx eax, BYTE [rax]),
                    (1, true) => dynasm!(self.asm ; .arch x64 ; movsx rax, BYTE [rax]),
                    (2, false) => dynasm!(self.asm ; .arch x64 ; movzx eax, WORD [rax]),
                    (2, true) => dynasm!(self.asm ; .arch x64 ; movsx rax, WORD [rax]),
                    (4, false) => dynasm!(self.asm ; .arch x64 ; mov eax, [rax]),
                    (4, true) => dynasm!(self.asm ; .arch x64 ; movsxd rax, DWORD [rax]),
                    (8, _) => dynasm!(self.asm ; .arch x64 ; mov rax, [rax]),
                    _ => panic!("x64 backend: bad load size {size}"),
                }
                self.def_rax(i);
            }
            Op::Store { size, order, .. } => {
                self.mem.translate(&mut self.asm, RAX, size, true);
                self.mark_fault_point();
                // A release store must not pass a later acquire load (Arm's RCsc
                // STLR→LDAR order); x86 only keeps that order for locked ops, so
                // release stores use `xchg`.
                let locked = matches!(order, Order::Release | Order::AcqRel);
                match (size, locked) {
                    (1, false) => dynasm!(self.asm ; .arch x64 ; mov [rax], cl),
                    (2, false) => dynasm!(self.asm ; .arch x64 ; mov [rax], cx),
                    (4, false) => dynasm!(self.asm ; .arch x64 ; mov [rax], ecx),
                    (8, false) => dynasm!(self.asm ; .arch x64 ; mov [rax], rcx),
                    (1, true) => dynasm!(self.asm ; .arch x64 ; xchg [rax], cl),
                    (2, true) => dynasm!(self.asm ; .arch x64 ; xchg [rax], cx),
                    (4, true) => dynasm!(self.asm ; .arch x64 ; xchg [rax], ecx),
                    (8, true) => dynasm!(self.asm ; .arch x64 ; xchg [rax], rcx),
                    _ => panic!("x64 backend: bad store size {size}"),
                }
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
            Op::LoadV { v, size, .. } => {
                let o = off::vlane(v, 0);
                self.mem.translate(&mut self.asm, RAX, size, false);
                self.mark_fault_point();
                match size {
                    16 => dynasm!(self.asm ; .arch x64 ; movdqu xmm0, [rax]),
                    8 => dynasm!(self.asm ; .arch x64 ; movq xmm0, [rax]),
                    4 => dynasm!(self.asm ; .arch x64 ; movd xmm0, [rax]),
                    2 => dynasm!(self.asm ; .arch x64 ; movzx ecx, WORD [rax] ; movd xmm0, ecx),
                    1 => dynasm!(self.asm ; .arch x64 ; movzx ecx, BYTE [rax] ; movd xmm0, ecx),
                    _ => panic!("x64 backend: bad vector load size {size}"),
                }
                dynasm!(self.asm ; .arch x64 ; movdqa [rbp + o], xmm0);
            }
            Op::StoreV { v, size, .. } => {
                let o = off::vlane(v, 0);
                self.mem.translate(&mut self.asm, RAX, size, true);
                match size {
                    16 => {
                        dynasm!(self.asm ; .arch x64 ; movdqa xmm0, [rbp + o]);
                        self.mark_fault_point();
                        dynasm!(self.asm ; .arch x64 ; movdqu [rax], xmm0);
                    }
                    8 => {
                        dynasm!(self.asm ; .arch x64 ; mov rcx, [rbp + o]);
                        self.mark_fault_point();
                        dynasm!(self.asm ; .arch x64 ; mov [rax], rcx);
                    }
                    4 => {
                        dynasm!(self.asm ; .arch x64 ; mov ecx, [rbp + o]);
                        self.mark_fault_point();
                        dynasm!(self.asm ; .arch x64 ; mov [rax], ecx);
                    }
                    2 => {
                        dynasm!(self.asm ; .arch x64 ; mov ecx, [rbp + o]);
                        self.mark_fault_point();
                        dynasm!(self.asm ; .arch x64 ; mov [rax], cx);
                    }
                    1 => {
                        dynasm!(self.asm ; .arch x64 ; mov ecx, [rbp + o]);
                        self.mark_fault_point();
                        dynasm!(self.asm ; .arch x64 ; mov [rax], cl);
                    }
                    _ => panic!("x64 backend: bad vector store size {size}"),
                }
            }
            Op::Fence => {
                dynasm!(self.asm ; .arch x64 ; mfence);
            }
            Op::InsnStart(_) | Op::Const(_) | Op::Call(..) => unreachable!(),
        }
    }

    /// `rax = rax op r` for the operations with a register-register x86 form.
    fn bin_reg(&mut self, op: BinOp, w: W, r: u8) {
        match (op, w) {
            (BinOp::Add, W::W64) => dynasm!(self.asm ; .arch x64 ; add rax, Rq(r)),
            (BinOp::Add, W::W32) => dynasm!(self.asm ; .arch x64 ; add eax, Rd(r)),
            (BinOp::Sub, W::W64) => dynasm!(self.asm ; .arch x64 ; sub rax, Rq(r)),
            (BinOp::Sub, W::W32) => dynasm!(self.asm ; .arch x64 ; sub eax, Rd(r)),
            (BinOp::And, W::W64) => dynasm!(self.asm ; .arch x64 ; and rax, Rq(r)),
            (BinOp::And, W::W32) => dynasm!(self.asm ; .arch x64 ; and eax, Rd(r)),
            (BinOp::Or, W::W64) => dynasm!(self.asm ; .arch x64 ; or rax, Rq(r)),
            (BinOp::Or, W::W32) => dynasm!(self.asm ; .arch x64 ; or eax, Rd(r)),
            (BinOp::Xor, W::W64) => dynasm!(self.asm ; .arch x64 ; xor rax, Rq(r)),
            (BinOp::Xor, W::W32) => dynasm!(self.asm ; .arch x64 ; xor eax, Rd(r)),
            (BinOp::Mul, W::W64) => dynasm!(self.asm ; .arch x64 ; imul rax, Rq(r)),
            (BinOp::Mul, W::W32) => dynasm!(self.asm ; .arch x64 ; imul eax, Rd(r)),
            _ => unreachable!("bin_reg: {op:?}"),
        }
    }

    fn bin(&mut self, op: BinOp, w: W) {
        // rax = a, rcx = b
        match (op, w) {
            (BinOp::Add, W::W64) => dynasm!(self.asm ; .arch x64 ; add rax, rcx),
            (BinOp::Add, W::W32) => dynasm!(self.asm ; .arch x64 ; add eax, ecx),
            (BinOp::Sub, W::W64) => dynasm!(self.asm ; .arch x64 ; sub rax, rcx),
            (BinOp::Sub, W::W32) => dynasm!(self.asm ; .arch x64 ; sub eax, ecx),
            (BinOp::And, W::W64) => dynasm!(self.asm ; .arch x64 ; and rax, rcx),
            (BinOp::And, W::W32) => dynasm!(self.asm ; .arch x64 ; and eax, ecx),
            (BinOp::Or, W::W64) => dynasm!(self.asm ; .arch x64 ; or rax, rcx),
            (BinOp::Or, W::W32) => dynasm!(self.asm ; .arch x64 ; or eax, ecx),
            (BinOp::Xor, W::W64) => dynasm!(self.asm ; .arch x64 ; xor rax, rcx),
            (BinOp::Xor, W::W32) => dynasm!(self.asm ; .arch x64 ; xor eax, ecx),
            (BinOp::AndNot, W::W64) => dynasm!(self.asm ; .arch x64 ; not rcx ; and rax, rcx),
            (BinOp::AndNot, W::W32) => dynasm!(self.asm ; .arch x64 ; not ecx ; and eax, ecx),
            (BinOp::OrNot, W::W64) => dynasm!(self.asm ; .arch x64 ; not rcx ; or rax, rcx),
            (BinOp::OrNot, W::W32) => dynasm!(self.asm ; .arch x64 ; not ecx ; or eax, ecx),
            (BinOp::XorNot, W::W64) => dynasm!(self.asm ; .arch x64 ; not rcx ; xor rax, rcx),
            (BinOp::XorNot, W::W32) => dynasm!(self.asm ; .arch x64 ; not ecx ; xor eax, ecx),
            (BinOp::Shl, W::W64) => dynasm!(self.asm ; .arch x64 ; shl rax, cl),
            (BinOp::Shl, W::W32) => dynasm!(self.asm ; .arch x64 ; shl eax, cl ; mov eax, eax),
            (BinOp::Lshr, W::W64) => dynasm!(self.asm ; .arch x64 ; shr rax, cl),
            (BinOp::Lshr, W::W32) => dynasm!(self.asm ; .arch x64 ; shr eax, cl ; mov eax, eax),
            (BinOp::Ashr, W::W64) => dynasm!(self.asm ; .arch x64 ; sar rax, cl),
            (BinOp::Ashr, W::W32) => dynasm!(self.asm ; .arch x64 ; sar eax, cl ; mov eax, eax),
            (BinOp::Ror, W::W64) => dynasm!(self.asm ; .arch x64 ; ror rax, cl),
            (BinOp::Ror, W::W32) => dynasm!(self.asm ; .arch x64 ; ror eax, cl ; mov eax, eax),
            (BinOp::Mul, W::W64) => dynasm!(self.asm ; .arch x64 ; imul rax, rcx),
            (BinOp::Mul, W::W32) => dynasm!(self.asm ; .arch x64 ; imul eax, ecx),
            (BinOp::UMulH, _) => dynasm!(self.asm ; .arch x64 ; mul rcx ; mov rax, rdx),
            (BinOp::SMulH, _) => dynasm!(self.asm ; .arch x64 ; imul rcx ; mov rax, rdx),
            (BinOp::UDiv, W::W64) => dynasm!(self.asm
                ; .arch x64
                ; test rcx, rcx
                ; jz >zero
                ; xor edx, edx
                ; div rcx
                ; jmp >done
                ; zero:
                ; xor eax, eax
                ; done:
            ),
            (BinOp::UDiv, W::W32) => dynasm!(self.asm
                ; .arch x64
                ; test ecx, ecx
                ; jz >zero
                ; xor edx, edx
                ; div ecx
                ; jmp >done
                ; zero:
                ; xor eax, eax
                ; done:
            ),
            (BinOp::SDiv, W::W64) => dynasm!(self.asm
                ; .arch x64
                ; test rcx, rcx
                ; jz >zero
                ; cmp rcx, -1
                ; je >neg
                ; cqo
                ; idiv rcx
                ; jmp >done
                ; neg:
                ; neg rax
                ; jmp >done
                ; zero:
                ; xor eax, eax
                ; done:
            ),
            (BinOp::SDiv, W::W32) => dynasm!(self.asm
                ; .arch x64
                ; test ecx, ecx
                ; jz >zero
                ; cmp ecx, -1
                ; je >neg
                ; cdq
                ; idiv ecx
                ; jmp >done
                ; neg:
                ; neg eax
                ; jmp >done
                ; zero:
                ; xor eax, eax
                ; done:
            ),
        }
    }

    /// `rax = a op c` with `c` as an immediate, when x86 has such a form and `c` fits.
    /// Returns false (emitting nothing) otherwise.
    fn bin_imm(&mut self, op: BinOp, w: W, a: Val, c: u64, a_in_rax: bool) -> bool {
        let w64 = w == W::W64;
        // The immediate as x86 sees it: sign-extended 32 bits (64-bit ops) or the low
        // 32 bits (32-bit ops, where the value is taken modulo 2^32).
        let imm = if w64 {
            match i32::try_from(c as i64) {
                Ok(v) => v,
                Err(_) => return false,
            }
        } else {
            c as u32 as i32
        };
        let sh = (c & if w64 { 63 } else { 31 }) as i8;
        let ok = matches!(
            op,
            BinOp::Add
                | BinOp::Sub
                | BinOp::And
                | BinOp::Or
                | BinOp::Xor
                | BinOp::Shl
                | BinOp::Lshr
                | BinOp::Ashr
                | BinOp::Ror
        );
        if !ok {
            return false;
        }
        if !a_in_rax {
            self.load(RAX, a);
        }
        if sh == 0 && matches!(op, BinOp::Shl | BinOp::Lshr | BinOp::Ashr | BinOp::Ror) {
            // A shift by zero is the (zero-extended) value itself.
            if !w64 {
                dynasm!(self.asm ; .arch x64 ; mov eax, eax);
            }
            return true;
        }
        match (op, w64) {
            (BinOp::Add, true) => dynasm!(self.asm ; .arch x64 ; add rax, imm),
            (BinOp::Add, false) => dynasm!(self.asm ; .arch x64 ; add eax, imm),
            (BinOp::Sub, true) => dynasm!(self.asm ; .arch x64 ; sub rax, imm),
            (BinOp::Sub, false) => dynasm!(self.asm ; .arch x64 ; sub eax, imm),
            (BinOp::And, true) => dynasm!(self.asm ; .arch x64 ; and rax, imm),
            (BinOp::And, false) => dynasm!(self.asm ; .arch x64 ; and eax, imm),
            (BinOp::Or, true) => dynasm!(self.asm ; .arch x64 ; or rax, imm),
            (BinOp::Or, false) => dynasm!(self.asm ; .arch x64 ; or eax, imm),
            (BinOp::Xor, true) => dynasm!(self.asm ; .arch x64 ; xor rax, imm),
            (BinOp::Xor, false) => dynasm!(self.asm ; .arch x64 ; xor eax, imm),
            (BinOp::Shl, true) => dynasm!(self.asm ; .arch x64 ; shl rax, sh),
            (BinOp::Shl, false) => dynasm!(self.asm ; .arch x64 ; shl eax, sh),
            (BinOp::Lshr, true) => dynasm!(self.asm ; .arch x64 ; shr rax, sh),
            (BinOp::Lshr, false) => dynasm!(self.asm ; .arch x64 ; shr eax, sh),
            (BinOp::Ashr, true) => dynasm!(self.asm ; .arch x64 ; sar rax, sh),
            (BinOp::Ashr, false) => dynasm!(self.asm ; .arch x64 ; sar eax, sh),
            (BinOp::Ror, true) => dynasm!(self.asm ; .arch x64 ; ror rax, sh),
            (BinOp::Ror, false) => dynasm!(self.asm ; .arch x64 ; ror eax, sh),
            _ => unreachable!(),
        }
        true
    }

    fn un(&mut self, op: UnOp, w: W) {
        let w64 = w == W::W64;
        match op {
            UnOp::Not => {
                if w64 {
                    dynasm!(self.asm ; .arch x64 ; not rax)
                } else {
                    dynasm!(self.asm ; .arch x64 ; not eax)
                }
            }
            UnOp::Neg => {
                if w64 {
                    dynasm!(self.asm ; .arch x64 ; neg rax)
                } else {
                    dynasm!(self.asm ; .arch x64 ; neg eax)
                }
            }
            UnOp::Clz => self.clz(w64),
            UnOp::Cls => {
                // cls(x) = clz(x ^ (x >>arith 1)) - 1
                if w64 {
                    dynasm!(self.asm ; .arch x64 ; mov rcx, rax ; sar rcx, 1 ; xor rax, rcx);
                } else {
                    dynasm!(self.asm ; .arch x64 ; mov ecx, eax ; sar ecx, 1 ; xor eax, ecx);
                }
                self.clz(w64);
                dynasm!(self.asm ; .arch x64 ; dec eax);
            }
            UnOp::Rbit => {
                if w64 {
                    dynasm!(self.asm
                        ; .arch x64
                        ; mov rdx, QWORD 0x5555_5555_5555_5555
                        ; mov rcx, rax ; shr rax, 1 ; and rax, rdx ; and rcx, rdx ; shl rcx, 1 ; or rax, rcx
                        ; mov rdx, QWORD 0x3333_3333_3333_3333
                        ; mov rcx, rax ; shr rax, 2 ; and rax, rdx ; and rcx, rdx ; shl rcx, 2 ; or rax, rcx
                        ; mov rdx, QWORD 0x0f0f_0f0f_0f0f_0f0f
                        ; mov rcx, rax ; shr rax, 4 ; and rax, rdx ; and rcx, rdx ; shl rcx, 4 ; or rax, rcx
                        ; bswap rax
                    )
                } else {
                    dynasm!(self.asm
                        ; .arch x64
                        ; mov edx, 0x5555_5555
                        ; mov ecx, eax ; shr eax, 1 ; and eax, edx ; and ecx, edx ; shl ecx, 1 ; or eax, ecx
                        ; mov edx, 0x3333_3333
                        ; mov ecx, eax ; shr eax, 2 ; and eax, edx ; and ecx, edx ; shl ecx, 2 ; or eax, ecx
                        ; mov edx, 0x0f0f_0f0f
                        ; mov ecx, eax ; shr eax, 4 ; and eax, edx ; and ecx, edx ; shl ecx, 4 ; or eax, ecx
                        ; bswap eax
                    )
                }
            }
            UnOp::Rev => {
                if w64 {
                    dynasm!(self.asm ; .arch x64 ; bswap rax)
                } else {
                    dynasm!(self.asm ; .arch x64 ; bswap eax)
                }
            }
            UnOp::Rev16 => {
                if w64 {
                    dynasm!(self.asm
                        ; .arch x64
                        ; mov rdx, QWORD 0x00ff_00ff_00ff_00ff
                        ; mov rcx, rax ; shr rax, 8 ; and rax, rdx ; and rcx, rdx ; shl rcx, 8 ; or rax, rcx
                    )
                } else {
                    dynasm!(self.asm
                        ; .arch x64
                        ; mov edx, 0x00ff_00ff
                        ; mov ecx, eax ; shr eax, 8 ; and eax, edx ; and ecx, edx ; shl ecx, 8 ; or eax, ecx
                    )
                }
            }
            UnOp::Rev32 => {
                if w64 {
                    dynasm!(self.asm ; .arch x64 ; bswap rax ; ror rax, 32)
                } else {
                    dynasm!(self.asm ; .arch x64 ; bswap eax)
                }
            }
            UnOp::Zext8 => dynasm!(self.asm ; .arch x64 ; movzx eax, al),
            UnOp::Zext16 => dynasm!(self.asm ; .arch x64 ; movzx eax, ax),
            UnOp::Zext32 => dynasm!(self.asm ; .arch x64 ; mov eax, eax),
            UnOp::Sext8 => {
                if w64 {
                    dynasm!(self.asm ; .arch x64 ; movsx rax, al)
                } else {
                    dynasm!(self.asm ; .arch x64 ; movsx eax, al)
                }
            }
            UnOp::Sext16 => {
                if w64 {
                    dynasm!(self.asm ; .arch x64 ; movsx rax, ax)
                } else {
                    dynasm!(self.asm ; .arch x64 ; movsx eax, ax)
                }
            }
            UnOp::Sext32 => {
                if w64 {
                    dynasm!(self.asm ; .arch x64 ; movsxd rax, eax)
                } else {
                    dynasm!(self.asm ; .arch x64 ; mov eax, eax)
                }
            }
        }
    }

    fn clz(&mut self, w64: bool) {
        if w64 {
            dynasm!(self.asm
                ; .arch x64
                ; bsr rax, rax
                ; mov ecx, 127
                ; cmovz eax, ecx
                ; xor eax, 63
            )
        } else {
            dynasm!(self.asm
                ; .arch x64
                ; bsr eax, eax
                ; mov ecx, 63
                ; cmovz eax, ecx
                ; xor eax, 31
            )
        }
    }

    /// Load the operands of fused flags value `f` (rax, rcx, rdx) and free those whose
    /// last reader is instruction `i`. Returns the flag operation and width.
    fn load_flag_operands(&mut self, f: Val, i: usize) -> (FlagOp, W) {
        let Op::Flags(fop, w, a, b, c) = self.block.insts[f.0 as usize].op else {
            unreachable!("fused value is not a Flags op")
        };
        self.load(RAX, a);
        self.load(RCX, b);
        if matches!(fop, FlagOp::Adc | FlagOp::Sbc) {
            self.load(RDX, c);
        }
        for v in [a, b, c] {
            if self.last_use[v.0 as usize] == i as u32 {
                self.release(v);
            }
        }
        (fop, w)
    }

    /// The x86 instruction whose flags correspond to `op` (operands in rax, rcx, rdx).
    fn flag_op(&mut self, op: FlagOp, w: W) {
        let w64 = w == W::W64;
        match (op, w64) {
            (FlagOp::Add, true) => dynasm!(self.asm ; .arch x64 ; add rax, rcx),
            (FlagOp::Add, false) => dynasm!(self.asm ; .arch x64 ; add eax, ecx),
            (FlagOp::Sub, true) => dynasm!(self.asm ; .arch x64 ; cmp rax, rcx),
            (FlagOp::Sub, false) => dynasm!(self.asm ; .arch x64 ; cmp eax, ecx),
            (FlagOp::Adc, true) => dynasm!(self.asm ; .arch x64 ; bt edx, 0 ; adc rax, rcx),
            (FlagOp::Adc, false) => dynasm!(self.asm ; .arch x64 ; bt edx, 0 ; adc eax, ecx),
            (FlagOp::Sbc, true) => dynasm!(self.asm ; .arch x64 ; bt edx, 0 ; cmc ; sbb rax, rcx),
            (FlagOp::Sbc, false) => dynasm!(self.asm ; .arch x64 ; bt edx, 0 ; cmc ; sbb eax, ecx),
            (FlagOp::Logic, true) => dynasm!(self.asm ; .arch x64 ; test rax, rax),
            (FlagOp::Logic, false) => dynasm!(self.asm ; .arch x64 ; test eax, eax),
        }
    }

    /// eax = 1 if `c` holds for the current x86 flags, else 0.
    fn setcc(&mut self, c: X86Cond) {
        use X86Cond::*;
        match c {
            O => dynasm!(self.asm ; .arch x64 ; seto al),
            No => dynasm!(self.asm ; .arch x64 ; setno al),
            B => dynasm!(self.asm ; .arch x64 ; setb al),
            Ae => dynasm!(self.asm ; .arch x64 ; setae al),
            E => dynasm!(self.asm ; .arch x64 ; sete al),
            Ne => dynasm!(self.asm ; .arch x64 ; setne al),
            Be => dynasm!(self.asm ; .arch x64 ; setbe al),
            A => dynasm!(self.asm ; .arch x64 ; seta al),
            S => dynasm!(self.asm ; .arch x64 ; sets al),
            Ns => dynasm!(self.asm ; .arch x64 ; setns al),
            L => dynasm!(self.asm ; .arch x64 ; setl al),
            Ge => dynasm!(self.asm ; .arch x64 ; setge al),
            Le => dynasm!(self.asm ; .arch x64 ; setle al),
            G => dynasm!(self.asm ; .arch x64 ; setg al),
            Always => dynasm!(self.asm ; .arch x64 ; mov al, 1),
            Never => dynasm!(self.asm ; .arch x64 ; mov al, 0),
        }
        dynasm!(self.asm ; .arch x64 ; movzx eax, al);
    }

    /// Jump to `l` if `c` holds for the current x86 flags.
    fn jcc(&mut self, c: X86Cond, l: DynamicLabel) {
        use X86Cond::*;
        match c {
            O => dynasm!(self.asm ; .arch x64 ; jo =>l),
            No => dynasm!(self.asm ; .arch x64 ; jno =>l),
            B => dynasm!(self.asm ; .arch x64 ; jb =>l),
            Ae => dynasm!(self.asm ; .arch x64 ; jae =>l),
            E => dynasm!(self.asm ; .arch x64 ; je =>l),
            Ne => dynasm!(self.asm ; .arch x64 ; jne =>l),
            Be => dynasm!(self.asm ; .arch x64 ; jbe =>l),
            A => dynasm!(self.asm ; .arch x64 ; ja =>l),
            S => dynasm!(self.asm ; .arch x64 ; js =>l),
            Ns => dynasm!(self.asm ; .arch x64 ; jns =>l),
            L => dynasm!(self.asm ; .arch x64 ; jl =>l),
            Ge => dynasm!(self.asm ; .arch x64 ; jge =>l),
            Le => dynasm!(self.asm ; .arch x64 ; jle =>l),
            G => dynasm!(self.asm ; .arch x64 ; jg =>l),
            Always => dynasm!(self.asm ; .arch x64 ; jmp =>l),
            Never => {}
        }
    }

    /// eax = packed NZCV in, 0/1 out: does condition `cc` hold?
    fn cond_from_packed(&mut self, cc: u8) {
        let t = COND_TABLE[cc as usize] as i32;
        dynasm!(self.asm
            ; .arch x64
            ; shr eax, 28
            ; mov ecx, t
            ; bt ecx, eax
            ; setc al
            ; movzx eax, al
        );
    }

    /// rax = a, rcx = b, rdx = carry: leave Arm NZCV (bits 31..28) in eax.
    fn flags(&mut self, op: FlagOp, w: W) {
        self.flag_op(op, w);
        self.pack_flags(op);
    }

    /// Right after the x86 instruction for `op` ([`Emitter::flag_op`]): leave Arm NZCV
    /// (bits 31..28) in eax.
    fn pack_flags(&mut self, op: FlagOp) {
        // Does x86 CF mean "borrow" (Arm C is its inverse)?
        let inv_c = matches!(op, FlagOp::Sub | FlagOp::Sbc);
        if inv_c {
            // Arm's C after a subtraction is "no borrow": x86's CF inverted (cmc leaves
            // SF, ZF and OF alone).
            dynasm!(self.asm ; .arch x64 ; cmc);
        }
        // ax = SF ZF 0 AF 0 PF 1 CF : 0000000 OF (lahf; seto). Keep SF (15), ZF (14),
        // CF (8) and OF (0) — only SF and ZF for logical ops, which clear C and V — and
        // move them to N (31), Z (30), C (29) and V (28) with one multiply by
        // 2^16 + 2^21 + 2^28: each target bit gets exactly one of the kept bits, the other
        // products land below bit 28 or above bit 31 (carry-free), and the final mask
        // drops them.
        dynasm!(self.asm ; .arch x64 ; lahf ; seto al);
        self.pack_ax(op, false);
    }

    /// ax = `lahf; seto al` after the x86 instruction for `op`: leave Arm NZCV in eax,
    /// inverting C when `flip_c` (a subtraction whose CF was not complemented).
    fn pack_ax(&mut self, op: FlagOp, flip_c: bool) {
        let keep = if op == FlagOp::Logic { 0xc000 } else { 0xc101 };
        dynasm!(self.asm ; .arch x64 ; movzx eax, ax);
        if flip_c {
            dynasm!(self.asm ; .arch x64 ; xor eax, 0x100);
        }
        dynasm!(self.asm
            ; .arch x64
            ; and eax, keep
            ; imul eax, eax, 0x1021_0000
            ; and eax, 0xf000_0000u32 as i32
        );
    }

    fn call(&mut self, i: usize, f: usize, args: &[Val], side_effects: bool) {
        self.evict_caller_saved(i);
        if side_effects {
            // Helpers that may fault or read the PC see the current instruction's.
            let pc = self.cur_pc;
            dynasm!(self.asm ; .arch x64 ; mov rax, QWORD pc as i64 ; mov [rbp + off::PC], rax);
        }
        const ARG_REGS: [u8; 4] = [RSI, RDX, RCX, R8];
        for (k, a) in args.iter().enumerate() {
            self.load(ARG_REGS[k], *a);
        }
        self.free_dead(i);
        if side_effects {
            self.mark_fault_point();
        }
        dynasm!(self.asm
            ; .arch x64
            ; mov rdi, rbp
            ; mov rax, QWORD f as i64
            ; call rax
        );
        self.def_rax(i);
    }

    // ---- exits -----------------------------------------------------------------

    /// Emit a patchable `jmp rel32` that initially goes to a stub returning CHAIN.
    fn chain_exit(&mut self, target: u64) {
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

    fn exit_with(&mut self, code: u64, pc: u64, arg: Option<u64>) {
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

    fn term(&mut self) {
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
                let jt = self.rt.jump_table;
                if jt != 0 {
                    // One load of the entry (see `JtEntry`): hit when its PC tag equals
                    // pc >> 18, then jump to cache_base + 16 * offset.
                    let mask = (JT_ENTRIES - 1) as i32;
                    let base = self.rt.cache_base as i64;
                    dynasm!(self.asm
                        ; .arch x64
                        ; mov rcx, rax
                        ; shr rcx, 48
                        ; jnz >miss
                        ; mov rcx, rax
                        ; shr rcx, 2
                        ; and ecx, mask
                        ; mov rdx, QWORD jt as i64
                        ; mov rdx, [rdx + rcx * 8]
                        ; not rdx
                        ; mov rcx, rax
                        ; shr rcx, 18
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

    fn stubs(&mut self) {
        let epi = self.rt.epilogue;
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

/// Emit the enter trampoline and the epilogue at host address `base`.
/// `enter(cpu, code) -> exit code`: saves callee-saved registers, pins `rbp = cpu`,
/// aligns the stack and jumps to `code`; the epilogue undoes that and returns `rax`.
pub fn runtime_stubs(base: usize) -> (Vec<u8>, usize, usize) {
    let mut asm = Asm::new(base);
    let enter = asm.offset().0;
    dynasm!(asm
        ; .arch x64
        ; push rbx
        ; push rbp
        ; push r12
        ; push r13
        ; push r14
        ; push r15
        ; sub rsp, 8
        ; mov rbp, rdi
        ; jmp rsi
    );
    let epilogue = asm.offset().0;
    dynasm!(asm
        ; .arch x64
        ; add rsp, 8
        ; pop r15
        ; pop r14
        ; pop r13
        ; pop r12
        ; pop rbp
        ; pop rbx
        ; ret
    );
    let code = asm.finalize().expect("runtime stubs");
    (code, base + enter, base + epilogue)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cond_table_spot_checks() {
        let holds = |cc: usize, f: u16| COND_TABLE[cc] >> f & 1 == 1;
        // EQ with Z set
        assert!(holds(0, 4));
        assert!(!holds(0, 0));
        // HI: C && !Z
        assert!(holds(8, 2));
        assert!(!holds(8, 6));
        // GE: N == V
        assert!(holds(10, 9));
        assert!(!holds(10, 8));
        // AL and NV always
        assert_eq!(COND_TABLE[14], 0xffff);
        assert_eq!(COND_TABLE[15], 0xffff);
    }
}

#[cfg(test)]
mod fusion_tests {
    use super::COND_TABLE;
    use crate::arm64::cpu::Cpu;
    use crate::engine::testing::{run, END_BRK};
    use crate::engine::Exit;

    /// Arm NZCV (as a 4-bit N=8 Z=4 C=2 V=1 value) of `a op b` at `bits` width.
    fn reference(op: u8, a: u64, b: u64, bits: u32) -> u16 {
        let m = if bits == 64 { u64::MAX } else { 0xffff_ffff };
        let (a, b) = (a & m, b & m);
        let sign = 1u64 << (bits - 1);
        let (r, c, v) = match op {
            // cmp: a + !b + 1
            0 => {
                let r = a.wrapping_sub(b) & m;
                (r, a >= b, ((a ^ b) & (a ^ r) & sign) != 0)
            }
            // cmn: a + b
            1 => {
                let wide = a as u128 + b as u128;
                let r = (wide as u64) & m;
                (r, wide > m as u128, (!(a ^ b) & (a ^ r) & sign) != 0)
            }
            // tst: a & b
            _ => (a & b, false, false),
        };
        let n = r & sign != 0;
        ((n as u16) << 3) | (((r == 0) as u16) << 2) | ((c as u16) << 1) | v as u16
    }

    #[test]
    fn fused_compare_branch_and_cset_match_reference() {
        let vals: [u64; 9] = [
            0,
            1,
            2,
            0x7fff_ffff,
            0x8000_0000,
            0xffff_ffff,
            0x7fff_ffff_ffff_ffff,
            0x8000_0000_0000_0000,
            u64::MAX,
        ];
        // (op, 64-bit word, 32-bit word) for cmp, cmn, tst x1/w1 with x2/w2.
        let ops: [(u8, u32, u32); 3] = [
            (0, 0xeb02_003f, 0x6b02_003f),
            (1, 0xab02_003f, 0x2b02_003f),
            (2, 0xea02_003f, 0x6a02_003f),
        ];
        for (op, w64, w32) in ops {
            for (word, bits) in [(w64, 64), (w32, 32)] {
                for &a in &vals {
                    for &b in &vals {
                        let f = reference(op, a, b, bits);
                        for cc in 0u32..14 {
                            let want = COND_TABLE[cc as usize] >> f & 1 == 1;
                            // Fused compare + conditional branch.
                            let mut cpu = Cpu::new();
                            cpu.x[1] = a;
                            cpu.x[2] = b;
                            let e = run(&[word, 0x5400_0040 | cc, 0xd420_0020], &mut cpu);
                            let taken = e == Exit::Brk(END_BRK);
                            assert_eq!(
                                taken, want,
                                "b.{cc} after op {op}/{bits} a={a:#x} b={b:#x}"
                            );
                            // NZCV stored on both exit paths of the fused branch.
                            assert_eq!(cpu.nzcv >> 28, f as u64, "nzcv at b.{cc} op {op}");
                            // Fused compare + cset (materialised condition) + NZCV.
                            let mut cpu = Cpu::new();
                            cpu.x[1] = a;
                            cpu.x[2] = b;
                            let cset = 0x9a9f_07e0 | ((cc ^ 1) << 12);
                            let e = run(&[word, cset], &mut cpu);
                            assert_eq!(e, Exit::Brk(END_BRK));
                            assert_eq!(
                                cpu.x[0] == 1,
                                want,
                                "cset {cc} after op {op}/{bits} a={a:#x} b={b:#x}"
                            );
                            assert_eq!(cpu.nzcv >> 28, f as u64, "nzcv after op {op}/{bits}");
                        }
                    }
                }
            }
        }
    }
}
