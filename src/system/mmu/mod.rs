//! The memory-management unit of the system machine: the VMSAv8-64 stage-1 page-table
//! walker for the EL1&0 regime ([`walk`]) and the software TLB that generated code probes
//! inline ([`tlb`]).

pub mod tlb;
pub mod walk;
