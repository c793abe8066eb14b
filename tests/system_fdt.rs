//! ferrite's `virt` device tree against QEMU's own.
//!
//! Both blobs are decompiled with `dtc -I dtb -O dts` and compared node by node and
//! property by property. The random `/chosen` seeds are masked. Every other difference
//! must be in [`OMITTED_NODES`] or [`PROPERTY_DIFFERENCES`], each with its reason; an
//! entry that no longer differs fails the test too, so the list stays true.
//!
//! Needs `qemu-system-aarch64` (Debian `qemu-system-arm`) and `dtc`
//! (`device-tree-compiler`); `scripts/setup` installs both.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use ferrite::system::cli::{CpuModel, DtbRandomness};
use ferrite::system::fdt::{self, VirtParams};

/// QEMU nodes ferrite leaves out on purpose.
const OMITTED_NODES: &[(&str, &str)] = &[
    (
        "/platform-bus@c000000",
        "no dynamic sysbus devices (the platform bus holds only those)",
    ),
    (
        "/fw-cfg@9020000",
        "no fw-cfg: it feeds firmware; ferrite boots the kernel directly",
    ),
    ("/pl061@9030000", "no PL061 GPIO controller"),
    (
        "/gpio-keys",
        "no PL061, so no GPIO power key (PSCI SYSTEM_OFF powers off)",
    ),
    ("/gpio-keys/poweroff", "no PL061, so no GPIO power key"),
    ("/pcie@10000000", "no PCIe host: devices sit on virtio-mmio"),
    (
        "/intc@8000000/v2m@8020000",
        "no GICv2m frame: it only delivers PCIe MSIs",
    ),
    ("/flash@0", "no CFI flash: there is no firmware to hold"),
    ("/pmu", "no PMU: ID_AA64DFR0_EL1.PMUVer reads 0"),
];

/// (node, property, reason): properties QEMU has and ferrite leaves out.
const PROPERTY_DIFFERENCES: &[(&str, &str, &str)] = &[(
    "/chosen",
    "kaslr-seed",
    "only with -machine dtb-randomness=on: with KASLR the kernel forces KPTI on CPUs \
     without E0PD, and KPTI switches ASIDs on every kernel entry",
)];

/// Random values, masked before comparing.
const MASKED: &[&str] = &["rng-seed", "kaslr-seed"];

fn need(tool: &str, package: &str) {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "{tool} not found: run scripts/setup (Debian package {package})"
    );
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ferrite-system-fdt-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// `dtc -I dtb -O dts` of a blob file.
fn decompile(dtb: &Path) -> String {
    let out = Command::new("dtc")
        .args(["-q", "-I", "dtb", "-O", "dts"])
        .arg(dtb)
        .output()
        .expect("run dtc");
    assert!(
        out.status.success(),
        "dtc failed on {}: {}",
        dtb.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// QEMU's device tree for these arguments (`-machine dumpdtb=`).
fn qemu_dts(args: &[&str]) -> String {
    need("qemu-system-aarch64", "qemu-system-arm");
    need("dtc", "device-tree-compiler");
    let file = tmp(&format!("qemu-{}.dtb", args.join("_").replace('/', "_")));
    let out = Command::new("qemu-system-aarch64")
        .args(["-nodefaults", "-display", "none", "-M", "virt"])
        .args(args)
        .arg("-machine")
        .arg(format!("dumpdtb={}", file.display()))
        .output()
        .expect("run qemu-system-aarch64");
    assert!(
        out.status.success(),
        "qemu-system-aarch64 {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    decompile(&file)
}

fn ferrite_dts(p: &VirtParams, name: &str) -> String {
    let file = tmp(name);
    std::fs::write(&file, fdt::virt(p).to_blob().unwrap()).unwrap();
    decompile(&file)
}

/// Node path → property name → value text, from dtc's output.
type Tree = BTreeMap<String, BTreeMap<String, String>>;

fn parse_dts(text: &str) -> Tree {
    let mut tree = Tree::new();
    let mut path: Vec<String> = Vec::new();
    let full = |path: &[String]| {
        if path.len() <= 1 {
            "/".to_string()
        } else {
            path[1..].iter().fold(String::new(), |s, p| s + "/" + p)
        }
    };
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with("/dts-v1/") {
            continue;
        }
        if let Some(name) = line.strip_suffix(" {") {
            path.push(name.to_string());
            tree.entry(full(&path)).or_default();
        } else if line == "};" {
            path.pop();
        } else {
            let line = line.strip_suffix(';').expect("a property line ends with ;");
            let (name, value) = match line.split_once(" = ") {
                Some((n, v)) => (n, v),
                None => (line, "(empty)"),
            };
            let value = if MASKED.contains(&name) {
                "<masked>"
            } else {
                value
            };
            let node = tree.entry(full(&path)).or_default();
            assert!(
                node.insert(name.to_string(), value.to_string()).is_none(),
                "duplicate {name}"
            );
        }
    }
    tree
}

/// Compare, allowing exactly the reviewed differences (and requiring each of them).
fn compare(qemu: &str, ours: &str, kaslr_both: bool) {
    let q = parse_dts(qemu);
    let f = parse_dts(ours);
    let mut problems = Vec::new();
    for (node, props) in &q {
        let omitted = OMITTED_NODES.iter().any(|(n, _)| n == node);
        match (f.get(node), omitted) {
            (Some(_), true) => problems.push(format!("{node}: listed as omitted but present")),
            (None, true) => {}
            (None, false) => problems.push(format!("{node}: missing")),
            (Some(fp), false) => {
                for (name, qv) in props {
                    let allowed = !kaslr_both
                        && PROPERTY_DIFFERENCES
                            .iter()
                            .any(|(n, p, _)| n == node && p == name);
                    match (fp.get(name), allowed) {
                        (Some(fv), false) if fv == qv => {}
                        (Some(fv), false) => {
                            problems.push(format!("{node} {name}: qemu {qv}, ferrite {fv}"))
                        }
                        (Some(_), true) => problems
                            .push(format!("{node} {name}: listed as a difference but equal")),
                        (None, false) => problems.push(format!("{node} {name}: missing ({qv})")),
                        (None, true) => {}
                    }
                }
                for name in fp.keys().filter(|n| !props.contains_key(*n)) {
                    problems.push(format!("{node} {name}: ferrite only"));
                }
            }
        }
    }
    for node in f.keys().filter(|n| !q.contains_key(*n)) {
        problems.push(format!("{node}: ferrite only"));
    }
    for (node, _) in OMITTED_NODES {
        if !q.contains_key(*node) {
            problems.push(format!(
                "{node}: listed as omitted but QEMU has no such node"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "device trees differ:\n  {}\n--- qemu ---\n{qemu}\n--- ferrite ---\n{ours}",
        problems.join("\n  ")
    );
}

fn params(cpu: CpuModel, ram_size: u64, smp: u32) -> VirtParams {
    VirtParams {
        ram_size,
        cpu,
        smp,
        bootargs: None,
        initrd: None,
        randomness: DtbRandomness::Default,
    }
}

#[test]
fn virt_cortex_a57_1g_matches_qemu() {
    let qemu = qemu_dts(&["-cpu", "cortex-a57", "-m", "1G"]);
    let ours = ferrite_dts(&params(CpuModel::CortexA57, 1 << 30, 1), "a57.dtb");
    compare(&qemu, &ours, false);
}

#[test]
fn virt_other_models_and_sizes_match_qemu() {
    for (cpu, model, m, bytes) in [
        ("cortex-a53", CpuModel::CortexA53, "128M", 128u64 << 20),
        ("cortex-a72", CpuModel::CortexA72, "1001K", 1008 << 10),
        ("max", CpuModel::Max, "5G", 5 << 30),
    ] {
        let qemu = qemu_dts(&["-cpu", cpu, "-m", m]);
        let ours = ferrite_dts(&params(model, bytes, 1), &format!("{cpu}.dtb"));
        compare(&qemu, &ours, false);
    }
}

#[test]
fn virt_smp_layout_matches_qemu() {
    // The command line accepts only -smp 1 for now; the tree is ready for more.
    for n in [2u32, 4] {
        let qemu = qemu_dts(&["-cpu", "cortex-a57", "-smp", &n.to_string()]);
        let ours = ferrite_dts(
            &params(CpuModel::CortexA57, 128 << 20, n),
            &format!("smp{n}.dtb"),
        );
        compare(&qemu, &ours, false);
    }
}

#[test]
fn dtb_randomness_on_gives_qemus_seeds() {
    let qemu = qemu_dts(&["-cpu", "cortex-a57", "-machine", "dtb-randomness=on"]);
    let mut p = params(CpuModel::CortexA57, 128 << 20, 1);
    p.randomness = DtbRandomness::On;
    compare(&qemu, &ferrite_dts(&p, "random.dtb"), true);
}

#[test]
fn the_comparison_catches_differences() {
    let qemu = qemu_dts(&["-cpu", "cortex-a57", "-m", "1G"]);
    let ours = ferrite_dts(&params(CpuModel::CortexA57, 1 << 30, 1), "a57-check.dtb");
    for (from, to) in [
        (
            "interrupts = <0x00 0x01 0x04>",
            "interrupts = <0x00 0x01 0x01>",
        ),
        ("\"arm,cortex-a57\"", "\"arm,cortex-a53\""),
        ("\t\tmethod = \"hvc\";\n", ""),
    ] {
        assert!(ours.contains(from), "{from}");
        let changed = ours.replacen(from, to, 1);
        let caught = std::panic::catch_unwind(|| compare(&qemu, &changed, false)).is_err();
        assert!(caught, "changing {from:?} went unnoticed");
    }
}

/// `ferrite-system-aarch64 ... -machine dumpdtb=FILE`, decompiled.
fn ferrite_binary_dts(args: &[&str], name: &str) -> String {
    let file = tmp(name);
    let out = Command::new(env!("CARGO_BIN_EXE_ferrite-system-aarch64"))
        .args(args)
        .arg("-machine")
        .arg(format!("dumpdtb={}", file.display()))
        .output()
        .expect("run ferrite-system-aarch64");
    assert!(
        out.status.success(),
        "ferrite-system-aarch64 {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    decompile(&file)
}

/// The whole path — command line, kernel and initrd placement, /chosen — against QEMU
/// loading the same files.
#[test]
fn boot_dtb_matches_qemu_with_kernel_initrd_append() {
    let mut image = vec![0u8; 0x1000];
    image[0..4].copy_from_slice(&0x1400_0000u32.to_le_bytes());
    image[16..24].copy_from_slice(&0x10_0000u64.to_le_bytes());
    image[24..32].copy_from_slice(&0xau64.to_le_bytes());
    image[56..60].copy_from_slice(b"ARM\x64");
    let kernel = tmp("Image");
    std::fs::write(&kernel, image).unwrap();
    let initrd = tmp("initrd");
    std::fs::write(&initrd, vec![0x5a; 5_000_000]).unwrap();
    let (k, i) = (kernel.to_str().unwrap(), initrd.to_str().unwrap());
    for m in ["1G", "128M"] {
        let args = [
            "-cpu",
            "cortex-a57",
            "-m",
            m,
            "-kernel",
            k,
            "-initrd",
            i,
            "-append",
            "console=ttyAMA0 rdinit=/init",
        ];
        let qemu = qemu_dts(&args);
        assert!(qemu.contains("linux,initrd-start"), "{qemu}");
        let mut ours_args = vec!["-M", "virt"];
        ours_args.extend(args);
        compare(
            &qemu,
            &ferrite_binary_dts(&ours_args, &format!("boot-{m}.dtb")),
            false,
        );
    }
}
