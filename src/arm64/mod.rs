//! The guest ISA: A64 decode table, lifters (by encoding group), CPU state and
//! disassembly helpers. Builds IR; never touches Linux or machine state.

pub mod cpu;
pub mod decode;
pub mod disas;
pub mod lift;
pub mod model;

/// The address an EL0 data access uses, with Top Byte Ignore (Linux enables TBI0 for
/// user space): bits 63:56 are replaced by copies of bit 55, so a tagged user pointer
/// reaches its untagged address and an address with bit 55 set (kernel space) stays
/// one that faults. Generated code does the same with `shl 8; sar 8`.
#[inline(always)]
pub fn untag(addr: u64) -> u64 {
    (((addr << 8) as i64) >> 8) as u64
}
