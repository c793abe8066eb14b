//! User mode's side of the gdbstub (`-g`, see [`crate::gdb`]): guest threads stop and
//! resume together, breakpoints, and signals that gdb sees before the guest does.
//!
//! Every guest thread is registered here while gdb is attached ([`ACTIVE`]). A thread
//! stops the world when it has something to report ([`report`]): a breakpoint, a
//! finished single step, a signal about to be delivered. It records the stop, sets
//! [`INT_DEBUG`] in every other thread's CPU so that they leave translated code at the
//! next block entry and park ([`park_if_stopped`]), and wakes the server thread, which
//! reports the stop to gdb once no thread runs guest code any more. Threads inside a
//! system call count as stopped (their registers are those of the `svc`); they park
//! when the call returns. A resume hands each thread its action: continue, single-step
//! (the run loop then calls [`crate::engine::Engine::step`]) or stay stopped.
//!
//! Breakpoints never touch guest memory: instruction fetch for translation answers a
//! `BRK` word at a breakpoint address ([`fetch_override`]), and inserting or removing one
//! drops the translations covering it. A `BRK` exit at such an address is gdb's
//! breakpoint; any other is the guest's own and becomes its SIGTRAP.
//!
//! After a fork the child is not debugged (as gdb's default `detach-on-fork`): it drops
//! the breakpoints' translations and never consults the state here.

use std::cell::Cell;
use std::collections::{BTreeSet, HashMap};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use super::Process;
use crate::arm64::cpu::Cpu;
use crate::engine::{self, INT_DEBUG};
use crate::gdb::{self, Debuggee, Regs, Resume, Stop, ThreadId};

/// Whether gdb is attached (checked without a lock on the run loop's paths).
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// The eventfd that wakes the server thread when a stop may be ready.
static WAKE: AtomicI32 = AtomicI32::new(-1);

/// The word translation sees at a breakpoint: `BRK #0`.
const BRK_WORD: u32 = 0xd420_0000;

/// Breakpoint addresses (read by translation, which holds the engine's locks).
static BREAKPOINTS: RwLock<BTreeSet<u64>> = RwLock::new(BTreeSet::new());

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    /// Running guest code or ferrite's code around it.
    Running,
    /// Inside a system call: stopped as far as gdb is concerned.
    Syscall,
    /// Waiting for a resume.
    Parked,
}

struct Thread {
    tid: ThreadId,
    cpu: usize,
    state: State,
    action: Resume,
}

struct World {
    threads: Vec<Thread>,
    /// A stop is in progress (from the first report until the resume).
    stopped: bool,
    /// The stop to report, and whether the server has taken it.
    event: Option<Stop>,
    taken: bool,
    /// Incremented by every resume.
    generation: u64,
    /// The process's end was reported to gdb.
    exit_reported: bool,
}

static WORLD: Mutex<World> = Mutex::new(World {
    threads: Vec::new(),
    stopped: false,
    event: None,
    taken: false,
    generation: 0,
    exit_reported: false,
});
static CHANGED: Condvar = Condvar::new();

thread_local! {
    /// This thread's resume action is a single step.
    static STEPPING: Cell<bool> = const { Cell::new(false) };
}

fn world() -> MutexGuard<'static, World> {
    WORLD.lock().unwrap_or_else(|e| e.into_inner())
}

fn gettid() -> ThreadId {
    // SAFETY: gettid has no preconditions.
    let t = unsafe { libc::syscall(libc::SYS_gettid) } as usize;
    ThreadId::new(t).expect("thread ids are positive")
}

fn wake_server() {
    let fd = WAKE.load(Ordering::Relaxed);
    if fd >= 0 {
        let one = 1u64;
        // SAFETY: an 8-byte write to our eventfd.
        unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
    }
}

/// Is gdb attached?
pub fn active() -> bool {
    ACTIVE.load(Ordering::Relaxed)
}

/// Wait for gdb on `-g`'s `spec`, then start serving it on a thread of its own. The
/// calling (main) thread is registered, stopped at the program's entry.
pub fn start(process: &'static Process, spec: &gdb::Listen, cpu: &mut Cpu) -> Result<(), String> {
    let conn = spec.accept()?;
    // SAFETY: eventfd with valid flags.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if fd < 0 {
        return Err(format!("-g: eventfd: {}", std::io::Error::last_os_error()));
    }
    WAKE.store(fd, Ordering::Relaxed);
    {
        let mut w = world();
        w.stopped = true;
        w.taken = true;
        w.threads.push(Thread {
            tid: gettid(),
            cpu: cpu as *mut Cpu as usize,
            state: State::Parked,
            action: Resume::Continue(None),
        });
    }
    ACTIVE.store(true, Ordering::SeqCst);
    std::thread::Builder::new()
        .name("gdbstub".into())
        .spawn(move || {
            // Guest signals are for guest threads.
            super::signal::set_host_mask(!0);
            gdb::serve(conn, UserDebuggee { process });
        })
        .map_err(|e| format!("-g: cannot start the server thread: {e}"))?;
    Ok(())
}

/// A guest thread starts (the run loop's entry): register it, and stop it at once if
/// the world is stopped.
pub fn thread_start(cpu: &mut Cpu) -> Option<i32> {
    if !active() {
        return None;
    }
    let tid = gettid();
    let mut w = world();
    if !w.threads.iter().any(|t| t.tid == tid) {
        w.threads.push(Thread {
            tid,
            cpu: cpu as *mut Cpu as usize,
            state: State::Running,
            action: Resume::Continue(None),
        });
    }
    let me = w
        .threads
        .iter()
        .position(|t| t.tid == tid)
        .expect("registered");
    if w.stopped || w.threads[me].state == State::Parked {
        w.threads[me].state = State::Running;
        return resume_signal(park(w, cpu));
    }
    None
}

/// A guest thread ends.
pub fn thread_end() {
    if !active() {
        return;
    }
    let tid = gettid();
    let mut w = world();
    w.threads.retain(|t| t.tid != tid);
    STEPPING.with(|s| s.set(false));
    drop(w);
    CHANGED.notify_all();
}

/// Should the run loop single-step this thread?
pub fn stepping() -> bool {
    active() && STEPPING.with(|s| s.get())
}

/// The instruction word translation must see at `pc` instead of memory's.
pub fn fetch_override(pc: u64) -> Option<u32> {
    if !active() {
        return None;
    }
    let bps = BREAKPOINTS.read().unwrap_or_else(|e| e.into_inner());
    bps.contains(&pc).then_some(BRK_WORD)
}

/// Is `pc` one of gdb's breakpoints?
pub fn is_breakpoint(pc: u64) -> bool {
    fetch_override(pc).is_some()
}

/// Wait in the world's lock for the next resume that lets this thread run; returns its
/// action (the lock is released).
fn park(mut w: MutexGuard<'static, World>, cpu: &mut Cpu) -> Resume {
    let tid = gettid();
    let Some(me) = w.threads.iter().position(|t| t.tid == tid) else {
        return Resume::Continue(None);
    };
    w.threads[me].state = State::Parked;
    CHANGED.notify_all();
    let mut seen = w.generation;
    let action = loop {
        w = CHANGED.wait(w).unwrap_or_else(|e| e.into_inner());
        if !active() {
            break Resume::Continue(None);
        }
        if w.generation == seen || w.stopped {
            seen = w.generation;
            continue;
        }
        seen = w.generation;
        let Some(me) = w.threads.iter().position(|t| t.tid == tid) else {
            break Resume::Continue(None);
        };
        if w.threads[me].action != Resume::Stay {
            break w.threads[me].action;
        }
    };
    if let Some(me) = w.threads.iter().position(|t| t.tid == tid) {
        w.threads[me].state = State::Running;
    }
    // Under the lock: a stop that begins after it sets the bit again.
    engine::clear_interrupt(cpu as *mut Cpu, INT_DEBUG);
    drop(w);
    STEPPING.with(|s| s.set(matches!(action, Resume::Step(_))));
    action
}

/// The run loop at `Exit::Interrupt`: park if the world is stopping. Returns a signal
/// gdb asked this thread to receive, if any.
pub fn park_if_stopped(cpu: &mut Cpu) -> Option<i32> {
    if !active() {
        // A stop that gdb's detach ended before this thread saw it: without this the
        // bit would send every block entry back here.
        engine::clear_interrupt(cpu as *mut Cpu, INT_DEBUG);
        return None;
    }
    let w = world();
    let tid = gettid();
    let staying = w
        .threads
        .iter()
        .any(|t| t.tid == tid && t.action == Resume::Stay);
    if w.stopped || staying {
        return resume_signal(park(w, cpu));
    }
    engine::clear_interrupt(cpu as *mut Cpu, INT_DEBUG);
    None
}

fn resume_signal(r: Resume) -> Option<i32> {
    match r {
        Resume::Continue(s) | Resume::Step(s) => s,
        Resume::Stay => None,
    }
}

/// A thread enters a system call (it counts as stopped while inside).
pub fn enter_syscall() {
    set_state(State::Syscall);
}

/// A thread leaves a system call: park if the world stopped meanwhile. Returns a
/// signal gdb asked this thread to receive, if any.
pub fn leave_syscall(cpu: &mut Cpu) -> Option<i32> {
    if !active() {
        return None;
    }
    let tid = gettid();
    let mut w = world();
    let me = w.threads.iter().position(|t| t.tid == tid)?;
    w.threads[me].state = State::Running;
    if w.stopped || w.threads[me].action == Resume::Stay {
        return resume_signal(park(w, cpu));
    }
    None
}

fn set_state(s: State) {
    if !active() {
        return;
    }
    let tid = gettid();
    let mut w = world();
    if let Some(t) = w.threads.iter_mut().find(|t| t.tid == tid) {
        t.state = s;
    }
    drop(w);
    CHANGED.notify_all();
}

/// How a reported stop ended.
pub struct Reported {
    /// The stop reached gdb (`false`: another thread's stop was reported instead,
    /// and this thread parked meanwhile).
    pub reported: bool,
    /// The action gdb gave this thread.
    pub action: Resume,
}

/// Stop the world for `stop` (of this thread) and wait for gdb's resume.
pub fn report(cpu: &mut Cpu, stop: Stop) -> Reported {
    let mut w = world();
    if w.stopped {
        let action = park(w, cpu);
        return Reported {
            reported: false,
            action,
        };
    }
    w.stopped = true;
    w.event = Some(stop);
    w.taken = false;
    let me = gettid();
    for t in &w.threads {
        if t.tid != me {
            engine::raise_interrupt(t.cpu as *mut Cpu, INT_DEBUG);
        }
    }
    wake_server();
    let action = park(w, cpu);
    Reported {
        reported: true,
        action,
    }
}

/// Report this thread's stop `stop` until gdb has seen it; the action gdb gave.
pub fn report_until_seen(cpu: &mut Cpu, stop: Stop) -> Resume {
    loop {
        let r = report(cpu, stop);
        if r.reported || !active() {
            return r.action;
        }
    }
}

/// The signal `sig` is about to be delivered to this thread: gdb sees it first.
/// Returns the signal to deliver instead (`None`: none; the same number: this one).
pub fn signal_stop(cpu: &mut Cpu, sig: i32) -> Option<i32> {
    if !active() {
        return Some(sig);
    }
    let tid = gettid();
    resume_signal(report_until_seen(cpu, Stop::Signal(tid, sig)))
}

/// A single step of this thread finished: report it. Returns a signal gdb asked the
/// thread to receive next, if any.
pub fn step_done(cpu: &mut Cpu) -> Option<i32> {
    let tid = gettid();
    STEPPING.with(|s| s.set(false));
    let r = report(cpu, Stop::Step(tid));
    resume_signal(r.action)
}

/// This thread reached one of gdb's breakpoints. Returns a signal gdb asked the thread
/// to receive, if any.
pub fn breakpoint(cpu: &mut Cpu) -> Option<i32> {
    let tid = gettid();
    let r = report(cpu, Stop::Breakpoint(tid));
    resume_signal(r.action)
}

/// The process ends (`Exited`/`Terminated`): tell gdb, and give it a moment to read
/// the news before the socket closes.
pub fn process_end(stop: Stop) {
    if !active() {
        return;
    }
    let mut w = world();
    w.stopped = true;
    w.event = Some(stop);
    w.taken = false;
    wake_server();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !w.exit_reported && active() {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            break;
        }
        w = CHANGED
            .wait_timeout(w, left)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}

/// In the child of a fork: not debugged. Translations containing breakpoints go.
pub fn after_fork_child(process: &Process) {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let fd = WAKE.swap(-1, Ordering::Relaxed);
    if fd >= 0 {
        // SAFETY: closing our eventfd in the child, where nothing else uses it.
        unsafe { libc::close(fd) };
    }
    // The parent's breakpoint table may be locked by its server thread, which the
    // child does not have: drop every translation instead of looking.
    process.engine.invalidate(0, u64::MAX);
}

/// The environment gdb debugs: this process's guest.
struct UserDebuggee {
    process: &'static Process,
}

impl UserDebuggee {
    fn cpu_of(&self, w: &World, tid: ThreadId) -> Option<*mut Cpu> {
        w.threads
            .iter()
            .find(|t| t.tid == tid)
            .map(|t| t.cpu as *mut Cpu)
    }

    /// The longest prefix of [addr, addr+len) inside guest mappings.
    fn guest_prefix(&self, addr: u64, len: usize) -> usize {
        let mm = self.process.mm();
        let mut at = addr;
        let end = addr.saturating_add(len as u64);
        while at < end {
            match mm.find(at) {
                Some((_, v)) => at = v.end.min(end),
                None => break,
            }
        }
        (at - addr) as usize
    }
}

impl Debuggee for UserDebuggee {
    fn threads(&mut self) -> Vec<ThreadId> {
        world().threads.iter().map(|t| t.tid).collect()
    }

    fn read_regs(&mut self, tid: ThreadId) -> Option<Regs> {
        let w = world();
        let cpu = self.cpu_of(&w, tid)?;
        // SAFETY: registered CPUs stay alive while registered (we hold the lock that
        // unregistering takes), and their threads are stopped: parked, or inside a
        // system call, which does not change the registers gdb reads.
        Some(Regs::of_cpu(unsafe { &*cpu }))
    }

    fn write_regs(&mut self, tid: ThreadId, regs: &Regs) -> bool {
        let w = world();
        let Some(cpu) = self.cpu_of(&w, tid) else {
            return false;
        };
        // SAFETY: as in `read_regs`; a stopped thread does not touch its registers
        // until it is resumed.
        regs.store(unsafe { &mut *cpu });
        true
    }

    fn read_memory(&mut self, addr: u64, buf: &mut [u8]) -> usize {
        let n = self.guest_prefix(addr, buf.len());
        if n == 0 {
            return 0;
        }
        // /proc/self/mem reads what ptrace would, without faulting on unreadable pages.
        let Ok(mut f) = std::fs::File::open("/proc/self/mem") else {
            return 0;
        };
        if f.seek(SeekFrom::Start(addr)).is_err() {
            return 0;
        }
        let mut done = 0;
        while done < n {
            match f.read(&mut buf[done..n]) {
                Ok(0) | Err(_) => break,
                Ok(k) => done += k,
            }
        }
        done
    }

    fn write_memory(&mut self, addr: u64, data: &[u8]) -> bool {
        if self.guest_prefix(addr, data.len()) != data.len() {
            return false;
        }
        // Through /proc/self/mem, as ptrace writes: read-only code pages included.
        let ok = std::fs::OpenOptions::new()
            .write(true)
            .open("/proc/self/mem")
            .and_then(|mut f| {
                f.seek(SeekFrom::Start(addr))?;
                f.write_all(data)
            })
            .is_ok();
        self.process
            .engine
            .invalidate(addr, addr + data.len() as u64);
        ok
    }

    fn set_breakpoint(&mut self, addr: u64, on: bool) -> bool {
        if addr & 3 != 0 {
            return false;
        }
        {
            let mut bps = BREAKPOINTS.write().unwrap_or_else(|e| e.into_inner());
            if on {
                bps.insert(addr);
            } else {
                bps.remove(&addr);
            }
        }
        self.process.engine.invalidate(addr, addr + 4);
        true
    }

    fn resume(&mut self, actions: &HashMap<ThreadId, Resume>, others: Resume) {
        let mut w = world();
        for t in w.threads.iter_mut() {
            t.action = actions.get(&t.tid).copied().unwrap_or(others);
        }
        w.stopped = false;
        w.event = None;
        w.generation += 1;
        drop(w);
        CHANGED.notify_all();
    }

    fn interrupt(&mut self) {
        let mut w = world();
        if w.stopped {
            return;
        }
        let Some(first) = w.threads.first().map(|t| t.tid) else {
            return;
        };
        w.stopped = true;
        w.event = Some(Stop::Interrupted(first));
        w.taken = false;
        for t in &w.threads {
            engine::raise_interrupt(t.cpu as *mut Cpu, INT_DEBUG);
        }
        wake_server();
    }

    fn wake_fd(&self) -> RawFd {
        WAKE.load(Ordering::Relaxed)
    }

    fn poll_stop(&mut self) -> Option<Stop> {
        let fd = WAKE.load(Ordering::Relaxed);
        let mut v = 0u64;
        // SAFETY: an 8-byte read from our non-blocking eventfd (drains it).
        unsafe { libc::read(fd, (&mut v as *mut u64).cast(), 8) };
        let mut w = world();
        if w.taken {
            return None;
        }
        let ending = matches!(w.event, Some(Stop::Exited(_) | Stop::Terminated(_)));
        // Every thread must be out of guest code before gdb looks.
        while !ending && w.threads.iter().any(|t| t.state == State::Running) {
            w = CHANGED.wait(w).unwrap_or_else(|e| e.into_inner());
        }
        w.taken = true;
        w.event
    }

    fn exit_reported(&mut self) {
        world().exit_reported = true;
        CHANGED.notify_all();
    }

    fn auxv(&self) -> Vec<u8> {
        let mut b = Vec::new();
        for (k, v) in &self.process.auxv {
            b.extend_from_slice(&k.to_le_bytes());
            b.extend_from_slice(&v.to_le_bytes());
        }
        b
    }

    fn exec_file(&self) -> Vec<u8> {
        self.process
            .exe_path
            .as_os_str()
            .as_encoded_bytes()
            .to_vec()
    }

    fn detach(&mut self) {
        {
            let mut bps = BREAKPOINTS.write().unwrap_or_else(|e| e.into_inner());
            for &a in bps.iter() {
                self.process.engine.invalidate(a, a + 4);
            }
            bps.clear();
        }
        ACTIVE.store(false, Ordering::SeqCst);
        let mut w = world();
        for t in w.threads.iter_mut() {
            t.action = Resume::Continue(None);
        }
        w.stopped = false;
        w.event = None;
        w.generation += 1;
        w.exit_reported = true;
        drop(w);
        CHANGED.notify_all();
    }

    fn kill(&mut self) -> ! {
        // As gdb's kill of a native process: SIGKILL.
        // SAFETY: kill of our own process.
        unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
        std::process::exit(128 + libc::SIGKILL)
    }
}
