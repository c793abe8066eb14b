//! System mode's memory lowering ([`SysLowering`]): the inline software-TLB probe that
//! generated code runs before every guest access, and the Rust slow paths behind it.
//!
//! ## The probe (design §3.3)
//! With the guest VA in `rax`, for an access of `size` bytes at MMU index `idx` (EL0
//! when the block's context is EL0 or the access is unprivileged, LDTR/STTR; EL1
//! otherwise):
//! ```text
//! lea rdx,[rax+size-1] ; and rdx,-4096     ; page of the last byte (mov for size 1)
//! mov r15,rax ; shr r15,7 ; and r15d,0x7fe0 ; slot * 32
//! cmp rdx,[rbp+r15+T+tag] ; jne slow        ; T = MMU_OFFSET + table of idx
//! add rax,[rbp+r15+T+24]                    ; + addend = host address
//! ```
//! Comparing the last byte's page sends page-crossing accesses to the slow path; a tag
//! with flag bits (MMIO, not-dirty, invalid) or of a tagged pointer never matches.
//!
//! ## The slow paths
//! [`slow_load`]/[`slow_store`] do the whole access in Rust: translate each page the
//! access touches (TLB, else a walk that refills it; both pages before anything is
//! read or written), then RAM through the host mapping or MMIO through the [`Bus`].
//! A translation or permission fault, or an unassigned physical address (external
//! abort, as QEMU's `virt` does), is recorded in `cpu.exception` as a data abort
//! (see [`Mmu::data_abort`]): the stub then leaves the block with `Exit::Exception` at
//! the access's PC with the guest registers as before it. For an access that crosses
//! into a second page that faults, FAR is the first byte of that page (as QEMU reports).
//!
//! [`translate`] is the helpers' door (exclusives, atomics, CAS, DC ZVA): the host
//! address of an aligned access within one page through the same TLB, or an exception;
//! MMIO gives an external abort there (Linux never does atomics on devices).

// dynasm's register macros convert their operand with `.into()`.
#![allow(clippy::useless_conversion)]

use std::ptr::NonNull;

use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi};

use super::tlb::{Entry, MmuIdx, Tlb, TLB_SIZE};
use super::walk::AccessKind;
use super::{mmu_of, Mmu, Target, MMU_OFFSET};
use crate::arm64::cpu::{Cpu, Exception, MemTranslateFn, VReg};
use crate::ir::Ctx;
use crate::system::bus::Bus;
use crate::system::cli::D_GUEST_ERRORS;
use crate::x64::{info, Access, Asm, MemLowering, SlowPath, SlowResult};

/// System mode's [`MemLowering`]: see the module docs. Blocks must be translated for a
/// context whose EL ([`Ctx::el`]) is the EL they run at.
pub struct SysLowering;

/// The MMU index of an access in a block of context `ctx`.
fn index_of(ctx: Ctx, unpriv: bool) -> MmuIdx {
    if ctx.el() == 0 || unpriv {
        MmuIdx::El0
    } else {
        MmuIdx::El1
    }
}

impl MemLowering for SysLowering {
    fn probe(&self, asm: &mut Asm, ctx: Ctx, reg: u8, acc: Access, slow: Option<DynamicLabel>) {
        let slow = slow.expect("SysLowering has a slow path");
        let table = (MMU_OFFSET + Tlb::table_offset(index_of(ctx, acc.unpriv))) as i32;
        let tag = table
            + if acc.write {
                Entry::WRITE_OFFSET
            } else {
                Entry::READ_OFFSET
            } as i32;
        let addend = table + Entry::ADDEND_OFFSET as i32;
        let last = acc.size as i32 - 1;
        if last == 0 {
            dynasm!(asm ; .arch x64 ; mov rdx, Rq(reg));
        } else {
            dynasm!(asm ; .arch x64 ; lea rdx, [Rq(reg) + last]);
        }
        let slots = ((TLB_SIZE - 1) << 5) as i32;
        dynasm!(asm
            ; .arch x64
            ; and rdx, -4096
            ; mov r15, Rq(reg)
            ; shr r15, 7
            ; and r15d, slots
            ; cmp rdx, QWORD [rbp + r15 + tag]
            ; jne =>slow
            ; add Rq(reg), QWORD [rbp + r15 + addend]
        );
    }

    fn slow_path(&self) -> Option<SlowPath> {
        Some(SlowPath {
            load: slow_load,
            store: slow_store,
        })
    }

    fn helper_translate(&self) -> Option<MemTranslateFn> {
        Some(translate)
    }
}

const _: () = {
    // The probe's slot arithmetic: `shr 7` then `and (N-1)<<5` is `(va >> 12) % N * 32`.
    assert!(std::mem::size_of::<Entry>() == 32);
    assert!(TLB_SIZE.is_power_of_two());
    // The TLB's tables sit at the start of the Mmu.
    assert!(std::mem::offset_of!(Mmu, tlb) == 0);
    assert!(std::mem::offset_of!(Tlb, tables) == 0);
};

/// Is the device window at `pa` mapped on the bus?
fn mapped(bus: &Bus, pa: u64) -> bool {
    bus.find(pa).is_some()
}

impl Mmu {
    /// Translates the one or two pages of an access of `len` bytes at `va`: the target
    /// of each part and its length, or the data abort. Nothing is accessed here, so a
    /// fault in the second page leaves the first untouched; an unassigned physical
    /// address is an external abort.
    fn targets(
        &mut self,
        va: u64,
        len: usize,
        kind: AccessKind,
        idx: MmuIdx,
    ) -> Result<[(Target, u64, usize); 2], Exception> {
        let write = kind == AccessKind::Write;
        let first = len.min(0x1000 - (va & 0xfff) as usize);
        let mut parts = [(Target::Io(0), va, first), (Target::Io(0), 0, 0)];
        if first < len {
            parts[1] = (Target::Io(0), va.wrapping_add(first as u64), len - first);
        }
        for part in parts.iter_mut().filter(|p| p.2 != 0) {
            let t = self
                .lookup(part.1, kind, idx)
                .map_err(|f| self.data_abort(f, part.1, write))?;
            if let Target::Io(pa) = t {
                if !mapped(&self.bus, pa) {
                    self.log_if(D_GUEST_ERRORS, || {
                        format!(
                            "{} of {len} bytes at unassigned physical address {pa:#x} (VA {:#x})",
                            if write { "write" } else { "read" },
                            part.1
                        )
                    });
                    return Err(self.external_abort(part.1, write));
                }
            }
            part.0 = t;
        }
        Ok(parts)
    }

    /// Reads `buf.len()` (1..=16) bytes at `va` with MMU index `idx`.
    pub(crate) fn read(&mut self, va: u64, buf: &mut [u8], idx: MmuIdx) -> Result<(), Exception> {
        self.stats.slow += 1;
        let parts = self.targets(va, buf.len(), AccessKind::Read, idx)?;
        let mut at = 0;
        for (t, _, n) in parts.into_iter().filter(|p| p.2 != 0) {
            let dst = &mut buf[at..at + n];
            match t {
                // SAFETY: a RAM target has `n` bytes of the RAM mapping behind it (the
                // part does not leave its page).
                Target::Ram(p) => unsafe { read_ram(p, dst) },
                Target::Io(pa) => self.mmio_read(pa, dst),
            }
            at += n;
        }
        Ok(())
    }

    /// Writes `data` (1..=16 bytes) at `va` with MMU index `idx`.
    pub(crate) fn write(&mut self, va: u64, data: &[u8], idx: MmuIdx) -> Result<(), Exception> {
        self.stats.slow += 1;
        let parts = self.targets(va, data.len(), AccessKind::Write, idx)?;
        let mut at = 0;
        for (t, _, n) in parts.into_iter().filter(|p| p.2 != 0) {
            let src = &data[at..at + n];
            match t {
                // SAFETY: as in `read`.
                Target::Ram(p) => unsafe { write_ram(p, src) },
                Target::Io(pa) => self.mmio_write(pa, src),
            }
            at += n;
        }
        Ok(())
    }

    /// Device reads in the largest naturally sized pieces (a 16-byte vector access is
    /// two 8-byte ones; a part of a page-crossing access is read byte by byte).
    fn mmio_read(&mut self, pa: u64, dst: &mut [u8]) {
        self.stats.mmio += 1;
        let mut at = 0;
        while at < dst.len() {
            let n = piece(dst.len() - at);
            let v = self.bus.read(pa + at as u64, n as u8).unwrap_or(0);
            dst[at..at + n].copy_from_slice(&v.to_le_bytes()[..n]);
            at += n;
        }
    }

    fn mmio_write(&mut self, pa: u64, src: &[u8]) {
        self.stats.mmio += 1;
        let mut at = 0;
        while at < src.len() {
            let n = piece(src.len() - at);
            let mut b = [0u8; 8];
            b[..n].copy_from_slice(&src[at..at + n]);
            self.bus
                .write(pa + at as u64, n as u8, u64::from_le_bytes(b));
            at += n;
        }
    }
}

/// The size of the next device access for `left` bytes: 8, 4, 2 or 1 when that is all
/// that is left, else 8 for a 16-byte access and bytes otherwise.
fn piece(left: usize) -> usize {
    match left {
        1 | 2 | 4 | 8 => left,
        l if l >= 8 && l % 8 == 0 => 8,
        _ => 1,
    }
}

/// Reads RAM at host `p` into `dst`: one host access when the size is 1, 2, 4 or 8 and
/// `p` is aligned (single-copy atomic, like the fast path's), bytes otherwise.
///
/// # Safety
/// `p` must be valid for `dst.len()` bytes of reads.
unsafe fn read_ram(p: *mut u8, dst: &mut [u8]) {
    let aligned = (p as usize).is_multiple_of(dst.len());
    // SAFETY: the caller's contract; the guest may race with these accesses (another
    // vCPU or a device), so they are volatile rather than plain reads.
    unsafe {
        match (dst.len(), aligned) {
            (1, _) => dst[0] = std::ptr::read_volatile(p),
            (2, true) => {
                dst.copy_from_slice(&std::ptr::read_volatile(p.cast::<u16>()).to_ne_bytes())
            }
            (4, true) => {
                dst.copy_from_slice(&std::ptr::read_volatile(p.cast::<u32>()).to_ne_bytes())
            }
            (8, true) => {
                dst.copy_from_slice(&std::ptr::read_volatile(p.cast::<u64>()).to_ne_bytes())
            }
            _ => std::ptr::copy_nonoverlapping(p, dst.as_mut_ptr(), dst.len()),
        }
    }
}

/// Writes `src` to RAM at host `p` (as [`read_ram`]).
///
/// # Safety
/// `p` must be valid for `src.len()` bytes of writes.
unsafe fn write_ram(p: *mut u8, src: &[u8]) {
    let aligned = (p as usize).is_multiple_of(src.len());
    // SAFETY: the caller's contract.
    unsafe {
        match (src.len(), aligned) {
            (1, _) => std::ptr::write_volatile(p, src[0]),
            (2, true) => {
                std::ptr::write_volatile(p.cast::<u16>(), u16::from_ne_bytes([src[0], src[1]]))
            }
            (4, true) => std::ptr::write_volatile(
                p.cast::<u32>(),
                u32::from_ne_bytes(src.try_into().unwrap_or_default()),
            ),
            (8, true) => std::ptr::write_volatile(
                p.cast::<u64>(),
                u64::from_ne_bytes(src.try_into().unwrap_or_default()),
            ),
            _ => std::ptr::copy_nonoverlapping(src.as_ptr(), p, src.len()),
        }
    }
}

/// The vector register number of a vector access's `info`.
fn vreg(inf: u64) -> usize {
    ((inf >> info::VREG_SHIFT) & 31) as usize
}

const FAULT: SlowResult = SlowResult { value: 0, fault: 1 };

/// The slow load (see the module docs).
///
/// # Safety
/// `cpu` is the running vCPU's `Cpu`, laid out with its [`Mmu`] as [`mmu_of`] requires.
pub(crate) unsafe extern "sysv64" fn slow_load(
    cpu: *mut Cpu,
    va: u64,
    inf: u64,
    _pc: u64,
) -> SlowResult {
    // SAFETY: the caller's contract; the Mmu and the Cpu are disjoint fields.
    let (mmu, cpu) = unsafe { (mmu_of(cpu), &mut *cpu) };
    let size = (inf & info::SIZE_MASK) as usize;
    let idx = mmu.data_index(inf & info::UNPRIV != 0);
    let mut b = [0u8; 16];
    if let Err(e) = mmu.read(va, &mut b[..size], idx) {
        cpu.exception = e;
        return FAULT;
    }
    if inf & info::VECTOR != 0 {
        cpu.v[vreg(inf)] = VReg::from_bytes(b);
        return SlowResult::default();
    }
    let raw = u64::from_le_bytes(b[..8].try_into().unwrap_or_default());
    let value = match (size, inf & info::SIGNED != 0) {
        (1, false) => raw as u8 as u64,
        (1, true) => raw as u8 as i8 as i64 as u64,
        (2, false) => raw as u16 as u64,
        (2, true) => raw as u16 as i16 as i64 as u64,
        (4, false) => raw as u32 as u64,
        (4, true) => raw as u32 as i32 as i64 as u64,
        _ => raw,
    };
    SlowResult { value, fault: 0 }
}

/// The slow store (see the module docs).
///
/// # Safety
/// As [`slow_load`].
pub(crate) unsafe extern "sysv64" fn slow_store(
    cpu: *mut Cpu,
    va: u64,
    value: u64,
    inf: u64,
    _pc: u64,
) -> SlowResult {
    // SAFETY: as in `slow_load`.
    let (mmu, cpu) = unsafe { (mmu_of(cpu), &mut *cpu) };
    let size = (inf & info::SIZE_MASK) as usize;
    let idx = mmu.data_index(inf & info::UNPRIV != 0);
    let bytes = if inf & info::VECTOR != 0 {
        cpu.v[vreg(inf)].bytes()
    } else {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&value.to_le_bytes());
        b
    };
    if let Err(e) = mmu.write(va, &bytes[..size], idx) {
        cpu.exception = e;
        return FAULT;
    }
    if inf & info::RELEASE != 0 {
        // The fast path's `xchg` is a full barrier.
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
    }
    SlowResult::default()
}

/// The helpers' translation ([`crate::arm64::cpu::Cpu::translate`]): the host address of
/// `size` bytes at `va` for a read or a write at the current EL, or `None` with the data
/// abort recorded: an alignment fault (DFSC 0x21) unless `va` is `size`-aligned (so the
/// access is within one page), then translation and permission faults, and an external
/// abort for MMIO.
///
/// # Safety
/// As [`slow_load`].
pub(crate) unsafe extern "sysv64" fn translate(
    cpu: *mut Cpu,
    va: u64,
    size: u64,
    write: bool,
) -> Option<NonNull<u8>> {
    // SAFETY: as in `slow_load`.
    let (mmu, cpu) = unsafe { (mmu_of(cpu), &mut *cpu) };
    let kind = if write {
        AccessKind::Write
    } else {
        AccessKind::Read
    };
    if va & (size - 1) != 0 {
        // Exclusives and atomics (the helpers that call this) need natural alignment;
        // it is checked before the translation.
        cpu.monitor.addr = u64::MAX;
        cpu.exception = mmu.alignment_fault(va, write);
        return None;
    }
    let idx = mmu.data_index(false);
    let within = (va & 0xfff) + size <= 0x1000;
    match mmu.lookup(va, kind, idx) {
        Ok(Target::Ram(p)) if within => NonNull::new(p),
        Ok(_) => {
            cpu.exception = mmu.external_abort(va, write);
            None
        }
        Err(f) => {
            cpu.exception = mmu.data_abort(f, va, write);
            None
        }
    }
}
