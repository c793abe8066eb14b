//! Fast paths for the most common Advanced SIMD integer operations (what glibc's string
//! functions and GCC-vectorised loops execute): one monomorphic helper per operation and
//! element size, written as plain loops over lane arrays that the compiler turns into
//! host SIMD code. The lifters pick one of these at translation time when the encoding
//! has a fast path and fall back to the generic per-class helpers otherwise.
//!
//! The generic helpers built on [`super::elem`] stay the reference semantics: the tests
//! check every fast path against them on random inputs.

use super::{set_qc, vget, vset};
use crate::arm64::cpu::Cpu;
use crate::arm64::lift::{bit, bits};
use crate::ir::HelperFn;

/// A helper name and function, chosen at lift time.
pub type Fast = (&'static str, HelperFn);

macro_rules! lanes {
    ($split:ident, $join:ident, $t:ty, $n:expr) => {
        #[inline(always)]
        fn $split(v: u128) -> [$t; $n] {
            const W: usize = std::mem::size_of::<$t>();
            let b = v.to_le_bytes();
            std::array::from_fn(|i| {
                let mut e = [0u8; W];
                e.copy_from_slice(&b[i * W..(i + 1) * W]);
                <$t>::from_le_bytes(e)
            })
        }
        #[inline(always)]
        fn $join(r: [$t; $n]) -> u128 {
            const W: usize = std::mem::size_of::<$t>();
            let mut b = [0u8; 16];
            for (c, x) in b.chunks_exact_mut(W).zip(r) {
                c.copy_from_slice(&x.to_le_bytes());
            }
            u128::from_le_bytes(b)
        }
    };
}
lanes!(s8, j8, u8, 16);
lanes!(s16, j16, u16, 8);
lanes!(s32, j32, u32, 4);
lanes!(s64, j64, u64, 2);

/// Keep the low 64 bits when `Q` (bit 30) is clear.
#[inline(always)]
fn q_trunc(w: u32, v: u128) -> u128 {
    if bit(w, 30) == 1 {
        v
    } else {
        v & u64::MAX as u128
    }
}

/// Define a helper `$name(cpu, word)` with the body `$body` (which sees `cpu: &mut Cpu`
/// and `w: u32`).
macro_rules! fast_helper {
    ($name:ident, |$cpu:ident, $w:ident| $body:block) => {
        /// # Safety
        /// `p` must point to a valid `Cpu` that nothing else borrows during the call
        /// (generated code passes its own).
        pub unsafe extern "C" fn $name(p: *mut u8, w: u64, _: u64, _: u64, _: u64) -> u64 {
            // SAFETY: generated code passes its own `Cpu` pointer as the first argument,
            // and no other reference to that `Cpu` is live during the call.
            let $cpu = unsafe { &mut *(p as *mut Cpu) };
            let $w = w as u32;
            $body
            0
        }
    };
}

/// Elementwise `Vd = f(Vn, Vm, Vd)` (three-same shape). The body may set `$qc` (a
/// `bool`) on saturation.
macro_rules! same3 {
    ($name:ident, |$x:ident, $y:ident, $d:ident, $qc:ident| $e:expr) => {
        fast_helper!($name, |cpu, w| {
            let a = split(vget(cpu, bits(w, 9, 5)));
            let b = split(vget(cpu, bits(w, 20, 16)));
            let dd = split(vget(cpu, bits(w, 4, 0)));
            let mut r = a;
            #[allow(unused_mut)]
            let mut $qc = false;
            // Only the active lanes (they may saturate and set QC).
            let n = if bit(w, 30) == 1 {
                r.len()
            } else {
                r.len() / 2
            };
            for i in 0..n {
                #[allow(unused_variables)]
                let ($x, $y, $d) = (a[i], b[i], dd[i]);
                r[i] = $e;
            }
            vset(cpu, bits(w, 4, 0), q_trunc(w, join(r)));
            set_qc(cpu, $qc);
        });
    };
}

/// Pairwise `Vd = f(adjacent pairs of Vn, then of Vm)`.
macro_rules! pair {
    ($name:ident, |$x:ident, $y:ident| $e:expr) => {
        fast_helper!($name, |cpu, w| {
            let (n, m) = (vget(cpu, bits(w, 9, 5)), vget(cpu, bits(w, 20, 16)));
            // Q=0: the pairs of n.lo:m.lo, as the first half of a Q=1 computation.
            let (n, m) = if bit(w, 30) == 1 {
                (n, m)
            } else {
                ((n & u64::MAX as u128) | (m << 64), 0)
            };
            let (a, b) = (split(n), split(m));
            let mut r = a;
            let h = r.len() / 2;
            for i in 0..h {
                let ($x, $y) = (a[2 * i], a[2 * i + 1]);
                r[i] = $e;
                let ($x, $y) = (b[2 * i], b[2 * i + 1]);
                r[h + i] = $e;
            }
            vset(cpu, bits(w, 4, 0), q_trunc(w, join(r)));
        });
    };
}

/// Elementwise `Vd = f(Vn)` (two-register-misc shape); `$n` is the shift amount of a
/// shift-by-immediate word when the body needs it.
macro_rules! misc1 {
    ($name:ident, |$x:ident| $e:expr) => {
        fast_helper!($name, |cpu, w| {
            let a = split(vget(cpu, bits(w, 9, 5)));
            vset(cpu, bits(w, 4, 0), q_trunc(w, join(a.map(|$x| $e))));
        });
    };
    ($name:ident, |$x:ident, $n:ident = $amount:ident| $e:expr) => {
        fast_helper!($name, |cpu, w| {
            let $n = $amount(w);
            let a = split(vget(cpu, bits(w, 9, 5)));
            vset(cpu, bits(w, 4, 0), q_trunc(w, join(a.map(|$x| $e))));
        });
    };
}

/// Accumulating shift by immediate: `Vd += f(Vn)`.
macro_rules! acc1 {
    ($name:ident, |$x:ident, $n:ident = $amount:ident| $e:expr) => {
        fast_helper!($name, |cpu, w| {
            let $n = $amount(w);
            let a = split(vget(cpu, bits(w, 9, 5)));
            let mut d = split(vget(cpu, bits(w, 4, 0)));
            for i in 0..d.len() {
                let $x = a[i];
                d[i] = d[i].wrapping_add($e);
            }
            vset(cpu, bits(w, 4, 0), q_trunc(w, join(d)));
        });
    };
}

/// Across lanes: `Vd = fold(f, elements of Vn)` in the (possibly wider) type `$wide`.
macro_rules! across {
    ($name:ident, $wide:ty, |$x0:ident| $init:expr, |$acc:ident, $x:ident| $e:expr) => {
        fast_helper!($name, |cpu, w| {
            let a = split(vget(cpu, bits(w, 9, 5)));
            let n = if bit(w, 30) == 1 {
                a.len()
            } else {
                a.len() / 2
            };
            let $x0 = a[0];
            let mut $acc: $wide = $init;
            for &$x in &a[1..n] {
                $acc = $e;
            }
            vset(cpu, bits(w, 4, 0), $acc as u128);
        });
    };
}

/// The fast helpers of one element size: `T`/`S` the unsigned/signed element types,
/// `W`/`WS` twice as wide.
macro_rules! element_size {
    ($m:ident, $split:ident, $join:ident, $t:ty, $s:ty, $wt:ty, $ws:ty) => {
        pub mod $m {
            use super::*;
            type T = $t;
            type S = $s;
            #[allow(dead_code)]
            type W = $wt;
            #[allow(dead_code)]
            type WS = $ws;
            const M: T = T::MAX;
            #[inline(always)]
            fn split(v: u128) -> [T; 16 / std::mem::size_of::<T>()] {
                $split(v)
            }
            #[inline(always)]
            fn join(r: [T; 16 / std::mem::size_of::<T>()]) -> u128 {
                $join(r)
            }
            #[inline(always)]
            fn ones(b: bool) -> T {
                if b {
                    M
                } else {
                    0
                }
            }
            #[inline(always)]
            fn sat(neg: bool) -> T {
                (if neg { S::MIN } else { S::MAX }) as T
            }
            fn rshift(w: u32) -> u32 {
                2 * T::BITS - bits(w, 22, 16)
            }
            fn lshift(w: u32) -> u32 {
                bits(w, 22, 16) - T::BITS
            }

            same3!(add, |x, y, d, qc| x.wrapping_add(y));
            same3!(sub, |x, y, d, qc| x.wrapping_sub(y));
            same3!(cmeq, |x, y, d, qc| ones(x == y));
            same3!(cmtst, |x, y, d, qc| ones(x & y != 0));
            same3!(cmhi, |x, y, d, qc| ones(x > y));
            same3!(cmhs, |x, y, d, qc| ones(x >= y));
            same3!(cmgt, |x, y, d, qc| ones(x as S > y as S));
            same3!(cmge, |x, y, d, qc| ones(x as S >= y as S));
            same3!(umax, |x, y, d, qc| x.max(y));
            same3!(umin, |x, y, d, qc| x.min(y));
            same3!(smax, |x, y, d, qc| (x as S).max(y as S) as T);
            same3!(smin, |x, y, d, qc| (x as S).min(y as S) as T);
            same3!(mul, |x, y, d, qc| x.wrapping_mul(y));
            same3!(mla, |x, y, d, qc| d.wrapping_add(x.wrapping_mul(y)));
            same3!(mls, |x, y, d, qc| d.wrapping_sub(x.wrapping_mul(y)));
            same3!(uabd, |x, y, d, qc| x.abs_diff(y));
            same3!(sabd, |x, y, d, qc| (x as S).abs_diff(y as S));
            same3!(uaba, |x, y, d, qc| d.wrapping_add(x.abs_diff(y)));
            same3!(saba, |x, y, d, qc| d.wrapping_add((x as S).abs_diff(y as S)));
            same3!(uhadd, |x, y, d, qc| ((x as W + y as W) >> 1) as T);
            same3!(urhadd, |x, y, d, qc| ((x as W + y as W + 1) >> 1) as T);
            same3!(shadd, |x, y, d, qc| ((x as S as WS + y as S as WS) >> 1) as T);
            same3!(srhadd, |x, y, d, qc| ((x as S as WS + y as S as WS + 1) >> 1) as T);
            same3!(uhsub, |x, y, d, qc| ((x as W).wrapping_sub(y as W) >> 1) as T);
            same3!(shsub, |x, y, d, qc| ((x as S as WS - y as S as WS) >> 1) as T);
            same3!(uqadd, |x, y, d, qc| {
                let (r, o) = x.overflowing_add(y);
                qc |= o;
                if o {
                    M
                } else {
                    r
                }
            });
            same3!(uqsub, |x, y, d, qc| {
                let (r, o) = x.overflowing_sub(y);
                qc |= o;
                if o {
                    0
                } else {
                    r
                }
            });
            same3!(sqadd, |x, y, d, qc| {
                let (r, o) = (x as S).overflowing_add(y as S);
                qc |= o;
                if o {
                    sat((x as S) < 0)
                } else {
                    r as T
                }
            });
            same3!(sqsub, |x, y, d, qc| {
                let (r, o) = (x as S).overflowing_sub(y as S);
                qc |= o;
                if o {
                    sat((x as S) < 0)
                } else {
                    r as T
                }
            });
            pair!(addp, |x, y| x.wrapping_add(y));
            pair!(umaxp, |x, y| x.max(y));
            pair!(uminp, |x, y| x.min(y));
            pair!(smaxp, |x, y| (x as S).max(y as S) as T);
            pair!(sminp, |x, y| (x as S).min(y as S) as T);
            misc1!(cmeq0, |x| ones(x == 0));
            misc1!(cmgt0, |x| ones((x as S) > 0));
            misc1!(cmge0, |x| ones((x as S) >= 0));
            misc1!(cmle0, |x| ones((x as S) <= 0));
            misc1!(cmlt0, |x| ones((x as S) < 0));
            misc1!(clz, |x| x.leading_zeros() as T);
            misc1!(cls, |x| {
                let y = x as S;
                ((if y < 0 { !y } else { y }).leading_zeros() - 1) as T
            });
            misc1!(cnt, |x| x.count_ones() as T);
            misc1!(rbit, |x| x.reverse_bits());
            /// REV16/REV32/REV64: reverse the elements inside each `$c`-byte container.
            macro_rules! rev {
                ($name:ident, $c:expr) => {
                    fast_helper!($name, |cpu, w| {
                        let a = split(vget(cpu, bits(w, 9, 5)));
                        let k = $c / std::mem::size_of::<T>();
                        let r: [T; 16 / std::mem::size_of::<T>()] =
                            std::array::from_fn(|i| a[i / k * k + (k - 1 - i % k)]);
                        vset(cpu, bits(w, 4, 0), q_trunc(w, join(r)));
                    });
                };
            }
            rev!(rev16, 2);
            rev!(rev32, 4);
            rev!(rev64, 8);
            misc1!(abs, |x| (x as S).wrapping_abs() as T);
            misc1!(neg, |x| (x as S).wrapping_neg() as T);
            misc1!(ushr, |x, n = rshift| x.checked_shr(n).unwrap_or(0));
            misc1!(sshr, |x, n = rshift| ((x as S) >> n.min(T::BITS - 1)) as T);
            misc1!(shl, |x, n = lshift| x << n);
            acc1!(usra, |x, n = rshift| x.checked_shr(n).unwrap_or(0));
            acc1!(ssra, |x, n = rshift| ((x as S) >> n.min(T::BITS - 1)) as T);
            /// Permutes: `$body` fills `r` from `a` (Vn), `b` (Vm) with `n` active lanes.
            macro_rules! perm {
                ($name:ident, |$a:ident, $b:ident, $r:ident, $n:ident| $body:block) => {
                    fast_helper!($name, |cpu, w| {
                        let $a = split(vget(cpu, bits(w, 9, 5)));
                        let $b = split(vget(cpu, bits(w, 20, 16)));
                        let $n = if bit(w, 30) == 1 { $a.len() } else { $a.len() / 2 };
                        let mut $r = [0 as T; 16 / std::mem::size_of::<T>()];
                        $body
                        vset(cpu, bits(w, 4, 0), join($r));
                    });
                };
            }
            perm!(zip1, |a, b, r, n| {
                for i in 0..n / 2 {
                    r[2 * i] = a[i];
                    r[2 * i + 1] = b[i];
                }
            });
            perm!(zip2, |a, b, r, n| {
                for i in 0..n / 2 {
                    r[2 * i] = a[n / 2 + i];
                    r[2 * i + 1] = b[n / 2 + i];
                }
            });
            perm!(uzp1, |a, b, r, n| {
                for i in 0..n / 2 {
                    r[i] = a[2 * i];
                    r[n / 2 + i] = b[2 * i];
                }
            });
            perm!(uzp2, |a, b, r, n| {
                for i in 0..n / 2 {
                    r[i] = a[2 * i + 1];
                    r[n / 2 + i] = b[2 * i + 1];
                }
            });
            perm!(trn1, |a, b, r, n| {
                for p in 0..n / 2 {
                    r[2 * p] = a[2 * p];
                    r[2 * p + 1] = b[2 * p];
                }
            });
            perm!(trn2, |a, b, r, n| {
                for p in 0..n / 2 {
                    r[2 * p] = a[2 * p + 1];
                    r[2 * p + 1] = b[2 * p + 1];
                }
            });
            across!(addv, T, |x| x, |acc, x| acc.wrapping_add(x));
            across!(umaxv, T, |x| x, |acc, x| acc.max(x));
            across!(uminv, T, |x| x, |acc, x| acc.min(x));
            across!(smaxv, T, |x| x, |acc, x| (acc as S).max(x as S) as T);
            across!(sminv, T, |x| x, |acc, x| (acc as S).min(x as S) as T);
            across!(uaddlv, W, |x| x as W, |acc, x| acc.wrapping_add(x as W));
            across!(saddlv, W, |x| x as S as WS as W, |acc, x| {
                (acc as WS).wrapping_add(x as S as WS) as W
            });
        }
    };
}

element_size!(b8, s8, j8, u8, i8, u16, i16);
element_size!(b16, s16, j16, u16, i16, u32, i32);
element_size!(b32, s32, j32, u32, i32, u64, i64);
element_size!(b64, s64, j64, u64, i64, u128, i128);

/// The helper `$f` of the module for element size `$size` (0..=3).
macro_rules! pick {
    ($size:expr, $f:ident) => {
        Some((
            concat!("simd_fast_", stringify!($f)),
            match $size {
                0 => b8::$f as HelperFn,
                1 => b16::$f as HelperFn,
                2 => b32::$f as HelperFn,
                _ => b64::$f as HelperFn,
            },
        ))
    };
}

/// Fast path of a (validated) three-same vector word.
pub fn same(w: u32) -> Option<Fast> {
    let size = bits(w, 23, 22);
    match (bit(w, 29), bits(w, 15, 11)) {
        (0, 0b00000) => pick!(size, shadd),
        (1, 0b00000) => pick!(size, uhadd),
        (0, 0b00001) => pick!(size, sqadd),
        (1, 0b00001) => pick!(size, uqadd),
        (0, 0b00010) => pick!(size, srhadd),
        (1, 0b00010) => pick!(size, urhadd),
        (0, 0b00100) => pick!(size, shsub),
        (1, 0b00100) => pick!(size, uhsub),
        (0, 0b00101) => pick!(size, sqsub),
        (1, 0b00101) => pick!(size, uqsub),
        (0, 0b00110) => pick!(size, cmgt),
        (1, 0b00110) => pick!(size, cmhi),
        (0, 0b00111) => pick!(size, cmge),
        (1, 0b00111) => pick!(size, cmhs),
        (0, 0b01100) => pick!(size, smax),
        (1, 0b01100) => pick!(size, umax),
        (0, 0b01101) => pick!(size, smin),
        (1, 0b01101) => pick!(size, umin),
        (0, 0b01110) => pick!(size, sabd),
        (1, 0b01110) => pick!(size, uabd),
        (0, 0b01111) => pick!(size, saba),
        (1, 0b01111) => pick!(size, uaba),
        (0, 0b10000) => pick!(size, add),
        (1, 0b10000) => pick!(size, sub),
        (0, 0b10001) => pick!(size, cmtst),
        (1, 0b10001) => pick!(size, cmeq),
        (0, 0b10010) => pick!(size, mla),
        (1, 0b10010) => pick!(size, mls),
        (0, 0b10011) => pick!(size, mul),
        (0, 0b10100) if size == 0 => Some(("simd_fast_smaxp", smaxp8 as HelperFn)),
        (1, 0b10100) if size == 0 => Some(("simd_fast_umaxp", umaxp8 as HelperFn)),
        (0, 0b10101) if size == 0 => Some(("simd_fast_sminp", sminp8 as HelperFn)),
        (1, 0b10101) if size == 0 => Some(("simd_fast_uminp", uminp8 as HelperFn)),
        (0, 0b10111) if size == 0 => Some(("simd_fast_addp", addp8 as HelperFn)),
        (0, 0b10100) => pick!(size, smaxp),
        (1, 0b10100) => pick!(size, umaxp),
        (0, 0b10101) => pick!(size, sminp),
        (1, 0b10101) => pick!(size, uminp),
        (0, 0b10111) => pick!(size, addp),
        _ => None,
    }
}

/// Fast path of a (validated) two-register-misc vector word.
pub fn misc(w: u32) -> Option<Fast> {
    let size = bits(w, 23, 22);
    match (bit(w, 29), bits(w, 16, 12)) {
        (0, 0b01000) => pick!(size, cmgt0),
        (1, 0b01000) => pick!(size, cmge0),
        (0, 0b01001) => pick!(size, cmeq0),
        (1, 0b01001) => pick!(size, cmle0),
        (0, 0b01010) => pick!(size, cmlt0),
        (0, 0b01011) => pick!(size, abs),
        (1, 0b01011) => pick!(size, neg),
        (0, 0b00100) => pick!(size, cls),
        (1, 0b00100) => pick!(size, clz),
        // CNT and RBIT work on bytes whatever `size` says.
        (0, 0b00101) => Some(("simd_fast_cnt", cnt8 as HelperFn)),
        (1, 0b00101) => Some(("simd_fast_rbit", rbit8 as HelperFn)),
        (0, 0b00000) => pick!(size, rev64),
        (1, 0b00000) => pick!(size, rev32),
        (0, 0b00001) => pick!(size, rev16),
        _ => misc_long(w),
    }
}

/// Fast path of a (validated) across-lanes word.
pub fn across(w: u32) -> Option<Fast> {
    let size = bits(w, 23, 22);
    match (bit(w, 29), bits(w, 16, 12)) {
        (0, 0b11011) if size == 0 => Some(("simd_fast_addv", addv8 as HelperFn)),
        (1, 0b01010) if size == 0 => Some(("simd_fast_umaxv", umaxv8 as HelperFn)),
        (1, 0b11010) if size == 0 => Some(("simd_fast_uminv", uminv8 as HelperFn)),
        (1, 0b00011) if size == 0 => Some(("simd_fast_uaddlv", uaddlv8 as HelperFn)),
        (0, 0b00011) => pick!(size, saddlv),
        (1, 0b00011) => pick!(size, uaddlv),
        (0, 0b01010) => pick!(size, smaxv),
        (1, 0b01010) => pick!(size, umaxv),
        (0, 0b11010) => pick!(size, sminv),
        (1, 0b11010) => pick!(size, uminv),
        (0, 0b11011) => pick!(size, addv),
        _ => None,
    }
}

/// Fast path of a (validated) vector shift-by-immediate word.
pub fn shift(w: u32) -> Option<Fast> {
    let immh = bits(w, 22, 19);
    if immh == 0 {
        return None;
    }
    let size = 31 - immh.leading_zeros();
    match (bit(w, 29), bits(w, 15, 11)) {
        (0, 0b00000) => pick!(size, sshr),
        (1, 0b00000) => pick!(size, ushr),
        (0, 0b00010) => pick!(size, ssra),
        (1, 0b00010) => pick!(size, usra),
        (0, 0b01010) => pick!(size, shl),
        _ => shift_long(w),
    }
}

/// Widening and narrowing helpers for one narrow element type `T` (wide type `W`):
/// the three-different forms, pairwise long adds, XTN/SHRN/RSHRN, SSHLL/USHLL.
macro_rules! long_size {
    ($m:ident, $split:ident, $join:ident, $wsplit:ident, $wjoin:ident, $t:ty, $s:ty, $wt:ty, $ws:ty) => {
        pub mod $m {
            use super::*;
            type T = $t;
            type S = $s;
            type W = $wt;
            type WS = $ws;
            const N: usize = 16 / std::mem::size_of::<T>();

            /// `Vd(W) = f(x, y, d)` with `x`, `y` from half `Q` of Vn, Vm (`$wide_n`: Vn
            /// is already wide).
            macro_rules! long3 {
                ($name:ident, $wide_n:expr, |$x:ident, $y:ident, $d:ident| $e:expr) => {
                    fast_helper!($name, |cpu, w| {
                        let off = bit(w, 30) as usize * N / 2;
                        let (n, m) = (vget(cpu, bits(w, 9, 5)), vget(cpu, bits(w, 20, 16)));
                        let (an, aw) = ($split(n), $wsplit(n));
                        let b = $split(m);
                        let dd = $wsplit(vget(cpu, bits(w, 4, 0)));
                        let mut r = dd;
                        for i in 0..N / 2 {
                            #[allow(unused_variables)]
                            let ($x, $y, $d): (W, T, W) = if $wide_n {
                                (aw[i], b[off + i], dd[i])
                            } else {
                                (an[off + i] as W, b[off + i], dd[i])
                            };
                            r[i] = $e;
                        }
                        vset(cpu, bits(w, 4, 0), $wjoin(r));
                    });
                };
            }
            // Signed forms reinterpret the narrow values (`x` is zero-extended here).
            fn sx(x: W) -> WS {
                x as T as S as WS
            }
            long3!(uaddl, false, |x, y, d| x.wrapping_add(y as W));
            long3!(saddl, false, |x, y, d| (sx(x) + y as S as WS) as W);
            long3!(usubl, false, |x, y, d| x.wrapping_sub(y as W));
            long3!(ssubl, false, |x, y, d| (sx(x) - y as S as WS) as W);
            long3!(uaddw, true, |x, y, d| x.wrapping_add(y as W));
            long3!(saddw, true, |x, y, d| (x as WS).wrapping_add(y as S as WS) as W);
            long3!(usubw, true, |x, y, d| x.wrapping_sub(y as W));
            long3!(ssubw, true, |x, y, d| (x as WS).wrapping_sub(y as S as WS) as W);
            long3!(uabdl, false, |x, y, d| (x as T).abs_diff(y) as W);
            long3!(sabdl, false, |x, y, d| (x as T as S).abs_diff(y as S) as W);
            long3!(uabal, false, |x, y, d| d.wrapping_add((x as T).abs_diff(y) as W));
            long3!(sabal, false, |x, y, d| d.wrapping_add((x as T as S).abs_diff(y as S) as W));
            long3!(umull, false, |x, y, d| x * y as W);
            long3!(smull, false, |x, y, d| (sx(x) * y as S as WS) as W);
            long3!(umlal, false, |x, y, d| d.wrapping_add(x * y as W));
            long3!(smlal, false, |x, y, d| d.wrapping_add((sx(x) * y as S as WS) as W));
            long3!(umlsl, false, |x, y, d| d.wrapping_sub(x * y as W));
            long3!(smlsl, false, |x, y, d| d.wrapping_sub((sx(x) * y as S as WS) as W));

            /// Narrow `f(wide Vn element, wide Vm element)` into half `Q` of Vd.
            macro_rules! narrow {
                ($name:ident, |$x:ident, $y:ident, $w:ident| $e:expr) => {
                    fast_helper!($name, |cpu, w| {
                        #[allow(unused_variables)]
                        let $w = w;
                        let a = $wsplit(vget(cpu, bits(w, 9, 5)));
                        let b = $wsplit(vget(cpu, bits(w, 20, 16)));
                        let d = vget(cpu, bits(w, 4, 0));
                        let mut r = [0 as T; N];
                        for i in 0..N / 2 {
                            #[allow(unused_variables)]
                            let ($x, $y) = (a[i], b[i]);
                            r[i] = $e;
                        }
                        let lo = $join(r) & u64::MAX as u128;
                        let v = if bit(w, 30) == 1 {
                            (d & u64::MAX as u128) | (lo << 64)
                        } else {
                            lo
                        };
                        vset(cpu, bits(w, 4, 0), v);
                    });
                };
            }
            const HALF: W = 1 << (T::BITS - 1);
            fn rshift(w: u32) -> u32 {
                2 * T::BITS - bits(w, 22, 16)
            }
            narrow!(addhn, |x, y, w| (x.wrapping_add(y) >> T::BITS) as T);
            narrow!(raddhn, |x, y, w| (x.wrapping_add(y).wrapping_add(HALF) >> T::BITS) as T);
            narrow!(subhn, |x, y, w| (x.wrapping_sub(y) >> T::BITS) as T);
            narrow!(rsubhn, |x, y, w| (x.wrapping_sub(y).wrapping_add(HALF) >> T::BITS) as T);
            narrow!(xtn, |x, y, w| x as T);
            narrow!(shrn, |x, y, w| (x >> rshift(w)) as T);
            narrow!(rshrn, |x, y, w| {
                let n = rshift(w);
                ((x >> n) + ((x >> (n - 1)) & 1)) as T
            });

            /// Pairwise long add (accumulating when `$acc`).
            macro_rules! addlp {
                ($name:ident, $acc:expr, |$x:ident| $e:expr) => {
                    fast_helper!($name, |cpu, w| {
                        let a = $split(vget(cpu, bits(w, 9, 5)));
                        let d = $wsplit(vget(cpu, bits(w, 4, 0)));
                        let n = if bit(w, 30) == 1 { N / 2 } else { N / 4 };
                        let mut r = [0 as W; N / 2];
                        for i in 0..n {
                            let f = |$x: T| -> W { $e };
                            let s = f(a[2 * i]).wrapping_add(f(a[2 * i + 1]));
                            r[i] = if $acc { d[i].wrapping_add(s) } else { s };
                        }
                        vset(cpu, bits(w, 4, 0), $wjoin(r));
                    });
                };
            }
            addlp!(uaddlp, false, |x| x as W);
            addlp!(saddlp, false, |x| x as S as WS as W);
            addlp!(uadalp, true, |x| x as W);
            addlp!(sadalp, true, |x| x as S as WS as W);

            /// SSHLL/USHLL: widen half `Q` of Vn and shift left.
            macro_rules! shll {
                ($name:ident, |$x:ident| $e:expr) => {
                    fast_helper!($name, |cpu, w| {
                        let n = bits(w, 22, 16) - T::BITS;
                        let off = bit(w, 30) as usize * N / 2;
                        let a = $split(vget(cpu, bits(w, 9, 5)));
                        let mut r = [0 as W; N / 2];
                        for i in 0..N / 2 {
                            let $x = a[off + i];
                            r[i] = ($e) << n;
                        }
                        vset(cpu, bits(w, 4, 0), $wjoin(r));
                    });
                };
            }
            shll!(ushll, |x| x as W);
            shll!(sshll, |x| x as S as WS as W);
        }
    };
}

long_size!(l8, s8, j8, s16, j16, u8, i8, u16, i16);
long_size!(l16, s16, j16, s32, j32, u16, i16, u32, i32);
long_size!(l32, s32, j32, s64, j64, u32, i32, u64, i64);

/// The helper `$f` of the long/narrow module for narrow element size `$size` (0..=2).
macro_rules! pick_long {
    ($size:expr, $f:ident) => {
        Some((
            concat!("simd_fast_", stringify!($f)),
            match $size {
                0 => l8::$f as HelperFn,
                1 => l16::$f as HelperFn,
                _ => l32::$f as HelperFn,
            },
        ))
    };
}

/// Fast path of a (validated) three-different vector word.
pub fn diff(w: u32) -> Option<Fast> {
    let size = bits(w, 23, 22);
    match (bit(w, 29), bits(w, 15, 12)) {
        (0, 0b0000) => pick_long!(size, saddl),
        (1, 0b0000) => pick_long!(size, uaddl),
        (0, 0b0001) => pick_long!(size, saddw),
        (1, 0b0001) => pick_long!(size, uaddw),
        (0, 0b0010) => pick_long!(size, ssubl),
        (1, 0b0010) => pick_long!(size, usubl),
        (0, 0b0011) => pick_long!(size, ssubw),
        (1, 0b0011) => pick_long!(size, usubw),
        (0, 0b0100) => pick_long!(size, addhn),
        (1, 0b0100) => pick_long!(size, raddhn),
        (0, 0b0101) => pick_long!(size, sabal),
        (1, 0b0101) => pick_long!(size, uabal),
        (0, 0b0110) => pick_long!(size, subhn),
        (1, 0b0110) => pick_long!(size, rsubhn),
        (0, 0b0111) => pick_long!(size, sabdl),
        (1, 0b0111) => pick_long!(size, uabdl),
        (0, 0b1000) => pick_long!(size, smlal),
        (1, 0b1000) => pick_long!(size, umlal),
        (0, 0b1010) => pick_long!(size, smlsl),
        (1, 0b1010) => pick_long!(size, umlsl),
        (0, 0b1100) => pick_long!(size, smull),
        (1, 0b1100) => pick_long!(size, umull),
        _ => None,
    }
}

/// Fast path of a (validated) two-register-misc word with a long/narrow shape.
pub fn misc_long(w: u32) -> Option<Fast> {
    let size = bits(w, 23, 22);
    match (bit(w, 29), bits(w, 16, 12)) {
        (0, 0b10010) => pick_long!(size, xtn),
        (0, 0b00010) => pick_long!(size, saddlp),
        (1, 0b00010) => pick_long!(size, uaddlp),
        (0, 0b00110) => pick_long!(size, sadalp),
        (1, 0b00110) => pick_long!(size, uadalp),
        _ => None,
    }
}

/// Fast path of a (validated) narrowing/widening vector shift-by-immediate word.
pub fn shift_long(w: u32) -> Option<Fast> {
    let immh = bits(w, 22, 19);
    if immh == 0 || immh >> 3 != 0 {
        return None;
    }
    let size = 31 - immh.leading_zeros();
    match (bit(w, 29), bits(w, 15, 11)) {
        (0, 0b10000) => pick_long!(size, shrn),
        (0, 0b10001) => pick_long!(size, rshrn),
        (0, 0b10100) => pick_long!(size, sshll),
        (1, 0b10100) => pick_long!(size, ushll),
        _ => None,
    }
}

/// Fast path of a (validated) permute word.
pub fn permute(w: u32) -> Option<Fast> {
    let size = bits(w, 23, 22);
    match bits(w, 14, 12) {
        0b001 => pick!(size, uzp1),
        0b010 => pick!(size, trn1),
        0b011 => pick!(size, zip1),
        0b101 => pick!(size, uzp2),
        0b110 => pick!(size, trn2),
        0b111 => pick!(size, zip2),
        _ => None,
    }
}

/// Per-byte population counts of a 64-bit lane (SWAR).
#[inline(always)]
fn popcnt_bytes(x: u64) -> u64 {
    let x = x - ((x >> 1) & 0x5555_5555_5555_5555);
    let x = (x & 0x3333_3333_3333_3333) + ((x >> 2) & 0x3333_3333_3333_3333);
    (x + (x >> 4)) & 0x0f0f_0f0f_0f0f_0f0f
}

/// The sum of the 8 bytes of a 64-bit lane (up to 2040).
#[inline(always)]
fn sum_bytes(x: u64) -> u64 {
    let x = (x & 0x00ff_00ff_00ff_00ff) + ((x >> 8) & 0x00ff_00ff_00ff_00ff);
    x.wrapping_mul(0x0001_0001_0001_0001) >> 48
}

fast_helper!(cnt8, |cpu, w| {
    let v = cpu.v[bits(w, 9, 5) as usize].0;
    let hi = if bit(w, 30) == 1 {
        popcnt_bytes(v[1])
    } else {
        0
    };
    cpu.v[bits(w, 4, 0) as usize].0 = [popcnt_bytes(v[0]), hi];
});

fn sum16(cpu: &Cpu, w: u32) -> u64 {
    let v = cpu.v[bits(w, 9, 5) as usize].0;
    let hi = if bit(w, 30) == 1 { sum_bytes(v[1]) } else { 0 };
    sum_bytes(v[0]) + hi
}

fast_helper!(addv8, |cpu, w| {
    let s = sum16(cpu, w) & 0xff;
    cpu.v[bits(w, 4, 0) as usize].0 = [s, 0];
});

fast_helper!(uaddlv8, |cpu, w| {
    let s = sum16(cpu, w);
    cpu.v[bits(w, 4, 0) as usize].0 = [s, 0];
});

// ---- hand-written SSE2 forms of the byte operations glibc's string functions use ------

use std::arch::x86_64::{
    __m128i, _mm_add_epi8, _mm_and_si128, _mm_cvtsi128_si64, _mm_max_epu8, _mm_min_epu8,
    _mm_packus_epi16, _mm_set1_epi16, _mm_set1_epi8, _mm_set_epi64x, _mm_srli_epi16,
    _mm_srli_si128, _mm_unpackhi_epi64, _mm_unpacklo_epi64, _mm_xor_si128,
};

/// [`fast_helper!`] for bodies using SSE2 intrinsics (always present on x86-64).
macro_rules! sse_helper {
    ($name:ident, |$cpu:ident, $w:ident| $body:block) => {
        /// # Safety
        /// `p` must point to a valid `Cpu` that nothing else borrows during the call
        /// (generated code passes its own).
        #[target_feature(enable = "sse2")]
        pub unsafe extern "C" fn $name(p: *mut u8, w: u64, _: u64, _: u64, _: u64) -> u64 {
            // SAFETY: generated code passes its own `Cpu` pointer as the first argument,
            // and no other reference to that `Cpu` is live during the call.
            let $cpu = unsafe { &mut *(p as *mut Cpu) };
            let $w = w as u32;
            $body
            0
        }
    };
}

#[target_feature(enable = "sse2")]
#[inline]
fn to_m(v: [u64; 2]) -> __m128i {
    _mm_set_epi64x(v[1] as i64, v[0] as i64)
}

#[target_feature(enable = "sse2")]
#[inline]
fn from_m(x: __m128i) -> [u64; 2] {
    let hi = _mm_unpackhi_epi64(x, x);
    [_mm_cvtsi128_si64(x) as u64, _mm_cvtsi128_si64(hi) as u64]
}

/// The even and the odd bytes of `Vn` then `Vm` (`Vn.lo:Vm.lo` when Q=0).
#[target_feature(enable = "sse2")]
#[inline]
fn even_odd(cpu: &Cpu, w: u32) -> (__m128i, __m128i) {
    let (n, m) = (
        cpu.v[bits(w, 9, 5) as usize].0,
        cpu.v[bits(w, 20, 16) as usize].0,
    );
    let (n, m) = if bit(w, 30) == 1 {
        (to_m(n), to_m(m))
    } else {
        (to_m([n[0], m[0]]), to_m([0, 0]))
    };
    let lo = _mm_set1_epi16(0xff);
    let ev = _mm_packus_epi16(_mm_and_si128(n, lo), _mm_and_si128(m, lo));
    let od = _mm_packus_epi16(_mm_srli_epi16::<8>(n), _mm_srli_epi16::<8>(m));
    (ev, od)
}

#[target_feature(enable = "sse2")]
#[inline]
fn put(cpu: &mut Cpu, w: u32, x: __m128i) {
    let mut r = from_m(x);
    if bit(w, 30) == 0 {
        r[1] = 0;
    }
    cpu.v[bits(w, 4, 0) as usize].0 = r;
}

sse_helper!(umaxp8, |cpu, w| {
    let (e, o) = even_odd(cpu, w);
    put(cpu, w, _mm_max_epu8(e, o));
});
sse_helper!(uminp8, |cpu, w| {
    let (e, o) = even_odd(cpu, w);
    put(cpu, w, _mm_min_epu8(e, o));
});
sse_helper!(smaxp8, |cpu, w| {
    let (e, o) = even_odd(cpu, w);
    let s = _mm_set1_epi8(-128);
    let r = _mm_max_epu8(_mm_xor_si128(e, s), _mm_xor_si128(o, s));
    put(cpu, w, _mm_xor_si128(r, s));
});
sse_helper!(sminp8, |cpu, w| {
    let (e, o) = even_odd(cpu, w);
    let s = _mm_set1_epi8(-128);
    let r = _mm_min_epu8(_mm_xor_si128(e, s), _mm_xor_si128(o, s));
    put(cpu, w, _mm_xor_si128(r, s));
});
sse_helper!(addp8, |cpu, w| {
    let (e, o) = even_odd(cpu, w);
    put(cpu, w, _mm_add_epi8(e, o));
});

/// Vn for an across-lanes reduction whose identity is not zero: a Q=0 source has its
/// low half duplicated.
#[target_feature(enable = "sse2")]
#[inline]
fn across_src(cpu: &Cpu, w: u32) -> __m128i {
    let x = to_m(cpu.v[bits(w, 9, 5) as usize].0);
    if bit(w, 30) == 1 {
        x
    } else {
        _mm_unpacklo_epi64(x, x)
    }
}

macro_rules! reduce8 {
    ($name:ident, $op:ident) => {
        sse_helper!($name, |cpu, w| {
            let x = across_src(cpu, w);
            let x = $op(x, _mm_srli_si128::<8>(x));
            let x = $op(x, _mm_srli_si128::<4>(x));
            let x = $op(x, _mm_srli_si128::<2>(x));
            let x = $op(x, _mm_srli_si128::<1>(x));
            cpu.v[bits(w, 4, 0) as usize].0 = [_mm_cvtsi128_si64(x) as u64 & 0xff, 0];
        });
    };
}
reduce8!(umaxv8, _mm_max_epu8);
reduce8!(uminv8, _mm_min_epu8);

/// Reverse the bits of every byte of a lane (SWAR).
#[inline(always)]
fn rbit_bytes(x: u64) -> u64 {
    let x = ((x >> 1) & 0x5555_5555_5555_5555) | ((x & 0x5555_5555_5555_5555) << 1);
    let x = ((x >> 2) & 0x3333_3333_3333_3333) | ((x & 0x3333_3333_3333_3333) << 2);
    ((x >> 4) & 0x0f0f_0f0f_0f0f_0f0f) | ((x & 0x0f0f_0f0f_0f0f_0f0f) << 4)
}

fast_helper!(rbit8, |cpu, w| {
    let v = cpu.v[bits(w, 9, 5) as usize].0;
    let hi = if bit(w, 30) == 1 { rbit_bytes(v[1]) } else { 0 };
    cpu.v[bits(w, 4, 0) as usize].0 = [rbit_bytes(v[0]), hi];
});
