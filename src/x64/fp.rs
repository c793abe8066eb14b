//! Inline fast paths for floating-point helpers ([`FastFp`]).
//!
//! A floating-point helper call whose [`Helper::fast`] names what it computes gets an
//! SSE (or FMA3) version in front of it: the host instruction, then checks that the
//! host result is the Arm result with no FPSR effect, then the result in `rax` (vector
//! operations store the destination register instead). Any check that fails jumps to a
//! slow stub, emitted after the block body, that calls the helper as usual and jumps
//! back. The checks are what keep Arm semantics exact:
//!
//! - FPCR must be in its default mode (round to nearest, no flush-to-zero, no
//!   default NaN, no trap enables): the host MXCSR in generated code is Rust's default
//!   (round to nearest, all exceptions masked, no FTZ/DAZ), which then agrees;
//! - operations that may be inexact need FPSR.IXC already set (after a program's first
//!   inexact operation it stays set, so the common case never needs to know whether
//!   this one was exact);
//! - the result must not be a NaN or an infinity (x86 propagates and generates NaNs
//!   differently, and an infinity may mean overflow or division by zero). Products,
//!   quotients, fused results and narrowing conversions must also be normal with a
//!   biased exponent of at least 2, so that they cannot have been tiny before
//!   rounding (Arm detects underflow before rounding, x86 after) and cannot be
//!   an underflowed zero. Sums and differences need no lower bound: a tiny sum is exact;
//!   so are square roots.
//!
//! Everything else (NaNs, infinities, underflow, other FPCR modes, a clear IXC) takes
//! the helper, which implements the Arm pseudocode.
//!
//! The slow stub saves the caller-saved pool registers around the call, so the fast path
//! leaves the register allocation exactly as it found it (no spilling for the common
//! case), and reads the helper's arguments from the locations they had at the check.

use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi};

use super::{Emitter, Loc, R8, RAX, RCX, RDX, RSI};
use crate::arm64::cpu::off;
use crate::ir::{FastFp, FpOp, Helper, Val};

/// FPCR bits that must be clear for the fast paths: the trap enables (IOE, DZE, OFE,
/// UFE, IXE, IDE), RMode, FZ, DN and AHP.
const FPCR_NON_DEFAULT: i32 = 0x07c0_9f00;
/// FPCR.FZ: the only FPCR bit that changes a comparison or an exact conversion.
const FPCR_FZ: i32 = 1 << 24;
/// FPSR.IXC.
const FPSR_IXC: i8 = 1 << 4;

/// `vfmadd231pd xmm2, xmm0, xmm1` and `vfnmadd231pd xmm2, xmm0, xmm1` (GNU as).
const VFMADD231PD_XMM2_XMM0_XMM1: [u8; 5] = [0xc4, 0xe2, 0xf9, 0xb8, 0xd1];
const VFNMADD231PD_XMM2_XMM0_XMM1: [u8; 5] = [0xc4, 0xe2, 0xf9, 0xbc, 0xd1];

/// Per-lane constants for the vector checks, 16-byte aligned for SSE memory operands.
#[repr(C, align(16))]
struct LaneConsts([u32; 24]);

const ABS_S: i32 = 0;
const MAX_S: i32 = 16;
const MIN2_S: i32 = 32;
const ABS_D: i32 = 48;
const MAX_D: i32 = 64;
const MIN2_D: i32 = 80;

/// |x| mask, the largest finite value and the smallest value with biased exponent 2,
/// for single (4 lanes) and double precision (2 lanes).
static LANE_CONSTS: LaneConsts = LaneConsts([
    0x7fff_ffff,
    0x7fff_ffff,
    0x7fff_ffff,
    0x7fff_ffff, // ABS_S
    0x7f7f_ffff,
    0x7f7f_ffff,
    0x7f7f_ffff,
    0x7f7f_ffff, // MAX_S
    0x0100_0000,
    0x0100_0000,
    0x0100_0000,
    0x0100_0000, // MIN2_S
    0xffff_ffff,
    0x7fff_ffff,
    0xffff_ffff,
    0x7fff_ffff, // ABS_D
    0xffff_ffff,
    0x7fef_ffff,
    0xffff_ffff,
    0x7fef_ffff, // MAX_D
    0x0000_0000,
    0x0020_0000,
    0x0000_0000,
    0x0020_0000, // MIN2_D
]);

/// A slow path to emit after the block body.
pub(super) struct FpSlow {
    label: DynamicLabel,
    done: DynamicLabel,
    f: usize,
    args: [Loc; 4],
    nargs: usize,
    side_effects: bool,
    pc: u64,
}

/// How far a result must be from the edges of its format.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Range {
    /// Not a NaN or an infinity.
    Finite,
    /// Finite with a biased exponent of at least 2 (so not zero or subnormal).
    Normal,
}

/// Can this host run the fast path for `k`?
fn host_supports(k: FastFp) -> bool {
    let fused = matches!(
        k,
        FastFp::MulAdd { .. }
            | FastFp::Vec {
                op: FpOp::MulAdd | FpOp::MulSub,
                ..
            }
    );
    !fused || std::arch::is_x86_feature_detected!("fma")
}

impl Emitter<'_> {
    /// Emit helper call `i` with its inline fast path, if it has one this host can
    /// run; returns false (emitting nothing) otherwise.
    pub(super) fn fast_fp_call(&mut self, i: usize, h: &Helper, args: &[Val]) -> bool {
        let Some(k) = h.fast else {
            return false;
        };
        if !host_supports(k) || args.len() > 4 {
            return false;
        }
        #[cfg(test)]
        if tests::FAST_FP_OFF.with(|c| c.get()) {
            return false;
        }
        let slow = self.asm.new_dynamic_label();
        let done = self.asm.new_dynamic_label();
        let mut locs = [Loc::None; 4];
        for (l, a) in locs.iter_mut().zip(args) {
            *l = self.loc[a.0 as usize];
        }
        let needs_slow = self.fast_fp(k, args, slow);
        dynasm!(self.asm ; .arch x64 ; =>done);
        if needs_slow {
            self.fp_slow.push(FpSlow {
                label: slow,
                done,
                f: h.f as usize,
                args: locs,
                nargs: args.len(),
                side_effects: h.side_effects,
                pc: self.cur_pc,
            });
        }
        self.free_dead(i);
        self.def_rax(i);
        true
    }

    /// Emit the fast path of `k`; returns whether it ever jumps to `slow`.
    fn fast_fp(&mut self, k: FastFp, args: &[Val], slow: DynamicLabel) -> bool {
        match k {
            FastFp::Arith { op, double } => {
                self.load(RAX, args[0]);
                self.load(RCX, args[1]);
                self.check_fpcr(FPCR_NON_DEFAULT, slow);
                self.check_ixc(slow);
                self.xmm01_from_rax_rcx(double);
                match (op, double) {
                    (FpOp::Add, false) => dynasm!(self.asm ; .arch x64 ; addss xmm0, xmm1),
                    (FpOp::Sub, false) => dynasm!(self.asm ; .arch x64 ; subss xmm0, xmm1),
                    (FpOp::Mul, false) => dynasm!(self.asm ; .arch x64 ; mulss xmm0, xmm1),
                    (FpOp::Div, false) => dynasm!(self.asm ; .arch x64 ; divss xmm0, xmm1),
                    (FpOp::Add, true) => dynasm!(self.asm ; .arch x64 ; addsd xmm0, xmm1),
                    (FpOp::Sub, true) => dynasm!(self.asm ; .arch x64 ; subsd xmm0, xmm1),
                    (FpOp::Mul, true) => dynasm!(self.asm ; .arch x64 ; mulsd xmm0, xmm1),
                    (FpOp::Div, true) => dynasm!(self.asm ; .arch x64 ; divsd xmm0, xmm1),
                    (FpOp::MulAdd | FpOp::MulSub, _) => unreachable!("scalar fused ops are MulAdd"),
                }
                let range = match op {
                    FpOp::Add | FpOp::Sub => Range::Finite,
                    _ => Range::Normal,
                };
                self.result_from_xmm0(double, range, slow);
            }
            FastFp::Sqrt { double } => {
                self.load(RAX, args[0]);
                self.check_fpcr(FPCR_NON_DEFAULT, slow);
                self.check_ixc(slow);
                if double {
                    dynasm!(self.asm ; .arch x64 ; movq xmm0, rax ; sqrtsd xmm0, xmm0);
                } else {
                    dynasm!(self.asm ; .arch x64 ; movd xmm0, eax ; sqrtss xmm0, xmm0);
                }
                self.result_from_xmm0(double, Range::Finite, slow);
            }
            FastFp::MulAdd { double } => {
                self.load(RAX, args[0]);
                self.load(RCX, args[1]);
                self.load(RDX, args[2]);
                self.check_fpcr(FPCR_NON_DEFAULT, slow);
                self.check_ixc(slow);
                if double {
                    dynasm!(self.asm
                        ; .arch x64
                        ; movq xmm0, rax
                        ; movq xmm1, rcx
                        ; movq xmm2, rdx
                        ; vfmadd231sd xmm0, xmm1, xmm2
                    );
                } else {
                    dynasm!(self.asm
                        ; .arch x64
                        ; movd xmm0, eax
                        ; movd xmm1, ecx
                        ; movd xmm2, edx
                        ; vfmadd231ss xmm0, xmm1, xmm2
                    );
                }
                self.result_from_xmm0(double, Range::Normal, slow);
            }
            FastFp::Cmp { double } => {
                self.load(RAX, args[0]);
                self.load(RCX, args[1]);
                self.check_fpcr(FPCR_FZ, slow);
                self.xmm01_from_rax_rcx(double);
                if double {
                    dynasm!(self.asm ; .arch x64 ; ucomisd xmm0, xmm1);
                } else {
                    dynasm!(self.asm ; .arch x64 ; ucomiss xmm0, xmm1);
                }
                // Unordered (a NaN: IOC cases) → helper. Otherwise less → N, equal → ZC,
                // greater → C.
                dynasm!(self.asm
                    ; .arch x64
                    ; jp =>slow
                    ; mov eax, 0x2000_0000
                    ; mov ecx, 0x6000_0000
                    ; cmove eax, ecx
                    ; mov ecx, 0x8000_0000u32 as i32
                    ; cmovb eax, ecx
                );
            }
            FastFp::Cvt { to_double } => {
                self.load(RAX, args[0]);
                if to_double {
                    // Exact unless the source is a NaN or (with FZ) subnormal.
                    self.check_fpcr(FPCR_FZ, slow);
                    dynasm!(self.asm ; .arch x64 ; movd xmm0, eax ; cvtss2sd xmm0, xmm0);
                    self.result_from_xmm0(true, Range::Finite, slow);
                } else {
                    self.check_fpcr(FPCR_NON_DEFAULT, slow);
                    self.check_ixc(slow);
                    dynasm!(self.asm ; .arch x64 ; movq xmm0, rax ; cvtsd2ss xmm0, xmm0);
                    self.result_from_xmm0(false, Range::Normal, slow);
                }
            }
            FastFp::ToInt {
                double,
                x,
                unsigned,
            } => {
                self.load(RAX, args[0]);
                self.check_fpcr(FPCR_FZ, slow);
                self.check_ixc(slow);
                if double {
                    dynasm!(self.asm ; .arch x64 ; movq xmm0, rax);
                } else {
                    dynasm!(self.asm ; .arch x64 ; movd xmm0, eax);
                }
                match (x, unsigned) {
                    (false, false) => {
                        // Out of range and NaN give 0x8000_0000, which Arm returns only
                        // for exactly -2^31 (the helper sorts that out).
                        if double {
                            dynasm!(self.asm ; .arch x64 ; cvttsd2si eax, xmm0);
                        } else {
                            dynasm!(self.asm ; .arch x64 ; cvttss2si eax, xmm0);
                        }
                        dynasm!(self.asm ; .arch x64 ; cmp eax, 1 ; jo =>slow);
                    }
                    (true, false) => {
                        if double {
                            dynasm!(self.asm ; .arch x64 ; cvttsd2si rax, xmm0);
                        } else {
                            dynasm!(self.asm ; .arch x64 ; cvttss2si rax, xmm0);
                        }
                        dynasm!(self.asm ; .arch x64 ; cmp rax, 1 ; jo =>slow);
                    }
                    (false, true) => {
                        // Through a 64-bit conversion: in range iff the top half is 0.
                        if double {
                            dynasm!(self.asm ; .arch x64 ; cvttsd2si rax, xmm0);
                        } else {
                            dynasm!(self.asm ; .arch x64 ; cvttss2si rax, xmm0);
                        }
                        dynasm!(self.asm
                            ; .arch x64
                            ; mov rcx, rax
                            ; shr rcx, 32
                            ; jnz =>slow
                        );
                    }
                    (true, true) => unreachable!("FCVTZU to X has no fast path"),
                }
            }
            FastFp::FromInt {
                double,
                x,
                unsigned,
            } => {
                self.load(RAX, args[0]);
                match (x, unsigned) {
                    (false, false) => dynasm!(self.asm ; .arch x64 ; movsxd rax, eax),
                    (false, true) => dynasm!(self.asm ; .arch x64 ; mov eax, eax),
                    (true, false) => {}
                    (true, true) => unreachable!("UCVTF from X has no fast path"),
                }
                // A 32-bit integer converts to double exactly; anything else may round.
                let exact = double && !x;
                if !exact {
                    self.check_fpcr(FPCR_NON_DEFAULT, slow);
                    self.check_ixc(slow);
                }
                if double {
                    dynasm!(self.asm
                        ; .arch x64
                        ; xorps xmm0, xmm0
                        ; cvtsi2sd xmm0, rax
                        ; movq rax, xmm0
                    );
                } else {
                    dynasm!(self.asm
                        ; .arch x64
                        ; xorps xmm0, xmm0
                        ; cvtsi2ss xmm0, rax
                        ; movd eax, xmm0
                    );
                }
                return !exact;
            }
            FastFp::Vec {
                op,
                double,
                q,
                rd,
                rn,
                rm,
            } => self.fast_vec(op, double, q, (rd, rn, rm), slow),
        }
        true
    }

    /// Vector FADD/FSUB/FMUL/FDIV/FMLA/FMLS straight on the registers in the CPU state.
    fn fast_vec(
        &mut self,
        op: FpOp,
        double: bool,
        q: bool,
        (rd, rn, rm): (u8, u8, u8),
        slow: DynamicLabel,
    ) {
        let (od, on, om) = (off::vlane(rd, 0), off::vlane(rn, 0), off::vlane(rm, 0));
        self.check_fpcr(FPCR_NON_DEFAULT, slow);
        self.check_ixc(slow);
        dynasm!(self.asm
            ; .arch x64
            ; movdqa xmm0, [rbp + on]
            ; movdqa xmm1, [rbp + om]
        );
        match (op, double) {
            (FpOp::Add, false) => dynasm!(self.asm ; .arch x64 ; addps xmm0, xmm1),
            (FpOp::Sub, false) => dynasm!(self.asm ; .arch x64 ; subps xmm0, xmm1),
            (FpOp::Mul, false) => dynasm!(self.asm ; .arch x64 ; mulps xmm0, xmm1),
            (FpOp::Div, false) => dynasm!(self.asm ; .arch x64 ; divps xmm0, xmm1),
            (FpOp::Add, true) => dynasm!(self.asm ; .arch x64 ; addpd xmm0, xmm1),
            (FpOp::Sub, true) => dynasm!(self.asm ; .arch x64 ; subpd xmm0, xmm1),
            (FpOp::Mul, true) => dynasm!(self.asm ; .arch x64 ; mulpd xmm0, xmm1),
            (FpOp::Div, true) => dynasm!(self.asm ; .arch x64 ; divpd xmm0, xmm1),
            // d + n*m and d - n*m, one rounding (the negated product is exact).
            (FpOp::MulAdd, false) => dynasm!(self.asm
                ; .arch x64
                ; movdqa xmm2, [rbp + od]
                ; vfmadd231ps xmm2, xmm0, xmm1
                ; movaps xmm0, xmm2
            ),
            (FpOp::MulSub, false) => dynasm!(self.asm
                ; .arch x64
                ; movdqa xmm2, [rbp + od]
                ; vfnmadd231ps xmm2, xmm0, xmm1
                ; movaps xmm0, xmm2
            ),
            // dynasm encodes the packed-double forms with VEX.W0, i.e. as the
            // single-precision ones (see the test below): spelled out in bytes.
            (FpOp::MulAdd, true) => dynasm!(self.asm
                ; .arch x64
                ; movdqa xmm2, [rbp + od]
                ; .bytes VFMADD231PD_XMM2_XMM0_XMM1
                ; movapd xmm0, xmm2
            ),
            (FpOp::MulSub, true) => dynasm!(self.asm
                ; .arch x64
                ; movdqa xmm2, [rbp + od]
                ; .bytes VFNMADD231PD_XMM2_XMM0_XMM1
                ; movapd xmm0, xmm2
            ),
        }
        let range = match op {
            FpOp::Add | FpOp::Sub => Range::Finite,
            _ => Range::Normal,
        };
        // Every lane the instruction writes must pass; a 64-bit vector ignores the
        // (meaningless) upper lanes.
        let consts = &LANE_CONSTS as *const LaneConsts as i64;
        let (abs, max, min2) = if double {
            (ABS_D, MAX_D, MIN2_D)
        } else {
            (ABS_S, MAX_S, MIN2_S)
        };
        dynasm!(self.asm
            ; .arch x64
            ; mov rax, QWORD consts
            ; movaps xmm1, xmm0
            ; andps xmm1, [rax + abs]
        );
        if range == Range::Normal {
            dynasm!(self.asm ; .arch x64 ; movaps xmm2, [rax + min2]);
            if double {
                dynasm!(self.asm ; .arch x64 ; cmppd xmm2, xmm1, 2);
            } else {
                dynasm!(self.asm ; .arch x64 ; cmpps xmm2, xmm1, 2);
            }
        }
        // |r| <= MAX is false for infinities and NaNs.
        if double {
            dynasm!(self.asm ; .arch x64 ; cmppd xmm1, [rax + max], 2);
        } else {
            dynasm!(self.asm ; .arch x64 ; cmpps xmm1, [rax + max], 2);
        }
        if range == Range::Normal {
            dynasm!(self.asm ; .arch x64 ; andps xmm1, xmm2);
        }
        if double {
            dynasm!(self.asm ; .arch x64 ; movmskpd ecx, xmm1);
        } else {
            dynasm!(self.asm ; .arch x64 ; movmskps ecx, xmm1);
        }
        let lanes: i32 = match (double, q) {
            (false, true) => 0b1111,
            (false, false) | (true, true) => 0b11,
            (true, false) => unreachable!("1D is not an arrangement of these instructions"),
        };
        dynasm!(self.asm
            ; .arch x64
            ; and ecx, lanes
            ; cmp ecx, lanes
            ; jne =>slow
        );
        if !q {
            dynasm!(self.asm ; .arch x64 ; movq xmm0, xmm0);
        }
        dynasm!(self.asm ; .arch x64 ; movdqa [rbp + od], xmm0);
    }

    fn check_fpcr(&mut self, mask: i32, slow: DynamicLabel) {
        dynasm!(self.asm
            ; .arch x64
            ; test DWORD [rbp + off::FPCR], mask
            ; jnz =>slow
        );
    }

    fn check_ixc(&mut self, slow: DynamicLabel) {
        dynasm!(self.asm
            ; .arch x64
            ; test BYTE [rbp + off::FPSR], FPSR_IXC
            ; jz =>slow
        );
    }

    fn xmm01_from_rax_rcx(&mut self, double: bool) {
        if double {
            dynasm!(self.asm ; .arch x64 ; movq xmm0, rax ; movq xmm1, rcx);
        } else {
            dynasm!(self.asm ; .arch x64 ; movd xmm0, eax ; movd xmm1, ecx);
        }
    }

    /// Move the scalar result from xmm0 to rax (single precision zero-extended),
    /// jumping to `slow` unless it is in `range`.
    fn result_from_xmm0(&mut self, double: bool, range: Range, slow: DynamicLabel) {
        if double {
            dynasm!(self.asm
                ; .arch x64
                ; movq rax, xmm0
                ; lea rcx, [rax + rax]
                ; shr rcx, 53
            );
            match range {
                Range::Finite => dynasm!(self.asm ; .arch x64 ; cmp ecx, 0x7ff ; je =>slow),
                Range::Normal => dynasm!(self.asm
                    ; .arch x64
                    ; sub ecx, 2
                    ; cmp ecx, 0x7fd
                    ; jae =>slow
                ),
            }
        } else {
            dynasm!(self.asm
                ; .arch x64
                ; movd eax, xmm0
                ; lea ecx, [rax + rax]
                ; shr ecx, 24
            );
            match range {
                Range::Finite => dynasm!(self.asm ; .arch x64 ; cmp ecx, 0xff ; je =>slow),
                Range::Normal => dynasm!(self.asm
                    ; .arch x64
                    ; sub ecx, 2
                    ; cmp ecx, 0xfd
                    ; jae =>slow
                ),
            }
        }
    }

    /// The slow paths of this block's fast paths: call the helper with every
    /// caller-saved pool register preserved, then rejoin.
    pub(super) fn fp_stubs(&mut self) {
        const SAVED: [u8; 6] = [RSI, super::RDI, R8, super::R9, super::R10, super::R11];
        const ARG_REGS: [u8; 4] = [RSI, RDX, RCX, R8];
        let stubs = std::mem::take(&mut self.fp_slow);
        for s in stubs {
            dynasm!(self.asm ; .arch x64 ; =>s.label);
            for &r in &SAVED {
                dynasm!(self.asm ; .arch x64 ; push Rq(r));
            }
            if s.side_effects {
                let pc = s.pc;
                dynasm!(self.asm ; .arch x64 ; mov rax, QWORD pc as i64 ; mov [rbp + off::PC], rax);
            }
            for (&dst, &arg) in ARG_REGS.iter().zip(&s.args[..s.nargs]) {
                match arg {
                    Loc::Reg(r) => match SAVED.iter().position(|&x| x == r) {
                        // Its saved copy: the argument registers may already be set.
                        Some(p) => {
                            let o = 8 * (SAVED.len() - 1 - p) as i32;
                            dynasm!(self.asm ; .arch x64 ; mov Rq(dst), [rsp + o]);
                        }
                        None => dynasm!(self.asm ; .arch x64 ; mov Rq(dst), Rq(r)),
                    },
                    Loc::Const(c) => self.mov_imm(dst, c),
                    Loc::Slot(sl) => {
                        let o = off::spill(sl as usize);
                        dynasm!(self.asm ; .arch x64 ; mov Rq(dst), [rbp + o]);
                    }
                    Loc::None => panic!("x64 backend: fast-path argument without a location"),
                }
            }
            if s.side_effects {
                let o = self.offset() as u32;
                self.pc_map.push((o, s.pc));
            }
            let f = s.f as i64;
            dynasm!(self.asm
                ; .arch x64
                ; mov rdi, rbp
                ; mov rax, QWORD f
                ; call rax
            );
            for &r in SAVED.iter().rev() {
                dynasm!(self.asm ; .arch x64 ; pop Rq(r));
            }
            dynasm!(self.asm ; .arch x64 ; jmp =>s.done);
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::Asm;
    use crate::arm64::cpu::{Cpu, VReg};
    use crate::arm64::lift::simd::tests::Rng;
    use crate::engine::testing::Runner;
    use dynasmrt::dynasm;
    use std::cell::Cell;

    thread_local! {
        /// Set by the tests below to compile blocks without the fast paths (translation
        /// happens on the thread that runs the guest).
        pub static FAST_FP_OFF: Cell<bool> = const { Cell::new(false) };
    }

    /// A double that is mostly an ordinary number, often near the edges of the
    /// exponent range (where the checks decide), sometimes a special value.
    fn f64_bits(r: &mut Rng) -> u64 {
        let sign = r.next() & (1 << 63);
        let frac = r.next() & ((1 << 52) - 1);
        let exp = match r.below(16) {
            0 => 0,                          // zero / subnormal
            1 => 0x7ff,                      // infinity / NaN
            2..=4 => r.below(6),             // bottom of the range
            5..=7 => 0x7ff - 1 - r.below(6), // top of the range
            8 => 1023 + r.below(64),         // integers and large ones
            _ => 1023 - 40 + r.below(80),    // everyday magnitudes
        };
        let frac = if r.below(8) == 0 {
            frac & !0xffff_ffff
        } else {
            frac
        };
        sign | exp << 52 | frac
    }

    fn f32_bits(r: &mut Rng) -> u64 {
        let sign = (r.next() & 1) << 31;
        let frac = r.next() & ((1 << 23) - 1);
        let exp = match r.below(16) {
            0 => 0,
            1 => 0xff,
            2..=4 => r.below(6),
            5..=7 => 0xff - 1 - r.below(6),
            8 => 127 + r.below(40),
            _ => 127 - 20 + r.below(40),
        };
        let frac = if r.below(8) == 0 { frac & !0xfff } else { frac };
        sign | exp << 23 | frac
    }

    fn random_cpu(r: &mut Rng) -> Box<Cpu> {
        let mut c = Cpu::new();
        for v in c.v.iter_mut() {
            let lane = |r: &mut Rng| match r.below(3) {
                0 => f64_bits(r),
                1 => f32_bits(r) | f32_bits(r) << 32,
                _ => r.next(),
            };
            *v = VReg([lane(r), lane(r)]);
        }
        for x in c.x.iter_mut() {
            *x = match r.below(4) {
                0 => r.next(),
                1 => r.below(1 << 20),
                2 => r.below(1 << 20).wrapping_neg(),
                _ => r.next() >> r.below(64),
            };
        }
        // IXC set in most cases (the fast paths need it), other flags at random.
        c.fpsr = if r.below(4) == 0 { 0 } else { 1 << 4 } | (r.next() & 0x0800_008f);
        // Mostly the default mode; otherwise a random rounding mode, FZ or DN.
        c.fpcr = if r.below(4) == 0 {
            (r.next() & 0x03c0_0000) | (r.below(2) << 24)
        } else {
            0
        };
        c
    }

    /// Every instruction with a fast path, over random and edge operands: the result and
    /// FPSR must be the helper's (the same word compiled without fast paths).
    #[test]
    fn fast_paths_agree_with_helpers() {
        if !std::arch::is_x86_feature_detected!("fma") {
            eprintln!("note: host without FMA: fused fast paths are not emitted, not tested");
        }
        #[rustfmt::skip]
        let words: &[(&str, u32)] = &[
            ("fadd s0, s1, s2", 0x1e22_2820), ("fadd d0, d1, d2", 0x1e62_2820),
            ("fsub s0, s1, s2", 0x1e22_3820), ("fsub d0, d1, d2", 0x1e62_3820),
            ("fmul s0, s1, s2", 0x1e22_0820), ("fmul d0, d1, d2", 0x1e62_0820),
            ("fdiv s0, s1, s2", 0x1e22_1820), ("fdiv d0, d1, d2", 0x1e62_1820),
            ("fnmul d0, d1, d2", 0x1e62_8820), ("fsqrt s0, s1", 0x1e21_c020),
            ("fsqrt d0, d1", 0x1e61_c020),
            ("fmadd d0, d1, d2, d3", 0x1f42_0c20), ("fmsub s0, s1, s2, s3", 0x1f02_8c20),
            ("fnmadd d0, d1, d2, d3", 0x1f62_0c20), ("fnmsub s0, s1, s2, s3", 0x1f22_8c20),
            ("fcmp d1, d2", 0x1e62_2020), ("fcmpe s1, s2", 0x1e22_2030),
            ("fcmp d1, #0.0", 0x1e60_2028),
            ("fcvt d0, s1", 0x1e22_c020), ("fcvt s0, d1", 0x1e62_4020),
            ("fcvtzs w0, d1", 0x1e78_0020), ("fcvtzs x0, s1", 0x9e38_0020),
            ("fcvtzu w0, s1", 0x1e39_0020), ("fcvtzs x0, d1", 0x9e78_0020),
            ("fcvtzu w0, d1", 0x1e79_0020),
            ("scvtf d0, w1", 0x1e62_0020), ("scvtf s0, x1", 0x9e22_0020),
            ("ucvtf d0, w1", 0x1e63_0020), ("scvtf d0, x1", 0x9e62_0020),
            ("ucvtf s0, w1", 0x1e23_0020),
            ("fadd v0.4s, v1.4s, v2.4s", 0x4e22_d420), ("fadd v0.2s, v1.2s, v2.2s", 0x0e22_d420),
            ("fsub v0.2d, v1.2d, v2.2d", 0x4ee2_d420), ("fmul v0.4s, v1.4s, v2.4s", 0x6e22_dc20),
            ("fmul v0.2d, v1.2d, v2.2d", 0x6e62_dc20), ("fdiv v0.2s, v1.2s, v2.2s", 0x2e22_fc20),
            ("fdiv v0.2d, v1.2d, v2.2d", 0x6e62_fc20), ("fmla v0.4s, v1.4s, v2.4s", 0x4e22_cc20),
            ("fmla v0.2d, v1.2d, v2.2d", 0x4e62_cc20), ("fmls v0.2s, v1.2s, v2.2s", 0x0ea2_cc20),
            ("fmls v0.2d, v1.2d, v2.2d", 0x4ee2_cc20),
        ];
        let mut r = Rng(0x5eed_f00d_1234_5678);
        for &(name, w) in words {
            let (fast, slow) = (Runner::new(), Runner::new());
            for case in 0..4000 {
                let init = random_cpu(&mut r);
                let mut a = Cpu::new();
                let mut b = Cpu::new();
                for c in [&mut a, &mut b] {
                    c.x = init.x;
                    c.v = init.v;
                    c.fpsr = init.fpsr;
                    c.fpcr = init.fpcr;
                }
                fast.run_ok(&[w], &mut a);
                FAST_FP_OFF.with(|c| c.set(true));
                slow.run_ok(&[w], &mut b);
                FAST_FP_OFF.with(|c| c.set(false));
                let same = a.x == b.x && a.v == b.v && a.fpsr == b.fpsr && a.nzcv == b.nzcv;
                assert!(
                    same,
                    "{name} case {case}: fpcr {:#x} fpsr {:#x}, v1 {:x?} v2 {:x?} v3 {:x?} x1 {:#x}\n\
                     fast: v0 {:x?} x0 {:#x} nzcv {:#x} fpsr {:#x}\n\
                     helper: v0 {:x?} x0 {:#x} nzcv {:#x} fpsr {:#x}",
                    init.fpcr, init.fpsr, init.v[1], init.v[2], init.v[3], init.x[1],
                    a.v[0], a.x[0], a.nzcv, a.fpsr, b.v[0], b.x[0], b.nzcv, b.fpsr
                );
            }
        }
    }

    /// The VEX encodings of the fused operations used, against GNU as (dynasm's own
    /// `vfmadd231pd` comes out as `vfmadd231ps`, hence the spelled-out bytes).
    #[test]
    fn fma_encodings() {
        let mut a = Asm::new(0);
        dynasm!(a
            ; .arch x64
            ; .bytes super::VFMADD231PD_XMM2_XMM0_XMM1
            ; vfmadd231ps xmm2, xmm0, xmm1
            ; .bytes super::VFNMADD231PD_XMM2_XMM0_XMM1
            ; vfnmadd231ps xmm2, xmm0, xmm1
            ; vfmadd231sd xmm0, xmm1, xmm2
            ; vfmadd231ss xmm0, xmm1, xmm2
        );
        let code = a.finalize().unwrap();
        let gnu_as: [u8; 30] = [
            0xc4, 0xe2, 0xf9, 0xb8, 0xd1, 0xc4, 0xe2, 0x79, 0xb8, 0xd1, 0xc4, 0xe2, 0xf9, 0xbc,
            0xd1, 0xc4, 0xe2, 0x79, 0xbc, 0xd1, 0xc4, 0xe2, 0xf1, 0xb9, 0xc2, 0xc4, 0xe2, 0x71,
            0xb9, 0xc2,
        ];
        assert_eq!(code, gnu_as);
    }
}
