//! `ferrite-aarch64`: run an arm64 Linux program on this x86-64 host.
//! Thin: parse the command line, then hand over to `ferrite::linux`.

use ferrite::linux::{self, cli};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cmd = match cli::parse(&args, &|k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ferrite-aarch64: {}", e.0);
            std::process::exit(1);
        }
    };
    match cmd {
        cli::Command::Print(text) => print!("{text}"),
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
