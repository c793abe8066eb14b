//! ferrite: run arm64 (AArch64) Linux software on x86-64 Linux hosts.
//!
//! `ARCHITECTURE.md` at the repository root is the map of this crate: the pipeline,
//! the code map, the import rules, the environment interfaces and where to add an
//! instruction, a system call or (later) a device. `README.md` covers usage.
//!
//! The pipeline, shared by user mode and (later) system mode:
//!
//! ```text
//! guest bytes ─decode─▶ A64 instruction ─lift─▶ IR block ─optimise─▶ IR ─emit─▶ x86-64 code
//!                                                                          │
//!            dispatcher ◀── exit reason (syscall, exception, branch, interrupt) ┘
//! ```
//!
//! Modules and who may use whom:
//! - [`arm64`]: the guest ISA — decode table, lifters by encoding group, CPU state,
//!   disassembler. Uses [`ir`] only.
//! - [`ir`]: IR types, builder and passes. Uses nothing else.
//! - [`x64`]: the backend (IR → x86-64 with dynasm). Uses [`ir`] and the CPU-state
//!   layout from [`arm64::cpu`].
//! - [`engine`]: code cache, block map, dispatcher, chaining, invalidation and fault
//!   attribution. Uses the three above; talks to its environment only through the
//!   [`x64::MemLowering`] and [`engine::Fetch`] traits and the [`engine::Exit`] it returns.
//! - [`linux`]: user mode — loader, guest memory map, syscalls, signals, /proc, CLI.
//!   Uses everything above. `arm64`, `ir` and `x64` never import `linux`.
//! - [`system`]: system mode (`ferrite-system-aarch64`, QEMU's `virt` machine) — CLI,
//!   guest physical memory, boot protocol, device tree. Uses everything above but
//!   `linux`; `arm64`, `ir`, `x64`, `engine` and `linux` never import `system`.
//! - [`gdb`]: the GDB remote protocol (`-g`) over the [`gdb::Debuggee`] trait an
//!   environment implements. Uses [`arm64`] only; [`linux`] (and later [`system`])
//!   use it.
//! - [`log`]: `-d`/`-D` diagnostics, usable by all.

// The compiler keeps the unsafe-code rules: every unsafe operation inside an `unsafe fn`
// sits in its own `unsafe {}` block, and every unsafe block says why it is sound.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod arm64;
pub mod engine;
pub mod gdb;
pub mod ir;
pub mod linux;
pub mod log;
pub mod system;
pub mod x64;
