//! The system machine's console on a terminal, as a user meets it with `-nographic`: the
//! terminal goes raw while the machine runs and comes back as it was, `Ctrl-A h` prints
//! the mux help, `Ctrl-A x` quits with exit status 0, and a guest idling in WFI costs
//! (almost) no host CPU. Each check runs on a pseudo-terminal against
//! `qemu-system-aarch64` (the oracle) and `ferrite-system-aarch64`, with a raw-binary
//! guest that loops on WFI.

mod common;

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `wfi; b .-4`: a guest that sleeps forever.
const WFI_LOOP: [u32; 2] = [0xd503_207f, 0x17ff_ffff];

fn guest() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let p = dir.join(format!("wfi-loop-{}.bin", std::process::id()));
    let bytes: Vec<u8> = WFI_LOOP.iter().flat_map(|w| w.to_le_bytes()).collect();
    std::fs::write(&p, bytes).unwrap();
    p
}

#[derive(Clone, Copy)]
enum Machine {
    Qemu,
    Ferrite,
}

struct Pty {
    master: OwnedFd,
    slave: OwnedFd,
}

fn openpty() -> Pty {
    let (mut m, mut s) = (-1, -1);
    // SAFETY: openpty writes two descriptors into the given ints; the other arguments
    // may be null.
    let r = unsafe {
        libc::openpty(
            &mut m,
            &mut s,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors are fresh and owned by nobody else.
    unsafe {
        Pty {
            master: OwnedFd::from_raw_fd(m),
            slave: OwnedFd::from_raw_fd(s),
        }
    }
}

fn termios(fd: &OwnedFd) -> libc::termios {
    // SAFETY: an all-zero termios is valid to be overwritten.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: `t` is writable; `fd` is an open terminal descriptor.
    assert_eq!(unsafe { libc::tcgetattr(fd.as_raw_fd(), &mut t) }, 0);
    t
}

fn modes(t: &libc::termios) -> [u32; 4] {
    [t.c_iflag, t.c_oflag, t.c_cflag, t.c_lflag]
}

/// Reads what the master has, for up to `wait`, until `want` appears.
fn read_until(master: &OwnedFd, out: &mut Vec<u8>, want: &str, wait: Duration) -> bool {
    let end = Instant::now() + wait;
    loop {
        if String::from_utf8_lossy(out).contains(want) {
            return true;
        }
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        let mut pfd = libc::pollfd {
            fd: master.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, left.as_millis().min(100) as i32) };
        if n > 0 {
            let mut buf = [0u8; 1024];
            // SAFETY: `buf` is writable for its length.
            let r = unsafe { libc::read(master.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if r <= 0 {
                return String::from_utf8_lossy(out).contains(want);
            }
            out.extend_from_slice(&buf[..r as usize]);
        }
    }
}

fn write_master(master: &OwnedFd, b: &[u8]) {
    // SAFETY: `b` is readable for its length.
    let r = unsafe { libc::write(master.as_raw_fd(), b.as_ptr().cast(), b.len()) };
    assert_eq!(r, b.len() as isize);
}

/// Exit code and CPU seconds (user + system) of `pid`, waiting at most `wait`.
fn wait_child(pid: libc::pid_t, wait: Duration) -> Option<(i32, f64)> {
    let end = Instant::now() + wait;
    loop {
        let mut status = 0;
        // SAFETY: an all-zero rusage is valid to be overwritten.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `status` and `ru` are writable; `pid` is our child.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut ru) };
        if r == pid {
            let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
            let code = if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                -libc::WTERMSIG(status)
            };
            return Some((code, tv(ru.ru_utime) + tv(ru.ru_stime)));
        }
        if Instant::now() > end {
            // SAFETY: kill(2) of our own child; no memory access.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let _ = wait_child(pid, Duration::from_secs(5));
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The ps-reported CPU seconds of a running process (utime + stime from /proc).
fn cpu_seconds(pid: libc::pid_t) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime) are at 11 and 12 after the command name.
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| f.get(i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    // SAFETY: sysconf has no memory effects.
    ticks as f64 / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

fn console_check(machine: Machine) {
    let label = match machine {
        Machine::Qemu => "qemu",
        Machine::Ferrite => "ferrite",
    };
    let pty = openpty();
    let before = termios(&pty.slave);
    let kernel = guest();
    let mut cmd = match machine {
        Machine::Qemu => {
            let mut c = Command::new("qemu-system-aarch64");
            c.args(["-nic", "none"]);
            c
        }
        Machine::Ferrite => Command::new(env!("CARGO_BIN_EXE_ferrite-system-aarch64")),
    };
    cmd.args([
        "-M",
        "virt",
        "-cpu",
        "max",
        "-m",
        "128M",
        "-nographic",
        "-kernel",
    ])
    .arg(&kernel);
    let io = |fd: &OwnedFd| Stdio::from(fd.try_clone().unwrap());
    cmd.stdin(io(&pty.slave))
        .stdout(io(&pty.slave))
        .stderr(io(&pty.slave));
    // SAFETY: setsid and ioctl(TIOCSCTTY) are async-signal-safe; the child gets a session
    // of its own with the pty as its controlling terminal, as in a terminal emulator.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            libc::ioctl(0, libc::TIOCSCTTY, 0);
            Ok(())
        });
    }
    // Reaped by wait4 in wait_child (which also gives its CPU time), not Child::wait.
    #[allow(clippy::zombie_processes)]
    let child = cmd.spawn().expect("start the machine");
    let pid = child.id() as libc::pid_t;
    let mut out = Vec::new();
    let fail = |why: &str, out: &[u8]| -> ! {
        // SAFETY: kill(2) of our own child; no memory access.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        let _ = wait_child(pid, Duration::from_secs(5));
        panic!(
            "{label}: {why}; terminal output: {:?}",
            String::from_utf8_lossy(out)
        );
    };
    // The console is up when the terminal is raw.
    let start = Instant::now();
    while termios(&pty.slave).c_lflag & libc::ICANON != 0 {
        if start.elapsed() > Duration::from_secs(10) {
            fail("the terminal never went raw", &out);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let raw = termios(&pty.slave);
    assert_eq!(
        raw.c_lflag & (libc::ECHO | libc::ISIG),
        0,
        "{label}: mux mode keeps ISIG off"
    );
    assert_ne!(
        raw.c_oflag & libc::OPOST,
        0,
        "{label}: output processing stays on"
    );
    // Idle: the WFI loop costs almost nothing.
    std::thread::sleep(Duration::from_millis(300));
    let c0 = cpu_seconds(pid);
    std::thread::sleep(Duration::from_secs(1));
    let idle = cpu_seconds(pid) - c0;
    if idle > 0.05 {
        fail(&format!("idle guest used {idle:.2} CPU-s in 1 s"), &out);
    }
    write_master(&pty.master, b"\x01h");
    let help = match machine {
        Machine::Qemu => "C-a x",
        Machine::Ferrite => "Ctrl-A x",
    };
    if !read_until(&pty.master, &mut out, help, Duration::from_secs(5)) {
        fail("no Ctrl-A h help", &out);
    }
    write_master(&pty.master, b"\x01x");
    let Some((code, _)) = wait_child(pid, Duration::from_secs(10)) else {
        fail("Ctrl-A x did not end the machine", &out);
    };
    assert_eq!(code, 0, "{label}: Ctrl-A x exit status");
    assert_eq!(
        modes(&termios(&pty.slave)),
        modes(&before),
        "{label}: the terminal mode is restored"
    );
    common::debs::report(&format!(
        "[{label}] console: raw, help, quit 0, restored; idle {idle:.3} CPU-s/s\n"
    ));
    let _ = std::fs::remove_file(kernel);
}

#[test]
fn qemu_console_mux() {
    let ok = Command::new("qemu-system-aarch64")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        common::debs::skip(
            "qemu_console_mux",
            "qemu-system-aarch64 not found (scripts/setup installs qemu-system-arm)",
        );
        return;
    }
    console_check(Machine::Qemu);
}

#[test]
fn ferrite_console_mux() {
    console_check(Machine::Ferrite);
}
