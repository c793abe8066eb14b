//! The system registers and system instructions of the system machine's CPU: what
//! `MRS`, `MSR`, `MSR (immediate)` and `SYS` do when the lifter hands them to the
//! environment ([`sys_hook`], installed as [`Cpu::sys`]).
//!
//! Registers are identified by their encoding op0:op1:CRn:CRm:op2 (as in the Arm ARM's
//! "MRS <Xt>, S<op0>_<op1>_C<n>_C<m>_<op2>"). For each the CPU keeps storage in
//! [`SysRegs`], forces RES0 bits to 0 and RES1 bits to 1 on writes, and decides who may
//! access it:
//! - EL1 registers at EL0 are UNDEFINED (EC 0x00), as the architecture says;
//! - the ID registers (op0=3, op1=0, CRn=0, CRm=0..7) at EL0 trap to EL1 with EC 0x18
//!   on a CPU with FEAT_IDST (`-cpu max`, which advertises it), so the kernel can emulate
//!   them; on the v8.0 models they are UNDEFINED there;
//! - `DAIF` and `DAIFSet/Clr` at EL0 trap with EC 0x18 unless SCTLR_EL1.UMA is set, the
//!   timer registers per CNTKCTL_EL1;
//! - an encoding ferrite does not implement is UNDEFINED, reported once under
//!   `-d unimp`.
//!
//! ID register values (`-cpu max`) advertise exactly what the translator implements:
//! AArch64 only at EL0 and EL1, FP and AdvSIMD, AES/PMULL, SHA1, SHA256, CRC32, LSE and
//! LRCPC (per the model), 48-bit physical addresses, 16-bit ASIDs, the 4 KB granule
//! only, no PAuth/BTI/MTE/SVE/PMU, two breakpoints and two watchpoints (stored, never
//! matched). The v8.0 models (`cortex-a72/a57/a53`) keep their real MIDR and drop LSE
//! and LRCPC.

use std::collections::HashSet;
use std::sync::Mutex;

use crate::arm64::cpu::{ec, Cpu, Exception};
use crate::arm64::lift::CpuFeatures;
use crate::log::{self, Item};

use super::board::TimerReg;
use super::cli::CpuModel;
use super::cpu::{SysCpu, DAIF_I, DAIF_MASK};
use super::mmu::MmuReg;

/// A system register encoding op0:op1:CRn:CRm:op2 packed as in MRS/MSR bits 20..5.
pub(crate) const fn sr(op0: u32, op1: u32, crn: u32, crm: u32, op2: u32) -> u32 {
    (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2
}

/// The register encoding of an MRS/MSR word.
fn reg_of(w: u32) -> u32 {
    ((2 | ((w >> 19) & 1)) << 14) | ((w >> 5) & 0x3fff)
}

// The registers, by encoding.
const MIDR: u32 = sr(3, 0, 0, 0, 0);
const MPIDR: u32 = sr(3, 0, 0, 0, 5);
const REVIDR: u32 = sr(3, 0, 0, 0, 6);
const ID_AA64PFR0: u32 = sr(3, 0, 0, 4, 0);
const ID_AA64DFR0: u32 = sr(3, 0, 0, 5, 0);
const ID_AA64ISAR0: u32 = sr(3, 0, 0, 6, 0);
const ID_AA64ISAR1: u32 = sr(3, 0, 0, 6, 1);
const ID_AA64MMFR0: u32 = sr(3, 0, 0, 7, 0);
const ID_AA64MMFR2: u32 = sr(3, 0, 0, 7, 2);
const CCSIDR: u32 = sr(3, 1, 0, 0, 0);
const CLIDR: u32 = sr(3, 1, 0, 0, 1);
const AIDR: u32 = sr(3, 1, 0, 0, 7);
const CSSELR: u32 = sr(3, 2, 0, 0, 0);
const CTR: u32 = sr(3, 3, 0, 0, 1);
const DCZID: u32 = sr(3, 3, 0, 0, 7);
const SCTLR: u32 = sr(3, 0, 1, 0, 0);
const ACTLR: u32 = sr(3, 0, 1, 0, 1);
const CPACR: u32 = sr(3, 0, 1, 0, 2);
const TTBR0: u32 = sr(3, 0, 2, 0, 0);
const TTBR1: u32 = sr(3, 0, 2, 0, 1);
const TCR: u32 = sr(3, 0, 2, 0, 2);
const SPSR: u32 = sr(3, 0, 4, 0, 0);
const ELR: u32 = sr(3, 0, 4, 0, 1);
const SP_EL0: u32 = sr(3, 0, 4, 1, 0);
const SPSEL: u32 = sr(3, 0, 4, 2, 0);
const CURRENT_EL: u32 = sr(3, 0, 4, 2, 2);
const DAIF: u32 = sr(3, 3, 4, 2, 1);
const AFSR0: u32 = sr(3, 0, 5, 1, 0);
const AFSR1: u32 = sr(3, 0, 5, 1, 1);
const ESR: u32 = sr(3, 0, 5, 2, 0);
const FAR: u32 = sr(3, 0, 6, 0, 0);
const PAR: u32 = sr(3, 0, 7, 4, 0);
const MAIR: u32 = sr(3, 0, 10, 2, 0);
const AMAIR: u32 = sr(3, 0, 10, 3, 0);
const VBAR: u32 = sr(3, 0, 12, 0, 0);
const ISR: u32 = sr(3, 0, 12, 1, 0);
const CONTEXTIDR: u32 = sr(3, 0, 13, 0, 1);
const TPIDR_EL1: u32 = sr(3, 0, 13, 0, 4);
const TPIDRRO_EL0: u32 = sr(3, 3, 13, 0, 3);
const CNTKCTL: u32 = sr(3, 0, 14, 1, 0);
const CNTFRQ: u32 = sr(3, 3, 14, 0, 0);
const CNTPCT: u32 = sr(3, 3, 14, 0, 1);
const CNTVCT: u32 = sr(3, 3, 14, 0, 2);
const CNTP_TVAL: u32 = sr(3, 3, 14, 2, 0);
const CNTP_CTL: u32 = sr(3, 3, 14, 2, 1);
const CNTP_CVAL: u32 = sr(3, 3, 14, 2, 2);
const CNTV_TVAL: u32 = sr(3, 3, 14, 3, 0);
const CNTV_CTL: u32 = sr(3, 3, 14, 3, 1);
const CNTV_CVAL: u32 = sr(3, 3, 14, 3, 2);
const MDSCR: u32 = sr(2, 0, 0, 2, 2);
const OSLAR: u32 = sr(2, 0, 1, 0, 4);
const OSLSR: u32 = sr(2, 0, 1, 1, 4);
const OSDLR: u32 = sr(2, 0, 1, 3, 4);
const MDCCINT: u32 = sr(2, 0, 0, 2, 0);

/// SCTLR_EL1 bits that are RES1 on a CPU without the features that define them (EOS,
/// TSCXT, EIS, SPAN, nTLSMD, LSMAOE).
pub(crate) const SCTLR_RES1: u64 = (1 << 11) | (1 << 20) | (1 << 22) | (1 << 23) | (3 << 28);
/// SCTLR_EL1 bits software can change: M A C SA SA0 UMA I DZE UCT nTWI nTWE WXN UCI.
const SCTLR_RW: u64 = 0x1f
    | (1 << 9)
    | (1 << 12)
    | (1 << 14)
    | (1 << 15)
    | (1 << 16)
    | (1 << 18)
    | (1 << 19)
    | (1 << 26);
/// SCTLR_EL1.UMA: EL0 may access DAIF.
const SCTLR_UMA: u64 = 1 << 9;
/// TCR_EL1 bits that exist without HAFDBS and friends: T0SZ..TBI1, minus RES0 6 and 35.
const TCR_RW: u64 = ((1 << 39) - 1) & !(1 << 6) & !(1 << 35);
/// SPSR_EL1: N Z C V, PAN, SS, IL, D A I F, M[4:0].
const SPSR_RW: u64 = 0xf070_03df;
/// CPACR_EL1: FPEN and TTA (FP is never trapped: see README).
const CPACR_RW: u64 = (3 << 20) | (1 << 28);

/// Breakpoint and watchpoint register pairs (ID_AA64DFR0.BRPs/WRPs + 1).
const DEBUG_PAIRS: usize = 2;

/// The EL1 system registers the CPU stores.
#[derive(Clone, Debug, Default)]
pub(crate) struct SysRegs {
    pub(crate) sctlr: u64,
    pub(crate) actlr: u64,
    pub(crate) cpacr: u64,
    pub(crate) ttbr0: u64,
    pub(crate) ttbr1: u64,
    pub(crate) tcr: u64,
    pub(crate) mair: u64,
    pub(crate) amair: u64,
    pub(crate) vbar: u64,
    pub(crate) elr: u64,
    pub(crate) spsr: u64,
    pub(crate) esr: u64,
    pub(crate) far: u64,
    pub(crate) afsr0: u64,
    pub(crate) afsr1: u64,
    pub(crate) par: u64,
    pub(crate) contextidr: u64,
    pub(crate) tpidr_el1: u64,
    pub(crate) csselr: u64,
    pub(crate) cntkctl: u64,
    pub(crate) cntv_ctl: u64,
    pub(crate) cntv_cval: u64,
    pub(crate) cntp_ctl: u64,
    pub(crate) cntp_cval: u64,
    pub(crate) mdscr: u64,
    pub(crate) mdccint: u64,
    pub(crate) oslk: bool,
    pub(crate) osdlr: u64,
    pub(crate) dbgbvr: [u64; DEBUG_PAIRS],
    pub(crate) dbgbcr: [u64; DEBUG_PAIRS],
    pub(crate) dbgwvr: [u64; DEBUG_PAIRS],
    pub(crate) dbgwcr: [u64; DEBUG_PAIRS],
}

impl SysRegs {
    /// Reset values (those the architecture leaves UNKNOWN read as 0).
    pub(crate) fn reset() -> SysRegs {
        SysRegs {
            sctlr: super::boot::RESET_SCTLR_EL1,
            // The OS lock is set at cold reset.
            oslk: true,
            ..Default::default()
        }
    }
}

/// ID register values of a `-cpu` model.
#[derive(Clone, Debug, Default)]
pub(crate) struct IdRegs {
    pub(crate) midr: u64,
    pub(crate) mpidr: u64,
    pub(crate) pfr0: u64,
    pub(crate) dfr0: u64,
    pub(crate) isar0: u64,
    pub(crate) isar1: u64,
    pub(crate) mmfr0: u64,
    pub(crate) mmfr2: u64,
    /// FEAT_IDST: EL0 ID register reads trap with EC 0x18 rather than UNDEF.
    pub(crate) idst: bool,
}

impl IdRegs {
    pub(crate) fn of(model: CpuModel, f: &CpuFeatures, index: usize) -> IdRegs {
        let idst = model == CpuModel::Max;
        let mut isar0 = (2 << 4) | (1 << 8) | (1 << 12);
        if f.crc32 {
            isar0 |= 1 << 16;
        }
        if f.lse {
            isar0 |= 2 << 20;
        }
        IdRegs {
            midr: f.midr,
            // RES1 bit 31, Aff0 = the CPU index.
            mpidr: 0x8000_0000 | (index as u64 & 0xff),
            // EL0 and EL1 AArch64 only (1, 1), FP and AdvSIMD present (0), no GIC
            // system registers, CSV2 = 1 and CSV3 = 1 (nothing leaks through
            // speculation: there is none).
            pfr0: 0x11 | (1 << 56) | (1 << 60),
            // DebugVer v8 (6), BRPs and WRPs = 1 (two of each), no PMU.
            dfr0: 6 | (((DEBUG_PAIRS as u64) - 1) << 12) | (((DEBUG_PAIRS as u64) - 1) << 20),
            isar0,
            isar1: if f.rcpc { 1 << 20 } else { 0 },
            // PARange 48 bits (5), 16-bit ASIDs (2), TGran4 supported (0), TGran64
            // not (0xf), TGran16 not (0).
            mmfr0: 5 | (2 << 4) | (0xf << 24),
            mmfr2: if idst { 1 << 36 } else { 0 },
            idst,
        }
    }
}

/// CLIDR_EL1: separate L1 I and D caches, a unified L2; LoUIS 1, LoC 2, LoUU 1.
const CLIDR_VALUE: u64 = 0x0a20_0023;
/// CCSIDR_EL1 for CSSELR = L1 data (32 KB, 2-way), L1 instruction (48 KB, 3-way) and
/// L2 (1 MB, 16-way), all with 64-byte lines; anything else reads 0.
fn ccsidr(csselr: u64) -> u64 {
    match csselr & 0xf {
        0 => (255 << 13) | (1 << 3) | 2,
        1 => (255 << 13) | (2 << 3) | 2,
        2 => (1023 << 13) | (15 << 3) | 2,
        _ => 0,
    }
}

/// The counter (CNTVCT/CNTPCT): host CLOCK_MONOTONIC at 62.5 MHz, as user mode's.
pub(crate) fn counter() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    let ns = ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64;
    ns / (1_000_000_000 / crate::arm64::lift::system::CNTFRQ)
}

/// A timer's CTL with ISTATUS (bit 2) computed: enabled and the compare value reached.
fn timer_ctl(ctl: u64, cval: u64) -> u64 {
    let fired = ctl & 1 != 0 && counter() >= cval;
    (ctl & 3) | if fired { 4 } else { 0 }
}

/// The board's name of a timer register encoding.
fn timer_reg(reg: u32) -> TimerReg {
    match reg {
        CNTV_CTL => TimerReg::CntvCtl,
        CNTV_CVAL => TimerReg::CntvCval,
        CNTV_TVAL => TimerReg::CntvTval,
        CNTP_CTL => TimerReg::CntpCtl,
        CNTP_CVAL => TimerReg::CntpCval,
        _ => TimerReg::CntpTval,
    }
}

/// The undefined-instruction exception.
fn undef() -> Exception {
    Exception::new(ec::UNKNOWN, 0, 0)
}

/// The EC 0x18 trap of MRS/MSR word `w` (ISS: Op0, Op2, Op1, CRn, Rt, CRm, direction).
pub(crate) fn sys_trap(w: u32) -> Exception {
    // Bits 20..19: 0b1x for MRS/MSR (register), 0b00 for MSR (immediate).
    let op0 = (w >> 19) & 3;
    let op1 = (w >> 16) & 7;
    let crn = (w >> 12) & 15;
    let crm = (w >> 8) & 15;
    let op2 = (w >> 5) & 7;
    let rt = w & 31;
    let read = (w >> 21) & 1;
    let iss = (op0 << 20) | (op2 << 17) | (op1 << 14) | (crn << 10) | (rt << 5) | (crm << 1) | read;
    Exception::new(ec::SYS64, iss as u64, 0)
}

/// Encodings already reported under `-d unimp`.
static REPORTED: Mutex<Option<HashSet<u32>>> = Mutex::new(None);

fn report_unimp(w: u32, pc: u64) {
    if !log::enabled(Item::Unimp) {
        return;
    }
    let mut r = REPORTED.lock().unwrap_or_else(|e| e.into_inner());
    if r.get_or_insert_with(HashSet::new).insert(w) {
        log::write(&format!(
            "unimplemented system instruction {w:#010x} at {pc:#x}: {} -> UNDEFINED",
            crate::arm64::decode::disassemble(w, pc)
        ));
    }
}

/// The ID register space op0=3, op1=0, CRn=0, CRm=0..7.
fn is_id_space(reg: u32) -> bool {
    reg >> 7 == sr(3, 0, 0, 0, 0) >> 7 && (reg >> 3) & 15 <= 7
}

impl SysCpu {
    /// MRS of register `reg` (instruction word `w`).
    fn read_sysreg(&mut self, w: u32, reg: u32) -> Result<u64, Exception> {
        let el0 = self.sys.el == 0;
        if el0 {
            return self.read_el0(w, reg);
        }
        let r = &self.sys.regs;
        let id = &self.sys.id;
        Ok(match reg {
            MIDR => id.midr,
            MPIDR => id.mpidr,
            REVIDR | AIDR => 0,
            ID_AA64PFR0 => id.pfr0,
            ID_AA64DFR0 => id.dfr0,
            ID_AA64ISAR0 => id.isar0,
            ID_AA64ISAR1 => id.isar1,
            ID_AA64MMFR0 => id.mmfr0,
            ID_AA64MMFR2 => id.mmfr2,
            // The rest of the ID space (AArch32 ID registers, other AArch64 ones):
            // nothing implemented.
            _ if is_id_space(reg) => 0,
            CCSIDR => ccsidr(r.csselr),
            CLIDR => CLIDR_VALUE,
            CSSELR => r.csselr,
            SCTLR => r.sctlr,
            ACTLR => r.actlr,
            CPACR => r.cpacr,
            TTBR0 => r.ttbr0,
            TTBR1 => r.ttbr1,
            TCR => r.tcr,
            SPSR => r.spsr,
            ELR => r.elr,
            SP_EL0 if self.sys.spsel => self.sp_el0(),
            SPSEL => self.sys.spsel as u64,
            CURRENT_EL => (self.sys.el as u64) << 2,
            DAIF => self.sys.daif,
            AFSR0 => r.afsr0,
            AFSR1 => r.afsr1,
            ESR => r.esr,
            FAR => r.far,
            PAR => r.par,
            MAIR => r.mair,
            AMAIR => r.amair,
            VBAR => r.vbar,
            ISR => {
                if self.irq_signalled() {
                    DAIF_I
                } else {
                    0
                }
            }
            CONTEXTIDR => r.contextidr,
            TPIDR_EL1 => r.tpidr_el1,
            CNTKCTL => r.cntkctl,
            _ => return self.read_common(w, reg),
        })
    }

    /// MRS at EL0 of a register the lifter did not handle inline.
    fn read_el0(&mut self, w: u32, reg: u32) -> Result<u64, Exception> {
        match reg {
            _ if is_id_space(reg) => Err(if self.sys.id.idst {
                sys_trap(w)
            } else {
                undef()
            }),
            DAIF if self.sys.regs.sctlr & SCTLR_UMA != 0 => Ok(self.sys.daif),
            DAIF => Err(sys_trap(w)),
            CNTP_TVAL | CNTP_CTL | CNTP_CVAL if self.sys.regs.cntkctl & (1 << 9) == 0 => {
                Err(sys_trap(w))
            }
            CNTV_TVAL | CNTV_CTL | CNTV_CVAL if self.sys.regs.cntkctl & (1 << 8) == 0 => {
                Err(sys_trap(w))
            }
            CNTP_TVAL | CNTP_CTL | CNTP_CVAL | CNTV_TVAL | CNTV_CTL | CNTV_CVAL => {
                self.read_common(w, reg)
            }
            _ if self.known(reg) => Err(undef()),
            _ => {
                report_unimp(w, self.cpu.pc);
                Err(undef())
            }
        }
    }

    /// Registers whose behaviour does not depend on the EL (access already checked).
    fn read_common(&mut self, w: u32, reg: u32) -> Result<u64, Exception> {
        let r = &self.sys.regs;
        Ok(match reg {
            CTR => crate::arm64::lift::system::CTR,
            DCZID => crate::arm64::lift::system::DCZID,
            CNTFRQ => crate::arm64::lift::system::CNTFRQ,
            CNTPCT | CNTVCT => self.counter(),
            CNTV_CTL | CNTV_CVAL | CNTV_TVAL | CNTP_CTL | CNTP_CVAL | CNTP_TVAL => {
                let t = timer_reg(reg);
                match &self.sys.env.board {
                    Some(b) => b.timer_read(self.sys.index, t),
                    None => self.local_timer_read(t),
                }
            }
            TPIDRRO_EL0 => self.cpu.tpidrro_el0,
            MDSCR => r.mdscr,
            MDCCINT => r.mdccint,
            OSLSR => 0b1000 | ((r.oslk as u64) << 1),
            OSDLR => r.osdlr,
            _ => match debug_reg(reg) {
                Some((kind, n)) => match kind {
                    4 => r.dbgbvr[n],
                    5 => r.dbgbcr[n],
                    6 => r.dbgwvr[n],
                    _ => r.dbgwcr[n],
                },
                None => {
                    if !self.known(reg) {
                        report_unimp(w, self.cpu.pc);
                    }
                    return Err(undef());
                }
            },
        })
    }

    /// Registers ferrite implements somewhere (so an access that is refused is not
    /// "unimplemented").
    fn known(&self, reg: u32) -> bool {
        is_id_space(reg)
            || debug_reg(reg).is_some()
            || matches!(
                reg,
                CCSIDR
                    | CLIDR
                    | AIDR
                    | CSSELR
                    | CTR
                    | DCZID
                    | SCTLR
                    | ACTLR
                    | CPACR
                    | TTBR0
                    | TTBR1
                    | TCR
                    | SPSR
                    | ELR
                    | SP_EL0
                    | SPSEL
                    | CURRENT_EL
                    | DAIF
                    | AFSR0
                    | AFSR1
                    | ESR
                    | FAR
                    | PAR
                    | MAIR
                    | AMAIR
                    | VBAR
                    | ISR
                    | CONTEXTIDR
                    | TPIDR_EL1
                    | TPIDRRO_EL0
                    | CNTKCTL
                    | CNTFRQ
                    | CNTPCT
                    | CNTVCT
                    | CNTP_TVAL
                    | CNTP_CTL
                    | CNTP_CVAL
                    | CNTV_TVAL
                    | CNTV_CTL
                    | CNTV_CVAL
                    | MDSCR
                    | MDCCINT
                    | OSLAR
                    | OSLSR
                    | OSDLR
            )
    }

    /// MSR of register `reg` (word `w`) with value `v`.
    fn write_sysreg(&mut self, w: u32, reg: u32, v: u64) -> Result<(), Exception> {
        if self.sys.el == 0 {
            return match reg {
                DAIF if self.sys.regs.sctlr & SCTLR_UMA != 0 => {
                    self.set_daif(v);
                    Ok(())
                }
                DAIF => Err(sys_trap(w)),
                CNTP_TVAL | CNTP_CTL | CNTP_CVAL if self.sys.regs.cntkctl & (1 << 9) == 0 => {
                    Err(sys_trap(w))
                }
                CNTV_TVAL | CNTV_CTL | CNTV_CVAL if self.sys.regs.cntkctl & (1 << 8) == 0 => {
                    Err(sys_trap(w))
                }
                CNTP_TVAL | CNTP_CTL | CNTP_CVAL | CNTV_TVAL | CNTV_CTL | CNTV_CVAL => {
                    self.write_timer(reg, v);
                    Ok(())
                }
                _ if self.known(reg) => Err(undef()),
                _ => {
                    report_unimp(w, self.cpu.pc);
                    Err(undef())
                }
            };
        }
        let r = &mut self.sys.regs;
        match reg {
            SCTLR => {
                r.sctlr = (v & SCTLR_RW) | SCTLR_RES1;
                let v = r.sctlr;
                self.mmu.write_reg(MmuReg::Sctlr, v);
            }
            ACTLR | AFSR0 | AFSR1 | AMAIR => {} // RAZ/WI here
            CPACR => r.cpacr = v & CPACR_RW,
            TTBR0 => {
                r.ttbr0 = v;
                self.mmu.write_reg(MmuReg::Ttbr0, v);
            }
            TTBR1 => {
                r.ttbr1 = v;
                self.mmu.write_reg(MmuReg::Ttbr1, v);
            }
            TCR => {
                r.tcr = v & TCR_RW;
                let v = r.tcr;
                self.mmu.write_reg(MmuReg::Tcr, v);
            }
            SPSR => r.spsr = v & SPSR_RW,
            ELR => r.elr = v,
            SP_EL0 if self.sys.spsel => self.set_sp_el0(v),
            SPSEL => {
                let el = self.sys.el;
                self.set_pstate_mode(el, v & 1 != 0);
            }
            DAIF => self.set_daif(v),
            ESR => r.esr = v & 0xffff_ffff,
            FAR => r.far = v,
            PAR => r.par = v,
            MAIR => {
                r.mair = v;
                self.mmu.write_reg(MmuReg::Mair, v);
            }
            VBAR => r.vbar = v & !0x7ff,
            CONTEXTIDR => r.contextidr = v & 0xffff_ffff,
            TPIDR_EL1 => r.tpidr_el1 = v,
            TPIDRRO_EL0 => self.cpu.tpidrro_el0 = v,
            CSSELR => r.csselr = v & 0xf,
            CNTKCTL => {
                r.cntkctl = v & 0x3ff;
                if let Some(b) = &self.sys.env.board {
                    b.timer_write(self.sys.index, TimerReg::Cntkctl, v & 0x3ff);
                }
            }
            CNTP_TVAL | CNTP_CTL | CNTP_CVAL | CNTV_TVAL | CNTV_CTL | CNTV_CVAL => {
                self.write_timer(reg, v)
            }
            MDSCR => r.mdscr = v & 0xffff_ffff,
            MDCCINT => r.mdccint = v & 0xffff_ffff,
            OSLAR => r.oslk = v & 1 != 0,
            OSDLR => r.osdlr = v & 1,
            _ => match debug_reg(reg) {
                Some((kind, n)) => match kind {
                    4 => r.dbgbvr[n] = v,
                    5 => r.dbgbcr[n] = v & 0xffff_ffff,
                    6 => r.dbgwvr[n] = v,
                    _ => r.dbgwcr[n] = v & 0xffff_ffff,
                },
                None => {
                    if !self.known(reg) {
                        report_unimp(w, self.cpu.pc);
                    }
                    // Read-only registers and SP_EL0 with SPSel = 0.
                    return Err(undef());
                }
            },
        }
        Ok(())
    }

    fn write_timer(&mut self, reg: u32, v: u64) {
        let t = timer_reg(reg);
        if let Some(b) = &self.sys.env.board {
            b.timer_write(self.sys.index, t, v);
            return;
        }
        let now = counter();
        let r = &mut self.sys.regs;
        match t {
            TimerReg::CntvCtl => r.cntv_ctl = v & 3,
            TimerReg::CntvCval => r.cntv_cval = v,
            TimerReg::CntvTval => r.cntv_cval = now.wrapping_add(v as i32 as i64 as u64),
            TimerReg::CntpCtl => r.cntp_ctl = v & 3,
            TimerReg::CntpCval => r.cntp_cval = v,
            _ => r.cntp_cval = now.wrapping_add(v as i32 as i64 as u64),
        }
    }

    /// The timer registers of a CPU without a board (unit tests): stored, no interrupt.
    fn local_timer_read(&self, t: TimerReg) -> u64 {
        let r = &self.sys.regs;
        match t {
            TimerReg::CntvCtl => timer_ctl(r.cntv_ctl, r.cntv_cval),
            TimerReg::CntvCval => r.cntv_cval,
            TimerReg::CntvTval => r.cntv_cval.wrapping_sub(counter()) as u32 as u64,
            TimerReg::CntpCtl => timer_ctl(r.cntp_ctl, r.cntp_cval),
            TimerReg::CntpCval => r.cntp_cval,
            _ => r.cntp_cval.wrapping_sub(counter()) as u32 as u64,
        }
    }

    /// The system counter: the board's, or the host clock at the same rate.
    fn counter(&self) -> u64 {
        match &self.sys.env.board {
            Some(b) => b.counter(),
            None => counter(),
        }
    }

    /// Write PSTATE.DAIF (an IRQ waiting behind the mask is taken next).
    pub(crate) fn set_daif(&mut self, v: u64) {
        self.sys.daif = v & DAIF_MASK;
        self.irq_check();
    }

    /// MSR (immediate) word `w`.
    fn msr_imm(&mut self, w: u32) -> Result<(), Exception> {
        let op1 = (w >> 16) & 7;
        let op2 = (w >> 5) & 7;
        let imm = ((w >> 8) & 15) as u64;
        match (op1, op2) {
            (3, 6) | (3, 7) => {
                if self.sys.el == 0 && self.sys.regs.sctlr & SCTLR_UMA == 0 {
                    return Err(sys_trap(w));
                }
                let bits = imm << 6;
                let daif = if op2 == 6 {
                    self.sys.daif | bits
                } else {
                    self.sys.daif & !bits
                };
                self.set_daif(daif);
                Ok(())
            }
            (0, 5) if self.sys.el >= 1 => {
                let el = self.sys.el;
                self.set_pstate_mode(el, imm & 1 != 0);
                Ok(())
            }
            (0, 5) => Err(undef()),
            _ => {
                report_unimp(w, self.cpu.pc);
                Err(undef())
            }
        }
    }

    /// SYS word `w` with Xt = `xt`: TLB maintenance, AT, EL1 cache maintenance.
    fn sys_op(&mut self, w: u32, xt: u64) -> Result<(), Exception> {
        let op1 = (w >> 16) & 7;
        let crn = (w >> 12) & 15;
        let crm = (w >> 8) & 15;
        let op2 = (w >> 5) & 7;
        if self.sys.el == 0 {
            // The EL0 cache operations are lifted inline; everything else is EL1's.
            return Err(undef());
        }
        match (op1, crn, crm, op2) {
            // TLBI: the MMU's (false: a form it does not implement).
            (0, 8, _, _) if self.mmu.tlbi((op1 << 7) | (crm << 3) | op2, xt) => Ok(()),
            // IC IALLU, IC IALLUIS: drop every translation.
            (0, 7, 1 | 5, 0) => {
                if let Some(e) = &self.sys.env.engine {
                    e.invalidate(0, u64::MAX);
                }
                Ok(())
            }
            // AT S1E1R/W, S1E0R/W: the walk's result in PAR_EL1.
            (0, 7, 8, 0..=3) => match self.mmu.at((op1 << 7) | (crm << 3) | op2, xt) {
                Some(par) => {
                    self.sys.regs.par = par;
                    Ok(())
                }
                None => {
                    report_unimp(w, self.cpu.pc);
                    Err(undef())
                }
            },
            // DC IVAC, ISW, CSW, CISW: memory is coherent; nothing to do.
            (0, 7, 6, 1 | 2) | (0, 7, 10, 2) | (0, 7, 14, 2) => Ok(()),
            _ => {
                report_unimp(w, self.cpu.pc);
                Err(undef())
            }
        }
    }
}

/// DBGBVR<n>/DBGBCR<n>/DBGWVR<n>/DBGWCR<n>_EL1 (op2 4/5/6/7) for implemented `n`.
fn debug_reg(reg: u32) -> Option<(u32, usize)> {
    let n = ((reg >> 3) & 15) as usize;
    (reg >> 7 == sr(2, 0, 0, 0, 0) >> 7 && (4..=7).contains(&(reg & 7)) && n < DEBUG_PAIRS)
        .then_some((reg & 7, n))
}

/// The environment's system-instruction hook ([`Cpu::sys`]).
///
/// # Safety
/// `cpu` is the `cpu` field of the running thread's live `SysCpu`.
pub(crate) unsafe extern "sysv64" fn sys_hook(cpu: *mut Cpu, word: u64, val: u64) -> u64 {
    // SAFETY: the caller's contract (only system-mode blocks call it, on a SysCpu).
    let sc = unsafe { SysCpu::from_cpu(cpu) };
    let w = word as u32;
    let res = if w & 0xfff0_0000 == 0xd530_0000 {
        // MRS (L = 1, bits 21..20 = 0b11 with op0 bit 19: 0xd53...)
        sc.read_sysreg(w, reg_of(w))
    } else if w & 0xfff0_0000 == 0xd510_0000 {
        sc.write_sysreg(w, reg_of(w), val).map(|_| 0)
    } else if w & 0xfff8_f01f == 0xd500_401f {
        sc.msr_imm(w).map(|_| 0)
    } else if w & 0xfff8_0000 == 0xd508_0000 {
        sc.sys_op(w, val).map(|_| 0)
    } else {
        Err(undef())
    };
    match res {
        Ok(v) => v,
        Err(e) => {
            sc.cpu.exception = e;
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Engine, Exit, Fetch};
    use crate::ir::Ctx;
    use crate::system::boot::{ResetState, CNTFRQ, RESET_PSTATE, RESET_SCTLR_EL1};
    use crate::x64::Identity;

    const BASE: u64 = 0x10_0000;

    /// The words at BASE, then `BRK #0xf00`; contexts from the live SysCpu.
    struct Words<'a>(&'a [u32], *const SysCpu);

    impl Fetch for Words<'_> {
        fn fetch(&mut self, pc: u64) -> Option<u32> {
            let i = (pc.checked_sub(BASE)? / 4) as usize;
            match i.cmp(&self.0.len()) {
                std::cmp::Ordering::Less => Some(self.0[i]),
                std::cmp::Ordering::Equal => Some(0xd421_e000),
                _ => None,
            }
        }
        fn context(&mut self, _pc: u64) -> Ctx {
            // SAFETY: the test's SysCpu outlives the run; read between blocks only.
            unsafe { (*self.1).context() }
        }
    }

    fn new_cpu(model: CpuModel) -> Box<SysCpu> {
        // Leaked: the vCPU's MMU keeps a pointer to it.
        let ram = Box::leak(Box::new(crate::system::memory::Ram::new(1 << 20).unwrap()));
        crate::system::cpu::tests::test_cpu(model, ram)
    }

    fn cpu(el: u8) -> Box<SysCpu> {
        let mut c = new_cpu(CpuModel::Max);
        c.reset(&ResetState {
            x: [0; 4],
            pc: BASE,
            pstate: RESET_PSTATE,
            sctlr_el1: RESET_SCTLR_EL1,
            cntfrq_el0: CNTFRQ,
        });
        c.set_pstate_mode(el, el == 1);
        c
    }

    fn run(c: &mut SysCpu, words: &[u32]) -> Exit {
        let f = super::super::cpu::features(CpuModel::Max);
        let engine = Engine::new(f, Box::new(Identity)).expect("engine");
        c.cpu.pc = BASE;
        let p: *const SysCpu = c;
        engine.run(&mut c.cpu, &mut Words(words, p))
    }

    #[test]
    fn el1_registers_read_back_with_res_bits() {
        let mut c = cpu(1);
        c.cpu.x[0] = 0x4010_0fff;
        c.cpu.x[2] = 0x1234;
        let words = [
            0xd518c000, // msr vbar_el1, x0
            0xd538c001, // mrs x1, vbar_el1
            0xd518d082, // msr tpidr_el1, x2
            0xd538d083, // mrs x3, tpidr_el1
            0xd5384244, // mrs x4, currentel
            0xd5380005, // mrs x5, midr_el1
            0xd53b4226, // mrs x6, daif
            0xd50342ff, // msr daifclr, #2
            0xd53b4227, // mrs x7, daif
            0xd5380708, // mrs x8, id_aa64mmfr0_el1
            0xd518101f, // msr sctlr_el1, xzr
            0xd5381000, // mrs x0, sctlr_el1
        ];
        assert_eq!(run(&mut c, &words), Exit::Brk(0xf00));
        let x = &c.cpu.x;
        assert_eq!(x[1], 0x4010_0800, "VBAR bits 10..0 are RES0");
        assert_eq!(x[3], 0x1234);
        assert_eq!(x[4], 1 << 2);
        assert_eq!(x[5], 0x000f_0510);
        assert_eq!((x[6], x[7]), (0x3c0, 0x340));
        assert_eq!(x[8], c.sys.id.mmfr0);
        assert_eq!(x[0], SCTLR_RES1);
        assert_eq!(c.sys.daif, 0x340);
    }

    #[test]
    fn sp_el0_and_spsel_bank_the_stack_pointer() {
        let mut c = cpu(1);
        c.cpu.x[31] = 0x8000; // SP_EL1
        c.cpu.x[0] = 0x7000;
        let words = [
            0xd5184100, // msr sp_el0, x0
            0xd5384101, // mrs x1, sp_el0
            0xd50040bf, // msr spsel, #0
            0x910003e2, // mov x2, sp
            0xd50041bf, // msr spsel, #1
            0x910003e3, // mov x3, sp
        ];
        assert_eq!(run(&mut c, &words), Exit::Brk(0xf00));
        let x = &c.cpu.x;
        assert_eq!((x[1], x[2], x[3]), (0x7000, 0x7000, 0x8000));
        // With SPSel = 0, SP_EL0 is not accessible through MSR/MRS.
        let mut c = cpu(1);
        c.set_pstate_mode(1, false);
        assert_eq!(
            run(&mut c, &[0xd5384101]),
            Exit::Exception(Exception::new(ec::UNKNOWN, 0, 0))
        );
        assert_eq!(c.cpu.pc, BASE);
    }

    #[test]
    fn el0_traps_id_registers_and_daif_and_refuses_el1_ones() {
        // mrs x8, id_aa64mmfr0_el1 at EL0: EC 0x18, Op0 3, CRm 7, Rt 8, read.
        let mut c = cpu(0);
        let e = match run(&mut c, &[0xd5380708]) {
            Exit::Exception(e) => e,
            other => panic!("{other:?}"),
        };
        assert_eq!(e.class(), ec::SYS64);
        let iss = e.esr & 0x1ff_ffff;
        assert_eq!(
            iss,
            (3 << 20) | (8 << 5) | (7 << 1) | 1,
            "Op0=3 Op2=0 Op1=0 CRn=0 Rt=8 CRm=7 read"
        );
        // mrs x0, sctlr_el1 at EL0: UNDEFINED.
        let mut c = cpu(0);
        assert_eq!(
            run(&mut c, &[0xd5381000]),
            Exit::Exception(Exception::new(ec::UNKNOWN, 0, 0))
        );
        // msr daifset, #2 at EL0 with SCTLR_EL1.UMA = 0: EC 0x18 with the Arm ARM's
        // ISS (Op0 0, Op2 6, Op1 3, CRn 4, Rt 31, CRm 2, write). QEMU 7.2 reports
        // 0x0793e4 here, Op1 and Op2 swapped.
        let mut c = cpu(0);
        match run(&mut c, &[0xd50342df]) {
            Exit::Exception(e) => assert_eq!(e.esr, 0x620c_d3e4),
            other => panic!("{other:?}"),
        }
        // On a v8.0 model (no FEAT_IDST) ID registers are UNDEFINED at EL0.
        let mut c = new_cpu(CpuModel::CortexA72);
        c.set_pstate_mode(0, false);
        assert_eq!(
            run(&mut c, &[0xd5380708]),
            Exit::Exception(Exception::new(ec::UNKNOWN, 0, 0))
        );
    }

    #[test]
    fn privileged_instructions_leave_for_the_run_loop() {
        for w in [0xd69f03e0u32, 0xd503207f, 0xd4000002] {
            let mut c = cpu(1);
            assert_eq!(run(&mut c, &[w]), Exit::Privileged(w));
            assert_eq!(c.cpu.pc, BASE);
        }
        // ERET at EL0 is undefined.
        let mut c = cpu(0);
        assert_eq!(run(&mut c, &[0xd69f03e0]), Exit::Undefined(0xd69f03e0));
        // TLBI at EL1 continues; at EL0 it is undefined.
        let mut c = cpu(1);
        assert_eq!(run(&mut c, &[0xd508871f]), Exit::Brk(0xf00));
        let mut c = cpu(0);
        assert_eq!(
            run(&mut c, &[0xd508871f]),
            Exit::Exception(Exception::new(ec::UNKNOWN, 0, 0))
        );
    }

    #[test]
    fn user_mode_lifting_is_unchanged() {
        use crate::engine::testing::run;
        // MSR DAIFSet, ERET, EL1 registers: undefined in user mode; WFI a NOP.
        for w in [0xd50342dfu32, 0xd69f03e0, 0xd518c000, 0xd538c001] {
            let mut cpu = crate::arm64::cpu::Cpu::new();
            assert_eq!(run(&[w], &mut cpu), Exit::Undefined(w));
        }
        let mut cpu = crate::arm64::cpu::Cpu::new();
        assert_eq!(run(&[0xd503207f], &mut cpu), Exit::Brk(0xf00));
    }
}
