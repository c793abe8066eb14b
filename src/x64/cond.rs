//! Condition codes and flags: Arm condition → x86 condition after a fused compare, the
//! packed-NZCV table, `setcc`/`jcc`, and packing x86 flags into Arm NZCV.

use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi};

use super::{Emitter, RAX, RCX, RDX};
use crate::ir::{FlagOp, Op, Val, W};

/// A 16-bit table per condition code: bit `nzcv` (N=8, Z=4, C=2, V=1) is set when the
/// condition holds for those flags.
pub(super) const fn cond_table() -> [u16; 16] {
    let mut t = [0u16; 16];
    let mut cc = 0;
    while cc < 16 {
        let mut f = 0;
        while f < 16 {
            let n = f & 8 != 0;
            let z = f & 4 != 0;
            let c = f & 2 != 0;
            let v = f & 1 != 0;
            let base = match cc >> 1 {
                0 => z,
                1 => c,
                2 => n,
                3 => v,
                4 => c && !z,
                5 => n == v,
                6 => n == v && !z,
                _ => true,
            };
            let r = if cc & 1 == 1 && cc != 15 { !base } else { base };
            if r {
                t[cc] |= 1 << f;
            }
            f += 1;
        }
        cc += 1;
    }
    t
}

pub const COND_TABLE: [u16; 16] = cond_table();

/// An x86 condition code (for `setcc`/`jcc`), or a constant outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum X86Cond {
    O,
    No,
    B,
    Ae,
    E,
    Ne,
    Be,
    A,
    S,
    Ns,
    L,
    Ge,
    Le,
    G,
    Always,
    Never,
}

/// The x86 condition that, right after the x86 instruction emitted for `op`, says
/// whether Arm condition `cc` holds for the Arm flags of `op` — when there is one.
pub(super) fn x86_cond(op: FlagOp, cc: u8) -> Option<X86Cond> {
    use X86Cond::*;
    let c = match op {
        // cmp: x86 CF is a borrow, Arm C its inverse.
        FlagOp::Sub => match cc {
            0 => E,
            1 => Ne,
            2 => Ae,
            3 => B,
            4 => S,
            5 => Ns,
            6 => O,
            7 => No,
            8 => A,
            9 => Be,
            10 => Ge,
            11 => L,
            12 => G,
            13 => Le,
            _ => Always,
        },
        // add: x86 CF is Arm C; HI/LS (C and Z together) have no single x86 code.
        FlagOp::Add => match cc {
            0 => E,
            1 => Ne,
            2 => B,
            3 => Ae,
            4 => S,
            5 => Ns,
            6 => O,
            7 => No,
            10 => Ge,
            11 => L,
            12 => G,
            13 => Le,
            14 | 15 => Always,
            _ => return None,
        },
        // test: C = V = 0.
        FlagOp::Logic => match cc {
            0 => E,
            1 => Ne,
            2 => Never,
            3 => Always,
            4 => S,
            5 => Ns,
            6 => Never,
            7 => Always,
            8 => Never,
            9 => Always,
            10 => Ns,
            11 => S,
            12 => G,
            13 => Le,
            _ => Always,
        },
        FlagOp::Adc | FlagOp::Sbc => return None,
    };
    Some(c)
}

impl X86Cond {
    pub(super) fn not(self) -> X86Cond {
        use X86Cond::*;
        match self {
            O => No,
            No => O,
            B => Ae,
            Ae => B,
            E => Ne,
            Ne => E,
            Be => A,
            A => Be,
            S => Ns,
            Ns => S,
            L => Ge,
            Ge => L,
            Le => G,
            G => Le,
            Always => Never,
            Never => Always,
        }
    }
}

impl Emitter<'_> {
    /// Load the operands of fused flags value `f` (rax, rcx, rdx) and free those whose
    /// last reader is instruction `i`. Returns the flag operation and width.
    pub(super) fn load_flag_operands(&mut self, f: Val, i: usize) -> (FlagOp, W) {
        let Op::Flags(fop, w, a, b, c) = self.block.insts[f.0 as usize].op else {
            unreachable!("fused value is not a Flags op")
        };
        self.load(RAX, a);
        self.load(RCX, b);
        if matches!(fop, FlagOp::Adc | FlagOp::Sbc) {
            self.load(RDX, c);
        }
        for v in [a, b, c] {
            if self.last_use[v.0 as usize] == i as u32 {
                self.release(v);
            }
        }
        (fop, w)
    }

    /// The x86 instruction whose flags correspond to `op` (operands in rax, rcx, rdx).
    pub(super) fn flag_op(&mut self, op: FlagOp, w: W) {
        let w64 = w == W::W64;
        match (op, w64) {
            (FlagOp::Add, true) => dynasm!(self.asm ; .arch x64 ; add rax, rcx),
            (FlagOp::Add, false) => dynasm!(self.asm ; .arch x64 ; add eax, ecx),
            (FlagOp::Sub, true) => dynasm!(self.asm ; .arch x64 ; cmp rax, rcx),
            (FlagOp::Sub, false) => dynasm!(self.asm ; .arch x64 ; cmp eax, ecx),
            (FlagOp::Adc, true) => dynasm!(self.asm ; .arch x64 ; bt edx, 0 ; adc rax, rcx),
            (FlagOp::Adc, false) => dynasm!(self.asm ; .arch x64 ; bt edx, 0 ; adc eax, ecx),
            (FlagOp::Sbc, true) => dynasm!(self.asm ; .arch x64 ; bt edx, 0 ; cmc ; sbb rax, rcx),
            (FlagOp::Sbc, false) => dynasm!(self.asm ; .arch x64 ; bt edx, 0 ; cmc ; sbb eax, ecx),
            (FlagOp::Logic, true) => dynasm!(self.asm ; .arch x64 ; test rax, rax),
            (FlagOp::Logic, false) => dynasm!(self.asm ; .arch x64 ; test eax, eax),
        }
    }

    /// eax = 1 if `c` holds for the current x86 flags, else 0.
    pub(super) fn setcc(&mut self, c: X86Cond) {
        use X86Cond::*;
        match c {
            O => dynasm!(self.asm ; .arch x64 ; seto al),
            No => dynasm!(self.asm ; .arch x64 ; setno al),
            B => dynasm!(self.asm ; .arch x64 ; setb al),
            Ae => dynasm!(self.asm ; .arch x64 ; setae al),
            E => dynasm!(self.asm ; .arch x64 ; sete al),
            Ne => dynasm!(self.asm ; .arch x64 ; setne al),
            Be => dynasm!(self.asm ; .arch x64 ; setbe al),
            A => dynasm!(self.asm ; .arch x64 ; seta al),
            S => dynasm!(self.asm ; .arch x64 ; sets al),
            Ns => dynasm!(self.asm ; .arch x64 ; setns al),
            L => dynasm!(self.asm ; .arch x64 ; setl al),
            Ge => dynasm!(self.asm ; .arch x64 ; setge al),
            Le => dynasm!(self.asm ; .arch x64 ; setle al),
            G => dynasm!(self.asm ; .arch x64 ; setg al),
            Always => dynasm!(self.asm ; .arch x64 ; mov al, 1),
            Never => dynasm!(self.asm ; .arch x64 ; mov al, 0),
        }
        dynasm!(self.asm ; .arch x64 ; movzx eax, al);
    }

    /// Jump to `l` if `c` holds for the current x86 flags.
    pub(super) fn jcc(&mut self, c: X86Cond, l: DynamicLabel) {
        use X86Cond::*;
        match c {
            O => dynasm!(self.asm ; .arch x64 ; jo =>l),
            No => dynasm!(self.asm ; .arch x64 ; jno =>l),
            B => dynasm!(self.asm ; .arch x64 ; jb =>l),
            Ae => dynasm!(self.asm ; .arch x64 ; jae =>l),
            E => dynasm!(self.asm ; .arch x64 ; je =>l),
            Ne => dynasm!(self.asm ; .arch x64 ; jne =>l),
            Be => dynasm!(self.asm ; .arch x64 ; jbe =>l),
            A => dynasm!(self.asm ; .arch x64 ; ja =>l),
            S => dynasm!(self.asm ; .arch x64 ; js =>l),
            Ns => dynasm!(self.asm ; .arch x64 ; jns =>l),
            L => dynasm!(self.asm ; .arch x64 ; jl =>l),
            Ge => dynasm!(self.asm ; .arch x64 ; jge =>l),
            Le => dynasm!(self.asm ; .arch x64 ; jle =>l),
            G => dynasm!(self.asm ; .arch x64 ; jg =>l),
            Always => dynasm!(self.asm ; .arch x64 ; jmp =>l),
            Never => {}
        }
    }

    /// eax = packed NZCV in, 0/1 out: does condition `cc` hold?
    pub(super) fn cond_from_packed(&mut self, cc: u8) {
        let t = COND_TABLE[cc as usize] as i32;
        dynasm!(self.asm
            ; .arch x64
            ; shr eax, 28
            ; mov ecx, t
            ; bt ecx, eax
            ; setc al
            ; movzx eax, al
        );
    }

    /// rax = a, rcx = b, rdx = carry: leave Arm NZCV (bits 31..28) in eax.
    pub(super) fn flags(&mut self, op: FlagOp, w: W) {
        self.flag_op(op, w);
        self.pack_flags(op);
    }

    /// Right after the x86 instruction for `op` ([`Emitter::flag_op`]): leave Arm NZCV
    /// (bits 31..28) in eax.
    pub(super) fn pack_flags(&mut self, op: FlagOp) {
        // Does x86 CF mean "borrow" (Arm C is its inverse)?
        let inv_c = matches!(op, FlagOp::Sub | FlagOp::Sbc);
        if inv_c {
            // Arm's C after a subtraction is "no borrow": x86's CF inverted (cmc leaves
            // SF, ZF and OF alone).
            dynasm!(self.asm ; .arch x64 ; cmc);
        }
        // ax = SF ZF 0 AF 0 PF 1 CF : 0000000 OF (lahf; seto). Keep SF (15), ZF (14),
        // CF (8) and OF (0) — only SF and ZF for logical ops, which clear C and V — and
        // move them to N (31), Z (30), C (29) and V (28) with one multiply by
        // 2^16 + 2^21 + 2^28: each target bit gets exactly one of the kept bits, the other
        // products land below bit 28 or above bit 31 (carry-free), and the final mask
        // drops them.
        dynasm!(self.asm ; .arch x64 ; lahf ; seto al);
        self.pack_ax(op, false);
    }

    /// ax = `lahf; seto al` after the x86 instruction for `op`: leave Arm NZCV in eax,
    /// inverting C when `flip_c` (a subtraction whose CF was not complemented).
    pub(super) fn pack_ax(&mut self, op: FlagOp, flip_c: bool) {
        let keep = if op == FlagOp::Logic { 0xc000 } else { 0xc101 };
        dynasm!(self.asm ; .arch x64 ; movzx eax, ax);
        if flip_c {
            dynasm!(self.asm ; .arch x64 ; xor eax, 0x100);
        }
        dynasm!(self.asm
            ; .arch x64
            ; and eax, keep
            ; imul eax, eax, 0x1021_0000
            ; and eax, 0xf000_0000u32 as i32
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cond_table_spot_checks() {
        let holds = |cc: usize, f: u16| COND_TABLE[cc] >> f & 1 == 1;
        // EQ with Z set
        assert!(holds(0, 4));
        assert!(!holds(0, 0));
        // HI: C && !Z
        assert!(holds(8, 2));
        assert!(!holds(8, 6));
        // GE: N == V
        assert!(holds(10, 9));
        assert!(!holds(10, 8));
        // AL and NV always
        assert_eq!(COND_TABLE[14], 0xffff);
        assert_eq!(COND_TABLE[15], 0xffff);
    }
}

#[cfg(test)]
mod fusion_tests {
    use super::COND_TABLE;
    use crate::arm64::cpu::Cpu;
    use crate::engine::testing::{run, END_BRK};
    use crate::engine::Exit;

    /// Arm NZCV (as a 4-bit N=8 Z=4 C=2 V=1 value) of `a op b` at `bits` width.
    fn reference(op: u8, a: u64, b: u64, bits: u32) -> u16 {
        let m = if bits == 64 { u64::MAX } else { 0xffff_ffff };
        let (a, b) = (a & m, b & m);
        let sign = 1u64 << (bits - 1);
        let (r, c, v) = match op {
            // cmp: a + !b + 1
            0 => {
                let r = a.wrapping_sub(b) & m;
                (r, a >= b, ((a ^ b) & (a ^ r) & sign) != 0)
            }
            // cmn: a + b
            1 => {
                let wide = a as u128 + b as u128;
                let r = (wide as u64) & m;
                (r, wide > m as u128, (!(a ^ b) & (a ^ r) & sign) != 0)
            }
            // tst: a & b
            _ => (a & b, false, false),
        };
        let n = r & sign != 0;
        ((n as u16) << 3) | (((r == 0) as u16) << 2) | ((c as u16) << 1) | v as u16
    }

    #[test]
    fn fused_compare_branch_and_cset_match_reference() {
        let vals: [u64; 9] = [
            0,
            1,
            2,
            0x7fff_ffff,
            0x8000_0000,
            0xffff_ffff,
            0x7fff_ffff_ffff_ffff,
            0x8000_0000_0000_0000,
            u64::MAX,
        ];
        // (op, 64-bit word, 32-bit word) for cmp, cmn, tst x1/w1 with x2/w2.
        let ops: [(u8, u32, u32); 3] = [
            (0, 0xeb02_003f, 0x6b02_003f),
            (1, 0xab02_003f, 0x2b02_003f),
            (2, 0xea02_003f, 0x6a02_003f),
        ];
        for (op, w64, w32) in ops {
            for (word, bits) in [(w64, 64), (w32, 32)] {
                for &a in &vals {
                    for &b in &vals {
                        let f = reference(op, a, b, bits);
                        for cc in 0u32..14 {
                            let want = COND_TABLE[cc as usize] >> f & 1 == 1;
                            // Fused compare + conditional branch.
                            let mut cpu = Cpu::new();
                            cpu.x[1] = a;
                            cpu.x[2] = b;
                            let e = run(&[word, 0x5400_0040 | cc, 0xd420_0020], &mut cpu);
                            let taken = e == Exit::Brk(END_BRK);
                            assert_eq!(
                                taken, want,
                                "b.{cc} after op {op}/{bits} a={a:#x} b={b:#x}"
                            );
                            // NZCV stored on both exit paths of the fused branch.
                            assert_eq!(cpu.nzcv >> 28, f as u64, "nzcv at b.{cc} op {op}");
                            // Fused compare + cset (materialised condition) + NZCV.
                            let mut cpu = Cpu::new();
                            cpu.x[1] = a;
                            cpu.x[2] = b;
                            let cset = 0x9a9f_07e0 | ((cc ^ 1) << 12);
                            let e = run(&[word, cset], &mut cpu);
                            assert_eq!(e, Exit::Brk(END_BRK));
                            assert_eq!(
                                cpu.x[0] == 1,
                                want,
                                "cset {cc} after op {op}/{bits} a={a:#x} b={b:#x}"
                            );
                            assert_eq!(cpu.nzcv >> 28, f as u64, "nzcv after op {op}/{bits}");
                        }
                    }
                }
            }
        }
    }
}
