//! ferrite-aarch64 as cargo's runner, following README.md ("As cargo's runner"): the
//! in-repo crate `tests/cargo-runner/` (no dependencies) is cross-compiled for
//! `aarch64-unknown-linux-gnu`, linked with `aarch64-linux-gnu-gcc`, and its unit tests
//! run with `CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="ferrite-aarch64 -L
//! /usr/aarch64-linux-gnu"`. The test checks that every unit test ran and passed, that one
//! of them saw `uname -m` = aarch64 and the marker variable ferrite's `-E` set (so the
//! tests ran under ferrite, not through a binfmt_misc entry of another emulator), and
//! that a test which fails on purpose is reported as failed with a non-zero exit.
//!
//! Skipped loudly (a failure under `FERRITE_REQUIRE_ALL`) when the Rust target cannot be
//! found (`rustup target add aarch64-unknown-linux-gnu`; scripts/setup does it when rustup
//! exists) or the cross linker is missing.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const FERRITE: &str = env!("CARGO_BIN_EXE_ferrite-aarch64");
const TARGET: &str = "aarch64-unknown-linux-gnu";
const SYSROOT: &str = "/usr/aarch64-linux-gnu";
const MARKER: &str = "CARGO_RUNNER_DEMO_RUNNER";

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Whether rustc has the standard library for `TARGET`.
fn target_installed() -> Result<(), String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", TARGET])
        .output()
        .map_err(|e| format!("cannot run {rustc}: {e}"))?;
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let has_std = std::fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("libstd-"))
        })
        .unwrap_or(false);
    if out.status.success() && has_std {
        Ok(())
    } else {
        Err(format!(
            "the Rust standard library for {TARGET} is not installed \
             (`rustup target add {TARGET}`; scripts/setup runs it when rustup exists)"
        ))
    }
}

/// `cargo test --target aarch64-unknown-linux-gnu` on the demo crate with ferrite as runner.
fn cargo_test(target_dir: &Path, test_args: &[&str]) -> Output {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cargo-runner/Cargo.toml");
    let mut c = Command::new(cargo());
    c.args(["test", "--offline", "--target", TARGET, "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(target_dir)
        .arg("--")
        .args(test_args)
        .env(
            "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER",
            "aarch64-linux-gnu-gcc",
        )
        .env(
            "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER",
            format!("{FERRITE} -L {SYSROOT} -E {MARKER}=ferrite"),
        )
        // what the outer `cargo test` put there is not for the inner build
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUST_BACKTRACE");
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("FERRITE_") || k.starts_with("QEMU_") {
            c.env_remove(k);
        }
    }
    c.output().expect("run cargo")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn cargo_test_runs_through_ferrite() {
    if let Err(why) = target_installed() {
        common::debs::skip("cargo_runner", &why);
        return;
    }
    let have_linker = Command::new("aarch64-linux-gnu-gcc")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_linker {
        common::debs::skip(
            "cargo_runner",
            "aarch64-linux-gnu-gcc not found (scripts/setup installs gcc-aarch64-linux-gnu)",
        );
        return;
    }
    let target_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cargo-runner");

    let o = cargo_test(&target_dir, &["--nocapture"]);
    let t = text(&o);
    assert!(
        o.status.success(),
        "cargo test through ferrite failed:\n{t}"
    );
    for name in [
        "crc32_known_answers",
        "parses_and_sums",
        "square_roots",
        "threads_join",
        "panics_unwind - should panic",
        "runs_as_arm64",
    ] {
        assert!(
            t.contains(&format!("test tests::{name} ... ok")),
            "tests::{name} did not pass:\n{t}"
        );
    }
    assert!(
        t.contains("test tests::deliberately_fails ... ignored"),
        "the ignored test is not listed:\n{t}"
    );
    assert!(
        t.contains("test result: ok. 6 passed; 0 failed; 1 ignored"),
        "unexpected totals:\n{t}"
    );
    assert!(
        t.contains("cargo-runner-demo: machine=aarch64 runner=ferrite"),
        "the tests did not run as arm64 code under ferrite:\n{t}"
    );

    // A failing test must come back as a failure, through ferrite's exit status.
    let o = cargo_test(
        &target_dir,
        &["--ignored", "--exact", "tests::deliberately_fails"],
    );
    let t = text(&o);
    assert!(!o.status.success(), "a failing test passed:\n{t}");
    assert!(
        t.contains("test tests::deliberately_fails ... FAILED")
            && t.contains("this test fails on purpose")
            && t.contains("test result: FAILED. 0 passed; 1 failed"),
        "the deliberate failure is not reported:\n{t}"
    );
}
