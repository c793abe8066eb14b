//! The harness program: a tiny static arm64 ELF written byte by byte (no assembler
//! needed) that runs a batch of cases and writes each one's final state to stdout.
//!
//! Memory map (all below 4 GiB, so an address is two `MOVZ`/`MOVK` words):
//!
//! ```text
//! TEXT_BASE   R+X  ELF header, program headers, code, 512 bytes of random padding
//! DATA_BASE   RW   dump page: the register dump sits at SB_ADDR - DUMP_SIZE
//! SB_ADDR     RW   the sandbox (SB_SIZE bytes) every random memory access stays in
//!             RW   the sandbox's initial image, then one state record per case
//! ```
//!
//! Per case the code (1) copies the initial image over the sandbox, (2) clears the
//! exclusive monitor and loads V0–V31,
//! FPCR, FPSR, NZCV, SP, X0–X27, X29, X30 from the case's record and sets X28 to
//! the sandbox pointer, (3) runs the items, (4) stores X0–X27, X29, X30, SP, NZCV,
//! FPSR, FPCR, V0–V31 to the dump area (X28 is the dump pointer, so its final value is
//! not compared) and (5) `write(1, dump, DUMP_SIZE + SB_SIZE)`: registers followed by
//! the whole sandbox. After the last case it calls `exit_group(0)`.
//!
//! The sandbox and dump addresses are the same in every program, so a case behaves
//! the same alone (while shrinking) as inside a batch.

use super::gen::{asm, Case, Item, SANDBOX_REG};

/// Where the code segment is mapped.
pub const TEXT_BASE: u64 = 0x40_0000;
/// Where the data segment is mapped.
pub const DATA_BASE: u64 = 0x1000_0000;
/// Sandbox size: covers every scaled 12-bit unsigned offset (up to 65520 + 16 bytes)
/// from the highest X28 and the most negative pair offset (-1024) from the lowest.
pub const SB_SIZE: usize = 0x12000;
/// Start of the sandbox.
pub const SB_ADDR: u64 = DATA_BASE + 0x1000;
/// Bytes of register state per case: X0–X27, X29, X30, SP, NZCV, FPSR, FPCR, V0–V31.
pub const DUMP_SIZE: usize = 30 * 8 + 4 * 8 + 32 * 16;
/// Where the register dump goes (directly followed by the sandbox).
pub const DUMP_ADDR: u64 = SB_ADDR - DUMP_SIZE as u64;
/// Bytes written per case.
pub const OUT_SIZE: usize = DUMP_SIZE + SB_SIZE;
/// Number of distinct X28 values (16 bytes apart) the generator uses.
pub const X28_SLOTS: u64 = 64;
/// Bytes per state record: V0–V31, FPCR, NZCV, SP, X0–X27, X29, X30, padding.
const REC_SIZE: usize = 32 * 16 + 4 * 8 + 30 * 8;
/// File offset (and offset from TEXT_BASE) of the first instruction.
const CODE_OFF: usize = 0x100;
/// Random bytes after the code, so literal loads near the end stay in the segment.
const TAIL_PAD: usize = 512;

/// The `k`th X28 value: 4 KiB into the sandbox plus `16 * k`.
pub fn x28_value(k: u64) -> u64 {
    SB_ADDR + 0x1000 + 16 * k
}

/// Offsets of things inside the image, for reports.
pub struct Layout {
    /// Guest address of each case's first item instruction.
    pub case_pc: Vec<u64>,
}

/// Build the program for `cases` (each with its own item list), the sandbox starting
/// as `image` (SB_SIZE bytes) in every case.
pub fn build(cases: &[(&Case, &[Item])], image: &[u8], pad_seed: u64) -> (Vec<u8>, Layout) {
    assert_eq!(image.len(), SB_SIZE);
    let image_addr = SB_ADDR + SB_SIZE as u64;
    let rec_base = image_addr + SB_SIZE as u64;

    // ---- code ----
    let mut code: Vec<u32> = Vec::new();
    let mut case_pc = Vec::new();
    let x = |v: &mut Vec<u32>, words: &[u32]| v.extend_from_slice(words);
    for (i, (case, items)) in cases.iter().enumerate() {
        // (1) sandbox := image
        x(&mut code, &asm::mov32(0, image_addr));
        x(&mut code, &asm::mov32(1, SB_ADDR));
        x(&mut code, &asm::mov32(2, SB_SIZE as u64));
        x(
            &mut code,
            &[
                asm::ldp_q_post(0, 1, 0, 32),
                asm::stp_q_post(0, 1, 1, 32),
                asm::subs_imm(2, 2, 32),
                asm::b_ne(-12),
            ],
        );
        // (2) registers from the record, and a clear exclusive monitor (a case's
        // store-exclusive must not depend on the previous case's load-exclusive)
        code.push(asm::clrex());
        let rec = rec_base + (i * REC_SIZE) as u64;
        x(&mut code, &asm::mov32(SANDBOX_REG, rec));
        for r in 0..16 {
            code.push(asm::ldp_q_post(2 * r, 2 * r + 1, SANDBOX_REG, 32));
        }
        x(
            &mut code,
            &[
                asm::ldr_x_post(0, SANDBOX_REG, 8),
                asm::msr_fpcr(0),
                asm::ldr_x_post(0, SANDBOX_REG, 8),
                asm::msr_fpsr(0),
                asm::ldr_x_post(0, SANDBOX_REG, 8),
                asm::msr_nzcv(0),
                asm::ldr_x_post(0, SANDBOX_REG, 8),
                asm::mov_to_sp(0),
            ],
        );
        for r in 0..14 {
            code.push(asm::ldp_x_post(2 * r, 2 * r + 1, SANDBOX_REG, 16));
        }
        code.push(asm::ldp_x_post(29, 30, SANDBOX_REG, 16));
        x(&mut code, &asm::mov32(SANDBOX_REG, x28_value(0)));
        let _ = case;
        // (3) the items
        case_pc.push(TEXT_BASE + (CODE_OFF + 4 * code.len()) as u64);
        for it in items.iter() {
            code.extend(it.words());
        }
        // (4) dump
        x(&mut code, &asm::mov32(SANDBOX_REG, DUMP_ADDR));
        for r in 0..14 {
            code.push(asm::stp_x_post(2 * r, 2 * r + 1, SANDBOX_REG, 16));
        }
        x(
            &mut code,
            &[
                asm::stp_x_post(29, 30, SANDBOX_REG, 16),
                asm::mov_from_sp(0),
                asm::mrs_nzcv(1),
                asm::stp_x_post(0, 1, SANDBOX_REG, 16),
                asm::mrs_fpsr(0),
                asm::mrs_fpcr(1),
                asm::stp_x_post(0, 1, SANDBOX_REG, 16),
            ],
        );
        for r in 0..16 {
            code.push(asm::stp_q_post(2 * r, 2 * r + 1, SANDBOX_REG, 32));
        }
        // (5) write(1, dump, OUT_SIZE)
        code.push(asm::movz(0, 1, 0));
        x(&mut code, &asm::mov32(1, DUMP_ADDR));
        x(&mut code, &asm::mov32(2, OUT_SIZE as u64));
        x(&mut code, &[asm::movz(8, 64, 0), asm::SVC0]);
    }
    // exit_group(0)
    x(
        &mut code,
        &[asm::movz(0, 0, 0), asm::movz(8, 94, 0), asm::SVC0],
    );

    // ---- data ----
    let mut data = vec![0u8; (rec_base - DATA_BASE) as usize];
    let img_off = (image_addr - DATA_BASE) as usize;
    data[img_off..img_off + SB_SIZE].copy_from_slice(image);
    for (case, _) in cases {
        let s = &case.state;
        let start = data.len();
        for v in &s.v {
            data.extend_from_slice(&v.to_le_bytes());
        }
        for q in [s.fpcr, s.fpsr, s.nzcv, s.sp] {
            data.extend_from_slice(&q.to_le_bytes());
        }
        for r in (0..28).chain([29, 30]) {
            data.extend_from_slice(&s.x[r].to_le_bytes());
        }
        data.resize(start + REC_SIZE, 0);
    }

    // ---- file ----
    let mut text = vec![0u8; CODE_OFF];
    for w in &code {
        text.extend_from_slice(&w.to_le_bytes());
    }
    let mut pad = super::gen::Rng::derive(pad_seed, 0x7a11);
    for _ in 0..TAIL_PAD / 8 {
        text.extend_from_slice(&pad.next().to_le_bytes());
    }
    let text_len = text.len();
    let data_off = (text_len + 0xfff) & !0xfff;
    assert!(TEXT_BASE + (data_off as u64) < DATA_BASE, "code too large");
    let mut f = text;
    let h = &mut f[..CODE_OFF];
    let put =
        |h: &mut [u8], off: usize, bytes: &[u8]| h[off..off + bytes.len()].copy_from_slice(bytes);
    put(h, 0, b"\x7fELF\x02\x01\x01\x00");
    put(h, 16, &2u16.to_le_bytes()); // ET_EXEC
    put(h, 18, &183u16.to_le_bytes()); // EM_AARCH64
    put(h, 20, &1u32.to_le_bytes());
    put(h, 24, &(TEXT_BASE + CODE_OFF as u64).to_le_bytes()); // e_entry
    put(h, 32, &64u64.to_le_bytes()); // e_phoff
    put(h, 52, &64u16.to_le_bytes()); // e_ehsize
    put(h, 54, &56u16.to_le_bytes()); // e_phentsize
    put(h, 56, &2u16.to_le_bytes()); // e_phnum
    let phdr = |h: &mut [u8], at: usize, flags: u32, off: u64, vaddr: u64, size: u64| {
        put(h, at, &1u32.to_le_bytes()); // PT_LOAD
        put(h, at + 4, &flags.to_le_bytes());
        put(h, at + 8, &off.to_le_bytes());
        put(h, at + 16, &vaddr.to_le_bytes());
        put(h, at + 24, &vaddr.to_le_bytes());
        put(h, at + 32, &size.to_le_bytes());
        put(h, at + 40, &size.to_le_bytes());
        put(h, at + 48, &0x1000u64.to_le_bytes());
    };
    phdr(h, 64, 5, 0, TEXT_BASE, text_len as u64); // R+X
    phdr(h, 120, 6, data_off as u64, DATA_BASE, data.len() as u64); // R+W
    f.resize(data_off, 0);
    f.extend_from_slice(&data);
    (f, Layout { case_pc })
}

/// One case's final state, parsed from its `OUT_SIZE` bytes of output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dump {
    /// X0–X30; `x[28]` is always 0 (not observable).
    pub x: [u64; 31],
    pub sp: u64,
    pub nzcv: u64,
    pub fpsr: u64,
    pub fpcr: u64,
    pub v: [u128; 32],
    pub mem: Vec<u8>,
}

impl Dump {
    pub fn parse(b: &[u8]) -> Dump {
        assert_eq!(b.len(), OUT_SIZE);
        let q = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap());
        let mut x = [0u64; 31];
        for (k, r) in (0..28).chain([29, 30]).enumerate() {
            x[r] = q(k);
        }
        let mut v = [0u128; 32];
        for (r, val) in v.iter_mut().enumerate() {
            *val = q(34 + 2 * r) as u128 | (q(35 + 2 * r) as u128) << 64;
        }
        Dump {
            x,
            sp: q(30),
            nzcv: q(31),
            fpsr: q(32),
            fpcr: q(33),
            v,
            mem: b[DUMP_SIZE..].to_vec(),
        }
    }
}
