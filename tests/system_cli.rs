//! `ferrite-system-aarch64` as a user meets it: bad inputs give one line on stderr and
//! exit status 1 (never a panic); `-version`, `-h` and `-machine dumpdtb=` work; a
//! machine with a kernel boots it (the synthetic Image here powers off at once).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ferrite::system::fdt::Fdt;

fn ferrite(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferrite-system-aarch64"))
        .args(args)
        .output()
        .expect("run ferrite-system-aarch64")
}

struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let d =
            std::env::temp_dir().join(format!("ferrite-system-cli-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }
    fn put(&self, name: &str, bytes: &[u8]) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, bytes).unwrap();
        p.to_str().unwrap().to_string()
    }
    fn path(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_string()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A synthetic arm64 Image: a branch over the header (text_offset 0, image_size 1 MiB,
/// flags: little-endian, 4K pages, anywhere) to PSCI SYSTEM_OFF over HVC.
fn image() -> Vec<u8> {
    let mut b = vec![0u8; 0x1000];
    b[0..4].copy_from_slice(&0x1400_0010u32.to_le_bytes()); // b .+64
    for (i, w) in [0x52b0_8000u32, 0x7280_0100, 0xd400_0002]
        .iter()
        .enumerate()
    {
        // movz w0, #0x8400, lsl #16; movk w0, #8; hvc #0
        b[64 + 4 * i..68 + 4 * i].copy_from_slice(&w.to_le_bytes());
    }
    b[16..24].copy_from_slice(&0x10_0000u64.to_le_bytes());
    b[24..32].copy_from_slice(&0xau64.to_le_bytes());
    b[56..60].copy_from_slice(b"ARM\x64");
    b
}

/// The run failed with exactly one line, `ferrite-system-aarch64: ...`, containing `want`.
fn one_line_error(out: &Output, want: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "exit status; stderr: {err}");
    assert!(
        out.stdout.is_empty(),
        "stdout: {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("ferrite-system-aarch64: "), "{err}");
    assert!(err.contains(want), "expected {want:?} in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_command_lines() {
    let d = Dir::new("bad");
    let k = d.put("Image", &image());
    one_line_error(&ferrite(&["-kernel", &k, "-foo"]), "-foo: invalid option");
    one_line_error(&ferrite(&["-kernel"]), "-kernel: requires an argument");
    one_line_error(&ferrite(&[]), "no -kernel given");
    one_line_error(&ferrite(&["-M", "virt", "-nographic"]), "no -kernel given");
    one_line_error(
        &ferrite(&["-kernel", &k, "-smp", "2"]),
        "only 1 CPU is supported",
    );
    one_line_error(
        &ferrite(&["-kernel", &k, "-m", "lots"]),
        "-m lots: invalid size",
    );
    one_line_error(
        &ferrite(&["-kernel", &k, "-M", "sbsa-ref"]),
        "unsupported machine type",
    );
    one_line_error(
        &ferrite(&["-kernel", &k, "-cpu", "cortex-a15"]),
        "unknown CPU model",
    );
    one_line_error(
        &ferrite(&["-initrd", &k]),
        "-initrd is only allowed with -kernel",
    );
}

#[test]
fn bad_kernels_and_initrds() {
    let d = Dir::new("kernels");
    one_line_error(
        &ferrite(&["-kernel", &d.path("missing")]),
        "cannot open kernel",
    );
    // A PE file (as an EFI-stub Image starts) whose Image magic is wrong.
    let mut pe = image();
    pe[0..2].copy_from_slice(b"MZ");
    pe[56..60].copy_from_slice(b"ARM\x65");
    let pe = d.put("pe", &pe);
    one_line_error(&ferrite(&["-kernel", &pe]), "without the arm64 Image magic");
    let mut be = image();
    be[24] = 0xb;
    let be = d.put("be", &be);
    one_line_error(&ferrite(&["-kernel", &be]), "big-endian");
    let k = d.put("Image", &image());
    // 8M of RAM: the initrd goes at RAM + 4M and 5M does not fit.
    let initrd = d.put("initrd", &vec![0x5a; 5 << 20]);
    one_line_error(
        &ferrite(&["-m", "8M", "-kernel", &k, "-initrd", &initrd]),
        "does not fit in RAM after the kernel (-m 8M RAM ends at 0x40800000)",
    );
    one_line_error(
        &ferrite(&["-kernel", &k, "-initrd", &d.path("missing")]),
        "cannot open initrd",
    );
    one_line_error(
        &ferrite(&["-kernel", &k, "-dtb", &k]),
        "is not a valid device tree",
    );
}

#[test]
fn version_and_help() {
    let out = ferrite(&["-version"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("ferrite-system-aarch64 version "),
        "{text}"
    );
    let out = ferrite(&["-h"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for opt in [
        "-M",
        "-cpu",
        "-m",
        "-smp",
        "-kernel",
        "-initrd",
        "-append",
        "-dtb",
        "-nographic",
        "-serial",
        "-no-reboot",
        "-d",
        "-D",
        "-version",
    ] {
        assert!(text.contains(&format!("\n{opt} ")), "{opt} in help");
    }
    assert!(text.contains("System mode (ferrite-system-aarch64) — in progress"));
    for (args, want) in [
        (&["-cpu", "help"][..], "cortex-a57"),
        (&["-M", "help"][..], "virt"),
        (&["-d", "help"][..], "guest_errors"),
    ] {
        let out = ferrite(args);
        assert!(out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(want),
            "{args:?}"
        );
    }
}

fn dump(args: &[&str], file: &str) -> Fdt {
    let mut all = args.to_vec();
    let prop = format!("dumpdtb={file}");
    all.extend(["-machine", &prop]);
    let out = ferrite(&all);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{all:?}: {err}");
    assert_eq!(
        err.trim(),
        format!("ferrite-system-aarch64: device tree written to {file}")
    );
    Fdt::parse(&std::fs::read(Path::new(file)).unwrap()).unwrap()
}

fn cells(v: &[u8]) -> Vec<u32> {
    v.chunks(4)
        .map(|c| u32::from_be_bytes(c.try_into().unwrap()))
        .collect()
}

#[test]
fn dumpdtb_without_a_kernel() {
    let d = Dir::new("dump");
    let f = dump(
        &["-M", "virt", "-m", "2G", "-cpu", "cortex-a53"],
        &d.path("a.dtb"),
    );
    let mem = f.root.find("memory@40000000").unwrap();
    assert_eq!(
        cells(mem.prop("reg").unwrap()),
        [0, 0x4000_0000, 0, 0x8000_0000]
    );
    let cpu = f.root.find("cpus/cpu@0").unwrap();
    assert_eq!(cpu.prop("compatible"), Some(&b"arm,cortex-a53\0"[..]));
    let chosen = f.root.find("chosen").unwrap();
    assert!(chosen.prop("bootargs").is_none());
    assert_eq!(chosen.prop("rng-seed").map(<[u8]>::len), Some(32));
    // Unwritable destination: one line.
    one_line_error(
        &ferrite(&["-M", &format!("virt,dumpdtb={}", d.path("no/such/dir.dtb"))]),
        "cannot write dtb",
    );
}

#[test]
fn dumpdtb_with_kernel_initrd_and_append() {
    let d = Dir::new("boot");
    let k = d.put("Image", &image());
    let initrd = d.put("initrd", &vec![1; 5_000_000]);
    let f = dump(
        &[
            "-m",
            "1G",
            "-kernel",
            &k,
            "-initrd",
            &initrd,
            "-append",
            "console=ttyAMA0 rdinit=/init",
        ],
        &d.path("b.dtb"),
    );
    let chosen = f.root.find("chosen").unwrap();
    assert_eq!(
        chosen.prop("bootargs"),
        Some(&b"console=ttyAMA0 rdinit=/init\0"[..])
    );
    assert_eq!(chosen.prop_u32("linux,initrd-start"), Some(0x4800_0000));
    assert_eq!(
        chosen.prop_u32("linux,initrd-end"),
        Some(0x4800_0000 + 5_000_000)
    );

    // The dump fed back with -dtb: memory is rewritten for the new -m, bootargs replaced.
    let f = dump(
        &[
            "-m",
            "256M",
            "-kernel",
            &k,
            "-dtb",
            &d.path("b.dtb"),
            "-append",
            "quiet",
        ],
        &d.path("c.dtb"),
    );
    let mem = f.root.find("memory").unwrap();
    assert_eq!(
        cells(mem.prop("reg").unwrap()),
        [0, 0x4000_0000, 0, 0x1000_0000]
    );
    let chosen = f.root.find("chosen").unwrap();
    assert_eq!(chosen.prop("bootargs"), Some(&b"quiet\0"[..]));
}

#[test]
fn a_kernel_is_loaded_and_run() {
    let d = Dir::new("run");
    let k = d.put("Image", &image());
    let log = d.path("log.txt");
    let out = ferrite(&[
        "-M",
        "virt",
        "-cpu",
        "max",
        "-m",
        "1G",
        "-nographic",
        "-no-reboot",
        "-serial",
        "mon:stdio",
        "-kernel",
        &k,
        "-append",
        "console=ttyAMA0",
        "-d",
        "int,unimp",
        "-D",
        &log,
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "exit status; stderr: {err}");
    assert!(out.stdout.is_empty() && err.is_empty(), "{err}");
    // -d int went to the -D file: the PSCI call that powered the machine off.
    let text = std::fs::read_to_string(&log).expect("-D creates the log file");
    assert!(
        text.contains("Taking exception 11 [Hypervisor Call] on CPU 0\n...handled as PSCI call"),
        "{text}"
    );
}

#[test]
fn help_points_at_a_readme_section_that_exists() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let title = ferrite::system::cli::README_SECTION;
    assert!(
        readme.lines().any(|l| l == format!("## {title}")),
        "README.md has no section \"## {title}\""
    );
    let help = String::from_utf8(ferrite(&["-h"]).stdout).unwrap();
    assert!(help.contains(&format!("\"{title}\"")), "{help}");
}
