//! `ferrite-system-aarch64`: an arm64 machine (QEMU's `virt`) on this x86-64 host.
//! Thin: parse the command line, then hand over to `ferrite::system`.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use std::io::Write;

use ferrite::system::{self, cli};

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let status = match cli::parse(&args) {
        Ok(cli::Command::Print(text)) => {
            // A closed stdout (`-h | head -1`) is not an error worth a panic.
            let _ = std::io::stdout().write_all(text.as_bytes());
            0
        }
        Ok(cli::Command::Run(options)) => match system::run(options) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("{}: {e}", cli::PROG);
                1
            }
        },
        Err(e) => {
            eprintln!("{}: {}", cli::PROG, e.0);
            1
        }
    };
    std::process::exit(status);
}
