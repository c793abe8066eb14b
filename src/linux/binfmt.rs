//! binfmt_misc: registering ferrite as the kernel's interpreter for arm64 ELF files
//! (`ferrite-aarch64 --binfmt install|uninstall|status|print`), and recognising at
//! start-up that the kernel started it that way.
//!
//! **Registration** writes `:NAME:M::MAGIC:MASK:INTERPRETER:FLAGS` to
//! `/proc/sys/fs/binfmt_misc/register` (mounting binfmt_misc there first if needed).
//! MAGIC and MASK are the ones qemu and Debian use for aarch64 (64-bit, little-endian,
//! any OS ABI, ET_EXEC or ET_DYN, EM_AARCH64). The interpreter is the running binary
//! (`/proc/self/exe`) unless `--interpreter` names another. An existing entry of the
//! same name is kept when it is identical, and replaced only with `--force` otherwise.
//!
//! **Flags** (kernel `Documentation/admin-guide/binfmt-misc.rst`), default [`DEFAULT_FLAGS`]:
//! - `F` (fix binary): the kernel opens the interpreter at registration, so it works in
//!   chroots and containers that do not contain it. ferrite must then be static (no
//!   `PT_INTERP`): `install` warns when it is not.
//! - `P` (preserve argv\[0\]): ferrite gets `[ferrite, /path/prog, argv0, args…]` and
//!   the kernel (5.12+) sets bit 0 of its `AT_FLAGS`. Without `P` it gets
//!   `[ferrite, /path/prog, args…]` and the guest's argv\[0\] is the path.
//! - `O` (open binary): the kernel opens the program and passes the descriptor in
//!   `AT_EXECFD`; ferrite loads from it (execute-only programs work) and closes it
//!   before the guest starts.
//! - `C` (credentials, implies `O`): set-user-ID and set-group-ID arm64 programs get
//!   their privileges, which ferrite keeps. ferrite then runs as root for a setuid-root
//!   program, so a translator bug becomes a privilege-escalation bug; as a mitigation,
//!   ferrite ignores every `FERRITE_*`/`QEMU_*` variable when the kernel marks the start
//!   as secure (`AT_SECURE`), as `ld.so` ignores `LD_*`, and passes `AT_SECURE` on to the
//!   guest's own `ld.so`.
//!
//! **Start-up** ([`detect`]): ferrite was started by binfmt_misc when its own auxv has
//! `AT_FLAGS` bit 0 (`P`) or `AT_EXECFD` (`O`), or when its `AT_EXECFN` (the file the
//! caller executed) equals argv\[1\] (any flags: the kernel passes that file name as
//! argv\[1\]; a direct `ferrite-aarch64 prog` call has ferrite's own name there). In that
//! case the command line holds no ferrite options at all: a guest argument such as `-h`
//! goes to the guest. Options come from the environment only.
//!
//! Touches: `/proc/sys/fs/binfmt_misc` (mount, register, entries), ferrite's own auxv.

use std::ffi::CStr;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::cli::io_text;

/// Where binfmt_misc lives.
pub const MOUNT_POINT: &str = "/proc/sys/fs/binfmt_misc";
/// The entry name used when none is given.
pub const DEFAULT_NAME: &str = "ferrite-aarch64";
/// The flags used when none are given (see the module docs for the trade-offs).
pub const DEFAULT_FLAGS: &str = "POCF";

/// The aarch64 ELF magic (qemu's and Debian's `aarch64_magic`).
pub const MAGIC: [u8; 20] = [
    0x7f, b'E', b'L', b'F', 0x02, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x02, 0x00, 0xb7, 0x00,
];
/// The mask: EI_OSABI ignored, e_type 2 or 3.
pub const MASK: [u8; 20] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xfe, 0xff, 0xff, 0xff,
];

/// Magic and mask of an entry, with an optional tag: `--tag N` also requires
/// e_ident\[15\] (the last EI_PAD byte, zero in every normal ELF file) to be N, so the
/// entry matches only files marked that way (used by the chroot test, so that its
/// entry does not capture other arm64 programs on the machine).
pub fn magic_and_mask(tag: Option<u8>) -> ([u8; 20], [u8; 20]) {
    let (mut magic, mut mask) = (MAGIC, MASK);
    if let Some(t) = tag {
        magic[15] = t;
        mask[15] = 0xff;
    }
    (magic, mask)
}

/// `\xNN` for every byte, as binfmt.d files and `update-binfmts` templates spell them.
pub fn escape(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\x{b:02x}")).collect()
}

/// Validate `--flags` and put them in the kernel's order (`POCF`). `C` implies `O`.
pub fn canonical_flags(s: &str) -> Result<String, String> {
    let mut have = [false; 4];
    for c in s.chars() {
        let i = "POCF"
            .find(c.to_ascii_uppercase())
            .ok_or_else(|| format!("unknown binfmt_misc flag '{c}' (use letters from POCF)"))?;
        have[i] = true;
    }
    if have[2] {
        have[1] = true;
    }
    Ok("POCF"
        .chars()
        .zip(have)
        .filter(|&(_, h)| h)
        .map(|(c, _)| c)
        .collect())
}

/// What each flag letter means, for `status`.
fn describe_flags(flags: &str) -> String {
    let parts: Vec<&str> = flags
        .chars()
        .filter_map(|c| match c {
            'P' => Some("P: preserve argv[0]"),
            'O' => Some("O: open binary"),
            'C' => Some("C: credentials of the program"),
            'F' => Some("F: interpreter fixed at registration"),
            _ => None,
        })
        .collect();
    parts.join(", ")
}

/// The string written to `register`.
pub fn register_line(name: &str, interpreter: &str, flags: &str, tag: Option<u8>) -> String {
    let (magic, mask) = magic_and_mask(tag);
    format!(
        ":{name}:M::{}:{}:{interpreter}:{flags}",
        escape(&magic),
        escape(&mask)
    )
}

/// A registered entry, as `/proc/sys/fs/binfmt_misc/NAME` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub enabled: bool,
    pub interpreter: String,
    pub flags: String,
    pub offset: usize,
    /// Empty for extension (`E`) entries.
    pub magic: Vec<u8>,
    pub mask: Vec<u8>,
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Parse an entry file (`enabled`, `interpreter …`, `flags: …`, `offset …`, `magic …`,
/// `mask …`).
pub fn parse_entry(text: &str) -> Option<Entry> {
    let mut lines = text.lines();
    let enabled = match lines.next()? {
        "enabled" => true,
        "disabled" => false,
        _ => return None,
    };
    let mut e = Entry {
        enabled,
        interpreter: String::new(),
        flags: String::new(),
        offset: 0,
        magic: Vec::new(),
        mask: Vec::new(),
    };
    for l in lines {
        if let Some(v) = l.strip_prefix("interpreter ") {
            e.interpreter = v.to_string();
        } else if let Some(v) = l.strip_prefix("flags:") {
            e.flags = v.trim().to_string();
        } else if let Some(v) = l.strip_prefix("offset ") {
            e.offset = v.trim().parse().ok()?;
        } else if let Some(v) = l.strip_prefix("magic ") {
            e.magic = unhex(v.trim())?;
        } else if let Some(v) = l.strip_prefix("mask ") {
            e.mask = unhex(v.trim())?;
        }
    }
    Some(e)
}

impl Entry {
    /// Would this entry take `header` (the first bytes of a file)?
    pub fn matches(&self, header: &[u8]) -> bool {
        if self.magic.is_empty() {
            return false;
        }
        self.magic.iter().enumerate().all(|(i, &m)| {
            let k = self.mask.get(i).copied().unwrap_or(0xff);
            header.get(self.offset + i).is_some_and(|&b| b & k == m & k)
        })
    }

    /// Does it take ordinary arm64 executables (ET_EXEC or ET_DYN)?
    pub fn matches_arm64(&self) -> bool {
        let mut dyn_ = MAGIC;
        dyn_[16] = 3;
        self.matches(&MAGIC) || self.matches(&dyn_)
    }
}

// ---------------------------------------------------------------------------------------
// The --binfmt command

/// What `--binfmt` was asked to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    Install {
        name: String,
        flags: String,
        interpreter: Option<String>,
        force: bool,
        tag: Option<u8>,
    },
    Uninstall {
        name: String,
    },
    Status {
        name: String,
    },
    /// Print the register line (for `/etc/binfmt.d`).
    Print {
        name: String,
        flags: String,
        interpreter: Option<String>,
        tag: Option<u8>,
    },
}

/// Usage of `--binfmt`, for `-h`.
pub const USAGE: &str = "\
--binfmt install [--flags POCF] [--name N] [--interpreter PATH] [--force]
                              register ferrite with binfmt_misc (root; default name
                              ferrite-aarch64, flags POCF, interpreter this binary)
--binfmt uninstall [--name N] remove the entry
--binfmt status [--name N]    show the entry (exit 0 registered and enabled,
                              3 missing or disabled, 1 binfmt_misc unavailable)
--binfmt print [--flags F] [--name N] [--interpreter PATH]
                              print the register line (for /etc/binfmt.d)
";

/// Parse the words after `--binfmt`.
pub fn parse_request(args: &[String]) -> Result<Request, String> {
    let action = args
        .first()
        .ok_or("--binfmt needs an action: install, uninstall, status or print")?;
    let mut name = DEFAULT_NAME.to_string();
    let mut flags = DEFAULT_FLAGS.to_string();
    let mut interpreter = None;
    let mut force = false;
    let mut tag = None;
    let mut i = 1;
    while i < args.len() {
        let opt = args[i].trim_start_matches('-');
        let mut value = || {
            i += 1;
            args.get(i)
                .cloned()
                .ok_or_else(|| format!("--binfmt {action}: option '{}' needs a value", args[i - 1]))
        };
        match opt {
            "name" => name = value()?,
            "flags" => flags = canonical_flags(&value()?)?,
            "interpreter" => interpreter = Some(value()?),
            "force" => force = true,
            "tag" => {
                let v = value()?;
                let t = v.trim_start_matches("0x");
                tag = Some(
                    u8::from_str_radix(t, 16)
                        .ok()
                        .filter(|&t| t != 0)
                        .ok_or_else(|| format!("--tag expects a hex byte 01..ff, got '{v}'"))?,
                );
            }
            _ => {
                return Err(format!(
                    "--binfmt {action}: unknown option '{}' (try -h)",
                    args[i]
                ))
            }
        }
        i += 1;
    }
    if name.is_empty()
        || name == "."
        || name == ".."
        || name == "register"
        || name == "status"
        || name.contains(['/', ':', '\n'])
    {
        return Err(format!("invalid binfmt_misc entry name '{name}'"));
    }
    if let Some(p) = &interpreter {
        if !p.starts_with('/') || p.contains([':', '\n']) {
            return Err(format!(
                "--interpreter must be an absolute path without ':' (got '{p}')"
            ));
        }
    }
    Ok(match action.as_str() {
        "install" => Request::Install {
            name,
            flags,
            interpreter,
            force,
            tag,
        },
        "uninstall" | "remove" => Request::Uninstall { name },
        "status" => Request::Status { name },
        "print" => Request::Print {
            name,
            flags,
            interpreter,
            tag,
        },
        _ => {
            return Err(format!(
                "unknown --binfmt action '{action}' (install, uninstall, status or print)"
            ))
        }
    })
}

/// Exit statuses of `--binfmt status`.
pub const STATUS_MISSING: i32 = 3;

fn say(msg: &str) {
    println!("ferrite-aarch64: {msg}");
}

fn fail(msg: &str) -> i32 {
    eprintln!("ferrite-aarch64: {msg}");
    1
}

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn not_root(what: &str) -> i32 {
    fail(&format!(
        "--binfmt {what} needs root: binfmt_misc registration is privileged (try: sudo ferrite-aarch64 --binfmt {what})"
    ))
}

fn register_path() -> PathBuf {
    Path::new(MOUNT_POINT).join("register")
}

/// Make sure binfmt_misc is mounted; mount it if allowed.
fn ensure_mounted(may_mount: bool) -> Result<(), String> {
    if register_path().exists() {
        return Ok(());
    }
    if !may_mount {
        return Err(format!(
            "binfmt_misc is not mounted at {MOUNT_POINT} (as root: mount -t binfmt_misc binfmt_misc {MOUNT_POINT})"
        ));
    }
    let c = |s: &str| std::ffi::CString::new(s).expect("no NUL");
    let (src, dst, ty) = (c("binfmt_misc"), c(MOUNT_POINT), c("binfmt_misc"));
    // SAFETY: the three strings are valid NUL-terminated C strings; no data argument.
    let r = unsafe { libc::mount(src.as_ptr(), dst.as_ptr(), ty.as_ptr(), 0, std::ptr::null()) };
    if r != 0 {
        let e = std::io::Error::last_os_error();
        return Err(format!(
            "cannot mount binfmt_misc at {MOUNT_POINT}: {} (is the binfmt_misc kernel module available? try: modprobe binfmt_misc)",
            io_text(&e)
        ));
    }
    if register_path().exists() {
        Ok(())
    } else {
        Err(format!(
            "mounted binfmt_misc at {MOUNT_POINT}, but it has no 'register' file"
        ))
    }
}

fn entry_path(name: &str) -> PathBuf {
    Path::new(MOUNT_POINT).join(name)
}

fn read_entry(name: &str) -> Option<Entry> {
    parse_entry(&fs::read_to_string(entry_path(name)).ok()?)
}

/// Every entry, by name.
fn all_entries() -> Vec<(String, Entry)> {
    let Ok(dir) = fs::read_dir(MOUNT_POINT) else {
        return Vec::new();
    };
    let mut v: Vec<(String, Entry)> = dir
        .flatten()
        .filter_map(|d| {
            let n = d.file_name().into_string().ok()?;
            if n == "register" || n == "status" {
                return None;
            }
            Some((n.clone(), read_entry(&n)?))
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// The running binary's path (the default interpreter).
fn own_path() -> Result<String, String> {
    let p = fs::read_link("/proc/self/exe").map_err(|e| {
        format!(
            "cannot find this binary's path through /proc/self/exe: {}",
            io_text(&e)
        )
    })?;
    let s = p
        .into_os_string()
        .into_string()
        .map_err(|p| format!("this binary's path is not valid UTF-8: {p:?}"))?;
    if s.ends_with(" (deleted)") {
        return Err(format!(
            "this binary was deleted or replaced while running ({s}); run the installed one"
        ));
    }
    Ok(s)
}

/// Does the ELF file at `path` have a `PT_INTERP` (is it dynamically linked)?
fn has_interp(path: &str) -> Result<bool, String> {
    let mut f = fs::File::open(path).map_err(|e| format!("{path}: {}", io_text(&e)))?;
    let mut h = [0u8; 64];
    f.read_exact(&mut h)
        .map_err(|_| format!("{path}: not an ELF file"))?;
    if &h[..4] != b"\x7fELF" || h[4] != 2 || h[5] != 1 {
        return Err(format!("{path}: not a 64-bit little-endian ELF file"));
    }
    let u16_at = |o: usize| u16::from_le_bytes([h[o], h[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(h[32..40].try_into().expect("8 bytes")) as usize;
    let (phentsize, phnum) = (u16_at(54), u16_at(56));
    let mut all = Vec::new();
    f.read_to_end(&mut all)
        .map_err(|e| format!("{path}: {}", io_text(&e)))?;
    let mut file = h.to_vec();
    file.extend(all);
    for i in 0..phnum {
        let o = phoff + i * phentsize;
        let Some(t) = file.get(o..o + 4) else { break };
        if u32::from_le_bytes(t.try_into().expect("4 bytes")) == 3 {
            return Ok(true);
        }
    }
    Ok(false)
}

fn write_file(path: &Path, data: &str) -> std::io::Result<()> {
    let mut f = fs::OpenOptions::new().write(true).open(path)?;
    f.write_all(data.as_bytes())
}

/// Run a `--binfmt` request; returns the exit status.
pub fn execute(req: &Request) -> i32 {
    match req {
        Request::Install {
            name,
            flags,
            interpreter,
            force,
            tag,
        } => install(name, flags, interpreter.as_deref(), *force, *tag),
        Request::Uninstall { name } => uninstall(name),
        Request::Status { name } => status(name),
        Request::Print {
            name,
            flags,
            interpreter,
            tag,
        } => {
            let interp = match interpreter.clone().map_or_else(own_path, Ok) {
                Ok(p) => p,
                Err(e) => return fail(&e),
            };
            println!("{}", register_line(name, &interp, flags, *tag));
            0
        }
    }
}

fn install(
    name: &str,
    flags: &str,
    interpreter: Option<&str>,
    force: bool,
    tag: Option<u8>,
) -> i32 {
    if !is_root() {
        return not_root("install");
    }
    let interp = match interpreter.map_or_else(own_path, |p| Ok(p.to_string())) {
        Ok(p) => p,
        Err(e) => return fail(&e),
    };
    if interp.contains(':') {
        return fail(&format!(
            "the interpreter path may not contain ':' ({interp})"
        ));
    }
    match has_interp(&interp) {
        Ok(true) => eprintln!(
            "ferrite-aarch64: warning: {interp} is dynamically linked: inside a chroot or \
             container it will not find the host's libraries (build it static: scripts/install)"
        ),
        Ok(false) => {}
        Err(e) => return fail(&format!("interpreter {e}")),
    }
    if let Err(e) = ensure_mounted(true) {
        return fail(&e);
    }
    let line = register_line(name, &interp, flags, tag);
    let (magic, mask) = magic_and_mask(tag);
    let mut refreshed = false;
    if let Some(old) = read_entry(name) {
        let same = old.interpreter == interp
            && old.flags == flags
            && old.offset == 0
            && old.magic == magic
            && old.mask == mask;
        // With F the kernel keeps the file it opened at registration: after the binary
        // was rebuilt or upgraded in place, only a new registration runs the new one.
        // So an identical F entry is registered again; others are left alone.
        if same && !force && !flags.contains('F') {
            if old.enabled {
                say(&format!(
                    "binfmt_misc entry '{name}' is already registered (interpreter {interp}, flags {flags})"
                ));
                return 0;
            }
            return match write_file(&entry_path(name), "1") {
                Ok(()) => {
                    say(&format!("enabled binfmt_misc entry '{name}'"));
                    0
                }
                Err(e) => fail(&format!(
                    "cannot enable binfmt_misc entry '{name}': {}",
                    io_text(&e)
                )),
            };
        }
        if !same && !force {
            return fail(&format!(
                "binfmt_misc entry '{name}' already exists with interpreter {} and flags '{}'; \
                 --force replaces it",
                old.interpreter, old.flags
            ));
        }
        if let Err(e) = write_file(&entry_path(name), "-1") {
            return fail(&format!(
                "cannot remove the old entry '{name}': {}",
                io_text(&e)
            ));
        }
        refreshed = same;
    }
    if let Err(e) = write_file(&register_path(), &line) {
        return fail(&format!(
            "cannot register with binfmt_misc ({}); the line was: {line}",
            io_text(&e)
        ));
    }
    if refreshed {
        say(&format!(
            "registered binfmt_misc entry '{name}' again, so that the kernel holds the current {interp}: {line}"
        ));
    } else {
        say(&format!("registered binfmt_misc entry '{name}': {line}"));
    }
    for (other, e) in all_entries() {
        if other != name && e.enabled && e.matches_arm64() && tag.is_none() {
            say(&format!(
                "note: entry '{other}' ({}) also takes arm64 programs; the kernel uses the \
                 entry registered last (now '{name}')",
                e.interpreter
            ));
        }
    }
    0
}

fn uninstall(name: &str) -> i32 {
    if !is_root() {
        return not_root("uninstall");
    }
    if !register_path().exists() || !entry_path(name).exists() {
        say(&format!(
            "no binfmt_misc entry named '{name}': nothing to remove"
        ));
        return 0;
    }
    match write_file(&entry_path(name), "-1") {
        Ok(()) => {
            say(&format!("removed binfmt_misc entry '{name}'"));
            0
        }
        Err(e) => fail(&format!(
            "cannot remove binfmt_misc entry '{name}': {}",
            io_text(&e)
        )),
    }
}

fn status(name: &str) -> i32 {
    if let Err(e) = ensure_mounted(is_root()) {
        return fail(&e);
    }
    let own = own_path().ok();
    let code = match read_entry(name) {
        None => {
            say(&format!("no binfmt_misc entry named '{name}'"));
            STATUS_MISSING
        }
        Some(e) => {
            let state = if e.enabled { "enabled" } else { "disabled" };
            say(&format!("binfmt_misc entry '{name}' is {state}"));
            let this = if own.as_deref() == Some(e.interpreter.as_str()) {
                " (this binary)"
            } else {
                ""
            };
            println!("  interpreter {}{this}", e.interpreter);
            println!("  flags       {} ({})", e.flags, describe_flags(&e.flags));
            let tag = e.magic.get(15).copied().unwrap_or(0);
            let (tag_magic, tag_mask) = magic_and_mask(Some(tag));
            let what = if e.magic == MAGIC && e.mask == MASK && e.offset == 0 {
                "arm64 ELF executables (ET_EXEC and ET_DYN)".to_string()
            } else if tag != 0 && e.offset == 0 && e.magic == tag_magic && e.mask == tag_mask {
                format!("arm64 ELF executables tagged with e_ident[15] = {tag:#04x} (--tag)")
            } else if e.matches_arm64() {
                "arm64 ELF executables (non-standard magic/mask)".to_string()
            } else {
                format!(
                    "offset {} magic {} mask {}",
                    e.offset,
                    escape(&e.magic),
                    escape(&e.mask)
                )
            };
            println!("  matches     {what}");
            if e.flags.contains('F') {
                if let Ok(true) = has_interp(&e.interpreter) {
                    println!(
                        "  warning: the interpreter is dynamically linked; it will fail inside chroots"
                    );
                }
            }
            if e.enabled {
                0
            } else {
                STATUS_MISSING
            }
        }
    };
    for (other, e) in all_entries() {
        if other != name && e.enabled && e.matches_arm64() {
            println!(
                "  other entry '{other}' also takes arm64 programs (interpreter {}); the one \
                 registered last is used",
                e.interpreter
            );
        }
    }
    code
}

// ---------------------------------------------------------------------------------------
// Start-up: was ferrite started by binfmt_misc?

const AT_FLAGS: libc::c_ulong = 8;
const AT_EXECFD: libc::c_ulong = 2;
const AT_SECURE: libc::c_ulong = 23;
const AT_EXECFN: libc::c_ulong = 31;
/// `AT_FLAGS_PRESERVE_ARGV0` (binfmt_misc `P`, Linux 5.12+).
pub const AT_FLAGS_PRESERVE_ARGV0: u64 = 1;

/// The entries of ferrite's own auxiliary vector that say how it was started.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostAux {
    pub at_flags: u64,
    /// `AT_EXECFD`, present only with the binfmt_misc `O` (or `C`) flag.
    pub execfd: Option<i32>,
    /// `AT_EXECFN`: the file name the caller passed to execve.
    pub execfn: Option<Vec<u8>>,
    /// `AT_SECURE`: the kernel changed credentials (setuid/setgid, capabilities).
    pub secure: bool,
}

/// `getauxval`, telling a missing entry (ENOENT) from a zero one.
fn auxval(tag: libc::c_ulong) -> Option<u64> {
    // SAFETY: errno is thread-local; getauxval only reads the process's auxv.
    unsafe {
        *libc::__errno_location() = 0;
        let v = libc::getauxval(tag);
        if v == 0 && *libc::__errno_location() == libc::ENOENT {
            None
        } else {
            Some(v as u64)
        }
    }
}

impl HostAux {
    /// Read this process's auxv.
    pub fn current() -> HostAux {
        let execfn = auxval(AT_EXECFN).filter(|&p| p != 0).map(|p| {
            // SAFETY: AT_EXECFN points to a NUL-terminated string the kernel put on the
            // initial stack, which stays mapped for the life of the process.
            unsafe { CStr::from_ptr(p as *const libc::c_char) }
                .to_bytes()
                .to_vec()
        });
        HostAux {
            at_flags: auxval(AT_FLAGS).unwrap_or(0),
            execfd: auxval(AT_EXECFD).and_then(|v| i32::try_from(v).ok()),
            execfn,
            secure: auxval(AT_SECURE).unwrap_or(0) != 0,
        }
    }
}

/// How binfmt_misc started ferrite.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Start {
    /// `P`: argv\[2\] was the program's original argv\[0\].
    pub preserve_argv0: bool,
    /// `O`: the program is open on this descriptor.
    pub exec_fd: Option<i32>,
}

/// What [`detect`] found: how ferrite was started, the program and its argv.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation<T> {
    pub start: Start,
    pub program: T,
    pub argv: Vec<T>,
}

/// If binfmt_misc started ferrite, split its argv (`argv[0]` included) into the
/// program and the guest's argv. `same` compares an argument with `AT_EXECFN`.
pub fn detect<T: Clone>(
    argv: &[T],
    aux: &HostAux,
    bytes: impl Fn(&T) -> Vec<u8>,
) -> Option<Invocation<T>> {
    let program = argv.get(1)?;
    let p = aux.at_flags & AT_FLAGS_PRESERVE_ARGV0 != 0;
    let o = aux.execfd.is_some();
    let by_name = aux.execfn.as_deref() == Some(&bytes(program)[..]);
    if !(p || o || by_name) {
        return None;
    }
    let guest_argv = if p {
        if argv.len() > 2 {
            argv[2..].to_vec()
        } else {
            vec![program.clone()]
        }
    } else {
        argv[1..].to_vec()
    };
    Some(Invocation {
        start: Start {
            preserve_argv0: p,
            exec_fd: aux.execfd,
        },
        program: program.clone(),
        argv: guest_argv,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_line_is_qemus() {
        let l = register_line(
            "ferrite-aarch64",
            "/usr/local/bin/ferrite-aarch64",
            "POCF",
            None,
        );
        assert_eq!(
            l,
            ":ferrite-aarch64:M::\
             \\x7f\\x45\\x4c\\x46\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xb7\\x00:\
             \\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff:\
             /usr/local/bin/ferrite-aarch64:POCF"
        );
        let t = register_line("t", "/x", "F", Some(0xa5));
        assert!(t.contains("\\x00\\xa5\\x02\\x00\\xb7\\x00:"));
        assert!(t.contains("\\xff\\xff\\xfe\\xff\\xff\\xff:/x:F"));
    }

    #[test]
    fn shipped_files_match_the_code() {
        let conf = include_str!("../../binfmt/ferrite-aarch64.conf");
        let line = conf
            .lines()
            .find(|l| l.starts_with(':'))
            .expect("a register line");
        assert_eq!(
            line,
            register_line(DEFAULT_NAME, "/usr/local/bin/ferrite-aarch64", "POCF", None)
        );
        let deb = include_str!("../../binfmt/ferrite-aarch64");
        assert!(deb.contains(&format!("\nmagic {}\n", escape(&MAGIC))));
        assert!(deb.contains(&format!("\nmask {}\n", escape(&MASK))));
        assert!(deb.contains("\ninterpreter /usr/local/bin/ferrite-aarch64\n"));
    }

    #[test]
    fn flags() {
        assert_eq!(canonical_flags("FPC").unwrap(), "POCF");
        assert_eq!(canonical_flags("fp").unwrap(), "PF");
        assert_eq!(canonical_flags("").unwrap(), "");
        assert_eq!(canonical_flags("OF").unwrap(), "OF");
        assert!(canonical_flags("FX").is_err());
    }

    #[test]
    fn entry_parsing_and_matching() {
        let text = "enabled\ninterpreter /usr/bin/qemu-aarch64-static\nflags: POCF\noffset 0\n\
                    magic 7f454c460201010000000000000000000200b700\n\
                    mask ffffffffffffff00fffffffffffffffffeffffff\n";
        let e = parse_entry(text).unwrap();
        assert!(e.enabled);
        assert_eq!(e.interpreter, "/usr/bin/qemu-aarch64-static");
        assert_eq!(e.flags, "POCF");
        assert_eq!(e.magic, MAGIC);
        assert_eq!(e.mask, MASK);
        assert!(e.matches_arm64());
        let mut x86 = MAGIC;
        x86[18] = 62;
        assert!(!e.matches(&x86));
        let mut gnu = MAGIC;
        gnu[7] = 3;
        assert!(e.matches(&gnu));
        let tagged = Entry {
            magic: magic_and_mask(Some(7)).0.to_vec(),
            mask: magic_and_mask(Some(7)).1.to_vec(),
            ..e.clone()
        };
        assert!(!tagged.matches_arm64());
        let ext = parse_entry("disabled\ninterpreter /x\nflags: \nextension .exe\n").unwrap();
        assert!(!ext.enabled && !ext.matches_arm64());
        assert!(parse_entry("garbage").is_none());
    }

    #[test]
    fn requests() {
        let p = |v: &[&str]| parse_request(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            p(&["install"]).unwrap(),
            Request::Install {
                name: DEFAULT_NAME.into(),
                flags: "POCF".into(),
                interpreter: None,
                force: false,
                tag: None
            }
        );
        assert_eq!(
            p(&["install", "--flags", "FP", "--name", "x", "--force", "--tag", "0x5a"]).unwrap(),
            Request::Install {
                name: "x".into(),
                flags: "PF".into(),
                interpreter: None,
                force: true,
                tag: Some(0x5a)
            }
        );
        assert_eq!(
            p(&["status", "--name", "n"]).unwrap(),
            Request::Status { name: "n".into() }
        );
        assert!(p(&[]).is_err());
        assert!(p(&["frob"]).is_err());
        assert!(p(&["install", "--name"]).is_err());
        assert!(p(&["install", "--name", "a/b"]).is_err());
        assert!(p(&["install", "--name", "register"]).is_err());
        assert!(p(&["install", "--interpreter", "rel/path"]).is_err());
        assert!(p(&["install", "--flags", "Q"]).is_err());
        assert!(p(&["install", "--tag", "0"]).is_err());
        assert!(p(&["install", "--bogus"]).is_err());
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn detection() {
        let b = |x: &String| x.as_bytes().to_vec();
        // Direct run: AT_EXECFN is ferrite itself.
        let direct = HostAux {
            execfn: Some(b"/usr/bin/ferrite-aarch64".to_vec()),
            ..Default::default()
        };
        assert_eq!(
            detect(&s(&["ferrite-aarch64", "./prog", "-h"]), &direct, b),
            None
        );
        // P: [ferrite, path, argv0, args].
        let p = HostAux {
            at_flags: 1,
            execfn: Some(b"./prog".to_vec()),
            ..Default::default()
        };
        let inv = detect(&s(&["/f", "./prog", "prog", "-h"]), &p, b).unwrap();
        assert_eq!(inv.program, "./prog");
        assert_eq!(inv.argv, s(&["prog", "-h"]));
        assert!(inv.start.preserve_argv0);
        // No P, no O: recognised by AT_EXECFN == argv[1].
        let plain = HostAux {
            execfn: Some(b"-odd-name".to_vec()),
            ..Default::default()
        };
        let inv = detect(&s(&["/f", "-odd-name", "-h"]), &plain, b).unwrap();
        assert_eq!(inv.program, "-odd-name");
        assert_eq!(inv.argv, s(&["-odd-name", "-h"]));
        // O: the descriptor, even without a matching AT_EXECFN (a #! script).
        let o = HostAux {
            execfd: Some(0),
            execfn: Some(b"./script".to_vec()),
            ..Default::default()
        };
        let inv = detect(&s(&["/f", "/bin/sh", "./script"]), &o, b).unwrap();
        assert_eq!(inv.start.exec_fd, Some(0));
        assert_eq!(inv.argv, s(&["/bin/sh", "./script"]));
        // P with an empty original argv (old kernels).
        let inv = detect(&s(&["/f", "/p"]), &p, b).unwrap();
        assert_eq!(inv.argv, s(&["/p"]));
    }
}
