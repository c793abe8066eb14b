//! Guest memory accesses: the environment's [`MemLowering`] and the one emitter every
//! guest load and store goes through.

use std::sync::atomic::{AtomicBool, Ordering};

use dynasmrt::{dynasm, DynasmApi};

use super::{Asm, Emitter};

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

impl Emitter<'_> {
    pub(super) fn mark_fault_point(&mut self) {
        let o = self.offset() as u32;
        self.pc_map.push((o, self.cur_pc));
    }
}
