//! Random A64 instruction sequences drawn from ferrite's decode table, and random
//! initial machine states.
//!
//! A row of [`decode::table`] is picked (class first, then a row of that class), its
//! don't-care bits are filled at random, memory operands are constrained to the
//! sandbox (see [`crate::elf`] for the layout), and the word is kept only when
//! [`decode::decode`] maps it back to the same row and the row's lifter accepts it as
//! a straight-line, non-trapping instruction. Rows that can never produce such a word
//! (branches, system and exception instructions by policy; encodings ferrite does not
//! implement) are excluded and listed in [`Generator::excluded`].
//!
//! Memory rows (the A64 load/store space, bit 27 = 1 and bit 25 = 0) always use X28 as
//! their base register. X28 is re-derived (`MOVZ`/`MOVK`) right before every memory
//! instruction, to the sandbox pointer plus a random multiple of 16, so a random
//! instruction that overwrote X28 (or a writeback that moved it) cannot send a later
//! access outside the sandbox. Register-offset forms get their offset register set
//! to a small value by a `MOVZ` in front; PC-relative literal loads get a small
//! offset so that they read the harness's own code.

use ferrite::arm64::decode::{self, Class, Encoding};
use ferrite::arm64::lift::{CpuFeatures, Flow, LiftError, Lifter};
use ferrite::ir::{Builder, Op};

use super::elf;

/// splitmix64: small, fast, and good enough for test generation.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// A generator for one sub-stream (`tag`) of a seed, independent of the others.
    pub fn derive(seed: u64, tag: u64) -> Rng {
        let mut r = Rng(seed ^ tag.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        r.next();
        Rng(r.next() ^ tag)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next() as u128 * n as u128) >> 64) as u64
    }

    /// True with probability `num/den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }

    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

/// The instruction classes the generator knows (the `--class` names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GenClass {
    /// Data processing, immediate and register (`Class::DpImm`, `Class::DpReg`).
    Integer,
    /// Scalar floating point (`Class::Fp`).
    Fp,
    /// Advanced SIMD, register to register (`Class::Simd` outside the load/store space).
    Simd,
    /// Loads and stores, integer and SIMD&FP (the load/store space, not atomic).
    Ldst,
    /// Exclusives, acquire/release and LSE atomics (`Class::Atomic`).
    Atomic,
    /// Cryptographic extensions (`Class::Crypto`).
    Crypto,
}

impl GenClass {
    pub const ALL: [GenClass; 6] = [
        GenClass::Integer,
        GenClass::Fp,
        GenClass::Simd,
        GenClass::Ldst,
        GenClass::Atomic,
        GenClass::Crypto,
    ];

    pub fn name(self) -> &'static str {
        match self {
            GenClass::Integer => "integer",
            GenClass::Fp => "fp",
            GenClass::Simd => "simd",
            GenClass::Ldst => "ldst",
            GenClass::Atomic => "atomic",
            GenClass::Crypto => "crypto",
        }
    }

    pub fn parse(s: &str) -> Option<GenClass> {
        Some(match s {
            "integer" | "int" | "dp" => GenClass::Integer,
            "fp" | "float" => GenClass::Fp,
            "simd" | "neon" => GenClass::Simd,
            "ldst" | "loadstore" | "mem" => GenClass::Ldst,
            "atomic" | "atomics" => GenClass::Atomic,
            "crypto" => GenClass::Crypto,
            _ => return None,
        })
    }

    /// Parse a comma-separated list (`all` = every class).
    pub fn parse_list(s: &str) -> Result<Vec<GenClass>, String> {
        let mut v = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if part == "all" {
                v.extend(GenClass::ALL);
            } else {
                v.push(GenClass::parse(part).ok_or_else(|| {
                    format!(
                        "unknown class '{part}' (known: all, {})",
                        GenClass::ALL.map(GenClass::name).join(", ")
                    )
                })?);
            }
        }
        v.sort();
        v.dedup();
        if v.is_empty() {
            return Err("empty class list".into());
        }
        Ok(v)
    }
}

/// Is `word` in the A64 load/store encoding space (op0 = x1x0)?
pub fn is_memory_space(word: u32) -> bool {
    word & (1 << 27 | 1 << 25) == 1 << 27
}

/// A64 instruction encoders for the few instructions the harness itself needs.
pub mod asm {
    /// `MOVZ Xd, #imm16, LSL #(16*hw)`.
    pub fn movz(rd: u32, imm16: u32, hw: u32) -> u32 {
        0xd280_0000 | hw << 21 | (imm16 & 0xffff) << 5 | rd
    }
    /// `MOVK Xd, #imm16, LSL #(16*hw)`.
    pub fn movk(rd: u32, imm16: u32, hw: u32) -> u32 {
        0xf280_0000 | hw << 21 | (imm16 & 0xffff) << 5 | rd
    }
    /// Xd = a 32-bit address (two words).
    pub fn mov32(rd: u32, v: u64) -> [u32; 2] {
        assert!(v <= u32::MAX as u64, "harness address above 4 GiB");
        [
            movz(rd, v as u32 & 0xffff, 0),
            movk(rd, (v >> 16) as u32, 1),
        ]
    }
    /// `LDP Xt1, Xt2, [Xn], #imm` (post-index, imm multiple of 8).
    pub fn ldp_x_post(t1: u32, t2: u32, n: u32, imm: i32) -> u32 {
        0xa8c0_0000 | (((imm / 8) as u32) & 0x7f) << 15 | t2 << 10 | n << 5 | t1
    }
    /// `STP Xt1, Xt2, [Xn], #imm` (post-index).
    pub fn stp_x_post(t1: u32, t2: u32, n: u32, imm: i32) -> u32 {
        0xa880_0000 | (((imm / 8) as u32) & 0x7f) << 15 | t2 << 10 | n << 5 | t1
    }
    /// `LDP Qt1, Qt2, [Xn], #imm` (post-index, imm multiple of 16).
    pub fn ldp_q_post(t1: u32, t2: u32, n: u32, imm: i32) -> u32 {
        0xacc0_0000 | (((imm / 16) as u32) & 0x7f) << 15 | t2 << 10 | n << 5 | t1
    }
    /// `STP Qt1, Qt2, [Xn], #imm` (post-index).
    pub fn stp_q_post(t1: u32, t2: u32, n: u32, imm: i32) -> u32 {
        0xac80_0000 | (((imm / 16) as u32) & 0x7f) << 15 | t2 << 10 | n << 5 | t1
    }
    /// `LDR Xt, [Xn], #imm` (post-index).
    pub fn ldr_x_post(t: u32, n: u32, imm: i32) -> u32 {
        0xf840_0400 | ((imm as u32) & 0x1ff) << 12 | n << 5 | t
    }
    /// `MSR FPCR, Xt`.
    pub fn msr_fpcr(t: u32) -> u32 {
        0xd51b_4400 | t
    }
    /// `MSR FPSR, Xt`.
    pub fn msr_fpsr(t: u32) -> u32 {
        0xd51b_4420 | t
    }
    /// `CLREX`.
    pub fn clrex() -> u32 {
        0xd503_305f
    }
    /// `MSR NZCV, Xt`.
    pub fn msr_nzcv(t: u32) -> u32 {
        0xd51b_4200 | t
    }
    /// `MRS Xt, FPCR`.
    pub fn mrs_fpcr(t: u32) -> u32 {
        0xd53b_4400 | t
    }
    /// `MRS Xt, FPSR`.
    pub fn mrs_fpsr(t: u32) -> u32 {
        0xd53b_4420 | t
    }
    /// `MRS Xt, NZCV`.
    pub fn mrs_nzcv(t: u32) -> u32 {
        0xd53b_4200 | t
    }
    /// `MOV SP, Xn`.
    pub fn mov_to_sp(n: u32) -> u32 {
        0x9100_001f | n << 5
    }
    /// `MOV Xd, SP`.
    pub fn mov_from_sp(d: u32) -> u32 {
        0x9100_03e0 | d
    }
    /// `SUBS Xd, Xn, #imm12`.
    pub fn subs_imm(d: u32, n: u32, imm: u32) -> u32 {
        0xf100_0000 | (imm & 0xfff) << 10 | n << 5 | d
    }
    /// `B.NE` to `off` bytes from this instruction.
    pub fn b_ne(off: i32) -> u32 {
        0x5400_0001 | (((off / 4) as u32) & 0x7ffff) << 5
    }
    /// `SVC #0`.
    pub const SVC0: u32 = 0xd400_0001;
}

/// One generated unit: the random instruction and the harness words it needs in front
/// of it (re-deriving X28, setting a register offset). Shrinking keeps or drops whole
/// items.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// Harness words executed before `insn`.
    pub prefix: Vec<u32>,
    /// The random instruction.
    pub insn: u32,
}

impl Item {
    pub fn words(&self) -> impl Iterator<Item = u32> + '_ {
        self.prefix
            .iter()
            .copied()
            .chain(std::iter::once(self.insn))
    }
}

/// A row the generator can draw from.
#[derive(Clone)]
pub struct Row {
    pub enc: &'static Encoding,
    pub class: GenClass,
    /// Percentage of random fills that were usable when probed (for `--list-rows`).
    pub yield_pct: f64,
    /// Percentage of fills that decode to this row but that the lifter rejects as
    /// undefined (unallocated, or not implemented by ferrite).
    pub undef_pct: f64,
}

/// A row the generator never draws from, and why.
#[derive(Clone, Debug)]
pub struct Excluded {
    pub name: &'static str,
    pub reason: &'static str,
}

/// Why a candidate word was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reject {
    /// Decodes to another (more specific) row.
    OtherRow,
    /// The lifter says unallocated/unimplemented (SIGILL).
    Undefined,
    /// The lifter ends the block (branch, trap): not straight-line.
    EndsBlock,
    /// A row outside the load/store space whose IR touches memory.
    Memory,
}

pub struct Generator {
    pub rows: Vec<Row>,
    pub excluded: Vec<Excluded>,
    by_class: Vec<(GenClass, Vec<usize>)>,
    features: CpuFeatures,
}

/// Random fills tried per row when probing which rows can be generated at all.
const PROBE: usize = 4000;
/// Attempts per draw before giving up on a row and picking another.
const ATTEMPTS: usize = 400;

/// Registers the random instructions may not use as the base of a memory access.
pub const SANDBOX_REG: u32 = 28;

impl Generator {
    /// Build the generator for `classes`: probe every row of the decode table.
    pub fn new(classes: &[GenClass]) -> Generator {
        let features = CpuFeatures::default();
        let mut rows = Vec::new();
        let mut excluded = Vec::new();
        let mut rng = Rng::new(0x0dd_c0ffee);
        for enc in decode::table() {
            let class = match classify(enc) {
                Ok(c) => c,
                Err(reason) => {
                    excluded.push(Excluded {
                        name: enc.name,
                        reason,
                    });
                    continue;
                }
            };
            if !classes.contains(&class) {
                continue;
            }
            let mut ok = 0usize;
            let mut counts = [0usize; 4];
            for _ in 0..PROBE {
                match candidate(enc, &mut rng, &features) {
                    Ok(_) => ok += 1,
                    Err(r) => counts[r as usize] += 1,
                }
            }
            if ok == 0 {
                let reason = if counts[Reject::Undefined as usize] > 0 {
                    "not implemented by ferrite (lifter: undefined for every probed fill)"
                } else if counts[Reject::EndsBlock as usize] > 0 {
                    "ends the block (branch or trap) for every probed fill"
                } else if counts[Reject::Memory as usize] > 0 {
                    "touches memory outside the load/store space"
                } else {
                    "shadowed: every probed fill decodes to another row"
                };
                excluded.push(Excluded {
                    name: enc.name,
                    reason,
                });
                continue;
            }
            rows.push(Row {
                enc,
                class,
                yield_pct: 100.0 * ok as f64 / PROBE as f64,
                undef_pct: 100.0 * counts[Reject::Undefined as usize] as f64 / PROBE as f64,
            });
        }
        let mut by_class: Vec<(GenClass, Vec<usize>)> = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            match by_class.iter_mut().find(|(c, _)| *c == r.class) {
                Some((_, v)) => v.push(i),
                None => by_class.push((r.class, vec![i])),
            }
        }
        by_class.sort_by_key(|(c, _)| *c);
        Generator {
            rows,
            excluded,
            by_class,
            features,
        }
    }

    /// The classes that have at least one usable row.
    pub fn classes(&self) -> Vec<GenClass> {
        self.by_class.iter().map(|(c, _)| *c).collect()
    }

    /// One random item: a class uniformly among the usable ones, then a row of it.
    pub fn item(&self, rng: &mut Rng) -> Item {
        assert!(
            !self.by_class.is_empty(),
            "no usable rows for these classes"
        );
        loop {
            let (_, idx) = rng.pick(&self.by_class);
            let row = &self.rows[*rng.pick(idx)];
            for _ in 0..ATTEMPTS {
                if let Ok(item) = candidate(row.enc, rng, &self.features) {
                    return item;
                }
            }
        }
    }

    /// `n` random items.
    pub fn items(&self, rng: &mut Rng, n: usize) -> Vec<Item> {
        (0..n).map(|_| self.item(rng)).collect()
    }
}

/// The generator class of a row, or why the row is excluded by policy.
fn classify(enc: &Encoding) -> Result<GenClass, &'static str> {
    let fixed = enc.mask & (1 << 27 | 1 << 25) == (1 << 27 | 1 << 25);
    let mem = fixed && is_memory_space(enc.value);
    Ok(match enc.class {
        Class::Branch => return Err("branch (policy: straight-line code only)"),
        Class::System => return Err("system/exception (policy: no system state changes)"),
        Class::Atomic if mem => GenClass::Atomic,
        Class::LoadStore | Class::Simd if mem => GenClass::Ldst,
        Class::Atomic | Class::LoadStore => {
            return Err("memory row outside the A64 load/store space (harness cannot sandbox)")
        }
        _ if !fixed && enc.mask & (1 << 27) == 0 => {
            return Err("row spans the load/store space (harness cannot sandbox)")
        }
        Class::DpImm | Class::DpReg => GenClass::Integer,
        Class::Fp => GenClass::Fp,
        Class::Simd => GenClass::Simd,
        Class::Crypto => GenClass::Crypto,
    })
}

/// Does ferrite decode and lift `w` (as anything, including a block end)?
pub fn lifts(w: u32, features: &CpuFeatures) -> bool {
    let Some(enc) = decode::decode(w) else {
        return false;
    };
    let mut l = Lifter {
        b: Builder::new(elf::TEXT_BASE),
        pc: elf::TEXT_BASE,
        features,
    };
    (enc.lift)(&mut l, w).is_ok()
}

/// Constrain a word's memory operands to the sandbox (words outside the load/store
/// space are returned as they are): the harness words it needs in front, and the word.
pub fn sandboxed(mut w: u32, rng: &mut Rng) -> (Vec<u32>, u32) {
    let mut prefix = Vec::new();
    if !is_memory_space(w) {
        return (prefix, w);
    }
    if w >> 27 & 7 == 0b011 && w >> 24 & 1 == 0 {
        // LDR (literal) / PRFM (literal): imm19 in [-64, 63] words, inside the
        // harness's code segment (see `elf`).
        let imm = (rng.below(128) as i32 - 64) as u32 & 0x7ffff;
        w = w & !(0x7ffff << 5) | imm << 5;
    } else {
        w = w & !(31 << 5) | SANDBOX_REG << 5;
        let k = rng.below(elf::X28_SLOTS);
        prefix.extend(asm::mov32(SANDBOX_REG, elf::x28_value(k)));
        if w >> 27 & 7 == 0b111 && w >> 24 & 1 == 0 && w >> 21 & 1 == 1 && w >> 10 & 3 == 2 {
            // Register offset: Rm must not be the base; give it a small value.
            let mut rm = w >> 16 & 31;
            while rm == SANDBOX_REG {
                rm = rng.below(32) as u32;
            }
            w = w & !(31 << 16) | rm << 16;
            if rm != 31 {
                prefix.push(asm::movz(rm, rng.below(4096) as u32, 0));
            }
        }
    }
    (prefix, w)
}

/// Fill `enc`'s don't-care bits at random, constrain memory operands, and check the
/// word decodes back to `enc` and lifts as a straight-line instruction.
fn candidate(
    enc: &'static Encoding,
    rng: &mut Rng,
    features: &CpuFeatures,
) -> Result<Item, Reject> {
    let (prefix, w) = sandboxed(enc.value | (rng.next() as u32 & !enc.mask), rng);
    let mem = is_memory_space(w);
    match decode::decode(w) {
        Some(e) if std::ptr::eq(e, enc) => {}
        _ => return Err(Reject::OtherRow),
    }
    let mut l = Lifter {
        b: Builder::new(elf::TEXT_BASE),
        pc: elf::TEXT_BASE,
        features,
    };
    match (enc.lift)(&mut l, w) {
        Err(LiftError::Undefined) => return Err(Reject::Undefined),
        Ok(Flow::End(_)) => return Err(Reject::EndsBlock),
        Ok(Flow::Next) => {}
    }
    if !mem
        && l.b.block.insts.iter().any(|i| {
            matches!(
                i.op,
                Op::Load { .. } | Op::Store { .. } | Op::LoadV { .. } | Op::StoreV { .. }
            )
        })
    {
        return Err(Reject::Memory);
    }
    Ok(Item { prefix, insn: w })
}

/// How FPCR is chosen for each case (`--fpcr`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FpcrMode {
    /// A random mix of FZ, DN, AHP and rounding modes (0 about a third of the time).
    Random,
    /// This exact value for every case.
    Fixed(u64),
}

impl FpcrMode {
    pub fn parse(s: &str) -> Result<FpcrMode, String> {
        let named = |bits: u64| Ok(FpcrMode::Fixed(bits));
        match s {
            "random" => Ok(FpcrMode::Random),
            "zero" | "default" | "rn" => named(0),
            "rp" => named(1 << 22),
            "rm" => named(2 << 22),
            "rz" => named(3 << 22),
            "fz" => named(1 << 24),
            "dn" => named(1 << 25),
            "ahp" => named(1 << 26),
            "fz16" => named(1 << 19),
            _ => {
                let t = s.trim_start_matches("0x");
                u64::from_str_radix(t, 16)
                    .map(|v| FpcrMode::Fixed(v & FPCR_BITS))
                    .map_err(|_| {
                        format!(
                            "bad --fpcr '{s}': random, zero, rn, rp, rm, rz, fz, dn, ahp, fz16 or a hex value"
                        )
                    })
            }
        }
    }

    fn pick(self, rng: &mut Rng) -> u64 {
        match self {
            FpcrMode::Fixed(v) => v,
            FpcrMode::Random => {
                if rng.chance(1, 3) {
                    return 0;
                }
                let mut v = 0;
                if rng.chance(1, 2) {
                    v |= rng.below(4) << 22;
                }
                // Not FZ16: it is RES0 without FEAT_FP16, which ferrite does not
                // implement (qemu's `max` CPU does), so the FPCR read-back differs.
                for b in [24, 25, 26] {
                    if rng.chance(1, 3) {
                        v |= 1 << b;
                    }
                }
                v
            }
        }
    }
}

/// The FPCR bits the harness sets: AHP, DN, FZ, RMode, FZ16.
pub const FPCR_BITS: u64 = 1 << 26 | 1 << 25 | 1 << 24 | 3 << 22 | 1 << 19;

/// The machine state a case starts from. `x[28]` is unused (X28 is the sandbox base).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    pub x: [u64; 31],
    pub sp: u64,
    /// NZCV in bits 31..28.
    pub nzcv: u64,
    pub fpcr: u64,
    /// Initial FPSR: a random set of the cumulative flags, IXC in half the cases (a
    /// set IXC is what lets ferrite's inline FP fast paths run).
    pub fpsr: u64,
    pub v: [u128; 32],
}

impl State {
    pub fn random(rng: &mut Rng, fpcr: FpcrMode) -> State {
        let mut x = [0u64; 31];
        for (i, r) in x.iter_mut().enumerate() {
            if i != SANDBOX_REG as usize {
                *r = int_value(rng);
            }
        }
        let mut v = [0u128; 32];
        v.iter_mut().for_each(|r| *r = vec_value(rng));
        State {
            x,
            sp: int_value(rng),
            nzcv: rng.below(16) << 28,
            fpcr: fpcr.pick(rng),
            fpsr: random_fpsr(rng),
            v,
        }
    }
}

/// A random set of FPSR's cumulative flags (IOC, DZC, OFC, UFC, IXC, IDC, QC), each
/// with probability 1/2.
fn random_fpsr(rng: &mut Rng) -> u64 {
    const FLAGS: [u64; 7] = [1, 1 << 1, 1 << 2, 1 << 3, 1 << 4, 1 << 7, 1 << 27];
    FLAGS
        .iter()
        .filter(|_| rng.below(2) == 1)
        .fold(0, |a, f| a | f)
}

/// An interesting 64-bit integer.
pub fn int_value(rng: &mut Rng) -> u64 {
    const EDGES: [u64; 14] = [
        0,
        1,
        2,
        u64::MAX,
        u64::MAX - 1,
        i64::MIN as u64,
        i64::MAX as u64,
        0x8000_0000,
        0x7fff_ffff,
        0xffff_ffff,
        0x1_0000_0000,
        0xffff_ffff_8000_0000,
        0x8000,
        0xffff,
    ];
    match rng.below(10) {
        0 => *rng.pick(&EDGES),
        1 => rng.below(64),
        2 => rng.below(64).wrapping_neg(),
        3 => rng.next() as u32 as u64,
        4 => (rng.next() as u32 as i32) as i64 as u64,
        5 => 1u64 << rng.below(64),
        6 => f64_value(rng),
        _ => rng.next(),
    }
}

/// An interesting binary64 bit pattern.
fn f64_value(rng: &mut Rng) -> u64 {
    fp_value(rng, 11, 52)
}

/// An interesting floating-point bit pattern with `e` exponent and `f` fraction bits.
fn fp_value(rng: &mut Rng, e: u32, f: u32) -> u64 {
    let sign = rng.below(2) << (e + f);
    let exp_mask = (1u64 << e) - 1;
    let frac_mask = (1u64 << f) - 1;
    let frac = rng.next() & frac_mask;
    let bias = exp_mask >> 1;
    let v = match rng.below(14) {
        0 => 0,
        1 => exp_mask << f,                                          // infinity
        2 => exp_mask << f | 1 << (f - 1) | frac & (frac_mask >> 1), // quiet NaN
        3 => exp_mask << f | (frac & (frac_mask >> 1)).max(1),       // signalling NaN
        4 => frac.max(1),                                            // subnormal
        5 => 1 << f,                                                 // smallest normal
        6 => (exp_mask - 1) << f | frac_mask,                        // largest finite
        7 => bias << f,                                              // 1.0
        8 => {
            // integer-ish: only the top k fraction bits may be set
            let k = rng.below(f as u64 + 1) as u32;
            (bias + k as u64) << f | frac & !(frac_mask >> k)
        }
        9 => {
            // 2^j + 0.5: ties for rounding to integral
            let j = rng.below(3) as u32;
            (bias + j as u64) << f | 1 << (f - 1 - j)
        }
        10 => (exp_mask - 1 - rng.below(3)) << f | frac, // huge
        11 => (1 + rng.below(3)) << f | frac,            // tiny normal
        12 => ((bias - 1 - rng.below(4)) << f) | frac,   // in (0, 1)
        _ => {
            let lo = bias.saturating_sub(20).max(1);
            let hi = (bias + 20).min(exp_mask - 1);
            (lo + rng.below(hi - lo)) << f | frac
        }
    };
    v | sign
}

/// An interesting 128-bit vector register value.
pub fn vec_value(rng: &mut Rng) -> u128 {
    let (e, f, es) = match rng.below(6) {
        0 => (5, 10, 16),
        1 | 2 => (8, 23, 32),
        3 | 4 => (11, 52, 64),
        _ => {
            let lo = int_value(rng) as u128;
            return lo | (int_value(rng) as u128) << 64;
        }
    };
    let mut r = 0u128;
    for i in 0..128 / es {
        let lane = if rng.chance(1, 8) {
            rng.next() & (u64::MAX >> (64 - es))
        } else {
            fp_value(rng, e, f)
        };
        r |= (lane as u128) << (i * es);
    }
    r
}

/// One test case: a start state and the items to run from it.
#[derive(Clone, Debug)]
pub struct Case {
    /// Index of the case in its run (with the seed, enough to regenerate it).
    pub index: u64,
    pub state: State,
    pub items: Vec<Item>,
}

impl Case {
    /// Case `index` of the run with `seed`: the same arguments give the same case.
    pub fn generate(gen: &Generator, seed: u64, index: u64, len: usize, fpcr: FpcrMode) -> Case {
        let mut rng = Rng::derive(seed, index);
        let state = State::random(&mut rng, fpcr);
        let items = gen.items(&mut rng, len);
        Case {
            index,
            state,
            items,
        }
    }
}

/// Bytes the sandbox starts with in a batch seeded with `seed`.
pub fn sandbox_image(seed: u64) -> Vec<u8> {
    let mut rng = Rng::derive(seed, 0x5a4d_b0c5);
    let mut v = Vec::with_capacity(elf::SB_SIZE);
    while v.len() < elf::SB_SIZE {
        let x = match rng.below(4) {
            0 => int_value(&mut rng),
            1 => f64_value(&mut rng),
            2 => fp_value(&mut rng, 8, 23) | fp_value(&mut rng, 8, 23) << 32,
            _ => rng.next(),
        };
        v.extend_from_slice(&x.to_le_bytes());
    }
    v
}
