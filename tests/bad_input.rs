//! Bad input gets a clear one-line error and a non-zero exit, never a panic; and the
//! smallest possible arm64 programs (built here, byte by byte, so no cross compiler is
//! needed) run with the right exit status.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ferrite() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ferrite-aarch64"))
}

fn tmpdir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("ferrite-bad-input-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write_exec(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

/// A minimal static ELF64 executable: one PT_LOAD (R+X) at 0x400000 holding `code`,
/// and optionally a PT_INTERP naming `interp`.
fn elf(machine: u16, code: &[u32], interp: Option<&str>) -> Vec<u8> {
    let base = 0x40_0000u64;
    let nph = if interp.is_some() { 2 } else { 1 };
    let hdr = 64u64;
    let ph = 56u64;
    let interp_off = hdr + ph * nph;
    let interp_bytes: Vec<u8> = interp
        .map(|s| {
            let mut v = s.as_bytes().to_vec();
            v.push(0);
            v
        })
        .unwrap_or_default();
    let code_off = (interp_off + interp_bytes.len() as u64 + 15) & !15;
    let total = code_off + 4 * code.len() as u64;
    let mut b = Vec::new();
    b.extend_from_slice(b"\x7fELF");
    b.extend_from_slice(&[2, 1, 1, 0]);
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    b.extend_from_slice(&machine.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&(base + code_off).to_le_bytes()); // e_entry
    b.extend_from_slice(&hdr.to_le_bytes()); // e_phoff
    b.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    b.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    b.extend_from_slice(&(hdr as u16).to_le_bytes());
    b.extend_from_slice(&(ph as u16).to_le_bytes());
    b.extend_from_slice(&(nph as u16).to_le_bytes());
    b.extend_from_slice(&[0; 6]); // shentsize, shnum, shstrndx
    assert_eq!(b.len(), 64);
    let mut phdr = |ty: u32, flags: u32, off: u64, vaddr: u64, size: u64, align: u64| {
        b.extend_from_slice(&ty.to_le_bytes());
        b.extend_from_slice(&flags.to_le_bytes());
        b.extend_from_slice(&off.to_le_bytes());
        b.extend_from_slice(&vaddr.to_le_bytes());
        b.extend_from_slice(&vaddr.to_le_bytes());
        b.extend_from_slice(&size.to_le_bytes());
        b.extend_from_slice(&size.to_le_bytes());
        b.extend_from_slice(&align.to_le_bytes());
    };
    if interp.is_some() {
        phdr(
            3,
            4,
            interp_off,
            base + interp_off,
            interp_bytes.len() as u64,
            1,
        );
    }
    phdr(1, 5, 0, base, total, 0x1000);
    b.extend_from_slice(&interp_bytes);
    b.resize(code_off as usize, 0);
    for w in code {
        b.extend_from_slice(&w.to_le_bytes());
    }
    b
}

/// `mov x0, #status ; mov x8, #93 ; svc #0`
fn exit_code(status: u16) -> Vec<u32> {
    vec![
        0xd280_0000 | ((status as u32) << 5),
        0xd280_0ba8,
        0xd400_0001,
    ]
}

fn check_one_line_error(out: &Output, want: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "expected failure, stderr: {err}");
    assert_ne!(out.status.code(), Some(101), "panicked: {err}");
    assert!(out.status.code().is_some(), "killed by a signal: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err:?}");
    assert!(err.contains(want), "expected {want:?} in {err:?}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn not_an_elf() {
    let d = tmpdir();
    let p = write_exec(&d, "text", b"just some text\n");
    check_one_line_error(&ferrite().arg(&p).output().unwrap(), "not an ELF file");
}

#[test]
fn x86_64_elf() {
    let out = ferrite().arg("/bin/true").output().unwrap();
    check_one_line_error(&out, "x86-64 ELF");
}

#[test]
fn arm32_elf() {
    let d = tmpdir();
    let mut b = vec![0u8; 52];
    b[..4].copy_from_slice(b"\x7fELF");
    b[4] = 1; // ELFCLASS32
    b[5] = 1;
    b[6] = 1;
    b[16] = 2;
    b[18] = 40; // EM_ARM
    let p = write_exec(&d, "arm32", &b);
    check_one_line_error(&ferrite().arg(&p).output().unwrap(), "32-bit ARM");
}

#[test]
fn truncated_and_corrupt_elf() {
    let d = tmpdir();
    let good = elf(183, &exit_code(0), None);
    let p = write_exec(&d, "trunc", &good[..40]);
    check_one_line_error(&ferrite().arg(&p).output().unwrap(), "truncated");
    // Program headers pointing past the end of the file.
    let mut bad = good.clone();
    bad[32..40].copy_from_slice(&0xffff_0000u64.to_le_bytes());
    let p = write_exec(&d, "badphoff", &bad);
    check_one_line_error(&ferrite().arg(&p).output().unwrap(), "malformed ELF");
    // A PT_LOAD whose file range is beyond the file.
    let mut bad = good.clone();
    let ph = 64;
    bad[ph + 32..ph + 40].copy_from_slice(&0x1000_0000u64.to_le_bytes()); // p_filesz
    bad[ph + 40..ph + 48].copy_from_slice(&0x1000_0000u64.to_le_bytes()); // p_memsz
    let p = write_exec(&d, "badload", &bad);
    check_one_line_error(&ferrite().arg(&p).output().unwrap(), "malformed ELF");
}

#[test]
fn missing_file_and_interpreter() {
    let out = ferrite().arg("/nonexistent/prog").output().unwrap();
    check_one_line_error(&out, "No such file");
    let d = tmpdir();
    let p = write_exec(
        &d,
        "needs-interp",
        &elf(
            183,
            &exit_code(0),
            Some("/lib/ld-ferrite-test-missing.so.1"),
        ),
    );
    check_one_line_error(
        &ferrite().arg(&p).output().unwrap(),
        "cannot open ELF interpreter /lib/ld-ferrite-test-missing.so.1: use -L",
    );
}

#[test]
fn bad_options() {
    check_one_line_error(
        &ferrite().arg("-nope").arg("x").output().unwrap(),
        "unknown option",
    );
    check_one_line_error(&ferrite().arg("-L").output().unwrap(), "needs an argument");
    check_one_line_error(
        &ferrite().args(["-cpu", "pentium", "x"]).output().unwrap(),
        "unknown CPU",
    );
    check_one_line_error(
        &ferrite().args(["-d", "bogus", "x"]).output().unwrap(),
        "unknown log item",
    );
    check_one_line_error(&ferrite().output().unwrap(), "no program");
}

#[test]
fn help_and_lists() {
    for args in [
        vec!["-h"],
        vec!["-cpu", "help"],
        vec!["-d", "help"],
        vec!["-version"],
    ] {
        let out = ferrite().args(&args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        assert!(!out.stdout.is_empty(), "{args:?}");
    }
    let out = ferrite().args(["-cpu", "help"]).output().unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("max") && s.contains("cortex-a72"), "{s}");
}

#[test]
fn tiny_static_program_exit_status() {
    let d = tmpdir();
    for status in [0u16, 1, 42, 255] {
        let p = write_exec(
            &d,
            &format!("exit{status}"),
            &elf(183, &exit_code(status), None),
        );
        let out = ferrite().arg(&p).output().unwrap();
        assert_eq!(out.status.code(), Some(status as i32), "{out:?}");
    }
}

/// A guest killed by a core-dumping signal: as under the arm64 kernel, nothing is added to
/// its stderr (programs capturing a child's stderr compare it); `-d signal` asks for
/// ferrite's qemu-style report, which names the signal and the guest PC.
#[test]
fn fatal_guest_signal_leaves_stderr_alone_unless_asked() {
    use std::os::unix::process::ExitStatusExt;
    let d = tmpdir();
    // ldr x0, [xzr-less address 0]: mov x0, #0 ; ldr x1, [x0]
    let p = write_exec(&d, "segv", &elf(183, &[0xd280_0000, 0xf940_0001], None));
    let quiet = ferrite().arg(&p).output().unwrap();
    assert_eq!(quiet.status.signal(), Some(11), "{quiet:?}");
    assert!(
        quiet.stderr.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&quiet.stderr)
    );
    let told = ferrite().args(["-d", "signal"]).arg(&p).output().unwrap();
    assert_eq!(told.status.signal(), Some(11), "{told:?}");
    let err = String::from_utf8_lossy(&told.stderr);
    assert!(
        err.contains("uncaught target signal 11 (Segmentation fault) at pc 0x400")
            && err.contains("core dumped"),
        "{err}"
    );
}

#[test]
fn undefined_instruction_kills_with_sigill_and_is_reported() {
    use std::os::unix::process::ExitStatusExt;
    let d = tmpdir();
    // udf #0 is permanently undefined; 0xffffffff decodes to nothing at all.
    for (name, word) in [("udf", 0x0000_0000u32), ("garbage", 0xffff_ffff)] {
        let p = write_exec(&d, name, &elf(183, &[word], None));
        let out = ferrite()
            .args(["-d", "unimp,signal"])
            .arg(&p)
            .output()
            .unwrap();
        assert_eq!(out.status.signal(), Some(libc_sigill()), "{out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("uncaught target signal 4"), "{err}");
    }
    // BRK raises SIGTRAP.
    let p = write_exec(&d, "brk", &elf(183, &[0xd420_0000], None));
    let out = ferrite().arg(&p).output().unwrap();
    assert_eq!(out.status.signal(), Some(5), "{out:?}");
}

fn libc_sigill() -> i32 {
    4
}

/// Errors from the host name the problem as the C library does, without Rust's
/// " (os error N)" suffix.
#[test]
fn host_errors_read_like_the_c_library() {
    let d = tmpdir();
    let out = ferrite()
        .arg("./no-such-program")
        .current_dir(&d)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "ferrite-aarch64: ./no-such-program: No such file or directory\n"
    );
    assert_eq!(out.status.code(), Some(1));
    let out = ferrite().arg(&d).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("ferrite-aarch64: {}: Is a directory\n", d.display())
    );
    let out = ferrite()
        .args(["-D", "/nonexistent-dir/log", "prog"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "ferrite-aarch64: cannot open log file /nonexistent-dir/log: No such file or directory\n"
    );
    for args in [
        vec!["/nonexistent/prog"],
        vec!["-L", "/nonexistent", "/bin"],
    ] {
        let out = ferrite().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("os error"), "{args:?}: {err}");
    }
}

/// The README sections that `-h` refers to exist.
#[test]
fn help_refers_to_existing_readme_sections() {
    let out = ferrite().arg("-h").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let headings: Vec<&str> = readme
        .lines()
        .filter_map(|l| l.strip_prefix("## ").or_else(|| l.strip_prefix("### ")))
        .collect();
    let mut refs = 0;
    for (i, _) in help.match_indices("README.md, \"") {
        let rest = &help[i + "README.md, \"".len()..];
        let name = &rest[..rest.find('"').expect("closing quote")];
        assert!(
            headings.contains(&name),
            "-h refers to README section {name:?}, which does not exist (sections: {headings:?})"
        );
        refs += 1;
    }
    assert!(refs > 0, "-h no longer refers to the README: {help}");
}

/// `-B`/`-R` (guest_base, reserved_va): ferrite runs guests at guest_base 0 with no
/// reserved range, so only 0 is accepted; anything else is a clear one-line error.
/// Bad `-seed` and `-r` values are refused the same way.
#[test]
fn guest_base_reserved_va_seed_and_release_values() {
    let d = tmpdir();
    let p = write_exec(&d, "exit7", &elf(183, &exit_code(7), None));
    for args in [
        vec!["-B", "0"],
        vec!["-B", "0x0"],
        vec!["-R", "0"],
        vec!["-seed", "18446744073709551615"],
        vec!["-r", "6.1.0"],
        vec!["-one-insn-per-tb"],
        vec!["-singlestep"],
    ] {
        let out = ferrite().args(&args).arg(&p).output().unwrap();
        assert_eq!(out.status.code(), Some(7), "{args:?}: {out:?}");
    }
    check_one_line_error(
        &ferrite().args(["-B", "0x10000"]).arg(&p).output().unwrap(),
        "-B 0x10000: ferrite runs the guest at guest_base 0",
    );
    check_one_line_error(
        &ferrite()
            .env("QEMU_GUEST_BASE", "4096")
            .arg(&p)
            .output()
            .unwrap(),
        "only -B 0 is accepted",
    );
    check_one_line_error(
        &ferrite().args(["-B", "nope"]).arg(&p).output().unwrap(),
        "invalid -B address 'nope'",
    );
    check_one_line_error(
        &ferrite().args(["-R", "1G"]).arg(&p).output().unwrap(),
        "-R 1G: ferrite does not reserve a guest address space",
    );
    check_one_line_error(
        &ferrite()
            .env("QEMU_RESERVED_VA", "0x1000")
            .arg(&p)
            .output()
            .unwrap(),
        "-R 0x1000: ferrite does not reserve a guest address space",
    );
    check_one_line_error(
        &ferrite().args(["-R", "lots"]).arg(&p).output().unwrap(),
        "invalid -R size 'lots'",
    );
    check_one_line_error(
        &ferrite().args(["-seed", "x1"]).arg(&p).output().unwrap(),
        "invalid -seed 'x1'",
    );
    check_one_line_error(
        &ferrite()
            .args(["-seed", "18446744073709551616"])
            .arg(&p)
            .output()
            .unwrap(),
        "invalid -seed",
    );
    check_one_line_error(
        &ferrite()
            .args(["-r", &"9".repeat(65)])
            .arg(&p)
            .output()
            .unwrap(),
        "longer than the 64 bytes uname can report",
    );
}
