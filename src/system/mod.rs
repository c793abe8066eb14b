//! System mode: `ferrite-system-aarch64`, a whole arm64 machine (QEMU's `virt` board)
//! instead of one Linux process.
//!
//! In user mode ([`crate::linux`]) the guest is a program and the host kernel does the
//! operating system's work. In system mode the guest is the operating system: an arm64
//! kernel boots at EL1 on an emulated CPU with its own MMU, and talks to emulated devices
//! (interrupt controller, timer, UART, RTC, virtio) placed at the physical addresses of
//! QEMU's `virt` machine, which it learns from a device tree. The same decoder, lifters,
//! IR and backend run the guest code; only the memory lowering, the EL0/EL1 state and the
//! exits differ (ARCHITECTURE.md, "The environment door").
//!
//! This build has the parts that need no CPU: the command line (`cli`), guest physical
//! memory and the machine map (`memory`), the boot protocol — kernel `Image`/raw
//! loading, initrd and DTB placement, the reset state (`boot`) — and the device tree
//! (`fdt`); and, not yet wired to a CPU, the MMIO bus (`bus`), the device models
//! (`dev`: GICv2, PL011, PL031, generic timer), PSCI (`psci`) and the stage-1 walker and
//! software TLB (`mmu`), each tested on its own. Running guest code is not implemented
//! yet: `Machine::build` prepares everything a boot needs and stops there.
//!
//! Layout (planned modules in brackets):
//! - `cli`: QEMU-spelled options → [`cli::SysOptions`].
//! - `memory`: RAM (one anonymous mapping at 0x4000_0000) and the region map.
//! - `boot`: loading the kernel, initrd and DTB into RAM; the register state at entry.
//! - `fdt`: the `virt` device tree (built with `vm-fdt`), `-dtb` patching, `dumpdtb`.
//! - `bus`: the MMIO device trait, the physical bus map and interrupt lines.
//! - `dev`: device models; `mmu`: walker and TLB; `psci`: firmware calls.
//! - [CPU, system registers, exceptions, the run loop.]
//!
//! Who may use whom: `system` uses [`crate::arm64`], [`crate::ir`], [`crate::x64`],
//! [`crate::engine`] and [`crate::log`]; none of those ever imports `system` (nor does
//! [`crate::linux`]). Within `system`, `cli` uses only `memory`'s constants; `boot` uses
//! `memory` and gets the device tree from its caller; `fdt` uses `memory` for the machine
//! map only.

pub mod board;
pub mod boot;
pub mod bus;
pub mod cli;
pub(crate) mod cpu;
pub mod dev;
pub(crate) mod exception;
pub mod fdt;
pub mod memory;
pub mod mmu;
pub mod psci;
pub(crate) mod run;
pub(crate) mod sysreg;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use boot::{Boot, BootFiles, Span};
use cli::{SysOptions, PROG, README_SECTION};
use fdt::{Fdt, VirtParams};
use memory::Ram;

/// A machine prepared for boot: RAM with the kernel, initrd and DTB in place, and the
/// CPU state to start from.
pub struct Machine {
    pub options: SysOptions,
    /// RAM, when there is a kernel to load (a bare `dumpdtb` needs none).
    pub ram: Option<Ram>,
    /// Where everything went, and the entry state.
    pub boot: Option<Boot>,
    /// The device tree blob given to the kernel.
    pub dtb: Vec<u8>,
}

/// Read `-dtb FILE` and adapt it to the machine.
fn user_dtb(path: &Path, params: &VirtParams) -> Result<Vec<u8>, String> {
    let blob = std::fs::read(path)
        .map_err(|e| format!("cannot read dtb '{}': {}", path.display(), boot::io_msg(&e)))?;
    let mut tree = Fdt::parse(&blob)
        .map_err(|e| format!("dtb '{}' is not a valid device tree: {e}", path.display()))?;
    fdt::patch_user(&mut tree, params).map_err(|e| format!("dtb '{}': {e}", path.display()))?;
    tree.to_blob()
}

impl Machine {
    /// Allocate RAM, load the kernel and initrd, build and place the device tree.
    pub fn build(options: SysOptions) -> Result<Machine, String> {
        let params = |initrd: Option<Span>| VirtParams {
            ram_size: options.ram_size,
            cpu: options.cpu,
            smp: options.smp,
            bootargs: options.append.clone(),
            initrd,
            randomness: options.dtb_randomness,
        };
        let make_dtb = |initrd: Option<Span>| match &options.dtb {
            Some(path) => user_dtb(path, &params(initrd)),
            None => fdt::virt(&params(initrd)).to_blob(),
        };
        let Some(kernel) = &options.kernel else {
            let dtb = make_dtb(None)?;
            return Ok(Machine {
                options,
                ram: None,
                boot: None,
                dtb,
            });
        };
        let mut ram = Ram::new(options.ram_size)?;
        let files = BootFiles {
            kernel,
            initrd: options.initrd.as_deref(),
        };
        let boot = boot::load(&mut ram, &files, make_dtb)?;
        let dtb = ram
            .slice(boot.dtb.addr, boot.dtb.len)
            .ok_or("the device tree is outside RAM")?
            .to_vec();
        Ok(Machine {
            options,
            ram: Some(ram),
            boot: Some(boot),
            dtb,
        })
    }
}

/// What `ferrite-system-aarch64` does with a parsed command line: the exit status, or a
/// one-line error.
pub fn run(options: SysOptions) -> Result<i32, String> {
    if let Some(f) = &options.log_file {
        crate::log::set_file(&f.to_string_lossy()).map_err(|e| {
            format!(
                "cannot open log file '{}': {}",
                f.display(),
                boot::io_msg(&e)
            )
        })?;
    }
    crate::log::enable(options.log_items);
    let machine = Machine::build(options)?;
    if let Some(path) = &machine.options.dumpdtb {
        std::fs::write(path, &machine.dtb).map_err(|e| {
            format!(
                "cannot write dtb '{}': {}",
                path.display(),
                boot::io_msg(&e)
            )
        })?;
        eprintln!("{PROG}: device tree written to {}", path.display());
        return Ok(0);
    }
    let boot = machine
        .boot
        .as_ref()
        .ok_or("no -kernel given: nothing to boot")?;
    let reset = boot.reset;
    let ram = machine.ram.as_ref().ok_or("no RAM")?;
    execute(&machine.options, ram, &reset)
}

/// Run the guest from `reset` until it powers off: the exit status.
fn execute(opts: &SysOptions, ram: &Ram, reset: &boot::ResetState) -> Result<i32, String> {
    // The vCPU the board's kick interrupts (its address, once it exists).
    let slot = Arc::new(AtomicUsize::new(0));
    let kick_slot = slot.clone();
    let kick: board::Kick = Arc::new(move |_cpu| {
        let p = kick_slot.load(Ordering::SeqCst);
        if p != 0 {
            crate::engine::raise_interrupt(p as *mut crate::arm64::cpu::Cpu, cpu::INT_IRQ);
        }
    });
    let board = Arc::new(board::Board::new(opts, 1, kick)?);
    // SAFETY: `ram` outlives the vCPU (both live until this function returns).
    let mmu = unsafe { mmu::Mmu::new(ram, board.bus()) };
    let mut sc = cpu::SysCpu::new(opts.cpu, 0, mmu);
    sc.mmu.log = opts.sys_log;
    sc.reset(reset);
    let engine = Arc::new(
        crate::engine::Engine::new(cpu::features(opts.cpu), Box::new(mmu::lower::SysLowering))
            .map_err(|e| e.0)?,
    );
    sc.mmu.attach(engine.clone());
    sc.sys.env.engine = Some(engine.clone());
    sc.sys.env.board = Some(board.clone());
    slot.store(&mut sc.cpu as *mut _ as usize, Ordering::SeqCst);
    engine.register_cpu(&mut sc.cpu);
    let mut psci = psci::Psci::new(1);
    let p: *mut cpu::SysCpu = &mut *sc;
    // SAFETY: `sc` lives until after the run loop returns.
    let mut fetch = unsafe { run::SysFetch::new(p) };
    let mut env = run::RunEnv {
        engine: engine.clone(),
        psci: &mut psci,
        no_reboot: opts.no_reboot,
        log: opts.sys_log,
    };
    let stop = run::run(&mut sc, &mut fetch, &mut env);
    slot.store(0, Ordering::SeqCst);
    engine.unregister_cpu(&mut sc.cpu);
    if crate::log::enabled(crate::log::Item::Stats) {
        crate::log::write(&engine.stats_report());
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    match stop {
        run::Stop::PowerOff | run::Stop::Quit => Ok(0),
        run::Stop::Reset => Err(format!(
            "the guest asked for a reset (PSCI SYSTEM_RESET), which is not implemented: \
             use -no-reboot to exit instead; see README.md, \"{README_SECTION}\""
        )),
    }
}
