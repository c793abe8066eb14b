//! The guest ISA: A64 decode table, lifters (by encoding group), CPU state and
//! disassembly helpers. Builds IR; never touches Linux or machine state.

pub mod cpu;
pub mod decode;
pub mod disas;
pub mod lift;
pub mod model;
