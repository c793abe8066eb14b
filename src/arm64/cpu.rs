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
    /// V0..V31.
    pub v: [VReg; 32],
    /// Opaque pointer to the environment's per-thread state (set by the environment,
    /// passed to helpers through `Cpu`).
    pub env: *mut u8,
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
