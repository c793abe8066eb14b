//! The Armv8.0 Cryptographic Extension on vector registers: AESE, AESD, AESMC, AESIMC
//! (FEAT_AES), SHA1C/P/M/H/SU0/SU1 (FEAT_SHA1) and SHA256H/H2/SU0/SU1 (FEAT_SHA256),
//! one helper call per instruction (SHA1H is inline IR), following the Arm ARM
//! pseudocode. The host's AES-NI and SHA extensions compute them when it has them; the
//! Rust definitions here are the fallback and the tests' reference. (PMULL with 64-bit
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
// The helper is the SHA-NI one ([`sha_ni`]) when the host has the SHA extensions, and
// the Rust definition below (the Arm ARM pseudocode, and the reference of the tests)
// otherwise. SHA1H is inline IR (one 32-bit rotate), no helper at all.

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

/// The same instructions with the host's SHA extensions (SHA-NI) and SSSE3. Each
/// mapping below is exact (bit for bit, for every input); the tests check them against
/// the definitions above on random inputs and on the FIPS 180 vectors.
///
/// * SHA-1 rounds. x86 keeps A..D with A in the *highest* dword and the four message
///   words in the same reversed order (W0 highest), so inputs and the result go through
///   a dword reversal (PSHUFD 0x1B). Arm's Vm holds W+K, while SHA1RNDS4 adds the K of
///   its immediate itself: subtracting that K first (mod 2^32) gives the same sums.
///   Arm passes E separately in Sn; SHA1RNDS4 expects it added into W0. The functions
///   agree: immediate 0 is Ch (SHA1C), 1 parity (SHA1P), 2 Maj (SHA1M).
/// * SHA1SU1 is SHA1MSG2 on reversed operands: W16..W18 = ROL(Vd[i] ^ Vn[i+1], 1) and
///   W19 = ROL(Vd[3] ^ W16, 1) = ROL(Vd[3], 1) ^ ROL(T[0], 2), Arm's last element.
/// * SHA1SU0 needs no SHA instruction: `Vn.lo:Vd.hi ^ Vd ^ Vm` is one SHUFPD and two
///   XORs (SHA1MSG1 would match too, but with three reversals around it).
/// * SHA-256 rounds. SHA256RNDS2 does two rounds on the ABEF/CDGH split (F, E, B, A
///   from dword 0 up; H, G, D, C likewise) with W+K in the low 64 bits of xmm0; after
///   two rounds the new CDGH is the old ABEF. Four rounds are two SHA256RNDS2, then
///   SHA256H reassembles ABCD and SHA256H2 EFGH from the two ABEF values.
/// * SHA256SU0 is SHA256MSG1 exactly (same element order: W0 + σ0(W1) in dword 0).
/// * SHA256SU1 is SHA256MSG2 of (Vd + Vn[1..]:Vm[0]) and Vm: MSG2 adds σ1 of Vm's two
///   high words (then of its own first two results) to its first operand, which is
///   Arm's `T0 + Vd`.
pub(crate) mod sha_ni {
    use std::arch::x86_64::*;

    fn v(x: u128) -> __m128i {
        // SAFETY: both are 16 plain bytes; u128 is little-endian like xmm lanes.
        unsafe { std::mem::transmute::<u128, __m128i>(x) }
    }
    fn u(x: __m128i) -> u128 {
        // SAFETY: as above.
        unsafe { std::mem::transmute::<__m128i, u128>(x) }
    }

    /// Whether the host has what these functions use.
    pub fn available() -> bool {
        std::is_x86_feature_detected!("sha") && std::is_x86_feature_detected!("ssse3")
    }

    /// Dword reversal (for PSHUFD).
    const REV: i32 = 0x1b;
    /// Swap the dwords of each 64-bit half (for PSHUFD).
    const SWAP: i32 = 0xb1;

    /// SHA1C/P/M with SHA1RNDS4 immediate `F` (Ch, parity, Maj).
    #[inline]
    #[target_feature(enable = "sha,ssse3")]
    fn sha1_rounds<const F: i32>(d: u128, n: u128, m: u128) -> u128 {
        const K: [u32; 3] = [0x5a82_7999, 0x6ed9_eba1, 0x8f1b_bcdc];
        let k = _mm_set1_epi32(K[F as usize] as i32);
        let e = _mm_cvtsi32_si128(n as u32 as i32);
        let w = _mm_add_epi32(_mm_sub_epi32(v(m), k), e);
        let abcd = _mm_shuffle_epi32::<REV>(v(d));
        let r = _mm_sha1rnds4_epu32::<F>(abcd, _mm_shuffle_epi32::<REV>(w));
        u(_mm_shuffle_epi32::<REV>(r))
    }
    #[inline]
    #[target_feature(enable = "sha,ssse3")]
    pub fn sha1c(d: u128, n: u128, m: u128) -> u128 {
        sha1_rounds::<0>(d, n, m)
    }
    #[inline]
    #[target_feature(enable = "sha,ssse3")]
    pub fn sha1p(d: u128, n: u128, m: u128) -> u128 {
        sha1_rounds::<1>(d, n, m)
    }
    #[inline]
    #[target_feature(enable = "sha,ssse3")]
    pub fn sha1m(d: u128, n: u128, m: u128) -> u128 {
        sha1_rounds::<2>(d, n, m)
    }
    #[inline]
    #[target_feature(enable = "sha,ssse3")]
    pub fn sha1su0(d: u128, n: u128, m: u128) -> u128 {
        let (d, n) = (v(d), v(n));
        // Low half from d's high half, high half from n's low half.
        let dn = _mm_castpd_si128(_mm_shuffle_pd::<1>(
            _mm_castsi128_pd(d),
            _mm_castsi128_pd(n),
        ));
        u(_mm_xor_si128(_mm_xor_si128(dn, d), v(m)))
    }
    #[inline]
    #[target_feature(enable = "sha,ssse3")]
    pub fn sha1su1(d: u128, n: u128, _m: u128) -> u128 {
        let r = _mm_sha1msg2_epu32(
            _mm_shuffle_epi32::<REV>(v(d)),
            _mm_shuffle_epi32::<REV>(v(n)),
        );
        u(_mm_shuffle_epi32::<REV>(r))
    }

    /// Four SHA-256 rounds on ABCD `x` and EFGH `y` with W+K `w`: the ABEF value after
    /// round 4 and after round 2 (= CDGH after round 4).
    #[inline]
    #[target_feature(enable = "sha,ssse3")]
    fn sha256_rounds(x: u128, y: u128, w: u128) -> (__m128i, __m128i) {
        let (x, y, w) = (v(x), v(y), v(w));
        let abef0 = _mm_shuffle_epi32::<SWAP>(_mm_unpacklo_epi64(y, x));
        let cdgh0 = _mm_shuffle_epi32::<SWAP>(_mm_unpackhi_epi64(y, x));
        let abef2 = _mm_sha256rnds2_epu32(cdgh0, abef0, w);
        let abef4 = _mm_sha256rnds2_epu32(abef0, abef2, _mm_unpackhi_epi64(w, w));
        (abef4, abef2)
    }
    #[inline]
    #[target_feature(enable = "sha,ssse3")]
    pub fn sha256h(d: u128, n: u128, m: u128) -> u128 {
        let (abef, cdgh) = sha256_rounds(d, n, m);
        u(_mm_shuffle_epi32::<SWAP>(_mm_unpackhi_epi64(abef, cdgh)))
    }
    #[inline]
    #[target_feature(enable = "sha,ssse3")]
    pub fn sha256h2(d: u128, n: u128, m: u128) -> u128 {
        let (abef, cdgh) = sha256_rounds(n, d, m);
        u(_mm_shuffle_epi32::<SWAP>(_mm_unpacklo_epi64(abef, cdgh)))
    }
    #[inline]
    #[target_feature(enable = "sha,ssse3")]
    pub fn sha256su0(d: u128, n: u128, _m: u128) -> u128 {
        u(_mm_sha256msg1_epu32(v(d), v(n)))
    }
    #[inline]
    #[target_feature(enable = "sha,ssse3")]
    pub fn sha256su1(d: u128, n: u128, m: u128) -> u128 {
        let (n, m) = (v(n), v(m));
        let t0 = _mm_alignr_epi8::<4>(m, n);
        u(_mm_sha256msg2_epu32(_mm_add_epi32(v(d), t0), m))
    }
}

/// Define `unsafe extern "C" fn $name(cpu, d, n, m, _)` doing `V[d] = $f(V[d], V[n],
/// V[m])`, with the target features `$feat` when given.
macro_rules! sha_helper {
    ($name:ident, $f:path $(, $feat:literal)?) => {
        $(#[target_feature(enable = $feat)])?
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

// The SHA-NI helpers may only run on a host with SHA-NI and SSSE3: the lifter picks
// them only after `sha_ni::available()` said so.
sha_helper!(h_sha1c_ni, sha_ni::sha1c, "sha,ssse3");
sha_helper!(h_sha1p_ni, sha_ni::sha1p, "sha,ssse3");
sha_helper!(h_sha1m_ni, sha_ni::sha1m, "sha,ssse3");
sha_helper!(h_sha1su0_ni, sha_ni::sha1su0, "sha,ssse3");
sha_helper!(h_sha256h_ni, sha_ni::sha256h, "sha,ssse3");
sha_helper!(h_sha256h2_ni, sha_ni::sha256h2, "sha,ssse3");
sha_helper!(h_sha256su1_ni, sha_ni::sha256su1, "sha,ssse3");
sha_helper!(h_sha1su1_ni, sha_ni::sha1su1, "sha,ssse3");
sha_helper!(h_sha256su0_ni, sha_ni::sha256su0, "sha,ssse3");

/// The helpers of SHA1C, SHA1P, SHA1M, SHA1SU0, SHA256H, SHA256H2, SHA256SU1 (index =
/// bits 14:12 of the three-register word), SHA1SU1 and SHA256SU0: the portable ones and
/// the SHA-NI ones.
const SHA_HELPERS: [(&str, HelperFn, HelperFn); 9] = [
    ("sha1c", h_sha1c, h_sha1c_ni),
    ("sha1p", h_sha1p, h_sha1p_ni),
    ("sha1m", h_sha1m, h_sha1m_ni),
    ("sha1su0", h_sha1su0, h_sha1su0_ni),
    ("sha256h", h_sha256h, h_sha256h_ni),
    ("sha256h2", h_sha256h2, h_sha256h2_ni),
    ("sha256su1", h_sha256su1, h_sha256su1_ni),
    ("sha1su1", h_sha1su1, h_sha1su1_ni),
    ("sha256su0", h_sha256su0, h_sha256su0_ni),
];
const SHA1SU1: usize = 7;
const SHA256SU0: usize = 8;

/// Call SHA helper `i` of [`SHA_HELPERS`] (the SHA-NI one when the host has SHA-NI) on
/// the registers `regs` (d, n and, for three-register instructions, m).
fn call_sha(l: &mut Lifter, i: usize, regs: &[u32]) -> Lifted {
    let (name, soft, ni) = SHA_HELPERS[i];
    let f = if sha_ni::available() { ni } else { soft };
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

#[cfg(test)]
mod sha_tests {
    use super::*;

    /// An instruction as a function of (Vd, Vn, Vm).
    type Op = unsafe fn(u128, u128, u128) -> u128;

    /// The ten instructions: name, the reference, and the SHA-NI version (SHA1H has none:
    /// it is inline IR, checked against its reference in the lifter tests).
    fn ops() -> [(&'static str, Op, Option<Op>); 10] {
        [
            ("sha1c", sha1c, Some(sha_ni::sha1c)),
            ("sha1p", sha1p, Some(sha_ni::sha1p)),
            ("sha1m", sha1m, Some(sha_ni::sha1m)),
            ("sha1h", sha1h, None),
            ("sha1su0", sha1su0, Some(sha_ni::sha1su0)),
            ("sha1su1", sha1su1, Some(sha_ni::sha1su1)),
            ("sha256h", sha256h, Some(sha_ni::sha256h)),
            ("sha256h2", sha256h2, Some(sha_ni::sha256h2)),
            ("sha256su0", sha256su0, Some(sha_ni::sha256su0)),
            ("sha256su1", sha256su1, Some(sha_ni::sha256su1)),
        ]
    }

    fn xorshift(x: &mut u128) -> u128 {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        *x
    }

    /// The SHA-NI versions equal the definitions bit for bit on random inputs (and a
    /// few all-zero / all-one ones).
    #[test]
    fn sha_ni_matches_the_definitions() {
        if !sha_ni::available() {
            eprintln!("sha_ni_matches_the_definitions: SKIPPED (no SHA-NI on this host)");
            return;
        }
        let mut x = 0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c834u128;
        let edge = [0, u128::MAX, 1, 1 << 127, 0xffff_ffff];
        for (name, reference, ni) in ops() {
            let Some(ni) = ni else { continue };
            for i in 0..20_000 {
                let (d, n, m) = if i < 125 {
                    (edge[i % 5], edge[i / 5 % 5], edge[i / 25])
                } else {
                    (xorshift(&mut x), xorshift(&mut x), xorshift(&mut x))
                };
                // SAFETY: the references are safe functions; SHA-NI and SSSE3 are
                // available (checked above).
                let (want, got) = unsafe { (reference(d, n, m), ni(d, n, m)) };
                assert_eq!(
                    got, want,
                    "{name}: d={d:#034x} n={n:#034x} m={m:#034x}: SHA-NI {got:#034x}, want {want:#034x}"
                );
            }
        }
    }

    /// The instruction functions of one implementation, by name.
    fn op(ni: bool, name: &str) -> Op {
        let (_, r, n) = ops().into_iter().find(|o| o.0 == name).unwrap();
        if ni {
            n.unwrap_or(r)
        } else {
            r
        }
    }

    /// Lane-wise 32-bit addition (the guest's `add v.4s`).
    fn add4(a: u128, b: u128) -> u128 {
        let mut r = 0;
        for i in 0..4 {
            set(&mut r, 32, i, e32(a, i).wrapping_add(e32(b, i)) as u64);
        }
        r
    }

    fn vec4(w: &[u32]) -> u128 {
        w.iter().rev().fold(0, |acc, &x| (acc << 32) | x as u128)
    }

    /// The padded one-block message "abc" as sixteen big-endian words.
    fn abc_block() -> [u32; 16] {
        let mut b = [0u32; 16];
        b[0] = 0x6162_6380;
        b[15] = 24;
        b
    }

    /// SHA-256 compression of one block, sequenced as the kernel's sha2-ce-core.S does
    /// it: SHA256SU0/SHA256SU1 for the schedule, SHA256H with SHA256H2 on the old ABCD.
    fn sha256_block(ni: bool, state: &mut [u32; 8], block: &[u32; 16]) {
        #[rustfmt::skip]
        const K: [u32; 64] = [
            0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
            0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
            0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
            0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
            0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
            0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
            0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
            0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
        ];
        let (h, h2) = (op(ni, "sha256h"), op(ni, "sha256h2"));
        let (su0, su1) = (op(ni, "sha256su0"), op(ni, "sha256su1"));
        let mut w: [u128; 4] = std::array::from_fn(|i| vec4(&block[4 * i..4 * i + 4]));
        let (mut abcd, mut efgh) = (vec4(&state[..4]), vec4(&state[4..]));
        for g in 0..16 {
            let wk = add4(w[g % 4], vec4(&K[4 * g..4 * g + 4]));
            if (1..13).contains(&g) {
                // The words of group g + 3 replace those of group g - 1.
                let s = (g + 3) % 4;
                // SAFETY: see `sha_ni_matches_the_definitions` (callers check SHA-NI).
                w[s] = unsafe { su1(su0(w[s], w[g % 4], 0), w[(g + 1) % 4], w[(g + 2) % 4]) };
            }
            let old = abcd;
            // SAFETY: as above.
            unsafe {
                abcd = h(abcd, efgh, wk);
                efgh = h2(efgh, old, wk);
            }
        }
        let (abcd, efgh) = (add4(abcd, vec4(&state[..4])), add4(efgh, vec4(&state[4..])));
        for i in 0..4 {
            state[i] = e32(abcd, i);
            state[4 + i] = e32(efgh, i);
        }
    }

    /// SHA-1 compression of one block, sequenced as the kernel's sha1-ce-core.S does it:
    /// SHA1SU0/SHA1SU1 for the schedule, SHA1H for the next E, SHA1C/P/M for the rounds.
    fn sha1_block(ni: bool, state: &mut [u32; 5], block: &[u32; 16]) {
        const K: [u32; 4] = [0x5a82_7999, 0x6ed9_eba1, 0x8f1b_bcdc, 0xca62_c1d6];
        let rounds = [
            op(ni, "sha1c"),
            op(ni, "sha1p"),
            op(ni, "sha1m"),
            op(ni, "sha1p"),
        ];
        let (sha1h_op, su0, su1) = (op(ni, "sha1h"), op(ni, "sha1su0"), op(ni, "sha1su1"));
        let mut w: [u128; 4] = std::array::from_fn(|i| vec4(&block[4 * i..4 * i + 4]));
        let mut abcd = vec4(&state[..4]);
        let mut e = state[4] as u128;
        for g in 0..20 {
            let wk = add4(w[g % 4], vec4(&[K[g / 5]; 4]));
            if (1..17).contains(&g) {
                let s = (g + 3) % 4;
                // SAFETY: see `sha_ni_matches_the_definitions` (callers check SHA-NI).
                w[s] = unsafe { su1(su0(w[s], w[g % 4], w[(g + 1) % 4]), w[(g + 2) % 4], 0) };
            }
            // SAFETY: as above.
            unsafe {
                let next_e = sha1h_op(0, abcd, 0);
                abcd = rounds[g / 5](abcd, e, wk);
                e = next_e;
            }
        }
        let abcd = add4(abcd, vec4(&state[..4]));
        for (i, s) in state[..4].iter_mut().enumerate() {
            *s = e32(abcd, i);
        }
        state[4] = state[4].wrapping_add(e as u32);
    }

    /// FIPS 180-4 (examples): SHA-256("abc") and SHA-1("abc") through the instruction
    /// functions, for the reference and (when the host has it) the SHA-NI versions.
    #[test]
    fn sha_fips180_abc() {
        let impls: &[bool] = if sha_ni::available() {
            &[false, true]
        } else {
            eprintln!("sha_fips180_abc: SHA-NI half SKIPPED (no SHA-NI on this host)");
            &[false]
        };
        for &ni in impls {
            let mut s = [
                0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
                0x5be0cd19,
            ];
            sha256_block(ni, &mut s, &abc_block());
            assert_eq!(
                s,
                [
                    0xba7816bf, 0x8f01cfea, 0x414140de, 0x5dae2223, 0xb00361a3, 0x96177a9c,
                    0xb410ff61, 0xf20015ad
                ],
                "sha256 (SHA-NI: {ni})"
            );
            let mut s = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
            sha1_block(ni, &mut s, &abc_block());
            assert_eq!(
                s,
                [0xa9993e36, 0x4706816a, 0xba3e2571, 0x7850c26c, 0x9cd0d89d],
                "sha1 (SHA-NI: {ni})"
            );
        }
    }
}
