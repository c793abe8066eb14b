//! Booting Debian's real arm64 kernel on the `virt` machine, checked milestone by milestone
//! (/work/shared/SYSTEM-DESIGN.md §4; README "System mode").
//!
//! The artefacts come from `scripts/system-artifacts`: Debian bookworm's current
//! `linux-image-6.1.0-*-arm64` Image and a busybox-static initramfs whose `/init` prints
//! `BOOT-OK <uname -m>` and powers off (cached under target/system-boot/). The same check
//! runs a machine (`qemu-system-aarch64`, the oracle, or `ferrite-system-aarch64`) on them
//! and looks for each milestone's lines in its serial output:
//! - M3 (the kernel prints): `Booting Linux on physical CPU`, `Machine model:
//!   linux,dummy-virt`, `psci: PSCIv1.1 detected in firmware`, `Kernel command line:`;
//! - M4 (timer and IRQs): `clocksource: Switched to clocksource arch_sys_counter`,
//!   `Run /init as init process`;
//! - M5 (the initramfs runs and powers off): `BOOT-OK aarch64`, `reboot: Power down`, exit 0;
//! - M6 (interactive console): with `rdinit=/bin/sh`, the guest idling at the prompt costs
//!   under 5% of a host CPU, `uname -m` typed after the prompt answers `aarch64`, and
//!   `poweroff -f` ends the machine with status 0.
//!
//! On a failure the whole serial log is saved under target/system-boot/logs/ and its tail
//! is shown. ferrite and qemu run the same checks; qemu's passing shows the artefacts and
//! the check itself are right.

mod common;

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const REPO: &str = env!("CARGO_MANIFEST_DIR");
/// The longest one boot may take (qemu needs about 3 s here; CI machines are slower).
const BOOT_TIMEOUT: Duration = Duration::from_secs(40);

/// A milestone: the lines the serial log must contain.
struct Milestone {
    name: &'static str,
    lines: &'static [&'static str],
}

const M3: Milestone = Milestone {
    name: "M3 (kernel prints)",
    lines: &[
        "Booting Linux on physical CPU",
        "Machine model: linux,dummy-virt",
        "psci: PSCIv1.1 detected in firmware",
        "Kernel command line: console=ttyAMA0",
    ],
};
const M4: Milestone = Milestone {
    name: "M4 (timer and interrupts)",
    lines: &[
        "clocksource: Switched to clocksource arch_sys_counter",
        "Run /init as init process",
    ],
};
const M5: Milestone = Milestone {
    name: "M5 (initramfs /init, power off)",
    lines: &["BOOT-OK aarch64", "reboot: Power down"],
};

/// The kernel command line of the boot checks (issue 13's).
const INIT: &str = "console=ttyAMA0 rdinit=/init";

/// The milestones ferrite-system-aarch64 is checked for (all of them, as qemu).
const FERRITE_MILESTONES: &[&Milestone] = &[&M3, &M4, &M5];

struct Artifacts {
    kernel: PathBuf,
    initrd: PathBuf,
}

/// Runs scripts/system-artifacts; `None` (after a loud skip) when the packages cannot be
/// had on this machine.
fn artifacts(test: &str) -> Option<Artifacts> {
    let out = Command::new(Path::new(REPO).join("scripts/system-artifacts"))
        .arg("--quiet")
        .stdin(Stdio::null())
        .output()
        .expect("run scripts/system-artifacts");
    let err = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => {}
        Some(2) => {
            common::debs::skip(test, &format!("Debian's arm64 kernel and busybox: {err}"));
            return None;
        }
        _ => panic!("scripts/system-artifacts failed ({}):\n{err}", out.status),
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let get = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key).map(|p| PathBuf::from(p.trim())))
            .unwrap_or_else(|| panic!("scripts/system-artifacts printed no `{key}` line: {text}"))
    };
    Some(Artifacts {
        kernel: get("kernel "),
        initrd: get("initrd "),
    })
}

/// Which machine to boot.
#[derive(Clone, Copy)]
enum Machine {
    Qemu,
    Ferrite,
}

impl Machine {
    fn label(self) -> &'static str {
        match self {
            Machine::Qemu => "qemu",
            Machine::Ferrite => "ferrite",
        }
    }

    /// The command line of issue 13 (plus `-nic none` for qemu, whose default network
    /// card needs a ROM Debian ships in another package).
    fn command(self, a: &Artifacts, append: &str, extra: &[&str]) -> Command {
        let mut c = match self {
            Machine::Qemu => {
                let mut c = Command::new("qemu-system-aarch64");
                c.args(["-cpu", "max,pauth=off", "-nic", "none"]);
                c
            }
            Machine::Ferrite => {
                let mut c = Command::new(env!("CARGO_BIN_EXE_ferrite-system-aarch64"));
                c.args(["-cpu", "max"]);
                c
            }
        };
        c.args([
            "-M",
            "virt",
            "-m",
            "1G",
            "-nographic",
            "-no-reboot",
            "-kernel",
        ])
        .arg(&a.kernel)
        .arg("-initrd")
        .arg(&a.initrd)
        .arg("-append")
        .arg(append)
        .args(extra);
        c
    }

    /// Whether this machine can run here; otherwise a loud skip.
    fn available(self, test: &str) -> bool {
        match self {
            Machine::Ferrite => true,
            Machine::Qemu => {
                let ok = Command::new("qemu-system-aarch64")
                    .arg("-version")
                    .output()
                    .is_ok_and(|o| o.status.success());
                if !ok {
                    common::debs::skip(
                        test,
                        "qemu-system-aarch64 not found (scripts/setup installs qemu-system-arm)",
                    );
                }
                ok
            }
        }
    }
}

/// A running machine whose serial output is collected as it comes.
struct Session {
    child: Child,
    log: Arc<Mutex<Vec<u8>>>,
    start: Instant,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Session {
    fn start(mut cmd: Command) -> Session {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let desc = format!("{cmd:?}");
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{desc}: {e}"));
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut readers = vec![];
        let pipes: [Box<dyn Read + Send>; 2] = [
            Box::new(child.stdout.take().unwrap()),
            Box::new(child.stderr.take().unwrap()),
        ];
        for mut p in pipes {
            let log = log.clone();
            readers.push(std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = p.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    log.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            }));
        }
        Session {
            child,
            log,
            start: Instant::now(),
            readers,
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.log.lock().unwrap()).into_owned()
    }

    /// Waits until the output after byte `from` contains `needle`; returns the offset just
    /// past it, or `None` when the machine exits or time runs out first.
    fn wait_for(&mut self, needle: &str, from: usize) -> Option<usize> {
        loop {
            let text = self.text();
            if let Some(i) = text.get(from..).and_then(|t| t.find(needle)) {
                return Some(from + i + needle.len());
            }
            if self.start.elapsed() > BOOT_TIMEOUT || self.child.try_wait().ok().flatten().is_some()
            {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        if let Some(i) = self.child.stdin.as_mut() {
            let _ = i.write_all(bytes);
            let _ = i.flush();
        }
    }

    /// Waits for the exit (killing the process group at the timeout): the exit code, or
    /// `None` for a timeout or a signal.
    fn finish(mut self) -> (Option<i32>, String, Duration) {
        drop(self.child.stdin.take());
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(st)) => break st.code(),
                Ok(None) if self.start.elapsed() > BOOT_TIMEOUT => break None,
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => panic!("wait: {e}"),
            }
        };
        let took = self.start.elapsed();
        // SAFETY: kill(2) of the process group this session created; no memory access.
        unsafe { libc::kill(-(self.child.id() as libc::pid_t), libc::SIGKILL) };
        let _ = self.child.wait();
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        (status, self.text(), took)
    }
}

/// CPU seconds (user + system) process `pid` has used, from /proc/PID/stat.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    // utime and stime (fields 14 and 15) are the 12th and 13th after the command name.
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| f.get(i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    // SAFETY: sysconf has no memory effects.
    ticks as f64 / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

/// Saves a failed run's log and panics with its tail.
fn fail(label: &str, log: &str, why: &str) -> ! {
    let dir = Path::new(REPO).join("target/system-boot/logs");
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("{label}.log"));
    let _ = std::fs::write(&path, log);
    let tail: Vec<&str> = log.lines().rev().take(25).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    panic!(
        "{label}: {why}\nserial log saved in {}; its last lines:\n{}",
        path.display(),
        tail.join("\n")
    );
}

/// Boots `machine` with `/init` (kernel command line `append`) and checks `milestones` in
/// its log (M5 also wants exit status 0). Returns the seconds to `BOOT-OK` when it was
/// reached.
fn check_boot(
    machine: Machine,
    a: &Artifacts,
    append: &str,
    milestones: &[&Milestone],
) -> Option<f64> {
    let label = format!("{}-init", machine.label());
    let s = Session::start(machine.command(a, append, &[]));
    let (status, log, took) = s.finish();
    let mut ok_at = None;
    for m in milestones {
        for line in m.lines {
            if !log.contains(line) {
                fail(
                    &label,
                    &log,
                    &format!(
                        "{} not reached: no `{line}` (exit status {status:?} after {:.1} s)",
                        m.name,
                        took.as_secs_f64()
                    ),
                );
            }
        }
        if std::ptr::eq(*m, &M5) {
            if status != Some(0) {
                fail(
                    &label,
                    &log,
                    &format!("{}: exit status {status:?}, want 0", m.name),
                );
            }
            ok_at = Some(took.as_secs_f64());
        }
    }
    ok_at
}

/// M6: a shell on the console (`rdinit=/bin/sh`) answers `uname -m` typed after its
/// prompt, and `poweroff -f` ends the machine with status 0.
fn check_interactive(machine: Machine, a: &Artifacts) {
    let label = format!("{}-shell", machine.label());
    let mut s = Session::start(machine.command(a, "console=ttyAMA0 rdinit=/bin/sh", &[]));
    let Some(at) = s.wait_for("Run /bin/sh as init process", 0) else {
        let (st, log, _) = s.finish();
        fail(
            &label,
            &log,
            &format!("the shell never started (exit {st:?})"),
        );
    };
    let Some(at) = s.wait_for("# ", at) else {
        let (st, log, _) = s.finish();
        fail(&label, &log, &format!("no shell prompt (exit {st:?})"));
    };
    // Idle at the prompt: the kernel waits in WFI, which must sleep.
    std::thread::sleep(Duration::from_millis(300));
    let c0 = cpu_seconds(s.child.id());
    assert!(
        c0 > 0.1,
        "{label}: booting took no CPU time? ({c0} s read from /proc)"
    );
    std::thread::sleep(Duration::from_secs(2));
    let idle = (cpu_seconds(s.child.id()) - c0) / 2.0;
    if idle > 0.05 {
        let (_, log, _) = s.finish();
        fail(
            &label,
            &log,
            &format!(
                "idle at the prompt, the machine used {:.0}% of a CPU",
                idle * 100.0
            ),
        );
    }
    s.send(b"uname -m\n");
    if s.wait_for("aarch64", at).is_none() {
        let (st, log, _) = s.finish();
        fail(
            &label,
            &log,
            &format!("`uname -m` did not answer aarch64 (exit {st:?})"),
        );
    }
    s.send(b"poweroff -f\n");
    let (status, log, _) = s.finish();
    if status != Some(0) || !log.contains("reboot: Power down") {
        fail(
            &label,
            &log,
            &format!("`poweroff -f`: exit status {status:?}, want 0 after `reboot: Power down`"),
        );
    }
}

#[test]
fn qemu_boots_debian_kernel_to_init() {
    let test = "qemu_boots_debian_kernel_to_init";
    let Some(a) = artifacts(test) else { return };
    if !Machine::Qemu.available(test) {
        return;
    }
    let t = check_boot(Machine::Qemu, &a, INIT, &[&M3, &M4, &M5]).expect("M5 checked");
    common::debs::report(&format!(
        "[{test}] qemu: BOOT-OK and exit 0 after {t:.2} s\n"
    ));
}

#[test]
fn qemu_console_is_interactive() {
    let test = "qemu_console_is_interactive";
    let Some(a) = artifacts(test) else { return };
    if !Machine::Qemu.available(test) {
        return;
    }
    check_interactive(Machine::Qemu, &a);
}

#[test]
fn ferrite_boots_debian_kernel_to_init() {
    let test = "ferrite_boots_debian_kernel_to_init";
    let Some(a) = artifacts(test) else { return };
    let t = check_boot(Machine::Ferrite, &a, INIT, FERRITE_MILESTONES).expect("M5 checked");
    common::debs::report(&format!(
        "[{test}] ferrite: BOOT-OK and exit 0 after {t:.2} s\n"
    ));
}

#[test]
fn ferrite_console_is_interactive() {
    let test = "ferrite_console_is_interactive";
    let Some(a) = artifacts(test) else { return };
    check_interactive(Machine::Ferrite, &a);
}
