//! Lifters for Advanced SIMD LD1/ST1 (multiple structures, one to four registers),
//! without offset and post-indexed. Element size does not matter for LD1/ST1 on a
//! little-endian guest: each register is a contiguous 8 (Q=0) or 16 (Q=1) byte
//! transfer, which the IR's vector load/store do inline (Q=0 loads zero the upper half).
//! The interleaving forms (LD2–LD4/ST2–ST4) and single-lane forms live with the other
//! Advanced SIMD lifters.

use super::{bit, bits, Flow, Lifted, Lifter};
use crate::arm64::decode::{Class, Encoding};
use crate::arm64::disas;
use crate::ir::W;

pub const ENCODINGS: &[Encoding] = &[
    Encoding::new(
        "LD1/ST1 (multiple structures, 4 registers)",
        "0x001100_0x000000_0010xxxx_xxxxxxxx",
        Class::Simd,
        lift_ld1,
        dis_ld1,
    ),
    Encoding::new(
        "LD1/ST1 (multiple structures, 3 registers)",
        "0x001100_0x000000_0110xxxx_xxxxxxxx",
        Class::Simd,
        lift_ld1,
        dis_ld1,
    ),
    Encoding::new(
        "LD1/ST1 (multiple structures, 1 register)",
        "0x001100_0x000000_0111xxxx_xxxxxxxx",
        Class::Simd,
        lift_ld1,
        dis_ld1,
    ),
    Encoding::new(
        "LD1/ST1 (multiple structures, 2 registers)",
        "0x001100_0x000000_1010xxxx_xxxxxxxx",
        Class::Simd,
        lift_ld1,
        dis_ld1,
    ),
    Encoding::new(
        "LD1/ST1 (multiple structures, 4 registers, post-index)",
        "0x001100_1x0xxxxx_0010xxxx_xxxxxxxx",
        Class::Simd,
        lift_ld1,
        dis_ld1,
    ),
    Encoding::new(
        "LD1/ST1 (multiple structures, 3 registers, post-index)",
        "0x001100_1x0xxxxx_0110xxxx_xxxxxxxx",
        Class::Simd,
        lift_ld1,
        dis_ld1,
    ),
    Encoding::new(
        "LD1/ST1 (multiple structures, 1 register, post-index)",
        "0x001100_1x0xxxxx_0111xxxx_xxxxxxxx",
        Class::Simd,
        lift_ld1,
        dis_ld1,
    ),
    Encoding::new(
        "LD1/ST1 (multiple structures, 2 registers, post-index)",
        "0x001100_1x0xxxxx_1010xxxx_xxxxxxxx",
        Class::Simd,
        lift_ld1,
        dis_ld1,
    ),
];

fn nregs(w: u32) -> u32 {
    match bits(w, 15, 12) {
        0b0111 => 1,
        0b1010 => 2,
        0b0110 => 3,
        _ => 4,
    }
}

fn lift_ld1(l: &mut Lifter, w: u32) -> Lifted {
    let q = bit(w, 30);
    let load = bit(w, 22) == 1;
    let post = bit(w, 23) == 1;
    let (rn, rt, rm) = (bits(w, 9, 5), bits(w, 4, 0), bits(w, 20, 16));
    let n = nregs(w);
    let bytes = if q == 1 { 16u8 } else { 8 };
    let base = l.xsp(rn);
    for i in 0..n {
        let addr = if i == 0 {
            base
        } else {
            l.b.add_imm(W::W64, base, (i * bytes as u32) as u64)
        };
        let v = ((rt + i) % 32) as u8;
        if load {
            l.b.load_v(v, bytes, addr);
        } else {
            l.b.store_v(v, bytes, addr);
        }
    }
    if post {
        let off = if rm == 31 {
            l.konst((n * bytes as u32) as u64)
        } else {
            l.x(rm)
        };
        let nb = l.b.add(W::W64, base, off);
        l.set_xsp(W::W64, rn, nb);
    }
    Ok(Flow::Next)
}

fn dis_ld1(w: u32, _pc: u64) -> String {
    let q = bit(w, 30);
    let size = bits(w, 11, 10);
    let arr = ["8b", "16b", "4h", "8h", "2s", "4s", "1d", "2d"][(size * 2 + q) as usize];
    let regs = super::simd::dis::list(bits(w, 4, 0), nregs(w), arr);
    let m = if bit(w, 22) == 1 { "ld1" } else { "st1" };
    let rn = disas::rsp(bits(w, 9, 5), true);
    let mut s = format!("{m} {regs}, [{rn}]");
    if bit(w, 23) == 1 {
        let rm = bits(w, 20, 16);
        if rm == 31 {
            let n = nregs(w) * if q == 1 { 16 } else { 8 };
            s += &format!(", #{n}");
        } else {
            s += &format!(", x{rm}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use crate::arm64::cpu::{Cpu, VReg};
    use crate::engine::testing::run_ok;

    #[test]
    fn ld1_st1_round_trip_with_post_index() {
        let src: Vec<u8> = (0..64u8).collect();
        let mut dst = vec![0u8; 64];
        let mut cpu = Cpu::new();
        cpu.x[1] = src.as_ptr() as u64;
        cpu.x[2] = dst.as_mut_ptr() as u64;
        cpu.v[3] = VReg([u64::MAX, u64::MAX]);
        // ld1 {v0.16b, v1.16b}, [x1], #32 ; ld1 {v2.16b, v3.16b}, [x1]
        // st1 {v0.16b-v3.16b}, [x2]
        run_ok(&[0x4cdf_a020, 0x4c40_a022, 0x4c00_2040], &mut cpu);
        assert_eq!(dst, src);
        assert_eq!(cpu.x[1], src.as_ptr() as u64 + 32);
        // ld1 {v5.8b}, [x1]: Q=0 zeroes the upper half.
        cpu.v[5] = VReg([u64::MAX, u64::MAX]);
        run_ok(&[0x0c40_7025], &mut cpu);
        assert_eq!(cpu.v[5].0[1], 0);
        assert_eq!(
            cpu.v[5].0[0],
            u64::from_le_bytes(src[32..40].try_into().unwrap())
        );
    }

    #[test]
    fn disassembly() {
        assert_eq!(
            super::dis_ld1(0x4cdf_a020, 0),
            "ld1 {v0.16b, v1.16b}, [x1], #32"
        );
        assert_eq!(super::dis_ld1(0x4c00_2040, 0), "st1 {v0.16b-v3.16b}, [x2]");
    }
}
