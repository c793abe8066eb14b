//! Differential testing of ferrite against `qemu-aarch64-static`: random straight-line
//! A64 code from the decode table ([`gen`]) wrapped in a tiny static ELF ([`elf`]),
//! run under both; final X0–X30 (not X28), SP, NZCV, FPSR, FPCR, V0–V31 and the
//! memory sandbox are compared. A mismatching case is shrunk (delta debugging over
//! its items) to the smallest sequence that still mismatches and reported with its
//! disassembly and both register dumps. Mismatches whose shrunk reproducer matches an
//! entry of `known-qemu-bugs.md` ([`known`]) count as explained; everything else fails.
//!
//! Shared by `tests/difftest.rs` (the fixed-seed run in the default suite) and the
//! `ferrite-difftest` binary behind `scripts/difftest`.

#![allow(dead_code)]

pub mod elf;
pub mod gen;
pub mod known;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ferrite::arm64::decode;
use gen::{Case, FpcrMode, GenClass, Generator, Item, State};

/// The emulators and tools a run needs.
#[derive(Clone, Debug)]
pub struct Tools {
    pub ferrite: PathBuf,
    pub qemu: PathBuf,
    /// `aarch64-linux-gnu-objdump`, if installed: a second opinion in reports.
    pub objdump: Option<PathBuf>,
}

impl Tools {
    /// `ferrite` plus `qemu-aarch64-static` and `aarch64-linux-gnu-objdump` from PATH.
    pub fn find(ferrite: PathBuf) -> Result<Tools, String> {
        if !ferrite.is_file() {
            return Err(format!(
                "{} not found: build it with `cargo build --release`",
                ferrite.display()
            ));
        }
        let qemu = which("qemu-aarch64-static").ok_or_else(|| {
            "qemu-aarch64-static not found: run scripts/setup (it installs qemu-user-static)"
                .to_string()
        })?;
        Ok(Tools {
            ferrite,
            qemu,
            objdump: which("aarch64-linux-gnu-objdump"),
        })
    }
}

/// Look a program up in PATH.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// What a run is asked to do.
#[derive(Clone, Debug)]
pub struct Config {
    pub seed: u64,
    /// Random instructions in total (rounded up to whole cases).
    pub count: usize,
    /// Random instructions per case.
    pub len: usize,
    pub classes: Vec<GenClass>,
    pub fpcr: FpcrMode,
    /// Cases per program.
    pub batch: usize,
    /// Programs run at the same time (each runs ferrite and qemu side by side).
    pub jobs: usize,
    /// Run only this case (with the same seed and options, it is the same case).
    pub only_case: Option<u64>,
    /// Unexplained mismatches shrunk and reported in full; once this many are found,
    /// further mismatching cases are only counted (explained ones are always shrunk,
    /// since only a shrunk reproducer can be matched against the known bugs).
    pub max_reports: usize,
    /// Where programs and reproducers are written.
    pub work_dir: PathBuf,
    /// Per-program time limit.
    pub timeout: Duration,
    /// `known-qemu-bugs.md`.
    pub known_bugs: PathBuf,
    pub tools: Tools,
}

impl Config {
    /// The `scripts/difftest` options that regenerate this run's case `i`.
    pub fn repro_args(&self, case: u64) -> String {
        let mut s = format!("--seed {} --len {} --case {case}", self.seed, self.len);
        let all: Vec<GenClass> = GenClass::ALL.to_vec();
        if self.classes != all {
            let names: Vec<&str> = self.classes.iter().map(|c| c.name()).collect();
            write!(s, " --class {}", names.join(",")).unwrap();
        }
        match self.fpcr {
            FpcrMode::Random => {}
            FpcrMode::Fixed(v) => write!(s, " --fpcr {v:#x}").unwrap(),
        }
        s
    }
}

/// How a process ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
    Timeout,
    Spawn(String),
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Code(c) => write!(f, "exit {c}"),
            Exit::Signal(s) => write!(f, "killed by signal {s}"),
            Exit::Timeout => write!(f, "timed out"),
            Exit::Spawn(e) => write!(f, "could not start: {e}"),
        }
    }
}

/// Output of one emulator run.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub out: Vec<u8>,
    pub err: String,
    pub exit: Exit,
}

/// Run `prog file` with a time limit, collecting stdout and stderr.
pub fn run_program(prog: &Path, file: &Path, timeout: Duration) -> Outcome {
    let mut child = match Command::new(prog)
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            return Outcome {
                out: Vec::new(),
                err: String::new(),
                exit: Exit::Spawn(format!("{}: {e}", prog.display())),
            }
        }
    };
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = so.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = se.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let exit = loop {
        match child.try_wait() {
            Ok(Some(st)) => {
                break match (st.code(), st.signal()) {
                    (Some(c), _) => Exit::Code(c),
                    (None, Some(s)) => Exit::Signal(s),
                    _ => Exit::Code(-1),
                }
            }
            Ok(None) if start.elapsed() > timeout => {
                // Our own child, by its handle.
                let _ = child.kill();
                let _ = child.wait();
                break Exit::Timeout;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => break Exit::Spawn(e.to_string()),
        }
    };
    let out = t_out.join().unwrap_or_default();
    let err = String::from_utf8_lossy(&t_err.join().unwrap_or_default()).into_owned();
    Outcome { out, err, exit }
}

/// Run the program under ferrite and qemu at the same time.
pub fn run_both(tools: &Tools, file: &Path, timeout: Duration) -> (Outcome, Outcome) {
    std::thread::scope(|s| {
        let f = s.spawn(|| run_program(&tools.ferrite, file, timeout));
        let q = run_program(&tools.qemu, file, timeout);
        (f.join().expect("runner thread"), q)
    })
}

/// One case's result from one emulator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaseOut {
    /// It ran to the end: the parsed dump.
    Done(Box<elf::Dump>),
    /// It did not finish this case: how the process ended and what it printed.
    Died { exit: Exit, err: String },
}

impl CaseOut {
    fn of(o: &Outcome, i: usize, last: bool) -> CaseOut {
        let (a, b) = (i * elf::OUT_SIZE, (i + 1) * elf::OUT_SIZE);
        let clean = o.exit == Exit::Code(0) && o.out.len().is_multiple_of(elf::OUT_SIZE);
        if o.out.len() >= b && (!last || clean) {
            CaseOut::Done(Box::new(elf::Dump::parse(&o.out[a..b])))
        } else {
            CaseOut::Died {
                exit: o.exit.clone(),
                err: o.err.lines().last().unwrap_or("").to_string(),
            }
        }
    }
}

/// What differs between two results.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Field {
    X(u8),
    Sp,
    Nzcv,
    Fpsr,
    Fpcr,
    V(u8),
    Mem,
    /// One or both did not finish (signal, error exit, timeout).
    Status,
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Field::X(r) => write!(f, "x{r}"),
            Field::Sp => write!(f, "sp"),
            Field::Nzcv => write!(f, "nzcv"),
            Field::Fpsr => write!(f, "fpsr"),
            Field::Fpcr => write!(f, "fpcr"),
            Field::V(r) => write!(f, "v{r}"),
            Field::Mem => write!(f, "mem"),
            Field::Status => write!(f, "status"),
        }
    }
}

/// The fields in which `a` (ferrite) and `b` (qemu) differ; empty when they agree
/// and both finished.
pub fn diff(a: &CaseOut, b: &CaseOut) -> Vec<Field> {
    let (a, b) = match (a, b) {
        (CaseOut::Done(a), CaseOut::Done(b)) => (a, b),
        _ => return vec![Field::Status],
    };
    let mut d = Vec::new();
    for r in 0..31 {
        if a.x[r] != b.x[r] {
            d.push(Field::X(r as u8));
        }
    }
    if a.sp != b.sp {
        d.push(Field::Sp);
    }
    if a.nzcv != b.nzcv {
        d.push(Field::Nzcv);
    }
    if a.fpsr != b.fpsr {
        d.push(Field::Fpsr);
    }
    if a.fpcr != b.fpcr {
        d.push(Field::Fpcr);
    }
    for r in 0..32 {
        if a.v[r] != b.v[r] {
            d.push(Field::V(r as u8));
        }
    }
    if a.mem != b.mem {
        d.push(Field::Mem);
    }
    d
}

/// The result of running one case alone with `items` (while shrinking).
pub struct Single {
    pub ferrite: CaseOut,
    pub qemu: CaseOut,
    pub fields: Vec<Field>,
    pub case_pc: u64,
    pub elf: Vec<u8>,
}

/// Everything one comparison of a set of cases needs.
struct Runner<'a> {
    cfg: &'a Config,
    image: Vec<u8>,
    counter: AtomicUsize,
}

impl Runner<'_> {
    /// A fresh file name in the work directory.
    fn path(&self, tag: &str) -> PathBuf {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        self.cfg
            .work_dir
            .join(format!("{tag}-{}-{n}.elf", std::process::id()))
    }

    fn write_exe(&self, tag: &str, bytes: &[u8]) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = self.path(tag);
        std::fs::write(&p, bytes).expect("write program");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    /// Run `cases` in one program; for each case, ferrite's and qemu's result.
    /// Cases after the first one either emulator did not finish are not returned.
    fn batch(&self, cases: &[&Case]) -> Vec<(CaseOut, CaseOut)> {
        let list: Vec<(&Case, &[Item])> = cases.iter().map(|c| (*c, &c.items[..])).collect();
        let (bytes, _) = elf::build(&list, &self.image, self.cfg.seed);
        let p = self.write_exe("batch", &bytes);
        let (f, q) = run_both(&self.cfg.tools, &p, self.cfg.timeout);
        let _ = std::fs::remove_file(&p);
        let mut res = Vec::new();
        for i in 0..cases.len() {
            let last = i + 1 == cases.len();
            let (a, b) = (CaseOut::of(&f, i, last), CaseOut::of(&q, i, last));
            let died = !matches!(a, CaseOut::Done(_)) || !matches!(b, CaseOut::Done(_));
            res.push((a, b));
            if died {
                break;
            }
        }
        res
    }

    /// Run one case alone with `items` instead of its own.
    fn single(&self, case: &Case, items: &[Item]) -> Single {
        let (bytes, layout) = elf::build(&[(case, items)], &self.image, self.cfg.seed);
        let p = self.write_exe("single", &bytes);
        let (f, q) = run_both(&self.cfg.tools, &p, self.cfg.timeout);
        let _ = std::fs::remove_file(&p);
        let (a, b) = (CaseOut::of(&f, 0, true), CaseOut::of(&q, 0, true));
        let fields = diff(&a, &b);
        Single {
            ferrite: a,
            qemu: b,
            fields,
            case_pc: layout.case_pc[0],
            elf: bytes,
        }
    }

    /// Delta debugging (ddmin) over the case's items: the smallest list found that
    /// still mismatches, and how many programs that took.
    fn shrink(&self, case: &Case, start: Vec<Item>) -> (Vec<Item>, usize) {
        let mut runs = 0;
        let mut fails = |items: &[Item]| {
            runs += 1;
            !self.single(case, items).fields.is_empty()
        };
        let mut cur = start;
        let mut n = 2usize;
        while cur.len() >= 2 {
            let chunk = cur.len().div_ceil(n);
            let mut reduced = false;
            // Try each complement (drop one chunk).
            let mut start = 0;
            while start < cur.len() {
                let end = (start + chunk).min(cur.len());
                let mut cand = cur[..start].to_vec();
                cand.extend_from_slice(&cur[end..]);
                if !cand.is_empty() && fails(&cand) {
                    cur = cand;
                    n = (n - 1).max(2);
                    reduced = true;
                    break;
                }
                start = end;
            }
            if reduced {
                continue;
            }
            if n >= cur.len() {
                break;
            }
            n = (2 * n).min(cur.len());
        }
        // Can the last item go too (a case that mismatches with no items at all
        // means the harness itself differs)?
        if cur.len() == 1 && fails(&[]) {
            cur.clear();
        }
        (cur, runs)
    }
}

/// One mismatch, shrunk.
#[derive(Clone, Debug)]
pub struct Mismatch {
    pub case: u64,
    pub original_len: usize,
    pub items: Vec<Item>,
    pub fields: Vec<Field>,
    /// The known-bugs entry that explains it, if any.
    pub explained_by: Option<String>,
    /// The full human-readable report.
    pub report: String,
    /// Its first line and the code listing (what is printed for explained ones).
    pub brief: String,
    /// Where the shrunk program was saved.
    pub elf_path: Option<PathBuf>,
}

/// The outcome of [`run`].
#[derive(Debug, Default)]
pub struct Summary {
    pub cases: usize,
    pub instructions: usize,
    /// Per class: instructions generated.
    pub per_class: BTreeMap<&'static str, usize>,
    pub mismatches: Vec<Mismatch>,
    /// Mismatching cases beyond `max_reports` that were not shrunk.
    pub unshrunk: Vec<u64>,
    pub rows_used: usize,
    pub excluded: Vec<(String, String)>,
    pub elapsed: Duration,
}

impl Summary {
    pub fn unexplained(&self) -> usize {
        self.mismatches
            .iter()
            .filter(|m| m.explained_by.is_none())
            .count()
            + self.unshrunk.len()
    }

    pub fn explained(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for x in &self.mismatches {
            if let Some(id) = &x.explained_by {
                *m.entry(id.clone()).or_insert(0) += 1;
            }
        }
        m
    }

    pub fn ok(&self) -> bool {
        self.unexplained() == 0
    }

    /// The excluded rows, grouped by reason.
    pub fn excluded_text(&self) -> String {
        let mut by: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (n, r) in &self.excluded {
            by.entry(r).or_default().push(n);
        }
        let mut s = format!("excluded rows ({}):\n", self.excluded.len());
        for (r, names) in by {
            writeln!(s, "  {} × {r}: {}", names.len(), names.join(", ")).unwrap();
        }
        s
    }

    /// The one-line summary.
    pub fn line(&self, seed: u64) -> String {
        let expl = self.explained();
        let expl_s = if expl.is_empty() {
            String::new()
        } else {
            let v: Vec<String> = expl.iter().map(|(k, n)| format!("{k}×{n}")).collect();
            format!(" ({})", v.join(", "))
        };
        let classes: Vec<String> = self
            .per_class
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        format!(
            "difftest: {} — seed {seed}, {} cases, {} instructions [{}], {} unexplained mismatch(es), {} explained{expl_s}; {} rows used, {} excluded; {:.1}s",
            if self.ok() { "PASS" } else { "FAIL" },
            self.cases,
            self.instructions,
            classes.join(", "),
            self.unexplained(),
            expl.values().sum::<usize>(),
            self.rows_used,
            self.excluded.len(),
            self.elapsed.as_secs_f64()
        )
    }
}

/// Generate, run, compare, shrink and report. `progress` gets one line per event.
pub fn run(cfg: &Config, progress: &(dyn Fn(&str) + Sync)) -> Result<Summary, String> {
    let t0 = Instant::now();
    std::fs::create_dir_all(&cfg.work_dir)
        .map_err(|e| format!("{}: {e}", cfg.work_dir.display()))?;
    let known = known::KnownBugs::load(&cfg.known_bugs)?;
    let gen = Generator::new(&cfg.classes);
    if gen.rows.is_empty() {
        return Err("no usable decode-table rows for the selected classes".into());
    }
    let n_cases = cfg.count.div_ceil(cfg.len.max(1)) as u64;
    let indices: Vec<u64> = match cfg.only_case {
        Some(c) => vec![c],
        None => (0..n_cases).collect(),
    };
    let runner = Runner {
        cfg,
        image: gen::sandbox_image(cfg.seed),
        counter: AtomicUsize::new(0),
    };
    let summary = Mutex::new(Summary {
        rows_used: gen.rows.len(),
        excluded: gen
            .excluded
            .iter()
            .map(|e| (e.name.to_string(), e.reason.to_string()))
            .collect(),
        ..Summary::default()
    });
    let batches: Vec<&[u64]> = indices.chunks(cfg.batch.max(1)).collect();
    let next = AtomicUsize::new(0);
    let unexplained = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..cfg.jobs.max(1) {
            s.spawn(|| loop {
                let b = next.fetch_add(1, Ordering::Relaxed);
                let Some(batch) = batches.get(b) else { break };
                let cases: Vec<Case> = batch
                    .iter()
                    .map(|&i| Case::generate(&gen, cfg.seed, i, cfg.len, cfg.fpcr))
                    .collect();
                {
                    let mut sm = summary.lock().unwrap();
                    for c in &cases {
                        sm.cases += 1;
                        sm.instructions += c.items.len();
                        for it in &c.items {
                            let cl = gen_class_of(&gen, it.insn);
                            *sm.per_class.entry(cl).or_insert(0) += 1;
                        }
                    }
                }
                let mut pending: Vec<&Case> = cases.iter().collect();
                while !pending.is_empty() {
                    let res = runner.batch(&pending);
                    let done = res.len();
                    for (k, (a, b)) in res.into_iter().enumerate() {
                        let fields = diff(&a, &b);
                        if fields.is_empty() {
                            continue;
                        }
                        let case = pending[k];
                        if unexplained.load(Ordering::Relaxed) >= cfg.max_reports {
                            progress(&format!(
                                "case {}: mismatch in {} (not shrunk: {} unexplained reports already)",
                                case.index,
                                fields_text(&fields),
                                cfg.max_reports
                            ));
                            summary.lock().unwrap().unshrunk.push(case.index);
                            continue;
                        }
                        for m in investigate(&runner, &known, case, &fields) {
                            if m.explained_by.is_none() {
                                unexplained.fetch_add(1, Ordering::Relaxed);
                            }
                            progress(if m.explained_by.is_some() {
                                &m.brief
                            } else {
                                &m.report
                            });
                            summary.lock().unwrap().mismatches.push(m);
                        }
                    }
                    pending.drain(..done);
                }
            });
        }
    });
    let mut sm = summary.into_inner().unwrap();
    sm.mismatches.sort_by_key(|m| m.case);
    sm.elapsed = t0.elapsed();
    Ok(sm)
}

/// The generator class name of a generated word.
fn gen_class_of(gen: &Generator, w: u32) -> &'static str {
    let e = decode::decode(w);
    gen.rows
        .iter()
        .find(|r| e.is_some_and(|e| std::ptr::eq(r.enc, e)))
        .map(|r| r.class.name())
        .unwrap_or("?")
}

fn fields_text(f: &[Field]) -> String {
    f.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Shrink a mismatching case, match it against the known bugs, write its report.
///
/// Shrinking keeps *some* mismatch, not necessarily every one the case has: when the
/// shrunk reproducer is explained by a known entry, the instructions that entry
/// matches are removed from the case and whatever still mismatches is investigated
/// again, so a known qemu bug cannot hide a ferrite bug in the same case.
fn investigate(
    runner: &Runner,
    known: &known::KnownBugs,
    case: &Case,
    batch_fields: &[Field],
) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let mut items = case.items.clone();
    for round in 0..8 {
        let m = investigate_once(runner, known, case, items.clone(), round, batch_fields);
        let Some(id) = m.explained_by.clone() else {
            out.push(m);
            break;
        };
        out.push(m);
        let entry = known.entries.iter().find(|e| e.id == id).expect("entry");
        items.retain(|it| !entry.matches.iter().any(|&(mk, v)| it.insn & mk == v));
        if runner.single(case, &items).fields.is_empty() {
            break;
        }
    }
    out
}

fn investigate_once(
    runner: &Runner,
    known: &known::KnownBugs,
    case: &Case,
    start: Vec<Item>,
    round: usize,
    batch_fields: &[Field],
) -> Mismatch {
    let cfg = runner.cfg;
    let start_len = start.len();
    let (items, runs) = runner.shrink(case, start.clone());
    let single = runner.single(case, &items);
    // Flaky (the shrunk list no longer mismatches): report the whole list.
    let (items, single) = if single.fields.is_empty() {
        let s = runner.single(case, &start);
        (start, s)
    } else {
        (items, single)
    };
    // A mismatch that shows only inside its batch (state a previous case left behind,
    // such as qemu's exclusive-pair high half) is explained, if at all, by what differed
    // there, over the whole case.
    let in_batch_only = single.fields.is_empty();
    let explained_by = if in_batch_only {
        known.explain(&items, batch_fields, &case.state)
    } else {
        known.explain(&items, &single.fields, &case.state)
    };
    let suffix = if round == 0 {
        String::new()
    } else {
        format!("-{round}")
    };
    let elf_path = cfg.work_dir.join(format!(
        "repro-seed{}-case{}{suffix}.elf",
        cfg.seed, case.index
    ));
    let saved = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(&elf_path, &single.elf).is_ok()
            && std::fs::set_permissions(&elf_path, std::fs::Permissions::from_mode(0o755)).is_ok()
    };
    let mut r = String::new();
    let verdict = match &explained_by {
        Some(id) if in_batch_only => format!(
            "explained by {id} (differs in its batch only, in: {})",
            fields_text(batch_fields)
        ),
        Some(id) => format!("explained by {id}"),
        None if single.fields.is_empty() => "NOT REPRODUCIBLE alone (flaky?)".to_string(),
        None => "UNEXPLAINED".to_string(),
    };
    let again = if round == 0 {
        String::new()
    } else {
        " (after removing the instructions of the explained mismatches)".to_string()
    };
    writeln!(
        r,
        "=== case {} of seed {}: {verdict}; shrunk {start_len} → {} instruction(s){again} in {runs} runs; differs in: {}",
        case.index,
        cfg.seed,
        items.len(),
        fields_text(&single.fields)
    )
    .unwrap();
    writeln!(
        r,
        "reproduce: scripts/difftest {}",
        cfg.repro_args(case.index)
    )
    .unwrap();
    if saved {
        writeln!(
            r,
            "program:   {} (writes {} bytes of dump + {} of sandbox per case to stdout)",
            elf_path.display(),
            elf::DUMP_SIZE,
            elf::SB_SIZE
        )
        .unwrap();
    }
    let code = listing(&cfg.tools, &items, single.case_pc);
    let brief = format!("{}\n{code}", r.lines().next().unwrap_or(""));
    r.push_str(&code);
    r.push_str(&state_table(&case.state, &single.ferrite, &single.qemu));
    r.push_str("=== end of case\n");
    Mismatch {
        case: case.index,
        original_len: case.items.len(),
        items,
        fields: single.fields,
        explained_by,
        report: r,
        brief,
        elf_path: saved.then_some(elf_path),
    }
}

/// The shrunk code, disassembled by ferrite's disassembler and (if installed) objdump.
pub fn listing(tools: &Tools, items: &[Item], pc0: u64) -> String {
    let words: Vec<u32> = items.iter().flat_map(|i| i.words()).collect();
    let od = tools
        .objdump
        .as_ref()
        .and_then(|p| objdump(p, &words, pc0))
        .unwrap_or_default();
    let mut s = String::from("code (harness words in parentheses):\n");
    let mut pc = pc0;
    let mut k = 0;
    for it in items {
        for (j, w) in it.words().enumerate() {
            let ours = decode::disassemble(w, pc);
            let row = decode::decode(w).map(|e| e.name).unwrap_or("-");
            let theirs = od.get(k).map(String::as_str).unwrap_or("");
            if j < it.prefix.len() {
                writeln!(s, "  {pc:#x}: {w:08x}  ({ours})").unwrap();
            } else {
                writeln!(
                    s,
                    "  {pc:#x}: {w:08x}  {ours:<40} [{row}]{}",
                    if theirs.is_empty() {
                        String::new()
                    } else {
                        format!("  objdump: {theirs}")
                    }
                )
                .unwrap();
            }
            pc += 4;
            k += 1;
        }
    }
    if items.is_empty() {
        s.push_str("  (none: the harness alone mismatches)\n");
    }
    s
}

/// objdump's disassembly of `words`, one string per word.
fn objdump(objdump: &Path, words: &[u32], pc0: u64) -> Option<Vec<String>> {
    let dir = std::env::temp_dir();
    let p = dir.join(format!(
        "ferrite-difftest-od-{}-{:x}.bin",
        std::process::id(),
        words.first().copied().unwrap_or(0) ^ words.len() as u32
    ));
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    std::fs::write(&p, bytes).ok()?;
    let out = Command::new(objdump)
        .args(["-D", "-b", "binary", "-m", "aarch64"])
        .arg(format!("--adjust-vma={pc0:#x}"))
        .arg(&p)
        .output()
        .ok();
    let _ = std::fs::remove_file(&p);
    let text = String::from_utf8_lossy(&out?.stdout).into_owned();
    let mut v = Vec::new();
    for line in text.lines() {
        // "  400100:\td2800000 \tmov\tx0, #0x0"
        let mut parts = line.splitn(3, '\t');
        let (Some(a), Some(_), rest) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if !a.trim_end().ends_with(':') || a.trim().len() < 2 {
            continue;
        }
        v.push(rest.unwrap_or("").replace('\t', " ").trim().to_string());
    }
    (v.len() == words.len()).then_some(v)
}

/// Initial state and both final states side by side; differing lines start with `!`.
pub fn state_table(init: &State, f: &CaseOut, q: &CaseOut) -> String {
    let mut s = String::new();
    let (fd, qd) = match (f, q) {
        (CaseOut::Done(a), CaseOut::Done(b)) => (a, b),
        _ => {
            for (name, o) in [("ferrite", f), ("qemu", q)] {
                match o {
                    CaseOut::Done(_) => writeln!(s, "{name}: finished normally").unwrap(),
                    CaseOut::Died { exit, err } => {
                        writeln!(s, "{name}: did not finish: {exit}; last stderr line: {err}")
                            .unwrap()
                    }
                }
            }
            return s;
        }
    };
    writeln!(
        s,
        "   reg   {:<34} {:<34} {:<34}",
        "initial", "ferrite", "qemu"
    )
    .unwrap();
    let mut line = |name: String, i: String, a: String, b: String| {
        let mark = if a != b { "!" } else { " " };
        writeln!(s, "{mark}  {name:<5} {i:<34} {a:<34} {b:<34}").unwrap();
    };
    for r in 0..31 {
        if r == 28 {
            line(
                "x28".into(),
                "(sandbox base)".into(),
                "(not compared)".into(),
                "(not compared)".into(),
            );
            continue;
        }
        line(
            format!("x{r}"),
            format!("{:#018x}", init.x[r]),
            format!("{:#018x}", fd.x[r]),
            format!("{:#018x}", qd.x[r]),
        );
    }
    line(
        "sp".into(),
        format!("{:#018x}", init.sp),
        format!("{:#018x}", fd.sp),
        format!("{:#018x}", qd.sp),
    );
    line("nzcv".into(), nzcv(init.nzcv), nzcv(fd.nzcv), nzcv(qd.nzcv));
    line(
        "fpcr".into(),
        format!("{:#x}", init.fpcr),
        format!("{:#x}", fd.fpcr),
        format!("{:#x}", qd.fpcr),
    );
    line("fpsr".into(), fpsr(init.fpsr), fpsr(fd.fpsr), fpsr(qd.fpsr));
    for r in 0..32 {
        line(
            format!("v{r}"),
            format!("{:#034x}", init.v[r]),
            format!("{:#034x}", fd.v[r]),
            format!("{:#034x}", qd.v[r]),
        );
    }
    // Memory: differing byte ranges.
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < fd.mem.len() {
        if fd.mem[i] != qd.mem[i] {
            let st = i;
            while i < fd.mem.len() && (fd.mem[i] != qd.mem[i] || i - st < 1) {
                i += 1;
            }
            ranges.push((st, i));
        } else {
            i += 1;
        }
    }
    if ranges.is_empty() {
        s.push_str("   memory: sandbox identical\n");
    } else {
        writeln!(
            s,
            "!  memory: {} differing range(s) in the sandbox:",
            ranges.len()
        )
        .unwrap();
        for &(a, b) in ranges.iter().take(16) {
            let hex = |m: &[u8]| {
                m[a..b.min(a + 32)]
                    .iter()
                    .map(|x| format!("{x:02x}"))
                    .collect::<String>()
            };
            writeln!(
                s,
                "!    {:#x}..{:#x} (x28 slot 0 {:+#x}): ferrite {} qemu {}",
                elf::SB_ADDR + a as u64,
                elf::SB_ADDR + b as u64,
                a as i64 - (elf::x28_value(0) - elf::SB_ADDR) as i64,
                hex(&fd.mem),
                hex(&qd.mem)
            )
            .unwrap();
        }
    }
    s
}

fn nzcv(v: u64) -> String {
    let mut s = format!("{:#x} ", v);
    for (b, c) in [(31, 'N'), (30, 'Z'), (29, 'C'), (28, 'V')] {
        s.push(if v >> b & 1 == 1 { c } else { '-' });
    }
    s
}

fn fpsr(v: u64) -> String {
    let mut s = format!("{v:#x}");
    let names = [
        (27, "QC"),
        (7, "IDC"),
        (4, "IXC"),
        (3, "UFC"),
        (2, "OFC"),
        (1, "DZC"),
        (0, "IOC"),
    ];
    let set: Vec<&str> = names
        .iter()
        .filter(|(b, _)| v >> b & 1 == 1)
        .map(|(_, n)| *n)
        .collect();
    if !set.is_empty() {
        write!(s, " {}", set.join(",")).unwrap();
    }
    s
}

/// `--unimplemented N`: which encodings does qemu execute that ferrite raises SIGILL
/// for? Draws `n` words ferrite does not lift (half uniformly random, half random
/// fills of decode-table rows; never branch/exception/system space; memory operands
/// sandboxed), runs each alone under qemu, and tallies the ones qemu runs cleanly by
/// objdump mnemonic. Returns the report; its last line is a one-line summary.
pub fn survey_unimplemented(
    cfg: &Config,
    n: usize,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<String, String> {
    let t0 = Instant::now();
    std::fs::create_dir_all(&cfg.work_dir)
        .map_err(|e| format!("{}: {e}", cfg.work_dir.display()))?;
    let features = ferrite::arm64::lift::CpuFeatures::default();
    let table = decode::table();
    let mut rng = gen::Rng::derive(cfg.seed, 0x5e1f_5e1f);
    let mut cases = Vec::new();
    while cases.len() < n {
        let w = if rng.chance(1, 2) {
            rng.next() as u32
        } else {
            let e = rng.pick(table);
            e.value | (rng.next() as u32 & !e.mask)
        };
        if w >> 26 & 7 == 0b101 || gen::lifts(w, &features) {
            continue;
        }
        let (prefix, w) = gen::sandboxed(w, &mut rng);
        if gen::lifts(w, &features) {
            continue;
        }
        let index = cases.len() as u64;
        cases.push(Case {
            index,
            state: State::random(&mut rng, FpcrMode::Fixed(0)),
            items: vec![Item { prefix, insn: w }],
        });
    }
    let runner = Runner {
        cfg,
        image: gen::sandbox_image(cfg.seed),
        counter: AtomicUsize::new(0),
    };
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..(2 * cfg.jobs).max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(case) = cases.get(i) else { break };
                let (bytes, _) = elf::build(&[(case, &case.items[..])], &runner.image, cfg.seed);
                let p = runner.write_exe("survey", &bytes);
                let o = run_program(&cfg.tools.qemu, &p, cfg.timeout);
                let _ = std::fs::remove_file(&p);
                let ok = o.exit == Exit::Code(0) && o.out.len() == elf::OUT_SIZE;
                results.lock().unwrap().push((i, ok, o.exit));
                if i % 500 == 499 {
                    progress(&format!("{} words run under qemu", i + 1));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|r| r.0);
    let ok_words: Vec<u32> = results
        .iter()
        .filter(|r| r.1)
        .map(|r| cases[r.0].items[0].insn)
        .collect();
    let sigill = results.iter().filter(|r| r.2 == Exit::Signal(4)).count();
    let other = results.len() - ok_words.len() - sigill;
    let texts = cfg
        .tools
        .objdump
        .as_ref()
        .and_then(|od| objdump(od, &ok_words, elf::TEXT_BASE))
        .unwrap_or_else(|| vec![String::from("?"); ok_words.len()]);
    // mnemonic -> (count, example word, example text)
    let mut groups: BTreeMap<String, (usize, u32, String)> = BTreeMap::new();
    for (w, t) in ok_words.iter().zip(&texts) {
        let mn = t.split_whitespace().next().unwrap_or("?").to_string();
        let sve = t.split(|c: char| !c.is_ascii_alphanumeric()).any(|tok| {
            (tok.starts_with('z') || tok.starts_with('p'))
                && tok.len() > 1
                && tok[1..].chars().all(|c| c.is_ascii_digit())
        });
        let key = if sve { format!("{mn} (SVE)") } else { mn };
        let g = groups.entry(key).or_insert((0, *w, t.clone()));
        g.0 += 1;
    }
    let mut v: Vec<_> = groups.into_iter().collect();
    v.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(&b.0)));
    let mut r = String::new();
    writeln!(
        r,
        "encodings qemu-aarch64 executes but ferrite raises SIGILL for (by objdump mnemonic):"
    )
    .unwrap();
    writeln!(
        r,
        "  {:>5}  {:<22} {:<10} {:<44} ferrite row",
        "count", "mnemonic", "example", "objdump"
    )
    .unwrap();
    for (k, (count, w, t)) in &v {
        let row = decode::decode(*w)
            .map(|e| format!("{} (lifter: undefined)", e.name))
            .unwrap_or_else(|| "no row".into());
        writeln!(r, "  {count:>5}  {k:<22} {w:08x}   {t:<44} {row}").unwrap();
    }
    writeln!(
        r,
        "unimplemented survey: seed {}, {} words ferrite does not lift: qemu runs {} ({} mnemonics), SIGILL {}, other {}; {:.1}s",
        cfg.seed,
        cases.len(),
        ok_words.len(),
        v.len(),
        sigill,
        other,
        t0.elapsed().as_secs_f64()
    )
    .unwrap();
    Ok(r)
}
