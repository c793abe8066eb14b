//! The ABI between generated code and the rest of ferrite: exit codes returned to the
//! dispatcher, the shared runtime stubs (enter trampoline, epilogue), the indirect-branch
//! table's layout, host register numbers and the allocation pool, and helper calls.

use dynasmrt::{dynasm, DynasmApi, DynasmLabelApi};

use super::{Asm, Emitter};
use crate::arm64::cpu::off;
use crate::ir::Val;

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
    /// A synchronous exception recorded in `cpu.exception` by a slow path or helper;
    /// `cpu.pc` is the instruction that took it, guest registers are exact.
    pub const EXCEPTION: u64 = 12;
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
    /// Compile blocks that branch to their own start as host loops (see
    /// `analysis::self_loop`). Off when every block entry must reach the dispatcher
    /// (`-d exec`, `-d nochain`).
    pub self_loops: bool,
}

/// Indirect-branch tables: one per translation context that has one (see [`jt_slot`]),
/// consecutive from [`Runtime::jump_table`]; blocks of other contexts send every
/// indirect branch to the dispatcher.
pub const JT_CONTEXTS: usize = 6;

/// The indirect-branch table of context `ctx`, if it has one: user mode's contexts
/// 0..=3 (its lowering's bits), and system mode's two common ones, EL0 and EL1 on
/// SP_EL1 (with no lowering bits), in tables 4 and 5. Distinct contexts get distinct
/// tables, so entries never alias across contexts.
pub fn jt_slot(ctx: crate::ir::Ctx) -> Option<usize> {
    use crate::ir::Ctx;
    const SYS_EL0: u32 = Ctx::SYSTEM;
    const SYS_EL1H: u32 = Ctx::SYSTEM | Ctx::SPSEL | (1 << 8);
    match ctx.0 {
        c @ 0..=3 => Some(c as usize),
        SYS_EL0 => Some(4),
        SYS_EL1H => Some(5),
        _ => None,
    }
}

/// Does context `ctx`'s indirect-branch table hold upper-range PCs (top 16 bits all
/// ones: system mode's EL1 code, the kernel), stored without those bits? Every other
/// table holds PCs below 2^48.
pub fn jt_high(ctx: crate::ir::Ctx) -> bool {
    jt_slot(ctx) == Some(5)
}

/// The PC as context `ctx`'s table stores it (see [`jt_high`]), or `None` when the
/// table cannot hold it.
pub fn jt_pc(ctx: crate::ir::Ctx, pc: u64) -> Option<u64> {
    if jt_high(ctx) {
        (pc >> 48 == 0xffff).then_some(pc & 0xffff_ffff_ffff)
    } else {
        Some(pc)
    }
}

impl Runtime {
    /// The indirect-branch table blocks of context `ctx` look targets up in (of the same
    /// context: entries never alias across contexts), if any.
    pub fn jump_table_for(&self, ctx: crate::ir::Ctx) -> Option<usize> {
        let c = jt_slot(ctx)?;
        (self.jump_table != 0)
            .then(|| self.jump_table + c * JT_ENTRIES * std::mem::size_of::<JtEntry>())
    }
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
pub(super) const JT_HOST_UNITS: u64 = 1 << 24;

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

// Host register numbers (dynasm encoding).
pub(super) const RAX: u8 = 0;
pub(super) const RCX: u8 = 1;
pub(super) const RDX: u8 = 2;
pub(super) const RBX: u8 = 3;
pub(super) const RSI: u8 = 6;
pub(super) const RDI: u8 = 7;
pub(super) const R8: u8 = 8;
pub(super) const R9: u8 = 9;
pub(super) const R10: u8 = 10;
pub(super) const R11: u8 = 11;
pub(super) const R12: u8 = 12;
pub(super) const R13: u8 = 13;
pub(super) const R14: u8 = 14;
pub(super) const R15: u8 = 15;

/// Allocation order: callee-saved first (they survive helper calls).
pub(super) const POOL: [u8; 10] = [RBX, R12, R13, R14, RSI, RDI, R8, R9, R10, R11];

pub(super) fn caller_saved(r: u8) -> bool {
    matches!(r, RSI | RDI | R8 | R9 | R10 | R11)
}

impl Emitter<'_> {
    pub(super) fn call(&mut self, i: usize, f: usize, args: &[Val], side_effects: bool) {
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
        if side_effects {
            // A helper that touches guest memory records an exception instead of
            // completing (`cpu.pc` is already this instruction's).
            let exc = self.exception_exit();
            dynasm!(self.asm
                ; .arch x64
                ; cmp QWORD [rbp + off::EXCEPTION_ESR], 0
                ; jne =>exc
            );
        }
        self.def_rax(i);
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
        ; mov [rbp + off::HOST_SP], rsp
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

/// What the engine needs to know about generated code's host registers and call sites
/// to leave it after a host fault (see [`crate::engine::fault`]).
pub mod fault_regs {
    /// Length of the helper call instruction (`call rax`) generated code and stubs use.
    pub const HELPER_CALL_LEN: usize = 2;

    /// The guest address of the access that faulted in generated code: every access
    /// goes through `[rax]`, which still holds it (the lowering rewrites it in place,
    /// and for user mode untagging happens in place too).
    pub fn access_address(regs: &[i64]) -> u64 {
        regs[libc::REG_RAX as usize] as u64
    }

    /// Is `ret` the return address of a helper call (`call rax`) in generated code?
    ///
    /// # Safety
    /// `ret - HELPER_CALL_LEN .. ret` must be readable.
    pub unsafe fn is_helper_return(ret: usize) -> bool {
        // SAFETY: the caller's contract.
        let b = unsafe { std::ptr::read_unaligned((ret - HELPER_CALL_LEN) as *const [u8; 2]) };
        b == [0xff, 0xd0]
    }

    /// Make the interrupted context return exit `code` to the dispatcher through the
    /// runtime `epilogue`, at generated code's stack level `host_sp`.
    pub fn resume(regs: &mut [i64], host_sp: usize, epilogue: usize, code: u64) {
        regs[libc::REG_RSP as usize] = host_sp as i64;
        regs[libc::REG_RAX as usize] = code as i64;
        regs[libc::REG_RIP as usize] = epilogue as i64;
    }
}
