//! `ferrite-difftest`: the random-instruction differential tester behind
//! `scripts/difftest` (a development tool, not installed for users).
//!
//! Generates random A64 instruction sequences from ferrite's decode table, runs them
//! under `ferrite-aarch64` and `qemu-aarch64-static`, compares the final register,
//! flag, FP status and memory state, shrinks every mismatch to a minimal reproducer
//! and prints it. Exits 0 only when no mismatch is left unexplained by
//! `tests/difftest/known-qemu-bugs.md`; the last line printed is a one-line summary.
//! The machinery lives in `tests/difftest/` and is shared with `tests/difftest.rs`.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

#[path = "../../tests/difftest/mod.rs"]
mod difftest;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use difftest::gen::{FpcrMode, GenClass, Generator};
use difftest::{Config, Tools};

const USAGE: &str = "\
usage: scripts/difftest [options]
  --seed N          run seed (default 1)
  --count M         random instructions in total (default 10000)
  --len L           random instructions per case (default 100)
  --class LIST      comma-separated: integer,fp,simd,ldst,atomic,crypto or all (default all)
  --fpcr MODE       random (default), zero, rn, rp, rm, rz, fz, dn, ahp, fz16, or a hex value
  --case K          run only case K of this seed (reproduce a report)
  --batch B         cases per program (default 50)
  --jobs J          programs in flight (default: half the CPUs, at least 1)
  --max-reports R   mismatching cases shrunk and reported in full (default 20)
  --timeout S       seconds per program (default 60)
  --ferrite PATH    ferrite-aarch64 to test (default: next to this binary)
  --work-dir DIR    programs and reproducers (default: target/difftest)
  --list-rows       list usable and excluded decode-table rows and exit
  --unimplemented N survey: run N words ferrite does not lift under qemu alone and
                    list (by objdump mnemonic) those qemu executes
  -q, --quiet       only mismatch reports and the summary";

fn main() -> ExitCode {
    match real_main() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("ferrite-difftest: {e}");
            ExitCode::from(2)
        }
    }
}

fn real_main() -> Result<bool, String> {
    let mut seed = 1u64;
    let mut count = 10_000usize;
    let mut len = 100usize;
    let mut classes = GenClass::ALL.to_vec();
    let mut fpcr = FpcrMode::Random;
    let mut only_case = None;
    let mut batch = 50usize;
    let mut jobs = std::thread::available_parallelism()
        .map(|n| (n.get() / 2).max(1))
        .unwrap_or(1);
    let mut max_reports = 20usize;
    let mut timeout = 60u64;
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(PathBuf::from))
        .unwrap_or_default();
    let mut ferrite = exe_dir.join("ferrite-aarch64");
    let mut work_dir = exe_dir
        .parent()
        .map(|t| t.join("difftest"))
        .unwrap_or_else(|| PathBuf::from("difftest-work"));
    let mut list_rows = false;
    let mut survey = None;
    let mut quiet = false;

    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let mut val = || -> Result<String, String> {
            i += 1;
            args.get(i)
                .cloned()
                .ok_or_else(|| format!("{a} needs a value\n{USAGE}"))
        };
        let num = |s: String| -> Result<u64, String> {
            let r = match s.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16),
                None => s.parse(),
            };
            r.map_err(|_| format!("{a}: not a number: {s}"))
        };
        match a {
            "--seed" => seed = num(val()?)?,
            "--count" => count = num(val()?)? as usize,
            "--len" => len = (num(val()?)? as usize).max(1),
            "--class" => classes = GenClass::parse_list(&val()?)?,
            "--fpcr" => fpcr = FpcrMode::parse(&val()?)?,
            "--case" => only_case = Some(num(val()?)?),
            "--batch" => batch = (num(val()?)? as usize).max(1),
            "--jobs" => jobs = (num(val()?)? as usize).max(1),
            "--max-reports" => max_reports = num(val()?)? as usize,
            "--timeout" => timeout = num(val()?)?.max(1),
            "--ferrite" => ferrite = PathBuf::from(val()?),
            "--work-dir" => work_dir = PathBuf::from(val()?),
            "--list-rows" => list_rows = true,
            "--unimplemented" => survey = Some(num(val()?)? as usize),
            "-q" | "--quiet" => quiet = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(true);
            }
            _ => return Err(format!("unknown option {a}\n{USAGE}")),
        }
        i += 1;
    }

    if list_rows {
        let gen = Generator::new(&classes);
        for r in &gen.rows {
            println!(
                "use   {:<8} usable {:5.1}%  undefined {:5.1}%  {}",
                r.class.name(),
                r.yield_pct,
                r.undef_pct,
                r.enc.name
            );
        }
        println!("(percentages of random fills of the row's don't-care bits; `undefined` = the lifter\n raises SIGILL: unallocated encodings, or ones ferrite does not implement)");
        for e in &gen.excluded {
            println!("skip  {}: {}", e.name, e.reason);
        }
        println!(
            "{} rows usable, {} excluded",
            gen.rows.len(),
            gen.excluded.len()
        );
        return Ok(true);
    }

    let tools = Tools::find(ferrite)?;
    let cfg = Config {
        seed,
        count,
        len,
        classes,
        fpcr,
        batch,
        jobs,
        only_case,
        max_reports,
        work_dir,
        timeout: Duration::from_secs(timeout),
        known_bugs: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/difftest/known-qemu-bugs.md"),
        tools,
    };
    let progress = |s: &str| {
        if !quiet || s.starts_with("===") {
            println!("{s}");
        }
    };
    if let Some(n) = survey {
        print!("{}", difftest::survey_unimplemented(&cfg, n, &progress)?);
        return Ok(true);
    }
    let summary = difftest::run(&cfg, &progress)?;
    print!("{}", summary.excluded_text());
    println!("{}", summary.line(seed));
    Ok(summary.ok())
}
