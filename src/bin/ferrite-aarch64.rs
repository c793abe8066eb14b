//! `ferrite-aarch64`: run an arm64 Linux program on this x86-64 host.
//! Thin: parse the command line (knowing whether binfmt_misc started us), then hand
//! over to `ferrite::linux`.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use ferrite::linux::{self, binfmt, cli};

/// Runs before Rust's runtime start-up, which sets SIGPIPE to SIG_IGN and opens
/// /dev/null on closed standard descriptors: the guest must inherit what ferrite's
/// parent gave it, not the runtime's changes.
extern "C" fn record_inherited_state() {
    linux::record_inherited_state();
}

#[used]
#[link_section = ".init_array"]
static RECORD_INHERITED_STATE: extern "C" fn() = record_inherited_state;

fn main() {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let aux = binfmt::HostAux::current();
    let cmd = match cli::parse_invocation(&argv, &|k| std::env::var(k).ok(), &aux) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ferrite-aarch64: {}", e.0);
            std::process::exit(1);
        }
    };
    match cmd {
        cli::Command::Print(text) => print!("{text}"),
        cli::Command::Binfmt(request) => std::process::exit(binfmt::execute(&request)),
        cli::Command::Run {
            options,
            program,
            args,
        } => {
            if let Err(e) = linux::run(options, &program, args) {
                eprintln!("ferrite-aarch64: {}", e.0);
                std::process::exit(1);
            }
        }
    }
}
