//! The guest CPU state of one arm64 thread, as generated code sees it.
//!
//! The layout is `#[repr(C)]` and the backend addresses fields by their offsets (see
//! [`off`]), so reordering fields only needs the offsets here to stay right (they are
//! computed with `offset_of!`). The struct also holds the small amount of per-thread
//! bookkeeping that generated code and the dispatcher share: the exit reason, the
//! address of a jump to patch for chaining, the "interrupt pending" flag and spill
//! slots for the register allocator.

use std::mem::offset_of;

/// Number of 8-byte spill slots available to the backend's register allocator.
pub const SPILL_SLOTS: usize = 1024;

/// One 128-bit vector register, stored little-endian as two 64-bit lanes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, align(16))]
pub struct VReg(pub [u64; 2]);

impl VReg {
    pub fn bytes(&self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.0[0].to_le_bytes());
        b[8..].copy_from_slice(&self.0[1].to_le_bytes());
        b
    }
    pub fn from_bytes(b: [u8; 16]) -> VReg {
        VReg([
            u64::from_le_bytes(b[..8].try_into().unwrap()),
            u64::from_le_bytes(b[8..].try_into().unwrap()),
        ])
    }
    pub fn as_u128(&self) -> u128 {
        (self.0[0] as u128) | ((self.0[1] as u128) << 64)
    }
    pub fn from_u128(v: u128) -> VReg {
        VReg([v as u64, (v >> 64) as u64])
    }
}

/// Exclusive monitor state (LDXR/STXR): QEMU-style "compare on store" so that
/// several host threads contending on one location behave atomically.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct Monitor {
    /// Address of the last load-exclusive, or `u64::MAX` when the monitor is clear.
    pub addr: u64,
    /// Value(s) read by it.
    pub val: u64,
    pub val2: u64,
    /// Access size in bytes (per register) and whether it was a pair.
    pub size: u32,
    pub pair: u32,
}

/// A synchronous exception taken by a guest instruction, as the architecture reports
/// it to the exception level that handles it: the syndrome (ESR_ELx: exception class
/// in bits 31..26, IL, ISS) and the faulting virtual address (FAR_ELx, for aborts and
/// alignment faults; 0 otherwise). The environment decides what it means (user mode:
/// a signal; system mode: entry to EL1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Exception {
    pub esr: u64,
    pub far: u64,
}

/// Exception classes (ESR_ELx.EC) that ferrite raises.
pub mod ec {
    pub const UNKNOWN: u32 = 0x00;
    pub const WFX: u32 = 0x01;
    pub const SVC64: u32 = 0x15;
    pub const HVC64: u32 = 0x16;
    pub const SMC64: u32 = 0x17;
    pub const SYS64: u32 = 0x18;
    pub const ERET: u32 = 0x1a;
    pub const IABT_LOW: u32 = 0x20;
    pub const IABT_CUR: u32 = 0x21;
    pub const PC_ALIGN: u32 = 0x22;
    pub const DABT_LOW: u32 = 0x24;
    pub const DABT_CUR: u32 = 0x25;
    pub const SP_ALIGN: u32 = 0x26;
    pub const BRK64: u32 = 0x3c;
}

/// ESR_ELx fields.
pub mod esr {
    /// Instruction length: 32-bit instruction.
    pub const IL: u64 = 1 << 25;
    /// Data abort ISS: the access was a write.
    pub const WNR: u64 = 1 << 6;
    /// Fault status codes (data/instruction aborts, ISS bits 5..0).
    pub const FSC_TRANS_L3: u64 = 0x07;
    pub const FSC_ACCESS_L3: u64 = 0x0b;
    pub const FSC_PERM_L3: u64 = 0x0f;
    pub const FSC_SEA: u64 = 0x10;
    pub const FSC_ALIGN: u64 = 0x21;
    /// The ESR of exception class `ec` with IL set and syndrome `iss`.
    pub const fn of(ec: u32, iss: u64) -> u64 {
        (ec as u64) << 26 | IL | (iss & 0x1ff_ffff)
    }
}

/// What kind of exception an [`Exception`] is (from its class).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExceptionKind {
    /// Unknown reason: an undefined or unimplemented instruction (EC 0x00).
    Undefined,
    /// WFI/WFE trapped (EC 0x01).
    Wfx,
    /// SVC, HVC, SMC (EC 0x15/0x16/0x17); the immediate is ISS[15:0].
    Svc,
    Hvc,
    Smc,
    /// MSR/MRS/system instruction trapped (EC 0x18).
    SysTrap,
    /// ERET trapped (EC 0x1a).
    Eret,
    /// Instruction abort (EC 0x20/0x21): FAR is the PC.
    InstructionAbort,
    /// PC or SP alignment fault (EC 0x22/0x26).
    PcAlignment,
    SpAlignment,
    /// Data abort (EC 0x24/0x25), including alignment faults (DFSC 0x21): FAR is the
    /// address accessed.
    DataAbort,
    /// BRK (EC 0x3c); the immediate is ISS[15:0].
    Brk,
    /// Any other class.
    Other,
}

impl Exception {
    /// Exception class `ec` with syndrome `iss` and fault address `far`.
    pub const fn new(ec: u32, iss: u64, far: u64) -> Exception {
        Exception {
            esr: esr::of(ec, iss),
            far,
        }
    }

    /// ESR_ELx.EC.
    pub fn class(&self) -> u32 {
        (self.esr >> 26) as u32 & 0x3f
    }

    pub fn kind(&self) -> ExceptionKind {
        match self.class() {
            ec::UNKNOWN => ExceptionKind::Undefined,
            ec::WFX => ExceptionKind::Wfx,
            ec::SVC64 => ExceptionKind::Svc,
            ec::HVC64 => ExceptionKind::Hvc,
            ec::SMC64 => ExceptionKind::Smc,
            ec::SYS64 => ExceptionKind::SysTrap,
            ec::ERET => ExceptionKind::Eret,
            ec::IABT_LOW | ec::IABT_CUR => ExceptionKind::InstructionAbort,
            ec::PC_ALIGN => ExceptionKind::PcAlignment,
            ec::SP_ALIGN => ExceptionKind::SpAlignment,
            ec::DABT_LOW | ec::DABT_CUR => ExceptionKind::DataAbort,
            ec::BRK64 => ExceptionKind::Brk,
            _ => ExceptionKind::Other,
        }
    }
}

/// The environment's address translation for helpers: the host address of `size`
/// bytes at guest `va` for a read or (`write`) a write, or `None` with a synchronous
/// exception recorded in `cpu.exception` (system mode: a TLB miss walks the page
/// tables; MMIO gives an external abort). Exclusives and atomics need `va` to be
/// `size`-aligned: the environment raises the alignment fault (and clears the
/// exclusive monitor) when it is not.
pub type MemTranslateFn = unsafe extern "sysv64" fn(
    cpu: *mut Cpu,
    va: u64,
    size: u64,
    write: bool,
) -> Option<std::ptr::NonNull<u8>>;

/// The environment's counter read, see [`Cpu::counter`].
pub type CounterFn = unsafe extern "sysv64" fn(cpu: *mut Cpu) -> u64;

/// The environment's system-instruction hook, see [`Cpu::sys`]: `word` is the A64
/// instruction (MRS, MSR, MSR immediate, SYS), `val` the value of its Xt (for MSR and
/// SYS). Returns the value MRS writes to Xt (0 otherwise). An instruction that traps
/// or is undefined records its exception in `cpu.exception` instead.
pub type SysFn = unsafe extern "sysv64" fn(cpu: *mut Cpu, word: u64, val: u64) -> u64;

/// Guest CPU state of one thread.
#[repr(C, align(64))]
pub struct Cpu {
    /// X0..X30, and `x[31]` = SP.
    pub x: [u64; 32],
    /// Program counter; valid whenever control is outside generated code.
    pub pc: u64,
    /// NZCV in architectural position (bits 31..28).
    pub nzcv: u64,
    pub fpcr: u64,
    pub fpsr: u64,
    pub tpidr_el0: u64,
    pub tpidrro_el0: u64,
    pub monitor: Monitor,
    /// Set non-zero (by any thread or a signal handler) to make generated code return
    /// to the dispatcher at the next block entry.
    pub interrupt: u32,
    /// Written by an exit stub: extra information about the exit.
    pub exit_arg: u64,
    /// Written by a chainable exit stub: the host address just after the `jmp rel32`
    /// that the dispatcher may patch to point at the next block.
    pub chain_slot: u64,
    /// The synchronous exception recorded by a slow path or a helper (read by the
    /// engine at [`exit::EXCEPTION`](crate::x64::exit::EXCEPTION)).
    pub exception: Exception,
    /// The host stack pointer generated code runs at (set by the enter trampoline), so
    /// a fault anywhere below it can resume in the epilogue at the right level.
    pub host_sp: u64,
    /// V0..V31.
    pub v: [VReg; 32],
    /// Opaque pointer to the environment's per-thread state (set by the environment,
    /// passed to helpers through `Cpu`).
    pub env: *mut u8,
    /// The environment's translation for helpers that access guest memory themselves
    /// (exclusives, atomics, DC ZVA), see [`Cpu::translate`]; `None` (user mode) maps
    /// guest addresses 1:1 after Top Byte Ignore. Set by the engine from the memory
    /// lowering on every run.
    pub mem_translate: Option<MemTranslateFn>,
    /// The environment's generic timer: the virtual count (CNTVCT_EL0, also read for
    /// CNTPCT_EL0) at [`crate::arm64::lift::system::CNTFRQ`] Hz. `None` (user mode):
    /// the host's CLOCK_MONOTONIC scaled to that frequency.
    pub counter: Option<CounterFn>,
    /// The environment's system registers and system instructions (system mode:
    /// EL1 state, the MMU, TLB maintenance; see [`SysFn`]). Called by the code of
    /// blocks translated for a system-mode context ([`crate::ir::Ctx::SYSTEM`]) for
    /// every MRS/MSR/SYS the lifter does not handle inline; `None` in user mode, whose
    /// blocks never call it.
    pub sys: Option<SysFn>,
    /// Spill slots for the backend's register allocator.
    pub spill: [u64; SPILL_SLOTS],
}

// SAFETY: a `Cpu` is plain data owned by one guest thread at a time; the only pointer
// in it (`env`) refers to that thread's own environment state and moves with it.
unsafe impl Send for Cpu {}

impl Cpu {
    pub fn new() -> Box<Cpu> {
        // SAFETY: every field of `Cpu` is plain data for which all-zero bytes is a valid
        // value (integers, arrays of integers and a raw pointer).
        let mut c: Box<Cpu> = unsafe { Box::new_zeroed().assume_init() };
        c.monitor.addr = u64::MAX;
        c
    }

    /// The host address of the `size` bytes at guest `va`, for a helper that accesses
    /// guest memory itself, through the environment's translation (see
    /// [`Cpu::mem_translate`]). `None` when the access raised an exception, recorded in
    /// `self.exception`; the helper then returns without touching memory, and
    /// generated code leaves the block with an exception exit.
    pub fn translate(&mut self, va: u64, size: u64, write: bool) -> Option<*mut u8> {
        match self.mem_translate {
            // SAFETY: the environment's function, given this live Cpu.
            Some(f) => unsafe { f(self, va, size, write) }.map(|p| p.as_ptr()),
            None => Some(super::untag(va) as *mut u8),
        }
    }

    /// Register `r` where 31 means XZR (reads as zero).
    pub fn xreg(&self, r: u32) -> u64 {
        if r == 31 {
            0
        } else {
            self.x[r as usize]
        }
    }

    /// Write register `r` where 31 means XZR (write ignored).
    pub fn set_xreg(&mut self, r: u32, v: u64) {
        if r != 31 {
            self.x[r as usize] = v;
        }
    }

    pub fn sp(&self) -> u64 {
        self.x[31]
    }
}

/// Byte offsets of `Cpu` fields, for the backend.
pub mod off {
    use super::*;
    pub const X: i32 = offset_of!(Cpu, x) as i32;
    pub const PC: i32 = offset_of!(Cpu, pc) as i32;
    pub const NZCV: i32 = offset_of!(Cpu, nzcv) as i32;
    pub const FPCR: i32 = offset_of!(Cpu, fpcr) as i32;
    pub const FPSR: i32 = offset_of!(Cpu, fpsr) as i32;
    pub const TPIDR_EL0: i32 = offset_of!(Cpu, tpidr_el0) as i32;
    pub const INTERRUPT: i32 = offset_of!(Cpu, interrupt) as i32;
    pub const EXIT_ARG: i32 = offset_of!(Cpu, exit_arg) as i32;
    pub const CHAIN_SLOT: i32 = offset_of!(Cpu, chain_slot) as i32;
    pub const V: i32 = offset_of!(Cpu, v) as i32;
    pub const HOST_SP: i32 = offset_of!(Cpu, host_sp) as i32;
    pub const EXCEPTION_ESR: i32 = (offset_of!(Cpu, exception) + offset_of!(Exception, esr)) as i32;
    pub const SPILL: i32 = offset_of!(Cpu, spill) as i32;

    /// Offset of guest register `r` (0..=31, 31 = SP).
    pub const fn x(r: u8) -> i32 {
        X + 8 * r as i32
    }
    /// Offset of 64-bit lane `lane` of vector register `v`.
    pub const fn vlane(v: u8, lane: u8) -> i32 {
        V + 16 * v as i32 + 8 * lane as i32
    }
    /// Offset of spill slot `i`.
    pub const fn spill(i: usize) -> i32 {
        SPILL + 8 * i as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_fits_disp32_and_vregs_aligned() {
        assert_eq!(off::V % 16, 0);
        assert!((off::spill(SPILL_SLOTS - 1) as usize) < std::mem::size_of::<Cpu>());
        assert_eq!(off::x(31), off::X + 248);
    }
}
