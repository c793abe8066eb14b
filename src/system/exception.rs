//! Exception entry to EL1 and exception return (ERET) on the system machine's CPU.
//!
//! Entry ([`SysCpu::take_exception`]): PSTATE goes to SPSR_EL1, the preferred return
//! address to ELR_EL1, the syndrome to ESR_EL1 (synchronous exceptions), the fault
//! address to FAR_EL1 (aborts and PC alignment faults only: the architecture leaves it
//! UNKNOWN otherwise, and it is left as it was); then the CPU is at EL1 on SP_EL1 with
//! D, A, I and F masked, at VBAR_EL1 plus the vector offset: 0x000 (current EL, SP_EL0),
//! 0x200 (current EL, SP_EL1), 0x400 (from EL0, AArch64), plus 0x80 for an IRQ.
//!
//! Return ([`SysCpu::eret`]): PSTATE comes back from SPSR_EL1 and the PC from ELR_EL1.
//! A return to a mode that does not exist here (AArch32, EL2/EL3, EL0 with SP_EL1) is
//! an illegal exception return: EL and SP stay, PSTATE.IL is set, and the next
//! instruction takes an Illegal Execution state exception (EC 0x0E).
//!
//! Under `-d int` both print what QEMU prints for them, one entry per exception.

use crate::arm64::cpu::{ec, Exception};
use crate::log::{self, Item};

use super::cli::D_INT;
use super::cpu::{SysCpu, DAIF_MASK, PSTATE_IL};

/// Illegal Execution state (ESR_ELx.EC).
pub(crate) const EC_ILLEGAL_STATE: u32 = 0x0e;

/// What is being taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Sync(Exception),
    Irq,
}

/// QEMU's exception number and name for `-d int` lines.
fn qemu_name(kind: Kind) -> (u32, &'static str) {
    match kind {
        Kind::Irq => (5, "IRQ"),
        Kind::Sync(e) => match e.class() {
            ec::SVC64 => (2, "SVC"),
            ec::HVC64 => (11, "Hypervisor Call"),
            ec::SMC64 => (13, "Secure Monitor Call"),
            ec::IABT_LOW | ec::IABT_CUR => (3, "Prefetch Abort"),
            ec::DABT_LOW | ec::DABT_CUR => (4, "Data Abort"),
            ec::BRK64 => (7, "Breakpoint"),
            _ => (1, "Undefined Instruction"),
        },
    }
}

/// Does exception class `c` report a fault address in FAR_EL1?
fn sets_far(c: u32) -> bool {
    matches!(
        c,
        ec::IABT_LOW | ec::IABT_CUR | ec::PC_ALIGN | ec::DABT_LOW | ec::DABT_CUR
    )
}

impl SysCpu {
    /// Take `kind` to EL1 with preferred return address `ret`.
    pub(crate) fn take_exception(&mut self, kind: Kind, ret: u64, log_items: u32) {
        let from = self.sys.el;
        let spsr = self.pstate();
        let r = &mut self.sys.regs;
        r.spsr = spsr;
        r.elr = ret;
        let mut far = None;
        if let Kind::Sync(e) = kind {
            r.esr = e.esr & 0xffff_ffff;
            if sets_far(e.class()) {
                r.far = e.far;
                far = Some(e.far);
            }
        }
        let base = if from == 0 {
            0x400
        } else if self.sys.spsel {
            0x200
        } else {
            0
        };
        let offset = base + if kind == Kind::Irq { 0x80 } else { 0 };
        let vbar = self.sys.regs.vbar;
        self.set_pstate_mode(1, true);
        self.sys.daif = DAIF_MASK;
        self.sys.il = false;
        self.cpu.pc = vbar.wrapping_add(offset);
        if log_items & D_INT != 0 {
            let (n, name) = qemu_name(kind);
            let mut s = format!(
                "Taking exception {n} [{name}] on CPU {}\n...from EL{from} to EL1\n",
                self.sys.index
            );
            if let Kind::Sync(e) = kind {
                s += &format!("...with ESR {:#x}/{:#x}\n", e.class(), e.esr & 0xffff_ffff);
            }
            if let Some(f) = far {
                s += &format!("...with FAR {f:#x}\n");
            }
            s += &format!(
                "...with ELR {ret:#x}\n...to EL1 PC {:#x} PSTATE {:#x}",
                self.cpu.pc,
                self.pstate()
            );
            log::write(&s);
        }
    }

    /// Take a synchronous exception from the instruction at `cpu.pc` (whose preferred
    /// return address is itself).
    pub(crate) fn take_sync(&mut self, e: Exception, log_items: u32) {
        let pc = self.cpu.pc;
        self.take_exception(Kind::Sync(e), pc, log_items);
    }

    /// ERET: return to the mode and address in SPSR_EL1/ELR_EL1.
    pub(crate) fn eret(&mut self, log_items: u32) {
        let spsr = self.sys.regs.spsr;
        let elr = self.sys.regs.elr;
        let from = self.sys.el;
        let m = spsr & 0x1f;
        let legal = matches!(m, 0b00000 | 0b00100 | 0b00101);
        self.cpu.nzcv = spsr & 0xf000_0000;
        self.sys.daif = spsr & DAIF_MASK;
        if legal {
            self.set_pstate_mode(((m >> 2) & 3) as u8, m & 1 != 0);
            self.sys.il = spsr & PSTATE_IL != 0;
        } else {
            self.sys.il = true;
            if log::enabled(Item::Unimp) || log_items & super::cli::D_GUEST_ERRORS != 0 {
                log::write(&format!(
                    "illegal exception return at {:#x}: SPSR_EL1 {spsr:#x}",
                    self.cpu.pc
                ));
            }
        }
        // An EL0 PC has no tag to keep; ELR is used as it is (top byte included).
        self.cpu.pc = elr;
        self.irq_check();
        if log_items & D_INT != 0 {
            log::write(&format!(
                "Exception return from AArch64 EL{from} to AArch64 EL{} PC {elr:#x}",
                self.sys.el
            ));
        }
    }

    /// The Illegal Execution state exception, taken when PSTATE.IL is set.
    pub(crate) fn take_illegal_state(&mut self, log_items: u32) {
        self.take_sync(Exception::new(EC_ILLEGAL_STATE, 0, 0), log_items);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::boot::{ResetState, CNTFRQ, RESET_PSTATE, RESET_SCTLR_EL1};
    use crate::system::cli::CpuModel;
    use crate::system::cpu::DAIF_I;

    fn cpu() -> Box<SysCpu> {
        // Leaked: the vCPU's MMU keeps a pointer to it.
        let ram = Box::leak(Box::new(crate::system::memory::Ram::new(1 << 20).unwrap()));
        let mut c = crate::system::cpu::tests::test_cpu(CpuModel::Max, ram);
        c.reset(&ResetState {
            x: [0; 4],
            pc: 0x4008_0000,
            pstate: RESET_PSTATE,
            sctlr_el1: RESET_SCTLR_EL1,
            cntfrq_el0: CNTFRQ,
        });
        c.sys.regs.vbar = 0x4010_0000;
        c
    }

    #[test]
    fn svc_from_el0_enters_at_0x400_and_eret_returns() {
        let mut c = cpu();
        c.cpu.x[31] = 0x5000; // SP_EL1
                              // ERET to EL0t with I unmasked and Z set.
        c.sys.regs.spsr = 0x4000_0000 | 0x300;
        c.sys.regs.elr = 0x1000;
        c.set_sp_el0(0x9000);
        c.eret(0);
        assert_eq!((c.sys.el, c.sys.spsel, c.cpu.pc), (0, false, 0x1000));
        assert_eq!(c.cpu.x[31], 0x9000);
        assert_eq!(c.cpu.nzcv, 0x4000_0000);
        assert_eq!(c.sys.daif & DAIF_I, 0);
        // SVC #5 at 0x1000: cpu.pc is the next instruction.
        c.cpu.pc = 0x1004;
        c.take_exception(Kind::Sync(Exception::new(ec::SVC64, 5, 0)), 0x1004, 0);
        assert_eq!(c.cpu.pc, 0x4010_0400);
        assert_eq!(c.sys.regs.elr, 0x1004);
        assert_eq!(c.sys.regs.esr, 0x5600_0005);
        assert_eq!(c.sys.regs.spsr, 0x4000_0300);
        assert_eq!((c.sys.el, c.sys.spsel, c.cpu.x[31]), (1, true, 0x5000));
        assert_eq!(c.sp_el0(), 0x9000);
        assert_eq!(c.sys.daif, DAIF_MASK);
    }

    #[test]
    fn vector_offsets_by_source() {
        let mut c = cpu();
        c.take_exception(Kind::Irq, 0x4008_0000, 0);
        assert_eq!(c.cpu.pc, 0x4010_0280);
        assert_eq!(c.sys.regs.spsr, 0x3c5);
        c.set_pstate_mode(1, false);
        c.take_sync(Exception::new(ec::BRK64, 1, 0), 0);
        assert_eq!(c.cpu.pc, 0x4010_0000);
        assert_eq!(c.sys.regs.spsr & 0x1f, 0b00100);
    }

    #[test]
    fn aborts_set_far_others_keep_it() {
        let mut c = cpu();
        c.take_sync(Exception::new(ec::DABT_CUR, 0x45, 0xdead_0000), 0);
        assert_eq!(c.sys.regs.far, 0xdead_0000);
        c.take_sync(Exception::new(ec::UNKNOWN, 0, 0x1234), 0);
        assert_eq!(c.sys.regs.far, 0xdead_0000);
        assert_eq!(c.sys.regs.esr, 0x0200_0000);
    }

    #[test]
    fn illegal_return_sets_il_and_stays() {
        let mut c = cpu();
        c.sys.regs.spsr = 0b01001; // EL2h: not implemented
        c.sys.regs.elr = 0x4000_1000;
        c.eret(0);
        assert_eq!((c.sys.el, c.sys.il, c.cpu.pc), (1, true, 0x4000_1000));
        c.take_illegal_state(0);
        assert_eq!(c.sys.regs.esr >> 26, EC_ILLEGAL_STATE as u64);
        assert!(!c.sys.il);
        assert_eq!(c.sys.regs.spsr & PSTATE_IL, PSTATE_IL);
    }
}
