//! The virtual CPU of the system machine: [`SysCpu`], the translator's [`Cpu`] followed
//! by the state only system mode has — PSTATE beyond NZCV (exception level, SPSel,
//! DAIF), the banked stack pointers and the EL1 system registers.
//!
//! Generated code runs with `rbp = &SysCpu.cpu`, which is also the address of the
//! `SysCpu` (`#[repr(C)]`, `cpu` first), so the environment's hooks (system registers,
//! memory slow paths) get back to the whole vCPU from the `*mut Cpu` they are given.
//! The [`Mmu`] comes right after the `Cpu`, at [`MMU_OFFSET`], where the inline TLB
//! probe of the memory lowering expects its tables.
//!
//! Stack pointers: `cpu.x[31]` is always the stack pointer in use (SP_EL0 at EL0 or
//! with SPSel = 0, SP_EL1 at EL1 with SPSel = 1), so translated code never asks which
//! one is live. The other one waits in its bank ([`SysState::sp_el0`] /
//! [`SysState::sp_el1`]); the bank of the live one is stale. Exception entry, ERET and
//! SPSel writes swap them ([`SysCpu::set_pstate_mode`]).

use std::sync::Arc;

use crate::arm64::cpu::Cpu;
use crate::arm64::lift::CpuFeatures;
use crate::engine::Engine;
use crate::ir::Ctx;

use super::boot::ResetState;
use super::cli::CpuModel;
use super::mmu::{Mmu, MmuReg, MMU_OFFSET};
use super::sysreg::{IdRegs, SysRegs};

/// PSTATE.DAIF bits in their SPSR/DAIF register positions.
pub(crate) const DAIF_D: u64 = 1 << 9;
pub(crate) const DAIF_A: u64 = 1 << 8;
pub(crate) const DAIF_I: u64 = 1 << 7;
pub(crate) const DAIF_F: u64 = 1 << 6;
pub(crate) const DAIF_MASK: u64 = DAIF_D | DAIF_A | DAIF_I | DAIF_F;
/// SPSR.IL: an illegal exception return happened.
pub(crate) const PSTATE_IL: u64 = 1 << 20;

/// `cpu.interrupt` bit: an IRQ is signalled for this CPU (set by the board's kick).
pub(crate) const INT_IRQ: u32 = 1 << 4;
/// `cpu.interrupt` bit: the machine must stop (quit requested, power off).
pub(crate) const INT_STOP: u32 = 1 << 5;

/// Everything the environment's hooks need besides the registers: shared machine
/// parts, set once before the CPU runs.
pub(crate) struct SysEnv {
    /// For `IC IALLU`: drop every translation.
    pub(crate) engine: Option<Arc<Engine>>,
    /// The devices: the interrupt controller's IRQ output, the generic timer, WFI.
    pub(crate) board: Option<Arc<super::board::Board>>,
}

/// System-mode state of one vCPU beyond [`Cpu`].
pub(crate) struct SysState {
    /// This CPU's index (MPIDR_EL1.Aff0).
    pub(crate) index: usize,
    /// PSTATE.EL: 0 or 1.
    pub(crate) el: u8,
    /// PSTATE.SP: SP_ELx (true) or SP_EL0 at EL1.
    pub(crate) spsel: bool,
    /// PSTATE.{D,A,I,F} in bits 9..6.
    pub(crate) daif: u64,
    /// PSTATE.IL: set by an illegal exception return; the next instruction takes an
    /// Illegal Execution state exception.
    pub(crate) il: bool,
    /// The banked stack pointers (see the module doc).
    pub(crate) sp_el0: u64,
    pub(crate) sp_el1: u64,
    /// The EL1 (and EL0-visible) system registers kept by the CPU.
    pub(crate) regs: SysRegs,
    /// The ID register values of the `-cpu` model.
    pub(crate) id: IdRegs,
    pub(crate) env: SysEnv,
}

/// A vCPU: the translator's [`Cpu`] first (generated code's `rbp`), the MMU (its TLB
/// probed by generated code at `rbp + MMU_OFFSET`), then system state.
#[repr(C)]
pub(crate) struct SysCpu {
    pub(crate) cpu: Cpu,
    pub(crate) mmu: Mmu,
    pub(crate) sys: SysState,
}

const _: () = assert!(std::mem::offset_of!(SysCpu, mmu) == MMU_OFFSET);

/// The lifting features and MIDR of a `-cpu` model in system mode.
pub(crate) fn features(model: CpuModel) -> CpuFeatures {
    use crate::arm64::model;
    match model {
        CpuModel::Max => model::find("max"),
        CpuModel::CortexA72 | CpuModel::CortexA57 => model::find("cortex-a72"),
        CpuModel::CortexA53 => model::find("cortex-a53"),
    }
    .map(|m| m.features)
    .map(|mut f| {
        if model == CpuModel::CortexA57 {
            // QEMU's cortex-a57: r1p0.
            f.midr = 0x411f_d070;
        }
        f
    })
    .unwrap_or_default()
}

impl SysCpu {
    /// A vCPU of `model` with CPU index `index`, in the architectural reset state (EL1h,
    /// everything masked) until [`SysCpu::reset`] applies the boot protocol.
    pub(crate) fn new(model: CpuModel, index: usize, mmu: Mmu) -> Box<SysCpu> {
        let feats = features(model);
        let mut b: Box<std::mem::MaybeUninit<SysCpu>> = Box::new_uninit();
        let p = b.as_mut_ptr();
        // SAFETY: `p` points to memory for one SysCpu. `cpu` is plain data for which
        // zero bytes are valid (see `Cpu::new`); `mmu` and `sys` are written whole.
        // After the three, every field is initialised.
        let mut sc = unsafe {
            std::ptr::addr_of_mut!((*p).cpu).write_bytes(0, 1);
            std::ptr::addr_of_mut!((*p).mmu).write(mmu);
            std::ptr::addr_of_mut!((*p).sys).write(SysState {
                index,
                el: 1,
                spsel: true,
                daif: DAIF_MASK,
                il: false,
                sp_el0: 0,
                sp_el1: 0,
                regs: SysRegs::reset(),
                id: IdRegs::of(model, &feats, index),
                env: SysEnv {
                    engine: None,
                    board: None,
                },
            });
            b.assume_init()
        };
        sc.cpu.monitor.addr = u64::MAX;
        sc.cpu.sys = Some(super::sysreg::sys_hook);
        sc.mmu.el = 1;
        sc.sync_mmu_regs();
        sc
    }

    /// Hand the translation registers to the MMU (it flushes its TLB as needed).
    pub(crate) fn sync_mmu_regs(&mut self) {
        let r = &self.sys.regs;
        let (sctlr, tcr, ttbr0, ttbr1, mair) = (r.sctlr, r.tcr, r.ttbr0, r.ttbr1, r.mair);
        self.mmu.write_reg(MmuReg::Sctlr, sctlr);
        self.mmu.write_reg(MmuReg::Tcr, tcr);
        self.mmu.write_reg(MmuReg::Ttbr0, ttbr0);
        self.mmu.write_reg(MmuReg::Ttbr1, ttbr1);
        self.mmu.write_reg(MmuReg::Mair, mair);
    }

    /// Apply the boot protocol's entry state (`system::boot`): x0..x3, PC, PSTATE
    /// (EL1h with D, A, I, F masked) and SCTLR_EL1.
    pub(crate) fn reset(&mut self, r: &ResetState) {
        self.cpu.x = [0; 32];
        self.cpu.x[..4].copy_from_slice(&r.x);
        self.cpu.pc = r.pc;
        self.cpu.nzcv = 0;
        self.sys.sp_el0 = 0;
        self.sys.sp_el1 = 0;
        self.sys.il = false;
        self.sys.regs = SysRegs::reset();
        self.sys.regs.sctlr = r.sctlr_el1;
        self.sync_mmu_regs();
        self.set_pstate_mode(((r.pstate >> 2) & 3) as u8, r.pstate & 1 != 0);
        self.sys.daif = r.pstate & DAIF_MASK;
    }

    /// Switch PSTATE.EL and PSTATE.SP, banking the live stack pointer and loading the
    /// new one into `x[31]`.
    pub(crate) fn set_pstate_mode(&mut self, el: u8, spsel: bool) {
        let sp = self.cpu.x[31];
        if self.sys.el >= 1 && self.sys.spsel {
            self.sys.sp_el1 = sp;
        } else {
            self.sys.sp_el0 = sp;
        }
        let spsel = spsel && el >= 1;
        self.sys.el = el;
        self.mmu.el = el;
        self.sys.spsel = spsel;
        self.cpu.x[31] = if spsel {
            self.sys.sp_el1
        } else {
            self.sys.sp_el0
        };
    }

    /// SP_EL0's current value (live in `x[31]` or banked).
    pub(crate) fn sp_el0(&self) -> u64 {
        if self.sys.el >= 1 && self.sys.spsel {
            self.sys.sp_el0
        } else {
            self.cpu.x[31]
        }
    }

    /// Write SP_EL0 (live or banked).
    pub(crate) fn set_sp_el0(&mut self, v: u64) {
        if self.sys.el >= 1 && self.sys.spsel {
            self.sys.sp_el0 = v;
        } else {
            self.cpu.x[31] = v;
        }
    }

    /// SP_EL1's current value.
    #[cfg(test)]
    pub(crate) fn sp_el1(&self) -> u64 {
        if self.sys.el >= 1 && self.sys.spsel {
            self.cpu.x[31]
        } else {
            self.sys.sp_el1
        }
    }

    /// PSTATE as SPSR_EL1 records it (NZCV, PAN-less, IL, DAIF, M[3:0]).
    pub(crate) fn pstate(&self) -> u64 {
        (self.cpu.nzcv & 0xf000_0000)
            | if self.sys.il { PSTATE_IL } else { 0 }
            | self.sys.daif
            | ((self.sys.el as u64) << 2)
            | self.sys.spsel as u64
    }

    /// The translation context of code running now.
    pub(crate) fn context(&self) -> Ctx {
        let mut c = Ctx::SYSTEM;
        if self.sys.spsel {
            c |= Ctx::SPSEL;
        }
        Ctx(c).with_el(self.sys.el)
    }

    /// Are IRQs masked (PSTATE.I)?
    pub(crate) fn irq_masked(&self) -> bool {
        self.sys.daif & DAIF_I != 0
    }

    /// Does the interrupt controller signal an IRQ to this CPU (masked or not)?
    pub(crate) fn irq_signalled(&self) -> bool {
        self.sys
            .env
            .board
            .as_ref()
            .is_some_and(|b| b.irq_pending(self.sys.index))
    }

    /// After PSTATE.I may have been cleared: with an IRQ signalled, make generated code
    /// leave at the next block entry so the run loop takes it. (The run loop drops the
    /// request while IRQs are masked; the board's kick only comes on a new edge.)
    pub(crate) fn irq_check(&mut self) {
        if !self.irq_masked() && self.irq_signalled() {
            crate::engine::raise_interrupt(&mut self.cpu, INT_IRQ);
        }
    }

    /// The SysCpu whose `cpu` field `cpu` is.
    ///
    /// # Safety
    /// `cpu` must be the `cpu` field of a live `SysCpu` that nothing else borrows.
    pub(crate) unsafe fn from_cpu<'a>(cpu: *mut Cpu) -> &'a mut SysCpu {
        // SAFETY: `SysCpu` is `#[repr(C)]` with `cpu` first, so the addresses are
        // equal; the caller guarantees it is one and unborrowed.
        unsafe { &mut *(cpu as *mut SysCpu) }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A vCPU on `ram` (which must outlive it) with an empty bus.
    pub(crate) fn test_cpu(model: CpuModel, ram: &super::super::memory::Ram) -> Box<SysCpu> {
        let bus = std::sync::Arc::new(super::super::bus::Bus::new());
        // SAFETY: the callers keep `ram` alive longer than the vCPU.
        let mmu = unsafe { Mmu::new(ram, bus) };
        SysCpu::new(model, 0, mmu)
    }

    fn reset_state() -> ResetState {
        ResetState {
            x: [0x4800_0000, 0, 0, 0],
            pc: 0x4020_0000,
            pstate: super::super::boot::RESET_PSTATE,
            sctlr_el1: super::super::boot::RESET_SCTLR_EL1,
            cntfrq_el0: super::super::boot::CNTFRQ,
        }
    }

    #[test]
    fn reset_enters_el1h_with_everything_masked() {
        let ram = super::super::memory::Ram::new(1 << 20).unwrap();
        let mut c = test_cpu(CpuModel::Max, &ram);
        c.reset(&reset_state());
        assert_eq!(c.cpu.x[0], 0x4800_0000);
        assert_eq!(c.cpu.pc, 0x4020_0000);
        assert_eq!((c.sys.el, c.sys.spsel), (1, true));
        assert_eq!(c.sys.daif, DAIF_MASK);
        assert_eq!(c.pstate(), 0x3c5);
        assert_eq!(c.context().el(), 1);
        assert!(c.context().system() && c.context().spsel());
        assert!(c.irq_masked());
    }

    #[test]
    fn stack_pointers_are_banked() {
        let ram = super::super::memory::Ram::new(1 << 20).unwrap();
        let mut c = test_cpu(CpuModel::Max, &ram);
        c.reset(&reset_state());
        c.cpu.x[31] = 0x1000; // SP_EL1
        c.set_sp_el0(0x2000);
        assert_eq!((c.sp_el0(), c.sp_el1()), (0x2000, 0x1000));
        // EL1t: SP_EL0 becomes the live one.
        c.set_pstate_mode(1, false);
        assert_eq!(c.cpu.x[31], 0x2000);
        c.cpu.x[31] = 0x2100;
        assert_eq!((c.sp_el0(), c.sp_el1()), (0x2100, 0x1000));
        // EL0 then back to EL1h.
        c.set_pstate_mode(0, true);
        assert_eq!((c.sys.el, c.sys.spsel, c.cpu.x[31]), (0, false, 0x2100));
        c.set_pstate_mode(1, true);
        assert_eq!(c.cpu.x[31], 0x1000);
        assert_eq!(c.sp_el0(), 0x2100);
    }

    #[test]
    fn cpu_comes_first() {
        let ram = super::super::memory::Ram::new(1 << 20).unwrap();
        let c = test_cpu(CpuModel::CortexA53, &ram);
        assert_eq!(&c.cpu as *const Cpu as usize, &*c as *const SysCpu as usize);
        assert_eq!(c.sys.id.midr, 0x410f_d034);
    }
}
