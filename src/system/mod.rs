//! System mode: `ferrite-system-aarch64`, a whole arm64 machine (QEMU's `virt` board)
//! instead of one Linux process.
//!
//! In user mode ([`crate::linux`]) the guest is a program and the host kernel does the
//! operating system's work. In system mode the guest is the operating system: an arm64
//! kernel boots at EL1 on an emulated CPU with its own MMU, and talks to emulated devices
//! (interrupt controller, timer, UART, RTC, virtio) placed at the physical addresses of
//! QEMU's `virt` machine, which it learns from a device tree. The same decoder, lifters,
//! IR and backend run the guest code; only the memory lowering, the EL0/EL1 state and the
//! exits differ (see `SYSTEM-DESIGN.md` in the shared docs).
//!
//! This build has the parts that need no CPU: the command line (`cli`), guest physical
//! memory and the machine map (`memory`), the boot protocol — kernel `Image`/raw
//! loading, initrd and DTB placement, the reset state (`boot`) — and the device tree
//! (`fdt`). Running guest code is not implemented yet: `Machine::build` prepares
//! everything a boot needs and stops there.
//!
//! Layout (planned modules in brackets):
//! - `cli`: QEMU-spelled options → [`cli::SysOptions`].
//! - `memory`: RAM (one anonymous mapping at 0x4000_0000) and the region map.
//! - `boot`: loading the kernel, initrd and DTB into RAM; the register state at entry.
//! - `fdt`: the `virt` device tree (built with `vm-fdt`), `-dtb` patching, `dumpdtb`.
//! - [`dev`: device models; `mmu`: walker and TLB; CPU, sysregs, exceptions, PSCI.]
//!
//! Who may use whom: `system` uses [`crate::arm64`], [`crate::ir`], [`crate::x64`],
//! [`crate::engine`] and [`crate::log`]; none of those ever imports `system` (nor does
//! [`crate::linux`]). Within `system`, `cli` uses only `memory`'s constants; `boot` uses
//! `memory` and gets the device tree from its caller; `fdt` uses `memory` for the machine
//! map only.

pub mod boot;
pub mod cli;
pub mod fdt;
pub mod memory;
