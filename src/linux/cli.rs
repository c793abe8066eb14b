//! Command-line and environment options, spelled as qemu-aarch64 spells them.
//!
//! Every `FERRITE_*` variable (or its `QEMU_*` twin, honoured as a fallback so existing
//! setups keep working) is applied first; command-line flags then override them.
//! `--opt` means `-opt`; a bare `--` ends the options; the first non-option word is
//! the guest program.

use super::Options;
use crate::log;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    Run {
        options: Options,
        program: String,
        args: Vec<String>,
    },
    /// Print this text to stdout and exit 0.
    Print(String),
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
        s += &format!("{name:<8} {arg:<12} {env:<24} {}\n", o.help);
    }
    s += "\nEach FERRITE_* variable falls back to the QEMU_* variable of the same name.\n\
          Defaults:\n  FERRITE_LD_PREFIX  = (none)\n  FERRITE_STACK_SIZE = 8M (or RLIMIT_STACK if larger)\n";
    s
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
        "strace" => st.log_items |= log::Item::Strace as u32,
        _ => unreachable!("option table and apply() disagree"),
    }
    Ok(None)
}

/// Parse `args` (without ferrite's own argv[0]) and the environment.
pub fn parse(args: &[String], env: &dyn Fn(&str) -> Option<String>) -> Result<Command, CliError> {
    let mut st = State {
        options: Options::default(),
        log_items: 0,
        log_file: None,
    };
    // Environment first.
    for o in OPTS.iter().filter(|o| !o.env.is_empty()) {
        let val = env(&format!("FERRITE_{}", o.env)).or_else(|| env(&format!("QEMU_{}", o.env)));
        if let Some(val) = val {
            if o.arg.is_none() {
                // Flag variables: any value but empty/"0" turns them on (-version excluded:
                // it only makes sense on the command line).
                if o.names[0] != "version" && !val.is_empty() && val != "0" {
                    apply(&mut st, o.names[0], None)?;
                }
            } else if let Some(cmd) = apply(&mut st, o.names[0], Some(val))? {
                return Ok(cmd);
            }
        }
    }
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "--" {
            i += 1;
            break;
        }
        if !a.starts_with('-') || a == "-" {
            break;
        }
        let name = a.trim_start_matches('-');
        let Some(o) = OPTS.iter().find(|o| o.names.contains(&name)) else {
            return Err(CliError(format!("unknown option '{a}' (try -h)")));
        };
        let val = if o.arg.is_some() {
            i += 1;
            Some(
                args.get(i)
                    .cloned()
                    .ok_or_else(|| CliError(format!("option '{a}' needs an argument")))?,
            )
        } else {
            None
        };
        if let Some(cmd) = apply(&mut st, o.names[0], val)? {
            return Ok(cmd);
        }
        i += 1;
    }
    let Some(program) = args.get(i).cloned() else {
        return Err(CliError("no program given (try -h)".into()));
    };
    log::enable(st.log_items);
    if let Some(f) = &st.log_file {
        log::set_file(f).map_err(|e| CliError(format!("cannot open log file {f}: {e}")))?;
    }
    Ok(Command::Run {
        options: st.options,
        program,
        args: args[i..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Command, CliError> {
        let v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
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
        let v: Vec<String> = ["prog"].iter().map(|s| s.to_string()).collect();
        match parse(&v, &env).unwrap() {
            Command::Run { options, .. } => {
                assert_eq!(options.prefix.unwrap().to_str(), Some("/q"))
            }
            c => panic!("{c:?}"),
        }
    }
}
