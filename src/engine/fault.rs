//! Leaving generated code after a host fault: the engine's side of a guest memory
//! fault that the host reported as a signal.
//!
//! An environment's signal handler asks [`Engine::fault_site`] whether the faulting host
//! context belongs to guest code (generated code itself, or a helper or slow path it
//! called) and for which guest instruction, and then has the thread leave generated
//! code with [`Engine::resume_in_dispatcher`]. The environment never reads x86 machine
//! code, host registers of generated code or the stub layout: those are the backend's
//! (see [`crate::x64::fault_regs`]).

use super::Engine;
use crate::arm64::cpu::Cpu;
use crate::x64::{self, exit};

/// Where a host fault happened, in guest terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultSite {
    /// The guest instruction that faulted. Guest registers in the `Cpu` are those
    /// before it (the backend writes them back before every possible fault point).
    pub guest_pc: u64,
    /// For a fault in generated code: the guest address the access used (x86 reports
    /// no address for a general-protection fault, which a non-canonical address
    /// raises). `None` for a fault inside a helper.
    pub access_addr: Option<u64>,
}

/// How the dispatcher continues after [`Engine::resume_in_dispatcher`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resume {
    /// Return to the environment with [`super::Exit::Interrupt`] when something is
    /// pending in `cpu.interrupt` (such as the signal the handler queued).
    Interrupt,
    /// Drop every translation, then run on (after a change of the memory lowering's
    /// context, see user mode's tagged-pointer retry).
    Retranslate,
}

impl Engine {
    /// The guest side of a host fault at `host_pc` with stack pointer `rsp`, on the
    /// thread running `cpu`: `None` when the fault is not in guest code (a fault of
    /// ferrite itself). `regs` are the interrupted host registers (`ucontext` gregs).
    /// Usable from a signal handler (no locks are waited for indefinitely: the block
    /// map is tried, as another thread may briefly hold it for an insertion).
    ///
    /// # Safety
    /// `cpu` must point to the `Cpu` of the thread that faulted, which was running guest
    /// code (its `host_sp` is then this thread's generated-code stack level, or 0).
    pub unsafe fn fault_site(
        &self,
        cpu: *const Cpu,
        host_pc: usize,
        rsp: usize,
        regs: &[i64],
    ) -> Option<FaultSite> {
        if self.in_cache(host_pc) {
            let guest_pc = self.guest_pc_retrying(host_pc)?;
            return Some(FaultSite {
                guest_pc,
                access_addr: Some(x64::fault_regs::access_address(regs)),
            });
        }
        // SAFETY: the caller's contract; the fields are read as plain words.
        let (stored_pc, host_sp) = unsafe {
            (
                std::ptr::read_volatile(std::ptr::addr_of!((*cpu).pc)),
                std::ptr::read_volatile(std::ptr::addr_of!((*cpu).host_sp)) as usize,
            )
        };
        // A helper (or slow path) called from generated code: its caller's return
        // address lies on the stack between the fault and generated code's level, and
        // the call site is attributed to the PC the call stored.
        if host_sp == 0 || rsp >= host_sp {
            return None;
        }
        let mut slot = rsp & !7;
        while slot < host_sp {
            // SAFETY: [rsp, host_sp) is this thread's live stack, below generated
            // code's frame.
            let ret = unsafe { std::ptr::read(slot as *const usize) };
            if self.in_cache(ret)
                && self.in_cache(ret.wrapping_sub(x64::fault_regs::HELPER_CALL_LEN))
                // SAFETY: the bytes before `ret` lie in the (mapped) code cache.
                && unsafe { x64::fault_regs::is_helper_return(ret) }
                && self.guest_pc_of(ret - 1) == Some(stored_pc)
            {
                return Some(FaultSite {
                    guest_pc: stored_pc,
                    access_addr: None,
                });
            }
            slot += 8;
        }
        None
    }

    /// Make the interrupted host context (`regs`, the `ucontext` gregs of a fault
    /// [`Engine::fault_site`] attributed to guest code) leave generated code: it
    /// resumes in the runtime epilogue at generated code's stack level, with `cpu.pc`
    /// = `guest_pc`, and the dispatcher continues as `how` says.
    ///
    /// # Safety
    /// As [`Engine::fault_site`]; `regs` must be the context the handler returns to.
    pub unsafe fn resume_in_dispatcher(
        &self,
        cpu: *mut Cpu,
        guest_pc: u64,
        regs: &mut [i64],
        how: Resume,
    ) {
        // SAFETY: the caller's contract; generated code keeps no copy of pc in host
        // registers, and host_sp was set by the enter trampoline.
        let host_sp = unsafe {
            std::ptr::write_volatile(std::ptr::addr_of_mut!((*cpu).pc), guest_pc);
            std::ptr::read_volatile(std::ptr::addr_of!((*cpu).host_sp))
        };
        let code = match how {
            Resume::Interrupt => exit::INTERRUPT,
            Resume::Retranslate => exit::RETRANSLATE,
        };
        x64::fault_regs::resume(regs, host_sp as usize, self.rt.epilogue, code);
    }

    /// [`Engine::guest_pc_of`], retrying while another thread holds the block map for
    /// writing (briefly: it is inserting a block).
    fn guest_pc_retrying(&self, host_pc: usize) -> Option<u64> {
        for _ in 0..100_000 {
            if let Some(pc) = self.guest_pc_of(host_pc) {
                return Some(pc);
            }
            std::hint::spin_loop();
        }
        None
    }
}
