//! Differential test against `qemu-aarch64-static` in the default suite: a fixed-seed
//! run of random A64 instructions from every generated class (integer, FP, SIMD,
//! loads/stores, atomics) under ferrite and qemu; any mismatch not explained by
//! `tests/difftest/known-qemu-bugs.md` fails with its shrunk reproducer. Longer runs:
//! `scripts/difftest --seed N --count M`. Also checks the harness itself: its hand
//! encoded instructions, the known-bugs file, and that a planted difference is found
//! and shrunk.

#[path = "difftest/mod.rs"]
mod difftest;

use std::path::PathBuf;
use std::time::Duration;

use difftest::gen::{asm, FpcrMode, GenClass, Generator, Rng};
use difftest::{Config, Tools};

/// Seed of the default-suite run (change it only together with a reviewed run).
const SEED: u64 = 0x00fe_2217e;
/// Random instructions in the default-suite run.
const COUNT: usize = 100_000;

fn tools() -> Tools {
    let ferrite = PathBuf::from(env!("CARGO_BIN_EXE_ferrite-aarch64"));
    match Tools::find(ferrite) {
        Ok(t) => t,
        Err(e) => panic!("{e}\n(run scripts/setup to install qemu-user-static)"),
    }
}

fn config(tools: Tools, tag: &str) -> Config {
    Config {
        seed: SEED,
        count: COUNT,
        len: 100,
        classes: GenClass::ALL.to_vec(),
        fpcr: FpcrMode::Random,
        batch: 50,
        jobs: std::thread::available_parallelism()
            .map(|n| (n.get() / 2).max(1))
            .unwrap_or(1),
        only_case: None,
        max_reports: 20,
        work_dir: PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("difftest-{tag}")),
        timeout: Duration::from_secs(120),
        known_bugs: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/difftest/known-qemu-bugs.md"),
        tools,
    }
}

/// The fixed-seed run: every class, random FPCR, 100 instructions per program.
#[test]
fn random_instructions_match_qemu() {
    let cfg = config(tools(), "suite");
    let s = difftest::run(&cfg, &|_| {}).unwrap_or_else(|e| panic!("difftest: {e}"));
    let line = s.line(SEED);
    println!("{}{line}", s.excluded_text());
    assert!(s.instructions >= 50_000, "{line}");
    for c in GenClass::ALL {
        if c != GenClass::Crypto {
            assert!(
                s.per_class.get(c.name()).copied().unwrap_or(0) >= 5_000,
                "too few {} instructions: {line}",
                c.name()
            );
        }
    }
    let mut bad = String::new();
    for m in s.mismatches.iter().filter(|m| m.explained_by.is_none()) {
        bad.push_str(&m.report);
    }
    for c in &s.unshrunk {
        bad.push_str(&format!(
            "case {c}: mismatch (not shrunk); reproduce: scripts/difftest {}\n",
            cfg.repro_args(*c)
        ));
    }
    assert!(
        s.ok(),
        "unexplained mismatches against qemu:\n{bad}\n{line}"
    );
}

/// The harness's own instructions encode what they claim (checked with objdump).
#[test]
fn harness_encodings_match_objdump() {
    let t = tools();
    let od = t.objdump.clone().unwrap_or_else(|| {
        panic!(
            "aarch64-linux-gnu-objdump not found: run scripts/setup (binutils-aarch64-linux-gnu)"
        )
    });
    let cases: Vec<(u32, &str)> = vec![
        (asm::movz(28, 0x2370, 0), "mov\tx28, #0x2370"),
        (asm::movk(28, 0x1000, 1), "movk\tx28, #0x1000, lsl #16"),
        (asm::ldp_x_post(29, 30, 28, 16), "ldp\tx29, x30, [x28], #16"),
        (asm::stp_x_post(0, 1, 28, 16), "stp\tx0, x1, [x28], #16"),
        (asm::ldp_q_post(30, 31, 28, 32), "ldp\tq30, q31, [x28], #32"),
        (asm::stp_q_post(0, 1, 1, 32), "stp\tq0, q1, [x1], #32"),
        (asm::ldr_x_post(0, 28, 8), "ldr\tx0, [x28], #8"),
        (asm::msr_fpcr(0), "msr\tfpcr, x0"),
        (asm::msr_fpsr(31), "msr\tfpsr, xzr"),
        (asm::msr_nzcv(0), "msr\tnzcv, x0"),
        (asm::mrs_fpcr(1), "mrs\tx1, fpcr"),
        (asm::mrs_fpsr(0), "mrs\tx0, fpsr"),
        (asm::mrs_nzcv(1), "mrs\tx1, nzcv"),
        (asm::mov_to_sp(0), "mov\tsp, x0"),
        (asm::mov_from_sp(0), "mov\tx0, sp"),
        (asm::subs_imm(2, 2, 32), "subs\tx2, x2, #0x20"),
        (asm::SVC0, "svc\t#0x0"),
    ];
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let bin = dir.join("difftest-asm.bin");
    let bytes: Vec<u8> = cases.iter().flat_map(|(w, _)| w.to_le_bytes()).collect();
    std::fs::write(&bin, bytes).unwrap();
    let out = std::process::Command::new(od)
        .args(["-D", "-b", "binary", "-m", "aarch64"])
        .arg(&bin)
        .output()
        .expect("objdump");
    let text = String::from_utf8_lossy(&out.stdout);
    for (w, want) in &cases {
        let needle = format!("{w:08x} \t{want}");
        assert!(
            text.lines().any(|l| l.contains(&needle)),
            "{w:08x} should be `{want}`; objdump says:\n{text}"
        );
    }
    // b.ne back over the three-instruction copy loop body
    assert_eq!(asm::b_ne(-12), 0x54ff_ffa1);
}

/// The known-bugs list parses, and every entry matches something.
#[test]
fn known_bugs_file_parses() {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/difftest/known-qemu-bugs.md");
    let k = difftest::known::KnownBugs::load(&p).unwrap();
    assert!(!k.entries.is_empty());
    for e in &k.entries {
        assert!(!e.matches.is_empty() && !e.differs.is_empty(), "{}", e.id);
    }
}

/// Generated words decode back to their row, and memory rows use the sandbox base.
#[test]
fn generator_respects_its_constraints() {
    let g = Generator::new(&GenClass::ALL);
    assert!(g.rows.len() > 300, "only {} usable rows", g.rows.len());
    let mut rng = Rng::new(7);
    for _ in 0..20_000 {
        let it = g.item(&mut rng);
        let e = ferrite::arm64::decode::decode(it.insn).expect("decodes");
        assert!(
            g.rows.iter().any(|r| std::ptr::eq(r.enc, e)),
            "{:08x}",
            it.insn
        );
        if difftest::gen::is_memory_space(it.insn) {
            let literal = it.insn >> 27 & 7 == 0b011 && it.insn >> 24 & 1 == 0;
            assert!(literal || it.insn >> 5 & 31 == 28, "{:08x}", it.insn);
        }
    }
}

/// End to end: a "ferrite" that differs (qemu without FEAT_LSE) is caught, and each
/// mismatch shrinks to the single atomic instruction that causes it.
#[test]
fn planted_difference_is_found_and_shrunk() {
    let t = tools();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let fake = dir.join("difftest-fake-ferrite.sh");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\nexec {} -cpu cortex-a57 \"$@\"\n",
            t.qemu.display()
        ),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut cfg = config(Tools { ferrite: fake, ..t }, "planted");
    cfg.classes = vec![GenClass::Atomic];
    cfg.count = 300;
    cfg.len = 30;
    cfg.max_reports = 3;
    let s = difftest::run(&cfg, &|_| {}).unwrap();
    assert!(!s.ok(), "{}", s.line(cfg.seed));
    let m = &s.mismatches[0];
    assert!(m.explained_by.is_none());
    assert_eq!(m.items.len(), 1, "{}", m.report);
    assert!(m.report.contains("did not finish"), "{}", m.report);
}
