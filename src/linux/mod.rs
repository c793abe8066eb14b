//! User mode (linux-user): run one arm64 Linux program on the host kernel.
//!
//! [`Process`] holds what all guest threads share (the engine, the memory map, the
//! sigaction table, options); [`run`] loads the program and drives the engine,
//! handling its exits: system calls, breakpoints, undefined instructions and faults.
//!
//! Submodules: [`cli`] (QEMU-style options), [`loader`], [`mm`] (guest address space),
//! [`guest`] (safe guest memory access), [`syscall`] (the table and handlers),
//! [`fault`] (host signal handlers for guest faults), [`binfmt`] (binfmt_misc
//! registration and start-up), [`vfork`] (vfork semantics without shared memory), [`smc`] (writes to translated
//! code without IC IVAU).

pub mod binfmt;
pub mod cli;
pub mod fault;
pub mod gdb;
pub mod guest;
pub mod loader;
pub mod mm;
pub mod procfs;
pub mod random;
pub mod signal;
pub mod smc;
pub mod syscall;
pub mod thread;
pub mod vfork;

use std::ffi::{CString, OsString};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use crate::arm64::cpu::Cpu;
use crate::arm64::model::CpuModel;
use crate::engine::{Engine, Exit, Fetch};
use crate::log::{self, Item};
use crate::x64::{Identity, MemLowering, SlowIdentity};
use syscall::signal::GuestSigaction;
use syscall::{Action, SyscallCtx};

/// HWCAP bits (arch/arm64/include/uapi/asm/hwcap.h).
pub mod hwcap {
    pub const FP: u64 = 1 << 0;
    pub const ASIMD: u64 = 1 << 1;
    pub const AES: u64 = 1 << 3;
    pub const PMULL: u64 = 1 << 4;
    pub const SHA1: u64 = 1 << 5;
    pub const SHA2: u64 = 1 << 6;
    pub const CRC32: u64 = 1 << 7;
    pub const ATOMICS: u64 = 1 << 8;
    pub const CPUID: u64 = 1 << 11;
    pub const LRCPC: u64 = 1 << 15;
}

/// AT_HWCAP for a CPU model: exactly the features ferrite implements.
pub fn hwcap_of(model: &CpuModel) -> u64 {
    let f = &model.features;
    // FP and Advanced SIMD (all of ARMv8.0; FEAT_FP16 is not implemented and not
    // advertised).
    let mut h = hwcap::FP | hwcap::ASIMD;
    // The crypto extension (AES, PMULL 1Q, SHA1, SHA256) is implemented on every model.
    h |= hwcap::AES | hwcap::PMULL | hwcap::SHA1 | hwcap::SHA2;
    if f.crc32 {
        h |= hwcap::CRC32;
    }
    if f.lse {
        h |= hwcap::ATOMICS;
    }
    if f.cpuid {
        h |= hwcap::CPUID;
    }
    if f.rcpc {
        h |= hwcap::LRCPC;
    }
    h
}

/// Options that affect how the guest runs (from the command line and environment).
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `-L`: interpreter and absolute-path prefix.
    pub prefix: Option<PathBuf>,
    /// `-s`: stack size in bytes.
    pub stack_size: Option<u64>,
    /// `-cpu`.
    pub cpu: Option<String>,
    /// `-0`: argv[0] for the guest.
    pub argv0: Option<String>,
    /// `-E`/`-U`: environment changes, applied in order.
    pub set_env: Vec<(String, String)>,
    pub unset_env: Vec<String>,
    /// Set when binfmt_misc started ferrite (see [`binfmt`]).
    pub binfmt: Option<binfmt::Start>,
    /// `-r`: the release field of `uname`.
    pub uname_release: Option<String>,
    /// `-seed`: deterministic AT_RANDOM and getrandom (see [`random`]).
    pub seed: Option<u64>,
    /// `-one-insn-per-tb`: translate one guest instruction per block.
    pub one_insn_per_tb: bool,
    /// `-g`: wait for gdb on this TCP port or Unix socket (see [`gdb`]).
    pub gdb: Option<crate::gdb::Listen>,
}

thread_local! {
    /// How many [`MmGuard`]s this thread holds (0 or 1: the lock is not re-entrant).
    static HOLDING_MM: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// The locked guest memory map. Knows that its thread holds the lock, so that checks of
/// guest pointers made while it is held ([`Process::mm_unless_held`]) do not deadlock.
pub struct MmGuard<'a> {
    guard: MutexGuard<'a, mm::MemoryMap>,
}

impl<'a> MmGuard<'a> {
    fn new(guard: MutexGuard<'a, mm::MemoryMap>) -> MmGuard<'a> {
        HOLDING_MM.with(|h| h.set(h.get() + 1));
        MmGuard { guard }
    }
}

impl Drop for MmGuard<'_> {
    fn drop(&mut self) {
        HOLDING_MM.with(|h| h.set(h.get().saturating_sub(1)));
    }
}

impl std::ops::Deref for MmGuard<'_> {
    type Target = mm::MemoryMap;
    fn deref(&self) -> &mm::MemoryMap {
        &self.guard
    }
}

impl std::ops::DerefMut for MmGuard<'_> {
    fn deref_mut(&mut self) -> &mut mm::MemoryMap {
        &mut self.guard
    }
}

/// ferrite's locks, held across a host fork (see [`Process::fork_guard`]).
pub struct ForkGuard<'a> {
    _engine: crate::engine::ForkGuard<'a>,
    _mm: MmGuard<'a>,
    _sigactions: MutexGuard<'a, [GuestSigaction; 65]>,
    _watched: smc::ForkGuard,
}

/// What all threads of the guest process share.
pub struct Process {
    pub engine: Engine,
    mm: Mutex<mm::MemoryMap>,
    pub options: Options,
    /// Absolute path of the guest executable (for /proc/self/exe).
    pub exe_path: PathBuf,
    pub argv: Vec<CString>,
    pub auxv: Vec<(u64, u64)>,
    /// The guest's initial stack pointer (for /proc/self/stat).
    pub stack_start: u64,
    sigactions: Mutex<[GuestSigaction; 65]>,
    /// Live guest threads.
    pub threads: std::sync::atomic::AtomicUsize,
    /// ferrite's own executable, for re-executing arm64 programs on execve.
    ferrite_exe: CString,
}

impl Process {
    /// The guest memory map.
    pub fn mm(&self) -> MmGuard<'_> {
        MmGuard::new(self.mm.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The guest memory map, unless this thread already holds it (`None`: the caller is
    /// ferrite code running under the lock, such as a fork's own bookkeeping).
    pub fn mm_unless_held(&self) -> Option<MmGuard<'_>> {
        if HOLDING_MM.with(|h| h.get()) != 0 {
            return None;
        }
        Some(self.mm())
    }

    /// Every lock of ferrite's that another thread could hold at a host fork (engine,
    /// memory map, sigaction table, the set of write-protected code pages), taken in
    /// their nesting order; see [`Engine::fork_guard`].
    pub fn fork_guard(&self) -> ForkGuard<'_> {
        ForkGuard {
            _engine: self.engine.fork_guard(),
            _mm: self.mm(),
            _sigactions: self.sigactions.lock().unwrap_or_else(|e| e.into_inner()),
            _watched: smc::fork_guard(),
        }
    }

    /// In the child of a host fork, made by the guest thread running `cpu`: the child
    /// has that one thread. The parent's other guest threads do not exist here: they
    /// must not be counted (the last thread's `exit` must end the process), interrupted
    /// or waited for.
    pub fn after_fork_child(&self, cpu: &mut Cpu) {
        self.threads.store(1, std::sync::atomic::Ordering::SeqCst);
        self.engine.after_fork_child(cpu);
        gdb::after_fork_child(self);
    }

    /// The guest protection at `addr` (`Some(None)`: not guest memory), without waiting
    /// for the memory-map lock: `None` when it is taken.
    pub fn try_guest_prot(&self, addr: u64) -> Option<Option<u64>> {
        match self.mm.try_lock() {
            Ok(mm) => Some(mm.find(addr).map(|(_, v)| v.prot)),
            Err(std::sync::TryLockError::Poisoned(e)) => {
                Some(e.into_inner().find(addr).map(|(_, v)| v.prot))
            }
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    /// Whether `addr` is guest memory, without waiting for the memory-map lock (for the
    /// fault handler, which may interrupt its holder): `None` when the lock is taken.
    pub fn try_is_guest(&self, addr: u64) -> Option<bool> {
        self.try_guest_prot(addr).map(|prot| prot.is_some())
    }

    /// Read a guest path argument and apply the `-L` prefix to absolute paths.
    pub fn guest_path(&self, addr: u64) -> Result<CString, guest::Errno> {
        let p = guest::read_cstr(addr, libc::PATH_MAX as usize)?;
        Ok(self.host_path(p))
    }

    /// Map a guest path to the host path to use.
    pub fn host_path(&self, p: CString) -> CString {
        let bytes = p.as_bytes();
        if let (Some(_), Some(b'/')) = (&self.options.prefix, bytes.first()) {
            let s = String::from_utf8_lossy(bytes);
            let r = loader::resolve(self.options.prefix.as_deref(), &s);
            if let Ok(c) = CString::new(r.into_os_string().into_encoded_bytes()) {
                return c;
            }
        }
        p
    }

    /// Links the guest must see differently from the host (`/proc/self/exe`).
    pub fn magic_link(&self, dirfd: i32, path: &CString) -> Option<OsString> {
        let _ = dirfd;
        // /proc/self/exe, /proc/<pid>/exe, /proc/thread-self/exe, …/task/<tid>/exe.
        if procfs::own_file(path.as_bytes()) == Some(&b"exe"[..]) {
            return Some(self.exe_path.clone().into_os_string());
        }
        None
    }

    /// ferrite's own executable (resolved at start-up, before any chroot).
    pub fn ferrite_path(&self) -> CString {
        self.ferrite_exe.clone()
    }

    /// The options a re-executed ferrite needs to run a program the same way.
    pub fn reexec_options(&self) -> Vec<CString> {
        let mut v = Vec::new();
        let mut push = |a: &str, b: &[u8]| {
            v.push(CString::new(a).expect("option name"));
            v.push(CString::new(b).unwrap_or_default());
        };
        let o = &self.options;
        if let Some(pre) = &o.prefix {
            push("-L", pre.as_os_str().as_encoded_bytes());
        }
        if let Some(cpu) = &o.cpu {
            push("-cpu", cpu.as_bytes());
        }
        if let Some(s) = o.stack_size {
            push("-s", s.to_string().as_bytes());
        }
        if let Some(r) = &o.uname_release {
            push("-r", r.as_bytes());
        }
        if let Some(seed) = o.seed {
            push("-seed", seed.to_string().as_bytes());
        }

        let items = log::enabled_names();
        if !items.is_empty() {
            push("-d", items.as_bytes());
        }
        if o.one_insn_per_tb {
            v.push(CString::new("-one-insn-per-tb").expect("option name"));
        }
        v
    }

    pub fn set_clear_child_tid(&self, addr: u64) {
        thread::set_clear_child_tid(addr);
    }

    /// Read and optionally replace the guest's action for `sig` (1..=64).
    pub fn sigaction(&self, sig: i32, new: Option<GuestSigaction>) -> GuestSigaction {
        let mut t = self.sigactions.lock().unwrap_or_else(|e| e.into_inner());
        let old = t[sig as usize];
        if let Some(n) = new {
            t[sig as usize] = n;
        }
        old
    }
}

/// Instruction fetch for the engine: only from executable guest mappings. (Checked on
/// every fetch: translation is rare, and a cached answer would go stale when the
/// guest unmaps or reprotects code.)
struct GuestFetch<'a> {
    process: &'a Process,
}

impl Fetch for GuestFetch<'_> {
    fn context(&mut self, _pc: u64) -> crate::ir::Ctx {
        fault::translation_context()
    }

    fn fetch(&mut self, pc: u64) -> Option<u32> {
        let mm = self.process.mm();
        let prot = mm.find(pc).map_or(0, |(_, v)| v.prot);
        if pc & 3 != 0 || prot & libc::PROT_EXEC as u64 == 0 {
            return None;
        }
        // gdb's breakpoints (see `gdb`).
        if let Some(w) = gdb::fetch_override(pc) {
            return Some(w);
        }
        // Code the guest may also write: watch its page (see `smc`).
        smc::watch(pc, prot);
        // SAFETY: `pc` is 4-byte aligned inside a guest mapping with PROT_EXEC (which is
        // readable on x86-64), and the guest cannot unmap it while we hold the memory
        // map lock (its munmap/mprotect/mremap go through the same lock).
        Some(unsafe { std::ptr::read_volatile(pc as *const u32) })
    }
}

/// A fatal start-up error, printed as one line by the binary.
#[derive(Debug)]
pub struct StartError(pub String);

/// Print the `-d stats` summary (when enabled) as the process ends.
pub fn report_stats(process: &Process) {
    if log::enabled(Item::Stats) {
        log::write(&process.engine.stats_report());
    }
}

/// Start the guest program `args[0]` with arguments `args` (argv[0] included).
/// Returns only if the program could not be started; otherwise the process exits
/// with the guest's status.
pub fn run(options: Options, program: &str, args: Vec<OsString>) -> Result<(), StartError> {
    let model_name = options.cpu.clone().unwrap_or_else(|| "max".into());
    let model = crate::arm64::model::find(&model_name)
        .ok_or_else(|| StartError(format!("unknown CPU model '{model_name}' (try -cpu help)")))?;

    if let Some(seed) = options.seed {
        random::set_seed(seed);
    }
    crate::engine::set_one_insn_per_block(options.one_insn_per_tb);
    let mem: Box<dyn MemLowering + Send + Sync> = if log::enabled(Item::SlowMem) {
        Box::new(SlowIdentity)
    } else {
        Box::new(Identity)
    };
    let engine = Engine::new(model.features, mem).map_err(|e| StartError(e.0))?;
    let (cs, ce) = engine.cache_range();
    let mut mmap = mm::MemoryMap::new(vec![(cs as u64, ce as u64)]);

    let host_path = PathBuf::from(program);
    // binfmt_misc `O`: the kernel opened the program for us (it may be execute-only).
    let exec_fd = options.binfmt.and_then(|b| b.exec_fd);
    let exe_path = std::fs::canonicalize(&host_path)
        .or_else(|e| exec_fd.map(|_| host_path.clone()).ok_or(e))
        .map_err(|e| StartError(format!("{program}: {}", cli::io_text(&e))))?;
    let mut argv: Vec<CString> = args
        .iter()
        .map(|a| {
            CString::new(a.as_encoded_bytes()).map_err(|_| StartError("NUL in argument".into()))
        })
        .collect::<Result<_, _>>()?;
    if let Some(a0) = &options.argv0 {
        if let Some(first) = argv.first_mut() {
            *first = CString::new(a0.as_bytes()).map_err(|_| StartError("NUL in -0".into()))?;
        }
    }
    let envp = guest_environment(&options)?;
    let stack_size = options.stack_size.unwrap_or_else(default_stack_size);
    let params = loader::LoadParams {
        exec_path: program,
        host_path: &host_path,
        argv: &argv,
        envp: &envp,
        prefix: options.prefix.as_deref(),
        stack_size,
        hwcap: hwcap_of(model),
        hwcap2: 0,
        // The guest was not started by binfmt_misc itself (ferrite consumed the
        // P bit and argv slot): as on an arm64 kernel running it natively.
        at_flags: 0,
        exec_fd,
    };
    let loaded = loader::load(&params, &mut mmap);
    if let Some(fd) = exec_fd {
        // The guest must not see the descriptor; its mappings stay.
        // SAFETY: closing the descriptor the kernel passed to ferrite (AT_EXECFD).
        unsafe { libc::close(fd) };
    }
    let loaded = loaded.map_err(|e| StartError(e.0))?;
    set_comm(program);
    if log::enabled(Item::Page) {
        log::write(&page_report(&mmap, &loaded, argv.len(), envp.len()));
    }

    // The process lives as long as the host process: guest threads share it.
    let process: &'static Process = Box::leak(Box::new(Process {
        engine,
        mm: Mutex::new(mmap),
        options,
        exe_path,
        argv,
        auxv: loaded.auxv.clone(),
        stack_start: loaded.sp,
        sigactions: Mutex::new([GuestSigaction::default(); 65]),
        threads: std::sync::atomic::AtomicUsize::new(1),
        ferrite_exe: std::fs::read_link("/proc/self/exe")
            .ok()
            .and_then(|p| CString::new(p.into_os_string().into_encoded_bytes()).ok())
            .unwrap_or_else(|| CString::new("/proc/self/exe").expect("literal")),
    }));
    let mut cpu = Cpu::new();
    cpu.pc = loaded.pc;
    cpu.x[31] = loaded.sp;
    fault::install(process);
    if let Some(spec) = &process.options.gdb {
        gdb::start(process, spec, &mut cpu).map_err(StartError)?;
    }
    close_runtime_std_fds();
    let ending = run_thread(process, &mut cpu);
    thread::finish(process, ending);
    // The main thread called `exit` while other threads run on: like a kernel's
    // zombie main thread, stay out of the way (no signals) until the last one ends
    // the process.
    // Block every host signal (including the RT ones host glibc reserves) for this
    // parked host thread only.
    signal::set_host_mask(!0);
    loop {
        // SAFETY: pause has no preconditions.
        unsafe { libc::pause() };
    }
}

/// `-d page`: the guest memory map after loading, in qemu-aarch64's layout (a table of
/// `start-end size prot`, adjacent mappings with the same protection merged, then the
/// process's layout fields).
fn page_report(mm: &mm::MemoryMap, loaded: &loader::Loaded, argc: usize, envc: usize) -> String {
    let mut rows: Vec<(u64, u64, u64)> = Vec::new();
    for (&start, v) in &mm.vmas {
        match rows.last_mut() {
            Some(last) if last.1 == start && last.2 == v.prot => last.1 = v.end,
            _ => rows.push((start, v.end, v.prot)),
        }
    }
    let mut s = String::from(
        "page layout changed following binary load\n\
         start            end              size             prot\n",
    );
    for (start, end, prot) in rows {
        let bit = |b: i32, c: char| if prot & b as u64 != 0 { c } else { '-' };
        s += &format!(
            "{start:016x}-{end:016x} {:016x} {}{}{}
",
            end - start,
            bit(libc::PROT_READ, 'r'),
            bit(libc::PROT_WRITE, 'w'),
            bit(libc::PROT_EXEC, 'x')
        );
    }
    let m = &loaded.main;
    // The initial stack: argc, argv[argc + 1], envp[envc + 1], then the auxv.
    let argv_start = loaded.sp + 8;
    let env_start = argv_start + 8 * (argc as u64 + 1);
    let auxv_start = env_start + 8 * (envc as u64 + 1);
    for (name, v) in [
        ("start_brk", mm.brk_start),
        ("end_code", m.code.1),
        ("start_code", m.code.0),
        ("start_data", m.data.0),
        ("end_data", m.data.1),
        ("start_stack", loaded.sp),
        ("brk", mm.brk_start),
        ("entry", m.entry),
        ("argv_start", argv_start),
        ("env_start", env_start),
        ("auxv_start", auxv_start),
    ] {
        s += &format!("{name:<11} {v:#018x}\n");
    }
    s
}

/// Standard descriptors (bit n: fd n, n < 3) that were closed when ferrite started:
/// Rust's runtime opens /dev/null on them before `main`, which the guest must not
/// inherit (a program started with stdin closed sees EBADF on fd 0, and its first
/// `open` returns 0). 0x80: recorded.
static CLOSED_STD_FDS: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Record what ferrite inherited from its parent before Rust's runtime start-up changes
/// it (the SIGPIPE disposition, closed standard descriptors). The binary calls this from
/// an `.init_array` constructor; it uses only `fcntl` and `sigaction`.
pub fn record_inherited_state() {
    signal::record_inherited_sigpipe();
    let mut closed = 0x80u8;
    for fd in 0..3 {
        // SAFETY: F_GETFD on a descriptor number has no side effects.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
            closed |= 1 << fd;
        }
    }
    CLOSED_STD_FDS.store(closed, std::sync::atomic::Ordering::Relaxed);
}

/// Close the standard descriptors that Rust's runtime opened on /dev/null because ferrite
/// was started with them closed (see [`record_inherited_state`]).
fn close_runtime_std_fds() {
    let closed = CLOSED_STD_FDS.load(std::sync::atomic::Ordering::Relaxed);
    for fd in 0..3 {
        if closed & 0x80 != 0 && closed & (1 << fd) != 0 {
            // SAFETY: closing a descriptor the runtime opened for itself; nothing of
            // ferrite's uses it.
            unsafe { libc::close(fd) };
        }
    }
}

/// Name the process after the guest program, as the kernel's execve names it after the
/// file it executed (the basename of the path, at most 15 bytes): `ps`, `pgrep`,
/// `/proc/PID/comm` and the `stat` files of every thread show it, instead of
/// `ferrite-aarch64` when ferrite was started by path.
fn set_comm(program: &str) {
    let base = program.rsplit('/').next().unwrap_or(program);
    let mut name = [0u8; 16];
    let n = base.len().min(15);
    name[..n].copy_from_slice(&base.as_bytes()[..n]);
    // SAFETY: PR_SET_NAME reads a 16-byte NUL-terminated buffer, which `name` is.
    unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) };
}

/// How a guest thread ended.
pub enum Ending {
    /// `exit_group` (or a fatal error): the process ends with this status.
    Exit(i32),
    /// The process dies by this signal.
    Signal(i32),
    /// `exit`: this thread ends with this status.
    ThreadExit(i32),
}

/// Run one guest thread until it (or the whole process) ends.
pub fn run_thread(process: &'static Process, cpu: &mut Cpu) -> Ending {
    process.engine.register_cpu(cpu);
    let ending = run_loop(process, cpu);
    gdb::thread_end();
    process.engine.unregister_cpu(cpu);
    ending
}

fn run_loop(process: &'static Process, cpu: &mut Cpu) -> Ending {
    let mut fetch = GuestFetch { process };
    fault::set_current_cpu(cpu);
    // A signal gdb asks a stopped thread to receive as it resumes.
    let inject = |cpu: &mut Cpu, sig: Option<i32>| {
        if let Some(sig) = sig {
            signal::deliver_from_debugger(process, cpu, sig);
        }
    };
    let sig = gdb::thread_start(cpu);
    inject(cpu, sig);
    loop {
        let stepping = gdb::stepping();
        let exit = if stepping {
            match process.engine.step(cpu, &mut fetch) {
                Some(exit) => exit,
                None => {
                    let sig = gdb::step_done(cpu);
                    inject(cpu, sig);
                    continue;
                }
            }
        } else {
            process.engine.run(cpu, &mut fetch)
        };
        match exit {
            Exit::Svc(_) => {
                let nr = cpu.x[8];
                // For restarting the call after a signal handler (SA_RESTART).
                let orig_x0 = cpu.x[0];
                let mut ctx = SyscallCtx {
                    cpu,
                    process,
                    action: Action::Continue,
                };
                gdb::enter_syscall();
                let r = syscall::syscall(&mut ctx, nr);
                let action = ctx.action;
                let sig = gdb::leave_syscall(cpu);
                // An exception return clears the exclusive monitor (as on hardware).
                cpu.monitor.addr = u64::MAX;
                match action {
                    Action::Continue => cpu.x[0] = r as u64,
                    Action::NoReturnValue => {}
                    Action::ExitGroup(s) => return Ending::Exit(s & 0xff),
                    Action::ExitThread(s) => return Ending::ThreadExit(s & 0xff),
                }
                // Restart or fail an interrupted call; deliver pending signals.
                signal::after_syscall(process, cpu, nr, orig_x0, r, action);
                inject(cpu, sig);
                // The system call was the instruction gdb stepped.
                if stepping && gdb::stepping() {
                    let sig = gdb::step_done(cpu);
                    inject(cpu, sig);
                }
            }
            // One of gdb's breakpoints.
            Exit::Brk(_) if gdb::is_breakpoint(cpu.pc) => {
                let sig = gdb::breakpoint(cpu);
                inject(cpu, sig);
            }
            // SIGTRAP/SIGILL/SIGSEGV to the guest's handler, or report and die.
            Exit::Brk(_) | Exit::Undefined(_) | Exit::Privileged(_) | Exit::FetchFault(_) => {
                signal::synchronous(process, cpu, exit)
            }
            Exit::Interrupt => {
                let sig = gdb::park_if_stopped(cpu);
                inject(cpu, sig);
                signal::deliver_pending(process, cpu)
            }
            Exit::Exception(e) => {
                let (info, fault) = fault::exception_signal(cpu.pc, e);
                signal::queue_sync(info, fault);
                signal::deliver_pending(process, cpu);
            }
        }
    }
}

fn default_stack_size() -> u64 {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `r` is a valid rlimit to fill.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut r) } == 0;
    if ok && r.rlim_cur != libc::RLIM_INFINITY && r.rlim_cur > loader::DEFAULT_STACK {
        r.rlim_cur
    } else {
        loader::DEFAULT_STACK
    }
}

/// The guest's environment: ferrite's own, with `-E`/`-U` applied.
fn guest_environment(options: &Options) -> Result<Vec<CString>, StartError> {
    let mut env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    // -g debugs this process only: programs it starts must not wait for gdb too.
    if options.gdb.is_some() {
        env.retain(|(k, _)| k != "FERRITE_GDB" && k != "QEMU_GDB");
    }
    for u in &options.unset_env {
        env.retain(|(k, _)| k != u.as_str());
    }
    for (k, v) in &options.set_env {
        env.retain(|(ek, _)| ek != k.as_str());
        env.push((k.into(), v.into()));
    }
    env.into_iter()
        .map(|(k, v)| {
            let mut b = k.into_encoded_bytes();
            b.push(b'=');
            b.extend(v.into_encoded_bytes());
            CString::new(b).map_err(|_| StartError("NUL in environment".into()))
        })
        .collect()
}
