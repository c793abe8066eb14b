//! Codegen pins: small A64 blocks and the exact x86-64 code the backend emits for them
//! (user mode's lowering), disassembled with `iced-x86`. Each case's expected listing
//! and host instruction count live in `tests/codegen/<name>.txt`; a lost optimisation
//! (flag fusion, address folding, register allocation, the one-instruction memory
//! access) changes the listing and fails here.
//!
//! After an intended change of the generated code, regenerate the files with
//! `FERRITE_BLESS=1 cargo test --release --test codegen` and review the diff.

use std::path::PathBuf;

use ferrite::arm64::lift::{self, CpuFeatures};
use ferrite::ir::{opt, Ctx};
use ferrite::x64::{self, disas, Identity, Runtime};

/// Where the block is placed, and the runtime addresses it refers to (fixed, so that
/// listings do not depend on where a real code cache lands).
const BASE: usize = 0x1000_0000;
const RT: Runtime = Runtime {
    epilogue: 0x0fff_0000,
    jump_table: 0x2000_0000,
    cache_base: 0x0800_0000,
    self_loops: true,
};
/// The guest address of each case's first instruction.
const PC: u64 = 0x40_0000;

/// (name, what it pins, A64 words). The block ends where the words end (it chains
/// to the next address). Cases are compiled for context 0 unless listed in
/// [`UNTAG_CASES`].
const CASES: &[(&str, &str, &[u32])] = &[
    (
        "cmp_bne",
        "flag fusion: cmp x1, x2; b.ne becomes cmp + jne, NZCV stored on both exits",
        &[0xeb02_003f, 0x5400_0041],
    ),
    (
        "subs_csel",
        "flag fusion: subs w0, w1, #1; csel x3, x4, x5, gt redoes the cmp for setg, then cmove",
        &[0x7100_0420, 0x9a85_c083],
    ),
    (
        "ldr_shifted_index",
        "address folding: ldr x0, [x1, x2, lsl #3] is one load through lea",
        &[0xf862_7820],
    ),
    (
        "ldr_imm_str_imm",
        "address folding and the one-instruction access: ldr x0, [x1, #16]; str x0, [x1, #24]",
        &[0xf940_0820, 0xf900_0c20],
    ),
    (
        "add_chain",
        "register allocation: add x0, x1, x2; add x0, x0, x3; eor x4, x0, x1 keep values in registers",
        &[0x8b02_0020, 0x8b03_0000, 0xca01_0004],
    ),
    (
        "ldp_stp",
        "pairs: ldp x0, x1, [sp, #16]; stp x0, x1, [sp, #32]",
        &[0xa941_07e0, 0xa902_07e0],
    ),
    (
        "stlr_ldar",
        "ordering: stlr x0, [x1] is an xchg, ldar x2, [x3] a plain load",
        &[0xc89f_fc20, 0xc8df_fc62],
    ),
    (
        "ldr_q_str_q",
        "vector accesses: ldr q0, [x0]; str q0, [x1]",
        &[0x3dc0_0000, 0x3d80_0020],
    ),
    (
        "ldr_untag",
        "user mode's context with Top Byte Ignore inline: ldr x0, [x1, #16] untags first",
        &[0xf940_0820],
    ),
    (
        "tbnz_loop",
        "test-and-branch: ands w2, w2, #1; tbnz w2, #0 back (a self-loop: x2 stays in a host register)",
        &[0x7200_0042, 0x3707_ffe2],
    ),
    (
        "self_loop_sum",
        "a self-loop: ldrb w3, [x1], #1; add x0, x0, x3; cmp x1, x2; b.ne back carries x0 and x1 in host \
         registers to the loop head, stores every SetReg, checks interrupts on the back edge",
        &[0x3840_1423, 0x8b03_0000, 0xeb02_003f, 0x54ff_ffa1],
    ),
];

/// Cases compiled for user mode's context with [`Identity::UNTAG`].
const UNTAG_CASES: &[&str] = &["ldr_untag"];

fn compile_case(name: &str, words: &[u32]) -> (Vec<String>, usize) {
    let ctx = if UNTAG_CASES.contains(&name) {
        Ctx(Identity::UNTAG as u32)
    } else {
        Ctx::default()
    };
    let features = CpuFeatures::default();
    let mut fetch = |a: u64| {
        let i = a.checked_sub(PC)? / 4;
        words.get(i as usize).copied()
    };
    let mut ir = lift::translate(PC, ctx, &features, &mut fetch, &mut |_, _| {});
    opt::optimize(&mut ir);
    let c = x64::compile(&ir, BASE, RT, &Identity);
    let lines = disas::listing(&c.code, BASE as u64);
    let n = lines.len();
    (lines, n)
}

fn render(name: &str, what: &str, words: &[u32]) -> String {
    let (lines, n) = compile_case(name, words);
    let mut s = format!("# {name}: {what}\n# A64:");
    for w in words {
        s += &format!(" {w:08x}");
    }
    s += "\n";
    for l in lines {
        s += &l;
        s.push('\n');
    }
    s += &format!("# {n} host instructions\n");
    s
}

#[test]
fn codegen_matches_pinned_listings() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/codegen");
    let bless = std::env::var_os("FERRITE_BLESS").is_some();
    let mut failures = Vec::new();
    for (name, what, words) in CASES {
        let got = render(name, what, words);
        let path = dir.join(format!("{name}.txt"));
        if bless {
            std::fs::write(&path, &got).expect("write pinned listing");
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        if want != got {
            failures.push(format!(
                "--- {} (expected)\n{want}+++ generated now\n{got}",
                path.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "generated code differs from the pinned listings (FERRITE_BLESS=1 regenerates them after an intended change):\n{}",
        failures.join("\n")
    );
}

/// The pinned files and the case table agree (no stale or missing files).
#[test]
fn codegen_files_match_cases() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/codegen");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/codegen")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".txt"))
        .collect();
    files.sort();
    let mut names: Vec<String> = CASES.iter().map(|(n, _, _)| format!("{n}.txt")).collect();
    names.sort();
    assert_eq!(files, names);
}
