//! Guest memory accesses: the environment's [`MemLowering`] and the one emitter every
//! guest load and store goes through ([`Emitter::guest_access`]).
//!
//! An access computes the guest address in `rax` (folding address arithmetic, see
//! [`super::analysis::fuse_addresses`]), lets the lowering turn it into a host address
//! ([`MemLowering::probe`]), then does the access with one host instruction through
//! `[rax]`. A lowering with a slow path ([`MemLowering::slow_path`]) may instead jump
//! to a stub emitted after the block body, one per access site: the stub saves the
//! caller-saved pool registers live there, calls the environment's slow load or store
//! with the guest PC as an immediate, restores them, puts a loaded value where the
//! fast path would have, and jumps back behind the access — or, when the environment
//! recorded a synchronous exception, leaves the block with [`exit::EXCEPTION`].
//!
//! Guest registers in the `Cpu` are exact at every access (the backend writes them
//! before each operation that may fault), so both a host fault on the fast path and an
//! exception from the slow path see the architectural state of the instruction.

use std::sync::atomic::Ordering;

use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi};

use super::{caller_saved, exit, Asm, Emitter, Loc, POOL, RAX, RCX};
use crate::arm64::cpu::{off, Cpu};
use crate::ir::{Ctx, Op, Order, Val, W};

/// One guest access, as the lowering sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    /// Bytes accessed: 1, 2, 4, 8 or 16.
    pub size: u8,
    pub write: bool,
    /// LDTR/STTR: checked with EL0 permissions (see [`crate::ir::Op::Load`]).
    pub unpriv: bool,
}

/// What a slow load or store returns (in `rax`:`rdx`, the SysV return of a 16-byte
/// struct of two integers).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SlowResult {
    /// The loaded value, zero- or sign-extended to 64 bits (0 for stores and vector
    /// loads).
    pub value: u64,
    /// Non-zero when the access raised a synchronous exception, recorded in
    /// `cpu.exception` (the stub then leaves the block with [`exit::EXCEPTION`] at the
    /// access's guest PC).
    pub fault: u64,
}

/// `slow_load(cpu, va, info, guest_pc)`; for a vector load ([`info::VECTOR`]) the
/// environment writes the vector register itself (zeroing the bytes above `size`).
pub type SlowLoadFn = unsafe extern "sysv64" fn(*mut Cpu, u64, u64, u64) -> SlowResult;
/// `slow_store(cpu, va, value, info, guest_pc)`; for a vector store the value is read
/// from the vector register named in `info`.
pub type SlowStoreFn = unsafe extern "sysv64" fn(*mut Cpu, u64, u64, u64, u64) -> SlowResult;

/// The environment's slow-path entries.
#[derive(Clone, Copy, Debug)]
pub struct SlowPath {
    pub load: SlowLoadFn,
    pub store: SlowStoreFn,
}

/// The `info` word passed to the slow path: what the access is.
pub mod info {
    /// Bits 0..=7: the size in bytes (1, 2, 4, 8, 16).
    pub const SIZE_MASK: u64 = 0xff;
    /// The load sign-extends its value to 64 bits.
    pub const SIGNED: u64 = 1 << 8;
    /// The access is a store.
    pub const WRITE: u64 = 1 << 9;
    /// The access moves a vector register (bits 16..=20 say which) rather than a value.
    pub const VECTOR: u64 = 1 << 10;
    /// The access is a release store (ordered after earlier accesses, `STLR`).
    pub const RELEASE: u64 = 1 << 11;
    /// The access is unprivileged (LDTR/STTR): EL0 permissions even at EL1.
    pub const UNPRIV: u64 = 1 << 12;
    /// Shift of the vector register number.
    pub const VREG_SHIFT: u32 = 16;
}

/// How guest memory accesses become host accesses. User mode maps guest addresses 1:1
/// and emits nothing; system mode emits an inline TLB probe with a slow path.
pub trait MemLowering {
    /// Emit code that turns the guest virtual address in host register `reg` (always
    /// `rax` today) into a host address in the same register for `acc`, in a block
    /// translated for context `ctx` (whose low bits, [`Ctx::lowering`], are this
    /// lowering's to define), and falls
    /// through; or, when the lowering has a slow path (`slow` is then `Some`), jumps to
    /// `slow` with the guest address still in `reg`. The code may clobber only `rdx`
    /// and, when [`MemLowering::uses_r15`], `r15`.
    fn probe(&self, asm: &mut Asm, ctx: Ctx, reg: u8, acc: Access, slow: Option<DynamicLabel>);

    /// The environment's slow load and store, or `None` when every access completes on
    /// the fast path (user mode: a host fault is the guest's fault).
    fn slow_path(&self) -> Option<SlowPath> {
        None
    }

    /// The translation helpers use for the guest memory they access themselves
    /// (exclusives, atomics, DC ZVA; see [`Cpu::translate`]), or `None` for 1:1 after
    /// Top Byte Ignore (user mode).
    fn helper_translate(&self) -> Option<crate::arm64::cpu::MemTranslateFn> {
        None
    }

    /// Does the emitted code use `r15` (which the register allocator then leaves alone)?
    fn uses_r15(&self) -> bool {
        true
    }
}

/// User-mode lowering: guest address = host address. Top Byte Ignore (see
/// [`crate::arm64::untag`]: bits 63:56 become copies of bit 55) is applied only in
/// blocks translated for a context with [`Identity::UNTAG`]. User mode sets it in its
/// context once the process has used a tagged pointer: until then an access through
/// one is a non-canonical address, which x86 faults on, and the environment's fault
/// handler switches its context, has every block translated again
/// ([`exit::RETRANSLATE`]) and runs the access once more. Untagged programs (nearly
/// all) so pay nothing for TBI; it cost two instructions on the address of every access.
pub struct Identity;

impl Identity {
    /// [`Ctx::lowering`] bit: untag every address.
    pub const UNTAG: u8 = 1;
}

impl MemLowering for Identity {
    fn uses_r15(&self) -> bool {
        false
    }

    fn probe(&self, asm: &mut Asm, ctx: Ctx, reg: u8, _acc: Access, _slow: Option<DynamicLabel>) {
        if ctx.lowering() & Identity::UNTAG != 0 {
            dynasm!(asm
                ; .arch x64
                ; shl Rq(reg), 8
                ; sar Rq(reg), 8
            );
        }
    }
}

/// User mode under `-d slowmem`: every access takes the slow path, which does it in
/// Rust on the same host address ([`Identity`]'s mapping, untagged). It proves the
/// slow-path stubs (register saving, argument set-up, results) on real programs before
/// system mode depends on them; the results must be the fast path's, byte for byte. A
/// host fault in the slow path is the guest's fault, as on the fast path.
pub struct SlowIdentity;

impl MemLowering for SlowIdentity {
    fn uses_r15(&self) -> bool {
        false
    }

    fn probe(&self, asm: &mut Asm, _ctx: Ctx, _reg: u8, _acc: Access, slow: Option<DynamicLabel>) {
        let slow = slow.expect("SlowIdentity has a slow path");
        dynasm!(asm ; .arch x64 ; jmp =>slow);
    }

    fn slow_path(&self) -> Option<SlowPath> {
        Some(SlowPath {
            load: identity_slow_load,
            store: identity_slow_store,
        })
    }
}

/// [`SlowIdentity`]'s load.
///
/// # Safety
/// `cpu` points to the running thread's `Cpu`; `va` (untagged) is a host address the
/// guest may access, or an access through it faults as the fast path's would.
unsafe extern "sysv64" fn identity_slow_load(
    cpu: *mut Cpu,
    va: u64,
    inf: u64,
    _pc: u64,
) -> SlowResult {
    let a = crate::arm64::untag(va) as usize;
    let size = (inf & info::SIZE_MASK) as usize;
    let signed = inf & info::SIGNED != 0;
    // SAFETY: the caller's contract: `a` is the guest access's host address (a fault
    // there is handled as the guest's), `cpu` the live Cpu.
    let value = unsafe {
        if inf & info::VECTOR != 0 {
            let v = ((inf >> info::VREG_SHIFT) & 31) as usize;
            let mut bytes = [0u8; 16];
            std::ptr::copy_nonoverlapping(a as *const u8, bytes.as_mut_ptr(), size);
            (*cpu).v[v] = std::mem::transmute::<[u8; 16], crate::arm64::cpu::VReg>(bytes);
            0
        } else {
            match (size, signed) {
                (1, false) => read::<u8>(a) as u64,
                (1, true) => read::<u8>(a) as i8 as i64 as u64,
                (2, false) => read::<u16>(a) as u64,
                (2, true) => read::<u16>(a) as i16 as i64 as u64,
                (4, false) => read::<u32>(a) as u64,
                (4, true) => read::<u32>(a) as i32 as i64 as u64,
                _ => read::<u64>(a),
            }
        }
    };
    SlowResult { value, fault: 0 }
}

/// [`SlowIdentity`]'s store.
///
/// # Safety
/// As [`identity_slow_load`].
unsafe extern "sysv64" fn identity_slow_store(
    cpu: *mut Cpu,
    va: u64,
    value: u64,
    inf: u64,
    _pc: u64,
) -> SlowResult {
    let a = crate::arm64::untag(va) as usize;
    let size = (inf & info::SIZE_MASK) as usize;
    // SAFETY: as in `identity_slow_load`.
    unsafe {
        if inf & info::VECTOR != 0 {
            let v = ((inf >> info::VREG_SHIFT) & 31) as usize;
            let bytes = std::mem::transmute::<crate::arm64::cpu::VReg, [u8; 16]>((*cpu).v[v]);
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), a as *mut u8, size);
        } else {
            match size {
                1 => write(a, value as u8),
                2 => write(a, value as u16),
                4 => write(a, value as u32),
                _ => write(a, value),
            }
        }
        if inf & info::RELEASE != 0 {
            // The fast path's `xchg` is a full barrier.
            std::sync::atomic::fence(Ordering::SeqCst);
        }
    }
    SlowResult::default()
}

/// One host access of a `T` at `a` (a single instruction when aligned, as the fast
/// path's).
///
/// # Safety
/// `a` must be readable for `size_of::<T>()` bytes.
unsafe fn read<T: Copy>(a: usize) -> T {
    // SAFETY: the caller's contract; volatile keeps the access one access.
    unsafe {
        if a.is_multiple_of(std::mem::align_of::<T>()) {
            std::ptr::read_volatile(a as *const T)
        } else {
            std::ptr::read_unaligned(a as *const T)
        }
    }
}

/// One host store of `v` at `a`.
///
/// # Safety
/// `a` must be writable for `size_of::<T>()` bytes.
unsafe fn write<T: Copy>(a: usize, v: T) {
    // SAFETY: the caller's contract.
    unsafe {
        if a.is_multiple_of(std::mem::align_of::<T>()) {
            std::ptr::write_volatile(a as *mut T, v)
        } else {
            std::ptr::write_unaligned(a as *mut T, v)
        }
    }
}

/// The value operand of a store as the access instruction takes it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Src {
    Reg(u8),
    Imm(i32),
}

/// What a slow-path stub moves besides the address.
#[derive(Clone, Copy, Debug)]
enum SlowKind {
    /// A load into host register `rd` (`rax` when the value is unused or spilled; the
    /// fast path's code after the access handles both).
    Load { rd: u8 },
    /// A vector load or store (the environment moves the vector register).
    Vector,
    /// A store of this value.
    Store(Src),
}

/// A slow-path stub to emit after the block body.
pub(super) struct MemSlow {
    label: DynamicLabel,
    done: DynamicLabel,
    kind: SlowKind,
    info: u64,
    pc: u64,
    /// Caller-saved pool registers live at the access (bit per register number).
    saved: u16,
}

impl Emitter<'_> {
    pub(super) fn mark_fault_point(&mut self) {
        let o = self.offset() as u32;
        self.pc_map.push((o, self.cur_pc));
    }

    /// Emit guest memory access `op` (instruction `i`: `Load`, `Store`, `LoadV` or
    /// `StoreV`), whose first operand may be in `rax` (`cached`).
    pub(super) fn guest_access(&mut self, i: usize, op: &Op, cached: Option<Val>) {
        let slow = self
            .mem
            .slow_path()
            .is_some()
            .then(|| self.asm.new_dynamic_label());
        match *op {
            Op::Load {
                size,
                signed,
                addr,
                unpriv,
                ..
            } => {
                // x86 loads already have acquire semantics (TSO).
                self.addr_to_rax(i, addr, cached);
                // The destination before the probe: choosing it may spill another value
                // (see `evict_for`), which the slow path must not jump over.
                self.free_dead(i);
                let rd = if self.unused(i) {
                    RAX
                } else {
                    self.alloc_direct(i, None, None)
                };
                self.mem.probe(
                    &mut self.asm,
                    self.block.ctx,
                    RAX,
                    Access {
                        size,
                        write: false,
                        unpriv,
                    },
                    slow,
                );
                self.mark_fault_point();
                match (size, signed) {
                    (1, false) => dynasm!(self.asm ; .arch x64 ; movzx Rd(rd), BYTE [rax]),
                    (1, true) => dynasm!(self.asm ; .arch x64 ; movsx Rq(rd), BYTE [rax]),
                    (2, false) => dynasm!(self.asm ; .arch x64 ; movzx Rd(rd), WORD [rax]),
                    (2, true) => dynasm!(self.asm ; .arch x64 ; movsx Rq(rd), WORD [rax]),
                    (4, false) => dynasm!(self.asm ; .arch x64 ; mov Rd(rd), [rax]),
                    (4, true) => dynasm!(self.asm ; .arch x64 ; movsxd Rq(rd), DWORD [rax]),
                    (8, _) => dynasm!(self.asm ; .arch x64 ; mov Rq(rd), [rax]),
                    _ => panic!("x64 backend: bad load size {size}"),
                }
                let inf = size as u64
                    | if signed { info::SIGNED } else { 0 }
                    | if unpriv { info::UNPRIV } else { 0 };
                self.slow_site(slow, SlowKind::Load { rd }, inf, Some(rd));
                self.finish_direct(i, rd);
            }
            Op::Store {
                size,
                addr,
                val,
                order,
                unpriv,
            } => {
                // A release store must not pass a later acquire load (Arm's RCsc
                // STLR→LDAR order); x86 only keeps that order for locked ops, so
                // release stores use `xchg` (on a copy of the value in rcx).
                let locked = matches!(order, Order::Release | Order::AcqRel);
                // The value from its register, as an immediate or through rcx; rax gets
                // the address.
                let lv = self.loc[val.0 as usize];
                self.addr_to_rax(i, addr, cached);
                let rv = match lv {
                    Loc::Reg(r) if !locked => Src::Reg(r),
                    Loc::Const(c)
                        if !locked && (size < 8 || super::int::imm_of(c, W::W64).is_some()) =>
                    {
                        Src::Imm(c as i32)
                    }
                    _ => {
                        self.load(RCX, val);
                        Src::Reg(RCX)
                    }
                };
                self.mem.probe(
                    &mut self.asm,
                    self.block.ctx,
                    RAX,
                    Access {
                        size,
                        write: true,
                        unpriv,
                    },
                    slow,
                );
                self.mark_fault_point();
                match (size, rv, locked) {
                    (1, Src::Reg(r), false) => dynasm!(self.asm ; .arch x64 ; mov [rax], Rb(r)),
                    (2, Src::Reg(r), false) => dynasm!(self.asm ; .arch x64 ; mov [rax], Rw(r)),
                    (4, Src::Reg(r), false) => dynasm!(self.asm ; .arch x64 ; mov [rax], Rd(r)),
                    (8, Src::Reg(r), false) => dynasm!(self.asm ; .arch x64 ; mov [rax], Rq(r)),
                    (1, Src::Imm(k), _) => dynasm!(self.asm ; .arch x64 ; mov BYTE [rax], k as i8),
                    (2, Src::Imm(k), _) => dynasm!(self.asm ; .arch x64 ; mov WORD [rax], k as i16),
                    (4, Src::Imm(k), _) => dynasm!(self.asm ; .arch x64 ; mov DWORD [rax], k),
                    (8, Src::Imm(k), _) => dynasm!(self.asm ; .arch x64 ; mov QWORD [rax], k),
                    (1, _, true) => dynasm!(self.asm ; .arch x64 ; xchg [rax], cl),
                    (2, _, true) => dynasm!(self.asm ; .arch x64 ; xchg [rax], cx),
                    (4, _, true) => dynasm!(self.asm ; .arch x64 ; xchg [rax], ecx),
                    (8, _, true) => dynasm!(self.asm ; .arch x64 ; xchg [rax], rcx),
                    _ => panic!("x64 backend: bad store size {size}"),
                }
                let inf = size as u64
                    | info::WRITE
                    | if locked { info::RELEASE } else { 0 }
                    | if unpriv { info::UNPRIV } else { 0 };
                self.slow_site(slow, SlowKind::Store(rv), inf, None);
                self.free_dead(i);
                self.rax_cache = None;
            }
            Op::LoadV { v, size, addr } => {
                self.addr_to_rax(i, addr, cached);
                self.free_dead(i);
                let o = off::vlane(v, 0);
                self.mem.probe(
                    &mut self.asm,
                    self.block.ctx,
                    RAX,
                    Access {
                        size,
                        write: false,
                        unpriv: false,
                    },
                    slow,
                );
                self.mark_fault_point();
                match size {
                    16 => dynasm!(self.asm ; .arch x64 ; movdqu xmm0, [rax]),
                    8 => dynasm!(self.asm ; .arch x64 ; movq xmm0, [rax]),
                    4 => dynasm!(self.asm ; .arch x64 ; movd xmm0, [rax]),
                    2 => dynasm!(self.asm ; .arch x64 ; movzx ecx, WORD [rax] ; movd xmm0, ecx),
                    1 => dynasm!(self.asm ; .arch x64 ; movzx ecx, BYTE [rax] ; movd xmm0, ecx),
                    _ => panic!("x64 backend: bad vector load size {size}"),
                }
                dynasm!(self.asm ; .arch x64 ; movdqa [rbp + o], xmm0);
                let inf = size as u64 | info::VECTOR | (v as u64) << info::VREG_SHIFT;
                self.slow_site(slow, SlowKind::Vector, inf, None);
                self.rax_cache = None;
            }
            Op::StoreV { v, size, addr } => {
                self.addr_to_rax(i, addr, cached);
                self.free_dead(i);
                let o = off::vlane(v, 0);
                self.mem.probe(
                    &mut self.asm,
                    self.block.ctx,
                    RAX,
                    Access {
                        size,
                        write: true,
                        unpriv: false,
                    },
                    slow,
                );
                match size {
                    16 => {
                        dynasm!(self.asm ; .arch x64 ; movdqa xmm0, [rbp + o]);
                        self.mark_fault_point();
                        dynasm!(self.asm ; .arch x64 ; movdqu [rax], xmm0);
                    }
                    8 => {
                        dynasm!(self.asm ; .arch x64 ; mov rcx, [rbp + o]);
                        self.mark_fault_point();
                        dynasm!(self.asm ; .arch x64 ; mov [rax], rcx);
                    }
                    4 => {
                        dynasm!(self.asm ; .arch x64 ; mov ecx, [rbp + o]);
                        self.mark_fault_point();
                        dynasm!(self.asm ; .arch x64 ; mov [rax], ecx);
                    }
                    2 => {
                        dynasm!(self.asm ; .arch x64 ; mov ecx, [rbp + o]);
                        self.mark_fault_point();
                        dynasm!(self.asm ; .arch x64 ; mov [rax], cx);
                    }
                    1 => {
                        dynasm!(self.asm ; .arch x64 ; mov ecx, [rbp + o]);
                        self.mark_fault_point();
                        dynasm!(self.asm ; .arch x64 ; mov [rax], cl);
                    }
                    _ => panic!("x64 backend: bad vector store size {size}"),
                }
                let inf = size as u64 | info::WRITE | info::VECTOR | (v as u64) << info::VREG_SHIFT;
                self.slow_site(slow, SlowKind::Vector, inf, None);
                self.rax_cache = None;
            }
            _ => unreachable!("guest_access: not an access: {op:?}"),
        }
    }

    /// After the fast-path access: when the lowering has a slow path, place the label
    /// the stub returns to and record the stub (the live caller-saved registers but
    /// `except` are saved around the call).
    fn slow_site(
        &mut self,
        slow: Option<DynamicLabel>,
        kind: SlowKind,
        info: u64,
        except: Option<u8>,
    ) {
        let Some(label) = slow else { return };
        let done = self.asm.new_dynamic_label();
        dynasm!(self.asm ; .arch x64 ; =>done);
        let mut saved = 0u16;
        for r in POOL {
            if caller_saved(r) && self.reg_holds[r as usize].is_some() && Some(r) != except {
                saved |= 1 << r;
            }
        }
        self.mem_slow.push(MemSlow {
            label,
            done,
            kind,
            info,
            pc: self.cur_pc,
            saved,
        });
    }

    /// The slow-path stubs of this block's accesses (see the module docs).
    pub(super) fn mem_stubs(&mut self) {
        let Some(sp) = self.mem.slow_path() else {
            return;
        };
        let epi = self.rt.epilogue;
        let stubs = std::mem::take(&mut self.mem_slow);
        for s in stubs {
            dynasm!(self.asm ; .arch x64 ; =>s.label);
            let saved: Vec<u8> = (0..16u8).filter(|r| s.saved & (1 << r) != 0).collect();
            for &r in &saved {
                dynasm!(self.asm ; .arch x64 ; push Rq(r));
            }
            // Keep rsp 16-byte aligned at the call.
            let pad = saved.len() % 2 == 1;
            if pad {
                dynasm!(self.asm ; .arch x64 ; sub rsp, 8);
            }
            // Helpers and slow paths that fault find their guest PC in the Cpu.
            let pc = s.pc as i64;
            dynasm!(self.asm ; .arch x64 ; mov rdx, QWORD pc ; mov [rbp + off::PC], rdx);
            let (f, inf) = (s.info as i32, s.info);
            match s.kind {
                SlowKind::Store(v) => {
                    // The value first: it may sit in an argument register. (Never in
                    // rdx: the probe may clobber it.)
                    match v {
                        Src::Reg(r) => dynasm!(self.asm ; .arch x64 ; mov rdx, Rq(r)),
                        Src::Imm(k) => dynasm!(self.asm ; .arch x64 ; mov rdx, k),
                    }
                    let func = sp.store as usize as i64;
                    dynasm!(self.asm
                        ; .arch x64
                        ; mov rsi, rax
                        ; mov rdi, rbp
                        ; mov ecx, f
                        ; mov r8, QWORD pc
                        ; mov rax, QWORD func
                    );
                }
                SlowKind::Vector if inf & info::WRITE != 0 => {
                    let func = sp.store as usize as i64;
                    dynasm!(self.asm
                        ; .arch x64
                        ; xor edx, edx
                        ; mov rsi, rax
                        ; mov rdi, rbp
                        ; mov ecx, f
                        ; mov r8, QWORD pc
                        ; mov rax, QWORD func
                    );
                }
                SlowKind::Load { .. } | SlowKind::Vector => {
                    let func = sp.load as usize as i64;
                    dynasm!(self.asm
                        ; .arch x64
                        ; mov rsi, rax
                        ; mov rdi, rbp
                        ; mov edx, f
                        ; mov rcx, QWORD pc
                        ; mov rax, QWORD func
                    );
                }
            }
            let o = self.offset() as u32;
            self.pc_map.push((o, s.pc));
            dynasm!(self.asm ; .arch x64 ; call rax);
            if pad {
                dynasm!(self.asm ; .arch x64 ; add rsp, 8);
            }
            for &r in saved.iter().rev() {
                dynasm!(self.asm ; .arch x64 ; pop Rq(r));
            }
            // An exception: guest registers are exact and `cpu.pc` is the access's.
            dynasm!(self.asm
                ; .arch x64
                ; test rdx, rdx
                ; jz >ok
                ; mov eax, exit::EXCEPTION as i32
                ; jmp extern epi
                ; ok:
            );
            if let SlowKind::Load { rd } = s.kind {
                if rd != RAX {
                    dynasm!(self.asm ; .arch x64 ; mov Rq(rd), rax);
                }
            }
            dynasm!(self.asm ; .arch x64 ; jmp =>s.done);
        }
    }
}
