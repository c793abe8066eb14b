//! The general path of integer operations: operands in `rax`, `rcx`, `rdx`, result in
//! `rax` (see [`super::int`] for the register-direct forms tried first).

use dynasmrt::{dynasm, DynasmApi, DynasmLabelApi};

use super::{Emitter, RAX};
use crate::ir::{BinOp, UnOp, Val, W};

impl Emitter<'_> {
    pub(super) fn bin_reg(&mut self, op: BinOp, w: W, r: u8) {
        match (op, w) {
            (BinOp::Add, W::W64) => dynasm!(self.asm ; .arch x64 ; add rax, Rq(r)),
            (BinOp::Add, W::W32) => dynasm!(self.asm ; .arch x64 ; add eax, Rd(r)),
            (BinOp::Sub, W::W64) => dynasm!(self.asm ; .arch x64 ; sub rax, Rq(r)),
            (BinOp::Sub, W::W32) => dynasm!(self.asm ; .arch x64 ; sub eax, Rd(r)),
            (BinOp::And, W::W64) => dynasm!(self.asm ; .arch x64 ; and rax, Rq(r)),
            (BinOp::And, W::W32) => dynasm!(self.asm ; .arch x64 ; and eax, Rd(r)),
            (BinOp::Or, W::W64) => dynasm!(self.asm ; .arch x64 ; or rax, Rq(r)),
            (BinOp::Or, W::W32) => dynasm!(self.asm ; .arch x64 ; or eax, Rd(r)),
            (BinOp::Xor, W::W64) => dynasm!(self.asm ; .arch x64 ; xor rax, Rq(r)),
            (BinOp::Xor, W::W32) => dynasm!(self.asm ; .arch x64 ; xor eax, Rd(r)),
            (BinOp::Mul, W::W64) => dynasm!(self.asm ; .arch x64 ; imul rax, Rq(r)),
            (BinOp::Mul, W::W32) => dynasm!(self.asm ; .arch x64 ; imul eax, Rd(r)),
            _ => unreachable!("bin_reg: {op:?}"),
        }
    }

    pub(super) fn bin(&mut self, op: BinOp, w: W) {
        // rax = a, rcx = b
        match (op, w) {
            (BinOp::Add, W::W64) => dynasm!(self.asm ; .arch x64 ; add rax, rcx),
            (BinOp::Add, W::W32) => dynasm!(self.asm ; .arch x64 ; add eax, ecx),
            (BinOp::Sub, W::W64) => dynasm!(self.asm ; .arch x64 ; sub rax, rcx),
            (BinOp::Sub, W::W32) => dynasm!(self.asm ; .arch x64 ; sub eax, ecx),
            (BinOp::And, W::W64) => dynasm!(self.asm ; .arch x64 ; and rax, rcx),
            (BinOp::And, W::W32) => dynasm!(self.asm ; .arch x64 ; and eax, ecx),
            (BinOp::Or, W::W64) => dynasm!(self.asm ; .arch x64 ; or rax, rcx),
            (BinOp::Or, W::W32) => dynasm!(self.asm ; .arch x64 ; or eax, ecx),
            (BinOp::Xor, W::W64) => dynasm!(self.asm ; .arch x64 ; xor rax, rcx),
            (BinOp::Xor, W::W32) => dynasm!(self.asm ; .arch x64 ; xor eax, ecx),
            (BinOp::AndNot, W::W64) => dynasm!(self.asm ; .arch x64 ; not rcx ; and rax, rcx),
            (BinOp::AndNot, W::W32) => dynasm!(self.asm ; .arch x64 ; not ecx ; and eax, ecx),
            (BinOp::OrNot, W::W64) => dynasm!(self.asm ; .arch x64 ; not rcx ; or rax, rcx),
            (BinOp::OrNot, W::W32) => dynasm!(self.asm ; .arch x64 ; not ecx ; or eax, ecx),
            (BinOp::XorNot, W::W64) => dynasm!(self.asm ; .arch x64 ; not rcx ; xor rax, rcx),
            (BinOp::XorNot, W::W32) => dynasm!(self.asm ; .arch x64 ; not ecx ; xor eax, ecx),
            (BinOp::Shl, W::W64) => dynasm!(self.asm ; .arch x64 ; shl rax, cl),
            (BinOp::Shl, W::W32) => dynasm!(self.asm ; .arch x64 ; shl eax, cl ; mov eax, eax),
            (BinOp::Lshr, W::W64) => dynasm!(self.asm ; .arch x64 ; shr rax, cl),
            (BinOp::Lshr, W::W32) => dynasm!(self.asm ; .arch x64 ; shr eax, cl ; mov eax, eax),
            (BinOp::Ashr, W::W64) => dynasm!(self.asm ; .arch x64 ; sar rax, cl),
            (BinOp::Ashr, W::W32) => dynasm!(self.asm ; .arch x64 ; sar eax, cl ; mov eax, eax),
            (BinOp::Ror, W::W64) => dynasm!(self.asm ; .arch x64 ; ror rax, cl),
            (BinOp::Ror, W::W32) => dynasm!(self.asm ; .arch x64 ; ror eax, cl ; mov eax, eax),
            (BinOp::Mul, W::W64) => dynasm!(self.asm ; .arch x64 ; imul rax, rcx),
            (BinOp::Mul, W::W32) => dynasm!(self.asm ; .arch x64 ; imul eax, ecx),
            (BinOp::UMulH, _) => dynasm!(self.asm ; .arch x64 ; mul rcx ; mov rax, rdx),
            (BinOp::SMulH, _) => dynasm!(self.asm ; .arch x64 ; imul rcx ; mov rax, rdx),
            (BinOp::UDiv, W::W64) => dynasm!(self.asm
                ; .arch x64
                ; test rcx, rcx
                ; jz >zero
                ; xor edx, edx
                ; div rcx
                ; jmp >done
                ; zero:
                ; xor eax, eax
                ; done:
            ),
            (BinOp::UDiv, W::W32) => dynasm!(self.asm
                ; .arch x64
                ; test ecx, ecx
                ; jz >zero
                ; xor edx, edx
                ; div ecx
                ; jmp >done
                ; zero:
                ; xor eax, eax
                ; done:
            ),
            (BinOp::SDiv, W::W64) => dynasm!(self.asm
                ; .arch x64
                ; test rcx, rcx
                ; jz >zero
                ; cmp rcx, -1
                ; je >neg
                ; cqo
                ; idiv rcx
                ; jmp >done
                ; neg:
                ; neg rax
                ; jmp >done
                ; zero:
                ; xor eax, eax
                ; done:
            ),
            (BinOp::SDiv, W::W32) => dynasm!(self.asm
                ; .arch x64
                ; test ecx, ecx
                ; jz >zero
                ; cmp ecx, -1
                ; je >neg
                ; cdq
                ; idiv ecx
                ; jmp >done
                ; neg:
                ; neg eax
                ; jmp >done
                ; zero:
                ; xor eax, eax
                ; done:
            ),
        }
    }

    /// `rax = a op c` with `c` as an immediate, when x86 has such a form and `c` fits.
    /// Returns false (emitting nothing) otherwise.
    pub(super) fn bin_imm(&mut self, op: BinOp, w: W, a: Val, c: u64, a_in_rax: bool) -> bool {
        let w64 = w == W::W64;
        // The immediate as x86 sees it: sign-extended 32 bits (64-bit ops) or the low
        // 32 bits (32-bit ops, where the value is taken modulo 2^32).
        let imm = if w64 {
            match i32::try_from(c as i64) {
                Ok(v) => v,
                Err(_) => return false,
            }
        } else {
            c as u32 as i32
        };
        let sh = (c & if w64 { 63 } else { 31 }) as i8;
        let ok = matches!(
            op,
            BinOp::Add
                | BinOp::Sub
                | BinOp::And
                | BinOp::Or
                | BinOp::Xor
                | BinOp::Shl
                | BinOp::Lshr
                | BinOp::Ashr
                | BinOp::Ror
        );
        if !ok {
            return false;
        }
        if !a_in_rax {
            self.load(RAX, a);
        }
        if sh == 0 && matches!(op, BinOp::Shl | BinOp::Lshr | BinOp::Ashr | BinOp::Ror) {
            // A shift by zero is the (zero-extended) value itself.
            if !w64 {
                dynasm!(self.asm ; .arch x64 ; mov eax, eax);
            }
            return true;
        }
        match (op, w64) {
            (BinOp::Add, true) => dynasm!(self.asm ; .arch x64 ; add rax, imm),
            (BinOp::Add, false) => dynasm!(self.asm ; .arch x64 ; add eax, imm),
            (BinOp::Sub, true) => dynasm!(self.asm ; .arch x64 ; sub rax, imm),
            (BinOp::Sub, false) => dynasm!(self.asm ; .arch x64 ; sub eax, imm),
            (BinOp::And, true) => dynasm!(self.asm ; .arch x64 ; and rax, imm),
            (BinOp::And, false) => dynasm!(self.asm ; .arch x64 ; and eax, imm),
            (BinOp::Or, true) => dynasm!(self.asm ; .arch x64 ; or rax, imm),
            (BinOp::Or, false) => dynasm!(self.asm ; .arch x64 ; or eax, imm),
            (BinOp::Xor, true) => dynasm!(self.asm ; .arch x64 ; xor rax, imm),
            (BinOp::Xor, false) => dynasm!(self.asm ; .arch x64 ; xor eax, imm),
            (BinOp::Shl, true) => dynasm!(self.asm ; .arch x64 ; shl rax, sh),
            (BinOp::Shl, false) => dynasm!(self.asm ; .arch x64 ; shl eax, sh),
            (BinOp::Lshr, true) => dynasm!(self.asm ; .arch x64 ; shr rax, sh),
            (BinOp::Lshr, false) => dynasm!(self.asm ; .arch x64 ; shr eax, sh),
            (BinOp::Ashr, true) => dynasm!(self.asm ; .arch x64 ; sar rax, sh),
            (BinOp::Ashr, false) => dynasm!(self.asm ; .arch x64 ; sar eax, sh),
            (BinOp::Ror, true) => dynasm!(self.asm ; .arch x64 ; ror rax, sh),
            (BinOp::Ror, false) => dynasm!(self.asm ; .arch x64 ; ror eax, sh),
            _ => unreachable!(),
        }
        true
    }

    pub(super) fn un(&mut self, op: UnOp, w: W) {
        let w64 = w == W::W64;
        match op {
            UnOp::Not => {
                if w64 {
                    dynasm!(self.asm ; .arch x64 ; not rax)
                } else {
                    dynasm!(self.asm ; .arch x64 ; not eax)
                }
            }
            UnOp::Neg => {
                if w64 {
                    dynasm!(self.asm ; .arch x64 ; neg rax)
                } else {
                    dynasm!(self.asm ; .arch x64 ; neg eax)
                }
            }
            UnOp::Clz => self.clz(w64),
            UnOp::Cls => {
                // cls(x) = clz(x ^ (x >>arith 1)) - 1
                if w64 {
                    dynasm!(self.asm ; .arch x64 ; mov rcx, rax ; sar rcx, 1 ; xor rax, rcx);
                } else {
                    dynasm!(self.asm ; .arch x64 ; mov ecx, eax ; sar ecx, 1 ; xor eax, ecx);
                }
                self.clz(w64);
                dynasm!(self.asm ; .arch x64 ; dec eax);
            }
            UnOp::Rbit => {
                if w64 {
                    dynasm!(self.asm
                        ; .arch x64
                        ; mov rdx, QWORD 0x5555_5555_5555_5555
                        ; mov rcx, rax ; shr rax, 1 ; and rax, rdx ; and rcx, rdx ; shl rcx, 1 ; or rax, rcx
                        ; mov rdx, QWORD 0x3333_3333_3333_3333
                        ; mov rcx, rax ; shr rax, 2 ; and rax, rdx ; and rcx, rdx ; shl rcx, 2 ; or rax, rcx
                        ; mov rdx, QWORD 0x0f0f_0f0f_0f0f_0f0f
                        ; mov rcx, rax ; shr rax, 4 ; and rax, rdx ; and rcx, rdx ; shl rcx, 4 ; or rax, rcx
                        ; bswap rax
                    )
                } else {
                    dynasm!(self.asm
                        ; .arch x64
                        ; mov edx, 0x5555_5555
                        ; mov ecx, eax ; shr eax, 1 ; and eax, edx ; and ecx, edx ; shl ecx, 1 ; or eax, ecx
                        ; mov edx, 0x3333_3333
                        ; mov ecx, eax ; shr eax, 2 ; and eax, edx ; and ecx, edx ; shl ecx, 2 ; or eax, ecx
                        ; mov edx, 0x0f0f_0f0f
                        ; mov ecx, eax ; shr eax, 4 ; and eax, edx ; and ecx, edx ; shl ecx, 4 ; or eax, ecx
                        ; bswap eax
                    )
                }
            }
            UnOp::Rev => {
                if w64 {
                    dynasm!(self.asm ; .arch x64 ; bswap rax)
                } else {
                    dynasm!(self.asm ; .arch x64 ; bswap eax)
                }
            }
            UnOp::Rev16 => {
                if w64 {
                    dynasm!(self.asm
                        ; .arch x64
                        ; mov rdx, QWORD 0x00ff_00ff_00ff_00ff
                        ; mov rcx, rax ; shr rax, 8 ; and rax, rdx ; and rcx, rdx ; shl rcx, 8 ; or rax, rcx
                    )
                } else {
                    dynasm!(self.asm
                        ; .arch x64
                        ; mov edx, 0x00ff_00ff
                        ; mov ecx, eax ; shr eax, 8 ; and eax, edx ; and ecx, edx ; shl ecx, 8 ; or eax, ecx
                    )
                }
            }
            UnOp::Rev32 => {
                if w64 {
                    dynasm!(self.asm ; .arch x64 ; bswap rax ; ror rax, 32)
                } else {
                    dynasm!(self.asm ; .arch x64 ; bswap eax)
                }
            }
            UnOp::Zext8 => dynasm!(self.asm ; .arch x64 ; movzx eax, al),
            UnOp::Zext16 => dynasm!(self.asm ; .arch x64 ; movzx eax, ax),
            UnOp::Zext32 => dynasm!(self.asm ; .arch x64 ; mov eax, eax),
            UnOp::Sext8 => {
                if w64 {
                    dynasm!(self.asm ; .arch x64 ; movsx rax, al)
                } else {
                    dynasm!(self.asm ; .arch x64 ; movsx eax, al)
                }
            }
            UnOp::Sext16 => {
                if w64 {
                    dynasm!(self.asm ; .arch x64 ; movsx rax, ax)
                } else {
                    dynasm!(self.asm ; .arch x64 ; movsx eax, ax)
                }
            }
            UnOp::Sext32 => {
                if w64 {
                    dynasm!(self.asm ; .arch x64 ; movsxd rax, eax)
                } else {
                    dynasm!(self.asm ; .arch x64 ; mov eax, eax)
                }
            }
        }
    }

    pub(super) fn clz(&mut self, w64: bool) {
        if w64 {
            dynasm!(self.asm
                ; .arch x64
                ; bsr rax, rax
                ; mov ecx, 127
                ; cmovz eax, ecx
                ; xor eax, 63
            )
        } else {
            dynasm!(self.asm
                ; .arch x64
                ; bsr eax, eax
                ; mov ecx, 63
                ; cmovz eax, ecx
                ; xor eax, 31
            )
        }
    }
}
