//! Full-system emulation of an arm64 `virt` machine: bus, devices, MMU models and PSCI.

pub mod bus;
pub mod dev;
pub mod mmu;
pub mod psci;
