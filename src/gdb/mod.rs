//! The GDB remote serial protocol for an arm64 guest (`-g port` / `-g path`).
//!
//! This module is the part of the gdbstub that does not depend on the environment:
//! the register set gdb expects for aarch64 (the `org.gnu.gdb.aarch64.core` and
//! `org.gnu.gdb.aarch64.fpu` features of the target description), the mapping between
//! Linux signal numbers and gdb's own, the listening socket, and the protocol itself,
//! which the [`gdbstub`] crate speaks. What a debugger does to the guest goes through
//! the [`Debuggee`] trait, which an environment implements: user mode in
//! `linux::gdb` (threads are guest threads, stops are signals), and a system machine
//! later (threads would be its vCPUs).
//!
//! The model is gdb's all-stop mode: when one thread stops (a breakpoint, a finished
//! single step, a signal, Ctrl-C from gdb), the debuggee stops every other thread
//! before the stop is reported, and a resume gives every thread an action (continue,
//! step, or stay stopped under scheduler locking).
//!
//! Import rules: this module uses `arm64` (the CPU state) and nothing of `linux` or
//! `system`; the environments use it.

use std::collections::HashMap;
use std::io;
use std::num::NonZeroUsize;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::OnceLock;

use gdbstub::arch::{Arch, Registers};
use gdbstub::common::{Signal, Tid};
use gdbstub::conn::{Connection, ConnectionExt};
use gdbstub::stub::run_blocking::{BlockingEventLoop, Event, WaitForStopReasonError};
use gdbstub::stub::{DisconnectReason, MultiThreadStopReason};
use gdbstub::target::ext::auxv::{Auxv, AuxvOps};
use gdbstub::target::ext::base::multithread::{
    MultiThreadBase, MultiThreadResume, MultiThreadResumeOps, MultiThreadSchedulerLocking,
    MultiThreadSchedulerLockingOps, MultiThreadSingleStep, MultiThreadSingleStepOps,
};
use gdbstub::target::ext::base::BaseOps;
use gdbstub::target::ext::breakpoints::{
    Breakpoints, BreakpointsOps, SwBreakpoint, SwBreakpointOps,
};
use gdbstub::target::ext::exec_file::{ExecFile, ExecFileOps};
use gdbstub::target::{Target, TargetError, TargetResult};

use crate::arm64::cpu::{Cpu, VReg};

/// The registers gdb reads and writes with `g`/`G`, in the order of the target
/// description ([`target_xml`]): X0–X30, SP, PC, CPSR, V0–V31, FPSR, FPCR.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Regs {
    pub x: [u64; 31],
    pub sp: u64,
    pub pc: u64,
    pub cpsr: u32,
    pub v: [u128; 32],
    pub fpsr: u32,
    pub fpcr: u32,
}

impl Regs {
    /// The registers of a CPU at EL0 (PSTATE holds only NZCV there).
    pub fn of_cpu(cpu: &Cpu) -> Regs {
        let mut r = Regs::default();
        r.x.copy_from_slice(&cpu.x[..31]);
        r.sp = cpu.x[31];
        r.pc = cpu.pc;
        r.cpsr = (cpu.nzcv & 0xf000_0000) as u32;
        for (d, s) in r.v.iter_mut().zip(cpu.v.iter()) {
            *d = s.as_u128();
        }
        r.fpsr = cpu.fpsr as u32;
        r.fpcr = cpu.fpcr as u32;
        r
    }

    /// Write these registers into an EL0 CPU (only NZCV of CPSR is kept).
    pub fn store(&self, cpu: &mut Cpu) {
        cpu.x[..31].copy_from_slice(&self.x);
        cpu.x[31] = self.sp;
        cpu.pc = self.pc;
        cpu.nzcv = (self.cpsr & 0xf000_0000) as u64;
        for (d, s) in cpu.v.iter_mut().zip(self.v.iter()) {
            *d = VReg::from_u128(*s);
        }
        cpu.fpsr = self.fpsr as u64;
        cpu.fpcr = self.fpcr as u64;
    }
}

impl Registers for Regs {
    type ProgramCounter = u64;

    fn pc(&self) -> u64 {
        self.pc
    }

    fn gdb_serialize(&self, mut write_byte: impl FnMut(Option<u8>)) {
        let mut put = |b: &[u8]| b.iter().for_each(|&b| write_byte(Some(b)));
        for x in &self.x {
            put(&x.to_le_bytes());
        }
        put(&self.sp.to_le_bytes());
        put(&self.pc.to_le_bytes());
        put(&self.cpsr.to_le_bytes());
        for v in &self.v {
            put(&v.to_le_bytes());
        }
        put(&self.fpsr.to_le_bytes());
        put(&self.fpcr.to_le_bytes());
    }

    fn gdb_deserialize(&mut self, bytes: &[u8]) -> Result<(), ()> {
        // 33 64-bit registers, CPSR, 32 128-bit registers, FPSR, FPCR.
        if bytes.len() < 33 * 8 + 4 + 32 * 16 + 8 {
            return Err(());
        }
        let mut at = 0;
        let mut take = |n: usize| {
            let s = &bytes[at..at + n];
            at += n;
            s
        };
        let u64_of = |b: &[u8]| u64::from_le_bytes(b.try_into().expect("8 bytes"));
        let u32_of = |b: &[u8]| u32::from_le_bytes(b.try_into().expect("4 bytes"));
        for x in self.x.iter_mut() {
            *x = u64_of(take(8));
        }
        self.sp = u64_of(take(8));
        self.pc = u64_of(take(8));
        self.cpsr = u32_of(take(4));
        for v in self.v.iter_mut() {
            *v = u128::from_le_bytes(take(16).try_into().expect("16 bytes"));
        }
        self.fpsr = u32_of(take(4));
        self.fpcr = u32_of(take(4));
        Ok(())
    }
}

/// The gdbstub architecture: aarch64 with ferrite's target description (the core and
/// FP/SIMD features only: a user-mode guest has no system registers to show).
pub enum AArch64 {}

impl Arch for AArch64 {
    type Usize = u64;
    type Registers = Regs;
    type BreakpointKind = usize;
    type RegId = ();

    fn target_description_xml() -> Option<&'static str> {
        Some(target_xml())
    }
}

/// The target description: register names, sizes and types in `g` packet order,
/// under the feature names gdb's aarch64 support looks for.
pub fn target_xml() -> &'static str {
    static XML: OnceLock<String> = OnceLock::new();
    XML.get_or_init(|| {
        let mut s = String::from(
            "<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n\
             <target version=\"1.0\">\n<architecture>aarch64</architecture>\n\
             <feature name=\"org.gnu.gdb.aarch64.core\">\n",
        );
        for i in 0..31 {
            s += &format!("<reg name=\"x{i}\" bitsize=\"64\" type=\"int\"/>\n");
        }
        s += "<reg name=\"sp\" bitsize=\"64\" type=\"data_ptr\"/>\n\
              <reg name=\"pc\" bitsize=\"64\" type=\"code_ptr\"/>\n\
              <reg name=\"cpsr\" bitsize=\"32\" type=\"int\"/>\n</feature>\n\
              <feature name=\"org.gnu.gdb.aarch64.fpu\">\n";
        // The views of a 128-bit register gdb offers as $vN.d.f, $vN.s.u, $vN.q.u, ...
        let lanes = [
            (
                "d",
                2,
                [("f", "ieee_double"), ("u", "uint64"), ("s", "int64")].as_slice(),
            ),
            (
                "s",
                4,
                &[("f", "ieee_single"), ("u", "uint32"), ("s", "int32")],
            ),
            ("h", 8, &[("u", "uint16"), ("s", "int16")]),
            ("b", 16, &[("u", "uint8"), ("s", "int8")]),
            ("q", 1, &[("u", "uint128"), ("s", "int128")]),
        ];
        for (view, count, fields) in lanes {
            for (f, ty) in fields {
                s += &format!("<vector id=\"v{view}{f}\" type=\"{ty}\" count=\"{count}\"/>\n");
            }
            s += &format!("<union id=\"vn{view}\">\n");
            for (f, _) in fields {
                s += &format!("<field name=\"{f}\" type=\"v{view}{f}\"/>\n");
            }
            s += "</union>\n";
        }
        s += "<union id=\"aarch64v\">\n";
        for (view, _, _) in lanes {
            s += &format!("<field name=\"{view}\" type=\"vn{view}\"/>\n");
        }
        s += "</union>\n";
        for i in 0..32 {
            s += &format!("<reg name=\"v{i}\" bitsize=\"128\" type=\"aarch64v\"/>\n");
        }
        s += "<reg name=\"fpsr\" bitsize=\"32\" type=\"int\"/>\n\
              <reg name=\"fpcr\" bitsize=\"32\" type=\"int\"/>\n</feature>\n</target>\n";
        s
    })
}

/// gdb's signal numbers for Linux (arm64, generic numbering) signals 1..=64; 143 is
/// gdb's "unknown signal".
const GDB_SIGNALS: [u8; 65] = {
    let mut t = [143u8; 65];
    let named: [(usize, u8); 31] = [
        (1, 1),    // SIGHUP
        (2, 2),    // SIGINT
        (3, 3),    // SIGQUIT
        (4, 4),    // SIGILL
        (5, 5),    // SIGTRAP
        (6, 6),    // SIGABRT
        (7, 10),   // SIGBUS
        (8, 8),    // SIGFPE
        (9, 9),    // SIGKILL
        (10, 30),  // SIGUSR1
        (11, 11),  // SIGSEGV
        (12, 31),  // SIGUSR2
        (13, 13),  // SIGPIPE
        (14, 14),  // SIGALRM
        (15, 15),  // SIGTERM
        (16, 143), // SIGSTKFLT (gdb has none)
        (17, 20),  // SIGCHLD
        (18, 19),  // SIGCONT
        (19, 17),  // SIGSTOP
        (20, 18),  // SIGTSTP
        (21, 21),  // SIGTTIN
        (22, 22),  // SIGTTOU
        (23, 16),  // SIGURG
        (24, 24),  // SIGXCPU
        (25, 25),  // SIGXFSZ
        (26, 26),  // SIGVTALRM
        (27, 27),  // SIGPROF
        (28, 28),  // SIGWINCH
        (29, 23),  // SIGIO
        (30, 32),  // SIGPWR
        (31, 12),  // SIGSYS
    ];
    let mut i = 0;
    while i < named.len() {
        t[named[i].0] = named[i].1;
        i += 1;
    }
    // Real-time signals: 32 is gdb's 77, 33..=63 are 45..=75, 64 is 78.
    t[32] = 77;
    let mut n = 33;
    while n <= 63 {
        t[n] = (n - 33 + 45) as u8;
        n += 1;
    }
    t[64] = 78;
    t
};

/// gdb's number for Linux signal `sig`.
pub fn gdb_signal(sig: i32) -> Signal {
    Signal(GDB_SIGNALS.get(sig as usize).copied().unwrap_or(143))
}

/// The Linux signal for gdb's signal number (`None`: 0 or one Linux does not have).
pub fn linux_signal(s: Signal) -> Option<i32> {
    if s.0 == 0 || s.0 == 143 {
        return None;
    }
    (1..=64).find(|&n| GDB_SIGNALS[n] == s.0).map(|n| n as i32)
}

/// A thread id as gdb sees it (user mode: the host thread id).
pub type ThreadId = NonZeroUsize;

/// What a thread does when gdb resumes the guest. Signals are Linux numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resume {
    /// Run, delivering this signal first (the one it stopped with, or another).
    Continue(Option<i32>),
    /// Run one instruction, delivering this signal first.
    Step(Option<i32>),
    /// Stay stopped (scheduler locking: gdb resumes only the threads it names).
    Stay,
}

/// Why the guest stopped (or ended), for gdb.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The thread reached a software breakpoint gdb had set.
    Breakpoint(ThreadId),
    /// The thread finished a single step.
    Step(ThreadId),
    /// The thread is about to receive this signal; gdb decides whether it does.
    Signal(ThreadId, i32),
    /// Stopped at gdb's request (Ctrl-C); reported as SIGINT.
    Interrupted(ThreadId),
    /// The process exited with this status.
    Exited(i32),
    /// The process was killed by this signal.
    Terminated(i32),
}

/// What the protocol needs from the environment being debugged. Every method but
/// [`Debuggee::interrupt`], [`Debuggee::wake_fd`] and [`Debuggee::poll_stop`] is called
/// only while the guest is stopped.
pub trait Debuggee {
    /// The live threads, the first being the one reported by default.
    fn threads(&mut self) -> Vec<ThreadId>;
    fn read_regs(&mut self, tid: ThreadId) -> Option<Regs>;
    fn write_regs(&mut self, tid: ThreadId, regs: &Regs) -> bool;
    /// Read guest memory at `addr` into `buf`; the number of bytes readable from the
    /// start (0: none).
    fn read_memory(&mut self, addr: u64, buf: &mut [u8]) -> usize;
    /// Write guest memory (code included: its translations are dropped).
    fn write_memory(&mut self, addr: u64, data: &[u8]) -> bool;
    /// Insert (`on`) or remove a software breakpoint at `addr`.
    fn set_breakpoint(&mut self, addr: u64, on: bool) -> bool;
    /// Resume: each thread with its action from `actions`, the others with `others`.
    fn resume(&mut self, actions: &HashMap<ThreadId, Resume>, others: Resume);
    /// Ask the running guest to stop (gdb's Ctrl-C); the stop comes through
    /// [`Debuggee::poll_stop`].
    fn interrupt(&mut self);
    /// A descriptor that becomes readable when a stop may be ready.
    fn wake_fd(&self) -> RawFd;
    /// The stop, once every thread has stopped (waits for that), or `None`.
    fn poll_stop(&mut self) -> Option<Stop>;
    /// The exit of the process was reported to gdb (it may end now).
    fn exit_reported(&mut self);
    /// The auxiliary vector as the guest's kernel would show it (`qXfer:auxv:read`).
    fn auxv(&self) -> Vec<u8>;
    /// The executable's path (`qXfer:exec-file:read`).
    fn exec_file(&self) -> Vec<u8>;
    /// gdb detached (or went away): remove every breakpoint and let the guest run.
    fn detach(&mut self);
    /// gdb killed the guest.
    fn kill(&mut self) -> !;
}

/// A socket connected to gdb. Written bytes are buffered until `flush` (the protocol
/// writes byte by byte); reads are buffered too.
pub struct Conn {
    fd: OwnedFd,
    out: Vec<u8>,
    inbuf: Vec<u8>,
    inpos: usize,
}

/// Where to wait for gdb: a TCP port (all interfaces, as qemu's `-g port`) or a Unix
/// socket path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Listen {
    Port(u16),
    Path(std::path::PathBuf),
}

impl Listen {
    /// `-g`'s argument: a number is a TCP port, anything else a Unix socket path.
    pub fn parse(s: &str) -> Result<Listen, String> {
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            return match s.parse::<u16>() {
                Ok(p) if p != 0 => Ok(Listen::Port(p)),
                _ => Err(format!("-g {s}: not a TCP port (1-65535)")),
            };
        }
        if s.is_empty() {
            return Err("-g: expected a TCP port or a socket path".into());
        }
        Ok(Listen::Path(s.into()))
    }

    /// Wait for gdb to connect.
    pub fn accept(&self) -> Result<Conn, String> {
        let fd: OwnedFd = match self {
            Listen::Port(p) => {
                let l = std::net::TcpListener::bind(("0.0.0.0", *p))
                    .map_err(|e| format!("-g {p}: cannot listen: {}", io_text(&e)))?;
                let (s, _) = l
                    .accept()
                    .map_err(|e| format!("-g {p}: accept: {}", io_text(&e)))?;
                let _ = s.set_nodelay(true);
                s.into()
            }
            Listen::Path(path) => {
                // A stale socket file from an earlier run is in the way of bind.
                if std::fs::symlink_metadata(path)
                    .is_ok_and(|m| std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()))
                {
                    let _ = std::fs::remove_file(path);
                }
                let l = std::os::unix::net::UnixListener::bind(path).map_err(|e| {
                    format!("-g {}: cannot listen: {}", path.display(), io_text(&e))
                })?;
                let (s, _) = l
                    .accept()
                    .map_err(|e| format!("-g {}: accept: {}", path.display(), io_text(&e)))?;
                let _ = std::fs::remove_file(path);
                s.into()
            }
        };
        Ok(Conn {
            fd,
            out: Vec::new(),
            inbuf: Vec::new(),
            inpos: 0,
        })
    }
}

fn io_text(e: &io::Error) -> String {
    let s = e.to_string();
    match e.raw_os_error() {
        Some(n) => s
            .strip_suffix(&format!(" (os error {n})"))
            .map(str::to_string)
            .unwrap_or(s),
        None => s,
    }
}

impl Conn {
    /// The connected socket's descriptor.
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Receive into the input buffer (`nonblocking`: only what has arrived).
    fn fill(&mut self, nonblocking: bool) -> io::Result<bool> {
        if self.inpos < self.inbuf.len() {
            return Ok(true);
        }
        self.inbuf.resize(4096, 0);
        self.inpos = 0;
        let flags = if nonblocking { libc::MSG_DONTWAIT } else { 0 };
        loop {
            // SAFETY: recv into our own buffer of the given length.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    self.inbuf.as_mut_ptr().cast(),
                    self.inbuf.len(),
                    flags,
                )
            };
            if n > 0 {
                self.inbuf.truncate(n as usize);
                return Ok(true);
            }
            self.inbuf.clear();
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "gdb disconnected",
                ));
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock if nonblocking => return Ok(false),
                _ => return Err(e),
            }
        }
    }
}

impl Connection for Conn {
    type Error = io::Error;

    fn write(&mut self, byte: u8) -> io::Result<()> {
        self.out.push(byte);
        Ok(())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.out.extend_from_slice(buf);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        let mut at = 0;
        while at < self.out.len() {
            // SAFETY: send from our own buffer; MSG_NOSIGNAL: a closed peer gives EPIPE
            // instead of SIGPIPE.
            let n = unsafe {
                libc::send(
                    self.fd.as_raw_fd(),
                    self.out[at..].as_ptr().cast(),
                    self.out.len() - at,
                    libc::MSG_NOSIGNAL,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                self.out.clear();
                return Err(e);
            }
            at += n as usize;
        }
        self.out.clear();
        Ok(())
    }
}

impl ConnectionExt for Conn {
    fn read(&mut self) -> io::Result<u8> {
        self.fill(false)?;
        let b = self.inbuf[self.inpos];
        self.inpos += 1;
        Ok(b)
    }

    fn peek(&mut self) -> io::Result<Option<u8>> {
        Ok(self.fill(true)?.then(|| self.inbuf[self.inpos]))
    }
}

/// The gdbstub target: the protocol's view of a [`Debuggee`].
struct Stub<D: Debuggee> {
    d: D,
    actions: HashMap<ThreadId, Resume>,
    locked: bool,
}

impl<D: Debuggee> Target for Stub<D> {
    type Arch = AArch64;
    type Error = &'static str;

    fn base_ops(&mut self) -> BaseOps<'_, AArch64, &'static str> {
        BaseOps::MultiThread(self)
    }

    fn support_breakpoints(&mut self) -> Option<BreakpointsOps<'_, Self>> {
        Some(self)
    }

    fn support_auxv(&mut self) -> Option<AuxvOps<'_, Self>> {
        Some(self)
    }

    fn support_exec_file(&mut self) -> Option<ExecFileOps<'_, Self>> {
        Some(self)
    }

    // gdb must not insert breakpoints by writing BRK words itself: the translator
    // fetches through ferrite's breakpoint table instead.
    fn guard_rail_implicit_sw_breakpoints(&self) -> bool {
        true
    }
}

fn copy_range(data: &[u8], offset: u64, length: usize, buf: &mut [u8]) -> usize {
    let start = (offset as usize).min(data.len());
    let n = length.min(buf.len()).min(data.len() - start);
    buf[..n].copy_from_slice(&data[start..start + n]);
    n
}

impl<D: Debuggee> MultiThreadBase for Stub<D> {
    fn read_registers(&mut self, regs: &mut Regs, tid: Tid) -> TargetResult<(), Self> {
        *regs = self.d.read_regs(tid).ok_or(TargetError::NonFatal)?;
        Ok(())
    }

    fn write_registers(&mut self, regs: &Regs, tid: Tid) -> TargetResult<(), Self> {
        if self.d.write_regs(tid, regs) {
            Ok(())
        } else {
            Err(TargetError::NonFatal)
        }
    }

    fn read_addrs(&mut self, start: u64, data: &mut [u8], _tid: Tid) -> TargetResult<usize, Self> {
        match self.d.read_memory(start, data) {
            0 if !data.is_empty() => Err(TargetError::Errno(14)),
            n => Ok(n),
        }
    }

    fn write_addrs(&mut self, start: u64, data: &[u8], _tid: Tid) -> TargetResult<(), Self> {
        if self.d.write_memory(start, data) {
            Ok(())
        } else {
            Err(TargetError::Errno(14))
        }
    }

    fn list_active_threads(&mut self, cb: &mut dyn FnMut(Tid)) -> Result<(), &'static str> {
        for t in self.d.threads() {
            cb(t);
        }
        Ok(())
    }

    fn support_resume(&mut self) -> Option<MultiThreadResumeOps<'_, Self>> {
        Some(self)
    }
}

impl<D: Debuggee> MultiThreadResume for Stub<D> {
    fn resume(&mut self) -> Result<(), &'static str> {
        let others = if self.locked {
            Resume::Stay
        } else {
            Resume::Continue(None)
        };
        self.d.resume(&self.actions, others);
        Ok(())
    }

    fn clear_resume_actions(&mut self) -> Result<(), &'static str> {
        self.actions.clear();
        self.locked = false;
        Ok(())
    }

    fn set_resume_action_continue(
        &mut self,
        tid: Tid,
        signal: Option<Signal>,
    ) -> Result<(), &'static str> {
        self.actions
            .insert(tid, Resume::Continue(signal.and_then(linux_signal)));
        Ok(())
    }

    fn support_single_step(&mut self) -> Option<MultiThreadSingleStepOps<'_, Self>> {
        Some(self)
    }

    fn support_scheduler_locking(&mut self) -> Option<MultiThreadSchedulerLockingOps<'_, Self>> {
        Some(self)
    }
}

impl<D: Debuggee> MultiThreadSingleStep for Stub<D> {
    fn set_resume_action_step(
        &mut self,
        tid: Tid,
        signal: Option<Signal>,
    ) -> Result<(), &'static str> {
        self.actions
            .insert(tid, Resume::Step(signal.and_then(linux_signal)));
        Ok(())
    }
}

impl<D: Debuggee> MultiThreadSchedulerLocking for Stub<D> {
    fn set_resume_action_scheduler_lock(&mut self) -> Result<(), &'static str> {
        self.locked = true;
        Ok(())
    }
}

impl<D: Debuggee> Breakpoints for Stub<D> {
    fn support_sw_breakpoint(&mut self) -> Option<SwBreakpointOps<'_, Self>> {
        Some(self)
    }
}

impl<D: Debuggee> SwBreakpoint for Stub<D> {
    fn add_sw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        Ok(self.d.set_breakpoint(addr, true))
    }

    fn remove_sw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        Ok(self.d.set_breakpoint(addr, false))
    }
}

impl<D: Debuggee> Auxv for Stub<D> {
    fn get_auxv(&self, offset: u64, length: usize, buf: &mut [u8]) -> TargetResult<usize, Self> {
        Ok(copy_range(&self.d.auxv(), offset, length, buf))
    }
}

impl<D: Debuggee> ExecFile for Stub<D> {
    fn get_exec_file(
        &self,
        _pid: Option<gdbstub::common::Pid>,
        offset: u64,
        length: usize,
        buf: &mut [u8],
    ) -> TargetResult<usize, Self> {
        Ok(copy_range(&self.d.exec_file(), offset, length, buf))
    }
}

impl From<Stop> for MultiThreadStopReason<u64> {
    fn from(s: Stop) -> Self {
        match s {
            Stop::Breakpoint(tid) => MultiThreadStopReason::SwBreak(tid),
            Stop::Step(tid) => MultiThreadStopReason::SignalWithThread {
                tid,
                signal: Signal::SIGTRAP,
            },
            Stop::Signal(tid, sig) => MultiThreadStopReason::SignalWithThread {
                tid,
                signal: gdb_signal(sig),
            },
            Stop::Interrupted(tid) => MultiThreadStopReason::SignalWithThread {
                tid,
                signal: Signal::SIGINT,
            },
            Stop::Exited(code) => MultiThreadStopReason::Exited(code as u8),
            Stop::Terminated(sig) => MultiThreadStopReason::Terminated(gdb_signal(sig)),
        }
    }
}

/// The blocking event loop: wait for a byte from gdb or a stop of the guest.
struct EventLoop<D>(std::marker::PhantomData<D>);

impl<D: Debuggee> BlockingEventLoop for EventLoop<D> {
    type Target = Stub<D>;
    type Connection = Conn;
    type StopReason = MultiThreadStopReason<u64>;

    fn wait_for_stop_reason(
        target: &mut Stub<D>,
        conn: &mut Conn,
    ) -> Result<Event<Self::StopReason>, WaitForStopReasonError<&'static str, io::Error>> {
        loop {
            if let Some(stop) = target.d.poll_stop() {
                return Ok(Event::TargetStopped(stop.into()));
            }
            if conn
                .peek()
                .map_err(WaitForStopReasonError::Connection)?
                .is_some()
            {
                let b = conn.read().map_err(WaitForStopReasonError::Connection)?;
                return Ok(Event::IncomingData(b));
            }
            let mut fds = [
                libc::pollfd {
                    fd: conn.raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: target.d.wake_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            // SAFETY: poll on two valid pollfd structs of ours.
            let r = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
            if r < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                return Err(WaitForStopReasonError::Connection(
                    io::Error::last_os_error(),
                ));
            }
            if fds[0].revents & (libc::POLLHUP | libc::POLLERR) != 0
                && fds[0].revents & libc::POLLIN == 0
            {
                return Err(WaitForStopReasonError::Connection(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "gdb disconnected",
                )));
            }
        }
    }

    fn on_interrupt(target: &mut Stub<D>) -> Result<Option<Self::StopReason>, &'static str> {
        target.d.interrupt();
        Ok(None)
    }
}

/// Serve gdb on `conn` until it detaches, kills the guest, goes away, or the guest
/// ends. Runs on a thread of its own; the guest's threads stop and go through `d`.
pub fn serve<D: Debuggee>(conn: Conn, d: D) {
    let mut stub = Stub {
        d,
        actions: HashMap::new(),
        locked: false,
    };
    let gdb = match gdbstub::stub::GdbStubBuilder::new(conn).build() {
        Ok(g) => g,
        Err(_) => {
            stub.d.detach();
            return;
        }
    };
    match gdb.run_blocking::<EventLoop<D>>(&mut stub) {
        Ok(DisconnectReason::Kill) => stub.d.kill(),
        Ok(DisconnectReason::TargetExited(_)) | Ok(DisconnectReason::TargetTerminated(_)) => {
            stub.d.exit_reported()
        }
        Ok(DisconnectReason::Disconnect) | Err(_) => stub.d.detach(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_round_trip() {
        for sig in 1..=64 {
            if sig == 16 {
                assert_eq!(gdb_signal(sig).0, 143);
                continue;
            }
            assert_eq!(linux_signal(gdb_signal(sig)), Some(sig), "signal {sig}");
        }
        assert_eq!(gdb_signal(libc::SIGSEGV), Signal::SIGSEGV);
        assert_eq!(gdb_signal(libc::SIGUSR1), Signal::SIGUSR1);
        assert_eq!(gdb_signal(libc::SIGBUS), Signal::SIGBUS);
        assert_eq!(gdb_signal(34), Signal::SIG34);
    }

    #[test]
    fn registers_round_trip_in_g_order() {
        let mut r = Regs::default();
        for (i, x) in r.x.iter_mut().enumerate() {
            *x = 0x1000 + i as u64;
        }
        r.sp = 0x7fff_0000;
        r.pc = 0x40_0000;
        r.cpsr = 0x6000_0000;
        r.v[3] = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210;
        r.fpsr = 0x10;
        r.fpcr = 0x0300_0000;
        let mut bytes = Vec::new();
        r.gdb_serialize(|b| bytes.push(b.unwrap()));
        assert_eq!(bytes.len(), 33 * 8 + 4 + 32 * 16 + 8);
        assert_eq!(&bytes[32 * 8..33 * 8], &0x40_0000u64.to_le_bytes());
        let fpsr_at = 33 * 8 + 4 + 32 * 16;
        assert_eq!(&bytes[fpsr_at..fpsr_at + 4], &0x10u32.to_le_bytes());
        let mut back = Regs::default();
        back.gdb_deserialize(&bytes).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn description_lists_registers_in_order() {
        let xml = target_xml();
        let names: Vec<&str> = xml
            .split("<reg name=\"")
            .skip(1)
            .map(|s| s.split('"').next().unwrap())
            .collect();
        assert_eq!(names.len(), 31 + 3 + 32 + 2);
        assert_eq!(&names[29..34], &["x29", "x30", "sp", "pc", "cpsr"]);
        assert_eq!(names[34], "v0");
        assert_eq!(&names[66..], &["fpsr", "fpcr"]);
    }

    #[test]
    fn listen_argument() {
        assert_eq!(Listen::parse("1234"), Ok(Listen::Port(1234)));
        assert_eq!(Listen::parse("/tmp/s"), Ok(Listen::Path("/tmp/s".into())));
        assert!(Listen::parse("0").is_err());
        assert!(Listen::parse("70000").is_err());
        assert!(Listen::parse("").is_err());
    }
}
