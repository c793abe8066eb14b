//! Tests for the scalar floating-point semantics ([`super::sem`]) and, through
//! `crate::engine::testing`, for the decode → lift → x86 path.

use super::host::Op2;
use super::sem::{self, MinMax, Rounding, F16, F32, F64, IDC, IOC, IXC, OFC, UFC};

/// Evaluate one operation by the name the oracle vectors use (`fadd_s`, `fcvtzs_w_d`,
/// `scvtf_d_x_20`, `fcvt_s_h` = single → half…), composing negations exactly as the
/// lifters do. Returns `(result, fpsr)`, or `None` for an unknown name.
fn eval(
    name: &str,
    fpcr: u64,
    a: u64,
    b: u64,
    c: u64,
    soft: bool,
    fpsr0: u64,
) -> Option<(u64, u64)> {
    let mut f = fpsr0;
    let fpsr = &mut f;
    let parts: Vec<&str> = name.split('_').collect();
    let op = parts[0];
    let r = match (op, parts.get(1).copied()) {
        ("fadd" | "fsub" | "fmul" | "fdiv" | "fnmul", Some(t)) => {
            let o = match op {
                "fadd" => Op2::Add,
                "fsub" => Op2::Sub,
                "fdiv" => Op2::Div,
                _ => Op2::Mul,
            };
            let (r, s) = if t == "s" {
                (sem::arith::<F32>(o, a, b, fpcr, fpsr), 1u64 << 31)
            } else {
                (sem::arith::<F64>(o, a, b, fpcr, fpsr), 1u64 << 63)
            };
            if op == "fnmul" {
                r ^ s
            } else {
                r
            }
        }
        ("fmax" | "fmin" | "fmaxnm" | "fminnm", Some(t)) => {
            let o = match op {
                "fmax" => MinMax::Max,
                "fmin" => MinMax::Min,
                "fmaxnm" => MinMax::MaxNum,
                _ => MinMax::MinNum,
            };
            if t == "s" {
                sem::minmax::<F32>(o, a, b, fpcr, fpsr)
            } else {
                sem::minmax::<F64>(o, a, b, fpcr, fpsr)
            }
        }
        ("fmadd" | "fmsub" | "fnmadd" | "fnmsub", Some(t)) => {
            // Vectors list (n, m, a) as in `fmadd d, n, m, a`.
            let (n, m, acc) = (a, b, c);
            let s = if t == "s" { 1u64 << 31 } else { 1u64 << 63 };
            let (neg_n, neg_a) = match op {
                "fmadd" => (false, false),
                "fmsub" => (true, false),
                "fnmadd" => (true, true),
                _ => (false, true),
            };
            let n = if neg_n { n ^ s } else { n };
            let acc = if neg_a { acc ^ s } else { acc };
            if t == "s" {
                sem::fmuladd_impl::<F32>(acc, n, m, fpcr, fpsr, soft)
            } else {
                sem::fmuladd_impl::<F64>(acc, n, m, fpcr, fpsr, soft)
            }
        }
        ("fcmp" | "fcmpe", Some(t)) => {
            let e = op == "fcmpe";
            if t == "s" {
                sem::compare::<F32>(a, b, e, fpcr, fpsr)
            } else {
                sem::compare::<F64>(a, b, e, fpcr, fpsr)
            }
        }
        ("fsqrt", Some(t)) => {
            if t == "s" {
                sem::fsqrt::<F32>(a, fpcr, fpsr)
            } else {
                sem::fsqrt::<F64>(a, fpcr, fpsr)
            }
        }
        (_, Some(t)) if op.starts_with("frint") => {
            let (rm, exact) = match &op[5..] {
                "n" => (Rounding::TieEven, false),
                "p" => (Rounding::PosInf, false),
                "m" => (Rounding::NegInf, false),
                "z" => (Rounding::Zero, false),
                "a" => (Rounding::TieAway, false),
                "x" => (Rounding::from_fpcr(fpcr), true),
                _ => (Rounding::from_fpcr(fpcr), false),
            };
            if t == "s" {
                sem::round_int::<F32>(a, rm, exact, fpcr, fpsr)
            } else {
                sem::round_int::<F64>(a, rm, exact, fpcr, fpsr)
            }
        }
        ("fcvt", Some(src)) => match (src, parts[2]) {
            ("s", "d") => sem::convert::<F32, F64>(a, fpcr, fpsr),
            ("s", "h") => sem::convert::<F32, F16>(a, fpcr, fpsr),
            ("d", "s") => sem::convert::<F64, F32>(a, fpcr, fpsr),
            ("d", "h") => sem::convert::<F64, F16>(a, fpcr, fpsr),
            ("h", "s") => sem::convert::<F16, F32>(a, fpcr, fpsr),
            ("h", "d") => sem::convert::<F16, F64>(a, fpcr, fpsr),
            _ => return None,
        },
        (_, Some(w)) if op.starts_with("fcvt") && op.len() == 6 => {
            // fcvt{n,p,m,z,a}{s,u}_{w,x}_{s,d}[_fbits]
            let rm = match &op[4..5] {
                "n" => Rounding::TieEven,
                "p" => Rounding::PosInf,
                "m" => Rounding::NegInf,
                "z" => Rounding::Zero,
                _ => Rounding::TieAway,
            };
            let unsigned = &op[5..6] == "u";
            let bits = if w == "w" { 32 } else { 64 };
            let fbits = parts.get(3).map_or(0, |s| s.parse().unwrap());
            if parts[2] == "s" {
                sem::to_fixed::<F32>(a, fbits, unsigned, bits, rm, fpcr, fpsr)
            } else {
                sem::to_fixed::<F64>(a, fbits, unsigned, bits, rm, fpcr, fpsr)
            }
        }
        ("scvtf" | "ucvtf", Some(t)) => {
            let unsigned = op == "ucvtf";
            let bits = if parts[2] == "w" { 32 } else { 64 };
            let fbits = parts.get(3).map_or(0, |s| s.parse().unwrap());
            if t == "s" {
                sem::from_fixed::<F32>(a, fbits, unsigned, bits, fpcr, fpsr)
            } else {
                sem::from_fixed::<F64>(a, fbits, unsigned, bits, fpcr, fpsr)
            }
        }
        _ => return None,
    };
    Some((r, f))
}

/// Check oracle lines `name fpcr a b c -> result fpsr` (hex); returns the mismatches.
/// Fused multiply-adds run on the host FMA3 (if any) or, with `soft`, in software.
/// FPSR starts as `fpsr0` (IXC exercises the paths that rely on it being sticky).
fn check_vectors(text: &str, soft: bool, fpsr0: u64) -> Vec<String> {
    let mut bad = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let t: Vec<&str> = line.split_whitespace().collect();
        let h = |s: &str| u64::from_str_radix(s, 16).unwrap();
        let (name, fpcr, a, b, c, r, f) =
            (t[0], h(t[1]), h(t[2]), h(t[3]), h(t[4]), h(t[6]), h(t[7]));
        match eval(name, fpcr, a, b, c, soft, fpsr0) {
            Some((gr, gf)) if gr == r && gf == f | fpsr0 => {}
            Some((gr, gf)) => bad.push(format!("{line}   got {gr:x} {gf:x}")),
            None => bad.push(format!("{line}   unknown op")),
        }
    }
    bad
}

/// Vectors recorded from `qemu-aarch64` (see `testdata/README`), all orderings of
/// special values under several FPCR settings plus random operands.
#[test]
fn qemu_vectors() {
    let text = include_str!("testdata/qemu_vectors.txt");
    let mut bad = check_vectors(text, false, 0);
    bad.extend(check_vectors(text, true, 0));
    bad.extend(check_vectors(text, false, IXC));
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad[..bad.len().min(40)].join("\n")
    );
}

/// A large vector file produced by the generator in `testdata/`, when present:
/// `FERRITE_FP_VECTORS=/tmp/vec.txt cargo test --lib fp::tests::external -- --ignored`.
#[test]
#[ignore]
fn external_vectors() {
    let Ok(path) = std::env::var("FERRITE_FP_VECTORS") else {
        return;
    };
    let text = std::fs::read_to_string(path).expect("vector file");
    let mut bad = check_vectors(&text, false, 0);
    bad.extend(check_vectors(&text, true, 0));
    bad.extend(check_vectors(&text, false, IXC));
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad[..bad.len().min(60)].join("\n")
    );
}

// ---- direct tests of the semantic functions ------------------------------------------

const FZ: u64 = sem::FPCR_FZ;
const DN: u64 = sem::FPCR_DN;
const AHP: u64 = sem::FPCR_AHP;
/// FPCR values selecting each rounding mode.
const RN: u64 = 0;
const RP: u64 = 1 << 22;
const RM: u64 = 2 << 22;
const RZ: u64 = 3 << 22;

fn s(x: f32) -> u64 {
    x.to_bits() as u64
}
fn d(x: f64) -> u64 {
    x.to_bits()
}

/// Run `f(fpcr, &mut fpsr)` from a clear FPSR; return (result, fpsr).
fn run(fpcr: u64, f: impl FnOnce(u64, &mut u64) -> u64) -> (u64, u64) {
    let mut fpsr = 0;
    let r = f(fpcr, &mut fpsr);
    (r, fpsr)
}

fn add_s(fpcr: u64, a: u64, b: u64) -> (u64, u64) {
    run(fpcr, |c, f| sem::fadd::<F32>(a, b, c, f))
}
fn add_d(fpcr: u64, a: u64, b: u64) -> (u64, u64) {
    run(fpcr, |c, f| sem::fadd::<F64>(a, b, c, f))
}
fn mul_s(fpcr: u64, a: u64, b: u64) -> (u64, u64) {
    run(fpcr, |c, f| sem::fmul::<F32>(a, b, c, f))
}

#[test]
fn nan_propagation_order_and_quieting() {
    let (q1, q2, s1, s2) = (0x7fc0_0001, 0x7fc0_0002, 0x7f80_0001, 0x7f80_0002);
    // Signalling NaNs win over quiet ones, op1 over op2; results are quiet.
    assert_eq!(add_s(RN, q1, s2), (0x7fc0_0002, IOC));
    assert_eq!(add_s(RN, s1, s2), (0x7fc0_0001, IOC));
    assert_eq!(add_s(RN, s2, q1), (0x7fc0_0002, IOC));
    assert_eq!(add_s(RN, q1, q2), (q1, 0));
    assert_eq!(add_s(RN, q2, q1), (q2, 0));
    // One NaN: its sign and payload survive.
    assert_eq!(add_s(RN, s(1.0), 0xffc0_0005), (0xffc0_0005, 0));
    assert_eq!(add_s(RN, 0xff81_2345, s(1.0)), (0xffc1_2345, IOC));
    assert_eq!(
        add_d(RN, d(1.0), 0x7ff0_0000_0000_0123),
        (0x7ff8_0000_0000_0123, IOC)
    );
    // Default NaN mode: the positive default NaN, still IOC for a signalling NaN.
    assert_eq!(add_s(DN, q1, s(1.0)), (0x7fc0_0000, 0));
    assert_eq!(add_s(DN, 0xff81_2345, s(1.0)), (0x7fc0_0000, IOC));
    assert_eq!(
        add_d(DN, 0xfff8_0000_0000_0001, d(1.0)),
        (0x7ff8_0000_0000_0000, 0)
    );
    // Invalid operations give Arm's default NaN (positive), not x86's.
    assert_eq!(
        add_s(RN, s(f32::INFINITY), s(f32::NEG_INFINITY)),
        (0x7fc0_0000, IOC)
    );
    assert_eq!(mul_s(RN, s(0.0), s(f32::INFINITY)), (0x7fc0_0000, IOC));
    assert_eq!(
        run(RN, |c, f| sem::fdiv::<F32>(0, 0, c, f)),
        (0x7fc0_0000, IOC)
    );
    assert_eq!(
        run(RN, |c, f| sem::fsqrt::<F64>(d(-1.0), c, f)),
        (0x7ff8_0000_0000_0000, IOC)
    );
    assert_eq!(
        run(RN, |c, f| sem::fsqrt::<F64>(d(-0.0), c, f)),
        (d(-0.0), 0)
    );
    assert_eq!(
        run(RN, |c, f| sem::fsqrt::<F32>(0x7fa0_0000, c, f)),
        (0x7fe0_0000, IOC)
    );
}

#[test]
fn signed_zeros_and_infinities() {
    assert_eq!(add_s(RN, s(0.0), s(-0.0)), (s(0.0), 0));
    assert_eq!(add_s(RM, s(0.0), s(-0.0)), (s(-0.0), 0));
    assert_eq!(add_s(RN, s(-0.0), s(-0.0)), (s(-0.0), 0));
    assert_eq!(add_d(RN, d(1.5), d(-1.5)), (d(0.0), 0));
    assert_eq!(add_d(RM, d(1.5), d(-1.5)), (d(-0.0), 0));
    assert_eq!(mul_s(RN, s(-0.0), s(5.0)), (s(-0.0), 0));
    assert_eq!(add_s(RN, s(f32::INFINITY), s(1.0)), (s(f32::INFINITY), 0));
    assert_eq!(
        run(RN, |c, f| sem::fdiv::<F32>(s(1.0), s(0.0), c, f)),
        (s(f32::INFINITY), sem::DZC)
    );
    assert_eq!(
        run(RN, |c, f| sem::fdiv::<F64>(d(-1.0), d(0.0), c, f)),
        (d(f64::NEG_INFINITY), sem::DZC)
    );
    assert_eq!(
        run(RN, |c, f| sem::fdiv::<F64>(d(1.0), d(f64::INFINITY), c, f)),
        (d(0.0), 0)
    );
}

#[test]
fn fadd_every_rounding_mode() {
    // 1 + 2^-24 is exactly halfway between 1 and the next single.
    let half = s(2f32.powi(-24));
    let up = 0x3f80_0001;
    for (fpcr, pos, neg) in [
        (RN, s(1.0), s(-1.0)),
        (RP, up, s(-1.0)),
        (RM, s(1.0), up | 1 << 31),
        (RZ, s(1.0), s(-1.0)),
    ] {
        assert_eq!(add_s(fpcr, s(1.0), half), (pos, IXC), "fpcr {fpcr:#x}");
        assert_eq!(
            add_s(fpcr, s(-1.0), half | 1 << 31),
            (neg, IXC),
            "fpcr {fpcr:#x}"
        );
    }
    // Just above halfway rounds up to nearest.
    assert_eq!(add_s(RN, s(1.0), s(1.5 * 2f32.powi(-24))), (up, IXC));
    // Ties to even upwards: 1 + 3*2^-24 -> 1 + 4*2^-24.
    assert_eq!(add_s(RN, up, half), (0x3f80_0002, IXC));
    // Double precision.
    let dh = d(2f64.powi(-53));
    assert_eq!(add_d(RN, d(1.0), dh), (d(1.0), IXC));
    assert_eq!(add_d(RP, d(1.0), dh), (d(1.0) + 1, IXC));
    assert_eq!(add_d(RM, d(-1.0), dh | 1 << 63), (d(-1.0) + 1, IXC));
    assert_eq!(add_d(RZ, d(-1.0), dh | 1 << 63), (d(-1.0), IXC));
}

#[test]
fn overflow_by_rounding_mode() {
    let max = s(f32::MAX);
    let two = s(2.0);
    assert_eq!(mul_s(RN, max, two), (s(f32::INFINITY), OFC | IXC));
    assert_eq!(mul_s(RP, max, two), (s(f32::INFINITY), OFC | IXC));
    assert_eq!(mul_s(RM, max, two), (max, OFC | IXC));
    assert_eq!(mul_s(RZ, max, two), (max, OFC | IXC));
    let nmax = s(f32::MIN);
    assert_eq!(mul_s(RM, nmax, two), (s(f32::NEG_INFINITY), OFC | IXC));
    assert_eq!(mul_s(RP, nmax, two), (nmax, OFC | IXC));
}

#[test]
fn denormals_with_and_without_fz() {
    let min_normal = 0x0080_0000;
    // Exact denormal result: no flags; with FZ it flushes (UFC only, never IXC).
    assert_eq!(mul_s(RN, min_normal, s(0.5)), (0x0040_0000, 0));
    assert_eq!(mul_s(FZ, min_normal, s(0.5)), (0, UFC));
    assert_eq!(mul_s(FZ, min_normal | 1 << 31, s(0.5)), (1 << 31, UFC));
    // Inexact denormal result: UFC and IXC.
    assert_eq!(mul_s(RN, 0x0080_0001, s(0.5)), (0x0040_0000, UFC | IXC));
    assert_eq!(mul_s(RP, 0x0080_0001, s(0.5)), (0x0040_0001, UFC | IXC));
    // Tiny before rounding but rounds up to the smallest normal: Arm detects
    // tininess before rounding (x86 after), so this underflows on Arm...
    let below = s(1.0 - 2f32.powi(-24));
    assert_eq!(mul_s(RN, below, min_normal), (min_normal, UFC | IXC));
    // ...and flushes to zero under FZ.
    assert_eq!(mul_s(FZ, below, min_normal), (0, UFC));
    // Rounding towards zero keeps it below the smallest normal.
    assert_eq!(mul_s(RZ, below, min_normal), (0x007f_ffff, UFC | IXC));
    // Denormal inputs: used as they are, or read as zero with IDC under FZ.
    assert_eq!(add_s(RN, 1, 0), (1, 0));
    assert_eq!(add_s(FZ, 1, 0), (0, IDC));
    assert_eq!(add_s(FZ, 0x8000_0001, 0), (0, IDC));
    assert_eq!(add_s(FZ | RM, 0x8000_0001, 0), (1 << 31, IDC));
    assert_eq!(add_d(FZ, 1, d(1.0)), (d(1.0), IDC));
    // An underflow to zero.
    let tiny = s(2f32.powi(-100));
    assert_eq!(mul_s(RN, tiny, tiny), (0, UFC | IXC));
    assert_eq!(mul_s(RP, tiny, tiny), (1, UFC | IXC));
    assert_eq!(mul_s(FZ, tiny, tiny), (0, UFC));
    // Double precision, the same rounding-to-min-normal case.
    let dmin = 0x0010_0000_0000_0000;
    let dbelow = d(1.0 - 2f64.powi(-53));
    assert_eq!(
        run(RN, |c, f| sem::fmul::<F64>(dbelow, dmin, c, f)),
        (dmin, UFC | IXC)
    );
    assert_eq!(
        run(FZ, |c, f| sem::fmul::<F64>(dbelow, dmin, c, f)),
        (0, UFC)
    );
}

#[test]
fn minmax_nans_and_signed_zero() {
    let mm = |op, fpcr, a, b| run(fpcr, |c, f| sem::minmax::<F32>(op, a, b, c, f));
    let (pz, nz) = (s(0.0), s(-0.0));
    for (a, b) in [(pz, nz), (nz, pz)] {
        assert_eq!(mm(MinMax::Max, RN, a, b), (pz, 0));
        assert_eq!(mm(MinMax::MaxNum, RN, a, b), (pz, 0));
        assert_eq!(mm(MinMax::Min, RN, a, b), (nz, 0));
        assert_eq!(mm(MinMax::MinNum, RN, a, b), (nz, 0));
    }
    let (q, sn, q2) = (0x7fc0_0001, 0x7f80_0003, 0xffc0_0002);
    assert_eq!(mm(MinMax::Max, RN, s(1.0), q), (q, 0));
    assert_eq!(mm(MinMax::Min, RN, q, s(1.0)), (q, 0));
    assert_eq!(mm(MinMax::MaxNum, RN, s(1.0), q), (s(1.0), 0));
    assert_eq!(mm(MinMax::MinNum, RN, q, s(1.0)), (s(1.0), 0));
    assert_eq!(
        mm(MinMax::MaxNum, RN, q, s(f32::NEG_INFINITY)),
        (s(f32::NEG_INFINITY), 0)
    );
    assert_eq!(
        mm(MinMax::MinNum, RN, s(f32::INFINITY), q),
        (s(f32::INFINITY), 0)
    );
    assert_eq!(mm(MinMax::MaxNum, RN, q, q2), (q, 0));
    assert_eq!(mm(MinMax::MaxNum, RN, sn, s(1.0)), (0x7fc0_0003, IOC));
    assert_eq!(mm(MinMax::MaxNum, RN, q, sn), (0x7fc0_0003, IOC));
    assert_eq!(mm(MinMax::MinNum, DN, s(2.0), sn), (0x7fc0_0000, IOC));
    assert_eq!(mm(MinMax::Max, RN, s(-1.0), s(-2.0)), (s(-1.0), 0));
    assert_eq!(mm(MinMax::Min, RN, s(-1.0), s(-2.0)), (s(-2.0), 0));
    assert_eq!(
        mm(MinMax::Max, RN, s(f32::INFINITY), s(1.0)),
        (s(f32::INFINITY), 0)
    );
    // Denormals: kept, or flushed (IDC) under FZ.
    assert_eq!(mm(MinMax::Max, RN, 1, 0), (1, 0));
    assert_eq!(mm(MinMax::Max, FZ, 1, 0), (0, IDC));
    assert_eq!(mm(MinMax::Min, FZ, 0x8000_0001, 0), (1 << 31, IDC));
    let md = |op, a, b| run(RN, |c, f| sem::minmax::<F64>(op, a, b, c, f));
    assert_eq!(md(MinMax::Max, d(-0.0), d(0.0)), (d(0.0), 0));
    assert_eq!(
        md(MinMax::MinNum, 0x7ff8_0000_0000_0000, d(3.0)),
        (d(3.0), 0)
    );
}

#[test]
fn compare_all_orderings() {
    let cmp = |a, b, e, fpcr| run(fpcr, |c, f| sem::compare::<F32>(a, b, e, c, f));
    const LT: u64 = 0x8 << 28;
    const EQ: u64 = 0x6 << 28;
    const GT: u64 = 0x2 << 28;
    const UN: u64 = 0x3 << 28;
    for e in [false, true] {
        assert_eq!(cmp(s(1.0), s(2.0), e, RN), (LT, 0));
        assert_eq!(cmp(s(2.0), s(2.0), e, RN), (EQ, 0));
        assert_eq!(cmp(s(3.0), s(2.0), e, RN), (GT, 0));
        assert_eq!(cmp(s(0.0), s(-0.0), e, RN), (EQ, 0));
        assert_eq!(cmp(s(f32::NEG_INFINITY), s(f32::INFINITY), e, RN), (LT, 0));
        assert_eq!(cmp(s(-2.0), s(-1.0), e, RN), (LT, 0));
        // Signalling NaNs always raise Invalid; quiet ones only for FCMPE.
        assert_eq!(cmp(0x7f80_0001, s(1.0), e, RN), (UN, IOC));
        assert_eq!(
            cmp(s(1.0), 0x7fc0_0000, e, RN),
            (UN, if e { IOC } else { 0 })
        );
        // Denormals compare by value, or as zeros (IDC) under FZ.
        assert_eq!(cmp(1, 0x8000_0001, e, RN), (GT, 0));
        assert_eq!(cmp(1, 0x8000_0001, e, FZ), (EQ, IDC));
    }
    let cd = |a, b| run(RN, |c, f| sem::compare::<F64>(a, b, false, c, f));
    assert_eq!(cd(d(1.0), d(1.0) + 1), (LT, 0));
    assert_eq!(cd(0x7ff8_0000_0000_0000, 0x7ff8_0000_0000_0000), (UN, 0));
}

fn to_int<F: sem::Fmt>(x: u64, fbits: u32, u: bool, bits: u32, rm: Rounding) -> (u64, u64) {
    run(RN, |c, f| sem::to_fixed::<F>(x, fbits, u, bits, rm, c, f))
}

#[test]
fn float_to_int_saturation() {
    let z = Rounding::Zero;
    // 32-bit signed.
    assert_eq!(to_int::<F32>(s(3e9), 0, false, 32, z), (0x7fff_ffff, IOC));
    assert_eq!(to_int::<F32>(s(-3e9), 0, false, 32, z), (0x8000_0000, IOC));
    assert_eq!(
        to_int::<F64>(d(-2147483648.9), 0, false, 32, z),
        (0x8000_0000, IXC)
    );
    assert_eq!(
        to_int::<F64>(d(-2147483649.0), 0, false, 32, z),
        (0x8000_0000, IOC)
    );
    assert_eq!(
        to_int::<F64>(d(2147483647.5), 0, false, 32, z),
        (0x7fff_ffff, IXC)
    );
    assert_eq!(to_int::<F32>(0x7fc0_0000, 0, false, 32, z), (0, IOC));
    assert_eq!(to_int::<F32>(0xff80_0001, 0, false, 64, z), (0, IOC));
    assert_eq!(
        to_int::<F32>(s(f32::INFINITY), 0, false, 32, z),
        (0x7fff_ffff, IOC)
    );
    assert_eq!(
        to_int::<F32>(s(f32::NEG_INFINITY), 0, false, 64, z),
        (1 << 63, IOC)
    );
    // 64-bit signed.
    assert_eq!(
        to_int::<F64>(d(9.3e18), 0, false, 64, z),
        (i64::MAX as u64, IOC)
    );
    assert_eq!(
        to_int::<F64>(d(-(2f64.powi(63))), 0, false, 64, z),
        (1 << 63, 0)
    );
    assert_eq!(to_int::<F64>(d(-1e19), 0, false, 64, z), (1 << 63, IOC));
    assert_eq!(to_int::<F64>(d(-2.5), 0, false, 64, z), (-2i64 as u64, IXC));
    // Unsigned.
    assert_eq!(to_int::<F64>(d(-1.0), 0, true, 64, z), (0, IOC));
    assert_eq!(to_int::<F64>(d(-0.5), 0, true, 32, z), (0, IXC));
    assert_eq!(to_int::<F64>(d(-0.0), 0, true, 32, z), (0, 0));
    assert_eq!(
        to_int::<F64>(d(4294967296.0), 0, true, 32, z),
        (0xffff_ffff, IOC)
    );
    assert_eq!(
        to_int::<F64>(d(4294967295.0), 0, true, 32, z),
        (0xffff_ffff, 0)
    );
    assert_eq!(
        to_int::<F64>(0x43ef_ffff_ffff_ffff, 0, true, 64, z),
        (0xffff_ffff_ffff_f800, 0)
    );
    assert_eq!(
        to_int::<F64>(d(1.8446744073709552e19), 0, true, 64, z),
        (u64::MAX, IOC)
    );
    assert_eq!(
        to_int::<F32>(s(f32::INFINITY), 0, true, 64, z),
        (u64::MAX, IOC)
    );
    // Fixed point.
    assert_eq!(to_int::<F32>(s(1.5), 8, false, 32, z), (384, 0));
    assert_eq!(
        to_int::<F32>(s(-1.5), 8, false, 32, z),
        (-384i32 as u32 as u64, 0)
    );
    assert_eq!(
        to_int::<F32>(s(8388608.0), 8, false, 32, z),
        (0x7fff_ffff, IOC)
    );
    assert_eq!(to_int::<F64>(d(0.5), 64, true, 64, z), (1 << 63, 0));
    assert_eq!(to_int::<F64>(d(1.0), 64, true, 64, z), (u64::MAX, IOC));
    assert_eq!(to_int::<F64>(d(-0.5), 64, false, 64, z), (1 << 63, 0));
    assert_eq!(to_int::<F64>(d(0.3), 32, false, 32, z), (0x4ccc_cccc, IXC));
    // Denormal input: rounds to 0 (IXC), or flushed (IDC) under FZ.
    assert_eq!(to_int::<F32>(1, 0, false, 32, z), (0, IXC));
    assert_eq!(
        run(FZ, |c, f| sem::to_fixed::<F32>(1, 0, false, 32, z, c, f)),
        (0, IDC)
    );
}

#[test]
fn float_to_int_rounding_modes() {
    use Rounding::*;
    let cases: [(f64, [i64; 5]); 8] = [
        // value:   N   P   M   Z   A
        (2.5, [2, 3, 2, 2, 3]),
        (-2.5, [-2, -2, -3, -2, -3]),
        (3.5, [4, 4, 3, 3, 4]),
        (-0.4, [0, 0, -1, 0, 0]),
        (0.6, [1, 1, 0, 0, 1]),
        (-1.5, [-2, -1, -2, -1, -2]),
        (7.0, [7, 7, 7, 7, 7]),
        (0.5, [0, 1, 0, 0, 1]),
    ];
    for (v, want) in cases {
        for (rm, w) in [TieEven, PosInf, NegInf, Zero, TieAway]
            .into_iter()
            .zip(want)
        {
            let flags = if v.fract() != 0.0 { IXC } else { 0 };
            assert_eq!(
                to_int::<F64>(d(v), 0, false, 64, rm),
                (w as u64, flags),
                "{v} {rm:?}"
            );
            assert_eq!(
                to_int::<F32>(s(v as f32), 0, false, 32, rm),
                (w as i32 as u32 as u64, flags),
                "{v} {rm:?}"
            );
        }
    }
    // Unsigned conversions saturate negative results to 0 with IOC.
    assert_eq!(to_int::<F64>(d(-0.1), 0, true, 64, NegInf), (0, IOC));
    assert_eq!(to_int::<F64>(d(-0.1), 0, true, 64, Zero), (0, IXC));
    assert_eq!(to_int::<F64>(d(-0.5), 0, true, 64, TieAway), (0, IOC));
    assert_eq!(to_int::<F64>(d(-0.5), 0, true, 64, TieEven), (0, IXC));
    assert_eq!(to_int::<F64>(d(0.1), 0, true, 32, PosInf), (1, IXC));
}

#[test]
fn int_to_float_every_rounding_mode() {
    let cvt_s = |fpcr, x: u64, u: bool, bits: u32| {
        run(fpcr, |c, f| sem::from_fixed::<F32>(x, 0, u, bits, c, f))
    };
    let p = (1u64 << 24) + 1;
    let n = p.wrapping_neg();
    for (fpcr, pos, neg) in [
        (RN, 0x4b80_0000, 0xcb80_0000),
        (RP, 0x4b80_0001, 0xcb80_0000),
        (RM, 0x4b80_0000, 0xcb80_0001),
        (RZ, 0x4b80_0000, 0xcb80_0000),
    ] {
        assert_eq!(cvt_s(fpcr, p, false, 64), (pos, IXC));
        assert_eq!(cvt_s(fpcr, n, false, 64), (neg, IXC));
        assert_eq!(cvt_s(fpcr, n & 0xffff_ffff, false, 32), (neg, IXC));
    }
    assert_eq!(cvt_s(RN, 0xffff_ffff, false, 32), (s(-1.0), 0));
    assert_eq!(cvt_s(RN, 0xffff_ffff, true, 32), (s(4294967296.0), IXC));
    assert_eq!(cvt_s(RZ, 0xffff_ffff, true, 32), (s(4294967040.0), IXC));
    assert_eq!(cvt_s(RN, 0, false, 64), (0, 0));
    let cvt_d = |fpcr, x: u64, u: bool, fbits: u32| {
        run(fpcr, |c, f| sem::from_fixed::<F64>(x, fbits, u, 64, c, f))
    };
    assert_eq!(
        cvt_d(RN, u64::MAX, true, 0),
        (d(18446744073709551616.0), IXC)
    );
    assert_eq!(cvt_d(RZ, u64::MAX, true, 0), (0x43ef_ffff_ffff_ffff, IXC));
    assert_eq!(cvt_d(RN, 1 << 63, false, 0), (d(-(2f64.powi(63))), 0));
    assert_eq!(cvt_d(RN, 1 << 63, true, 64), (d(0.5), 0));
    assert_eq!(cvt_d(RN, 3, false, 1), (d(1.5), 0));
    assert_eq!(cvt_d(RN, u64::MAX, false, 64), (d(-(2f64.powi(-64))), 0));
    assert_eq!(
        run(RN, |c, f| sem::from_fixed::<F32>(12, 3, false, 32, c, f)),
        (s(1.5), 0)
    );
}

fn cvt<S: sem::Fmt, D: sem::Fmt>(fpcr: u64, x: u64) -> (u64, u64) {
    run(fpcr, |c, f| sem::convert::<S, D>(x, c, f))
}

#[test]
fn fcvt_precision_conversions() {
    // Double -> single, every rounding mode on an exact tie.
    let tie = d(1.0 + 2f64.powi(-24));
    let ntie = tie | 1 << 63;
    assert_eq!(cvt::<F64, F32>(RN, tie), (s(1.0), IXC));
    assert_eq!(cvt::<F64, F32>(RP, tie), (0x3f80_0001, IXC));
    assert_eq!(cvt::<F64, F32>(RM, tie), (s(1.0), IXC));
    assert_eq!(cvt::<F64, F32>(RZ, tie), (s(1.0), IXC));
    assert_eq!(cvt::<F64, F32>(RM, ntie), (0xbf80_0001, IXC));
    assert_eq!(cvt::<F64, F32>(RP, ntie), (s(-1.0), IXC));
    // Overflow and underflow.
    assert_eq!(cvt::<F64, F32>(RN, d(1e300)), (s(f32::INFINITY), OFC | IXC));
    assert_eq!(cvt::<F64, F32>(RZ, d(1e300)), (s(f32::MAX), OFC | IXC));
    assert_eq!(cvt::<F64, F32>(RN, d(2f64.powi(-140))), (0x200, 0));
    assert_eq!(cvt::<F64, F32>(FZ, d(2f64.powi(-140))), (0, UFC));
    assert_eq!(
        cvt::<F64, F32>(RN, d(2f64.powi(-150) * 1.5)),
        (1, UFC | IXC)
    );
    // Single -> double is exact; denormal inputs flush under FZ.
    assert_eq!(cvt::<F32, F64>(RN, 1), (d(2f64.powi(-149)), 0));
    assert_eq!(cvt::<F32, F64>(FZ, 0x8000_0001), (1 << 63, IDC));
    // NaNs: quietened, payload kept (most significant bits), or default NaN.
    assert_eq!(
        cvt::<F32, F64>(RN, 0x7f80_0001),
        (0x7ff8_0000_2000_0000, IOC)
    );
    assert_eq!(cvt::<F32, F64>(RN, 0xffc0_0001), (0xfff8_0000_2000_0000, 0));
    assert_eq!(cvt::<F64, F32>(RN, 0x7ff8_0000_1234_5678), (0x7fc0_0000, 0));
    assert_eq!(
        cvt::<F64, F32>(RN, 0x7ff4_0000_0000_0005),
        (0x7fe0_0000, IOC)
    );
    assert_eq!(
        cvt::<F64, F32>(DN, 0xfff4_0000_0000_0005),
        (0x7fc0_0000, IOC)
    );
    assert_eq!(cvt::<F32, F16>(RN, 0xffc0_2000), (0xfe01, 0));
    // Half precision.
    assert_eq!(cvt::<F32, F16>(RN, s(65504.0)), (0x7bff, 0));
    assert_eq!(cvt::<F32, F16>(RN, s(65520.0)), (0x7c00, OFC | IXC));
    assert_eq!(cvt::<F32, F16>(RZ, s(65520.0)), (0x7bff, IXC)); // no overflow after rounding
    assert_eq!(cvt::<F32, F16>(RZ, s(65536.0)), (0x7bff, OFC | IXC));
    assert_eq!(cvt::<F32, F16>(RN, s(1.0 / 3.0)), (0x3555, IXC));
    assert_eq!(cvt::<F32, F16>(RP, s(1.0 / 3.0)), (0x3556, IXC));
    assert_eq!(cvt::<F64, F16>(FZ, d(2f64.powi(-24))), (1, 0)); // no FZ for halves
    assert_eq!(cvt::<F64, F16>(RN, d(2f64.powi(-26))), (0, UFC | IXC));
    assert_eq!(cvt::<F16, F32>(RN, 0x7c00), (s(f32::INFINITY), 0));
    assert_eq!(cvt::<F16, F32>(RN, 1), (s(2f32.powi(-24)), 0));
    assert_eq!(cvt::<F16, F32>(FZ, 1), (s(2f32.powi(-24)), 0));
    assert_eq!(cvt::<F16, F64>(RN, 0x7d00), (0x7ffc_0000_0000_0000, IOC));
    assert_eq!(cvt::<F16, F32>(RN, 0xbc00), (s(-1.0), 0));
    // Alternative half precision: no infinities or NaNs.
    assert_eq!(cvt::<F16, F32>(AHP, 0x7c00), (s(65536.0), 0));
    assert_eq!(cvt::<F16, F32>(AHP, 0xffff), (s(-131008.0), 0));
    assert_eq!(cvt::<F32, F16>(AHP, s(65536.0)), (0x7c00, 0));
    assert_eq!(cvt::<F32, F16>(AHP, s(f32::INFINITY)), (0x7fff, IOC));
    assert_eq!(cvt::<F32, F16>(AHP, s(-1e10)), (0xffff, IOC));
    assert_eq!(cvt::<F32, F16>(AHP, 0xffc0_0000), (0x8000, IOC));
}

#[test]
fn round_to_integral() {
    use Rounding::*;
    let ri =
        |x: f64, rm, exact, fpcr| run(fpcr, |c, f| sem::round_int::<F64>(d(x), rm, exact, c, f));
    let cases: [(f64, [f64; 5]); 6] = [
        (2.5, [2.0, 3.0, 2.0, 2.0, 3.0]),
        (-2.5, [-2.0, -2.0, -3.0, -2.0, -3.0]),
        (0.5, [0.0, 1.0, 0.0, 0.0, 1.0]),
        (-0.3, [-0.0, -0.0, -1.0, -0.0, -0.0]),
        (1e300, [1e300; 5]),
        (-7.0, [-7.0; 5]),
    ];
    for (x, want) in cases {
        for (rm, w) in [TieEven, PosInf, NegInf, Zero, TieAway]
            .into_iter()
            .zip(want)
        {
            let inexact = x.fract() != 0.0;
            assert_eq!(ri(x, rm, false, RN), (d(w), 0), "{x} {rm:?}");
            assert_eq!(
                ri(x, rm, true, RN),
                (d(w), if inexact { IXC } else { 0 }),
                "{x} {rm:?}"
            );
        }
    }
    // FRINTX / FRINTI take the mode from FPCR.
    for (fpcr, w) in [(RN, 2.0f32), (RP, 3.0), (RM, 2.0), (RZ, 2.0)] {
        let rm = Rounding::from_fpcr(fpcr);
        assert_eq!(
            run(fpcr, |c, f| sem::round_int::<F32>(s(2.5), rm, true, c, f)),
            (s(w), IXC)
        );
    }
    assert_eq!(ri(f64::INFINITY, TieEven, true, RN), (d(f64::INFINITY), 0));
    let sn = 0x7ff0_0000_0000_0001;
    assert_eq!(
        run(RN, |c, f| sem::round_int::<F64>(sn, Zero, false, c, f)),
        (0x7ff8_0000_0000_0001, IOC)
    );
    assert_eq!(
        run(FZ, |c, f| sem::round_int::<F32>(
            0x8000_0001,
            PosInf,
            true,
            c,
            f
        )),
        (1 << 31, IDC)
    );
    assert_eq!(
        run(RN, |c, f| sem::round_int::<F32>(1, PosInf, true, c, f)),
        (s(1.0), IXC)
    );
    assert_eq!(
        run(RN, |c, f| sem::round_int::<F32>(
            s(8388607.5),
            TieEven,
            false,
            c,
            f
        )),
        (s(8388608.0), 0)
    );
}

#[test]
fn fused_multiply_add_rounds_once() {
    // (1 + 2^-12)^2 = 1 + 2^-11 + 2^-24: the 2^-24 is lost when the product is rounded
    // on its own, but survives a fused multiply-add.
    let x = s(1.0 + 2f32.powi(-12));
    let c = s(-(1.0 + 2f32.powi(-11)));
    for soft in [false, true] {
        let (r, f) = run(RN, |p, f| {
            super::sem::fmuladd_impl::<F32>(c, x, x, p, f, soft)
        });
        assert_eq!((r, f), (s(2f32.powi(-24)), 0), "soft={soft}");
    }
    let (prod, pf) = mul_s(RN, x, x);
    assert_eq!(pf, IXC);
    assert_eq!(add_s(RN, c, prod), (0, 0));
    // Double precision.
    let xd = d(1.0 + 2f64.powi(-30));
    let cd = d(-(1.0 + 2f64.powi(-29)));
    assert_eq!(
        run(RN, |p, f| sem::fmuladd::<F64>(cd, xd, xd, p, f)),
        (d(2f64.powi(-60)), 0)
    );
    // qNaN addend with inf * 0: the default NaN and Invalid Operation.
    let q = 0x7fc0_1234;
    assert_eq!(
        run(RN, |p, f| sem::fmuladd::<F32>(q, s(f32::INFINITY), 0, p, f)),
        (0x7fc0_0000, IOC)
    );
    assert_eq!(
        run(RN, |p, f| sem::fmuladd::<F32>(q, s(1.0), s(2.0), p, f)),
        (q, 0)
    );
    // NaN priority: addend, then op1, then op2 (signalling before quiet).
    assert_eq!(
        run(RN, |p, f| sem::fmuladd::<F32>(
            q,
            0x7f80_0002,
            0x7f80_0003,
            p,
            f
        )),
        (0x7fc0_0002, IOC)
    );
    assert_eq!(
        run(RN, |p, f| sem::fmuladd::<F32>(
            0x7f80_0001,
            0x7f80_0002,
            q,
            p,
            f
        )),
        (0x7fc0_0001, IOC)
    );
    // Exact zero sums take their sign from the rounding mode.
    assert_eq!(
        run(RN, |p, f| sem::fmuladd::<F32>(
            s(-1.0),
            s(1.0),
            s(1.0),
            p,
            f
        )),
        (0, 0)
    );
    assert_eq!(
        run(RM, |p, f| sem::fmuladd::<F32>(
            s(-1.0),
            s(1.0),
            s(1.0),
            p,
            f
        )),
        (1 << 31, 0)
    );
    assert_eq!(
        run(RN, |p, f| sem::fmuladd::<F32>(
            s(-0.0),
            s(-0.0),
            s(1.0),
            p,
            f
        )),
        (1 << 31, 0)
    );
}

/// The software fused multiply-add (used on hosts without FMA3) agrees with the host's
/// FMA3 on random and edge-case operands in every mode.
#[test]
fn soft_fma_matches_host() {
    if !super::host::has_fma() {
        return;
    }
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let pick_d = |r: u64| -> u64 {
        match r % 8 {
            0 => [
                0,
                1 << 63,
                1,
                0x0010_0000_0000_0000,
                0x7ff0_0000_0000_0000,
                d(1.0),
                d(-1.0),
            ][(r >> 8) as usize % 7],
            1 => (r >> 3) & 0x800f_ffff_ffff_ffff, // denormals
            2 => (r & 0x800f_ffff_ffff_ffff) | (((r >> 20) % 60 + 1) << 52), // tiny normals
            3 => (r & 0x800f_ffff_ffff_ffff) | ((1023 + (r >> 20) % 8) << 52),
            4 => (r & 0x800f_ffff_ffff_ffff) | ((2040 + (r >> 20) % 7) << 52), // huge
            _ => (r & 0x800f_ffff_ffff_ffff) | ((900 + (r >> 20) % 250) << 52),
        }
    };
    let fpcrs = [RN, RP, RM, RZ, FZ, FZ | RP, FZ | RM | DN];
    for i in 0..200_000 {
        let fpcr = fpcrs[i % fpcrs.len()];
        let (a, b, c) = (pick_d(next()), pick_d(next()), pick_d(next()));
        // Steer some cases into heavy cancellation: c ≈ -(a*b).
        let c = if i % 5 == 0 {
            d(-(f64::from_bits(a) * f64::from_bits(b))) ^ (next() & 3)
        } else {
            c
        };
        let hw = run(fpcr, |p, f| {
            super::sem::fmuladd_impl::<F64>(c, a, b, p, f, false)
        });
        let sw = run(fpcr, |p, f| {
            super::sem::fmuladd_impl::<F64>(c, a, b, p, f, true)
        });
        assert_eq!(hw, sw, "d {c:#x} + {a:#x} * {b:#x} fpcr {fpcr:#x}");
        let (a, b, c) = (
            next() as u32 as u64,
            (next() >> 32) as u32 as u64,
            pick_d(next()) >> 32,
        );
        let c = if i % 5 == 0 {
            s(-(f32::from_bits(a as u32) * f32::from_bits(b as u32))) ^ (next() & 3)
        } else {
            c
        };
        let hw = run(fpcr, |p, f| {
            super::sem::fmuladd_impl::<F32>(c, a, b, p, f, false)
        });
        let sw = run(fpcr, |p, f| {
            super::sem::fmuladd_impl::<F32>(c, a, b, p, f, true)
        });
        assert_eq!(hw, sw, "s {c:#x} + {a:#x} * {b:#x} fpcr {fpcr:#x}");
    }
}

#[test]
fn fmov_immediate_expansion() {
    assert_eq!(sem::expand_imm::<F32>(0x70), s(1.0));
    assert_eq!(sem::expand_imm::<F32>(0x00), s(2.0));
    assert_eq!(sem::expand_imm::<F32>(0x80), s(-2.0));
    assert_eq!(sem::expand_imm::<F32>(0x3f), s(31.0));
    assert_eq!(sem::expand_imm::<F64>(0x70), d(1.0));
    assert_eq!(sem::expand_imm::<F64>(0xc0), d(-0.125));
    assert_eq!(sem::expand_imm::<F64>(0x7f), d(1.9375));
    assert_eq!(sem::expand_imm::<F64>(0x40), d(0.125));
}

// ---- decode → lift → x86 through the engine --------------------------------------------

mod engine {
    use super::{d, s, DN, FZ, IDC, IOC, IXC, RM, RP, RZ, UFC};
    use crate::arm64::cpu::{Cpu, VReg};
    use crate::engine::testing::{run, run_ok};
    use crate::engine::Exit;

    const JUNK: u64 = 0xdead_beef_dead_beef;

    /// A CPU whose V registers all hold junk, with the given low lanes set.
    fn cpu_with(v: &[(usize, u64)]) -> Box<Cpu> {
        let mut c = Cpu::new();
        for r in c.v.iter_mut() {
            *r = VReg([JUNK, JUNK]);
        }
        for &(i, x) in v {
            c.v[i].0[0] = x;
        }
        c
    }

    /// Run one word; return the CPU.
    fn exec(word: u32, v: &[(usize, u64)], fpcr: u64) -> Box<Cpu> {
        let mut c = cpu_with(v);
        c.fpcr = fpcr;
        run_ok(&[word], &mut c);
        c
    }

    #[test]
    fn scalar_arithmetic_zeroes_upper_bits() {
        // fadd d1, d2, d3
        let c = exec(0x1e63_2841, &[(2, d(1.5)), (3, d(2.25))], 0);
        assert_eq!(c.v[1], VReg([d(3.75), 0]));
        assert_eq!(c.fpsr, 0);
        // fsub s1, s2, s3: only the low 32 bits of the sources count.
        let c = exec(0x1e23_3841, &[(2, JUNK << 32 | s(5.0)), (3, s(0.5))], 0);
        assert_eq!(c.v[1], VReg([s(4.5), 0]));
        // fmul d0, d1, d2; fdiv s0, s1, s2
        let c = exec(0x1e62_0820, &[(1, d(3.0)), (2, d(-0.5))], 0);
        assert_eq!(c.v[0], VReg([d(-1.5), 0]));
        let c = exec(0x1e22_1820, &[(1, s(1.0)), (2, s(3.0))], RP);
        assert_eq!(c.v[0], VReg([0x3eaa_aaab, 0]));
        assert_eq!(c.fpsr, IXC);
        let c = exec(0x1e22_1820, &[(1, s(1.0)), (2, s(3.0))], RZ);
        assert_eq!(c.v[0].0[0], 0x3eaa_aaaa);
        // fsqrt s3, s4
        let c = exec(0x1e21_c083, &[(4, s(2.0))], 0);
        assert_eq!(c.v[3], VReg([s(std::f32::consts::SQRT_2), 0]));
        assert_eq!(c.fpsr, IXC);
        // fmax s0, s1, s2 / fmin d0, d1, d2 / fmaxnm s0 / fminnm d0
        let c = exec(0x1e22_4820, &[(1, s(-0.0)), (2, s(0.0))], 0);
        assert_eq!(c.v[0], VReg([s(0.0), 0]));
        let c = exec(0x1e62_5820, &[(1, d(-0.0)), (2, d(0.0))], 0);
        assert_eq!(c.v[0], VReg([d(-0.0), 0]));
        let c = exec(0x1e22_6820, &[(1, 0x7fc0_0000), (2, s(7.0))], 0);
        assert_eq!(c.v[0], VReg([s(7.0), 0]));
        let c = exec(0x1e62_7820, &[(1, d(7.0)), (2, 0x7ff8_0000_0000_0000)], 0);
        assert_eq!(c.v[0], VReg([d(7.0), 0]));
    }

    #[test]
    fn fpsr_accumulates_and_fpcr_applies() {
        // fadd s0, s1, s2 on a denormal under FZ: IDC joins the flags already set.
        let mut c = cpu_with(&[(1, 1), (2, s(1.0))]);
        c.fpcr = FZ;
        c.fpsr = IXC;
        run_ok(&[0x1e22_2820], &mut c);
        assert_eq!(c.v[0].0[0], s(1.0));
        assert_eq!(c.fpsr, IXC | IDC);
        // msr fpcr, x9; fadd s0, s1, s2; mrs x10, fpsr — rounding towards -inf.
        let mut c = cpu_with(&[(1, s(1.0)), (2, s(2f32.powi(-25)) | 1 << 31)]);
        c.x[9] = RM;
        run_ok(&[0xd51b_4409, 0x1e22_2820, 0xd53b_442a], &mut c);
        assert_eq!(c.v[0].0[0], 0x3f7f_ffff);
        assert_eq!(c.x[10], IXC);
        // Tiny result under FZ: flushed, UFC only.
        let c = exec(0x1e22_0820, &[(1, 0x0080_0000), (2, s(0.5))], FZ);
        assert_eq!((c.v[0].0[0], c.fpsr), (0, UFC));
        // Invalid: Arm's positive default NaN.
        let c = exec(0x1e22_0820, &[(1, 0), (2, s(f32::INFINITY))], 0);
        assert_eq!((c.v[0].0[0], c.fpsr), (0x7fc0_0000, IOC));
    }

    #[test]
    fn fnmul_and_fused_forms() {
        // fnmul d0, d1, d2 negates the product, NaNs included (here DN's default NaN).
        let c = exec(0x1e62_8820, &[(1, d(2.0)), (2, d(3.0))], 0);
        assert_eq!(c.v[0], VReg([d(-6.0), 0]));
        let c = exec(0x1e62_8820, &[(1, 0), (2, d(f64::INFINITY))], DN);
        assert_eq!((c.v[0].0[0], c.fpsr), (0xfff8_0000_0000_0000, IOC));
        let (n, m, a) = (d(3.0), d(5.0), d(100.0));
        let regs = [(1, n), (2, m), (3, a)];
        // fmadd d0, d1, d2, d3 = a + n*m
        assert_eq!(exec(0x1f42_0c20, &regs, 0).v[0], VReg([d(115.0), 0]));
        // fnmadd d0, d1, d2, d3 = -a - n*m
        assert_eq!(exec(0x1f62_0c20, &regs, 0).v[0], VReg([d(-115.0), 0]));
        let regs = [(1, s(3.0)), (2, s(5.0)), (3, s(100.0))];
        // fmsub s0, s1, s2, s3 = a - n*m
        assert_eq!(exec(0x1f02_8c20, &regs, 0).v[0], VReg([s(85.0), 0]));
        // fnmsub s0, s1, s2, s3 = -a + n*m
        assert_eq!(exec(0x1f22_8c20, &regs, 0).v[0], VReg([s(-85.0), 0]));
        // fmsub negates a NaN multiplicand before propagating it.
        let c = exec(
            0x1f02_8c20,
            &[(1, 0x7fc1_2345), (2, s(1.0)), (3, s(1.0))],
            0,
        );
        assert_eq!(c.v[0].0[0], 0xffc1_2345);
        // Fused: one rounding.
        let x = s(1.0 + 2f32.powi(-12));
        let c = exec(
            0x1f02_0c20,
            &[(1, x), (2, x), (3, s(-(1.0 + 2f32.powi(-11))))],
            0,
        );
        assert_eq!((c.v[0].0[0], c.fpsr), (s(2f32.powi(-24)), 0));
    }

    #[test]
    fn compares_set_nzcv() {
        // fcmp s0, s1
        for (a, b, nzcv) in [
            (1.0f32, 2.0, 0x8),
            (2.0, 2.0, 0x6),
            (3.0, 2.0, 0x2),
            (f32::NAN, 2.0, 0x3),
        ] {
            let mut c = cpu_with(&[(0, s(a)), (1, s(b))]);
            run_ok(&[0x1e21_2000], &mut c);
            assert_eq!(c.nzcv, nzcv << 28, "{a} {b}");
            assert_eq!(c.fpsr, 0);
        }
        // fcmpe s0, s1 with a quiet NaN raises IOC.
        let c = exec(0x1e21_2010, &[(0, 0x7fc0_0000), (1, 0)], 0);
        assert_eq!((c.nzcv, c.fpsr), (0x3 << 28, IOC));
        // fcmp d0, #0.0 / fcmpe d0, #0.0
        let c = exec(0x1e60_2008, &[(0, d(-0.0))], 0);
        assert_eq!(c.nzcv, 0x6 << 28);
        let c = exec(0x1e60_2018, &[(0, d(-1.0))], 0);
        assert_eq!(c.nzcv, 0x8 << 28);
        // fccmp s0, s1, #0x4, eq: compares only when Z is set.
        let mut c = cpu_with(&[(0, s(1.0)), (1, s(2.0))]);
        c.nzcv = 0x4 << 28;
        run_ok(&[0x1e21_0404], &mut c);
        assert_eq!(c.nzcv, 0x8 << 28);
        let mut c = cpu_with(&[(0, 0x7f80_0001), (1, s(2.0))]);
        c.nzcv = 0;
        run_ok(&[0x1e21_0404], &mut c);
        assert_eq!((c.nzcv, c.fpsr), (0x4 << 28, 0)); // no compare, no IOC
                                                      // fccmpe d0, d1, #0xf, ne
        let mut c = cpu_with(&[(0, 0x7ff8_0000_0000_0000), (1, d(2.0))]);
        c.nzcv = 0;
        run_ok(&[0x1e61_141f], &mut c);
        assert_eq!((c.nzcv, c.fpsr), (0x3 << 28, IOC));
        // fcsel s0, s1, s2, ge
        let mut c = cpu_with(&[(1, JUNK << 32 | s(1.0)), (2, s(2.0))]);
        c.nzcv = 0x9 << 28; // N and V: ge holds
        run_ok(&[0x1e22_ac20], &mut c);
        assert_eq!(c.v[0], VReg([s(1.0), 0]));
        c.nzcv = 0x8 << 28;
        run_ok(&[0x1e22_ac20], &mut c);
        assert_eq!(c.v[0], VReg([s(2.0), 0]));
    }

    #[test]
    fn moves() {
        // fmov s1, s2 / fmov d1, d2 / fabs s1, s2 / fneg d1, d2
        let c = exec(0x1e20_4041, &[(2, JUNK << 32 | 0x7f80_0001)], 0);
        assert_eq!((c.v[1], c.fpsr), (VReg([0x7f80_0001, 0]), 0));
        let c = exec(0x1e60_4041, &[(2, d(-2.0))], 0);
        assert_eq!(c.v[1], VReg([d(-2.0), 0]));
        let c = exec(0x1e20_c041, &[(2, JUNK << 32 | 0xff80_0001)], 0);
        assert_eq!((c.v[1], c.fpsr), (VReg([0x7f80_0001, 0]), 0));
        let c = exec(0x1e61_4041, &[(2, 0x7ff0_0000_0000_0001)], 0);
        assert_eq!((c.v[1], c.fpsr), (VReg([0xfff0_0000_0000_0001, 0]), 0));
        // fmov s0, #1.0 / fmov d0, #-0.125
        assert_eq!(exec(0x1e2e_1000, &[], 0).v[0], VReg([s(1.0), 0]));
        assert_eq!(exec(0x1e78_1000, &[], 0).v[0], VReg([d(-0.125), 0]));
        // fmov w3, s4 / fmov s4, w3 / fmov x3, d4 / fmov d4, x3
        let mut c = cpu_with(&[(4, 0x1234_5678_9abc_def0)]);
        c.x[3] = u64::MAX;
        run_ok(&[0x1e26_0083], &mut c);
        assert_eq!(c.x[3], 0x9abc_def0);
        c.x[3] = 0xffff_ffff_8765_4321;
        run_ok(&[0x1e27_0064], &mut c);
        assert_eq!(c.v[4], VReg([0x8765_4321, 0]));
        let mut c = cpu_with(&[(4, 0x1234_5678_9abc_def0)]);
        run_ok(&[0x9e66_0083], &mut c);
        assert_eq!(c.x[3], 0x1234_5678_9abc_def0);
        c.x[3] = 42;
        run_ok(&[0x9e67_0064], &mut c);
        assert_eq!(c.v[4], VReg([42, 0]));
        // fmov x5, v6.d[1] / fmov v6.d[1], x5 (low half kept)
        let mut c = cpu_with(&[]);
        c.v[6] = VReg([1, 2]);
        run_ok(&[0x9eae_00c5], &mut c);
        assert_eq!(c.x[5], 2);
        c.x[5] = 77;
        run_ok(&[0x9eaf_00a6], &mut c);
        assert_eq!(c.v[6], VReg([1, 77]));
        // fmov s0, wzr
        let c = exec(0x1e27_03e0, &[], 0);
        assert_eq!(c.v[0], VReg([0, 0]));
    }

    #[test]
    fn conversions() {
        // fcvt d0, s1 / fcvt h0, s1 / fcvt s0, d1 / fcvt h0, d1 / fcvt s0, h1 / fcvt d0, h1
        assert_eq!(exec(0x1e22_c020, &[(1, s(1.5))], 0).v[0], VReg([d(1.5), 0]));
        assert_eq!(exec(0x1e23_c020, &[(1, s(1.5))], 0).v[0], VReg([0x3e00, 0]));
        let c = exec(0x1e62_4020, &[(1, d(0.1))], RZ);
        assert_eq!((c.v[0], c.fpsr), (VReg([0x3dcc_cccc, 0]), IXC));
        assert_eq!(
            exec(0x1e63_c020, &[(1, d(-2.0))], 0).v[0],
            VReg([0xc000, 0])
        );
        assert_eq!(
            exec(0x1ee2_4020, &[(1, JUNK << 16 | 0x3c00)], 0).v[0],
            VReg([s(1.0), 0])
        );
        assert_eq!(
            exec(0x1ee2_c020, &[(1, 0x7c00)], 0).v[0],
            VReg([d(f64::INFINITY), 0])
        );
        // scvtf s0, w1 / scvtf d0, x1 / ucvtf s0, x1 / ucvtf d0, w1
        let mut c = cpu_with(&[]);
        c.x[1] = 0xffff_ffff;
        run_ok(&[0x1e22_0020], &mut c);
        assert_eq!(c.v[0], VReg([s(-1.0), 0]));
        run_ok(&[0x9e62_0020], &mut c);
        assert_eq!(c.v[0], VReg([d(4294967295.0), 0]));
        c.x[1] = u64::MAX;
        run_ok(&[0x9e23_0020], &mut c);
        assert_eq!(
            (c.v[0], c.fpsr),
            (VReg([s(18446744073709551616.0), 0]), IXC)
        );
        run_ok(&[0x1e63_0020], &mut c);
        assert_eq!(c.v[0], VReg([d(4294967295.0), 0]));
        // scvtf s0, w1, #3 / ucvtf d0, x1, #64
        c.x[1] = 12;
        run_ok(&[0x1e02_f420], &mut c);
        assert_eq!(c.v[0], VReg([s(1.5), 0]));
        c.x[1] = 1 << 63;
        run_ok(&[0x9e43_0020], &mut c);
        assert_eq!(c.v[0], VReg([d(0.5), 0]));
        // fcvtzs w0, s1 (saturates) / fcvtzs x0, d1, #10 / fcvtzu w0, d1, #32 / fcvtzu x0, s1
        let to = |word: u32, v: u64, fpcr: u64| {
            let mut c = cpu_with(&[(1, v), (31, v)]);
            c.x[0] = JUNK;
            c.fpcr = fpcr;
            run_ok(&[word], &mut c);
            (c.x[0], c.fpsr)
        };
        assert_eq!(to(0x1e38_0020, s(-3e9), 0), (0x8000_0000, IOC));
        assert_eq!(to(0x1e38_0020, s(-7.9), 0), (0xffff_fff9, IXC));
        assert_eq!(to(0x9e58_d820, d(-1.5), 0), (-1536i64 as u64, 0));
        assert_eq!(to(0x1e59_8020, d(0.75), 0), (0xc000_0000, 0));
        assert_eq!(to(0x1e59_8020, d(1.0), 0), (0xffff_ffff, IOC));
        assert_eq!(to(0x9e39_0020, 0x7fc0_0000, 0), (0, IOC));
        // fcvtns w0, s1 / fcvtnu x0, d1 / fcvtas w0, d1 / fcvtau x0, s1
        assert_eq!(to(0x1e20_0020, s(2.5), 0), (2, IXC));
        assert_eq!(to(0x9e61_0020, d(3.5), 0), (4, IXC));
        assert_eq!(to(0x1e64_0020, d(-2.5), 0), (0xffff_fffd, IXC));
        assert_eq!(to(0x9e25_0020, s(2.5), 0), (3, IXC));
        // fcvtps w0, s1 / fcvtpu x0, d1 / fcvtms w0, d1 / fcvtmu x0, s31 — FPCR.RMode ignored.
        assert_eq!(to(0x1e28_0020, s(-2.5), RM), (0xffff_fffe, IXC));
        assert_eq!(to(0x9e69_0020, d(0.25), RZ), (1, IXC));
        assert_eq!(to(0x1e70_0020, d(-2.5), RP), (0xffff_fffd, IXC));
        assert_eq!(to(0x9e31_03e0, s(-0.25), 0), (0, IOC));
        // fcvtzs wzr: result discarded, flags still raised.
        let mut c = cpu_with(&[(1, s(1e10))]);
        run_ok(&[0x1e38_003f], &mut c);
        assert_eq!(c.fpsr, IOC);
    }

    #[test]
    fn round_to_integral() {
        // frintn s0, s1 / frinta d0, d1 / frintp s0, s1 / frintm d0, d1 / frintz s0, s1
        assert_eq!(exec(0x1e24_4020, &[(1, s(2.5))], 0).v[0], VReg([s(2.0), 0]));
        assert_eq!(exec(0x1e66_4020, &[(1, d(2.5))], 0).v[0], VReg([d(3.0), 0]));
        assert_eq!(
            exec(0x1e24_c020, &[(1, s(-0.5))], 0).v[0],
            VReg([s(-0.0), 0])
        );
        assert_eq!(
            exec(0x1e65_4020, &[(1, d(-0.5))], 0).v[0],
            VReg([d(-1.0), 0])
        );
        assert_eq!(
            exec(0x1e25_c020, &[(1, s(-1.9))], 0).v[0],
            VReg([s(-1.0), 0])
        );
        assert_eq!(exec(0x1e25_c020, &[(1, s(-1.9))], 0).fpsr, 0);
        // frintx d0, d1 (inexact) / frinti s0, s1 (not) with FPCR.RMode.
        let c = exec(0x1e67_4020, &[(1, d(2.5))], RP);
        assert_eq!((c.v[0], c.fpsr), (VReg([d(3.0), 0]), IXC));
        let c = exec(0x1e27_c020, &[(1, s(2.5))], RM);
        assert_eq!((c.v[0], c.fpsr), (VReg([s(2.0), 0]), 0));
    }

    #[test]
    fn unallocated_and_unimplemented_words_trap() {
        for w in [
            0x1ee2_2820,                     // fadd h0, h1, h2 (FEAT_FP16)
            0x1ea2_2820,                     // fadd with ftype = 10
            0x1e02_0020,                     // scvtf s0, w1, #64 (scale < 32 with sf = 0)
            0x1e18_0020,                     // fcvtzs w0, s1, #64
            0x1e7e_0020,                     // fjcvtzs w0, d1 (FEAT_JSCVT)
            0x1e28_4020,                     // frint32z s0, s1 (FEAT_FRINTTS)
            0x1e63_4020,                     // bfcvt h0, s1 (FEAT_BF16)
            0x1ee7_0020,                     // fmov h0, w1 (FEAT_FP16)
            0x1ef8_0020,                     // fcvtzs w0, h1 (FEAT_FP16)
            0x1e26_c020,                     // 1-source opcode 001101: unallocated
            0x1e22_c020 | 1 << 22 | 1 << 15, // fcvt d -> d: unallocated
            0x9e26_0000,                     // fmov x0, s0: sf/ftype mismatch
            0x1e22_9820,                     // 2-source opcode 1001: unallocated
        ] {
            let mut c = cpu_with(&[]);
            assert_eq!(run(&[w], &mut c), Exit::Undefined(w), "{w:#010x}");
        }
    }
}

/// Every row's formatter agrees with `aarch64-linux-gnu-objdump -d` on random words of
/// that row (and all 512 FMOV immediates); words objdump calls undefined must not lift.
#[test]
fn disassembly_matches_objdump() {
    use crate::arm64::decode::{self, Class};
    use crate::arm64::lift::{CpuFeatures, Lifter};
    use crate::ir::Builder;
    let features = CpuFeatures::default();
    let mut bad = Vec::new();
    let text = include_str!("testdata/objdump.txt");
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (hex, want) = line.split_once(' ').unwrap();
        let w = u32::from_str_radix(hex, 16).unwrap();
        let e = decode::decode(w).filter(|e| e.class == Class::Fp);
        if want.starts_with(".inst") {
            if let Some(e) = e {
                let mut l = Lifter {
                    b: Builder::new(0),
                    pc: 0,
                    features: &features,
                };
                if (e.lift)(&mut l, w).is_ok() {
                    bad.push(format!("{hex}: lifts, objdump says undefined"));
                }
            }
            continue;
        }
        match e {
            Some(e) if (e.disas)(w, 0) == want => {}
            Some(e) => bad.push(format!("{hex}: {:?} want {want:?}", (e.disas)(w, 0))),
            None => bad.push(format!("{hex}: no FP row for {want:?}")),
        }
    }
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad[..bad.len().min(40)].join("\n")
    );
}

/// The MXCSR-free fast paths (round to nearest, normal operands) give the same results
/// and flags as the general path, on operands with short significands (many exact
/// results) and on random ones, from a clear FPSR and with IXC already set.
#[test]
fn fast_paths_match_general_path() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    fn gen<F: sem::Fmt>(r: u64) -> u64 {
        let sign = (r >> 63) << (F::N - 1);
        let exp_range = (1u64 << F::E) - 1;
        let e = match r % 4 {
            0 => F::BIAS as u64 - 8 + (r >> 8) % 16,
            1 => (r >> 8) % (F::F as u64 + 8),
            _ => (r >> 8) % exp_range,
        };
        let frac = match (r >> 20) % 3 {
            0 => (r >> 24) & 0xf << (F::F - 4),
            1 => (r >> 24) & 0xff_ffff << (F::F.max(24) - 24),
            _ => r >> 11,
        } & F::FRAC_MASK;
        sign | e << F::F | frac
    }
    let ops = [Op2::Add, Op2::Sub, Op2::Mul, Op2::Div];
    for i in 0..300_000 {
        let fpcr = [0, FZ, DN][i % 3];
        let fpsr0 = if i % 2 == 0 { 0 } else { IXC };
        let op = ops[i % 4];
        let (a, b) = (gen::<F64>(next()), gen::<F64>(next()));
        let fast = run(fpcr, |c, f| {
            *f = fpsr0;
            sem::arith_impl::<F64>(op, a, b, c, f, true)
        });
        let slow = run(fpcr, |c, f| {
            *f = fpsr0;
            sem::arith_impl::<F64>(op, a, b, c, f, false)
        });
        assert_eq!(
            fast, slow,
            "d {op:?} {a:#x} {b:#x} fpcr {fpcr:#x} fpsr {fpsr0:#x}"
        );
        let (a, b) = (gen::<F32>(next()), gen::<F32>(next()));
        let fast = run(fpcr, |c, f| {
            *f = fpsr0;
            sem::arith_impl::<F32>(op, a, b, c, f, true)
        });
        let slow = run(fpcr, |c, f| {
            *f = fpsr0;
            sem::arith_impl::<F32>(op, a, b, c, f, false)
        });
        assert_eq!(
            fast, slow,
            "s {op:?} {a:#x} {b:#x} fpcr {fpcr:#x} fpsr {fpsr0:#x}"
        );
        let a = gen::<F64>(next());
        let fast = run(fpcr, |c, f| sem::fsqrt_impl::<F64>(a, c, f, true));
        let slow = run(fpcr, |c, f| sem::fsqrt_impl::<F64>(a, c, f, false));
        assert_eq!(fast, slow, "sqrt d {a:#x}");
        let a = gen::<F32>(next());
        let fast = run(fpcr, |c, f| sem::fsqrt_impl::<F32>(a, c, f, true));
        let slow = run(fpcr, |c, f| sem::fsqrt_impl::<F32>(a, c, f, false));
        assert_eq!(fast, slow, "sqrt s {a:#x}");
        let (a, b, c3) = (gen::<F64>(next()), gen::<F64>(next()), gen::<F64>(next()));
        let fast = run(fpcr, |c, f| {
            *f = IXC;
            sem::fmuladd_impl::<F64>(c3, a, b, c, f, false)
        });
        let slow = run(fpcr, |c, f| {
            *f = IXC;
            sem::fmuladd_impl::<F64>(c3, a, b, c, f, true)
        });
        assert_eq!(fast, slow, "fma d {c3:#x} {a:#x} {b:#x}");
    }
}

/// The whole-vector fast paths give, lane for lane, what element-by-element evaluation
/// gives (result and FPSR), whenever they accept a vector; and they accept ordinary ones.
#[test]
fn vector_fast_paths_match_elementwise() {
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let edge32 = [
        0u64,
        0x8000_0000,
        0x3f80_0000,
        0x0000_0001,
        0x0080_0000,
        0x7f80_0000,
        0x7fc0_0000,
        0x7f7f_ffff,
        0x0d00_0000,
        0x4000_0000,
    ];
    let edge64 = [
        0u64,
        1 << 63,
        0x3ff0_0000_0000_0000,
        1,
        0x0010_0000_0000_0000,
        0x7ff0_0000_0000_0000,
        0x7ff8_0000_0000_0000,
        0x7fef_ffff_ffff_ffff,
        0x4000_0000_0000_0000,
    ];
    let mut accepted = 0;
    for round in 0..40_000 {
        let op = [Op2::Add, Op2::Sub, Op2::Mul, Op2::Div][round % 4];
        let fpsr0 = if round % 3 == 0 { IXC } else { 0 };
        let lanes4 = if round % 5 == 0 { 2 } else { 4 };
        // Mostly ordinary values (small exponent spread, so adds are often exact),
        // sometimes an edge value in one lane.
        let mut lane32 = |k: u64| -> u64 {
            let r = next();
            if k.is_multiple_of(7) {
                edge32[(r % edge32.len() as u64) as usize]
            } else {
                (r & 0x807f_ffff & if k.is_multiple_of(2) { 0xffff_f000 } else { !0 })
                    | ((0x7c + (r >> 40) % 8) << 23)
            }
        };
        let (mut x, mut y) = (0u128, 0u128);
        for i in 0..4u64 {
            x |= (lane32(round as u64 + i) as u128) << (32 * i);
            y |= (lane32(round as u64 * 3 + i + 1) as u128) << (32 * i);
        }
        // The SSE2 version decides exactly as the lane-by-lane one.
        let (mut f1, mut f2) = (fpsr0, fpsr0);
        assert_eq!(
            (sem::fast_arith_4s(op, x, y, lanes4, 0, &mut f1), f1),
            (sem::fast_arith_4s_lanes(op, x, y, lanes4, 0, &mut f2), f2),
            "4s {op:?} {x:#x} {y:#x} lanes {lanes4}"
        );
        let mut f_fast = fpsr0;
        if let Some(r) = sem::fast_arith_4s(op, x, y, lanes4, 0, &mut f_fast) {
            accepted += 1;
            let mut f = fpsr0;
            let mut want = 0u128;
            for i in 0..lanes4 {
                let (a, b) = (
                    (x >> (32 * i)) as u64 & 0xffff_ffff,
                    (y >> (32 * i)) as u64 & 0xffff_ffff,
                );
                want |= (sem::arith::<F32>(op, a, b, 0, &mut f) as u128) << (32 * i);
            }
            assert_eq!(
                (r, f_fast),
                (want, f),
                "4s {op:?} {x:#x} {y:#x} lanes {lanes4}"
            );
        }
        let mut lane64 = |k: u64| -> u64 {
            let r = next();
            if k.is_multiple_of(7) {
                edge64[(r % edge64.len() as u64) as usize]
            } else {
                (r & 0x800f_ffff_ffff_ffff
                    & if k.is_multiple_of(2) {
                        !0xffff_ffff
                    } else {
                        !0
                    })
                    | ((0x3fc + (r >> 40) % 8) << 52)
            }
        };
        let (x, y) = (
            lane64(round as u64) as u128 | (lane64(round as u64 + 1) as u128) << 64,
            lane64(round as u64 + 2) as u128 | (lane64(round as u64 + 5) as u128) << 64,
        );
        let (mut f1, mut f2) = (fpsr0, fpsr0);
        assert_eq!(
            (sem::fast_arith_2d(op, x, y, 2, 0, &mut f1), f1),
            (sem::fast_arith_2d_lanes(op, x, y, 2, 0, &mut f2), f2),
            "2d {op:?} {x:#x} {y:#x}"
        );
        let mut f_fast = fpsr0;
        if let Some(r) = sem::fast_arith_2d(op, x, y, 2, 0, &mut f_fast) {
            accepted += 1;
            let mut f = fpsr0;
            let want = sem::arith::<F64>(op, x as u64, y as u64, 0, &mut f) as u128
                | (sem::arith::<F64>(op, (x >> 64) as u64, (y >> 64) as u64, 0, &mut f) as u128)
                    << 64;
            assert_eq!((r, f_fast), (want, f), "2d {op:?} {x:#x} {y:#x}");
        }
        // Directed rounding never takes the fast path.
        let mut f = 0;
        assert!(sem::fast_arith_2d(op, x, y, 2, 1 << 22, &mut f).is_none());
    }
    assert!(
        accepted > 20_000,
        "fast paths accepted only {accepted} vectors"
    );
}
