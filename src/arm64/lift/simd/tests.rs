//! Per-instruction tests of the Advanced SIMD lifters (encodings from
//! `aarch64-linux-gnu-as`; expected values from the Arm ARM pseudocode, several
//! cross-checked against `qemu-aarch64-static`).

use super::*;
use crate::engine::testing::{run, run_ok};
use crate::engine::Exit;

const A: u128 = 0x0f0e_0d0c_0b0a_0908_0706_0504_0302_0100;
const B: u128 = 0xf0e1_d2c3_b4a5_9687_7869_5a4b_3c2d_1e0f;

fn cpu() -> Box<Cpu> {
    let mut c = Cpu::new();
    for i in 0..32 {
        c.v[i] = VReg::from_u128(0xdead_beef_0000_0000_0000_0000_0000_0000 | i as u128);
    }
    c
}

fn v(c: &Cpu, n: usize) -> u128 {
    c.v[n].as_u128()
}

/// Run one word with `V[n] = val` for each `(n, val)`, return the CPU.
fn exec(word: u32, regs: &[(usize, u128)]) -> Box<Cpu> {
    let mut c = cpu();
    for &(n, val) in regs {
        c.v[n] = VReg::from_u128(val);
    }
    run_ok(&[word], &mut c);
    c
}

/// Run one word and return V0.
fn v0(word: u32, regs: &[(usize, u128)]) -> u128 {
    v(&exec(word, regs), 0)
}

fn undefined(word: u32) {
    let mut c = cpu();
    assert_eq!(run(&[word], &mut c), Exit::Undefined(word), "{word:#010x}");
}

fn dis(word: u32) -> String {
    crate::arm64::decode::disassemble(word, 0)
}

#[test]
fn dup_ins_umov_smov() {
    // dup v0.4s, v1.s[2]
    assert_eq!(
        v0(0x4e14_0420, &[(1, A)]),
        0x0b0a_0908_0b0a_0908_0b0a_0908_0b0a_0908
    );
    // dup v0.16b, w3
    let mut c = cpu();
    c.x[3] = 0x1234_56ab;
    run_ok(&[0x4e01_0c60], &mut c);
    assert_eq!(v(&c, 0), 0xabab_abab_abab_abab_abab_abab_abab_abab);
    // dup v0.2d, x3
    run_ok(&[0x4e08_0c60], &mut c);
    assert_eq!(v(&c, 0), 0x0000_0000_1234_56ab_0000_0000_1234_56ab);
    // dup v0.8b, w3 (Q=0 zeroes the top)
    run_ok(&[0x0e01_0c60], &mut c);
    assert_eq!(v(&c, 0), 0xabab_abab_abab_abab);
    // mov b0, v1.b[3] / mov d0, v1.d[1]
    assert_eq!(v0(0x5e07_0420, &[(1, A)]), 3);
    assert_eq!(v0(0x5e18_0420, &[(1, A)]), A >> 64);
    // mov v0.s[1], w2
    let mut c = cpu();
    c.v[0] = VReg::from_u128(A);
    c.x[2] = 0xffff_ffff_8765_4321;
    run_ok(&[0x4e0c_1c40], &mut c);
    assert_eq!(
        v(&c, 0),
        (A & !(0xffff_ffffu128 << 32)) | (0x8765_4321u128 << 32)
    );
    // mov v0.s[1], v3.s[0]
    let r = v0(0x6e0c_0460, &[(0, A), (3, B)]);
    assert_eq!(
        r,
        (A & !(0xffff_ffffu128 << 32)) | ((B & 0xffff_ffff) << 32)
    );
    // umov w0, v1.b[3]; mov w0, v1.s[1]; mov x0, v1.d[1]; smov x0, v1.h[2]
    let mut c = cpu();
    c.v[1] = VReg::from_u128(B);
    c.x[0] = u64::MAX;
    run_ok(&[0x0e07_3c20], &mut c);
    assert_eq!(c.x[0], 0x3c);
    run_ok(&[0x0e0c_3c20], &mut c);
    assert_eq!(c.x[0], 0x7869_5a4b);
    run_ok(&[0x4e18_3c20], &mut c);
    assert_eq!(c.x[0], 0xf0e1_d2c3_b4a5_9687);
    run_ok(&[0x4e0a_2c20], &mut c);
    assert_eq!(c.x[0], 0x5a4b);
    c.v[1] = VReg::from_u128(0x8000 << 32);
    run_ok(&[0x4e0a_2c20], &mut c);
    assert_eq!(c.x[0], 0xffff_ffff_ffff_8000);
    // smov w0, v1.h[2]: 32-bit sign extension, upper half zero
    run_ok(&[0x0e0a_2c20], &mut c);
    assert_eq!(c.x[0], 0xffff_8000);
    // reserved: dup v0.1d (Q=0, size=3), umov w0 of a d element, smov w0 of an s element
    undefined(0x0e08_0420);
    undefined(0x0e18_3c20);
    undefined(0x0e0c_2c20);
    undefined(0x0e10_0420);
    assert_eq!(dis(0x4e14_0420), "dup v0.4s, v1.s[2]");
    assert_eq!(dis(0x4e0c_1c40), "mov v0.s[1], w2");
    assert_eq!(dis(0x6e0c_0460), "mov v0.s[1], v3.s[0]");
    assert_eq!(dis(0x0e07_3c20), "umov w0, v1.b[3]");
    assert_eq!(dis(0x4e18_3c20), "mov x0, v1.d[1]");
    assert_eq!(dis(0x4e0a_2c20), "smov x0, v1.h[2]");
    assert_eq!(dis(0x5e07_0420), "mov b0, v1.b[3]");
}

#[test]
fn modified_immediate() {
    // movi v0.16b, #0x1
    assert_eq!(
        v0(0x4f00_e420, &[]),
        0x0101_0101_0101_0101_0101_0101_0101_0101
    );
    // movi v0.4s, #0x20, lsl #8
    assert_eq!(v0(0x4f01_2400, &[]), 0x2000_0000_2000_0000_2000_0000_2000);
    // movi v0.2d, #0xff00ff00ff00ff00
    assert_eq!(
        v0(0x6f05_e540, &[]),
        0xff00_ff00_ff00_ff00_ff00_ff00_ff00_ff00
    );
    // movi d0, #0
    assert_eq!(v0(0x2f00_e400, &[(0, A)]), 0);
    // mvni v0.4s, #0x1, msl #8  -> !(0x1ff)
    assert_eq!(
        v0(0x6f00_c420, &[]),
        0xffff_fe00_ffff_fe00_ffff_fe00_ffff_fe00
    );
    // orr v0.4s, #0x1, lsl #8
    assert_eq!(
        v0(0x4f00_3420, &[(0, A)]),
        A | 0x0100_0000_0100_0000_0100_0000_0100
    );
    // bic v0.8h, #0x3
    assert_eq!(
        v0(0x6f00_9460, &[(0, u128::MAX)]),
        0xfffc_fffc_fffc_fffc_fffc_fffc_fffc_fffc
    );
    // orr v0.2s, #0x1 (Q=0): upper half cleared
    assert_eq!(
        v0(0x0f00_1420, &[(0, A)]),
        (A & u64::MAX as u128) | 0x0000_0001_0000_0001
    );
    // fmov v0.4s, #1.0; fmov v0.2d, #-0.125
    assert_eq!(
        v0(0x4f03_f600, &[]),
        0x3f80_0000_3f80_0000_3f80_0000_3f80_0000
    );
    assert_eq!(
        v0(0x6f06_f400, &[]),
        0xbfc0_0000_0000_0000_bfc0_0000_0000_0000
    );
    // fmov v0.2d with Q=0 is reserved
    undefined(0x2f06_f400);
    assert_eq!(dis(0x4f01_2400), "movi v0.4s, #0x20, lsl #8");
    assert_eq!(dis(0x6f00_c420), "mvni v0.4s, #0x1, msl #8");
    assert_eq!(dis(0x2f00_e400), "movi d0, #0x0");
    assert_eq!(dis(0x6f05_e540), "movi v0.2d, #0xff00ff00ff00ff00");
    assert_eq!(dis(0x6f00_9460), "bic v0.8h, #0x3");
    assert_eq!(dis(0x4f03_f600), "fmov v0.4s, #1.000000000000000000e+00");
    assert_eq!(dis(0x6f06_f400), "fmov v0.2d, #-1.250000000000000000e-01");
}

#[test]
fn bitwise_not_ext() {
    let (n, m) = (A, B);
    // and/bic/orr/orn/eor v0.16b, v1.16b, v2.16b
    let regs = [(1, n), (2, m)];
    assert_eq!(v0(0x4e22_1c20, &regs), n & m);
    assert_eq!(v0(0x4e62_1c20, &regs), n & !m);
    assert_eq!(v0(0x4ea2_1c20, &regs), n | m);
    assert_eq!(v0(0x4ee2_1c20, &regs), n | !m);
    assert_eq!(v0(0x6e22_1c20, &regs), n ^ m);
    // 8b form zeroes the top
    assert_eq!(v0(0x2e22_1c20, &regs), (n ^ m) & u64::MAX as u128);
    let d = 0x00ff_00ff_0f0f_f0f0_1234_5678_9abc_def0u128;
    let regs = [(0, d), (1, n), (2, m)];
    // bsl/bit/bif v0.16b, v1.16b, v2.16b
    assert_eq!(v0(0x6e62_1c20, &regs), (d & n) | (!d & m));
    assert_eq!(v0(0x6ea2_1c20, &regs), (n & m) | (d & !m));
    assert_eq!(v0(0x6ee2_1c20, &regs), (n & !m) | (d & m));
    // mvn v0.16b, v1.16b
    assert_eq!(v0(0x6e20_5820, &[(1, n)]), !n);
    // ext v0.16b, v1.16b, v2.16b, #3
    assert_eq!(v0(0x6e02_1820, &[(1, n), (2, m)]), (n >> 24) | (m << 104));
    // ext v0.16b, v1.16b, v2.16b, #8 / #0
    assert_eq!(v0(0x6e02_4020, &[(1, n), (2, m)]), (n >> 64) | (m << 64));
    assert_eq!(v0(0x6e02_0020, &[(1, n), (2, m)]), n);
    // ext v0.8b, v1.8b, v2.8b, #5
    let lo = |x: u128| x & u64::MAX as u128;
    assert_eq!(
        v0(0x2e02_2820, &[(1, n), (2, m)]),
        lo((lo(n) >> 40) | (lo(m) << 24))
    );
    undefined(0x2e02_4020); // ext .8b with imm4 >= 8
    assert_eq!(dis(0x4ea1_1c20), "mov v0.16b, v1.16b");
    assert_eq!(dis(0x0ea2_1c20), "orr v0.8b, v1.8b, v2.8b");
    assert_eq!(dis(0x6e20_5820), "mvn v0.16b, v1.16b");
    assert_eq!(dis(0x6e02_1820), "ext v0.16b, v1.16b, v2.16b, #3");
}

/// Development aid: random words of every SIMD row with our disassembly and whether the
/// lifter accepts them, for comparison with `aarch64-linux-gnu-objdump` (see
/// `scripts/` or run by hand: `cargo test --lib simd::tests::dump_rows -- --ignored`).
#[test]
#[ignore]
fn dump_rows() {
    use crate::arm64::lift::{CpuFeatures, LiftError};
    use crate::ir::Builder;
    use std::fmt::Write as _;
    let n: usize = std::env::var("SIMD_DUMP_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    let out = std::env::var("SIMD_DUMP_OUT").unwrap_or("/tmp/simd_rows.txt".into());
    let features = CpuFeatures::default();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut s = String::new();
    for e in ENCODINGS {
        for _ in 0..n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let word = e.value | (x as u32 & !e.mask);
            let mut l = Lifter {
                b: Builder::new(0),
                pc: 0,
                features: &features,
            };
            let ok = !matches!((e.lift)(&mut l, word), Err(LiftError::Undefined));
            let d = crate::arm64::decode::decode(word)
                .map(|r| r.name)
                .unwrap_or("?");
            writeln!(s, "{word:08x}\t{}\t{}\t{}", ok as u8, d, (e.disas)(word, 0)).unwrap();
        }
    }
    std::fs::write(out, s).unwrap();
}
