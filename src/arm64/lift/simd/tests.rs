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

/// A small xorshift generator for the randomised tests (also used by the backend's).
pub(crate) struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Uniform-ish in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// A vector value whose elements (of a random size) are edge values: integer
    /// ones, or (a third of the time) floating-point ones.
    fn vec(&mut self) -> u128 {
        if self.next().is_multiple_of(3) {
            return self.fvec();
        }
        let es = 8u32 << (self.next() % 4);
        let m = elem::mask(es);
        let mut r = 0u128;
        for i in 0..(128 / es) as usize {
            let x = match self.next() % 9 {
                0 => 0,
                1 => 1,
                2 => m,
                3 => m >> 1,
                4 => (m >> 1) + 1,
                5 => (m >> 1) - 1,
                6 => (m >> 1) + 2,
                7 => self.next() % 16,
                _ => self.next(),
            };
            elem::set(&mut r, es, i, x);
        }
        r
    }
    /// A vector of single or double precision edge values.
    fn fvec(&mut self) -> u128 {
        let double = self.next().is_multiple_of(2);
        let (es, f, e): (u32, u32, u32) = if double { (64, 52, 11) } else { (32, 23, 8) };
        let exp_mask = ((1u64 << e) - 1) << f;
        let bias = (1u64 << (e - 1)) - 1;
        let mut r = 0u128;
        for i in 0..(128 / es) as usize {
            let sign = (self.next() & 1) << (es - 1);
            let frac = self.next() & ((1 << f) - 1);
            let x = match self.next() % 12 {
                0 => 0,
                1 => exp_mask,                                        // infinity
                2 => exp_mask | (1 << (f - 1)) | frac,                // quiet NaN
                3 => exp_mask | (frac >> 1) | 1,                      // signalling NaN
                4 => frac,                                            // denormal
                5 => bias << f,                                       // 1.0
                6 => exp_mask - 1,                                    // max normal
                7 => (bias + self.next() % 40) << f | (frac & !0xff), // integer-ish
                8 => (1 << f) | frac,                                 // tiny normal
                9 => (2 * bias - 1) << f | frac,                      // huge
                _ => ((bias - 20 + self.next() % 40) << f) | frac,
            };
            elem::set(&mut r, es, i, x | sign);
        }
        r
    }
}

/// FPCR values the differential tests run under (FZ, DN, rounding modes, AHP).
const FPCRS: [u64; 8] = [
    0,
    0,
    0,
    1 << 24,
    1 << 25,
    1 << 22,
    2 << 22,
    (3 << 22) | (1 << 24) | (1 << 26),
];

/// Differential test against `qemu-aarch64-static`: random words of every
/// register-to-register SIMD row, run on random edge-value states under qemu and
/// under the engine; all of X0–X27, V0–V31 and FPSR must agree. Needs
/// `aarch64-linux-gnu-gcc` and `qemu-aarch64-static`; run with
/// `cargo test --lib simd::tests::qemu_diff -- --ignored` (`SIMD_DIFF_N` words per row).
#[test]
#[ignore]
fn qemu_diff() {
    use crate::arm64::lift::{CpuFeatures, LiftError};
    use crate::ir::Builder;
    use std::fmt::Write as _;
    use std::process::Command;
    let n: usize = std::env::var("SIMD_DIFF_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    let only = std::env::var("SIMD_DIFF_ONLY").ok();
    let features = CpuFeatures::default();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    const STATES: usize = 32;
    let states: Vec<([u128; 32], [u64; 28])> = (0..STATES)
        .map(|_| {
            let mut v = [0u128; 32];
            v.iter_mut().for_each(|x| *x = rng.vec());
            let mut x = [0u64; 28];
            x.iter_mut().for_each(|r| *r = rng.vec() as u64);
            (v, x)
        })
        .collect();
    let mut cases: Vec<(u32, usize, u64)> = Vec::new();
    for e in ENCODINGS {
        if only.as_deref().is_some_and(|o| !e.name.contains(o)) {
            continue;
        }
        // Structure loads/stores touch memory: tested separately.
        if e.value & 0x0a00_0000 == 0x0800_0000 {
            continue;
        }
        let mut got = 0;
        for _ in 0..n * 20 {
            if got == n {
                break;
            }
            let word = e.value | (rng.next() as u32 & !e.mask);
            if (28..31).contains(&(word & 31)) || (28..31).contains(&((word >> 5) & 31)) {
                continue;
            }
            let mut l = Lifter {
                b: Builder::new(0),
                pc: 0,
                features: &features,
            };
            if matches!((e.lift)(&mut l, word), Err(LiftError::Undefined)) {
                continue;
            }
            got += 1;
            cases.push((
                word,
                rng.next() as usize % STATES,
                FPCRS[rng.next() as usize % 8],
            ));
        }
    }
    let dir = std::env::temp_dir().join(format!("ferrite-simd-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut s = String::from(".text\n.global _start\n_start:\n");
    const OUT: usize = 28 * 8 + 32 * 16 + 8;
    for (i, &(word, st, fpcr)) in cases.iter().enumerate() {
        writeln!(s, "ldr x28, ={fpcr:#x}\nmsr fpcr, x28\nldr x28, =st{st}").unwrap();
        for r in 0..8 {
            writeln!(s, "ld1 {{v{}.16b-v{}.16b}}, [x28], #64", 4 * r, 4 * r + 3).unwrap();
        }
        for r in 0..14 {
            writeln!(s, "ldp x{}, x{}, [x28], #16", 2 * r, 2 * r + 1).unwrap();
        }
        writeln!(
            s,
            "msr fpsr, xzr\n.inst {word:#010x}\nldr x28, =out+{}",
            i * OUT
        )
        .unwrap();
        for r in 0..14 {
            writeln!(s, "stp x{}, x{}, [x28], #16", 2 * r, 2 * r + 1).unwrap();
        }
        for r in 0..8 {
            writeln!(s, "st1 {{v{}.16b-v{}.16b}}, [x28], #64", 4 * r, 4 * r + 3).unwrap();
        }
        writeln!(s, "mrs x0, fpsr\nstr x0, [x28]").unwrap();
        if i % 64 == 63 {
            writeln!(s, "b 1f\n.ltorg\n1:").unwrap();
        }
    }
    writeln!(
        s,
        "mov x0, #1\nldr x1, =out\nldr x2, ={}\nmov x8, #64\nsvc #0\nmov x0, #0\nmov x8, #93\nsvc #0\n.ltorg",
        cases.len() * OUT
    )
    .unwrap();
    s.push_str(".data\n.balign 16\n");
    for (k, (v, x)) in states.iter().enumerate() {
        writeln!(s, "st{k}:").unwrap();
        for r in v {
            writeln!(s, ".quad {:#x}, {:#x}", *r as u64, (*r >> 64) as u64).unwrap();
        }
        for r in x {
            writeln!(s, ".quad {r:#x}").unwrap();
        }
    }
    writeln!(s, ".bss\n.balign 16\nout: .skip {}", cases.len() * OUT).unwrap();
    let src = dir.join("t.S");
    let exe = dir.join("t");
    std::fs::write(&src, s).unwrap();
    let st = Command::new("aarch64-linux-gnu-gcc")
        .args(["-nostdlib", "-static", "-o"])
        .arg(&exe)
        .arg(&src)
        .status()
        .expect("aarch64-linux-gnu-gcc");
    assert!(st.success());
    let out = Command::new("qemu-aarch64-static")
        .arg(&exe)
        .output()
        .expect("qemu");
    assert_eq!(out.stdout.len(), cases.len() * OUT, "qemu output size");
    let q64 = |b: &[u8], i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap());
    let mut bad = 0;
    for (i, &(word, st, fpcr)) in cases.iter().enumerate() {
        let exp = &out.stdout[i * OUT..(i + 1) * OUT];
        let mut c = Cpu::new();
        c.fpcr = fpcr;
        let (v, x) = &states[st];
        for (d, s) in c.v.iter_mut().zip(v) {
            *d = VReg::from_u128(*s);
        }
        c.x[..28].copy_from_slice(x);
        run_ok(&[word], &mut c);
        let mut diffs = Vec::new();
        for r in 0..28 {
            if c.x[r] != q64(exp, r) {
                diffs.push(format!("x{r}={:#x} want {:#x}", c.x[r], q64(exp, r)));
            }
        }
        for r in 0..32 {
            let want = (q64(exp, 28 + 2 * r) as u128) | ((q64(exp, 29 + 2 * r) as u128) << 64);
            if c.v[r].as_u128() != want {
                diffs.push(format!("v{r}={:#034x} want {want:#034x}", c.v[r].as_u128()));
            }
        }
        let fpsr = q64(exp, 28 + 64);
        if c.fpsr != fpsr {
            diffs.push(format!("fpsr={:#x} want {fpsr:#x}", c.fpsr));
        }
        if !diffs.is_empty() {
            bad += 1;
            if bad <= 40 {
                let ins: Vec<String> = (0..32)
                    .filter(|&r| [(word >> 5) & 31, (word >> 16) & 31, word & 31].contains(&r))
                    .map(|r| format!("v{r}={:#034x}", v[r as usize]))
                    .collect();
                eprintln!(
                    "{word:08x} {} [{}] fpcr={fpcr:#x}: {} | in {}",
                    dis(word),
                    crate::arm64::decode::decode(word)
                        .map(|e| e.name)
                        .unwrap_or("?"),
                    diffs.join(", "),
                    ins.join(" ")
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(bad, 0, "{bad} of {} cases differ from qemu", cases.len());
}

/// Build a 128-bit value from elements of `esize` bits, element 0 first.
fn el(esize: u32, xs: &[u64]) -> u128 {
    let mut r = 0u128;
    for (i, &x) in xs.iter().enumerate() {
        elem::set(&mut r, esize, i, x);
    }
    r
}

/// Run one word, returning (V0, FPSR.QC set?).
fn v0q(word: u32, regs: &[(usize, u128)]) -> (u128, bool) {
    let c = exec(word, regs);
    (v(&c, 0), c.fpsr & FPSR_QC != 0)
}

#[test]
fn saturating_add_sub_and_qc() {
    // sqadd v0.16b: 0x7f+1 saturates, 0x80+0xff saturates, 5+(-3) = 2
    let a = el(8, &[0x7f, 0x80, 5, 0x40]);
    let b = el(8, &[0x01, 0xff, 0xfd, 0x3f]);
    assert_eq!(
        v0q(0x4e22_0c20, &[(1, a), (2, b)]),
        (el(8, &[0x7f, 0x80, 2, 0x7f]), true)
    );
    // no saturation: QC untouched
    assert_eq!(v0q(0x4e22_0c20, &[(1, 1), (2, 2)]), (3, false));
    // sqadd d0, d1, d2 at INT64_MAX; the upper half of the destination is cleared
    let (r, q) = v0q(0x5ee2_0c20, &[(1, i64::MAX as u128 | (7 << 64)), (2, 1)]);
    assert_eq!((r, q), (i64::MAX as u128, true));
    // uqsub v0.8h: 0-1 -> 0 (QC), 5-3 = 2
    let (r, q) = v0q(0x6e62_2c20, &[(1, el(16, &[0, 5])), (2, el(16, &[1, 3]))]);
    assert_eq!((r, q), (el(16, &[0, 2]), true));
    // suqadd b0, b1: 0x7f (d) + 0x80 (unsigned n) saturates to 0x7f
    let (r, q) = v0q(0x5e20_3820, &[(0, 0x7f), (1, 0x80)]);
    assert_eq!((r, q), (0x7f, true));
    // usqadd v0.16b: d=0x10 + n=-0x20 -> 0 (QC); d=0xf0 + n=0x0f -> 0xff
    let (r, q) = v0q(
        0x6e20_3820,
        &[(0, el(8, &[0x10, 0xf0])), (1, el(8, &[0xe0, 0x0f]))],
    );
    assert_eq!((r, q), (el(8, &[0, 0xff]), true));
    // sqabs v0.16b: -128 -> 127 (QC); sqneg d0: INT64_MIN -> INT64_MAX (QC)
    let (r, q) = v0q(0x4e20_7820, &[(1, el(8, &[0x80, 0xff, 3]))]);
    assert_eq!((r, q), (el(8, &[0x7f, 1, 3]), true));
    assert_eq!(v0q(0x7ee0_7820, &[(1, 1 << 63)]), (i64::MAX as u128, true));
    // abs v0.2d wraps without QC; neg v0.2s (Q=0 clears the top)
    assert_eq!(
        v0q(0x4ee0_b820, &[(1, el(64, &[1 << 63, u64::MAX]))]),
        (el(64, &[1 << 63, 1]), false)
    );
    assert_eq!(
        v0(0x2ea0_b820, &[(1, el(32, &[1, 0x8000_0000, 7, 7]))]),
        el(32, &[0xffff_ffff, 0x8000_0000])
    );
}

#[test]
fn compares() {
    // cmeq v0.16b, v1.16b, v2.16b — the memchr idiom
    let hay = u128::from_le_bytes(*b"hello, world!\0ab");
    let needle = u128::from_le_bytes([b'o'; 16]);
    let r = v0(0x6e22_8c20, &[(1, hay), (2, needle)]);
    assert_eq!(r, el(8, &[0, 0, 0, 0, 0xff, 0, 0, 0, 0xff]));
    // cmeq v0.16b, v1.16b, #0 — the strlen idiom
    assert_eq!(v0(0x4e20_9820, &[(1, hay)]), 0xffu128 << 104);
    // cmhi v0.2d (unsigned) / cmgt v0.4s (signed)
    let a = el(64, &[u64::MAX, 1]);
    let b = el(64, &[1, 1]);
    assert_eq!(v0(0x6ee2_3420, &[(1, a), (2, b)]), el(64, &[u64::MAX, 0]));
    let a = el(32, &[0xffff_ffff, 2, 0x8000_0000, 5]);
    let b = el(32, &[0, 1, 0x7fff_ffff, 5]);
    assert_eq!(
        v0(0x4ea2_3420, &[(1, a), (2, b)]),
        el(32, &[0, 0xffff_ffff, 0, 0])
    );
    // cmtst d0, d1, d2
    assert_eq!(v0(0x5ee2_8c20, &[(1, 0x10), (2, 0x30)]), u64::MAX as u128);
    assert_eq!(v0(0x5ee2_8c20, &[(1, 0x10), (2, 0x20)]), 0);
    // cmle v0.16b, #0 / cmlt d0, #0
    assert_eq!(
        v0(0x6e20_9820, &[(1, el(8, &[0, 1, 0x80]))]),
        el(8, &[0xff, 0, 0xff]) | (!0u128 << 24)
    );
    assert_eq!(
        v0(0x5ee0_a820, &[(1, (1 << 63) | (5 << 64))]),
        u64::MAX as u128
    );
}

#[test]
fn pairwise_and_reductions() {
    // umaxp v0.16b: pairs of v1 then of v2
    let a = el(8, &[1, 9, 0xff, 0, 3, 3]);
    let b = el(8, &[7, 8]);
    assert_eq!(
        v0(0x6e22_a420, &[(1, a), (2, b)]),
        el(8, &[9, 0xff, 3, 0, 0, 0, 0, 0, 8])
    );
    // addp v0.4s; addp d0, v1.2d
    let a = el(32, &[1, 2, 0xffff_ffff, 1]);
    let b = el(32, &[10, 20, 30, 40]);
    assert_eq!(v0(0x4ea2_bc20, &[(1, a), (2, b)]), el(32, &[3, 0, 30, 70]));
    assert_eq!(v0(0x5ef1_b820, &[(1, el(64, &[u64::MAX, 3]))]), 2);
    // uminv b0, v1.16b / umaxv s0, v1.4s
    let a = el(8, &[5; 16]) & !(0xffu128 << 80) | (2u128 << 80);
    assert_eq!(v0(0x6e31_a820, &[(1, a)]), 2);
    assert_eq!(
        v0(0x6eb0_a820, &[(1, el(32, &[1, 0xffff_fff0, 3, 4]))]),
        0xffff_fff0
    );
    // saddlv d0, v1.4s: signed widening sum
    assert_eq!(
        v0(
            0x4eb0_3820,
            &[(
                1,
                el(32, &[0xffff_ffff, 0xffff_ffff, 0x7fff_ffff, 0x7fff_ffff])
            )]
        ),
        0xffff_fffc
    );
    // addv h0, v1.8h wraps
    assert_eq!(v0(0x4e71_b820, &[(1, el(16, &[0xffff, 2]))]), 1);
    // uaddlp v0.8h, v1.16b; sadalp v0.1d, v1.2s
    assert_eq!(
        v0(0x6e20_2820, &[(1, el(8, &[0xff, 0xff, 1, 2]))]),
        el(16, &[0x1fe, 3])
    );
    assert_eq!(
        v0(
            0x0ea0_6820,
            &[
                (0, 10 | (9 << 64)),
                (1, el(32, &[0xffff_ffff, 0xffff_fffe]))
            ]
        ),
        7
    );
}

#[test]
fn bit_counts_and_reversals() {
    // cnt v0.16b; clz v0.4s; cls v0.8h; rbit v0.8b (Q=0)
    assert_eq!(
        v0(0x4e20_5820, &[(1, el(8, &[0xff, 0, 0x81]))]),
        el(8, &[8, 0, 2])
    );
    assert_eq!(
        v0(
            0x6ea0_4820,
            &[(1, el(32, &[0, 1, 0x8000_0000, 0x00ff_0000]))]
        ),
        el(32, &[32, 31, 0, 8])
    );
    assert_eq!(
        v0(0x4e60_4820, &[(1, el(16, &[0, 0xffff, 0x4000, 0xc000, 1]))]),
        el(16, &[15, 15, 0, 1, 14, 15, 15, 15])
    );
    assert_eq!(v0(0x2e60_5820, &[(1, !0u128 << 64 | 0x0180)]), 0x8001);
    // rev32 v0.16b; rev16 v0.16b; rev64 v0.8h
    assert_eq!(
        v0(0x6e20_0820, &[(1, A)]),
        0x0c0d_0e0f_0809_0a0b_0405_0607_0001_0203
    );
    assert_eq!(
        v0(0x4e20_1820, &[(1, A)]),
        0x0e0f_0c0d_0a0b_0809_0607_0405_0203_0001
    );
    assert_eq!(
        v0(0x4e60_0820, &[(1, A)]),
        0x0908_0b0a_0d0c_0f0e_0100_0302_0504_0706
    );
}

#[test]
fn narrowing_and_widening() {
    let wide = el(
        16,
        &[0x1234, 0xff80, 0x007f, 0x0100, 0x8000, 0x7fff, 0, 0xffff],
    );
    // shrn v0.8b, v1.8h, #4 (Q=0 clears the top)
    assert_eq!(
        v0(0x0f0c_8420, &[(0, !0), (1, wide)]),
        el(8, &[0x23, 0xf8, 0x07, 0x10, 0, 0xff, 0, 0xff])
    );
    // xtn2 v0.16b, v1.8h keeps the low half of v0
    assert_eq!(
        v0(0x4e21_2820, &[(0, A), (1, wide)]),
        (A & u64::MAX as u128) | (el(8, &[0x34, 0x80, 0x7f, 0, 0, 0xff, 0, 0xff]) << 64)
    );
    // sqxtn v0.8b, v1.8h saturates (QC)
    assert_eq!(
        v0q(0x0e21_4820, &[(1, wide)]),
        (el(8, &[0x7f, 0x80, 0x7f, 0x7f, 0x80, 0x7f, 0, 0xff]), true)
    );
    // sqxtun2 v0.8h, v1.4s: negatives become 0
    let (r, q) = v0q(
        0x6e61_2820,
        &[(0, 0), (1, el(32, &[0xffff_ffff, 0x1_0000, 0xffff, 5]))],
    );
    assert_eq!((r, q), (el(16, &[0, 0, 0, 0, 0, 0xffff, 0xffff, 5]), true));
    // uqxtn s0, d1
    assert_eq!(v0q(0x7ea1_4820, &[(1, 1 << 32)]), (0xffff_ffff, true));
    // uaddl v0.8h, v1.8b, v2.8b; ssubw2 v0.4s, v1.4s, v2.8h
    assert_eq!(
        v0(
            0x2e22_0020,
            &[(1, el(8, &[0xff, 1])), (2, el(8, &[0xff, 2]))]
        ),
        el(16, &[0x1fe, 3])
    );
    let r = v0(
        0x4e62_3020,
        &[
            (1, el(32, &[10, 10, 10, 10])),
            (2, el(16, &[0, 0, 0, 0, 0xffff, 1, 0, 0])),
        ],
    );
    assert_eq!(r, el(32, &[11, 9, 10, 10]));
    // addhn v0.8b, v1.8h, v2.8h; rsubhn2 v0.16b, v1.8h, v2.8h
    assert_eq!(
        v0(
            0x0e22_4020,
            &[
                (1, el(16, &[0xff00, 0x0180])),
                (2, el(16, &[0x0100, 0x0080]))
            ]
        ),
        el(8, &[0, 2])
    );
    let r = v0(
        0x6e22_6020,
        &[(0, 7), (1, el(16, &[0x0180, 0])), (2, el(16, &[0x0100, 1]))],
    );
    assert_eq!(r, 7 | (el(8, &[1, 0]) << 64));
    // shll2 v0.2d, v1.4s, #32
    assert_eq!(
        v0(0x6ea1_3820, &[(1, el(32, &[0, 0, 0xffff_ffff, 2]))]),
        el(64, &[0xffff_ffff << 32, 2 << 32])
    );
}

#[test]
fn multiplies() {
    // mul v0.8h; mla v0.4s; pmul v0.16b
    assert_eq!(
        v0(
            0x4e62_9c20,
            &[(1, el(16, &[0x100, 3])), (2, el(16, &[0x100, 0xffff]))]
        ),
        el(16, &[0, 0xfffd])
    );
    assert_eq!(
        v0(
            0x4ea2_9420,
            &[
                (0, el(32, &[1, 1])),
                (1, el(32, &[2, 3])),
                (2, el(32, &[5, 7]))
            ]
        ),
        el(32, &[11, 22])
    );
    assert_eq!(
        v0(0x6e22_9c20, &[(1, el(8, &[3, 0xff])), (2, el(8, &[3, 2]))]),
        el(8, &[5, 0xfe])
    );
    // sqdmulh v0.4s: MIN*MIN saturates; sqrdmulh v0.8h rounds
    let (r, q) = v0q(
        0x4ea2_b420,
        &[
            (1, el(32, &[0x8000_0000, 0x4000_0000])),
            (2, el(32, &[0x8000_0000, 0x4000_0000])),
        ],
    );
    assert_eq!((r, q), (el(32, &[0x7fff_ffff, 0x2000_0000]), true));
    assert_eq!(
        v0q(
            0x6e62_b420,
            &[(1, el(16, &[0x4000, 1])), (2, el(16, &[0x0001, 0x4000]))]
        ),
        (el(16, &[1, 1]), false)
    );
    // smull v0.2d, v1.2s, v2.2s; umlal2 v0.4s, v1.8h, v2.8h
    assert_eq!(
        v0(
            0x0ea2_c020,
            &[
                (1, el(32, &[0xffff_ffff, 2])),
                (2, el(32, &[3, 0x8000_0000]))
            ]
        ),
        el(64, &[(-3i64) as u64, (-(1i64 << 32)) as u64])
    );
    let r = v0(
        0x6e62_8020,
        &[
            (0, el(32, &[1, 2, 3, 4])),
            (1, el(16, &[0, 0, 0, 0, 0xffff, 2])),
            (2, el(16, &[0, 0, 0, 0, 0xffff, 3])),
        ],
    );
    assert_eq!(r, el(32, &[0xfffe_0002, 8, 3, 4]));
    // sqdmull v0.4s, v1.4h, v2.4h: MIN*MIN saturates
    let (r, q) = v0q(
        0x0e62_d020,
        &[(1, el(16, &[0x8000, 3])), (2, el(16, &[0x8000, 0xfffe]))],
    );
    assert_eq!(
        (r, q),
        (el(32, &[0x7fff_ffff, (-12i32) as u32 as u64]), true)
    );
    // sqdmlal s0, h1, h2: accumulate saturates
    assert_eq!(
        v0q(0x5e62_9020, &[(0, 0x7fff_fff0), (1, 0x100), (2, 0x100)]),
        (0x7fff_ffff, true)
    );
    // by element: mul v0.8h, v1.8h, v2.h[7]; umull2 v0.2d, v1.4s, v15.s[3]
    let r = v0(
        0x4f72_8820,
        &[(1, el(16, &[1, 2, 3, 4, 5, 6, 7, 8])), (2, 3u128 << 112)],
    );
    assert_eq!(r, el(16, &[3, 6, 9, 12, 15, 18, 21, 24]));
    let r = v0(
        0x6faf_a820,
        &[
            (1, el(32, &[0, 0, 0xffff_ffff, 2])),
            (15, 0xffff_ffffu128 << 96),
        ],
    );
    assert_eq!(r, el(64, &[0xffff_fffe_0000_0001, 0x1_ffff_fffe]));
    // sqrdmulh s0, s1, v2.s[1]; sqdmull d0, s1, v31.s[2]
    assert_eq!(
        v0(0x5fa2_d020, &[(1, 0x4000_0000), (2, 0x4000_0000u128 << 32)]),
        0x2000_0000
    );
    assert_eq!(
        v0q(
            0x5f9f_b820,
            &[(1, 0x8000_0000), (31, 0x8000_0000u128 << 64)]
        ),
        (i64::MAX as u128, true)
    );
}

#[test]
fn max_min_abd_halving() {
    let a = el(32, &[0xffff_ffff, 5, 0x8000_0000, 0]);
    let b = el(32, &[1, 3, 0x7fff_ffff, 0]);
    // smax v0.4s
    assert_eq!(
        v0(0x4ea2_6420, &[(1, a), (2, b)]),
        el(32, &[1, 5, 0x7fff_ffff, 0])
    );
    // umin v0.8b
    assert_eq!(
        v0(
            0x2e22_6c20,
            &[(1, el(8, &[0xff, 1])), (2, el(8, &[2, 0x80]))]
        ),
        el(8, &[2, 1])
    );
    // sabd v0.16b: |-128 - 127| = 255
    assert_eq!(
        v0(0x4e22_7420, &[(1, el(8, &[0x80])), (2, el(8, &[0x7f]))]),
        0xff
    );
    // uaba v0.8h
    assert_eq!(
        v0(
            0x6e62_7c20,
            &[(0, el(16, &[0xffff])), (1, el(16, &[1])), (2, el(16, &[3]))]
        ),
        1
    );
    // srhadd v0.16b: (127 + 127 + 1) >> 1 = 127; (-1 + 0 + 1) >> 1 = 0
    assert_eq!(
        v0(
            0x4e22_1420,
            &[(1, el(8, &[0x7f, 0xff])), (2, el(8, &[0x7f, 0]))]
        ),
        0x7f
    );
    // uhsub v0.4s: (0 - 1) >> 1 = -1 >> 1 (in 33 bits) -> 0xffffffff
    assert_eq!(v0(0x6ea2_2420, &[(1, 0), (2, 1)]), 0xffff_ffff);
    // uabdl v0.8h, v1.8b, v2.8b; sabal v0.2d, v1.2s, v2.2s
    assert_eq!(
        v0(
            0x2e22_7020,
            &[(1, el(8, &[0, 200])), (2, el(8, &[255, 100]))]
        ),
        el(16, &[255, 100])
    );
    assert_eq!(
        v0(
            0x0ea2_5020,
            &[
                (0, el(64, &[1, 1])),
                (1, el(32, &[0x8000_0000])),
                (2, el(32, &[0x7fff_ffff]))
            ]
        ),
        el(64, &[0x1_0000_0000, 1])
    );
}

#[test]
fn register_shifts_and_d_forms() {
    // sshl v0.2d: by -1 (arithmetic right) and by 64 (all shifted out)
    let a = el(64, &[(-8i64) as u64, 1]);
    let b = el(64, &[0xff, 64]);
    assert_eq!(
        v0(0x4ee2_4420, &[(1, a), (2, b)]),
        el(64, &[(-4i64) as u64, 0])
    );
    // urshl v0.16b: 3 by -1 rounds to 2; 0xff by -8 rounds to 1; 1 by 7 = 0x80
    let r = v0(
        0x6e22_5420,
        &[(1, el(8, &[3, 0xff, 1])), (2, el(8, &[0xff, 0xf8, 7]))],
    );
    assert_eq!(r, el(8, &[2, 1, 0x80]));
    // uqshl v0.4s saturates left shifts
    assert_eq!(
        v0q(
            0x6ea2_4c20,
            &[(1, el(32, &[0x8000_0000, 1])), (2, el(32, &[1, 31]))]
        ),
        (el(32, &[0xffff_ffff, 0x8000_0000]), true)
    );
    // sqrshl d0, d1, d2: shift by -1 with rounding
    assert_eq!(
        v0q(0x5ee2_5c20, &[(1, (-3i64) as u64 as u128), (2, 0xff)]),
        ((-1i64) as u64 as u128, false)
    );
    // add d0, d1, d2 / sub v0.2d
    assert_eq!(
        v0(0x5ee2_8420, &[(1, u64::MAX as u128 | (1 << 64)), (2, 2)]),
        1
    );
    assert_eq!(
        v0(0x6ee2_8420, &[(1, el(64, &[0, 5])), (2, el(64, &[1, 2]))]),
        el(64, &[u64::MAX, 3])
    );
}

#[test]
fn reserved_arrangements() {
    undefined(0x0ee2_8420); // add v0.1d (Q=0, size=3)
    undefined(0x4ee2_0420); // shadd with size=3
    undefined(0x6e62_9c20); // pmul .8h
    undefined(0x4e22_b420); // sqdmulh .16b
    undefined(0x0eb0_a820); // addv s0, v1.2s (4S only)
    undefined(0x4ef1_b820); // addv with size=3
    undefined(0x0ee1_2820); // xtn with size=3
    undefined(0x5e22_8420); // add b0, b1, b2 (scalar ADD is D only)
    undefined(0x0f3f_8820); // mul by element with size=0
}

/// Differential test of the structure loads/stores against `qemu-aarch64-static`:
/// random words of every load/store row with the base register pointing into a 256-byte
/// buffer of random bytes; registers (the base relative to the buffer), V0–V31 and the
/// buffer must agree. Run with
/// `cargo test --lib simd::tests::qemu_diff_mem -- --ignored` (`SIMD_DIFF_N` per row).
#[test]
#[ignore]
fn qemu_diff_mem() {
    use crate::arm64::lift::{CpuFeatures, LiftError};
    use crate::ir::Builder;
    use std::fmt::Write as _;
    use std::process::Command;
    let n: usize = std::env::var("SIMD_DIFF_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    let features = CpuFeatures::default();
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut v = [0u128; 32];
    v.iter_mut().for_each(|x| *x = rng.vec());
    let mut x = [0u64; 28];
    x.iter_mut().for_each(|r| *r = rng.next());
    let mut buf = [0u8; 256];
    buf.iter_mut().for_each(|b| *b = rng.next() as u8);
    let mut cases: Vec<(u32, u64)> = Vec::new();
    for e in ENCODINGS {
        if e.value & 0x0a00_0000 != 0x0800_0000 {
            continue;
        }
        let mut got = 0;
        for _ in 0..n * 20 {
            if got == n {
                break;
            }
            let word = e.value | (rng.next() as u32 & !e.mask);
            let (rn, rm) = ((word >> 5) & 31, (word >> 16) & 31);
            if (28..31).contains(&rn)
                || (28..31).contains(&rm)
                || (word & (1 << 23) != 0 && rm == rn)
            {
                continue;
            }
            let mut l = Lifter {
                b: Builder::new(0),
                pc: 0,
                features: &features,
            };
            if matches!((e.lift)(&mut l, word), Err(LiftError::Undefined)) {
                continue;
            }
            got += 1;
            // A post-index register offset: small, possibly negative.
            cases.push((word, (rng.next() % 256).wrapping_sub(128)));
        }
    }
    let dir = std::env::temp_dir().join(format!("ferrite-simd-mdiff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut s = String::from(".text\n.global _start\n_start:\n");
    const OUT: usize = 28 * 8 + 32 * 16 + 8 + 8 + 8 + 256;
    for (i, &(word, off)) in cases.iter().enumerate() {
        let (rn, rm) = ((word >> 5) & 31, (word >> 16) & 31);
        writeln!(s, "ldr x28, =st").unwrap();
        for r in 0..8 {
            writeln!(s, "ld1 {{v{}.16b-v{}.16b}}, [x28], #64", 4 * r, 4 * r + 3).unwrap();
        }
        for r in 0..14 {
            writeln!(s, "ldp x{}, x{}, [x28], #16", 2 * r, 2 * r + 1).unwrap();
        }
        if rm != 31 {
            writeln!(s, "ldr x{rm}, ={off:#x}").unwrap();
        }
        writeln!(s, "ldr x28, =buf{i}+64").unwrap();
        if rn == 31 {
            writeln!(s, "mov sp, x28").unwrap();
        } else {
            writeln!(s, "mov x{rn}, x28").unwrap();
        }
        writeln!(s, ".inst {word:#010x}\nldr x28, =out+{}", i * OUT).unwrap();
        for r in 0..14 {
            writeln!(s, "stp x{}, x{}, [x28], #16", 2 * r, 2 * r + 1).unwrap();
        }
        for r in 0..8 {
            writeln!(s, "st1 {{v{}.16b-v{}.16b}}, [x28], #64", 4 * r, 4 * r + 3).unwrap();
        }
        writeln!(s, "mrs x0, fpsr\nldr x1, =buf{i}+64\nmov x2, sp\nstp x0, x1, [x28], #16\nstr x2, [x28], #8").unwrap();
        writeln!(s, "sub x1, x1, #64").unwrap();
        for k in 0..16 {
            writeln!(s, "ldr q0, [x1, #{}]\nstr q0, [x28, #{}]", 16 * k, 16 * k).unwrap();
        }
        writeln!(s, "b 1f\n.ltorg\n1:").unwrap();
    }
    writeln!(
        s,
        "mov x0, #1\nldr x1, =out\nldr x2, ={}\nmov x8, #64\nsvc #0\nmov x0, #0\nmov x8, #93\nsvc #0\n.ltorg",
        cases.len() * OUT
    )
    .unwrap();
    s.push_str(".data\n.balign 16\nst:\n");
    for r in &v {
        writeln!(s, ".quad {:#x}, {:#x}", *r as u64, (*r >> 64) as u64).unwrap();
    }
    for r in &x {
        writeln!(s, ".quad {r:#x}").unwrap();
    }
    let bytes: Vec<String> = buf.iter().map(|b| b.to_string()).collect();
    for i in 0..cases.len() {
        writeln!(s, "buf{i}: .byte {}", bytes.join(",")).unwrap();
    }
    writeln!(s, ".bss\n.balign 16\nout: .skip {}", cases.len() * OUT).unwrap();
    let src = dir.join("t.S");
    let exe = dir.join("t");
    std::fs::write(&src, s).unwrap();
    let st = Command::new("aarch64-linux-gnu-gcc")
        .args(["-nostdlib", "-static", "-o"])
        .arg(&exe)
        .arg(&src)
        .status()
        .expect("aarch64-linux-gnu-gcc");
    assert!(st.success());
    let out = Command::new("qemu-aarch64-static")
        .arg(&exe)
        .output()
        .expect("qemu");
    assert_eq!(out.stdout.len(), cases.len() * OUT, "qemu output size");
    let q64 = |b: &[u8], i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap());
    let mut bad = 0;
    for (i, &(word, off)) in cases.iter().enumerate() {
        let (rn, rm) = ((word >> 5) & 31, (word >> 16) & 31);
        let exp = &out.stdout[i * OUT..(i + 1) * OUT];
        let qbase = q64(exp, 28 + 64 + 1);
        let mut mem = buf;
        let base = mem.as_mut_ptr() as u64 + 64;
        let mut c = Cpu::new();
        for (d, s) in c.v.iter_mut().zip(&v) {
            *d = VReg::from_u128(*s);
        }
        c.x[..28].copy_from_slice(&x);
        if rm != 31 {
            c.x[rm as usize] = off;
        }
        c.x[rn as usize] = base;
        run_ok(&[word], &mut c);
        let mut diffs = Vec::new();
        for r in 0..28 {
            let (mut got, mut want) = (c.x[r], q64(exp, r));
            if r == rn as usize {
                (got, want) = (got.wrapping_sub(base), want.wrapping_sub(qbase));
            }
            if got != want {
                diffs.push(format!("x{r}={got:#x} want {want:#x}"));
            }
        }
        if rn == 31 {
            let (got, want) = (
                c.x[31].wrapping_sub(base),
                q64(exp, 28 + 64 + 2).wrapping_sub(qbase),
            );
            if got != want {
                diffs.push(format!("sp-base={got:#x} want {want:#x}"));
            }
        }
        for r in 0..32 {
            let want = (q64(exp, 28 + 2 * r) as u128) | ((q64(exp, 29 + 2 * r) as u128) << 64);
            if c.v[r].as_u128() != want {
                diffs.push(format!("v{r}={:#034x} want {want:#034x}", c.v[r].as_u128()));
            }
        }
        let qmem = &exp[OUT - 256..];
        if mem[..] != qmem[..] {
            let k = (0..256).find(|&k| mem[k] != qmem[k]).unwrap();
            diffs.push(format!(
                "mem[{}]: {:02x?} want {:02x?}",
                k as i64 - 64,
                &mem[k..(k + 8).min(256)],
                &qmem[k..(k + 8).min(256)]
            ));
        }
        if !diffs.is_empty() {
            bad += 1;
            if bad <= 40 {
                eprintln!("{word:08x} {}: {}", dis(word), diffs.join(", "));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(bad, 0, "{bad} of {} cases differ from qemu", cases.len());
}

#[test]
fn permutes_and_tables() {
    let (n, m) = (A, B);
    let regs = [(1, n), (2, m)];
    // zip1 v0.16b: n0 m0 n1 m1 ...
    let r = v0(0x4e02_3820, &regs);
    assert_eq!(elem::get(r, 8, 0), 0x00);
    assert_eq!(elem::get(r, 8, 1), 0x0f);
    assert_eq!(elem::get(r, 8, 2), 0x01);
    assert_eq!(elem::get(r, 8, 15), 0x78);
    // zip2 v0.4s: n2 m2 n3 m3
    assert_eq!(
        v0(0x4e82_7820, &regs),
        el(32, &[0x0b0a_0908, 0xb4a5_9687, 0x0f0e_0d0c, 0xf0e1_d2c3])
    );
    // uzp1 v0.8h: even halfwords of n then of m
    let r = v0(0x4e42_1820, &regs);
    assert_eq!(
        r,
        el(
            16,
            &[0x0100, 0x0504, 0x0908, 0x0d0c, 0x1e0f, 0x5a4b, 0x9687, 0xd2c3]
        )
    );
    // uzp2 v0.8b (Q=0): odd bytes of the low halves
    assert_eq!(
        v0(0x0e02_5820, &regs),
        el(8, &[1, 3, 5, 7, 0x1e, 0x3c, 0x5a, 0x78])
    );
    // trn1 v0.2d; trn2 v0.4h
    assert_eq!(v0(0x4ec2_2820, &regs), (n & u64::MAX as u128) | (m << 64));
    assert_eq!(
        v0(0x0e42_6820, &regs),
        el(16, &[0x0302, 0x3c2d, 0x0706, 0x7869])
    );
    // tbl v0.16b, {v1.16b, v2.16b}, v3.16b: indices 0, 16, 31, 32 (out of range -> 0)
    let idx = el(8, &[0, 16, 31, 32, 0xff, 5]);
    let r = v0(0x4e03_2020, &[(1, n), (2, m), (3, idx)]);
    assert_eq!(
        r,
        el(
            8,
            &[0x00, 0x0f, 0xf0, 0, 0, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        )
    );
    // tbx v0.8b, {v1.16b}, v3.8b: out-of-range keeps v0; the top half is cleared
    let r = v0(
        0x0e03_1020,
        &[
            (0, !0u128),
            (1, n),
            (3, el(8, &[3, 16, 15, 200, 0, 0, 0, 0])),
        ],
    );
    assert_eq!(r, el(8, &[3, 0xff, 15, 0xff, 0, 0, 0, 0]));
    // tbl with a four-register table wrapping past v31
    let r = v0(
        0x4e03_63c0,
        &[
            (30, 0x11),
            (31, 0x22),
            (1, 0x44),
            (
                3,
                el(
                    8,
                    &[
                        0, 16, 32, 48, 64, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                        0xff, 0xff,
                    ],
                ),
            ),
        ],
    );
    assert_eq!(r, el(8, &[0x11, 0x22, 0, 0x44, 0]));
    undefined(0x0ec2_2820); // trn1 .1d
    assert_eq!(
        dis(0x4e03_63c0),
        "tbl v0.16b, {v30.16b, v31.16b, v0.16b, v1.16b}, v3.16b"
    );
}

#[test]
fn structure_loads_and_stores() {
    let mut mem: Vec<u8> = (0..96u8).collect();
    let p = mem.as_mut_ptr() as u64;
    // ld2 {v0.8h, v1.8h}, [x0]: even halfwords to v0, odd to v1
    let mut c = cpu();
    c.x[0] = p;
    run_ok(&[0x4c40_8400], &mut c);
    assert_eq!(
        v(&c, 0),
        el(
            16,
            &[0x0100, 0x0504, 0x0908, 0x0d0c, 0x1110, 0x1514, 0x1918, 0x1d1c]
        )
    );
    assert_eq!(
        v(&c, 1),
        el(
            16,
            &[0x0302, 0x0706, 0x0b0a, 0x0f0e, 0x1312, 0x1716, 0x1b1a, 0x1f1e]
        )
    );
    // ld4 {v4.8b-v7.8b}, [x0], x2: bytes 4k+s to v(4+s); Q=0 clears the tops
    c.x[2] = 5;
    run_ok(&[0x0cc2_0004], &mut c);
    assert_eq!(v(&c, 4), el(8, &[0, 4, 8, 12, 16, 20, 24, 28]));
    assert_eq!(v(&c, 7), el(8, &[3, 7, 11, 15, 19, 23, 27, 31]));
    assert_eq!(c.x[0], p + 5);
    // st3 {v0.16b-v2.16b}, [x0], #48: interleave back
    let mut out = vec![0u8; 48];
    let mut c = cpu();
    c.x[0] = out.as_mut_ptr() as u64;
    c.v[0] = VReg::from_u128(el(8, &(0..16).map(|i| 3 * i).collect::<Vec<_>>()));
    c.v[1] = VReg::from_u128(el(8, &(0..16).map(|i| 3 * i + 1).collect::<Vec<_>>()));
    c.v[2] = VReg::from_u128(el(8, &(0..16).map(|i| 3 * i + 2).collect::<Vec<_>>()));
    run_ok(&[0x4c9f_4000], &mut c);
    assert_eq!(out, (0..48u8).collect::<Vec<_>>());
    assert_eq!(c.x[0], out.as_ptr() as u64 + 48);
    // ld1 {v0.s}[3], [x0] keeps the other lanes; ld1 {v0.d}[1]
    let mut c = cpu();
    c.x[0] = p + 4;
    c.v[0] = VReg::from_u128(A);
    run_ok(&[0x4d40_9000], &mut c);
    assert_eq!(
        v(&c, 0),
        (A & !(0xffff_ffffu128 << 96)) | (0x0706_0504u128 << 96)
    );
    run_ok(&[0x4d40_8400], &mut c);
    assert_eq!(v(&c, 0) >> 64, 0x0b0a_0908_0706_0504);
    // st1 {v1.d}[1], [x0], #8
    let mut out = [0u64; 2];
    let mut c = cpu();
    c.x[0] = out.as_mut_ptr() as u64;
    c.v[1] = VReg::from_u128(B);
    run_ok(&[0x4d9f_8401], &mut c);
    assert_eq!(out, [(B >> 64) as u64, 0]);
    assert_eq!(c.x[0], out.as_ptr() as u64 + 8);
    // ld4 {v0.b-v3.b}[9], [x0], #4
    let mut c = cpu();
    c.x[0] = p + 10;
    run_ok(&[0x4dff_2400], &mut c);
    for s in 0..4 {
        assert_eq!(elem::get(v(&c, s), 8, 9), 10 + s as u64);
    }
    assert_eq!(c.x[0], p + 14);
    // st2 {v0.h, v1.h}[5], [x0]
    let mut out = [0u16; 3];
    let mut c = cpu();
    c.x[0] = out.as_mut_ptr() as u64;
    c.v[0] = VReg::from_u128(el(16, &[0, 0, 0, 0, 0, 0xaaaa]));
    c.v[1] = VReg::from_u128(el(16, &[0, 0, 0, 0, 0, 0xbbbb]));
    run_ok(&[0x4d20_4800], &mut c);
    assert_eq!(out, [0xaaaa, 0xbbbb, 0]);
    // ld1r {v0.8h}, [x0]; ld3r {v0.2s-v2.2s}, [x0], #12 (Q=0 clears the tops)
    let mut c = cpu();
    c.x[0] = p + 2;
    run_ok(&[0x4d40_c400], &mut c);
    assert_eq!(v(&c, 0), el(16, &[0x0302; 8]));
    run_ok(&[0x0ddf_e800], &mut c);
    assert_eq!(v(&c, 0), el(32, &[0x0504_0302; 2]));
    assert_eq!(v(&c, 2), el(32, &[0x0d0c_0b0a; 2]));
    assert_eq!(c.x[0], p + 14);
    // ld2r {v0.2d, v1.2d}, [sp], x3
    let mut c = cpu();
    c.x[31] = p;
    c.x[3] = 16;
    run_ok(&[0x4de3_cfe0], &mut c);
    assert_eq!(v(&c, 1), el(64, &[0x0f0e_0d0c_0b0a_0908; 2]));
    assert_eq!(c.x[31], p + 16);
    undefined(0x0c40_8c00); // ld2 {v0.1d, v1.1d}
    undefined(0x4d40_9400); // ld1 {v0.d} with S=1
    undefined(0x4d40_4400); // ld1 {v0.h} with size<0> = 1
    assert_eq!(dis(0x4dff_2400), "ld4 {v0.b-v3.b}[9], [x0], #4");
    assert_eq!(dis(0x4de3_cfe0), "ld2r {v0.2d, v1.2d}, [sp], x3");
    drop(mem);
}

fn f32s(xs: &[f32]) -> u128 {
    el(
        32,
        &xs.iter().map(|x| x.to_bits() as u64).collect::<Vec<_>>(),
    )
}

fn f64s(xs: &[f64]) -> u128 {
    el(64, &xs.iter().map(|x| x.to_bits()).collect::<Vec<_>>())
}

/// Run one word under `fpcr`, returning (V0, FPSR).
fn v0f(word: u32, fpcr: u64, regs: &[(usize, u128)]) -> (u128, u64) {
    let mut c = cpu();
    c.fpcr = fpcr;
    for &(n, val) in regs {
        c.v[n] = VReg::from_u128(val);
    }
    run_ok(&[word], &mut c);
    (v(&c, 0), c.fpsr)
}

#[test]
fn fp_vector_arithmetic() {
    use crate::arm64::lift::fp::sem::{DZC, IOC, IXC};
    // fadd v0.4s
    let (r, f) = v0f(
        0x4e22_d420,
        0,
        &[
            (1, f32s(&[1.5, -2.0, 1e30, 0.1])),
            (2, f32s(&[2.25, 2.0, 1e30, 0.2])),
        ],
    );
    assert_eq!(r, f32s(&[3.75, 0.0, 2e30, 0.1 + 0.2]));
    assert_eq!(f, IXC);
    // fmla v0.2d: fused
    let (r, _) = v0f(
        0x4e62_cc20,
        0,
        &[
            (0, f64s(&[1.0, -1.0])),
            (1, f64s(&[2.0, 3.0])),
            (2, f64s(&[4.0, 0.5])),
        ],
    );
    assert_eq!(r, f64s(&[9.0, 0.5]));
    // faddp v0.4s; fabd v0.2s (Q=0 clears the top)
    let (r, _) = v0f(
        0x6e22_d420,
        0,
        &[
            (1, f32s(&[1.0, 2.0, 3.0, 4.0])),
            (2, f32s(&[5.0, 6.0, 7.0, 8.0])),
        ],
    );
    assert_eq!(r, f32s(&[3.0, 7.0, 11.0, 15.0]));
    let (r, _) = v0f(
        0x2ea2_d420,
        0,
        &[
            (1, f32s(&[1.0, -3.0, 9.0, 9.0])),
            (2, f32s(&[4.0, 1.0, 9.0, 9.0])),
        ],
    );
    assert_eq!(r, f32s(&[3.0, 4.0]));
    // fcmge v0.4s: NaN compares false and raises Invalid Operation
    let (r, f) = v0f(
        0x6e22_e420,
        0,
        &[
            (1, f32s(&[1.0, 1.0, f32::NAN, -0.0])),
            (2, f32s(&[1.0, 2.0, 0.0, 0.0])),
        ],
    );
    assert_eq!((r, f), (el(32, &[0xffff_ffff, 0, 0, 0xffff_ffff]), IOC));
    // fcmeq v0.2d, #0.0
    let (r, _) = v0f(0x4ee0_d820, 0, &[(1, f64s(&[-0.0, 1e-300]))]);
    assert_eq!(r, el(64, &[u64::MAX, 0]));
    // fdiv v0.4s by zero; fsqrt of a negative
    let (r, f) = v0f(
        0x6e22_fc20,
        0,
        &[
            (1, f32s(&[1.0, 6.0, 0.0, 1.0])),
            (2, f32s(&[0.0, 3.0, 1.0, 4.0])),
        ],
    );
    assert_eq!((r, f), (f32s(&[f32::INFINITY, 2.0, 0.0, 0.25]), DZC));
    let (r, f) = v0f(0x6ea1_f820, 0, &[(1, f32s(&[4.0, -1.0, 0.25, 0.0]))]);
    assert_eq!(
        (r, f),
        (
            el(
                32,
                &[
                    2.0f32.to_bits() as u64,
                    0x7fc0_0000,
                    0.5f32.to_bits() as u64,
                    0
                ]
            ),
            IOC
        )
    );
    // fmaxv s0, v1.4s; fminnmp d0, v1.2d ignores a quiet NaN
    assert_eq!(
        v0f(0x6e30_f820, 0, &[(1, f32s(&[1.0, 7.0, -3.0, 2.0]))]).0,
        f32s(&[7.0])
    );
    assert_eq!(
        v0f(0x7ef0_c820, 0, &[(1, f64s(&[f64::NAN, -2.5]))]).0,
        f64s(&[-2.5])
    );
    // fmul v0.4s, v1.4s, v2.s[3]; fmulx s0, s1, s2 with inf * 0 = 2.0
    let (r, _) = v0f(
        0x4fa2_9820,
        0,
        &[
            (1, f32s(&[1.0, 2.0, 3.0, 4.0])),
            (2, f32s(&[0.0, 0.0, 0.0, 0.5])),
        ],
    );
    assert_eq!(r, f32s(&[0.5, 1.0, 1.5, 2.0]));
    let (r, f) = v0f(
        0x5e22_dc20,
        0,
        &[(1, f32s(&[f32::NEG_INFINITY])), (2, f32s(&[0.0]))],
    );
    assert_eq!((r, f), (f32s(&[-2.0]), 0));
    // frecps: 2 - a*b
    assert_eq!(
        v0f(
            0x4e22_fc20,
            0,
            &[(1, f32s(&[0.5; 4])), (2, f32s(&[3.0; 4]))]
        )
        .0,
        f32s(&[0.5; 4])
    );
}

#[test]
fn fp_vector_conversions_and_estimates() {
    use crate::arm64::lift::fp::sem::{IOC, IXC};
    // fcvtzs v0.4s: truncation, saturation and NaN -> 0 (Invalid Operation)
    let (r, f) = v0f(0x4ea1_b820, 0, &[(1, f32s(&[-1.7, 3e9, f32::NAN, 2.5]))]);
    assert_eq!(r, el(32, &[(-1i32) as u32 as u64, 0x7fff_ffff, 0, 2]));
    assert_eq!(f, IOC | IXC);
    // scvtf v0.2d
    assert_eq!(
        v0f(0x4e61_d820, 0, &[(1, el(64, &[(-5i64) as u64, 1 << 53]))]).0,
        f64s(&[-5.0, 9007199254740992.0])
    );
    // fcvtzu v0.4s, v1.4s, #8 (fixed point)
    assert_eq!(
        v0f(0x6f38_fc20, 0, &[(1, f32s(&[1.5, -1.0, 0.00390625, 2.0]))]).0,
        el(32, &[384, 0, 1, 512])
    );
    // fcvtn v0.4h, v1.4s; fcvtl2 v0.2d, v1.4s
    assert_eq!(
        v0f(0x0e21_6820, 0, &[(1, f32s(&[1.0, -2.0, 65536.0, 0.5]))]).0,
        el(16, &[0x3c00, 0xc000, 0x7c00, 0x3800])
    );
    assert_eq!(
        v0f(0x4e61_7820, 0, &[(1, f32s(&[0.0, 0.0, 1.5, -0.25]))]).0,
        f64s(&[1.5, -0.25])
    );
    // fcvtxn s0, d1: round to odd
    let (r, f) = v0f(0x7e61_6820, 0, &[(1, f64s(&[1.0 + f64::EPSILON]))]);
    assert_eq!((r, f), (0x3f80_0001, IXC));
    // frecpe v0.4s: 1/2 ~ 0.5 (estimate 0x3efe0000 per RecipEstimate), 1/0 = inf
    let (r, _) = v0f(
        0x4ea1_d820,
        0,
        &[(1, f32s(&[2.0, 0.0, -4.0, f32::INFINITY]))],
    );
    assert_eq!(r, el(32, &[0x3eff_8000, 0x7f80_0000, 0xbe7f_8000, 0]));
    // frsqrte d0, d1: 1/sqrt(4) ~ 0.5
    assert_eq!(
        v0f(0x7ee1_d820, 0, &[(1, f64s(&[4.0]))]).0,
        0x3fdf_f000_0000_0000
    );
    // frintn v0.2d: ties to even
    assert_eq!(
        v0f(0x4e61_8820, 0, &[(1, f64s(&[2.5, -3.5]))]).0,
        f64s(&[2.0, -4.0])
    );
    // reserved: fadd .2d with Q=0 (1D)
    undefined(0x0e62_d420);
}

/// Every fast path agrees with the generic helper of its class on random words and
/// random edge-value registers (including FPSR.QC).
#[test]
fn fast_paths_match_reference() {
    use crate::arm64::lift::{CpuFeatures, LiftError};
    use crate::ir::{Builder, HelperFn};
    let features = CpuFeatures::default();
    let mut rng = Rng(0x0bad_cafe_1234_5678);
    let mut checked = 0;
    for e in ENCODINGS {
        for _ in 0..200 {
            let word = e.value | (rng.next() as u32 & !e.mask);
            let mut l = Lifter {
                b: Builder::new(0),
                pc: 0,
                features: &features,
            };
            if matches!((e.lift)(&mut l, word), Err(LiftError::Undefined)) {
                continue;
            }
            let is = |f: crate::arm64::decode::LiftFn| std::ptr::fn_addr_eq(e.lift, f);
            let pairs: [(Option<fast::Fast>, HelperFn); 1] = [if is(arith::lift_same) {
                (fast::same(word), arith::h_same)
            } else if is(perm::lift_permute) {
                (fast::permute(word), perm::h_permute)
            } else if is(arith::lift_diff) {
                (fast::diff(word), arith::h_diff)
            } else if is(arith::lift_misc) {
                (fast::misc(word), arith::h_misc)
            } else if is(arith::lift_across) {
                (fast::across(word), arith::h_across)
            } else if is(shift::lift_vector) {
                (fast::shift(word), shift::h_vector)
            } else {
                (None, arith::h_same)
            }];
            for (fast, generic) in pairs {
                let Some((name, f)) = fast else { continue };
                let mut a = Cpu::new();
                for r in 0..32 {
                    a.v[r] = VReg::from_u128(rng.vec());
                }
                let mut b = Cpu::new();
                b.v = a.v;
                // SAFETY: both helpers get a valid, exclusively borrowed `Cpu`.
                unsafe {
                    f(&mut *a as *mut Cpu as *mut u8, word as u64, 0, 0, 0);
                    generic(&mut *b as *mut Cpu as *mut u8, word as u64, 0, 0, 0);
                }
                assert_eq!(a.v, b.v, "{name} {word:08x} {}", dis(word));
                assert_eq!(a.fpsr, b.fpsr, "{name} {word:08x} {}: QC", dis(word));
                checked += 1;
            }
        }
    }
    assert!(checked > 1000, "only {checked} fast-path words checked");
}

#[test]
fn shifts_by_immediate() {
    // sshr v0.16b, #8: all sign bits
    assert_eq!(
        v0(0x4f08_0420, &[(1, el(8, &[0x80, 0x7f, 0xff, 1]))]),
        el(8, &[0xff, 0, 0xff, 0])
    );
    // ushr d0, d1, #64 -> 0 (and the top half cleared)
    assert_eq!(v0(0x7f40_0420, &[(0, !0), (1, !0)]), 0);
    // srshr v0.4s, #1 rounds: 3 -> 2, -3 -> -1, 0x7fffffff -> 0x40000000
    let r = v0(
        0x4f3f_2420,
        &[(1, el(32, &[3, (-3i32) as u32 as u64, 0x7fff_ffff, 1]))],
    );
    assert_eq!(r, el(32, &[2, (-1i32) as u32 as u64, 0x4000_0000, 1]));
    // ssra v0.8h, #15 accumulates the sign
    assert_eq!(
        v0(
            0x4f11_1420,
            &[(0, el(16, &[10, 10])), (1, el(16, &[0x8000, 0x7fff]))]
        ),
        el(16, &[9, 10])
    );
    // ursra d0, d1, #64: adds the rounding bit (bit 63)
    assert_eq!(v0(0x7f40_3420, &[(0, 5), (1, 1 << 63)]), 6);
    // sri v0.2d, #64 keeps Vd; sli v0.4s, #31
    assert_eq!(v0(0x6f40_4420, &[(0, A), (1, B)]), A);
    let r = v0(
        0x6f3f_5420,
        &[(0, el(32, &[0xffff_ffff, 0])), (1, el(32, &[1, 3]))],
    );
    assert_eq!(r, el(32, &[0xffff_ffff, 0x8000_0000]));
    // shl v0.8b, #7 (Q=0 clears the top)
    assert_eq!(
        v0(0x0f0f_5420, &[(0, !0), (1, el(8, &[1, 3, 2]))]),
        el(8, &[0x80, 0x80, 0])
    );
    // sqshlu v0.8h, #4: negative -> 0, overflow -> 0xffff, both set QC
    let (r, q) = v0q(0x6f14_6420, &[(1, el(16, &[0xffff, 0x1000, 0x0fff]))]);
    assert_eq!((r, q), (el(16, &[0, 0xffff, 0xfff0]), true));
    // uqshl s0, s1, #31; sqshl b0, b1, #1
    assert_eq!(v0q(0x7f3f_7420, &[(1, 2)]), (0xffff_ffff, true));
    assert_eq!(v0q(0x5f09_7420, &[(1, 0xc0)]), (0x80, false));
    assert_eq!(v0q(0x5f09_7420, &[(1, 0xbf)]), (0x80, true));
    // sqshrn v0.8b, v1.8h, #8
    let (r, q) = v0q(
        0x0f08_9420,
        &[(1, el(16, &[0x7fff, 0x8000, 0x1234, 0xff00]))],
    );
    assert_eq!((r, q), (el(8, &[0x7f, 0x80, 0x12, 0xff]), false));
    // uqrshrn h0, s1, #16: rounding up to 0x10000 saturates
    assert_eq!(v0q(0x7f10_9c20, &[(1, 0xffff_8000)]), (0xffff, true));
    // sqrshrun2 v0.8h, v1.4s, #1 keeps the low half
    let (r, q) = v0q(
        0x6f1f_8c20,
        &[
            (0, 7),
            (1, el(32, &[(-4i32) as u32 as u64, 5, 0x2_0000, 0x1_fffd])),
        ],
    );
    assert_eq!((r, q), (7 | (el(16, &[0, 3, 0xffff, 0xffff]) << 64), true));
    // rshrn v0.2s, v1.2d, #32
    assert_eq!(
        v0(0x0f20_8c20, &[(1, el(64, &[0x1_8000_0000, 0x7fff_ffff]))]),
        el(32, &[2, 0])
    );
    // ushll2 v0.2d, v1.4s, #31; sxtl v0.8h, v1.8b
    let r = v0(0x6f3f_a420, &[(1, el(32, &[0, 0, 0xffff_ffff, 1]))]);
    assert_eq!(r, el(64, &[0xffff_ffffu64 << 31, 1 << 31]));
    assert_eq!(
        v0(0x0f08_a420, &[(1, el(8, &[0x80, 0x7f]))]),
        el(16, &[0xff80, 0x7f])
    );
    assert_eq!(dis(0x0f08_a420), "sxtl v0.8h, v1.8b");
    assert_eq!(dis(0x7f40_0420), "ushr d0, d1, #64");
    undefined(0x0f40_0420); // sshr .1d (Q=0 with immh=1xxx)
    undefined(0x5f08_0420); // scalar sshr of a byte
    undefined(0x0f40_8420); // shrn from .2d (immh=1xxx)
}

/// AES-128 of the FIPS-197 appendix C.1 vector with AESE/AESMC (round keys expanded
/// here), and the SHA/PMULL encodings' disassembly.
#[test]
fn crypto_aes_fips197() {
    let key: [u8; 16] = std::array::from_fn(|i| i as u8);
    let mut rk = vec![key];
    let mut rcon = 1u8;
    for _ in 0..10 {
        let p = *rk.last().unwrap();
        let mut t = [p[13], p[14], p[15], p[12]].map(|b| crypto::SBOX[b as usize]);
        t[0] ^= rcon;
        rcon = (rcon << 1) ^ if rcon & 0x80 != 0 { 0x1b } else { 0 };
        let mut n = [0u8; 16];
        for i in 0..16 {
            n[i] = p[i] ^ if i < 4 { t[i] } else { n[i - 4] };
        }
        rk.push(n);
    }
    let mut c = cpu();
    c.v[0] = VReg::from_bytes(std::array::from_fn(|i| (i as u8) * 0x11));
    for (i, k) in rk.iter().enumerate() {
        c.v[i + 1] = VReg::from_bytes(*k);
    }
    let mut words = Vec::new();
    for r in 0..10u32 {
        words.push(0x4e28_4800 | ((r + 1) << 5)); // aese v0.16b, v(r+1).16b
        if r < 9 {
            words.push(0x4e28_6800); // aesmc v0.16b, v0.16b
        }
    }
    words.push(0x6e2b_1c00); // eor v0.16b, v0.16b, v11.16b
    run_ok(&words, &mut c);
    let want = [
        0x69, 0xc4, 0xe0, 0xd8, 0x6a, 0x7b, 0x04, 0x30, 0xd8, 0xcd, 0xb7, 0x80, 0x70, 0xb4, 0xc5,
        0x5a,
    ];
    assert_eq!(c.v[0].bytes(), want);
    assert_eq!(dis(0x4e28_4820), "aese v0.16b, v1.16b");
    assert_eq!(dis(0x5e02_0020), "sha1c q0, s1, v2.4s");
    assert_eq!(dis(0x5e28_2820), "sha256su0 v0.4s, v1.4s");
    assert_eq!(dis(0x4ee2_e020), "pmull2 v0.1q, v1.2d, v2.2d");
    // pmull v0.1q, v1.1d, v2.1d
    assert_eq!(v0(0x0ee2_e020, &[(1, 0b11), (2, 0b11)]), 0b101);
    assert_eq!(v0(0x0ee2_e020, &[(1, 1 << 63), (2, 1 << 63)]), 1 << 126);
}

/// The ten SHA instructions as lifted (the helper picked for this host, register
/// numbers as arguments; SHA1H inline) agree with their definitions, with Vd distinct
/// from or equal to the sources, and leave the other registers alone.
#[test]
fn sha_lifted_matches_the_definitions() {
    type Def = fn(u128, u128, u128) -> u128;
    let three: [(u32, Def); 7] = [
        (0, crypto::sha1c),
        (1, crypto::sha1p),
        (2, crypto::sha1m),
        (3, crypto::sha1su0),
        (4, crypto::sha256h),
        (5, crypto::sha256h2),
        (6, crypto::sha256su1),
    ];
    let two: [(u32, Def); 3] = [
        (0, crypto::sha1h),
        (1, crypto::sha1su1),
        (2, crypto::sha256su0),
    ];
    let mut cases: Vec<(u32, Def, [u32; 3])> = Vec::new();
    for regs in [
        [0, 1, 2],
        [31, 17, 9],
        [3, 3, 4],
        [5, 6, 5],
        [7, 8, 8],
        [10, 10, 10],
    ] {
        let [d, n, m] = regs;
        for (op, f) in three {
            cases.push((0x5e00_0000 | m << 16 | op << 12 | n << 5 | d, f, regs));
        }
        for (op, f) in two {
            cases.push((0x5e28_0800 | op << 12 | n << 5 | d, f, [d, n, 0]));
        }
    }
    let mut x = 0x2545_f491_4f6c_dd1d_9e37_79b9_7f4a_7c15u128;
    for _ in 0..8 {
        for &(word, f, [d, n, m]) in &cases {
            let mut c = cpu();
            for r in 0..32 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                c.v[r] = VReg::from_u128(x);
            }
            let before: Vec<u128> = (0..32).map(|r| v(&c, r)).collect();
            let (d, n, m) = (d as usize, n as usize, m as usize);
            let want = f(before[d], before[n], before[m]);
            run_ok(&[word], &mut c);
            for (r, &old) in before.iter().enumerate() {
                let expect = if r == d { want } else { old };
                assert_eq!(v(&c, r), expect, "{} (V{r})", dis(word));
            }
        }
    }
}

/// The inline-IR forms (ADD/SUB, ADDP scalar, SHL/USHR/SSHR) agree with the generic
/// helpers of their classes on random words and registers.
#[test]
fn inline_forms_match_reference() {
    use crate::arm64::lift::{CpuFeatures, LiftError};
    use crate::ir::{Builder, HelperFn};
    let features = CpuFeatures::default();
    let mut rng = Rng(0x5eed_0123_4567_89ab);
    let names = [
        "ADD (vector)",
        "SUB (vector)",
        "ADD (scalar)",
        "SUB (scalar)",
        "ADDP (scalar)",
        "SHL",
        "SHL (scalar)",
        "USHR",
        "USHR (scalar)",
        "SSHR",
        "SSHR (scalar)",
        "CMEQ (register)",
        "CMEQ (register, scalar)",
        "CMTST",
        "CMTST (scalar)",
        "CMEQ (zero)",
        "CMEQ (zero, scalar)",
    ];
    let mut checked = 0;
    for e in ENCODINGS.iter().filter(|e| names.contains(&e.name)) {
        let generic: HelperFn = match e.name {
            "CMEQ (zero)" => arith::h_misc,
            "CMEQ (zero, scalar)" => arith::h_misc_scalar,
            "CMEQ (register)" | "CMTST" => arith::h_same,
            "CMEQ (register, scalar)" | "CMTST (scalar)" => arith::h_same_scalar,
            n if n.starts_with("ADDP") => arith::h_same_scalar,
            n if n.contains("scalar") && (n.starts_with("ADD") || n.starts_with("SUB")) => {
                arith::h_same_scalar
            }
            n if n.starts_with("ADD") || n.starts_with("SUB") => arith::h_same,
            n if n.contains("scalar") => shift::h_scalar,
            _ => shift::h_vector,
        };
        for _ in 0..100 {
            let word = e.value | (rng.next() as u32 & !e.mask);
            let mut l = Lifter {
                b: Builder::new(0),
                pc: 0,
                features: &features,
            };
            if matches!((e.lift)(&mut l, word), Err(LiftError::Undefined)) {
                continue;
            }
            let mut a = Cpu::new();
            for r in 0..32 {
                a.v[r] = VReg::from_u128(rng.vec());
            }
            let mut b = Cpu::new();
            b.v = a.v;
            run_ok(&[word], &mut a);
            if e.name.starts_with("ADDP") {
                // The generic scalar three-same helper has no ADDP; compute it here.
                let n = b.v[((word >> 5) & 31) as usize].0;
                b.v[(word & 31) as usize] = VReg([n[0].wrapping_add(n[1]), 0]);
            } else {
                // SAFETY: the helper gets a valid, exclusively borrowed `Cpu`.
                unsafe { generic(&mut *b as *mut Cpu as *mut u8, word as u64, 0, 0, 0) };
            }
            assert_eq!(a.v, b.v, "{word:08x} {}", dis(word));
            checked += 1;
        }
    }
    assert!(checked > 500, "only {checked} words checked");
}
