//! The memory-management unit of the system machine: the VMSAv8-64 stage-1 page-table
//! walker for the EL1&0 regime ([`walk`]), the software TLB that generated code probes
//! inline ([`tlb`]), and [`Mmu`], the per-vCPU state that ties them to guest RAM and the
//! MMIO bus. The memory lowering that generated code uses is in [`lower`].
//!
//! ## How the CPU finds its MMU
//! Generated code has `rbp` = the vCPU's [`Cpu`]. System mode allocates the `Cpu` as the
//! first field of a `#[repr(C)]` struct whose second field is the [`Mmu`], at byte offset
//! [`MMU_OFFSET`] (sysrun's `SysCpu`; the tests here use the same shape). The [`Tlb`] is the
//! first field of the `Mmu`, so the inline probe reads entries at
//! `rbp + MMU_OFFSET + Tlb::table_offset(idx) + slot * 32`, and every slow path reaches
//! the `Mmu` from the `Cpu` pointer it is given ([`mmu_of`]).
//!
//! ## Interface for the run loop (sysrun)
//! - [`Mmu::new`] with the machine's RAM and the board's `Arc<Bus>`.
//! - `mmu.el` is the current exception level: keep it up to date on exception entry and
//!   ERET (it selects EC 0x24/0x25, 0x20/0x21 and the MMU index of the slow paths).
//! - MSR to SCTLR_EL1/TCR_EL1/TTBR0_EL1/TTBR1_EL1/MAIR_EL1: [`Mmu::write_reg`] (it
//!   flushes the TLB as needed; reads come from `mmu.regs`).
//! - TLBI: [`Mmu::tlbi`]; instruction fetch for the lifter: [`Mmu::fetch`].
//! - The engine is built with `Engine::new(features, Box::new(lower::SysLowering))`.
//! - A data abort leaves generated code as `Exit::Exception(e)` with `e.esr`/`e.far`
//!   final (EC 0x24 from EL0, 0x25 from EL1, DFSC with level, WnR; FAR = the VA), `cpu.pc`
//!   the faulting instruction and registers as before it.
//! - Code pages (design §3.5): the engine must be shared (`Arc<Engine>`) and given to
//!   [`Mmu::attach`]. The `engine::Fetch` impl takes words from [`Mmu::fetch`] (which
//!   marks the physical page as holding code) and answers `code_page(pc)` with
//!   [`Mmu::code_page`]: blocks are then keyed by physical page too, so the same VA in
//!   another address space is another translation, stores into a code page (through
//!   any mapping, from generated code or a helper) drop that page's blocks, direct
//!   branches chain only within a page, and TLB flushes drop the indirect-branch
//!   entries. A block must not run on after a TLBI or a translation-register write
//!   that may remap its own page: end it (`Resync`, e.g. at the ISB that follows).
//!   `Fetch::icache_page(va)` answers with `Some(`[`Mmu::icache_page`]`)`, so IC IVAU
//!   drops the blocks of the physical page the line is in, whichever VA they run at
//!   (and costs no scan of every block). Whoever writes RAM behind the MMU's back once
//!   code runs (device DMA) must drop the blocks of the pages it writes
//!   ([`CodePages`], `Engine::invalidate_code_page`), or rely on the guest's IC IVAU.

pub mod lower;
pub mod tlb;
pub mod walk;

use std::sync::Arc;

use crate::arm64::cpu::{ec, esr, Cpu, Exception};
use crate::engine::Engine;
use crate::system::bus::Bus;
use crate::system::cli::D_MMU;
use crate::system::memory::{CodePages, Ram, RAM_BASE};
use tlb::{Backing, MmuIdx, Tlb, Tlbi, TLB_INVALID, TLB_MMIO, TLB_NOTDIRTY};
use walk::{AccessKind, Fault, Regime};

/// Byte offset of the [`Mmu`] from the [`Cpu`] in system mode's vCPU struct
/// (`#[repr(C)] { cpu: Cpu, mmu: Mmu, … }`): the size of `Cpu` rounded up to the
/// alignment of `Mmu`.
pub const MMU_OFFSET: usize = {
    let a = std::mem::align_of::<Mmu>();
    std::mem::size_of::<Cpu>().div_ceil(a) * a
};

/// The `Mmu` of a system-mode vCPU, from its `Cpu` pointer.
///
/// # Safety
/// `cpu` must be the first field of a `#[repr(C)]` struct with an [`Mmu`] at
/// [`MMU_OFFSET`] (see the module docs), and the caller must not create another
/// reference to that `Mmu` while the result is used.
pub unsafe fn mmu_of<'a>(cpu: *mut Cpu) -> &'a mut Mmu {
    // SAFETY: the caller's contract: the Mmu lives at this offset from the Cpu.
    unsafe { &mut *(cpu as *mut u8).add(MMU_OFFSET).cast::<Mmu>() }
}

// SCTLR_EL1 bits the MMU reads.
/// SCTLR_EL1.M: stage-1 translation on.
pub const SCTLR_M: u64 = 1 << 0;
/// SCTLR_EL1.WXN: writable implies execute-never.
pub const SCTLR_WXN: u64 = 1 << 19;

/// The EL1&0 translation registers, as last written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct MmuRegs {
    pub sctlr: u64,
    pub tcr: u64,
    pub ttbr0: u64,
    pub ttbr1: u64,
    pub mair: u64,
}

/// One of [`MmuRegs`], for [`Mmu::write_reg`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MmuReg {
    Sctlr,
    Tcr,
    Ttbr0,
    Ttbr1,
    Mair,
}

/// Where a translated access goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// RAM, at this host address.
    Ram(*mut u8),
    /// Not RAM (a device or nothing), at this physical address.
    Io(u64),
}

/// Counters for `-d stats`.
#[derive(Clone, Copy, Debug, Default)]
pub struct MmuStats {
    /// Page-table walks (TLB refills) by the slow paths and fetches.
    pub walks: u64,
    /// Accesses completed in the slow path (MMIO, page-crossing, not-dirty, tagged).
    pub slow: u64,
    /// MMIO accesses.
    pub mmio: u64,
    /// Synchronous aborts raised.
    pub aborts: u64,
    /// Stores into pages holding translated code (each dropped the page's blocks).
    pub code_writes: u64,
}

/// The MMU state of one vCPU: its TLB (first, probed by generated code), the
/// translation registers, the current EL, and the way to guest RAM and devices.
#[repr(C)]
pub struct Mmu {
    /// Probed by generated code at `rbp + MMU_OFFSET`: must stay the first field.
    pub tlb: Tlb,
    pub regs: MmuRegs,
    /// The current exception level (0 or 1), kept up to date by the run loop.
    pub el: u8,
    /// Host address of guest physical [`RAM_BASE`], and the RAM size.
    ram_host: *mut u8,
    ram_size: u64,
    bus: Arc<Bus>,
    /// RAM pages holding translated code (see [`CodePages`]).
    code: Arc<CodePages>,
    /// The engine running this vCPU, to drop translations of written code pages and
    /// stale indirect-branch entries ([`Mmu::attach`]).
    engine: Option<Arc<Engine>>,
    pub stats: MmuStats,
    /// `-d` system items ([`SysOptions::sys_log`](crate::system::cli::SysOptions)):
    /// `mmu` logs faults, `guest_errors` accesses to unassigned addresses.
    pub log: u32,
}

// SAFETY: the raw pointer is the machine's RAM mapping, shared by design with the
// generated code of every vCPU (like the `Cpu`'s own guest memory in user mode); the
// Mmu itself is owned by one vCPU thread at a time.
unsafe impl Send for Mmu {}

impl Mmu {
    /// The MMU of a vCPU in reset state (MMU off, EL1) on `ram` and `bus`.
    ///
    /// # Safety
    /// `ram`'s mapping must outlive the `Mmu` (generated code and the slow paths
    /// access it through the host address kept here).
    pub unsafe fn new(ram: &Ram, bus: Arc<Bus>) -> Mmu {
        Mmu {
            tlb: Tlb::empty(),
            regs: MmuRegs::default(),
            el: 1,
            ram_host: ram.host_base(),
            ram_size: ram.size(),
            bus,
            code: Arc::new(CodePages::new(ram.size())),
            engine: None,
            stats: MmuStats::default(),
            log: 0,
        }
    }

    /// Connects the engine that runs this vCPU's code: stores into pages holding code
    /// then drop their translations ([`Engine::invalidate_code_page`]), and TLB flushes
    /// drop indirect-branch entries ([`Engine::flush_indirect`]). Without it (tests of
    /// data accesses only) code pages are not tracked.
    pub fn attach(&mut self, engine: Arc<Engine>) {
        self.engine = Some(engine);
    }

    /// The code-page bitmap, to share with other vCPUs' MMUs ([`Mmu::share_code_pages`]).
    pub fn code_pages(&self) -> Arc<CodePages> {
        self.code.clone()
    }

    /// Uses `code` (another vCPU's bitmap) as this MMU's code-page bitmap.
    pub fn share_code_pages(&mut self, code: Arc<CodePages>) {
        self.code = code;
    }

    /// Writes the message `f` makes to the log when `-d` item `item` is on.
    pub(crate) fn log_if(&self, item: u32, f: impl FnOnce() -> String) {
        if self.log & item != 0 {
            crate::log::write(&f());
        }
    }

    /// The `-d stats` line of this MMU's work.
    pub fn stats_report(&self) -> String {
        let s = &self.stats;
        format!(
            "ferrite stats: mmu: {} walks, {} TLB fills, {} full flushes; {} slow-path \
             accesses ({} MMIO); {} aborts; {} stores into code pages",
            s.walks, self.tlb.fills, self.tlb.full_flushes, s.slow, s.mmio, s.aborts, s.code_writes
        )
    }

    /// The bus MMIO accesses go to.
    pub fn bus(&self) -> &Arc<Bus> {
        &self.bus
    }

    /// Is stage-1 translation on?
    pub fn enabled(&self) -> bool {
        self.regs.sctlr & SCTLR_M != 0
    }

    fn regime(&self) -> Regime {
        Regime {
            tcr: self.regs.tcr,
            ttbr0: self.regs.ttbr0,
            ttbr1: self.regs.ttbr1,
            wxn: self.regs.sctlr & SCTLR_WXN != 0,
        }
    }

    /// Writes a translation register, flushing what its change makes stale (design
    /// §3.4): everything when SCTLR.M or WXN or TCR change; for TTBR0/TTBR1, the
    /// non-global entries when the active ASID changes and the entries of a VA half
    /// whose table base changes (so a context switch keeps the kernel's global
    /// entries). MAIR only selects attributes, which the TLB does not cache.
    pub fn write_reg(&mut self, r: MmuReg, v: u64) {
        let old = self.regs;
        match r {
            MmuReg::Sctlr => self.regs.sctlr = v,
            MmuReg::Tcr => self.regs.tcr = v,
            MmuReg::Ttbr0 => self.regs.ttbr0 = v,
            MmuReg::Ttbr1 => self.regs.ttbr1 = v,
            MmuReg::Mair => self.regs.mair = v,
        }
        let flush = match r {
            MmuReg::Sctlr => (old.sctlr ^ v) & (SCTLR_M | SCTLR_WXN) != 0,
            MmuReg::Tcr => old.tcr != v,
            MmuReg::Ttbr0 | MmuReg::Ttbr1 => {
                // The probe does not compare ASIDs: only the current ASID's entries
                // (and global ones) may be present. A new table base drops its half
                // (the architecture leaves that to the kernel's TLBIs; being stricter
                // is allowed and cheap). Global kernel entries survive a context switch.
                let asid = |regs: &MmuRegs| {
                    Regime {
                        tcr: regs.tcr,
                        ttbr0: regs.ttbr0,
                        ttbr1: regs.ttbr1,
                        wxn: false,
                    }
                    .asid()
                };
                let base = |ttbr: u64| ttbr & 0x0000_ffff_ffff_fffe;
                let mut changed = false;
                if asid(&old) != asid(&self.regs) {
                    self.tlb.flush_non_global();
                    changed = true;
                }
                if base(old.ttbr0) != base(self.regs.ttbr0) {
                    self.tlb.flush_half(false);
                    changed = true;
                }
                if base(old.ttbr1) != base(self.regs.ttbr1) {
                    self.tlb.flush_half(true);
                    changed = true;
                }
                if changed {
                    self.flush_indirect();
                }
                false
            }
            MmuReg::Mair => false,
        };
        if flush {
            self.flush_all();
        }
    }

    /// Drops every TLB entry, and the engine's indirect-branch entries found by VA.
    fn flush_all(&mut self) {
        self.tlb.flush_all();
        self.flush_indirect();
    }

    fn flush_indirect(&self) {
        if let Some(e) = &self.engine {
            e.flush_indirect();
        }
    }

    /// Performs `TLBI` for `SYS #op1, C8, Cm, #op2, Xt` with `op` = `op1 << 7 | crm << 3
    /// | op2` (the SYS operand fields below CRn). Returns false for a form this CPU does
    /// not implement (the instruction is then UNDEFINED).
    pub fn tlbi(&mut self, op: u32, xt: u64) -> bool {
        let (op1, crm, op2) = (op >> 7 & 7, op >> 3 & 15, op & 7);
        match Tlbi::decode(op1, crm, op2) {
            Some((t, _is)) => {
                let asid16 = self.regs.tcr & (1 << 36) != 0;
                self.tlb.tlbi(t, xt, asid16);
                self.flush_indirect();
                true
            }
            None => false,
        }
    }

    /// The MMU index data accesses use at the current EL (`unpriv`: LDTR/STTR).
    pub(crate) fn data_index(&self, unpriv: bool) -> MmuIdx {
        if self.el == 0 || unpriv {
            MmuIdx::El0
        } else {
            MmuIdx::El1
        }
    }

    /// The physical page's backing for a TLB fill.
    fn backing(&self, pa_page: u64) -> Backing {
        match pa_page.checked_sub(RAM_BASE) {
            Some(off) if off < self.ram_size => Backing::Ram {
                // SAFETY (arithmetic only): `off` is inside the RAM mapping.
                host_page: self.ram_host as u64 + off,
                notdirty: self.code.contains(pa_page),
            },
            _ => Backing::Mmio,
        }
    }

    /// Translates `va` for an access of `kind` at MMU index `idx`: from the TLB when it
    /// holds the page for that access, otherwise by a walk (or the flat map with the
    /// MMU off) that refills it. A tagged VA (TBI) is untagged first.
    pub(crate) fn lookup(
        &mut self,
        va: u64,
        kind: AccessKind,
        idx: MmuIdx,
    ) -> Result<Target, Fault> {
        let exec = kind == AccessKind::Exec;
        let regime = self.regime();
        let va = if regime.tbi(va, exec) {
            crate::arm64::untag(va)
        } else {
            va
        };
        let page = va & !0xfff;
        if let Some(t) = self.cached(va, page, kind, idx) {
            return Ok(t);
        }
        self.stats.walks += 1;
        let t = if self.enabled() {
            let access = walk::Access {
                kind,
                el0: idx == MmuIdx::El0,
                pan: false,
            };
            let (host, size) = (self.ram_host, self.ram_size);
            let mut read = |pa: u64| phys_u64(host, size, pa);
            walk::translate(&regime, va, access, &mut read)?
        } else {
            walk::flat(va)?
        };
        let backing = self.backing(t.pa & !0xfff);
        self.tlb.fill(idx, va, &t, backing);
        Ok(self
            .cached(va, page, kind, idx)
            .expect("a fresh TLB entry allows the access it was filled for"))
    }

    /// The target of `va` (untagged, in `page`) from the TLB entry for `kind`, if it
    /// holds that page for that access.
    fn cached(&mut self, va: u64, page: u64, kind: AccessKind, idx: MmuIdx) -> Option<Target> {
        let (e, info) = self.tlb.entry(idx, va)?;
        let tag = match kind {
            AccessKind::Read => e.read,
            AccessKind::Write => e.write,
            AccessKind::Exec => e.exec,
        };
        if tag & TLB_INVALID != 0 || tag & !0xfff != page {
            return None;
        }
        if tag & TLB_MMIO != 0 {
            return Some(Target::Io(info.pa_page | (va & 0xfff)));
        }
        if tag & TLB_NOTDIRTY != 0 {
            self.code_written(info.pa_page);
        }
        Some(Target::Ram(va.wrapping_add(e.addend) as *mut u8))
    }

    /// The data abort for `fault` on an access to `va` (`write`: WnR), taken from the
    /// current EL.
    pub(crate) fn data_abort(&mut self, fault: Fault, va: u64, write: bool) -> Exception {
        self.stats.aborts += 1;
        self.log_if(D_MMU, || {
            format!(
                "mmu: data abort at EL{}: {:?} fault, level {}, {} of {va:#x}",
                self.el,
                fault.kind,
                fault.level,
                if write { "write" } else { "read" }
            )
        });
        self.abort_syndrome(fault.status_code() as u64, va, write)
    }

    /// A data abort taken from the current EL (EC 0x24 from EL0, 0x25 from EL1) with
    /// data fault status `dfsc`, WnR from `write`, FAR = `va`.
    fn abort_syndrome(&self, dfsc: u64, va: u64, write: bool) -> Exception {
        let class = if self.el == 0 {
            ec::DABT_LOW
        } else {
            ec::DABT_CUR
        };
        let wnr = if write { esr::WNR } else { 0 };
        Exception::new(class, dfsc | wnr, va)
    }

    /// The instruction word at `va` for the lifter, with the physical address it was
    /// fetched from; an instruction abort (EC 0x20/0x21 by the current EL, IFSC, FAR =
    /// `va`) when the page may not be executed at the current EL or is not RAM.
    /// `va` must be 4-byte aligned (PC alignment faults are the caller's).
    pub fn fetch(&mut self, va: u64) -> Result<(u64, u32), Exception> {
        let idx = self.data_index(false);
        let class = if self.el == 0 {
            ec::IABT_LOW
        } else {
            ec::IABT_CUR
        };
        let abort = |fault: Fault| Exception::new(class, fault.status_code() as u64, va);
        let target = self.lookup(va, AccessKind::Exec, idx).map_err(abort)?;
        let Target::Ram(host) = target else {
            return Err(Exception::new(class, esr::FSC_SEA, va));
        };
        let off = host as u64 - self.ram_host as u64;
        // SAFETY: a RAM target is inside the RAM mapping; instructions are 4-aligned, so
        // the word does not leave the page (or the mapping).
        let word = unsafe { std::ptr::read_volatile(host.cast::<u32>()) };
        let pa = RAM_BASE + off;
        // The page now holds code (the lifter fetches only what it translates): its
        // writes go through the slow path from here on.
        if self.code.insert(pa) {
            self.tlb.set_notdirty(pa & !0xfff, true);
        }
        Ok((pa, u32::from_le(word)))
    }

    /// The code-page tag of `va` for [`crate::engine::Fetch::code_page`]: the physical
    /// page instruction fetches from `va` at the current EL reach, or 1 when they fault
    /// (a tag no page has, so the block that raises the fault is not reused once the
    /// page is mapped).
    pub fn code_page(&mut self, va: u64) -> u64 {
        let idx = self.data_index(false);
        match self.lookup(va, AccessKind::Exec, idx) {
            Ok(Target::Ram(host)) => (RAM_BASE + (host as u64 - self.ram_host as u64)) & !0xfff,
            _ => 1,
        }
    }

    /// The code-page tag for `IC IVAU` of `va` ([`crate::engine::Fetch::icache_page`]):
    /// the physical page a data read of `va` reaches at the current EL, whose
    /// translations go (0, which no page has, when `va` does not translate to RAM: then
    /// no translation can come from it). The page stops being a code page.
    pub fn icache_page(&mut self, va: u64) -> u64 {
        let idx = self.data_index(false);
        match self.lookup(va, AccessKind::Read, idx) {
            Ok(Target::Ram(host)) => {
                let pa_page = (RAM_BASE + (host as u64 - self.ram_host as u64)) & !0xfff;
                if self.code.remove(pa_page) {
                    self.tlb.set_notdirty(pa_page, false);
                }
                pa_page
            }
            _ => 0,
        }
    }

    /// A store is about to write physical page `pa_page`, which the TLB marks as holding
    /// code: drop the page's translations, then let stores through inline again.
    fn code_written(&mut self, pa_page: u64) {
        if self.code.remove(pa_page) {
            self.stats.code_writes += 1;
            if let Some(e) = &self.engine {
                e.invalidate_code_page(pa_page);
            }
        }
        self.tlb.set_notdirty(pa_page, false);
    }

    /// A synchronous external abort (DFSC 0x10) for an access to `va`: an unassigned
    /// physical address (QEMU's `virt` does the same: ESR 0x96000010 for an EL1 load
    /// from 0x0b000000, checked with qemu-system-aarch64 7.2), or an exclusive or
    /// atomic access to MMIO.
    pub(crate) fn external_abort(&mut self, va: u64, write: bool) -> Exception {
        self.stats.aborts += 1;
        self.abort_syndrome(esr::FSC_SEA, va, write)
    }

    /// `AT S1E1R/S1E1W/S1E0R/S1E0W, Xt` (`SYS #0, C7, C8, #op2`; `op` = `op1 << 7 | crm
    /// << 3 | op2` as for [`Mmu::tlbi`]): the PAR_EL1 value for a stage-1 translation of
    /// `va` checked for that access, or `None` for another form (UNDEFINED here: the
    /// PAN forms S1E1RP/S1E1WP need FEAT_PAN). The walk does not fill the TLB.
    ///
    /// PAR_EL1 (64-bit format; bit 11 is RES1): on success PA[47:12], NS (bit 9: the
    /// EL1&0 regime is Non-secure), SH (bits 8:7) and the MAIR attribute (bits 63:56);
    /// Device and Normal Non-cacheable memory report SH = 0b10 (Arm ARM, PAR_EL1.SH). On
    /// a fault: F (bit 0) and the fault status code in FST (bits 6:1).
    pub fn at(&mut self, op: u32, va: u64) -> Option<u64> {
        // op1 = 0, CRm = 8; op2 = 0..=3.
        let (kind, el0) = match (op >> 7, op >> 3 & 15, op & 7) {
            (0, 8, 0) => (AccessKind::Read, false),
            (0, 8, 1) => (AccessKind::Write, false),
            (0, 8, 2) => (AccessKind::Read, true),
            (0, 8, 3) => (AccessKind::Write, true),
            _ => return None,
        };
        let regime = self.regime();
        let result = if self.enabled() {
            let (host, size) = (self.ram_host, self.ram_size);
            let access = walk::Access {
                kind,
                el0,
                pan: false,
            };
            walk::translate(&regime, va, access, &mut |pa| phys_u64(host, size, pa))
        } else {
            walk::flat(if regime.tbi(va, false) {
                crate::arm64::untag(va)
            } else {
                va
            })
        };
        const RES1: u64 = 1 << 11;
        Some(match result {
            Ok(t) => {
                // MMU off: data accesses are Device-nGnRnE (attribute 0).
                let attr = t
                    .attr_index
                    .map_or(0, |i| (self.regs.mair >> (8 * i as u32)) & 0xff);
                let device_or_nc = attr & 0xf0 == 0 || attr == 0x44;
                let sh = if device_or_nc { 0b10 } else { t.sh as u64 };
                RES1 | (t.pa & 0x0000_ffff_ffff_f000) | (1 << 9) | (sh << 7) | (attr << 56)
            }
            Err(f) => RES1 | 1 | (f.status_code() as u64) << 1,
        })
    }

    /// The alignment fault (DFSC 0x21) of an exclusive or atomic access to `va`.
    pub(crate) fn alignment_fault(&mut self, va: u64, write: bool) -> Exception {
        self.stats.aborts += 1;
        self.abort_syndrome(esr::FSC_ALIGN, va, write)
    }

    /// Reads a descriptor-sized word of RAM (for `AT` and tests).
    pub fn read_phys_u64(&self, pa: u64) -> Option<u64> {
        phys_u64(self.ram_host, self.ram_size, pa)
    }
}

/// The little-endian u64 at physical `pa` (8-aligned) of the RAM mapped at `host` with
/// `size` bytes, or `None` outside RAM.
fn phys_u64(host: *mut u8, size: u64, pa: u64) -> Option<u64> {
    let off = pa.checked_sub(RAM_BASE)?;
    if off.checked_add(8)? > size || pa & 7 != 0 {
        return None;
    }
    // SAFETY: `off..off + 8` is inside the RAM mapping (which outlives every Mmu, see
    // `Mmu::new`), aligned; the guest may write descriptors concurrently, so read them
    // as one atomic access.
    let v = unsafe {
        std::sync::atomic::AtomicU64::from_ptr(host.add(off as usize).cast())
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    Some(u64::from_le(v))
}

#[cfg(test)]
mod tests;
