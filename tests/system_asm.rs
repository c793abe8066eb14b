//! Bare-metal arm64 programs (`tests/system/*.S`) under `ferrite-system-aarch64` and
//! under `qemu-system-aarch64 -M virt` as the oracle: the UART output and the exit
//! status must be the same, byte for byte.
//!
//! Each program is built with `aarch64-linux-gnu-gcc -nostdlib -static
//! -Ttext=0x40080000` (with `tests/system/uart.inc` for its print routines), turned into
//! a raw binary with `objcopy -O binary -j .text`, and loaded with `-kernel`: both
//! machines place a raw binary at RAM + 0x80000 = 0x40080000 and enter it at EL1 with
//! the MMU off and x0 = the device tree's address. Programs print their results on the
//! PL011 and end with PSCI SYSTEM_OFF (exit status 0).
//!
//! Both run with `-M virt -cpu max -nographic -no-reboot -m 128M`; QEMU also gets
//! `-nic none` (its default network card needs a ROM file Debian ships separately;
//! the programs never touch it). `FERRITE_SYSTEM_ASM_FILTER=name` runs only the
//! programs whose name contains `name`. Needs `aarch64-linux-gnu-gcc` and
//! `qemu-system-aarch64` (Debian `gcc-aarch64-linux-gnu`, `qemu-system-arm`), which
//! `scripts/setup` installs.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(20);

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/system")
}

fn out_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("system-asm");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Build `name.S` into a raw binary; panics with the compiler's message on failure.
fn build(name: &str) -> PathBuf {
    let dir = out_dir();
    let elf = dir.join(format!("{name}.elf"));
    let bin = dir.join(format!("{name}.bin"));
    let out = Command::new("aarch64-linux-gnu-gcc")
        .args([
            "-nostdlib",
            "-static",
            "-Wl,--build-id=none",
            "-Ttext=0x40080000",
        ])
        .arg("-I")
        .arg(src_dir())
        .arg("-o")
        .arg(&elf)
        .arg(src_dir().join(format!("{name}.S")))
        .output()
        .expect("run aarch64-linux-gnu-gcc");
    assert!(
        out.status.success(),
        "building {name}.S failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new("aarch64-linux-gnu-objcopy")
        .args(["-O", "binary", "-j", ".text"])
        .arg(&elf)
        .arg(&bin)
        .output()
        .expect("run aarch64-linux-gnu-objcopy");
    assert!(
        out.status.success(),
        "objcopy of {name} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    bin
}

const MACHINE: &[&str] = &[
    "-M",
    "virt",
    "-cpu",
    "max",
    "-nographic",
    "-no-reboot",
    "-m",
    "128M",
];

fn run(prog: &str, extra: &[&str], bin: &Path) -> Output {
    let mut c = Command::new(prog);
    c.args(MACHINE).args(extra).arg("-kernel").arg(bin);
    common::debs::run(&mut c, TIMEOUT).unwrap_or_else(|e| panic!("{prog}: {e}"))
}

/// Every program in tests/system, by name.
fn programs() -> Vec<String> {
    let filter = std::env::var("FERRITE_SYSTEM_ASM_FILTER").unwrap_or_default();
    let mut v: Vec<String> = std::fs::read_dir(src_dir())
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path();
            (p.extension()? == "S").then(|| p.file_stem()?.to_str().map(String::from))?
        })
        .filter(|n| n.contains(&filter))
        .collect();
    v.sort();
    v
}

#[test]
fn bare_metal_programs_match_qemu() {
    for (tool, pkg) in [
        ("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu"),
        ("qemu-system-aarch64", "qemu-system-arm"),
    ] {
        if !have(tool) {
            common::skip_part(
                "system_asm",
                &format!("{tool} not found (Debian package {pkg}; scripts/setup installs it)"),
            );
            return;
        }
    }
    let mut failures = Vec::new();
    for name in programs() {
        let bin = build(&name);
        let ours = run(env!("CARGO_BIN_EXE_ferrite-system-aarch64"), &[], &bin);
        let qemu = run("qemu-system-aarch64", &["-nic", "none"], &bin);
        let show = |o: &Output| {
            format!(
                "status {:?}\n--- stdout ---\n{}--- stderr ---\n{}",
                o.status.code(),
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
        };
        if ours.stdout != qemu.stdout || ours.status.code() != qemu.status.code() {
            failures.push(format!(
                "{name}: ferrite and qemu differ\n=== ferrite: {}\n=== qemu: {}",
                show(&ours),
                show(&qemu)
            ));
        } else if qemu.stdout.is_empty() {
            failures.push(format!("{name}: printed nothing (under qemu too)"));
        } else {
            eprintln!("{name}: ok ({} bytes)", qemu.stdout.len());
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
