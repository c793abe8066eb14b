//! The intermediate representation between the arm64 lifters and the x86-64 backend.
//!
//! A block is a straight line of instructions in SSA form: every instruction defines at
//! most one 64-bit value, named by its index ([`Val`]). There is no control flow inside
//! a block; conditional work uses [`Op::Select`], and the block ends with exactly one
//! [`Term`]inal. Guest state is reached only through explicit ops (guest registers,
//! NZCV, vector registers, memory), which is what lets the passes in [`opt`] reason
//! about it and lets the backend keep values in host registers.
//!
//! Memory ops are abstract (`Load`/`Store` with a size and signedness): the backend asks
//! the environment's memory lowering how to turn a guest address into a host access, so
//! user mode and system mode share every lifter.
//!
//! This module may be used by `arm64` (which builds IR) and `x64` (which consumes it);
//! it imports neither.

pub mod opt;

use std::fmt;

/// A value: the result of the instruction with this index in [`Block::insts`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Val(pub u32);

impl fmt::Debug for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

/// Operation width. `W32` ops read the low 32 bits of their inputs and produce a
/// zero-extended 32-bit result; `W64` ops use all 64 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum W {
    W32,
    W64,
}

impl W {
    pub fn bits(self) -> u32 {
        match self {
            W::W32 => 32,
            W::W64 => 64,
        }
    }
    /// The width of an A64 `sf` bit.
    pub fn from_sf(sf: u32) -> W {
        if sf != 0 {
            W::W64
        } else {
            W::W32
        }
    }
    pub fn mask(self) -> u64 {
        match self {
            W::W32 => 0xffff_ffff,
            W::W64 => u64::MAX,
        }
    }
}

/// Two-operand integer operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    Add,
    Sub,
    And,
    Or,
    Xor,
    /// `a & !b`
    AndNot,
    /// `a | !b`
    OrNot,
    /// `a ^ !b`
    XorNot,
    /// Shifts and rotate take the amount modulo the width (as A64 LSLV/LSRV/ASRV/RORV do).
    Shl,
    Lshr,
    Ashr,
    Ror,
    Mul,
    /// High 64 bits of the unsigned 128-bit product (W64 only).
    UMulH,
    /// High 64 bits of the signed 128-bit product (W64 only).
    SMulH,
    /// Arm semantics: division by zero gives 0; `MIN / -1` gives `MIN`.
    UDiv,
    SDiv,
}

/// One-operand integer operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnOp {
    Not,
    Neg,
    /// Count leading zeros (result = width for 0).
    Clz,
    /// Count leading sign bits, not counting the sign bit itself.
    Cls,
    /// Reverse the bit order.
    Rbit,
    /// Reverse the byte order of the whole width.
    Rev,
    /// Reverse bytes within each 16-bit halfword.
    Rev16,
    /// Reverse bytes within each 32-bit word (W64 only).
    Rev32,
    /// Zero/sign-extend from 8, 16 or 32 bits (then truncated to the op width).
    Zext8,
    Zext16,
    Zext32,
    Sext8,
    Sext16,
    Sext32,
}

/// Which NZCV computation a [`Op::Flags`] performs. The result is NZCV in the
/// architectural position (bits 31..28), all other bits zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlagOp {
    /// Flags of `a + b`.
    Add,
    /// Flags of `a - b` (C = no borrow, as Arm defines it).
    Sub,
    /// Flags of `a + b + c` (c is 0 or 1).
    Adc,
    /// Flags of `a + !b + c` (c is 0 or 1), i.e. SBCS.
    Sbc,
    /// N and Z of `a`; C and V cleared (ANDS, BICS, TST).
    Logic,
}

/// Memory ordering attached to an access, mirroring A64's acquire/release forms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Order {
    Plain,
    /// LDAR / LDAPR / acquire atomics.
    Acquire,
    /// STLR / release atomics.
    Release,
    /// Both (e.g. LDADDAL, CASAL).
    AcqRel,
}

/// A helper function called from generated code. It receives the guest CPU state
/// first and up to four 64-bit arguments, and returns one 64-bit value.
pub type HelperFn = unsafe extern "C" fn(*mut u8, u64, u64, u64, u64) -> u64;

/// A named helper, so that `-d op` dumps and the disassembler can say what is called.
#[derive(Clone, Copy)]
pub struct Helper {
    pub name: &'static str,
    pub f: HelperFn,
    /// The helper may read or write guest memory (so it may fault) or guest registers
    /// other than through its arguments; the optimiser treats it as a barrier.
    pub side_effects: bool,
    /// An inline fast path the backend may emit in front of the call (see [`FastFp`]).
    /// The call stays the semantics: the fast path must give exactly the helper's
    /// result and guest-state effects whenever it completes, and fall back to the
    /// helper otherwise.
    pub fast: Option<FastFp>,
}

impl Helper {
    /// This helper with an inline fast path.
    pub const fn with_fast(self, fast: FastFp) -> Helper {
        Helper {
            fast: Some(fast),
            ..self
        }
    }
}

/// Floating-point operations of [`FastFp`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FpOp {
    Add,
    Sub,
    Mul,
    Div,
    /// `d + n * m`, fused (vector FMLA).
    MulAdd,
    /// `d - n * m`, fused (vector FMLS).
    MulSub,
}

/// What a floating-point helper computes, for the backend's inline fast path: the
/// host instruction(s) that give the Arm result when FPCR is in its default mode and
/// the result needs no exception flag other than an already-set FPSR.IXC. Operands and
/// result are raw IEEE bit patterns, single precision zero-extended to 64 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FastFp {
    /// Scalar `a op b` (arguments `a`, `b`; `op` is Add, Sub, Mul or Div).
    Arith { op: FpOp, double: bool },
    /// Scalar square root of the argument.
    Sqrt { double: bool },
    /// Scalar fused `a + n * m` (arguments `a`, `n`, `m`).
    MulAdd { double: bool },
    /// FCMP/FCMPE of `a` and `b`: NZCV in bits 31..28.
    Cmp { double: bool },
    /// FCVT between single and double precision (argument: the source).
    Cvt { to_double: bool },
    /// FCVTZS/FCVTZU (round towards zero, no fraction bits) to a W or X register
    /// (arguments: the source and a configuration word the fast path ignores).
    ToInt {
        double: bool,
        x: bool,
        unsigned: bool,
    },
    /// SCVTF/UCVTF from a W or X register without fraction bits (arguments: the
    /// integer and a configuration word the fast path ignores).
    FromInt {
        double: bool,
        x: bool,
        unsigned: bool,
    },
    /// Vector FADD/FSUB/FMUL/FDIV/FMLA/FMLS on whole vector registers (the helper
    /// reads and writes them in the CPU state; its argument is the instruction word).
    Vec {
        op: FpOp,
        double: bool,
        q: bool,
        rd: u8,
        rn: u8,
        rm: u8,
    },
}

impl fmt::Debug for Helper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl PartialEq for Helper {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && std::ptr::fn_addr_eq(self.f, other.f)
    }
}

/// Guest integer register index: 0..=30 are X0..X30, [`SP`] is the stack pointer.
/// (XZR is not a register; the builder turns reads of it into `Const(0)`.)
pub type Reg = u8;
pub const SP: Reg = 31;

/// One IR operation. Ops marked "defines" produce a value.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// Marks the start of the guest instruction at this address. Used for precise
    /// fault reporting (host PC → guest PC) and `-d op` dumps; emits no code itself.
    InsnStart(u64),
    /// defines: a constant.
    Const(u64),
    /// defines: guest register value.
    GetReg(Reg),
    SetReg(Reg, Val),
    /// defines: NZCV (bits 31..28).
    GetNzcv,
    SetNzcv(Val),
    /// defines: result of a two-operand op.
    Bin(BinOp, W, Val, Val),
    /// defines: result of a one-operand op.
    Un(UnOp, W, Val),
    /// defines: `a + b + (c & 1)` / `a + !b + (c & 1)` with carry in.
    Adc(W, Val, Val, Val),
    Sbc(W, Val, Val, Val),
    /// defines: NZCV of an arithmetic/logic result. The third operand is the carry for
    /// `Adc`/`Sbc` and ignored (pass any value, conventionally the first) otherwise.
    Flags(FlagOp, W, Val, Val, Val),
    /// defines: 1 if condition code `cc` (A64 encoding 0..15) holds for `nzcv`, else 0.
    Cond(u8, Val),
    /// defines: `if c != 0 { a } else { b }`.
    Select(Val, Val, Val),
    /// defines: a guest memory load of `size` bytes (1, 2, 4, 8), zero- or
    /// sign-extended to 64 bits.
    ///
    /// `unpriv` (LDTR and its variants): checked with EL0 permissions even at EL1.
    /// User mode runs at EL0, where it changes nothing.
    Load {
        size: u8,
        signed: bool,
        addr: Val,
        order: Order,
        unpriv: bool,
    },
    /// A guest memory store of the low `size` bytes of `val` (`unpriv`: STTR and its
    /// variants, as for `Load`).
    Store {
        size: u8,
        addr: Val,
        val: Val,
        order: Order,
        unpriv: bool,
    },
    /// defines: 64-bit lane `lane` (0 = low, 1 = high) of vector register `v`.
    GetVLane(u8, u8),
    /// Write 64-bit lane `lane` of vector register `v` (other lane unchanged).
    SetVLane(u8, u8, Val),
    /// Load `size` bytes (1, 2, 4, 8 or 16) into vector register `v`, zeroing the rest.
    LoadV {
        v: u8,
        size: u8,
        addr: Val,
    },
    /// Store the low `size` bytes of vector register `v`.
    StoreV {
        v: u8,
        size: u8,
        addr: Val,
    },
    /// A full memory barrier (DMB/DSB). The backend emits `mfence` only where x86's
    /// ordering is weaker than what is asked (DMB ISH with stores → `mfence`).
    Fence,
    /// defines: result of calling a helper with up to four arguments.
    Call(Helper, Vec<Val>),
}

impl Op {
    /// Does this op define a value?
    pub fn defines(&self) -> bool {
        !matches!(
            self,
            Op::InsnStart(_)
                | Op::SetReg(..)
                | Op::SetNzcv(_)
                | Op::Store { .. }
                | Op::SetVLane(..)
                | Op::LoadV { .. }
                | Op::StoreV { .. }
                | Op::Fence
        )
    }

    /// Values this op reads.
    pub fn args(&self) -> Vec<Val> {
        let mut v = Vec::new();
        self.for_each_arg(|a| v.push(a));
        v
    }

    /// Call `f` on every value this op reads, in order.
    pub fn for_each_arg(&self, mut f: impl FnMut(Val)) {
        match self {
            Op::InsnStart(_) | Op::Const(_) | Op::GetReg(_) | Op::GetNzcv | Op::GetVLane(..) => {}
            Op::Fence => {}
            Op::SetReg(_, a) | Op::SetNzcv(a) | Op::Un(_, _, a) | Op::Cond(_, a) => f(*a),
            Op::SetVLane(_, _, a) => f(*a),
            Op::Bin(_, _, a, b) => {
                f(*a);
                f(*b)
            }
            Op::Adc(_, a, b, c) | Op::Sbc(_, a, b, c) | Op::Select(a, b, c) => {
                f(*a);
                f(*b);
                f(*c)
            }
            Op::Flags(_, _, a, b, c) => {
                f(*a);
                f(*b);
                f(*c)
            }
            Op::Load { addr, .. } | Op::LoadV { addr, .. } | Op::StoreV { addr, .. } => f(*addr),
            Op::Store { addr, val, .. } => {
                f(*addr);
                f(*val)
            }
            Op::Call(_, args) => args.iter().for_each(|a| f(*a)),
        }
    }

    /// Rewrite every value this op reads through `m`.
    pub fn map_args(&mut self, m: impl Fn(Val) -> Val) {
        match self {
            Op::InsnStart(_) | Op::Const(_) | Op::GetReg(_) | Op::GetNzcv | Op::GetVLane(..) => {}
            Op::Fence => {}
            Op::SetReg(_, a) | Op::SetNzcv(a) | Op::Un(_, _, a) | Op::Cond(_, a) => *a = m(*a),
            Op::SetVLane(_, _, a) => *a = m(*a),
            Op::Bin(_, _, a, b) => {
                *a = m(*a);
                *b = m(*b)
            }
            Op::Adc(_, a, b, c) | Op::Sbc(_, a, b, c) | Op::Select(a, b, c) => {
                *a = m(*a);
                *b = m(*b);
                *c = m(*c)
            }
            Op::Flags(_, _, a, b, c) => {
                *a = m(*a);
                *b = m(*b);
                *c = m(*c)
            }
            Op::Load { addr, .. } | Op::LoadV { addr, .. } | Op::StoreV { addr, .. } => {
                *addr = m(*addr)
            }
            Op::Store { addr, val, .. } => {
                *addr = m(*addr);
                *val = m(*val)
            }
            Op::Call(_, args) => args.iter_mut().for_each(|a| *a = m(*a)),
        }
    }

    /// May this op fault or otherwise observe guest state precisely (memory accesses,
    /// helpers with side effects)? Guest registers must be up to date before it runs.
    pub fn is_barrier(&self) -> bool {
        match self {
            Op::Load { .. } | Op::Store { .. } | Op::LoadV { .. } | Op::StoreV { .. } => true,
            Op::Fence => true,
            Op::Call(h, _) => h.side_effects,
            _ => false,
        }
    }

    /// Has this op an effect besides defining its value (so it may not be deleted)?
    pub fn has_effect(&self) -> bool {
        match self {
            Op::InsnStart(_)
            | Op::SetReg(..)
            | Op::SetNzcv(_)
            | Op::Store { .. }
            | Op::SetVLane(..)
            | Op::LoadV { .. }
            | Op::StoreV { .. }
            | Op::Fence => true,
            // A load may fault: keep it (its fault is guest-visible).
            Op::Load { .. } => true,
            Op::Call(h, _) => h.side_effects,
            _ => false,
        }
    }
}

/// Why a block hands control back to the environment (other than a branch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trap {
    /// `SVC #imm`: a system call. The PC stored is that of the next instruction.
    Svc(u16),
    /// `BRK #imm`: breakpoint (SIGTRAP in user mode).
    Brk(u16),
    /// An undefined, unallocated or unimplemented encoding (SIGILL). Carries the word.
    Undefined(u32),
    /// `HVC`/`SMC`/other EL-changing instructions not allowed at EL0 (SIGILL in user mode).
    Privileged(u32),
    /// Instruction fetch from a page that is not executable (SIGSEGV in user mode).
    FetchFault(u64),
    /// `IC IVAU`: invalidate translations covering the address left in the CPU state's
    /// `exit_arg`, then continue at `pc` (the next instruction).
    IcInvalidate,
    /// The translated code must be looked up again (after `IC IVAU`, an `ISB`
    /// that follows code modification, or other state the translation depends on).
    Resync,
}

/// Kind of indirect branch, used for return-address prediction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndKind {
    /// `BR`.
    Jump,
    /// `BLR` (the return address is already written to X30).
    Call,
    /// `RET`.
    Ret,
}

/// How a block ends.
#[derive(Clone, Debug, PartialEq)]
pub enum Term {
    /// Continue at a known guest address (chainable).
    Goto(u64),
    /// Continue at `taken` if `cond != 0`, otherwise at `not_taken` (both chainable).
    Branch {
        cond: Val,
        taken: u64,
        not_taken: u64,
    },
    /// Continue at the address held in a value.
    Indirect(Val, IndKind),
    /// Stop and report to the environment; `pc` is where execution resumes (for `Svc`)
    /// or the faulting instruction (for the others).
    Trap { trap: Trap, pc: u64 },
}

// ---- constant evaluation ---------------------------------------------------------------

/// `v` sign-extended from its low `n` bits.
fn sext(v: u64, n: u32) -> i64 {
    ((v << (64 - n)) as i64) >> (64 - n)
}

/// Evaluate a two-operand op on constants exactly as the backend would.
pub fn eval_bin(op: BinOp, w: W, a: u64, b: u64) -> u64 {
    let m = w.mask();
    let n = w.bits();
    let (a, b) = (a & m, b & m);
    let sa = sext(a, n);
    let r = match op {
        BinOp::Add => a.wrapping_add(b),
        BinOp::Sub => a.wrapping_sub(b),
        BinOp::And => a & b,
        BinOp::Or => a | b,
        BinOp::Xor => a ^ b,
        BinOp::AndNot => a & !b,
        BinOp::OrNot => a | !b,
        BinOp::XorNot => a ^ !b,
        BinOp::Shl => a << (b % n as u64),
        BinOp::Lshr => a >> (b % n as u64),
        BinOp::Ashr => (sa >> (b % n as u64)) as u64,
        BinOp::Ror => {
            let s = (b % n as u64) as u32;
            match w {
                W::W64 => a.rotate_right(s),
                W::W32 => (a as u32).rotate_right(s) as u64,
            }
        }
        BinOp::Mul => a.wrapping_mul(b),
        BinOp::UMulH => ((a as u128 * b as u128) >> 64) as u64,
        BinOp::SMulH => ((a as i64 as i128 * b as i64 as i128) >> 64) as u64,
        BinOp::UDiv => a.checked_div(b).unwrap_or(0),
        BinOp::SDiv => {
            if b == 0 {
                0
            } else {
                sa.wrapping_div(sext(b, n)) as u64
            }
        }
    };
    r & m
}

/// Evaluate a one-operand op on a constant exactly as the backend would.
pub fn eval_un(op: UnOp, w: W, x: u64) -> u64 {
    let m = w.mask();
    let x = x & m;
    let w64 = w == W::W64;
    let r = match op {
        UnOp::Not => !x,
        UnOp::Neg => x.wrapping_neg(),
        UnOp::Clz if w64 => x.leading_zeros() as u64,
        UnOp::Clz => (x as u32).leading_zeros() as u64,
        UnOp::Cls if w64 => {
            let s = x as i64;
            (((s ^ (s >> 1)) as u64).leading_zeros() - 1) as u64
        }
        UnOp::Cls => {
            let s = x as u32 as i32;
            (((s ^ (s >> 1)) as u32).leading_zeros() - 1) as u64
        }
        UnOp::Rbit if w64 => x.reverse_bits(),
        UnOp::Rbit => (x as u32).reverse_bits() as u64,
        UnOp::Rev => x.swap_bytes() >> (64 - w.bits()),
        UnOp::Rev16 => ((x >> 8) & 0x00ff_00ff_00ff_00ff) | ((x & 0x00ff_00ff_00ff_00ff) << 8),
        UnOp::Rev32 => {
            ((x as u32).swap_bytes() as u64) | (((x >> 32) as u32).swap_bytes() as u64) << 32
        }
        UnOp::Zext8 => x & 0xff,
        UnOp::Zext16 => x & 0xffff,
        UnOp::Zext32 => x & 0xffff_ffff,
        UnOp::Sext8 => x as u8 as i8 as i64 as u64,
        UnOp::Sext16 => x as u16 as i16 as i64 as u64,
        UnOp::Sext32 => x as u32 as i32 as i64 as u64,
    };
    r & m
}

/// One instruction: an op and, if the op defines a value, that value is `Val(index)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Inst {
    pub op: Op,
}

/// A translated guest block in IR form.
#[derive(Clone, Debug)]
pub struct Block {
    /// Guest address of the first instruction.
    pub pc: u64,
    /// The translation context the block is lifted and compiled for.
    pub ctx: Ctx,
    /// Number of guest bytes covered (a multiple of 4).
    pub guest_len: u64,
    pub insts: Vec<Inst>,
    pub term: Term,
}

/// The translation context of a block (QEMU's "TB flags"): state outside the guest
/// instructions that changes how they are translated, supplied by the environment
/// ([`crate::engine::Fetch::context`]) and part of the key blocks are looked up by
/// (with the PC). Bits 8..=9 are the exception level, which the lifter reads; bits
/// 0..=7 belong to the environment's memory lowering (user mode: bit 0, Top Byte
/// Ignore applied inline, see [`crate::x64::Identity`]); bits 10 and 11 mark system
/// mode and its SPSel ([`Ctx::SYSTEM`], [`Ctx::SPSEL`]); bit 12 marks the engine's
/// single-step blocks; the rest are reserved for system mode (MMU state, alignment
/// checking, FP enable, …).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Ctx(pub u32);

impl Ctx {
    const EL_SHIFT: u32 = 8;
    /// Bit 10: the code runs on the system machine (`ferrite-system-aarch64`), whose
    /// environment models EL1: system registers, exceptions and the privileged
    /// instructions go to it (through [`crate::arm64::cpu::Cpu::sys`]) instead of being
    /// user mode's EL0-only subset. Clear in user mode.
    pub const SYSTEM: u32 = 1 << 10;
    /// Bit 11 (system mode): PSTATE.SPSel, the stack pointer in `x[31]` is SP_ELx
    /// (set) or SP_EL0 (clear). At EL1 it decides whether `MRS/MSR SP_EL0` is allowed.
    pub const SPSEL: u32 = 1 << 11;

    /// The exception level the code runs at (0 in user mode).
    pub fn el(self) -> u8 {
        ((self.0 >> Self::EL_SHIFT) & 3) as u8
    }

    /// This context at exception level `el`.
    pub fn with_el(self, el: u8) -> Ctx {
        Ctx(self.0 & !(3 << Self::EL_SHIFT) | ((el as u32 & 3) << Self::EL_SHIFT))
    }

    /// The memory lowering's bits (0..=7).
    pub fn lowering(self) -> u8 {
        self.0 as u8
    }

    /// Is this a system-mode context ([`Ctx::SYSTEM`])?
    pub fn system(self) -> bool {
        self.0 & Self::SYSTEM != 0
    }

    /// PSTATE.SPSel of a system-mode context ([`Ctx::SPSEL`]).
    pub fn spsel(self) -> bool {
        self.0 & Self::SPSEL != 0
    }

    /// Bit 12: a single-step block (one guest instruction, never chained), which the
    /// engine translates for a debugger (see `engine::Engine::step`).
    const STEP: u32 = 1 << 12;

    /// Is this the context of single-step blocks?
    pub fn is_step(self) -> bool {
        self.0 & Self::STEP != 0
    }

    /// This context for single-step blocks.
    pub fn for_step(self) -> Ctx {
        Ctx(self.0 | Self::STEP)
    }
}

impl Block {
    pub fn new(pc: u64) -> Block {
        Block {
            pc,
            ctx: Ctx::default(),
            guest_len: 0,
            insts: SPARE_INSTS.with(|s| s.take()),
            term: Term::Trap {
                trap: Trap::Resync,
                pc,
            },
        }
    }

    /// Done with this block: keep its instruction vector (emptied) for the next one
    /// this thread builds. Translation builds one block at a time, and allocating a
    /// fresh vector per block showed in start-up profiles.
    pub fn recycle(mut self) {
        self.insts.clear();
        SPARE_INSTS.with(|s| s.set(self.insts));
    }

    /// The op that defines `v`.
    pub fn def(&self, v: Val) -> &Op {
        &self.insts[v.0 as usize].op
    }

    /// If `v` is a constant, its value.
    pub fn const_of(&self, v: Val) -> Option<u64> {
        match self.def(v) {
            Op::Const(c) => Some(*c),
            _ => None,
        }
    }
}

impl fmt::Display for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "block {:#x} ({} guest bytes):", self.pc, self.guest_len)?;
        for (i, inst) in self.insts.iter().enumerate() {
            match &inst.op {
                Op::InsnStart(pc) => writeln!(f, "  ---- {pc:#x}")?,
                op if op.defines() => writeln!(f, "  v{i} = {op:?}")?,
                op => writeln!(f, "  {op:?}")?,
            }
        }
        writeln!(f, "  {:?}", self.term)
    }
}

thread_local! {
    /// The instruction vector of this thread's last finished block (see
    /// [`Block::recycle`]).
    static SPARE_INSTS: std::cell::Cell<Vec<Inst>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Builds a [`Block`]. Lifters use these methods; each returns the defined value.
pub struct Builder {
    pub block: Block,
}

impl Builder {
    pub fn new(pc: u64) -> Builder {
        Builder {
            block: Block::new(pc),
        }
    }

    /// Append an op; returns the value it defines (meaningless for ops that define none).
    pub fn push(&mut self, op: Op) -> Val {
        let v = Val(self.block.insts.len() as u32);
        self.block.insts.push(Inst { op });
        v
    }

    pub fn konst(&mut self, c: u64) -> Val {
        self.push(Op::Const(c))
    }
    pub fn get_reg(&mut self, r: Reg) -> Val {
        self.push(Op::GetReg(r))
    }
    pub fn set_reg(&mut self, r: Reg, v: Val) {
        self.push(Op::SetReg(r, v));
    }
    pub fn get_nzcv(&mut self) -> Val {
        self.push(Op::GetNzcv)
    }
    pub fn set_nzcv(&mut self, v: Val) {
        self.push(Op::SetNzcv(v));
    }
    pub fn bin(&mut self, op: BinOp, w: W, a: Val, b: Val) -> Val {
        self.push(Op::Bin(op, w, a, b))
    }
    pub fn un(&mut self, op: UnOp, w: W, a: Val) -> Val {
        self.push(Op::Un(op, w, a))
    }
    pub fn add(&mut self, w: W, a: Val, b: Val) -> Val {
        self.bin(BinOp::Add, w, a, b)
    }
    pub fn sub(&mut self, w: W, a: Val, b: Val) -> Val {
        self.bin(BinOp::Sub, w, a, b)
    }
    pub fn and(&mut self, w: W, a: Val, b: Val) -> Val {
        self.bin(BinOp::And, w, a, b)
    }
    pub fn or(&mut self, w: W, a: Val, b: Val) -> Val {
        self.bin(BinOp::Or, w, a, b)
    }
    pub fn xor(&mut self, w: W, a: Val, b: Val) -> Val {
        self.bin(BinOp::Xor, w, a, b)
    }
    pub fn shl(&mut self, w: W, a: Val, b: Val) -> Val {
        self.bin(BinOp::Shl, w, a, b)
    }
    pub fn lshr(&mut self, w: W, a: Val, b: Val) -> Val {
        self.bin(BinOp::Lshr, w, a, b)
    }
    pub fn ashr(&mut self, w: W, a: Val, b: Val) -> Val {
        self.bin(BinOp::Ashr, w, a, b)
    }
    /// `a + c` for a constant `c`.
    pub fn add_imm(&mut self, w: W, a: Val, c: u64) -> Val {
        let k = self.konst(c);
        self.add(w, a, k)
    }
    pub fn adc(&mut self, w: W, a: Val, b: Val, c: Val) -> Val {
        self.push(Op::Adc(w, a, b, c))
    }
    pub fn sbc(&mut self, w: W, a: Val, b: Val, c: Val) -> Val {
        self.push(Op::Sbc(w, a, b, c))
    }
    /// NZCV of `op` applied to `a`, `b` (and carry `c` for Adc/Sbc).
    pub fn flags(&mut self, op: FlagOp, w: W, a: Val, b: Val, c: Val) -> Val {
        self.push(Op::Flags(op, w, a, b, c))
    }
    pub fn cond(&mut self, cc: u8, nzcv: Val) -> Val {
        self.push(Op::Cond(cc, nzcv))
    }
    pub fn select(&mut self, c: Val, a: Val, b: Val) -> Val {
        self.push(Op::Select(c, a, b))
    }
    pub fn load(&mut self, size: u8, signed: bool, addr: Val, order: Order) -> Val {
        self.push(Op::Load {
            size,
            signed,
            addr,
            order,
            unpriv: false,
        })
    }
    pub fn store(&mut self, size: u8, addr: Val, val: Val, order: Order) {
        self.push(Op::Store {
            size,
            addr,
            val,
            order,
            unpriv: false,
        });
    }
    /// An unprivileged load (LDTR): see [`Op::Load`].
    pub fn load_unpriv(&mut self, size: u8, signed: bool, addr: Val) -> Val {
        self.push(Op::Load {
            size,
            signed,
            addr,
            order: Order::Plain,
            unpriv: true,
        })
    }
    /// An unprivileged store (STTR): see [`Op::Store`].
    pub fn store_unpriv(&mut self, size: u8, addr: Val, val: Val) {
        self.push(Op::Store {
            size,
            addr,
            val,
            order: Order::Plain,
            unpriv: true,
        });
    }
    pub fn get_vlane(&mut self, v: u8, lane: u8) -> Val {
        self.push(Op::GetVLane(v, lane))
    }
    pub fn set_vlane(&mut self, v: u8, lane: u8, val: Val) {
        self.push(Op::SetVLane(v, lane, val));
    }
    pub fn load_v(&mut self, v: u8, size: u8, addr: Val) {
        self.push(Op::LoadV { v, size, addr });
    }
    pub fn store_v(&mut self, v: u8, size: u8, addr: Val) {
        self.push(Op::StoreV { v, size, addr });
    }
    pub fn fence(&mut self) {
        self.push(Op::Fence);
    }
    pub fn call(&mut self, h: Helper, args: &[Val]) -> Val {
        assert!(args.len() <= 4, "helpers take at most four arguments");
        self.push(Op::Call(h, args.to_vec()))
    }

    pub fn finish(mut self, term: Term, guest_len: u64) -> Block {
        self.block.term = term;
        self.block.guest_len = guest_len;
        self.block
    }
}
