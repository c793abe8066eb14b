//! The command line of `ferrite-system-aarch64`, spelled as `qemu-system-aarch64` spells
//! it, so a QEMU command line for the `virt` machine works after changing one word.
//!
//! `--opt` means `-opt` (as in QEMU). Options that take a value take it from the next
//! word. A repeated option replaces the earlier value, except `-machine`/`-M`, whose
//! properties accumulate (`-M virt -machine dumpdtb=f`). Anything else — an unknown
//! option, a missing value, a malformed size, a feature this build does not model — is
//! a [`CliError`]: one line for the user, exit status 1.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use super::memory::MAX_RAM;
use crate::log;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The program name, as it prefixes every error line.
pub const PROG: &str = "ferrite-system-aarch64";

/// The README section that documents system mode; `-h` points at it by this title.
pub const README_SECTION: &str = "System mode (ferrite-system-aarch64) — in progress";

/// `-m` without a value means this much, as for QEMU's `virt`.
pub const DEFAULT_RAM: u64 = 128 << 20;
/// QEMU rounds `-m` up to a multiple of 8 KiB; ferrite does the same so that the memory
/// node of the device tree is identical.
const RAM_ALIGN: u64 = 8 << 10;

/// A `-cpu` model of system mode. The device tree names it in `/cpus/cpu@N/compatible`;
/// its ID register values belong to the CPU model code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuModel {
    Max,
    CortexA72,
    CortexA57,
    CortexA53,
}

/// Names, models and `-cpu help` text, default first.
const CPUS: &[(&str, CpuModel, &str)] = &[
    (
        "max",
        CpuModel::Max,
        "all features ferrite implements (default)",
    ),
    ("cortex-a72", CpuModel::CortexA72, "ARMv8.0-A Cortex-A72"),
    ("cortex-a57", CpuModel::CortexA57, "ARMv8.0-A Cortex-A57"),
    ("cortex-a53", CpuModel::CortexA53, "ARMv8.0-A Cortex-A53"),
];

impl CpuModel {
    pub fn name(self) -> &'static str {
        CPUS.iter().find(|c| c.1 == self).map_or("max", |c| c.0)
    }
}

/// Where the PL011 UART's bytes go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Serial {
    /// `-serial stdio`: the UART alone on stdin/stdout.
    Stdio,
    /// `-serial mon:stdio` (and the default with `-nographic`): stdin/stdout shared with
    /// the `Ctrl-A` escape commands (`Ctrl-A x` quits, `Ctrl-A h` helps).
    MonStdio,
}

/// The `dtb-randomness` machine property (QEMU 7.2; `dtb-kaslr-seed` is its old name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DtbRandomness {
    /// Not given: `/chosen/rng-seed` only. ferrite leaves out `kaslr-seed` by default, unlike
    /// QEMU: with KASLR the kernel turns on KPTI on CPUs without E0PD, and KPTI switches
    /// ASIDs on every kernel entry and exit, which costs a TLB flush each time here.
    Default,
    /// `=on`: `rng-seed` and `kaslr-seed`, as QEMU.
    On,
    /// `=off`: neither.
    Off,
}

/// Everything the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SysOptions {
    pub cpu: CpuModel,
    /// Bytes of RAM, a multiple of 8 KiB, at most [`MAX_RAM`] (255 GiB, as QEMU's `virt`).
    pub ram_size: u64,
    /// Number of CPUs (only 1 for now).
    pub smp: u32,
    pub kernel: Option<PathBuf>,
    pub initrd: Option<PathBuf>,
    /// `-append`: the kernel command line.
    pub append: Option<String>,
    /// `-dtb`: a device tree to pass instead of the generated one.
    pub dtb: Option<PathBuf>,
    /// `-machine dumpdtb=FILE`: write the device tree there and exit 0.
    pub dumpdtb: Option<PathBuf>,
    pub dtb_randomness: DtbRandomness,
    pub nographic: bool,
    pub serial: Serial,
    /// `-no-reboot`: a guest reset request exits instead.
    pub no_reboot: bool,
    /// `-d`: bits of [`log::Item`].
    pub log_items: u32,
    /// `-d`: system-only items, [`D_INT`] | [`D_MMU`] | [`D_GUEST_ERRORS`].
    pub sys_log: u32,
    /// `-D`: log file.
    pub log_file: Option<PathBuf>,
}

/// `-d int`: log exceptions and interrupts taken.
pub const D_INT: u32 = 1;
/// `-d mmu`: log page-table walks and faults.
pub const D_MMU: u32 = 2;
/// `-d guest_errors`: log guest accesses to unassigned or misused device registers.
pub const D_GUEST_ERRORS: u32 = 4;

impl Default for SysOptions {
    fn default() -> SysOptions {
        SysOptions {
            cpu: CpuModel::Max,
            ram_size: DEFAULT_RAM,
            smp: 1,
            kernel: None,
            initrd: None,
            append: None,
            dtb: None,
            dumpdtb: None,
            dtb_randomness: DtbRandomness::Default,
            nographic: false,
            serial: Serial::MonStdio,
            no_reboot: false,
            log_items: 0,
            sys_log: 0,
            log_file: None,
        }
    }
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    /// Build the machine (and, with `dumpdtb`, write its device tree).
    Run(SysOptions),
    /// Print this text to stdout and exit 0.
    Print(String),
}

/// A usage error: one line for the user, exit status 1.
#[derive(Debug, PartialEq, Eq)]
pub struct CliError(pub String);

struct Opt {
    names: &'static [&'static str],
    arg: Option<&'static str>,
    help: &'static str,
}

const OPTS: &[Opt] = &[
    Opt {
        names: &["h", "help"],
        arg: None,
        help: "print this help",
    },
    Opt {
        names: &["version"],
        arg: None,
        help: "print the version and exit",
    },
    Opt {
        names: &["M", "machine"],
        arg: Some("virt[,prop=v]"),
        help:
            "machine (only virt; -M help); props dumpdtb=FILE, gic-version=2, dtb-randomness=on|off",
    },
    Opt {
        names: &["cpu"],
        arg: Some("model"),
        help: "CPU model (-cpu help for a list)",
    },
    Opt {
        names: &["m"],
        arg: Some("size"),
        help: "RAM size; MiB unless suffixed B/K/M/G/T (default 128M)",
    },
    Opt {
        names: &["smp"],
        arg: Some("n"),
        help: "number of CPUs (only 1 for now)",
    },
    Opt {
        names: &["kernel"],
        arg: Some("file"),
        help: "arm64 Linux Image (or a raw binary) to boot",
    },
    Opt {
        names: &["initrd"],
        arg: Some("file"),
        help: "initial ramdisk",
    },
    Opt {
        names: &["append"],
        arg: Some("cmdline"),
        help: "kernel command line",
    },
    Opt {
        names: &["dtb"],
        arg: Some("file"),
        help: "device tree blob to use instead of the generated one",
    },
    Opt {
        names: &["nographic"],
        arg: None,
        help: "no display; the serial console is on stdio (ferrite never has a display)",
    },
    Opt {
        names: &["serial"],
        arg: Some("dev"),
        help: "serial port backend: stdio or mon:stdio (default)",
    },
    Opt {
        names: &["no-reboot"],
        arg: None,
        help: "exit instead of rebooting",
    },
    Opt {
        names: &["d"],
        arg: Some("item[,...]"),
        help: "enable logging of specified items (-d help for a list)",
    },
    Opt {
        names: &["D"],
        arg: Some("logfile"),
        help: "write logs to 'logfile' (default stderr)",
    },
];

fn usage() -> String {
    let mut s = format!(
        "usage: {PROG} [options]\n\
         arm64 (AArch64) system emulator for x86-64 hosts (QEMU's virt machine), version {VERSION}\n\n\
         Options:\n"
    );
    for o in OPTS {
        let name = format!("-{}", o.names[0]);
        s += &format!("{name:<11} {:<14} {}\n", o.arg.unwrap_or(""), o.help);
    }
    s += &format!(
        "\nRunning guest code is not implemented in this build yet: see README.md,\n\
         section \"{README_SECTION}\", for what works now.\n"
    );
    s
}

fn machine_help() -> String {
    "Supported machines are:\n\
     virt                 QEMU 7.2 'virt' generic virtual platform: GICv2, PL011, PL031, virtio-mmio (default)\n"
        .to_string()
}

fn cpu_help() -> String {
    let mut s = String::from("Available CPUs:\n");
    for (name, _, desc) in CPUS {
        s += &format!("  {name:<12} {desc}\n");
    }
    s
}

/// One `-d` item of system mode: a shared [`log::Item`] or a system-only bit.
#[derive(Clone, Copy)]
enum DItem {
    Log(log::Item),
    Sys(u32),
}

const D_ITEMS: &[(&str, DItem, &str)] = &[
    (
        "in_asm",
        DItem::Log(log::Item::InAsm),
        "show guest code of each translated block",
    ),
    (
        "out_asm",
        DItem::Log(log::Item::OutAsm),
        "show host code of each translated block",
    ),
    (
        "op",
        DItem::Log(log::Item::Op),
        "show the IR of each translated block",
    ),
    ("int", DItem::Sys(D_INT), "show exceptions and interrupts"),
    ("mmu", DItem::Sys(D_MMU), "show page-table walks and faults"),
    (
        "unimp",
        DItem::Log(log::Item::Unimp),
        "report unimplemented instructions and system registers",
    ),
    (
        "guest_errors",
        DItem::Sys(D_GUEST_ERRORS),
        "report invalid guest accesses to devices and unassigned memory",
    ),
    (
        "exec",
        DItem::Log(log::Item::Exec),
        "show each block as it is entered (disables chaining)",
    ),
    (
        "nochain",
        DItem::Log(log::Item::NoChain),
        "do not chain translated blocks",
    ),
    (
        "stats",
        DItem::Log(log::Item::Stats),
        "at exit: blocks translated, bytes emitted, exits by reason",
    ),
];

fn log_help() -> String {
    let mut s = String::from("Log items (comma separated):\n");
    for (n, _, h) in D_ITEMS {
        s += &format!("{n:<13} {h}\n");
    }
    s
}

/// Parse a QEMU memory size: a decimal number with an optional suffix B, K, M, G, T, P
/// or E (either case; powers of 1024). Without a suffix the unit is MiB, and then the
/// number must be whole (QEMU refuses `-m 1.5` but takes `-m 1.5G`).
pub fn parse_size_mib(s: &str) -> Option<u64> {
    let digits_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(digits_end);
    let unit: u64 = match suffix {
        "" => 1 << 20,
        "B" | "b" => 1,
        "K" | "k" => 1 << 10,
        "M" | "m" => 1 << 20,
        "G" | "g" => 1 << 30,
        "T" | "t" => 1 << 40,
        "P" | "p" => 1 << 50,
        "E" | "e" => 1 << 60,
        _ => return None,
    };
    let (int, frac) = match num.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (num, None),
    };
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut bytes = int.parse::<u64>().ok()?.checked_mul(unit)?;
    if let Some(f) = frac {
        if suffix.is_empty()
            || f.is_empty()
            || f.len() > 18
            || !f.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let scale = 10u128.pow(f.len() as u32);
        let part = (f.parse::<u128>().ok()? * unit as u128) / scale;
        bytes = bytes.checked_add(u64::try_from(part).ok()?)?;
    }
    Some(bytes)
}

fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "on" | "yes" | "true" => Some(true),
        "off" | "no" | "false" => Some(false),
        _ => None,
    }
}

fn os_str(a: &OsStr, what: &str) -> Result<String, CliError> {
    a.to_str()
        .map(String::from)
        .ok_or_else(|| CliError(format!("{what} is not valid UTF-8: {a:?}")))
}

/// `-machine`: the type (only `virt`) and properties.
fn apply_machine(o: &mut SysOptions, v: &str) -> Result<Option<Command>, CliError> {
    for (i, part) in v.split(',').enumerate() {
        let (key, val) = match part.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None if i == 0 => ("type", Some(part)),
            None => (part, None),
        };
        let need = || val.ok_or_else(|| CliError(format!("-machine {v}: '{key}' needs a value")));
        match key {
            "help" | "?" => return Ok(Some(Command::Print(machine_help()))),
            "type" => match need()? {
                "help" | "?" => return Ok(Some(Command::Print(machine_help()))),
                "virt" => {}
                other => {
                    return Err(CliError(format!(
                        "unsupported machine type '{other}' (ferrite models only 'virt'; -M help)"
                    )))
                }
            },
            "dumpdtb" => {
                let f = need()?;
                if f.is_empty() {
                    return Err(CliError("-machine dumpdtb= needs a file name".into()));
                }
                o.dumpdtb = Some(PathBuf::from(f));
            }
            "gic-version" => {
                if need()? != "2" {
                    return Err(CliError(format!(
                        "-machine gic-version={}: only GICv2 is modelled (gic-version=2)",
                        need()?
                    )));
                }
            }
            "dtb-randomness" | "dtb-kaslr-seed" => {
                let on = parse_bool(need()?).ok_or_else(|| {
                    CliError(format!(
                        "-machine {key}={}: expected on or off",
                        val.unwrap_or("")
                    ))
                })?;
                o.dtb_randomness = if on {
                    DtbRandomness::On
                } else {
                    DtbRandomness::Off
                };
            }
            _ => {
                return Err(CliError(format!(
                    "-machine: unsupported property '{key}' (supported: dumpdtb, gic-version, dtb-randomness)"
                )))
            }
        }
    }
    Ok(None)
}

fn apply_cpu(o: &mut SysOptions, v: &str) -> Result<Option<Command>, CliError> {
    let mut parts = v.split(',');
    let name = parts.next().unwrap_or("");
    if name == "help" || name == "?" {
        return Ok(Some(Command::Print(cpu_help())));
    }
    let Some(&(_, model, _)) = CPUS.iter().find(|c| c.0 == name) else {
        return Err(CliError(format!(
            "unknown CPU model '{name}' (try -cpu help)"
        )));
    };
    for prop in parts {
        // Pointer authentication is never advertised, so turning it off changes nothing
        // (command lines tuned for QEMU's `max` carry `pauth=off`).
        match prop.split_once('=') {
            Some(("pauth", v)) if parse_bool(v) == Some(false) => {}
            _ => {
                return Err(CliError(format!(
                    "-cpu {v}: unsupported CPU property '{prop}'"
                )))
            }
        }
    }
    o.cpu = model;
    Ok(None)
}

fn apply_ram(o: &mut SysOptions, v: &str) -> Result<(), CliError> {
    let mut size = None;
    for (i, part) in v.split(',').enumerate() {
        match part.split_once('=') {
            Some(("size", s)) => size = Some(s),
            None if i == 0 => size = Some(part),
            Some((key, _)) => {
                return Err(CliError(format!(
                    "-m {v}: unsupported parameter '{key}' (memory hotplug is not modelled)"
                )))
            }
            None => return Err(CliError(format!("-m {v}: unexpected '{part}'"))),
        }
    }
    let text = size.unwrap_or("");
    let bytes = parse_size_mib(text).ok_or_else(|| {
        CliError(format!(
            "-m {v}: invalid size (a number of MiB, or with a suffix B, K, M, G or T)"
        ))
    })?;
    if bytes == 0 {
        return Err(CliError(format!("-m {v}: RAM size must not be zero")));
    }
    let rounded = bytes
        .checked_add(RAM_ALIGN - 1)
        .map(|b| b & !(RAM_ALIGN - 1))
        .filter(|&b| b <= MAX_RAM)
        .ok_or_else(|| {
            CliError(format!(
                "-m {v}: too much RAM for the virt machine (at most 255G)"
            ))
        })?;
    o.ram_size = rounded;
    Ok(())
}

fn apply_smp(o: &mut SysOptions, v: &str) -> Result<(), CliError> {
    let mut more_than_one = false;
    for (i, part) in v.split(',').enumerate() {
        let (key, val) = match part.split_once('=') {
            Some((k, x)) => (k, x),
            None if i == 0 => ("cpus", part),
            None => return Err(CliError(format!("-smp {v}: unexpected '{part}'"))),
        };
        if !matches!(
            key,
            "cpus" | "maxcpus" | "sockets" | "dies" | "clusters" | "cores" | "threads"
        ) {
            return Err(CliError(format!("-smp {v}: unknown parameter '{key}'")));
        }
        let n: u64 = val
            .parse()
            .map_err(|_| CliError(format!("-smp {v}: '{val}' is not a number")))?;
        more_than_one |= n != 1;
    }
    if more_than_one {
        return Err(CliError(format!(
            "-smp {v}: only 1 CPU is supported for now (SMP is not implemented yet)"
        )));
    }
    o.smp = 1;
    Ok(())
}

fn apply_log(o: &mut SysOptions, v: &str) -> Result<Option<Command>, CliError> {
    for name in v.split(',').filter(|n| !n.is_empty()) {
        if name == "help" || name == "?" {
            return Ok(Some(Command::Print(log_help())));
        }
        let Some(&(_, item, _)) = D_ITEMS.iter().find(|d| d.0 == name) else {
            return Err(CliError(format!("unknown log item '{name}' (try -d help)")));
        };
        match item {
            DItem::Log(i) => o.log_items |= i as u32,
            DItem::Sys(b) => o.sys_log |= b,
        }
    }
    Ok(None)
}

/// Parse the arguments after `argv[0]`.
pub fn parse(args: &[OsString]) -> Result<Command, CliError> {
    let mut o = SysOptions::default();
    let mut serial: Option<Serial> = None;
    let mut i = 0;
    while i < args.len() {
        let raw = &args[i];
        let a = os_str(raw, "option")?;
        if !a.starts_with('-') || a == "-" || a == "--" {
            return Err(CliError(format!(
                "unexpected argument '{a}' (disk images are not supported yet; try -h)"
            )));
        }
        let name = a.strip_prefix("--").unwrap_or(&a[1..]);
        let Some(opt) = OPTS.iter().find(|o| o.names.contains(&name)) else {
            return Err(CliError(format!("{a}: invalid option (try -h)")));
        };
        let val: Option<&OsString> = if opt.arg.is_some() {
            i += 1;
            Some(
                args.get(i)
                    .ok_or_else(|| CliError(format!("{a}: requires an argument")))?,
            )
        } else {
            None
        };
        i += 1;
        let text = || {
            os_str(
                val.map_or(OsStr::new(""), |v| v.as_os_str()),
                &format!("the argument of {a}"),
            )
        };
        let path = || PathBuf::from(val.cloned().unwrap_or_default());
        let printed = match opt.names[0] {
            "h" => Some(Command::Print(usage())),
            "version" => Some(Command::Print(format!("{PROG} version {VERSION}\n"))),
            "M" => apply_machine(&mut o, &text()?)?,
            "cpu" => apply_cpu(&mut o, &text()?)?,
            "m" => {
                apply_ram(&mut o, &text()?)?;
                None
            }
            "smp" => {
                apply_smp(&mut o, &text()?)?;
                None
            }
            "kernel" => {
                o.kernel = Some(path());
                None
            }
            "initrd" => {
                o.initrd = Some(path());
                None
            }
            "append" => {
                o.append = Some(text()?);
                None
            }
            "dtb" => {
                o.dtb = Some(path());
                None
            }
            "nographic" => {
                o.nographic = true;
                None
            }
            "serial" => {
                serial = Some(match text()?.as_str() {
                    "stdio" => Serial::Stdio,
                    "mon:stdio" => Serial::MonStdio,
                    other => {
                        return Err(CliError(format!(
                            "-serial {other}: unsupported backend (ferrite has stdio and mon:stdio)"
                        )))
                    }
                });
                None
            }
            "no-reboot" => {
                o.no_reboot = true;
                None
            }
            "d" => apply_log(&mut o, &text()?)?,
            "D" => {
                o.log_file = Some(path());
                None
            }
            _ => unreachable!("option table and parse() disagree"),
        };
        if let Some(cmd) = printed {
            return Ok(cmd);
        }
    }
    // ferrite has no display, so the console is always on stdio; like QEMU's
    // -nographic, the default multiplexes the Ctrl-A commands onto it.
    o.serial = serial.unwrap_or(Serial::MonStdio);
    if o.kernel.is_none() {
        for (given, opt) in [
            (o.initrd.is_some(), "-initrd"),
            (o.append.is_some(), "-append"),
            (o.dtb.is_some(), "-dtb"),
        ] {
            if given {
                return Err(CliError(format!("{opt} is only allowed with -kernel")));
            }
        }
        if o.dumpdtb.is_none() {
            return Err(CliError(
                "no -kernel given: nothing to boot (firmware and disk boot are not supported)"
                    .into(),
            ));
        }
    }
    Ok(Command::Run(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Command, CliError> {
        let v: Vec<OsString> = args.iter().map(OsString::from).collect();
        parse(&v)
    }

    fn run(args: &[&str]) -> SysOptions {
        match p(args) {
            Ok(Command::Run(o)) => o,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    fn err(args: &[&str]) -> String {
        match p(args) {
            Err(CliError(e)) => {
                assert!(!e.contains('\n'), "one line: {e}");
                e
            }
            other => panic!("{args:?} should fail: {other:?}"),
        }
    }

    fn printed(args: &[&str]) -> String {
        match p(args) {
            Ok(Command::Print(s)) => s,
            other => panic!("{args:?} should print: {other:?}"),
        }
    }

    #[test]
    fn full_qemu_command_line() {
        let o = run(&[
            "-M",
            "virt",
            "-cpu",
            "cortex-a57",
            "-m",
            "1G",
            "-smp",
            "1",
            "-nographic",
            "-no-reboot",
            "-kernel",
            "Image",
            "-initrd",
            "initrd.gz",
            "-append",
            "console=ttyAMA0 rdinit=/init",
            "-serial",
            "mon:stdio",
            "-d",
            "int,in_asm,guest_errors",
            "-D",
            "log.txt",
        ]);
        assert_eq!(o.cpu, CpuModel::CortexA57);
        assert_eq!(o.ram_size, 1 << 30);
        assert_eq!(o.smp, 1);
        assert!(o.nographic && o.no_reboot);
        assert_eq!(o.kernel, Some(PathBuf::from("Image")));
        assert_eq!(o.initrd, Some(PathBuf::from("initrd.gz")));
        assert_eq!(o.append.as_deref(), Some("console=ttyAMA0 rdinit=/init"));
        assert_eq!(o.serial, Serial::MonStdio);
        assert_eq!(o.log_items, log::Item::InAsm as u32);
        assert_eq!(o.sys_log, D_INT | D_GUEST_ERRORS);
        assert_eq!(o.log_file, Some(PathBuf::from("log.txt")));
        assert_eq!(o.dumpdtb, None);
    }

    #[test]
    fn defaults() {
        let o = run(&["-kernel", "k"]);
        assert_eq!(o.cpu, CpuModel::Max);
        assert_eq!(o.ram_size, 128 << 20);
        assert_eq!(o.serial, Serial::MonStdio);
        assert_eq!(o.dtb_randomness, DtbRandomness::Default);
        assert_eq!(
            run(&["-kernel", "k", "-serial", "stdio"]).serial,
            Serial::Stdio
        );
        // Double dashes, as QEMU accepts them.
        assert_eq!(run(&["--kernel", "k", "--m", "256"]).ram_size, 256 << 20);
    }

    #[test]
    fn machine_properties_accumulate() {
        let o = run(&["-M", "virt", "-machine", "dumpdtb=out.dtb"]);
        assert_eq!(o.dumpdtb, Some(PathBuf::from("out.dtb")));
        let o = run(&[
            "-machine",
            "virt,gic-version=2,dumpdtb=a,dtb-randomness=off",
        ]);
        assert_eq!(o.dumpdtb, Some(PathBuf::from("a")));
        assert_eq!(o.dtb_randomness, DtbRandomness::Off);
        let o = run(&["-M", "type=virt,dtb-kaslr-seed=on,dumpdtb=b"]);
        assert_eq!(o.dtb_randomness, DtbRandomness::On);
        assert!(printed(&["-M", "help"]).contains("virt"));
        assert!(printed(&["-machine", "?"]).contains("virt"));
        assert!(err(&["-M", "raspi3b"]).contains("unsupported machine type 'raspi3b'"));
        assert!(err(&["-M", "virt,gic-version=3"]).contains("only GICv2"));
        assert!(err(&["-M", "virt,highmem=off"]).contains("unsupported property 'highmem'"));
        assert!(err(&["-M", "virt,dumpdtb="]).contains("needs a file name"));
        assert!(err(&["-M", "virt,dtb-randomness=maybe"]).contains("expected on or off"));
    }

    #[test]
    fn cpu_models() {
        for (name, model) in [
            ("max", CpuModel::Max),
            ("cortex-a72", CpuModel::CortexA72),
            ("cortex-a57", CpuModel::CortexA57),
            ("cortex-a53", CpuModel::CortexA53),
        ] {
            assert_eq!(run(&["-kernel", "k", "-cpu", name]).cpu, model);
            assert_eq!(model.name(), name);
        }
        assert_eq!(
            run(&["-kernel", "k", "-cpu", "max,pauth=off"]).cpu,
            CpuModel::Max
        );
        let help = printed(&["-cpu", "help"]);
        assert!(help.contains("cortex-a57") && help.contains("max"));
        assert!(err(&["-cpu", "cortex-a15"]).contains("unknown CPU model 'cortex-a15'"));
        assert!(err(&["-cpu", "max,sve=on"]).contains("unsupported CPU property 'sve=on'"));
    }

    #[test]
    fn ram_sizes_as_qemu() {
        let m = |s: &str| run(&["-kernel", "k", "-m", s]).ram_size;
        assert_eq!(m("1G"), 1 << 30);
        assert_eq!(m("1g"), 1 << 30);
        assert_eq!(m("512M"), 512 << 20);
        assert_eq!(m("512m"), 512 << 20);
        assert_eq!(m("100"), 100 << 20); // no suffix: MiB
        assert_eq!(m("1.5G"), 3 << 29);
        assert_eq!(m("size=256M"), 256 << 20);
        assert_eq!(m("64k"), 64 << 10);
        // Rounded up to 8 KiB, as QEMU does (1001K -> 1008K, 100B -> 8K).
        assert_eq!(m("1001K"), 1008 << 10);
        assert_eq!(m("100B"), 8 << 10);
        assert_eq!(m("255G"), 255 << 30);
        for bad in [
            "",
            "G",
            "1.5",
            "1x",
            "-1",
            "0x100",
            "1,5G",
            "1.G",
            "1..5G",
            "99999999999999999999",
        ] {
            assert!(
                err(&["-kernel", "k", "-m", bad]).starts_with("-m "),
                "{bad}"
            );
        }
        assert!(err(&["-m", "0"]).contains("must not be zero"));
        assert!(err(&["-m", "256G"]).contains("too much RAM"));
        assert!(err(&["-m", "1E"]).contains("too much RAM"));
        assert!(err(&["-m", "16E"]).contains("invalid size"));
        assert!(err(&["-m", "1G,slots=2"]).contains("unsupported parameter 'slots'"));
    }

    #[test]
    fn smp_only_one() {
        assert_eq!(run(&["-kernel", "k", "-smp", "1"]).smp, 1);
        assert_eq!(
            run(&["-kernel", "k", "-smp", "cpus=1,sockets=1,cores=1,threads=1"]).smp,
            1
        );
        for bad in ["2", "cpus=4", "1,cores=2", "1,maxcpus=8"] {
            let e = err(&["-kernel", "k", "-smp", bad]);
            assert!(e.contains("only 1 CPU is supported"), "{bad}: {e}");
        }
        assert!(err(&["-smp", "two"]).contains("not a number"));
        assert!(err(&["-smp", "1,books=1"]).contains("unknown parameter 'books'"));
    }

    #[test]
    fn log_items() {
        let o = run(&[
            "-kernel",
            "k",
            "-d",
            "in_asm,int,mmu,unimp,guest_errors,exec,stats",
        ]);
        assert_eq!(o.sys_log, D_INT | D_MMU | D_GUEST_ERRORS);
        let want = log::Item::InAsm as u32
            | log::Item::Unimp as u32
            | log::Item::Exec as u32
            | log::Item::Stats as u32;
        assert_eq!(o.log_items, want);
        let help = printed(&["-d", "help"]);
        for item in [
            "in_asm",
            "int",
            "mmu",
            "unimp",
            "guest_errors",
            "exec",
            "stats",
        ] {
            assert!(help.contains(item), "{item}");
        }
        assert!(err(&["-d", "strace"]).contains("unknown log item 'strace'"));
    }

    #[test]
    fn bad_command_lines() {
        assert_eq!(
            err(&["-kernel", "k", "-foo"]),
            "-foo: invalid option (try -h)"
        );
        assert_eq!(err(&["-kernel"]), "-kernel: requires an argument");
        assert_eq!(err(&["-m"]), "-m: requires an argument");
        assert!(err(&["-kernel", "k", "disk.img"]).contains("unexpected argument 'disk.img'"));
        assert!(err(&["-kernel", "k", "-serial", "pty"]).contains("unsupported backend"));
        assert!(err(&[]).contains("no -kernel given"));
        assert!(err(&["-nographic"]).contains("no -kernel given"));
        assert_eq!(
            err(&["-initrd", "i"]),
            "-initrd is only allowed with -kernel"
        );
        assert_eq!(
            err(&["-append", "x"]),
            "-append is only allowed with -kernel"
        );
        assert_eq!(err(&["-dtb", "x"]), "-dtb is only allowed with -kernel");
        // dumpdtb alone is a complete request, as in QEMU.
        assert!(run(&["-M", "virt,dumpdtb=x"]).kernel.is_none());
    }

    #[test]
    fn help_and_version() {
        let h = printed(&["-h"]);
        assert!(h.contains(README_SECTION));
        for o in OPTS {
            assert!(h.contains(&format!("-{}", o.names[0])));
        }
        assert_eq!(printed(&["--help"]), h);
        // Help wins even after a bad option value would have been seen later.
        assert_eq!(printed(&["-h", "-foo"]), h);
        assert_eq!(
            printed(&["-version"]),
            format!("{PROG} version {VERSION}\n")
        );
    }

    #[test]
    fn non_utf8_paths_are_kept() {
        use std::os::unix::ffi::OsStringExt;
        let args = vec![
            OsString::from("-kernel"),
            OsString::from_vec(vec![b'k', 0xff]),
        ];
        match parse(&args) {
            Ok(Command::Run(o)) => {
                assert_eq!(
                    o.kernel.unwrap().into_os_string().into_vec(),
                    vec![b'k', 0xff]
                )
            }
            other => panic!("{other:?}"),
        }
    }
}
