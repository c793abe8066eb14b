//! The vCPU run loop: runs guest code with [`Engine::run`] and carries out every exit
//! the engine hands back.
//!
//! | exit | what happens |
//! |---|---|
//! | `Svc`, `Brk`, `Undefined` | synchronous exception to EL1 (EC 0x15, 0x3C, 0x00) |
//! | `Privileged`: ERET | exception return ([`SysCpu::eret`]) |
//! | `Privileged`: WFI | wait for an interrupt (the board sleeps until one is pending) |
//! | `Privileged`: HVC at EL1 | PSCI/SMCCC call (`psci.rs`): SYSTEM_OFF stops with status 0, SYSTEM_RESET too with `-no-reboot` (otherwise the machine restarts) |
//! | `Privileged`: HVC at EL0, SMC, HLT | UNDEFINED (no EL2/EL3, no halting debug) |
//! | `FetchFault` | instruction abort (EC 0x20/0x21) or PC alignment fault (EC 0x22) |
//! | `Exception` | the data abort or trap a slow path or hook recorded |
//! | `Interrupt` | IRQ entry when PSTATE.I is clear and the interrupt controller signals one; a stop request |
//!
//! Instruction fetch ([`SysFetch`]) goes through the MMU; the translation context of a
//! block is the CPU's ([`SysCpu::context`]) plus the memory lowering's bits.

use std::sync::Arc;

use crate::arm64::cpu::{ec, Exception};
use crate::engine::{clear_interrupt, Engine, Exit, Fetch};
use crate::ir::Ctx;
use crate::log;

use super::cpu::{SysCpu, INT_IRQ, INT_STOP};
use super::exception::Kind;
use super::psci::{Action, Psci};

/// Why the machine stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// PSCI SYSTEM_OFF (or a reset under `-no-reboot`): exit status 0.
    PowerOff,
    /// PSCI SYSTEM_RESET: restart the machine.
    Reset,
    /// The user asked to quit (Ctrl-A x).
    Quit,
}

/// Instruction fetch for the engine: through the MMU at the CPU's current EL.
pub(crate) struct SysFetch {
    cpu: *mut SysCpu,
}

impl SysFetch {
    /// # Safety
    /// `cpu` must stay live while the engine uses this fetch.
    pub(crate) unsafe fn new(cpu: *mut SysCpu) -> SysFetch {
        SysFetch { cpu }
    }
}

impl Fetch for SysFetch {
    fn fetch(&mut self, pc: u64) -> Option<u32> {
        // SAFETY: `new`'s contract; the engine fetches only while no generated code
        // runs on this CPU, so nothing else uses its MMU.
        let mmu = unsafe { &mut (*self.cpu).mmu };
        mmu.fetch(pc).ok().map(|(_pa, w)| w)
    }

    fn context(&mut self, _pc: u64) -> Ctx {
        // SAFETY: as in `fetch`.
        unsafe { (*self.cpu).context() }
    }

    fn code_page(&mut self, pc: u64) -> u64 {
        // SAFETY: as in `fetch`.
        unsafe { (*self.cpu).mmu.code_page(pc) }
    }
}

/// The machine state the loop needs besides the CPU.
pub(crate) struct RunEnv<'a> {
    pub(crate) engine: Arc<Engine>,
    pub(crate) psci: &'a mut Psci,
    pub(crate) no_reboot: bool,
    /// `-d` system items.
    pub(crate) log: u32,
}

/// Is `w` WFI?
fn is_wfi(w: u32) -> bool {
    w == 0xd503_207f
}

/// Is `w` ERET?
fn is_eret(w: u32) -> bool {
    w == 0xd69f_03e0
}

/// Is `w` HVC #imm?
fn is_hvc(w: u32) -> bool {
    w & 0xffe0_001f == 0xd400_0002
}

/// Run `sc` until the machine stops.
pub(crate) fn run(sc: &mut SysCpu, fetch: &mut SysFetch, env: &mut RunEnv) -> Stop {
    let log_items = env.log;
    loop {
        if sc.sys.il {
            sc.take_illegal_state(log_items);
        }
        let exit = env.engine.run(&mut sc.cpu, fetch);
        match exit {
            Exit::Svc(imm) => {
                let ret = sc.cpu.pc;
                let e = Exception::new(ec::SVC64, imm as u64, 0);
                sc.take_exception(Kind::Sync(e), ret, log_items);
            }
            Exit::Brk(_) | Exit::Undefined(_) | Exit::Exception(_) => {
                let e = exit.exception().unwrap_or_default();
                sc.take_sync(e, log_items);
            }
            Exit::FetchFault(a) => {
                // Asked of the MMU now: the block that ends here may be a cached one
                // from an earlier fault at this VA (blocks of unmapped code are keyed
                // by the no-page tag), so no fetch may have failed on this run.
                let e = if a & 3 != 0 {
                    Exception::new(ec::PC_ALIGN, 0, a)
                } else {
                    match sc.mmu.fetch(a) {
                        Err(e) => e,
                        // Mapped meanwhile: the next lookup finds the page.
                        Ok(_) => continue,
                    }
                };
                sc.take_sync(e, log_items);
            }
            Exit::Privileged(w) => {
                if let Some(stop) = privileged(sc, w, env) {
                    return stop;
                }
            }
            Exit::Interrupt => {
                let bits = clear_interrupt(&mut sc.cpu, INT_IRQ | INT_STOP);
                if bits & INT_STOP != 0 || quit_requested(sc) {
                    return Stop::Quit;
                }
                // Masked: dropped until PSTATE.I is cleared (`SysCpu::irq_check`).
                if !sc.irq_masked() && sc.irq_signalled() {
                    let ret = sc.cpu.pc;
                    sc.take_exception(Kind::Irq, ret, log_items);
                }
            }
        }
    }
}

/// Has the user asked to quit (`Ctrl-A x`)?
fn quit_requested(sc: &SysCpu) -> bool {
    sc.sys
        .env
        .board
        .as_ref()
        .is_some_and(|b| b.quit_requested())
}

/// WFI: sleep until an interrupt is signalled (masked or not), a timer fires or quit is
/// requested; the next block entry then sees it. Without a board it returns at once
/// (the architecture lets WFI complete early).
fn wait_for_interrupt(sc: &mut SysCpu) {
    if let Some(b) = &sc.sys.env.board {
        b.wait_for_interrupt(sc.sys.index);
    }
    sc.irq_check();
    if quit_requested(sc) {
        crate::engine::raise_interrupt(&mut sc.cpu, INT_STOP);
    }
}

/// Carry out ERET, WFI, HVC, SMC or HLT (word `w` at `cpu.pc`).
fn privileged(sc: &mut SysCpu, w: u32, env: &mut RunEnv) -> Option<Stop> {
    let log_items = env.log;
    if is_eret(w) && sc.sys.el >= 1 {
        sc.eret(log_items);
        return None;
    }
    if is_wfi(w) {
        sc.cpu.pc += 4;
        wait_for_interrupt(sc);
        return None;
    }
    if is_hvc(w) && sc.sys.el >= 1 {
        if log_items & super::cli::D_INT != 0 {
            log::write(&format!(
                "Taking exception 11 [Hypervisor Call] on CPU {}\n...handled as PSCI call",
                sc.sys.index
            ));
        }
        let x = [sc.cpu.x[0], sc.cpu.x[1], sc.cpu.x[2], sc.cpu.x[3]];
        let out = env.psci.call(sc.sys.index, x);
        sc.cpu.pc += 4;
        match out.action {
            Action::SystemOff => return Some(Stop::PowerOff),
            Action::SystemReset if env.no_reboot => return Some(Stop::PowerOff),
            Action::SystemReset => return Some(Stop::Reset),
            Action::None => sc.cpu.x[0] = out.x0,
            Action::Standby => {
                sc.cpu.x[0] = out.x0;
                wait_for_interrupt(sc);
            }
            // One CPU: CPU_OFF of the last one is DENIED and there is no CPU to
            // turn on, so these do not occur; keep going with the result.
            Action::CpuOff | Action::CpuOn { .. } => sc.cpu.x[0] = out.x0,
        }
        return None;
    }
    // HVC at EL0, SMC (no EL3), HLT (no halting debug), ERET at EL0: UNDEFINED.
    sc.take_sync(Exception::new(ec::UNKNOWN, 0, 0), log_items);
    None
}
