//! The Armv8.0 Cryptographic Extension on vector registers: AESE, AESD, AESMC, AESIMC
//! (FEAT_AES), SHA1C/P/M/H/SU0/SU1 (FEAT_SHA1) and SHA256H/H2/SU0/SU1 (FEAT_SHA256),
//! one helper call per instruction (SHA1H is inline IR), following the Arm ARM
//! pseudocode. The host's AES-NI computes the AES steps when it has it; the Rust
//! definitions here are the fallback and the tests' reference. (PMULL with 64-bit
//! elements, the other half of FEAT_PMULL, is in the three-different group.)

use super::copy::write;
use super::elem::{get, set};
use super::{call_word, vget, vset, word_helper};
use crate::arm64::cpu::Cpu;
use crate::arm64::lift::{bits, helper, Flow, Lifted, Lifter};
use crate::ir::{BinOp, HelperFn, W};

// ---- AES ----------------------------------------------------------------------------------

/// Multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1.
const fn gmul(mut a: u8, mut b: u8) -> u8 {
    let mut r = 0u8;
    while b != 0 {
        if b & 1 != 0 {
            r ^= a;
        }
        let hi = a & 0x80;
        a <<= 1;
        if hi != 0 {
            a ^= 0x1b;
        }
        b >>= 1;
    }
    r
}

/// The AES S-box and its inverse, computed from the definition: the inverse in GF(2^8)
/// (through exp/log tables of the generator 3) followed by the affine transformation.
const fn sboxes() -> ([u8; 256], [u8; 256]) {
    let mut exp = [0u8; 256];
    let mut log = [0u8; 256];
    let mut x = 1u8;
    let mut i = 0;
    while i < 255 {
        exp[i] = x;
        log[x as usize] = i as u8;
        x = gmul(x, 3);
        i += 1;
    }
    let mut s = [0u8; 256];
    let mut inv = [0u8; 256];
    let mut v = 0usize;
    while v < 256 {
        let y = if v == 0 {
            0
        } else {
            exp[(255 - log[v] as usize) % 255]
        };
        let b =
            y ^ y.rotate_left(1) ^ y.rotate_left(2) ^ y.rotate_left(3) ^ y.rotate_left(4) ^ 0x63;
        s[v] = b;
        inv[b as usize] = v as u8;
        v += 1;
    }
    (s, inv)
}

const SBOXES: ([u8; 256], [u8; 256]) = sboxes();
pub(crate) static SBOX: [u8; 256] = SBOXES.0;
static INV_SBOX: [u8; 256] = SBOXES.1;

/// ShiftRows on the column-major state (byte `r + 4c` is row `r`, column `c`).
const SHIFT_ROWS: [usize; 16] = [0, 5, 10, 15, 4, 9, 14, 3, 8, 13, 2, 7, 12, 1, 6, 11];
const INV_SHIFT_ROWS: [usize; 16] = [0, 13, 10, 7, 4, 1, 14, 11, 8, 5, 2, 15, 12, 9, 6, 3];

/// One AES round step: AESE (`decrypt` false) or AESD on `d ^ n`.
pub fn aes_round(d: u128, n: u128, decrypt: bool) -> u128 {
    let s = (d ^ n).to_le_bytes();
    let (perm, sbox) = if decrypt {
        (&INV_SHIFT_ROWS, &INV_SBOX)
    } else {
        (&SHIFT_ROWS, &SBOX)
    };
    let out: [u8; 16] = std::array::from_fn(|i| sbox[s[perm[i]] as usize]);
    u128::from_le_bytes(out)
}

/// AESMC (`inverse` false) or AESIMC on each column.
pub fn aes_mix(n: u128, inverse: bool) -> u128 {
    let s = n.to_le_bytes();
    let m: [u8; 4] = if inverse {
        [14, 11, 13, 9]
    } else {
        [2, 3, 1, 1]
    };
    let mut out = [0u8; 16];
    for c in 0..4 {
        let col = &s[4 * c..4 * c + 4];
        for r in 0..4 {
            out[4 * c + r] = (0..4).fold(0, |acc, k| acc ^ gmul(m[(k + 4 - r) % 4], col[k]));
        }
    }
    u128::from_le_bytes(out)
}

/// The same operations with the host's AES-NI instructions, which compute exactly the
/// FIPS-197 steps Arm's do, in the same byte order:
/// AESE(d, n) = SubBytes(ShiftRows(d ^ n)) = AESENCLAST(d ^ n, 0);
/// AESD(d, n) = AESDECLAST(d ^ n, 0); AESIMC = AESIMC; and AESMC(x) = MixColumns(x) =
/// AESENC(AESDECLAST(x, 0), 0), since ShiftRows and SubBytes commute and cancel their
/// inverses.
mod ni {
    use std::arch::x86_64::*;

    fn v(x: u128) -> __m128i {
        // SAFETY: both are 16 plain bytes; u128 is little-endian like xmm lanes.
        unsafe { std::mem::transmute::<u128, __m128i>(x) }
    }
    fn u(x: __m128i) -> u128 {
        // SAFETY: as above.
        unsafe { std::mem::transmute::<__m128i, u128>(x) }
    }

    pub fn available() -> bool {
        std::is_x86_feature_detected!("aes")
    }

    /// # Safety
    /// The host must have AES-NI ([`available`]).
    #[target_feature(enable = "aes")]
    pub unsafe fn aese(d: u128, n: u128) -> u128 {
        u(_mm_aesenclast_si128(v(d ^ n), _mm_setzero_si128()))
    }
    /// # Safety
    /// As [`aese`].
    #[target_feature(enable = "aes")]
    pub unsafe fn aesd(d: u128, n: u128) -> u128 {
        u(_mm_aesdeclast_si128(v(d ^ n), _mm_setzero_si128()))
    }
    /// # Safety
    /// As [`aese`].
    #[target_feature(enable = "aes")]
    pub unsafe fn aesmc(n: u128) -> u128 {
        let z = _mm_setzero_si128();
        u(_mm_aesenc_si128(_mm_aesdeclast_si128(v(n), z), z))
    }
    /// # Safety
    /// As [`aese`].
    #[target_feature(enable = "aes")]
    pub unsafe fn aesimc(n: u128) -> u128 {
        u(_mm_aesimc_si128(v(n)))
    }
}

/// AESE, AESD, AESMC or AESIMC (`op` = bits 16:12 of the word) of `d` and `n`: AES-NI
/// when the host has it, the definitions above otherwise.
pub fn aes_op(op: u32, d: u128, n: u128) -> u128 {
    if ni::available() {
        // SAFETY: AES-NI was detected just above.
        unsafe {
            match op {
                0b00100 => ni::aese(d, n),
                0b00101 => ni::aesd(d, n),
                0b00110 => ni::aesmc(n),
                _ => ni::aesimc(n),
            }
        }
    } else {
        match op {
            0b00100 => aes_round(d, n, false),
            0b00101 => aes_round(d, n, true),
            0b00110 => aes_mix(n, false),
            _ => aes_mix(n, true),
        }
    }
}

fn exec_aes(cpu: &mut Cpu, w: u32) {
    let (rn, rd) = (bits(w, 9, 5), bits(w, 4, 0));
    let (n, d) = (vget(cpu, rn), vget(cpu, rd));
    vset(cpu, rd, aes_op(bits(w, 16, 12), d, n));
}
word_helper!(h_aes, exec_aes);

pub fn lift_aes(l: &mut Lifter, w: u32) -> Lifted {
    call_word(l, "crypto_aes", h_aes, w)
}

#[cfg(test)]
mod ni_tests {
    use super::*;

    /// The AES-NI path and the definitions agree (on a host with AES-NI).
    #[test]
    fn aes_ni_matches_the_definitions() {
        if !ni::available() {
            eprintln!("aes_ni_matches_the_definitions: SKIPPED (no AES-NI on this host)");
            return;
        }
        let mut x = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210u128;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let (d, n) = (x, x.rotate_left(45) ^ 0x5a5a);
            // SAFETY: AES-NI is available (checked above).
            unsafe {
                assert_eq!(ni::aese(d, n), aes_round(d, n, false));
                assert_eq!(ni::aesd(d, n), aes_round(d, n, true));
                assert_eq!(ni::aesmc(n), aes_mix(n, false));
                assert_eq!(ni::aesimc(n), aes_mix(n, true));
            }
        }
    }
}

pub fn dis_aes(w: u32, _pc: u64) -> String {
    let name = ["aese", "aesd", "aesmc", "aesimc"][(bits(w, 16, 12) - 4) as usize & 3];
    format!("{name} v{}.16b, v{}.16b", bits(w, 4, 0), bits(w, 9, 5))
}

// ---- SHA -----------------------------------------------------------------------------------
//
// Every SHA instruction has its own helper, chosen at translation time, which gets the
// register numbers d, n (and m) as constant arguments: nothing is decoded when it runs.
// It computes the Rust definition below (the Arm ARM pseudocode). SHA1H is inline IR
// (one 32-bit rotate), no helper at all.

fn choose(x: u32, y: u32, z: u32) -> u32 {
    ((y ^ z) & x) ^ z
}
fn parity(x: u32, y: u32, z: u32) -> u32 {
    x ^ y ^ z
}
fn majority(x: u32, y: u32, z: u32) -> u32 {
    (x & y) | ((x | y) & z)
}

fn e32(v: u128, i: usize) -> u32 {
    get(v, 32, i) as u32
}

/// SHA1C/SHA1P/SHA1M: four rounds with the function `f`.
pub fn sha1_hash(mut x: u128, mut y: u32, w: u128, f: fn(u32, u32, u32) -> u32) -> u128 {
    for e in 0..4 {
        let t = f(e32(x, 1), e32(x, 2), e32(x, 3));
        y = y
            .wrapping_add(e32(x, 0).rotate_left(5))
            .wrapping_add(t)
            .wrapping_add(e32(w, e));
        let x1 = e32(x, 1).rotate_left(30);
        set(&mut x, 32, 1, x1 as u64);
        // <Y, X> = ROL(Y:X, 32)
        let top = e32(x, 3);
        x = (x << 32) | y as u128;
        y = top;
    }
    x
}

fn sigma0(x: u32) -> u32 {
    x.rotate_right(2) ^ x.rotate_right(13) ^ x.rotate_right(22)
}
fn sigma1(x: u32) -> u32 {
    x.rotate_right(6) ^ x.rotate_right(11) ^ x.rotate_right(25)
}

/// SHA256hash: SHA256H returns X (`part1`), SHA256H2 returns Y.
pub fn sha256_hash(mut x: u128, mut y: u128, w: u128, part1: bool) -> u128 {
    for e in 0..4 {
        let chs = choose(e32(y, 0), e32(y, 1), e32(y, 2));
        let maj = majority(e32(x, 0), e32(x, 1), e32(x, 2));
        let t = e32(y, 3)
            .wrapping_add(sigma1(e32(y, 0)))
            .wrapping_add(chs)
            .wrapping_add(e32(w, e));
        let x3 = t.wrapping_add(e32(x, 3));
        set(&mut x, 32, 3, x3 as u64);
        set(
            &mut y,
            32,
            3,
            t.wrapping_add(sigma0(e32(x, 0))).wrapping_add(maj) as u64,
        );
        // <Y, X> = ROL(Y:X, 32)
        let (xt, yt) = (e32(x, 3), e32(y, 3));
        x = (x << 32) | yt as u128;
        y = (y << 32) | xt as u128;
    }
    if part1 {
        x
    } else {
        y
    }
}

// The instructions as functions of (Vd, Vn, Vm) giving the new Vd; the two-register
// ones ignore `m`.

/// SHA1C Qd, Sn, Vm.4S.
pub fn sha1c(d: u128, n: u128, m: u128) -> u128 {
    sha1_hash(d, n as u32, m, choose)
}
/// SHA1P Qd, Sn, Vm.4S.
pub fn sha1p(d: u128, n: u128, m: u128) -> u128 {
    sha1_hash(d, n as u32, m, parity)
}
/// SHA1M Qd, Sn, Vm.4S.
pub fn sha1m(d: u128, n: u128, m: u128) -> u128 {
    sha1_hash(d, n as u32, m, majority)
}
/// SHA1SU0 Vd.4S, Vn.4S, Vm.4S.
pub fn sha1su0(d: u128, n: u128, m: u128) -> u128 {
    ((n << 64) | (d >> 64)) ^ d ^ m
}
/// SHA256H Qd, Qn, Vm.4S.
pub fn sha256h(d: u128, n: u128, m: u128) -> u128 {
    sha256_hash(d, n, m, true)
}
/// SHA256H2 Qd, Qn, Vm.4S.
pub fn sha256h2(d: u128, n: u128, m: u128) -> u128 {
    sha256_hash(n, d, m, false)
}
/// SHA256SU1 Vd.4S, Vn.4S, Vm.4S.
pub fn sha256su1(d: u128, n: u128, m: u128) -> u128 {
    let t0 = ((m & 0xffff_ffff) << 96) | (n >> 32);
    let mut r = 0u128;
    let s1 = |x: u32| x.rotate_right(17) ^ x.rotate_right(19) ^ (x >> 10);
    for e in 0..4 {
        let src = if e < 2 { e32(m, e + 2) } else { e32(r, e - 2) };
        let v = s1(src).wrapping_add(e32(d, e)).wrapping_add(e32(t0, e));
        set(&mut r, 32, e, v as u64);
    }
    r
}
/// SHA1H Sd, Sn (the lifter emits it inline; this is the tests' reference).
pub fn sha1h(_d: u128, n: u128, _m: u128) -> u128 {
    (n as u32).rotate_left(30) as u128
}
/// SHA1SU1 Vd.4S, Vn.4S.
pub fn sha1su1(d: u128, n: u128, _m: u128) -> u128 {
    let t = d ^ (n >> 32);
    let mut r = 0u128;
    for e in 0..3 {
        set(&mut r, 32, e, e32(t, e).rotate_left(1) as u64);
    }
    let w3 = e32(t, 3).rotate_left(1) ^ e32(t, 0).rotate_left(2);
    set(&mut r, 32, 3, w3 as u64);
    r
}
/// SHA256SU0 Vd.4S, Vn.4S.
pub fn sha256su0(d: u128, n: u128, _m: u128) -> u128 {
    let t = ((n & 0xffff_ffff) << 96) | (d >> 32);
    let mut r = 0u128;
    for e in 0..4 {
        let x = e32(t, e);
        let s0 = x.rotate_right(7) ^ x.rotate_right(18) ^ (x >> 3);
        set(&mut r, 32, e, s0.wrapping_add(e32(d, e)) as u64);
    }
    r
}

/// Define `unsafe extern "C" fn $name(cpu, d, n, m, _)` doing `V[d] = $f(V[d], V[n],
/// V[m])`.
macro_rules! sha_helper {
    ($name:ident, $f:path) => {
        unsafe extern "C" fn $name(cpu: *mut u8, d: u64, n: u64, m: u64, _: u64) -> u64 {
            // SAFETY: generated code passes its own `Cpu` pointer as the first
            // argument, and no other reference to that `Cpu` is live during the call.
            let cpu = unsafe { &mut *(cpu as *mut Cpu) };
            let (d, n, m) = (d as u32, n as u32, m as u32);
            let r = $f(vget(cpu, d), vget(cpu, n), vget(cpu, m));
            vset(cpu, d, r);
            0
        }
    };
}

sha_helper!(h_sha1c, sha1c);
sha_helper!(h_sha1p, sha1p);
sha_helper!(h_sha1m, sha1m);
sha_helper!(h_sha1su0, sha1su0);
sha_helper!(h_sha256h, sha256h);
sha_helper!(h_sha256h2, sha256h2);
sha_helper!(h_sha256su1, sha256su1);
sha_helper!(h_sha1su1, sha1su1);
sha_helper!(h_sha256su0, sha256su0);

/// The helpers of SHA1C, SHA1P, SHA1M, SHA1SU0, SHA256H, SHA256H2, SHA256SU1 (index =
/// bits 14:12 of the three-register word), SHA1SU1 and SHA256SU0.
const SHA_HELPERS: [(&str, HelperFn); 9] = [
    ("sha1c", h_sha1c),
    ("sha1p", h_sha1p),
    ("sha1m", h_sha1m),
    ("sha1su0", h_sha1su0),
    ("sha256h", h_sha256h),
    ("sha256h2", h_sha256h2),
    ("sha256su1", h_sha256su1),
    ("sha1su1", h_sha1su1),
    ("sha256su0", h_sha256su0),
];
const SHA1SU1: usize = 7;
const SHA256SU0: usize = 8;

/// Call SHA helper `i` of [`SHA_HELPERS`] on the registers `regs` (d, n and, for
/// three-register instructions, m).
fn call_sha(l: &mut Lifter, i: usize, regs: &[u32]) -> Lifted {
    let (name, f) = SHA_HELPERS[i];
    let args: Vec<_> = regs.iter().map(|&r| l.konst(r as u64)).collect();
    l.b.call(helper(name, f), &args);
    Ok(Flow::Next)
}

pub fn lift_sha3(l: &mut Lifter, w: u32) -> Lifted {
    let (rm, rn, rd) = (bits(w, 20, 16), bits(w, 9, 5), bits(w, 4, 0));
    // The decode table has rows for opcodes 0..=6 only.
    call_sha(l, bits(w, 14, 12) as usize, &[rd, rn, rm])
}

pub fn dis_sha3(w: u32, _pc: u64) -> String {
    let (rm, rn, rd) = (bits(w, 20, 16), bits(w, 9, 5), bits(w, 4, 0));
    match bits(w, 14, 12) {
        o @ 0..=2 => format!(
            "{} q{rd}, s{rn}, v{rm}.4s",
            ["sha1c", "sha1p", "sha1m"][o as usize]
        ),
        3 => format!("sha1su0 v{rd}.4s, v{rn}.4s, v{rm}.4s"),
        4 => format!("sha256h q{rd}, q{rn}, v{rm}.4s"),
        5 => format!("sha256h2 q{rd}, q{rn}, v{rm}.4s"),
        _ => format!("sha256su1 v{rd}.4s, v{rn}.4s, v{rm}.4s"),
    }
}

pub fn lift_sha2(l: &mut Lifter, w: u32) -> Lifted {
    let (rn, rd) = (bits(w, 9, 5), bits(w, 4, 0));
    match bits(w, 16, 12) {
        0b00000 => {
            // SHA1H: Sd = ROL(Sn, 30), the rest of Vd zero.
            let x = l.b.get_vlane(rn as u8, 0);
            let two = l.konst(2);
            let r = l.b.bin(BinOp::Ror, W::W32, x, two);
            write(l, rd, r, None);
            Ok(Flow::Next)
        }
        0b00001 => call_sha(l, SHA1SU1, &[rd, rn]),
        _ => call_sha(l, SHA256SU0, &[rd, rn]),
    }
}

pub fn dis_sha2(w: u32, _pc: u64) -> String {
    let (rn, rd) = (bits(w, 9, 5), bits(w, 4, 0));
    match bits(w, 16, 12) {
        0 => format!("sha1h s{rd}, s{rn}"),
        1 => format!("sha1su1 v{rd}.4s, v{rn}.4s"),
        _ => format!("sha256su0 v{rd}.4s, v{rn}.4s"),
    }
}
