//! Command-line and environment options, spelled as qemu-aarch64 spells them.
//!
//! Every `FERRITE_*` variable (or its `QEMU_*` twin, honoured as a fallback so existing
//! setups keep working) is applied first; command-line flags then override them.
//! `--opt` means `-opt`; a bare `--` ends the options; the first non-option word is
//! the guest program.
//!
//! [`parse_invocation`] looks at ferrite's whole argv first: `--binfmt …` manages the
//! binfmt_misc registration ([`super::binfmt`]), and when binfmt_misc started ferrite
//! the command line is the guest's alone (no ferrite options are parsed from it, so a
//! guest `-h` reaches the guest). When the kernel marks the start as secure
//! (`AT_SECURE`: a set-user-ID program under the `C` flag) the `FERRITE_*`/`QEMU_*`
//! variables are ignored, as `ld.so` ignores `LD_*` then.
//!
//! Arguments are `OsString`s: a guest argument need not be UTF-8 (options must be).

use std::ffi::{OsStr, OsString};

use super::binfmt;
use super::Options;
use crate::log;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// An I/O error as a user should read it: the system's text ("No such file or
/// directory"), without the " (os error 2)" that Rust's `Display` appends.
pub(crate) fn io_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    match e.raw_os_error() {
        Some(n) => s
            .strip_suffix(&format!(" (os error {n})"))
            .map(str::to_string)
            .unwrap_or(s),
        None => s,
    }
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    Run {
        options: Options,
        program: String,
        args: Vec<OsString>,
    },
    /// Print this text to stdout and exit 0.
    Print(String),
    /// `--binfmt …`: manage the binfmt_misc registration.
    Binfmt(binfmt::Request),
}

/// A usage error: one line for the user, exit status 1.
#[derive(Debug)]
pub struct CliError(pub String);

struct Opt {
    names: &'static [&'static str],
    env: &'static str,
    arg: Option<&'static str>,
    help: &'static str,
}

const OPTS: &[Opt] = &[
    Opt {
        names: &["h", "help"],
        env: "",
        arg: None,
        help: "print this help",
    },
    Opt {
        names: &["g"],
        env: "GDB",
        arg: Some("port|path"),
        help: "wait for gdb on a TCP port or Unix socket path (README: Debugging with gdb)",
    },
    Opt {
        names: &["L"],
        env: "LD_PREFIX",
        arg: Some("path"),
        help: "set the elf interpreter prefix and absolute-path prefix",
    },
    Opt {
        names: &["s"],
        env: "STACK_SIZE",
        arg: Some("size"),
        help: "set the guest stack size in bytes (k/M/G suffixes)",
    },
    Opt {
        names: &["cpu"],
        env: "CPU",
        arg: Some("model"),
        help: "select CPU (-cpu help for a list)",
    },
    Opt {
        names: &["E"],
        env: "SET_ENV",
        arg: Some("var=value"),
        help: "set targets environment variable (-E a=1,b=2)",
    },
    Opt {
        names: &["U"],
        env: "UNSET_ENV",
        arg: Some("var"),
        help: "unset targets environment variable",
    },
    Opt {
        names: &["0"],
        env: "ARGV0",
        arg: Some("argv0"),
        help: "forces target process argv[0] to be 'argv0'",
    },
    Opt {
        names: &["d"],
        env: "LOG",
        arg: Some("item[,...]"),
        help: "enable logging of specified items (-d help for a list)",
    },
    Opt {
        names: &["dfilter"],
        env: "DFILTER",
        arg: Some("range[,...]"),
        help: "log in_asm/op/out_asm only for blocks in these guest ranges (0x1000+0x100, 0x1000..0x2000)",
    },
    Opt {
        names: &["D"],
        env: "LOG_FILENAME",
        arg: Some("logfile"),
        help: "write logs to 'logfile' (default stderr)",
    },
    Opt {
        names: &["strace"],
        env: "STRACE",
        arg: None,
        help: "log system calls",
    },
    Opt {
        names: &["r"],
        env: "UNAME",
        arg: Some("release"),
        help: "the release uname reports to the guest (uname -r)",
    },
    Opt {
        names: &["seed"],
        env: "RAND_SEED",
        arg: Some("number"),
        help: "seed AT_RANDOM and getrandom: repeatable runs",
    },
    Opt {
        names: &["B"],
        env: "GUEST_BASE",
        arg: Some("address"),
        help: "guest_base: only 0 (guest addresses are host addresses)",
    },
    Opt {
        names: &["R"],
        env: "RESERVED_VA",
        arg: Some("size"),
        help: "reserved guest address space: only 0 (none is reserved)",
    },
    Opt {
        names: &["one-insn-per-tb"],
        env: "ONE_INSN_PER_TB",
        arg: None,
        help: "translate one guest instruction per block",
    },
    Opt {
        names: &["singlestep"],
        env: "SINGLESTEP",
        arg: None,
        help: "the old name of -one-insn-per-tb",
    },
    Opt {
        names: &["perfmap"],
        env: "PERFMAP",
        arg: None,
        help: "write /tmp/perf-PID.map (translated blocks by guest address, for perf)",
    },
    Opt {
        names: &["jitdump"],
        env: "JITDUMP",
        arg: None,
        help: "write /tmp/jit-PID.dump (translated blocks with their code, for perf inject)",
    },
    Opt {
        names: &["version"],
        env: "VERSION",
        arg: None,
        help: "display version information and exit",
    },
];

fn usage() -> String {
    let mut s = format!(
        "usage: ferrite-aarch64 [options] program [arguments...]\n\
         Linux arm64 (AArch64) user-mode translator for x86-64 hosts, version {VERSION}\n\n\
         Options and inputs:\n"
    );
    for o in OPTS {
        let name = format!("-{}", o.names[0]);
        let arg = o.arg.unwrap_or("");
        let env = if o.env.is_empty() {
            String::new()
        } else {
            format!("FERRITE_{}", o.env)
        };
        s += &format!("{name:<17} {arg:<11} {env:<25} {}\n", o.help);
    }
    s += "\nbinfmt_misc (see README.md, \"binfmt_misc and arm64 chroots\"):\n";
    s += binfmt::USAGE;
    s += "\nEach FERRITE_* variable falls back to the QEMU_* variable of the same name.\n\
          Defaults:\n  FERRITE_LD_PREFIX  = (none)\n  FERRITE_STACK_SIZE = 8M (or RLIMIT_STACK if larger)\n\
          \nHow ferrite is organised: ARCHITECTURE.md in the source tree.\n";
    s
}

/// A number as qemu reads these options: decimal, `0x` hexadecimal or `0` octal.
fn parse_number(s: &str) -> Option<u64> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else if s.len() > 1 && s.starts_with('0') {
        u64::from_str_radix(&s[1..], 8).ok()
    } else {
        s.parse().ok()
    }
}

fn cpu_help() -> String {
    let mut s = String::from("Available CPUs:\n");
    for m in crate::arm64::model::MODELS {
        s += &format!("  {:<12} {}\n", m.name, m.description);
    }
    s
}

fn log_help() -> String {
    let mut s = String::from("Log items (comma separated):\n");
    for (n, _, h) in log::ITEMS {
        s += &format!("{n:<10} {h}\n");
    }
    s
}

/// Parse a size with an optional k/M/G suffix.
pub fn parse_size(s: &str) -> Option<u64> {
    let (num, mult) = match s.chars().last()? {
        'k' | 'K' => (&s[..s.len() - 1], 1u64 << 10),
        'm' | 'M' => (&s[..s.len() - 1], 1 << 20),
        'g' | 'G' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>().ok()?.checked_mul(mult)
}

struct State {
    options: Options,
    log_items: u32,
    log_file: Option<String>,
}

fn apply(st: &mut State, name: &str, val: Option<String>) -> Result<Option<Command>, CliError> {
    let v = || val.clone().unwrap_or_default();
    match name {
        "h" | "help" => return Ok(Some(Command::Print(usage()))),
        "version" => {
            return Ok(Some(Command::Print(format!(
                "ferrite-aarch64 version {VERSION}\n"
            ))))
        }
        "L" => st.options.prefix = Some(v().into()),
        "g" => st.options.gdb = Some(crate::gdb::Listen::parse(&v()).map_err(CliError)?),
        "s" => {
            let n = parse_size(&v())
                .filter(|&n| n > 0)
                .ok_or_else(|| CliError(format!("invalid stack size: {}", v())))?;
            st.options.stack_size = Some(n);
        }
        "cpu" => {
            if v() == "help" || v() == "?" {
                return Ok(Some(Command::Print(cpu_help())));
            }
            let model = v().split(',').next().unwrap_or("").to_string();
            if crate::arm64::model::find(&model).is_none() {
                return Err(CliError(format!(
                    "unknown CPU model '{model}' (try -cpu help)"
                )));
            }
            st.options.cpu = Some(model);
        }
        "E" => {
            for kv in v().split(',').filter(|s| !s.is_empty()) {
                let (k, val) = kv
                    .split_once('=')
                    .ok_or_else(|| CliError(format!("-E expects var=value, got '{kv}'")))?;
                st.options.set_env.push((k.to_string(), val.to_string()));
            }
        }
        "U" => st
            .options
            .unset_env
            .extend(v().split(',').filter(|s| !s.is_empty()).map(String::from)),
        "0" => st.options.argv0 = Some(v()),
        "d" => {
            if v() == "help" {
                return Ok(Some(Command::Print(log_help())));
            }
            st.log_items |= log::parse_items(&v())
                .map_err(|bad| CliError(format!("unknown log item '{bad}' (try -d help)")))?;
        }
        "D" => st.log_file = Some(v()),
        "dfilter" => log::set_dfilter(log::parse_dfilter(&v()).map_err(CliError)?),
        "strace" => st.log_items |= log::Item::Strace as u32,
        "r" => {
            // struct utsname's fields hold 64 bytes and a NUL.
            if v().len() > 64 {
                return Err(CliError(format!(
                    "-r: release '{}' is longer than the 64 bytes uname can report",
                    v()
                )));
            }
            st.options.uname_release = Some(v());
        }
        "seed" => {
            let n = parse_number(&v()).ok_or_else(|| {
                CliError(format!(
                    "invalid -seed '{}': expected a number (decimal or 0x hexadecimal)",
                    v()
                ))
            })?;
            st.options.seed = Some(n);
        }
        "B" => match parse_number(&v()) {
            Some(0) => {}
            Some(_) => {
                return Err(CliError(format!(
                    "-B {}: ferrite runs the guest at guest_base 0 (guest addresses are host addresses); only -B 0 is accepted",
                    v()
                )))
            }
            None => return Err(CliError(format!("invalid -B address '{}'", v()))),
        },
        "R" => match parse_number(&v()).or_else(|| parse_size(&v())) {
            Some(0) => {}
            Some(_) => {
                return Err(CliError(format!(
                    "-R {}: ferrite does not reserve a guest address space (the guest shares the host's); only -R 0 is accepted",
                    v()
                )))
            }
            None => return Err(CliError(format!("invalid -R size '{}'", v()))),
        },
        "one-insn-per-tb" | "singlestep" => st.options.one_insn_per_tb = true,
        "perfmap" => st.log_items |= log::Item::PerfMap as u32,
        "jitdump" => st.log_items |= log::Item::JitDump as u32,
        _ => unreachable!("option table and apply() disagree"),
    }
    Ok(None)
}

/// Parse ferrite's whole argv (`argv[0]` included), knowing how the kernel started it
/// (`aux`: ferrite's own auxv).
pub fn parse_invocation(
    argv: &[OsString],
    env: &dyn Fn(&str) -> Option<String>,
    aux: &binfmt::HostAux,
) -> Result<Command, CliError> {
    let no_env = |_: &str| None;
    let env: &dyn Fn(&str) -> Option<String> = if aux.secure { &no_env } else { env };
    if let Some(inv) = binfmt::detect(argv, aux, |a| a.as_encoded_bytes().to_vec()) {
        let mut st = State::new();
        if let Some(cmd) = apply_env(&mut st, env)? {
            return Ok(cmd);
        }
        st.options.binfmt = Some(inv.start);
        let program = utf8(&inv.program, "program path")?;
        return finish(st, program, inv.argv);
    }
    let args = argv.get(1..).unwrap_or(&[]);
    if matches!(
        args.first().and_then(|a| a.to_str()),
        Some("--binfmt" | "-binfmt")
    ) {
        let words = args[1..]
            .iter()
            .map(|a| utf8(a, "--binfmt argument"))
            .collect::<Result<Vec<_>, _>>()?;
        return binfmt::parse_request(&words)
            .map(Command::Binfmt)
            .map_err(CliError);
    }
    parse(args, env)
}

fn utf8(a: &OsStr, what: &str) -> Result<String, CliError> {
    a.to_str()
        .map(String::from)
        .ok_or_else(|| CliError(format!("{what} is not valid UTF-8: {a:?}")))
}

impl State {
    fn new() -> State {
        State {
            options: Options::default(),
            log_items: 0,
            log_file: None,
        }
    }
}

/// Apply the `FERRITE_*` (or `QEMU_*`) variables.
fn apply_env(
    st: &mut State,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Command>, CliError> {
    for o in OPTS.iter().filter(|o| !o.env.is_empty()) {
        let val = env(&format!("FERRITE_{}", o.env)).or_else(|| env(&format!("QEMU_{}", o.env)));
        if let Some(val) = val {
            if o.arg.is_none() {
                // Flag variables: any value but empty/"0" turns them on (-version excluded:
                // it only makes sense on the command line).
                if o.names[0] != "version" && !val.is_empty() && val != "0" {
                    apply(st, o.names[0], None)?;
                }
            } else if let Some(cmd) = apply(st, o.names[0], Some(val))? {
                return Ok(Some(cmd));
            }
        }
    }
    Ok(None)
}

/// Parse `args` (without ferrite's own argv[0]) and the environment.
pub fn parse(args: &[OsString], env: &dyn Fn(&str) -> Option<String>) -> Result<Command, CliError> {
    let mut st = State::new();
    // Environment first.
    if let Some(cmd) = apply_env(&mut st, env)? {
        return Ok(cmd);
    }
    let mut i = 0;
    while i < args.len() {
        let raw = &args[i];
        if raw == "--" {
            i += 1;
            break;
        }
        if !raw.as_encoded_bytes().starts_with(b"-") || raw == "-" {
            break;
        }
        let a = &utf8(raw, "option")?;
        let name = a.trim_start_matches('-');
        let Some(o) = OPTS.iter().find(|o| o.names.contains(&name)) else {
            return Err(CliError(format!("unknown option '{a}' (try -h)")));
        };
        let val = if o.arg.is_some() {
            i += 1;
            let v = args
                .get(i)
                .ok_or_else(|| CliError(format!("option '{a}' needs an argument")))?;
            Some(utf8(v, &format!("the argument of '{a}'"))?)
        } else {
            None
        };
        if let Some(cmd) = apply(&mut st, o.names[0], val)? {
            return Ok(cmd);
        }
        i += 1;
    }
    let Some(program) = args.get(i) else {
        return Err(CliError("no program given (try -h)".into()));
    };
    let program = utf8(program, "program path")?;
    finish(st, program, args[i..].to_vec())
}

/// Turn on logging and build the `Run` command.
fn finish(st: State, program: String, args: Vec<OsString>) -> Result<Command, CliError> {
    log::enable(st.log_items);
    if let Some(f) = &st.log_file {
        log::set_file(f)
            .map_err(|e| CliError(format!("cannot open log file {f}: {}", io_text(&e))))?;
    }
    Ok(Command::Run {
        options: st.options,
        program,
        args,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    fn p(args: &[&str]) -> Result<Command, CliError> {
        let v = os(args);
        parse(&v, &|_| None)
    }

    #[test]
    fn basic_forms() {
        match p(&["-L", "/sys", "--cpu", "cortex-a72", "prog", "-x"]).unwrap() {
            Command::Run {
                options,
                program,
                args,
            } => {
                assert_eq!(options.prefix.unwrap().to_str(), Some("/sys"));
                assert_eq!(options.cpu.as_deref(), Some("cortex-a72"));
                assert_eq!(program, "prog");
                assert_eq!(args, vec!["prog", "-x"]);
            }
            c => panic!("{c:?}"),
        }
        assert!(p(&["-bogus", "x"]).is_err());
        assert!(p(&["-L"]).is_err());
        assert!(p(&["-cpu", "nope", "x"]).is_err());
        assert!(matches!(p(&["-cpu", "help"]).unwrap(), Command::Print(_)));
        match p(&["--", "-prog"]).unwrap() {
            Command::Run { program, .. } => assert_eq!(program, "-prog"),
            c => panic!("{c:?}"),
        }
        assert_eq!(parse_size("8M"), Some(8 << 20));
        assert_eq!(parse_size("x"), None);
    }

    #[test]
    fn env_fallback_and_override() {
        let env = |k: &str| match k {
            "QEMU_LD_PREFIX" => Some("/q".to_string()),
            _ => None,
        };
        let v = os(&["prog"]);
        match parse(&v, &env).unwrap() {
            Command::Run { options, .. } => {
                assert_eq!(options.prefix.unwrap().to_str(), Some("/q"))
            }
            c => panic!("{c:?}"),
        }
    }

    #[test]
    fn binfmt_invocations() {
        let env = |k: &str| match k {
            "FERRITE_CPU" => Some("cortex-a53".to_string()),
            _ => None,
        };
        // Started by binfmt_misc with P: nothing after argv[0] is a ferrite option.
        let aux = binfmt::HostAux {
            at_flags: 1,
            execfn: Some(b"/bin/ls".to_vec()),
            ..Default::default()
        };
        let argv = os(&[
            "/usr/bin/ferrite-aarch64",
            "/bin/ls",
            "ls",
            "-h",
            "--",
            "-L",
        ]);
        match parse_invocation(&argv, &env, &aux).unwrap() {
            Command::Run {
                options,
                program,
                args,
            } => {
                assert_eq!(program, "/bin/ls");
                assert_eq!(args, vec!["ls", "-h", "--", "-L"]);
                assert_eq!(options.cpu.as_deref(), Some("cortex-a53"));
                assert_eq!(
                    options.binfmt,
                    Some(binfmt::Start {
                        preserve_argv0: true,
                        exec_fd: None
                    })
                );
            }
            c => panic!("{c:?}"),
        }
        // Secure start (setuid program under C): the environment is ignored.
        let secure = binfmt::HostAux {
            secure: true,
            execfd: Some(3),
            ..aux.clone()
        };
        match parse_invocation(&argv, &env, &secure).unwrap() {
            Command::Run { options, .. } => {
                assert_eq!(options.cpu, None);
                assert_eq!(options.binfmt.unwrap().exec_fd, Some(3));
            }
            c => panic!("{c:?}"),
        }
        // A direct run parses options as before; guest arguments may be non-UTF-8.
        let direct = binfmt::HostAux::default();
        let mut argv = os(&["ferrite-aarch64", "-cpu", "max", "prog"]);
        argv.push(std::os::unix::ffi::OsStringExt::from_vec(vec![0xff, b'x']));
        match parse_invocation(&argv, &env, &direct).unwrap() {
            Command::Run { options, args, .. } => {
                assert_eq!(options.cpu.as_deref(), Some("max"));
                assert_eq!(options.binfmt, None);
                assert_eq!(args[1].as_encoded_bytes(), b"\xffx");
            }
            c => panic!("{c:?}"),
        }
        // --binfmt requests.
        let argv = os(&["ferrite-aarch64", "--binfmt", "status", "--name", "x"]);
        assert!(matches!(
            parse_invocation(&argv, &env, &direct).unwrap(),
            Command::Binfmt(binfmt::Request::Status { .. })
        ));
        let argv = os(&["ferrite-aarch64", "--binfmt", "nope"]);
        assert!(parse_invocation(&argv, &env, &direct).is_err());
    }
}
