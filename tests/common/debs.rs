//! Real Debian packages for the integration tests: download `.deb` files of a foreign
//! architecture (arm64) with `apt-get download`, cache them, unpack them with
//! `dpkg-deb -x` into a root directory that ferrite uses with `-L`; plus the small process
//! helpers these tests share (a run with a timeout, a loud skip banner).
//!
//! Download: the system apt first (`apt-get download pkg:arm64`, which works when the
//! arm64 dpkg architecture is configured and its lists are fetched); otherwise a private apt
//! state under the cache directory (`APT::Architecture=arm64`, own lists, own status file,
//! no lock), so nothing on the host changes. The package list is explicit: the caller
//! names every library its programs need (no dependency resolution, so the set is the
//! same on every machine). Files are downloaded into a per-process staging directory and
//! moved into the cache complete, so an interrupted run never leaves a truncated `.deb`.
//!
//! Touches only the cache and root directories it is given, and runs `apt-get` and
//! `dpkg-deb`.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Write straight to fd 2: libtest captures `eprint!`, not direct writes.
pub fn report(s: &str) {
    let mut e = std::io::stderr().lock();
    let _ = e.write_all(s.as_bytes());
    let _ = e.flush();
}

/// A loud banner for a test that passes without having tested anything; under
/// `FERRITE_REQUIRE_ALL` (see [`super::require_all`]) the test fails instead.
pub fn skip(test: &str, why: &str) {
    report(&format!(
        "\n\
         !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
         !!! SKIPPED {test}: {}\n\
         !!! {}\n\
         !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n",
        why.trim().replace('\n', "\n!!!     "),
        if super::require_all() {
            "FERRITE_REQUIRE_ALL is set: this skip FAILS the test."
        } else {
            "This test passed WITHOUT testing anything (FERRITE_REQUIRE_ALL=1 makes it fail)."
        }
    ));
    if super::require_all() {
        panic!(
            "{test} was skipped ({}) and {} is set: a skip is a failure here",
            why.trim(),
            super::REQUIRE_ALL
        );
    }
}

/// Run a command with a timeout, stdin empty (or `input`), stdout and stderr captured.
/// Only fds 0-2 are passed on. The command runs in a process group of its own, and on
/// timeout the whole group is killed (a guest shell's children too, which would otherwise
/// keep the output pipes open). Output is read while the command runs, so it may be large.
pub fn run_input(
    cmd: &mut Command,
    input: Option<Vec<u8>>,
    timeout: Duration,
) -> Result<Output, String> {
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .process_group(0);
    // SAFETY: the closure runs in the forked child before exec and only calls
    // close_range, which is async-signal-safe. CLOSE_RANGE_CLOEXEC rather than closing:
    // std reports a failed exec through a close-on-exec pipe of its own.
    unsafe {
        cmd.pre_exec(|| {
            libc::syscall(
                libc::SYS_close_range,
                3u32,
                u32::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            );
            Ok(())
        });
    }
    let desc = format!("{cmd:?}");
    let mut child = cmd.spawn().map_err(|e| format!("{desc}: {e}"))?;
    let pgid = child.id() as libc::pid_t;
    let writer = match (input, child.stdin.take()) {
        (Some(data), Some(mut stdin)) => Some(std::thread::spawn(move || {
            let _ = stdin.write_all(&data);
        })),
        _ => None,
    };
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if start.elapsed() > timeout => {
                // SAFETY: kill(2) of the process group we created (-pgid); no memory access.
                unsafe { libc::kill(-pgid, libc::SIGKILL) };
                let _ = child.wait();
                return Err(format!("{desc}: timed out after {}s", timeout.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("{desc}: {e}")),
        }
    };
    // Children left behind in the group (daemonised helpers) must not hold the pipes.
    // SAFETY: as above.
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
    if let Some(w) = writer {
        let _ = w.join();
    }
    Ok(Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// [`run_input`] with an empty stdin.
pub fn run(cmd: &mut Command, timeout: Duration) -> Result<Output, String> {
    run_input(cmd, None, timeout)
}

/// The cached `.deb` of `pkg` for `arch` (or `all`), if any.
pub fn deb_for(dir: &Path, pkg: &str, arch: &str) -> Option<PathBuf> {
    let prefix = format!("{pkg}_");
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().unwrap_or_default().to_string_lossy();
            n.starts_with(&prefix)
                && (n.ends_with(&format!("_{arch}.deb")) || n.ends_with("_all.deb"))
        })
        .collect();
    // Several versions after a Debian point release: take the last by name.
    found.sort();
    found.pop()
}

fn stderr_of(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).trim().to_string()
}

/// `apt-get` options for a private state directory holding `arch` lists only.
fn private_apt(state: &Path, arch: &str) -> Result<Vec<String>, String> {
    for d in ["lists/partial", "cache/archives/partial"] {
        std::fs::create_dir_all(state.join(d)).map_err(|e| format!("{}: {e}", state.display()))?;
    }
    let status = state.join("status");
    if !status.exists() {
        std::fs::write(&status, "").map_err(|e| format!("{}: {e}", status.display()))?;
    }
    Ok(vec![
        "-o".into(),
        format!("APT::Architecture={arch}"),
        "-o".into(),
        format!("APT::Architectures::={arch}"),
        "-o".into(),
        format!("Dir::State::Lists={}", state.join("lists").display()),
        "-o".into(),
        format!("Dir::Cache={}", state.join("cache").display()),
        "-o".into(),
        format!("Dir::State::status={}", status.display()),
        "-o".into(),
        "Debug::NoLocking=1".into(),
    ])
}

/// Why [`fetch_debs`] failed.
#[derive(Debug)]
pub enum FetchError {
    /// The packages cannot be had on this machine (no apt, no network, mirror
    /// unreachable): a test may skip.
    Unavailable(String),
    /// The archive answered but lacks a package of the list (a misspelt or vanished name),
    /// or the cache cannot be written: a test must fail.
    Broken(String),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Unavailable(s) | FetchError::Broken(s) => f.write_str(s),
        }
    }
}

/// Make sure `cache` holds a `.deb` of every package in `packages` for `arch` (downloading
/// the missing ones) and return their paths, in the order of `packages`.
pub fn fetch_debs(cache: &Path, arch: &str, packages: &[&str]) -> Result<Vec<PathBuf>, FetchError> {
    let broken = |e: String| FetchError::Broken(e);
    std::fs::create_dir_all(cache).map_err(|e| broken(format!("{}: {e}", cache.display())))?;
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| deb_for(cache, p, arch).is_none())
        .collect();
    if !missing.is_empty() {
        report(&format!(
            "debs: downloading {} {arch} packages into {}\n",
            missing.len(),
            cache.display()
        ));
        let staging = cache.join(format!("download-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging)
            .map_err(|e| broken(format!("{}: {e}", staging.display())))?;
        let result = download(cache, &staging, arch, &missing);
        if result.is_ok() {
            for e in std::fs::read_dir(&staging).into_iter().flatten().flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "deb") {
                    let _ = std::fs::rename(&p, cache.join(e.file_name()));
                }
            }
        }
        let _ = std::fs::remove_dir_all(&staging);
        result?;
    }
    packages
        .iter()
        .map(|p| {
            deb_for(cache, p, arch).ok_or_else(|| broken(format!("{p}: no .deb after download")))
        })
        .collect()
}

fn download(cache: &Path, staging: &Path, arch: &str, pkgs: &[&str]) -> Result<(), FetchError> {
    use FetchError::{Broken, Unavailable};
    let long = Duration::from_secs(600);
    // 1. The system's apt, if it knows the architecture.
    let names: Vec<String> = pkgs.iter().map(|p| format!("{p}:{arch}")).collect();
    let sys = run(
        Command::new("apt-get")
            .arg("download")
            .args(&names)
            .current_dir(staging),
        long,
    );
    if sys.as_ref().is_ok_and(|o| o.status.success()) {
        return Ok(());
    }
    // 2. A private apt state with lists of `arch` only. Lists already there are tried
    // first; on failure (none, or stale after a point release) they are refreshed.
    let state = cache.join("apt-state");
    let opts = private_apt(&state, arch).map_err(Broken)?;
    let lists = state.join("lists");
    let have_lists = || {
        std::fs::read_dir(&lists)
            .map(|d| {
                d.flatten()
                    .any(|e| e.file_name().to_string_lossy().contains("_Packages"))
            })
            .unwrap_or(false)
    };
    let get = || {
        run(
            Command::new("apt-get")
                .args(&opts)
                .arg("download")
                .args(pkgs)
                .current_dir(staging),
            long,
        )
    };
    if have_lists() && get().as_ref().is_ok_and(|o| o.status.success()) {
        return Ok(());
    }
    let o = run(Command::new("apt-get").args(&opts).arg("update"), long).map_err(Unavailable)?;
    if !o.status.success() {
        return Err(Unavailable(format!(
            "apt-get update (private {arch} lists) failed: {}",
            stderr_of(&o)
        )));
    }
    // Offline, `apt-get update` only warns ("W: Failed to fetch …") and exits 0.
    let update_err = stderr_of(&o);
    let refreshed = have_lists() && !update_err.contains("Failed to fetch");
    if !have_lists() {
        return Err(Unavailable(format!(
            "apt-get update fetched no {arch} package lists: {update_err}"
        )));
    }
    let o = get().map_err(Unavailable)?;
    if !o.status.success() {
        let err = stderr_of(&o);
        let msg = format!("apt-get download failed: {err}");
        // Freshly fetched lists that do not know a name: the list of packages is wrong.
        let unknown =
            err.contains("Unable to locate package") || err.contains("no installation candidate");
        return Err(if refreshed && unknown {
            Broken(msg)
        } else {
            Unavailable(msg)
        });
    }
    Ok(())
}

/// Unpack `debs` into `dest` (created if needed) with `dpkg-deb -x`, then make the absolute
/// symbolic links inside it relative, so they point into `dest` rather than to the host's
/// files when followed by the host kernel.
pub fn extract(debs: &[PathBuf], dest: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    for d in debs {
        let o = run(
            Command::new("dpkg-deb").arg("-x").arg(d).arg(dest),
            Duration::from_secs(300),
        )?;
        if !o.status.success() {
            return Err(format!("dpkg-deb -x {}: {}", d.display(), stderr_of(&o)));
        }
    }
    relativize_symlinks(dest, 0)
}

fn relativize_symlinks(dir: &Path, depth: usize) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for e in entries.flatten() {
        let p = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            relativize_symlinks(&p, depth + 1)?;
        } else if ft.is_symlink() {
            let Ok(target) = std::fs::read_link(&p) else {
                continue;
            };
            if let Ok(rest) = target.strip_prefix("/") {
                let mut rel = PathBuf::new();
                for _ in 0..depth {
                    rel.push("..");
                }
                rel.push(rest);
                std::fs::remove_file(&p).map_err(|e| format!("{}: {e}", p.display()))?;
                std::os::unix::fs::symlink(&rel, &p)
                    .map_err(|e| format!("{}: {e}", p.display()))?;
            }
        }
    }
    Ok(())
}

/// A root unpacked from `debs`, reused across runs: `root` is rebuilt only when the set of
/// `.deb` files differs from the one recorded in it. The root is built beside `root` and
/// renamed into place when complete, so an interrupted or concurrent build never leaves a
/// half-unpacked root behind. Callers must not modify the root.
pub fn cached_root(debs: &[PathBuf], root: &Path) -> Result<PathBuf, String> {
    const STAMP: &str = ".ferrite-test-debs";
    let mut names: Vec<String> = debs
        .iter()
        .map(|d| {
            d.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    let want = names.join("\n") + "\n";
    let current = |r: &Path| std::fs::read_to_string(r.join(STAMP)).ok() == Some(want.clone());
    if current(root) {
        return Ok(root.to_path_buf());
    }
    let mut tmp = root.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_dir_all(&tmp);
    extract(debs, &tmp)?;
    std::fs::write(tmp.join(STAMP), &want).map_err(|e| format!("{}: {e}", tmp.display()))?;
    if root.exists() {
        // An out-of-date root (or one a concurrent run just finished: then keep it).
        if current(root) {
            let _ = std::fs::remove_dir_all(&tmp);
            return Ok(root.to_path_buf());
        }
        let _ = std::fs::remove_dir_all(root);
    }
    if let Err(e) = std::fs::rename(&tmp, root) {
        let _ = std::fs::remove_dir_all(&tmp);
        if !current(root) {
            return Err(format!(
                "rename {} to {}: {e}",
                tmp.display(),
                root.display()
            ));
        }
    }
    Ok(root.to_path_buf())
}
