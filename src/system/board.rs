//! The `virt` board: the device models of [`super::dev`] assembled on the MMIO [`Bus`] at
//! the machine map's addresses ([`super::memory`]), their interrupt lines wired into the
//! GIC, the GIC's CPU-interface outputs delivered to the vCPUs, one generic timer per vCPU,
//! the serial console on the host's stdio, and WFI sleeping.
//!
//! Interrupt path: a device line (PL011 → SPI 1 = INTID 33, PL031 → SPI 2 = INTID 34; the
//! timers' PPIs 27 and 30) → GIC distributor → CPU interface → its IRQ output. When that
//! output rises, the board records it ([`Board::irq_pending`]), calls the run loop's `kick`
//! for that CPU (which makes the generated code return at the next block entry) and wakes a
//! vCPU sleeping in [`Board::wait_for_interrupt`].
//!
//! Threads: the vCPU thread(s) (the caller's), one timer thread (sleeps until the earliest
//! deadline of any vCPU's timer or the RTC alarm, then drives the PPIs / polls the RTC) and,
//! when the console reads a real input, a stdin thread (feeds the PL011's receive side,
//! handles QEMU's `Ctrl-A` escapes for `-serial mon:stdio`, which `-nographic` implies).
//!
//! Lock order, always in this direction: RTC → timers → GIC → wake state; PL011 → GIC. The
//! GIC's output callback only takes the wake state's lock and calls `kick`, which must
//! only set a flag and wake the vCPU thread (it must not call back into the board).
//!
//! Terminal: when stdin is a TTY, it is put in raw mode (no echo, no line editing; output
//! post-processing stays on so `\n` still returns the carriage; with the `Ctrl-A` mux,
//! Ctrl-C is passed to the guest as QEMU's `mon:stdio` does, with `-serial stdio` it still
//! ends ferrite). The saved mode is restored on every exit path: `exit()` (an `atexit`
//! handler), a panic (the panic hook runs before the abort), SIGINT/SIGTERM/SIGHUP/SIGQUIT,
//! and dropping the board.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use super::bus::{lock, Bus, IrqLine, MmioDevice};
use super::cli::{Serial, SysOptions, PROG};
use super::dev::gic::{self, Gic};
use super::dev::pl011::Pl011;
use super::dev::pl031::Pl031;
use super::dev::timer::{self, GenericTimer, TimerKind};
use super::memory::{GIC_CPU, GIC_DIST, RTC, RTC_SPI, UART, UART_SPI};

/// The run loop's callback: CPU `cpu` has an interrupt to look at.
pub type Kick = Arc<dyn Fn(usize) + Send + Sync>;

/// The generic-timer system registers the board keeps (the counter itself is
/// [`Board::counter`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerReg {
    CntvCtl,
    CntvCval,
    CntvTval,
    CntpCtl,
    CntpCval,
    CntpTval,
    Cntkctl,
}

/// Where the console's bytes come from and go to.
pub struct Console {
    /// The UART's transmit side.
    pub output: Box<dyn Write + Send>,
    /// The receive side, read by a thread of its own; `None`: no input.
    pub input: Option<Box<dyn Read + Send>>,
    /// QEMU's `mon:stdio` multiplexer: `Ctrl-A` starts an escape.
    pub mux: bool,
}

impl Console {
    /// The host's stdin and stdout, as `-serial stdio` / `mon:stdio` ask. Puts a TTY on
    /// stdin in raw mode.
    pub fn stdio(serial: Serial) -> Console {
        let mux = serial == Serial::MonStdio;
        tty::make_raw(mux);
        Console {
            output: Box::new(std::io::stdout()),
            input: Some(Box::new(StdinFd)),
            mux,
        }
    }
}

/// Reads fd 0 directly (no buffering: the guest sees each byte as soon as it arrives).
struct StdinFd;

impl Read for StdinFd {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
            let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
            if n >= 0 {
                return Ok(n as usize);
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

/// A writer shared by the UART and the mux's messages.
#[derive(Clone)]
struct SharedOut(Arc<Mutex<Box<dyn Write + Send>>>);

impl Write for SharedOut {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        lock(&self.0).write(b)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        lock(&self.0).flush()
    }
}

/// Per-vCPU delivery state, under one lock with its condvar (WFI sleeps on it).
struct Wake {
    irq: Vec<bool>,
    fiq: Vec<bool>,
    /// A timer of this CPU fired (or someone called [`Board::wake`]) since its last WFI.
    event: Vec<bool>,
}

/// The generic timers and the PPI levels last driven into the GIC.
struct Timers {
    cpus: Vec<GenericTimer>,
    levels: Vec<(bool, bool)>,
    stop: bool,
}

struct Shared {
    gic: Arc<Mutex<Gic>>,
    rtc: Arc<Mutex<Pl031>>,
    kick: Kick,
    ncpus: usize,
    irq_flags: Vec<AtomicBool>,
    wake: Mutex<Wake>,
    wake_cv: Condvar,
    timers: Mutex<Timers>,
    timers_cv: Condvar,
    /// Bumped when the RTC may have a new alarm; the timer thread rereads it.
    rtc_gen: AtomicU64,
    quit: AtomicBool,
    /// Rounds of the timer thread (tests check that it sleeps).
    timer_loops: AtomicU64,
}

impl Shared {
    /// The GIC's output callback for `cpu` (called with the GIC's lock held).
    fn gic_output(&self, cpu: usize, irq: bool, fiq: bool) {
        let rising = {
            let mut w = lock(&self.wake);
            let rising = (irq && !w.irq[cpu]) || (fiq && !w.fiq[cpu]);
            w.irq[cpu] = irq;
            w.fiq[cpu] = fiq;
            self.irq_flags[cpu].store(irq, Ordering::SeqCst);
            if rising {
                self.wake_cv.notify_all();
            }
            rising
        };
        if rising {
            (self.kick)(cpu);
        }
    }

    /// Marks an event for `cpu`: a sleeping WFI returns.
    fn event(&self, cpu: usize) {
        let mut w = lock(&self.wake);
        if let Some(e) = w.event.get_mut(cpu) {
            *e = true;
        }
        self.wake_cv.notify_all();
    }

    /// Drives `cpu`'s timer PPIs to their levels at count `now` (timers' lock held).
    /// Returns whether an output rose.
    fn drive_timer(&self, t: &mut Timers, cpu: usize, now: u64) -> bool {
        let (v, p) = t.cpus[cpu].outputs(now);
        let (ov, op) = t.levels[cpu];
        if (v, p) == (ov, op) {
            return false;
        }
        t.levels[cpu] = (v, p);
        let mut g = lock(&self.gic);
        if v != ov {
            g.set_ppi_level(cpu, timer::VIRT_PPI, v);
        }
        if p != op {
            g.set_ppi_level(cpu, timer::PHYS_PPI, p);
        }
        (v && !ov) || (p && !op)
    }

    fn request_quit(&self) {
        self.quit.store(true, Ordering::SeqCst);
        for cpu in 0..self.ncpus {
            self.event(cpu);
            (self.kick)(cpu);
        }
    }
}

/// The timer thread: sleeps until the earliest timer or RTC deadline, then lets it fire.
fn timer_thread(sh: Arc<Shared>) {
    loop {
        sh.timer_loops.fetch_add(1, Ordering::SeqCst);
        let rtc_gen = sh.rtc_gen.load(Ordering::SeqCst);
        let rtc_deadline = {
            let mut rtc = lock(&sh.rtc);
            rtc.poll();
            rtc.alarm_deadline()
        };
        let mut t = lock(&sh.timers);
        if t.stop {
            return;
        }
        let now = timer::counter();
        let mut next: Option<u64> = None; // nanoseconds to sleep
        for cpu in 0..sh.ncpus {
            if sh.drive_timer(&mut t, cpu, now) {
                sh.event(cpu);
            }
            if let Some(d) = t.cpus[cpu].deadline(now) {
                let ns = GenericTimer::ns_until(now, d);
                next = Some(next.map_or(ns, |n| n.min(ns)));
            }
        }
        if let Some(d) = rtc_deadline {
            // The alarm's second begins at d·10⁹ ns of wall-clock time.
            let wall_ns = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |t| t.as_nanos() as u64);
            let ns = d
                .saturating_mul(1_000_000_000)
                .saturating_sub(wall_ns)
                .max(1_000_000);
            next = Some(next.map_or(ns, |n| n.min(ns)));
        }
        if sh.rtc_gen.load(Ordering::SeqCst) != rtc_gen {
            continue;
        }
        // A write to any timer notifies the condvar; so does stopping.
        match next {
            Some(ns) => drop(
                sh.timers_cv
                    .wait_timeout(t, Duration::from_nanos(ns.max(1))),
            ),
            None => drop(sh.timers_cv.wait(t)),
        }
    }
}

/// QEMU's serial multiplexer escapes (`-serial mon:stdio`, `-nographic`).
#[derive(Default)]
struct Mux {
    escape: bool,
}

/// What one input byte means to the mux.
#[derive(Debug, PartialEq, Eq)]
enum MuxAction {
    Send(u8),
    Quit,
    Help,
    Nothing,
}

const CTRL_A: u8 = 1;

impl Mux {
    fn feed(&mut self, b: u8) -> MuxAction {
        if !self.escape {
            if b == CTRL_A {
                self.escape = true;
                return MuxAction::Nothing;
            }
            return MuxAction::Send(b);
        }
        self.escape = false;
        match b {
            CTRL_A => MuxAction::Send(CTRL_A),
            b'x' => MuxAction::Quit,
            b'h' | b'?' => MuxAction::Help,
            // Commands ferrite lacks (monitor, break, timestamps, …) are dropped, as QEMU
            // drops unknown ones.
            _ => MuxAction::Nothing,
        }
    }
}

/// The `Ctrl-A h` text (the terminal is raw: explicit carriage returns).
const MUX_HELP: &str = "\r\n\
Ctrl-A h         this help\r\n\
Ctrl-A x         quit ferrite (exit status 0)\r\n\
Ctrl-A Ctrl-A    send Ctrl-A to the guest\r\n";

/// Most input kept waiting for the guest before the stdin thread stops reading.
const MAX_BACKLOG: usize = 1 << 16;

fn stdin_thread(
    sh: Arc<Shared>,
    uart: Arc<Mutex<Pl011>>,
    mut input: Box<dyn Read + Send>,
    mut out: SharedOut,
    mux: bool,
) {
    let mut m = Mux::default();
    let mut buf = [0u8; 256];
    loop {
        while lock(&uart).backlog_len() > MAX_BACKLOG {
            std::thread::sleep(Duration::from_millis(5));
        }
        let n = match input.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let mut data = Vec::with_capacity(n);
        for &b in &buf[..n] {
            let action = if mux { m.feed(b) } else { MuxAction::Send(b) };
            match action {
                MuxAction::Send(b) => data.push(b),
                MuxAction::Nothing => {}
                MuxAction::Help => {
                    let _ = out.write_all(MUX_HELP.as_bytes());
                    let _ = out.flush();
                }
                MuxAction::Quit => {
                    if !data.is_empty() {
                        lock(&uart).queue_input(&data);
                    }
                    let _ = write!(out, "\r\n{PROG}: terminated\r\n");
                    let _ = out.flush();
                    sh.request_quit();
                    // The run loop ends the machine at its next block; should it not
                    // (a guest stuck outside translated code), end it from here.
                    std::thread::sleep(Duration::from_secs(2));
                    tty::restore();
                    std::process::exit(0);
                }
            }
        }
        if !data.is_empty() {
            lock(&uart).queue_input(&data);
        }
    }
}

/// An MMIO device that tells the timer thread about writes (for the RTC's alarm).
struct NotifyOnWrite {
    dev: Arc<Mutex<Pl031>>,
    sh: Arc<Shared>,
}

impl MmioDevice for NotifyOnWrite {
    fn read(&mut self, offset: u64, size: u8) -> u64 {
        lock(&self.dev).read(offset, size)
    }
    fn write(&mut self, offset: u64, size: u8, value: u64) {
        lock(&self.dev).write(offset, size, value);
        self.sh.rtc_gen.fetch_add(1, Ordering::SeqCst);
        let _t = lock(&self.sh.timers);
        self.sh.timers_cv.notify_all();
    }
}

/// The machine's devices. See the module docs.
pub struct Board {
    sh: Arc<Shared>,
    bus: Arc<Bus>,
    uart: Arc<Mutex<Pl011>>,
    timer_thread: Option<JoinHandle<()>>,
}

impl Board {
    /// The `virt` board for `ncpus` vCPUs with its console on the host's stdio.
    pub fn new(opts: &SysOptions, ncpus: usize, kick: Kick) -> Result<Board, String> {
        Board::with_console(ncpus, kick, Console::stdio(opts.serial))
    }

    /// The `virt` board with the given console.
    pub fn with_console(ncpus: usize, kick: Kick, console: Console) -> Result<Board, String> {
        if ncpus == 0 || ncpus > gic::MAX_CPUS {
            return Err(format!(
                "{ncpus} CPUs: the GICv2 of the virt board supports 1 to {}",
                gic::MAX_CPUS
            ));
        }
        let gic = Arc::new(Mutex::new(Gic::new(ncpus)));
        let rtc = Arc::new(Mutex::new(Pl031::new(Some(IrqLine::new(
            gic.clone(),
            RTC_SPI + 32,
        )))));
        let sh = Arc::new(Shared {
            gic: gic.clone(),
            rtc: rtc.clone(),
            kick,
            ncpus,
            irq_flags: (0..ncpus).map(|_| AtomicBool::new(false)).collect(),
            wake: Mutex::new(Wake {
                irq: vec![false; ncpus],
                fiq: vec![false; ncpus],
                event: vec![false; ncpus],
            }),
            wake_cv: Condvar::new(),
            timers: Mutex::new(Timers {
                cpus: vec![GenericTimer::new(); ncpus],
                levels: vec![(false, false); ncpus],
                stop: false,
            }),
            timers_cv: Condvar::new(),
            rtc_gen: AtomicU64::new(0),
            quit: AtomicBool::new(false),
            timer_loops: AtomicU64::new(0),
        });
        {
            let mut g = lock(&gic);
            for cpu in 0..ncpus {
                let s = Arc::downgrade(&sh);
                g.connect_cpu(
                    cpu,
                    Box::new(move |irq, fiq| {
                        if let Some(s) = s.upgrade() {
                            s.gic_output(cpu, irq, fiq);
                        }
                    }),
                );
            }
        }
        let out = SharedOut(Arc::new(Mutex::new(console.output)));
        let uart = Arc::new(Mutex::new(Pl011::new(
            Box::new(out.clone()),
            Some(IrqLine::new(gic.clone(), UART_SPI + 32)),
        )));

        debug_assert_eq!(GIC_CPU.base, GIC_DIST.base + gic::CPU_IFACE_OFFSET);
        let mut bus = Bus::new();
        bus.map(
            GIC_DIST.base,
            GIC_CPU.end() - GIC_DIST.base,
            "gic",
            gic.clone(),
        )?;
        bus.map(UART.base, UART.size, "pl011", uart.clone())?;
        let rtc_dev = NotifyOnWrite {
            dev: rtc,
            sh: sh.clone(),
        };
        bus.map(RTC.base, RTC.size, "pl031", Arc::new(Mutex::new(rtc_dev)))?;

        let t = sh.clone();
        let timer_thread = std::thread::Builder::new()
            .name("timer".into())
            .spawn(move || timer_thread(t))
            .map_err(|e| format!("cannot start the timer thread: {e}"))?;
        if let Some(input) = console.input {
            let (s, u, o, mux) = (sh.clone(), uart.clone(), out, console.mux);
            std::thread::Builder::new()
                .name("stdin".into())
                .spawn(move || stdin_thread(s, u, input, o, mux))
                .map_err(|e| format!("cannot start the console input thread: {e}"))?;
        }
        Ok(Board {
            sh,
            bus: Arc::new(bus),
            uart,
            timer_thread: Some(timer_thread),
        })
    }

    /// The MMIO bus (for the memory slow path).
    pub fn bus(&self) -> Arc<Bus> {
        self.bus.clone()
    }

    /// Number of vCPUs the board was built for.
    pub fn num_cpus(&self) -> usize {
        self.sh.ncpus
    }

    /// Whether CPU `cpu`'s GIC CPU interface signals an IRQ (whatever PSTATE.I says).
    pub fn irq_pending(&self, cpu: usize) -> bool {
        self.sh
            .irq_flags
            .get(cpu)
            .is_some_and(|f| f.load(Ordering::SeqCst))
    }

    /// WFI: sleeps until CPU `cpu` has an IRQ or FIQ signalled (masked or not), one of its
    /// timers fires, [`Board::wake`] is called, or quit is requested. May return early
    /// (WFI is allowed to).
    pub fn wait_for_interrupt(&self, cpu: usize) {
        if cpu >= self.sh.ncpus {
            return;
        }
        let mut w = lock(&self.sh.wake);
        while !(w.irq[cpu] || w.fiq[cpu] || w.event[cpu] || self.quit_requested()) {
            w = self.sh.wake_cv.wait(w).unwrap_or_else(|e| e.into_inner());
        }
        w.event[cpu] = false;
    }

    /// Ends a [`Board::wait_for_interrupt`] of CPU `cpu` (now or the next one).
    pub fn wake(&self, cpu: usize) {
        self.sh.event(cpu);
    }

    /// A generic-timer register of CPU `cpu` (for MRS).
    pub fn timer_read(&self, cpu: usize, reg: TimerReg) -> u64 {
        let t = lock(&self.sh.timers);
        let Some(tm) = t.cpus.get(cpu) else {
            return 0;
        };
        let now = timer::counter();
        match reg {
            TimerReg::CntvCtl => tm.ctl(TimerKind::Virtual, now),
            TimerReg::CntvCval => tm.cval(TimerKind::Virtual),
            TimerReg::CntvTval => tm.tval(TimerKind::Virtual, now),
            TimerReg::CntpCtl => tm.ctl(TimerKind::Physical, now),
            TimerReg::CntpCval => tm.cval(TimerKind::Physical),
            TimerReg::CntpTval => tm.tval(TimerKind::Physical, now),
            TimerReg::Cntkctl => tm.cntkctl(),
        }
    }

    /// A generic-timer register write of CPU `cpu` (for MSR): the PPIs follow at once, and
    /// the timer thread learns the new deadline.
    pub fn timer_write(&self, cpu: usize, reg: TimerReg, v: u64) {
        let mut t = lock(&self.sh.timers);
        if cpu >= t.cpus.len() {
            return;
        }
        let now = timer::counter();
        let tm = &mut t.cpus[cpu];
        match reg {
            TimerReg::CntvCtl => tm.set_ctl(TimerKind::Virtual, v),
            TimerReg::CntvCval => tm.set_cval(TimerKind::Virtual, v),
            TimerReg::CntvTval => tm.set_tval(TimerKind::Virtual, now, v),
            TimerReg::CntpCtl => tm.set_ctl(TimerKind::Physical, v),
            TimerReg::CntpCval => tm.set_cval(TimerKind::Physical, v),
            TimerReg::CntpTval => tm.set_tval(TimerKind::Physical, now, v),
            TimerReg::Cntkctl => tm.set_cntkctl(v),
        }
        self.sh.drive_timer(&mut t, cpu, now);
        self.sh.timers_cv.notify_all();
    }

    /// The system counter (CNTVCT_EL0 = CNTPCT_EL0, no CNTVOFF without EL2), at
    /// [`crate::arm64::lift::system::CNTFRQ`] Hz on host CLOCK_MONOTONIC, as user mode.
    pub fn counter(&self) -> u64 {
        timer::counter()
    }

    /// Whether the user asked to quit (`Ctrl-A x`): the run loop then exits with status 0.
    pub fn quit_requested(&self) -> bool {
        self.sh.quit.load(Ordering::SeqCst)
    }

    /// Bytes of console input waiting for space in the UART's FIFO.
    pub fn uart_backlog(&self) -> usize {
        lock(&self.uart).backlog_len()
    }
}

impl Drop for Board {
    fn drop(&mut self) {
        {
            let mut t = lock(&self.sh.timers);
            t.stop = true;
            self.sh.timers_cv.notify_all();
        }
        if let Some(h) = self.timer_thread.take() {
            let _ = h.join();
        }
        tty::restore();
    }
}

/// Raw mode for a TTY on stdin, and its restoration on every way out.
mod tty {
    use super::OnceLock;

    /// The terminal's mode before ferrite changed it.
    static SAVED: OnceLock<libc::termios> = OnceLock::new();

    /// Puts stdin in raw mode if it is a terminal. With the mux, Ctrl-C and the other
    /// signal characters go to the guest.
    pub(super) fn make_raw(mux: bool) {
        // SAFETY: isatty only inspects the descriptor.
        if unsafe { libc::isatty(0) } != 1 {
            return;
        }
        // SAFETY: an all-zero termios is a valid value to be overwritten by tcgetattr.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: `t` is a valid termios to write.
        if unsafe { libc::tcgetattr(0, &mut t) } != 0 {
            return;
        }
        if SAVED.set(t).is_err() {
            return; // already raw
        }
        let t = raw(t, mux);
        install_restorers();
        // SAFETY: `t` is a valid termios for fd 0.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &t) };
    }

    /// `t` in raw mode: bytes pass unchanged and at once (no echo, no line editing, no
    /// CR/NL translation on input, no flow control), output post-processing stays on.
    /// Without the mux the signal characters keep working (Ctrl-C ends ferrite).
    pub(super) fn raw(mut t: libc::termios, mux: bool) -> libc::termios {
        t.c_iflag &= !(libc::IGNBRK
            | libc::BRKINT
            | libc::PARMRK
            | libc::ISTRIP
            | libc::INLCR
            | libc::IGNCR
            | libc::ICRNL
            | libc::IXON);
        t.c_oflag |= libc::OPOST;
        t.c_lflag &= !(libc::ECHO | libc::ECHONL | libc::ICANON | libc::IEXTEN);
        if mux {
            t.c_lflag &= !libc::ISIG;
        }
        t.c_cflag &= !(libc::CSIZE | libc::PARENB);
        t.c_cflag |= libc::CS8;
        t.c_cc[libc::VMIN] = 1;
        t.c_cc[libc::VTIME] = 0;
        t
    }

    /// Puts the terminal back as it was (async-signal-safe: one tcsetattr).
    pub(super) fn restore() {
        if let Some(t) = SAVED.get() {
            // SAFETY: `t` is the termios tcgetattr gave for fd 0.
            unsafe { libc::tcsetattr(0, libc::TCSANOW, t) };
        }
    }

    extern "C" fn at_exit() {
        restore();
    }

    extern "C" fn on_signal(sig: libc::c_int) {
        restore();
        // SAFETY: back to the default action, then re-raise so the process ends as that
        // signal would have ended it; both are async-signal-safe.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
            libc::raise(sig);
        }
    }

    fn install_restorers() {
        // SAFETY: registers a plain extern "C" function with no captured state.
        unsafe { libc::atexit(at_exit) };
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
            // SAFETY: the handler only calls async-signal-safe functions.
            unsafe { libc::signal(sig, on_signal as *const () as libc::sighandler_t) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::dev::gic::CPU_IFACE_OFFSET;
    use crate::system::dev::pl011::tests::Sink;
    use crate::system::dev::pl011::INT_RX;
    use std::collections::VecDeque;
    use std::sync::atomic::AtomicUsize;
    use std::time::Instant;

    /// Input arriving through a channel, as a terminal's would.
    struct ChanRead(std::sync::mpsc::Receiver<Vec<u8>>, VecDeque<u8>);
    impl Read for ChanRead {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.1.is_empty() {
                match self.0.recv() {
                    Ok(v) => self.1.extend(v),
                    Err(_) => return Ok(0),
                }
            }
            let n = buf.len().min(self.1.len());
            for (d, s) in buf.iter_mut().zip(self.1.drain(..n)) {
                *d = s;
            }
            Ok(n)
        }
    }

    struct Rig {
        board: Board,
        out: Sink,
        kicks: Arc<AtomicUsize>,
        input: Option<std::sync::mpsc::Sender<Vec<u8>>>,
    }

    fn rig(mux: bool) -> Rig {
        let out = Sink::default();
        let kicks = Arc::new(AtomicUsize::new(0));
        let k = kicks.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let board = Board::with_console(
            1,
            Arc::new(move |cpu| {
                assert_eq!(cpu, 0);
                k.fetch_add(1, Ordering::SeqCst);
            }),
            Console {
                output: Box::new(out.clone()),
                input: Some(Box::new(ChanRead(rx, VecDeque::new()))),
                mux,
            },
        )
        .unwrap();
        Rig {
            board,
            out,
            kicks,
            input: Some(tx),
        }
    }

    const GICD: u64 = 0x0800_0000;
    const GICC: u64 = 0x0800_0000 + CPU_IFACE_OFFSET;

    /// The guest's GIC set-up for one interrupt: distributor and CPU interface on, PMR
    /// open, `intid` enabled (SPIs routed to CPU 0).
    fn enable_irq(bus: &Bus, intid: u64) {
        assert!(bus.write(GICD, 4, 1));
        assert!(bus.write(GICC, 4, 1));
        assert!(bus.write(GICC + 4, 4, 0xf0));
        assert!(bus.write(GICD + 0x100 + intid / 32 * 4, 4, 1 << (intid % 32)));
        assert!(bus.write(GICD + 0x400 + intid, 1, 0xa0));
        if intid >= 32 {
            assert!(bus.write(GICD + 0x800 + intid, 1, 1));
        }
    }

    fn wait_until(what: &str, f: impl Fn() -> bool) {
        let end = Instant::now() + Duration::from_secs(5);
        while !f() {
            assert!(Instant::now() < end, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn machine_map_and_uart_output() {
        let r = rig(true);
        let bus = r.board.bus();
        let names: Vec<_> = bus.regions().iter().map(|r| (r.name, r.base)).collect();
        assert_eq!(
            names,
            [
                ("gic", 0x0800_0000),
                ("pl011", 0x0900_0000),
                ("pl031", 0x0901_0000)
            ]
        );
        for c in b"hello\n" {
            assert!(bus.write(0x0900_0000, 4, *c as u64));
        }
        assert_eq!(*r.out.0.lock().unwrap(), b"hello\n");
        // PrimeCell IDs of both, GIC type register, unassigned space.
        assert_eq!(bus.read(0x0900_0fe0, 4), Some(0x11));
        assert_eq!(bus.read(0x0901_0fe0, 4), Some(0x31));
        assert_eq!(bus.read(0x0800_0004, 4), Some(8));
        assert_eq!(bus.read(0x0802_0000, 4), None);
        assert_eq!(bus.read(0x0901_1000, 4), None);
        // The RTC counts host seconds.
        let rtc = bus.read(0x0901_0000, 4).unwrap();
        assert!(rtc.abs_diff(crate::system::dev::pl031::host_seconds() & 0xffff_ffff) <= 1);
        assert!(r.board.counter().abs_diff(timer::counter()) < 62_500_000);
        assert_eq!(r.board.num_cpus(), 1);
    }

    #[test]
    fn bad_cpu_counts_are_errors() {
        for n in [0, 9] {
            let e = Board::with_console(
                n,
                Arc::new(|_| {}),
                Console {
                    output: Box::new(std::io::sink()),
                    input: None,
                    mux: false,
                },
            )
            .err()
            .unwrap();
            assert!(e.contains("1 to 8"), "{e}");
        }
    }

    #[test]
    fn uart_input_raises_spi_1_and_kicks() {
        let r = rig(true);
        let bus = r.board.bus();
        enable_irq(&bus, 33);
        assert!(bus.write(0x0900_0038, 4, INT_RX as u64 | 1 << 6)); // RXIM | RTIM
        assert!(!r.board.irq_pending(0));
        r.input.as_ref().unwrap().send(b"ab".to_vec()).unwrap();
        wait_until("the RX interrupt", || r.board.irq_pending(0));
        assert_eq!(r.kicks.load(Ordering::SeqCst), 1);
        r.board.wait_for_interrupt(0); // pending: returns at once
        assert_eq!(bus.read(GICC + 0x0c, 4), Some(33));
        assert_eq!(bus.read(0x0900_0000, 4), Some(b'a' as u64));
        assert_eq!(bus.read(0x0900_0000, 4), Some(b'b' as u64));
        assert!(bus.write(GICC + 0x10, 4, 33));
        assert!(!r.board.irq_pending(0));
        assert_eq!(r.board.uart_backlog(), 0);
    }

    #[test]
    fn mux_escapes() {
        let mut m = Mux::default();
        let seq: Vec<_> = b"a\x01\x01\x01h\x01zb\x01x"
            .iter()
            .map(|&b| m.feed(b))
            .collect();
        use MuxAction::*;
        assert_eq!(
            seq,
            [
                Send(b'a'),
                Nothing,
                Send(1),
                Nothing,
                Help,
                Nothing,
                Nothing,
                Send(b'b'),
                Nothing,
                Quit
            ]
        );
    }

    #[test]
    fn mux_help_and_ctrl_a_reach_their_sides() {
        let r = rig(true);
        let bus = r.board.bus();
        r.input
            .as_ref()
            .unwrap()
            .send(b"\x01h\x01\x01q".to_vec())
            .unwrap();
        // The FIFO is off (reset state): one byte in it, the other in the backlog.
        wait_until("the input", || r.board.uart_backlog() == 1);
        assert_eq!(bus.read(0x0900_0000, 4), Some(1));
        assert_eq!(bus.read(0x0900_0000, 4), Some(b'q' as u64));
        assert_eq!(r.board.uart_backlog(), 0);
        let out = String::from_utf8(r.out.0.lock().unwrap().clone()).unwrap();
        assert!(out.contains("Ctrl-A x"), "{out}");
        assert!(!r.board.quit_requested());
    }

    #[test]
    fn without_mux_ctrl_a_is_data() {
        let r = rig(false);
        let bus = r.board.bus();
        r.input.as_ref().unwrap().send(b"\x01x".to_vec()).unwrap();
        wait_until("the input", || {
            bus.read(0x0900_0018, 4).unwrap() & 0x10 == 0
        });
        assert_eq!(bus.read(0x0900_0000, 4), Some(1));
        wait_until("the second byte", || {
            bus.read(0x0900_0018, 4).unwrap() & 0x10 == 0
        });
        assert_eq!(bus.read(0x0900_0000, 4), Some(b'x' as u64));
        assert!(!r.board.quit_requested());
    }

    #[test]
    fn virtual_timer_fires_ppi_27_and_wakes_wfi() {
        let r = rig(true);
        let b = &r.board;
        let bus = b.bus();
        enable_irq(&bus, 27);
        // TVAL 20 ms ahead; enabled, unmasked.
        b.timer_write(0, TimerReg::CntvTval, 1_250_000);
        b.timer_write(0, TimerReg::CntvCtl, 1);
        assert_eq!(b.timer_read(0, TimerReg::CntvCtl), 1); // ISTATUS not yet
        let tval = b.timer_read(0, TimerReg::CntvTval);
        assert!(tval <= 1_250_000 && tval > 600_000, "{tval}");
        assert!(!b.irq_pending(0));
        let start = Instant::now();
        b.wait_for_interrupt(0);
        let waited = start.elapsed();
        assert!(b.irq_pending(0));
        assert!(waited >= Duration::from_millis(15), "{waited:?}");
        assert!(waited < Duration::from_secs(2), "{waited:?}");
        assert_eq!(b.timer_read(0, TimerReg::CntvCtl), 5); // ENABLE | ISTATUS
        assert!(b.timer_read(0, TimerReg::CntvCval) <= b.counter());
        assert_eq!(bus.read(GICC + 0x0c, 4), Some(27));
        // The handler masks the timer: the level drops, EOI leaves nothing pending.
        b.timer_write(0, TimerReg::CntvCtl, 3);
        assert!(bus.write(GICC + 0x10, 4, 27));
        assert!(!b.irq_pending(0));
        assert_eq!(b.timer_read(0, TimerReg::CntvCtl), 7);
        assert!(r.kicks.load(Ordering::SeqCst) >= 1);
    }

    #[test]
    fn physical_timer_in_the_past_fires_at_once() {
        let r = rig(true);
        let b = &r.board;
        enable_irq(&b.bus(), 30);
        b.timer_write(0, TimerReg::CntpCval, 0);
        assert!(!b.irq_pending(0));
        b.timer_write(0, TimerReg::CntpCtl, 1);
        assert!(b.irq_pending(0));
        assert_eq!(b.bus().read(GICC + 0x18, 4), Some(30));
        b.timer_write(0, TimerReg::CntpCtl, 0);
        assert!(!b.irq_pending(0));
        b.timer_write(0, TimerReg::Cntkctl, u64::MAX);
        assert_eq!(b.timer_read(0, TimerReg::Cntkctl), 0x3ff);
        // Out-of-range CPUs read 0 and are ignored.
        b.timer_write(5, TimerReg::CntvCtl, 1);
        assert_eq!(b.timer_read(5, TimerReg::CntvCtl), 0);
        assert!(!b.irq_pending(5));
    }

    #[test]
    fn wfi_wakes_for_a_timer_the_gic_does_not_forward() {
        // The timer's PPI is disabled in the GIC: WFI still returns when it fires (a
        // spurious wake-up, which the architecture allows), rather than sleeping forever.
        let r = rig(true);
        let b = &r.board;
        b.timer_write(0, TimerReg::CntvTval, 62_500); // 1 ms
        b.timer_write(0, TimerReg::CntvCtl, 1);
        b.wait_for_interrupt(0);
        assert!(!b.irq_pending(0));
        assert_eq!(b.timer_read(0, TimerReg::CntvCtl), 5);
    }

    #[test]
    fn wake_and_idle() {
        let r = rig(true);
        let b = Arc::new(r.board);
        let b2 = b.clone();
        let t = std::thread::spawn(move || {
            let start = Instant::now();
            b2.wait_for_interrupt(0);
            start.elapsed()
        });
        std::thread::sleep(Duration::from_millis(50));
        b.wake(0);
        let slept = t.join().unwrap();
        assert!(slept >= Duration::from_millis(40), "{slept:?}");
    }

    #[test]
    fn quit_wakes_and_kicks() {
        let r = rig(true);
        // Not through the stdin thread: its fallback would end the test process.
        r.board.sh.request_quit();
        assert!(r.board.quit_requested());
        r.board.wait_for_interrupt(0);
        assert_eq!(r.kicks.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn raw_terminal_mode() {
        // SAFETY: an all-zero termios is a valid value.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        t.c_iflag = libc::ICRNL | libc::IXON | libc::BRKINT | libc::IUTF8;
        t.c_oflag = libc::OPOST | libc::ONLCR;
        t.c_lflag = libc::ICANON | libc::ECHO | libc::ISIG | libc::IEXTEN | libc::ECHOE;
        t.c_cflag = libc::CS7 | libc::PARENB | libc::CREAD;
        let r = tty::raw(t, true);
        assert_eq!(r.c_iflag, libc::IUTF8);
        assert_eq!(r.c_oflag, libc::OPOST | libc::ONLCR);
        assert_eq!(r.c_lflag, libc::ECHOE);
        assert_eq!(r.c_cflag, libc::CS8 | libc::CREAD);
        assert_eq!((r.c_cc[libc::VMIN], r.c_cc[libc::VTIME]), (1, 0));
        // -serial stdio: Ctrl-C still interrupts ferrite.
        assert_eq!(tty::raw(t, false).c_lflag, libc::ECHOE | libc::ISIG);
    }

    #[test]
    fn rtc_alarm_raises_spi_2() {
        let r = rig(true);
        let b = &r.board;
        let bus = b.bus();
        enable_irq(&bus, 34);
        let now = bus.read(0x0901_0000, 4).unwrap();
        assert!(bus.write(0x0901_0010, 4, 1)); // RTCIMSC
        assert!(bus.write(0x0901_0004, 4, now + 1)); // RTCMR: the next second
        let start = Instant::now();
        b.wait_for_interrupt(0);
        while !b.irq_pending(0) {
            assert!(start.elapsed() < Duration::from_secs(4));
            b.wait_for_interrupt(0);
        }
        assert!(start.elapsed() <= Duration::from_millis(2100));
        assert_eq!(bus.read(GICC + 0x0c, 4), Some(34));
        assert!(bus.write(0x0901_001c, 4, 1)); // RTCICR
        assert!(bus.write(GICC + 0x10, 4, 34));
        assert!(!b.irq_pending(0));
    }

    #[test]
    fn idle_timer_thread_sleeps() {
        let r = rig(true);
        let b = &r.board;
        // A far deadline: the timer thread must sleep until it, not spin.
        b.timer_write(0, TimerReg::CntvTval, 0x7fff_ffff);
        b.timer_write(0, TimerReg::CntvCtl, 1);
        std::thread::sleep(Duration::from_millis(20));
        let before = b.sh.timer_loops.load(Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(b.sh.timer_loops.load(Ordering::SeqCst), before);
        // A write wakes it once to learn the new deadline.
        b.timer_write(0, TimerReg::CntvCtl, 0);
        wait_until("the timer thread", || {
            b.sh.timer_loops.load(Ordering::SeqCst) > before
        });
    }
}
