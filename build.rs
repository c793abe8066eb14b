//! Build script for ferrite.
//!
//! It turns the data under `syscall-tables/` into Rust. Today that is one job:
//! `syscall-tables/aarch64.tbl` (the arm64 syscall table with a policy per
//! call) becomes `$OUT_DIR/syscall_table.rs`, which `src/linux/syscall/table.rs`
//! includes. The generated file holds the `SYSCALLS` array (indexed by guest
//! number), the `nr` constants module and `dispatch()`, one `match` arm per
//! implemented call. A `translate`/`emulate` row names its handler
//! (`crate::linux::syscall::handlers::<name>`), so a row that claims an
//! implementation that does not exist fails to compile.
//!
//! A malformed table stops the build with `file:line: message` errors.
//! This script reads only the table and writes only into `$OUT_DIR`.

use std::env;
use std::fs;
use std::path::Path;
use std::process;

fn main() {
    syscall_table::generate();
}

mod syscall_table {
    use super::*;
    use std::collections::HashMap;
    use std::fmt::Write as _;

    /// Table path, relative to the package root.
    const TABLE: &str = "syscall-tables/aarch64.tbl";
    /// Guest numbers must stay below this: asm-generic numbers are < 1024
    /// (1024 and up were the never-used deprecated block), and a typo must not
    /// turn into a huge array.
    const MAX_NR: u32 = 1024;

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Policy {
        Pass,
        Translate,
        Emulate,
        Enosys,
    }

    impl Policy {
        fn parse(s: &str) -> Option<Policy> {
            match s {
                "pass" => Some(Policy::Pass),
                "translate" => Some(Policy::Translate),
                "emulate" => Some(Policy::Emulate),
                "enosys" => Some(Policy::Enosys),
                _ => None,
            }
        }

        fn variant(self) -> &'static str {
            match self {
                Policy::Pass => "Pass",
                Policy::Translate => "Translate",
                Policy::Emulate => "Emulate",
                Policy::Enosys => "Enosys",
            }
        }
    }

    struct Row {
        line: usize,
        nr: u32,
        name: String,
        policy: Policy,
        host_nr: Option<u32>,
        reason: String,
    }

    pub fn generate() {
        println!("cargo:rerun-if-changed={TABLE}");
        println!("cargo:rerun-if-changed=build.rs");

        let root = env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
        let path = Path::new(&root).join(TABLE);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => fail(&[format!("{TABLE}: cannot read: {e}")]),
        };
        let rows = match parse(&text) {
            Ok(rows) => rows,
            Err(errors) => fail(&errors),
        };
        let code = render(&rows);
        let out_dir = match env::var("OUT_DIR") {
            Ok(d) => d,
            Err(_) => fail(&["OUT_DIR is not set (run through cargo)".to_string()]),
        };
        let out = Path::new(&out_dir).join("syscall_table.rs");
        if let Err(e) = fs::write(&out, code) {
            fail(&[format!("cannot write {}: {e}", out.display())]);
        }
    }

    /// Prints every error and stops the build.
    fn fail(errors: &[String]) -> ! {
        for e in errors {
            eprintln!("error: {e}");
        }
        eprintln!(
            "error: {TABLE} is invalid ({} error(s)); see syscall-tables/README.md for the format",
            errors.len()
        );
        process::exit(1);
    }

    /// Pops the next whitespace-separated token; returns it and the rest.
    fn token(s: &str) -> Option<(&str, &str)> {
        let s = s.trim_start();
        if s.is_empty() {
            return None;
        }
        let end = s.find(char::is_whitespace).unwrap_or(s.len());
        Some((&s[..end], &s[end..]))
    }

    fn is_ident(s: &str) -> bool {
        let mut chars = s.chars();
        matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    }

    fn parse_nr(s: &str) -> Option<u32> {
        if s.is_empty()
            || !s.bytes().all(|b| b.is_ascii_digit())
            || (s.len() > 1 && s.starts_with('0'))
        {
            return None;
        }
        s.parse().ok()
    }

    fn parse(text: &str) -> Result<Vec<Row>, Vec<String>> {
        let mut rows: Vec<Row> = Vec::new();
        let mut errors = Vec::new();
        let mut names: HashMap<String, usize> = HashMap::new();
        let mut numbers: HashMap<u32, usize> = HashMap::new();

        for (idx, raw) in text.lines().enumerate() {
            let line = idx + 1;
            let content = raw.trim();
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            let mut err = |msg: String| errors.push(format!("{TABLE}:{line}: {msg}"));

            let Some((nr_s, rest)) = token(content) else {
                continue;
            };
            let Some((name, rest)) = token(rest) else {
                err(format!(
                    "expected `nr name policy host_nr reason...`, got `{content}`"
                ));
                continue;
            };
            let Some((policy_s, rest)) = token(rest) else {
                err(format!(
                    "`{name}`: missing policy, host_nr and reason columns"
                ));
                continue;
            };
            let Some((host_s, rest)) = token(rest) else {
                err(format!(
                    "`{name}`: missing host_nr and reason columns (use `-` for none)"
                ));
                continue;
            };
            let reason_s = rest.trim();
            if reason_s.is_empty() {
                err(format!(
                    "`{name}`: missing reason column (use `-` for none)"
                ));
                continue;
            }

            let Some(nr) = parse_nr(nr_s) else {
                err(format!("`{nr_s}` is not a decimal syscall number"));
                continue;
            };
            if nr >= MAX_NR {
                err(format!(
                    "`{name}`: number {nr} is out of range (must be < {MAX_NR})"
                ));
                continue;
            }
            if !is_ident(name) {
                err(format!(
                    "`{name}` is not a valid syscall name ([a-z_][a-z0-9_]*)"
                ));
                continue;
            }
            let Some(policy) = Policy::parse(policy_s) else {
                err(format!(
                    "`{name}`: unknown policy `{policy_s}` (expected pass, translate, emulate or enosys)"
                ));
                continue;
            };
            let host_nr = if host_s == "-" {
                None
            } else if let Some(h) = parse_nr(host_s) {
                Some(h)
            } else {
                err(format!(
                    "`{name}`: host_nr `{host_s}` is not a decimal number or `-`"
                ));
                continue;
            };
            let reason = if reason_s == "-" {
                String::new()
            } else {
                reason_s.to_string()
            };

            if policy == Policy::Pass && host_nr.is_none() {
                err(format!(
                    "`{name}`: policy pass needs a host (x86-64) syscall number"
                ));
            }
            if policy != Policy::Pass && reason.is_empty() {
                err(format!("`{name}`: policy {policy_s} needs a reason"));
            }
            if let Some(&first) = numbers.get(&nr) {
                err(format!(
                    "duplicate number {nr} (`{name}`; first used on line {first})"
                ));
                continue;
            }
            if let Some(&first) = names.get(name) {
                err(format!(
                    "duplicate name `{name}` (first used on line {first})"
                ));
                continue;
            }
            if let Some(prev) = rows.last() {
                if nr < prev.nr {
                    err(format!(
                        "`{name}` ({nr}) is out of order: rows must be sorted by number (previous row is {} `{}`)",
                        prev.nr, prev.name
                    ));
                }
            }
            numbers.insert(nr, line);
            names.insert(name.to_string(), line);
            rows.push(Row {
                line,
                nr,
                name: name.to_string(),
                policy,
                host_nr,
                reason,
            });
        }
        if rows.is_empty() && errors.is_empty() {
            errors.push(format!("{TABLE}: no syscall rows"));
        }
        if errors.is_empty() {
            Ok(rows)
        } else {
            Err(errors)
        }
    }

    /// Rust keywords that a syscall name could collide with; emitted as raw identifiers.
    const KEYWORDS: &[&str] = &[
        "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "do",
        "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in",
        "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
        "return", "static", "struct", "trait", "true", "try", "type", "typeof", "unsafe",
        "unsized", "use", "virtual", "where", "while", "yield",
    ];

    fn ident(name: &str) -> String {
        if KEYWORDS.contains(&name) {
            format!("r#{name}")
        } else {
            name.to_string()
        }
    }

    fn render(rows: &[Row]) -> String {
        let len = rows
            .iter()
            .map(|r| r.nr)
            .max()
            .map_or(0, |m| m as usize + 1);
        let mut by_nr: Vec<Option<&Row>> = vec![None; len];
        for r in rows {
            by_nr[r.nr as usize] = Some(r);
        }

        let mut o = String::new();
        o.push_str("// @generated by build.rs from syscall-tables/aarch64.tbl — do not edit\n");
        o.push_str("//\n// Included by src/linux/syscall/table.rs, which defines `SyscallInfo` and `Policy`.\n\n");

        let _ = writeln!(
            o,
            "/// Number of slots in [`SYSCALLS`]: the highest guest syscall number + 1."
        );
        let _ = writeln!(o, "pub const TABLE_LEN: usize = {len};\n");

        let _ = writeln!(o, "/// Every arm64 syscall, indexed by guest number; `None` for numbers unassigned on arm64.");
        let _ = writeln!(
            o,
            "pub static SYSCALLS: [Option<SyscallInfo>; TABLE_LEN] = ["
        );
        for (nr, slot) in by_nr.iter().enumerate() {
            match slot {
                None => {
                    let _ = writeln!(o, "    None, // {nr}");
                }
                Some(r) => {
                    let host = match r.host_nr {
                        Some(h) => format!("Some({h})"),
                        None => "None".to_string(),
                    };
                    let _ = writeln!(
                        o,
                        "    Some(SyscallInfo {{ nr: {}, name: {:?}, policy: Policy::{}, host_nr: {}, reason: {:?} }}),",
                        r.nr,
                        r.name,
                        r.policy.variant(),
                        host,
                        r.reason
                    );
                }
            }
        }
        o.push_str("];\n\n");

        o.push_str("/// Guest (arm64) syscall numbers, one constant per table row.\n");
        o.push_str("pub mod nr {\n");
        for r in rows {
            let _ = writeln!(
                o,
                "    pub const {}: u64 = {};",
                r.name.to_ascii_uppercase(),
                r.nr
            );
        }
        o.push_str("}\n\n");

        o.push_str(
            "/// Runs guest syscall `nr` with arguments `a` (x0..x5) and returns the value for x0\n\
             /// (a negative errno on failure).\n\
             ///\n\
             /// `pass` rows go straight to the host call, `translate`/`emulate` rows to their handler\n\
             /// in `crate::linux::syscall::handlers`, everything else (enosys rows and unassigned\n\
             /// numbers) to `crate::linux::syscall::enosys`.\n",
        );
        o.push_str("#[inline]\n");
        // SyscallCtx may carry lifetimes; the elided form works either way.
        o.push_str("#[allow(elided_lifetimes_in_paths)]\n");
        o.push_str("pub fn dispatch(ctx: &mut crate::linux::syscall::SyscallCtx, nr: u64, a: [u64; 6]) -> i64 {\n");
        o.push_str("    match nr {\n");
        for r in rows {
            match r.policy {
                Policy::Pass => {
                    // A pass row always has a host number (checked in parse).
                    let host = r.host_nr.unwrap_or_default();
                    let _ = writeln!(
                        o,
                        "        {} => crate::linux::syscall::pass_through({host}, a), // {} (line {})",
                        r.nr, r.name, r.line
                    );
                }
                Policy::Translate | Policy::Emulate => {
                    let _ = writeln!(
                        o,
                        "        {} => crate::linux::syscall::handlers::{}(ctx, a), // line {}",
                        r.nr,
                        ident(&r.name),
                        r.line
                    );
                }
                Policy::Enosys => {}
            }
        }
        o.push_str("        _ => crate::linux::syscall::enosys(ctx, nr),\n");
        o.push_str("    }\n}\n");
        o
    }
}
