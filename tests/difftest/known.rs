//! The reviewed list of known cases where qemu-aarch64 (not ferrite) is wrong, or
//! where the Arm ARM allows both behaviours, read from `known-qemu-bugs.md`.
//!
//! Each entry is a `## ID: title` section holding, in an indented block, lines of the
//! form
//!
//! ```text
//! match   mask=0x… value=0x…    (one or more: the instruction word pattern)
//! differs fpsr v                (the only fields that may differ: x v sp nzcv fpsr fpcr mem status)
//! fpcr    mask=0x… value=0x…    (optional: a condition on the case's initial FPCR)
//! check   NAME                  (optional: a named predicate from [`CHECKS`])
//! ```
//!
//! A shrunk mismatch is explained by an entry when one of its instructions matches a
//! `match` line, every differing field is listed under `differs`, and the `fpcr`
//! condition and every `check` (if any) hold. The prose around the lines is the Arm
//! ARM reasoning.

use std::path::Path;

use super::gen::{Item, State};
use super::Field;

#[derive(Clone, Debug)]
pub struct Entry {
    pub id: String,
    pub matches: Vec<(u32, u32)>,
    pub differs: Vec<String>,
    pub fpcr: Option<(u64, u64)>,
    pub checks: Vec<String>,
}

/// Named predicates an entry can require, with what they mean.
pub const CHECKS: &[(&str, &str)] = &[(
    "excl-shape-mismatch",
    "a store-exclusive follows a load-exclusive of another size or pair-ness, and every \
     differing X register is the status register of such a store-exclusive",
)];

/// Does the named check hold for a shrunk mismatch?
fn check(name: &str, items: &[Item], fields: &[Field]) -> bool {
    match name {
        "excl-shape-mismatch" => {
            // size(31:30) 001000 o2(23)=0 L(22) o1(21) Rs(20:16) o0(15) Rt2 Rn Rt
            let mut last: Option<(u32, u32)> = None;
            let mut status_regs = Vec::new();
            for it in items {
                let w = it.insn;
                if w & 0x3f80_0000 != 0x0800_0000 {
                    continue;
                }
                let shape = (w >> 30, w >> 21 & 1);
                if w >> 22 & 1 == 1 {
                    last = Some(shape);
                } else {
                    if last.is_some_and(|l| l != shape) {
                        status_regs.push((w >> 16 & 31) as u8);
                    }
                    last = None;
                }
            }
            !status_regs.is_empty()
                && fields.iter().all(|f| match f {
                    Field::X(r) => status_regs.contains(r),
                    _ => true,
                })
        }
        _ => false,
    }
}

#[derive(Clone, Debug, Default)]
pub struct KnownBugs {
    pub entries: Vec<Entry>,
}

fn num(s: &str) -> Option<u64> {
    let t = s.trim();
    match t.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(&h.replace('_', ""), 16).ok(),
        None => t.parse().ok(),
    }
}

/// `mask=0x… value=0x…`.
fn mask_value(rest: &str) -> Option<(u64, u64)> {
    let mut mask = None;
    let mut value = None;
    for tok in rest.split_whitespace() {
        if let Some(v) = tok.strip_prefix("mask=") {
            mask = num(v);
        } else if let Some(v) = tok.strip_prefix("value=") {
            value = num(v);
        } else if tok.starts_with('#') {
            break;
        } else {
            return None;
        }
    }
    Some((mask?, value?))
}

impl KnownBugs {
    pub fn load(path: &Path) -> Result<KnownBugs, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        KnownBugs::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<KnownBugs, String> {
        let mut entries: Vec<Entry> = Vec::new();
        for (ln, line) in text.lines().enumerate() {
            let ln = ln + 1;
            if let Some(h) = line.strip_prefix("## ") {
                let id = h.split(':').next().unwrap_or("").trim().to_string();
                if id.is_empty() {
                    return Err(format!("line {ln}: entry heading without an id"));
                }
                entries.push(Entry {
                    id,
                    matches: Vec::new(),
                    differs: Vec::new(),
                    fpcr: None,
                    checks: Vec::new(),
                });
                continue;
            }
            if !line.starts_with("    ") {
                continue;
            }
            let t = line.trim();
            let (key, rest) = t.split_once(char::is_whitespace).unwrap_or((t, ""));
            if !matches!(key, "match" | "differs" | "fpcr" | "check") {
                continue;
            }
            let Some(e) = entries.last_mut() else {
                return Err(format!("line {ln}: `{key}` outside an entry"));
            };
            match key {
                "match" => {
                    let (m, v) = mask_value(rest)
                        .ok_or_else(|| format!("line {ln}: expected `match mask=0x… value=0x…`"))?;
                    if v & !m != 0 || m > u32::MAX as u64 {
                        return Err(format!("line {ln}: value has bits outside the mask"));
                    }
                    e.matches.push((m as u32, v as u32));
                }
                "check" => {
                    let name = rest.split_whitespace().next().unwrap_or("");
                    if !CHECKS.iter().any(|(n, _)| *n == name) {
                        return Err(format!("line {ln}: unknown check `{name}`"));
                    }
                    e.checks.push(name.to_string());
                }
                "fpcr" => {
                    e.fpcr = Some(
                        mask_value(rest)
                            .ok_or_else(|| format!("line {ln}: expected `fpcr mask=… value=…`"))?,
                    );
                }
                _ => {
                    for f in rest.split_whitespace().take_while(|t| !t.starts_with('#')) {
                        if !matches!(
                            f,
                            "x" | "v" | "sp" | "nzcv" | "fpsr" | "fpcr" | "mem" | "status"
                        ) {
                            return Err(format!("line {ln}: unknown field `{f}`"));
                        }
                        e.differs.push(f.to_string());
                    }
                }
            }
        }
        for e in &entries {
            if e.matches.is_empty() || e.differs.is_empty() {
                return Err(format!("entry {} needs `match` and `differs` lines", e.id));
            }
        }
        Ok(KnownBugs { entries })
    }

    /// The id of the entry that explains a shrunk mismatch, if one does.
    pub fn explain(&self, items: &[Item], fields: &[Field], state: &State) -> Option<String> {
        self.entries
            .iter()
            .find(|e| {
                let word_ok = items
                    .iter()
                    .any(|it| e.matches.iter().any(|&(m, v)| it.insn & m == v));
                let fpcr_ok = e.fpcr.is_none_or(|(m, v)| state.fpcr & m == v);
                let fields_ok = fields.iter().all(|f| {
                    let name = match f {
                        Field::X(_) => "x",
                        Field::V(_) => "v",
                        Field::Sp => "sp",
                        Field::Nzcv => "nzcv",
                        Field::Fpsr => "fpsr",
                        Field::Fpcr => "fpcr",
                        Field::Mem => "mem",
                        Field::Status => "status",
                    };
                    e.differs.iter().any(|d| d == name)
                });
                let checks_ok = e.checks.iter().all(|c| check(c, items, fields));
                word_ok && fpcr_ok && fields_ok && checks_ok
            })
            .map(|e| e.id.clone())
    }
}
